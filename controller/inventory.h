/* The --agents inventory: agents by name, with their tokens and TLS files. */
#ifndef FL_CONTROLLER_INVENTORY_H
#define FL_CONTROLLER_INVENTORY_H

#include <stddef.h>

#include "controller/agent_ep.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_INVENTORY_MAX 4096 /* agents in an inventory */

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

#endif
