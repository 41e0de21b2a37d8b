/* main.c - wzctl: act as one party of the suite from the command line.
 * Parsing and rendering live in wzctl_parse.c, wzctl_json.c and
 * wzctl_print.c; this file loads config and keys, talks to the services and
 * turns outcomes into exit codes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_audit.h"
#include "wz_client.h"
#include "wz_codec.h"
#include "wz_config.h"
#include "wz_acl.h"
#include "wz_dead.h"
#include "wz_store.h"
#include "wz_keys.h"
#include "wz_policy.h"
#include "wz_settings.h"
#include "wz_util.h"
#include "wz_validate.h"
#include "wz_match.h"
#include "wzctl.h"
#include "wzctl_audit.h"

#define RETRY_MS 1000
#define LISTEN_POLL_MS 500

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* What a request command needs, owned together and freed by s_env_fini. */
typedef struct {
    wz_settings_t settings;
    wz_policy_t *policy;
    const wz_party_t *actor;
    wz_keypair_t kp;
    char server_public[41];
    const char *endpoint;
    const char *service;
    void *ctx;
} s_env_t;

static void s_env_fini(s_env_t *env)
{
    wz_policy_destroy(&env->policy);
    explicit_bzero(&env->kp, sizeof env->kp);
    if (env->ctx)
        zmq_ctx_term(env->ctx);
    env->ctx = NULL;
}

/* Loads settings, policy and keys for talking to service as a.party.
 * Returns 0 or an exit code (after printing why). */
static int s_env_init(s_env_t *env, const wzctl_args_t *a, const char *service)
{
    char err[512];
    memset(env, 0, sizeof *env);
    env->service = service;
    if (wz_settings_load(&env->settings, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    if (!a->party) {
        fprintf(stderr, "wzctl: say which party you act as: --as PARTY or WZ_PARTY=PARTY\n");
        return WZCTL_EXIT_USAGE;
    }
    /* Keys are not needed to validate, and another party's may be absent. */
    env->policy = wz_policy_load(env->settings.policy_path, NULL, false, err, sizeof err);
    if (!env->policy) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    env->actor = wz_policy_party(env->policy, a->party);
    if (!env->actor) {
        fprintf(stderr, "wzctl: party '%s' is not in the policy %s\n", a->party,
                env->settings.policy_path);
        return WZCTL_EXIT_USAGE;
    }
    return 0;
}

/* Reads the key files and makes the context; after validation, so a request
 * that could never pass says why before any key file is looked at.
 * Returns 0 or an exit code (after printing why). */
static int s_env_connect(s_env_t *env, const wzctl_args_t *a)
{
    char err[512];
    const char *service = env->service;
    if (wz_client_keys(&env->settings, a->party, service, &env->kp, env->server_public, err,
                       sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    if (!strcmp(service, "intake"))
        env->endpoint = env->settings.intake.endpoint;
    else if (!strcmp(service, "audit"))
        env->endpoint = env->settings.audit.endpoint;
    else
        env->endpoint = env->settings.notification.endpoint;
    if (!*env->endpoint) {
        fprintf(stderr, "wzctl: %s: no %s endpoint configured\n", a->config, service);
        return WZCTL_EXIT_USAGE;
    }
    env->ctx = zmq_ctx_new();
    if (!env->ctx) {
        fprintf(stderr, "wzctl: cannot create a ZeroMQ context: %s\n", zmq_strerror(errno));
        return WZCTL_EXIT_USAGE;
    }
    return 0;
}

static void s_print_json(const ProtobufCMessage *m)
{
    wzctl_json_t j;
    wzctl_json_init(&j);
    wzctl_json_message(&j, NULL, m);
    const char *text = wzctl_json_text(&j);
    if (text)
        printf("%s\n", text);
    else
        fprintf(stderr, "wzctl: out of memory writing JSON\n");
    wzctl_json_free(&j);
    fflush(stdout);
}

/* --- keygen --------------------------------------------------------------------------- */

static void s_keygen_report(const wzctl_args_t *a, const char *name, const char *result,
                            const char *dir, const char *public_z85)
{
    if (a->json) {
        char path[WZ_PATH_MAX + 80];
        snprintf(path, sizeof path, "%s/%s.key", dir, name);
        wzctl_json_t j;
        wzctl_json_init(&j);
        wzctl_json_begin(&j, NULL, false);
        wzctl_json_str(&j, "name", name);
        wzctl_json_str(&j, "result", result);
        wzctl_json_str(&j, "key_file", path);
        wzctl_json_str(&j, "public_key", public_z85);
        wzctl_json_end(&j, false);
        if (wzctl_json_text(&j))
            printf("%s\n", wzctl_json_text(&j));
        wzctl_json_free(&j);
    } else {
        printf("%-8s %-20s %s/%s.key  public %s\n", result, name, dir, name, public_z85);
    }
}

static int s_keygen(const wzctl_args_t *a)
{
    char err[512];
    wz_settings_t settings;
    const char *dir = a->dir;
    if (!dir) {
        if (wz_settings_load(&settings, a->config, err, sizeof err) != 0) {
            fprintf(stderr, "wzctl: %s\nwzctl: cannot find keys_dir there; give --dir DIR\n", err);
            return WZCTL_EXIT_USAGE;
        }
        dir = settings.keys_dir;
    }
    for (size_t i = 0; i < a->npos; i++) {
        const char *name = a->pos[i];
        wz_keypair_t kp;
        if (wz_keys_generate(&kp) != 0) {
            fprintf(stderr, "wzctl: this libzmq cannot make CURVE keys (built without CURVE)\n");
            return WZCTL_EXIT_USAGE;
        }
        if (wz_keys_write(dir, name, &kp, a->force, err, sizeof err) == 0) {
            s_keygen_report(a, name, "created", dir, kp.public_z85);
            explicit_bzero(&kp, sizeof kp);
            continue;
        }
        explicit_bzero(&kp, sizeof kp);
        if (errno != EEXIST) {
            fprintf(stderr, "wzctl: %s\n", err);
            return WZCTL_EXIT_USAGE;
        }
        /* Kept: the existing pair must be sound, and its .pub present. */
        wz_keypair_t old;
        if (wz_keys_read_secret(dir, name, &old, err, sizeof err) != 0) {
            fprintf(stderr, "wzctl: keeping %s/%s.key, but it is not usable: %s\n", dir, name, err);
            return WZCTL_EXIT_USAGE;
        }
        char pubpath[WZ_PATH_MAX + 80];
        snprintf(pubpath, sizeof pubpath, "%s/%s.pub", dir, name);
        if (access(pubpath, F_OK) != 0 &&
            wz_keys_write_public(dir, name, old.public_z85, err, sizeof err) != 0) {
            fprintf(stderr, "wzctl: %s\n", err);
            explicit_bzero(&old, sizeof old);
            return WZCTL_EXIT_USAGE;
        }
        s_keygen_report(a, name, "kept", dir, old.public_z85);
        explicit_bzero(&old, sizeof old);
    }
    return WZCTL_EXIT_OK;
}

/* --- requests --------------------------------------------------------------------------- */

/* Storage for one request built from the command line. */
typedef struct {
    WzRequest req;
    wz_doc_t *doc;      /* the YAML file, kept for line numbers */
    WzVacancy *vacancy; /* parsed, owned */
    WzCandidate *candidate;
    Woonzorg__V1__IdRef ref;
    Woonzorg__V1__GrantUrgency grant;
    WzDate date;
    Woonzorg__V1__Answer answer;
    Woonzorg__V1__SignLease lease;
    Woonzorg__V1__StatusQuery status;
    Woonzorg__V1__AuditQuery audit;
    Woonzorg__V1__ConfirmStep confirm;
    Woonzorg__V1__Nominate nominate;
} s_build_t;

static void s_build_fini(s_build_t *b)
{
    WZ_FREE_UNPACKED(b->vacancy);
    WZ_FREE_UNPACKED(b->candidate);
    wz_doc_destroy(&b->doc);
}

/* Fills b->req from the arguments. Returns 0 or an exit code. */
static int s_build(s_build_t *b, const wzctl_args_t *a)
{
    char err[512];
    memset(b, 0, sizeof *b);
    b->req = (WzRequest)WOONZORG__V1__REQUEST__INIT;
    b->ref = (Woonzorg__V1__IdRef)WOONZORG__V1__ID_REF__INIT;
    b->ref.id = (char *)a->pos[0];
    switch (a->cmd) {
    case WZCTL_CMD_PUBLISH:
    case WZCTL_CMD_REGISTER:
        b->doc = wz_doc_load(a->pos[0], err, sizeof err);
        if (!b->doc ||
            (a->cmd == WZCTL_CMD_PUBLISH
                 ? wzctl_vacancy_from_doc(b->doc, &b->vacancy, err, sizeof err)
                 : wzctl_candidate_from_doc(b->doc, &b->candidate, err, sizeof err)) != 0) {
            fprintf(stderr, "wzctl: %s\n", err);
            return WZCTL_EXIT_USAGE;
        }
        if (a->cmd == WZCTL_CMD_PUBLISH) {
            b->req.body_case = WOONZORG__V1__REQUEST__BODY_PUBLISH_VACANCY;
            b->req.publish_vacancy = b->vacancy;
        } else {
            b->req.body_case = WOONZORG__V1__REQUEST__BODY_REGISTER_CANDIDATE;
            b->req.register_candidate = b->candidate;
        }
        break;
    case WZCTL_CMD_WITHDRAW:
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_VACANCY;
        b->req.withdraw_vacancy = &b->ref;
        break;
    case WZCTL_CMD_WITHDRAW_CANDIDATE:
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_WITHDRAW_CANDIDATE;
        b->req.withdraw_candidate = &b->ref;
        break;
    case WZCTL_CMD_GRANT_URGENCY:
        b->grant = (Woonzorg__V1__GrantUrgency)WOONZORG__V1__GRANT_URGENCY__INIT;
        b->grant.candidate_id = (char *)a->pos[0];
        if (a->date.year) {
            b->date = a->date;
            b->grant.date = &b->date;
        }
        b->grant.extend = a->extend;
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_GRANT_URGENCY;
        b->req.grant_urgency = &b->grant;
        break;
    case WZCTL_CMD_ANSWER:
        b->answer = (Woonzorg__V1__Answer)WOONZORG__V1__ANSWER__INIT;
        b->answer.proposal_id = (char *)a->pos[0];
        b->answer.accept = strcmp(a->pos[1], "accept") == 0;
        if (a->reason)
            b->answer.reason = (char *)a->reason;
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_ANSWER;
        b->req.answer = &b->answer;
        break;
    case WZCTL_CMD_CONFIRM:
        if (strcmp(a->pos[2], "ok") != 0 && strcmp(a->pos[2], "no") != 0) {
            fprintf(stderr, "wzctl: confirm wants ok or no, got '%s'\n", a->pos[2]);
            return WZCTL_EXIT_USAGE;
        }
        b->confirm = (Woonzorg__V1__ConfirmStep)WOONZORG__V1__CONFIRM_STEP__INIT;
        b->confirm.proposal_id = (char *)a->pos[0];
        b->confirm.step = (char *)a->pos[1];
        b->confirm.ok = strcmp(a->pos[2], "ok") == 0;
        if (a->reason)
            b->confirm.reason = (char *)a->reason;
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_CONFIRM_STEP;
        b->req.confirm_step = &b->confirm;
        break;
    case WZCTL_CMD_NOMINATE:
        b->nominate = (Woonzorg__V1__Nominate)WOONZORG__V1__NOMINATE__INIT;
        b->nominate.vacancy_id = (char *)a->pos[0];
        b->nominate.candidate_id = (char *)a->pos[1];
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_NOMINATE;
        b->req.nominate = &b->nominate;
        break;
    case WZCTL_CMD_EXPLAIN:
        b->status = (Woonzorg__V1__StatusQuery)WOONZORG__V1__STATUS_QUERY__INIT;
        b->status.kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_PROPOSAL;
        b->status.id = (char *)a->pos[0];
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
        b->req.status = &b->status;
        break;
    case WZCTL_CMD_SIGNED:
        b->lease = (Woonzorg__V1__SignLease)WOONZORG__V1__SIGN_LEASE__INIT;
        b->lease.vacancy_id = (char *)a->pos[0];
        b->lease.contract = (Woonzorg__V1__ContractType)a->contract;
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_SIGN_LEASE;
        b->req.sign_lease = &b->lease;
        break;
    case WZCTL_CMD_STATUS:
        b->status = (Woonzorg__V1__StatusQuery)WOONZORG__V1__STATUS_QUERY__INIT;
        b->status.kind = (Woonzorg__V1__StatusQuery__Kind)wzctl_status_kind_parse(a->pos[0]);
        b->status.id = (char *)a->pos[1];
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
        b->req.status = &b->status;
        break;
    case WZCTL_CMD_AUDIT:
        b->audit = (Woonzorg__V1__AuditQuery)WOONZORG__V1__AUDIT_QUERY__INIT;
        b->audit.last = (uint32_t)a->last;
        b->req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
        b->req.audit = &b->audit;
        break;
    default:
        fprintf(stderr, "wzctl: %s is not a request\n", a->cmd_name);
        return WZCTL_EXIT_USAGE;
    }
    return 0;
}

/* explain --replay: asks intake to replay the decision under its policy
 * (municipalities only; the snapshot itself never leaves the suite) and
 * prints the verdict. Exit 0 when the same, 1 when it differs or cannot be
 * replayed. */
static int s_replay(s_env_t *env, wz_client_t *client, const wzctl_args_t *a,
                    const WzReply *proposal_reply)
{
    WzRequest req = WOONZORG__V1__REQUEST__INIT;
    Woonzorg__V1__StatusQuery q = WOONZORG__V1__STATUS_QUERY__INIT;
    char request_id[33];
    wz_random_id(request_id);
    q.kind = WOONZORG__V1__STATUS_QUERY__KIND__KIND_REPLAY;
    q.id = (char *)a->pos[0];
    req.request_id = request_id;
    req.body_case = WOONZORG__V1__REQUEST__BODY_STATUS;
    req.status = &q;
    WzReply *reply = NULL;
    if (wz_client_call(client, &req, a->timeout_ms, RETRY_MS, &reply) != 0) {
        fprintf(stderr, "error: TIMEOUT: no replay verdict from %s within %d ms\n", env->service,
                a->timeout_ms);
        return WZCTL_EXIT_TIMEOUT;
    }
    int rc = WZCTL_EXIT_REFUSED;
    if (reply->code != WOONZORG__V1__CODE__CODE_OK ||
        reply->result_case != WOONZORG__V1__REPLY__RESULT_REPLAY) {
        wzctl_print_error(stderr, reply->code, reply->field, reply->message, NULL);
        goto out;
    }
    const WzReplayVerdict *v = reply->replay;
    if (a->json) {
        s_print_json(&reply->base);
    } else {
        if (proposal_reply->result_case == WOONZORG__V1__REPLY__RESULT_PROPOSAL)
            wzctl_print_explanation(stdout, proposal_reply->proposal);
        wzctl_print_verdict(stdout, v);
    }
    if (v->outcome == WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_SAME)
        rc = WZCTL_EXIT_OK;
    else if (v->outcome != WOONZORG__V1__REPLAY_VERDICT__OUTCOME__OUTCOME_DIFFERENT)
        fprintf(stderr, "error: cannot replay %s: %s\n", a->pos[0], v->reason);
out:
    WZ_FREE_UNPACKED(reply);
    return rc;
}

static int s_request(const wzctl_args_t *a)
{
    s_build_t b;
    s_env_t env;
    wz_client_t *client = NULL;
    WzReply *reply = NULL;
    int rc = s_build(&b, a);
    if (rc != 0) {
        s_build_fini(&b);
        return rc;
    }
    rc = s_env_init(&env, a, a->cmd == WZCTL_CMD_AUDIT ? "audit" : "intake");
    if (rc != 0)
        goto out;

    /* The request id is ours, so validation sees it like the server will. */
    char request_id[33];
    wz_random_id(request_id);
    b.req.request_id = request_id;
    wz_verdict_t v;
    if (wz_validate_request(&b.req, env.policy, env.actor, &v) != 0) {
        char where[WZ_PATH_MAX + 16] = "";
        int line = wzctl_field_line(b.doc, v.field);
        if (line > 0)
            snprintf(where, sizeof where, "%s:%d", wz_doc_name(b.doc), line);
        wzctl_print_error(stderr, v.code, v.field, v.message, where);
        rc = WZCTL_EXIT_USAGE;
        goto out;
    }
    rc = s_env_connect(&env, a);
    if (rc != 0)
        goto out;
    client = wz_client_new(env.ctx, env.endpoint, env.server_public, &env.kp);
    if (!client) {
        fprintf(stderr, "wzctl: cannot connect to %s at %s: %s\n", env.service, env.endpoint,
                zmq_strerror(errno));
        rc = WZCTL_EXIT_USAGE;
        goto out;
    }
    if (wz_client_call(client, &b.req, a->timeout_ms, RETRY_MS, &reply) != 0) {
        if (errno == ETIMEDOUT)
            fprintf(stderr,
                    "error: TIMEOUT: no reply from %s at %s within %d ms (is it running, and "
                    "does it know the key of '%s'?)\n",
                    env.service, env.endpoint, a->timeout_ms, a->party);
        else
            fprintf(stderr, "error: UNREACHABLE: %s at %s: %s\n", env.service, env.endpoint,
                    zmq_strerror(errno));
        rc = WZCTL_EXIT_TIMEOUT;
        goto out;
    }
    if (a->json)
        s_print_json(&reply->base);
    if (reply->code != WOONZORG__V1__CODE__CODE_OK) {
        wzctl_print_error(stderr, reply->code, reply->field, reply->message, NULL);
        rc = WZCTL_EXIT_REFUSED;
        goto out;
    }
    if (a->cmd == WZCTL_CMD_EXPLAIN && a->replay) {
        rc = s_replay(&env, client, a, reply);
        goto out;
    }
    if (!a->json) {
        if (a->cmd == WZCTL_CMD_EXPLAIN)
            wzctl_print_explanation(stdout, reply->result_case ==
                                                    WOONZORG__V1__REPLY__RESULT_PROPOSAL
                                                ? reply->proposal
                                                : NULL);
        else if (a->cmd == WZCTL_CMD_STATUS)
            wzctl_print_status(stdout, reply);
        else if (a->cmd == WZCTL_CMD_AUDIT)
            wzctl_print_audit(stdout, reply->result_case == WOONZORG__V1__REPLY__RESULT_AUDIT
                                          ? reply->audit
                                          : NULL);
        else
            wzctl_print_ok(stdout, a->cmd, a, reply);
    }
    rc = WZCTL_EXIT_OK;
out:
    WZ_FREE_UNPACKED(reply);
    wz_client_destroy(&client);
    s_env_fini(&env);
    s_build_fini(&b);
    return rc;
}

/* --- listen ----------------------------------------------------------------------------- */

static int s_listen(const wzctl_args_t *a)
{
    s_env_t env;
    int rc = s_env_init(&env, a, "notification");
    if (rc == 0)
        rc = s_env_connect(&env, a);
    if (rc != 0) {
        s_env_fini(&env);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: the poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* after_seq 0: the server resumes from what this party acknowledged. */
    wz_listener_t *l = wz_listener_new(env.ctx, env.endpoint, env.server_public, &env.kp, 0);
    if (!l) {
        fprintf(stderr, "wzctl: cannot connect to notification at %s: %s\n", env.endpoint,
                zmq_strerror(errno));
        s_env_fini(&env);
        return WZCTL_EXIT_USAGE;
    }
    long got = 0;
    int64_t last = wz_mono_ms();
    rc = WZCTL_EXIT_OK;
    while (!s_stop) {
        int wait = LISTEN_POLL_MS;
        if (a->silence_s > 0) {
            int64_t left = last + (int64_t)a->silence_s * 1000 - wz_mono_ms();
            if (left <= 0) {
                if (a->count > 0 && got < a->count) {
                    fprintf(stderr,
                            "error: TIMEOUT: %ld of %ld deliveries, then %ld s of silence\n", got,
                            a->count, a->silence_s);
                    rc = WZCTL_EXIT_TIMEOUT;
                }
                break;
            }
            if (left < wait)
                wait = (int)left;
        }
        WzDelivery *d = NULL;
        int n = wz_listener_next(l, wait, &d);
        if (n < 0) {
            fprintf(stderr, "error: UNREACHABLE: notification at %s: %s\n", env.endpoint,
                    zmq_strerror(errno));
            rc = WZCTL_EXIT_TIMEOUT;
            break;
        }
        if (n == 0)
            continue;
        if (a->json)
            s_print_json(&d->base);
        else
            wzctl_print_delivery(stdout, d);
        fflush(stdout);
        if (!a->no_ack && wz_listener_ack(l, d->seq) != 0)
            fprintf(stderr, "wzctl: could not acknowledge #%llu: %s (it will come again)\n",
                    (unsigned long long)d->seq, zmq_strerror(errno));
        WZ_FREE_UNPACKED(d);
        got++;
        last = wz_mono_ms();
        if (a->count > 0 && got >= a->count)
            break;
    }
    wz_listener_destroy(&l);
    s_env_fini(&env); /* waits briefly for the last ack to leave */
    return rc;
}

/* A municipality's report: its region's chain, page by page, through the
 * audit service, which answers municipalities about their own region only. */
static int s_report_party(const wzctl_args_t *a, wz_report_t **report)
{
    s_env_t env;
    wz_client_t *client = NULL;
    int rc = s_env_init(&env, a, "audit");
    if (rc == 0)
        rc = s_env_connect(&env, a);
    if (rc == 0) {
        *report = wz_report_new((wz_period_t)a->period, env.policy);
        client = wz_client_new(env.ctx, env.endpoint, env.server_public, &env.kp);
        if (!*report || !client) {
            fprintf(stderr, "wzctl: cannot connect to audit at %s: %s\n", env.endpoint,
                    zmq_strerror(errno));
            rc = WZCTL_EXIT_USAGE;
        }
    }
    uint64_t after = 0;
    while (rc == 0) {
        char request_id[33];
        wz_random_id(request_id);
        Woonzorg__V1__AuditQuery q = WOONZORG__V1__AUDIT_QUERY__INIT;
        q.after_seq = after;
        q.last = WZ_AUDIT_PAGE_MAX;
        WzRequest req = WOONZORG__V1__REQUEST__INIT;
        req.request_id = request_id;
        req.body_case = WOONZORG__V1__REQUEST__BODY_AUDIT;
        req.audit = &q;
        WzReply *reply = NULL;
        if (wz_client_call(client, &req, a->timeout_ms, RETRY_MS, &reply) != 0) {
            fprintf(stderr, "error: TIMEOUT: no reply from audit at %s within %d ms\n",
                    env.endpoint, a->timeout_ms);
            rc = WZCTL_EXIT_TIMEOUT;
            break;
        }
        if (reply->code != WOONZORG__V1__CODE__CODE_OK ||
            reply->result_case != WOONZORG__V1__REPLY__RESULT_AUDIT) {
            wzctl_print_error(stderr, reply->code, reply->field, reply->message, NULL);
            rc = WZCTL_EXIT_REFUSED;
            WZ_FREE_UNPACKED(reply);
            break;
        }
        const WzAuditPage *page = reply->audit;
        for (size_t i = 0; i < page->n_entries; i++) {
            if (page->entries[i]->event && wz_report_add(*report, page->entries[i]->event) != 0)
                rc = WZCTL_EXIT_USAGE;
            if (page->entries[i]->seq > after)
                after = page->entries[i]->seq;
        }
        size_t got = page->n_entries;
        WZ_FREE_UNPACKED(reply);
        if (got < WZ_AUDIT_PAGE_MAX)
            break;
    }
    wz_client_destroy(&client);
    s_env_fini(&env);
    return rc;
}

static int s_report(const wzctl_args_t *a)
{
    wz_report_t *report = NULL;
    wz_policy_t *policy = NULL;
    int rc;
    if (a->party) {
        if (a->region) {
            fprintf(stderr, "wzctl: report --region is for the operator; a municipality sees "
                            "its own region\n");
            return WZCTL_EXIT_USAGE;
        }
        rc = s_report_party(a, &report);
    } else {
        policy = wzctl_report_policy(a);
        report = policy ? wz_report_new((wz_period_t)a->period, policy) : NULL;
        rc = report ? wzctl_report_redis(a, report) : WZCTL_EXIT_USAGE;
    }
    if (rc == 0) {
        wz_report_format_t f =
            a->json ? WZ_REPORT_JSON : a->csv ? WZ_REPORT_CSV : WZ_REPORT_TABLE;
        if (wz_report_write(report, stdout, f, a->by) != 0 || fflush(stdout) != 0)
            rc = WZCTL_EXIT_USAGE;
    }
    wz_report_destroy(&report);
    wz_policy_destroy(&policy);
    return rc;
}

/* --- dead letters (operator, straight to Redis) ------------------------------------- */

static const char *const s_consumers[] = {"matching", "notification", "audit"};

static int s_dead_letters(const wzctl_args_t *a)
{
    char err[512];
    wz_settings_t settings;
    if (wz_settings_load(&settings, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    wz_policy_t *policy = wz_policy_load(settings.policy_path, NULL, false, err, sizeof err);
    if (!policy) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    /* As the operator's ACL user when the suite uses them (it may read, and
     * ask for replays). */
    if (wz_acl_login(&settings.redis, settings.keys_dir, "operator", err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        wz_policy_destroy(&policy);
        return WZCTL_EXIT_USAGE;
    }
    wz_store_t *store = wz_store_new(&settings.redis, NULL);
    int rc = WZCTL_EXIT_OK;
    if (!store || wz_store_connect(store) != 0) {
        fprintf(stderr, "error: UNREACHABLE: redis at %s:%d: %s\n", settings.redis.host,
                settings.redis.port, store ? wz_store_errstr(store) : "out of memory");
        rc = WZCTL_EXIT_TIMEOUT;
    } else if (strcmp(a->pos[0], "replay") == 0) {
        const char *colon = strrchr(a->pos[3], ':');
        char producer[64];
        snprintf(producer, sizeof producer, "%.*s", (int)(colon - a->pos[3]), a->pos[3]);
        char *end = NULL;
        unsigned long long seq = strtoull(colon + 1, &end, 10);
        int r = *end || !seq ? 1
                             : wz_dead_request_replay(store, a->pos[1], a->pos[2], producer, seq);
        if (r == 0) {
            printf("replay of %s requested: %s applies it on its next catch-up\n", a->pos[3],
                   a->pos[2]);
        } else if (r == 1) {
            fprintf(stderr, "error: NOT_FOUND: no dead letter %s of %s in region %s\n", a->pos[3],
                    a->pos[2], a->pos[1]);
            rc = WZCTL_EXIT_REFUSED;
        } else {
            fprintf(stderr, "error: UNAVAILABLE: %s\n", wz_store_errstr(store));
            rc = WZCTL_EXIT_TIMEOUT;
        }
    } else {
        size_t total = 0;
        for (size_t r = 0; r < policy->n_regions && rc == WZCTL_EXIT_OK; r++)
            for (size_t c = 0; c < sizeof s_consumers / sizeof s_consumers[0]; c++) {
                wz_dead_letter_t *all = NULL;
                size_t n = 0;
                const char *region = policy->regions[r].id;
                if (wz_dead_list(store, region, s_consumers[c], &all, &n) != 0) {
                    fprintf(stderr, "error: UNAVAILABLE: %s\n", wz_store_errstr(store));
                    rc = WZCTL_EXIT_TIMEOUT;
                    break;
                }
                for (size_t i = 0; i < n; i++) {
                    const wz_dead_letter_t *d = &all[i];
                    if (a->json) {
                        wzctl_json_t j;
                        wzctl_json_init(&j);
                        wzctl_json_begin(&j, NULL, false);
                        wzctl_json_str(&j, "region", region);
                        wzctl_json_str(&j, "consumer", d->consumer);
                        wzctl_json_str(&j, "producer", d->producer);
                        wzctl_json_uint(&j, "seq", d->seq);
                        wzctl_json_str(&j, "event_id", d->event_id);
                        wzctl_json_str(&j, "reason", d->reason);
                        wzctl_json_uint(&j, "attempts", d->attempts);
                        wzctl_json_int(&j, "at_ms", d->at_ms);
                        wzctl_json_bool(&j, "replay_requested", d->replay_requested);
                        wzctl_json_end(&j, false);
                        const char *text = wzctl_json_text(&j);
                        if (text)
                            puts(text);
                        wzctl_json_free(&j);
                    } else {
                        printf("%s %s %s:%llu  event %s  attempts %u  reason: %s%s\n"
                               "    replay: wzctl dead-letters replay %s %s %s:%llu\n",
                               region, d->consumer, d->producer, (unsigned long long)d->seq,
                               d->event_id[0] ? d->event_id : "(unreadable)", d->attempts,
                               d->reason, d->replay_requested ? "  [replay requested]" : "",
                               region, d->consumer, d->producer, (unsigned long long)d->seq);
                    }
                }
                total += n;
                free(all);
            }
        if (rc == WZCTL_EXIT_OK && !a->json)
            printf("%zu dead letter%s\n", total, total == 1 ? "" : "s");
    }
    wz_store_destroy(&store);
    wz_policy_destroy(&policy);
    return rc;
}

int main(int argc, char **argv)
{
    wzctl_args_t a;
    char err[512];
    if (wzctl_args_parse(argc, argv, &a, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    if (a.help) {
        wzctl_usage(stdout);
        return WZCTL_EXIT_OK;
    }
    switch (a.cmd) {
    case WZCTL_CMD_KEYGEN:
        return s_keygen(&a);
    case WZCTL_CMD_LISTEN:
        return s_listen(&a);
    case WZCTL_CMD_REDIS_ACL:
        return wzctl_redis_acl(&a);
    case WZCTL_CMD_REPORT:
        return s_report(&a);
    case WZCTL_CMD_AUDIT:
        if (!strcmp(a.pos[0], "verify"))
            return wzctl_audit_verify(&a);
        if (!strcmp(a.pos[0], "export"))
            return wzctl_audit_export(&a);
        return s_request(&a);
    case WZCTL_CMD_DEAD_LETTERS:
        return s_dead_letters(&a);
    default:
        return s_request(&a);
    }
}
