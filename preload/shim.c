/*
 * libfaultline-preload.so: libc hooks that fail, delay or shorten calls as the
 * rules in a shared-memory table (preload/fl_shm.h) say.
 *
 * The promise is "near-zero cost when idle", so the layout of this file is
 * driven by the disarmed path:
 *
 *   - The table is mapped read-only with MAP_FIXED over `fl_area`, a 64 KiB
 *     aligned block of this library's own .bss. Until (and unless) a table is
 *     mapped, the block is zeroes, i.e. disarmed. The disarmed test is thus one
 *     RIP-relative relaxed load of `fl_area.t.armed` and a branch: no pointer
 *     to chase, no NULL check, no TLS.
 *   - Real functions live in `fl_real`, initialised to raw-syscall fallbacks and
 *     replaced once, process-wide, by dlsym(RTLD_NEXT) in the constructor. A
 *     call made before the constructor (another library's constructor, say)
 *     therefore still works, and no hook ever checks for NULL or calls dlsym.
 *
 * Armed, a call goes to the slow path: per-thread recursion guard, a seqlock
 * snapshot of the rules for this function (filters evaluated in place, no
 * copy of the table), then per-rule call counters (`when`) and a per-thread
 * xorshift PRNG (`p`). The slow path allocates nothing, takes no lock, uses no
 * stdio and saves errno around every syscall it makes itself, so hooks are
 * async-signal-safe and may run in signal handlers and between fork and exec.
 *
 * Only the hooked libc names are exported (-fvisibility=hidden plus the
 * version script libfaultline-preload.map); every internal name is local, so
 * an application that defines the same names is unaffected (tested).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "preload/fl_shm.h"

#define FL_EXPORT      __attribute__((visibility("default")))
#define FL_NOINLINE    __attribute__((noinline))
#define FL_INLINE      static inline __attribute__((always_inline))
#define FL_LIKELY(x)   __builtin_expect(!!(x), 1)
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Most filter/rule matches we keep per call; a call matched by more is rare. */
#define FL_PICK_MAX 8
/* Seqlock retries before a call gives up and passes through unfaulted. */
#define FL_SEQ_TRIES 64
/* Bytes of a resolved fd path we compare (path prefixes are shorter). */
#define FL_FDPATH_MAX FL_SHM_PATH_MAX
/* iovec entries kept when shortening readv/writev/sendmsg/recvmsg. */
#define FL_IOV_MAX 64

/* The table, mapped over our own .bss (see the top of the file). */
static union {
	struct fl_shm_table t;
	unsigned char bytes[FL_SHM_SIZE];
} fl_area __attribute__((aligned(FL_SHM_SIZE)));

/* ---- real functions: raw-syscall fallbacks until the constructor ran ---- */

static ssize_t fl_raw_read(int fd, void *b, size_t n)
{
	return syscall(SYS_read, fd, b, n);
}
static ssize_t fl_raw_write(int fd, const void *b, size_t n)
{
	return syscall(SYS_write, fd, b, n);
}
static ssize_t fl_raw_pread(int fd, void *b, size_t n, off_t o)
{
	return syscall(SYS_pread64, fd, b, n, o);
}
static ssize_t fl_raw_pwrite(int fd, const void *b, size_t n, off_t o)
{
	return syscall(SYS_pwrite64, fd, b, n, o);
}
static ssize_t fl_raw_readv(int fd, const struct iovec *v, int c)
{
	return syscall(SYS_readv, fd, v, c);
}
static ssize_t fl_raw_writev(int fd, const struct iovec *v, int c)
{
	return syscall(SYS_writev, fd, v, c);
}
static int fl_raw_open(const char *p, int f, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, f);
	m = va_arg(ap, mode_t);
	va_end(ap);
	return syscall(SYS_openat, AT_FDCWD, p, f, m);
}
static int fl_raw_openat(int d, const char *p, int f, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, f);
	m = va_arg(ap, mode_t);
	va_end(ap);
	return syscall(SYS_openat, d, p, f, m);
}
static int fl_raw_open_2(const char *p, int f)
{
	return syscall(SYS_openat, AT_FDCWD, p, f, 0);
}
static int fl_raw_openat_2(int d, const char *p, int f)
{
	return syscall(SYS_openat, d, p, f, 0);
}
static int fl_raw_close(int fd)
{
	return syscall(SYS_close, fd);
}
static int fl_raw_fsync(int fd)
{
	return syscall(SYS_fsync, fd);
}
static int fl_raw_fdatasync(int fd)
{
	return syscall(SYS_fdatasync, fd);
}
static int fl_raw_connect(int fd, const struct sockaddr *a, socklen_t l)
{
	return syscall(SYS_connect, fd, a, l);
}
static int fl_raw_accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return syscall(SYS_accept4, fd, a, l, 0);
}
static int fl_raw_accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
	return syscall(SYS_accept4, fd, a, l, f);
}
static ssize_t fl_raw_send(int fd, const void *b, size_t n, int f)
{
	return syscall(SYS_sendto, fd, b, n, f, NULL, 0);
}
static ssize_t fl_raw_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a,
			     socklen_t l)
{
	return syscall(SYS_sendto, fd, b, n, f, a, l);
}
static ssize_t fl_raw_sendmsg(int fd, const struct msghdr *m, int f)
{
	return syscall(SYS_sendmsg, fd, m, f);
}
static ssize_t fl_raw_recv(int fd, void *b, size_t n, int f)
{
	return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL);
}
static ssize_t fl_raw_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
	return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static ssize_t fl_raw_recvmsg(int fd, struct msghdr *m, int f)
{
	return syscall(SYS_recvmsg, fd, m, f);
}
static ssize_t fl_raw_read_chk(int fd, void *b, size_t n, size_t bl)
{
	(void)bl;
	return syscall(SYS_read, fd, b, n);
}
static ssize_t fl_raw_pread_chk(int fd, void *b, size_t n, off_t o, size_t bl)
{
	(void)bl;
	return syscall(SYS_pread64, fd, b, n, o);
}
static ssize_t fl_raw_recv_chk(int fd, void *b, size_t n, size_t bl, int f)
{
	(void)bl;
	return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL);
}
static ssize_t fl_raw_recvfrom_chk(int fd, void *b, size_t n, size_t bl, int f, struct sockaddr *a,
				   socklen_t *l)
{
	(void)bl;
	return syscall(SYS_recvfrom, fd, b, n, f, a, l);
}
static int fl_raw_getaddrinfo(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

static struct {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*close)(int);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*pread_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*pread64_chk)(int, void *, size_t, off_t, size_t);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
} fl_real = {
    fl_raw_read,      fl_raw_write,    fl_raw_pread,	    fl_raw_pread,	fl_raw_pwrite,
    fl_raw_pwrite,    fl_raw_readv,    fl_raw_writev,	    fl_raw_open,	fl_raw_open,
    fl_raw_openat,    fl_raw_openat,   fl_raw_open_2,	    fl_raw_open_2,	fl_raw_openat_2,
    fl_raw_openat_2,  fl_raw_close,    fl_raw_fsync,	    fl_raw_fdatasync,	fl_raw_connect,
    fl_raw_accept,    fl_raw_accept4,  fl_raw_send,	    fl_raw_sendto,	fl_raw_sendmsg,
    fl_raw_recv,      fl_raw_recvfrom, fl_raw_recvmsg,	    fl_raw_read_chk,	fl_raw_pread_chk,
    fl_raw_pread_chk, fl_raw_recv_chk, fl_raw_recvfrom_chk, fl_raw_getaddrinfo,
};

/*
 * getaddrinfo has no syscall to fall back on. Before the constructor ran we
 * resolve it here, once; this is the only dlsym outside the constructor and it
 * can only happen during library initialisation.
 */
static int fl_raw_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			      struct addrinfo **res)
{
	int (*f)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

	*(void **)&f = dlsym(RTLD_NEXT, "getaddrinfo");
	if (!f)
		return EAI_SYSTEM;
	return f(node, service, hints, res);
}

/* ---- per-process and per-thread state ---- */

/* Call counters for `when`, per rule slot; reset when the slot's rule id changes. */
static struct {
	uint64_t id;
	uint64_t n;
} fl_counts[FL_SHM_RULES_MAX];

/* Bumped in the child after fork so that per-thread PRNGs re-seed. */
static uint32_t fl_fork_epoch;
/* Next thread ordinal (the order in which threads first draw a random number). */
static uint32_t fl_thread_next;
/* The pid that registered (created) its own table, for the destructor. */
static pid_t fl_registered_pid;
static char fl_registered_name[FL_SHM_NAME_MAX];

struct fl_tls {
	uint32_t busy;	  /* recursion guard: inside our slow path or a nested real call */
	uint32_t seeded;  /* the PRNG below is seeded */
	uint32_t epoch;	  /* fl_fork_epoch it was seeded in */
	uint32_t ordinal; /* this thread's ordinal + 1; 0 = not assigned yet */
	uint64_t seed;	  /* table seed it was seeded from */
	uint64_t rng;	  /* xorshift64* state, never 0 */
};
/* initial-exec: static TLS, so access never calls __tls_get_addr (which may allocate). */
static __thread struct fl_tls fl_tls __attribute__((tls_model("initial-exec")));

#define FL_LD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

FL_INLINE uint32_t fl_armed(unsigned fn)
{
	return __atomic_load_n(&fl_area.t.armed, __ATOMIC_RELAXED) & (1u << fn);
}

/*
 * Armed, but not for this call: a read-only scan of the rules for `fn` that
 * rejects on the fd filter alone. Inlined into the hooks so that the common
 * armed miss (a rule for another descriptor) needs no stack frame, no TLS and
 * no stores, and still ends in a tail jump to libc. Returns true only for a
 * consistent snapshot in which no rule can match; anything else goes to the
 * full matcher, which decides under the seqlock itself.
 */
FL_INLINE bool fl_quick_miss(unsigned fn, int fd)
{
	const struct fl_shm_table *t = &fl_area.t;
	uint32_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
	uint64_t slots = FL_LD(t->fn_rules[fn]) & ((1ULL << FL_SHM_RULES_MAX) - 1);

	while (slots) {
		const struct fl_shm_rule *r = &t->rules[(unsigned long)__builtin_ctzll(slots)];

		slots &= slots - 1;
		if (!(FL_LD(r->flags) & FL_RULE_FD) || FL_LD(r->fd) == fd)
			return false;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !(s1 & 1) && __atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1;
}

/* ---- the slow path ---- */

/* What a call offers to the filters. */
struct fl_call {
	unsigned fn;
	int fd;			     /* -1: none */
	const char *path;	     /* open/openat: the path as given */
	const struct sockaddr *peer; /* connect/sendto: the address given */
	socklen_t peerlen;
	const char *host; /* getaddrinfo node */
};

/* Lazily resolved facts about the call's fd (a syscall each, only if a rule asks). */
struct fl_lazy {
	int path_state; /* 0 unknown, 1 resolved, -1 none */
	int peer_state;
	int sock_state;
	char path[FL_FDPATH_MAX];
	struct sockaddr_storage peer;
	struct sockaddr_storage sock;
};

/* What a firing rule does. */
struct fl_act {
	uint32_t flags;
	int32_t err;
	int32_t gai;
	uint64_t delay_ns;
	uint64_t short_len;
};

/* A rule whose filters matched, copied out of the seqlock section. */
struct fl_pick {
	unsigned slot;
	uint32_t flags;
	uint32_t prob;
	uint64_t id;
	uint64_t first, last, step;
	struct fl_act act;
};

static uint64_t fl_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Per-thread xorshift64*. Seeded from the table seed, the thread's ordinal and
 * the fork epoch -- not from the tid, which differs from run to run and would
 * break replay: with the same seed and the same call sequence, the same calls
 * fail.
 */
static uint32_t fl_rand32(uint64_t seed)
{
	struct fl_tls *t = &fl_tls;
	uint32_t epoch = __atomic_load_n(&fl_fork_epoch, __ATOMIC_RELAXED);
	uint64_t x;

	if (!t->seeded || t->seed != seed || t->epoch != epoch) {
		if (!t->ordinal)
			t->ordinal = __atomic_add_fetch(&fl_thread_next, 1, __ATOMIC_RELAXED);
		x = fl_splitmix(seed ^ fl_splitmix(((uint64_t)epoch << 32) | t->ordinal));
		t->rng = x ? x : 0x2545f4914f6cdd1dULL;
		t->seed = seed;
		t->epoch = epoch;
		t->seeded = 1;
	}
	x = t->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Count a filter-matched call of a rule slot; returns the 1-based call number. */
static uint64_t fl_count(unsigned slot, uint64_t id)
{
	uint64_t cur = __atomic_load_n(&fl_counts[slot].id, __ATOMIC_ACQUIRE);

	/* A new rule in this slot starts counting from zero (a benign race between threads). */
	if (cur != id && __atomic_compare_exchange_n(&fl_counts[slot].id, &cur, id, false,
						     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		__atomic_store_n(&fl_counts[slot].n, 0, __ATOMIC_RELEASE);
	return __atomic_add_fetch(&fl_counts[slot].n, 1, __ATOMIC_ACQ_REL);
}

static FL_NOINLINE void fl_lazy_path(int fd, struct fl_lazy *lz)
{
	char proc[32] = "/proc/self/fd/";
	char digits[12];
	size_t n = 0, off = 14;
	unsigned v = (unsigned)fd;
	int saved = errno;
	ssize_t len;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n)
		proc[off++] = digits[--n];
	proc[off] = '\0';
	/* readlink truncates; we only ever compare a prefix shorter than the buffer. */
	len = syscall(SYS_readlinkat, AT_FDCWD, proc, lz->path, sizeof(lz->path) - 1);
	if (len >= 0) {
		lz->path[len] = '\0';
		lz->path_state = 1;
	} else {
		lz->path_state = -1;
	}
	errno = saved;
}

static FL_NOINLINE void fl_lazy_addr(int fd, bool peer, struct fl_lazy *lz)
{
	struct sockaddr_storage *ss = peer ? &lz->peer : &lz->sock;
	socklen_t len = sizeof(*ss);
	int saved = errno;
	long r;

	r = syscall(peer ? SYS_getpeername : SYS_getsockname, fd, ss, &len);
	*(peer ? &lz->peer_state : &lz->sock_state) = r == 0 ? 1 : -1;
	errno = saved;
}

static bool fl_prefix(const char *s, const char *prefix, unsigned plen)
{
	for (unsigned i = 0; i < plen; i++) {
		char c = FL_LD(prefix[i]);

		if (s[i] != c)
			return false;
	}
	return true;
}

static bool fl_host_eq(const char *a, const char *b)
{
	for (unsigned i = 0; i < FL_SHM_HOST_MAX; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)FL_LD(b[i]);

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
		if (!x)
			return true;
	}
	return false;
}

/* Does the address match the rule's port/addr filters? */
static bool fl_addr_match(const struct fl_shm_rule *r, uint32_t f, const struct sockaddr *sa,
			  socklen_t salen)
{
	const uint8_t *a = NULL;
	unsigned alen = 0, fam;
	uint16_t port;

	if (!sa || salen < sizeof(sa_family_t))
		return false;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		port = ntohs(in->sin_port);
		a = (const uint8_t *)&in->sin_addr;
		alen = 4;
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		port = ntohs(in6->sin6_port);
		a = (const uint8_t *)&in6->sin6_addr;
		alen = 16;
	} else {
		return false;
	}
	if ((f & FL_RULE_PORT) && FL_LD(r->port) != port)
		return false;
	if (!(f & FL_RULE_ADDR))
		return true;
	fam = FL_LD(r->addr_family);
	/* An IPv4 rule also matches the IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
	if (fam == AF_INET && alen == 16) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a, mapped, 12))
			return false;
		a += 12;
		alen = 4;
	}
	if ((fam == AF_INET) != (alen == 4))
		return false;
	for (unsigned i = 0; i < alen; i++)
		if (FL_LD(r->addr[i]) != a[i])
			return false;
	return true;
}

/* Do the rule's filters accept this call? Filters that do not apply to the call never match. */
FL_INLINE bool fl_match(const struct fl_shm_rule *r, uint32_t f, const struct fl_call *c,
			struct fl_lazy *lz)
{
	if (f & FL_RULE_FD) {
		if (c->fd < 0 || FL_LD(r->fd) != c->fd)
			return false;
	}
	if (f & FL_RULE_PATH) {
		const char *p = c->path;
		unsigned plen = FL_LD(r->path_len);

		if (plen >= FL_SHM_PATH_MAX)
			return false;
		if (!p) {
			if (c->fd < 0)
				return false;
			if (!lz->path_state)
				fl_lazy_path(c->fd, lz);
			if (lz->path_state < 0)
				return false;
			p = lz->path;
		}
		if (!fl_prefix(p, r->path, plen))
			return false;
	}
	if (f & (FL_RULE_PORT | FL_RULE_ADDR)) {
		const struct sockaddr *sa = c->peer;
		socklen_t salen = c->peerlen;

		if (!sa) {
			/* accept: the listening socket's own address; others: the peer. */
			bool own = c->fn == FL_FN_ACCEPT;
			int *state = own ? &lz->sock_state : &lz->peer_state;

			if (c->fd < 0)
				return false;
			if (!*state)
				fl_lazy_addr(c->fd, !own, lz);
			if (*state < 0)
				return false;
			sa = (const struct sockaddr *)(own ? &lz->sock : &lz->peer);
			salen = sizeof(struct sockaddr_storage);
		}
		if (!fl_addr_match(r, f, sa, salen))
			return false;
	}
	if (f & FL_RULE_HOST) {
		if (!c->host || !fl_host_eq(c->host, r->host))
			return false;
	}
	return true;
}

static bool fl_expired(void)
{
	uint64_t deadline = FL_LD(fl_area.t.expires_mono_ns);
	struct timespec ts;

	if (!deadline)
		return false;
	/* vDSO; cannot fail for CLOCK_MONOTONIC, so errno is untouched. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec >= deadline;
}

/* Count, schedule and draw for the matched rules; the first that fires acts. */
static FL_NOINLINE bool fl_fire(struct fl_pick *pk, unsigned npk, uint64_t seed, struct fl_act *act)
{
	if (fl_expired())
		return false;
	for (unsigned i = 0; i < npk; i++) {
		struct fl_pick *p = &pk[i];

		if (p->flags & FL_RULE_WHEN) {
			uint64_t n = fl_count(p->slot, p->id);

			if (n < p->first || n > p->last || (n - p->first) % p->step)
				continue;
		}
		if ((p->flags & FL_RULE_PROB) && fl_rand32(seed) >= p->prob)
			continue;
		*act = p->act;
		return true;
	}
	return false;
}

/* Decide whether this call faults (the full matcher). Returns true with *act filled in. */
static FL_NOINLINE bool fl_decide(const struct fl_call *c, struct fl_act *act)
{
	const struct fl_shm_table *t = &fl_area.t;
	struct fl_tls *tls = &fl_tls;
	struct fl_pick pk[FL_PICK_MAX];
	struct fl_lazy lz;
	unsigned npk = 0;
	uint64_t seed = 0;
	bool fired = false;

	if (tls->busy)
		return false;
	tls->busy = 1;
	lz.path_state = lz.peer_state = lz.sock_state = 0;
	for (unsigned tries = 0; tries < FL_SEQ_TRIES; tries++) {
		uint32_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
		uint64_t slots;

		if (s1 & 1)
			continue;
		slots = FL_LD(t->fn_rules[c->fn]) & ((1ULL << FL_SHM_RULES_MAX) - 1);
		npk = 0;
		while (slots) {
			unsigned i = (unsigned)__builtin_ctzll(slots);
			const struct fl_shm_rule *r = &t->rules[i];
			uint32_t f = FL_LD(r->flags);

			slots &= slots - 1;
			if (npk == FL_PICK_MAX || !fl_match(r, f, c, &lz))
				continue;
			pk[npk].slot = i;
			pk[npk].flags = f;
			pk[npk].prob = FL_LD(r->prob);
			pk[npk].id = FL_LD(r->id);
			pk[npk].first = FL_LD(r->when_first);
			pk[npk].last = FL_LD(r->when_last);
			pk[npk].step = FL_LD(r->when_step);
			pk[npk].act.flags = f;
			pk[npk].act.err = FL_LD(r->err);
			pk[npk].act.gai = FL_LD(r->gai);
			pk[npk].act.delay_ns = FL_LD(r->delay_ns);
			pk[npk].act.short_len = FL_LD(r->short_len);
			if (!pk[npk].step)
				pk[npk].step = 1;
			npk++;
		}
		seed = npk ? FL_LD(t->seed) : 0;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1) {
			if (npk)
				fired = fl_fire(pk, npk, seed, act);
			break;
		}
	}
	tls->busy = 0;
	return fired;
}

/* The full matcher for a call that offers only an fd. */
static FL_NOINLINE bool fl_decide_fd(unsigned fn, int fd, struct fl_act *act)
{
	struct fl_call c = {.fn = fn, .fd = fd};

	return fl_decide(&c, act);
}

static void fl_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
			      .tv_nsec = (long)(ns % 1000000000ULL)};

	/* clock_nanosleep returns the error instead of setting errno. */
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* Delay if asked; returns true when the call must fail with act->err (errno set). */
static bool fl_act_pre(const struct fl_act *act)
{
	if (act->flags & FL_RULE_DELAY)
		fl_sleep_ns(act->delay_ns);
	if (act->flags & FL_RULE_ERRNO) {
		errno = act->err;
		return true;
	}
	return false;
}

static size_t fl_short(const struct fl_act *act, size_t n)
{
	if ((act->flags & FL_RULE_SHORT) && act->short_len < n)
		return act->short_len;
	return n;
}

/* Shorten an iovec array to at most act->short_len bytes; returns the new count. */
static int fl_short_iov(const struct fl_act *act, const struct iovec *in, int cnt,
			struct iovec *out)
{
	size_t left = act->short_len;
	int n = 0;

	if (cnt < 0)
		return -1;
	for (; n < cnt && n < FL_IOV_MAX; n++) {
		out[n] = in[n];
		if (out[n].iov_len >= left) {
			out[n].iov_len = left;
			return n + 1;
		}
		left -= out[n].iov_len;
	}
	return n;
}

/*
 * ---- hooks ----
 * Each hook is three layers: the exported name (disarmed test, tail jump to
 * libc), fl_<name>_armed (the frameless fd-only scan, tail jump to libc on a
 * miss) and fl_<name>_slow (the full matcher and the fault itself).
 */

#define FL_CALL_FD(fnid, fdv)                                                                      \
	{                                                                                          \
		.fn = (fnid), .fd = (fdv)                                                          \
	}

static FL_NOINLINE ssize_t fl_read_slow(int fd, void *buf, size_t n)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_READ, fd, &a))
		return fl_real.read(fd, buf, n);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.read(fd, buf, fl_short(&a, n));
}

/* Armed: reject on the fd alone without a frame, else the full slow path. */
static FL_NOINLINE ssize_t fl_read_armed(int fd, void *buf, size_t n)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_READ, fd)))
		return fl_real.read(fd, buf, n);
	return fl_read_slow(fd, buf, n);
}

FL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (FL_LIKELY(!fl_armed(FL_FN_READ)))
		return fl_real.read(fd, buf, n);
	return fl_read_armed(fd, buf, n);
}

FL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (FL_LIKELY(!fl_armed(FL_FN_READ)) || n > buflen)
		return fl_real.read_chk(fd, buf, n, buflen);
	return fl_read_armed(fd, buf, n);
}

static FL_NOINLINE ssize_t fl_write_slow(int fd, const void *buf, size_t n)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_WRITE, fd, &a))
		return fl_real.write(fd, buf, n);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.write(fd, buf, fl_short(&a, n));
}

static FL_NOINLINE ssize_t fl_write_armed(int fd, const void *buf, size_t n)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_WRITE, fd)))
		return fl_real.write(fd, buf, n);
	return fl_write_slow(fd, buf, n);
}

FL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WRITE)))
		return fl_real.write(fd, buf, n);
	return fl_write_armed(fd, buf, n);
}

static FL_NOINLINE ssize_t fl_pread_slow(ssize_t (*real)(int, void *, size_t, off_t), int fd,
					 void *buf, size_t n, off_t off)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_PREAD, fd, &a))
		return real(fd, buf, n, off);
	if (fl_act_pre(&a))
		return -1;
	return real(fd, buf, fl_short(&a, n), off);
}

static FL_NOINLINE ssize_t fl_pread_armed(ssize_t (*real)(int, void *, size_t, off_t), int fd,
					  void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_PREAD, fd)))
		return real(fd, buf, n, off);
	return fl_pread_slow(real, fd, buf, n, off);
}

FL_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PREAD)))
		return fl_real.pread(fd, buf, n, off);
	return fl_pread_armed(fl_real.pread, fd, buf, n, off);
}

FL_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PREAD)))
		return fl_real.pread64(fd, buf, n, off);
	return fl_pread_armed(fl_real.pread64, fd, buf, n, off);
}

FL_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PREAD)) || n > buflen)
		return fl_real.pread_chk(fd, buf, n, off, buflen);
	return fl_pread_armed(fl_real.pread, fd, buf, n, off);
}

FL_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PREAD)) || n > buflen)
		return fl_real.pread64_chk(fd, buf, n, off, buflen);
	return fl_pread_armed(fl_real.pread64, fd, buf, n, off);
}

static FL_NOINLINE ssize_t fl_pwrite_slow(ssize_t (*real)(int, const void *, size_t, off_t), int fd,
					  const void *buf, size_t n, off_t off)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_PWRITE, fd, &a))
		return real(fd, buf, n, off);
	if (fl_act_pre(&a))
		return -1;
	return real(fd, buf, fl_short(&a, n), off);
}

static FL_NOINLINE ssize_t fl_pwrite_armed(ssize_t (*real)(int, const void *, size_t, off_t),
					   int fd, const void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_PWRITE, fd)))
		return real(fd, buf, n, off);
	return fl_pwrite_slow(real, fd, buf, n, off);
}

FL_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PWRITE)))
		return fl_real.pwrite(fd, buf, n, off);
	return fl_pwrite_armed(fl_real.pwrite, fd, buf, n, off);
}

FL_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	if (FL_LIKELY(!fl_armed(FL_FN_PWRITE)))
		return fl_real.pwrite64(fd, buf, n, off);
	return fl_pwrite_armed(fl_real.pwrite64, fd, buf, n, off);
}

static FL_NOINLINE ssize_t fl_readv_slow(int fd, const struct iovec *iov, int cnt)
{
	struct iovec v[FL_IOV_MAX];
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_READV, fd, &a))
		return fl_real.readv(fd, iov, cnt);
	if (fl_act_pre(&a))
		return -1;
	if (!(a.flags & FL_RULE_SHORT))
		return fl_real.readv(fd, iov, cnt);
	return fl_real.readv(fd, v, fl_short_iov(&a, iov, cnt, v));
}

static FL_NOINLINE ssize_t fl_readv_armed(int fd, const struct iovec *iov, int cnt)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_READV, fd)))
		return fl_real.readv(fd, iov, cnt);
	return fl_readv_slow(fd, iov, cnt);
}

FL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (FL_LIKELY(!fl_armed(FL_FN_READV)))
		return fl_real.readv(fd, iov, cnt);
	return fl_readv_armed(fd, iov, cnt);
}

static FL_NOINLINE ssize_t fl_writev_slow(int fd, const struct iovec *iov, int cnt)
{
	struct iovec v[FL_IOV_MAX];
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_WRITEV, fd, &a))
		return fl_real.writev(fd, iov, cnt);
	if (fl_act_pre(&a))
		return -1;
	if (!(a.flags & FL_RULE_SHORT))
		return fl_real.writev(fd, iov, cnt);
	return fl_real.writev(fd, v, fl_short_iov(&a, iov, cnt, v));
}

static FL_NOINLINE ssize_t fl_writev_armed(int fd, const struct iovec *iov, int cnt)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_WRITEV, fd)))
		return fl_real.writev(fd, iov, cnt);
	return fl_writev_slow(fd, iov, cnt);
}

FL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WRITEV)))
		return fl_real.writev(fd, iov, cnt);
	return fl_writev_armed(fd, iov, cnt);
}

/* open(2) takes a mode only when it may create a file. */
#define FL_NEEDS_MODE(f) (((f)&O_CREAT) || ((f)&O_TMPFILE) == O_TMPFILE)

/* Decide an open/openat; returns -1 when the call must fail (errno set), else 0. */
static FL_NOINLINE int fl_open_slow(unsigned fn, const char *path)
{
	struct fl_call c = {.fn = fn, .fd = -1, .path = path};
	struct fl_act a;

	if (path && fl_decide(&c, &a) && fl_act_pre(&a))
		return -1;
	return 0;
}

FL_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (FL_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.open(path, flags, mode);
}

FL_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (FL_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.open64(path, flags, mode);
}

FL_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (FL_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.openat(dirfd, path, flags, mode);
}

FL_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (FL_NEEDS_MODE(flags)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.openat64(dirfd, path, flags, mode);
}

/* Fortified callers (-D_FORTIFY_SOURCE) reach open through these. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
		       socklen_t *alen);

FL_EXPORT int __open_2(const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.open_2(path, flags);
}

FL_EXPORT int __open64_2(const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.open64_2(path, flags);
}

FL_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.openat_2(dirfd, path, flags);
}

FL_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.openat64_2(dirfd, path, flags);
}

/* Simple fd calls (close, fsync, fdatasync): fail, delay, or pass. */
static FL_NOINLINE int fl_fd_slow(unsigned fn, int (*real)(int), int fd)
{
	struct fl_act a;
	int r;

	if (!fl_decide_fd(fn, fd, &a))
		return real(fd);
	if (fn == FL_FN_CLOSE && (a.flags & FL_RULE_ERRNO)) {
		/*
		 * Linux releases the descriptor even when close fails; so do we,
		 * or every injected close error would leak an fd.
		 */
		if (a.flags & FL_RULE_DELAY)
			fl_sleep_ns(a.delay_ns);
		r = real(fd);
		(void)r;
		errno = a.err;
		return -1;
	}
	if (fl_act_pre(&a))
		return -1;
	return real(fd);
}

static FL_NOINLINE int fl_fd_armed(unsigned fn, int (*real)(int), int fd)
{
	if (FL_LIKELY(fl_quick_miss(fn, fd)))
		return real(fd);
	return fl_fd_slow(fn, real, fd);
}

FL_EXPORT int close(int fd)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOSE)))
		return fl_real.close(fd);
	return fl_fd_armed(FL_FN_CLOSE, fl_real.close, fd);
}

FL_EXPORT int fsync(int fd)
{
	if (FL_LIKELY(!fl_armed(FL_FN_FSYNC)))
		return fl_real.fsync(fd);
	return fl_fd_armed(FL_FN_FSYNC, fl_real.fsync, fd);
}

FL_EXPORT int fdatasync(int fd)
{
	if (FL_LIKELY(!fl_armed(FL_FN_FDATASYNC)))
		return fl_real.fdatasync(fd);
	return fl_fd_armed(FL_FN_FDATASYNC, fl_real.fdatasync, fd);
}

static FL_NOINLINE int fl_connect_slow(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fl_call c = {.fn = FL_FN_CONNECT, .fd = fd, .peer = sa, .peerlen = len};
	struct fl_act a;

	if (fl_decide(&c, &a) && fl_act_pre(&a))
		return -1;
	return fl_real.connect(fd, sa, len);
}

static FL_NOINLINE int fl_connect_armed(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_CONNECT, fd)))
		return fl_real.connect(fd, sa, len);
	return fl_connect_slow(fd, sa, len);
}

FL_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CONNECT)))
		return fl_real.connect(fd, addr.__sockaddr__, len);
	return fl_connect_armed(fd, addr.__sockaddr__, len);
}

static FL_NOINLINE int fl_accept_slow(int fd)
{
	struct fl_call c = FL_CALL_FD(FL_FN_ACCEPT, fd);
	struct fl_act a;

	return fl_decide(&c, &a) && fl_act_pre(&a) ? -1 : 0;
}

FL_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_ACCEPT)) && fl_accept_slow(fd))
		return -1;
	return fl_real.accept(fd, addr.__sockaddr__, len);
}

FL_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_ACCEPT)) && fl_accept_slow(fd))
		return -1;
	return fl_real.accept4(fd, addr.__sockaddr__, len, flags);
}

static FL_NOINLINE ssize_t fl_send_slow(int fd, const void *buf, size_t n, int flags)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_SEND, fd, &a))
		return fl_real.send(fd, buf, n, flags);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.send(fd, buf, fl_short(&a, n), flags);
}

static FL_NOINLINE ssize_t fl_send_armed(int fd, const void *buf, size_t n, int flags)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_SEND, fd)))
		return fl_real.send(fd, buf, n, flags);
	return fl_send_slow(fd, buf, n, flags);
}

FL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (FL_LIKELY(!fl_armed(FL_FN_SEND)))
		return fl_real.send(fd, buf, n, flags);
	return fl_send_armed(fd, buf, n, flags);
}

static FL_NOINLINE ssize_t fl_sendto_slow(int fd, const void *buf, size_t n, int flags,
					  const struct sockaddr *sa, socklen_t len)
{
	struct fl_call c = {.fn = FL_FN_SENDTO, .fd = fd, .peer = sa, .peerlen = len};
	struct fl_act a;

	if (!fl_decide(&c, &a))
		return fl_real.sendto(fd, buf, n, flags, sa, len);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.sendto(fd, buf, fl_short(&a, n), flags, sa, len);
}

static FL_NOINLINE ssize_t fl_sendto_armed(int fd, const void *buf, size_t n, int flags,
					   const struct sockaddr *sa, socklen_t len)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_SENDTO, fd)))
		return fl_real.sendto(fd, buf, n, flags, sa, len);
	return fl_sendto_slow(fd, buf, n, flags, sa, len);
}

FL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
			 socklen_t len)
{
	if (FL_LIKELY(!fl_armed(FL_FN_SENDTO)))
		return fl_real.sendto(fd, buf, n, flags, addr.__sockaddr__, len);
	return fl_sendto_armed(fd, buf, n, flags, addr.__sockaddr__, len);
}

static FL_NOINLINE ssize_t fl_sendmsg_slow(int fd, const struct msghdr *msg, int flags)
{
	struct fl_call c = {.fn = FL_FN_SENDMSG,
			    .fd = fd,
			    .peer = msg ? msg->msg_name : NULL,
			    .peerlen = msg ? msg->msg_namelen : 0};
	struct iovec v[FL_IOV_MAX];
	struct msghdr m;
	struct fl_act a;

	if (!fl_decide(&c, &a))
		return fl_real.sendmsg(fd, msg, flags);
	if (fl_act_pre(&a))
		return -1;
	if (!(a.flags & FL_RULE_SHORT) || !msg)
		return fl_real.sendmsg(fd, msg, flags);
	m = *msg;
	m.msg_iov = v;
	m.msg_iovlen = (size_t)fl_short_iov(&a, msg->msg_iov, (int)msg->msg_iovlen, v);
	return fl_real.sendmsg(fd, &m, flags);
}

static FL_NOINLINE ssize_t fl_sendmsg_armed(int fd, const struct msghdr *msg, int flags)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_SENDMSG, fd)))
		return fl_real.sendmsg(fd, msg, flags);
	return fl_sendmsg_slow(fd, msg, flags);
}

FL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (FL_LIKELY(!fl_armed(FL_FN_SENDMSG)))
		return fl_real.sendmsg(fd, msg, flags);
	return fl_sendmsg_armed(fd, msg, flags);
}

static FL_NOINLINE ssize_t fl_recv_slow(int fd, void *buf, size_t n, int flags)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_RECV, fd, &a))
		return fl_real.recv(fd, buf, n, flags);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.recv(fd, buf, fl_short(&a, n), flags);
}

static FL_NOINLINE ssize_t fl_recv_armed(int fd, void *buf, size_t n, int flags)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_RECV, fd)))
		return fl_real.recv(fd, buf, n, flags);
	return fl_recv_slow(fd, buf, n, flags);
}

FL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (FL_LIKELY(!fl_armed(FL_FN_RECV)))
		return fl_real.recv(fd, buf, n, flags);
	return fl_recv_armed(fd, buf, n, flags);
}

FL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (FL_LIKELY(!fl_armed(FL_FN_RECV)) || n > buflen)
		return fl_real.recv_chk(fd, buf, n, buflen, flags);
	return fl_recv_armed(fd, buf, n, flags);
}

static FL_NOINLINE ssize_t fl_recvfrom_slow(int fd, void *buf, size_t n, int flags,
					    struct sockaddr *sa, socklen_t *len)
{
	struct fl_act a;

	if (!fl_decide_fd(FL_FN_RECVFROM, fd, &a))
		return fl_real.recvfrom(fd, buf, n, flags, sa, len);
	if (fl_act_pre(&a))
		return -1;
	return fl_real.recvfrom(fd, buf, fl_short(&a, n), flags, sa, len);
}

static FL_NOINLINE ssize_t fl_recvfrom_armed(int fd, void *buf, size_t n, int flags,
					     struct sockaddr *sa, socklen_t *len)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_RECVFROM, fd)))
		return fl_real.recvfrom(fd, buf, n, flags, sa, len);
	return fl_recvfrom_slow(fd, buf, n, flags, sa, len);
}

FL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr,
			   socklen_t *restrict len)
{
	if (FL_LIKELY(!fl_armed(FL_FN_RECVFROM)))
		return fl_real.recvfrom(fd, buf, n, flags, addr.__sockaddr__, len);
	return fl_recvfrom_armed(fd, buf, n, flags, addr.__sockaddr__, len);
}

FL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				 struct sockaddr *addr, socklen_t *len)
{
	if (FL_LIKELY(!fl_armed(FL_FN_RECVFROM)) || n > buflen)
		return fl_real.recvfrom_chk(fd, buf, n, buflen, flags, addr, len);
	return fl_recvfrom_armed(fd, buf, n, flags, addr, len);
}

static FL_NOINLINE ssize_t fl_recvmsg_slow(int fd, struct msghdr *msg, int flags)
{
	struct iovec v[FL_IOV_MAX], *orig;
	size_t origlen;
	struct fl_act a;
	ssize_t r;

	if (!fl_decide_fd(FL_FN_RECVMSG, fd, &a))
		return fl_real.recvmsg(fd, msg, flags);
	if (fl_act_pre(&a))
		return -1;
	if (!(a.flags & FL_RULE_SHORT) || !msg)
		return fl_real.recvmsg(fd, msg, flags);
	/* recvmsg writes back into *msg (name length, flags), so shorten in place and restore. */
	orig = msg->msg_iov;
	origlen = msg->msg_iovlen;
	msg->msg_iov = v;
	msg->msg_iovlen = (size_t)fl_short_iov(&a, orig, (int)origlen, v);
	r = fl_real.recvmsg(fd, msg, flags);
	msg->msg_iov = orig;
	msg->msg_iovlen = origlen;
	return r;
}

static FL_NOINLINE ssize_t fl_recvmsg_armed(int fd, struct msghdr *msg, int flags)
{
	if (FL_LIKELY(fl_quick_miss(FL_FN_RECVMSG, fd)))
		return fl_real.recvmsg(fd, msg, flags);
	return fl_recvmsg_slow(fd, msg, flags);
}

FL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (FL_LIKELY(!fl_armed(FL_FN_RECVMSG)))
		return fl_real.recvmsg(fd, msg, flags);
	return fl_recvmsg_armed(fd, msg, flags);
}

static FL_NOINLINE int fl_getaddrinfo_slow(const char *node, const char *service,
					   const struct addrinfo *hints, struct addrinfo **res)
{
	struct fl_call c = {.fn = FL_FN_GETADDRINFO, .fd = -1, .host = node};
	struct fl_act a;
	int r;

	if (fl_decide(&c, &a)) {
		if (a.flags & FL_RULE_DELAY)
			fl_sleep_ns(a.delay_ns);
		if (a.flags & FL_RULE_ERRNO) {
			if (a.gai)
				return a.gai;
			errno = a.err;
			return EAI_SYSTEM;
		}
	}
	/*
	 * The resolver's own connect/send/recv (NSS modules call them through
	 * the PLT) are not the application's calls: keep the guard up.
	 */
	fl_tls.busy++;
	r = fl_real.getaddrinfo(node, service, hints, res);
	fl_tls.busy--;
	return r;
}

FL_EXPORT int getaddrinfo(const char *restrict node, const char *restrict service,
			  const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
	if (FL_LIKELY(!fl_armed(FL_FN_GETADDRINFO)))
		return fl_real.getaddrinfo(node, service, hints, res);
	return fl_getaddrinfo_slow(node, service, hints, res);
}

/* ---- set-up: resolve, map, register ---- */

static void fl_resolve(void)
{
#define R(field, name)                                                                             \
	do {                                                                                       \
		void *p = dlsym(RTLD_NEXT, name);                                                  \
		if (p)                                                                             \
			*(void **)&fl_real.field = p;                                              \
	} while (0)
	R(read, "read");
	R(write, "write");
	R(pread, "pread");
	R(pread64, "pread64");
	R(pwrite, "pwrite");
	R(pwrite64, "pwrite64");
	R(readv, "readv");
	R(writev, "writev");
	R(open, "open");
	R(open64, "open64");
	R(openat, "openat");
	R(openat64, "openat64");
	R(open_2, "__open_2");
	R(open64_2, "__open64_2");
	R(openat_2, "__openat_2");
	R(openat64_2, "__openat64_2");
	R(close, "close");
	R(fsync, "fsync");
	R(fdatasync, "fdatasync");
	R(connect, "connect");
	R(accept, "accept");
	R(accept4, "accept4");
	R(send, "send");
	R(sendto, "sendto");
	R(sendmsg, "sendmsg");
	R(recv, "recv");
	R(recvfrom, "recvfrom");
	R(recvmsg, "recvmsg");
	R(read_chk, "__read_chk");
	R(pread_chk, "__pread_chk");
	R(pread64_chk, "__pread64_chk");
	R(recv_chk, "__recv_chk");
	R(recvfrom_chk, "__recvfrom_chk");
	R(getaddrinfo, "getaddrinfo");
#undef R
}

/* Read the header through the fd and accept only a table of our layout. */
static bool fl_table_ok(int fd)
{
	struct fl_shm_table h;
	struct stat st;

	if (fstat(fd, &st) || st.st_size < (off_t)FL_SHM_SIZE)
		return false;
	if (fl_real.pread(fd, &h, offsetof(struct fl_shm_table, fn_rules), 0) !=
	    (ssize_t)offsetof(struct fl_shm_table, fn_rules))
		return false;
	return h.magic == FL_SHM_MAGIC && h.version == FL_SHM_VERSION;
}

static void fl_map_fd(int fd)
{
	void *want = fl_area.bytes;

	/* MAP_FIXED over our own .bss: same address, so the hooks never chase a pointer. */
	if ((uintptr_t)want % (uintptr_t)sysconf(_SC_PAGESIZE))
		return;
	(void)mmap(want, FL_SHM_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
}

/*
 * Without FAULTLINE_SHM, register: create /dev/shm/faultline-<pid> (mode 0600)
 * so that the agent finds this process and can arm it later. The destructor
 * removes it; the agent collects tables whose owner died with SIGKILL.
 */
static void fl_register(void)
{
	struct fl_shm_table h;
	char name[FL_SHM_NAME_MAX] = FL_SHM_PREFIX;
	size_t off = sizeof(FL_SHM_PREFIX) - 1, n = 0;
	pid_t pid = getpid();
	unsigned v = (unsigned)pid;
	char digits[12];
	int fd;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n)
		name[off++] = digits[--n];
	name[off] = '\0';
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* A stale table of a dead process that had our pid. */
		shm_unlink(name);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return;
	memset(&h, 0, offsetof(struct fl_shm_table, fn_rules));
	h.magic = FL_SHM_MAGIC;
	h.version = FL_SHM_VERSION;
	h.owner_pid = pid;
	if (ftruncate(fd, FL_SHM_SIZE) ||
	    fl_real.pwrite(fd, &h, offsetof(struct fl_shm_table, fn_rules), 0) !=
		(ssize_t)offsetof(struct fl_shm_table, fn_rules)) {
		shm_unlink(name);
		fl_real.close(fd);
		return;
	}
	fl_map_fd(fd);
	fl_real.close(fd);
	memcpy(fl_registered_name, name, sizeof(name));
	fl_registered_pid = pid;
}

static void fl_atfork_child(void)
{
	/* Per-process counters restart, and every thread's PRNG re-seeds. */
	memset(fl_counts, 0, sizeof(fl_counts));
	__atomic_add_fetch(&fl_fork_epoch, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void fl_init(void)
{
	int saved = errno;
	const char *name;

	fl_resolve();
	pthread_atfork(NULL, NULL, fl_atfork_child);
	name = getenv(FL_SHM_ENV);
	if (name && *name) {
		int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

		if (fd >= 0) {
			if (fl_table_ok(fd))
				fl_map_fd(fd);
			fl_real.close(fd);
		}
	} else if (!name) {
		fl_register();
	}
	errno = saved;
}

__attribute__((destructor)) static void fl_fini(void)
{
	int saved = errno;

	/* Only the registering process removes its table, not a forked child. */
	if (fl_registered_pid && fl_registered_pid == getpid())
		shm_unlink(fl_registered_name);
	errno = saved;
}
