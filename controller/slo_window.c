/* Sample windows: what a probe measured over a time window, and its summary. */
#include "controller/slo_window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"

void fl_slo_window_init(struct fl_slo_window *w)
{
	memset(w, 0, sizeof(*w));
	w->origin_us = fl_now_mono_us();
}

void fl_slo_window_add(struct fl_slo_window *w, bool ok, uint64_t latency_us)
{
	uint64_t now = fl_now_mono_us();

	fl_slo_window_add_at(w, ok, latency_us, now > latency_us ? now - latency_us : 0);
}

void fl_slo_window_add_at(struct fl_slo_window *w, bool ok, uint64_t latency_us, uint64_t start_us)
{
	uint64_t at_ms = start_us > w->origin_us ? (start_us - w->origin_us) / 1000 : 0;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct fl_slo_sample *v;

		if (cap > FL_SLO_SAMPLES_MAX)
			cap = FL_SLO_SAMPLES_MAX;
		v = cap > w->cap ? realloc(w->v, cap * sizeof(*v)) : NULL;
		if (!v) {
			w->dropped++;
			return;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].ok = ok;
	w->v[w->n].latency_us = latency_us > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_us;
	w->v[w->n].start_ms = at_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)at_ms;
	w->n++;
}

void fl_slo_window_done(struct fl_slo_window *w)
{
	free(w->v);
	memset(w, 0, sizeof(*w));
}

uint64_t fl_slo_percentile(const uint32_t *sorted, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

cJSON *fl_slo_window_summary(const struct fl_slo_window *w)
{
	cJSON *j = cJSON_CreateObject(), *lat;
	uint32_t *l = w->n ? malloc(w->n * sizeof(*l)) : NULL;
	size_t ok = 0;

	if (!j || (w->n && !l)) {
		cJSON_Delete(j);
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < w->n; i++) {
		ok += w->v[i].ok;
		l[i] = w->v[i].latency_us;
	}
	if (w->n)
		qsort(l, w->n, sizeof(*l), cmp_u32);
	cJSON_AddNumberToObject(j, "samples", (double)w->n);
	cJSON_AddNumberToObject(j, "succeeded", (double)ok);
	cJSON_AddNumberToObject(j, "failed", (double)(w->n - ok));
	if (w->n)
		cJSON_AddNumberToObject(j, "success_ratio", (double)ok / (double)w->n);
	else
		cJSON_AddNullToObject(j, "success_ratio");
	lat = cJSON_AddObjectToObject(j, "latency_ms");
	if (w->n) {
		cJSON_AddNumberToObject(lat, "p50", fl_slo_percentile(l, w->n, 50) / 1000.0);
		cJSON_AddNumberToObject(lat, "p95", fl_slo_percentile(l, w->n, 95) / 1000.0);
		cJSON_AddNumberToObject(lat, "p99", fl_slo_percentile(l, w->n, 99) / 1000.0);
		cJSON_AddNumberToObject(lat, "max", l[w->n - 1] / 1000.0);
	}
	if (w->dropped)
		cJSON_AddNumberToObject(j, "dropped", (double)w->dropped);
	if (w->not_sent)
		cJSON_AddNumberToObject(j, "not_sent", (double)w->not_sent);
	if (w->in_flight)
		cJSON_AddNumberToObject(j, "in_flight_at_end", (double)w->in_flight);
	if (w->late)
		cJSON_AddNumberToObject(j, "finished_after_end", (double)w->late);
	if (w->after_fault)
		cJSON_AddNumberToObject(j, "succeeded_after_fault_ended", (double)w->after_fault);
	if (w->last_err[0])
		cJSON_AddStringToObject(j, "last_failure", w->last_err);
	free(l);
	return j;
}
