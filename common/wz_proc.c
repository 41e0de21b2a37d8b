/* wz_proc.c - see wz_proc.h. */
#include "wz_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wz_util.h"

enum { PORT_FIRST = 20000, PORT_SPAN = 12000 };

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool s_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

int wz_proc_free_port(int *cursor)
{
    if (*cursor <= 0 || *cursor >= PORT_SPAN)
        *cursor = 1 + (int)(((unsigned)getpid() * 7919u) % (PORT_SPAN - 1));
    for (int tries = 0; tries < PORT_SPAN; tries++) {
        int port = PORT_FIRST + *cursor;
        *cursor = *cursor + 1 < PORT_SPAN ? *cursor + 1 : 1; /* 0 would re-seed */
        if (s_port_free(port))
            return port;
    }
    return -1;
}

pid_t wz_proc_spawn(char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl took effect */
        _exit(127);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int wz_proc_wait(pid_t pid, int timeout_ms)
{
    int status = 0;
    int64_t deadline = wz_mono_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        if (wz_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return status;
        }
        s_sleep_ms(5);
    }
}

int wz_proc_wait_started(pid_t pid, const char *log_path, size_t skip, int timeout_ms, bool *exited)
{
    *exited = false;
    int64_t deadline = wz_mono_ms() + timeout_ms;
    for (;;) {
        size_t len = 0;
        char *log = wz_read_file(log_path, &len);
        bool started = log && len > skip && strstr(log + skip, "\"msg\":\"started\"");
        free(log);
        if (started)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            *exited = true;
            return -1;
        }
        if (wz_mono_ms() >= deadline)
            return -1;
        s_sleep_ms(10);
    }
}

/* One PING as the default user; true when it was answered. */
static bool s_redis_pings(int port, const char *password)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c && !c->err) {
        redisReply *a = password ? redisCommand(c, "AUTH %s", password) : NULL;
        if (a)
            freeReplyObject(a);
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

int wz_proc_redis_ready(int port, const char *password, int timeout_ms)
{
    int64_t deadline = wz_mono_ms() + timeout_ms;
    while (!s_redis_pings(port, password)) {
        if (wz_mono_ms() >= deadline)
            return -1;
        s_sleep_ms(20);
    }
    return 0;
}

static int s_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int wz_proc_rmtree(const char *dir)
{
    return nftw(dir, s_remove, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
