/*
 * netem through libnl: rtnl_netem_* for what libnl 3.7 encodes (limit, delay,
 * jitter, loss, duplicate, corrupt, reorder, gap, correlations, distribution
 * table), then libnl's nla_put for what it lacks (TCA_NETEM_LATENCY64/JITTER64
 * in ns, TCA_NETEM_RATE/RATE64, TCA_NETEM_LOSS with the Gilbert-Elliott model).
 *
 * netem's TCA_OPTIONS is not a plain nest: it is struct tc_netem_qopt followed
 * by attributes, and its length must span them (nla_parse_nested_compat in
 * sch_netem.c). libnl's netem_msg_fill_raw() already stretches TCA_OPTIONS to
 * the end of the message, so extra attributes go at the end and TCA_OPTIONS is
 * stretched again to cover them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>
#include <netlink/utils.h>

#include "core/duration.h"
#include "faults/nl_common.h"

const char *const fl_nl_dist_dirs[] = {
    "/usr/lib/x86_64-linux-gnu/tc",
    "/usr/lib/aarch64-linux-gnu/tc",
    "/usr/lib/tc",
    "/usr/lib64/tc",
    "/usr/local/lib/tc",
    NULL,
};

/* iproute2's .dist format: '#' comment lines, then integers separated by white space. */
static int dist_read(FILE *f, int16_t *data, size_t *n)
{
	char line[1024];

	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		if (*line == '#' || *line == '\n')
			continue;
		for (;;) {
			long x = strtol(p, &end, 0);

			if (end == p)
				break;
			if (*n >= MAXDIST || x < INT16_MIN || x > INT16_MAX)
				return -ERANGE;
			data[(*n)++] = (int16_t)x;
			p = end;
		}
	}
	return *n ? 0 : -ENODATA;
}

int fl_nl_dist_load(enum fl_nl_dist d, int16_t **data, size_t *len, struct fl_error *err)
{
	const char *name = fl_nl_dist_name(d), *env = getenv("TC_LIB_DIR");
	char path[512];
	int16_t *buf = NULL;
	FILE *f = NULL;
	int r;

	*data = NULL;
	*len = 0;
	if (d == FL_NL_DIST_NONE || d == FL_NL_DIST_UNIFORM)
		return 0; /* uniform is netem's built-in behaviour: no table */
	if (env && *env) {
		snprintf(path, sizeof(path), "%s/%s.dist", env, name);
		f = fopen(path, "re");
	}
	for (size_t i = 0; !f && fl_nl_dist_dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s.dist", fl_nl_dist_dirs[i], name);
		f = fopen(path, "re");
	}
	if (!f)
		return fl_error_set(err, -ENOENT, "$.params.distribution",
				    "no %s.dist table (install iproute2, or set TC_LIB_DIR)", name);
	buf = calloc(MAXDIST, sizeof(*buf));
	if (!buf) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	r = dist_read(f, buf, len);
	if (r < 0) {
		fl_error_set(err, r, "$.params.distribution", "%s: not a distribution table", path);
		goto out;
	}
	*data = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return r;
}

static int put_extras(struct nl_msg *msg, const struct fl_nl_netem *n)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *opts = nlmsg_find_attr(nlh, sizeof(struct tcmsg), TCA_OPTIONS);
	int64_t lat = (int64_t)n->delay_ns, jit = (int64_t)n->jitter_ns;

	if (!opts)
		return -EPROTO;
	/*
	 * libnl stretched TCA_OPTIONS to the end of its attributes, but then also
	 * added the stretch to nlmsg_len a second time (3.7: netem_msg_fill_raw),
	 * leaving zero bytes the kernel warns about ("bytes leftover"). Cut the
	 * message back to the end of TCA_OPTIONS, then append after it.
	 */
	{
		size_t end = (size_t)((char *)opts - (char *)nlh) + NLA_ALIGN(opts->nla_len);

		if (end > nlh->nlmsg_len)
			return -EPROTO;
		nlh->nlmsg_len = (uint32_t)end;
	}
	if (nla_put(msg, TCA_NETEM_LATENCY64, sizeof(lat), &lat) < 0 ||
	    nla_put(msg, TCA_NETEM_JITTER64, sizeof(jit), &jit) < 0)
		return -EMSGSIZE;
	if (n->rate) {
		struct tc_netem_rate rate = {
		    .rate = n->rate >= UINT32_MAX ? UINT32_MAX : (uint32_t)n->rate,
		};

		if (nla_put(msg, TCA_NETEM_RATE, sizeof(rate), &rate) < 0)
			return -EMSGSIZE;
		if (n->rate >= UINT32_MAX && nla_put_u64(msg, TCA_NETEM_RATE64, n->rate) < 0)
			return -EMSGSIZE;
	}
	if (n->ge) {
		/*
		 * The kernel's h is the chance to deliver in the bad state (it drops
		 * when a random u32 > h); tc-netem(8) and we take "1-h", the chance
		 * to drop there, and tc sends UINT32_MAX - "1-h" as h.
		 */
		struct tc_netem_gemodel ge = {
		    .p = n->ge_p, .r = n->ge_r, .h = UINT32_MAX - n->ge_h, .k1 = n->ge_k1};
		struct nlattr *loss = nla_nest_start(msg, TCA_NETEM_LOSS);

		if (!loss || nla_put(msg, NETEM_LOSS_GE, sizeof(ge), &ge) < 0)
			return -EMSGSIZE;
		nla_nest_end(msg, loss);
	}
	nlh = nlmsg_hdr(msg); /* unchanged: libnl does not reallocate in nla_put */
	opts->nla_len = (uint16_t)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len) - (char *)opts);
	return 0;
}

static int us_clamp(uint64_t ns)
{
	uint64_t us = ns / 1000;

	return us > INT_MAX ? INT_MAX : (int)us;
}

int fl_nl_netem_build(const struct fl_nl_netem *n, int ifindex, uint32_t parent, uint32_t handle,
		      int flags, struct nl_msg **out, struct fl_error *err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct nl_msg *msg = NULL;
	int r;

	if (!q)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), parent);
	rtnl_tc_set_handle(TC_CAST(q), handle);
	r = rtnl_tc_set_kind(TC_CAST(q), "netem");
	if (r < 0) {
		r = fl_error_set(err, fl_nl_errno(r), "", "libnl has no netem: %s", nl_geterror(r));
		goto out;
	}
	rtnl_netem_set_limit(q, n->limit ? (int)n->limit : 1000);
	if (n->delay_ns)
		rtnl_netem_set_delay(q, us_clamp(n->delay_ns));
	if (n->jitter_ns)
		rtnl_netem_set_jitter(q, us_clamp(n->jitter_ns));
	if (n->delay_corr)
		rtnl_netem_set_delay_correlation(q, (int)n->delay_corr);
	if (n->dist_data && n->dist_len) {
		r = rtnl_netem_set_delay_distribution_data(q, n->dist_data, n->dist_len);
		if (r < 0) {
			r = fl_error_set(err, fl_nl_errno(r), "$.params.distribution",
					 "distribution table: %s", nl_geterror(r));
			goto out;
		}
	}
	if (n->loss)
		rtnl_netem_set_loss(q, (int)n->loss);
	if (n->loss_corr)
		rtnl_netem_set_loss_correlation(q, (int)n->loss_corr);
	if (n->duplicate)
		rtnl_netem_set_duplicate(q, (int)n->duplicate);
	if (n->duplicate_corr)
		rtnl_netem_set_duplicate_correlation(q, (int)n->duplicate_corr);
	if (n->corrupt)
		rtnl_netem_set_corruption_probability(q, (int)n->corrupt);
	if (n->corrupt_corr)
		rtnl_netem_set_corruption_correlation(q, (int)n->corrupt_corr);
	if (n->reorder)
		rtnl_netem_set_reorder_probability(q, (int)n->reorder);
	if (n->reorder_corr)
		rtnl_netem_set_reorder_correlation(q, (int)n->reorder_corr);
	if (n->gap)
		rtnl_netem_set_gap(q, (int)n->gap);
	r = rtnl_qdisc_build_add_request(q, flags, &msg);
	if (r < 0) {
		r = fl_error_set(err, fl_nl_errno(r), "", "building netem request: %s",
				 nl_geterror(r));
		goto out;
	}
	r = put_extras(msg, n);
	if (r < 0) {
		fl_error_set(err, r, "", "netem options do not fit the request");
		goto out;
	}
	*out = msg;
	msg = NULL;
out:
	nlmsg_free(msg);
	rtnl_qdisc_put(q);
	return r;
}

struct parse_ctx {
	struct fl_nl_netem *n;
	size_t dist_len;
	int found;
};

static void parse_obj(struct nl_object *obj, void *arg)
{
	struct parse_ctx *c = arg;
	struct rtnl_qdisc *q = (struct rtnl_qdisc *)obj;
	struct fl_nl_netem *n = c->n;
	const char *kind = rtnl_tc_get_kind(TC_CAST(q));

	if (!kind || strcmp(kind, "netem"))
		return;
	c->found = 1;
	/*
	 * libnl's netem getters return int for u32 probabilities and -NLE_NOATTR
	 * when unset, so 100% (UINT32_MAX) reads as -1: take only the unambiguous
	 * values from libnl and the probabilities from the attributes below.
	 */
	n->limit = (uint32_t)rtnl_netem_get_limit(q);
	{
		int sz = rtnl_netem_get_delay_distribution_size(q);

		c->dist_len = sz > 0 ? (size_t)sz : 0;
	}
}

int fl_nl_netem_parse(struct nl_msg *msg, struct fl_nl_netem *n, size_t *dist_len,
		      struct fl_error *err)
{
	struct parse_ctx c = {.n = n};
	struct nlattr *tb[TCA_NETEM_MAX + 1], *opts;
	int r;

	memset(n, 0, sizeof(*n));
	nlmsg_set_proto(msg, NETLINK_ROUTE);
	r = nl_msg_parse(msg, parse_obj, &c);
	if (r < 0 || !c.found)
		return fl_error_set(err, r < 0 ? fl_nl_errno(r) : -EINVAL, "",
				    "not a netem qdisc message: %s", nl_geterror(r));
	if (dist_len)
		*dist_len = c.dist_len;
	/* The attributes libnl 3.7 does not parse. */
	opts = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct tcmsg), TCA_OPTIONS);
	if (!opts || nla_len(opts) < (int)NLA_ALIGN(sizeof(struct tc_netem_qopt)))
		return fl_error_set(err, -EINVAL, "", "netem message without options");
	r = nla_parse(
	    tb, TCA_NETEM_MAX,
	    (struct nlattr *)((char *)nla_data(opts) + NLA_ALIGN(sizeof(struct tc_netem_qopt))),
	    nla_len(opts) - (int)NLA_ALIGN(sizeof(struct tc_netem_qopt)), NULL);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "netem attributes: %s",
				    nl_geterror(r));
	{
		const struct tc_netem_qopt *qo = nla_data(opts);

		n->delay_ns = (uint64_t)nl_ticks2us(qo->latency) * 1000;
		n->jitter_ns = (uint64_t)nl_ticks2us(qo->jitter) * 1000;
		n->loss = qo->loss;
		n->gap = qo->gap;
		n->duplicate = qo->duplicate;
	}
	if (tb[TCA_NETEM_CORR] &&
	    nla_len(tb[TCA_NETEM_CORR]) >= (int)sizeof(struct tc_netem_corr)) {
		const struct tc_netem_corr *co = nla_data(tb[TCA_NETEM_CORR]);

		n->delay_corr = co->delay_corr;
		n->loss_corr = co->loss_corr;
		n->duplicate_corr = co->dup_corr;
	}
	if (tb[TCA_NETEM_REORDER] &&
	    nla_len(tb[TCA_NETEM_REORDER]) >= (int)sizeof(struct tc_netem_reorder)) {
		const struct tc_netem_reorder *ro = nla_data(tb[TCA_NETEM_REORDER]);

		n->reorder = ro->probability;
		n->reorder_corr = ro->correlation;
	}
	if (tb[TCA_NETEM_CORRUPT] &&
	    nla_len(tb[TCA_NETEM_CORRUPT]) >= (int)sizeof(struct tc_netem_corrupt)) {
		const struct tc_netem_corrupt *cr = nla_data(tb[TCA_NETEM_CORRUPT]);

		n->corrupt = cr->probability;
		n->corrupt_corr = cr->correlation;
	}
	if (dist_len && tb[TCA_NETEM_DELAY_DIST]) /* libnl 3.7 does not read it back */
		*dist_len = (size_t)nla_len(tb[TCA_NETEM_DELAY_DIST]) / sizeof(int16_t);
	if (tb[TCA_NETEM_LATENCY64])
		n->delay_ns = (uint64_t)nla_get_s64(tb[TCA_NETEM_LATENCY64]);
	if (tb[TCA_NETEM_JITTER64])
		n->jitter_ns = (uint64_t)nla_get_s64(tb[TCA_NETEM_JITTER64]);
	if (tb[TCA_NETEM_RATE] &&
	    nla_len(tb[TCA_NETEM_RATE]) >= (int)sizeof(struct tc_netem_rate)) {
		const struct tc_netem_rate *rate = nla_data(tb[TCA_NETEM_RATE]);

		n->rate = rate->rate;
	}
	if (tb[TCA_NETEM_RATE64])
		n->rate = nla_get_u64(tb[TCA_NETEM_RATE64]);
	if (tb[TCA_NETEM_LOSS]) {
		struct nlattr *lt[NETEM_LOSS_MAX + 1];

		r = nla_parse_nested(lt, NETEM_LOSS_MAX, tb[TCA_NETEM_LOSS], NULL);
		if (r == 0 && lt[NETEM_LOSS_GE] &&
		    nla_len(lt[NETEM_LOSS_GE]) >= (int)sizeof(struct tc_netem_gemodel)) {
			const struct tc_netem_gemodel *ge = nla_data(lt[NETEM_LOSS_GE]);

			n->ge = true;
			n->ge_p = ge->p;
			n->ge_r = ge->r;
			n->ge_h = UINT32_MAX - ge->h; /* back to "1-h" */
			n->ge_k1 = ge->k1;
		}
	}
	return 0;
}
