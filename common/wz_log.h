/* wz_log.h - one JSON object per line on a stream (stderr in services).
 * A logger is owned by main and lent (borrowed pointer) to every module. */
#ifndef WZ_LOG_H_INCLUDED
#define WZ_LOG_H_INCLUDED

#include <stdio.h>

typedef enum { WZ_LOG_DEBUG = 0, WZ_LOG_INFO, WZ_LOG_WARN, WZ_LOG_ERROR } wz_log_level_t;

typedef struct wz_log_t wz_log_t;

/* Creates a logger writing to out (borrowed; NULL means stderr). NULL on OOM. */
wz_log_t *wz_log_new(const char *service, wz_log_level_t level, FILE *out);
/* Destroys the logger; accepts NULL and nulls the pointer. */
void wz_log_destroy(wz_log_t **self_p);
/* Parses "debug", "info", "warn", "error"; returns 0, or -1 for anything else. */
int wz_log_level_parse(const char *text, wz_log_level_t *out);
/* Writes {"ts":...,"level":...,"service":...,"msg":msg, key: value, ...}.
 * The variadic part is const char * key/value pairs, terminated by NULL.
 * Values are JSON-escaped strings (a NULL value is written as null and also
 * ends the list); a NULL self logs nothing. */
void wz_log(wz_log_t *self, wz_log_level_t level, const char *msg, ...)
    __attribute__((sentinel));
/* Adds "key": value (copied, cut at 127 bytes) to every line that the
 * calling thread logs from now on, unless the line names key itself: the
 * id of the event or request in hand ("event_id", "request_id"), so that
 * every line about it can be found. One context at a time; a NULL key or
 * value clears it. Lines of other threads (the ZAP handler) never get it. */
void wz_log_context(wz_log_t *self, const char *key, const char *value);

#endif
