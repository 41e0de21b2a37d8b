/* Unit tests of wz_report: a generated event history (random but seeded)
 * whose generator keeps its own list of facts as it goes; an independent,
 * deliberately naive computation over those facts (gmtime periods, a linear
 * scan per figure, integer nearest rank) must give every figure of the
 * report. Also: closed periods do not change when later events arrive, and
 * the three output formats. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wz_report.h"
#include "wz_testmain.h"

#define MAX_FACTS 20000
#define MAX_EVENTS 20000
#define DAY 86400000LL

enum { F_OFFER, F_PROPOSAL, F_ACCEPT, F_REFUSE, F_EXPIRE, F_LET, F_RELEASE, F_LAPSE };

typedef struct {
    int kind;
    int64_t ms;
    const char *dims[WZ_DIM_COUNT];
    const char *key; /* scheme of an offer, reason of a refusal */
    double wait, vac; /* days; < 0 when not known */
} fact_t;

typedef struct {
    uint8_t *data;
    size_t len;
    int64_t ms;
} packed_t;

typedef struct {
    fact_t facts[MAX_FACTS];
    size_t n_facts;
    packed_t ev[MAX_EVENTS];
    size_t n_ev;
    uint64_t rng;
    int64_t now;
    unsigned seq;
} gen_t;

static const char *munis[] = {"haarlem", "velsen", "zandvoort"};
static const char *corps[] = {"pre-wonen", "elan", "ymere"};
static const char *cps[] = {"kenter", "brijder", "rib"};
static const char *schemes[] = {"uitstroom", "omklap"};
static const char *reasons[] = {"client_refuses", "no_show", "dwelling_unsuitable"};

static unsigned s_rand(gen_t *g, unsigned n)
{
    g->rng = g->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((g->rng >> 33) % n);
}

static void s_emit(gen_t *g, WzEvent *ev)
{
    char id[32];
    snprintf(id, sizeof id, "test:zkij:%u", ++g->seq);
    ev->id = id;
    ev->occurred_ms = g->now;
    ev->region = "zkij";
    ev->actor = "test";
    ck_assert_uint_lt(g->n_ev, MAX_EVENTS);
    packed_t *p = &g->ev[g->n_ev++];
    p->len = woonzorg__v1__event__get_packed_size(ev);
    p->data = malloc(p->len ? p->len : 1);
    ck_assert_ptr_nonnull(p->data);
    woonzorg__v1__event__pack(ev, p->data);
    p->ms = g->now;
}

static fact_t *s_fact(gen_t *g, int kind, const char *m, const char *c, const char *p)
{
    ck_assert_uint_lt(g->n_facts, MAX_FACTS);
    fact_t *f = &g->facts[g->n_facts++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->ms = g->now;
    f->dims[WZ_DIM_REGION] = "zkij";
    f->dims[WZ_DIM_MUNICIPALITY] = m;
    f->dims[WZ_DIM_CORPORATION] = c;
    f->dims[WZ_DIM_CARE_PROVIDER] = p;
    f->wait = f->vac = -1;
    return f;
}

static void s_tick(gen_t *g, unsigned max_hours)
{
    g->now += (int64_t)(1 + s_rand(g, max_hours)) * 3600000LL;
}

/* Candidates: id, care provider, grant time (ms), or 0 when not granted. */
typedef struct {
    char id[16];
    const char *cp;
    const char *muni;
    int64_t granted;
    int housed;
} cand_t;

static void s_generate(gen_t *g, uint64_t seed, int n_vacancies)
{
    memset(g, 0, sizeof *g);
    g->rng = seed;
    g->now = 1735689600000LL; /* 2025-01-01 */
    cand_t cands[64];
    size_t n_cands = 0;
    for (int v = 0; v < n_vacancies; v++) {
        /* now and then a new candidate with an urgency grant, sometimes backdated */
        while (n_cands < 64 && (n_cands < 4 || s_rand(g, 3) == 0)) {
            cand_t *c = &cands[n_cands++];
            snprintf(c->id, sizeof c->id, "cand-%zu", n_cands);
            c->cp = cps[s_rand(g, 3)];
            c->muni = munis[s_rand(g, 3)];
            c->housed = 0;
            Woonzorg__V1__UrgencyGranted u = WOONZORG__V1__URGENCY_GRANTED__INIT;
            WzDate date = WOONZORG__V1__DATE__INIT;
            u.candidate_id = c->id;
            u.care_provider = (char *)c->cp;
            u.municipality = (char *)c->muni;
            c->granted = g->now;
            if (s_rand(g, 2)) {
                time_t t = (time_t)(g->now / 1000) - (time_t)s_rand(g, 30) * 86400;
                struct tm tm;
                gmtime_r(&t, &tm);
                date.year = tm.tm_year + 1900;
                date.month = tm.tm_mon + 1;
                date.day = tm.tm_mday;
                u.date = &date;
                c->granted = (int64_t)(t - t % 86400) * 1000;
            }
            WzEvent ev = WOONZORG__V1__EVENT__INIT;
            ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_URGENCY_GRANTED;
            ev.urgency_granted = &u;
            s_emit(g, &ev);
            /* an extension is no new grant */
            if (s_rand(g, 4) == 0) {
                Woonzorg__V1__UrgencyGranted x = WOONZORG__V1__URGENCY_GRANTED__INIT;
                x.candidate_id = c->id;
                x.care_provider = (char *)c->cp;
                x.municipality = (char *)c->muni;
                x.extend = 1;
                ev.urgency_granted = &x;
                s_emit(g, &ev);
            }
            s_tick(g, 48);
        }
        const char *muni = munis[s_rand(g, 3)];
        const char *corp = corps[s_rand(g, 3)];
        const char *scheme = schemes[s_rand(g, 2)];
        char vid[16], nb[16];
        snprintf(vid, sizeof vid, "V-%d", v);
        snprintf(nb, sizeof nb, "BU%04u", s_rand(g, 5));
        WzVacancy vac = WOONZORG__V1__VACANCY__INIT;
        vac.id = vid;
        vac.corporation = (char *)corp;
        vac.region = "zkij";
        vac.municipality = (char *)muni;
        vac.neighbourhood = nb;
        vac.scheme = (char *)scheme;
        Woonzorg__V1__VacancyPublished vp = WOONZORG__V1__VACANCY_PUBLISHED__INIT;
        vp.vacancy = &vac;
        WzEvent ev = WOONZORG__V1__EVENT__INIT;
        ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED;
        ev.vacancy_published = &vp;
        s_emit(g, &ev);
        s_fact(g, F_OFFER, muni, corp, NULL)->key = scheme;
        int64_t published = g->now;
        if (s_rand(g, 5) == 0) { /* a republish (update) is no new offer */
            s_tick(g, 5);
            s_emit(g, &ev);
        }
        int done = 0;
        for (unsigned round = 1; round <= 3 && !done; round++) {
            s_tick(g, 72);
            cand_t *c = &cands[s_rand(g, (unsigned)n_cands)];
            if (c->housed)
                continue;
            char pid[32];
            snprintf(pid, sizeof pid, "%s/%u", vid, round);
            WzProposal p = WOONZORG__V1__PROPOSAL__INIT;
            p.id = pid;
            p.vacancy_id = vid;
            p.candidate_id = c->id;
            p.corporation = (char *)corp;
            p.care_provider = (char *)c->cp;
            p.municipality = (char *)c->muni; /* the urgency municipality: not the dwelling's */
            p.scheme = (char *)scheme;
            Woonzorg__V1__ProposalCreated pc = WOONZORG__V1__PROPOSAL_CREATED__INIT;
            pc.proposal = &p;
            pc.vacancy = &vac;
            ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
            ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED;
            ev.proposal_created = &pc;
            s_emit(g, &ev);
            s_fact(g, F_PROPOSAL, muni, corp, c->cp);
            s_tick(g, 200);
            unsigned outcome = s_rand(g, 4);
            if (outcome == 0) {
                Woonzorg__V1__ProposalExpired pe = WOONZORG__V1__PROPOSAL_EXPIRED__INIT;
                pe.proposal = &p;
                ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
                ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_EXPIRED;
                ev.proposal_expired = &pe;
                s_emit(g, &ev);
                s_fact(g, F_EXPIRE, muni, corp, c->cp);
            } else if (outcome == 1) {
                const char *reason = reasons[s_rand(g, 3)];
                char text[80];
                snprintf(text, sizeof text, "%s: a note", reason);
                Woonzorg__V1__ProposalAnswered pa = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
                pa.proposal = &p;
                pa.reason = s_rand(g, 2) ? text : (char *)reason;
                ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
                ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED;
                ev.proposal_answered = &pa;
                s_emit(g, &ev);
                s_fact(g, F_REFUSE, muni, corp, c->cp)->key = reason;
                if (s_rand(g, 3) == 0) {
                    Woonzorg__V1__UrgencyLapsed ul = WOONZORG__V1__URGENCY_LAPSED__INIT;
                    ul.candidate_id = c->id;
                    ul.care_provider = (char *)c->cp;
                    ul.municipality = (char *)c->muni;
                    ul.reason = "refusals";
                    ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
                    ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_URGENCY_LAPSED;
                    ev.urgency_lapsed = &ul;
                    s_emit(g, &ev);
                    s_fact(g, F_LAPSE, c->muni, NULL, c->cp);
                    c->housed = 1; /* out of the running */
                }
            } else {
                Woonzorg__V1__ProposalAnswered pa = WOONZORG__V1__PROPOSAL_ANSWERED__INIT;
                pa.proposal = &p;
                pa.accepted = 1;
                ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
                ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_ANSWERED;
                ev.proposal_answered = &pa;
                s_emit(g, &ev);
                s_fact(g, F_ACCEPT, muni, corp, c->cp);
                s_tick(g, 400);
                Woonzorg__V1__VacancyLet vl = WOONZORG__V1__VACANCY_LET__INIT;
                vl.vacancy = &vac;
                vl.proposal = &p;
                ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
                ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_LET;
                ev.vacancy_let = &vl;
                s_emit(g, &ev);
                fact_t *f = s_fact(g, F_LET, muni, corp, c->cp);
                f->key = scheme;
                f->wait = (double)(g->now - c->granted) / (double)DAY;
                f->vac = (double)(g->now - published) / (double)DAY;
                c->housed = 1;
                done = 1;
            }
        }
        if (!done) {
            s_tick(g, 24);
            Woonzorg__V1__VacancyReleased vr = WOONZORG__V1__VACANCY_RELEASED__INIT;
            vr.vacancy = &vac;
            ev = (WzEvent)WOONZORG__V1__EVENT__INIT;
            ev.payload_case = WOONZORG__V1__EVENT__PAYLOAD_VACANCY_RELEASED;
            ev.vacancy_released = &vr;
            s_emit(g, &ev);
            s_fact(g, F_RELEASE, muni, corp, NULL);
        }
        s_tick(g, 24);
    }
}

static void s_free(gen_t *g)
{
    for (size_t i = 0; i < g->n_ev; i++)
        free(g->ev[i].data);
}

/* The naive side. */
static void s_period(int kind, int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (kind == WZ_PERIOD_YEAR)
        snprintf(out, len, "%d", tm.tm_year + 1900);
    else if (kind == WZ_PERIOD_QUARTER)
        snprintf(out, len, "%d-Q%d", tm.tm_year + 1900, tm.tm_mon / 3 + 1);
    else
        snprintf(out, len, "%d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

static int s_cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_rank(double *v, size_t n, unsigned pct)
{
    qsort(v, n, sizeof *v, s_cmpd);
    size_t r = (n * pct + 99) / 100;
    return v[(r ? r : 1) - 1];
}

static int s_matches(const fact_t *f, int period, const char *key, wz_dim_t dim, const char *name)
{
    char p[16];
    s_period(period, f->ms, p, sizeof p);
    return !strcmp(p, key) && f->dims[dim] && !strcmp(f->dims[dim], name);
}

static void s_check_row(const gen_t *g, int period, const wz_report_row_t *r)
{
    uint64_t n[8] = {0};
    double *wait = malloc(MAX_FACTS * sizeof *wait), *vac = malloc(MAX_FACTS * sizeof *vac);
    size_t nw = 0, nv = 0;
    for (size_t i = 0; i < g->n_facts; i++) {
        const fact_t *f = &g->facts[i];
        if (!s_matches(f, period, r->period, r->dim, r->name))
            continue;
        n[f->kind]++;
        if (f->kind == F_LET) {
            wait[nw++] = f->wait;
            vac[nv++] = f->vac;
        }
    }
    ck_assert_uint_eq(r->offered, n[F_OFFER]);
    ck_assert_uint_eq(r->proposals, n[F_PROPOSAL]);
    ck_assert_uint_eq(r->acceptances, n[F_ACCEPT]);
    ck_assert_uint_eq(r->refusals, n[F_REFUSE]);
    ck_assert_uint_eq(r->expiries, n[F_EXPIRE]);
    ck_assert_uint_eq(r->lets, n[F_LET]);
    ck_assert_uint_eq(r->releases, n[F_RELEASE]);
    ck_assert_uint_eq(r->lapsed, n[F_LAPSE]);
    for (size_t k = 0; k < r->n_offered_by_scheme; k++) {
        uint64_t c = 0;
        for (size_t i = 0; i < g->n_facts; i++)
            c += g->facts[i].kind == F_OFFER &&
                 s_matches(&g->facts[i], period, r->period, r->dim, r->name) &&
                 !strcmp(g->facts[i].key, r->offered_by_scheme[k].key);
        ck_assert_uint_eq(r->offered_by_scheme[k].n, c);
    }
    uint64_t sum = 0;
    for (size_t k = 0; k < r->n_refusals_by_reason; k++) {
        uint64_t c = 0;
        for (size_t i = 0; i < g->n_facts; i++)
            c += g->facts[i].kind == F_REFUSE &&
                 s_matches(&g->facts[i], period, r->period, r->dim, r->name) &&
                 !strcmp(g->facts[i].key, r->refusals_by_reason[k].key);
        ck_assert_uint_eq(r->refusals_by_reason[k].n, c);
        sum += c;
    }
    ck_assert_uint_eq(sum, r->refusals);
    ck_assert_uint_eq(r->wait.n, nw);
    if (nw) {
        ck_assert_double_eq_tol(wz_report_percentile(&r->wait, 50), s_rank(wait, nw, 50), 1e-6);
        ck_assert_double_eq_tol(wz_report_percentile(&r->wait, 90), s_rank(wait, nw, 90), 1e-6);
        ck_assert_double_eq_tol(wz_report_percentile(&r->vacancy_let, 50), s_rank(vac, nv, 50),
                                1e-6);
        ck_assert_double_eq_tol(wz_report_percentile(&r->vacancy_let, 90), s_rank(vac, nv, 90),
                                1e-6);
    }
    free(wait);
    free(vac);
}

static gen_t g;

START_TEST(test_figures_match_independent_count)
{
    s_generate(&g, 0x5eed + (uint64_t)_i, 400);
    for (int period = WZ_PERIOD_MONTH; period <= WZ_PERIOD_YEAR; period++) {
        wz_report_t *r = wz_report_new((wz_period_t)period, NULL);
        ck_assert_ptr_nonnull(r);
        for (size_t i = 0; i < g.n_ev; i++) {
            ck_assert_int_eq(wz_report_add_bytes(r, g.ev[i].data, g.ev[i].len), 0);
            /* Read now and then, as the dashboard does between requests
             * (sorting rows, contingents and times): the figures must still
             * come out as if read once, at the end. */
            if (i % 97 == 0) {
                size_t k;
                const wz_report_row_t *so_far = wz_report_rows(r, &k);
                for (size_t j = 0; j < k; j++)
                    wz_report_percentile(&so_far[j].wait, 50);
                wz_report_contingents(r, &k);
            }
        }
        size_t n;
        const wz_report_row_t *rows = wz_report_rows(r, &n);
        ck_assert_uint_gt(n, 10);
        for (size_t i = 0; i < n; i++)
            s_check_row(&g, period, &rows[i]);
        /* and no fact lacks its row */
        for (size_t i = 0; i < g.n_facts; i++)
            for (int d = 0; d < WZ_DIM_COUNT; d++) {
                if (!g.facts[i].dims[d])
                    continue;
                char p[16];
                s_period(period, g.facts[i].ms, p, sizeof p);
                ck_assert_ptr_nonnull(wz_report_find(r, p, (wz_dim_t)d, g.facts[i].dims[d]));
            }
        /* contingent use: every let, once */
        size_t nc;
        const wz_report_contingent_t *c = wz_report_contingents(r, &nc);
        uint64_t used = 0, lets = 0;
        for (size_t i = 0; i < nc; i++)
            used += c[i].used;
        for (size_t i = 0; i < g.n_facts; i++)
            lets += g.facts[i].kind == F_LET;
        ck_assert_uint_eq(used, lets);
        ck_assert_uint_gt(lets, 20);
        wz_report_destroy(&r);
    }
    s_free(&g);
}
END_TEST

START_TEST(test_closed_periods_never_change)
{
    s_generate(&g, 42, 300);
    /* cut at the start of a month in the middle of the history */
    int64_t cut_ms = g.ev[g.n_ev / 2].ms;
    char cut[16];
    s_period(WZ_PERIOD_MONTH, cut_ms, cut, sizeof cut);
    wz_report_t *early = wz_report_new(WZ_PERIOD_MONTH, NULL);
    wz_report_t *late = wz_report_new(WZ_PERIOD_MONTH, NULL);
    for (size_t i = 0; i < g.n_ev; i++) {
        char p[16];
        s_period(WZ_PERIOD_MONTH, g.ev[i].ms, p, sizeof p);
        if (strcmp(p, cut) < 0)
            wz_report_add_bytes(early, g.ev[i].data, g.ev[i].len);
        wz_report_add_bytes(late, g.ev[i].data, g.ev[i].len);
    }
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(early, &n);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        const wz_report_row_t *a = &rows[i];
        const wz_report_row_t *b = wz_report_find(late, a->period, a->dim, a->name);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(a->offered, b->offered);
        ck_assert_uint_eq(a->proposals, b->proposals);
        ck_assert_uint_eq(a->refusals, b->refusals);
        ck_assert_uint_eq(a->lets, b->lets);
        ck_assert_uint_eq(a->lapsed, b->lapsed);
        ck_assert_uint_eq(a->wait.n, b->wait.n);
        if (a->wait.n)
            ck_assert_double_eq(wz_report_percentile(&a->wait, 90),
                                wz_report_percentile(&b->wait, 90));
    }
    wz_report_destroy(&early);
    wz_report_destroy(&late);
    s_free(&g);
}
END_TEST

START_TEST(test_formats)
{
    s_generate(&g, 7, 60);
    wz_report_t *r = wz_report_new(WZ_PERIOD_QUARTER, NULL);
    for (size_t i = 0; i < g.n_ev; i++)
        wz_report_add_bytes(r, g.ev[i].data, g.ev[i].len);
    ck_assert_int_eq(wz_report_add_bytes(r, (const uint8_t *)"\xff\xff\xff", 3), 0);
    ck_assert_uint_eq(wz_report_skipped(r), 1);
    const wz_report_row_t *row = wz_report_find(r, "2025-Q1", WZ_DIM_REGION, "zkij");
    ck_assert_ptr_nonnull(row);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(wz_report_write(r, f, WZ_REPORT_CSV, WZ_DIM_REGION), 0);
    fclose(f);
    char line[128];
    snprintf(line, sizeof line, "\n2025-Q1,region,zkij,lets,,%llu\n",
             (unsigned long long)row->lets);
    ck_assert_ptr_nonnull(strstr(buf, line));
    ck_assert_ptr_null(strstr(buf, ",municipality,"));
    free(buf);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(wz_report_write(r, f, WZ_REPORT_JSON, WZ_DIM_COUNT), 0);
    fclose(f);
    snprintf(line, sizeof line, "{\"period\":\"2025-Q1\",\"dimension\":\"region\",\"name\":\"zkij\","
                                "\"offered\":%llu,",
             (unsigned long long)row->offered);
    ck_assert_ptr_nonnull(strstr(buf, line));
    ck_assert_ptr_nonnull(strstr(buf, "\"skipped_events\":1}"));
    ck_assert_ptr_null(strstr(buf, "cand-")); /* no candidate ids in any output */
    free(buf);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(wz_report_write(r, f, WZ_REPORT_TABLE, WZ_DIM_COUNT), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "refused per reason: "));
    ck_assert_ptr_null(strstr(buf, "cand-"));
    free(buf);
    wz_report_destroy(&r);
    s_free(&g);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case(
        "report", 60, (const TTest *const[]){test_closed_periods_never_change, test_formats, NULL});
    tcase_add_loop_test(tc, test_figures_match_independent_count, 0, 3);
    return wz_test_run("wz_report", (TCase *const[]){tc, NULL});
}
