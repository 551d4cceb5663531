/*
 * Process selection and pidfd signalling for the process fault family.
 * A process is named by (pid, start time): the start time is read again
 * after pidfd_open(2), so a pidfd that we signal always refers to the process
 * that was planned, never to a newcomer that inherited its PID. A recorded
 * identity carries the boot it was taken in (the kernel's boot_id): the
 * start time counts from boot, so after a reboot the same (pid, start) can
 * name another process -- services started early in boot often get both
 * again -- and a record of another boot names no process at all.
 */
#include "faults/proc_select.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/path.h"
#include "core/rng.h"
#include "core/regex.h"
#include "faults/pod_select.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#define FL_PF_KTHREAD 0x00200000u

static int read_small(const char *path, char *buf, size_t len, size_t *got)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		ssize_t k = read(fd, buf + n, len - 1 - n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	if (got)
		*got = n;
	return r;
}

/* Parse /proc/PID/stat: comm is in parentheses and may contain spaces or ')'. */
static int proc_stat_full(int pid, char *state, unsigned *flags, unsigned long long *start)
{
	char path[64], buf[1024];
	char *p;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	r = read_small(path, buf, sizeof(buf), NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	/* Fields from 3: state ppid pgrp session tty_nr tpgid flags ... starttime(22). */
	{
		char st;
		unsigned fl;
		unsigned long long stt;

		if (sscanf(p,
			   "%c %*d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			   "%*d %llu",
			   &st, &fl, &stt) != 3)
			return -EIO;
		if (state)
			*state = st;
		if (flags)
			*flags = fl;
		if (start)
			*start = stt;
	}
	return 0;
}

int fl_proc_stat(int pid, unsigned long long *start, char *state)
{
	if (pid <= 0)
		return -ESRCH;
	return proc_stat_full(pid, state, NULL, start);
}

/* A "Name:\tvalue" line of /proc/PID/status: the value, in buf (NUL-terminated in place). */
static int status_field(int pid, const char *field, char *buf, size_t len, const char **val)
{
	size_t fl = strlen(field);
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = read_small(path, buf, len, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			*val = line + fl + 1;
			return 0;
		}
	}
	return -EIO;
}

int fl_proc_tgid(int pid)
{
	char buf[8192], *end = NULL;
	const char *v;
	long t;
	int r;

	if (pid <= 0)
		return -ESRCH;
	r = status_field(pid, "Tgid", buf, sizeof(buf), &v);
	if (r < 0)
		return r;
	t = strtol(v, &end, 10);
	if (end == v || t <= 0 || t > 4194304)
		return -EIO;
	return (int)t;
}

int fl_proc_uids(int pid, uid_t uids[4])
{
	char buf[8192];
	const char *v;
	unsigned long u[4];
	int r;

	if (pid <= 0)
		return -ESRCH;
	r = status_field(pid, "Uid", buf, sizeof(buf), &v);
	if (r < 0)
		return r;
	if (sscanf(v, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4)
		return -EIO;
	for (int i = 0; i < 4; i++)
		uids[i] = (uid_t)u[i];
	return 0;
}

int fl_proc_cgroup(int pid, char *buf, size_t len)
{
	char path[64], data[8192];
	char *line, *save = NULL;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	r = read_small(path, data, sizeof(data), NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "0::", 3)) {
			if ((size_t)snprintf(buf, len, "%s", line + 3) >= len)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	return -ENOENT;
}

int fl_proc_pidfd(const struct fl_proc_ident *p)
{
	unsigned long long start;
	int fd, r;

	if (p->pid <= 0)
		return -ESRCH;
	/* No fault ever acts on init (the policy refuses it): nor does a record that names it. */
	if (p->pid == 1)
		return -EPERM;
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (fd < 0)
		return -errno;
	/* The pidfd pins whatever process had the PID at open time; check it is ours. */
	r = fl_proc_stat(p->pid, &start, NULL);
	if (r < 0 || start != p->start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int fl_proc_signal(const struct fl_proc_ident *p, int sig)
{
	int fd = fl_proc_pidfd(p);
	int r = 0;

	if (fd < 0)
		return fd;
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

struct held {
	uint64_t key;
	struct fl_proc_ident id;
	int fd;
	struct held *next;
};

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *held_list;
static size_t held_n;

uint64_t fl_proc_hold_key(void)
{
	uint64_t k;

	do
		k = fl_rng_fresh_seed();
	while (k == 0);
	return k;
}

/* How many pidfds may be held: FL_PROC_HELD_MAX, and never more than a quarter of the fds. */
static size_t held_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < FL_PROC_HELD_MAX)
		return (size_t)(rl.rlim_cur / 4);
	return FL_PROC_HELD_MAX;
}

int fl_proc_hold(uint64_t key, const struct fl_proc_ident *p)
{
	struct held *h;
	int fd = fl_proc_pidfd(p);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&held_mu);
	h = key && held_n < held_cap() ? malloc(sizeof(*h)) : NULL;
	if (h) {
		*h = (struct held){.key = key, .id = *p, .fd = fd, .next = held_list};
		held_list = h;
		held_n++;
		fd = -1;
	}
	pthread_mutex_unlock(&held_mu);
	if (fd >= 0)
		close(fd); /* not held: a revert finds the process by pid + start time */
	return 0;
}

int fl_proc_pidfd_held(uint64_t key, const struct fl_proc_ident *p)
{
	bool found = false;
	int fd = -ESRCH;

	pthread_mutex_lock(&held_mu);
	for (struct held *h = held_list; h && key && !found; h = h->next)
		if (h->key == key && h->id.pid == p->pid && h->id.start == p->start) {
			found = true;
			fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				fd = -errno;
		}
	pthread_mutex_unlock(&held_mu);
	return found ? fd : fl_proc_pidfd(p);
}

int fl_proc_signal_held(uint64_t key, const struct fl_proc_ident *p, int sig)
{
	int fd = fl_proc_pidfd_held(key, p), r = 0;

	if (fd < 0)
		return fd;
	/* A held pidfd whose process exited says ESRCH: nothing took its place for us. */
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

int fl_proc_signal_hold(uint64_t key, const struct fl_proc_ident *p, int sig)
{
	int r = fl_proc_hold(key, p);

	return r < 0 ? r : fl_proc_signal_held(key, p, sig);
}

void fl_proc_release(uint64_t key)
{
	pthread_mutex_lock(&held_mu);
	for (struct held **pp = &held_list; *pp;) {
		struct held *h = *pp;

		if (h->key == key) {
			*pp = h->next;
			close(h->fd);
			free(h);
			held_n--;
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&held_mu);
}

bool fl_proc_pidfd_available(char *why, size_t whylen)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0) {
		if (why)
			snprintf(why, whylen, "pidfd_open(2): %s", strerror(errno));
		return false;
	}
	/* Signal 0 checks pidfd_send_signal(2) exists without doing anything. */
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0) {
		if (why)
			snprintf(why, whylen, "pidfd_send_signal(2): %s", strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

cJSON *fl_json_u64(uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_CreateString(b);
}

int fl_json_get_u64(const cJSON *j, uint64_t *out)
{
	if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		char *end = NULL;
		unsigned long long v;

		if (!*s || !isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end)
			return -EINVAL;
		*out = v;
		return 0;
	}
	if (cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble <= 9007199254740992.0 &&
	    j->valuedouble == floor(j->valuedouble)) {
		*out = (uint64_t)j->valuedouble;
		return 0;
	}
	return -EINVAL;
}

#define BOOT_ID_LEN 36 /* 8-4-4-4-12 hex digits and dashes */

static char boot_id_buf[BOOT_ID_LEN + 1];
static pthread_once_t boot_id_once = PTHREAD_ONCE_INIT;

static void boot_id_read(void)
{
	char b[BOOT_ID_LEN + 2];
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

	if (fd >= 0)
		close(fd);
	if (n == BOOT_ID_LEN + 1 && b[BOOT_ID_LEN] == '\n')
		memcpy(boot_id_buf, b, BOOT_ID_LEN);
}

/* This boot's id, or "" where /proc does not say (then records carry none). */
static const char *boot_id(void)
{
	pthread_once(&boot_id_once, boot_id_read);
	return boot_id_buf;
}

cJSON *fl_proc_idents_json(const struct fl_proc_ident *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(a, o) ||
		    !cJSON_AddNumberToObject(o, "pid", v[i].pid) ||
		    !cJSON_AddNumberToObject(o, "start", (double)v[i].start) ||
		    (boot_id()[0] && !cJSON_AddStringToObject(o, "boot", boot_id()))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

int fl_proc_ident_from_json(const cJSON *j, struct fl_proc_ident *p)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(j, "start");
	const cJSON *boot = cJSON_GetObjectItemCaseSensitive(j, "boot");
	uint64_t s;

	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > 4194304 ||
	    fl_json_get_u64(start, &s) < 0 ||
	    (boot && (!cJSON_IsString(boot) || strlen(boot->valuestring) != BOOT_ID_LEN)))
		return -EINVAL;
	p->pid = (int)pid->valuedouble;
	p->start = s;
	/* Taken in another boot: no process of this one is it (records without "boot"
	 * predate the field and are trusted as before). */
	if (boot && boot_id()[0] && strcmp(boot->valuestring, boot_id()))
		p->start = FL_PROC_START_OTHER_BOOT;
	return 0;
}

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
	static const char *const picks[] = {"all", "count", "percent", NULL};
	const char *sel_key = NULL, *pick_key = NULL;
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
		} else if (key_in(c->string, picks)) {
			if (pick_key) {
				r = fl_error_set(err, -EINVAL, path,
						 "only one of all, count, percent may be given");
				goto out;
			}
			pick_key = c->string;
		} else if (!strcmp(c->string, "start")) {
			if (fl_json_get_u64(c, &sel->start) < 0) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected the process's start time: field 22 of "
						 "/proc/PID/stat (an unsigned integer)");
				goto out;
			}
			sel->has_start = true;
		} else if (!strcmp(c->string, "seed")) {
			if (fl_json_get_u64(c, &sel->seed) < 0) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected an unsigned 64-bit seed (number or "
						 "decimal string)");
				goto out;
			}
			sel->has_seed = true;
		} else if (!key_in(c->string, extra)) {
			r = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
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
			goto pick;
		}
		if (!strcmp(sel_key, "pod")) {
			sel->by = FL_PROC_BY_POD;
			sel->pod = malloc(sizeof(*sel->pod));
			r = sel->pod ? fl_pod_sel_parse(v, path, sel->pod, err)
				     : fl_error_set(err, -ENOMEM, NULL, "out of memory");
			if (r < 0) {
				free(sel->pod);
				sel->pod = NULL;
				goto out;
			}
			goto pick;
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
pick:
	sel->pick = FL_PROC_PICK_ALL;
	if (pick_key) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(target, pick_key);

		snprintf(path, sizeof(path), "$.target.%s", pick_key);
		if (!strcmp(pick_key, "all")) {
			if (!cJSON_IsTrue(v)) {
				r = fl_error_set(err, -EINVAL, path, "expected true");
				goto out;
			}
		} else if (!strcmp(pick_key, "count")) {
			if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
			    v->valuedouble < 1 || v->valuedouble > FL_PROC_CANDIDATES_MAX) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected an integer in [1, %d]",
						 FL_PROC_CANDIDATES_MAX);
				goto out;
			}
			sel->pick = FL_PROC_PICK_COUNT;
			sel->count = (unsigned long)v->valuedouble;
		} else {
			if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 100) {
				r = fl_error_set(err, -EINVAL, path,
						 "expected a percentage in (0, 100]");
				goto out;
			}
			sel->pick = FL_PROC_PICK_PERCENT;
			sel->percent = v->valuedouble;
		}
	}
out:
	if (r < 0)
		fl_proc_sel_done(sel);
	return r;
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
		if (read_small(path, buf, sizeof(buf), &n) < 0)
			return false;
		if (n && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		return !strcmp(buf, sel->str);
	case FL_PROC_BY_CMDLINE:
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if (read_small(path, buf, sizeof(buf), &n) < 0 || n == 0)
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
	*seed = sel->has_seed ? sel->seed : (ctx ? ctx->seed : 0);
	if (sel->by == FL_PROC_BY_PID)
		want_pid = sel->pid;
	else if (sel->by == FL_PROC_BY_PIDFILE) {
		r = read_pidfile(sel->str, &want_pid, err);
		if (r < 0)
			goto out;
	} else if (sel->by == FL_PROC_BY_POD) {
		/* count/percent pick pods, not processes (faults/pod_select.c). */
		r = fl_pod_sel_resolve(sel->pod, (int)sel->pick, sel->count, sel->percent, *seed,
				       &podv, &podn, err);
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
		if (proc_stat_full((int)pid, &state, &flags, &id.start) < 0)
			continue;
		if ((flags & FL_PF_KTHREAD) || state == 'Z' || state == 'X')
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
	if (sel->pick != FL_PROC_PICK_ALL && sel->by != FL_PROC_BY_POD) {
		size_t k;
		struct fl_rng rng;

		if (sel->pick == FL_PROC_PICK_COUNT)
			k = sel->count < n ? sel->count : n;
		else
			k = (size_t)ceil((double)n * sel->percent / 100.0);
		if (k < 1)
			k = 1;
		if (k > n)
			k = n;
		fl_rng_init(&rng, *seed);
		/* Partial Fisher-Yates: the first k are a uniform sample. */
		for (size_t i = 0; i < k; i++) {
			size_t j = i + (size_t)fl_rng_below(&rng, n - i);
			struct fl_proc_ident t = v[i];

			v[i] = v[j];
			v[j] = t;
		}
		n = k;
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
	switch (sel->pick) {
	case FL_PROC_PICK_ALL:
		return fl_buf_printf(out, " all");
	case FL_PROC_PICK_COUNT:
		return fl_buf_printf(out, " count=%lu", sel->count);
	case FL_PROC_PICK_PERCENT:
		return fl_buf_printf(out, " percent=%g", sel->percent);
	case FL_PROC_PICK__MAX:
		break;
	}
	return 0;
}
