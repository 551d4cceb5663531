/*
 * The observers of one `faultline run` (controller/events.h), set up from its
 * flags: the live progress (always, unless --quiet), Grafana annotations
 * (--grafana-url, --grafana-token-file) and the Prometheus endpoint
 * (--metrics-listen). None of them can change the run or its verdict: what
 * fails while the run goes on is a warning.
 */
#ifndef FL_CONTROLLER_RUN_WATCH_H
#define FL_CONTROLLER_RUN_WATCH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "controller/events.h"
#include "core/compiler.h"
#include "core/error.h"

struct fl_out;
struct fl_run_watch;

struct fl_run_watch_opts {
	struct fl_out *out; /* the run's terminal output (may be NULL) */
	bool tty;	    /* out has a live line */
	bool quiet;
	const char *grafana_url; /* NULL: no annotations */
	const char *grafana_token_file;
	const char *metrics_listen; /* NULL: no endpoint */
};

/*
 * Check the flags (a malformed URL or address, a token file that cannot be
 * read: -EINVAL/-errno, err names the flag, nothing is started) and set up;
 * a port that cannot be bound is only a warning.
 */
int fl_run_watch_new(const struct fl_run_watch_opts *o, struct fl_run_watch **out,
		     struct fl_error *err) FL_WUR;
/* The observers for fl_run_opts.events. */
const struct fl_events *fl_run_watch_events(const struct fl_run_watch *w);
/* The run starts / has its journal. */
void fl_run_watch_start(struct fl_run_watch *w, const char *title, const char *run_id);
void fl_run_watch_verdict(struct fl_run_watch *w, const cJSON *journal);
/* Send what Grafana still has to get (bounded), stop the endpoint, free; NULL is fine. */
void fl_run_watch_free(struct fl_run_watch *w);

#endif
