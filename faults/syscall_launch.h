/*
 * The command form of the `syscall` fault kind: a command the agent launches
 * under the preload shim with a rule table of its own, and stops again when
 * the fault ends. Internal to faults/syscall.c (not a fault kind of its own).
 * The target's grammar and struct fl_launch: faults/spec/launch.h.
 */
#ifndef FL_FAULTS_SYSCALL_LAUNCH_H
#define FL_FAULTS_SYSCALL_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "faults/fault.h"
#include "faults/proc_select.h"
#include "faults/seccomp.h"
#include "faults/spec/launch.h"

/*
 * Plan time: find the program (PATH lookup), check cwd and the shim library,
 * ask ctx's command policy. Reads the system, changes nothing.
 */
int fl_launch_resolve(struct fl_launch *l, const struct fl_fault_ctx *ctx,
		      struct fl_error *err) FL_WUR;
/*
 * Start the command, in a process group of its own, either under the shim
 * (plan NULL: LD_PRELOAD=the shim, FAULTLINE_SHM=table, already created and
 * armed) or under the plan's seccomp filter (plan compiled; ownership passes
 * here, always). A detached thread forks it and, for seccomp, answers its
 * notifications (fl_seccomp_serve) until it and all it forked are gone; for
 * the shim it reaps it and disarms and removes the table, so a command that
 * ends while armed leaves nothing behind.
 *
 * No window without a record: the child waits on a pipe before any of the
 * command runs; started(opaque, pid + start time) is called then (the agent
 * journals the pid), and only when it returns 0 is the go byte sent. If the
 * agent dies before that, the child reads EOF and exits; if started fails,
 * likewise. A seccomp child also dies with its supervising thread
 * (PR_SET_PDEATHSIG), since nobody would answer its notifications. Returns
 * once the command has exec'd (an exec failure is reported with its errno).
 * With l->timens set, the child enters a time namespace of its own with
 * those offsets after the go byte and before exec: the command (same pid,
 * group and start time) and all it forks read the offset clocks; a failure
 * there fails the launch like an exec failure.
 */
int fl_launch_spawn(const struct fl_launch *l, const char *table, struct fl_seccomp_plan *plan,
		    int (*started)(void *opaque, const struct fl_proc_ident *p,
				   struct fl_error *err),
		    void *opaque, struct fl_proc_ident *out, struct fl_error *err) FL_WUR;
/*
 * Can a command enter a time namespace with these timens_offsets lines
 * (struct fl_launch.timens)? A child of ours tries the very steps the
 * command's child takes, then exits. 0, or -errno with the step and the
 * reason in why (-EPERM: not privileged, -EINVAL/-ENOENT: no time
 * namespaces here, -ERANGE: an offset would make a clock negative).
 */
int fl_launch_timens_probe(const char *text, char *why, size_t whylen) FL_WUR;
/* The seccomp supervisor of this launched command (if any here) lets every call run. */
void fl_launch_disarm(const struct fl_proc_ident *p);
/* ... and does so from mono_ns (CLOCK_MONOTONIC) on: the lease, moved by renew. */
void fl_launch_set_deadline(const struct fl_proc_ident *p, uint64_t mono_ns);
/*
 * Stop exactly this process (pid + start time) and its process group:
 * SIGTERM, then SIGKILL after grace_ms. Gone or recycled counts as stopped.
 * A pid <= 1 is refused (-EPERM) and never signalled, as a group or alone.
 * key: the pidfd held for it since it started (fl_proc_hold), or 0.
 */
int fl_launch_stop(const struct fl_proc_ident *p, uint64_t key, unsigned grace_ms);

#endif
