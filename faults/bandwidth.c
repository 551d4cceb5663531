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
#include <netlink/utils.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/spec/bandwidth.h"

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
	int r;

	if (!s->ingress && s->m.any &&
	    (!fl_nl_probe(FL_NL_CAP_HTB, why, sizeof(why)) ||
	     !fl_nl_probe(FL_NL_CAP_U32, why, sizeof(why))))
		return fl_error_set(err, -EOPNOTSUPP, "$.params.match", "%s", why);
	r = fl_nl_fault_plan(&s->t, "bandwidth", s->ingress, s->m.any, ctx, &s->sc, undo, err);
	if (r == 0 && fl_nl_measure_plan(&s->meas, &s->rtt, *undo) < 0) {
		cJSON_Delete(*undo);
		*undo = NULL;
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	return r;
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
