/*
 * A network fault on several pods of this node: the same fault (same params,
 * same interface or route_to, same scope) in each pod's network namespace.
 *
 * netem, bandwidth and partition register these wrappers around their
 * one-namespace ops. A target that is not a pod goes straight to the kind. A
 * pod target is checked whole by the kind's spec (what the controller checks
 * offline), then its pods on this node are listed (fl_pod_target_netns_all):
 * one pod is the kind's own spec and undo record, parsed from the target with
 * "netns_path": /proc/PID/ns/net of the pod's sandbox in place of "pod";
 * several pods get one such spec per distinct network namespace (pods sharing
 * one, as hostNetwork pods do, count once).
 *
 * The undo record then lists every namespace's own record, all of them made by
 * plan, so the agent journals them all before apply touches any:
 *   {"netns_pods": [{"pod": "ns/name", "uid": UID, "netns": "/proc/PID/ns/net",
 *                    "undo": <the kind's own record>}, ...]}
 * apply goes through them in order; when namespace k fails, the kind has undone
 * k itself (the ops contract) and the ones before are reverted here, so the
 * error returns with nothing applied. revert reverts every entry, goes on past a
 * failure and returns the first; a namespace that is gone is the kind's no-op.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/pod_select.h"

#define POD_PATH "$.target.pod"

struct multi_ent {
	void *spec;
	struct fl_pod_netns_ent pod;
};

struct fl_nl_multi {
	const struct fl_fault_ops *one;
	void *single;	     /* the kind's own spec when one namespace (n == 0) */
	bool pod;	     /* single came from a pod target (errors name "$.target.pod") */
	struct multi_ent *v; /* one per distinct network namespace */
	size_t n;
};

/*
 * A pod's spec was parsed from "netns_path" in place of "pod" (target_for):
 * an error about that namespace (the policy's, fl_nl_target_admit's) is
 * about the pod the request named, not about a field it never had.
 */
static int pod_path(struct fl_error *err, int r)
{
	if (r < 0 && err && !strncmp(err->path, "$.target.netns_path", 19) &&
	    (err->path[19] == '\0' || err->path[19] == '.' || err->path[19] == '['))
		snprintf(err->path, sizeof(err->path), "%s", POD_PATH);
	return r;
}

/* Put "pod NS/NAME: " before err's message; an error without a path gets the pod's. */
static int name_pod(struct fl_error *err, int r, const char *pod)
{
	char m[FL_ERROR_MSG_MAX], p[FL_ERROR_PATH_MAX];

	pod_path(err, r);
	snprintf(m, sizeof(m), "%s", err->msg);
	snprintf(p, sizeof(p), "%s", err->path[0] ? err->path : POD_PATH);
	return fl_error_set(err, r, p, "pod %s: %s", pod, m);
}

/* The target with "netns_path": netns where "pod" was, keys in their order. */
static cJSON *target_for(const cJSON *target, const char *netns)
{
	cJSON *t = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, target)
	{
		cJSON *c = strcmp(it->string, "pod") ? cJSON_Duplicate(it, true)
						     : cJSON_CreateString(netns);

		if (!t || !c ||
		    !cJSON_AddItemToObject(t, strcmp(it->string, "pod") ? it->string : "netns_path",
					   c)) {
			cJSON_Delete(c);
			cJSON_Delete(t);
			return NULL;
		}
	}
	return t;
}

void fl_nl_multi_free(void *spec)
{
	struct fl_nl_multi *m = spec;

	if (!m)
		return;
	if (m->single)
		m->one->free(m->single);
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].spec)
			m->one->free(m->v[i].spec);
	free(m->v);
	free(m);
}

int fl_nl_multi_parse_pods(const struct fl_fault_ops *one, const cJSON *target, const cJSON *params,
			   const struct fl_pod_netns_ent *pods, size_t npods, void **out,
			   struct fl_error *err)
{
	struct fl_nl_multi *m;
	unsigned long long ino[FL_POD_NETNS_MAX];
	int r;

	if (npods > FL_POD_NETNS_MAX)
		return fl_error_set(err, -E2BIG, POD_PATH,
				    "%zu pods match on this node; a network fault takes at most %d",
				    npods, FL_POD_NETNS_MAX);
	m = calloc(1, sizeof(*m));
	if (m)
		m->v = calloc(npods ? npods : 1, sizeof(*m->v));
	if (!m || !m->v) {
		free(m);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	m->one = one;
	for (size_t i = 0; i < npods; i++) {
		unsigned long long in = fl_nl_netns_ino(pods[i].netns);
		size_t k;
		cJSON *t;

		/* Pods that share a namespace (hostNetwork) get the fault once. */
		for (k = 0; k < m->n; k++)
			if (in && ino[k] == in)
				break;
		if (k < m->n) {
			struct fl_pod_netns_ent *e = &m->v[k].pod;
			size_t l = strlen(e->pod), add = strlen(pods[i].pod);

			if (l + 2 + add < sizeof(e->pod)) {
				memcpy(e->pod + l, ", ", 2);
				memcpy(e->pod + l + 2, pods[i].pod, add + 1);
			}
			continue;
		}
		ino[m->n] = in;
		m->v[m->n].pod = pods[i];
		t = target_for(target, pods[i].netns);
		if (!t) {
			r = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto fail;
		}
		r = one->parse(t, params, &m->v[m->n].spec, err);
		cJSON_Delete(t);
		if (r < 0) {
			m->v[m->n].spec = NULL;
			r = name_pod(err, r, pods[i].pod);
			goto fail;
		}
		m->n++;
	}
	*out = m;
	return 0;
fail:
	fl_nl_multi_free(m);
	return r;
}

int fl_nl_multi_parse(const struct fl_fault_ops *one, const cJSON *target, const cJSON *params,
		      void **out, struct fl_error *err)
{
	struct fl_nl_multi *m = calloc(1, sizeof(*m));
	struct fl_pod_netns_ent *pods = NULL;
	const cJSON *pod =
	    cJSON_IsObject(target) ? cJSON_GetObjectItemCaseSensitive(target, "pod") : NULL;
	size_t npods = 0;
	void *checked = NULL;
	int r;

	if (!m)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	m->one = one;
	if (!pod) {
		r = one->parse(target, params, &m->single, err);
		goto out;
	}
	/* The whole fault first, as the controller checks it offline; then the pods here. */
	r = one->spec->parse(target, params, &checked, err);
	if (r == 0)
		one->spec->free(checked);
	if (r == 0)
		r = fl_pod_target_netns_all(pod, POD_PATH, &pods, &npods, err);
	if (r < 0)
		goto out;
	if (npods == 1) {
		/* One namespace: the kind's own spec and record, as for a netns_path target. */
		cJSON *t = target_for(target, pods[0].netns);

		r = t ? pod_path(err, one->parse(t, params, &m->single, err))
		      : fl_error_set(err, -ENOMEM, "", "out of memory");
		cJSON_Delete(t);
		m->pod = true;
		goto out;
	}
	free(m);
	m = NULL;
	r = fl_nl_multi_parse_pods(one, target, params, pods, npods, out, err);
out:
	free(pods);
	if (m && r == 0)
		*out = m;
	else
		free(m);
	return r;
}

int fl_nl_multi_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct fl_nl_multi *m = spec;
	cJSON *rec, *arr;
	int r;

	if (m->single)
		return m->pod ? pod_path(err, m->one->plan(m->single, ctx, undo, err))
			      : m->one->plan(m->single, ctx, undo, err);
	*undo = NULL;
	rec = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(rec, "netns_pods");
	if (!arr) {
		cJSON_Delete(rec);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	/* Every pod's before-measure together: FL_NL_MEASURE_PODS_MS. */
	fl_nl_measure_budget(FL_NL_MEASURE_PODS_MS);
	for (size_t i = 0; i < m->n; i++) {
		cJSON *e = cJSON_CreateObject(), *u = NULL;

		cJSON_AddItemToArray(arr, e);
		if (!e || !cJSON_AddStringToObject(e, "pod", m->v[i].pod.pod) ||
		    !cJSON_AddStringToObject(e, "uid", m->v[i].pod.uid) ||
		    !cJSON_AddStringToObject(e, "netns", m->v[i].pod.netns)) {
			cJSON_Delete(rec);
			return fl_error_set(err, -ENOMEM, "", "out of memory");
		}
		r = m->one->plan(m->v[i].spec, ctx, &u, err);
		if (r < 0) {
			fl_nl_measure_budget(0);
			cJSON_Delete(u);
			cJSON_Delete(rec);
			return name_pod(err, r, m->v[i].pod.pod);
		}
		if (!u || !cJSON_AddItemToObject(e, "undo", u)) {
			fl_nl_measure_budget(0);
			cJSON_Delete(u);
			cJSON_Delete(rec);
			return fl_error_set(err, -ENOMEM, "", "out of memory");
		}
	}
	fl_nl_measure_budget(0);
	*undo = rec;
	return 0;
}

/* A kind that journals what apply learns journals the whole record. */
struct whole {
	const struct fl_fault_ctx *ctx;
	const cJSON *rec;
};

static int journal_whole(void *opaque, const cJSON *part)
{
	const struct whole *w = opaque;

	(void)part; /* part of w->rec, which it changed in place */
	return w->ctx->journal(w->ctx->jopaque, w->rec);
}

/* The entries of a multi record, or NULL for a kind's own record. */
static const cJSON *entries(const cJSON *undo)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(undo, "netns_pods");

	return cJSON_IsArray(a) ? a : NULL;
}

int fl_nl_multi_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	struct fl_nl_multi *m = spec;
	const cJSON *arr = entries(undo);
	struct fl_fault_ctx c = ctx ? *ctx : (struct fl_fault_ctx){0};
	struct whole w = {ctx, undo};
	cJSON *u[FL_POD_NETNS_MAX];
	size_t i;
	int r = 0;

	if (m->single)
		return m->one->apply(m->single, ctx, undo, err);
	if (!arr || (size_t)cJSON_GetArraySize(arr) != m->n || m->n > FL_POD_NETNS_MAX)
		return fl_error_set(err, -EINVAL, "", "undo record does not match the plan");
	for (i = 0; i < m->n; i++) {
		u[i] = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, (int)i), "undo");
		if (!cJSON_IsObject(u[i]))
			return fl_error_set(err, -EINVAL, "",
					    "undo record does not match the plan");
	}
	if (ctx && ctx->journal) {
		c.journal = journal_whole;
		c.jopaque = &w;
	}
	for (i = 0; i < m->n; i++) {
		r = m->one->apply(m->v[i].spec, ctx ? &c : NULL, u[i], err);
		if (r < 0)
			break;
	}
	if (r == 0)
		return 0;
	/* Namespace i undid itself; take back the ones before it, newest first. */
	name_pod(err, r, m->v[i].pod.pod);
	while (i-- > 0) {
		struct fl_error e2;

		fl_error_init(&e2);
		(void)m->one->revert(u[i], &e2); /* the agent's revert of the record retries */
	}
	return r;
}

int fl_nl_multi_revert(const struct fl_fault_ops *one, const cJSON *undo, struct fl_error *err)
{
	const cJSON *arr = entries(undo), *e;
	int first = 0, n = 0;

	if (!arr)
		return one->revert(undo, err);
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "undo");
		const cJSON *pod = cJSON_GetObjectItemCaseSensitive(e, "pod");
		const char *name = cJSON_IsString(pod) ? pod->valuestring : "?";
		struct fl_error e2;
		int r;

		/* From the journal on disk: no more entries than plan makes. */
		if (++n > FL_POD_NETNS_MAX) {
			if (!first)
				first = fl_error_set(err, -E2BIG, "", "more than %d namespaces",
						     FL_POD_NETNS_MAX);
			break;
		}
		fl_error_init(&e2);
		r = cJSON_IsObject(u) ? one->revert(u, &e2)
				      : fl_error_set(&e2, -EINVAL, "", "no undo record");
		if (r < 0 && !first) {
			*err = e2;
			first = name_pod(err, r, name);
		}
	}
	return first;
}

int fl_nl_multi_describe(const void *spec, struct fl_buf *out)
{
	const struct fl_nl_multi *m = spec;
	int r = 0;

	if (m->single)
		return m->one->describe(m->single, out);
	for (size_t i = 0; i < m->n && r == 0; i++) {
		r = fl_buf_printf(out, "# pod %s (netns %s)\n", m->v[i].pod.pod, m->v[i].pod.netns);
		if (r == 0)
			r = m->one->describe(m->v[i].spec, out);
		if (r == 0 && out->len && out->data[out->len - 1] != '\n')
			r = fl_buf_printf(out, "\n");
	}
	return r;
}

int fl_nl_multi_describe_plan(const struct fl_fault_ops *one, const cJSON *undo, struct fl_buf *out)
{
	const cJSON *arr = entries(undo), *e;
	int r = 0;

	if (!arr)
		return one->describe_plan ? one->describe_plan(undo, out) : 0;
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "undo");
		const cJSON *pod = cJSON_GetObjectItemCaseSensitive(e, "pod");

		r = fl_buf_printf(out, "# pod %s\n", cJSON_IsString(pod) ? pod->valuestring : "?");
		if (r == 0 && one->describe_plan && cJSON_IsObject(u))
			r = one->describe_plan(u, out);
		if (r < 0)
			break;
	}
	return r;
}
