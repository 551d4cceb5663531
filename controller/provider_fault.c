/*
 * The `fault` provider: sends each fault activity to its agents over the
 * agent API, all-or-nothing, keeps long faults alive with lease renewals,
 * and reverts everything at the end. Without any agent configured it starts
 * the embedded default (controller/embedded_agent.c) and uses the very same
 * API. Before anything runs, it checks every fault offline with its kind's
 * own parser (fl_fault_validate).
 *
 * Agents for an activity: its "agents" (inventory names or addresses), else
 * every agent of the --agents inventory, else the embedded agent.
 *
 * Chaos Monkey mode: a target may carry "monkey": {"count": N | "percent": P
 * [, "seed": S]}; the controller then sends the fault to N (or P%) agents of
 * the group picked with a seeded fl_rng, records the seed in the result, and
 * strips "monkey" from what the agents see.
 */
#include "controller/provider_fault.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/agent_client.h"
#include "controller/embedded_agent.h"
#include "controller/inventory.h"
#include "controller/kube_discovery.h"
#include "core/api.h"
#include "core/duration.h"
#include "core/rng.h"
#include "faults/proc_select.h"
#include "faults/spec.h"

#define LEASE_MS	15000 /* ttl sent for long faults; renewed every LEASE_MS / 3 */
#define CALL_TIMEOUT_MS 10000
#define EP_MAX		4096

struct live_fault {
	char id[FL_API_ID_MAX + 1];
	size_t ep;	     /* index into s->eps */
	uint64_t end_ms;     /* CLOCK_MONOTONIC: when the fault should end */
	uint64_t renewed_ms; /* last renewal */
	bool done;	     /* reverted, or its lease ran out */
};

struct fl_fault_session {
	char experiment[48]; /* the run's id, sanitised to the API charset, <= 40 chars */
	bool dry_run;
	char *agent_binary;
	struct fl_agent_inventory inv;
	bool has_inventory;
	struct fl_agent_ep eps[EP_MAX]; /* every agent this session talked to (deduplicated) */
	size_t n_eps;
	struct fl_agent_client *client;
	unsigned seq;

	/* the embedded agent */
	struct fl_embedded_agent embed;
	ssize_t embed_ep; /* index into eps, -1 */

	/* apply/revert/preflight may come from background-activity threads: one at a time */
	pthread_mutex_t op_mu;

	/* live faults + renew thread */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t renewer;
	bool renewer_started, stopping;
	struct live_fault *live;
	size_t n_live, cap_live;
	unsigned renew_failures;
	uint64_t lease_ms;
	const struct fl_experiment *e;
	cJSON *notes;	/* what agents said when reverting: [{"fault_id","agent","notes"}] */
	cJSON *effects; /* the final effects: [{"fault_id","agent","effect"}] */
};

/* ---- the embedded agent (controller/embedded_agent.c) -------------------------------- */

static int embed_start(struct fl_fault_session *s, struct fl_error *err)
{
	struct fl_agent_ep ep;
	int r;

	if (s->embed_ep >= 0)
		return 0;
	r = fl_embedded_agent_start(&s->embed, s->client, &ep, err);
	if (r < 0)
		return r;
	s->eps[s->n_eps] = ep;
	s->embed_ep = (ssize_t)s->n_eps++;
	return 0;
}

/* ---- endpoints ----------------------------------------------------------------------- */

/* Index of an endpoint by name, adding it (resolved) when new. */
static int ep_index(struct fl_fault_session *s, const char *name, struct fl_error *err)
{
	struct fl_agent_ep ep;
	int r;

	for (size_t i = 0; i < s->n_eps; i++)
		if ((ssize_t)i != s->embed_ep && !strcmp(s->eps[i].name, name))
			return (int)i;
	if (s->n_eps >= EP_MAX)
		return fl_error_set(err, -E2BIG, NULL, "more than %d agents", EP_MAX);
	r = fl_agent_resolve(s->has_inventory ? &s->inv : NULL, name, &ep, err);
	if (r < 0)
		return r;
	s->eps[s->n_eps] = ep;
	return (int)s->n_eps++;
}

/* The agents an activity goes to, as endpoint indexes. */
static int activity_eps(struct fl_fault_session *s, const struct fl_provider *p, size_t **out,
			size_t *n, struct fl_error *err)
{
	size_t cap = 0, k = 0;
	size_t *v = NULL;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (p->agents && p->agents[0]) {
		while (p->agents[cap])
			cap++;
		v = calloc(cap, sizeof(*v));
		if (!v)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		for (size_t i = 0; i < cap; i++) {
			r = ep_index(s, p->agents[i], err);
			if (r < 0)
				goto fail;
			v[k++] = (size_t)r;
		}
	} else if (s->has_inventory && s->inv.n) {
		v = calloc(s->inv.n, sizeof(*v));
		if (!v)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		for (size_t i = 0; i < s->inv.n; i++) {
			r = ep_index(s, s->inv.v[i].name, err);
			if (r < 0)
				goto fail;
			v[k++] = (size_t)r;
		}
	} else {
		r = embed_start(s, err);
		if (r < 0)
			return r;
		v = calloc(1, sizeof(*v));
		if (!v)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		v[k++] = (size_t)s->embed_ep;
	}
	*out = v;
	*n = k;
	return 0;
fail:
	free(v);
	return r;
}

/* ---- renew thread -------------------------------------------------------------------- */

static void *renew_main(void *p)
{
	struct fl_fault_session *s = p;
	struct fl_agent_client *c = fl_agent_client_new();

	pthread_mutex_lock(&s->mu);
	while (!s->stopping && c) {
		uint64_t now = fl_now_mono_ms();
		struct timespec ts;

		for (size_t i = 0; i < s->n_live; i++) {
			struct live_fault *f = &s->live[i];
			struct fl_agent_call call;
			char body[64];
			uint64_t left;

			if (f->done || f->end_ms <= now || now - f->renewed_ms < s->lease_ms / 3)
				continue;
			left = f->end_ms - now;
			snprintf(body, sizeof(body), "{\"ttl_ms\":%" PRIu64 "}",
				 left < s->lease_ms ? left : s->lease_ms);
			memset(&call, 0, sizeof(call));
			call.ep = &s->eps[f->ep];
			call.method = "POST";
			call.body = body;
			snprintf(call.path, sizeof(call.path), "/v1/faults/%s/renew", f->id);
			f->renewed_ms = now;
			/* The call runs unlocked; the slot stays valid (only appended to). */
			pthread_mutex_unlock(&s->mu);
			if (fl_agent_client_run(c, &call, 1, CALL_TIMEOUT_MS) < 0 ||
			    call.status != 200)
				__atomic_add_fetch(&s->renew_failures, 1, __ATOMIC_RELAXED);
			fl_agent_call_done(&call);
			pthread_mutex_lock(&s->mu);
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		{
			/* Wake often enough to renew at a third of the lease. */
			uint64_t step = s->lease_ms / 6 < 1000 ? s->lease_ms / 6 + 1 : 1000;

			ts.tv_nsec += (long)(step * 1000000);
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	fl_agent_client_free(c);
	return NULL;
}

static int add_live(struct fl_fault_session *s, const char *id, size_t ep, uint64_t duration_ms)
{
	int r = 0;

	pthread_mutex_lock(&s->mu);
	if (s->n_live == s->cap_live) {
		size_t nc = s->cap_live ? s->cap_live * 2 : 16;
		struct live_fault *nv = realloc(s->live, nc * sizeof(*nv));

		if (!nv) {
			r = -ENOMEM;
			goto out;
		}
		s->live = nv;
		s->cap_live = nc;
	}
	memset(&s->live[s->n_live], 0, sizeof(s->live[0]));
	snprintf(s->live[s->n_live].id, sizeof(s->live[0].id), "%s", id);
	s->live[s->n_live].ep = ep;
	s->live[s->n_live].renewed_ms = fl_now_mono_ms();
	s->live[s->n_live].end_ms = s->live[s->n_live].renewed_ms + duration_ms;
	s->n_live++;
	if (!s->renewer_started && duration_ms > s->lease_ms) {
		if (pthread_create(&s->renewer, NULL, renew_main, s) == 0)
			s->renewer_started = true;
		else
			r = -EAGAIN;
	}
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* ---- session ------------------------------------------------------------------------- */

int fl_fault_session_new(const struct fl_experiment *e, const struct fl_fault_session_opts *opts,
			 struct fl_fault_session **out, struct fl_error *err)
{
	struct fl_fault_session *s;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	s->e = e;
	s->embed_ep = -1;
	s->lease_ms = opts && opts->lease_ms ? opts->lease_ms : LEASE_MS;
	s->dry_run = opts && opts->dry_run;
	/* Experiment ids become fault ids: keep them to the API's charset. */
	{
		const char *id = opts && opts->experiment_id ? opts->experiment_id : "run";
		size_t k = 0;

		for (const char *c = id; *c && k < 40; c++)
			s->experiment[k++] =
			    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789._:-",
				   *c)
				? *c
				: '-';
		s->experiment[k] = '\0';
		if (!fl_api_id_valid(s->experiment, 40))
			snprintf(s->experiment, sizeof(s->experiment), "run");
	}
	if (opts && opts->agent_binary && !(s->agent_binary = strdup(opts->agent_binary))) {
		free(s);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	s->embed.binary = s->agent_binary;
	if (opts && opts->inventory_path) {
		r = fl_agent_inventory_load(opts->inventory_path, &s->inv, err);
		if (r < 0) {
			char m[FL_ERROR_MSG_MAX];

			char path[FL_ERROR_PATH_MAX];

			snprintf(m, sizeof(m), "%s", err->msg);
			snprintf(path, sizeof(path), "%s", err->path);
			fl_error_set(err, r, path, "--agents %s: %s", opts->inventory_path, m);
			free(s->agent_binary);
			free(s);
			return r;
		}
		s->has_inventory = true;
	}
	s->client = fl_agent_client_new();
	if (!s->client) {
		fl_agent_inventory_done(&s->inv);
		free(s->agent_binary);
		free(s);
		return fl_error_set(err, -ENOMEM, NULL, "cannot set up libcurl");
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->op_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	return 0;
}

static bool is_fault(const struct fl_activity *a)
{
	const struct fl_activity *x = a->ref ? a->ref : a;

	return x->provider.type == FL_PROVIDER_FAULT;
}

/* "direction": "ingress" of a network fault: an ifb device fed by act_mirred on the agent. */
static bool wants_ingress(const struct fl_provider *p)
{
	cJSON *params = p->params_json ? cJSON_Parse(p->params_json) : NULL;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "direction");
	bool in = cJSON_IsString(d) && !strcmp(d->valuestring, "ingress");

	cJSON_Delete(params);
	return in;
}

static int preflight_list(struct fl_fault_session *s, const struct fl_activity_list *l,
			  struct fl_error *err)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct fl_activity *a = l->v[i].ref ? l->v[i].ref : &l->v[i];
		struct fl_agent_call *calls = NULL;
		size_t *eps = NULL, n = 0;
		int r;

		if (!is_fault(&l->v[i]))
			continue;
		r = activity_eps(s, &a->provider, &eps, &n, err);
		if (r < 0)
			return r;
		calls = calloc(n, sizeof(*calls));
		if (!calls) {
			free(eps);
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
		for (size_t k = 0; k < n; k++) {
			calls[k].ep = &s->eps[eps[k]];
			calls[k].method = "GET";
			snprintf(calls[k].path, sizeof(calls[k].path), "/v1/health");
		}
		r = fl_agent_client_run(s->client, calls, n, CALL_TIMEOUT_MS);
		for (size_t k = 0; r == 0 && k < n; k++) {
			const cJSON *kind;

			if (calls[k].status != 200) {
				r = fl_agent_call_error(&calls[k], err);
				break;
			}
			kind = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(calls[k].json, "kinds"),
			    a->provider.kind);
			if (!kind) {
				r = fl_error_set(err, -EOPNOTSUPP, a->json_path,
						 "agent %s does not know fault kind \"%s\"",
						 calls[k].ep->name, a->provider.kind);
				break;
			}
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kind, "available"))) {
				const cJSON *why = cJSON_GetObjectItemCaseSensitive(kind, "reason");

				r = fl_error_set(err, -EOPNOTSUPP, a->json_path,
						 "agent %s cannot do \"%s\" here: %s",
						 calls[k].ep->name, a->provider.kind,
						 cJSON_IsString(why) ? why->valuestring
								     : "unavailable");
				break;
			}
			if (wants_ingress(&a->provider) &&
			    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(calls[k].json, "capabilities"),
				"ifb_mirred"))) {
				r = fl_error_set(
				    err, -EOPNOTSUPP, a->json_path,
				    "agent %s cannot do ingress \"%s\" here: kernel has no "
				    "ifb with act_mirred (modprobe ifb act_mirred)",
				    calls[k].ep->name, a->provider.kind);
				break;
			}
		}
		for (size_t k = 0; k < n; k++)
			fl_agent_call_done(&calls[k]);
		free(calls);
		free(eps);
		if (r < 0)
			return r;
	}
	return 0;
}

static int preflight_locked(struct fl_fault_session *s, struct fl_error *err)
{
	int r;

	/* A dry run checks too: health is read-only, and --dry is where a user looks first. */
	if (!s || !s->e)
		return 0;
	r = preflight_list(s, &s->e->hypothesis, err);
	if (r == 0)
		r = preflight_list(s, &s->e->method, err);
	if (r == 0)
		r = preflight_list(s, &s->e->rollbacks, err);
	return r;
}

/*
 * Grammar (in a fault's target, the controller's own key; agents never see it):
 *   "monkey": {"count": N | "percent": P [, "seed": S]}
 * S: as core/rng.h reads a seed, or null or "" for a fresh one.
 */
static int monkey_parse(const cJSON *m, struct fl_pick *pick, struct fl_error *err)
{
	static const char *const keys[] = {"count", "percent", "seed", NULL};
	int r;

	if (!cJSON_IsObject(m))
		return fl_error_set(err, -EINVAL, "$.target.monkey", "expected an object");
	r = fl_api_only_keys(m, "$.target.monkey", keys, err);
	/* A seed may be a decimal string, as "monkey_seed" records it (exact past 2^53,
	 * and what an env/--var value gives); null or "" draws a fresh one. */
	return r < 0 ? r
		     : fl_pick_parse(m, "$.target.monkey", FL_PICK_REQUIRED | FL_PICK_EMPTY_SEED,
				     pick, err);
}

/* Chaos Monkey: send the fault to count (or percent) of the activity's agents only. */
static int monkey_pick(cJSON *target, size_t **eps, size_t *n, cJSON *result, struct fl_error *err)
{
	cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(target, "monkey");
	struct fl_pick pick;
	uint64_t sd;
	int r;

	if (!m)
		return 0;
	r = monkey_parse(m, &pick, err);
	cJSON_Delete(m);
	if (r < 0)
		return r;
	sd = pick.has_seed ? pick.seed : fl_rng_fresh_seed();
	*n = fl_pick_shuffle(*eps, *n, sizeof(**eps), fl_pick_k(&pick, *n), sd);
	{
		char b[32];

		snprintf(b, sizeof(b), "%" PRIu64, sd);
		cJSON_AddStringToObject(result, "monkey_seed", b);
	}
	return 0;
}

/* ---- offline validation --------------------------------------------------------------- */

/* A kind's error (its path relative to the fault: "$.target.pid") at the activity's path. */
static void validate_error(struct fl_errlist *errs, const struct fl_activity *a,
			   const struct fl_error *e)
{
	char path[FL_ERROR_PATH_MAX];

	if (e->path[0] == '$')
		snprintf(path, sizeof(path), "%.120s.provider%.120s", a->json_path, e->path + 1);
	else
		snprintf(path, sizeof(path), "%.120s.provider", a->json_path);
	fl_errlist_add(errs, e->code ? e->code : -EINVAL, path, "%s", e->msg);
}

/*
 * Take out of a fault's target what the controller itself reads, checked:
 * "monkey" (Chaos Monkey mode), and for a network kind's pod target the
 * count/percent/seed that pick pods across the cluster (kube_discovery.c;
 * a process kind's agents read those themselves).
 */
static int controller_keys(cJSON *target, const struct fl_fault_spec_ops *spec,
			   struct fl_error *err)
{
	cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(target, "monkey");
	struct fl_pick pick;
	int r = m ? monkey_parse(m, &pick, err) : 0;

	cJSON_Delete(m);
	if (r < 0 || spec->family != FL_FAULT_FAMILY_NETWORK ||
	    !cJSON_GetObjectItemCaseSensitive(target, "pod"))
		return r;
	r = fl_pick_parse(target, "$.target", 0, &pick, err);
	for (const char *const *k = (const char *const[]){"all", "count", "percent", "seed", NULL};
	     r == 0 && *k; k++)
		cJSON_DeleteItemFromObjectCaseSensitive(target, *k);
	return r;
}

static void validate_activity(const struct fl_activity *a, struct fl_errlist *errs)
{
	const struct fl_provider *p = &a->provider;
	const struct fl_fault_spec_ops *spec;
	cJSON *target = NULL, *params = NULL;
	struct fl_error e;
	int r;

	if (a->ref || !a->json_path)
		return; /* a ref repeats an activity checked where it is defined */
	fl_error_init(&e);
	if (p->type == FL_PROVIDER_RUNNING) {
		/* The `running` probe reads a process target, as kill and pause do. */
		struct fl_proc_sel sel;

		target = cJSON_Parse(p->target_json ? p->target_json : "{}");
		r = target ? fl_proc_sel_parse(target, NULL, &sel, &e)
			   : fl_error_set(&e, -ENOMEM, NULL, "out of memory");
		if (r == 0)
			fl_proc_sel_done(&sel);
		goto out;
	}
	if (p->type != FL_PROVIDER_FAULT || !p->kind)
		return;
	target = cJSON_Parse(p->target_json ? p->target_json : "{}");
	params = cJSON_Parse(p->params_json ? p->params_json : "{}");
	if (!target || !params) {
		r = fl_error_set(&e, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	spec = fl_fault_spec_lookup(p->kind);
	r = spec ? controller_keys(target, spec, &e) : 0;
	if (r == 0)
		r = fl_fault_spec_check(p->kind, target, params, &e);
	if (r == 0 && !spec->instant && p->duration_ms == 0)
		r = fl_error_set(&e, -EINVAL, "$.duration",
				 "missing: expected how long the fault lasts, like \"30s\" (only a "
				 "kill, which acts once, needs none)");
out:
	if (r < 0)
		validate_error(errs, a, &e);
	cJSON_Delete(target);
	cJSON_Delete(params);
}

int fl_fault_validate(const struct fl_experiment *e, struct fl_errlist *errs)
{
	const struct fl_activity_list *lists[] = {&e->hypothesis, &e->method, &e->rollbacks,
						  &e->abort};
	size_t before = errs->n + errs->dropped;

	for (size_t l = 0; l < FL_ARRAY_SIZE(lists); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			validate_activity(&lists[l]->v[i], errs);
	return errs->n + errs->dropped > before ? -EINVAL : 0;
}

/* A fault activity ready to send: the agents picked, the request, the result begun. */
struct fault_req {
	char id[FL_API_ID_MAX + 1];
	size_t *eps, n; /* indexes into s->eps */
	uint64_t ttl;	/* the lease asked for */
	char *body;	/* POST /v1/faults */
	cJSON *res;	/* the activity's output so far */
};

static void req_done(struct fault_req *q)
{
	free(q->eps);
	free(q->body);
	cJSON_Delete(q->res);
	memset(q, 0, sizeof(*q));
}

/*
 * One path for apply and the dry run, so that they pick alike: the activity's
 * agents, Chaos Monkey's pick of them, then a pod target's pods across the
 * cluster (pinned by UID, only the agents on their nodes); the request body.
 */
static int req_prepare(struct fl_fault_session *s, const struct fl_activity *a, bool dry,
		       struct fault_req *q, struct fl_error *err)
{
	const struct fl_provider *p = &a->provider;
	cJSON *target = NULL, *params = NULL;
	int r;

	memset(q, 0, sizeof(*q));
	if (p->type != FL_PROVIDER_FAULT)
		return fl_error_set(err, -EINVAL, a->json_path, "not a fault activity");
	target = cJSON_Parse(p->target_json ? p->target_json : "{}");
	params = cJSON_Parse(p->params_json ? p->params_json : "{}");
	q->res = cJSON_CreateObject();
	if (!target || !params || !q->res) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(q->id, sizeof(q->id), "%s-f%u", s->experiment, ++s->seq);
	if (dry)
		cJSON_AddBoolToObject(q->res, "dry_run", true);
	cJSON_AddStringToObject(q->res, "fault_id", q->id);
	cJSON_AddStringToObject(q->res, "kind", p->kind);
	cJSON_AddNumberToObject(q->res, "duration_ms", (double)p->duration_ms);
	r = activity_eps(s, p, &q->eps, &q->n, err);
	if (r == 0)
		r = monkey_pick(target, &q->eps, &q->n, q->res, err);
	if (r == 0)
		r = fl_kube_discovery_target(target, s->eps, q->eps, &q->n, q->res, err);
	if (r < 0)
		goto out;
	q->ttl = p->duration_ms ? p->duration_ms : s->lease_ms;
	if (q->ttl > s->lease_ms)
		q->ttl = s->lease_ms;
	q->body = fl_api_fault_req_json(q->id, s->experiment, p->kind, target, params, q->ttl);
	if (!q->body)
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
out:
	cJSON_Delete(target);
	cJSON_Delete(params);
	if (r < 0)
		req_done(q);
	return r;
}

/* POST the request to each picked agent at `path`, in parallel; *calls: one per agent. */
static int req_post(struct fl_fault_session *s, const struct fault_req *q, const char *path,
		    struct fl_agent_call **calls, struct fl_error *err)
{
	struct fl_agent_call *c = calloc(q->n ? q->n : 1, sizeof(*c));
	int r;

	*calls = c;
	if (!c)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < q->n; i++) {
		c[i].ep = &s->eps[q->eps[i]];
		c[i].method = "POST";
		c[i].body = q->body;
		snprintf(c[i].path, sizeof(c[i].path), "%s", path);
	}
	r = fl_agent_client_run(s->client, c, q->n, CALL_TIMEOUT_MS);
	return r < 0 ? fl_error_set(err, r, NULL, "cannot reach the agents: %s", strerror(-r)) : 0;
}

/* Ask each agent of the activity what it would do (POST /v1/faults?dry_run=1). */
static int describe_locked(struct fl_fault_session *s, const struct fl_activity *act,
			   cJSON **result, struct fl_error *err)
{
	const struct fl_activity *a = act->ref ? act->ref : act;
	struct fl_agent_call *calls = NULL;
	struct fault_req q;
	size_t n = 0;
	cJSON *arr;
	int r;

	*result = NULL;
	r = req_prepare(s, a, true, &q, err);
	if (r < 0)
		return r;
	n = q.n;
	arr = cJSON_AddArrayToObject(q.res, "agents");
	r = arr ? req_post(s, &q, "/v1/faults?dry_run=1", &calls, err)
		: fl_error_set(err, -ENOMEM, NULL, "out of memory");
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(calls[i].json, "description");

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		cJSON_AddStringToObject(o, "agent", calls[i].ep->name);
		cJSON_AddNumberToObject(o, "status", (double)calls[i].status);
		if (calls[i].status == 200 && cJSON_IsString(d)) {
			cJSON_AddStringToObject(o, "description", d->valuestring);
			cJSON_AddItemToObject(
			    o, "plan",
			    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(calls[i].json, "plan"),
					    true));
		} else {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(calls[i].json, "error");
			const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
			const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
			const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
			struct fl_error why;

			/* The agent's own words when it answered; the transport's otherwise. */
			fl_error_init(&why);
			fl_agent_call_error(&calls[i], &why);
			cJSON_AddStringToObject(o, "error",
						cJSON_IsString(msg) ? msg->valuestring : why.msg);
			if (cJSON_IsString(path) && path->valuestring[0] == '$' && a->json_path) {
				char full[FL_ERROR_PATH_MAX];

				snprintf(full, sizeof(full), "%.120s.provider%.120s", a->json_path,
					 path->valuestring + 1);
				cJSON_AddStringToObject(o, "path", full);
			}
			if (cJSON_IsString(code))
				cJSON_AddStringToObject(o, "code", code->valuestring);
		}
	}
	*result = q.res;
	q.res = NULL;
	r = 0;
out:
	for (size_t i = 0; calls && i < n; i++)
		fl_agent_call_done(&calls[i]);
	free(calls);
	req_done(&q);
	return r;
}

static int apply_locked(struct fl_fault_session *s, const struct fl_activity *act, cJSON **result,
			struct fl_error *err)
{
	const struct fl_activity *a = act->ref ? act->ref : act;
	const struct fl_provider *p = &a->provider;
	struct fl_agent_call *calls = NULL, *undo = NULL;
	bool *sure = NULL;
	struct fault_req q;
	size_t n = 0, refused = SIZE_MAX;
	cJSON *arr;
	int r;

	*result = NULL;
	r = req_prepare(s, a, false, &q, err);
	if (r < 0)
		return r;
	n = q.n;
	r = req_post(s, &q, "/v1/faults", &calls, err);
	if (r < 0 && !calls)
		goto out;
	if (r < 0)
		goto rollback;
	for (size_t i = 0; i < n; i++)
		if (calls[i].status != 201 && refused == SIZE_MAX)
			refused = i;
	if (refused != SIZE_MAX) {
		struct fl_error why;

		char path[FL_ERROR_PATH_MAX] = "";

		fl_error_init(&why);
		fl_agent_call_error(&calls[refused], &why);
		/* The agent's "$.target.pid" is this activity's "$.method[2].provider.target.pid".
		 */
		if (why.path[0] == '$' && a->json_path)
			snprintf(path, sizeof(path), "%.120s.provider%.120s", a->json_path,
				 why.path + 1);
		/* -ECONNABORTED: the runner aborts the run (design: all-or-nothing). */
		r = fl_error_set(err, -ECONNABORTED, path[0] ? path : NULL, "%s", why.msg);
		goto rollback;
	}
	arr = cJSON_AddArrayToObject(q.res, "agents");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "agent", calls[i].ep->name);
		cJSON_AddNumberToObject(o, "status", (double)calls[i].status);
		cJSON_AddNumberToObject(o, "elapsed_ms", calls[i].elapsed_ms);
		if (calls[i].json)
			cJSON_AddItemToObject(o, "applied", cJSON_Duplicate(calls[i].json, true));
		cJSON_AddItemToArray(arr, o);
		/* No duration (a kill): live for one lease, never renewed. */
		if (add_live(s, q.id, q.eps[i], p->duration_ms ? p->duration_ms : q.ttl) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		r = fl_error_set(err, r, NULL, "out of memory");
		goto rollback;
	}
	*result = q.res;
	q.res = NULL;
	r = 0;
	goto out;
rollback:
	/*
	 * All-or-nothing: take back what the other agents applied -- those that said
	 * 201, and those whose answer never came (status 0: a timeout or a dropped
	 * connection may follow the apply; DELETE is idempotent, 404 if it did not).
	 */
	undo = calloc(n ? n : 1, sizeof(*undo));
	sure = calloc(n ? n : 1, sizeof(*sure));
	if (undo && sure) {
		size_t k = 0, applied = 0, reverted = 0;

		for (size_t i = 0; i < n; i++) {
			if (calls[i].status != 201 && calls[i].status != 0)
				continue;
			undo[k].ep = calls[i].ep;
			undo[k].method = "DELETE";
			snprintf(undo[k].path, sizeof(undo[k].path), "/v1/faults/%s", q.id);
			sure[k] = calls[i].status == 201;
			k++;
		}
		if (k && fl_agent_client_run(s->client, undo, k, CALL_TIMEOUT_MS) < 0)
			for (size_t i = 0; i < k; i++)
				undo[i].status = 0;
		for (size_t i = 0; i < k; i++) {
			/* Unanswered before: 200 says it had applied, 404 that it had not. */
			bool had = sure[i] || undo[i].status == 200 || undo[i].status == 0;

			applied += had;
			reverted += had && undo[i].status == 200;
		}
		if (applied) {
			char m[FL_ERROR_MSG_MAX], path[FL_ERROR_PATH_MAX];

			snprintf(m, sizeof(m), "%s", err->msg);
			snprintf(path, sizeof(path), "%s", err->path);
			fl_error_set(err, err->code, path[0] ? path : NULL,
				     "%s; reverted on %zu of %zu agent(s) that had or may have "
				     "applied it%s",
				     m, reverted, applied,
				     reverted < applied ? " (the rest end with their lease)" : "");
		}
		for (size_t i = 0; i < k; i++)
			fl_agent_call_done(&undo[i]);
	}
out:
	for (size_t i = 0; calls && i < n; i++)
		fl_agent_call_done(&calls[i]);
	free(calls);
	free(undo);
	free(sure);
	req_done(&q);
	return r;
}

/*
 * A revert's answer may carry "notes" (e.g. a pod's container restarted during the
 * fault; agent/agent.c): kept for the run's journal, at most NOTES_MAX entries.
 */
#define NOTES_MAX	    256
#define NOTES_PER_FAULT_MAX 64
#define NOTE_TEXT_MAX	    1024
static void keep_notes(struct fl_fault_session *s, const struct fl_agent_call *c)
{
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(c->json, "notes");
	const char *id = c->path + strlen("/v1/faults/");
	const cJSON *n;
	cJSON *e, *kept;

	if (c->status != 200 || !cJSON_IsArray(notes) || !cJSON_GetArraySize(notes))
		return;
	if (!s->notes && !(s->notes = cJSON_CreateArray()))
		return;
	if (cJSON_GetArraySize(s->notes) >= NOTES_MAX || !(e = cJSON_CreateObject()))
		return;
	cJSON_AddStringToObject(e, "fault_id", id);
	cJSON_AddStringToObject(e, "agent", c->ep->name ? c->ep->name : c->ep->url);
	kept = cJSON_AddArrayToObject(e, "notes");
	cJSON_ArrayForEach(n, notes)
	{
		char text[NOTE_TEXT_MAX];

		/* An agent's answer is outside input: strings only, each and all capped. */
		if (!cJSON_IsString(n) || cJSON_GetArraySize(kept) >= NOTES_PER_FAULT_MAX)
			continue;
		snprintf(text, sizeof(text), "%s", n->valuestring);
		cJSON_AddItemToArray(kept, cJSON_CreateString(text));
	}
	cJSON_AddItemToArray(s->notes, e);
}

/*
 * A revert's answer carries the fault's final "effect" (agent/agent.c, measured
 * just before the revert): kept for the journal and the terminal, at most
 * EFFECTS_MAX, each at most EFFECT_TEXT_MAX bytes of JSON (outside input).
 */
#define EFFECTS_MAX	256
#define EFFECT_TEXT_MAX 8192
static void keep_effect(struct fl_fault_session *s, const struct fl_agent_call *c)
{
	const cJSON *eff = cJSON_GetObjectItemCaseSensitive(c->json, "effect");
	const char *id = c->path + strlen("/v1/faults/");
	char *text;
	cJSON *e;

	if (c->status != 200 || !cJSON_IsObject(eff))
		return;
	if (!s->effects && !(s->effects = cJSON_CreateArray()))
		return;
	if (cJSON_GetArraySize(s->effects) >= EFFECTS_MAX || !(e = cJSON_CreateObject()))
		return;
	text = cJSON_PrintUnformatted(eff);
	if (!text || strlen(text) > EFFECT_TEXT_MAX) {
		free(text);
		cJSON_Delete(e);
		return;
	}
	free(text);
	cJSON_AddStringToObject(e, "fault_id", id);
	cJSON_AddStringToObject(e, "agent", c->ep->name ? c->ep->name : c->ep->url);
	cJSON_AddItemToObject(e, "effect", cJSON_Duplicate(eff, true));
	cJSON_AddItemToArray(s->effects, e);
}

static int revert_all_locked(struct fl_fault_session *s, struct fl_error *err)
{
	struct fl_agent_call *calls;
	size_t k = 0;
	int r = 0;

	pthread_mutex_lock(&s->mu);
	calls = calloc(s->n_live ? s->n_live : 1, sizeof(*calls));
	if (!calls) {
		pthread_mutex_unlock(&s->mu);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < s->n_live; i++) {
		if (s->live[i].done)
			continue;
		s->live[i].done = true;
		calls[k].ep = &s->eps[s->live[i].ep];
		calls[k].method = "DELETE";
		snprintf(calls[k].path, sizeof(calls[k].path), "/v1/faults/%s", s->live[i].id);
		k++;
	}
	pthread_mutex_unlock(&s->mu);
	if (k && fl_agent_client_run(s->client, calls, k, CALL_TIMEOUT_MS) < 0)
		r = fl_error_set(err, -EIO, NULL, "cannot reach the agents to revert");
	for (size_t i = 0; i < k; i++) {
		keep_notes(s, &calls[i]);
		keep_effect(s, &calls[i]);
	}
	for (size_t i = 0; r == 0 && i < k; i++) {
		/* 404: the fault already ended (its lease ran out); that is what we want. */
		if (calls[i].status == 200 || calls[i].status == 404)
			continue;
		r = fl_agent_call_error(&calls[i], err);
	}
	for (size_t i = 0; i < k; i++)
		fl_agent_call_done(&calls[i]);
	free(calls);
	return r;
}

int fl_fault_session_preflight(struct fl_fault_session *s, struct fl_error *err)
{
	int r;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->op_mu);
	r = preflight_locked(s, err);
	pthread_mutex_unlock(&s->op_mu);
	return r;
}

int fl_fault_session_apply(struct fl_fault_session *s, const struct fl_activity *act,
			   cJSON **result, struct fl_error *err)
{
	int r;

	pthread_mutex_lock(&s->op_mu);
	/* A dry session never applies: it describes. */
	r = s->dry_run ? describe_locked(s, act, result, err) : apply_locked(s, act, result, err);
	pthread_mutex_unlock(&s->op_mu);
	return r;
}

int fl_fault_session_describe(struct fl_fault_session *s, const struct fl_activity *act,
			      cJSON **out, struct fl_error *err)
{
	int r;

	pthread_mutex_lock(&s->op_mu);
	r = describe_locked(s, act, out, err);
	pthread_mutex_unlock(&s->op_mu);
	return r;
}

const cJSON *fl_fault_session_notes(const struct fl_fault_session *s)
{
	return s ? s->notes : NULL;
}

const cJSON *fl_fault_session_effects(const struct fl_fault_session *s)
{
	return s ? s->effects : NULL;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

size_t fl_fault_effect_warnings(const char *fault_id, const char *agent, const cJSON *effect,
				void (*fn)(void *arg, const char *line), void *arg)
{
	const cJSON *it;
	char line[1024], what[512];
	size_t n = 0;

	if (fl_fault_effect_verdict(effect) == 0) {
		fl_fault_effect_summary(effect, what, sizeof(what));
		snprintf(line, sizeof(line), "WARNING: fault %s on %s had no effect: %s", fault_id,
			 agent, what);
		sanitize(line);
		fn(arg, line);
		return 1;
	}
	if (fl_fault_effect_verdict(effect) != 1)
		return 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(effect, "rules"))
	{
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(it, "rule");
		const cJSON *hits = cJSON_GetObjectItemCaseSensitive(it, "hits");

		if (!cJSON_IsNumber(hits) || hits->valuedouble != 0)
			continue;
		snprintf(line, sizeof(line),
			 "WARNING: fault %s on %s: rule %s had no effect (0 hits)", fault_id, agent,
			 cJSON_IsString(rule) ? rule->valuestring : "?");
		sanitize(line);
		fn(arg, line);
		n++;
	}
	return n;
}

int fl_fault_effect_verdict(const cJSON *effect)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(effect, "took_effect");

	return cJSON_IsTrue(t) ? 1 : cJSON_IsFalse(t) ? 0 : -1;
}

static void summary_add(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void summary_add(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at = *at + (size_t)n < len ? *at + (size_t)n : len - 1;
}

void fl_fault_effect_summary(const cJSON *effect, char *buf, size_t len)
{
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(effect, "summary");
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(effect, "rules"), *it;
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (cJSON_IsString(sum)) {
		summary_add(buf, len, &at, "%s", sum->valuestring);
	} else if (cJSON_IsArray(rules)) {
		cJSON_ArrayForEach(it, rules)
		{
			const cJSON *rule = cJSON_GetObjectItemCaseSensitive(it, "rule");
			const cJSON *hits = cJSON_GetObjectItemCaseSensitive(it, "hits");

			summary_add(buf, len, &at, "%s%s %.0f hit%s", at ? ", " : "",
				    cJSON_IsString(rule) ? rule->valuestring : "?",
				    cJSON_IsNumber(hits) ? hits->valuedouble : 0.0,
				    cJSON_IsNumber(hits) && hits->valuedouble == 1 ? "" : "s");
		}
	} else {
		cJSON_ArrayForEach(it, effect)
		{
			if (!it->string || !strcmp(it->string, "took_effect"))
				continue;
			if (cJSON_IsNumber(it))
				summary_add(buf, len, &at, "%s%s=%.15g", at ? " " : "", it->string,
					    it->valuedouble);
			else if (cJSON_IsBool(it))
				summary_add(buf, len, &at, "%s%s=%s", at ? " " : "", it->string,
					    cJSON_IsTrue(it) ? "true" : "false");
			else if (cJSON_IsString(it))
				summary_add(buf, len, &at, "%s%s=%s", at ? " " : "", it->string,
					    it->valuestring);
		}
	}
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int fl_fault_session_revert_all(struct fl_fault_session *s, struct fl_error *err)
{
	int r;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->op_mu);
	r = revert_all_locked(s, err);
	pthread_mutex_unlock(&s->op_mu);
	return r;
}

void fl_fault_session_free(struct fl_fault_session *s)
{
	struct fl_error err;

	if (!s)
		return;
	fl_error_init(&err);
	(void)fl_fault_session_revert_all(s, &err);
	if (s->renewer_started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->renewer, NULL);
	}
	(void)fl_embedded_agent_stop(&s->embed);
	for (size_t i = 0; i < s->n_eps; i++)
		fl_agent_ep_done(&s->eps[i]);
	fl_agent_inventory_done(&s->inv);
	fl_agent_client_free(s->client);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->op_mu);
	cJSON_Delete(s->notes);
	cJSON_Delete(s->effects);
	free(s->live);
	free(s->agent_binary);
	free(s);
}
