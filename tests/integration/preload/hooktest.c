/*
 * A small program that makes one kind of hooked call and reports what libc
 * returned, for the table-driven shim tests. Reports go out through the raw
 * write syscall so a fault on write(2) cannot garble them:
 *
 *   <op> ret=<value> errno=<NAME|0> ms=<elapsed>
 *
 * usage: hooktest OP ARGS...
 *   read|pread|pread64|readv FILE [N [LEN]]     N calls on one descriptor
 *   write|pwrite|pwrite64|writev FILE [N [LEN]]
 *   open|open64|openat|openat64 PATH            O_RDONLY
 *   creat PATH                                  open(O_CREAT, 0640); reports the mode
 *   close|fsync|fdatasync FILE
 *   connect|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg PORT [N [LEN]]
 *   getaddrinfo HOST
 *   clocks                   one reading of every clock reader the shim skews, in ns:
 *                            rt= (clock_gettime REALTIME) coarse= tai= tod= (gettimeofday)
 *                            time= (time(), s) tsget= (timespec_get) mono= boot=
 *   abssleep MS              clock_nanosleep(REALTIME, TIMER_ABSTIME) until the
 *                            realtime reading + MS; ms= is what it took
 *   threads K OP ARGS...     run OP in K threads at once
 *   fork OP ARGS...          run OP in a forked child
 *   signal OP ARGS...        run OP inside a SIGUSR1 handler
 *   exec OP ARGS...          re-exec this program with OP (the environment carries the table)
 *   repeat N MS OP ARGS...   run OP N times, MS milliseconds apart
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char **g_argv0;

static void out(const char *s)
{
	size_t n = strlen(s);

	while (n) {
		long w = syscall(SYS_write, 1, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Elapsed time by the raw syscall: a time fault may skew the libc clocks. */
static long now_ms(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void report(const char *op, long ret, int err, long t0, const char *extra)
{
	char line[256];
	const char *name = ret < 0 ? strerrorname_np(err) : NULL;

	snprintf(line, sizeof(line), "%s ret=%ld errno=%s ms=%ld%s%s\n", op, ret, name ? name : "0",
		 now_ms() - t0, extra ? " " : "", extra ? extra : "");
	out(line);
}

static int raw_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0644);
}

/* A connected TCP pair on 127.0.0.1:port, set up with raw syscalls (not hooked). */
static int tcp_pair(int port, int *listener, int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*listener = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(*listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*listener, (struct sockaddr *)&a, sizeof(a)) || listen(*listener, 8))
		return -1;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (client && syscall(SYS_connect, *client, &a, sizeof(a)))
		return -1;
	if (server) {
		*server = (int)syscall(SYS_accept4, *listener, NULL, NULL, 0);
		if (*server < 0)
			return -1;
	}
	return 0;
}

static int run(int argc, char **argv);

static void *thread_main(void *arg)
{
	char **argv = arg;
	int argc = 0;

	while (argv[argc])
		argc++;
	run(argc, argv);
	return NULL;
}

static int sig_argc;
static char **sig_argv;

static void on_usr1(int sig)
{
	(void)sig;
	run(sig_argc, sig_argv);
}

static int run(int argc, char **argv)
{
	const char *op = argv[0];
	const char *arg = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 1;
	size_t len = argc > 3 ? (size_t)atol(argv[3]) : 64;
	char buf[4096], extra[64];
	long t0 = now_ms(), r;
	int fd, e;

	if (len > sizeof(buf))
		len = sizeof(buf);
	memset(buf, 'x', sizeof(buf));
	if (!strcmp(op, "read") || !strcmp(op, "pread") || !strcmp(op, "pread64") ||
	    !strcmp(op, "readv")) {
		fd = raw_open(arg, O_RDONLY);
		for (int i = 0; i < n; i++) {
			struct iovec v[2] = {{buf, len / 2}, {buf + len / 2, len - len / 2}};

			t0 = now_ms();
			if (!strcmp(op, "read"))
				r = read(fd, buf, len);
			else if (!strcmp(op, "pread"))
				r = pread(fd, buf, len, 0);
			else if (!strcmp(op, "pread64"))
				r = pread64(fd, buf, len, 0);
			else
				r = readv(fd, v, 2);
			report(op, r, errno, t0, NULL);
		}
		return 0;
	}
	if (!strcmp(op, "write") || !strcmp(op, "pwrite") || !strcmp(op, "pwrite64") ||
	    !strcmp(op, "writev")) {
		fd = raw_open(arg, O_WRONLY | O_CREAT | O_APPEND);
		for (int i = 0; i < n; i++) {
			struct iovec v[2] = {{buf, len / 2}, {buf + len / 2, len - len / 2}};

			t0 = now_ms();
			if (!strcmp(op, "write"))
				r = write(fd, buf, len);
			else if (!strcmp(op, "pwrite"))
				r = pwrite(fd, buf, len, 0);
			else if (!strcmp(op, "pwrite64"))
				r = pwrite64(fd, buf, len, 0);
			else
				r = writev(fd, v, 2);
			report(op, r, errno, t0, NULL);
		}
		return 0;
	}
	if (!strcmp(op, "open") || !strcmp(op, "open64") || !strcmp(op, "openat") ||
	    !strcmp(op, "openat64")) {
		if (!strcmp(op, "open"))
			r = open(arg, O_RDONLY);
		else if (!strcmp(op, "open64"))
			r = open64(arg, O_RDONLY);
		else if (!strcmp(op, "openat"))
			r = openat(AT_FDCWD, arg, O_RDONLY);
		else
			r = openat64(AT_FDCWD, arg, O_RDONLY);
		report(op, r >= 0 ? 0 : r, errno, t0, NULL);
		return 0;
	}
	if (!strcmp(op, "creat")) {
		struct stat st;

		umask(0);
		r = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		e = errno;
		snprintf(extra, sizeof(extra), "mode=%o",
			 r >= 0 && !fstat((int)r, &st) ? (unsigned)(st.st_mode & 07777) : 0u);
		report(op, r >= 0 ? 0 : r, e, t0, extra);
		return 0;
	}
	if (!strcmp(op, "close") || !strcmp(op, "fsync") || !strcmp(op, "fdatasync")) {
		fd = raw_open(arg, O_RDWR | O_CREAT);
		if (!strcmp(op, "close")) {
			r = close(fd);
			e = errno;
			/* The descriptor is gone either way (Linux semantics). */
			snprintf(extra, sizeof(extra), "closed=%d",
				 fcntl(fd, F_GETFD) < 0 && errno == EBADF);
			report(op, r, e, t0, extra);
			return 0;
		}
		r = !strcmp(op, "fsync") ? fsync(fd) : fdatasync(fd);
		report(op, r, errno, t0, NULL);
		return 0;
	}
	if (!strcmp(op, "connect") || !strcmp(op, "accept") || !strcmp(op, "accept4") ||
	    !strcmp(op, "send") || !strcmp(op, "sendto") || !strcmp(op, "sendmsg") ||
	    !strcmp(op, "recv") || !strcmp(op, "recvfrom") || !strcmp(op, "recvmsg")) {
		int port = atoi(arg), l = -1, c = -1, s = -1;
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (!strcmp(op, "connect")) {
			tcp_pair(port, &l, &c, NULL);
			close(c);
			c = socket(AF_INET, SOCK_STREAM, 0);
			t0 = now_ms();
			r = connect(c, (struct sockaddr *)&a, sizeof(a));
			report(op, r, errno, t0, NULL);
			return 0;
		}
		if (!strcmp(op, "accept") || !strcmp(op, "accept4")) {
			tcp_pair(port, &l, &c, NULL);
			t0 = now_ms();
			r = !strcmp(op, "accept") ? accept(l, NULL, NULL)
						  : accept4(l, NULL, NULL, 0);
			report(op, r >= 0 ? 0 : r, errno, t0, NULL);
			return 0;
		}
		if (tcp_pair(port, &l, &c, &s)) {
			report(op, -1, errno, t0, "setup=failed");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct iovec v[2] = {{buf, len / 2}, {buf + len / 2, len - len / 2}};
			struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};

			if (!strncmp(op, "recv", 4))
				syscall(SYS_write, s, buf, len);
			t0 = now_ms();
			if (!strcmp(op, "send"))
				r = send(c, buf, len, 0);
			else if (!strcmp(op, "sendto"))
				r = sendto(c, buf, len, 0, NULL, 0);
			else if (!strcmp(op, "sendmsg"))
				r = sendmsg(c, &m, 0);
			else if (!strcmp(op, "recv"))
				r = recv(c, buf, len, 0);
			else if (!strcmp(op, "recvfrom"))
				r = recvfrom(c, buf, len, 0, NULL, NULL);
			else
				r = recvmsg(c, &m, 0);
			report(op, r, errno, t0, NULL);
			/* Drain what a short recv left, so the next call starts clean. */
			if (!strncmp(op, "recv", 4) && r >= 0 && (size_t)r < len)
				syscall(SYS_recvfrom, c, buf, len - (size_t)r, MSG_DONTWAIT, NULL,
					NULL);
		}
		return 0;
	}
	if (!strcmp(op, "getaddrinfo")) {
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;
		char line[160];
		int g;

		errno = 0;
		g = getaddrinfo(arg, "80", &hints, &res);
		e = errno;
		snprintf(line, sizeof(line), "getaddrinfo ret=%d errno=%s ms=%ld\n", g,
			 g == 0		   ? "0"
			 : g == EAI_SYSTEM ? strerrorname_np(e)
					   : "gai",
			 now_ms() - t0);
		out(line);
		if (res)
			freeaddrinfo(res);
		return 0;
	}
	if (!strcmp(op, "clocks")) {
		struct timespec rt, co, tai, mono, boot, tg;
		struct timeval tv;
		char line[400];
		time_t t;
		int b;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_REALTIME_COARSE, &co);
		clock_gettime(CLOCK_TAI, &tai);
		gettimeofday(&tv, NULL);
		t = time(NULL);
		b = timespec_get(&tg, TIME_UTC);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_BOOTTIME, &boot);
#define NS(ts) ((long long)(ts).tv_sec * 1000000000LL + (ts).tv_nsec)
		snprintf(
		    line, sizeof(line),
		    "clocks ret=0 errno=0 ms=0 rt=%lld coarse=%lld tai=%lld tod=%lld time=%lld "
		    "tsget=%lld mono=%lld boot=%lld\n",
		    NS(rt), NS(co), NS(tai),
		    (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL, (long long)t,
		    b == TIME_UTC ? NS(tg) : -1LL, NS(mono), NS(boot));
#undef NS
		out(line);
		return 0;
	}
	if (!strcmp(op, "abssleep")) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += atol(arg) / 1000;
		ts.tv_nsec += (atol(arg) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_nsec -= 1000000000L;
			ts.tv_sec++;
		}
		t0 = now_ms();
		e = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
		report(op, e ? -1 : 0, e, t0, NULL);
		return 0;
	}
	if (!strcmp(op, "threads") && argc > 2) {
		int k = atoi(arg);
		pthread_t t[64];

		if (k > 64)
			k = 64;
		for (int i = 0; i < k; i++)
			pthread_create(&t[i], NULL, thread_main, argv + 2);
		for (int i = 0; i < k; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (!strcmp(op, "fork") && argc > 1) {
		pid_t pid = fork();
		int st;

		if (pid == 0)
			_exit(run(argc - 1, argv + 1));
		waitpid(pid, &st, 0);
		return 0;
	}
	if (!strcmp(op, "signal") && argc > 1) {
		struct sigaction sa = {.sa_handler = on_usr1};

		sig_argc = argc - 1;
		sig_argv = argv + 1;
		sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
		return 0;
	}
	if (!strcmp(op, "exec") && argc > 1) {
		argv[0] = g_argv0[0];
		execv("/proc/self/exe", argv);
		report("exec", -1, errno, t0, NULL);
		return 1;
	}
	if (!strcmp(op, "repeat") && argc > 3) {
		int times = atoi(arg), ms = atoi(argv[2]);

		for (int i = 0; i < times; i++) {
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

			run(argc - 3, argv + 3);
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	fprintf(stderr, "hooktest: unknown op %s\n", op);
	return 2;
}

int main(int argc, char **argv)
{
	g_argv0 = argv;
	if (argc < 2) {
		fprintf(stderr, "usage: hooktest OP ARGS...\n");
		return 2;
	}
	return run(argc - 1, argv + 1);
}
