/*
 * The runner, after Chaos Toolkit's chaoslib/run.py:
 *
 *   hypothesis before -- not met --> method and "after" skipped (status
 *        | met                       "completed", or "failed" when a probe failed)
 *   method (pauses, background activities in threads, refs)
 *        |
 *   hypothesis after  -- not met --> deviated (status "completed", or "failed"
 *                                    when a probe failed)
 *        |
 *   revert every live fault (fault session)
 *        |
 *   rollbacks, as --rollback-strategy says
 *
 * Hypothesis probes stop at the first one out of tolerance, as in Chaos
 * Toolkit, and the journal's "status" and "deviated" are what chaoslib 1.45
 * writes. Differences, on purpose, in the exit code only: an activity of the
 * method or a rollback that fails (cannot start, times out, connection
 * error, unexpected HTTP status) and a steady state not met before the method
 * exit 1 (chaos run exits 0); the experiment `timeout` makes the run
 * "aborted"; rollbacks run by default whatever happened ("always").
 * Rollback strategies decide on the status exactly as Chaos Toolkit's do.
 *
 * Interrupts: the first SIGINT/SIGTERM makes opts->cancel_fd readable; every
 * provider polls it and stops its process group or request at once. Faults
 * are reverted, rollbacks run (on cancel_rollbacks_fd, which only a second
 * signal makes readable), status "interrupted".
 */
#include "controller/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "controller/events.h"
#include "controller/provider_fault.h"
#include "controller/output.h"
#include "controller/provider.h"
#include "controller/slo.h"
#include "core/duration.h"

enum fl_phase {
	FL_PHASE_BEFORE,
	FL_PHASE_METHOD,
	FL_PHASE_AFTER,
	FL_PHASE_DURING, /* Chaos Toolkit's during-method-only / continuously passes */
	FL_PHASE_ROLLBACKS,
	FL_PHASE__MAX
};

struct fl_runner {
	const struct fl_experiment *e;
	const struct fl_run_opts *o;
	cJSON *exp_json;   /* the experiment as run (after substitution) */
	uint64_t deadline; /* experiment timeout on the monotonic clock, 0: none */
	pthread_mutex_t fault_lock;
	struct fl_fault_session *faults;
	struct fl_error fault_err; /* why there is no fault session */
	bool has_faults;
	atomic_bool aborted;   /* an agent refused a fault: the all-or-nothing apply was undone */
	atomic_bool in_method; /* only a refusal in the method aborts the run */

	/* Outcome, Chaos Toolkit's way: NULL (completed), "failed", "aborted", "interrupted". */
	const char *status;
	bool deviated;
	bool before_not_met; /* the gate failed: exit 1, whatever the status says */
	unsigned method_failures, rollback_failures;
	char reason[FL_ERROR_MSG_MAX + 256];
	struct fl_slo_monitor *slo; /* during/on-fault/abort sampling (controller/slo.c) */
	bool slo_aborted;
	cJSON *during;	/* the journal's steady_states.during */
	cJSON *reverts; /* the journal's "fault_reverts": when every live fault went, and why */
};

static void fl_runner_reason(struct fl_runner *r, const char *fmt, ...) FL_PRINTF(2, 3);
static void fl_runner_reason(struct fl_runner *r, const char *fmt, ...)
{
	va_list ap;

	if (r->reason[0])
		return; /* the first cause is the one that matters */
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static bool fl_fd_ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

/* Why the run must stop now: -ECANCELED, -ETIMEDOUT, -ECONNABORTED, or 0. */
static int fl_runner_should_stop(const struct fl_runner *r, int cancel_fd, uint64_t deadline)
{
	if (fl_fd_ready(cancel_fd))
		return -ECANCELED;
	if (deadline && fl_now_mono_ms() >= deadline)
		return -ETIMEDOUT;
	if (atomic_load(&r->aborted))
		return -ECONNABORTED;
	return 0;
}

/* Sleep that an interrupt or the deadline cuts short. */
static int fl_pause(uint64_t ms, int cancel_fd, uint64_t deadline)
{
	uint64_t end = fl_now_mono_ms() + ms;

	for (;;) {
		uint64_t now = fl_now_mono_ms(), until = end;
		struct pollfd p = {.fd = cancel_fd, .events = POLLIN};
		int to;

		if (deadline && deadline < until)
			until = deadline;
		if (now >= until)
			return deadline && now >= deadline && now < end ? -ETIMEDOUT : 0;
		to = (int)(until - now > 60000 ? 60000 : until - now);
		if (poll(&p, cancel_fd >= 0 ? 1 : 0, to) > 0 && (p.revents & (POLLIN | POLLHUP)))
			return -ECANCELED;
	}
}

/*
 * Grammar of the paths the parser writes (and this resolver reads):
 *   path := "$" { "." key | "[" digits "]" | "[\"" key "\"]" }
 *   key  := any characters but "." and "["
 */
const cJSON *fl_runner_path_get(const cJSON *root, const char *path)
{
	const cJSON *cur = root;
	const char *p = path;

	if (!root || !path || *p != '$')
		return NULL;
	p++;
	while (*p && cur) {
		char key[FL_EXP_NAME_MAX + 1];
		size_t n = 0;

		if (*p == '.') {
			p++;
			while (*p && *p != '.' && *p != '[' && n < sizeof(key) - 1)
				key[n++] = *p++;
			key[n] = '\0';
			cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		} else if (p[0] == '[' && p[1] == '"') {
			p += 2;
			while (*p && *p != '"' && n < sizeof(key) - 1)
				key[n++] = *p++;
			key[n] = '\0';
			if (p[0] != '"' || p[1] != ']')
				return NULL;
			p += 2;
			cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		} else if (*p == '[') {
			char *end;
			long idx = strtol(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || idx < 0)
				return NULL;
			p = end + 1;
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else {
			return NULL;
		}
	}
	return *p ? NULL : cur;
}

static cJSON *fl_activity_json(const struct fl_runner *r, const struct fl_activity *a)
{
	const cJSON *src = fl_runner_path_get(r->exp_json, a->json_path);
	cJSON *j, *prov;

	if (src && cJSON_IsObject(src))
		return cJSON_Duplicate(src, true);
	/* Fallback: what the typed model knows. */
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", fl_activity_type_name(a->type));
	cJSON_AddStringToObject(j, "name", a->name ? a->name : "");
	prov = cJSON_AddObjectToObject(j, "provider");
	cJSON_AddStringToObject(prov, "type", fl_provider_type_name(a->provider.type));
	return j;
}

static int fl_run_provider(struct fl_runner *r, const struct fl_activity *a, int cancel_fd,
			   uint64_t deadline, cJSON **res, struct fl_error *err)
{
	struct fl_call_opts co = {.cancel_fd = cancel_fd, .deadline_ms = deadline};
	uint64_t sent = 0;
	int ret;

	switch (a->provider.type) {
	case FL_PROVIDER_PROCESS:
		return fl_provider_process_run(&a->provider, &co, res, err);
	case FL_PROVIDER_HTTP:
		return fl_provider_http_run(&a->provider, &co, res, err);
	case FL_PROVIDER_FAULT:
		pthread_mutex_lock(&r->fault_lock);
		if (fl_fd_ready(cancel_fd)) {
			/* Checked under the lock an abort's revert-all takes after it stops
			 * the method: a fault is either applied before that revert (and
			 * reverted by it) or not at all. */
			ret = fl_error_set(err, -ECANCELED, NULL, "the run was stopped");
		} else if (!r->faults) {
			*err = r->fault_err;
			ret = err->code ? err->code : -ENOSYS;
		} else {
			sent = fl_now_mono_ms();
			ret = fl_fault_session_apply(r->faults, a, res, err);
		}
		if (ret == -ECONNABORTED && atomic_load(&r->in_method))
			atomic_store(&r->aborted, true);
		pthread_mutex_unlock(&r->fault_lock);
		if (ret == 0)
			fl_slo_monitor_fault_live(r->slo, sent, a->provider.duration_ms);
		if (ret == 0)
			fl_events_fault_applied(r->o->events, a, *res);
		return ret;
	case FL_PROVIDER_LOAD: /* probes of controller/slo.h */
	case FL_PROVIDER_PROMETHEUS:
	case FL_PROVIDER_TCP:
	case FL_PROVIDER_RUNNING:
		return fl_probe_run(&a->provider, &co, res, err);
	case FL_PROVIDER__MAX:
		break;
	}
	return fl_error_set(err, -EINVAL, NULL, "unknown provider type");
}

static void fl_add_time(cJSON *rec, const char *key, uint64_t wall_ms)
{
	char ts[40];

	cJSON_AddStringToObject(rec, key, fl_time_rfc3339(wall_ms, ts, sizeof(ts)));
}

/*
 * Run one activity with its pauses and return its journal record (NULL when
 * the run was stopped before it began, or without memory). For hypothesis
 * probes the tolerance is judged and "tolerance_met" recorded.
 */
/*
 * A probe as tolerance (chaoslib: within_tolerance's "probe" branch): run it
 * with the value; it holds when it runs without failing, since chaoslib takes
 * bool() of a process or http result, a non-empty dict. A process probe gets
 * "value" and the value as JSON as two more arguments (chaoslib sets its
 * arguments["value"]).
 */
static bool fl_tolerance_probe(struct fl_runner *r, const struct fl_tolerance *t,
			       const cJSON *value, int cancel_fd, uint64_t deadline, char *why,
			       size_t whylen)
{
	struct fl_activity a = {.type = FL_ACTIVITY_PROBE, .name = t->str};
	char *text = value ? cJSON_PrintUnformatted(value) : strdup("null");
	char **argv = NULL;
	struct fl_error err;
	cJSON *res = NULL;
	int ret;

	fl_error_init(&err);
	a.provider = *t->probe;
	if (t->probe->type == FL_PROVIDER_PROCESS && !t->probe->shell_args) {
		argv = calloc(t->probe->argc + 3, sizeof(*argv));
		if (argv) {
			for (size_t i = 0; i < t->probe->argc; i++)
				argv[i] = t->probe->argv[i];
			argv[t->probe->argc] = "value";
			argv[t->probe->argc + 1] = text;
			a.provider.argv = argv;
			a.provider.argc = t->probe->argc + 2;
		}
	}
	ret = !text || (t->probe->type == FL_PROVIDER_PROCESS && !t->probe->shell_args && !argv)
		  ? -ENOMEM
		  : fl_run_provider(r, &a, cancel_fd, deadline, &res, &err);
	if (ret < 0)
		snprintf(why, whylen, "the tolerance probe \"%s\" failed: %s", t->str,
			 err.msg[0] ? err.msg : strerror(-ret));
	cJSON_Delete(res);
	free(argv);
	free(text);
	return ret == 0;
}

static cJSON *fl_execute(struct fl_runner *r, const struct fl_activity *a, bool hypothesis,
			 int cancel_fd, uint64_t deadline, int *rc)
{
	const struct fl_activity *eff = a->ref ? a->ref : a;
	const struct fl_tolerance *tol =
	    a->tolerance.type != FL_TOL_NONE ? &a->tolerance : &eff->tolerance;
	struct fl_error err;
	uint64_t w0, m0, m1;
	cJSON *rec = NULL, *res = NULL;
	int ret;

	fl_error_init(&err);
	*rc = 0;
	if (eff->pause_before_ms) {
		fl_out_note(r->o->out, "pausing %.3gs before \"%s\"", eff->pause_before_ms / 1000.0,
			    eff->name);
		fl_events_pause(r->o->events, eff, eff->pause_before_ms, true);
		ret = fl_pause(eff->pause_before_ms, cancel_fd, deadline);
		fl_events_pause_end(r->o->events, eff);
		if (ret < 0) {
			*rc = ret;
			return NULL;
		}
	}
	fl_out_activity_start(r->o->out, eff);
	fl_events_activity_start(r->o->events, eff);
	w0 = fl_now_wall_ms();
	m0 = fl_now_mono_ms();
	ret = fl_run_provider(r, eff, cancel_fd, deadline, &res, &err);
	m1 = fl_now_mono_ms();

	rec = cJSON_CreateObject();
	if (!rec) {
		cJSON_Delete(res);
		*rc = -ENOMEM;
		return NULL;
	}
	cJSON_AddItemToObject(rec, "activity", fl_activity_json(r, eff));
	cJSON_AddStringToObject(rec, "status", ret < 0 ? "failed" : "succeeded");
	if (res)
		cJSON_AddItemToObject(rec, "output", res);
	else
		cJSON_AddNullToObject(rec, "output");
	fl_add_time(rec, "start", w0);
	fl_add_time(rec, "end", w0 + (m1 - m0));
	cJSON_AddNumberToObject(rec, "duration", (double)(m1 - m0) / 1000.0);
	if (ret < 0) {
		char line[FL_ERROR_MSG_MAX + 64];
		cJSON *ex = cJSON_AddArrayToObject(rec, "exception");

		snprintf(line, sizeof(line), "faultline.ActivityFailed: %s\n",
			 err.msg[0] ? err.msg : strerror(-ret));
		cJSON_AddItemToArray(ex, cJSON_CreateString(line));
	}
	if (hypothesis) {
		char why[FL_ERROR_MSG_MAX + 64] = "";
		bool met = false;

		if (ret < 0)
			snprintf(why, sizeof(why), "the probe failed: %s",
				 err.msg[0] ? err.msg : strerror(-ret));
		else if (tol->type == FL_TOL_PROBE)
			met =
			    fl_tolerance_probe(r, tol, res, cancel_fd, deadline, why, sizeof(why));
		else
			met = fl_tolerance_check(tol, eff->provider.type, res, why, sizeof(why));
		cJSON_AddBoolToObject(rec, "tolerance_met", met);
		if (!met && why[0])
			cJSON_AddStringToObject(rec, "tolerance_detail", why);
	}
	fl_out_activity_end(r->o->out, eff, rec);
	fl_events_activity_end(r->o->events, eff, rec);
	*rc = ret;
	if (eff->pause_after_ms && !fl_runner_should_stop(r, cancel_fd, deadline)) {
		fl_out_note(r->o->out, "pausing %.3gs after \"%s\"", eff->pause_after_ms / 1000.0,
			    eff->name);
		fl_events_pause(r->o->events, eff, eff->pause_after_ms, false);
		(void)fl_pause(eff->pause_after_ms, cancel_fd, deadline);
		fl_events_pause_end(r->o->events, eff);
	}
	return rec;
}

static void fl_runner_stopped(struct fl_runner *r, int why)
{
	if (r->status && strcmp(r->status, "failed") != 0)
		return;
	if (why == -ECANCELED) {
		r->status = "interrupted";
		r->reason[0] = '\0';
		fl_runner_reason(r, "interrupted by a signal");
	} else if (why == -ECONNABORTED) {
		r->status = "aborted"; /* the reason names the agent and what it refused */
	} else if (why == -ETIMEDOUT) {
		char d[32];

		r->status = "aborted";
		r->reason[0] = '\0';
		fl_runner_reason(r, "the experiment's timeout of %s passed",
				 fl_duration_fmt(r->e->timeout_ms * 1000, d, sizeof(d)));
	}
}

/* One steady-state hypothesis pass: {"steady_state_met", "probes"}. */
static cJSON *fl_run_hypothesis(struct fl_runner *r, enum fl_phase phase)
{
	const char *when = phase == FL_PHASE_BEFORE   ? "before"
			   : phase == FL_PHASE_DURING ? "during"
						      : "after";
	bool during = phase == FL_PHASE_DURING;
	cJSON *state = cJSON_CreateObject(), *probes;
	bool probe_failed = false;
	int met = 1, stop;

	if (!state)
		return NULL;
	probes = cJSON_AddArrayToObject(state, "probes");
	fl_out_phase(r->o->out, "Steady state %s the method: %s", when,
		     r->e->hypothesis_title ? r->e->hypothesis_title : "");
	if (!during) /* a pass during the method is not a phase of its own */
		fl_events_phase(r->o->events, when);
	for (size_t i = 0; i < r->e->hypothesis.n; i++) {
		const struct fl_activity *a = &r->e->hypothesis.v[i];
		cJSON *rec, *tm;
		int rc;

		if (!fl_probe_runs_in(a, phase == FL_PHASE_AFTER ? FL_MODE_AFTER : FL_MODE_BEFORE))
			continue; /* "mode": sampled during the method, or the other phase only */
		stop = fl_runner_should_stop(r, r->o->cancel_fd, r->deadline);
		if (stop) {
			if (!during)
				fl_runner_stopped(r, stop);
			met = -1;
			break;
		}
		rec = fl_execute(r, a, true, r->o->cancel_fd, r->deadline, &rc);
		stop = fl_runner_should_stop(r, r->o->cancel_fd, r->deadline);
		if (rec)
			cJSON_AddItemToArray(probes, rec);
		if (stop && (rc == -ECANCELED || rc == -ETIMEDOUT || !rec)) {
			/* Stopped by the interrupt or the timeout: no verdict on this pass. */
			if (!during)
				fl_runner_stopped(r, stop);
			met = -1;
			break;
		}
		if (!rec) {
			met = -1;
			break;
		}
		probe_failed =
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "status"))
			       ?: "",
			   "succeeded") != 0;
		tm = cJSON_GetObjectItemCaseSensitive(rec, "tolerance_met");
		if (!cJSON_IsTrue(tm)) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(rec, "tolerance_detail");

			met = 0;
			if (!during)
				fl_runner_reason(
				    r, "steady state %s the method not met: probe \"%s\": %s", when,
				    a->ref ? a->ref->name : a->name,
				    cJSON_IsString(d) ? d->valuestring : "out of tolerance");
			break;
		}
	}
	if (met < 0)
		cJSON_AddNullToObject(state, "steady_state_met");
	else
		cJSON_AddBoolToObject(state, "steady_state_met", met == 1);
	if (met == 0 && !during) {
		/* chaoslib: "completed" unless a probe itself failed (then "failed");
		 * after the method, deviated either way */
		if (probe_failed && !r->status)
			r->status = "failed";
		if (phase == FL_PHASE_AFTER)
			r->deviated = true;
		else
			r->before_not_met = true;
	}
	return state;
}

struct fl_bg {
	pthread_t thread;
	struct fl_runner *r;
	const struct fl_activity *a;
	int cancel_fd;
	uint64_t deadline;
	cJSON *rec;
	int rc;
	bool started;
};

static void *fl_bg_main(void *arg)
{
	struct fl_bg *bg = arg;

	bg->rec = fl_execute(bg->r, bg->a, false, bg->cancel_fd, bg->deadline, &bg->rc);
	return NULL;
}

/*
 * Run a list of activities (method or rollbacks) in order, background ones
 * in their own threads, waiting for all of them at the end. Returns the
 * records in declared order; counts failures in *failures.
 */
static cJSON *fl_run_list(struct fl_runner *r, const struct fl_activity_list *l, int cancel_fd,
			  uint64_t deadline, unsigned *failures, const char *what)
{
	struct fl_bg *slots = calloc(l->n ? l->n : 1, sizeof(*slots));
	cJSON *out = cJSON_CreateArray();
	int stop = 0;

	if (!slots || !out) {
		free(slots);
		cJSON_Delete(out);
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct fl_activity *a = &l->v[i];
		struct fl_bg *s = &slots[i];

		stop = fl_runner_should_stop(r, cancel_fd, deadline);
		if (stop)
			break;
		*s = (struct fl_bg){.r = r, .a = a, .cancel_fd = cancel_fd, .deadline = deadline};
		if (a->background) {
			if (pthread_create(&s->thread, NULL, fl_bg_main, s) == 0) {
				s->started = true;
				continue;
			}
			/* No thread to be had: run it in the foreground rather than not at all. */
		}
		s->rec = fl_execute(r, a, false, cancel_fd, deadline, &s->rc);
	}
	for (size_t i = 0; i < l->n; i++) {
		struct fl_bg *s = &slots[i];

		if (s->started)
			pthread_join(s->thread, NULL);
		if (s->rc < 0 && s->rc != -ECANCELED) {
			const struct fl_activity *a = l->v[i].ref ? l->v[i].ref : &l->v[i];
			const cJSON *ex =
			    s->rec ? cJSON_GetObjectItemCaseSensitive(s->rec, "exception") : NULL;
			const cJSON *line = cJSON_GetArrayItem(ex, 0);

			(*failures)++;
			if (s->rc == -ECONNABORTED)
				fl_runner_reason(
				    r,
				    "an agent refused fault \"%s\", so it was reverted "
				    "everywhere: %s",
				    a->name,
				    cJSON_IsString(line)
					? line->valuestring + strlen("faultline.ActivityFailed: ")
					: strerror(-s->rc));
			else if (s->rc != -ETIMEDOUT || !deadline || fl_now_mono_ms() < deadline)
				fl_runner_reason(r, "%s \"%s\" failed: %s", what, a->name,
						 cJSON_IsString(line)
						     ? line->valuestring +
							   strlen("faultline.ActivityFailed: ")
						     : strerror(-s->rc));
		}
		if (s->rec)
			cJSON_AddItemToArray(out, s->rec);
	}
	free(slots);
	/* Trim the newline that the exception line carries, if it ended up in the reason. */
	r->reason[strcspn(r->reason, "\n")] = '\0';
	return out;
}

static bool fl_play_rollbacks(const struct fl_runner *r)
{
	if (r->slo_aborted)
		return true; /* an abort condition always rolls back */
	switch (r->o->rollback_strategy) {
	case FL_ROLLBACK_ALWAYS:
		return true;
	case FL_ROLLBACK_NEVER:
		return false;
	case FL_ROLLBACK_DEFAULT:
		return !r->status ||
		       (strcmp(r->status, "failed") != 0 && strcmp(r->status, "interrupted") != 0);
	case FL_ROLLBACK_DEVIATED:
		return r->deviated;
	case FL_ROLLBACK__MAX:
		break;
	}
	return true;
}

static bool fl_list_has_faults(const struct fl_activity_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].provider.type == FL_PROVIDER_FAULT)
			return true;
	return false;
}

static void fl_runner_revert_faults(struct fl_runner *r, const char *why)
{
	struct fl_error err;
	cJSON *rv;
	char ts[40];

	if (!r->faults)
		return;
	fl_error_init(&err);
	pthread_mutex_lock(&r->fault_lock);
	/* For the report's timeline: a fault lives until its lease ends or this revert. */
	if (r->reverts && (rv = cJSON_CreateObject()) && cJSON_AddItemToArray(r->reverts, rv)) {
		cJSON_AddStringToObject(rv, "at",
					fl_time_rfc3339(fl_now_wall_ms(), ts, sizeof(ts)));
		cJSON_AddStringToObject(rv, "why", why);
	}
	fl_events_faults_reverted(r->o->events, why);
	if (fl_fault_session_revert_all(r->faults, &err) < 0) {
		r->rollback_failures++;
		fl_runner_reason(r, "reverting faults failed: %s", err.msg);
		fl_out_note(r->o->out, "reverting faults failed: %s", err.msg);
	}
	pthread_mutex_unlock(&r->fault_lock);
}

/*
 * The agents' notes on the reverts (a container that restarted during a fault, reverted
 * by the recorded identity) into the journal, as "revert_notes" (only when there are
 * any: an addition to Chaos Toolkit's journal shape), and onto the console.
 */
static void fl_runner_revert_notes(struct fl_runner *r, cJSON *j)
{
	const cJSON *notes, *e, *n;

	pthread_mutex_lock(&r->fault_lock);
	notes = fl_fault_session_notes(r->faults);
	if (cJSON_GetArraySize(notes) > 0) {
		cJSON_AddItemToObject(j, "revert_notes", cJSON_Duplicate(notes, true));
		cJSON_ArrayForEach(e, notes)
		{
			const char *id =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "fault_id"));
			const char *ag =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "agent"));

			cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(e, "notes"))
			{
				fl_out_note(r->o->out, "revert of %s on %s: %s", id ? id : "?",
					    ag ? ag : "?",
					    cJSON_IsString(n) ? n->valuestring : "?");
			}
		}
	}
	pthread_mutex_unlock(&r->fault_lock);
}

/*
 * The faults' final effects (measured by each agent just before its revert,
 * docs/agent-api.md "Effect"): one terminal line per fault -- it took effect,
 * with the measure, or a WARNING that it had none -- and into the journal: the
 * list as "fault_effects", each also as "effect" of its agent in the fault
 * activity's output (where the HTML report reads it), and the ids measured
 * without effect (or with a rule that never fired) as "faults_without_effect".
 * Returns how many those are.
 */
static void effect_warn(void *out, const char *line)
{
	fl_out_warn(out, "%s", line); /* with --quiet too */
}

static size_t fl_runner_fault_effects(struct fl_runner *r, cJSON *j)
{
	const cJSON *effects, *e, *item;
	cJSON *none = NULL;
	size_t n_none = 0;

	pthread_mutex_lock(&r->fault_lock);
	effects = fl_fault_session_effects(r->faults);
	cJSON_ArrayForEach(e, effects)
	{
		const char *id =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "fault_id"));
		const char *ag = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "agent"));
		const cJSON *eff = cJSON_GetObjectItemCaseSensitive(e, "effect");
		int verdict = fl_fault_effect_verdict(eff);
		char what[512];

		if (!id || !ag)
			continue;
		fl_fault_effect_summary(eff, what, sizeof(what));
		if (verdict == 1)
			fl_out_note(r->o->out, "fault %s on %s took effect: %s", id, ag, what);
		else if (verdict == -1)
			fl_out_note(r->o->out, "fault %s on %s: effect not measurable (%s)", id, ag,
				    what);
		/* No effect at all, or a rule that never fired: a WARNING line each. */
		if (fl_fault_effect_warnings(id, ag, eff, effect_warn, r->o->out) > 0) {
			if (!none)
				none = cJSON_CreateArray();
			if (none)
				cJSON_AddItemToArray(none, cJSON_CreateString(id));
			n_none++;
		}
		/* The activity that applied it: its agent's entry gets the final effect. */
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "run"))
		{
			const cJSON *out = cJSON_GetObjectItemCaseSensitive(item, "output");
			cJSON *a;

			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out, "fault_id")) ||
			    strcmp(cJSON_GetObjectItemCaseSensitive(out, "fault_id")->valuestring,
				   id))
				continue;
			cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(out, "agents"))
			{
				const char *name = cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(a, "agent"));

				if (!name || strcmp(name, ag))
					continue;
				cJSON_DeleteItemFromObjectCaseSensitive(a, "effect");
				cJSON_AddItemToObject(a, "effect", cJSON_Duplicate(eff, true));
			}
		}
	}
	if (cJSON_GetArraySize(effects) > 0) /* (an addition to Chaos Toolkit's shape) */
		cJSON_AddItemToObject(j, "fault_effects", cJSON_Duplicate(effects, true));
	if (none)
		cJSON_AddItemToObject(j, "faults_without_effect", none);
	pthread_mutex_unlock(&r->fault_lock);
	return n_none;
}

/* ---- steady state under fire: the hooks into controller/slo.c ---- */

/* An abort probe failed (sampling thread): every live fault on every agent goes now. */
static void fl_runner_on_abort(void *arg, const char *why)
{
	struct fl_runner *r = arg;

	fl_out_note(r->o->out, "%s: reverting every live fault now", why);
	fl_runner_revert_faults(r, why);
}

/* Start sampling for the method; returns the fd that stops the method. */
static int fl_runner_slo_start(struct fl_runner *r)
{
	struct fl_slo_monitor_opts so = {.cancel_fd = r->o->cancel_fd,
					 .events = r->o->events,
					 .deadline_ms = r->deadline,
					 .on_abort = fl_runner_on_abort,
					 .arg = r};
	struct fl_error err;

	if (!fl_experiment_samples(r->e))
		return r->o->cancel_fd;
	fl_error_init(&err);
	if (fl_slo_monitor_start(r->e, &so, &r->slo, &err) < 0) {
		r->slo = NULL;
		fl_runner_reason(r, "probes cannot be sampled during the method: %s", err.msg);
		r->status = "failed";
		return r->o->cancel_fd;
	}
	return fl_slo_monitor_method_fd(r->slo);
}

/* The method ended: judge the windows, note an abort. */
static void fl_runner_slo_finish(struct fl_runner *r)
{
	char why[FL_ERROR_MSG_MAX + 256];
	bool met, aborted;

	if (!r->slo)
		return;
	r->during = fl_slo_monitor_finish(r->slo, &met, &aborted, why, sizeof(why));
	/*
	 * The wait for the samples in flight may have met the experiment's timeout or a
	 * signal: then the run stops there, and its windows, cut short, give no verdict.
	 */
	fl_runner_stopped(r, fl_runner_should_stop(r, r->o->cancel_fd, r->deadline));
	for (cJSON *it = r->during ? r->during->child : NULL; it; it = it->next) {
		const cJSON *out = cJSON_GetObjectItem(it, "output");
		const cJSON *lat = cJSON_GetObjectItem(out, "latency_ms");

		fl_out_note(r->o->out, "%s probe \"%s\": %.0f samples, %.0f failed, p95 %.4gms: %s",
			    cJSON_GetStringValue(cJSON_GetObjectItem(it, "mode")),
			    cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")),
			    cJSON_GetNumberValue(cJSON_GetObjectItem(out, "samples")),
			    cJSON_GetNumberValue(cJSON_GetObjectItem(out, "failed")),
			    cJSON_IsNumber(cJSON_GetObjectItem(lat, "p95"))
				? cJSON_GetNumberValue(cJSON_GetObjectItem(lat, "p95"))
				: 0.0,
			    cJSON_IsTrue(cJSON_GetObjectItem(it, "tolerance_met")) ? "met"
										   : "NOT met");
	}
	if (aborted) {
		r->slo_aborted = true;
		if (!r->status || !strcmp(r->status, "failed")) {
			r->status = "aborted";
			r->reason[0] = '\0';
			fl_runner_reason(r, "%s", why);
		}
	} else if (!met && (!r->status || !strcmp(r->status, "failed"))) {
		/* (an interrupted or aborted run's windows are cut short: no verdict from them) */
		r->deviated = true; /* "failed" once the after hypothesis has run too */
		fl_runner_reason(r, "%s", why);
	}
}

/*
 * Chaos Toolkit's during-method-only and continuously strategies: the whole
 * hypothesis, again and again, one second apart, while the method runs; each
 * pass is a state in steady_states.during. As in chaos run without
 * --fail-fast, a pass out of tolerance is recorded and changes nothing else.
 */
struct fl_hypo_during {
	pthread_t thread;
	struct fl_runner *r;
	int stop[2]; /* written when the method is over */
	cJSON *states;
	bool started;
};

static void *fl_hypo_during_main(void *arg)
{
	struct fl_hypo_during *d = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = d->stop[0], .events = POLLIN},
				      {.fd = d->r->o->cancel_fd, .events = POLLIN}};
		cJSON *st = fl_run_hypothesis(d->r, FL_PHASE_DURING);

		if (st)
			cJSON_AddItemToArray(d->states, st);
		if (poll(p, d->r->o->cancel_fd >= 0 ? 2 : 1, FL_PROBE_INTERVAL_DEFAULT_MS) != 0)
			break;
	}
	return NULL;
}

static void fl_hypo_during_start(struct fl_runner *r, struct fl_hypo_during *d)
{
	d->r = r;
	d->states = cJSON_CreateArray();
	if (!d->states || pipe2(d->stop, O_CLOEXEC) < 0)
		return;
	d->started = pthread_create(&d->thread, NULL, fl_hypo_during_main, d) == 0;
	if (!d->started) {
		close(d->stop[0]);
		close(d->stop[1]);
	}
}

/* Stop the passes; their states go to the end of `during`. */
static void fl_hypo_during_stop(struct fl_hypo_during *d, cJSON *during)
{
	if (d->started) {
		if (write(d->stop[1], "x", 1) < 0) {
			/* the thread also stops on its own at the next pass's end */
		}
		pthread_join(d->thread, NULL);
		close(d->stop[0]);
		close(d->stop[1]);
	}
	while (d->states && d->states->child && during)
		cJSON_AddItemToArray(during,
				     cJSON_DetachItemViaPointer(d->states, d->states->child));
	cJSON_Delete(d->states);
	d->states = NULL;
}

/*
 * faultline's exit code: 3 interrupted; 2 the pre-flight failed; 1 aborted,
 * failed, deviated, the steady state not met before the method, or an
 * activity or rollback that failed; else 0 (docs/cli.md).
 */
static int fl_runner_exit(const struct fl_runner *r, const char *status, bool preflight_failed)
{
	if (!strcmp(status, "interrupted"))
		return FL_EXIT_INTERRUPTED;
	if (preflight_failed)
		return FL_EXIT_USAGE;
	if (strcmp(status, "completed") || r->deviated || r->before_not_met || r->method_failures ||
	    r->rollback_failures)
		return FL_EXIT_FAILED;
	return FL_EXIT_HELD;
}

int fl_runner_run(const struct fl_experiment *e, const struct fl_run_opts *o, cJSON **journal,
		  struct fl_error *err)
{
	struct fl_hypo_during hd = {0};
	size_t no_effect = 0;
	enum fl_hypothesis_strategy hs = o->hypothesis_strategy;
	bool gate = hs == FL_HYPO_DEFAULT || hs == FL_HYPO_BEFORE_ONLY || hs == FL_HYPO_CONTINUOUS;
	bool check_after =
	    hs == FL_HYPO_DEFAULT || hs == FL_HYPO_AFTER_ONLY || hs == FL_HYPO_CONTINUOUS;
	bool check_during = hs == FL_HYPO_DURING_ONLY || hs == FL_HYPO_CONTINUOUS;
	struct fl_runner r = {.e = e, .o = o};
	uint64_t w0 = fl_now_wall_ms(), m0 = fl_now_mono_ms();
	struct utsname un;
	cJSON *j = NULL, *ss, *list;
	const char *status;
	bool with_ssh = e->has_hypothesis && e->hypothesis.n > 0;
	bool before_ok = true, preflight_failed = false;
	char ts[40], host[256] = "";
	int ret = 0;

	*journal = NULL;
	fl_error_init(&r.fault_err);
	pthread_mutex_init(&r.fault_lock, NULL);
	if (e->timeout_ms)
		r.deadline = m0 + e->timeout_ms;
	j = cJSON_CreateObject();
	if (!j) {
		ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (e->canonical_json)
		r.exp_json = cJSON_Parse(e->canonical_json);
	/* the version of chaoslib whose journal this one is shaped like (reports index it) */
	cJSON_AddStringToObject(j, "chaoslib-version", FL_CHAOSLIB_VERSION);
	cJSON_AddStringToObject(j, "faultline-version", FL_VERSION);
	if (uname(&un) == 0) {
		char plat[512];

		snprintf(plat, sizeof(plat), "%s-%s-%s", un.sysname, un.release, un.machine);
		cJSON_AddStringToObject(j, "platform", plat);
	}
	gethostname(host, sizeof(host) - 1);
	cJSON_AddStringToObject(j, "node", host);
	cJSON_AddStringToObject(j, "run_id", o->run_id ? o->run_id : "");
	if (r.exp_json) {
		cJSON_AddItemToObject(j, "experiment", r.exp_json);
	} else {
		cJSON *x = cJSON_AddObjectToObject(j, "experiment");

		cJSON_AddStringToObject(x, "title", e->title ? e->title : "");
	}
	cJSON_AddStringToObject(j, "start", fl_time_rfc3339(w0, ts, sizeof(ts)));
	cJSON_AddStringToObject(j, "rollback_strategy",
				fl_rollback_strategy_name(o->rollback_strategy));
	cJSON_AddStringToObject(j, "hypothesis_strategy", fl_hypothesis_strategy_name(hs));
	ss = cJSON_AddObjectToObject(j, "steady_states");
	r.reverts = cJSON_CreateArray();

	/* Fault activities anywhere: open the session now, so its absence is known early. */
	r.has_faults = fl_list_has_faults(&e->hypothesis) || fl_list_has_faults(&e->method) ||
		       fl_list_has_faults(&e->rollbacks);
	if (r.has_faults) {
		struct fl_fault_session_opts fo = {.experiment_id = o->run_id,
						   .inventory_path = o->inventory_path};

		if (fl_fault_session_new(e, &fo, &r.faults, &r.fault_err) < 0) {
			r.faults = NULL;
			fl_out_note(o->out, "fault activities cannot run: %s", r.fault_err.msg);
		}
	}
	/*
	 * Pre-flight: every agent the plan names says whether its kernel can do
	 * what is asked. A "no" stops the run before anything is probed, applied
	 * or rolled back, and names the host and the missing piece.
	 */
	if (r.faults) {
		struct fl_error pe;
		cJSON *pf = cJSON_AddObjectToObject(j, "preflight");

		fl_error_init(&pe);
		preflight_failed = fl_fault_session_preflight(r.faults, &pe) < 0;
		cJSON_AddBoolToObject(pf, "ok", !preflight_failed);
		if (preflight_failed) {
			char msg[FL_ERROR_PATH_MAX + FL_ERROR_MSG_MAX + 8];

			fl_error_str(&pe, msg, sizeof(msg));
			cJSON_AddStringToObject(pf, "error", msg);
			fl_out_note(o->out, "pre-flight failed, nothing was run: %s", msg);
			r.status = "aborted";
			fl_runner_reason(&r, "pre-flight failed: %s", msg);
		}
	}

	/* Hypothesis before: the gate. */
	if (preflight_failed) {
		cJSON_AddNullToObject(ss, "before");
	} else if (with_ssh && gate) {
		cJSON *st = fl_run_hypothesis(&r, FL_PHASE_BEFORE);

		if (st) {
			before_ok = cJSON_IsTrue(cJSON_GetObjectItem(st, "steady_state_met"));
			cJSON_AddItemToObject(ss, "before", st);
		} else {
			before_ok = false;
			r.before_not_met = true;
			cJSON_AddNullToObject(ss, "before");
		}
		if (!before_ok && (r.before_not_met || (r.status && !strcmp(r.status, "failed"))))
			fl_out_note(o->out,
				    "steady state not met before the method: method skipped");
	} else if (with_ssh) {
		cJSON_AddNullToObject(ss, "before");
	} else {
		cJSON_AddNullToObject(ss, "before");
		fl_out_phase(o->out, "No steady-state hypothesis: exploratory run");
	}

	/* Method. */
	if (before_ok && !r.status) {
		int method_fd = fl_runner_slo_start(&r);

		fl_out_phase(o->out, "Method");
		fl_events_phase(o->events, "method");
		if (with_ssh && check_during)
			fl_hypo_during_start(&r, &hd);
		atomic_store(&r.in_method, true);
		list = fl_run_list(&r, &e->method, method_fd, r.deadline, &r.method_failures,
				   "method activity");
		atomic_store(&r.in_method, false);
		cJSON_AddItemToObject(j, "run", list ? list : cJSON_CreateArray());
		fl_runner_stopped(&r, fl_runner_should_stop(&r, o->cancel_fd, r.deadline));
		fl_runner_slo_finish(&r);
		/* The abort is recorded in r.status; it must not stop the rollbacks. */
		atomic_store(&r.aborted, false);
	} else {
		cJSON_AddItemToObject(j, "run", cJSON_CreateArray());
	}

	/* Hypothesis after: did the system deviate? */
	if (!r.during)
		r.during = cJSON_CreateArray();
	fl_hypo_during_stop(&hd, r.during);
	if (with_ssh && check_after && before_ok && (!r.status || !strcmp(r.status, "failed"))) {
		cJSON *st = fl_run_hypothesis(&r, FL_PHASE_AFTER);

		cJSON_AddItemToObject(ss, "after", st ? st : cJSON_CreateNull());
	} else {
		cJSON_AddNullToObject(ss, "after");
	}
	cJSON_AddItemToObject(ss, "during", r.during ? r.during : cJSON_CreateArray());
	r.during = NULL;

	/* Faults go before rollbacks, whatever happened. */
	fl_runner_revert_faults(&r, "the method and the steady state after it are over");
	fl_runner_revert_notes(&r, j);
	no_effect = fl_runner_fault_effects(&r, j);
	if (cJSON_GetArraySize(r.reverts) > 0) /* (an addition to Chaos Toolkit's shape) */
		cJSON_AddItemToObject(j, "fault_reverts", r.reverts);
	else
		cJSON_Delete(r.reverts);
	r.reverts = NULL;

	if (!preflight_failed && fl_play_rollbacks(&r)) {
		if (e->rollbacks.n)
			fl_out_phase(o->out, "Rollbacks (strategy %s)",
				     fl_rollback_strategy_name(o->rollback_strategy));
		fl_events_phase(o->events, "rollbacks");
		list = fl_run_list(&r, &e->rollbacks, o->cancel_rollbacks_fd, 0,
				   &r.rollback_failures, "rollback");
		cJSON_AddItemToObject(j, "rollbacks", list ? list : cJSON_CreateArray());
		if (fl_fd_ready(o->cancel_rollbacks_fd)) {
			r.status = "interrupted";
			fl_out_note(o->out, "second signal: remaining rollbacks skipped");
		}
	} else {
		cJSON_AddItemToObject(j, "rollbacks", cJSON_CreateArray());
		if (e->rollbacks.n)
			fl_out_phase(o->out, "Rollbacks skipped (strategy %s)",
				     fl_rollback_strategy_name(o->rollback_strategy));
	}

	/* A first signal that came after the method (during the after hypothesis's
	 * end, the revert or the rollbacks) still makes the run interrupted. */
	if (fl_fd_ready(o->cancel_fd))
		r.status = "interrupted";
	/* chaoslib: activities and rollbacks that fail leave the status as it is */
	status = r.status;
	if (!status)
		status = "completed";
	if (strcmp(status, "interrupted") == 0)
		snprintf(r.reason, sizeof(r.reason), "interrupted by a signal");
	cJSON_AddStringToObject(j, "status", status);
	cJSON_AddBoolToObject(j, "deviated", r.deviated);
	cJSON_AddBoolToObject(j, "steady_state_met",
			      with_ssh && strcmp(status, "completed") == 0 && !r.deviated &&
				  !r.before_not_met);
	if (r.reason[0])
		cJSON_AddStringToObject(j, "reason", r.reason);
	cJSON_AddStringToObject(j, "end",
				fl_time_rfc3339(w0 + (fl_now_mono_ms() - m0), ts, sizeof(ts)));
	cJSON_AddNumberToObject(j, "duration", (double)(fl_now_mono_ms() - m0) / 1000.0);
	/* What the run stands for, as `faultline run` exits with it (docs/cli.md). */
	{
		int code = fl_runner_exit(&r, status, preflight_failed);

		if (code == FL_EXIT_HELD && no_effect && o->require_effect) {
			char why[96];

			code = FL_EXIT_NO_EFFECT;
			snprintf(why, sizeof(why), "%zu fault(s) had no effect (--require-effect)",
				 no_effect);
			if (!cJSON_GetObjectItemCaseSensitive(j, "reason"))
				cJSON_AddStringToObject(j, "reason", why);
		}
		cJSON_AddNumberToObject(j, "exit_code", code);
	}
	*journal = j;
	j = NULL;
out:
	fl_slo_monitor_free(r.slo);
	cJSON_Delete(r.during);
	cJSON_Delete(r.reverts);
	fl_fault_session_free(r.faults);
	pthread_mutex_destroy(&r.fault_lock);
	cJSON_Delete(j);
	return ret;
}

int fl_runner_exit_code(const cJSON *journal)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(journal, "status");
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(journal, "deviated");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(journal, "exit_code");

	if (cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble <= 4)
		return (int)code->valuedouble;
	if (!cJSON_IsString(st))
		return FL_EXIT_FAILED;
	if (strcmp(st->valuestring, "interrupted") == 0)
		return FL_EXIT_INTERRUPTED;
	if (strcmp(st->valuestring, "completed") == 0 && !cJSON_IsTrue(dev))
		return FL_EXIT_HELD;
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(journal, "preflight"), "ok")))
		return FL_EXIT_USAGE; /* the plan asks what these hosts cannot do */
	return FL_EXIT_FAILED;
}
