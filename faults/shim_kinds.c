/*
 * The ops of the time, dns and stream kinds: their specs (faults/spec/
 * {time,dns,stream}.c) are shim rules on the syscall kind's target, armed,
 * renewed and reverted by the machinery `syscall` uses (faults/shim_table.c):
 * the same undo record, the same crash safety (the journal's record reverted
 * on start; the tables' own deadline when no agent comes back).
 */
#include "faults/fault.h"
#include "faults/shim_table.h"
#include "faults/spec/shim_kinds.h"

static int shim_kind_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
			  struct fl_error *err)
{
	return fl_shim_plan(&((struct shim_kind_spec *)spec)->sc, ctx, undo, err);
}

static int shim_kind_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
			   struct fl_error *err)
{
	return fl_shim_apply(&((struct shim_kind_spec *)spec)->sc, ctx, undo, err);
}

#define SHIM_KIND(k)                                                                               \
	const struct fl_fault_ops fl_fault_##k = {                                                 \
	    .kind = #k,                                                                            \
	    .spec = &fl_fault_spec_##k,                                                            \
	    .parse = fl_##k##_parse,                                                               \
	    .plan = shim_kind_plan,                                                                \
	    .apply = shim_kind_apply,                                                              \
	    .revert = fl_shim_revert,                                                              \
	    .renew = fl_shim_renew,                                                                \
	    .effect = fl_shim_effect,                                                              \
	    .describe = fl_shim_kind_describe,                                                     \
	    .describe_plan = fl_shim_describe_plan,                                                \
	    .available = fl_shim_available,                                                        \
	    .free = fl_shim_kind_free,                                                             \
	}

SHIM_KIND(time);
SHIM_KIND(dns);
SHIM_KIND(stream);
