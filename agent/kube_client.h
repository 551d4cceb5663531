/*
 * The agent's Kubernetes client: lists the pods scheduled on this node
 * (libcurl against the API server, `spec.nodeName` field selector, label
 * selector, pagination with `continue`) and hands them to faults/pod_select.c
 * through fl_pod_set_lister. It lives in agent/, not faults/: credentials,
 * the API server's address and which node we are on are the agent's runtime
 * environment, and the fault library stays free of network I/O.
 *
 * Configuration comes from the environment, as a DaemonSet gives it:
 *   KUBERNETES_SERVICE_HOST/PORT  in-cluster: service-account token and CA from
 *                                 FAULTLINE_SA_DIR (default
 *                                 /var/run/secrets/kubernetes.io/serviceaccount)
 *   KUBECONFIG                    otherwise (an agent under systemd on a node):
 *                                 the first file of the list; FAULTLINE_KUBE_CONTEXT
 *                                 picks a context other than current-context
 *   NODE_NAME                     this node's name (downward API spec.nodeName);
 *                                 default: the host name
 * Neither in a cluster nor KUBECONFIG set: no client, and pod targets are
 * refused with a message saying so.
 */
#ifndef FL_AGENT_KUBE_CLIENT_H
#define FL_AGENT_KUBE_CLIENT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "core/kube.h"

/*
 * Set up from the environment and register the pod lister; 0 also when not
 * configured, and when configured but unusable (an exec-plugin kubeconfig):
 * then it logs a warning and pod targets are refused with that reason.
 */
int fl_kube_client_setup(struct fl_error *err) FL_WUR;
/* Unregister and free. */
void fl_kube_client_teardown(void);
/* Is a client configured? (fills the API server and node for the health/log line) */
bool fl_kube_client_active(const char **server, const char **node);

/*
 * After a revert: when the undo record of a pod target ("pods") names a
 * container with no process left (it restarted during the fault), log it --
 * the revert worked from the journal's PIDs and left the new container alone.
 * Returns those notes (a JSON array of strings, one per container) for the
 * revert's answer, or NULL when nothing changed.
 */
cJSON *fl_kube_client_note_restarts(const char *id, const cJSON *undo);

#endif
