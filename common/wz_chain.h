/* wz_chain.h - the tamper evidence of the audit trail, usable without Redis:
 * entry hashes, Ed25519-signed checkpoints kept in files outside Redis, and
 * a streaming verifier that the audit service, `wzctl audit verify` (on
 * Redis) and `wzctl audit verify --file` (on an export) share.
 *
 * Entry n of a region: hash_n = SHA-256(hash_{n-1} || n as 8 bytes
 * big-endian || event bytes), hash_0 = 32 zero bytes. A checkpoint signs
 * "woonzorg-audit-checkpoint/1\n<region>\n<size>\n<head hex>\n<unix ms>\n"
 * where head is hash_size: whoever can rewrite Redis but not the audit
 * service's signing key cannot rewrite or cut the first <size> entries
 * without the verifier noticing. */
#ifndef WZ_CHAIN_H_INCLUDED
#define WZ_CHAIN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WZ_CHAIN_HASH_LEN 32
#define WZ_CHAIN_REGION_MAX 64
#define WZ_SIGN_PUBLIC_LEN 32
#define WZ_SIGN_SECRET_LEN 64
#define WZ_SIGN_LEN 64
#define WZ_SIGN_KEY_NAME "audit-sign" /* <keys_dir>/audit-sign.key and .pub */

typedef struct {
    char region[WZ_CHAIN_REGION_MAX];
    uint64_t size;                   /* entries 1..size are covered */
    uint8_t head[WZ_CHAIN_HASH_LEN]; /* hash of entry size */
    int64_t unix_ms;                 /* when it was signed */
    uint8_t sig[WZ_SIGN_LEN];
} wz_checkpoint_t;

/* The entry hash (see above). */
void wz_chain_hash(const uint8_t prev[WZ_CHAIN_HASH_LEN], uint64_t seq, const uint8_t *event,
                   size_t len, uint8_t out[WZ_CHAIN_HASH_LEN]);

/* Hex of len bytes into out (2*len+1). */
void wz_chain_hex(const uint8_t *bytes, size_t len, char *out);

/* Reads the signing key pair from <dir>/audit-sign.key; with create, makes a
 * new one (files 0600 and 0644) when there is none. 0, or -1 with err. */
int wz_sign_keys_load(const char *dir, bool create, uint8_t sk[WZ_SIGN_SECRET_LEN],
                      uint8_t pk[WZ_SIGN_PUBLIC_LEN], char *err, size_t errlen);
/* Reads the public key <dir>/audit-sign.pub. 0, or -1 with err. */
int wz_sign_public_load(const char *dir, uint8_t pk[WZ_SIGN_PUBLIC_LEN], char *err, size_t errlen);

/* Signs cp (all fields but sig) into cp->sig. */
void wz_checkpoint_sign(wz_checkpoint_t *cp, const uint8_t sk[WZ_SIGN_SECRET_LEN]);
/* True when cp->sig is pk's signature of cp. */
bool wz_checkpoint_valid(const wz_checkpoint_t *cp, const uint8_t pk[WZ_SIGN_PUBLIC_LEN]);
/* cp as one JSON line with "kind":"checkpoint" (no newline). 0, or -1 if too long. */
int wz_checkpoint_format(const wz_checkpoint_t *cp, char *out, size_t outlen);
/* Parses a line made by wz_checkpoint_format. 0, or -1 if it is not one. */
int wz_checkpoint_parse(const char *line, wz_checkpoint_t *cp);
/* Appends cp to <dir>/<region>.checkpoints (created 0600; not fsynced).
 * 0, or -1 with err. */
int wz_checkpoint_append(const char *dir, const wz_checkpoint_t *cp, char *err, size_t errlen);
/* Reads every checkpoint of region from <dir>/<region>.checkpoints into a
 * malloc'd array (*out, caller frees; a missing file is no checkpoints).
 * 0, or -1 with err (unreadable file, or a line that is not a checkpoint). */
int wz_checkpoint_load(const char *dir, const char *region, wz_checkpoint_t **out, size_t *n,
                       char *err, size_t errlen);

/* A string / whole number value of key in a flat JSON line this module or
 * `wzctl audit export` wrote (no escapes). 0, or -1 if absent or too long. */
int wz_chain_json_str(const char *line, const char *key, char *out, size_t outlen);
int wz_chain_json_u64(const char *line, const char *key, uint64_t *out);

typedef struct wz_chain_verifier_t wz_chain_verifier_t;

/* A verifier of one region's chain, fed entries in stored order. pk NULL:
 * checkpoints are not checked (and must not be given). NULL on OOM. */
wz_chain_verifier_t *wz_chain_verifier_new(const char *region, const uint8_t *pk);
void wz_chain_verifier_destroy(wz_chain_verifier_t **self_p);
/* Adds a checkpoint to hold the chain against (any order, before or between
 * entries). Returns 0, or 1 when its signature or region is wrong. */
int wz_chain_verifier_checkpoint(wz_chain_verifier_t *self, const wz_checkpoint_t *cp);
/* Checks the next stored entry: its id's sequence, its prev and hash fields
 * (NULL when absent) and its event bytes; seq 0 means the stored id was
 * not a sequence at all. 0 when good, 1 when bad; after
 * the first bad one every call returns 1. */
int wz_chain_verifier_entry(wz_chain_verifier_t *self, uint64_t seq, const void *prev,
                            size_t prev_len, const void *hash, size_t hash_len, const void *event,
                            size_t event_len);
/* After the last entry: checks that every checkpoint is covered and that
 * the chain is at least `expected` long (0: not known). 0 intact, 1 not. */
int wz_chain_verifier_finish(wz_chain_verifier_t *self, uint64_t expected);
/* Starts the walk after entry size whose hash is head (already verified,
 * e.g. by a checkpoint), instead of at entry 1. */
void wz_chain_verifier_resume(wz_chain_verifier_t *self, uint64_t size,
                              const uint8_t head[WZ_CHAIN_HASH_LEN]);
/* Results: entries found good, the first bad sequence (0: none), why. */
uint64_t wz_chain_verifier_checked(const wz_chain_verifier_t *self);
uint64_t wz_chain_verifier_first_bad(const wz_chain_verifier_t *self);
const char *wz_chain_verifier_why(const wz_chain_verifier_t *self);
/* The newest checkpoint size held against the chain (0: none). */
uint64_t wz_chain_verifier_checkpointed(const wz_chain_verifier_t *self);

#endif
