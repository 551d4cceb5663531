/*
 * The target of a process fault (kill, pause, and the pods of syscall): its
 * grammar, checked offline. Which processes it names now is fl_proc's
 * (faults/proc_select.c).
 */
#include "faults/spec/proc_sel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/path.h"
#include "core/regex.h"
#include "faults/spec/pod_sel.h"

void fl_proc_sel_done(struct fl_proc_sel *sel)
{
	if (!sel)
		return;
	if (sel->re_ok)
		regfree(&sel->re);
	fl_pod_sel_done(sel->pod);
	free(sel->pod);
	free(sel->str);
	memset(sel, 0, sizeof(*sel));
}

static bool key_in(const char *k, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(k, list[i]))
			return true;
	return false;
}

/* An absolute path without "." or ".." components (no way out of where it points). */
static int abs_path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) >= FL_PROC_PATH_MAX || fl_path_has_dot_component(s))
		return -EINVAL;
	return 0;
}

int fl_proc_sel_parse(const cJSON *target, const char *const *extra, struct fl_proc_sel *sel,
		      struct fl_error *err)
{
	static const char *const selectors[] = {"pid",	   "name", "cmdline", "cgroup",
						"pidfile", "pod",  NULL};
	const char *sel_key = NULL;
	char path[128];
	int r = 0;

	memset(sel, 0, sizeof(*sel));
	if (!cJSON_IsObject(target))
		return fl_error_set(err, -EINVAL, "$.target", "expected an object");
	for (const cJSON *c = target->child; c; c = c->next) {
		snprintf(path, sizeof(path), "$.target.%.64s", c->string);
		if (key_in(c->string, selectors)) {
			if (sel_key) {
				r = fl_error_set(
				    err, -EINVAL, path,
				    "only one of pid, name, cmdline, cgroup, pidfile, pod "
				    "may be given (already have \"%s\")",
				    sel_key);
				goto out;
			}
			sel_key = c->string;
		} else if (!strcmp(c->string, "start")) {
			if (fl_json_get_u64(c, &sel->start) < 0) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected the process's start time: field 22 of "
						 "/proc/PID/stat (an unsigned integer)");
				goto out;
			}
			sel->has_start = true;
		} else if (!fl_pick_key(c->string) && !key_in(c->string, extra)) {
			r = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
	/* count/percent/all and seed: the one grammar of core/rng.h. */
	r = fl_pick_parse(target, "$.target", 0, &sel->pick, err);
	if (r < 0)
		goto out;
	if (!sel_key) {
		r = fl_error_set(
		    err, -EINVAL, "$.target",
		    "missing selector: one of pid, name, cmdline, cgroup, pidfile, pod");
		goto out;
	}
	if (sel->has_start && strcmp(sel_key, "pid")) {
		r = fl_error_set(
		    err, -EINVAL, "$.target.start",
		    "\"start\" pins the process a \"pid\" names: give it with \"pid\"");
		goto out;
	}
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(target, sel_key);

		snprintf(path, sizeof(path), "$.target.%s", sel_key);
		if (!strcmp(sel_key, "pid")) {
			sel->by = FL_PROC_BY_PID;
			if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
			    v->valuedouble < 1 || v->valuedouble > 4194304) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected a process id (integer >= 1)");
				goto out;
			}
			sel->pid = (int)v->valuedouble;
			goto out;
		}
		if (!strcmp(sel_key, "pod")) {
			sel->by = FL_PROC_BY_POD;
			sel->pod = malloc(sizeof(*sel->pod));
			r = sel->pod ? fl_pod_sel_parse(v, path, sel->pod, err)
				     : fl_error_set(err, -ENOMEM, NULL, "out of memory");
			if (r < 0) {
				free(sel->pod);
				sel->pod = NULL;
			}
			goto out;
		}
		if (!cJSON_IsString(v) || !*v->valuestring) {
			r = fl_error_set(err, -EINVAL, path, "expected a non-empty string");
			goto out;
		}
		sel->str = strdup(v->valuestring);
		if (!sel->str) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		if (!strcmp(sel_key, "name")) {
			sel->by = FL_PROC_BY_NAME;
			if (strlen(sel->str) > FL_PROC_COMM_MAX || strchr(sel->str, '/')) {
				r = fl_error_set(
				    err, -EINVAL, path,
				    "a process name is the kernel's comm: at most %d "
				    "characters, no '/'; use \"cmdline\" for longer names",
				    FL_PROC_COMM_MAX);
				goto out;
			}
		} else if (!strcmp(sel_key, "cmdline")) {
			int rc;

			sel->by = FL_PROC_BY_CMDLINE;
			if (strlen(sel->str) > FL_PROC_REGEX_MAX) {
				r = fl_error_set(err, -EINVAL, path,
						 "regular expression longer than %d bytes",
						 FL_PROC_REGEX_MAX);
				goto out;
			}
			if (fl_regex_check(sel->str, NULL, 0) < 0) {
				r = fl_error_set(err, -E2BIG, path,
						 "regular expression too complex (repetitions)");
				goto out;
			}
			rc = regcomp(&sel->re, sel->str, REG_EXTENDED | REG_NOSUB);
			if (rc) {
				char m[128];

				regerror(rc, &sel->re, m, sizeof(m));
				r = fl_error_set(err, -EINVAL, path,
						 "invalid regular expression: %s", m);
				goto out;
			}
			sel->re_ok = true;
		} else if (!strcmp(sel_key, "cgroup")) {
			size_t n;

			sel->by = FL_PROC_BY_CGROUP;
			if (abs_path_ok(sel->str) < 0) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected a cgroup v2 path like "
						 "\"/system.slice/demo.service\"");
				goto out;
			}
			n = strlen(sel->str);
			while (n > 1 && sel->str[n - 1] == '/')
				sel->str[--n] = '\0';
		} else {
			sel->by = FL_PROC_BY_PIDFILE;
			if (abs_path_ok(sel->str) < 0) {
				r = fl_error_set(err, -EINVAL, path, "expected an absolute path");
				goto out;
			}
		}
	}
out:
	if (r < 0)
		fl_proc_sel_done(sel);
	return r;
}

int fl_proc_sel_describe(const struct fl_proc_sel *sel, struct fl_buf *out)
{
	static const char *const by[] = {"pid", "name", "cmdline", "cgroup", "pidfile"};
	int r;

	if (sel->by == FL_PROC_BY_POD)
		r = fl_pod_sel_describe(sel->pod, out);
	else if (sel->by == FL_PROC_BY_PID)
		r = fl_buf_printf(out, "pid=%d", sel->pid);
	else
		r = fl_buf_printf(out, "%s=%s", by[sel->by], sel->str);
	if (r < 0)
		return r;
	switch (sel->pick.mode) {
	case FL_PICK_ALL:
		return fl_buf_printf(out, " all");
	case FL_PICK_COUNT:
		return fl_buf_printf(out, " count=%lu", sel->pick.count);
	case FL_PICK_PERCENT:
		return fl_buf_printf(out, " percent=%g", sel->pick.percent);
	case FL_PICK__MAX:
		break;
	}
	return 0;
}
