/* wz_calendar.h - calendar arithmetic for deadlines and windows: day numbers,
 * months, and working days that skip weekends and configured holidays.
 * Everything is UTC, in whole days since 1970-01-01 ("day numbers"). */
#ifndef WZ_CALENDAR_H_INCLUDED
#define WZ_CALENDAR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WZ_MS_PER_DAY 86400000LL

/* Day number of a civil date (proleptic Gregorian; month 1..12). */
int64_t wz_day_from_civil(int year, int month, int day);
/* The civil date of a day number. */
void wz_civil_from_day(int64_t dn, int *year, int *month, int *day);
/* Day number of unix milliseconds (rounds down, also before 1970). */
int64_t wz_day_of_ms(int64_t unix_ms);
/* 0 = Sunday .. 6 = Saturday. */
int wz_weekday(int64_t dn);
/* The same day `months` months later (negative: earlier), clamped to the
 * last day of a shorter month (31 Jan + 1 month = 28/29 Feb). */
int64_t wz_add_months(int64_t dn, int months);
/* True when dn is a Saturday, a Sunday or one of holidays[0..n-1] (sorted). */
bool wz_is_non_working(int64_t dn, const int64_t *holidays, size_t n);
/* The day `days` working days after dn (dn itself never counts); days <= 0
 * returns dn. holidays sorted ascending. */
int64_t wz_add_working_days(int64_t dn, int days, const int64_t *holidays, size_t n);
/* Unix ms of the last second (23:59:59) of day dn. */
int64_t wz_day_end_ms(int64_t dn);

#endif
