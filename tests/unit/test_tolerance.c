/*
 * Tolerances: every kind, against process/http-shaped results and plain
 * values, including Chaos Toolkit's own cases (chaostoolkit-lib
 * tests/test_tolerance.py) restated here as (tolerance, value, verdict).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/experiment.h"
#include "core/pyregex.h"
#include "experiments/internal.h"

struct tcase {
	const char *tol;
	enum fl_provider_type ptype;
	const char *value;
	bool ok;
};

/* Parse a tolerance from JSON text; fails the test on a validation error. */
static void tol_parse(const char *json, struct fl_tolerance *t)
{
	struct fl_errlist errs = {0};
	cJSON *j = cJSON_Parse(json);
	int r;

	ck_assert_msg(j, "bad test JSON: %s", json);
	r = fl_tolerance_parse(j, "$.t", t, &errs);
	cJSON_Delete(j);
	ck_assert_msg(r == 0 && errs.n == 0, "%s: %s: %s", json, errs.n ? errs.v[0].path : "",
		      errs.n ? errs.v[0].msg : "no error recorded");
}

/* Expect a validation error at `path` whose message contains `needle`. */
static void tol_refused(const char *json, const char *path, const char *needle)
{
	struct fl_errlist errs = {0};
	struct fl_tolerance t;
	cJSON *j = cJSON_Parse(json);
	bool found = false;

	ck_assert_msg(j, "bad test JSON: %s", json);
	(void)!fl_tolerance_parse(j, "$.t", &t, &errs);
	cJSON_Delete(j);
	fl_tolerance_done(&t);
	for (size_t i = 0; i < errs.n; i++)
		if (!strcmp(errs.v[i].path, path) && strstr(errs.v[i].msg, needle))
			found = true;
	ck_assert_msg(found, "%s: want error at %s containing \"%s\", got %zu errors (%s: %s)",
		      json, path, needle, errs.n, errs.n ? errs.v[0].path : "",
		      errs.n ? errs.v[0].msg : "");
}

static void run_cases(const struct tcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fl_tolerance t;
		char why[256];
		cJSON *v = cJSON_Parse(c[i].value);
		bool got;

		ck_assert_msg(v, "bad value JSON: %s", c[i].value);
		tol_parse(c[i].tol, &t);
		got = fl_tolerance_check(&t, c[i].ptype, v, why, sizeof(why));
		ck_assert_msg(got == c[i].ok, "case %zu: tolerance %s on %s: got %s (%s)", i,
			      c[i].tol, c[i].value, got ? "within" : "outside", why);
		if (!got)
			ck_assert_msg(why[0], "case %zu: no explanation on failure", i);
		cJSON_Delete(v);
		fl_tolerance_done(&t);
	}
}

#define P FL_PROVIDER_PROCESS
#define H FL_PROVIDER_HTTP
#define F FL_PROVIDER_FAULT

/* chaostoolkit-lib tests/test_tolerance.py, one line per assertion there. */
START_TEST(ctk_documented_cases)
{
	static const struct tcase c[] = {
	    /* int */
	    {"6", F, "6", true},
	    {"6", F, "7", false},
	    {"6", P, "{\"status\": 6}", true},
	    {"6", P, "{\"status\": 7}", false},
	    {"6", H, "{\"status\": 6}", true},
	    {"6", H, "{\"status\": 7}", false},
	    /* a list against a status is a set, even with two numbers */
	    {"[5, 6]", P, "{\"status\": 6}", true},
	    {"[5, 7]", P, "{\"status\": 6}", false},
	    {"[5, 6]", H, "{\"status\": 6}", true},
	    {"[5, 7]", H, "{\"status\": 6}", false},
	    /* bool, string */
	    {"true", F, "true", true},
	    {"true", F, "false", false},
	    {"\"hello\"", F, "\"hello\"", true},
	    {"\"hello\"", F, "\"not hello\"", false},
	    /* regex */
	    {"{\"type\": \"regex\", \"pattern\": \"[0-9]{2}\"}", F, "\"you are number 87\"", true},
	    {"{\"type\": \"regex\", \"pattern\": \"[0-9]{2}\"}", F, "\"you are number 8\"", false},
	    {"{\"type\": \"regex\", \"target\": \"stdout\", \"pattern\": \"[0-9]{2}\"}", P,
	     "{\"status\": 0, \"stdout\": \"you are number 87\", \"stderr\": \"\"}", true},
	    {"{\"type\": \"regex\", \"target\": \"stdout\", \"pattern\": \"[0-9]{2}\"}", P,
	     "{\"status\": 0, \"stdout\": \"you are number 8\", \"stderr\": \"\"}", false},
	    {"{\"type\": \"regex\", \"target\": \"stderr\", \"pattern\": \"[0-9]{2}\"}", P,
	     "{\"status\": 0, \"stdout\": \"\", \"stderr\": \"you are number 87\"}", true},
	    {"{\"type\": \"regex\", \"target\": \"stderr\", \"pattern\": \"[0-9]{2}\"}", P,
	     "{\"status\": 0, \"stdout\": \"\", \"stderr\": \"you are number 8\"}", false},
	    {"{\"type\": \"regex\", \"target\": \"stdout\", \"pattern\": \"[0-9]{2}\"}", P,
	     "{\"status\": 0, \"stdout\": \"you are number 87\", \"stderr\": \"you are number 8\"}",
	     true},
	    {"{\"type\": \"regex\", \"target\": \"body\", \"pattern\": \"[0-9]{2}\"}", H,
	     "{\"status\": 200, \"headers\": {\"Content-Type\": \"application/json\"}, \"body\": "
	     "\"you are number 87\"}",
	     true},
	    /* jsonpath */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo.*[?(@.baz)]\"}", F,
	     "{\"foo\": [{\"baz\": 1}, {\"baz\": 2}]}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.notsofoo.*[?(@.baz)].baz\"}", F,
	     "{\"foo\": [{\"baz\": 1}, {\"baz\": 2}]}", false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz)].baz\", \"expect\": \"hello\"}",
	     F, "{\"foo\": {\"baz\": \"hello\"}}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz)].baz\", \"expect\": [[\"hello\", "
	     "\"bonjour\"]]}",
	     F, "{\"foo\": {\"baz\": [\"hello\", \"bonjour\"]}}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz)].baz\", \"expect\": "
	     "[[[\"hello\"], "
	     "[\"bonjour\"]]]}",
	     F, "{\"foo\": {\"baz\": [[\"hello\"], [\"bonjour\"]]}}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz)].baz\", \"expect\": []}", F,
	     "{\"foo\": {\"jon\": \"boom\"}}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz=\\\"hello\\\")]\", \"count\": 1}",
	     F, "{\"foo\": {\"baz\": \"hello\"}}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz=\\\"bonjour\\\")]\", \"count\": "
	     "1}",
	     F, "{\"foo\": {\"baz\": \"hello\"}}", false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo.*[?(@.baz)].baz\", \"expect\": "
	     "[\"hello\", "
	     "\"bonjour\"]}",
	     F, "{\"foo\": [{\"baz\": \"hello\"}, {\"baz\": \"bonjour\"}]}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo.*[?(@.baz=2)]\", \"count\": 1}", F,
	     "{\"foo\": [{\"baz\": 1}, {\"baz\": 2}]}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo.*[?(@.baz)]\", \"count\": 2}", F,
	     "{\"foo\": [{\"baz\": 1}, {\"baz\": 2}]}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo.*[?(@.baz=4)]\", \"count\": 2}", F,
	     "{\"foo\": [{\"baz\": 4}, {\"baz\": 4}]}", true},
	    /* a JSON string is parsed first */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.foo[*].baz\"}", F,
	     "\"{\\\"foo\\\": [{\\\"baz\\\": 1}, {\\\"baz\\\": 2}]}\"", true},
	    /* range */
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10, 800]}", H,
	     "{\"status\": 200, \"headers\": {\"Content-Type\": \"text/plain\"}, \"body\": "
	     "\"580\"}",
	     true},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10, 800]}", H,
	     "{\"status\": 200, \"headers\": {\"Content-Type\": \"text/plain\"}, \"body\": "
	     "\"1230\"}",
	     false},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10.5, 800.89]}", H,
	     "{\"status\": 200, \"body\": \"580.5\"}", true},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10.5, 800.89]}", H,
	     "{\"status\": 200, \"body\": \"1230.7\"}", false},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10, 800.8]}", H,
	     "{\"status\": 200, \"body\": \"580.4\"}", true},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [10.5, 800]}", H,
	     "{\"status\": 200, \"body\": \"1230\"}", false},
	    {"{\"type\": \"range\", \"target\": \"body\", \"range\": [6, 8]}", H,
	     "{\"status\": 200, \"body\": \"bad\"}", false},
	};
	run_cases(c, FL_ARRAY_SIZE(c));
}
END_TEST

/* Chaos Toolkit's validation refusals (ensure_hypothesis_tolerance_is_valid). */
START_TEST(ctk_documented_refusals)
{
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"\"}", "$.t.path", "expected a JSONPath");
	tol_refused("{\"type\": \"regex\", \"target\": \"stdout\"}", "$.t.pattern",
		    "expected a regular expression");
	tol_refused("{\"type\": \"regex\", \"target\": \"stdout\", \"pattern\": null}",
		    "$.t.pattern", "got null");
	tol_refused("{\"type\": \"regex\", \"target\": \"stdout\", \"pattern\": \"[0-9\"}",
		    "$.t.pattern", "missing terminating ]");
	tol_refused("{\"type\": \"boom\"}", "$.t.type", "unknown tolerance type \"boom\"");
	tol_refused("{\"type\": \"range\", \"target\": \"body\", \"range\": [\"a\", 6]}",
		    "$.t.range", "two numbers");
	tol_refused("{\"type\": \"range\", \"target\": \"body\", \"range\": [6, \"b\"]}",
		    "$.t.range", "two numbers");
	/* a probe as tolerance runs here with a process or http provider, not a Python one */
	tol_refused("{\"type\": \"probe\", \"name\": \"x\", \"provider\": {\"type\": \"python\"}}",
		    "$.t.provider.type", "cannot run Python");
	tol_refused("{\"type\": \"probe\", \"name\": \"x\"}", "$.t.provider", "provider");
	{
		struct fl_tolerance t;

		tol_parse("{\"type\": \"probe\", \"name\": \"must-be-in-range\", \"provider\": "
			  "{\"type\": \"process\", \"path\": \"true\", \"arguments\": {\"a\": 6}}}",
			  &t);
		ck_assert_int_eq(t.type, FL_TOL_PROBE);
		ck_assert_int_eq(t.probe->type, FL_PROVIDER_PROCESS);
		ck_assert_uint_eq(t.probe->argc, 2);
		fl_tolerance_done(&t);
	}
	/* CTK accepts only bool, int, list, str, dict: a float exact value is refused */
	tol_refused("1.5", "$.t", "must be an integer");
}
END_TEST

START_TEST(exact_values_on_provider_results)
{
	static const struct tcase c[] = {
	    /* int: exit status / HTTP status */
	    {"0", P, "{\"status\": 0, \"stdout\": \"\", \"stderr\": \"\"}", true},
	    {"0", P, "{\"status\": 1, \"stdout\": \"\", \"stderr\": \"\"}", false},
	    {"200", H, "{\"status\": 200, \"headers\": {}, \"body\": \"\", \"elapsed_ms\": 3}",
	     true},
	    {"200", H, "{\"status\": 503, \"headers\": {}, \"body\": \"\", \"elapsed_ms\": 3}",
	     false},
	    /* Python: True == 1 */
	    {"1", F, "true", true},
	    {"true", F, "1", true},
	    {"false", F, "0", true},
	    {"true", F, "\"true\"", false},
	    /* string: chaoslib compares the whole result, an object, which never equals a
	     * string (faultline used to compare stdout / body: verdicts differed) */
	    {"\"ok\"", P, "{\"status\": 0, \"stdout\": \"ok\\n\", \"stderr\": \"\"}", false},
	    {"\"ok\"", P, "{\"status\": 0, \"stdout\": \"ok\", \"stderr\": \"\"}", false},
	    {"\"ok\"", P, "{\"status\": 0, \"stdout\": \"OK\", \"stderr\": \"\"}", false},
	    {"\"pong\"", H, "{\"status\": 200, \"body\": \"pong\"}", false},
	    {"\"pong\"", H, "{\"status\": 200, \"body\": \"ping\"}", false},
	    {"\"pong\"", F, "\"pong\"", true},
	    /* true/false against a result object: not met (value == tolerance) */
	    {"true", P, "{\"status\": 0, \"stdout\": \"\", \"stderr\": \"\"}", false},
	    {"false", H, "{\"status\": 200, \"body\": \"\"}", false},
	    {"\"pong\"", H, "{\"status\": 200, \"body\": {\"a\": 1}}", false},
	    /* two numbers: inclusive range on a plain value */
	    {"[200, 299]", F, "200", true},
	    {"[200, 299]", F, "299", true},
	    {"[200, 299]", F, "250.5", true},
	    {"[200, 299]", F, "300", false},
	    {"[200, 299]", F, "199.99", false},
	    {"[200, 299]", F, "\"250\"", false},
	    /* two numbers on a status: one of the two (CTK) */
	    {"[200, 299]", H, "{\"status\": 250, \"body\": \"\"}", false},
	    {"[200, 299]", H, "{\"status\": 299, \"body\": \"\"}", true},
	    /* other lists: one of */
	    {"[200, 201, 204]", H, "{\"status\": 204, \"body\": \"\"}", true},
	    {"[200, 201, 204]", H, "{\"status\": 202, \"body\": \"\"}", false},
	    {"[0, 1, 2]", P, "{\"status\": 2, \"stdout\": \"\"}", true},
	    {"[\"up\", \"ok\"]", F, "\"ok\"", true},
	    {"[\"up\", \"ok\"]", F, "\"down\"", false},
	    {"[\"a\", \"b\"]", F, "\"b\"", true},
	    {"[null, false]", F, "null", true},
	    {"[null, false]", F, "false", true},
	    {"[null, false]", F, "true", false},
	};
	run_cases(c, FL_ARRAY_SIZE(c));
}
END_TEST

START_TEST(regex_kind)
{
	static const struct tcase c[] = {
	    /* default target: stdout for process, body for http */
	    {"{\"type\": \"regex\", \"pattern\": \"^ready\"}", P,
	     "{\"status\": 0, \"stdout\": \"ready: 3 workers\\n\", \"stderr\": \"boom\"}", true},
	    {"{\"type\": \"regex\", \"pattern\": \"boom\"}", P,
	     "{\"status\": 0, \"stdout\": \"ready\", \"stderr\": \"boom\"}", false},
	    {"{\"type\": \"regex\", \"pattern\": \"\\\"ok\\\": *true\"}", H,
	     "{\"status\": 200, \"body\": \"{\\\"ok\\\": true}\"}", true},
	    /* Python's \\d, \\s, \\w, \\D: PCRE2 (core/pyregex.c) reads them as re does */
	    {"{\"type\": \"regex\", \"pattern\": \"^v\\\\d+\\\\.\\\\d+$\"}", F, "\"v12.3\"", true},
	    {"{\"type\": \"regex\", \"pattern\": \"^v\\\\d+\\\\.\\\\d+$\"}", F, "\"vd.d\"", false},
	    {"{\"type\": \"regex\", \"pattern\": \"^[\\\\d.]+$\"}", F, "\"1.2.3\"", true},
	    {"{\"type\": \"regex\", \"pattern\": \"^[\\\\d.]+$\"}", F, "\"1.2a\"", false},
	    {"{\"type\": \"regex\", \"pattern\": \"\\\\s\\\\w+\\\\s\"}", F, "\"a word here\"",
	     true},
	    {"{\"type\": \"regex\", \"pattern\": \"\\\\D\"}", F, "\"123\"", false},
	    /* Python's $ matches before a final newline too (what `echo` prints) */
	    {"{\"type\": \"regex\", \"pattern\": \"^ready$\"}", P,
	     "{\"status\": 0, \"stdout\": \"ready\\n\"}", true},
	    {"{\"type\": \"regex\", \"pattern\": \"^ready$\"}", P,
	     "{\"status\": 0, \"stdout\": \"ready\\n\\n\"}", false},
	    {"{\"type\": \"regex\", \"pattern\": \"^ready$\"}", P,
	     "{\"status\": 0, \"stdout\": \"ready!\\n\"}", false},
	    /* search, not full match */
	    {"{\"type\": \"regex\", \"pattern\": \"[0-9]{3}\"}", F, "\"id 1234 x\"", true},
	    /* a number is searched as its JSON text */
	    {"{\"type\": \"regex\", \"pattern\": \"^2..$\", \"target\": \"status\"}", H,
	     "{\"status\": 204, \"body\": \"\"}", true},
	    /* a target that is not in the result fails */
	    {"{\"type\": \"regex\", \"pattern\": \".\", \"target\": \"nope\"}", H,
	     "{\"status\": 204, \"body\": \"x\"}", false},
	    /* a JSON body (object) is searched as compact JSON */
	    {"{\"type\": \"regex\", \"pattern\": \"\\\"state\\\":\\\"up\\\"\"}", H,
	     "{\"status\": 200, \"body\": {\"state\": \"up\"}}", true},
	};
	run_cases(c, FL_ARRAY_SIZE(c));
	tol_refused("{\"type\": \"regex\", \"pattern\": \"x{2,1}\"}", "$.t.pattern",
		    "invalid regular expression");
	tol_refused("{\"type\": \"regex\", \"pattern\": \"x\", \"flags\": \"i\"}", "$.t.flags",
		    "unknown key");
	tol_refused("{\"type\": \"regex\", \"pattern\": \"x\", \"target\": 3}", "$.t.target",
		    "name of a result field");
}
END_TEST

START_TEST(jsonpath_kind)
{
	static const char doc[] =
	    "{\"status\": 200, \"body\": \"{\\\"items\\\": [{\\\"id\\\": 1, \\\"up\\\": true}, "
	    "{\\\"id\\\": 2, \\\"up\\\": false}, {\\\"id\\\": 3, \\\"up\\\": true, \\\"tags\\\": "
	    "{\\\"id\\\": 9}}], \\\"name\\\": \\\"svc\\\", \\\"a b\\\": 5}\"}";
	static const struct tcase c[] = {
	    /* with no target the whole result; a JSON body is reachable as $.body */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.status\", \"expect\": 200}", H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.body.name\", \"expect\": \"svc\"}", H, doc,
	     true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.name\", \"expect\": \"svc\", \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$['name']\", \"expect\": \"svc\", \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$['a b']\", \"expect\": 5, \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[0].id\", \"expect\": 1, \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[-1].id\", \"expect\": 3, \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[7].id\", \"target\": \"body\"}", H, doc,
	     false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[*].id\", \"expect\": [1, 2, 3], "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[*].id\", \"expect\": [1, 3, 2], "
	     "\"target\": \"body\"}",
	     H, doc, false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[*].id\", \"count\": 3, \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[*].id\", \"count\": 2, \"target\": "
	     "\"body\"}",
	     H, doc, false},
	    /* recursive descent finds every "id", in document order */
	    {"{\"type\": \"jsonpath\", \"path\": \"$..id\", \"expect\": [1, 2, 3, 9], \"target\": "
	     "\"body\"}",
	     H, doc, true},
	    /* filters on a list test each element */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.up == true)].id\", \"expect\": [1, "
	     "3], \"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.id > 1)]\", \"count\": 2, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.id <= 1)].id\", \"expect\": 1, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.tags.id != 9)]\", \"count\": 0, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.tags)].id\", \"expect\": 3, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    /* expect of an object */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[2].tags\", \"expect\": {\"id\": 9}, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    /* a single expected value needs exactly one match */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[*].up\", \"expect\": true, \"target\": "
	     "\"body\"}",
	     H, doc, false},
	    /* count and expect together: expect decides alone, as in chaoslib */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.name\", \"expect\": \"svc\", \"count\": 2, "
	     "\"target\": \"body\"}",
	     H, doc, true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.name\", \"expect\": \"other\", \"count\": 1, "
	     "\"target\": \"body\"}",
	     H, doc, false},
	    /* an expected value and no match at all */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.nope\", \"expect\": 1, \"target\": "
	     "\"body\"}",
	     H, doc, false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.nope\", \"expect\": [1, 2], \"target\": "
	     "\"body\"}",
	     H, doc, false},
	    /* a body that is not JSON has no members */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.x\", \"target\": \"body\"}", H,
	     "{\"status\": 200, \"body\": \"plain text\"}", false},
	    /* ... so "no bad item" cannot hold on it: a count of 0 or "expect": []
	     * on a body that is not JSON (an error page, a truncated body) fails */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.items[?(@.up = false)]\", \"count\": 0, "
	     "\"target\": \"body\"}",
	     H, "{\"status\": 200, \"body\": \"Service Unavailable\"}", false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.errors[*]\", \"expect\": [], \"target\": "
	     "\"body\"}",
	     H, "{\"status\": 200, \"body\": \"{\\\"errors\\\": [1\"}", false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.body.errors[*]\", \"count\": 0}", H,
	     "{\"status\": 200, \"body\": \"<html>oops</html>\"}", false},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.body.errors[*]\", \"count\": 0}", H,
	     "{\"status\": 200, \"body\": \"{\\\"errors\\\": []}\"}", true},
	    /* process stdout holding JSON */
	    {"{\"type\": \"jsonpath\", \"path\": \"$.ready\", \"expect\": true, \"target\": "
	     "\"stdout\"}",
	     P, "{\"status\": 0, \"stdout\": \"{\\\"ready\\\": true}\\n\"}", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.*\", \"count\": 3}", F, "[1, 2, 3]", true},
	    {"{\"type\": \"jsonpath\", \"path\": \"$\", \"expect\": [[1, 2]]}", F, "[1, 2]", true},
	};
	run_cases(c, FL_ARRAY_SIZE(c));
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"items\"}", "$.t.path", "starts with $");
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"$.a[1:2]\"}", "$.t.path", "slices");
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"$.a[?(@.b ~ 1)]\"}", "$.t.path",
		    "expected ==");
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"$.a[?(@.b == 1]\"}", "$.t.path", ")]");
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"$.a\", \"count\": 1.5}", "$.t.count",
		    "integer");
	tol_refused("{\"type\": \"jsonpath\", \"path\": \"$.a\", \"expected\": 1}", "$.t.expected",
		    "unknown key");
}
END_TEST

START_TEST(range_kind)
{
	static const struct tcase c[] = {
	    /* default target: status for process and http */
	    {"{\"type\": \"range\", \"range\": [200, 299]}", H, "{\"status\": 250, \"body\": \"\"}",
	     true},
	    {"{\"type\": \"range\", \"range\": [200, 299]}", H, "{\"status\": 301, \"body\": \"\"}",
	     false},
	    {"{\"type\": \"range\", \"range\": [0, 1]}", P, "{\"status\": 1, \"stdout\": \"\"}",
	     true},
	    {"{\"type\": \"range\", \"range\": [0, 250], \"target\": \"elapsed_ms\"}", H,
	     "{\"status\": 200, \"body\": \"\", \"elapsed_ms\": 120.5}", true},
	    {"{\"type\": \"range\", \"range\": [0, 250], \"target\": \"elapsed_ms\"}", H,
	     "{\"status\": 200, \"body\": \"\", \"elapsed_ms\": 251}", false},
	    {"{\"type\": \"range\", \"range\": [1, 5], \"target\": \"stdout\"}", P,
	     "{\"status\": 0, \"stdout\": \"3\\n\"}", true},
	    {"{\"type\": \"range\", \"range\": [-1.5, 1.5]}", F, "-1.5", true},
	    {"{\"type\": \"range\", \"range\": [-1.5, 1.5]}", F, "\"1.6\"", false},
	    {"{\"type\": \"range\", \"range\": [0, 1]}", F, "{\"a\": 1}", false},
	    {"{\"type\": \"range\", \"range\": [0, 1], \"target\": \"missing\"}", H,
	     "{\"status\": 1}", false},
	};
	run_cases(c, FL_ARRAY_SIZE(c));
	tol_refused("{\"type\": \"range\", \"range\": [5, 1]}", "$.t.range", "above upper bound");
	tol_refused("{\"type\": \"range\", \"range\": [1, 2, 3]}", "$.t.range", "two numbers");
	tol_refused("{\"type\": \"range\"}", "$.t.range", "got nothing");
}
END_TEST

START_TEST(shapes_refused)
{
	tol_refused("[]", "$.t", "empty list");
	tol_refused("[1, {\"a\": 1}, 3]", "$.t[1]", "got an object");
	tol_refused("[299, 200]", "$.t", "above upper bound");
	tol_refused("null", "$.t", "got null");
	tol_refused("{\"pattern\": \"x\"}", "$.t.type", "got nothing");
}
END_TEST

START_TEST(why_names_the_observed_value)
{
	struct fl_tolerance t;
	char why[256];
	cJSON *v = cJSON_Parse("{\"status\": 503, \"headers\": {}, \"body\": \"busy\"}");

	tol_parse("200", &t);
	ck_assert(!fl_tolerance_check(&t, H, v, why, sizeof(why)));
	ck_assert_msg(strstr(why, "503"), "why: %s", why);
	fl_tolerance_done(&t);
	tol_parse("{\"type\": \"regex\", \"pattern\": \"^ok\"}", &t);
	ck_assert(!fl_tolerance_check(&t, H, v, why, sizeof(why)));
	ck_assert_msg(strstr(why, "\"busy\"") && strstr(why, "^ok"), "why: %s", why);
	fl_tolerance_done(&t);
	tol_parse("{\"type\": \"range\", \"range\": [200, 299]}", &t);
	ck_assert(!fl_tolerance_check(&t, H, v, why, sizeof(why)));
	ck_assert_msg(strstr(why, "503") && strstr(why, "[200, 299]"), "why: %s", why);
	fl_tolerance_done(&t);
	cJSON_Delete(v);

	/* no result at all (the probe failed to run) is outside every tolerance */
	tol_parse("0", &t);
	ck_assert(!fl_tolerance_check(&t, P, NULL, why, sizeof(why)));
	ck_assert_str_eq(why, "the probe returned no result");
	fl_tolerance_done(&t);

	/* a small buffer is never overrun, and NULL is fine */
	v = cJSON_Parse("\"a very long observed value that does not fit\"");
	tol_parse("\"x\"", &t);
	ck_assert(!fl_tolerance_check(&t, F, v, why, 8));
	ck_assert_uint_le(strlen(why), 7);
	ck_assert(!fl_tolerance_check(&t, F, v, NULL, 0));
	fl_tolerance_done(&t);
	cJSON_Delete(v);
}
END_TEST

START_TEST(describe_forms)
{
	static const struct {
		const char *tol, *want;
	} c[] = {
	    {"200", "200"},
	    {"true", "true"},
	    {"\"ok\"", "\"ok\""},
	    {"[200, 299]", "[200, 299]"},
	    {"[200, 201, 204]", "one of [200, 201, 204]"},
	    {"[\"a\", null]", "one of [\"a\", null]"},
	    {"{\"type\": \"regex\", \"pattern\": \"^ok\"}", "regex ^ok"},
	    {"{\"type\": \"regex\", \"pattern\": \"^ok\", \"target\": \"stderr\"}",
	     "regex ^ok on stderr"},
	    {"{\"type\": \"jsonpath\", \"path\": \"$.a\", \"expect\": [1], \"count\": 1}",
	     "jsonpath $.a == [1] count 1"},
	    {"{\"type\": \"range\", \"range\": [0.5, 2], \"target\": \"body\"}",
	     "range [0.5, 2] on body"},
	    {"[1000000, 2500000]", "[1000000, 2500000]"},
	};
	char buf[128];

	for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
		struct fl_tolerance t;

		tol_parse(c[i].tol, &t);
		ck_assert_str_eq(fl_tolerance_describe(&t, buf, sizeof(buf)), c[i].want);
		fl_tolerance_done(&t);
	}
	{
		struct fl_tolerance none = {.type = FL_TOL_NONE, .count = -1};

		ck_assert_str_eq(fl_tolerance_describe(&none, buf, sizeof(buf)), "none");
		ck_assert(fl_tolerance_check(&none, P, NULL, buf, sizeof(buf)));
	}
}
END_TEST

/* Python `re` syntax (what Chaos Toolkit experiments hold) through PCRE2: re.search(). */
START_TEST(regex_python_syntax)
{
	static const struct {
		const char *pattern, *subject;
		int want;
	} c[] = {
	    {"^\\d+$", "123", 1},
	    {"^\\d+$", "12a", 0},
	    {"(?i)^READY$", "ready\n", 1}, /* inline flag; $ before a final newline */
	    {"^ready$", "ready\n", 1},
	    {"\\d{3}(?=ms)", "took 250ms", 1}, /* look-ahead */
	    {"\\d{3}(?=ms)", "took 250s", 0},
	    {"(?<!not )ok", "status: not ok", 0}, /* look-behind */
	    {"a.*?b", "axxb", 1},		  /* lazy quantifier */
	    {"(?P<code>5\\d\\d)", "HTTP 503", 1}, /* Python's named groups */
	    {"[\\d.]+", "v1.2", 1},
	    {"\\bword\\b", "a word here", 1},
	    {"\\w+", "été", 1}, /* Unicode classes, as Python 3's str patterns */
	    {"[0-9]{2}", "you are number 87", 1},
	    {"[0-9]{2}", "you are number 8", 0},
	};
	static const char *const bad[] = {"[0-9", "(abc", "a{2,1}", "(?<=a+)b"};

	for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
		struct fl_pyregex *re = NULL;
		char why[160];

		ck_assert_msg(fl_pyregex_compile(c[i].pattern, &re, why, sizeof(why)) == 0,
			      "%s: %s", c[i].pattern, why);
		ck_assert_msg(fl_pyregex_search(re, c[i].subject, strlen(c[i].subject)) ==
				  c[i].want,
			      "/%s/ on \"%s\"", c[i].pattern, c[i].subject);
		fl_pyregex_free(re);
	}
	for (size_t i = 0; i < FL_ARRAY_SIZE(bad); i++) {
		struct fl_pyregex *re = NULL;
		char why[160] = "";

		ck_assert_msg(fl_pyregex_compile(bad[i], &re, why, sizeof(why)) == -EINVAL,
			      "%s accepted", bad[i]);
		ck_assert(why[0]);
		ck_assert_ptr_null(re);
	}
	{
		/* catastrophic backtracking stops at the match limit instead of hanging */
		struct fl_pyregex *re = NULL;
		char subject[64];

		memset(subject, 'a', sizeof(subject) - 2);
		subject[sizeof(subject) - 2] = '!';
		subject[sizeof(subject) - 1] = '\0';
		ck_assert_int_eq(fl_pyregex_compile("^(a+)+$", &re, NULL, 0), 0);
		ck_assert_int_eq(fl_pyregex_search(re, subject, strlen(subject)), -E2BIG);
		fl_pyregex_free(re);
	}
}
END_TEST

/* Recursive descent over a large result stays bounded (matches and work). */
START_TEST(jsonpath_bounded)
{
	cJSON *doc = cJSON_CreateArray(), *res;
	struct fl_tolerance t;
	char why[256];

	for (int i = 0; i < 5000; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", i);
		cJSON_AddItemToArray(doc, o);
	}
	res = cJSON_CreateObject();
	cJSON_AddItemToObject(res, "body", doc);
	tol_parse("{\"type\": \"jsonpath\", \"path\": \"$..id\", \"target\": \"body\"}", &t);
	ck_assert(!fl_tolerance_check(&t, H, res, why, sizeof(why)));
	ck_assert_msg(strstr(why, "more than 4096"), "why: %s", why);
	fl_tolerance_done(&t);
	tol_parse("{\"type\": \"jsonpath\", \"path\": \"$..*..*..nope\", \"target\": \"body\"}",
		  &t);
	ck_assert(!fl_tolerance_check(&t, H, res, why, sizeof(why)));
	fl_tolerance_done(&t);
	tol_parse("{\"type\": \"jsonpath\", \"path\": \"$[4999].id\", \"expect\": 4999, "
		  "\"target\": \"body\"}",
		  &t);
	ck_assert(fl_tolerance_check(&t, H, res, why, sizeof(why)));
	fl_tolerance_done(&t);
	cJSON_Delete(res);
}
END_TEST

Suite *fl_suite_tolerance(void)
{
	Suite *s = suite_create("tolerance");
	TCase *tc = tcase_create("tolerance");

	tcase_add_test(tc, ctk_documented_cases);
	tcase_add_test(tc, ctk_documented_refusals);
	tcase_add_test(tc, exact_values_on_provider_results);
	tcase_add_test(tc, regex_kind);
	tcase_add_test(tc, jsonpath_kind);
	tcase_add_test(tc, range_kind);
	tcase_add_test(tc, shapes_refused);
	tcase_add_test(tc, why_names_the_observed_value);
	tcase_add_test(tc, describe_forms);
	tcase_add_test(tc, regex_python_syntax);
	tcase_add_test(tc, jsonpath_bounded);
	suite_add_tcase(s, tc);
	return s;
}
