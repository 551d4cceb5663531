/*
 * Steady state under fire: the new experiment fields (probe providers load,
 * prometheus, tcp, running; mode and interval; SLO tolerances; abort), their
 * validation errors with JSON paths, SLO judgement over window summaries,
 * sample windows and percentiles, and the tcp/running probes against real
 * sockets and processes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/slo.h"
#include "experiments/experiment.h"
#include "experiments/internal.h"

static struct fl_experiment *parse_ok(const char *json)
{
	struct fl_errlist *errs = calloc(1, sizeof(*errs));
	struct fl_experiment *e = NULL;
	int r = fl_experiment_parse(json, strlen(json), NULL, &e, errs);

	ck_assert_msg(r == 0, "%s: %s", errs->n ? errs->v[0].path : "",
		      errs->n ? errs->v[0].msg : "no error recorded");
	free(errs);
	return e;
}

/* The experiment is refused with an error at `path` that contains `needle`. */
static void parse_refused(const char *json, const char *path, const char *needle)
{
	struct fl_errlist *errs = calloc(1, sizeof(*errs));
	struct fl_experiment *e = NULL;
	bool found = false;
	int r = fl_experiment_parse(json, strlen(json), NULL, &e, errs);

	ck_assert_int_ne(r, 0);
	ck_assert_ptr_null(e);
	for (size_t i = 0; i < errs->n; i++)
		if (!strcmp(errs->v[i].path, path) && strstr(errs->v[i].msg, needle))
			found = true;
	ck_assert_msg(found, "want error at %s containing \"%s\", got %zu (%s: %s)", path, needle,
		      errs->n, errs->n ? errs->v[0].path : "", errs->n ? errs->v[0].msg : "");
	free(errs);
}

#define HEAD "{\"title\":\"t\",\"steady-state-hypothesis\":{\"title\":\"h\",\"probes\":["
#define MID                                                                                        \
	"]},\"method\":[{\"type\":\"action\",\"name\":\"m\",\"provider\":{\"type\":\"process\","   \
	"\"path\":\"true\"}}]"
#define TAIL "}"

static const char full[] =
    HEAD "{\"type\":\"probe\",\"name\":\"load\",\"mode\":\"during\","
	 "\"tolerance\":{\"success_ratio\":{\"min\":0.998},\"latency\":{\"p95\":\"500ms\","
	 "\"p99\":750}},"
	 "\"provider\":{\"type\":\"load\",\"url\":\"http://127.0.0.1:1/\",\"rate\":50,"
	 "\"concurrency\":8,\"timeout\":2,\"expected_status\":200}},"
	 "{\"type\":\"probe\",\"name\":\"prom\",\"mode\":\"after\",\"tolerance\":[1,100],"
	 "\"provider\":{\"type\":\"prometheus\",\"url\":\"http://127.0.0.1:9090\","
	 "\"query\":\"sum(up)\"}},"
	 "{\"type\":\"probe\",\"name\":\"tcp\",\"mode\":\"on-fault\",\"interval\":\"200ms\","
	 "\"tolerance\":true,\"provider\":{\"type\":\"tcp\",\"host\":\"localhost\",\"port\":6379,"
	 "\"timeout\":\"300ms\"}},"
	 "{\"type\":\"probe\",\"name\":\"run\",\"tolerance\":[1,3],"
	 "\"provider\":{\"type\":\"running\",\"target\":{\"name\":\"redis-server\"}}}" MID
	 ",\"abort\":[{\"type\":\"probe\",\"name\":\"guard\",\"interval\":0.5,"
	 "\"tolerance\":{\"type\":\"slo\",\"success_ratio\":{\"min\":0.5},\"min_samples\":4},"
	 "\"provider\":{\"type\":\"http\",\"url\":\"http://127.0.0.1:1/\"}}]" TAIL;

START_TEST(parses_every_new_field)
{
	struct fl_experiment *e = parse_ok(full);
	const struct fl_activity *a = e->hypothesis.v;

	ck_assert_uint_eq(e->hypothesis.n, 4);
	ck_assert_int_eq(a[0].provider.type, FL_PROVIDER_LOAD);
	ck_assert_int_eq(a[0].mode, FL_MODE_DURING);
	ck_assert(a[0].provider.rate == 50);
	ck_assert_uint_eq(a[0].provider.concurrency, 8);
	ck_assert_uint_eq(a[0].provider.timeout_ms, 2000);
	ck_assert_int_eq(a[0].provider.expected_status, 200);
	ck_assert_str_eq(a[0].provider.url, "http://127.0.0.1:1/");
	ck_assert_int_eq(a[0].tolerance.type, FL_TOL_SLO);
	ck_assert(a[0].tolerance.slo_min_ratio == 0.998);
	ck_assert_uint_eq(a[0].tolerance.slo_latency_us[0], 0);
	ck_assert_uint_eq(a[0].tolerance.slo_latency_us[1], 500000);
	ck_assert_uint_eq(a[0].tolerance.slo_latency_us[2], 750000);
	ck_assert_int_eq(a[1].provider.type, FL_PROVIDER_PROMETHEUS);
	ck_assert_str_eq(a[1].provider.query, "sum(up)");
	ck_assert_int_eq(a[1].mode, FL_MODE_AFTER);
	ck_assert_int_eq(a[2].provider.type, FL_PROVIDER_TCP);
	ck_assert_uint_eq(a[2].provider.port, 6379);
	ck_assert_uint_eq(a[2].provider.timeout_ms, 300);
	ck_assert_int_eq(a[2].mode, FL_MODE_ON_FAULT);
	ck_assert_uint_eq(a[2].interval_ms, 200);
	ck_assert_int_eq(a[3].provider.type, FL_PROVIDER_RUNNING);
	ck_assert_int_eq(a[3].mode, FL_MODE_EDGE);
	ck_assert_uint_eq(a[3].interval_ms, FL_PROBE_INTERVAL_DEFAULT_MS);
	ck_assert_uint_eq(e->abort.n, 1);
	ck_assert_int_eq(e->abort.v[0].mode, FL_MODE_DURING);
	ck_assert_uint_eq(e->abort.v[0].interval_ms, 500);
	ck_assert_uint_eq(e->abort.v[0].tolerance.slo_min_samples, 4);
	ck_assert_str_eq(e->abort.v[0].json_path, "$.abort[0]");
	/* which phase runs what */
	ck_assert(!fl_probe_runs_in(&a[0], FL_MODE_BEFORE));
	ck_assert(!fl_probe_runs_in(&a[0], FL_MODE_AFTER));
	ck_assert(fl_probe_runs_in(&a[1], FL_MODE_AFTER));
	ck_assert(!fl_probe_runs_in(&a[1], FL_MODE_BEFORE));
	ck_assert(fl_probe_runs_in(&a[3], FL_MODE_BEFORE));
	ck_assert(fl_probe_runs_in(&a[3], FL_MODE_AFTER));
	ck_assert(fl_experiment_samples(e));
	ck_assert_str_eq(fl_provider_type_name(FL_PROVIDER_LOAD), "load");
	ck_assert_str_eq(fl_provider_type_name(FL_PROVIDER_RUNNING), "running");
	/* the journal's copy of the experiment keeps the abort list */
	ck_assert_ptr_nonnull(strstr(e->canonical_json, "\"abort\""));
	fl_experiment_free(e);
}
END_TEST

START_TEST(continuous_is_during)
{
	struct fl_experiment *e = parse_ok(
	    HEAD "{\"type\":\"probe\",\"name\":\"p\",\"mode\":\"continuous\",\"interval\":1,"
		 "\"tolerance\":0,\"provider\":{\"type\":\"process\",\"path\":\"true\"}}" MID TAIL);

	ck_assert_int_eq(e->hypothesis.v[0].mode, FL_MODE_DURING);
	ck_assert(fl_experiment_samples(e));
	fl_experiment_free(e);
	e = parse_ok(HEAD "{\"type\":\"probe\",\"name\":\"p\",\"tolerance\":0,"
			  "\"provider\":{\"type\":\"process\",\"path\":\"true\"}}" MID TAIL);
	ck_assert(!fl_experiment_samples(e));
	fl_experiment_free(e);
}
END_TEST

#define P(tol, prov)                                                                               \
	HEAD "{\"type\":\"probe\",\"name\":\"p\",\"tolerance\":" tol ",\"provider\":" prov         \
	     "}" MID TAIL
#define PM(extra, tol, prov)                                                                       \
	HEAD "{\"type\":\"probe\",\"name\":\"p\"," extra ",\"tolerance\":" tol                     \
	     ",\"provider\":" prov "}" MID TAIL
#define TRUEP "{\"type\":\"process\",\"path\":\"true\"}"

START_TEST(refusals_name_the_field)
{
	const char *p0 = "$.steady-state-hypothesis.probes[0]";
	char path[128];

#define AT(sfx) (snprintf(path, sizeof(path), "%s%s", p0, sfx), path)
	parse_refused(PM("\"mode\":\"sometimes\"", "0", TRUEP), AT(".mode"), "\"during\"");
	parse_refused(PM("\"interval\":1", "0", TRUEP), AT(".interval"), "needs mode");
	parse_refused(PM("\"mode\":\"during\",\"interval\":\"1ms\"", "0", TRUEP), AT(".interval"),
		      "shorter than");
	parse_refused(PM("\"mode\":\"during\",\"interval\":\"soon\"", "0", TRUEP), AT(".interval"),
		      "duration");
	parse_refused(P("{\"success_ratio\":{\"min\":1.5}}", TRUEP),
		      AT(".tolerance.success_ratio.min"), "between 0 and 1");
	parse_refused(P("{\"success_ratio\":0.99}", TRUEP), AT(".tolerance.success_ratio"),
		      "{\"min\": 0.99}");
	parse_refused(P("{\"latency\":{\"p90\":\"1s\"}}", TRUEP), AT(".tolerance.latency.p90"),
		      "p50, p95, p99");
	parse_refused(P("{\"latency\":{\"p95\":\"fast\"}}", TRUEP), AT(".tolerance.latency.p95"),
		      "latency bound");
	parse_refused(P("{\"type\":\"slo\"}", TRUEP), AT(".tolerance"), "success_ratio");
	parse_refused(P("{\"type\":\"slo\",\"success_ratio\":{\"min\":0.9},\"window\":3}", TRUEP),
		      AT(".tolerance.window"), "unknown key");
	parse_refused(P("{\"type\":\"slo\",\"latency\":{\"p99\":\"1s\"},\"min_samples\":0}", TRUEP),
		      AT(".tolerance.min_samples"), ">= 1");
	parse_refused(P("true", "{\"type\":\"load\",\"url\":\"http://x/\"}"), AT(".provider.rate"),
		      "missing");
	parse_refused(P("true", "{\"type\":\"load\",\"url\":\"http://x/\",\"rate\":0}"),
		      AT(".provider.rate"), "requests per second");
	parse_refused(P("true", "{\"type\":\"load\",\"url\":\"ftp://x/\",\"rate\":5}"),
		      AT(".provider.url"), "http://");
	parse_refused(P("true", "{\"type\":\"load\",\"url\":\"http://x/\",\"rate\":5,"
				"\"concurrency\":0}"),
		      AT(".provider.concurrency"), "in flight");
	parse_refused(PM("\"mode\":\"on-fault\"", "true",
			 "{\"type\":\"load\",\"url\":\"http://x/\",\"rate\":5}"),
		      AT(".mode"), "sampled probes");
	parse_refused(P("true", "{\"type\":\"tcp\",\"host\":\"h\",\"port\":70000}"),
		      AT(".provider.port"), "1 to 65535");
	parse_refused(P("true", "{\"type\":\"tcp\",\"host\":\"h\",\"port\":\"80x\"}"),
		      AT(".provider.port"), "1 to 65535");
	parse_refused(P("true", "{\"type\":\"tcp\",\"host\":\"a b\",\"port\":1}"),
		      AT(".provider.host"), "host name");
	parse_refused(P("true", "{\"type\":\"tcp\",\"port\":1}"), AT(".provider.host"), "missing");
	parse_refused(P("true", "{\"type\":\"prometheus\",\"url\":\"http://p\"}"),
		      AT(".provider.query"), "PromQL");
	parse_refused(P("true", "{\"type\":\"prometheus\",\"url\":\"p:9090\",\"query\":\"up\"}"),
		      AT(".provider.url"), "http://");
	parse_refused(P("1", "{\"type\":\"running\",\"target\":{\"name\":\"a\",\"pid\":3}}"),
		      AT(".provider.target"), "exactly one");
	parse_refused(P("1", "{\"type\":\"running\",\"target\":{\"user\":\"a\"}}"),
		      AT(".provider.target.user"), "unknown key");
	parse_refused(P("1", "{\"type\":\"running\",\"target\":\"redis\"}"), AT(".provider.target"),
		      "expected an object");
	/* mode belongs to hypothesis probes; abort probes are always sampled */
	parse_refused("{\"title\":\"t\",\"method\":[{\"type\":\"probe\",\"name\":\"m\",\"mode\":"
		      "\"during\",\"provider\":" TRUEP "}]}",
		      "$.method[0].mode", "only steady-state hypothesis probes");
	parse_refused("{\"title\":\"t\",\"method\":[{\"type\":\"action\",\"name\":\"m\","
		      "\"provider\":" TRUEP "}],\"abort\":[{\"type\":\"probe\",\"name\":\"a\","
		      "\"mode\":\"after\",\"tolerance\":0,\"provider\":" TRUEP "}]}",
		      "$.abort[0].mode", "always run during");
	parse_refused("{\"title\":\"t\",\"method\":[{\"type\":\"action\",\"name\":\"m\","
		      "\"provider\":" TRUEP "}],\"abort\":[{\"type\":\"probe\",\"name\":\"a\","
		      "\"provider\":" TRUEP "}]}",
		      "$.abort[0].tolerance", "missing");
	parse_refused("{\"title\":\"t\",\"method\":[{\"type\":\"action\",\"name\":\"m\","
		      "\"provider\":" TRUEP "}],\"abort\":[{\"type\":\"action\",\"name\":\"a\","
		      "\"provider\":" TRUEP "}]}",
		      "$.abort[0].type", "probes only");
	parse_refused("{\"title\":\"t\",\"method\":[{\"type\":\"action\",\"name\":\"m\","
		      "\"provider\":" TRUEP "}],\"abort\":{}}",
		      "$.abort", "list of activities");
#undef AT
	{
		/* a port from the environment is a string of digits */
		struct fl_experiment *e =
		    parse_ok(P("true", "{\"type\":\"tcp\",\"host\":\"h\",\"port\":\"6379\"}"));

		ck_assert_uint_eq(e->hypothesis.v[0].provider.port, 6379);
		fl_experiment_free(e);
	}
}
END_TEST

static bool judge(const char *tol, enum fl_provider_type pt, const char *result, char *why,
		  size_t whylen)
{
	struct fl_errlist errs = {0};
	struct fl_tolerance t;
	cJSON *tj = cJSON_Parse(tol), *rj = cJSON_Parse(result);
	bool ok;

	ck_assert_ptr_nonnull(tj);
	ck_assert_ptr_nonnull(rj);
	ck_assert_int_eq(fl_tolerance_parse(tj, "$.t", &t, &errs), 0);
	ok = fl_tolerance_check(&t, pt, rj, why, whylen);
	fl_tolerance_done(&t);
	cJSON_Delete(tj);
	cJSON_Delete(rj);
	return ok;
}

#define SUM(n, ok, p50, p95, p99)                                                                  \
	"{\"samples\":" #n ",\"succeeded\":" #ok ",\"failed\":0,\"latency_ms\":{\"p50\":" #p50     \
	",\"p95\":" #p95 ",\"p99\":" #p99 "}}"

START_TEST(slo_judges_the_window)
{
	const char *ratio = "{\"success_ratio\":{\"min\":0.998}}";
	const char *lat = "{\"latency\":{\"p95\":\"500ms\",\"p99\":\"1s\"}}";
	char why[256];

	ck_assert(judge(ratio, FL_PROVIDER_LOAD, SUM(1000, 998, 1, 2, 3), why, sizeof(why)));
	ck_assert(!judge(ratio, FL_PROVIDER_LOAD, SUM(1000, 997, 1, 2, 3), why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "997 of 1000 samples"));
	ck_assert(judge(lat, FL_PROVIDER_LOAD, SUM(10, 0, 1, 500, 1000), why, sizeof(why)));
	ck_assert(!judge(lat, FL_PROVIDER_LOAD, SUM(10, 10, 1, 501, 2), why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "p95 latency 501.0ms is over 500ms"));
	ck_assert(!judge(lat, FL_PROVIDER_LOAD, SUM(10, 10, 1, 2, 1000.5), why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "p99"));
	/* no samples, or fewer than asked: not met */
	ck_assert(
	    !judge(ratio, FL_PROVIDER_LOAD, "{\"samples\":0,\"succeeded\":0}", why, sizeof(why)));
	ck_assert(!judge("{\"success_ratio\":{\"min\":0},\"min_samples\":5}", FL_PROVIDER_HTTP,
			 SUM(4, 4, 1, 1, 1), why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "at least 5"));
	/* a latency bound with no latency measured is not met */
	ck_assert(
	    !judge(lat, FL_PROVIDER_LOAD, "{\"samples\":3,\"succeeded\":3}", why, sizeof(why)));
	/* a plain result is a window of one sample */
	ck_assert(
	    judge(ratio, FL_PROVIDER_HTTP, "{\"status\":200,\"elapsed_ms\":3}", why, sizeof(why)));
	ck_assert(
	    !judge(ratio, FL_PROVIDER_HTTP, "{\"status\":503,\"elapsed_ms\":3}", why, sizeof(why)));
	ck_assert(
	    !judge(lat, FL_PROVIDER_HTTP, "{\"status\":200,\"elapsed_ms\":600}", why, sizeof(why)));
	ck_assert(judge(ratio, FL_PROVIDER_PROCESS, "{\"status\":0}", why, sizeof(why)));
	ck_assert(!judge(ratio, FL_PROVIDER_PROCESS, "{\"status\":1}", why, sizeof(why)));
	ck_assert(judge(ratio, FL_PROVIDER_TCP, "true", why, sizeof(why)));
	ck_assert(!judge(ratio, FL_PROVIDER_TCP, "false", why, sizeof(why)));
	ck_assert(!judge(ratio, FL_PROVIDER_RUNNING, "0", why, sizeof(why)));
}
END_TEST

START_TEST(window_percentiles)
{
	struct fl_slo_window w;
	uint32_t v[100];
	cJSON *s;

	for (unsigned i = 0; i < 100; i++)
		v[i] = i + 1;
	/* nearest rank: p50 of 1..100 is 50, p95 is 95, p99 is 99, p100 is 100 */
	ck_assert_uint_eq(fl_slo_percentile(v, 100, 50), 50);
	ck_assert_uint_eq(fl_slo_percentile(v, 100, 95), 95);
	ck_assert_uint_eq(fl_slo_percentile(v, 100, 99), 99);
	ck_assert_uint_eq(fl_slo_percentile(v, 100, 100), 100);
	ck_assert_uint_eq(fl_slo_percentile(v, 1, 99), 1);
	ck_assert_uint_eq(fl_slo_percentile(v, 0, 99), 0);

	fl_slo_window_init(&w);
	for (unsigned i = 0; i < 1000; i++) /* 1 in 100 fails, latencies 1..1000 ms shuffled */
		fl_slo_window_add(&w, i % 100 != 7, (uint64_t)((i * 7919) % 1000 + 1) * 1000);
	s = fl_slo_window_summary(&w);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "samples")), 1000);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "succeeded")), 990);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "failed")), 10);
	ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "success_ratio")) == 0.99);
	ck_assert(cJSON_GetNumberValue(
		      cJSON_GetObjectItem(cJSON_GetObjectItem(s, "latency_ms"), "p95")) == 950);
	ck_assert(cJSON_GetNumberValue(
		      cJSON_GetObjectItem(cJSON_GetObjectItem(s, "latency_ms"), "max")) == 1000);
	cJSON_Delete(s);
	fl_slo_window_done(&w);
	/* an empty window has no ratio and no latencies */
	fl_slo_window_init(&w);
	s = fl_slo_window_summary(&w);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(s, "success_ratio")));
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "latency_ms"), "p50"));
	cJSON_Delete(s);
	fl_slo_window_done(&w);
}
END_TEST

START_TEST(tcp_probe_real_sockets)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct fl_provider p = {
	    .type = FL_PROVIDER_TCP, .host = (char *)"127.0.0.1", .timeout_ms = 1000};
	struct fl_call_opts co = {.cancel_fd = -1};
	struct fl_error err;
	cJSON *res = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	p.port = ntohs(a.sin_port);
	fl_error_init(&err);
	ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert(cJSON_IsTrue(res));
	cJSON_Delete(res);
	close(fd); /* now nothing listens there: refused */
	ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert(cJSON_IsFalse(res));
	ck_assert_ptr_nonnull(strstr(err.msg, "refused"));
	cJSON_Delete(res);
	p.host = (char *)"no-such-host.invalid";
	ck_assert_int_lt(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert_ptr_null(res);
}
END_TEST

START_TEST(running_probe_counts_processes)
{
	struct fl_provider p = {.type = FL_PROVIDER_RUNNING};
	struct fl_call_opts co = {.cancel_fd = -1};
	struct fl_error err;
	char t[64];
	cJSON *res = NULL;

	snprintf(t, sizeof(t), "{\"pid\":%d}", (int)getpid());
	p.target_json = t;
	fl_error_init(&err);
	ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert_int_eq((int)cJSON_GetNumberValue(res), 1);
	cJSON_Delete(res);
	p.target_json = (char *)"{\"name\":\"no-such-proc-x\"}";
	ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert_int_eq((int)cJSON_GetNumberValue(res), 0);
	cJSON_Delete(res);
	p.target_json = (char *)"{\"pidfile\":\"/nonexistent/x.pid\"}";
	ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
	ck_assert_int_eq((int)cJSON_GetNumberValue(res), 0);
	cJSON_Delete(res);
	/* this process by its pidfile and by its name (/proc/self/comm) */
	{
		char pf[] = "/tmp/fl-slo-pid.XXXXXX", comm[32] = "", tj[128];
		int fd = mkstemp(pf);
		FILE *f = fopen("/proc/self/comm", "r");

		ck_assert_int_ge(fd, 0);
		ck_assert_int_gt(dprintf(fd, "%d\n", (int)getpid()), 0);
		close(fd);
		snprintf(tj, sizeof(tj), "{\"pidfile\":\"%s\"}", pf);
		p.target_json = tj;
		ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
		ck_assert_int_eq((int)cJSON_GetNumberValue(res), 1);
		cJSON_Delete(res);
		unlink(pf);
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(comm, sizeof(comm), f));
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(tj, sizeof(tj), "{\"name\":\"%s\"}", comm);
		ck_assert_int_eq(fl_probe_run(&p, &co, &res, &err), 0);
		ck_assert_int_ge((int)cJSON_GetNumberValue(res), 1);
		cJSON_Delete(res);
	}
}
END_TEST

/* The value a prometheus probe takes from a /api/v1/query answer (as the http provider hands it).
 */
static cJSON *prom(const char *body, int *ret)
{
	cJSON *resp = cJSON_CreateObject(), *res = NULL;
	struct fl_error err;

	cJSON_AddNumberToObject(resp, "status", 200);
	cJSON_AddStringToObject(resp, "body", body);
	fl_error_init(&err);
	*ret = fl_probe_prometheus_answer(resp, "http://p:9090", &res, &err);
	cJSON_Delete(resp);
	return res;
}

START_TEST(prometheus_answer_values)
{
	cJSON *v;
	int r;

	/* scalar */
	v = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		 "\"result\":[1700000000.1,\"2.5\"]}}",
		 &r);
	ck_assert_int_eq(r, 0);
	ck_assert(cJSON_IsNumber(v) && v->valuedouble == 2.5);
	cJSON_Delete(v);
	/* instant vector: the first series' value */
	v = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		 "{\"metric\":{\"kind\":\"pause\"},\"value\":[1700000000,\"3\"]},"
		 "{\"metric\":{\"kind\":\"kill\"},\"value\":[1700000000,\"9\"]}]}}",
		 &r);
	ck_assert_int_eq(r, 0);
	ck_assert(cJSON_IsNumber(v) && v->valuedouble == 3);
	cJSON_Delete(v);
	/* empty vector and non-finite values: null, so a numeric tolerance is not met */
	v = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", &r);
	ck_assert_int_eq(r, 0);
	ck_assert(cJSON_IsNull(v));
	cJSON_Delete(v);
	v = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		 "\"result\":[1700000000,\"NaN\"]}}",
		 &r);
	ck_assert_int_eq(r, 0);
	ck_assert(cJSON_IsNull(v));
	cJSON_Delete(v);
	/* a range vector, an error answer, something else: probe failures */
	v = prom("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", &r);
	ck_assert_int_eq(r, -EPROTO);
	ck_assert_ptr_null(v);
	v = prom("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error\"}", &r);
	ck_assert_int_eq(r, -EPROTO);
	ck_assert_ptr_null(v);
	v = prom("<html>not prometheus</html>", &r);
	ck_assert_int_eq(r, -EPROTO);
	ck_assert_ptr_null(v);
}
END_TEST

/* Every example in experiments/examples validates with its defaults (no environment needed). */
START_TEST(examples_validate)
{
	DIR *d = opendir(FL_SOURCE_DIR "/experiments/examples");
	struct dirent *de;
	unsigned n = 0, sampled = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		struct fl_errlist *errs = calloc(1, sizeof(*errs));
		struct fl_experiment *e = NULL;
		char path[512];
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 5, ".json")) {
			free(errs);
			continue;
		}
		snprintf(path, sizeof(path), "%s/experiments/examples/%s", FL_SOURCE_DIR,
			 de->d_name);
		ck_assert_msg(fl_experiment_load(path, NULL, &e, errs) == 0, "%s: %s: %s", path,
			      errs->n ? errs->v[0].path : "", errs->n ? errs->v[0].msg : "");
		n++;
		sampled += fl_experiment_samples(e);
		fl_experiment_free(e);
		free(errs);
	}
	closedir(d);
	ck_assert_uint_ge(n, 7);
	ck_assert_uint_ge(sampled, 5); /* nginx, redis, etcd x2, abort */
}
END_TEST

Suite *fl_suite_slo(void)
{
	Suite *s = suite_create("slo");
	TCase *tc = tcase_create("slo");

	tcase_add_test(tc, parses_every_new_field);
	tcase_add_test(tc, continuous_is_during);
	tcase_add_test(tc, refusals_name_the_field);
	tcase_add_test(tc, slo_judges_the_window);
	tcase_add_test(tc, window_percentiles);
	tcase_add_test(tc, tcp_probe_real_sockets);
	tcase_add_test(tc, running_probe_counts_processes);
	tcase_add_test(tc, prometheus_answer_values);
	tcase_add_test(tc, examples_validate);
	suite_add_tcase(s, tc);
	return s;
}
