/*
 * netem and bandwidth go on an interface's egress (the root qdisc engine,
 * nl_qdisc.c) or its ingress (an ifb device, nl_ingress.c): the switch
 * between the two, by "direction" in the spec and by the undo record's own
 * shape on revert.
 */
#include <errno.h>
#include <stdio.h>

#include "faults/nl_common.h"

int fl_nl_fault_plan(struct fl_nl_target *t, const char *kind, bool ingress, bool scoped,
		     const char *id, struct fl_nl_sock_cache *c, cJSON **undo, struct fl_error *err)
{
	const cJSON *ifn;
	int r = ingress ? fl_nl_ingress_plan(t, kind, c, undo, err)
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
