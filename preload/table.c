/*
 * The writer side of the shared-memory rule table (layout: preload/fl_shm.h).
 * Writers serialise with flock(2) on the object and publish with the seqlock;
 * readers (the shim) never block.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "preload/rules.h"

struct fl_preload_table {
	int fd;
	struct fl_shm_table *t;
};

static int table_map(int fd, bool init, struct fl_preload_table **out)
{
	struct fl_preload_table *pt = NULL;
	struct stat st;
	void *m;
	int rc;

	if (init && ftruncate(fd, FL_SHM_SIZE) < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)FL_SHM_SIZE)
		return -EPROTO;
	m = mmap(NULL, FL_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	pt = calloc(1, sizeof(*pt));
	if (!pt) {
		rc = -ENOMEM;
		goto out;
	}
	pt->t = m;
	if (init) {
		__atomic_store_n(&pt->t->magic, FL_SHM_MAGIC, __ATOMIC_RELAXED);
		__atomic_store_n(&pt->t->version, FL_SHM_VERSION, __ATOMIC_RELEASE);
	} else if (__atomic_load_n(&pt->t->magic, __ATOMIC_ACQUIRE) != FL_SHM_MAGIC ||
		   __atomic_load_n(&pt->t->version, __ATOMIC_RELAXED) != FL_SHM_VERSION) {
		rc = -EPROTO;
		goto out;
	}
	pt->fd = fd;
	*out = pt;
	pt = NULL;
	m = NULL;
	rc = 0;
out:
	free(pt);
	if (m)
		munmap(m, FL_SHM_SIZE);
	return rc;
}

int fl_preload_table_create(const char *name, struct fl_preload_table **out)
{
	int fd, rc;

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
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
 * process's file system holds (/dev/shm itself, or the table) leads out of it,
 * and only a regular file is taken. Returns the fd or -errno; -EINVAL when the
 * name is not of that form.
 */
static int open_in_ns(const char *name)
{
	struct open_how how = {.flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char root[48], rest[48];
	unsigned pid = 0, nspid = 0;
	int n = 0, dfd, fd;
	struct stat st;

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
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EPROTO;
	}
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

	if (!strncmp(name, "/proc/", 6))
		fd = open_in_ns(name);
	else
		fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0 && !strncmp(name, "/proc/", 6))
		return fd;
	if (fd < 0)
		return -errno;
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
	if (!t || (n && !rules))
		return -EINVAL;
	if (n > FL_SHM_RULES_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (!rules[i].shm.fn_mask || rules[i].shm.fn_mask >= (1u << FL_FN__MAX))
			return -EINVAL;
	if (flock(t->fd, LOCK_EX) < 0)
		return -errno;
	table_write(t->t, rules, n, seed, expires_mono_ns);
	flock(t->fd, LOCK_UN);
	return 0;
}

int fl_preload_table_set_expiry(struct fl_preload_table *t, uint64_t expires_mono_ns)
{
	if (!t)
		return -EINVAL;
	if (flock(t->fd, LOCK_EX) < 0)
		return -errno;
	/* One word the shim reads on its own (at a match, outside the seqlock). */
	__atomic_store_n(&t->t->expires_mono_ns, expires_mono_ns, __ATOMIC_RELEASE);
	flock(t->fd, LOCK_UN);
	return 0;
}

int fl_preload_table_disarm(struct fl_preload_table *t)
{
	return fl_preload_table_arm(t, NULL, 0, 0, 0);
}

int fl_preload_table_owner(const struct fl_preload_table *t)
{
	return t ? __atomic_load_n(&t->t->owner_pid, __ATOMIC_RELAXED) : 0;
}

int fl_preload_table_hits(const struct fl_preload_table *t, uint64_t *hits, size_t n)
{
	const struct fl_shm_table *s;

	if (!t || (n && !hits))
		return -EINVAL;
	s = t->t;
	/*
	 * A seqlock read, without the writers' flock: the shim adds to the
	 * counters at any time, and a table's owner must not be able to stall
	 * us by holding the lock. A counter whose tag is not its rule's counts
	 * nothing (a hostile or torn word reads as zero hits).
	 */
	for (unsigned tries = 0; tries < 1000; tries++) {
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
			return (int)(nr < n ? nr : n);
	}
	return -EAGAIN;
}

unsigned fl_preload_table_nrules(const struct fl_preload_table *t)
{
	return t ? __atomic_load_n(&t->t->nrules, __ATOMIC_RELAXED) : 0;
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

int fl_preload_table_gc(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	int removed = 0;

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
