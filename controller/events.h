/*
 * Run events: what the runner tells its observers while a run goes on
 * (phases, activities, pauses, faults applied and reverted, every sample of a
 * sampled probe, the verdict). The live progress line (progress.c), Grafana
 * annotations (grafana.c) and the Prometheus endpoint (metrics.c) are
 * observers; the runner and the sampler make one-line calls.
 *
 * Observers are called synchronously, in the thread that emits (the runner,
 * a background activity's thread, a probe's sampling thread): they must be
 * quick, thread-safe and must not block on the network. Every pointer in an
 * event is borrowed for the call only. An emitter with no observers (NULL)
 * costs one branch.
 */
#ifndef FL_CONTROLLER_EVENTS_H
#define FL_CONTROLLER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "experiments/experiment.h"

enum fl_event_type {
	FL_EVENT_RUN_START,	  /* text: the experiment's title; run_id */
	FL_EVENT_PHASE,		  /* text: "before", "method", "after", "rollbacks" */
	FL_EVENT_ACTIVITY_START,  /* a */
	FL_EVENT_ACTIVITY_END,	  /* a, json: its journal record */
	FL_EVENT_PAUSE,		  /* a, ms: a pause before (text "before") or after it starts */
	FL_EVENT_PAUSE_END,	  /* a: the pause ended (or was cut short) */
	FL_EVENT_FAULT_APPLIED,	  /* a, ms: its duration (0: until reverted), json: apply output */
	FL_EVENT_FAULTS_REVERTED, /* text: why (every live fault of the run was reverted) */
	FL_EVENT_PROBE_SAMPLE,	  /* a: the sampled probe, text: its mode, ok, latency_us */
	FL_EVENT_VERDICT,	  /* json: the journal */
	FL_EVENT__MAX
};

struct fl_event {
	enum fl_event_type type;
	uint64_t wall_ms; /* when, on the wall clock (ms since the epoch) */
	uint64_t mono_ms; /* when, on CLOCK_MONOTONIC */
	const struct fl_activity *a;
	const cJSON *json;
	const char *text;
	const char *run_id;
	uint64_t ms;
	bool ok;
	uint64_t latency_us;
};

typedef void (*fl_event_fn)(void *arg, const struct fl_event *ev);

#define FL_EVENTS_MAX 8

/* The observers of one run. */
struct fl_events {
	struct {
		fl_event_fn fn;
		void *arg;
	} v[FL_EVENTS_MAX];
	size_t n;
};

void fl_events_init(struct fl_events *ev);
/* Add an observer; -ENOSPC past FL_EVENTS_MAX. */
int fl_events_add(struct fl_events *ev, fl_event_fn fn, void *arg) FL_WUR;
/* Stamp e with the time (when its wall_ms is 0) and hand it to every observer. */
void fl_events_emit(const struct fl_events *ev, struct fl_event *e);

/* The one-line calls of the runner and the sampler (ev may be NULL). */
void fl_events_run_start(const struct fl_events *ev, const char *title, const char *run_id);
void fl_events_phase(const struct fl_events *ev, const char *phase);
void fl_events_activity_start(const struct fl_events *ev, const struct fl_activity *a);
void fl_events_activity_end(const struct fl_events *ev, const struct fl_activity *a,
			    const cJSON *rec);
void fl_events_pause(const struct fl_events *ev, const struct fl_activity *a, uint64_t ms,
		     bool before);
void fl_events_pause_end(const struct fl_events *ev, const struct fl_activity *a);
void fl_events_fault_applied(const struct fl_events *ev, const struct fl_activity *a,
			     const cJSON *output);
void fl_events_faults_reverted(const struct fl_events *ev, const char *why);
void fl_events_probe_sample(const struct fl_events *ev, const struct fl_activity *a,
			    const char *mode, bool ok, uint64_t latency_us);
void fl_events_verdict(const struct fl_events *ev, const cJSON *journal);

/* "before", "method"... for enum-indexed tables in observers; -1 when unknown. */
int fl_events_phase_index(const char *phase);
#define FL_EVENTS_PHASES 4

#endif
