/*
 * The `process` and `http` providers: run one activity's provider and return
 * its output as a cJSON value shaped like Chaos Toolkit's
 * (process: {"status","stdout","stderr"}, http: {"status","headers","body",
 * "elapsed_ms"}). Every call can be cut short by a cancel fd (readable means
 * "stop now": the run was interrupted) and by a deadline on CLOCK_MONOTONIC
 * (the experiment's timeout).
 */
#ifndef FL_CONTROLLER_PROVIDER_H
#define FL_CONTROLLER_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "experiments/experiment.h"

/* Default caps on what a provider keeps of its output (the rest is read and dropped). */
#define FL_PROVIDER_OUTPUT_MAX	(1024 * 1024) /* per stream / body */
#define FL_PROVIDER_HEADERS_MAX 256	      /* response headers kept */
/* HTTP timeout when the activity gives none (Chaos Toolkit has none; a hung probe helps nobody). */
#define FL_HTTP_DEFAULT_TIMEOUT_MS 30000
/* Grace between SIGTERM and SIGKILL when a process activity must be stopped. */
#define FL_PROCESS_KILL_GRACE_MS 1000

struct fl_call_opts {
	int cancel_fd;	      /* readable: stop at once (-ECANCELED); -1: none */
	uint64_t deadline_ms; /* fl_now_mono_ms() deadline (-ETIMEDOUT); 0: none */
	size_t output_max;    /* cap per captured stream/body; 0: FL_PROVIDER_OUTPUT_MAX */
};

/*
 * Run a `process` provider. Returns 0 when the process ran to its end (any
 * exit status; a signal death is reported as status -SIGNUM, like Python's
 * subprocess), -ETIMEDOUT when its timeout or the deadline passed,
 * -ECANCELED when cancelled, other -errno when it could not start. On
 * timeout/cancel the whole process group of the child is stopped (SIGTERM,
 * then SIGKILL). *result is set whenever the process started, so partial
 * output is kept; err says what went wrong.
 */
int fl_provider_process_run(const struct fl_provider *p, const struct fl_call_opts *o,
			    cJSON **result, struct fl_error *err) FL_WUR;

/*
 * Run an `http` provider with libcurl. Returns 0 on a response whose status
 * is the expected one (or any status when none is expected), -EPROTO on an
 * unexpected status (*result is set), -ETIMEDOUT, -ECANCELED, or -EIO when no
 * response came (connection refused, TLS, ...).
 */
int fl_provider_http_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
			 struct fl_error *err) FL_WUR;

/* Make a cJSON string of arbitrary bytes: invalid UTF-8 and NULs become U+FFFD. */
cJSON *fl_provider_json_bytes(const char *p, size_t n);

#endif
