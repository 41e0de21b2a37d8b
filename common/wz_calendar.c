/* wz_calendar.c - see wz_calendar.h. The civil conversions are the well-known
 * era-based algorithm (400-year cycles), exact for every representable year. */
#include "wz_calendar.h"

#include <stdlib.h>

int64_t wz_day_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void wz_civil_from_day(int64_t dn, int *year, int *month, int *day)
{
    int64_t z = dn + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

int64_t wz_day_of_ms(int64_t unix_ms)
{
    int64_t dn = unix_ms / WZ_MS_PER_DAY;
    if (unix_ms % WZ_MS_PER_DAY < 0)
        dn--;
    return dn;
}

int wz_weekday(int64_t dn)
{
    return (int)(((dn + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

static int s_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int64_t wz_add_months(int64_t dn, int months)
{
    int y, m, d;
    wz_civil_from_day(dn, &y, &m, &d);
    int64_t total = (int64_t)y * 12 + (m - 1) + months;
    int64_t ny = total >= 0 ? total / 12 : (total - 11) / 12;
    int nm = (int)(total - ny * 12) + 1;
    int last = s_days_in_month((int)ny, nm);
    return wz_day_from_civil((int)ny, nm, d > last ? last : d);
}

static int s_cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

bool wz_is_non_working(int64_t dn, const int64_t *holidays, size_t n)
{
    int wd = wz_weekday(dn);
    if (wd == 0 || wd == 6)
        return true;
    return n > 0 && bsearch(&dn, holidays, n, sizeof *holidays, s_cmp_day) != NULL;
}

int64_t wz_add_working_days(int64_t dn, int days, const int64_t *holidays, size_t n)
{
    for (int left = days; left > 0;) {
        dn++;
        if (!wz_is_non_working(dn, holidays, n))
            left--;
    }
    return dn;
}

int64_t wz_day_end_ms(int64_t dn)
{
    return dn * WZ_MS_PER_DAY + WZ_MS_PER_DAY - 1000;
}
