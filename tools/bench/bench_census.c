/* bench_census.c - how many Redis round trips each service makes for one
 * vacancy, counted from Redis's own MONITOR stream rather than from reading
 * the code, so the floor follows the code as it changes.
 *
 * A round trip is one command sent on its own, or one MULTI ... EXEC block
 * (wz_txn_commit pipelines it). A connection is attributed to a service by
 * the streams it appends to (stream:intake, stream:matching, mailbox:* or
 * stream:notification, audit). Time-driven work (catch-up, deadlines) is
 * measured over an idle stretch first and subtracted. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "wz_proc.h"

#define MAX_CLIENTS 64
#define IDLE_S 4.0

typedef struct {
    char addr[48];
    int service; /* -1 unknown */
    bool in_multi;
    double rt[2], cmds[2]; /* [0] idle window, [1] load window */
} s_client_t;

static double s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_service_of(const char *line)
{
    if (strncmp(line, "\"XADD\"", 6) != 0)
        return -1;
    if (strstr(line, ":stream:intake\""))
        return 0;
    if (strstr(line, ":stream:matching\""))
        return 1;
    if (strstr(line, ":mailbox:") || strstr(line, ":stream:notification\""))
        return 2;
    if (strstr(line, "}:audit\""))
        return 3;
    return -1;
}

static s_client_t *s_client(s_client_t *cl, size_t *n, const char *addr)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(cl[i].addr, addr) == 0)
            return &cl[i];
    if (*n == MAX_CLIENTS)
        return NULL;
    s_client_t *c = &cl[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->service = -1;
    return c;
}

/* Windows: [w[0], w[1]) idle, [w[2], w[3]] load. */
static int s_parse(const char *path, const double w[4], bench_census_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    s_client_t cl[MAX_CLIENTS];
    size_t n = 0;
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    if (!line) {
        fclose(f);
        return -1;
    }
    while (fgets(line, (int)cap, f)) {
        size_t len = strlen(line);
        if (len == cap - 1 && line[len - 1] != '\n') { /* a huge line: skip the rest */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
        }
        double t = strtod(line, NULL);
        char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
        if (!open || !close || close[1] != ' ')
            continue;
        *close = '\0';
        char *addr = strchr(open, ' ');
        if (!addr)
            continue;
        s_client_t *c = s_client(cl, &n, addr + 1);
        if (!c)
            continue;
        const char *cmd = close + 2;
        int svc = s_service_of(cmd);
        if (svc >= 0)
            c->service = svc;
        int win = t >= w[0] && t < w[1] ? 0 : t >= w[2] && t <= w[3] ? 1 : -1;
        bool multi = strncmp(cmd, "\"MULTI\"", 7) == 0, exec = strncmp(cmd, "\"EXEC\"", 6) == 0;
        bool counts_rt = multi || !c->in_multi;
        if (multi)
            c->in_multi = true;
        else if (exec)
            c->in_multi = false;
        if (win < 0)
            continue;
        if (counts_rt)
            c->rt[win] += 1;
        if (!multi && !exec)
            c->cmds[win] += 1;
    }
    free(line);
    fclose(f);
    double idle = w[1] - w[0], load = w[3] - w[2];
    for (size_t i = 0; i < n; i++) {
        int s = cl[i].service;
        if (s < 0)
            continue;
        double rt = cl[i].rt[1] - cl[i].rt[0] * load / idle;
        double cmds = cl[i].cmds[1] - cl[i].cmds[0] * load / idle;
        out->per_vacancy[s] += (rt > 0 ? rt : 0) / (double)out->vacancies;
        out->commands[s] += (cmds > 0 ? cmds : 0) / (double)out->vacancies;
    }
    return 0;
}

int bench_census(bench_env_t *env, size_t n, size_t first_index, bench_census_t *out)
{
    memset(out, 0, sizeof *out);
    out->vacancies = n;
    char path[400], port[16];
    snprintf(path, sizeof path, "%s/monitor.txt", env->dir);
    snprintf(port, sizeof port, "%d", env->redis_port);
    char *argv[] = {"redis-cli", "-p", port, "monitor", NULL};
    pid_t mon = wz_proc_spawn(argv, path);
    if (mon <= 0)
        return -1;
    /* redis-cli needs a moment to connect; everything before w[0] is ignored. */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double w[4];
    w[0] = s_wall();
    ts = (struct timespec){(time_t)IDLE_S, 0};
    nanosleep(&ts, NULL);
    w[1] = s_wall();
    bench_load_t load = {.target = BENCH_SUITE,
                         .n = n,
                         .rate = 0,
                         .window = 1,
                         .first_index = first_index,
                         .timeout_ms = 20000};
    bench_result_t r;
    int rc = bench_drive(env, &load, NULL, &r);
    w[2] = r.wall_start;
    w[3] = r.wall_end;
    bench_result_free(&r);
    ts = (struct timespec){0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(mon, SIGTERM);
    wz_proc_wait(mon, 5000);
    if (rc != 0 || r.completed != n) {
        fprintf(stderr, "bench: the census run did not finish\n");
        return -1;
    }
    rc = s_parse(path, w, out);
    if (!env->keep)
        remove(path);
    return rc;
}
