/*
 * Tolerances: parsed and compiled at validation, judged against provider
 * results with Chaos Toolkit's semantics (chaoslib hypothesis.py
 * within_tolerance); the few deliberate differences are listed in
 * docs/experiment-format.md.
 */
#include "experiments/internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pyregex.h"

#define JSONPATH_MATCHES_MAX 4096

struct tol_compiled {
	bool has_regex;
	struct fl_pyregex *re; /* Python syntax through PCRE2 (core/pyregex.h) */
	struct fl_jsonpath *jp;
	cJSON *expect; /* JSONPATH: our own copy of "expect" */
};

void fl_tolerance_done(struct fl_tolerance *t)
{
	struct tol_compiled *c;

	if (!t)
		return;
	c = t->compiled;
	if (c) {
		fl_pyregex_free(c->re);
		fl_jsonpath_free(c->jp);
		cJSON_Delete(c->expect);
		free(c);
	}
	if (t->probe) {
		fl_provider_done(t->probe);
		free(t->probe);
	}
	free(t->str);
	free(t->target);
	free(t->expect_json);
	for (size_t i = 0; i < t->n_items; i++)
		free(t->items[i].str);
	free(t->items);
	memset(t, 0, sizeof(*t));
	t->count = -1;
}

/* ---- parse ----------------------------------------------------------------- */

static bool is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 9e15 &&
	       v->valuedouble == floor(v->valuedouble);
}

static int scalar_from(const cJSON *v, struct fl_tol_scalar *s)
{
	memset(s, 0, sizeof(*s));
	if (cJSON_IsBool(v)) {
		s->type = FL_SCALAR_BOOL;
		s->b = cJSON_IsTrue(v);
	} else if (cJSON_IsNumber(v)) {
		s->type = FL_SCALAR_NUMBER;
		s->num = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		s->type = FL_SCALAR_STRING;
		s->str = strdup(v->valuestring);
		if (!s->str)
			return -ENOMEM;
	} else if (cJSON_IsNull(v)) {
		s->type = FL_SCALAR_NULL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int check_keys(const cJSON *obj, const char *path, const char *const *known,
		      const char *known_list, struct fl_errlist *errs)
{
	const cJSON *it;
	int bad = 0;

	cJSON_ArrayForEach(it, obj)
	{
		bool ok = false;
		char p[FL_PATH_MAX];

		for (const char *const *k = known; *k; k++)
			if (!strcmp(it->string, *k))
				ok = true;
		if (!ok) {
			fl_experr(
			    errs, -EINVAL, fl_path_key(p, sizeof(p), path, it->string),
			    "unknown key (a %s tolerance takes %s)",
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "type")),
			    known_list);
			bad = -EINVAL;
		}
	}
	return bad;
}

static int parse_target(const cJSON *obj, const char *path, struct fl_tolerance *t,
			struct fl_errlist *errs)
{
	const cJSON *tg = cJSON_GetObjectItemCaseSensitive(obj, "target");
	char p[FL_PATH_MAX], got[96];

	if (!tg)
		return 0;
	if (!cJSON_IsString(tg) || !tg->valuestring[0] || strlen(tg->valuestring) > FL_EXP_NAME_MAX)
		return fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "target"),
				 "expected the name of a result field (\"stdout\", \"body\", "
				 "\"status\"...), got %s",
				 fl_json_got(tg, got, sizeof(got)));
	t->target = strdup(tg->valuestring);
	return t->target ? 0 : -ENOMEM;
}

static struct tol_compiled *compiled(struct fl_tolerance *t)
{
	if (!t->compiled)
		t->compiled = calloc(1, sizeof(struct tol_compiled));
	return t->compiled;
}

static int parse_regex(const cJSON *j, const char *path, struct fl_tolerance *t,
		       struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "pattern", "target", NULL};
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
	char p[FL_PATH_MAX], got[96], why_big[200];
	struct tol_compiled *c;
	int r;

	t->type = FL_TOL_REGEX;
	r = check_keys(j, path, known, "pattern and target", errs);
	if (parse_target(j, path, t, errs) < 0)
		r = -EINVAL;
	fl_path_key(p, sizeof(p), path, "pattern");
	if (!cJSON_IsString(pat) || !pat->valuestring[0])
		return fl_experr(errs, -EINVAL, p, "expected a regular expression, got %s",
				 fl_json_got(pat, got, sizeof(got)));
	t->str = strdup(pat->valuestring);
	if (!t->str)
		return -ENOMEM;
	c = compiled(t);
	if (!c)
		return -ENOMEM;
	if (fl_pyregex_compile(pat->valuestring, &c->re, why_big, sizeof(why_big)) < 0)
		return fl_experr(errs, -EINVAL, p, "invalid regular expression %s: %s",
				 fl_quote(pat->valuestring, got, sizeof(got)), why_big);
	c->has_regex = true;
	return r;
}

static int parse_jsonpath(const cJSON *j, const char *path, struct fl_tolerance *t,
			  struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "path", "expect", "count", "target", NULL};
	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(j, "path");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expect");
	const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(j, "count");
	char p[FL_PATH_MAX], got[96], why[160];
	struct tol_compiled *c;
	int r;

	t->type = FL_TOL_JSONPATH;
	r = check_keys(j, path, known, "path, expect, count and target", errs);
	if (parse_target(j, path, t, errs) < 0)
		r = -EINVAL;
	if (cnt) {
		if (!is_integer(cnt) || cnt->valuedouble < 0)
			r = fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "count"),
				      "expected a number of matches (an integer >= 0), got %s",
				      fl_json_got(cnt, got, sizeof(got)));
		else
			t->count = (long long)cnt->valuedouble;
	}
	c = compiled(t);
	if (!c)
		return -ENOMEM;
	if (ex) {
		t->has_expect = true;
		c->expect = cJSON_Duplicate(ex, 1);
		t->expect_json = cJSON_PrintUnformatted(ex);
		if (!c->expect || !t->expect_json)
			return -ENOMEM;
		if (!cJSON_IsArray(ex) && !cJSON_IsObject(ex)) {
			t->items = calloc(1, sizeof(*t->items));
			if (!t->items || scalar_from(ex, t->items) < 0)
				return -ENOMEM;
			t->n_items = 1;
		}
	}
	fl_path_key(p, sizeof(p), path, "path");
	if (!cJSON_IsString(jp) || !jp->valuestring[0])
		return fl_experr(errs, -EINVAL, p,
				 "expected a JSONPath like \"$.items[0].id\", got %s",
				 fl_json_got(jp, got, sizeof(got)));
	t->str = strdup(jp->valuestring);
	if (!t->str)
		return -ENOMEM;
	if (fl_jsonpath_compile(jp->valuestring, &c->jp, why, sizeof(why)) < 0)
		return fl_experr(errs, -EINVAL, p, "invalid JSONPath %s: %s",
				 fl_quote(jp->valuestring, got, sizeof(got)), why);
	return r;
}

static int parse_range_pair(const cJSON *arr, const char *p, double *lo, double *hi,
			    struct fl_errlist *errs)
{
	char got[96];

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2 ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(arr, 0)) ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(arr, 1)))
		return fl_experr(errs, -EINVAL, p, "expected [lower, upper] (two numbers), got %s",
				 fl_json_got(arr, got, sizeof(got)));
	*lo = cJSON_GetArrayItem(arr, 0)->valuedouble;
	*hi = cJSON_GetArrayItem(arr, 1)->valuedouble;
	if (*lo > *hi)
		return fl_experr(
		    errs, -EINVAL, p,
		    "lower bound %.15g is above upper bound %.15g: nothing could match", *lo, *hi);
	return 0;
}

static int parse_range(const cJSON *j, const char *path, struct fl_tolerance *t,
		       struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "range", "target", NULL};
	char p[FL_PATH_MAX];
	int r;

	t->type = FL_TOL_RANGE;
	r = check_keys(j, path, known, "range and target", errs);
	if (parse_target(j, path, t, errs) < 0)
		r = -EINVAL;
	if (parse_range_pair(cJSON_GetObjectItemCaseSensitive(j, "range"),
			     fl_path_key(p, sizeof(p), path, "range"), &t->lo, &t->hi, errs) < 0)
		r = -EINVAL;
	return r;
}

/*
 * {"type": "probe", "name": N, "provider": {process or http}}: Chaos Toolkit
 * runs that probe with the judged value as its "value" argument and takes
 * bool() of what it returns; a process or http result is a non-empty dict,
 * so the tolerance holds when the probe runs without failing. A process
 * probe gets "value" and the value as JSON as two more arguments (chaoslib
 * passes Python's str() of it); python providers cannot run here.
 */
static int parse_probe(const cJSON *j, const char *path, struct fl_tolerance *t,
		       struct fl_errlist *errs)
{
	static const char *const known[] = {"type", "name", "provider", "description", NULL};
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(j, "provider");
	const cJSON *pt = cJSON_GetObjectItemCaseSensitive(pv, "type");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
	char p[FL_PATH_MAX], tp[FL_PATH_MAX], got[96];
	size_t before = errs->n + errs->dropped;

	t->type = FL_TOL_PROBE;
	if (check_keys(j, path, known, "name, provider and description", errs) < 0)
		return -EINVAL;
	t->str = strdup(cJSON_IsString(name) ? name->valuestring : "tolerance probe");
	t->probe = calloc(1, sizeof(*t->probe));
	if (!t->str || !t->probe)
		return -ENOMEM;
	fl_path_key(p, sizeof(p), path, "provider");
	if (!cJSON_IsObject(pv))
		return fl_experr(errs, -EINVAL, p, "expected the probe's provider, got %s",
				 fl_json_got(pv, got, sizeof(got)));
	if (cJSON_IsString(pt) && !strcmp(pt->valuestring, "process")) {
		t->probe->type = FL_PROVIDER_PROCESS;
		fl_process_provider_parse(errs, pv, p, t->probe);
	} else if (cJSON_IsString(pt) && !strcmp(pt->valuestring, "http")) {
		t->probe->type = FL_PROVIDER_HTTP;
		fl_http_provider_parse(errs, pv, p, t->probe);
	} else {
		return fl_experr(errs, -ENOTSUP, fl_path_key(tp, sizeof(tp), p, "type"),
				 "a probe tolerance runs a process or http probe here, got %s "
				 "(faultline cannot run Python)",
				 fl_json_got(pt, got, sizeof(got)));
	}
	return errs->n + errs->dropped > before ? -EINVAL : 0;
}

/*
 * Grammar (Chaos Toolkit's tolerance forms):
 *   tolerance := bool | integer | string | list
 *              | {"type": "regex", "pattern": P [, "target": T]}
 *              | {"type": "jsonpath", "path": JP [, "expect": any] [, "count": n] [, "target": T]}
 *              | {"type": "range", "range": [lo, hi] [, "target": T]}
 *   list      := [number, number]   (inclusive range; on a status: one of the two)
 *              | [scalar, ...]      (one of)
 */
int fl_tolerance_parse(const cJSON *j, const char *path, struct fl_tolerance *t,
		       struct fl_errlist *errs)
{
	char got[96], p[FL_PATH_MAX];
	const cJSON *type, *it;
	size_t n;

	memset(t, 0, sizeof(*t));
	t->count = -1;
	if (cJSON_IsBool(j)) {
		t->type = FL_TOL_BOOL;
		t->b = cJSON_IsTrue(j);
		return 0;
	}
	if (cJSON_IsNumber(j)) {
		if (!is_integer(j))
			return fl_experr(errs, -EINVAL, path,
					 "an exact number tolerance must be an integer, got %s "
					 "(use {\"type\": \"range\"} for decimals)",
					 fl_json_got(j, got, sizeof(got)));
		t->type = FL_TOL_INT;
		t->i = (long long)j->valuedouble;
		return 0;
	}
	if (cJSON_IsString(j)) {
		t->type = FL_TOL_STRING;
		t->str = strdup(j->valuestring);
		return t->str ? 0 : -ENOMEM;
	}
	if (cJSON_IsArray(j)) {
		n = (size_t)cJSON_GetArraySize(j);
		if (n == 0)
			return fl_experr(errs, -EINVAL, path,
					 "an empty list matches nothing; give the accepted values");
		if (n > FL_EXP_ARGS_MAX)
			return fl_experr(errs, -E2BIG, path, "more than %d values",
					 FL_EXP_ARGS_MAX);
		if (n == 2 && cJSON_IsNumber(j->child) && cJSON_IsNumber(j->child->next)) {
			if (parse_range_pair(j, path, &t->lo, &t->hi, errs) < 0)
				return -EINVAL;
			t->type = FL_TOL_BETWEEN;
			return 0;
		}
		t->type = FL_TOL_ONE_OF;
		t->items = calloc(n, sizeof(*t->items));
		if (!t->items)
			return -ENOMEM;
		n = 0;
		cJSON_ArrayForEach(it, j)
		{
			int r = scalar_from(it, &t->items[n]);

			if (r == -EINVAL)
				return fl_experr(errs, -EINVAL,
						 fl_path_index(p, sizeof(p), path, n),
						 "expected a number, string, boolean or null, "
						 "got %s",
						 fl_json_kind(it));
			if (r < 0)
				return r;
			t->n_items = ++n;
		}
		return 0;
	}
	if (!cJSON_IsObject(j))
		return fl_experr(errs, -EINVAL, path,
				 "expected a boolean, an integer, a string, a list or an "
				 "object with a \"type\", got %s",
				 fl_json_kind(j));
	if (fl_slo_tolerance_wanted(j)) /* slo_tol.c */
		return fl_slo_tolerance_parse(j, path, t, errs);
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsString(type))
		return fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "type"),
				 "expected \"regex\", \"jsonpath\" or \"range\", got %s",
				 fl_json_got(type, got, sizeof(got)));
	if (!strcmp(type->valuestring, "regex"))
		return parse_regex(j, path, t, errs);
	if (!strcmp(type->valuestring, "jsonpath"))
		return parse_jsonpath(j, path, t, errs);
	if (!strcmp(type->valuestring, "range"))
		return parse_range(j, path, t, errs);
	if (!strcmp(type->valuestring, "probe"))
		return parse_probe(j, path, t, errs);
	return fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "type"),
			 "unknown tolerance type %s (known: regex, jsonpath, range)",
			 fl_quote(type->valuestring, got, sizeof(got)));
}

/* ---- check ----------------------------------------------------------------- */

static void why_set(char *why, size_t len, const char *fmt, ...) FL_PRINTF(3, 4);
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Observed value for messages, quoted and cut short. */
static const char *observed(const cJSON *v, char *buf, size_t len)
{
	char *s;

	if (cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v) || !v)
		return fl_json_got(v, buf, len);
	s = cJSON_PrintUnformatted(v);
	if (!s)
		return fl_json_got(v, buf, len);
	if (strlen(s) > 120)
		memcpy(s + 117, "...", 4);
	snprintf(buf, len, "%s", s);
	free(s);
	return buf;
}

static bool num_of(const cJSON *v, double *d)
{
	if (cJSON_IsNumber(v)) {
		*d = v->valuedouble;
		return true;
	}
	if (cJSON_IsBool(v)) { /* Python: True == 1 */
		*d = cJSON_IsTrue(v) ? 1 : 0;
		return true;
	}
	return false;
}

static bool scalar_eq(const struct fl_tol_scalar *s, const cJSON *v)
{
	double d;

	switch (s->type) {
	case FL_SCALAR_BOOL:
		return cJSON_IsBool(v) ? cJSON_IsTrue(v) == s->b
				       : (cJSON_IsNumber(v) && v->valuedouble == (s->b ? 1 : 0));
	case FL_SCALAR_NUMBER:
		return num_of(v, &d) && d == s->num;
	case FL_SCALAR_STRING:
		return cJSON_IsString(v) && !strcmp(v->valuestring, s->str);
	case FL_SCALAR_NULL:
		return cJSON_IsNull(v);
	}
	return false;
}

static const cJSON *status_of(const cJSON *result)
{
	return cJSON_IsObject(result) ? cJSON_GetObjectItemCaseSensitive(result, "status") : NULL;
}

/*
 * CTK: value.get(target, value). We take the named field when the result is
 * an object; with no target, the provider's natural field (`dflt`) if any,
 * else the whole result. Sets *missing when a named target is absent.
 */
static const cJSON *target_of(const cJSON *result, const char *target, const char *dflt,
			      bool *missing)
{
	const char *name = target ? target : dflt;
	const cJSON *v;

	*missing = false;
	if (!name || !cJSON_IsObject(result))
		return result;
	v = cJSON_GetObjectItemCaseSensitive(result, name);
	if (!v && target)
		*missing = true;
	return v ? v : result;
}

static const char *natural_text_field(enum fl_provider_type ptype)
{
	switch (ptype) {
	case FL_PROVIDER_PROCESS:
		return "stdout";
	case FL_PROVIDER_HTTP:
		return "body";
	case FL_PROVIDER_FAULT:
	case FL_PROVIDER_LOAD:
	case FL_PROVIDER_PROMETHEUS:
	case FL_PROVIDER_TCP:
	case FL_PROVIDER_RUNNING:
	case FL_PROVIDER__MAX:
		break;
	}
	return NULL;
}

/*
 * chaoslib: value == tolerance. A process or http result is an object, which
 * never equals a string: use a regex tolerance with a target to look inside.
 */
static bool check_string(const struct fl_tolerance *t, enum fl_provider_type ptype,
			 const cJSON *result, char *why, size_t whylen)
{
	char obs[160];

	if (cJSON_IsString(result) && !strcmp(result->valuestring, t->str))
		return true;
	if (natural_text_field(ptype) && cJSON_IsObject(result))
		why_set(why, whylen,
			"a %s result is an object and never equals a string (as in Chaos "
			"Toolkit); use {\"type\": \"regex\", \"target\": \"%s\"}",
			fl_provider_type_name(ptype), natural_text_field(ptype));
	else
		why_set(why, whylen, "got %s", observed(result, obs, sizeof(obs)));
	return false;
}

/* Text to search with a regex: strings as they are, other values as compact JSON. */
static char *text_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	return cJSON_PrintUnformatted(v);
}

static bool check_regex(const struct fl_tolerance *t, enum fl_provider_type ptype,
			const cJSON *result, char *why, size_t whylen)
{
	const struct tol_compiled *c = t->compiled;
	const char *field = t->target ? t->target : natural_text_field(ptype);
	bool missing, ok;
	const cJSON *v = target_of(result, t->target, natural_text_field(ptype), &missing);
	char obs[160], *text;
	int rc;

	if (!c || !c->has_regex) {
		why_set(why, whylen, "regex was not compiled");
		return false;
	}
	if (missing) {
		why_set(why, whylen, "the result has no \"%s\"", t->target);
		return false;
	}
	text = text_of(v);
	if (!text) {
		why_set(why, whylen, "out of memory");
		return false;
	}
	rc = fl_pyregex_search(c->re, text, strlen(text));
	ok = rc == 1;
	free(text);
	if (rc == -E2BIG) {
		why_set(why, whylen, "/%s/ needs too much backtracking on this %s", t->str,
			field ? field : "value");
		return false;
	}
	if (!ok)
		why_set(why, whylen, "%s%s%s does not match /%s/", field ? field : "",
			field ? " " : "", observed(v, obs, sizeof(obs)), t->str);
	return ok;
}

static bool check_range(const struct fl_tolerance *t, enum fl_provider_type ptype,
			const cJSON *result, char *why, size_t whylen)
{
	bool missing;
	const char *dflt =
	    ptype == FL_PROVIDER_PROCESS || ptype == FL_PROVIDER_HTTP ? "status" : NULL;
	const cJSON *v = target_of(result, t->target, dflt, &missing);
	const char *field = t->target ? t->target : dflt;
	char obs[160], *end;
	double d;

	if (missing) {
		why_set(why, whylen, "the result has no \"%s\"", t->target);
		return false;
	}
	if (!num_of(v, &d)) {
		/* Decimal() takes numeric strings too */
		if (!cJSON_IsString(v)) {
			why_set(why, whylen, "%s%s%s is not a number", field ? field : "",
				field ? " " : "", observed(v, obs, sizeof(obs)));
			return false;
		}
		d = strtod(v->valuestring, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (end == v->valuestring || *end || !isfinite(d)) {
			why_set(why, whylen, "%s%s%s is not a number", field ? field : "",
				field ? " " : "", observed(v, obs, sizeof(obs)));
			return false;
		}
	}
	if (d >= t->lo && d <= t->hi)
		return true;
	why_set(why, whylen, "%s%s%s is outside [%.15g, %.15g]", field ? field : "",
		field ? " " : "", observed(v, obs, sizeof(obs)), t->lo, t->hi);
	return false;
}

/* An http result's body parsed as JSON when it is JSON text (CTK does r.json()). */
static cJSON *json_view(const cJSON *v)
{
	if (cJSON_IsString(v))
		return cJSON_ParseWithOpts(v->valuestring, NULL, 1);
	return NULL;
}

static bool check_jsonpath(const struct fl_tolerance *t, enum fl_provider_type ptype,
			   const cJSON *result, char *why, size_t whylen)
{
	const struct tol_compiled *c = t->compiled;
	const cJSON **matches = NULL, *v;
	cJSON *parsed = NULL, *view = NULL;
	size_t n = 0;
	bool missing, ok = false;
	const char *not_json = NULL; /* the text searched is not JSON: nothing to find */
	char obs[160];
	int r;

	if (!c || !c->jp) {
		why_set(why, whylen, "JSONPath was not compiled");
		return false;
	}
	v = target_of(result, t->target, NULL, &missing);
	if (missing) {
		why_set(why, whylen, "the result has no \"%s\"", t->target);
		return false;
	}
	if (cJSON_IsString(v)) {
		parsed = json_view(v);
		if (parsed)
			v = parsed;
		else
			not_json = t->target ? t->target : "value";
	} else if (!t->target && ptype == FL_PROVIDER_HTTP && cJSON_IsObject(v)) {
		/* whole http result: let $.body.x reach into a JSON body */
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(v, "body");
		cJSON *pb = json_view(body);

		if (pb) {
			view = cJSON_Duplicate(v, 1);
			if (!view || !cJSON_ReplaceItemInObjectCaseSensitive(view, "body", pb)) {
				cJSON_Delete(pb);
				why_set(why, whylen, "out of memory");
				goto out;
			}
			v = view;
		} else if (cJSON_IsString(body)) {
			not_json = "body";
		}
	}
	matches = malloc(JSONPATH_MATCHES_MAX * sizeof(*matches));
	if (!matches) {
		why_set(why, whylen, "out of memory");
		goto out;
	}
	r = fl_jsonpath_eval(c->jp, v, matches, JSONPATH_MATCHES_MAX, &n);
	if (r < 0) {
		why_set(why, whylen, "%s matches more than %d values or needs too much searching",
			t->str, JSONPATH_MATCHES_MAX);
		goto out;
	}
	/* chaoslib: found something; "count" asks for exactly n; "expect", when
	 * given, decides alone (so "expect": [] passes on no match, and a "count"
	 * beside it is not looked at) */
	ok = t->has_expect || n > 0;
	if (t->count >= 0 && !t->has_expect)
		ok = (long long)n == t->count;
	if (ok && n == 0 && not_json) {
		/* "count": 0 or "expect": [] must not hold on an error page or a
		 * truncated body just because nothing could be found in it */
		why_set(why, whylen, "%s matched nothing: the %s is not JSON (%s)", t->str,
			not_json, observed(cJSON_IsString(v) ? v : result, obs, sizeof(obs)));
		ok = false;
		goto out;
	}
	if (!ok) {
		if (t->count >= 0 && !t->has_expect)
			why_set(why, whylen, "%s matched %zu time%s, expected %lld", t->str, n,
				n == 1 ? "" : "s", t->count);
		else
			why_set(why, whylen, "%s matched nothing in %s", t->str,
				observed(v, obs, sizeof(obs)));
		goto out;
	}
	if (t->has_expect) {
		/* CTK: values == [expect], or values == expect when expect is a list */
		if (cJSON_IsArray(c->expect)) {
			const cJSON *e = c->expect->child;
			size_t i = 0;

			for (; e && i < n; e = e->next, i++)
				if (!cJSON_Compare(matches[i], e, 1))
					break;
			ok = !e && i == n;
		} else {
			ok = n == 1 && cJSON_Compare(matches[0], c->expect, 1);
		}
		if (!ok) {
			char exp[96];

			if (n == 1)
				why_set(why, whylen, "%s is %s, expected %s", t->str,
					observed(matches[0], obs, sizeof(obs)),
					observed(c->expect, exp, sizeof(exp)));
			else
				why_set(why, whylen, "%s matched %zu values%s%s, expected %s",
					t->str, n, n ? ", first " : "",
					n ? observed(matches[0], obs, sizeof(obs)) : "",
					observed(c->expect, exp, sizeof(exp)));
		}
	}
out:
	free(matches);
	cJSON_Delete(parsed);
	cJSON_Delete(view);
	return ok;
}

bool fl_tolerance_check(const struct fl_tolerance *t, enum fl_provider_type ptype,
			const cJSON *result, char *why, size_t whylen)
{
	const cJSON *st = status_of(result);
	char obs[160];
	double d;

	if (why && whylen)
		why[0] = '\0';
	if (t->type == FL_TOL_NONE)
		return true;
	if (!result) {
		why_set(why, whylen, "the probe returned no result");
		return false;
	}
	switch (t->type) {
	case FL_TOL_NONE:
		return true;
	case FL_TOL_BOOL:
		/* CTK: value == tolerance (Python: True == 1) */
		if ((cJSON_IsBool(result) && cJSON_IsTrue(result) == t->b) ||
		    (cJSON_IsNumber(result) && result->valuedouble == (t->b ? 1 : 0)))
			return true;
		why_set(why, whylen, "got %s", observed(result, obs, sizeof(obs)));
		return false;
	case FL_TOL_INT:
		if (st) {
			if (num_of(st, &d) && d == (double)t->i)
				return true;
			why_set(why, whylen, "status was %s", observed(st, obs, sizeof(obs)));
			return false;
		}
		if (num_of(result, &d) && d == (double)t->i)
			return true;
		why_set(why, whylen, "got %s", observed(result, obs, sizeof(obs)));
		return false;
	case FL_TOL_STRING:
		return check_string(t, ptype, result, why, whylen);
	case FL_TOL_BETWEEN:
		if (st) {
			/* CTK: value["status"] in tolerance: one of the two, not a range */
			if (num_of(st, &d) && (d == t->lo || d == t->hi))
				return true;
			why_set(why, whylen,
				"status was %s, expected %.15g or %.15g (a list against a "
				"status is a set, as in Chaos Toolkit)",
				observed(st, obs, sizeof(obs)), t->lo, t->hi);
			return false;
		}
		if (num_of(result, &d) && d >= t->lo && d <= t->hi)
			return true;
		why_set(why, whylen, "got %s, outside [%.15g, %.15g]",
			observed(result, obs, sizeof(obs)), t->lo, t->hi);
		return false;
	case FL_TOL_ONE_OF: {
		const cJSON *v = st ? st : result;

		for (size_t i = 0; i < t->n_items; i++)
			if (scalar_eq(&t->items[i], v))
				return true;
		why_set(why, whylen, "%s%s is not one of the accepted values", st ? "status " : "",
			observed(v, obs, sizeof(obs)));
		return false;
	}
	case FL_TOL_REGEX:
		return check_regex(t, ptype, result, why, whylen);
	case FL_TOL_JSONPATH:
		return check_jsonpath(t, ptype, result, why, whylen);
	case FL_TOL_RANGE:
		return check_range(t, ptype, result, why, whylen);
	case FL_TOL_SLO:
		return fl_slo_tolerance_check(t, ptype, result, why, whylen);
	case FL_TOL_PROBE:
		why_set(why, whylen, "a probe tolerance is judged by running it (faultline run)");
		return false;
	case FL_TOL__MAX:
		break;
	}
	why_set(why, whylen, "unknown tolerance");
	return false;
}

/* ---- describe -------------------------------------------------------------- */

static void scalar_fmt(const struct fl_tol_scalar *s, char *buf, size_t len)
{
	switch (s->type) {
	case FL_SCALAR_BOOL:
		snprintf(buf, len, "%s", s->b ? "true" : "false");
		break;
	case FL_SCALAR_NUMBER:
		snprintf(buf, len, "%.15g", s->num);
		break;
	case FL_SCALAR_STRING:
		fl_quote(s->str, buf, len);
		break;
	case FL_SCALAR_NULL:
		snprintf(buf, len, "null");
		break;
	}
}

const char *fl_tolerance_describe(const struct fl_tolerance *t, char *buf, size_t len)
{
	char q[96];
	size_t o;

	if (!len)
		return buf;
	switch (t->type) {
	case FL_TOL_NONE:
		snprintf(buf, len, "none");
		break;
	case FL_TOL_BOOL:
		snprintf(buf, len, "%s", t->b ? "true" : "false");
		break;
	case FL_TOL_INT:
		snprintf(buf, len, "%lld", t->i);
		break;
	case FL_TOL_STRING:
		fl_quote(t->str, buf, len);
		break;
	case FL_TOL_BETWEEN:
		snprintf(buf, len, "[%.15g, %.15g]", t->lo, t->hi);
		break;
	case FL_TOL_ONE_OF:
		o = (size_t)snprintf(buf, len, "one of [");
		for (size_t i = 0; i < t->n_items && o < len; i++) {
			scalar_fmt(&t->items[i], q, sizeof(q));
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", q);
		}
		if (o < len)
			snprintf(buf + o, len - o, "]");
		break;
	case FL_TOL_REGEX:
		snprintf(buf, len, "regex %s%s%s", t->str, t->target ? " on " : "",
			 t->target ? t->target : "");
		break;
	case FL_TOL_JSONPATH:
		o = (size_t)snprintf(buf, len, "jsonpath %s", t->str);
		if (t->has_expect && o < len)
			o += (size_t)snprintf(buf + o, len - o, " == %s", t->expect_json);
		if (t->count >= 0 && o < len)
			o += (size_t)snprintf(buf + o, len - o, " count %lld", t->count);
		if (t->target && o < len)
			snprintf(buf + o, len - o, " on %s", t->target);
		break;
	case FL_TOL_RANGE:
		snprintf(buf, len, "range [%.15g, %.15g]%s%s", t->lo, t->hi,
			 t->target ? " on " : "", t->target ? t->target : "");
		break;
	case FL_TOL_SLO:
		fl_slo_tolerance_describe(t, buf, len);
		break;
	case FL_TOL_PROBE:
		snprintf(buf, len, "probe %s", t->str ? t->str : "");
		break;
	case FL_TOL__MAX:
		snprintf(buf, len, "?");
		break;
	}
	return buf;
}
