/*
 * Process selection shared by the process faults (kill, pause): which
 * processes a `target` object names, and pidfd-based signalling that never
 * hits a recycled PID (a process is identified by pid + start time).
 */
#ifndef FL_FAULTS_PROC_SELECT_H
#define FL_FAULTS_PROC_SELECT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "faults/fault.h"

struct fl_pod_sel;

#define FL_PROC_CANDIDATES_MAX 65536
#define FL_PROC_PATH_MAX       4096
#define FL_PROC_REGEX_MAX      1024
#define FL_PROC_COMM_MAX       15 /* TASK_COMM_LEN - 1 */

enum fl_proc_by {
	FL_PROC_BY_PID,
	FL_PROC_BY_NAME,
	FL_PROC_BY_CMDLINE,
	FL_PROC_BY_CGROUP,
	FL_PROC_BY_PIDFILE,
	FL_PROC_BY_POD, /* faults/pod_select.h */
	FL_PROC_BY__MAX
};

enum fl_proc_pick { FL_PROC_PICK_ALL, FL_PROC_PICK_COUNT, FL_PROC_PICK_PERCENT, FL_PROC_PICK__MAX };

struct fl_proc_sel {
	enum fl_proc_by by;
	int pid;
	bool has_start; /* "start" given with "pid": the process must have started then */
	uint64_t start; /* field 22 of /proc/PID/stat */
	char *str;	/* name, cmdline pattern, cgroup path or pidfile path */
	regex_t re;
	bool re_ok;
	enum fl_proc_pick pick;
	unsigned long count;
	double percent;
	bool has_seed;
	uint64_t seed;
	struct fl_pod_sel *pod; /* FL_PROC_BY_POD */
};

/* A process as faultline identifies it: a PID alone can be recycled. */
struct fl_proc_ident {
	int pid;
	unsigned long long start; /* field 22 of /proc/PID/stat, clock ticks since boot */
};
/* The start of an identity recorded in another boot: matches no process. */
#define FL_PROC_START_OTHER_BOOT (~0ULL)

/*
 * Grammar of a process target (exactly one selector; pick defaults to all):
 *   target   := { selector [, pick] [, "seed": uint64 | "decimal string"] }
 *   selector := "pid": int>1 [, "start": uint64 (field 22 of /proc/PID/stat)]
 *             | "name": comm (<= 15 chars, exact) | "cmdline": POSIX ERE
 *             | "cgroup": "/cgroup/v2/path" | "pidfile": "/abs/path"
 *             | "pod": {...} (grammar in faults/pod_select.h)
 *   pick     := "all": true | "count": int>=1 | "percent": number in (0, 100]
 * `extra` lists further keys the caller accepts in the same object (NULL-terminated or NULL).
 */
int fl_proc_sel_parse(const cJSON *target, const char *const *extra, struct fl_proc_sel *sel,
		      struct fl_error *err) FL_WUR;
/* Free what the selection holds; NULL is fine. */
void fl_proc_sel_done(struct fl_proc_sel *sel);
/*
 * Resolve the selection now: the matching processes, minus those ctx's policy
 * refuses, picked with a fl_rng seeded by *seed (sel's seed, else ctx->seed;
 * the one used is written back). -ESRCH when nothing matches (a "pid" whose
 * process did not start at "start" matches nothing: it is another process
 * now), -EPERM when everything that matched was refused. Caller frees *out.
 */
int fl_proc_sel_resolve(const struct fl_proc_sel *sel, const struct fl_fault_ctx *ctx,
			uint64_t *seed, struct fl_proc_ident **out, size_t *n,
			struct fl_error *err) FL_WUR;
/*
 * Add to an undo record what the journal should keep about the selection
 * beyond PIDs: for pod targets, the pods and container IDs resolved
 * ("pods", faults/pod_select.h), so a restart during the fault can be told.
 */
void fl_proc_sel_annotate(const struct fl_proc_sel *sel, cJSON *undo);
/* Human form of the selection: "name=nginx count=2". */
int fl_proc_sel_describe(const struct fl_proc_sel *sel, struct fl_buf *out) FL_WUR;

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

/* Is the cgroup v2 freezer (cgroup.freeze) usable here? (faults/pause.c) */
bool fl_pause_freezer_available(char *why, size_t whylen);
/* The cgroup v2 mount point, from /proc/self/mountinfo: 0, -ENOENT, -ENAMETOOLONG, -errno. */
int fl_cgroup2_mount(char *buf, size_t len) FL_WUR;

/* Identities as JSON [{"pid","start"}] and back (for undo records). */
/*
 * Identities as a journal records them: [{"pid", "start", "boot"}...], "boot"
 * being this boot's id; read back, an identity of another boot gets start
 * FL_PROC_START_OTHER_BOOT, so it is never signalled (a missing "boot" is
 * accepted as this boot's, a malformed one is -EINVAL).
 */
cJSON *fl_proc_idents_json(const struct fl_proc_ident *v, size_t n);
int fl_proc_ident_from_json(const cJSON *j, struct fl_proc_ident *p) FL_WUR;
/* A uint64 as a JSON decimal string (doubles cannot hold every seed) and back. */
cJSON *fl_json_u64(uint64_t v);
int fl_json_get_u64(const cJSON *j, uint64_t *out) FL_WUR;

#endif
