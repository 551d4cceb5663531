/*
 * Steady state under fire, the parser's side: the probe providers `load`,
 * `prometheus`, `tcp` and `running`, the probe `mode` and `interval`, and
 * the SLO tolerance. experiment.c calls in here for what it does not know;
 * everything is validated before anything runs, errors carry JSON paths.
 *
 * Grammar (JSON):
 *   load       := {"type":"load", http-keys..., "rate": req/s (0, 10000],
 *                  ["concurrency": 1..1024], ["duration": "5s"]}
 *   prometheus := {"type":"prometheus", "url": base URL, "query": PromQL, ["timeout": s]}
 *   tcp        := {"type":"tcp", "host": name or address, "port": 1..65535, ["timeout": s]}
 *   running    := {"type":"running", "target": {pid|name|cmdline|cgroup|pidfile}}
 *   mode       := "before" | "after" | "edge" | "during" | "continuous" | "on-fault"
 *   interval   := seconds (number) | duration string ("250ms"), >= 10ms
 *   slo-tol    := {["type":"slo"], ["success_ratio": {"min": 0..1}],
 *                  ["latency": {"p50"|"p95"|"p99": duration}], ["min_samples": int >= 1]}
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/duration.h"
#include "experiments/internal.h"

#define SLO_RATE_MAX	    10000.0
#define SLO_CONCURRENCY_MAX 1024
#define SLO_QUERY_MAX	    4096
#define SLO_HOST_MAX	    255
#define SLO_INTERVAL_MIN_MS 10

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A duration: a number of seconds or a string like "250ms"; 0 refused when positive. */
static int get_duration(const cJSON *v, const char *p, bool positive, uint64_t *ms,
			struct fl_errlist *errs)
{
	char got[96];
	int r;

	if (cJSON_IsNumber(v)) {
		if (!(v->valuedouble >= 0) || fl_seconds_to_ms(v->valuedouble, ms) < 0)
			return fl_experr(
			    errs, -EINVAL, p,
			    "expected a number of seconds >= 0 (at most 7 days), got %s",
			    fl_json_got(v, got, sizeof(got)));
	} else if (cJSON_IsString(v)) {
		r = fl_duration_parse_ms(v->valuestring, 1000000, ms);
		if (r < 0)
			return fl_experr(errs, -EINVAL, p,
					 "expected a duration like \"500ms\" or \"2s\", got %s",
					 fl_quote(v->valuestring, got, sizeof(got)));
	} else {
		return fl_experr(errs, -EINVAL, p, "expected a duration like \"500ms\", got %s",
				 fl_json_got(v, got, sizeof(got)));
	}
	if (positive && *ms == 0)
		return fl_experr(errs, -EINVAL, p, "expected a duration > 0, got %s",
				 fl_json_got(v, got, sizeof(got)));
	return 0;
}

static char *get_str(const cJSON *j, const char *key, const char *path, size_t max,
		     const char *what, struct fl_errlist *errs)
{
	const cJSON *v = get(j, key);
	char p[FL_PATH_MAX], got[96];
	char *s;

	fl_path_key(p, sizeof(p), path, key);
	if (!v) {
		fl_experr(errs, -EINVAL, p, "missing: expected %s", what);
		return NULL;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0]) {
		fl_experr(errs, -EINVAL, p, "expected %s, got %s", what,
			  fl_json_got(v, got, sizeof(got)));
		return NULL;
	}
	if (strlen(v->valuestring) > max) {
		fl_experr(errs, -E2BIG, p, "longer than %zu bytes", max);
		return NULL;
	}
	s = strdup(v->valuestring);
	if (!s)
		fl_experr(errs, -ENOMEM, p, "out of memory");
	return s;
}

static void parse_timeout(const cJSON *j, const char *path, struct fl_provider *p,
			  struct fl_errlist *errs)
{
	const cJSON *v = get(j, "timeout");
	char sp[FL_PATH_MAX];

	if (v)
		get_duration(v, fl_path_key(sp, sizeof(sp), path, "timeout"), true, &p->timeout_ms,
			     errs);
}

/* The keys a load provider adds to an http one. */
static const char *const load_keys[] = {"rate", "concurrency", "duration", NULL};

cJSON *fl_slo_load_http_part(const cJSON *j)
{
	cJSON *h = cJSON_Duplicate(j, true);

	if (!h)
		return NULL;
	for (const char *const *k = load_keys; *k; k++)
		cJSON_DeleteItemFromObjectCaseSensitive(h, *k);
	return h;
}

void fl_slo_load_parse(const cJSON *j, const char *path, struct fl_provider *p,
		       struct fl_errlist *errs)
{
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	v = get(j, "rate");
	fl_path_key(sp, sizeof(sp), path, "rate");
	if (!v)
		fl_experr(errs, -EINVAL, sp, "missing: expected requests per second, like 50");
	else if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > SLO_RATE_MAX)
		fl_experr(errs, -EINVAL, sp, "expected requests per second in (0, %g], got %s",
			  SLO_RATE_MAX, fl_json_got(v, got, sizeof(got)));
	else
		p->rate = v->valuedouble;
	p->concurrency = 64;
	v = get(j, "concurrency");
	fl_path_key(sp, sizeof(sp), path, "concurrency");
	if (v) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 1 || v->valuedouble > SLO_CONCURRENCY_MAX)
			fl_experr(errs, -EINVAL, sp,
				  "expected requests in flight at most, 1 to %d, got %s",
				  SLO_CONCURRENCY_MAX, fl_json_got(v, got, sizeof(got)));
		else
			p->concurrency = (unsigned)v->valuedouble;
	}
	p->duration_ms = 5000;
	v = get(j, "duration");
	if (v)
		get_duration(v, fl_path_key(sp, sizeof(sp), path, "duration"), true,
			     &p->duration_ms, errs);
}

static void parse_prometheus(const cJSON *j, const char *path, struct fl_provider *p,
			     struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "url", "query", "timeout", NULL};
	char sp[FL_PATH_MAX], got[96];

	fl_check_keys(errs, j, path, known, "a prometheus provider");
	p->url = get_str(j, "url", path, 2048, "the Prometheus server's http:// URL", errs);
	if (p->url && strncasecmp(p->url, "http://", 7) && strncasecmp(p->url, "https://", 8))
		fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "url"),
			  "expected an http:// or https:// URL, got %s",
			  fl_quote(p->url, got, sizeof(got)));
	p->query = get_str(j, "query", path, SLO_QUERY_MAX, "a PromQL expression", errs);
	p->expected_status = -1;
	p->verify_tls = true;
	parse_timeout(j, path, p, errs);
}

static void parse_tcp(const cJSON *j, const char *path, struct fl_provider *p,
		      struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "host", "port", "timeout", NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	fl_check_keys(errs, j, path, known, "a tcp provider");
	p->host = get_str(j, "host", path, SLO_HOST_MAX, "a host name or address", errs);
	if (p->host)
		for (const char *c = p->host; *c; c++)
			if (!(isalnum((unsigned char)*c) || strchr(".-:_", *c))) {
				fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "host"),
					  "expected a host name or address, got %s",
					  fl_quote(p->host, got, sizeof(got)));
				break;
			}
	v = get(j, "port");
	fl_path_key(sp, sizeof(sp), path, "port");
	if (!v) {
		fl_experr(errs, -EINVAL, sp, "missing: expected a TCP port, 1 to 65535");
	} else {
		/* a string of digits too: what an environment variable gives through ${name} */
		char *end = NULL;
		double d = cJSON_IsNumber(v)   ? v->valuedouble
			   : cJSON_IsString(v) ? strtod(v->valuestring, &end)
					       : -1;

		if ((cJSON_IsString(v) &&
		     (!isdigit((unsigned char)v->valuestring[0]) || !end || *end)) ||
		    d != floor(d) || d < 1 || d > 65535)
			fl_experr(errs, -EINVAL, sp, "expected a TCP port, 1 to 65535, got %s",
				  fl_json_got(v, got, sizeof(got)));
		else
			p->port = (unsigned)d;
	}
	parse_timeout(j, path, p, errs);
}

static void parse_running(const cJSON *j, const char *path, struct fl_provider *p,
			  struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "target", NULL};
	static const char *const sel[] = {"pid", "name", "cmdline", "cgroup", "pidfile", NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v = get(j, "target");
	unsigned n = 0;

	fl_check_keys(errs, j, path, known, "a running provider");
	fl_path_key(sp, sizeof(sp), path, "target");
	if (!cJSON_IsObject(v)) {
		fl_experr(errs, -EINVAL, sp,
			  "expected an object naming processes by pid, name, cmdline, cgroup or "
			  "pidfile, got %s",
			  fl_json_got(v, got, sizeof(got)));
		return;
	}
	fl_check_keys(errs, v, sp, sel, "a running target");
	for (const char *const *k = sel; *k; k++)
		n += get(v, *k) != NULL;
	if (n != 1)
		fl_experr(errs, -EINVAL, sp,
			  "expected exactly one of pid, name, cmdline, cgroup, pidfile");
	if (!(p->target_json = cJSON_PrintUnformatted(v)))
		fl_experr(errs, -ENOMEM, sp, "out of memory");
}

bool fl_slo_provider_parse(const char *type, const cJSON *j, const char *path,
			   struct fl_provider *p, struct fl_errlist *errs)
{
	if (!strcmp(type, "prometheus")) {
		p->type = FL_PROVIDER_PROMETHEUS;
		parse_prometheus(j, path, p, errs);
	} else if (!strcmp(type, "tcp")) {
		p->type = FL_PROVIDER_TCP;
		parse_tcp(j, path, p, errs);
	} else if (!strcmp(type, "running")) {
		p->type = FL_PROVIDER_RUNNING;
		parse_running(j, path, p, errs);
	} else {
		return false;
	}
	return true;
}

void fl_slo_provider_done(struct fl_provider *p)
{
	free(p->query);
	free(p->host);
}

/* "mode" and "interval" of an activity; `judged`: a hypothesis probe, `abort`: an abort one. */
void fl_slo_mode_parse(const cJSON *j, const char *path, bool judged, bool abort,
		       struct fl_activity *a, struct fl_errlist *errs)
{
	const cJSON *m = get(j, "mode"), *iv = get(j, "interval");
	char sp[FL_PATH_MAX], got[96];

	a->mode = abort ? FL_MODE_DURING : FL_MODE_EDGE;
	a->interval_ms = FL_PROBE_INTERVAL_DEFAULT_MS;
	if (m) {
		const char *s = cJSON_IsString(m) ? m->valuestring : "";

		fl_path_key(sp, sizeof(sp), path, "mode");
		if (!judged || abort)
			fl_experr(errs, -EINVAL, sp,
				  abort ? "abort probes always run during the method; drop \"mode\""
					: "only steady-state hypothesis probes have a mode");
		else if (!strcmp(s, "edge"))
			a->mode = FL_MODE_EDGE;
		else if (!strcmp(s, "before"))
			a->mode = FL_MODE_BEFORE;
		else if (!strcmp(s, "after"))
			a->mode = FL_MODE_AFTER;
		else if (!strcmp(s, "during") || !strcmp(s, "continuous"))
			a->mode = FL_MODE_DURING;
		else if (!strcmp(s, "on-fault"))
			a->mode = FL_MODE_ON_FAULT;
		else
			fl_experr(errs, -EINVAL, sp,
				  "expected \"before\", \"after\", \"edge\", \"during\", "
				  "\"continuous\" or \"on-fault\", got %s",
				  fl_json_got(m, got, sizeof(got)));
	}
	if (iv) {
		fl_path_key(sp, sizeof(sp), path, "interval");
		if (get_duration(iv, sp, true, &a->interval_ms, errs) < 0)
			return;
		if (a->mode != FL_MODE_DURING && a->mode != FL_MODE_ON_FAULT)
			fl_experr(errs, -EINVAL, sp,
				  "an interval needs mode \"during\" or \"on-fault\" (or an abort "
				  "probe)");
		else if (a->interval_ms < SLO_INTERVAL_MIN_MS)
			fl_experr(errs, -EINVAL, sp, "an interval shorter than %dms is refused",
				  SLO_INTERVAL_MIN_MS);
	}
	if (judged && a->provider.type == FL_PROVIDER_LOAD && a->mode == FL_MODE_ON_FAULT)
		fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "mode"),
			  "a load probe runs \"during\" the method or once before/after; "
			  "\"on-fault\" is for sampled probes");
}

bool fl_probe_runs_in(const struct fl_activity *a, enum fl_probe_mode phase)
{
	enum fl_probe_mode m = a->mode; /* a ref's slot holds its definition's mode */

	if (m == FL_MODE_EDGE)
		return phase == FL_MODE_BEFORE || phase == FL_MODE_AFTER;
	return m == phase;
}

bool fl_experiment_samples(const struct fl_experiment *e)
{
	if (e->abort.n)
		return true;
	for (size_t i = 0; i < e->hypothesis.n; i++)
		if (fl_probe_runs_in(&e->hypothesis.v[i], FL_MODE_DURING) ||
		    fl_probe_runs_in(&e->hypothesis.v[i], FL_MODE_ON_FAULT))
			return true;
	return false;
}
