/*
 * Agents found through Kubernetes, and pod targets decided across them.
 *
 * An inventory (--agents FILE) may name the agents' DaemonSet instead of (or
 * besides) listing addresses:
 *   { "token_file": "token",
 *     "kubernetes": { "namespace": "faultline", "selector": "app=faultline-agent"
 *                     [, "port": 7433] [, "scheme": "http" | "https"]
 *                     [, "kubeconfig": FILE] [, "context": NAME] } }
 * The controller lists the DaemonSet's running pods (in-cluster service
 * account when KUBERNETES_SERVICE_HOST is set, else "kubeconfig", $KUBECONFIG
 * or ~/.kube/config) and reaches each at its pod IP; each agent is named after
 * its node.
 *
 * For a fault whose target has "pod", the controller lists the target pods
 * across the cluster, picks count/percent of them with a seeded fl_rng (the
 * seed goes into the result as "pod_seed"), pins the pick with "uids", and
 * sends the fault only to the agents on the nodes where those pods run; a
 * picked pod on a node without one of the activity's agents is an error.
 */
#ifndef FL_CONTROLLER_KUBE_DISCOVERY_H
#define FL_CONTROLLER_KUBE_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "controller/agent_ep.h"
#include "core/compiler.h"
#include "core/error.h"
#include "core/kube.h"

#define FL_KUBE_AGENT_PORT 7433

/* Parsed "kubernetes" object of an inventory. */
struct fl_kube_discovery {
	char *namespace;
	char *selector;
	int port;
	bool https;
	char *kubeconfig; /* or NULL */
	char *context;	  /* or NULL */
};

/* Grammar in the header comment; `base` resolves a relative kubeconfig. */
int fl_kube_discovery_parse(const cJSON *obj, const char *path, const char *base,
			    struct fl_kube_discovery *d, struct fl_error *err) FL_WUR;
void fl_kube_discovery_done(struct fl_kube_discovery *d);

/* The API server config the discovery uses (in-cluster, else kubeconfig). */
int fl_kube_discovery_config(const struct fl_kube_discovery *d, struct fl_kube_config *cfg,
			     struct fl_error *err) FL_WUR;

/*
 * List the agents' pods and append to (*v, *n) one endpoint per node with a
 * running agent pod that has no agent of its name there yet (name: node name;
 * address: scheme://podIP:port; token/TLS copied from `defaults`); at most
 * `max` in all. Remembers the API config for fl_kube_discovery_target.
 */
int fl_kube_discovery_load(const cJSON *obj, const char *base, const struct fl_agent_ep *defaults,
			   struct fl_agent_ep **v, size_t *n, size_t max,
			   struct fl_error *err) FL_WUR;

/*
 * For a target with "pod": list the target pods, pick (count/percent + seed of
 * the target), rewrite the target (uids pinned; count/percent/seed removed),
 * record pod_seed and pods in `result`, and keep in idx[0..*n) only the agents
 * (eps[idx[i]].name is a node name) on the picked pods' nodes. Does nothing
 * when the target has no "pod" or no discovery was loaded.
 */
int fl_kube_discovery_target(cJSON *target, const struct fl_agent_ep *eps, size_t *idx, size_t *n,
			     cJSON *result, struct fl_error *err) FL_WUR;

/*
 * Pure part of the above: reorder `pods` so the *picked chosen ones come first
 * (sorted by namespace/name), rewrite the target and fill the result.
 */
int fl_kube_discovery_pick(cJSON *target, struct fl_kube_pod_list *pods, size_t *picked,
			   cJSON *result, struct fl_error *err) FL_WUR;

/* Forget the remembered API config (end of a run). */
void fl_kube_discovery_reset(void);

#endif
