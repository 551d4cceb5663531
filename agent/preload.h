/*
 * The agent's side of syscall faults, kept apart from the fault table: the
 * seccomp part of /v1/health, and the collection of tables that SIGKILLed
 * processes left (the policy for commands the agent launches is in
 * agent/policy.h).
 */
#ifndef FL_AGENT_PRELOAD_H
#define FL_AGENT_PRELOAD_H

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "agent/policy.h"

/* Add what seccomp offers here to the "capabilities" object of /v1/health. */
void fl_agent_seccomp_caps(cJSON *caps);
/* Remove shim tables whose process is gone; logs how many. */
void fl_agent_preload_gc(void);

#endif
