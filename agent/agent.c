#include "agent/agent.h"

#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/journal.h"
#include "agent/kube_client.h"
#include "agent/log.h"
#include "agent/policy.h"
#include "agent/preload.h"
#include "agent/sched.h"
#include "agent/workers.h"
#include "core/duration.h"
#include "core/rng.h"
#include "faults/fault.h"
#include "faults/proc_select.h"

#define RECENT_MAX	  1024 /* reverted ids remembered, so DELETE stays idempotent */
#define KINDS_MAX	  16
#define RETRY_MS	  1000	/* a revert that failed is retried this often */
#define WORKERS_MAX	  64	/* reverts running at once (lease, reconcile, DELETE ?all) */
#define WORKERS_KEEP	  2	/* idle revert workers kept */
#define WORKERS_KEEP_RT	  4	/* with lease_priority: a burst finds them at SCHED_FIFO already */
#define DUE_MAX		  64	/* leases dispatched per pass of the lease thread */
#define KEYS_MAX	  64	/* objects one fault holds before it holds them all */
#define RECONCILE_WAIT_MS 10000 /* start serving after this long even if reverts still run */
#define LOCK_WAIT_MS	  3000	/* how long a start waits for agent.lock to be let go */

/*
 * Locking. a->mu guards the table (the list, every fault's state, deadline
 * and description, the counters, the recently reverted ids) and is held only
 * for bookkeeping: never across a fault's plan, apply, revert or renew, a
 * journal write, or anything else that does I/O. Each fault carries its
 * state instead; whoever moves it out of LIVE (into REVERTING) owns its
 * revert, runs it outside the lock, and then takes the lock again to record
 * the outcome:
 *
 *   APPLYING --apply ok--> LIVE --lease/DELETE/stop--> REVERTING --ok--> (gone)
 *      |                    ^                              |
 *      +--apply failed------+---- revert failed: retried --+
 *   KEPT: a journal record that cannot be read or trusted; listed, id taken,
 *         never reverted by the agent.
 *   GONE: reverted, its journal record being removed: no longer listed, its
 *         id still taken (a new record under it must not be the one removed).
 *
 * The lease thread only moves due faults to REVERTING and hands them to the
 * worker pool, so a revert stuck in the kernel or behind a lock somebody
 * else holds delays no other lease. The one thing faults wait for is each
 * other on a shared kernel object: operations on the same network interface
 * or shim table (their "keys", from the undo record) run one at a time,
 * since the kinds' check-then-act on it must see each other's results.
 */
enum fault_state { F_APPLYING, F_LIVE, F_REVERTING, F_KEPT, F_GONE, F_STATE__MAX };

static const char *const state_names[F_STATE__MAX] = {"applying", "live", "reverting", "kept",
						      "reverted"};

/* KEY_*: what a key names when it is not a network interface. */
#define KEY_TABLE   LLONG_MIN	    /* a shim table, by name */
#define KEY_CGROUP  (LLONG_MIN + 1) /* a cgroup (freezer), by path */
#define KEY_PROCESS (LLONG_MIN + 2) /* a process, by pid and start time */

struct fkey {
	unsigned long long a; /* a netns inode, or a hash (KEY_*) */
	long long b;	      /* an ifindex, -1: the whole netns; or KEY_* */
};

struct fault {
	char id[FL_API_ID_MAX + 1];
	char experiment[FL_API_EXPERIMENT_MAX + 1];
	char kind[FL_API_KIND_MAX + 1];
	const struct fl_fault_ops *ops; /* NULL for KEPT */
	cJSON *undo;
	char *description;
	uint64_t ttl_ms;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC */
	uint64_t applied_wall_ms;
	enum fault_state state;
	const char *reason; /* why the running revert runs (for the log) */
	bool from_journal;  /* found at start: reconcile */
	bool stop_tried;    /* the shutdown's revert has been tried */
	unsigned retries;   /* failed reverts so far */
	bool lease_fired;   /* the running revert is its lease's (deadline_ms is the lease's) */
	uint64_t fired_us;  /* when the lease thread took it (CLOCK_MONOTONIC), for the log */
	char last_error[FL_ERROR_MSG_MAX];
	/* Keys: see "Locking" above. */
	struct fkey keys[KEYS_MAX];
	size_t nkeys;
	bool all_keys; /* more than KEYS_MAX: conflicts with every fault that has keys */
	bool holding;  /* holds its keys now */
	unsigned pins; /* renews in flight that read undo outside the lock */
	bool unlinked; /* reverted and out of the table, freed when unpinned */
	struct fault *next;
};

struct kind_counters {
	unsigned long long applied, reverted, failed;
};

struct fl_agent {
	pthread_mutex_t mu;
	pthread_cond_t lease_cond; /* wakes the lease thread: a deadline moved, stopping */
	pthread_cond_t changed;	   /* a fault changed state, or keys were released */
	pthread_t lease_thread;
	bool thread_started;
	bool stopping;
	struct fl_workers *workers;
	struct fl_journal journal;
	const struct fl_agent_config *cfg;
	struct fault *faults;
	size_t live;		      /* entries in the table, whatever their state */
	unsigned long long key_gen;   /* bumped whenever a fault releases keys */
	unsigned long long lease_seq; /* bumped whenever a deadline moves (lease_kick_locked) */
	char recent[RECENT_MAX][FL_API_ID_MAX + 1];
	cJSON *recent_notes[RECENT_MAX];  /* what the revert had to say (restarts), or NULL */
	cJSON *recent_effect[RECENT_MAX]; /* the effect measured just before the revert, or NULL */
	size_t recent_next;
	struct kind_counters counters[KINDS_MAX];
	unsigned long long lease_expiries;
	unsigned long long reconciled;
	uint64_t lease_late_max_ms; /* the latest a lease revert started after its deadline */
};

static int kind_index(const char *kind)
{
	const struct fl_fault_ops *o;

	for (size_t i = 0; i < KINDS_MAX && (o = fl_fault_nth(i)); i++)
		if (!strcmp(o->kind, kind))
			return (int)i;
	return -1;
}

/* Under a->mu. */
static void count(struct fl_agent *a, const char *kind, int what)
{
	int i = kind_index(kind);

	if (i < 0)
		return;
	if (what == 0)
		a->counters[i].applied++;
	else if (what == 1)
		a->counters[i].reverted++;
	else
		a->counters[i].failed++;
}

int fl_agent_http_status(int code, const char **name)
{
	const char *n;
	int st;

	switch (-code) {
	case EINVAL:
	case ERANGE:
	case EPROTO:
		st = 400, n = "invalid_request";
		break;
	case EPERM:
	case EACCES:
		st = 403, n = "forbidden";
		break;
	case ENOENT:
		st = 404, n = "not_found";
		break;
	case EEXIST:
	case EBUSY: /* the target already carries a fault, or someone else's setup */
		st = 409, n = "conflict";
		break;
	case E2BIG:
	case EMSGSIZE:
		st = 413, n = "too_large";
		break;
	case ESRCH:
		st = 422, n = "no_target";
		break;
	case ENOSPC:
	case EAGAIN:
		st = 429, n = "limit_reached";
		break;
	case EOPNOTSUPP:
	case ENOSYS:
		st = 501, n = "unsupported";
		break;
	case ESHUTDOWN:
		st = 503, n = "stopping";
		break;
	default:
		st = 500, n = "internal";
		break;
	}
	if (name)
		*name = n;
	return st;
}

static int policy_cb(void *opaque, int pid, struct fl_error *err)
{
	return fl_agent_policy_check(opaque, pid, err);
}

/* What every op gets from the agent: a fresh seed, the id, the ownership policy. */
static void fault_ctx_init(struct fl_agent *a, const struct fl_api_fault_req *req,
			   struct fl_fault_ctx *ctx)
{
	ctx->seed = fl_rng_fresh_seed();
	ctx->fault_id = req->id;
	ctx->allow_pid = policy_cb;
	ctx->allow_command = fl_agent_policy_command;
	ctx->allow_netns = fl_agent_policy_netns;
	ctx->opaque = (void *)a->cfg;
	ctx->deadline_mono_ns = (fl_now_mono_ms() + req->ttl_ms) * 1000000ULL;
	{
		struct stat st;

		if (fstat(a->journal.statefd, &st) == 0)
			ctx->state_dev = (unsigned long long)st.st_dev;
	}
}

/* ctx->journal during an apply: the record with what apply added, journalled again. */
struct journal_hook {
	struct fl_agent *a;
	const char *id;
	cJSON *rec;
};

static int journal_hook_write(void *p, const cJSON *undo)
{
	struct journal_hook *h = p;
	cJSON *dup = cJSON_Duplicate(undo, true);

	if (!dup || !cJSON_ReplaceItemInObjectCaseSensitive(h->rec, "undo", dup)) {
		cJSON_Delete(dup);
		return -ENOMEM;
	}
	return fl_journal_write(&h->a->journal, h->id, h->rec);
}

/*
 * Under a->mu: a deadline moved (a fault became live, was renewed or failed
 * its revert), or the agent stops. The lease thread rescans; the sequence
 * number catches a kick while it was scanning without the lock.
 */
static void lease_kick_locked(struct fl_agent *a)
{
	a->lease_seq++;
	pthread_cond_signal(&a->lease_cond);
}

/* Under a->mu: the entry of id, whatever its state. */
static struct fault *find(struct fl_agent *a, const char *id)
{
	for (struct fault *f = a->faults; f; f = f->next)
		if (!strcmp(f->id, id))
			return f;
	return NULL;
}

/* Under a->mu. */
static void insert_locked(struct fl_agent *a, struct fault *f)
{
	f->next = a->faults;
	a->faults = f;
	a->live++;
}

/* Under a->mu. */
static void unlink_locked(struct fl_agent *a, struct fault *f)
{
	for (struct fault **pp = &a->faults; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			a->live--;
			f->unlinked = true;
			return;
		}
}

/* The ring slot of a recently reverted id, or -1. Under a->mu. */
static ssize_t recently_reverted(struct fl_agent *a, const char *id)
{
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (a->recent[i][0] && !strcmp(a->recent[i], id))
			return (ssize_t)i;
	return -1;
}

/* Remember a reverted id and its notes (owned), so a later DELETE can say both. Under a->mu. */
static void remember(struct fl_agent *a, const char *id, cJSON *notes, cJSON *effect)
{
	ssize_t old = recently_reverted(a, id);

	if (old >= 0) /* an id reused and reverted again: one slot, the latest notes */
		a->recent[old][0] = '\0';
	snprintf(a->recent[a->recent_next], sizeof(a->recent[0]), "%s", id);
	cJSON_Delete(a->recent_notes[a->recent_next]);
	a->recent_notes[a->recent_next] = notes;
	cJSON_Delete(a->recent_effect[a->recent_next]);
	a->recent_effect[a->recent_next] = effect;
	a->recent_next = (a->recent_next + 1) % RECENT_MAX;
}

/*
 * The kind's measure of what f's fault did (fl_fault_ops.effect), or NULL
 * when the kind has none. Never under a->mu: it reads /proc, tables, the
 * kernel. The caller owns f's record for the while (applying, reverting, or
 * pinned).
 */
static cJSON *measure_effect(const struct fl_fault_ops *ops, const cJSON *undo)
{
	cJSON *e = NULL;

	if (!ops || !ops->effect || !undo || ops->effect(undo, &e) < 0) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

static void fault_free(struct fault *f)
{
	if (!f)
		return;
	cJSON_Delete(f->undo);
	free(f->description);
	free(f);
}

/* Under a->mu: a fault out of the table is freed by whoever lets go of it last. */
static void unpin_locked(struct fault *f)
{
	if (--f->pins == 0 && f->unlinked)
		fault_free(f);
}

/* Under a->mu. */
static void set_description(struct fault *f, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return;
	free(f->description);
	f->description = d;
}

/* What a listing shows of a fault: copied under a->mu, made JSON after it. */
struct fault_view {
	char id[FL_API_ID_MAX + 1];
	char experiment[FL_API_EXPERIMENT_MAX + 1];
	char kind[FL_API_KIND_MAX + 1];
	enum fault_state state;
	uint64_t ttl_ms, deadline_ms, applied_wall_ms;
	char *description; /* owned copy, or NULL */
	char last_error[FL_ERROR_MSG_MAX];
};

/*
 * Under a->mu. A fault being applied is shown by name only: its apply
 * writes the rest outside the lock.
 */
static void view_take(const struct fault *f, struct fault_view *v)
{
	memcpy(v->id, f->id, sizeof(v->id));
	memcpy(v->experiment, f->experiment, sizeof(v->experiment));
	memcpy(v->kind, f->kind, sizeof(v->kind));
	v->state = f->state;
	v->ttl_ms = f->ttl_ms;
	v->deadline_ms = f->deadline_ms;
	v->applied_wall_ms = f->applied_wall_ms;
	v->description = f->state != F_APPLYING && f->description ? strdup(f->description) : NULL;
	memcpy(v->last_error, f->last_error, sizeof(v->last_error));
}

/* The JSON of a view (no lock needed); details (owned) is added as "details" when given. */
static cJSON *view_json(const struct fault_view *v, cJSON *details)
{
	cJSON *o = cJSON_CreateObject();
	uint64_t now = fl_now_mono_ms();
	char ts[40];

	if (!o) {
		cJSON_Delete(details);
		return NULL;
	}
	cJSON_AddStringToObject(o, "id", v->id);
	if (v->experiment[0])
		cJSON_AddStringToObject(o, "experiment", v->experiment);
	else
		cJSON_AddNullToObject(o, "experiment");
	cJSON_AddStringToObject(o, "kind", v->kind);
	cJSON_AddStringToObject(o, "state", state_names[v->state]);
	cJSON_AddNumberToObject(o, "ttl_ms", (double)v->ttl_ms);
	if (v->state == F_APPLYING) {
		cJSON_Delete(details);
		return o;
	}
	cJSON_AddStringToObject(o, "description", v->description ? v->description : "");
	if (v->state != F_KEPT) {
		cJSON_AddNumberToObject(o, "expires_in_ms",
					(double)(v->deadline_ms > now ? v->deadline_ms - now : 0));
		fl_time_rfc3339(fl_now_wall_ms() +
				    (v->deadline_ms > now ? v->deadline_ms - now : 0),
				ts, sizeof(ts));
		cJSON_AddStringToObject(o, "expires_at", ts);
	}
	fl_time_rfc3339(v->applied_wall_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "applied_at", ts);
	if (v->last_error[0])
		cJSON_AddStringToObject(o, "last_error", v->last_error);
	if (details)
		cJSON_AddItemToObject(o, "details", details);
	return o;
}

/* Under a->mu: one fault's JSON (one fault: cheap enough to make under the lock). */
static cJSON *fault_json(const struct fault *f, bool details)
{
	struct fault_view v;
	cJSON *o;

	view_take(f, &v);
	o = view_json(&v, !details || f->state == F_APPLYING ? NULL
			  : f->undo			     ? cJSON_Duplicate(f->undo, true)
							     : cJSON_CreateNull());
	free(v.description);
	return o;
}

static cJSON *journal_record(const char *id, const char *experiment, const char *kind,
			     uint64_t ttl_ms, uint64_t wall_ms, const cJSON *undo)
{
	cJSON *rec = cJSON_CreateObject();

	if (!rec)
		return NULL;
	if (!cJSON_AddStringToObject(rec, "id", id) ||
	    !cJSON_AddStringToObject(rec, "experiment", experiment) ||
	    !cJSON_AddStringToObject(rec, "kind", kind) ||
	    !cJSON_AddNumberToObject(rec, "ttl_ms", (double)ttl_ms) ||
	    !cJSON_AddNumberToObject(rec, "applied_wall_ms", (double)wall_ms) ||
	    !cJSON_AddItemToObject(rec, "undo", cJSON_Duplicate(undo, true))) {
		cJSON_Delete(rec);
		return NULL;
	}
	return rec;
}

/* FNV-1a: a table's name as a key. */
static unsigned long long hash_str(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void add_key(struct fault *f, unsigned long long ka, long long kb)
{
	for (size_t i = 0; i < f->nkeys; i++)
		if (f->keys[i].a == ka && f->keys[i].b == kb)
			return;
	if (f->nkeys == KEYS_MAX) {
		f->all_keys = true;
		return;
	}
	f->keys[f->nkeys++] = (struct fkey){ka, kb};
}

/*
 * The objects a fault's undo record names, at any depth: a network
 * interface ("netns_ino" with "ifindex" in one object; without an ifindex,
 * the whole namespace), a shim table ("table"), a frozen cgroup
 * ("cgroup_dir") and a process ("pid" with "start"). Two faults on one of
 * them must not interleave their plan/apply and revert: a pause planned
 * while another pause of the process is being reverted would record
 * "was stopped" and then stop it again after the other's SIGCONT, and
 * never resume it.
 */
static void collect_keys(struct fault *f, const cJSON *j, int depth)
{
	const cJSON *ino, *ix, *c, *pid, *start;

	if (!j || depth > FL_API_NESTING_MAX)
		return;
	if (cJSON_IsObject(j)) {
		ino = cJSON_GetObjectItemCaseSensitive(j, "netns_ino");
		ix = cJSON_GetObjectItemCaseSensitive(j, "ifindex");
		if (cJSON_IsNumber(ino) && ino->valuedouble >= 0 && ino->valuedouble < 1.8e19)
			add_key(f, (unsigned long long)ino->valuedouble,
				cJSON_IsNumber(ix) && ix->valuedouble >= 0 &&
					ix->valuedouble < 2147483648.0
				    ? (long long)ix->valuedouble
				    : -1);
		c = cJSON_GetObjectItemCaseSensitive(j, "table");
		if (cJSON_IsString(c))
			add_key(f, hash_str(c->valuestring), KEY_TABLE);
		c = cJSON_GetObjectItemCaseSensitive(j, "cgroup_dir");
		if (cJSON_IsString(c))
			add_key(f, hash_str(c->valuestring), KEY_CGROUP);
		pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
		start = cJSON_GetObjectItemCaseSensitive(j, "start");
		if (cJSON_IsNumber(pid) && cJSON_IsNumber(start) && pid->valuedouble > 0 &&
		    pid->valuedouble < 4294967296.0 && start->valuedouble >= 0 &&
		    start->valuedouble < 1.8e19)
			add_key(f,
				(unsigned long long)pid->valuedouble * 1099511628211ULL ^
				    (unsigned long long)start->valuedouble,
				KEY_PROCESS);
	}
	for (c = j->child; c; c = c->next)
		collect_keys(f, c, depth + 1);
}

static bool keys_overlap(const struct fault *x, const struct fault *y)
{
	if (!x->nkeys && !x->all_keys)
		return false;
	if (!y->nkeys && !y->all_keys)
		return false;
	if (x->all_keys || y->all_keys)
		return true;
	for (size_t i = 0; i < x->nkeys; i++)
		for (size_t k = 0; k < y->nkeys; k++) {
			const struct fkey *p = &x->keys[i], *q = &y->keys[k];

			if (p->a != q->a)
				continue;
			if (p->b == q->b || (p->b == -1 && q->b >= 0) || (q->b == -1 && p->b >= 0))
				return true;
		}
	return false;
}

/* Wait until no other fault holds one of f's keys, then hold them (nothing when it has none). */
static void keys_acquire(struct fl_agent *a, struct fault *f)
{
	bool busy;

	if (!f->nkeys && !f->all_keys)
		return;
	pthread_mutex_lock(&a->mu);
	do {
		busy = false;
		for (struct fault *g = a->faults; g && !busy; g = g->next)
			busy = g != f && g->holding && keys_overlap(f, g);
		if (busy)
			pthread_cond_wait(&a->changed, &a->mu);
	} while (busy);
	f->holding = true;
	pthread_mutex_unlock(&a->mu);
}

static void keys_release(struct fl_agent *a, struct fault *f)
{
	if (!f->holding)
		return;
	pthread_mutex_lock(&a->mu);
	f->holding = false;
	a->key_gen++;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
}

/*
 * Revert f, which the caller moved to REVERTING and so owns, outside the
 * lock; then record the outcome. Reverted: out of the table and the
 * journal, remembered with its notes, freed. Failed: LIVE again, retried by
 * the lease thread in RETRY_MS, its record kept. *notes (when asked): what
 * the revert has to say, e.g. a pod's container restarted.
 */
static int do_revert(struct fl_agent *a, struct fault *f, cJSON **notes, cJSON **effect,
		     struct fl_error *err)
{
	cJSON *said = NULL, *eff;
	struct fl_error e;
	char id[FL_API_ID_MAX + 1];
	uint64_t t_start = fl_now_mono_us(), t_reverted;
	int r;

	fl_error_init(&e);
	snprintf(id, sizeof(id), "%s", f->id);
	/* The final measure: after the revert there is nothing left to count. */
	eff = measure_effect(f->ops, f->undo);
	keys_acquire(a, f);
	r = f->ops->revert(f->undo, &e);
	keys_release(a, f);
	t_reverted = fl_now_mono_us();
	if (r == 0) {
		int jr;

		said = fl_kube_client_note_restarts(f->id, f->undo); /* pod targets */
		/* Not listed from now on: whoever sees its record gone sees it gone too. */
		pthread_mutex_lock(&a->mu);
		f->state = F_GONE;
		pthread_mutex_unlock(&a->mu);
		jr = fl_journal_remove(&a->journal, f->id);
		if (jr < 0)
			fl_log(FL_LOG_ERROR, "journal remove failed", "id", f->id, "error",
			       strerror(-jr), NULL);
		if (f->lease_fired) {
			/*
			 * How long after its deadline the revert was done (journal
			 * record gone), and where that time went: the lease thread
			 * taking it, a worker starting it, the kind's revert (with
			 * the effect read before it), the journal.
			 */
			uint64_t now = fl_now_mono_us(), due = f->deadline_ms * 1000;
			char late[24], stages[96];

			snprintf(late, sizeof(late), "%llu",
				 (unsigned long long)(now > due ? (now - due) / 1000 : 0));
			snprintf(stages, sizeof(stages), "%lld/%llu/%llu/%llu",
				 (long long)f->fired_us - (long long)due,
				 (unsigned long long)(t_start - f->fired_us),
				 (unsigned long long)(t_reverted - t_start),
				 (unsigned long long)(now - t_reverted));
			fl_log(FL_LOG_INFO, "fault reverted", "id", f->id, "kind", f->kind,
			       "experiment", f->experiment, "reason", f->reason, "late_ms", late,
			       "stages_us", stages, NULL);
		} else {
			fl_log(FL_LOG_INFO, "fault reverted", "id", f->id, "kind", f->kind,
			       "experiment", f->experiment, "reason", f->reason, NULL);
		}
	} else {
		fl_log(FL_LOG_ERROR, "revert failed", "id", f->id, "kind", f->kind, "reason",
		       f->reason, "error", e.msg, NULL);
	}
	pthread_mutex_lock(&a->mu);
	if (r == 0) {
		count(a, f->kind, 1);
		if (f->from_journal)
			a->reconciled++;
		if (notes)
			*notes = said ? cJSON_Duplicate(said, true) : NULL;
		if (effect)
			*effect = eff ? cJSON_Duplicate(eff, true) : NULL;
		remember(a, f->id, said, eff);
		eff = NULL;
		unlink_locked(a, f);
		if (f->pins)
			f = NULL; /* a renew still reads it: freed when it lets go */
	} else {
		count(a, f->kind, 2);
		snprintf(f->last_error, sizeof(f->last_error), "%s", e.msg);
		f->retries++;
		f->state = F_LIVE;
		f->deadline_ms = fl_now_mono_ms() + RETRY_MS;
		f = NULL;
	}
	pthread_cond_broadcast(&a->changed);
	lease_kick_locked(a);
	pthread_mutex_unlock(&a->mu);
	cJSON_Delete(eff);
	fault_free(f);
	if (r < 0 && err)
		fl_error_set(err, -EIO, e.path[0] ? e.path : NULL, "reverting %s failed: %s", id,
			     e.msg);
	return r < 0 ? -EIO : 0;
}

struct revert_job {
	struct fl_agent *a;
	struct fault *f;
};

static void revert_job_main(void *p)
{
	struct revert_job *j = p;

	(void)do_revert(j->a, j->f, NULL, NULL, NULL);
	free(j);
}

/* Run the revert of f (REVERTING, owned) on a worker, or here when no worker can. */
static void dispatch_revert(struct fl_agent *a, struct fault *f)
{
	struct revert_job *j = malloc(sizeof(*j));

	if (j) {
		j->a = a;
		j->f = f;
		if (fl_workers_run(a->workers, revert_job_main, j) == 0)
			return;
		free(j);
	}
	(void)do_revert(a, f, NULL, NULL, NULL);
}

/*
 * The keep hook of the fault kinds (fl_fault_set_keep_hook): a netlink socket
 * went into their empty pool, so the lease thread, which sleeps until the next
 * deadline only while nothing is pooled, has housekeeping to schedule.
 */
static void housekeep_kick(void *p)
{
	struct fl_agent *a = p;

	pthread_mutex_lock(&a->mu);
	lease_kick_locked(a);
	pthread_mutex_unlock(&a->mu);
}

/*
 * Sleeps until the next lease deadline, or the next time a pooled netlink
 * socket comes due (fl_fault_housekeep): an idle agent with no live fault and
 * nothing pooled does not wake up at all.
 */
static void *lease_main(void *p)
{
	struct fl_agent *a = p;

	if (a->cfg->lease_priority > 0) {
		char prio[12];
		int r = fl_thread_rt(a->cfg->lease_priority); /* before the name shows it */

		snprintf(prio, sizeof(prio), "%d", a->cfg->lease_priority);
		if (r < 0)
			fl_log(FL_LOG_WARN,
			       "leases run at the normal priority: cannot set SCHED_FIFO (needs "
			       "CAP_SYS_NICE or RLIMIT_RTPRIO at start)",
			       "lease_priority", prio, "error", strerror(-r), NULL);
		else
			fl_log(FL_LOG_INFO, "leases run at SCHED_FIFO", "lease_priority", prio,
			       NULL);
	}
	(void)pthread_setname_np(pthread_self(), "fl-lease"); /* top -H, /proc/PID/task */
	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		uint64_t now_us = fl_now_mono_us(), now = now_us / 1000, next = UINT64_MAX;
		long hk;
		unsigned long long seq = a->lease_seq;
		struct fault *due[DUE_MAX];
		size_t ndue = 0;

		for (struct fault *f = a->faults; f; f = f->next) {
			if (f->state != F_LIVE)
				continue;
			if (f->deadline_ms > now) {
				if (f->deadline_ms < next)
					next = f->deadline_ms;
				continue;
			}
			if (ndue == DUE_MAX) {
				next = now;
				break;
			}
			/* Ours now: nobody else starts a revert of a fault that is not LIVE. */
			f->state = F_REVERTING;
			f->reason = f->retries ? "retrying a failed revert" : "lease expired";
			f->lease_fired = !f->retries;
			f->fired_us = now_us;
			a->lease_expiries++;
			if (!f->retries && now - f->deadline_ms > a->lease_late_max_ms)
				a->lease_late_max_ms = now - f->deadline_ms;
			due[ndue++] = f;
		}
		pthread_mutex_unlock(&a->mu);
		for (size_t i = 0; i < ndue; i++)
			dispatch_revert(a, due[i]);
		/*
		 * Idle netlink sockets go, and their netns with them; the next one
		 * due sets a wake-up. A socket pooled after this call kicks us
		 * (housekeep_kick), which the sequence number below catches.
		 */
		hk = fl_fault_housekeep();
		if (hk >= 0) {
			uint64_t at = fl_now_mono_ms() + (uint64_t)hk;

			if (at < next)
				next = at;
		}
		pthread_mutex_lock(&a->mu);
		/* A deadline that moved while we were unlocked is not slept through. */
		if (ndue || a->stopping || seq != a->lease_seq)
			continue;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&a->lease_cond, &a->mu);
		} else {
			struct timespec ts;

			/* Sleep until the deadline, measured on the same clock as deadlines. */
			ts.tv_sec = (time_t)(next / 1000);
			ts.tv_nsec = (long)(next % 1000) * 1000000L;
			pthread_cond_timedwait(&a->lease_cond, &a->mu, &ts);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int fl_agent_new(const char *state_dir, const struct fl_agent_config *cfg, struct fl_agent **out,
		 struct fl_error *err)
{
	struct fl_agent *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (!a)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	a->cfg = cfg;
	r = fl_workers_new("fl-revert", WORKERS_MAX,
			   cfg->lease_priority > 0 ? WORKERS_KEEP_RT : WORKERS_KEEP,
			   cfg->lease_priority, &a->workers);
	if (r < 0) {
		free(a);
		return fl_error_set(err, r, NULL, "out of memory");
	}
	/*
	 * The lock is flock(2)'s, held by the open file: a process the previous
	 * agent forked (a command it launches, between fork and exec) shares it
	 * for a moment after that agent died. A restart right after a SIGKILL
	 * waits that moment out; another live agent keeps it, and we give up.
	 */
	for (uint64_t end = fl_now_mono_ms() + LOCK_WAIT_MS;;) {
		r = fl_journal_open(&a->journal, state_dir, err);
		if (r != -EBUSY || fl_now_mono_ms() >= end)
			break;
		usleep(20000);
	}
	if (r < 0) {
		fl_workers_free(a->workers);
		free(a);
		return r;
	}
	/* The lease thread waits for it: with lease_priority, it lends its priority. */
	fl_mutex_init(&a->mu, cfg->lease_priority > 0);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->lease_cond, &ca);
	pthread_cond_init(&a->changed, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return 0;
}

int fl_agent_start(struct fl_agent *a)
{
	int r;

	fl_fault_set_keep_hook(housekeep_kick, a);
	r = pthread_create(&a->lease_thread, NULL, lease_main, a);
	if (r) {
		fl_fault_set_keep_hook(NULL, NULL);
		return -r;
	}
	a->thread_started = true;
	/* Revert workers waiting already: the first lease to run out needs no new thread. */
	if (fl_workers_warm(a->workers) < 0)
		fl_log(FL_LOG_WARN, "cannot start revert workers ahead of need", NULL);
	return 0;
}

struct reconcile_ctx {
	struct fl_agent *a;
	struct fault **todo;
	size_t n, cap;
	int kept;
};

/* A record the agent will not act on: listed as KEPT, its id taken, for an operator. */
static void keep_record(struct reconcile_ctx *rc, const char *id, const cJSON *rec, const char *why)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rec, "experiment");
	struct fault *f = calloc(1, sizeof(*f));
	char msg[FL_ERROR_MSG_MAX];

	fl_log(FL_LOG_ERROR, "journal record kept, not reverted: fix or remove it", "id", id, "why",
	       why, NULL);
	rc->kept++;
	if (!f)
		return;
	snprintf(f->id, sizeof(f->id), "%s", id);
	if (cJSON_IsString(kind))
		snprintf(f->kind, sizeof(f->kind), "%s", kind->valuestring);
	if (cJSON_IsString(exp) && fl_api_id_valid(exp->valuestring, FL_API_EXPERIMENT_MAX))
		snprintf(f->experiment, sizeof(f->experiment), "%s", exp->valuestring);
	f->state = F_KEPT;
	f->deadline_ms = UINT64_MAX;
	snprintf(msg, sizeof(msg), "journal record kept for an operator: %s", why);
	f->description = strdup(msg);
	pthread_mutex_lock(&rc->a->mu);
	insert_locked(rc->a, f);
	pthread_mutex_unlock(&rc->a->mu);
}

static void reconcile_one(const char *id, const cJSON *rec, const char *why, void *opaque)
{
	struct reconcile_ctx *rc = opaque;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
	const cJSON *undo = cJSON_GetObjectItemCaseSensitive(rec, "undo");
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(rec, "id");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rec, "experiment");
	const cJSON *wall = cJSON_GetObjectItemCaseSensitive(rec, "applied_wall_ms");
	const struct fl_fault_ops *ops;
	struct fault *f;

	if (!rec)
		return keep_record(rc, id, NULL, why ? why : "unreadable");
	if (!cJSON_IsString(kind) || !cJSON_IsObject(undo))
		return keep_record(rc, id, rec, "unreadable: no kind or no undo record");
	if (rid && !(cJSON_IsString(rid) && !strcmp(rid->valuestring, id)))
		return keep_record(rc, id, rec, "its id is not its file's name");
	ops = fl_fault_lookup(kind->valuestring);
	if (!ops)
		return keep_record(rc, id, rec, "a fault kind this build lacks");
	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 16;
		struct fault **t = realloc(rc->todo, cap * sizeof(*t));

		if (!t)
			return keep_record(rc, id, rec, "out of memory");
		rc->todo = t;
		rc->cap = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->undo = cJSON_Duplicate(undo, true))) {
		free(f);
		return keep_record(rc, id, rec, "out of memory");
	}
	snprintf(f->id, sizeof(f->id), "%s", id);
	snprintf(f->experiment, sizeof(f->experiment), "%s",
		 cJSON_IsString(exp) && fl_api_id_valid(exp->valuestring, FL_API_EXPERIMENT_MAX)
		     ? exp->valuestring
		     : "");
	snprintf(f->kind, sizeof(f->kind), "%s", kind->valuestring);
	f->ops = ops;
	/* The journal is outside input: a time that is no u64 is unknown (0). */
	if (fl_json_get_u64(wall, &f->applied_wall_ms) < 0)
		f->applied_wall_ms = 0;
	f->description = strdup("reverting a journal record left by a previous run");
	f->ttl_ms = RETRY_MS;
	f->from_journal = true;
	f->state = F_REVERTING;
	f->reason = "reconcile after restart";
	collect_keys(f, f->undo, 0);
	pthread_mutex_lock(&rc->a->mu);
	insert_locked(rc->a, f);
	pthread_mutex_unlock(&rc->a->mu);
	rc->todo[rc->n++] = f;
}

/*
 * Every record is reverted on a worker of its own, so that one stuck revert
 * neither holds up the others nor the start for longer than
 * RECONCILE_WAIT_MS; one still running then goes on in the background (its
 * fault listed, its id taken) while the agent serves.
 */
int fl_agent_reconcile(struct fl_agent *a)
{
	struct reconcile_ctx rc = {.a = a};
	uint64_t deadline = fl_now_mono_ms() + RECONCILE_WAIT_MS;
	struct timespec ts = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L};
	int n, left = 0;

	n = fl_journal_each(&a->journal, reconcile_one, &rc);
	for (size_t i = 0; i < rc.n; i++)
		dispatch_revert(a, rc.todo[i]);
	free(rc.todo);
	pthread_mutex_lock(&a->mu);
	for (;;) {
		left = 0;
		for (struct fault *f = a->faults; f; f = f->next)
			if (f->from_journal && (f->state == F_REVERTING || f->state == F_GONE))
				left++;
		if (!left || pthread_cond_timedwait(&a->changed, &a->mu, &ts) == ETIMEDOUT)
			break;
	}
	left = 0;
	for (struct fault *f = a->faults; f; f = f->next)
		if (f->from_journal)
			left++;
	pthread_mutex_unlock(&a->mu);
	/* Reconcile's workers ran with every capability: later reverts get new threads. */
	fl_workers_retire(a->workers);
	fl_agent_preload_gc(); /* tables of shimmed processes that were SIGKILLed */
	if (n < 0) {
		fl_log(FL_LOG_ERROR, "cannot read the journal", "error", strerror(-n), NULL);
		return 1;
	}
	return left + rc.kept;
}

/* Every check an apply makes before it reads the system; called with the mutex held. */
static int admit_locked(struct fl_agent *a, const struct fl_api_fault_req *req,
			const struct fl_fault_ops **out, struct fl_error *err)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(req->kind);
	char why[256] = "";

	*out = ops;
	if (a->stopping)
		return fl_error_set(err, -ESHUTDOWN, NULL, "the agent is stopping");
	if (!ops)
		return fl_error_set(err, -EINVAL, "$.kind", "unknown fault kind \"%s\"", req->kind);
	if (!fl_agent_policy_kind(a->cfg, req->kind))
		return fl_error_set(err, -EPERM, "$.kind",
				    "fault kind \"%s\" is not allowed by the agent's config",
				    req->kind);
	if (ops->available && !ops->available(why, sizeof(why)))
		return fl_error_set(err, -EOPNOTSUPP, "$.kind", "%s is not usable here: %s",
				    req->kind, why);
	if (find(a, req->id))
		return fl_error_set(err, -EEXIST, "$.id", "a fault with id \"%s\" is already live",
				    req->id);
	if (a->live >= a->cfg->max_live_faults)
		return fl_error_set(err, -ENOSPC, NULL, "%zu faults are live, the agent's limit",
				    a->live);
	if (req->ttl_ms > a->cfg->max_ttl_ms)
		return fl_error_set(err, -ERANGE, "$.ttl_ms", "above the agent's max_ttl_ms (%llu)",
				    (unsigned long long)a->cfg->max_ttl_ms);
	return 0;
}

int fl_agent_apply(struct fl_agent *a, const struct fl_api_fault_req *req, cJSON **resp,
		   struct fl_error *err)
{
	const struct fl_fault_ops *ops = NULL;
	struct fl_fault_ctx ctx = {0};
	struct journal_hook jh;
	struct fault *f = NULL;
	void *spec = NULL;
	cJSON *rec = NULL, *eff = NULL;
	struct fl_buf desc;
	unsigned long long gen0;
	bool placed = false, journaled = false, stopping;
	int r;

	*resp = NULL;
	fl_buf_init(&desc, 4096);
	f = calloc(1, sizeof(*f));
	if (!f) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(f->id, sizeof(f->id), "%s", req->id);
	snprintf(f->experiment, sizeof(f->experiment), "%s", req->experiment);
	snprintf(f->kind, sizeof(f->kind), "%s", req->kind);
	f->ttl_ms = req->ttl_ms;
	f->state = F_APPLYING;
	/* The id is taken from here on: a second apply of it is a 409, not a race. */
	pthread_mutex_lock(&a->mu);
	r = admit_locked(a, req, &ops, err);
	if (r == 0) {
		f->ops = ops;
		insert_locked(a, f);
		placed = true;
	}
	gen0 = a->key_gen;
	pthread_mutex_unlock(&a->mu);
	if (r < 0)
		goto out;
	r = ops->parse(req->target, req->params, &spec, err);
	if (r == 0)
		r = fl_agent_policy_target(a->cfg, req->kind, req->target, err);
	if (r == 0)
		r = fl_agent_policy_writes(a->cfg, req->kind, req->params, err);
	if (r < 0)
		goto out;
	if (ops->describe && ops->describe(spec, &desc) == 0 && desc.data)
		f->description = strdup(desc.data);
	fault_ctx_init(a, req, &ctx);
	r = ops->plan(spec, &ctx, &f->undo, err);
	if (r < 0)
		goto out;
	collect_keys(f, f->undo, 0);
	f->applied_wall_ms = fl_now_wall_ms();
	/* Journal first: after a crash from here on, reconcile knows how to undo. */
	rec = journal_record(f->id, f->experiment, f->kind, f->ttl_ms, f->applied_wall_ms, f->undo);
	r = rec ? fl_journal_write(&a->journal, f->id, rec) : -ENOMEM;
	if (r < 0) {
		r = fl_error_set(err, r, NULL, "cannot write the journal: %s", strerror(-r));
		goto out;
	}
	journaled = true;
	/* The keys only now: nobody waits for our journal's fsync. */
	keys_acquire(a, f);
	pthread_mutex_lock(&a->mu);
	if (f->nkeys || f->all_keys)
		gen0 = gen0 != a->key_gen; /* 1: another fault's operation ended meanwhile */
	else
		gen0 = 0;
	pthread_mutex_unlock(&a->mu);
	if (gen0) {
		cJSON *undo = NULL;

		/* What the plan read may have changed under it: read it again, now alone. */
		r = ops->plan(spec, &ctx, &undo, err);
		if (r < 0)
			goto out;
		cJSON_Delete(f->undo);
		f->undo = undo;
		if (!cJSON_ReplaceItemInObjectCaseSensitive(rec, "undo",
							    cJSON_Duplicate(f->undo, true)) ||
		    (r = fl_journal_write(&a->journal, f->id, rec)) < 0) {
			r = fl_error_set(err, r < 0 ? r : -ENOMEM, NULL,
					 "cannot write the journal: %s",
					 strerror(r < 0 ? -r : ENOMEM));
			goto out;
		}
	}
	jh = (struct journal_hook){a, f->id, rec};
	ctx.journal = journal_hook_write;
	ctx.jopaque = &jh;
	r = ops->apply(spec, &ctx, f->undo, err);
	if (r < 0) {
		struct fl_error e2;

		fl_error_init(&e2);
		pthread_mutex_lock(&a->mu);
		count(a, f->kind, 2);
		pthread_mutex_unlock(&a->mu);
		/* apply undoes itself on failure; revert is idempotent, so make sure. */
		if (ops->revert(f->undo, &e2) < 0) {
			/*
			 * Something may still be applied and the undo is all we have:
			 * keep the journal record and the fault, live, so the lease
			 * thread retries the revert (as for a record reconcile could
			 * not undo) and its id is not reused.
			 */
			fl_log(FL_LOG_ERROR, "revert after a failed apply failed; retrying", "id",
			       f->id, "error", e2.msg, NULL);
			keys_release(a, f);
			pthread_mutex_lock(&a->mu);
			set_description(f, "reverting a fault whose apply failed");
			snprintf(f->last_error, sizeof(f->last_error), "%s", e2.msg);
			f->ttl_ms = RETRY_MS;
			f->retries = 1;
			f->deadline_ms = fl_now_mono_ms() + RETRY_MS;
			f->state = F_LIVE;
			lease_kick_locked(a);
			pthread_cond_broadcast(&a->changed);
			pthread_mutex_unlock(&a->mu);
			f = NULL;
			placed = false;
			goto out;
		}
		if (fl_journal_remove(&a->journal, f->id) < 0)
			fl_log(FL_LOG_ERROR, "journal remove failed", "id", f->id, NULL);
		journaled = false;
		goto out;
	}
	/*
	 * Revert works from the planned record alone (the ops contract); a kind
	 * that learns more while applying (a launched command's pid) adds it to
	 * the record, which is then journalled again.
	 */
	if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(rec, "undo"), f->undo, true) &&
	    (!cJSON_ReplaceItemInObjectCaseSensitive(rec, "undo", cJSON_Duplicate(f->undo, true)) ||
	     fl_journal_write(&a->journal, f->id, rec) < 0))
		fl_log(FL_LOG_ERROR, "journal rewrite failed", "id", f->id, NULL);
	keys_release(a, f);
	{
		char ttl[32];

		/* Still ours to read: once LIVE, a lease or a DELETE may revert and free it. */
		snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)f->ttl_ms);
		fl_log(FL_LOG_INFO, "fault applied", "id", f->id, "kind", f->kind, "experiment",
		       f->experiment, "ttl_ms", ttl, "what", f->description, NULL);
	}
	eff = measure_effect(ops, f->undo);
	pthread_mutex_lock(&a->mu);
	/* The deadline the fault itself was given (a shim table's), so both lapse together. */
	f->deadline_ms = ctx.deadline_mono_ns / 1000000ULL;
	count(a, f->kind, 0);
	stopping = a->stopping;
	if (stopping) {
		f->state = F_REVERTING;
		f->reason = "agent stopping";
	} else {
		f->state = F_LIVE;
		*resp = fault_json(f, true);
		if (*resp && eff)
			cJSON_AddItemToObject(*resp, "effect", eff);
		else
			cJSON_Delete(eff);
		eff = NULL;
		lease_kick_locked(a);
	}
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
	placed = false;
	if (stopping) {
		/* Nobody would revert it after the shutdown's sweep: now, and say so. */
		(void)do_revert(a, f, NULL, NULL, NULL);
		f = NULL;
		r = fl_error_set(
		    err, -ESHUTDOWN, NULL,
		    "the agent is stopping: the fault was applied and reverted at once");
		goto out;
	}
	f = NULL;
	r = 0;
out:
	if (f && placed && journaled && fl_journal_remove(&a->journal, f->id) < 0)
		fl_log(FL_LOG_ERROR, "journal remove failed", "id", f->id, NULL);
	if (f && placed) {
		keys_release(a, f);
		pthread_mutex_lock(&a->mu);
		unlink_locked(a, f);
		pthread_cond_broadcast(&a->changed);
		pthread_mutex_unlock(&a->mu);
	}
	if (r < 0)
		fl_log(FL_LOG_WARN, "fault refused", "id", req->id, "kind", req->kind, "path",
		       err->path, "error", err->msg, NULL);
	if (spec)
		ops->free(spec);
	cJSON_Delete(eff);
	cJSON_Delete(rec);
	fault_free(f);
	fl_buf_done(&desc);
	return r;
}

int fl_agent_dry_run(struct fl_agent *a, const struct fl_api_fault_req *req, cJSON **resp,
		     struct fl_error *err)
{
	const struct fl_fault_ops *ops = NULL;
	struct fl_fault_ctx ctx = {0};
	void *spec = NULL;
	cJSON *undo = NULL, *o = NULL;
	struct fl_buf desc;
	int r;

	*resp = NULL;
	fl_buf_init(&desc, 16384);
	pthread_mutex_lock(&a->mu);
	r = admit_locked(a, req, &ops, err);
	pthread_mutex_unlock(&a->mu);
	if (r < 0)
		goto out;
	r = ops->parse(req->target, req->params, &spec, err);
	if (r == 0)
		r = fl_agent_policy_target(a->cfg, req->kind, req->target, err);
	if (r == 0)
		r = fl_agent_policy_writes(a->cfg, req->kind, req->params, err);
	if (r < 0)
		goto out;
	fault_ctx_init(a, req, &ctx);
	/* plan reads the system and changes nothing (faults/fault.h); no journal, no apply. */
	r = ops->plan(spec, &ctx, &undo, err);
	if (r < 0)
		goto out;
	if (ops->describe && ops->describe(spec, &desc) < 0) {
		r = fl_error_set(err, -ENOMEM, NULL, "cannot describe the fault");
		goto out;
	}
	if (desc.len && desc.data[desc.len - 1] != '\n' && fl_buf_printf(&desc, "\n") < 0) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (ops->describe_plan && ops->describe_plan(undo, &desc) < 0) {
		r = fl_error_set(err, -ENOMEM, NULL, "cannot describe the plan");
		goto out;
	}
	while (desc.len && desc.data[desc.len - 1] == '\n')
		desc.data[--desc.len] = '\0';
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddBoolToObject(o, "dry_run", true) ||
	    !cJSON_AddStringToObject(o, "id", req->id) ||
	    !cJSON_AddStringToObject(o, "kind", req->kind) ||
	    !cJSON_AddStringToObject(o, "description", desc.data ? desc.data : "") ||
	    !cJSON_AddItemToObject(o, "plan", undo)) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	undo = NULL;
	*resp = o;
	o = NULL;
	r = 0;
out:
	if (r < 0)
		fl_log(FL_LOG_INFO, "dry run refused", "id", req->id, "kind", req->kind, "path",
		       err->path, "error", err->msg, NULL);
	else
		fl_log(FL_LOG_DEBUG, "dry run", "id", req->id, "kind", req->kind, NULL);
	if (spec)
		ops->free(spec);
	cJSON_Delete(undo);
	cJSON_Delete(o);
	fl_buf_done(&desc);
	return r;
}

cJSON *fl_agent_list(struct fl_agent *a, const char *experiment)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "faults");

	struct fault_view *v = NULL;
	size_t n = 0;

	/*
	 * The lease thread needs the lock: hold it only to copy the fields (a
	 * thousand faults' JSON would keep it for milliseconds).
	 */
	pthread_mutex_lock(&a->mu);
	v = a->live ? malloc(a->live * sizeof(*v)) : NULL;
	if (a->live && !v) {
		pthread_mutex_unlock(&a->mu);
		cJSON_Delete(o);
		return NULL; /* the caller answers 500 */
	}
	for (struct fault *f = a->faults; f && v; f = f->next)
		if (f->state != F_GONE && (!experiment || !strcmp(f->experiment, experiment)))
			view_take(f, &v[n++]);
	pthread_mutex_unlock(&a->mu);
	for (size_t i = 0; i < n; i++) {
		if (arr)
			cJSON_AddItemToArray(arr, view_json(&v[i], NULL));
		free(v[i].description);
	}
	free(v);
	return o;
}

int fl_agent_get(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err)
{
	struct fault *f;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	f = find(a, id);
	if (f && f->state != F_GONE)
		*out = fault_json(f, true);
	else
		r = fl_error_set(err, -ENOENT, "$.id", "no live fault with id \"%s\"", id);
	if (r == 0 && *out && f->state == F_LIVE && f->ops && f->ops->effect) {
		cJSON *eff;

		/* Measured live, outside the lock; the pin keeps the record (read only). */
		f->pins++;
		pthread_mutex_unlock(&a->mu);
		eff = measure_effect(f->ops, f->undo);
		if (eff)
			cJSON_AddItemToObject(*out, "effect", eff);
		pthread_mutex_lock(&a->mu);
		unpin_locked(f);
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

int fl_agent_renew(struct fl_agent *a, const char *id, uint64_t ttl_ms, cJSON **out,
		   struct fl_error *err)
{
	uint64_t deadline;
	struct fault *f;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	f = find(a, id);
	if (!f || f->state == F_APPLYING) {
		r = fl_error_set(err, -ENOENT, "$.id", "no live fault with id \"%s\"", id);
		goto out;
	}
	if (f->state == F_REVERTING || f->state == F_GONE) {
		r = fl_error_set(err, -ENOENT, "$.id",
				 "fault \"%s\" is being reverted (its lease ran out, or a revert "
				 "was asked for)",
				 id);
		goto out;
	}
	if (f->state == F_KEPT || f->retries) {
		r = fl_error_set(err, -EBUSY, "$.id", "fault \"%s\" is not renewable: %s", id,
				 f->state == F_KEPT ? "a journal record kept for an operator"
						    : "its revert failed and is being retried");
		goto out;
	}
	if (ttl_ms > a->cfg->max_ttl_ms) {
		r = fl_error_set(err, -ERANGE, "$.ttl_ms", "above the agent's max_ttl_ms");
		goto out;
	}
	deadline = fl_now_mono_ms() + (ttl_ms ? ttl_ms : f->ttl_ms);
	/*
	 * A kind that lapses by itself (a shim table's deadline) moves first,
	 * outside the lock (the table is somebody else's file). If the lease
	 * runs out meanwhile, the lease wins: the fault is reverted and the
	 * renew answers 404.
	 */
	if (f->ops->renew) {
		f->pins++;
		pthread_mutex_unlock(&a->mu);
		r = f->ops->renew(f->undo, deadline * 1000000ULL, err);
		pthread_mutex_lock(&a->mu);
		if (r == 0 && (f->unlinked || f->state != F_LIVE))
			r = fl_error_set(err, -ENOENT, "$.id",
					 "the lease of \"%s\" ran out during the renew", id);
		unpin_locked(f);
		if (r < 0)
			goto out;
	}
	if (ttl_ms)
		f->ttl_ms = ttl_ms;
	f->deadline_ms = deadline;
	lease_kick_locked(a);
	*out = fault_json(f, false);
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

int fl_agent_revert(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err)
{
	struct fault *f;
	cJSON *notes = NULL, *eff = NULL;
	ssize_t slot;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		f = find(a, id);
		if (!f) {
			slot = recently_reverted(a, id);
			if (slot < 0) {
				r = fl_error_set(err, -ENOENT, "$.id", "unknown fault id \"%s\"",
						 id);
				break;
			}
			*out = cJSON_CreateObject();
			cJSON_AddStringToObject(*out, "id", id);
			cJSON_AddBoolToObject(*out, "reverted", false);
			cJSON_AddStringToObject(*out, "note", "already reverted");
			/* A lease expiry's (or reconcile's) notes reach the controller's DELETE. */
			if (a->recent_notes[slot])
				cJSON_AddItemToObject(*out, "notes",
						      cJSON_Duplicate(a->recent_notes[slot], true));
			/* ...and so does the effect measured before that revert. */
			if (a->recent_effect[slot])
				cJSON_AddItemToObject(
				    *out, "effect", cJSON_Duplicate(a->recent_effect[slot], true));
			break;
		}
		if (f->state == F_LIVE) {
			f->state = F_REVERTING;
			f->reason = "requested";
			pthread_mutex_unlock(&a->mu);
			r = do_revert(a, f, &notes, &eff, err);
			if (r == 0) {
				*out = cJSON_CreateObject();
				cJSON_AddStringToObject(*out, "id", id);
				cJSON_AddBoolToObject(*out, "reverted", true);
				if (notes)
					cJSON_AddItemToObject(*out, "notes", notes);
				if (eff)
					cJSON_AddItemToObject(*out, "effect", eff);
			}
			return r;
		}
		if (f->state == F_KEPT) {
			r = fl_error_set(err, -EIO, "$.id", "%s: %s; fix or remove its record", id,
					 f->description ? f->description : "kept");
			break;
		}
		/* Being applied, or reverted by its lease: its outcome is the answer. */
		pthread_cond_wait(&a->changed, &a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

struct match {
	char id[FL_API_ID_MAX + 1];
	bool tried; /* our revert of it ran (and failed, if it is still there) */
};

int fl_agent_revert_match(struct fl_agent *a, const char *experiment, cJSON **out,
			  struct fl_error *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *done = cJSON_AddArrayToObject(o, "reverted");
	cJSON *failed = cJSON_AddArrayToObject(o, "failed");
	cJSON *notes = NULL;   /* {"ID": [note, ...]}, only when a revert had something to say */
	cJSON *effects = NULL; /* {"ID": effect}, for the kinds that measure one */
	const char *reason = experiment ? "experiment reverted" : "revert all";
	struct match *m = NULL;
	size_t n = 0, nfailed = 0;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	if (a->live) {
		m = calloc(a->live, sizeof(*m));
		if (!m) {
			pthread_mutex_unlock(&a->mu);
			*out = o;
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
	}
	for (struct fault *f = a->faults; f; f = f->next)
		if (!experiment || !strcmp(f->experiment, experiment))
			snprintf(m[n++].id, sizeof(m[0].id), "%s", f->id);
	/*
	 * Each revert runs on a worker of its own, so one that is stuck delays
	 * none of the others (the answer waits for all of them). A fault being
	 * applied is reverted once applied; one its lease is reverting counts
	 * with that revert's outcome.
	 */
	for (;;) {
		bool waiting = false;

		for (size_t i = 0; i < n; i++) {
			struct fault *f = find(a, m[i].id);

			if (!f || f->state == F_KEPT || (f->state == F_LIVE && m[i].tried))
				continue;
			if (f->state == F_LIVE) {
				f->state = F_REVERTING;
				f->reason = reason;
				m[i].tried = true;
				pthread_mutex_unlock(&a->mu);
				dispatch_revert(a, f);
				pthread_mutex_lock(&a->mu);
			}
			waiting = true;
		}
		if (!waiting)
			break;
		pthread_cond_wait(&a->changed, &a->mu);
	}
	for (size_t i = 0; i < n; i++) {
		struct fault *f = find(a, m[i].id);
		ssize_t slot;

		if (f) {
			cJSON_AddItemToArray(failed, cJSON_CreateString(m[i].id));
			if (!nfailed++)
				r = fl_error_set(err, -EIO, NULL, "%s: %s", m[i].id,
						 f->state == F_KEPT ? f->description
								    : f->last_error);
			continue;
		}
		slot = recently_reverted(a, m[i].id);
		if (slot < 0)
			continue; /* its apply failed: it never was */
		cJSON_AddItemToArray(done, cJSON_CreateString(m[i].id));
		if (a->recent_notes[slot]) {
			if (!notes)
				notes = cJSON_AddObjectToObject(o, "notes");
			cJSON_AddItemToObject(notes, m[i].id,
					      cJSON_Duplicate(a->recent_notes[slot], true));
		}
		if (a->recent_effect[slot]) {
			if (!effects)
				effects = cJSON_AddObjectToObject(o, "effects");
			cJSON_AddItemToObject(effects, m[i].id,
					      cJSON_Duplicate(a->recent_effect[slot], true));
		}
	}
	pthread_mutex_unlock(&a->mu);
	if (nfailed > 1)
		fl_error_set(err, -EIO, NULL, "%zu of %zu reverts failed; first: %s", nfailed, n,
			     err->msg);
	free(m);
	*out = o;
	return r;
}

int fl_agent_stop(struct fl_agent *a, uint64_t timeout_ms, bool *stuck)
{
	uint64_t deadline = fl_now_mono_ms() + timeout_ms;
	struct timespec ts = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L};
	size_t busy = 0;
	int left;

	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	lease_kick_locked(a);
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->mu);
	if (a->thread_started) {
		pthread_join(a->lease_thread, NULL); /* it does no I/O but housekeeping */
		a->thread_started = false;
	}
	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct fault *todo = NULL;

		busy = 0;
		for (struct fault *f = a->faults; f; f = f->next) {
			if (f->state == F_LIVE && !f->stop_tried && !todo) {
				f->stop_tried = true;
				f->state = F_REVERTING;
				f->reason = "agent stopping";
				todo = f;
			}
			if (f->state == F_APPLYING || f->state == F_REVERTING || f->state == F_GONE)
				busy++;
		}
		if (todo) {
			pthread_mutex_unlock(&a->mu);
			dispatch_revert(a, todo);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		if (!busy || pthread_cond_timedwait(&a->changed, &a->mu, &ts) == ETIMEDOUT)
			break;
	}
	busy = 0;
	for (struct fault *f = a->faults; f; f = f->next)
		if (f->state == F_APPLYING || f->state == F_REVERTING || f->state == F_GONE)
			busy++;
	left = (int)a->live;
	pthread_mutex_unlock(&a->mu);
	/* Only a pool whose jobs all ended can be waited for; the rest is left to exit(). */
	*stuck = busy || !fl_workers_drain(a->workers, deadline);
	return left;
}

void fl_agent_free(struct fl_agent *a)
{
	bool stuck = false;
	int left;

	if (!a)
		return;
	left = fl_agent_stop(a, FL_AGENT_STOP_MS, &stuck);
	if (left) {
		char n[16];

		snprintf(n, sizeof(n), "%d", left);
		fl_log(FL_LOG_ERROR,
		       "some faults could not be reverted at shutdown; the journal keeps them for "
		       "the next start",
		       "count", n, NULL);
	}
	if (stuck) {
		/* A thread is still inside a revert: what it uses must outlive us. */
		fl_log(FL_LOG_ERROR, "a revert is still running at shutdown; left to the journal",
		       NULL);
		return;
	}
	/* No revert runs any more; a socket pooled later must not kick a freed agent. */
	fl_fault_set_keep_hook(NULL, NULL);
	for (struct fault *f = a->faults, *next; f; f = next) {
		next = f->next;
		fault_free(f);
	}
	for (size_t i = 0; i < RECENT_MAX; i++) {
		cJSON_Delete(a->recent_notes[i]);
		cJSON_Delete(a->recent_effect[i]);
	}
	fl_workers_free(a->workers);
	fl_journal_close(&a->journal);
	pthread_cond_destroy(&a->lease_cond);
	pthread_cond_destroy(&a->changed);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int fl_agent_metrics(struct fl_agent *a, struct fl_buf *b)
{
	static const char *const names[] = {"applied", "reverted", "failed"};
	const struct fl_fault_ops *o;
	size_t by_state[F_STATE__MAX] = {0};
	int r = 0;

	pthread_mutex_lock(&a->mu);
	for (struct fault *f = a->faults; f; f = f->next)
		by_state[f->state]++;
	for (int w = 0; w < 3 && r == 0; w++) {
		r = fl_buf_printf(b,
				  "# HELP faultline_agent_faults_%s_total Faults %s, by kind.\n"
				  "# TYPE faultline_agent_faults_%s_total counter\n",
				  names[w], names[w], names[w]);
		for (size_t i = 0; r == 0 && i < KINDS_MAX && (o = fl_fault_nth(i)); i++) {
			unsigned long long v = w == 0	? a->counters[i].applied
					       : w == 1 ? a->counters[i].reverted
							: a->counters[i].failed;

			r = fl_buf_printf(b, "faultline_agent_faults_%s_total{kind=\"%s\"} %llu\n",
					  names[w], o->kind, v);
		}
	}
	if (r == 0)
		r = fl_buf_printf(
		    b,
		    "# HELP faultline_agent_live_faults Faults applied and not yet "
		    "reverted.\n# TYPE faultline_agent_live_faults gauge\n"
		    "faultline_agent_live_faults %zu\n"
		    "# HELP faultline_agent_faults Entries of the fault table, by state.\n"
		    "# TYPE faultline_agent_faults gauge\n"
		    "faultline_agent_faults{state=\"applying\"} %zu\n"
		    "faultline_agent_faults{state=\"live\"} %zu\n"
		    "faultline_agent_faults{state=\"reverting\"} %zu\n"
		    "faultline_agent_faults{state=\"kept\"} %zu\n"
		    "# HELP faultline_agent_lease_expiries_total Faults reverted because "
		    "their lease ran out.\n"
		    "# TYPE faultline_agent_lease_expiries_total counter\n"
		    "faultline_agent_lease_expiries_total %llu\n"
		    "# HELP faultline_agent_lease_late_seconds_max The longest a lease's "
		    "revert started after its deadline.\n"
		    "# TYPE faultline_agent_lease_late_seconds_max gauge\n"
		    "faultline_agent_lease_late_seconds_max %.3f\n"
		    "# HELP faultline_agent_reconciled_total Faults reverted from the "
		    "journal at start.\n"
		    "# TYPE faultline_agent_reconciled_total counter\n"
		    "faultline_agent_reconciled_total %llu\n",
		    a->live, by_state[F_APPLYING], by_state[F_LIVE],
		    by_state[F_REVERTING] + by_state[F_GONE], by_state[F_KEPT], a->lease_expiries,
		    (double)a->lease_late_max_ms / 1000.0, a->reconciled);
	pthread_mutex_unlock(&a->mu);
	return r;
}

static bool seccomp_user_notif(void)
{
#ifdef SECCOMP_GET_NOTIF_SIZES
	struct seccomp_notif_sizes sz;

	return syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) == 0;
#else
	return false;
#endif
}

cJSON *fl_agent_capabilities(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *caps = cJSON_AddObjectToObject(o, "capabilities");
	cJSON *kinds = cJSON_AddObjectToObject(o, "kinds");
	const struct fl_fault_ops *ops;
	char why[256];

	why[0] = '\0';
	cJSON_AddBoolToObject(caps, "pidfd", fl_proc_pidfd_available(why, sizeof(why)));
	why[0] = '\0';
	cJSON_AddBoolToObject(caps, "cgroup_freeze", fl_pause_freezer_available(why, sizeof(why)));
	cJSON_AddBoolToObject(caps, "seccomp_user_notif", seccomp_user_notif());
	/* Tried for real, as the kinds do: a module file says nothing about built-ins. */
	fl_fault_net_capabilities(caps);
	fl_agent_seccomp_caps(caps);
	for (size_t i = 0; (ops = fl_fault_nth(i)); i++) {
		cJSON *k = cJSON_AddObjectToObject(kinds, ops->kind);
		bool ok;

		why[0] = '\0';
		ok = !ops->available || ops->available(why, sizeof(why));
		cJSON_AddBoolToObject(k, "available", ok);
		if (!ok)
			cJSON_AddStringToObject(k, "reason", why);
	}
	return o;
}
