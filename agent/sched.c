#include "agent/sched.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>

#include "core/cap.h"

int fl_thread_rt(int prio)
{
	struct sched_param sp = {.sched_priority = prio};
	int r;

	/*
	 * The calling thread only (pid 0 is the caller, a thread on Linux).
	 * SCHED_RESET_ON_FORK: a process or thread it creates starts at
	 * SCHED_OTHER, so a command launched or a stress worker forked from here
	 * never runs at real-time priority.
	 */
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0)
		return 0; /* RLIMIT_RTPRIO allows it (systemd's LimitRTPRIO=) */
	r = -errno;
	if (r != -EPERM || fl_cap_raise(CAP_SYS_NICE) <= 0)
		return r; /* not a matter of privilege, or no CAP_SYS_NICE to raise */
	r = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0 ? -errno : 0;
	if (fl_cap_lower(CAP_SYS_NICE) < 0)
		abort(); /* never left running with a capability it should not have */
	return r;
}

void fl_mutex_init(pthread_mutex_t *mu, bool inherit)
{
	pthread_mutexattr_t ma;

	pthread_mutexattr_init(&ma);
	/*
	 * Priority inheritance: a real-time thread waiting for the lock lends
	 * its priority to the thread holding it, which a busier thread of the
	 * normal class could otherwise keep off the CPU.
	 */
	if (inherit)
		(void)pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(mu, &ma);
	pthread_mutexattr_destroy(&ma);
}
