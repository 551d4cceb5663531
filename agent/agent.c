#include "agent/agent.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/journal.h"
#include "agent/kube_client.h"
#include "agent/log.h"
#include "agent/preload.h"
#include "core/duration.h"
#include "core/rng.h"
#include "faults/fault.h"
#include "faults/proc_select.h"

#define RECENT_MAX   1024 /* reverted ids remembered, so DELETE stays idempotent */
#define KINDS_MAX    16
#define RETRY_MS     1000 /* a lease revert that failed is retried this often */
#define HOUSEKEEP_MS 1000 /* fl_fault_housekeep at least this often */

struct fault {
	char id[FL_API_ID_MAX + 1];
	char experiment[FL_API_EXPERIMENT_MAX + 1];
	char kind[FL_API_KIND_MAX + 1];
	const struct fl_fault_ops *ops;
	cJSON *undo;
	char *description;
	uint64_t ttl_ms;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC */
	uint64_t applied_wall_ms;
	struct fault *next;
};

struct kind_counters {
	unsigned long long applied, reverted, failed;
};

struct fl_agent {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t lease_thread;
	bool thread_started;
	bool stopping;
	struct fl_journal journal;
	const struct fl_agent_config *cfg;
	struct fault *faults;
	size_t live;
	char recent[RECENT_MAX][FL_API_ID_MAX + 1];
	cJSON *recent_notes[RECENT_MAX]; /* what the revert had to say (restarts), or NULL */
	size_t recent_next;
	struct kind_counters counters[KINDS_MAX];
	unsigned long long lease_expiries;
	unsigned long long reconciled;
};

static int kind_index(const char *kind)
{
	const struct fl_fault_ops *o;

	for (size_t i = 0; i < KINDS_MAX && (o = fl_fault_nth(i)); i++)
		if (!strcmp(o->kind, kind))
			return (int)i;
	return -1;
}

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

static struct fault *find(struct fl_agent *a, const char *id, struct fault ***link)
{
	struct fault **pp = &a->faults;

	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

/* The ring slot of a recently reverted id, or -1. */
static ssize_t recently_reverted(struct fl_agent *a, const char *id)
{
	for (size_t i = 0; i < RECENT_MAX; i++)
		if (a->recent[i][0] && !strcmp(a->recent[i], id))
			return (ssize_t)i;
	return -1;
}

/* Remember a reverted id and its notes (owned), so a later DELETE can say both. */
static void remember(struct fl_agent *a, const char *id, cJSON *notes)
{
	snprintf(a->recent[a->recent_next], sizeof(a->recent[0]), "%s", id);
	cJSON_Delete(a->recent_notes[a->recent_next]);
	a->recent_notes[a->recent_next] = notes;
	a->recent_next = (a->recent_next + 1) % RECENT_MAX;
}

static void fault_free(struct fault *f)
{
	if (!f)
		return;
	cJSON_Delete(f->undo);
	free(f->description);
	free(f);
}

static cJSON *fault_json(const struct fault *f, bool details)
{
	cJSON *o = cJSON_CreateObject();
	uint64_t now = fl_now_mono_ms();
	char ts[40];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", f->id);
	if (f->experiment[0])
		cJSON_AddStringToObject(o, "experiment", f->experiment);
	else
		cJSON_AddNullToObject(o, "experiment");
	cJSON_AddStringToObject(o, "kind", f->kind);
	cJSON_AddStringToObject(o, "description", f->description ? f->description : "");
	cJSON_AddNumberToObject(o, "ttl_ms", (double)f->ttl_ms);
	cJSON_AddNumberToObject(o, "expires_in_ms",
				(double)(f->deadline_ms > now ? f->deadline_ms - now : 0));
	fl_time_rfc3339(fl_now_wall_ms() + (f->deadline_ms > now ? f->deadline_ms - now : 0), ts,
			sizeof(ts));
	cJSON_AddStringToObject(o, "expires_at", ts);
	fl_time_rfc3339(f->applied_wall_ms, ts, sizeof(ts));
	cJSON_AddStringToObject(o, "applied_at", ts);
	if (details)
		cJSON_AddItemToObject(o, "details", cJSON_Duplicate(f->undo, true));
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

/*
 * Revert, forget, journal; called with the mutex held. On failure the fault stays live.
 * *notes (when asked): what the revert has to say, e.g. a pod's container restarted.
 */
static int revert_locked(struct fl_agent *a, struct fault *f, const char *reason, cJSON **notes,
			 struct fl_error *err)
{
	cJSON *said;
	struct fault **link = NULL;
	struct fl_error e;
	int r;

	fl_error_init(&e);
	r = f->ops->revert(f->undo, &e);
	if (r < 0) {
		count(a, f->kind, 2);
		fl_log(FL_LOG_ERROR, "revert failed", "id", f->id, "kind", f->kind, "reason",
		       reason, "error", e.msg, NULL);
		if (err)
			*err = e;
		return r;
	}
	said = fl_kube_client_note_restarts(f->id, f->undo); /* pod targets (agent/kube_client.c) */
	if (notes)
		*notes = said ? cJSON_Duplicate(said, true) : NULL;
	r = fl_journal_remove(&a->journal, f->id);
	if (r < 0)
		fl_log(FL_LOG_ERROR, "journal remove failed", "id", f->id, "error", strerror(-r),
		       NULL);
	fl_log(FL_LOG_INFO, "fault reverted", "id", f->id, "kind", f->kind, "experiment",
	       f->experiment, "reason", reason, NULL);
	count(a, f->kind, 1);
	remember(a, f->id, said);
	if (find(a, f->id, &link)) {
		*link = f->next;
		a->live--;
	}
	fault_free(f);
	return 0;
}

static void *lease_main(void *p)
{
	struct fl_agent *a = p;

	pthread_mutex_lock(&a->mu);
	while (!a->stopping) {
		uint64_t now = fl_now_mono_ms(), next = UINT64_MAX;
		struct fault *due = NULL;

		for (struct fault *f = a->faults; f; f = f->next) {
			if (f->deadline_ms <= now && !due)
				due = f;
			if (f->deadline_ms < next)
				next = f->deadline_ms;
		}
		if (due) {
			a->lease_expiries++;
			if (revert_locked(a, due, "lease expired", NULL, NULL) < 0)
				due->deadline_ms = now + RETRY_MS;
			continue;
		}
		/* At least once a second: idle netlink sockets go, and their netns with them. */
		fl_fault_housekeep();
		if (next > now + HOUSEKEEP_MS)
			next = now + HOUSEKEEP_MS;
		{
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			/* Sleep until the deadline, measured on the same clock as deadlines. */
			{
				uint64_t wait = next - now;

				ts.tv_sec += (time_t)(wait / 1000);
				ts.tv_nsec += (long)(wait % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
			}
			pthread_cond_timedwait(&a->cond, &a->mu, &ts);
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
	r = fl_journal_open(&a->journal, state_dir, err);
	if (r < 0) {
		free(a);
		return r;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return 0;
}

int fl_agent_start(struct fl_agent *a)
{
	int r = pthread_create(&a->lease_thread, NULL, lease_main, a);

	if (r)
		return -r;
	a->thread_started = true;
	return 0;
}

struct reconcile_ctx {
	struct fl_agent *a;
	int failed;
};

/*
 * A fault whose revert failed stays live, listed and journalled, with its id
 * taken, and the lease thread retries the revert every RETRY_MS.
 */
static void keep_for_retry(struct fl_agent *a, struct fault *f, const char *why)
{
	free(f->description);
	f->description = strdup(why);
	f->ttl_ms = RETRY_MS;
	f->deadline_ms = fl_now_mono_ms() + RETRY_MS;
	f->next = a->faults;
	a->faults = f;
	a->live++;
}

static void reconcile_one(const char *id, const cJSON *rec, void *opaque)
{
	struct reconcile_ctx *rc = opaque;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
	const cJSON *undo = cJSON_GetObjectItemCaseSensitive(rec, "undo");
	const struct fl_fault_ops *ops;
	struct fl_error e;
	int r;

	fl_error_init(&e);
	if (!rec || !cJSON_IsString(kind) || !cJSON_IsObject(undo)) {
		fl_log(FL_LOG_ERROR, "unreadable journal record kept for an operator", "id", id,
		       NULL);
		rc->failed++;
		return;
	}
	ops = fl_fault_lookup(kind->valuestring);
	if (!ops) {
		fl_log(FL_LOG_ERROR, "journal record of a kind this build lacks kept", "id", id,
		       "kind", kind->valuestring, NULL);
		rc->failed++;
		return;
	}
	r = ops->revert(undo, &e);
	if (r < 0) {
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rec, "experiment");
		const cJSON *wall = cJSON_GetObjectItemCaseSensitive(rec, "applied_wall_ms");
		struct fault *f = calloc(1, sizeof(*f));

		fl_log(FL_LOG_ERROR, "reconcile revert failed", "id", id, "kind", kind->valuestring,
		       "error", e.msg, NULL);
		rc->failed++;
		/*
		 * Still applied: keep it live, so that it is listed, its id is not
		 * reused (a new journal record would replace this one) and the lease
		 * thread retries the revert.
		 */
		if (!f || !(f->undo = cJSON_Duplicate(undo, true))) {
			free(f);
			return;
		}
		snprintf(f->id, sizeof(f->id), "%s", id);
		snprintf(f->experiment, sizeof(f->experiment), "%s",
			 cJSON_IsString(exp) ? exp->valuestring : "");
		snprintf(f->kind, sizeof(f->kind), "%s", kind->valuestring);
		f->ops = ops;
		/* The journal is outside input: a time that is no u64 is unknown (0). */
		if (fl_json_get_u64(wall, &f->applied_wall_ms) < 0)
			f->applied_wall_ms = 0;
		keep_for_retry(rc->a, f, "reverting a journal record left by a previous run");
		return;
	}
	remember(rc->a, id, fl_kube_client_note_restarts(id, undo));
	r = fl_journal_remove(&rc->a->journal, id);
	if (r < 0)
		fl_log(FL_LOG_ERROR, "journal remove failed", "id", id, "error", strerror(-r),
		       NULL);
	rc->a->reconciled++;
	fl_log(FL_LOG_INFO, "fault reverted", "id", id, "kind", kind->valuestring, "reason",
	       "reconcile after restart", NULL);
}

int fl_agent_reconcile(struct fl_agent *a)
{
	struct reconcile_ctx rc = {a, 0};
	int n;

	pthread_mutex_lock(&a->mu);
	n = fl_journal_each(&a->journal, reconcile_one, &rc);
	pthread_mutex_unlock(&a->mu);
	fl_agent_preload_gc(); /* tables of shimmed processes that were SIGKILLed */
	if (n < 0) {
		fl_log(FL_LOG_ERROR, "cannot read the journal", "error", strerror(-n), NULL);
		return 1;
	}
	return rc.failed;
}

/* Every check an apply makes before it reads the system; called with the mutex held. */
static int admit_locked(struct fl_agent *a, const struct fl_api_fault_req *req,
			const struct fl_fault_ops **out, struct fl_error *err)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(req->kind);
	char why[256] = "";

	*out = ops;
	if (!ops)
		return fl_error_set(err, -EINVAL, "$.kind", "unknown fault kind \"%s\"", req->kind);
	if (!fl_agent_policy_kind(a->cfg, req->kind))
		return fl_error_set(err, -EPERM, "$.kind",
				    "fault kind \"%s\" is not allowed by the agent's config",
				    req->kind);
	if (ops->available && !ops->available(why, sizeof(why)))
		return fl_error_set(err, -EOPNOTSUPP, "$.kind", "%s is not usable here: %s",
				    req->kind, why);
	if (find(a, req->id, NULL))
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
	cJSON *rec = NULL;
	struct fl_buf desc;
	int r;

	*resp = NULL;
	fl_buf_init(&desc, 4096);
	pthread_mutex_lock(&a->mu);
	r = admit_locked(a, req, &ops, err);
	if (r < 0)
		goto out;
	r = ops->parse(req->target, req->params, &spec, err);
	if (r == 0)
		r = fl_agent_policy_target(a->cfg, req->kind, req->target, err);
	if (r < 0)
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(f->id, sizeof(f->id), "%s", req->id);
	snprintf(f->experiment, sizeof(f->experiment), "%s", req->experiment);
	snprintf(f->kind, sizeof(f->kind), "%s", req->kind);
	f->ops = ops;
	f->ttl_ms = req->ttl_ms;
	if (ops->describe && ops->describe(spec, &desc) == 0 && desc.data)
		f->description = strdup(desc.data);
	fault_ctx_init(a, req, &ctx);
	r = ops->plan(spec, &ctx, &f->undo, err);
	if (r < 0)
		goto out;
	f->applied_wall_ms = fl_now_wall_ms();
	/* Journal first: after a crash from here on, reconcile knows how to undo. */
	rec = journal_record(f->id, f->experiment, f->kind, f->ttl_ms, f->applied_wall_ms, f->undo);
	r = rec ? fl_journal_write(&a->journal, f->id, rec) : -ENOMEM;
	if (r < 0) {
		r = fl_error_set(err, r, NULL, "cannot write the journal: %s", strerror(-r));
		goto out;
	}
	jh = (struct journal_hook){a, f->id, rec};
	ctx.journal = journal_hook_write;
	ctx.jopaque = &jh;
	r = ops->apply(spec, &ctx, f->undo, err);
	if (r < 0) {
		struct fl_error e2;

		/* apply undoes itself on failure; revert is idempotent, so make sure. */
		count(a, f->kind, 2);
		if (ops->revert(f->undo, &e2) < 0) {
			/*
			 * Something may still be applied and the undo is all we have:
			 * keep the journal record and the fault, live, so the lease
			 * thread retries the revert (as for a record reconcile could
			 * not undo) and its id is not reused.
			 */
			fl_log(FL_LOG_ERROR, "revert after a failed apply failed; retrying", "id",
			       f->id, "error", e2.msg, NULL);
			keep_for_retry(a, f, "reverting a fault whose apply failed");
			pthread_cond_signal(&a->cond);
			f = NULL;
			goto out;
		}
		if (fl_journal_remove(&a->journal, f->id) < 0)
			fl_log(FL_LOG_ERROR, "journal remove failed", "id", f->id, NULL);
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
	/* The deadline the fault itself was given (a shim table's), so both lapse together. */
	f->deadline_ms = ctx.deadline_mono_ns / 1000000ULL;
	f->next = a->faults;
	a->faults = f;
	a->live++;
	count(a, f->kind, 0);
	pthread_cond_signal(&a->cond);
	*resp = fault_json(f, true);
	{
		char ttl[32];

		snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)f->ttl_ms);
		fl_log(FL_LOG_INFO, "fault applied", "id", f->id, "kind", f->kind, "experiment",
		       f->experiment, "ttl_ms", ttl, "what", f->description, NULL);
	}
	f = NULL;
	r = 0;
out:
	pthread_mutex_unlock(&a->mu);
	if (r < 0)
		fl_log(FL_LOG_WARN, "fault refused", "id", req->id, "kind", req->kind, "path",
		       err->path, "error", err->msg, NULL);
	if (spec)
		ops->free(spec);
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
	/* Under the mutex, as an apply: the plan sees the faults that are live right now. */
	pthread_mutex_lock(&a->mu);
	r = admit_locked(a, req, &ops, err);
	if (r < 0)
		goto out;
	r = ops->parse(req->target, req->params, &spec, err);
	if (r == 0)
		r = fl_agent_policy_target(a->cfg, req->kind, req->target, err);
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
	pthread_mutex_unlock(&a->mu);
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

cJSON *fl_agent_list(struct fl_agent *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "faults");

	pthread_mutex_lock(&a->mu);
	for (struct fault *f = a->faults; f && arr; f = f->next)
		cJSON_AddItemToArray(arr, fault_json(f, false));
	pthread_mutex_unlock(&a->mu);
	return o;
}

int fl_agent_get(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err)
{
	struct fault *f;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	f = find(a, id, NULL);
	if (f)
		*out = fault_json(f, true);
	else
		r = fl_error_set(err, -ENOENT, "$.id", "no live fault with id \"%s\"", id);
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
	f = find(a, id, NULL);
	if (!f) {
		r = fl_error_set(err, -ENOENT, "$.id", "no live fault with id \"%s\"", id);
		goto out;
	}
	if (ttl_ms > a->cfg->max_ttl_ms) {
		r = fl_error_set(err, -ERANGE, "$.ttl_ms", "above the agent's max_ttl_ms");
		goto out;
	}
	deadline = fl_now_mono_ms() + (ttl_ms ? ttl_ms : f->ttl_ms);
	/* A kind that lapses by itself (a shim table's deadline) moves first. */
	if (f->ops->renew && (r = f->ops->renew(f->undo, deadline * 1000000ULL, err)) < 0)
		goto out;
	if (ttl_ms)
		f->ttl_ms = ttl_ms;
	f->deadline_ms = deadline;
	pthread_cond_signal(&a->cond);
	*out = fault_json(f, false);
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

int fl_agent_revert(struct fl_agent *a, const char *id, cJSON **out, struct fl_error *err)
{
	struct fault *f;
	cJSON *notes = NULL;
	ssize_t slot;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&a->mu);
	f = find(a, id, NULL);
	if (f) {
		r = revert_locked(a, f, "requested", &notes, err);
		if (r == 0) {
			*out = cJSON_CreateObject();
			cJSON_AddStringToObject(*out, "id", id);
			cJSON_AddBoolToObject(*out, "reverted", true);
			if (notes)
				cJSON_AddItemToObject(*out, "notes", notes);
		}
	} else if ((slot = recently_reverted(a, id)) >= 0) {
		*out = cJSON_CreateObject();
		cJSON_AddStringToObject(*out, "id", id);
		cJSON_AddBoolToObject(*out, "reverted", false);
		cJSON_AddStringToObject(*out, "note", "already reverted");
		/* A lease expiry's (or reconcile's) notes reach the controller's DELETE. */
		if (a->recent_notes[slot])
			cJSON_AddItemToObject(*out, "notes",
					      cJSON_Duplicate(a->recent_notes[slot], true));
	} else {
		r = fl_error_set(err, -ENOENT, "$.id", "unknown fault id \"%s\"", id);
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

int fl_agent_revert_match(struct fl_agent *a, const char *experiment, cJSON **out,
			  struct fl_error *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *done = cJSON_AddArrayToObject(o, "reverted");
	cJSON *failed = cJSON_AddArrayToObject(o, "failed");
	cJSON *notes = NULL; /* {"ID": [note, ...]}, only when a revert had something to say */
	int r = 0;

	pthread_mutex_lock(&a->mu);
	for (struct fault *f = a->faults, *next; f; f = next) {
		char id[FL_API_ID_MAX + 1];
		cJSON *fn = NULL;
		struct fl_error e;

		next = f->next;
		if (experiment && strcmp(f->experiment, experiment))
			continue;
		snprintf(id, sizeof(id), "%s", f->id);
		fl_error_init(&e);
		if (revert_locked(a, f, experiment ? "experiment reverted" : "revert all", &fn,
				  &e) < 0) {
			cJSON_AddItemToArray(failed, cJSON_CreateString(id));
			r = fl_error_set(err, e.code, NULL, "%s: %s", id, e.msg);
		} else {
			cJSON_AddItemToArray(done, cJSON_CreateString(id));
			if (fn && !notes)
				notes = cJSON_AddObjectToObject(o, "notes");
			if (fn)
				cJSON_AddItemToObject(notes, id, fn);
			else
				cJSON_Delete(fn);
		}
	}
	pthread_mutex_unlock(&a->mu);
	*out = o;
	return r;
}

void fl_agent_free(struct fl_agent *a)
{
	cJSON *o = NULL;
	struct fl_error err;

	if (!a)
		return;
	if (a->thread_started) {
		pthread_mutex_lock(&a->mu);
		a->stopping = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->lease_thread, NULL);
	}
	fl_error_init(&err);
	if (fl_agent_revert_match(a, NULL, &o, &err) < 0)
		fl_log(FL_LOG_ERROR,
		       "some faults could not be reverted at shutdown; the journal "
		       "keeps them for the next start",
		       "error", err.msg, NULL);
	cJSON_Delete(o);
	for (struct fault *f = a->faults, *next; f; f = next) {
		next = f->next;
		fault_free(f);
	}
	for (size_t i = 0; i < RECENT_MAX; i++)
		cJSON_Delete(a->recent_notes[i]);
	fl_journal_close(&a->journal);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int fl_agent_metrics(struct fl_agent *a, struct fl_buf *b)
{
	const struct fl_fault_ops *o;
	int r = 0;

	pthread_mutex_lock(&a->mu);
	static const char *const names[] = {"applied", "reverted", "failed"};

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
		    "# HELP faultline_agent_lease_expiries_total Faults reverted because "
		    "their lease ran out.\n"
		    "# TYPE faultline_agent_lease_expiries_total counter\n"
		    "faultline_agent_lease_expiries_total %llu\n"
		    "# HELP faultline_agent_reconciled_total Faults reverted from the "
		    "journal at start.\n"
		    "# TYPE faultline_agent_reconciled_total counter\n"
		    "faultline_agent_reconciled_total %llu\n",
		    a->live, a->lease_expiries, a->reconciled);
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
