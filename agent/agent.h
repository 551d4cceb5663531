/*
 * The agent's fault table: apply (journal first), list, renew, revert, leases
 * enforced on CLOCK_MONOTONIC by a timer thread, reconcile from the journal
 * on start, revert-all on shutdown. Thread-safe: one mutex guards the table
 * and serialises every change to the system; the HTTP thread and the lease
 * thread both go through it.
 */
#ifndef FL_AGENT_AGENT_H
#define FL_AGENT_AGENT_H

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
/* Revert everything the journal says is live. Returns how many records could not be reverted. */
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
/* {"faults": [...]} with deadlines. */
cJSON *fl_agent_list(struct fl_agent *a);
/* One live fault, or -ENOENT. */
int fl_agent_get(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err) FL_WUR;
/* Extend a lease to now + ttl_ms (0: the fault's own ttl). */
int fl_agent_renew(struct fl_agent *a, const char *id, uint64_t ttl_ms, cJSON **out,
		   struct fl_error *err) FL_WUR;
/* Revert one; idempotent for ids reverted recently; -ENOENT for unknown ids. */
int fl_agent_revert(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err) FL_WUR;
/* Revert all of an experiment (NULL: every live fault). */
int fl_agent_revert_match(struct fl_agent *a, const char *experiment, cJSON **out,
			  struct fl_error *err) FL_WUR;
/* Stop the lease thread, revert everything, close the journal, free. NULL is fine. */
void fl_agent_free(struct fl_agent *a);
/* Prometheus text for the fault counters (the HTTP layer adds its own). */
int fl_agent_metrics(struct fl_agent *a, struct fl_buf *out) FL_WUR;
/* The {"capabilities", "kinds"} part of /v1/health, probed on this kernel. */
cJSON *fl_agent_capabilities(void);
/* HTTP status and error code for an fl_error code. */
int fl_agent_http_status(int code, const char **name);

#endif
