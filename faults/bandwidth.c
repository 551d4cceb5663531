/*
 * The `bandwidth` fault: a token bucket (tbf) caps an interface's egress,
 * optionally only for matched traffic.
 * iproute2 equivalent: tc qdisc replace dev DEV root tbf rate R burst B limit L [peakrate P mtu M]
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <netlink/utils.h>

#include "core/duration.h"
#include "faults/fault.h"
#include "faults/nl_common.h"

struct bw_spec {
	struct fl_nl_target t;
	struct fl_nl_match m;
	struct fl_nl_sock_cache sc;		    /* plan's socket, reused by apply */
	uint64_t rate, burst, limit, peakrate, mtu; /* bytes/s and bytes */
	uint64_t latency_us;			    /* used when limit is 0 */
	bool ingress;				    /* "direction": "ingress" (ifb) */
};

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
 */
static int bw_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const known[] = {"rate",	"burst", "limit", "latency",
					    "peakrate", "mtu",	 "match", "direction"};
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

/*
 * The tbf message, built here rather than by rtnl_qdisc_build_add_request():
 * libnl also computes and sends the 1 KiB rate table (TCA_TBF_RTAB, 256 tick
 * conversions, most of the cost of an apply in userspace), which the kernel
 * reads only to guess the link layer of a rate that does not name one. The
 * rates here name theirs (ethernet, what that guess gives), and the buffer,
 * mtu and limit are libnl's own formulas (rtnl_qdisc_tbf_set_rate,
 * _set_peakrate, _set_limit_by_latency with the rate alone), so the kernel
 * holds the same qdisc either way.
 */
static int bw_leaf(const void *spec, int ifindex, uint32_t parent, uint32_t handle, int flags,
		   struct nl_msg **msg, struct fl_error *err)
{
	const struct bw_spec *s = spec;
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC,
			    .tcm_ifindex = ifindex,
			    .tcm_parent = parent,
			    .tcm_handle = handle};
	struct tc_tbf_qopt q = {
	    .rate = {.rate = (uint32_t)s->rate, .linklayer = TC_LINKLAYER_ETHERNET},
	    .buffer = nl_us2ticks((uint32_t)rtnl_tc_calc_txtime((int)s->burst, (int)s->rate)),
	    .limit = s->limit
			 ? (uint32_t)s->limit
			 : (uint32_t)(int)((double)s->rate * ((double)s->latency_us / 1000000.) +
					   (double)s->burst)};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWQDISC, flags);
	struct nlattr *o;

	if (s->peakrate) {
		q.peakrate.rate = (uint32_t)s->peakrate;
		q.peakrate.linklayer = TC_LINKLAYER_ETHERNET;
		q.mtu = nl_us2ticks((uint32_t)rtnl_tc_calc_txtime((int)s->mtu, (int)s->peakrate));
	}
	if (!m || nlmsg_append(m, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, TCA_KIND, "tbf") < 0 || !(o = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_TBF_PARMS, sizeof(q), &q) < 0) {
		nlmsg_free(m);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	nla_nest_end(m, o);
	*msg = m;
	return 0;
}

static int bw_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct bw_spec *s = spec;
	char why[256];

	if (!s->ingress && s->m.any &&
	    (!fl_nl_probe(FL_NL_CAP_HTB, why, sizeof(why)) ||
	     !fl_nl_probe(FL_NL_CAP_U32, why, sizeof(why))))
		return fl_error_set(err, -EOPNOTSUPP, "$.params.match", "%s", why);
	return fl_nl_fault_plan(&s->t, "bandwidth", s->ingress, s->m.any,
				ctx ? ctx->fault_id : NULL, &s->sc, undo, err);
}

static int bw_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	struct bw_spec *s = spec;

	return fl_nl_fault_apply(&s->m, s->ingress, bw_leaf, s, &s->sc, ctx ? ctx->fault_id : NULL,
				 undo, err);
}

static int bw_describe(const void *spec, struct fl_buf *out)
{
	const struct bw_spec *s = spec;
	char a[32], b[32], c[32], d[32], e[32];
	char leaf[256];

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
	return fl_nl_fault_describe(&s->t, &s->m, s->ingress, leaf, out);
}

static bool bw_available(char *why, size_t whylen)
{
	return fl_nl_probe(FL_NL_CAP_TBF, why, whylen);
}

static void bw_free(void *spec)
{
	struct bw_spec *s = spec;

	if (s)
		fl_nl_sock_cache_done(&s->sc);
	free(s);
}

/* One network namespace; fl_fault_bandwidth below takes several pods (nl_multi.c). */
const struct fl_fault_ops fl_nl_bandwidth_one = {
    .kind = "bandwidth",
    .parse = bw_parse,
    .plan = bw_plan,
    .apply = bw_apply,
    .revert = fl_nl_fault_revert,
    .describe_plan = fl_nl_fault_describe_plan,
    .describe = bw_describe,
    .available = bw_available,
    .free = bw_free,
};

static int bw_mparse(const cJSON *target, const cJSON *params, void **spec, struct fl_error *err)
{
	return fl_nl_multi_parse(&fl_nl_bandwidth_one, target, params, spec, err);
}

static int bw_mrevert(const cJSON *undo, struct fl_error *err)
{
	return fl_nl_multi_revert(&fl_nl_bandwidth_one, undo, err);
}

static int bw_mdescribe_plan(const cJSON *undo, struct fl_buf *out)
{
	return fl_nl_multi_describe_plan(&fl_nl_bandwidth_one, undo, out);
}

const struct fl_fault_ops fl_fault_bandwidth = {
    .kind = "bandwidth",
    .parse = bw_mparse,
    .plan = fl_nl_multi_plan,
    .apply = fl_nl_multi_apply,
    .revert = bw_mrevert,
    .describe = fl_nl_multi_describe,
    .describe_plan = bw_mdescribe_plan,
    .available = bw_available,
    .free = fl_nl_multi_free,
};
