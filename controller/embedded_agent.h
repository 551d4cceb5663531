/*
 * The embedded local agent (controller/embedded_agent.c): what `faultline run`
 * starts for this host when no agent is configured.
 */
#ifndef FL_CONTROLLER_EMBEDDED_AGENT_H
#define FL_CONTROLLER_EMBEDDED_AGENT_H

#include <sys/types.h>

#include "controller/agent_client.h"
#include "core/compiler.h"
#include "core/error.h"

struct fl_embedded_agent {
	pid_t pid;	    /* 0: not running */
	char dir[64];	    /* its private dir: token, socket, log, state/ */
	const char *binary; /* faultline-agent to start, or NULL: the one beside faultline */
};

/*
 * Start it (default signals, its own process group, stderr to its log) and
 * wait until it answers GET /v1/health through `client`; *ep says how to
 * reach it (named "local", the caller owns it). An agent that exits or does
 * not answer within 10 s is an error with its log's last line.
 */
int fl_embedded_agent_start(struct fl_embedded_agent *a, struct fl_agent_client *client,
			    struct fl_agent_ep *ep, struct fl_error *err) FL_WUR;
/*
 * SIGTERM (it reverts whatever is still live, then exits), SIGKILL after
 * 10 s; a journal record left behind is reverted by one more start on the
 * same state dir; the dir goes. 0, or -EIO when the agent did not exit cleanly.
 */
int fl_embedded_agent_stop(struct fl_embedded_agent *a);

#endif
