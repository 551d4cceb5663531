/*
 * The `bandwidth` fault's spec: a token bucket (tbf) for an interface's egress
 * or ingress, optionally only for matched traffic (faults/bandwidth.c applies it).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "faults/spec/bandwidth.h"

#define BURST_MIN    16384		 /* default floor: > a few full-size frames */
#define TBF_RATE_MAX ((uint64_t)INT_MAX) /* libnl's tbf API takes an int (bytes/s) */

static int get_rate(const cJSON *params, const char *key, uint64_t *out, struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
	char path[64];

	if (!v)
		return 0;
	snprintf(path, sizeof(path), "$.params.%s", key);
	if (!cJSON_IsString(v) || fl_nl_rate_parse(v->valuestring, out) < 0)
		return fl_error_set(err, -EINVAL, path,
				    "expected a rate like \"1mbit\" (bit, kbit, mbit, gbit, bps, "
				    "kbps, mbps, gbps)");
	if (*out > TBF_RATE_MAX)
		return fl_error_set(err, -ERANGE, path, "at most 17gbit");
	return 0;
}

static int get_size(const cJSON *params, const char *key, uint64_t *out, struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
	char path[64];

	if (!v)
		return 0;
	snprintf(path, sizeof(path), "$.params.%s", key);
	if (!cJSON_IsString(v) || fl_nl_size_parse(v->valuestring, out) < 0 || *out == 0 ||
	    *out > INT_MAX)
		return fl_error_set(err, -EINVAL, path,
				    "expected a size like \"32kb\" (b, kb, mb, gb; up to 2gb)");
	return 0;
}

/*
 * Grammar (params):
 *   rate      RATE (required)               tc: rate
 *   burst     SIZE (default max(rate x 20ms, 16kb))   tc: burst
 *   limit     SIZE  | latency DURATION (default latency 50ms)   tc: limit | latency
 *   peakrate  RATE (> rate), mtu SIZE (default 1514, with peakrate)   tc: peakrate, mtu
 *   match     see fl_nl_match_parse
 *   direction "egress" (default) | "ingress" (ifb + mirred, see nl_ingress.c)
 *   measure   see fl_nl_measure_parse
 */
int fl_bandwidth_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const known[] = {"rate", "burst", "limit",	  "latency", "peakrate",
					    "mtu",  "match", "direction", "measure"};
	struct bw_spec *s = calloc(1, sizeof(*s));
	const cJSON *it, *v;
	int r;

	if (!s)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
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
			r = fl_error_set(err, -EINVAL, path, "unknown bandwidth parameter");
			goto fail;
		}
	}
	if ((r = get_rate(params, "rate", &s->rate, err)) < 0 ||
	    (r = get_rate(params, "peakrate", &s->peakrate, err)) < 0 ||
	    (r = get_size(params, "burst", &s->burst, err)) < 0 ||
	    (r = get_size(params, "limit", &s->limit, err)) < 0 ||
	    (r = get_size(params, "mtu", &s->mtu, err)) < 0)
		goto fail;
	if (!s->rate) {
		r = fl_error_set(err, -EINVAL, "$.params.rate", "required");
		goto fail;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "latency"))) {
		if (s->limit) {
			r = fl_error_set(err, -EINVAL, "$.params.latency",
					 "give either limit or latency, not both");
			goto fail;
		}
		if (!cJSON_IsString(v) ||
		    fl_duration_parse_us(v->valuestring, 1000, &s->latency_us) < 0 ||
		    !s->latency_us || s->latency_us > 60000000) {
			r = fl_error_set(err, -EINVAL, "$.params.latency",
					 "expected a duration like \"50ms\" (up to 60s)");
			goto fail;
		}
	}
	if (!s->burst) {
		s->burst = s->rate / 50;
		if (s->burst < BURST_MIN)
			s->burst = BURST_MIN;
	}
	if (!s->limit && !s->latency_us)
		s->latency_us = 50000;
	if (s->peakrate && s->peakrate <= s->rate) {
		r = fl_error_set(err, -EINVAL, "$.params.peakrate", "must be above rate");
		goto fail;
	}
	if (s->mtu && !s->peakrate) {
		r = fl_error_set(err, -EINVAL, "$.params.mtu", "mtu only goes with peakrate");
		goto fail;
	}
	if (s->peakrate && !s->mtu)
		s->mtu = 1514;
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

void fl_bandwidth_free(void *spec)
{
	free(spec);
}

int fl_bandwidth_describe(const void *spec, struct fl_buf *out)
{
	const struct bw_spec *s = spec;
	char a[32], b[32], c[32], d[32], e[32];
	char leaf[256];
	int r;

	if (s->limit)
		snprintf(c, sizeof(c), "limit %s", fl_nl_size_fmt(s->limit, e, sizeof(e)));
	else
		snprintf(c, sizeof(c), "latency %s", fl_duration_fmt(s->latency_us, e, sizeof(e)));
	if (s->peakrate)
		snprintf(d, sizeof(d), " peakrate %s", fl_nl_rate_fmt(s->peakrate, e, sizeof(e)));
	else
		d[0] = '\0';
	snprintf(leaf, sizeof(leaf), "tbf rate %s burst %s %s%s%s%s",
		 fl_nl_rate_fmt(s->rate, a, sizeof(a)), fl_nl_size_fmt(s->burst, b, sizeof(b)), c,
		 d, s->peakrate ? " mtu " : "",
		 s->peakrate ? fl_nl_size_fmt(s->mtu, e, sizeof(e)) : "");
	r = fl_nl_fault_describe(&s->t, &s->m, s->ingress, leaf, out);
	return r < 0 ? r : fl_nl_measure_describe(&s->meas, out);
}

const struct fl_fault_spec_ops fl_fault_spec_bandwidth = {
    .kind = "bandwidth",
    .family = FL_FAULT_FAMILY_NETWORK,
    .parse = fl_bandwidth_parse,
    .describe = fl_bandwidth_describe,
    .free = fl_bandwidth_free,
};
