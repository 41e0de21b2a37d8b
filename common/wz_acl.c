/* wz_acl.c - per-service Redis ACL users (see wz_acl.h).
 *
 * Every service may read every key of the suite (status merges views, and
 * consumers read producers' streams), but writes only its own keys, with
 * only the write commands it uses: Redis 7 selectors tie commands to key
 * patterns. No user has DEL on a stream, FLUSH*, CONFIG, EVAL or KEYS;
 * XDEL and XTRIM only on its own outbox, mailboxes or dead letters; the
 * audit user can only append to the audit chain. */
#include "wz_acl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 2048

/* What every service may do: read (any key under the prefix, see the
 * %R~ pattern), and run optimistic transactions. Reads are harmless, and
 * listing them command by command would break on every new query; the
 * keyspace walkers are left out all the same. */
static const char s_base[] =
    "resetchannels -@all +@read -@dangerous -scan -randomkey +@transaction "
    "+ping";

typedef struct {
    const char *name;
    /* Selectors: "keys|commands", keys space separated suffixes after the
     * prefix; "{*}" stands for any region's hash tag. Every write a service
     * makes must be listed here (docs/security.md). */
    const char *writes[4];
} s_user_t;

static const s_user_t s_users[] = {
    {"intake",
     {"{*}:vacancy:* {*}:candidate:* {*}:idem:* {*}:answered:* {*}:signed:* "
      "{*}:confirmed:*|+set",
      "{*}:stream:intake|+xadd +xtrim", NULL}},
    /* m:* includes the decision snapshots and their index by candidate
     * (m:snaprefs:*), which a purge rewrites and deletes. */
    {"matching",
     {"{*}:m:* {*}:proposal:* {*}:deadlines {*}:nominations {*}:reminders "
      "{*}:cursor:matching:*|+set +del +sadd +srem +zadd +zrem +hset +hdel +hincrby",
      "{*}:stream:matching|+xadd +xtrim",
      "{*}:dead:matching {*}:dead:matching:replay|+xadd +xdel +xtrim +srem",
      /* A purge (docs/security.md, retention) deletes intake's record too. */
      "{*}:candidate:*|+del"}},
    {"notification",
     {"{*}:acked:* {*}:cursor:notification:*|+set",
      "{*}:mailbox:* {*}:stream:notification|+xadd +xtrim",
      "{*}:dead:notification {*}:dead:notification:replay|+xadd +xdel +xtrim +srem", NULL}},
    /* Dead letters (docs/guarantees.md): a consumer sets events aside in its
     * own dead-letter stream and removes one when a replay succeeded, when
     * its candidate is erased, or after the retention period; the
     * operator may only ask for replays. Trimming: a producer its outbox,
     * notification the acknowledged part of mailboxes; never the audit chain. */
    {"audit",
     {"{*}:cursor:audit:*|+set", "{*}:audit|+xadd",
      "{*}:dead:audit {*}:dead:audit:replay|+xadd +xdel +xtrim +srem",
      "{*}:audit:key:*|+set +del"}},
    {"operator", {"{*}:dead:*:replay|+sadd", NULL}},
};

#define N_USERS (sizeof s_users / sizeof s_users[0])

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

static int s_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *used, outlen - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

int wz_acl_rules(const char *name, const char *prefix, char *out, size_t outlen)
{
    /* A prefix is matched literally inside glob patterns. */
    if (!prefix || strpbrk(prefix, "*?[]\\ ") || !outlen)
        return -1;
    const s_user_t *u = NULL;
    for (size_t i = 0; i < N_USERS; i++)
        if (!strcmp(s_users[i].name, name))
            u = &s_users[i];
    if (!u)
        return -1;
    size_t used = 0;
    if (s_append(out, outlen, &used, "%s %%R~%s*", s_base, prefix) != 0)
        return -1;
    for (int s = 0; s < 4 && u->writes[s]; s++) {
        const char *bar = strchr(u->writes[s], '|');
        if (s_append(out, outlen, &used, " (") != 0)
            return -1;
        /* Each key suffix becomes ~<prefix><suffix>. */
        for (const char *k = u->writes[s]; k < bar;) {
            size_t len = strcspn(k, " |");
            if (s_append(out, outlen, &used, "~%s%.*s ", prefix, (int)len, k) != 0)
                return -1;
            k += len;
            while (*k == ' ')
                k++;
        }
        if (s_append(out, outlen, &used, "%s)", bar + 1) != 0)
            return -1;
    }
    return 0;
}

static void s_pass_path(const char *keys_dir, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/redis-%s.pass", keys_dir, name);
}

int wz_acl_password(const char *keys_dir, const char *name, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    char path[1024];
    s_pass_path(keys_dir, name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return s_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    char *ok = fgets(out, (int)outlen, f);
    fclose(f);
    if (!ok)
        return s_err(err, errlen, "%s: empty", path);
    out[strcspn(out, "\r\n")] = '\0';
    if (!out[0])
        return s_err(err, errlen, "%s: empty", path);
    return 0;
}

/* The password of name, made (random, 0600) when there is none. */
static int s_ensure_password(const char *keys_dir, const char *name, char *out, size_t outlen,
                             char *err, size_t errlen)
{
    char path[1024];
    s_pass_path(keys_dir, name, path, sizeof path);
    if (access(path, F_OK) == 0)
        return wz_acl_password(keys_dir, name, out, outlen, err, errlen);
    uint8_t raw[24];
    randombytes_buf(raw, sizeof raw);
    char hex[2 * sizeof raw + 2];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return s_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    size_t len = strlen(hex);
    hex[len] = '\n';
    int rc = write(fd, hex, len + 1) == (ssize_t)len + 1 ? 0 : -1;
    close(fd);
    hex[len] = '\0';
    if (rc != 0)
        return s_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    snprintf(out, outlen, "%s", hex);
    sodium_memzero(hex, sizeof hex);
    return 0;
}

static void s_sha256_hex(const char *text, char out[65])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const uint8_t *)text, strlen(text));
    sodium_bin2hex(out, 65, h, sizeof h);
}

int wz_acl_write_file(const char *path, const char *keys_dir, const char *prefix,
                      const char *admin_password, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return s_err(err, errlen, "libsodium cannot start");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        return s_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    }
    char hash[65], line[LINE_MAX_LEN];
    int rc = 0;
    if (admin_password) {
        s_sha256_hex(admin_password, hash);
        fprintf(f, "user default on #%s ~* &* +@all\n", hash);
    } else {
        fprintf(f, "user default off resetchannels -@all\n");
    }
    for (size_t i = 0; i < N_USERS && rc == 0; i++) {
        char pw[WZ_ACL_PASSWORD_MAX];
        if (s_ensure_password(keys_dir, s_users[i].name, pw, sizeof pw, err, errlen) != 0) {
            rc = -1;
            break;
        }
        s_sha256_hex(pw, hash);
        sodium_memzero(pw, sizeof pw);
        if (wz_acl_rules(s_users[i].name, prefix, line, sizeof line) != 0) {
            rc = s_err(err, errlen,
                       "redis.prefix '%s' cannot be used in ACL key patterns "
                       "(no * ? [ ] \\ or spaces)",
                       prefix);
            break;
        }
        fprintf(f, "user wz-%s on #%s %s\n", s_users[i].name, hash, line);
    }
    if (fclose(f) != 0 && rc == 0)
        rc = s_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = s_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int wz_acl_login(wz_redis_settings_t *redis, const char *keys_dir, const char *name, char *err,
                 size_t errlen)
{
    if (!redis->acl_users)
        return 0;
    snprintf(redis->user, sizeof redis->user, "wz-%s", name);
    return wz_acl_password(keys_dir, name, redis->password, sizeof redis->password, err, errlen);
}
