/*
 * The agent's HTTP/1.1 API (design.md §3) on libmicrohttpd: one polling
 * thread serves every connection and answers health and reads at once;
 * fault operations (POST, DELETE) run on worker threads while their
 * connection is suspended, so a request that waits on a slow fault holds
 * up nobody else. A global connection cap closes the oldest connection
 * without an authenticated request to make room, those have a short
 * deadline, and what unauthenticated clients do is logged at a limited
 * rate. All fault work goes through the thread-safe fault table
 * (agent/agent.h).
 */
#ifndef FL_AGENT_HTTP_H
#define FL_AGENT_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "core/compiler.h"
#include "core/error.h"

struct fl_http_opts {
	const char *listen;   /* "unix:/path" or "host:port" ("[v6]:port") */
	const char *token;    /* bearer token (borrowed; never logged) */
	const char *tls_cert; /* PEM contents, or NULL for plain HTTP */
	const char *tls_key;
	const char *tls_client_ca; /* PEM: require client certificates signed by it */
	bool insecure_plaintext;   /* allow plain HTTP on a non-loopback address */
	const struct fl_agent_config *cfg;
	struct fl_agent *agent;
};

struct fl_http;

/*
 * Bind and listen, starting no thread (so that the agent can drop its
 * capabilities before any thread exists: they are per thread). Plain HTTP on a
 * non-loopback address is -EACCES unless opts->insecure_plaintext. opts'
 * strings must outlive the server.
 */
int fl_http_listen(const struct fl_http_opts *opts, struct fl_http **out,
		   struct fl_error *err) FL_WUR;
/* Start serving on what fl_http_listen bound; the address is logged. */
int fl_http_serve(struct fl_http *h, struct fl_error *err) FL_WUR;
/* fl_http_listen + fl_http_serve. */
int fl_http_start(const struct fl_http_opts *opts, struct fl_http **out,
		  struct fl_error *err) FL_WUR;
/* Stop accepting connections (those open are still served). */
void fl_http_quiesce(struct fl_http *h);
/* Wait until no request is being handled, at most until deadline_ms (CLOCK_MONOTONIC). */
bool fl_http_drain(struct fl_http *h, uint64_t deadline_ms);
/*
 * Stop serving (waits for requests in flight: call it only after a
 * successful fl_http_drain when one may be stuck), remove a unix socket;
 * NULL is fine.
 */
void fl_http_stop(struct fl_http *h);

#endif
