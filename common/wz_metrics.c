/* wz_metrics.c - one declarative table of metric families; series in a
 * small array (a service has tens of them, so a linear search is cheapest). */
#include "wz_metrics.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_COUNTER, S_GAUGE, S_HISTOGRAM } s_type_t;

typedef struct {
    const char *name;
    s_type_t type;
    const char *label1, *label2; /* label names, NULL when fewer */
    const char *help;
} s_family_t;

static const s_family_t s_families[] = {
    {WZ_M_REQUESTS, S_COUNTER, "type", "result",
     "Party requests answered, by request type and result code."},
    {WZ_M_EVENTS_IN, S_COUNTER, "producer", "type",
     "Events applied from another service's stream (each exactly once)."},
    {WZ_M_EVENTS_OUT, S_COUNTER, "type", NULL, "Events committed to this service's own outbox."},
    {WZ_M_CATCH_UPS, S_COUNTER, "producer", NULL,
     "Catch-ups from Redis that found events the subscription had missed."},
    {WZ_M_MAILBOX_DEPTH, S_GAUGE, "party", NULL,
     "Mailbox entries not yet acknowledged by the party."},
    {WZ_M_MAILBOX_AGE, S_GAUGE, "party", NULL,
     "Age of the oldest unacknowledged mailbox entry (0 when none)."},
    {WZ_M_SESSIONS, S_GAUGE, NULL, NULL, "Live party sessions on the mailbox endpoint."},
    {WZ_M_PROPOSALS, S_COUNTER, "outcome", NULL,
     "Proposals by outcome: created, accepted, declined, expired, cancelled, let."},
    {WZ_M_MATCH_SECONDS, S_HISTOGRAM, NULL, NULL,
     "Time to choose a candidate for one vacancy (policy filters and ranking)."},
    {WZ_M_REDIS_ERRORS, S_COUNTER, NULL, NULL,
     "Redis commands that failed (unreachable, timeout or error reply)."},
    {WZ_M_POLICY_RELOADS, S_COUNTER, "result", NULL,
     "Policy reloads on SIGHUP: applied, or refused (the old policy stays)."},
    {WZ_M_READY, S_GAUGE, NULL, NULL, "1 when the last readiness check passed, else 0."},
    {WZ_M_HANDSHAKES, S_COUNTER, "result", NULL,
     "CURVE handshakes on the party endpoint: succeeded, or refused by the ZAP handler (auth), "
     "for the protocol (no CURVE, wrong server key) or otherwise."},
    {WZ_M_EVENT_HANDSHAKES, S_COUNTER, "result", NULL,
     "CURVE handshakes on this service's event publisher (internal_curve): succeeded, refused "
     "by the ZAP handler (auth: not a service key), for the protocol (no CURVE, wrong server "
     "key) or otherwise."},
};
#define N_FAMILIES (sizeof s_families / sizeof s_families[0])

/* Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
static const double s_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define N_BOUNDS (sizeof s_bounds / sizeof s_bounds[0])

#define LABEL_MAX 64
#define MAX_COLLECTORS 8

typedef struct {
    size_t family;
    char l1[LABEL_MAX], l2[LABEL_MAX];
    double value;               /* counter, gauge; histogram: sum */
    uint64_t count;             /* histogram */
    uint64_t buckets[N_BOUNDS]; /* histogram, not cumulative */
} s_series_t;

struct wz_metrics_t {
    char service[32];
    s_series_t *series;
    size_t n_series, cap;
    struct {
        wz_metrics_collect_fn fn;
        void *arg;
    } collectors[MAX_COLLECTORS];
    size_t n_collectors;
};

wz_metrics_t *wz_metrics_new(const char *service)
{
    wz_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->service, sizeof self->service, "%s", service ? service : "");
    return self;
}

void wz_metrics_destroy(wz_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->series);
    free(*self_p);
    *self_p = NULL;
}

static size_t s_family(const char *name, s_type_t type)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (strcmp(s_families[i].name, name) == 0) {
            assert(s_families[i].type == type);
            (void)type;
            return i;
        }
    assert(!"undeclared metric family");
    return N_FAMILIES;
}

/* The series of family with these label values; created if absent. NULL on OOM. */
static s_series_t *s_series(wz_metrics_t *self, size_t family, const char *l1, const char *l2)
{
    if (family >= N_FAMILIES)
        return NULL;
    l1 = s_families[family].label1 ? (l1 ? l1 : "") : "";
    l2 = s_families[family].label2 ? (l2 ? l2 : "") : "";
    for (size_t i = 0; i < self->n_series; i++) {
        s_series_t *s = &self->series[i];
        /* Label values are cut to LABEL_MAX - 1 when stored; compare the same way. */
        if (s->family == family && strncmp(s->l1, l1, LABEL_MAX - 1) == 0 &&
            strncmp(s->l2, l2, LABEL_MAX - 1) == 0)
            return s;
    }
    if (self->n_series == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 32;
        s_series_t *grown = realloc(self->series, cap * sizeof *grown);
        if (!grown)
            return NULL;
        self->series = grown;
        self->cap = cap;
    }
    s_series_t *s = &self->series[self->n_series++];
    memset(s, 0, sizeof *s);
    s->family = family;
    snprintf(s->l1, sizeof s->l1, "%s", l1);
    snprintf(s->l2, sizeof s->l2, "%s", l2);
    return s;
}

void wz_metrics_add(wz_metrics_t *self, const char *family, const char *label1, const char *label2,
                    double by)
{
    if (!self || !(by >= 0))
        return;
    s_series_t *s = s_series(self, s_family(family, S_COUNTER), label1, label2);
    if (s)
        s->value += by;
}

void wz_metrics_set(wz_metrics_t *self, const char *family, const char *label1, double value)
{
    if (!self)
        return;
    s_series_t *s = s_series(self, s_family(family, S_GAUGE), label1, NULL);
    if (s)
        s->value = value;
}

void wz_metrics_observe(wz_metrics_t *self, const char *family, double value)
{
    if (!self || isnan(value))
        return;
    s_series_t *s = s_series(self, s_family(family, S_HISTOGRAM), NULL, NULL);
    if (!s)
        return;
    s->value += value;
    s->count++;
    for (size_t i = 0; i < N_BOUNDS; i++)
        if (value <= s_bounds[i]) {
            s->buckets[i]++;
            break;
        }
}

double wz_metrics_get(const wz_metrics_t *self, const char *family, const char *label1,
                      const char *label2)
{
    if (!self)
        return 0;
    for (size_t f = 0; f < N_FAMILIES; f++) {
        if (strcmp(s_families[f].name, family) != 0)
            continue;
        const char *l1 = s_families[f].label1 && label1 ? label1 : "";
        const char *l2 = s_families[f].label2 && label2 ? label2 : "";
        for (size_t i = 0; i < self->n_series; i++) {
            const s_series_t *s = &self->series[i];
            if (s->family == f && strcmp(s->l1, l1) == 0 && strcmp(s->l2, l2) == 0)
                return s_families[f].type == S_HISTOGRAM ? (double)s->count : s->value;
        }
    }
    return 0;
}

const char *wz_metrics_event_type(const WzEvent *ev)
{
    if (!ev || ev->payload_case == WOONZORG__V1__EVENT__PAYLOAD__NOT_SET)
        return "unknown";
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(
        &woonzorg__v1__event__descriptor, (unsigned)ev->payload_case);
    return field ? field->name : "unknown";
}

/* The outcome a proposal reached with this event, or NULL if none. */
static const char *s_outcome(const WzEvent *ev)
{
    switch (ev->payload_case) {
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED:
        return "created";
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED:
        return ev->proposal_answered && ev->proposal_answered->accepted ? "accepted" : "declined";
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_EXPIRED:
        return "expired";
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CANCELLED:
        return "cancelled";
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_LET:
        return "let";
    default:
        return NULL;
    }
}

void wz_metrics_event(wz_metrics_t *self, bool in, const char *producer, const WzEvent *ev)
{
    if (!self || !ev)
        return;
    const char *type = wz_metrics_event_type(ev);
    if (in)
        wz_metrics_add(self, WZ_M_EVENTS_IN, producer, type, 1);
    else
        wz_metrics_add(self, WZ_M_EVENTS_OUT, type, NULL, 1);
    /* Matching owns proposals: it emits created/expired/cancelled/let and is
     * the one consumer of the answers, so only there is each outcome counted
     * exactly once across the suite. */
    const char *outcome = s_outcome(ev);
    if (outcome && strcmp(self->service, "matching") == 0 &&
        (in == (ev->payload_case == WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED)))
        wz_metrics_add(self, WZ_M_PROPOSALS, outcome, NULL, 1);
}

int wz_metrics_add_collector(wz_metrics_t *self, wz_metrics_collect_fn fn, void *arg)
{
    if (!self || !fn || self->n_collectors == MAX_COLLECTORS)
        return -1;
    self->collectors[self->n_collectors].fn = fn;
    self->collectors[self->n_collectors].arg = arg;
    self->n_collectors++;
    return 0;
}

/* --- rendering ------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
    bool broken;
} s_buf_t;

static void s_printf(s_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_printf(s_buf_t *b, const char *fmt, ...)
{
    if (b->broken)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->broken = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->broken = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void s_label_value(s_buf_t *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            s_printf(b, "\\%c", *v);
        else if (*v == '\n')
            s_printf(b, "\\n");
        else
            s_printf(b, "%c", *v);
    }
}

static void s_labels(s_buf_t *b, const s_family_t *f, const s_series_t *s, const char *le)
{
    const char *names[3] = {f->label1, f->label2, le ? "le" : NULL};
    const char *values[3] = {s->l1, s->l2, le};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        if (!names[i])
            continue;
        s_printf(b, "%s%s=\"", any ? "," : "{", names[i]);
        s_label_value(b, values[i]);
        s_printf(b, "\"");
        any = true;
    }
    if (any)
        s_printf(b, "}");
}

static void s_number(s_buf_t *b, double v)
{
    if (isinf(v))
        s_printf(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        s_printf(b, "%lld", (long long)v);
    else
        s_printf(b, "%.9g", v);
}

char *wz_metrics_render(wz_metrics_t *self, size_t *len)
{
    for (size_t i = 0; i < self->n_collectors; i++)
        self->collectors[i].fn(self->collectors[i].arg, self);
    s_buf_t b = {malloc(4096), 0, 4096, false};
    if (!b.data)
        return NULL;
    b.data[0] = '\0';
    static const char *type_names[] = {"counter", "gauge", "histogram"};
    s_printf(&b, "# HELP wz_up 1 while the service runs; service names it.\n"
                 "# TYPE wz_up gauge\nwz_up{service=\"");
    s_label_value(&b, self->service);
    s_printf(&b, "\"} 1\n");
    for (size_t f = 0; f < N_FAMILIES; f++) {
        const s_family_t *fam = &s_families[f];
        s_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                 type_names[fam->type]);
        bool any = false;
        for (size_t i = 0; i < self->n_series; i++) {
            const s_series_t *s = &self->series[i];
            if (s->family != f)
                continue;
            any = true;
            if (fam->type != S_HISTOGRAM) {
                s_printf(&b, "%s", fam->name);
                s_labels(&b, fam, s, NULL);
                s_printf(&b, " ");
                s_number(&b, s->value);
                s_printf(&b, "\n");
                continue;
            }
            uint64_t cumulative = 0;
            for (size_t k = 0; k <= N_BOUNDS; k++) {
                char le[32];
                if (k < N_BOUNDS) {
                    cumulative += s->buckets[k];
                    snprintf(le, sizeof le, "%g", s_bounds[k]);
                } else {
                    cumulative = s->count;
                    snprintf(le, sizeof le, "+Inf");
                }
                s_printf(&b, "%s_bucket", fam->name);
                s_labels(&b, fam, s, le);
                s_printf(&b, " %llu\n", (unsigned long long)cumulative);
            }
            s_printf(&b, "%s_sum ", fam->name);
            s_number(&b, s->value);
            s_printf(&b, "\n%s_count %llu\n", fam->name, (unsigned long long)s->count);
        }
        /* An unlabelled family shows 0 from the start, so a rate() over it
         * has a first sample; labelled ones appear with their first value. */
        if (!any && !fam->label1 && fam->type != S_HISTOGRAM)
            s_printf(&b, "%s 0\n", fam->name);
        else if (!any && fam->type == S_HISTOGRAM) {
            for (size_t k = 0; k < N_BOUNDS; k++)
                s_printf(&b, "%s_bucket{le=\"%g\"} 0\n", fam->name, s_bounds[k]);
            s_printf(&b, "%s_bucket{le=\"+Inf\"} 0\n%s_sum 0\n%s_count 0\n", fam->name, fam->name,
                     fam->name);
        }
    }
    if (b.broken) {
        free(b.data);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}
