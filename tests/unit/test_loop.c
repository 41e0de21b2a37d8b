/* Unit tests of wz_loop: sockets, timers, stop by handler and by flag. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <zmq.h>

#include "wz_loop.h"
#include "wz_testmain.h"
#include "wz_util.h"

static volatile sig_atomic_t stop_flag;

typedef struct {
    int ticks;
    int stop_after;
    volatile sig_atomic_t *flag;
} ticker_t;

static int s_tick(wz_loop_t *loop, void *arg)
{
    (void)loop;
    ticker_t *t = arg;
    t->ticks++;
    if (t->flag && t->ticks == t->stop_after) {
        *t->flag = 1;
        return 0;
    }
    return t->ticks >= t->stop_after ? -1 : 0;
}

static int s_on_pull(wz_loop_t *loop, void *socket, void *arg)
{
    (void)loop;
    char buf[16];
    int n = zmq_recv(socket, buf, sizeof buf, ZMQ_DONTWAIT);
    int *received = arg;
    if (n > 0)
        (*received)++;
    return *received >= 3 ? -1 : 0;
}

START_TEST(test_timer_stops_loop)
{
    stop_flag = 0;
    /* Before the timer is added: its first tick is due 10 ms after that, and
     * on a busy machine the lines in between can take milliseconds. */
    int64_t start = wz_mono_ms();
    wz_loop_t *loop = wz_loop_new(&stop_flag);
    ticker_t t = {0, 3, NULL};
    ck_assert_int_gt(wz_loop_add_timer(loop, 10, s_tick, &t), 0);
    ck_assert_int_eq(wz_loop_add_timer(loop, 0, s_tick, &t), -1);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    ck_assert_int_eq(t.ticks, 3);
    ck_assert_int_ge(wz_mono_ms() - start, 25);
    wz_loop_destroy(&loop);
    ck_assert_ptr_null(loop);
    wz_loop_destroy(&loop);
}
END_TEST

START_TEST(test_flag_stops_loop)
{
    stop_flag = 0;
    wz_loop_t *loop = wz_loop_new(&stop_flag);
    ticker_t t = {0, 2, &stop_flag};
    wz_loop_add_timer(loop, 5, s_tick, &t);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    ck_assert_int_eq(t.ticks, 2);
    wz_loop_destroy(&loop);
}
END_TEST

START_TEST(test_socket_handler_runs_per_message)
{
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    ck_assert_int_eq(zmq_bind(pull, "inproc://loop-test"), 0);
    ck_assert_int_eq(zmq_connect(push, "inproc://loop-test"), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(zmq_send(push, "hi", 2, 0), 2);
    stop_flag = 0;
    wz_loop_t *loop = wz_loop_new(&stop_flag);
    int received = 0;
    ck_assert_int_eq(wz_loop_add_socket(loop, pull, s_on_pull, &received), 0);
    ticker_t guard = {0, 500, NULL}; /* 5 s at most */
    wz_loop_add_timer(loop, 10, s_tick, &guard);
    ck_assert_int_eq(wz_loop_run(loop), 0);
    ck_assert_int_eq(received, 3);
    ck_assert_int_lt(guard.ticks, 500);
    ck_assert_int_eq(wz_loop_remove_socket(loop, pull), 0);
    ck_assert_int_eq(wz_loop_remove_socket(loop, pull), -1);
    wz_loop_destroy(&loop);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}
END_TEST

int main(void)
{
    TCase *tc = wz_test_case("loop", 10,
                             (const TTest *const[]){test_timer_stops_loop, test_flag_stops_loop,
                                                    test_socket_handler_runs_per_message, NULL});
    return wz_test_run("wz_loop", (TCase *const[]){tc, NULL});
}
