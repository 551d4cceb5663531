/*
 * The agent's side of syscall faults, kept apart from the fault table: the
 * ownership policy for commands the agent launches, the seccomp part of
 * /v1/health, and the collection of tables that SIGKILLed processes left.
 */
#ifndef FL_AGENT_PRELOAD_H
#define FL_AGENT_PRELOAD_H

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

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
/* Add what seccomp offers here to the "capabilities" object of /v1/health. */
void fl_agent_seccomp_caps(cJSON *caps);
/* Remove shim tables whose process is gone; logs how many. */
void fl_agent_preload_gc(void);

#endif
