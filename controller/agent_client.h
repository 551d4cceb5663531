/*
 * The controller's side of the agent API: parallel calls to many agents at
 * once through one libcurl multi handle (whose connection pool keeps
 * connections to the agents alive between calls).
 */
#ifndef FL_CONTROLLER_AGENT_CLIENT_H
#define FL_CONTROLLER_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "controller/agent_ep.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_AGENT_RESP_MAX (1024 * 1024) /* cap on an agent's response body */

/* One HTTP call to one agent. Inputs first, results after a run. */
struct fl_agent_call {
	const struct fl_agent_ep *ep;
	const char *method; /* "GET", "POST", "DELETE" */
	char path[512];	    /* "/v1/faults/ID" */
	const char *body;   /* JSON or NULL (borrowed) */
	/* results */
	long status; /* HTTP status; 0 on a transport error */
	char *resp;  /* body (NUL-terminated) or NULL */
	size_t resp_len;
	cJSON *json; /* parsed body, or NULL */
	double elapsed_ms;
	char transport_error[256];
};

struct fl_agent_client;

struct fl_agent_client *fl_agent_client_new(void);
void fl_agent_client_free(struct fl_agent_client *c);
/*
 * Run all calls in parallel and wait for all of them (each bounded by
 * timeout_ms). Per-call outcome is in the calls; returns 0, or -errno when the
 * run itself could not happen. Not thread-safe: one client per thread.
 */
int fl_agent_client_run(struct fl_agent_client *c, struct fl_agent_call *calls, size_t n,
			long timeout_ms) FL_WUR;
/* Free a call's results (the call can be run again). */
void fl_agent_call_done(struct fl_agent_call *call);
/* "agent NAME: HTTP 403 forbidden: message ($.path)" or the transport error, into err. */
int fl_agent_call_error(const struct fl_agent_call *call, struct fl_error *err);

#endif
