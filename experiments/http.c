/*
 * The http provider: {"type": "http", "url", "method", "headers", "arguments",
 * "timeout", ...} parsed into struct fl_provider, the request built the way
 * Chaos Toolkit (python requests) builds it (docs/experiment-format.md, "http").
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

#define URL_MAX		 8192
#define HTTP_RETRIES_MAX 100

/* ---- http provider ------------------------------------------------------------------ */

static bool token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

static int url_encode(struct fl_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			r = fl_buf_add(b, p, 1);
		} else if (*p == ' ') {
			r = fl_buf_add(b, "+", 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			r = fl_buf_add(b, e, 3);
		}
	}
	return r;
}

/*
 * Encode an object like Python requests does for params=/data=:
 * k=v&k2=v2, lists repeat the key, null values are dropped.
 */
static char *form_encode(struct fl_errlist *errs, const cJSON *obj, const char *path)
{
	struct fl_buf b;
	const cJSON *it, *v;
	bool first = true, bad = false;
	int r = 0;

	fl_buf_init(&b, FL_EXP_STRING_MAX);
	cJSON_ArrayForEach(it, obj)
	{
		const cJSON *vals = cJSON_IsArray(it) ? it->child : it;
		char p[FL_PATH_MAX];

		fl_path_key(p, sizeof(p), path, it->string);
		for (v = vals; v; v = cJSON_IsArray(it) ? v->next : NULL) {
			char *s;

			if (cJSON_IsNull(v))
				continue;
			s = fl_py_str(v);
			if (!s) {
				fl_experr(
				    errs, -EINVAL, p,
				    "a form or query value must be a string, number or boolean, "
				    "got %s (set Content-Type: application/json to send JSON)",
				    fl_json_kind(v));
				bad = true;
				break;
			}
			if (!first)
				r = fl_buf_add(&b, "&", 1);
			first = false;
			if (r == 0)
				r = url_encode(&b, it->string);
			if (r == 0)
				r = fl_buf_add(&b, "=", 1);
			if (r == 0)
				r = url_encode(&b, s);
			free(s);
			if (r < 0)
				break;
		}
		if (r < 0 || bad)
			break;
	}
	if (r < 0)
		fl_experr(errs, r, path,
			  r == -E2BIG ? "encoded arguments are longer than %d bytes"
				      : "out of memory (%d)",
			  FL_EXP_STRING_MAX);
	if (r < 0 || bad) {
		fl_buf_done(&b);
		return NULL;
	}
	{
		char *s = fl_buf_steal(&b);

		return s ? s : strdup("");
	}
}

static const char *header_get(const struct fl_provider *p, const char *name)
{
	for (size_t i = 0; i < p->n_headers; i++)
		if (!strcasecmp(p->headers[i].key, name))
			return p->headers[i].value;
	return NULL;
}

static int header_add(struct fl_provider *p, const char *k, const char *v)
{
	struct fl_kv *nv = realloc(p->headers, (p->n_headers + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	p->headers = nv;
	nv[p->n_headers].key = strdup(k);
	nv[p->n_headers].value = strdup(v);
	if (!nv[p->n_headers].key || !nv[p->n_headers].value) {
		free(nv[p->n_headers].key);
		free(nv[p->n_headers].value);
		return -ENOMEM;
	}
	p->n_headers++;
	return 0;
}

static void parse_headers(struct fl_errlist *errs, const cJSON *h, const char *path,
			  struct fl_provider *p)
{
	const cJSON *it;

	if (!cJSON_IsObject(h)) {
		fl_experr(errs, -EINVAL, path,
			  "expected an object of header names to values, got %s", fl_json_kind(h));
		return;
	}
	if (cJSON_GetArraySize(h) > FL_EXP_ARGS_MAX) {
		fl_experr(errs, -E2BIG, path, "more than %d headers", FL_EXP_ARGS_MAX);
		return;
	}
	cJSON_ArrayForEach(it, h)
	{
		char hp[FL_PATH_MAX], *v;
		bool ok = it->string[0] != '\0';

		fl_path_key(hp, sizeof(hp), path, it->string);
		for (const char *c = it->string; *c; c++)
			if (!token_char(*c))
				ok = false;
		if (!ok) {
			fl_experr(errs, -EINVAL, hp, "not a valid HTTP header name");
			continue;
		}
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
			fl_experr(errs, -EINVAL, hp, "expected a string, got %s", fl_json_kind(it));
			continue;
		}
		v = fl_py_str(it);
		if (!v) {
			fl_experr(errs, -ENOMEM, hp, "out of memory");
			return;
		}
		if (strpbrk(v, "\r\n")) {
			fl_experr(errs, -EINVAL, hp, "a header value cannot contain a line break");
			free(v);
			continue;
		}
		if (header_add(p, it->string, v) < 0)
			fl_experr(errs, -ENOMEM, hp, "out of memory");
		free(v);
	}
}

/*
 * HTTP arguments, as Chaos Toolkit (python requests) sends them:
 *   GET:    object -> query string appended to the URL; string -> appended as is
 *   others: string -> body as is; with Content-Type application/json any value is
 *           sent as JSON; otherwise an object is form-encoded (Content-Type added)
 *           and a list is sent as JSON (Content-Type added)
 */
static void parse_http_args(struct fl_errlist *errs, const cJSON *args, const char *path,
			    struct fl_provider *p)
{
	const char *ct = header_get(p, "Content-Type");
	bool json_ct = ct && !strncasecmp(ct, "application/json", 16);
	char got[96];

	if (!args || cJSON_IsNull(args))
		return;
	if (!strcmp(p->method, "GET") || !strcmp(p->method, "HEAD")) {
		struct fl_buf b;
		char *q;
		int r;

		if (cJSON_IsString(args)) {
			q = strdup(args->valuestring);
		} else if (cJSON_IsObject(args)) {
			q = form_encode(errs, args, path);
			if (!q)
				return;
		} else {
			fl_experr(
			    errs, -EINVAL, path,
			    "for a %s request, expected an object of query parameters, got %s",
			    p->method, fl_json_got(args, got, sizeof(got)));
			return;
		}
		if (!q) {
			fl_experr(errs, -ENOMEM, path, "out of memory");
			return;
		}
		if (!p->url || !*q) {
			free(q);
			return;
		}
		fl_buf_init(&b, URL_MAX);
		r = fl_buf_printf(&b, "%s%s%s", p->url, strchr(p->url, '?') ? "&" : "?", q);
		free(q);
		if (r < 0) {
			fl_experr(errs, r, path, "the URL with its query is longer than %d bytes",
				  URL_MAX);
			fl_buf_done(&b);
			return;
		}
		free(p->url);
		p->url = fl_buf_steal(&b);
		return;
	}
	if (cJSON_IsString(args) && !json_ct) {
		p->body = strdup(args->valuestring);
	} else if (cJSON_IsObject(args) && !json_ct) {
		p->body = form_encode(errs, args, path);
		if (!p->body)
			return;
		if (!ct && header_add(p, "Content-Type", "application/x-www-form-urlencoded") < 0)
			fl_experr(errs, -ENOMEM, path, "out of memory");
	} else {
		p->body = cJSON_PrintUnformatted(args);
		if (p->body && strlen(p->body) > FL_EXP_STRING_MAX) {
			fl_experr(errs, -E2BIG, path, "the JSON body is longer than %d bytes",
				  FL_EXP_STRING_MAX);
			return;
		}
		if (!ct && header_add(p, "Content-Type", "application/json") < 0)
			fl_experr(errs, -ENOMEM, path, "out of memory");
	}
	if (!p->body)
		fl_experr(errs, -ENOMEM, path, "out of memory");
}

void fl_http_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			    struct fl_provider *p)
{
	static const char *const known[] = {"type",
					    "url",
					    "method",
					    "headers",
					    "arguments",
					    "timeout",
					    "expected_status",
					    "verify_tls",
					    "max_retries",
					    "secrets",
					    NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	fl_check_keys(errs, j, path, known, "an http provider");
	p->expected_status = -1;
	p->verify_tls = true;
	p->url = fl_get_string(errs, j, "url", path, true, URL_MAX, "an http:// or https:// URL");
	if (p->url) {
		bool ok = !strncasecmp(p->url, "http://", 7) || !strncasecmp(p->url, "https://", 8);

		for (const char *c = p->url; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				ok = false;
		if (!ok || strlen(p->url) <= strlen("http://"))
			fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "url"),
				  "expected an http:// or https:// URL without blanks, got %s",
				  fl_quote(p->url, got, sizeof(got)));
	}
	v = fl_get(j, "method");
	fl_path_key(sp, sizeof(sp), path, "method");
	if (!v) {
		p->method = strdup("GET");
	} else if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 32) {
		fl_experr(errs, -EINVAL, sp, "expected an HTTP method like \"GET\", got %s",
			  fl_json_got(v, got, sizeof(got)));
	} else {
		p->method = strdup(v->valuestring);
		for (char *c = p->method; c && *c; c++) {
			if (!isalpha((unsigned char)*c)) {
				fl_experr(errs, -EINVAL, sp,
					  "expected an HTTP method like \"GET\", got %s",
					  fl_json_got(v, got, sizeof(got)));
				break;
			}
			*c = (char)toupper((unsigned char)*c);
		}
	}
	if (!p->method) {
		p->method = strdup("GET");
		if (!p->method)
			fl_experr(errs, -ENOMEM, sp, "out of memory");
	}
	v = fl_get(j, "headers");
	if (v)
		parse_headers(errs, v, fl_path_key(sp, sizeof(sp), path, "headers"), p);
	v = fl_get(j, "timeout");
	fl_path_key(sp, sizeof(sp), path, "timeout");
	if (cJSON_IsArray(v)) {
		char ip[FL_PATH_MAX];

		if (cJSON_GetArraySize(v) != 2)
			fl_experr(
			    errs, -EINVAL, sp,
			    "expected a number of seconds or [connect, read] seconds, got a list "
			    "of %d",
			    cJSON_GetArraySize(v));
		else {
			fl_get_seconds(errs, v->child, fl_path_index(ip, sizeof(ip), sp, 0), true,
				       &p->connect_timeout_ms);
			fl_get_seconds(errs, v->child->next, fl_path_index(ip, sizeof(ip), sp, 1),
				       true, &p->timeout_ms);
		}
	} else if (v) {
		fl_get_seconds(errs, v, sp, true, &p->timeout_ms);
	}
	v = fl_get(j, "expected_status");
	if (v) {
		fl_path_key(sp, sizeof(sp), path, "expected_status");
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 100 || v->valuedouble > 599)
			fl_experr(errs, -EINVAL, sp,
				  "expected an HTTP status from 100 to 599, got %s",
				  fl_json_got(v, got, sizeof(got)));
		else
			p->expected_status = (long)v->valuedouble;
	}
	v = fl_get(j, "verify_tls");
	if (v) {
		if (!cJSON_IsBool(v))
			fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "verify_tls"),
				  "expected true or false, got %s",
				  fl_json_got(v, got, sizeof(got)));
		else
			p->verify_tls = cJSON_IsTrue(v);
	}
	v = fl_get(j, "max_retries");
	if (v) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 0 || v->valuedouble > HTTP_RETRIES_MAX)
			fl_experr(errs, -EINVAL, fl_path_key(sp, sizeof(sp), path, "max_retries"),
				  "expected an integer from 0 to %d, got %s", HTTP_RETRIES_MAX,
				  fl_json_got(v, got, sizeof(got)));
		else
			p->max_retries = (unsigned)v->valuedouble;
	}
	if (p->method)
		parse_http_args(errs, fl_get(j, "arguments"),
				fl_path_key(sp, sizeof(sp), path, "arguments"), p);
}
