/*
 * Reports: the journal's shape (Chaos Toolkit's keys, from a real run of a
 * small experiment with real processes), JUnit XML (escaping, counts, parsed
 * by a real XML parser), atomic writes and the JSON path resolver.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/report.h"
#include "controller/runner.h"
#include "experiments/experiment.h"

static char *xml_of(const char *s)
{
	struct fl_buf b;

	fl_buf_init(&b, 4096);
	ck_assert_int_eq(fl_report_xml_escape(&b, s), 0);
	return fl_buf_steal(&b) ?: strdup("");
}

START_TEST(xml_escape_table)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"a<b>c", "a&lt;b&gt;c"},
	    {"&amp;", "&amp;amp;"},
	    {"\"q\" 'a'", "&quot;q&quot; &apos;a&apos;"},
	    {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
	    {"bell\a esc\x1b nul-less", "bell\xef\xbf\xbd esc\xef\xbf\xbd nul-less"},
	    {"\xef\xbf\xbe", "\xef\xbf\xbd"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = xml_of(cases[i].in);

		ck_assert_msg(strcmp(got, cases[i].out) == 0, "case %zu: got \"%s\"", i, got);
		free(got);
	}
}
END_TEST

static cJSON *probe_rec(const char *name, const char *status, int met, const char *detail,
			const char *stdout_text)
{
	cJSON *r = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(r, "activity");
	cJSON *out = cJSON_AddObjectToObject(r, "output");

	cJSON_AddStringToObject(a, "type", "probe");
	cJSON_AddStringToObject(a, "name", name);
	cJSON_AddNumberToObject(a, "tolerance", 0);
	cJSON_AddNumberToObject(out, "status", 1);
	cJSON_AddStringToObject(out, "stdout", stdout_text);
	cJSON_AddStringToObject(r, "status", status);
	cJSON_AddNumberToObject(r, "duration", 0.25);
	if (strcmp(status, "failed") == 0) {
		cJSON *ex = cJSON_AddArrayToObject(r, "exception");

		cJSON_AddItemToArray(ex,
				     cJSON_CreateString("faultline.ActivityFailed: boom <x>\n"));
	}
	cJSON_AddBoolToObject(r, "tolerance_met", met);
	if (detail)
		cJSON_AddStringToObject(r, "tolerance_detail", detail);
	return r;
}

/* A journal where "after" deviates on probe 2 (of 3), so probe 3 is skipped. */
static cJSON *sample_journal(void)
{
	cJSON *j = cJSON_CreateObject(), *exp, *h, *probes, *ss, *st;
	static const char *const names[] = {"a & b", "<second>", "third \"q\""};

	exp = cJSON_AddObjectToObject(j, "experiment");
	cJSON_AddStringToObject(exp, "title", "T <&> \"x\"");
	h = cJSON_AddObjectToObject(exp, "steady-state-hypothesis");
	probes = cJSON_AddArrayToObject(h, "probes");
	for (int i = 0; i < 3; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "name", names[i]);
		cJSON_AddItemToArray(probes, p);
	}
	cJSON_AddStringToObject(j, "start", "2026-01-02T03:04:05.678Z");
	cJSON_AddStringToObject(j, "node", "host<1>");
	cJSON_AddStringToObject(j, "status", "failed");
	cJSON_AddBoolToObject(j, "deviated", true);
	cJSON_AddNumberToObject(j, "duration", 1.5);
	ss = cJSON_AddObjectToObject(j, "steady_states");
	st = cJSON_AddObjectToObject(ss, "before");
	cJSON_AddBoolToObject(st, "steady_state_met", true);
	probes = cJSON_AddArrayToObject(st, "probes");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(probes, probe_rec(names[i], "succeeded", 1, NULL, "ok"));
	st = cJSON_AddObjectToObject(ss, "after");
	cJSON_AddBoolToObject(st, "steady_state_met", false);
	probes = cJSON_AddArrayToObject(st, "probes");
	cJSON_AddItemToArray(probes, probe_rec(names[0], "succeeded", 1, NULL, "ok"));
	cJSON_AddItemToArray(probes, probe_rec(names[1], "succeeded", 0, "status was 1, expected 0",
					       "raw \x01 control & <tag>"));
	return j;
}

static int run_python(const char *script, const char *arg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execlp("python3", "python3", "-c", script, arg, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * The JUnit report must be valid against the schema CI systems read
 * (tests/integration/cli/junit.xsd: Jenkins' junit-10.xsd format), checked by
 * xmllint; its output goes to the test's stderr.
 */
static void assert_junit_valid(const char *path, const char *xml)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execlp("xmllint", "xmllint", "--noout", "--schema",
		       FL_SOURCE_DIR "/tests/integration/cli/junit.xsd", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	ck_assert_msg(!WIFEXITED(st) || WEXITSTATUS(st) != 127,
		      "xmllint (libxml2-utils, scripts/deps.sh) is not installed");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "JUnit report not valid against junit.xsd:\n%s", xml);
}

START_TEST(junit_counts_escaping_and_schema_shape)
{
	static const char check_py[] =
	    "import sys, xml.etree.ElementTree as E\n"
	    "r = E.parse(sys.argv[1]).getroot()\n"
	    "assert r.tag == 'testsuites'\n"
	    "s = r.find('testsuite')\n"
	    "for e in (r, s):\n"
	    "    assert (e.get('tests'), e.get('failures'), e.get('errors')) == "
	    "('7', '2', '0'), e.attrib\n"
	    "    assert float(e.get('time')) == 1.5\n"
	    "assert s.get('skipped') == '1' and r.get('skipped') is None\n"
	    "assert s.get('name') == 'T <&> \"x\"'\n"
	    "assert s.get('timestamp') == '2026-01-02T03:04:05'\n"
	    "assert s.get('hostname') == 'host<1>'\n"
	    "c = s.findall('testcase')\n"
	    "assert [x.get('classname') for x in c] == ['steady-state-before'] * 3 + "
	    "['steady-state-after'] * 3 + ['experiment']\n"
	    "assert c[6].get('name') == 'experiment run'\n"
	    "rf = c[6].find('failure')\n"
	    "assert rf.get('type') == 'Deviated' and 'exit code: 1' in rf.text, rf.attrib\n"
	    "assert [x.get('name') for x in c][:3] == ['a & b', '<second>', 'third \"q\"']\n"
	    "f = c[4].find('failure')\n"
	    "assert f.get('message') == 'status was 1, expected 0', f.attrib\n"
	    "assert 'raw \\ufffd control & <tag>' in f.text or 'raw \\\\u0001 control & <tag>' in "
	    "f.text, f.text\n"
	    "assert c[5].find('skipped') is not None\n"
	    "assert all(x.find('failure') is None for x in c[:4])\n";
	cJSON *j = sample_journal();
	struct fl_buf b;
	char path[] = "/tmp/fl-junit-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	fl_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fl_report_junit_render(j, &b), 0);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	ck_assert_msg(run_python(check_py, path) == 0, "JUnit check failed on:\n%s", b.data);
	assert_junit_valid(path, b.data);
	unlink(path);
	fl_buf_done(&b);
	cJSON_Delete(j);
}
END_TEST

START_TEST(junit_provider_failure_is_an_error)
{
	cJSON *j = sample_journal(), *after;
	struct fl_buf b;

	after = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "steady_states"), "after");
	cJSON_ReplaceItemInArray(cJSON_GetObjectItem(after, "probes"), 1,
				 probe_rec("<second>", "failed", 0, NULL, ""));
	fl_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fl_report_junit_render(j, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "errors=\"1\""));
	/* the only failure is the run's own case (deviated) */
	ck_assert_ptr_nonnull(strstr(b.data, "failures=\"1\""));
	ck_assert_ptr_nonnull(strstr(b.data, "<error type=\"ActivityFailed\" message=\""
					     "faultline.ActivityFailed: boom &lt;x&gt;"));
	fl_buf_done(&b);
	cJSON_Delete(j);
}
END_TEST

static cJSON *activity_rec(const char *name, const char *status)
{
	cJSON *r = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(r, "activity");

	cJSON_AddStringToObject(a, "type", "action");
	cJSON_AddStringToObject(a, "name", name);
	cJSON_AddStringToObject(r, "status", status);
	cJSON_AddNullToObject(r, "output");
	cJSON_AddNumberToObject(r, "duration", 0.5);
	if (strcmp(status, "failed") == 0)
		cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "exception"),
				     cJSON_CreateString("faultline.ActivityFailed: it broke\n"));
	return r;
}

static cJSON *named(const char *key, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, key, name);
	return o;
}

/*
 * Method activities and rollbacks get their own cases, matched in order with
 * the records that ran; the run itself is a case that carries the verdict.
 */
START_TEST(junit_method_rollbacks_and_run_case)
{
	static const char check_py[] =
	    "import sys, xml.etree.ElementTree as E\n"
	    "r = E.parse(sys.argv[1]).getroot()\n"
	    "s = r.find('testsuite')\n"
	    "c = s.findall('testcase')\n"
	    "names = [(x.get('classname'), x.get('name')) for x in c]\n"
	    "assert names == [('method', 'A'), ('method', 'B'), ('method', 'C'), ('method', 'A'),"
	    " ('rollbacks', 'R'), ('experiment', 'experiment run')], names\n"
	    "assert c[0].find('failure').get('type') == 'ActivityFailed'\n"
	    "assert c[0].find('failure').get('message') == 'it broke'\n"
	    "assert c[1].find('skipped').get('message') == 'not run: the timeout passed'\n"
	    "assert len(list(c[2])) == 0 and len(list(c[3])) == 0\n"
	    "assert 'strategy \"default\"' in c[4].find('skipped').get('message')\n"
	    "e = c[5].find(sys.argv[2])\n"
	    "assert e is not None and e.get('type') == sys.argv[3], (e, sys.argv)\n"
	    "assert e.get('message') == 'the timeout passed' or sys.argv[2] == 'error'\n"
	    "props = {p.get('name'): p.get('value') for p in s.find('properties')}\n"
	    "assert props['exit_code'] == sys.argv[4], props\n"
	    "assert (s.get('tests'), s.get('failures'), s.get('errors'), s.get('skipped')) == "
	    "('6',) + tuple(sys.argv[5:8]), s.attrib\n";
	static const struct {
		const char *status, *elem, *type, *code, *failures, *errors;
	} cases[] = {
	    {"aborted", "failure", "Aborted", "1", "2", "0"},
	    {"interrupted", "error", "Interrupted", "3", "1", "1"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_CreateObject(), *exp, *m, *rb, *run;
		struct fl_buf b;
		char path[] = "/tmp/fl-junit-XXXXXX";
		int fd = mkstemp(path);
		pid_t pid;
		int st;

		exp = cJSON_AddObjectToObject(j, "experiment");
		cJSON_AddStringToObject(exp, "title", "lists");
		m = cJSON_AddArrayToObject(exp, "method");
		cJSON_AddItemToArray(m, named("name", "A"));
		cJSON_AddItemToArray(m, named("name", "B"));
		cJSON_AddItemToArray(m, named("name", "C"));
		cJSON_AddItemToArray(m, named("ref", "A"));
		rb = cJSON_AddArrayToObject(exp, "rollbacks");
		cJSON_AddItemToArray(rb, named("name", "R"));
		cJSON_AddStringToObject(j, "status", cases[i].status);
		cJSON_AddBoolToObject(j, "deviated", false);
		cJSON_AddStringToObject(j, "reason", "the timeout passed");
		cJSON_AddStringToObject(j, "rollback_strategy", "default");
		cJSON_AddNumberToObject(j, "duration", 2);
		cJSON_AddObjectToObject(j, "steady_states");
		/* B never started (its pause was cut short); the ref to A ran. */
		run = cJSON_AddArrayToObject(j, "run");
		cJSON_AddItemToArray(run, activity_rec("A", "failed"));
		cJSON_AddItemToArray(run, activity_rec("C", "succeeded"));
		cJSON_AddItemToArray(run, activity_rec("A", "succeeded"));
		cJSON_AddArrayToObject(j, "rollbacks");

		ck_assert_int_ge(fd, 0);
		fl_buf_init(&b, 1 << 20);
		ck_assert_int_eq(fl_report_junit_render(j, &b), 0);
		ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
		close(fd);
		pid = fork();
		if (pid == 0) {
			execlp("python3", "python3", "-c", check_py, path, cases[i].elem,
			       cases[i].type, cases[i].code, cases[i].failures, cases[i].errors,
			       "2", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "JUnit check failed on:\n%s",
			      b.data);
		assert_junit_valid(path, b.data);
		unlink(path);
		fl_buf_done(&b);
		cJSON_Delete(j);
	}
}
END_TEST

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

START_TEST(atomic_write_replaces_and_leaves_no_temp)
{
	char dir[] = "/tmp/fl-atomic-XXXXXX", path[128], buf[64] = "";
	struct fl_error err;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/report.json", dir);
	ck_assert_int_eq(fl_report_write_atomic(path, "first", 5, &err), 0);
	ck_assert_int_eq(fl_report_write_atomic(path, "second", 6, &err), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "second");
	ck_assert_int_eq(count_entries(dir), 1);
	snprintf(path, sizeof(path), "%s/missing/report.json", dir);
	ck_assert_int_eq(fl_report_write_atomic(path, "x", 1, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
	ck_assert_int_eq(fl_report_path_check(path, &err), -ENOENT);
	ck_assert_int_eq(fl_report_path_check(dir, &err), -EISDIR);
	snprintf(path, sizeof(path), "%s/report.json", dir);
	ck_assert_int_eq(fl_report_path_check(path, &err), 0);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(json_path_resolver)
{
	cJSON *root = cJSON_Parse("{\"method\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
				  "\"steady-state-hypothesis\": {\"probes\": [{\"name\": \"p\"}]},"
				  "\"odd.key\": 1}");
	const cJSON *v;

	v = fl_runner_path_get(root, "$.method[1]");
	ck_assert_str_eq(cJSON_GetObjectItem(v, "name")->valuestring, "b");
	v = fl_runner_path_get(root, "$.steady-state-hypothesis.probes[0].name");
	ck_assert_str_eq(v->valuestring, "p");
	ck_assert_ptr_nonnull(fl_runner_path_get(root, "$[\"odd.key\"]"));
	ck_assert_ptr_eq(fl_runner_path_get(root, "$"), root);
	ck_assert_ptr_null(fl_runner_path_get(root, "$.method[2]"));
	ck_assert_ptr_null(fl_runner_path_get(root, "$.method[-1]"));
	ck_assert_ptr_null(fl_runner_path_get(root, "$.method[x]"));
	ck_assert_ptr_null(fl_runner_path_get(root, "method"));
	ck_assert_ptr_null(fl_runner_path_get(root, "$.nope.deeper"));
	cJSON_Delete(root);
}
END_TEST

/* The journal of a real run has Chaos Toolkit's keys and types. */
START_TEST(journal_shape_from_a_real_run)
{
	static const char exp[] =
	    "{\"title\": \"shape\","
	    " \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": ["
	    "  {\"type\": \"probe\", \"name\": \"p\", \"tolerance\": 0,"
	    "   \"provider\": {\"type\": \"process\", \"path\": \"sh\", \"arguments\": [\"-c\", "
	    "\"echo hi\"]}}]},"
	    " \"method\": [{\"type\": \"action\", \"name\": \"m\","
	    "   \"provider\": {\"type\": \"process\", \"path\": \"true\"}}],"
	    " \"rollbacks\": [{\"type\": \"action\", \"name\": \"r\","
	    "   \"provider\": {\"type\": \"process\", \"path\": \"false\"}}]}";
	struct fl_errlist *errs = calloc(1, sizeof(*errs));
	struct fl_experiment *e = NULL;
	struct fl_run_opts o = {.rollback_strategy = FL_ROLLBACK_ALWAYS,
				.cancel_fd = -1,
				.cancel_rollbacks_fd = -1,
				.run_id = "test"};
	struct fl_error err;
	cJSON *j = NULL, *ss, *before, *p0, *run0;
	static const char *const top[] = {"experiment", "start",    "end",	     "duration",
					  "status",	"deviated", "steady_states", "run",
					  "rollbacks",	"platform", "node"};

	ck_assert_int_eq(fl_experiment_parse(exp, strlen(exp), NULL, &e, errs), 0);
	ck_assert_int_eq(fl_runner_run(e, &o, &j, &err), 0);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		ck_assert_msg(cJSON_HasObjectItem(j, top[i]), "journal lacks %s", top[i]);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "completed");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "deviated")));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "duration")));
	ck_assert_int_eq(fl_runner_exit_code(j), FL_EXIT_HELD);
	ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "exit_code")) == FL_EXIT_HELD);
	ss = cJSON_GetObjectItem(j, "steady_states");
	before = cJSON_GetObjectItem(ss, "before");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(before, "steady_state_met")));
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(ss, "during")));
	p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(before, "probes"), 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p0, "tolerance_met")));
	ck_assert_str_eq(cJSON_GetObjectItem(p0, "status")->valuestring, "succeeded");
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "output"), "stdout")->valuestring, "hi\n");
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "activity"), "name")->valuestring, "p");
	run0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "run"), 0);
	for (const char *const *k = (const char *const[]){"activity", "status", "output", "start",
							  "end", "duration", NULL};
	     *k; k++)
		ck_assert_msg(cJSON_HasObjectItem(run0, *k), "run record lacks %s", *k);
	ck_assert(!cJSON_HasObjectItem(run0, "tolerance_met"));
	/* `false` exits 1: a rollback action's exit status alone is not a failure (as in CTK). */
	ck_assert_str_eq(cJSON_GetObjectItem(
			     cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rollbacks"), 0), "status")
			     ->valuestring,
			 "succeeded");
	cJSON_Delete(j);
	fl_experiment_free(e);
	free(errs);
}
END_TEST

Suite *fl_suite_reports(void)
{
	Suite *s = suite_create("reports");
	TCase *tc = tcase_create("reports");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, xml_escape_table);
	tcase_add_test(tc, junit_counts_escaping_and_schema_shape);
	tcase_add_test(tc, junit_provider_failure_is_an_error);
	tcase_add_test(tc, junit_method_rollbacks_and_run_case);
	tcase_add_test(tc, atomic_write_replaces_and_leaves_no_temp);
	tcase_add_test(tc, json_path_resolver);
	tcase_add_test(tc, journal_shape_from_a_real_run);
	suite_add_tcase(s, tc);
	return s;
}
