/* wz_log.c - JSON lines: each line is built in memory and written with one
 * fwrite, so lines from the ZAP thread and the main loop never interleave. */
#include "wz_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wz_util.h"

struct wz_log_t {
    char *service;
    wz_log_level_t level;
    FILE *out;
    /* The context is set and read under the lock: the ZAP thread logs too. */
    pthread_mutex_t lock;
    pthread_t context_thread;
    char context_key[32];
    char context_value[128];
};

static const char *s_level_names[] = {"debug", "info", "warn", "error"};

/* A growing line buffer; a failed allocation marks it broken and the line is dropped. */
typedef struct {
    char *data;
    size_t len, cap;
    bool broken;
} s_buf_t;

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->broken)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->broken = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void s_puts(s_buf_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t s_utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Appends s as a JSON string. Log values may come from the network, so bytes
 * that are not UTF-8 become U+FFFD instead of breaking the line for parsers. */
static void s_put_json(s_buf_t *b, const char *s)
{
    if (!s) {
        s_puts(b, "null");
        return;
    }
    s_puts(b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            s_put(b, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            s_puts(b, esc);
            p++;
        } else {
            size_t n = s_utf8_len(p);
            if (n == 0) {
                s_puts(b, "\\ufffd");
                p++;
            } else {
                s_put(b, (const char *)p, n);
                p += n;
            }
        }
    }
    s_puts(b, "\"");
}

wz_log_t *wz_log_new(const char *service, wz_log_level_t level, FILE *out)
{
    wz_log_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->service = strdup(service ? service : "");
    if (!self->service) {
        free(self);
        return NULL;
    }
    self->level = level;
    self->out = out ? out : stderr;
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void wz_log_destroy(wz_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free((*self_p)->service);
    free(*self_p);
    *self_p = NULL;
}

int wz_log_level_parse(const char *text, wz_log_level_t *out)
{
    for (int i = WZ_LOG_DEBUG; i <= WZ_LOG_ERROR; i++) {
        if (text && strcmp(text, s_level_names[i]) == 0) {
            *out = (wz_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void wz_log(wz_log_t *self, wz_log_level_t level, const char *msg, ...)
{
    if (!self || level < self->level || level < WZ_LOG_DEBUG || level > WZ_LOG_ERROR)
        return;
    char ts[25];
    wz_time_format(wz_now_ms(), ts);
    s_buf_t b = {0};
    s_puts(&b, "{\"ts\":\"");
    s_puts(&b, ts);
    s_puts(&b, "\",\"level\":\"");
    s_puts(&b, s_level_names[level]);
    s_puts(&b, "\",\"service\":");
    s_put_json(&b, self->service);
    s_puts(&b, ",\"msg\":");
    s_put_json(&b, msg ? msg : "");
    char ckey[sizeof self->context_key], cvalue[sizeof self->context_value];
    pthread_mutex_lock(&self->lock);
    bool with_context =
        self->context_key[0] && pthread_equal(self->context_thread, pthread_self());
    if (with_context) {
        memcpy(ckey, self->context_key, sizeof ckey);
        memcpy(cvalue, self->context_value, sizeof cvalue);
    }
    pthread_mutex_unlock(&self->lock);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        if (with_context && strcmp(key, ckey) == 0)
            with_context = false; /* the line names it itself */
        s_puts(&b, ",");
        s_put_json(&b, key);
        s_puts(&b, ":");
        s_put_json(&b, value);
        /* A NULL value may be the caller's sentinel: reading on would be undefined. */
        if (!value)
            break;
    }
    va_end(ap);
    if (with_context) {
        s_puts(&b, ",");
        s_put_json(&b, ckey);
        s_puts(&b, ":");
        s_put_json(&b, cvalue);
    }
    s_puts(&b, "}\n");
    if (!b.broken) {
        fwrite(b.data, 1, b.len, self->out);
        fflush(self->out);
    }
    free(b.data);
}

void wz_log_context(wz_log_t *self, const char *key, const char *value)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    if (!key || !value) {
        self->context_key[0] = '\0';
    } else {
        snprintf(self->context_key, sizeof self->context_key, "%s", key);
        snprintf(self->context_value, sizeof self->context_value, "%s", value);
        self->context_thread = pthread_self();
    }
    pthread_mutex_unlock(&self->lock);
}
