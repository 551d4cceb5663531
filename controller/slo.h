/*
 * Steady state under fire: sample windows (controller/slo_window.h), the
 * probe providers `load`, `prometheus`, `tcp` and
 * `running` (controller/probe_*.c), and the monitor that samples
 * "during"/"on-fault" hypothesis probes and "abort" probes through the
 * method (controller/slo.c). The runner calls in at four points: run a probe
 * provider, a fault was applied, the method starts, the method ended.
 */
#ifndef FL_CONTROLLER_SLO_H
#define FL_CONTROLLER_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "controller/provider.h"
#include "controller/slo_window.h"
#include "core/compiler.h"
#include "core/error.h"
#include "experiments/experiment.h"

#define FL_LOAD_DEFAULT_TIMEOUT_MS 5000
#define FL_PROM_DEFAULT_TIMEOUT_MS 10000
#define FL_TCP_DEFAULT_TIMEOUT_MS  2000
/* A sample in flight when its window closes, without a timeout of its own, gets this long. */
#define FL_SLO_LATE_MAX_MS 30000

/*
 * The window over time, for the report's charts: {"bucket": seconds,
 * "tolerance": {"success_ratio", "latency_ms": {"p95"...}} | {"every_sample": true},
 * "buckets": [{"t", "samples", "succeeded", "failed", "success_ratio", "latency_ms",
 * "ok"}...]},
 * samples grouped by when they started ("t": seconds from the window's
 * origin), each bucket judged alone by the tolerance (min_samples aside;
 * "ok" absent in a bucket without samples). span_ms: how long the window
 * was open; interval_ms: the probe's interval (0 for load). NULL without memory.
 */
cJSON *fl_slo_window_series(const struct fl_slo_window *w, uint64_t span_ms, uint64_t interval_ms,
			    const struct fl_tolerance *tol, enum fl_provider_type ptype);

/*
 * Run one of the probe providers (load once for its duration, prometheus,
 * tcp, running). Same contract as fl_provider_http_run: 0 with *result, or
 * -errno (-ECANCELED, -ETIMEDOUT, -EIO...) with err set.
 */
int fl_probe_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
		 struct fl_error *err) FL_WUR;
/* Is this one of the probe providers above? */
bool fl_probe_is_slo_provider(enum fl_provider_type t);

/*
 * Drive a `load` provider: requests at p->rate per second (libcurl multi,
 * at most p->concurrency in flight) until stop_fd is readable, duration_ms
 * passes (0: no limit), the cancel fd fires (-ECANCELED) or the deadline
 * (-ETIMEDOUT). Every finished request is a sample in w; `each`, when given,
 * is called after each sample (abort probes judge there; returning true stops).
 */
int fl_probe_load_drive(const struct fl_provider *p, const struct fl_call_opts *o, int stop_fd,
			uint64_t duration_ms, struct fl_slo_window *w,
			bool (*each)(void *arg, const struct fl_slo_window *w), void *arg,
			struct fl_error *err) FL_WUR;

int fl_probe_prometheus_run(const struct fl_provider *p, const struct fl_call_opts *o,
			    cJSON **result, struct fl_error *err) FL_WUR;
/* The value in an http provider result holding a /api/v1/query answer (url: for errors). */
int fl_probe_prometheus_answer(const cJSON *resp, const char *url, cJSON **result,
			       struct fl_error *err) FL_WUR;
int fl_probe_tcp_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
		     struct fl_error *err) FL_WUR;
int fl_probe_running_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
			 struct fl_error *err) FL_WUR;

/* One line for --dry: "load GET http://... at 50/s". */
void fl_probe_describe(const struct fl_provider *p, FILE *f);
/* For --dry: " [during, every 200ms]" when a probe is not run before and after. */
void fl_slo_plan_mode(FILE *f, const struct fl_activity *a);

/* ---- the monitor ------------------------------------------------------------------- */

struct fl_slo_monitor;

struct fl_events;

struct fl_slo_monitor_opts {
	int cancel_fd;			/* the run's interrupt fd (forwarded to the method fd) */
	const struct fl_events *events; /* every sample goes to these observers, or NULL */
	uint64_t deadline_ms;		/* the experiment's deadline, 0: none */
	/* Called once, from a sampling thread, when an abort probe fails: revert faults now. */
	void (*on_abort)(void *arg, const char *why);
	void *arg;
};

/* Start sampling (threads) for every during/on-fault hypothesis probe and abort probe. */
int fl_slo_monitor_start(const struct fl_experiment *e, const struct fl_slo_monitor_opts *o,
			 struct fl_slo_monitor **out, struct fl_error *err) FL_WUR;
/* Readable when the method must stop: an abort condition was met or the run was interrupted. */
int fl_slo_monitor_method_fd(const struct fl_slo_monitor *m);
/*
 * A fault was applied that lives `duration_ms` from `sent_ms` (CLOCK_MONOTONIC
 * ms the apply request was made: its lease cannot end before sent_ms +
 * duration_ms, and may end any time after): on-fault probes sample until then.
 */
void fl_slo_monitor_fault_live(struct fl_slo_monitor *m, uint64_t sent_ms, uint64_t duration_ms);
/*
 * Stop sampling (the method ended) and judge the windows: returns the
 * journal's "during" records; *met false when a during/on-fault probe is out
 * of tolerance (why says which and how); *aborted true (with why) when an abort
 * condition stopped the run.
 */
cJSON *fl_slo_monitor_finish(struct fl_slo_monitor *m, bool *met, bool *aborted, char *why,
			     size_t whylen);
void fl_slo_monitor_free(struct fl_slo_monitor *m);

#endif
