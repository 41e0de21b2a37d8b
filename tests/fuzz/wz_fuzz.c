/* wz_fuzz.c - files and the test policy for the fuzz targets. */
#include "wz_fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wz_util.h"

#define ANSWER_MARK "@ANSWER_SECONDS@"
#define ANSWER_SECONDS "30"

void wz_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("fuzz: invariant broken: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

int wz_fuzz_temp_file(char *out, size_t outlen, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int n = snprintf(out, outlen, "%s/wz-%s-XXXXXX", dir, tag);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(out);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int wz_fuzz_write_file(const char *path, const void *data, size_t len)
{
    /* Overwrite, then cut to size: ext4 flushes a file to disk on close after
     * an O_TRUNC, which would make disk writes the fuzzer's bottleneck. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (ftruncate(fd, (off_t)len) != 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* Copies text with every ANSWER_MARK replaced; malloc'd, NULL on failure. */
static char *s_fill_placeholder(const char *text)
{
    size_t marks = 0, mark_len = strlen(ANSWER_MARK), value_len = strlen(ANSWER_SECONDS);
    for (const char *p = strstr(text, ANSWER_MARK); p; p = strstr(p + mark_len, ANSWER_MARK))
        marks++;
    char *out = malloc(strlen(text) + marks * value_len + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const char *p = text;;) {
        const char *hit = strstr(p, ANSWER_MARK);
        size_t keep = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(w, p, keep);
        w += keep;
        if (!hit)
            break;
        memcpy(w, ANSWER_SECONDS, value_len);
        w += value_len;
        p = hit + mark_len;
    }
    *w = '\0';
    return out;
}

wz_policy_t *wz_fuzz_test_policy(void)
{
    char path[512], err[512] = "";
    char *tmpl = wz_read_file(WZ_FUZZ_POLICY_TEMPLATE, NULL);
    if (!tmpl)
        wz_fuzz_fail("cannot read %s: %s", WZ_FUZZ_POLICY_TEMPLATE, strerror(errno));
    char *text = s_fill_placeholder(tmpl);
    free(tmpl);
    if (!text)
        wz_fuzz_fail("out of memory filling in the test policy");
    if (wz_fuzz_temp_file(path, sizeof path, "policy") != 0 ||
        wz_fuzz_write_file(path, text, strlen(text)) != 0)
        wz_fuzz_fail("cannot write a temporary policy file: %s", strerror(errno));
    free(text);
    wz_policy_t *policy = wz_policy_load(path, NULL, false, err, sizeof err);
    unlink(path);
    if (!policy)
        wz_fuzz_fail("the test policy does not load: %s", err);
    return policy;
}
