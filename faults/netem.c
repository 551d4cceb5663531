/*
 * The `netem` fault: delay, jitter, loss, duplication, corruption, reordering
 * and rate on an interface's egress (or ingress), optionally only for matched
 * traffic. iproute2 equivalent: tc qdisc replace dev DEV root netem ... The
 * grammar and describe: faults/spec/netem.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/spec/netem.h"

/* The spec, and the distribution table of this host (iproute2's .dist files). */
static int netem_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct netem_spec *s;
	int r = fl_netem_parse(target, params, out, err);

	if (r < 0)
		return r;
	s = *out;
	r = fl_nl_dist_load(s->n.dist, &s->n.dist_data, &s->n.dist_len, err);
	if (r < 0) {
		fl_netem_free(s);
		*out = NULL;
	}
	return r;
}

static void netem_free(void *spec)
{
	struct netem_spec *s = spec;

	if (s)
		fl_nl_sock_cache_done(&s->sc);
	fl_netem_free(s);
}

static int netem_leaf(const void *spec, int ifindex, uint32_t parent, uint32_t handle, int flags,
		      struct nl_msg **msg, struct fl_error *err)
{
	const struct netem_spec *s = spec;

	return fl_nl_netem_build(&s->n, ifindex, parent, handle, flags, msg, err);
}

static int scope_check(const struct fl_nl_match *m, struct fl_error *err)
{
	char why[256];

	if (!m->any)
		return 0;
	if (!fl_nl_probe(FL_NL_CAP_HTB, why, sizeof(why)) ||
	    !fl_nl_probe(FL_NL_CAP_U32, why, sizeof(why)))
		return fl_error_set(err, -EOPNOTSUPP, "$.params.match", "%s", why);
	return 0;
}

static int netem_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
		      struct fl_error *err)
{
	struct netem_spec *s = spec;
	int r;

	r = s->ingress ? 0 : scope_check(&s->m, err);
	if (r < 0)
		return r;
	r = fl_nl_fault_plan(&s->t, "netem", s->ingress, s->m.any, ctx, &s->sc, undo, err);
	if (r == 0 && fl_nl_measure_plan(&s->meas, &s->rtt, *undo) < 0) {
		cJSON_Delete(*undo);
		*undo = NULL;
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	return r;
}

static int netem_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
		       struct fl_error *err)
{
	struct netem_spec *s = spec;

	return fl_nl_fault_apply(&s->m, s->ingress, netem_leaf, s, &s->sc,
				 ctx ? ctx->fault_id : NULL, undo, err);
}

static bool netem_available(char *why, size_t whylen)
{
	return fl_nl_probe(FL_NL_CAP_NETEM, why, whylen);
}

/* One network namespace; fl_fault_netem below takes several pods (nl_multi.c). */
const struct fl_fault_ops fl_nl_netem_one = {
    .kind = "netem",
    .spec = &fl_fault_spec_netem,
    .parse = netem_parse,
    .plan = netem_plan,
    .apply = netem_apply,
    .revert = fl_nl_fault_revert,
    .describe_plan = fl_nl_fault_describe_plan,
    .describe = fl_netem_describe,
    .available = netem_available,
    .free = netem_free,
};

FL_NL_MULTI_OPS(netem, netem_available);
