/*
 * The parser: a Chaos Toolkit experiment becomes the typed model, field by
 * field; provider details (process argument splitting, http arguments,
 * timeouts, fault fields); ownership (nothing points into the input).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/experiment.h"
#include "experiments/internal.h"

static void dump(const struct fl_errlist *errs, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "\n    %s: %s", errs->v[i].path,
				      errs->v[i].msg);
}

static struct fl_experiment *must_parse(const char *json)
{
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	char got[4096];
	int r = fl_experiment_parse(json, strlen(json), NULL, &e, &errs);

	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "refused:%s\n%s", got, json);
	ck_assert_ptr_nonnull(e);
	return e;
}

START_TEST(ctk_experiment_fields)
{
	struct fl_experiment *e;
	struct fl_errlist errs = {0};
	const struct fl_activity *a;

	unsetenv("FL_TEST_WORKER_UNSET");
	ck_assert_int_eq(fl_experiment_load(FL_SOURCE_DIR
					    "/tests/corpus/valid/ctk-process-http.json",
					    NULL, &e, &errs),
			 0);
	ck_assert_str_eq(e->title, "The web service stays up when its worker restarts");
	ck_assert_str_eq(e->description,
			 "A Chaos Toolkit experiment using only process and http providers.");
	ck_assert_uint_eq(e->n_tags, 2);
	ck_assert_str_eq(e->tags[0], "web");
	ck_assert_str_eq(e->tags[1], "process");
	ck_assert_ptr_null(e->tags[2]);
	ck_assert(e->has_hypothesis);
	ck_assert_str_eq(e->hypothesis_title, "Service answers");
	ck_assert_uint_eq(e->hypothesis.n, 3);
	ck_assert_uint_eq(e->method.n, 2);
	ck_assert_uint_eq(e->rollbacks.n, 1);
	ck_assert_uint_eq(e->timeout_ms, 0);
	ck_assert_uint_eq(e->n_config, 3);

	a = &e->hypothesis.v[0];
	ck_assert_str_eq(a->name, "home-page-answers");
	ck_assert_str_eq(a->json_path, "$.steady-state-hypothesis.probes[0]");
	ck_assert_int_eq(a->type, FL_ACTIVITY_PROBE);
	ck_assert_int_eq(a->provider.type, FL_PROVIDER_HTTP);
	ck_assert_str_eq(a->provider.url, "http://127.0.0.1:8080/");
	ck_assert_str_eq(a->provider.method, "GET");
	ck_assert_uint_eq(a->provider.timeout_ms, 3000);
	ck_assert_uint_eq(a->provider.connect_timeout_ms, 0);
	ck_assert_int_eq(a->provider.expected_status, -1);
	ck_assert(a->provider.verify_tls);
	ck_assert_ptr_null(a->provider.body);
	ck_assert_int_eq(a->tolerance.type, FL_TOL_INT);
	ck_assert_int_eq(a->tolerance.i, 200);

	a = &e->hypothesis.v[1];
	ck_assert_uint_eq(a->provider.connect_timeout_ms, 1000);
	ck_assert_uint_eq(a->provider.timeout_ms, 5000);
	ck_assert_int_eq(a->tolerance.type, FL_TOL_REGEX);
	ck_assert_str_eq(a->tolerance.str, "^ok");
	ck_assert_str_eq(a->tolerance.target, "body");

	a = &e->hypothesis.v[2];
	ck_assert_int_eq(a->provider.type, FL_PROVIDER_PROCESS);
	ck_assert_str_eq(a->provider.path, "sh");
	/* a string of arguments goes to /bin/sh -c "PATH ARGS", as Chaos Toolkit runs it */
	ck_assert_uint_eq(a->provider.argc, 0);
	ck_assert_str_eq(a->provider.shell_args, "-c 'echo worker-1 | grep -q worker'");

	a = &e->method.v[0];
	ck_assert_int_eq(a->type, FL_ACTIVITY_ACTION);
	ck_assert_int_eq(a->tolerance.type, FL_TOL_NONE);
	ck_assert_str_eq(a->provider.path, "/bin/echo");
	ck_assert_uint_eq(a->provider.argc, 2);
	ck_assert_str_eq(a->provider.argv[1], "worker-1");
	ck_assert_uint_eq(a->pause_before_ms, 0);
	ck_assert_uint_eq(a->pause_after_ms, 1000);
	ck_assert(!a->background);
	ck_assert_ptr_null(a->ref);

	a = &e->method.v[1];
	ck_assert_ptr_eq(a->ref, &e->hypothesis.v[0]);
	ck_assert_str_eq(a->json_path, "$.method[1]");

	a = &e->rollbacks.v[0];
	ck_assert_str_eq(a->provider.method, "POST");
	ck_assert_str_eq(a->provider.body, "{\"event\":\"done\"}");
	ck_assert_uint_eq(a->provider.n_headers, 1);

	/* the canonical JSON is the experiment after substitution, and is JSON */
	{
		cJSON *c = cJSON_Parse(e->canonical_json);

		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(cJSON_GetObjectItem(c, "title")->valuestring, e->title);
		ck_assert_ptr_nonnull(strstr(e->canonical_json, "http://127.0.0.1:8080/health"));
		cJSON_Delete(c);
	}
	fl_experiment_free(e);
	fl_experiment_free(NULL);
}
END_TEST

/* Split like Python's shlex.split (what Chaos Toolkit did with string arguments). */
START_TEST(process_argument_string)
{
	static const struct {
		const char *in;
		const char *want[6];
	} c[] = {
	    {"", {NULL}},
	    {"   ", {NULL}},
	    {"a b  c", {"a", "b", "c", NULL}},
	    {"-c 'echo hi; exit 3'", {"-c", "echo hi; exit 3", NULL}},
	    {"\"a \\\"q\\\" b\" c", {"a \"q\" b", "c", NULL}},
	    {"\"keep \\n as is\"", {"keep \\n as is", NULL}},
	    {"a\\ b c\\\\d", {"a b", "c\\d", NULL}},
	    {"x''y \"\"", {"xy", "", NULL}},
	    {"--opt='a b'=c", {"--opt=a b=c", NULL}},
	    {"#not-a-comment x", {"#not-a-comment", "x", NULL}},
	    {"tab\tand\nnewline", {"tab", "and", "newline", NULL}},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
		char **argv = NULL;
		size_t argc = 0, n = 0;
		const char *why;

		ck_assert_int_eq(fl_shlex_split(c[i].in, &argv, &argc, &why), 0);
		while (c[i].want[n])
			n++;
		ck_assert_msg(argc == n, "%s: %zu words, want %zu", c[i].in, argc, n);
		for (size_t k = 0; k < n; k++)
			ck_assert_str_eq(argv[k], c[i].want[k]);
		ck_assert_ptr_null(argv[argc]);
		fl_strv_free(argv);
	}
	{
		static const char *const bad[] = {"'open", "\"open", "trailing\\"};

		for (size_t i = 0; i < FL_ARRAY_SIZE(bad); i++) {
			char **argv = NULL;
			size_t argc = 0;
			const char *why = NULL;

			ck_assert_int_eq(fl_shlex_split(bad[i], &argv, &argc, &why), -EINVAL);
			ck_assert_ptr_nonnull(why);
			ck_assert_ptr_null(argv);
		}
	}
}
END_TEST

#define PROC(args)                                                                                 \
	"{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": "   \
	"{\"type\": \"process\", \"path\": \"/bin/echo\", \"arguments\": " args "}}]}"

START_TEST(process_argument_list_and_object)
{
	struct fl_experiment *e;
	const struct fl_provider *p;

	/* list items are str()'d; null and "" are dropped as Chaos Toolkit does */
	e = must_parse(PROC("[\"a\", 1, 2.5, true, null, \"\", \"b c\"]"));
	p = &e->method.v[0].provider;
	ck_assert_uint_eq(p->argc, 5);
	ck_assert_str_eq(p->argv[0], "a");
	ck_assert_str_eq(p->argv[1], "1");
	ck_assert_str_eq(p->argv[2], "2.5");
	ck_assert_str_eq(p->argv[3], "True");
	ck_assert_str_eq(p->argv[4], "b c");
	fl_experiment_free(e);

	/* an object is flattened to name, value pairs */
	e = must_parse(PROC("{\"--count\": 3, \"--name\": \"x\", \"--skip\": null}"));
	p = &e->method.v[0].provider;
	ck_assert_uint_eq(p->argc, 4);
	ck_assert_str_eq(p->argv[0], "--count");
	ck_assert_str_eq(p->argv[1], "3");
	ck_assert_str_eq(p->argv[2], "--name");
	ck_assert_str_eq(p->argv[3], "x");
	fl_experiment_free(e);

	/* ~/ is the home directory, as Chaos Toolkit's expanduser() */
	setenv("HOME", "/home/tester", 1);
	e = must_parse("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		       "\"provider\": {\"type\": \"process\", \"path\": \"~/bin/tool\"}}]}");
	ck_assert_str_eq(e->method.v[0].provider.path, "/home/tester/bin/tool");
	fl_experiment_free(e);

	/* no arguments: an empty vector, never NULL */
	e = must_parse("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		       "\"provider\": {\"type\": \"process\", \"path\": \"true\"}}]}");
	p = &e->method.v[0].provider;
	ck_assert_uint_eq(p->argc, 0);
	ck_assert_ptr_nonnull(p->argv);
	ck_assert_ptr_null(p->argv[0]);
	ck_assert_uint_eq(p->timeout_ms, 0);
	fl_experiment_free(e);
}
END_TEST

#define HTTP(fields)                                                                               \
	"{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": "   \
	"{\"type\": \"http\", \"url\": \"http://127.0.0.1:8080/p\"" fields "}}]}"

static const char *header(const struct fl_provider *p, const char *k)
{
	for (size_t i = 0; i < p->n_headers; i++)
		if (!strcmp(p->headers[i].key, k))
			return p->headers[i].value;
	return NULL;
}

START_TEST(http_arguments)
{
	struct fl_experiment *e;
	const struct fl_provider *p;

	/* GET: an object becomes the query string, encoded like python requests */
	e = must_parse(HTTP(", \"arguments\": {\"q\": \"a b&c\", \"n\": 2, \"on\": true, \"skip\": "
			    "null, \"l\": [1, 2]}"));
	p = &e->method.v[0].provider;
	ck_assert_str_eq(p->url, "http://127.0.0.1:8080/p?q=a+b%26c&n=2&on=True&l=1&l=2");
	ck_assert_ptr_null(p->body);
	fl_experiment_free(e);
	e = must_parse("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		       "\"provider\": {\"type\": \"http\", \"url\": \"http://h/p?x=1\", "
		       "\"arguments\": {\"y\": \"2\"}}}]}");
	ck_assert_str_eq(e->method.v[0].provider.url, "http://h/p?x=1&y=2");
	fl_experiment_free(e);

	/* POST without a JSON content type: an object is form-encoded */
	e = must_parse(HTTP(", \"method\": \"post\", \"arguments\": {\"a\": \"1 2\", \"b\": 3}"));
	p = &e->method.v[0].provider;
	ck_assert_str_eq(p->method, "POST");
	ck_assert_str_eq(p->body, "a=1+2&b=3");
	ck_assert_str_eq(header(p, "Content-Type"), "application/x-www-form-urlencoded");
	ck_assert_str_eq(p->url, "http://127.0.0.1:8080/p");
	fl_experiment_free(e);

	/* with Content-Type: application/json any value is sent as JSON */
	e = must_parse(HTTP(", \"method\": \"PUT\", \"headers\": {\"Content-Type\": "
			    "\"application/json; charset=utf-8\", \"X-Count\": 5}, \"arguments\": "
			    "{\"a\": {\"b\": [1, null]}}"));
	p = &e->method.v[0].provider;
	ck_assert_str_eq(p->body, "{\"a\":{\"b\":[1,null]}}");
	ck_assert_uint_eq(p->n_headers, 2);
	ck_assert_str_eq(header(p, "X-Count"), "5");
	fl_experiment_free(e);

	/* a string body as is; a list as JSON */
	e = must_parse(HTTP(", \"method\": \"POST\", \"arguments\": \"raw=1\""));
	ck_assert_str_eq(e->method.v[0].provider.body, "raw=1");
	ck_assert_uint_eq(e->method.v[0].provider.n_headers, 0);
	fl_experiment_free(e);
	e = must_parse(HTTP(", \"method\": \"POST\", \"arguments\": [1, 2]"));
	ck_assert_str_eq(e->method.v[0].provider.body, "[1,2]");
	ck_assert_str_eq(header(&e->method.v[0].provider, "Content-Type"), "application/json");
	fl_experiment_free(e);
}
END_TEST

START_TEST(http_options)
{
	struct fl_experiment *e;
	const struct fl_provider *p;

	e = must_parse(HTTP(", \"timeout\": [0.5, 30], \"expected_status\": 201, \"verify_tls\": "
			    "false, \"max_retries\": 3, \"method\": \"DELETE\""));
	p = &e->method.v[0].provider;
	ck_assert_uint_eq(p->connect_timeout_ms, 500);
	ck_assert_uint_eq(p->timeout_ms, 30000);
	ck_assert_int_eq(p->expected_status, 201);
	ck_assert(!p->verify_tls);
	ck_assert_uint_eq(p->max_retries, 3);
	ck_assert_str_eq(p->method, "DELETE");
	fl_experiment_free(e);
	e = must_parse("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		       "\"provider\": {\"type\": \"http\", \"url\": \"HTTPS://example.test\", "
		       "\"timeout\": 0.25}}]}");
	ck_assert_uint_eq(e->method.v[0].provider.timeout_ms, 250);
	fl_experiment_free(e);
}
END_TEST

START_TEST(fault_provider)
{
	struct fl_experiment *e;
	struct fl_errlist errs = {0};
	const struct fl_provider *p;
	cJSON *t;

	ck_assert_int_eq(fl_experiment_load(FL_SOURCE_DIR
					    "/tests/corpus/valid/faultline-fault.json",
					    NULL, &e, &errs),
			 0);
	ck_assert_uint_eq(e->timeout_ms, 600000);
	p = &e->method.v[0].provider;
	ck_assert_int_eq(p->type, FL_PROVIDER_FAULT);
	ck_assert_str_eq(p->kind, "netem");
	ck_assert_uint_eq(p->duration_ms, 60000);
	ck_assert_str_eq(p->agents[0], "db-1:7433");
	ck_assert_ptr_null(p->agents[1]);
	t = cJSON_Parse(p->target_json);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(cJSON_GetObjectItem(t, "interface")->valuestring, "eth0");
	cJSON_Delete(t);
	/* substitution reached inside params */
	ck_assert_str_eq(p->params_json, "{\"delay\":\"200ms\",\"jitter\":\"20ms\"}");
	fl_experiment_free(e);

	/* params default to {}, agents to none, a number duration is seconds */
	e = must_parse(
	    "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
	    "\"provider\": {\"type\": \"fault\", \"kind\": \"process-kill\", \"target\": "
	    "{\"pid\": 1}, \"duration\": 1.5}}]}");
	p = &e->method.v[0].provider;
	ck_assert_str_eq(p->params_json, "{}");
	ck_assert_ptr_null(p->agents);
	ck_assert_uint_eq(p->duration_ms, 1500);
	fl_experiment_free(e);
}
END_TEST

START_TEST(pauses_background_timeout)
{
	struct fl_experiment *e;

	e = must_parse("{\"title\": \"t\", \"timeout\": 90, \"method\": [{\"type\": \"action\", "
		       "\"name\": \"a\", \"background\": true, \"pauses\": {\"before\": 0.25, "
		       "\"after\": \"2\"}, \"provider\": {\"type\": \"process\", \"path\": \"x\", "
		       "\"timeout\": 1e-3}}]}");
	ck_assert_uint_eq(e->timeout_ms, 90000);
	ck_assert(e->method.v[0].background);
	ck_assert_uint_eq(e->method.v[0].pause_before_ms, 250);
	ck_assert_uint_eq(e->method.v[0].pause_after_ms, 2000);
	ck_assert_uint_eq(e->method.v[0].provider.timeout_ms, 1);
	ck_assert(!e->has_hypothesis);
	ck_assert_uint_eq(e->hypothesis.n, 0);
	ck_assert_uint_eq(e->rollbacks.n, 0);
	fl_experiment_free(e);
}
END_TEST

/* The model owns its strings: the input can go away right after parsing. */
START_TEST(no_pointers_into_input)
{
	static const char src[] =
	    "{\"title\": \"owned\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": "
	    "[{\"type\": \"probe\", \"name\": \"p\", \"tolerance\": {\"type\": \"jsonpath\", "
	    "\"path\": \"$.a[?(@.b == 'x')]\", \"expect\": {\"b\": \"x\"}}, \"provider\": "
	    "{\"type\": \"process\", \"path\": \"x\"}}]}, \"method\": [{\"ref\": \"p\"}]}";
	size_t len = strlen(src);
	char *buf = malloc(len);
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	cJSON *res;
	char why[128];

	memcpy(buf, src, len); /* not NUL-terminated on purpose */
	ck_assert_int_eq(fl_experiment_parse(buf, len, NULL, &e, &errs), 0);
	memset(buf, 'Z', len);
	free(buf);
	ck_assert_str_eq(e->title, "owned");
	ck_assert_str_eq(e->hypothesis.v[0].tolerance.str, "$.a[?(@.b == 'x')]");
	ck_assert_str_eq(e->hypothesis.v[0].tolerance.expect_json, "{\"b\":\"x\"}");
	res = cJSON_Parse("{\"a\": [{\"b\": \"x\"}]}");
	ck_assert(fl_tolerance_check(&e->hypothesis.v[0].tolerance, FL_PROVIDER_FAULT, res, why,
				     sizeof(why)));
	/* the ref's own copy works too */
	ck_assert(fl_tolerance_check(&e->method.v[0].tolerance, FL_PROVIDER_FAULT, res, why,
				     sizeof(why)));
	cJSON_Delete(res);
	fl_experiment_free(e);
}
END_TEST

START_TEST(names)
{
	enum fl_rollback_strategy s;

	ck_assert_str_eq(fl_activity_type_name(FL_ACTIVITY_ACTION), "action");
	ck_assert_str_eq(fl_activity_type_name(FL_ACTIVITY_PROBE), "probe");
	ck_assert_str_eq(fl_provider_type_name(FL_PROVIDER_PROCESS), "process");
	ck_assert_str_eq(fl_provider_type_name(FL_PROVIDER_HTTP), "http");
	ck_assert_str_eq(fl_provider_type_name(FL_PROVIDER_FAULT), "fault");
	for (int i = 0; i < FL_ROLLBACK__MAX; i++) {
		ck_assert_int_eq(fl_rollback_strategy_parse(
				     fl_rollback_strategy_name((enum fl_rollback_strategy)i), &s),
				 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_int_eq(fl_rollback_strategy_parse("Always", &s), -EINVAL);
	ck_assert_int_eq(fl_rollback_strategy_parse("", &s), -EINVAL);
}
END_TEST

/* Chaos Toolkit keys that faultline accepts and does not act on. */
START_TEST(ignored_ctk_keys)
{
	struct fl_experiment *e = must_parse(
	    "{\"version\": \"1.0.0\", \"title\": \"t\", \"contributions\": {\"a\": \"high\"}, "
	    "\"extensions\": [{\"name\": \"x\"}], \"controls\": [], "
	    "\"runtime\": {\"rollbacks\": {\"strategy\": \"always\"}}, "
	    "\"steady-state-hypothesis\": {\"title\": \"h\", \"controls\": [], \"probes\": []}, "
	    "\"method\": [{\"type\": \"action\", \"name\": \"a\", \"controls\": [], "
	    "\"provider\": {\"type\": \"process\", \"path\": \"x\", \"secrets\": [\"s\"]}}]}");

	fl_experiment_free(e);
}
END_TEST

/* Controls: refused with the reason unless --ignore-controls (then a warning). */
START_TEST(controls_refused_unless_ignored)
{
	static const char json[] =
	    "{\"title\": \"t\", \"controls\": [{\"name\": \"safeguards\", \"provider\": "
	    "{\"type\": \"python\", \"module\": \"chaosaddons.controls.safeguards\"}}], "
	    "\"method\": [{\"type\": \"action\", \"name\": \"a\", \"controls\": [{\"name\": "
	    "\"x\"}], \"provider\": {\"type\": \"process\", \"path\": \"true\"}}]}";
	struct fl_errlist errs = {0}, warns = {0};
	struct fl_parse_opts o = {.warnings = &warns};
	struct fl_experiment *e = NULL;

	ck_assert_int_lt(fl_experiment_parse_opts(json, strlen(json), &o, NULL, &e, &errs), 0);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.v[0].path, "$.controls");
	ck_assert_str_eq(errs.v[1].path, "$.method[0].controls");
	ck_assert(strstr(errs.v[0].msg, "--ignore-controls"));
	memset(&errs, 0, sizeof(errs));
	o.ignore_controls = true;
	ck_assert_int_eq(fl_experiment_parse_opts(json, strlen(json), &o, NULL, &e, &errs), 0);
	ck_assert_uint_eq(warns.n, 2);
	fl_experiment_free(e);
}
END_TEST

Suite *fl_suite_experiment_parse(void)
{
	Suite *s = suite_create("experiment_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, ctk_experiment_fields);
	tcase_add_test(tc, process_argument_string);
	tcase_add_test(tc, process_argument_list_and_object);
	tcase_add_test(tc, http_arguments);
	tcase_add_test(tc, http_options);
	tcase_add_test(tc, fault_provider);
	tcase_add_test(tc, pauses_background_timeout);
	tcase_add_test(tc, no_pointers_into_input);
	tcase_add_test(tc, names);
	tcase_add_test(tc, ignored_ctk_keys);
	tcase_add_test(tc, controls_refused_unless_ignored);
	suite_add_tcase(s, tc);
	return s;
}
