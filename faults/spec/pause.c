/*
 * pause: stop the selected processes until revert.
 *
 *   target := process target (faults/spec/proc_sel.h)
 *   params := { ["method": "auto" | "signal" | "freezer"] }
 *
 * "signal" sends SIGSTOP through pidfds and SIGCONT on revert; "freezer"
 * writes 1 to the target cgroup's cgroup.freeze (cgroup v2) and 0 on revert.
 * "auto" (default) uses the freezer for a `cgroup` target that picks all of
 * it, signals otherwise. Revert works from the undo record alone, touches
 * only processes whose start time still matches, and leaves alone what was
 * already stopped or frozen before the fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "faults/spec/pause.h"

void fl_pause_free(void *p)
{
	struct pause_spec *s = p;

	if (!s)
		return;
	fl_proc_sel_done(&s->sel);
	free(s);
}

int fl_pause_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const pkeys[] = {"method", NULL};
	struct pause_spec *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	r = fl_proc_sel_parse(target, NULL, &s->sel, err);
	if (r < 0)
		goto out;
	if (params) {
		const cJSON *v;

		if (!cJSON_IsObject(params)) {
			r = fl_error_set(err, -EINVAL, "$.params", "expected an object");
			goto out;
		}
		r = fl_api_only_keys(params, "$.params", pkeys, err);
		if (r < 0)
			goto out;
		v = cJSON_GetObjectItemCaseSensitive(params, "method");
		if (v) {
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "auto"))
				s->method = PAUSE_AUTO;
			else if (cJSON_IsString(v) && !strcmp(v->valuestring, "signal"))
				s->method = PAUSE_SIGNAL;
			else if (cJSON_IsString(v) && !strcmp(v->valuestring, "freezer"))
				s->method = PAUSE_FREEZER;
			else {
				r = fl_error_set(err, -EINVAL, "$.params.method",
						 "expected \"auto\", \"signal\" or \"freezer\"");
				goto out;
			}
		}
	}
	if (s->method == PAUSE_AUTO)
		s->method = (s->sel.by == FL_PROC_BY_CGROUP && s->sel.pick.mode == FL_PICK_ALL)
				? PAUSE_FREEZER
				: PAUSE_SIGNAL;
	if (s->method == PAUSE_FREEZER &&
	    (s->sel.by != FL_PROC_BY_CGROUP || s->sel.pick.mode != FL_PICK_ALL)) {
		r = fl_error_set(err, -EINVAL, "$.params.method",
				 "the freezer pauses a whole cgroup: it needs a \"cgroup\" target "
				 "without count/percent");
		goto out;
	}
	if (s->method == PAUSE_FREEZER && !strcmp(s->sel.str, "/")) {
		r = fl_error_set(err, -EINVAL, "$.target.cgroup",
				 "refusing to freeze the root cgroup");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	fl_pause_free(s);
	return r;
}

int fl_pause_describe(const void *p, struct fl_buf *out)
{
	const struct pause_spec *s = p;
	int r;

	if (s->method == PAUSE_FREEZER)
		r = fl_buf_printf(out, "echo 1 > <cgroup2>%s/cgroup.freeze (", s->sel.str);
	else
		r = fl_buf_printf(out, "kill -STOP (");
	if (r < 0)
		return r;
	r = fl_proc_sel_describe(&s->sel, out);
	if (r < 0)
		return r;
	return fl_buf_printf(out, "), resumed on revert");
}

const struct fl_fault_spec_ops fl_fault_spec_pause = {
    .kind = "pause",
    .family = FL_FAULT_FAMILY_PROCESS,
    .parse = fl_pause_parse,
    .describe = fl_pause_describe,
    .free = fl_pause_free,
};
