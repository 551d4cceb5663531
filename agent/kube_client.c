/*
 * Pod listing for the agent: the pods of its node, through core/kube_http.c
 * (one libcurl easy handle per list call: the HTTP server calls plan() from
 * its threads; every page of the list followed). The agent links
 * fl_kube_http_dl: libcurl is loaded at the first pod list, not at start.
 */
#include "agent/kube_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/log.h"
#include "core/buf.h"
#include "core/kube_http.h"
#include "faults/pod_select.h"

static struct {
	bool active;
	struct fl_kube_config cfg;
	char node[254];
	char why[FL_ERROR_MSG_MAX]; /* why pod targets are off, when configured but unusable */
} kc;

static int node_lister(void *opaque, const char *ns, const char *labels, const char *name,
		       struct fl_kube_pod_list *out, struct fl_error *err)
{
	struct fl_buf fields;
	int r;

	(void)opaque;
	fl_buf_init(&fields, 1024);
	r = name ? fl_buf_printf(&fields, "metadata.name=%s,spec.nodeName=%s", name, kc.node)
		 : fl_buf_printf(&fields, "spec.nodeName=%s", kc.node);
	if (r < 0) {
		fl_buf_done(&fields);
		return fl_error_set(err, r, NULL, "field selector too long");
	}
	r = fl_kube_list_pods(&kc.cfg, ns, labels, fields.data, out, err);
	fl_buf_done(&fields);
	if (r < 0) {
		/* The caller's path is the target's; say where the message comes from. */
		char m[FL_ERROR_MSG_MAX];

		snprintf(m, sizeof(m), "%s", err->msg);
		fl_error_set(err, r, "$.target.pod", "listing pods on node %s: %s", kc.node, m);
	}
	return r;
}

static int setup(struct fl_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *kubeconfig = getenv("KUBECONFIG");
	const char *node = getenv("NODE_NAME");
	char *text = NULL;
	int r;

	memset(&kc, 0, sizeof(kc));
	if (host && *host) {
		r = fl_kube_config_incluster(host, port, getenv("FAULTLINE_SA_DIR"), &kc.cfg, err);
		if (r < 0)
			return r;
		if (access(kc.cfg.token_file, R_OK) < 0) {
			r = fl_error_set(err, -errno, NULL,
					 "in a cluster but %s is not readable: %m (is "
					 "automountServiceAccountToken off?)",
					 kc.cfg.token_file);
			fl_kube_config_done(&kc.cfg);
			return r;
		}
	} else if (kubeconfig && *kubeconfig) {
		char path[4096], dir[4096], *slash;

		/* KUBECONFIG is a ':' list; like kubectl we read the first file (no merging). */
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(kubeconfig, ":"), kubeconfig);
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		r = fl_buf_read_file(path, FL_KUBE_CONFIG_MAX, &text, NULL);
		if (r < 0)
			return fl_error_set(err, r, NULL, "KUBECONFIG %s: %s", path, strerror(-r));
		r = fl_kube_config_parse(text, strlen(text), dir, getenv("FAULTLINE_KUBE_CONTEXT"),
					 &kc.cfg, err);
		free(text);
		if (r < 0) {
			char m[FL_ERROR_MSG_MAX];

			snprintf(m, sizeof(m), "%s", err->msg);
			fl_error_set(err, r, err->path, "KUBECONFIG %s: %s", path, m);
			return r;
		}
	} else {
		return 0; /* not configured: pod targets say so when asked */
	}
	if (node && *node)
		snprintf(kc.node, sizeof(kc.node), "%s", node);
	else if (gethostname(kc.node, sizeof(kc.node) - 1) < 0)
		kc.node[0] = '\0';
	if (!fl_kube_name_ok(kc.node, true)) {
		r = fl_error_set(err, -EINVAL, NULL,
				 "node name \"%.64s\" is not a Kubernetes node name (set NODE_NAME "
				 "from the downward API spec.nodeName)",
				 kc.node);
		fl_kube_config_done(&kc.cfg);
		return r;
	}
	kc.active = true;
	fl_pod_set_lister(node_lister, NULL);
	if (kc.cfg.insecure)
		fl_log(FL_LOG_WARN,
		       "kubeconfig says insecure-skip-tls-verify: the API server's "
		       "certificate is not checked",
		       NULL);
	fl_log(FL_LOG_INFO, "kubernetes pod targets enabled", "api_server", kc.cfg.server, "node",
	       kc.node, NULL);
	return 0;
}

/* Configured, but unusable: pod targets say why instead of a generic refusal. */
static int disabled_lister(void *opaque, const char *ns, const char *labels, const char *name,
			   struct fl_kube_pod_list *out, struct fl_error *err)
{
	(void)opaque;
	(void)ns;
	(void)labels;
	(void)name;
	(void)out;
	return fl_error_set(err, -ENOTSUP, "$.target.pod", "pod targets are off on this agent: %s",
			    kc.why);
}

int fl_kube_client_setup(struct fl_error *err)
{
	struct fl_error e;

	fl_error_init(&e);
	if (setup(&e) == 0)
		return 0;
	/*
	 * Not fatal: an agent started from a shell (the embedded one of `faultline
	 * run`) inherits KUBECONFIG, which may well use an exec plugin; every other
	 * target must keep working.
	 */
	snprintf(kc.why, sizeof(kc.why), "%s", e.msg);
	fl_pod_set_lister(disabled_lister, NULL);
	fl_log(FL_LOG_WARN, "kubernetes pod targets disabled", "error", e.msg, NULL);
	(void)err;
	return 0;
}

void fl_kube_client_teardown(void)
{
	fl_pod_set_lister(NULL, NULL);
	fl_kube_http_cleanup();
	if (!kc.active) {
		memset(&kc, 0, sizeof(kc));
		return;
	}
	fl_kube_config_done(&kc.cfg);
	memset(&kc, 0, sizeof(kc));
}

bool fl_kube_client_active(const char **server, const char **node)
{
	if (server)
		*server = kc.active ? kc.cfg.server : NULL;
	if (node)
		*node = kc.active ? kc.node : NULL;
	return kc.active;
}

cJSON *fl_kube_client_note_restarts(const char *id, const cJSON *undo)
{
	const cJSON *pods = cJSON_GetObjectItemCaseSensitive(undo, "pods");
	const cJSON *n;
	cJSON *notes;

	if (!cJSON_IsArray(pods))
		return NULL;
	notes = fl_pod_restart_notes(pods);
	cJSON_ArrayForEach(n, notes)
	    fl_log(FL_LOG_WARN, "container restarted during the fault; reverted by the journal",
		   "id", id, "detail", n->valuestring, NULL);
	return notes;
}
