/*
 * Validation: the corpus of malformed experiments (tests/corpus/invalid, each
 * with the JSON path its error must carry, listed in EXPECTED), the corpus of
 * valid Chaos Toolkit-style experiments, and the rules that need more than
 * one file to show (every error collected, cross-field rules, caps).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "experiments/experiment.h"

#define CORPUS FL_SOURCE_DIR "/tests/corpus"

static bool has_error_at(const struct fl_errlist *errs, const char *path)
{
	for (size_t i = 0; i < errs->n; i++)
		if (!strcmp(errs->v[i].path, path))
			return true;
	return false;
}

static void dump(const struct fl_errlist *errs, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "\n    %s: %s", errs->v[i].path,
				      errs->v[i].msg);
}

START_TEST(invalid_corpus)
{
	FILE *f = fopen(CORPUS "/invalid/EXPECTED", "r");
	char line[1024];
	size_t files = 0;

	ck_assert_msg(f, "cannot open %s/invalid/EXPECTED", CORPUS);
	while (fgets(line, sizeof(line), f)) {
		struct fl_errlist errs = {0};
		struct fl_experiment *e = (struct fl_experiment *)0x1;
		char *tab, *nl, *strict, path[2048], got[4096];
		int r;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		tab = strchr(line, '\t');
		ck_assert_msg(tab, "EXPECTED: no tab in \"%s\"", line);
		*tab = '\0';
		strict = strchr(tab + 1, '\t');
		if (strict)
			*strict++ = '\0';
		snprintf(path, sizeof(path), "%s/invalid/%s", CORPUS, line);
		if (strict) {
			/* what Chaos Toolkit tolerates: a warning at that path, an error with
			 * --strict */
			struct fl_errlist warns = {0};
			struct fl_parse_opts lax = {.warnings = &warns};

			ck_assert_msg(fl_experiment_load_opts(path, &lax, NULL, &e, &errs) == 0,
				      "%s: refused without --strict", line);
			fl_experiment_free(e);
			ck_assert_msg(has_error_at(&warns, tab + 1), "%s: no warning at %s", line,
				      tab + 1);
			memset(&errs, 0, sizeof(errs));
		}
		{
			struct fl_parse_opts o = {.strict = strict != NULL};

			r = fl_experiment_load_opts(path, &o, NULL, &e, &errs);
		}
		dump(&errs, got, sizeof(got));
		ck_assert_msg(r < 0, "%s: accepted", line);
		ck_assert_ptr_null(e);
		ck_assert_msg(errs.n > 0, "%s: failed without an error", line);
		ck_assert_msg(has_error_at(&errs, tab + 1), "%s: no error at %s; got:%s", line,
			      tab + 1, got);
		for (size_t i = 0; i < errs.n; i++) {
			ck_assert_msg(errs.v[i].msg[0], "%s: empty message", line);
			ck_assert_msg(errs.v[i].path[0] == '$',
				      "%s: path \"%s\" is not a JSON path", line, errs.v[i].path);
			ck_assert_msg(!strchr(errs.v[i].msg, '\n'), "%s: message is not one line",
				      line);
		}
		files++;
	}
	fclose(f);
	ck_assert_uint_ge(files, 45);
}
END_TEST

/* Every .json file in the invalid corpus is listed in EXPECTED and vice versa. */
START_TEST(invalid_corpus_index_complete)
{
	DIR *d = opendir(CORPUS "/invalid");
	struct dirent *de;
	FILE *f;
	char idx[64 * 1024];
	size_t n;

	ck_assert(d);
	f = fopen(CORPUS "/invalid/EXPECTED", "r");
	ck_assert(f);
	n = fread(idx, 1, sizeof(idx) - 1, f);
	idx[n] = '\0';
	fclose(f);
	while ((de = readdir(d))) {
		char key[300];
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(key, sizeof(key), "\n%s\t", de->d_name);
		ck_assert_msg(strstr(idx, key), "%s is not listed in EXPECTED", de->d_name);
	}
	closedir(d);
}
END_TEST

/* Parse every .json in dir; returns how many. */
static size_t parse_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t files = 0;

	ck_assert_msg(d, "cannot open %s", dir);
	while ((de = readdir(d))) {
		struct fl_errlist errs = {0};
		struct fl_experiment *e = NULL;
		char path[1024], got[4096];
		size_t l = strlen(de->d_name);
		int r;

		if (l < 5 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		{
			/* a file with controls is valid once they are to be ignored */
			struct fl_parse_opts o = {.ignore_controls = true};

			r = fl_experiment_load_opts(path, &o, NULL, &e, &errs);
		}
		dump(&errs, got, sizeof(got));
		ck_assert_msg(r == 0, "%s: refused:%s", path, got);
		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(e->source_path, path);
		ck_assert(e->method.n > 0);
		fl_experiment_free(e);
		files++;
	}
	closedir(d);
	return files;
}

START_TEST(valid_corpus)
{
	ck_assert_uint_ge(parse_dir(CORPUS "/valid"), 4);
	/* the Chaos Toolkit-compatible examples shipped to users */
	ck_assert_uint_ge(parse_dir(FL_SOURCE_DIR "/experiments/examples/ctk"), 1);
}
END_TEST

static int parse_str(const char *json, struct fl_errlist *errs, struct fl_experiment **e)
{
	memset(errs, 0, sizeof(*errs));
	return fl_experiment_parse(json, strlen(json), NULL, e, errs);
}

/* One file with many independent mistakes reports all of them. */
START_TEST(every_error_collected)
{
	static const char json[] =
	    "{\"title\": 5, \"tags\": [\"a\", 1], \"timeout\": \"soon\",\n"
	    " \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": [\n"
	    "  {\"type\": \"probe\", \"name\": \"p\", \"provider\": {\"type\": \"http\", \"url\": "
	    "\"http://x/\"}}]},\n"
	    " \"method\": [\n"
	    "  {\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": \"process\", "
	    "\"path\": \"/bin/true\", \"timeout\": \"abc\"}},\n"
	    "  {\"type\": \"action\", \"name\": \"b\", \"provider\": {\"type\": \"python\", "
	    "\"module\": \"m\", \"func\": \"f\"}},\n"
	    "  {\"type\": \"probe\", \"name\": \"c\", \"provider\": {\"type\": \"http\", \"url\": "
	    "\"gopher://x\"}, \"pauses\": {\"before\": -2}},\n"
	    "  {\"ref\": \"zzz\"}]}";
	static const char *const want[][2] = {
	    {"$.title", "expected a non-empty title, got 5"},
	    {"$.tags[1]", "expected a tag"},
	    {"$.timeout", "expected a number of seconds, got \"soon\""},
	    {"$.steady-state-hypothesis.probes[0].tolerance", "needs a tolerance"},
	    {"$.method[0].provider.timeout", "expected a number of seconds, got \"abc\""},
	    {"$.method[1].provider.type", "provider type \"python\" is not supported (faultline "
					  "runs process, http, fault, load, "
					  "prometheus, tcp and running providers)"},
	    {"$.method[2].provider.url", "http:// or https://"},
	    {"$.method[2].pauses.before", ">= 0"},
	    {"$.method[3].ref", "no activity is named \"zzz\""},
	};
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char got[4096];

	ck_assert_int_eq(parse_str(json, &errs, &e), -EINVAL);
	ck_assert_ptr_null(e);
	dump(&errs, got, sizeof(got));
	ck_assert_msg(errs.n == FL_ARRAY_SIZE(want), "want %zu errors, got %zu:%s",
		      FL_ARRAY_SIZE(want), errs.n, got);
	for (size_t i = 0; i < FL_ARRAY_SIZE(want); i++) {
		bool found = false;

		for (size_t k = 0; k < errs.n; k++)
			if (!strcmp(errs.v[k].path, want[i][0]) &&
			    strstr(errs.v[k].msg, want[i][1]))
				found = true;
		ck_assert_msg(found, "no \"%s: ...%s...\" in:%s", want[i][0], want[i][1], got);
	}
}
END_TEST

/* More errors than the list holds: kept up to the cap, the rest counted. */
START_TEST(error_list_overflow)
{
	char json[64 * 1024];
	size_t o = 0;
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "{\"title\": \"t\", \"method\": [");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s{\"type\": \"action\", \"name\": \"a%d\", \"provider\": "
				      "{\"type\": \"process\", \"path\": \"x\", \"timeout\": -1}}",
				      i ? "," : "", i);
	snprintf(json + o, sizeof(json) - o, "]}");
	ck_assert_int_eq(parse_str(json, &errs, &e), -EINVAL);
	ck_assert_uint_eq(errs.n, FL_ERRLIST_MAX);
	ck_assert_uint_eq(errs.dropped, 100 - FL_ERRLIST_MAX);
	ck_assert_str_eq(errs.v[0].path, "$.method[0].provider.timeout");
}
END_TEST

static void expect_error(const char *json, const char *path, const char *needle)
{
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char got[4096];
	bool found = false;

	ck_assert_int_lt(parse_str(json, &errs, &e), 0);
	ck_assert_ptr_null(e);
	dump(&errs, got, sizeof(got));
	for (size_t k = 0; k < errs.n; k++)
		if (!strcmp(errs.v[k].path, path) && strstr(errs.v[k].msg, needle))
			found = true;
	ck_assert_msg(found, "no \"%s: ...%s...\" in:%s", path, needle, got);
}

static void expect_ok(const char *json)
{
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char got[4096];
	int r = parse_str(json, &errs, &e);

	dump(&errs, got, sizeof(got));
	ck_assert_msg(r == 0, "refused:%s\n%s", got, json);
	fl_experiment_free(e);
}

#define ACT(name, type)                                                                            \
	"{\"type\": \"" type "\", \"name\": \"" name "\", \"provider\": {\"type\": \"process\", "  \
	"\"path\": \"/bin/true\"}}"
#define HYP(name)                                                                                  \
	"{\"type\": \"probe\", \"name\": \"" name                                                  \
	"\", \"tolerance\": 0, \"provider\": {\"type\": "                                          \
	"\"process\", \"path\": \"/bin/true\"}}"

START_TEST(ref_rules)
{
	/* a ref to an earlier activity, from the method and from the rollbacks */
	expect_ok("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": "
		  "[" HYP("p") "]}, \"method\": [" ACT(
		      "a", "action") ", {\"ref\": \"p\"}, {\"ref\": "
				     "\"a\"}], \"rollbacks\": [{\"ref\": \"a\"}]}");
	/* a hypothesis probe may repeat an earlier hypothesis probe */
	expect_ok("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": "
		  "[" HYP("p") ", {\"ref\": \"p\"}]}, \"method\": [" ACT("a", "action") "]}");
	/* forward: Chaos Toolkit looks a ref up in a cache of the whole method and hypothesis */
	expect_ok("{\"title\": \"t\", \"method\": [{\"ref\": \"a\"}, " ACT("a", "action") "]}");
	/* from the hypothesis to a method probe, with the ref's own tolerance (and a type,
	 * as Chaos Toolkit's documents write refs) */
	expect_ok("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", "
		  "\"probes\": [{\"type\": \"probe\", \"ref\": \"a\", \"tolerance\": 0}]}, "
		  "\"method\": [" ACT("a", "probe") "]}");
	/* ... but the hypothesis still needs a tolerance from somewhere */
	expect_error("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", "
		     "\"probes\": [{\"ref\": \"a\"}]}, \"method\": [" ACT("a", "probe") "]}",
		     "$.steady-state-hypothesis.probes[0].ref", "no tolerance");
	/* to itself is not earlier */
	expect_error("{\"title\": \"t\", \"method\": [" ACT("a", "action") ", {\"ref\": \"b\"}]}",
		     "$.method[1].ref", "no activity is named \"b\"");
	/* ambiguous: Chaos Toolkit takes the last one (a warning; an error with --strict) */
	{
		static const char amb[] = "{\"title\": \"t\", \"method\": [" ACT(
		    "a", "action") ", " ACT("a", "probe") ", {\"ref\": \"a\"}]}";
		struct fl_errlist errs = {0}, warns = {0};
		struct fl_parse_opts o = {.warnings = &warns};
		struct fl_experiment *e = NULL;

		ck_assert_int_eq(fl_experiment_parse_opts(amb, strlen(amb), &o, NULL, &e, &errs),
				 0);
		ck_assert_ptr_eq(e->method.v[2].ref, &e->method.v[1]);
		ck_assert_str_eq(warns.v[0].path, "$.method[2].ref");
		fl_experiment_free(e);
		o.strict = true;
		ck_assert_int_lt(fl_experiment_parse_opts(amb, strlen(amb), &o, NULL, &e, &errs),
				 0);
		ck_assert_str_eq(errs.v[0].path, "$.method[2].ref");
	}
	/* duplicates nobody refers to are fine (Chaos Toolkit allows them) */
	expect_ok(
	    "{\"title\": \"t\", \"method\": [" ACT("a", "action") ", " ACT("a", "action") "]}");
	expect_error("{\"title\": \"t\", \"method\": [" ACT("a", "action") ", {\"ref\": 3}]}",
		     "$.method[1].ref", "expected the name of an earlier activity");
	expect_error("{\"title\": \"t\", \"method\": [" ACT("a", "action") ", {\"ref\": \"\"}]}",
		     "$.method[1].ref", "expected the name of an earlier activity");
}
END_TEST

START_TEST(ref_points_at_definition)
{
	static const char json[] =
	    "{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": "
	    "[" HYP("p") "]}, \"method\": [" ACT("a", "action") ", {\"ref\": \"p\"}]}";
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;

	ck_assert_int_eq(parse_str(json, &errs, &e), 0);
	ck_assert_ptr_eq(e->method.v[1].ref, &e->hypothesis.v[0]);
	ck_assert_str_eq(e->method.v[1].name, "p");
	ck_assert_str_eq(e->method.v[1].json_path, "$.method[1]");
	ck_assert_int_eq(e->method.v[1].type, FL_ACTIVITY_PROBE);
	ck_assert_str_eq(e->method.v[1].provider.path, "/bin/true");
	ck_assert_int_eq(e->method.v[1].tolerance.type, FL_TOL_INT);
	ck_assert_ptr_null(e->method.v[0].ref);
	fl_experiment_free(e);
}
END_TEST

START_TEST(hypothesis_rules)
{
	expect_error("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", "
		     "\"probes\": [" ACT("a", "action") "]}, \"method\": [" ACT("b", "action") "]}",
		     "$.steady-state-hypothesis.probes[0].type", "probes only");
	expect_error("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", "
		     "\"probes\": [" ACT("a", "probe") "]}, \"method\": [" ACT("b", "action") "]}",
		     "$.steady-state-hypothesis.probes[0].tolerance", "needs a tolerance");
	expect_error("{\"title\": \"t\", \"steady-state-hypothesis\": [], \"method\": [" ACT(
			 "b", "action") "]}",
		     "$.steady-state-hypothesis", "expected an object");
	/* an empty hypothesis is allowed (CTK: probes are optional) */
	expect_ok("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\"}, \"method\": "
		  "[" ACT("b", "action") "]}");
	/* method probes may carry a tolerance; actions may not */
	expect_ok(
	    "{\"title\": \"t\", \"method\": [{\"type\": \"probe\", \"name\": \"p\", "
	    "\"tolerance\": [0, 1], \"provider\": {\"type\": \"process\", \"path\": \"x\"}}]}");
	/* Chaos Toolkit does not read a tolerance on an action: accepted, not used */
	expect_ok("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"p\", "
		  "\"tolerance\": 0, \"provider\": {\"type\": \"process\", \"path\": \"x\"}}]}");
}
END_TEST

START_TEST(caps_and_raw_input)
{
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char *big;
	size_t n;

	/* exactly at the cap of nesting is fine, one more is not */
	{
		char json[4096];
		size_t o = 0;
		/* $ is level 1, "extensions" level 2: 31 lists in a row reach level 32 */
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "{\"title\": \"t\", \"extensions\": ");
		for (int i = 0; i < FL_EXP_NESTING_MAX - 1; i++)
			json[o++] = '[';
		for (int i = 0; i < FL_EXP_NESTING_MAX - 1; i++)
			json[o++] = ']';
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      ", \"method\": [" ACT("a", "action") "]}");
		expect_ok(json);
		o = 0;
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "{\"title\": \"t\", \"extensions\": ");
		for (int i = 0; i < FL_EXP_NESTING_MAX; i++)
			json[o++] = '[';
		for (int i = 0; i < FL_EXP_NESTING_MAX; i++)
			json[o++] = ']';
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      ", \"method\": [" ACT("a", "action") "]}");
		expect_error(
		    json,
		    "$.extensions[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
		    "[0][0][0][0][0][0][0][0][0][0][0]",
		    "nested deeper than 32 levels");
	}
	/* a buffer one byte over the file cap is refused before parsing */
	n = FL_EXP_FILE_MAX + 1;
	big = malloc(n);
	ck_assert(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	memset(&errs, 0, sizeof(errs));
	ck_assert_int_eq(fl_experiment_parse(big, n, NULL, &e, &errs), -EINVAL);
	ck_assert_str_eq(errs.v[0].path, "$");
	ck_assert_msg(strstr(errs.v[0].msg, "limit"), "%s", errs.v[0].msg);
	free(big);
	/* a key over the name cap */
	{
		char key[FL_EXP_NAME_MAX + 2], json[1024];

		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		snprintf(json, sizeof(json),
			 "{\"title\": \"t\", \"%s\": 1, \"method\": [" ACT("a", "action") "]}",
			 key);
		expect_error(json, "$", "longer than 256 bytes");
	}
	/* NaN/Infinity are not JSON; cJSON refuses them as text */
	expect_error("{\"title\": \"t\", \"timeout\": NaN, \"method\": []}", "$", "invalid JSON");
	/* trailing text after the object */
	expect_error("{\"title\": \"t\", \"method\": [" ACT("a", "action") "]} x", "$",
		     "invalid JSON at line 1");
	/* where the syntax error is */
	expect_error("{\"title\": \"t\",\n \"method\": [\n  {\"type\": \"action\",, }]}", "$",
		     "line 3, column");
	/* a length shorter than the buffer: only those bytes count */
	{
		static const char json[] =
		    "{\"title\": \"t\", \"method\": [" ACT("a", "action") "]}GARBAGE";

		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(fl_experiment_parse(json, strlen(json) - 7, NULL, &e, &errs), 0);
		fl_experiment_free(e);
	}
	memset(&errs, 0, sizeof(errs));
	ck_assert_int_eq(fl_experiment_parse("", 0, NULL, &e, &errs), -EINVAL);
	ck_assert_str_eq(errs.v[0].path, "$");
}
END_TEST

START_TEST(load_errors)
{
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;

	ck_assert_int_eq(fl_experiment_load("/nonexistent/faultline.json", NULL, &e, &errs),
			 -ENOENT);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.v[0].msg, "/nonexistent/faultline.json"), "%s", errs.v[0].msg);
	memset(&errs, 0, sizeof(errs));
	ck_assert_int_lt(fl_experiment_load(FL_SOURCE_DIR "/tests", NULL, &e, &errs), 0);
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

START_TEST(provider_rules)
{
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"fault\", \"kind\": \"Net Em\", \"target\": {}, "
		     "\"duration\": \"1s\"}}]}",
		     "$.method[0].provider.kind", "lower-case");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"fault\", \"kind\": \"netem\", \"target\": {}, "
		     "\"duration\": \"0s\"}}]}",
		     "$.method[0].provider.duration", "longer than 0");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"fault\", \"kind\": \"netem\", \"duration\": "
		     "\"1s\"}}]}",
		     "$.method[0].provider.target", "missing");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"http\", \"url\": \"http://a b/\"}}]}",
		     "$.method[0].provider.url", "without blanks");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"headers\": "
		     "{\"Bad Name\": \"x\"}}}]}",
		     "$.method[0].provider.headers['Bad Name']", "not a valid HTTP header name");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"timeout\": [0, "
		     "5]}}]}",
		     "$.method[0].provider.timeout[0]", "> 0");
	expect_error(
	    "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
	    "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"method\": \"POST\", "
	    "\"arguments\": {\"a\": {\"nested\": 1}}}}]}",
	    "$.method[0].provider.arguments.a", "application/json");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"max_retries\": "
		     "1000}}]}",
		     "$.method[0].provider.max_retries", "from 0 to 100");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"process\", \"path\": \"\"}}]}",
		     "$.method[0].provider.path", "expected the program to run");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": \"process\"}]}",
		     "$.method[0].provider", "expected an object");
	expect_error(
	    "{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
	    "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"arguments\": [1, "
	    "2]}}]}",
	    "$.method[0].provider.arguments", "for a GET request");
}
END_TEST

/* An unknown key's message lists every key that is accepted there, none left out. */
START_TEST(unknown_key_lists_every_known_key)
{
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"extra\": 1, \"provider\": {\"type\": \"process\", \"path\": \"true\"}}]}",
		     "$.method[0].extra",
		     "(known: name, provider, tolerance, pauses, background, controls, mode, "
		     "interval, timeout, description, dry)");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"process\", \"path\": \"true\", \"foo\": 1}}]}",
		     "$.method[0].provider.foo", "(known: path, arguments, timeout, secrets)");
	expect_error("{\"title\": \"t\", \"method\": [{\"type\": \"action\", \"name\": \"a\", "
		     "\"provider\": {\"type\": \"http\", \"url\": \"http://a/\", \"foo\": 1}}]}",
		     "$.method[0].provider.foo",
		     "(known: url, method, headers, arguments, timeout, expected_status, "
		     "verify_tls, max_retries, secrets)");
	expect_error("{\"title\": \"t\", \"method\": [" ACT("a", "action") ", {\"ref\": \"a\", "
									   "\"foo\": 1}]}",
		     "$.method[1].foo",
		     "(known: ref, tolerance, background, description, controls, name)");
	expect_error("{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", "
		     "\"foo\": 1}}",
		     "$.steady-state-hypothesis.foo", "(known: title, probes, controls)");
}
END_TEST

/* Programs are looked up like Chaos Toolkit's validation does (shutil.which). */
START_TEST(programs_checked)
{
	static const char json[] =
	    "{\"title\": \"t\", \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": ["
	    "{\"type\": \"probe\", \"name\": \"p\", \"tolerance\": 0, \"provider\": {\"type\": "
	    "\"process\", \"path\": \"sh\"}}]},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"process\", \"path\": \"/bin/sh\"}}, {\"ref\": \"p\"},"
	    " {\"type\": \"action\", \"name\": \"b\", \"provider\": {\"type\": \"process\", "
	    "\"path\": \"faultline-no-such-program\"}},"
	    " {\"type\": \"action\", \"name\": \"c\", \"provider\": {\"type\": \"process\", "
	    "\"path\": \"/nonexistent/prog\"}},"
	    " {\"type\": \"action\", \"name\": \"d\", \"provider\": {\"type\": \"process\", "
	    "\"path\": \"/etc\"}},"
	    " {\"type\": \"action\", \"name\": \"e\", \"provider\": {\"type\": \"http\", "
	    "\"url\": \"http://127.0.0.1/\"}}]}";
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char got[4096];

	ck_assert_int_eq(parse_str(json, &errs, &e), 0);
	ck_assert_int_eq(fl_experiment_check_programs(e, &errs), -ENOENT);
	dump(&errs, got, sizeof(got));
	ck_assert_msg(errs.n == 3, "%s", got);
	ck_assert_str_eq(errs.v[0].path, "$.method[2].provider.path");
	ck_assert_ptr_nonnull(
	    strstr(errs.v[0].msg, "no program \"faultline-no-such-program\" in PATH"));
	ck_assert_str_eq(errs.v[1].path, "$.method[3].provider.path");
	ck_assert_ptr_nonnull(strstr(errs.v[1].msg, "No such file"));
	ck_assert_str_eq(errs.v[2].path, "$.method[4].provider.path");
	ck_assert_ptr_nonnull(strstr(errs.v[2].msg, "not a regular file"));
	fl_experiment_free(e);
}
END_TEST

/*
 * A small deterministic fuzz over the valid corpus: random byte edits,
 * deletions and truncations must give either an experiment or errors with
 * JSON paths, never a crash (run under ASan in CI).
 */
START_TEST(mutated_inputs_never_crash)
{
	static const char *const files[] = {"ctk-process-http.json", "ctk-http-jsonpath.json",
					    "ctk-process-only.json", "faultline-fault.json"};
	static const char alphabet[] = "{}[]\":,$\\0123456789.-eE tnfrul\x01\xff";
	struct fl_rng rng;
	unsigned accepted = 0, refused = 0;

	fl_rng_init(&rng, 20261127);
	for (size_t f = 0; f < FL_ARRAY_SIZE(files); f++) {
		char path[1024], *orig;
		FILE *fp;
		long n;

		snprintf(path, sizeof(path), "%s/valid/%s", CORPUS, files[f]);
		fp = fopen(path, "r");
		ck_assert(fp);
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		rewind(fp);
		orig = malloc((size_t)n);
		ck_assert(orig);
		ck_assert_uint_eq(fread(orig, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		for (int round = 0; round < 300; round++) {
			char *buf = malloc((size_t)n);
			size_t len = (size_t)n;
			unsigned edits = 1 + (unsigned)fl_rng_below(&rng, 4);
			struct fl_errlist errs = {0};
			struct fl_experiment *e = NULL;
			int r;

			memcpy(buf, orig, len);
			for (unsigned k = 0; k < edits && len > 1; k++) {
				size_t at = (size_t)fl_rng_below(&rng, len);

				switch (fl_rng_below(&rng, 3)) {
				case 0: /* replace a byte */
					buf[at] =
					    alphabet[fl_rng_below(&rng, sizeof(alphabet) - 1)];
					break;
				case 1: /* delete a byte */
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
					break;
				default: /* truncate */
					len = at + 1;
					break;
				}
			}
			r = fl_experiment_parse(buf, len, NULL, &e, &errs);
			if (r == 0) {
				ck_assert_ptr_nonnull(e);
				accepted++;
			} else {
				ck_assert_ptr_null(e);
				ck_assert_uint_gt(errs.n, 0);
				for (size_t i = 0; i < errs.n; i++)
					ck_assert(errs.v[i].path[0] == '$');
				refused++;
			}
			fl_experiment_free(e);
			free(buf);
		}
		free(orig);
	}
	/* both outcomes happen, or the mutations are not exercising anything */
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_gt(refused, 0);
}
END_TEST

/* Big but legal input stays fast: duplicate-key checks are n log n, not n^2. */
START_TEST(large_object_is_fast)
{
	size_t cap = FL_EXP_FILE_MAX, o = 0;
	char *json = malloc(cap);
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;
	struct timespec t0, t1;
	double secs;
	int n = 0;

	ck_assert(json);
	o += (size_t)snprintf(
	    json + o, cap - o,
	    "{\"title\": \"t\", \"method\": [" ACT("a", "action") "], "
								  "\"extensions\": {");
	while (o + 64 < cap) {
		o += (size_t)snprintf(json + o, cap - o, "%s\"k%d\":1", n ? "," : "", n);
		n++;
	}
	o += (size_t)snprintf(json + o, cap - o, "}}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(fl_experiment_parse(json, o, NULL, &e, &errs), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* ~90k members: about 0.2 s unoptimised under ASan; pairwise checks took 14 s at -O2 */
	ck_assert_msg(secs < 5.0, "%d members took %.2f s", n, secs);
	fl_experiment_free(e);
	/* and a duplicate among them is still found, at its path: a warning (the last one
	 * wins, as in Python), an error with --strict */
	o -= 2;
	o += (size_t)snprintf(json + o, cap - o, ",\"k7\":2}}");
	{
		struct fl_errlist warns = {0};
		struct fl_parse_opts po = {.warnings = &warns};

		memset(&errs, 0, sizeof(errs));
		ck_assert_int_eq(fl_experiment_parse_opts(json, o, &po, NULL, &e, &errs), 0);
		ck_assert_str_eq(warns.v[0].path, "$.extensions.k7");
		fl_experiment_free(e);
		po.strict = true;
		ck_assert_int_lt(fl_experiment_parse_opts(json, o, &po, NULL, &e, &errs), 0);
		ck_assert_str_eq(errs.v[0].path, "$.extensions.k7");
	}
	free(json);
}
END_TEST

/*
 * #12 item 13: a 927 KB experiment within every other limit — one
 * configuration list of 256 strings of 3.3 KB, the tolerance of 768 probes —
 * took 12 s and 2.6 GB to validate. Substitutions now have a total budget.
 */
START_TEST(substitution_budget)
{
	size_t cap = FL_EXP_FILE_MAX, o = 0;
	char *json = malloc(cap), *item = malloc(3301);
	static const char *const lists[] = {"steady-state-hypothesis\": {\"title\": \"h\", "
					    "\"probes",
					    "method", "rollbacks"};
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;
	struct timespec t0, t1;
	double secs;
	int r;

	ck_assert(json && item);
	memset(item, 'x', 3300);
	item[3300] = '\0';
	o += (size_t)snprintf(json + o, cap - o,
			      "{\"title\": \"t\", \"configuration\": {\"big\": [");
	for (int i = 0; i < 256; i++)
		o += (size_t)snprintf(json + o, cap - o, "%s\"%s\"", i ? "," : "", item);
	o += (size_t)snprintf(json + o, cap - o, "]}");
	for (size_t l = 0; l < 3; l++) {
		o += (size_t)snprintf(json + o, cap - o, ", \"%s\": [", lists[l]);
		for (int i = 0; i < 256; i++)
			o += (size_t)snprintf(json + o, cap - o,
					      "%s{\"type\": \"probe\", \"name\": \"p%zu-%d\", "
					      "\"tolerance\": \"${big}\", \"provider\": {\"type\": "
					      "\"process\", \"path\": \"true\"}}",
					      i ? "," : "", l, i);
		o += (size_t)snprintf(json + o, cap - o, "]%s", l == 0 ? "}" : "");
	}
	o += (size_t)snprintf(json + o, cap - o, "}");
	ck_assert_uint_lt(o, FL_EXP_FILE_MAX);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = fl_experiment_parse(json, o, NULL, &e, &errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(r < 0, "accepted: %zu bytes substituted into every probe", o);
	ck_assert_ptr_null(e);
	ck_assert(strstr(errs.v[0].msg, "through ${name} substitutions"));
	ck_assert_msg(secs < 3.0, "refusing took %.2f s", secs);
	free(json);
	free(item);
}
END_TEST

/* One list for several files (faultline validate A B): each file's errors are kept. */
START_TEST(errors_of_several_files)
{
	static const char bad[] = "{\"title\": \"t\", \"method\": {}}";
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;

	ck_assert_int_lt(fl_experiment_parse(bad, strlen(bad), NULL, &e, &errs), 0);
	ck_assert_int_lt(fl_experiment_parse(bad, strlen(bad), NULL, &e, &errs), 0);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.v[0].path, "$.method");
	ck_assert_str_eq(errs.v[1].path, "$.method");
}
END_TEST

/* Errors come in the order of the file, whichever check found them. */
START_TEST(errors_in_file_order)
{
	static const char json[] =
	    "{\"title\": 1, \"configuration\": {\"a\": {\"type\": \"env\"}},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"a\", \"provider\": {\"type\": "
	    "\"process\", \"path\": \"x\", \"timeout\": -1}},"
	    " {\"type\": \"action\", \"name\": \"b\", \"provider\": {\"type\": \"process\", "
	    "\"path\": \"${nope}\"}},"
	    " {\"type\": \"action\", \"name\": \"c\", \"bogus\": 1, \"provider\": {\"type\": "
	    "\"process\", \"path\": \"x\"}}], \"timeout\": \"x\"}";
	static const char *const want[] = {
	    "$.title",
	    "$.configuration.a.key",
	    "$.method[0].provider.timeout",
	    "$.method[1].provider.path",
	    "$.method[2].bogus",
	    "$.timeout",
	};
	struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	char got[4096];

	ck_assert_int_lt(parse_str(json, &errs, &e), 0);
	dump(&errs, got, sizeof(got));
	ck_assert_msg(errs.n == FL_ARRAY_SIZE(want), "%s", got);
	for (size_t i = 0; i < FL_ARRAY_SIZE(want); i++)
		ck_assert_msg(!strcmp(errs.v[i].path, want[i]), "error %zu: want %s in:%s", i,
			      want[i], got);
}
END_TEST

Suite *fl_suite_experiment_validate(void)
{
	Suite *s = suite_create("experiment_validate");
	TCase *tc = tcase_create("validate");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, invalid_corpus);
	tcase_add_test(tc, invalid_corpus_index_complete);
	tcase_add_test(tc, valid_corpus);
	tcase_add_test(tc, every_error_collected);
	tcase_add_test(tc, error_list_overflow);
	tcase_add_test(tc, ref_rules);
	tcase_add_test(tc, ref_points_at_definition);
	tcase_add_test(tc, hypothesis_rules);
	tcase_add_test(tc, caps_and_raw_input);
	tcase_add_test(tc, load_errors);
	tcase_add_test(tc, provider_rules);
	tcase_add_test(tc, unknown_key_lists_every_known_key);
	tcase_add_test(tc, programs_checked);
	tcase_add_test(tc, mutated_inputs_never_crash);
	tcase_add_test(tc, large_object_is_fast);
	tcase_add_test(tc, substitution_budget);
	tcase_add_test(tc, errors_of_several_files);
	tcase_add_test(tc, errors_in_file_order);
	suite_add_tcase(s, tc);
	return s;
}
