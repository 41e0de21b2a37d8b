/* wz_loop.h - a small reactor over zmq_poll: ZeroMQ sockets, raw fds and
 * interval timers, stopped by a handler returning -1 or by a signal flag. */
#ifndef WZ_LOOP_H_INCLUDED
#define WZ_LOOP_H_INCLUDED

#include <signal.h>

typedef struct wz_loop_t wz_loop_t;

/* Called when socket is readable; return 0 to go on, -1 to stop the loop. */
typedef int (*wz_loop_socket_fn)(wz_loop_t *loop, void *socket, void *arg);
/* Called every interval; return 0 to go on, -1 to stop the loop. */
typedef int (*wz_loop_timer_fn)(wz_loop_t *loop, void *arg);

/* stop (borrowed, may be NULL) is polled at least every 100 ms; the loop
 * returns when it becomes non-zero. */
wz_loop_t *wz_loop_new(volatile sig_atomic_t *stop);
void wz_loop_destroy(wz_loop_t **self_p);
int wz_loop_add_socket(wz_loop_t *self, void *socket, wz_loop_socket_fn fn, void *arg);
int wz_loop_add_fd(wz_loop_t *self, int fd, wz_loop_socket_fn fn, void *arg);
int wz_loop_remove_socket(wz_loop_t *self, void *socket);
/* Returns a timer id > 0, or -1. */
int wz_loop_add_timer(wz_loop_t *self, int interval_ms, wz_loop_timer_fn fn, void *arg);
/* Runs until a handler returns -1 or *stop is set. Returns 0 on a stop
 * (flag or handler), -1 if zmq_poll failed for another reason than EINTR. */
int wz_loop_run(wz_loop_t *self);

/* After a stop: handles what already arrived on the sockets (not the
 * timers), until nothing is readable or budget_ms has passed. Returns the
 * number of handler calls. */
int wz_loop_drain(wz_loop_t *self, int budget_ms);

#endif
