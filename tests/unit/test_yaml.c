/*
 * core/yaml.c and YAML experiments: what PyYAML's safe_load (Chaos Toolkit's
 * loader) reads, the same experiment as its JSON twin, and errors with the
 * line, the column and the JSON path.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "experiments/experiment.h"

static cJSON *yparse(const char *text, const struct fl_yaml_opts *o, struct fl_error *err)
{
	cJSON *out = NULL;

	fl_error_init(err);
	if (fl_yaml_parse(text, strlen(text), o, &out, err) < 0)
		return NULL;
	return out;
}

/* Plain scalars resolve as PyYAML's SafeLoader resolves them; quoted ones stay strings. */
START_TEST(typed_scalars)
{
	static const struct {
		const char *yaml, *json;
	} c[] = {
	    {"a: 1", "{\"a\":1}"},
	    {"a: -0x1F", "{\"a\":-31}"},
	    {"a: 0o17", "{\"a\":15}"},
	    {"a: 017", "{\"a\":15}"}, /* YAML 1.1 octal */
	    {"a: 1_000", "{\"a\":1000}"},
	    {"a: 2.5", "{\"a\":2.5}"},
	    {"a: 1e3", "{\"a\":\"1e3\"}"}, /* PyYAML: a float needs a dot */
	    {"a: 1.0e+3", "{\"a\":1000}"},
	    {"a: yes", "{\"a\":true}"},
	    {"a: Off", "{\"a\":false}"},
	    {"a: ~", "{\"a\":null}"},
	    {"a:", "{\"a\":null}"},
	    {"a: '1'", "{\"a\":\"1\"}"},
	    {"a: \"true\"", "{\"a\":\"true\"}"},
	    {"a: !!str 12", "{\"a\":\"12\"}"},
	    {"a: 09", "{\"a\":\"09\"}"},
	    {"a: 200 OK", "{\"a\":\"200 OK\"}"},
	    {"a: [1, x, {b: no}]", "{\"a\":[1,\"x\",{\"b\":false}]}"},
	};
	struct fl_yaml_opts o = {.typed = true};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fl_error err;
		cJSON *j = yparse(c[i].yaml, &o, &err);
		char *s;

		ck_assert_msg(j, "%s: %s", c[i].yaml, err.msg);
		s = cJSON_PrintUnformatted(j);
		ck_assert_msg(!strcmp(s, c[i].json), "%s gave %s, want %s", c[i].yaml, s,
			      c[i].json);
		free(s);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(keys_twice_aliases_and_errors)
{
	struct fl_errlist dups = {0};
	struct fl_yaml_opts o = {
	    .typed = true, .dup_last_wins = true, .dups = &dups, .aliases = true};
	struct fl_error err;
	cJSON *j;
	char *s;

	/* a key given twice: the last one wins, and is reported at its path */
	j = yparse("a: 1\nb:\n  c: 1\n  c: 2\n", &o, &err);
	ck_assert_ptr_nonnull(j);
	s = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(s, "{\"a\":1,\"b\":{\"c\":2}}");
	free(s);
	cJSON_Delete(j);
	ck_assert_uint_eq(dups.n, 1);
	ck_assert_str_eq(dups.v[0].path, "$.b.c");
	/* refused when asked to */
	o.dup_last_wins = false;
	ck_assert_ptr_null(yparse("a: 1\na: 2\n", &o, &err));
	ck_assert_str_eq(err.path, "$.a");
	ck_assert(strstr(err.msg, "line 2"));
	/* anchors and aliases copy the node */
	j = yparse("base: &b {x: 1}\nother: *b\n", &o, &err);
	ck_assert_ptr_nonnull(j);
	s = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(s, "{\"base\":{\"x\":1},\"other\":{\"x\":1}}");
	free(s);
	cJSON_Delete(j);
	/* ... under the node cap: a billion laughs stops early */
	o.max_nodes = 10000;
	ck_assert_ptr_null(yparse("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
				  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				  "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
				  &o, &err));
	ck_assert_int_eq(err.code, -E2BIG);
	/* a syntax error: line, column and the path of the node being read */
	ck_assert_ptr_null(
	    yparse("method:\n  - name: a\n    provider: {type: process\n", &o, &err));
	ck_assert_msg(!strncmp(err.path, "$.method[0]", 11), "path %s", err.path);
	ck_assert_msg(strstr(err.msg, "line ") && strstr(err.msg, "column "), "%s", err.msg);
	/* NUL inside a scalar would cut it short */
	ck_assert_ptr_null(yparse("path: \"/bin/true\\0; touch x\"\n", &o, &err));
	ck_assert_str_eq(err.path, "$.path");
	/* two documents are not one experiment */
	ck_assert_ptr_null(yparse("a: 1\n---\nb: 2\n", &o, &err));
}
END_TEST

/* A YAML experiment is the same experiment as its JSON twin. */
START_TEST(yaml_experiment_is_its_json_twin)
{
	static const char yaml[] =
	    "title: t\n"
	    "steady-state-hypothesis:\n"
	    "  title: h\n"
	    "  probes:\n"
	    "  - type: probe\n"
	    "    name: up\n"
	    "    tolerance: 200\n"
	    "    provider: {type: http, url: 'http://127.0.0.1:9/', timeout: 3}\n"
	    "method:\n"
	    "- type: action\n"
	    "  name: a\n"
	    "  provider:\n"
	    "    type: process\n"
	    "    path: echo\n"
	    "    arguments: hello $HOME | tr a-z A-Z\n";
	static const char json[] =
	    "{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": "
	    "[{\"type\": \"probe\", \"name\": \"up\", \"tolerance\": 200, \"provider\": "
	    "{\"type\": \"http\", \"url\": \"http://127.0.0.1:9/\", \"timeout\": 3}}]}, "
	    "\"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"process\", \"path\": \"echo\", \"arguments\": \"hello $HOME | tr a-z A-Z\"}}]}";
	struct fl_errlist errs = {0};
	struct fl_experiment *y = NULL, *j = NULL;
	struct fl_parse_opts o = {.format = FL_DOC_AUTO};

	ck_assert_int_eq(fl_experiment_parse_opts(yaml, strlen(yaml), &o, NULL, &y, &errs), 0);
	ck_assert_int_eq(fl_experiment_parse_opts(json, strlen(json), &o, NULL, &j, &errs), 0);
	ck_assert_str_eq(y->canonical_json, j->canonical_json);
	ck_assert_str_eq(y->method.v[0].provider.shell_args, "hello $HOME | tr a-z A-Z");
	ck_assert_uint_eq(y->hypothesis.v[0].provider.timeout_ms, 3000);
	fl_experiment_free(y);
	fl_experiment_free(j);
	/* errors in a YAML experiment carry JSON paths too */
	{
		static const char bad[] = "title: t\nmethod:\n- type: action\n  name: a\n"
					  "  provider: {type: process, path: x, timeout: abc}\n";

		ck_assert_int_lt(fl_experiment_parse_opts(bad, strlen(bad), &o, NULL, &y, &errs),
				 0);
		ck_assert_str_eq(errs.v[0].path, "$.method[0].provider.timeout");
	}
}
END_TEST

/*
 * chaostoolkit-lib tests/test_tolerance.py, the cases that go through
 * substitution: ${msg} in a jsonpath filter and in a regex, and \$\{level\}
 * kept as it is.
 */
static bool sub_case(const char *tol, const char *msg, const char *value)
{
	char json[1024], why[256];
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;
	cJSON *v = cJSON_Parse(value);
	bool ok;

	snprintf(json, sizeof(json),
		 "{\"title\": \"t\", \"configuration\": {\"msg\": \"%s\"}, "
		 "\"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": [{\"type\": "
		 "\"probe\", \"name\": \"p\", \"tolerance\": %s, \"provider\": {\"type\": "
		 "\"prometheus\", \"url\": \"http://127.0.0.1:9\", \"query\": \"up\"}}]}}",
		 msg, tol);
	ck_assert_msg(fl_experiment_parse(json, strlen(json), NULL, &e, &errs) == 0, "%s: %s", tol,
		      errs.v[0].msg);
	ok = fl_tolerance_check(&e->hypothesis.v[0].tolerance, FL_PROVIDER_PROMETHEUS, v, why,
				sizeof(why));
	fl_experiment_free(e);
	cJSON_Delete(v);
	return ok;
}

START_TEST(ctk_tolerance_substitution)
{
	static const char jp[] =
	    "{\"type\": \"jsonpath\", \"path\": \"$.foo[?(@.baz=\\\"${msg}\\\")]\", \"count\": 1}";
	static const char rx[] = "{\"type\": \"regex\", \"pattern\": \"${msg}\"}";
	static const char rx2[] =
	    "{\"type\": \"regex\", \"pattern\": \"^[0-9] \\\\$\\\\{level\\\\} ${msg} - done$\"}";

	ck_assert(sub_case(jp, "hello", "{\"foo\": {\"baz\": \"hello\"}}"));
	ck_assert(!sub_case(jp, "bonjour", "{\"foo\": {\"baz\": \"hello\"}}"));
	ck_assert(sub_case(rx, "hello", "\"jane said hello at sunrise\""));
	ck_assert(!sub_case(rx, "bonjour", "\"jane said hello at sunrise\""));
	ck_assert(sub_case(rx2, "hello", "\"1 ${level} hello - done\""));
}
END_TEST

Suite *fl_suite_yaml(void)
{
	Suite *s = suite_create("yaml");
	TCase *tc = tcase_create("yaml");

	tcase_add_test(tc, typed_scalars);
	tcase_add_test(tc, keys_twice_aliases_and_errors);
	tcase_add_test(tc, yaml_experiment_is_its_json_twin);
	tcase_add_test(tc, ctk_tolerance_substitution);
	suite_add_tcase(s, tc);
	return s;
}
