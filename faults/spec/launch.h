/*
 * The command form of the `syscall` fault kind's target (the spec side:
 * faults/syscall_launch.h starts and stops it).
 *
 *   target := { "command": [path, arg...]            path: absolute, or a name found in PATH
 *              [, "env": { NAME: "value", ... }]     added to the agent's environment
 *              [, "cwd": "/abs/dir"]                 default: the agent's
 *              [, "output": "/abs/file"]             stdout+stderr appended there (a regular
 *                                                    file, opened by the agent without
 *                                                    blocking); default /dev/null
 *              [, "on_revert": "stop" | "keep"] }    default "stop"
 */
#ifndef FL_FAULTS_SPEC_LAUNCH_H
#define FL_FAULTS_SPEC_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

#define FL_LAUNCH_ARGS_MAX    256  /* argv entries */
#define FL_LAUNCH_ARG_LEN_MAX 4096 /* bytes per argument or env value */
#define FL_LAUNCH_ENV_MAX     64   /* env entries */
#define FL_LAUNCH_GRACE_MS    2000 /* SIGTERM -> SIGKILL on revert */

struct fl_launch {
	char path[PATH_MAX]; /* resolved by fl_launch_resolve(): absolute */
	char **argv;	     /* NULL-terminated */
	size_t argc;
	char **env; /* "NAME=value", NULL-terminated */
	size_t nenv;
	char cwd[PATH_MAX];    /* "" = the agent's */
	char output[PATH_MAX]; /* "" = /dev/null */
	bool keep;	       /* on revert: leave it running (default: stop it) */
	char lib[PATH_MAX];    /* the shim, found by fl_launch_resolve() */
	bool seccomp;	       /* under a seccomp filter, not the shim (params.mode) */
	/* The policy confines output (fl_fault_ctx.allow_command): opened beneath this. */
	int out_dir;	     /* -1: the agent opens output by its path (a regular file) */
	const char *out_rel; /* output's path below out_dir */
	/*
	 * A time namespace for the command: the lines the child writes to its
	 * /proc/self/timens_offsets before it enters it; "" = none. The plan
	 * sets it (faults/shim_table.c), for the time kind.
	 */
	char timens[96];
};

/* Parse the target object above; errors carry $.target.* paths. */
int fl_launch_parse(const cJSON *target, struct fl_launch **out, struct fl_error *err) FL_WUR;
/* Free; NULL is fine. */
void fl_launch_free(struct fl_launch *l);

#endif
