/*
 * The `netem` fault's spec: delay, jitter, loss, duplication, corruption,
 * reordering and rate, where, and for which traffic (faults/netem.c applies it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "faults/spec/netem.h"

#define LIMIT_MAX 10000000U

static int get_pct(const cJSON *params, const char *key, uint32_t *out, bool *present,
		   struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
	char path[96];
	int r;

	*present = v != NULL;
	if (!v)
		return 0;
	snprintf(path, sizeof(path), "$.params.%s", key);
	r = fl_nl_percent_parse(v, out, NULL);
	if (r < 0)
		return fl_error_set(err, -EINVAL, path,
				    "expected a percentage like \"1.5%%\" (0..100)");
	return 0;
}

static int get_dur(const cJSON *params, const char *key, uint64_t *ns, bool *present,
		   struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
	char path[96];
	uint64_t us;

	*present = v != NULL;
	if (!v)
		return 0;
	snprintf(path, sizeof(path), "$.params.%s", key);
	if (!cJSON_IsString(v) || fl_duration_parse_us(v->valuestring, 1000, &us) < 0)
		return fl_error_set(
		    err, -EINVAL, path,
		    "expected a duration like \"100ms\" (us, ms, s, m, h; up to 7 days)");
	*ns = us * 1000;
	return 0;
}

static const char *const known[] = {
    "delay",
    "jitter",
    "correlation",
    "distribution",
    "loss",
    "loss_correlation",
    "gemodel",
    "duplicate",
    "duplicate_correlation",
    "corrupt",
    "corrupt_correlation",
    "reorder",
    "reorder_correlation",
    "gap",
    "rate",
    "limit",
    "match",
    "direction",
    "measure",
};

/*
 * Grammar (params):
 *   delay, jitter          DURATION ("100ms")          tc: delay TIME [JITTER]
 *   correlation            PERCENT  (needs jitter)      tc: delay TIME JITTER CORR
 *   distribution           uniform|normal|pareto|paretonormal (needs jitter)
 *   loss, loss_correlation PERCENT                      tc: loss random P [CORR]
 *   gemodel                {"p","r","1-h","1-k": PERCENT}  tc: loss gemodel p r 1-h 1-k
 *   duplicate[_correlation], corrupt[_correlation]  PERCENT
 *   reorder[_correlation]  PERCENT (needs delay), gap N (needs reorder)
 *   rate                   RATE ("1mbit")               tc: rate RATE
 *   limit                  packets 1..10000000 (default 1000)
 *   match                  see fl_nl_match_parse
 *   direction              "egress" (default) | "ingress" (ifb + mirred, see nl_ingress.c)
 *   measure                see fl_nl_measure_parse
 * The distribution's table is the agent's to load (netem.c), from its host.
 */
int fl_netem_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct netem_spec *s = calloc(1, sizeof(*s));
	struct fl_nl_netem *n;
	const cJSON *it, *v;
	bool has_delay, has_jitter, has_corr, has_loss, has_lcorr, has_dup, has_dcorr, has_cor,
	    has_ccorr, has_ro, has_rcorr;
	int r;

	if (!s)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	n = &s->n;
	if (!cJSON_IsObject(params)) {
		r = fl_error_set(err, -EINVAL, "$.params", "expected an object");
		goto fail;
	}
	cJSON_ArrayForEach(it, params)
	{
		size_t i;

		for (i = 0; i < FL_ARRAY_SIZE(known); i++)
			if (!strcmp(it->string, known[i]))
				break;
		if (i == FL_ARRAY_SIZE(known)) {
			char path[96];

			snprintf(path, sizeof(path), "$.params.%.60s", it->string);
			r = fl_error_set(err, -EINVAL, path, "unknown netem parameter");
			goto fail;
		}
	}
	if ((r = get_dur(params, "delay", &n->delay_ns, &has_delay, err)) < 0 ||
	    (r = get_dur(params, "jitter", &n->jitter_ns, &has_jitter, err)) < 0 ||
	    (r = get_pct(params, "correlation", &n->delay_corr, &has_corr, err)) < 0 ||
	    (r = get_pct(params, "loss", &n->loss, &has_loss, err)) < 0 ||
	    (r = get_pct(params, "loss_correlation", &n->loss_corr, &has_lcorr, err)) < 0 ||
	    (r = get_pct(params, "duplicate", &n->duplicate, &has_dup, err)) < 0 ||
	    (r = get_pct(params, "duplicate_correlation", &n->duplicate_corr, &has_dcorr, err)) <
		0 ||
	    (r = get_pct(params, "corrupt", &n->corrupt, &has_cor, err)) < 0 ||
	    (r = get_pct(params, "corrupt_correlation", &n->corrupt_corr, &has_ccorr, err)) < 0 ||
	    (r = get_pct(params, "reorder", &n->reorder, &has_ro, err)) < 0 ||
	    (r = get_pct(params, "reorder_correlation", &n->reorder_corr, &has_rcorr, err)) < 0)
		goto fail;
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "distribution"))) {
		static const enum fl_nl_dist all[] = {FL_NL_DIST_UNIFORM, FL_NL_DIST_NORMAL,
						      FL_NL_DIST_PARETO, FL_NL_DIST_PARETONORMAL};
		size_t i;

		for (i = 0; cJSON_IsString(v) && i < FL_ARRAY_SIZE(all); i++)
			if (!strcmp(v->valuestring, fl_nl_dist_name(all[i])))
				break;
		if (!cJSON_IsString(v) || i == FL_ARRAY_SIZE(all)) {
			r = fl_error_set(err, -EINVAL, "$.params.distribution",
					 "expected uniform, normal, pareto or paretonormal");
			goto fail;
		}
		n->dist = all[i];
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "gemodel"))) {
		static const char *const keys[] = {"p", "r", "1-h", "1-k"};
		uint32_t *dst[] = {&n->ge_p, &n->ge_r, &n->ge_h, &n->ge_k1};

		if (!cJSON_IsObject(v)) {
			r = fl_error_set(
			    err, -EINVAL, "$.params.gemodel",
			    "expected {\"p\": PCT, \"r\": PCT, \"1-h\": PCT, \"1-k\": PCT}");
			goto fail;
		}
		cJSON_ArrayForEach(it, v)
		{
			size_t i;
			char path[96];

			snprintf(path, sizeof(path), "$.params.gemodel.%.40s", it->string);
			for (i = 0; i < FL_ARRAY_SIZE(keys); i++)
				if (!strcmp(it->string, keys[i]))
					break;
			if (i == FL_ARRAY_SIZE(keys)) {
				r = fl_error_set(err, -EINVAL, path,
						 "unknown field (p, r, 1-h, 1-k)");
				goto fail;
			}
			if (fl_nl_percent_parse(it, dst[i], NULL) < 0) {
				r = fl_error_set(err, -EINVAL, path, "expected a percentage");
				goto fail;
			}
		}
		if (!cJSON_GetObjectItemCaseSensitive(v, "p")) {
			r = fl_error_set(err, -EINVAL, "$.params.gemodel.p", "required");
			goto fail;
		}
		/* tc-netem(8) defaults: r = 1 - p, 1-h = 100%, 1-k = 0%. */
		if (!cJSON_GetObjectItemCaseSensitive(v, "r"))
			n->ge_r = UINT32_MAX - n->ge_p;
		if (!cJSON_GetObjectItemCaseSensitive(v, "1-h"))
			n->ge_h = UINT32_MAX;
		n->ge = true;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "gap"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9 ||
		    v->valuedouble != (double)(int)v->valuedouble) {
			r = fl_error_set(err, -EINVAL, "$.params.gap",
					 "expected a packet count 1..1000000000");
			goto fail;
		}
		n->gap = (uint32_t)v->valueint;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "limit"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > LIMIT_MAX ||
		    v->valuedouble != (double)(int)v->valuedouble) {
			r = fl_error_set(err, -EINVAL, "$.params.limit",
					 "expected a packet count 1..%u", LIMIT_MAX);
			goto fail;
		}
		n->limit = (uint32_t)v->valueint;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "rate"))) {
		if (!cJSON_IsString(v) || fl_nl_rate_parse(v->valuestring, &n->rate) < 0) {
			r = fl_error_set(err, -EINVAL, "$.params.rate",
					 "expected a rate like \"1mbit\" (bit, kbit, mbit, gbit, "
					 "bps, kbps, mbps, gbps)");
			goto fail;
		}
	}
	/* Cross-field rules, all before any side effect (iproute2's netem_parse_opt). */
	if (has_jitter && !has_delay)
		r = fl_error_set(err, -EINVAL, "$.params.jitter", "jitter needs a delay");
	else if (has_corr && !n->jitter_ns)
		r = fl_error_set(err, -EINVAL, "$.params.correlation",
				 "delay correlation needs a non-zero jitter");
	else if (n->dist != FL_NL_DIST_NONE && !n->jitter_ns)
		r = fl_error_set(err, -EINVAL, "$.params.distribution",
				 "a distribution needs a non-zero jitter");
	else if (has_lcorr && !n->loss)
		r = fl_error_set(err, -EINVAL, "$.params.loss_correlation",
				 "needs a non-zero loss");
	else if (n->ge && has_loss)
		r = fl_error_set(err, -EINVAL, "$.params.gemodel",
				 "give either loss or gemodel, not both");
	else if (has_dcorr && !n->duplicate)
		r = fl_error_set(err, -EINVAL, "$.params.duplicate_correlation",
				 "needs a non-zero duplicate");
	else if (has_ccorr && !n->corrupt)
		r = fl_error_set(err, -EINVAL, "$.params.corrupt_correlation",
				 "needs a non-zero corrupt");
	else if (n->reorder && !n->delay_ns)
		r = fl_error_set(err, -EINVAL, "$.params.reorder",
				 "reordering is not possible without a delay");
	else if (has_rcorr && !n->reorder)
		r = fl_error_set(err, -EINVAL, "$.params.reorder_correlation",
				 "needs a non-zero reorder");
	else if (n->gap && !n->reorder)
		r = fl_error_set(err, -EINVAL, "$.params.gap", "gap needs reorder");
	else if (!n->delay_ns && !n->loss && !n->ge && !n->duplicate && !n->corrupt && !n->rate)
		r = fl_error_set(
		    err, -EINVAL, "$.params",
		    "nothing to do: give delay, loss, gemodel, duplicate, corrupt or rate");
	if (r < 0)
		goto fail;
	r = fl_nl_match_parse(cJSON_GetObjectItemCaseSensitive(params, "match"), "$.params.match",
			      &s->m, err);
	if (r == 0)
		r = fl_nl_direction_parse(params, &s->ingress, err);
	if (r == 0)
		r = fl_nl_measure_parse(params, &s->meas, err);
	if (r < 0)
		goto fail;
	r = fl_nl_target_parse(target, s->m.ndst ? &s->m.dst[0] : NULL, &s->t, err);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	free(s);
	return r;
}

void fl_netem_free(void *spec)
{
	struct netem_spec *s = spec;

	if (!s)
		return;
	free(s->n.dist_data);
	free(s);
}

int fl_netem_describe(const void *spec, struct fl_buf *out)
{
	const struct netem_spec *s = spec;
	struct fl_buf leaf;
	int r;

	fl_buf_init(&leaf, 4096);
	r = fl_nl_netem_describe(&s->n, &leaf);
	if (r == 0)
		r = fl_nl_fault_describe(&s->t, &s->m, s->ingress, leaf.data, out);
	if (r == 0)
		r = fl_nl_measure_describe(&s->meas, out);
	fl_buf_done(&leaf);
	return r;
}

const struct fl_fault_spec_ops fl_fault_spec_netem = {
    .kind = "netem",
    .family = FL_FAULT_FAMILY_NETWORK,
    .parse = fl_netem_parse,
    .describe = fl_netem_describe,
    .free = fl_netem_free,
};
