/* An agent endpoint: address, token and TLS files, and the address grammar. */
#ifndef FL_CONTROLLER_AGENT_EP_H
#define FL_CONTROLLER_AGENT_EP_H

#include "core/compiler.h"
#include "core/error.h"

#define FL_AGENT_TOKEN_MAX 4096

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
/* Token and TLS files copied from `from` (an inventory's defaults); -ENOMEM. */
int fl_agent_ep_set_auth(struct fl_agent_ep *ep, const struct fl_agent_ep *from) FL_WUR;
/* Read a token file (first line, >= 16 characters). */
int fl_agent_token_read(const char *path, char **out, struct fl_error *err) FL_WUR;

#endif
