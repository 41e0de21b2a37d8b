/* wzctl_audit.c - audit verify and export (see wzctl_audit.h). */
#include "wzctl_audit.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_acl.h"
#include "wz_audit.h"
#include "wz_chain.h"
#include "wz_shred.h"
#include "wz_policy.h"
#include "wz_settings.h"
#include "wz_store.h"
#include "wz_util.h"

#define KEY_MAX 256
#define BATCH 256
#define LINE_MAX_LEN (1 << 20)
#define MAX_REGIONS 64

/* Settings and the regions to look at (--region, or every one of the policy). */
typedef struct {
    wz_settings_t settings;
    wz_policy_t *policy;
    const char *regions[MAX_REGIONS];
    size_t n_regions;
} s_ctx_t;

static int s_ctx_init(s_ctx_t *c, const wzctl_args_t *a, bool need_policy)
{
    char err[512];
    memset(c, 0, sizeof *c);
    if (wz_settings_load(&c->settings, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    /* Read-only access to Redis is all verify and export need. */
    if (wz_acl_login(&c->settings.redis, c->settings.keys_dir, "operator", err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: redis.acl_users: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    if (a->region) {
        c->regions[c->n_regions++] = a->region;
        return 0;
    }
    if (!need_policy)
        return 0;
    c->policy = wz_policy_load(c->settings.policy_path, NULL, false, err, sizeof err);
    if (!c->policy) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    for (size_t i = 0; i < c->policy->n_regions && c->n_regions < MAX_REGIONS; i++)
        c->regions[c->n_regions++] = c->policy->regions[i].id;
    return 0;
}

static void s_ctx_fini(s_ctx_t *c)
{
    wz_policy_destroy(&c->policy);
    sodium_memzero(c->settings.redis.password, sizeof c->settings.redis.password);
}

static wz_store_t *s_store(s_ctx_t *c)
{
    /* An operator's walk over a whole chain need not fail fast the way a
     * service's command must: a busy Redis gets time to answer. */
    if (c->settings.redis.connect_timeout_ms < 5000)
        c->settings.redis.connect_timeout_ms = 5000;
    if (c->settings.redis.command_timeout_ms < 15000)
        c->settings.redis.command_timeout_ms = 15000;
    wz_store_t *store = wz_store_new(&c->settings.redis, NULL);
    if (!store || wz_store_connect(store) != 0) {
        fprintf(stderr, "wzctl: cannot reach redis at %s:%d: %s\n", c->settings.redis.host,
                c->settings.redis.port, store ? wz_store_errstr(store) : "out of memory");
        wz_store_destroy(&store);
        return NULL;
    }
    return store;
}

static void s_report(const char *region, int rc, uint64_t checked, uint64_t signed_size,
                     uint64_t first_bad, const char *why)
{
    if (rc == 0)
        printf("%s: intact, %" PRIu64 " entries, %" PRIu64 " covered by signed checkpoints\n",
               region, checked, signed_size);
    else if (rc == 1)
        printf("%s: BROKEN at entry %" PRIu64 ": %s (%" PRIu64 " entries before it are good)\n",
               region, first_bad, why, checked);
    else
        printf("%s: cannot verify: %s\n", region, why);
}

/* --- verify on Redis ------------------------------------------------------------------ */

static int s_verify_redis(s_ctx_t *c, const uint8_t pk[WZ_SIGN_PUBLIC_LEN])
{
    wz_store_t *store = s_store(c);
    if (!store)
        return WZCTL_EXIT_TIMEOUT;
    int worst = 0;
    for (size_t i = 0; i < c->n_regions; i++) {
        uint64_t checked = 0, bad = 0;
        char why[512];
        int rc = wz_audit_verify_signed(store, c->regions[i], c->settings.audit.checkpoint_dir, pk,
                                        &checked, &bad, why, sizeof why);
        /* The checkpoints' extent, for the report. */
        wz_checkpoint_t *cps = NULL;
        size_t n = 0;
        uint64_t signed_size = 0;
        char err[256];
        if (wz_checkpoint_load(c->settings.audit.checkpoint_dir, c->regions[i], &cps, &n, err,
                               sizeof err) == 0)
            for (size_t k = 0; k < n; k++)
                if (cps[k].size > signed_size)
                    signed_size = cps[k].size;
        free(cps);
        s_report(c->regions[i], rc, checked, signed_size, bad, why);
        if (rc < 0 && worst == 0)
            worst = WZCTL_EXIT_TIMEOUT;
        if (rc == 1)
            worst = 1;
    }
    wz_store_destroy(&store);
    return worst;
}

/* --- export --------------------------------------------------------------------------- */

/* A stream entry's field, or NULL. */
static const redisReply *s_field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

/* hex of a field, "" when absent. */
static void s_hex_field(const redisReply *f, char *out, size_t outlen)
{
    out[0] = '\0';
    if (f && 2 * f->len + 1 <= outlen)
        wz_chain_hex((const uint8_t *)f->str, f->len, out);
}

/* Writes one entry line; the id's sequence is written as stored (a foreign
 * id as 0), so an export of a damaged chain shows the damage offline too. */
static int s_export_entry(FILE *out, const char *region, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return fprintf(out, "{\"kind\":\"entry\",\"region\":\"%s\",\"seq\":0}\n", region) < 0;
    uint64_t seq = 0;
    char *end = NULL;
    unsigned long long v = strtoull(e->element[0]->str, &end, 10);
    if (end && strcmp(end, "-0") == 0)
        seq = v;
    const redisReply *fields = e->element[1];
    const redisReply *ev = s_field(fields, "e");
    const redisReply *src = s_field(fields, "src");
    char prev[2 * WZ_CHAIN_HASH_LEN + 8], hash[2 * WZ_CHAIN_HASH_LEN + 8];
    s_hex_field(s_field(fields, "prev"), prev, sizeof prev);
    s_hex_field(s_field(fields, "hash"), hash, sizeof hash);
    size_t b64len = sodium_base64_ENCODED_LEN(ev ? ev->len : 0, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    if (!b64)
        return -1;
    sodium_bin2base64(b64, b64len, ev ? (const unsigned char *)ev->str : (const unsigned char *)"",
                      ev ? ev->len : 0, sodium_base64_VARIANT_ORIGINAL);
    /* src is for people only (not hashed); keep it to id characters. */
    char source[128] = "";
    if (src)
        for (size_t i = 0, n = 0; i < src->len && n + 1 < sizeof source; i++) {
            char ch = src->str[i];
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || strchr("._-/:", ch);
            source[n++] = ok ? ch : '?';
            source[n] = '\0';
        }
    int rc = fprintf(out,
                     "{\"kind\":\"entry\",\"region\":\"%s\",\"seq\":%" PRIu64
                     ",\"src\":\"%s\",\"prev\":\"%s\",\"hash\":\"%s\",\"e\":\"%s\"%s}\n",
                     region, seq, source, prev, hash, b64, ev ? "" : ",\"no_e\":1") < 0;
    free(b64);
    return rc;
}

static int s_export_region(FILE *out, wz_store_t *store, const s_ctx_t *c, const char *region)
{
    char err[512], line[1024];
    wz_checkpoint_t *cps = NULL;
    size_t n = 0;
    if (wz_checkpoint_load(c->settings.audit.checkpoint_dir, region, &cps, &n, err, sizeof err) !=
        0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        if (wz_checkpoint_format(&cps[i], line, sizeof line) == 0)
            fprintf(out, "%s\n", line);
    free(cps);
    char key[KEY_MAX], start[48] = "-";
    if (wz_store_key(store, key, sizeof key, region, "audit") != 0)
        return WZCTL_EXIT_USAGE;
    for (;;) {
        redisReply *r = wz_store_cmd(store, "XRANGE %s %s + COUNT %d", key, start, BATCH);
        if (!r) {
            fprintf(stderr, "wzctl: redis: %s\n", wz_store_errstr(store));
            return WZCTL_EXIT_TIMEOUT;
        }
        size_t rows = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t i = 0; i < rows; i++) {
            if (s_export_entry(out, region, r->element[i]) != 0) {
                freeReplyObject(r);
                fprintf(stderr, "wzctl: cannot write the export: %s\n", strerror(errno));
                return WZCTL_EXIT_USAGE;
            }
            const redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
                e->element[0]->type == REDIS_REPLY_STRING)
                /* "(" makes the start exclusive: any id, foreign ones too. */
                snprintf(start, sizeof start, "(%s", e->element[0]->str);
        }
        freeReplyObject(r);
        if (rows < BATCH)
            break;
    }
    return 0;
}

int wzctl_audit_export(const wzctl_args_t *a)
{
    s_ctx_t c;
    int rc = s_ctx_init(&c, a, true);
    if (rc != 0) {
        s_ctx_fini(&c);
        return rc;
    }
    wz_store_t *store = s_store(&c);
    if (!store) {
        s_ctx_fini(&c);
        return WZCTL_EXIT_TIMEOUT;
    }
    FILE *out = a->out ? fopen(a->out, "w") : stdout;
    if (!out) {
        fprintf(stderr, "wzctl: cannot write %s: %s\n", a->out, strerror(errno));
        rc = WZCTL_EXIT_USAGE;
    }
    for (size_t i = 0; out && rc == 0 && i < c.n_regions; i++)
        rc = s_export_region(out, store, &c, c.regions[i]);
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        fprintf(stderr, "wzctl: cannot write %s: %s\n", a->out, strerror(errno));
        rc = WZCTL_EXIT_USAGE;
    }
    if (out == stdout)
        fflush(stdout);
    wz_store_destroy(&store);
    s_ctx_fini(&c);
    return rc;
}

/* --- report (operator) ---------------------------------------------------------------- */

wz_policy_t *wzctl_report_policy(const wzctl_args_t *a)
{
    char err[512];
    wz_settings_t settings;
    if (wz_settings_load(&settings, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return NULL;
    }
    wz_policy_t *p = wz_policy_load(settings.policy_path, NULL, false, err, sizeof err);
    if (!p)
        fprintf(stderr, "wzctl: %s\n", err);
    return p;
}

int wzctl_report_redis(const wzctl_args_t *a, wz_report_t *report)
{
    s_ctx_t c;
    int rc = s_ctx_init(&c, a, true);
    wz_store_t *store = rc == 0 ? s_store(&c) : NULL;
    if (rc == 0 && !store)
        rc = WZCTL_EXIT_TIMEOUT;
    char err[512];
    wz_shred_t *shred = rc == 0 ? wz_shred_new(c.settings.keys_dir, false, err, sizeof err) : NULL;
    for (size_t i = 0; rc == 0 && i < c.n_regions; i++) {
        char key[KEY_MAX], start[48] = "-";
        if (wz_store_key(store, key, sizeof key, c.regions[i], "audit") != 0) {
            rc = WZCTL_EXIT_USAGE;
            break;
        }
        for (;;) {
            redisReply *r = wz_store_cmd(store, "XRANGE %s %s + COUNT %d", key, start, BATCH);
            if (!r) {
                fprintf(stderr, "wzctl: redis: %s\n", wz_store_errstr(store));
                rc = WZCTL_EXIT_TIMEOUT;
                break;
            }
            size_t rows = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
            for (size_t k = 0; rc == 0 && k < rows; k++) {
                const redisReply *e = r->element[k];
                if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
                    e->element[0]->type != REDIS_REPLY_STRING)
                    continue;
                snprintf(start, sizeof start, "(%s", e->element[0]->str);
                const redisReply *ev = s_field(e->element[1], "e");
                uint8_t *bytes = NULL;
                size_t n = 0;
                /* Sealed entries open with the audit data key where this
                 * operator can read it; erased ones drop out. */
                int got = ev ? wz_shred_read(shred, store, c.regions[i],
                                             (const uint8_t *)ev->str, ev->len, &bytes, &n)
                             : 1;
                if (got < 0 || (got == 0 && wz_report_add_bytes(report, bytes, n) != 0)) {
                    fprintf(stderr, "wzctl: redis or memory failed while reading the chain\n");
                    rc = WZCTL_EXIT_USAGE;
                }
                free(bytes);
            }
            freeReplyObject(r);
            if (rows < BATCH)
                break;
        }
    }
    wz_shred_destroy(&shred);
    wz_store_destroy(&store);
    s_ctx_fini(&c);
    return rc;
}

/* --- verify an export ------------------------------------------------------------------ */

typedef struct {
    char region[WZ_CHAIN_REGION_MAX];
    wz_chain_verifier_t *v;
} s_file_region_t;

static s_file_region_t *s_file_region(s_file_region_t *rs, size_t *n, const char *region,
                                      const uint8_t *pk)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(rs[i].region, region) == 0)
            return &rs[i];
    if (*n == MAX_REGIONS)
        return NULL;
    s_file_region_t *r = &rs[(*n)++];
    wz_strlcpy(r->region, region, sizeof r->region);
    r->v = wz_chain_verifier_new(region, pk);
    return r->v ? r : NULL;
}

/* One pass over the file: kind "checkpoint" (pass 0) or "entry" (pass 1). */
static int s_file_pass(FILE *f, int pass, s_file_region_t *rs, size_t *n, const uint8_t *pk,
                       const char *only, const char *path)
{
    char *line = malloc(LINE_MAX_LEN);
    if (!line)
        return WZCTL_EXIT_USAGE;
    rewind(f);
    size_t lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, LINE_MAX_LEN, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char kind[16], region[WZ_CHAIN_REGION_MAX];
        if (wz_chain_json_str(line, "kind", kind, sizeof kind) != 0 ||
            wz_chain_json_str(line, "region", region, sizeof region) != 0 ||
            !wz_id_valid(region, WZ_CHAIN_REGION_MAX - 1)) {
            fprintf(stderr, "wzctl: %s:%zu: not an audit export line\n", path, lineno);
            rc = WZCTL_EXIT_USAGE;
            break;
        }
        if (only && strcmp(region, only) != 0)
            continue;
        s_file_region_t *r = s_file_region(rs, n, region, pk);
        if (!r) {
            fprintf(stderr, "wzctl: %s:%zu: too many regions\n", path, lineno);
            rc = WZCTL_EXIT_USAGE;
            break;
        }
        if (pass == 0 && !strcmp(kind, "checkpoint")) {
            wz_checkpoint_t cp;
            if (wz_checkpoint_parse(line, &cp) != 0) {
                fprintf(stderr, "wzctl: %s:%zu: malformed checkpoint\n", path, lineno);
                rc = WZCTL_EXIT_USAGE;
            } else {
                wz_chain_verifier_checkpoint(r->v, &cp);
            }
        } else if (pass == 1 && !strcmp(kind, "entry")) {
            uint64_t seq = 0;
            char prev_hex[2 * WZ_CHAIN_HASH_LEN + 2] = "", hash_hex[2 * WZ_CHAIN_HASH_LEN + 2] = "";
            uint8_t prev[WZ_CHAIN_HASH_LEN], hash[WZ_CHAIN_HASH_LEN];
            size_t plen = 0, hlen = 0, elen = 0;
            wz_chain_json_u64(line, "seq", &seq);
            if (wz_chain_json_str(line, "prev", prev_hex, sizeof prev_hex) == 0 &&
                sodium_hex2bin(prev, sizeof prev, prev_hex, strlen(prev_hex), NULL, &plen, NULL) !=
                    0)
                plen = 0;
            if (wz_chain_json_str(line, "hash", hash_hex, sizeof hash_hex) == 0 &&
                sodium_hex2bin(hash, sizeof hash, hash_hex, strlen(hash_hex), NULL, &hlen, NULL) !=
                    0)
                hlen = 0;
            char *b64 = malloc(LINE_MAX_LEN);
            uint8_t *ev = malloc(LINE_MAX_LEN);
            bool have_e = b64 && ev && !strstr(line, "\"no_e\":1") &&
                          wz_chain_json_str(line, "e", b64, LINE_MAX_LEN) == 0 &&
                          sodium_base642bin(ev, LINE_MAX_LEN, b64, strlen(b64), NULL, &elen, NULL,
                                            sodium_base64_VARIANT_ORIGINAL) == 0;
            wz_chain_verifier_entry(r->v, seq, plen ? prev : NULL, plen, hlen ? hash : NULL, hlen,
                                    have_e ? ev : NULL, elen);
            free(b64);
            free(ev);
        }
    }
    free(line);
    return rc;
}

static int s_verify_file(const wzctl_args_t *a, const uint8_t pk[WZ_SIGN_PUBLIC_LEN])
{
    FILE *f = fopen(a->file, "r");
    if (!f) {
        fprintf(stderr, "wzctl: cannot read %s: %s\n", a->file, strerror(errno));
        return WZCTL_EXIT_USAGE;
    }
    s_file_region_t rs[MAX_REGIONS];
    size_t n = 0;
    int rc = s_file_pass(f, 0, rs, &n, pk, a->region, a->file);
    if (rc == 0)
        rc = s_file_pass(f, 1, rs, &n, pk, a->region, a->file);
    fclose(f);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "wzctl: %s holds no audit entries%s%s\n", a->file,
                a->region ? " of region " : "", a->region ? a->region : "");
        rc = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 || rc == 1) {
            int r = wz_chain_verifier_finish(rs[i].v, 0);
            s_report(rs[i].region, r, wz_chain_verifier_checked(rs[i].v),
                     wz_chain_verifier_checkpointed(rs[i].v), wz_chain_verifier_first_bad(rs[i].v),
                     wz_chain_verifier_why(rs[i].v));
            if (r != 0)
                rc = 1;
        }
        wz_chain_verifier_destroy(&rs[i].v);
    }
    return rc;
}

int wzctl_audit_verify(const wzctl_args_t *a)
{
    s_ctx_t c;
    int rc = s_ctx_init(&c, a, !a->file);
    if (rc != 0) {
        s_ctx_fini(&c);
        return rc;
    }
    uint8_t pk[WZ_SIGN_PUBLIC_LEN];
    char err[512];
    if (sodium_init() < 0 || wz_sign_public_load(c.settings.keys_dir, pk, err, sizeof err) != 0) {
        fprintf(stderr,
                "wzctl: %s\n(the audit service writes it on its first start; without it the "
                "signed checkpoints cannot be checked)\n",
                err);
        s_ctx_fini(&c);
        return WZCTL_EXIT_USAGE;
    }
    rc = a->file ? s_verify_file(a, pk) : s_verify_redis(&c, pk);
    s_ctx_fini(&c);
    return rc;
}

int wzctl_redis_acl(const wzctl_args_t *a)
{
    wz_settings_t settings;
    char err[512];
    if (wz_settings_load(&settings, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    if (wz_acl_write_file(a->pos[0], settings.keys_dir, settings.redis.prefix, NULL, err,
                          sizeof err) != 0) {
        fprintf(stderr, "wzctl: %s\n", err);
        return WZCTL_EXIT_USAGE;
    }
    printf("wrote %s: users wz-intake, wz-matching, wz-notification, wz-audit, wz-operator; "
           "passwords in %s/redis-<name>.pass; the default user is off\n",
           a->pos[0], settings.keys_dir);
    return WZCTL_EXIT_OK;
}
