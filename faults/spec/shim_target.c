/*
 * What the time, dns and stream kinds share (faults/spec/shim_kinds.h): the
 * syscall kind's target grammar, a params object of known keys, and rule
 * texts parsed by the shim's own rule parser (preload/rules.c), so that a
 * kind's params mean exactly what the same rule means to `faultline exec`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/spec/shim_kinds.h"

int fl_shim_kind_new(const cJSON *target, const cJSON *params, const char *const *keys,
		     struct shim_kind_spec **out, struct fl_error *err)
{
	struct shim_kind_spec *k = calloc(1, sizeof(*k));
	const cJSON *it;
	int rc;

	if (!k)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if ((rc = fl_shim_target_parse(target, &k->sc, err)) < 0)
		goto fail;
	if (k->sc.launch)
		k->sc.launch->seccomp = false;
	if (!cJSON_IsObject(params)) {
		rc = fl_error_set(err, -EINVAL, "$.params", "expected an object");
		goto fail;
	}
	cJSON_ArrayForEach(it, params)
	{
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], it->string); i++)
			;
		if (!keys[i]) {
			char path[FL_ERROR_PATH_MAX];

			snprintf(path, sizeof(path), "$.params.%.64s", it->string);
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto fail;
		}
	}
	*out = k;
	return 0;
fail:
	fl_shim_kind_free(k);
	return rc;
}

int fl_shim_kind_add_rule(struct shim_kind_spec *k, const char *text, const char *path,
			  struct fl_error *err)
{
	struct syscall_spec *s = &k->sc;
	int rc;

	if (s->nrules == FL_SHM_RULES_MAX)
		return fl_error_set(err, -E2BIG, path, "at most %u rules in all", FL_SHM_RULES_MAX);
	if (strlen(text) >= FL_RULE_TEXT_MAX)
		return fl_error_set(err, -E2BIG, path, "too long");
	rc = fl_preload_rule_parse(text, 0, &s->rules[s->nrules], err);
	if (rc < 0) {
		/* The rule parser's message, at the field the value came from. */
		snprintf(err->path, sizeof(err->path), "%s", path);
		return rc;
	}
	snprintf(s->texts[s->nrules], FL_RULE_TEXT_MAX, "%s", text);
	s->nrules++;
	return 0;
}

int fl_shim_kind_value(const cJSON *v, const char *path, size_t maxlen, const char *expect,
		       const char **out, struct fl_error *err)
{
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return fl_error_set(err, -EINVAL, path, "expected %s", expect);
	if (strlen(v->valuestring) > maxlen)
		return fl_error_set(err, -E2BIG, path, "at most %zu bytes", maxlen);
	if (strpbrk(v->valuestring, ":\\"))
		return fl_error_set(err, -EINVAL, path, "expected %s (no ':' or '\\')", expect);
	*out = v->valuestring;
	return 0;
}

int fl_shim_kind_uint(const cJSON *obj, const char *key, const char *path, uint64_t max,
		      uint64_t *out, bool *present, struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return fl_error_set(err, -EINVAL, path, "expected an integer from 0 to %llu",
				    (unsigned long long)max);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

int fl_shim_kind_describe(const void *spec, struct fl_buf *out)
{
	const struct shim_kind_spec *k = spec;
	int rc = fl_shim_target_describe(&k->sc, k->what, out);

	for (size_t i = 0; i < k->sc.nrules && rc == 0; i++)
		rc = fl_buf_printf(out, "%s%s", i ? "; " : " (shim rules: ", k->sc.texts[i]);
	if (rc == 0 && k->sc.nrules)
		rc = fl_buf_printf(out, ")");
	return rc;
}

void fl_shim_kind_free(void *spec)
{
	struct shim_kind_spec *k = spec;

	if (k)
		fl_shim_spec_done(&k->sc);
	free(k);
}
