/* wz_client.h - the party side of the wire: request/reply to intake or audit,
 * and a mailbox listener on notification. Used by wzctl and the tests. */
#ifndef WZ_CLIENT_H_INCLUDED
#define WZ_CLIENT_H_INCLUDED

#include <stdint.h>

/* ZMQ_MAXMSGSIZE of a client socket: what a server sends back. */
#define WZ_CLIENT_MAX_REPLY (16 * 1024 * 1024)

#include "wz_keys.h"
#include "wz_proto.h"
#include "wz_settings.h"

typedef struct wz_client_t wz_client_t;
typedef struct wz_listener_t wz_listener_t;

/* Loads the key pair of party (<keys_dir>/<party>.key) and the public key of
 * service ("intake", "notification" or "audit": <keys_dir>/<service>.pub).
 * Returns 0 or -1 with err. */
int wz_client_keys(const wz_settings_t *settings, const char *party, const char *service,
                   wz_keypair_t *party_kp, char server_public[41], char *err, size_t errlen);

/* A DEALER connected to endpoint as CURVE client. ctx is borrowed. NULL on failure. */
wz_client_t *wz_client_new(void *ctx, const char *endpoint, const char *server_public_z85,
                           const wz_keypair_t *kp);
void wz_client_destroy(wz_client_t **self_p);
/* Sends req (a random request_id is used if it has none; req itself is left
 * as it was, the reply carries the id) and waits up to timeout_ms for the
 * reply carrying that request_id, sending the same request again every
 * retry_ms (safe: the server is idempotent per request_id; 0: never).
 * Returns 0 with *reply (caller frees with WZ_FREE_UNPACKED), -1 on timeout
 * (errno ETIMEDOUT) or transport failure. */
int wz_client_call(wz_client_t *self, WzRequest *req, int timeout_ms, int retry_ms,
                   WzReply **reply);
/* Sends raw bytes as one frame and waits for any reply frame (tests of bad
 * input). Returns 0 with *reply, -1 on timeout. */
int wz_client_call_raw(wz_client_t *self, const void *data, size_t len, int timeout_ms,
                       WzReply **reply);

/* A DEALER connected to notification; sends Hello{after_seq} at once. */
wz_listener_t *wz_listener_new(void *ctx, const char *endpoint, const char *server_public_z85,
                               const wz_keypair_t *kp, uint64_t after_seq);
/* Closes the listener; accepts NULL and nulls the pointer. Unsent acks get up
 * to a second to leave when the context is terminated. */
void wz_listener_destroy(wz_listener_t **self_p);
/* Waits up to timeout_ms for the next delivery not seen before (duplicates
 * from resends are skipped). While silent it repeats Hello every second so a
 * reconnect resumes. Returns 1 with *delivery (caller frees), 0 on timeout,
 * -1 on failure. */
int wz_listener_next(wz_listener_t *self, int timeout_ms, WzDelivery **delivery);
/* Acknowledges every delivery up to and including seq. 0 or -1. */
int wz_listener_ack(wz_listener_t *self, uint64_t seq);
/* Highest sequence received so far. */
uint64_t wz_listener_last_seq(const wz_listener_t *self);

#endif
