/*
 * Fault kind `syscall`: arm the preload shim's rule table of running
 * processes (those started with libfaultline-preload.so register
 * /dev/shm/faultline-<pid>), or launch a command under the shim with a
 * table of its own (faults/syscall_launch.h).
 *
 *   target: {"pid": 1234 [, "start": T]} | {"pids": [1234, 1235]}
 *           ("start": field 22 of /proc/PID/stat: that process, or a refusal)
 *         | {"pod": {...}, ["count": N | "percent": P], ["seed": S]}
 *           (faults/spec/pod_sel.h: the shimmed processes of the pods on this node,
 *            their tables reached through /proc/PID/root as the container's
 *            PID namespace names them; processes without a table are skipped)
 *         | {"command": ["/path/prog", "arg"], "env": {...}, "cwd": "/dir",
 *            "output": "/file", "on_revert": "stop" | "keep"}
 *   params: {"rules": ["write:EIO:p=0.1", "connect:delay=200ms:port=5432"], "seed": 7,
 *            "mode": "shim" | "seccomp"}
 *
 * "seccomp" (a command only): the command runs under a seccomp filter instead
 * of the shim, rules name syscalls, and the agent supervises its user
 * notifications (faults/syscall_launch.h). Tables armed by the agent carry
 * the lease as their own deadline (renew moves it), so they lapse even if
 * the agent dies for good.
 *
 * The seccomp mode's rules are checked against the kernel by the agent
 * (faults/syscall.c) once this grammar has accepted them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "faults/spec/pod_sel.h"
#include "faults/spec/syscall.h"

static int parse_pid(const cJSON *v, const char *path, int *out, struct fl_error *err)
{
	/* Range first: converting 1e56 to int is undefined behaviour. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > INT_MAX ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return fl_error_set(err, -EINVAL, path,
				    "expected a process id (a positive integer)");
	*out = (int)v->valuedouble;
	return 0;
}

/*
 * The target grammar every kind over the shim's tables shares (syscall, time,
 * dns, stream): pid/pids (+ start), a pod, or a command the agent launches.
 * Fills s; on error what it allocated stays in s for fl_shim_spec_done.
 */
int fl_shim_target_parse(const cJSON *target, struct syscall_spec *s, struct fl_error *err)
{
	const cJSON *it;
	char path[FL_ERROR_PATH_MAX];
	int rc;

	if (!cJSON_IsObject(target)) {
		rc = fl_error_set(
		    err, -EINVAL, "$.target",
		    "expected {\"pid\": N}, {\"pids\": [...]} or {\"command\": [...]}");
		return rc;
	}
	if (cJSON_GetObjectItemCaseSensitive(target, "command")) {
		if (cJSON_GetObjectItemCaseSensitive(target, "pid") ||
		    cJSON_GetObjectItemCaseSensitive(target, "pids")) {
			rc = fl_error_set(err, -EINVAL, "$.target",
					  "give a command or processes, not both");
			return rc;
		}
		if ((rc = fl_launch_parse(target, &s->launch, err)) < 0)
			return rc;
	}
	cJSON_ArrayForEach(it, target)
	{
		if (s->launch)
			break;
		if (!strcmp(it->string, "pod") || !strcmp(it->string, "count") ||
		    !strcmp(it->string, "percent") || !strcmp(it->string, "seed") ||
		    !strcmp(it->string, "all")) {
			/* A pod target with its pick and seed, exactly as kill and pause read it.
			 */
			if (s->pod)
				continue;
			s->pod = calloc(1, sizeof(*s->pod));
			if (!s->pod) {
				rc = fl_error_set(err, -ENOMEM, "", "out of memory");
				return rc;
			}
			if ((rc = fl_proc_sel_parse(target, NULL, s->pod, err)) < 0)
				return rc;
			if (s->pod->by != FL_PROC_BY_POD) {
				rc = fl_error_set(err, -EINVAL, "$.target",
						  "count/percent pick pods: give \"pod\" too");
				return rc;
			}
			/* fl_proc_sel_parse refused "pid" beside "pod"; "pids" is ours. */
			if (cJSON_GetObjectItemCaseSensitive(target, "pids")) {
				rc = fl_error_set(err, -EINVAL, "$.target",
						  "give pods or process ids, not both");
				return rc;
			}
			break;
		} else if (!strcmp(it->string, "pid")) {
			if (s->npids) {
				rc = fl_error_set(err, -EINVAL, "$.target",
						  "give pid or pids, not both");
				return rc;
			}
			if ((rc = parse_pid(it, "$.target.pid", &s->pids[0], err)) < 0)
				return rc;
			s->npids = 1;
			s->single = true;
		} else if (!strcmp(it->string, "start")) {
			if (fl_json_get_u64(it, &s->start) < 0) {
				rc = fl_error_set(err, -EINVAL, "$.target.start",
						  "expected the process's start time: field 22 of "
						  "/proc/PID/stat (an unsigned integer)");
				return rc;
			}
			s->has_start = true;
		} else if (!strcmp(it->string, "pids")) {
			const cJSON *p;
			size_t i = 0;

			if (s->npids || !cJSON_IsArray(it) || !cJSON_GetArraySize(it)) {
				rc = fl_error_set(
				    err, -EINVAL, "$.target.pids",
				    "expected a non-empty list of process ids (and no pid)");
				return rc;
			}
			cJSON_ArrayForEach(p, it)
			{
				if (i == SYSCALL_PIDS_MAX) {
					rc = fl_error_set(err, -E2BIG, "$.target.pids",
							  "at most %d processes", SYSCALL_PIDS_MAX);
					return rc;
				}
				snprintf(path, sizeof(path), "$.target.pids[%zu]", i);
				if ((rc = parse_pid(p, path, &s->pids[i], err)) < 0)
					return rc;
				i++;
			}
			s->npids = i;
		} else {
			snprintf(path, sizeof(path), "$.target.%s", it->string);
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			return rc;
		}
	}
	if (s->has_start && (!s->single || s->pod)) {
		rc = fl_error_set(
		    err, -EINVAL, "$.target.start",
		    "\"start\" pins the process a \"pid\" names: give it with \"pid\"");
		return rc;
	}
	if (!s->npids && !s->launch && !s->pod) {
		rc = fl_error_set(err, -EINVAL, "$.target",
				  "expected {\"pid\": N}, {\"pids\": [...]} or {\"pod\": {...}}");
		return rc;
	}
	return 0;
}

int fl_syscall_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct syscall_spec *s = NULL;
	const cJSON *it, *rules;
	char path[FL_ERROR_PATH_MAX];
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if ((rc = fl_shim_target_parse(target, s, err)) < 0)
		goto out;
	if (!cJSON_IsObject(params)) {
		rc = fl_error_set(err, -EINVAL, "$.params", "expected {\"rules\": [...]}");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(params, "mode");
	if (it) {
		if (!cJSON_IsString(it) ||
		    (strcmp(it->valuestring, "shim") && strcmp(it->valuestring, "seccomp"))) {
			rc = fl_error_set(err, -EINVAL, "$.params.mode",
					  "expected \"shim\" or \"seccomp\"");
			goto out;
		}
		s->seccomp = !strcmp(it->valuestring, "seccomp");
	}
	if (s->seccomp && !s->launch) {
		rc = fl_error_set(err, -EINVAL, "$.params.mode",
				  "the seccomp mode needs a command the agent launches "
				  "(a filter cannot be added to a running process)");
		goto out;
	}
	if (s->seccomp && s->launch->keep) {
		rc = fl_error_set(err, -EINVAL, "$.target.on_revert",
				  "\"keep\" is not possible in the seccomp mode: a filter cannot "
				  "be removed, and without the agent its calls would fail");
		goto out;
	}
	if (s->launch)
		s->launch->seccomp = s->seccomp;
	cJSON_ArrayForEach(it, params)
	{
		if (!strcmp(it->string, "mode")) {
			continue;
		} else if (!strcmp(it->string, "seed")) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
			    it->valuedouble > 9.0e15) {
				rc = fl_error_set(err, -EINVAL, "$.params.seed",
						  "expected a non-negative integer");
				goto out;
			}
			s->seed = (uint64_t)it->valuedouble;
			s->have_seed = true;
		} else if (strcmp(it->string, "rules")) {
			snprintf(path, sizeof(path), "$.params.%s", it->string);
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
	rules = cJSON_GetObjectItemCaseSensitive(params, "rules");
	if (!cJSON_IsArray(rules) || !cJSON_GetArraySize(rules)) {
		rc = fl_error_set(err, -EINVAL, "$.params.rules",
				  "expected a non-empty list of rules like \"write:EIO:p=0.1\"");
		goto out;
	}
	cJSON_ArrayForEach(it, rules)
	{
		snprintf(path, sizeof(path), "$.params.rules[%zu]", s->nrules);
		if (s->nrules == FL_SHM_RULES_MAX) {
			rc = fl_error_set(err, -E2BIG, "$.params.rules", "at most %u rules",
					  FL_SHM_RULES_MAX);
			goto out;
		}
		if (!cJSON_IsString(it)) {
			rc = fl_error_set(err, -EINVAL, path, "expected a rule string");
			goto out;
		}
		rc = fl_preload_rule_parse(it->valuestring, s->seccomp ? FL_RULE_PARSE_SYSCALL : 0,
					   &s->rules[s->nrules], err);
		if (rc < 0) {
			/* Keep the parser's message, add where it came from. */
			snprintf(err->path, sizeof(err->path), "%s", path);
			goto out;
		}
		snprintf(s->texts[s->nrules], FL_RULE_TEXT_MAX, "%s", it->valuestring);
		s->nrules++;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	fl_shim_spec_done(s);
	free(s);
	return rc;
}

/* "<what> on pid 1, 2" / "... of the pods ..." / "... on a launched command: argv". */
int fl_shim_target_describe(const struct syscall_spec *s, const char *what, struct fl_buf *out)
{
	int rc;

	if (s->launch) {
		rc = fl_buf_printf(out, "%s on a launched command:", what);
		for (size_t i = 0; i < s->launch->argc && i < 8 && rc == 0; i++)
			rc = fl_buf_printf(out, " %.200s", s->launch->argv[i]);
		if (rc == 0 && s->launch->argc > 8)
			rc = fl_buf_printf(out, " ...");
	} else if (s->pod) {
		rc = fl_buf_printf(out, "%s on the shimmed processes of ", what);
		if (rc == 0)
			rc = fl_pod_sel_describe(s->pod->pod, out);
	} else {
		rc = fl_buf_printf(out, "%s on pid", what);
	}
	for (size_t i = 0; i < s->npids && rc == 0; i++)
		rc = fl_buf_printf(out, "%s %d", i ? "," : "", s->pids[i]);
	return rc;
}

int fl_syscall_describe(const void *spec, struct fl_buf *out)
{
	const struct syscall_spec *s = spec;
	int rc = fl_shim_target_describe(s,
					 !s->launch   ? "syscall faults"
					 : s->seccomp ? "syscall faults (seccomp filter)"
						      : "syscall faults (shim)",
					 out);

	for (size_t i = 0; i < s->nrules && rc == 0; i++)
		rc = fl_buf_printf(out, "%s%s", i ? "; " : ": ", s->texts[i]);
	return rc;
}

void fl_shim_spec_done(struct syscall_spec *s)
{
	if (s) {
		fl_launch_free(s->launch);
		fl_proc_sel_done(s->pod);
		free(s->pod);
		s->launch = NULL;
		s->pod = NULL;
	}
}

void fl_syscall_free(void *spec)
{
	fl_shim_spec_done(spec);
	free(spec);
}

const struct fl_fault_spec_ops fl_fault_spec_syscall = {
    .kind = "syscall",
    .family = FL_FAULT_FAMILY_SYSCALL,
    .parse = fl_syscall_parse,
    .describe = fl_syscall_describe,
    .free = fl_syscall_free,
};
