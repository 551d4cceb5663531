/*
 * The agent's ownership policy (docs/agent-api.md, "Ownership policy"): one
 * matcher of the config's allow/deny rules (agent/config.h parses them),
 * applied to whatever a request would touch -- a running process as /proc
 * shows it (its thread group: a thread id is judged as its process), the
 * process a launched command would become, and every process of a network
 * namespace that a request names, which is judged by what its path resolves
 * to (nsfs device and inode), never by the string.
 *
 * PID 1, the agent and its parent are always refused. Rules match a name
 * (comm, exact), an effective uid, a cgroup v2 path prefix (whole
 * components) or a POSIX ERE on the command line (arguments joined by
 * spaces). A deny rule whose field cannot be read (other than because the
 * process is gone) counts as matching: unknown is refused.
 */
#ifndef FL_AGENT_POLICY_H
#define FL_AGENT_POLICY_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "faults/fault.h"

struct fl_agent_config;

/* May the agent act on this process (or the process this thread id belongs to)? 0 or -EPERM. */
int fl_agent_policy_check(const struct fl_agent_config *c, int pid, struct fl_error *err) FL_WUR;
/*
 * What the agent checks about a request's target before a kind plans it. For
 * network kinds (their ops' family says so): a pid (or a netns_path spelled
 * /proc/PID/...) goes through fl_agent_policy_check, then network.interfaces,
 * and pod targets are refused when network.netns is set. -EPERM with the
 * field's JSON path; 0 for other kinds.
 */
int fl_agent_policy_target(const struct fl_agent_config *c, const char *kind, const cJSON *target,
			   struct fl_error *err) FL_WUR;
/*
 * fl_fault_ctx.allow_netns (opaque: const struct fl_agent_config *): the
 * namespace a network kind opened is in network.netns (by device and inode),
 * and, when the request named it as a namespace (netns, netns_path, pod),
 * no process living in it is one the policy refuses -- an alias of a
 * refused process's namespace (`/proc//PID/ns/net`, a symbolic link, another
 * process's root) is that namespace. -EPERM with the field's path.
 */
int fl_agent_policy_netns(void *opaque, const struct fl_fault_netns *ns,
			  struct fl_error *err) FL_WUR;
/* May the agent apply this kind? */
bool fl_agent_policy_kind(const struct fl_agent_config *c, const char *kind);
/*
 * With an allow list, each directory the fault would create files in (its
 * spec's `writes`: disk_fill's params.path, stress's params.io.path) must lie
 * in allow.fill_dirs, reached from there without a symbolic link: else
 * -EPERM naming the field. Without an allow list: 0.
 */
int fl_agent_policy_writes(const struct fl_agent_config *c, const char *kind, const cJSON *params,
			   struct fl_error *err) FL_WUR;
/*
 * May the agent launch this command (opaque: const struct fl_agent_config *)?
 * The allow/deny rules of the config apply to the process it would become:
 * names to the program's file name (first 15 bytes, as comm), uids to the
 * agent's effective uid, cgroups to the agent's cgroup, cmdlines to argv
 * joined by spaces. With an allow list, output (NULL: none) must lie in one
 * of allow.output_dirs: *beneath gets that directory (O_PATH, the caller
 * closes it) and *rel output's path below it. 0 or -EPERM with the reason.
 */
int fl_agent_policy_command(void *opaque, const char *path, char *const argv[], const char *output,
			    int *beneath, const char **rel, struct fl_error *err) FL_WUR;

#endif
