/*
 * Run events (controller/events.h): a fixed table of observers, called in
 * order from the emitting thread.
 */
#include "controller/events.h"

#include <errno.h>
#include <string.h>

#include "core/duration.h"

void fl_events_init(struct fl_events *ev)
{
	memset(ev, 0, sizeof(*ev));
}

int fl_events_add(struct fl_events *ev, fl_event_fn fn, void *arg)
{
	if (ev->n >= FL_EVENTS_MAX)
		return -ENOSPC;
	ev->v[ev->n].fn = fn;
	ev->v[ev->n].arg = arg;
	ev->n++;
	return 0;
}

void fl_events_emit(const struct fl_events *ev, struct fl_event *e)
{
	if (!ev || !ev->n)
		return;
	if (!e->wall_ms) {
		e->wall_ms = fl_now_wall_ms();
		e->mono_ms = fl_now_mono_ms();
	}
	for (size_t i = 0; i < ev->n; i++)
		ev->v[i].fn(ev->v[i].arg, e);
}

void fl_events_run_start(const struct fl_events *ev, const char *title, const char *run_id)
{
	struct fl_event e = {.type = FL_EVENT_RUN_START, .text = title, .run_id = run_id};

	fl_events_emit(ev, &e);
}

void fl_events_phase(const struct fl_events *ev, const char *phase)
{
	struct fl_event e = {.type = FL_EVENT_PHASE, .text = phase};

	fl_events_emit(ev, &e);
}

void fl_events_activity_start(const struct fl_events *ev, const struct fl_activity *a)
{
	struct fl_event e = {.type = FL_EVENT_ACTIVITY_START, .a = a};

	fl_events_emit(ev, &e);
}

void fl_events_activity_end(const struct fl_events *ev, const struct fl_activity *a,
			    const cJSON *rec)
{
	struct fl_event e = {.type = FL_EVENT_ACTIVITY_END, .a = a, .json = rec};

	fl_events_emit(ev, &e);
}

void fl_events_pause(const struct fl_events *ev, const struct fl_activity *a, uint64_t ms,
		     bool before)
{
	struct fl_event e = {
	    .type = FL_EVENT_PAUSE, .a = a, .ms = ms, .text = before ? "before" : "after"};

	fl_events_emit(ev, &e);
}

void fl_events_pause_end(const struct fl_events *ev, const struct fl_activity *a)
{
	struct fl_event e = {.type = FL_EVENT_PAUSE_END, .a = a};

	fl_events_emit(ev, &e);
}

void fl_events_fault_applied(const struct fl_events *ev, const struct fl_activity *a,
			     const cJSON *output)
{
	struct fl_event e = {.type = FL_EVENT_FAULT_APPLIED,
			     .a = a,
			     .json = output,
			     .ms = a ? a->provider.duration_ms : 0};

	fl_events_emit(ev, &e);
}

void fl_events_faults_reverted(const struct fl_events *ev, const char *why)
{
	struct fl_event e = {.type = FL_EVENT_FAULTS_REVERTED, .text = why};

	fl_events_emit(ev, &e);
}

void fl_events_probe_sample(const struct fl_events *ev, const struct fl_activity *a,
			    const char *mode, bool ok, uint64_t latency_us)
{
	struct fl_event e = {.type = FL_EVENT_PROBE_SAMPLE,
			     .a = a,
			     .text = mode,
			     .ok = ok,
			     .latency_us = latency_us};

	fl_events_emit(ev, &e);
}

void fl_events_verdict(const struct fl_events *ev, const cJSON *journal)
{
	struct fl_event e = {.type = FL_EVENT_VERDICT, .json = journal};

	fl_events_emit(ev, &e);
}

int fl_events_phase_index(const char *phase)
{
	static const char *const names[FL_EVENTS_PHASES] = {"before", "method", "after",
							    "rollbacks"};

	for (int i = 0; phase && i < FL_EVENTS_PHASES; i++)
		if (strcmp(phase, names[i]) == 0)
			return i;
	return -1;
}
