/* wz_util.h - small helpers every module needs: time, dates, ids, strings. */
#ifndef WZ_UTIL_H_INCLUDED
#define WZ_UTIL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_proto.h"

/* Wall clock, unix milliseconds (UTC). */
int64_t wz_now_ms(void);
/* Monotonic clock in milliseconds, for timers and timeouts. */
int64_t wz_mono_ms(void);
/* Monotonic clock in microseconds, for measuring short durations. */
int64_t wz_mono_us(void);
/* Today's date (UTC) into d. */
void wz_date_today(WzDate *d);
/* True if d is a real calendar date (1900..2199). */
bool wz_date_valid(const WzDate *d);
/* -1, 0, 1 like strcmp; unset dates sort last. */
int wz_date_cmp(const WzDate *a, const WzDate *b);
/* "YYYY-MM-DD" <-> date; parse returns 0 or -1. format needs 11 bytes. */
int wz_date_parse(const char *text, WzDate *d);
void wz_date_format(const WzDate *d, char out[11]);
/* ISO 8601 UTC time of unix ms, "2026-11-23T01:02:03.456Z"; out needs 25 bytes. */
void wz_time_format(int64_t unix_ms, char out[25]);
/* A random request id: 32 lowercase hex characters; out needs 33 bytes. */
void wz_random_id(char out[33]);
/* True if s is a usable id: 1..max bytes of [A-Za-z0-9._-], not starting with
 * '.' or '-'. Ids end up in Redis keys and log lines, so nothing else passes. */
bool wz_id_valid(const char *s, size_t max);
/* Copies src into dst of size n, always terminated; returns -1 if truncated. */
int wz_strlcpy(char *dst, const char *src, size_t n);
/* An array items of *cap elements of elem bytes with room for at least need:
 * items itself when it has, else reallocated to double (at least 8). Returns
 * the array, or NULL when out of memory (items is then still valid and *cap
 * unchanged). */
void *wz_grow(void *items, size_t *cap, size_t need, size_t elem);
/* The whole file at path, NUL-terminated, its length (without the NUL) in
 * *len when len is not NULL; the caller frees it. NULL when it cannot be
 * read (errno says why). Reads to the end, so /proc files work too. */
char *wz_read_file(const char *path, size_t *len);
/* mkdir -p: dir and its missing parents, each made with mode 0700. 0, or -1
 * with "<what> <dir>: why" in err (errno set). */
int wz_mkdirs(const char *dir, const char *what, char *err, size_t errlen);

#endif
