#include "agent/caps.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cap-ng.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

/*
 * Why each one stays (docs/security.md has the same table):
 *   CAP_KILL          signal processes of other users (kill, pause by SIGSTOP,
 *                     stopping launched commands)
 *   CAP_NET_ADMIN     qdiscs and filters over rtnetlink (netem, bandwidth, partition)
 *   CAP_SYS_ADMIN     setns(2) into a target's network namespace
 *   CAP_SYS_PTRACE    open /proc/PID/ns/net of processes whose capabilities
 *                     are not a subset of the agent's (ptrace access mode check)
 *   CAP_DAC_OVERRIDE  write the shim's rule tables /dev/shm/faultline-PID (mode 0600,
 *                     owned by the target's user) and cgroup.freeze of delegated cgroups
 *   CAP_FOWNER        unlink stale tables of other users from sticky /dev/shm
 * and one in the permitted and bounding sets only, never effective in the agent:
 *   CAP_SYS_TIME      the child that becomes a launched command raises it for
 *                     one write, the offsets of the command's time namespace
 *                     (the time kind, faults/syscall_launch.c), then drops it
 *   CAP_SYS_NICE      only with lease_priority: the lease thread and each revert
 *                     worker raise it to put themselves at SCHED_FIFO
 *                     (fl_thread_rt), then drop it
 */
static const int kept_caps[] = {CAP_KILL,	CAP_NET_ADMIN,	  CAP_SYS_ADMIN,
				CAP_SYS_PTRACE, CAP_DAC_OVERRIDE, CAP_FOWNER};

unsigned long long fl_agent_caps_kept(void)
{
	unsigned long long m = 0;

	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		m |= 1ULL << kept_caps[i];
	return m;
}

int fl_agent_caps_drop(char *kept, size_t len, bool sys_nice, bool *noroot)
{
	size_t off = 0;
	int r;

	kept[0] = '\0';
	*noroot = false;
	if (capng_get_caps_process() < 0)
		return -EIO;
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return 1;
	{
		bool have[sizeof(kept_caps) / sizeof(kept_caps[0])];
		bool setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
		struct {
			int cap;
			const char *label;
			bool have;
		} latent[] = {
		    {CAP_SYS_TIME, "sys_time(permitted)",
		     capng_have_capability(CAPNG_PERMITTED, CAP_SYS_TIME)},
		    {CAP_SYS_NICE, "sys_nice(permitted)",
		     sys_nice && capng_have_capability(CAPNG_PERMITTED, CAP_SYS_NICE)},
		};

		for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
			have[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned)kept_caps[i]);
		capng_clear(CAPNG_SELECT_ALL);
		for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++) {
			const char *name;

			if (!have[i])
				continue;
			r = capng_update(CAPNG_ADD,
					 CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
					 (unsigned)kept_caps[i]);
			if (r < 0)
				return -EINVAL;
			name = capng_capability_to_name((unsigned)kept_caps[i]);
			if (off < len)
				off += (size_t)snprintf(kept + off, len - off, "%s%s",
							off ? "," : "", name ? name : "?");
		}
		/* Permitted and bounding only, never effective: raised by whoever needs it. */
		for (size_t i = 0; i < sizeof(latent) / sizeof(latent[0]); i++) {
			if (!latent[i].have)
				continue;
			if (capng_update(CAPNG_ADD, CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
					 (unsigned)latent[i].cap) < 0)
				return -EINVAL;
			if (off < len)
				off += (size_t)snprintf(kept + off, len - off, "%s%s",
							off ? "," : "", latent[i].label);
		}
		/*
		 * A program the agent executes as root would otherwise get the whole
		 * bounding set back: SECBIT_NOROOT makes exec grant nothing, so launched
		 * commands start with no capabilities (locked, for their children too).
		 * Both this and shrinking the bounding set take CAP_SETPCAP, which a
		 * container may not give us; then they keep the bounding set.
		 */
		if (setpcap) {
			int bits = prctl(PR_GET_SECUREBITS);

			if (bits < 0 ||
			    prctl(PR_SET_SECUREBITS,
				  (unsigned long)bits | SECBIT_NOROOT | SECBIT_NOROOT_LOCKED) < 0)
				return -errno;
			*noroot = true;
		}
		r = capng_apply(setpcap ? CAPNG_SELECT_ALL
					: CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	}
	if (r < 0)
		return -EPERM;
	return 0;
}
