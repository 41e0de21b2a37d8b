/* wz_loop.c - the reactor every service runs: one zmq_poll, timers, a stop flag. */
#include "wz_loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>

#include "wz_util.h"

/* The stop flag is looked at no less often than this. */
#define MAX_WAIT_MS 100

typedef struct {
    void *socket;   /* NULL for a raw fd */
    int fd;
    wz_loop_socket_fn fn;
    void *arg;
    bool removed;
} s_reader_t;

typedef struct {
    int id;
    int interval_ms;
    int64_t due_ms;
    wz_loop_timer_fn fn;
    void *arg;
} s_timer_t;

struct wz_loop_t {
    volatile sig_atomic_t *stop;
    s_reader_t *readers;
    size_t n_readers;
    s_timer_t *timers;
    size_t n_timers;
    int next_timer_id;
};

wz_loop_t *wz_loop_new(volatile sig_atomic_t *stop)
{
    wz_loop_t *self = calloc(1, sizeof *self);
    if (self)
        self->stop = stop;
    return self;
}

void wz_loop_destroy(wz_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->readers);
    free((*self_p)->timers);
    free(*self_p);
    *self_p = NULL;
}

static int s_add_reader(wz_loop_t *self, void *socket, int fd, wz_loop_socket_fn fn, void *arg)
{
    s_reader_t *grown = realloc(self->readers, (self->n_readers + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->readers = grown;
    self->readers[self->n_readers++] = (s_reader_t){socket, fd, fn, arg, false};
    return 0;
}

int wz_loop_add_socket(wz_loop_t *self, void *socket, wz_loop_socket_fn fn, void *arg)
{
    return s_add_reader(self, socket, -1, fn, arg);
}

int wz_loop_add_fd(wz_loop_t *self, int fd, wz_loop_socket_fn fn, void *arg)
{
    return s_add_reader(self, NULL, fd, fn, arg);
}

int wz_loop_remove_socket(wz_loop_t *self, void *socket)
{
    /* Only marked here: a handler may remove a socket while we dispatch. */
    for (size_t i = 0; i < self->n_readers; i++)
        if (self->readers[i].socket == socket && !self->readers[i].removed) {
            self->readers[i].removed = true;
            return 0;
        }
    return -1;
}

int wz_loop_add_timer(wz_loop_t *self, int interval_ms, wz_loop_timer_fn fn, void *arg)
{
    if (interval_ms <= 0)
        return -1;
    s_timer_t *grown = realloc(self->timers, (self->n_timers + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->timers = grown;
    int id = ++self->next_timer_id;
    self->timers[self->n_timers++] =
        (s_timer_t){id, interval_ms, wz_mono_ms() + interval_ms, fn, arg};
    return id;
}

static void s_compact(wz_loop_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->n_readers; i++)
        if (!self->readers[i].removed)
            self->readers[kept++] = self->readers[i];
    self->n_readers = kept;
}

static bool s_stopped(const wz_loop_t *self)
{
    return self->stop && *self->stop;
}

int wz_loop_drain(wz_loop_t *self, int budget_ms)
{
    int64_t until = wz_mono_ms() + budget_ms;
    int handled = 0;
    while (wz_mono_ms() < until) {
        s_compact(self);
        size_t n = self->n_readers;
        zmq_pollitem_t items[n ? n : 1];
        for (size_t i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){self->readers[i].socket, self->readers[i].fd, ZMQ_POLLIN,
                                        0};
        int rc = zmq_poll(items, (int)n, 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        for (size_t i = 0; i < n && wz_mono_ms() < until; i++) {
            if (!(items[i].revents & ZMQ_POLLIN) || self->readers[i].removed)
                continue;
            s_reader_t r = self->readers[i];
            r.fn(self, r.socket ? r.socket : (void *)(intptr_t)r.fd, r.arg);
            handled++;
        }
    }
    return handled;
}

int wz_loop_run(wz_loop_t *self)
{
    while (!s_stopped(self)) {
        s_compact(self);
        int64_t now = wz_mono_ms();
        long wait = MAX_WAIT_MS;
        for (size_t i = 0; i < self->n_timers; i++) {
            int64_t left = self->timers[i].due_ms - now;
            if (left < wait)
                wait = left < 0 ? 0 : (long)left;
        }
        size_t n = self->n_readers;
        zmq_pollitem_t items[n ? n : 1];
        for (size_t i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){self->readers[i].socket, self->readers[i].fd, ZMQ_POLLIN,
                                        0};
        int rc = zmq_poll(items, (int)n, wait);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (size_t i = 0; i < n && rc > 0; i++) {
            if (!(items[i].revents & ZMQ_POLLIN) || self->readers[i].removed)
                continue;
            s_reader_t r = self->readers[i];
            void *handle = r.socket ? r.socket : (void *)(intptr_t)r.fd;
            if (r.fn(self, handle, r.arg) != 0)
                return 0;
            if (s_stopped(self))
                return 0;
        }
        now = wz_mono_ms();
        for (size_t i = 0; i < self->n_timers; i++) {
            if (self->timers[i].due_ms > now)
                continue;
            /* Schedule from now, not from the missed due time: a slow tick
             * (Redis timing out) must not cause a burst of catch-up ticks. */
            self->timers[i].due_ms = now + self->timers[i].interval_ms;
            if (self->timers[i].fn(self, self->timers[i].arg) != 0)
                return 0;
            if (s_stopped(self))
                return 0;
        }
    }
    return 0;
}
