/*
 * Processes as faultline names them, from procfs: pid + start time, the boot
 * a record was taken in, the v2 cgroup, pidfds checked against the start time.
 * Part of fl_proc, the process-level library the controller may link too.
 */
#ifndef FL_FAULTS_PROCFS_H
#define FL_FAULTS_PROCFS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"

#define FL_PROC_CANDIDATES_MAX 65536	   /* processes one selection may match */
#define FL_PROC_PF_KTHREAD     0x00200000u /* PF_KTHREAD in /proc/PID/stat's flags */

/* A process as faultline identifies it: a PID alone can be recycled. */
struct fl_proc_ident {
	int pid;
	unsigned long long start; /* field 22 of /proc/PID/stat, clock ticks since boot */
};
/* The start of an identity recorded in another boot: matches no process. */
#define FL_PROC_START_OTHER_BOOT (~0ULL)

/* Read a small procfs file into buf (NUL-terminated, at most len - 1 bytes). */
int fl_proc_read_small(const char *path, char *buf, size_t len, size_t *got) FL_WUR;
/* State letter, flags and start time of a live process (any may be NULL); -ESRCH when gone. */
int fl_proc_stat_full(int pid, char *state, unsigned *flags, unsigned long long *start) FL_WUR;
/* Start time and state letter of a live process; -ESRCH when gone. */
int fl_proc_stat(int pid, unsigned long long *start, char *state) FL_WUR;
/* The v2 cgroup path of a process ("/a/b"), into buf; -ESRCH when gone. */
int fl_proc_cgroup(int pid, char *buf, size_t len) FL_WUR;
/* Open a pidfd for exactly this process; -ESRCH when it is gone or the PID was recycled. */
int fl_proc_pidfd(const struct fl_proc_ident *p) FL_WUR;
/* Signal exactly this process through a pidfd; -ESRCH when gone/recycled. */
int fl_proc_signal(const struct fl_proc_ident *p, int sig) FL_WUR;
/* Are pidfd_open/pidfd_send_signal usable here? */
bool fl_proc_pidfd_available(char *why, size_t whylen);
/* The cgroup v2 mount point, from /proc/self/mountinfo: 0, -ENOENT, -ENAMETOOLONG, -errno. */
int fl_cgroup2_mount(char *buf, size_t len) FL_WUR;

/*
 * Identities as a journal records them: [{"pid", "start", "boot"}...], "boot"
 * being this boot's id; read back, an identity of another boot gets start
 * FL_PROC_START_OTHER_BOOT, so it is never signalled (a missing "boot" is
 * accepted as this boot's, a malformed one is -EINVAL).
 */
cJSON *fl_proc_idents_json(const struct fl_proc_ident *v, size_t n);
int fl_proc_ident_from_json(const cJSON *j, struct fl_proc_ident *p) FL_WUR;

#endif
