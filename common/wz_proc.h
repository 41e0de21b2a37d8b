/* wz_proc.h - child processes and loopback ports for what runs the suite
 * on one machine: the tests' harness and the benchmark. No service uses it. */
#ifndef WZ_PROC_H_INCLUDED
#define WZ_PROC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A loopback TCP port nobody has bound, from 20000..31999: below the
 * kernel's ephemeral range (32768 and up), so no outgoing connection takes
 * it between this check and the bind. *cursor is the caller's search
 * position, 0 the first time: it then starts from the pid, so processes
 * side by side rarely even try the same port. -1 when none is free. */
int wz_proc_free_port(int *cursor);

/* Forks and execs argv (PATH searched) with stdout and stderr appended to
 * log_path. The child dies with the calling process, whatever way that
 * ends. The child's pid, or -1. */
pid_t wz_proc_spawn(char *const argv[], const char *log_path);

/* Waits up to timeout_ms for pid to exit, then SIGKILLs and reaps it.
 * The wait status, or -1 when pid is not a child. */
int wz_proc_wait(pid_t pid, int timeout_ms);

/* Waits up to timeout_ms until the service pid has logged "started" in
 * log_path past its first skip bytes (what an earlier run wrote). 0 once
 * it has; -1 on timeout, or when it exited (then *exited is set: it is
 * reaped). */
int wz_proc_wait_started(pid_t pid, const char *log_path, size_t skip, int timeout_ms,
                         bool *exited);

/* Waits up to timeout_ms until the redis-server on 127.0.0.1:port answers
 * PING, as the default user with password (NULL: none). 0 or -1. */
int wz_proc_redis_ready(int port, const char *password, int timeout_ms);

/* Removes dir and everything under it (symbolic links not followed).
 * 0, or -1 when something could not be removed. */
int wz_proc_rmtree(const char *dir);

#endif
