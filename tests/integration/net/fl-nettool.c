/*
 * fl-nettool: the measurements behind the network fault tests (no ping or
 * iperf needed on the host).
 *
 *   fl-nettool serve ADDR PORT           TCP echo/sink + UDP echo on PORT (runs until killed)
 *   fl-nettool rtt ADDR PORT N           median TCP round trip of N 1-byte echoes, in ms
 *   fl-nettool tput ADDR PORT SECS       send for SECS; print the receiver's bytes/s
 *   fl-nettool reach ADDR PORT MS        exit 0 if a TCP echo works within MS, else 1
 *   fl-nettool loss ADDR PORT N          send N UDP datagrams, print the lost share (0..1)
 *   fl-nettool udprecv ADDR PORT MS      count the UDP datagrams arriving on ADDR:PORT in MS
 *   fl-nettool udpsend ADDR PORT N       send N UDP datagrams (one-way: no reply expected)
 * ADDR is IPv4 or IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int fam;
};

static struct addr addr_of(const char *a, const char *port)
{
	struct addr r = {0};
	uint16_t p = htons((uint16_t)atoi(port));

	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&r.ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = p;
		r.len = sizeof(*s6);
		r.fam = AF_INET6;
		if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1)
			return r;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&r.ss;

		s4->sin_family = AF_INET;
		s4->sin_port = p;
		r.len = sizeof(*s4);
		r.fam = AF_INET;
		if (inet_pton(AF_INET, a, &s4->sin_addr) == 1)
			return r;
	}
	fprintf(stderr, "bad address %s\n", a);
	exit(2);
}

static int connect_to(struct addr sa, int timeout_ms)
{
	int fd = socket(sa.fam, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;
	socklen_t el = sizeof(e);
	struct pollfd p;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sa.ss, sa.len) < 0 && errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e)
		goto fail;
	fcntl(fd, F_SETFL, 0);
	return fd;
fail:
	close(fd);
	return -1;
}

static int read_full(int fd, void *b, size_t n, int timeout_ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, timeout_ms) != 1)
			return -1;
		r = read(fd, (char *)b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void serve_tcp(int c)
{
	char mode, buf[65536];
	uint64_t total = 0;
	double t0 = 0, t1;
	ssize_t n;

	if (read(c, &mode, 1) != 1)
		return;
	if (mode == 'E') { /* echo */
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				return;
		return;
	}
	/* sink: count until EOF, answer "bytes seconds" */
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		if (!total)
			t0 = now();
		total += (uint64_t)n;
	}
	t1 = now();
	n = snprintf(buf, sizeof(buf), "%llu %.6f\n", (unsigned long long)total, t1 - t0);
	if (write(c, buf, (size_t)n) != n)
		return;
}

static int serve(struct addr sa)
{
	int one = 1, l = socket(sa.fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int u = socket(sa.fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	signal(SIGCHLD, SIG_IGN);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || u < 0 || bind(l, (struct sockaddr *)&sa.ss, sa.len) < 0 || listen(l, 64) < 0 ||
	    bind(u, (struct sockaddr *)&sa.ss, sa.len) < 0) {
		perror("serve");
		return 1;
	}
	if (fork() == 0) { /* UDP echo; dies with the server */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char b[2048];
		struct sockaddr_storage from;
		socklen_t fl;
		ssize_t n;

		for (;;) {
			fl = sizeof(from);
			n = recvfrom(u, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
			if (n > 0)
				sendto(u, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	printf("serving\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			serve_tcp(c);
			_exit(0);
		}
		close(c);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int rtt(struct addr sa, int n)
{
	int fd = connect_to(sa, 5000);
	double *v = calloc((size_t)n, sizeof(double));
	char c = 'E';

	if (fd < 0 || !v || write(fd, &c, 1) != 1) {
		fprintf(stderr, "rtt: cannot connect\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		double t = now();

		c = 'x';
		if (write(fd, &c, 1) != 1 || read_full(fd, &c, 1, 10000) < 0) {
			fprintf(stderr, "rtt: echo failed\n");
			return 1;
		}
		v[i] = (now() - t) * 1000;
	}
	qsort(v, (size_t)n, sizeof(double), cmp);
	printf("%.3f\n", v[n / 2]);
	free(v);
	close(fd);
	return 0;
}

static int tput(struct addr sa, double secs)
{
	int fd = connect_to(sa, 5000);
	static char buf[65536];
	char c = 'S', ans[128] = "";
	unsigned long long bytes;
	double t, dur;

	if (fd < 0 || write(fd, &c, 1) != 1) {
		fprintf(stderr, "tput: cannot connect\n");
		return 1;
	}
	for (t = now(); now() - t < secs;)
		if (write(fd, buf, sizeof(buf)) < 0)
			return 1;
	shutdown(fd, SHUT_WR);
	if (read(fd, ans, sizeof(ans) - 1) <= 0 || sscanf(ans, "%llu %lf", &bytes, &dur) != 2 ||
	    dur <= 0) {
		fprintf(stderr, "tput: no answer\n");
		return 1;
	}
	printf("%.0f\n", (double)bytes / dur);
	return 0;
}

static int reach(struct addr sa, int ms)
{
	int fd = connect_to(sa, ms);
	char c = 'E';

	if (fd < 0)
		return 1;
	if (write(fd, &c, 1) != 1 || write(fd, "x", 1) != 1 || read_full(fd, &c, 1, ms) < 0)
		return 1;
	close(fd);
	return 0;
}

/*
 * Lost share of N datagrams echoed by `serve`. Sent in batches of 20, each
 * drained (until 50 ms pass without a reply) before the next: queues never
 * fill, so on a loaded machine the count is netem's loss, not the echo
 * server's receive buffer overflowing while it waits for a CPU.
 */
static int loss(struct addr sa, int n)
{
	int fd = socket(sa.fam, SOCK_DGRAM | SOCK_CLOEXEC, 0), got = 0;
	char *seen = calloc((size_t)n, 1);

	if (fd < 0 || !seen || connect(fd, (struct sockaddr *)&sa.ss, sa.len) < 0)
		return 1;
	for (int i = 0; i < n;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint32_t s;

		for (int b = 0; b < 20 && i < n; b++, i++) {
			s = (uint32_t)i;
			if (send(fd, &s, sizeof(s), 0) < 0 && errno != ECONNREFUSED)
				return 1;
		}
		while (poll(&p, 1, 50) == 1)
			if (recv(fd, &s, sizeof(s), 0) == sizeof(s) && s < (uint32_t)n &&
			    !seen[s]++)
				got++;
	}
	printf("%.4f\n", 1.0 - (double)got / n);
	free(seen);
	return 0;
}

/* Datagrams arriving on ADDR:PORT within `ms` (prints the count). */
static int udprecv(struct addr sa, int ms)
{
	int fd = socket(sa.fam, SOCK_DGRAM | SOCK_CLOEXEC, 0), got = 0;
	double end = now() + ms / 1000.0;
	char b[2048];

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa.ss, sa.len) < 0) {
		perror("udprecv");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (double t; (t = now()) < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, (int)((end - t) * 1000) + 1) == 1 && recv(fd, b, sizeof(b), 0) >= 0)
			got++;
	}
	printf("%d\n", got);
	return 0;
}

/* N datagrams to ADDR:PORT, 1 ms apart; nobody answers. */
static int udpsend(struct addr sa, int n)
{
	int fd = socket(sa.fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		/* a drop by a tc filter is reported as EPERM/ENOBUFS to the sender: keep going */
		(void)!sendto(fd, "x", 1, 0, (struct sockaddr *)&sa.ss, sa.len);
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(addr_of(argv[2], argv[3]));
	if (argc == 5 && !strcmp(argv[1], "rtt"))
		return rtt(addr_of(argv[2], argv[3]), atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
	if (argc == 5 && !strcmp(argv[1], "tput"))
		return tput(addr_of(argv[2], argv[3]), atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "reach"))
		return reach(addr_of(argv[2], argv[3]), atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "loss"))
		return loss(addr_of(argv[2], argv[3]), atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
	if (argc == 5 && !strcmp(argv[1], "udprecv"))
		return udprecv(addr_of(argv[2], argv[3]), atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "udpsend"))
		return udpsend(addr_of(argv[2], argv[3]), atoi(argv[4]));
	fprintf(stderr,
		"usage: fl-nettool serve|rtt|tput|reach|loss|udprecv|udpsend ADDR PORT [ARG]\n");
	return 2;
}
