/*
 * Live progress of a run (a run-events observer, controller/events.h): what
 * a long phase is doing — each sampled probe's success ratio and p95 so far,
 * the time left in each live fault, a pause's countdown. On a terminal it is
 * part of the output's one live line (fl_out_set_status); elsewhere a plain
 * line every 10 s while something long is going on, so that a CI log shows
 * the run is alive without a flood.
 */
#ifndef FL_CONTROLLER_PROGRESS_H
#define FL_CONTROLLER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/events.h"

struct fl_out;
struct fl_progress;

struct fl_progress_opts {
	struct fl_out *out;	 /* where lines go (its live line on a TTY) */
	bool tty;		 /* out is a terminal with a live line */
	uint64_t plain_every_ms; /* off a TTY: a plain line this often; 0: 10 s */
};

/* NULL without memory (then there is no live progress). */
struct fl_progress *fl_progress_new(const struct fl_progress_opts *o);
/* The observer (arg: the progress). */
void fl_progress_event(void *arg, const struct fl_event *ev);
/* Detach from the output and free; NULL is fine. */
void fl_progress_free(struct fl_progress *p);

#endif
