/*
 * SLO tolerances: a success ratio and latency percentiles judged over all
 * the samples of a window. The window's summary is the JSON object
 *   {"samples", "succeeded", "failed", "success_ratio",
 *    "latency_ms": {"p50", "p95", "p99", "max"}}
 * that the controller builds (controller/slo.c) or a one-shot `load` probe
 * returns. Any other result counts as a window of one sample.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "experiments/internal.h"

static const char *const pct_names[3] = {"p50", "p95", "p99"};

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

bool fl_slo_tolerance_wanted(const cJSON *j)
{
	const cJSON *t = get(j, "type");

	if (!cJSON_IsObject(j))
		return false;
	if (cJSON_IsString(t))
		return !strcmp(t->valuestring, "slo");
	return !t && (get(j, "success_ratio") || get(j, "latency"));
}

/*
 * Grammar:
 *   slo := {["type":"slo"], ["success_ratio": {"min": number in [0, 1]}],
 *           ["latency": {("p50"|"p95"|"p99"): duration}+], ["min_samples": int >= 1]}
 * with at least one of success_ratio and latency.
 */
int fl_slo_tolerance_parse(const cJSON *j, const char *path, struct fl_tolerance *t,
			   struct fl_errlist *errs)
{
	char p[FL_PATH_MAX], q[FL_PATH_MAX], got[96];
	const cJSON *it, *sr, *lat, *ms;
	int bad = 0;

	t->type = FL_TOL_SLO;
	t->slo_min_ratio = -1;
	t->slo_min_samples = 1;
	cJSON_ArrayForEach(it, j)
	{
		if (strcmp(it->string, "type") && strcmp(it->string, "success_ratio") &&
		    strcmp(it->string, "latency") && strcmp(it->string, "min_samples"))
			bad = fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, it->string),
					"unknown key in an SLO tolerance (known: success_ratio, "
					"latency, min_samples)");
	}
	sr = get(j, "success_ratio");
	lat = get(j, "latency");
	if (!sr && !lat)
		return fl_experr(errs, -EINVAL, path,
				 "an SLO tolerance needs \"success_ratio\" or \"latency\"");
	if (sr) {
		const cJSON *min = get(sr, "min");

		fl_path_key(p, sizeof(p), path, "success_ratio");
		if (!cJSON_IsObject(sr) || cJSON_GetArraySize(sr) != 1 || !min)
			bad = fl_experr(errs, -EINVAL, p, "expected {\"min\": 0.99}, got %s",
					fl_json_got(sr, got, sizeof(got)));
		else if (!cJSON_IsNumber(min) || !(min->valuedouble >= 0) || min->valuedouble > 1)
			bad =
			    fl_experr(errs, -EINVAL, fl_path_key(q, sizeof(q), p, "min"),
				      "expected a ratio between 0 and 1 (0.998 for 99.8%%), got %s",
				      fl_json_got(min, got, sizeof(got)));
		else
			t->slo_min_ratio = min->valuedouble;
	}
	if (lat) {
		fl_path_key(p, sizeof(p), path, "latency");
		if (!cJSON_IsObject(lat) || !cJSON_GetArraySize(lat)) {
			bad = fl_experr(
			    errs, -EINVAL, p,
			    "expected percentile bounds like {\"p95\": \"500ms\"}, got %s",
			    fl_json_got(lat, got, sizeof(got)));
		} else {
			cJSON_ArrayForEach(it, lat)
			{
				int k = -1;
				uint64_t us = 0;
				int r = -EINVAL;

				for (int i = 0; i < 3; i++)
					if (!strcmp(it->string, pct_names[i]))
						k = i;
				fl_path_key(q, sizeof(q), p, it->string);
				if (k < 0) {
					bad =
					    fl_experr(errs, -EINVAL, q,
						      "unknown percentile (known: p50, p95, p99)");
					continue;
				}
				if (cJSON_IsString(it))
					r = fl_duration_parse_us(it->valuestring, 1000, &us);
				else if (cJSON_IsNumber(it) && it->valuedouble > 0 &&
					 it->valuedouble < 1e9)
					r = 0, us = (uint64_t)(it->valuedouble * 1000.0);
				if (r < 0 || us == 0)
					bad = fl_experr(errs, -EINVAL, q,
							"expected a latency bound like \"500ms\" "
							"(a bare number is milliseconds), got %s",
							fl_json_got(it, got, sizeof(got)));
				else
					t->slo_latency_us[k] = us;
			}
		}
	}
	ms = get(j, "min_samples");
	if (ms) {
		if (!cJSON_IsNumber(ms) || ms->valuedouble != floor(ms->valuedouble) ||
		    ms->valuedouble < 1 || ms->valuedouble > 1e9)
			bad =
			    fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "min_samples"),
				      "expected a whole number of samples >= 1, got %s",
				      fl_json_got(ms, got, sizeof(got)));
		else
			t->slo_min_samples = (uint64_t)ms->valuedouble;
	}
	return bad ? -EINVAL : 0;
}

bool fl_slo_sample_ok(enum fl_provider_type ptype, const cJSON *result)
{
	const cJSON *st = cJSON_IsObject(result) ? get(result, "status") : NULL;

	if (!result)
		return false;
	if (ptype == FL_PROVIDER_PROCESS)
		return cJSON_IsNumber(st) && st->valuedouble == 0;
	if (ptype == FL_PROVIDER_HTTP)
		return cJSON_IsNumber(st) && st->valuedouble >= 100 && st->valuedouble < 400;
	if (ptype == FL_PROVIDER_LOAD) {
		const cJSON *f = get(result, "failed");

		return cJSON_IsNumber(f) && f->valuedouble == 0;
	}
	if (cJSON_IsBool(result))
		return cJSON_IsTrue(result);
	if (cJSON_IsNumber(result))
		return result->valuedouble != 0;
	return !cJSON_IsNull(result);
}

static double num(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = get(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

bool fl_slo_tolerance_check(const struct fl_tolerance *t, enum fl_provider_type ptype,
			    const cJSON *result, char *why, size_t whylen)
{
	double n, ok, lat[3] = {NAN, NAN, NAN};
	char b[32];
	const cJSON *lj;

	if (cJSON_IsObject(result) && cJSON_IsNumber(get(result, "samples"))) {
		n = num(result, "samples", 0);
		ok = num(result, "succeeded", 0);
		lj = get(result, "latency_ms");
		for (int i = 0; i < 3; i++)
			lat[i] = num(lj, pct_names[i], NAN);
	} else {
		/* One result: a window of one sample. */
		n = 1;
		ok = fl_slo_sample_ok(ptype, result) ? 1 : 0;
		for (int i = 0; i < 3; i++)
			lat[i] = num(result, "elapsed_ms", NAN);
	}
	if (n < (double)t->slo_min_samples || n <= 0) {
		snprintf(why, whylen, "only %.0f samples, at least %llu needed", n,
			 (unsigned long long)t->slo_min_samples);
		return false;
	}
	if (t->slo_min_ratio >= 0 && ok / n < t->slo_min_ratio) {
		snprintf(why, whylen, "success ratio %.4g (%.0f of %.0f samples) is below %.4g",
			 ok / n, ok, n, t->slo_min_ratio);
		return false;
	}
	for (int i = 0; i < 3; i++) {
		if (!t->slo_latency_us[i])
			continue;
		if (isnan(lat[i])) {
			snprintf(why, whylen, "no %s latency was measured", pct_names[i]);
			return false;
		}
		if (lat[i] * 1000.0 > (double)t->slo_latency_us[i]) {
			snprintf(why, whylen, "%s latency %.1fms is over %s (%.0f samples)",
				 pct_names[i], lat[i],
				 fl_duration_fmt(t->slo_latency_us[i], b, sizeof(b)), n);
			return false;
		}
	}
	return true;
}

const char *fl_slo_tolerance_describe(const struct fl_tolerance *t, char *buf, size_t len)
{
	size_t o = 0;
	char d[32];

	buf[0] = '\0';
	if (t->slo_min_ratio >= 0)
		o += (size_t)snprintf(buf + o, len - o, "success ratio >= %g", t->slo_min_ratio);
	for (int i = 0; i < 3 && o < len; i++)
		if (t->slo_latency_us[i])
			o += (size_t)snprintf(buf + o, len - o, "%s%s <= %s", o ? ", " : "",
					      pct_names[i],
					      fl_duration_fmt(t->slo_latency_us[i], d, sizeof(d)));
	return buf;
}
