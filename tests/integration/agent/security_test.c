/*
 * Least privilege and the agent's policy, against a real faultline-agent
 * (docs/security.md): the token file's mode, the capabilities left after
 * start, plain HTTP off loopback, and one case per policy rule -- PID 1, the
 * agent itself, its parent, the allow-list, another network namespace, path
 * traversal -- each refused with its status and field, with nothing applied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define CAP_DAC_OVERRIDE 1
#define CAP_FOWNER	 3
#define CAP_KILL	 5
#define CAP_SETPCAP	 8
#define CAP_NET_ADMIN	 12
#define CAP_SYS_PTRACE	 19
#define CAP_SYS_ADMIN	 21
#define CAP_SYS_TIME	 25

/* The set docs/security.md documents. */
static const unsigned long long kept_mask = (1ULL << CAP_KILL) | (1ULL << CAP_NET_ADMIN) |
					    (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_SYS_PTRACE) |
					    (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER);
/* ... and one held permitted only: a launched command's time namespace (the time kind). */
static const unsigned long long held_mask = 1ULL << CAP_SYS_TIME;

static const char *bin;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The output of a shell command (first 4 KiB), or "". */
static void sh_out(char *buf, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(buf, 1, len - 1, p) : 0;

	buf[n] = '\0';
	if (p)
		pclose(p);
}

static bool file_has(const char *path, const char *needle)
{
	char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/*
 * Run the agent with these arguments (after the binary), stderr to LOG; wait
 * up to 5 s for it to exit. Its exit status, or -2 if it was still running
 * (then it is stopped with SIGTERM). `prefix` runs it under another command
 * (e.g. "ip netns exec NS"), NULL for none.
 */
static int run_agent(const char *log, const char *const *prefix, const char *const *args)
{
	char *argv[40];
	int n = 0, st = 0;
	pid_t pid;
	double end;

	for (int i = 0; prefix && prefix[i]; i++)
		argv[n++] = (char *)prefix[i];
	argv[n++] = (char *)bin;
	for (int i = 0; args[i] && n < 38; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	unlink(log); /* a previous run's "ready" line must not be read as this one's */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(argv[0], argv);
		_exit(127);
	}
	end = t_now_ms() + 5000;
	while (t_now_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		/* Started: the ready line is logged once it serves. */
		if (file_has(log, "msg=ready"))
			break;
		usleep(5000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	return -2;
}

/* --- token file: group/other access refuses the start, exit 3 --- */

static int case_token_mode(void)
{
	struct t_agent a;
	char tok[512], link[512], log[512], state[512], sock[512], want[1024];
	const char *args[] = {"--listen", sock, "--token-file", tok, "--state-dir", state, NULL};
	int r;

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	snprintf(tok, sizeof(tok), "%s/token", a.dir);
	snprintf(link, sizeof(link), "%s/token-link", a.dir);
	snprintf(log, sizeof(log), "%s/agent.log", a.dir);
	snprintf(state, sizeof(state), "%s/state", a.dir);
	snprintf(sock, sizeof(sock), "unix:%s", a.sock);
	{
		struct stat st;

		T_CHECK(stat(tok, &st) == 0 && (st.st_mode & 07777) == 0600,
			"the harness creates its token 0600 (mode %o)", st.st_mode & 07777);
	}
	T_CHECK(chmod(tok, 0644) == 0, "chmod");
	r = run_agent(log, NULL, args);
	T_CHECK(r == 3, "0644 token: exit %d, want 3", r);
	snprintf(want, sizeof(want),
		 "token file %s is readable by group/others (mode 0644); chmod 600 it", tok);
	T_CHECK(file_has(log, want), "message names the file and its mode");
	T_CHECK(!file_has(log, "msg=ready"), "it did not serve");

	T_CHECK(chmod(tok, 0640) == 0, "chmod");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "0640 token: exit %d", r);
	T_CHECK(file_has(log, "(mode 0640)"), "0640 named");
	T_CHECK(chmod(tok, 0602) == 0, "chmod");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "0602 token: exit %d", r);
	T_CHECK(file_has(log, "writable by group/others (mode 0602)"), "0602 named");

	/* A symlink is judged by the file it reaches (fstat of the opened fd). */
	T_CHECK(chmod(tok, 0644) == 0 && symlink(tok, link) == 0, "symlink");
	args[3] = link;
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "symlink to 0644: exit %d", r);

	/* Owned by somebody else (not root, not the agent's user): refused too. */
	if (geteuid() == 0) {
		T_CHECK(chmod(tok, 0600) == 0 && chown(tok, 65534, 65534) == 0, "chown");
		T_CHECK((r = run_agent(log, NULL, args)) == 3, "token of uid 65534: exit %d", r);
		T_CHECK(file_has(log, "belongs to uid 65534"), "owner named");
		T_CHECK(chown(tok, 0, 0) == 0, "chown back");
	}

	/* A FIFO is not a token file: refused at once, not waited on for a writer. */
	{
		char fifo[512];
		double t0 = t_now_ms();

		snprintf(fifo, sizeof(fifo), "%s/token-fifo", a.dir);
		T_CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
		args[3] = fifo;
		r = run_agent(log, NULL, args);
		T_CHECK(r == 1 && t_now_ms() - t0 < 4000,
			"FIFO token: exit %d after %.0f ms, want 1 at once", r, t_now_ms() - t0);
		T_CHECK(file_has(log, "not a regular file"), "the log says why");
	}

	T_CHECK(chmod(tok, 0600) == 0, "chmod");
	args[3] = tok;
	T_CHECK((r = run_agent(log, NULL, args)) == -2, "0600 token: the agent starts (exit %d)",
		r);
	T_CHECK(!file_has(log, "readable by group"), "no complaint at 0600");
out:
	t_agent_done(&a);
	return t_failed;
}

/* --- config file: the policy; group/other write access refuses the start, exit 3 --- */

static int case_config_mode(void)
{
	struct t_agent a;
	char tok[512], cfg[512], log[512], state[512], sock[512], want[1024];
	const char *args[] = {
	    "--listen", sock, "--token-file", tok, "--state-dir", state, "--config", cfg, NULL};
	int r, fd;

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	snprintf(tok, sizeof(tok), "%s/token", a.dir);
	snprintf(cfg, sizeof(cfg), "%s/agent.json", a.dir);
	snprintf(log, sizeof(log), "%s/agent.log", a.dir);
	snprintf(state, sizeof(state), "%s/state", a.dir);
	snprintf(sock, sizeof(sock), "unix:%s", a.sock);
	fd = open(cfg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	T_CHECK(fd >= 0 && write(fd, "{\"kinds\": [\"pause\"]}\n", 21) == 21, "write config");
	close(fd);

	T_CHECK(chmod(cfg, 0664) == 0, "chmod");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "0664 config: exit %d, want 3", r);
	snprintf(want, sizeof(want), "config file %s is writable by group/others (mode 0664)", cfg);
	T_CHECK(file_has(log, want), "message names the file and its mode");
	T_CHECK(!file_has(log, "msg=ready"), "it did not serve");
	T_CHECK(chmod(cfg, 0646) == 0, "chmod");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "0646 config: exit %d", r);
	if (geteuid() == 0) {
		T_CHECK(chmod(cfg, 0644) == 0 && chown(cfg, 65534, 65534) == 0, "chown");
		T_CHECK((r = run_agent(log, NULL, args)) == 3, "config of uid 65534: exit %d", r);
		T_CHECK(file_has(log, "belongs to uid 65534"), "owner named");
		T_CHECK(chown(cfg, 0, 0) == 0, "chown back");
	}
	/* Readable by all is fine: the config holds no secret. */
	T_CHECK(chmod(cfg, 0644) == 0, "chmod");
	T_CHECK((r = run_agent(log, NULL, args)) == -2, "0644 config: the agent starts (exit %d)",
		r);
out:
	t_agent_done(&a);
	return t_failed;
}

/* --- capabilities after start --- */

static unsigned long long status_mask(pid_t pid, const char *tid, const char *field)
{
	char path[128], line[256];
	unsigned long long v = ~0ULL;
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)) && line[strlen(field)] == ':')
			v = strtoull(line + strlen(field) + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

/* A sleeper that runs as another user: signalling it takes CAP_KILL. */
static pid_t spawn_as_nobody(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		prctl(PR_SET_NAME, "fl-sec-nobody");
		for (;;)
			pause();
	}
	t_wait_state(pid, "S", 2000);
	return pid;
}

/* The folder shim_lib made, removed by shim_lib_done. */
static char shim_dir[64];

/*
 * The preload shim of this build (BIN's dir/../preload/libfaultline-preload.so),
 * copied into a new 0755 folder under /tmp: nobody's process must open it, and
 * the build may sit in a folder only its owner can traverse (a 0700 home or
 * mktemp -d). OUT gets the copy's path.
 */
static bool shim_lib(char *out, size_t len)
{
	const char *slash = strrchr(bin, '/');
	char src[600], buf[65536];
	int in, o = -1;
	ssize_t n;
	bool ok = false;

	snprintf(src, sizeof(src), "%.*s/../preload/libfaultline-preload.so",
		 slash ? (int)(slash - bin) : 1, slash ? bin : ".");
	in = open(src, O_RDONLY | O_CLOEXEC);
	snprintf(shim_dir, sizeof(shim_dir), "/tmp/fl-sec-shim-XXXXXX");
	if (in < 0 || !mkdtemp(shim_dir)) {
		shim_dir[0] = '\0';
		goto out;
	}
	snprintf(out, len, "%s/libfaultline-preload.so", shim_dir);
	if (chmod(shim_dir, 0755) < 0 ||
	    (o = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 ||
	    fchmod(o, 0644) < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(o, buf, (size_t)n) != n)
			goto out;
	ok = n == 0;
out:
	if (o >= 0)
		close(o);
	if (in >= 0)
		close(in);
	return ok;
}

static void shim_lib_done(const char *path)
{
	if (!shim_dir[0])
		return;
	unlink(path);
	rmdir(shim_dir);
	shim_dir[0] = '\0';
}

/* A dynamically linked sleep under the shim, as nobody: it registers its own table. */
static pid_t spawn_shimmed_as_nobody(const char *lib)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		setenv("LD_PRELOAD", lib, 1);
		unsetenv("FAULTLINE_SHM");
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int case_caps(void)
{
	struct t_agent a = {0}, b = {0};
	unsigned long long own_bnd = status_mask(getpid(), NULL, "CapBnd");
	unsigned long long own_eff = status_mask(getpid(), NULL, "CapEff");
	unsigned long long want, held;
	char *keep[] = {"--keep-caps", NULL};
	char target[64], cmd[256], tids[4096], shim[600] = "";
	pid_t victim = 0, shimmed = 0;
	int threads = 0;

	if (!(own_eff & (1ULL << CAP_SETPCAP)) || !(own_eff & (1ULL << CAP_SYS_ADMIN))) {
		printf("SKIPPED: needs root with CAP_SETPCAP and CAP_SYS_ADMIN (CapEff %llx)\n",
		       own_eff);
		return 77;
	}
	/* The documented set, less what this process could not hand down anyway. */
	want = kept_mask & own_bnd;
	held = want | (held_mask & own_bnd);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	T_CHECK(status_mask(a.pid, NULL, "CapEff") == want, "CapEff %llx, want %llx",
		status_mask(a.pid, NULL, "CapEff"), want);
	T_CHECK(status_mask(a.pid, NULL, "CapPrm") == held, "CapPrm %llx, want %llx",
		status_mask(a.pid, NULL, "CapPrm"), held);
	T_CHECK(status_mask(a.pid, NULL, "CapBnd") == held, "CapBnd %llx, want %llx",
		status_mask(a.pid, NULL, "CapBnd"), held);
	T_CHECK(status_mask(a.pid, NULL, "CapInh") == 0, "CapInh %llx",
		status_mask(a.pid, NULL, "CapInh"));
	T_CHECK(status_mask(a.pid, NULL, "CapAmb") == 0, "CapAmb %llx",
		status_mask(a.pid, NULL, "CapAmb"));
	/* Capabilities are per thread: the HTTP and lease threads too. */
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/task", a.pid);
	sh_out(tids, sizeof(tids), cmd);
	for (char *save = NULL, *t = strtok_r(tids, "\n", &save); t;
	     t = strtok_r(NULL, "\n", &save), threads++) {
		T_CHECK(status_mask(a.pid, t, "CapEff") == want, "thread %s CapEff %llx", t,
			status_mask(a.pid, t, "CapEff"));
		T_CHECK(status_mask(a.pid, t, "CapBnd") == held, "thread %s CapBnd %llx", t,
			status_mask(a.pid, t, "CapBnd"));
	}
	T_CHECK(threads >= 3, "main, lease and HTTP threads (%d seen)", threads);
	{
		char log[600];

		snprintf(log, sizeof(log), "%s/agent.log", a.dir);
		T_CHECK(file_has(log,
				 "msg=\"capabilities dropped\" "
				 "kept=kill,net_admin,sys_admin,sys_ptrace,dac_override,fowner,"
				 "sys_time(permitted) "
				 "launched_commands=\"no capabilities\""),
			"the kept set is logged");
	}
	/* With the reduced set, a fault on another user's process still works. */
	victim = spawn_as_nobody();
	T_CHECK(t_state(victim) == 'S', "victim sleeps");
	snprintf(target, sizeof(target), "{\"pid\":%d}", victim);
	snprintf(cmd, sizeof(cmd),
		 "{\"id\":\"c1\",\"kind\":\"pause\",\"target\":%s,\"params\":{\"method\":"
		 "\"signal\"},\"ttl_ms\":60000}",
		 target);
	T_CHECK(t_http(&a, "POST", "/v1/faults", cmd, a.token, NULL) == 201, "pause nobody's");
	T_CHECK(t_wait_state(victim, "T", 2000) == 'T', "paused");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/c1", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(t_wait_state(victim, "S", 2000) == 'S', "resumed");

	/*
	 * The shim's table of another user's process (/dev/shm/faultline-PID, 0600,
	 * theirs) is written with CAP_DAC_OVERRIDE: a syscall fault on it works.
	 */
	/* The shim is built with the agent: without it the build is broken. */
	T_CHECK(shim_lib(shim, sizeof(shim)), "copy the shim beside %s to %s: %s", bin, shim_dir,
		strerror(errno));
	{
		char tbl[64], body[512];
		double end = t_now_ms() + 3000;

		shimmed = spawn_shimmed_as_nobody(shim);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", shimmed);
		while (access(tbl, F_OK) < 0 && t_now_ms() < end)
			usleep(2000);
		T_CHECK(access(tbl, F_OK) == 0, "nobody's shimmed process registered %s", tbl);
		snprintf(body, sizeof(body),
			 "{\"id\":\"c2\",\"kind\":\"syscall\",\"target\":{\"pid\":%d},"
			 "\"params\":{\"rules\":[\"read:EIO\"]},\"ttl_ms\":60000}",
			 shimmed);
		T_CHECK(t_http(&a, "POST", "/v1/faults", body, a.token, NULL) == 201,
			"syscall fault on nobody's table");
		T_CHECK(t_http(&a, "DELETE", "/v1/faults/c2", NULL, a.token, NULL) == 200,
			"revert");
		/*
		 * A command the agent launches runs as root but gets no capabilities
		 * (SECBIT_NOROOT), and its bounding set is the agent's.
		 */
		snprintf(body, sizeof(body),
			 "{\"id\":\"c3\",\"kind\":\"syscall\",\"target\":{\"command\":"
			 "[\"/bin/sleep\",\"60\"]},\"params\":{\"rules\":[\"read:EIO\"]},"
			 "\"ttl_ms\":60000}");
		T_CHECK(t_http(&a, "POST", "/v1/faults", body, a.token, NULL) == 201,
			"launch a command");
		{
			char out[64];
			pid_t child;

			snprintf(cmd, sizeof(cmd), "pgrep -P %d -x sleep", a.pid);
			sh_out(out, sizeof(out), cmd);
			child = atoi(out);
			T_CHECK(child > 0, "the launched command is the agent's child");
			T_CHECK(status_mask(child, NULL, "Uid") == 0, "it runs as root");
			T_CHECK(status_mask(child, NULL, "CapEff") == 0 &&
				    status_mask(child, NULL, "CapPrm") == 0,
				"launched command CapEff %llx CapPrm %llx, want 0",
				status_mask(child, NULL, "CapEff"),
				status_mask(child, NULL, "CapPrm"));
			T_CHECK(status_mask(child, NULL, "CapBnd") == held,
				"launched command CapBnd %llx", status_mask(child, NULL, "CapBnd"));
		}
		T_CHECK(t_http(&a, "DELETE", "/v1/faults/c3", NULL, a.token, NULL) == 200,
			"revert stops it");
	}

	/* --keep-caps: nothing dropped (debugging). */
	T_CHECK(t_agent_init(&b, bin) == 0, "init");
	b.extra = keep;
	T_CHECK(t_agent_start(&b) == 0, "start --keep-caps");
	T_CHECK(status_mask(b.pid, NULL, "CapEff") == own_eff, "--keep-caps CapEff %llx",
		status_mask(b.pid, NULL, "CapEff"));
	T_CHECK(status_mask(b.pid, NULL, "CapBnd") == own_bnd, "--keep-caps CapBnd %llx",
		status_mask(b.pid, NULL, "CapBnd"));
out:
	t_agent_done(&a);
	t_agent_done(&b);
	t_reap(victim);
	if (shimmed > 0) {
		char tbl[64];

		/* Killed, it cannot remove its own table. */
		t_reap(shimmed);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", shimmed);
		unlink(tbl);
	}
	shim_lib_done(shim);
	return t_failed;
}

/* --- plain HTTP on a non-loopback address --- */

static int case_plaintext(void)
{
	struct t_agent a;
	char ns[32], log[512], state[512], tok[512], listen[64], out[4096], cmd[512];
	const char *prefix[] = {"ip", "netns", "exec", ns, NULL};
	const char *args[] = {"--listen",    listen, "--token-file", tok,
			      "--state-dir", state,  NULL,	     NULL};
	bool ns_made = false;
	int r;

	snprintf(ns, sizeof(ns), "flsec-pt-%d", (int)getpid());
	if (sh("ip netns add %s 2>/dev/null", ns) != 0) {
		printf("SKIPPED: cannot create a network namespace (ip netns add)\n");
		return 77;
	}
	ns_made = true;
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(sh("ip -n %s link set lo up && ip -n %s link add d0 type veth peer name d1 && "
		   "ip -n %s addr add 10.231.0.1/24 dev d0 && ip -n %s link set d0 up && "
		   "ip -n %s link set d1 up",
		   ns, ns, ns, ns, ns) == 0,
		"veth with 10.231.0.1 in %s", ns);
	snprintf(log, sizeof(log), "%s/agent.log", a.dir);
	snprintf(state, sizeof(state), "%s/state", a.dir);
	snprintf(tok, sizeof(tok), "%s/token", a.dir);

	/* 10.231.0.1 inside the namespace: refused without the flag. */
	snprintf(listen, sizeof(listen), "10.231.0.1:7433");
	r = run_agent(log, prefix, args);
	T_CHECK(r == 3, "plain HTTP on 10.231.0.1: exit %d, want 3", r);
	T_CHECK(file_has(log, "refusing plain HTTP on 10.231.0.1:7433, a non-loopback address"),
		"message names the address");
	T_CHECK(file_has(log, "--insecure-plaintext"), "message names the flag");
	/* The wildcard address is not loopback either (host namespace, any port). */
	snprintf(listen, sizeof(listen), "0.0.0.0:0");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "0.0.0.0: exit %d", r);
	snprintf(listen, sizeof(listen), "[::]:0");
	T_CHECK((r = run_agent(log, NULL, args)) == 3, "[::]: exit %d", r);

	/* Loopback needs no flag: 127.0.0.0/8 and ::1. */
	snprintf(listen, sizeof(listen), "127.0.0.9:0");
	T_CHECK((r = run_agent(log, NULL, args)) == -2, "127.0.0.9 refused (exit %d)", r);
	T_CHECK(!file_has(log, "insecure"), "no warning on loopback");
	snprintf(listen, sizeof(listen), "[::1]:0");
	if (sh("ip -6 addr show dev lo 2>/dev/null | grep -q ::1") == 0) {
		T_CHECK((r = run_agent(log, NULL, args)) == -2, "[::1] refused (exit %d)", r);
		T_CHECK(!file_has(log, "insecure"), "no warning on ::1");
	}

	/* With the flag: it serves, and says what it risks in a structured warning. */
	snprintf(listen, sizeof(listen), "10.231.0.1:7433");
	args[6] = "--insecure-plaintext";
	unlink(log);
	{
		pid_t pid = fork();
		double end = t_now_ms() + 5000;
		int st;

		T_CHECK(pid >= 0, "fork");
		if (pid == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			if (fd >= 0)
				dup2(fd, 2);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execlp("ip", "ip", "netns", "exec", ns, bin, "--listen", listen,
			       "--token-file", tok, "--state-dir", state, "--insecure-plaintext",
			       (char *)NULL);
			_exit(127);
		}
		while (!file_has(log, "msg=ready") && t_now_ms() < end &&
		       waitpid(pid, &st, WNOHANG) == 0)
			usleep(5000);
		snprintf(cmd, sizeof(cmd),
			 "ip netns exec %s curl -s -m 3 http://10.231.0.1:7433/v1/health", ns);
		sh_out(out, sizeof(out), cmd);
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
		T_CHECK(strstr(out, "\"status\":\"ok\""), "health over plain HTTP: %s", out);
		T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "clean stop");
	}
	T_CHECK(file_has(log, "level=warn msg=\"--insecure-plaintext: serving plain HTTP on a "
			      "non-loopback address; the bearer token crosses the network in "
			      "clear text\" address=10.231.0.1:7433"),
		"structured warning");
out:
	if (ns_made)
		sh("ip netns del %s 2>/dev/null", ns);
	t_agent_done(&a);
	return t_failed;
}

/* --- policy: every refusal leaves the system as it was --- */

static long post(struct t_agent *a, const char *id, const char *kind, const char *target,
		 const char *params, cJSON **out)
{
	char body[2048];

	snprintf(body, sizeof(body),
		 "{\"id\":\"%s\",\"kind\":\"%s\",\"target\":%s,\"params\":%s,\"ttl_ms\":60000}", id,
		 kind, target, params);
	return t_http(a, "POST", "/v1/faults", body, a->token, out);
}

static const char *err_msg(const cJSON *j)
{
	const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message");

	return cJSON_IsString(m) ? m->valuestring : "";
}

/* Refused with this status and field; the message contains `says`. */
#define REFUSED(a, status, field, says, id, kind, target, params)                                  \
	do {                                                                                       \
		cJSON *j_ = NULL;                                                                  \
		long st_ = post(a, id, kind, target, params, &j_);                                 \
		bool ok_ = st_ == (status) && !strcmp(t_err_path(j_), field) &&                    \
			   strstr(err_msg(j_), says);                                              \
		if (!ok_)                                                                          \
			fprintf(stderr, "  %s %s: got %ld path \"%s\" message \"%s\"\n", kind,     \
				target, st_, t_err_path(j_), err_msg(j_));                         \
		cJSON_Delete(j_);                                                                  \
		T_CHECK(ok_, "%s %s -> %d %s \"%s\"", kind, target, status, field, says);          \
	} while (0)

/* Nothing live, nothing journaled. */
static bool nothing_applied(struct t_agent *a)
{
	cJSON *j = NULL;
	bool ok = t_http(a, "GET", "/v1/faults", NULL, a->token, &j) == 200 &&
		  cJSON_GetArraySize(cJSON_GetObjectItem(j, "faults")) == 0 &&
		  t_journal_count(a) == 0;

	cJSON_Delete(j);
	return ok;
}

static char pid1_state(void)
{
	return t_state(1);
}

static int case_policy_pid1(void)
{
	struct t_agent a;
	char before = pid1_state();

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	REFUSED(&a, 403, "$.target", "PID 1", "p1", "pause", "{\"pid\":1}", "{}");
	REFUSED(&a, 403, "$.target", "PID 1", "p2", "kill", "{\"pid\":1}",
		"{\"signal\":23}"); /* SIGURG: harmless even if it got through */
	REFUSED(&a, 403, "$.target", "PID 1", "p3", "syscall", "{\"pid\":1}",
		"{\"rules\":[\"read:EIO\"]}");
	/* Its network namespace, by pid or by /proc path, is reaching PID 1 too. */
	REFUSED(&a, 403, "$.target.pid", "PID 1", "p4", "bandwidth",
		"{\"pid\":1,\"interface\":\"lo\"}", "{\"rate\":\"1mbit\"}");
	REFUSED(&a, 403, "$.target.netns_path", "PID 1", "p5", "bandwidth",
		"{\"netns_path\":\"/proc/1/ns/net\",\"interface\":\"lo\"}", "{\"rate\":\"1mbit\"}");
	T_CHECK(nothing_applied(&a), "nothing applied");
	T_CHECK(pid1_state() == before, "PID 1 state %c, was %c", pid1_state(), before);
	{
		char q[4096];

		sh_out(q, sizeof(q), "tc qdisc show dev lo");
		T_CHECK(!strstr(q, "tbf"), "no tbf on lo: %s", q);
	}
out:
	t_agent_done(&a);
	return t_failed;
}

static int case_policy_self(void)
{
	struct t_agent a;
	char t[64], np[128];

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(t, sizeof(t), "{\"pid\":%d}", a.pid);
	REFUSED(&a, 403, "$.target", "faultline-agent itself", "s1", "pause", t, "{}");
	REFUSED(&a, 403, "$.target", "faultline-agent itself", "s2", "kill", t, "{}");
	REFUSED(&a, 403, "$.target", "faultline-agent itself", "s3", "syscall", t,
		"{\"rules\":[\"read:EIO\"]}");
	snprintf(np, sizeof(np), "{\"pid\":%d,\"interface\":\"lo\"}", a.pid);
	REFUSED(&a, 403, "$.target.pid", "faultline-agent itself", "s5", "bandwidth", np,
		"{\"rate\":\"1mbit\"}");
	REFUSED(&a, 403, "$.target.netns_path", "faultline-agent itself", "s6", "bandwidth",
		"{\"netns_path\":\"/proc/self/ns/net\",\"interface\":\"lo\"}",
		"{\"rate\":\"1mbit\"}");
	REFUSED(&a, 403, "$.target.netns_path", "faultline-agent itself", "s7", "bandwidth",
		"{\"netns_path\":\"/proc/thread-self/ns/net\",\"interface\":\"lo\"}",
		"{\"rate\":\"1mbit\"}");
	T_CHECK(nothing_applied(&a), "nothing applied");
	T_CHECK(t_state(a.pid) == 'S', "the agent runs (state %c)", t_state(a.pid));
	T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, NULL) == 200, "still serving");
out:
	t_agent_done(&a);
	return t_failed;
}

static int case_policy_parent(void)
{
	struct t_agent a;
	char t[64], np[128];

	/* This test process started the agent: it is the parent (a controller's place). */
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(t, sizeof(t), "{\"pid\":%d}", (int)getpid());
	REFUSED(&a, 403, "$.target", "agent's parent", "q1", "pause", t, "{}");
	REFUSED(&a, 403, "$.target", "agent's parent", "q2", "kill", t, "{}");
	snprintf(np, sizeof(np), "{\"pid\":%d,\"interface\":\"lo\"}", (int)getpid());
	REFUSED(&a, 403, "$.target.pid", "agent's parent", "q3", "bandwidth", np,
		"{\"rate\":\"1mbit\"}");
	snprintf(np, sizeof(np), "{\"netns_path\":\"/proc/%d/ns/net\",\"interface\":\"lo\"}",
		 (int)getpid());
	REFUSED(&a, 403, "$.target.netns_path", "agent's parent", "q4", "bandwidth", np,
		"{\"rate\":\"1mbit\"}");
	T_CHECK(nothing_applied(&a), "nothing applied");
out:
	t_agent_done(&a);
	return t_failed;
}

static int case_policy_allow_list(void)
{
	struct t_agent a;
	char in_name[16], deny_name[16], cfg[512], t[64];
	pid_t in = 0, other = 0, denied = 0;

	snprintf(in_name, sizeof(in_name), "flsec-in%d", (int)getpid() % 100000);
	snprintf(deny_name, sizeof(deny_name), "flsec-dn%d", (int)getpid() % 100000);
	in = t_spawn(in_name);
	other = t_spawn("flsec-other");
	denied = t_spawn(deny_name);
	snprintf(cfg, sizeof(cfg),
		 "{\"allow\":{\"names\":[\"%s\",\"%s\"]},\"deny\":{\"names\":[\"%s\"]}}", in_name,
		 deny_name, deny_name);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_config(&a, cfg) == 0, "config");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(t, sizeof(t), "{\"pid\":%d}", other);
	REFUSED(&a, 403, "$.target", "outside the agent's allow-list", "a1", "pause", t, "{}");
	REFUSED(&a, 403, "$.target", "outside the agent's allow-list", "a2", "kill", t, "{}");
	REFUSED(&a, 403, "$.target", "outside the agent's allow-list", "a3", "pause",
		"{\"name\":\"flsec-other\"}", "{}");
	/* deny wins over allow. */
	snprintf(t, sizeof(t), "{\"pid\":%d}", denied);
	REFUSED(&a, 403, "$.target", "denied by the agent's config", "a4", "pause", t, "{}");
	/* A command the agent would launch is checked the same way. */
	REFUSED(&a, 403, "$.target.command", "outside the agent's allow-list", "a5", "syscall",
		"{\"command\":[\"/bin/sleep\",\"30\"]}", "{\"rules\":[\"read:EIO\"]}");
	T_CHECK(nothing_applied(&a), "nothing applied");
	T_CHECK(t_state(other) == 'S' && t_state(denied) == 'S', "untouched");
	{
		char out[256];

		char cmd[64];

		snprintf(cmd, sizeof(cmd), "pgrep -P %d", a.pid);
		sh_out(out, sizeof(out), cmd);
		T_CHECK(!out[0], "no command launched: %s", out);
	}
	/* The allowed one is allowed: the rule is not "refuse everything". */
	snprintf(t, sizeof(t), "{\"pid\":%d}", in);
	T_CHECK(post(&a, "a6", "pause", t, "{}", NULL) == 201, "allowed process");
	T_CHECK(t_wait_state(in, "T", 2000) == 'T', "paused");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/a6", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(t_wait_state(in, "S", 2000) == 'S', "resumed");
out:
	t_agent_done(&a);
	t_reap(in);
	t_reap(other);
	t_reap(denied);
	return t_failed;
}

static int case_policy_netns(void)
{
	struct t_agent a;
	char nsa[32], nsb[32], cfg[512], t[256], before[4096], after[4096], cmd[256];
	bool made_a = false, made_b = false;
	pid_t in_b = 0, in_a = 0;
	cJSON *j = NULL;

	snprintf(nsa, sizeof(nsa), "flsec-a-%d", (int)getpid());
	snprintf(nsb, sizeof(nsb), "flsec-b-%d", (int)getpid());
	if (sh("ip netns add %s 2>/dev/null", nsa) != 0) {
		printf("SKIPPED: cannot create a network namespace (ip netns add)\n");
		return 77;
	}
	made_a = true;
	T_CHECK(sh("ip netns add %s", nsb) == 0, "netns b");
	made_b = true;
	T_CHECK(sh("for n in %s %s; do ip -n $n link add d0 type veth peer name d1 && "
		   "ip -n $n link set d0 up && ip -n $n link set d1 up || exit 1; done",
		   nsa, nsb) == 0,
		"veth pairs");
	snprintf(cfg, sizeof(cfg), "{\"network\":{\"netns\":[\"%s\"],\"interfaces\":[\"d0\"]}}",
		 nsa);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_config(&a, cfg) == 0, "config");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(cmd, sizeof(cmd), "ip netns exec %s tc qdisc show; ip netns exec %s tc qdisc show",
		 nsa, nsb);
	sh_out(before, sizeof(before), cmd);

	/* Another namespace's interface, by name, by path and through a process in it. */
	snprintf(t, sizeof(t), "{\"netns\":\"%s\",\"interface\":\"d0\"}", nsb);
	REFUSED(&a, 403, "$.target.netns", "not in the agent's network.netns", "n1", "bandwidth", t,
		"{\"rate\":\"1mbit\"}");
	REFUSED(&a, 403, "$.target.netns", "not in the agent's network.netns", "n3", "partition", t,
		"{\"peers\":[\"10.0.0.1\"]}");
	snprintf(t, sizeof(t), "{\"netns_path\":\"/var/run/netns/%s\",\"interface\":\"d0\"}", nsb);
	REFUSED(&a, 403, "$.target.netns_path", "not in the agent's network.netns", "n4",
		"bandwidth", t, "{\"rate\":\"1mbit\"}");
	{
		pid_t pid = fork();

		if (pid == 0) {
			char ns[64];

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			snprintf(ns, sizeof(ns), "%s", nsb);
			execlp("ip", "ip", "netns", "exec", ns, "sleep", "60", (char *)NULL);
			_exit(127);
		}
		in_b = pid;
		pid = fork();
		if (pid == 0) {
			char ns[64];

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			snprintf(ns, sizeof(ns), "%s", nsa);
			execlp("ip", "ip", "netns", "exec", ns, "sleep", "60", (char *)NULL);
			_exit(127);
		}
		in_a = pid;
		usleep(200000);
	}
	snprintf(t, sizeof(t), "{\"pid\":%d,\"interface\":\"d0\"}", in_b);
	REFUSED(&a, 403, "$.target.pid", "not in the agent's network.netns", "n5", "bandwidth", t,
		"{\"rate\":\"1mbit\"}");
	/* The host namespace (no netns given) is not listed either. */
	REFUSED(&a, 403, "$.target", "not in the agent's network.netns", "n6", "bandwidth",
		"{\"interface\":\"d0\"}", "{\"rate\":\"1mbit\"}");
	/* An allowed namespace but an interface outside network.interfaces. */
	snprintf(t, sizeof(t), "{\"netns\":\"%s\",\"interface\":\"d1\"}", nsa);
	REFUSED(&a, 403, "$.target.interface", "not in the agent's network.interfaces", "n7",
		"bandwidth", t, "{\"rate\":\"1mbit\"}");
	snprintf(t, sizeof(t), "{\"netns\":\"%s\",\"route_to\":\"10.0.0.1\"}", nsa);
	REFUSED(&a, 403, "$.target.interface", "network.interfaces", "n8", "bandwidth", t,
		"{\"rate\":\"1mbit\"}");
	T_CHECK(nothing_applied(&a), "nothing applied");
	sh_out(after, sizeof(after), cmd);
	T_CHECK(!strcmp(before, after), "qdiscs changed:\n%s\n---\n%s", before, after);

	/* The allowed namespace, also reached through a process in it (same inode). */
	snprintf(t, sizeof(t), "{\"pid\":%d,\"interface\":\"d0\"}", in_a);
	{
		char body[512];

		snprintf(body, sizeof(body),
			 "{\"id\":\"n9\",\"kind\":\"bandwidth\",\"target\":%s,\"params\":{\"rate\":"
			 "\"1mbit\"},\"ttl_ms\":60000}",
			 t);
		T_CHECK(t_http(&a, "POST", "/v1/faults?dry_run=1", body, a.token, &j) == 200,
			"allowed netns through a pid (dry run): %s", err_msg(j));
		cJSON_Delete(j);
		j = NULL;
	}
	snprintf(t, sizeof(t), "{\"netns\":\"%s\",\"interface\":\"d0\"}", nsa);
	T_CHECK(post(&a, "n10", "bandwidth", t, "{\"rate\":\"1mbit\"}", &j) == 201,
		"allowed netns and interface: %s", err_msg(j));
	snprintf(cmd, sizeof(cmd), "ip netns exec %s tc qdisc show dev d0", nsa);
	sh_out(after, sizeof(after), cmd);
	T_CHECK(strstr(after, "tbf"), "tbf on the allowed interface: %s", after);
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/n10", NULL, a.token, NULL) == 200, "revert");
out:
	cJSON_Delete(j);
	t_agent_done(&a);
	t_reap(in_a);
	t_reap(in_b);
	if (made_a)
		sh("ip netns del %s 2>/dev/null", nsa);
	if (made_b)
		sh("ip netns del %s 2>/dev/null", nsb);
	return t_failed;
}

static int case_policy_traversal(void)
{
	struct t_agent a;
	char t[1024], outfile[512], rel[600];
	const char *rules = "{\"rules\":[\"read:EIO\"]}";
	pid_t victim = t_spawn("flsec-trav");
	cJSON *j = NULL;

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	/* Network namespace paths. */
	REFUSED(&a, 400, "$.target.netns_path", "\"..\"", "t1", "bandwidth",
		"{\"netns_path\":\"/var/run/netns/../../proc/1/ns/net\",\"interface\":\"lo\"}",
		"{\"rate\":\"1mbit\"}");
	REFUSED(&a, 400, "$.target.netns_path", "\"..\"", "t2", "partition",
		"{\"netns_path\":\"/run/netns/./x\",\"interface\":\"lo\"}",
		"{\"peers\":[\"10.0.0.1\"]}");
	REFUSED(&a, 400, "$.target.netns", "netns name", "t3", "bandwidth",
		"{\"netns\":\"../../proc/1/ns/net\",\"interface\":\"lo\"}", "{\"rate\":\"1mbit\"}");
	REFUSED(&a, 400, "$.target.netns", "netns name", "t4", "partition",
		"{\"netns\":\"..\",\"interface\":\"lo\"}", "{\"peers\":[\"10.0.0.1\"]}");
	/* Process selectors that are paths. */
	REFUSED(&a, 400, "$.target.cgroup", "cgroup v2 path", "t5", "pause",
		"{\"cgroup\":\"/../../sys/fs\"}", "{}");
	REFUSED(&a, 400, "$.target.pidfile", "absolute path", "t6", "kill",
		"{\"pidfile\":\"/run/../proc/1/stat\"}", "{}");
	REFUSED(&a, 400, "$.target.pidfile", "absolute path", "t7", "kill",
		"{\"pidfile\":\"run/x.pid\"}", "{}");
	/* A launched command's program, working directory and output file. */
	REFUSED(&a, 400, "$.target.command[0]", "\"..\"", "t8", "syscall",
		"{\"command\":[\"/usr/bin/../bin/sleep\",\"30\"]}", rules);
	REFUSED(&a, 400, "$.target.command[0]", "absolute path", "t9", "syscall",
		"{\"command\":[\"../bin/sleep\",\"30\"]}", rules);
	REFUSED(&a, 400, "$.target.cwd", "\"..\"", "t10", "syscall",
		"{\"command\":[\"/bin/sleep\",\"30\"],\"cwd\":\"/tmp/../etc\"}", rules);
	snprintf(outfile, sizeof(outfile), "%s/out.txt", a.dir);
	snprintf(rel, sizeof(rel), "%s/../%s/out.txt", a.dir, strrchr(a.dir, '/') + 1);
	snprintf(t, sizeof(t), "{\"command\":[\"/bin/sleep\",\"30\"],\"output\":\"%s\"}", rel);
	REFUSED(&a, 400, "$.target.output", "\"..\"", "t11", "syscall", t, rules);
	T_CHECK(access(outfile, F_OK) < 0, "no output file created");
	/* Ids name journal files: no path in them, in the body or the URL. */
	REFUSED(&a, 400, "$.id", "", "../../etc/x", "pause", "{\"pid\":1}", "{}");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/..%2F..%2Fetc%2Fpasswd", NULL, a.token, &j) == 400,
		"id with slashes in the URL");
	T_CHECK(!strcmp(t_err_path(j), "$.id"), "names $.id: %s", t_err_path(j));
	cJSON_Delete(j);
	j = NULL;
	T_CHECK(t_http(&a, "DELETE", "/v1/faults?experiment=..%2Fx", NULL, a.token, &j) == 400,
		"experiment with a slash");
	T_CHECK(!strcmp(t_err_path(j), "$.experiment"), "names $.experiment: %s", t_err_path(j));
	cJSON_Delete(j);
	j = NULL;
	T_CHECK(nothing_applied(&a), "nothing applied");
	T_CHECK(t_state(victim) == 'S', "untouched");
	{
		char out[256];

		sh_out(out, sizeof(out), "tc qdisc show dev lo");
		T_CHECK(!strstr(out, "tbf") && !strstr(out, "netem"), "lo untouched: %s", out);
	}
out:
	cJSON_Delete(j);
	t_agent_done(&a);
	t_reap(victim);
	return t_failed;
}

/* Poll (2 s) for a file to contain `needle`. */
static bool wait_file_has(const char *path, const char *needle)
{
	double end = t_now_ms() + 2000;

	while (!file_has(path, needle) && t_now_ms() < end)
		usleep(20000);
	return file_has(path, needle);
}

static bool no_child(const struct t_agent *a)
{
	char out[256], cmd[64];

	snprintf(cmd, sizeof(cmd), "pgrep -P %d", a->pid);
	sh_out(out, sizeof(out), cmd);
	return !out[0];
}

/*
 * With an allow list, a launched command's output file lies in
 * allow.output_dirs, whatever symbolic or hard link is on the way; without
 * one, output is anywhere (root-equivalent, as documented).
 */
static int case_policy_output(void)
{
	struct t_agent a;
	char dir[PATH_MAX], d[300], o[300], victim[320], p[400], p2[400], cfg[600], t[1024];
	const char *rules = "{\"rules\":[\"fsync:EIO\"]}";
	const char *cmd = "[\"/bin/sh\",\"-c\",\"echo flsec-output-ok\"]";
	bool init = false;

#define OUT_TARGET(path) snprintf(t, sizeof(t), "{\"command\":%s,\"output\":\"%s\"}", cmd, path)
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	init = true;
	T_CHECK(realpath(a.dir, dir), "realpath %s", a.dir);
	snprintf(d, sizeof(d), "%.255s/allowed", dir);
	snprintf(o, sizeof(o), "%.255s/outside", dir);
	snprintf(victim, sizeof(victim), "%s/victim", o);
	snprintf(p, sizeof(p), "%sx", d);
	T_CHECK(mkdir(d, 0755) == 0 && mkdir(o, 0755) == 0 && mkdir(p, 0755) == 0, "dirs");
	T_CHECK(sh("echo original > %s", victim) == 0, "victim file");
	/* Ways out of d: absolute and relative symlinks, a symlinked dir, a hard link. */
	snprintf(p, sizeof(p), "%s/abs", d);
	T_CHECK(symlink(victim, p) == 0, "symlink abs");
	snprintf(p, sizeof(p), "%s/rel", d);
	T_CHECK(symlink("../outside/victim", p) == 0, "symlink rel");
	snprintf(p, sizeof(p), "%s/sub", d);
	T_CHECK(symlink(o, p) == 0, "symlink dir");
	snprintf(p, sizeof(p), "%s/hard", d);
	T_CHECK(link(victim, p) == 0, "hard link");
	snprintf(cfg, sizeof(cfg),
		 "{\"allow\":{\"names\":[\"sh\",\"dash\"],\"output_dirs\":[\"%s\"]}}", d);
	T_CHECK(t_agent_config(&a, cfg) == 0, "config");
	T_CHECK(t_agent_start(&a) == 0, "start");

	snprintf(p, sizeof(p), "%s/new.txt", o);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "outside the agent's allowed output directories", "o1",
		"syscall", t, rules);
	T_CHECK(access(p, F_OK) < 0, "nothing created outside");
	snprintf(p, sizeof(p), "%s/abs", d);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "symbolic link", "o2", "syscall", t, rules);
	snprintf(p, sizeof(p), "%s/rel", d);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "symbolic link", "o3", "syscall", t, rules);
	snprintf(p, sizeof(p), "%s/sub/new.txt", d);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "symbolic link", "o4", "syscall", t, rules);
	snprintf(p2, sizeof(p2), "%s/new.txt", o);
	T_CHECK(access(p2, F_OK) < 0, "nothing created through the dir link");
	snprintf(p, sizeof(p), "%s/hard", d);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "single link", "o5", "syscall", t, rules);
	/* A prefix of the name is not the directory. */
	snprintf(p, sizeof(p), "%sx/new.txt", d);
	OUT_TARGET(p);
	REFUSED(&a, 403, "$.target.output", "outside the agent's allowed output directories", "o6",
		"syscall", t, rules);
	T_CHECK(nothing_applied(&a), "nothing applied, nothing journaled");
	T_CHECK(no_child(&a), "no command launched");
	T_CHECK(file_has(victim, "original") && !file_has(victim, "flsec-output-ok"),
		"the file outside is untouched");

	/* Inside: allowed, and the command's output lands there. */
	snprintf(p, sizeof(p), "%s/ok.txt", d);
	OUT_TARGET(p);
	T_CHECK(post(&a, "o7", "syscall", t, rules, NULL) == 201, "output inside allowed");
	T_CHECK(wait_file_has(p, "flsec-output-ok"), "the command's output is in %s", p);
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/o7", NULL, a.token, NULL) == 200, "revert");
	/* No output at all: /dev/null, always fine. */
	snprintf(t, sizeof(t), "{\"command\":%s}", cmd);
	T_CHECK(post(&a, "o8", "syscall", t, rules, NULL) == 201, "no output");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/o8", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(file_has(victim, "original") && !file_has(victim, "flsec-output-ok"),
		"the file outside is still untouched");
	t_agent_done(&a);
	init = false;

	/* No allow list: unchanged, output may be anywhere. */
	T_CHECK(t_agent_init(&a, bin) == 0, "init 2");
	init = true;
	T_CHECK(realpath(a.dir, dir), "realpath %s", a.dir);
	T_CHECK(t_agent_start(&a) == 0, "start 2");
	snprintf(p, sizeof(p), "%.255s/anywhere.txt", dir);
	OUT_TARGET(p);
	T_CHECK(post(&a, "o9", "syscall", t, rules, NULL) == 201, "no allow list: output anywhere");
	T_CHECK(wait_file_has(p, "flsec-output-ok"), "the command's output is in %s", p);
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/o9", NULL, a.token, NULL) == 200, "revert");
#undef OUT_TARGET
out:
	if (init)
		t_agent_done(&a);
	return t_failed;
}

/* Files named faultline-fill-* in dir (what disk_fill and stress's I/O workers create). */
static int fill_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, "faultline-", 10);
	if (d)
		closedir(d);
	return n;
}

/*
 * With an allow list, the directories faults create files in (disk_fill's
 * path, stress's io.path) lie in allow.fill_dirs, with no symbolic link
 * leading out; none listed: refused; no allow list: anywhere, as before.
 */
static int case_policy_fill(void)
{
	struct t_agent a;
	char dir[PATH_MAX], fill[300], out[300], p[400], cfg[700], t[64], prm[600], name[16];
	pid_t in = 0;
	bool init = false;

	snprintf(name, sizeof(name), "flsec-fl%d", (int)getpid() % 100000);
	in = t_spawn(name);
	T_CHECK(in > 0, "spawn %s", name);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	init = true;
	T_CHECK(realpath(a.dir, dir), "realpath %s", a.dir);
	snprintf(fill, sizeof(fill), "%.255s/fill", dir);
	snprintf(out, sizeof(out), "%.255s/outside", dir);
	T_CHECK(mkdir(fill, 0755) == 0 && mkdir(out, 0755) == 0, "dirs");
	snprintf(p, sizeof(p), "%sx", fill);
	T_CHECK(mkdir(p, 0755) == 0, "a sibling with the allowed name as prefix");
	snprintf(p, sizeof(p), "%s/link", fill);
	T_CHECK(symlink(out, p) == 0, "symlink out of the fill dir");
	snprintf(cfg, sizeof(cfg), "{\"allow\":{\"names\":[\"%s\"],\"fill_dirs\":[\"%s\"]}}", name,
		 fill);
	T_CHECK(t_agent_config(&a, cfg) == 0, "config");
	T_CHECK(t_agent_start(&a) == 0, "start");

#define FILL(path) snprintf(prm, sizeof(prm), "{\"path\":\"%.400s\",\"bytes\":1048576}", path)
	FILL(out);
	REFUSED(&a, 403, "$.params.path", "outside the directories the agent may fill", "f1",
		"disk_fill", "{}", prm);
	snprintf(p, sizeof(p), "%s/link", fill);
	FILL(p);
	REFUSED(&a, 403, "$.params.path", "symbolic link", "f2", "disk_fill", "{}", prm);
	snprintf(p, sizeof(p), "%sx", fill);
	FILL(p);
	REFUSED(&a, 403, "$.params.path", "outside the directories the agent may fill", "f3",
		"disk_fill", "{}", prm);
	snprintf(t, sizeof(t), "{\"pid\":%d}", (int)in);
	snprintf(prm, sizeof(prm), "{\"io\":{\"path\":\"%s\",\"mib\":1}}", out);
	REFUSED(&a, 403, "$.params.io.path", "outside the directories the agent may fill", "f4",
		"stress", t, prm);
	T_CHECK(nothing_applied(&a), "nothing applied, nothing journaled");
	T_CHECK(fill_files(out) == 0 && fill_files(dir) == 0, "no file made outside");

	/* Inside: allowed, the file is there while live, gone after the revert. */
	FILL(fill);
	T_CHECK(post(&a, "f5", "disk_fill", "{}", prm, NULL) == 201, "disk_fill in the fill dir");
	T_CHECK(fill_files(fill) == 1, "the fill file is in %s", fill);
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/f5", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(fill_files(fill) == 0, "the fill file is gone");
	t_agent_done(&a);
	init = false;

	/* An allow list without fill_dirs: no fault may fill anything. */
	T_CHECK(t_agent_init(&a, bin) == 0, "init 2");
	init = true;
	snprintf(cfg, sizeof(cfg), "{\"allow\":{\"names\":[\"%s\"]}}", name);
	T_CHECK(t_agent_config(&a, cfg) == 0, "config 2");
	T_CHECK(t_agent_start(&a) == 0, "start 2");
	T_CHECK(realpath(a.dir, dir), "realpath %s", a.dir);
	FILL(dir);
	REFUSED(&a, 403, "$.params.path", "allow.fill_dirs is empty", "f6", "disk_fill", "{}", prm);
	T_CHECK(nothing_applied(&a) && fill_files(dir) == 0, "nothing applied");
	t_agent_done(&a);
	init = false;

	/* No allow list: unchanged, any directory. */
	T_CHECK(t_agent_init(&a, bin) == 0, "init 3");
	init = true;
	T_CHECK(t_agent_start(&a) == 0, "start 3");
	T_CHECK(realpath(a.dir, dir), "realpath %s", a.dir);
	FILL(dir);
	T_CHECK(post(&a, "f7", "disk_fill", "{}", prm, NULL) == 201, "no allow list: anywhere");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/f7", NULL, a.token, NULL) == 200, "revert");
#undef FILL
out:
	if (init)
		t_agent_done(&a);
	if (in > 0)
		t_reap(in);
	return t_failed;
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    {"token_mode", case_token_mode},
	    {"config_mode", case_config_mode},
	    {"caps", case_caps},
	    {"plaintext", case_plaintext},
	    {"policy_pid1", case_policy_pid1},
	    {"policy_self", case_policy_self},
	    {"policy_parent", case_policy_parent},
	    {"policy_allow_list", case_policy_allow_list},
	    {"policy_netns", case_policy_netns},
	    {"policy_traversal", case_policy_traversal},
	    {"policy_output", case_policy_output},
	    {"policy_fill", case_policy_fill},
	};

	return t_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &bin);
}
