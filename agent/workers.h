/*
 * A pool of worker threads for the agent's reverts. A caller never waits for
 * a job that is running: fl_workers_run hands the job to an idle worker or
 * starts a new thread for it, up to a maximum (beyond it, jobs wait in FIFO
 * order for the first worker that frees up). So one revert stuck in the
 * kernel or behind somebody's lock occupies one thread, and the next expiring
 * lease still starts at once. Idle workers beyond `keep` exit after a while.
 *
 * A thread inherits the capabilities of the thread that creates it:
 * fl_workers_retire lets the workers started so far go (idle ones now, busy
 * ones when idle), so that later jobs run in threads made after a drop.
 */
#ifndef FL_AGENT_WORKERS_H
#define FL_AGENT_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

struct fl_workers;

/*
 * A pool of at most max threads named name, keep of them kept when idle.
 * rt_prio > 0: each worker puts itself at SCHED_FIFO rt_prio (fl_thread_rt;
 * when it cannot, one warning and the pool goes on at the normal priority),
 * and the pool's lock inherits priority.
 */
int fl_workers_new(const char *name, unsigned max, unsigned keep, int rt_prio,
		   struct fl_workers **out) FL_WUR;
/* Start idle workers until `keep` exist (so the first jobs find one waiting). */
int fl_workers_warm(struct fl_workers *w) FL_WUR;
/* Run fn(arg) on a worker; -errno (nothing queued) only when no thread can run it at all. */
int fl_workers_run(struct fl_workers *w, void (*fn)(void *), void *arg) FL_WUR;
/* Workers started so far exit as soon as they are idle. */
void fl_workers_retire(struct fl_workers *w);
/*
 * Stop: wait until every queued job has run and every worker has exited, at
 * most until deadline_ms (CLOCK_MONOTONIC). True when they all have; then
 * (only then) fl_workers_free may be called.
 */
bool fl_workers_drain(struct fl_workers *w, uint64_t deadline_ms);
/* Free a drained pool; NULL is fine. */
void fl_workers_free(struct fl_workers *w);

#endif
