/*
 * Terminal output of `faultline run`. On a TTY a ticker thread redraws one
 * live line ("\r" + erase line) every 100 ms with what is running and for
 * how long; finished activities are printed as plain lines above it. Off a
 * TTY there is no live line, only the plain lines, so logs stay readable.
 */
#include "controller/output.h"
#include "controller/slo.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/duration.h"

#define FL_OUT_LIVE_MAX 16

struct fl_out_live {
	const struct fl_activity *a;
	uint64_t start_ms;
};

struct fl_out {
	struct fl_out_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t ticker;
	bool ticker_running, stopping, line_shown;
	struct fl_out_live live[FL_OUT_LIVE_MAX];
	size_t n_live;
	unsigned spin;
	fl_out_status_fn status_fn; /* more for the live line (progress.c), or NULL */
	void *status_arg;
};

#define C_RESET	 "\033[0m"
#define C_BOLD	 "\033[1m"
#define C_DIM	 "\033[2m"
#define C_RED	 "\033[31m"
#define C_GREEN	 "\033[32m"
#define C_YELLOW "\033[33m"

/*
 * Text from the experiment (titles, names, output, reasons) goes to a
 * terminal: its control characters (C0 but \n and \t, DEL, C1) are written
 * as \xNN so that a title cannot move the cursor, clear the screen or set
 * the window title. faultline's own colour codes are written around it.
 */
static size_t fl_safe_write(FILE *f, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		bool ctl = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;

		/* C1 controls are U+0080..U+009F, written C2 80..C2 9F in UTF-8 */
		if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			fprintf(f, "\\u%04x", p[i + 1]);
			i++;
			continue;
		}
		if (ctl) {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			fwrite(e, 1, 4, f);
		} else {
			fputc((int)c, f);
		}
	}
	return n;
}

static void fl_safe_vprintf(FILE *f, const char *fmt, va_list ap) FL_PRINTF(2, 0);
static void fl_safe_vprintf(FILE *f, const char *fmt, va_list ap)
{
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);

	if (n >= 0)
		fl_safe_write(f, s, (size_t)n);
	free(s);
}

static void fl_safe_printf(FILE *f, const char *fmt, ...) FL_PRINTF(2, 3);
static void fl_safe_printf(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fl_safe_vprintf(f, fmt, ap);
	va_end(ap);
}

static ssize_t fl_safe_cookie_write(void *cookie, const char *buf, size_t n)
{
	return (ssize_t)fl_safe_write(cookie, buf, n);
}

void fl_out_fputs_safe(FILE *f, const char *s)
{
	if (s)
		fl_safe_write(f, s, strlen(s));
}

static const char *fl_c(const struct fl_out *out, const char *code)
{
	return out->o.color ? code : "";
}

bool fl_out_want_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (nc && *nc)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f));
}

/* Caller holds the lock. */
static void fl_out_clear_line(struct fl_out *out)
{
	if (out->line_shown) {
		fputs("\r\033[K", out->o.f);
		out->line_shown = false;
	}
}

/* Cut s to at most cols characters (UTF-8 sequences count as one). */
static void fl_out_fit(char *s, size_t cols)
{
	size_t n = 0;

	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (n++ == cols) {
			*p = '\0';
			return;
		}
	}
}

/* Caller holds the lock. */
static void fl_out_draw_line(struct fl_out *out)
{
	static const char spin[] = "|/-\\";
	uint64_t now = fl_now_mono_ms();
	struct winsize ws;
	char line[1024], more[512] = "";
	size_t cols = 80, n = 0;

	fl_out_clear_line(out);
	if (ioctl(fileno(out->o.f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		cols = ws.ws_col;
	n = (size_t)snprintf(line, sizeof(line), "%c", spin[out->spin++ % 4]);
	if (out->n_live)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " running %s \"%.60s\" %.1fs",
				      fl_activity_type_name(out->live[0].a->type),
				      out->live[0].a->name,
				      (double)(now - out->live[0].start_ms) / 1000.0);
	if (out->n_live > 1 && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " (+%zu more)", out->n_live - 1);
	if (out->status_fn)
		out->status_fn(out->status_arg, more, sizeof(more),
			       cols > n + 4 ? cols - n - 4 : 1);
	if (!out->n_live && !more[0]) {
		fflush(out->o.f);
		return;
	}
	if (more[0] && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "%s%s", out->n_live ? " \xc2\xb7 " : " ",
			 more);
	/* One line: a line that wraps could not be erased by the next redraw. */
	fl_out_fit(line, cols - 1);
	fputs(fl_c(out, C_DIM), out->o.f);
	fl_out_fputs_safe(out->o.f, line); /* the name comes from the experiment */
	fputs(fl_c(out, C_RESET), out->o.f);
	fflush(out->o.f);
	out->line_shown = true;
}

void fl_out_set_status(struct fl_out *out, fl_out_status_fn fn, void *arg)
{
	if (!out)
		return;
	pthread_mutex_lock(&out->lock);
	out->status_fn = fn;
	out->status_arg = arg;
	pthread_mutex_unlock(&out->lock);
}

static void *fl_out_ticker(void *arg)
{
	struct fl_out *out = arg;

	pthread_mutex_lock(&out->lock);
	while (!out->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&out->cond, &out->lock, &ts);
		if (!out->stopping && (out->n_live || out->status_fn))
			fl_out_draw_line(out);
	}
	pthread_mutex_unlock(&out->lock);
	return NULL;
}

struct fl_out *fl_out_new(const struct fl_out_opts *o)
{
	struct fl_out *out = calloc(1, sizeof(*out));

	if (!out)
		return NULL;
	out->o = *o;
	if (!out->o.f)
		out->o.f = stdout;
	pthread_mutex_init(&out->lock, NULL);
	pthread_cond_init(&out->cond, NULL);
	if (out->o.tty && !out->o.quiet)
		out->ticker_running = pthread_create(&out->ticker, NULL, fl_out_ticker, out) == 0;
	return out;
}

void fl_out_free(struct fl_out *out)
{
	if (!out)
		return;
	pthread_mutex_lock(&out->lock);
	out->stopping = true;
	pthread_cond_signal(&out->cond);
	pthread_mutex_unlock(&out->lock);
	if (out->ticker_running)
		pthread_join(out->ticker, NULL);
	pthread_mutex_lock(&out->lock);
	fl_out_clear_line(out);
	fflush(out->o.f);
	pthread_mutex_unlock(&out->lock);
	pthread_cond_destroy(&out->cond);
	pthread_mutex_destroy(&out->lock);
	free(out);
}

static void fl_out_vline(struct fl_out *out, const char *pre, const char *fmt, va_list ap)
    FL_PRINTF(3, 0);

static void fl_out_vline(struct fl_out *out, const char *pre, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&out->lock);
	fl_out_clear_line(out);
	fputs(pre, out->o.f);
	fl_safe_vprintf(out->o.f, fmt, ap);
	fputc('\n', out->o.f);
	if (out->o.tty && out->n_live)
		fl_out_draw_line(out);
	fflush(out->o.f);
	pthread_mutex_unlock(&out->lock);
}

void fl_out_phase(struct fl_out *out, const char *fmt, ...)
{
	va_list ap;
	char pre[32];

	if (!out || out->o.quiet)
		return;
	snprintf(pre, sizeof(pre), "%s", fl_c(out, C_BOLD));
	va_start(ap, fmt);
	pthread_mutex_lock(&out->lock);
	fl_out_clear_line(out);
	fputs(pre, out->o.f);
	fl_safe_vprintf(out->o.f, fmt, ap);
	fprintf(out->o.f, "%s\n", fl_c(out, C_RESET));
	fflush(out->o.f);
	pthread_mutex_unlock(&out->lock);
	va_end(ap);
}

void fl_out_note(struct fl_out *out, const char *fmt, ...)
{
	va_list ap;

	if (!out || out->o.quiet)
		return;
	va_start(ap, fmt);
	fl_out_vline(out, "  .. ", fmt, ap);
	va_end(ap);
}

void fl_out_warn(struct fl_out *out, const char *fmt, ...)
{
	va_list ap;

	if (!out)
		return;
	va_start(ap, fmt);
	fl_out_vline(out, "  .. ", fmt, ap);
	va_end(ap);
}

void fl_out_activity_start(struct fl_out *out, const struct fl_activity *a)
{
	if (!out || out->o.quiet)
		return;
	pthread_mutex_lock(&out->lock);
	if (out->n_live < FL_OUT_LIVE_MAX)
		out->live[out->n_live++] = (struct fl_out_live){a, fl_now_mono_ms()};
	if (out->o.tty)
		fl_out_draw_line(out);
	pthread_mutex_unlock(&out->lock);
}

/* A short one-line view of an output for the terminal. */
static void fl_out_brief(const cJSON *res, char *buf, size_t len)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(res, "status");

	buf[0] = '\0';
	if (cJSON_IsNumber(st))
		snprintf(buf, len, "status %d", st->valueint);
}

void fl_out_activity_end(struct fl_out *out, const struct fl_activity *a, const cJSON *run)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(run, "status");
	const cJSON *tm = cJSON_GetObjectItemCaseSensitive(run, "tolerance_met");
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(run, "tolerance_detail");
	const cJSON *ex = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(run, "exception"), 0);
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(run, "duration");
	bool failed = !cJSON_IsString(status) || strcmp(status->valuestring, "succeeded") != 0;
	const char *word, *color;
	char brief[64], why[640] = "";

	if (!out)
		return;
	pthread_mutex_lock(&out->lock);
	for (size_t i = 0; i < out->n_live; i++) {
		if (out->live[i].a == a) {
			memmove(&out->live[i], &out->live[i + 1],
				(out->n_live - i - 1) * sizeof(out->live[0]));
			out->n_live--;
			break;
		}
	}
	pthread_mutex_unlock(&out->lock);
	if (out->o.quiet)
		return;

	fl_out_brief(cJSON_GetObjectItemCaseSensitive(run, "output"), brief, sizeof(brief));
	if (failed) {
		word = "FAILED ";
		color = C_RED;
		if (cJSON_IsString(ex))
			snprintf(why, sizeof(why), ": %.*s",
				 (int)strcspn(
				     ex->valuestring + strlen("faultline.ActivityFailed: "), "\n"),
				 ex->valuestring + strlen("faultline.ActivityFailed: "));
	} else if (tm && !cJSON_IsTrue(tm)) {
		word = "NOT MET";
		color = C_RED;
		if (cJSON_IsString(detail))
			snprintf(why, sizeof(why), ": %s", detail->valuestring);
	} else {
		word = "ok     ";
		color = C_GREEN;
		if (brief[0])
			snprintf(why, sizeof(why), " %s", brief);
	}
	pthread_mutex_lock(&out->lock);
	fl_out_clear_line(out);
	fprintf(out->o.f, "  %s%s%s ", fl_c(out, color), word, fl_c(out, C_RESET));
	fl_safe_printf(out->o.f, "%-6s \"%s\"%s (%.3fs)%s\n", fl_activity_type_name(a->type),
		       a->name, a->background ? " [background]" : "",
		       cJSON_IsNumber(dur) ? dur->valuedouble : 0.0, why);
	if (out->o.tty && out->n_live)
		fl_out_draw_line(out);
	fflush(out->o.f);
	pthread_mutex_unlock(&out->lock);
}

void fl_out_verdict(struct fl_out *out, const cJSON *journal, const char *journal_path,
		    const char *junit_path)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(journal, "status");
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(journal, "deviated");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(journal, "reason");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(journal, "duration");
	const cJSON *ssb = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(journal, "steady_states"), "before");
	const char *s = cJSON_IsString(st) ? st->valuestring : "failed";
	const char *word, *color;

	if (!out)
		return;
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(journal, "exit_code");

	/* "completed" is chaoslib's word for a run that went to its end; the verdict
	 * is faultline's exit code (a gate not met, an activity that failed: 1) */
	if (strcmp(s, "completed") == 0 && !cJSON_IsTrue(dev) &&
	    (!cJSON_IsNumber(code) || code->valuedouble == 0)) {
		word = cJSON_IsNull(ssb) || !ssb ? "COMPLETED (no steady-state hypothesis to check)"
						 : "steady state HELD";
		color = C_GREEN;
	} else if (strcmp(s, "interrupted") == 0) {
		/* exit 3 whatever was seen before the signal: say so first */
		word = cJSON_IsTrue(dev) ? "INTERRUPTED (the steady state had DEVIATED)"
					 : "INTERRUPTED";
		color = C_YELLOW;
	} else if (cJSON_IsTrue(dev)) {
		word = "steady state DEVIATED";
		color = C_RED;
	} else if (strcmp(s, "aborted") == 0) {
		word = "ABORTED";
		color = C_RED;
	} else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ssb, "steady_state_met"))) {
		word = "FAILED (steady state not met before the method)";
		color = C_RED;
	} else {
		word = "FAILED";
		color = C_RED;
	}
	pthread_mutex_lock(&out->lock);
	fl_out_clear_line(out);
	fprintf(out->o.f, "%sResult: %s%s%s%s (%.1fs)\n", out->o.quiet ? "" : "\n",
		fl_c(out, C_BOLD), fl_c(out, color), word, fl_c(out, C_RESET),
		cJSON_IsNumber(dur) ? dur->valuedouble : 0.0);
	if (cJSON_IsString(reason))
		fprintf(out->o.f, "  %s\n", reason->valuestring);
	if (journal_path)
		fprintf(out->o.f, "  journal: %s\n", journal_path);
	if (junit_path)
		fprintf(out->o.f, "  junit:   %s\n", junit_path);
	fflush(out->o.f);
	pthread_mutex_unlock(&out->lock);
}

static void fl_plan_activity(FILE *f, size_t i, const struct fl_activity *a, bool hypothesis,
			     fl_out_plan_cb cb, void *opaque)
{
	const struct fl_activity *eff = a->ref ? a->ref : a;
	const struct fl_provider *p = &eff->provider;
	char d[32], tol[256];

	fprintf(f, "  %zu. %s \"%s\"", i + 1, fl_activity_type_name(eff->type), eff->name);
	if (a->ref)
		fprintf(f, " (ref)");
	fputs(": ", f);
	switch (p->type) {
	case FL_PROVIDER_PROCESS:
		fprintf(f, "process %s", p->path);
		if (p->shell_args)
			fprintf(f, " %s (through /bin/sh -c)", p->shell_args);
		for (size_t k = 0; k < p->argc; k++)
			fprintf(f, strpbrk(p->argv[k], " \t\"'") ? " '%s'" : " %s", p->argv[k]);
		break;
	case FL_PROVIDER_HTTP:
		fprintf(f, "http %s %s", p->method ? p->method : "GET", p->url);
		if (p->expected_status >= 0)
			fprintf(f, " (expect %ld)", p->expected_status);
		break;
	case FL_PROVIDER_FAULT:
		fprintf(f, "fault %s target %s params %s", p->kind ? p->kind : "?",
			p->target_json ? p->target_json : "{}",
			p->params_json ? p->params_json : "{}");
		if (p->duration_ms)
			fprintf(f, " for %s", fl_duration_fmt(p->duration_ms * 1000, d, sizeof(d)));
		break;
	case FL_PROVIDER_LOAD: /* probes of controller/slo.h */
	case FL_PROVIDER_PROMETHEUS:
	case FL_PROVIDER_TCP:
	case FL_PROVIDER_RUNNING:
		fl_probe_describe(p, f);
		break;
	case FL_PROVIDER__MAX:
		break;
	}
	if (p->timeout_ms)
		fprintf(f, " [timeout %s]", fl_duration_fmt(p->timeout_ms * 1000, d, sizeof(d)));
	if (a->background)
		fputs(" [background]", f);
	if (eff->pause_before_ms)
		fprintf(f, " [pause before %s]",
			fl_duration_fmt(eff->pause_before_ms * 1000, d, sizeof(d)));
	if (eff->pause_after_ms)
		fprintf(f, " [pause after %s]",
			fl_duration_fmt(eff->pause_after_ms * 1000, d, sizeof(d)));
	if (hypothesis) {
		const struct fl_tolerance *t =
		    a->tolerance.type != FL_TOL_NONE ? &a->tolerance : &eff->tolerance;

		fl_slo_plan_mode(f, a); /* [during, every 1s] (controller/slo.c) */
		fprintf(f, "; tolerance %s", fl_tolerance_describe(t, tol, sizeof(tol)));
	}
	fputc('\n', f);
	if (cb)
		cb(f, a, opaque);
}

static void fl_out_plan_to(FILE *f, const struct fl_experiment *e, enum fl_rollback_strategy rs,
			   fl_out_plan_cb cb, void *opaque);

/* The plan, through a stream that escapes control characters (fl_safe_write). */
void fl_out_plan(FILE *f, const struct fl_experiment *e, enum fl_rollback_strategy rs,
		 fl_out_plan_cb cb, void *opaque)
{
	cookie_io_functions_t io = {.write = fl_safe_cookie_write};
	FILE *safe = fopencookie(f, "w", io);

	fl_out_plan_to(safe ? safe : f, e, rs, cb, opaque);
	if (safe)
		fclose(safe);
	fflush(f);
}

static void fl_out_plan_to(FILE *f, const struct fl_experiment *e, enum fl_rollback_strategy rs,
			   fl_out_plan_cb cb, void *opaque)
{
	static const char *const rs_doc[FL_ROLLBACK__MAX] = {
	    [FL_ROLLBACK_ALWAYS] = "run whatever happened",
	    [FL_ROLLBACK_DEFAULT] = "skipped if the hypothesis failed or on interrupt",
	    [FL_ROLLBACK_DEVIATED] = "run only if the hypothesis deviated",
	    [FL_ROLLBACK_NEVER] = "never run",
	};
	char d[32];

	fprintf(f, "Dry run of \"%s\"%s%s%s: nothing is run, no report is written.\n", e->title,
		e->source_path ? " (" : "", e->source_path ? e->source_path : "",
		e->source_path ? ")" : "");
	if (e->has_hypothesis && e->hypothesis.n) {
		fprintf(f, "Steady state hypothesis (before and after the method): %s\n",
			e->hypothesis_title ? e->hypothesis_title : "");
		for (size_t i = 0; i < e->hypothesis.n; i++)
			fl_plan_activity(f, i, &e->hypothesis.v[i], true, cb, opaque);
	} else {
		fprintf(f, "No steady-state hypothesis: exploratory run\n");
	}
	fprintf(f, "Method\n");
	for (size_t i = 0; i < e->method.n; i++)
		fl_plan_activity(f, i, &e->method.v[i], false, cb, opaque);
	if (e->abort.n)
		fprintf(f,
			"Abort conditions (sampled through the method; one failing stops the run, "
			"reverts every fault and runs the rollbacks)\n");
	for (size_t i = 0; i < e->abort.n; i++)
		fl_plan_activity(f, i, &e->abort.v[i], true, cb, opaque);
	fprintf(f, "Rollbacks (strategy %s: %s)\n", fl_rollback_strategy_name(rs),
		rs < FL_ROLLBACK__MAX ? rs_doc[rs] : "");
	for (size_t i = 0; i < e->rollbacks.n; i++)
		fl_plan_activity(f, i, &e->rollbacks.v[i], false, cb, opaque);
	if (e->timeout_ms)
		fprintf(f, "Timeout: %s\n", fl_duration_fmt(e->timeout_ms * 1000, d, sizeof(d)));
}
