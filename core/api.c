#include "core/api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

/*
 * JSON text is UTF-8 (RFC 8259 §8.1): the shortest form, no surrogates, at most
 * U+10FFFF. The byte offset of the first invalid sequence, or -1.
 */
static ssize_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return (ssize_t)i;
		if (len - i <= n)
			return (ssize_t)i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (ssize_t)i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (ssize_t)i;
		i += n + 1;
	}
	return -1;
}

/*
 * The strings of a JSON text (keys and values), counted in document order:
 * the index of the first one that holds an escaped NUL (\u0000, which cJSON
 * would decode into a C string that ends there: "/bin/true\u0000; x" would
 * read as "/bin/true") or a raw control character (not JSON at all), with the
 * reason; -1 when none does. The text has already been parsed by cJSON, so it
 * is well formed up to `len`.
 */
static long bad_string_index(const char *s, size_t len, const char **why)
{
	long idx = -1;
	bool in = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!in) {
			if (c == '"') {
				in = true;
				idx++;
			}
			continue;
		}
		if (c == '"') {
			in = false;
		} else if (c < 0x20) {
			*why = "control character in a string (escape it)";
			return idx;
		} else if (c == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4)) {
				*why = "NUL character (\\u0000) in a string";
				return idx;
			}
			i++; /* the escaped character; \uXXXX's digits are plain */
		}
	}
	return -1;
}

struct check_walk {
	long want; /* index of the string bad_string_index found, or -1 */
	long seen; /* strings passed so far, in document order */
	const char *bad_why;
};

/*
 * A key repeated in one object, a number beyond a double (1e999 reads as
 * inf and would be written back as null), or the bad string of w->want, at
 * any depth: the reason, with the path of the value in path
 * ("$.params.delay"); NULL when the tree is fine. Children are visited in
 * document order, as cJSON keeps them, so the strings are counted as
 * bad_string_index counted them.
 */
static const char *json_check(const cJSON *j, char *path, size_t len, struct check_walk *w)
{
	size_t at = strlen(path), i = 0;
	const char *why;

	for (const cJSON *c = j->child; c; c = c->next, i++) {
		if (cJSON_IsObject(j) && c->string)
			snprintf(path + at, len - at, ".%.128s", c->string);
		else
			snprintf(path + at, len - at, "[%zu]", i);
		if (cJSON_IsObject(j) && c->string) {
			if (w->seen++ == w->want)
				return w->bad_why;
			for (const cJSON *n = c->next; n; n = n->next)
				if (n->string && !strcmp(c->string, n->string))
					return "duplicate field";
		}
		if (cJSON_IsString(c) && w->seen++ == w->want)
			return w->bad_why;
		if (cJSON_IsNumber(c) && !isfinite(c->valuedouble))
			return "number out of range";
		if ((why = json_check(c, path, len, w)))
			return why;
	}
	path[at] = '\0';
	return NULL;
}

int fl_api_json_parse(const char *buf, size_t len, cJSON **out, struct fl_error *err)
{
	char path[FL_ERROR_PATH_MAX];
	const char *end = NULL, *why;
	struct check_walk w = {-1, 0, NULL};
	ssize_t bad;
	cJSON *j;
	int r;

	*out = NULL;
	if (!buf || len == 0)
		return fl_error_set(err, -EINVAL, "$", "empty body: expected a JSON object");
	/* Before anything is parsed, so no message ever echoes an invalid sequence. */
	bad = utf8_invalid_at((const unsigned char *)buf, len);
	if (bad >= 0)
		return fl_error_set(err, -EINVAL, "$", "invalid UTF-8 at byte %zd", bad);
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
	w.want = bad_string_index(buf, end ? (size_t)(end - buf) : len, &w.bad_why);
	/* As at the top level (fl_api_only_keys): "which one counts" must not be a guess. */
	strcpy(path, "$");
	if (cJSON_IsString(j) && w.want == 0)
		why = w.bad_why; /* the value itself is the one string */
	else
		why = json_check(j, path, sizeof(path), &w);
	if (why) {
		r = fl_error_set(err, -EINVAL, path, "%s", why);
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool query_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/*
 * The query string of the agent's API (RFC 3986 §3.4, the form its routes
 * take):
 *
 *   query = [ param *( "&" param ) ]
 *   param = name [ "=" value ]
 *   name  = 1*32( ALPHA / DIGIT / "_" )           literal, never %-encoded
 *   value = *( %x21-7E except "&" "#" "%" / "%" HEXDIG HEXDIG )
 *
 * A value is %-decoded ("+" stays "+": this is not a form), and the decoded
 * value must be at most 256 bytes of UTF-8 without NUL or control
 * characters. Every name appears at most once: with "?dry_run=0&dry_run=1",
 * which one counts must not be a guess. A name the route does not take is an
 * error, like an unknown body field.
 */
int fl_api_query_parse(const char *q, size_t len, const char *const *allowed,
		       struct fl_api_query *out, struct fl_error *err)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!q || len == 0)
		return 0;
	for (;;) {
		struct fl_api_query_param *p;
		size_t start = i, n = 0;
		char path[FL_API_QUERY_KEY_MAX + 2];
		bool known = false;

		while (i < len && query_name_char(q[i]))
			i++;
		if (i == start) {
			if (i == len || q[i] == '&')
				return fl_error_set(err, -EINVAL, "?", "empty query parameter");
			return fl_error_set(err, -EINVAL, "?",
					    "a query parameter's name is 1-%d letters, digits or _",
					    FL_API_QUERY_KEY_MAX);
		}
		if (i - start > FL_API_QUERY_KEY_MAX || (i < len && q[i] != '=' && q[i] != '&'))
			return fl_error_set(err, -EINVAL, "?",
					    "a query parameter's name is 1-%d letters, digits or _",
					    FL_API_QUERY_KEY_MAX);
		snprintf(path, sizeof(path), "?%.*s", (int)(i - start), q + start);
		for (size_t k = 0; allowed && allowed[k]; k++)
			if (!strcmp(allowed[k], path + 1))
				known = true;
		if (!known)
			return fl_error_set(err, -EINVAL, path, "unknown query parameter \"%s\"",
					    path + 1);
		for (size_t k = 0; k < out->n; k++)
			if (!strcmp(out->p[k].key, path + 1))
				return fl_error_set(err, -EINVAL, path,
						    "duplicate query parameter \"%s\"", path + 1);
		if (out->n == FL_API_QUERY_MAX)
			return fl_error_set(err, -EINVAL, path, "more than %d query parameters",
					    FL_API_QUERY_MAX);
		p = &out->p[out->n++];
		snprintf(p->key, sizeof(p->key), "%s", path + 1);
		if (i < len && q[i] == '=') {
			p->has_value = true;
			for (i++; i < len && q[i] != '&'; i++) {
				int c = (unsigned char)q[i];

				if (c == '%') {
					int hi = i + 2 < len ? hexval(q[i + 1]) : -1;
					int lo = i + 2 < len ? hexval(q[i + 2]) : -1;

					if (hi < 0 || lo < 0)
						return fl_error_set(err, -EINVAL, path,
								    "bad %%-escape in query "
								    "parameter \"%s\"",
								    p->key);
					c = hi << 4 | lo;
					i += 2;
				} else if (c <= 0x20 || c >= 0x7f || c == '#') {
					return fl_error_set(err, -EINVAL, path,
							    "query parameter \"%s\": a character "
							    "that must be %%-encoded",
							    p->key);
				}
				if (c < 0x20 || c == 0x7f)
					return fl_error_set(
					    err, -EINVAL, path,
					    "query parameter \"%s\": NUL or control "
					    "character",
					    p->key);
				if (n == FL_API_QUERY_VALUE_MAX)
					return fl_error_set(err, -EINVAL, path,
							    "query parameter \"%s\": over %d bytes",
							    p->key, FL_API_QUERY_VALUE_MAX);
				p->value[n++] = (char)c;
			}
			p->value[n] = '\0';
			if (utf8_invalid_at((const unsigned char *)p->value, n) >= 0)
				return fl_error_set(err, -EINVAL, path,
						    "query parameter \"%s\": invalid UTF-8",
						    p->key);
		}
		if (i == len)
			return 0;
		i++; /* '&' */
	}
}

const char *fl_api_query_get(const struct fl_api_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (!strcmp(q->p[i].key, key))
			return q->p[i].value;
	return NULL;
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
