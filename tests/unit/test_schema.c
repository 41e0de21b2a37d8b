/* The privacy rule of the protocol, checked on the compiled schema: no
 * message anywhere in woonzorg.v1 has a field for a person's name, BSN,
 * birth date, contact details, address or health. Every message reachable
 * from what parties send and receive, and from what services store and
 * chain, is walked; a new field with such a name fails here. */
#include <check.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_proto.h"
#include "wz_testmain.h"

/* Substrings of field names that would carry personal data. */
static const char *const s_forbidden[] = {
    "name",         "surname",    "initials",    "bsn",       "citizen",       "social_security",
    "passport",     "birth",      "dob",         "age_years", "phone",         "email",
    "mail_address", "diagnos",    "medical",     "health",    "illness",       "disorder",
    "treatment",    "medication", "nationality", "ethnic",    "religio",       "gender",
    "sex",          "criminal",   "conviction",  "iban",      "income_amount", "salary",
};

/* Address-like names are allowed only on the dwelling itself: a vacancy's
 * address is the corporation's, not a person's. */
static const char *const s_address[] = {"address", "street",       "postcode", "postal",
                                        "zip",     "house_number", "city",     "residence"};

#define MAX_SEEN 256

typedef struct {
    const ProtobufCMessageDescriptor *seen[MAX_SEEN];
    size_t n;
    char bad[4096];
    size_t fields;
} s_walk_t;

static bool s_has(const char *name, const char *part)
{
    return strstr(name, part) != NULL;
}

static void s_walk(s_walk_t *w, const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->seen[i] == d)
            return;
    ck_assert_uint_lt(w->n, MAX_SEEN);
    w->seen[w->n++] = d;
    bool dwelling = strcmp(d->short_name, "Vacancy") == 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char lower[128];
        size_t k = 0;
        for (; f->name[k] && k + 1 < sizeof lower; k++)
            lower[k] = (char)tolower((unsigned char)f->name[k]);
        lower[k] = '\0';
        w->fields++;
        for (size_t j = 0; j < sizeof s_forbidden / sizeof *s_forbidden; j++)
            if (s_has(lower, s_forbidden[j]))
                snprintf(w->bad + strlen(w->bad), sizeof w->bad - strlen(w->bad), " %s.%s",
                         d->short_name, f->name);
        for (size_t j = 0; !dwelling && j < sizeof s_address / sizeof *s_address; j++)
            if (s_has(lower, s_address[j]))
                snprintf(w->bad + strlen(w->bad), sizeof w->bad - strlen(w->bad), " %s.%s",
                         d->short_name, f->name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            s_walk(w, f->descriptor);
    }
}

START_TEST(test_no_personal_fields)
{
    s_walk_t w;
    memset(&w, 0, sizeof w);
    const ProtobufCMessageDescriptor *roots[] = {
        &woonzorg__v1__request__descriptor,        &woonzorg__v1__reply__descriptor,
        &woonzorg__v1__client_message__descriptor, &woonzorg__v1__delivery__descriptor,
        &woonzorg__v1__event__descriptor,          &woonzorg__v1__candidate__descriptor,
        &woonzorg__v1__vacancy__descriptor,        &woonzorg__v1__proposal__descriptor,
        &woonzorg__v1__audit_page__descriptor,
    };
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++)
        s_walk(&w, roots[i]);
    ck_assert_msg(w.bad[0] == '\0', "fields that would carry personal data:%s", w.bad);
    /* The walk really covered the protocol (not a vacuous pass). */
    ck_assert_uint_ge(w.n, 20);
    ck_assert_uint_ge(w.fields, 100);
}
END_TEST

START_TEST(test_scanner_catches)
{
    /* The scanner itself: a made-up message with a BSN and a name field. */
    static const ProtobufCFieldDescriptor fields[] = {
        {"bsn", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, 0, NULL, NULL, 0, 0, NULL,
         NULL},
        {"first_name", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, 0, NULL, NULL, 0, 0,
         NULL, NULL},
        {"home_address", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, 0, NULL, NULL, 0, 0,
         NULL, NULL},
    };
    ProtobufCMessageDescriptor d;
    memset(&d, 0, sizeof d);
    d.name = "test.Person";
    d.short_name = "Person";
    d.n_fields = 3;
    d.fields = fields;
    s_walk_t w;
    memset(&w, 0, sizeof w);
    s_walk(&w, &d);
    ck_assert_str_eq(w.bad, " Person.bsn Person.first_name Person.home_address");
}
END_TEST

START_TEST(test_candidate_proto_says_so)
{
    /* The rule is written where the fields are defined. */
    FILE *f = fopen(WZ_SOURCE_DIR "/proto/candidate.proto", "r");
    ck_assert_ptr_nonnull(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "no name, no BSN"));
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("privacy", 0,
                             (const TTest *const[]){test_no_personal_fields, test_scanner_catches,
                                                    test_candidate_proto_says_so, NULL});
    return wz_test_run("schema", (TCase *const[]){tc, NULL});
}
