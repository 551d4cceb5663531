/*
 * The `running` probe: how many live processes match a selector (the same
 * target keys as the kill and pause faults: pid, name, cmdline, cgroup,
 * pidfile). The result is the count, 0 when none; a zombie does not count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/slo.h"
#include "faults/proc_select.h"

int fl_probe_running_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
			 struct fl_error *err)
{
	cJSON *t = cJSON_Parse(p->target_json ? p->target_json : "{}");
	struct fl_proc_sel sel;
	struct fl_proc_ident *v = NULL;
	size_t n = 0, live = 0;
	uint64_t seed = 0;
	int r;

	(void)o;
	*result = NULL;
	memset(&sel, 0, sizeof(sel));
	if (!t)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	r = fl_proc_sel_parse(t, NULL, &sel, err);
	cJSON_Delete(t);
	if (r < 0)
		return r;
	r = fl_proc_sel_resolve(&sel, NULL, &seed, &v, &n, err);
	fl_proc_sel_done(&sel);
	if (r == -ESRCH || r == -ENOENT) {
		r = 0;
		n = 0;
	}
	if (r < 0) {
		free(v);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned long long start;
		char state = 0;

		if (fl_proc_stat(v[i].pid, &start, &state) == 0 && state != 'Z' && state != 'X')
			live++;
	}
	free(v);
	fl_error_init(err);
	*result = cJSON_CreateNumber((double)live);
	return *result ? 0 : fl_error_set(err, -ENOMEM, NULL, "out of memory");
}
