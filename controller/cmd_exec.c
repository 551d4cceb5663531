/*
 * `faultline exec`: run one command under syscall faults, for local use and CI.
 *
 * Shim path (default): create a rule table /dev/shm/faultline-exec-<pid>,
 * write the rules, and exec the command with LD_PRELOAD=libfaultline-preload.so
 * and FAULTLINE_SHM naming the table (children inherit both). Seccomp path
 * (--seccomp): the command runs under a seccomp filter; rules that need
 * counting or chance are answered by this process as the supervisor.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/cmd_exec.h"
#include "core/rng.h"
#include "faults/seccomp.h"
#include "preload/rules.h"

#define EXEC_RULES_MAX FL_SHM_RULES_MAX

static volatile sig_atomic_t child_pid;

/* Forward termination signals to the command, like env(1) and timeout(1) users expect. */
static void forward(int sig)
{
	int saved = errno;

	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
	errno = saved;
}

static void usage(FILE *f)
{
	fputs(
	    "usage: faultline exec [--fault RULE]... [--seed N] [--seccomp] [--preload LIB] [-v]\n"
	    "                      -- CMD [ARG]...\n"
	    "  -f, --fault RULE   e.g. write:EIO:p=0.1  connect:delay=200ms:port=5432\n"
	    "                     openat:ENOENT:path=/etc/app/  read:short=10:when=3..10+2\n"
	    "                     (grammar: docs/faults/syscall.md)\n"
	    "  -s, --seed N       seed for p= (same seed + same calls = same faults)\n"
	    "      --seccomp      seccomp filter instead of the preload shim (static binaries);\n"
	    "                     rules name syscalls and take an errno, p=, when=, fd=\n"
	    "      --preload LIB  the shim (default: $FAULTLINE_PRELOAD, then beside faultline)\n"
	    "  -v, --verbose      say what is armed and what the kernel offers, and at exit\n"
	    "                     how often each rule fired\n",
	    f);
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 125;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 125;
	return status_code(st);
}

static void install_forwarders(void)
{
	struct sigaction sa = {.sa_handler = forward};

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
}

/* -v at exit: how often each rule fired (the shim counts them in the table). */
static void print_hits(const struct fl_preload_table *t, const struct fl_preload_rule *rules,
		       size_t n)
{
	uint64_t hits[EXEC_RULES_MAX];
	int got = fl_preload_table_hits(t, hits, n);

	if (got < 0) {
		fprintf(stderr, "faultline exec: hit counts: %s\n", strerror(-got));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct fl_buf text;

		fl_buf_init(&text, FL_RULE_TEXT_MAX);
		if (fl_preload_rule_format(&rules[i], &text) < 0 || !text.data)
			continue;
		fprintf(stderr, "faultline exec: rule %zu \"%s\": %llu hit(s)%s\n", i + 1,
			text.data, (unsigned long long)hits[i], hits[i] ? "" : " -- no effect");
		fl_buf_done(&text);
	}
}

static int run_shim(struct fl_preload_rule *rules, size_t n, uint64_t seed, const char *lib,
		    char **cmd, bool verbose)
{
	struct fl_preload_table *t = NULL;
	char name[FL_SHM_NAME_MAX], *preload = NULL;
	const char *old = getenv("LD_PRELOAD");
	pid_t pid;
	int rc;

	snprintf(name, sizeof(name), FL_SHM_PREFIX "exec-%d", (int)getpid());
	rc = fl_preload_table_create(name, &t);
	if (rc == -EEXIST) {
		/* Left by a faultline exec that had our pid and was killed. */
		(void)fl_preload_table_unlink(name);
		rc = fl_preload_table_create(name, &t);
	}
	if (rc < 0) {
		fprintf(stderr, "faultline exec: creating /dev/shm%s: %s\n", name, strerror(-rc));
		rc = 125;
		goto out;
	}
	rc = fl_preload_table_arm(t, rules, n, seed, 0);
	if (rc < 0) {
		fprintf(stderr, "faultline exec: arming %s: %s\n", name, strerror(-rc));
		rc = 125;
		goto out;
	}
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "") < 0) {
		preload = NULL;
		rc = 125;
		goto out;
	}
	if (verbose)
		fprintf(stderr, "faultline exec: %zu rule(s) in /dev/shm%s, seed %llu, shim %s\n",
			n, name, (unsigned long long)seed, lib);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "faultline exec: fork: %s\n", strerror(errno));
		rc = 125;
		goto out;
	}
	if (pid == 0) {
		int e;

		setenv(FL_SHM_ENV, name, 1);
		setenv("LD_PRELOAD", preload, 1);
		execvp(cmd[0], cmd);
		e = errno;
		fprintf(stderr, "faultline exec: %s: %s\n", cmd[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	rc = wait_child(pid);
	child_pid = 0;
	if (verbose)
		print_hits(t, rules, n);
out:
	free(preload);
	fl_preload_table_close(t);
	if (t)
		(void)fl_preload_table_unlink(name);
	return rc;
}

static int run_seccomp(struct fl_preload_rule *rules, size_t n, uint64_t seed, char **cmd,
		       bool verbose)
{
	struct fl_seccomp_plan *plan = NULL;
	struct fl_seccomp_caps caps;
	struct fl_error err;
	char buf[160];
	int nfd = -1, pidfd = -1, rc;
	pid_t pid;

	fl_error_init(&err);
	fl_seccomp_probe(&caps);
	if (verbose)
		fprintf(stderr, "faultline exec: %s\n",
			fl_seccomp_caps_str(&caps, buf, sizeof(buf)));
	rc = fl_seccomp_plan_new(rules, n, seed, &plan, &err);
	if (rc < 0) {
		fprintf(stderr, "faultline exec: %s\n", err.msg);
		fprintf(stderr, "faultline exec: %s\n",
			fl_seccomp_caps_str(&caps, buf, sizeof(buf)));
		rc = rc == -EINVAL ? 2 : 125;
		goto out;
	}
	fflush(NULL);
	rc = fl_seccomp_spawn(plan, cmd, &pid, &nfd, &err);
	if (rc < 0) {
		fprintf(stderr, "faultline exec: %s\n", err.msg);
		rc = 125;
		goto out;
	}
	child_pid = pid;
	if (nfd >= 0) {
		/* Supervise until the command exits (its pidfd turns readable). */
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		rc = fl_seccomp_supervise(plan, nfd, pidfd);
		if (rc < 0)
			fprintf(stderr, "faultline exec: supervisor: %s\n", strerror(-rc));
		if (verbose) {
			uint64_t seen, inj;

			fl_seccomp_stats(plan, &seen, &inj);
			fprintf(stderr,
				"faultline exec: supervisor saw %llu call(s), failed %llu\n",
				(unsigned long long)seen, (unsigned long long)inj);
		}
	}
	rc = wait_child(pid);
	child_pid = 0;
out:
	if (nfd >= 0)
		close(nfd);
	if (pidfd >= 0)
		close(pidfd);
	fl_seccomp_plan_free(plan);
	return rc;
}

int fl_cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"fault", required_argument, NULL, 'f'},
	    {"seed", required_argument, NULL, 's'},
	    {"seccomp", no_argument, NULL, 'S'},
	    {"preload", required_argument, NULL, 'P'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fl_preload_rule *rules = NULL;
	const char *texts[EXEC_RULES_MAX];
	const char *preload_opt = NULL;
	char lib[PATH_MAX];
	bool use_seccomp = false, verbose = false, have_seed = false, chance = false;
	uint64_t seed = 0;
	size_t n = 0;
	int c, rc;

	optind = 1;
	opterr = 0;
	/* "+": stop at the command, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+f:s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (n == EXEC_RULES_MAX) {
				fprintf(stderr, "faultline exec: at most %u --fault rules\n",
					EXEC_RULES_MAX);
				return 2;
			}
			texts[n++] = optarg;
			break;
		case 's': {
			char *end;

			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || *optarg == '-') {
				fprintf(stderr,
					"faultline exec: --seed \"%s\": expected a number\n",
					optarg);
				return 2;
			}
			have_seed = true;
			break;
		}
		case 'S':
			use_seccomp = true;
			break;
		case 'P':
			preload_opt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "faultline exec: unknown option \"%s\"\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "faultline exec: no command given\n");
		usage(stderr);
		return 2;
	}
	rules = calloc(n ? n : 1, sizeof(*rules));
	if (!rules)
		return 125;
	/* Every rule is checked before anything is created or started. */
	for (size_t i = 0; i < n; i++) {
		struct fl_error err;

		fl_error_init(&err);
		if (fl_preload_rule_parse(texts[i], use_seccomp ? FL_RULE_PARSE_SYSCALL : 0,
					  &rules[i], &err) < 0) {
			fprintf(stderr, "faultline exec: %s\n", err.msg);
			rc = 2;
			goto out;
		}
		chance |= rules[i].shm.flags & FL_RULE_PROB;
	}
	if (!have_seed) {
		seed = fl_rng_fresh_seed();
		/* Without the seed a chance failure could not be reproduced. */
		if (chance)
			fprintf(stderr, "faultline exec: seed %llu (replay with --seed %llu)\n",
				(unsigned long long)seed, (unsigned long long)seed);
	}
	/* Tables left by shimmed processes that were SIGKILLed: nobody else removes them. */
	(void)fl_preload_table_gc();
	install_forwarders();
	if (use_seccomp) {
		rc = run_seccomp(rules, n, seed, argv + optind, verbose);
	} else {
		if (fl_preload_locate(preload_opt, lib, sizeof(lib)) < 0) {
			fprintf(stderr,
				"faultline exec: cannot find %s (use --preload or "
				"FAULTLINE_PRELOAD)\n",
				preload_opt ? preload_opt : FL_PRELOAD_LIB_NAME);
			rc = 125;
			goto out;
		}
		rc = run_shim(rules, n, seed, lib, argv + optind, verbose);
	}
out:
	free(rules);
	return rc;
}
