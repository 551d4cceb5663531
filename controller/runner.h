/*
 * The runner: steady-state hypothesis before -> method -> hypothesis after ->
 * fault revert -> rollbacks, with Chaos Toolkit's semantics, recorded in a
 * journal shaped like Chaos Toolkit's (cJSON, see docs/cli.md).
 */
#ifndef FL_CONTROLLER_RUNNER_H
#define FL_CONTROLLER_RUNNER_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "experiments/experiment.h"

struct fl_out;
struct fl_events;

/* The chaoslib release whose journal "status"/"deviated" rules the runner follows. */
#define FL_CHAOSLIB_VERSION "1.45.0"

/* Exit codes of `faultline`. */
enum fl_exit {
	FL_EXIT_HELD = 0,	 /* completed, hypothesis held (or none to check) */
	FL_EXIT_FAILED = 1,	 /* deviated, failed or aborted */
	FL_EXIT_USAGE = 2,	 /* invalid input or usage */
	FL_EXIT_INTERRUPTED = 3, /* SIGINT/SIGTERM: rollbacks ran, then stopped */
	FL_EXIT_NO_EFFECT = 4,	 /* --require-effect: held, but a fault had no effect */
};

struct fl_run_opts {
	enum fl_rollback_strategy rollback_strategy;
	enum fl_hypothesis_strategy hypothesis_strategy; /* Chaos Toolkit's; default before+after */
	int cancel_fd;		    /* readable: stop the run (first SIGINT/SIGTERM); -1: none */
	int cancel_rollbacks_fd;    /* readable: stop the rollbacks too (second signal); -1: none */
	const char *run_id;	    /* sent to agents as the experiment id */
	const char *inventory_path; /* --agents FILE for fault activities, or NULL */
	struct fl_out *out;	    /* terminal output, or NULL for none */
	const struct fl_events *events; /* run events' observers (controller/events.h), or NULL */
	bool require_effect;		/* a fault measured without effect fails the run (exit 4) */
};

/*
 * Run a validated experiment. Always produces a journal (*journal, caller
 * owns) unless memory runs out; the outcome is in the journal's "status"
 * ("completed", "failed", "aborted", "interrupted") and "deviated".
 */
int fl_runner_run(const struct fl_experiment *e, const struct fl_run_opts *o, cJSON **journal,
		  struct fl_error *err) FL_WUR;

/* The process exit code a journal stands for (enum fl_exit). */
int fl_runner_exit_code(const cJSON *journal);

/* Find the value at a JSON path like `$.method[2]` or `$["a-b"].c`; NULL if absent. */
const cJSON *fl_runner_path_get(const cJSON *root, const char *path);

#endif
