/*
 * fl-dnstest: one resolver call and what came back, on one line, for the dns
 * rule tests. Reports go out through the raw write syscall.
 *
 * usage: fl-dnstest OP NAME [ARG...]
 *   gai NAME [4|6]              getaddrinfo: ret=<0 or EAI code> addrs=a,b
 *   ghbn NAME                   gethostbyname: ret=0|-1 herr=N addrs=...
 *   ghbn2 NAME 4|6              gethostbyname2
 *   ghbn_r NAME [BUFLEN]        gethostbyname_r: ret=<0 or errno> herr=N addrs=...
 *   ghbn2_r NAME 4|6 [BUFLEN]   gethostbyname2_r
 *   resq NAME [TYPE]            res_query (class IN, TYPE 1 = A by default):
 *                               ret=<length or -1> herr=N rcode=R an=N addrs=...
 *   ress NAME [TYPE]            res_search
 *   resqd NAME DOMAIN [TYPE]    res_querydomain
 *   resnq NAME [TYPE]           res_nquery on a state of its own
 *
 * With FL_DNS_PORT set, every question that does reach DNS goes to
 * 127.0.0.1 on that port (the test's own resolver), never elsewhere: the
 * resolver state of this thread is pointed there after res_init, and
 * getaddrinfo and gethostbyname use that state too.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void out(const char *s)
{
	syscall(SYS_write, 1, s, strlen(s));
}

static long now_ms(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void local_resolver(res_state st)
{
	const char *port = getenv("FL_DNS_PORT");
	struct sockaddr_in a = {.sin_family = AF_INET};

	if (!port)
		return;
	a.sin_port = htons((uint16_t)atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	st->nscount = 1;
	st->nsaddr_list[0] = a;
	st->retrans = 1;
	st->retry = 1;
	st->options &= ~(unsigned long)RES_ROTATE;
#ifdef RES_NORELOAD
	st->options |= RES_NORELOAD;
#endif
}

static void addrs(char *buf, size_t len, int fam, char **list)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; list && list[i] && n + INET6_ADDRSTRLEN + 2 < len; i++) {
		if (i)
			buf[n++] = ',';
		inet_ntop(fam, list[i], buf + n, (socklen_t)(len - n));
		n += strlen(buf + n);
	}
}

static int fam_of(const char *s)
{
	return s && !strcmp(s, "6") ? AF_INET6 : AF_INET;
}

/* rcode, answer count and the A/AAAA addresses of a DNS message. */
static void message(const unsigned char *m, int len, char *line, size_t l)
{
	ns_msg h;
	char a[256] = "";
	size_t n = 0;

	if (len < 12 || ns_initparse(m, len, &h) < 0) {
		snprintf(line, l, " rcode=? an=?");
		return;
	}
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		ns_rr rr;

		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) == ns_t_a || ns_rr_type(rr) == ns_t_aaaa) {
			if (n)
				a[n++] = ',';
			inet_ntop(ns_rr_type(rr) == ns_t_a ? AF_INET : AF_INET6, ns_rr_rdata(rr),
				  a + n, (socklen_t)(sizeof(a) - n));
			n += strlen(a + n);
		}
	}
	snprintf(line, l, " rcode=%d an=%d addrs=%s", ns_msg_getflag(h, ns_f_rcode),
		 ns_msg_count(h, ns_s_an), a);
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "", *name = argc > 2 ? argv[2] : NULL;
	char line[1024], list[512];
	long t0;

	if (argc < 3) {
		fprintf(stderr, "usage: fl-dnstest OP NAME [ARG...]\n");
		return 2;
	}
	res_init();
	local_resolver(&_res);
	t0 = now_ms();
	if (!strcmp(op, "gai")) {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		size_t n = 0;
		int r;

		hints.ai_family = argc > 3 ? fam_of(argv[3]) : AF_UNSPEC;
		r = getaddrinfo(name, "80", &hints, &res);
		list[0] = '\0';
		for (struct addrinfo *p = res; p && n + INET6_ADDRSTRLEN + 2 < sizeof(list);
		     p = p->ai_next) {
			const void *a =
			    p->ai_family == AF_INET
				? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
				: (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;

			if (n)
				list[n++] = ',';
			inet_ntop(p->ai_family, a, list + n, (socklen_t)(sizeof(list) - n));
			n += strlen(list + n);
		}
		if (res)
			freeaddrinfo(res);
		snprintf(line, sizeof(line), "gai ret=%d ms=%ld addrs=%s\n", r, now_ms() - t0,
			 list);
	} else if (!strcmp(op, "ghbn") || !strcmp(op, "ghbn2")) {
		int fam = op[4] ? fam_of(argc > 3 ? argv[3] : NULL) : AF_INET;
		struct hostent *h = op[4] ? gethostbyname2(name, fam) : gethostbyname(name);
		int herr = h_errno;

		addrs(list, sizeof(list), h ? h->h_addrtype : fam, h ? h->h_addr_list : NULL);
		snprintf(line, sizeof(line), "%s ret=%d herr=%d ms=%ld addrs=%s hname=%s\n", op,
			 h ? 0 : -1, h ? 0 : herr, now_ms() - t0, list, h ? h->h_name : "");
	} else if (!strcmp(op, "ghbn_r") || !strcmp(op, "ghbn2_r")) {
		bool two = !strcmp(op, "ghbn2_r");
		int fam = two ? fam_of(argc > 3 ? argv[3] : NULL) : AF_INET;
		size_t buflen = (size_t)atol(argc > (two ? 4 : 3) ? argv[two ? 4 : 3] : "1024");
		struct hostent he, *res = NULL;
		char *buf = malloc(buflen ? buflen : 1);
		int herr = 0, r;

		r = two ? gethostbyname2_r(name, fam, &he, buf, buflen, &res, &herr)
			: gethostbyname_r(name, &he, buf, buflen, &res, &herr);
		addrs(list, sizeof(list), res ? res->h_addrtype : fam,
		      res ? res->h_addr_list : NULL);
		snprintf(line, sizeof(line), "%s ret=%d herr=%d ms=%ld addrs=%s hname=%s\n", op, r,
			 res ? 0 : herr, now_ms() - t0, list, res ? res->h_name : "");
		free(buf);
	} else if (!strncmp(op, "res", 3)) {
		unsigned char m[1024];
		const char *dom = !strcmp(op, "resqd") && argc > 3 ? argv[3] : NULL;
		const char *ts = argc > (dom ? 4 : 3) ? argv[dom ? 4 : 3] : "1";
		int type = atoi(ts), r;
		struct __res_state st;
		char msg[400] = "";

		memset(m, 0, sizeof(m));
		if (!strcmp(op, "resq"))
			r = res_query(name, ns_c_in, type, m, sizeof(m));
		else if (!strcmp(op, "ress"))
			r = res_search(name, ns_c_in, type, m, sizeof(m));
		else if (!strcmp(op, "resqd"))
			r = res_querydomain(name, dom, ns_c_in, type, m, sizeof(m));
		else {
			memset(&st, 0, sizeof(st));
			res_ninit(&st);
			local_resolver(&st);
			r = res_nquery(&st, name, ns_c_in, type, m, sizeof(m));
		}
		/* A failed query leaves the answer it got (NXDOMAIN, SERVFAIL) in the buffer. */
		if (r > 0)
			message(m, r, msg, sizeof(msg));
		else if (m[2] & 0x80)
			snprintf(msg, sizeof(msg), " rcode=%d an=%d", m[3] & 0x0f,
				 m[6] << 8 | m[7]);
		snprintf(line, sizeof(line), "%s ret=%d herr=%d ms=%ld%s\n", op, r,
			 r < 0 ? h_errno : 0, now_ms() - t0, msg);
	} else {
		fprintf(stderr, "fl-dnstest: unknown op %s\n", op);
		return 2;
	}
	out(line);
	return 0;
}
