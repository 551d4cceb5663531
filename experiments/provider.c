/*
 * A provider's name and its free: what the activity parser (experiment.c) and
 * a probe used as a tolerance (tolerance.c) both need, so neither calls the
 * other for it.
 */
#include <stdlib.h>
#include <string.h>

#include "experiments/experiment.h"
#include "experiments/internal.h"

const char *fl_provider_type_name(enum fl_provider_type t)
{
	switch (t) {
	case FL_PROVIDER_PROCESS:
		return "process";
	case FL_PROVIDER_HTTP:
		return "http";
	case FL_PROVIDER_FAULT:
		return "fault";
	case FL_PROVIDER_LOAD:
		return "load";
	case FL_PROVIDER_PROMETHEUS:
		return "prometheus";
	case FL_PROVIDER_TCP:
		return "tcp";
	case FL_PROVIDER_RUNNING:
		return "running";
	case FL_PROVIDER__MAX:
		break;
	}
	return "?";
}

void fl_provider_done(struct fl_provider *p)
{
	free(p->path);
	fl_strv_free(p->argv);
	free(p->shell_args);
	free(p->url);
	free(p->method);
	fl_kvs_free(p->headers, p->n_headers);
	free(p->body);
	free(p->kind);
	free(p->target_json);
	free(p->params_json);
	fl_strv_free(p->agents);
	fl_slo_provider_done(p);
	memset(p, 0, sizeof(*p));
}
