/*
 * Network namespaces: setns(2) into a target netns for one operation and back.
 * setns changes only the calling thread, so the original is taken from
 * /proc/thread-self (not /proc/self, which is the main thread's). A thread's
 * home netns is opened once and kept (it lives as long as the thread does);
 * faultline assumes nothing else moves its threads between namespaces.
 *
 * A namespace path comes from a client: it is opened O_PATH first (no FIFO is
 * waited on, no device opened), and only an nsfs file of a network namespace
 * is opened for real. Symbolic links on the way are followed: what the path
 * resolves to is what the policy judges (by device and inode) and what is
 * entered, through the one descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/nsfs.h>

#include "core/path.h"
#include "faults/nl_common.h"

static __thread int home_fd = -1;

int fl_nl_ns_open(const char *path, struct fl_nl_ns_id *id, struct fl_error *err)
{
	struct statfs fs;
	struct stat st;
	int pfd, fd = -1, r;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		r = -errno;
		return fl_error_set(err, r, "", "netns %s: %s", path, strerror(-r));
	}
	if (fstat(pfd, &st) < 0 || fstatfs(pfd, &fs) < 0) {
		r = fl_error_set(err, -errno, "", "netns %s: %s", path, strerror(errno));
		goto out;
	}
	if ((unsigned long)fs.f_type != NSFS_MAGIC) {
		r = fl_error_set(err, -EINVAL, "", "%s is not a namespace file (nsfs)", path);
		goto out;
	}
	fd = fl_path_reopen(pfd, O_RDONLY);
	if (fd < 0) {
		r = fl_error_set(err, fd, "", "netns %s: %s", path, strerror(-fd));
		goto out;
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		r = fl_error_set(err, -EINVAL, "", "%s is not a network namespace", path);
		goto out;
	}
	if (id) {
		id->dev = (unsigned long long)st.st_dev;
		id->ino = (unsigned long long)st.st_ino;
	}
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return r;
}

int fl_nl_ns_self(struct fl_nl_ns_id *id)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	return 0;
}

int fl_nl_ns_enter_fd(int fd, struct fl_nl_ns *ns, struct fl_error *err)
{
	int r;

	ns->orig_fd = -1;
	if (fd < 0)
		return 0;
	if (home_fd < 0)
		home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_fd < 0) {
		r = -errno;
		return fl_error_set(err, r, "", "cannot save the current netns: %s", strerror(-r));
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		return fl_error_set(err, r, "", "setns: %s", strerror(-r));
	}
	ns->orig_fd = home_fd;
	return 0;
}

int fl_nl_ns_enter(const char *path, struct fl_nl_ns *ns, struct fl_error *err)
{
	int fd, r;

	ns->orig_fd = -1;
	if (!path || !*path)
		return 0;
	fd = fl_nl_ns_open(path, NULL, err);
	if (fd < 0)
		return fd;
	r = fl_nl_ns_enter_fd(fd, ns, err);
	close(fd);
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
