#include "core/api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fl_api_id_valid(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	/* Ids name journal files: no leading '.', which marks temporary files there. */
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static int json_depth(const cJSON *j)
{
	int max = 0;

	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		int d = json_depth(c);

		if (d > max)
			max = d;
		if (max > FL_API_NESTING_MAX)
			break;
	}
	return max + 1;
}

/* Is a key repeated in one object, at any depth? Fills path ("$.params.delay"). */
static bool json_dup_key(const cJSON *j, char *path, size_t len)
{
	size_t at = strlen(path), i = 0;

	for (const cJSON *c = j->child; c; c = c->next, i++) {
		if (cJSON_IsObject(j) && c->string)
			snprintf(path + at, len - at, ".%.128s", c->string);
		else
			snprintf(path + at, len - at, "[%zu]", i);
		if (cJSON_IsObject(j) && c->string)
			for (const cJSON *n = c->next; n; n = n->next)
				if (n->string && !strcmp(c->string, n->string))
					return true;
		if (json_dup_key(c, path, len))
			return true;
	}
	path[at] = '\0';
	return false;
}

int fl_api_json_parse(const char *buf, size_t len, cJSON **out, struct fl_error *err)
{
	char path[FL_ERROR_PATH_MAX];
	const char *end = NULL;
	cJSON *j;
	int r;

	*out = NULL;
	if (!buf || len == 0)
		return fl_error_set(err, -EINVAL, "$", "empty body: expected a JSON object");
	j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = (at && at >= buf && at <= buf + len) ? (size_t)(at - buf) : 0;

		return fl_error_set(err, -EINVAL, "$", "malformed JSON near byte %zu", off);
	}
	/* Only whitespace may follow the value. */
	while (end && end < buf + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t' || *end == '\0'))
		end++;
	if (end && end < buf + len) {
		cJSON_Delete(j);
		return fl_error_set(err, -EINVAL, "$",
				    "trailing data after the JSON value at byte %zu",
				    (size_t)(end - buf));
	}
	if (json_depth(j) > FL_API_NESTING_MAX) {
		cJSON_Delete(j);
		return fl_error_set(err, -E2BIG, "$", "JSON nested deeper than %d levels",
				    FL_API_NESTING_MAX);
	}
	/* As at the top level (fl_api_only_keys): "which one counts" must not be a guess. */
	strcpy(path, "$");
	if (json_dup_key(j, path, sizeof(path))) {
		r = fl_error_set(err, -EINVAL, path, "duplicate field");
		cJSON_Delete(j);
		return r;
	}
	*out = j;
	return 0;
}

int fl_api_only_keys(const cJSON *obj, const char *path, const char *const *keys,
		     struct fl_error *err)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		bool known = false;

		for (size_t i = 0; keys[i]; i++)
			if (c->string && !strcmp(c->string, keys[i]))
				known = true;
		if (!known) {
			char p[FL_ERROR_PATH_MAX];

			snprintf(p, sizeof(p), "%s.%.128s", path, c->string ? c->string : "?");
			return fl_error_set(err, -EINVAL, p, "unknown field");
		}
		/* Duplicate keys would make "which one counts" ambiguous. */
		for (const cJSON *d = c->next; d; d = d->next)
			if (c->string && d->string && !strcmp(c->string, d->string)) {
				char p[FL_ERROR_PATH_MAX];

				snprintf(p, sizeof(p), "%s.%.128s", path, c->string);
				return fl_error_set(err, -EINVAL, p, "duplicate field");
			}
	}
	return 0;
}

static int get_ttl(const cJSON *v, const char *path, uint64_t *out, struct fl_error *err)
{
	double d;

	if (!cJSON_IsNumber(v))
		return fl_error_set(err, -EINVAL, path, "expected a number of milliseconds");
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < 1 || d > (double)FL_API_TTL_MAX_MS)
		return fl_error_set(err, -ERANGE, path,
				    "expected a whole number of milliseconds in [1, %llu]",
				    (unsigned long long)FL_API_TTL_MAX_MS);
	*out = (uint64_t)d;
	return 0;
}

static int get_id(const cJSON *root, const char *key, char *dst, size_t max, bool required,
		  struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	char path[64];

	snprintf(path, sizeof(path), "$.%s", key);
	if (!v) {
		if (!required)
			return 0;
		return fl_error_set(err, -EINVAL, path, "missing required field");
	}
	if (!cJSON_IsString(v))
		return fl_error_set(err, -EINVAL, path, "expected a string");
	if (!fl_api_id_valid(v->valuestring, max))
		return fl_error_set(
		    err, -EINVAL, path,
		    "expected 1-%zu characters of [A-Za-z0-9._:-], starting with a letter or digit",
		    max);
	snprintf(dst, max + 1, "%s", v->valuestring);
	return 0;
}

void fl_api_fault_req_done(struct fl_api_fault_req *req)
{
	if (!req)
		return;
	cJSON_Delete(req->target);
	cJSON_Delete(req->params);
	memset(req, 0, sizeof(*req));
}

int fl_api_fault_req_parse(const char *buf, size_t len, struct fl_api_fault_req *req,
			   struct fl_error *err)
{
	static const char *const keys[] = {"id",     "experiment", "kind", "target",
					   "params", "ttl_ms",	   NULL};
	cJSON *root = NULL;
	const cJSON *v;
	int r;

	memset(req, 0, sizeof(*req));
	r = fl_api_json_parse(buf, len, &root, err);
	if (r < 0)
		return r;
	if (!cJSON_IsObject(root)) {
		r = fl_error_set(err, -EINVAL, "$", "expected a JSON object");
		goto out;
	}
	r = fl_api_only_keys(root, "$", keys, err);
	if (r < 0)
		goto out;
	r = get_id(root, "id", req->id, FL_API_ID_MAX, true, err);
	if (r < 0)
		goto out;
	r = get_id(root, "experiment", req->experiment, FL_API_EXPERIMENT_MAX, false, err);
	if (r < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(root, "kind");
	if (!v) {
		r = fl_error_set(err, -EINVAL, "$.kind", "missing required field");
		goto out;
	}
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > FL_API_KIND_MAX) {
		r = fl_error_set(err, -EINVAL, "$.kind", "expected a fault kind such as \"pause\"");
		goto out;
	}
	snprintf(req->kind, sizeof(req->kind), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "target");
	if (!v) {
		r = fl_error_set(err, -EINVAL, "$.target", "missing required field");
		goto out;
	}
	if (!cJSON_IsObject(v)) {
		r = fl_error_set(err, -EINVAL, "$.target", "expected an object");
		goto out;
	}
	req->target = cJSON_DetachItemFromObjectCaseSensitive(root, "target");
	v = cJSON_GetObjectItemCaseSensitive(root, "params");
	if (v && !cJSON_IsObject(v)) {
		r = fl_error_set(err, -EINVAL, "$.params", "expected an object");
		goto out;
	}
	req->params =
	    v ? cJSON_DetachItemFromObjectCaseSensitive(root, "params") : cJSON_CreateObject();
	if (!req->params) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "ttl_ms");
	if (!v) {
		r = fl_error_set(err, -EINVAL, "$.ttl_ms", "missing required field");
		goto out;
	}
	r = get_ttl(v, "$.ttl_ms", &req->ttl_ms, err);
out:
	cJSON_Delete(root);
	if (r < 0)
		fl_api_fault_req_done(req);
	return r;
}

char *fl_api_fault_req_json(const char *id, const char *experiment, const char *kind,
			    const cJSON *target, const cJSON *params, uint64_t ttl_ms)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "id", id))
		goto out;
	if (experiment && !cJSON_AddStringToObject(o, "experiment", experiment))
		goto out;
	if (!cJSON_AddStringToObject(o, "kind", kind))
		goto out;
	if (!cJSON_AddItemToObject(o, "target",
				   target ? cJSON_Duplicate(target, true) : cJSON_CreateObject()))
		goto out;
	if (!cJSON_AddItemToObject(o, "params",
				   params ? cJSON_Duplicate(params, true) : cJSON_CreateObject()))
		goto out;
	if (!cJSON_AddNumberToObject(o, "ttl_ms", (double)ttl_ms))
		goto out;
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}

int fl_api_renew_parse(const char *buf, size_t len, uint64_t *ttl_ms, struct fl_error *err)
{
	static const char *const keys[] = {"ttl_ms", NULL};
	cJSON *root = NULL;
	const cJSON *v;
	int r;

	*ttl_ms = 0;
	if (!buf || len == 0)
		return 0;
	r = fl_api_json_parse(buf, len, &root, err);
	if (r < 0)
		return r;
	if (!cJSON_IsObject(root)) {
		r = fl_error_set(err, -EINVAL, "$", "expected a JSON object");
		goto out;
	}
	r = fl_api_only_keys(root, "$", keys, err);
	if (r < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(root, "ttl_ms");
	if (v)
		r = get_ttl(v, "$.ttl_ms", ttl_ms, err);
out:
	cJSON_Delete(root);
	return r;
}

char *fl_api_error_json(const char *code, const char *message, const char *path)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(o, "error");
	char *s = NULL;

	if (!o || !e)
		goto out;
	if (!cJSON_AddStringToObject(e, "code", code) ||
	    !cJSON_AddStringToObject(e, "message", message ? message : ""))
		goto out;
	if (path && *path ? !cJSON_AddStringToObject(e, "path", path)
			  : !cJSON_AddNullToObject(e, "path"))
		goto out;
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}

bool fl_api_error_parse(const char *buf, size_t len, struct fl_error *err)
{
	cJSON *root = NULL;
	const cJSON *e, *code, *msg, *path;
	struct fl_error ignored;
	bool ok = false;

	if (fl_api_json_parse(buf, len, &root, &ignored) < 0)
		return false;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	code = cJSON_GetObjectItemCaseSensitive(e, "code");
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	path = cJSON_GetObjectItemCaseSensitive(e, "path");
	if (cJSON_IsString(code) && cJSON_IsString(msg)) {
		fl_error_set(err, -EPROTO, cJSON_IsString(path) ? path->valuestring : NULL,
			     "%s: %s", code->valuestring, msg->valuestring);
		ok = true;
	}
	cJSON_Delete(root);
	return ok;
}
