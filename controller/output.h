/*
 * What a person sees on the terminal during `faultline run`: phase headers,
 * one line per finished activity, a live progress line on a TTY (redrawn by a
 * ticker thread while activities run) and the verdict. Colour only on a TTY,
 * never with NO_COLOR set or --no-color. Thread-safe: background activities
 * report from their own threads.
 */
#ifndef FL_CONTROLLER_OUTPUT_H
#define FL_CONTROLLER_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "experiments/experiment.h"

struct fl_out;

struct fl_out_opts {
	FILE *f;    /* where to write (stdout) */
	bool tty;   /* live progress line (f is a terminal) */
	bool color; /* ANSI colours */
	bool quiet; /* only the verdict */
};

/* Create; NULL on allocation failure (callers then print nothing). */
struct fl_out *fl_out_new(const struct fl_out_opts *o);
void fl_out_free(struct fl_out *out);

/* "Steady state before: <title>", "Method", "Rollbacks (strategy always)". */
void fl_out_phase(struct fl_out *out, const char *fmt, ...) FL_PRINTF(2, 3);
/* An activity started (shown on the live line only). */
void fl_out_activity_start(struct fl_out *out, const struct fl_activity *a);
/* An activity ended: one line from its journal record. */
void fl_out_activity_end(struct fl_out *out, const struct fl_activity *a, const cJSON *run);
/* A free-form note, indented. */
void fl_out_note(struct fl_out *out, const char *fmt, ...) FL_PRINTF(2, 3);
/* A warning the user must see: like a note, but printed with --quiet too. */
void fl_out_warn(struct fl_out *out, const char *fmt, ...) FL_PRINTF(2, 3);
/* The final verdict from the journal, with where the reports went. */
void fl_out_verdict(struct fl_out *out, const cJSON *journal, const char *journal_path,
		    const char *junit_path);
/* Called after each activity's line of a dry-run plan (fault activities: what the agents say). */
typedef void (*fl_out_plan_cb)(FILE *f, const struct fl_activity *a, void *opaque);
/* Print the plan of a dry run: every activity in order, nothing is run; cb may be NULL. */
void fl_out_plan(FILE *f, const struct fl_experiment *e, enum fl_rollback_strategy rs,
		 fl_out_plan_cb cb, void *opaque);

/*
 * More for the live line (controller/progress.c: a sampled probe's success
 * ratio and p95, the time left in a fault or a pause): fn writes at most len
 * bytes of one line into buf, best within cols characters, or "" for
 * nothing. Called by the ticker, under the output's lock: fn must not call
 * back into fl_out. On a TTY only.
 */
typedef void (*fl_out_status_fn)(void *arg, char *buf, size_t len, size_t cols);
void fl_out_set_status(struct fl_out *out, fl_out_status_fn fn, void *arg);

/* Colour decision for a stream: isatty, NO_COLOR unset/empty, TERM not "dumb". */
bool fl_out_want_color(FILE *f);

/* Write s with its control characters shown as \\xNN (text from the experiment). */
void fl_out_fputs_safe(FILE *f, const char *s);

#endif
