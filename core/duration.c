#include "core/duration.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int fl_duration_parse_us(const char *s, uint64_t default_unit_us, uint64_t *out_us)
{
	uint64_t whole = 0, frac = 0, frac_div = 1, unit = default_unit_us, v;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > UINT64_MAX / 10 - 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_div >= 1000000000ULL)
				continue; /* ignore digits beyond 1e-9 */
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_div *= 10;
		}
	}
	if (!strcmp(p, "us"))
		unit = 1;
	else if (!strcmp(p, "ms"))
		unit = 1000;
	else if (!strcmp(p, "s"))
		unit = 1000000;
	else if (!strcmp(p, "m"))
		unit = 60000000ULL;
	else if (!strcmp(p, "h"))
		unit = 3600000000ULL;
	else if (*p)
		return -EINVAL;
	if (unit == 0)
		return -EINVAL;
	if (whole > FL_DURATION_MAX_MS * 1000 / unit)
		return -ERANGE;
	v = whole * unit + frac * unit / frac_div;
	if (v > FL_DURATION_MAX_MS * 1000)
		return -ERANGE;
	*out_us = v;
	return 0;
}

int fl_duration_parse_ms(const char *s, uint64_t default_unit_us, uint64_t *out_ms)
{
	uint64_t us;
	int r = fl_duration_parse_us(s, default_unit_us, &us);

	if (r < 0)
		return r;
	*out_ms = us / 1000;
	return 0;
}

int fl_seconds_to_ms(double s, uint64_t *out_ms)
{
	if (!isfinite(s) || s < 0)
		return -EINVAL;
	if (s * 1000.0 > (double)FL_DURATION_MAX_MS)
		return -ERANGE;
	*out_ms = (uint64_t)llround(s * 1000.0);
	return 0;
}

const char *fl_duration_fmt(uint64_t us, char *buf, unsigned len)
{
	if (us % 3600000000ULL == 0 && us)
		snprintf(buf, len, "%lluh", (unsigned long long)(us / 3600000000ULL));
	else if (us % 60000000ULL == 0 && us)
		snprintf(buf, len, "%llum", (unsigned long long)(us / 60000000ULL));
	else if (us % 1000000ULL == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(us / 1000000ULL));
	else if (us >= 1000000ULL && us % 1000 == 0) {
		/* Exact ("232.011s", not %g's "232s"), trailing zeros dropped. */
		char frac[8];
		size_t n =
		    (size_t)snprintf(frac, sizeof(frac), "%03u", (unsigned)(us / 1000 % 1000));

		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		snprintf(buf, len, "%llu.%ss", (unsigned long long)(us / 1000000ULL), frac);
	} else if (us % 1000 == 0)
		snprintf(buf, len, "%llums", (unsigned long long)(us / 1000));
	else
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	return buf;
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t fl_now_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t fl_now_mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000;
}

uint64_t fl_now_wall_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000;
}

const char *fl_time_rfc3339(uint64_t wall_ms, char *buf, unsigned len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, (unsigned)(wall_ms % 1000));
	return buf;
}
