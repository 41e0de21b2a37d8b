/* wz_mailbox.c - who receives which event, and the mailbox streams in Redis
 * (see wz_mailbox.h and docs/architecture.md). */
#include "wz_mailbox.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"
#include "wz_minimise.h"
#include "wz_util.h"

#define KEY_MAX 256
#define COMMIT_ATTEMPTS 5
#define PAYLOAD(x) WOONZORG__V1__EVENT__PAYLOAD_##x

/* --- recipients ---------------------------------------------------------- */

typedef struct {
    const wz_policy_t *policy;
    wz_log_t *log;
    const WzEvent *ev;
    wz_recipient_t *out;
    size_t max, n;
} s_list_t;

static const char *s_event_id(const WzEvent *ev)
{
    return ev->id && *ev->id ? ev->id : "?";
}

static void s_add_party(s_list_t *l, const wz_party_t *party, const char *reason)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->out[i].party == party)
            return; /* the first reason given (the most specific one) stays */
    if (l->n == l->max) {
        wz_log(l->log, WZ_LOG_ERROR, "too many recipients; one skipped", "event", s_event_id(l->ev),
               "party", party->id, NULL);
        return;
    }
    l->out[l->n++] = (wz_recipient_t){party, reason};
}

static void s_add(s_list_t *l, const char *party_id, const char *reason)
{
    const wz_party_t *party = party_id && *party_id ? wz_policy_party(l->policy, party_id) : NULL;
    if (!party) {
        wz_log(l->log, WZ_LOG_WARN, "recipient not in the policy; skipped", "event",
               s_event_id(l->ev), "party", party_id && *party_id ? party_id : "(none)", NULL);
        return;
    }
    s_add_party(l, party, reason);
}

/* The region a payload names if it names one, else the event's. */
static const char *s_region(const WzEvent *ev, const char *payload_region)
{
    return payload_region && *payload_region ? payload_region : ev->region;
}

static void s_add_municipality(s_list_t *l, const char *region, const char *municipality,
                               const char *reason)
{
    const wz_party_t *party = wz_policy_municipality_party(l->policy, region, municipality);
    if (!party) {
        wz_log(l->log, WZ_LOG_WARN, "no municipality party for the event; skipped", "event",
               s_event_id(l->ev), "region", region ? region : "(none)", "municipality",
               municipality && *municipality ? municipality : "(none)", NULL);
        return;
    }
    s_add_party(l, party, reason);
}

/* Corporation, care provider and municipality of a proposal. */
static void s_add_proposal_parties(s_list_t *l, const WzProposal *p, const char *reason)
{
    if (!p) {
        wz_log(l->log, WZ_LOG_WARN, "event without its proposal; nobody informed", "event",
               s_event_id(l->ev), NULL);
        return;
    }
    s_add(l, p->care_provider, reason);
    s_add(l, p->corporation, reason);
    s_add_municipality(l, s_region(l->ev, p->region), p->municipality, reason);
}

size_t wz_mailbox_recipients(const wz_policy_t *policy, wz_log_t *log, const WzEvent *ev,
                             wz_recipient_t *out, size_t max)
{
    s_list_t l = {policy, log, ev, out, max, 0};
    switch (ev->payload_case) {
    case PAYLOAD(VACANCY_PUBLISHED): {
        const WzVacancy *v = ev->vacancy_published->vacancy;
        if (v)
            s_add_municipality(&l, s_region(ev, v->region), v->municipality, "information");
        break;
    }
    case PAYLOAD(VACANCY_WITHDRAWN):
        s_add_municipality(&l, ev->region, ev->vacancy_withdrawn->municipality, "information");
        break;
    case PAYLOAD(CANDIDATE_WITHDRAWN):
        s_add_municipality(&l, ev->region, ev->candidate_withdrawn->municipality, "information");
        break;
    case PAYLOAD(URGENCY_GRANTED):
        s_add(&l, ev->urgency_granted->care_provider, "urgency");
        break;
    case PAYLOAD(PROPOSAL_ANSWERED): {
        const WzProposal *p = ev->proposal_answered->proposal;
        if (p) {
            s_add(&l, p->corporation, "answered");
            s_add_municipality(&l, s_region(ev, p->region), p->municipality, "answered");
        }
        break;
    }
    case PAYLOAD(PROPOSAL_CREATED): {
        const WzProposal *p = ev->proposal_created->proposal;
        const WzVacancy *v = ev->proposal_created->vacancy;
        if (!p) {
            s_add_proposal_parties(&l, NULL, NULL);
            break;
        }
        /* The care provider first, so that its reason is "proposal". */
        s_add(&l, p->care_provider, "proposal");
        s_add(&l, p->corporation, "information");
        s_add_municipality(&l, s_region(ev, p->region), p->municipality, "information");
        /* The vacancy's municipality too, when the candidate's is another one. */
        if (v && v->municipality && *v->municipality &&
            strcmp(v->municipality, p->municipality ? p->municipality : "") != 0)
            s_add_municipality(&l, s_region(ev, v->region), v->municipality, "information");
        break;
    }
    case PAYLOAD(PROPOSAL_EXPIRED):
        s_add_proposal_parties(&l, ev->proposal_expired->proposal, "expired");
        break;
    case PAYLOAD(PROPOSAL_CANCELLED):
        s_add_proposal_parties(&l, ev->proposal_cancelled->proposal, "cancelled");
        break;
    case PAYLOAD(VACANCY_RELEASED): {
        const WzVacancy *v = ev->vacancy_released->vacancy;
        if (v) {
            s_add(&l, v->corporation, "released");
            s_add_municipality(&l, s_region(ev, v->region), v->municipality, "released");
        }
        break;
    }
    case PAYLOAD(VACANCY_LET): {
        const WzVacancy *v = ev->vacancy_let->vacancy;
        const WzProposal *p = ev->vacancy_let->proposal;
        if (p)
            s_add_proposal_parties(&l, p, "let");
        if (v) {
            s_add(&l, v->corporation, "let");
            if (v->municipality && *v->municipality)
                s_add_municipality(&l, s_region(ev, v->region), v->municipality, "let");
        }
        break;
    }
    case PAYLOAD(URGENCY_LAPSED): {
        const Woonzorg__V1__UrgencyLapsed *u = ev->urgency_lapsed;
        s_add_municipality(&l, ev->region, u->municipality, "urgency_lapsed");
        s_add(&l, u->care_provider, "urgency_lapsed");
        break;
    }
    case PAYLOAD(DEADLINE_REMINDER): {
        /* The party that must act; the municipality follows every deadline. */
        const WzProposal *p = ev->deadline_reminder->proposal;
        const char *role = ev->deadline_reminder->role;
        if (!p)
            break;
        if (role && strcmp(role, "corporation") == 0)
            s_add(&l, p->corporation, "reminder");
        else if (role && strcmp(role, "municipality") == 0)
            s_add_municipality(&l, s_region(ev, p->region), p->municipality, "reminder");
        else
            s_add(&l, p->care_provider, "reminder");
        break;
    }
    case PAYLOAD(PROPOSAL_ADVANCED):
        s_add_proposal_parties(&l, ev->proposal_advanced->proposal, "step");
        break;
    case PAYLOAD(STEP_CONFIRMED):
        s_add_proposal_parties(&l, ev->step_confirmed->proposal, "step_confirmed");
        break;
    case PAYLOAD(NOMINATION_REQUESTED): {
        const Woonzorg__V1__NominationRequested *n = ev->nomination_requested;
        s_add(&l, n->care_provider, "nominate");
        if (n->vacancy) {
            s_add(&l, n->vacancy->corporation, "information");
            s_add_municipality(&l, s_region(ev, n->vacancy->region), n->vacancy->municipality,
                               "information");
        }
        break;
    }
    case PAYLOAD(NOMINATION_REFUSED):
        s_add(&l, ev->nomination_refused->care_provider, "nomination_refused");
        break;
    case PAYLOAD(CANDIDATE_PURGED):
        /* The care provider learns that its candidate's records are gone. */
        s_add(&l, ev->candidate_purged->care_provider, "erased");
        break;
    default:
        /* Registrations, updates, leases and our own acknowledgements
         * concern nobody's mailbox (see the lifecycle table). */
        break;
    }
    return l.n;
}

/* --- mailboxes ------------------------------------------------------------- */

typedef struct {
    uint64_t last;
    bool known;
} s_cache_t;

typedef struct {
    size_t party; /* index into the policy's parties */
    uint64_t seq;
} s_pending_t;

struct wz_mailbox_t {
    wz_store_t *store;
    const wz_policy_t *policy;
    wz_log_t *log;
    s_cache_t *cache; /* one per policy party */
    s_pending_t pending[WZ_MAILBOX_MAX_RECIPIENTS];
    size_t n_pending;
};

wz_mailbox_t *wz_mailbox_new(wz_store_t *store, const wz_policy_t *policy, wz_log_t *log)
{
    wz_mailbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cache = calloc(policy->n_parties ? policy->n_parties : 1, sizeof *self->cache);
    if (!self->cache) {
        free(self);
        return NULL;
    }
    self->store = store;
    self->policy = policy;
    self->log = log;
    return self;
}

void wz_mailbox_destroy(wz_mailbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->cache);
    free(*self_p);
    *self_p = NULL;
}

int wz_mailbox_key(const wz_mailbox_t *self, const wz_party_t *party, char *out, size_t outlen)
{
    return wz_store_key(self->store, out, outlen, party->region, "mailbox:%s", party->id);
}

int wz_mailbox_acked_key(const wz_mailbox_t *self, const wz_party_t *party, char *out,
                         size_t outlen)
{
    return wz_store_key(self->store, out, outlen, party->region, "acked:%s", party->id);
}

/* "<seq>-0" -> seq; 0 for an id that is not one of ours. */
static uint64_t s_parse_id(const char *id)
{
    char *end = NULL;
    errno = 0;
    unsigned long long seq = strtoull(id, &end, 10);
    if (errno || end == id || strcmp(end, "-0") != 0)
        return 0;
    return seq;
}

/* Index of a party in the policy; every party handed in comes from it. */
static size_t s_index(const wz_mailbox_t *self, const wz_party_t *party)
{
    assert(party >= self->policy->parties &&
           party < self->policy->parties + self->policy->n_parties);
    return (size_t)(party - self->policy->parties);
}

/* The last sequence of a mailbox: from the cache, else the newest entry. */
static int s_last_seq(wz_mailbox_t *self, const wz_party_t *party, const char *key, uint64_t *out)
{
    s_cache_t *c = &self->cache[s_index(self, party)];
    if (c->known) {
        *out = c->last;
        return 0;
    }
    redisReply *r = wz_store_cmd(self->store, "XREVRANGE %s + - COUNT 1", key);
    if (!r)
        return -1;
    uint64_t last = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        last = s_parse_id(r->element[0]->element[0]->str);
    freeReplyObject(r);
    c->last = last;
    c->known = true;
    *out = last;
    return 0;
}

/* Forgets the cached sequences of a transaction that never committed. */
static void s_forget_pending(wz_mailbox_t *self)
{
    for (size_t i = 0; i < self->n_pending; i++)
        self->cache[self->pending[i].party].known = false;
    self->n_pending = 0;
}

int wz_mailbox_append(wz_mailbox_t *self, wz_txn_t *txn, const WzEvent *ev)
{
    s_forget_pending(self);
    wz_recipient_t to[WZ_MAILBOX_MAX_RECIPIENTS];
    size_t n = wz_mailbox_recipients(self->policy, self->log, ev, to, WZ_MAILBOX_MAX_RECIPIENTS);
    for (size_t i = 0; i < n; i++) {
        const wz_party_t *party = to[i].party;
        if (!ev->region || strcmp(party->region, ev->region) != 0) {
            wz_log(self->log, WZ_LOG_WARN, "recipient of another region; skipped", "event",
                   s_event_id(ev), "party", party->id, "party_region", party->region,
                   "event_region", ev->region ? ev->region : "(none)", NULL);
            continue;
        }
        char key[KEY_MAX];
        uint64_t last = 0;
        if (wz_mailbox_key(self, party, key, sizeof key) != 0) {
            wz_log(self->log, WZ_LOG_ERROR, "mailbox key too long", "party", party->id, NULL);
            continue;
        }
        /* Remember the party before reading, so a failure below drops its cache. */
        size_t idx = s_index(self, party);
        self->pending[self->n_pending++] = (s_pending_t){idx, 0};
        if (wz_txn_watch(txn, key) != 0 || s_last_seq(self, party, key, &last) != 0)
            return -1;
        uint64_t seq = last + 1;
        /* Each party's mailbox holds only what it may see (wz_minimise). */
        WzEvent *view = wz_minimise_copy(ev, party);
        if (!view)
            return -1;
        WzDelivery d = WOONZORG__V1__DELIVERY__INIT;
        d.seq = seq;
        d.reason = (char *)to[i].reason;
        d.event = view;
        size_t len = 0;
        uint8_t *bytes = wz_codec_pack(&d.base, &len);
        WZ_FREE_UNPACKED(view);
        if (!bytes)
            return -1;
        int rc = wz_txn_cmd(txn, "XADD %s %" PRIu64 "-0 d %b", key, seq, bytes, len);
        free(bytes);
        if (rc != 0)
            return -1;
        self->pending[self->n_pending - 1].seq = seq;
    }
    return 0;
}

size_t wz_mailbox_committed(wz_mailbox_t *self, const wz_party_t **parties, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_pending; i++) {
        s_pending_t *p = &self->pending[i];
        self->cache[p->party].last = p->seq;
        self->cache[p->party].known = true;
        if (n < max)
            parties[n++] = &self->policy->parties[p->party];
    }
    self->n_pending = 0;
    return n;
}

int wz_mailbox_read(wz_mailbox_t *self, const wz_party_t *party, uint64_t after, size_t max,
                    wz_mailbox_entry_fn fn, void *arg)
{
    if (max == 0 || after == UINT64_MAX)
        return 0;
    char key[KEY_MAX];
    if (wz_mailbox_key(self, party, key, sizeof key) != 0)
        return -1;
    /* hiredis formats know no %zu. */
    redisReply *r = wz_store_cmd(self->store, "XRANGE %s %" PRIu64 "-0 + COUNT %llu", key,
                                 after + 1, (unsigned long long)max);
    if (!r)
        return -1;
    int handed = 0;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *entry = r->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
            entry->element[0]->type != REDIS_REPLY_STRING ||
            entry->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        uint64_t seq = s_parse_id(entry->element[0]->str);
        const redisReply *fields = entry->element[1];
        const redisReply *data = NULL;
        for (size_t j = 0; j + 1 < fields->elements; j += 2)
            if (fields->element[j]->type == REDIS_REPLY_STRING &&
                strcmp(fields->element[j]->str, "d") == 0)
                data = fields->element[j + 1];
        if (!seq || !data || data->type != REDIS_REPLY_STRING) {
            wz_log(self->log, WZ_LOG_ERROR, "mailbox entry without delivery skipped", "key", key,
                   "id", entry->element[0]->str, NULL);
            continue;
        }
        if (fn(arg, seq, (const uint8_t *)data->str, data->len) != 0)
            break;
        handed++;
    }
    freeReplyObject(r);
    return handed;
}

int wz_mailbox_acked(wz_mailbox_t *self, const wz_party_t *party, uint64_t *out)
{
    char key[KEY_MAX];
    uint64_t v = 0;
    if (wz_mailbox_acked_key(self, party, key, sizeof key) != 0 ||
        wz_store_get_u64(self->store, key, &v) < 0)
        return -1;
    *out = v;
    return 0;
}

int wz_mailbox_ack(wz_mailbox_t *self, wz_pub_t *pub, const wz_party_t *party, uint64_t up_to)
{
    char key[KEY_MAX], mailbox[KEY_MAX];
    uint64_t last = 0;
    if (wz_mailbox_acked_key(self, party, key, sizeof key) != 0 ||
        wz_mailbox_key(self, party, mailbox, sizeof mailbox) != 0 ||
        s_last_seq(self, party, mailbox, &last) != 0)
        return -1;
    if (up_to > last)
        return 2; /* acknowledges what was never delivered */
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        wz_txn_t *txn = wz_txn_begin(self->store, pub, party->region);
        if (!txn)
            return -1;
        uint64_t stored = 0;
        if (wz_txn_watch(txn, key) != 0 || wz_store_get_u64(self->store, key, &stored) < 0) {
            wz_txn_destroy(&txn);
            return -1;
        }
        if (stored >= up_to) {
            wz_txn_destroy(&txn);
            return 1;
        }
        Woonzorg__V1__NotificationDelivered nd = WOONZORG__V1__NOTIFICATION_DELIVERED__INIT;
        nd.party = (char *)party->id;
        nd.up_to_seq = up_to;
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.actor = (char *)party->id;
        ev.payload_case = PAYLOAD(NOTIFICATION_DELIVERED);
        ev.notification_delivered = &nd;
        /* What is acknowledged is never sent again (a session starts after
         * the acknowledged sequence): trim it, keeping the newest entry. */
        if (wz_txn_cmd(txn, "SET %s %" PRIu64, key, up_to) != 0 ||
            wz_txn_cmd(txn, "XTRIM %s MINID %" PRIu64 "-0", mailbox, up_to) != 0 ||
            wz_txn_emit(txn, &ev) == 0) {
            wz_txn_destroy(&txn);
            return -1;
        }
        int rc = wz_txn_commit(txn);
        wz_txn_destroy(&txn);
        if (rc == 0)
            return 0;
        if (rc < 0)
            return -1;
    }
    wz_log(self->log, WZ_LOG_WARN, "acknowledgement kept conflicting; not stored", "party",
           party->id, NULL);
    return -1;
}
