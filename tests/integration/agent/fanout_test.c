/*
 * The controller's fault provider against real agents over HTTP: all-or-
 * nothing fan-out (one agent refuses -> nothing stays applied anywhere), the
 * embedded default agent, lease renewal while a fault should live, Chaos
 * Monkey picks with a recorded seed, and `faultline status` / `revert --all`.
 *   fanout_test CASE /path/to/faultline-agent
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/cmd_agents.h"
#include "controller/provider_fault.h"
#include "harness.h"

static const char *bin;

static void fault_activity(struct fl_activity *a, const char *kind, const char *target,
			   uint64_t duration_ms, char **agents)
{
	memset(a, 0, sizeof(*a));
	a->name = "inject";
	a->type = FL_ACTIVITY_ACTION;
	a->json_path = "$.method[0]";
	a->provider.type = FL_PROVIDER_FAULT;
	a->provider.kind = (char *)kind;
	a->provider.target_json = (char *)target;
	a->provider.params_json = "{}";
	a->provider.duration_ms = duration_ms;
	a->provider.agents = agents;
}

static int write_inventory(const char *path, struct t_agent **v, const char **names, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "{\"agents\":[");
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"%s{\"name\":\"%s\",\"address\":\"unix:%s\",\"token_file\":\"%s/token\"}",
			i ? "," : "", names[i], v[i]->sock, v[i]->dir);
	fprintf(f, "]}\n");
	fclose(f);
	return 0;
}

static int live_count(struct t_agent *a)
{
	cJSON *j = NULL;
	int n = -1;

	if (t_http(a, "GET", "/v1/faults", NULL, a->token, &j) == 200)
		n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "faults"));
	cJSON_Delete(j);
	return n;
}

static int case_no_partial(void)
{
	struct t_agent a, b;
	struct t_agent *v[2] = {&a, &b};
	const char *names[2] = {"alpha", "beta"};
	char inv[300], target[64];
	char name[16];
	pid_t s;
	struct fl_fault_session *fs = NULL;
	struct fl_fault_session_opts o = {.experiment_id = "fan-1"};
	struct fl_activity act;
	struct fl_error err;
	cJSON *res = NULL;
	int r;

	/* Names unique to this run: other test runs may share the machine. */
	snprintf(name, sizeof(name), "ff%d", (int)getpid());
	s = t_spawn(name);
	T_CHECK(t_agent_init(&a, bin) == 0 && t_agent_init(&b, bin) == 0, "init");
	T_CHECK(t_agent_config(&b, "{\"allow\":{\"names\":[\"nobody-else\"]}}") == 0, "config");
	T_CHECK(t_agent_start(&a) == 0 && t_agent_start(&b) == 0, "start");
	snprintf(inv, sizeof(inv), "%s/inventory.json", a.dir);
	T_CHECK(write_inventory(inv, v, names, 2) == 0, "inventory");
	o.inventory_path = inv;
	snprintf(target, sizeof(target), "{\"name\":\"%s\"}", name);
	fault_activity(&act, "pause", target, 60000, NULL);
	fl_error_init(&err);
	T_CHECK(fl_fault_session_new(NULL, &o, &fs, &err) == 0, "session: %s", err.msg);
	r = fl_fault_session_apply(fs, &act, &res, &err);
	fprintf(stderr, "refusal reported as: %s (%s)\n", err.msg, err.path);
	T_CHECK(r == -ECONNABORTED, "apply returned %d, want -ECONNABORTED", r);
	T_CHECK(strstr(err.msg, "beta") && strstr(err.msg, "allow-list"), "reason: %s", err.msg);
	T_CHECK(strstr(err.msg, "reverted on 1 of 1"), "rollback reported: %s", err.msg);
	T_CHECK(!strcmp(err.path, "$.method[0].provider.target"), "path %s", err.path);
	T_CHECK(res == NULL, "no result on refusal");
	T_CHECK(t_wait_state(s, "S", 1000) == 'S', "process left %c", t_state(s));
	T_CHECK(live_count(&a) == 0 && live_count(&b) == 0, "live faults left: %d %d",
		live_count(&a), live_count(&b));
	T_CHECK(t_journal_count(&a) == 0 && t_journal_count(&b) == 0, "journal records left");

	/* The same fault on alpha alone goes through; revert_all takes it back. */
	{
		char *only[] = {"alpha", NULL};

		fault_activity(&act, "pause", target, 60000, only);
		T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) == 0, "apply: %s", err.msg);
		T_CHECK(t_state(s) == 'T', "paused");
		T_CHECK(live_count(&a) == 1 && live_count(&b) == 0, "on alpha only");
		T_CHECK(fl_fault_session_revert_all(fs, &err) == 0, "revert_all: %s", err.msg);
		T_CHECK(t_wait_state(s, "S", 1000) == 'S', "resumed");
		T_CHECK(live_count(&a) == 0, "reverted on alpha");
		T_CHECK(fl_fault_session_revert_all(fs, &err) == 0, "second revert_all");
	}
	{
		char *unknown[] = {"gamma", NULL};

		cJSON_Delete(res);
		res = NULL;
		fault_activity(&act, "pause", target, 60000, unknown);
		T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) < 0, "unknown agent accepted");
	}
out:
	cJSON_Delete(res);
	fl_fault_session_free(fs);
	t_agent_done(&a);
	t_agent_done(&b);
	t_reap(s);
	return t_failed;
}

/* Our own children named faultline-agent (the embedded agent). */
static int embedded_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid = 0;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && strstr(buf, "(faultline-agen") &&
		    (p = strrchr(buf, ')')) && sscanf(p + 4, "%d", &ppid) == 1 &&
		    ppid == getpid() && p[2] != 'Z')
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

struct bg {
	struct fl_fault_session *fs;
	const struct fl_activity *act;
	cJSON *res;
	int r;
	struct fl_error err;
};

static void *bg_apply(void *p)
{
	struct bg *b = p;

	b->r = fl_fault_session_apply(b->fs, b->act, &b->res, &b->err);
	return NULL;
}

static int case_embedded(void)
{
	pid_t s = t_spawn("fl-embed");
	struct fl_fault_session *fs = NULL;
	struct fl_fault_session_opts o = {
	    .experiment_id = "embed run/1", .agent_binary = bin, .lease_ms = 300};
	struct fl_activity act;
	struct fl_error err;
	char target[64];
	cJSON *res = NULL;
	double t0;

	snprintf(target, sizeof(target), "{\"pid\":%d}", s);
	fl_error_init(&err);
	T_CHECK(fl_fault_session_new(NULL, &o, &fs, &err) == 0, "session");
	/*
	 * A short fault ends by its lease alone. It is applied from a thread that
	 * exits at once, as the runner's background activities do: the embedded
	 * agent started there must outlive that thread.
	 */
	fault_activity(&act, "pause", target, 250, NULL);
	{
		struct bg bg = {.fs = fs, .act = &act};
		pthread_t th;

		fl_error_init(&bg.err);
		T_CHECK(pthread_create(&th, NULL, bg_apply, &bg) == 0, "thread");
		pthread_join(th, NULL);
		res = bg.res;
		T_CHECK(bg.r == 0, "apply from a thread: %s", bg.err.msg);
	}
	usleep(100000);
	T_CHECK(embedded_children() == 1, "one embedded agent runs");
	T_CHECK(!strcmp(cJSON_GetObjectItem(
			    cJSON_GetArrayItem(cJSON_GetObjectItem(res, "agents"), 0), "agent")
			    ->valuestring,
			"local"),
		"went to the local agent");
	T_CHECK(t_state(s) == 'T', "paused");
	T_CHECK(t_wait_state(s, "S", 2000) == 'S', "ended with its duration");
	cJSON_Delete(res);
	res = NULL;
	/* A fault longer than the lease lives on through renewals, then ends. */
	fault_activity(&act, "pause", target, 1200, NULL);
	t0 = t_now_ms();
	T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) == 0, "apply: %s", err.msg);
	usleep(900000);
	T_CHECK(t_state(s) == 'T', "renewed past the 300 ms lease (%.0f ms)", t_now_ms() - t0);
	T_CHECK(t_wait_state(s, "S", 2000) == 'S', "ended");
	fprintf(stderr, "1200 ms fault with a 300 ms lease ended after %.0f ms\n", t_now_ms() - t0);
	T_CHECK(t_now_ms() - t0 < 1700, "ended late");
	cJSON_Delete(res);
	res = NULL;
	/* The end of the run reverts, and stops the embedded agent. */
	fault_activity(&act, "pause", target, 60000, NULL);
	T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) == 0, "apply: %s", err.msg);
	T_CHECK(t_state(s) == 'T', "paused");
	fl_fault_session_free(fs);
	fs = NULL;
	T_CHECK(t_wait_state(s, "S", 1000) == 'S', "resumed at the end of the run");
	T_CHECK(embedded_children() == 0, "embedded agent stopped");
out:
	cJSON_Delete(res);
	fl_fault_session_free(fs);
	t_reap(s);
	return t_failed;
}

static int case_monkey(void)
{
	struct t_agent a[3];
	struct t_agent *v[3] = {&a[0], &a[1], &a[2]};
	const char *names[3] = {"m0", "m1", "m2"};
	char inv[300];
	char name[16], t1[128], t2[128];
	pid_t s;
	struct fl_fault_session *fs = NULL;
	struct fl_fault_session_opts o = {.experiment_id = "monkey"};
	struct fl_activity act;
	struct fl_error err;
	cJSON *res = NULL;
	char first[64] = "";

	snprintf(name, sizeof(name), "fm%d", (int)getpid());
	snprintf(t1, sizeof(t1), "{\"name\":\"%s\",\"monkey\":{\"count\":1,\"seed\":7}}", name);
	snprintf(t2, sizeof(t2), "{\"name\":\"%s\",\"monkey\":{\"count\":0}}", name);
	s = t_spawn(name);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 3; i++)
		T_CHECK(t_agent_init(&a[i], bin) == 0 && t_agent_start(&a[i]) == 0, "agent %d", i);
	snprintf(inv, sizeof(inv), "%s/inventory.json", a[0].dir);
	T_CHECK(write_inventory(inv, v, names, 3) == 0, "inventory");
	o.inventory_path = inv;
	fl_error_init(&err);
	T_CHECK(fl_fault_session_new(NULL, &o, &fs, &err) == 0, "session");
	for (int round = 0; round < 2; round++) {
		const cJSON *agents;

		fault_activity(&act, "pause", t1, 60000, NULL);
		T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) == 0, "apply: %s", err.msg);
		agents = cJSON_GetObjectItem(res, "agents");
		T_CHECK(cJSON_GetArraySize(agents) == 1, "one agent picked");
		T_CHECK(!strcmp(cJSON_GetObjectItem(res, "monkey_seed")->valuestring, "7"),
			"seed recorded");
		if (round == 0)
			snprintf(first, sizeof(first), "%s",
				 cJSON_GetObjectItem(cJSON_GetArrayItem(agents, 0), "agent")
				     ->valuestring);
		else
			T_CHECK(!strcmp(first,
					cJSON_GetObjectItem(cJSON_GetArrayItem(agents, 0), "agent")
					    ->valuestring),
				"same seed, same pick");
		T_CHECK(fl_fault_session_revert_all(fs, &err) == 0, "revert");
		cJSON_Delete(res);
		res = NULL;
	}
	T_CHECK(t_wait_state(s, "S", 1000) == 'S', "resumed");
	fault_activity(&act, "pause", t2, 60000, NULL);
	T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) < 0, "bad monkey accepted");
	T_CHECK(!strcmp(err.path, "$.target.monkey.count"), "path %s", err.path);
out:
	cJSON_Delete(res);
	fl_fault_session_free(fs);
	for (int i = 0; i < 3; i++)
		t_agent_done(&a[i]);
	t_reap(s);
	return t_failed;
}

static int case_status_revert(void)
{
	struct t_agent a;
	pid_t s = t_spawn("fl-status");
	char addr[400], tok[300], body[256];

	T_CHECK(t_agent_init(&a, bin) == 0 && t_agent_start(&a) == 0, "agent");
	snprintf(addr, sizeof(addr), "unix:%s", a.sock);
	snprintf(tok, sizeof(tok), "%s/token", a.dir);
	snprintf(
	    body, sizeof(body),
	    "{\"id\":\"st1\",\"experiment\":\"e-1\",\"kind\":\"pause\",\"target\":{\"pid\":%d},"
	    "\"ttl_ms\":60000}",
	    s);
	T_CHECK(t_http(&a, "POST", "/v1/faults", body, a.token, NULL) == 201, "apply");
	{
		char *argv[] = {"status", "--agent", addr, "--token-file", tok, NULL};

		T_CHECK(fl_cmd_status(5, argv) == 0, "status");
	}
	{
		char *argv[] = {"status",	"--agent", "unix:/nonexistent/sock",
				"--token-file", tok,	   NULL};

		T_CHECK(fl_cmd_status(5, argv) == 1, "unreachable agent is exit 1");
	}
	{
		char *argv[] = {"status", NULL};

		T_CHECK(fl_cmd_status(1, argv) == 2, "no agents is usage");
	}
	{
		char *argv[] = {"revert", "--agent", addr, "--token-file", tok, NULL};

		T_CHECK(fl_cmd_revert(5, argv) == 2, "revert without --all is usage");
		T_CHECK(t_state(s) == 'T', "still paused");
	}
	{
		char *argv[] = {"revert", "--all", "--agent", addr, "--token-file", tok, NULL};

		T_CHECK(fl_cmd_revert(6, argv) == 0, "revert --all");
		T_CHECK(t_wait_state(s, "S", 1000) == 'S', "resumed by the big red button");
		T_CHECK(live_count(&a) == 0, "nothing live");
	}
out:
	t_agent_done(&a);
	t_reap(s);
	return t_failed;
}

/* fl_fault_session_describe: each agent's answer, a refusal included; nothing applied. */
static int case_describe(void)
{
	struct t_agent a, b;
	struct t_agent *v[2] = {&a, &b};
	const char *names[2] = {"alpha", "beta"};
	char inv[300], target[64], name[16], want[64];
	pid_t s;
	struct fl_fault_session *fs = NULL;
	struct fl_fault_session_opts o = {.experiment_id = "dry-1", .dry_run = true};
	struct fl_activity act;
	struct fl_error err;
	cJSON *res = NULL, *ag;
	const char *d;

	snprintf(name, sizeof(name), "fd%d", (int)getpid());
	s = t_spawn(name);
	T_CHECK(t_agent_init(&a, bin) == 0 && t_agent_init(&b, bin) == 0, "init");
	T_CHECK(t_agent_config(&b, "{\"allow\":{\"names\":[\"nobody-else\"]}}") == 0, "config");
	T_CHECK(t_agent_start(&a) == 0 && t_agent_start(&b) == 0, "start");
	snprintf(inv, sizeof(inv), "%s/inventory.json", a.dir);
	T_CHECK(write_inventory(inv, v, names, 2) == 0, "inventory");
	o.inventory_path = inv;
	snprintf(target, sizeof(target), "{\"name\":\"%s\"}", name);
	fault_activity(&act, "pause", target, 60000, NULL);
	fl_error_init(&err);
	T_CHECK(fl_fault_session_new(NULL, &o, &fs, &err) == 0, "session: %s", err.msg);
	T_CHECK(fl_fault_session_describe(fs, &act, &res, &err) == 0, "describe: %s", err.msg);
	T_CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(res, "agents")) == 2, "two answers");
	ag = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "agents"), 0);
	d = cJSON_GetStringValue(cJSON_GetObjectItem(ag, "description"));
	snprintf(want, sizeof(want), "on revert: kill -CONT %d", (int)s);
	T_CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ag, "agent")), "alpha") && d &&
		    strstr(d, want),
		"alpha's answer: %s", cJSON_PrintUnformatted(ag));
	ag = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "agents"), 1);
	T_CHECK(cJSON_GetObjectItem(ag, "status")->valueint == 403 &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ag, "code")), "forbidden") &&
		    strstr(cJSON_GetStringValue(cJSON_GetObjectItem(ag, "error")), "allow-list") &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ag, "path")),
			    "$.method[0].provider.target"),
		"beta's refusal: %s", cJSON_PrintUnformatted(ag));
	cJSON_Delete(res);
	res = NULL;
	/* A dry session's apply describes too: nothing is applied either way. */
	T_CHECK(fl_fault_session_apply(fs, &act, &res, &err) == 0, "dry apply: %s", err.msg);
	T_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(res, "dry_run")), "dry result");
	usleep(50000);
	T_CHECK(t_state(s) == 'S', "process %c", t_state(s));
	T_CHECK(live_count(&a) == 0 && live_count(&b) == 0, "live faults: %d %d", live_count(&a),
		live_count(&b));
	T_CHECK(t_journal_count(&a) == 0 && t_journal_count(&b) == 0, "journal records");
out:
	cJSON_Delete(res);
	fl_fault_session_free(fs);
	t_agent_done(&a);
	t_agent_done(&b);
	t_reap(s);
	return t_failed;
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    {"no_partial", case_no_partial}, {"embedded", case_embedded},
	    {"monkey", case_monkey},	     {"status_revert", case_status_revert},
	    {"describe", case_describe},
	};

	return t_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &bin);
}
