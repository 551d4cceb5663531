/*
 * Agent benchmark: real faultline-agents on TCP loopback, real faults (a
 * pause of a sleeping child, then its revert), driven by the controller's own
 * agent client (libcurl, kept-alive connections).
 *
 *  1. latency: controller -> agent -> applied -> ack for POST /v1/faults (the
 *     201 comes after the journal write and the SIGSTOP took effect) and for
 *     DELETE (revert), p50/p99, against GET /v1/health on the same connection
 *     as the baseline (ratio = fault / health).
 *  2. fan-out: apply + revert across N agents at once (libcurl multi), for
 *     N = 1, 10, 100, 1000 (each agent pauses its own child), p50/p99 per
 *     round, the cost per agent (p50 / N) and how far from linear the curve
 *     is; then the memory: the bench's own (it is the controller here: the
 *     controller's agent client and one call per agent) and the agents'.
 *
 * usage: bench_agent [--agent PATH] [--iterations N] [--rounds R]
 *                    [--fanout 1,10,100,1000] [--state-base DIR]
 * All the agents are started at once and each checked with GET /v1/health;
 * the open-file limit is raised to its hard limit (a connection per agent).
 * The journal lives under --state-base: by default /dev/shm (tmpfs), where
 * the shipped configurations keep it (the systemd unit uses /run, the
 * embedded agent XDG_RUNTIME_DIR or /dev/shm); --state-base /tmp puts it on
 * disk, where the two fsyncs per apply dominate the latency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dirent.h>

#include "controller/agent_client.h"

#define MAX_AGENTS 4096

struct bagent {
	pid_t pid;
	pid_t child;
	bool up;
	char dir[128];
	struct fl_agent_ep ep;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_d);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror(path);
		close(fd);
	}
}

static int spawn_agent(struct bagent *a, const char *bin, const char *base)
{
	char tok[200], state[200], cfg[200], log[200], listen[64], addr[80], token[65];
	unsigned char raw[32];
	struct fl_error err;
	int port = free_port(), fd;

	snprintf(a->dir, sizeof(a->dir), "%s/fl-bench-XXXXXX", base);
	if (!mkdtemp(a->dir) || port < 0)
		return -1;
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		return -1;
	close(fd);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	snprintf(tok, sizeof(tok), "%s/token", a->dir);
	snprintf(state, sizeof(state), "%s/state", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/config.json", a->dir);
	snprintf(log, sizeof(log), "%s/agent.log", a->dir);
	write_file(tok, token, 0600);
	/* The benchmark must not be throttled by the default per-client rate limit. */
	write_file(cfg, "{\"limits\":{\"rate_per_second\":1000000,\"rate_burst\":1000000}}", 0600);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	a->pid = fork();
	if (a->pid == 0) {
		int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (lf >= 0)
			dup2(lf, 2);
		execl(bin, bin, "--listen", listen, "--token-file", tok, "--state-dir", state,
		      "--config", cfg, "--log-level", "warn", (char *)NULL);
		_exit(127);
	}
	snprintf(addr, sizeof(addr), "http://%s", listen);
	if (fl_agent_ep_parse(addr, &a->ep, &err) < 0)
		return -1;
	a->ep.token = strdup(token);
	a->child = spawn_sleeper();
	return 0;
}

static void stop_agent(struct bagent *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		waitpid(a->pid, NULL, 0);
	}
	if (a->child > 0) {
		kill(a->child, SIGKILL);
		waitpid(a->child, NULL, 0);
	}
	fl_agent_ep_done(&a->ep);
	/* Only our own temp dir, by its exact name. */
	{
		static const char *const f[] = {"token", "config.json", "agent.log",
						"state/agent.lock"};
		char p[256];

		for (size_t i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/%s", a->dir, f[i]);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/state/faults", a->dir);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/state", a->dir);
		rmdir(p);
		rmdir(a->dir);
	}
}

/*
 * Wait until agents [0, n) answer an authenticated GET /v1/faults, all asked
 * at once. A port that free_port() found free can be taken by someone else
 * before the agent binds it: an agent that exited, or a port that answers
 * 401 (not our token), is started again on another port.
 */
static int wait_agents(struct fl_agent_client *c, struct bagent *ag, size_t n, const char *bin,
		       const char *base)
{
	struct fl_agent_call *calls = calloc(n, sizeof(*calls));
	size_t *idx = calloc(n, sizeof(*idx)), k = n;
	double end = now_ms() + 120000;

	if (!calls || !idx) {
		free(calls);
		free(idx);
		return -1;
	}
	while (now_ms() < end) {
		k = 0;
		for (size_t i = 0; i < n; i++) {
			if (ag[i].up)
				continue;
			memset(&calls[k], 0, sizeof(calls[k]));
			calls[k].ep = &ag[i].ep;
			calls[k].method = "GET";
			snprintf(calls[k].path, sizeof(calls[k].path), "/v1/faults");
			idx[k++] = i;
		}
		if (!k)
			break;
		if (fl_agent_client_run(c, calls, k, 5000) < 0)
			usleep(20000); /* a transport error: retry below */
		for (size_t j = 0; j < k; j++) {
			struct bagent *a = &ag[idx[j]];
			long st = calls[j].status;

			fl_agent_call_done(&calls[j]);
			a->up = st == 200;
			if (a->up || (st != 401 && waitpid(a->pid, NULL, WNOHANG) != a->pid))
				continue;
			if (st != 401)
				a->pid = 0; /* exited, reaped */
			stop_agent(a);
			memset(a, 0, sizeof(*a));
			if (spawn_agent(a, bin, base) < 0)
				goto out;
		}
		usleep(20000);
	}
out:
	free(calls);
	free(idx);
	return k ? -1 : 0;
}

/* Apply (pause of the agent's child) on agents [0, n), then revert; ms for each half. */
static int round_trip(struct fl_agent_client *c, struct bagent *ag, size_t n, unsigned seq,
		      double *apply_ms, double *revert_ms)
{
	struct fl_agent_call *calls = calloc(n, sizeof(*calls));
	char(*bodies)[192] = calloc(n, sizeof(*bodies));
	double t0, t1, t2;
	int bad = 0;

	if (!calls || !bodies) {
		bad = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(bodies[i], sizeof(bodies[i]),
			 "{\"id\":\"b%u\",\"experiment\":\"bench\",\"kind\":\"pause\","
			 "\"target\":{\"pid\":%d},\"ttl_ms\":30000}",
			 seq, ag[i].child);
		calls[i].ep = &ag[i].ep;
		calls[i].method = "POST";
		calls[i].body = bodies[i];
		snprintf(calls[i].path, sizeof(calls[i].path), "/v1/faults");
	}
	t0 = now_ms();
	if (fl_agent_client_run(c, calls, n, 10000) < 0) {
		bad = 1;
		goto out;
	}
	t1 = now_ms();
	for (size_t i = 0; i < n; i++) {
		if (calls[i].status != 201) {
			fprintf(stderr, "apply on agent %zu: HTTP %ld %s %s\n", i, calls[i].status,
				calls[i].resp ? calls[i].resp : "", calls[i].transport_error);
			bad = 1;
		}
		fl_agent_call_done(&calls[i]);
		calls[i].method = "DELETE";
		calls[i].body = NULL;
		snprintf(calls[i].path, sizeof(calls[i].path), "/v1/faults/b%u", seq);
	}
	if (fl_agent_client_run(c, calls, n, 10000) < 0) {
		bad = 1;
		goto out;
	}
	t2 = now_ms();
	for (size_t i = 0; i < n; i++) {
		if (calls[i].status != 200) {
			fprintf(stderr, "revert on agent %zu: HTTP %ld %s %s\n", i, calls[i].status,
				calls[i].resp ? calls[i].resp : "", calls[i].transport_error);
			bad = 1;
		}
		fl_agent_call_done(&calls[i]);
	}
	*apply_ms = t1 - t0;
	*revert_ms = t2 - t1;
out:
	free(calls);
	free(bodies);
	return bad ? -1 : 0;
}

/* CPU time of agents [0, n), all their threads (schedstat: ns on a CPU), in ms. */
static double agents_cpu_ms(const struct bagent *ag, size_t n)
{
	double ns = 0;

	for (size_t i = 0; i < n; i++) {
		char path[96], line[128];
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)ag[i].pid);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			FILE *f;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat",
				 (int)ag[i].pid, de->d_name);
			f = fopen(path, "re");
			if (f && fgets(line, sizeof(line), f))
				ns += strtod(line, NULL);
			if (f)
				fclose(f);
		}
		closedir(d);
	}
	return ns / 1e6;
}

static double self_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* kB of a /proc status field ("VmRSS:", "VmHWM:") or of smaps_rollup ("Pss:"). */
static long proc_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			v = atol(line + strlen(key));
			break;
		}
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"agent", required_argument, NULL, 'a'},
	    {"iterations", required_argument, NULL, 'i'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"fanout", required_argument, NULL, 'f'},
	    {"state-base", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	char bin[PATH_MAX] = "", fanout[128] = "1,10,100,1000";
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int iters = 1000, rounds = 30, o, rc = 1;
	struct bagent *ag = NULL;
	long rss0 = 0;
	size_t started = 0, want = 0;
	size_t ns[16], n_ns = 0;
	struct fl_agent_client *c;
	double *health = NULL, *apply = NULL, *revert = NULL;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
			snprintf(bin, sizeof(bin), "%s", optarg);
			break;
		case 'i':
			iters = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'f':
			snprintf(fanout, sizeof(fanout), "%s", optarg);
			break;
		case 's':
			base = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: bench_agent [--agent PATH] [--iterations N] "
				"[--rounds R] [--fanout 1,10,100,1000] [--state-base DIR]\n");
			return 2;
		}
	}
	if (!bin[0]) {
		char self[PATH_MAX];
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (k > 0) {
			self[k] = '\0';
			snprintf(bin, sizeof(bin), "%.4000s/../../agent/faultline-agent",
				 dirname(self));
		}
	}
	if (access(bin, X_OK) < 0) {
		printf("SKIPPED: no faultline-agent at %s (use --agent)\n", bin);
		return 77;
	}
	for (char *tok = strtok(fanout, ","); tok && n_ns < 16; tok = strtok(NULL, ",")) {
		ns[n_ns] = (size_t)atoi(tok);
		if (ns[n_ns] < 1 || ns[n_ns] > MAX_AGENTS) {
			fprintf(stderr, "fan-out sizes are 1..%d\n", MAX_AGENTS);
			return 2;
		}
		if (ns[n_ns] > want)
			want = ns[n_ns];
		n_ns++;
	}
	if (iters < 10 || rounds < 1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	{
		/* A connection per agent, and each agent's pipes: more than 1024 fds. */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	curl_global_init(CURL_GLOBAL_ALL);
	c = fl_agent_client_new();
	ag = calloc(want, sizeof(*ag));
	if (!c || !ag)
		goto out;
	rss0 = proc_kb(getpid(), "status", "VmRSS:");
	{
		double t0 = now_ms();

		for (; started < want; started++)
			if (spawn_agent(&ag[started], bin, base) < 0) {
				fprintf(stderr, "cannot start agent %zu\n", started);
				goto out;
			}
		if (wait_agents(c, ag, want, bin, base) < 0) {
			fprintf(stderr, "not every agent answered within 120 s\n");
			goto out;
		}
		printf("%zu agents started and answering in %.0f ms\n", want, now_ms() - t0);
	}
	health = calloc((size_t)iters, sizeof(double));
	apply = calloc((size_t)(iters > rounds ? iters : rounds), sizeof(double));
	revert = calloc((size_t)(iters > rounds ? iters : rounds), sizeof(double));
	if (!health || !apply || !revert)
		goto out;

	/* 1. latency on one agent; warm the connection first. */
	{
		struct fl_agent_call call;
		unsigned seq = 0;
		double hp50, ap50;

		memset(&call, 0, sizeof(call));
		call.ep = &ag[0].ep;
		call.method = "GET";
		snprintf(call.path, sizeof(call.path), "/v1/health");
		for (int i = 0; i < 50; i++) {
			double a, r;

			if (fl_agent_client_run(c, &call, 1, 5000) < 0 ||
			    round_trip(c, ag, 1, seq++, &a, &r) < 0)
				goto out;
			fl_agent_call_done(&call);
		}
		for (int i = 0; i < iters; i++) {
			double t0 = now_ms();

			if (fl_agent_client_run(c, &call, 1, 5000) < 0 || call.status != 200)
				goto out;
			health[i] = now_ms() - t0;
			fl_agent_call_done(&call);
			if (round_trip(c, ag, 1, seq++, &apply[i], &revert[i]) < 0)
				goto out;
		}
		hp50 = pct(health, (size_t)iters, 50);
		ap50 = pct(apply, (size_t)iters, 50);
		printf("agent latency, loopback TCP, journal under %s, %d iterations:\n", base,
		       iters);
		printf("  baseline GET /v1/health        p50 %7.3f ms  p99 %7.3f ms\n", hp50,
		       pct(health, (size_t)iters, 99));
		printf("  apply pause (201 = applied)    p50 %7.3f ms  p99 %7.3f ms  ratio p50 "
		       "%.1fx baseline  [target p50 <= 1 ms: %s]\n",
		       ap50, pct(apply, (size_t)iters, 99), ap50 / hp50,
		       ap50 <= 1.0 ? "met" : "MISSED");
		printf("  revert (200 = resumed)         p50 %7.3f ms  p99 %7.3f ms  ratio p50 "
		       "%.1fx baseline\n",
		       pct(revert, (size_t)iters, 50), pct(revert, (size_t)iters, 99),
		       pct(revert, (size_t)iters, 50) / hp50);
	}
	/* 2. fan-out */
	{
		double base1 = 0, per100 = 0;
		unsigned seq = 100000;

		printf("fan-out apply+revert across N agents (libcurl multi), %d rounds:\n",
		       rounds);
		for (size_t k = 0; k < n_ns; k++) {
			double p50, p99, cpu_a = agents_cpu_ms(ag, ns[k]), cpu_c = self_cpu_ms();
			double floor_ms;
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			const char *target = "";

			for (int r = 0; r < rounds; r++) {
				double a, v;

				if (round_trip(c, ag, ns[k], seq++, &a, &v) < 0)
					goto out;
				apply[r] = a + v;
			}
			cpu_a = (agents_cpu_ms(ag, ns[k]) - cpu_a) / rounds;
			cpu_c = (self_cpu_ms() - cpu_c) / rounds;
			/* The CPU one round used, spread over every CPU: no schedule beats it. */
			floor_ms = (cpu_a + cpu_c) / (double)(ncpu > 0 ? ncpu : 1);
			p50 = pct(apply, (size_t)rounds, 50);
			p99 = pct(apply, (size_t)rounds, 99);
			if (k == 0)
				base1 = p50;
			if (ns[k] == 100) {
				per100 = p50 / 100;
				target = p50 <= 50.0 ? "  [target <= 50 ms: met]"
						     : "  [target <= 50 ms: MISSED]";
			} else if (ns[k] == 1000) {
				target = p50 <= 500.0 ? "  [target <= 500 ms: met]"
						      : "  [target <= 500 ms: MISSED]";
			}
			printf("  N=%-4zu apply+revert  p50 %9.3f ms  p99 %9.3f ms  per agent %.3f "
			       "ms  ratio p50 %.1fx N=%zu%s\n",
			       ns[k], p50, p99, p50 / (double)ns[k], p50 / base1, ns[0], target);
			printf("         CPU per round: agents %.3f ms (%.3f ms each), controller "
			       "%.3f ms "
			       "(%.3f ms per agent); CPU floor on %ld CPUs %.3f ms, p50 / floor "
			       "%.2f\n",
			       cpu_a, cpu_a / (double)ns[k], cpu_c, cpu_c / (double)ns[k], ncpu,
			       floor_ms, p50 / floor_ms);
			if (ns[k] > 100 && per100 > 0)
				printf("         linearity: p50 / (N x per-agent cost at N=100) = "
				       "%.2f\n",
				       p50 / ((double)ns[k] * per100));
		}
	}
	/* 3. memory: this process is the controller (its agent client, a call per agent). */
	{
		long pss = 0, priv = 0, rss = 0;

		for (size_t i = 0; i < started; i++) {
			long v = proc_kb(ag[i].pid, "smaps_rollup", "Pss:");
			long a = proc_kb(ag[i].pid, "smaps_rollup", "Private_Clean:");
			long b = proc_kb(ag[i].pid, "smaps_rollup", "Private_Dirty:");

			pss += v > 0 ? v : 0;
			priv += (a > 0 ? a : 0) + (b > 0 ? b : 0);
			if (i == 0)
				rss = proc_kb(ag[i].pid, "status", "VmRSS:");
		}
		printf(
		    "memory: controller (this bench) VmRSS %ld kB before the agents, %ld kB now, "
		    "peak VmHWM %ld kB, with %zu agents\n",
		    rss0, proc_kb(getpid(), "status", "VmRSS:"),
		    proc_kb(getpid(), "status", "VmHWM:"), started);
		printf("        agents: %zu x (VmRSS %ld kB one); all together Pss %ld MB, private "
		       "%ld MB (%.0f kB private each)\n",
		       started, rss, pss / 1024, priv / 1024,
		       started ? (double)priv / (double)started : 0.0);
	}
	rc = 0;
out:
	/* SIGTERM every agent first, then reap them: they stop in parallel. */
	for (size_t i = 0; i < started; i++)
		if (ag[i].pid > 0)
			kill(ag[i].pid, SIGTERM);
	for (size_t i = 0; i < started; i++)
		stop_agent(&ag[i]);
	free(ag);
	free(health);
	free(apply);
	free(revert);
	fl_agent_client_free(c);
	curl_global_cleanup();
	return rc;
}
