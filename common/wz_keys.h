/* wz_keys.h - CURVE key pairs and their files.
 * <dir>/<name>.key holds public and secret key (mode 0600);
 * <dir>/<name>.pub holds the public key only (mode 0644). */
#ifndef WZ_KEYS_H_INCLUDED
#define WZ_KEYS_H_INCLUDED

#include <stddef.h>

#define WZ_KEY_Z85_LEN 40 /* a 32-byte CURVE key in Z85 */

typedef struct {
    char public_z85[41];
    char secret_z85[41];
} wz_keypair_t;

/* Generates a new key pair; returns 0, or -1 if libzmq lacks CURVE. */
int wz_keys_generate(wz_keypair_t *out);
/* Writes <dir>/<name>.key (0600, created exclusively unless overwrite) and
 * <dir>/<name>.pub; creates dir (0700) if missing. Returns 0 or -1 with err
 * (errno EEXIST when the .key exists and overwrite is 0; it is left as is). */
int wz_keys_write(const char *dir, const char *name, const wz_keypair_t *kp, int overwrite,
                  char *err, size_t errlen);
/* Writes <dir>/<name>.pub (0644) alone, e.g. to restore it from a kept .key.
 * Returns 0 or -1 with err. */
int wz_keys_write_public(const char *dir, const char *name, const char public_z85[41],
                         char *err, size_t errlen);
/* Reads a secret key file (refused if group/other can read it). 0 or -1 with err. */
int wz_keys_read_secret(const char *dir, const char *name, wz_keypair_t *out, char *err,
                        size_t errlen);
/* Reads <dir>/<name>.pub (or the public line of <name>.key); 0 or -1 with err. */
int wz_keys_read_public(const char *dir, const char *name, char out[41], char *err,
                        size_t errlen);

#endif
