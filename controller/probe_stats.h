/*
 * Running statistics of a sampled probe for live views (the progress line,
 * the Prometheus endpoint): counts, a latency sum, and a log-linear latency
 * histogram (32 steps per power of two: quantiles within about 3%) that
 * costs a few KiB whatever the number of samples. Not thread-safe: the
 * owner locks.
 */
#ifndef FL_CONTROLLER_PROBE_STATS_H
#define FL_CONTROLLER_PROBE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define FL_PROBE_STATS_BUCKETS (64 + 26 * 32)

struct fl_probe_stats {
	uint64_t n, ok;
	double sum_s; /* latencies, seconds */
	uint32_t h[FL_PROBE_STATS_BUCKETS];
};

void fl_probe_stats_init(struct fl_probe_stats *s);
void fl_probe_stats_add(struct fl_probe_stats *s, bool ok, uint64_t latency_us);
/* The q-quantile (0 < q <= 1) of the latencies in milliseconds; NAN without samples. */
double fl_probe_stats_quantile_ms(const struct fl_probe_stats *s, double q);
/* How many latencies are at most us µs (for Prometheus' cumulative buckets; within a step). */
uint64_t fl_probe_stats_count_le(const struct fl_probe_stats *s, uint64_t us);

#endif
