/*
 * A network fault's plan starts here: the namespace its target names is
 * opened and judged by the agent's policy (fl_nl_target_admit; partition's
 * cls_bpf plan too). Then netem and bandwidth go on an interface's egress
 * (the root qdisc engine, nl_qdisc.c) or its ingress (an ifb device,
 * nl_ingress.c): the switch between the two, by "direction" in the spec and
 * by the undo record's own shape on revert.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/procfs.h"

int fl_nl_target_admit(const struct fl_nl_target *t, const struct fl_fault_ctx *ctx,
		       struct fl_nl_sock_cache *c, struct fl_error *err)
{
	struct fl_nl_sock_cache local = {0};
	struct fl_fault_netns ns = {0};
	struct fl_nl_ns_id self;
	struct nl_sock *sk = NULL;
	int r;

	if (!c)
		c = &local;
	/* A process is its thread group: another thread's namespace is not "the process's". */
	if (t->via_pid) {
		int tgid = fl_proc_tgid(t->pid);
		unsigned long long st = 0;

		if (tgid > 0 && tgid != t->pid)
			return fl_error_set(err, -ESRCH, "$.target.pid",
					    "%d is a thread of process %d, not a process: name the "
					    "process",
					    t->pid, tgid);
		/* "start": the process the controller saw, or nothing. */
		if (t->has_start && fl_proc_stat(t->pid, &st, NULL) == 0 && st != t->start)
			return fl_error_set(err, -ESRCH, "$.target.start",
					    "process %d started at %llu, not %llu: the pid names "
					    "another process now",
					    t->pid, st, (unsigned long long)t->start);
	}
	r = fl_nl_sock_get(c, t->netns, &sk, err);
	if (r < 0) {
		if (err && !err->path[0])
			snprintf(err->path, sizeof(err->path), "%s",
				 t->field ? t->field : "$.target");
		goto out;
	}
	fl_nl_sock_put(c, sk);
	if (!ctx || !ctx->allow_netns)
		goto out;
	ns.field = t->field ? t->field : "$.target";
	if (t->netns[0]) {
		ns.dev = c->dev;
		ns.ino = c->ino;
		ns.label = t->netns;
		ns.named = !t->via_pid;
	} else {
		r = fl_nl_ns_self(&self);
		if (r < 0) {
			r = fl_error_set(err, r, "$.target",
					 "the agent's own network namespace: %s", strerror(-r));
			goto out;
		}
		ns.dev = self.dev;
		ns.ino = self.ino;
		ns.label = "the agent's own";
		ns.own = true;
	}
	r = ctx->allow_netns(ctx->opaque, &ns, err);
out:
	if (c == &local)
		fl_nl_sock_cache_done(&local);
	return r;
}

int fl_nl_fault_plan(struct fl_nl_target *t, const char *kind, bool ingress, bool scoped,
		     const struct fl_fault_ctx *ctx, struct fl_nl_sock_cache *c, cJSON **undo,
		     struct fl_error *err)
{
	const char *id = ctx ? ctx->fault_id : NULL;
	const cJSON *ifn;
	int r = fl_nl_target_admit(t, ctx, c, err);

	if (r < 0)
		return r;
	r = ingress ? fl_nl_ingress_plan(t, kind, c, undo, err)
		    : fl_nl_root_plan(t, kind, scoped, c, undo, err);
	if (r < 0)
		return r;
	if (id && !cJSON_AddStringToObject(*undo, "fault_id", id)) {
		cJSON_Delete(*undo);
		*undo = NULL;
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	ifn = cJSON_GetObjectItemCaseSensitive(*undo, "ifname");
	if (cJSON_IsString(ifn))
		snprintf(t->resolved, sizeof(t->resolved), "%s", ifn->valuestring);
	return 0;
}

int fl_nl_fault_apply(const struct fl_nl_match *m, bool ingress, fl_nl_leaf_build build,
		      const void *spec, struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
		      struct fl_error *err)
{
	if (ingress != fl_nl_undo_is_ingress(undo))
		return fl_error_set(err, -EINVAL, "", "the undo record is not this fault's");
	return ingress ? fl_nl_ingress_apply(m, build, spec, c, id, undo, err)
		       : fl_nl_root_apply(m, build, spec, c, id, undo, err);
}

int fl_nl_fault_revert(const cJSON *undo, struct fl_error *err)
{
	return fl_nl_undo_is_ingress(undo) ? fl_nl_ingress_revert(undo, err)
					   : fl_nl_root_revert(undo, err);
}

int fl_nl_fault_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	return fl_nl_undo_is_ingress(undo) ? fl_nl_ingress_describe_plan(undo, out)
					   : fl_nl_root_describe_plan(undo, out);
}
