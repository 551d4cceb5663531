/*
 * Kubernetes, the parsing half: a kubeconfig subset (current context, server,
 * CA, token, client certificate), the in-cluster service-account config, and
 * the API server's answers that faultline reads (PodList with pagination,
 * Status errors). No I/O here: the agent (agent/kube_client.c) and the
 * controller (controller/kube_discovery.c) do the HTTP with libcurl.
 */
#ifndef FL_CORE_KUBE_H
#define FL_CORE_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_KUBE_CONFIG_MAX     (1024 * 1024)	  /* kubeconfig file size */
#define FL_KUBE_BODY_MAX       (32 * 1024 * 1024) /* one API response */
#define FL_KUBE_PODS_MAX       100000		  /* pods kept across all pages */
#define FL_KUBE_CONTAINERS_MAX 64		  /* containers kept per pod */
#define FL_KUBE_PAGES_MAX      1000		  /* pages followed with `continue` */
#define FL_KUBE_PAGE_LIMIT     500		  /* `limit` asked per page */
#define FL_KUBE_SA_DIR	       "/var/run/secrets/kubernetes.io/serviceaccount"

/* How to reach an API server and prove who we are. */
struct fl_kube_config {
	char *server;	  /* "https://10.0.0.1:6443" */
	char *ca_file;	  /* PEM file, or NULL */
	char *ca_data;	  /* PEM bytes (base64-decoded), or NULL */
	char *token;	  /* bearer token, or NULL */
	char *token_file; /* re-read on every request (bound tokens rotate), or NULL */
	char *cert_file;  /* client certificate (PEM), or NULL */
	char *cert_data;  /* client certificate bytes, or NULL */
	char *key_file;	  /* client key (PEM), or NULL */
	char *key_data;	  /* client key bytes, or NULL */
	char *namespace;  /* the context's namespace, or NULL */
	char *context;	  /* the context used, or NULL (in-cluster) */
	bool insecure;	  /* insecure-skip-tls-verify: true */
};

/*
 * Kubeconfig subset (YAML or JSON, as kubectl writes it):
 *   current-context: NAME                 (or `context` argument overrides it)
 *   contexts: [{name, context: {cluster, user, namespace?}}]
 *   clusters: [{name, cluster: {server, certificate-authority?|certificate-authority-data?,
 *                               insecure-skip-tls-verify?}}]
 *   users:    [{name, user: {token?|tokenFile?, client-certificate?|client-certificate-data?,
 *                            client-key?|client-key-data?}}]
 * Refused with a clear error: users[].user.exec and auth-provider (exec plugins),
 * username/password, anchors/aliases. Relative file paths are resolved against
 * base_dir (the kubeconfig's directory), as kubectl does.
 */
int fl_kube_config_parse(const char *text, size_t len, const char *base_dir, const char *context,
			 struct fl_kube_config *cfg, struct fl_error *err) FL_WUR;
/* In-cluster config: https://HOST:PORT, SA_DIR/ca.crt, SA_DIR/token, SA_DIR/namespace. */
int fl_kube_config_incluster(const char *host, const char *port, const char *sa_dir,
			     struct fl_kube_config *cfg, struct fl_error *err) FL_WUR;
/* Free what the config holds; NULL is fine. */
void fl_kube_config_done(struct fl_kube_config *cfg);

struct fl_kube_container {
	char *name;
	char *id;	  /* the runtime's ID without the scheme, or NULL (not started) */
	char runtime[16]; /* "containerd", "cri-o", "docker", or "" */
};

struct fl_kube_pod {
	char *namespace, *name, *uid, *node, *ip, *phase;
	struct fl_kube_container *containers; /* containerStatuses, then initContainerStatuses */
	size_t ncontainers;
};

struct fl_kube_pod_list {
	struct fl_kube_pod *v;
	size_t n, cap;
};

/*
 * One page of `GET /api/v1/.../pods` (kind PodList), appended to `list`.
 * *cont gets metadata.continue (NULL when this was the last page). A Status
 * object instead of a PodList is an error carrying its message.
 */
int fl_kube_pod_list_parse(const char *body, size_t len, struct fl_kube_pod_list *list, char **cont,
			   struct fl_error *err) FL_WUR;
/* Free the pods; NULL is fine. */
void fl_kube_pod_list_done(struct fl_kube_pod_list *list);
/* Deep copy of one pod into `list`. */
int fl_kube_pod_list_add(struct fl_kube_pod_list *list, const struct fl_kube_pod *p) FL_WUR;

/*
 * An HTTP status other than 200 with its body (a Status object, when the API
 * server wrote it): a -errno and a message naming what to fix.
 *   401 -> -EACCES (credentials rejected), 403 -> -EPERM (RBAC), 404 -> -ENOENT,
 *   410 -> -ESTALE (`continue` token expired), 429 -> -EAGAIN, else -EIO.
 */
int fl_kube_status_error(long http_code, const char *body, size_t len, struct fl_error *err);

/*
 * A label selector from a JSON object {"app": "cart"} -> "app=cart", keys and
 * values checked against Kubernetes' syntax (qualified names, values <= 63
 * chars of [A-Za-z0-9._-] starting and ending alphanumeric). `path` is the
 * JSON path used in errors.
 */
int fl_kube_labels_selector(const cJSON *labels, const char *path, struct fl_buf *out,
			    struct fl_error *err) FL_WUR;
/* Check a selector string "a=b,c!=d,e in (x,y),!f" for characters and length only. */
bool fl_kube_selector_ok(const char *s);
/* A DNS-1123 label (namespaces) or subdomain (pod names). */
bool fl_kube_name_ok(const char *s, bool subdomain);
/*
 * The pods list path with its query, percent-encoded:
 *   /api/v1[/namespaces/NS]/pods?limit=N[&labelSelector=..][&fieldSelector=..][&continue=..]
 */
int fl_kube_pods_url(const char *ns, const char *label_sel, const char *field_sel, const char *cont,
		     struct fl_buf *out) FL_WUR;

#endif
