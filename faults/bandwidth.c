/*
 * The `bandwidth` fault: a token bucket (tbf) caps an interface's egress,
 * optionally only for matched traffic. The grammar and describe:
 * faults/spec/bandwidth.c. iproute2 equivalent: tc qdisc replace dev DEV root tbf rate R burst B
 * limit L [peakrate P mtu M]
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

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/spec/bandwidth.h"

static int bw_leaf(const void *spec, int ifindex, uint32_t parent, uint32_t handle, int flags,
		   struct nl_msg **msg, struct fl_error *err)
{
	const struct bw_spec *s = spec;
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r;

	if (!q)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), parent);
	rtnl_tc_set_handle(TC_CAST(q), handle);
	r = rtnl_tc_set_kind(TC_CAST(q), "tbf");
	if (r == 0) {
		rtnl_qdisc_tbf_set_rate(q, (int)s->rate, (int)s->burst, 0);
		if (s->limit)
			rtnl_qdisc_tbf_set_limit(q, (int)s->limit);
		else
			r = rtnl_qdisc_tbf_set_limit_by_latency(q, (int)s->latency_us);
	}
	if (r == 0 && s->peakrate)
		r = rtnl_qdisc_tbf_set_peakrate(q, (int)s->peakrate, (int)s->mtu, 0);
	if (r == 0)
		r = rtnl_qdisc_build_add_request(q, flags, msg);
	rtnl_qdisc_put(q);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "building tbf request: %s",
				    nl_geterror(r));
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

static bool bw_available(char *why, size_t whylen)
{
	return fl_nl_probe(FL_NL_CAP_TBF, why, whylen);
}

static void bw_free(void *spec)
{
	struct bw_spec *s = spec;

	if (s)
		fl_nl_sock_cache_done(&s->sc);
	fl_bandwidth_free(s);
}

/* One network namespace; fl_fault_bandwidth below takes several pods (nl_multi.c). */
const struct fl_fault_ops fl_nl_bandwidth_one = {
    .kind = "bandwidth",
    .spec = &fl_fault_spec_bandwidth,
    .parse = fl_bandwidth_parse,
    .plan = bw_plan,
    .apply = bw_apply,
    .revert = fl_nl_fault_revert,
    .describe_plan = fl_nl_fault_describe_plan,
    .describe = fl_bandwidth_describe,
    .available = bw_available,
    .free = bw_free,
};

FL_NL_MULTI_OPS(bandwidth, bw_available);
