/*
 * The observers of one run (controller/run_watch.h).
 */
#include "controller/run_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "controller/grafana.h"
#include "controller/metrics.h"
#include "controller/output.h"
#include "controller/progress.h"

struct fl_run_watch {
	struct fl_run_watch_opts o;
	struct fl_events ev;
	struct fl_progress *progress;
	struct fl_grafana *grafana;
	struct fl_metrics *metrics;
};

/* A warning while the run goes on: on the run's output, else on stderr. */
static void fl_run_watch_warn(void *arg, const char *msg)
{
	struct fl_run_watch *w = arg;

	if (w->o.out && !w->o.quiet)
		fl_out_note(w->o.out, "warning: %s", msg);
	else
		fprintf(stderr, "faultline run: warning: %s\n", msg);
}

int fl_run_watch_new(const struct fl_run_watch_opts *o, struct fl_run_watch **out,
		     struct fl_error *err)
{
	struct fl_run_watch *w = calloc(1, sizeof(*w));
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	*out = NULL;
	if (!w)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	w->o = *o;
	fl_events_init(&w->ev);
	/* Every flag is checked before anything starts. */
	if (o->metrics_listen && (r = fl_metrics_addr_parse(o->metrics_listen, &ss, &len, err)) < 0)
		goto fail;
	if (o->grafana_token_file && !o->grafana_url) {
		r = fl_error_set(err, -EINVAL, NULL,
				 "--grafana-token-file needs --grafana-url (Grafana's base URL)");
		goto fail;
	}
	if (o->grafana_url) {
		struct fl_grafana_opts go = {.url = o->grafana_url,
					     .token_file = o->grafana_token_file,
					     .warn = fl_run_watch_warn,
					     .warn_arg = w};

		r = fl_grafana_new(&go, &w->grafana, err);
		if (r < 0)
			goto fail;
		r = fl_events_add(&w->ev, fl_grafana_event, w->grafana);
	}
	if (o->metrics_listen) {
		struct fl_error me;

		fl_error_init(&me);
		if (fl_metrics_new(o->metrics_listen, &w->metrics, &me) < 0) {
			w->metrics = NULL;
			fl_run_watch_warn(w, me.msg); /* the run goes on without the endpoint */
		} else {
			r = fl_events_add(&w->ev, fl_metrics_event, w->metrics);
		}
	}
	if (o->out && !o->quiet) {
		struct fl_progress_opts po = {.out = o->out, .tty = o->tty};

		w->progress = fl_progress_new(&po);
		if (w->progress)
			r = fl_events_add(&w->ev, fl_progress_event, w->progress);
	}
	*out = w;
	return 0;
fail:
	fl_run_watch_free(w);
	return r;
}

const struct fl_events *fl_run_watch_events(const struct fl_run_watch *w)
{
	return w ? &w->ev : NULL;
}

void fl_run_watch_start(struct fl_run_watch *w, const char *title, const char *run_id)
{
	if (!w)
		return;
	if (w->metrics && w->o.out)
		fl_out_note(w->o.out, "metrics of this run: %s", fl_metrics_url(w->metrics));
	fl_events_run_start(&w->ev, title, run_id);
}

void fl_run_watch_verdict(struct fl_run_watch *w, const cJSON *journal)
{
	if (w)
		fl_events_verdict(&w->ev, journal);
}

void fl_run_watch_free(struct fl_run_watch *w)
{
	if (!w)
		return;
	fl_progress_free(w->progress);
	fl_grafana_free(w->grafana);
	fl_metrics_linger(w->metrics);
	fl_metrics_free(w->metrics);
	free(w);
}
