/* wz_testzmq.h - a raw DEALER that knocks on an endpoint, for tests of who
 * gets in (ZAP, CURVE, the handshake monitor). */
#ifndef WZ_TESTZMQ_H_INCLUDED
#define WZ_TESTZMQ_H_INCLUDED

#include <stddef.h>

#include "wz_keys.h"

/* A DEALER in ctx with linger 0, CURVE client with kp towards server_public
 * (no security when kp is NULL), connected to endpoint, that has tried to
 * send payload. Returns the socket (the caller closes it); fails the
 * running Check test on any error but one: a handshake that is refused may
 * drop the connection's pipe before the send, and a blocking send would
 * then wait for ever, so the send does not wait and EAGAIN is no error. */
void *wz_test_knock(void *ctx, const char *endpoint, const wz_keypair_t *kp,
                    const char *server_public, const void *payload, size_t len);

#endif
