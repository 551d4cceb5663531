/*
 * Running probe statistics (controller/probe_stats.h). Bucket i holds
 * latencies v (µs) with: v < 64: i = v; else, with e = floor(log2 v) >= 6,
 * i = 64 + (e - 6) * 32 + (the 5 bits of v after its leading one).
 */
#include "controller/probe_stats.h"

#include <math.h>
#include <string.h>

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v > UINT32_MAX)
		v = UINT32_MAX;
	if (v < 64)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return 64 + (e - 6) * 32 + (unsigned)((v >> (e - 5)) & 31);
}

/* The smallest and the largest latency (µs) bucket i holds. */
static void bucket_range(unsigned i, double *lo, double *hi)
{
	unsigned e, sub;

	if (i < 64) {
		*lo = *hi = i;
		return;
	}
	e = (i - 64) / 32 + 6;
	sub = (i - 64) % 32;
	*lo = ldexp(32 + sub, (int)e - 5);
	*hi = ldexp(32 + sub + 1, (int)e - 5) - 1;
}

void fl_probe_stats_init(struct fl_probe_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void fl_probe_stats_add(struct fl_probe_stats *s, bool ok, uint64_t latency_us)
{
	unsigned b = bucket_of(latency_us);

	s->n++;
	s->ok += ok;
	s->sum_s += (double)latency_us / 1e6;
	if (s->h[b] < UINT32_MAX)
		s->h[b]++;
}

double fl_probe_stats_quantile_ms(const struct fl_probe_stats *s, double q)
{
	uint64_t total = 0, rank, seen = 0;
	double lo, hi;

	for (unsigned i = 0; i < FL_PROBE_STATS_BUCKETS; i++)
		total += s->h[i];
	if (!total)
		return NAN;
	rank = (uint64_t)ceil(q * (double)total); /* nearest rank, as the journal's windows */
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < FL_PROBE_STATS_BUCKETS; i++) {
		seen += s->h[i];
		if (seen >= rank) {
			bucket_range(i, &lo, &hi);
			return (lo + hi) / 2 / 1000.0;
		}
	}
	return NAN;
}

uint64_t fl_probe_stats_count_le(const struct fl_probe_stats *s, uint64_t us)
{
	uint64_t c = 0;
	double lo, hi;

	for (unsigned i = 0; i < FL_PROBE_STATS_BUCKETS; i++) {
		bucket_range(i, &lo, &hi);
		if (hi > (double)us)
			break;
		c += s->h[i];
	}
	return c;
}
