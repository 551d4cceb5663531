/*
 * The boundary between the runner and the agents: the runner hands every
 * `fault` activity to a fault session, which talks to the agents over the
 * agent API (HTTP, libcurl multi for fan-out). Without configured agents the
 * session starts a local faultline-agent on a private socket (the embedded
 * default) and uses the very same API.
 *
 * A fault lives until its `duration` ends (the agent's lease enforces it; the
 * session renews long leases) or until fl_fault_session_revert_all(), which the
 * runner calls after the method and the "after" hypothesis, before rollbacks,
 * and at once on abort or interrupt.
 */
#ifndef FL_CONTROLLER_PROVIDER_FAULT_H
#define FL_CONTROLLER_PROVIDER_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "experiments/experiment.h"

struct fl_fault_session;

struct fl_fault_session_opts {
	const char *experiment_id;  /* the run's id, sent as "experiment" to agents */
	const char *inventory_path; /* --agents FILE, or NULL */
	const char
	    *agent_binary; /* faultline-agent for the embedded default, or NULL: beside argv[0] */
	bool dry_run;	   /* apply describes instead (fl_fault_session_describe) */
	uint64_t lease_ms; /* lease per request before renewal; 0: 15 s (tests shorten it) */
};

/*
 * What only the fault kinds can check, offline (no agent, nothing run): for
 * every `fault` activity, its kind is known, its target and params pass the
 * kind's own parser (faults/spec.h) once the controller's own keys are taken
 * out ("monkey"; for a network kind's pod target, count/percent/seed), and a
 * kind that acts for a while (all but kill) has a duration; `running` probes'
 * process targets likewise. Each problem goes into errs at its path in the
 * experiment ("$.method[1].provider.params.signal"); -EINVAL when any.
 * `faultline validate` and `faultline run` call it before anything runs.
 */
int fl_fault_validate(const struct fl_experiment *e, struct fl_errlist *errs) FL_WUR;

/* Create a session for an experiment; starts nothing until the first apply (or pre-flight). */
int fl_fault_session_new(const struct fl_experiment *e, const struct fl_fault_session_opts *opts,
			 struct fl_fault_session **out, struct fl_error *err) FL_WUR;
/* Pre-flight: ask every agent the plan names whether it can do what the plan asks. */
int fl_fault_session_preflight(struct fl_fault_session *s, struct fl_error *err) FL_WUR;
/*
 * Apply one `fault` activity on its agents, all-or-nothing; *result is the
 * activity's output. -ECANCELED when an agent refused: what the others had
 * applied is reverted and err says which agent refused and why.
 */
int fl_fault_session_apply(struct fl_fault_session *s, const struct fl_activity *a, cJSON **result,
			   struct fl_error *err) FL_WUR;
/*
 * Dry run of one `fault` activity: each of its agents (the embedded one is
 * started if needed) parses and plans it and says what it would do
 * (POST /v1/faults?dry_run=1); nothing is applied anywhere. The agents and
 * the target are picked as fl_fault_session_apply picks them (monkey, pods
 * across the cluster): with the same seeds, the same ones. *out is
 * {"dry_run": true, "fault_id", "kind", "duration_ms", ["monkey_seed"],
 *  ["pod_seed"], ["pods"], "agents": [
 *   {"agent", "status": 200, "description", "plan"} |
 *   {"agent", "status", "error", ["path"], ["code"]}]}.
 * An agent's refusal is in *out; a negative return means the agents could not be asked.
 */
int fl_fault_session_describe(struct fl_fault_session *s, const struct fl_activity *a, cJSON **out,
			      struct fl_error *err) FL_WUR;
/* Revert every live fault of this run on every agent; safe to call more than once. */
int fl_fault_session_revert_all(struct fl_fault_session *s, struct fl_error *err);
/*
 * What the agents said when reverting (after fl_fault_session_revert_all), e.g. that a
 * pod's container restarted during the fault and the revert went by the recorded
 * identity: [{"fault_id", "agent", "notes": [string, ...]}], or NULL when nothing.
 * Owned by the session.
 */
const cJSON *fl_fault_session_notes(const struct fl_fault_session *s);
/*
 * The faults' final effects, from the agents' revert answers (docs/agent-api.md,
 * "Effect"): [{"fault_id", "agent", "effect": {...}}], or NULL when none came.
 * Owned by the session.
 */
const cJSON *fl_fault_session_effects(const struct fl_fault_session *s);
/* An effect's verdict: 1 took effect, 0 measured none, -1 not measurable. */
int fl_fault_effect_verdict(const cJSON *effect);
/*
 * An effect in one line for the terminal: its "summary" when it has one,
 * each rule's hits ("read:EIO 3 hits"), else its plain fields
 * ("stopped=2 gone=0"). Control characters become '?'.
 */
void fl_fault_effect_summary(const cJSON *effect, char *buf, size_t len);
/*
 * The warnings an effect stands for, one line each through fn: the fault had
 * no effect ("took_effect": false), or one of its rules fired 0 times while
 * others did. Returns their number.
 */
size_t fl_fault_effect_warnings(const char *fault_id, const char *agent, const cJSON *effect,
				void (*fn)(void *arg, const char *line), void *arg);
/* Stop the embedded agent (if any) and free; NULL is fine. */
void fl_fault_session_free(struct fl_fault_session *s);

#endif
