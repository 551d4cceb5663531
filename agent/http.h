/*
 * The agent's HTTP/1.1 API (design.md §3) on libmicrohttpd: one internal
 * polling thread serves every connection; all fault work goes through the
 * thread-safe fault table (agent/agent.h).
 */
#ifndef FL_AGENT_HTTP_H
#define FL_AGENT_HTTP_H

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
	const struct fl_agent_config *cfg;
	struct fl_agent *agent;
};

struct fl_http;

/* Bind, listen and start serving; the listen address actually bound is logged. */
int fl_http_start(const struct fl_http_opts *opts, struct fl_http **out,
		  struct fl_error *err) FL_WUR;
/* Stop serving (waits for requests in flight), remove a unix socket; NULL is fine. */
void fl_http_stop(struct fl_http *h);

#endif
