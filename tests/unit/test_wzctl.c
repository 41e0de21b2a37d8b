/* Unit tests of wzctl's pure parts: arguments, YAML files, names, JSON and
 * the readable renderings. The CLI has no library of its own, so its sources
 * are compiled into this test directly. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tools/wzctl/wzctl_json.c"
#include "../../tools/wzctl/wzctl_parse.c"
#include "../../tools/wzctl/wzctl_print.c"
#include "wz_policy.h"
#include "wz_testmain.h"
#include "wz_validate.h"

#ifndef WZ_SOURCE_DIR
#error "WZ_SOURCE_DIR must point at the source tree (set by tests/CMakeLists.txt)"
#endif

static char s_err[512];

/* Parses a command line given as a NULL-terminated list. */
static int s_parse(wzctl_args_t *a, ...)
{
    char *argv[40];
    int argc = 0;
    va_list ap;
    va_start(ap, a);
    argv[argc++] = "wzctl";
    for (char *arg; (arg = va_arg(ap, char *)) != NULL && argc < 39;)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;
    s_err[0] = '\0';
    return wzctl_args_parse(argc, argv, a, s_err, sizeof s_err);
}

#define ERR_HAS(text)                                                                              \
    ck_assert_msg(strstr(s_err, (text)) != NULL, "error '%s' lacks '%s'", s_err, (text))

/* --- arguments ---------------------------------------------------------------------- */

START_TEST(test_args_defaults_and_env)
{
    wzctl_args_t a;
    unsetenv("WZ_CONFIG");
    unsetenv("WZ_PARTY");
    ck_assert_int_eq(s_parse(&a, "status", "vacancy", "PW-1", NULL), 0);
    ck_assert_str_eq(a.config, "config/woonzorg.yaml");
    ck_assert_ptr_null(a.party);
    ck_assert(!a.json);
    ck_assert_int_eq(a.timeout_ms, 5000);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_STATUS);
    ck_assert_uint_eq(a.npos, 2);
    ck_assert_str_eq(a.pos[1], "PW-1");

    setenv("WZ_CONFIG", "/etc/wz.yaml", 1);
    setenv("WZ_PARTY", "ymere", 1);
    ck_assert_int_eq(s_parse(&a, "withdraw", "PW-1", NULL), 0);
    ck_assert_str_eq(a.config, "/etc/wz.yaml");
    ck_assert_str_eq(a.party, "ymere");
    ck_assert_int_eq(s_parse(&a, "-c", "x.yaml", "--as", "pre-wonen", "--json", "--timeout", "750",
                             "withdraw", "PW-1", NULL),
                     0);
    ck_assert_str_eq(a.config, "x.yaml");
    ck_assert_str_eq(a.party, "pre-wonen");
    ck_assert(a.json);
    ck_assert_int_eq(a.timeout_ms, 750);
    /* -c, --as and --json also after the command; --opt=value works too */
    ck_assert_int_eq(
        s_parse(&a, "withdraw", "PW-1", "--as=dock", "--config=y.yaml", "--json", NULL), 0);
    ck_assert_str_eq(a.party, "dock");
    ck_assert_str_eq(a.config, "y.yaml");
    ck_assert(a.json);
}
END_TEST

START_TEST(test_args_errors)
{
    wzctl_args_t a;
    ck_assert_int_eq(s_parse(&a, NULL), -1);
    ERR_HAS("no command");
    ck_assert_int_eq(s_parse(&a, "fly", NULL), -1);
    ERR_HAS("unknown command 'fly'");
    ck_assert_int_eq(s_parse(&a, "--bogus", "status", NULL), -1);
    ERR_HAS("unknown option '--bogus'");
    ck_assert_int_eq(s_parse(&a, "--as", NULL), -1);
    ERR_HAS("--as needs a value");
    ck_assert_int_eq(s_parse(&a, "--timeout", "soon", "status", NULL), -1);
    ERR_HAS("--timeout");
    ck_assert_int_eq(s_parse(&a, "--timeout", "0", "status", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "publish", NULL), -1);
    ERR_HAS("usage: wzctl publish FILE.yaml");
    ck_assert_int_eq(s_parse(&a, "publish", "a.yaml", "b.yaml", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "publish", "a.yaml", "--force", NULL), -1);
    ERR_HAS("publish does not take option '--force'");
    ck_assert_int_eq(s_parse(&a, "withdraw", "X", "--timeout", "5", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "answer", "P/1", "maybe", NULL), -1);
    ERR_HAS("accept or decline");
    ck_assert_int_eq(s_parse(&a, "status", "house", "X", NULL), -1);
    ERR_HAS("vacancy, candidate or proposal");
    ck_assert_int_eq(s_parse(&a, "audit", "head", NULL), -1);
    ERR_HAS("tail");
    ck_assert_int_eq(s_parse(&a, "audit", "tail", "-n", "1001", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "audit", "tail", "-n", NULL), -1);
    ERR_HAS("-n needs a value");
    ck_assert_int_eq(s_parse(&a, "signed", "V", "--contract", "lease", NULL), -1);
    ERR_HAS("regular, three-party, omklap, second-chance or temporary-mo");
    ck_assert_int_eq(s_parse(&a, "grant-urgency", "C", "--date", "2025-02-30", NULL), -1);
    ERR_HAS("YYYY-MM-DD");
    ck_assert_int_eq(s_parse(&a, "listen", "--count", "-1", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "listen", "--count", "1x", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "listen", "extra", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "keygen", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "keygen", "a", "--force=yes", NULL), -1);
    ERR_HAS("takes no value");
}
END_TEST

START_TEST(test_args_commands)
{
    wzctl_args_t a;
    ck_assert_int_eq(s_parse(&a, "keygen", "pre-wonen", "intake", "--dir", "/k", "--force", NULL),
                     0);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_KEYGEN);
    ck_assert_uint_eq(a.npos, 2);
    ck_assert_str_eq(a.dir, "/k");
    ck_assert(a.force);

    ck_assert_int_eq(s_parse(&a, "signed", "PW-1", NULL), 0);
    ck_assert_int_eq(a.contract, WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY);
    ck_assert_int_eq(s_parse(&a, "signed", "PW-1", "--contract", "temporary-mo", NULL), 0);
    ck_assert_int_eq(a.contract, WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_TEMPORARY_MO);

    ck_assert_int_eq(s_parse(&a, "grant-urgency", "kam-1", NULL), 0);
    ck_assert_int_eq(a.date.year, 0);
    ck_assert_int_eq(s_parse(&a, "grant-urgency", "kam-1", "--date", "2025-11-03", NULL), 0);
    ck_assert_int_eq(a.date.year, 2025);
    ck_assert_int_eq(a.date.day, 3);

    ck_assert_int_eq(s_parse(&a, "answer", "PW-1/2", "decline", "--reason", "te ver", NULL), 0);
    ck_assert_str_eq(a.reason, "te ver");

    /* Before the command --timeout is milliseconds; after listen, seconds of silence. */
    ck_assert_int_eq(s_parse(&a, "--timeout", "900", "listen", "--count", "2", "--timeout", "30",
                             "--no-ack", NULL),
                     0);
    ck_assert_int_eq(a.timeout_ms, 900);
    ck_assert_int_eq(a.count, 2);
    ck_assert_int_eq(a.silence_s, 30);
    ck_assert(a.no_ack);
    ck_assert_int_eq(s_parse(&a, "listen", NULL), 0);
    ck_assert_int_eq(a.count, 0);
    ck_assert_int_eq(a.silence_s, 0);

    ck_assert_int_eq(s_parse(&a, "audit", "tail", NULL), 0);
    ck_assert_int_eq(a.last, 20);
    ck_assert_int_eq(s_parse(&a, "audit", "tail", "-n", "5", NULL), 0);
    ck_assert_int_eq(a.last, 5);
    ck_assert_int_eq(s_parse(&a, "audit", "verify", NULL), 0);
    ck_assert_ptr_null(a.region);
    ck_assert_int_eq(s_parse(&a, "audit", "verify", "--region", "zkij", "--file", "x.jsonl", NULL),
                     0);
    ck_assert_str_eq(a.region, "zkij");
    ck_assert_str_eq(a.file, "x.jsonl");
    ck_assert_int_eq(s_parse(&a, "audit", "export", "-o", "out.jsonl", NULL), 0);
    ck_assert_str_eq(a.out, "out.jsonl");
    ck_assert_int_eq(s_parse(&a, "audit", "verify", "-n", "5", NULL), -1);
    ERR_HAS("does not take -n");
    ck_assert_int_eq(s_parse(&a, "audit", "export", "--file", "x", NULL), -1);
    ERR_HAS("only audit verify takes --file");
    ck_assert_int_eq(s_parse(&a, "audit", "verify", "-o", "x", NULL), -1);
    ERR_HAS("only audit export takes -o");
    ck_assert_int_eq(s_parse(&a, "audit", "tail", "--region", "zkij", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "audit", "verify", "--region", "a b", NULL), -1);
    ERR_HAS("region id");
    ck_assert_int_eq(s_parse(&a, "redis-acl", "var/redis.acl", NULL), 0);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_REDIS_ACL);
    ck_assert_int_eq(s_parse(&a, "redis-acl", NULL), -1);
    ERR_HAS("redis-acl FILE");

    /* after "--" an id may look like an option */
    ck_assert_int_eq(s_parse(&a, "withdraw", "--", "--odd", NULL), 0);
    ck_assert_str_eq(a.pos[0], "--odd");

    ck_assert_int_eq(s_parse(&a, "--help", NULL), 0);
    ck_assert(a.help);
    ck_assert_int_eq(s_parse(&a, "publish", "-h", NULL), 0);
    ck_assert(a.help);
}
END_TEST

START_TEST(test_usage_complete)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    wzctl_usage(f);
    fclose(f);
    const char *must[] = {
        "keygen",        "publish",     "withdraw",    "register",    "withdraw-candidate",
        "grant-urgency", "answer",      "signed",      "status",      "listen",
        "audit tail",    "--json",      "--timeout",   "--as",        "$WZ_CONFIG",
        "$WZ_PARTY",     "--count",     "--no-ack",    "--force",     "--dir",
        "--contract",    "--reason",    "--date",      "Exit status", "  0  OK",
        "  1  ",         "  2  ",       "  3  ",       "consent",     "available_from",
        "floor_area_m2", "three-party", "temporary-mo", "explain",    "--replay",
        "confirm",       "nominate",    "--extend",    "care_location", "parked_until",
        "scheme"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(strstr(text, must[i]) != NULL, "--help lacks '%s'", must[i]);
    free(text);
}
END_TEST

/* --- names -------------------------------------------------------------------------- */

START_TEST(test_names)
{
    const char *contracts[] = {"regular", "three-party", "omklap", "second-chance", "temporary-mo"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(wzctl_contract_name(wzctl_contract_parse(contracts[i])), contracts[i]);
    ck_assert_int_eq(wzctl_contract_parse("three_party"), -1);
    ck_assert_int_eq(wzctl_access_parse("wheelchair"), 8);
    ck_assert_int_eq(wzctl_access_parse("stairs"), -1);
    char buf[64];
    wzctl_access_format(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "none");
    wzctl_access_format(1 | 8, buf, sizeof buf);
    ck_assert_str_eq(buf, "ground_floor, wheelchair");
    wzctl_access_format(2 | 64, buf, sizeof buf);
    ck_assert_str_eq(buf, "lift, 0x40");
    ck_assert_int_eq(wzctl_age_band_parse("pension"), 3);
    ck_assert_str_eq(wzctl_age_band_name(1), "under_23");
    ck_assert_int_eq(wzctl_income_parse("above_limit"), 2);
    ck_assert_str_eq(wzctl_income_name(0), "unspecified");
    ck_assert_int_eq(wzctl_status_kind_parse("proposal"), 3);
    ck_assert_str_eq(wzctl_enum_name(&woonzorg__v1__code__descriptor, 5, buf, sizeof buf),
                     "FORBIDDEN");
    ck_assert_str_eq(wzctl_enum_name(&woonzorg__v1__vacancy_state__descriptor, 3, buf, sizeof buf),
                     "OFFERED");
    ck_assert_str_eq(wzctl_enum_name(&woonzorg__v1__contract_type__descriptor, 2, buf, sizeof buf),
                     "THREE_PARTY");
    ck_assert_str_eq(wzctl_enum_name(&woonzorg__v1__code__descriptor, 77, buf, sizeof buf), "77");
}
END_TEST

/* --- YAML ----------------------------------------------------------------------------- */

static wz_doc_t *s_doc(const char *text)
{
    wz_doc_t *doc = wz_doc_parse("v.yaml", text, strlen(text), s_err, sizeof s_err);
    ck_assert_msg(doc != NULL, "%s", s_err);
    return doc;
}

static const char *s_vacancy_text = "id: PW-2025-0142\n"
                                    "municipality: haarlem\n"
                                    "neighbourhood: BU03920101\n"
                                    "complex: vijfhoek-3\n"
                                    "address: Kruisstraat 12\n"
                                    "rooms: 2\n"
                                    "floor_area_m2: 48\n"
                                    "rent: 612.50\n"
                                    "access: [ground_floor, lift]\n"
                                    "available_from: 2025-12-01\n";

START_TEST(test_vacancy_yaml)
{
    wz_doc_t *doc = s_doc(s_vacancy_text);
    WzVacancy *v = NULL;
    ck_assert_int_eq(wzctl_vacancy_from_doc(doc, &v, s_err, sizeof s_err), 0);
    wz_doc_destroy(&doc); /* the message owns its strings */
    ck_assert_str_eq(v->id, "PW-2025-0142");
    ck_assert_str_eq(v->municipality, "haarlem");
    ck_assert_str_eq(v->neighbourhood, "BU03920101");
    ck_assert_str_eq(v->complex, "vijfhoek-3");
    ck_assert_str_eq(v->address, "Kruisstraat 12");
    ck_assert_uint_eq(v->rooms, 2);
    ck_assert_uint_eq(v->floor_area_m2, 48);
    ck_assert_int_eq(v->rent_cents, 61250);
    ck_assert_uint_eq(v->access, 3);
    ck_assert_int_eq(v->available_from->year, 2025);
    ck_assert_int_eq(v->available_from->month, 12);
    ck_assert_str_eq(v->corporation, "");
    WZ_FREE_UNPACKED(v);
}
END_TEST

/* Replaces the line starting with prefix by line (or drops it for ""). */
static wz_doc_t *s_vacancy_with(const char *prefix, const char *line)
{
    static char text[1024];
    text[0] = '\0';
    const char *p = s_vacancy_text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p) + 1;
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            strcat(text, line);
        else
            strncat(text, p, n);
        p += n;
    }
    return s_doc(text);
}

static void s_vacancy_refused(const char *prefix, const char *line, const char *want)
{
    wz_doc_t *doc = s_vacancy_with(prefix, line);
    WzVacancy *v = NULL;
    ck_assert_int_eq(wzctl_vacancy_from_doc(doc, &v, s_err, sizeof s_err), -1);
    ck_assert_ptr_null(v);
    ck_assert_msg(strstr(s_err, want) != NULL, "error '%s' lacks '%s'", s_err, want);
    wz_doc_destroy(&doc);
}

START_TEST(test_vacancy_yaml_refused)
{
    s_vacancy_refused("rent:", "rnet: 612.50\n", "v.yaml:8: unknown key 'rnet'");
    s_vacancy_refused("rent:", "", "missing key 'rent'");
    s_vacancy_refused("rent:", "rent: 6,50\n", "v.yaml:8:");
    s_vacancy_refused("rent:", "rent: 612.505\n", "two decimals");
    s_vacancy_refused("address:", "", "missing key 'address'");
    s_vacancy_refused("address:", "address:\n", "v.yaml:5: 'address' is empty");
    s_vacancy_refused("rooms:", "rooms: two\n", "v.yaml:6:");
    s_vacancy_refused("rooms:", "rooms: -1\n", "v.yaml:6:");
    s_vacancy_refused("access:", "access: [ground_floor, stairs]\n", "unknown access 'stairs'");
    s_vacancy_refused("access:", "access: lift\n", "must be a list");
    s_vacancy_refused("available_from:", "available_from: 2025-13-01\n", "v.yaml:10:");
    s_vacancy_refused("id:", "id: [a, b]\n", "single value");
    /* access may be absent or empty */
    WzVacancy *v = NULL;
    wz_doc_t *doc = s_vacancy_with("access:", "");
    ck_assert_int_eq(wzctl_vacancy_from_doc(doc, &v, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(v->access, 0);
    WZ_FREE_UNPACKED(v);
    wz_doc_destroy(&doc);
}
END_TEST

static const char *s_candidate_text = "id: kam-0012\n"
                                      "municipality: haarlem\n"
                                      "group: beschermd_wonen\n"
                                      "household: {adults: 1, children: 2}\n"
                                      "age_band: under_23\n"
                                      "income: below_limit\n"
                                      "access_needs: [lift]\n"
                                      "acceptable_municipalities: [haarlem, velsen]\n"
                                      "excluded_neighbourhoods: [BU03920101]\n"
                                      "consent: true\n";

START_TEST(test_candidate_yaml)
{
    wz_doc_t *doc = s_doc(s_candidate_text);
    WzCandidate *c = NULL;
    ck_assert_int_eq(wzctl_candidate_from_doc(doc, &c, s_err, sizeof s_err), 0);
    wz_doc_destroy(&doc);
    ck_assert_str_eq(c->id, "kam-0012");
    ck_assert_str_eq(c->group, "beschermd_wonen");
    ck_assert_uint_eq(c->household->adults, 1);
    ck_assert_uint_eq(c->household->children, 2);
    ck_assert_int_eq(c->age_band, WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23);
    ck_assert_int_eq(c->income_class, WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT);
    ck_assert_uint_eq(c->access_needs, 2);
    ck_assert_uint_eq(c->n_acceptable_municipalities, 2);
    ck_assert_str_eq(c->acceptable_municipalities[1], "velsen");
    ck_assert_uint_eq(c->n_excluded_neighbourhoods, 1);
    ck_assert(c->consent);
    WZ_FREE_UNPACKED(c);
}
END_TEST

static void s_candidate_refused(const char *text, const char *want)
{
    wz_doc_t *doc = s_doc(text);
    WzCandidate *c = NULL;
    ck_assert_int_eq(wzctl_candidate_from_doc(doc, &c, s_err, sizeof s_err), -1);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(s_err, want) != NULL, "error '%s' lacks '%s'", s_err, want);
    wz_doc_destroy(&doc);
}

START_TEST(test_candidate_yaml_refused)
{
    const char *base = "id: k-1\nmunicipality: haarlem\ngroup: bw\nage_band: adult\n"
                       "income: below_limit\n";
    char text[2048];
    snprintf(text, sizeof text, "%shousehold: {adults: 1, pets: 2}\n", base);
    s_candidate_refused(text, "v.yaml:6: unknown key 'pets' in household");
    snprintf(text, sizeof text, "%s", base);
    s_candidate_refused(text, "missing key 'household'");
    snprintf(text, sizeof text, "%shousehold: 1\n", base);
    s_candidate_refused(text, "household must be a map");
    snprintf(text, sizeof text, "%shousehold: {children: 1}\n", base);
    s_candidate_refused(text, "missing key 'adults'");
    snprintf(text, sizeof text, "%shousehold: {adults: 1}\nconsent: maybe\n", base);
    s_candidate_refused(text, "v.yaml:7:");
    snprintf(text, sizeof text, "%shousehold: {adults: 1}\nname: Jan\n", base);
    s_candidate_refused(text, "v.yaml:7: unknown key 'name'");
    snprintf(text, sizeof text, "%shousehold: {adults: 1}\nacceptable_municipalities: haarlem\n",
             base);
    s_candidate_refused(text, "must be a list");
    snprintf(text, sizeof text, "%shousehold: {adults: 1}\nexcluded_neighbourhoods: [", base);
    for (int i = 0; i <= WZ_MAX_LIST; i++)
        strcat(text, i ? ", BU1" : "BU1");
    strcat(text, "]\n");
    s_candidate_refused(text, "at most 32");
    s_candidate_refused("id: k-1\nmunicipality: haarlem\ngroup: bw\nage_band: old\n"
                        "income: below_limit\nhousehold: {adults: 1}\n",
                        "v.yaml:4: age_band must be under_23, adult or pension");
    s_candidate_refused("id: k-1\nmunicipality: haarlem\ngroup: bw\nage_band: adult\n"
                        "income: 30000\nhousehold: {adults: 1}\n",
                        "v.yaml:5: income must be below_limit or above_limit");

    /* Without consent the file parses; validation refuses it with its reason. */
    snprintf(text, sizeof text, "%shousehold: {adults: 1}\n", base);
    wz_doc_t *doc = s_doc(text);
    WzCandidate *c = NULL;
    ck_assert_int_eq(wzctl_candidate_from_doc(doc, &c, s_err, sizeof s_err), 0);
    ck_assert(!c->consent);
    ck_assert_uint_eq(c->household->children, 0);
    WZ_FREE_UNPACKED(c);
    wz_doc_destroy(&doc);
}
END_TEST


START_TEST(test_matching_commands)
{
    wzctl_args_t a;
    ck_assert_int_eq(s_parse(&a, "explain", "PW-1/1", NULL), 0);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_EXPLAIN);
    ck_assert(!a.replay);
    ck_assert_int_eq(s_parse(&a, "explain", "PW-1/1", "--replay", NULL), 0);
    ck_assert(a.replay);
    ck_assert_int_eq(s_parse(&a, "explain", "PW-1/1", "--replay=yes", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "explain", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "confirm", "PW-1/1", "viewing", "ok", NULL), 0);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_CONFIRM);
    ck_assert_str_eq(a.pos[1], "viewing");
    ck_assert_int_eq(
        s_parse(&a, "confirm", "PW-1/1", "viewing", "no", "--reason", "corporation_declines", NULL),
        0);
    ck_assert_str_eq(a.reason, "corporation_declines");
    ck_assert_int_eq(s_parse(&a, "confirm", "PW-1/1", "viewing", NULL), -1);
    ERR_HAS("usage: wzctl confirm PROPOSAL STEP ok|no");
    ck_assert_int_eq(s_parse(&a, "confirm", "PW-1/1", "viewing", "maybe", NULL), -1);
    ERR_HAS("say ok or no");
    ck_assert_int_eq(s_parse(&a, "nominate", "DA-1", "ldh-0044", NULL), 0);
    ck_assert_int_eq(a.cmd, WZCTL_CMD_NOMINATE);
    ck_assert_int_eq(s_parse(&a, "nominate", "DA-1", NULL), -1);
    ck_assert_int_eq(s_parse(&a, "grant-urgency", "C", "--extend", NULL), 0);
    ck_assert(a.extend);
    ck_assert_int_eq(s_parse(&a, "answer", "P/1", "accept", "--extend", NULL), -1);
}
END_TEST

START_TEST(test_candidate_yaml_matching_fields)
{
    char text[1024];
    snprintf(text, sizeof text,
             "%scare_location: BU03920101\nmax_distance_km: 7\nparked_until: 2026-02-01\n"
             "park_reason: short clinic stay\n",
             s_candidate_text);
    wz_doc_t *doc = s_doc(text);
    WzCandidate *c = NULL;
    ck_assert_msg(wzctl_candidate_from_doc(doc, &c, s_err, sizeof s_err) == 0, "%s", s_err);
    wz_doc_destroy(&doc);
    ck_assert_str_eq(c->care_location, "BU03920101");
    ck_assert_uint_eq(c->max_distance_km, 7);
    ck_assert_int_eq(c->parked_until->year, 2026);
    ck_assert_int_eq(c->parked_until->month, 2);
    ck_assert_str_eq(c->park_reason, "short clinic stay");
    WZ_FREE_UNPACKED(c);
    snprintf(text, sizeof text, "%sparked_until: 2026-02-30\n", s_candidate_text);
    s_candidate_refused(text, "2026-02-30");
    snprintf(text, sizeof text, "%sscheme: x\n", s_candidate_text);
    s_candidate_refused(text, "scheme");

    snprintf(text, sizeof text, "%sscheme: zkij-uitstroom\nstairwell: \"12\"\n", s_vacancy_text);
    doc = s_doc(text);
    WzVacancy *v = NULL;
    ck_assert_msg(wzctl_vacancy_from_doc(doc, &v, s_err, sizeof s_err) == 0, "%s", s_err);
    wz_doc_destroy(&doc);
    ck_assert_str_eq(v->scheme, "zkij-uitstroom");
    ck_assert_str_eq(v->stairwell, "12");
    WZ_FREE_UNPACKED(v);
}
END_TEST

START_TEST(test_field_line)
{
    wz_doc_t *doc = s_doc(s_vacancy_text);
    ck_assert_int_eq(wzctl_field_line(doc, "publish_vacancy.rent_cents"), 8);
    ck_assert_int_eq(wzctl_field_line(doc, "publish_vacancy.rooms"), 6);
    ck_assert_int_eq(wzctl_field_line(doc, "publish_vacancy.state"), 0);
    ck_assert_int_eq(wzctl_field_line(doc, "request_id"), 0);
    ck_assert_int_eq(wzctl_field_line(NULL, "publish_vacancy.rooms"), 0);
    wz_doc_destroy(&doc);
    doc = s_doc(s_candidate_text);
    ck_assert_int_eq(wzctl_field_line(doc, "register_candidate.household.children"), 4);
    ck_assert_int_eq(wzctl_field_line(doc, "register_candidate.income_class"), 6);
    wz_doc_destroy(&doc);
}
END_TEST

/* The shipped examples parse and pass validation against the shipped policy. */
START_TEST(test_examples_valid)
{
    wz_policy_t *policy =
        wz_policy_load(WZ_SOURCE_DIR "/config/policy.yaml", NULL, false, s_err, sizeof s_err);
    ck_assert_msg(policy != NULL, "%s", s_err);
    const struct {
        const char *file, *party;
        bool vacancy;
    } examples[] = {
        {"vacancy.yaml", "pre-wonen", true},
        {"vacancy-velsen.yaml", "ymere", true},
        {"candidate.yaml", "ribw-kam", false},
        {"candidate-family.yaml", "dock", false},
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/config/examples/%s", WZ_SOURCE_DIR, examples[i].file);
        wz_doc_t *doc = wz_doc_load(path, s_err, sizeof s_err);
        ck_assert_msg(doc != NULL, "%s", s_err);
        WzRequest req = WOONZORG__V1__REQUEST__INIT;
        req.request_id = "r-1";
        WzVacancy *v = NULL;
        WzCandidate *c = NULL;
        if (examples[i].vacancy) {
            ck_assert_msg(wzctl_vacancy_from_doc(doc, &v, s_err, sizeof s_err) == 0, "%s", s_err);
            req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
            req.publish_vacancy = v;
        } else {
            ck_assert_msg(wzctl_candidate_from_doc(doc, &c, s_err, sizeof s_err) == 0, "%s", s_err);
            req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
            req.register_candidate = c;
        }
        const wz_party_t *actor = wz_policy_party(policy, examples[i].party);
        ck_assert_ptr_nonnull(actor);
        wz_verdict_t verdict;
        ck_assert_msg(wz_validate_request(&req, policy, actor, &verdict) == 0, "%s: %s",
                      examples[i].file, verdict.message);
        WZ_FREE_UNPACKED(v);
        WZ_FREE_UNPACKED(c);
        wz_doc_destroy(&doc);
    }
    wz_policy_destroy(&policy);
}
END_TEST

/* --- JSON ----------------------------------------------------------------------------- */

START_TEST(test_json_escaping)
{
    wzctl_json_t j;
    wzctl_json_init(&j);
    wzctl_json_begin(&j, NULL, false);
    wzctl_json_str(&j, "q", "say \"hi\"\\ now");
    wzctl_json_str(&j, "ctl", "a\nb\tc\r\x01\x7f");
    wzctl_json_str(&j, "utf8", "caf\xc3\xa9 \xe2\x86\x92");
    wzctl_json_str(&j, "bad", "x\xff\xc3y");
    wzctl_json_str(&j, "null", NULL);
    wzctl_json_int(&j, "neg", -42);
    wzctl_json_uint(&j, "big", 18446744073709551615ULL);
    wzctl_json_bool(&j, "t", true);
    wzctl_json_begin(&j, "list", true);
    wzctl_json_int(&j, NULL, 1);
    wzctl_json_begin(&j, NULL, false);
    wzctl_json_end(&j, false);
    wzctl_json_str(&j, NULL, "s");
    wzctl_json_end(&j, true);
    wzctl_json_end(&j, false);
    ck_assert_str_eq(wzctl_json_text(&j),
                     "{\"q\":\"say \\\"hi\\\"\\\\ now\","
                     "\"ctl\":\"a\\nb\\tc\\r\\u0001\\u007f\","
                     "\"utf8\":\"caf\xc3\xa9 \xe2\x86\x92\","
                     "\"bad\":\"x\\ufffd\\ufffdy\","
                     "\"null\":null,\"neg\":-42,\"big\":18446744073709551615,\"t\":true,"
                     "\"list\":[1,{},\"s\"]}");
    wzctl_json_free(&j);
    wzctl_json_init(&j);
    ck_assert_str_eq(wzctl_json_text(&j), "");
    wzctl_json_free(&j);
}
END_TEST

START_TEST(test_json_messages)
{
    WzReply r = WOONZORG__V1__REPLY__INIT;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    WzDate d = WOONZORG__V1__DATE__INIT;
    r.request_id = "r1";
    r.code = WOONZORG__V1__CODE__CODE_OK;
    r.id = "PW-1";
    r.result_case = WOONZORG__V1__REPLY__RESULT_VACANCY;
    r.vacancy = &v;
    v.id = "PW-1";
    v.state = WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_OFFERED;
    v.rent_cents = 61250;
    d.year = 2025;
    d.month = 12;
    d.day = 1;
    v.available_from = &d;
    wzctl_json_t j;
    wzctl_json_init(&j);
    wzctl_json_message(&j, NULL, &r.base);
    const char *t = wzctl_json_text(&j);
    ck_assert_ptr_nonnull(strstr(t, "\"code\":\"OK\""));
    ck_assert_ptr_nonnull(strstr(t, "\"vacancy\":{\"id\":\"PW-1\""));
    ck_assert_ptr_nonnull(strstr(t, "\"state\":\"OFFERED\""));
    ck_assert_ptr_nonnull(strstr(t, "\"rent_cents\":61250"));
    ck_assert_ptr_nonnull(strstr(t, "\"available_from\":\"2025-12-01\""));
    ck_assert_ptr_null(strstr(t, "\"candidate\"")); /* other oneof members left out */
    ck_assert_ptr_null(strstr(t, "\"audit\""));
    wzctl_json_free(&j);

    /* an event names its type; repeated fields and bytes */
    WzDelivery del = WOONZORG__V1__DELIVERY__INIT;
    WzEvent e = WOONZORG__V1__EVENT__INIT;
    Woonzorg__V1__VacancyReleased rel = WOONZORG__V1__VACANCY_RELEASED__INIT;
    WzExplanation x = WOONZORG__V1__EXPLANATION__INIT;
    WzFilterCount f1 = WOONZORG__V1__FILTER_COUNT__INIT, f2 = WOONZORG__V1__FILTER_COUNT__INIT;
    WzFilterCount *fs[] = {&f1, &f2};
    f1.rule = "rent";
    f1.removed = 3;
    f2.rule = "access";
    x.filters = fs;
    x.n_filters = 2;
    rel.explanation = &x;
    e.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_RELEASED;
    e.vacancy_released = &rel;
    del.seq = 12;
    del.event = &e;
    wzctl_json_init(&j);
    wzctl_json_message(&j, NULL, &del.base);
    t = wzctl_json_text(&j);
    ck_assert_ptr_nonnull(strstr(t, "{\"seq\":12,"));
    ck_assert_ptr_nonnull(strstr(t, "\"event\":{\"type\":\"vacancy_released\""));
    ck_assert_ptr_nonnull(strstr(
        t, "\"filters\":[{\"rule\":\"rent\",\"removed\":3},{\"rule\":\"access\",\"removed\":0}]"));
    wzctl_json_free(&j);

    WzAuditEntry a = WOONZORG__V1__AUDIT_ENTRY__INIT;
    uint8_t h[3] = {0x00, 0xab, 0xff};
    a.hash.data = h;
    a.hash.len = 3;
    wzctl_json_init(&j);
    wzctl_json_message(&j, NULL, &a.base);
    ck_assert_ptr_nonnull(strstr(wzctl_json_text(&j), "\"hash\":\"00abff\""));
    ck_assert_ptr_nonnull(strstr(wzctl_json_text(&j), "\"prev_hash\":\"\""));
    wzctl_json_free(&j);
}
END_TEST

/* --- readable output ---------------------------------------------------------------- */

typedef struct {
    char *text;
    size_t len;
    FILE *f;
} s_out_t;

static FILE *s_open(s_out_t *o)
{
    o->text = NULL;
    o->f = open_memstream(&o->text, &o->len);
    return o->f;
}

static const char *s_close(s_out_t *o)
{
    fclose(o->f);
    return o->text;
}

START_TEST(test_print_error)
{
    s_out_t o;
    wzctl_print_error(s_open(&o), WOONZORG__V1__CODE__CODE_FORBIDDEN,
                      "publish_vacancy.municipality",
                      "publish_vacancy.municipality: municipality 'almere' belongs to region "
                      "'almere'",
                      NULL);
    ck_assert_str_eq(s_close(&o), "error: FORBIDDEN (publish_vacancy.municipality): "
                                  "municipality 'almere' belongs to region 'almere'\n");
    free(o.text);
    wzctl_print_error(s_open(&o), WOONZORG__V1__CODE__CODE_UNAVAILABLE, "", "storage away",
                      "v.yaml:3");
    ck_assert_str_eq(s_close(&o), "error: UNAVAILABLE: storage away (v.yaml:3)\n");
    free(o.text);
}
END_TEST

START_TEST(test_print_ok)
{
    wzctl_args_t a;
    WzReply r = WOONZORG__V1__REPLY__INIT;
    s_out_t o;
    ck_assert_int_eq(s_parse(&a, "publish", "v.yaml", NULL), 0);
    r.id = "PW-2025-0142";
    wzctl_print_ok(s_open(&o), a.cmd, &a, &r);
    ck_assert_str_eq(s_close(&o), "OK  vacancy PW-2025-0142 published\n");
    free(o.text);
    ck_assert_int_eq(s_parse(&a, "answer", "PW-1/1", "accept", NULL), 0);
    r.id = "";
    wzctl_print_ok(s_open(&o), a.cmd, &a, &r);
    ck_assert_str_eq(s_close(&o), "OK  proposal PW-1/1 accepted\n");
    free(o.text);
    ck_assert_int_eq(s_parse(&a, "signed", "PW-1", "--contract", "omklap", NULL), 0);
    wzctl_print_ok(s_open(&o), a.cmd, &a, &r);
    ck_assert_str_eq(s_close(&o), "OK  lease signed for vacancy PW-1 (omklap)\n");
    free(o.text);
    r.message = "lease of vacancy PW-1 signed";
    wzctl_print_ok(s_open(&o), a.cmd, &a, &r);
    ck_assert_str_eq(s_close(&o), "OK  lease of vacancy PW-1 signed\n");
    free(o.text);
}
END_TEST

START_TEST(test_print_delivery)
{
    setenv("TZ", "UTC", 1);
    tzset();
    WzDelivery d = WOONZORG__V1__DELIVERY__INIT;
    WzEvent e = WOONZORG__V1__EVENT__INIT;
    Woonzorg__V1__ProposalCreated pc = WOONZORG__V1__PROPOSAL_CREATED__INIT;
    WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
    WzExplanation x = WOONZORG__V1__EXPLANATION__INIT;
    d.seq = 12;
    d.reason = "proposal";
    d.event = &e;
    e.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED;
    e.proposal_created = &pc;
    pc.proposal = &p;
    p.id = "PW-2025-0142/1";
    p.candidate_id = "kam-0012";
    p.deadline_ms = 1764954000000LL; /* 2025-12-05 17:00 UTC */
    p.explanation = &x;
    x.rank = 1;
    x.eligible = 3;
    x.summary = "kam-0012 waited longest";
    s_out_t o;
    wzctl_print_delivery(s_open(&o), &d);
    const char *t = s_close(&o);
    ck_assert_str_eq(t, "#12 proposal     proposal created  PW-2025-0142/1 \xe2\x86\x92 candidate "
                        "kam-0012, answer before 2025-12-05 17:00 (rank 1 of 3 eligible)\n"
                        "    kam-0012 waited longest\n");
    free(o.text);
    /* A corporation's view of it (wz_minimise): no candidate, no ranking. */
    p.candidate_id = "";
    x.rank = 0;
    x.eligible = 0;
    x.summary = "";
    wzctl_print_delivery(s_open(&o), &d);
    t = s_close(&o);
    ck_assert_str_eq(t, "#12 proposal     proposal created  PW-2025-0142/1 \xe2\x86\x92 candidate "
                        "not shown, answer before 2025-12-05 17:00 (ranking not shown)\n");
    free(o.text);

    Woonzorg__V1__VacancyWithdrawn w = WOONZORG__V1__VACANCY_WITHDRAWN__INIT;
    w.vacancy_id = "PW-9";
    w.corporation = "ymere";
    e.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_WITHDRAWN;
    e.vacancy_withdrawn = &w;
    d.seq = 13;
    d.reason = "information";
    wzctl_print_delivery(s_open(&o), &d);
    ck_assert_str_eq(s_close(&o), "#13 information  vacancy withdrawn  PW-9 (ymere)\n");
    free(o.text);
}
END_TEST

START_TEST(test_print_verdict)
{
    WzReplayVerdict v = WOONZORG__V1__REPLAY_VERDICT__INIT;
    WzExplanation then = WOONZORG__V1__EXPLANATION__INIT, again = WOONZORG__V1__EXPLANATION__INIT;
    WzFilterCount f1[2] = {WOONZORG__V1__FILTER_COUNT__INIT, WOONZORG__V1__FILTER_COUNT__INIT};
    WzFilterCount f2[2] = {WOONZORG__V1__FILTER_COUNT__INIT, WOONZORG__V1__FILTER_COUNT__INIT};
    WzFilterCount *p1[2] = {&f1[0], &f1[1]}, *p2[2] = {&f2[0], &f2[1]};
    WzDate on = WOONZORG__V1__DATE__INIT;
    on.year = 2025, on.month = 6, on.day = 2;
    f1[0].rule = f2[0].rule = "status";
    f1[1].rule = f2[1].rule = "household";
    f1[0].removed = f2[0].removed = 2;
    f1[1].removed = 3;
    then.filters = p1;
    again.filters = p2;
    then.n_filters = again.n_filters = 2;
    then.considered = again.considered = 6;
    then.eligible = 1;
    v.decision = "PW-1/1";
    v.policy_version = v.replayed_under = "2025.1";
    v.format = 2;
    v.walked = 2;
    v.buckets = 4;
    v.inactive = 2;
    v.decided_on = &on;
    v.stored = &then;
    v.replayed = &again;
    v.outcome = WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_DIFFERENT;
    v.reason = "rule household removed 3 in the decision, 0 in the replay";
    s_out_t o;
    wzctl_print_verdict(s_open(&o), &v);
    ck_assert_str_eq(s_close(&o),
                     "replay          PW-1/1: 2 candidates walked, 4 buckets, 2 not active, 0 "
                     "proposed before\n"
                     "policy          decided on 2025-06-02 under policy 2025.1, replayed under "
                     "policy 2025.1\n"
                     "result          DIFFERENT from the stored decision: rule household removed "
                     "3 in the decision, 0 in the replay\n"
                     "replayed        6 considered, 0 eligible, 0 not examined (decision: 6, 1, 0)\n"
                     "rules (removed in the decision / in the replay):\n"
                     "  status                  2       2\n"
                     "  household               3       0  <- differs\n");
    free(o.text);
    /* Cannot replay: the reason, no counts. */
    v.outcome = WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_CANNOT_REPLAY;
    v.reason = "candidate K-1's data was erased (retention period ended or consent withdrawn)";
    v.replayed = NULL;
    wzctl_print_verdict(s_open(&o), &v);
    const char *t = s_close(&o);
    ck_assert_ptr_nonnull(strstr(t, "result          CANNOT REPLAY: candidate K-1's data was "
                                    "erased (retention period ended or consent withdrawn)\n"));
    ck_assert_ptr_null(strstr(t, "rules"));
    free(o.text);
    v.outcome = WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_SAME;
    wzctl_print_verdict(s_open(&o), &v);
    ck_assert_ptr_nonnull(strstr(s_close(&o), "result          the same decision\n"));
    free(o.text);
}
END_TEST

START_TEST(test_print_status)
{
    WzReply r = WOONZORG__V1__REPLY__INIT;
    WzCandidate c = WOONZORG__V1__CANDIDATE__INIT;
    WzHousehold h = WOONZORG__V1__HOUSEHOLD__INIT;
    char *acc[] = {"haarlem", "velsen"};
    c.id = "kam-0012";
    c.state = WOONZORG__V1__CANDIDATE_STATE__CANDIDATE_STATE_ACTIVE;
    c.household = &h;
    h.adults = 1;
    c.acceptable_municipalities = acc;
    c.n_acceptable_municipalities = 2;
    r.result_case = WOONZORG__V1__REPLY__RESULT_CANDIDATE;
    r.candidate = &c;
    s_out_t o;
    wzctl_print_status(s_open(&o), &r);
    const char *t = s_close(&o);
    ck_assert_ptr_nonnull(strstr(t, "candidate       kam-0012\n"));
    ck_assert_ptr_nonnull(strstr(t, "state           active\n"));
    ck_assert_ptr_nonnull(strstr(t, "acceptable      haarlem, velsen\n"));
    ck_assert_ptr_nonnull(strstr(t, "household       1 adult(s), 0 child(ren)\n"));
    free(o.text);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("wzctl", 10,
                             (const TTest *const[]){test_args_defaults_and_env,
                                                    test_args_errors,
                                                    test_args_commands,
                                                    test_usage_complete,
                                                    test_names,
                                                    test_vacancy_yaml,
                                                    test_vacancy_yaml_refused,
                                                    test_candidate_yaml,
                                                    test_candidate_yaml_refused,
                                                    test_field_line,
                                                    test_matching_commands,
                                                    test_candidate_yaml_matching_fields,
                                                    test_examples_valid,
                                                    test_json_escaping,
                                                    test_json_messages,
                                                    test_print_error,
                                                    test_print_ok,
                                                    test_print_delivery,
                                                    test_print_status,
                                                    test_print_verdict,
                                                    NULL});
    return wz_test_run("wzctl", (TCase *const[]){tc, NULL});
}
