/*
 * The markdown report (controller/report_render.h), for a pull-request or
 * merge-request comment: the verdict on the first line, then tables of the
 * activities, the faults and the sampled probes. Every string from a
 * journal goes through md(): one line, markdown punctuation backslashed,
 * `<`, `>` and `&` as entities (GitHub and GitLab render inline HTML), invalid
 * UTF-8 and control characters as U+FFFD, long texts cut.
 */
#include "controller/report_render.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/report_model.h"
#include "core/duration.h"

struct mw {
	struct fl_buf *b;
	int err;
};

static void raw(struct mw *w, const char *s)
{
	if (!w->err)
		w->err = fl_buf_add(w->b, s, strlen(s));
}

static void rawf(struct mw *w, const char *fmt, ...) FL_PRINTF(2, 3);
static void rawf(struct mw *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		w->err = -EINVAL;
	else
		raw(w, buf); /* (every caller's text is short: cut at 1 KiB at worst) */
}

/* One line of escaped text, at most max bytes of s ("…" when cut). */
static void md(struct mw *w, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0;

	if (!s)
		return;
	n = strlen(s);
	while (i < n && !w->err) {
		size_t len = fl_rm_utf8_len(p + i, n - i);
		char one[8];

		if (i + (len ? len : 1) > max) {
			raw(w, "\xe2\x80\xa6");
			return;
		}
		if (!len || (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') ||
		    p[i] == 0x7f) {
			raw(w, "\xef\xbf\xbd");
		} else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
			raw(w, " ");
		} else if (p[i] == '<') {
			raw(w, "&lt;");
		} else if (p[i] == '>') {
			raw(w, "&gt;");
		} else if (p[i] == '&') {
			raw(w, "&amp;");
		} else if (len == 1 &&
			   (strchr("\\`*_[]|~", p[i]) || (i == 0 && strchr("#+-.!=", p[i])))) {
			one[0] = '\\';
			one[1] = (char)p[i];
			one[2] = '\0';
			raw(w, one);
		} else {
			if (!w->err)
				w->err = fl_buf_add(w->b, p + i, len);
		}
		i += len ? len : 1;
	}
}

static void fmt_time(char *buf, size_t len, double t)
{
	if (isnan(t))
		snprintf(buf, len, "?");
	else if (fabs(t) < 10)
		snprintf(buf, len, "%.3f s", t);
	else
		snprintf(buf, len, "%.1f s", t);
}

static void fmt_ms(char *buf, size_t len, double ms)
{
	if (isnan(ms))
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%.3g ms", ms);
	else
		snprintf(buf, len, "%.3g s", ms / 1000.0);
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *icon(const char *verdict_class)
{
	if (!strcmp(verdict_class, "held"))
		return "\xe2\x9c\x85"; /* check mark */
	if (!strcmp(verdict_class, "interrupted"))
		return "\xe2\x9a\xa0\xef\xb8\x8f"; /* warning sign */
	if (!strcmp(verdict_class, "unknown"))
		return "\xe2\x9d\x94"; /* question mark */
	return "\xe2\x9d\x8c";	       /* cross mark */
}

static const char *status_word(enum fl_rm_status s)
{
	switch (s) {
	case FL_RM_OK:
		return "ok";
	case FL_RM_FAILED:
		return "**FAILED**";
	case FL_RM_NOT_MET:
		return "**NOT MET**";
	case FL_RM_UNKNOWN:
	case FL_RM_STATUS__MAX:
		break;
	}
	return "?";
}

static void headline(struct mw *w, const struct fl_report_model *m, const char *hashes)
{
	char ts[40] = "?", d[32];

	if (m->start_ms)
		fl_time_rfc3339((uint64_t)m->start_ms, ts, sizeof(ts));
	fmt_time(d, sizeof(d), m->duration);
	rawf(w, "%s %s faultline: %s\n\n**", hashes, icon(m->verdict_class), m->verdict);
	md(w, m->title ? m->title : "(an experiment without a title)", 300);
	raw(w, "**");
	if (m->exit_code >= 0)
		rawf(w, " \xc2\xb7 exit code %d", m->exit_code);
	rawf(w, " \xc2\xb7 took %s \xc2\xb7 started %s", d, ts);
	if (fl_rm_str(m->j, "run_id", NULL) && *fl_rm_str(m->j, "run_id", "")) {
		raw(w, " \xc2\xb7 run ");
		md(w, fl_rm_str(m->j, "run_id", NULL), 64);
	}
	raw(w, "\n\n");
	if (m->reason) {
		raw(w, "> ");
		md(w, m->reason, 600);
		raw(w, "\n\n");
	}
}

static void activities(struct mw *w, const struct fl_report_model *m)
{
	char a[32], d[32];
	bool any = false;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];

		if (it->kind != FL_RM_ACTIVITY)
			continue;
		if (!any)
			raw(w, "| phase | activity | result | start | took | detail |\n"
			       "| --- | --- | --- | ---: | ---: | --- |\n");
		any = true;
		fmt_time(a, sizeof(a), it->t0);
		fmt_time(d, sizeof(d), fl_rm_num(it->rec, "duration"));
		rawf(w, "| %s | %s ", fl_rm_phase_names[it->phase],
		     it->type && !strcmp(it->type, "probe") ? "probe" : "action");
		md(w, it->name, 120);
		rawf(w, "%s | %s | +%s | %s | ", it->background ? " (background)" : "",
		     status_word(it->status), a, d);
		md(w, it->detail, 300);
		raw(w, " |\n");
	}
	if (!any)
		raw(w, "No activity ran.\n");
	raw(w, "\n");
}

static void faults(struct mw *w, const struct fl_report_model *m)
{
	char a[32], b[32];
	bool any = false;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *ap = get(it->agent, "applied");

		if (it->kind != FL_RM_FAULT)
			continue;
		if (!any)
			raw(w, "**Faults**\n\n| fault | agent | live | ended | what the agent did "
			       "|\n| --- | --- | ---: | --- | --- |\n");
		any = true;
		fmt_time(a, sizeof(a), it->t0);
		fmt_time(b, sizeof(b), it->t1);
		raw(w, "| ");
		md(w, it->name, 120);
		raw(w, " | ");
		md(w, fl_rm_str(it->agent, "agent", "?"), 80);
		rawf(w, " | +%s to +%s | %s | ", a, b, it->ended);
		md(w, fl_rm_str(ap, "description", ""), 300);
		raw(w, " |\n");
	}
	if (any)
		raw(w, "\n");
}

static void windows(struct mw *w, const struct fl_report_model *m)
{
	static const char *const pct[3] = {"p50", "p95", "p99"};
	bool any = false;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *out = get(it->rec, "output");
		const cJSON *tol = get(get(it->rec, "series"), "tolerance");
		double r = fl_rm_num(out, "success_ratio");
		char p[32], t[32];

		if (it->kind != FL_RM_WINDOW)
			continue;
		if (!any)
			raw(w,
			    "**Sampled probes**\n\n| probe | mode | samples | succeeded | p95 | "
			    "tolerance | verdict |\n| --- | --- | ---: | ---: | ---: | --- | --- "
			    "|\n");
		any = true;
		fmt_ms(p, sizeof(p), fl_rm_num(get(out, "latency_ms"), "p95"));
		raw(w, "| ");
		md(w, it->name, 120);
		raw(w, " | ");
		md(w, fl_rm_str(it->rec, "mode", "?"), 20);
		rawf(w, " | %.0f | ",
		     isnan(fl_rm_num(out, "samples")) ? 0 : fl_rm_num(out, "samples"));
		if (isnan(r))
			raw(w, "-");
		else
			rawf(w, "%.4g%%", r * 100);
		rawf(w, " | %s | ", p);
		if (cJSON_IsTrue(get(tol, "every_sample")))
			raw(w, "every sample");
		else if (cJSON_IsObject(tol)) {
			bool sep = false;

			if (!isnan(fl_rm_num(tol, "success_ratio"))) {
				rawf(w, "\xe2\x89\xa5 %.4g%%",
				     fl_rm_num(tol, "success_ratio") * 100);
				sep = true;
			}
			for (int k = 0; k < 3; k++) {
				double v = fl_rm_num(get(tol, "latency_ms"), pct[k]);

				if (isnan(v))
					continue;
				fmt_ms(t, sizeof(t), v);
				rawf(w, "%s%s \xe2\x89\xa4 %s", sep ? ", " : "", pct[k], t);
				sep = true;
			}
		}
		rawf(w, " | %s", it->status == FL_RM_OK ? "met" : "**NOT met**");
		if (it->detail && it->status != FL_RM_OK) {
			raw(w, ": ");
			md(w, it->detail, 300);
		}
		raw(w, " |\n");
	}
	if (any)
		raw(w, "\n");
}

static void run_md(struct mw *w, const struct fl_report_model *m, const char *hashes)
{
	headline(w, m, hashes);
	windows(w, m);
	faults(w, m);
	activities(w, m);
}

static int cmp_start(const void *a, const void *b, void *arg)
{
	const struct fl_report_model *ms = arg;
	int64_t x = ms[*(const size_t *)a].start_ms, y = ms[*(const size_t *)b].start_ms;

	if (!x != !y)
		return x ? -1 : 1;
	if (x != y)
		return x < y ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static void history(struct mw *w, const struct fl_report_model *ms, size_t n)
{
	size_t *order = calloc(n, sizeof(*order)), held = 0;
	char ts[40], d[32];

	if (!order) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		held += !strcmp(ms[i].verdict_class, "held");
	}
	qsort_r(order, n, sizeof(*order), cmp_start, (void *)ms);
	rawf(w, "## %s faultline: %zu of %zu runs held\n\n",
	     held == n ? icon("held") : icon("failed"), held, n);
	raw(w, "| # | started | experiment | result | exit | took | sampled probes |\n"
	       "| ---: | --- | --- | --- | ---: | ---: | --- |\n");
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];

		strcpy(ts, "?");
		if (m->start_ms)
			fl_time_rfc3339((uint64_t)m->start_ms, ts, sizeof(ts));
		fmt_time(d, sizeof(d), m->duration);
		rawf(w, "| %zu | %s | ", k + 1, ts);
		md(w, m->title ? m->title : "?", 100);
		rawf(w, " | %s %s | ", icon(m->verdict_class), m->verdict_class);
		if (m->exit_code >= 0)
			rawf(w, "%d", m->exit_code);
		rawf(w, " | %s | ", d);
		for (size_t i = 0; i < m->n_items; i++) {
			const struct fl_rm_item *it = &m->items[i];
			const cJSON *out = get(it->rec, "output");
			char p[32];

			if (it->kind != FL_RM_WINDOW)
				continue;
			fmt_ms(p, sizeof(p), fl_rm_num(get(out, "latency_ms"), "p95"));
			md(w, it->name, 40);
			rawf(w, " %.4g%% p95 %s%s; ", fl_rm_num(out, "success_ratio") * 100, p,
			     it->status == FL_RM_OK ? "" : " **NOT met**");
		}
		raw(w, " |\n");
	}
	raw(w, "\nThe latest run:\n\n");
	run_md(w, &ms[order[n - 1]], "###");
	free(order);
}

int fl_report_md_render(const struct fl_report_input *in, size_t n, struct fl_buf *out)
{
	struct fl_report_model *ms;
	struct mw w = {.b = out};
	size_t ok = 0;
	int r;

	if (!n || n > FL_REPORT_JOURNALS_MAX)
		return -EINVAL;
	ms = calloc(n, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	for (; ok < n; ok++) {
		r = fl_report_model_init(&ms[ok], in[ok].journal);
		if (r < 0)
			goto out;
	}
	if (n == 1)
		run_md(&w, &ms[0], "##");
	else
		history(&w, ms, n);
	raw(&w, "<sub>faultline " FL_VERSION "</sub>\n");
	r = w.err;
out:
	for (size_t i = 0; i < ok; i++)
		fl_report_model_done(&ms[i]);
	free(ms);
	return r;
}
