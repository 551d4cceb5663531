/*
 * The process and http providers against real processes and a real local
 * HTTP server (tests/integration/cli/httpd.py on a free loopback port).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/provider.h"
#include "core/duration.h"
#include "experiments/experiment.h"

static char *fl_argv_none[] = {NULL};

static struct fl_provider fl_proc(const char *path, char **argv)
{
	struct fl_provider p = {0};
	size_t n = 0;

	p.type = FL_PROVIDER_PROCESS;
	p.path = (char *)path;
	p.argv = argv ? argv : fl_argv_none;
	while (p.argv[n])
		n++;
	p.argc = n;
	p.expected_status = -1;
	return p;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

/* Is this pid gone (or a zombie nobody reaped yet)? */
static bool pid_dead(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return true;
	}
	fclose(f);
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

START_TEST(process_exit_status_and_streams)
{
	char *argv[] = {"-c", "echo out; echo err >&2; exit 3", NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq((int)jnum(res, "status"), 3);
	ck_assert_str_eq(jstr(res, "stdout"), "out\n");
	ck_assert_str_eq(jstr(res, "stderr"), "err\n");
	cJSON_Delete(res);
}
END_TEST

START_TEST(process_arguments_are_not_split_again)
{
	char *argv[] = {"%s|", "a", "b c", "$HOME", NULL};
	struct fl_provider p = fl_proc("printf", argv); /* found on PATH */
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), 0);
	ck_assert_str_eq(jstr(res, "stdout"), "a|b c|$HOME|");
	ck_assert_int_eq((int)jnum(res, "status"), 0);
	cJSON_Delete(res);
}
END_TEST

START_TEST(process_cannot_start)
{
	struct fl_provider p = fl_proc("/nonexistent/faultline-no-such-program", NULL);
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), -ENOENT);
	ck_assert_ptr_null(res);
	ck_assert_msg(strstr(err.msg, "no-such-program"), "%s", err.msg);
}
END_TEST

START_TEST(process_signal_death_is_negative_status)
{
	char *argv[] = {"-c", "kill -9 $$", NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), 0);
	ck_assert_int_eq((int)jnum(res, "status"), -9);
	cJSON_Delete(res);
}
END_TEST

START_TEST(process_timeout_kills_the_group)
{
	char dir[] = "/tmp/fl-prov-XXXXXX", pidfile[128], script[256];
	char *argv[] = {"-c", script, NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_error err;
	cJSON *res = NULL;
	uint64_t t0;
	FILE *f;
	int gpid = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	/* A grandchild that would outlive its parent unless the whole group is stopped. */
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; echo started; wait", pidfile);
	p.timeout_ms = 300;
	t0 = fl_now_mono_ms();
	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), -ETIMEDOUT);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 300 + FL_PROCESS_KILL_GRACE_MS + 1500);
	ck_assert_msg(strstr(err.msg, "timeout"), "%s", err.msg);
	/* Partial output is kept. */
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(jstr(res, "stdout"), "started\n");
	f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &gpid), 1);
	fclose(f);
	for (int i = 0; i < 100 && !pid_dead(gpid); i++)
		usleep(20000);
	ck_assert_msg(pid_dead(gpid), "grandchild %d survived the timeout", gpid);
	cJSON_Delete(res);
	unlink(pidfile);
	rmdir(dir);
}
END_TEST

START_TEST(process_deadline_stops_it_too)
{
	char *argv[] = {"30", NULL};
	struct fl_provider p = fl_proc("sleep", argv);
	struct fl_call_opts o = {.cancel_fd = -1, .deadline_ms = fl_now_mono_ms() + 200};
	struct fl_error err;
	cJSON *res = NULL;
	uint64_t t0 = fl_now_mono_ms();

	ck_assert_int_eq(fl_provider_process_run(&p, &o, &res, &err), -ETIMEDOUT);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 3000);
	ck_assert_msg(strstr(err.msg, "experiment"), "%s", err.msg);
	/* sleep dies of SIGTERM. */
	ck_assert_int_eq((int)jnum(res, "status"), -SIGTERM);
	cJSON_Delete(res);
}
END_TEST

START_TEST(process_cancel_fd_stops_at_once)
{
	char *argv[] = {"30", NULL};
	struct fl_provider p = fl_proc("sleep", argv);
	struct fl_error err;
	cJSON *res = NULL;
	int pfd[2];
	uint64_t t0;
	struct fl_call_opts o;

	ck_assert_int_eq(pipe(pfd), 0);
	o = (struct fl_call_opts){.cancel_fd = pfd[0]};
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	t0 = fl_now_mono_ms();
	ck_assert_int_eq(fl_provider_process_run(&p, &o, &res, &err), -ECANCELED);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 2000);
	cJSON_Delete(res);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

START_TEST(process_output_cap)
{
	char *argv[] = {"-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo done >&2", NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_call_opts o = {.cancel_fd = -1, .output_max = 1024};
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_process_run(&p, &o, &res, &err), 0);
	ck_assert_int_eq((int)strlen(jstr(res, "stdout")), 1024);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(res, "stdout_truncated")));
	ck_assert_str_eq(jstr(res, "stderr"), "done\n");
	ck_assert_int_eq((int)jnum(res, "status"), 0);
	cJSON_Delete(res);
}
END_TEST

START_TEST(process_daemon_does_not_hold_the_run)
{
	char dir[] = "/tmp/fl-prov-XXXXXX", pidfile[128], script[256];
	char *argv[] = {"-c", script, NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_error err;
	cJSON *res = NULL;
	uint64_t t0;
	FILE *f;
	int dpid = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	/* The background sleep keeps stdout open after the shell exits. */
	snprintf(script, sizeof(script), "sleep 20 & echo $! > %s; echo hi", pidfile);
	t0 = fl_now_mono_ms();
	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), 0);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 2000);
	ck_assert_str_eq(jstr(res, "stdout"), "hi\n");
	f = fopen(pidfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &dpid), 1);
	fclose(f);
	/* A normal exit leaves what the action started alone: it is still there. */
	ck_assert(!pid_dead(dpid));
	kill(dpid, SIGKILL);
	cJSON_Delete(res);
	unlink(pidfile);
	rmdir(dir);
}
END_TEST

START_TEST(process_invalid_utf8_is_replaced)
{
	char *argv[] = {"-c", "printf 'a\\377b\\000c'", NULL};
	struct fl_provider p = fl_proc("/bin/sh", argv);
	struct fl_error err;
	cJSON *res = NULL, *back;
	char *text;

	ck_assert_int_eq(fl_provider_process_run(&p, NULL, &res, &err), 0);
	ck_assert_str_eq(jstr(res, "stdout"), "a\xef\xbf\xbd"
					      "b\xef\xbf\xbd"
					      "c");
	/* What the journal gets is valid JSON. */
	text = cJSON_PrintUnformatted(res);
	back = cJSON_Parse(text);
	ck_assert_ptr_nonnull(back);
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(res);
}
END_TEST

/* ---- http, against tests/integration/cli/httpd.py ---- */

static pid_t srv_pid = -1;
static char srv_dir[64];
static int srv_port;

static void http_setup(void)
{
	char portfile[128];
	FILE *f;

	snprintf(srv_dir, sizeof(srv_dir), "/tmp/fl-httpd-XXXXXX");
	if (!mkdtemp(srv_dir))
		abort();
	snprintf(portfile, sizeof(portfile), "%s/port", srv_dir);
	srv_pid = fork();
	if (srv_pid == 0) {
		execlp("python3", "python3", FL_SOURCE_DIR "/tests/integration/cli/httpd.py",
		       "--port-file", portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &srv_port) != 1)
				srv_port = 0;
			fclose(f);
			break;
		}
		usleep(10000);
	}
}

static void http_teardown(void)
{
	char portfile[128];

	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
	}
	snprintf(portfile, sizeof(portfile), "%s/port", srv_dir);
	unlink(portfile);
	rmdir(srv_dir);
}

static char url_buf[256];
static struct fl_provider fl_http(const char *path)
{
	struct fl_provider p = {0};

	ck_assert_msg(srv_port > 0, "the test HTTP server did not start");
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d%s", srv_port, path);
	p.type = FL_PROVIDER_HTTP;
	p.url = url_buf;
	p.method = "GET";
	p.expected_status = -1;
	p.verify_tls = true;
	return p;
}

START_TEST(http_status_headers_body)
{
	struct fl_provider p = fl_http("/status/418");
	const cJSON *h;
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), 0);
	ck_assert_int_eq((int)jnum(res, "status"), 418);
	ck_assert_str_eq(jstr(res, "body"), "status 418");
	h = cJSON_GetObjectItem(res, "headers");
	ck_assert_str_eq(jstr(h, "Content-Type"), "text/plain");
	/* Repeated headers are joined, as python-requests does. */
	ck_assert_str_eq(jstr(h, "X-Test"), "a, b");
	ck_assert(jnum(res, "elapsed_ms") >= 0);
	cJSON_Delete(res);
}
END_TEST

START_TEST(http_expected_status_mismatch_fails)
{
	struct fl_provider p = fl_http("/status/503");
	struct fl_error err;
	cJSON *res = NULL;

	p.expected_status = 200;
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), -EPROTO);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq((int)jnum(res, "status"), 503);
	ck_assert_msg(strstr(err.msg, "503") && strstr(err.msg, "200"), "%s", err.msg);
	cJSON_Delete(res);
	p = fl_http("/status/200");
	p.expected_status = 200;
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), 0);
	cJSON_Delete(res);
}
END_TEST

START_TEST(http_json_body_is_parsed_and_redirects_followed)
{
	struct fl_provider p = fl_http("/redirect");
	struct fl_error err;
	cJSON *res = NULL, *body;

	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), 0);
	ck_assert_int_eq((int)jnum(res, "status"), 200);
	body = cJSON_GetObjectItem(res, "body");
	ck_assert(cJSON_IsObject(body));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(body, "ok")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(body, "items")), 3);
	cJSON_Delete(res);
}
END_TEST

START_TEST(http_method_headers_and_body_are_sent)
{
	struct fl_provider p = fl_http("/echo");
	struct fl_kv hdr[] = {{"Content-Type", "application/json"}, {"X-Token", "s3cret"}};
	struct fl_error err;
	cJSON *res = NULL, *body;

	p.method = "PUT";
	p.headers = hdr;
	p.n_headers = 2;
	p.body = "{\"a\":1}";
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), 0);
	body = cJSON_GetObjectItem(res, "body");
	ck_assert_str_eq(jstr(body, "method"), "PUT");
	ck_assert_str_eq(jstr(body, "body"), "{\"a\":1}");
	ck_assert_str_eq(jstr(cJSON_GetObjectItem(body, "headers"), "X-Token"), "s3cret");
	cJSON_Delete(res);
}
END_TEST

/* Through the parser, as a user writes it: GET "arguments" become the query string. */
START_TEST(http_get_arguments_become_the_query)
{
	static struct fl_errlist errs;
	struct fl_experiment *e = NULL;
	struct fl_error err;
	cJSON *res = NULL, *q;
	char json[512];

	ck_assert_msg(srv_port > 0, "the test HTTP server did not start");
	snprintf(json, sizeof(json),
		 "{\"title\": \"t\", \"description\": \"d\", \"method\": [{\"type\": "
		 "\"probe\", \"name\": \"q\", \"provider\": {\"type\": \"http\", \"url\": "
		 "\"http://127.0.0.1:%d/echo\", \"arguments\": {\"q\": \"a b&c\", \"n\": 2}}}]}",
		 srv_port);
	ck_assert_int_eq(fl_experiment_parse(json, strlen(json), NULL, &e, &errs), 0);
	ck_assert_int_eq(fl_provider_http_run(&e->method.v[0].provider, NULL, &res, &err), 0);
	q = cJSON_GetObjectItem(cJSON_GetObjectItem(res, "body"), "query");
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(q, "q"), 0)->valuestring, "a b&c");
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(q, "n"), 0)->valuestring, "2");
	cJSON_Delete(res);
	fl_experiment_free(e);
}
END_TEST

START_TEST(http_timeout)
{
	struct fl_provider p = fl_http("/delay/3000");
	struct fl_error err;
	cJSON *res = NULL;
	uint64_t t0 = fl_now_mono_ms();

	p.timeout_ms = 200;
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), -ETIMEDOUT);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 2000);
	ck_assert_ptr_null(res);
}
END_TEST

START_TEST(http_cancel_fd)
{
	struct fl_provider p = fl_http("/delay/3000");
	struct fl_error err;
	cJSON *res = NULL;
	int pfd[2];
	struct fl_call_opts o;
	uint64_t t0 = fl_now_mono_ms();

	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(write(pfd[1], "x", 1), 1);
	o = (struct fl_call_opts){.cancel_fd = pfd[0]};
	ck_assert_int_eq(fl_provider_http_run(&p, &o, &res, &err), -ECANCELED);
	ck_assert_uint_lt(fl_now_mono_ms() - t0, 1500);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

START_TEST(http_body_cap)
{
	struct fl_provider p = fl_http("/big/200000");
	struct fl_call_opts o = {.cancel_fd = -1, .output_max = 1000};
	struct fl_error err;
	cJSON *res = NULL;

	ck_assert_int_eq(fl_provider_http_run(&p, &o, &res, &err), 0);
	ck_assert_int_eq((int)strlen(jstr(res, "body")), 1000);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(res, "body_truncated")));
	cJSON_Delete(res);
}
END_TEST

START_TEST(http_connection_refused)
{
	struct fl_provider p = fl_http("/");
	struct fl_error err;
	cJSON *res = NULL;

	/* Port 1 on loopback: nobody listens there in a test environment. */
	p.url = "http://127.0.0.1:1/";
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), -EIO);
	ck_assert_ptr_null(res);
	ck_assert_msg(strstr(err.msg, "127.0.0.1:1"), "%s", err.msg);
}
END_TEST

START_TEST(http_only_http_schemes)
{
	struct fl_provider p = fl_http("/");
	struct fl_error err;
	cJSON *res = NULL;

	p.url = "file:///etc/passwd";
	ck_assert_int_eq(fl_provider_http_run(&p, NULL, &res, &err), -EIO);
	ck_assert_ptr_null(res);
}
END_TEST

Suite *fl_suite_providers(void)
{
	Suite *s = suite_create("providers");
	TCase *tp = tcase_create("process");
	TCase *th = tcase_create("http");

	tcase_set_timeout(tp, 30);
	tcase_add_test(tp, process_exit_status_and_streams);
	tcase_add_test(tp, process_arguments_are_not_split_again);
	tcase_add_test(tp, process_cannot_start);
	tcase_add_test(tp, process_signal_death_is_negative_status);
	tcase_add_test(tp, process_timeout_kills_the_group);
	tcase_add_test(tp, process_deadline_stops_it_too);
	tcase_add_test(tp, process_cancel_fd_stops_at_once);
	tcase_add_test(tp, process_output_cap);
	tcase_add_test(tp, process_daemon_does_not_hold_the_run);
	tcase_add_test(tp, process_invalid_utf8_is_replaced);
	suite_add_tcase(s, tp);

	tcase_set_timeout(th, 30);
	tcase_add_unchecked_fixture(th, http_setup, http_teardown);
	tcase_add_test(th, http_status_headers_body);
	tcase_add_test(th, http_expected_status_mismatch_fails);
	tcase_add_test(th, http_json_body_is_parsed_and_redirects_followed);
	tcase_add_test(th, http_method_headers_and_body_are_sent);
	tcase_add_test(th, http_get_arguments_become_the_query);
	tcase_add_test(th, http_timeout);
	tcase_add_test(th, http_cancel_fd);
	tcase_add_test(th, http_body_cap);
	tcase_add_test(th, http_connection_refused);
	tcase_add_test(th, http_only_http_schemes);
	suite_add_tcase(s, th);
	return s;
}
