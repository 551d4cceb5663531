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
 * The only liberty taken with the table: FL_RULE_DELAY is cleared in every
 * rule, so a hostile delay does not stall the fuzzer (fl_sleep_ns is trivial).
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
static int devnull = -1, lsock = -1, pair[2] = {-1, -1}, udp = -1;
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
	return 0;
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
	switch (ctl[0] % 24) {
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
	default:
		fd = fl_hook___openat_2(AT_FDCWD, s, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			fl_real.close(fd);
		break;
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
	for (unsigned i = 0; i < FL_SHM_RULES_MAX; i++)
		t->rules[i].flags &= ~(uint32_t)FL_RULE_DELAY;
	/* Twice: a second call sees the per-rule call counters of the first. */
	call(ctl);
	call(ctl);
	/* Drain what a send left in the pair. */
	while (fl_real.recv(pair[1], scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	return 0;
}
