/* wz_shred.h - crypto-shredding of per-candidate audit payloads.
 *
 * An audit entry whose event carries a candidate's attributes or a party's
 * free text about it (CandidateRegistered/Updated, ProposalAnswered,
 * StepConfirmed) is stored sealed: "WZS1", the candidate id, and the event
 * encrypted (XChaCha20-Poly1305, the id as associated data) with a key of
 * that candidate alone. The candidate keys live in Redis
 * (<prefix>{region}:audit:key:<candidate>), each wrapped with the audit
 * service's data key (<keys_dir>/audit-data.key, 0600, outside Redis).
 * Erasing a candidate deletes its key: the entries stay, their hashes still
 * verify, and nobody can read them any more. */
#ifndef WZ_SHRED_H_INCLUDED
#define WZ_SHRED_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_proto.h"
#include "wz_store.h"

#define WZ_SHRED_KEY_NAME "audit-data"
#define WZ_SHRED_ID_MAX 128

typedef struct wz_shred_t wz_shred_t;

/* Loads the data key from <keys_dir>/audit-data.key, making it (0600) when
 * create is set and there is none. NULL with err on failure. */
wz_shred_t *wz_shred_new(const char *keys_dir, bool create, char *err, size_t errlen);
void wz_shred_destroy(wz_shred_t **self_p);

/* A new candidate key, wrapped for storage: *wrapped (malloc'd) and its length. */
int wz_shred_new_key(wz_shred_t *self, uint8_t **wrapped, size_t *len);
/* Seals plain for subject with the wrapped key; *out malloc'd. 0 or -1. */
int wz_shred_seal(wz_shred_t *self, const char *subject, const uint8_t *wrapped, size_t wlen,
                  const uint8_t *plain, size_t len, uint8_t **out, size_t *outlen);
/* If e is sealed, copies its subject into subject (WZ_SHRED_ID_MAX) and
 * returns true. */
bool wz_shred_sealed(const uint8_t *e, size_t len, char subject[WZ_SHRED_ID_MAX]);
/* Opens a sealed e with the wrapped key; *plain malloc'd. 0, or -1 when the
 * key or the data does not fit (altered). */
int wz_shred_open(wz_shred_t *self, const uint8_t *wrapped, size_t wlen, const uint8_t *e,
                  size_t len, uint8_t **plain, size_t *plain_len);

/* An audit entry's event bytes for reading: a plain entry as it is, a
 * sealed one opened with its candidate's key from store (self may be NULL:
 * then sealed entries count as unreadable). 0 with *out (malloc'd) and
 * *outlen; 1 when it is sealed and cannot be read (erased); -1 when Redis
 * failed or memory ran out. */
int wz_shred_read(wz_shred_t *self, wz_store_t *store, const char *region, const uint8_t *e,
                  size_t len, uint8_t **out, size_t *outlen);

#endif
