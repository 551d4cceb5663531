/*
 * The agent's fault table: apply (journal first), list, renew, revert, leases
 * enforced on CLOCK_MONOTONIC by a timer thread, reconcile from the journal
 * on start, revert-all on shutdown. Thread-safe, and no lock is held across
 * a fault's I/O: each fault has a state (applying, live, reverting, kept), a
 * short-held table lock covers only the bookkeeping, and reverts run on a
 * pool of worker threads, so a revert that is stuck (in the kernel, behind a
 * lock a target's owner holds) delays no other lease, no request and no
 * shutdown beyond its bound. See "Locking" in agent.c.
 */
#ifndef FL_AGENT_AGENT_H
#define FL_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/config.h"
#include "core/api.h"
#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

struct fl_agent;

/* Open the journal in state_dir; the config is borrowed and must outlive the agent. */
int fl_agent_new(const char *state_dir, const struct fl_agent_config *cfg, struct fl_agent **out,
		 struct fl_error *err) FL_WUR;
/* How long a shutdown waits for reverts (fl_agent_free, SIGTERM) before leaving them to the
 * journal. */
#define FL_AGENT_STOP_MS 10000

/*
 * Revert everything the journal says is live, each record on a worker of its
 * own, waiting at most 10 s. Returns how many records are not reverted (yet):
 * kept (unreadable or untrusted), failed (retried by the lease thread once it
 * runs), or still running.
 */
int fl_agent_reconcile(struct fl_agent *a);
/* Start the lease thread. */
int fl_agent_start(struct fl_agent *a) FL_WUR;
/* Apply one fault; *resp is the 201 body. err->code is -errno (see fl_agent_http_status). */
int fl_agent_apply(struct fl_agent *a, const struct fl_api_fault_req *req, cJSON **resp,
		   struct fl_error *err) FL_WUR;
/*
 * The same request as fl_agent_apply, checked the same way (policy, limits,
 * kind available), parsed and planned, but nothing applied and no journal
 * record: *resp is {"dry_run": true, id, kind, description, plan}.
 */
int fl_agent_dry_run(struct fl_agent *a, const struct fl_api_fault_req *req, cJSON **resp,
		     struct fl_error *err) FL_WUR;
/* {"faults": [...]} with deadlines and states; experiment NULL: all of them. */
cJSON *fl_agent_list(struct fl_agent *a, const char *experiment);
/* One live fault, or -ENOENT. */
int fl_agent_get(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err) FL_WUR;
/* Extend a lease to now + ttl_ms (0: the fault's own ttl). */
int fl_agent_renew(struct fl_agent *a, const char *id, uint64_t ttl_ms, cJSON **out,
		   struct fl_error *err) FL_WUR;
/*
 * Revert one; idempotent for ids reverted recently; -ENOENT for unknown ids.
 * A fault being applied or reverted by its lease is waited for. A revert
 * that fails is -EIO (the fault stays live and is retried every second).
 */
int fl_agent_revert(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err) FL_WUR;
/*
 * Revert all of an experiment (NULL: every live fault), in parallel. *out is
 * always {"reverted": [...], "failed": [...]} (and "notes" when any); -EIO
 * when any failed.
 */
int fl_agent_revert_match(struct fl_agent *a, const char *experiment, cJSON **out,
			  struct fl_error *err) FL_WUR;
/*
 * Stop: no more applies (-ESHUTDOWN), the lease thread ends, every live
 * fault is reverted in parallel, waiting at most timeout_ms. Returns how many
 * faults are left (their records stay in the journal for the next start);
 * *stuck when a revert or apply is still running (then the agent must not be
 * freed: exit instead).
 */
int fl_agent_stop(struct fl_agent *a, uint64_t timeout_ms, bool *stuck) FL_WUR;
/*
 * fl_agent_stop with FL_AGENT_STOP_MS unless already stopped, then close the
 * journal and free -- unless something is stuck, then it logs and leaks on
 * purpose. NULL is fine.
 */
void fl_agent_free(struct fl_agent *a);
/* Prometheus text for the fault counters (the HTTP layer adds its own). */
int fl_agent_metrics(struct fl_agent *a, struct fl_buf *out) FL_WUR;
/* The {"capabilities", "kinds"} part of /v1/health, probed on this kernel. */
cJSON *fl_agent_capabilities(void);
/* HTTP status and error code for an fl_error code. */
int fl_agent_http_status(int code, const char **name);

#endif
