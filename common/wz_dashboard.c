/* wz_dashboard.c - HTML and SVG of the dashboard (see wz_dashboard.h). */
#include "wz_dashboard.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_calendar.h"

/* Colours with at least 4.5:1 contrast against white (text and bars alike). */
#define C_TEXT "#1a1a1a"
#define C_OFFER "#1f4e79"
#define C_PROPOSE "#00695c"
#define C_ACCEPT "#8a4b00"
#define C_LET "#5b2a86"
#define C_OK "#1b6e20"
#define C_NEAR "#8a4b00"
#define C_OVER "#b00020"
#define C_NONE "#4a4a4a"

void wz_nl_int(uint64_t n, char *out, size_t outlen)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        if (i && (len - i) % 3 == 0 && o + 2 < outlen)
            out[o++] = '.';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void wz_nl_dec(double x, int decimals, char *out, size_t outlen)
{
    bool neg = x < 0;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 3)
        decimals = 3;
    double scale = pow(10, decimals);
    uint64_t v = (uint64_t)llround(fabs(x) * scale);
    char whole[32];
    wz_nl_int(v / (uint64_t)scale, whole, sizeof whole);
    char tmp[64];
    if (decimals > 0) {
        char frac[8];
        snprintf(frac, sizeof frac, "%03u", (unsigned)(v % (uint64_t)scale));
        /* "%03u" of the remainder, keeping the last `decimals` digits */
        snprintf(tmp, sizeof tmp, "%s%s,%s", neg ? "-" : "", whole, frac + 3 - decimals);
    } else {
        snprintf(tmp, sizeof tmp, "%s%s", neg ? "-" : "", whole);
    }
    size_t n = strlen(tmp);
    if (n >= outlen)
        n = outlen ? outlen - 1 : 0;
    if (outlen) {
        memcpy(out, tmp, n);
        out[n] = '\0';
    }
}

typedef struct {
    FILE *f;
    const wz_dashboard_opts_t *o;
} s_out_t;

static void s_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static bool s_hidden(const s_out_t *o, uint64_t n)
{
    return n > 0 && (int64_t)n < (int64_t)o->o->small_number;
}

/* A count as shown: "12", "1.234", or "&lt; 5" below the threshold. */
static void s_count(const s_out_t *o, uint64_t n, char *out, size_t outlen)
{
    if (s_hidden(o, n))
        snprintf(out, outlen, "&lt; %d", o->o->small_number);
    else
        wz_nl_int(n, out, outlen);
}

static void s_head(s_out_t *o, const wz_region_t *r, const char *title, const char *page)
{
    FILE *f = o->f;
    fputs("<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<title>",
          f);
    s_esc(f, title);
    fputs(" – ", f);
    s_esc(f, r->name);
    fputs("</title><style>"
          "body{font-family:system-ui,'DejaVu Sans',sans-serif;color:" C_TEXT
          ";background:#fff;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.4}"
          "nav a{margin-right:1rem;color:#0b3d91}nav a[aria-current]{font-weight:bold}"
          "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #767676;"
          "padding:.2rem .5rem}td.n{text-align:right;font-variant-numeric:tabular-nums}"
          "figure{margin:1rem 0}figcaption{font-weight:bold}svg text{fill:" C_TEXT
          ";font-size:12px}.note{font-size:.9rem;color:#3a3a3a}"
          "@media print{nav{display:none}body{max-width:none}figure,table{break-inside:avoid}}"
          "</style></head><body>\n<header><p class=\"note\">woonzorg · uitstroom · ",
          f);
    s_esc(f, r->name);
    fputs("</p><nav aria-label=\"Pagina's\">", f);
    static const char *pages[][2] = {{"", "Overzicht"},
                                     {"funnel", "Trechter per maand"},
                                     {"contingents", "Contingenten"},
                                     {"waiting", "Wachttijden"},
                                     {"spread", "Spreidingskaart"}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
        fprintf(f, "<a href=\"/dashboard/%s%s?region=%s\"%s>%s</a>", pages[i][0],
                pages[i][0][0] ? "" : "", r->id,
                !strcmp(pages[i][0], page) ? " aria-current=\"page\"" : "", pages[i][1]);
    fputs("</nav><h1>", f);
    s_esc(f, title);
    fputs("</h1></header>\n<main>\n", f);
}

static void s_foot(s_out_t *o)
{
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(o->o->now_ms), &y, &m, &d);
    char rule[160];
    if (o->o->small_number > 1)
        snprintf(rule, sizeof rule, "Aantallen van 1 tot %d worden niet getoond (&lt; %d).",
                 o->o->small_number, o->o->small_number);
    else
        snprintf(rule, sizeof rule, "Alle aantallen worden getoond (geen drempel ingesteld).");
    fprintf(o->f,
            "</main>\n<footer><p class=\"note\">Alleen aantallen, berekend uit het "
            "auditspoor; geen persoonsgegevens. %s Stand van %02d-%02d-%04d. Definities: "
            "docs/reports.md.</p></footer>\n</body></html>\n",
            rule, d, m, y);
}

/* Sums of the region's rows of year (all when year is 0). */
typedef struct {
    uint64_t offered, proposals, acceptances, refusals, expiries, lets, releases, lapsed;
    wz_report_times_t wait, vac;
} s_sum_t;

static int s_sum(wz_report_t *rep, const char *region, int year, s_sum_t *s)
{
    memset(s, 0, sizeof *s);
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(rep, &n);
    size_t nw = 0, nv = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].dim == WZ_DIM_REGION && !strcmp(rows[i].name, region) &&
            (!year || atoi(rows[i].period) == year)) {
            nw += rows[i].wait.n;
            nv += rows[i].vacancy_let.n;
        }
    s->wait.days = calloc(nw + 1, sizeof(double));
    s->vac.days = calloc(nv + 1, sizeof(double));
    if (!s->wait.days || !s->vac.days)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const wz_report_row_t *r = &rows[i];
        if (r->dim != WZ_DIM_REGION || strcmp(r->name, region) || (year && atoi(r->period) != year))
            continue;
        s->offered += r->offered;
        s->proposals += r->proposals;
        s->acceptances += r->acceptances;
        s->refusals += r->refusals;
        s->expiries += r->expiries;
        s->lets += r->lets;
        s->releases += r->releases;
        s->lapsed += r->lapsed;
        if (r->wait.n) /* memcpy from NULL is undefined even for 0 bytes */
            memcpy(s->wait.days + s->wait.n, r->wait.days, r->wait.n * sizeof(double));
        s->wait.n += r->wait.n;
        if (r->vacancy_let.n)
            memcpy(s->vac.days + s->vac.n, r->vacancy_let.days,
                   r->vacancy_let.n * sizeof(double));
        s->vac.n += r->vacancy_let.n;
    }
    return 0;
}

static void s_sum_free(s_sum_t *s)
{
    free(s->wait.days);
    free(s->vac.days);
}

/* A median or p90 in days, or "–" when there are too few lets to show it. */
static void s_days(const s_out_t *o, const wz_report_times_t *t, double p, char *out, size_t len)
{
    if (!t->n || (int64_t)t->n < (int64_t)o->o->small_number) {
        snprintf(out, len, "–");
        return;
    }
    char v[32];
    wz_nl_dec(wz_report_percentile(t, p), 0, v, sizeof v);
    snprintf(out, len, "%s dagen", v);
}

static int s_year(const s_out_t *o)
{
    int y, m, d;
    wz_civil_from_day(wz_day_of_ms(o->o->now_ms), &y, &m, &d);
    return y;
}

/* --- pages ---------------------------------------------------------------------------- */

static int s_overview(s_out_t *o, const wz_region_t *r, wz_report_t *rep)
{
    int year = s_year(o);
    s_sum_t s;
    if (s_sum(rep, r->id, year, &s) != 0) {
        s_sum_free(&s);
        return -1;
    }
    char title[128];
    snprintf(title, sizeof title, "Uitstroom %d", year);
    s_head(o, r, title, "");
    FILE *f = o->f;
    fprintf(f, "<table id=\"kerncijfers\"><caption>Kerncijfers %d, regio ", year);
    s_esc(f, r->name);
    fputs("</caption><tbody>", f);
    struct {
        const char *id, *label;
        uint64_t n;
    } rows[] = {{"offered", "Woningen aangeboden", s.offered},
                {"proposals", "Voordrachten", s.proposals},
                {"acceptances", "Voordrachten geaccepteerd", s.acceptances},
                {"refusals", "Voordrachten geweigerd", s.refusals},
                {"expiries", "Voordrachten verlopen", s.expiries},
                {"lets", "Verhuurd (huurcontract getekend)", s.lets},
                {"releases", "Vrijgegeven voor reguliere verhuur", s.releases},
                {"lapsed", "Urgenties vervallen", s.lapsed}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char v[32];
        s_count(o, rows[i].n, v, sizeof v);
        fprintf(f, "<tr><th scope=\"row\">%s</th><td class=\"n\" id=\"%s\">%s</td></tr>",
                rows[i].label, rows[i].id, v);
    }
    char med[48], p90[48], vac[48];
    s_days(o, &s.wait, 50, med, sizeof med);
    s_days(o, &s.wait, 90, p90, sizeof p90);
    s_days(o, &s.vac, 50, vac, sizeof vac);
    fprintf(f,
            "<tr><th scope=\"row\">Wachttijd urgentie → verhuur, mediaan</th><td class=\"n\" "
            "id=\"wait_median\">%s</td></tr>"
            "<tr><th scope=\"row\">Wachttijd urgentie → verhuur, 90e percentiel</th><td "
            "class=\"n\" id=\"wait_p90\">%s</td></tr>"
            "<tr><th scope=\"row\">Leegstand aanbod → verhuur, mediaan</th><td class=\"n\" "
            "id=\"vacancy_median\">%s</td></tr></tbody></table>\n",
            med, p90, vac);
    s_sum_free(&s);
    s_foot(o);
    return 0;
}

static const char *s_month_nl[] = {"jan", "feb", "mrt", "apr", "mei", "jun",
                                   "jul", "aug", "sep", "okt", "nov", "dec"};

static void s_month_label(const char *period, char *out, size_t len)
{
    int y = 0, m = 0;
    if (sscanf(period, "%d-%d", &y, &m) == 2 && m >= 1 && m <= 12)
        snprintf(out, len, "%s %d", s_month_nl[m - 1], y);
    else
        snprintf(out, len, "%s", period);
}

static int s_funnel(s_out_t *o, const wz_region_t *r, wz_report_t *rep)
{
    s_head(o, r, "Trechter per maand", "funnel");
    FILE *f = o->f;
    size_t n;
    const wz_report_row_t *rows = wz_report_rows(rep, &n);
    const wz_report_row_t *months[240];
    size_t nm = 0;
    uint64_t max = 1;
    for (size_t i = 0; i < n && nm < 240; i++)
        if (rows[i].dim == WZ_DIM_REGION && !strcmp(rows[i].name, r->id)) {
            months[nm++] = &rows[i];
            if (rows[i].offered > max)
                max = rows[i].offered;
            if (rows[i].proposals > max)
                max = rows[i].proposals;
        }
    /* the last 12 months with events */
    size_t first = nm > 12 ? nm - 12 : 0;
    static const char *labels[] = {"aangeboden", "voorgedragen", "geaccepteerd", "verhuurd"};
    static const char *colours[] = {C_OFFER, C_PROPOSE, C_ACCEPT, C_LET};
    int W = 720, H = 300, left = 40, bottom = 40, top = 30;
    size_t shown = nm - first;
    double gw = shown ? (double)(W - left - 10) / (double)shown : 1;
    double bw = gw / 5.0;
    fprintf(f,
            "<figure><figcaption id=\"funnel-cap\">Aangeboden woningen, voordrachten, "
            "acceptaties en verhuringen per maand</figcaption>"
            "<svg role=\"img\" aria-labelledby=\"funnel-title funnel-desc\" viewBox=\"0 0 %d %d\" "
            "width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"funnel-title\">"
            "Trechter per maand</title><desc id=\"funnel-desc\">Staafdiagram met per maand vier "
            "staven: aangeboden, voorgedragen, geaccepteerd en verhuurd. De cijfers staan in de "
            "tabel onder de grafiek.</desc>",
            W, H);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" C_TEXT "\"/>", left,
            H - bottom, W - 5, H - bottom);
    for (size_t k = 0; k < 4; k++)
        fprintf(f,
                "<rect x=\"%zu\" y=\"6\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%zu\" "
                "y=\"16\">%s</text>",
                (size_t)left + k * 150, colours[k], (size_t)left + k * 150 + 16, labels[k]);
    for (size_t i = first; i < nm; i++) {
        const wz_report_row_t *m = months[i];
        uint64_t v[4] = {m->offered, m->proposals, m->acceptances, m->lets};
        double x0 = left + (double)(i - first) * gw + bw / 2;
        for (int k = 0; k < 4; k++) {
            if (s_hidden(o, v[k]) || !v[k])
                continue;
            double h = (double)(H - bottom - top) * (double)v[k] / (double)max;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                    "<title>%s: %llu</title></rect>",
                    x0 + k * bw, (double)(H - bottom) - h, bw * 0.9, h, colours[k], labels[k],
                    (unsigned long long)v[k]);
        }
        char label[32];
        s_month_label(m->period, label, sizeof label);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x0 + 2 * bw,
                H - bottom + 16, label);
    }
    fputs("</svg></figure>\n<table id=\"funnel\"><caption>Trechter per maand (tabel)</caption>"
          "<thead><tr><th scope=\"col\">Maand</th><th scope=\"col\">Aangeboden</th><th "
          "scope=\"col\">Voorgedragen</th><th scope=\"col\">Geaccepteerd</th><th "
          "scope=\"col\">Geweigerd</th><th scope=\"col\">Verlopen</th><th "
          "scope=\"col\">Verhuurd</th><th scope=\"col\">Vrijgegeven</th></tr></thead><tbody>",
          f);
    for (size_t i = 0; i < nm; i++) {
        const wz_report_row_t *m = months[i];
        uint64_t v[7] = {m->offered,  m->proposals, m->acceptances, m->refusals,
                         m->expiries, m->lets,      m->releases};
        char label[32];
        s_month_label(m->period, label, sizeof label);
        fprintf(f, "<tr data-period=\"%s\"><th scope=\"row\">%s</th>", m->period, label);
        for (int k = 0; k < 7; k++) {
            char c[32];
            s_count(o, v[k], c, sizeof c);
            fprintf(f, "<td class=\"n\">%s</td>", c);
        }
        fputs("</tr>", f);
    }
    if (!nm)
        fputs("<tr><td colspan=\"8\">Nog geen gebeurtenissen.</td></tr>", f);
    fputs("</tbody></table>\n", f);
    s_foot(o);
    return 0;
}

typedef struct {
    char corp[WZ_REPORT_KEY_MAX];
    int64_t target; /* -1: none */
    uint64_t used;
} s_corp_t;

static int s_contingents(s_out_t *o, const wz_policy_t *p, const wz_region_t *r,
                         wz_report_t *rep)
{
    int year = s_year(o);
    char title[96];
    snprintf(title, sizeof title, "Contingenten %d", year);
    s_head(o, r, title, "contingents");
    FILE *f = o->f;
    s_corp_t corps[64];
    size_t nc = 0;
    for (size_t i = 0; i < p->n_schemes; i++) {
        const wz_scheme_t *s = &p->schemes[i];
        if (strcmp(s->region, r->id))
            continue;
        for (size_t k = 0; k < s->n_contingents; k++) {
            const wz_contingent_t *c = &s->contingents[k];
            if (c->year != year)
                continue;
            size_t j = 0;
            while (j < nc && strcmp(corps[j].corp, c->corporation))
                j++;
            if (j == nc && nc < 64) {
                memset(&corps[nc], 0, sizeof corps[nc]);
                snprintf(corps[nc].corp, sizeof corps[nc].corp, "%s", c->corporation);
                nc++;
            }
            if (j < nc)
                corps[j].target += c->target;
        }
    }
    size_t nu;
    const wz_report_contingent_t *u = wz_report_contingents(rep, &nu);
    for (size_t i = 0; i < nu; i++) {
        const wz_scheme_t *s = wz_policy_scheme(p, u[i].scheme);
        if (u[i].year != year || (s && strcmp(s->region, r->id)))
            continue;
        size_t j = 0;
        while (j < nc && strcmp(corps[j].corp, u[i].corporation))
            j++;
        if (j == nc && nc < 64) {
            memset(&corps[nc], 0, sizeof corps[nc]);
            snprintf(corps[nc].corp, sizeof corps[nc].corp, "%s", u[i].corporation);
            corps[nc].target = -1;
            nc++;
        }
        if (j < nc)
            corps[j].used += u[i].used;
    }
    int64_t max = 1;
    for (size_t i = 0; i < nc; i++) {
        if (corps[i].target > max)
            max = corps[i].target;
        if ((int64_t)corps[i].used > max)
            max = (int64_t)corps[i].used;
    }
    int W = 720, row = 34, left = 220, H = 40 + (int)nc * row;
    fprintf(f,
            "<figure><figcaption>Verhuringen per corporatie tegen het contingent %d"
            "</figcaption><svg role=\"img\" aria-labelledby=\"cont-title cont-desc\" "
            "viewBox=\"0 0 %d %d\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\">"
            "<title id=\"cont-title\">Contingenten %d</title><desc id=\"cont-desc\">Per "
            "corporatie een staaf met het aantal verhuringen en een verticale lijn bij het "
            "contingent. De cijfers staan in de tabel.</desc>"
            "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" fill=\"" C_OFFER "\"/>"
            "<text x=\"%d\" y=\"16\">verhuurd</text><line x1=\"%d\" y1=\"4\" x2=\"%d\" y2=\"20\" "
            "stroke=\"" C_OVER "\" stroke-width=\"3\"/><text x=\"%d\" y=\"16\">contingent</text>",
            year, W, H, year, left, left + 16, left + 110, left + 110, left + 118);
    for (size_t i = 0; i < nc; i++) {
        const wz_party_t *party = wz_policy_party(p, corps[i].corp);
        int y = 30 + (int)i * row;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + 16);
        s_esc(f, party ? party->name : corps[i].corp);
        fputs("</text>", f);
        double scale = (double)(W - left - 80) / (double)max;
        if (!s_hidden(o, corps[i].used) && corps[i].used)
            fprintf(f,
                    "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"22\" fill=\"" C_OFFER
                    "\"/>",
                    left, y, (double)corps[i].used * scale);
        if (corps[i].target >= 0)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"" C_OVER
                    "\" stroke-width=\"3\"/>",
                    left + (double)corps[i].target * scale, y - 3,
                    left + (double)corps[i].target * scale, y + 25);
        char used[32], target[32];
        s_count(o, corps[i].used, used, sizeof used);
        if (corps[i].target >= 0)
            wz_nl_int((uint64_t)corps[i].target, target, sizeof target);
        else
            snprintf(target, sizeof target, "geen");
        fprintf(f, "<text x=\"%d\" y=\"%d\">%s / %s</text>", W - 75, y + 16, used, target);
    }
    fputs("</svg></figure>\n<table id=\"contingents\"><caption>Contingenten (tabel)</caption>"
          "<thead><tr><th scope=\"col\">Corporatie</th><th scope=\"col\">Contingent</th><th "
          "scope=\"col\">Verhuurd</th><th scope=\"col\">Benut</th></tr></thead><tbody>",
          f);
    for (size_t i = 0; i < nc; i++) {
        const wz_party_t *party = wz_policy_party(p, corps[i].corp);
        char used[32], target[32], pct[32] = "–";
        s_count(o, corps[i].used, used, sizeof used);
        if (corps[i].target >= 0)
            wz_nl_int((uint64_t)corps[i].target, target, sizeof target);
        else
            snprintf(target, sizeof target, "geen");
        if (corps[i].target > 0 && !s_hidden(o, corps[i].used)) {
            char v[24];
            wz_nl_dec(100.0 * (double)corps[i].used / (double)corps[i].target, 0, v, sizeof v);
            snprintf(pct, sizeof pct, "%s%%", v);
        }
        fprintf(f, "<tr data-corporation=\"%s\"><th scope=\"row\">", corps[i].corp);
        s_esc(f, party ? party->name : corps[i].corp);
        fprintf(f, "</th><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                   "</tr>",
                target, used, pct);
    }
    if (!nc)
        fputs("<tr><td colspan=\"4\">Geen contingenten dit jaar.</td></tr>", f);
    fputs("</tbody></table>\n", f);
    s_foot(o);
    return 0;
}

static int s_waiting(s_out_t *o, const wz_region_t *r, wz_report_t *rep)
{
    s_sum_t s;
    if (s_sum(rep, r->id, 0, &s) != 0) {
        s_sum_free(&s);
        return -1;
    }
    s_head(o, r, "Wachttijden", "waiting");
    FILE *f = o->f;
    static const struct {
        double lo, hi;
        const char *label;
    } bins[] = {{0, 30, "0–30 dagen"},     {30, 90, "31–90 dagen"},
                {90, 180, "91–180 dagen"}, {180, 365, "181–365 dagen"},
                {365, 1e12, "meer dan een jaar"}};
    uint64_t count[5] = {0}, max = 1;
    for (size_t i = 0; i < s.wait.n; i++)
        for (int b = 0; b < 5; b++)
            if (s.wait.days[i] <= bins[b].hi && (b == 0 || s.wait.days[i] > bins[b].lo)) {
                count[b]++;
                break;
            }
    for (int b = 0; b < 5; b++)
        if (count[b] > max)
            max = count[b];
    char med[48], p90[48], vac[48], vac90[48], total[32];
    s_days(o, &s.wait, 50, med, sizeof med);
    s_days(o, &s.wait, 90, p90, sizeof p90);
    s_days(o, &s.vac, 50, vac, sizeof vac);
    s_days(o, &s.vac, 90, vac90, sizeof vac90);
    s_count(o, s.wait.n, total, sizeof total);
    int W = 720, H = 280, left = 40, bottom = 40;
    fprintf(f,
            "<p>Verhuringen met bekende urgentiedatum: <strong id=\"wait_n\">%s</strong>. "
            "Mediaan <strong id=\"wait_median\">%s</strong>, 90e percentiel <strong "
            "id=\"wait_p90\">%s</strong>. Van aanbod tot verhuur: mediaan <strong "
            "id=\"vacancy_median\">%s</strong>, 90e percentiel %s.</p>\n"
            "<figure><figcaption>Verdeling van de wachttijd van urgentie tot verhuur"
            "</figcaption><svg role=\"img\" aria-labelledby=\"wait-title wait-desc\" "
            "viewBox=\"0 0 %d %d\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\">"
            "<title id=\"wait-title\">Wachttijdverdeling</title><desc id=\"wait-desc\">"
            "Histogram van het aantal verhuringen per wachttijdklasse; de aantallen staan in "
            "de tabel.</desc><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"" C_TEXT
            "\"/>",
            total, med, p90, vac, vac90, W, H, left, H - bottom, W - 5, H - bottom);
    double bw = (double)(W - left - 10) / 5.0;
    for (int b = 0; b < 5; b++) {
        double x = left + b * bw;
        if (count[b] && !s_hidden(o, count[b])) {
            double h = (double)(H - bottom - 20) * (double)count[b] / (double)max;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"" C_LET
                    "\"/>",
                    x + 6, (double)(H - bottom) - h, bw - 12, h);
        }
        char c[32];
        s_count(o, count[b], c, sizeof c);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text><text x=\"%.1f\" "
                "y=\"%d\" text-anchor=\"middle\">%s</text>",
                x + bw / 2, H - bottom + 16, bins[b].label, x + bw / 2, H - bottom + 32, c);
    }
    fputs("</svg></figure>\n<table id=\"waiting\"><caption>Wachttijdverdeling (tabel)"
          "</caption><thead><tr><th scope=\"col\">Wachttijd</th><th scope=\"col\">Verhuringen"
          "</th></tr></thead><tbody>",
          f);
    for (int b = 0; b < 5; b++) {
        char c[32];
        s_count(o, count[b], c, sizeof c);
        fprintf(f, "<tr><th scope=\"row\">%s</th><td class=\"n\">%s</td></tr>", bins[b].label,
                c);
    }
    fputs("</tbody></table>\n", f);
    s_sum_free(&s);
    s_foot(o);
    return 0;
}

static int s_spread(s_out_t *o, const wz_policy_t *p, const wz_region_t *r, wz_report_t *rep)
{
    /* The limit and window of the region's first scheme that has a neighbourhood limit. */
    int limit = 0, years = 1;
    for (size_t i = 0; i < p->n_schemes; i++)
        if (!strcmp(p->schemes[i].region, r->id) && p->schemes[i].max_per_neighbourhood > 0) {
            limit = p->schemes[i].max_per_neighbourhood;
            years = p->schemes[i].spread_years > 0 ? p->schemes[i].spread_years : 1;
            break;
        }
    s_head(o, r, "Spreidingskaart", "spread");
    FILE *f = o->f;
    double lat0 = 90, lat1 = -90, lon0 = 180, lon1 = -180;
    size_t nn = 0;
    for (size_t m = 0; m < r->n_municipalities; m++)
        for (size_t k = 0; k < r->municipalities[m].n_neighbourhoods; k++) {
            const wz_neighbourhood_t *b = &r->municipalities[m].neighbourhoods[k];
            lat0 = fmin(lat0, b->lat);
            lat1 = fmax(lat1, b->lat);
            lon0 = fmin(lon0, b->lon);
            lon1 = fmax(lon1, b->lon);
            nn++;
        }
    size_t nl;
    const wz_report_let_t *lets = wz_report_lets(rep, &nl);
    int64_t since = o->o->now_ms - (int64_t)years * 36525LL * WZ_MS_PER_DAY / 100;
    int W = 720, H = 520, pad = 60;
    double kx = cos((lat0 + lat1) / 2 * M_PI / 180.0);
    double spanx = fmax((lon1 - lon0) * kx, 1e-6), spany = fmax(lat1 - lat0, 1e-6);
    double scale = fmin((W - 2 * pad) / spanx, (H - 2 * pad) / spany);
    fprintf(f,
            "<p>Actieve plaatsingen: verhuringen in de laatste %d jaar per buurt, tegen de "
            "grens van %d per buurt%s.</p>\n<figure><figcaption>Spreidingskaart</figcaption>"
            "<svg role=\"img\" aria-labelledby=\"map-title map-desc\" viewBox=\"0 0 %d %d\" "
            "width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"map-title\">"
            "Spreidingskaart van de buurten</title><desc id=\"map-desc\">Elke buurt is een "
            "cirkel op haar zwaartepunt; groen: onder de grens, oranje: één onder de grens, "
            "rood: op of boven de grens. De buurten staan met hun aantallen in de tabel."
            "</desc><rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>",
            years, limit, limit ? "" : " (geen grens in het beleid)", W, H, W, H);
    fputs("<g font-size=\"11\">"
          "<circle cx=\"20\" cy=\"20\" r=\"7\" fill=\"" C_OK "\"/><text x=\"32\" y=\"24\">onder "
          "de grens</text><circle cx=\"150\" cy=\"20\" r=\"7\" fill=\"" C_NEAR
          "\"/><text x=\"162\" y=\"24\">één onder de grens</text><circle cx=\"310\" cy=\"20\" "
          "r=\"7\" fill=\"" C_OVER "\"/><text x=\"322\" y=\"24\">op of boven de grens</text>"
          "</g>",
          f);
    typedef struct {
        const wz_neighbourhood_t *b;
        const wz_municipality_t *m;
        uint64_t n;
        const char *colour, *status;
    } s_nb_t;
    s_nb_t *nbs = calloc(nn + 1, sizeof *nbs);
    if (!nbs)
        return -1;
    size_t i = 0;
    for (size_t m = 0; m < r->n_municipalities; m++)
        for (size_t k = 0; k < r->municipalities[m].n_neighbourhoods; k++, i++) {
            s_nb_t *x = &nbs[i];
            x->b = &r->municipalities[m].neighbourhoods[k];
            x->m = &r->municipalities[m];
            for (size_t l = 0; l < nl; l++)
                x->n += !strcmp(lets[l].region, r->id) &&
                        !strcmp(lets[l].neighbourhood, x->b->code) && lets[l].ms >= since &&
                        lets[l].ms <= o->o->now_ms;
            if (!limit) {
                x->colour = C_NONE;
                x->status = "geen grens";
            } else if ((int64_t)x->n >= limit) {
                x->colour = C_OVER;
                x->status = "op of boven de grens";
            } else if ((int64_t)x->n + 1 >= limit) {
                x->colour = C_NEAR;
                x->status = "één onder de grens";
            } else {
                x->colour = C_OK;
                x->status = "onder de grens";
            }
            double cx = pad + (x->b->lon - lon0) * kx * scale;
            double cy = H - pad - (x->b->lat - lat0) * scale;
            double rad = 9 + 3 * sqrt((double)x->n);
            char c[32];
            s_count(o, x->n, c, sizeof c);
            fprintf(f,
                    "<g data-code=\"%s\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" "
                    "fill-opacity=\"0.85\" stroke=\"" C_TEXT "\"><title>",
                    x->b->code, cx, cy, rad, x->colour);
            s_esc(f, x->b->name);
            fprintf(f, ": %s (%s)</title></circle><text x=\"%.1f\" y=\"%.1f\" "
                       "text-anchor=\"middle\">",
                    c, x->status, cx, cy + rad + 12);
            s_esc(f, x->b->name);
            fprintf(f, " %s</text></g>", c);
        }
    fputs("</svg></figure>\n<table id=\"spread\"><caption>Spreiding per buurt (tabel)"
          "</caption><thead><tr><th scope=\"col\">Buurt</th><th scope=\"col\">Gemeente</th>"
          "<th scope=\"col\">CBS-code</th><th scope=\"col\">Actieve plaatsingen</th><th "
          "scope=\"col\">Grens</th><th scope=\"col\">Stand</th></tr></thead><tbody>",
          f);
    for (i = 0; i < nn; i++) {
        char c[32];
        s_count(o, nbs[i].n, c, sizeof c);
        fprintf(f, "<tr data-code=\"%s\"><th scope=\"row\">", nbs[i].b->code);
        s_esc(f, nbs[i].b->name);
        fputs("</th><td>", f);
        s_esc(f, nbs[i].m->name);
        fprintf(f, "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%d</td><td>%s</td>"
                   "</tr>",
                nbs[i].b->code, c, limit, nbs[i].status);
    }
    fputs("</tbody></table>\n", f);
    free(nbs);
    s_foot(o);
    return 0;
}

char *wz_dashboard_render(const char *page, const wz_policy_t *policy, const char *region,
                          wz_report_t *report, const wz_dashboard_opts_t *opts, size_t *len)
{
    *len = 0;
    const wz_region_t *r = region ? wz_policy_region(policy, region) : NULL;
    if (!r)
        return NULL;
    bool known = !strcmp(page, "") || !strcmp(page, "funnel") || !strcmp(page, "contingents") ||
                 !strcmp(page, "waiting") || !strcmp(page, "spread");
    if (!known)
        return NULL;
    char *buf = NULL;
    size_t size = 0;
    s_out_t o = {open_memstream(&buf, &size), opts};
    if (!o.f) {
        *len = 1;
        return NULL;
    }
    int rc;
    if (!strcmp(page, "funnel"))
        rc = s_funnel(&o, r, report);
    else if (!strcmp(page, "contingents"))
        rc = s_contingents(&o, policy, r, report);
    else if (!strcmp(page, "waiting"))
        rc = s_waiting(&o, r, report);
    else if (!strcmp(page, "spread"))
        rc = s_spread(&o, policy, r, report);
    else
        rc = s_overview(&o, r, report);
    if (fclose(o.f) != 0 || rc != 0) {
        free(buf);
        *len = 1;
        return NULL;
    }
    *len = size;
    return buf;
}
