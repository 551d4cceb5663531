/*
 * libFuzzer target: the shared-memory rule table as the preload shim reads it.
 * A table is written by the agent or faultline exec, but it lives in /dev/shm
 * and outlives them: a corrupted or hostile table must never crash the
 * program the shim is loaded into. This target compiles preload/shim.c into
 * itself, with its exported libc names renamed (FL_HOOK_NAME: fl_hook_read,
 * ...) so that the fuzzer's own I/O is untouched, copies the input over the
 * shim's table area (where the real shim maps the object) and calls one hook
 * on harmless descriptors with arguments chosen by the input.
 *
 * Input:  ctl[16] table-bytes...
 *   ctl[0] hook, ctl[1] descriptor/iov count, ctl[2] string, ctl[3] address
 *   family/length, ctl[4..5] port, ctl[6] byte count, ctl[7] flags
 *   table-bytes: a struct fl_shm_table (shorter input: zeroes after it).
 * The hooks include the clock, resolver, wait and shutdown hooks, and the data
 * calls on a connected TCP pair (what stream rules act on), made afresh for
 * every input. The liberties taken with the table are only those that keep a
 * hostile table from stalling the fuzzer: FL_RULE_DELAY is cleared in every
 * rule, a dns rule's timeout is zero, a bandwidth rate is at least 2^40 bytes
 * per second, and before clock_nanosleep every time offset is made positive
 * (an absolute deadline then lies in the past). The TCP pair is non-blocking,
 * so a held receive answers EAGAIN; the resolver is pointed at 127.0.0.1:1
 * (nothing listens: no query leaves this machine).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <resolv.h>
#include <arpa/nameser.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Every name the shim exports, renamed: shim.c defines its hooks as FL_HOOK_NAME(name). */
#define FL_HOOK_NAME(name) fl_hook_##name
#include "preload/shim.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Before the shim's constructor: neither register a table nor map one. */
__attribute__((constructor(101))) static void fz_env(void)
{
	setenv(FL_SHM_ENV, "", 1);
}

#define NSTR 8
static const char *const strs[NSTR] = {"/dev/null", "/dev/",	 "/",	      "",
				       "localhost", "LocalHost", "127.0.0.1", "::1"};
/* Exactly-sized heap copies, so that a read past the end is caught. */
static char *str[NSTR];
static int devnull = -1, lsock = -1, pair[2] = {-1, -1}, udp = -1, tlisten = -1, tcp[2] = {-1, -1};
static struct sockaddr_in tlisten_addr;
static char scratch[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	(void)argc;
	(void)argv;
	for (int i = 0; i < NSTR; i++)
		str[i] = strdup(strs[i]);
	devnull = fl_real.open("/dev/null", O_RDWR | O_CLOEXEC);
	lsock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&in, sizeof(in)) || listen(lsock, 1))
		abort();
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair))
		abort();
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (devnull < 0 || udp < 0)
		abort();
	/*
	 * A write on a connection a rule reset or shut down raises SIGPIPE, as it
	 * would in any program; this one ignores it, as servers do.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* The listener of the per-input TCP pair. */
	socklen_t alen = sizeof(tlisten_addr);

	tlisten = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tlisten < 0 || bind(tlisten, (struct sockaddr *)&in, sizeof(in)) ||
	    listen(tlisten, 4) || getsockname(tlisten, (struct sockaddr *)&tlisten_addr, &alen))
		abort();
	/* Every DNS question to 127.0.0.1:1, where nothing listens. */
	res_init();
	_res.nscount = 1;
	_res.nsaddr_list[0] = in;
	_res.nsaddr_list[0].sin_port = htons(1);
	_res.retrans = 1;
	_res.retry = 1;
#ifdef RES_NORELOAD
	_res.options |= RES_NORELOAD;
#endif
	return 0;
}

/*
 * A connected TCP pair on loopback, both ends non-blocking (set up with the
 * real calls). Closed with SO_LINGER {1, 0}: a reset, no TIME_WAIT, so that
 * millions of inputs do not run out of ports. false if it could not be made.
 */
static bool tcp_open(void)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	int one = 1;

	tcp[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp[0] < 0 ||
	    fl_real.connect(tcp[0], (struct sockaddr *)&tlisten_addr, sizeof(tlisten_addr)))
		return false;
	tcp[1] = fl_real.accept4(tlisten, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (tcp[1] < 0 || fcntl(tcp[0], F_SETFL, O_NONBLOCK))
		return false;
	for (int i = 0; i < 2; i++)
		setsockopt(tcp[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	setsockopt(tcp[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Something to read on both ends. */
	(void)fl_real.send(tcp[0], "hello", 5, MSG_DONTWAIT);
	(void)fl_real.send(tcp[1], "world", 5, MSG_DONTWAIT);
	return true;
}

static void tcp_close(void)
{
	for (int i = 0; i < 2; i++)
		if (tcp[i] >= 0)
			fl_real.close(tcp[i]);
	tcp[0] = tcp[1] = -1;
}

/* A loopback address of the family and length ctl asks for, in an exact-size buffer. */
static struct sockaddr *mkaddr(const uint8_t *ctl, socklen_t *len)
{
	struct sockaddr_storage ss;
	unsigned char *p;

	memset(&ss, 0, sizeof(ss));
	switch (ctl[3] & 3) {
	case 0: {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)(ctl[4] << 8 | ctl[5]));
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*in);
		break;
	}
	case 1: {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)(ctl[4] << 8 | ctl[5]));
		in6->sin6_addr = in6addr_loopback;
		*len = sizeof(*in6);
		break;
	}
	case 2: {
		/* IPv4-mapped ::ffff:127.0.0.1 */
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)(ctl[4] << 8 | ctl[5]));
		in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
		in6->sin6_addr.s6_addr[12] = 127;
		in6->sin6_addr.s6_addr[15] = 1;
		*len = sizeof(*in6);
		break;
	}
	default:
		ss.ss_family = (sa_family_t)(ctl[4] & 0x1f);
		*len = 0;
		break;
	}
	/* A short length is the application's to give; the shim must cope. */
	if (ctl[3] & 4)
		*len = (socklen_t)(ctl[6] % (*len + 1));
	p = malloc(*len ? *len : 1);
	if (p)
		memcpy(p, &ss, *len);
	return (struct sockaddr *)p;
}

static void call(const uint8_t *ctl)
{
	const char *s = str[ctl[2] % NSTR];
	size_t n = ctl[6];
	int cnt = (int)(ctl[1] % 80) - 8; /* some negative */
	struct iovec *iov = NULL;
	struct sockaddr *sa = NULL;
	struct sockaddr_storage from;
	socklen_t salen = 0, fromlen = sizeof(from);
	struct msghdr m;
	struct addrinfo hints, *res = NULL;
	int fd;

	if (cnt > 0) {
		iov = calloc((size_t)cnt, sizeof(*iov));
		if (!iov)
			return;
		for (int i = 0; i < cnt; i++) {
			iov[i].iov_base = scratch;
			iov[i].iov_len = (size_t)((ctl[7] + i) % 64);
		}
	}
	memset(&m, 0, sizeof(m));
	switch (ctl[0] % 40) {
	case 0:
		(void)fl_hook_read(devnull, scratch, n);
		break;
	case 1:
		(void)fl_hook_write(devnull, scratch, n);
		break;
	case 2:
		(void)fl_hook_pread(devnull, scratch, n, 0);
		break;
	case 3:
		(void)fl_hook_pwrite64(devnull, scratch, n, 0);
		break;
	case 4:
		(void)fl_hook_readv(devnull, iov, cnt);
		break;
	case 5:
		(void)fl_hook_writev(devnull, iov, cnt);
		break;
	case 6:
		fd = fl_hook_open(s, O_RDONLY | O_CLOEXEC | (ctl[7] & 1 ? O_DIRECTORY : 0));
		if (fd >= 0)
			fl_real.close(fd);
		break;
	case 7:
		fd = fl_hook_openat(AT_FDCWD, s, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			fl_real.close(fd);
		break;
	case 8:
		fd = dup(ctl[7] & 1 ? devnull : udp);
		if (fd >= 0 && fl_hook_close(fd) < 0)
			fl_real.close(fd); /* failed by a rule: still ours */
		break;
	case 9:
		(void)fl_hook_fsync(devnull);
		break;
	case 10:
		(void)fl_hook_fdatasync(devnull);
		break;
	case 11:
		/* UDP connect to loopback: no packet leaves; AF_UNSPEC undoes it. */
		sa = mkaddr(ctl, &salen);
		(void)fl_hook_connect(udp, sa, salen);
		break;
	case 12:
		(void)fl_hook_accept(lsock, (struct sockaddr *)&from, &fromlen);
		break;
	case 13:
		fd = fl_hook_accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			fl_real.close(fd);
		break;
	case 14:
		(void)fl_hook_send(pair[0], scratch, n, MSG_DONTWAIT);
		break;
	case 15:
		sa = mkaddr(ctl, &salen);
		(void)fl_hook_sendto(pair[0], scratch, n, MSG_DONTWAIT, sa, salen);
		break;
	case 16:
		sa = mkaddr(ctl, &salen);
		m.msg_name = sa;
		m.msg_namelen = salen;
		m.msg_iov = iov;
		m.msg_iovlen = cnt > 0 ? (size_t)cnt : 0;
		(void)fl_hook_sendmsg(pair[0], &m, MSG_DONTWAIT);
		break;
	case 17:
		(void)fl_hook_recv(pair[1], scratch, n, MSG_DONTWAIT);
		break;
	case 18:
		(void)fl_hook_recvfrom(pair[1], scratch, n, MSG_DONTWAIT, (struct sockaddr *)&from,
				       &fromlen);
		break;
	case 19:
		m.msg_iov = iov;
		m.msg_iovlen = cnt > 0 ? (size_t)cnt : 0;
		(void)fl_hook_recvmsg(pair[1], &m, MSG_DONTWAIT);
		break;
	case 20:
		/* Numeric only: no resolver traffic. */
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		if (fl_hook_getaddrinfo(s, "80", &hints, &res) == 0)
			freeaddrinfo(res);
		break;
	case 21:
		(void)fl_hook___read_chk(devnull, scratch, n, sizeof(scratch));
		break;
	case 22:
		(void)fl_hook___recvfrom_chk(pair[1], scratch, n, sizeof(scratch), MSG_DONTWAIT,
					     NULL, NULL);
		break;
	case 23:
		fd = fl_hook___openat_2(AT_FDCWD, s, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			fl_real.close(fd);
		break;
	case 24: {
		struct timespec ts;

		/* Any id, the CPU and dynamic ones (negative) too. */
		(void)fl_hook_clock_gettime((clockid_t)ctl[7] - 16, &ts);
		break;
	}
	case 25: {
		struct timeval tv;

		(void)fl_hook_gettimeofday(&tv, NULL);
		break;
	}
	case 26:
		(void)fl_hook_time(ctl[7] & 1 ? NULL : &(time_t){0});
		break;
	case 27: {
		struct timespec ts;

		(void)fl_hook_timespec_get(&ts, ctl[7] & 1 ? TIME_UTC : ctl[7]);
		break;
	}
	case 28: {
		struct timespec ts = {0, 0};
		struct fl_shm_table *t = &fl_area.t;

		for (unsigned i = 0; i < FL_SHM_RULES_MAX; i++)
			if (t->rules[i].offset_ns < 0)
				t->rules[i].offset_ns = -(t->rules[i].offset_ns + 1);
		(void)fl_hook_clock_nanosleep(ctl[7] & 1 ? CLOCK_REALTIME : CLOCK_MONOTONIC,
					      TIMER_ABSTIME, &ts, NULL);
		break;
	}
	case 29:
		/* Names /etc/hosts has, or addresses: no DNS even if nothing answers them. */
		(void)fl_hook_gethostbyname(str[4 + ctl[2] % 4]);
		break;
	case 30:
		(void)fl_hook_gethostbyname2(str[4 + ctl[2] % 4], ctl[7] & 1 ? AF_INET6 : AF_INET);
		break;
	case 31:
	case 32: {
		struct hostent he, *res2 = NULL;
		char *buf = malloc(n ? n : 1);
		int herr = 0;

		if (!buf)
			break;
		if (ctl[0] % 40 == 31)
			(void)fl_hook_gethostbyname_r(str[4 + ctl[2] % 4], &he, buf, n, &res2,
						      &herr);
		else
			(void)fl_hook_gethostbyname2_r(str[4 + ctl[2] % 4],
						       ctl[7] & 1 ? AF_INET6 : AF_INET, &he, buf, n,
						       &res2, &herr);
		free(buf);
		break;
	}
	case 33:
	case 34:
	case 35: {
		unsigned char *ans = malloc(n ? n : 1);

		if (!ans)
			break;
		if (ctl[0] % 40 == 33)
			(void)fl_hook_res_query(s, ns_c_in, ctl[7] % 3 ? ns_t_a : ns_t_aaaa, ans,
						(int)n);
		else if (ctl[0] % 40 == 34)
			(void)fl_hook___res_search(s, ns_c_in, ctl[7], ans, (int)n);
		else
			(void)fl_hook_res_querydomain(s, ctl[7] & 1 ? "fl.test" : NULL, ns_c_in,
						      ns_t_a, ans, (int)n);
		free(ans);
		break;
	}
	case 36:
		(void)fl_hook_shutdown(tcp[ctl[1] & 1], ctl[7] % 3);
		break;
	case 37: {
		struct pollfd p[2] = {{tcp[0], POLLIN, 0}, {tcp[1], POLLIN | POLLOUT, 0}};
		fd_set rs;

		FD_ZERO(&rs);
		FD_SET(tcp[0], &rs);
		if (ctl[7] & 1)
			(void)fl_hook_poll(p, 2, 0);
		else
			(void)fl_hook_select(tcp[0] + 1, &rs, NULL, NULL, &(struct timeval){0, 0});
		break;
	}
	case 38: {
		/* The data calls stream rules act on, on a real connection. */
		int f = tcp[ctl[1] & 1];
		struct iovec v[2] = {{scratch, n / 2}, {scratch + n / 2, n - n / 2}};

		m.msg_iov = v;
		m.msg_iovlen = 2;
		switch (ctl[7] % 8) {
		case 0:
			(void)fl_hook_read(f, scratch, n);
			break;
		case 1:
			(void)fl_hook_write(f, scratch, n);
			break;
		case 2:
			(void)fl_hook_recv(f, scratch, n, MSG_DONTWAIT);
			break;
		case 3:
			(void)fl_hook_send(f, scratch, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case 4:
			(void)fl_hook_readv(f, v, 2);
			break;
		case 5:
			(void)fl_hook_writev(f, v, 2);
			break;
		case 6:
			(void)fl_hook_recvmsg(f, &m, MSG_DONTWAIT);
			break;
		default:
			(void)fl_hook_sendmsg(f, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		}
		break;
	}
	default: {
		/* close of a connection (reset_peer, slow_close); the pair is made again. */
		int f = tcp[ctl[1] & 1];

		tcp[ctl[1] & 1] = -1;
		if (f >= 0 && fl_hook_close(f) < 0)
			fl_real.close(f);
		break;
	}
	}
	free(sa);
	free(iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_shm_table *t = &fl_area.t;
	uint8_t ctl[16] = {0};
	size_t nt;

	memcpy(ctl, data, size < sizeof(ctl) ? size : sizeof(ctl));
	nt = size > sizeof(ctl) ? size - sizeof(ctl) : 0;
	if (nt > sizeof(fl_area.bytes))
		nt = sizeof(fl_area.bytes);
	memset(fl_area.bytes, 0, sizeof(*t));
	memcpy(fl_area.bytes, data + sizeof(ctl), nt);
	for (unsigned i = 0; i < FL_SHM_RULES_MAX; i++) {
		struct fl_shm_rule *r = &t->rules[i];

		r->flags &= ~(uint32_t)FL_RULE_DELAY;
		if (r->kind == FL_KIND_DNS)
			r->after_ns = 0;
		if (r->rate && r->rate < (1ULL << 40))
			r->rate = 1ULL << 40;
	}
	/* The table is ours, written (the hit counters) like the shim's own mapping. */
	fl_can_count = true;
	if (!tcp_open()) {
		tcp_close();
		return 0;
	}
	/* Twice: a second call sees the per-rule call counters of the first. */
	call(ctl);
	call(ctl);
	/* An event loop's tick: a wait with nothing to wait for meets the after= deadlines. */
	(void)fl_hook_poll(NULL, 0, 0);
	tcp_close();
	/* Drain what a send left in the pair. */
	while (fl_real.recv(pair[1], scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	return 0;
}
