/*
 * Process selection for the process fault family: which processes a target
 * names (pid, name, cmdline, cgroup, pidfile, pod), picked by count or
 * percent with a seed; each one identified by pid + start time (procfs.c).
 */
#include "faults/proc_select.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/regex.h"
#include "faults/pod_select.h"

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
	const char *c = s;

	if (s[0] != '/' || strlen(s) >= FL_PROC_PATH_MAX)
		return -EINVAL;
	while ((c = strchr(c, '/'))) {
		c++;
		if ((c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')))
			return -EINVAL;
	}
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

static bool cgroup_under(const char *cg, const char *want)
{
	size_t n = strlen(want);

	if (!strcmp(want, "/"))
		return true;
	return !strncmp(cg, want, n) && (cg[n] == '\0' || cg[n] == '/');
}

/* Does a (live, non-kernel) process match the selector? */
static bool proc_matches(const struct fl_proc_sel *sel, int pid, int want_pid)
{
	char path[64], buf[8192];
	size_t n;

	switch (sel->by) {
	case FL_PROC_BY_PID:
	case FL_PROC_BY_PIDFILE:
		return pid == want_pid;
	case FL_PROC_BY_POD:
		return true; /* only the pods' PIDs are scanned */
	case FL_PROC_BY_NAME:
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (fl_proc_read_small(path, buf, sizeof(buf), &n) < 0)
			return false;
		if (n && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		return !strcmp(buf, sel->str);
	case FL_PROC_BY_CMDLINE:
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if (fl_proc_read_small(path, buf, sizeof(buf), &n) < 0 || n == 0)
			return false;
		while (n && buf[n - 1] == '\0')
			n--;
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		return regexec(&sel->re, buf, 0, NULL, 0) == 0;
	case FL_PROC_BY_CGROUP:
		if (fl_proc_cgroup(pid, buf, sizeof(buf)) < 0)
			return false;
		return cgroup_under(buf, sel->str);
	case FL_PROC_BY__MAX:
		break;
	}
	return false;
}

static int read_pidfile(const char *path, int *pid, struct fl_error *err)
{
	char buf[64];
	char *end = NULL;
	long v;
	int r = fl_proc_read_small(path, buf, sizeof(buf), NULL);

	if (r < 0)
		return fl_error_set(err, r == -ENOENT ? -ESRCH : r, "$.target.pidfile",
				    "cannot read %s: %s", path, strerror(-r));
	errno = 0;
	v = strtol(buf, &end, 10);
	while (end && (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (errno || end == buf || *end || v < 1 || v > 4194304)
		return fl_error_set(err, -EINVAL, "$.target.pidfile",
				    "%s does not hold a process id", path);
	*pid = (int)v;
	return 0;
}

static int cmp_ident(const void *a, const void *b)
{
	const struct fl_proc_ident *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int fl_proc_sel_resolve(const struct fl_proc_sel *sel, const struct fl_fault_ctx *ctx,
			uint64_t *seed, struct fl_proc_ident **out, size_t *nout,
			struct fl_error *err)
{
	struct fl_proc_ident *v = NULL;
	size_t n = 0, cap = 0, refused = 0, matched = 0;
	struct fl_error first_refusal;
	int want_pid = 0;
	DIR *d = NULL;
	struct dirent *de = NULL;
	struct fl_proc_ident *podv = NULL; /* FL_PROC_BY_POD: the picked pods' processes */
	size_t podn = 0;
	int r = 0;

	*out = NULL;
	*nout = 0;
	fl_error_init(&first_refusal);
	*seed = sel->pick.has_seed ? sel->pick.seed : (ctx ? ctx->seed : 0);
	if (sel->by == FL_PROC_BY_PID)
		want_pid = sel->pid;
	else if (sel->by == FL_PROC_BY_PIDFILE) {
		r = read_pidfile(sel->str, &want_pid, err);
		if (r < 0)
			goto out;
	} else if (sel->by == FL_PROC_BY_POD) {
		/* count/percent pick pods, not processes (faults/pod_select.c). */
		r = fl_pod_sel_resolve(sel->pod, &sel->pick, *seed, &podv, &podn, err);
		if (r < 0)
			goto out;
	}
	/* A single PID needs no walk over /proc. */
	if (!want_pid) {
		d = opendir("/proc");
		if (!d) {
			r = fl_error_set(err, -errno, NULL, "cannot read /proc: %s",
					 strerror(errno));
			goto out;
		}
	}
	for (bool once = true; want_pid ? once : (de = readdir(d)) != NULL; once = false) {
		struct fl_proc_ident id;
		unsigned flags;
		char state;
		char *end = NULL;
		long pid = want_pid ? want_pid : strtol(de->d_name, &end, 10);

		if ((end && *end) || pid <= 0)
			continue;
		if (fl_proc_stat_full((int)pid, &state, &flags, &id.start) < 0)
			continue;
		if ((flags & FL_PROC_PF_KTHREAD) || state == 'Z' || state == 'X')
			continue;
		id.pid = (int)pid;
		if (podv && !bsearch(&id, podv, podn, sizeof(*podv), cmp_ident))
			continue;
		if (!proc_matches(sel, id.pid, want_pid))
			continue;
		matched++;
		if (ctx && ctx->allow_pid) {
			struct fl_error e;

			fl_error_init(&e);
			if (ctx->allow_pid(ctx->opaque, id.pid, &e) < 0) {
				if (!refused++)
					first_refusal = e;
				continue;
			}
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fl_proc_ident *nv;

			if (ncap > FL_PROC_CANDIDATES_MAX) {
				r = fl_error_set(err, -E2BIG, "$.target",
						 "more than %d processes match",
						 FL_PROC_CANDIDATES_MAX);
				goto out;
			}
			nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = id;
	}
	if (n == 0) {
		if (refused)
			r = fl_error_set(err, -EPERM,
					 first_refusal.path[0] ? first_refusal.path : "$.target",
					 "%s", first_refusal.msg);
		else
			r = fl_error_set(err, -ESRCH, "$.target", "no process matches (%s)",
					 matched ? "all matches refused" : "none found");
		goto out;
	}
	/* Sorted by PID first, so a recorded seed replays to the same choice. */
	qsort(v, n, sizeof(*v), cmp_ident);
	if (sel->pick.mode != FL_PICK_ALL && sel->by != FL_PROC_BY_POD) {
		n = fl_pick_shuffle(v, n, sizeof(*v), fl_pick_k(&sel->pick, n), *seed);
		qsort(v, n, sizeof(*v), cmp_ident);
	}
	*out = v;
	*nout = n;
	v = NULL;
out:
	if (d)
		closedir(d);
	free(v);
	free(podv);
	return r;
}

void fl_proc_sel_annotate(const struct fl_proc_sel *sel, cJSON *undo)
{
	if (sel->by == FL_PROC_BY_POD && sel->pod && sel->pod->record && undo)
		cJSON_AddItemToObject(undo, "pods", cJSON_Duplicate(sel->pod->record, true));
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
