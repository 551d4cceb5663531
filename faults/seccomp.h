/*
 * The seccomp path of syscall faults, for programs the preload shim cannot
 * reach (static binaries, Go, direct syscalls): for a command faultline
 * starts, chosen syscalls fail with an errno. Rules that always fire become
 * SECCOMP_RET_ERRNO in the kernel; rules with a probability or a `when`
 * schedule become SECCOMP_RET_USER_NOTIF, answered by a supervisor (the
 * process that started the command) that either fails the call or lets it
 * continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *
 * Rules use the syntax of preload/rules.h parsed with FL_RULE_PARSE_SYSCALL:
 * function names are syscall names; items: errno, p=, when=, fd= (compares the
 * syscall's first argument).
 */
#ifndef FL_FAULTS_SECCOMP_H
#define FL_FAULTS_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "core/error.h"
#include "preload/rules.h"

/* Most rules one seccomp plan takes. */
#define FL_SECCOMP_RULES_MAX 64

/* What this kernel offers, probed at run time. */
struct fl_seccomp_caps {
	bool filter;	     /* seccomp(2) with filters */
	bool act_errno;	     /* SECCOMP_RET_ERRNO */
	bool user_notif;     /* SECCOMP_RET_USER_NOTIF */
	bool notif_continue; /* SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5) */
	bool sync_wakeup;    /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6) */
	bool pidfd_getfd;    /* pidfd_getfd(2) (5.6): how the agent takes a child's listener */
	unsigned api_level;  /* libseccomp's seccomp_api_get() */
};

/* Probe the running kernel and libseccomp; never fails, fills what it finds. */
void fl_seccomp_probe(struct fl_seccomp_caps *caps);
/* One line: "seccomp: errno=yes user-notif=yes continue=yes (libseccomp API 6)". */
const char *fl_seccomp_caps_str(const struct fl_seccomp_caps *caps, char *buf, size_t len);

struct fl_seccomp_plan;

/*
 * Check rules against this kernel and compile a plan: resolves syscall names,
 * decides per syscall between RET_ERRNO and RET_USER_NOTIF. No side effects.
 */
int fl_seccomp_plan_new(const struct fl_preload_rule *rules, size_t n, uint64_t seed,
			struct fl_seccomp_plan **out, struct fl_error *err) FL_WUR;
/* Does the plan need a supervisor (any user-notif rule)? */
bool fl_seccomp_plan_needs_notify(const struct fl_seccomp_plan *p);
/* Free a plan; NULL is fine. */
void fl_seccomp_plan_free(struct fl_seccomp_plan *p);

/*
 * Start argv[0] (PATH search) with the plan's filter installed. On success
 * *pid is the child and, when the plan needs one, *notify_fd the supervisor's
 * listener (else -1); the caller runs fl_seccomp_supervise() and reaps *pid.
 */
int fl_seccomp_spawn(struct fl_seccomp_plan *p, char *const argv[], pid_t *pid, int *notify_fd,
		     struct fl_error *err) FL_WUR;
/*
 * Answer notifications on notify_fd until every process under the filter has
 * gone (or stop_fd, if >= 0, becomes readable). Returns 0 or -errno. The
 * calling thread sleeps in SECCOMP_IOCTL_NOTIF_RECV itself; a helper thread
 * watches stop_fd and the listener's hang-up and wakes it with SIGRTMIN+1,
 * whose handler is installed for the duration of the call.
 */
int fl_seccomp_supervise(struct fl_seccomp_plan *p, int notify_fd, int stop_fd);
/*
 * The agent's path. Compile the plan's filter into the plan (allocates; in
 * the parent), so that a forked child of a threaded process can load it with
 * fl_seccomp_plan_install(), which only makes raw syscalls (async-signal-safe):
 * no_new_privs, then the filter. Returns the listener fd (O_CLOEXEC), -1 when
 * the plan needs no supervisor, or -errno.
 */
int fl_seccomp_plan_compile(struct fl_seccomp_plan *p, struct fl_error *err) FL_WUR;
int fl_seccomp_plan_install(const struct fl_seccomp_plan *p);
/* From any thread: from now on the supervisor lets every call run (CONTINUE). */
void fl_seccomp_plan_disarm(struct fl_seccomp_plan *p);
/* From any thread: past this CLOCK_MONOTONIC time, as disarmed (0 = none). */
void fl_seccomp_plan_set_deadline(struct fl_seccomp_plan *p, uint64_t mono_ns);
/*
 * Answer notifications on notify_fd until every process under the filter has
 * gone or stop_fd turns readable; poll(2)-driven, no signals, so several may
 * run in one process (one thread each). 0 or -errno.
 */
int fl_seccomp_serve(struct fl_seccomp_plan *p, int notify_fd, int stop_fd);
/* Calls seen / faults injected by the supervisor so far. */
void fl_seccomp_stats(const struct fl_seccomp_plan *p, uint64_t *seen, uint64_t *injected);

#endif
