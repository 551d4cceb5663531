/*
 * Network namespaces: setns(2) into a target netns for one operation and back.
 * setns changes only the calling thread, so the original is taken from
 * /proc/thread-self (not /proc/self, which is the main thread's). A thread's
 * home netns is opened once and kept (it lives as long as the thread does);
 * faultline assumes nothing else moves its threads between namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "faults/nl_common.h"

static __thread int home_fd = -1;

int fl_nl_ns_enter(const char *path, struct fl_nl_ns *ns, struct fl_error *err)
{
	int fd = -1, r;

	ns->orig_fd = -1;
	if (!path || !*path)
		return 0;
	if (home_fd < 0)
		home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_fd < 0) {
		r = -errno;
		return fl_error_set(err, r, "", "cannot save the current netns: %s", strerror(-r));
	}
	ns->orig_fd = home_fd;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fl_error_set(err, r, "", "netns %s: %s", path, strerror(-r));
		goto out;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		fl_error_set(err, r, "", "setns %s: %s", path, strerror(-r));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0)
		ns->orig_fd = -1;
	return r;
}

void fl_nl_ns_leave(struct fl_nl_ns *ns)
{
	if (ns->orig_fd < 0)
		return;
	/* Cannot fail for a valid netns fd we opened ourselves with CAP_SYS_ADMIN. */
	(void)!setns(ns->orig_fd, CLONE_NEWNET);
	ns->orig_fd = -1; /* the thread's home fd stays open for the next time */
}
