/*
 * Reports for people and run events (docs/report.md): the timestamps a
 * journal may hold, a sampled window over time (buckets judged alone by the
 * tolerance), the HTML and markdown renderers on hostile and broken
 * journals, the live statistics' quantiles and the metrics address grammar.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics.h"
#include "controller/probe_stats.h"
#include "controller/report_model.h"
#include "controller/report_render.h"
#include "controller/slo.h"
#include "core/duration.h"

START_TEST(parse_time_forms)
{
	static const struct {
		const char *s;
		int64_t ms; /* -1: refused */
	} cases[] = {
	    {"2026-01-02T03:04:05.678Z", 1767323045678},
	    {"2026-01-02T03:04:05Z", 1767323045000},
	    {"2026-01-02t03:04:05.6z", 1767323045600},
	    {"2026-01-02 03:04:05.123456", 1767323045123}, /* Chaos Toolkit: no zone, UTC */
	    {"2026-01-02T04:04:05+01:00", 1767323045000},
	    {"2026-01-02T02:34:05-00:30", 1767323045000},
	    {"2026-01-02T03:04:05.", -1},
	    {"2026-13-02T03:04:05Z", -1},
	    {"2026-01-02T24:04:05Z", -1},
	    {"2026-01-02T03:04:05Zjunk", -1},
	    {"2026-01-02T03:04:05+0100", -1},
	    {"1969-12-31T23:59:59Z", -1},
	    {"2026-01-02", -1},
	    {"", -1},
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = fl_report_parse_time(cases[i].s, &ms);

		if (cases[i].ms < 0)
			ck_assert_msg(r < 0, "%s accepted", cases[i].s);
		else
			ck_assert_msg(r == 0 && ms == cases[i].ms, "%s: %d %lld", cases[i].s, r,
				      (long long)ms);
	}
	ck_assert_int_lt(fl_report_parse_time(NULL, &ms), 0);
}
END_TEST

/* A window of samples started at known times: 1 s of fast successes, 1 s of slow failures. */
static void fill(struct fl_slo_window *w)
{
	fl_slo_window_init(w);
	for (int i = 0; i < 10; i++)
		fl_slo_window_add_at(w, true, 2000, w->origin_us + (uint64_t)i * 100000);
	for (int i = 10; i < 20; i++)
		fl_slo_window_add_at(w, i % 2 == 0, 400000, w->origin_us + (uint64_t)i * 100000);
}

START_TEST(series_buckets_judged_alone)
{
	struct fl_tolerance tol = {.type = FL_TOL_SLO,
				   .slo_min_ratio = 0.9,
				   .slo_latency_us = {0, 100000, 0},
				   .slo_min_samples = 100};
	struct fl_slo_window w;
	const cJSON *b, *bs;
	cJSON *s;
	int n = 0, bad = 0;

	fill(&w);
	s = fl_slo_window_series(&w, 2000, 100, &tol, FL_PROVIDER_HTTP);
	ck_assert_ptr_nonnull(s);
	/* 2 s, at most 120 buckets, no finer than the 100 ms interval: 100 ms buckets */
	ck_assert_double_eq(cJSON_GetObjectItem(s, "bucket")->valuedouble, 0.1);
	ck_assert_double_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(s, "tolerance"), "success_ratio")->valuedouble,
	    0.9);
	ck_assert_double_eq(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(s, "tolerance"), "latency_ms"), "p95")
		->valuedouble,
	    100);
	bs = cJSON_GetObjectItem(s, "buckets");
	ck_assert_int_eq(cJSON_GetArraySize(bs), 20);
	cJSON_ArrayForEach(b, bs)
	{
		double t = cJSON_GetObjectItem(b, "t")->valuedouble;
		bool ok = cJSON_IsTrue(cJSON_GetObjectItem(b, "ok"));

		ck_assert_double_eq(cJSON_GetObjectItem(b, "samples")->valuedouble, 1);
		/* min_samples (100) aside: each bucket is judged on what it has */
		ck_assert_msg(ok == (t < 0.95), "bucket at %g judged %d", t, ok);
		bad += !ok;
		n++;
	}
	ck_assert_int_eq(bad, 10);
	cJSON_Delete(s);

	/* A plain tolerance: a bucket holds when none of its samples failed. */
	tol = (struct fl_tolerance){.type = FL_TOL_INT, .i = 200};
	s = fl_slo_window_series(&w, 4000, 1000, &tol, FL_PROVIDER_HTTP);
	ck_assert_ptr_nonnull(s);
	ck_assert(
	    cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "tolerance"), "every_sample")));
	bs = cJSON_GetObjectItem(s, "buckets");
	ck_assert_int_eq(cJSON_GetArraySize(bs), 4); /* 1 s buckets over 4 s */
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(bs, 0), "ok")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(bs, 1), "ok")));
	ck_assert_double_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(bs, 1), "success_ratio")->valuedouble, 0.5);
	/* no sample started in the last two seconds: no ratio, no verdict */
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(bs, 3), "ok"));
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(bs, 3), "success_ratio"));
	cJSON_Delete(s);
	fl_slo_window_done(&w);
}
END_TEST

static char *html_of(const char *journal_text, int n)
{
	cJSON *j = cJSON_Parse(journal_text);
	struct fl_report_input in[2] = {{.journal = j, .name = "<j>.json"}, {.journal = j}};
	struct fl_buf b;
	char *s;

	ck_assert_ptr_nonnull(j);
	fl_buf_init(&b, FL_REPORT_OUT_MAX);
	ck_assert_int_eq(fl_report_html_render(in, (size_t)n, &b), 0);
	s = fl_buf_steal(&b);
	cJSON_Delete(j);
	return s;
}

START_TEST(html_escapes_journal_strings)
{
	char *h = html_of("{\"experiment\": {\"title\": \"<script>alert('x')</script> & co\"},"
			  " \"status\": \"completed\", \"reason\": \"a\\\"b\\u0001\"}",
			  1);

	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_nonnull(
	    strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
	ck_assert_ptr_nonnull(strstr(h, "a&quot;b\xef\xbf\xbd"));
	ck_assert_ptr_nonnull(strstr(h, "&lt;j&gt;.json"));
	ck_assert_ptr_nonnull(strstr(h, "Content-Security-Policy\" content=\"default-src 'none'"));
	free(h);
	/* invalid UTF-8 becomes U+FFFD, not a broken page */
	h = html_of("{\"experiment\": {\"title\": \"a\xff\xc3(b\"}}", 1);
	ck_assert_ptr_nonnull(strstr(h, "a\xef\xbf\xbd\xef\xbf\xbd(b"));
	free(h);
}
END_TEST

START_TEST(model_of_broken_journals)
{
	static const char *const journals[] = {
	    "{}",
	    "[]",
	    "{\"status\": 5, \"run\": {}, \"steady_states\": []}",
	    "{\"start\": \"2026-01-02T03:04:05Z\", \"run\": [{\"start\": \"x\"}, null, "
	    "{\"activity\": {\"provider\": {\"type\": \"fault\"}}, \"status\": \"succeeded\", "
	    "\"output\": {\"agents\": [{\"applied\": {}}]}}]}",
	    "{\"start\": \"2026-01-02T03:04:05Z\", \"duration\": -5, \"steady_states\": "
	    "{\"during\": [{\"start\": \"2026-01-02T03:04:06Z\", \"series\": {\"bucket\": 0}}]}}",
	};
	for (size_t i = 0; i < sizeof(journals) / sizeof(journals[0]); i++) {
		cJSON *j = cJSON_Parse(journals[i]);
		struct fl_report_model m;
		char *h;

		ck_assert_int_eq(fl_report_model_init(&m, j), 0);
		ck_assert(m.span > 0);
		fl_report_model_done(&m);
		cJSON_Delete(j);
		h = html_of(journals[i], 2);
		ck_assert_ptr_nonnull(strstr(h, "</html>"));
		/* the one fault of journals[3], counted in words that agree with it */
		ck_assert_ptr_nonnull(strstr(h, i == 3 ? "1 fault live," : "0 faults live,"));
		free(h);
	}
}
END_TEST

START_TEST(verdict_words)
{
	static const struct {
		const char *j, *cls;
		int code;
	} cases[] = {
	    {"{\"status\": \"completed\", \"steady_states\": {\"before\": {}}}", "held", 0},
	    {"{\"status\": \"failed\", \"deviated\": true}", "deviated", 1},
	    {"{\"status\": \"aborted\"}", "aborted", 1},
	    {"{\"status\": \"interrupted\", \"exit_code\": 3}", "interrupted", 3},
	    {"{\"status\": \"aborted\", \"preflight\": {\"ok\": false}}", "aborted", 2},
	    {"{}", "unknown", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].j);
		struct fl_report_model m;

		ck_assert_int_eq(fl_report_model_init(&m, j), 0);
		ck_assert_str_eq(m.verdict_class, cases[i].cls);
		ck_assert_int_eq(m.exit_code, cases[i].code);
		fl_report_model_done(&m);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(markdown_escapes)
{
	cJSON *j = cJSON_Parse("{\"experiment\": {\"title\": \"a|b <i>x</i> *y*\"}, "
			       "\"reason\": \"- not a list\\nsecond line\"}");
	struct fl_report_input in = {.journal = j};
	struct fl_buf b;

	fl_buf_init(&b, FL_REPORT_OUT_MAX);
	ck_assert_int_eq(fl_report_md_render(&in, 1, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "a\\|b &lt;i&gt;x&lt;/i&gt; \\*y\\*"));
	ck_assert_ptr_nonnull(strstr(b.data, "> \\- not a list second line\n"));
	fl_buf_done(&b);
	cJSON_Delete(j);
}
END_TEST

START_TEST(stats_quantiles)
{
	struct fl_probe_stats s;

	fl_probe_stats_init(&s);
	ck_assert(isnan(fl_probe_stats_quantile_ms(&s, 0.95)));
	/* 1..1000 ms */
	for (uint64_t i = 1; i <= 1000; i++)
		fl_probe_stats_add(&s, i % 10 != 0, i * 1000);
	ck_assert_uint_eq(s.n, 1000);
	ck_assert_uint_eq(s.ok, 900);
	ck_assert_double_eq_tol(fl_probe_stats_quantile_ms(&s, 0.95), 950, 950 * 0.03);
	ck_assert_double_eq_tol(fl_probe_stats_quantile_ms(&s, 0.5), 500, 500 * 0.03);
	ck_assert_double_eq_tol(fl_probe_stats_quantile_ms(&s, 1), 1000, 1000 * 0.03);
	ck_assert_uint_le(fl_probe_stats_count_le(&s, 100000), 100);
	ck_assert_uint_ge(fl_probe_stats_count_le(&s, 100000), 97);
	ck_assert_uint_eq(fl_probe_stats_count_le(&s, UINT32_MAX), 1000);
	/* small latencies are exact */
	fl_probe_stats_init(&s);
	fl_probe_stats_add(&s, true, 7);
	ck_assert_double_eq(fl_probe_stats_quantile_ms(&s, 0.5), 0.007);
}
END_TEST

START_TEST(metrics_addresses)
{
	static const char *const good[] = {"127.0.0.1:9464", "localhost:0", ":9464", "[::1]:9464",
					   "0.0.0.0:65535"};
	static const char *const bad[] = {
	    "127.0.0.1", "host.example:80", "127.0.0.1:65536", "[::1]", ":x",
	    "::1:80",	 "127.0.0.1:-1",    "[::1]x:80",       "",	"127.0.0.1:80 "};
	struct sockaddr_storage ss;
	struct fl_error err;
	socklen_t len;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(fl_metrics_addr_parse(good[i], &ss, &len, &err) == 0, "%s refused",
			      good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(fl_metrics_addr_parse(bad[i], &ss, &len, &err) < 0, "%s accepted",
			      bad[i]);
		ck_assert_ptr_nonnull(strstr(err.msg, "--metrics-listen"));
	}
}
END_TEST

Suite *fl_suite_report_view(void);
Suite *fl_suite_report_view(void)
{
	Suite *s = suite_create("report_view");
	TCase *tc = tcase_create("report_view");

	tcase_add_test(tc, parse_time_forms);
	tcase_add_test(tc, series_buckets_judged_alone);
	tcase_add_test(tc, html_escapes_journal_strings);
	tcase_add_test(tc, model_of_broken_journals);
	tcase_add_test(tc, verdict_words);
	tcase_add_test(tc, markdown_escapes);
	tcase_add_test(tc, stats_quantiles);
	tcase_add_test(tc, metrics_addresses);
	suite_add_tcase(s, tc);
	return s;
}
