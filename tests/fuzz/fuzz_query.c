/*
 * libFuzzer target: the agent's query-string parser (fl_api_query_parse in
 * core/api.c), which every request's "?..." goes through before anything is
 * done. Input: byte 0 picks the route's parameters (none, apply's, the list's,
 * revert-all's), the rest is the query string (not NUL-terminated).
 * Properties: an accepted query names only parameters of the route, each
 * once, in the order given, with decoded values of valid UTF-8 without NUL or
 * control characters, at most FL_API_QUERY_VALUE_MAX bytes; written back
 * %-encoded, it parses to the same parameters; an error has a path that
 * starts with '?' and, past it, only a name character.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const none[] = {NULL};
static const char *const apply_args[] = {"dry_run", NULL};
static const char *const list_args[] = {"experiment", NULL};
static const char *const delete_args[] = {"experiment", "all", NULL};
static const char *const *const routes[] = {NULL, none, apply_args, list_args, delete_args};

static bool allowed(const char *const *a, const char *k)
{
	for (size_t i = 0; a && a[i]; i++)
		if (!strcmp(a[i], k))
			return true;
	return false;
}

/* Strict UTF-8 (as core/api.c reads it), for the property. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], k, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			k = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + k >= n)
			return false;
		for (unsigned j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *args;
	struct fl_api_query q, q2;
	struct fl_error err;
	char again[FL_API_QUERY_MAX * (FL_API_QUERY_KEY_MAX + 2 + 3 * FL_API_QUERY_VALUE_MAX)];
	size_t at = 0;

	if (size < 1)
		return 0;
	args = routes[data[0] % (sizeof(routes) / sizeof(routes[0]))];
	fl_error_init(&err);
	if (fl_api_query_parse((const char *)data + 1, size - 1, args, &q, &err) < 0) {
		if (err.path[0] != '?')
			abort();
		for (const char *p = err.path + 1; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_'))
				abort();
		return 0;
	}
	if (q.n > FL_API_QUERY_MAX)
		abort();
	for (size_t i = 0; i < q.n; i++) {
		size_t n = strlen(q.p[i].value);

		if (!allowed(args, q.p[i].key) || n > FL_API_QUERY_VALUE_MAX ||
		    !utf8_ok((const unsigned char *)q.p[i].value, n))
			abort();
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)q.p[i].value[k] < 0x20 || q.p[i].value[k] == 0x7f)
				abort();
		for (size_t k = 0; k < i; k++)
			if (!strcmp(q.p[i].key, q.p[k].key))
				abort();
		if (fl_api_query_get(&q, q.p[i].key) != q.p[i].value)
			abort();
		/* Written back, every byte %-encoded: the same parameters again. */
		at += (size_t)snprintf(again + at, sizeof(again) - at, "%s%s%s", i ? "&" : "",
				       q.p[i].key, q.p[i].has_value ? "=" : "");
		for (size_t k = 0; k < n; k++)
			at += (size_t)snprintf(again + at, sizeof(again) - at, "%%%02X",
					       (unsigned char)q.p[i].value[k]);
	}
	if (fl_api_query_parse(again, at, args, &q2, &err) < 0 || q2.n != q.n)
		abort();
	for (size_t i = 0; i < q.n; i++)
		if (strcmp(q.p[i].key, q2.p[i].key) || strcmp(q.p[i].value, q2.p[i].value) ||
		    q.p[i].has_value != q2.p[i].has_value)
			abort();
	return 0;
}
