#include "core/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool fl_path_has_dot_component(const char *s)
{
	for (const char *c = s; (c = strchr(c, '/'));) {
		c++;
		if (c[0] == '.' &&
		    (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))))
			return true;
	}
	return false;
}

bool fl_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

int fl_path_reopen(int opath_fd, int flags)
{
	char p[64];
	int fd;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", opath_fd);
	fd = open(p, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fl_path_open_regular(const char *path, int flags, bool nofollow, struct stat *st)
{
	struct stat s;
	int pfd, fd;

	pfd = open(path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &s) < 0) {
		fd = -errno;
		goto out;
	}
	if (st)
		*st = s;
	if (S_ISLNK(s.st_mode)) {
		fd = -ELOOP;
		goto out;
	}
	if (!S_ISREG(s.st_mode)) {
		fd = -EINVAL;
		goto out;
	}
	fd = fl_path_reopen(pfd, flags | O_NONBLOCK);
out:
	close(pfd);
	return fd;
}
