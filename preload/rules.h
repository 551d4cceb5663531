/*
 * Syscall fault rules: the compact text syntax (`write:EIO:p=0.1`), its parser,
 * and the writer side of the shared-memory table the preload shim reads.
 * Linked by faultline exec, the agent (fault kind `syscall`) and the tests;
 * the shim itself never parses anything.
 */
#ifndef FL_PRELOAD_RULES_H
#define FL_PRELOAD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "preload/fl_shm.h"

/* Longest rule text accepted, and most functions one rule may name. */
#define FL_RULE_TEXT_MAX  1024
#define FL_RULE_FUNCS_MAX 8
#define FL_RULE_FUNC_LEN  32

/* Parse for the seccomp path: function names are syscall names, resolved later. */
#define FL_RULE_PARSE_SYSCALL 1u

struct fl_preload_rule {
	struct fl_shm_rule shm; /* what the shim reads (fn_mask is 0 for syscall rules) */
	unsigned nfuncs;
	/* The names as written (without a leading '='), or a rule kind's head ("dns"). */
	char funcs[FL_RULE_FUNCS_MAX][FL_RULE_FUNC_LEN];
	uint32_t exact; /* bit i: funcs[i] was written "=name" (that family only) */
};

/* Parse one rule; errors name the offending token. flags: FL_RULE_PARSE_*. */
int fl_preload_rule_parse(const char *text, unsigned flags, struct fl_preload_rule *out,
			  struct fl_error *err) FL_WUR;
/*
 * What kind of fault a parsed rule is: "syscall" for a call rule, else its
 * head ("time", "dns", "reset_peer", "slow_close", "timeout", "limit_data",
 * "slicer", "bandwidth"). The agent's fault kinds check what they are given.
 */
const char *fl_preload_rule_kind_name(const struct fl_preload_rule *r);
/* Canonical text of a rule (parses back to the same rule). */
int fl_preload_rule_format(const struct fl_preload_rule *r, struct fl_buf *out) FL_WUR;
/* Function family of a hooked libc name ("pread64" -> FL_FN_PREAD); -ENOENT if not hooked. */
int fl_preload_fn_lookup(const char *name);
/* Canonical name of a function family. */
const char *fl_preload_fn_name(unsigned fn);
/* errno value of a name ("EIO" -> 5); -ENOENT if unknown. */
int fl_preload_errno_lookup(const char *name);
/* Name of an errno value, or NULL. */
const char *fl_preload_errno_name(int err);

struct fl_preload_table;

/* Longest a writer waits for a table's lock (flock) before giving up (see _arm, _disarm). */
#define FL_PRELOAD_LOCK_WAIT_MS 100

/* Create a new table (fails with -EEXIST if the name is taken); mode 0600. */
int fl_preload_table_create(const char *name, struct fl_preload_table **out) FL_WUR;
/*
 * Open an existing table (a process that registered itself). Never blocks and
 * never follows a symbolic link in the table's place; only a regular file on
 * tmpfs of at least FL_SHM_SIZE bytes with our magic and version is a table
 * (-EPROTO otherwise, -ELOOP for a symbolic link, -ENOENT when there is none).
 * The file is its owner's:
 * every later call copes with it being truncated meanwhile (-EPROTO, never a
 * SIGBUS; preload/table.c).
 */
int fl_preload_table_open(const char *name, struct fl_preload_table **out) FL_WUR;
/*
 * Replace all rules at once (seqlock write, serialised with other writers by
 * flock, waited on for FL_PRELOAD_LOCK_WAIT_MS at most: -EBUSY after that).
 * expires_mono_ns: CLOCK_MONOTONIC deadline after which the shim
 * ignores the rules, 0 = none (the agent always gives one: the fault's lease,
 * so that tables an agent armed lapse even if it dies and never returns).
 * -EPROTO: the file was truncated under us (nothing of ours is in it).
 */
int fl_preload_table_arm(struct fl_preload_table *t, const struct fl_preload_rule *rules, size_t n,
			 uint64_t seed, uint64_t expires_mono_ns) FL_WUR;
/* Move the deadline of the rules armed now (renew of a lease); 0 = none. */
int fl_preload_table_set_expiry(struct fl_preload_table *t, uint64_t expires_mono_ns) FL_WUR;
/*
 * Remove every rule. Does not wait for a lock someone holds: past
 * FL_PRELOAD_LOCK_WAIT_MS it clears the two words the shim honours on their
 * own (`armed` and the expiry), which ends every rule just as well.
 */
int fl_preload_table_disarm(struct fl_preload_table *t) FL_WUR;
/* The pid that registered the table (0 for tables made by faultline exec). */
int fl_preload_table_owner(const struct fl_preload_table *t);
/* The uid that owns the table's file, as opened. */
uid_t fl_preload_table_uid(const struct fl_preload_table *t);
/*
 * How often each live rule fired so far, summed over every process that maps
 * the table (the shim counts; fl_shm.h): hits[i] for rule i, for i < n, zero
 * past the live rules. Returns the number of live rules (at most n) or
 * -errno (-EPROTO: the owner truncated the file under us). Takes no lock;
 * the numbers come from a file the target can write.
 */
int fl_preload_table_hits(const struct fl_preload_table *t, uint64_t *hits, size_t n) FL_WUR;
/* Number of live rules. */
unsigned fl_preload_table_nrules(const struct fl_preload_table *t);
/* Would the shim fault a call now (armed and not expired)? */
bool fl_preload_table_armed(const struct fl_preload_table *t);
/* Unmap and close; NULL is fine. Does not remove the object. */
void fl_preload_table_close(struct fl_preload_table *t);
/* Remove a table object by name; -ENOENT is not an error. */
int fl_preload_table_unlink(const char *name);
/*
 * Remove tables whose process is gone (a shimmed process or faultline exec
 * killed with SIGKILL cannot remove its own). Returns how many were removed.
 * Only from the initial PID namespace: from any other a live owner can be
 * out of sight, so nothing is removed.
 */
int fl_preload_table_gc(void);
/* Name of the table a process registered for itself: "/faultline-<pid>". */
int fl_preload_table_name_for_pid(int pid, char *buf, size_t len) FL_WUR;
/*
 * The same for a process in other namespaces (a container): its table in its
 * own /dev/shm under the PID its PID namespace gave it, reached through
 * /proc/<pid>/root: "/proc/<pid>/root/dev/shm/faultline-<nspid>".
 * fl_preload_table_open takes such names (openat2 RESOLVE_IN_ROOT: no symlink
 * inside the process's root leads out of it).
 */
int fl_preload_table_name_in_ns(int pid, int nspid, char *buf, size_t len) FL_WUR;

#define FL_PRELOAD_LIB_NAME "libfaultline-preload.so"
#define FL_PRELOAD_LIB_ENV  "FAULTLINE_PRELOAD"
/*
 * Find the shim: opt if given, else $FAULTLINE_PRELOAD, else beside the
 * running binary (build tree, /usr/lib/faultline, multiarch). The absolute
 * path goes to out; -ENOENT when there is none.
 */
int fl_preload_locate(const char *opt, char *out, size_t len) FL_WUR;

#endif
