/*
 * Kubernetes discovery for the controller. The API calls are the paged pod
 * list GETs of core/kube_http.c, shared with the agent (agent/kube_client.c);
 * the kubeconfig and response parsing are core/kube.c.
 */
#include "controller/kube_discovery.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/api.h"
#include "core/buf.h"
#include "core/kube_http.h"
#include "core/rng.h"

/* The API config of the loaded discovery (one inventory per run). */
static pthread_mutex_t kd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fl_kube_config kd_cfg;
static bool kd_active;

void fl_kube_discovery_done(struct fl_kube_discovery *d)
{
	if (!d)
		return;
	free(d->namespace);
	free(d->selector);
	free(d->kubeconfig);
	free(d->context);
	memset(d, 0, sizeof(*d));
}

int fl_kube_discovery_parse(const cJSON *obj, const char *path, const char *base,
			    struct fl_kube_discovery *d, struct fl_error *err)
{
	static const char *const keys[] = {"namespace",	 "selector", "port", "scheme",
					   "kubeconfig", "context",  NULL};
	const cJSON *v;
	char p[128];
	int r;

	memset(d, 0, sizeof(*d));
	d->port = FL_KUBE_AGENT_PORT;
	if (!cJSON_IsObject(obj))
		return fl_error_set(err, -EINVAL, path,
				    "expected {\"namespace\": ..., \"selector\": ...}");
	r = fl_api_only_keys(obj, path, keys, err);
	if (r < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(obj, "namespace");
	snprintf(p, sizeof(p), "%s.namespace", path);
	if (!cJSON_IsString(v) || !fl_kube_name_ok(v->valuestring, false))
		return fl_error_set(err, -EINVAL, p, "expected the agents' namespace");
	d->namespace = strdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(obj, "selector");
	snprintf(p, sizeof(p), "%s.selector", path);
	if (!cJSON_IsString(v) || !fl_kube_selector_ok(v->valuestring)) {
		r = fl_error_set(err, -EINVAL, p,
				 "expected a label selector like \"app=faultline-agent\"");
		goto fail;
	}
	d->selector = strdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(obj, "port");
	if (v) {
		snprintf(p, sizeof(p), "%s.port", path);
		if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
		    v->valuedouble != (int)v->valuedouble) {
			r = fl_error_set(err, -EINVAL, p, "expected a port number");
			goto fail;
		}
		d->port = (int)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "scheme");
	if (v) {
		snprintf(p, sizeof(p), "%s.scheme", path);
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "http") && strcmp(v->valuestring, "https"))) {
			r = fl_error_set(err, -EINVAL, p, "expected \"http\" or \"https\"");
			goto fail;
		}
		d->https = !strcmp(v->valuestring, "https");
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "kubeconfig");
	if (v) {
		snprintf(p, sizeof(p), "%s.kubeconfig", path);
		if (!cJSON_IsString(v) || !*v->valuestring) {
			r = fl_error_set(err, -EINVAL, p, "expected a file name");
			goto fail;
		}
		if (v->valuestring[0] == '/' || !base) {
			d->kubeconfig = strdup(v->valuestring);
		} else {
			size_t n = strlen(base) + strlen(v->valuestring) + 2;

			d->kubeconfig = malloc(n);
			if (d->kubeconfig)
				snprintf(d->kubeconfig, n, "%s/%s", base, v->valuestring);
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "context");
	if (v) {
		snprintf(p, sizeof(p), "%s.context", path);
		if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 253) {
			r = fl_error_set(err, -EINVAL, p, "expected a context name");
			goto fail;
		}
		d->context = strdup(v->valuestring);
	}
	if (!d->namespace || !d->selector)
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
	if (r == 0)
		return 0;
fail:
	fl_kube_discovery_done(d);
	return r;
}

int fl_kube_discovery_config(const struct fl_kube_discovery *d, struct fl_kube_config *cfg,
			     struct fl_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	char path[4096], dir[4096], *slash, *text = NULL;
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	int r;

	if (!d->kubeconfig && host && *host)
		return fl_kube_config_incluster(host, getenv("KUBERNETES_SERVICE_PORT"),
						getenv("FAULTLINE_SA_DIR"), cfg, err);
	if (d->kubeconfig)
		snprintf(path, sizeof(path), "%s", d->kubeconfig);
	else if (env && *env)
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(env, ":"), env);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.kube/config", home);
	else
		return fl_error_set(err, -ENOENT, NULL,
				    "Kubernetes discovery: no kubeconfig (set KUBECONFIG)");
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	r = fl_buf_read_file(path, FL_KUBE_CONFIG_MAX, &text, NULL);
	if (r < 0)
		return fl_error_set(err, r, NULL, "kubeconfig %s: %s", path, strerror(-r));
	r = fl_kube_config_parse(text, strlen(text), dir, d->context, cfg, err);
	free(text);
	if (r < 0) {
		char m[FL_ERROR_MSG_MAX];

		snprintf(m, sizeof(m), "%s", err->msg);
		fl_error_set(err, r, NULL, "kubeconfig %s: %s%s%s", path, err->path,
			     err->path[0] ? ": " : "", m);
	}
	return r;
}

static char *dup2s(const char *a)
{
	return a ? strdup(a) : NULL;
}

/* Is there an agent of that name among v[0..n)? */
static bool have_agent(const struct fl_agent_ep *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && !strcmp(v[i].name, name))
			return true;
	return false;
}

int fl_kube_discovery_load(const cJSON *obj, const char *base, const struct fl_agent_ep *defaults,
			   struct fl_agent_ep **v, size_t *n, size_t max, struct fl_error *err)
{
	struct fl_kube_discovery d;
	struct fl_kube_config cfg;
	struct fl_kube_pod_list pods = {0};
	struct fl_agent_ep *nv;
	size_t added = 0;
	int r;

	r = fl_kube_discovery_parse(obj, "$.kubernetes", base, &d, err);
	if (r < 0)
		return r;
	r = fl_kube_discovery_config(&d, &cfg, err);
	if (r < 0)
		goto out_d;
	r = fl_kube_list_pods(&cfg, d.namespace, d.selector, NULL, &pods, err);
	if (r < 0) {
		char m[FL_ERROR_MSG_MAX];

		snprintf(m, sizeof(m), "%s", err->msg);
		fl_error_set(err, r, "$.kubernetes", "listing the agents' pods in %s: %s",
			     d.namespace, m);
		goto out;
	}
	if (*n + pods.n > max) {
		r = fl_error_set(err, -E2BIG, "$.kubernetes", "more than %zu agents", max);
		goto out;
	}
	nv = realloc(*v, (*n + pods.n + 1) * sizeof(*nv));
	if (!nv) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	*v = nv;
	for (size_t i = 0; i < pods.n; i++) {
		const struct fl_kube_pod *p = &pods.v[i];
		struct fl_agent_ep *ep = &nv[*n];
		char addr[128];

		/* Only agents that run and have an address; one per node. */
		if (!p->ip || !p->node || !p->phase || strcmp(p->phase, "Running") ||
		    have_agent(nv, *n, p->node))
			continue;
		snprintf(addr, sizeof(addr), strchr(p->ip, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
			 d.https ? "https" : "http", p->ip, d.port);
		memset(ep, 0, sizeof(*ep));
		r = fl_agent_ep_parse(addr, ep, err);
		if (r < 0) {
			fl_agent_ep_done(ep);
			goto out;
		}
		free(ep->name);
		ep->name = strdup(p->node);
		if (!ep->name || fl_agent_ep_set_auth(ep, defaults) < 0) {
			fl_agent_ep_done(ep);
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		(*n)++;
		added++;
		if (!ep->token) {
			r = fl_error_set(
			    err, -EINVAL, "$.token_file",
			    "discovered agents need a token: give \"token_file\" or set "
			    "FAULTLINE_TOKEN_FILE");
			goto out;
		}
	}
	memset(&nv[*n], 0, sizeof(nv[0]));
	if (!added) {
		r = fl_error_set(err, -ESRCH, "$.kubernetes",
				 "no running agent pod in namespace %s matches %s", d.namespace,
				 d.selector);
		goto out;
	}
	pthread_mutex_lock(&kd_mu);
	if (kd_active)
		fl_kube_config_done(&kd_cfg);
	kd_cfg = cfg;
	kd_active = true;
	memset(&cfg, 0, sizeof(cfg));
	pthread_mutex_unlock(&kd_mu);
out:
	fl_kube_pod_list_done(&pods);
	fl_kube_config_done(&cfg);
out_d:
	fl_kube_discovery_done(&d);
	return r;
}

void fl_kube_discovery_reset(void)
{
	pthread_mutex_lock(&kd_mu);
	if (kd_active)
		fl_kube_config_done(&kd_cfg);
	kd_active = false;
	pthread_mutex_unlock(&kd_mu);
}

static int cmp_pod(const void *a, const void *b)
{
	const struct fl_kube_pod *x = a, *y = b;
	int c = strcmp(x->namespace ? x->namespace : "", y->namespace ? y->namespace : "");

	return c ? c : strcmp(x->name, y->name);
}

int fl_kube_discovery_pick(cJSON *target, struct fl_kube_pod_list *pods, size_t *picked,
			   cJSON *result, struct fl_error *err)
{
	cJSON *pod = cJSON_GetObjectItemCaseSensitive(target, "pod");
	const cJSON *ctr = cJSON_GetObjectItemCaseSensitive(pod, "container");
	size_t avail = pods->n, k;
	struct fl_pick pick;
	cJSON *uids, *names;
	char b[32];
	int r;

	*picked = 0;
	/* count/percent and seed: the grammar the agents read them with (core/rng.h). */
	r = fl_pick_parse(target, "$.target", 0, &pick, err);
	if (r < 0)
		return r;
	/*
	 * Pods that are done or not scheduled, or lack the container asked for,
	 * cannot be faulted: moved past `avail`.
	 */
	for (size_t i = 0; i < avail;) {
		const char *ph = pods->v[i].phase;
		bool has = !cJSON_IsString(ctr);

		for (size_t c = 0; !has && c < pods->v[i].ncontainers; c++)
			has = !strcmp(pods->v[i].containers[c].name, ctr->valuestring);
		if (!has || !pods->v[i].node ||
		    (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")))) {
			struct fl_kube_pod t = pods->v[i];

			pods->v[i] = pods->v[avail - 1];
			pods->v[--avail] = t;
			continue;
		}
		i++;
	}
	if (avail == 0)
		return fl_error_set(err, -ESRCH, "$.target.pod", "no scheduled pod matches");
	/* Sorted first, so a recorded seed replays to the same pods. */
	qsort(pods->v, avail, sizeof(pods->v[0]), cmp_pod);
	k = avail;
	if (pick.mode != FL_PICK_ALL) {
		uint64_t seed = pick.has_seed ? pick.seed : fl_rng_fresh_seed();

		k = fl_pick_shuffle(pods->v, avail, sizeof(pods->v[0]), fl_pick_k(&pick, avail),
				    seed);
		qsort(pods->v, k, sizeof(pods->v[0]), cmp_pod);
		snprintf(b, sizeof(b), "%" PRIu64, seed);
		cJSON_AddStringToObject(result, "pod_seed", b);
		cJSON_DeleteItemFromObjectCaseSensitive(target, "count");
		cJSON_DeleteItemFromObjectCaseSensitive(target, "percent");
		cJSON_DeleteItemFromObjectCaseSensitive(target, "seed");
	}
	if (k > 4096)
		return fl_error_set(err, -E2BIG, "$.target.pod", "more than 4096 pods picked");
	uids = cJSON_CreateArray();
	names = cJSON_AddArrayToObject(result, "pods");
	if (!uids || !names) {
		cJSON_Delete(uids);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < k; i++) {
		char nm[600];

		cJSON_AddItemToArray(uids, cJSON_CreateString(pods->v[i].uid));
		snprintf(nm, sizeof(nm), "%s/%s@%s",
			 pods->v[i].namespace ? pods->v[i].namespace : "", pods->v[i].name,
			 pods->v[i].node);
		cJSON_AddItemToArray(names, cJSON_CreateString(nm));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(pod, "uids");
	cJSON_AddItemToObject(pod, "uids", uids);
	*picked = k;
	return 0;
}

int fl_kube_discovery_target(cJSON *target, const struct fl_agent_ep *eps, size_t *idx, size_t *n,
			     cJSON *result, struct fl_error *err)
{
	cJSON *pod = cJSON_GetObjectItemCaseSensitive(target, "pod");
	const cJSON *ns, *name, *labels;
	struct fl_kube_pod_list pods = {0};
	struct fl_kube_config cfg;
	struct fl_buf lsel, fsel;
	size_t kept = 0, picked = 0;
	int r;

	if (!pod)
		return 0;
	pthread_mutex_lock(&kd_mu);
	if (!kd_active) {
		pthread_mutex_unlock(&kd_mu);
		return 0; /* static inventory: agents decide on their own node */
	}
	/* A private copy of the config: the list runs without the lock. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.server = dup2s(kd_cfg.server);
	cfg.ca_file = dup2s(kd_cfg.ca_file);
	cfg.ca_data = dup2s(kd_cfg.ca_data);
	cfg.token = dup2s(kd_cfg.token);
	cfg.token_file = dup2s(kd_cfg.token_file);
	cfg.cert_file = dup2s(kd_cfg.cert_file);
	cfg.cert_data = dup2s(kd_cfg.cert_data);
	cfg.key_file = dup2s(kd_cfg.key_file);
	cfg.key_data = dup2s(kd_cfg.key_data);
	cfg.insecure = kd_cfg.insecure;
	pthread_mutex_unlock(&kd_mu);
	fl_buf_init(&lsel, 4096);
	fl_buf_init(&fsel, 1024);
	ns = cJSON_GetObjectItemCaseSensitive(pod, "namespace");
	name = cJSON_GetObjectItemCaseSensitive(pod, "name");
	labels = cJSON_GetObjectItemCaseSensitive(pod, "labels");
	if (!cJSON_IsString(ns) || !fl_kube_name_ok(ns->valuestring, false)) {
		r = fl_error_set(err, -EINVAL, "$.target.pod.namespace", "expected a namespace");
		goto out;
	}
	if (labels) {
		r = fl_kube_labels_selector(labels, "$.target.pod.labels", &lsel, err);
		if (r < 0)
			goto out;
	}
	if (cJSON_IsString(name) && fl_kube_name_ok(name->valuestring, true) &&
	    fl_buf_printf(&fsel, "metadata.name=%s", name->valuestring) < 0) {
		r = fl_error_set(err, -E2BIG, "$.target.pod.name", "too long");
		goto out;
	}
	r = fl_kube_list_pods(&cfg, ns->valuestring, lsel.data, fsel.data, &pods, err);
	if (r < 0) {
		char m[FL_ERROR_MSG_MAX];

		snprintf(m, sizeof(m), "%s", err->msg);
		fl_error_set(err, r, "$.target.pod", "listing the target pods: %s", m);
		goto out;
	}
	r = fl_kube_discovery_pick(target, &pods, &picked, result, err);
	if (r < 0)
		goto out;
	/*
	 * A picked pod on a node without an agent (of those discovered, and of
	 * those the activity names) would be reported as faulted and never be:
	 * refuse the fault, naming the pod and its node.
	 */
	for (size_t k = 0; k < picked; k++) {
		bool has = false;

		for (size_t i = 0; i < *n && !has; i++)
			has = !strcmp(pods.v[k].node, eps[idx[i]].name);
		if (!has) {
			r = fl_error_set(err, -ESRCH, "$.target.pod",
					 "pod %s/%s runs on node %s, where the activity has no "
					 "agent (is the DaemonSet scheduled there, and its pod "
					 "running?)",
					 pods.v[k].namespace ? pods.v[k].namespace : "",
					 pods.v[k].name, pods.v[k].node);
			goto out;
		}
	}
	/* Only the agents on the picked pods' nodes (an agent is named after its node). */
	for (size_t i = 0; i < *n; i++) {
		bool hit = false;

		for (size_t k = 0; k < picked && !hit; k++)
			hit = !strcmp(pods.v[k].node, eps[idx[i]].name);
		if (hit)
			idx[kept++] = idx[i];
	}
	*n = kept;
out:
	fl_kube_pod_list_done(&pods);
	fl_kube_config_done(&cfg);
	fl_buf_done(&lsel);
	fl_buf_done(&fsel);
	return r;
}
