/*
 * One capability in the calling thread's effective set, for one call: the
 * agent keeps a few capabilities permitted but not effective (agent/caps.c)
 * and raises each only around the system call that needs it. Raw capget(2)/
 * capset(2), no allocation: async-signal-safe, so usable between fork and exec.
 */
#ifndef FL_CORE_CAP_H
#define FL_CORE_CAP_H

#include "core/compiler.h"

/*
 * Make cap effective in the calling thread: 1 when raised (lower it with
 * fl_cap_lower), 0 when it was effective already, -EPERM when it is not
 * permitted, or -errno.
 */
int fl_cap_raise(unsigned cap) FL_WUR;
/* Take cap out of the calling thread's effective set: 0 or -errno. */
int fl_cap_lower(unsigned cap) FL_WUR;

#endif
