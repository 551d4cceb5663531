/*
 * The agent's crash-safe journal: one file per live fault in
 * STATE_DIR/faults/<id>.json, written before the fault touches the system
 * (temp file, fsync, rename, fsync of the directory) and removed after its
 * revert. Whatever is in the directory at start is live and gets reverted.
 *
 * The state directory is trusted only when it can be: it and faults/ must
 * belong to root or the agent's user and be writable by nobody else, and
 * every file is opened relative to a directory descriptor, never following
 * a symbolic link (O_NOFOLLOW), new files with O_EXCL, records non-blocking
 * (a FIFO named like a record is reported, never waited on).
 */
#ifndef FL_AGENT_JOURNAL_H
#define FL_AGENT_JOURNAL_H

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

struct fl_journal {
	int statefd; /* STATE_DIR */
	int dirfd;   /* STATE_DIR/faults */
	int lockfd;  /* STATE_DIR/agent.lock, flock()ed: one agent per state dir */
};

/*
 * Create (0700) and lock the state directory. -EACCES when it (or faults/,
 * or agent.lock) is unsafe: a symbolic link, someone else's, writable by
 * group or others; -EBUSY when another agent holds it. err says which and why.
 */
int fl_journal_open(struct fl_journal *j, const char *state_dir, struct fl_error *err) FL_WUR;
void fl_journal_close(struct fl_journal *j);
/* Durably store a record under id (replaces an older one atomically). */
int fl_journal_write(struct fl_journal *j, const char *id, const cJSON *rec) FL_WUR;
/* Durably forget id; a missing record is fine. */
int fl_journal_remove(struct fl_journal *j, const char *id) FL_WUR;
/*
 * Call fn for every record (stale temp files from a crash are deleted: they
 * were never renamed, so nothing was applied after them). fn owns nothing.
 * A record that cannot be read or is not to be trusted -- not a regular
 * file, a symbolic link, not the agent's user's, writable by group/others,
 * hard-linked elsewhere, too large, not a JSON object -- is reported with
 * rec == NULL and why saying which; its id is still an id the journal holds.
 * Returns the count or -errno.
 */
int fl_journal_each(struct fl_journal *j,
		    void (*fn)(const char *id, const cJSON *rec, const char *why, void *opaque),
		    void *opaque) FL_WUR;
/* Number of records (for tests and /metrics). */
int fl_journal_count(struct fl_journal *j) FL_WUR;

#endif
