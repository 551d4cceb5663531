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

/* ---- the descriptor hooks, one table ---- */

/*
 * Every hook whose only cheap filter is its descriptor is one line here; each
 * line becomes the fl_real member and its raw-syscall fallback, the dlsym in
 * fl_resolve, the exported name (disarmed test, tail jump to libc),
 * fl_<name>_armed (the frameless fd-only scan) and fl_<name>_slow (the body of
 * its flavour, FL_SLOW_<flavour> below).
 *
 * X(name, FN, ret, xparams, xargs, params, args, raw, flavour)
 *   name     libc's symbol, also the fl_real member
 *   FN       the function family (enum fl_shm_fn without FL_FN_)
 *   xparams  the exported prototype, as libc's headers declare it
 *   xargs    its arguments as the internal prototype takes them
 *   params   the internal prototype; the first parameter is always `fd`
 *   args     its argument names
 *   raw      the fallback before the constructor ran: one raw syscall
 *   flavour  what a fault does: BUF (fail, delay, shorten n), IOV (shorten an
 *            iovec array), SYNC (fail or delay), CLOSE, CONNECT, SENDTO,
 *            SENDMSG, RECVMSG
 */
/* clang-format off */
#define FL_SA_C __CONST_SOCKADDR_ARG
#define FL_SA   __SOCKADDR_ARG
#define FL_FD_HOOKS(X) \
X(read, READ, ssize_t, (int fd, void *buf, size_t n), (fd, buf, n), \
  (int fd, void *buf, size_t n), (fd, buf, n), syscall(SYS_read, fd, buf, n), BUF) \
X(write, WRITE, ssize_t, (int fd, const void *buf, size_t n), (fd, buf, n), \
  (int fd, const void *buf, size_t n), (fd, buf, n), syscall(SYS_write, fd, buf, n), BUF) \
X(pread, PREAD, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pread64, fd, buf, n, off), BUF) \
X(pread64, PREAD, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pread64, fd, buf, n, off), BUF) \
X(pwrite, PWRITE, ssize_t, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pwrite64, fd, buf, n, off), BUF) \
X(pwrite64, PWRITE, ssize_t, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pwrite64, fd, buf, n, off), BUF) \
X(readv, READV, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  syscall(SYS_readv, fd, iov, cnt), IOV) \
X(writev, WRITEV, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  syscall(SYS_writev, fd, iov, cnt), IOV) \
X(close, CLOSE, int, (int fd), (fd), (int fd), (fd), syscall(SYS_close, fd), CLOSE) \
X(fsync, FSYNC, int, (int fd), (fd), (int fd), (fd), syscall(SYS_fsync, fd), SYNC) \
X(fdatasync, FDATASYNC, int, (int fd), (fd), (int fd), (fd), syscall(SYS_fdatasync, fd), SYNC) \
X(connect, CONNECT, int, (int fd, FL_SA_C sa, socklen_t len), (fd, sa.__sockaddr__, len), \
  (int fd, const struct sockaddr *sa, socklen_t len), (fd, sa, len), \
  syscall(SYS_connect, fd, sa, len), CONNECT) \
X(send, SEND, ssize_t, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags), \
  (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags), \
  syscall(SYS_sendto, fd, buf, n, flags, NULL, 0), BUF) \
X(sendto, SENDTO, ssize_t, (int fd, const void *buf, size_t n, int flags, FL_SA_C sa, socklen_t len), \
  (fd, buf, n, flags, sa.__sockaddr__, len), \
  (int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len), \
  (fd, buf, n, flags, sa, len), syscall(SYS_sendto, fd, buf, n, flags, sa, len), SENDTO) \
X(sendmsg, SENDMSG, ssize_t, (int fd, const struct msghdr *msg, int flags), (fd, msg, flags), \
  (int fd, const struct msghdr *msg, int flags), (fd, msg, flags), \
  syscall(SYS_sendmsg, fd, msg, flags), SENDMSG) \
X(recv, RECV, ssize_t, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), \
  (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), \
  syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL), BUF) \
X(recvfrom, RECVFROM, ssize_t, \
  (int fd, void *buf, size_t n, int flags, FL_SA sa, socklen_t *restrict len), \
  (fd, buf, n, flags, sa.__sockaddr__, len), \
  (int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len), \
  (fd, buf, n, flags, sa, len), syscall(SYS_recvfrom, fd, buf, n, flags, sa, len), BUF) \
X(recvmsg, RECVMSG, ssize_t, (int fd, struct msghdr *msg, int flags), (fd, msg, flags), \
  (int fd, struct msghdr *msg, int flags), (fd, msg, flags), \
  syscall(SYS_recvmsg, fd, msg, flags), RECVMSG)

/*
 * The fortified entry points (-D_FORTIFY_SOURCE) of some of them: the same
 * family, passed to libc's own checker when the buffer is too small (it
 * aborts), else armed like the plain name.
 *
 * C(name, base, FN, ret, params, args, base_args, bad, raw)
 */
#define FL_CHK_HOOKS(C) \
C(__read_chk, read, READ, ssize_t, (int fd, void *buf, size_t n, size_t buflen), \
  (fd, buf, n, buflen), (fd, buf, n), n > buflen, syscall(SYS_read, fd, buf, n)) \
C(__pread_chk, pread, PREAD, ssize_t, (int fd, void *buf, size_t n, off_t off, size_t buflen), \
  (fd, buf, n, off, buflen), (fd, buf, n, off), n > buflen, \
  syscall(SYS_pread64, fd, buf, n, off)) \
C(__pread64_chk, pread64, PREAD, ssize_t, \
  (int fd, void *buf, size_t n, off_t off, size_t buflen), (fd, buf, n, off, buflen), \
  (fd, buf, n, off), n > buflen, syscall(SYS_pread64, fd, buf, n, off)) \
C(__recv_chk, recv, RECV, ssize_t, (int fd, void *buf, size_t n, size_t buflen, int flags), \
  (fd, buf, n, buflen, flags), (fd, buf, n, flags), n > buflen, \
  syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL)) \
C(__recvfrom_chk, recvfrom, RECVFROM, ssize_t, \
  (int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *sa, socklen_t *len), \
  (fd, buf, n, buflen, flags, sa, len), (fd, buf, n, flags, sa, len), n > buflen, \
  syscall(SYS_recvfrom, fd, buf, n, flags, sa, len))
/* clang-format on */

/* ---- real functions: raw-syscall fallbacks until the constructor ran ---- */

/* No header declares the fortified names without _FORTIFY_SOURCE. */
#define FL_GEN_CHK_DECL(name, base, FN, ret, params, args, bargs, bad, raw) ret name params;
FL_CHK_HOOKS(FL_GEN_CHK_DECL)
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define FL_GEN_RAW(name, FN, ret, xparams, xargs, params, args, raw, flavour)                      \
	static ret fl_raw_##name params                                                            \
	{                                                                                          \
		return (ret)raw;                                                                   \
	}
#define FL_GEN_RAW_CHK(name, base, FN, ret, params, args, bargs, bad, raw)                         \
	static ret fl_raw_##name params                                                            \
	{                                                                                          \
		return (ret)raw;                                                                   \
	}
FL_FD_HOOKS(FL_GEN_RAW)
FL_CHK_HOOKS(FL_GEN_RAW_CHK)
#pragma GCC diagnostic pop

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
static int fl_raw_accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return syscall(SYS_accept4, fd, a, l, 0);
}
static int fl_raw_accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
	return syscall(SYS_accept4, fd, a, l, f);
}
static int fl_raw_getaddrinfo(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

#define FL_GEN_MEMBER(name, FN, ret, xparams, xargs, params, args, raw, flavour) ret(*name) params;
#define FL_GEN_MEMBER_CHK(name, base, FN, ret, params, args, bargs, bad, raw)	 ret(*name) params;
#define FL_GEN_INIT(name, FN, ret, xparams, xargs, params, args, raw, flavour)                     \
	.name = fl_raw_##name,
#define FL_GEN_INIT_CHK(name, base, FN, ret, params, args, bargs, bad, raw) .name = fl_raw_##name,

static struct {
	FL_FD_HOOKS(FL_GEN_MEMBER)
	FL_CHK_HOOKS(FL_GEN_MEMBER_CHK)
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*__open_2)(const char *, int);
	int (*__open64_2)(const char *, int);
	int (*__openat_2)(int, const char *, int);
	int (*__openat64_2)(int, const char *, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	/* clang-format off */
} fl_real = {
	FL_FD_HOOKS(FL_GEN_INIT)
	FL_CHK_HOOKS(FL_GEN_INIT_CHK)
	.open = fl_raw_open,
	.open64 = fl_raw_open,
	.openat = fl_raw_openat,
	.openat64 = fl_raw_openat,
	.__open_2 = fl_raw_open_2,
	.__open64_2 = fl_raw_open_2,
	.__openat_2 = fl_raw_openat_2,
	.__openat64_2 = fl_raw_openat_2,
	.accept = fl_raw_accept,
	.accept4 = fl_raw_accept4,
	.getaddrinfo = fl_raw_getaddrinfo,
};
/* clang-format on */

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
		/* A NUL inside path_len (a corrupt table): s ended too; never read past it. */
		if (!c)
			return true;
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
 * Each descriptor hook is three layers: the exported name (disarmed test,
 * tail jump to libc), fl_<name>_armed (the frameless fd-only scan, tail jump
 * to libc on a miss) and fl_<name>_slow (the full matcher and the fault
 * itself). All three are generated from FL_FD_HOOKS; the slow layer's body
 * comes from its flavour. The hooks that filter on more than a descriptor
 * (open, accept, getaddrinfo) are written out below them.
 */

#define FL_CALL_FD(fnid, fdv)                                                                      \
	{                                                                                          \
		.fn = (fnid), .fd = (fdv)                                                          \
	}

/*
 * The libc names are the hooks; a build that compiles this file into another
 * program (the fuzz target) renames them with FL_HOOK_NAME.
 */
#ifndef FL_HOOK_NAME
#define FL_HOOK_NAME(name) name
#endif

/* Fail, delay, or transfer at most short= bytes (read/write/send/recv with a buffer). */
#define FL_SLOW_BUF(name, FN, params, args)                                                        \
	{                                                                                          \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide_fd(FL_FN_##FN, fd, &a))                                             \
			return fl_real.name args;                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		n = fl_short(&a, n);                                                               \
		return fl_real.name args;                                                          \
	}

/* The same over an iovec array (readv, writev). */
#define FL_SLOW_IOV(name, FN, params, args)                                                        \
	{                                                                                          \
		struct iovec v[FL_IOV_MAX];                                                        \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide_fd(FL_FN_##FN, fd, &a))                                             \
			return fl_real.name args;                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		if (a.flags & FL_RULE_SHORT) {                                                     \
			cnt = fl_short_iov(&a, iov, cnt, v);                                       \
			iov = v;                                                                   \
		}                                                                                  \
		return fl_real.name args;                                                          \
	}

/* Fail or delay (fsync, fdatasync). */
#define FL_SLOW_SYNC(name, FN, params, args)                                                       \
	{                                                                                          \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (fl_decide_fd(FL_FN_##FN, fd, &a) && fl_act_pre(&a))                            \
			return -1;                                                                 \
		return fl_real.name args;                                                          \
	}

/*
 * close: Linux releases the descriptor even when close fails; so do we, or
 * every injected close error would leak an fd.
 */
#define FL_SLOW_CLOSE(name, FN, params, args)                                                      \
	{                                                                                          \
		struct fl_act a;                                                                   \
		int r;                                                                             \
                                                                                                   \
		if (!fl_decide_fd(FL_FN_##FN, fd, &a))                                             \
			return fl_real.name args;                                                  \
		if (a.flags & FL_RULE_ERRNO) {                                                     \
			if (a.flags & FL_RULE_DELAY)                                               \
				fl_sleep_ns(a.delay_ns);                                           \
			r = fl_real.name args;                                                     \
			(void)r;                                                                   \
			errno = a.err;                                                             \
			return -1;                                                                 \
		}                                                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		return fl_real.name args;                                                          \
	}

/* connect: the peer is the address given. */
#define FL_SLOW_CONNECT(name, FN, params, args)                                                    \
	{                                                                                          \
		struct fl_call c = {.fn = FL_FN_##FN, .fd = fd, .peer = sa, .peerlen = len};       \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (fl_decide(&c, &a) && fl_act_pre(&a))                                           \
			return -1;                                                                 \
		return fl_real.name args;                                                          \
	}

/* sendto: a buffer, and the peer is the address given (else the connected one). */
#define FL_SLOW_SENDTO(name, FN, params, args)                                                     \
	{                                                                                          \
		struct fl_call c = {.fn = FL_FN_##FN, .fd = fd, .peer = sa, .peerlen = len};       \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide(&c, &a))                                                            \
			return fl_real.name args;                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		n = fl_short(&a, n);                                                               \
		return fl_real.name args;                                                          \
	}

#define FL_SLOW_SENDMSG(name, FN, params, args)                                                    \
	{                                                                                          \
		struct fl_call c = {.fn = FL_FN_##FN,                                              \
				    .fd = fd,                                                      \
				    .peer = msg ? msg->msg_name : NULL,                            \
				    .peerlen = msg ? msg->msg_namelen : 0};                        \
		struct iovec v[FL_IOV_MAX];                                                        \
		struct msghdr m;                                                                   \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide(&c, &a))                                                            \
			return fl_real.name args;                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		if (!(a.flags & FL_RULE_SHORT) || !msg)                                            \
			return fl_real.name args;                                                  \
		m = *msg;                                                                          \
		m.msg_iov = v;                                                                     \
		m.msg_iovlen = (size_t)fl_short_iov(&a, msg->msg_iov, (int)msg->msg_iovlen, v);    \
		msg = &m;                                                                          \
		return fl_real.name args;                                                          \
	}

/* recvmsg writes back into *msg (name length, flags): shorten in place and restore. */
#define FL_SLOW_RECVMSG(name, FN, params, args)                                                    \
	{                                                                                          \
		struct iovec v[FL_IOV_MAX], *orig;                                                 \
		size_t origlen;                                                                    \
		struct fl_act a;                                                                   \
		ssize_t r;                                                                         \
                                                                                                   \
		if (!fl_decide_fd(FL_FN_##FN, fd, &a))                                             \
			return fl_real.name args;                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		if (!(a.flags & FL_RULE_SHORT) || !msg)                                            \
			return fl_real.name args;                                                  \
		orig = msg->msg_iov;                                                               \
		origlen = msg->msg_iovlen;                                                         \
		msg->msg_iov = v;                                                                  \
		msg->msg_iovlen = (size_t)fl_short_iov(&a, orig, (int)origlen, v);                 \
		r = fl_real.name args;                                                             \
		msg->msg_iov = orig;                                                               \
		msg->msg_iovlen = origlen;                                                         \
		return r;                                                                          \
	}

#define FL_GEN_SLOW(name, FN, ret, xparams, xargs, params, args, raw, flavour)                     \
	static FL_NOINLINE ret fl_##name##_slow params FL_SLOW_##flavour(name, FN, params, args)
FL_FD_HOOKS(FL_GEN_SLOW)

/* Armed: reject on the fd alone without a frame, else the full slow path. */
#define FL_GEN_ARMED(name, FN, ret, xparams, xargs, params, args, raw, flavour)                    \
	static FL_NOINLINE ret fl_##name##_armed params                                            \
	{                                                                                          \
		if (FL_LIKELY(fl_quick_miss(FL_FN_##FN, fd)))                                      \
			return fl_real.name args;                                                  \
		return fl_##name##_slow args;                                                      \
	}
FL_FD_HOOKS(FL_GEN_ARMED)

/* Disarmed: one relaxed load, a branch and a tail jump to libc. */
#define FL_GEN_EXPORT(name, FN, ret, xparams, xargs, params, args, raw, flavour)                   \
	FL_EXPORT ret FL_HOOK_NAME(name) xparams                                                   \
	{                                                                                          \
		if (FL_LIKELY(!fl_armed(FL_FN_##FN)))                                              \
			return fl_real.name xargs;                                                 \
		return fl_##name##_armed xargs;                                                    \
	}
FL_FD_HOOKS(FL_GEN_EXPORT)

#define FL_GEN_EXPORT_CHK(name, base, FN, ret, params, args, bargs, bad, raw)                      \
	FL_EXPORT ret FL_HOOK_NAME(name) params                                                    \
	{                                                                                          \
		if (FL_LIKELY(!fl_armed(FL_FN_##FN)) || (bad))                                     \
			return fl_real.name args;                                                  \
		return fl_##base##_armed bargs;                                                    \
	}
FL_CHK_HOOKS(FL_GEN_EXPORT_CHK)
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

FL_EXPORT int FL_HOOK_NAME(open)(const char *path, int flags, ...)
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

FL_EXPORT int FL_HOOK_NAME(open64)(const char *path, int flags, ...)
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

FL_EXPORT int FL_HOOK_NAME(openat)(int dirfd, const char *path, int flags, ...)
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

FL_EXPORT int FL_HOOK_NAME(openat64)(int dirfd, const char *path, int flags, ...)
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

FL_EXPORT int FL_HOOK_NAME(__open_2)(const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.__open_2(path, flags);
}

FL_EXPORT int FL_HOOK_NAME(__open64_2)(const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPEN)) && fl_open_slow(FL_FN_OPEN, path))
		return -1;
	return fl_real.__open64_2(path, flags);
}

FL_EXPORT int FL_HOOK_NAME(__openat_2)(int dirfd, const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.__openat_2(dirfd, path, flags);
}

FL_EXPORT int FL_HOOK_NAME(__openat64_2)(int dirfd, const char *path, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_OPENAT)) && fl_open_slow(FL_FN_OPENAT, path))
		return -1;
	return fl_real.__openat64_2(dirfd, path, flags);
}

static FL_NOINLINE int fl_accept_slow(int fd)
{
	struct fl_call c = FL_CALL_FD(FL_FN_ACCEPT, fd);
	struct fl_act a;

	return fl_decide(&c, &a) && fl_act_pre(&a) ? -1 : 0;
}

FL_EXPORT int FL_HOOK_NAME(accept)(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_ACCEPT)) && fl_accept_slow(fd))
		return -1;
	return fl_real.accept(fd, addr.__sockaddr__, len);
}

FL_EXPORT int FL_HOOK_NAME(accept4)(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
	if (FL_UNLIKELY(fl_armed(FL_FN_ACCEPT)) && fl_accept_slow(fd))
		return -1;
	return fl_real.accept4(fd, addr.__sockaddr__, len, flags);
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

FL_EXPORT int FL_HOOK_NAME(getaddrinfo)(const char *restrict node, const char *restrict service,
					const struct addrinfo *restrict hints,
					struct addrinfo **restrict res)
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
#define FL_GEN_RESOLVE(name, ...) R(name, #name);
	FL_FD_HOOKS(FL_GEN_RESOLVE)
	FL_CHK_HOOKS(FL_GEN_RESOLVE)
	R(open, "open");
	R(open64, "open64");
	R(openat, "openat");
	R(openat64, "openat64");
	R(__open_2, "__open_2");
	R(__open64_2, "__open64_2");
	R(__openat_2, "__openat_2");
	R(__openat64_2, "__openat64_2");
	R(accept, "accept");
	R(accept4, "accept4");
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
