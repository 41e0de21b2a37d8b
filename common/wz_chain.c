/* wz_chain.c - audit hashes, signed checkpoints and the verifier (see wz_chain.h). */
#include "wz_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wz_util.h"

#define SIGNED_MAX 256
#define LINE_MAX_LEN 1024

void wz_chain_hash(const uint8_t prev[WZ_CHAIN_HASH_LEN], uint64_t seq, const uint8_t *event,
                   size_t len, uint8_t out[WZ_CHAIN_HASH_LEN])
{
    uint8_t seqbuf[8];
    for (int i = 7; i >= 0; i--, seq >>= 8)
        seqbuf[i] = (uint8_t)(seq & 0xff);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, WZ_CHAIN_HASH_LEN);
    crypto_hash_sha256_update(&st, seqbuf, sizeof seqbuf);
    if (len)
        crypto_hash_sha256_update(&st, event, len);
    crypto_hash_sha256_final(&st, out);
}

void wz_chain_hex(const uint8_t *bytes, size_t len, char *out)
{
    sodium_bin2hex(out, 2 * len + 1, bytes, len);
}

static int s_unhex(const char *hex, uint8_t *out, size_t len)
{
    size_t got = 0;
    const char *end = NULL;
    if (strlen(hex) != 2 * len || sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, &end) != 0 ||
        got != len)
        return -1;
    return 0;
}

static int s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* --- keys -------------------------------------------------------------------- */

static int s_read_line(const char *path, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *ok = fgets(out, (int)outlen, f);
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int s_write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
    close(fd);
    return rc;
}

int wz_sign_public_load(const char *dir, uint8_t pk[WZ_SIGN_PUBLIC_LEN], char *err, size_t errlen)
{
    char path[1024], line[2 * WZ_SIGN_PUBLIC_LEN + 8];
    snprintf(path, sizeof path, "%s/%s.pub", dir, WZ_SIGN_KEY_NAME);
    if (s_read_line(path, line, sizeof line) != 0)
        return s_err(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
    if (s_unhex(line, pk, WZ_SIGN_PUBLIC_LEN) != 0)
        return s_err(err, errlen, "%s: not a hex Ed25519 public key", path);
    return 0;
}

int wz_sign_keys_load(const char *dir, bool create, uint8_t sk[WZ_SIGN_SECRET_LEN],
                      uint8_t pk[WZ_SIGN_PUBLIC_LEN], char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return s_err(err, errlen, "libsodium cannot start");
    char path[1024], pub_path[1024], line[2 * WZ_SIGN_SECRET_LEN + 8];
    snprintf(path, sizeof path, "%s/%s.key", dir, WZ_SIGN_KEY_NAME);
    snprintf(pub_path, sizeof pub_path, "%s/%s.pub", dir, WZ_SIGN_KEY_NAME);
    if (s_read_line(path, line, sizeof line) == 0) {
        int rc = s_unhex(line, sk, WZ_SIGN_SECRET_LEN);
        sodium_memzero(line, sizeof line);
        if (rc != 0)
            return s_err(err, errlen, "%s: not a hex Ed25519 secret key", path);
        crypto_sign_ed25519_sk_to_pk(pk, sk);
        return 0;
    }
    if (errno != ENOENT || !create)
        return s_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    crypto_sign_keypair(pk, sk);
    char sk_hex[2 * WZ_SIGN_SECRET_LEN + 2], pk_hex[2 * WZ_SIGN_PUBLIC_LEN + 2];
    wz_chain_hex(sk, WZ_SIGN_SECRET_LEN, sk_hex);
    wz_chain_hex(pk, WZ_SIGN_PUBLIC_LEN, pk_hex);
    strcat(sk_hex, "\n");
    strcat(pk_hex, "\n");
    int rc = s_write_new(path, sk_hex, 0600);
    sodium_memzero(sk_hex, sizeof sk_hex);
    if (rc != 0)
        return s_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    if (s_write_new(pub_path, pk_hex, 0644) != 0 && errno != EEXIST)
        return s_err(err, errlen, "%s: cannot create: %s", pub_path, strerror(errno));
    return 0;
}

/* --- checkpoints --------------------------------------------------------------- */

static size_t s_signed_bytes(const wz_checkpoint_t *cp, char out[SIGNED_MAX])
{
    char head[2 * WZ_CHAIN_HASH_LEN + 1];
    wz_chain_hex(cp->head, WZ_CHAIN_HASH_LEN, head);
    int n =
        snprintf(out, SIGNED_MAX, "woonzorg-audit-checkpoint/1\n%s\n%" PRIu64 "\n%s\n%" PRId64 "\n",
                 cp->region, cp->size, head, cp->unix_ms);
    return n < 0 ? 0 : (size_t)n;
}

void wz_checkpoint_sign(wz_checkpoint_t *cp, const uint8_t sk[WZ_SIGN_SECRET_LEN])
{
    char msg[SIGNED_MAX];
    size_t len = s_signed_bytes(cp, msg);
    crypto_sign_detached(cp->sig, NULL, (const uint8_t *)msg, len, sk);
}

bool wz_checkpoint_valid(const wz_checkpoint_t *cp, const uint8_t pk[WZ_SIGN_PUBLIC_LEN])
{
    char msg[SIGNED_MAX];
    size_t len = s_signed_bytes(cp, msg);
    return crypto_sign_verify_detached(cp->sig, (const uint8_t *)msg, len, pk) == 0;
}

int wz_checkpoint_format(const wz_checkpoint_t *cp, char *out, size_t outlen)
{
    char head[2 * WZ_CHAIN_HASH_LEN + 1], sig[2 * WZ_SIGN_LEN + 1];
    wz_chain_hex(cp->head, WZ_CHAIN_HASH_LEN, head);
    wz_chain_hex(cp->sig, WZ_SIGN_LEN, sig);
    int n = snprintf(out, outlen,
                     "{\"kind\":\"checkpoint\",\"region\":\"%s\",\"size\":%" PRIu64
                     ",\"head\":\"%s\",\"unix_ms\":%" PRId64 ",\"sig\":\"%s\"}",
                     cp->region, cp->size, head, cp->unix_ms, sig);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The raw text of "key": in a flat JSON line made by us (strings carry no
 * escapes; ids, hex and base64 only). */
static int s_json_raw(const char *line, const char *key, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (p[n] && p[n] != '"')
            n++;
        if (p[n] != '"')
            return -1;
    } else {
        while (p[n] && p[n] != ',' && p[n] != '}')
            n++;
    }
    if (n + 1 > outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int wz_chain_json_str(const char *line, const char *key, char *out, size_t outlen)
{
    return s_json_raw(line, key, out, outlen);
}

int wz_chain_json_u64(const char *line, const char *key, uint64_t *out)
{
    char text[32], *end = NULL;
    if (s_json_raw(line, key, text, sizeof text) != 0 || !text[0] || text[0] == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int wz_checkpoint_parse(const char *line, wz_checkpoint_t *cp)
{
    char kind[16], head[2 * WZ_CHAIN_HASH_LEN + 2], sig[2 * WZ_SIGN_LEN + 2];
    uint64_t ms = 0;
    memset(cp, 0, sizeof *cp);
    if (s_json_raw(line, "kind", kind, sizeof kind) != 0 || strcmp(kind, "checkpoint") != 0 ||
        s_json_raw(line, "region", cp->region, sizeof cp->region) != 0 ||
        !wz_id_valid(cp->region, WZ_CHAIN_REGION_MAX - 1) ||
        wz_chain_json_u64(line, "size", &cp->size) != 0 ||
        wz_chain_json_u64(line, "unix_ms", &ms) != 0 || ms > INT64_MAX ||
        s_json_raw(line, "head", head, sizeof head) != 0 ||
        s_unhex(head, cp->head, WZ_CHAIN_HASH_LEN) != 0 ||
        s_json_raw(line, "sig", sig, sizeof sig) != 0 || s_unhex(sig, cp->sig, WZ_SIGN_LEN) != 0)
        return -1;
    cp->unix_ms = (int64_t)ms;
    return 0;
}

static void s_checkpoint_path(const char *dir, const char *region, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s.checkpoints", dir, region);
}

int wz_checkpoint_append(const char *dir, const wz_checkpoint_t *cp, char *err, size_t errlen)
{
    char path[1024], line[LINE_MAX_LEN];
    if (!wz_id_valid(cp->region, WZ_CHAIN_REGION_MAX - 1))
        return s_err(err, errlen, "region '%s' is not a valid id", cp->region);
    s_checkpoint_path(dir, cp->region, path, sizeof path);
    if (wz_checkpoint_format(cp, line, sizeof line - 1) != 0)
        return s_err(err, errlen, "checkpoint too long");
    strcat(line, "\n");
    mkdir(dir, 0700); /* usually there already; open says what is wrong */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return s_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    /* No fsync: it would stall the audit loop for milliseconds per
     * checkpoint (and with it the order in which the audit takes events
     * from several producers). A checkpoint lost in a power cut only
     * weakens the evidence a little (see docs/security.md). */
    size_t len = strlen(line);
    int rc = write(fd, line, len) == (ssize_t)len ? 0 : -1;
    if (rc != 0)
        s_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    close(fd);
    return rc;
}

int wz_checkpoint_load(const char *dir, const char *region, wz_checkpoint_t **out, size_t *n,
                       char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char path[1024], line[LINE_MAX_LEN];
    s_checkpoint_path(dir, region, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : s_err(err, errlen, "%s: %s", path, strerror(errno));
    size_t cap = 0, lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        wz_checkpoint_t *grown = wz_grow(*out, &cap, *n + 1, sizeof **out);
        if (!grown) {
            rc = s_err(err, errlen, "out of memory");
            break;
        }
        *out = grown;
        if (wz_checkpoint_parse(line, &(*out)[*n]) != 0) {
            rc = s_err(err, errlen, "%s:%zu: not a checkpoint", path, lineno);
            break;
        }
        (*n)++;
    }
    fclose(f);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* --- verifier -------------------------------------------------------------------- */

struct wz_chain_verifier_t {
    char region[WZ_CHAIN_REGION_MAX];
    bool use_pk;
    uint8_t pk[WZ_SIGN_PUBLIC_LEN];
    wz_checkpoint_t *cps;
    size_t n_cps, cap_cps;
    uint8_t prev[WZ_CHAIN_HASH_LEN];
    uint64_t checked;
    uint64_t first_bad;
    bool bad;
    char why[256];
};

static int s_bad(wz_chain_verifier_t *self, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_bad(wz_chain_verifier_t *self, uint64_t seq, const char *fmt, ...)
{
    if (self->bad)
        return 1;
    self->bad = true;
    self->first_bad = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->why, sizeof self->why, fmt, ap);
    va_end(ap);
    return 1;
}

wz_chain_verifier_t *wz_chain_verifier_new(const char *region, const uint8_t *pk)
{
    if (sodium_init() < 0)
        return NULL;
    wz_chain_verifier_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    wz_strlcpy(self->region, region, sizeof self->region);
    if (pk) {
        self->use_pk = true;
        memcpy(self->pk, pk, WZ_SIGN_PUBLIC_LEN);
    }
    return self;
}

void wz_chain_verifier_destroy(wz_chain_verifier_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->cps);
    free(*self_p);
    *self_p = NULL;
}

int wz_chain_verifier_checkpoint(wz_chain_verifier_t *self, const wz_checkpoint_t *cp)
{
    if (!self->use_pk)
        return s_bad(self, 0, "a checkpoint was given but no public key to check it");
    if (strcmp(cp->region, self->region) != 0)
        return s_bad(self, 0, "a checkpoint of region %s is among those of %s", cp->region,
                     self->region);
    if (!wz_checkpoint_valid(cp, self->pk))
        return s_bad(self, cp->size,
                     "the checkpoint at entry %" PRIu64
                     " has no valid signature (forged or altered)",
                     cp->size);
    if (self->n_cps == self->cap_cps) {
        size_t ncap = self->cap_cps ? 2 * self->cap_cps : 16;
        wz_checkpoint_t *grown = realloc(self->cps, ncap * sizeof *grown);
        if (!grown)
            return s_bad(self, 0, "out of memory");
        self->cps = grown;
        self->cap_cps = ncap;
    }
    self->cps[self->n_cps++] = *cp;
    return 0;
}

int wz_chain_verifier_entry(wz_chain_verifier_t *self, uint64_t seq, const void *prev,
                            size_t prev_len, const void *hash, size_t hash_len, const void *event,
                            size_t event_len)
{
    if (self->bad)
        return 1;
    uint64_t expected = self->checked + 1;
    if (seq == 0)
        return s_bad(self, expected, "the entry after %" PRIu64 " has a foreign id", self->checked);
    if (seq > expected)
        return s_bad(self, expected, "entry %" PRIu64 " is missing (the next one is %" PRIu64 ")",
                     expected, seq);
    if (seq < expected)
        return s_bad(self, expected, "entry %" PRIu64 " is out of sequence (expected %" PRIu64 ")",
                     seq, expected);
    if (!prev || !hash || !event || prev_len != WZ_CHAIN_HASH_LEN || hash_len != WZ_CHAIN_HASH_LEN)
        return s_bad(self, expected, "entry %" PRIu64 " lacks a field", expected);
    if (memcmp(prev, self->prev, WZ_CHAIN_HASH_LEN) != 0)
        return s_bad(self, expected,
                     "entry %" PRIu64 " does not link to entry %" PRIu64 " (removed or reordered)",
                     expected, expected - 1);
    uint8_t h[WZ_CHAIN_HASH_LEN];
    wz_chain_hash(self->prev, expected, event, event_len, h);
    if (memcmp(h, hash, WZ_CHAIN_HASH_LEN) != 0)
        return s_bad(self, expected, "entry %" PRIu64 " was altered (its hash does not match)",
                     expected);
    for (size_t i = 0; i < self->n_cps; i++)
        if (self->cps[i].size == expected && memcmp(self->cps[i].head, h, WZ_CHAIN_HASH_LEN) != 0)
            return s_bad(self, expected,
                         "entry %" PRIu64 " differs from the signed checkpoint of %" PRIu64
                         " entries (history rewritten)",
                         expected, expected);
    memcpy(self->prev, h, WZ_CHAIN_HASH_LEN);
    self->checked = expected;
    return 0;
}

int wz_chain_verifier_finish(wz_chain_verifier_t *self, uint64_t expected)
{
    if (self->bad)
        return 1;
    uint64_t signed_size = wz_chain_verifier_checkpointed(self);
    if (signed_size > self->checked)
        return s_bad(self, self->checked + 1,
                     "the chain ends at entry %" PRIu64 " but a signed checkpoint covers %" PRIu64
                     " entries: the newest entries were removed",
                     self->checked, signed_size);
    if (expected > self->checked)
        return s_bad(self, self->checked + 1,
                     "the chain ends at entry %" PRIu64 " but %" PRIu64
                     " events were chained: the newest entries were removed",
                     self->checked, expected);
    return 0;
}

void wz_chain_verifier_resume(wz_chain_verifier_t *self, uint64_t size,
                              const uint8_t head[WZ_CHAIN_HASH_LEN])
{
    self->checked = size;
    memcpy(self->prev, head, WZ_CHAIN_HASH_LEN);
}

uint64_t wz_chain_verifier_checked(const wz_chain_verifier_t *self)
{
    return self->checked;
}

uint64_t wz_chain_verifier_first_bad(const wz_chain_verifier_t *self)
{
    return self->bad ? self->first_bad : 0;
}

const char *wz_chain_verifier_why(const wz_chain_verifier_t *self)
{
    return self->why;
}

uint64_t wz_chain_verifier_checkpointed(const wz_chain_verifier_t *self)
{
    uint64_t max = 0;
    for (size_t i = 0; i < self->n_cps; i++)
        if (self->cps[i].size > max)
            max = self->cps[i].size;
    return max;
}
