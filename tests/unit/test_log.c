/* Unit tests of wz_log: lines are parsed back with a small strict JSON reader,
 * so escaping mistakes show up as parse failures or changed values. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_log.h"
#include "wz_testmain.h"

#define MAX_PAIRS 16

/* A parsed line: a flat JSON object of string (or null) values. */
typedef struct {
    size_t n;
    char keys[MAX_PAIRS][256];
    char values[MAX_PAIRS][1024];
    bool is_null[MAX_PAIRS];
} s_obj_t;

static int s_hex4(const char **p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = (*p)[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *p += 4;
    *out = v;
    return 0;
}

static size_t s_utf8_put(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads a JSON string at *p into out; raw control characters are refused. */
static int s_string(const char **p, char *out, size_t outlen)
{
    size_t n = 0;
    if (**p != '"')
        return -1;
    (*p)++;
    while (**p != '"') {
        unsigned char c = (unsigned char)**p;
        if (c == '\0' || c < 0x20 || n + 5 > outlen)
            return -1;
        if (c != '\\') {
            out[n++] = (char)c;
            (*p)++;
            continue;
        }
        (*p)++;
        char e = *(*p)++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            out[n++] = map[simple - "\"\\/bfnrt"];
        } else if (e == 'u') {
            unsigned cp;
            if (s_hex4(p, &cp) != 0)
                return -1;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if ((*p)[0] != '\\' || (*p)[1] != 'u')
                    return -1;
                *p += 2;
                if (s_hex4(p, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    return -1;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += s_utf8_put(out + n, cp);
        } else {
            return -1;
        }
    }
    (*p)++;
    out[n] = '\0';
    return 0;
}

/* Parses exactly one object followed by "\n" and nothing else. */
static int s_parse_line(const char *line, s_obj_t *obj)
{
    memset(obj, 0, sizeof *obj);
    const char *p = line;
    if (*p++ != '{')
        return -1;
    for (;;) {
        if (obj->n == MAX_PAIRS)
            return -1;
        if (s_string(&p, obj->keys[obj->n], sizeof obj->keys[0]) != 0 || *p++ != ':')
            return -1;
        if (strncmp(p, "null", 4) == 0) {
            obj->is_null[obj->n] = true;
            p += 4;
        } else if (s_string(&p, obj->values[obj->n], sizeof obj->values[0]) != 0) {
            return -1;
        }
        obj->n++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p++ != '}')
            return -1;
        break;
    }
    return strcmp(p, "\n") == 0 ? 0 : -1;
}

static const char *s_get(const s_obj_t *obj, const char *key)
{
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->values[i];
    return NULL;
}

/* Reads every line of f from the start. Returns the count. */
static size_t s_read_lines(FILE *f, char lines[][4096], size_t max)
{
    rewind(f);
    size_t n = 0;
    while (n < max && fgets(lines[n], 4096, f))
        n++;
    return n;
}

START_TEST(test_line_shape_and_fields)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    wz_log_t *log = wz_log_new("intake", WZ_LOG_DEBUG, f);
    ck_assert_ptr_nonnull(log);
    wz_log(log, WZ_LOG_INFO, "started", "endpoint", "tcp://127.0.0.1:7701", "pid", "42", NULL);
    char lines[4][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 4), 1);
    s_obj_t obj;
    ck_assert_msg(s_parse_line(lines[0], &obj) == 0, "not JSON: %s", lines[0]);
    ck_assert_uint_eq(obj.n, 6);
    ck_assert_str_eq(obj.keys[0], "ts");
    ck_assert_str_eq(obj.keys[1], "level");
    ck_assert_str_eq(obj.keys[2], "service");
    ck_assert_str_eq(obj.keys[3], "msg");
    ck_assert_str_eq(s_get(&obj, "level"), "info");
    ck_assert_str_eq(s_get(&obj, "service"), "intake");
    ck_assert_str_eq(s_get(&obj, "msg"), "started");
    ck_assert_str_eq(s_get(&obj, "endpoint"), "tcp://127.0.0.1:7701");
    ck_assert_str_eq(s_get(&obj, "pid"), "42");
    /* The services' start-up probe looks for exactly this text. */
    ck_assert_ptr_nonnull(strstr(lines[0], "\"msg\":\"started\""));
    const char *ts = s_get(&obj, "ts");
    ck_assert_uint_eq(strlen(ts), 24);
    int y, mo, d, h, mi, s, ms;
    char z;
    ck_assert_int_eq(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z),
                     8);
    ck_assert_int_eq(z, 'Z');
    ck_assert_int_ge(y, 2024);
    wz_log_destroy(&log);
    ck_assert_ptr_null(log);
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_escaping_round_trips)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("svc \"q\"", WZ_LOG_DEBUG, f);
    const char *nasty = "quote \" backslash \\ newline \n tab \t cr \r bell \x07 del \x7f "
                        "unit \x1f slash / café \xe2\x82\xac \xf0\x9f\x8f\xa0";
    wz_log(log, WZ_LOG_WARN, "line1\nline2", "weird \"key\"", nasty, "empty", "", NULL);
    char lines[4][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 4), 1);
    /* No raw control characters may reach the file. */
    for (const char *p = lines[0]; *p && *p != '\n'; p++)
        ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "raw control char in %s", lines[0]);
    ck_assert_ptr_nonnull(strstr(lines[0], "\\u0007"));
    ck_assert_ptr_nonnull(strstr(lines[0], "\\u000a"));
    s_obj_t obj;
    ck_assert_msg(s_parse_line(lines[0], &obj) == 0, "not JSON: %s", lines[0]);
    ck_assert_str_eq(s_get(&obj, "service"), "svc \"q\"");
    ck_assert_str_eq(s_get(&obj, "msg"), "line1\nline2");
    ck_assert_str_eq(s_get(&obj, "weird \"key\""), nasty);
    ck_assert_str_eq(s_get(&obj, "empty"), "");
    ck_assert_str_eq(s_get(&obj, "level"), "warn");
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_invalid_utf8_replaced)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("audit", WZ_LOG_DEBUG, f);
    /* a stray continuation byte, a truncated sequence, an overlong '/', a surrogate */
    wz_log(log, WZ_LOG_ERROR, "bad bytes", "v",
           "a\x80"
           "b\xe2\x82"
           "c\xc0\xaf"
           "d\xed\xa0\x80"
           "e",
           NULL);
    char lines[2][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 2), 1);
    s_obj_t obj;
    ck_assert_msg(s_parse_line(lines[0], &obj) == 0, "not JSON: %s", lines[0]);
    const char *v = s_get(&obj, "v");
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(strstr(v, "a\xef\xbf\xbd"
                                    "b"));
    ck_assert_ptr_null(strstr(v, "\xc0"));
    ck_assert_ptr_null(strstr(v, "\xed\xa0"));
    ck_assert_int_eq(v[strlen(v) - 1], 'e');
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_level_filtering)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("matching", WZ_LOG_WARN, f);
    wz_log(log, WZ_LOG_DEBUG, "d", NULL);
    wz_log(log, WZ_LOG_INFO, "i", NULL);
    wz_log(log, WZ_LOG_WARN, "w", NULL);
    wz_log(log, WZ_LOG_ERROR, "e", NULL);
    char lines[8][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 8), 2);
    s_obj_t obj;
    ck_assert_int_eq(s_parse_line(lines[0], &obj), 0);
    ck_assert_str_eq(s_get(&obj, "msg"), "w");
    ck_assert_int_eq(s_parse_line(lines[1], &obj), 0);
    ck_assert_str_eq(s_get(&obj, "msg"), "e");
    ck_assert_str_eq(s_get(&obj, "level"), "error");
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_null_value_and_null_logger)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("notification", WZ_LOG_DEBUG, f);
    const char *missing = NULL;
    wz_log(log, WZ_LOG_DEBUG, "x", "a", "1", "b", missing, NULL);
    wz_log(NULL, WZ_LOG_ERROR, "nothing", "k", "v", NULL);
    char lines[4][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 4), 1);
    s_obj_t obj;
    ck_assert_msg(s_parse_line(lines[0], &obj) == 0, "not JSON: %s", lines[0]);
    ck_assert_uint_eq(obj.n, 6);
    ck_assert_str_eq(obj.keys[5], "b");
    ck_assert(obj.is_null[5]);
    ck_assert_str_eq(s_get(&obj, "level"), "debug");
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_long_values)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("intake", WZ_LOG_INFO, f);
    char big[1000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wz_log(log, WZ_LOG_INFO, "big", "v", big, NULL);
    wz_log(log, WZ_LOG_INFO, "second", NULL);
    char lines[4][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 4), 2);
    s_obj_t obj;
    ck_assert_int_eq(s_parse_line(lines[0], &obj), 0);
    ck_assert_str_eq(s_get(&obj, "v"), big);
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

START_TEST(test_level_parse)
{
    wz_log_level_t level = WZ_LOG_ERROR;
    ck_assert_int_eq(wz_log_level_parse("debug", &level), 0);
    ck_assert_int_eq(level, WZ_LOG_DEBUG);
    ck_assert_int_eq(wz_log_level_parse("info", &level), 0);
    ck_assert_int_eq(level, WZ_LOG_INFO);
    ck_assert_int_eq(wz_log_level_parse("warn", &level), 0);
    ck_assert_int_eq(level, WZ_LOG_WARN);
    ck_assert_int_eq(wz_log_level_parse("error", &level), 0);
    ck_assert_int_eq(level, WZ_LOG_ERROR);
    ck_assert_int_eq(wz_log_level_parse("warning", &level), -1);
    ck_assert_int_eq(wz_log_level_parse("INFO", &level), -1);
    ck_assert_int_eq(wz_log_level_parse("", &level), -1);
    ck_assert_int_eq(wz_log_level_parse(NULL, &level), -1);
    ck_assert_int_eq(level, WZ_LOG_ERROR);
}
END_TEST

static void *s_other_thread(void *arg)
{
    wz_log(arg, WZ_LOG_INFO, "from another thread", NULL);
    return NULL;
}

START_TEST(test_context_id_on_every_line)
{
    FILE *f = tmpfile();
    wz_log_t *log = wz_log_new("matching", WZ_LOG_DEBUG, f);
    wz_log_context(log, "event_id", "intake:zkij:42");
    wz_log(log, WZ_LOG_INFO, "proposal created", "proposal", "V1/1", NULL);
    wz_log(log, WZ_LOG_WARN, "names it itself", "event_id", "intake:zkij:41", NULL);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_other_thread, log), 0);
    pthread_join(t, NULL);
    wz_log_context(log, NULL, NULL);
    wz_log(log, WZ_LOG_INFO, "after", NULL);
    char lines[5][4096];
    ck_assert_uint_eq(s_read_lines(f, lines, 5), 4);
    s_obj_t obj;
    ck_assert(s_parse_line(lines[0], &obj) == 0);
    ck_assert_str_eq(s_get(&obj, "event_id"), "intake:zkij:42");
    ck_assert_str_eq(s_get(&obj, "proposal"), "V1/1");
    ck_assert(s_parse_line(lines[1], &obj) == 0);
    ck_assert_str_eq(s_get(&obj, "event_id"), "intake:zkij:41");
    ck_assert_uint_eq(obj.n, 5); /* no second event_id key */
    ck_assert(s_parse_line(lines[2], &obj) == 0);
    ck_assert_ptr_null(s_get(&obj, "event_id")); /* the ZAP thread is not in the event */
    ck_assert(s_parse_line(lines[3], &obj) == 0);
    ck_assert_ptr_null(s_get(&obj, "event_id"));
    wz_log_destroy(&log);
    fclose(f);
}
END_TEST

int main(void)
{
    TCase *tc =
        wz_test_case("log", 10,
                     (const TTest *const[]){test_line_shape_and_fields, test_escaping_round_trips,
                                            test_invalid_utf8_replaced, test_level_filtering,
                                            test_null_value_and_null_logger, test_long_values,
                                            test_level_parse, test_context_id_on_every_line, NULL});
    return wz_test_run("wz_log", (TCase *const[]){tc, NULL});
}
