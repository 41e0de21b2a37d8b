/* wz_shred.c - per-candidate sealing of audit payloads (see wz_shred.h). */
#include "wz_shred.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "WZS1"
#define MAGIC_LEN 4
#define KEYLEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCELEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES

struct wz_shred_t {
    uint8_t data_key[KEYLEN];
};

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

wz_shred_t *wz_shred_new(const char *keys_dir, bool create, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        s_err(err, errlen, "libsodium cannot start");
        return NULL;
    }
    wz_shred_t *self = sodium_malloc(sizeof *self);
    if (!self) {
        s_err(err, errlen, "out of memory");
        return NULL;
    }
    char path[1024], hex[2 * KEYLEN + 8];
    snprintf(path, sizeof path, "%s/%s.key", keys_dir, WZ_SHRED_KEY_NAME);
    FILE *f = fopen(path, "r");
    if (f) {
        char *ok = fgets(hex, sizeof hex, f);
        fclose(f);
        size_t got = 0;
        if (ok)
            hex[strcspn(hex, "\r\n")] = '\0';
        if (!ok || strlen(hex) != 2 * KEYLEN ||
            sodium_hex2bin(self->data_key, KEYLEN, hex, 2 * KEYLEN, NULL, &got, NULL) != 0 ||
            got != KEYLEN) {
            s_err(err, errlen, "%s: not a hex 32-byte key", path);
            goto fail;
        }
        sodium_memzero(hex, sizeof hex);
        return self;
    }
    if (errno != ENOENT || !create) {
        s_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    crypto_aead_xchacha20poly1305_ietf_keygen(self->data_key);
    sodium_bin2hex(hex, sizeof hex, self->data_key, KEYLEN);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = fd >= 0 && write(fd, hex, len) == (ssize_t)len ? 0 : -1;
    if (fd >= 0)
        close(fd);
    sodium_memzero(hex, sizeof hex);
    if (rc != 0) {
        s_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    return self;
fail:
    sodium_free(self);
    return NULL;
}

void wz_shred_destroy(wz_shred_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_free(*self_p); /* zeroes it */
    *self_p = NULL;
}

/* Wrapped key: nonce || AEAD(data key, candidate key). */
static int s_unwrap(wz_shred_t *self, const uint8_t *wrapped, size_t wlen, uint8_t key[KEYLEN])
{
    if (wlen != NONCELEN + KEYLEN + ABYTES)
        return -1;
    unsigned long long n = 0;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(key, &n, NULL, wrapped + NONCELEN,
                                                      wlen - NONCELEN, NULL, 0, wrapped,
                                                      self->data_key) == 0 &&
                   n == KEYLEN
               ? 0
               : -1;
}

int wz_shred_new_key(wz_shred_t *self, uint8_t **wrapped, size_t *len)
{
    uint8_t key[KEYLEN];
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
    *len = NONCELEN + KEYLEN + ABYTES;
    *wrapped = malloc(*len);
    if (!*wrapped)
        return -1;
    randombytes_buf(*wrapped, NONCELEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(*wrapped + NONCELEN, NULL, key, KEYLEN, NULL, 0,
                                               NULL, *wrapped, self->data_key);
    sodium_memzero(key, sizeof key);
    return 0;
}

int wz_shred_seal(wz_shred_t *self, const char *subject, const uint8_t *wrapped, size_t wlen,
                  const uint8_t *plain, size_t len, uint8_t **out, size_t *outlen)
{
    size_t idlen = strlen(subject);
    if (idlen == 0 || idlen >= WZ_SHRED_ID_MAX)
        return -1;
    uint8_t key[KEYLEN];
    if (s_unwrap(self, wrapped, wlen, key) != 0)
        return -1;
    *outlen = MAGIC_LEN + 1 + idlen + NONCELEN + len + ABYTES;
    uint8_t *e = malloc(*outlen);
    if (!e) {
        sodium_memzero(key, sizeof key);
        return -1;
    }
    memcpy(e, MAGIC, MAGIC_LEN);
    e[MAGIC_LEN] = (uint8_t)idlen;
    memcpy(e + MAGIC_LEN + 1, subject, idlen);
    uint8_t *nonce = e + MAGIC_LEN + 1 + idlen;
    randombytes_buf(nonce, NONCELEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + NONCELEN, NULL, plain, len,
                                               (const uint8_t *)subject, idlen, NULL, nonce, key);
    sodium_memzero(key, sizeof key);
    *out = e;
    return 0;
}

bool wz_shred_sealed(const uint8_t *e, size_t len, char subject[WZ_SHRED_ID_MAX])
{
    if (len < MAGIC_LEN + 1 || memcmp(e, MAGIC, MAGIC_LEN) != 0)
        return false;
    size_t idlen = e[MAGIC_LEN];
    if (idlen == 0 || idlen >= WZ_SHRED_ID_MAX || len < MAGIC_LEN + 1 + idlen + NONCELEN + ABYTES)
        return false;
    memcpy(subject, e + MAGIC_LEN + 1, idlen);
    subject[idlen] = '\0';
    return true;
}

int wz_shred_open(wz_shred_t *self, const uint8_t *wrapped, size_t wlen, const uint8_t *e,
                  size_t len, uint8_t **plain, size_t *plain_len)
{
    char subject[WZ_SHRED_ID_MAX];
    if (!wz_shred_sealed(e, len, subject))
        return -1;
    size_t idlen = strlen(subject);
    uint8_t key[KEYLEN];
    if (s_unwrap(self, wrapped, wlen, key) != 0)
        return -1;
    const uint8_t *nonce = e + MAGIC_LEN + 1 + idlen;
    const uint8_t *ct = nonce + NONCELEN;
    size_t ctlen = len - (size_t)(ct - e);
    uint8_t *out = malloc(ctlen > ABYTES ? ctlen - ABYTES : 1);
    unsigned long long n = 0;
    int rc = out && crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out, &n, NULL, ct, ctlen, (const uint8_t *)subject, idlen, nonce, key) == 0
                 ? 0
                 : -1;
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *plain = out;
    *plain_len = (size_t)n;
    return 0;
}

int wz_shred_read(wz_shred_t *self, wz_store_t *store, const char *region, const uint8_t *e,
                  size_t len, uint8_t **out, size_t *outlen)
{
    char subject[WZ_SHRED_ID_MAX], key[512];
    if (!wz_shred_sealed(e, len, subject)) {
        *out = malloc(len ? len : 1);
        if (!*out)
            return -1;
        memcpy(*out, e, len);
        *outlen = len;
        return 0;
    }
    if (!self || wz_store_key(store, key, sizeof key, region, "audit:key:%s", subject) != 0)
        return 1;
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    int found = wz_store_get_bytes(store, key, &wrapped, &wlen);
    if (found < 0)
        return -1;
    int rc = found == 1 && wz_shred_open(self, wrapped, wlen, e, len, out, outlen) == 0 ? 0 : 1;
    free(wrapped);
    return rc;
}
