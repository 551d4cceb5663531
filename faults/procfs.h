/*
 * Processes as faultline names them, from procfs: pid + start time, the boot
 * a record was taken in, the v2 cgroup, pidfds checked against the start time.
 * Part of fl_proc, the process-level library the controller may link too.
 */
#ifndef FL_FAULTS_PROCFS_H
#define FL_FAULTS_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* The same from an open descriptor (read to its end or len - 1 bytes; not closed). */
int fl_fd_read_small(int fd, char *buf, size_t len, size_t *got) FL_WUR;
/* State letter, flags and start time of a live process (any may be NULL); -ESRCH when gone. */
int fl_proc_stat_full(int pid, char *state, unsigned *flags, unsigned long long *start) FL_WUR;
/* Start time and state letter of a live process; -ESRCH when gone. */
int fl_proc_stat(int pid, unsigned long long *start, char *state) FL_WUR;
/*
 * The thread group (process) a task id belongs to: pid itself for a process,
 * its leader's pid for any other thread (their ids are reachable as /proc/TID
 * too, though /proc does not list them). -ESRCH when gone.
 */
int fl_proc_tgid(int pid) FL_WUR;
/* Real, effective, saved and file-system uid of a process (/proc/PID/status); -ESRCH when gone. */
int fl_proc_uids(int pid, uid_t uids[4]) FL_WUR;
/* The v2 cgroup path of a process ("/a/b"), into buf; -ESRCH when gone. */
int fl_proc_cgroup(int pid, char *buf, size_t len) FL_WUR;
/*
 * Open a pidfd for exactly this process; -ESRCH when it is gone or the PID was
 * recycled, -EPERM for PID 1 (never a fault's target, whatever a record says).
 */
int fl_proc_pidfd(const struct fl_proc_ident *p) FL_WUR;
/* Signal exactly this process through a pidfd; -ESRCH when gone/recycled. */
int fl_proc_signal(const struct fl_proc_ident *p, int sig) FL_WUR;
/*
 * Pidfds kept between an apply and its revert in this process, under a key
 * the undo record carries (fl_proc_hold_key). A revert in the same process
 * signals through the very pidfd the apply used, so nothing that took the
 * PID since can be hit, not even with the same start time; after a restart
 * (nothing held) it falls back to pid + start time (fl_proc_signal). At most
 * FL_PROC_HELD_MAX pidfds are held (fewer when the descriptor limit is low);
 * beyond, the fallback applies.
 */
#define FL_PROC_HELD_MAX 256
/* A fresh key for an undo record. */
uint64_t fl_proc_hold_key(void);
/* Open a pidfd for exactly p and keep it under key (not kept past the cap: still 0). */
int fl_proc_hold(uint64_t key, const struct fl_proc_ident *p) FL_WUR;
/* A pidfd for p: a copy of the one held under key, else fl_proc_pidfd. The caller closes it. */
int fl_proc_pidfd_held(uint64_t key, const struct fl_proc_ident *p) FL_WUR;
/* fl_proc_hold, then signal p through that pidfd. */
int fl_proc_signal_hold(uint64_t key, const struct fl_proc_ident *p, int sig) FL_WUR;
/* Signal p through the pidfd held under key, or as fl_proc_signal when none is. */
int fl_proc_signal_held(uint64_t key, const struct fl_proc_ident *p, int sig) FL_WUR;
/* Close every pidfd held under key. */
void fl_proc_release(uint64_t key);
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
