/*
 * Pod listing for the agent: one libcurl easy handle per list call (the HTTP
 * server calls plan() from its threads), every page of the list followed.
 */
#include "agent/kube_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent/log.h"
#include "core/buf.h"
#include "faults/pod_select.h"

#define KUBE_TOKEN_MAX	     (16 * 1024)
#define KUBE_CONNECT_MS	     5000L
#define KUBE_PAGE_TIMEOUT_MS 15000L

static struct {
	bool active;
	struct fl_kube_config cfg;
	char node[254];
	char why[FL_ERROR_MSG_MAX]; /* why pod targets are off, when configured but unusable */
} kc;

/* Read a small text file whole (the token: it rotates, so it is read per request). */
static int slurp(const char *path, size_t max, char **out)
{
	struct fl_buf b;
	char tmp[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	*out = NULL;
	if (fd < 0)
		return -errno;
	fl_buf_init(&b, max);
	for (;;) {
		ssize_t k = read(fd, tmp, sizeof(tmp));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		r = fl_buf_add(&b, tmp, (size_t)k);
		if (r < 0)
			break;
	}
	close(fd);
	if (r < 0) {
		fl_buf_done(&b);
		return r;
	}
	*out = fl_buf_steal(&b);
	if (!*out)
		*out = strdup("");
	return *out ? 0 : -ENOMEM;
}

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct fl_buf *b = opaque;

	return fl_buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

/* Set TLS and credentials on an easy handle; `hdrs` gets the Authorization header. */
static int setup_auth(CURL *c, const struct fl_kube_config *cfg, struct curl_slist **hdrs,
		      struct fl_error *err)
{
	char *token = NULL;
	int r = 0;

	if (cfg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_data) {
		struct curl_blob blob = {
		    .data = cfg->ca_data, .len = strlen(cfg->ca_data), .flags = CURL_BLOB_COPY};

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (cfg->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->cert_data) {
		struct curl_blob cb = {
		    .data = cfg->cert_data, .len = strlen(cfg->cert_data), .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {
		    .data = cfg->key_data, .len = strlen(cfg->key_data), .flags = CURL_BLOB_COPY};

		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->token_file) {
		r = slurp(cfg->token_file, KUBE_TOKEN_MAX, &token);
		if (r < 0)
			return fl_error_set(err, r, NULL, "cannot read the token file %s: %s",
					    cfg->token_file, strerror(-r));
		token[strcspn(token, "\r\n")] = '\0';
	} else if (cfg->token) {
		token = strdup(cfg->token);
		if (!token)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	if (token && *token) {
		struct fl_buf h;

		fl_buf_init(&h, KUBE_TOKEN_MAX + 64);
		if (strpbrk(token, "\r\n") ||
		    fl_buf_printf(&h, "Authorization: Bearer %s", token) < 0)
			r = fl_error_set(err, -EINVAL, NULL, "unusable bearer token");
		else {
			struct curl_slist *n = curl_slist_append(*hdrs, h.data);

			if (!n)
				r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			else
				*hdrs = n;
		}
		memset(h.data, 0, h.len);
		fl_buf_done(&h);
	}
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	return r;
}

int fl_kube_client_list(const struct fl_kube_config *cfg, const char *ns, const char *labels,
			const char *fields, struct fl_kube_pod_list *out, struct fl_error *err)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char *cont = NULL;
	struct fl_buf url, body;
	int r = 0;

	fl_buf_init(&url, 16384);
	fl_buf_init(&body, FL_KUBE_BODY_MAX);
	if (!c)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	r = setup_auth(c, cfg, &hdrs, err);
	if (r < 0)
		goto out;
	{
		struct curl_slist *n = curl_slist_append(hdrs, "Accept: application/json");

		if (!n) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		hdrs = n;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, KUBE_PAGE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	for (int page = 0;; page++) {
		CURLcode cc;
		long code = 0;
		char *next = NULL;

		if (page >= FL_KUBE_PAGES_MAX) {
			r = fl_error_set(err, -E2BIG, NULL, "pod list longer than %d pages",
					 FL_KUBE_PAGES_MAX);
			goto out;
		}
		fl_buf_done(&url);
		fl_buf_init(&url, 16384);
		r = fl_buf_printf(&url, "%s", cfg->server);
		/* "https://host:6443/" + "/api/..." must not make "//api". */
		if (r == 0 && url.len && url.data[url.len - 1] == '/')
			url.data[--url.len] = '\0';
		if (r == 0)
			r = fl_kube_pods_url(ns, labels, fields, cont, &url);
		if (r < 0) {
			r = fl_error_set(err, r, NULL, "cannot build the pod list URL");
			goto out;
		}
		fl_buf_done(&body);
		fl_buf_init(&body, FL_KUBE_BODY_MAX);
		curl_easy_setopt(c, CURLOPT_URL, url.data);
		cc = curl_easy_perform(c);
		if (cc != CURLE_OK) {
			r = fl_error_set(err, cc == CURLE_WRITE_ERROR ? -E2BIG : -EHOSTUNREACH,
					 NULL, "Kubernetes API %s: %s", cfg->server,
					 curl_easy_strerror(cc));
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200) {
			r = fl_kube_status_error(code, body.data, body.len, err);
			goto out;
		}
		r = fl_kube_pod_list_parse(body.data ? body.data : "", body.len, out, &next, err);
		if (r < 0)
			goto out;
		free(cont);
		cont = next;
		if (!cont)
			break;
	}
out:
	free(cont);
	fl_buf_done(&url);
	fl_buf_done(&body);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

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
	r = fl_kube_client_list(&kc.cfg, ns, labels, fields.data, out, err);
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
		r = slurp(path, FL_KUBE_CONFIG_MAX, &text);
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
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
	if (!kc.active) {
		memset(&kc, 0, sizeof(kc));
		return;
	}
	fl_kube_config_done(&kc.cfg);
	curl_global_cleanup();
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
