/*
 * Fault kind `syscall`: arm the preload shim's rule table of running
 * processes (those started with libfaultline-preload.so register
 * /dev/shm/faultline-<pid>).
 *
 *   target: {"pid": 1234} | {"pids": [1234, 1235]}
 *   params: {"rules": ["write:EIO:p=0.1", "connect:delay=200ms:port=5432"], "seed": 7}
 *
 * The undo record names the tables; revert disarms them (a table whose
 * process has exited is already gone, which counts as reverted).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults/fault.h"
#include "preload/rules.h"

#define SYSCALL_PIDS_MAX 64

struct syscall_spec {
	int pids[SYSCALL_PIDS_MAX];
	size_t npids;
	bool single; /* given as "pid", not "pids": for error paths */
	struct fl_preload_rule rules[FL_SHM_RULES_MAX];
	char texts[FL_SHM_RULES_MAX][FL_RULE_TEXT_MAX];
	size_t nrules;
	bool have_seed;
	uint64_t seed;
};

static int parse_pid(const cJSON *v, const char *path, int *out, struct fl_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
	    v->valuedouble < 1)
		return fl_error_set(err, -EINVAL, path,
				    "expected a process id (a positive integer)");
	*out = (int)v->valuedouble;
	return 0;
}

static int syscall_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct syscall_spec *s = NULL;
	const cJSON *it, *rules;
	char path[FL_ERROR_PATH_MAX];
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (!cJSON_IsObject(target)) {
		rc = fl_error_set(err, -EINVAL, "$.target",
				  "expected {\"pid\": N} or {\"pids\": [...]}");
		goto out;
	}
	cJSON_ArrayForEach(it, target)
	{
		if (!strcmp(it->string, "pid")) {
			if (s->npids) {
				rc = fl_error_set(err, -EINVAL, "$.target",
						  "give pid or pids, not both");
				goto out;
			}
			if ((rc = parse_pid(it, "$.target.pid", &s->pids[0], err)) < 0)
				goto out;
			s->npids = 1;
			s->single = true;
		} else if (!strcmp(it->string, "pids")) {
			const cJSON *p;
			size_t i = 0;

			if (s->npids || !cJSON_IsArray(it) || !cJSON_GetArraySize(it)) {
				rc = fl_error_set(
				    err, -EINVAL, "$.target.pids",
				    "expected a non-empty list of process ids (and no pid)");
				goto out;
			}
			cJSON_ArrayForEach(p, it)
			{
				if (i == SYSCALL_PIDS_MAX) {
					rc = fl_error_set(err, -E2BIG, "$.target.pids",
							  "at most %d processes", SYSCALL_PIDS_MAX);
					goto out;
				}
				snprintf(path, sizeof(path), "$.target.pids[%zu]", i);
				if ((rc = parse_pid(p, path, &s->pids[i], err)) < 0)
					goto out;
				i++;
			}
			s->npids = i;
		} else {
			snprintf(path, sizeof(path), "$.target.%s", it->string);
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
	if (!s->npids) {
		rc = fl_error_set(err, -EINVAL, "$.target",
				  "expected {\"pid\": N} or {\"pids\": [...]}");
		goto out;
	}
	if (!cJSON_IsObject(params)) {
		rc = fl_error_set(err, -EINVAL, "$.params", "expected {\"rules\": [...]}");
		goto out;
	}
	cJSON_ArrayForEach(it, params)
	{
		if (!strcmp(it->string, "seed")) {
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
		rc = fl_preload_rule_parse(it->valuestring, 0, &s->rules[s->nrules], err);
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
	free(s);
	return rc;
}

static int syscall_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
			struct fl_error *err)
{
	struct syscall_spec *s = spec;
	cJSON *u = NULL, *tables;
	int rc;

	u = cJSON_CreateObject();
	tables = u ? cJSON_AddArrayToObject(u, "tables") : NULL;
	if (!tables) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->npids; i++) {
		struct fl_preload_table *t = NULL;
		char name[FL_SHM_NAME_MAX], path[64];
		cJSON *e;

		if (s->single)
			snprintf(path, sizeof(path), "$.target.pid");
		else
			snprintf(path, sizeof(path), "$.target.pids[%zu]", i);
		if (ctx && ctx->allow_pid &&
		    (rc = ctx->allow_pid(ctx->opaque, s->pids[i], err)) < 0)
			goto out;
		if ((rc = fl_preload_table_name_for_pid(s->pids[i], name, sizeof(name))) < 0)
			goto out;
		rc = fl_preload_table_open(name, &t);
		if (rc < 0) {
			fl_error_set(err, rc, path,
				     "process %d has no faultline table (/dev/shm%s: %s); start it "
				     "with LD_PRELOAD=libfaultline-preload.so",
				     s->pids[i], name, strerror(-rc));
			goto out;
		}
		/* A stale table of a dead process whose pid was reused is not this process. */
		if (fl_preload_table_owner(t) != s->pids[i] || kill(s->pids[i], 0) < 0) {
			fl_preload_table_close(t);
			rc = fl_error_set(err, -ESRCH, path, "process %d is gone (stale table)",
					  s->pids[i]);
			goto out;
		}
		if (fl_preload_table_nrules(t)) {
			fl_preload_table_close(t);
			rc =
			    fl_error_set(err, -EBUSY, path,
					 "process %d already has syscall faults armed", s->pids[i]);
			goto out;
		}
		fl_preload_table_close(t);
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddStringToObject(e, "table", name) ||
		    !cJSON_AddNumberToObject(e, "pid", s->pids[i])) {
			cJSON_Delete(e);
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(tables, e);
	}
	if (!cJSON_AddNumberToObject(u, "seed",
				     (double)(s->have_seed ? s->seed
					      : ctx	   ? ctx->seed % (1ULL << 53)
							   : 0))) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
	rc = 0;
out:
	cJSON_Delete(u);
	return rc;
}

/* Disarm every table the record names; a table that is gone counts as disarmed. */
static int syscall_revert(const cJSON *undo, struct fl_error *err)
{
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;
	int first = 0;

	if (!cJSON_IsArray(tables))
		return fl_error_set(err, -EINVAL, "", "undo record without tables");
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;
		int rc;

		if (!cJSON_IsString(name))
			continue;
		rc = fl_preload_table_open(name->valuestring, &t);
		if (rc == 0)
			rc = fl_preload_table_disarm(t);
		fl_preload_table_close(t);
		if (rc < 0 && rc != -ENOENT && !first)
			first = fl_error_set(err, rc, "", "disarming %s: %s", name->valuestring,
					     strerror(-rc));
	}
	return first;
}

static int syscall_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
			 struct fl_error *err)
{
	struct syscall_spec *s = spec;
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(undo, "seed");
	int rc = 0;

	(void)ctx;
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;

		if (!cJSON_IsString(name)) {
			(void)syscall_revert(undo, NULL);
			return fl_error_set(err, -EINVAL, "", "undo record: table without a name");
		}
		rc = fl_preload_table_open(name->valuestring, &t);
		if (rc == 0)
			rc = fl_preload_table_arm(
			    t, s->rules, s->nrules,
			    cJSON_IsNumber(seed) ? (uint64_t)seed->valuedouble : 0, 0);
		fl_preload_table_close(t);
		if (rc < 0) {
			fl_error_set(err, rc, "", "arming %s: %s", name->valuestring,
				     strerror(-rc));
			/* All or nothing: disarm what was armed. */
			(void)syscall_revert(undo, NULL);
			return rc;
		}
	}
	return 0;
}

static int syscall_describe(const void *spec, struct fl_buf *out)
{
	const struct syscall_spec *s = spec;
	int rc = fl_buf_printf(out, "syscall faults on pid");

	for (size_t i = 0; i < s->npids && rc == 0; i++)
		rc = fl_buf_printf(out, "%s %d", i ? "," : "", s->pids[i]);
	for (size_t i = 0; i < s->nrules && rc == 0; i++)
		rc = fl_buf_printf(out, "%s%s", i ? "; " : ": ", s->texts[i]);
	return rc;
}

static bool syscall_available(char *why, size_t whylen)
{
	if (access("/dev/shm", W_OK) == 0)
		return true;
	snprintf(why, whylen, "/dev/shm is not writable: %s", strerror(errno));
	return false;
}

static void syscall_free(void *spec)
{
	free(spec);
}

const struct fl_fault_ops fl_fault_syscall = {
    .kind = "syscall",
    .parse = syscall_parse,
    .plan = syscall_plan,
    .apply = syscall_apply,
    .revert = syscall_revert,
    .describe = syscall_describe,
    .available = syscall_available,
    .free = syscall_free,
};
