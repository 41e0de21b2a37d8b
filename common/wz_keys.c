/* wz_keys.c - CURVE key pairs: generation, and the .key/.pub files.
 *
 * File format (one "name = value" per line, '#' comments):
 *   # woonzorg CURVE key pair for <name>. Keep this file secret.
 *   public-key = "<40 Z85 characters>"
 *   secret-key = "<40 Z85 characters>"
 * The .pub file holds the public-key line only. */
#include "wz_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_util.h"

#define KEY_FILE_MAX 4096
#define NAME_MAX_LEN 64

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A Z85 key is usable when it is 40 characters that decode to 32 bytes. */
static bool s_z85_valid(const char *z85)
{
    uint8_t raw[32];
    return z85 && strlen(z85) == WZ_KEY_Z85_LEN && zmq_z85_decode(raw, z85) != NULL;
}

int wz_keys_generate(wz_keypair_t *out)
{
    memset(out, 0, sizeof *out);
    if (!zmq_has("curve")) {
        errno = ENOTSUP;
        return -1;
    }
    return zmq_curve_keypair(out->public_z85, out->secret_z85) == 0 ? 0 : -1;
}

/* Names become file names: nothing that could climb out of dir. */
static int s_check_name(const char *name, char *err, size_t errlen)
{
    if (!wz_id_valid(name, NAME_MAX_LEN)) {
        s_err(err, errlen, "key name '%s' is not valid (1..%d of A-Z a-z 0-9 . _ -)",
              name ? name : "", NAME_MAX_LEN);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int s_path(char *out, size_t outlen, const char *dir, const char *name, const char *ext,
                  char *err, size_t errlen)
{
    int n = snprintf(out, outlen, "%s/%s%s", dir, name, ext);
    if (n < 0 || (size_t)n >= outlen) {
        s_err(err, errlen, "key path %s/%s%s is too long", dir, name, ext);
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static int s_write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to fd, sets mode, syncs, and closes fd (always). */
static int s_fill_and_close(int fd, const char *text, mode_t mode)
{
    int rc = 0;
    if (fchmod(fd, mode) != 0 || s_write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0)
        rc = -1;
    int e = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

/* Replaces path atomically: a temp file beside it, then rename. */
static int s_replace(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
    char tmp[1100];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        s_err(err, errlen, "%s: path too long", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp); /* created 0600, so a secret is never briefly exposed */
    if (fd < 0) {
        int e = errno;
        s_err(err, errlen, "cannot create a temporary file beside %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (s_fill_and_close(fd, text, mode) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        s_err(err, errlen, "cannot write %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

/* Creates path exclusively; EEXIST if it is already there. */
static int s_create(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            s_err(err, errlen, "%s already exists (overwrite it explicitly to replace the key)",
                  path);
        else
            s_err(err, errlen, "cannot create %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (s_fill_and_close(fd, text, mode) != 0) {
        int e = errno;
        unlink(path); /* a half-written key file would only confuse the next run */
        s_err(err, errlen, "cannot write %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

int wz_keys_write_public(const char *dir, const char *name, const char public_z85[41], char *err,
                         size_t errlen)
{
    char path[1024], text[256];
    if (s_check_name(name, err, errlen) != 0)
        return -1;
    if (!s_z85_valid(public_z85)) {
        s_err(err, errlen, "public key for %s is not a 40-character Z85 key", name);
        errno = EINVAL;
        return -1;
    }
    if (wz_mkdirs(dir, "key directory", err, errlen) != 0 ||
        s_path(path, sizeof path, dir, name, ".pub", err, errlen))
        return -1;
    snprintf(text, sizeof text, "# woonzorg CURVE public key for %s.\npublic-key = \"%s\"\n", name,
             public_z85);
    return s_replace(path, text, 0644, err, errlen);
}

int wz_keys_write(const char *dir, const char *name, const wz_keypair_t *kp, int overwrite,
                  char *err, size_t errlen)
{
    char path[1024], text[512];
    if (s_check_name(name, err, errlen) != 0)
        return -1;
    if (!s_z85_valid(kp->public_z85) || !s_z85_valid(kp->secret_z85)) {
        s_err(err, errlen, "key pair for %s is not a pair of 40-character Z85 keys", name);
        errno = EINVAL;
        return -1;
    }
    if (wz_mkdirs(dir, "key directory", err, errlen) != 0 ||
        s_path(path, sizeof path, dir, name, ".key", err, errlen))
        return -1;
    snprintf(text, sizeof text,
             "# woonzorg CURVE key pair for %s. Keep this file secret.\n"
             "public-key = \"%s\"\n"
             "secret-key = \"%s\"\n",
             name, kp->public_z85, kp->secret_z85);
    int rc = overwrite ? s_replace(path, text, 0600, err, errlen)
                       : s_create(path, text, 0600, err, errlen);
    explicit_bzero(text, sizeof text);
    if (rc != 0)
        return -1;
    if (wz_keys_write_public(dir, name, kp->public_z85, err, errlen) != 0) {
        int e = errno;
        if (!overwrite)
            unlink(path); /* keep "exclusive" meaning: nothing half-made stays behind */
        errno = e;
        return -1;
    }
    return 0;
}

/* Reads a small text file into buf (NUL-terminated). With secret set, the
 * file must not be readable by group or others. */
static int s_read_file(const char *path, bool secret, char *buf, size_t buflen, char *err,
                       size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        s_err(err, errlen, "cannot open %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s_err(err, errlen, "%s is not a regular file", path);
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if (secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
        s_err(err, errlen, "%s is readable by others; chmod 600 it", path);
        close(fd);
        errno = EACCES;
        return -1;
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= buflen) {
            s_err(err, errlen, "%s is too large for a key file", path);
            close(fd);
            errno = EFBIG;
            return -1;
        }
        ssize_t n = read(fd, buf + len, buflen - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            s_err(err, errlen, "cannot read %s: %s", path, strerror(e));
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return 0;
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Parses key file text into pub and sec (either may be NULL: not wanted).
 * A wanted key that is absent is an error. */
static int s_parse(const char *path, char *text, char pub[41], char sec[41], char *err,
                   size_t errlen)
{
    bool have_pub = false, have_sec = false;
    int line = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *s = s_trim(l);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            s_err(err, errlen, "%s: line %d: expected 'name = \"value\"'", path, line);
            return -1;
        }
        *eq = '\0';
        char *key = s_trim(s), *val = s_trim(eq + 1);
        size_t vlen = strlen(val);
        if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
            val[vlen - 1] = '\0';
            val++;
        }
        char *dest;
        bool *seen;
        if (strcmp(key, "public-key") == 0) {
            dest = pub;
            seen = &have_pub;
        } else if (strcmp(key, "secret-key") == 0) {
            dest = sec;
            seen = &have_sec;
        } else {
            s_err(err, errlen, "%s: line %d: unknown setting '%s'", path, line, key);
            return -1;
        }
        if (*seen) {
            s_err(err, errlen, "%s: line %d: %s given twice", path, line, key);
            return -1;
        }
        if (!s_z85_valid(val)) {
            s_err(err, errlen, "%s: line %d: %s is not a 40-character Z85 key", path, line, key);
            return -1;
        }
        *seen = true;
        if (dest)
            memcpy(dest, val, WZ_KEY_Z85_LEN + 1);
    }
    if (pub && !have_pub) {
        s_err(err, errlen, "%s: no public-key line", path);
        return -1;
    }
    if (sec && !have_sec) {
        s_err(err, errlen, "%s: no secret-key line", path);
        return -1;
    }
    return 0;
}

int wz_keys_read_secret(const char *dir, const char *name, wz_keypair_t *out, char *err,
                        size_t errlen)
{
    char path[1024], text[KEY_FILE_MAX];
    memset(out, 0, sizeof *out);
    if (s_check_name(name, err, errlen) != 0 ||
        s_path(path, sizeof path, dir, name, ".key", err, errlen) != 0)
        return -1;
    if (s_read_file(path, true, text, sizeof text, err, errlen) != 0)
        return -1;
    int rc = s_parse(path, text, out->public_z85, out->secret_z85, err, errlen);
    explicit_bzero(text, sizeof text);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        errno = EINVAL;
        return -1;
    }
    char derived[41];
    if (zmq_curve_public(derived, out->secret_z85) != 0 || strcmp(derived, out->public_z85) != 0) {
        s_err(err, errlen, "%s: public-key does not belong to secret-key", path);
        memset(out, 0, sizeof *out);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int wz_keys_read_public(const char *dir, const char *name, char out[41], char *err, size_t errlen)
{
    char path[1024], text[KEY_FILE_MAX];
    out[0] = '\0';
    if (s_check_name(name, err, errlen) != 0 ||
        s_path(path, sizeof path, dir, name, ".pub", err, errlen) != 0)
        return -1;
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        /* No .pub: the public line of the .key will do (it is ours to read). */
        char keypath[1024];
        if (s_path(keypath, sizeof keypath, dir, name, ".key", err, errlen) != 0)
            return -1;
        if (access(keypath, F_OK) != 0) {
            s_err(err, errlen, "no public key for %s: neither %s nor %s exists", name, path,
                  keypath);
            errno = ENOENT;
            return -1;
        }
        memcpy(path, keypath, sizeof path);
    }
    if (s_read_file(path, false, text, sizeof text, err, errlen) != 0)
        return -1;
    /* Only the public key is wanted, but a .key also carries a secret one. */
    char sec[41];
    bool is_key = strlen(path) > 4 && strcmp(path + strlen(path) - 4, ".key") == 0;
    int rc = s_parse(path, text, out, is_key ? sec : NULL, err, errlen);
    explicit_bzero(text, sizeof text);
    explicit_bzero(sec, sizeof sec);
    if (rc != 0) {
        out[0] = '\0';
        errno = EINVAL;
        return -1;
    }
    return 0;
}
