/*
 * The writer side of the shared-memory rule table (layout: preload/fl_shm.h).
 * Writers serialise with flock(2) on the object and publish with the seqlock;
 * readers (the shim) never block.
 *
 * A table that a process registered for itself is its owner's file: the
 * owner may truncate it, hold its lock, set a lease on it or put a FIFO or a
 * symbolic link in its place, at any time. So a table is opened without
 * following a final symbolic link and without blocking (O_NONBLOCK: a lease
 * break would otherwise wait up to /proc/sys/fs/lease-break-time), only a
 * regular file on tmpfs at least FL_SHM_SIZE long is mapped, and the lock is
 * only ever tried for FL_PRELOAD_LOCK_WAIT_MS.
 *
 * Truncation after the mapping is handled by design, not by a check (a check
 * would race): every access to a mapping goes through guard_begin/guard_end,
 * and a SIGBUS inside the mapping that this thread is accessing replaces the
 * mapping with anonymous memory (the access then completes harmlessly) and
 * marks the table lost; the operation returns -EPROTO. This is what
 * libwayland-server does for client-owned shm pools and systemd for journal
 * files. Writes stay plain atomic stores through the mapping, which the
 * shim's lock-free protocol (fl_shm.h) relies on: the words it reads outside
 * the seqlock (`armed`, `expires_mono_ns`) must never be seen half-written,
 * and a pwrite(2) copy gives no such promise. A SIGBUS anywhere else is
 * passed on to whatever handled it before (by default: the process dies, as
 * it would have without us).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/openat2.h>

#include "preload/rules.h"

struct fl_preload_table {
	int fd;
	uid_t uid; /* the file's owner, as opened */
	struct fl_shm_table *t;
	volatile sig_atomic_t lost; /* a SIGBUS hit the mapping: it is anonymous memory now */
};

/* ---- SIGBUS inside a table's mapping ---- */

static struct sigaction bus_prev;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static bool bus_installed;
/* The table this thread is accessing, for the handler (initial-exec: signal-safe). */
static __thread struct fl_preload_table *bus_guarded __attribute__((tls_model("initial-exec")));

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	struct fl_preload_table *t = bus_guarded;
	const char *a = si ? (const char *)si->si_addr : NULL;
	int saved = errno;

	if (t && t->t && a >= (const char *)t->t && a < (const char *)t->t + FL_SHM_SIZE &&
	    mmap(t->t, FL_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != MAP_FAILED) {
		t->lost = 1;
		errno = saved;
		return; /* the faulting access is retried, on anonymous memory */
	}
	/* Not ours: whoever handled SIGBUS before us does, as if we were not there. */
	if (bus_prev.sa_flags & SA_SIGINFO) {
		if (bus_prev.sa_sigaction) {
			bus_prev.sa_sigaction(sig, si, uc);
			errno = saved;
			return;
		}
	} else if (bus_prev.sa_handler != SIG_DFL && bus_prev.sa_handler != SIG_IGN) {
		bus_prev.sa_handler(sig);
		errno = saved;
		return;
	}
	/* The default action: restore it; returning re-executes the access, which delivers it. */
	(void)sigaction(SIGBUS, &bus_prev, NULL);
	errno = saved;
}

static void bus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	bus_installed = sigaction(SIGBUS, &sa, &bus_prev) == 0;
}

/* Before touching t's mapping. Returns false when the mapping is not safe to touch. */
static bool guard_begin(struct fl_preload_table *t)
{
	pthread_once(&bus_once, bus_install);
	if (!bus_installed || t->lost)
		return false;
	bus_guarded = t;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return true;
}

/* After: 0, or -EPROTO when the mapping went away under us (the file was truncated). */
static int guard_end(struct fl_preload_table *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	bus_guarded = NULL;
	return t->lost ? -EPROTO : 0;
}

/* ---- the writers' lock ---- */

/*
 * flock(2) never waited on for long: the lock of a registered table is its
 * owner's to hold. 0, -EWOULDBLOCK after FL_PRELOAD_LOCK_WAIT_MS, or -errno.
 */
static int lock_timed(int fd)
{
	struct timespec t0, now, nap = {0, 200000};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L;
		if (ms >= FL_PRELOAD_LOCK_WAIT_MS)
			return -EWOULDBLOCK;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 8000000)
			nap.tv_nsec *= 2;
	}
}

/* ---- open, map ---- */

/* A descriptor we may map: a regular file on tmpfs (never a FUSE file that blocks a fault). */
static int table_fd_ok(int fd, bool init, struct stat *st)
{
	struct statfs fs;

	if (fstat(fd, st) < 0 || fstatfs(fd, &fs) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode) ||
	    ((unsigned long)fs.f_type != TMPFS_MAGIC && (unsigned long)fs.f_type != RAMFS_MAGIC))
		return -EPROTO;
	if (!init && st->st_size < (off_t)FL_SHM_SIZE)
		return -EPROTO;
	return 0;
}

static int table_map(int fd, bool init, struct fl_preload_table **out)
{
	struct fl_preload_table *pt = NULL;
	struct stat st;
	void *m;
	int rc;

	if (init && ftruncate(fd, FL_SHM_SIZE) < 0)
		return -errno;
	rc = table_fd_ok(fd, init, &st);
	if (rc < 0)
		return rc;
	m = mmap(NULL, FL_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	pt = calloc(1, sizeof(*pt));
	if (!pt) {
		munmap(m, FL_SHM_SIZE);
		return -ENOMEM;
	}
	pt->t = m;
	pt->fd = fd;
	pt->uid = st.st_uid;
	if (!guard_begin(pt)) {
		rc = -EPROTO;
		goto out;
	}
	if (init) {
		__atomic_store_n(&pt->t->magic, FL_SHM_MAGIC, __ATOMIC_RELAXED);
		__atomic_store_n(&pt->t->version, FL_SHM_VERSION, __ATOMIC_RELEASE);
		rc = 0;
	} else {
		rc = __atomic_load_n(&pt->t->magic, __ATOMIC_ACQUIRE) == FL_SHM_MAGIC &&
			     __atomic_load_n(&pt->t->version, __ATOMIC_RELAXED) == FL_SHM_VERSION
			 ? 0
			 : -EPROTO;
	}
	if (guard_end(pt) < 0)
		rc = -EPROTO;
out:
	if (rc < 0) {
		munmap(pt->t, FL_SHM_SIZE);
		free(pt);
		return rc;
	}
	*out = pt;
	return 0;
}

int fl_preload_table_create(const char *name, struct fl_preload_table **out)
{
	int fd, rc;

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = table_map(fd, true, out);
	if (rc < 0) {
		shm_unlink(name);
		close(fd);
	}
	return rc;
}

/*
 * "/proc/<pid>/root/dev/shm/faultline-<nspid>" (fl_preload_table_name_in_ns):
 * opened below that process's root with RESOLVE_IN_ROOT, so that no symlink the
 * process's file system holds (/dev/shm itself, or the table) leads out of it.
 * Returns the fd or -errno; -EINVAL when the name is not of that form.
 */
static int open_in_ns(const char *name)
{
	struct open_how how = {.flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char root[48], rest[48];
	unsigned pid = 0, nspid = 0;
	int n = 0, dfd, fd;

	if (sscanf(name, "/proc/%u/root/dev/shm/faultline-%u%n", &pid, &nspid, &n) != 2 ||
	    name[n] != '\0' || pid == 0 || nspid == 0)
		return -EINVAL;
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	snprintf(rest, sizeof(rest), "dev/shm/faultline-%u", nspid);
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, rest, &how, sizeof(how));
	if (fd < 0) {
		int e = errno;

		close(dfd);
		return -e;
	}
	close(dfd);
	return fd;
}

int fl_preload_table_name_in_ns(int pid, int nspid, char *buf, size_t len)
{
	int n;

	if (pid <= 0 || nspid <= 0)
		return -EINVAL;
	n = snprintf(buf, len, "/proc/%d/root/dev/shm%s%d", pid, FL_SHM_PREFIX, nspid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int fl_preload_table_open(const char *name, struct fl_preload_table **out)
{
	int fd, rc;

	/* Never blocks (a FIFO, a lease) and never follows a link put in the table's place. */
	if (!strncmp(name, "/proc/", 6))
		fd = open_in_ns(name);
	else if ((fd = shm_open(name, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0)) < 0)
		fd = -errno;
	if (fd < 0)
		return fd;
	rc = table_map(fd, false, out);
	if (rc < 0)
		close(fd);
	return rc;
}

/* Seqlock write: make seq odd, change, make it even (release). Caller holds the flock. */
static void table_write(struct fl_shm_table *t, const struct fl_preload_rule *rules, size_t n,
			uint64_t seed, uint64_t expires)
{
	uint32_t seq = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
	uint64_t fn_rules[FL_SHM_FN_SLOTS] = {0};
	uint32_t armed = 0;

	/* Disarm first so that no new call enters the slow path on a half-written table. */
	__atomic_store_n(&t->armed, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&t->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (size_t i = 0; i < n; i++) {
		struct fl_shm_rule r = rules[i].shm;

		/* Unique per written rule, so the shim's per-slot call counters restart. */
		r.id = ((uint64_t)(seq + 2) << 8) | i;
		memcpy(&t->rules[i], &r, sizeof(r));
		for (unsigned f = 0; f < FL_FN__MAX; f++)
			if (r.fn_mask & (1u << f))
				fn_rules[f] |= 1ULL << i;
		armed |= r.fn_mask;
		/* The hit counter starts at zero, tagged with this rule (fl_shm.h). */
		__atomic_store_n(&t->hits[i], FL_SHM_HIT_TAG(r.id) << FL_SHM_HIT_BITS,
				 __ATOMIC_RELAXED);
	}
	memset(&t->rules[n], 0, (FL_SHM_RULES_MAX - n) * sizeof(t->rules[0]));
	for (size_t i = n; i < FL_SHM_RULES_MAX; i++)
		__atomic_store_n(&t->hits[i], 0, __ATOMIC_RELAXED);
	memcpy(t->fn_rules, fn_rules, sizeof(fn_rules));
	__atomic_store_n(&t->seed, seed, __ATOMIC_RELAXED);
	__atomic_store_n(&t->expires_mono_ns, expires, __ATOMIC_RELAXED);
	__atomic_store_n(&t->nrules, (uint32_t)n, __ATOMIC_RELAXED);
	__atomic_store_n(&t->seq, seq + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&t->armed, armed, __ATOMIC_RELEASE);
}

int fl_preload_table_arm(struct fl_preload_table *t, const struct fl_preload_rule *rules, size_t n,
			 uint64_t seed, uint64_t expires_mono_ns)
{
	int rc;

	if (!t || (n && !rules))
		return -EINVAL;
	if (n > FL_SHM_RULES_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (!rules[i].shm.fn_mask || rules[i].shm.fn_mask >= (1u << FL_FN__MAX))
			return -EINVAL;
	rc = lock_timed(t->fd);
	if (rc < 0)
		return rc == -EWOULDBLOCK ? -EBUSY : rc;
	if (!guard_begin(t)) {
		flock(t->fd, LOCK_UN);
		return -EPROTO;
	}
	table_write(t->t, rules, n, seed, expires_mono_ns);
	rc = guard_end(t);
	flock(t->fd, LOCK_UN);
	return rc;
}

int fl_preload_table_set_expiry(struct fl_preload_table *t, uint64_t expires_mono_ns)
{
	int lk;

	if (!t)
		return -EINVAL;
	/* One word the shim reads on its own (at a match, outside the seqlock): no lock needed
	 * against readers, so a lock held too long only means another writer may overwrite it. */
	lk = lock_timed(t->fd);
	if (lk < 0 && lk != -EWOULDBLOCK)
		return lk;
	if (!guard_begin(t)) {
		if (lk == 0)
			flock(t->fd, LOCK_UN);
		return -EPROTO;
	}
	__atomic_store_n(&t->t->expires_mono_ns, expires_mono_ns, __ATOMIC_RELEASE);
	if (lk == 0)
		flock(t->fd, LOCK_UN);
	return guard_end(t);
}

int fl_preload_table_disarm(struct fl_preload_table *t)
{
	int rc;

	if (!t)
		return -EINVAL;
	rc = fl_preload_table_arm(t, NULL, 0, 0, 0);
	if (rc != -EBUSY)
		return rc;
	/*
	 * Someone holds the writers' lock (the owner may, for as long as it
	 * likes): a disarm does not wait for it. The two words the shim honours
	 * on their own end every rule: `armed` 0 keeps every call on the fast
	 * path, and an expiry in the past makes a call that is already past that
	 * test fire nothing. A writer inside the lock may later store its own
	 * values: those are its rules, not ours.
	 */
	if (!guard_begin(t))
		return -EPROTO;
	__atomic_store_n(&t->t->armed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->t->expires_mono_ns, 1, __ATOMIC_RELEASE);
	return guard_end(t);
}

int fl_preload_table_owner(const struct fl_preload_table *t)
{
	struct fl_preload_table *w = (struct fl_preload_table *)t;
	int v;

	if (!t || !guard_begin(w))
		return 0;
	v = __atomic_load_n(&t->t->owner_pid, __ATOMIC_RELAXED);
	return guard_end(w) < 0 ? 0 : v;
}

uid_t fl_preload_table_uid(const struct fl_preload_table *t)
{
	return t ? t->uid : (uid_t)-1;
}

int fl_preload_table_hits(const struct fl_preload_table *t, uint64_t *hits, size_t n)
{
	struct fl_preload_table *g = (struct fl_preload_table *)t;
	const struct fl_shm_table *s;
	int rc = -EAGAIN;

	if (!t || (n && !hits))
		return -EINVAL;
	/* The owner may truncate the file under us: -EPROTO then (guard_begin). */
	if (!guard_begin(g))
		return -EPROTO;
	s = t->t;
	/*
	 * A seqlock read, without the writers' flock: the shim adds to the
	 * counters at any time, and a table's owner must not be able to stall
	 * us by holding the lock. A counter whose tag is not its rule's counts
	 * nothing (a hostile or torn word reads as zero hits).
	 */
	for (unsigned tries = 0; rc == -EAGAIN && tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		unsigned nr = __atomic_load_n(&s->nrules, __ATOMIC_RELAXED);

		if (s1 & 1) {
			sched_yield();
			continue;
		}
		if (nr > FL_SHM_RULES_MAX)
			nr = FL_SHM_RULES_MAX;
		for (size_t i = 0; i < n; i++) {
			uint64_t id, w;

			hits[i] = 0;
			if (i >= nr)
				continue;
			id = __atomic_load_n(&s->rules[i].id, __ATOMIC_RELAXED);
			w = __atomic_load_n(&s->hits[i], __ATOMIC_RELAXED);
			if (w >> FL_SHM_HIT_BITS == FL_SHM_HIT_TAG(id))
				hits[i] = w & FL_SHM_HIT_MAX;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == s1)
			rc = (int)(nr < n ? nr : n);
	}
	return guard_end(g) < 0 ? -EPROTO : rc;
}

unsigned fl_preload_table_nrules(const struct fl_preload_table *t)
{
	struct fl_preload_table *w = (struct fl_preload_table *)t;
	unsigned v;

	if (!t || !guard_begin(w))
		return 0;
	v = __atomic_load_n(&t->t->nrules, __ATOMIC_RELAXED);
	return guard_end(w) < 0 ? 0 : v;
}

bool fl_preload_table_armed(const struct fl_preload_table *t)
{
	struct fl_preload_table *w = (struct fl_preload_table *)t;
	uint64_t exp;
	uint32_t armed;

	if (!t || !guard_begin(w))
		return false;
	armed = __atomic_load_n(&t->t->armed, __ATOMIC_ACQUIRE);
	exp = __atomic_load_n(&t->t->expires_mono_ns, __ATOMIC_RELAXED);
	if (guard_end(w) < 0)
		return false;
	if (exp) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec >= exp)
			return false;
	}
	return armed != 0;
}

void fl_preload_table_close(struct fl_preload_table *t)
{
	if (!t)
		return;
	munmap(t->t, FL_SHM_SIZE);
	close(t->fd);
	free(t);
}

int fl_preload_table_unlink(const char *name)
{
	if (shm_unlink(name) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fl_preload_table_name_for_pid(int pid, char *buf, size_t len)
{
	int n;

	if (pid <= 0)
		return -EINVAL;
	n = snprintf(buf, len, "%s%d", FL_SHM_PREFIX, pid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* "faultline-<pid>" or "faultline-exec-<pid>" -> pid, else 0. */
static int table_pid(const char *name)
{
	const char *p;
	long v = 0;

	if (strncmp(name, &FL_SHM_PREFIX[1], sizeof(FL_SHM_PREFIX) - 2))
		return 0;
	p = name + sizeof(FL_SHM_PREFIX) - 2;
	if (!strncmp(p, "exec-", 5))
		p += 5;
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > 4194304)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return (int)v;
}

/* The initial PID namespace, as /proc/PID/ns/pid names it (the kernel's fixed PROC_PID_INIT_INO).
 */
#define INIT_PID_NS "pid:[4026531836]"

/*
 * Does this process see every PID that can own a table in this /dev/shm?
 * Only when it lives in the initial PID namespace: from any other, a table's
 * owner may be alive where we cannot see it, and kill(pid, 0) says ESRCH.
 */
static bool sees_all_pids(void)
{
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);

	if (n <= 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, INIT_PID_NS);
}

int fl_preload_table_gc(void)
{
	DIR *d;
	struct dirent *e;
	int removed = 0;

	if (!sees_all_pids())
		return 0;
	d = opendir("/dev/shm");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char name[FL_SHM_NAME_MAX];
		int pid = table_pid(e->d_name);

		/* Only a pid that is certainly free; a live stranger keeps its name. */
		if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(name, sizeof(name), "/%s", e->d_name) >= (int)sizeof(name))
			continue;
		if (shm_unlink(name) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
