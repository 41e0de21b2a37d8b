/* Unit tests of wz_policy: the shipped and the test policies, lookups, keys,
 * deadlines, and a long list of broken policies that must each be refused
 * with the right file:line and reason. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_keys.h"
#include "wz_policy.h"
#include "wz_testmain.h"
#include "wz_util.h"

static char s_dir[64];
static char s_path[128];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/wz_test_policy_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_path, sizeof s_path, "%s/policy.yaml", s_dir);
}

/* Removes the temp dir and the key files tests put in it. */
static void s_teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s_dir);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *s_read(const char *path)
{
    char *text = wz_read_file(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    return text;
}

/* text with every `from` replaced by `to`; the caller frees. */
static char *s_replace(const char *text, const char *from, const char *to)
{
    size_t count = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + lf, from))
        count++;
    ck_assert_msg(count > 0, "'%s' not in the text", from);
    char *out = malloc(strlen(text) + count * lt + 1), *o = out;
    ck_assert_ptr_nonnull(out);
    for (const char *p = text;;) {
        const char *hit = strstr(p, from);
        size_t chunk = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, chunk);
        o += chunk;
        if (!hit)
            break;
        memcpy(o, to, lt);
        o += lt;
        p = hit + lf;
    }
    *o = '\0';
    return out;
}

/* The line numbers in the cases below refer to this text. */
static const char *s_base =
    "version: \"t\"\n"                     /* 1 */
    "groups: [beschermd_wonen, dakloos]\n" /* 2 */
    "rent_limits:\n"                       /* 3 */
    "  - {year: 2024, max_rent_1_2: 650.43, max_rent_3_plus: 697.07, max_rent_under_23: 454.47, "
    "social_rent_limit: 879.66}\n" /* 4 */
    "  - {year: 2025, max_rent_1_2: 682.96, max_rent_3_plus: 731.93, max_rent_under_23: 477.20, "
    "social_rent_limit: 900.07}\n"                                            /* 5 */
    "occupancy:\n"                                                            /* 6 */
    "  - {persons: 1, min_rooms: 1, min_area_m2: 18}\n"                       /* 7 */
    "  - {persons: 2, min_rooms: 2, min_area_m2: 30}\n"                       /* 8 */
    "regions:\n"                                                              /* 9 */
    "  - id: zkij\n"                                                          /* 10 */
    "    name: Zuid-Kennemerland\n"                                           /* 11 */
    "    answer_working_days: 5\n"                                            /* 12 */
    "    municipalities:\n"                                                   /* 13 */
    "      - id: haarlem\n"                                                   /* 14 */
    "        name: Haarlem\n"                                                 /* 15 */
    "        cbs: GM0392\n"                                                   /* 16 */
    "        neighbourhoods:\n"                                               /* 17 */
    "          - {code: BU03920101, name: Vijfhoek, lat: 52.38, lon: 4.63}\n" /* 18 */
    "          - {code: BU03920102, name: Centrum, lat: 52.38, lon: 4.64}\n"  /* 19 */
    "      - id: velsen\n"                                                    /* 20 */
    "        name: Velsen\n"                                                  /* 21 */
    "        cbs: GM0453\n"                                                   /* 22 */
    "        neighbourhoods:\n"                                               /* 23 */
    "          - {code: BU04530102, name: Zeewijk, lat: 52.45, lon: 4.60}\n"  /* 24 */
    "parties:\n"                                                              /* 25 */
    "  - {id: pre-wonen, name: Pré Wonen, role: corporation, region: zkij}\n" /* 26 */
    "  - {id: ribw-kam, name: RIBW, role: care_provider, region: zkij}\n"     /* 27 */
    "  - {id: gem-haarlem, name: Gemeente Haarlem, role: municipality, region: zkij, "
    "municipality: haarlem}\n"; /* 28 */

/* Loads text from the temp file; keys optional. */
static wz_policy_t *s_load_text(const char *text, char *err, size_t errlen)
{
    s_write(s_path, text);
    return wz_policy_load(s_path, NULL, false, err, errlen);
}

START_TEST(test_base_policy_loads)
{
    char err[512];
    wz_policy_t *p = s_load_text(s_base, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_str_eq(p->version, "t");
    ck_assert_uint_eq(p->n_regions, 1);
    ck_assert_uint_eq(p->regions[0].n_municipalities, 2);
    ck_assert_int_eq(p->regions[0].answer_seconds, 0);
    ck_assert_uint_eq(p->n_parties, 3);
    ck_assert_str_eq(p->parties[0].name, "Pré Wonen");
    ck_assert_str_eq(p->parties[0].public_key, "");
    wz_policy_destroy(&p);
    ck_assert_ptr_null(p);
    wz_policy_destroy(&p);
}
END_TEST

typedef struct {
    const char *from, *to;
    int line;
    const char *reason;
} s_case_t;

START_TEST(test_bad_policies)
{
    char key40[41], key40b[41], secret[41];
    ck_assert_int_eq(zmq_curve_keypair(key40, secret), 0);
    ck_assert_int_eq(zmq_curve_keypair(key40b, secret), 0);
    char same_keys_from[] = "region: zkij}\n  - {id: ribw-kam, name: RIBW, role: care_provider, "
                            "region: zkij}";
    char same_keys_to[512];
    snprintf(same_keys_to, sizeof same_keys_to,
             "region: zkij, curve_public_key: \"%s\"}\n  - {id: ribw-kam, name: RIBW, role: "
             "care_provider, region: zkij, curve_public_key: \"%s\"}",
             key40, key40);
    char bad_z85[] = "region: zkij}\n  - {id: ribw-kam";
    char bad_z85_to[256];
    snprintf(bad_z85_to, sizeof bad_z85_to,
             "region: zkij, curve_public_key: \"%.39s~\"}\n  - {id: ribw-kam", key40b);
    char long_id[] = "id: ribw-kam-with-a-very-long-identifier-of-48-chars";

    const s_case_t cases[] = {
        {"parties:\n",
         "  - id: zkij\n    name: X\n    answer_working_days: 5\n    municipalities: [{id: a, "
         "name: A, cbs: GM0001, neighbourhoods: [{code: BU00010001, name: n, lat: 1, lon: 1}]}]\n"
         "parties:\n",
         25, "region id 'zkij' is listed twice"},
        {"id: velsen", "id: haarlem", 20,
         "municipality id 'haarlem' is listed twice in region 'zkij'"},
        {"BU03920102", "BU03920101", 19, "neighbourhood code 'BU03920101' is listed twice"},
        {"BU04530102", "BU03920109", 24,
         "neighbourhood code 'BU03920109' is not a CBS buurt code of GM0453 (BU0453 + 4 digits)"},
        {"BU04530102", "BU0453010", 24,
         "neighbourhood code 'BU0453010' is not a CBS buurt code of GM0453 (BU0453 + 4 digits)"},
        {"GM0453", "G0453", 22,
         "municipality 'velsen': cbs 'G0453' is not a CBS gemeente code (GM + 4 digits)"},
        {"cbs: GM0453", "cbs: GM0392", 22, "CBS code GM0392 is used by two municipalities"},
        {"id: ribw-kam", "id: pre-wonen", 27, "party id 'pre-wonen' is listed twice"},
        {"id: ribw-kam", "id: audit", 27,
         "party id 'audit' is reserved: it is the name of a service"},
        {"id: ribw-kam", "id: intake", 27,
         "party id 'intake' is reserved: it is the name of a service"},
        {"id: ribw-kam", "id: -ribw", 27,
         "party id '-ribw' is not valid: use 1..47 of A-Z a-z 0-9 . _ -, not starting with . or -"},
        {"id: ribw-kam", "id: \"ribw kam\"", 27,
         "party id 'ribw kam' is not valid: use 1..47 of A-Z a-z 0-9 . _ -, not starting with . "
         "or -"},
        {"id: ribw-kam", long_id, 27, "id: value is longer than 47 characters"},
        {"role: care_provider, region: zkij}", "role: care_provider, region: nowhere}", 27,
         "party 'ribw-kam': unknown region 'nowhere'"},
        {"municipality: haarlem}", "municipality: bloemendaal}", 28,
         "party 'gem-haarlem': region 'zkij' has no municipality 'bloemendaal'"},
        {", municipality: haarlem}", "}", 28,
         "party 'gem-haarlem' has role municipality but names no 'municipality'"},
        {"municipality: haarlem}\n",
         "municipality: haarlem}\n  - {id: gem-haarlem2, name: G2, role: municipality, region: "
         "zkij, municipality: haarlem}\n",
         29, "parties 'gem-haarlem' and 'gem-haarlem2' both act for municipality 'haarlem'"},
        {"role: care_provider", "role: zorg", 27,
         "party 'ribw-kam': unknown role 'zorg' (corporation, care_provider or municipality)"},
        {"role: care_provider, region: zkij}",
         "role: care_provider, region: zkij, municipality: haarlem}", 27,
         "party 'ribw-kam': only a municipality party names a 'municipality'"},
        {"name: RIBW,", "name: RIBW, rol: x,", 27, "unknown key 'rol' (did you mean 'role'?)"},
        {"name: RIBW,", "name: \"\",", 27, "party 'ribw-kam' has an empty name"},
        {"municipality: haarlem}\n", "municipality: haarlem}\nextra: 1\n", 29,
         "unknown key 'extra'"},
        {"    answer_working_days: 5\n", "    answer_working_days: 5\n    answer_days: 3\n", 13,
         "unknown key 'answer_days'"},
        {"    answer_working_days: 5\n", "    answer_working_days: 0\n", 12,
         "answer_working_days: 0 is out of range 1..60"},
        {"    answer_working_days: 5\n", "    answer_working_days: 5\n    answer_seconds: -1\n", 13,
         "answer_seconds: -1 is out of range 0..2592000"},
        {"    name: Zuid-Kennemerland\n", "", 10, "missing required key 'name'"},
        {"    municipalities:\n", "    municipalities: []\n    old:\n", 14, "unknown key 'old'"},
        {"[beschermd_wonen, dakloos]", "[dakloos, dakloos]", 2, "group 'dakloos' is listed twice"},
        {"[beschermd_wonen, dakloos]", "dakloos", 2, "'groups' must be a list of target groups"},
        {"[beschermd_wonen, dakloos]", "[]", 2, "'groups' must list at least one of target groups"},
        {"[beschermd_wonen, dakloos]", "[beschermd_wonen, \"dak loos\"]", 2,
         "group 'dak loos' is not valid: use 1..47 of A-Z a-z 0-9 . _ -"},
        {"[beschermd_wonen, dakloos]", "[beschermd_wonen, [x]]", 2,
         "each group must be a single name"},
        {"year: 2025", "year: 2023", 5,
         "rent_limits: year 2023 must come after 2024 (one row per year, in order)"},
        {"year: 2025", "year: 2024", 5,
         "rent_limits: year 2024 must come after 2024 (one row per year, in order)"},
        {"682.96", "682.961", 5, "max_rent_1_2: amount '682.961' has more than two decimals"},
        {"682.96", "-682.96", 5, "max_rent_1_2: amount '-682.96' is negative"},
        {"682.96", "0", 5, "max_rent_1_2: amount 0 is out of range 0.01..5000.00"},
        {"682.96", "zes", 5, "max_rent_1_2: expected an amount in euros like 682.96, got 'zes'"},
        {"max_rent_under_23: 477.20", "max_rent_under_23: 777.20", 5,
         "rent_limits 2025: expected max_rent_under_23 <= max_rent_1_2 <= max_rent_3_plus <= "
         "social_rent_limit"},
        {", social_rent_limit: 900.07", "", 5, "missing required key 'social_rent_limit'"},
        {"persons: 1,", "persons: 2,", 7, "occupancy must start at persons: 1 (got 2)"},
        {"persons: 2,", "persons: 1,", 8,
         "occupancy: persons 1 must come after 1 (strictly increasing)"},
        {"lat: 52.45", "lat: 152.45", 24, "lat: 152.45 is out of range -90..90"},
        {"lon: 4.60", "lon: east", 24, "lon: expected a decimal number, got 'east'"},
        {"name: Haarlem", "name: &h Haarlem", 15, "anchors (&h) are not allowed"},
        {"id: zkij\n", "id: \"zk ij\"\n", 10,
         "region id 'zk ij' is not valid: use 1..47 of A-Z a-z 0-9 . _ -, not starting with . or "
         "-"},
        {"version: \"t\"", "version: \"\"", 1, "version must not be empty"},
        {"name: Velsen", "name: \"\"", 21, "municipality 'velsen' has an empty name"},
        {"name: Vijfhoek,", "name: \"\",", 18, "neighbourhood 'BU03920101' has an empty name"},
        {"          - {code: BU04530102, name: Zeewijk, lat: 52.45, lon: 4.60}\n",
         "          - BU04530102\n", 24, "each entry of 'neighbourhoods' must be a map"},
        {"        neighbourhoods:\n          - {code: BU04530102, name: Zeewijk, lat: 52.45, lon: "
         "4.60}\n",
         "        neighbourhoods: BU04530102\n", 23,
         "'neighbourhoods' must be a list of neighbourhoods"},
        {"region: zkij}\n  - {id: ribw-kam",
         "region: zkij, curve_public_key: abc}\n  - {id: ribw-kam", 26,
         "party 'pre-wonen': curve_public_key must be 40 characters of Z85 (a CURVE public key), "
         "got 3 characters"},
        {bad_z85, bad_z85_to, 26,
         "party 'pre-wonen': curve_public_key must be 40 characters of Z85 (a CURVE public key), "
         "got 40 characters that are not Z85"},
        {same_keys_from, same_keys_to, 27,
         "parties 'pre-wonen' and 'ribw-kam' have the same CURVE public key"},
        {"version: \"t\"\n", "version: \"t\"\n---\n", 2, "only one YAML document is allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = s_replace(s_base, cases[i].from, cases[i].to);
        char err[512] = "";
        wz_policy_t *p = s_load_text(text, err, sizeof err);
        char expected[768];
        snprintf(expected, sizeof expected, "%s:%d: %s", s_path, cases[i].line, cases[i].reason);
        ck_assert_msg(p == NULL, "case %zu accepted:\n%s", i, text);
        ck_assert_msg(strcmp(err, expected) == 0, "case %zu\n  got      '%s'\n  expected '%s'", i,
                      err, expected);
        free(text);
    }
}
END_TEST


/* s_base with a scheme, holidays and decline reasons (lines 29..). */
static const char *s_scheme_tail =
    "holidays: [2025-12-25, 2025-12-26]\n"                                      /* 29 */
    "decline_reasons:\n"                                                        /* 30 */
    "  - {id: client_refuses, text: refuses, refusal: true}\n"                  /* 31 */
    "  - {id: unsuitable, text: unsuitable, refusal: false}\n"                  /* 32 */
    "schemes:\n"                                                                /* 33 */
    "  - id: pact\n"                                                            /* 34 */
    "    name: Pact\n"                                                          /* 35 */
    "    region: zkij\n"                                                        /* 36 */
    "    period: {from: 2024-10-08, to: 2028-12-31}\n"                          /* 37 */
    "    groups: [beschermd_wonen]\n"                                           /* 38 */
    "    corporations: [pre-wonen]\n"                                           /* 39 */
    "    care_providers: [ribw-kam]\n"                                          /* 40 */
    "    caps: [{year: 2025, dwellings: 10}]\n"                                 /* 41 */
    "    distribution: {households: 0.5, social_rent_stock: 0.5}\n"             /* 42 */
    "    municipalities:\n"                                                     /* 43 */
    "      - {id: haarlem, households: 3000, stock: {pre-wonen: 700}}\n"       /* 44 */
    "      - {id: velsen, households: 1000, stock: {pre-wonen: 300}}\n"        /* 45 */
    "    spread: {per_complex: 2}\n"                                            /* 46 */
    "    refusals: {max: 2}\n"                                                  /* 47 */
    "    urgency: {months: 4, extension_months: 4}\n"                           /* 48 */
    "    route:\n"                                                              /* 49 */
    "      - {step: answer, role: care_provider, action: answer, working_days: 5}\n" /* 50 */
    "      - {step: viewing, role: corporation, action: confirm, working_days: 10}\n" /* 51 */
    "      - {step: lease, role: corporation, action: sign, working_days: 10}\n"; /* 52 */

static char *s_scheme_text(void)
{
    char *text = malloc(strlen(s_base) + strlen(s_scheme_tail) + 1);
    ck_assert_ptr_nonnull(text);
    strcpy(text, s_base);
    strcat(text, s_scheme_tail);
    return text;
}

START_TEST(test_scheme_loads)
{
    char *text = s_scheme_text();
    char err[512];
    wz_policy_t *p = s_load_text(text, err, sizeof err);
    free(text);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->n_schemes, 1);
    ck_assert_uint_eq(p->n_holidays, 2);
    ck_assert_uint_eq(p->n_decline_reasons, 2);
    ck_assert(wz_policy_decline_reason(p, "client_refuses")->refusal);
    ck_assert(!wz_policy_decline_reason(p, "unsuitable")->refusal);
    const wz_scheme_t *s = wz_policy_scheme(p, "pact");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->mode, WZ_MODE_RANKED);
    ck_assert_int_eq(s->max_per_complex, 2);
    ck_assert_int_eq(s->max_per_stairwell, 0);
    ck_assert_int_eq(s->spread_years, 5);
    ck_assert_int_eq(s->max_refusals, 2);
    ck_assert(s->no_answer_is_refusal);
    ck_assert_uint_eq(s->n_route, 3);
    ck_assert_int_eq(wz_scheme_step(s, "viewing"), 1);
    ck_assert_int_eq(s->route[1].role, WZ_ROLE_CORPORATION);
    ck_assert_int_eq(s->route[1].action, WZ_STEP_CONFIRM);
    /* Haarlem: 0.5 * 3/4 + 0.5 * 7/10 = 0.725 of 10 -> 7.25; Velsen 2.75:
     * 7 and 2, the remainder goes to the larger fraction (Velsen). */
    ck_assert_int_eq(wz_scheme_contingent(s, "haarlem", "pre-wonen", 2025), 7);
    ck_assert_int_eq(wz_scheme_contingent(s, "velsen", "pre-wonen", 2025), 3);
    ck_assert_int_eq(wz_scheme_contingent(s, "velsen", "pre-wonen", 2026), -1);
    ck_assert_int_eq(wz_scheme_contingent(s, "velsen", "ymere", 2025), -1);
    /* Default scheme: in force, listing the corporation. */
    ck_assert_ptr_eq(wz_policy_default_scheme(p, "zkij", "pre-wonen", s->from_day), s);
    ck_assert_ptr_null(wz_policy_default_scheme(p, "zkij", "pre-wonen", s->from_day - 1));
    ck_assert_ptr_null(wz_policy_default_scheme(p, "zkij", "ymere", s->from_day));
    ck_assert_ptr_eq(wz_policy_candidate_scheme(p, "zkij", "beschermd_wonen", "ribw-kam",
                                                s->to_day),
                     s);
    ck_assert_ptr_null(wz_policy_candidate_scheme(p, "zkij", "dakloos", "ribw-kam", s->to_day));
    /* Holidays skipped: Wed 24 Dec 2025 + 2 working days = Tue 30 Dec. */
    wz_region_t r = p->regions[0];
    r.answer_working_days = 2;
    ck_assert_int_eq(wz_policy_answer_deadline(p, &r, 1766577600000LL /* 2025-12-24 12:00 */),
                     1767139199000LL /* 2025-12-30 23:59:59 */);
    wz_policy_destroy(&p);
}
END_TEST

START_TEST(test_shipped_contingents_add_up)
{
    char err[512];
    wz_policy_t *p =
        wz_policy_load(WZ_SOURCE_DIR "/config/policy.yaml", NULL, false, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->n_schemes, 2);
    const wz_scheme_t *s = wz_policy_scheme(p, "zkij-uitstroom");
    ck_assert_ptr_nonnull(s);
    for (size_t y = 0; y < s->n_caps; y++) {
        int total = 0;
        for (size_t i = 0; i < s->n_contingents; i++)
            if (s->contingents[i].year == s->caps[y].year)
                total += s->contingents[i].target;
        ck_assert_int_eq(total, 178);
    }
    s = wz_policy_scheme(p, "almere-doorstart");
    ck_assert_ptr_nonnull(s);
    int total = 0;
    for (size_t i = 0; i < s->n_contingents; i++)
        if (s->contingents[i].year == 2022)
            total += s->contingents[i].target;
    ck_assert_int_eq(total, 250);
    ck_assert(s->decline_needs_confirmation);
    ck_assert_int_eq(s->unused, WZ_UNUSED_RELEASE);
    wz_policy_destroy(&p);
}
END_TEST

START_TEST(test_bad_schemes)
{
    const s_case_t cases[] = {
        {"id: pact", "id: \"pa ct\"", 34,
         "scheme id 'pa ct' is not valid: use 1..47 of A-Z a-z 0-9 . _ -, not starting with . or "
         "-"},
        {"region: zkij\n    period", "region: almere\n    period", 36,
         "scheme 'pact': unknown region 'almere'"},
        {"to: 2028-12-31", "to: 2023-12-31", 37, "scheme 'pact': the period ends before it starts"},
        {"to: 2028-12-31", "to: 2028-13-31", 37,
         "scheme 'pact': period.to '2028-13-31' is not a date (YYYY-MM-DD)"},
        {"groups: [beschermd_wonen]", "groups: [detentie]", 38,
         "scheme 'pact': unknown group 'detentie'"},
        {"groups: [beschermd_wonen]", "groups: []", 38,
         "'groups' must be a non-empty list of target groups"},
        {"corporations: [pre-wonen]", "corporations: [pre-wonen, ribw-kam]", 39,
         "scheme 'pact': 'ribw-kam' is not a corporation of region 'zkij'"},
        {"corporations: [pre-wonen]", "corporations: [ribw-kam]", 44,
         "scheme 'pact', municipality 'haarlem': 'pre-wonen' is not one of the scheme's "
         "corporations"},
        {"care_providers: [ribw-kam]", "care_providers: [gem-haarlem]", 40,
         "scheme 'pact': 'gem-haarlem' is not a care provider of region 'zkij'"},
        {"{pre-wonen: 300}", "{ymere: 300}", 45,
         "scheme 'pact', municipality 'velsen': 'ymere' is not one of the scheme's corporations"},
        {"{pre-wonen: 300}", "{}", 45,
         "scheme 'pact': municipality 'velsen' has no social-rent stock of any corporation, so "
         "its contingent could never be used"},
        {"- {id: velsen", "- {id: bloemendaal", 45,
         "scheme 'pact': region 'zkij' has no municipality 'bloemendaal'"},
        {"social_rent_stock: 0.5", "social_rent_stock: 0.6", 42,
         "scheme 'pact': distribution weights must add up to 1 (got 1.100)"},
        {"caps: [{year: 2025, dwellings: 10}]",
         "caps: [{year: 2025, dwellings: 10}, {year: 2025, dwellings: 5}]", 41,
         "scheme 'pact': cap year 2025 must come after 2025 (one per year, in order)"},
        {"{per_complex: 2}", "{per_complex: 2, per_flat: 1}", 46,
         "unknown key 'per_flat' in 'spread'"},
        {"{months: 4, extension_months: 4}", "{extension_months: 4}", 48,
         "scheme 'pact': an urgency extension needs an urgency window (urgency.months)"},
        {"action: answer", "action: confirm", 50,
         "scheme 'pact': the route must start with the care provider's answer (action answer)"},
        {"role: corporation, action: sign", "role: care_provider, action: sign", 52,
         "route step 'lease': only the corporation signs the lease (action sign)"},
        {"      - {step: lease, role: corporation, action: sign, working_days: 10}\n", "", 51,
         "scheme 'pact': the route must end with the lease (action sign)"},
        {"step: viewing", "step: answer", 51, "scheme 'pact': route step 'answer' is listed twice"},
        {"action: confirm", "action: phone", 51,
         "route step 'viewing': unknown action 'phone' (answer, confirm or sign)"},
        {"refusal: true}", "refusal: ja}", 31, "refusal: expected true, false, yes or no, got 'ja'"},
        {"id: unsuitable", "id: client_refuses", 32,
         "decline reason 'client_refuses' is listed twice"},
        {"2025-12-26]", "2025-12-25]", 29, "holiday 2025-12-25 is listed twice"},
        {"2025-12-26]", "2025-12-32]", 29, "expected a real date as YYYY-MM-DD (1900..2199), got '2025-12-32'"},
        {"    name: Pact\n", "    name: Pact\n    mode: lottery\n", 36,
         "scheme 'pact': unknown mode 'lottery' (ranked or nominate)"},
        {"    name: Pact\n", "    name: Pact\n    mode: nominate\n    batch_minutes: 60\n", 37,
         "scheme 'pact': batch assignment needs mode ranked"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].reason)
            continue;
        char *base = s_scheme_text();
        char *text = s_replace(base, cases[i].from, cases[i].to);
        free(base);
        char err[512] = "";
        wz_policy_t *p = s_load_text(text, err, sizeof err);
        char expected[768];
        snprintf(expected, sizeof expected, "%s:%d: ", s_path, cases[i].line);
        ck_assert_msg(p == NULL, "case %zu accepted:\n%s", i, text);
        ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0 &&
                          strstr(err, cases[i].reason) != NULL,
                      "case %zu\n  got      '%s'\n  expected '%s%s'", i, err, expected,
                      cases[i].reason);
        free(text);
    }
}
END_TEST

/* Writes tests/support/policy.yaml with the placeholder replaced. */
static void s_write_test_policy(const char *seconds)
{
    char *tmpl = s_read(WZ_SOURCE_DIR "/tests/support/policy.yaml");
    ck_assert_ptr_nonnull(strstr(tmpl, "    answer_seconds: @ANSWER_SECONDS@\n"));
    char *text = s_replace(tmpl, "@ANSWER_SECONDS@", seconds);
    s_write(s_path, text);
    free(text);
    free(tmpl);
}

START_TEST(test_shipped_policy)
{
    char err[512];
    wz_policy_t *p =
        wz_policy_load(WZ_SOURCE_DIR "/config/policy.yaml", NULL, false, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_str_eq(p->version, "2025.1");
    ck_assert_uint_eq(p->n_regions, 2);
    const wz_region_t *zkij = wz_policy_region(p, "zkij");
    ck_assert_ptr_nonnull(zkij);
    ck_assert_str_eq(zkij->name, "Zuid-Kennemerland en IJmond");
    ck_assert_int_eq(zkij->answer_working_days, 5);
    ck_assert_uint_eq(zkij->n_municipalities, 7);
    const char *zkij_cbs[][2] = {{"haarlem", "GM0392"},   {"bloemendaal", "GM0377"},
                                 {"heemstede", "GM0397"}, {"zandvoort", "GM0473"},
                                 {"beverwijk", "GM0375"}, {"heemskerk", "GM0396"},
                                 {"velsen", "GM0453"}};
    for (size_t i = 0; i < 7; i++) {
        const wz_municipality_t *m = wz_region_municipality(zkij, zkij_cbs[i][0]);
        ck_assert_msg(m != NULL, "no %s", zkij_cbs[i][0]);
        ck_assert_str_eq(m->cbs, zkij_cbs[i][1]);
        ck_assert_uint_ge(m->n_neighbourhoods, 2);
        ck_assert_uint_le(m->n_neighbourhoods, 5);
    }
    const wz_municipality_t *haarlem = wz_region_municipality(zkij, "haarlem");
    const wz_neighbourhood_t *vijfhoek = wz_municipality_neighbourhood(haarlem, "BU03920101");
    ck_assert_ptr_nonnull(vijfhoek);
    ck_assert_str_eq(vijfhoek->name, "Vijfhoek");
    ck_assert(vijfhoek->lat > 52.38 && vijfhoek->lat < 52.39);
    ck_assert(vijfhoek->lon > 4.63 && vijfhoek->lon < 4.64);
    ck_assert_ptr_null(wz_municipality_neighbourhood(haarlem, "BU00000000"));
    ck_assert_ptr_null(wz_region_municipality(zkij, "almere"));

    const wz_region_t *almere = wz_policy_region(p, "almere");
    ck_assert_ptr_nonnull(almere);
    ck_assert_ptr_nonnull(wz_region_municipality(almere, "almere"));
    ck_assert_ptr_null(wz_policy_region(p, "utrecht"));

    const char *zkij_parties[] = {"pre-wonen",  "ymere",           "elan-wonen",
                                  "woonopmaat", "brederode-wonen", "ribw-kam",
                                  "dock",       "welschap-socius", "gem-haarlem",
                                  "gem-velsen", "gem-heemstede",   "gem-beverwijk"};
    for (size_t i = 0; i < sizeof zkij_parties / sizeof zkij_parties[0]; i++) {
        const wz_party_t *party = wz_policy_party(p, zkij_parties[i]);
        ck_assert_msg(party != NULL, "no party %s", zkij_parties[i]);
        ck_assert_str_eq(party->region, "zkij");
        ck_assert_str_eq(party->public_key, "");
    }
    const char *almere_parties[] = {"de-alliantie",    "ymere-almere", "goede-stede",
                                    "leger-des-heils", "kwintes",      "gem-almere"};
    for (size_t i = 0; i < sizeof almere_parties / sizeof almere_parties[0]; i++) {
        const wz_party_t *party = wz_policy_party(p, almere_parties[i]);
        ck_assert_msg(party != NULL, "no party %s", almere_parties[i]);
        ck_assert_str_eq(party->region, "almere");
    }
    ck_assert_int_eq(wz_policy_party(p, "pre-wonen")->role, WZ_ROLE_CORPORATION);
    ck_assert_int_eq(wz_policy_party(p, "kwintes")->role, WZ_ROLE_CARE_PROVIDER);
    const wz_party_t *gem = wz_policy_municipality_party(p, "zkij", "velsen");
    ck_assert_ptr_nonnull(gem);
    ck_assert_str_eq(gem->id, "gem-velsen");
    ck_assert_int_eq(gem->role, WZ_ROLE_MUNICIPALITY);
    ck_assert_ptr_null(wz_policy_municipality_party(p, "almere", "velsen"));
    ck_assert_str_eq(wz_policy_municipality_party(p, "almere", "almere")->id, "gem-almere");
    ck_assert_ptr_null(wz_policy_party(p, "nobody"));
    ck_assert_ptr_null(wz_policy_party_by_key(p, ""));
    ck_assert_ptr_null(wz_policy_party_by_key(p, NULL));

    ck_assert(wz_policy_has_group(p, "vrouwenopvang"));
    ck_assert(wz_policy_has_group(p, "dakloos"));
    ck_assert(!wz_policy_has_group(p, "statushouder"));
    ck_assert_uint_eq(p->n_groups, 7);

    const wz_rent_limits_t *r = wz_policy_rent_limits(p, 2025);
    ck_assert_int_eq(r->year, 2025);
    ck_assert_int_eq(r->max_rent_1_2, 68296);
    ck_assert_int_eq(r->max_rent_3_plus, 73193);
    ck_assert_int_eq(r->max_rent_under_23, 47720);
    ck_assert_int_eq(r->social_rent_limit, 90007);
    ck_assert_int_eq(wz_policy_rent_limits(p, 2030)->year, 2025);
    ck_assert_int_eq(wz_policy_rent_limits(p, 2024)->max_rent_1_2, 65043);
    ck_assert_ptr_null(wz_policy_rent_limits(p, 2023));

    ck_assert_uint_eq(p->n_occupancy, 5);
    ck_assert_int_eq(wz_policy_occupancy(p, 1)->min_area_m2, 18);
    ck_assert_int_eq(wz_policy_occupancy(p, 3)->persons, 3);
    ck_assert_int_eq(wz_policy_occupancy(p, 9)->persons, 5);
    ck_assert_int_eq(wz_policy_occupancy(p, 0)->persons, 1);

    /* ids, codes and keys are unique across the file */
    for (size_t i = 0; i < p->n_parties; i++)
        for (size_t j = i + 1; j < p->n_parties; j++)
            ck_assert_str_ne(p->parties[i].id, p->parties[j].id);
    wz_policy_destroy(&p);
}
END_TEST

START_TEST(test_test_policy_with_seconds)
{
    s_write_test_policy("30");
    char err[512];
    wz_policy_t *p = wz_policy_load(s_path, NULL, false, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->n_regions, 2);
    ck_assert_uint_eq(p->n_parties, 10);
    for (size_t i = 0; i < p->n_regions; i++) {
        ck_assert_int_eq(p->regions[i].answer_seconds, 30);
        for (size_t m = 0; m < p->regions[i].n_municipalities; m++)
            ck_assert_uint_eq(p->regions[i].municipalities[m].n_neighbourhoods, 2);
        ck_assert_int_eq(wz_policy_answer_deadline(p, &p->regions[i], 1000000), 1030000);
    }
    const wz_region_t *zkij = wz_policy_region(p, "zkij");
    ck_assert_uint_eq(zkij->n_municipalities, 3);
    ck_assert_ptr_nonnull(wz_region_municipality(zkij, "heemstede"));
    ck_assert_str_eq(wz_policy_municipality_party(p, "zkij", "heemstede")->id, "gem-heemstede");
    ck_assert_str_eq(wz_policy_party(p, "leger-des-heils")->region, "almere");
    ck_assert_int_eq(wz_policy_party(p, "dock")->role, WZ_ROLE_CARE_PROVIDER);
    wz_policy_destroy(&p);

    /* the placeholder itself is not a value */
    char *tmpl = s_read(WZ_SOURCE_DIR "/tests/support/policy.yaml");
    s_write(s_path, tmpl);
    free(tmpl);
    p = wz_policy_load(s_path, NULL, false, err, sizeof err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, "syntax error") != NULL, "%s", err);
}
END_TEST

START_TEST(test_keys_required)
{
    s_write_test_policy("0");
    char err[512];
    wz_policy_t *p = wz_policy_load(s_path, NULL, true, err, sizeof err);
    ck_assert_ptr_null(p);
    char expected[600];
    snprintf(expected, sizeof expected,
             "%s:61: party 'pre-wonen' has no CURVE public key: add curve_public_key or run "
             "`wzctl keygen pre-wonen`",
             s_path);
    ck_assert_str_eq(err, expected);
}
END_TEST

START_TEST(test_keys_from_keys_dir)
{
    s_write_test_policy("0");
    char keys[128], err[512];
    snprintf(keys, sizeof keys, "%s/keys", s_dir);
    /* The test policy's parties, so the files match its ids. */
    wz_policy_t *p = wz_policy_load(s_path, NULL, false, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    wz_keypair_t *pairs = calloc(p->n_parties, sizeof *pairs);
    size_t n = p->n_parties;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(wz_keys_generate(&pairs[i]), 0);
        if (i == 3)
            continue; /* dock: left out first */
        ck_assert_msg(wz_keys_write(keys, p->parties[i].id, &pairs[i], 0, err, sizeof err) == 0,
                      "%s", err);
    }
    ck_assert_str_eq(p->parties[3].id, "dock");
    wz_policy_destroy(&p);

    /* one missing key: refused when required, empty when not */
    p = wz_policy_load(s_path, keys, true, err, sizeof err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, ": party 'dock' has no CURVE public key: add curve_public_key or run "
                              "`wzctl keygen dock`") != NULL,
                  "%s", err);
    p = wz_policy_load(s_path, keys, false, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_str_eq(wz_policy_party(p, "dock")->public_key, "");
    ck_assert_str_eq(wz_policy_party(p, "ymere")->public_key, pairs[1].public_z85);
    wz_policy_destroy(&p);

    /* all present: every party found by its key */
    ck_assert_int_eq(wz_keys_write(keys, "dock", &pairs[3], 0, err, sizeof err), 0);
    p = wz_policy_load(s_path, keys, true, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    for (size_t i = 0; i < n; i++) {
        const wz_party_t *party = wz_policy_party_by_key(p, pairs[i].public_z85);
        ck_assert_ptr_nonnull(party);
        ck_assert_str_eq(party->id, p->parties[i].id);
        ck_assert_str_eq(party->public_key, pairs[i].public_z85);
    }
    ck_assert_ptr_null(wz_policy_party_by_key(p, "0000000000000000000000000000000000000000"));
    wz_policy_destroy(&p);

    /* two parties sharing one key pair are refused */
    ck_assert_int_eq(wz_keys_write(keys, "ribw-kam", &pairs[3], 1, err, sizeof err), 0);
    p = wz_policy_load(s_path, keys, true, err, sizeof err);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, ": parties 'ribw-kam' and 'dock' have the same CURVE public key"),
                  "%s", err);

    /* an inline key wins over the file */
    ck_assert_int_eq(wz_keys_write(keys, "ribw-kam", &pairs[2], 1, err, sizeof err), 0);
    char *tmpl = s_read(s_path);
    char inline_to[200];
    snprintf(inline_to, sizeof inline_to,
             "{id: pre-wonen, name: Pré Wonen, role: corporation, region: zkij, "
             "curve_public_key: \"%s\"}",
             pairs[7].public_z85);
    char *text2 = s_replace(
        tmpl, "{id: pre-wonen, name: Pré Wonen, role: corporation, region: zkij}", inline_to);
    s_write(s_path, text2);
    free(text2);
    free(tmpl);
    p = wz_policy_load(s_path, keys, true, err, sizeof err);
    ck_assert_ptr_null(p); /* pairs[7] is also de-alliantie's key file */
    ck_assert_msg(strstr(err, ": parties 'pre-wonen' and 'de-alliantie' have the same CURVE "
                              "public key"),
                  "%s", err);
    free(pairs);
}
END_TEST

/* Unix ms of a UTC time. */
static int64_t s_utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000;
}

START_TEST(test_answer_deadline)
{
    wz_policy_t none;
    memset(&none, 0, sizeof none);
    wz_region_t r;
    memset(&r, 0, sizeof r);
    r.answer_working_days = 5;
    /* Friday 21 Nov 2025 -> the Friday after, end of day */
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 21, 10, 0, 0) + 123),
                     s_utc(2025, 11, 28, 23, 59, 59));
    /* Saturday and Sunday count from Monday */
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 22, 0, 0, 0)),
                     s_utc(2025, 11, 28, 23, 59, 59));
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 23, 23, 59, 59)),
                     s_utc(2025, 11, 28, 23, 59, 59));
    /* Wednesday -> Wednesday, over the weekend */
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 19, 8, 30, 0)),
                     s_utc(2025, 11, 26, 23, 59, 59));
    r.answer_working_days = 1;
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 21, 16, 0, 0)),
                     s_utc(2025, 11, 24, 23, 59, 59));
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 24, 0, 0, 0)),
                     s_utc(2025, 11, 25, 23, 59, 59));
    /* across a month and a leap day: Thu 29 Feb 2024 + 2 -> Mon 4 Mar */
    r.answer_working_days = 2;
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2024, 2, 29, 12, 0, 0)),
                     s_utc(2024, 3, 4, 23, 59, 59));
    /* ten working days span two weekends */
    r.answer_working_days = 10;
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 12, 1, 9, 0, 0)),
                     s_utc(2025, 12, 15, 23, 59, 59));
    /* seconds replace working days */
    r.answer_seconds = 45;
    ck_assert_int_eq(wz_policy_answer_deadline(&none, &r, s_utc(2025, 11, 21, 10, 0, 0)),
                     s_utc(2025, 11, 21, 10, 0, 45));
}
END_TEST

START_TEST(test_role_names)
{
    ck_assert_str_eq(wz_role_name(WZ_ROLE_CORPORATION), "corporation");
    ck_assert_str_eq(wz_role_name(WZ_ROLE_CARE_PROVIDER), "care_provider");
    ck_assert_str_eq(wz_role_name(WZ_ROLE_MUNICIPALITY), "municipality");
    ck_assert_str_eq(wz_role_name((wz_role_t)0), "unknown");
}
END_TEST

START_TEST(test_missing_file)
{
    char err[512];
    ck_assert_ptr_null(wz_policy_load("/nonexistent/policy.yaml", NULL, false, err, sizeof err));
    ck_assert_str_eq(err, "/nonexistent/policy.yaml: cannot open: No such file or directory");
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "policy", 30,
        (const TTest *const[]){test_base_policy_loads, test_bad_policies, test_shipped_policy,
                               test_test_policy_with_seconds, test_keys_required,
                               test_keys_from_keys_dir, test_answer_deadline, test_role_names,
                               test_missing_file, test_scheme_loads,
                               test_shipped_contingents_add_up, test_bad_schemes, NULL});
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    return wz_test_run("wz_policy", (TCase *const[]){tc, NULL});
}
