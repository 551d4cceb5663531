/*
 * The agent's capabilities after start-up (docs/security.md, "Capabilities"):
 * every capability but the few the faults need is dropped from the
 * effective, permitted, inheritable, ambient and bounding sets.
 */
#ifndef FL_AGENT_CAPS_H
#define FL_AGENT_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

/* The capabilities the agent keeps, as a mask of 1ULL << CAP_*. */
unsigned long long fl_agent_caps_kept(void);
/*
 * Drop every capability outside fl_agent_caps_kept() (those the process does
 * not have stay absent). Per thread: call it before any thread starts.
 * *noroot: programs the agent executes get no capabilities (SECBIT_NOROOT;
 * needs CAP_SETPCAP, as does shrinking the bounding set). sys_nice: keep
 * CAP_SYS_NICE permitted, not effective, for fl_thread_rt (lease_priority).
 * 0 (what is kept is described in `kept`), 1 when there was nothing to drop
 * (not privileged), or -errno.
 */
int fl_agent_caps_drop(char *kept, size_t len, bool sys_nice, bool *noroot) FL_WUR;

#endif
