/*
 * The fault library's apply side (fl_faults, the agent's): one file per fault
 * kind behind one ops table, gathered in a static registry (faults/registry.c,
 * the list in faults/kinds.h). Each kind's parse/describe/free are its spec's
 * (faults/spec/<kind>.c, faults/spec.h), which the controller links alone.
 * All libnl calls live in faults/.
 *
 * Life of a fault in the agent:
 *   parse(target, params)      -> typed spec (no side effects; every field checked;
 *                                 the spec's parse, plus what only this host can say:
 *                                 a pod's network namespace, netem's distribution table)
 *   plan(spec)                 -> undo record (reads the system: resolves PIDs,
 *                                 records the qdisc that is there now; changes nothing)
 *   -- the agent writes the undo record to its journal (temp, fsync, rename) --
 *   apply(spec, undo)          -> changes the system; may add to the undo record
 *   revert(undo)               -> restores; idempotent; must work from the journal
 *                                 record alone, after a crash, and after a partial apply
 *   renew(undo, deadline)      -> optional: the lease moved; a kind whose fault lapses by
 *                                 itself (a shim table's deadline) moves that too
 *   describe(spec)             -> what would be done, in iproute2/kill vocabulary (--dry)
 *   describe_plan(undo)        -> what the plan found and what revert would restore, from
 *                                 the undo record alone (optional; the agent's dry run)
 *   effect(undo)               -> optional: what the fault measurably did so far (shim
 *                                 hits, processes stopped, the kernel's qdisc read back),
 *                                 as the API's "effect" object; bounded, never blocks
 *                                 (a network kind's "measure": 1 s at most, once per record)
 */
#ifndef FL_FAULTS_FAULT_H
#define FL_FAULTS_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "faults/spec.h"

/* A network namespace a network fault is about to act in, as the kind opened it. */
struct fl_fault_netns {
	unsigned long long dev, ino; /* its nsfs file: the namespace itself, whatever the path */
	const char *field;	     /* the JSON path that named it; "$.target": the agent's own */
	const char *label;	     /* how the request named it, for messages */
	bool named; /* named as a namespace (netns, netns_path, pod), not through a pid */
	bool own;   /* no namespace named: the agent's own */
};

/* Context the agent hands to every op (policy lives in the agent, not here). */
struct fl_fault_ctx {
	uint64_t seed;	      /* for count/percent selections; recorded in the undo record */
	const char *fault_id; /* the API id, for naming kernel objects */
	int (*allow_pid)(void *opaque, int pid, struct fl_error *err); /* ownership policy */
	void *opaque;
	/*
	 * Policy for a command the agent would launch (absolute path, argv, its
	 * output file or NULL for /dev/null); NULL: allowed. When the policy
	 * confines the output, it sets *beneath to an O_PATH descriptor of the
	 * allowed directory (the caller owns it) and *rel to output's path below
	 * it; the caller then opens output only there, with RESOLVE_BENEATH.
	 * Otherwise *beneath stays -1.
	 */
	int (*allow_command)(void *opaque, const char *path, char *const argv[], const char *output,
			     int *beneath, const char **rel, struct fl_error *err);
	/*
	 * Policy for the network namespace a network kind acts in (NULL: allowed),
	 * asked at plan time about the namespace the kind actually opened, before
	 * it reads anything in it. 0 or -EPERM with the reason.
	 */
	int (*allow_netns)(void *opaque, const struct fl_fault_netns *ns, struct fl_error *err);
	/* End of the lease, CLOCK_MONOTONIC ns (0 = none); a kind that can lapses by itself. */
	uint64_t deadline_mono_ns;
	/*
	 * Journal the undo record now (NULL: nothing to journal into). For what
	 * apply learns and must record before it acts on it: a launched pid.
	 */
	int (*journal)(void *jopaque, const cJSON *undo);
	void *jopaque;
	/* st_dev of the agent's state directory (0: none): disk_fill keeps its margin there. */
	unsigned long long state_dev;
};

struct fl_fault_ops {
	const char *kind;
	/* The kind's spec side (family, instant, the offline parse). */
	const struct fl_fault_spec_ops *spec;
	/* Typed spec from the API body's target and params; errors carry a JSON path. */
	int (*parse)(const cJSON *target, const cJSON *params, void **spec, struct fl_error *err);
	/* Read the system, decide exactly what apply will do, and return how to undo it. */
	int (*plan)(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err);
	/* Do it. On failure, undo what was done before returning. */
	int (*apply)(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err);
	/* Undo from the record alone; idempotent. */
	int (*revert)(const cJSON *undo, struct fl_error *err);
	/* Human/dry-run description of the spec. */
	int (*describe)(const void *spec, struct fl_buf *out);
	/* Optional: the plan's findings and the revert, same vocabulary ("on revert: ..."). */
	int (*describe_plan)(const cJSON *undo, struct fl_buf *out);
	/* Optional: the lease moved to deadline_mono_ns (see fl_fault_ctx); from the record. */
	int (*renew)(const cJSON *undo, uint64_t deadline_mono_ns, struct fl_error *err);
	/*
	 * Optional: measure the fault's effect from the record alone, while it is
	 * applied (the agent calls it after apply, on GET and just before revert,
	 * never under its lock). *out: a JSON object with "took_effect" true,
	 * false (measured: none) or null (not measurable); 0 or -errno.
	 */
	int (*effect)(const cJSON *undo, cJSON **out);
	/* Is this kind usable on this kernel? Fills a reason when not. */
	bool (*available)(char *why, size_t whylen);
	void (*free)(void *spec);
};

/* Each kind's ops, defined in faults/<kind>.c. */
#define FL_FAULT_OPS_DECLARE(k) extern const struct fl_fault_ops fl_fault_##k;
FL_FAULT_KINDS(FL_FAULT_OPS_DECLARE)
#undef FL_FAULT_OPS_DECLARE

/* Look a kind up in the static registry; NULL when unknown. */
const struct fl_fault_ops *fl_fault_lookup(const char *kind);
/* Iterate the registry: returns NULL past the end. */
const struct fl_fault_ops *fl_fault_nth(size_t i);
/*
 * The kernel's traffic-control capabilities as booleans ("netem", "tbf", "htb",
 * "u32", "clsact_bpf", "ifb_mirred") added to `caps`, each probed for real the way the kinds'
 * available() do it (faults/nl_probe.c), so built-in and loadable modules both count.
 */
void fl_fault_net_capabilities(cJSON *caps);
/*
 * Free what the kinds keep between operations and no longer need: netlink
 * sockets pooled per netns idle for 5 s (nl_link.c). A pooled socket holds its
 * network namespace alive, so a long-running caller (the agent's lease thread)
 * calls this again when it says, else a deleted pod's netns would outlive it.
 * Returns the milliseconds until something kept comes due, or -1 when nothing
 * is kept: then no call is needed until the keep hook runs.
 */
long fl_fault_housekeep(void);
/*
 * fn(arg) runs when the kinds keep something while the last
 * fl_fault_housekeep said nothing was kept (a socket given back to the pool):
 * fl_fault_housekeep is due again. It runs on the thread that gave the socket
 * back, under no lock of the kinds.
 * One hook per process; fn NULL removes it, and once that returns the old
 * hook is not running and will not run.
 */
void fl_fault_set_keep_hook(void (*fn)(void *), void *arg);
/* Is the cgroup v2 freezer (cgroup.freeze) usable here? (faults/pause.c) */
bool fl_pause_freezer_available(char *why, size_t whylen);

#endif
