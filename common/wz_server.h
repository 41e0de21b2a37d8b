/* wz_server.h - the party-facing endpoint of a service: a CURVE ROUTER and
 * its framing, [routing id][payload] in both directions. */
#ifndef WZ_SERVER_H_INCLUDED
#define WZ_SERVER_H_INCLUDED

#include <stddef.h>
#include <zmq.h>

#include "wz_keys.h"
#include "wz_log.h"

/* Creates a ROUTER that is a CURVE server with keys (a ZAP handler must
 * already run in ctx), refuses messages over max_message_bytes, reports
 * unroutable replies (ROUTER_MANDATORY) and binds endpoint.
 * NULL on failure (logged). The caller closes it. */
void *wz_server_router(void *ctx, const wz_keypair_t *keys, const char *endpoint,
                       int max_message_bytes, wz_log_t *log);

/* Called for each well-formed message; both parts stay owned by the drain. */
typedef void (*wz_server_fn)(void *arg, void *router, zmq_msg_t *routing, zmq_msg_t *payload);

/* Receives up to budget messages without blocking. Each [routing id][payload]
 * goes to fn; a message of any other shape is dropped with a warning.
 * Returns the number of messages received. */
int wz_server_drain(void *router, int budget, wz_server_fn fn, void *arg, wz_log_t *log);

/* Sends [routing id][data] without blocking (a vanished or slow client must
 * not stall the service; clients retry). 0, or -1 with errno. */
int wz_server_send(void *router, zmq_msg_t *routing, const void *data, size_t len);

#endif
