/*
 * A process as faultline identifies it, read from procfs: pid + start time
 * (field 22 of /proc/PID/stat), the boot it was seen in, its v2 cgroup, and
 * pidfds that are checked against the start time, so a signal never reaches
 * a newcomer that inherited the PID. A recorded identity carries the boot it
 * was taken in (the kernel's boot_id): the start time counts from boot, so
 * after a reboot the same (pid, start) can name another process -- services
 * started early in boot often get both again -- and a record of another boot
 * names no process at all. An apply can also keep the pidfds it signalled
 * through (fl_proc_hold), so that its revert in the same agent reaches the
 * very same processes.
 */
#include "faults/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/json.h"
#include "core/rng.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int fl_proc_read_small(const char *path, char *buf, size_t len, size_t *got)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = fl_fd_read_small(fd, buf, len, got);
	close(fd);
	return r;
}

int fl_fd_read_small(int fd, char *buf, size_t len, size_t *got)
{
	size_t n = 0;
	int r = 0;

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
	buf[n] = '\0';
	if (got)
		*got = n;
	return r;
}

/* Parse /proc/PID/stat: comm is in parentheses and may contain spaces or ')'. */
int fl_proc_stat_full(int pid, char *state, unsigned *flags, unsigned long long *start)
{
	char path[64], buf[1024];
	char *p;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	r = fl_proc_read_small(path, buf, sizeof(buf), NULL);
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
	return fl_proc_stat_full(pid, state, NULL, start);
}

/* A "Name:\tvalue" line of /proc/PID/status: the value, in buf (NUL-terminated in place). */
static int status_field(int pid, const char *field, char *buf, size_t len, const char **val)
{
	size_t fl = strlen(field);
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	r = fl_proc_read_small(path, buf, len, NULL);
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
	r = fl_proc_read_small(path, data, sizeof(data), NULL);
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

int fl_cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[2048], *sep;

		/* id parent maj:min root mountpoint opts... - fstype source superopts */
		if (sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1)
			continue;
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if ((size_t)snprintf(buf, len, "%s", mnt) >= len) {
			r = -ENAMETOOLONG;
			break;
		}
		r = 0;
		break;
	}
	fclose(f);
	return r;
}
