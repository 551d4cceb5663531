/*
 * The agent API's JSON shapes (core/api), the agent's config and policy, its
 * journal, and the fault table driven in-process against a real child.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/journal.h"
#include "agent/log.h"
#include "agent/policy.h"
#include "agent/preload.h"
#include "core/api.h"
#include "faults/fault.h"
#include "faults/proc_select.h"

struct req_case {
	const char *body;
	int ok;
	const char *path; /* expected error path when !ok */
};

START_TEST(fault_req_table)
{
	static const struct req_case cases[] = {
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{\"pid\":5},\"ttl_ms\":1000}", 1, ""},
	    {"{\"id\":\"a-1.b_c:d\",\"experiment\":\"e1\",\"kind\":\"kill\",\"target\":{},"
	     "\"params\":{\"signal\":\"TERM\"},\"ttl_ms\":86400000}",
	     1, ""},
	    {"", 0, "$"},
	    {"{", 0, "$"},
	    {"null", 0, "$"},
	    {"{\"id\":\"a\"} x", 0, "$"},
	    {"{\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0, "$.id"},
	    {"{\"id\":\"\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0, "$.id"},
	    {"{\"id\":\"a/b\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0, "$.id"},
	    {"{\"id\":\".x\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0, "$.id"},
	    {"{\"id\":\"..\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0, "$.id"},
	    {"{\"id\":\"a\",\"experiment\":5,\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0,
	     "$.experiment"},
	    {"{\"id\":\"a\",\"kind\":7,\"target\":{},\"ttl_ms\":1}", 0, "$.kind"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"ttl_ms\":1}", 0, "$.target"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":\"x\",\"ttl_ms\":1}", 0, "$.target"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"params\":[],\"ttl_ms\":1}", 0,
	     "$.params"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":0}", 0, "$.ttl_ms"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1.5}", 0, "$.ttl_ms"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1e30}", 0, "$.ttl_ms"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":\"5\"}", 0, "$.ttl_ms"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1,\"extra\":1}", 0,
	     "$.extra"},
	    {"{\"id\":\"a\",\"id\":\"b\",\"kind\":\"pause\",\"target\":{},\"ttl_ms\":1}", 0,
	     "$.id"},
	    {"{\"id\":\"a\",\"kind\":\"pause\",\"target\":{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]"
	     "]]]},\"ttl_ms\":1}",
	     0, "$"},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(cases); i++) {
		struct fl_api_fault_req req;
		struct fl_error err;
		int r;

		fl_error_init(&err);
		r = fl_api_fault_req_parse(cases[i].body, strlen(cases[i].body), &req, &err);
		if (cases[i].ok) {
			ck_assert_msg(r == 0, "case %zu: %s: %s", i, err.path, err.msg);
			ck_assert(cJSON_IsObject(req.target) && cJSON_IsObject(req.params));
			fl_api_fault_req_done(&req);
		} else {
			ck_assert_msg(r < 0, "case %zu accepted: %s", i, cases[i].body);
			ck_assert_msg(!strcmp(err.path, cases[i].path),
				      "case %zu: path %s, want %s", i, err.path, cases[i].path);
			ck_assert_ptr_null(req.target);
		}
	}
}
END_TEST

START_TEST(fault_req_roundtrip_and_errors)
{
	cJSON *t = cJSON_Parse("{\"pid\":42}");
	char *s = fl_api_fault_req_json("f1", "exp", "pause", t, NULL, 1500);
	struct fl_api_fault_req req;
	struct fl_error err;
	uint64_t ttl;
	char *e;

	ck_assert_int_eq(fl_api_fault_req_parse(s, strlen(s), &req, &err), 0);
	ck_assert_str_eq(req.id, "f1");
	ck_assert_str_eq(req.experiment, "exp");
	ck_assert_str_eq(req.kind, "pause");
	ck_assert_int_eq(req.ttl_ms, 1500);
	ck_assert_int_eq(cJSON_GetObjectItem(req.target, "pid")->valueint, 42);
	fl_api_fault_req_done(&req);
	free(s);
	cJSON_Delete(t);

	ck_assert_int_eq(fl_api_renew_parse(NULL, 0, &ttl, &err), 0);
	ck_assert_int_eq(ttl, 0);
	ck_assert_int_eq(fl_api_renew_parse("{\"ttl_ms\":250}", 14, &ttl, &err), 0);
	ck_assert_int_eq(ttl, 250);
	ck_assert_int_lt(fl_api_renew_parse("{\"ttl\":250}", 11, &ttl, &err), 0);
	ck_assert_str_eq(err.path, "$.ttl");

	e = fl_api_error_json("forbidden", "refusing \"PID 1\"", "$.target");
	ck_assert_str_eq(e, "{\"error\":{\"code\":\"forbidden\",\"message\":\"refusing "
			    "\\\"PID 1\\\"\",\"path\":\"$.target\"}}");
	fl_error_init(&err);
	ck_assert(fl_api_error_parse(e, strlen(e), &err));
	ck_assert_str_eq(err.path, "$.target");
	ck_assert_ptr_nonnull(strstr(err.msg, "forbidden"));
	free(e);
	ck_assert(!fl_api_error_parse("{}", 2, &err));
	ck_assert(fl_api_id_valid("abc-1", 64));
	ck_assert(!fl_api_id_valid("abc 1", 64));
	ck_assert(!fl_api_id_valid("abcd", 3));
}
END_TEST

/* Strings that C would read shorter than JSON meant, and text that is not UTF-8. */
START_TEST(json_hygiene_table)
{
	static const struct {
		const char *body;
		size_t len; /* 0: strlen */
		const char *path;
		const char *msg;
	} cases[] = {
	    {"{\"id\":\"ok\\u0000/../x\"}", 0, "$.id", "NUL"},
	    {"{\"a\":{\"b\":[\"x\",\"y\\u0000z\"]}}", 0, "$.a.b[1]", "NUL"},
	    {"{\"k\\u0000ey\":1}", 0, "$.k", "NUL"},
	    {"\"top\\u0000\"", 0, "$", "NUL"},
	    {"{\"a\":\"tab\there\"}", 0, "$.a", "control character"},
	    {"{\"a\":\"\xff\"}", 0, "$", "invalid UTF-8 at byte 6"},
	    {"{\"a\":\"\xc0\xaf\"}", 0, "$", "invalid UTF-8"},	       /* overlong '/' */
	    {"{\"a\":\"\xed\xa0\x80\"}", 0, "$", "invalid UTF-8"},     /* a surrogate */
	    {"{\"a\":\"\xf4\x90\x80\x80\"}", 0, "$", "invalid UTF-8"}, /* beyond U+10FFFF */
	    {"{\"a\":\"\xe2\x82\"}", 0, "$", "invalid UTF-8"},	       /* cut short */
	};
	static const char *const fine[] = {
	    "{\"a\":\"\\\\u0000\"}",		     /* an escaped backslash, then text */
	    "{\"a\":\"\\u0001\",\"b\":\"\\u00e9\"}", /* other escapes are what they say */
	    "{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
	    "{\"a\":[\"x\",{\"y\":\"z\"}],\"b\":\"\\\"\"}",
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(cases); i++) {
		struct fl_error err;
		cJSON *j = NULL;
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].body);

		fl_error_init(&err);
		ck_assert_msg(fl_api_json_parse(cases[i].body, n, &j, &err) == -EINVAL, "case %zu",
			      i);
		ck_assert_msg(!strcmp(err.path, cases[i].path), "case %zu: path %s", i, err.path);
		ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
		ck_assert_ptr_null(j);
	}
	for (size_t i = 0; i < FL_ARRAY_SIZE(fine); i++) {
		struct fl_error err;
		cJSON *j = NULL;

		ck_assert_msg(fl_api_json_parse(fine[i], strlen(fine[i]), &j, &err) == 0,
			      "fine %zu: %s: %s", i, err.path, err.msg);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(query_table)
{
	static const char *const args[] = {"dry_run", "experiment", "all", NULL};
	static const struct {
		const char *q;
		const char *path; /* NULL: accepted */
		const char *msg;
	} cases[] = {
	    {"", NULL, NULL},
	    {"dry_run=1", NULL, NULL},
	    {"experiment=run-42&all=true", NULL, NULL},
	    {"experiment=a%2Fb", NULL, NULL},
	    {"dry_run", NULL, NULL},
	    {"dry_run=", NULL, NULL},
	    {"dry_run=0&dry_run=1", "?dry_run", "duplicate query parameter \"dry_run\""},
	    {"foo=1", "?foo", "unknown query parameter \"foo\""},
	    {"all=true&foo", "?foo", "unknown"},
	    {"&", "?", "empty query parameter"},
	    {"all=true&", "?", "empty query parameter"},
	    {"=1", "?", "name"},
	    {"a%41=1", "?", "name"},
	    {"dry_run=%00", "?dry_run", "NUL or control"},
	    {"experiment=a%0ab", "?experiment", "NUL or control"},
	    {"experiment=%zz", "?experiment", "bad %-escape"},
	    {"experiment=%4", "?experiment", "bad %-escape"},
	    {"experiment=a b", "?experiment", "must be %-encoded"},
	    {"experiment=a#b", "?experiment", "must be %-encoded"},
	    {"experiment=%ff", "?experiment", "invalid UTF-8"},
	    {"experiment=%c3%a9", NULL, NULL},
	    {"abcdefghijklmnopqrstuvwxyz0123456=1", "?", "name"},
	};
	struct fl_api_query q;
	struct fl_error err;
	char big[600];

	for (size_t i = 0; i < FL_ARRAY_SIZE(cases); i++) {
		int r;

		fl_error_init(&err);
		r = fl_api_query_parse(cases[i].q, strlen(cases[i].q), args, &q, &err);
		if (!cases[i].path) {
			ck_assert_msg(r == 0, "case %zu (%s): %s", i, cases[i].q, err.msg);
			continue;
		}
		ck_assert_msg(r == -EINVAL, "case %zu (%s) accepted", i, cases[i].q);
		ck_assert_msg(!strcmp(err.path, cases[i].path), "case %zu: path %s", i, err.path);
		ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
	}
	ck_assert_int_eq(fl_api_query_parse("experiment=a%2Fb&dry_run", 24, args, &q, &err), 0);
	ck_assert_str_eq(fl_api_query_get(&q, "experiment"), "a/b");
	ck_assert_str_eq(fl_api_query_get(&q, "dry_run"), "");
	ck_assert_ptr_null(fl_api_query_get(&q, "all"));
	/* No parameter at all for a route that takes none; values have a cap. */
	ck_assert_int_eq(fl_api_query_parse("x=1", 3, NULL, &q, &err), -EINVAL);
	ck_assert_str_eq(err.path, "?x");
	memset(big, 'a', sizeof(big));
	memcpy(big, "experiment=", 11);
	ck_assert_int_eq(fl_api_query_parse(big, sizeof(big), args, &q, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "over 256 bytes"));
	/* Not NUL-terminated: only len bytes count. */
	ck_assert_int_eq(fl_api_query_parse("all=truefoo=1", 8, args, &q, &err), 0);
	ck_assert_str_eq(fl_api_query_get(&q, "all"), "true");
}
END_TEST

START_TEST(http_status_mapping)
{
	const char *n;

	ck_assert_int_eq(fl_agent_http_status(-EINVAL, &n), 400);
	ck_assert_str_eq(n, "invalid_request");
	ck_assert_int_eq(fl_agent_http_status(-EPERM, &n), 403);
	ck_assert_int_eq(fl_agent_http_status(-ENOENT, &n), 404);
	ck_assert_int_eq(fl_agent_http_status(-EEXIST, &n), 409);
	ck_assert_int_eq(fl_agent_http_status(-E2BIG, &n), 413);
	ck_assert_int_eq(fl_agent_http_status(-ESRCH, &n), 422);
	ck_assert_int_eq(fl_agent_http_status(-EBUSY, &n), 409); /* interface already has a fault */
	ck_assert_str_eq(n, "conflict");
	ck_assert_int_eq(fl_agent_http_status(-ENOSPC, &n), 429); /* max_live_faults */
	ck_assert_str_eq(n, "limit_reached");
	ck_assert_int_eq(fl_agent_http_status(-EOPNOTSUPP, &n), 501);
	ck_assert_int_eq(fl_agent_http_status(-EIO, &n), 500); /* a revert failed */
	ck_assert_int_eq(fl_agent_http_status(-ESHUTDOWN, &n), 503);
	ck_assert_str_eq(n, "stopping");
}
END_TEST

START_TEST(config_parse)
{
	static const struct req_case bad[] = {
	    {"[]", 0, "$"},
	    {"{\"allow\":{\"names\":[\"x\"]},\"colour\":1}", 0, "$.colour"},
	    {"{\"allow\":{\"name\":[\"x\"]}}", 0, "$.allow.name"},
	    {"{\"allow\":{\"names\":\"x\"}}", 0, "$.allow.names"},
	    {"{\"allow\":{\"names\":[\"a-much-too-long-comm\"]}}", 0, "$.allow.names"},
	    {"{\"deny\":{\"uids\":[-1]}}", 0, "$.deny.uids"},
	    {"{\"deny\":{\"cgroups\":[\"rel\"]}}", 0, "$.deny.cgroups"},
	    {"{\"deny\":{\"cmdlines\":[\"(\"]}}", 0, "$.deny.cmdlines"},
	    {"{\"kinds\":[\"explode\"]}", 0, "$.kinds[0]"},
	    {"{\"limits\":{\"max_body_bytes\":1}}", 0, "$.limits.max_body_bytes"},
	    {"{\"limits\":{\"rate\":1}}", 0, "$.limits.rate"},
	    {"{\"lease_priority\":100}", 0, "$.lease_priority"},
	    {"{\"lease_priority\":-1}", 0, "$.lease_priority"},
	    {"{\"lease_priority\":1.5}", 0, "$.lease_priority"},
	    {"{\"lease_priority\":\"1\"}", 0, "$.lease_priority"},
	    {"{\"network\":[]}", 0, "$.network"},
	    {"{\"network\":{\"ns\":[\"a\"]}}", 0, "$.network.ns"},
	    {"{\"network\":{\"netns\":[\"a\",\"../b\"]}}", 0, "$.network.netns[1]"},
	    {"{\"network\":{\"netns\":[\"..\"]}}", 0, "$.network.netns[0]"},
	    {"{\"network\":{\"netns\":[\"/run/netns/../x\"]}}", 0, "$.network.netns[0]"},
	    {"{\"network\":{\"interfaces\":[\"a-very-long-interface-name\"]}}", 0,
	     "$.network.interfaces[0]"},
	};
	struct fl_agent_config c;
	struct fl_error err;
	const char *good =
	    "{\"allow\":{\"names\":[\"nginx\"],\"uids\":[1000],\"cgroups\":[\"/demo\"],"
	    "\"cmdlines\":[\"^/usr/bin/demo \"]},\"deny\":{\"names\":[\"sshd\"]},"
	    "\"kinds\":[\"pause\"],\"limits\":{\"max_body_bytes\":4096,"
	    "\"max_live_faults\":3,\"max_ttl_ms\":60000,\"rate_per_second\":2,"
	    "\"rate_burst\":4},\"lease_priority\":5}";

	ck_assert_int_eq(fl_agent_config_parse(&c, good, strlen(good), &err), 0);
	ck_assert_int_eq(c.lease_priority, 5);
	ck_assert(c.has_allow);
	ck_assert_int_eq(c.allow.n_names, 1);
	ck_assert_int_eq(c.max_body_bytes, 4096);
	ck_assert_int_eq(c.max_live_faults, 3);
	ck_assert(fl_agent_policy_kind(&c, "pause"));
	ck_assert(!fl_agent_policy_kind(&c, "kill"));
	fl_agent_config_done(&c);
	for (size_t i = 0; i < FL_ARRAY_SIZE(bad); i++) {
		fl_error_init(&err);
		ck_assert_msg(fl_agent_config_parse(&c, bad[i].body, strlen(bad[i].body), &err) < 0,
			      "accepted %s", bad[i].body);
		ck_assert_msg(!strcmp(err.path, bad[i].path), "%s: path %s, want %s", bad[i].body,
			      err.path, bad[i].path);
	}
}
END_TEST

/* allow.output_dirs: canonical existing directories, checked at load; the policy on output. */
START_TEST(config_output_dirs)
{
	char tmpl[] = "/tmp/fl-u-outdirs-XXXXXX", dir[PATH_MAX], sub[256], lnk[256], file[256],
	     cfg[1024], out[300];
	char *const argv[] = {"/bin/sh", "-c", "true", NULL};
	struct fl_agent_config c;
	struct fl_error err;
	const char *rel = NULL;
	int fd = -1;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, dir));
	ck_assert_int_lt(strlen(dir), 200);
	snprintf(sub, sizeof(sub), "%.200s/d", dir);
	snprintf(lnk, sizeof(lnk), "%.200s/l", dir);
	snprintf(file, sizeof(file), "%.200s/f", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(symlink(sub, lnk), 0);
	ck_assert_int_eq(close(open(file, O_WRONLY | O_CREAT, 0600)), 0);

	snprintf(cfg, sizeof(cfg),
		 "{\"allow\":{\"names\":[\"sh\"],\"output_dirs\":[\"%s\",\"/\"]}}", sub);
	ck_assert_msg(fl_agent_config_parse(&c, cfg, strlen(cfg), &err) == 0, "%s: %s", err.path,
		      err.msg);
	ck_assert_int_eq(c.n_output_dirs, 2);
	ck_assert_str_eq(c.output_dirs[0], sub);
	fl_agent_config_done(&c);
	{
		static const struct {
			const char *path, *says;
		} bad[] = {
		    {"$.allow.output_dirs[1]", "absolute"},
		    {"$.allow.output_dirs[1]", "No such file"},
		    {"$.allow.output_dirs[0]", "canonical"},
		    {"$.allow.output_dirs[0]", "canonical"},
		    {"$.allow.output_dirs[0]", "canonical"},
		    {"$.allow.output_dirs[0]", "not a directory"},
		    {"$.allow.output_dirs[0]", "non-empty"},
		    {"$.allow.output_dirs", "list"},
		};
		char list[FL_ARRAY_SIZE(bad)][600];

		snprintf(list[0], sizeof(list[0]), "[\"%s\",\"relative/dir\"]", sub);
		snprintf(list[1], sizeof(list[1]), "[\"%s\",\"%.200s/missing\"]", sub, dir);
		snprintf(list[2], sizeof(list[2]), "[\"%s/\"]", sub);
		snprintf(list[3], sizeof(list[3]), "[\"%.200s/d/../d\"]", dir);
		snprintf(list[4], sizeof(list[4]), "[\"%s\"]", lnk);
		snprintf(list[5], sizeof(list[5]), "[\"%s\"]", file);
		snprintf(list[6], sizeof(list[6]), "[\"\"]");
		snprintf(list[7], sizeof(list[7]), "\"%s\"", sub);
		for (size_t i = 0; i < FL_ARRAY_SIZE(bad); i++) {
			snprintf(cfg, sizeof(cfg), "{\"allow\":{\"output_dirs\":%.600s}}", list[i]);
			fl_error_init(&err);
			ck_assert_msg(fl_agent_config_parse(&c, cfg, strlen(cfg), &err) < 0,
				      "accepted %s", cfg);
			ck_assert_msg(!strcmp(err.path, bad[i].path), "%s: path %s, want %s", cfg,
				      err.path, bad[i].path);
			ck_assert_msg(strstr(err.msg, bad[i].says), "%s: message %s, want %s", cfg,
				      err.msg, bad[i].says);
		}
	}
	/* Only under allow: deny has nothing to say about files. */
	snprintf(cfg, sizeof(cfg), "{\"deny\":{\"output_dirs\":[\"%s\"]}}", sub);
	ck_assert_int_lt(fl_agent_config_parse(&c, cfg, strlen(cfg), &err), 0);
	ck_assert_str_eq(err.path, "$.deny.output_dirs");

	/* The policy: inside, outside, none, and no allow list at all. */
	snprintf(cfg, sizeof(cfg), "{\"allow\":{\"names\":[\"sh\"],\"output_dirs\":[\"%s\"]}}",
		 sub);
	ck_assert_int_eq(fl_agent_config_parse(&c, cfg, strlen(cfg), &err), 0);
	snprintf(out, sizeof(out), "%s/x.log", sub);
	ck_assert_int_eq(fl_agent_policy_command(&c, "/bin/sh", argv, out, &fd, &rel, &err), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(rel, "x.log");
	close(fd);
	fd = -1;
	snprintf(out, sizeof(out), "%.200s/x.log", dir);
	ck_assert_int_eq(fl_agent_policy_command(&c, "/bin/sh", argv, out, &fd, &rel, &err),
			 -EPERM);
	ck_assert_str_eq(err.path, "$.target.output");
	ck_assert_int_eq(fd, -1);
	snprintf(out, sizeof(out), "%.200s/l/x.log", dir); /* the same directory, through a link */
	ck_assert_int_eq(fl_agent_policy_command(&c, "/bin/sh", argv, out, &fd, &rel, &err),
			 -EPERM);
	ck_assert_int_eq(fl_agent_policy_command(&c, "/bin/sh", argv, NULL, &fd, &rel, &err), 0);
	ck_assert_int_eq(fd, -1);
	fl_agent_config_done(&c);
	fl_agent_config_init(&c);
	snprintf(out, sizeof(out), "%.200s/x.log", dir);
	ck_assert_int_eq(fl_agent_policy_command(&c, "/bin/sh", argv, out, &fd, &rel, &err), 0);
	ck_assert_int_eq(fd, -1);
	fl_agent_config_done(&c);
	unlink(lnk);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

static pid_t spawn(const char *comm)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, comm);
		for (;;)
			pause();
	}
	for (int i = 0; i < 2000; i++) {
		char st = 0;

		if (fl_proc_stat(pid, NULL, &st) == 0 && st == 'S')
			break;
		usleep(500);
	}
	return pid;
}

static char state_of(pid_t pid)
{
	char st = '-';

	if (fl_proc_stat(pid, NULL, &st) < 0)
		return '-';
	return st;
}

static char wait_state(pid_t pid, char want, int ms)
{
	for (int i = 0; i < ms * 2; i++) {
		if (state_of(pid) == want)
			break;
		usleep(500);
	}
	return state_of(pid);
}

START_TEST(policy_builtin_refusals)
{
	struct fl_agent_config c;
	struct fl_error err;
	pid_t child = spawn("fl-u-policy");
	const char *cfg = "{\"allow\":{\"names\":[\"fl-u-policy\"]},\"deny\":{\"uids\":[12345]}}";

	fl_agent_config_init(&c);
	ck_assert_int_eq(fl_agent_policy_check(&c, 1, &err), -EPERM);
	ck_assert_int_eq(fl_agent_policy_check(&c, getpid(), &err), -EPERM);
	ck_assert_int_eq(fl_agent_policy_check(&c, getppid(), &err), -EPERM);
	ck_assert_int_eq(fl_agent_policy_check(&c, child, &err), 0);
	ck_assert_int_eq(fl_agent_config_parse(&c, cfg, strlen(cfg), &err), 0);
	ck_assert_int_eq(fl_agent_policy_check(&c, child, &err), 0);
	fl_agent_config_done(&c);
	cfg = "{\"allow\":{\"names\":[\"someone-else\"]}}";
	ck_assert_int_eq(fl_agent_config_parse(&c, cfg, strlen(cfg), &err), 0);
	ck_assert_int_eq(fl_agent_policy_check(&c, child, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "allow-list"));
	fl_agent_config_done(&c);
	cfg = "{\"deny\":{\"names\":[\"fl-u-policy\"]}}";
	ck_assert_int_eq(fl_agent_config_parse(&c, cfg, strlen(cfg), &err), 0);
	ck_assert_int_eq(fl_agent_policy_check(&c, child, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "denied"));
	fl_agent_config_done(&c);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}
END_TEST

static void count_cb(const char *id, const cJSON *rec, const char *why, void *opaque)
{
	int *n = opaque;

	(void)id;
	(void)why;
	if (rec)
		(*n)++;
}

START_TEST(journal_roundtrip)
{
	char dir[] = "/tmp/fl-u-journal-XXXXXX", path[256];
	struct fl_journal j, j2;
	struct fl_error err;
	cJSON *rec = cJSON_Parse("{\"kind\":\"pause\",\"undo\":{}}");
	int n = 0, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(fl_journal_open(&j, dir, &err), 0);
	/* A second agent on the same state dir is refused. */
	ck_assert_int_eq(fl_journal_open(&j2, dir, &err), -EBUSY);
	ck_assert_int_eq(fl_journal_write(&j, "a", rec), 0);
	ck_assert_int_eq(fl_journal_write(&j, "b", rec), 0);
	ck_assert_int_eq(fl_journal_write(&j, "a", rec), 0); /* replace */
	ck_assert_int_eq(fl_journal_write(&j, "../x", rec), -EINVAL);
	/* A temp file from a crash mid-write is dropped, never read as live. */
	snprintf(path, sizeof(path), "%s/faults/.c.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fl_journal_each(&j, count_cb, &n), 2);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(fl_journal_remove(&j, "a"), 0);
	ck_assert_int_eq(fl_journal_remove(&j, "a"), 0);
	ck_assert_int_eq(fl_journal_count(&j), 1);
	ck_assert_int_eq(fl_journal_remove(&j, "b"), 0);
	ck_assert_int_eq(fl_journal_count(&j), 0);
	fl_journal_close(&j);
	cJSON_Delete(rec);
	snprintf(path, sizeof(path), "%s/faults", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/agent.lock", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

static struct fl_api_fault_req mkreq(const char *id, const char *kind, pid_t pid, uint64_t ttl)
{
	struct fl_api_fault_req r;
	char t[64];

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.experiment, sizeof(r.experiment), "exp");
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(t, sizeof(t), "{\"pid\":%d}", pid);
	r.target = cJSON_Parse(t);
	r.params = cJSON_CreateObject();
	r.ttl_ms = ttl;
	return r;
}

START_TEST(table_apply_lease_reconcile)
{
	char dir[] = "/tmp/fl-u-agent-XXXXXX";
	struct fl_agent_config cfg;
	struct fl_agent *a = NULL;
	struct fl_error err;
	struct fl_api_fault_req req;
	cJSON *resp = NULL, *list;
	pid_t child = spawn("fl-u-table");

	fl_log_setup(FL_LOG_KV, FL_LOG_ERROR);
	fl_agent_config_init(&cfg);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(fl_agent_new(dir, &cfg, &a, &err), 0);
	ck_assert_int_eq(fl_agent_reconcile(a), 0);
	ck_assert_int_eq(fl_agent_start(a), 0);

	req = mkreq("t1", "pause", child, 200);
	ck_assert_int_eq(fl_agent_apply(a, &req, &resp, &err), 0);
	ck_assert_int_eq(state_of(child), 'T');
	cJSON_Delete(resp);
	ck_assert_int_eq(fl_agent_apply(a, &req, &resp, &err), -EEXIST);
	fl_api_fault_req_done(&req);
	list = fl_agent_list(a, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(list, "faults")), 1);
	cJSON_Delete(list);
	/* The lease thread reverts at the deadline. */
	ck_assert_int_eq(wait_state(child, 'S', 1000), 'S');
	/* Resumed: the revert still removes the record, and the entry says so meanwhile. */
	for (int i = 0;; i++) {
		cJSON *fs;

		list = fl_agent_list(a, NULL);
		fs = cJSON_GetObjectItem(list, "faults");
		if (cJSON_GetArraySize(fs) == 0) {
			cJSON_Delete(list);
			break;
		}
		ck_assert_str_eq(
		    cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 0), "state")->valuestring,
		    "reverting");
		cJSON_Delete(list);
		ck_assert_int_lt(i, 1000);
		usleep(1000);
	}
	ck_assert_int_eq(fl_agent_revert(a, "t1", &resp, &err), 0); /* idempotent */
	cJSON_Delete(resp);
	ck_assert_int_eq(fl_agent_revert(a, "never", &resp, &err), -ENOENT);

	/* Unknown kinds and refused targets leave nothing behind. */
	req = mkreq("t2", "nope", child, 1000);
	ck_assert_int_eq(fl_agent_apply(a, &req, &resp, &err), -EINVAL);
	ck_assert_str_eq(err.path, "$.kind");
	fl_api_fault_req_done(&req);
	req = mkreq("t3", "pause", 1, 1000);
	ck_assert_int_eq(fl_agent_apply(a, &req, &resp, &err), -EPERM);
	fl_api_fault_req_done(&req);

	/* A live fault at "crash": write its record as the agent would, then reconcile. */
	req = mkreq("t4", "pause", child, 60000);
	ck_assert_int_eq(fl_agent_apply(a, &req, &resp, &err), 0);
	cJSON_Delete(resp);
	fl_api_fault_req_done(&req);
	ck_assert_int_eq(state_of(child), 'T');
	fl_agent_free(a); /* shutdown reverts */
	ck_assert_int_eq(wait_state(child, 'S', 1000), 'S');
	{
		struct fl_journal j;
		cJSON *rec;
		char r[512];

		/* Simulate the crash: a journal record of a pause that is in effect. */
		kill(child, SIGSTOP);
		ck_assert_int_eq(wait_state(child, 'T', 1000), 'T');
		{
			unsigned long long st;

			ck_assert_int_eq(fl_proc_stat(child, &st, NULL), 0);
			snprintf(r, sizeof(r),
				 "{\"id\":\"t5\",\"kind\":\"pause\",\"undo\":{\"kind\":\"pause\","
				 "\"method\":\"signal\",\"targets\":[{\"pid\":%d,\"start\":%llu,"
				 "\"was_stopped\":false}]}}",
				 child, st);
		}
		rec = cJSON_Parse(r);
		ck_assert_int_eq(fl_journal_open(&j, dir, &err), 0);
		ck_assert_int_eq(fl_journal_write(&j, "t5", rec), 0);
		fl_journal_close(&j);
		cJSON_Delete(rec);
	}
	ck_assert_int_eq(fl_agent_new(dir, &cfg, &a, &err), 0);
	ck_assert_int_eq(fl_agent_reconcile(a), 0);
	ck_assert_int_eq(wait_state(child, 'S', 1000), 'S');
	fl_agent_free(a);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/faults", dir);
		ck_assert_int_eq(rmdir(p), 0); /* empty */
		snprintf(p, sizeof(p), "%s/agent.lock", dir);
		unlink(p);
		rmdir(dir);
	}
}
END_TEST

/* Run every tagged JSON block of a doc through the code that reads it. */
static int doc_blocks(const char *rel, const char *tag,
		      void (*check)(const char *json, size_t len, const char *where))
{
	char path[1024], fence[64], *buf, *p;
	FILE *f;
	long n;
	int count = 0;

	snprintf(path, sizeof(path), "%s/%s", FL_SOURCE_DIR, rel);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	snprintf(fence, sizeof(fence), "```json %s\n", tag);
	for (p = strstr(buf, fence); p; p = strstr(p, fence)) {
		char *start = p + strlen(fence), *end = strstr(start, "```");
		char where[128];

		ck_assert_ptr_nonnull(end);
		snprintf(where, sizeof(where), "%s block %d", rel, count);
		check(start, (size_t)(end - start), where);
		count++;
		p = end;
	}
	free(buf);
	return count;
}

static void check_request(const char *json, size_t len, const char *where)
{
	struct fl_api_fault_req req;
	struct fl_error err;

	ck_assert_msg(fl_api_fault_req_parse(json, len, &req, &err) == 0, "%s: %s: %s", where,
		      err.path, err.msg);
	fl_api_fault_req_done(&req);
}

static void check_renew(const char *json, size_t len, const char *where)
{
	struct fl_error err;
	uint64_t ttl;

	ck_assert_msg(fl_api_renew_parse(json, len, &ttl, &err) == 0 && ttl > 0, "%s: %s", where,
		      err.msg);
}

static void check_config(const char *json, size_t len, const char *where)
{
	struct fl_agent_config c;
	struct fl_error err;

	ck_assert_msg(fl_agent_config_parse(&c, json, len, &err) == 0, "%s: %s: %s", where,
		      err.path, err.msg);
	fl_agent_config_done(&c);
}

static void check_fault(const char *json, size_t len, const char *where)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	const struct fl_fault_ops *ops;
	struct fl_error err;
	void *spec = NULL;

	ck_assert_msg(j != NULL, "%s: not JSON", where);
	ops = fl_fault_lookup(cJSON_GetObjectItem(j, "kind")->valuestring);
	ck_assert_msg(ops != NULL, "%s: unknown kind", where);
	ck_assert_msg(ops->parse(cJSON_GetObjectItem(j, "target"), cJSON_GetObjectItem(j, "params"),
				 &spec, &err) == 0,
		      "%s: %s: %s", where, err.path, err.msg);
	ops->free(spec);
	cJSON_Delete(j);
}

START_TEST(docs_examples_parse)
{
	ck_assert_int_ge(doc_blocks("docs/agent-api.md", "request", check_request), 1);
	ck_assert_int_ge(doc_blocks("docs/agent-api.md", "renew", check_renew), 1);
	ck_assert_int_ge(doc_blocks("docs/agent-api.md", "config", check_config), 1);
	ck_assert_int_ge(doc_blocks("docs/faults/process.md", "fault", check_fault), 4);
	ck_assert_int_ge(doc_blocks("docs/faults/resources.md", "fault", check_fault), 4);
	ck_assert_int_ge(doc_blocks("docs/faults/time.md", "fault", check_fault), 2);
	ck_assert_int_ge(doc_blocks("docs/faults/dns.md", "fault", check_fault), 3);
	ck_assert_int_ge(doc_blocks("docs/faults/stream.md", "fault", check_fault), 3);
}
END_TEST

Suite *fl_suite_agent_api(void)
{
	Suite *s = suite_create("agent_api");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fault_req_table);
	tcase_add_test(tc, fault_req_roundtrip_and_errors);
	tcase_add_test(tc, json_hygiene_table);
	tcase_add_test(tc, query_table);
	tcase_add_test(tc, http_status_mapping);
	tcase_add_test(tc, config_parse);
	tcase_add_test(tc, config_output_dirs);
	tcase_add_test(tc, policy_builtin_refusals);
	tcase_add_test(tc, journal_roundtrip);
	tcase_add_test(tc, table_apply_lease_reconcile);
	tcase_add_test(tc, docs_examples_parse);
	suite_add_tcase(s, tc);
	return s;
}
