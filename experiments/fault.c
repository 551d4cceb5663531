/*
 * The fault provider: {"type": "fault", "kind", "target", "params",
 * "duration", "agents"} parsed into struct fl_provider; the kind's own checks
 * are the agent's (and `faultline validate`'s).
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/duration.h"

/* ---- fault provider ------------------------------------------------------------------- */

void fl_fault_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			     struct fl_provider *p)
{
	static const char *const known[] = {"type",	"kind",	  "target", "params",
					    "duration", "agents", NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	fl_check_keys(errs, j, path, known, "a fault provider");
	p->kind = fl_get_string(errs, j, "kind", path, true, 64, "a fault kind like \"netem\"");
	if (p->kind) {
		bool ok = islower((unsigned char)p->kind[0]);

		for (const char *c = p->kind; *c; c++)
			if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
			      *c == '_' || *c == '-'))
				ok = false;
		if (!ok)
			fl_experr(
			    errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "kind"),
			    "expected a fault kind (lower-case letters, digits, _ and -), got %s",
			    fl_quote(p->kind, got, sizeof(got)));
	}
	v = fl_get(j, "target");
	fl_path_key(sp, sizeof(sp), path, "target");
	if (!v)
		fl_experr(errs, -EINVAL, sp,
			  "missing: expected an object saying what to inject into");
	else if (!cJSON_IsObject(v))
		fl_experr(errs, -EINVAL, sp, "expected an object, got %s",
			  fl_json_got(v, got, sizeof(got)));
	else if (!(p->target_json = cJSON_PrintUnformatted(v)))
		fl_experr(errs, -ENOMEM, sp, "out of memory");
	v = fl_get(j, "params");
	fl_path_key(sp, sizeof(sp), path, "params");
	if (v && !cJSON_IsObject(v))
		fl_experr(errs, -EINVAL, sp, "expected an object, got %s",
			  fl_json_got(v, got, sizeof(got)));
	else if (!(p->params_json = v ? cJSON_PrintUnformatted(v) : strdup("{}")))
		fl_experr(errs, -ENOMEM, sp, "out of memory");
	v = fl_get(j, "duration");
	fl_path_key(sp, sizeof(sp), path, "duration");
	/* Missing: 0; whether the kind needs one: controller/provider_fault.c. */
	if (!v) {
		p->duration_ms = 0;
	} else if (cJSON_IsNumber(v)) {
		fl_get_seconds(errs, v, sp, true, &p->duration_ms);
	} else if (!cJSON_IsString(v)) {
		fl_experr(errs, -EINVAL, sp,
			  "expected a duration like \"30s\" or \"250ms\", got %s",
			  fl_json_got(v, got, sizeof(got)));
	} else {
		int r = fl_duration_parse_ms(v->valuestring, 1000000, &p->duration_ms);

		if (r == -ERANGE)
			fl_experr(errs, r, sp, "%s is longer than the limit of 7 days",
				  fl_quote(v->valuestring, got, sizeof(got)));
		else if (r < 0)
			fl_experr(
			    errs, r, sp,
			    "expected a duration like \"30s\", \"250ms\", \"5m\" or \"1h\", got %s",
			    fl_quote(v->valuestring, got, sizeof(got)));
		else if (p->duration_ms == 0)
			fl_experr(errs, -EINVAL, sp, "a fault must last longer than 0");
	}
	v = fl_get(j, "agents");
	fl_path_key(sp, sizeof(sp), path, "agents");
	if (v) {
		const cJSON *it;
		size_t i = 0, n = 0;

		if (!cJSON_IsArray(v)) {
			fl_experr(errs, -EINVAL, sp,
				  "expected a list of agent names or addresses, got %s",
				  fl_json_got(v, got, sizeof(got)));
			return;
		}
		if (cJSON_GetArraySize(v) > FL_EXP_ARGS_MAX) {
			fl_experr(errs, -E2BIG, sp, "more than %d agents", FL_EXP_ARGS_MAX);
			return;
		}
		p->agents = calloc(1, sizeof(*p->agents));
		if (!p->agents) {
			fl_experr(errs, -ENOMEM, sp, "out of memory");
			return;
		}
		cJSON_ArrayForEach(it, v)
		{
			char ip[FL_PATH_MAX];

			fl_path_index(ip, sizeof(ip), sp, i++);
			if (!cJSON_IsString(it) || !it->valuestring[0] ||
			    strlen(it->valuestring) > FL_EXP_NAME_MAX) {
				fl_experr(errs, -EINVAL, ip,
					  "expected an agent name or address, got %s",
					  fl_json_got(it, got, sizeof(got)));
				continue;
			}
			if (fl_strv_add(&p->agents, &n, strdup(it->valuestring)) < 0) {
				fl_experr(errs, -ENOMEM, ip, "out of memory");
				return;
			}
		}
	}
}
