/*
 * The monitor that samples probes through the method (its windows:
 * controller/slo_window.c).
 *
 * Threads: one per sampled probe (during, on-fault, abort) plus one that
 * forwards the run's interrupt. Two pipes:
 *  - `stop` closes the windows: no sample starts after it. It is the method's
 *    cancel fd, written when an abort condition is met, when the run is
 *    interrupted, and when the method ends (finish).
 *  - `kill` cuts the samples in flight: written on abort and interrupt (the
 *    run stops at once, cut samples are not counted), and by finish when a
 *    sample in flight is still running past its bound (then it counts, failed).
 * A sample that started before the method ended belongs to the window: finish
 * waits for it, bounded by its timeout (wait_in_flight). Each window is
 * written by its own sampler only and read after the join.
 */
#include "controller/slo.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/events.h"
#include "core/duration.h"

/* ---- providers ------------------------------------------------------------------------ */

bool fl_probe_is_slo_provider(enum fl_provider_type t)
{
	return t == FL_PROVIDER_LOAD || t == FL_PROVIDER_PROMETHEUS || t == FL_PROVIDER_TCP ||
	       t == FL_PROVIDER_RUNNING;
}

int fl_probe_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
		 struct fl_error *err)
{
	*result = NULL;
	if (p->type == FL_PROVIDER_LOAD) {
		struct fl_slo_window w;
		int ret;

		fl_slo_window_init(&w);
		ret = fl_probe_load_drive(p, o, -1, p->duration_ms, &w, NULL, NULL, err);
		*result = fl_slo_window_summary(&w);
		fl_slo_window_done(&w);
		if (!*result && ret == 0)
			ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		return ret;
	}
	if (p->type == FL_PROVIDER_PROMETHEUS)
		return fl_probe_prometheus_run(p, o, result, err);
	if (p->type == FL_PROVIDER_TCP)
		return fl_probe_tcp_run(p, o, result, err);
	if (p->type == FL_PROVIDER_RUNNING)
		return fl_probe_running_run(p, o, result, err);
	return fl_error_set(err, -EINVAL, NULL, "not a probe provider");
}

void fl_probe_describe(const struct fl_provider *p, FILE *f)
{
	if (p->type == FL_PROVIDER_LOAD)
		fprintf(f, "load %s %s at %g/s", p->method ? p->method : "GET", p->url, p->rate);
	else if (p->type == FL_PROVIDER_PROMETHEUS)
		fprintf(f, "prometheus %s query %s", p->url, p->query);
	else if (p->type == FL_PROVIDER_TCP)
		fprintf(f, "tcp connect %s:%u", p->host, p->port);
	else if (p->type == FL_PROVIDER_RUNNING)
		fprintf(f, "running %s", p->target_json ? p->target_json : "{}");
}

void fl_slo_plan_mode(FILE *f, const struct fl_activity *a)
{
	static const char *const names[FL_MODE__MAX] = {
	    [FL_MODE_EDGE] = "before and after", [FL_MODE_BEFORE] = "before only",
	    [FL_MODE_AFTER] = "after only",	 [FL_MODE_DURING] = "during",
	    [FL_MODE_ON_FAULT] = "on-fault",
	};
	char d[32];

	if (a->mode == FL_MODE_EDGE || a->mode >= FL_MODE__MAX)
		return;
	fprintf(f, " [%s", names[a->mode]);
	if (a->mode == FL_MODE_DURING || a->mode == FL_MODE_ON_FAULT)
		fprintf(f, ", every %s",
			a->provider.type == FL_PROVIDER_LOAD
			    ? "request"
			    : fl_duration_fmt(a->interval_ms * 1000, d, sizeof(d)));
	fputc(']', f);
}

/* ---- the monitor ---------------------------------------------------------------------- */

struct fl_sampler {
	pthread_t thread;
	bool started;
	bool done;  /* (atomic) the thread has returned */
	bool ready; /* it has started its first sample (or will take none): under ready_lock */
	uint64_t t0_in_flight; /* (atomic) mono ms a sample started, 0: none running */
	struct fl_slo_monitor *m;
	const struct fl_activity *a;   /* as listed (may be a ref) */
	const struct fl_activity *eff; /* what runs */
	const struct fl_tolerance *tol;
	bool abort;
	struct fl_slo_window w;
	size_t told; /* load: samples of w already handed to the run's observers */
	uint64_t w0_wall, m0, m1;
	int fatal; /* the probe could not run at all (-errno) */
	char fatal_msg[FL_ERROR_MSG_MAX];
};

struct fl_slo_monitor {
	struct fl_slo_monitor_opts o;
	int stop[2];
	int kill[2];
	bool cut_late; /* (atomic) kill was written because samples outlived their bound */
	pthread_t fwd;
	bool fwd_started;
	struct fl_sampler *s;
	size_t n;
	pthread_mutex_t lock;
	bool aborted;
	const struct fl_sampler *abort_by; /* the abort probe that stopped the run */
	char abort_why[FL_ERROR_MSG_MAX + 256];
	uint64_t live_until; /* mono ms; on-fault probes sample while now < this */
	bool finished;
	pthread_mutex_t ready_lock;
	pthread_cond_t ready_cv;
	size_t n_ready;
};

static bool fd_ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

static void poke(int fd)
{
	char c = 1;
	ssize_t r;

	do
		r = write(fd, &c, 1);
	while (r < 0 && errno == EINTR);
}

static void stop_all(struct fl_slo_monitor *m)
{
	poke(m->stop[1]);
}

/* Cut the samples in flight (and end the forwarding thread). */
static void kill_all(struct fl_slo_monitor *m)
{
	poke(m->kill[1]);
}

/* Wait up to ms on the stop fd; true when stopped. */
static bool wait_stop(struct fl_slo_monitor *m, uint64_t ms)
{
	struct pollfd p = {.fd = m->stop[0], .events = POLLIN};

	if (poll(&p, 1, ms > 60000 ? 60000 : (int)ms) > 0)
		return true;
	return false;
}

static void *fwd_main(void *arg)
{
	struct fl_slo_monitor *m = arg;
	struct pollfd p[2] = {{.fd = m->kill[0], .events = POLLIN},
			      {.fd = m->o.cancel_fd, .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (p[1].revents) {
			stop_all(m);
			kill_all(m);
			return NULL;
		}
	}
}

static void monitor_abort(struct fl_slo_monitor *m, const struct fl_sampler *s, const char *why)
{
	bool first;

	pthread_mutex_lock(&m->lock);
	first = !m->aborted && !m->finished;
	if (first) {
		m->aborted = true;
		m->abort_by = s;
		snprintf(m->abort_why, sizeof(m->abort_why), "abort condition \"%s\" met: %s",
			 s->eff->name, why);
	}
	pthread_mutex_unlock(&m->lock);
	if (!first)
		return;
	stop_all(m); /* the method stops at once */
	kill_all(m);
	if (m->o.on_abort)
		m->o.on_abort(m->o.arg, m->abort_why);
}

/* Judge an abort probe's window so far; true when the run must stop. */
static bool judge_abort(struct fl_sampler *s)
{
	char why[FL_ERROR_MSG_MAX];
	cJSON *sum;
	bool met;

	if (s->tol->type != FL_TOL_SLO) {
		if (s->w.n && !s->w.v[s->w.n - 1].ok) {
			monitor_abort(s->m, s,
				      s->w.last_err[0] ? s->w.last_err : "out of tolerance");
			return true;
		}
		return false;
	}
	if (s->w.n < s->tol->slo_min_samples)
		return false;
	sum = fl_slo_window_summary(&s->w);
	met = !sum || fl_tolerance_check(s->tol, s->eff->provider.type, sum, why, sizeof(why));
	cJSON_Delete(sum);
	if (!met)
		monitor_abort(s->m, s, why);
	return !met;
}

static const char *mode_name(const struct fl_sampler *s);

static bool load_each(void *arg, const struct fl_slo_window *w)
{
	struct fl_sampler *s = arg;

	for (; s->told < w->n; s->told++) /* (requests not sent come in between) */
		fl_events_probe_sample(s->m->o.events, s->eff, mode_name(s), w->v[s->told].ok,
				       w->v[s->told].latency_us);
	return s->abort && judge_abort(s);
}

/* Why a sample that ran did not succeed: exit status and stderr, HTTP status, the value. */
static void sample_why(enum fl_provider_type t, const cJSON *res, const struct fl_error *err,
		       char *why, size_t len)
{
	const cJSON *st = cJSON_GetObjectItem(res, "status");
	const char *se = cJSON_GetStringValue(cJSON_GetObjectItem(res, "stderr"));
	char *txt;

	if (err->msg[0]) {
		snprintf(why, len, "%s", err->msg);
	} else if (t == FL_PROVIDER_PROCESS && cJSON_IsNumber(st)) {
		snprintf(why, len, "exit status %d%s%.*s", (int)st->valuedouble,
			 se && *se ? ": " : "", se ? (int)strcspn(se, "\n") : 0, se ? se : "");
	} else if (t == FL_PROVIDER_HTTP && cJSON_IsNumber(st)) {
		snprintf(why, len, "HTTP status %d", (int)st->valuedouble);
	} else if ((txt = cJSON_PrintUnformatted(res))) {
		snprintf(why, len, "got %.120s", txt);
		free(txt);
	} else {
		snprintf(why, len, "the sample did not succeed");
	}
}

static int run_once(struct fl_sampler *s, cJSON **res, struct fl_error *err)
{
	struct fl_call_opts co = {.cancel_fd = s->m->kill[0], .deadline_ms = s->m->o.deadline_ms};
	const struct fl_provider *p = &s->eff->provider;

	if (p->type == FL_PROVIDER_PROCESS)
		return fl_provider_process_run(p, &co, res, err);
	if (p->type == FL_PROVIDER_HTTP)
		return fl_provider_http_run(p, &co, res, err);
	if (fl_probe_is_slo_provider(p->type))
		return fl_probe_run(p, &co, res, err);
	return fl_error_set(err, -ENOTSUP, NULL, "a %s provider cannot be sampled",
			    fl_provider_type_name(p->type));
}

/* How long a sample of this probe may take: its timeout, or its provider's default. */
static uint64_t sample_bound_ms(const struct fl_provider *p)
{
	if (p->timeout_ms)
		return p->timeout_ms;
	switch (p->type) {
	case FL_PROVIDER_HTTP:
		return FL_HTTP_DEFAULT_TIMEOUT_MS;
	case FL_PROVIDER_LOAD:
		return FL_LOAD_DEFAULT_TIMEOUT_MS;
	case FL_PROVIDER_PROMETHEUS:
		return FL_PROM_DEFAULT_TIMEOUT_MS;
	case FL_PROVIDER_TCP:
		return FL_TCP_DEFAULT_TIMEOUT_MS;
	case FL_PROVIDER_PROCESS: /* no timeout of its own */
	case FL_PROVIDER_RUNNING:
	case FL_PROVIDER_FAULT:
	case FL_PROVIDER__MAX:
		break;
	}
	return FL_SLO_LATE_MAX_MS;
}

static void *sampler_run(struct fl_sampler *s);

/*
 * The sampler has started its first sample (or has none to take yet: on-fault, or it
 * stopped). The monitor's start waits for every sampler to get here, so the method's
 * first activity never runs before a during probe's first sample: a window always holds
 * one sample, however fast the method and however loaded the machine.
 */
static void sampler_ready(struct fl_sampler *s)
{
	struct fl_slo_monitor *m = s->m;

	pthread_mutex_lock(&m->ready_lock);
	if (!s->ready) {
		s->ready = true;
		m->n_ready++;
		pthread_cond_broadcast(&m->ready_cv);
	}
	pthread_mutex_unlock(&m->ready_lock);
}

static void *sampler_main(void *arg)
{
	struct fl_sampler *s = arg;

	sampler_run(s);
	sampler_ready(s);
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void *sampler_run(struct fl_sampler *s)
{
	struct fl_slo_monitor *m = s->m;
	bool on_fault = !s->abort && s->a->mode == FL_MODE_ON_FAULT;

	if (s->eff->provider.type == FL_PROVIDER_LOAD) {
		struct fl_call_opts co = {.cancel_fd = m->kill[0], .deadline_ms = m->o.deadline_ms};
		struct fl_error err;
		int r;

		fl_error_init(&err);
		sampler_ready(s); /* its first request is due at once */
		r = fl_probe_load_drive(&s->eff->provider, &co, m->stop[0], 0, &s->w, load_each, s,
					&err);
		if (r < 0 && r != -ECANCELED && r != -ETIMEDOUT) {
			s->fatal = r;
			snprintf(s->fatal_msg, sizeof(s->fatal_msg), "%s", err.msg);
			if (s->abort)
				monitor_abort(m, s, err.msg);
		}
		return NULL;
	}
	for (;;) {
		uint64_t t0, t1, now;
		struct fl_error err;
		cJSON *res = NULL;
		char why[FL_ERROR_MSG_MAX + 64] = "";
		bool ok, late;
		int r;

		if (fd_ready(m->stop[0]))
			break;
		if (on_fault) {
			uint64_t until = __atomic_load_n(&m->live_until, __ATOMIC_ACQUIRE);

			sampler_ready(s); /* it samples only once a fault is live */
			if (fl_now_mono_ms() >= until) {
				if (wait_stop(m, 20))
					break;
				continue;
			}
		}
		fl_error_init(&err);
		t0 = fl_now_mono_us();
		/* In flight from here; finish reads this after closing the window (stop): either
		 * it sees the sample or the sample sees stop (sequentially consistent). */
		__atomic_store_n(&s->t0_in_flight, t0 / 1000 ? t0 / 1000 : 1, __ATOMIC_SEQ_CST);
		if (fd_ready(m->stop[0])) {
			__atomic_store_n(&s->t0_in_flight, 0, __ATOMIC_SEQ_CST);
			break;
		}
		sampler_ready(s);
		r = run_once(s, &res, &err);
		t1 = fl_now_mono_us();
		__atomic_store_n(&s->t0_in_flight, 0, __ATOMIC_RELEASE);
		if ((r == -ECANCELED || (r < 0 && fd_ready(m->kill[0]))) &&
		    __atomic_load_n(&m->cut_late, __ATOMIC_ACQUIRE)) {
			/* Started in the window, no result within its bound after it closed. */
			char d[32];

			cJSON_Delete(res);
			fl_slo_window_add(&s->w, false, t1 - t0);
			s->w.late++;
			snprintf(s->w.last_err, sizeof(s->w.last_err),
				 "no result %s after the sample started (the method had ended)",
				 fl_duration_fmt(sample_bound_ms(&s->eff->provider) * 1000, d,
						 sizeof(d)));
			break;
		}
		if (r == -ECANCELED || (r < 0 && fd_ready(m->kill[0])) ||
		    (r == -ETIMEDOUT && m->o.deadline_ms && fl_now_mono_ms() >= m->o.deadline_ms)) {
			cJSON_Delete(res);
			s->w.in_flight++;
			break; /* cut off by an abort, an interrupt or the timeout: not a sample */
		}
		late = __atomic_load_n(&m->finished, __ATOMIC_ACQUIRE);
		if (r == -ENOTSUP || r == -EINVAL) {
			s->fatal = r;
			snprintf(s->fatal_msg, sizeof(s->fatal_msg), "%s", err.msg);
			cJSON_Delete(res);
			if (s->abort)
				monitor_abort(m, s, err.msg);
			break;
		}
		if (r < 0 && r != -EPROTO) {
			ok = false;
			snprintf(why, sizeof(why), "the probe failed: %s",
				 err.msg[0] ? err.msg : strerror(-r));
		} else if (s->tol->type == FL_TOL_SLO) {
			ok = r == 0 && fl_slo_sample_ok(s->eff->provider.type, res);
			if (!ok)
				sample_why(s->eff->provider.type, res, &err, why, sizeof(why));
		} else {
			ok = fl_tolerance_check(s->tol, s->eff->provider.type, res, why,
						sizeof(why));
		}
		cJSON_Delete(res);
		if (on_fault && ok &&
		    t1 / 1000 >= __atomic_load_n(&m->live_until, __ATOMIC_ACQUIRE)) {
			/*
			 * It ended when every fault's lease may have run out: its success
			 * may be the system without the fault, so it is no evidence that
			 * the system held under it. Not a sample. (A failure counts: it
			 * started while the fault was live, and may be the fault's.)
			 */
			s->w.after_fault++;
			goto next;
		}
		if (late)
			s->w.late++; /* finished after the window closed: still counts */
		fl_slo_window_add(&s->w, ok, t1 - t0);
		fl_events_probe_sample(m->o.events, s->eff, mode_name(s), ok, t1 - t0);
		if (!ok)
			snprintf(s->w.last_err, sizeof(s->w.last_err), "%.150s", why);
		if (s->abort && judge_abort(s))
			break;
	next:
		now = fl_now_mono_us();
		if (now < t0 + s->a->interval_ms * 1000 &&
		    wait_stop(m, (t0 + s->a->interval_ms * 1000 - now + 999) / 1000))
			break;
	}
	return NULL;
}

static void add_samplers(struct fl_slo_monitor *m, const struct fl_activity_list *l, bool abort)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct fl_activity *a = &l->v[i];
		struct fl_sampler *s;

		if (!abort && !fl_probe_runs_in(a, FL_MODE_DURING) &&
		    !fl_probe_runs_in(a, FL_MODE_ON_FAULT))
			continue;
		s = &m->s[m->n++];
		s->m = m;
		s->a = a;
		s->eff = a->ref ? a->ref : a;
		s->tol = a->tolerance.type != FL_TOL_NONE ? &a->tolerance : &s->eff->tolerance;
		s->abort = abort;
		fl_slo_window_init(&s->w);
	}
}

int fl_slo_monitor_start(const struct fl_experiment *e, const struct fl_slo_monitor_opts *o,
			 struct fl_slo_monitor **out, struct fl_error *err)
{
	struct fl_slo_monitor *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	m->o = *o;
	m->stop[0] = m->stop[1] = -1;
	m->kill[0] = m->kill[1] = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->ready_lock, NULL);
	pthread_cond_init(&m->ready_cv, NULL);
	m->s = calloc(e->hypothesis.n + e->abort.n + 1, sizeof(*m->s));
	if (!m->s || pipe2(m->stop, O_CLOEXEC) < 0 || pipe2(m->kill, O_CLOEXEC) < 0) {
		fl_slo_monitor_free(m);
		return fl_error_set(err, -errno ? -errno : -ENOMEM, NULL,
				    "cannot set up probe sampling");
	}
	add_samplers(m, &e->hypothesis, false);
	add_samplers(m, &e->abort, true);
	if (o->cancel_fd >= 0 && pthread_create(&m->fwd, NULL, fwd_main, m) == 0)
		m->fwd_started = true;
	for (size_t i = 0; i < m->n; i++) {
		struct fl_sampler *s = &m->s[i];

		s->w0_wall = fl_now_wall_ms();
		s->m0 = fl_now_mono_ms();
		s->w.origin_us = s->m0 * 1000; /* the series' times count from the record's start */
		if (pthread_create(&s->thread, NULL, sampler_main, s) == 0) {
			s->started = true;
		} else {
			s->fatal = -EAGAIN;
			snprintf(s->fatal_msg, sizeof(s->fatal_msg), "no thread to sample with");
		}
	}
	pthread_mutex_lock(&m->ready_lock);
	for (;;) {
		size_t want = 0;

		for (size_t i = 0; i < m->n; i++)
			want += m->s[i].started;
		if (m->n_ready >= want)
			break;
		pthread_cond_wait(&m->ready_cv, &m->ready_lock);
	}
	pthread_mutex_unlock(&m->ready_lock);
	*out = m;
	return 0;
}

int fl_slo_monitor_method_fd(const struct fl_slo_monitor *m)
{
	return m->stop[0];
}

void fl_slo_monitor_fault_live(struct fl_slo_monitor *m, uint64_t sent_ms, uint64_t duration_ms)
{
	uint64_t until, cur;

	if (!m)
		return;
	until = sent_ms + (duration_ms ? duration_ms : FL_DURATION_MAX_MS);
	cur = __atomic_load_n(&m->live_until, __ATOMIC_ACQUIRE);
	while (cur < until && !__atomic_compare_exchange_n(&m->live_until, &cur, until, false,
							   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

/*
 * The window is closed (no sample starts any more): wait for the samples in
 * flight, which started while the method ran and so belong to the window.
 * Each gets its bound (its timeout, or its provider's default; a load probe's
 * requests their request timeout from now) plus a second for its provider to
 * report its own timeout; what still runs then is cut and counted as a
 * failed sample. An interrupt or abort meanwhile cuts them at once (the
 * forwarding thread writes kill), uncounted.
 */
static void wait_in_flight(struct fl_slo_monitor *m)
{
	uint64_t now = fl_now_mono_ms(), until = now + 1000; /* samplers between samples wake up */

	for (size_t i = 0; i < m->n; i++) {
		const struct fl_sampler *s = &m->s[i];
		uint64_t t0 = __atomic_load_n(&s->t0_in_flight, __ATOMIC_SEQ_CST);
		uint64_t b = sample_bound_ms(&s->eff->provider) + 1000;

		if (!s->started)
			continue;
		if (s->eff->provider.type == FL_PROVIDER_LOAD)
			t0 = now;
		if (t0 && t0 + b > until)
			until = t0 + b;
	}
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < m->n && all; i++)
			all = !m->s[i].started || __atomic_load_n(&m->s[i].done, __ATOMIC_ACQUIRE);
		if (all || fd_ready(m->kill[0]))
			return;
		if (fl_now_mono_ms() >= until) {
			__atomic_store_n(&m->cut_late, true, __ATOMIC_RELEASE);
			kill_all(m);
			return;
		}
		poll(NULL, 0, 5);
	}
}

static void add_time(cJSON *rec, const char *key, uint64_t wall_ms)
{
	char ts[40];

	cJSON_AddStringToObject(rec, key, fl_time_rfc3339(wall_ms, ts, sizeof(ts)));
}

static const char *mode_name(const struct fl_sampler *s)
{
	if (s->abort)
		return "abort";
	return s->a->mode == FL_MODE_ON_FAULT ? "on-fault" : "during";
}

cJSON *fl_slo_monitor_finish(struct fl_slo_monitor *m, bool *met, bool *aborted, char *why,
			     size_t whylen)
{
	cJSON *out = cJSON_CreateArray();

	*met = true;
	*aborted = false;
	if (why && whylen)
		why[0] = '\0';
	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->finished, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&m->lock);
	stop_all(m);
	wait_in_flight(m);
	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i].started)
			pthread_join(m->s[i].thread, NULL);
		m->s[i].started = false;
		m->s[i].m1 = fl_now_mono_ms();
	}
	kill_all(m); /* every sampler has returned: this only ends the forwarding thread */
	if (m->fwd_started)
		pthread_join(m->fwd, NULL);
	m->fwd_started = false;
	for (size_t i = 0; out && i < m->n; i++) {
		struct fl_sampler *s = &m->s[i];
		cJSON *rec = cJSON_CreateObject(), *sum = fl_slo_window_summary(&s->w);
		char d[FL_ERROR_MSG_MAX + 256] = "";
		bool ok;

		if (!rec || !sum) {
			/* never "held" on a window that was not judged */
			cJSON_Delete(rec);
			cJSON_Delete(sum);
			if (!s->abort && *met && why)
				snprintf(why, whylen,
					 "steady state during the method not judged: probe \"%s\": "
					 "out of memory",
					 s->eff->name);
			*met = s->abort ? *met : false;
			continue;
		}
		cJSON_AddStringToObject(rec, "name", s->eff->name);
		cJSON_AddStringToObject(rec, "mode", mode_name(s));
		cJSON_AddStringToObject(rec, "json_path", s->a->json_path);
		cJSON_AddStringToObject(rec, "provider",
					fl_provider_type_name(s->eff->provider.type));
		cJSON_AddNumberToObject(rec, "interval", s->a->interval_ms / 1000.0);
		if (s->fatal) {
			ok = false;
			snprintf(d, sizeof(d), "the probe could not run: %s", s->fatal_msg);
		} else {
			ok = fl_tolerance_check(s->tol, s->eff->provider.type, sum, d, sizeof(d));
			if (s->tol->type != FL_TOL_SLO) {
				/* a plain tolerance holds during the window when every sample held
				 */
				const cJSON *f = cJSON_GetObjectItem(sum, "failed");
				const cJSON *n = cJSON_GetObjectItem(sum, "samples");

				ok = cJSON_IsNumber(n) && n->valuedouble > 0 && cJSON_IsNumber(f) &&
				     f->valuedouble == 0;
				if (!ok && cJSON_IsNumber(n) && n->valuedouble == 0)
					d[0] = '\0'; /* said below */
				else if (!ok)
					snprintf(d, sizeof(d),
						 "%.0f of %.0f samples out of tolerance%s%s",
						 f->valuedouble, n->valuedouble,
						 s->w.last_err[0] ? ", last: " : "", s->w.last_err);
			}
		}
		if (!s->fatal && s->w.n == 0) {
			/* An empty window proves nothing: never held, whatever the tolerance. */
			ok = false;
			snprintf(d, sizeof(d), "no sample was taken during the method%s",
				 s->w.in_flight ? " (the run was stopped while one was running)"
				 : !s->abort && s->a->mode == FL_MODE_ON_FAULT
				     ? " (no fault of this run was live)"
				     : " (it ended before the first sample)");
		}
		if (s->abort) {
			/*
			 * An abort probe is a guard: its window "holds" unless it stopped
			 * the run. What it saw after the method ended, or a window too short
			 * for its min_samples, stops nothing (the window's counts still say).
			 */
			bool tripped = m->abort_by == s;

			cJSON_AddBoolToObject(rec, "abort_triggered", tripped);
			ok = !tripped;
			if (tripped)
				snprintf(d, sizeof(d), "%s", m->abort_why);
		}
		cJSON_AddStringToObject(rec, "status", s->fatal ? "failed" : "succeeded");
		cJSON_AddItemToObject(rec, "output", sum);
		add_time(rec, "start", s->w0_wall);
		add_time(rec, "end", s->w0_wall + (s->m1 - s->m0));
		cJSON_AddNumberToObject(rec, "duration", (double)(s->m1 - s->m0) / 1000.0);
		/* the window over time, for the report (controller/slo_series.c) */
		cJSON_AddItemToObject(rec, "series",
				      fl_slo_window_series(&s->w, s->m1 - s->m0,
							   s->eff->provider.type == FL_PROVIDER_LOAD
							       ? 0
							       : s->a->interval_ms,
							   s->tol, s->eff->provider.type));
		cJSON_AddBoolToObject(rec, "tolerance_met", ok);
		if (!s->abort) { /* an abort probe is a guard, not part of the verdict */
			if (!ok && *met) {
				*met = false;
				if (why)
					snprintf(why, whylen,
						 "steady state during the method not met: probe "
						 "\"%s\": %s",
						 s->eff->name, d);
			}
		}
		if (!ok && d[0])
			cJSON_AddStringToObject(rec, "tolerance_detail", d);
		cJSON_AddItemToArray(out, rec);
	}
	if (!out && m->n) {
		*met = false; /* no record, no verdict: never "held" */
		if (why)
			snprintf(why, whylen,
				 "steady state during the method not judged: out of memory");
	}
	pthread_mutex_lock(&m->lock);
	if (m->aborted) {
		*aborted = true;
		if (why)
			snprintf(why, whylen, "%s", m->abort_why);
	}
	pthread_mutex_unlock(&m->lock);
	return out;
}

void fl_slo_monitor_free(struct fl_slo_monitor *m)
{
	if (!m)
		return;
	if (m->stop[1] >= 0)
		stop_all(m);
	if (m->kill[1] >= 0)
		kill_all(m);
	for (size_t i = 0; m->s && i < m->n; i++) {
		if (m->s[i].started)
			pthread_join(m->s[i].thread, NULL);
		fl_slo_window_done(&m->s[i].w);
	}
	if (m->fwd_started)
		pthread_join(m->fwd, NULL);
	if (m->stop[0] >= 0)
		close(m->stop[0]);
	if (m->stop[1] >= 0)
		close(m->stop[1]);
	if (m->kill[0] >= 0)
		close(m->kill[0]);
	if (m->kill[1] >= 0)
		close(m->kill[1]);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->ready_lock);
	pthread_cond_destroy(&m->ready_cv);
	free(m->s);
	free(m);
}
