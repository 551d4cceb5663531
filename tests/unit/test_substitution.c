/*
 * Configuration, secrets, --var / --var-file and ${name} substitution, through
 * the public parser (what a user's experiment goes through).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/experiment.h"

/* An experiment whose one method action runs /bin/echo with `args` (a JSON list). */
static int parse_args(const char *config, const char *args, const struct fl_vars *vars,
		      struct fl_experiment **e, struct fl_errlist *errs)
{
	char json[8192];

	snprintf(json, sizeof(json),
		 "{\"title\": \"t\", %s%s%s \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		 "\"provider\": {\"type\": \"process\", \"path\": \"/bin/echo\", \"arguments\": "
		 "%s}}]}",
		 config ? "\"configuration\": " : "", config ? config : "", config ? "," : "",
		 args);
	memset(errs, 0, sizeof(*errs));
	return fl_experiment_parse(json, strlen(json), vars, e, errs);
}

static void dump(const struct fl_errlist *errs, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "\n    %s: %s", errs->v[i].path,
				      errs->v[i].msg);
}

/* Substitute into one argument and compare. */
static void expect_arg(const char *config, const char *arg_json, const struct fl_vars *vars,
		       const char *want)
{
	struct fl_experiment *e = NULL;
	struct fl_errlist errs;
	char args[4096], got[4096];
	int r;

	snprintf(args, sizeof(args), "[%s]", arg_json);
	r = parse_args(config, args, vars, &e, &errs);
	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "%s with %s: refused:%s", arg_json, config ? config : "{}", got);
	ck_assert_uint_eq(e->method.v[0].provider.argc, 1);
	ck_assert_msg(!strcmp(e->method.v[0].provider.argv[0], want), "%s: got \"%s\" want \"%s\"",
		      arg_json, e->method.v[0].provider.argv[0], want);
	fl_experiment_free(e);
}

static void expect_subst_error(const char *config, const char *arg_json, const char *path,
			       const char *needle)
{
	struct fl_experiment *e = NULL;
	struct fl_errlist errs;
	char args[4096], got[4096];
	bool found = false;

	snprintf(args, sizeof(args), "[%s]", arg_json);
	ck_assert_int_lt(parse_args(config, args, NULL, &e, &errs), 0);
	ck_assert_ptr_null(e);
	dump(&errs, got, sizeof(got));
	for (size_t i = 0; i < errs.n; i++)
		if (!strcmp(errs.v[i].path, path) && strstr(errs.v[i].msg, needle))
			found = true;
	ck_assert_msg(found, "%s: no \"%s: ...%s...\" in:%s", arg_json, path, needle, got);
}

START_TEST(string_forms)
{
	static const char cfg[] = "{\"host\": \"db-1\", \"port\": 5432, \"ratio\": 0.25, \"on\": "
				  "true, \"list\": [1, \"a\"], \"none\": null, \"_x1\": \"u\"}";

	expect_arg(cfg, "\"${host}\"", NULL, "db-1");
	expect_arg(cfg, "\"${host}:${port}\"", NULL, "db-1:5432");
	expect_arg(cfg, "\"r=${ratio}\"", NULL, "r=0.25");
	expect_arg(cfg, "\"on=${on}\"", NULL, "on=true");
	expect_arg(cfg, "\"l=${list}\"", NULL, "l=[1,\"a\"]");
	expect_arg(cfg, "\"n=${none}\"", NULL, "n=null");
	expect_arg(cfg, "\"${_x1}${_x1}\"", NULL, "uu");
	/* a whole-string reference keeps the type; a process argument str()s it */
	expect_arg(cfg, "\"${port}\"", NULL, "5432");
	/* Python Template: $$ is a literal $, $name works too when defined */
	expect_arg(cfg, "\"cost: $$5\"", NULL, "cost: $5");
	expect_arg(cfg, "\"$${host}\"", NULL, "${host}");
	expect_arg(cfg, "\"$host/x\"", NULL, "db-1/x");
	/* ... and is left alone when not defined, like other non-references */
	expect_arg(cfg, "\"$HOME and $1 and ${1x} and ${a-b} and $\"", NULL,
		   "$HOME and $1 and ${1x} and ${a-b} and $");
	expect_arg(cfg, "\"${host\"", NULL, "${host");
	expect_arg(NULL, "\"no dollars\"", NULL, "no dollars");
}
END_TEST

START_TEST(undefined_names)
{
	expect_subst_error("{\"a\": 1}", "\"x ${b} y\"", "$.method[0].provider.arguments[0]",
			   "${b} is not defined");
	expect_subst_error(NULL, "\"${b}\"", "$.method[0].provider.arguments[0]",
			   "${b} is not defined");
	/* one error per path: the undefined name, not also the URL it spoils */
	{
		static const char json[] =
		    "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		    "\"provider\": {\"type\": \"http\", \"url\": \"${base}/x\"}}]}";
		struct fl_experiment *e = NULL;
		struct fl_errlist errs = {0};

		ck_assert_int_lt(fl_experiment_parse(json, strlen(json), NULL, &e, &errs), 0);
		ck_assert_uint_eq(errs.n, 1);
		ck_assert_str_eq(errs.v[0].path, "$.method[0].provider.url");
		ck_assert_ptr_nonnull(strstr(errs.v[0].msg, "${base} is not defined"));
	}
	/* every use is reported, each at its own path */
	{
		struct fl_experiment *e = NULL;
		struct fl_errlist errs;

		ck_assert_int_lt(parse_args(NULL, "[\"${a}\", \"${b}\"]", NULL, &e, &errs), 0);
		ck_assert_uint_eq(errs.n, 2);
		ck_assert_str_eq(errs.v[0].path, "$.method[0].provider.arguments[0]");
		ck_assert_str_eq(errs.v[1].path, "$.method[0].provider.arguments[1]");
	}
}
END_TEST

/* A whole-string reference takes the configured type where a number is wanted. */
START_TEST(typed_whole_string)
{
	static const char json[] =
	    "{\"title\": \"t\", \"configuration\": {\"t\": 2.5, \"code\": 204, \"p\": 1, "
	    "\"tol\": [200, 204], \"verify\": false},"
	    " \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": [{\"type\": \"probe\", "
	    "\"name\": \"p\", \"tolerance\": \"${tol}\", \"provider\": {\"type\": \"http\", "
	    "\"url\": \"http://127.0.0.1/\", \"timeout\": \"${t}\", \"expected_status\": "
	    "\"${code}\", \"verify_tls\": \"${verify}\"}}]},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"process\", \"path\": \"x\", \"timeout\": \"${t}\"}, \"pauses\": {\"before\": "
	    "\"${p}\"}}]}";
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	char got[4096];
	int r = fl_experiment_parse(json, strlen(json), NULL, &e, &errs);

	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "refused:%s", got);
	ck_assert_uint_eq(e->hypothesis.v[0].provider.timeout_ms, 2500);
	ck_assert_int_eq(e->hypothesis.v[0].provider.expected_status, 204);
	ck_assert(!e->hypothesis.v[0].provider.verify_tls);
	ck_assert_int_eq(e->hypothesis.v[0].tolerance.type, FL_TOL_BETWEEN);
	ck_assert_uint_eq(e->method.v[0].provider.timeout_ms, 2500);
	ck_assert_uint_eq(e->method.v[0].pause_before_ms, 1000);
	fl_experiment_free(e);
}
END_TEST

/* Env-backed values are strings: a numeric string still counts as seconds. */
START_TEST(env_configuration)
{
	static const char json_fmt[] =
	    "{\"title\": \"${name}\", \"description\": \"on ${host}\", \"configuration\": {"
	    "\"host\": {\"type\": \"env\", \"key\": \"FL_TEST_SUBST_HOST\"},"
	    "\"secs\": {\"type\": \"env\", \"key\": \"FL_TEST_SUBST_SECS\"},"
	    "\"n\": {\"type\": \"env\", \"key\": \"FL_TEST_SUBST_N\", \"env_var_type\": \"int\"},"
	    "\"name\": {\"type\": \"env\", \"key\": \"FL_TEST_SUBST_UNSET\", \"default\": "
	    "\"dflt\"}},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"process\", \"path\": \"x\", \"arguments\": [\"${host}\", \"${n}\"], \"timeout\": "
	    "\"${secs}\"}}]}";
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	char got[4096];
	bool saw_n = false;
	int r;

	unsetenv("FL_TEST_SUBST_UNSET");
	setenv("FL_TEST_SUBST_HOST", "web-7", 1);
	setenv("FL_TEST_SUBST_SECS", " 1.5 ", 1);
	setenv("FL_TEST_SUBST_N", "42", 1);
	r = fl_experiment_parse(json_fmt, strlen(json_fmt), NULL, &e, &errs);
	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "refused:%s", got);
	ck_assert_str_eq(e->title, "dflt");
	ck_assert_str_eq(e->description, "on web-7");
	ck_assert_str_eq(e->method.v[0].provider.argv[0], "web-7");
	ck_assert_str_eq(e->method.v[0].provider.argv[1], "42");
	ck_assert_uint_eq(e->method.v[0].provider.timeout_ms, 1500);
	/* the resolved configuration is handed out as text */
	for (size_t i = 0; i < e->n_config; i++)
		if (!strcmp(e->config[i].key, "n")) {
			ck_assert_str_eq(e->config[i].value, "42");
			saw_n = true;
		}
	ck_assert(saw_n);
	/* the canonical JSON keeps the configuration as written, not env values */
	ck_assert_ptr_nonnull(strstr(e->canonical_json, "FL_TEST_SUBST_HOST"));
	ck_assert_ptr_nonnull(strstr(e->canonical_json, "\"web-7\""));
	fl_experiment_free(e);

	/* a bad typed env value, and an unset one without default */
	setenv("FL_TEST_SUBST_N", "forty-two", 1);
	unsetenv("FL_TEST_SUBST_HOST");
	memset(&errs, 0, sizeof(errs));
	ck_assert_int_lt(fl_experiment_parse(json_fmt, strlen(json_fmt), NULL, &e, &errs), 0);
	dump(&errs, got, sizeof(got));
	/* exactly these two: the uses of ${host} and ${n} are not reported again */
	ck_assert_msg(errs.n == 2, "%s", got);
	ck_assert_str_eq(errs.v[0].path, "$.configuration.host");
	ck_assert_ptr_nonnull(strstr(errs.v[0].msg, "FL_TEST_SUBST_HOST is not set"));
	ck_assert_str_eq(errs.v[1].path, "$.configuration.n.env_var_type");
	ck_assert_ptr_nonnull(strstr(errs.v[1].msg, "is not an integer"));
	unsetenv("FL_TEST_SUBST_SECS");
	unsetenv("FL_TEST_SUBST_N");
}
END_TEST

START_TEST(vars_override)
{
	struct fl_vars vars = {0};
	struct fl_error err;
	struct fl_experiment *e = NULL;
	struct fl_errlist errs;

	fl_error_init(&err);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "host=from-cli", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "extra=new", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "t:int=7", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "eq=a=b", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "empty=", &err), 0);
	/* the last one wins */
	ck_assert_int_eq(fl_vars_add_kv(&vars, "host=from-cli-2", &err), 0);
	ck_assert_uint_eq(vars.n, 5);

	expect_arg("{\"host\": \"from-file\"}", "\"${host}\"", &vars, "from-cli-2");
	expect_arg(NULL, "\"${extra}\"", &vars, "new");
	expect_arg(NULL, "\"${eq}\"", &vars, "a=b");
	expect_arg(NULL, "\"[${empty}]\"", &vars, "[]");
	/* a --var satisfies an env entry whose variable is unset */
	expect_arg("{\"host\": {\"type\": \"env\", \"key\": \"FL_TEST_SURELY_UNSET\"}}",
		   "\"${host}\"", &vars, "from-cli-2");
	/* typed: a timeout from an int var */
	ck_assert_int_eq(parse_args(NULL, "[\"x\"]", &vars, &e, &errs), 0);
	fl_experiment_free(e);
	{
		static const char json[] =
		    "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		    "\"provider\": {\"type\": \"process\", \"path\": \"x\", \"timeout\": "
		    "\"${t}\"}}]}";

		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(fl_experiment_parse(json, strlen(json), &vars, &e, &errs), 0);
		ck_assert_uint_eq(e->method.v[0].provider.timeout_ms, 7000);
		fl_experiment_free(e);
	}
	fl_vars_done(&vars);
	ck_assert_uint_eq(vars.n, 0);
	fl_vars_done(&vars);

	/* malformed */
	ck_assert_int_eq(fl_vars_add_kv(&vars, "novalue", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected name=value"));
	ck_assert_int_eq(fl_vars_add_kv(&vars, "=v", &err), -EINVAL);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "1a=v", &err), -EINVAL);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "a-b=v", &err), -EINVAL);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "a:int=x", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not an integer"));
	ck_assert_int_eq(fl_vars_add_kv(&vars, "a:blob=x", &err), -EINVAL);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "a:json={", &err), -EINVAL);
	ck_assert_uint_eq(vars.n, 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "a:json={\"k\": [1]}", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "b:bool=no", &err), 0);
	ck_assert_int_eq(fl_vars_add_kv(&vars, "c:float=0.5", &err), 0);
	expect_arg(NULL, "\"${a} ${b} ${c}\"", &vars, "{\"k\":[1]} false 0.5");
	fl_vars_done(&vars);
}
END_TEST

static char *write_tmp(const char *content)
{
	char *path = strdup("/tmp/fl-test-vars-XXXXXX");
	int fd;

	ck_assert(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

START_TEST(var_files)
{
	struct fl_vars vars = {0};
	struct fl_error err;
	char *p;

	fl_error_init(&err);
	p = write_tmp("{\"host\": \"h1\", \"n\": 3, \"on\": true}");
	ck_assert_int_eq(fl_vars_load_file(&vars, p, &err), 0);
	unlink(p);
	free(p);
	expect_arg(NULL, "\"${host}:${n}:${on}\"", &vars, "h1:3:true");
	fl_vars_done(&vars);

	/* Chaos Toolkit's shape */
	p = write_tmp("{\"configuration\": {\"host\": \"h2\"}, \"secrets\": {\"db\": {\"pw\": "
		      "\"pw1\"}}}");
	ck_assert_int_eq(fl_vars_load_file(&vars, p, &err), 0);
	unlink(p);
	free(p);
	expect_arg(NULL, "\"${host}/${pw}\"", &vars, "h2/pw1");
	/* a var file's secrets are masked in the journal's copy like secrets */
	{
		struct fl_experiment *e = NULL;
		struct fl_errlist errs;

		ck_assert_int_eq(parse_args(NULL, "[\"${host}/${pw}\"]", &vars, &e, &errs), 0);
		ck_assert_ptr_nonnull(strstr(e->canonical_json, "h2/********"));
		ck_assert_ptr_null(strstr(e->canonical_json, "pw1"));
		fl_experiment_free(e);
	}
	fl_vars_done(&vars);

	p = write_tmp("{\"host\": {\"nested\": 1}}");
	ck_assert_int_eq(fl_vars_load_file(&vars, p, &err), -EINVAL);
	ck_assert_str_eq(err.path, "$.host");
	unlink(p);
	free(p);
	fl_vars_done(&vars);
	p = write_tmp("[1, 2]");
	ck_assert_int_eq(fl_vars_load_file(&vars, p, &err), -EINVAL);
	unlink(p);
	free(p);
	p = write_tmp("{\"a\": 1} trailing");
	ck_assert_int_eq(fl_vars_load_file(&vars, p, &err), -EINVAL);
	unlink(p);
	free(p);
	ck_assert_int_eq(fl_vars_load_file(&vars, "/nonexistent/vars.json", &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/vars.json"));
	fl_vars_done(&vars);
}
END_TEST

START_TEST(secrets)
{
	static const char json[] =
	    "{\"title\": \"t\", \"secrets\": {\"db\": {\"password\": \"hunter2\", \"user\": "
	    "{\"type\": \"env\", \"key\": \"FL_TEST_SECRET_USER\", \"default\": \"admin\"}}},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"http\", \"url\": \"http://127.0.0.1/\", \"headers\": {\"Authorization\": "
	    "\"Basic ${user}:${password}\"}}}]}";
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};

	unsetenv("FL_TEST_SECRET_USER");
	ck_assert_int_eq(fl_experiment_parse(json, strlen(json), NULL, &e, &errs), 0);
	ck_assert_str_eq(e->method.v[0].provider.headers[0].value, "Basic admin:hunter2");
	/* never in the journal's copy nor in the exported configuration */
	ck_assert_ptr_null(strstr(e->canonical_json, "hunter2"));
	ck_assert_ptr_nonnull(strstr(e->canonical_json, "Basic ********:********"));
	for (size_t i = 0; i < e->n_config; i++)
		ck_assert_str_ne(e->config[i].value, "hunter2");
	fl_experiment_free(e);

	/* a --var standing in for a declared secret is masked too */
	{
		struct fl_vars vars = {0};
		struct fl_error err;

		ck_assert_int_eq(fl_vars_add_kv(&vars, "password=from-cli", &err), 0);
		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(fl_experiment_parse(json, strlen(json), &vars, &e, &errs), 0);
		ck_assert_str_eq(e->method.v[0].provider.headers[0].value, "Basic admin:from-cli");
		ck_assert_ptr_null(strstr(e->canonical_json, "from-cli"));
		fl_experiment_free(e);
		fl_vars_done(&vars);
	}
	/* configuration wins over a secret of the same name (CTK's ChainMap order) */
	{
		static const char j2[] =
		    "{\"title\": \"t\", \"configuration\": {\"x\": \"conf\"}, \"secrets\": "
		    "{\"s\": {\"x\": \"secret\"}}, \"method\": [{\"type\": \"action\", \"name\": "
		    "\"${x}\", \"provider\": {\"type\": \"process\", \"path\": \"x\"}}]}";

		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(fl_experiment_parse(j2, strlen(j2), NULL, &e, &errs), 0);
		ck_assert_str_eq(e->method.v[0].name, "conf");
		fl_experiment_free(e);
	}
	/* a scope must be an object */
	{
		static const char j3[] =
		    "{\"title\": \"t\", \"secrets\": {\"s\": \"flat\"}, "
		    "\"method\": [{\"type\": \"action\", \"name\": \"a\", "
		    "\"provider\": {\"type\": \"process\", \"path\": \"x\"}}]}";

		memset(&errs, 0, sizeof(errs));
		ck_assert_int_lt(fl_experiment_parse(j3, strlen(j3), NULL, &e, &errs), 0);
		ck_assert_str_eq(errs.v[0].path, "$.secrets.s");
	}
}
END_TEST

/* Keys are never substituted; strings outside the activities, title and description neither. */
START_TEST(scope_of_substitution)
{
	static const char json[] =
	    "{\"title\": \"t ${v}\", \"description\": \"d ${v}\", \"tags\": [\"${v}\"], "
	    "\"configuration\": {\"v\": \"V\", \"w\": \"${v}\"},"
	    " \"extensions\": [{\"note\": \"${undefined_here_is_fine}\"}],"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"http\", \"url\": \"http://127.0.0.1/\", \"method\": \"POST\", \"headers\": "
	    "{\"Content-Type\": \"application/json\"}, \"arguments\": {\"${v}\": \"${v}\", "
	    "\"w\": \"${w}\"}}}]}";
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	char got[4096];
	int r = fl_experiment_parse(json, strlen(json), NULL, &e, &errs);

	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "refused:%s", got);
	ck_assert_str_eq(e->title, "t V");
	ck_assert_str_eq(e->description, "d V");
	ck_assert_str_eq(e->tags[0], "${v}");
	/* configuration values are not substituted themselves (as in CTK) */
	ck_assert_str_eq(e->method.v[0].provider.body, "{\"${v}\":\"V\",\"w\":\"${v}\"}");
	fl_experiment_free(e);
}
END_TEST

START_TEST(oversized_after_substitution)
{
	char *big = malloc(40000), json[256];
	struct fl_vars vars = {0};
	struct fl_error err;
	struct fl_experiment *e = NULL;
	struct fl_errlist errs = {0};
	char *kv;

	memset(big, 'x', 39999);
	big[39999] = '\0';
	kv = malloc(40010);
	snprintf(kv, 40010, "big=%s", big);
	ck_assert_int_eq(fl_vars_add_kv(&vars, kv, &err), 0);
	snprintf(json, sizeof(json),
		 "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		 "\"provider\": {\"type\": \"process\", \"path\": \"x\", \"arguments\": "
		 "[\"${big}${big}\"]}}]}");
	ck_assert_int_lt(fl_experiment_parse(json, strlen(json), &vars, &e, &errs), 0);
	ck_assert_str_eq(errs.v[0].path, "$.method[0].provider.arguments[0]");
	ck_assert_ptr_nonnull(strstr(errs.v[0].msg, "after substitution"));
	fl_vars_done(&vars);
	free(kv);
	free(big);
}
END_TEST

Suite *fl_suite_substitution(void)
{
	Suite *s = suite_create("substitution");
	TCase *tc = tcase_create("substitution");

	tcase_add_test(tc, string_forms);
	tcase_add_test(tc, undefined_names);
	tcase_add_test(tc, typed_whole_string);
	tcase_add_test(tc, env_configuration);
	tcase_add_test(tc, vars_override);
	tcase_add_test(tc, var_files);
	tcase_add_test(tc, secrets);
	tcase_add_test(tc, scope_of_substitution);
	tcase_add_test(tc, oversized_after_substitution);
	suite_add_tcase(s, tc);
	return s;
}
