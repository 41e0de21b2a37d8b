/* bench_floor.c - the floor: four bare processes wired like the suite
 * (ROUTER in, PUB/SUB between stages, ROUTER out to the parties), each doing
 * per message the Redis round trips the census counted for its service, on
 * the same Redis, with frames of about the same size, and nothing else: no
 * CURVE, no protobuf, no transactions, no logic. What the suite needs beyond
 * this is its own overhead. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "wz_proc.h"

enum { K_REQUEST = 1, K_PUBLISHED = 2, K_PROPOSAL = 3, K_CORP = 4, K_MUNI = 5 };
#define EVENT_BYTES 400
#define DELIVERY_BYTES 900
#define REPLY_BYTES 64

typedef struct {
    redisContext *redis;
    double per_input, owed;
    char key[32];
    char payload[128];
} s_stage_t;

/* The round trips owed for one input message (fractions carried over). */
static void s_round_trips(s_stage_t *s)
{
    s->owed += s->per_input;
    while (s->owed >= 1.0) {
        redisReply *r = redisCommand(s->redis, "SET %s %b", s->key, s->payload, sizeof s->payload);
        if (!r)
            _exit(3); /* Redis gone: the bench sees the stage die */
        freeReplyObject(r);
        s->owed -= 1.0;
    }
}

static void *s_bind(void *ctx, int type, const char *ep)
{
    void *s = zmq_socket(ctx, type);
    int linger = 0, verbose = 1, handover = 1;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    /* A party that reconnects (the next run) takes its routing id over. */
    if (type == ZMQ_ROUTER)
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &handover, sizeof handover);
    if (type == ZMQ_XPUB)
        zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
    if (zmq_bind(s, ep) != 0)
        _exit(4);
    return s;
}

static void *s_sub(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s, ep) != 0)
        _exit(4);
    return s;
}

/* Waits until n subscriptions arrived on an XPUB (no event is lost to a
 * subscriber that has not joined yet). */
static void s_wait_subscribers(void *xpub, int n)
{
    while (n > 0) {
        char buf[64];
        if (zmq_recv(xpub, buf, sizeof buf, 0) > 0 && buf[0] == 1)
            n--;
    }
}

static void s_send_kind(void *sock, int kind, uint32_t idx, size_t bytes, int flags)
{
    uint8_t frame[DELIVERY_BYTES] = {0};
    frame[0] = (uint8_t)kind;
    memcpy(frame + 4, &idx, 4);
    zmq_send(sock, frame, bytes, flags);
}

typedef struct {
    char in[64], pub1[64], pub2[64], out[64];
    int redis_port;
} s_wiring_t;

static void s_stage_main(int which, const s_wiring_t *w, double per_input)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    s_stage_t st = {.per_input = per_input};
    snprintf(st.key, sizeof st.key, "floor:%d", which);
    memset(st.payload, 'x', sizeof st.payload);
    struct timeval tv = {2, 0};
    st.redis = redisConnectWithTimeout("127.0.0.1", w->redis_port, tv);
    if (!st.redis || st.redis->err)
        _exit(2);
    void *ctx = zmq_ctx_new();
    uint8_t buf[DELIVERY_BYTES];
    if (which == 0) { /* intake: ROUTER in, reply, publish */
        void *pub = s_bind(ctx, ZMQ_XPUB, w->pub1);
        s_wait_subscribers(pub, 3);
        void *router = s_bind(ctx, ZMQ_ROUTER, w->in);
        for (;;) {
            zmq_msg_t id;
            zmq_msg_init(&id);
            zmq_msg_recv(&id, router, 0);
            int n = zmq_recv(router, buf, sizeof buf, 0);
            if (n < 8)
                continue;
            uint32_t idx;
            memcpy(&idx, buf + 4, 4);
            s_round_trips(&st);
            zmq_msg_send(&id, router, ZMQ_SNDMORE);
            s_send_kind(router, K_REQUEST, idx, REPLY_BYTES, 0);
            s_send_kind(pub, K_PUBLISHED, idx, EVENT_BYTES, 0);
        }
    } else if (which == 1) { /* matching: SUB intake, publish the proposal */
        void *pub = s_bind(ctx, ZMQ_XPUB, w->pub2);
        s_wait_subscribers(pub, 2);
        void *sub = s_sub(ctx, w->pub1);
        for (;;) {
            int n = zmq_recv(sub, buf, sizeof buf, 0);
            if (n < 8)
                continue;
            uint32_t idx;
            memcpy(&idx, buf + 4, 4);
            s_round_trips(&st);
            s_send_kind(pub, K_PROPOSAL, idx, DELIVERY_BYTES, 0);
        }
    } else if (which == 2) { /* notification: SUB both, ROUTER out to the parties */
        void *router = s_bind(ctx, ZMQ_ROUTER, w->out);
        void *sub1 = s_sub(ctx, w->pub1), *sub2 = s_sub(ctx, w->pub2);
        zmq_pollitem_t items[3] = {
            {router, 0, ZMQ_POLLIN, 0}, {sub1, 0, ZMQ_POLLIN, 0}, {sub2, 0, ZMQ_POLLIN, 0}};
        for (;;) {
            if (zmq_poll(items, 3, -1) < 0)
                continue;
            if (items[0].revents & ZMQ_POLLIN) {
                char id[8];
                int idn = zmq_recv(router, id, sizeof id, 0);
                int n = zmq_recv(router, buf, sizeof buf, 0);
                if (idn > 0 && n > 0 && buf[0] == 'H') { /* hello: answer so the party knows */
                    zmq_send(router, id, (size_t)idn, ZMQ_SNDMORE);
                    zmq_send(router, "H", 1, 0);
                } else if (n > 0) { /* an acknowledgement */
                    s_round_trips(&st);
                }
            }
            for (int k = 1; k <= 2; k++) {
                if (!(items[k].revents & ZMQ_POLLIN))
                    continue;
                int n = zmq_recv(k == 1 ? sub1 : sub2, buf, sizeof buf, 0);
                if (n < 8)
                    continue;
                uint32_t idx;
                memcpy(&idx, buf + 4, 4);
                s_round_trips(&st);
                if (k == 1) {
                    zmq_send(router, "mu", 2, ZMQ_SNDMORE);
                    s_send_kind(router, K_PUBLISHED, idx, DELIVERY_BYTES, 0);
                } else {
                    static const char *const to[3] = {"cp", "co", "mu"};
                    static const int kind[3] = {K_PROPOSAL, K_CORP, K_MUNI};
                    for (int t = 0; t < 3; t++) {
                        zmq_send(router, to[t], 2, ZMQ_SNDMORE);
                        s_send_kind(router, kind[t], idx, DELIVERY_BYTES, 0);
                    }
                }
            }
        }
    } else { /* audit: SUB both, chain */
        void *sub1 = s_sub(ctx, w->pub1), *sub2 = s_sub(ctx, w->pub2);
        zmq_pollitem_t items[2] = {{sub1, 0, ZMQ_POLLIN, 0}, {sub2, 0, ZMQ_POLLIN, 0}};
        for (;;) {
            if (zmq_poll(items, 2, -1) < 0)
                continue;
            for (int k = 0; k < 2; k++)
                if ((items[k].revents & ZMQ_POLLIN) &&
                    zmq_recv(k == 0 ? sub1 : sub2, buf, sizeof buf, 0) > 0)
                    s_round_trips(&st);
        }
    }
}

int bench_floor_start(bench_floor_t *f, bench_env_t *env, const bench_census_t *census)
{
    memset(f, 0, sizeof *f);
    s_wiring_t w = {.redis_port = env->redis_port};
    snprintf(w.in, sizeof w.in, "tcp://127.0.0.1:%d", wz_proc_free_port(&env->port_cursor));
    snprintf(w.pub1, sizeof w.pub1, "tcp://127.0.0.1:%d", wz_proc_free_port(&env->port_cursor));
    snprintf(w.pub2, sizeof w.pub2, "tcp://127.0.0.1:%d", wz_proc_free_port(&env->port_cursor));
    snprintf(w.out, sizeof w.out, "tcp://127.0.0.1:%d", wz_proc_free_port(&env->port_cursor));
    snprintf(f->endpoint_in, sizeof f->endpoint_in, "%s", w.in);
    snprintf(f->endpoint_out, sizeof f->endpoint_out, "%s", w.out);
    /* Inputs per vacancy: intake 1 request, matching 1 event, notification
     * 2 events and 4 acknowledgements (one per delivery, as in the census's
     * one-at-a-time run), audit 2 events. */
    const double inputs[BENCH_SERVICES] = {1, 1, 6, 2};
    for (int i = 0; i < BENCH_SERVICES; i++) {
        double per_input = census->per_vacancy[i] / inputs[i];
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            s_stage_main(i, &w, per_input);
            _exit(0);
        }
        f->pids[i] = pid;
    }
    return 0;
}

void bench_floor_stop(bench_floor_t *f, bench_proc_t cpu[BENCH_SERVICES])
{
    for (int i = 0; i < BENCH_SERVICES; i++) {
        if (f->pids[i] <= 0)
            continue;
        if (cpu)
            bench_proc_read(f->pids[i], &cpu[i]);
        kill(f->pids[i], SIGKILL);
        wz_proc_wait(f->pids[i], 5000);
        f->pids[i] = 0;
    }
}
