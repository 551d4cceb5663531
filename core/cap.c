#include "core/cap.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Set cap's effective bit to on in the calling thread: 1 changed, 0 already so, or -errno. */
static int cap_effective(unsigned cap, bool on)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0}; /* this thread */
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned i = cap / 32, bit = 1u << (cap % 32);

	if (i >= _LINUX_CAPABILITY_U32S_3)
		return -EINVAL;
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (!(d[i].effective & bit) == !on)
		return 0;
	if (on && !(d[i].permitted & bit))
		return -EPERM;
	d[i].effective = on ? d[i].effective | bit : d[i].effective & ~bit;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 1;
}

int fl_cap_raise(unsigned cap)
{
	return cap_effective(cap, true);
}

int fl_cap_lower(unsigned cap)
{
	int r = cap_effective(cap, false);

	return r < 0 ? r : 0;
}
