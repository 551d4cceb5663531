/* The target of a process fault: its grammar and typed form (no procfs here). */
#ifndef FL_FAULTS_SPEC_PROC_SEL_H
#define FL_FAULTS_SPEC_PROC_SEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "core/rng.h"

struct fl_pod_sel;

#define FL_PROC_PATH_MAX  4096 /* pidfile, cgroup path */
#define FL_PROC_REGEX_MAX 1024
#define FL_PROC_COMM_MAX  15 /* TASK_COMM_LEN - 1 */

enum fl_proc_by {
	FL_PROC_BY_PID,
	FL_PROC_BY_NAME,
	FL_PROC_BY_CMDLINE,
	FL_PROC_BY_CGROUP,
	FL_PROC_BY_PIDFILE,
	FL_PROC_BY_POD, /* faults/pod_select.h */
	FL_PROC_BY__MAX
};

struct fl_proc_sel {
	enum fl_proc_by by;
	int pid;
	bool has_start; /* "start" given with "pid": the process must have started then */
	uint64_t start; /* field 22 of /proc/PID/stat */
	char *str;	/* name, cmdline pattern, cgroup path or pidfile path */
	regex_t re;
	bool re_ok;
	struct fl_pick pick;	/* count/percent/all and seed (core/rng.h) */
	struct fl_pod_sel *pod; /* FL_PROC_BY_POD */
};

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
/* Human form of the selection: "name=nginx count=2". */
int fl_proc_sel_describe(const struct fl_proc_sel *sel, struct fl_buf *out) FL_WUR;

#endif
