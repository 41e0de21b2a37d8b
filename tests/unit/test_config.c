/* Unit tests of wz_config: the YAML tree, refusals with file:line, scalar
 * conversions, and the table filler with environment overrides. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wz_config.h"
#include "wz_testmain.h"

static wz_doc_t *s_parse(const char *text, char *err, size_t errlen)
{
    return wz_doc_parse("t.yaml", text, strlen(text), err, errlen);
}

/* Parsing text must fail with exactly the message expected. */
static void s_refused(const char *text, const char *expected)
{
    char err[512] = "";
    wz_doc_t *doc = s_parse(text, err, sizeof err);
    ck_assert_msg(doc == NULL, "accepted: %s", text);
    ck_assert_msg(strcmp(err, expected) == 0, "for <<%s>>\n  got      '%s'\n  expected '%s'", text,
                  err, expected);
}

START_TEST(test_tree_and_lines)
{
    const char *text = "# comment\n"
                       "name: woonzorg\n"            /* 2 */
                       "redis:\n"                    /* 3 */
                       "  host: 127.0.0.1\n"         /* 4 */
                       "  port: 6379\n"              /* 5 */
                       "list:\n"                     /* 6 */
                       "  - a\n"                     /* 7 */
                       "  - {k: v, n: 2}\n"          /* 8 */
                       "  - [x, y]\n"                /* 9 */
                       "empty:\n"                    /* 10 */
                       "tilde: ~\n"                  /* 11 */
                       "quoted: \"null\"\n"          /* 12 */
                       "block: |\n  two\n  lines\n"; /* 13 */
    char err[256];
    wz_doc_t *doc = s_parse(text, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_str_eq(wz_doc_name(doc), "t.yaml");
    const wz_node_t *root = wz_doc_root(doc);
    ck_assert_int_eq(wz_node_kind(root), WZ_NODE_MAP);
    ck_assert_uint_eq(wz_node_count(root), 7);
    ck_assert_str_eq(wz_node_key(root, 0), "name");
    ck_assert_int_eq(wz_node_key_line(root, 1), 3);
    ck_assert_ptr_null(wz_node_key(root, 7));
    ck_assert_ptr_null(wz_node_text(root));

    const wz_node_t *port = wz_node_get(root, "redis.port");
    ck_assert_ptr_nonnull(port);
    ck_assert_str_eq(wz_node_text(port), "6379");
    ck_assert_int_eq(wz_node_line(port), 5);
    ck_assert_int_eq(wz_node_kind(wz_node_get(root, "redis")), WZ_NODE_MAP);
    ck_assert_ptr_null(wz_node_get(root, "redis.prot"));
    ck_assert_ptr_null(wz_node_get(root, "name.deeper"));
    ck_assert_ptr_null(wz_node_get(root, "redis."));

    const wz_node_t *list = wz_node_get(root, "list");
    ck_assert_int_eq(wz_node_kind(list), WZ_NODE_SEQ);
    ck_assert_uint_eq(wz_node_count(list), 3);
    ck_assert_str_eq(wz_node_text(wz_node_item(list, 0)), "a");
    ck_assert_int_eq(wz_node_line(wz_node_item(list, 0)), 7);
    ck_assert_ptr_null(wz_node_item(list, 3));
    ck_assert_ptr_null(wz_node_item(root, 0));
    ck_assert_str_eq(wz_node_text(wz_node_get(root, "list.1.k")), "v");
    ck_assert_int_eq(wz_node_line(wz_node_get(root, "list.1.n")), 8);
    ck_assert_str_eq(wz_node_text(wz_node_get(root, "list.2.1")), "y");
    ck_assert_ptr_null(wz_node_get(root, "list.3"));

    ck_assert_str_eq(wz_node_text(wz_node_get(root, "empty")), "");
    ck_assert_str_eq(wz_node_text(wz_node_get(root, "tilde")), "");
    ck_assert_str_eq(wz_node_text(wz_node_get(root, "quoted")), "null");
    ck_assert_str_eq(wz_node_text(wz_node_get(root, "block")), "two\nlines\n");
    ck_assert_uint_eq(wz_node_count(wz_node_get(root, "name")), 0);
    wz_doc_destroy(&doc);
    ck_assert_ptr_null(doc);
    wz_doc_destroy(&doc);
}
END_TEST

START_TEST(test_refusals)
{
    s_refused("a: &x 1\nb: *x\n", "t.yaml:1: anchors (&x) are not allowed");
    s_refused("a: 1\nb: *x\n", "t.yaml:2: aliases (*x) are not allowed");
}
END_TEST

START_TEST(test_refusals_structure)
{
    s_refused("a: 1\nb:\n  c: 2\n  c: 3\n", "t.yaml:4: duplicate key 'c' (first on line 3)");
    s_refused("a: 1\n---\nb: 2\n", "t.yaml:2: only one YAML document is allowed");
    s_refused("? [a, b]\n: 1\n", "t.yaml:1: a key must be a plain value, not a list");
    s_refused("{a: 1}: 2\n", "t.yaml:1: a key must be a plain value, not a map");
    s_refused("a:\n  - &anchor {x: 1}\n", "t.yaml:2: anchors (&anchor) are not allowed");
    s_refused("a: [&l 1]\n", "t.yaml:1: anchors (&l) are not allowed");
    s_refused("", "t.yaml:1: the file is empty; expected a map of settings");
    s_refused("# only a comment\n", "t.yaml:1: the file is empty; expected a map of settings");
    s_refused("- a\n- b\n", "t.yaml:1: the top level must be a map of settings");
    s_refused("just text\n", "t.yaml:1: the top level must be a map of settings");
    s_refused("a: \"x\\0y\"\n", "t.yaml:1: NUL characters are not allowed");
    s_refused("a: 1\n\"\": v\n", "t.yaml:2: empty key");
}
END_TEST

START_TEST(test_syntax_errors_have_lines)
{
    char err[512];
    wz_doc_t *doc = s_parse("a: 1\nb: [1, 2\nc: 3\n", err, sizeof err);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0 && strstr(err, "syntax error"), "%s", err);
    doc = s_parse("a: 1\n  b: 2\n", err, sizeof err);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strncmp(err, "t.yaml:2: syntax error", 22) == 0, "%s", err);
    doc = s_parse("a: 1\nb: \"unterminated\n", err, sizeof err);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(err, "syntax error"), "%s", err);
}
END_TEST

START_TEST(test_nesting_limit)
{
    char text[1024] = "a: ";
    for (int i = 0; i < 70; i++)
        strcat(text, "[");
    for (int i = 0; i < 70; i++)
        strcat(text, "]");
    strcat(text, "\n");
    s_refused(text, "t.yaml:1: nested deeper than 64 levels");
}
END_TEST

START_TEST(test_load_file)
{
    char err[512];
    wz_doc_t *doc = wz_doc_load("/nonexistent/dir/x.yaml", err, sizeof err);
    ck_assert_ptr_null(doc);
    ck_assert_str_eq(err, "/nonexistent/dir/x.yaml: cannot open: No such file or directory");

    char path[] = "/tmp/wz_test_config_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "a: 1\nb:\n  c: [x]\n  c: y\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    doc = wz_doc_load(path, err, sizeof err);
    ck_assert_ptr_null(doc);
    char expected[600];
    snprintf(expected, sizeof expected, "%s:4: duplicate key 'c' (first on line 3)", path);
    ck_assert_str_eq(err, expected);

    FILE *f = fopen(path, "w");
    fputs("a: 1\n", f);
    fclose(f);
    doc = wz_doc_load(path, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    ck_assert_str_eq(wz_doc_name(doc), path);
    wz_doc_destroy(&doc);
    unlink(path);
}
END_TEST

START_TEST(test_scalar_conversions)
{
    const char *text = "i: 42\n"                       /* 1 */
                       "neg: -7\n"                     /* 2 */
                       "big: 70000\n"                  /* 3 */
                       "word: abc\n"                   /* 4 */
                       "b1: yes\n"                     /* 5 */
                       "b2: False\n"                   /* 6 */
                       "b3: maybe\n"                   /* 7 */
                       "m1: 682.96\n"                  /* 8 */
                       "m2: 682\n"                     /* 9 */
                       "m3: 682.961\n"                 /* 10 */
                       "m4: -1.00\n"                   /* 11 */
                       "m5: 1.5\n"                     /* 12 */
                       "m6: 1e3\n"                     /* 13 */
                       "d1: 2024-02-29\n"              /* 14 */
                       "d2: 2023-02-29\n"              /* 15 */
                       "s: hello\n"                    /* 16 */
                       "map: {x: 1}\n"                 /* 17 */
                       "f: 52.3826\n"                  /* 18 */
                       "f2: 1e5\n"                     /* 19 */
                       "m7: .50\n"                     /* 20 */
                       "m8: 12.\n"                     /* 21 */
                       "huge: 99999999999999999999\n"; /* 22 */
    char err[256];
    wz_doc_t *doc = s_parse(text, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    const wz_node_t *r = wz_doc_root(doc);
    long long v;
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "i"), 0, 100, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "neg"), -10, 10, &v, err, sizeof err), 0);
    ck_assert_int_eq(v, -7);
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "big"), 1, 65535, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:3: 70000 is out of range 1..65535");
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "word"), 1, 9, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:4: expected an integer, got 'abc'");
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "huge"), 0, 9, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:22: 99999999999999999999 is out of range 0..9");
    ck_assert_int_eq(wz_node_int(doc, wz_node_get(r, "map"), 0, 9, &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:17: expected a single value, not a map");

    bool b = false;
    ck_assert_int_eq(wz_node_bool(doc, wz_node_get(r, "b1"), &b, err, sizeof err), 0);
    ck_assert(b);
    ck_assert_int_eq(wz_node_bool(doc, wz_node_get(r, "b2"), &b, err, sizeof err), 0);
    ck_assert(!b);
    ck_assert_int_eq(wz_node_bool(doc, wz_node_get(r, "b3"), &b, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:7: expected true, false, yes or no, got 'maybe'");

    int64_t cents = 0;
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m1"), &cents, err, sizeof err), 0);
    ck_assert_int_eq(cents, 68296);
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m2"), &cents, err, sizeof err), 0);
    ck_assert_int_eq(cents, 68200);
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m5"), &cents, err, sizeof err), 0);
    ck_assert_int_eq(cents, 150);
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m3"), &cents, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:10: amount '682.961' has more than two decimals");
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m4"), &cents, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:11: amount '-1.00' is negative");
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m6"), &cents, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:13: expected an amount in euros like 682.96, got '1e3'");
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m7"), &cents, err, sizeof err), -1);
    ck_assert_int_eq(wz_node_money(doc, wz_node_get(r, "m8"), &cents, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:21: expected an amount in euros like 682.96, got '12.'");
    ck_assert_int_eq(cents, 150); /* untouched by failures */

    int y = 0, mo = 0, d = 0;
    ck_assert_int_eq(wz_node_date(doc, wz_node_get(r, "d1"), &y, &mo, &d, err, sizeof err), 0);
    ck_assert_int_eq(y, 2024);
    ck_assert_int_eq(mo, 2);
    ck_assert_int_eq(d, 29);
    ck_assert_int_eq(wz_node_date(doc, wz_node_get(r, "d2"), &y, &mo, &d, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:15: expected a real date as YYYY-MM-DD (1900..2199), got "
                          "'2023-02-29'");

    char small[4], fits[6];
    ck_assert_int_eq(wz_node_string(doc, wz_node_get(r, "s"), fits, sizeof fits, err, sizeof err),
                     0);
    ck_assert_str_eq(fits, "hello");
    ck_assert_int_eq(wz_node_string(doc, wz_node_get(r, "s"), small, sizeof small, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "t.yaml:16: value is longer than 3 characters");

    double f = 0;
    ck_assert_int_eq(wz_node_double(doc, wz_node_get(r, "f"), -90, 90, &f, err, sizeof err), 0);
    ck_assert(f > 52.3825 && f < 52.3827);
    ck_assert_int_eq(wz_node_double(doc, wz_node_get(r, "f"), -10, 10, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:18: 52.3826 is out of range -10..10");
    ck_assert_int_eq(wz_node_double(doc, wz_node_get(r, "f2"), -1e9, 1e9, &f, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:19: expected a decimal number, got '1e5'");
    wz_doc_destroy(&doc);
}
END_TEST

/* --- the table filler -------------------------------------------------------- */

typedef struct {
    char host[16];
    int port;
    bool tls;
    int64_t rent;
    int64_t delta;
    double lat;
    int max_in_flight;
    char name[8];
} s_cfg_t;

static const wz_cfg_field_t s_fields[] = {
    {"redis.host", WZ_CFG_STRING, offsetof(s_cfg_t, host), sizeof(((s_cfg_t *)0)->host),
     "127.0.0.1", 0, 0},
    {"redis.port", WZ_CFG_INT, offsetof(s_cfg_t, port), 0, "6379", 1, 65535},
    {"redis.tls", WZ_CFG_BOOL, offsetof(s_cfg_t, tls), 0, "no", 0, 0},
    {"rent", WZ_CFG_MONEY, offsetof(s_cfg_t, rent), 0, "0", 0, 500000},
    {"delta", WZ_CFG_MONEY, offsetof(s_cfg_t, delta), 0, "0", -10000, 10000},
    {"lat", WZ_CFG_DOUBLE, offsetof(s_cfg_t, lat), 0, "0", -90, 90},
    {"notification.max_in_flight", WZ_CFG_INT, offsetof(s_cfg_t, max_in_flight), 0, "64", 1, 1000},
    {"name", WZ_CFG_STRING, offsetof(s_cfg_t, name), sizeof(((s_cfg_t *)0)->name), NULL, 0, 0},
    {"extra", WZ_CFG_NODE, 0, 0, "", 0, 0},
};
#define N_FIELDS (sizeof s_fields / sizeof s_fields[0])

/* Fills from text; returns the result and leaves the message in err. */
static int s_fill(const char *text, s_cfg_t *out, const char *env, char *err, size_t errlen)
{
    wz_doc_t *doc = s_parse(text, err, errlen);
    ck_assert_msg(doc != NULL, "%s", err);
    memset(out, 0, sizeof *out);
    int rc = wz_config_fill(doc, wz_doc_root(doc), s_fields, N_FIELDS, out, env, err, errlen);
    wz_doc_destroy(&doc);
    return rc;
}

static void s_fill_refused(const char *text, const char *expected)
{
    s_cfg_t c;
    char err[512] = "";
    ck_assert_msg(s_fill(text, &c, "WZ_", err, sizeof err) == -1, "accepted: %s", text);
    ck_assert_msg(strcmp(err, expected) == 0, "for <<%s>>\n  got      '%s'\n  expected '%s'", text,
                  err, expected);
}

START_TEST(test_fill_defaults_and_values)
{
    s_cfg_t c;
    char err[512];
    ck_assert_msg(s_fill("name: x\n", &c, "WZ_", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.host, "127.0.0.1");
    ck_assert_int_eq(c.port, 6379);
    ck_assert(!c.tls);
    ck_assert_int_eq(c.rent, 0);
    ck_assert_int_eq(c.max_in_flight, 64);
    ck_assert_str_eq(c.name, "x");

    const char *text = "name: abcdefg\n"
                       "redis:\n  host: redis.local\n  port: 6390\n  tls: true\n"
                       "rent: 682.96\n"
                       "delta: -12.50\n"
                       "lat: -33.5\n"
                       "notification:\n  max_in_flight: 8\n"
                       "extra: {anything: [goes, here]}\n";
    ck_assert_msg(s_fill(text, &c, "WZ_", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.host, "redis.local");
    ck_assert_int_eq(c.port, 6390);
    ck_assert(c.tls);
    ck_assert_int_eq(c.rent, 68296);
    ck_assert_int_eq(c.delta, -1250);
    ck_assert(c.lat < -33.49 && c.lat > -33.51);
    ck_assert_int_eq(c.max_in_flight, 8);
    ck_assert_str_eq(c.name, "abcdefg");

    /* an empty section is as good as an absent one */
    ck_assert_msg(s_fill("name: x\nredis:\n", &c, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.port, 6379);
}
END_TEST

START_TEST(test_fill_env_override)
{
    s_cfg_t c;
    char err[512];
    setenv("WZ_REDIS_PORT", "7000", 1);
    setenv("WZ_NOTIFICATION_MAX_IN_FLIGHT", "3", 1);
    setenv("WZ_REDIS_TLS", "yes", 1);
    setenv("WZ_NAME", "fromenv", 1);
    ck_assert_msg(s_fill("name: x\nredis:\n  port: 6390\n", &c, "WZ_", err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(c.port, 7000);
    ck_assert_int_eq(c.max_in_flight, 3);
    ck_assert(c.tls);
    ck_assert_str_eq(c.name, "fromenv");

    /* no prefix: the environment is not consulted */
    ck_assert_msg(s_fill("name: x\nredis:\n  port: 6390\n", &c, NULL, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(c.port, 6390);
    ck_assert_str_eq(c.name, "x");

    /* a required key may come from the environment alone */
    ck_assert_msg(s_fill("redis:\n  port: 1\n", &c, "WZ_", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.name, "fromenv");

    setenv("WZ_REDIS_PORT", "70000", 1);
    ck_assert_int_eq(s_fill("name: x\n", &c, "WZ_", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_REDIS_PORT: 70000 is out of range 1..65535");
    setenv("WZ_REDIS_PORT", "", 1);
    ck_assert_int_eq(s_fill("name: x\n", &c, "WZ_", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_REDIS_PORT: expected an integer, got ''");
    unsetenv("WZ_REDIS_PORT");
    setenv("WZ_REDIS_TLS", "sure", 1);
    ck_assert_int_eq(s_fill("name: x\n", &c, "WZ_", err, sizeof err), -1);
    ck_assert_str_eq(err, "environment WZ_REDIS_TLS: expected true, false, yes or no, got 'sure'");
    unsetenv("WZ_REDIS_TLS");
    unsetenv("WZ_NOTIFICATION_MAX_IN_FLIGHT");
    unsetenv("WZ_NAME");
}
END_TEST

START_TEST(test_fill_refusals)
{
    s_fill_refused("name: x\nredis:\n  host: h\n  prot: 1\n",
                   "t.yaml:4: unknown key 'prot' in 'redis' (did you mean 'port'?)");
    s_fill_refused("name: x\nredis:\n  zzzzzz: 1\n", "t.yaml:3: unknown key 'zzzzzz' in 'redis'");
    s_fill_refused("name: x\nnmae: y\n", "t.yaml:2: unknown key 'nmae' (did you mean 'name'?)");
    s_fill_refused("name: x\nnotification:\n  max_in_flight: 2\n  deep:\n    x: 1\n",
                   "t.yaml:4: unknown key 'deep' in 'notification'");
    s_fill_refused("name: x\nredis: 5\n", "t.yaml:2: 'redis' must be a map");
    s_fill_refused("name: x\nredis:\n  port: [1, 2]\n",
                   "t.yaml:3: 'redis.port' must be a single value, not a list");
    s_fill_refused("redis:\n  port: 1\n", "t.yaml:1: missing required key 'name'");
    s_fill_refused("name: x\nredis:\n  port: 0\n",
                   "t.yaml:3: redis.port: 0 is out of range 1..65535");
    s_fill_refused("name: x\nredis:\n  port:\n",
                   "t.yaml:3: redis.port: expected an integer, got ''");
    s_fill_refused("name: toolongname\n", "t.yaml:1: name: value is longer than 7 characters");
    s_fill_refused("name: x\nrent: -5\n", "t.yaml:2: rent: amount '-5' is negative");
    s_fill_refused("name: x\nrent: 5000.01\n",
                   "t.yaml:2: rent: amount 5000.01 is out of range 0.00..5000.00");
    s_fill_refused("name: x\nrent: 12.345\n",
                   "t.yaml:2: rent: amount '12.345' has more than two decimals");
    s_fill_refused("name: x\ndelta: -100.01\n",
                   "t.yaml:2: delta: amount -100.01 is out of range -100.00..100.00");
    s_fill_refused("name: x\nlat: 91\n", "t.yaml:2: lat: 91 is out of range -90..90");
    s_fill_refused("name: x\nredis:\n  tls: 1\n",
                   "t.yaml:3: redis.tls: expected true, false, yes or no, got '1'");
}
END_TEST

START_TEST(test_fill_base_subtree_and_null_base)
{
    char err[512];
    wz_doc_t *doc = s_parse("outer:\n  name: inner\n  redis: {port: 10}\n", err, sizeof err);
    ck_assert_ptr_nonnull(doc);
    s_cfg_t c;
    memset(&c, 0, sizeof c);
    ck_assert_msg(wz_config_fill(doc, wz_node_get(wz_doc_root(doc), "outer"), s_fields, N_FIELDS,
                                 &c, NULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(c.name, "inner");
    ck_assert_int_eq(c.port, 10);
    /* without any node only defaults apply, and the required key is missing */
    ck_assert_int_eq(wz_config_fill(doc, NULL, s_fields, N_FIELDS, &c, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml: missing required key 'name'");
    /* the whole document is not this table's: 'outer' is unknown there */
    ck_assert_int_eq(
        wz_config_fill(doc, wz_doc_root(doc), s_fields, N_FIELDS, &c, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:1: unknown key 'outer'");
    wz_doc_destroy(&doc);
}
END_TEST

START_TEST(test_fill_required_node)
{
    static const wz_cfg_field_t fields[] = {
        {"items", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
    };
    char err[512];
    int dummy = 0;
    wz_doc_t *doc = s_parse("items: [1, 2]\n", err, sizeof err);
    ck_assert_int_eq(
        wz_config_fill(doc, wz_doc_root(doc), fields, 1, &dummy, NULL, err, sizeof err), 0);
    wz_doc_destroy(&doc);
    doc = s_parse("other: 1\n", err, sizeof err);
    ck_assert_int_eq(
        wz_config_fill(doc, wz_doc_root(doc), fields, 1, &dummy, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:1: unknown key 'other'");
    wz_doc_destroy(&doc);
    doc = s_parse("{}\n", err, sizeof err);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(
        wz_config_fill(doc, wz_doc_root(doc), fields, 1, &dummy, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "t.yaml:1: missing required key 'items'");
    wz_doc_destroy(&doc);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "yaml", 10,
        (const TTest *const[]){test_tree_and_lines, test_refusals, test_refusals_structure,
                               test_syntax_errors_have_lines, test_nesting_limit, test_load_file,
                               test_scalar_conversions, NULL});
    TCase *fill = wz_test_case("fill", 10,
                               (const TTest *const[]){test_fill_defaults_and_values,
                                                      test_fill_env_override, test_fill_refusals,
                                                      test_fill_base_subtree_and_null_base,
                                                      test_fill_required_node, NULL});
    return wz_test_run("wz_config", (TCase *const[]){tc, fill, NULL});
}
