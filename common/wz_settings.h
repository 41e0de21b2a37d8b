/* wz_settings.h - config/woonzorg.yaml as a typed, immutable struct.
 * Relative paths in the file are resolved against the file's directory. */
#ifndef WZ_SETTINGS_H_INCLUDED
#define WZ_SETTINGS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define WZ_PATH_MAX 512
#define WZ_ENDPOINT_MAX 256
#define WZ_HTTP_ADDR_MAX 64

typedef struct {
    char host[256];
    int port;
    char user[64];          /* ACL user; empty: the default user */
    char password[128];     /* empty: no AUTH */
    bool acl_users;         /* log in as "wz-<service>" with <keys_dir>/redis-<service>.pass */
    char prefix[32];        /* key prefix, default "wz:" */
    int connect_timeout_ms;
    int command_timeout_ms;
} wz_redis_settings_t;

typedef struct {
    char log_level[16];            /* debug | info | warn | error */
    char keys_dir[WZ_PATH_MAX];    /* CURVE key files: <name>.key (secret), <name>.pub */
    char policy_path[WZ_PATH_MAX]; /* policy.yaml */
    wz_redis_settings_t redis;
    int heartbeat_ms;       /* producers announce their last sequence this often */
    int catch_up_ms;        /* consumers re-read their streams from Redis this often */
    int idempotency_ttl_s;  /* how long a request_id's reply is kept */
    int max_message_bytes;  /* ZMQ_MAXMSGSIZE on external sockets */
    int drain_ms;           /* grace period on SIGTERM */
    int pubsub_hwm;         /* ZeroMQ high-water mark of event PUB and SUB sockets */
    int pubsub_buffer;      /* their kernel socket buffers in bytes; 0: the OS default */
    int dead_letter_attempts; /* failed tries (Redis reachable) before an event is set aside */
    int trim_interval_ms;   /* producers trim their outbox this often; 0: never */
    int internal_curve;     /* event PUB/SUB between services over CURVE, service keys only */
    struct {
        char endpoint[WZ_ENDPOINT_MAX]; /* ROUTER for party requests (CURVE) */
        char publish[WZ_ENDPOINT_MAX];  /* PUB of intake's events */
        char http[WZ_HTTP_ADDR_MAX];    /* health and metrics, "host:port"; "" off */
    } intake;
    struct {
        char publish[WZ_ENDPOINT_MAX];
        int deadline_check_ms;          /* how often the deadline timer runs */
        char http[WZ_HTTP_ADDR_MAX];
        char regions[512];              /* "zkij,almere": this replica's shard; "" all */
    } matching;
    struct {
        char endpoint[WZ_ENDPOINT_MAX]; /* ROUTER for party mailboxes (CURVE) */
        char publish[WZ_ENDPOINT_MAX];
        int max_in_flight;              /* unacknowledged deliveries per session */
        int session_timeout_ms;         /* a silent session is dropped after this */
        char http[WZ_HTTP_ADDR_MAX];
    } notification;
    struct {
        char endpoint[WZ_ENDPOINT_MAX]; /* ROUTER for audit queries (CURVE) */
        char http[WZ_HTTP_ADDR_MAX];
        char checkpoint_dir[WZ_PATH_MAX]; /* signed checkpoints, outside Redis */
        int checkpoint_entries;         /* sign after this many new entries of a region */
        int checkpoint_ms;              /* and at least this often when there are new ones */
        char dashboard_token_file[WZ_PATH_MAX]; /* token for /dashboard; "" none (loopback only) */
        int small_number;               /* dashboard counts below this are not shown */
    } audit;
    struct {
        int candidate_days; /* housed or withdrawn candidates are purged this many days later */
    } retention;
} wz_settings_t;

/* Loads path into out; WZ_* environment variables override single values
 * (WZ_REDIS_PORT, WZ_INTAKE_ENDPOINT, ...). Returns 0, or -1 with
 * "file:line: reason" in err. */
int wz_settings_load(wz_settings_t *out, const char *path, char *err, size_t errlen);
/* The health and metrics address ("host:port", or "" when off) of a service
 * ("intake", "matching", "notification", "audit"); NULL for another name. */
const char *wz_settings_http(const wz_settings_t *self, const char *service);
/* Splits "host:port" (host: an IPv4 address, "*" or "0.0.0.0" for every
 * interface; port 0..65535). 0, or -1 if it is not of that form. */
int wz_settings_split_http(const char *addr, char *host, size_t hostlen, int *port);

#endif
