/* wz_testenv.h - what a test needs to run the real thing: a private
 * redis-server on a free loopback port in a temp dir, a config for it, CURVE
 * keys, and the service processes. Every child is started with
 * PR_SET_PDEATHSIG, so nothing outlives a test that fails or is killed. */
#ifndef WZ_TESTENV_H_INCLUDED
#define WZ_TESTENV_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

#include "wz_settings.h"
#include "wz_proc.h"
#include "wz_store.h"

typedef struct wz_testenv_t wz_testenv_t;

/* Creates a temp dir and starts redis-server there on a free port. With
 * suite true it also writes config (config/woonzorg.yaml with free ports,
 * policy from tests/support/policy.yaml with answer_seconds set to
 * answer_seconds), generates keys for every party and service, and starts the
 * four services, waiting until each has logged its startup line.
 * Aborts the test (ck_abort) on failure. */
wz_testenv_t *wz_testenv_new(bool suite, int answer_seconds);
/* The same, with redis-server writing an append-only file (appendfsync
 * always, as in production) when redis_aof is true, so it can be killed and
 * restarted. */
wz_testenv_t *wz_testenv_new_opts(bool suite, int answer_seconds, bool redis_aof);
void wz_testenv_destroy(wz_testenv_t **self_p);
/* Writes config/woonzorg.yaml (free ports, the private redis) and
 * config/policy.yaml into the env's dir and a key pair for every party and
 * service, without starting anything (done by wz_testenv_new for a suite). */
void wz_testenv_write_config(wz_testenv_t *self, int answer_seconds);

int wz_testenv_redis_port(const wz_testenv_t *self);
const char *wz_testenv_dir(const wz_testenv_t *self);
/* The generated config/woonzorg.yaml path, and its loaded settings. */
const char *wz_testenv_config(const wz_testenv_t *self);
const wz_settings_t *wz_testenv_settings(const wz_testenv_t *self);
/* Redis settings pointing at the private server (prefix "wz:"). */
void wz_testenv_redis_settings(const wz_testenv_t *self, wz_redis_settings_t *out);
/* A store connected to the private server, owned by the env. */
wz_store_t *wz_testenv_store(wz_testenv_t *self);

/* Kills (signal) a service by name ("intake", ...) and waits for it; returns
 * its exit status as from waitpid, or -1. */
int wz_testenv_stop_service(wz_testenv_t *self, const char *name, int sig);
/* The pid of a running service ("intake", ...), or -1. */
pid_t wz_testenv_pid(const wz_testenv_t *self, const char *name);
/* Starts a service again (after a stop). */
void wz_testenv_start_service(wz_testenv_t *self, const char *name);

/* Stops every running service with SIGTERM (as Kubernetes would) and waits.
 * Returns how many did not exit with status 0 (a leak found by the sanitizer
 * at exit counts as unclean). */
int wz_testenv_stop_all(wz_testenv_t *self);
/* Kills the private redis-server with SIGKILL (tests of Redis being away). */
void wz_testenv_kill_redis(wz_testenv_t *self);
/* Starts redis-server again after wz_testenv_kill_redis, on the same port
 * and directory (so it loads its append-only file, if it wrote one), and
 * waits until it answers PING. */
void wz_testenv_start_redis(wz_testenv_t *self);

/* A free TCP port on 127.0.0.1 (wz_proc_free_port; fails the test when
 * there is none). Child processes: wz_proc_spawn and wz_proc_wait. */
int wz_test_free_port(void);

#endif
