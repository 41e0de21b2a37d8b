/* make_seeds.c - writes the binary seed corpus of the fuzz targets:
 *   make_seeds DIR  writes DIR/fuzz_request/NAME.pb and DIR/fuzz_client_message/NAME.pb
 * Each request is one a real party would send, and is checked to pass
 * wz_validate_request for that party against the test policy before it is
 * written, so the fuzzer starts from inputs that reach every validator path
 * rather than from ones refused at the first field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wz_codec.h"
#include "wz_fuzz.h"
#include "wz_validate.h"

typedef struct {
    const char *dir;
    wz_policy_t *policy;
    int written;
} s_seeds_t;

static void s_mkdir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        wz_fuzz_fail("cannot create %s: %s", path, strerror(errno));
}

static void s_write(s_seeds_t *self, const char *target, const char *name,
                    const ProtobufCMessage *m)
{
    char path[1024];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s/%s.pb", self->dir, target, name);
    uint8_t *bytes = wz_codec_pack(m, &len);
    if (!bytes || wz_fuzz_write_file(path, bytes, len) != 0)
        wz_fuzz_fail("cannot write %s: %s", path, strerror(errno));
    free(bytes);
    self->written++;
}

/* Writes req as a seed after checking that actor may send it as it is. */
static void s_request(s_seeds_t *self, const char *name, const char *actor, WzRequest *req)
{
    wz_verdict_t v;
    const wz_party_t *party = wz_policy_party(self->policy, actor);
    if (!party)
        wz_fuzz_fail("seed %s: no party '%s' in the test policy", name, actor);
    if (wz_validate_request(req, self->policy, party, &v) != 0)
        wz_fuzz_fail("seed %s is refused for %s: %s", name, actor, v.message);
    s_write(self, "fuzz_request", name, &req->base);
}

static void s_vacancy(WzVacancy *v, WzDate *from, const char *id, const char *municipality,
                      const char *neighbourhood, const char *address, uint32_t access)
{
    v->id = (char *)id;
    v->municipality = (char *)municipality;
    v->neighbourhood = (char *)neighbourhood;
    v->complex = "complex-1";
    v->address = (char *)address;
    v->rooms = 2;
    v->floor_area_m2 = 48;
    v->rent_cents = 61250;
    v->access = access;
    from->year = 2025;
    from->month = 12;
    from->day = 1;
    v->available_from = from;
}

static void s_requests(s_seeds_t *self)
{
    WzRequest req;
    WzVacancy vac;
    WzDate date;

    woonzorg__v1__request__init(&req);
    woonzorg__v1__vacancy__init(&vac);
    woonzorg__v1__date__init(&date);
    s_vacancy(&vac, &date, "PW-2025-0142", "haarlem", "BU03920101", "Kruisstraat 12 zwart", 5);
    req.request_id = "pub-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &vac;
    s_request(self, "publish_vacancy", "pre-wonen", &req);
    /* Non-ASCII UTF-8 in the one free-text field, every access bit, and the
     * corporation and region repeated as the suite would set them. */
    s_vacancy(&vac, &date, "YM-2025-0871", "velsen", "BU04530102", "Ĳmuidenstraat 3 — bov", 15);
    vac.corporation = "ymere";
    vac.region = "zkij";
    req.request_id = "pub-2";
    s_request(self, "publish_vacancy_utf8", "ymere", &req);

    WzCandidate cand;
    WzHousehold household;
    char *acceptable[] = {"haarlem", "heemstede"};
    char *excluded[] = {"BU03921003"};
    woonzorg__v1__candidate__init(&cand);
    woonzorg__v1__household__init(&household);
    household.adults = 1;
    cand.id = "kam-0012";
    cand.municipality = "haarlem";
    cand.group = "beschermd_wonen";
    cand.household = &household;
    cand.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_ADULT;
    cand.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_BELOW_LIMIT;
    cand.n_acceptable_municipalities = 2;
    cand.acceptable_municipalities = acceptable;
    cand.n_excluded_neighbourhoods = 1;
    cand.excluded_neighbourhoods = excluded;
    cand.consent = true;
    woonzorg__v1__request__init(&req);
    req.request_id = "reg-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
    req.register_candidate = &cand;
    s_request(self, "register_candidate", "ribw-kam", &req);
    /* A family in the other region, with access needs and no lists. */
    household.adults = 2;
    household.children = 2;
    cand.id = "ldh-0044";
    cand.municipality = "almere";
    cand.group = "maatschappelijke_opvang";
    cand.age_band = WOONZORG__V1__AGE_BAND__AGE_BAND_UNDER_23;
    cand.income_class = WOONZORG__V1__INCOME_CLASS__INCOME_CLASS_ABOVE_LIMIT;
    cand.access_needs = 9;
    cand.n_acceptable_municipalities = 0;
    cand.n_excluded_neighbourhoods = 0;
    req.request_id = "reg-2";
    s_request(self, "register_candidate_family", "leger-des-heils", &req);

    Woonzorg__V1__IdRef ref;
    woonzorg__v1__id_ref__init(&ref);
    ref.id = "PW-2025-0142";
    woonzorg__v1__request__init(&req);
    req.request_id = "wd-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
    req.withdraw_vacancy = &ref;
    s_request(self, "withdraw_vacancy", "pre-wonen", &req);
    ref.id = "dock-0207";
    req.request_id = "wd-2";
    req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
    req.withdraw_vacancy = NULL;
    req.withdraw_candidate = &ref;
    s_request(self, "withdraw_candidate", "dock", &req);

    Woonzorg__V1__GrantUrgency grant;
    woonzorg__v1__grant_urgency__init(&grant);
    woonzorg__v1__date__init(&date);
    grant.candidate_id = "kam-0012";
    woonzorg__v1__request__init(&req);
    req.request_id = "urg-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY;
    req.grant_urgency = &grant;
    s_request(self, "grant_urgency_today", "gem-haarlem", &req);
    date.year = 2024;
    date.month = 2;
    date.day = 29;
    grant.date = &date;
    req.request_id = "urg-2";
    s_request(self, "grant_urgency_dated", "gem-haarlem", &req);

    Woonzorg__V1__Answer answer;
    woonzorg__v1__answer__init(&answer);
    answer.proposal_id = "PW-2025-0142/1";
    answer.accept = true;
    woonzorg__v1__request__init(&req);
    req.request_id = "ans-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_ANSWER;
    req.answer = &answer;
    s_request(self, "answer_accept", "ribw-kam", &req);
    answer.accept = false;
    answer.reason = "client_refuses"; /* a decline reason id of the policy */
    req.request_id = "ans-2";
    s_request(self, "answer_decline", "ribw-kam", &req);

    Woonzorg__V1__SignLease lease;
    woonzorg__v1__sign_lease__init(&lease);
    lease.vacancy_id = "PW-2025-0142";
    lease.contract = WOONZORG__V1__CONTRACT_TYPE__CONTRACT_TYPE_THREE_PARTY;
    woonzorg__v1__request__init(&req);
    req.request_id = "lease-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_SIGN_LEASE;
    req.sign_lease = &lease;
    s_request(self, "sign_lease", "pre-wonen", &req);

    static const struct {
        Woonzorg__V1__StatusQuery__Kind kind;
        const char *id, *name, *actor;
    } queries[] = {
        {WOONZORG__V1__STATUS_QUERY__KIND__KIND_VACANCY, "PW-2025-0142", "status_vacancy",
         "pre-wonen"},
        {WOONZORG__V1__STATUS_QUERY__KIND__KIND_CANDIDATE, "kam-0012", "status_candidate",
         "ribw-kam"},
        {WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL, "PW-2025-0142/1", "status_proposal",
         "gem-haarlem"},
    };
    Woonzorg__V1__StatusQuery status;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        woonzorg__v1__status_query__init(&status);
        status.kind = queries[i].kind;
        status.id = (char *)queries[i].id;
        woonzorg__v1__request__init(&req);
        req.request_id = "st-1";
        req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
        req.status = &status;
        s_request(self, queries[i].name, queries[i].actor, &req);
    }

    Woonzorg__V1__AuditQuery audit;
    woonzorg__v1__audit_query__init(&audit);
    audit.last = 50;
    woonzorg__v1__request__init(&req);
    req.request_id = "audit-1";
    req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
    req.audit = &audit;
    s_request(self, "audit_last", "gem-haarlem", &req);
}

static void s_client_messages(s_seeds_t *self)
{
    const char *t = "fuzz_client_message";
    WzClientMessage cm;
    Woonzorg__V1__Hello hello;
    Woonzorg__V1__Ack ack;
    woonzorg__v1__client_message__init(&cm);
    woonzorg__v1__hello__init(&hello);
    hello.after_seq = 42;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO;
    cm.hello = &hello;
    s_write(self, t, "hello", &cm.base);
    woonzorg__v1__ack__init(&ack);
    ack.up_to_seq = 43;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK;
    cm.hello = NULL;
    cm.ack = &ack;
    s_write(self, t, "ack", &cm.base);

    /* ProposalCreated in a Delivery: the richest message a party receives. */
    WzVacancy vac;
    WzDate date;
    woonzorg__v1__vacancy__init(&vac);
    woonzorg__v1__date__init(&date);
    s_vacancy(&vac, &date, "PW-2025-0142", "haarlem", "BU03920101", "Kruisstraat 12 zwart", 5);
    vac.corporation = "pre-wonen";
    vac.region = "zkij";
    vac.state = WOONZORG__V1__VACANCY_STATE__VACANCY_STATE_OFFERED;
    vac.proposal_id = "PW-2025-0142/1";
    WzFilterCount f1, f2, *filters[] = {&f1, &f2};
    woonzorg__v1__filter_count__init(&f1);
    woonzorg__v1__filter_count__init(&f2);
    f1.rule = "region";
    f1.removed = 3;
    f2.rule = "rent";
    f2.removed = 1;
    WzExplanation why;
    woonzorg__v1__explanation__init(&why);
    why.considered = 7;
    why.eligible = 3;
    why.rank = 1;
    why.n_filters = 2;
    why.filters = filters;
    why.ranking = "urgency date, then fit, then id";
    why.summary = "kam-0012 waited longest of 3 eligible candidates";
    why.policy_version = "test.1";
    WzProposal prop;
    woonzorg__v1__proposal__init(&prop);
    prop.id = "PW-2025-0142/1";
    prop.vacancy_id = "PW-2025-0142";
    prop.candidate_id = "kam-0012";
    prop.region = "zkij";
    prop.corporation = "pre-wonen";
    prop.care_provider = "ribw-kam";
    prop.municipality = "haarlem";
    prop.state = WOONZORG__V1__PROPOSAL_STATE__PROPOSAL_STATE_SENT;
    prop.created_ms = 1764000000000;
    prop.deadline_ms = 1764000030000;
    prop.explanation = &why;
    prop.round = 1;
    Woonzorg__V1__ProposalCreated created;
    woonzorg__v1__proposal_created__init(&created);
    created.proposal = &prop;
    created.vacancy = &vac;
    WzEvent ev;
    woonzorg__v1__event__init(&ev);
    ev.id = "matching:zkij:17";
    ev.occurred_ms = 1764000000000;
    ev.actor = "matching";
    ev.region = "zkij";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED;
    ev.proposal_created = &created;
    WzDelivery delivery;
    woonzorg__v1__delivery__init(&delivery);
    delivery.seq = 5;
    delivery.reason = "proposal";
    delivery.event = &ev;
    s_write(self, t, "delivery_proposal_created", &delivery.base);
    s_write(self, t, "event_proposal_created", &ev.base);

    Woonzorg__V1__UrgencyGranted granted;
    woonzorg__v1__urgency_granted__init(&granted);
    granted.candidate_id = "kam-0012";
    granted.care_provider = "ribw-kam";
    granted.municipality = "haarlem";
    granted.date = &date;
    woonzorg__v1__event__init(&ev);
    ev.id = "intake:zkij:4";
    ev.occurred_ms = 1763900000000;
    ev.actor = "gem-haarlem";
    ev.region = "zkij";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED;
    ev.urgency_granted = &granted;
    delivery.seq = 2;
    delivery.reason = "information";
    s_write(self, t, "delivery_urgency_granted", &delivery.base);

    Woonzorg__V1__VacancyReleased released;
    woonzorg__v1__vacancy_released__init(&released);
    why.rank = 0;
    why.eligible = 0;
    released.vacancy = &vac;
    released.explanation = &why;
    woonzorg__v1__event__init(&ev);
    ev.id = "matching:zkij:18";
    ev.actor = "matching";
    ev.region = "zkij";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_RELEASED;
    ev.vacancy_released = &released;
    s_write(self, t, "event_vacancy_released", &ev.base);

    Woonzorg__V1__NotificationDelivered delivered;
    woonzorg__v1__notification_delivered__init(&delivered);
    delivered.party = "ribw-kam";
    delivered.up_to_seq = 5;
    woonzorg__v1__event__init(&ev);
    ev.id = "notification:party:ribw-kam:9";
    ev.actor = "notification";
    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_NOTIFICATION_DELIVERED;
    ev.notification_delivered = &delivered;
    s_write(self, t, "event_notification_delivered", &ev.base);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (writes DIR/fuzz_request and DIR/fuzz_client_message)\n",
                argv[0]);
        return 2;
    }
    s_seeds_t self = {.dir = argv[1], .policy = wz_fuzz_test_policy()};
    char sub[1024];
    s_mkdir(self.dir);
    snprintf(sub, sizeof sub, "%s/fuzz_request", self.dir);
    s_mkdir(sub);
    snprintf(sub, sizeof sub, "%s/fuzz_client_message", self.dir);
    s_mkdir(sub);
    s_requests(&self);
    s_client_messages(&self);
    wz_policy_destroy(&self.policy);
    printf("make_seeds: wrote %d seeds under %s\n", self.written, self.dir);
    return 0;
}
