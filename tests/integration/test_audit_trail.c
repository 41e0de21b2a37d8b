/* test_audit_trail.c - the tamper-evident audit trail (issue 5) against the
 * real services and the real `wzctl audit verify` / `export`: an intact
 * chain verifies, in Redis and as an export; an entry altered, removed or
 * reordered in Redis is found and named; cutting off the newest entries
 * (cursors rewritten too) and rewriting history with recomputed hashes are
 * caught by the Ed25519-signed checkpoints kept outside Redis; a forged
 * checkpoint and an altered export are refused. Each tampering is undone
 * before the next, and the restored chain verifies again. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wz_audit.h"
#include "wz_chain.h"
#include "wz_it.h"
#include "wz_testmain.h"

#define ZKIJ "zkij"
#define NO_EXPIRY 600

typedef struct {
    char id[32];
    uint8_t *e;
    size_t e_len;
    char src[128];
    uint8_t prev[32], hash[32];
} s_entry_t;

typedef struct {
    s_entry_t *v;
    size_t n;
} s_chain_t;

static void s_audit_key(it_t *it, char key[IT_KEY_MAX])
{
    it_key(it, key, ZKIJ, "audit");
}

static const redisReply *s_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (!strcmp(fields->element[i]->str, name))
            return fields->element[i + 1];
    return NULL;
}

static s_chain_t s_read(it_t *it)
{
    char key[IT_KEY_MAX];
    s_audit_key(it, key);
    redisReply *r = wz_store_cmd(it->store, "XRANGE %s - +", key);
    ck_assert_ptr_nonnull(r);
    s_chain_t c = {calloc(r->elements + 1, sizeof(s_entry_t)), r->elements};
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        s_entry_t *x = &c.v[i];
        snprintf(x->id, sizeof x->id, "%s", e->element[0]->str);
        const redisReply *ev = s_field(e->element[1], "e");
        x->e = malloc(ev->len + 1);
        memcpy(x->e, ev->str, ev->len);
        x->e_len = ev->len;
        snprintf(x->src, sizeof x->src, "%s", s_field(e->element[1], "src")->str);
        memcpy(x->prev, s_field(e->element[1], "prev")->str, 32);
        memcpy(x->hash, s_field(e->element[1], "hash")->str, 32);
    }
    freeReplyObject(r);
    return c;
}

static void s_free(s_chain_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].e);
    free(c->v);
    c->v = NULL;
}

/* Replaces the stream with entries (as an attacker with full Redis access can). */
static void s_write(it_t *it, const s_entry_t *v, size_t n)
{
    char key[IT_KEY_MAX];
    s_audit_key(it, key);
    redisReply *r = wz_store_cmd(it->store, "DEL %s", key);
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    for (size_t i = 0; i < n; i++) {
        r = wz_store_cmd(it->store, "XADD %s %s e %b src %s prev %b hash %b", key, v[i].id, v[i].e,
                         v[i].e_len, v[i].src, v[i].prev, (size_t)32, v[i].hash, (size_t)32);
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(r->type != REDIS_REPLY_ERROR, "XADD: %s", r->str);
        freeReplyObject(r);
    }
}

static void s_expect_verify(it_t *it, int want, const char *needle)
{
    char out[8192];
    int rc = it_wzctl(it, out, sizeof out, "audit", "verify", "--region", ZKIJ, NULL);
    ck_assert_msg(rc == want, "audit verify exited %d, expected %d: %s", rc, want, out);
    ck_assert_msg(strstr(out, needle) != NULL, "audit verify said '%s', expected '%s'", out,
                  needle);
}

/* Events until the region's chain has at least want entries, every one of
 * them chained, and a signed checkpoint covering all of them. */
static size_t s_settle(it_t *it, size_t want)
{
    int64_t deadline = wz_mono_ms() + IT_WAIT_MS;
    for (;;) {
        long long produced = it_stream_len(it, ZKIJ, "intake") +
                             it_stream_len(it, ZKIJ, "matching") +
                             it_stream_len(it, ZKIJ, "notification");
        long long chained = it_count(it, "XLEN", ZKIJ, "audit");
        wz_checkpoint_t *cps = NULL;
        size_t n = 0;
        char err[256];
        ck_assert_int_eq(
            wz_checkpoint_load(it->settings->audit.checkpoint_dir, ZKIJ, &cps, &n, err, sizeof err),
            0);
        uint64_t covered = 0;
        for (size_t i = 0; i < n; i++)
            covered = cps[i].size > covered ? cps[i].size : covered;
        free(cps);
        if (chained >= (long long)want && chained == produced && covered == (uint64_t)chained)
            return (size_t)chained;
        ck_assert_msg(wz_mono_ms() < deadline,
                      "audit did not settle: %lld produced, %lld chained, %llu signed", produced,
                      chained, (unsigned long long)covered);
        zmq_poll(NULL, 0, 50);
    }
}

START_TEST(test_tamper_detected)
{
    it_t it;
    it_open(&it, NO_EXPIRY);
    wz_client_t *kam = it_client(&it, "ribw-kam");
    wz_client_t *haarlem = it_client(&it, "gem-haarlem");
    wz_client_t *pre = it_client(&it, "pre-wonen");
    char id[32];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "kam-07%02d", i);
        it_candidate_t c = it_candidate(id);
        WzReply *r = it_register(kam, NULL, &c);
        it_ok(&r);
        r = it_grant(haarlem, NULL, id, 2025, 1, 10 + i);
        it_ok(&r);
    }
    it_vacancy_t v = it_vacancy("PW-2025-0700");
    WzReply *r = it_publish(pre, NULL, &v);
    it_ok(&r);
    it_wait_vacancy_state(&it, ZKIJ, "PW-2025-0700", IT_VSTATE(OFFERED));
    size_t n = s_settle(&it, 8);
    /* Nothing changes the chain from here on. */
    ck_assert_int_eq(wz_testenv_stop_service(it.env, "audit", SIGTERM), 0);

    char key_pub[700];
    snprintf(key_pub, sizeof key_pub, "%s/%s.pub", it.settings->keys_dir, WZ_SIGN_KEY_NAME);
    struct stat st;
    char key_sec[700];
    snprintf(key_sec, sizeof key_sec, "%s/%s.key", it.settings->keys_dir, WZ_SIGN_KEY_NAME);
    ck_assert_int_eq(stat(key_sec, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    s_expect_verify(&it, 0, "intact");
    s_chain_t good = s_read(&it);
    ck_assert_uint_eq(good.n, n);
    s_entry_t *t = calloc(n, sizeof *t);

    /* 1. altered: one byte of entry 3's event. */
    memcpy(t, good.v, n * sizeof *t);
    uint8_t *copy = malloc(good.v[2].e_len);
    memcpy(copy, good.v[2].e, good.v[2].e_len);
    copy[good.v[2].e_len / 2] ^= 0x01;
    t[2].e = copy;
    s_write(&it, t, n);
    s_expect_verify(&it, 1, "BROKEN at entry 3: entry 3 was altered");
    free(copy);
    s_write(&it, good.v, n);
    s_expect_verify(&it, 0, "intact");

    /* 2. removed: entry 4. */
    s_write(&it, t, 0);
    memcpy(t, good.v, n * sizeof *t);
    memmove(&t[3], &t[4], (n - 4) * sizeof *t);
    s_write(&it, t, n - 1);
    s_expect_verify(&it, 1, "BROKEN at entry 4: entry 4 is missing");
    s_write(&it, good.v, n);

    /* 3. reordered: entries 5 and 6 swap places (ids stay in order). */
    memcpy(t, good.v, n * sizeof *t);
    s_entry_t tmp = t[4];
    t[4] = t[5];
    t[5] = tmp;
    snprintf(t[4].id, sizeof t[4].id, "%s", good.v[4].id);
    snprintf(t[5].id, sizeof t[5].id, "%s", good.v[5].id);
    s_write(&it, t, n);
    s_expect_verify(&it, 1, "BROKEN at entry 5: entry 5 does not link to entry 4");
    s_write(&it, good.v, n);
    s_expect_verify(&it, 0, "intact");

    /* 4. the newest two cut off, and the cursors lowered to match: only the
     * signed checkpoint still knows how long the chain was. */
    char cursor_keys[3][IT_KEY_MAX], cursor_vals[3][32];
    const char *producers[3] = {"intake", "matching", "notification"};
    long long total = 0;
    for (int i = 0; i < 3; i++) {
        char suffix[64];
        snprintf(suffix, sizeof suffix, "cursor:audit:%s", producers[i]);
        it_key(&it, cursor_keys[i], ZKIJ, "%s", suffix);
        it_get_str(&it, ZKIJ, suffix, cursor_vals[i], sizeof cursor_vals[i]);
        total += atoll(cursor_vals[i]);
    }
    ck_assert_int_eq(total, (long long)n);
    s_write(&it, good.v, n - 2);
    /* Lower intake's cursor by two (it produced most of them). */
    char lowered[32];
    snprintf(lowered, sizeof lowered, "%lld", atoll(cursor_vals[0]) - 2);
    redisReply *rr = wz_store_cmd(it.store, "SET %s %s", cursor_keys[0], lowered);
    freeReplyObject(rr);
    s_expect_verify(&it, 1, "a signed checkpoint covers");
    rr = wz_store_cmd(it.store, "SET %s %s", cursor_keys[0], cursor_vals[0]);
    freeReplyObject(rr);
    s_write(&it, good.v, n);

    /* 5. history rewritten: entry 2 altered and every later hash recomputed,
     * so the chain is self-consistent; the checkpoint signed the old head. */
    memcpy(t, good.v, n * sizeof *t);
    copy = malloc(good.v[1].e_len);
    memcpy(copy, good.v[1].e, good.v[1].e_len);
    copy[0] ^= 0x02;
    t[1].e = copy;
    uint8_t prev[32] = {0};
    for (size_t i = 0; i < n; i++) {
        memcpy(t[i].prev, prev, 32);
        wz_audit_hash(prev, i + 1, t[i].e, t[i].e_len, t[i].hash);
        memcpy(prev, t[i].hash, 32);
    }
    s_write(&it, t, n);
    s_expect_verify(&it, 1, "signed checkpoint");
    free(copy);
    s_write(&it, good.v, n);
    s_expect_verify(&it, 0, "intact");

    /* 6. export, verify offline; then an altered export is refused. */
    char out[8192], path[700], bad[700];
    snprintf(path, sizeof path, "%s/audit.jsonl", wz_testenv_dir(it.env));
    ck_assert_int_eq(it_wzctl(&it, out, sizeof out, "audit", "export", "-o", path, NULL), 0);
    int rc = it_wzctl(&it, out, sizeof out, "audit", "verify", "--file", path, NULL);
    ck_assert_msg(rc == 0 && strstr(out, "zkij: intact"), "offline verify: %d %s", rc, out);
    FILE *f = fopen(path, "r");
    snprintf(bad, sizeof bad, "%s/audit-bad.jsonl", wz_testenv_dir(it.env));
    FILE *g = fopen(bad, "w");
    ck_assert(f && g);
    char line[1 << 16];
    int entries = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "\"kind\":\"entry\"") && strstr(line, "\"region\":\"zkij\"") &&
            ++entries == 2) {
            /* One base64 character of the event changed. */
            char *e = strstr(line, "\"e\":\"") + 5;
            e[1] = e[1] == 'A' ? 'B' : 'A';
        }
        fputs(line, g);
    }
    fclose(f);
    fclose(g);
    rc = it_wzctl(&it, out, sizeof out, "audit", "verify", "--file", bad, NULL);
    ck_assert_msg(rc == 1 && strstr(out, "BROKEN at entry 2"), "altered export: %d %s", rc, out);

    /* 7. a forged checkpoint (size changed, signature kept) is refused. */
    char cpath[700];
    snprintf(cpath, sizeof cpath, "%s/zkij.checkpoints", it.settings->audit.checkpoint_dir);
    ck_assert_int_eq(stat(cpath, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    wz_checkpoint_t *cps = NULL;
    size_t ncp = 0;
    char err[256];
    ck_assert_int_eq(
        wz_checkpoint_load(it.settings->audit.checkpoint_dir, ZKIJ, &cps, &ncp, err, sizeof err),
        0);
    ck_assert_uint_ge(ncp, 1);
    wz_checkpoint_t forged = cps[ncp - 1];
    free(cps);
    forged.size += 5;
    char forged_line[1024];
    ck_assert_int_eq(wz_checkpoint_format(&forged, forged_line, sizeof forged_line), 0);
    f = fopen(cpath, "a");
    fprintf(f, "%s\n", forged_line);
    fclose(f);
    s_expect_verify(&it, 1, "no valid signature");

    free(t);
    s_free(&good);
    wz_client_destroy(&kam);
    wz_client_destroy(&haarlem);
    wz_client_destroy(&pre);
    it_close(&it);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("tamper", 120, (const TTest *const[]){test_tamper_detected, NULL});
    return wz_test_run("audit_trail", (TCase *const[]){tc, NULL});
}
