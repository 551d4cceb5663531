/*
 * Placeholder until the agent lands: a `fault` activity cannot run yet, and
 * says so. Replaced by the agent issue's implementation.
 */
#include "controller/fault_provider.h"

#include <errno.h>
#include <stdlib.h>

struct fl_fault_session {
	int unused;
};

int fl_fault_session_new(const struct fl_experiment *e, const struct fl_fault_session_opts *opts,
			 struct fl_fault_session **out, struct fl_error *err)
{
	(void)e;
	(void)opts;
	(void)out;
	return fl_error_set(err, -ENOSYS, NULL, "fault provider: this build has no agent support");
}

int fl_fault_session_preflight(struct fl_fault_session *s, struct fl_error *err)
{
	(void)s;
	return fl_error_set(err, -ENOSYS, NULL, "fault provider: this build has no agent support");
}

int fl_fault_session_apply(struct fl_fault_session *s, const struct fl_activity *a, cJSON **result,
			   struct fl_error *err)
{
	(void)s;
	(void)a;
	(void)result;
	return fl_error_set(err, -ENOSYS, NULL, "fault provider: this build has no agent support");
}

int fl_fault_session_revert_all(struct fl_fault_session *s, struct fl_error *err)
{
	(void)s;
	(void)err;
	return 0;
}

void fl_fault_session_free(struct fl_fault_session *s)
{
	free(s);
}
