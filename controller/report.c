/*
 * Journal (JSON) and JUnit XML reports, written atomically.
 *
 * The JUnit layout is the one CI systems read (Jenkins' junit schema,
 * GitLab, GitHub actions): <testsuites> with one <testsuite> per experiment,
 * counts and times as attributes. Test cases: every hypothesis probe per
 * phase, every method activity, every sampled window, every rollback, and
 * the run itself, so that a CI system reading only this file fails exactly
 * the runs whose exit code is not 0 (controller/report.h).
 */
#include "controller/report.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/provider_fault.h"
#include "controller/runner.h"

#define FL_REPORT_MAX (256 * 1024 * 1024)

int fl_report_write_atomic(const char *path, const char *data, size_t len, struct fl_error *err)
{
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, r = 0, dfd;
	size_t off = 0;

	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return fl_error_set(err, -EIO, NULL, "writing to stdout failed");
		return 0;
	}
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = fl_error_set(err, -errno, NULL, "%s: %s", path, strerror(errno));
		goto out;
	}
	fchmod(fd, 0644);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = fl_error_set(err, -errno, NULL, "%s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = fl_error_set(err, -errno, NULL, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = fl_error_set(err, -errno, NULL, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = fl_error_set(err, -errno, NULL, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	/* Make the rename itself durable. */
	dircopy = strdup(path);
	if (dircopy) {
		dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(tmp);
	tmp = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	return r;
}

int fl_report_path_check(const char *path, struct fl_error *err)
{
	char *copy;
	const char *dir;
	struct stat st;
	int r = 0;

	if (!path || !*path)
		return fl_error_set(err, -EINVAL, NULL, "empty report path");
	if (strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fl_error_set(err, -EISDIR, NULL, "%s: is a directory", path);
	copy = strdup(path);
	if (!copy)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	dir = dirname(copy);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		r = fl_error_set(err, -ENOENT, NULL, "%s: directory %s does not exist", path, dir);
	else if (access(dir, W_OK) < 0)
		r = fl_error_set(err, -errno, NULL, "%s: cannot write in %s: %s", path, dir,
				 strerror(errno));
	free(copy);
	return r;
}

int fl_report_journal_write(const cJSON *journal, const char *path, struct fl_error *err)
{
	char *text = cJSON_Print(journal);
	int r;

	if (!text)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	{
		size_t n = strlen(text);

		text[n] = '\0';
		/* A trailing newline, as text files have. */
		char *t2 = realloc(text, n + 2);

		if (!t2) {
			free(text);
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
		text = t2;
		text[n] = '\n';
		text[n + 1] = '\0';
		r = fl_report_write_atomic(path, text, n + 1, err);
	}
	free(text);
	return r;
}

int fl_report_xml_escape(struct fl_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = 0;

	while (*p && r == 0) {
		switch (*p) {
		case '&':
			r = fl_buf_add(b, "&amp;", 5);
			break;
		case '<':
			r = fl_buf_add(b, "&lt;", 4);
			break;
		case '>':
			r = fl_buf_add(b, "&gt;", 4);
			break;
		case '"':
			r = fl_buf_add(b, "&quot;", 6);
			break;
		case '\'':
			r = fl_buf_add(b, "&apos;", 6);
			break;
		case '\t':
		case '\n':
		case '\r':
			r = fl_buf_add(b, p, 1);
			break;
		default:
			/* XML 1.0 forbids other C0 controls even as character references. */
			if (*p < 0x20)
				r = fl_buf_add(b, "\xef\xbf\xbd", 3);
			else if (*p == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
				/* U+FFFE / U+FFFF are not XML characters either. */
				r = fl_buf_add(b, "\xef\xbf\xbd", 3);
				p += 2;
			} else {
				r = fl_buf_add(b, p, 1);
			}
			break;
		}
		p++;
	}
	return r;
}

static const char *fl_jstr(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double fl_jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

enum fl_junit_kind {
	FL_JUNIT_PROBE,	   /* hypothesis probe or sampled window: tolerance judged */
	FL_JUNIT_METHOD,   /* method activity: <failure> when it failed */
	FL_JUNIT_ROLLBACK, /* rollback: <error> when it failed (teardown) */
	FL_JUNIT_RUN,	   /* the run's own verdict */
	FL_JUNIT__MAX
};

struct fl_junit_case {
	enum fl_junit_kind kind;
	const char *phase;
	const char *name;
	const cJSON *rec; /* NULL: skipped (except for FL_JUNIT_RUN) */
	const char *skip_why;
};

/* The first exception line of a record, without its "faultline.ActivityFailed: " prefix. */
static const char *fl_junit_exception(const cJSON *rec, const char *dflt)
{
	static const char pfx[] = "faultline.ActivityFailed: ";
	const cJSON *ex = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "exception"), 0);

	if (!cJSON_IsString(ex))
		return dflt;
	if (strncmp(ex->valuestring, pfx, sizeof(pfx) - 1) == 0)
		return ex->valuestring + sizeof(pfx) - 1;
	return ex->valuestring;
}

/* <system-err> with the text, when there is one. */
static int fl_junit_syserr(struct fl_buf *b, const char *text)
{
	int r = 0;

	if (!text || !*text)
		return 0;
	r |= fl_buf_printf(b, "      <system-err>");
	r |= fl_report_xml_escape(b, text);
	r |= fl_buf_printf(b, "</system-err>\n");
	return r;
}

/* <failure>/<error> with a message (trailing newline dropped) and a text. */
static int fl_junit_problem_err(struct fl_buf *b, const char *elem, const char *type,
				const char *msg, const char *text, const char *syserr)
{
	size_t n = strcspn(msg, "\n");
	char *m = strndup(msg, n);
	int r = 0;

	if (!m)
		return -ENOMEM;
	r |= fl_buf_printf(b, ">\n      <%s type=\"%s\" message=\"", elem, type);
	r |= fl_report_xml_escape(b, m);
	r |= fl_buf_printf(b, "\">");
	r |= fl_report_xml_escape(b, text);
	r |= fl_buf_printf(b, "</%s>\n", elem);
	r |= fl_junit_syserr(b, syserr);
	r |= fl_buf_printf(b, "    </testcase>\n");
	free(m);
	return r;
}

static int fl_junit_problem(struct fl_buf *b, const char *elem, const char *type, const char *msg,
			    const char *text)
{
	return fl_junit_problem_err(b, elem, type, msg, text, NULL);
}

/*
 * The faults whose agent measured no effect (the journal's "fault_effects",
 * docs/agent-api.md "Effect"), one WARNING line each; *n their number.
 */
struct warn_acc {
	struct fl_buf *w;
	unsigned *n;
	int r;
};

static void warn_line(void *p, const char *line)
{
	struct warn_acc *a = p;

	a->r |= fl_buf_printf(a->w, "%s%s", *a->n ? "\n" : "", line);
	(*a->n)++;
}

static int fl_junit_effect_warnings(const cJSON *journal, struct fl_buf *w, unsigned *n)
{
	const cJSON *e;
	int r = 0;

	struct warn_acc acc = {w, n, 0};

	*n = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(journal, "fault_effects"))(void)
	    fl_fault_effect_warnings(fl_jstr(e, "fault_id", "?"), fl_jstr(e, "agent", "?"),
				     cJSON_GetObjectItemCaseSensitive(e, "effect"), warn_line,
				     &acc);
	return r | acc.r;
}

/* A method activity or a rollback: did it run to completion? */
static int fl_junit_activity_xml(struct fl_buf *b, const struct fl_junit_case *c)
{
	const cJSON *rec = c->rec;
	const char *msg = fl_junit_exception(rec, "the activity failed");
	char *out, *text = NULL;
	size_t ml;
	int r;

	if (strcmp(fl_jstr(rec, "status", ""), "succeeded") == 0)
		return fl_buf_printf(b, "/>\n");
	out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rec, "output"));
	ml = strlen(msg);
	if (asprintf(&text, "%s%soutput: %s", msg, ml && msg[ml - 1] == '\n' ? "" : "\n",
		     out ? out : "null") < 0)
		text = NULL;
	free(out);
	if (!text)
		return -ENOMEM;
	if (c->kind == FL_JUNIT_METHOD)
		r = fl_junit_problem(b, "failure", "ActivityFailed", msg, text);
	else
		r = fl_junit_problem(b, "error", "RollbackFailed", msg, text);
	free(text);
	return r;
}

/*
 * The run's own case: passes when the run stands for exit code 0; a <failure>
 * for exit code 1 (deviated, not met before, an activity or rollback failed,
 * aborted), an <error> for 2 (pre-flight refused the plan: nothing ran) and
 * 3 (interrupted: no verdict).
 */
static int fl_junit_run_xml(struct fl_buf *b, const cJSON *journal)
{
	const char *status = fl_jstr(journal, "status", "failed");
	const char *reason = fl_jstr(journal, "reason", NULL);
	bool deviated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(journal, "deviated"));
	const cJSON *before = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(journal, "steady_states"), "before");
	int code = fl_runner_exit_code(journal);
	const char *type;
	char *text = NULL;
	struct fl_buf warn;
	unsigned nwarn = 0;
	int r;

	fl_buf_init(&warn, 1 << 20);
	if (fl_junit_effect_warnings(journal, &warn, &nwarn) < 0) {
		fl_buf_done(&warn);
		return -ENOMEM;
	}
	if (code == FL_EXIT_HELD) {
		r = nwarn ? fl_buf_printf(b, ">\n") | fl_junit_syserr(b, warn.data) |
				fl_buf_printf(b, "    </testcase>\n")
			  : fl_buf_printf(b, "/>\n");
		fl_buf_done(&warn);
		return r;
	}
	if (code == FL_EXIT_NO_EFFECT)
		type = "NoEffect";
	else if (code == FL_EXIT_INTERRUPTED)
		type = "Interrupted";
	else if (code == FL_EXIT_USAGE)
		type = "PreflightFailed";
	else if (deviated)
		type = "Deviated";
	else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(before, "steady_state_met")))
		type = "SteadyStateNotMet";
	else if (strcmp(status, "aborted") == 0)
		type = "Aborted";
	else
		type = "Failed";
	if (!reason)
		reason = deviated ? "the steady state deviated" : "the run did not complete";
	if (asprintf(&text, "status: %s\ndeviated: %s\nexit code: %d\nreason: %s", status,
		     deviated ? "true" : "false", code, reason) < 0) {
		fl_buf_done(&warn);
		return -ENOMEM;
	}
	r = fl_junit_problem_err(
	    b, code == FL_EXIT_FAILED || code == FL_EXIT_NO_EFFECT ? "failure" : "error", type,
	    reason, text, nwarn ? warn.data : NULL);
	free(text);
	fl_buf_done(&warn);
	return r;
}

static int fl_junit_case_xml(struct fl_buf *b, const struct fl_junit_case *c, const cJSON *journal)
{
	const cJSON *rec = c->rec;
	int r = 0;

	r |= fl_buf_printf(b, "    <testcase classname=\"");
	r |= fl_report_xml_escape(b, c->phase);
	r |= fl_buf_printf(b, "\" name=\"");
	r |= fl_report_xml_escape(b, c->name);
	r |= fl_buf_printf(b, "\" time=\"%.3f\"",
			   c->kind == FL_JUNIT_RUN ? fl_jnum(journal, "duration")
			   : rec		   ? fl_jnum(rec, "duration")
						   : 0.0);
	if (c->kind == FL_JUNIT_RUN)
		return r | fl_junit_run_xml(b, journal);
	if (!rec) {
		r |= fl_buf_printf(b, ">\n      <skipped message=\"");
		r |= fl_report_xml_escape(b, c->skip_why);
		r |= fl_buf_printf(b, "\"/>\n    </testcase>\n");
		return r;
	}
	if (c->kind == FL_JUNIT_METHOD || c->kind == FL_JUNIT_ROLLBACK)
		return r | fl_junit_activity_xml(b, c);
	if (strcmp(fl_jstr(rec, "status", ""), "succeeded") != 0) {
		const cJSON *ex =
		    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rec, "exception"), 0);
		const char *msg = cJSON_IsString(ex)
				      ? ex->valuestring
				      : fl_jstr(rec, "tolerance_detail", "the probe failed");
		char *out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rec, "output"));

		r |= fl_buf_printf(b, ">\n      <error type=\"ActivityFailed\" message=\"");
		r |= fl_report_xml_escape(b, msg);
		r |= fl_buf_printf(b, "\">");
		r |= fl_report_xml_escape(b, msg);
		if (out) {
			r |= fl_buf_printf(b, "observed: ");
			r |= fl_report_xml_escape(b, out);
		}
		r |= fl_buf_printf(b, "</error>\n    </testcase>\n");
		free(out);
		return r;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "tolerance_met"))) {
		char *out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rec, "output"));
		const char *why = fl_jstr(rec, "tolerance_detail", "out of tolerance");
		const cJSON *tol = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(rec, "activity"), "tolerance");
		char *tols = tol ? cJSON_PrintUnformatted(tol) : NULL;

		r |= fl_buf_printf(b, ">\n      <failure type=\"ToleranceNotMet\" message=\"");
		r |= fl_report_xml_escape(b, why);
		r |= fl_buf_printf(b, "\">");
		if (tols) {
			r |= fl_buf_printf(b, "tolerance: ");
			r |= fl_report_xml_escape(b, tols);
			r |= fl_buf_printf(b, "\n");
		}
		r |= fl_buf_printf(b, "observed: ");
		r |= fl_report_xml_escape(b, out ? out : "null");
		r |= fl_buf_printf(b, "</failure>\n    </testcase>\n");
		free(out);
		free(tols);
		return r;
	}
	return r | fl_buf_printf(b, "/>\n");
}

/* Names of the hypothesis probes, from the experiment in the journal. */
static const cJSON *fl_junit_probes(const cJSON *journal)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(journal, "experiment");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(exp, "steady-state-hypothesis");

	return cJSON_GetObjectItemCaseSensitive(h, "probes");
}

static const char *fl_probe_name(const cJSON *probe, const cJSON *all)
{
	const char *n = fl_jstr(probe, "name", NULL);
	const char *ref = fl_jstr(probe, "ref", NULL);

	(void)all;
	if (n)
		return n;
	return ref ? ref : "(unnamed probe)";
}

/*
 * Does a hypothesis probe run in this phase (0 before, 1 after)? Its "mode"
 * (docs/experiment-format.md, "Probe modes"): absent/"edge" both, "before",
 * "after"; "during"/"continuous"/"on-fault" neither (their windows are the
 * steady-state-during cases).
 */
static bool fl_junit_in_phase(const cJSON *probe, const cJSON *all, int ph)
{
	const char *ref = fl_jstr(probe, "ref", NULL);
	const char *m;
	const cJSON *it;

	/* a ref runs with its definition's mode (an earlier probe of the list) */
	if (ref) {
		cJSON_ArrayForEach(it, all)
		{
			if (it == probe)
				break;
			if (!fl_jstr(it, "ref", NULL) && !strcmp(fl_jstr(it, "name", ""), ref)) {
				probe = it;
				break;
			}
		}
	}
	m = fl_jstr(probe, "mode", "edge");

	return !strcmp(m, "edge") || !strcmp(m, ph == 0 ? "before" : "after");
}

struct fl_junit_counts {
	size_t n;
	unsigned failures, errors, skipped;
};

/*
 * Cases for a list of activities (method or rollbacks): the declared list
 * from the experiment, matched in order with the records that ran (the
 * runner records them in declared order, leaving out those it never
 * started). A declared activity without a record is <skipped>; a record
 * that matches nothing declared still gets its case, so no failure can hide.
 */
static void fl_junit_list(struct fl_junit_case *cases, struct fl_junit_counts *k,
			  enum fl_junit_kind kind, const char *cls, const cJSON *declared,
			  const cJSON *recs, const char *skip_why)
{
	const cJSON *d, *rec = cJSON_IsArray(recs) ? recs->child : NULL;
	const cJSON *decl = cJSON_IsArray(declared) ? declared : NULL;

	cJSON_ArrayForEach(d, decl)
	{
		const char *name = fl_probe_name(d, NULL);
		struct fl_junit_case *c = &cases[k->n++];
		const cJSON *ra = rec ? cJSON_GetObjectItemCaseSensitive(rec, "activity") : NULL;

		*c = (struct fl_junit_case){.kind = kind, .phase = cls, .name = name};
		if (rec && !strcmp(fl_jstr(ra, "name", ""), name)) {
			c->rec = rec;
			rec = rec->next;
		} else {
			c->skip_why = skip_why;
		}
	}
	for (; rec; rec = rec->next) {
		struct fl_junit_case *c = &cases[k->n++];

		*c = (struct fl_junit_case){
		    .kind = kind,
		    .phase = cls,
		    .name = fl_jstr(cJSON_GetObjectItemCaseSensitive(rec, "activity"), "name",
				    "(unnamed activity)"),
		    .rec = rec};
	}
}

static void fl_junit_count(const struct fl_junit_case *c, struct fl_junit_counts *k)
{
	const cJSON *rec = c->rec;

	if (c->kind == FL_JUNIT_RUN || !rec) {
		if (c->kind != FL_JUNIT_RUN)
			k->skipped++;
		return;
	}
	if (strcmp(fl_jstr(rec, "status", ""), "succeeded") != 0) {
		if (c->kind == FL_JUNIT_METHOD)
			k->failures++;
		else
			k->errors++;
	} else if (c->kind == FL_JUNIT_PROBE &&
		   !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "tolerance_met"))) {
		k->failures++;
	}
}

int fl_report_junit_render(const cJSON *journal, struct fl_buf *b)
{
	static const char *const phases[2] = {"before", "after"};
	const cJSON *ss = cJSON_GetObjectItemCaseSensitive(journal, "steady_states");
	const cJSON *probes = fl_junit_probes(journal);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(journal, "experiment");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(exp, "method");
	const cJSON *rollbacks = cJSON_GetObjectItemCaseSensitive(exp, "rollbacks");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(journal, "run");
	const cJSON *rbrun = cJSON_GetObjectItemCaseSensitive(journal, "rollbacks");
	struct fl_junit_case *cases = NULL;
	struct fl_junit_counts k = {0};
	size_t nprobes = (size_t)cJSON_GetArraySize(probes);
	const char *title = fl_jstr(exp, "title", "experiment");
	const char *start = fl_jstr(journal, "start", "");
	const char *reason = fl_jstr(journal, "reason", NULL);
	const char *status = fl_jstr(journal, "status", "");
	double total = fl_jnum(journal, "duration");
	char *method_skip = NULL, *rb_skip = NULL;
	int r = 0;

	const cJSON *during = cJSON_GetObjectItemCaseSensitive(ss, "during"), *drec;

	cases = calloc(nprobes * 2 + (size_t)cJSON_GetArraySize(during) +
			   (size_t)cJSON_GetArraySize(method) + (size_t)cJSON_GetArraySize(run) +
			   (size_t)cJSON_GetArraySize(rollbacks) +
			   (size_t)cJSON_GetArraySize(rbrun) + 1,
		       sizeof(*cases));
	if (!cases)
		return -ENOMEM;

	/* Why a method activity or a rollback did not run. */
	if (asprintf(&method_skip, "not run: %s", reason ? reason : "the run stopped before it") <
	    0)
		method_skip = NULL;
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(journal, "preflight"), "ok")))
		rb_skip = strdup("not run: pre-flight refused the plan, nothing ran");
	else if (!strcmp(status, "interrupted") && cJSON_GetArraySize(rbrun) > 0)
		rb_skip = strdup("not run: a second signal stopped the rollbacks");
	else if (asprintf(&rb_skip, "not run: rollback strategy \"%s\" skips them after this run",
			  fl_jstr(journal, "rollback_strategy", "?")) < 0)
		rb_skip = NULL;
	if (!method_skip || !rb_skip) {
		r = -ENOMEM;
		goto out;
	}

	for (int ph = 0; ph < 2; ph++) {
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(ss, phases[ph]);
		const cJSON *runs = cJSON_GetObjectItemCaseSensitive(state, "probes");
		const char *cls = ph == 0 ? "steady-state-before" : "steady-state-after";
		const char *why;

		if (ph == 1) {
			/* Chronological order: the method and its sampled windows come first. */
			fl_junit_list(cases, &k, FL_JUNIT_METHOD, "method", method, run,
				      method_skip);
			cJSON_ArrayForEach(drec, during)
			{
				struct fl_junit_case *c = &cases[k.n++];

				/* Sampled probes (during, on-fault, abort): one case per window. */
				*c = (struct fl_junit_case){
				    .kind = FL_JUNIT_PROBE,
				    .phase = "steady-state-during",
				    .name = fl_jstr(drec, "name", "(unnamed probe)"),
				    .rec = drec};
			}
		}
		if (ph == 0)
			why = "the steady-state hypothesis was not checked";
		else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ss, "before")) &&
			 !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(ss, "before"), "steady_state_met")))
			why = "not run: the steady state was not met before the method";
		else
			why = "not run: the run stopped before this check";
		for (size_t i = 0, kk = 0; i < nprobes; i++) {
			struct fl_junit_case *c;

			if (!fl_junit_in_phase(cJSON_GetArrayItem(probes, (int)i), probes, ph))
				continue;
			c = &cases[k.n++];
			*c = (struct fl_junit_case){
			    .kind = FL_JUNIT_PROBE,
			    .phase = cls,
			    .name = fl_probe_name(cJSON_GetArrayItem(probes, (int)i), probes),
			    .rec = cJSON_GetArrayItem(runs, (int)kk++)};
			if (!c->rec)
				c->skip_why = cJSON_IsObject(state)
						  ? "not run: an earlier probe of this phase "
						    "did not meet its tolerance"
						  : why;
		}
	}
	fl_junit_list(cases, &k, FL_JUNIT_ROLLBACK, "rollbacks", rollbacks, rbrun, rb_skip);
	cases[k.n++] = (struct fl_junit_case){
	    .kind = FL_JUNIT_RUN, .phase = "experiment", .name = "experiment run"};
	for (size_t i = 0; i < k.n; i++)
		fl_junit_count(&cases[i], &k);
	if (fl_runner_exit_code(journal) == FL_EXIT_FAILED ||
	    fl_runner_exit_code(journal) == FL_EXIT_NO_EFFECT)
		k.failures++;
	else if (fl_runner_exit_code(journal) != FL_EXIT_HELD)
		k.errors++;

	r |= fl_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	r |= fl_buf_printf(b, "<testsuites name=\"");
	r |= fl_report_xml_escape(b, title);
	/* Jenkins' junit-10.xsd has no "skipped" on <testsuites>: only on <testsuite>. */
	r |= fl_buf_printf(b, "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" time=\"%.3f\">\n",
			   k.n, k.failures, k.errors, total);
	r |= fl_buf_printf(b, "  <testsuite name=\"");
	r |= fl_report_xml_escape(b, title);
	r |= fl_buf_printf(b,
			   "\" tests=\"%zu\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" "
			   "time=\"%.3f\"",
			   k.n, k.failures, k.errors, k.skipped, total);
	if (start[0]) {
		/* The JUnit schema's timestamp is ISO 8601 without a zone designator. */
		char ts[32];

		snprintf(ts, sizeof(ts), "%.19s", start);
		r |= fl_buf_printf(b, " timestamp=\"");
		r |= fl_report_xml_escape(b, ts);
		r |= fl_buf_printf(b, "\"");
	}
	r |= fl_buf_printf(b, " hostname=\"");
	r |= fl_report_xml_escape(b, fl_jstr(journal, "node", "localhost"));
	r |= fl_buf_printf(b, "\">\n");
	r |= fl_buf_printf(b, "    <properties>\n");
	r |= fl_buf_printf(b, "      <property name=\"status\" value=\"");
	r |= fl_report_xml_escape(b, status);
	r |= fl_buf_printf(
	    b, "\"/>\n      <property name=\"deviated\" value=\"%s\"/>\n",
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(journal, "deviated")) ? "true" : "false");
	r |= fl_buf_printf(b, "      <property name=\"exit_code\" value=\"%d\"/>\n",
			   fl_runner_exit_code(journal));
	if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(journal, "faults_without_effect")))
		r |= fl_buf_printf(
		    b, "      <property name=\"faults_without_effect\" value=\"%d\"/>\n",
		    cJSON_GetArraySize(
			cJSON_GetObjectItemCaseSensitive(journal, "faults_without_effect")));
	if (reason) {
		r |= fl_buf_printf(b, "      <property name=\"reason\" value=\"");
		r |= fl_report_xml_escape(b, reason);
		r |= fl_buf_printf(b, "\"/>\n");
	}
	r |= fl_buf_printf(b, "    </properties>\n");
	for (size_t i = 0; i < k.n && r == 0; i++)
		r |= fl_junit_case_xml(b, &cases[i], journal);
	r |= fl_buf_printf(b, "  </testsuite>\n</testsuites>\n");
out:
	free(method_skip);
	free(rb_skip);
	free(cases);
	return r ? -ENOMEM : 0;
}

int fl_report_junit_write(const cJSON *journal, const char *path, struct fl_error *err)
{
	struct fl_buf b;
	int r;

	fl_buf_init(&b, FL_REPORT_MAX);
	r = fl_report_junit_render(journal, &b);
	if (r < 0) {
		fl_buf_done(&b);
		return fl_error_set(err, r, NULL, "junit report too large or out of memory");
	}
	r = fl_report_write_atomic(path, b.data ? b.data : "", b.len, err);
	fl_buf_done(&b);
	return r;
}
