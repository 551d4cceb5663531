/*
 * Live progress (controller/progress.h). State kept from the run's events
 * under one lock; the text is composed on demand: by the output's ticker
 * (a TTY: every 100 ms, as part of its live line) or by a thread of ours
 * that prints a plain line every 10 s (not a TTY). Lock order: the output's
 * lock, then ours; we never call into the output while holding ours.
 */
#include "controller/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/output.h"
#include "controller/probe_stats.h"
#include "core/duration.h"

#define P_FAULTS 16
#define P_PAUSES 8
#define P_PROBES 16
#define P_NAME	 48

struct p_probe {
	const struct fl_activity *a;
	char name[P_NAME], mode[12];
	struct fl_probe_stats st;
};

struct fl_progress {
	struct fl_progress_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stopping;
	uint64_t last_plain; /* mono ms of the last plain line (or of the phase's start) */
	char phase[16];
	struct {
		bool used;
		char name[P_NAME];
		uint64_t t0, until; /* mono ms; until 0: lives until reverted */
	} faults[P_FAULTS];
	struct {
		const struct fl_activity *a;
		char name[P_NAME];
		bool before;
		uint64_t until;
	} pauses[P_PAUSES];
	struct p_probe probes[P_PROBES];
	size_t n_probes;
};

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, P_NAME, "%s", src ? src : "?");
}

/* A name cut to max characters (UTF-8 aware), "…" when cut. */
static const char *short_name(const char *name, size_t max, char *buf, size_t len)
{
	size_t n = 0, i = 0;

	for (; name[i]; i++) {
		if (((unsigned char)name[i] & 0xc0) == 0x80)
			continue;
		if (n++ == max)
			break;
	}
	if (!name[i] || i + 4 > len) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	snprintf(buf, len, "%.*s\xe2\x80\xa6", (int)i, name);
	return buf;
}

/*
 * The live text at a level of detail (caller holds the lock): 0 names in full,
 * 1 names cut to 14 characters, 2 only the probes named (a narrow terminal).
 */
static void compose_at(struct fl_progress *p, char *buf, size_t len, const char *sep, int level)
{
	uint64_t now = fl_now_mono_ms();
	size_t n = 0, max = level ? 14 : 40;
	char nm[P_NAME + 8];

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n < len)                                                                       \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                      \
	} while (0)
	buf[0] = '\0';
	for (size_t i = 0; i < p->n_probes; i++) {
		const struct fl_probe_stats *s = &p->probes[i].st;
		double p95 = fl_probe_stats_quantile_ms(s, 0.95);

		if (!s->n)
			continue;
		ADD("%s%s\"%s\" %.1f%% ok of %llu, p95 ", n ? sep : "", level == 2 ? "" : "probe ",
		    short_name(p->probes[i].name, max, nm, sizeof(nm)),
		    100.0 * (double)s->ok / (double)s->n, (unsigned long long)s->n);
		if (p95 < 1000)
			ADD("%.3gms", p95);
		else
			ADD("%.3gs", p95 / 1000);
	}
	for (size_t i = 0; i < P_FAULTS; i++) {
		if (!p->faults[i].used)
			continue;
		if (p->faults[i].until && now >= p->faults[i].until) {
			p->faults[i].used = false; /* its lease is over: the agent reverted it */
			continue;
		}
		ADD("%sfault", n ? sep : "");
		if (level < 2)
			ADD(" \"%s\"", short_name(p->faults[i].name, max, nm, sizeof(nm)));
		if (p->faults[i].until)
			ADD(" %.1fs left", (double)(p->faults[i].until - now) / 1000.0);
		else
			ADD(" live %.0fs", (double)(now - p->faults[i].t0) / 1000.0);
	}
	for (size_t i = 0; i < P_PAUSES; i++) {
		if (!p->pauses[i].a)
			continue;
		ADD("%spause", n ? sep : "");
		if (level < 2)
			ADD(" %s \"%s\"", p->pauses[i].before ? "before" : "after",
			    short_name(p->pauses[i].name, max, nm, sizeof(nm)));
		ADD(" %.1fs left",
		    p->pauses[i].until > now ? (double)(p->pauses[i].until - now) / 1000.0 : 0.0);
	}
#undef ADD
}

/* The most detailed text that fits in cols characters (0: no limit). */
static void compose(struct fl_progress *p, char *buf, size_t len, const char *sep, size_t cols)
{
	for (int level = 0; level <= 2; level++) {
		size_t chars = 0;

		compose_at(p, buf, len, sep, level);
		for (const char *c = buf; *c; c++)
			chars += ((unsigned char)*c & 0xc0) != 0x80;
		if (!cols || chars <= cols)
			return;
	}
}

static void status_cb(void *arg, char *buf, size_t len, size_t cols)
{
	struct fl_progress *p = arg;

	pthread_mutex_lock(&p->lock);
	compose(p, buf, len, " \xc2\xb7 ", cols);
	pthread_mutex_unlock(&p->lock);
}

static void *plain_main(void *arg)
{
	struct fl_progress *p = arg;
	uint64_t every = p->o.plain_every_ms ? p->o.plain_every_ms : 10000;
	char text[768];

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		uint64_t now = fl_now_mono_ms(), due = p->last_plain + every;

		/* Asleep until the line is due (a new phase moves last_plain: look again). */
		if (now < due) {
			struct timespec ts;
			uint64_t wait = due - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
			continue;
		}
		compose(p, text, sizeof(text), "; ", 0);
		if (!text[0]) {
			p->last_plain = now + 1000 - every; /* nothing to say: look again in 1 s */
			continue;
		}
		p->last_plain = fl_now_mono_ms();
		pthread_mutex_unlock(&p->lock);
		fl_out_note(p->o.out, "progress (%s): %s", p->phase[0] ? p->phase : "run", text);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct fl_progress *fl_progress_new(const struct fl_progress_opts *o)
{
	struct fl_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->o = *o;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->last_plain = fl_now_mono_ms();
	if (o->tty)
		fl_out_set_status(o->out, status_cb, p);
	else if (o->out)
		p->thread_started = pthread_create(&p->thread, NULL, plain_main, p) == 0;
	return p;
}

static struct p_probe *probe_slot(struct fl_progress *p, const struct fl_activity *a,
				  const char *mode)
{
	for (size_t i = 0; i < p->n_probes; i++)
		if (p->probes[i].a == a && !strcmp(p->probes[i].mode, mode ? mode : ""))
			return &p->probes[i];
	if (p->n_probes == P_PROBES)
		return NULL;
	p->probes[p->n_probes].a = a;
	copy_name(p->probes[p->n_probes].name, a ? a->name : NULL);
	snprintf(p->probes[p->n_probes].mode, sizeof(p->probes[0].mode), "%s", mode ? mode : "");
	fl_probe_stats_init(&p->probes[p->n_probes].st);
	return &p->probes[p->n_probes++];
}

void fl_progress_event(void *arg, const struct fl_event *ev)
{
	struct fl_progress *p = arg;
	struct p_probe *pr;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	switch (ev->type) {
	case FL_EVENT_PHASE:
		snprintf(p->phase, sizeof(p->phase), "%s", ev->text ? ev->text : "");
		p->last_plain = ev->mono_ms;
		if (!ev->text || strcmp(ev->text, "method"))
			p->n_probes = 0; /* probes are sampled through the method only */
		break;
	case FL_EVENT_PAUSE:
		for (size_t i = 0; i < P_PAUSES; i++) {
			if (p->pauses[i].a)
				continue;
			p->pauses[i].a = ev->a;
			copy_name(p->pauses[i].name, ev->a ? ev->a->name : NULL);
			p->pauses[i].before = ev->text && !strcmp(ev->text, "before");
			p->pauses[i].until = ev->mono_ms + ev->ms;
			break;
		}
		break;
	case FL_EVENT_PAUSE_END:
		for (size_t i = 0; i < P_PAUSES; i++)
			if (p->pauses[i].a == ev->a)
				p->pauses[i].a = NULL;
		break;
	case FL_EVENT_FAULT_APPLIED:
		for (size_t i = 0; i < P_FAULTS; i++) {
			if (p->faults[i].used)
				continue;
			p->faults[i].used = true;
			copy_name(p->faults[i].name, ev->a ? ev->a->name : NULL);
			p->faults[i].t0 = ev->mono_ms;
			p->faults[i].until = ev->ms ? ev->mono_ms + ev->ms : 0;
			break;
		}
		break;
	case FL_EVENT_FAULTS_REVERTED:
		for (size_t i = 0; i < P_FAULTS; i++)
			p->faults[i].used = false;
		break;
	case FL_EVENT_PROBE_SAMPLE:
		pr = probe_slot(p, ev->a, ev->text);
		if (pr)
			fl_probe_stats_add(&pr->st, ev->ok, ev->latency_us);
		break;
	case FL_EVENT_VERDICT:
		memset(p->pauses, 0, sizeof(p->pauses));
		memset(p->faults, 0, sizeof(p->faults));
		p->n_probes = 0;
		break;
	case FL_EVENT_RUN_START:
	case FL_EVENT_ACTIVITY_START:
	case FL_EVENT_ACTIVITY_END:
	case FL_EVENT__MAX:
		break;
	}
	pthread_mutex_unlock(&p->lock);
}

void fl_progress_free(struct fl_progress *p)
{
	if (!p)
		return;
	if (p->o.tty)
		fl_out_set_status(p->o.out, NULL, NULL);
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
