/* wz_report.c - event-sourced report figures (see wz_report.h and
 * docs/reports.md). */
#include "wz_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wz_calendar.h"
#include "wz_util.h"

#define BUCKETS 1024

/* A string-keyed lookup: vacancy -> published, proposal -> vacancy's
 * municipality, candidate -> urgency granted. */
typedef struct s_entry_t {
    struct s_entry_t *next;
    int64_t ms;
    char key[2 * WZ_REPORT_KEY_MAX + 2];
    char value[WZ_REPORT_KEY_MAX];
} s_entry_t;

typedef struct {
    s_entry_t *b[BUCKETS];
} s_map_t;

struct wz_report_t {
    wz_period_t period;
    const wz_policy_t *policy;
    wz_report_row_t *rows;
    size_t n_rows, cap_rows;
    bool sorted;
    wz_report_contingent_t *cont;
    size_t n_cont, cap_cont;
    wz_report_let_t *lets;
    size_t n_lets, cap_lets;
    s_map_t vacancies, proposals, urgencies;
    size_t skipped;
};

static const char *s_dim_names[WZ_DIM_COUNT] = {"region", "municipality", "corporation",
                                                "care_provider"};

const char *wz_dim_name(wz_dim_t dim)
{
    return dim < WZ_DIM_COUNT ? s_dim_names[dim] : "?";
}

int wz_dim_parse(const char *name)
{
    for (int i = 0; i < WZ_DIM_COUNT; i++)
        if (!strcmp(name, s_dim_names[i]))
            return i;
    return -1;
}

int wz_period_parse(const char *name)
{
    if (!strcmp(name, "month"))
        return WZ_PERIOD_MONTH;
    if (!strcmp(name, "quarter"))
        return WZ_PERIOD_QUARTER;
    if (!strcmp(name, "year"))
        return WZ_PERIOD_YEAR;
    return -1;
}

/* --- map ------------------------------------------------------------------------------ */

static unsigned s_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

static s_entry_t *s_map_get(s_map_t *m, const char *key)
{
    for (s_entry_t *e = m->b[s_hash(key)]; e; e = e->next)
        if (!strcmp(e->key, key))
            return e;
    return NULL;
}

static s_entry_t *s_map_put(s_map_t *m, const char *key)
{
    s_entry_t *e = s_map_get(m, key);
    if (e)
        return e;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    snprintf(e->key, sizeof e->key, "%s", key);
    unsigned h = s_hash(e->key);
    e->next = m->b[h];
    m->b[h] = e;
    return e;
}

static void s_map_free(s_map_t *m)
{
    for (size_t i = 0; i < BUCKETS; i++)
        while (m->b[i]) {
            s_entry_t *e = m->b[i];
            m->b[i] = e->next;
            free(e);
        }
}

/* --- lifetime ------------------------------------------------------------------------- */

wz_report_t *wz_report_new(wz_period_t period, const wz_policy_t *policy)
{
    wz_report_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->period = period;
    self->policy = policy;
    return self;
}

static void s_row_free(wz_report_row_t *r)
{
    free(r->offered_by_scheme);
    free(r->refusals_by_reason);
    free(r->wait.days);
    free(r->vacancy_let.days);
}

void wz_report_destroy(wz_report_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_report_t *self = *self_p;
    for (size_t i = 0; i < self->n_rows; i++)
        s_row_free(&self->rows[i]);
    free(self->rows);
    free(self->cont);
    free(self->lets);
    s_map_free(&self->vacancies);
    s_map_free(&self->proposals);
    s_map_free(&self->urgencies);
    free(self);
    *self_p = NULL;
}

size_t wz_report_skipped(const wz_report_t *self)
{
    return self->skipped;
}

/* --- helpers -------------------------------------------------------------------------- */

void wz_report_period_key(wz_period_t period, int64_t ms, char *out, size_t outlen)
{
    int64_t dn = wz_day_of_ms(ms);
    int y, m, d;
    wz_civil_from_day(dn, &y, &m, &d);
    if (period == WZ_PERIOD_YEAR)
        snprintf(out, outlen, "%04d", y);
    else if (period == WZ_PERIOD_QUARTER)
        snprintf(out, outlen, "%04d-Q%d", y, (m - 1) / 3 + 1);
    else
        snprintf(out, outlen, "%04d-%02d", y, m);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double wz_report_percentile(const wz_report_times_t *t, double p)
{
    if (!t->n)
        return 0;
    qsort(t->days, t->n, sizeof *t->days, s_cmp_double);
    size_t rank = (size_t)ceil(p / 100.0 * (double)t->n);
    if (rank < 1)
        rank = 1;
    if (rank > t->n)
        rank = t->n;
    return t->days[rank - 1];
}

static int s_times_add(wz_report_times_t *t, double days)
{
    double *d = wz_grow(t->days, &t->cap, t->n + 1, sizeof *d);
    if (!d)
        return -1;
    t->days = d;
    t->days[t->n++] = days;
    return 0;
}

static int s_count_add(wz_report_count_t **v, size_t *n, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i].key, key)) {
            (*v)[i].n++;
            return 0;
        }
    wz_report_count_t *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    memset(&nv[*n], 0, sizeof nv[*n]);
    snprintf(nv[*n].key, sizeof nv[*n].key, "%s", key);
    nv[*n].n = 1;
    (*n)++;
    return 0;
}

/* The index + 1 of the row (period, dim, name), made when new; 0 on OOM. */
static size_t s_row(wz_report_t *self, const char *period, wz_dim_t dim, const char *name)
{
    for (size_t i = 0; i < self->n_rows; i++) {
        wz_report_row_t *r = &self->rows[i];
        if (r->dim == dim && !strcmp(r->period, period) && !strcmp(r->name, name))
            return i + 1;
    }
    wz_report_row_t *nr = wz_grow(self->rows, &self->cap_rows, self->n_rows + 1, sizeof *nr);
    if (!nr)
        return 0;
    self->rows = nr;
    wz_report_row_t *r = &self->rows[self->n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->period, sizeof r->period, "%s", period);
    r->dim = dim;
    snprintf(r->name, sizeof r->name, "%s", name);
    self->sorted = false;
    return self->n_rows;
}

/* The rows one fact goes to: names[dim] (NULL or "" skips that dimension).
 * Indices + 1, not pointers: making a later row may move the array. */
typedef struct {
    size_t r[WZ_DIM_COUNT];
} s_rows_t;

static int s_rows(wz_report_t *self, int64_t ms, const char *names[WZ_DIM_COUNT], s_rows_t *out)
{
    char period[12];
    wz_report_period_key(self->period, ms, period, sizeof period);
    for (int d = 0; d < WZ_DIM_COUNT; d++) {
        out->r[d] = 0;
        if (names[d] && *names[d]) {
            out->r[d] = s_row(self, period, (wz_dim_t)d, names[d]);
            if (!out->r[d])
                return -1;
        }
    }
    return 0;
}

#define EACH_ROW(rs, stmt)                                                                         \
    for (int d_ = 0; d_ < WZ_DIM_COUNT; d_++)                                                      \
        if ((rs).r[d_]) {                                                                          \
            wz_report_row_t *row = &self->rows[(rs).r[d_] - 1];                                                     \
            stmt;                                                                                  \
        }

static const char *s_str(const char *s)
{
    return s ? s : "";
}

/* A reason's policy id: the text up to ": " (the note may hold anything). */
static void s_reason_id(const char *reason, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = s_str(reason); *p && *p != ':' && *p != ' ' && n + 1 < outlen; p++)
        out[n++] = *p;
    out[n] = '\0';
    if (!n)
        snprintf(out, outlen, "unknown");
}

static int s_contingent_use(wz_report_t *self, int year, const char *scheme, const char *muni,
                            const char *corp)
{
    for (size_t i = 0; i < self->n_cont; i++) {
        wz_report_contingent_t *c = &self->cont[i];
        if (c->year == year && !strcmp(c->scheme, scheme) && !strcmp(c->municipality, muni) &&
            !strcmp(c->corporation, corp)) {
            c->used++;
            return 0;
        }
    }
    wz_report_contingent_t *nc = wz_grow(self->cont, &self->cap_cont, self->n_cont + 1, sizeof *nc);
    if (!nc)
        return -1;
    self->cont = nc;
    wz_report_contingent_t *c = &self->cont[self->n_cont++];
    memset(c, 0, sizeof *c);
    c->year = year;
    snprintf(c->scheme, sizeof c->scheme, "%s", scheme);
    snprintf(c->municipality, sizeof c->municipality, "%s", muni);
    snprintf(c->corporation, sizeof c->corporation, "%s", corp);
    const wz_scheme_t *s = self->policy ? wz_policy_scheme(self->policy, scheme) : NULL;
    c->target = s ? wz_scheme_contingent(s, muni, corp, year) : -1;
    c->used = 1;
    return 0;
}

/* The scheme a vacancy goes through: its own, else the region's default. */
static void s_scheme_of(const wz_report_t *self, const char *region, const WzVacancy *v,
                        int64_t ms, char *out, size_t outlen)
{
    if (v->scheme && *v->scheme) {
        snprintf(out, outlen, "%s", v->scheme);
        return;
    }
    const wz_scheme_t *s = self->policy ? wz_policy_default_scheme(self->policy, region,
                                                                   s_str(v->corporation),
                                                                   wz_day_of_ms(ms))
                                        : NULL;
    snprintf(out, outlen, "%s", s ? s->id : "-");
}

static void s_key2(char *out, size_t outlen, const char *region, const char *id)
{
    snprintf(out, outlen, "%s/%s", s_str(region), s_str(id));
}

/* --- counting ------------------------------------------------------------------------- */

int wz_report_add(wz_report_t *self, const WzEvent *ev)
{
    const char *region = s_str(ev->region);
    int64_t ms = ev->occurred_ms;
    char key[2 * WZ_REPORT_KEY_MAX + 2];
    s_rows_t rs;
    switch (ev->payload_case) {
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED: {
        const WzVacancy *v = ev->vacancy_published->vacancy;
        if (!v)
            break;
        s_key2(key, sizeof key, region, v->id);
        s_entry_t *e = s_map_get(&self->vacancies, key);
        if (e) /* an update of a published vacancy is no new offer */
            break;
        if (!(e = s_map_put(&self->vacancies, key)))
            return -1;
        e->ms = ms;
        char scheme[WZ_REPORT_KEY_MAX];
        s_scheme_of(self, region, v, ms, scheme, sizeof scheme);
        const char *names[WZ_DIM_COUNT] = {region, v->municipality, v->corporation, NULL};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        EACH_ROW(rs, {
            row->offered++;
            if (s_count_add(&row->offered_by_scheme, &row->n_offered_by_scheme, scheme) != 0)
                return -1;
        });
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED: {
        const Woonzorg__V1__UrgencyGranted *u = ev->urgency_granted;
        if (u->extend)
            break;
        s_key2(key, sizeof key, region, u->candidate_id);
        s_entry_t *e = s_map_put(&self->urgencies, key);
        if (!e)
            return -1;
        /* The grant date when given (it may lie before the event), else the event. */
        e->ms = u->date && u->date->year
                    ? wz_day_from_civil(u->date->year, u->date->month, u->date->day) * 86400000LL
                    : ms;
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED: {
        const WzProposal *p = ev->proposal_created->proposal;
        const WzVacancy *v = ev->proposal_created->vacancy;
        if (!p)
            break;
        s_key2(key, sizeof key, region, p->id);
        s_entry_t *e = s_map_put(&self->proposals, key);
        if (!e)
            return -1;
        snprintf(e->value, sizeof e->value, "%s", v ? s_str(v->municipality) : "");
        const char *names[WZ_DIM_COUNT] = {region, e->value, p->corporation, p->care_provider};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        EACH_ROW(rs, row->proposals++);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED:
    case WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_EXPIRED: {
        bool answered = ev->payload_case == WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED;
        const WzProposal *p =
            answered ? ev->proposal_answered->proposal : ev->proposal_expired->proposal;
        if (!p)
            break;
        s_key2(key, sizeof key, region, p->id);
        s_entry_t *e = s_map_get(&self->proposals, key);
        const char *names[WZ_DIM_COUNT] = {region, e ? e->value : NULL, p->corporation,
                                           p->care_provider};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        if (!answered) {
            EACH_ROW(rs, row->expiries++);
        } else if (ev->proposal_answered->accepted) {
            EACH_ROW(rs, row->acceptances++);
        } else {
            char reason[WZ_REPORT_KEY_MAX];
            const char *r = ev->proposal_answered->reason;
            s_reason_id(r && *r ? r : p->decline_reason, reason, sizeof reason);
            EACH_ROW(rs, {
                row->refusals++;
                if (s_count_add(&row->refusals_by_reason, &row->n_refusals_by_reason, reason))
                    return -1;
            });
        }
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_RELEASED: {
        const WzVacancy *v = ev->vacancy_released->vacancy;
        if (!v)
            break;
        const char *names[WZ_DIM_COUNT] = {region, v->municipality, v->corporation, NULL};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        EACH_ROW(rs, row->releases++);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_VACANCY_LET: {
        const WzVacancy *v = ev->vacancy_let->vacancy;
        const WzProposal *p = ev->vacancy_let->proposal;
        if (!v || !p)
            break;
        const char *names[WZ_DIM_COUNT] = {region, v->municipality, v->corporation,
                                           p->care_provider};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        s_key2(key, sizeof key, region, p->candidate_id);
        const s_entry_t *u = s_map_get(&self->urgencies, key);
        s_key2(key, sizeof key, region, v->id);
        const s_entry_t *pub = s_map_get(&self->vacancies, key);
        EACH_ROW(rs, {
            row->lets++;
            if (u && s_times_add(&row->wait, (double)(ms - u->ms) / 86400000.0) != 0)
                return -1;
            if (pub && s_times_add(&row->vacancy_let, (double)(ms - pub->ms) / 86400000.0) != 0)
                return -1;
        });
        char scheme[WZ_REPORT_KEY_MAX];
        if (p->scheme && *p->scheme)
            snprintf(scheme, sizeof scheme, "%s", p->scheme);
        else
            s_scheme_of(self, region, v, ms, scheme, sizeof scheme);
        int y, m, d;
        wz_civil_from_day(wz_day_of_ms(ms), &y, &m, &d);
        if (s_contingent_use(self, y, scheme, s_str(v->municipality), s_str(v->corporation)))
            return -1;
        wz_report_let_t *nl = wz_grow(self->lets, &self->cap_lets, self->n_lets + 1, sizeof *nl);
        if (!nl)
            return -1;
        self->lets = nl;
        wz_report_let_t *l = &self->lets[self->n_lets++];
        memset(l, 0, sizeof *l);
        l->ms = ms;
        snprintf(l->region, sizeof l->region, "%s", region);
        snprintf(l->municipality, sizeof l->municipality, "%s", s_str(v->municipality));
        snprintf(l->neighbourhood, sizeof l->neighbourhood, "%s", s_str(v->neighbourhood));
        snprintf(l->scheme, sizeof l->scheme, "%s", scheme);
        break;
    }
    case WOONZORG__V1__EVENT__PAYLOAD_URGENCY_LAPSED: {
        const Woonzorg__V1__UrgencyLapsed *u = ev->urgency_lapsed;
        const char *names[WZ_DIM_COUNT] = {region, u->municipality, NULL, u->care_provider};
        if (s_rows(self, ms, names, &rs) != 0)
            return -1;
        EACH_ROW(rs, row->lapsed++);
        break;
    }
    default:
        break;
    }
    return 0;
}

int wz_report_add_bytes(wz_report_t *self, const uint8_t *data, size_t len)
{
    WzEvent *ev = woonzorg__v1__event__unpack(NULL, len, data);
    if (!ev) {
        self->skipped++;
        return 0;
    }
    int rc = wz_report_add(self, ev);
    woonzorg__v1__event__free_unpacked(ev, NULL);
    return rc;
}

/* --- reading -------------------------------------------------------------------------- */

static int s_row_cmp(const void *a, const void *b)
{
    const wz_report_row_t *x = a, *y = b;
    int c = strcmp(x->period, y->period);
    if (c)
        return c;
    if (x->dim != y->dim)
        return x->dim < y->dim ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int s_cont_cmp(const void *a, const void *b)
{
    const wz_report_contingent_t *x = a, *y = b;
    if (x->year != y->year)
        return x->year < y->year ? -1 : 1;
    int c = strcmp(x->scheme, y->scheme);
    if (!c)
        c = strcmp(x->municipality, y->municipality);
    return c ? c : strcmp(x->corporation, y->corporation);
}

const wz_report_row_t *wz_report_rows(wz_report_t *self, size_t *n)
{
    if (!self->sorted && self->n_rows) {
        qsort(self->rows, self->n_rows, sizeof *self->rows, s_row_cmp);
        qsort(self->cont, self->n_cont, sizeof *self->cont, s_cont_cmp);
    }
    self->sorted = true;
    *n = self->n_rows;
    return self->rows;
}

const wz_report_row_t *wz_report_find(wz_report_t *self, const char *period, wz_dim_t dim,
                                      const char *name)
{
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(self, &n);
    for (size_t i = 0; i < n; i++)
        if (rows[i].dim == dim && !strcmp(rows[i].period, period) && !strcmp(rows[i].name, name))
            return &rows[i];
    return NULL;
}

const wz_report_contingent_t *wz_report_contingents(wz_report_t *self, size_t *n)
{
    size_t rows;
    wz_report_rows(self, &rows);
    if (self->n_cont)
        qsort(self->cont, self->n_cont, sizeof *self->cont, s_cont_cmp);
    *n = self->n_cont;
    return self->cont;
}

const wz_report_let_t *wz_report_lets(const wz_report_t *self, size_t *n)
{
    *n = self->n_lets;
    return self->lets;
}

/* --- writing -------------------------------------------------------------------------- */

/* Ids in our events are policy ids (A-Z a-z 0-9 . _ -); anything else is
 * written as '?' so CSV and JSON stay well-formed whatever the trail holds. */
static void s_safe(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in && n + 1 < outlen; in++) {
        char c = *in;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._-/", c);
        out[n++] = ok ? c : '?';
    }
    out[n] = '\0';
}

static void s_counts_text(const wz_report_count_t *c, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++) {
        char k[WZ_REPORT_KEY_MAX];
        s_safe(c[i].key, k, sizeof k);
        int w = snprintf(out + used, outlen - used, "%s%s=%llu", i ? " " : "", k,
                         (unsigned long long)c[i].n);
        used += w > 0 ? (size_t)w : 0;
    }
}

static int s_write_table(wz_report_t *self, FILE *out, int dim)
{
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(self, &n);
    fprintf(out, "%-8s %-13s %-22s %7s %9s %8s %8s %8s %5s %8s %7s %9s %9s %10s\n", "period",
            "dimension", "name", "offered", "proposals", "accepted", "refused", "expired", "lets",
            "released", "lapsed", "wait_med", "wait_p90", "vac_to_let");
    for (size_t i = 0; i < n; i++) {
        const wz_report_row_t *r = &rows[i];
        if (dim != WZ_DIM_COUNT && (int)r->dim != dim)
            continue;
        char name[WZ_REPORT_KEY_MAX];
        s_safe(r->name, name, sizeof name);
        fprintf(out, "%-8s %-13s %-22s %7llu %9llu %8llu %8llu %8llu %5llu %8llu %7llu", r->period,
                wz_dim_name(r->dim), name, (unsigned long long)r->offered,
                (unsigned long long)r->proposals, (unsigned long long)r->acceptances,
                (unsigned long long)r->refusals, (unsigned long long)r->expiries,
                (unsigned long long)r->lets, (unsigned long long)r->releases,
                (unsigned long long)r->lapsed);
        if (r->wait.n)
            fprintf(out, " %9.1f %9.1f", wz_report_percentile(&r->wait, 50),
                    wz_report_percentile(&r->wait, 90));
        else
            fprintf(out, " %9s %9s", "-", "-");
        if (r->vacancy_let.n)
            fprintf(out, " %10.1f\n", wz_report_percentile(&r->vacancy_let, 50));
        else
            fprintf(out, " %10s\n", "-");
        char text[1024];
        if (r->n_offered_by_scheme) {
            s_counts_text(r->offered_by_scheme, r->n_offered_by_scheme, text, sizeof text);
            fprintf(out, "%-45s offered per scheme: %s\n", "", text);
        }
        if (r->n_refusals_by_reason) {
            s_counts_text(r->refusals_by_reason, r->n_refusals_by_reason, text, sizeof text);
            fprintf(out, "%-45s refused per reason: %s\n", "", text);
        }
    }
    size_t nc;
    const wz_report_contingent_t *c = wz_report_contingents(self, &nc);
    if (nc)
        fprintf(out, "\n%-6s %-22s %-16s %-22s %6s %6s\n", "year", "scheme", "municipality",
                "corporation", "target", "used");
    for (size_t i = 0; i < nc; i++) {
        char t[16];
        if (c[i].target >= 0)
            snprintf(t, sizeof t, "%d", c[i].target);
        else
            snprintf(t, sizeof t, "-");
        char s[WZ_REPORT_KEY_MAX], m[WZ_REPORT_KEY_MAX], k[WZ_REPORT_KEY_MAX];
        s_safe(c[i].scheme, s, sizeof s);
        s_safe(c[i].municipality, m, sizeof m);
        s_safe(c[i].corporation, k, sizeof k);
        fprintf(out, "%-6d %-22s %-16s %-22s %6s %6llu\n", c[i].year, s, m, k, t,
                (unsigned long long)c[i].used);
    }
    return ferror(out) ? -1 : 0;
}

/* CSV: one figure per line, so that breakdowns need no variable columns. */
static int s_write_csv(wz_report_t *self, FILE *out, int dim)
{
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(self, &n);
    fprintf(out, "period,dimension,name,figure,key,value\n");
    for (size_t i = 0; i < n; i++) {
        const wz_report_row_t *r = &rows[i];
        if (dim != WZ_DIM_COUNT && (int)r->dim != dim)
            continue;
        char name[WZ_REPORT_KEY_MAX];
        s_safe(r->name, name, sizeof name);
        const char *d = wz_dim_name(r->dim);
#define ROW(fig, v) fprintf(out, "%s,%s,%s,%s,,%llu\n", r->period, d, name, fig, (unsigned long long)(v))
        ROW("offered", r->offered);
        ROW("proposals", r->proposals);
        ROW("acceptances", r->acceptances);
        ROW("refusals", r->refusals);
        ROW("expiries", r->expiries);
        ROW("lets", r->lets);
        ROW("releases", r->releases);
        ROW("lapsed", r->lapsed);
#undef ROW
        for (size_t k = 0; k < r->n_offered_by_scheme; k++) {
            char key[WZ_REPORT_KEY_MAX];
            s_safe(r->offered_by_scheme[k].key, key, sizeof key);
            fprintf(out, "%s,%s,%s,offered_by_scheme,%s,%llu\n", r->period, d, name, key,
                    (unsigned long long)r->offered_by_scheme[k].n);
        }
        for (size_t k = 0; k < r->n_refusals_by_reason; k++) {
            char key[WZ_REPORT_KEY_MAX];
            s_safe(r->refusals_by_reason[k].key, key, sizeof key);
            fprintf(out, "%s,%s,%s,refusals_by_reason,%s,%llu\n", r->period, d, name, key,
                    (unsigned long long)r->refusals_by_reason[k].n);
        }
        if (r->wait.n)
            fprintf(out, "%s,%s,%s,wait_days,median,%.1f\n%s,%s,%s,wait_days,p90,%.1f\n",
                    r->period, d, name, wz_report_percentile(&r->wait, 50), r->period, d, name,
                    wz_report_percentile(&r->wait, 90));
        if (r->vacancy_let.n)
            fprintf(out,
                    "%s,%s,%s,vacancy_to_let_days,median,%.1f\n%s,%s,%s,vacancy_to_let_days,p90,"
                    "%.1f\n",
                    r->period, d, name, wz_report_percentile(&r->vacancy_let, 50), r->period, d,
                    name, wz_report_percentile(&r->vacancy_let, 90));
    }
    size_t nc;
    const wz_report_contingent_t *c = wz_report_contingents(self, &nc);
    for (size_t i = 0; i < nc; i++) {
        char s[WZ_REPORT_KEY_MAX], m[WZ_REPORT_KEY_MAX], k[WZ_REPORT_KEY_MAX];
        s_safe(c[i].scheme, s, sizeof s);
        s_safe(c[i].municipality, m, sizeof m);
        s_safe(c[i].corporation, k, sizeof k);
        fprintf(out, "%d,contingent,%s/%s/%s,target,,%d\n%d,contingent,%s/%s/%s,used,,%llu\n",
                c[i].year, s, m, k, c[i].target, c[i].year, s, m, k,
                (unsigned long long)c[i].used);
    }
    return ferror(out) ? -1 : 0;
}

static void s_json_counts(FILE *out, const char *key, const wz_report_count_t *c, size_t n)
{
    fprintf(out, ",\"%s\":{", key);
    for (size_t i = 0; i < n; i++) {
        char k[WZ_REPORT_KEY_MAX];
        s_safe(c[i].key, k, sizeof k);
        fprintf(out, "%s\"%s\":%llu", i ? "," : "", k, (unsigned long long)c[i].n);
    }
    fputc('}', out);
}

static void s_json_times(FILE *out, const char *key, const wz_report_times_t *t)
{
    if (!t->n) {
        fprintf(out, ",\"%s\":{\"n\":0,\"median\":null,\"p90\":null}", key);
        return;
    }
    fprintf(out, ",\"%s\":{\"n\":%zu,\"median\":%.1f,\"p90\":%.1f}", key, t->n,
            wz_report_percentile(t, 50), wz_report_percentile(t, 90));
}

static int s_write_json(wz_report_t *self, FILE *out, int dim)
{
    static const char *periods[] = {"month", "quarter", "year"};
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(self, &n);
    fprintf(out, "{\"period\":\"%s\",\"rows\":[", periods[self->period]);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const wz_report_row_t *r = &rows[i];
        if (dim != WZ_DIM_COUNT && (int)r->dim != dim)
            continue;
        char name[WZ_REPORT_KEY_MAX];
        s_safe(r->name, name, sizeof name);
        fprintf(out,
                "%s{\"period\":\"%s\",\"dimension\":\"%s\",\"name\":\"%s\",\"offered\":%llu,"
                "\"proposals\":%llu,\"acceptances\":%llu,\"refusals\":%llu,\"expiries\":%llu,"
                "\"lets\":%llu,\"releases\":%llu,\"lapsed\":%llu",
                first ? "" : ",", r->period, wz_dim_name(r->dim), name,
                (unsigned long long)r->offered, (unsigned long long)r->proposals,
                (unsigned long long)r->acceptances, (unsigned long long)r->refusals,
                (unsigned long long)r->expiries, (unsigned long long)r->lets,
                (unsigned long long)r->releases, (unsigned long long)r->lapsed);
        s_json_counts(out, "offered_by_scheme", r->offered_by_scheme, r->n_offered_by_scheme);
        s_json_counts(out, "refusals_by_reason", r->refusals_by_reason, r->n_refusals_by_reason);
        s_json_times(out, "wait_days", &r->wait);
        s_json_times(out, "vacancy_to_let_days", &r->vacancy_let);
        fputc('}', out);
        first = false;
    }
    fprintf(out, "],\"contingents\":[");
    size_t nc;
    const wz_report_contingent_t *c = wz_report_contingents(self, &nc);
    for (size_t i = 0; i < nc; i++) {
        char s[WZ_REPORT_KEY_MAX], m[WZ_REPORT_KEY_MAX], k[WZ_REPORT_KEY_MAX];
        s_safe(c[i].scheme, s, sizeof s);
        s_safe(c[i].municipality, m, sizeof m);
        s_safe(c[i].corporation, k, sizeof k);
        fprintf(out,
                "%s{\"year\":%d,\"scheme\":\"%s\",\"municipality\":\"%s\",\"corporation\":\"%s\","
                "\"target\":",
                i ? "," : "", c[i].year, s, m, k);
        if (c[i].target >= 0)
            fprintf(out, "%d", c[i].target);
        else
            fputs("null", out);
        fprintf(out, ",\"used\":%llu}", (unsigned long long)c[i].used);
    }
    fprintf(out, "],\"skipped_events\":%zu}\n", self->skipped);
    return ferror(out) ? -1 : 0;
}

int wz_report_write(wz_report_t *self, FILE *out, wz_report_format_t format, int dim)
{
    if (format == WZ_REPORT_CSV)
        return s_write_csv(self, out, dim);
    if (format == WZ_REPORT_JSON)
        return s_write_json(self, out, dim);
    return s_write_table(self, out, dim);
}
