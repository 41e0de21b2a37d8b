/* wz_testzmq.c - see wz_testzmq.h. */
#include "wz_testzmq.h"

#include <check.h>
#include <errno.h>
#include <zmq.h>

#include "wz_zap.h"

void *wz_test_knock(void *ctx, const char *endpoint, const wz_keypair_t *kp,
                    const char *server_public, const void *payload, size_t len)
{
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(dealer);
    int linger = 0;
    ck_assert_int_eq(zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger), 0);
    if (kp)
        ck_assert_int_eq(wz_zap_client(dealer, kp, server_public), 0);
    ck_assert_int_eq(zmq_connect(dealer, endpoint), 0);
    int sent = zmq_send(dealer, payload, len, ZMQ_DONTWAIT);
    ck_assert_msg(sent == (int)len || (sent < 0 && errno == EAGAIN), "send: %s",
                  zmq_strerror(errno));
    return dealer;
}
