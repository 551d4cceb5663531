/*
 * libfaultline-preload.so: libc hooks that fail, delay or shorten calls as the
 * rules in a shared-memory table (preload/fl_shm.h) say.
 *
 * The promise is "near-zero cost when idle", so the layout of this file is
 * driven by the disarmed path:
 *
 *   - The table is mapped with MAP_FIXED over `fl_area`, a 64 KiB aligned
 *     block of this library's own .bss (read-write where we may: the per-rule
 *     hit counters are the one thing the shim writes there). Until (and
 *     unless) a table is mapped, the block is zeroes, i.e. disarmed. The
 *     disarmed test is thus one RIP-relative relaxed load of
 *     `fl_area.t.armed` and a branch: no pointer to chase, no NULL check, no
 *     TLS.
 *   - Real functions live in `fl_real`, initialised to raw-syscall fallbacks and
 *     replaced once, process-wide, by dlsym(RTLD_NEXT) in the constructor. A
 *     call made before the constructor (another library's constructor, say)
 *     therefore still works, and no hook ever checks for NULL or calls dlsym.
 *
 * Armed, a call goes to the slow path: per-thread recursion guard, a seqlock
 * snapshot of the rules for this function (filters evaluated in place, no
 * copy of the table), then per-rule call counters (`when`), a per-thread
 * xorshift PRNG (`p`) and, for the rule that fires, one CAS on its hit
 * counter. A rule is a call rule (fail, delay, shorten), a time rule (the
 * clock hooks), a dns rule (the resolver hooks) or a stream rule (data calls,
 * close and shutdown of TCP connections, with per-connection facts in a
 * fixed array; the wait hooks meet its deadlines). The slow path allocates
 * nothing, takes no lock, uses no stdio and saves errno around every syscall
 * it makes itself, so hooks are async-signal-safe and may run in signal
 * handlers and between fork and exec.
 *
 * Only the hooked libc names are exported (-fvisibility=hidden plus the
 * version script libfaultline-preload.map); every internal name is local, so
 * an application that defines the same names is unaffected (tested).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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

/*
 * The libc names are the hooks; a build that compiles this file into another
 * program (the fuzz target) renames them with FL_HOOK_NAME.
 */
#ifndef FL_HOOK_NAME
#define FL_HOOK_NAME(name) name
#endif

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
 *   flavour  what a fault does: RBUF/RECV and WBUF/SEND/SENDTO (a receive or
 *            a send with a buffer: fail, delay, shorten n, stream rules),
 *            RIOV/WIOV (the same over an iovec array), SYNC (fail or delay),
 *            CLOSE, SHUTDOWN, CONNECT, SENDMSG, RECVMSG
 */
/* clang-format off */
#define FL_SA_C __CONST_SOCKADDR_ARG
#define FL_SA   __SOCKADDR_ARG
#define FL_FD_HOOKS(X) \
X(read, READ, ssize_t, (int fd, void *buf, size_t n), (fd, buf, n), \
  (int fd, void *buf, size_t n), (fd, buf, n), syscall(SYS_read, fd, buf, n), RBUF) \
X(write, WRITE, ssize_t, (int fd, const void *buf, size_t n), (fd, buf, n), \
  (int fd, const void *buf, size_t n), (fd, buf, n), syscall(SYS_write, fd, buf, n), WBUF) \
X(pread, PREAD, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pread64, fd, buf, n, off), RBUF) \
X(pread64, PREAD, ssize_t, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pread64, fd, buf, n, off), RBUF) \
X(pwrite, PWRITE, ssize_t, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pwrite64, fd, buf, n, off), WBUF) \
X(pwrite64, PWRITE, ssize_t, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off), \
  syscall(SYS_pwrite64, fd, buf, n, off), WBUF) \
X(readv, READV, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  syscall(SYS_readv, fd, iov, cnt), RIOV) \
X(writev, WRITEV, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt), \
  syscall(SYS_writev, fd, iov, cnt), WIOV) \
X(close, CLOSE, int, (int fd), (fd), (int fd), (fd), syscall(SYS_close, fd), CLOSE) \
X(fsync, FSYNC, int, (int fd), (fd), (int fd), (fd), syscall(SYS_fsync, fd), SYNC) \
X(fdatasync, FDATASYNC, int, (int fd), (fd), (int fd), (fd), syscall(SYS_fdatasync, fd), SYNC) \
X(shutdown, SHUTDOWN, int, (int fd, int how), (fd, how), (int fd, int how), (fd, how), \
  syscall(SYS_shutdown, fd, how), SHUTDOWN) \
X(connect, CONNECT, int, (int fd, FL_SA_C sa, socklen_t len), (fd, sa.__sockaddr__, len), \
  (int fd, const struct sockaddr *sa, socklen_t len), (fd, sa, len), \
  syscall(SYS_connect, fd, sa, len), CONNECT) \
X(send, SEND, ssize_t, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags), \
  (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags), \
  syscall(SYS_sendto, fd, buf, n, flags, NULL, 0), SEND) \
X(sendto, SENDTO, ssize_t, (int fd, const void *buf, size_t n, int flags, FL_SA_C sa, socklen_t len), \
  (fd, buf, n, flags, sa.__sockaddr__, len), \
  (int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len), \
  (fd, buf, n, flags, sa, len), syscall(SYS_sendto, fd, buf, n, flags, sa, len), SENDTO) \
X(sendmsg, SENDMSG, ssize_t, (int fd, const struct msghdr *msg, int flags), (fd, msg, flags), \
  (int fd, const struct msghdr *msg, int flags), (fd, msg, flags), \
  syscall(SYS_sendmsg, fd, msg, flags), SENDMSG) \
X(recv, RECV, ssize_t, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), \
  (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), \
  syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL), RECV) \
X(recvfrom, RECVFROM, ssize_t, \
  (int fd, void *buf, size_t n, int flags, FL_SA sa, socklen_t *restrict len), \
  (fd, buf, n, flags, sa.__sockaddr__, len), \
  (int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len), \
  (fd, buf, n, flags, sa, len), syscall(SYS_recvfrom, fd, buf, n, flags, sa, len), RECV) \
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

/*
 * The resolver's query functions: both names of each (res_query since glibc
 * 2.34, __res_query from older headers) are hooks; the real one is found as
 * either. R(name, params, args, statp, dname, domain): the prototype, and
 * which arguments are the resolver state, the name, the domain appended to it.
 */
/* clang-format off */
#define FL_RES_HOOKS(R) \
R(res_query, (const char *dname, int klass, int type, unsigned char *answer, int anslen), \
  (dname, klass, type, answer, anslen), NULL, dname, NULL) \
R(res_search, (const char *dname, int klass, int type, unsigned char *answer, int anslen), \
  (dname, klass, type, answer, anslen), NULL, dname, NULL) \
R(res_querydomain, (const char *dname, const char *domain, int klass, int type, \
		    unsigned char *answer, int anslen), \
  (dname, domain, klass, type, answer, anslen), NULL, dname, domain) \
R(res_nquery, (res_state statp, const char *dname, int klass, int type, unsigned char *answer, \
	       int anslen), \
  (statp, dname, klass, type, answer, anslen), statp, dname, NULL) \
R(res_nsearch, (res_state statp, const char *dname, int klass, int type, unsigned char *answer, \
		int anslen), \
  (statp, dname, klass, type, answer, anslen), statp, dname, NULL) \
R(res_nquerydomain, (res_state statp, const char *dname, const char *domain, int klass, int type, \
		     unsigned char *answer, int anslen), \
  (statp, dname, domain, klass, type, answer, anslen), statp, dname, domain)
/* clang-format on */

/* No header declares the old names any more. */
#define FL_GEN_RES_DECL(name, params, args, statp_, name_, domain_) int __##name params;
FL_RES_HOOKS(FL_GEN_RES_DECL)

/*
 * Functions without a syscall to fall back on (the resolver's): before the
 * constructor ran, the fallback looks the real one up itself, once per call.
 * This is the only dlsym outside the constructor, and it can only happen
 * during library initialisation.
 */
#define FL_GEN_RAW_LAZY(name, ret, params, args, fail)                                             \
	static ret fl_raw_##name params                                                            \
	{                                                                                          \
		ret(*f) params;                                                                    \
                                                                                                   \
		*(void **)&f = dlsym(RTLD_NEXT, #name);                                            \
		if (!f)                                                                            \
			*(void **)&f = dlsym(RTLD_NEXT, "__" #name);                               \
		if (!f)                                                                            \
			return fail;                                                               \
		return f args;                                                                     \
	}
#define FL_GEN_RAW_RES(name, params, args, statp_, name_, domain_)                                 \
	FL_GEN_RAW_LAZY(name, int, params, args, -1)
FL_RES_HOOKS(FL_GEN_RAW_RES)
FL_GEN_RAW_LAZY(gethostbyname, struct hostent *, (const char *n), (n), NULL)
FL_GEN_RAW_LAZY(gethostbyname2, struct hostent *, (const char *n, int af), (n, af), NULL)
FL_GEN_RAW_LAZY(gethostbyname_r, int,
		(const char *n, struct hostent *h, char *b, size_t l, struct hostent **r, int *e),
		(n, h, b, l, r, e), ENOSYS)
FL_GEN_RAW_LAZY(gethostbyname2_r, int,
		(const char *n, int af, struct hostent *h, char *b, size_t l, struct hostent **r,
		 int *e),
		(n, af, h, b, l, r, e), ENOSYS)

static int fl_raw_clock_gettime(clockid_t id, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, id, ts);
}
static int fl_raw_gettimeofday(struct timeval *tv, void *tz)
{
	return (int)syscall(SYS_gettimeofday, tv, tz);
}
static time_t fl_raw_time(time_t *t)
{
	struct timespec ts = {0, 0};

	(void)syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
static int fl_raw_timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC || syscall(SYS_clock_gettime, CLOCK_REALTIME, ts))
		return 0;
	return base;
}
static int fl_raw_clock_nanosleep(clockid_t id, int flags, const struct timespec *req,
				  struct timespec *rem)
{
	int saved = errno, r;

	/* Returns the error, as clock_nanosleep does, and leaves errno alone. */
	r = syscall(SYS_clock_nanosleep, id, flags, req, rem) ? errno : 0;
	errno = saved;
	return r;
}

/* The waits (ppoll and pselect6 are the syscalls every architecture has). */
static int fl_raw_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *to,
			const sigset_t *mask)
{
	return (int)syscall(SYS_ppoll, fds, n, to, mask, _NSIG / 8);
}
static int fl_raw_poll(struct pollfd *fds, nfds_t n, int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	return fl_raw_ppoll(fds, n, ms < 0 ? NULL : &ts, NULL);
}
static int fl_raw_poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	(void)fdslen;
	return fl_raw_poll(fds, n, ms);
}
static int fl_raw_ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *to,
			    const sigset_t *mask, size_t fdslen)
{
	(void)fdslen;
	return fl_raw_ppoll(fds, n, to, mask);
}
static int fl_raw_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *to,
			  const sigset_t *mask)
{
	struct timespec t, *tp = NULL;
	struct {
		const sigset_t *ss;
		size_t len;
	} data = {mask, _NSIG / 8};

	/* pselect6 may write the time left back; the caller's is const. */
	if (to) {
		t = *to;
		tp = &t;
	}
	return (int)syscall(SYS_pselect6, n, r, w, e, tp, &data);
}
static int fl_raw_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	struct timespec ts;

	if (tv) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000L;
	}
	return fl_raw_pselect(n, r, w, e, tv ? &ts : NULL, NULL);
}
static int fl_raw_epoll_pwait(int ep, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	return (int)syscall(SYS_epoll_pwait, ep, ev, max, ms, mask, _NSIG / 8);
}
static int fl_raw_epoll_wait(int ep, struct epoll_event *ev, int max, int ms)
{
	return fl_raw_epoll_pwait(ep, ev, max, ms, NULL);
}

#define FL_GEN_MEMBER(name, FN, ret, xparams, xargs, params, args, raw, flavour) ret(*name) params;
#define FL_GEN_MEMBER_CHK(name, base, FN, ret, params, args, bargs, bad, raw)	 ret(*name) params;
#define FL_GEN_INIT(name, FN, ret, xparams, xargs, params, args, raw, flavour)                     \
	.name = fl_raw_##name,
#define FL_GEN_INIT_CHK(name, base, FN, ret, params, args, bargs, bad, raw) .name = fl_raw_##name,
#define FL_GEN_MEMBER_RES(name, params, args, statp_, name_, domain_)	    int(*name) params;
#define FL_GEN_INIT_RES(name, params, args, statp_, name_, domain_)	    .name = fl_raw_##name,

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
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **,
			       int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
				struct hostent **, int *);
	FL_RES_HOOKS(FL_GEN_MEMBER_RES)
	int (*clock_gettime)(clockid_t, struct timespec *);
	int (*gettimeofday)(struct timeval *, void *);
	time_t (*time)(time_t *);
	int (*timespec_get)(struct timespec *, int);
	int (*clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*__poll_chk)(struct pollfd *, nfds_t, int, size_t);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*__ppoll_chk)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,
			   size_t);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
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
	.gethostbyname = fl_raw_gethostbyname,
	.gethostbyname2 = fl_raw_gethostbyname2,
	.gethostbyname_r = fl_raw_gethostbyname_r,
	.gethostbyname2_r = fl_raw_gethostbyname2_r,
	FL_RES_HOOKS(FL_GEN_INIT_RES)
	.clock_gettime = fl_raw_clock_gettime,
	.gettimeofday = fl_raw_gettimeofday,
	.time = fl_raw_time,
	.timespec_get = fl_raw_timespec_get,
	.clock_nanosleep = fl_raw_clock_nanosleep,
	.poll = fl_raw_poll,
	.__poll_chk = fl_raw_poll_chk,
	.ppoll = fl_raw_ppoll,
	.__ppoll_chk = fl_raw_ppoll_chk,
	.select = fl_raw_select,
	.pselect = fl_raw_pselect,
	.epoll_wait = fl_raw_epoll_wait,
	.epoll_pwait = fl_raw_epoll_pwait,
};
/* clang-format on */

/* getaddrinfo has no syscall to fall back on either (see FL_GEN_RAW_LAZY). */
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
	const char *host; /* resolver: the name asked for */
	bool literal;	  /* resolver: `host` is an address written out (dns rules pass it) */
	int clock;	  /* FL_FN_CLOCK: the clock id */
	unsigned dir;	  /* a data call: FL_DIR_RECV or FL_DIR_SEND; 0 otherwise */
};

/* Lazily resolved facts about the call's fd (a syscall each, only if a rule asks). */
struct fl_lazy {
	int path_state; /* 0 unknown, 1 resolved, -1 none */
	int peer_state;
	int sock_state;
	int tcp_state; /* 1: a TCP socket (stream rules act on nothing else) */
	char path[FL_FDPATH_MAX];
	struct sockaddr_storage peer;
	struct sockaddr_storage sock;
};

/* What a firing rule does: the action fields of the rule, copied out. */
struct fl_act {
	uint32_t flags;
	uint8_t kind, op, dir, answer_family;
	int32_t err;
	int32_t gai;
	uint64_t delay_ns;
	uint64_t short_len;
	int64_t offset_ns;
	uint64_t bytes, bytes_var, after_ns, rate;
	uint8_t answer[16];
	/* Where it came from: its slot and id (hit counter), the table's seq (stream state). */
	unsigned slot;
	uint64_t id;
	uint32_t gen;
	uint64_t seed;
};

/* A rule whose filters matched, copied out of the seqlock section. */
struct fl_pick {
	uint32_t prob;
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

static unsigned char fl_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Does the host name match the rule's pattern? Case-insensitive, '*' matches
 * any run of characters (dots included), one trailing dot on either side is
 * ignored ("db.example." is "db.example"). The classic two-pointer glob with
 * one backtrack point: linear in practice, bounded by the lengths (both are
 * capped: the pattern by the table, the name by FL_SHM_HOST_MAX here).
 */
static bool fl_host_match(const char *name, const char *pat)
{
	char p[FL_SHM_HOST_MAX];
	size_t np = 0, nn = 0, i = 0, j = 0, star = (size_t)-1, mark = 0;

	/* The pattern lives in shared memory: take one stable copy. */
	for (; np < FL_SHM_HOST_MAX - 1; np++) {
		p[np] = FL_LD(pat[np]);
		if (!p[np])
			break;
	}
	p[np] = '\0';
	while (nn < FL_SHM_HOST_MAX && name[nn])
		nn++;
	if (nn == FL_SHM_HOST_MAX)
		return false;
	if (np && p[np - 1] == '.')
		np--;
	if (nn && name[nn - 1] == '.')
		nn--;
	while (i < nn) {
		if (j < np && p[j] == '*') {
			star = j++;
			mark = i;
		} else if (j < np &&
			   fl_lower((unsigned char)p[j]) == fl_lower((unsigned char)name[i])) {
			i++;
			j++;
		} else if (star != (size_t)-1) {
			j = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (j < np && p[j] == '*')
		j++;
	return j == np;
}

/* The address and port of a socket address; false for other families or short lengths. */
static bool fl_sa_split(const struct sockaddr *sa, socklen_t salen, const uint8_t **a,
			unsigned *alen, uint16_t *port)
{
	if (!sa || salen < sizeof(sa_family_t))
		return false;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		*port = ntohs(in->sin_port);
		*a = (const uint8_t *)&in->sin_addr;
		*alen = 4;
		return true;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		*port = ntohs(in6->sin6_port);
		*a = (const uint8_t *)&in6->sin6_addr;
		*alen = 16;
		return true;
	}
	return false;
}

/* Does the address match the rule's port/addr filters (addr: a prefix of addr_prefix bits)? */
static bool fl_addr_match(const struct fl_shm_rule *r, uint32_t f, const struct sockaddr *sa,
			  socklen_t salen)
{
	const uint8_t *a = NULL;
	unsigned alen = 0, fam, bits;
	uint16_t port = 0;

	if (!fl_sa_split(sa, salen, &a, &alen, &port))
		return false;
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
	if ((fam == AF_INET) != (alen == 4) || (fam != AF_INET && fam != AF_INET6))
		return false;
	bits = FL_LD(r->addr_prefix);
	if (bits > alen * 8)
		bits = alen * 8;
	for (unsigned i = 0; i < bits / 8; i++)
		if (FL_LD(r->addr[i]) != a[i])
			return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff00u >> (bits % 8));

		if ((FL_LD(r->addr[bits / 8]) & m) != (a[bits / 8] & m))
			return false;
	}
	return true;
}

/* Is the call's descriptor a TCP socket? (stream rules act on nothing else) */
static FL_NOINLINE void fl_lazy_tcp(int fd, struct fl_lazy *lz)
{
	int proto = 0, saved = errno;
	socklen_t len = sizeof(proto);

	lz->tcp_state = syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
				proto == IPPROTO_TCP
			    ? 1
			    : -1;
	errno = saved;
}

static bool fl_sock_ends(int fd, struct fl_lazy *lz);

/* Do the rule's filters accept this call? Filters that do not apply to the call never match. */
FL_INLINE bool fl_match(const struct fl_shm_rule *r, uint32_t f, const struct fl_call *c,
			struct fl_lazy *lz)
{
	unsigned kind = FL_LD(r->kind);

	switch (kind) {
	case FL_KIND_CALL:
		break;
	case FL_KIND_TIME:
		if (c->fn != FL_FN_CLOCK || c->clock < 0 || c->clock >= 32 ||
		    !(FL_LD(r->clock_mask) & (1u << c->clock)))
			return false;
		break;
	case FL_KIND_DNS:
		/* Only names: never an address given as text, never a NULL node. */
		if (!c->host || c->literal)
			return false;
		break;
	case FL_KIND_STREAM:
		/* A data call in one of the rule's directions, or its end; on TCP only. */
		if ((c->dir && !(FL_LD(r->dir) & c->dir)) || c->fd < 0 ||
		    (!c->dir && c->fn != FL_FN_CLOSE && c->fn != FL_FN_SHUTDOWN))
			return false;
		if (!lz->tcp_state)
			fl_lazy_tcp(c->fd, lz);
		if (lz->tcp_state < 0)
			return false;
		/*
		 * A connection: a listening socket has no peer. One we reset or
		 * shut down may have lost its ends in the kernel: then the ones
		 * recorded when it was first seen stand in.
		 */
		if (!lz->peer_state)
			fl_lazy_addr(c->fd, true, lz);
		if (lz->peer_state < 0 && !fl_sock_ends(c->fd, lz))
			return false;
		break;
	default:
		return false;
	}
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
	if (f & FL_RULE_LPORT) {
		const uint8_t *a;
		unsigned alen;
		uint16_t port;

		if (c->fd < 0)
			return false;
		if (!lz->sock_state)
			fl_lazy_addr(c->fd, false, lz);
		if (lz->sock_state < 0 ||
		    !fl_sa_split((const struct sockaddr *)&lz->sock, sizeof(lz->sock), &a, &alen,
				 &port) ||
		    port != FL_LD(r->lport))
			return false;
	}
	if (f & FL_RULE_HOST) {
		if (!c->host || !fl_host_match(c->host, r->host))
			return false;
	}
	return true;
}

static uint64_t fl_now_ns(clockid_t id)
{
	struct timespec ts;

	/* The real clock (never our own hook), through the vDSO: no syscall, errno untouched. */
	fl_real.clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool fl_expired(void)
{
	uint64_t deadline = FL_LD(fl_area.t.expires_mono_ns);

	return deadline && fl_now_ns(CLOCK_MONOTONIC) >= deadline;
}

/* The table is mapped writable: the hit counters may be counted. */
static bool fl_can_count;

/*
 * One more hit of the rule `act` came from, if that rule is still the one in
 * its slot (the tag check of fl_shm.h). Lock-free: a CAS loop on one word,
 * saturating at FL_SHM_HIT_MAX. Only ever on the armed path, after a rule fired.
 */
static void fl_hit(const struct fl_act *act)
{
	uint64_t *w, cur, tag = FL_SHM_HIT_TAG(act->id);

	if (!fl_can_count || act->slot >= FL_SHM_RULES_MAX)
		return;
	w = &fl_area.t.hits[act->slot];
	cur = __atomic_load_n(w, __ATOMIC_RELAXED);
	do {
		if (cur >> FL_SHM_HIT_BITS != tag || (cur & FL_SHM_HIT_MAX) == FL_SHM_HIT_MAX)
			return;
	} while (!__atomic_compare_exchange_n(w, &cur, cur + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

/*
 * Count, schedule and draw for the matched rules; the first that fires acts.
 * A fired rule is a hit, except a stream rule: the connection decides later
 * whether it acts (a byte limit not reached yet is no effect), and counts then.
 */
static FL_NOINLINE bool fl_fire(struct fl_pick *pk, unsigned npk, struct fl_act *act)
{
	if (fl_expired())
		return false;
	for (unsigned i = 0; i < npk; i++) {
		struct fl_pick *p = &pk[i];

		if (p->act.flags & FL_RULE_WHEN) {
			uint64_t n = fl_count(p->act.slot, p->act.id);

			if (n < p->first || n > p->last || (n - p->first) % p->step)
				continue;
		}
		if ((p->act.flags & FL_RULE_PROB) && fl_rand32(p->act.seed) >= p->prob)
			continue;
		*act = p->act;
		if (act->kind != FL_KIND_STREAM)
			fl_hit(act);
		return true;
	}
	return false;
}

/* Copy what a matched rule does out of the table (inside the seqlock section). */
static void fl_pick_fill(struct fl_pick *p, const struct fl_shm_rule *r, unsigned slot, uint32_t f)
{
	struct fl_act *a = &p->act;

	p->prob = FL_LD(r->prob);
	p->first = FL_LD(r->when_first);
	p->last = FL_LD(r->when_last);
	p->step = FL_LD(r->when_step);
	if (!p->step)
		p->step = 1;
	a->slot = slot;
	a->id = FL_LD(r->id);
	a->flags = f;
	a->kind = FL_LD(r->kind);
	a->op = FL_LD(r->op);
	a->dir = FL_LD(r->dir);
	a->answer_family = FL_LD(r->answer_family);
	a->err = FL_LD(r->err);
	a->gai = FL_LD(r->gai);
	a->delay_ns = FL_LD(r->delay_ns);
	a->short_len = FL_LD(r->short_len);
	a->offset_ns = FL_LD(r->offset_ns);
	a->bytes = FL_LD(r->bytes);
	a->bytes_var = FL_LD(r->bytes_var);
	a->after_ns = FL_LD(r->after_ns);
	a->rate = FL_LD(r->rate);
	for (unsigned i = 0; i < sizeof(a->answer); i++)
		a->answer[i] = FL_LD(r->answer[i]);
}

/* Decide whether this call faults (the full matcher). Returns true with *act filled in. */
static FL_NOINLINE bool fl_decide(const struct fl_call *c, struct fl_act *act)
{
	const struct fl_shm_table *t = &fl_area.t;
	struct fl_tls *tls = &fl_tls;
	struct fl_pick pk[FL_PICK_MAX];
	struct fl_lazy lz;
	unsigned npk = 0;
	bool fired = false;

	if (tls->busy)
		return false;
	tls->busy = 1;
	lz.path_state = lz.peer_state = lz.sock_state = lz.tcp_state = 0;
	for (unsigned tries = 0; tries < FL_SEQ_TRIES; tries++) {
		uint32_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
		uint64_t slots, seed;

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
			fl_pick_fill(&pk[npk++], r, i, f);
		}
		seed = npk ? FL_LD(t->seed) : 0;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1) {
			for (unsigned i = 0; i < npk; i++) {
				pk[i].act.seed = seed;
				pk[i].act.gen = s1;
			}
			if (npk)
				fired = fl_fire(pk, npk, act);
			break;
		}
	}
	tls->busy = 0;
	return fired;
}

/* The full matcher for a call that offers only an fd. */
static FL_NOINLINE bool fl_decide_fd(unsigned fn, int fd, struct fl_act *act)
{
	struct fl_call c = {.fn = fn, .fd = fd, .clock = -1};

	return fl_decide(&c, act);
}

/* The same for a data call on a descriptor, in one direction (stream rules look at it). */
static FL_NOINLINE bool fl_decide_io(unsigned fn, int fd, unsigned dir, struct fl_act *act)
{
	struct fl_call c = {.fn = fn, .fd = fd, .clock = -1, .dir = dir};

	return fl_decide(&c, act);
}

static void fl_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
			      .tv_nsec = (long)(ns % 1000000000ULL)};

	/* clock_nanosleep returns the error instead of setting errno; the real one, not our hook.
	 */
	while (fl_real.clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
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

/* The part of an iovec array from byte `off` on, at most `len` bytes; returns the new count. */
static int fl_iov_window(const struct iovec *in, int cnt, size_t off, size_t len, struct iovec *out)
{
	int n = 0;

	if (cnt < 0)
		return -1;
	for (int i = 0; i < cnt && n < FL_IOV_MAX && len; i++) {
		size_t l = in[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[n].iov_base = (char *)in[i].iov_base + off;
		out[n].iov_len = l - off < len ? l - off : len;
		len -= out[n].iov_len;
		off = 0;
		n++;
	}
	return n;
}

/* Total length of an iovec array (saturating). */
static size_t fl_iov_total(const struct iovec *v, int cnt)
{
	size_t t = 0;

	for (int i = 0; i < cnt; i++)
		t = t + v[i].iov_len < t ? SIZE_MAX : t + v[i].iov_len;
	return t;
}

/* Shorten an iovec array to at most act->short_len bytes; returns the new count. */
static int fl_short_iov(const struct fl_act *act, const struct iovec *in, int cnt,
			struct iovec *out)
{
	return fl_iov_window(in, cnt, 0, act->short_len, out);
}

/*
 * ---- stream faults: Toxiproxy's toxics on the program's own TCP connections ----
 *
 * A stream rule acts on the data calls (read/write/send/recv families) and on
 * close of connected TCP sockets that its filters (peer address and port,
 * local port) accept. What happens on the wire is real: a reset is a real RST
 * (connect(AF_UNSPEC) aborts the connection, SO_LINGER {1, 0} makes a close
 * abort it), a closed connection is a real FIN (shutdown), and the program
 * learns about either from the kernel as it would from a peer.
 *
 * Per-connection facts (bytes moved, when it was first seen, a bandwidth
 * schedule, what was done to it) live in a fixed array indexed by
 * descriptor, each entry tagged with the socket's cookie (SO_COOKIE; the
 * inode where that is missing) and the table's generation: a descriptor
 * reused for another connection, or new rules, start afresh. No allocation,
 * no lock: fields are atomics, and two threads racing on one connection's
 * counters at worst count a call late. Descriptors from FL_SOCK_MAX on have
 * no entry: faults that need one (byte and time limits, bandwidth) pass them.
 */
#define FL_SOCK_MAX 4096
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
/* A blocked receive under `timeout` re-reads the table this often (it may be disarmed). */
#define FL_HOLD_SLICE_NS 100000000ULL
/* bandwidth moves at most this share of a second's budget per real call (1/20: 50 ms). */
#define FL_RATE_SLICES 20

enum {
	FL_SOCK_RESET = 1u << 0,	/* we aborted it (RST sent) */
	FL_SOCK_RESET_SEEN = 1u << 1,	/* and the program has been told (ECONNRESET) */
	FL_SOCK_CLOSED = 1u << 2,	/* we shut it down (FIN sent) */
	FL_SOCK_EOF_SLOWED = 1u << 3,	/* slow_close delayed its end of stream once */
	FL_SOCK_CLOSE_SLOWED = 1u << 4, /* slow_close delayed the program's end of it once */
};

struct fl_sock {
	uint64_t cookie; /* 0 = unused */
	uint32_t gen;	 /* the table's seq the facts belong to */
	uint32_t flags;	 /* FL_SOCK_* */
	uint64_t start_ns;
	uint64_t bytes[2];   /* [0] received, [1] sent */
	uint64_t next_ns[2]; /* bandwidth: earliest time the next transfer may start */
	uint64_t due_ns;     /* after=: when due_op acts on it, if nobody calls by then */
	uint8_t due_op;	     /* FL_STREAM_RESET_PEER or FL_STREAM_TIMEOUT */
	uint8_t due_dir;     /* the direction of the rule's call that set it */
	uint8_t have_addrs;  /* peer and sock hold the connection's two ends */
	/*
	 * Its two ends as they were when first seen: once we have reset or shut
	 * it, the kernel may have forgotten them (getpeername fails on a reset
	 * socket), and the rule must still recognise the connection.
	 */
	struct sockaddr_in6 peer, sock;
};

static struct fl_sock fl_socks[FL_SOCK_MAX];
/* One past the highest descriptor with facts; the earliest due_ns of them all (0: none). */
static int fl_socks_hi;
static uint64_t fl_due_min;

static unsigned fl_dir_index(unsigned dir)
{
	return dir == FL_DIR_SEND;
}

/* The facts of the connection on fd, fresh if it is new to us; NULL if it cannot have any. */
static struct fl_sock *fl_sock_get(int fd, uint32_t gen)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	struct fl_sock *s;
	int saved = errno;

	if (fd < 0 || fd >= FL_SOCK_MAX)
		return NULL;
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) || !cookie) {
		struct stat st;

		if (fstat(fd, &st)) {
			errno = saved;
			return NULL;
		}
		cookie = (uint64_t)st.st_ino | (1ULL << 63);
	}
	errno = saved;
	s = &fl_socks[fd];
	if (__atomic_load_n(&s->cookie, __ATOMIC_ACQUIRE) != cookie || FL_LD(s->gen) != gen) {
		__atomic_store_n(&s->cookie, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->flags, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->bytes[0], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->bytes[1], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->next_ns[0], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->next_ns[1], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->due_ns, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->have_addrs, 0, __ATOMIC_RELAXED);
		{
			socklen_t pl = sizeof(s->peer), sl = sizeof(s->sock);

			if (!syscall(SYS_getpeername, fd, &s->peer, &pl) &&
			    !syscall(SYS_getsockname, fd, &s->sock, &sl))
				__atomic_store_n(&s->have_addrs, 1, __ATOMIC_RELAXED);
			errno = saved;
		}
		__atomic_store_n(&s->start_ns, fl_now_ns(CLOCK_MONOTONIC), __ATOMIC_RELAXED);
		__atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
		__atomic_store_n(&s->cookie, cookie, __ATOMIC_RELEASE);
	}
	for (int hi = FL_LD(fl_socks_hi); hi <= fd;)
		if (__atomic_compare_exchange_n(&fl_socks_hi, &hi, fd + 1, true, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			break;
	return s;
}

/* Is the socket on fd the one whose cookie this is? (SO_COOKIE only: never a guess) */
static bool fl_sock_same(int fd, uint64_t cookie)
{
	uint64_t now = 0;
	socklen_t len = sizeof(now);
	int saved = errno;
	bool same;

	same = cookie && !syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_COOKIE, &now, &len) &&
	       now == cookie;
	errno = saved;
	return same;
}

/*
 * The ends recorded for the connection on fd, if it is still the socket they
 * were recorded for (a connection we reset or shut down: the kernel may no
 * longer say). Fills lz's peer and sock.
 */
static bool fl_sock_ends(int fd, struct fl_lazy *lz)
{
	struct fl_sock *s;

	if (fd < 0 || fd >= FL_SOCK_MAX)
		return false;
	s = &fl_socks[fd];
	if (!fl_sock_same(fd, __atomic_load_n(&s->cookie, __ATOMIC_ACQUIRE)) ||
	    !FL_LD(s->have_addrs) || !(FL_LD(s->flags) & (FL_SOCK_RESET | FL_SOCK_CLOSED)))
		return false;
	memcpy(&lz->peer, &s->peer, sizeof(s->peer));
	memcpy(&lz->sock, &s->sock, sizeof(s->sock));
	lz->peer_state = lz->sock_state = 1;
	return true;
}

/*
 * An after= deadline of a connection: recorded so that a program asleep in
 * poll, select or epoll (the wait hooks below) still meets it -- they wake at
 * the earliest one, and fl_due_fire acts on the connections that are due.
 */
static void fl_due_note(struct fl_sock *s, uint64_t due, uint8_t op, uint8_t dir)
{
	uint64_t cur = 0, min;

	if (!__atomic_compare_exchange_n(&s->due_ns, &cur, due, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return; /* already set */
	__atomic_store_n(&s->due_op, op, __ATOMIC_RELAXED);
	__atomic_store_n(&s->due_dir, dir, __ATOMIC_RELAXED);
	min = FL_LD(fl_due_min);
	while ((!min || due < min) &&
	       !__atomic_compare_exchange_n(&fl_due_min, &min, due, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* One call of a stream rule on a connection. */
struct fl_sio {
	struct fl_act a;
	struct fl_sock *s; /* NULL: no facts for this descriptor */
	int fd;
	unsigned fn, dir;
	int mflags;	 /* the call's MSG_* flags (MSG_DONTWAIT) */
	int errno0;	 /* errno on entry, for a call that succeeds after all */
	size_t lim;	 /* the next real call moves at most this much */
	unsigned chunks; /* real calls made so far (slicer waits between them) */
	bool more;	 /* send side: keep going in chunks (slicer, bandwidth) */
	bool hit;	 /* this call has been counted */
};

enum { FL_SIO_CALL, FL_SIO_DONE };

static void fl_sio_hit(struct fl_sio *io)
{
	if (!io->hit) {
		io->hit = true;
		fl_hit(&io->a);
	}
}

static void fl_sio_init(struct fl_sio *io, const struct fl_act *a, int fd, unsigned fn,
			unsigned dir, int mflags)
{
	io->a = *a;
	io->fd = fd;
	io->fn = fn;
	io->dir = dir;
	io->mflags = mflags;
	io->errno0 = errno;
	io->lim = SIZE_MAX;
	io->chunks = 0;
	io->more = false;
	io->hit = false;
	io->s = fl_sock_get(fd, a->gen);
}

static uint64_t fl_sio_total(const struct fl_sio *io)
{
	const struct fl_sock *s = io->s;

	return (io->a.dir & FL_DIR_RECV ? FL_LD(s->bytes[0]) : 0) +
	       (io->a.dir & FL_DIR_SEND ? FL_LD(s->bytes[1]) : 0);
}

/* Abort the connection: RST to the peer; the kernel reports ECONNRESET to the next call. */
static void fl_sio_reset(struct fl_sio *io)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};
	int saved = errno;

	(void)syscall(SYS_connect, io->fd, &sa, sizeof(sa));
	errno = saved;
	if (io->s)
		__atomic_fetch_or(&io->s->flags, FL_SOCK_RESET, __ATOMIC_RELAXED);
	fl_sio_hit(io);
}

/* Close the connection as a peer would (FIN both ways); the program reads its end. */
static void fl_sio_shut(struct fl_sio *io)
{
	int saved = errno;

	(void)syscall(SYS_shutdown, io->fd, SHUT_RDWR);
	errno = saved;
	if (io->s)
		__atomic_fetch_or(&io->s->flags, FL_SOCK_CLOSED, __ATOMIC_RELAXED);
	fl_sio_hit(io);
}

/* Would a receive on this call block? (MSG_DONTWAIT, or an O_NONBLOCK descriptor) */
static bool fl_sio_blocking(const struct fl_sio *io)
{
	int saved = errno;
	long fl;

	if (io->mflags & MSG_DONTWAIT)
		return false;
	fl = syscall(SYS_fcntl, io->fd, F_GETFL);
	errno = saved;
	return fl >= 0 && !(fl & O_NONBLOCK);
}

/* Wait up to ns for the descriptor to turn readable; true if it did (or on an error). */
static bool fl_wait_readable(int fd, uint64_t ns)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
			      .tv_nsec = (long)(ns % 1000000000ULL)};
	int saved = errno;
	long r;

	r = syscall(SYS_ppoll, &p, 1, &ts, NULL, 0);
	errno = saved;
	return r != 0;
}

/*
 * `timeout` on a receive: data stops. What arrives is read and dropped (as a
 * proxy holding the connection would: the kernel's buffer empties, so poll
 * does not spin on it), an end of stream passes. A non-blocking call answers
 * EAGAIN; a blocking one waits, re-reading the table every FL_HOLD_SLICE_NS,
 * until the rule is gone (then the call proceeds) or its after= deadline
 * (then the connection is closed and the call reads its end).
 */
static int fl_sio_hold(struct fl_sio *io, uint64_t deadline, ssize_t *ret)
{
	char scratch[512];
	bool blocking = fl_sio_blocking(io);

	for (;;) {
		struct fl_act a2;
		uint64_t now, wait = FL_HOLD_SLICE_NS;
		int saved = errno;
		long r;

		/* Drop what is there. */
		while ((r = syscall(SYS_recvfrom, io->fd, scratch, sizeof(scratch), MSG_DONTWAIT,
				    NULL, NULL)) > 0)
			;
		errno = saved;
		if (r == 0) {
			*ret = 0; /* the peer closed: that passes */
			return FL_SIO_DONE;
		}
		if (!blocking) {
			errno = EAGAIN;
			*ret = -1;
			return FL_SIO_DONE;
		}
		now = fl_now_ns(CLOCK_MONOTONIC);
		if (deadline && now >= deadline) {
			fl_sio_shut(io);
			*ret = 0;
			return FL_SIO_DONE;
		}
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		(void)fl_wait_readable(io->fd, wait);
		/* Still held? (disarmed, lease over, rules rewritten: the call goes on) */
		if (!fl_decide_io(io->fn, io->fd, io->dir, &a2) || a2.kind != FL_KIND_STREAM ||
		    a2.op != FL_STREAM_TIMEOUT)
			return FL_SIO_CALL;
	}
}

/* a + b, or UINT64_MAX (a deadline from a hostile table must not wrap to "now"). */
static uint64_t fl_add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/*
 * Before one real call (one chunk, on the send side): FL_SIO_CALL with io->lim
 * set, or FL_SIO_DONE with the call's answer in *ret (errno set for -1).
 */
static int fl_sio_pre(struct fl_sio *io, size_t want, ssize_t *ret)
{
	const struct fl_act *a = &io->a;
	struct fl_sock *s = io->s;
	uint32_t sf = s ? FL_LD(s->flags) : 0;
	uint64_t now, start;

	io->lim = SIZE_MAX;
	io->more = false;
	if (sf & FL_SOCK_RESET) {
		/* The first call after our abort hears ECONNRESET from the kernel... */
		if (!(sf & FL_SOCK_RESET_SEEN)) {
			__atomic_fetch_or(&s->flags, FL_SOCK_RESET_SEEN, __ATOMIC_RELAXED);
			return FL_SIO_CALL;
		}
		/* ...then a reset connection reads as ended (sends get EPIPE from the kernel). */
		if (io->dir == FL_DIR_RECV) {
			*ret = 0;
			return FL_SIO_DONE;
		}
		return FL_SIO_CALL;
	}
	if (sf & FL_SOCK_CLOSED)
		goto closed;
	now = fl_now_ns(CLOCK_MONOTONIC);
	start = s ? FL_LD(s->start_ns) : now;
	switch (a->op) {
	case FL_STREAM_RESET_PEER:
		if (!s || !(a->flags & (FL_RULE_BYTES | FL_RULE_AFTER)))
			return FL_SIO_CALL; /* acts at close */
		if (a->flags & FL_RULE_AFTER)
			fl_due_note(s, fl_add_sat(start, a->after_ns), a->op, (uint8_t)io->dir);
		if (((a->flags & FL_RULE_BYTES) && fl_sio_total(io) >= a->bytes) ||
		    ((a->flags & FL_RULE_AFTER) && now - start >= a->after_ns)) {
			fl_sio_reset(io);
			__atomic_fetch_or(&s->flags, FL_SOCK_RESET_SEEN, __ATOMIC_RELAXED);
			return FL_SIO_CALL;
		}
		if (a->flags & FL_RULE_BYTES)
			io->lim = (size_t)(a->bytes - fl_sio_total(io));
		/* A receive that would block past the deadline is cut short by the reset. */
		if ((a->flags & FL_RULE_AFTER) && io->dir == FL_DIR_RECV && fl_sio_blocking(io) &&
		    !fl_wait_readable(io->fd, fl_add_sat(start, a->after_ns) - now)) {
			fl_sio_reset(io);
			__atomic_fetch_or(&s->flags, FL_SOCK_RESET_SEEN, __ATOMIC_RELAXED);
		}
		return FL_SIO_CALL;
	case FL_STREAM_SLOW_CLOSE:
		return FL_SIO_CALL; /* acts on the end of stream and at close */
	case FL_STREAM_TIMEOUT: {
		uint64_t deadline =
		    (a->flags & FL_RULE_AFTER) && s ? fl_add_sat(start, a->after_ns) : 0;

		if (deadline && now >= deadline) {
			fl_sio_shut(io);
			goto closed;
		}
		if (deadline)
			fl_due_note(s, deadline, a->op, (uint8_t)io->dir);
		fl_sio_hit(io);
		if (io->dir == FL_DIR_SEND) {
			*ret = (ssize_t)(want > SSIZE_MAX ? SSIZE_MAX
							  : want); /* sent: into the void */
			return FL_SIO_DONE;
		}
		return fl_sio_hold(io, deadline, ret);
	}
	case FL_STREAM_LIMIT_DATA: {
		uint64_t total;

		if (!s)
			return FL_SIO_CALL;
		total = fl_sio_total(io);
		if (total >= a->bytes) {
			fl_sio_shut(io);
			goto closed;
		}
		io->lim = (size_t)(a->bytes - total);
		return FL_SIO_CALL;
	}
	case FL_STREAM_SLICER: {
		uint64_t chunk = a->bytes;

		if (a->bytes_var) {
			uint64_t span = 2 * a->bytes_var + 1;

			chunk = a->bytes - a->bytes_var + fl_rand32(a->seed) % span;
		}
		if (!chunk)
			chunk = 1;
		/* On the send side the delay falls between chunks; a receive waits before each. */
		if ((io->dir == FL_DIR_RECV || io->chunks) && (a->flags & FL_RULE_DELAY))
			fl_sleep_ns(a->delay_ns);
		io->chunks++;
		io->lim = (size_t)chunk;
		io->more = true;
		if (want > chunk)
			fl_sio_hit(io);
		return FL_SIO_CALL;
	}
	case FL_STREAM_BANDWIDTH: {
		unsigned d = fl_dir_index(io->dir);
		uint64_t next, chunk = a->rate / FL_RATE_SLICES;

		if (!s || !a->rate)
			return FL_SIO_CALL;
		next = FL_LD(s->next_ns[d]);
		if (next > now) {
			fl_sleep_ns(next - now);
			fl_sio_hit(io);
		}
		io->lim = (size_t)(chunk ? chunk : 1);
		io->more = true;
		return FL_SIO_CALL;
	}
	default:
		return FL_SIO_CALL;
	}
closed:
	/*
	 * We closed it as a peer would: what the program had not read is gone
	 * and a receive reads the end (the kernel would still hand out what is
	 * buffered); a send fails as the kernel says (EPIPE).
	 */
	if (io->dir == FL_DIR_RECV) {
		*ret = 0;
		return FL_SIO_DONE;
	}
	return FL_SIO_CALL;
}

/* After one real call that returned r: count, and act on what it moved. Keeps errno. */
static ssize_t fl_sio_post(struct fl_sio *io, ssize_t r, size_t want)
{
	const struct fl_act *a = &io->a;
	struct fl_sock *s = io->s;
	int saved = errno;
	unsigned d = fl_dir_index(io->dir);

	if (r > 0 && s)
		__atomic_add_fetch(&s->bytes[d], (uint64_t)r, __ATOMIC_RELAXED);
	switch (a->op) {
	case FL_STREAM_RESET_PEER:
		/* At the limit: reset now, so that a program waiting in poll hears of it. */
		if (r > 0 && s && (a->flags & FL_RULE_BYTES) &&
		    !(FL_LD(s->flags) & FL_SOCK_RESET) && fl_sio_total(io) >= a->bytes)
			fl_sio_reset(io);
		break;
	case FL_STREAM_LIMIT_DATA:
		if (r > 0 && s && !(FL_LD(s->flags) & FL_SOCK_CLOSED) &&
		    fl_sio_total(io) >= a->bytes)
			fl_sio_shut(io);
		break;
	case FL_STREAM_SLOW_CLOSE:
		/* The peer's close reaches the program `delay` late (once per connection). */
		if (r == 0 && want && io->dir == FL_DIR_RECV && (a->flags & FL_RULE_DELAY) &&
		    (!s || !(__atomic_fetch_or(&s->flags, FL_SOCK_EOF_SLOWED, __ATOMIC_RELAXED) &
			     FL_SOCK_EOF_SLOWED))) {
			fl_sleep_ns(a->delay_ns);
			fl_sio_hit(io);
		}
		break;
	case FL_STREAM_BANDWIDTH:
		if (r > 0 && s && a->rate) {
			uint64_t now = fl_now_ns(CLOCK_MONOTONIC), next = FL_LD(s->next_ns[d]);
			uint64_t cost = (uint64_t)r * 1000000000ULL / a->rate;

			__atomic_store_n(&s->next_ns[d], (next > now ? next : now) + cost,
					 __ATOMIC_RELAXED);
		}
		break;
	default:
		break;
	}
	errno = saved;
	return r;
}

/* The answer of a chunked call: what was moved before an error counts as moved. */
static ssize_t fl_sio_end(const struct fl_sio *io, size_t done, ssize_t r)
{
	if (r > 0)
		return (ssize_t)(done + (size_t)r);
	if (done) {
		errno = io->errno0;
		return (ssize_t)done;
	}
	return r;
}

/*
 * The program ends a connection under a stream rule (close, or shutdown of
 * its sending side): reset_peer without bytes=/after= makes it abortive --
 * RST instead of FIN, SO_LINGER {1, 0} on close, an abort on shutdown --
 * and slow_close makes it take `delay` (once: a close after a slowed
 * shutdown is not slowed again). Returns true when a shutdown is done.
 */
static bool fl_sio_end_conn(const struct fl_act *a, int fd, bool closing, int how)
{
	struct fl_sock *s = fl_sock_get(fd, a->gen);
	bool done = false;
	int saved = errno;

	if (a->op == FL_STREAM_RESET_PEER && !(a->flags & (FL_RULE_BYTES | FL_RULE_AFTER)) &&
	    !(s && (FL_LD(s->flags) & FL_SOCK_RESET))) {
		if (closing) {
			struct linger l = {.l_onoff = 1, .l_linger = 0};

			if (syscall(SYS_setsockopt, fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0)
				fl_hit(a);
		} else if (how == SHUT_WR || how == SHUT_RDWR) {
			struct fl_sio io;

			fl_sio_init(&io, a, fd, FL_FN_SHUTDOWN, 0, 0);
			fl_sio_reset(&io);
			done = true;
		}
	} else if (a->op == FL_STREAM_SLOW_CLOSE && (a->flags & FL_RULE_DELAY) &&
		   (closing || how == SHUT_WR || how == SHUT_RDWR) &&
		   !(s && (__atomic_fetch_or(&s->flags, FL_SOCK_CLOSE_SLOWED, __ATOMIC_RELAXED) &
			   FL_SOCK_CLOSE_SLOWED))) {
		fl_sleep_ns(a->delay_ns);
		fl_hit(a);
	}
	if (closing && s)
		__atomic_store_n(&s->cookie, 0, __ATOMIC_RELAXED);
	errno = saved;
	return done;
}

static void fl_sio_close(const struct fl_act *a, int fd)
{
	(void)fl_sio_end_conn(a, fd, true, 0);
}

static bool fl_sio_shutdown(const struct fl_act *a, int fd, int how)
{
	return fl_sio_end_conn(a, fd, false, how);
}

/* Act on the connections whose after= deadline has passed; recompute fl_due_min. */
static FL_NOINLINE void fl_due_fire(uint64_t now)
{
	uint64_t seen = FL_LD(fl_due_min), next = 0;
	int hi = FL_LD(fl_socks_hi);

	for (int fd = 0; fd < hi && fd < FL_SOCK_MAX; fd++) {
		struct fl_sock *s = &fl_socks[fd];
		uint64_t due = FL_LD(s->due_ns);
		unsigned op, dir;
		struct fl_act a;
		struct fl_sio io;

		if (!due)
			continue;
		if (due > now) {
			next = next && next < due ? next : due;
			continue;
		}
		op = FL_LD(s->due_op);
		dir = FL_LD(s->due_dir);
		/* Still the connection that set it (not a new one on the same descriptor)? */
		if (!fl_sock_same(fd, FL_LD(s->cookie))) {
			__atomic_compare_exchange_n(&s->due_ns, &due, 0, false, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			continue;
		}
		/* Ours to act on (another thread may be at it too). */
		if (!__atomic_compare_exchange_n(&s->due_ns, &due, 0, false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			continue;
		/* Only if the rule still holds this connection (same socket, same rules). */
		if (!fl_decide_io(dir == FL_DIR_SEND ? FL_FN_SEND : FL_FN_RECV, fd, dir, &a) ||
		    a.kind != FL_KIND_STREAM || a.op != op)
			continue;
		fl_sio_init(&io, &a, fd, dir == FL_DIR_SEND ? FL_FN_SEND : FL_FN_RECV, dir, 0);
		if (!io.s || FL_LD(io.s->gen) != a.gen ||
		    (FL_LD(io.s->flags) & (FL_SOCK_RESET | FL_SOCK_CLOSED)))
			continue;
		if (op == FL_STREAM_RESET_PEER)
			fl_sio_reset(&io);
		else
			fl_sio_shut(&io);
	}
	/* Publish the next deadline, keeping any noted while we scanned. */
	while (!__atomic_compare_exchange_n(&fl_due_min, &seen, next, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		if (seen && (!next || seen < next))
			next = seen;
}

/*
 * How long a wait may sleep: the program's own timeout, cut at the earliest
 * after= deadline. *cut is set when we cut it; a wait that then times out is
 * ours to resume (fl_due_fire, then wait again for what is left of the
 * program's time). timeout_ns < 0: forever.
 */
static int64_t fl_wait_budget(int64_t timeout_ns, bool *cut)
{
	uint64_t due = FL_LD(fl_due_min), now;

	*cut = false;
	if (!due)
		return timeout_ns;
	now = fl_now_ns(CLOCK_MONOTONIC);
	if (due <= now) {
		fl_due_fire(now);
		due = FL_LD(fl_due_min);
		if (!due)
			return timeout_ns;
	}
	/* A deadline further than int64 nanoseconds away (a hostile table) cuts nothing. */
	if (due > now && due - now <= (uint64_t)INT64_MAX &&
	    (timeout_ns < 0 || (int64_t)(due - now) < timeout_ns)) {
		*cut = true;
		return (int64_t)(due - now);
	}
	return timeout_ns;
}

/* The wait hooks' loop: sleep in budgets, firing deadlines, until the program's wait ends. */
#define FL_WAIT_LOOP(timeout_ns, ...)                                                              \
	do {                                                                                       \
		int64_t left_ = (timeout_ns);                                                      \
                                                                                                   \
		for (;;) {                                                                         \
			bool cut_;                                                                 \
			int64_t b_ = fl_wait_budget(left_, &cut_);                                 \
			uint64_t t0_ = fl_now_ns(CLOCK_MONOTONIC);                                 \
			int r_;                                                                    \
                                                                                                   \
			__VA_ARGS__;                                                               \
			if (r_ != 0 || !cut_)                                                      \
				return r_;                                                         \
			if (left_ >= 0) {                                                          \
				left_ -= (int64_t)(fl_now_ns(CLOCK_MONOTONIC) - t0_);              \
				if (left_ < 0)                                                     \
					left_ = 0;                                                 \
			}                                                                          \
			fl_due_fire(fl_now_ns(CLOCK_MONOTONIC));                                   \
		}                                                                                  \
	} while (0)

/* Milliseconds for poll/epoll, rounded up (a wait never ends before the deadline). */
static int fl_ms(int64_t ns)
{
	if (ns < 0)
		return -1;
	ns = (ns + 999999) / 1000000;
	return ns > INT32_MAX ? INT32_MAX : (int)ns;
}

static FL_NOINLINE int fl_poll_slow(struct pollfd *fds, nfds_t n, int ms)
{
	FL_WAIT_LOOP(ms < 0 ? -1 : (int64_t)ms * 1000000, r_ = fl_real.poll(fds, n, fl_ms(b_)));
}

FL_EXPORT int FL_HOOK_NAME(poll)(struct pollfd *fds, nfds_t n, int ms)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.poll(fds, n, ms);
	return fl_poll_slow(fds, n, ms);
}

/* Fortified callers reach poll and ppoll through these (libc's checker aborts on a short array). */
int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *to, const sigset_t *mask,
		size_t fdslen);

FL_EXPORT int FL_HOOK_NAME(__poll_chk)(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min) || fdslen / sizeof(*fds) < n)
		return fl_real.__poll_chk(fds, n, ms, fdslen);
	return fl_poll_slow(fds, n, ms);
}

static int64_t fl_ts_ns(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0)
		return 0;
	if (ts->tv_sec > INT64_MAX / 1000000000LL - 1)
		return INT64_MAX;
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static struct timespec fl_ns_ts(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL),
			      .tv_nsec = (long)(ns % 1000000000LL)};

	return ts;
}

static FL_NOINLINE int fl_ppoll_slow(struct pollfd *fds, nfds_t n, const struct timespec *to,
				     const sigset_t *mask)
{
	FL_WAIT_LOOP(fl_ts_ns(to), {
		struct timespec t_ = fl_ns_ts(b_);

		r_ = fl_real.ppoll(fds, n, b_ < 0 ? NULL : &t_, mask);
	});
}

FL_EXPORT int FL_HOOK_NAME(ppoll)(struct pollfd *fds, nfds_t n, const struct timespec *to,
				  const sigset_t *mask)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.ppoll(fds, n, to, mask);
	return fl_ppoll_slow(fds, n, to, mask);
}

FL_EXPORT int FL_HOOK_NAME(__ppoll_chk)(struct pollfd *fds, nfds_t n, const struct timespec *to,
					const sigset_t *mask, size_t fdslen)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min) || fdslen / sizeof(*fds) < n)
		return fl_real.__ppoll_chk(fds, n, to, mask, fdslen);
	return fl_ppoll_slow(fds, n, to, mask);
}

/* select clears the sets it returns; a wait we resume starts again from the program's. */
#define FL_SETS_SAVE()                                                                             \
	fd_set rs_, ws_, es_;                                                                      \
	FD_ZERO(&rs_);                                                                             \
	FD_ZERO(&ws_);                                                                             \
	FD_ZERO(&es_);                                                                             \
	if (r)                                                                                     \
		rs_ = *r;                                                                          \
	if (w)                                                                                     \
		ws_ = *w;                                                                          \
	if (e)                                                                                     \
	es_ = *e
#define FL_SETS_RESTORE()                                                                          \
	do {                                                                                       \
		if (r)                                                                             \
			*r = rs_;                                                                  \
		if (w)                                                                             \
			*w = ws_;                                                                  \
		if (e)                                                                             \
			*e = es_;                                                                  \
	} while (0)

static FL_NOINLINE int fl_select_slow(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	FL_SETS_SAVE();
	FL_WAIT_LOOP(tv ? (int64_t)tv->tv_sec * 1000000000LL + (int64_t)tv->tv_usec * 1000 : -1, {
		struct timeval t_ = {.tv_sec = (time_t)(b_ / 1000000000LL),
				     .tv_usec = (suseconds_t)((b_ % 1000000000LL + 999) / 1000)};

		FL_SETS_RESTORE();
		r_ = fl_real.select(n, r, w, e, b_ < 0 ? NULL : &t_);
		if (tv && b_ >= 0 && r_ >= 0 && !cut_)
			*tv = t_; /* what is left, as Linux reports it */
	});
}

FL_EXPORT int FL_HOOK_NAME(select)(int n, fd_set *restrict r, fd_set *restrict w,
				   fd_set *restrict e, struct timeval *restrict tv)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.select(n, r, w, e, tv);
	return fl_select_slow(n, r, w, e, tv);
}

static FL_NOINLINE int fl_pselect_slow(int n, fd_set *r, fd_set *w, fd_set *e,
				       const struct timespec *to, const sigset_t *mask)
{
	FL_SETS_SAVE();
	FL_WAIT_LOOP(fl_ts_ns(to), {
		struct timespec t_ = fl_ns_ts(b_);

		FL_SETS_RESTORE();
		r_ = fl_real.pselect(n, r, w, e, b_ < 0 ? NULL : &t_, mask);
	});
}

FL_EXPORT int FL_HOOK_NAME(pselect)(int n, fd_set *restrict r, fd_set *restrict w,
				    fd_set *restrict e, const struct timespec *restrict to,
				    const __sigset_t *restrict mask)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.pselect(n, r, w, e, to, mask);
	return fl_pselect_slow(n, r, w, e, to, mask);
}

static FL_NOINLINE int fl_epoll_wait_slow(int ep, struct epoll_event *ev, int max, int ms)
{
	FL_WAIT_LOOP(ms < 0 ? -1 : (int64_t)ms * 1000000,
		     r_ = fl_real.epoll_wait(ep, ev, max, fl_ms(b_)));
}

FL_EXPORT int FL_HOOK_NAME(epoll_wait)(int ep, struct epoll_event *ev, int max, int ms)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.epoll_wait(ep, ev, max, ms);
	return fl_epoll_wait_slow(ep, ev, max, ms);
}

static FL_NOINLINE int fl_epoll_pwait_slow(int ep, struct epoll_event *ev, int max, int ms,
					   const sigset_t *mask)
{
	FL_WAIT_LOOP(ms < 0 ? -1 : (int64_t)ms * 1000000,
		     r_ = fl_real.epoll_pwait(ep, ev, max, fl_ms(b_), mask));
}

FL_EXPORT int FL_HOOK_NAME(epoll_pwait)(int ep, struct epoll_event *ev, int max, int ms,
					const sigset_t *mask)
{
	if (FL_LIKELY(!fl_armed(FL_FN_WAIT)) || !FL_LD(fl_due_min))
		return fl_real.epoll_pwait(ep, ev, max, ms, mask);
	return fl_epoll_pwait_slow(ep, ev, max, ms, mask);
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
 * A receive with a buffer (read, pread, recv, recvfrom): fail, delay, transfer
 * at most short= bytes, or a stream rule's doing. mflags: the call's MSG_* flags.
 */
#define FL_SLOW_RX(name, FN, params, args, mflags)                                                 \
	{                                                                                          \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide_io(FL_FN_##FN, fd, FL_DIR_RECV, &a))                                \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			struct fl_sio io;                                                          \
			size_t want = n;                                                           \
			ssize_t r;                                                                 \
                                                                                                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_RECV, mflags);                 \
			if (fl_sio_pre(&io, want, &r) == FL_SIO_DONE)                              \
				return r;                                                          \
			n = want < io.lim ? want : io.lim;                                         \
			return fl_sio_post(&io, fl_real.name args, want);                          \
		}                                                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		n = fl_short(&a, n);                                                               \
		return fl_real.name args;                                                          \
	}
#define FL_SLOW_RBUF(name, FN, params, args) FL_SLOW_RX(name, FN, params, args, 0)
#define FL_SLOW_RECV(name, FN, params, args) FL_SLOW_RX(name, FN, params, args, flags)

/*
 * A send with a buffer (write, pwrite, send, sendto): the same; a stream rule
 * may send it in several chunks (slicer, bandwidth). peer/peerlen: the
 * address the call names (sendto), else NULL/0.
 */
#define FL_SLOW_TX(name, FN, params, args, mflags, peer_, peerlen_)                                \
	{                                                                                          \
		struct fl_call c = {.fn = FL_FN_##FN,                                              \
				    .fd = fd,                                                      \
				    .peer = (peer_),                                               \
				    .peerlen = (peerlen_),                                         \
				    .clock = -1,                                                   \
				    .dir = FL_DIR_SEND};                                           \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide(&c, &a))                                                            \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			struct fl_sio io;                                                          \
			const char *b0 = buf;                                                      \
			size_t n0 = n, done = 0;                                                   \
			ssize_t r;                                                                 \
                                                                                                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_SEND, mflags);                 \
			for (;;) {                                                                 \
				if (fl_sio_pre(&io, n0 - done, &r) == FL_SIO_DONE)                 \
					return fl_sio_end(&io, done, r);                           \
				buf = b0 + done;                                                   \
				n = n0 - done < io.lim ? n0 - done : io.lim;                       \
				r = fl_sio_post(&io, fl_real.name args, n);                        \
				if (r <= 0)                                                        \
					return fl_sio_end(&io, done, r);                           \
				done += (size_t)r;                                                 \
				if (done >= n0 || !io.more)                                        \
					return (ssize_t)done;                                      \
			}                                                                          \
		}                                                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		n = fl_short(&a, n);                                                               \
		return fl_real.name args;                                                          \
	}
#define FL_SLOW_WBUF(name, FN, params, args)   FL_SLOW_TX(name, FN, params, args, 0, NULL, 0)
#define FL_SLOW_SEND(name, FN, params, args)   FL_SLOW_TX(name, FN, params, args, flags, NULL, 0)
#define FL_SLOW_SENDTO(name, FN, params, args) FL_SLOW_TX(name, FN, params, args, flags, sa, len)

/* readv: the same over an iovec array. */
#define FL_SLOW_RIOV(name, FN, params, args)                                                       \
	{                                                                                          \
		struct iovec v[FL_IOV_MAX];                                                        \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide_io(FL_FN_##FN, fd, FL_DIR_RECV, &a))                                \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			struct fl_sio io;                                                          \
			size_t want = fl_iov_total(iov, cnt);                                      \
			ssize_t r;                                                                 \
                                                                                                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_RECV, 0);                      \
			if (fl_sio_pre(&io, want, &r) == FL_SIO_DONE)                              \
				return r;                                                          \
			if (io.lim < want) {                                                       \
				cnt = fl_iov_window(iov, cnt, 0, io.lim, v);                       \
				iov = v;                                                           \
			}                                                                          \
			return fl_sio_post(&io, fl_real.name args, want);                          \
		}                                                                                  \
		if (fl_act_pre(&a))                                                                \
			return -1;                                                                 \
		if (a.flags & FL_RULE_SHORT) {                                                     \
			cnt = fl_short_iov(&a, iov, cnt, v);                                       \
			iov = v;                                                                   \
		}                                                                                  \
		return fl_real.name args;                                                          \
	}

/* writev: the same, in chunks for a stream rule. */
#define FL_SLOW_WIOV(name, FN, params, args)                                                       \
	{                                                                                          \
		struct iovec v[FL_IOV_MAX];                                                        \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide_io(FL_FN_##FN, fd, FL_DIR_SEND, &a))                                \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			const struct iovec *iov0 = iov;                                            \
			int cnt0 = cnt;                                                            \
			size_t n0 = fl_iov_total(iov, cnt), done = 0;                              \
			struct fl_sio io;                                                          \
			ssize_t r;                                                                 \
                                                                                                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_SEND, 0);                      \
			for (;;) {                                                                 \
				size_t n;                                                          \
                                                                                                   \
				if (fl_sio_pre(&io, n0 - done, &r) == FL_SIO_DONE)                 \
					return fl_sio_end(&io, done, r);                           \
				n = n0 - done < io.lim ? n0 - done : io.lim;                       \
				cnt = fl_iov_window(iov0, cnt0, done, n, v);                       \
				iov = v;                                                           \
				r = fl_sio_post(&io, fl_real.name args, n);                        \
				if (r <= 0)                                                        \
					return fl_sio_end(&io, done, r);                           \
				done += (size_t)r;                                                 \
				if (done >= n0 || !io.more)                                        \
					return (ssize_t)done;                                      \
			}                                                                          \
		}                                                                                  \
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
 * every injected close error would leak an fd. A stream rule may make it an
 * abortive close (reset_peer) or a slow one (slow_close).
 */
#define FL_SLOW_CLOSE(name, FN, params, args)                                                      \
	{                                                                                          \
		struct fl_act a;                                                                   \
		int r;                                                                             \
                                                                                                   \
		if (!fl_decide_fd(FL_FN_##FN, fd, &a))                                             \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			fl_sio_close(&a, fd);                                                      \
			return fl_real.name args;                                                  \
		}                                                                                  \
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

/* shutdown: only stream rules act on it (an abortive or a slow end of the connection). */
#define FL_SLOW_SHUTDOWN(name, FN, params, args)                                                   \
	{                                                                                          \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (fl_decide_fd(FL_FN_##FN, fd, &a) && a.kind == FL_KIND_STREAM &&                \
		    fl_sio_shutdown(&a, fd, how))                                                  \
			return 0;                                                                  \
		return fl_real.name args;                                                          \
	}

/* connect: the peer is the address given. */
#define FL_SLOW_CONNECT(name, FN, params, args)                                                    \
	{                                                                                          \
		struct fl_call c = {                                                               \
		    .fn = FL_FN_##FN, .fd = fd, .peer = sa, .peerlen = len, .clock = -1};          \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (fl_decide(&c, &a) && fl_act_pre(&a))                                           \
			return -1;                                                                 \
		return fl_real.name args;                                                          \
	}

#define FL_SLOW_SENDMSG(name, FN, params, args)                                                    \
	{                                                                                          \
		struct fl_call c = {.fn = FL_FN_##FN,                                              \
				    .fd = fd,                                                      \
				    .peer = msg ? msg->msg_name : NULL,                            \
				    .peerlen = msg ? msg->msg_namelen : 0,                         \
				    .clock = -1,                                                   \
				    .dir = FL_DIR_SEND};                                           \
		struct iovec v[FL_IOV_MAX];                                                        \
		struct msghdr m;                                                                   \
		struct fl_act a;                                                                   \
                                                                                                   \
		if (!fl_decide(&c, &a))                                                            \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM && msg) {                                             \
			const struct msghdr *msg0 = msg;                                           \
			size_t n0 = fl_iov_total(msg->msg_iov, (int)msg->msg_iovlen), done = 0;    \
			struct fl_sio io;                                                          \
			ssize_t r;                                                                 \
                                                                                                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_SEND, flags);                  \
			for (;;) {                                                                 \
				size_t n;                                                          \
                                                                                                   \
				if (fl_sio_pre(&io, n0 - done, &r) == FL_SIO_DONE)                 \
					return fl_sio_end(&io, done, r);                           \
				n = n0 - done < io.lim ? n0 - done : io.lim;                       \
				m = *msg0;                                                         \
				m.msg_iov = v;                                                     \
				m.msg_iovlen = (size_t)fl_iov_window(                              \
				    msg0->msg_iov, (int)msg0->msg_iovlen, done, n, v);             \
				msg = &m;                                                          \
				r = fl_sio_post(&io, fl_real.name args, n);                        \
				if (r <= 0)                                                        \
					return fl_sio_end(&io, done, r);                           \
				done += (size_t)r;                                                 \
				if (done >= n0 || !io.more)                                        \
					return (ssize_t)done;                                      \
			}                                                                          \
		}                                                                                  \
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
		size_t origlen, lim = SIZE_MAX, want = 0;                                          \
		struct fl_sio io;                                                                  \
		struct fl_act a;                                                                   \
		ssize_t r;                                                                         \
                                                                                                   \
		if (!fl_decide_io(FL_FN_##FN, fd, FL_DIR_RECV, &a))                                \
			return fl_real.name args;                                                  \
		if (a.kind == FL_KIND_STREAM) {                                                    \
			if (!msg)                                                                  \
				return fl_real.name args;                                          \
			want = fl_iov_total(msg->msg_iov, (int)msg->msg_iovlen);                   \
			fl_sio_init(&io, &a, fd, FL_FN_##FN, FL_DIR_RECV, flags);                  \
			if (fl_sio_pre(&io, want, &r) == FL_SIO_DONE)                              \
				return r;                                                          \
			lim = io.lim;                                                              \
		} else {                                                                           \
			if (fl_act_pre(&a))                                                        \
				return -1;                                                         \
			if (a.flags & FL_RULE_SHORT)                                               \
				lim = a.short_len;                                                 \
		}                                                                                  \
		if (lim == SIZE_MAX || !msg) {                                                     \
			r = fl_real.name args;                                                     \
		} else {                                                                           \
			orig = msg->msg_iov;                                                       \
			origlen = msg->msg_iovlen;                                                 \
			msg->msg_iov = v;                                                          \
			msg->msg_iovlen = (size_t)fl_iov_window(orig, (int)origlen, 0, lim, v);    \
			r = fl_real.name args;                                                     \
			msg->msg_iov = orig;                                                       \
			msg->msg_iovlen = origlen;                                                 \
		}                                                                                  \
		return a.kind == FL_KIND_STREAM ? fl_sio_post(&io, r, want) : r;                   \
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

/* ---- time: clock skew ---- */

/*
 * The clocks a time rule may name come in families (rules.c: clock=realtime
 * covers all four realtime ids). A skewed monotonic or boot-time reading is
 * never made negative: those clocks start at zero.
 */
#define FL_CLOCKS_FROM_ZERO                                                                        \
	((1u << CLOCK_MONOTONIC) | (1u << CLOCK_MONOTONIC_RAW) | (1u << CLOCK_MONOTONIC_COARSE) |  \
	 (1u << CLOCK_BOOTTIME) | (1u << CLOCK_BOOTTIME_ALARM))

/* The offset a time rule puts on this clock now, if any. */
static bool fl_skew(clockid_t id, int64_t *off)
{
	struct fl_call c = {.fn = FL_FN_CLOCK, .fd = -1, .clock = (int)id};
	struct fl_act a;

	if (!fl_decide(&c, &a) || a.kind != FL_KIND_TIME)
		return false;
	*off = a.offset_ns;
	return true;
}

static void fl_ts_add(struct timespec *ts, int64_t off, clockid_t id)
{
	int64_t sec = (int64_t)ts->tv_sec + off / 1000000000LL;
	int64_t ns = (int64_t)ts->tv_nsec + off % 1000000000LL;

	if (ns < 0) {
		ns += 1000000000LL;
		sec--;
	} else if (ns >= 1000000000LL) {
		ns -= 1000000000LL;
		sec++;
	}
	if (sec < 0 && id >= 0 && id < 32 && (FL_CLOCKS_FROM_ZERO & (1u << id)))
		sec = ns = 0;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)ns;
}

static FL_NOINLINE int fl_clock_gettime_slow(clockid_t id, struct timespec *ts)
{
	int r = fl_real.clock_gettime(id, ts);
	int64_t off;

	if (r == 0 && ts && fl_skew(id, &off))
		fl_ts_add(ts, off, id);
	return r;
}

FL_EXPORT int FL_HOOK_NAME(clock_gettime)(clockid_t id, struct timespec *ts)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOCK)))
		return fl_real.clock_gettime(id, ts);
	return fl_clock_gettime_slow(id, ts);
}

static FL_NOINLINE int fl_gettimeofday_slow(struct timeval *tv, void *tz)
{
	int r = fl_real.gettimeofday(tv, tz);
	struct timespec ts;
	int64_t off;

	if (r == 0 && tv && fl_skew(CLOCK_REALTIME, &off)) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000L;
		fl_ts_add(&ts, off, CLOCK_REALTIME);
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000L;
	}
	return r;
}

FL_EXPORT int FL_HOOK_NAME(gettimeofday)(struct timeval *restrict tv, void *restrict tz)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOCK)))
		return fl_real.gettimeofday(tv, tz);
	return fl_gettimeofday_slow(tv, tz);
}

static FL_NOINLINE time_t fl_time_slow(time_t *t)
{
	struct timespec ts;
	int64_t off;
	time_t v;

	if (!fl_skew(CLOCK_REALTIME, &off))
		return fl_real.time(t);
	/* Skewed exactly like clock_gettime(CLOCK_REALTIME), so the two agree. */
	fl_real.clock_gettime(CLOCK_REALTIME, &ts);
	fl_ts_add(&ts, off, CLOCK_REALTIME);
	v = ts.tv_sec;
	if (t)
		*t = v;
	return v;
}

FL_EXPORT time_t FL_HOOK_NAME(time)(time_t *t)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOCK)))
		return fl_real.time(t);
	return fl_time_slow(t);
}

static FL_NOINLINE int fl_timespec_get_slow(struct timespec *ts, int base)
{
	int r = fl_real.timespec_get(ts, base);
	int64_t off;

	if (r == TIME_UTC && ts && fl_skew(CLOCK_REALTIME, &off))
		fl_ts_add(ts, off, CLOCK_REALTIME);
	return r;
}

FL_EXPORT int FL_HOOK_NAME(timespec_get)(struct timespec *ts, int base)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOCK)))
		return fl_real.timespec_get(ts, base);
	return fl_timespec_get_slow(ts, base);
}

/*
 * An absolute sleep on a skewed clock: the program computed the deadline from
 * the skewed reading, the kernel sleeps on the real clock, so the deadline
 * goes back by the offset (a program sleeping "until now + 1s" sleeps 1 s).
 */
static FL_NOINLINE int fl_clock_nanosleep_slow(clockid_t id, int flags, const struct timespec *req,
					       struct timespec *rem)
{
	struct timespec t;
	int64_t off;

	if (!(flags & TIMER_ABSTIME) || !req || !fl_skew(id, &off))
		return fl_real.clock_nanosleep(id, flags, req, rem);
	t = *req;
	fl_ts_add(&t, -off, id);
	if (t.tv_sec < 0)
		t.tv_sec = t.tv_nsec = 0;
	return fl_real.clock_nanosleep(id, flags, &t, rem);
}

FL_EXPORT int FL_HOOK_NAME(clock_nanosleep)(clockid_t id, int flags, const struct timespec *req,
					    struct timespec *rem)
{
	if (FL_LIKELY(!fl_armed(FL_FN_CLOCK)))
		return fl_real.clock_nanosleep(id, flags, req, rem);
	return fl_clock_nanosleep_slow(id, flags, req, rem);
}

/* ---- dns: resolver answers ---- */

/* Is the text an address, not a name? (no resolver is asked for those) */
static bool fl_literal(const char *s)
{
	unsigned char b[16];

	return s && (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1);
}

/*
 * The dns rule for this name, if one fires. (Only a dns rule: the table
 * comes from outside, and no other kind has a say over these functions.)
 */
static bool fl_dns_decide(unsigned fn, const char *name, struct fl_act *a)
{
	struct fl_call c = {
	    .fn = fn, .fd = -1, .clock = -1, .host = name, .literal = fl_literal(name)};

	return name && fl_decide(&c, a) && a->kind == FL_KIND_DNS;
}

/* A DNS rule that does not hand out an address sleeps first if it is a timeout. */
static void fl_dns_wait(const struct fl_act *a)
{
	if (a->flags & FL_RULE_DELAY)
		fl_sleep_ns(a->delay_ns);
	if (a->op == FL_DNS_TIMEOUT)
		fl_sleep_ns(a->after_ns);
}

/* getaddrinfo under a dns rule: the EAI code, or the answer through libc's own numeric path. */
static int fl_gai_dns(const struct fl_act *a, const char *service, const struct addrinfo *hints,
		      struct addrinfo **res)
{
	struct addrinfo h;
	char txt[INET6_ADDRSTRLEN];
	int r;

	fl_dns_wait(a);
	switch (a->op) {
	case FL_DNS_NXDOMAIN:
		return EAI_NONAME;
	case FL_DNS_ANSWER:
		break;
	default: /* SERVFAIL, a timeout: "try again" */
		return EAI_AGAIN;
	}
	memset(&h, 0, sizeof(h));
	if (hints)
		h = *hints;
	/* A name with only an A record asked for IPv6 (and the reverse) has no address. */
	if ((h.ai_family == AF_INET && a->answer_family != AF_INET) ||
	    (h.ai_family == AF_INET6 && a->answer_family == AF_INET && !(h.ai_flags & AI_V4MAPPED)))
		return EAI_NONAME;
	if (!inet_ntop(a->answer_family, a->answer, txt, sizeof(txt)))
		return EAI_FAIL;
	/* libc builds the answer (its allocation, freed by freeaddrinfo): no lookup, no traffic. */
	h.ai_flags |= AI_NUMERICHOST;
	fl_tls.busy++;
	r = fl_real.getaddrinfo(txt, service, &h, res);
	fl_tls.busy--;
	return r;
}

static FL_NOINLINE int fl_getaddrinfo_slow(const char *node, const char *service,
					   const struct addrinfo *hints, struct addrinfo **res)
{
	struct fl_call c = {.fn = FL_FN_GETADDRINFO,
			    .fd = -1,
			    .clock = -1,
			    .host = node,
			    .literal = fl_literal(node)};
	struct fl_act a;
	int r;

	if (fl_decide(&c, &a)) {
		if (a.kind == FL_KIND_DNS)
			return fl_gai_dns(&a, service, hints, res);
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

/* Fill a hostent with the answer; buf holds what it points to. false: buf too small. */
static bool fl_hostent_fill(const struct fl_act *a, const char *name, struct hostent *he, char *buf,
			    size_t buflen)
{
	size_t alen = a->answer_family == AF_INET6 ? 16 : 4, nlen = strnlen(name, 255);
	uintptr_t p = ((uintptr_t)buf + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
	size_t pad = (size_t)(p - (uintptr_t)buf);
	char **ptrs = (char **)p;
	char *addr = (char *)(ptrs + 3), *nm = addr + 16;

	if (!buf || buflen < pad + 3 * sizeof(char *) + 16 + nlen + 1)
		return false;
	memcpy(addr, a->answer, alen);
	memcpy(nm, name, nlen);
	nm[nlen] = '\0';
	ptrs[0] = NULL; /* aliases */
	ptrs[1] = addr; /* addresses */
	ptrs[2] = NULL;
	he->h_name = nm;
	he->h_aliases = &ptrs[0];
	he->h_addrtype = a->answer_family;
	he->h_length = (int)alen;
	he->h_addr_list = &ptrs[1];
	return true;
}

/* The h_errno a failing dns rule gives (and whether the answer's family does not fit). */
static int fl_dns_herr(const struct fl_act *a, int af)
{
	if (a->op == FL_DNS_NXDOMAIN)
		return HOST_NOT_FOUND;
	if (a->op == FL_DNS_ANSWER)
		return a->answer_family == af ? 0 : NO_DATA;
	return TRY_AGAIN;
}

/* gethostbyname, gethostbyname2: the answer lives in this thread's buffer, as libc's in its own. */
struct fl_hostbuf {
	struct hostent he;
	char buf[3 * sizeof(char *) + 16 + 256 + sizeof(char *)];
};
static __thread struct fl_hostbuf fl_hostbuf __attribute__((tls_model("initial-exec")));

static FL_NOINLINE struct hostent *fl_gethostbyname_slow(const char *name, int af, bool two)
{
	struct hostent *r;
	struct fl_act a;
	int herr;

	if (fl_dns_decide(FL_FN_GETHOSTBYNAME, name, &a)) {
		fl_dns_wait(&a);
		herr = fl_dns_herr(&a, af);
		if (!herr && fl_hostent_fill(&a, name, &fl_hostbuf.he, fl_hostbuf.buf,
					     sizeof(fl_hostbuf.buf)))
			return &fl_hostbuf.he;
		h_errno = herr ? herr : NO_RECOVERY;
		if (herr == TRY_AGAIN)
			errno = EAGAIN;
		return NULL;
	}
	fl_tls.busy++;
	r = two ? fl_real.gethostbyname2(name, af) : fl_real.gethostbyname(name);
	fl_tls.busy--;
	return r;
}

FL_EXPORT struct hostent *FL_HOOK_NAME(gethostbyname)(const char *name)
{
	if (FL_LIKELY(!fl_armed(FL_FN_GETHOSTBYNAME)))
		return fl_real.gethostbyname(name);
	return fl_gethostbyname_slow(name, AF_INET, false);
}

FL_EXPORT struct hostent *FL_HOOK_NAME(gethostbyname2)(const char *name, int af)
{
	if (FL_LIKELY(!fl_armed(FL_FN_GETHOSTBYNAME)))
		return fl_real.gethostbyname2(name, af);
	return fl_gethostbyname_slow(name, af, true);
}

/* The _r forms: 0 with *result set (or NULL: not found, no data), else an errno value. */
static FL_NOINLINE int fl_gethostbyname_r_slow(const char *name, int af, bool two,
					       struct hostent *ret, char *buf, size_t buflen,
					       struct hostent **result, int *herrp)
{
	struct fl_act a;
	int herr, r;

	if (fl_dns_decide(FL_FN_GETHOSTBYNAME, name, &a)) {
		fl_dns_wait(&a);
		*result = NULL;
		herr = fl_dns_herr(&a, af);
		if (!herr) {
			if (fl_hostent_fill(&a, name, ret, buf, buflen)) {
				*result = ret;
				*herrp = 0;
				return 0;
			}
			*herrp = NETDB_INTERNAL;
			errno = ERANGE;
			return ERANGE;
		}
		*herrp = herr;
		if (herr != TRY_AGAIN)
			return 0;
		errno = EAGAIN;
		return EAGAIN;
	}
	fl_tls.busy++;
	r = two ? fl_real.gethostbyname2_r(name, af, ret, buf, buflen, result, herrp)
		: fl_real.gethostbyname_r(name, ret, buf, buflen, result, herrp);
	fl_tls.busy--;
	return r;
}

FL_EXPORT int FL_HOOK_NAME(gethostbyname_r)(const char *restrict name, struct hostent *restrict ret,
					    char *restrict buf, size_t buflen,
					    struct hostent **restrict result, int *restrict herrp)
{
	if (FL_LIKELY(!fl_armed(FL_FN_GETHOSTBYNAME)))
		return fl_real.gethostbyname_r(name, ret, buf, buflen, result, herrp);
	return fl_gethostbyname_r_slow(name, AF_INET, false, ret, buf, buflen, result, herrp);
}

FL_EXPORT int FL_HOOK_NAME(gethostbyname2_r)(const char *restrict name, int af,
					     struct hostent *restrict ret, char *restrict buf,
					     size_t buflen, struct hostent **restrict result,
					     int *restrict herrp)
{
	if (FL_LIKELY(!fl_armed(FL_FN_GETHOSTBYNAME)))
		return fl_real.gethostbyname2_r(name, af, ret, buf, buflen, result, herrp);
	return fl_gethostbyname_r_slow(name, af, true, ret, buf, buflen, result, herrp);
}

/*
 * A DNS message for a res_query-family call, as a server would answer: the
 * question echoed and the rcode, plus one record for FL_DNS_ANSWER when the
 * question is for the answer's type (A, AAAA or ANY, class IN). Returns the
 * length, -1 if the name cannot be a DNS name; *ancount is the number of
 * records.
 */
static int fl_dns_message(const struct fl_act *a, const char *full, int klass, int type,
			  unsigned char *m, size_t mlen, unsigned *ancount)
{
	size_t n = strnlen(full, 256), p = 12, lab;
	int rcode = a->op == FL_DNS_NXDOMAIN   ? ns_r_nxdomain
		    : a->op == FL_DNS_SERVFAIL ? ns_r_servfail
					       : ns_r_noerror;
	int want = a->answer_family == AF_INET6 ? ns_t_aaaa : ns_t_a;
	unsigned alen = a->answer_family == AF_INET6 ? 16 : 4;

	if (n > 255)
		return -1;
	if (n && full[n - 1] == '.')
		n--;
	if (mlen < 12 + n + 2 + 4 + 16 + 16)
		return -1;
	/* Question: each label with its length in front. */
	lab = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || full[i] == '.') {
			size_t l = i - lab;

			if (!l || l > 63) {
				if (!n)
					break; /* the root */
				return -1;
			}
			m[p++] = (unsigned char)l;
			memcpy(m + p, full + lab, l);
			p += l;
			lab = i + 1;
		}
	}
	m[p++] = 0;
	m[p++] = (unsigned char)(type >> 8);
	m[p++] = (unsigned char)type;
	m[p++] = (unsigned char)(klass >> 8);
	m[p++] = (unsigned char)klass;
	*ancount = a->op == FL_DNS_ANSWER && klass == ns_c_in && (type == want || type == ns_t_any);
	if (*ancount) {
		static const unsigned char rr[] = {0xc0, 12, 0, 0, 0, ns_c_in, 0, 0, 0, 60, 0, 0};

		memcpy(m + p, rr, sizeof(rr));
		m[p + 2] = (unsigned char)(want >> 8);
		m[p + 3] = (unsigned char)want;
		m[p + 11] = (unsigned char)alen;
		p += sizeof(rr);
		memcpy(m + p, a->answer, alen);
		p += alen;
	}
	/* Header: id 0, QR, RD, RA, the rcode; one question, the records. */
	memset(m, 0, 12);
	m[2] = 0x81;
	m[3] = (unsigned char)(0x80 | rcode);
	m[5] = 1;
	m[7] = (unsigned char)*ancount;
	return (int)p;
}

/*
 * The res_query family under a dns rule. Returns true with the call's result
 * in *ret (and h_errno, the state's res_h_errno, the answer buffer set as
 * glibc's own would be), false when no rule fires or the name is not one.
 */
static bool fl_res_fault(res_state statp, const char *name, const char *domain, int klass, int type,
			 unsigned char *answer, int anslen, int *ret)
{
	unsigned char m[12 + 256 + 4 + 12 + 16 + 8];
	char full[256];
	size_t n = name ? strnlen(name, sizeof(full)) : sizeof(full);
	unsigned ancount = 0;
	struct fl_act a;
	int len = -1, herr;

	/* The name asked for: name, or name.domain (res_querydomain). */
	if (n >= sizeof(full))
		return false;
	memcpy(full, name, n);
	if (domain) {
		size_t d = strnlen(domain, sizeof(full));

		if (n + 1 + d >= sizeof(full))
			return false;
		full[n++] = '.';
		memcpy(full + n, domain, d);
		n += d;
	}
	full[n] = '\0';
	if (!fl_dns_decide(FL_FN_RES_QUERY, full, &a))
		return false;
	fl_dns_wait(&a);
	if (a.op != FL_DNS_TIMEOUT)
		len = fl_dns_message(&a, full, klass, type, m, sizeof(m), &ancount);
	if (a.op != FL_DNS_TIMEOUT && len < 0)
		return false; /* not a DNS name: libc refuses it itself */
	if (len > 0 && answer && anslen > 0)
		memcpy(answer, m, (size_t)(len < anslen ? len : anslen));
	if (ancount) {
		*ret = len;
		return true;
	}
	herr = a.op == FL_DNS_NXDOMAIN ? HOST_NOT_FOUND
	       : a.op == FL_DNS_ANSWER ? NO_DATA
				       : TRY_AGAIN;
	if (a.op == FL_DNS_TIMEOUT)
		errno = ETIMEDOUT;
	h_errno = herr;
	if (statp)
		statp->res_h_errno = herr;
	*ret = -1;
	return true;
}

#define FL_GEN_RES_SLOW(name, params, args, statp_, name_, domain_)                                \
	static FL_NOINLINE int fl_##name##_slow params                                             \
	{                                                                                          \
		int r;                                                                             \
                                                                                                   \
		if (fl_res_fault(statp_, name_, domain_, klass, type, answer, anslen, &r))         \
			return r;                                                                  \
		fl_tls.busy++;                                                                     \
		r = fl_real.name args;                                                             \
		fl_tls.busy--;                                                                     \
		return r;                                                                          \
	}
FL_RES_HOOKS(FL_GEN_RES_SLOW)

/* Both names: res_query (glibc 2.34 on) and __res_query (what older headers made of it). */
#define FL_GEN_RES_EXPORT(name, params, args, statp_, name_, domain_)                              \
	FL_EXPORT int FL_HOOK_NAME(name) params                                                    \
	{                                                                                          \
		if (FL_LIKELY(!fl_armed(FL_FN_RES_QUERY)))                                         \
			return fl_real.name args;                                                  \
		return fl_##name##_slow args;                                                      \
	}                                                                                          \
	FL_EXPORT int FL_HOOK_NAME(__##name) params                                                \
	{                                                                                          \
		if (FL_LIKELY(!fl_armed(FL_FN_RES_QUERY)))                                         \
			return fl_real.name args;                                                  \
		return fl_##name##_slow args;                                                      \
	}
FL_RES_HOOKS(FL_GEN_RES_EXPORT)

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
	R(gethostbyname, "gethostbyname");
	R(gethostbyname2, "gethostbyname2");
	R(gethostbyname_r, "gethostbyname_r");
	R(gethostbyname2_r, "gethostbyname2_r");
#define FL_GEN_RESOLVE_RES(name, ...)                                                              \
	R(name, "__" #name);                                                                       \
	R(name, #name);
	FL_RES_HOOKS(FL_GEN_RESOLVE_RES)
	R(clock_gettime, "clock_gettime");
	R(gettimeofday, "gettimeofday");
	R(time, "time");
	R(timespec_get, "timespec_get");
	R(clock_nanosleep, "clock_nanosleep");
	R(poll, "poll");
	R(__poll_chk, "__poll_chk");
	R(ppoll, "ppoll");
	R(__ppoll_chk, "__ppoll_chk");
	R(select, "select");
	R(pselect, "pselect");
	R(epoll_wait, "epoll_wait");
	R(epoll_pwait, "epoll_pwait");
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

/*
 * Map the table; `writable`: the descriptor allows it, so the shim may count
 * hits (fl_hit). It writes nothing else there.
 */
static void fl_map_fd(int fd, bool writable)
{
	void *want = fl_area.bytes;

	/* MAP_FIXED over our own .bss: same address, so the hooks never chase a pointer. */
	if ((uintptr_t)want % (uintptr_t)sysconf(_SC_PAGESIZE))
		return;
	if (mmap(want, FL_SHM_SIZE, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED,
		 fd, 0) != MAP_FAILED)
		fl_can_count = writable;
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
	char tmp[FL_SHM_NAME_MAX + 8] = "/.faultline-new-";
	char from[FL_SHM_NAME_MAX + 24], to[FL_SHM_NAME_MAX + 16];
	size_t off = sizeof(FL_SHM_PREFIX) - 1, toff = strlen(tmp), n = 0;
	pid_t pid = getpid();
	unsigned v = (unsigned)pid;
	char digits[12];
	int fd;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n) {
		name[off++] = digits[--n];
		tmp[toff++] = name[off - 1];
	}
	name[off] = '\0';
	tmp[toff] = '\0';
	/*
	 * Built under a name the agent never opens, then renamed into place: the
	 * table appears whole, so a fault that finds it never sees a half-written
	 * header (which reads as a table its owner tampered with).
	 */
	fd = shm_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a dead process that had our pid, killed while registering. */
		shm_unlink(tmp);
		fd = shm_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return;
	memset(&h, 0, offsetof(struct fl_shm_table, fn_rules));
	h.magic = FL_SHM_MAGIC;
	h.version = FL_SHM_VERSION;
	h.owner_pid = pid;
	memcpy(from, "/dev/shm", 8);
	memcpy(from + 8, tmp, toff + 1);
	memcpy(to, "/dev/shm", 8);
	memcpy(to + 8, name, off + 1);
	/*
	 * rename() replaces a stale table of a dead process that had our pid; one
	 * that another user planted stays (the sticky /dev/shm refuses), and the
	 * process runs unregistered rather than on a table someone else controls.
	 */
	if (ftruncate(fd, FL_SHM_SIZE) ||
	    fl_real.pwrite(fd, &h, offsetof(struct fl_shm_table, fn_rules), 0) !=
		(ssize_t)offsetof(struct fl_shm_table, fn_rules) ||
	    rename(from, to) < 0) {
		shm_unlink(tmp);
		fl_real.close(fd);
		return;
	}
	fl_map_fd(fd, true);
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
		/* Read-write to count hits; read-only (no counts) if that is all we may. */
		int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
		bool writable = fd >= 0;

		if (fd < 0)
			fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
		if (fd >= 0) {
			if (fl_table_ok(fd))
				fl_map_fd(fd, writable);
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
