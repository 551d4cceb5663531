/*
 * Fault kind `syscall`: arm the preload shim's rule table of running
 * processes (those started with libfaultline-preload.so register
 * /dev/shm/faultline-<pid>), or launch a command under the shim or a
 * seccomp filter (faults/syscall_launch.h). The grammar and describe:
 * faults/spec/syscall.c.
 *
 * Plan, apply, revert and renew are the shim-table machinery the time, dns
 * and stream kinds share (faults/shim_table.c): the undo record names the
 * tables; revert disarms them (a table whose process has exited is already
 * gone, which counts as reverted). For a launched command it also holds the
 * process (pid + start time, added by apply) and a table the agent created
 * ("created": true): revert disarms, stops the command (unless "keep") and
 * removes that table.
 */
#include <errno.h>
#include <stdio.h>

#include "faults/fault.h"
#include "faults/seccomp.h"
#include "faults/shim_table.h"
#include "faults/spec/syscall.h"

/*
 * The spec, and for the seccomp mode what only this kernel can say: every
 * rule's syscall resolves, and p=/when= rules can be supervised.
 */
static int syscall_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct syscall_spec *s;
	int rc = fl_syscall_parse(target, params, out, err);

	if (rc < 0)
		return rc;
	s = *out;
	if (s->seccomp) {
		/* Checked against this kernel now; the plan is made at apply, with the seed. */
		struct fl_seccomp_plan *sp = NULL;

		rc = fl_seccomp_plan_new(s->rules, s->nrules, 0, &sp, err);
		if (rc == 0 && fl_seccomp_plan_needs_notify(sp)) {
			struct fl_seccomp_caps caps;

			fl_seccomp_probe(&caps);
			if (!caps.pidfd_getfd)
				rc = fl_error_set(err, -EOPNOTSUPP, "",
						  "p= and when= need pidfd_getfd (Linux 5.6) for "
						  "the agent to supervise the command");
		}
		fl_seccomp_plan_free(sp);
		if (rc < 0) {
			snprintf(err->path, sizeof(err->path), "$.params.rules");
			fl_syscall_free(s);
			*out = NULL;
		}
	}
	return rc;
}

static int syscall_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
			struct fl_error *err)
{
	return fl_shim_plan(spec, ctx, undo, err);
}

static int syscall_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
			 struct fl_error *err)
{
	return fl_shim_apply(spec, ctx, undo, err);
}

const struct fl_fault_ops fl_fault_syscall = {
    .kind = "syscall",
    .spec = &fl_fault_spec_syscall,
    .parse = syscall_parse,
    .plan = syscall_plan,
    .apply = syscall_apply,
    .revert = fl_shim_revert,
    .renew = fl_shim_renew,
    .effect = fl_shim_effect,
    .describe = fl_syscall_describe,
    .available = fl_shim_available,
    .free = fl_syscall_free,
};
