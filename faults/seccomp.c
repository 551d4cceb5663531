/* The seccomp path of syscall faults: probe, plan, spawn under a filter, supervise. */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "faults/seccomp.h"

#include <sys/ioctl.h>

/* Linux 6.6: wake the supervisor on the target's CPU (not in Debian 12's headers). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

struct sc_rule {
	int nr;	     /* syscall number on the native arch */
	bool notify; /* answered by the supervisor */
	struct fl_shm_rule r;
	uint64_t count; /* filter-matched calls so far (supervisor side) */
};

struct fl_seccomp_plan {
	struct sc_rule rules[FL_SECCOMP_RULES_MAX];
	size_t n;
	bool notify;
	struct fl_rng rng;
	uint64_t seen, injected;
	/* Set from other threads (revert, renew); the supervisor reads them per call. */
	int disarmed;	      /* atomic: let every call run */
	uint64_t deadline_ns; /* atomic: CLOCK_MONOTONIC; past it, as disarmed; 0 = none */
	/* fl_seccomp_plan_compile(): the filter, loadable without allocating. */
	struct sock_fprog prog;
};

static bool action_avail(uint32_t action)
{
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

void fl_seccomp_probe(struct fl_seccomp_caps *caps)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	memset(caps, 0, sizeof(*caps));
	caps->api_level = seccomp_api_get();
	/* SECCOMP_GET_ACTION_AVAIL exists since 4.14; ALLOW is always there if it does. */
	caps->filter = action_avail(SECCOMP_RET_ALLOW);
	caps->act_errno = caps->filter && action_avail(SECCOMP_RET_ERRNO);
	caps->user_notif =
	    caps->filter && action_avail(SECCOMP_RET_USER_NOTIF) && caps->api_level >= 5;
	/* The CONTINUE flag cannot be probed without a filter; it came with Linux 5.5. */
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2) {
		caps->notif_continue =
		    caps->user_notif && (major > 5 || (major == 5 && minor >= 5));
		/* SYNC_WAKE_UP cannot be probed without a listener either; Linux 6.6. */
		caps->sync_wakeup = caps->user_notif && (major > 6 || (major == 6 && minor >= 6));
	}
	/* pidfd_getfd (5.6): EBADF for a bad pidfd when it exists, ENOSYS when not. */
	caps->pidfd_getfd = syscall(SYS_pidfd_getfd, -1, 0, 0) < 0 && errno == EBADF;
}

const char *fl_seccomp_caps_str(const struct fl_seccomp_caps *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "seccomp: filter=%s errno=%s user-notif=%s continue=%s sync-wakeup=%s "
		 "pidfd-getfd=%s (libseccomp API %u)",
		 c->filter ? "yes" : "no", c->act_errno ? "yes" : "no",
		 c->user_notif ? "yes" : "no", c->notif_continue ? "yes" : "no",
		 c->sync_wakeup ? "yes" : "no", c->pidfd_getfd ? "yes" : "no", c->api_level);
	return buf;
}

int fl_seccomp_plan_new(const struct fl_preload_rule *rules, size_t n, uint64_t seed,
			struct fl_seccomp_plan **out, struct fl_error *err)
{
	struct fl_seccomp_caps caps;
	struct fl_seccomp_plan *p = NULL;
	size_t k = 0;
	int rc;

	fl_seccomp_probe(&caps);
	if (!caps.act_errno) {
		rc = fl_error_set(err, -EOPNOTSUPP, "", "seccomp filters are not available here");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fl_shm_rule *r = &rules[i].shm;

		if (!(r->flags & FL_RULE_ERRNO) || r->gai ||
		    (r->flags &
		     ~(uint32_t)(FL_RULE_ERRNO | FL_RULE_PROB | FL_RULE_WHEN | FL_RULE_FD))) {
			rc = fl_error_set(err, -EINVAL, "",
					  "seccomp rule %zu (%s): only an errno with p=, when= and "
					  "fd= is possible on the seccomp path",
					  i + 1, rules[i].funcs[0]);
			goto out;
		}
		for (unsigned f = 0; f < rules[i].nfuncs; f++) {
			int nr = seccomp_syscall_resolve_name(rules[i].funcs[f]);

			if (nr == __NR_SCMP_ERROR || nr < 0) {
				rc = fl_error_set(err, -EINVAL, "",
						  "\"%s\": no such syscall on this arch",
						  rules[i].funcs[f]);
				goto out;
			}
			if (k == FL_SECCOMP_RULES_MAX) {
				rc = fl_error_set(err, -E2BIG, "", "more than %d seccomp rules",
						  FL_SECCOMP_RULES_MAX);
				goto out;
			}
			p->rules[k].nr = nr;
			p->rules[k].r = *r;
			k++;
		}
	}
	p->n = k;
	/*
	 * A syscall whose only rule always fires is failed by the kernel alone
	 * (RET_ERRNO, with an A0 compare for fd=). Any other syscall with rules
	 * goes to the supervisor, which then applies all of that syscall's rules
	 * in order: BPF cannot count calls or draw random numbers.
	 */
	for (size_t i = 0; i < k; i++) {
		size_t same = 0;

		for (size_t j = 0; j < k; j++)
			same += p->rules[j].nr == p->rules[i].nr;
		p->rules[i].notify =
		    same > 1 || (p->rules[i].r.flags & (FL_RULE_PROB | FL_RULE_WHEN));
		p->notify |= p->rules[i].notify;
	}
	if (p->notify && !(caps.user_notif && caps.notif_continue)) {
		rc =
		    fl_error_set(err, -EOPNOTSUPP, "",
				 "p= and when= (and several rules for one syscall) need seccomp "
				 "user notification with CONTINUE (Linux 5.5), not available here");
		goto out;
	}
	fl_rng_init(&p->rng, seed);
	*out = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	return rc;
}

bool fl_seccomp_plan_needs_notify(const struct fl_seccomp_plan *p)
{
	return p && p->notify;
}

void fl_seccomp_plan_free(struct fl_seccomp_plan *p)
{
	if (p)
		free(p->prog.filter);
	free(p);
}

void fl_seccomp_plan_disarm(struct fl_seccomp_plan *p)
{
	__atomic_store_n(&p->disarmed, 1, __ATOMIC_RELEASE);
}

void fl_seccomp_plan_set_deadline(struct fl_seccomp_plan *p, uint64_t mono_ns)
{
	__atomic_store_n(&p->deadline_ns, mono_ns, __ATOMIC_RELEASE);
}

void fl_seccomp_stats(const struct fl_seccomp_plan *p, uint64_t *seen, uint64_t *injected)
{
	*seen = p ? p->seen : 0;
	*injected = p ? p->injected : 0;
}

/* Argument 0 (the fd) equals fd; SCMP_A0() leaves datum_b to the initializer's default. */
static struct scmp_arg_cmp fd_is(int fd)
{
	return (struct scmp_arg_cmp){
	    .arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)fd, .datum_b = 0};
}

/*
 * The NOTIFY entries of one syscall. When every rule for it names an fd=,
 * the filter compares the first argument itself and only those calls reach
 * the supervisor: a call on another descriptor never leaves the kernel
 * (`write:EIO:p=0.1:fd=5` costs nothing on stdout). Otherwise every call does.
 */
static int add_notify(scmp_filter_ctx ctx, const struct fl_seccomp_plan *p, int nr)
{
	bool all_fd = true;
	int rc = 0;

	for (size_t j = 0; j < p->n; j++)
		if (p->rules[j].nr == nr && !(p->rules[j].r.flags & FL_RULE_FD))
			all_fd = false;
	if (!all_fd)
		return seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
	for (size_t j = 0; j < p->n && rc == 0; j++) {
		bool seen = false;

		if (p->rules[j].nr != nr)
			continue;
		for (size_t k = 0; k < j; k++)
			seen |= p->rules[k].nr == nr && p->rules[k].r.fd == p->rules[j].r.fd;
		if (!seen)
			rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1, fd_is(p->rules[j].r.fd));
	}
	return rc;
}

/* In the child: build and load the filter. Returns the listener fd, -1 if none, or -errno. */
static int plan_install(const struct fl_seccomp_plan *p)
{
	scmp_filter_ctx ctx;
	int rc = 0, nfd = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct sc_rule *s = &p->rules[i];
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= s->notify && p->rules[j].nr == s->nr;
		if (dup)
			continue; /* one NOTIFY entry per syscall */
		if (s->notify)
			rc = add_notify(ctx, p, s->nr);
		else if (s->r.flags & FL_RULE_FD)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)s->r.err), s->nr, 1,
					      fd_is(s->r.fd));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)s->r.err), s->nr, 0);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (rc == 0 && p->notify) {
		nfd = seccomp_notify_fd(ctx);
		if (nfd < 0)
			rc = nfd;
	}
	seccomp_release(ctx);
	return rc < 0 ? rc : nfd;
}

int fl_seccomp_plan_compile(struct fl_seccomp_plan *p, struct fl_error *err)
{
	scmp_filter_ctx ctx = NULL;
	struct stat st;
	void *buf = NULL;
	int rc = 0, fd = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		const struct sc_rule *s = &p->rules[i];
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= s->notify && p->rules[j].nr == s->nr;
		if (dup)
			continue;
		if (s->notify)
			rc = add_notify(ctx, p, s->nr);
		else if (s->r.flags & FL_RULE_FD)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)s->r.err), s->nr, 1,
					      fd_is(s->r.fd));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)s->r.err), s->nr, 0);
	}
	if (rc < 0) {
		rc = fl_error_set(err, rc, "", "building the seccomp filter: %s", strerror(-rc));
		goto out;
	}
	/* libseccomp 2.5 exports to a descriptor only; a memfd holds it. */
	fd = memfd_create("faultline-bpf", MFD_CLOEXEC);
	if (fd < 0 || (rc = seccomp_export_bpf(ctx, fd)) < 0 || fstat(fd, &st) < 0 ||
	    st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter))) {
		rc = fl_error_set(err, rc < 0 ? rc : -EIO, "", "exporting the seccomp filter");
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		rc = fl_error_set(err, -EIO, "", "reading the seccomp filter back");
		goto out;
	}
	free(p->prog.filter);
	p->prog.filter = buf;
	p->prog.len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

int fl_seccomp_plan_install(const struct fl_seccomp_plan *p)
{
	long r;

	if (!p->prog.filter)
		return -EINVAL;
	/* What libseccomp's seccomp_load() does by default: no privileges to gain by exec. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    p->notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &p->prog);
	if (r < 0)
		return -errno;
	return p->notify ? (int)r : -1;
}

/* Shared between spawner and child: the child's listener fd, or its error. */
struct spawn_word {
	int state; /* 0 pending, 1 ready, -1 failed */
	int fd;
	int err;
};

int fl_seccomp_spawn(struct fl_seccomp_plan *p, char *const argv[], pid_t *pid, int *notify_fd,
		     struct fl_error *err)
{
	struct spawn_word *w;
	long child;
	int rc;

	if (!argv || !argv[0])
		return fl_error_set(err, -EINVAL, "", "no command");
	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		return fl_error_set(err, -errno, "", "mmap: %s", strerror(errno));
	/*
	 * The listener fd is born in the child, after its filter is loaded; any
	 * syscall the child makes from then on may itself be filtered, so it
	 * cannot send the fd over a socket. With CLONE_FILES the child shares our
	 * descriptor table until execve() unshares it: the fd simply appears here.
	 */
	child = syscall(SYS_clone, (unsigned long)(p->notify ? CLONE_FILES : 0) | SIGCHLD, NULL,
			NULL, NULL, NULL);
	if (child < 0) {
		rc = fl_error_set(err, -errno, "", "clone: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		int r = plan_install(p);

		if (r < -1) {
			__atomic_store_n(&w->err, -r, __ATOMIC_RELAXED);
			__atomic_store_n(&w->state, -1, __ATOMIC_RELEASE);
			_exit(125);
		}
		__atomic_store_n(&w->fd, r, __ATOMIC_RELAXED);
		__atomic_store_n(&w->state, 1, __ATOMIC_RELEASE);
		execvp(argv[0], argv);
		r = errno;
		dprintf(2, "faultline: %s: %s\n", argv[0], strerror(r));
		_exit(r == ENOENT ? 127 : 126);
	}
	for (;;) {
		int st = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
		siginfo_t si = {0};
		struct timespec ts = {0, 50000};

		if (st == 1)
			break;
		if (st == -1) {
			rc = -__atomic_load_n(&w->err, __ATOMIC_RELAXED);
			waitpid((pid_t)child, NULL, 0);
			fl_error_set(err, rc, "", "loading the seccomp filter: %s", strerror(-rc));
			goto out;
		}
		if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid) {
			rc = fl_error_set(err, -ECHILD, "",
					  "the child died before its filter loaded");
			waitpid((pid_t)child, NULL, 0);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	*pid = (pid_t)child;
	*notify_fd = p->notify ? w->fd : -1;
	rc = 0;
out:
	munmap(w, sizeof(*w));
	return rc;
}

/* Decide one notification: 0 = let it run, else the errno to fail it with. */
static int decide(struct fl_seccomp_plan *p, const struct seccomp_notif *req)
{
	p->seen++;
	for (size_t i = 0; i < p->n; i++) {
		struct sc_rule *s = &p->rules[i];
		const struct fl_shm_rule *r = &s->r;

		if (s->nr != req->data.nr)
			continue;
		if ((r->flags & FL_RULE_FD) && (int64_t)req->data.args[0] != r->fd)
			continue;
		s->count++;
		if ((r->flags & FL_RULE_WHEN) &&
		    (s->count < r->when_first || s->count > r->when_last ||
		     (s->count - r->when_first) % (r->when_step ? r->when_step : 1)))
			continue;
		if ((r->flags & FL_RULE_PROB) && (fl_rng_next(&p->rng) >> 32) >= r->prob)
			continue;
		p->injected++;
		return r->err;
	}
	return 0;
}

/*
 * The watcher: a thread that sleeps in poll(2) so that the supervisor itself
 * never polls. It waits for stop_fd to turn readable and for the listener to
 * hang up (every process under the filter gone; it asks for no events, so
 * the POLLIN wake-up of each notification passes it by). Then it raises
 * `stop` and interrupts the supervisor's sleeping RECV with a signal, again
 * every 20 ms in case one landed just before RECV went to sleep. Kernels
 * before 6.11 never end a sleeping RECV by themselves when the last user of
 * the filter goes; later ones do, and the loop below notices that too.
 */
#define STOP_SIGNAL (SIGRTMIN + 1)

struct stopper {
	pthread_t supervisor, thread;
	int stop_fd, notify_fd;
	int stop; /* atomic: stop_fd fired */
	int done; /* atomic: the supervisor has left its loop */
};

static void stop_signal_noop(int sig)
{
	(void)sig;
}

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	struct pollfd p[2] = {{.fd = s->notify_fd, .events = 0},
			      {.fd = s->stop_fd, .events = POLLIN}};

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		int r = poll(p, s->stop_fd >= 0 ? 2 : 1, 100);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
			struct timespec ts = {0, 20000000};

			pthread_kill(s->supervisor, STOP_SIGNAL);
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* The answer to one notification, filled in place. */
static void answer(struct fl_seccomp_plan *p, const struct seccomp_notif *req,
		   struct seccomp_notif_resp *resp)
{
	int e = decide(p, req);

	resp->id = req->id;
	resp->val = 0;
	/* Let it run: the kernel executes the call as if no filter were there. */
	resp->error = e ? -e : 0;
	resp->flags = e ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
}

/*
 * The hot loop is RECV -> decide -> SEND with nothing else: RECV sleeps on
 * the listener's wait queue itself (no poll(2) per notification, which cost
 * a syscall and a wait-queue round per intercepted call), and with
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6) the target's notification
 * wakes us on its CPU and our SEND wakes it on ours: two context switches on
 * one CPU per call. Pinning the supervisor to a CPU would only fight that
 * migration, so it is not done. RECV fails with ENOENT once every process
 * under the filter has gone (Linux 6.11 wakes a sleeping RECV for it; poll
 * then reports POLLHUP), or when a target died between its notification and
 * our RECV.
 */
int fl_seccomp_supervise(struct fl_seccomp_plan *p, int notify_fd, int stop_fd)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	struct stopper st = {.stop_fd = stop_fd, .notify_fd = notify_fd};
	struct sigaction sa = {.sa_handler = stop_signal_noop}, old_sa;
	bool stopper = false;
	int rc = 0;

	if (seccomp_notify_alloc(&req, &resp) < 0)
		return -ENOMEM;
	(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	/* No SA_RESTART: the signal must end a sleeping RECV with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(STOP_SIGNAL, &sa, &old_sa);
	st.supervisor = pthread_self();
	stopper = pthread_create(&st.thread, NULL, stopper_main, &st) == 0;
	if (!stopper)
		sigaction(STOP_SIGNAL, &old_sa, NULL);
	for (;;) {
		if (__atomic_load_n(&st.stop, __ATOMIC_ACQUIRE))
			break;
		/* The kernel refuses a request buffer that is not zeroed. */
		memset(req, 0, sizeof(*req));
		if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			struct pollfd pfd = {.fd = notify_fd, .events = POLLIN};
			int e = errno;

			if (e == EINTR)
				continue;
			if (e != ENOENT) {
				rc = -e;
				break;
			}
			/* Everyone under the filter is gone, or one target died: which? */
			if (poll(&pfd, 1, stopper ? 0 : 50) > 0 &&
			    (pfd.revents & (POLLHUP | POLLERR)))
				break;
			if (!stopper && stop_fd >= 0) {
				struct pollfd sp = {.fd = stop_fd, .events = POLLIN};

				if (poll(&sp, 1, 0) > 0)
					break;
			}
			continue;
		}
		answer(p, req, resp);
		/* ENOENT: the call was interrupted meanwhile; nothing to answer. */
		(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
	if (stopper) {
		__atomic_store_n(&st.done, 1, __ATOMIC_RELEASE);
		pthread_join(st.thread, NULL);
		sigaction(STOP_SIGNAL, &old_sa, NULL);
	}
	seccomp_notify_free(req, resp);
	return rc;
}

/* Disarmed, or past its deadline: every call runs as if no rule were there. */
static bool lapsed(const struct fl_seccomp_plan *p)
{
	uint64_t d = __atomic_load_n(&p->deadline_ns, __ATOMIC_ACQUIRE);
	struct timespec ts;

	if (__atomic_load_n(&p->disarmed, __ATOMIC_ACQUIRE))
		return true;
	if (!d)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec >= d;
}

/*
 * The agent's loop (several supervisors in one process, so no signals):
 * poll(2) on the listener and stop_fd, then RECV -> decide -> SEND for every
 * pending notification. One syscall more per call than fl_seccomp_supervise's
 * loop; SYNC_WAKE_UP still applies, poll's wait-queue entry is woken the same way.
 */
int fl_seccomp_serve(struct fl_seccomp_plan *p, int notify_fd, int stop_fd)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	int rc = 0;

	if (seccomp_notify_alloc(&req, &resp) < 0)
		return -ENOMEM;
	(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	for (;;) {
		struct pollfd pf[2] = {{.fd = notify_fd, .events = POLLIN},
				       {.fd = stop_fd, .events = POLLIN}};
		int r = poll(pf, stop_fd >= 0 ? 2 : 1, -1);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (stop_fd >= 0 && (pf[1].revents & POLLIN))
			break;
		if (pf[0].revents & POLLIN) {
			memset(req, 0, sizeof(*req));
			if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
				if (errno == EINTR || errno == ENOENT)
					continue;
				rc = -errno;
				break;
			}
			if (lapsed(p)) {
				resp->id = req->id;
				resp->val = 0;
				resp->error = 0;
				resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			} else {
				answer(p, req, resp);
			}
			(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
			continue;
		}
		/* Every process under the filter has gone. */
		if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
	}
	seccomp_notify_free(req, resp);
	return rc;
}
