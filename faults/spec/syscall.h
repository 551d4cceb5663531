/* The syscall fault's spec (faults/spec/syscall.c), shared with its ops (faults/syscall.c). */
#ifndef FL_FAULTS_SPEC_SYSCALL_H
#define FL_FAULTS_SPEC_SYSCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "faults/spec.h"
#include "faults/spec/launch.h"
#include "faults/spec/proc_sel.h"
#include "preload/rules.h"

#define SYSCALL_PIDS_MAX 64

struct syscall_spec {
	int pids[SYSCALL_PIDS_MAX];
	size_t npids;
	bool single;	/* given as "pid", not "pids": for error paths */
	bool has_start; /* "start" with "pid": the process must have started then */
	uint64_t start;
	struct fl_preload_rule rules[FL_SHM_RULES_MAX];
	char texts[FL_SHM_RULES_MAX][FL_RULE_TEXT_MAX];
	size_t nrules;
	bool have_seed;
	uint64_t seed;
	struct fl_launch *launch; /* the command form; NULL for pids */
	struct fl_proc_sel *pod;  /* the pod form (selector, pick, seed), or NULL */
	bool seccomp;		  /* params.mode "seccomp": rules name syscalls */
	/*
	 * The time kind on a launched command: a time namespace of the
	 * command's own offsets these clocks too (FL_TIMENS_*), by this much
	 * (faults/shim_table.c plans it, faults/syscall_launch.c enters it).
	 */
	unsigned timens_clocks;
	bool timens_ask; /* the time kind's command form: the effect says yes or why not */
	int64_t timens_offset_ns;
	char timens_offset[64]; /* as the spec wrote it */
};

#define FL_TIMENS_MONOTONIC 1u /* CLOCK_MONOTONIC (with _COARSE, _RAW) */
#define FL_TIMENS_BOOTTIME  2u /* CLOCK_BOOTTIME (with _ALARM) */

int fl_syscall_parse(const cJSON *target, const cJSON *params, void **spec,
		     struct fl_error *err) FL_WUR;
int fl_syscall_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_syscall_free(void *spec);

/*
 * Shared by the kinds over the shim's tables (syscall, time, dns, stream:
 * faults/spec/shim_kinds.h): the target grammar (pid/pids [+ start], a pod,
 * a launched command) into s, errors at $.target.*; a describe of that
 * target after `what`; and freeing what the target holds (not s itself).
 */
int fl_shim_target_parse(const cJSON *target, struct syscall_spec *s, struct fl_error *err) FL_WUR;
int fl_shim_target_describe(const struct syscall_spec *s, const char *what,
			    struct fl_buf *out) FL_WUR;
void fl_shim_spec_done(struct syscall_spec *s);

#endif
