/* wz_zap.h - CURVE authentication: a ZAP handler thread that maps a client's
 * public key to a configured party, and the socket options on both sides.
 * The party a message comes from is read from the message ("User-Id"),
 * never from a field the client fills in. */
#ifndef WZ_ZAP_H_INCLUDED
#define WZ_ZAP_H_INCLUDED

#include <zmq.h>

#include "wz_keys.h"
#include "wz_log.h"
#include "wz_policy.h"

#define WZ_ZAP_DOMAIN "woonzorg"
/* The ZAP domain of the services' own event endpoints (PUB/SUB): only the
 * keys given to wz_zap_allow_service get in there, never a party's. */
#define WZ_ZAP_INTERNAL_DOMAIN "woonzorg-internal"
#define WZ_ZAP_MAX_SERVICES 8

typedef struct wz_zap_t wz_zap_t;

/* Starts the handler on inproc://zeromq.zap.01 in ctx. The policy is borrowed
 * and must outlive the handler. Unknown keys are refused (status 400) and
 * logged. Returns NULL on failure. Create it before binding server sockets. */
wz_zap_t *wz_zap_new(void *ctx, const wz_policy_t *policy, wz_log_t *log);
/* Stops and joins the thread; accepts NULL and nulls the pointer. */
void wz_zap_destroy(wz_zap_t **self_p);
/* Number of handshakes refused so far (for metrics and tests). */
unsigned long wz_zap_refused(wz_zap_t *self);

/* Lets the service name, known by its public key (Z85, copied), in on the
 * internal endpoints; the handshake's user id is "service:<name>". Call
 * before the internal sockets bind. 0, or -1 when the list is full or the
 * key is not 40 characters. */
int wz_zap_allow_service(wz_zap_t *self, const char *name, const char *public_z85);

/* Makes socket a CURVE server with the given key pair and our ZAP domain. */
int wz_zap_server(void *socket, const wz_keypair_t *server);
/* The same for an internal endpoint (WZ_ZAP_INTERNAL_DOMAIN). */
int wz_zap_internal_server(void *socket, const wz_keypair_t *server);
/* Makes socket a CURVE client of the server's public key. */
int wz_zap_client(void *socket, const wz_keypair_t *client, const char *server_public_z85);
/* The party id the ZAP handler attached to a received message, or NULL.
 * Ask a frame the peer sent: a ROUTER's own routing-id frame carries none. */
const char *wz_zap_party(zmq_msg_t *msg);

#endif
