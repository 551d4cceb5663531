/* The command form of the `syscall` fault kind: see faults/syscall_launch.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/openat2.h>

#include "core/cap.h"
#include "core/path.h"
#include "faults/syscall_launch.h"
#include "preload/rules.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux 5.6, <linux/sched.h> */
#endif

extern char **environ;

/* The launched command's value of NAME: its env override, else the agent's. */
static const char *launch_getenv(const struct fl_launch *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->nenv; i++)
		if (!strncmp(l->env[i], name, n) && l->env[i][n] == '=')
			return l->env[i] + n + 1;
	return getenv(name);
}

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int fl_launch_resolve(struct fl_launch *l, const struct fl_fault_ctx *ctx, struct fl_error *err)
{
	const char *a0 = l->argv[0];
	struct stat st;
	int rc;

	if (a0[0] == '/') {
		if (strlen(a0) >= sizeof(l->path) || !executable(a0))
			return fl_error_set(err, -ENOENT, "$.target.command[0]",
					    "%s is not an executable file", a0);
		snprintf(l->path, sizeof(l->path), "%s", a0);
	} else {
		const char *p = launch_getenv(l, "PATH");
		bool found = false;

		if (!p || !*p)
			p = "/usr/local/bin:/usr/bin:/bin";
		while (!found && *p) {
			size_t n = strcspn(p, ":");
			char cand[PATH_MAX];

			/* Only absolute PATH entries: the agent's cwd is not the user's. */
			if (n && p[0] == '/' &&
			    snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, a0) <
				(int)sizeof(cand) &&
			    executable(cand)) {
				snprintf(l->path, sizeof(l->path), "%s", cand);
				found = true;
			}
			p += n + (p[n] == ':');
		}
		if (!found)
			return fl_error_set(err, -ENOENT, "$.target.command[0]",
					    "\"%s\" is not found in PATH", a0);
	}
	/* The policy first: a refused path is not looked at (no existence oracle). */
	if (l->out_dir >= 0)
		close(l->out_dir);
	l->out_dir = -1;
	l->out_rel = NULL;
	if (ctx && ctx->allow_command &&
	    (rc = ctx->allow_command(ctx->opaque, l->path, l->argv, l->output[0] ? l->output : NULL,
				     &l->out_dir, &l->out_rel, err)) < 0)
		return rc;
	if (l->cwd[0] && (stat(l->cwd, &st) < 0 || !S_ISDIR(st.st_mode)))
		return fl_error_set(err, -ENOENT, "$.target.cwd", "%s is not a directory", l->cwd);
	if (l->output[0]) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", l->output);
		*strrchr(dir, '/') = '\0';
		if (stat(dir[0] ? dir : "/", &st) < 0 || !S_ISDIR(st.st_mode))
			return fl_error_set(err, -ENOENT, "$.target.output",
					    "%s: the directory does not exist", l->output);
	}
	if (!l->seccomp && fl_preload_locate(NULL, l->lib, sizeof(l->lib)) < 0)
		return fl_error_set(
		    err, -EOPNOTSUPP, "$.target.command",
		    "cannot find " FL_PRELOAD_LIB_NAME
		    " (beside faultline-agent, in ../lib/faultline, or set " FL_PRELOAD_LIB_ENV
		    ")");
	return 0;
}

/* The environment of the command: the agent's, its overrides, the shim's two variables. */
static char **launch_env(const struct fl_launch *l, const char *table)
{
	const char *user_preload = NULL;
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + l->nenv + 3, sizeof(char *));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		bool skip = (len == 10 && !strncmp(environ[i], "LD_PRELOAD", 10)) ||
			    (len == strlen(FL_SHM_ENV) && !strncmp(environ[i], FL_SHM_ENV, len));

		for (size_t j = 0; !skip && j < l->nenv; j++)
			skip = !strncmp(environ[i], l->env[j], len) && l->env[j][len] == '=';
		if (!skip)
			envp[k++] = strdup(environ[i]);
	}
	for (size_t j = 0; j < l->nenv; j++) {
		if (!strncmp(l->env[j], "LD_PRELOAD=", 11)) {
			user_preload = l->env[j] + 11;
			continue;
		}
		envp[k++] = strdup(l->env[j]);
	}
	if (!table) {
		/* Seccomp: no shim; an LD_PRELOAD given in env is the user's. */
		if (user_preload && asprintf(&envp[k++], "LD_PRELOAD=%s", user_preload) < 0)
			envp[k - 1] = NULL;
	} else {
		if (asprintf(&envp[k], "LD_PRELOAD=%s%s%s", l->lib,
			     user_preload && *user_preload ? ":" : "",
			     user_preload ? user_preload : "") < 0)
			envp[k] = NULL;
		k++;
		if (asprintf(&envp[k], "%s=%s", FL_SHM_ENV, table) < 0)
			envp[k] = NULL;
		k++;
	}
	for (size_t i = 0; i < k; i++)
		if (!envp[i]) {
			for (size_t j = 0; j < k; j++)
				free(envp[j]);
			free(envp);
			return NULL;
		}
	return envp;
}

/* Shared with the child of a seccomp launch (MAP_SHARED): its listener, then our go-ahead. */
struct launch_word {
	int state; /* 0 pending, 1 listener published in fd, -1 failed with err */
	int fd;
	int err;
	int go; /* 1: we hold the listener, exec; -1: give up */
};

/*
 * One launched command: a thread that forks it (so that, for seccomp, its
 * PR_SET_PDEATHSIG follows this thread, which lives exactly as long as the
 * supervision), then supervises (seccomp) or waits (shim) and cleans up.
 */
struct runner {
	/* Borrowed from the spawner until the fork is reported. */
	const struct fl_launch *l;
	char **envp;
	int go_r, err_w; /* the child's ends */
	int out_fd;	 /* the command's stdout+stderr, opened by the agent; -1: /dev/null */
	pid_t agent;	 /* our pid, for the child's parent-death check */
	/* Owned. */
	struct launch_word *w;	      /* seccomp: shared with the child */
	struct fl_seccomp_plan *plan; /* seccomp: NULL for the shim */
	char table[FL_SHM_NAME_MAX];  /* shim: disarmed and removed at the end */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int phase; /* RUNNER_* */
	pid_t pid;
	int fork_err;
	int nfd;   /* seccomp: our copy of the listener */
	int pidfd; /* seccomp: the child's */
	struct fl_proc_ident ident;
	int refs;
	struct runner *next; /* registry of supervised commands */
};

/*
 * FORKING -> FORKED (the runner thread forked the command) -> [seccomp with a
 * listener: LISTEN (the agent has its copy) -> KEPT (the runner thread forked
 * the keeper)] -> RUN (the command may exec), or ABORT from FORKED or KEPT.
 */
enum { RUNNER_FORKING, RUNNER_FORKED, RUNNER_LISTEN, RUNNER_KEPT, RUNNER_RUN, RUNNER_ABORT };

/* Supervised (seccomp) commands, for disarm and renew by pid + start time. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct runner *registry;

static void runner_unref(struct runner *r)
{
	int left;

	pthread_mutex_lock(&r->mu);
	left = --r->refs;
	pthread_mutex_unlock(&r->mu);
	if (left)
		return;
	if (r->w)
		munmap(r->w, sizeof(*r->w));
	if (r->nfd >= 0)
		close(r->nfd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	fl_seccomp_plan_free(r->plan);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

/* What a child that does not reach exec reports on its error pipe: errno, at which step. */
enum { STEP_EXEC, STEP_UNSHARE, STEP_OFFSETS, STEP_SETNS, STEP__MAX };
struct child_err {
	int err;
	int step;
};

static const char *step_name(int step)
{
	switch (step) {
	case STEP_UNSHARE:
		return "unshare(CLONE_NEWTIME)";
	case STEP_OFFSETS:
		return "writing /proc/self/timens_offsets";
	case STEP_SETNS:
		return "setns(time_for_children)";
	case STEP_EXEC:
	case STEP__MAX:
		break;
	}
	return "exec";
}

static _Noreturn void child_fail_at(int errfd, int step, int e, int code)
{
	struct child_err ce = {e, step};

	(void)!write(errfd, &ce, sizeof(ce));
	_exit(code);
}

static _Noreturn void child_fail(int errfd, int e, int code)
{
	child_fail_at(errfd, STEP_EXEC, e, code);
}

/*
 * Enter a new time namespace with the offsets in text (timens_offsets
 * lines), async-signal-safe (between fork and exec). unshare(CLONE_NEWTIME)
 * makes the namespace for the caller's children only; its offsets can be
 * written while nobody is in it; then setns(time_for_children) moves the
 * caller itself in (single-threaded: a fork child is), so the pid, group
 * and start time the agent journalled stay those of the command. 0, or
 * -errno with *step. CAP_SYS_ADMIN and CAP_SYS_TIME: the agent's root.
 */
static int timens_enter(const char *text, int *step)
{
	bool raised;
	size_t len = strlen(text);
	int fd, rc, r;

	*step = STEP_UNSHARE;
	if (unshare(CLONE_NEWTIME) < 0)
		return -errno;
	*step = STEP_OFFSETS;
	/* The agent holds CAP_SYS_TIME permitted, not effective (agent/caps.c): for this open. */
	raised = fl_cap_raise(CAP_SYS_TIME) > 0;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : 0;
	if (raised && (r = fl_cap_lower(CAP_SYS_TIME)) < 0) {
		/* Never execute the command with CAP_SYS_TIME effective. */
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (rc < 0)
		return rc;
	errno = 0;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
	close(fd);
	if (rc < 0)
		return rc;
	*step = STEP_SETNS;
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = setns(fd, CLONE_NEWTIME) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int fl_launch_timens_probe(const char *text, char *why, size_t whylen)
{
	struct child_err ce = {0, 0};
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls: the agent is threaded. */
		ce.err = -timens_enter(text, &ce.step);
		(void)!write(p[1], &ce, sizeof(ce));
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		ce.err = errno;
		close(p[0]);
		snprintf(why, whylen, "fork: %s", strerror(ce.err));
		return -ce.err;
	}
	while ((n = read(p[0], &ce, sizeof(ce))) < 0 && errno == EINTR)
		;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(ce)) {
		snprintf(why, whylen, "the probe died");
		return -ECHILD;
	}
	if (ce.err) {
		snprintf(why, whylen, "%s: %s", step_name(ce.step), strerror(ce.err));
		return -ce.err;
	}
	return 0;
}

/*
 * The child, between fork and exec: only async-signal-safe calls (the agent
 * is threaded). It waits for the go byte before anything of the command
 * runs: the agent sends it once the pid is in the journal, and if the agent
 * dies first the pipe reads EOF and the child exits. The command's stdio,
 * group, signals and descriptors are set up as posix_spawn did.
 */
static _Noreturn void child_main(const struct runner *r)
{
	const struct fl_launch *l = r->l;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int go, ef, fd, out;
	char b;

	/* Out of the way of 0-2 first, whatever the agent's descriptors are. */
	go = fcntl(r->go_r, F_DUPFD_CLOEXEC, 10);
	ef = fcntl(r->err_w, F_DUPFD_CLOEXEC, 10);
	out = r->out_fd >= 0 ? fcntl(r->out_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (go < 0 || ef < 0 || (r->out_fd >= 0 && out < 0))
		_exit(126);
	if (r->plan) {
		/* The supervisor is our parent thread: without it, nobody answers. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != r->agent)
			_exit(126);
	}
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		child_fail(ef, errno, 126);
	/* An output file is always opened by the agent (open_output_*), never here by path. */
	fd = out >= 0 ? out : open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(1, 2) < 0)
		child_fail(ef, errno, 126);
	if (l->cwd[0] && chdir(l->cwd) < 0)
		child_fail(ef, errno, 126);
	if (dup2(go, 3) < 0 || dup3(ef, 4, O_CLOEXEC) < 0)
		_exit(126);
	/* The agent's own descriptors (sockets, journal, lock) stay the agent's. */
	if (close_range(5, ~0U, 0) < 0)
		for (int i = 5; i < 1024; i++)
			close(i);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while ((fd = (int)read(3, &b, 1)) < 0 && errno == EINTR)
		;
	if (fd != 1)
		_exit(127); /* no go: the agent did not journal us */
	close(3);
	if (l->timens[0]) {
		int step, e = -timens_enter(l->timens, &step);

		if (e)
			child_fail_at(4, step, e, 126);
	}
	if (r->plan) {
		struct timespec t0, t;
		int nfd = fl_seccomp_plan_install(r->plan);

		if (nfd < -1) {
			__atomic_store_n(&r->w->err, -nfd, __ATOMIC_RELAXED);
			__atomic_store_n(&r->w->state, -1, __ATOMIC_RELEASE);
			child_fail(4, -nfd, 125);
		}
		if (nfd == -1)
			goto exec; /* RET_ERRNO only: nobody to wait for */
		__atomic_store_n(&r->w->fd, nfd, __ATOMIC_RELAXED);
		__atomic_store_n(&r->w->state, 1, __ATOMIC_RELEASE);
		/*
		 * Keep the listener open until the agent has its own copy
		 * (pidfd_getfd); ours closes at exec. Any syscall may now be
		 * filtered, so wait without one (clock_gettime is the vDSO).
		 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (!__atomic_load_n(&r->w->go, __ATOMIC_ACQUIRE)) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 10)
				_exit(125);
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		if (__atomic_load_n(&r->w->go, __ATOMIC_ACQUIRE) < 0)
			_exit(125);
	}
exec:
	execve(l->path, l->argv, r->envp);
	child_fail(4, errno, errno == ENOENT ? 127 : 126);
}

static void registry_del(struct runner *r)
{
	pthread_mutex_lock(&registry_mu);
	for (struct runner **pp = &registry; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&registry_mu);
}

/*
 * The listener's keeper: a process that only holds a copy of the listener
 * and learns of this thread's death (PR_SET_PDEATHSIG, like the command).
 * When the agent is SIGKILLed, its descriptor table may close before this
 * thread's exit sends the command its SIGKILL; the kernel then answers a
 * call the command has in flight, and every later one, with ENOSYS, which
 * the command would see. With the keeper the listener outlives the agent:
 * the keeper is signalled after the command (children are signalled in fork
 * order), SIGKILLs the command's whole process group -- what the command
 * forked is not bound by the command's PDEATHSIG, and would otherwise run on
 * with nobody answering -- and only then exits, closing the listener. Every
 * call in flight stays blocked until its process has a fatal signal pending,
 * so none of them sees ENOSYS. The group id is safe to use then: the
 * command led it (setpgid(0, 0)), and a group id is not reused while any
 * member lives. A SIGTERM from anyone else while the agent lives is ignored.
 */
static pid_t keeper_start(int nfd, pid_t agent, pid_t group)
{
	pid_t k = fork();
	sigset_t all, term;
	int sig;

	if (k != 0)
		return k;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != agent)
		_exit(0);
	if (nfd > 0)
		(void)close_range(0, (unsigned)nfd - 1, 0);
	(void)close_range((unsigned)nfd + 1, ~0U, 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	for (;;) {
		if (sigwait(&term, &sig) != 0 || getppid() == agent)
			continue; /* the agent lives: it kills us itself (SIGKILL) */
		if (group > 1)	  /* never kill(-1): see group_signal */
			(void)kill(-group, SIGKILL);
		_exit(0);
	}
}

static void keeper_end(pid_t keeper)
{
	if (keeper <= 0)
		return;
	kill(keeper, SIGKILL);
	while (waitpid(keeper, NULL, 0) < 0 && errno == EINTR)
		;
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct fl_preload_table *t = NULL;
	pid_t pid, keeper = -1;

	pid = fork();
	if (pid == 0)
		child_main(r);
	pthread_mutex_lock(&r->mu);
	r->pid = pid;
	r->fork_err = pid < 0 ? errno : 0;
	r->phase = RUNNER_FORKED;
	pthread_cond_broadcast(&r->cv);
	if (pid < 0) {
		pthread_mutex_unlock(&r->mu);
		goto out;
	}
	while (r->plan && r->phase != RUNNER_RUN && r->phase != RUNNER_ABORT) {
		if (r->phase == RUNNER_LISTEN) {
			/*
			 * By this thread, after the command (so it is signalled after
			 * it) and before the command may exec: from its first call on,
			 * the listener outlives the agent (see keeper_start).
			 */
			keeper = keeper_start(r->nfd, r->agent, pid);
			r->phase = RUNNER_KEPT;
			pthread_cond_broadcast(&r->cv);
		}
		pthread_cond_wait(&r->cv, &r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	if (r->plan && r->phase == RUNNER_RUN && r->nfd >= 0) {
		/* Until the command exits (its pidfd), then for what it forked, if anything. */
		int rc = fl_seccomp_serve(r->plan, r->nfd, r->pidfd);

		/* A supervisor that cannot answer: stop the command, do not leave it hanging. */
		if (rc < 0)
			(void)fl_launch_stop(&r->ident, 0, 0);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (rc == 0)
			(void)fl_seccomp_serve(r->plan, r->nfd, -1);
		keeper_end(keeper);
		registry_del(r);
		goto out;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	keeper_end(keeper); /* aborted after the keeper started */
	/* Its children (same table, inherited) run on, unfaulted. */
	if (r->table[0] && fl_preload_table_open(r->table, &t) == 0) {
		if (fl_preload_table_disarm(t) < 0)
			(void)0; /* the unlink below still ends it for new mappers */
		fl_preload_table_close(t);
	}
	if (r->table[0])
		(void)fl_preload_table_unlink(r->table);
out:
	runner_unref(r);
	return NULL;
}

/*
 * The output file, beneath the directory the agent's policy allows
 * (l->out_dir): no symbolic link or ".." may leave it, checked by the kernel
 * at this very open, so nothing swapped in since the plan gets around it.
 * Only a regular file with one link: a hard link made inside the directory
 * would name a file outside it. Non-blocking for the open (a FIFO would
 * hang the agent), blocking again for the command.
 */
static int open_output_beneath(const struct fl_launch *l, struct fl_error *err)
{
	struct open_how how = {
	    .flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .mode = 0640,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd, e;

	fd = (int)syscall(SYS_openat2, l->out_dir, l->out_rel, &how, sizeof(how));
	if (fd < 0) {
		e = errno;
		if (e == EXDEV || e == ELOOP)
			return fl_error_set(err, -EPERM, "$.target.output",
					    "%s leads out of the agent's allowed output directory "
					    "(a symbolic link)",
					    l->output);
		return fl_error_set(err, -e, "$.target.output", "%s: %s", l->output, strerror(e));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    fcntl(fd, F_SETFL, O_APPEND) < 0) {
		close(fd);
		return fl_error_set(err, -EPERM, "$.target.output",
				    "%s is not a regular file with a single link", l->output);
	}
	return fd;
}

/*
 * The output file when no policy confines it (l->out_dir < 0): any absolute
 * path, as documented, but opened here, never blocking and never opening
 * anything but a regular file -- a FIFO would hang the child's open and the
 * agent waiting for its exec, a device would be opened for real. An existing
 * path is looked at with O_PATH first; a missing one is created (O_EXCL: a
 * regular file of our own making).
 */
static int open_output_path(const struct fl_launch *l, struct fl_error *err)
{
	const int wflags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	int fd;

	fd = fl_path_open_regular(l->output, wflags & ~O_CLOEXEC, false, &st);
	if (fd == -ENOENT) {
		fd = open(l->output, wflags | O_CREAT | O_EXCL, 0640);
		if (fd < 0 && errno == EEXIST) /* made meanwhile: look again */
			fd = fl_path_open_regular(l->output, wflags & ~O_CLOEXEC, false, &st);
		else if (fd < 0)
			fd = -errno;
	}
	if (fd == -EINVAL)
		return fl_error_set(err, -EINVAL, "$.target.output", "%s is not a regular file",
				    l->output);
	if (fd < 0)
		return fl_error_set(err, fd, "$.target.output", "%s: %s", l->output, strerror(-fd));
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) { /* blocking again, for the command */
		close(fd);
		return fl_error_set(err, -errno, "$.target.output", "%s: %s", l->output,
				    strerror(errno));
	}
	return fd;
}

/* The child published its listener (or failed, or died): take our own copy. */
static int take_listener(struct runner *r, struct fl_error *err)
{
	struct timespec ts = {0, 50000};
	int st;

	for (int i = 0; i < 100000; i++) {
		siginfo_t si = {0};

		st = __atomic_load_n(&r->w->state, __ATOMIC_ACQUIRE);
		if (st)
			break;
		if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
			return fl_error_set(err, -ECHILD, "$.target.command",
					    "the command died before its filter loaded");
		nanosleep(&ts, NULL);
	}
	if (st != 1)
		return fl_error_set(
		    err, st ? -__atomic_load_n(&r->w->err, __ATOMIC_RELAXED) : -ETIMEDOUT,
		    "$.target.command", "loading the seccomp filter: %s",
		    strerror(st ? __atomic_load_n(&r->w->err, __ATOMIC_RELAXED) : ETIMEDOUT));
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd < 0)
		return fl_error_set(err, -errno, "$.target.command", "pidfd_open: %s",
				    strerror(errno));
	r->nfd = (int)syscall(SYS_pidfd_getfd, r->pidfd,
			      __atomic_load_n(&r->w->fd, __ATOMIC_RELAXED), 0);
	if (r->nfd < 0)
		return fl_error_set(err, -errno, "$.target.command",
				    "taking the command's seccomp listener (pidfd_getfd): %s",
				    strerror(errno));
	return 0;
}

int fl_launch_spawn(const struct fl_launch *l, const char *table, struct fl_seccomp_plan *plan,
		    int (*started)(void *opaque, const struct fl_proc_ident *p,
				   struct fl_error *err),
		    void *opaque, struct fl_proc_ident *out, struct fl_error *err)
{
	int go[2] = {-1, -1}, ef[2] = {-1, -1};
	struct runner *r = NULL;
	char **envp = NULL;
	pthread_attr_t ta;
	pthread_t th;
	bool threaded = false;
	struct child_err ce = {0, 0};
	int rc, ofd = -1;
	ssize_t n;

	r = calloc(1, sizeof(*r));
	if (!r) {
		fl_seccomp_plan_free(plan);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	r->plan = plan;
	r->nfd = r->pidfd = r->out_fd = -1;
	r->refs = 1; /* this function; the thread takes one more */
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	envp = launch_env(l, plan ? NULL : table);
	if (!envp) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if (!plan)
		snprintf(r->table, sizeof(r->table), "%s", table);
	if (plan) {
		r->w = mmap(NULL, sizeof(*r->w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
		if (r->w == MAP_FAILED) {
			r->w = NULL;
			rc = fl_error_set(err, -errno, "", "mmap: %s", strerror(errno));
			goto out;
		}
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ef, O_CLOEXEC) < 0) {
		rc = fl_error_set(err, -errno, "", "pipe: %s", strerror(errno));
		goto out;
	}
	if (l->out_dir >= 0 && (rc = ofd = open_output_beneath(l, err)) < 0)
		goto out;
	if (l->out_dir < 0 && l->output[0] && (rc = ofd = open_output_path(l, err)) < 0)
		goto out;
	r->out_fd = ofd;
	r->l = l;
	r->envp = envp;
	r->go_r = go[0];
	r->err_w = ef[1];
	r->agent = getpid();
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&ta, 256 * 1024);
	r->refs = 2;
	threaded = pthread_create(&th, &ta, runner_main, r) == 0;
	pthread_attr_destroy(&ta);
	if (!threaded) {
		r->refs = 1;
		rc = fl_error_set(err, -EAGAIN, "", "cannot start a thread to watch the command");
		goto out;
	}
	pthread_mutex_lock(&r->mu);
	while (r->phase == RUNNER_FORKING)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	close(go[0]);
	close(ef[1]);
	go[0] = ef[1] = -1;
	if (ofd >= 0)
		close(ofd);
	ofd = -1;
	if (r->pid < 0) {
		rc = fl_error_set(err, -r->fork_err, "$.target.command", "fork: %s",
				  strerror(r->fork_err));
		goto out;
	}
	r->ident.pid = r->pid;
	/* It waits for the go byte: its stat is there. */
	if ((rc = fl_proc_stat(r->pid, &r->ident.start, NULL)) < 0) {
		rc = fl_error_set(err, rc, "$.target.command", "%s ended at once", l->path);
		goto out;
	}
	/* The pid goes to the journal before anything of the command runs. */
	if (started && (rc = started(opaque, &r->ident, err)) < 0)
		goto out; /* closing go: the child reads EOF and exits */
	if (write(go[1], "g", 1) != 1) {
		rc = fl_error_set(err, -errno, "", "starting the command: %s", strerror(errno));
		goto out;
	}
	close(go[1]);
	go[1] = -1;
	if (plan && fl_seccomp_plan_needs_notify(plan)) {
		rc = take_listener(r, err);
		if (rc == 0) {
			/* The keeper holds a copy before the command can run. */
			pthread_mutex_lock(&r->mu);
			r->phase = RUNNER_LISTEN;
			pthread_cond_broadcast(&r->cv);
			while (r->phase == RUNNER_LISTEN)
				pthread_cond_wait(&r->cv, &r->mu);
			pthread_mutex_unlock(&r->mu);
		}
		__atomic_store_n(&r->w->go, rc < 0 ? -1 : 1, __ATOMIC_RELEASE);
		if (rc < 0)
			goto out;
		pthread_mutex_lock(&registry_mu);
		r->next = registry;
		registry = r;
		pthread_mutex_unlock(&registry_mu);
	}
	if (plan) {
		pthread_mutex_lock(&r->mu);
		r->phase = RUNNER_RUN;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	/* EOF: the exec succeeded (the pipe is close-on-exec); else its errno. */
	while ((n = read(ef[0], &ce, sizeof(ce))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(ce) && ce.step != STEP_EXEC) {
		/* The plan's probe passed: the kernel changed its mind, or the clock went back. */
		rc = fl_error_set(err, -ce.err,
				  ce.err == ERANGE ? "$.params.offset" : "$.target.command",
				  "entering the command's time namespace: %s: %s",
				  step_name(ce.step), strerror(ce.err));
		goto out;
	}
	if (n == (ssize_t)sizeof(ce)) {
		rc = fl_error_set(err, -ce.err, "$.target.command", "starting %s: %s", l->path,
				  strerror(ce.err));
		goto out;
	}
	*out = r->ident;
	rc = 0;
out:
	if (rc < 0 && threaded && r->pid > 0) {
		/* Before go it exits on EOF; after, it is stopped here (by pid + start). */
		if (go[1] < 0 && r->ident.start)
			(void)fl_launch_stop(&r->ident, 0, 0);
		pthread_mutex_lock(&r->mu);
		if (r->phase == RUNNER_FORKED || r->phase == RUNNER_KEPT)
			r->phase = RUNNER_ABORT;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ef[i] >= 0)
			close(ef[i]);
	}
	if (ofd >= 0)
		close(ofd);
	if (r)
		runner_unref(r);
	for (size_t i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
	return rc;
}

/* Apply f to the supervisor of p, if it has one here. */
static void registry_each(const struct fl_proc_ident *p, uint64_t deadline, bool disarm)
{
	pthread_mutex_lock(&registry_mu);
	for (struct runner *r = registry; r; r = r->next)
		if (r->ident.pid == p->pid && r->ident.start == p->start) {
			if (disarm)
				fl_seccomp_plan_disarm(r->plan);
			else
				fl_seccomp_plan_set_deadline(r->plan, deadline);
		}
	pthread_mutex_unlock(&registry_mu);
}

void fl_launch_disarm(const struct fl_proc_ident *p)
{
	registry_each(p, 0, true);
}

void fl_launch_set_deadline(const struct fl_proc_ident *p, uint64_t mono_ns)
{
	registry_each(p, mono_ns, false);
}

/* Wait until the pidfd says the process ended, at most ms. */
static bool wait_exit(int pidfd, unsigned ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int r;

	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

/*
 * The group only when the verified leader still leads it, and never for a
 * pid <= 1: kill(-1, sig) is every process the agent may signal. A command
 * the agent launched is never PID 1, so a record that says so is not ours.
 */
static void group_signal(const struct fl_proc_ident *p, int pidfd, int sig)
{
	if (p->pid <= 1 || getpgid(p->pid) != p->pid || kill(-p->pid, sig) < 0)
		(void)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int fl_launch_stop(const struct fl_proc_ident *p, uint64_t key, unsigned grace_ms)
{
	int fd;

	if (p->pid <= 1)
		return -EPERM;
	fd = fl_proc_pidfd_held(key, p);

	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	group_signal(p, fd, SIGTERM);
	if (!wait_exit(fd, grace_ms)) {
		group_signal(p, fd, SIGKILL);
		if (!wait_exit(fd, 5000)) {
			close(fd);
			return -ETIMEDOUT;
		}
	}
	close(fd);
	return 0;
}
