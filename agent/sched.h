/*
 * The agent's real-time scheduling (lease_priority, docs/faultline-agent.8):
 * the lease thread and the revert workers put themselves at SCHED_FIFO, and
 * the locks they wait on inherit priority.
 */
#ifndef FL_AGENT_SCHED_H
#define FL_AGENT_SCHED_H

#include <pthread.h>
#include <stdbool.h>

#include "core/compiler.h"

/*
 * Put the calling thread at SCHED_FIFO prio, with SCHED_RESET_ON_FORK (what
 * it forks or starts begins at SCHED_OTHER). Allowed by RLIMIT_RTPRIO >= prio,
 * else by CAP_SYS_NICE raised for the one call (kept permitted only,
 * agent/caps.c). 0 or -errno.
 */
int fl_thread_rt(int prio) FL_WUR;
/* pthread_mutex_init, with PTHREAD_PRIO_INHERIT when inherit. */
void fl_mutex_init(pthread_mutex_t *mu, bool inherit);

#endif
