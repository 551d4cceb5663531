/*
 * Grafana annotations for a run (a run-events observer, controller/events.h),
 * through Grafana's HTTP API with a service account token (Bearer):
 *   - a fault applied: POST /api/annotations {"time", "tags", "text"}; when
 *     its lease ends or it is reverted, PATCH /api/annotations/ID
 *     {"timeEnd", "text"}: a region over the fault's live window;
 *   - the verdict: POST /api/annotations, a region over the whole run.
 * Tags: "faultline", "fault" or "verdict", "kind:KIND" or the verdict, and
 * "run:RUN_ID". The requests go from a thread of ours, never from the
 * runner's: a slow or failing Grafana never slows the run nor changes its
 * verdict; what fails is said once through `warn`.
 */
#ifndef FL_CONTROLLER_GRAFANA_H
#define FL_CONTROLLER_GRAFANA_H

#include "controller/events.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_GRAFANA_TOKEN_MAX  4096
#define FL_GRAFANA_TIMEOUT_MS 5000  /* per request */
#define FL_GRAFANA_FLUSH_MS   10000 /* at the end, for what is still queued */

struct fl_grafana;

struct fl_grafana_opts {
	const char *url;	/* Grafana's base URL: http(s)://host:port[/subpath] */
	const char *token_file; /* the service account token (first line) */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/* Check the URL and read the token (nothing is sent); -EINVAL/-errno with err naming the flag. */
int fl_grafana_new(const struct fl_grafana_opts *o, struct fl_grafana **out,
		   struct fl_error *err) FL_WUR;
/* The observer (arg: the fl_grafana). */
void fl_grafana_event(void *arg, const struct fl_event *ev);
/* Send what is queued (at most FL_GRAFANA_FLUSH_MS more), stop, free; NULL is fine. */
void fl_grafana_free(struct fl_grafana *g);

#endif
