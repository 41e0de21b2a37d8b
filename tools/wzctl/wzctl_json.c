/* wzctl_json.c - a small JSON writer (one growing buffer, full escaping) and
 * a protobuf-c walker on top of it, so every message prints the same way. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzctl.h"

void wzctl_json_init(wzctl_json_t *j)
{
    memset(j, 0, sizeof *j);
}

void wzctl_json_free(wzctl_json_t *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

static void s_put(wzctl_json_t *j, const char *s, size_t n)
{
    if (j->oom)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *grown = realloc(j->buf, cap);
        if (!grown) {
            j->oom = true;
            return;
        }
        j->buf = grown;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void s_puts(wzctl_json_t *j, const char *s)
{
    s_put(j, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t s_utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min_for[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes
 * that are not UTF-8 (the wire does not promise it) become U+FFFD. */
static void s_string(wzctl_json_t *j, const char *s)
{
    s_put(j, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char esc[8];
        switch (*p) {
        case '"':
            s_puts(j, "\\\"");
            p++;
            continue;
        case '\\':
            s_puts(j, "\\\\");
            p++;
            continue;
        case '\n':
            s_puts(j, "\\n");
            p++;
            continue;
        case '\r':
            s_puts(j, "\\r");
            p++;
            continue;
        case '\t':
            s_puts(j, "\\t");
            p++;
            continue;
        default:
            break;
        }
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            s_puts(j, esc);
            p++;
            continue;
        }
        size_t n = s_utf8_len(p);
        if (n == 0) {
            s_puts(j, "\\ufffd");
            p++;
            continue;
        }
        s_put(j, (const char *)p, n);
        p += n;
    }
    s_put(j, "\"", 1);
}

/* Comma and key before a value at the current depth. */
static void s_key(wzctl_json_t *j, const char *key)
{
    if (j->depth > 0) {
        int d = j->depth < 32 ? j->depth : 31;
        if (j->need_comma[d])
            s_put(j, ",", 1);
        j->need_comma[d] = true;
    }
    if (key) {
        s_string(j, key);
        s_put(j, ":", 1);
    }
}

void wzctl_json_begin(wzctl_json_t *j, const char *key, bool array)
{
    s_key(j, key);
    s_put(j, array ? "[" : "{", 1);
    j->depth++;
    if (j->depth < 32)
        j->need_comma[j->depth] = false;
}

void wzctl_json_end(wzctl_json_t *j, bool array)
{
    s_put(j, array ? "]" : "}", 1);
    if (j->depth > 0)
        j->depth--;
}

void wzctl_json_str(wzctl_json_t *j, const char *key, const char *value)
{
    s_key(j, key);
    if (value)
        s_string(j, value);
    else
        s_puts(j, "null");
}

void wzctl_json_int(wzctl_json_t *j, const char *key, long long value)
{
    char num[32];
    s_key(j, key);
    snprintf(num, sizeof num, "%lld", value);
    s_puts(j, num);
}

void wzctl_json_uint(wzctl_json_t *j, const char *key, unsigned long long value)
{
    char num[32];
    s_key(j, key);
    snprintf(num, sizeof num, "%llu", value);
    s_puts(j, num);
}

void wzctl_json_bool(wzctl_json_t *j, const char *key, bool value)
{
    s_key(j, key);
    s_puts(j, value ? "true" : "false");
}

const char *wzctl_json_text(const wzctl_json_t *j)
{
    if (j->oom)
        return NULL;
    return j->buf ? j->buf : "";
}

/* --- protobuf messages ------------------------------------------------------------- */

static void s_value(wzctl_json_t *j, const char *key, const ProtobufCFieldDescriptor *f,
                    const void *member)
{
    char buf[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        wzctl_json_int(j, key, *(const int32_t *)member);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        wzctl_json_int(j, key, (long long)*(const int64_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        wzctl_json_uint(j, key, *(const uint32_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        wzctl_json_uint(j, key, (unsigned long long)*(const uint64_t *)member);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        s_key(j, key);
        snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)member);
        s_puts(j, buf);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        s_key(j, key);
        snprintf(buf, sizeof buf, "%.17g", *(const double *)member);
        s_puts(j, buf);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        wzctl_json_bool(j, key, *(const protobuf_c_boolean *)member);
        break;
    case PROTOBUF_C_TYPE_ENUM:
        wzctl_json_str(j, key,
                       wzctl_enum_name(f->descriptor, *(const int *)member, buf, sizeof buf));
        break;
    case PROTOBUF_C_TYPE_STRING:
        wzctl_json_str(j, key, *(char *const *)member);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = member;
        s_key(j, key);
        s_put(j, "\"", 1);
        for (size_t i = 0; i < b->len; i++) {
            snprintf(buf, sizeof buf, "%02x", b->data[i]);
            s_put(j, buf, 2);
        }
        s_put(j, "\"", 1);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        wzctl_json_message(j, key, *(ProtobufCMessage *const *)member);
        break;
    }
}

static size_t s_elem_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

void wzctl_json_message(wzctl_json_t *j, const char *key, const ProtobufCMessage *m)
{
    if (!m) {
        wzctl_json_str(j, key, NULL);
        return;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == &woonzorg__v1__date__descriptor) {
        const WzDate *date = (const WzDate *)m;
        char text[16];
        if (date->year == 0 && date->month == 0 && date->day == 0) {
            wzctl_json_str(j, key, NULL);
        } else {
            snprintf(text, sizeof text, "%04d-%02d-%02d", (int)date->year, (int)date->month,
                     (int)date->day);
            wzctl_json_str(j, key, text);
        }
        return;
    }
    wzctl_json_begin(j, key, false);
    if (d == &woonzorg__v1__event__descriptor) {
        /* The payload's name first, so a reader need not know every type. */
        const WzEvent *e = (const WzEvent *)m;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(d, (unsigned)e->payload_case);
        wzctl_json_str(j, "type", f ? f->name : NULL);
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        const void *member = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *items = *(char *const *)member;
            wzctl_json_begin(j, f->name, true);
            for (size_t k = 0; k < n; k++)
                s_value(j, NULL, f, items + k * s_elem_size(f->type));
            wzctl_json_end(j, true);
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)member)
            continue; /* an absent sub-message is left out, as protobuf's JSON does */
        s_value(j, f->name, f, member);
    }
    wzctl_json_end(j, false);
}
