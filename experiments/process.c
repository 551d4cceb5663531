/*
 * The process provider: {"type": "process", "path", "arguments", "timeout"}
 * parsed into struct fl_provider (docs/experiment-format.md, "process").
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PROCESS_PATH_MAX FL_PROCESS_PATH_MAX

/* ---- process provider --------------------------------------------------------------- */

/*
 * arguments := string                 "PATH ARGS" run by /bin/sh -c, as CTK does
 *            | [scalar, ...]          each str()'d; null and "" dropped (as CTK)
 *            | {name: scalar, ...}    flattened to name, value pairs (as CTK)
 */
static void parse_process_args(struct fl_errlist *errs, const cJSON *args, const char *path,
			       struct fl_provider *p)
{
	char got[96], ip[FL_PATH_MAX];
	const cJSON *it;
	size_t i = 0;

	if (!args) {
		p->argv = calloc(1, sizeof(*p->argv));
		if (!p->argv)
			fl_experr(errs, -ENOMEM, path, "out of memory");
		return;
	}
	if (cJSON_IsString(args)) {
		/* subprocess.run(f"{path} {arguments}", shell=True): the shell reads it */
		p->argv = calloc(1, sizeof(*p->argv));
		p->shell_args = strdup(args->valuestring);
		if (!p->argv || !p->shell_args)
			fl_experr(errs, -ENOMEM, path, "out of memory");
		return;
	}
	if (!cJSON_IsArray(args) && !cJSON_IsObject(args)) {
		fl_experr(errs, -EINVAL, path,
			  "expected a list of arguments or a command-line string, got %s",
			  fl_json_got(args, got, sizeof(got)));
		return;
	}
	if (cJSON_GetArraySize(args) > FL_EXP_ARGS_MAX) {
		fl_experr(errs, -E2BIG, path, "more than %d arguments", FL_EXP_ARGS_MAX);
		return;
	}
	p->argv = calloc(1, sizeof(*p->argv));
	if (!p->argv) {
		fl_experr(errs, -ENOMEM, path, "out of memory");
		return;
	}
	cJSON_ArrayForEach(it, args)
	{
		if (cJSON_IsObject(args))
			fl_path_key(ip, sizeof(ip), path, it->string);
		else
			fl_path_index(ip, sizeof(ip), path, i++);
		if (cJSON_IsNull(it) || (cJSON_IsString(it) && !it->valuestring[0]))
			continue;
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
			fl_experr(errs, -EINVAL, ip, "expected a string or a number, got %s",
				  fl_json_kind(it));
			continue;
		}
		if (cJSON_IsObject(args) &&
		    fl_strv_add(&p->argv, &p->argc, strdup(it->string)) < 0) {
			fl_experr(errs, -ENOMEM, ip, "out of memory");
			return;
		}
		if (fl_strv_add(&p->argv, &p->argc, fl_py_str(it)) < 0) {
			fl_experr(errs, -ENOMEM, ip, "out of memory");
			return;
		}
	}
}

void fl_process_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			       struct fl_provider *p)
{
	static const char *const known[] = {"type",    "path",	  "arguments",
					    "timeout", "secrets", NULL};
	char sp[FL_PATH_MAX];
	const cJSON *t;

	fl_check_keys(errs, j, path, known, "a process provider");
	p->path = fl_get_string(errs, j, "path", path, true, PROCESS_PATH_MAX,
				"the program to run (a path or a name looked up in PATH)");
	if (p->path && p->path[0] == '~' && (p->path[1] == '/' || !p->path[1]) && getenv("HOME")) {
		/* as Chaos Toolkit does with os.path.expanduser() */
		char *x = NULL;

		if (asprintf(&x, "%s%s", getenv("HOME"), p->path + 1) < 0) {
			fl_experr(errs, -ENOMEM, path, "out of memory");
		} else {
			free(p->path);
			p->path = x;
		}
	}
	parse_process_args(errs, fl_get(j, "arguments"),
			   fl_path_key(sp, sizeof(sp), path, "arguments"), p);
	t = fl_get(j, "timeout");
	if (t)
		fl_get_seconds(errs, t, fl_path_key(sp, sizeof(sp), path, "timeout"), true,
			       &p->timeout_ms);
}
