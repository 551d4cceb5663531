/*
 * Paths that come from outside (API requests, configs): the checks every
 * parser makes, and opens that never block and never open what they must
 * not. One copy of each, for faults/ and agent/ alike.
 */
#ifndef FL_CORE_PATH_H
#define FL_CORE_PATH_H

#include <stdbool.h>
#include <sys/stat.h>

#include "core/compiler.h"

/* Has the path a "." or ".." component ("/a/./b", "/a/..", "/.")? Such a path may leave
 * the directory it names. */
bool fl_path_has_dot_component(const char *s);
/*
 * Is `path` the directory `dir` or below it? Whole components only
 * ("/a/bc" is not under "/a/b"); trailing slashes of dir are ignored and
 * "/" holds everything. For cgroup v2 paths and the like.
 */
bool fl_path_under(const char *path, const char *dir);
/*
 * Open what `path` names without ever opening anything else: O_PATH first
 * (a device is not opened, a FIFO not waited on), fstat, and only a regular
 * file is opened for real, through /proc/self/fd, with flags | O_NONBLOCK |
 * O_CLOEXEC. nofollow: a symbolic link as the last component is refused
 * (-ELOOP). Returns the descriptor, -EINVAL for anything but a regular file
 * (*st says what it is, when st is given), or -errno.
 */
int fl_path_open_regular(const char *path, int flags, bool nofollow, struct stat *st) FL_WUR;
/* Reopen an O_PATH descriptor for real (flags | O_CLOEXEC), through /proc/self/fd. */
int fl_path_reopen(int opath_fd, int flags) FL_WUR;

#endif
