/* wz_settings.c - the one table of config/woonzorg.yaml: names, types,
 * defaults and bounds live here and nowhere else. */
#include "wz_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_config.h"
#include "wz_log.h"

#define S(field) offsetof(wz_settings_t, field), sizeof(((wz_settings_t *)0)->field)
#define I(field) offsetof(wz_settings_t, field), 0

static const wz_cfg_field_t s_fields[] = {
    {"log_level", WZ_CFG_STRING, S(log_level), "info", 0, 0},
    {"keys_dir", WZ_CFG_STRING, S(keys_dir), "../var/keys", 0, 0},
    {"policy", WZ_CFG_STRING, S(policy_path), "policy.yaml", 0, 0},
    {"redis.host", WZ_CFG_STRING, S(redis.host), "127.0.0.1", 0, 0},
    {"redis.port", WZ_CFG_INT, I(redis.port), "6379", 1, 65535},
    {"redis.user", WZ_CFG_STRING, S(redis.user), "", 0, 0},
    {"redis.password", WZ_CFG_STRING, S(redis.password), "", 0, 0},
    {"redis.acl_users", WZ_CFG_BOOL, I(redis.acl_users), "false", 0, 0},
    {"redis.prefix", WZ_CFG_STRING, S(redis.prefix), "wz:", 0, 0},
    {"redis.connect_timeout_ms", WZ_CFG_INT, I(redis.connect_timeout_ms), "1000", 1, 600000},
    {"redis.command_timeout_ms", WZ_CFG_INT, I(redis.command_timeout_ms), "2000", 1, 600000},
    {"heartbeat_ms", WZ_CFG_INT, I(heartbeat_ms), "1000", 10, 3600000},
    {"catch_up_ms", WZ_CFG_INT, I(catch_up_ms), "2000", 10, 3600000},
    {"idempotency_ttl_s", WZ_CFG_INT, I(idempotency_ttl_s), "604800", 1, 31622400},
    {"max_message_bytes", WZ_CFG_INT, I(max_message_bytes), "65536", 1024, 64 * 1024 * 1024},
    {"drain_ms", WZ_CFG_INT, I(drain_ms), "5000", 0, 600000},
    {"pubsub_hwm", WZ_CFG_INT, I(pubsub_hwm), "1000", 1, 1000000},
    {"pubsub_buffer", WZ_CFG_INT, I(pubsub_buffer), "0", 0, 64 * 1024 * 1024},
    {"dead_letter_attempts", WZ_CFG_INT, I(dead_letter_attempts), "5", 1, 1000},
    {"trim_interval_ms", WZ_CFG_INT, I(trim_interval_ms), "60000", 0, 86400000},
    {"internal_curve", WZ_CFG_BOOL, I(internal_curve), "false", 0, 0},
    {"intake.endpoint", WZ_CFG_STRING, S(intake.endpoint), "tcp://127.0.0.1:7701", 0, 0},
    {"intake.publish", WZ_CFG_STRING, S(intake.publish), "tcp://127.0.0.1:7702", 0, 0},
    {"intake.http", WZ_CFG_STRING, S(intake.http), "127.0.0.1:7709", 0, 0},
    {"matching.publish", WZ_CFG_STRING, S(matching.publish), "tcp://127.0.0.1:7711", 0, 0},
    {"matching.deadline_check_ms", WZ_CFG_INT, I(matching.deadline_check_ms), "500", 10, 3600000},
    {"matching.http", WZ_CFG_STRING, S(matching.http), "127.0.0.1:7719", 0, 0},
    {"matching.regions", WZ_CFG_STRING, S(matching.regions), "", 0, 0},
    {"notification.endpoint", WZ_CFG_STRING, S(notification.endpoint), "tcp://127.0.0.1:7721", 0,
     0},
    {"notification.publish", WZ_CFG_STRING, S(notification.publish), "tcp://127.0.0.1:7722", 0, 0},
    {"notification.max_in_flight", WZ_CFG_INT, I(notification.max_in_flight), "64", 1, 100000},
    {"notification.session_timeout_ms", WZ_CFG_INT, I(notification.session_timeout_ms), "30000",
     100, 86400000},
    {"notification.http", WZ_CFG_STRING, S(notification.http), "127.0.0.1:7729", 0, 0},
    {"audit.endpoint", WZ_CFG_STRING, S(audit.endpoint), "tcp://127.0.0.1:7731", 0, 0},
    {"audit.http", WZ_CFG_STRING, S(audit.http), "127.0.0.1:7739", 0, 0},
    {"audit.checkpoint_dir", WZ_CFG_STRING, S(audit.checkpoint_dir), "../var/audit", 0, 0},
    {"audit.checkpoint_entries", WZ_CFG_INT, I(audit.checkpoint_entries), "100", 1, 1000000},
    {"audit.checkpoint_ms", WZ_CFG_INT, I(audit.checkpoint_ms), "60000", 100, 86400000},
    {"audit.dashboard_token_file", WZ_CFG_STRING, S(audit.dashboard_token_file), "", 0, 0},
    {"audit.small_number", WZ_CFG_INT, I(audit.small_number), "5", 1, 1000},
    {"retention.candidate_days", WZ_CFG_INT, I(retention.candidate_days), "90", 0, 3650},
};

#define N_FIELDS (sizeof s_fields / sizeof s_fields[0])
#define ENV_PREFIX "WZ_"

/* Where a value came from, for messages: the environment wins over the file. */
static void s_where(const wz_doc_t *doc, const char *path, char *out, size_t outlen)
{
    char var[128];
    int n = snprintf(var, sizeof var, ENV_PREFIX);
    for (const char *p = path; *p && (size_t)n + 1 < sizeof var; p++, n++)
        var[n] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    var[n] = '\0';
    if (getenv(var)) {
        snprintf(out, outlen, "environment %s", var);
        return;
    }
    const wz_node_t *node = wz_node_get(wz_doc_root(doc), path);
    if (node)
        snprintf(out, outlen, "%s:%d", wz_doc_name(doc), wz_node_line(node));
    else
        snprintf(out, outlen, "%s", wz_doc_name(doc));
}

/* Makes a relative path relative to dir (the config file's directory). */
static int s_resolve(const wz_doc_t *doc, const char *key, char *path, const char *dir, char *err,
                     size_t errlen)
{
    char where[600];
    if (!*path) {
        s_where(doc, key, where, sizeof where);
        snprintf(err, errlen, "%s: %s must not be empty", where, key);
        return -1;
    }
    if (path[0] == '/' || !*dir)
        return 0;
    char joined[WZ_PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s", dir, path);
    if (n < 0 || (size_t)n >= sizeof joined) {
        s_where(doc, key, where, sizeof where);
        snprintf(err, errlen, "%s: %s is longer than %d characters once made relative to %s", where,
                 key, WZ_PATH_MAX - 1, dir);
        return -1;
    }
    memcpy(path, joined, (size_t)n + 1);
    return 0;
}

/* Endpoints must at least name a transport; libzmq's own error later is vague. */
static int s_check_endpoint(const wz_doc_t *doc, const char *key, const char *value, char *err,
                            size_t errlen)
{
    if (strstr(value, "://") && strstr(value, "://") != value)
        return 0;
    char where[600];
    s_where(doc, key, where, sizeof where);
    snprintf(err, errlen, "%s: %s '%s' is not an endpoint like tcp://127.0.0.1:7701", where, key,
             value);
    return -1;
}

int wz_settings_load(wz_settings_t *out, const char *path, char *err, size_t errlen)
{
    wz_doc_t *doc = wz_doc_load(path, err, errlen);
    if (!doc)
        return -1;
    int rc = -1;
    wz_settings_t s;
    memset(&s, 0, sizeof s);
    if (wz_config_fill(doc, wz_doc_root(doc), s_fields, N_FIELDS, &s, ENV_PREFIX, err, errlen) != 0)
        goto out;

    char where[600];
    wz_log_level_t level;
    if (wz_log_level_parse(s.log_level, &level) != 0) {
        s_where(doc, "log_level", where, sizeof where);
        snprintf(err, errlen, "%s: log_level '%s' is not one of debug, info, warn, error", where,
                 s.log_level);
        goto out;
    }
    if (!*s.redis.host) {
        s_where(doc, "redis.host", where, sizeof where);
        snprintf(err, errlen, "%s: redis.host must not be empty", where);
        goto out;
    }
    const struct {
        const char *key;
        const char *value;
    } endpoints[] = {
        {"intake.endpoint", s.intake.endpoint},
        {"intake.publish", s.intake.publish},
        {"matching.publish", s.matching.publish},
        {"notification.endpoint", s.notification.endpoint},
        {"notification.publish", s.notification.publish},
        {"audit.endpoint", s.audit.endpoint},
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (s_check_endpoint(doc, endpoints[i].key, endpoints[i].value, err, errlen) != 0)
            goto out;

    const struct {
        const char *key;
        const char *value;
    } https[] = {
        {"intake.http", s.intake.http},
        {"matching.http", s.matching.http},
        {"notification.http", s.notification.http},
        {"audit.http", s.audit.http},
    };
    for (size_t i = 0; i < sizeof https / sizeof https[0]; i++) {
        char host[64];
        int port;
        if (*https[i].value &&
            wz_settings_split_http(https[i].value, host, sizeof host, &port) != 0) {
            s_where(doc, https[i].key, where, sizeof where);
            snprintf(err, errlen,
                     "%s: %s '%s' is not an address like 127.0.0.1:7709 or *:8080 "
                     "(empty turns it off)",
                     where, https[i].key, https[i].value);
            goto out;
        }
    }

    /* The directory part with its slash ("config/"), or "" for a bare name. */
    char dir[WZ_PATH_MAX] = "";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t len = (size_t)(slash - path) + 1;
        if (len >= sizeof dir) {
            snprintf(err, errlen, "%s: path too long", path);
            goto out;
        }
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    if (s_resolve(doc, "keys_dir", s.keys_dir, dir, err, errlen) != 0 ||
        s_resolve(doc, "policy", s.policy_path, dir, err, errlen) != 0 ||
        s_resolve(doc, "audit.checkpoint_dir", s.audit.checkpoint_dir, dir, err, errlen) != 0 ||
        (s.audit.dashboard_token_file[0] &&
         s_resolve(doc, "audit.dashboard_token_file", s.audit.dashboard_token_file, dir, err,
                   errlen) != 0))
        goto out;
    *out = s;
    rc = 0;
out:
    wz_doc_destroy(&doc);
    return rc;
}

const char *wz_settings_http(const wz_settings_t *self, const char *service)
{
    if (!service)
        return NULL;
    if (!strcmp(service, "intake"))
        return self->intake.http;
    if (!strcmp(service, "matching"))
        return self->matching.http;
    if (!strcmp(service, "notification"))
        return self->notification.http;
    if (!strcmp(service, "audit"))
        return self->audit.http;
    return NULL;
}

int wz_settings_split_http(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (!colon || colon == addr || (size_t)(colon - addr) >= hostlen || !colon[1])
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (strcmp(host, "*") == 0)
        return *port = (int)p, 0;
    unsigned a, b, c, d;
    char extra;
    if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4 || a > 255 || b > 255 ||
        c > 255 || d > 255)
        return -1;
    *port = (int)p;
    return 0;
}
