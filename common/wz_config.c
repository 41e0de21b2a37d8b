/* wz_config.c - libyaml events into a small tree with line numbers, scalar
 * conversions, and the table-driven filler with environment overrides. */
#include "wz_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "wz_proto.h"
#include "wz_util.h"

/* Deeper nesting than this is no config of ours, and would make the
 * recursive walks below a stack risk. */
#define MAX_DEPTH 64
/* Files bigger than this are refused before parsing. */
#define MAX_FILE_BYTES (16 * 1024 * 1024)
#define PATH_BUF 256

typedef struct {
    char *key; /* NULL for list items */
    int key_line;
    wz_node_t *value;
} s_item_t;

struct wz_node_t {
    wz_node_kind_t kind;
    int line;
    char *text; /* scalars only */
    s_item_t *items;
    size_t n, cap;
};

struct wz_doc_t {
    char *name;
    wz_node_t *root;
};

static void s_err(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void s_err(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    int n = line > 0 ? snprintf(err, errlen, "%s:%d: ", name, line)
                     : snprintf(err, errlen, "%s: ", name);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* --- tree ----------------------------------------------------------------- */

static void s_node_free(wz_node_t *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; i++) {
        free(node->items[i].key);
        s_node_free(node->items[i].value);
    }
    free(node->items);
    free(node->text);
    free(node);
}

static wz_node_t *s_node_new(wz_node_kind_t kind, int line)
{
    wz_node_t *node = calloc(1, sizeof *node);
    if (node) {
        node->kind = kind;
        node->line = line;
    }
    return node;
}

static int s_node_append(wz_node_t *parent, char *key, int key_line, wz_node_t *value)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        s_item_t *grown = realloc(parent->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        parent->items = grown;
        parent->cap = cap;
    }
    parent->items[parent->n++] = (s_item_t){key, key_line, value};
    return 0;
}

/* --- parser ---------------------------------------------------------------- */

typedef struct {
    wz_node_t *node;
    char *pending_key; /* maps: a key read, its value not yet */
    int pending_line;
} s_frame_t;

typedef struct {
    const char *name;
    char *err;
    size_t errlen;
    s_frame_t stack[MAX_DEPTH];
    size_t depth;
    wz_node_t *root;
    int documents;
} s_builder_t;

static void s_builder_free(s_builder_t *b)
{
    while (b->depth > 0) {
        b->depth--;
        free(b->stack[b->depth].pending_key);
        s_node_free(b->stack[b->depth].node);
    }
    s_node_free(b->root);
    b->root = NULL;
}

/* Hands a finished node to the open container (or makes it the root).
 * Takes node in every case. */
static int s_attach(s_builder_t *b, wz_node_t *node)
{
    if (b->depth == 0) {
        b->root = node;
        return 0;
    }
    s_frame_t *top = &b->stack[b->depth - 1];
    if (top->node->kind == WZ_NODE_SEQ) {
        if (s_node_append(top->node, NULL, 0, node) == 0)
            return 0;
        s_node_free(node);
        s_err(b->err, b->errlen, b->name, 0, "out of memory");
        return -1;
    }
    if (!top->pending_key) {
        /* A container in key position is refused where it starts. */
        for (size_t i = 0; i < top->node->n; i++) {
            if (strcmp(top->node->items[i].key, node->text) == 0) {
                s_err(b->err, b->errlen, b->name, node->line,
                      "duplicate key '%s' (first on line %d)", node->text,
                      top->node->items[i].key_line);
                s_node_free(node);
                return -1;
            }
        }
        top->pending_key = node->text;
        top->pending_line = node->line;
        node->text = NULL;
        s_node_free(node);
        return 0;
    }
    if (s_node_append(top->node, top->pending_key, top->pending_line, node) != 0) {
        s_node_free(node);
        s_err(b->err, b->errlen, b->name, 0, "out of memory");
        return -1;
    }
    top->pending_key = NULL;
    return 0;
}

static bool s_in_key_position(const s_builder_t *b)
{
    if (b->depth == 0)
        return false;
    const s_frame_t *top = &b->stack[b->depth - 1];
    return top->node->kind == WZ_NODE_MAP && !top->pending_key;
}

static int s_open(s_builder_t *b, wz_node_kind_t kind, int line, const yaml_char_t *anchor)
{
    if (anchor) {
        s_err(b->err, b->errlen, b->name, line, "anchors (&%s) are not allowed", anchor);
        return -1;
    }
    if (s_in_key_position(b)) {
        s_err(b->err, b->errlen, b->name, line, "a key must be a plain value, not a %s",
              kind == WZ_NODE_MAP ? "map" : "list");
        return -1;
    }
    if (b->depth == MAX_DEPTH) {
        s_err(b->err, b->errlen, b->name, line, "nested deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    wz_node_t *node = s_node_new(kind, line);
    if (!node) {
        s_err(b->err, b->errlen, b->name, line, "out of memory");
        return -1;
    }
    b->stack[b->depth++] = (s_frame_t){node, NULL, 0};
    return 0;
}

static int s_close(s_builder_t *b)
{
    s_frame_t top = b->stack[--b->depth];
    free(top.pending_key); /* libyaml always gives a value; defensive only */
    return s_attach(b, top.node);
}

/* Plain ~, null and an empty value are YAML's null; we read them as "". */
static bool s_plain_null(const char *text)
{
    return !*text || !strcmp(text, "~") || !strcmp(text, "null") || !strcmp(text, "Null") ||
           !strcmp(text, "NULL");
}

static int s_scalar(s_builder_t *b, const yaml_event_t *ev, int line)
{
    if (ev->data.scalar.anchor) {
        s_err(b->err, b->errlen, b->name, line, "anchors (&%s) are not allowed",
              ev->data.scalar.anchor);
        return -1;
    }
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(value, '\0', len)) {
        s_err(b->err, b->errlen, b->name, line, "NUL characters are not allowed");
        return -1;
    }
    wz_node_t *node = s_node_new(WZ_NODE_SCALAR, line);
    bool null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !s_in_key_position(b) &&
                s_plain_null(value);
    if (node)
        node->text = strdup(null ? "" : value);
    if (!node || !node->text) {
        s_node_free(node);
        s_err(b->err, b->errlen, b->name, line, "out of memory");
        return -1;
    }
    return s_attach(b, node);
}

static void s_syntax_error(s_builder_t *b, const yaml_parser_t *p)
{
    int line = (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";
    if (p->error == YAML_MEMORY_ERROR) {
        s_err(b->err, b->errlen, b->name, 0, "out of memory");
    } else if (p->error == YAML_READER_ERROR) {
        s_err(b->err, b->errlen, b->name, 0, "%s at byte %zu", problem, p->problem_offset);
    } else if (p->context) {
        s_err(b->err, b->errlen, b->name, line, "syntax error: %s %s (line %d)", problem,
              p->context, (int)p->context_mark.line + 1);
    } else {
        s_err(b->err, b->errlen, b->name, line, "syntax error: %s", problem);
    }
}

/* One event; returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int s_event(s_builder_t *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1) {
            s_err(b->err, b->errlen, b->name, line, "only one YAML document is allowed");
            return -1;
        }
        return 0;
    case YAML_MAPPING_START_EVENT:
        return s_open(b, WZ_NODE_MAP, line, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_START_EVENT:
        return s_open(b, WZ_NODE_SEQ, line, ev->data.sequence_start.anchor);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return s_close(b);
    case YAML_SCALAR_EVENT:
        if (s_in_key_position(b) && ev->data.scalar.length == 0) {
            s_err(b->err, b->errlen, b->name, line, "empty key");
            return -1;
        }
        return s_scalar(b, ev, line);
    case YAML_ALIAS_EVENT:
        s_err(b->err, b->errlen, b->name, line, "aliases (*%s) are not allowed",
              ev->data.alias.anchor);
        return -1;
    case YAML_STREAM_END_EVENT:
        return 1;
    default:
        return 0;
    }
}

wz_doc_t *wz_doc_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    s_builder_t b = {.name = name ? name : "(yaml)", .err = err, .errlen = errlen};
    wz_doc_t *doc = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        s_err(err, errlen, b.name, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            s_syntax_error(&b, &parser);
            goto out;
        }
        int rc = s_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0)
            goto out;
        if (rc > 0)
            break;
    }
    if (!b.root) {
        s_err(err, errlen, b.name, 1, "the file is empty; expected a map of settings");
        goto out;
    }
    if (b.root->kind != WZ_NODE_MAP) {
        s_err(err, errlen, b.name, b.root->line, "the top level must be a map of settings");
        goto out;
    }
    doc = calloc(1, sizeof *doc);
    if (doc)
        doc->name = strdup(b.name);
    if (!doc || !doc->name) {
        free(doc);
        doc = NULL;
        s_err(err, errlen, b.name, 0, "out of memory");
        goto out;
    }
    doc->root = b.root;
    b.root = NULL;
out:
    s_builder_free(&b);
    yaml_parser_delete(&parser);
    return doc;
}

wz_doc_t *wz_doc_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        s_err(err, errlen, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    wz_doc_t *doc = NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > MAX_FILE_BYTES + 1) {
                s_err(err, errlen, path, 0, "larger than %d bytes", MAX_FILE_BYTES);
                goto out;
            }
            char *grown = realloc(text, cap);
            if (!grown) {
                s_err(err, errlen, path, 0, "out of memory");
                goto out;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        s_err(err, errlen, path, 0, "cannot read: %s", strerror(errno));
        goto out;
    }
    doc = wz_doc_parse(path, text ? text : "", len, err, errlen);
out:
    free(text);
    fclose(f);
    return doc;
}

void wz_doc_destroy(wz_doc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_node_free((*self_p)->root);
    free((*self_p)->name);
    free(*self_p);
    *self_p = NULL;
}

const char *wz_doc_name(const wz_doc_t *self)
{
    return self ? self->name : "(config)";
}

const wz_node_t *wz_doc_root(const wz_doc_t *self)
{
    return self->root;
}

/* --- navigation ------------------------------------------------------------ */

wz_node_kind_t wz_node_kind(const wz_node_t *node)
{
    return node->kind;
}

int wz_node_line(const wz_node_t *node)
{
    return node ? node->line : 0;
}

const char *wz_node_text(const wz_node_t *node)
{
    return node && node->kind == WZ_NODE_SCALAR ? node->text : NULL;
}

size_t wz_node_count(const wz_node_t *node)
{
    return node && node->kind != WZ_NODE_SCALAR ? node->n : 0;
}

const wz_node_t *wz_node_item(const wz_node_t *list, size_t i)
{
    if (!list || list->kind != WZ_NODE_SEQ || i >= list->n)
        return NULL;
    return list->items[i].value;
}

const char *wz_node_key(const wz_node_t *map, size_t i)
{
    if (!map || map->kind != WZ_NODE_MAP || i >= map->n)
        return NULL;
    return map->items[i].key;
}

int wz_node_key_line(const wz_node_t *map, size_t i)
{
    if (!map || map->kind != WZ_NODE_MAP || i >= map->n)
        return 0;
    return map->items[i].key_line;
}

const wz_node_t *wz_node_value(const wz_node_t *map, size_t i)
{
    if (!map || map->kind != WZ_NODE_MAP || i >= map->n)
        return NULL;
    return map->items[i].value;
}

/* Key lookup in one map by a segment of len bytes. */
static const wz_node_t *s_child(const wz_node_t *map, const char *seg, size_t len)
{
    if (map->kind == WZ_NODE_MAP) {
        for (size_t i = 0; i < map->n; i++) {
            const char *key = map->items[i].key;
            if (strlen(key) == len && memcmp(key, seg, len) == 0)
                return map->items[i].value;
        }
        return NULL;
    }
    if (map->kind == WZ_NODE_SEQ && len > 0 && len < 10) {
        size_t index = 0;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)seg[i]))
                return NULL;
            index = index * 10 + (size_t)(seg[i] - '0');
        }
        return index < map->n ? map->items[index].value : NULL;
    }
    return NULL;
}

const wz_node_t *wz_node_get(const wz_node_t *node, const char *path)
{
    const char *p = path;
    while (node && p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        node = s_child(node, p, len);
        p = dot ? dot + 1 : NULL;
    }
    return node;
}

/* --- scalar conversions: each writes a reason (no file:line) to why -------- */

static int s_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static int s_parse_int(const char *text, long long min, long long max, long long *out, char *why,
                       size_t whylen)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return s_why(why, whylen, "expected an integer, got '%s'", text);
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return s_why(why, whylen, "expected an integer, got '%s'", text);
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return s_why(why, whylen, "%s is out of range %lld..%lld", text, min, max);
    *out = v;
    return 0;
}

static int s_parse_bool(const char *text, bool *out, char *why, size_t whylen)
{
    static const char *yes[] = {"true", "yes"}, *no[] = {"false", "no"};
    for (int i = 0; i < 2; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return s_why(why, whylen, "expected true, false, yes or no, got '%s'", text);
}

/* "-12.5" -> -1250. At most 13 integer digits, so no overflow is possible. */
static int s_parse_money(const char *text, int64_t *cents, char *why, size_t whylen)
{
    const char *p = text;
    bool negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    int64_t whole = 0;
    int digits = 0;
    for (; isdigit((unsigned char)*p); p++, digits++) {
        if (digits == 13)
            return s_why(why, whylen, "amount '%s' is too large", text);
        whole = whole * 10 + (*p - '0');
    }
    int64_t frac = 0;
    int decimals = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, decimals++)
            if (decimals < 2)
                frac = frac * 10 + (*p - '0');
        if (decimals == 0)
            return s_why(why, whylen, "expected an amount in euros like 682.96, got '%s'", text);
        if (decimals > 2)
            return s_why(why, whylen, "amount '%s' has more than two decimals", text);
        if (decimals == 1)
            frac *= 10;
    }
    if (digits == 0 || *p)
        return s_why(why, whylen, "expected an amount in euros like 682.96, got '%s'", text);
    int64_t v = whole * 100 + frac;
    *cents = negative ? -v : v;
    return 0;
}

/* Formats cents as euros for messages ("-3.05"). */
static void s_fmt_cents(long long cents, char *out, size_t outlen)
{
    unsigned long long mag =
        cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    snprintf(out, outlen, "%s%llu.%02llu", cents < 0 ? "-" : "", mag / 100, mag % 100);
}

static int s_parse_double(const char *text, double min, double max, double *out, char *why,
                          size_t whylen)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0, dots = 0;
    for (const char *q = p; *q; q++) {
        if (isdigit((unsigned char)*q))
            digits++;
        else if (*q == '.')
            dots++;
        else
            digits = -1000;
    }
    if (digits <= 0 || dots > 1)
        return s_why(why, whylen, "expected a decimal number, got '%s'", text);
    double v = strtod(text, NULL);
    if (!isfinite(v) || v < min || v > max)
        return s_why(why, whylen, "%s is out of range %g..%g", text, min, max);
    *out = v;
    return 0;
}

/* The scalar's text, or NULL with a reason when node is a map or list. */
static const char *s_scalar_text(const wz_doc_t *doc, const wz_node_t *node, char *err,
                                 size_t errlen)
{
    if (node->kind == WZ_NODE_SCALAR)
        return node->text;
    s_err(err, errlen, wz_doc_name(doc), node->line, "expected a single value, not a %s",
          node->kind == WZ_NODE_MAP ? "map" : "list");
    return NULL;
}

int wz_node_int(const wz_doc_t *doc, const wz_node_t *node, long long min, long long max,
                long long *out, char *err, size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    char why[200];
    if (!text)
        return -1;
    if (s_parse_int(text, min, max, out, why, sizeof why) != 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "%s", why);
        return -1;
    }
    return 0;
}

int wz_node_bool(const wz_doc_t *doc, const wz_node_t *node, bool *out, char *err, size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    char why[200];
    if (!text)
        return -1;
    if (s_parse_bool(text, out, why, sizeof why) != 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "%s", why);
        return -1;
    }
    return 0;
}

int wz_node_double(const wz_doc_t *doc, const wz_node_t *node, double min, double max, double *out,
                   char *err, size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    char why[200];
    if (!text)
        return -1;
    if (s_parse_double(text, min, max, out, why, sizeof why) != 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "%s", why);
        return -1;
    }
    return 0;
}

int wz_node_money(const wz_doc_t *doc, const wz_node_t *node, int64_t *cents, char *err,
                  size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    char why[200];
    int64_t v = 0;
    if (!text)
        return -1;
    if (s_parse_money(text, &v, why, sizeof why) != 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "%s", why);
        return -1;
    }
    if (v < 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "amount '%s' is negative", text);
        return -1;
    }
    *cents = v;
    return 0;
}

int wz_node_date(const wz_doc_t *doc, const wz_node_t *node, int *year, int *month, int *day,
                 char *err, size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    if (!text)
        return -1;
    WzDate d = WOONZORG__V1__DATE__INIT;
    if (wz_date_parse(text, &d) != 0) {
        s_err(err, errlen, wz_doc_name(doc), node->line,
              "expected a real date as YYYY-MM-DD (1900..2199), got '%s'", text);
        return -1;
    }
    *year = d.year;
    *month = d.month;
    *day = d.day;
    return 0;
}

int wz_node_string(const wz_doc_t *doc, const wz_node_t *node, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    const char *text = s_scalar_text(doc, node, err, errlen);
    if (!text)
        return -1;
    if (strlen(text) >= outlen) {
        s_err(err, errlen, wz_doc_name(doc), node->line, "value is longer than %zu characters",
              outlen ? outlen - 1 : 0);
        return -1;
    }
    memcpy(out, text, strlen(text) + 1);
    return 0;
}

/* --- table filler ------------------------------------------------------------ */

/* Converts text for one field into its place in the target struct. */
static int s_convert(const wz_cfg_field_t *f, const char *text, void *target, char *why,
                     size_t whylen)
{
    char *dst = (char *)target + f->offset;
    bool unbounded = f->min == 0 && f->max == 0;
    switch (f->type) {
    case WZ_CFG_STRING:
        if (strlen(text) >= f->size)
            return s_why(why, whylen, "value is longer than %zu characters", f->size - 1);
        memcpy(dst, text, strlen(text) + 1);
        return 0;
    case WZ_CFG_INT: {
        long long min = unbounded ? INT_MIN : f->min, max = unbounded ? INT_MAX : f->max;
        min = min < INT_MIN ? INT_MIN : min;
        max = max > INT_MAX ? INT_MAX : max;
        long long v;
        if (s_parse_int(text, min, max, &v, why, whylen) != 0)
            return -1;
        int iv = (int)v;
        memcpy(dst, &iv, sizeof iv);
        return 0;
    }
    case WZ_CFG_BOOL: {
        bool v = false;
        if (s_parse_bool(text, &v, why, whylen) != 0)
            return -1;
        memcpy(dst, &v, sizeof v);
        return 0;
    }
    case WZ_CFG_MONEY: {
        long long min = unbounded ? 0 : f->min, max = unbounded ? LLONG_MAX : f->max;
        int64_t v;
        if (s_parse_money(text, &v, why, whylen) != 0)
            return -1;
        if (v < min || v > max) {
            char lo[32], hi[32];
            s_fmt_cents(min, lo, sizeof lo);
            s_fmt_cents(max, hi, sizeof hi);
            if (v < 0 && min >= 0)
                return s_why(why, whylen, "amount '%s' is negative", text);
            return s_why(why, whylen, "amount %s is out of range %s..%s", text, lo, hi);
        }
        memcpy(dst, &v, sizeof v);
        return 0;
    }
    case WZ_CFG_DOUBLE: {
        double min = unbounded ? -HUGE_VAL : (double)f->min;
        double max = unbounded ? HUGE_VAL : (double)f->max;
        double v;
        if (s_parse_double(text, min, max, &v, why, whylen) != 0)
            return -1;
        memcpy(dst, &v, sizeof v);
        return 0;
    }
    case WZ_CFG_NODE:
        return 0;
    }
    return s_why(why, whylen, "unknown field type %d", (int)f->type);
}

static bool s_is_null(const wz_node_t *node)
{
    return node && node->kind == WZ_NODE_SCALAR && !*node->text;
}

/* Edit distance up to a small bound, for "did you mean" hints. */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1; /* transposition: "prot" for "port" */
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The declared key name closest to key at the level below prefix, if close. */
static void s_suggest(const wz_cfg_field_t *fields, size_t nfields, const char *prefix,
                      const char *key, char *out, size_t outlen)
{
    size_t plen = strlen(prefix), best = 3;
    out[0] = '\0';
    for (size_t i = 0; i < nfields; i++) {
        const char *p = fields[i].path;
        if (plen) {
            if (strncmp(p, prefix, plen) != 0 || p[plen] != '.')
                continue;
            p += plen + 1;
        }
        char seg[PATH_BUF];
        size_t len = strcspn(p, ".");
        if (len >= sizeof seg)
            continue;
        memcpy(seg, p, len);
        seg[len] = '\0';
        /* Two edits only between longer names: "old" is no typo of "id". */
        size_t d = s_distance(key, seg);
        if (d == 2 && (strlen(key) < 6 || len < 6))
            continue;
        if (d < best) {
            best = d;
            snprintf(out, outlen, "%s", seg);
        }
    }
}

/* Refuses keys in map (found at prefix) that the table does not declare. */
static int s_check_keys(const wz_doc_t *doc, const wz_node_t *map, const char *prefix,
                        const wz_cfg_field_t *fields, size_t nfields, char *err, size_t errlen)
{
    const char *name = wz_doc_name(doc);
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->items[i].key;
        const wz_node_t *value = map->items[i].value;
        int line = map->items[i].key_line;
        char full[PATH_BUF];
        int n = snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", key);
        const wz_cfg_field_t *exact = NULL;
        bool is_map = false;
        size_t flen = strlen(full);
        for (size_t f = 0; n > 0 && (size_t)n < sizeof full && f < nfields; f++) {
            if (strcmp(fields[f].path, full) == 0)
                exact = &fields[f];
            else if (strncmp(fields[f].path, full, flen) == 0 && fields[f].path[flen] == '.')
                is_map = true;
        }
        if (exact) {
            if (exact->type != WZ_CFG_NODE && value->kind != WZ_NODE_SCALAR) {
                s_err(err, errlen, name, value->line, "'%s' must be a single value, not a %s", full,
                      value->kind == WZ_NODE_MAP ? "map" : "list");
                return -1;
            }
        } else if (is_map) {
            if (s_is_null(value))
                continue;
            if (value->kind != WZ_NODE_MAP) {
                s_err(err, errlen, name, value->line, "'%s' must be a map", full);
                return -1;
            }
            if (s_check_keys(doc, value, full, fields, nfields, err, errlen) != 0)
                return -1;
        } else {
            char hint[PATH_BUF], where[PATH_BUF + 8] = "";
            s_suggest(fields, nfields, prefix, key, hint, sizeof hint);
            if (*prefix)
                snprintf(where, sizeof where, " in '%s'", prefix);
            if (*hint)
                s_err(err, errlen, name, line, "unknown key '%s'%s (did you mean '%s'?)", key,
                      where, hint);
            else
                s_err(err, errlen, name, line, "unknown key '%s'%s", key, where);
            return -1;
        }
    }
    return 0;
}

static void s_env_name(const char *prefix, const char *path, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s", prefix);
    for (const char *p = path; n >= 0 && (size_t)n + 1 < outlen && *p; p++, n++)
        out[n] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    if (n >= 0 && (size_t)n < outlen)
        out[n] = '\0';
}

int wz_config_fill(const wz_doc_t *doc, const wz_node_t *base, const wz_cfg_field_t *fields,
                   size_t nfields, void *out, const char *env_prefix, char *err, size_t errlen)
{
    const char *name = wz_doc_name(doc);
    if (base && !s_is_null(base)) {
        if (base->kind != WZ_NODE_MAP) {
            s_err(err, errlen, name, base->line, "expected a map");
            return -1;
        }
        if (s_check_keys(doc, base, "", fields, nfields, err, errlen) != 0)
            return -1;
    } else {
        base = NULL;
    }
    char why[300];
    for (size_t i = 0; i < nfields; i++) {
        const wz_cfg_field_t *f = &fields[i];
        bool have = false;
        if (f->def) {
            if (s_convert(f, f->def, out, why, sizeof why) != 0) {
                s_err(err, errlen, name, 0, "built-in default of '%s': %s", f->path, why);
                return -1;
            }
            have = true;
        }
        const wz_node_t *node = base ? wz_node_get(base, f->path) : NULL;
        if (node) {
            if (f->type != WZ_CFG_NODE) {
                if (node->kind != WZ_NODE_SCALAR) {
                    s_err(err, errlen, name, node->line, "'%s' must be a single value", f->path);
                    return -1;
                }
                if (s_convert(f, node->text, out, why, sizeof why) != 0) {
                    s_err(err, errlen, name, node->line, "%s: %s", f->path, why);
                    return -1;
                }
            }
            have = true;
        }
        if (env_prefix && f->type != WZ_CFG_NODE) {
            char var[PATH_BUF];
            s_env_name(env_prefix, f->path, var, sizeof var);
            const char *text = getenv(var);
            if (text) {
                if (s_convert(f, text, out, why, sizeof why) != 0) {
                    if (err && errlen)
                        snprintf(err, errlen, "environment %s: %s", var, why);
                    return -1;
                }
                have = true;
            }
        }
        if (!have) {
            s_err(err, errlen, name, base ? base->line : 0, "missing required key '%s'", f->path);
            return -1;
        }
    }
    return 0;
}
