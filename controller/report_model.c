/*
 * A journal laid out on one time axis (controller/report_model.h).
 *
 * Where things come from:
 *   steady_states.before/after.probes[], run[], rollbacks[]: activity records
 *     (start, end, status, tolerance_met, exception, activity.pauses);
 *   run[] records of fault activities: output.agents[].applied.{applied_at,
 *     expires_at} (the agent's lease), else the record's start and
 *     output.duration_ms;
 *   fault_reverts[].at: when the runner reverted every live fault (a fault
 *     ends at its lease or the first revert after it was applied);
 *   steady_states.during[]: sampled windows (start, end, series).
 */
#include "controller/report_model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/runner.h"

const char *const fl_rm_phase_names[FL_RM_PHASE__MAX] = {
    [FL_RM_BEFORE] = "before",	     [FL_RM_METHOD] = "method", [FL_RM_AFTER] = "after",
    [FL_RM_ROLLBACKS] = "rollbacks", [FL_RM_DURING] = "during",
};

const char *fl_rm_str(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

double fl_rm_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

size_t fl_rm_utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (!n)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* n digits of s as a number; -1 when they are not all digits. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Grammar (RFC 3339 with the variants journals have):
 *   time := date ("T" | "t" | " ") hh ":" mm ":" ss ["." 1*digit] [zone]
 *   date := yyyy "-" mm "-" dd;  zone := "Z" | "z" | ("+" | "-") hh ":" mm
 * No zone is UTC (Chaos Toolkit writes UTC without one).
 */
int fl_report_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, fd = 0, off = 0;
	struct tm tm = {0};
	time_t t;

	if (!s || strlen(s) < 19)
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60 || s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++) {
			if (fd < 3) {
				frac = frac * 10 + (*s - '0');
				fd++;
			}
		}
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh = digits(s + 1, 2), om = strlen(s) >= 6 ? digits(s + 4, 2) : -1;

		if (oh < 0 || oh > 23 || om < 0 || om > 59 || s[3] != ':')
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*s == '+' ? 1 : -1);
		s += 6;
	}
	if (*s)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ms = ((int64_t)t - off) * 1000 + frac;
	return 0;
}

/* Seconds from the run's start of a timestamp key, or NAN. */
static double rel(const struct fl_report_model *m, const cJSON *o, const char *key)
{
	int64_t t;

	if (!m->start_ms || fl_report_parse_time(fl_rm_str(o, key, NULL), &t) < 0)
		return NAN;
	return (double)(t - m->start_ms) / 1000.0;
}

static struct fl_rm_item *add(struct fl_report_model *m)
{
	struct fl_rm_item *it;

	if (m->n_items >= FL_RM_ITEMS_MAX) {
		m->dropped++;
		return NULL;
	}
	it = &m->items[m->n_items++];
	memset(it, 0, sizeof(*it));
	it->t0 = it->t1 = NAN;
	it->status = FL_RM_UNKNOWN;
	return it;
}

/* The first line of a record's first exception, without faultline's prefix. */
static const char *first_exception(const cJSON *rec)
{
	static const char pfx[] = "faultline.ActivityFailed: ";
	const cJSON *ex = get(rec, "exception"), *line;

	line = cJSON_IsArray(ex) ? cJSON_GetArrayItem(ex, 0) : ex;
	if (!cJSON_IsString(line) || !line->valuestring)
		return NULL;
	if (strncmp(line->valuestring, pfx, sizeof(pfx) - 1) == 0)
		return line->valuestring + sizeof(pfx) - 1;
	return line->valuestring;
}

static double pause_s(const cJSON *activity, const char *when)
{
	double v = fl_rm_num(get(activity, "pauses"), when);

	return v > 0 && v < 1e7 ? v : NAN;
}

static void add_faults(struct fl_report_model *m, const struct fl_rm_item *act)
{
	const cJSON *out = get(act->rec, "output"), *ag;
	double dur_ms = fl_rm_num(out, "duration_ms");

	if (!cJSON_IsArray(get(out, "agents")))
		return;
	cJSON_ArrayForEach(ag, get(out, "agents"))
	{
		const cJSON *ap = get(ag, "applied");
		struct fl_rm_item *f;
		double t0, exp, rv = NAN;

		if (!cJSON_IsObject(ap))
			continue; /* refused, or never applied: no window */
		f = add(m);
		if (!f)
			return;
		m->n_faults++;
		f->kind = FL_RM_FAULT;
		f->phase = act->phase;
		f->status = FL_RM_OK;
		f->name = act->name;
		f->type = act->type;
		f->provider = "fault";
		f->rec = act->rec;
		f->agent = ag;
		t0 = rel(m, ap, "applied_at");
		if (isnan(t0))
			t0 = act->t0;
		exp = rel(m, ap, "expires_at");
		if (isnan(exp) && !isnan(t0) && dur_ms > 0)
			exp = t0 + dur_ms / 1000.0;
		for (size_t i = 0; i < m->n_reverts; i++)
			if (!isnan(t0) && m->reverts[i] >= t0 - 0.001 &&
			    (isnan(rv) || m->reverts[i] < rv))
				rv = m->reverts[i];
		f->t0 = t0;
		if (!isnan(exp) && (isnan(rv) || exp <= rv)) {
			f->t1 = exp;
			f->ended = "its lease ended";
		} else if (!isnan(rv)) {
			f->t1 = rv;
			f->ended = "reverted";
		} else {
			f->t1 = m->duration;
			f->ended = "the run ended";
		}
	}
}

static void add_record(struct fl_report_model *m, const cJSON *rec, enum fl_rm_phase ph,
		       bool hypothesis)
{
	const cJSON *act = get(rec, "activity");
	const char *st = fl_rm_str(rec, "status", NULL);
	const cJSON *tm = get(rec, "tolerance_met");
	struct fl_rm_item *it;
	double pb, pa;

	if (!cJSON_IsObject(rec))
		return;
	pb = pause_s(act, "before");
	if (!isnan(pb) && !isnan(rel(m, rec, "start")) && (it = add(m))) {
		it->kind = FL_RM_PAUSE;
		it->phase = ph;
		it->status = FL_RM_OK;
		it->name = fl_rm_str(act, "name", "(unnamed)");
		it->t1 = rel(m, rec, "start");
		it->t0 = it->t1 - pb;
		if (it->t0 < 0)
			it->t0 = 0;
		it->rec = rec;
	}
	it = add(m);
	if (!it)
		return;
	it->kind = FL_RM_ACTIVITY;
	it->phase = ph;
	it->name = fl_rm_str(act, "name", fl_rm_str(act, "ref", "(unnamed)"));
	it->type = fl_rm_str(act, "type", NULL);
	it->provider = fl_rm_str(get(act, "provider"), "type", NULL);
	it->background = cJSON_IsTrue(get(act, "background"));
	it->rec = rec;
	it->t0 = rel(m, rec, "start");
	it->t1 = rel(m, rec, "end");
	if (isnan(it->t1) && !isnan(it->t0) && fl_rm_num(rec, "duration") >= 0)
		it->t1 = it->t0 + fl_rm_num(rec, "duration");
	if (st && strcmp(st, "succeeded") != 0) {
		it->status = FL_RM_FAILED;
		it->detail = first_exception(rec);
		m->n_failed++;
	} else if (hypothesis && cJSON_IsBool(tm) && !cJSON_IsTrue(tm)) {
		it->status = FL_RM_NOT_MET;
		it->detail = fl_rm_str(rec, "tolerance_detail", "out of tolerance");
		m->n_not_met++;
	} else if (st) {
		it->status = FL_RM_OK;
	}
	if (it->provider && !strcmp(it->provider, "fault") && it->status == FL_RM_OK)
		add_faults(m, it);
	pa = pause_s(act, "after");
	if (!isnan(pa) && !isnan(it->t1) && it->status == FL_RM_OK) {
		struct fl_rm_item *p = add(m);

		if (p) {
			p->kind = FL_RM_PAUSE;
			p->phase = ph;
			p->status = FL_RM_OK;
			p->name = it->name;
			p->t0 = it->t1;
			p->t1 = it->t1 + pa;
			p->rec = rec;
		}
	}
}

static void add_list(struct fl_report_model *m, const cJSON *list, enum fl_rm_phase ph,
		     bool hypothesis)
{
	const cJSON *rec;

	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(rec, list)
	{
		add_record(m, rec, ph, hypothesis);
	}
}

static void add_windows(struct fl_report_model *m, const cJSON *during)
{
	const cJSON *rec;

	if (!cJSON_IsArray(during))
		return;
	cJSON_ArrayForEach(rec, during)
	{
		struct fl_rm_item *it;

		if (!cJSON_IsObject(rec) || !(it = add(m)))
			continue;
		it->kind = FL_RM_WINDOW;
		it->phase = FL_RM_DURING;
		it->name = fl_rm_str(rec, "name", "(unnamed probe)");
		it->type = "probe";
		it->provider = fl_rm_str(rec, "provider", NULL);
		it->rec = rec;
		it->t0 = rel(m, rec, "start");
		it->t1 = rel(m, rec, "end");
		if (isnan(it->t1) && !isnan(it->t0) && fl_rm_num(rec, "duration") >= 0)
			it->t1 = it->t0 + fl_rm_num(rec, "duration");
		if (cJSON_IsBool(get(rec, "tolerance_met")) &&
		    !cJSON_IsTrue(get(rec, "tolerance_met"))) {
			it->status = FL_RM_NOT_MET;
			it->detail = fl_rm_str(rec, "tolerance_detail", "out of tolerance");
			m->n_not_met++;
		} else if (strcmp(fl_rm_str(rec, "status", "succeeded"), "succeeded") != 0) {
			it->status = FL_RM_FAILED;
			it->detail = fl_rm_str(rec, "tolerance_detail", NULL);
			m->n_failed++;
		} else {
			it->status = FL_RM_OK;
		}
	}
}

/* The verdict in words, as `faultline run` prints it. */
static void verdict(struct fl_report_model *m)
{
	const char *s = m->status;
	const cJSON *before = get(get(m->j, "steady_states"), "before");
	const cJSON *pf = get(m->j, "preflight");
	double ec = fl_rm_num(m->j, "exit_code");

	if (!isnan(ec) && ec >= 0 && ec <= 255 && ec == floor(ec))
		m->exit_code = (int)ec;
	else if (s)
		m->exit_code = fl_runner_exit_code(m->j);
	else
		m->exit_code = -1;
	if (!s) {
		m->verdict = "UNKNOWN (the journal has no status)";
		m->verdict_class = "unknown";
	} else if (!strcmp(s, "interrupted")) {
		m->verdict =
		    m->deviated ? "INTERRUPTED (the steady state had DEVIATED)" : "INTERRUPTED";
		m->verdict_class = "interrupted";
	} else if (m->deviated) {
		m->verdict = "steady state DEVIATED";
		m->verdict_class = "deviated";
	} else if (cJSON_IsFalse(get(pf, "ok"))) {
		m->verdict = "PRE-FLIGHT FAILED (nothing was run)";
		m->verdict_class = "aborted";
	} else if (!strcmp(s, "aborted")) {
		m->verdict = "ABORTED";
		m->verdict_class = "aborted";
	} else if (!strcmp(s, "completed")) {
		m->verdict = cJSON_IsObject(before)
				 ? "steady state HELD"
				 : "COMPLETED (no steady-state hypothesis to check)";
		m->verdict_class = "held";
	} else if (!strcmp(s, "failed") && cJSON_IsFalse(get(before, "steady_state_met"))) {
		m->verdict = "FAILED (steady state not met before the method)";
		m->verdict_class = "failed";
	} else if (!strcmp(s, "failed")) {
		m->verdict = "FAILED";
		m->verdict_class = "failed";
	} else {
		m->verdict = "UNKNOWN status";
		m->verdict_class = "unknown";
	}
}

static void widen(double *lo, double *hi, double a, double b)
{
	if (!isnan(a) && (isnan(*lo) || a < *lo))
		*lo = a;
	if (!isnan(b) && (isnan(*hi) || b > *hi))
		*hi = b;
}

int fl_report_model_init(struct fl_report_model *m, const cJSON *j)
{
	const cJSON *ss, *exp, *rv, *rvs;
	int64_t end;

	memset(m, 0, sizeof(*m));
	m->j = j;
	m->duration = NAN;
	m->exit_code = -1;
	for (int p = 0; p < FL_RM_PHASE__MAX; p++)
		m->phase_t0[p] = m->phase_t1[p] = NAN;
	m->items = calloc(FL_RM_ITEMS_MAX, sizeof(*m->items));
	if (!m->items)
		return -ENOMEM;
	exp = get(j, "experiment");
	ss = get(j, "steady_states");
	m->title = fl_rm_str(exp, "title", NULL);
	m->description = fl_rm_str(exp, "description", NULL);
	m->status = fl_rm_str(j, "status", NULL);
	m->reason = fl_rm_str(j, "reason", NULL);
	m->deviated = cJSON_IsTrue(get(j, "deviated"));
	m->duration = fl_rm_num(j, "duration");
	if (fl_report_parse_time(fl_rm_str(j, "start", NULL), &m->start_ms) < 0)
		m->start_ms = 0;
	if (isnan(m->duration) && m->start_ms &&
	    fl_report_parse_time(fl_rm_str(j, "end", NULL), &end) == 0 && end >= m->start_ms)
		m->duration = (double)(end - m->start_ms) / 1000.0;
	verdict(m);
	rvs = cJSON_IsArray(get(j, "fault_reverts")) ? get(j, "fault_reverts") : NULL;
	cJSON_ArrayForEach(rv, rvs)
	{
		double t = rel(m, rv, "at");

		if (!isnan(t) && m->n_reverts < FL_ARRAY_SIZE(m->reverts))
			m->reverts[m->n_reverts++] = t;
	}
	add_list(m, get(get(ss, "before"), "probes"), FL_RM_BEFORE, true);
	add_list(m, get(j, "run"), FL_RM_METHOD, false);
	add_list(m, get(get(ss, "after"), "probes"), FL_RM_AFTER, true);
	add_list(m, get(j, "rollbacks"), FL_RM_ROLLBACKS, false);
	add_windows(m, get(ss, "during"));

	m->span = isnan(m->duration) || m->duration < 0 ? 0 : m->duration;
	for (size_t i = 0; i < m->n_items; i++) {
		struct fl_rm_item *it = &m->items[i];

		/* A time before the start or absurdly late is not placed. */
		if (!(it->t0 >= -1 && it->t0 < 1e8))
			it->t0 = NAN;
		if (!(it->t1 >= -1 && it->t1 < 1e8) || (!isnan(it->t0) && it->t1 < it->t0))
			it->t1 = isnan(it->t0) ? NAN : it->t0;
		if (!isnan(it->t1) && it->t1 > m->span)
			m->span = it->t1;
		if (it->kind == FL_RM_ACTIVITY || it->kind == FL_RM_PAUSE)
			widen(&m->phase_t0[it->phase], &m->phase_t1[it->phase], it->t0, it->t1);
		else if (it->kind == FL_RM_WINDOW)
			widen(&m->phase_t0[FL_RM_DURING], &m->phase_t1[FL_RM_DURING], it->t0,
			      it->t1);
	}
	if (m->span <= 0)
		m->span = 1;
	return 0;
}

void fl_report_model_done(struct fl_report_model *m)
{
	free(m->items);
	memset(m, 0, sizeof(*m));
}
