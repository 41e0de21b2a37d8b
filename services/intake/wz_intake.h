/* wz_intake.h - the party command endpoint: requests in, a reply out only
 * after the effect is durable in Redis. Identity comes from the CURVE key
 * (the ZAP handler's User-Id), idempotency from <party, request_id>, and
 * every state change commits together with its event on intake's outbox. */
#ifndef WZ_INTAKE_H_INCLUDED
#define WZ_INTAKE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wz_bus.h"
#include "wz_loop.h"
#include "wz_runtime.h"

typedef struct wz_intake_t wz_intake_t;

/* Creates the request handler. rt (policy, store, log, settings), router (a
 * bound ROUTER, may be NULL when only wz_intake_handle is used) and pub are
 * borrowed and must outlive it. NULL on OOM. */
wz_intake_t *wz_intake_new(wz_runtime_t *rt, void *router, wz_pub_t *pub);
/* Destroys the handler (not the borrowed sockets); accepts NULL, nulls the pointer. */
void wz_intake_destroy(wz_intake_t **self_p);

/* Loop handler for the ROUTER: reads [routing id][Request] messages, drops
 * anything else with a warning, and answers each with [routing id][Reply].
 * arg is the wz_intake_t. Always returns 0 (the service keeps running). */
int wz_intake_on_router(wz_loop_t *loop, void *socket, void *arg);

/* Handles one request of len bytes from party (the authenticated id, or
 * NULL if the message carried none) and sets *reply to the packed Reply
 * (malloc'd, caller frees) and *reply_len. Returns 0, or -1 on OOM only. */
int wz_intake_handle(wz_intake_t *self, const char *party, const void *data, size_t len,
                     uint8_t **reply, size_t *reply_len);

#endif
