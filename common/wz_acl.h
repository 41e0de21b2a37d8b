/* wz_acl.h - one Redis ACL user per service, with only the commands and key
 * patterns that service needs, plus a read-only operator (wzctl audit
 * verify/export). Passwords are random, one file per user
 * (<keys_dir>/redis-<name>.pass, 0600); the ACL file holds only their
 * SHA-256. With redis.acl_users on, service S logs in as "wz-S". */
#ifndef WZ_ACL_H_INCLUDED
#define WZ_ACL_H_INCLUDED

#include <stddef.h>

#include "wz_settings.h"

#define WZ_ACL_PASSWORD_MAX 128

/* The rules of user "wz-<name>" (name: intake, matching, notification,
 * audit, operator) for keys under prefix, without the "user" and password
 * parts. 0, or -1 for an unknown name, a prefix with glob characters, or
 * out too small. */
int wz_acl_rules(const char *name, const char *prefix, char *out, size_t outlen);

/* Writes the ACL file at path for every user, making missing password files
 * in keys_dir. The default user gets admin_password (all rights; tests and
 * operators with redis-cli), or is switched off when admin_password is NULL.
 * 0, or -1 with err. */
int wz_acl_write_file(const char *path, const char *keys_dir, const char *prefix,
                      const char *admin_password, char *err, size_t errlen);

/* Reads the password of user name from keys_dir into out. 0, or -1 with err. */
int wz_acl_password(const char *keys_dir, const char *name, char *out, size_t outlen, char *err,
                    size_t errlen);

/* With redis->acl_users on, sets redis->user to "wz-<name>" and the
 * password from keys_dir; otherwise leaves redis as configured. 0, or -1
 * with err. */
int wz_acl_login(wz_redis_settings_t *redis, const char *keys_dir, const char *name, char *err,
                 size_t errlen);

#endif
