/* Sample windows: success ratio and latency percentiles of a probe over a window. */
#ifndef FL_CONTROLLER_SLO_WINDOW_H
#define FL_CONTROLLER_SLO_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FL_SLO_SAMPLES_MAX (4u * 1024 * 1024) /* per window; more are counted as dropped */

struct fl_slo_sample {
	uint32_t latency_us; /* capped at ~71 minutes */
	uint32_t start_ms;   /* when it started, from the window's origin (the report's timeline) */
	bool ok;
};

/* The samples of one probe over one window. */
struct fl_slo_window {
	struct fl_slo_sample *v;
	size_t n, cap;
	size_t dropped;	    /* past FL_SLO_SAMPLES_MAX */
	size_t in_flight;   /* samples (load: requests) cut by an abort, interrupt or the timeout */
	size_t late;	    /* samples that started in the window and ended after it closed */
	size_t not_sent;    /* load: requests due while `concurrency` were in flight (failed) */
	size_t after_fault; /* on-fault: successes that ended after every fault's lease could end */
	char last_err[160]; /* why the last failed sample failed */
	uint64_t origin_us; /* CLOCK_MONOTONIC µs the window opened (fl_slo_window_init) */
};

void fl_slo_window_init(struct fl_slo_window *w);
/* A sample that ended now and took latency_us. */
void fl_slo_window_add(struct fl_slo_window *w, bool ok, uint64_t latency_us);
/* A sample that started at start_us (CLOCK_MONOTONIC µs) and took latency_us. */
void fl_slo_window_add_at(struct fl_slo_window *w, bool ok, uint64_t latency_us, uint64_t start_us);
void fl_slo_window_done(struct fl_slo_window *w);
/* Nearest-rank percentile (0 < p <= 100) of sorted latencies, in microseconds. */
uint64_t fl_slo_percentile(const uint32_t *sorted, size_t n, double p);
/*
 * The window's summary: {"samples", "succeeded", "failed", "success_ratio",
 * "latency_ms": {"p50","p95","p99","max"}} (+ "dropped", "not_sent",
 * "in_flight_at_end", "finished_after_end", "succeeded_after_fault_ended",
 * "last_failure" when there are
 * any). NULL without memory.
 */
cJSON *fl_slo_window_summary(const struct fl_slo_window *w);

#endif
