/*
 * The command form of a `syscall` fault's target, checked offline: what
 * faults/syscall_launch.c starts, with which environment, where.
 */
#include "faults/spec/launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/path.h"
#include "preload/rules.h"

void fl_launch_free(struct fl_launch *l)
{
	if (!l)
		return;
	for (size_t i = 0; l->argv && i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
	for (size_t i = 0; l->env && i < l->nenv; i++)
		free(l->env[i]);
	free(l->env);
	if (l->out_dir >= 0)
		close(l->out_dir);
	free(l);
}

static bool env_name_ok(const char *s)
{
	if (!*s || strlen(s) > 128 || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int abs_path(const cJSON *v, const char *path, char *out, struct fl_error *err)
{
	if (!cJSON_IsString(v) || v->valuestring[0] != '/' || strlen(v->valuestring) >= PATH_MAX ||
	    fl_path_has_dot_component(v->valuestring))
		return fl_error_set(err, -EINVAL, path,
				    "expected an absolute path without \".\" or \"..\" components");
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

int fl_launch_parse(const cJSON *target, struct fl_launch **out, struct fl_error *err)
{
	struct fl_launch *l = NULL;
	const cJSON *it, *cmd = cJSON_GetObjectItemCaseSensitive(target, "command");
	char path[FL_ERROR_PATH_MAX];
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	l->out_dir = -1;
	if (!cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd)) {
		rc = fl_error_set(err, -EINVAL, "$.target.command",
				  "expected [\"/path/prog\", \"arg\", ...]");
		goto out;
	}
	if (cJSON_GetArraySize(cmd) > FL_LAUNCH_ARGS_MAX) {
		rc = fl_error_set(err, -E2BIG, "$.target.command", "at most %d arguments",
				  FL_LAUNCH_ARGS_MAX);
		goto out;
	}
	l->argv = calloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
	if (!l->argv) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, cmd)
	{
		snprintf(path, sizeof(path), "$.target.command[%zu]", l->argc);
		if (!cJSON_IsString(it) || strlen(it->valuestring) > FL_LAUNCH_ARG_LEN_MAX ||
		    (l->argc == 0 && !it->valuestring[0])) {
			rc = fl_error_set(err, -EINVAL, path,
					  "expected a string of at most %d bytes",
					  FL_LAUNCH_ARG_LEN_MAX);
			goto out;
		}
		if (!(l->argv[l->argc] = strdup(it->valuestring))) {
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		l->argc++;
	}
	if ((l->argv[0][0] != '/' && strchr(l->argv[0], '/')) ||
	    fl_path_has_dot_component(l->argv[0])) {
		rc = fl_error_set(err, -EINVAL, "$.target.command[0]",
				  "expected an absolute path (without \".\" or \"..\" components) "
				  "or a program name found in PATH");
		goto out;
	}
	cJSON_ArrayForEach(it, target)
	{
		snprintf(path, sizeof(path), "$.target.%s", it->string);
		if (!strcmp(it->string, "command")) {
			continue;
		} else if (!strcmp(it->string, "cwd")) {
			if ((rc = abs_path(it, path, l->cwd, err)) < 0)
				goto out;
		} else if (!strcmp(it->string, "output")) {
			if ((rc = abs_path(it, path, l->output, err)) < 0)
				goto out;
		} else if (!strcmp(it->string, "on_revert")) {
			if (!cJSON_IsString(it) ||
			    (strcmp(it->valuestring, "stop") && strcmp(it->valuestring, "keep"))) {
				rc = fl_error_set(err, -EINVAL, path,
						  "expected \"stop\" or \"keep\"");
				goto out;
			}
			l->keep = !strcmp(it->valuestring, "keep");
		} else if (!strcmp(it->string, "env")) {
			const cJSON *e;

			if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) > FL_LAUNCH_ENV_MAX) {
				rc =
				    fl_error_set(err, -EINVAL, path,
						 "expected an object of at most %d NAME: \"value\"",
						 FL_LAUNCH_ENV_MAX);
				goto out;
			}
			l->env = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(char *));
			if (!l->env) {
				rc = fl_error_set(err, -ENOMEM, "", "out of memory");
				goto out;
			}
			cJSON_ArrayForEach(e, it)
			{
				snprintf(path, sizeof(path), "$.target.env.%s", e->string);
				if (!env_name_ok(e->string) || !strcmp(e->string, FL_SHM_ENV)) {
					rc = fl_error_set(err, -EINVAL, path,
							  "not a usable variable name");
					goto out;
				}
				if (!cJSON_IsString(e) ||
				    strlen(e->valuestring) > FL_LAUNCH_ARG_LEN_MAX) {
					rc = fl_error_set(err, -EINVAL, path,
							  "expected a string of at most %d bytes",
							  FL_LAUNCH_ARG_LEN_MAX);
					goto out;
				}
				if (asprintf(&l->env[l->nenv], "%s=%s", e->string, e->valuestring) <
				    0) {
					l->env[l->nenv] = NULL;
					rc = fl_error_set(err, -ENOMEM, "", "out of memory");
					goto out;
				}
				l->nenv++;
			}
		} else {
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
	*out = l;
	l = NULL;
	rc = 0;
out:
	fl_launch_free(l);
	return rc;
}
