/* Unit tests of wz_acl against a real redis-server started with the ACL
 * file (tests/support does that for every test): each service's user may
 * write its own keys with its own commands and nothing else; the audit user
 * can only append to its chain; the operator only reads. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wz_acl.h"
#include "wz_testenv.h"
#include "wz_testmain.h"

static redisContext *s_login(wz_testenv_t *env, const char *name)
{
    char keys[600], pw[WZ_ACL_PASSWORD_MAX], err[512];
    snprintf(keys, sizeof keys, "%s/keys", wz_testenv_dir(env));
    ck_assert_msg(wz_acl_password(keys, name, pw, sizeof pw, err, sizeof err) == 0, "%s", err);
    redisContext *c = redisConnect("127.0.0.1", wz_testenv_redis_port(env));
    ck_assert(c && !c->err);
    redisReply *r = redisCommand(c, "AUTH wz-%s %s", name, pw);
    ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

/* Runs a command; true when Redis did it, false when ACL said NOPERM. */
static bool s_may(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    ck_assert_ptr_nonnull(r);
    bool ok = r->type != REDIS_REPLY_ERROR;
    if (!ok)
        ck_assert_msg(strncmp(r->str, "NOPERM", 6) == 0, "unexpected error: %s", r->str);
    freeReplyObject(r);
    return ok;
}

START_TEST(test_users)
{
    wz_testenv_t *env = wz_testenv_new(false, 0);

    redisContext *intake = s_login(env, "intake");
    ck_assert(s_may(intake, "SET wz:{zkij}:vacancy:PW-1 x"));
    ck_assert(s_may(intake, "XADD wz:{zkij}:stream:intake 1-0 e x"));
    ck_assert(s_may(intake, "GET wz:{zkij}:m:vacancy:PW-1"));
    ck_assert(!s_may(intake, "SET wz:{zkij}:m:vacancy:PW-1 x"));
    ck_assert(!s_may(intake, "XADD wz:{zkij}:stream:matching 1-0 e x"));
    ck_assert(!s_may(intake, "DEL wz:{zkij}:vacancy:PW-1"));
    ck_assert(!s_may(intake, "SET other:key x"));
    ck_assert(!s_may(intake, "GET other:key"));
    ck_assert(!s_may(intake, "KEYS *"));
    ck_assert(!s_may(intake, "FLUSHALL"));
    ck_assert(!s_may(intake, "CONFIG GET requirepass"));
    ck_assert(s_may(intake, "MULTI"));
    ck_assert(s_may(intake, "DISCARD"));

    redisContext *matching = s_login(env, "matching");
    ck_assert(s_may(matching, "SET wz:{zkij}:m:vacancy:PW-1 x"));
    ck_assert(s_may(matching, "ZADD wz:{zkij}:deadlines 1 p"));
    ck_assert(!s_may(matching, "SET wz:{zkij}:vacancy:PW-1 x"));
    /* A purge deletes intake's candidate record; nothing else of intake's. */
    ck_assert(s_may(matching, "DEL wz:{zkij}:candidate:kam-1"));
    ck_assert(!s_may(matching, "SET wz:{zkij}:candidate:kam-1 x"));
    ck_assert(!s_may(matching, "DEL wz:{zkij}:vacancy:PW-1"));
    ck_assert(!s_may(matching, "XADD wz:{zkij}:audit 1-0 e x"));
    /* Its own dead letters: removed on erasure and after the retention
     * period; another consumer's are not its to touch. */
    ck_assert(s_may(matching, "XTRIM wz:{zkij}:dead:matching MINID 1-0"));
    ck_assert(s_may(matching, "XDEL wz:{zkij}:dead:matching 1-0"));
    ck_assert(!s_may(matching, "XTRIM wz:{zkij}:dead:audit MINID 1-0"));
    ck_assert(!s_may(matching, "XDEL wz:{zkij}:dead:notification 1-0"));
    /* Snapshots, their index by candidate, and their rewrite by a purge. */
    ck_assert(s_may(matching, "SADD wz:{zkij}:m:snaprefs:kam-1 PW-1/1"));
    ck_assert(s_may(matching, "SET wz:{zkij}:m:snapshot:PW-1/1 x"));
    ck_assert(s_may(matching, "DEL wz:{zkij}:m:snaprefs:kam-1"));
    /* Intake replays a snapshot: it reads, never writes one. */
    ck_assert(s_may(intake, "GET wz:{zkij}:m:snapshot:PW-1/1"));
    ck_assert(!s_may(intake, "SET wz:{zkij}:m:snapshot:PW-1/1 x"));
    ck_assert(!s_may(intake, "SADD wz:{zkij}:m:snaprefs:kam-1 PW-1/1"));
    ck_assert(!s_may(intake, "DEL wz:{zkij}:m:snaprefs:kam-1"));

    redisContext *notification = s_login(env, "notification");
    ck_assert(s_may(notification, "XADD wz:{zkij}:mailbox:ribw-kam 1-0 d x"));
    ck_assert(!s_may(notification, "XADD wz:{zkij}:stream:intake 2-0 e x"));
    ck_assert(!s_may(notification, "SET wz:{zkij}:proposal:x y"));

    /* The audit user appends to its chain and moves its cursors; it cannot
     * delete, trim, overwrite or rewrite the chain. */
    redisContext *audit = s_login(env, "audit");
    ck_assert(s_may(audit, "XADD wz:{zkij}:audit 1-0 e x"));
    ck_assert(s_may(audit, "SET wz:{zkij}:cursor:audit:intake 1"));
    ck_assert(!s_may(audit, "DEL wz:{zkij}:audit"));
    ck_assert(!s_may(audit, "UNLINK wz:{zkij}:audit"));
    ck_assert(!s_may(audit, "XTRIM wz:{zkij}:audit MAXLEN 0"));
    ck_assert(!s_may(audit, "XDEL wz:{zkij}:audit 1-0"));
    ck_assert(!s_may(audit, "SET wz:{zkij}:audit x"));
    ck_assert(!s_may(audit, "RENAME wz:{zkij}:audit wz:{zkij}:old"));
    ck_assert(!s_may(audit, "EVAL %s 0", "return redis.call('DEL', KEYS[1])"));
    ck_assert(s_may(audit, "XLEN wz:{zkij}:audit"));

    redisContext *operator= s_login(env, "operator");
    ck_assert(s_may(operator, "XRANGE wz:{zkij}:audit - +"));
    ck_assert(!s_may(operator, "SET wz:{zkij}:cursor:audit:intake 0"));
    ck_assert(!s_may(operator, "XADD wz:{zkij}:audit 2-0 e x"));
    /* Besides reading, it may only ask a consumer to replay a dead letter. */
    ck_assert(s_may(operator, "SADD wz:{zkij}:dead:matching:replay intake:1"));
    ck_assert(!s_may(operator, "XDEL wz:{zkij}:dead:matching 1-0"));
    ck_assert(!s_may(operator, "XTRIM wz:{zkij}:stream:intake MINID 1-0"));

    /* Wrong password, and no login at all. */
    redisContext *c = redisConnect("127.0.0.1", wz_testenv_redis_port(env));
    redisReply *r = redisCommand(c, "AUTH wz-audit not-the-password");
    ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    r = redisCommand(c, "GET wz:{zkij}:audit");
    ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
    ck_assert_ptr_nonnull(strstr(r->str, "NOAUTH"));
    freeReplyObject(r);
    redisFree(c);

    /* Password files are the owner's only; the ACL file holds hashes. */
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/keys/redis-audit.pass", wz_testenv_dir(env));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char keys[600], pw[WZ_ACL_PASSWORD_MAX], err[256];
    snprintf(keys, sizeof keys, "%s/keys", wz_testenv_dir(env));
    ck_assert_int_eq(wz_acl_password(keys, "audit", pw, sizeof pw, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/redis.acl", wz_testenv_dir(env));
    FILE *f = fopen(path, "r");
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_ptr_null(strstr(text, pw));
    ck_assert_ptr_nonnull(strstr(text, "user wz-audit on #"));

    redisFree(intake);
    redisFree(matching);
    redisFree(notification);
    redisFree(audit);
    redisFree(operator);
    wz_testenv_destroy(&env);
}
END_TEST

START_TEST(test_rules)
{
    char out[2048];
    ck_assert_int_eq(wz_acl_rules("audit", "wz:", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "(~wz:{*}:audit +xadd)"));
    ck_assert_int_eq(wz_acl_rules("nobody", "wz:", out, sizeof out), -1);
    ck_assert_int_eq(wz_acl_rules("audit", "w*:", out, sizeof out), -1);
    ck_assert_int_eq(wz_acl_rules("audit", "wz:", out, 16), -1);
    wz_redis_settings_t rs;
    memset(&rs, 0, sizeof rs);
    char err[256];
    ck_assert_int_eq(wz_acl_login(&rs, "/nonexistent", "audit", err, sizeof err), 0);
    ck_assert_str_eq(rs.user, "");
    rs.acl_users = true;
    ck_assert_int_eq(wz_acl_login(&rs, "/nonexistent", "audit", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "redis-audit.pass"));
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("acl", 30, (const TTest *const[]){test_users, test_rules, NULL});
    return wz_test_run("wz_acl", (TCase *const[]){tc, NULL});
}
