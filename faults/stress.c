/*
 * stress: CPU and memory workers in the cgroup v2 of the selected processes,
 * as stress-ng runs under Chaos Mesh. The grammar and describe:
 * faults/spec/stress.c.
 *
 * The workers are the agent's own children, forked (no exec: they run the
 * loops below, async-signal-safe calls only) and held on a pipe until:
 *   1. their pid + start time are in the journal (ctx->journal), so that a
 *      revert after an agent crash finds them (reconcile kills them by
 *      pid + start time, as kill and pause find their targets);
 *   2. the agent has written each pid into its cgroup's cgroup.procs (opened
 *      relative to the cgroup directory, O_NOFOLLOW), so every cycle and
 *      every page they use is charged to the target's cgroup.
 * If the agent dies before (1) the pipe reads EOF and they exit untouched.
 *
 * Lease: a worker ends by itself at the fault's deadline (a shared page the
 * agent moves on renew), so workers whose agent died and was not restarted
 * stop when the lease would have; reconcile kills them sooner when the agent
 * comes back. PR_SET_PDEATHSIG is not used: a worker's parent is the agent
 * thread that forked it, and threads end all the time.
 *
 * A worker drops every capability (no new privileges, not dumpable) before
 * it waits for the go, and offers itself to the OOM
 * killer first (oom_score_adj 1000): a memory stressor over the cgroup's
 * memory.max is what dies, rather than the target.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "core/json.h"
#include "faults/fault.h"
#include "faults/owned_file.h"
#include "faults/proc_select.h"
#include "faults/spec/stress.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif

#define STRESS_CGROUPS_MAX 16		/* distinct cgroups one fault loads */
#define STRESS_WORKERS_MAX 256		/* workers one fault runs, all cgroups */
#define PERIOD_NS	   100000000ULL /* a CPU worker's duty cycle; deadline checks */
#define DEBT_NS		   500000000ULL /* CPU time owed beyond this much time's share is forgiven */
#define CG_READ_MAX	   16384 /* bytes of a cgroup file read (io.stat: one line a device) */

/* What the workers of one fault share with the agent: their lease. */
struct lease_page {
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; a worker exits once past it */
};

/* The lease pages of this agent's live stress faults, by the record's "hold" key. */
struct lease_ent {
	uint64_t key;
	struct lease_page *page;
	struct lease_ent *next;
};
static pthread_mutex_t leases_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lease_ent *leases;

static void lease_add(uint64_t key, struct lease_page *page)
{
	struct lease_ent *e = malloc(sizeof(*e));

	if (!e)
		return; /* renew then answers that it cannot move the workers' lease */
	pthread_mutex_lock(&leases_mu);
	*e = (struct lease_ent){key, page, leases};
	leases = e;
	pthread_mutex_unlock(&leases_mu);
}

/* Remove the page of key (and unmap it); page is unmapped whether or not it was listed. */
static void lease_drop(uint64_t key, struct lease_page *page)
{
	pthread_mutex_lock(&leases_mu);
	for (struct lease_ent **pp = &leases; *pp; pp = &(*pp)->next)
		if ((*pp)->key == key) {
			struct lease_ent *e = *pp;

			*pp = e->next;
			if (!page)
				page = e->page;
			free(e);
			break;
		}
	pthread_mutex_unlock(&leases_mu);
	if (page)
		munmap(page, sizeof(*page));
}

static bool lease_set(uint64_t key, uint64_t deadline_ns)
{
	bool found = false;

	pthread_mutex_lock(&leases_mu);
	for (struct lease_ent *e = leases; e && !found; e = e->next)
		if (e->key == key) {
			__atomic_store_n(&e->page->deadline_ns, deadline_ns, __ATOMIC_RELEASE);
			found = true;
		}
	pthread_mutex_unlock(&leases_mu);
	return found;
}

/* ---- the workers (forked from a threaded agent: async-signal-safe calls only) ---- */

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec t = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static bool expired(const struct lease_page *l)
{
	return mono_ns() >= __atomic_load_n(&l->deadline_ns, __ATOMIC_ACQUIRE);
}

static uint64_t cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/*
 * `load` percent of one CPU, counted in CPU time (what cpu.stat counts): spin
 * while the CPU time used is behind load % of the time elapsed, sleep while
 * ahead. A debt the scheduler did not let us pay within one period is
 * forgiven, so a busy host gets no burst above the load afterwards.
 */
static _Noreturn void cpu_loop(const struct lease_page *l, unsigned load)
{
	uint64_t w0 = mono_ns(), c0 = cpu_ns();
	volatile unsigned long sink = 0;

	for (;;) {
		uint64_t now = mono_ns(), want = (now - w0) / 100 * load, used = cpu_ns() - c0;

		if (expired(l))
			_exit(0);
		if (want > used + DEBT_NS / 100 * load) {
			c0 -= want - used - DEBT_NS / 100 * load; /* forgive the excess debt */
			used = want - DEBT_NS / 100 * load;
		}
		if (used < want || load == 100) {
			for (int i = 0; i < 200000; i++) /* about 0.1-0.5 ms */
				sink += (unsigned long)i * 2654435761UL;
			continue;
		}
		/* Ahead: sleep until elapsed time catches up, at most a period. */
		uint64_t ahead = (used - want) / load * 100;

		sleep_until(now + (ahead < PERIOD_NS ? ahead : PERIOD_NS));
	}
}

/* Map mib MiB, write every page (so it is resident and charged), hold it. */
static _Noreturn void mem_loop(const struct lease_page *l, unsigned long mib)
{
	size_t len = (size_t)mib << 20;
	long pg = 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(2);
	for (size_t off = 0; off < len; off += (size_t)pg) {
		p[off] = 1;
		if ((off & ((64u << 20) - 1)) == 0 && expired(l))
			_exit(0);
	}
	for (;;) {
		if (expired(l))
			_exit(0);
		sleep_until(mono_ns() + PERIOD_NS);
	}
}

/* Write mib MiB at base of the file on fd 4, fdatasync, again (stress-ng --hdd). */
static _Noreturn void io_loop(const struct lease_page *l, unsigned long mib, off_t base)
{
	size_t chunk = 1u << 20;
	char *buf = mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (char)(i * 31 + 7);
	for (;;) {
		for (unsigned long m = 0; m < mib; m++) {
			if (expired(l))
				_exit(0);
			if (pwrite(4, buf, chunk, base + (off_t)(m << 20)) < 0 && errno != EINTR)
				sleep_until(mono_ns() + PERIOD_NS); /* full: keep trying, gently */
		}
		(void)fdatasync(4);
	}
}

enum worker_role { W_CPU, W_VM, W_IO };

static _Noreturn void worker_main(int go, int iofd, const struct lease_page *l,
				  enum worker_role role, const struct stress_spec *s, off_t base)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	struct __user_cap_header_struct caph = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct capd[2] = {{0}};
	sigset_t none;
	int fd;
	char b;

	/*
	 * The pipe's read end to 3, an I/O worker's file to 4, /dev/null on 0-2,
	 * nothing else of the agent's (out of the way of 0-4 first).
	 */
	go = fcntl(go, F_DUPFD, 10);
	iofd = iofd >= 0 ? fcntl(iofd, F_DUPFD, 10) : -1;
	if (go < 0 || dup2(go, 3) < 0 || (iofd >= 0 && dup2(iofd, 4) < 0))
		_exit(126);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	if (syscall(SYS_close_range, 5U, ~0U, 0U) < 0)
		for (int i = 5; i < 1024; i++)
			close(i);
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)prctl(PR_SET_NAME,
		    role == W_CPU  ? "fl-stress-cpu"
		    : role == W_VM ? "fl-stress-vm"
				   : "fl-stress-io",
		    0, 0, 0);
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1000", 4);
		close(fd);
	}
	/*
	 * No capability at all (dropping needs none; the agent keeps no CAP_SETUID
	 * to change users with). The worker never executes anything.
	 */
	if (syscall(SYS_capset, &caph, capd) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	while ((fd = (int)read(3, &b, 1)) < 0 && errno == EINTR)
		;
	if (fd != 1)
		_exit(0); /* no go: the agent did not journal us, or gave up */
	close(3);
	if (role == W_CPU)
		cpu_loop(l, s->cpu_load);
	if (role == W_IO)
		io_loop(l, s->io_mib, base);
	mem_loop(l, s->mem_mib);
}

/* ---- plan, apply, revert ---- */

static int cg_dir_of(int pid, const char *mnt, char *out, size_t len)
{
	char rel[FL_PROC_PATH_MAX];
	int r = fl_proc_cgroup(pid, rel, sizeof(rel));

	if (r < 0)
		return r;
	if ((size_t)snprintf(out, len, "%s%s", mnt, strcmp(rel, "/") ? rel : "") >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Every process in each cgroup the workers will join (its cgroup.procs, read
 * when the plan is made), judged by the policy as a cgroup freeze judges its
 * subtree: the workers compete with all of them, not only the selected ones.
 */
static int cgroups_allowed(const cJSON *cgs, const struct fl_fault_ctx *ctx, struct fl_error *err)
{
	const cJSON *c;

	if (!ctx || !ctx->allow_pid)
		return 0;
	cJSON_ArrayForEach(c, cgs)
	{
		char path[FL_PROC_PATH_MAX + 2048 + 16], *buf = NULL, *at, *end;
		int r;

		snprintf(path, sizeof(path), "%s/cgroup.procs", c->valuestring);
		r = fl_buf_read_file(path, 1 << 20, &buf, NULL);
		if (r < 0)
			return fl_error_set(err, r, "$.target", "%s: %s", path, strerror(-r));
		for (at = buf; *at; at = end) {
			long pid = strtol(at, &end, 10);

			if (end == at)
				break;
			r = pid > 0 ? ctx->allow_pid(ctx->opaque, (int)pid, err) : 0;
			if (r < 0 && r != -ESRCH) {
				char why[sizeof(err->msg)];

				snprintf(why, sizeof(why), "%s", err ? err->msg : "");
				fl_error_set(err, r, "$.target",
					     "cgroup %s, which stress would load, holds a process "
					     "the policy refuses: %s",
					     c->valuestring, why);
				free(buf);
				return r;
			}
			if (r < 0 && err)
				fl_error_init(err); /* gone since the read */
		}
		free(buf);
	}
	return 0;
}

static int stress_plan(void *p, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct stress_spec *s = p;
	struct fl_proc_ident *v = NULL;
	char mnt[2048], dir[FL_PROC_PATH_MAX + 2048];
	cJSON *u = NULL, *cgs = NULL;
	size_t n = 0;
	uint64_t seed;
	int r;

	*undo = NULL;
	r = fl_cgroup2_mount(mnt, sizeof(mnt));
	if (r < 0)
		return fl_error_set(err, -EOPNOTSUPP, "$.target",
				    "no cgroup v2 hierarchy is mounted here");
	r = fl_proc_sel_resolve(&s->sel, ctx, &seed, &v, &n, err);
	if (r < 0)
		goto out;
	u = cJSON_CreateObject();
	cgs = cJSON_CreateArray();
	if (!u || !cgs) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *c;
		bool seen = false;
		struct stat st;

		r = cg_dir_of(v[i].pid, mnt, dir, sizeof(dir));
		if (r == -ESRCH)
			continue;
		if (r < 0) {
			r = fl_error_set(err, r, "$.target", "the cgroup of %d: %s", v[i].pid,
					 strerror(-r));
			goto out;
		}
		cJSON_ArrayForEach(c, cgs) seen |= !strcmp(c->valuestring, dir);
		if (seen)
			continue;
		if (cJSON_GetArraySize(cgs) == STRESS_CGROUPS_MAX) {
			r = fl_error_set(err, -E2BIG, "$.target",
					 "the selected processes are in more than %d cgroups",
					 STRESS_CGROUPS_MAX);
			goto out;
		}
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			r = fl_error_set(err, -ESRCH, "$.target", "%s: not a cgroup directory",
					 dir);
			goto out;
		}
		cJSON_AddItemToArray(cgs, cJSON_CreateString(dir));
	}
	if (cJSON_GetArraySize(cgs) == 0) {
		r = fl_error_set(err, -ESRCH, "$.target", "every selected process has exited");
		goto out;
	}
	/* The load lands on every process of the cgroups joined: each one must be allowed. */
	r = cgroups_allowed(cgs, ctx, err);
	if (r < 0)
		goto out;
	if ((size_t)cJSON_GetArraySize(cgs) * (s->cpu_workers + s->mem_workers + s->io_workers) >
	    STRESS_WORKERS_MAX) {
		r = fl_error_set(
		    err, -E2BIG, "$.params", "%d cgroups times %u workers is above %d workers",
		    cJSON_GetArraySize(cgs), s->cpu_workers + s->mem_workers + s->io_workers,
		    STRESS_WORKERS_MAX);
		goto out;
	}
	if (s->io_workers) {
		struct stat st;
		cJSON *io = cJSON_CreateObject();
		int dfd = fl_owned_dir_open(s->io_path);

		if (dfd < 0) {
			cJSON_Delete(io);
			r = fl_error_set(
			    err, dfd, "$.params.io.path", "%s: %s%s", s->io_path, strerror(-dfd),
			    dfd == -ELOOP ? " (no symbolic link may be on the path)" : "");
			goto out;
		}
		r = fstat(dfd, &st) < 0 ? -errno : 0;
		close(dfd);
		if (r == 0 && (!io || !cJSON_AddItemToObject(u, "io_file", io) ||
			       fl_owned_file_record(io, s->io_path, &st, "faultline-io") < 0))
			r = -ENOMEM;
		if (r < 0) {
			r = fl_error_set(err, r, "$.params.io.path", "%s: %s", s->io_path,
					 strerror(-r));
			goto out;
		}
	}
	if (!cJSON_AddStringToObject(u, "kind", "stress") ||
	    !cJSON_AddItemToObject(u, "seed", fl_json_u64(seed)) ||
	    !cJSON_AddItemToObject(u, "hold", fl_json_u64(fl_proc_hold_key())) ||
	    !cJSON_AddItemToObject(u, "targets", fl_proc_idents_json(v, n)) ||
	    !cJSON_AddNumberToObject(u, "cpu_workers", s->cpu_workers) ||
	    !cJSON_AddNumberToObject(u, "cpu_load", s->cpu_load) ||
	    !cJSON_AddNumberToObject(u, "memory_workers", s->mem_workers) ||
	    !cJSON_AddNumberToObject(u, "memory_mib", (double)s->mem_mib) ||
	    !cJSON_AddNumberToObject(u, "io_workers", s->io_workers) ||
	    !cJSON_AddNumberToObject(u, "io_mib", (double)s->io_mib) ||
	    !cJSON_AddItemToObject(u, "workers", cJSON_CreateArray())) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(u, "cgroups", cgs);
	cgs = NULL;
	fl_proc_sel_annotate(&s->sel, u);
	*undo = u;
	u = NULL;
out:
	cJSON_Delete(cgs);
	cJSON_Delete(u);
	free(v);
	return r;
}

static uint64_t hold_key(const cJSON *undo)
{
	uint64_t k;

	return fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "hold"), &k) == 0 ? k : 0;
}

/*
 * SIGKILL one worker (exactly it: pid + start time, or the pidfd held since
 * its fork) and wait for it to be gone: reaped when it is our child, else
 * until its pidfd says it exited.
 */
static int worker_end(uint64_t key, const struct fl_proc_ident *id)
{
	siginfo_t si;
	int fd, r = 0;

	if (id->pid <= 1)
		return 0; /* never ours */
	fd = fl_proc_pidfd_held(key, id);
	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		r = -errno;
	if (r == 0 && waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED) < 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		/* Not our child (a previous agent's): wait until it is gone. */
		while ((r = poll(&pf, 1, 5000)) < 0 && errno == EINTR)
			;
		r = r > 0 ? 0 : -ETIMEDOUT;
	}
	close(fd);
	return r;
}

static int end_workers(const cJSON *undo, struct fl_error *err)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(undo, "workers"), *t;
	uint64_t key = hold_key(undo);
	int r = 0;

	if (w && !cJSON_IsArray(w))
		return fl_error_set(err, -EINVAL, NULL, "undo record with corrupt workers");
	cJSON_ArrayForEach(t, w)
	{
		struct fl_proc_ident id;
		int k;

		if (fl_proc_ident_from_json(t, &id) < 0) {
			r = fl_error_set(err, -EINVAL, NULL, "corrupt worker in undo record");
			continue;
		}
		k = worker_end(key, &id);
		if (k < 0)
			r = fl_error_set(err, k, NULL, "stopping worker %d: %s", id.pid,
					 strerror(-k));
	}
	if (r == 0 && key) {
		fl_proc_release(key);
		lease_drop(key, NULL);
	}
	return r;
}

/* The workers first (they write the I/O file), then the file. */
static int stress_revert(const cJSON *undo, struct fl_error *err)
{
	const cJSON *io = cJSON_GetObjectItemCaseSensitive(undo, "io_file");
	int r = end_workers(undo, err);

	if (r == 0 && io)
		r = fl_owned_file_remove(io, err);
	return r;
}

/* ---- the cgroup's own counters (proof of effect) ---- */

/*
 * Read NAME of the cgroup directory DIR into buf (NUL-terminated, at most
 * len - 1 bytes; a longer file is cut). The directory is opened with no
 * symbolic link on the way and must be on cgroup2; the file beneath it,
 * never through a link, non-blocking: a neighbour who owns the cgroup can
 * rename or replace things in it, but not make the agent read elsewhere or
 * wait.
 */
static int cg_read_file(const char *dir, const char *name, char *buf, size_t len)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct statfs sf;
	struct stat st;
	int dfd, fd, r = 0;

	dfd = fl_owned_dir_open(dir);
	if (dfd < 0)
		return dfd;
	if (fstatfs(dfd, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		close(dfd);
		return -ENOTDIR;
	}
	fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	r = fd < 0 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	r = fl_fd_read_small(fd, buf, len, NULL);
	close(fd);
	return r;
}

/* The number after "KEY " at the start of a line of buf. */
static int cg_key(const char *buf, const char *key, unsigned long long *v)
{
	size_t kl = strlen(key);

	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			char *end;

			errno = 0;
			*v = strtoull(p + kl + 1, &end, 10);
			return errno || end == p + kl + 1 ? -EIO : 0;
		}
	return -ENOENT;
}

/*
 * The cgroup's counters now: cpu.stat usage_usec, memory.current, and the
 * wbytes of io.stat summed over devices. A counter the cgroup does not have
 * (no memory or io controller enabled for it) is left out of the mask.
 */
enum { CG_CPU = 1, CG_MEM = 2, CG_IO = 4 };
struct cg_counters {
	unsigned have;
	uint64_t mono_ns;
	unsigned long long usage_usec, memory, wbytes;
};

static void cg_sample(const char *dir, struct cg_counters *c)
{
	static char buf[CG_READ_MAX]; /* io.stat can be long; guarded below */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&mu);
	c->mono_ns = mono_ns();
	if (cg_read_file(dir, "cpu.stat", buf, sizeof(buf)) == 0 &&
	    cg_key(buf, "usage_usec", &c->usage_usec) == 0)
		c->have |= CG_CPU;
	if (cg_read_file(dir, "memory.current", buf, sizeof(buf)) == 0) {
		char *end;

		errno = 0;
		c->memory = strtoull(buf, &end, 10);
		if (!errno && end != buf)
			c->have |= CG_MEM;
	}
	if (cg_read_file(dir, "io.stat", buf, sizeof(buf)) == 0) {
		/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." a line; a cut last line is skipped */
		c->have |= CG_IO;
		for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
			char *w;

			*nl = '\0';
			if ((w = strstr(p, " wbytes=")))
				c->wbytes += strtoull(w + 8, NULL, 10);
		}
	}
	pthread_mutex_unlock(&mu);
}

/* The counters as the undo record keeps them (the baseline of the effect). */
static cJSON *cg_counters_json(const struct cg_counters *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToObject(o, "mono_ns", fl_json_u64(c->mono_ns)) ||
	    ((c->have & CG_CPU) &&
	     !cJSON_AddItemToObject(o, "usage_usec", fl_json_u64(c->usage_usec))) ||
	    ((c->have & CG_MEM) &&
	     !cJSON_AddItemToObject(o, "memory_current", fl_json_u64(c->memory))) ||
	    ((c->have & CG_IO) && !cJSON_AddItemToObject(o, "io_wbytes", fl_json_u64(c->wbytes)))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void cg_counters_from_json(const cJSON *o, struct cg_counters *c)
{
	uint64_t v;

	memset(c, 0, sizeof(*c));
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, "mono_ns"), &c->mono_ns) < 0)
		return; /* no baseline: nothing to compare with */
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, "usage_usec"), &v) == 0) {
		c->usage_usec = v;
		c->have |= CG_CPU;
	}
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, "memory_current"), &v) == 0) {
		c->memory = v;
		c->have |= CG_MEM;
	}
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(o, "io_wbytes"), &v) == 0) {
		c->wbytes = v;
		c->have |= CG_IO;
	}
}

/* Write pid into DIR/cgroup.procs, relative to the directory, no link followed. */
static int cg_move(const char *dir, pid_t pid)
{
	char s[16];
	int dfd, fd, r = 0;

	dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, "cgroup.procs", O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	close(dfd);
	if (r < 0)
		return r;
	snprintf(s, sizeof(s), "%d", (int)pid);
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int stress_apply(void *p, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	const cJSON *cgs = cJSON_GetObjectItemCaseSensitive(undo, "cgroups"), *c;
	cJSON *wj = cJSON_GetObjectItemCaseSensitive(undo, "workers");
	struct stress_spec *s = p;
	uint64_t key = hold_key(undo);
	struct lease_page *page;
	struct fl_proc_ident *ids = NULL;
	cJSON *io = cJSON_GetObjectItemCaseSensitive(undo, "io_file");
	size_t per = s->cpu_workers + s->mem_workers + s->io_workers, n = 0, cap;
	int go[2] = {-1, -1}, iofd = -1, r = 0;

	if (!cJSON_IsArray(cgs) || !cJSON_IsArray(wj))
		return fl_error_set(err, -EINVAL, NULL, "undo record without cgroups");
	cap = per * (size_t)cJSON_GetArraySize(cgs);
	page = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return fl_error_set(err, -errno, NULL, "mmap: %s", strerror(errno));
	page->deadline_ns = ctx && ctx->deadline_mono_ns ? ctx->deadline_mono_ns : UINT64_MAX;
	/* The I/O workers' file: made (its name journalled by the plan) before they fork. */
	if (io && (r = iofd = fl_owned_file_create(io, "$.params.io.path", err)) < 0)
		goto fail;
	ids = calloc(cap ? cap : 1, sizeof(*ids));
	if (!ids || pipe2(go, O_CLOEXEC) < 0) {
		r = fl_error_set(err, ids ? -errno : -ENOMEM, NULL, "cannot start the workers: %s",
				 strerror(ids ? errno : ENOMEM));
		goto fail;
	}
	/* Fork every worker; each waits on the pipe. */
	for (size_t i = 0; i < cap; i++) {
		size_t k = i % per;
		enum worker_role role = k < s->cpu_workers		      ? W_CPU
					: k < s->cpu_workers + s->mem_workers ? W_VM
									      : W_IO;
		/* Each I/O worker its own region of the one file, across cgroups too. */
		off_t base = role != W_IO ? 0
					  : (off_t)((i / per) * s->io_workers +
						    (k - s->cpu_workers - s->mem_workers)) *
						(off_t)(s->io_mib << 20);
		pid_t pid = fork();

		if (pid == 0)
			worker_main(go[0], role == W_IO ? iofd : -1, page, role, s, base);
		if (pid < 0) {
			r = fl_error_set(err, -errno, NULL, "fork: %s", strerror(errno));
			goto fail;
		}
		ids[n].pid = pid;
		if ((r = fl_proc_stat(pid, &ids[n].start, NULL)) < 0) {
			/* It cannot be gone before the go unless killed: reap it. */
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			r = fl_error_set(err, -ECHILD, NULL, "worker %d ended at once", (int)pid);
			goto fail;
		}
		n++;
		if (fl_proc_hold(key, &ids[n - 1]) < 0)
			(void)0; /* the revert finds it by pid + start time */
		cJSON *one = fl_proc_idents_json(&ids[n - 1], 1);
		cJSON *item = one ? cJSON_DetachItemFromArray(one, 0) : NULL;

		cJSON_Delete(one);
		if (!item) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto fail;
		}
		cJSON_AddStringToObject(item, "role",
					role == W_CPU  ? "cpu"
					: role == W_VM ? "vm"
						       : "io");
		cJSON_AddItemToArray(wj, item);
	}
	/*
	 * Each cgroup's counters before its workers run: the baseline the effect
	 * measures from, journalled with the pids.
	 */
	{
		cJSON *base = cJSON_CreateArray();
		bool ok = base != NULL;

		cJSON_ArrayForEach(c, cgs)
		{
			struct cg_counters cc;

			cg_sample(c->valuestring, &cc);
			ok = ok && cJSON_AddItemToArray(base, cg_counters_json(&cc));
		}
		cJSON_DeleteItemFromObjectCaseSensitive(undo, "cgroup_base");
		if (!ok || !cJSON_AddItemToObject(undo, "cgroup_base", base)) {
			cJSON_Delete(base);
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto fail;
		}
	}
	/* The pids to the journal before any of them runs or joins a cgroup. */
	if (ctx && ctx->journal && (r = ctx->journal(ctx->jopaque, undo)) < 0) {
		r = fl_error_set(err, r, NULL, "cannot journal the workers: %s", strerror(-r));
		goto fail;
	}
	{
		size_t i = 0;

		cJSON_ArrayForEach(c, cgs)
		{
			for (size_t k = 0; k < per; k++, i++) {
				int m = cg_move(c->valuestring, ids[i].pid);

				if (m < 0) {
					r = fl_error_set(
					    err, m, "$.target",
					    "moving worker %d into %s/cgroup.procs: %s",
					    (int)ids[i].pid, c->valuestring, strerror(-m));
					goto fail;
				}
			}
		}
	}
	close(go[0]);
	go[0] = -1;
	for (size_t i = 0; i < n; i++)
		if (write(go[1], "g", 1) != 1) {
			r = fl_error_set(err, -errno, NULL, "starting the workers: %s",
					 strerror(errno));
			goto fail;
		}
	close(go[1]);
	if (iofd >= 0)
		close(iofd);
	lease_add(key, page);
	free(ids);
	return 0;
fail:
	/* Nothing half-applied: no go for anyone, and every worker forked is ended. */
	for (int i = 0; i < 2; i++)
		if (go[i] >= 0)
			close(go[i]);
	(void)end_workers(undo, NULL);
	if (iofd >= 0)
		close(iofd);
	if (io)
		(void)fl_owned_file_remove(io, NULL);
	fl_proc_release(key);
	munmap(page, sizeof(*page));
	free(ids);
	return r;
}

static int stress_renew(const cJSON *undo, uint64_t deadline_mono_ns, struct fl_error *err)
{
	if (!lease_set(hold_key(undo), deadline_mono_ns ? deadline_mono_ns : UINT64_MAX))
		return fl_error_set(
		    err, -ESRCH, NULL,
		    "this agent did not start these workers: their lease cannot move");
	return 0;
}

static int stress_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	const cJSON *cgs = cJSON_GetObjectItemCaseSensitive(undo, "cgroups"), *c;
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(undo, "workers"), *t;
	int r = 0;

	if (!cJSON_IsArray(cgs))
		return -EINVAL;
	cJSON_ArrayForEach(c, cgs)
	{
		if (r == 0 && cJSON_IsString(c))
			r = fl_buf_printf(out, "workers join: %s/cgroup.procs\n", c->valuestring);
	}
	if (r == 0)
		r = fl_buf_printf(out, "on revert: kill -KILL the workers");
	cJSON_ArrayForEach(t, w)
	{
		struct fl_proc_ident id;

		if (r == 0 && fl_proc_ident_from_json(t, &id) == 0)
			r = fl_buf_printf(out, " %d", id.pid);
	}
	return r < 0 ? r : fl_buf_printf(out, "\n");
}

static bool stress_available(char *why, size_t whylen)
{
	char mnt[2048];

	if (fl_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		snprintf(why, whylen, "no cgroup v2 hierarchy is mounted");
		return false;
	}
	return fl_proc_pidfd_available(why, whylen);
}

/* A worker's CPU ticks (utime + stime) and start time from /proc/PID/stat. */
static int worker_ticks(int pid, unsigned long long *ticks, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t got = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (fl_proc_read_small(path, buf, sizeof(buf), &got) < 0)
		return -ESRCH;
	p = strrchr(buf, ')');
	/* after ") ": state(3) ... utime(14) stime(15) ... starttime(22) */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &ut, &st, start) != 3)
		return -EIO;
	*ticks = ut + st;
	return 0;
}

/* One "Key:  N kB" line of /proc/PID/status, in bytes; 0 when absent. */
static unsigned long long status_kb(int pid, const char *key)
{
	char path[64], buf[4096], *p;
	size_t got = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (fl_proc_read_small(path, buf, sizeof(buf), &got) < 0 || !(p = strstr(buf, key)))
		return 0;
	return strtoull(p + strlen(key), NULL, 10) * 1024ULL;
}

/* write_bytes of /proc/PID/io (what the worker made the disk take); 0 when unreadable. */
static unsigned long long io_written(int pid)
{
	char path[64], buf[1024], *p;
	size_t got = 0;

	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	if (fl_proc_read_small(path, buf, sizeof(buf), &got) < 0 ||
	    !(p = strstr(buf, "\nwrite_bytes: ")))
		return 0;
	return strtoull(p + 14, NULL, 10);
}

/* The workers' own figures from /proc (only a worker with its recorded start time counts). */
struct proc_figures {
	int n, alive, cpu_alive;
	unsigned long long cpu_ticks, cpu_life, rss, wrote;
};

static void proc_figures(const cJSON *undo, long hz, struct proc_figures *f)
{
	const cJSON *w;
	struct timespec now;
	unsigned long long now_ticks;

	memset(f, 0, sizeof(*f));
	clock_gettime(CLOCK_BOOTTIME, &now);
	now_ticks = (unsigned long long)now.tv_sec * (unsigned long long)hz +
		    (unsigned long long)now.tv_nsec / (1000000000ULL / (unsigned long long)hz);
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(undo, "workers"))
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(w, "role");
		struct fl_proc_ident id;
		unsigned long long t = 0, st = 0;

		if (fl_proc_ident_from_json(w, &id) < 0 || id.pid <= 1)
			continue;
		f->n++;
		if (worker_ticks(id.pid, &t, &st) < 0 || st != id.start)
			continue;
		f->alive++;
		if (!cJSON_IsString(role))
			continue;
		if (!strcmp(role->valuestring, "cpu")) {
			f->cpu_alive++;
			f->cpu_ticks += t;
			f->cpu_life += now_ticks > st ? now_ticks - st : 0;
		} else if (!strcmp(role->valuestring, "vm")) {
			f->rss += status_kb(id.pid, "VmRSS:");
		} else {
			f->wrote += io_written(id.pid);
		}
	}
}

/*
 * The cgroups' counters since the baseline apply journalled, summed over the
 * fault's cgroups. A counter counts only when every cgroup has it now and
 * had it then (have); cpu_pct is percent of one CPU over each cgroup's window.
 */
struct cg_delta {
	unsigned have;
	int cgroups;
	double window_s, cpu_pct;
	unsigned long long usage_usec, memory, memory_growth, wbytes;
};

static void cg_delta(const cJSON *undo, struct cg_delta *d)
{
	const cJSON *cgs = cJSON_GetObjectItemCaseSensitive(undo, "cgroups");
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(undo, "cgroup_base");
	int n = cJSON_GetArraySize(cgs);

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsArray(cgs) || !cJSON_IsArray(base) || n == 0 || cJSON_GetArraySize(base) != n)
		return; /* a record from before the baseline, or none taken */
	d->have = CG_CPU | CG_MEM | CG_IO;
	d->cgroups = n;
	for (int i = 0; i < n; i++) {
		const cJSON *dir = cJSON_GetArrayItem(cgs, i);
		struct cg_counters b, c;
		double win;

		cg_counters_from_json(cJSON_GetArrayItem(base, i), &b);
		if (!cJSON_IsString(dir) || !b.mono_ns) {
			d->have = 0;
			return;
		}
		cg_sample(dir->valuestring, &c);
		d->have &= b.have & c.have;
		win = c.mono_ns > b.mono_ns ? (double)(c.mono_ns - b.mono_ns) / 1e9 : 0;
		if (win > d->window_s)
			d->window_s = win;
		if (c.usage_usec >= b.usage_usec && win > 0) {
			d->usage_usec += c.usage_usec - b.usage_usec;
			d->cpu_pct += 100.0 * (double)(c.usage_usec - b.usage_usec) / 1e6 / win;
		}
		d->memory += c.memory;
		d->memory_growth += c.memory > b.memory ? c.memory - b.memory : 0;
		d->wbytes += c.wbytes > b.wbytes ? c.wbytes - b.wbytes : 0;
	}
}

/* Append "; " (unless first) and fmt to the NUL-terminated buf. */
static void __attribute__((format(printf, 3, 4)))
sum_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strlen(buf);
	va_list ap;

	if (at && at + 2 < len) {
		memcpy(buf + at, "; ", 3);
		at += 2;
	}
	if (at + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

#define EFFECT_WINDOW_MIN_S 0.2 /* a CPU share over less time says nothing */

/*
 * What the workers achieved, from the target cgroups' own counters (cgroup
 * v2: cpu.stat usage_usec, memory.current, io.stat wbytes) against the
 * baseline apply journalled before the workers ran:
 *   cpu     percent of one CPU the cgroups used over the window, against
 *           load x cpu workers x cgroups (capped at the online CPUs); it
 *           took effect at half of that or more;
 *   memory  memory.current's growth, against the workers' MiB; half or more;
 *   io      bytes written since; more than none.
 * A counter the cgroups lack (no memory or io controller enabled there) is
 * judged from the workers' own /proc counters instead, as "judged_by" says;
 * those figures are in the effect too. took_effect is whether every kind of
 * worker asked for took effect; null when there are no workers or the
 * window is too short to judge the CPU share (right after apply).
 */
static int stress_effect(const cJSON *undo, cJSON **out)
{
	const cJSON *cw = cJSON_GetObjectItemCaseSensitive(undo, "cpu_workers");
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(undo, "cpu_load");
	const cJSON *mw = cJSON_GetObjectItemCaseSensitive(undo, "memory_workers");
	const cJSON *mm = cJSON_GetObjectItemCaseSensitive(undo, "memory_mib");
	const cJSON *iw = cJSON_GetObjectItemCaseSensitive(undo, "io_workers");
	long hz = sysconf(_SC_CLK_TCK), ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct proc_figures pf;
	struct cg_delta d;
	cJSON *o = cJSON_CreateObject(), *cg = NULL, *by = NULL;
	bool ok = true, soon = false;
	unsigned asked_mask = 0; /* the counters the workers asked for need */
	char note[256] = "", sum[384] = "";
	int r = -ENOMEM;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	if (hz <= 0)
		hz = 100;
	if (ncpu <= 0)
		ncpu = 1;
	proc_figures(undo, hz, &pf);
	cg_delta(undo, &d);
	cJSON_AddNumberToObject(o, "workers", pf.n);
	cJSON_AddNumberToObject(o, "alive", pf.alive);
	if (pf.cpu_alive) {
		cJSON_AddNumberToObject(o, "cpu_seconds", (double)pf.cpu_ticks / (double)hz);
		cJSON_AddNumberToObject(
		    o, "cpu_load_achieved",
		    pf.cpu_life ? 100.0 * (double)pf.cpu_ticks / (double)pf.cpu_life : 0);
		cJSON_AddItemToObject(o, "cpu_load_asked", cJSON_Duplicate(cl, true));
	}
	cJSON_AddNumberToObject(o, "memory_rss_bytes", (double)pf.rss);
	cJSON_AddNumberToObject(o, "io_write_bytes", (double)pf.wrote);
	if (!(cg = cJSON_AddObjectToObject(o, "cgroup")) ||
	    !(by = cJSON_AddObjectToObject(o, "judged_by")))
		goto out;
	cJSON_AddNumberToObject(cg, "cgroups", d.cgroups);
	cJSON_AddNumberToObject(cg, "window_s", d.window_s);
	if (d.have & CG_CPU) {
		cJSON_AddNumberToObject(cg, "cpu_usage_usec", (double)d.usage_usec);
		cJSON_AddNumberToObject(cg, "cpu_load_achieved", d.cpu_pct);
	} else {
		cJSON_AddNullToObject(cg, "cpu_usage_usec");
		cJSON_AddNullToObject(cg, "cpu_load_achieved");
	}
	if (cJSON_IsNumber(cw) && cw->valuedouble > 0 && cJSON_IsNumber(cl)) {
		double asked = cl->valuedouble * cw->valuedouble * (d.cgroups ? d.cgroups : 1);
		double reach = asked < 100.0 * (double)ncpu ? asked : 100.0 * (double)ncpu;

		cJSON_AddNumberToObject(cg, "cpu_load_asked", asked);
		asked_mask |= CG_CPU;
		if (d.have & CG_CPU) {
			cJSON_AddStringToObject(by, "cpu", "cgroup");
			sum_add(sum, sizeof(sum), "cpu %.1f %% of %.0f %% asked (cgroup, %.1f s)",
				d.cpu_pct, asked, d.window_s);
			if (d.window_s < EFFECT_WINDOW_MIN_S)
				soon = true;
			else
				ok = ok && d.cpu_pct >= reach / 2;
		} else {
			cJSON_AddStringToObject(by, "cpu", "proc");
			sum_add(sum, sizeof(sum), "cpu %.1f s used (workers' /proc)",
				(double)pf.cpu_ticks / (double)hz);
			ok = ok && pf.cpu_ticks > 0;
		}
	}
	if (d.have & CG_MEM) {
		cJSON_AddNumberToObject(cg, "memory_current_bytes", (double)d.memory);
		cJSON_AddNumberToObject(cg, "memory_growth_bytes", (double)d.memory_growth);
	} else {
		cJSON_AddNullToObject(cg, "memory_current_bytes");
		cJSON_AddNullToObject(cg, "memory_growth_bytes");
	}
	if (cJSON_IsNumber(mw) && mw->valuedouble > 0 && cJSON_IsNumber(mm)) {
		double asked =
		    mw->valuedouble * mm->valuedouble * 1048576.0 * (d.cgroups ? d.cgroups : 1);

		cJSON_AddNumberToObject(cg, "memory_asked_bytes", asked);
		asked_mask |= CG_MEM;
		cJSON_AddStringToObject(by, "memory", d.have & CG_MEM ? "cgroup" : "proc");
		if (d.have & CG_MEM)
			sum_add(sum, sizeof(sum), "memory.current +%.1f MiB of %.0f MiB asked",
				(double)d.memory_growth / 1048576.0, asked / 1048576.0);
		else
			sum_add(sum, sizeof(sum),
				"%.1f MiB resident of %.0f MiB asked (workers' /proc)",
				(double)pf.rss / 1048576.0, asked / 1048576.0);
		ok = ok && (d.have & CG_MEM ? (double)d.memory_growth >= asked / 2 : pf.rss > 0);
	}
	if (d.have & CG_IO)
		cJSON_AddNumberToObject(cg, "io_write_bytes", (double)d.wbytes);
	else
		cJSON_AddNullToObject(cg, "io_write_bytes");
	if (cJSON_IsNumber(iw) && iw->valuedouble > 0) {
		asked_mask |= CG_IO;
		cJSON_AddStringToObject(by, "io", d.have & CG_IO ? "cgroup" : "proc");
		sum_add(sum, sizeof(sum), "%.1f MiB written (%s)",
			(double)(d.have & CG_IO ? d.wbytes : pf.wrote) / 1048576.0,
			d.have & CG_IO ? "cgroup io.stat" : "workers' /proc");
		ok = ok && (d.have & CG_IO ? d.wbytes > 0 : pf.wrote > 0);
	}
	if (asked_mask & ~d.have)
		snprintf(note, sizeof(note), "%s%s%s%s: judged from the workers' /proc counters",
			 d.cgroups ? "the cgroups have no" : "no cgroup baseline in the record",
			 d.cgroups && (asked_mask & ~d.have & CG_CPU) ? " cpu.stat" : "",
			 d.cgroups && (asked_mask & ~d.have & CG_MEM) ? " memory.current" : "",
			 d.cgroups && (asked_mask & ~d.have & CG_IO) ? " io.stat" : "");
	if (!pf.n) {
		cJSON_AddNullToObject(o, "took_effect");
	} else if (ok && soon) {
		cJSON_AddNullToObject(o, "took_effect");
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
			 "%smeasured %.0f ms after apply: too soon for a CPU share",
			 note[0] ? "; " : "", d.window_s * 1000);
	} else {
		cJSON_AddBoolToObject(o, "took_effect", ok && pf.alive > 0);
	}
	if (note[0])
		cJSON_AddStringToObject(o, "note", note);
	sum_add(sum, sizeof(sum), "%d of %d workers alive", pf.alive, pf.n);
	cJSON_AddStringToObject(o, "summary", sum);
	*out = o;
	o = NULL;
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

const struct fl_fault_ops fl_fault_stress = {
    .effect = stress_effect,
    .kind = "stress",
    .spec = &fl_fault_spec_stress,
    .parse = fl_stress_parse,
    .plan = stress_plan,
    .apply = stress_apply,
    .revert = stress_revert,
    .describe = fl_stress_describe,
    .describe_plan = stress_describe_plan,
    .renew = stress_renew,
    .available = stress_available,
    .free = fl_stress_free,
};
