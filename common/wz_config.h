/* wz_config.h - YAML documents as a tree with line numbers, and a
 * table-driven filler for typed structs. Every error is "file:line: reason". */
#ifndef WZ_CONFIG_H_INCLUDED
#define WZ_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wz_doc_t wz_doc_t;
typedef struct wz_node_t wz_node_t;

typedef enum { WZ_NODE_SCALAR, WZ_NODE_MAP, WZ_NODE_SEQ } wz_node_kind_t;

/* Loads and parses a YAML file (one document whose top level is a map; anchors,
 * aliases, duplicate keys and non-scalar keys refused; plain ~/null read as "").
 * Returns NULL with "file:line: reason" in err on any failure. */
wz_doc_t *wz_doc_load(const char *path, char *err, size_t errlen);
/* Same, from a memory buffer; name is used in messages in place of a path. */
wz_doc_t *wz_doc_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void wz_doc_destroy(wz_doc_t **self_p);
const char *wz_doc_name(const wz_doc_t *self);
/* The root node (a map for every file we read); never NULL for a loaded doc. */
const wz_node_t *wz_doc_root(const wz_doc_t *self);

wz_node_kind_t wz_node_kind(const wz_node_t *node);
int wz_node_line(const wz_node_t *node);          /* 1-based */
const char *wz_node_text(const wz_node_t *node);  /* scalar text, or NULL for maps/lists */
size_t wz_node_count(const wz_node_t *node);      /* items of a list, pairs of a map, 0 for scalars */
const wz_node_t *wz_node_item(const wz_node_t *list, size_t i);
const char *wz_node_key(const wz_node_t *map, size_t i);
int wz_node_key_line(const wz_node_t *map, size_t i); /* 1-based line of the i-th key */
const wz_node_t *wz_node_value(const wz_node_t *map, size_t i);
/* Looks up a dotted path ("redis.port") under node; NULL if absent. */
const wz_node_t *wz_node_get(const wz_node_t *node, const char *path);

/* Scalar conversions; each returns 0, or -1 with "file:line: reason" in err. */
int wz_node_int(const wz_doc_t *doc, const wz_node_t *node, long long min, long long max,
                long long *out, char *err, size_t errlen);
int wz_node_bool(const wz_doc_t *doc, const wz_node_t *node, bool *out, char *err, size_t errlen);
/* A decimal number (no exponent, no inf/nan) within min..max. */
int wz_node_double(const wz_doc_t *doc, const wz_node_t *node, double min, double max,
                   double *out, char *err, size_t errlen);
/* "682.96" or "682" euros -> cents; at most two decimals. */
int wz_node_money(const wz_doc_t *doc, const wz_node_t *node, int64_t *cents, char *err,
                  size_t errlen);
/* "YYYY-MM-DD", checked as a real calendar date. */
int wz_node_date(const wz_doc_t *doc, const wz_node_t *node, int *year, int *month, int *day,
                 char *err, size_t errlen);
/* Copies a scalar into a fixed buffer, refusing one that does not fit. */
int wz_node_string(const wz_doc_t *doc, const wz_node_t *node, char *out, size_t outlen,
                   char *err, size_t errlen);

/* One row of a declarative settings table. */
typedef enum {
    WZ_CFG_STRING,
    WZ_CFG_INT,
    WZ_CFG_BOOL,
    WZ_CFG_MONEY,
    WZ_CFG_DOUBLE, /* double, bounds min..max */
    WZ_CFG_NODE,   /* a key the caller reads itself (any kind): only declared, never filled */
} wz_cfg_type_t;
typedef struct {
    const char *path;   /* dotted path below the table's base node */
    wz_cfg_type_t type;
    size_t offset;      /* offsetof the field in the target struct */
    size_t size;        /* WZ_CFG_STRING: the char array's size */
    const char *def;    /* default as text; NULL means required */
    long long min, max; /* INT, MONEY (cents) and DOUBLE bounds; 0 and 0: only the
                           type's own range (money: not negative) */
} wz_cfg_field_t;

/* Fills out from the node base by the table: defaults first, then the YAML
 * value, then the environment variable <env_prefix><PATH> (dots become '_',
 * upper case; e.g. WZ_REDIS_PORT) when env_prefix is not NULL.
 * Refuses missing required values, bad types, out-of-range numbers, and keys
 * under base that the table does not declare (typos must not pass silently).
 * Types: STRING -> char[size], INT -> int, BOOL -> bool, MONEY -> int64_t cents,
 * DOUBLE -> double. NODE keys are accepted and, without a default, required.
 * A null value (`key:` or `key: ~`) is an empty string.
 * Returns 0, or -1 with "file:line: reason" in err. */
int wz_config_fill(const wz_doc_t *doc, const wz_node_t *base, const wz_cfg_field_t *fields,
                   size_t nfields, void *out, const char *env_prefix, char *err, size_t errlen);

#endif
