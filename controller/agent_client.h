/*
 * The controller's side of the agent API: agent endpoints (address, token,
 * TLS files), an inventory file of them, and parallel calls to many agents
 * at once through one libcurl multi handle (whose connection pool keeps
 * connections to the agents alive between calls).
 */
#ifndef FL_CONTROLLER_AGENT_CLIENT_H
#define FL_CONTROLLER_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

#define FL_AGENT_RESP_MAX  (1024 * 1024) /* cap on an agent's response body */
#define FL_AGENT_TOKEN_MAX 4096
#define FL_INVENTORY_MAX   4096 /* agents in an inventory */

/* One agent: where it is and how to talk to it. */
struct fl_agent_ep {
	char *name;	 /* inventory name, or the address as given */
	char *url;	 /* base URL: "http://h:p", "https://h:p", "http://localhost" (unix) */
	char *unix_path; /* unix socket path, or NULL */
	char *token;	 /* bearer token (never printed) */
	char *ca_file;	 /* TLS: CA to verify the agent, client certificate and key */
	char *cert_file;
	char *key_file;
};

/*
 * Grammar of an agent address:
 *   address := "unix:" PATH | "http://" HOST ":" PORT | "https://" HOST ":" PORT
 *            | HOST ":" PORT                      (plain http)
 * Fills url/unix_path/name; the caller adds token and TLS files.
 */
int fl_agent_ep_parse(const char *address, struct fl_agent_ep *ep, struct fl_error *err) FL_WUR;
/* Deep copy. */
int fl_agent_ep_copy(struct fl_agent_ep *dst, const struct fl_agent_ep *src) FL_WUR;
void fl_agent_ep_done(struct fl_agent_ep *ep);
/* Read a token file (first line, >= 16 characters). */
int fl_agent_token_read(const char *path, char **out, struct fl_error *err) FL_WUR;

/*
 * Inventory file (JSON), --agents FILE:
 *   { ["token_file": F] [, "ca": F] [, "cert": F] [, "key": F]      defaults for every agent
 *     "agents": [ { "name": N, "address": ADDRESS [, "token_file": F] [, "ca": F]
 *                   [, "cert": F] [, "key": F] } ... ] }
 * Relative file names are relative to the inventory's directory. Without a
 * token_file anywhere, $FAULTLINE_TOKEN_FILE is used.
 */
struct fl_agent_inventory {
	struct fl_agent_ep *v;
	size_t n;
	struct fl_agent_ep defaults; /* token/TLS files for addresses not in the list */
};

int fl_agent_inventory_load(const char *path, struct fl_agent_inventory *inv,
			    struct fl_error *err) FL_WUR;
void fl_agent_inventory_done(struct fl_agent_inventory *inv);
/* By name; NULL when absent. */
const struct fl_agent_ep *fl_agent_inventory_find(const struct fl_agent_inventory *inv,
						  const char *name);
/*
 * Resolve a name or address to an endpoint: an inventory name first, else an
 * address with the inventory's defaults (or $FAULTLINE_TOKEN_FILE) for the token.
 */
int fl_agent_resolve(const struct fl_agent_inventory *inv, const char *name_or_address,
		     struct fl_agent_ep *out, struct fl_error *err) FL_WUR;

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
