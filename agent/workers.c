#include "agent/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/log.h"
#include "agent/sched.h"
#include "core/duration.h"

#define IDLE_MS 10000 /* an idle worker beyond `keep` exits after this long */

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

struct fl_workers {
	char name[16]; /* each thread's name (pthread_setname_np: 15 bytes) */
	int rt_prio;   /* > 0: each worker runs at SCHED_FIFO rt_prio (fl_thread_rt); atomic */
	pthread_mutex_t mu;
	pthread_cond_t work; /* a job was queued, or the pool stops */
	pthread_cond_t gone; /* a worker exited */
	struct job *head, *tail;
	unsigned queued, max, keep, threads, idle;
	unsigned gen; /* fl_workers_retire: workers of an older generation exit when idle */
	bool stopping;
	/*
	 * Workers that have left worker_main but are not joined yet (at most max:
	 * a thread moves here from `threads`, and a spawn joins them first). A
	 * thread's exit runs its thread-local destructors (OpenSSL frees its
	 * per-thread random generators there); only a join waits for them, so
	 * drain joins every worker before it says the pool is done.
	 */
	pthread_t *exited;
	unsigned nexited;
};

static void deadline_ts(struct timespec *ts, uint64_t deadline_ms)
{
	ts->tv_sec = (time_t)(deadline_ms / 1000);
	ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

static void *worker_main(void *p)
{
	struct fl_workers *w = p;
	int prio = __atomic_load_n(&w->rt_prio, __ATOMIC_RELAXED), rt;
	unsigned gen;

	/*
	 * First thing, before the name that makes it show as one of the pool's
	 * and before its lock: a worker the lease thread starts in a burst
	 * begins at SCHED_OTHER (reset on fork applies to threads too).
	 */
	if (prio > 0 && (rt = fl_thread_rt(prio)) < 0 &&
	    __atomic_exchange_n(&w->rt_prio, 0, __ATOMIC_RELAXED) > 0) {
		char s[12];

		/* Said once: the workers after this one run at the normal priority. */
		snprintf(s, sizeof(s), "%d", prio);
		fl_log(FL_LOG_WARN, "workers run at the normal priority: cannot set SCHED_FIFO",
		       "workers", w->name, "priority", s, "error", strerror(-rt), NULL);
	}
	(void)pthread_setname_np(pthread_self(), w->name);
	pthread_mutex_lock(&w->mu);
	gen = w->gen;
	for (;;) {
		struct job *j;

		while (!w->head) {
			struct timespec ts;
			int r;

			if (w->stopping || gen != w->gen)
				goto out;
			w->idle++;
			if (w->threads > w->keep) {
				/* One too many: it goes after IDLE_MS without work. */
				deadline_ts(&ts, fl_now_mono_ms() + IDLE_MS);
				r = pthread_cond_timedwait(&w->work, &w->mu, &ts);
			} else {
				/* One of those kept: it sleeps until there is work (no wake-ups).
				 */
				r = pthread_cond_wait(&w->work, &w->mu);
			}
			w->idle--;
			if (r == ETIMEDOUT && !w->head && w->threads > w->keep)
				goto out;
		}
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&w->mu);
	}
out:
	w->exited[w->nexited++] = pthread_self();
	w->threads--;
	pthread_cond_broadcast(&w->gone);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int fl_workers_new(const char *name, unsigned max, unsigned keep, int rt_prio,
		   struct fl_workers **out)
{
	struct fl_workers *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->rt_prio = rt_prio;
	w->max = max ? max : 1;
	w->keep = keep;
	w->exited = calloc(w->max, sizeof(*w->exited));
	if (!w->exited) {
		free(w);
		return -ENOMEM;
	}
	fl_mutex_init(&w->mu, rt_prio > 0);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_cond_init(&w->gone, &ca);
	pthread_condattr_destroy(&ca);
	*out = w;
	return 0;
}

/*
 * Join the workers that have exited. Under w->mu: each one released it for
 * the last time when it left worker_main, so the join waits only for the
 * rest of its exit (its thread-local destructors), never for the lock.
 */
static void reap_locked(struct fl_workers *w)
{
	while (w->nexited)
		pthread_join(w->exited[--w->nexited], NULL);
}

static int spawn_locked(struct fl_workers *w)
{
	pthread_t th;
	int r;

	reap_locked(w);
	r = -pthread_create(&th, NULL, worker_main, w);
	if (r == 0)
		w->threads++;
	return r;
}

int fl_workers_warm(struct fl_workers *w)
{
	int r = 0;

	pthread_mutex_lock(&w->mu);
	while (r == 0 && w->threads < w->keep && w->threads < w->max)
		r = spawn_locked(w);
	pthread_mutex_unlock(&w->mu);
	return r;
}

int fl_workers_run(struct fl_workers *w, void (*fn)(void *), void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	int r = 0;

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	/* Every queued job needs a worker of its own: an idle one, else a new one. */
	if (w->idle >= w->queued) {
		pthread_cond_signal(&w->work);
	} else if (w->threads < w->max) {
		r = spawn_locked(w);
		if (r < 0 && w->threads > 0)
			r = 0; /* it waits for a running worker */
	}
	if (r < 0) {
		/* Nothing will ever run it: take it back. */
		struct job **pp = &w->head, *prev = NULL;

		while (*pp != j) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = NULL;
		w->tail = prev;
		w->queued--;
		free(j);
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}

void fl_workers_retire(struct fl_workers *w)
{
	pthread_mutex_lock(&w->mu);
	w->gen++;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
}

bool fl_workers_drain(struct fl_workers *w, uint64_t deadline_ms)
{
	struct timespec ts;
	bool done;

	deadline_ts(&ts, deadline_ms);
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->work);
	while ((w->threads || w->head) &&
	       pthread_cond_timedwait(&w->gone, &w->mu, &ts) != ETIMEDOUT)
		;
	done = !w->threads && !w->head;
	reap_locked(w);
	pthread_mutex_unlock(&w->mu);
	return done;
}

void fl_workers_free(struct fl_workers *w)
{
	if (!w)
		return;
	while (w->head) {
		struct job *j = w->head;

		w->head = j->next;
		free(j);
	}
	reap_locked(w);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->gone);
	pthread_mutex_destroy(&w->mu);
	free(w->exited);
	free(w);
}
