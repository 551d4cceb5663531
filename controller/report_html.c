/*
 * The HTML report (controller/report_render.h): one self-contained page.
 *
 * No script at all, CSS inline, charts as inline SVG with <title> tooltips,
 * <details> for what is long: the page reads the same with JavaScript off,
 * and a Content-Security-Policy of default-src 'none' makes sure that it
 * fetches nothing and runs nothing, even if something slipped through the
 * escaping. Every string from a journal goes through esc(): HTML-escaped,
 * invalid UTF-8 and control characters replaced by U+FFFD, long texts cut.
 *
 * Class names a reader (or a test) can rely on: .verdict, .timeline,
 * .activity, .pause, .fault-window, .fault-band, .revert-marker, .window,
 * .probe-chart, .slo-line, .failing-window, .comparison.
 */
#include "controller/report_render.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/report_model.h"
#include "controller/runner.h"
#include "core/duration.h"

#define W	 1100.0 /* SVG width (viewBox units) */
#define X0	 270.0	/* plot area left (labels to its left) */
#define X1	 1084.0 /* plot area right */
#define ROW	 20.0	/* timeline row height */
#define TOP	 26.0	/* timeline: room for the phase names */
#define PTS_MAX	 2000	/* chart points per sampled probe */
#define ROWS_MAX 400	/* timeline rows drawn; the tables have everything */

struct hw {
	struct fl_buf *b;
	int err;
	char id[24];	  /* id prefix of the run being written ("" or "r3-") */
	double v0, vspan; /* the time the x axis shows: [v0, v0 + vspan] seconds */
};

static void raw(struct hw *w, const char *s)
{
	if (!w->err)
		w->err = fl_buf_add(w->b, s, strlen(s));
}

static void rawf(struct hw *w, const char *fmt, ...) FL_PRINTF(2, 3);
static void rawf(struct hw *w, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	if (w->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		w->err = fl_buf_add(w->b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->err = -ENOMEM;
		return;
	}
	w->err = fl_buf_add(w->b, big, (size_t)n);
	free(big);
}

/* Escaped text of at most max bytes of s ("…" and a count when cut); NULL writes nothing. */
static void esc_n(struct hw *w, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0, run = 0;

	if (!s || w->err)
		return;
	n = strlen(s);
	while (i < n && i < max && !w->err) {
		const char *rep = NULL;
		size_t len = fl_rm_utf8_len(p + i, n - i);

		switch (p[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if (!len || (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7f)
				rep = "\xef\xbf\xbd";
			break;
		}
		if (!rep) {
			i += len;
			run += len;
			continue;
		}
		if (run)
			w->err = fl_buf_add(w->b, p + i - run, run);
		run = 0;
		if (!w->err)
			w->err = fl_buf_add(w->b, rep, strlen(rep));
		i += len ? len : 1;
	}
	if (run && !w->err)
		w->err = fl_buf_add(w->b, p + i - run, run);
	if (i < n)
		rawf(w, "\xe2\x80\xa6 (%zu more bytes in the journal)", n - i);
}

static void esc(struct hw *w, const char *s)
{
	esc_n(w, s, 1024);
}

/* Compact JSON of v, escaped and cut at max bytes. */
static void esc_json(struct hw *w, const cJSON *v, bool pretty, size_t max)
{
	char *t;

	if (!v) {
		raw(w, "null");
		return;
	}
	t = pretty ? cJSON_Print(v) : cJSON_PrintUnformatted(v);
	if (!t) {
		w->err = -ENOMEM;
		return;
	}
	esc_n(w, t, max);
	free(t);
}

static double xof(const struct hw *w, double t)
{
	if (isnan(t) || t < w->v0)
		t = w->v0;
	if (t > w->v0 + w->vspan)
		t = w->v0 + w->vspan;
	return X0 + (t - w->v0) / w->vspan * (X1 - X0);
}

/* The x axis shows [t0, t1] (seconds from the run's start). */
static void view(struct hw *w, double t0, double t1)
{
	w->v0 = isnan(t0) || t0 < 0 ? 0 : t0;
	w->vspan = isnan(t1) || t1 - w->v0 < 0.01 ? 0.01 : t1 - w->v0;
}

/* A "nice" step (1, 2, 5 x 10^k) giving at most `most` ticks over span. */
static double nice_step(double span, int most)
{
	static const double mult[] = {1, 2, 2.5, 5, 10};
	double base;

	if (!(span > 0) || most < 1)
		return 1;
	base = pow(10, floor(log10(span / most)));
	for (size_t i = 0; i < FL_ARRAY_SIZE(mult); i++)
		if (span / (base * mult[i]) <= most)
			return base * mult[i];
	return base * 10;
}

/* Escaped text of at most max bytes of s, "…" when cut (labels). */
static void esc_cut(struct hw *w, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0, cut = 0;
	char *t;

	if (!s)
		return;
	if (n <= max) {
		esc_n(w, s, n);
		return;
	}
	/* cut on a character boundary */
	for (size_t i = 0, len; i < max; i += len) {
		len = fl_rm_utf8_len((const unsigned char *)s + i, n - i);
		if (!len)
			len = 1;
		if (i + len > max)
			break;
		cut = i + len;
	}
	t = strndup(s, cut);
	if (!t) {
		w->err = -ENOMEM;
		return;
	}
	esc_n(w, t, cut);
	raw(w, "\xe2\x80\xa6");
	free(t);
}

static void fmt_time(char *buf, size_t len, double t)
{
	if (isnan(t))
		snprintf(buf, len, "?");
	else if (fabs(t) < 10)
		snprintf(buf, len, "%.3f s", t);
	else if (fabs(t) < 600)
		snprintf(buf, len, "%.1f s", t);
	else
		snprintf(buf, len, "%.0f s", t);
}

static void fmt_ms(char *buf, size_t len, double ms)
{
	if (isnan(ms))
		snprintf(buf, len, "-");
	else if (ms == 0)
		snprintf(buf, len, "0");
	else if (ms < 1)
		snprintf(buf, len, "%.3f ms", ms);
	else if (ms < 1000)
		snprintf(buf, len, "%.3g ms", ms);
	else
		snprintf(buf, len, "%.3g s", ms / 1000.0);
}

static const char *status_class(enum fl_rm_status s)
{
	switch (s) {
	case FL_RM_OK:
		return "ok";
	case FL_RM_FAILED:
		return "failed";
	case FL_RM_NOT_MET:
		return "notmet";
	case FL_RM_UNKNOWN:
	case FL_RM_STATUS__MAX:
		break;
	}
	return "unknown";
}

static const char *status_word(enum fl_rm_status s)
{
	switch (s) {
	case FL_RM_OK:
		return "ok";
	case FL_RM_FAILED:
		return "FAILED";
	case FL_RM_NOT_MET:
		return "NOT MET";
	case FL_RM_UNKNOWN:
	case FL_RM_STATUS__MAX:
		break;
	}
	return "?";
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char css[] =
    ":root{color-scheme:light}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f4f5f7;color:#1d2329}"
    "main{max-width:1180px;margin:0 auto;padding:12px 24px 40px}"
    "h1{font-size:22px;margin:10px 0 8px}h2{font-size:17px;margin:4px 0 10px}"
    "h3{font-size:15px;margin:14px 0 6px}"
    "section,details.run{background:#fff;border:1px solid #dde1e6;border-radius:6px;"
    "padding:12px 16px;margin:14px 0}"
    "details.run>summary{cursor:pointer;font-weight:600}"
    ".verdict{padding:12px 16px;border-radius:6px;color:#fff;font-weight:700;font-size:18px}"
    ".verdict small{display:block;font-weight:400;font-size:14px;margin-top:4px}"
    ".held{background:#1f7a3a}.deviated,.failed,.aborted{background:#b3261e}"
    ".interrupted{background:#9a5700}.unknown{background:#5f6b76}"
    ".verdict-bar.held{fill:#1f7a3a}.verdict-bar.deviated,.verdict-bar.failed,"
    ".verdict-bar.aborted{fill:#b3261e}.verdict-bar.interrupted{fill:#9a5700}"
    ".verdict-bar.unknown{fill:#5f6b76}"
    ".badge{display:inline-block;padding:0 7px;border-radius:9px;color:#fff;font-size:12px;"
    "font-weight:600;vertical-align:middle}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr max-content 1fr;"
    "gap:2px 14px;margin:10px 0}"
    "dl.facts dt{color:#5f6b76}dl.facts dd{margin:0}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff2;"
    "vertical-align:top}"
    "th{background:#f7f8fa;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.ok{color:#1f7a3a;font-weight:600}td.failed,td.notmet{color:#b3261e;font-weight:700}"
    "pre{white-space:pre-wrap;word-break:break-word;background:#f3f4f6;padding:8px;"
    "margin:4px 0;max-height:320px;overflow:auto;font-size:12px}"
    "code{font-size:12px}"
    "svg{width:100%;height:auto;display:block}"
    "svg text{font:11px system-ui,sans-serif;fill:#3c4650}"
    "svg .lbl{font-size:12px;fill:#1d2329}svg .ph{font-weight:600;fill:#5f6b76}"
    ".phase{fill:#eef1f5}.phase.p1{fill:#e6eefb}.phase.p3{fill:#f3ecf8}"
    ".grid{stroke:#d5dae0;stroke-width:1}"
    ".activity.ok,.window.ok,.bucket.ok{fill:#3b8f5a}"
    ".activity.failed,.window.failed{fill:#b3261e}"
    ".activity.notmet,.window.notmet,.bucket.bad{fill:#d9480f}"
    ".activity.unknown,.window.unknown{fill:#8a96a3}"
    ".pause{fill:none;stroke:#8a96a3;stroke-width:2;stroke-dasharray:3 3}"
    ".fault-window{fill:#7a3fb0}.fault-band{fill:#7a3fb0;fill-opacity:.09}"
    ".revert-marker{stroke:#7a3fb0;stroke-width:1.5;stroke-dasharray:4 3}"
    ".failing-window{fill:#d9480f;fill-opacity:.16;stroke:#d9480f;stroke-width:1}"
    ".slo-line{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:6 4}"
    "svg .slo-label{fill:#b3261e;font-weight:600}"
    ".lat{fill:none;stroke-width:1.6}.lat.p50{stroke:#2f7d32}.lat.p99{stroke:#1f4e99}"
    ".lat-bar{fill:#8fb3e8}.lat-bar.bad{fill:#d9480f}"
    ".legend span{display:inline-block;margin-right:14px;font-size:12px;color:#3c4650}"
    ".sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}"
    ".muted{color:#5f6b76}.probe{border-top:1px solid #eceff2;margin-top:10px}"
    "footer{color:#5f6b76;font-size:12px;margin-top:20px}";

static void page_head(struct hw *w, const char *title)
{
	raw(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'; img-src data:\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<meta name=\"generator\" content=\"faultline " FL_VERSION "\">\n<title>");
	esc_cut(w, title, 200);
	raw(w, "</title>\n<style>");
	raw(w, css);
	raw(w, "</style>\n</head>\n<body>\n<main>\n");
}

static void page_end(struct hw *w, const struct fl_report_input *in, size_t n)
{
	raw(w, "<footer>Written by faultline " FL_VERSION " from ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			raw(w, ", ");
		if (i == 8) {
			rawf(w, "and %zu more journals", n - i);
			break;
		}
		raw(w, "<code>");
		esc(w, in[i].name ? in[i].name : "a journal");
		raw(w, "</code>");
	}
	raw(w, ". This page fetches nothing and runs no "
	       "script.</footer>\n</main>\n</body>\n</html>\n");
}

/* Vertical grid lines and time labels (seconds from the run's start) between y0 and y1. */
static void time_axis(struct hw *w, double y0, double y1)
{
	double step = nice_step(w->vspan, 10), first = ceil(w->v0 / step - 1e-9) * step;
	int dec = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;

	for (int k = 0; k <= 1000 && first + k * step <= w->v0 + w->vspan + 1e-9; k++) {
		double x = xof(w, first + k * step);

		rawf(w, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x,
		     x, y0, y1);
		rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*fs</text>", x,
		     y1 + 13, dec, first + k * step);
	}
}

/* Every fault's live window as a band from y0 to y1, and the revert markers. */
static void fault_bands(struct hw *w, const struct fl_report_model *m, double y0, double y1,
			bool markers)
{
	char a[32], b[32];

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		double x0, x1;

		if (it->kind != FL_RM_FAULT || isnan(it->t0) || it->t1 < w->v0 ||
		    it->t0 > w->v0 + w->vspan)
			continue;
		x0 = xof(w, it->t0);
		x1 = xof(w, it->t1);
		fmt_time(a, sizeof(a), it->t0);
		fmt_time(b, sizeof(b), it->t1);
		rawf(w,
		     "<rect class=\"fault-band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		     "height=\"%.1f\"><title>fault \"",
		     x0, y0, x1 - x0 < 1 ? 1 : x1 - x0, y1 - y0);
		esc(w, it->name);
		rawf(w, "\" live from +%s to +%s</title></rect>", a, b);
	}
	for (size_t i = 0; markers && i < m->n_reverts; i++) {
		double x = xof(w, m->reverts[i]);

		if (m->reverts[i] < w->v0 || m->reverts[i] > w->v0 + w->vspan)
			continue;
		fmt_time(a, sizeof(a), m->reverts[i]);
		rawf(
		    w,
		    "<line class=\"revert-marker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
		    "y2=\"%.1f\"><title>every live fault of the run reverted at +%s</title></line>",
		    x, x, y0, y1, a);
	}
}

static const char *agent_name(const cJSON *ag)
{
	const char *n = fl_rm_str(ag, "agent", NULL);

	return n ? n : fl_rm_str(ag, "url", "?");
}

static void timeline(struct hw *w, const struct fl_report_model *m)
{
	static const char *const short_ph[FL_RM_PHASE__MAX] = {"before", "method", "after",
							       "rollback", "sampled"};
	int *row = calloc(m->n_items ? m->n_items : 1, sizeof(*row));
	int rows = 0;
	double h;
	char a[32], b[32];

	if (!row) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];

		row[i] = -1;
		if (it->kind != FL_RM_PAUSE && !isnan(it->t0) && rows < ROWS_MAX)
			row[i] = rows++;
	}
	/* A pause goes on its activity's row. */
	for (size_t i = 0; i < m->n_items; i++) {
		if (m->items[i].kind != FL_RM_PAUSE)
			continue;
		for (size_t k = 0; k < m->n_items; k++)
			if (m->items[k].kind == FL_RM_ACTIVITY &&
			    m->items[k].rec == m->items[i].rec)
				row[i] = row[k];
	}
	raw(w, "<section class=\"timeline-section\"><h2>Timeline</h2>\n");
	if (!rows) {
		raw(w, "<p class=\"muted\">The journal has no timestamps to place anything on a "
		       "timeline.</p></section>\n");
		free(row);
		return;
	}
	h = TOP + rows * ROW + 24;
	view(w, 0, m->span);
	rawf(w,
	     "<svg class=\"timeline\" id=\"%stimeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
	     "aria-label=\"timeline of the run: %d rows\">\n",
	     w->id, W, h, rows);
	/* phases as shaded bands, named on top */
	for (int p = 0; p < FL_RM_DURING; p++) {
		double x0, x1;

		if (isnan(m->phase_t0[p]))
			continue;
		x0 = xof(w, m->phase_t0[p]);
		x1 = xof(w, m->phase_t1[p]);
		rawf(w,
		     "<rect class=\"phase p%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		     "height=\"%.1f\"/>",
		     p, x0, 14.0, x1 - x0 < 1 ? 1 : x1 - x0, h - 38);
		if (x1 - x0 > 40)
			rawf(w, "<text class=\"ph\" x=\"%.1f\" y=\"11\">%s</text>", x0 + 2,
			     p == FL_RM_BEFORE	 ? "steady state before"
			     : p == FL_RM_METHOD ? "method"
			     : p == FL_RM_AFTER	 ? "steady state after"
						 : "rollbacks");
	}
	time_axis(w, 14, h - 24);
	fault_bands(w, m, 14, h - 24, true);
	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		double y, x0, x1;

		if (row[i] < 0)
			continue;
		y = TOP + row[i] * ROW;
		x0 = xof(w, it->t0);
		x1 = xof(w, isnan(it->t1) ? it->t0 : it->t1);
		fmt_time(a, sizeof(a), it->t0);
		fmt_time(b, sizeof(b), it->t1);
		if (it->kind != FL_RM_PAUSE) {
			raw(w, "<text class=\"lbl\" x=\"4\" y=\"");
			rawf(w, "%.1f\">", y + 13);
			if (it->kind == FL_RM_FAULT) {
				raw(w, "\xe2\x86\xb3 fault live on ");
				esc_cut(w, agent_name(it->agent), 24);
			} else {
				rawf(w, "%s \xc2\xb7 ", short_ph[it->phase]);
				esc_cut(w, it->name, 30);
			}
			raw(w, "<title>");
			esc(w, it->name);
			raw(w, "</title></text>");
		}
		switch (it->kind) {
		case FL_RM_PAUSE:
			rawf(w,
			     "<line class=\"pause\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
			     "y2=\"%.1f\"><title>pause around \"",
			     x0, x1, y + 10, y + 10);
			esc(w, it->name);
			rawf(w, "\": +%s to +%s</title></line>", a, b);
			break;
		case FL_RM_FAULT:
			rawf(w,
			     "<rect class=\"fault-window\" data-start=\"%.3f\" data-end=\"%.3f\" "
			     "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>fault \"",
			     it->t0, it->t1, x0, y + 3, x1 - x0 < 2 ? 2 : x1 - x0, ROW - 6);
			esc(w, it->name);
			raw(w, "\" live on ");
			esc(w, agent_name(it->agent));
			rawf(w, " from +%s to +%s (%s)", a, b, it->ended);
			if (fl_rm_str(get(it->agent, "applied"), "description", NULL)) {
				raw(w, ": ");
				esc(w, fl_rm_str(get(it->agent, "applied"), "description", NULL));
			}
			raw(w, "</title></rect>");
			break;
		case FL_RM_ACTIVITY:
		case FL_RM_WINDOW:
			rawf(w,
			     "<rect class=\"%s %s\" data-start=\"%.3f\" data-end=\"%.3f\" "
			     "x=\"%.1f\" "
			     "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
			     it->kind == FL_RM_WINDOW ? "window" : "activity",
			     status_class(it->status), it->t0, isnan(it->t1) ? it->t0 : it->t1, x0,
			     y + 3, x1 - x0 < 2 ? 2 : x1 - x0, ROW - 6);
			rawf(w, "%s%s ", it->type ? it->type : "activity",
			     it->background ? " (background)" : "");
			raw(w, "\"");
			esc(w, it->name);
			rawf(w, "\": +%s to +%s, %s", a, b, status_word(it->status));
			if (it->detail) {
				raw(w, ": ");
				esc(w, it->detail);
			}
			raw(w, "</title></rect>");
			break;
		case FL_RM_KIND__MAX:
			break;
		}
		raw(w, "\n");
	}
	raw(w, "</svg>\n<p class=\"legend\">"
	       "<span><i class=\"sw\" style=\"background:#3b8f5a\"></i>ran, ok</span>"
	       "<span><i class=\"sw\" style=\"background:#b3261e\"></i>failed</span>"
	       "<span><i class=\"sw\" style=\"background:#d9480f\"></i>out of tolerance</span>"
	       "<span><i class=\"sw\" style=\"background:#7a3fb0\"></i>fault live</span>"
	       "<span>- - pause</span><span>time: seconds from the start of the run</span></p>\n");
	if (rows >= ROWS_MAX || m->dropped)
		rawf(w,
		     "<p class=\"muted\">The timeline shows the first %d rows; the tables below "
		     "list every activity%s.</p>\n",
		     rows, m->dropped ? " the report could hold" : "");
	raw(w, "</section>\n");
	free(row);
}

/* ---- sampled probes over time ---------------------------------------------------------- */

struct pt {
	double t0, t1; /* seconds from the run's start */
	double n, ratio, lat[3];
	int ok; /* 1, 0, -1: not judged */
};

struct tol {
	double ratio;  /* NAN: none */
	double lat[3]; /* ms; NAN: none */
	bool every;    /* every sample judged by a plain tolerance */
	bool known;
};

static const char *const pct_names[3] = {"p50", "p95", "p99"};

/* The tolerance lines of a window: its series' copy, else the experiment's probe. */
static void window_tol(const struct fl_report_model *m, const cJSON *rec, struct tol *t)
{
	const cJSON *st = get(get(rec, "series"), "tolerance"), *lat;

	t->ratio = NAN;
	for (int i = 0; i < 3; i++)
		t->lat[i] = NAN;
	t->every = false;
	t->known = false;
	if (cJSON_IsObject(st)) {
		t->known = true;
		t->every = cJSON_IsTrue(get(st, "every_sample"));
		t->ratio = fl_rm_num(st, "success_ratio");
		for (int i = 0; i < 3; i++)
			t->lat[i] = fl_rm_num(get(st, "latency_ms"), pct_names[i]);
		return;
	}
	/* An older journal: read the probe's tolerance in the experiment. */
	st = get(fl_runner_path_get(get(m->j, "experiment"), fl_rm_str(rec, "json_path", "")),
		 "tolerance");
	if (!cJSON_IsObject(st) || (!get(st, "success_ratio") && !get(st, "latency"))) {
		t->every = st != NULL;
		t->known = st != NULL;
		return;
	}
	t->known = true;
	t->ratio = fl_rm_num(get(st, "success_ratio"), "min");
	lat = get(st, "latency");
	for (int i = 0; i < 3; i++) {
		const cJSON *v = get(lat, pct_names[i]);
		uint64_t us;

		if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0)
			t->lat[i] = v->valuedouble;
		else if (cJSON_IsString(v) && fl_duration_parse_us(v->valuestring, 1000, &us) == 0)
			t->lat[i] = (double)us / 1000.0;
	}
}

static size_t window_points(const struct fl_rm_item *it, struct pt *v, size_t max)
{
	const cJSON *series = get(it->rec, "series"), *b;
	double bucket = fl_rm_num(series, "bucket");
	size_t n = 0;

	if (isnan(it->t0))
		return 0;
	if (bucket > 0 && cJSON_IsArray(get(series, "buckets"))) {
		cJSON_ArrayForEach(b, get(series, "buckets"))
		{
			double t = fl_rm_num(b, "t");
			const cJSON *ok = get(b, "ok");

			if (n >= max || isnan(t))
				break;
			v[n].t0 = it->t0 + t;
			v[n].t1 = v[n].t0 + bucket;
			v[n].n = fl_rm_num(b, "samples");
			v[n].ratio = fl_rm_num(b, "success_ratio");
			for (int i = 0; i < 3; i++)
				v[n].lat[i] = fl_rm_num(get(b, "latency_ms"), pct_names[i]);
			v[n].ok = cJSON_IsBool(ok) ? cJSON_IsTrue(ok) : -1;
			n++;
		}
		return n;
	}
	/* No series (an older journal): the whole window as one point. */
	{
		const cJSON *out = get(it->rec, "output");

		v[0].t0 = it->t0;
		v[0].t1 = isnan(it->t1) ? it->t0 : it->t1;
		v[0].n = fl_rm_num(out, "samples");
		v[0].ratio = fl_rm_num(out, "success_ratio");
		for (int i = 0; i < 3; i++)
			v[0].lat[i] = fl_rm_num(get(out, "latency_ms"), pct_names[i]);
		v[0].ok = it->status == FL_RM_OK ? 1 : it->status == FL_RM_NOT_MET ? 0 : -1;
		return isnan(v[0].n) ? 0 : 1;
	}
}

static void failing_windows(struct hw *w, const struct fl_rm_item *it, const struct pt *v, size_t n,
			    double y0, double y1)
{
	char a[32], b[32], ms[32];
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		double x0, x1;

		if (v[i].ok != 0)
			continue;
		bad++;
		x0 = xof(w, v[i].t0);
		x1 = xof(w, v[i].t1);
		fmt_time(a, sizeof(a), v[i].t0);
		fmt_time(b, sizeof(b), v[i].t1);
		fmt_ms(ms, sizeof(ms), v[i].lat[1]);
		rawf(w,
		     "<rect class=\"failing-window\" data-start=\"%.3f\" data-end=\"%.3f\" "
		     "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>out of tolerance "
		     "from +%s to +%s: %.0f samples, %.1f%% succeeded, p95 %s</title></rect>",
		     v[i].t0, v[i].t1, x0, y0, x1 - x0 < 2 ? 2 : x1 - x0, y1 - y0, a, b, v[i].n,
		     isnan(v[i].ratio) ? 0 : v[i].ratio * 100, ms);
	}
	if (!bad && it->status == FL_RM_NOT_MET && !isnan(it->t0)) {
		/* Not met as a whole (min_samples, or the window's total) with no bucket out. */
		double x0 = xof(w, it->t0), x1 = xof(w, isnan(it->t1) ? it->t0 : it->t1);

		rawf(w,
		     "<rect class=\"failing-window\" data-start=\"%.3f\" data-end=\"%.3f\" "
		     "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
		     it->t0, isnan(it->t1) ? it->t0 : it->t1, x0, y0, x1 - x0 < 2 ? 2 : x1 - x0,
		     y1 - y0);
		esc(w, it->detail ? it->detail : "out of tolerance");
		raw(w, "</title></rect>");
	}
}

static void ratio_chart(struct hw *w, const struct fl_report_model *m, const struct fl_rm_item *it,
			const struct pt *v, size_t n, const struct tol *t, size_t idx)
{
	const double top = 8, ph = 90, h = top + ph + 22;
	double line = t->every ? 1.0 : t->ratio;

	rawf(w,
	     "<svg class=\"probe-chart ratio\" id=\"%sratio-%zu\" viewBox=\"0 0 %.0f %.0f\" "
	     "role=\"img\" aria-label=\"success ratio over time\">",
	     w->id, idx, W, h);
	rawf(w, "<text class=\"lbl\" x=\"4\" y=\"%.1f\">success ratio</text>", top + 12);
	for (int k = 0; k <= 2; k++)
		rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>", X0 - 6,
		     top + ph - ph * k / 2.0 + 4, 50 * k);
	time_axis(w, top, top + ph);
	fault_bands(w, m, top, top + ph, false);
	failing_windows(w, it, v, n, top, top + ph);
	for (size_t i = 0; i < n; i++) {
		double x0, x1, y;
		char a[32];

		if (!(v[i].n > 0) || isnan(v[i].ratio))
			continue;
		x0 = xof(w, v[i].t0);
		x1 = xof(w, v[i].t1);
		y = top + ph * (1 - v[i].ratio);
		fmt_time(a, sizeof(a), v[i].t0);
		rawf(w,
		     "<rect class=\"bucket %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		     "height=\"%.1f\"><title>+%s: %.0f samples, %.2f%% succeeded</title></rect>",
		     v[i].ok == 0 ? "bad" : "ok", x0 + 0.5, y, x1 - x0 > 2 ? x1 - x0 - 1 : 1.5,
		     top + ph - y < 1 ? 1 : top + ph - y, a, v[i].n, v[i].ratio * 100);
	}
	if (!isnan(line)) {
		double y = top + ph * (1 - line);

		rawf(w,
		     "<line class=\"slo-line\" data-value=\"%g\" x1=\"%.1f\" x2=\"%.1f\" "
		     "y1=\"%.1f\" "
		     "y2=\"%.1f\"><title>tolerance</title></line>",
		     line, X0, X1, y, y);
		if (t->every)
			rawf(w,
			     "<text class=\"slo-label\" x=\"%.1f\" y=\"%.1f\" "
			     "text-anchor=\"end\">every sample must hold</text>",
			     X1 - 2, y + 12);
		else
			rawf(w,
			     "<text class=\"slo-label\" x=\"%.1f\" y=\"%.1f\" "
			     "text-anchor=\"end\">SLO: at least %.4g%% succeed</text>",
			     X1 - 2, y > top + 14 ? y - 3 : y + 12, line * 100);
	}
	raw(w, "</svg>\n");
}

static void latency_chart(struct hw *w, const struct fl_report_model *m,
			  const struct fl_rm_item *it, const struct pt *v, size_t n,
			  const struct tol *t, size_t idx)
{
	const double top = 8, ph = 130, h = top + ph + 22;
	double ymax = 0, step;
	char s[32];

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			if (v[i].n > 0 && v[i].lat[k] > ymax)
				ymax = v[i].lat[k];
	for (int k = 0; k < 3; k++)
		if (t->lat[k] > ymax)
			ymax = t->lat[k];
	if (!(ymax > 0))
		return; /* nothing measured: no chart */
	step = nice_step(ymax * 1.1, 4);
	ymax = ceil(ymax * 1.1 / step) * step;
	rawf(w,
	     "<svg class=\"probe-chart latency\" id=\"%slatency-%zu\" viewBox=\"0 0 %.0f %.0f\" "
	     "role=\"img\" aria-label=\"latency percentiles over time\">",
	     w->id, idx, W, h);
	rawf(w, "<text class=\"lbl\" x=\"4\" y=\"%.1f\">latency</text>", top + 12);
	raw(w, "<text x=\"4\" y=\"");
	rawf(w,
	     "%.1f\"><tspan fill=\"#6f9bd8\" font-weight=\"600\">p95 (bars)</tspan> "
	     "<tspan fill=\"#2f7d32\">p50</tspan> <tspan fill=\"#1f4e99\">p99</tspan></text>",
	     top + 28);
	for (double y = 0; y <= ymax + 1e-9; y += step) {
		fmt_ms(s, sizeof(s), y);
		rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", X0 - 6,
		     top + ph - ph * y / ymax + 4, s);
	}
	time_axis(w, top, top + ph);
	fault_bands(w, m, top, top + ph, false);
	failing_windows(w, it, v, n, top, top + ph);
	/* p95 as a bar per bucket (a lone slow sample stands out), p50 and p99 as steps */
	for (size_t i = 0; i < n; i++) {
		double x0, x1, y;
		char a[32];

		if (!(v[i].n > 0) || isnan(v[i].lat[1]))
			continue;
		x0 = xof(w, v[i].t0);
		x1 = xof(w, v[i].t1);
		y = top + ph - ph * (v[i].lat[1] > ymax ? ymax : v[i].lat[1]) / ymax;
		fmt_time(a, sizeof(a), v[i].t0);
		fmt_ms(s, sizeof(s), v[i].lat[1]);
		rawf(w,
		     "<rect class=\"lat-bar%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		     "height=\"%.1f\"><title>+%s: %.0f samples, p95 %s</title></rect>",
		     v[i].ok == 0 ? " bad" : "", x0 + 0.5, y, x1 - x0 > 2 ? x1 - x0 - 1 : 1.5,
		     top + ph - y < 1 ? 1 : top + ph - y, a, v[i].n, s);
	}
	for (int k = 0; k < 3; k += 2) {
		double last_x1 = NAN;

		rawf(w, "<path class=\"lat %s\" d=\"", pct_names[k]);
		for (size_t i = 0; i < n; i++) {
			double x0, x1, y;

			if (!(v[i].n > 0) || isnan(v[i].lat[k])) {
				last_x1 = NAN;
				continue;
			}
			x0 = xof(w, v[i].t0);
			x1 = xof(w, v[i].t1);
			y = top + ph - ph * (v[i].lat[k] > ymax ? ymax : v[i].lat[k]) / ymax;
			rawf(w, "%s%.1f %.1f L%.1f %.1f", isnan(last_x1) ? " M" : " L", x0, y, x1,
			     y);
			last_x1 = x1;
		}
		raw(w, "\"/>");
	}
	for (int k = 0; k < 3; k++) {
		double y;

		if (isnan(t->lat[k]))
			continue;
		y = top + ph - ph * t->lat[k] / ymax;
		fmt_ms(s, sizeof(s), t->lat[k]);
		rawf(w,
		     "<line class=\"slo-line\" data-value=\"%g\" x1=\"%.1f\" x2=\"%.1f\" "
		     "y1=\"%.1f\" "
		     "y2=\"%.1f\"><title>tolerance: %s at most %s</title></line>",
		     t->lat[k], X0, X1, y, y, pct_names[k], s);
		rawf(w,
		     "<text class=\"slo-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">SLO: %s "
		     "\xe2\x89\xa4 %s</text>",
		     X1 - 2, y > top + 14 ? y - 3 : y + 12, pct_names[k], s);
	}
	raw(w, "</svg>\n");
}

static void fact(struct hw *w, const char *dt, const char *dd)
{
	raw(w, "<dt>");
	raw(w, dt);
	raw(w, "</dt><dd>");
	esc(w, dd);
	raw(w, "</dd>");
}

static void factf(struct hw *w, const char *dt, const char *fmt, ...) FL_PRINTF(3, 4);
static void factf(struct hw *w, const char *dt, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fact(w, dt, buf);
}

static void probes(struct hw *w, const struct fl_report_model *m)
{
	struct pt *v = calloc(PTS_MAX, sizeof(*v));
	size_t idx = 0;

	if (!v) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *out = get(it->rec, "output"), *lat = get(out, "latency_ms");
		struct tol t;
		size_t n;
		char s[4][32];

		if (it->kind != FL_RM_WINDOW)
			continue;
		if (!idx)
			raw(w,
			    "<section class=\"probes\"><h2>Probes sampled during the method</h2>\n"
			    "<p class=\"muted\">Each sampled probe over time: the share of samples "
			    "that succeeded and their latency, grouped by when they started; "
			    "faults live as shaded bands, the tolerance as a dashed red line, "
			    "the windows out of tolerance in orange.</p>\n");
		window_tol(m, it->rec, &t);
		n = window_points(it, v, PTS_MAX);
		rawf(w, "<div class=\"probe\" id=\"%sprobe-%zu\"><h3>", w->id, idx);
		esc(w, it->name);
		rawf(w, " <span class=\"badge %s\">%s</span></h3>\n",
		     it->status == FL_RM_OK ? "held" : "failed",
		     it->status == FL_RM_OK	   ? "tolerance met"
		     : it->status == FL_RM_NOT_MET ? "NOT met"
						   : "could not run");
		raw(w, "<dl class=\"facts\">");
		fact(w, "mode", fl_rm_str(it->rec, "mode", "?"));
		if (it->provider)
			fact(w, "provider", it->provider);
		if (!isnan(fl_rm_num(it->rec, "interval")))
			factf(w, "interval", "%g s", fl_rm_num(it->rec, "interval"));
		if (!isnan(fl_rm_num(out, "samples")))
			factf(w, "samples", "%.0f (%.0f failed)", fl_rm_num(out, "samples"),
			      isnan(fl_rm_num(out, "failed")) ? 0 : fl_rm_num(out, "failed"));
		if (!isnan(fl_rm_num(out, "success_ratio")))
			factf(w, "success ratio", "%.4g%%", fl_rm_num(out, "success_ratio") * 100);
		if (cJSON_IsObject(lat)) {
			fmt_ms(s[0], sizeof(s[0]), fl_rm_num(lat, "p50"));
			fmt_ms(s[1], sizeof(s[1]), fl_rm_num(lat, "p95"));
			fmt_ms(s[2], sizeof(s[2]), fl_rm_num(lat, "p99"));
			fmt_ms(s[3], sizeof(s[3]), fl_rm_num(lat, "max"));
			factf(w, "latency", "p50 %s, p95 %s, p99 %s, max %s", s[0], s[1], s[2],
			      s[3]);
		}
		if (t.every) {
			raw(w, "<dt>tolerance</dt><dd>every sample within <code>");
			esc_json(w,
				 get(fl_runner_path_get(get(m->j, "experiment"),
							fl_rm_str(it->rec, "json_path", "")),
				     "tolerance"),
				 false, 300);
			raw(w, "</code></dd>");
		} else if (t.known) {
			char tb[160] = "";
			size_t o = 0;

			if (!isnan(t.ratio))
				o += (size_t)snprintf(tb + o, sizeof(tb) - o,
						      "at least %.4g%% succeed", t.ratio * 100);
			for (int k = 0; k < 3 && o < sizeof(tb); k++) {
				if (isnan(t.lat[k]))
					continue;
				fmt_ms(s[0], sizeof(s[0]), t.lat[k]);
				o += (size_t)snprintf(tb + o, sizeof(tb) - o, "%s%s at most %s",
						      o ? ", " : "", pct_names[k], s[0]);
			}
			fact(w, "tolerance", tb);
		}
		if (it->detail)
			fact(w, it->status == FL_RM_OK ? "note" : "why", it->detail);
		if (fl_rm_str(out, "last_failure", NULL))
			fact(w, "last failure", fl_rm_str(out, "last_failure", NULL));
		if (!isnan(fl_rm_num(out, "finished_after_end")))
			factf(w, "finished after the method", "%.0f samples (counted)",
			      fl_rm_num(out, "finished_after_end"));
		if (!isnan(fl_rm_num(out, "in_flight_at_end")))
			factf(w, "cut by a stop", "%.0f samples (not counted)",
			      fl_rm_num(out, "in_flight_at_end"));
		if (!isnan(fl_rm_num(out, "succeeded_after_fault_ended")))
			factf(w, "succeeded after the fault could end",
			      "%.0f samples (not counted)",
			      fl_rm_num(out, "succeeded_after_fault_ended"));
		if (cJSON_IsTrue(get(it->rec, "abort_triggered")))
			fact(w, "abort", "this probe stopped the run");
		raw(w, "</dl>\n");
		if (n) {
			/* the window's own time, so its samples are not squeezed by a long run */
			double pad = ((isnan(it->t1) ? it->t0 : it->t1) - it->t0) * 0.02;

			view(w, it->t0 - pad, (isnan(it->t1) ? it->t0 : it->t1) + pad);
			ratio_chart(w, m, it, v, n, &t, idx);
			latency_chart(w, m, it, v, n, &t, idx);
		} else {
			raw(w, "<p class=\"muted\">No sample to draw.</p>\n");
		}
		raw(w, "</div>\n");
		idx++;
	}
	if (idx)
		raw(w, "</section>\n");
	free(v);
}

/* ---- tables ------------------------------------------------------------------------------ */

/* A JSON value for people: strings as they are, the rest as compact JSON. */
static void value(struct hw *w, const cJSON *v, size_t max)
{
	if (cJSON_IsString(v))
		esc_n(w, v->valuestring, max);
	else
		esc_json(w, v, false, max);
}

/* Any JSON object as a small table (an agent's `effect`, whatever its keys). */
static void object_table(struct hw *w, const cJSON *o, const char *cls)
{
	const cJSON *it;
	int n = 0;

	if (!cJSON_IsObject(o)) {
		raw(w, "<code>");
		value(w, o, 2000);
		raw(w, "</code>");
		return;
	}
	rawf(w, "<table class=\"%s\">", cls);
	cJSON_ArrayForEach(it, o)
	{
		if (n++ == 64) {
			raw(w, "<tr><td colspan=\"2\">\xe2\x80\xa6</td></tr>");
			break;
		}
		raw(w, "<tr><th>");
		esc_cut(w, it->string, 80);
		raw(w, "</th><td>");
		value(w, it, 2000);
		raw(w, "</td></tr>");
	}
	raw(w, "</table>");
}

static void activities(struct hw *w, const struct fl_report_model *m)
{
	static const char *const ph_title[FL_RM_PHASE__MAX] = {
	    "steady state before", "method", "steady state after", "rollbacks", ""};
	char a[32], d[32];
	int n = 0;

	raw(w, "<section class=\"activities\"><h2>Activities</h2>\n<table><thead><tr><th>phase"
	       "</th><th>activity</th><th>provider</th><th>start</th><th>took</th>"
	       "<th>result</th><th>detail</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *out, *ex;

		if (it->kind != FL_RM_ACTIVITY)
			continue;
		n++;
		out = get(it->rec, "output");
		ex = get(it->rec, "exception");
		fmt_time(a, sizeof(a), it->t0);
		fmt_time(d, sizeof(d), fl_rm_num(it->rec, "duration"));
		rawf(w, "<tr id=\"%sact-%zu\"><td>%s</td><td>", w->id, i, ph_title[it->phase]);
		rawf(w, "%s ", it->type ? (strcmp(it->type, "probe") ? "action" : "probe") : "");
		raw(w, "<b>");
		esc(w, it->name);
		raw(w, "</b>");
		if (it->background)
			raw(w, " <span class=\"muted\">(background)</span>");
		raw(w, "</td><td>");
		esc(w, it->provider ? it->provider : "?");
		rawf(w,
		     "</td><td class=\"n\">+%s</td><td class=\"n\">%s</td><td "
		     "class=\"%s\">%s</td><td>",
		     a, d, status_class(it->status), status_word(it->status));
		if (it->detail) {
			esc(w, it->detail);
			raw(w, "<br>");
		}
		if (out && !cJSON_IsNull(out)) {
			raw(w, "<details><summary>output</summary><pre>");
			esc_json(w, out, true, FL_REPORT_TEXT_MAX);
			raw(w, "</pre></details>");
		}
		if (ex) {
			raw(w, "<details><summary>exception</summary><pre>");
			if (cJSON_IsArray(ex)) {
				const cJSON *l;

				cJSON_ArrayForEach(l, ex)
				{
					value(w, l, FL_REPORT_TEXT_MAX);
				}
			} else {
				value(w, ex, FL_REPORT_TEXT_MAX);
			}
			raw(w, "</pre></details>");
		}
		raw(w, "<details><summary>activity</summary><pre>");
		esc_json(w, get(it->rec, "activity"), true, FL_REPORT_TEXT_MAX);
		raw(w, "</pre></details></td></tr>\n");
	}
	if (!n)
		raw(w, "<tr><td colspan=\"7\" class=\"muted\">No activity ran.</td></tr>\n");
	raw(w, "</tbody></table>\n");
	if (m->dropped)
		rawf(w,
		     "<p class=\"muted\">%zu more records are in the journal (past this report's "
		     "limit of %d).</p>\n",
		     m->dropped, FL_RM_ITEMS_MAX);
	raw(w, "</section>\n");
}

/* The agent entries of every fault activity's output, applied or not. */
static void faults(struct hw *w, const struct fl_report_model *m)
{
	char a[32], b[32];
	int n = 0;

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *act, *prov, *ag, *out;

		if (it->kind != FL_RM_ACTIVITY || !it->provider || strcmp(it->provider, "fault"))
			continue;
		act = get(it->rec, "activity");
		prov = get(act, "provider");
		out = get(it->rec, "output");
		if (!n++)
			raw(w, "<section class=\"faults\"><h2>Faults</h2>\n<table><thead><tr>"
			       "<th>fault</th><th>agent</th><th>live</th><th>what the agent did"
			       "</th><th>effect</th></tr></thead><tbody>\n");
		raw(w, "<tr><td rowspan=\"1\"><b>");
		esc(w, it->name);
		raw(w, "</b><br>kind <code>");
		esc(w, fl_rm_str(prov, "kind", fl_rm_str(out, "kind", "?")));
		raw(w, "</code>");
		if (get(prov, "target")) {
			raw(w, "<br>target <code>");
			esc_json(w, get(prov, "target"), false, 600);
			raw(w, "</code>");
		}
		if (get(prov, "params")) {
			raw(w, "<br>params <code>");
			esc_json(w, get(prov, "params"), false, 600);
			raw(w, "</code>");
		}
		if (get(prov, "duration")) {
			raw(w, "<br>duration <code>");
			value(w, get(prov, "duration"), 60);
			raw(w, "</code>");
		}
		if (fl_rm_str(out, "fault_id", NULL)) {
			raw(w, "<br><span class=\"muted\">id ");
			esc(w, fl_rm_str(out, "fault_id", NULL));
			raw(w, "</span>");
		}
		raw(w, "</td>");
		if (!cJSON_IsArray(get(out, "agents")) || !cJSON_GetArraySize(get(out, "agents"))) {
			raw(w, "<td colspan=\"4\" class=\"failed\">");
			esc(w, it->detail ? it->detail : "no agent answered");
			raw(w, "</td></tr>\n");
			continue;
		}
		{
			bool first = true;

			cJSON_ArrayForEach(ag, get(out, "agents"))
			{
				const cJSON *ap = get(ag, "applied");
				const cJSON *eff = get(ag, "effect");
				const struct fl_rm_item *f = NULL;

				if (!eff)
					eff = get(ap, "effect");
				if (!eff)
					eff = get(out, "effect");
				for (size_t k = 0; k < m->n_items; k++)
					if (m->items[k].kind == FL_RM_FAULT &&
					    m->items[k].agent == ag)
						f = &m->items[k];
				if (!first)
					raw(w, "<tr><td></td>");
				first = false;
				raw(w, "<td>");
				esc(w, agent_name(ag));
				if (!isnan(fl_rm_num(ag, "status")))
					rawf(w, "<br><span class=\"muted\">HTTP %.0f",
					     fl_rm_num(ag, "status"));
				if (!isnan(fl_rm_num(ag, "elapsed_ms")))
					rawf(w, ", %.1f ms", fl_rm_num(ag, "elapsed_ms"));
				if (!isnan(fl_rm_num(ag, "status")))
					raw(w, "</span>");
				raw(w, "</td><td class=\"n\">");
				if (f) {
					fmt_time(a, sizeof(a), f->t0);
					fmt_time(b, sizeof(b), f->t1);
					rawf(w, "+%s to +%s<br><span class=\"muted\">%s</span>", a,
					     b, f->ended);
				} else {
					raw(w, "not applied");
				}
				raw(w, "</td><td>");
				if (cJSON_IsObject(ap)) {
					const cJSON *tg = get(get(ap, "details"), "targets");

					esc(w, fl_rm_str(ap, "description", ""));
					if (cJSON_IsArray(tg) && cJSON_GetArraySize(tg)) {
						raw(w, "<br><span class=\"muted\">targets ");
						esc_json(w, tg, false, 600);
						raw(w, "</span>");
					}
				} else {
					raw(w, "<span class=\"failed\">");
					value(w, get(ag, "error") ? get(ag, "error") : ag, 600);
					raw(w, "</span>");
				}
				raw(w, "</td><td>");
				if (eff)
					object_table(w, eff, "effect");
				else
					raw(w, "<span class=\"muted\">-</span>");
				raw(w, "</td></tr>\n");
			}
		}
	}
	if (n) {
		raw(w, "</tbody></table>\n");
		if (m->n_reverts) {
			raw(w, "<p>Every live fault of the run was reverted at ");
			for (size_t i = 0; i < m->n_reverts; i++) {
				const cJSON *rv =
				    cJSON_GetArrayItem(get(m->j, "fault_reverts"), (int)i);

				fmt_time(a, sizeof(a), m->reverts[i]);
				rawf(w, "%s+%s (", i ? "; " : "", a);
				esc(w, fl_rm_str(rv, "why", "?"));
				raw(w, ")");
			}
			raw(w, ".</p>\n");
		}
		if (cJSON_IsArray(get(m->j, "revert_notes"))) {
			const cJSON *e, *note;

			raw(w, "<h3>What the agents noted on revert</h3><ul>");
			cJSON_ArrayForEach(e, get(m->j, "revert_notes"))
			{
				cJSON_ArrayForEach(note, get(e, "notes"))
				{
					raw(w, "<li>");
					esc(w, fl_rm_str(e, "fault_id", "?"));
					raw(w, " on ");
					esc(w, fl_rm_str(e, "agent", "?"));
					raw(w, ": ");
					value(w, note, 1000);
					raw(w, "</li>");
				}
			}
			raw(w, "</ul>\n");
		}
		raw(w, "</section>\n");
	}
}

/* Per agent: what it was asked and how it answered. */
static void agents(struct hw *w, const struct fl_report_model *m)
{
	struct {
		const char *name;
		unsigned applied, refused;
		double ms;
	} v[64];
	size_t nv = 0;
	const cJSON *pf = get(m->j, "preflight");

	for (size_t i = 0; i < m->n_items; i++) {
		const struct fl_rm_item *it = &m->items[i];
		const cJSON *ag;

		if (it->kind != FL_RM_ACTIVITY || !it->provider || strcmp(it->provider, "fault"))
			continue;
		cJSON_ArrayForEach(ag, get(get(it->rec, "output"), "agents"))
		{
			const char *name = agent_name(ag);
			size_t k;

			for (k = 0; k < nv && strcmp(v[k].name, name); k++)
				;
			if (k == nv) {
				if (nv == FL_ARRAY_SIZE(v))
					continue;
				v[nv].name = name;
				v[nv].applied = v[nv].refused = 0;
				v[nv].ms = 0;
				nv++;
			}
			if (cJSON_IsObject(get(ag, "applied")))
				v[k].applied++;
			else
				v[k].refused++;
			if (!isnan(fl_rm_num(ag, "elapsed_ms")))
				v[k].ms += fl_rm_num(ag, "elapsed_ms");
		}
	}
	if (!nv && !cJSON_IsObject(pf))
		return;
	raw(w, "<section class=\"agents\"><h2>Agents</h2>\n");
	if (cJSON_IsObject(pf)) {
		raw(w, "<p>Pre-flight: ");
		if (cJSON_IsTrue(get(pf, "ok")))
			raw(w, "every agent said it can do what the plan asks.");
		else {
			raw(w, "<b class=\"failed\">refused</b>: ");
			esc(w, fl_rm_str(pf, "error", "no reason given"));
		}
		raw(w, "</p>\n");
	}
	if (nv) {
		raw(w, "<table><thead><tr><th>agent</th><th>faults applied</th><th>refused</th>"
		       "<th>mean apply time</th></tr></thead><tbody>\n");
		for (size_t k = 0; k < nv; k++) {
			raw(w, "<tr><td>");
			esc(w, v[k].name);
			rawf(w,
			     "</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">"
			     "%.1f ms</td></tr>\n",
			     v[k].applied, v[k].refused,
			     v[k].applied + v[k].refused ? v[k].ms / (v[k].applied + v[k].refused)
							 : 0.0);
		}
		raw(w, "</tbody></table>\n");
	}
	raw(w, "</section>\n");
}

static void experiment(struct hw *w, const struct fl_report_model *m)
{
	const cJSON *exp = get(m->j, "experiment"), *tags = get(exp, "tags"), *t;
	const cJSON *h = get(exp, "steady-state-hypothesis");

	if (!cJSON_IsObject(exp))
		return;
	raw(w, "<section class=\"experiment\"><h2>Experiment</h2>\n");
	if (m->description) {
		raw(w, "<p>");
		esc_n(w, m->description, 4096);
		raw(w, "</p>\n");
	}
	raw(w, "<dl class=\"facts\">");
	if (fl_rm_str(h, "title", NULL))
		fact(w, "steady-state hypothesis", fl_rm_str(h, "title", NULL));
	if (cJSON_IsArray(tags) && cJSON_GetArraySize(tags)) {
		raw(w, "<dt>tags</dt><dd>");
		cJSON_ArrayForEach(t, tags)
		{
			raw(w, "<code>");
			value(w, t, 100);
			raw(w, "</code> ");
		}
		raw(w, "</dd>");
	}
	factf(w, "activities", "%d hypothesis probes, %d in the method, %d rollbacks",
	      cJSON_GetArraySize(get(h, "probes")), cJSON_GetArraySize(get(exp, "method")),
	      cJSON_GetArraySize(get(exp, "rollbacks")));
	raw(w, "</dl>\n<details><summary>the experiment as run (after substitution, secrets "
	       "masked)</summary><pre>");
	esc_json(w, exp, true, 64 * 1024);
	raw(w, "</pre></details>\n</section>\n");
}

static void header(struct hw *w, const struct fl_report_model *m, const struct fl_report_input *in,
		   int level)
{
	char ts[40] = "?", d[32];

	if (m->start_ms)
		fl_time_rfc3339((uint64_t)m->start_ms, ts, sizeof(ts));
	fmt_time(d, sizeof(d), m->duration);
	if (level == 1) {
		raw(w, "<h1>");
		esc(w, m->title ? m->title : "(an experiment without a title)");
		raw(w, "</h1>\n");
	}
	rawf(w, "<div class=\"verdict %s\" id=\"%sverdict\">Result: %s", m->verdict_class, w->id,
	     m->verdict);
	if (m->reason) {
		raw(w, "<small>");
		esc(w, m->reason);
		raw(w, "</small>");
	}
	raw(w, "</div>\n<dl class=\"facts\">");
	fact(w, "started", ts);
	fact(w, "took", d);
	if (m->exit_code >= 0)
		factf(w, "exit code", "%d", m->exit_code);
	factf(w, "status", "%s%s", m->status ? m->status : "?", m->deviated ? " (deviated)" : "");
	if (fl_rm_str(m->j, "run_id", NULL) && *fl_rm_str(m->j, "run_id", ""))
		fact(w, "run", fl_rm_str(m->j, "run_id", NULL));
	if (fl_rm_str(m->j, "node", NULL))
		fact(w, "node", fl_rm_str(m->j, "node", NULL));
	if (fl_rm_str(m->j, "rollback_strategy", NULL))
		fact(w, "rollback strategy", fl_rm_str(m->j, "rollback_strategy", NULL));
	if (fl_rm_str(m->j, "faultline-version", NULL))
		factf(w, "faultline", "%.64s on %.128s", fl_rm_str(m->j, "faultline-version", NULL),
		      fl_rm_str(m->j, "platform", "?"));
	else if (fl_rm_str(m->j, "chaoslib-version", NULL))
		factf(w, "written by", "Chaos Toolkit %.64s",
		      fl_rm_str(m->j, "chaoslib-version", NULL));
	factf(w, "counted", "%u fault%s live, %u failed, %u out of tolerance", m->n_faults,
	      m->n_faults == 1 ? "" : "s", m->n_failed, m->n_not_met);
	if (in->name)
		fact(w, "journal", in->name);
	raw(w, "</dl>\n");
	if (!cJSON_IsObject(m->j))
		raw(w, "<p class=\"failed\">This file is not a journal (not a JSON object).</p>\n");
}

static void run_page(struct hw *w, const struct fl_report_model *m,
		     const struct fl_report_input *in, int level)
{
	header(w, m, in, level);
	timeline(w, m);
	probes(w, m);
	faults(w, m);
	activities(w, m);
	agents(w, m);
	experiment(w, m);
}

/* ---- several journals: the comparison page ------------------------------------------------ */

/* The window record of probe `name` in a journal, or NULL. */
static const cJSON *window_of(const struct fl_report_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_items; i++)
		if (m->items[i].kind == FL_RM_WINDOW && !strcmp(m->items[i].name, name))
			return m->items[i].rec;
	return NULL;
}

/* One small chart per sampled probe: p95 and success ratio of each run, with the tolerance. */
static void trend_chart(struct hw *w, const struct fl_report_model *ms, const size_t *order,
			size_t n, const char *name, size_t idx)
{
	const double top = 8, ph = 70, h = 2 * (top + ph) + 34, gap = top + ph + 16;
	double ymax = 0, tol_lat = NAN, tol_ratio = NAN, step;
	double slot = (X1 - X0) / (double)n;
	char s[32];

	for (size_t k = 0; k < n; k++) {
		const cJSON *rec = window_of(&ms[order[k]], name);
		const cJSON *st = get(get(rec, "series"), "tolerance");
		double p = fl_rm_num(get(get(rec, "output"), "latency_ms"), "p95");

		if (p > ymax)
			ymax = p;
		if (cJSON_IsObject(st)) {
			tol_lat = fl_rm_num(get(st, "latency_ms"), "p95");
			tol_ratio = cJSON_IsTrue(get(st, "every_sample"))
					? 1.0
					: fl_rm_num(st, "success_ratio");
		}
	}
	if (tol_lat > ymax)
		ymax = tol_lat;
	if (!(ymax > 0))
		ymax = 1;
	step = nice_step(ymax * 1.1, 3);
	ymax = ceil(ymax * 1.1 / step) * step;
	rawf(w, "<h3>");
	esc(w, name);
	raw(w, "</h3>");
	rawf(w,
	     "<svg class=\"probe-chart trend\" id=\"trend-%zu\" viewBox=\"0 0 %.0f %.0f\" "
	     "role=\"img\" aria-label=\"p95 latency and success ratio per run\">",
	     idx, W, h);
	rawf(w, "<text class=\"lbl\" x=\"4\" y=\"%.1f\">p95 latency</text>", top + 12);
	rawf(w, "<text class=\"lbl\" x=\"4\" y=\"%.1f\">success ratio</text>", gap + top + 12);
	fmt_ms(s, sizeof(s), ymax);
	rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", X0 - 6, top + 4, s);
	rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>", X0 - 6, top + ph + 4);
	rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">100%%</text>", X0 - 6,
	     gap + top + 4);
	rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0%%</text>", X0 - 6,
	     gap + top + ph + 4);
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];
		const cJSON *rec = window_of(m, name), *out = get(rec, "output");
		double x = X0 + slot * (k + 0.5), p = fl_rm_num(get(out, "latency_ms"), "p95");
		double r = fl_rm_num(out, "success_ratio");
		bool met = cJSON_IsTrue(get(rec, "tolerance_met"));

		rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">#%zu</text>", x, h - 4,
		     k + 1);
		if (!rec)
			continue;
		if (!met)
			rawf(w,
			     "<rect class=\"failing-window\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			     "height=\"%.1f\"><title>run #%zu: not met</title></rect>",
			     x - slot / 2 + 1, top, slot - 2, gap + ph, k + 1);
		if (!isnan(p)) {
			fmt_ms(s, sizeof(s), p);
			rawf(w,
			     "<circle class=\"bucket %s\" cx=\"%.1f\" cy=\"%.1f\" "
			     "r=\"4\"><title>run "
			     "#%zu: p95 %s</title></circle>",
			     met ? "ok" : "bad", x, top + ph - ph * (p > ymax ? ymax : p) / ymax,
			     k + 1, s);
		}
		if (!isnan(r))
			rawf(w,
			     "<rect class=\"bucket %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			     "height=\"%.1f\"><title>run #%zu: %.2f%% succeeded</title></rect>",
			     met ? "ok" : "bad", x - (slot > 24 ? 8 : slot / 3),
			     gap + top + ph * (1 - r), slot > 24 ? 16 : slot / 1.5,
			     ph * r < 1 ? 1 : ph * r, k + 1, r * 100);
	}
	if (!isnan(tol_lat)) {
		double y = top + ph - ph * tol_lat / ymax;

		fmt_ms(s, sizeof(s), tol_lat);
		rawf(w,
		     "<line class=\"slo-line\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
		     "<text class=\"slo-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">SLO: p95 "
		     "\xe2\x89\xa4 %s</text>",
		     X0, X1, y, y, X1 - 2, y - 3, s);
	}
	if (!isnan(tol_ratio)) {
		double y = gap + top + ph * (1 - tol_ratio);

		rawf(w,
		     "<line class=\"slo-line\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
		     "<text class=\"slo-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">SLO: at "
		     "least %.4g%%</text>",
		     X0, X1, y, y, X1 - 2, y + 12, tol_ratio * 100);
	}
	raw(w, "</svg>\n");
}

static int cmp_start(const void *a, const void *b, void *arg)
{
	const struct fl_report_model *ms = arg;
	int64_t x = ms[*(const size_t *)a].start_ms, y = ms[*(const size_t *)b].start_ms;

	if (!x != !y)
		return x ? -1 : 1; /* runs without a start go last */
	if (x != y)
		return x < y ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1; /* stable */
}

static void comparison(struct hw *w, const struct fl_report_model *ms,
		       const struct fl_report_input *in, size_t n)
{
	size_t *order = calloc(n, sizeof(*order));
	const char *names[12];
	size_t nn = 0;
	unsigned counts[6] = {0};
	static const char *const classes[6] = {"held",	  "deviated",	 "failed",
					       "aborted", "interrupted", "unknown"};
	double dmax = 0, slot = (X1 - X0) / (double)n;
	const double top = 8, ph = 90, h = top + ph + 24;
	char ts[40], d[32];

	if (!order) {
		w->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_start, (void *)ms);
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];

		for (int c = 0; c < 6; c++)
			if (!strcmp(m->verdict_class, classes[c]))
				counts[c]++;
		if (m->duration > dmax)
			dmax = m->duration;
		for (size_t i = 0; i < m->n_items; i++) {
			size_t q;

			if (m->items[i].kind != FL_RM_WINDOW)
				continue;
			for (q = 0; q < nn && strcmp(names[q], m->items[i].name); q++)
				;
			if (q == nn && nn < FL_ARRAY_SIZE(names))
				names[nn++] = m->items[i].name;
		}
	}
	rawf(w, "<h1>faultline: %zu runs compared</h1>\n<div class=\"verdict comparison %s\">", n,
	     counts[0] == n ? "held" : "failed");
	rawf(w, "%u of %zu held", counts[0], n);
	raw(w, "<small>");
	for (int c = 1; c < 6; c++)
		if (counts[c])
			rawf(w, "%u %s &nbsp; ", counts[c], classes[c]);
	raw(w, "oldest run first</small></div>\n");

	raw(w, "<section><h2>Runs</h2>\n");
	rawf(w,
	     "<svg class=\"comparison\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"run "
	     "durations, coloured by verdict\">",
	     W, h);
	rawf(w, "<text class=\"lbl\" x=\"4\" y=\"%.1f\">duration</text>", top + 12);
	fmt_time(d, sizeof(d), dmax);
	rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", X0 - 6, top + 4, d);
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];
		double bh = dmax > 0 && m->duration > 0 ? ph * m->duration / dmax : 1;
		double x = X0 + slot * k;

		fmt_time(d, sizeof(d), m->duration);
		rawf(w,
		     "<a href=\"#r%zu-run\"><rect class=\"verdict-bar %s\" x=\"%.1f\" y=\"%.1f\" "
		     "width=\"%.1f\" height=\"%.1f\"><title>run #%zu: %s, %s</title></rect></a>",
		     k + 1, m->verdict_class, x + slot * 0.15, top + ph - bh, slot * 0.7, bh, k + 1,
		     m->verdict, d);
		rawf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">#%zu</text>",
		     x + slot / 2, h - 4, k + 1);
	}
	raw(w, "</svg>\n<table><thead><tr><th>#</th><th>started</th><th>experiment</th>"
	       "<th>result</th><th>exit</th><th>took</th><th>faults</th><th>sampled probes</th>"
	       "<th>reason</th></tr></thead><tbody>\n");
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];

		strcpy(ts, "?");
		if (m->start_ms)
			fl_time_rfc3339((uint64_t)m->start_ms, ts, sizeof(ts));
		fmt_time(d, sizeof(d), m->duration);
		rawf(w, "<tr><td><a href=\"#r%zu-run\">#%zu</a></td><td>%s</td><td>", k + 1, k + 1,
		     ts);
		esc_cut(w, m->title ? m->title : "?", 120);
		rawf(w, "</td><td><span class=\"badge %s\">%s</span></td><td class=\"n\">",
		     m->verdict_class, m->verdict_class);
		if (m->exit_code >= 0)
			rawf(w, "%d", m->exit_code);
		rawf(w, "</td><td class=\"n\">%s</td><td class=\"n\">%u</td><td>", d, m->n_faults);
		for (size_t i = 0; i < m->n_items; i++) {
			const struct fl_rm_item *it = &m->items[i];
			const cJSON *out = get(it->rec, "output");
			char p[32];

			if (it->kind != FL_RM_WINDOW)
				continue;
			fmt_ms(p, sizeof(p), fl_rm_num(get(out, "latency_ms"), "p95"));
			esc_cut(w, it->name, 40);
			rawf(w, ": %.4g%%, p95 %s <b class=\"%s\">%s</b><br>",
			     fl_rm_num(out, "success_ratio") * 100, p, status_class(it->status),
			     it->status == FL_RM_OK ? "met" : "NOT met");
		}
		raw(w, "</td><td>");
		esc_cut(w, m->reason, 300);
		raw(w, "</td></tr>\n");
	}
	raw(w, "</tbody></table>\n</section>\n");
	if (nn) {
		raw(w, "<section><h2>Sampled probes across runs</h2>\n");
		for (size_t q = 0; q < nn; q++)
			trend_chart(w, ms, order, n, names[q], q);
		raw(w, "</section>\n");
	}
	for (size_t k = 0; k < n; k++) {
		const struct fl_report_model *m = &ms[order[k]];

		snprintf(w->id, sizeof(w->id), "r%zu-", k + 1);
		strcpy(ts, "?");
		if (m->start_ms)
			fl_time_rfc3339((uint64_t)m->start_ms, ts, sizeof(ts));
		rawf(w, "<details class=\"run\" id=\"r%zu-run\"%s><summary>#%zu %s \xc2\xb7 ",
		     k + 1, k + 1 == n ? " open" : "", k + 1, ts);
		esc_cut(w, m->title ? m->title : "?", 120);
		rawf(w, " \xc2\xb7 %s</summary>\n", m->verdict);
		run_page(w, m, &in[order[k]], 2);
		raw(w, "</details>\n");
	}
	w->id[0] = '\0';
	free(order);
}

int fl_report_html_render(const struct fl_report_input *in, size_t n, struct fl_buf *out)
{
	struct fl_report_model *ms;
	struct hw w = {.b = out};
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
	if (n == 1) {
		char title[300];

		snprintf(title, sizeof(title), "faultline: %s: %s",
			 ms[0].title ? ms[0].title : "a run", ms[0].verdict);
		page_head(&w, title);
		run_page(&w, &ms[0], &in[0], 1);
	} else {
		char title[64];

		snprintf(title, sizeof(title), "faultline: %zu runs compared", n);
		page_head(&w, title);
		comparison(&w, ms, in, n);
	}
	page_end(&w, in, n);
	r = w.err;
out:
	for (size_t i = 0; i < ok; i++)
		fl_report_model_done(&ms[i]);
	free(ms);
	return r;
}
