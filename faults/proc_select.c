/*
 * Process selection for the process fault family: which processes a target
 * names (pid, name, cmdline, cgroup, pidfile, pod), picked by count or
 * percent with a seed; each one identified by pid + start time (procfs.c).
 */
#include "faults/proc_select.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/path.h"
#include "core/rng.h"
#include "core/regex.h"
#include "faults/pod_select.h"

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
		return fl_path_under(buf, sel->str);
	case FL_PROC_BY__MAX:
		break;
	}
	return false;
}

/*
 * A pidfile is a path a client names: only a regular file is opened (no
 * FIFO waited on, no device opened), the last component not followed.
 */
static int read_pidfile(const char *path, int *pid, struct fl_error *err)
{
	char buf[64];
	char *end = NULL;
	ssize_t n = 0;
	long v;
	int fd = fl_path_open_regular(path, O_RDONLY, true, NULL), r = 0;

	if (fd == -EINVAL || fd == -ELOOP)
		return fl_error_set(err, -EINVAL, "$.target.pidfile", "%s is not a regular file%s",
				    path, fd == -ELOOP ? " (a symbolic link)" : "");
	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
			;
		r = n < 0 ? -errno : 0;
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
	} else {
		r = fd;
	}
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
	/* A process is its thread group: another thread's id names no process. */
	if (want_pid) {
		int tgid = fl_proc_tgid(want_pid);

		if (tgid > 0 && tgid != want_pid) {
			/* The policy's word first (it judges the thread as its process). */
			if (ctx && ctx->allow_pid &&
			    (r = ctx->allow_pid(ctx->opaque, want_pid, err)) < 0)
				goto out;
			r = fl_error_set(err, -ESRCH,
					 sel->by == FL_PROC_BY_PID ? "$.target.pid"
								   : "$.target.pidfile",
					 "%d is a thread of process %d, not a process: name the "
					 "process",
					 want_pid, tgid);
			goto out;
		}
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
		if (sel->by == FL_PROC_BY_PID && sel->has_start && id.start != sel->start) {
			r = fl_error_set(
			    err, -ESRCH, "$.target.start",
			    "process %ld started at %llu, not %llu: the pid names another "
			    "process now",
			    pid, id.start, (unsigned long long)sel->start);
			goto out;
		}
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
