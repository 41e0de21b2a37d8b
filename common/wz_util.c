/* wz_util.c - clocks, calendar dates, random ids and string helpers. */
#include "wz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MS_PER_DAY 86400000LL

int64_t wz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wz_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t wz_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wz_date_today(WzDate *d)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    d->year = tm.tm_year + 1900;
    d->month = tm.tm_mon + 1;
    d->day = tm.tm_mday;
}

static bool s_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int s_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && s_leap(year))
        return 29;
    return days[month - 1];
}

bool wz_date_valid(const WzDate *d)
{
    if (!d || d->year < 1900 || d->year > 2199 || d->month < 1 || d->month > 12)
        return false;
    return d->day >= 1 && d->day <= s_days_in_month(d->year, d->month);
}

static bool s_date_unset(const WzDate *d)
{
    return !d || (d->year == 0 && d->month == 0 && d->day == 0);
}

int wz_date_cmp(const WzDate *a, const WzDate *b)
{
    bool ua = s_date_unset(a), ub = s_date_unset(b);
    if (ua || ub)
        return ua == ub ? 0 : (ua ? 1 : -1);
    int32_t ka[3] = {a->year, a->month, a->day};
    int32_t kb[3] = {b->year, b->month, b->day};
    for (int i = 0; i < 3; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i] ? -1 : 1;
    return 0;
}

/* Reads exactly n decimal digits. */
static int s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int wz_date_parse(const char *text, WzDate *d)
{
    int y, m, day;
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    if (s_digits(text, 4, &y) || s_digits(text + 5, 2, &m) || s_digits(text + 8, 2, &day))
        return -1;
    WzDate probe = *d;
    probe.year = y;
    probe.month = m;
    probe.day = day;
    if (!wz_date_valid(&probe))
        return -1;
    d->year = y;
    d->month = m;
    d->day = day;
    return 0;
}

/* Clamps so the fixed-width formats below can never overflow. */
static int s_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void wz_date_format(const WzDate *d, char out[11])
{
    snprintf(out, 11, "%04d-%02d-%02d", s_clamp(d->year, 0, 9999), s_clamp(d->month, 0, 99),
             s_clamp(d->day, 0, 99));
}

void wz_time_format(int64_t unix_ms, char out[25])
{
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    if (ms < 0) { /* floor division, so times before 1970 stay correct */
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 25, "0000-00-00T00:00:00.000Z");
        return;
    }
    snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", s_clamp(tm.tm_year + 1900, 0, 9999),
             s_clamp(tm.tm_mon + 1, 1, 12), s_clamp(tm.tm_mday, 1, 31), s_clamp(tm.tm_hour, 0, 23),
             s_clamp(tm.tm_min, 0, 59), s_clamp(tm.tm_sec, 0, 60), (int)ms);
}

/* Fills buf from the kernel; getrandom first, /dev/urandom if the syscall is
 * missing (old kernels, seccomp). Returns 0 or -1. */
static int s_random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (got == len)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close(fd);
    return got == len ? 0 : -1;
}

void wz_random_id(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[16];
    if (s_random_bytes(bytes, sizeof bytes) != 0) {
        /* Ids that might repeat would silently merge requests: better stop. */
        fprintf(stderr, "wz_random_id: no randomness available from the kernel\n");
        abort();
    }
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 0x0f];
    }
    out[32] = '\0';
}

bool wz_id_valid(const char *s, size_t max)
{
    if (!s || !*s || *s == '.' || *s == '-')
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n + 1 > max)
            return false;
    }
    return true;
}

int wz_strlcpy(char *dst, const char *src, size_t n)
{
    if (n == 0)
        return -1;
    size_t len = strlen(src);
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

void *wz_grow(void *items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return items;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : 2 * n;
    if (elem && n > SIZE_MAX / elem)
        return NULL;
    void *grown = realloc(items, n * elem);
    if (grown)
        *cap = n;
    return grown;
}

char *wz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        char *grown = wz_grow(buf, &cap, used + 4096 + 1, 1);
        if (!grown) {
            free(buf);
            fclose(f);
            errno = ENOMEM;
            return NULL;
        }
        buf = grown;
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (n == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

int wz_mkdirs(const char *dir, const char *what, char *err, size_t errlen)
{
    char path[1024];
    if (wz_strlcpy(path, dir, sizeof path) != 0) {
        snprintf(err, errlen, "%s %s: path too long", what, dir);
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                int e = errno;
                snprintf(err, errlen, "cannot create %s %s: %s", what, path, strerror(e));
                errno = e;
                return -1;
            }
            *p = saved;
        }
        if (end)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s %s is not a directory", what, dir);
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
