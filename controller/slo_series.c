/*
 * A sampled probe's window over time (controller/slo.h, fl_slo_window_series):
 * the samples grouped in equal buckets by when they started, each bucket
 * summarised like a whole window and judged alone by the probe's tolerance,
 * so that the report can draw the success ratio and the latency percentiles
 * over the run and show where the SLO was crossed.
 */
#include "controller/slo.h"

#include <stdlib.h>

#define FL_SERIES_BUCKETS_MAX 120
#define FL_SERIES_BUCKET_MIN  100 /* ms */

/* The smallest "round" bucket (100 ms, 200 ms, 250 ms, 500 ms, 1 s, 2 s, ...) >= ms. */
static uint64_t round_bucket(uint64_t ms)
{
	static const uint64_t nice[] = {100,	200,	250,	500,	1000,	 2000,
					2500,	5000,	10000,	15000,	30000,	 60000,
					120000, 300000, 600000, 900000, 1800000, 3600000};
	uint64_t b;

	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (nice[i] >= ms)
			return nice[i];
	for (b = 3600000; b < ms; b *= 2)
		;
	return b;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static cJSON *tolerance_json(const struct fl_tolerance *tol)
{
	static const char *const pct[3] = {"p50", "p95", "p99"};
	cJSON *t = cJSON_CreateObject(), *lat = NULL;

	if (!t)
		return NULL;
	if (!tol || tol->type != FL_TOL_SLO) {
		/* every sample judged by the tolerance: the window holds at 100% only */
		cJSON_AddBoolToObject(t, "every_sample", true);
		return t;
	}
	if (tol->slo_min_ratio >= 0)
		cJSON_AddNumberToObject(t, "success_ratio", tol->slo_min_ratio);
	for (int i = 0; i < 3; i++) {
		if (!tol->slo_latency_us[i])
			continue;
		if (!lat)
			lat = cJSON_AddObjectToObject(t, "latency_ms");
		cJSON_AddNumberToObject(lat, pct[i], (double)tol->slo_latency_us[i] / 1000.0);
	}
	if (tol->slo_min_samples > 1)
		cJSON_AddNumberToObject(t, "min_samples", (double)tol->slo_min_samples);
	return t;
}

cJSON *fl_slo_window_series(const struct fl_slo_window *w, uint64_t span_ms, uint64_t interval_ms,
			    const struct fl_tolerance *tol, enum fl_provider_type ptype)
{
	struct fl_tolerance one;
	cJSON *j = cJSON_CreateObject(), *arr;
	uint32_t *lat = w->n ? malloc(w->n * sizeof(*lat)) : NULL;
	size_t *idx = NULL, nb;
	uint64_t bucket, last = 0;

	if (!j || (w->n && !lat))
		goto fail;
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].start_ms > last)
			last = w->v[i].start_ms;
	if (span_ms < last + 1)
		span_ms = last + 1;
	bucket = span_ms / FL_SERIES_BUCKETS_MAX + 1;
	if (bucket < FL_SERIES_BUCKET_MIN)
		bucket = FL_SERIES_BUCKET_MIN;
	if (bucket < interval_ms)
		bucket = interval_ms;
	bucket = round_bucket(bucket);
	nb = (size_t)((span_ms + bucket - 1) / bucket);
	if (nb > FL_SERIES_BUCKETS_MAX * 2) /* interval >> span cannot get here; be safe */
		nb = FL_SERIES_BUCKETS_MAX * 2;
	/* Counting sort of the sample indices by bucket: idx[off[b]..off[b+1]). */
	idx = calloc(w->n + nb + 1, sizeof(*idx));
	if (!idx)
		goto fail;
	{
		size_t *off = idx + w->n, *pos;

		for (size_t i = 0; i < w->n; i++) {
			size_t b = w->v[i].start_ms / bucket;

			off[b < nb ? b : nb - 1]++;
		}
		for (size_t b = 0, sum = 0; b <= nb; b++) {
			size_t c = b < nb ? off[b] : 0;

			off[b] = sum;
			sum += c;
		}
		pos = calloc(nb ? nb : 1, sizeof(*pos));
		if (!pos)
			goto fail;
		for (size_t i = 0; i < w->n; i++) {
			size_t b = w->v[i].start_ms / bucket;

			b = b < nb ? b : nb - 1;
			lat[off[b] + pos[b]++] = (uint32_t)i;
		}
		free(pos);
	}
	cJSON_AddNumberToObject(j, "bucket", (double)bucket / 1000.0);
	cJSON_AddItemToObject(j, "tolerance", tolerance_json(tol));
	arr = cJSON_AddArrayToObject(j, "buckets");
	if (tol) {
		one = *tol;
		one.slo_min_samples = 1; /* one bucket is judged on what it has */
	}
	for (size_t b = 0; b < nb && arr; b++) {
		size_t *off = idx + w->n, n = off[b + 1] - off[b], ok = 0;
		uint32_t *l = lat + off[b];
		cJSON *o = cJSON_CreateObject(), *lj;

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto fail;
		}
		/* l[] holds sample indices: turn them into latencies, count successes */
		for (size_t i = 0; i < n; i++) {
			ok += w->v[l[i]].ok;
			l[i] = w->v[l[i]].latency_us;
		}
		if (n)
			qsort(l, n, sizeof(*l), cmp_u32);
		cJSON_AddNumberToObject(o, "t", (double)(b * bucket) / 1000.0);
		cJSON_AddNumberToObject(o, "samples", (double)n);
		cJSON_AddNumberToObject(o, "succeeded", (double)ok);
		cJSON_AddNumberToObject(o, "failed", (double)(n - ok));
		if (!n)
			continue;
		cJSON_AddNumberToObject(o, "success_ratio", (double)ok / (double)n);
		lj = cJSON_AddObjectToObject(o, "latency_ms");
		cJSON_AddNumberToObject(lj, "p50", fl_slo_percentile(l, n, 50) / 1000.0);
		cJSON_AddNumberToObject(lj, "p95", fl_slo_percentile(l, n, 95) / 1000.0);
		cJSON_AddNumberToObject(lj, "p99", fl_slo_percentile(l, n, 99) / 1000.0);
		cJSON_AddNumberToObject(lj, "max", l[n - 1] / 1000.0);
		if (tol && tol->type == FL_TOL_SLO) {
			char why[256];

			cJSON_AddBoolToObject(o, "ok",
					      fl_tolerance_check(&one, ptype, o, why, sizeof(why)));
		} else {
			cJSON_AddBoolToObject(o, "ok", ok == n);
		}
	}
	free(idx);
	free(lat);
	return j;
fail:
	free(idx);
	free(lat);
	cJSON_Delete(j);
	return NULL;
}
