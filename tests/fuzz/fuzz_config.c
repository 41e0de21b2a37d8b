/* fuzz_config.c - libFuzzer target: bytes as a YAML config file.
 * Parses them into the tree (wz_doc_parse), walks the tree through the
 * public accessors and scalar conversions, fills a small table covering
 * every field type, and loads the same bytes from a file as a policy and as
 * settings. Beyond "no crash, no leak, no sanitizer report" it checks that
 * the accessors agree with each other, that every failure says why, and
 * that bytes the parser refuses are refused by both loaders too. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wz_config.h"
#include "wz_fuzz.h"
#include "wz_policy.h"
#include "wz_settings.h"

#define ENV_PREFIX "WZ_FUZZ_"
#define MAX_FILLS 16 /* maps of one input the table is tried on */

/* One file per process that every input is written to; removed at exit. */
static char s_path[512];

typedef struct {
    char name[16];
    int port;
    bool enabled;
    int64_t rent_cents;
    double ratio;
    char host[64];
    int db;
} s_small_t;

#define S(f) offsetof(s_small_t, f), sizeof(((s_small_t *)0)->f)
#define I(f) offsetof(s_small_t, f), 0

/* Every field type, a required key, a nested map, unbounded and bounded
 * numbers, and a NODE key the caller would read itself. */
static const wz_cfg_field_t s_fields[] = {
    {"name", WZ_CFG_STRING, S(name), NULL, 0, 0},
    {"port", WZ_CFG_INT, I(port), "6379", 1, 65535},
    {"enabled", WZ_CFG_BOOL, I(enabled), "no", 0, 0},
    {"rent", WZ_CFG_MONEY, I(rent_cents), "0", 0, 500000},
    {"ratio", WZ_CFG_DOUBLE, I(ratio), "0.5", -1, 1},
    {"redis.host", WZ_CFG_STRING, S(host), "127.0.0.1", 0, 0},
    {"redis.db", WZ_CFG_INT, I(db), "0", 0, 0},
    {"rules", WZ_CFG_NODE, 0, 0, "", 0, 0},
};
#define N_FIELDS (sizeof s_fields / sizeof s_fields[0])

static void s_cleanup(void)
{
    if (*s_path)
        unlink(s_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (wz_fuzz_temp_file(s_path, sizeof s_path, "fuzz-config") != 0)
        wz_fuzz_fail("cannot create a temporary file");
    atexit(s_cleanup);
    /* One override, so the environment path of the filler runs too. */
    setenv(ENV_PREFIX "REDIS_DB", "3", 1);
    return 0;
}

static void s_check_err(const char *what, const char *err, size_t cap)
{
    if (strnlen(err, cap) == cap)
        wz_fuzz_fail("%s: error text is not NUL-terminated", what);
    if (!*err)
        wz_fuzz_fail("%s failed without saying why", what);
}

/* Every conversion on one scalar; each must either succeed or say why. */
static void s_convert_all(const wz_doc_t *doc, const wz_node_t *node)
{
    char err[256], buf[32];
    long long i;
    bool b;
    double d;
    int64_t cents;
    int y, m, day;
    const char *text = wz_node_text(node);
    if (!text)
        wz_fuzz_fail("a scalar without text (line %d)", wz_node_line(node));

    err[0] = '\0';
    if (wz_node_int(doc, node, LLONG_MIN, LLONG_MAX, &i, err, sizeof err) != 0)
        s_check_err("wz_node_int", err, sizeof err);
    err[0] = '\0';
    if (wz_node_int(doc, node, -5, 5, &i, err, sizeof err) == 0 && (i < -5 || i > 5))
        wz_fuzz_fail("wz_node_int gave %lld outside -5..5", i);
    err[0] = '\0';
    if (wz_node_bool(doc, node, &b, err, sizeof err) != 0)
        s_check_err("wz_node_bool", err, sizeof err);
    err[0] = '\0';
    if (wz_node_double(doc, node, -1e6, 1e6, &d, err, sizeof err) == 0) {
        if (!(d >= -1e6 && d <= 1e6))
            wz_fuzz_fail("wz_node_double gave %g outside -1e6..1e6", d);
    } else {
        s_check_err("wz_node_double", err, sizeof err);
    }
    err[0] = '\0';
    if (wz_node_money(doc, node, &cents, err, sizeof err) == 0) {
        if (cents < 0)
            wz_fuzz_fail("wz_node_money gave negative %lld cents", (long long)cents);
    } else {
        s_check_err("wz_node_money", err, sizeof err);
    }
    err[0] = '\0';
    if (wz_node_date(doc, node, &y, &m, &day, err, sizeof err) == 0) {
        if (y < 1900 || y > 2199 || m < 1 || m > 12 || day < 1 || day > 31)
            wz_fuzz_fail("wz_node_date gave %d-%d-%d", y, m, day);
    } else {
        s_check_err("wz_node_date", err, sizeof err);
    }
    err[0] = '\0';
    if (wz_node_string(doc, node, buf, sizeof buf, err, sizeof err) == 0) {
        if (strcmp(buf, text) != 0)
            wz_fuzz_fail("wz_node_string copied '%s' for '%s'", buf, text);
    } else {
        if (strlen(text) < sizeof buf)
            wz_fuzz_fail("wz_node_string refused '%s', which fits", text);
        s_check_err("wz_node_string", err, sizeof err);
    }
}

/* Walks the tree through the accessors; collects up to MAX_FILLS maps. */
static void s_walk(const wz_doc_t *doc, const wz_node_t *node, int depth, const wz_node_t **maps,
                   size_t *n_maps)
{
    if (depth > 200)
        wz_fuzz_fail("the tree is deeper than any parser limit allows");
    if (wz_node_line(node) < 1)
        wz_fuzz_fail("a node without a line number");
    size_t count = wz_node_count(node);
    switch (wz_node_kind(node)) {
    case WZ_NODE_SCALAR:
        if (count != 0)
            wz_fuzz_fail("a scalar with %zu children", count);
        s_convert_all(doc, node);
        return;
    case WZ_NODE_SEQ:
        if (wz_node_text(node) || wz_node_key(node, 0) || wz_node_item(node, count))
            wz_fuzz_fail("a list answers like a map or past its end (line %d)", wz_node_line(node));
        for (size_t i = 0; i < count; i++) {
            const wz_node_t *item = wz_node_item(node, i);
            if (!item)
                wz_fuzz_fail("list item %zu of %zu is missing", i, count);
            s_walk(doc, item, depth + 1, maps, n_maps);
        }
        return;
    case WZ_NODE_MAP:
        if (wz_node_text(node) || wz_node_item(node, 0) || wz_node_key(node, count) ||
            wz_node_value(node, count))
            wz_fuzz_fail("a map answers like a list or past its end (line %d)", wz_node_line(node));
        if (*n_maps < MAX_FILLS)
            maps[(*n_maps)++] = node;
        for (size_t i = 0; i < count; i++) {
            const char *key = wz_node_key(node, i);
            const wz_node_t *value = wz_node_value(node, i);
            if (!key || !*key || !value || wz_node_key_line(node, i) < 1)
                wz_fuzz_fail("map entry %zu of %zu is incomplete (line %d)", i, count,
                             wz_node_line(node));
            /* Keys are unique, so a plain lookup finds this very value. */
            if (!strchr(key, '.') && wz_node_get(node, key) != value)
                wz_fuzz_fail("wz_node_get(\"%s\") does not find its own value", key);
            s_walk(doc, value, depth + 1, maps, n_maps);
        }
        return;
    }
    wz_fuzz_fail("unknown node kind %d", (int)wz_node_kind(node));
}

static void s_fill(const wz_doc_t *doc, const wz_node_t *base, const char *env_prefix)
{
    s_small_t out;
    char err[512] = "";
    memset(&out, 0, sizeof out);
    if (wz_config_fill(doc, base, s_fields, N_FIELDS, &out, env_prefix, err, sizeof err) != 0) {
        s_check_err("wz_config_fill", err, sizeof err);
        return;
    }
    if (strnlen(out.name, sizeof out.name) == sizeof out.name ||
        strnlen(out.host, sizeof out.host) == sizeof out.host)
        wz_fuzz_fail("wz_config_fill left a string without its NUL");
    if (out.port < 1 || out.port > 65535 || out.rent_cents < 0 || out.rent_cents > 500000 ||
        !(out.ratio >= -1 && out.ratio <= 1))
        wz_fuzz_fail("wz_config_fill let a value past its bounds: port %d rent %lld ratio %g",
                     out.port, (long long)out.rent_cents, out.ratio);
    if (env_prefix && out.db != 3)
        wz_fuzz_fail("the environment override of redis.db was ignored (got %d)", out.db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    wz_doc_t *doc = wz_doc_parse(s_path, (const char *)data, size, err, sizeof err);
    bool parsed = doc != NULL;
    if (doc) {
        const wz_node_t *root = wz_doc_root(doc);
        if (!root || wz_node_kind(root) != WZ_NODE_MAP)
            wz_fuzz_fail("a parsed document whose root is not a map");
        const wz_node_t *maps[MAX_FILLS];
        size_t n_maps = 0;
        s_walk(doc, root, 0, maps, &n_maps);
        s_fill(doc, root, ENV_PREFIX);
        for (size_t i = 1; i < n_maps; i++)
            s_fill(doc, maps[i], NULL);
        wz_doc_destroy(&doc);
        if (doc)
            wz_fuzz_fail("wz_doc_destroy did not null the pointer");
    } else {
        s_check_err("wz_doc_parse", err, sizeof err);
    }

    if (wz_fuzz_write_file(s_path, data, size) != 0)
        wz_fuzz_fail("cannot write %s", s_path);

    err[0] = '\0';
    wz_policy_t *policy = wz_policy_load(s_path, NULL, false, err, sizeof err);
    if (policy) {
        if (!parsed)
            wz_fuzz_fail("wz_policy_load accepted bytes wz_doc_parse refuses");
        if (policy->n_regions == 0 || policy->n_parties == 0 || !*policy->version)
            wz_fuzz_fail("a loaded policy without regions, parties or version");
        wz_policy_destroy(&policy);
    } else {
        s_check_err("wz_policy_load", err, sizeof err);
    }

    err[0] = '\0';
    wz_settings_t settings;
    if (wz_settings_load(&settings, s_path, err, sizeof err) == 0) {
        if (!parsed)
            wz_fuzz_fail("wz_settings_load accepted bytes wz_doc_parse refuses");
        if (!strstr(settings.intake.endpoint, "://") || !*settings.redis.host ||
            !*settings.keys_dir || !*settings.policy_path)
            wz_fuzz_fail("wz_settings_load accepted an empty host, path or a bad endpoint");
    } else {
        s_check_err("wz_settings_load", err, sizeof err);
    }
    return 0;
}
