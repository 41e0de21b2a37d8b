/* bench_drive.c - the load: corporations publish vacancies (at an offered
 * rate, or as fast as a window of unfinished ones allows) and every party
 * listens on its mailbox and acknowledges what it drained. A vacancy is
 * finished when intake replied, its municipality was told of the
 * publication, and the proposal reached the care provider, the corporation
 * and the municipality (or both, when the candidate's is another one).
 *
 * The same loop drives the floor: there the messages are opaque frames of
 * the same size with a small header, on plain TCP. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "wz_client.h"
#include "wz_codec.h"
#include "wz_zap.h"

#define MAX_SOCKS 64
#define WARMUP 20
/* Bytes of a packed PublishVacancy request and of a ProposalCreated
 * delivery, give or take: the floor sends frames this big. */
#define FLOOR_REQUEST_BYTES 160
#define FLOOR_DELIVERY_BYTES 900

enum { GOT_REPLY = 1, GOT_PUBLISHED = 2, GOT_PROPOSAL = 4, GOT_CORPORATION = 8 };

/* Kinds of floor frames; the notification stage forwards them. */
enum { K_REQUEST = 1, K_PUBLISHED = 2, K_PROPOSAL = 3, K_CORP = 4, K_MUNI = 5 };

typedef struct {
    double t_send;
    uint8_t got;
    uint8_t muni_expected, muni_got;
    bool done, measured;
} s_vac_t;

typedef struct {
    void *sock;
    const wz_party_t *party; /* suite only */
    uint64_t last_seq;       /* suite: highest sequence seen (acked after each drain) */
    double quiet_since;      /* suite: last delivery or Hello */
    bool publisher;
} s_sock_t;

typedef struct {
    bench_env_t *env;
    const bench_load_t *load;
    bench_result_t *out;
    void *ctx;
    s_sock_t socks[MAX_SOCKS];
    size_t n_socks;
    size_t n_pub; /* the first n_pub socks publish */
    s_vac_t *vacs;
    size_t total; /* warm-up + measured */
    size_t completed;
    double last_done;
} s_drive_t;

static void s_finish_check(s_drive_t *d, size_t i, double now)
{
    s_vac_t *v = &d->vacs[i];
    if (v->done)
        return;
    uint8_t all = GOT_REPLY | GOT_PUBLISHED | GOT_PROPOSAL | GOT_CORPORATION;
    if ((v->got & all) == all && v->muni_expected && v->muni_got >= v->muni_expected) {
        v->done = true;
        d->completed++;
        if (v->measured)
            d->last_done = now;
    }
}

/* Records one delivery of kind for vacancy index i. */
static void s_delivered(s_drive_t *d, size_t i, int kind, int muni_expected, double now)
{
    if (i >= d->total)
        return;
    s_vac_t *v = &d->vacs[i];
    double ms = (now - v->t_send) * 1000.0;
    if (v->measured) {
        d->out->deliveries++;
        bench_samples_add(&d->out->all, ms);
        bench_samples_add(kind == K_PROPOSAL ? &d->out->proposal : &d->out->info, ms);
    }
    if (muni_expected)
        v->muni_expected = (uint8_t)muni_expected;
    switch (kind) {
    case K_PUBLISHED:
        v->got |= GOT_PUBLISHED;
        break;
    case K_PROPOSAL:
        v->got |= GOT_PROPOSAL;
        break;
    case K_CORP:
        v->got |= GOT_CORPORATION;
        break;
    case K_MUNI:
        v->muni_got++;
        break;
    default:
        break;
    }
    s_finish_check(d, i, now);
}

static void s_replied(s_drive_t *d, size_t i, bool ok, double now)
{
    if (i >= d->total)
        return;
    s_vac_t *v = &d->vacs[i];
    if (v->measured) {
        bench_samples_add(&d->out->reply, (now - v->t_send) * 1000.0);
        if (ok)
            d->out->replies_ok++;
        else
            d->out->replies_bad++;
    }
    v->got |= GOT_REPLY;
    s_finish_check(d, i, now);
}

/* "B-<n>" -> n - first_index, or SIZE_MAX. */
static size_t s_index(const s_drive_t *d, const char *vacancy_id)
{
    if (!vacancy_id || strncmp(vacancy_id, "B-", 2) != 0)
        return SIZE_MAX;
    unsigned long long n = strtoull(vacancy_id + 2, NULL, 10);
    return n >= d->load->first_index ? (size_t)(n - d->load->first_index) : SIZE_MAX;
}

/* --- the suite ------------------------------------------------------------ */

static void *s_curve_dealer(s_drive_t *d, const char *party, const char *service,
                            const char *endpoint)
{
    wz_keypair_t kp;
    char server[41], err[256];
    if (wz_client_keys(&d->env->settings, party, service, &kp, server, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        return NULL;
    }
    void *s = zmq_socket(d->ctx, ZMQ_DEALER);
    int linger = 0;
    if (!s || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        wz_zap_client(s, &kp, server) != 0 || zmq_connect(s, endpoint) != 0) {
        if (s)
            zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_send_msg(void *sock, const ProtobufCMessage *m)
{
    return wz_codec_send(sock, m, ZMQ_DONTWAIT);
}

static int s_hello(void *sock, uint64_t after)
{
    Woonzorg__V1__Hello hello = WOONZORG__V1__HELLO__INIT;
    WzClientMessage cm = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    hello.after_seq = after;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO;
    cm.hello = &hello;
    return s_send_msg(sock, &cm.base);
}

static int s_ack(void *sock, uint64_t up_to)
{
    Woonzorg__V1__Ack ack = WOONZORG__V1__ACK__INIT;
    WzClientMessage cm = WOONZORG__V1__CLIENT_MESSAGE__INIT;
    ack.up_to_seq = up_to;
    cm.body_case = WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK;
    cm.ack = &ack;
    return s_send_msg(sock, &cm.base);
}

static int s_suite_open(s_drive_t *d)
{
    const wz_policy_t *p = d->env->policy;
    /* One corporation per region publishes. */
    for (size_t r = 0; r < p->n_regions; r++)
        for (size_t i = 0; i < p->n_parties; i++)
            if (p->parties[i].role == WZ_ROLE_CORPORATION &&
                strcmp(p->parties[i].region, p->regions[r].id) == 0) {
                s_sock_t *s = &d->socks[d->n_socks++];
                s->party = &p->parties[i];
                s->publisher = true;
                s->sock =
                    s_curve_dealer(d, s->party->id, "intake", d->env->settings.intake.endpoint);
                if (!s->sock)
                    return -1;
                break;
            }
    d->n_pub = d->n_socks;
    for (size_t i = 0; i < p->n_parties && d->n_socks < MAX_SOCKS; i++) {
        s_sock_t *s = &d->socks[d->n_socks++];
        s->party = &p->parties[i];
        s->sock =
            s_curve_dealer(d, s->party->id, "notification", d->env->settings.notification.endpoint);
        if (!s->sock || s_hello(s->sock, 0) != 0)
            return -1;
        s->quiet_since = bench_now_s();
    }
    return 0;
}

static int s_suite_publish(s_drive_t *d, size_t i)
{
    const wz_policy_t *p = d->env->policy;
    s_sock_t *pub = &d->socks[i % d->n_pub];
    const wz_region_t *region = wz_policy_region(p, pub->party->region);
    const wz_municipality_t *mu =
        &region->municipalities[(i / d->n_pub) % region->n_municipalities];
    char id[32], rid[40], address[48];
    snprintf(id, sizeof id, "B-%zu", d->load->first_index + i);
    snprintf(rid, sizeof rid, "bench-%zu", d->load->first_index + i);
    snprintf(address, sizeof address, "Benchstraat %zu", i + 1);
    WzDate from = WOONZORG__V1__DATE__INIT;
    from.year = 2025;
    from.month = 12;
    from.day = 1;
    WzVacancy v = WOONZORG__V1__VACANCY__INIT;
    v.id = id;
    v.municipality = (char *)mu->id;
    v.neighbourhood = mu->n_neighbourhoods ? (char *)mu->neighbourhoods[0].code : (char *)"";
    v.complex = (char *)"bench-1";
    v.address = address;
    v.rooms = 2;
    v.floor_area_m2 = 48;
    v.rent_cents = 61250;
    v.access = WOONZORG__V1__ACCESS__ACCESS_GROUND_FLOOR | WOONZORG__V1__ACCESS__ACCESS_NO_STEPS;
    v.available_from = &from;
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    req.request_id = rid;
    req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
    req.publish_vacancy = &v;
    return s_send_msg(pub->sock, &req.base);
}

static void s_suite_reply(s_drive_t *d, const zmq_msg_t *msg, double now)
{
    WzReply *r = wz_reply_unpack(zmq_msg_data((zmq_msg_t *)msg), zmq_msg_size((zmq_msg_t *)msg));
    if (!r)
        return;
    if (r->request_id && strncmp(r->request_id, "bench-", 6) == 0) {
        unsigned long long n = strtoull(r->request_id + 6, NULL, 10);
        if (n >= d->load->first_index) {
            bool ok = r->code == WOONZORG__V1__CODE__CODE_OK;
            if (!ok && d->out->replies_bad < 3)
                fprintf(stderr, "bench: publish refused: %s\n", r->message);
            s_replied(d, (size_t)(n - d->load->first_index), ok, now);
        }
    }
    WZ_FREE_UNPACKED(r);
}

static void s_suite_delivery(s_drive_t *d, s_sock_t *s, const zmq_msg_t *msg, double now)
{
    WzDelivery *dl = (WzDelivery *)wz_codec_unpack(&woonzorg__v1__delivery__descriptor,
                                                   zmq_msg_data((zmq_msg_t *)msg),
                                                   zmq_msg_size((zmq_msg_t *)msg));
    if (!dl)
        return;
    if (dl->seq <= s->last_seq || !dl->event) { /* a resend after reconnect */
        WZ_FREE_UNPACKED(dl);
        return;
    }
    s->last_seq = dl->seq;
    const WzEvent *ev = dl->event;
    if (ev->payload_case == WOONZORG__V1__EVENT__PAYLOAD_VACANCY_PUBLISHED &&
        ev->vacancy_published->vacancy) {
        s_delivered(d, s_index(d, ev->vacancy_published->vacancy->id), K_PUBLISHED, 0, now);
    } else if (ev->payload_case == WOONZORG__V1__EVENT__PAYLOAD_PROPOSAL_CREATED &&
               ev->proposal_created->proposal) {
        const WzProposal *p = ev->proposal_created->proposal;
        const WzVacancy *v = ev->proposal_created->vacancy;
        int munis = v && v->municipality && strcmp(v->municipality, p->municipality) != 0 ? 2 : 1;
        int kind = s->party->role == WZ_ROLE_CARE_PROVIDER ? K_PROPOSAL
                   : s->party->role == WZ_ROLE_CORPORATION ? K_CORP
                                                           : K_MUNI;
        s_delivered(d, s_index(d, p->vacancy_id), kind, munis, now);
    }
    WZ_FREE_UNPACKED(dl);
}

/* --- the floor ------------------------------------------------------------ */

static int s_floor_open(s_drive_t *d, const char *const endpoints[2])
{
    int linger = 0;
    s_sock_t *pub = &d->socks[d->n_socks++];
    pub->publisher = true;
    pub->sock = zmq_socket(d->ctx, ZMQ_DEALER);
    if (!pub->sock || zmq_setsockopt(pub->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(pub->sock, endpoints[0]) != 0)
        return -1;
    d->n_pub = 1;
    static const char *const ids[3] = {"cp", "mu", "co"};
    for (int i = 0; i < 3; i++) {
        s_sock_t *s = &d->socks[d->n_socks++];
        s->sock = zmq_socket(d->ctx, ZMQ_DEALER);
        if (!s->sock || zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            zmq_setsockopt(s->sock, ZMQ_ROUTING_ID, ids[i], 2) != 0 ||
            zmq_connect(s->sock, endpoints[1]) != 0)
            return -1;
        uint8_t hello[8] = {'H'};
        if (zmq_send(s->sock, hello, sizeof hello, 0) < 0)
            return -1;
        /* The stage answers once it knows this party; until then it would
         * drop what it routes here. */
        int timeout = 10000;
        char echo[8];
        zmq_setsockopt(s->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        if (zmq_recv(s->sock, echo, sizeof echo, 0) != 1 || echo[0] != 'H')
            return -1;
    }
    return 0;
}

static int s_floor_publish(s_drive_t *d, size_t i)
{
    uint8_t frame[FLOOR_REQUEST_BYTES] = {0};
    uint32_t idx = (uint32_t)i;
    frame[0] = K_REQUEST;
    memcpy(frame + 4, &idx, 4);
    return zmq_send(d->socks[0].sock, frame, sizeof frame, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void s_floor_msg(s_drive_t *d, s_sock_t *s, const zmq_msg_t *msg, double now)
{
    const uint8_t *b = zmq_msg_data((zmq_msg_t *)msg);
    if (zmq_msg_size((zmq_msg_t *)msg) < 8 || b[0] < K_REQUEST || b[0] > K_MUNI)
        return;
    uint32_t idx;
    memcpy(&idx, b + 4, 4);
    if (s->publisher)
        s_replied(d, idx, true, now);
    else
        s_delivered(d, idx, b[0], b[0] == K_MUNI || b[0] == K_PROPOSAL || b[0] == K_CORP ? 1 : 0,
                    now);
    s->last_seq++;
}

static double s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the loop ------------------------------------------------------------- */

static int s_send(s_drive_t *d, size_t i)
{
    d->vacs[i].t_send = bench_now_s();
    return d->load->target == BENCH_SUITE ? s_suite_publish(d, i) : s_floor_publish(d, i);
}

/* Receives everything queued on s; acknowledges once per drain, as a client
 * that keeps up would. */
static void s_drain(s_drive_t *d, s_sock_t *s)
{
    uint64_t before = s->last_seq;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        double now = bench_now_s();
        if (d->load->target == BENCH_FLOOR)
            s_floor_msg(d, s, &msg, now);
        else if (s->publisher)
            s_suite_reply(d, &msg, now);
        else
            s_suite_delivery(d, s, &msg, now);
        zmq_msg_close(&msg);
    }
    if (!s->publisher && s->last_seq > before) {
        s->quiet_since = bench_now_s();
        if (d->load->target == BENCH_SUITE) {
            s_ack(s->sock, s->last_seq);
        } else {
            uint8_t ack[8] = {'A'};
            zmq_send(s->sock, ack, sizeof ack, ZMQ_DONTWAIT);
        }
    }
}

/* Sends vacancies [from, to) at the load's pace and waits for them. */
static int s_run(s_drive_t *d, size_t from, size_t to, bool paced)
{
    const bench_load_t *L = d->load;
    size_t next = from;
    double t0 = bench_now_s(), last_progress = t0;
    size_t base = d->completed, last_completed = base;
    size_t target = base + (to - from);
    while (d->completed < target) {
        double now = bench_now_s();
        long wait_ms = 50;
        while (next < to) {
            if (paced && L->rate > 0) {
                double due = t0 + (double)(next - from) / L->rate;
                if (due > now) {
                    long ms = (long)((due - now) * 1000.0);
                    wait_ms = ms < wait_ms ? ms : wait_ms;
                    break;
                }
            } else {
                size_t window = paced ? L->window : 1;
                if ((next - from) - (d->completed - base) >= window)
                    break;
            }
            if (s_send(d, next) != 0) {
                fprintf(stderr, "bench: send failed: %s\n", zmq_strerror(zmq_errno()));
                return -1;
            }
            if (d->vacs[next].measured)
                d->out->sent++;
            next++;
            now = bench_now_s();
        }
        zmq_pollitem_t items[MAX_SOCKS];
        for (size_t i = 0; i < d->n_socks; i++)
            items[i] = (zmq_pollitem_t){d->socks[i].sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(items, (int)d->n_socks, wait_ms);
        if (rc < 0)
            return -1;
        for (size_t i = 0; i < d->n_socks; i++)
            if (items[i].revents & ZMQ_POLLIN)
                s_drain(d, &d->socks[i]);
        now = bench_now_s();
        /* Like wz_listener, a quiet party says Hello again, so a session
         * that notification dropped after session_timeout_ms resumes; every
         * 5 s rather than every second, to add little to the census. */
        for (size_t i = d->n_pub; L->target == BENCH_SUITE && i < d->n_socks; i++)
            if (now - d->socks[i].quiet_since >= 5.0) {
                s_hello(d->socks[i].sock, d->socks[i].last_seq);
                d->socks[i].quiet_since = now;
            }
        if (d->completed != last_completed) {
            last_completed = d->completed;
            last_progress = now;
        } else if ((now - last_progress) * 1000.0 > L->timeout_ms) {
            fprintf(stderr, "bench: no progress for %d ms; %zu of %zu vacancies finished\n",
                    L->timeout_ms, d->completed - base, to - from);
            return -1;
        }
    }
    return 0;
}

int bench_drive(bench_env_t *env, const bench_load_t *load, const char *floor_endpoints[2],
                bench_result_t *out)
{
    memset(out, 0, sizeof *out);
    s_drive_t d = {.env = env, .load = load, .out = out};
    d.total = WARMUP + load->n;
    d.vacs = calloc(d.total, sizeof *d.vacs);
    d.ctx = zmq_ctx_new();
    int rc = -1;
    if (!d.vacs || !d.ctx)
        goto out;
    for (size_t i = WARMUP; i < d.total; i++)
        d.vacs[i].measured = true;
    if ((load->target == BENCH_SUITE ? s_suite_open(&d) : s_floor_open(&d, floor_endpoints)) != 0) {
        fprintf(stderr, "bench: cannot open the client sockets\n");
        goto out;
    }
    /* Warm-up, one at a time: every session's CURVE handshake is done and
     * every code path has run once before anything is measured. */
    if (s_run(&d, 0, WARMUP, false) != 0)
        goto out;
    double t0 = bench_now_s();
    out->wall_start = s_wall();
    if (s_run(&d, WARMUP, d.total, true) != 0)
        goto out;
    out->wall_end = s_wall();
    out->completed = d.completed - WARMUP;
    out->elapsed_s = d.last_done - t0;
    out->throughput = out->elapsed_s > 0 ? (double)out->completed / out->elapsed_s : 0;
    rc = 0;
out:
    if (rc != 0 && d.completed > WARMUP)
        out->completed = d.completed - WARMUP;
    for (size_t i = 0; i < d.n_socks; i++)
        if (d.socks[i].sock)
            zmq_close(d.socks[i].sock);
    if (d.ctx)
        zmq_ctx_term(d.ctx);
    free(d.vacs);
    return rc;
}

void bench_result_free(bench_result_t *r)
{
    bench_samples_free(&r->reply);
    bench_samples_free(&r->proposal);
    bench_samples_free(&r->info);
    bench_samples_free(&r->all);
}

/* True when audit's cursor on producer in region reached the stream's end. */
static int s_audit_caught_up(redisContext *c, const char *prefix, const char *region,
                             const char *producer)
{
    redisReply *len = redisCommand(c, "XLEN %s{%s}:stream:%s", prefix, region, producer);
    redisReply *cur = redisCommand(c, "GET %s{%s}:cursor:audit:%s", prefix, region, producer);
    int rc = -1;
    if (len && cur && len->type == REDIS_REPLY_INTEGER) {
        long long at = cur->type == REDIS_REPLY_STRING ? strtoll(cur->str, NULL, 10) : 0;
        rc = at >= len->integer ? 1 : 0;
    }
    if (len)
        freeReplyObject(len);
    if (cur)
        freeReplyObject(cur);
    return rc;
}

int bench_wait_audit(bench_env_t *env, int timeout_ms)
{
    redisContext *c = bench_env_redis(env);
    if (!c)
        return -1;
    double deadline = bench_now_s() + timeout_ms / 1000.0;
    static const char *const producers[3] = {"intake", "matching", "notification"};
    int rc = -1;
    while (bench_now_s() < deadline) {
        int behind = 0;
        for (size_t r = 0; r < env->policy->n_regions; r++)
            for (int p = 0; p < 3; p++) {
                int up = s_audit_caught_up(c, env->settings.redis.prefix,
                                           env->policy->regions[r].id, producers[p]);
                if (up < 0)
                    goto out;
                behind += !up;
            }
        if (!behind) {
            rc = 0;
            break;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
out:
    redisFree(c);
    return rc;
}
