/*
 * The `partition` fault: drop all IPv4/IPv6 traffic between this host (netns)
 * and the given peers, in one or both directions.
 *
 * Mechanism, picked by the plan (pre-flight) and recorded in the undo record:
 *   "cls_bpf"  clsact + a classic-BPF cls_bpf filter in direct-action mode that
 *              returns TC_ACT_SHOT for the peers (both directions; needs
 *              sch_ingress + cls_bpf, no gact, no netem). Leaves the root qdisc
 *              alone, so it composes with a netem or bandwidth fault.
 *   "netem"    where cls_bpf is missing: htb root + u32 filters steering packets
 *              to the peers into a netem `loss 100%` branch (egress: direction
 *              "to" only, as no ingress qdisc can hold netem).
 * The grammar and describe: faults/spec/partition.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/filter.h>
#include <netlink/socket.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/spec/partition.h"

static void part_free(void *spec)
{
	struct part_spec *s = spec;

	if (s)
		fl_nl_sock_cache_done(&s->sc);
	fl_partition_free(s);
}

struct sess {
	struct nl_sock *sk;
	int ifindex;
};

/* A socket in the netns (c's when given: plan's, reused by apply) and the interface. */
static int sess_open(struct fl_nl_sock_cache *c, const char *netns, const struct fl_nl_target *t,
		     const char *ifname, struct sess *s, char *ifout, struct fl_error *err)
{
	int r;

	s->sk = NULL;
	r = fl_nl_sock_get(c, netns, &s->sk, err);
	if (r < 0)
		return r;
	r = t ? fl_nl_target_resolve(s->sk, t, &s->ifindex, ifout, err)
	      : fl_nl_ifindex(s->sk, ifname, &s->ifindex, err);
	if (r < 0) {
		fl_nl_sock_put(c, s->sk);
		s->sk = NULL;
	}
	return r;
}

static void sess_close(struct fl_nl_sock_cache *c, struct sess *s)
{
	fl_nl_sock_put(c, s->sk);
	s->sk = NULL;
}

static int netem_leaf(const void *spec, int ifindex, uint32_t parent, uint32_t handle, int flags,
		      struct nl_msg **msg, struct fl_error *err)
{
	const struct part_spec *s = spec;

	return fl_nl_netem_build(&s->loss, ifindex, parent, handle, flags, msg, err);
}

/* The mechanism's plan: the undo record (cls_bpf, or the netem fallback). */
static int plan_mech(struct part_spec *s, const struct fl_fault_ctx *ctx, cJSON **undo,
		     struct fl_error *err)
{
	char why[256], why2[256], ifname[IF_NAMESIZE];
	struct sess se;
	cJSON *u = NULL, *hooks;
	int r, state;

	if (!fl_nl_probe(FL_NL_CAP_CLSACT_BPF, why, sizeof(why))) {
		/* Fallback: a netem loss 100% branch for packets to the peers. */
		if (s->dir != DIR_TO)
			return fl_error_set(err, -EOPNOTSUPP, "$.params.direction",
					    "%s; without it only direction \"to\" can be done "
					    "(netem loss branch)",
					    why);
		if (!fl_nl_probe(FL_NL_CAP_NETEM, why2, sizeof(why2)) ||
		    !fl_nl_probe(FL_NL_CAP_HTB, why2, sizeof(why2)) ||
		    !fl_nl_probe(FL_NL_CAP_U32, why2, sizeof(why2)))
			return fl_error_set(err, -EOPNOTSUPP, "", "%s, and %s", why, why2);
		r = fl_nl_fault_plan(&s->t, "partition", false, true, ctx, &s->sc, undo, err);
		if (r == 0 && !cJSON_AddStringToObject(*undo, "mechanism", "netem")) {
			cJSON_Delete(*undo);
			*undo = NULL;
			r = fl_error_set(err, -ENOMEM, "", "out of memory");
		}
		return r;
	}
	r = fl_nl_target_admit(&s->t, ctx, &s->sc, err);
	if (r < 0)
		return r;
	r = sess_open(&s->sc, s->t.netns, &s->t, NULL, &se, ifname, err);
	if (r < 0)
		return r;
	snprintf(s->t.resolved, sizeof(s->t.resolved), "%s", ifname); /* for a dry run */
	state = fl_nl_clsact_state(se.sk, se.ifindex, err);
	if (state < 0) {
		r = state;
		goto out;
	}
	if (state == 2) {
		r = fl_error_set(err, -EBUSY, "",
				 "dev %s has an ingress qdisc; partition needs clsact in its place",
				 ifname);
		goto out;
	}
	for (int h = 0; state == 1 && h < FL_NL_HOOK__MAX; h++) {
		int n = fl_nl_filter_count(se.sk, se.ifindex, (enum fl_nl_hook)h, FL_NL_PREF);

		if (n < 0) {
			r = fl_error_set(err, n, "", "reading the %s filters of %s",
					 fl_nl_hook_names[h], ifname);
			goto out;
		}
		if (n > 0) {
			r = fl_error_set(
			    err, -EBUSY, "",
			    "dev %s already has a filter at pref %d on %s (a faultline "
			    "partition?): revert it first",
			    ifname, FL_NL_PREF, fl_nl_hook_names[h]);
			goto out;
		}
	}
	u = cJSON_CreateObject();
	hooks = cJSON_CreateArray();
	if (!u || !hooks || !cJSON_AddItemToObject(u, "hooks", hooks)) {
		cJSON_Delete(hooks);
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	for (int h = 0; h < FL_NL_HOOK__MAX; h++)
		if (fl_partition_hook_on(s->dir, (enum fl_nl_hook)h))
			cJSON_AddItemToArray(hooks, cJSON_CreateString(fl_nl_hook_names[h]));
	if (!cJSON_AddStringToObject(u, "fault", "partition") ||
	    !cJSON_AddStringToObject(u, "mechanism", "cls_bpf") ||
	    !cJSON_AddStringToObject(u, "netns", s->t.netns) ||
	    !cJSON_AddNumberToObject(u, "netns_ino", (double)s->sc.ino) ||
	    !cJSON_AddStringToObject(u, "ifname", ifname) ||
	    !cJSON_AddBoolToObject(u, "created_clsact", state == 0)) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
	r = 0;
out:
	cJSON_Delete(u);
	sess_close(&s->sc, &se);
	return r;
}

static int part_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct part_spec *s = spec;
	int r = plan_mech(s, ctx, undo, err);

	/* The peer measured before: reachable now, it must not be once applied. */
	if (r == 0 && fl_nl_measure_plan(&s->meas, &s->rtt, *undo) < 0) {
		cJSON_Delete(*undo);
		*undo = NULL;
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	return r;
}

struct rec {
	const char *mech, *netns, *ifname;
	double ino;
	bool created;
	bool hook[FL_NL_HOOK__MAX];
};

static int rec_read(const cJSON *u, struct rec *rc, struct fl_error *err)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(u, "mechanism");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(u, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(u, "netns_ino");
	const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(u, "ifname");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(u, "created_clsact");
	const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(u, "hooks"), *it;

	memset(rc, 0, sizeof(*rc));
	if (!cJSON_IsString(m))
		return fl_error_set(err, -EINVAL, "", "malformed partition undo record");
	rc->mech = m->valuestring;
	if (strcmp(rc->mech, "cls_bpf"))
		return 0;
	if (!cJSON_IsString(ns) || !cJSON_IsNumber(ino) || !cJSON_IsString(ifn) ||
	    strlen(ifn->valuestring) >= IF_NAMESIZE || !cJSON_IsBool(cr) || !cJSON_IsArray(hooks))
		return fl_error_set(err, -EINVAL, "", "malformed partition undo record");
	rc->netns = ns->valuestring;
	rc->ino = ino->valuedouble;
	rc->ifname = ifn->valuestring;
	rc->created = cJSON_IsTrue(cr);
	cJSON_ArrayForEach(it, hooks)
	{
		for (int h = 0; h < FL_NL_HOOK__MAX; h++)
			if (cJSON_IsString(it) && !strcmp(it->valuestring, fl_nl_hook_names[h]))
				rc->hook[h] = true;
	}
	return 0;
}

static int bpf_revert(const struct rec *rc, struct fl_error *err)
{
	struct fl_nl_sock_cache c = {0};
	struct sess se;
	int r;

	r = sess_open(&c, rc->netns, NULL, rc->ifname, &se, NULL, err);
	/* The namespace is gone, or the path names another one now: so are our filters. */
	if (r == -ENOENT || r == -ENODEV || r == -EINVAL ||
	    (r == 0 && rc->netns[0] && (double)c.ino != rc->ino)) {
		if (r == 0)
			sess_close(&c, &se);
		fl_error_init(err);
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	for (int h = 0; h < FL_NL_HOOK__MAX && r == 0; h++)
		if (rc->hook[h])
			r = fl_nl_bpf_filter_del(se.sk, se.ifindex, (enum fl_nl_hook)h, err);
	/* faultline's clsact (this fault's or another's) goes with the last filter on it. */
	if (r == 0)
		r = fl_nl_clsact_release(se.sk, se.ifindex, rc->created, err);
	sess_close(&c, &se);
out:
	fl_nl_sock_cache_done(&c);
	return r;
}

static int part_revert(const cJSON *undo, struct fl_error *err)
{
	struct rec rc;
	int r = rec_read(undo, &rc, err);

	if (r < 0)
		return r;
	if (!strcmp(rc.mech, "netem"))
		return fl_nl_root_revert(undo, err);
	if (strcmp(rc.mech, "cls_bpf"))
		return fl_error_set(err, -EINVAL, "", "unknown partition mechanism %s", rc.mech);
	return bpf_revert(&rc, err);
}

static int part_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	struct part_spec *s = spec;
	struct sock_filter prog[FL_NL_BPF_INSNS_MAX];
	struct rec rc;
	struct sess se;
	int r;

	(void)ctx;
	r = rec_read(undo, &rc, err);
	if (r < 0)
		return r;
	if (!strcmp(rc.mech, "netem"))
		return fl_nl_root_apply(&s->peers, netem_leaf, s, &s->sc,
					ctx ? ctx->fault_id : NULL, undo, err);
	r = sess_open(&s->sc, rc.netns, NULL, rc.ifname, &se, NULL, err);
	if (r < 0)
		return r;
	if (rc.created)
		r = fl_nl_clsact_add(se.sk, se.ifindex, err);
	for (int h = 0; h < FL_NL_HOOK__MAX && r == 0; h++) {
		if (!rc.hook[h])
			continue;
		r = fl_nl_bpf_filter_add(
		    se.sk, se.ifindex, (enum fl_nl_hook)h, prog,
		    fl_nl_bpf_drop_prog((enum fl_nl_hook)h, s->peers.dst, s->peers.ndst, prog),
		    err);
	}
	sess_close(&s->sc, &se);
	if (r < 0) {
		struct fl_error e2;

		fl_error_init(&e2);
		(void)bpf_revert(&rc, &e2); /* undo what was done; err keeps the cause */
	}
	return r;
}

static int part_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	struct rec rc;
	int r = rec_read(undo, &rc, NULL);

	if (r < 0)
		return r;
	if (!strcmp(rc.mech, "netem"))
		return fl_nl_root_describe_plan(undo, out);
	r = fl_buf_printf(out, "mechanism: cls_bpf%s\n",
			  rc.created ? ""
				     : " (on the clsact qdisc that is there: it stays, unless "
				       "faultline added it and no other filter is left on it)");
	for (int h = 0; r == 0 && h < FL_NL_HOOK__MAX; h++)
		if (rc.hook[h])
			r = fl_buf_printf(out, "on revert: tc filter del dev %s %s pref %d\n",
					  rc.ifname, fl_nl_hook_names[h], FL_NL_PREF);
	if (r == 0 && rc.created)
		r = fl_buf_printf(out,
				  "on revert: tc qdisc del dev %s clsact (when no other filter "
				  "is left on it)\n",
				  rc.ifname);
	return r;
}

static bool part_available(char *why, size_t whylen)
{
	char w2[256];

	if (fl_nl_probe(FL_NL_CAP_CLSACT_BPF, why, whylen))
		return true;
	/* The netem fallback covers direction "to" only; say what is missing. */
	if (fl_nl_probe(FL_NL_CAP_NETEM, w2, sizeof(w2)))
		return true;
	snprintf(why + strlen(why), whylen - strlen(why), ", and %s", w2);
	return false;
}

/* One network namespace; fl_fault_partition below takes several pods (nl_multi.c). */
const struct fl_fault_ops fl_nl_partition_one = {
    .kind = "partition",
    .spec = &fl_fault_spec_partition,
    .parse = fl_partition_parse,
    .plan = part_plan,
    .apply = part_apply,
    .revert = part_revert,
    .describe = fl_partition_describe,
    .describe_plan = part_describe_plan,
    .available = part_available,
    .free = part_free,
};

FL_NL_MULTI_OPS(partition, part_available);
