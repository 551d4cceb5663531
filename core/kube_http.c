/*
 * The Kubernetes API over libcurl, for the agent (its node's pods,
 * agent/kube_client.c) and the controller (agent discovery and pod picks,
 * controller/kube_discovery.c): one paged pod-list GET with the credentials of
 * a struct fl_kube_config. Its own library (fl_kube_http), so that fl_core
 * stays free of libcurl.
 *
 * Built twice from this file: fl_kube_http links libcurl (the controller, which
 * uses libcurl anyway), fl_kube_http_dl (FL_KUBE_HTTP_DLOPEN, the agent's)
 * loads it with dlopen() at the first pod list, so that an agent without pod
 * targets neither maps libcurl nor the dozen libraries it pulls in.
 */
#include "core/kube_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#ifdef FL_KUBE_HTTP_DLOPEN
#include <dlfcn.h>
#include <pthread.h>
#endif

#include "core/buf.h"

#ifndef FL_VERSION
#define FL_VERSION "0"
#endif

#define KUBE_TOKEN_MAX	     (16 * 1024)
#define KUBE_CONNECT_MS	     5000L
#define KUBE_PAGE_TIMEOUT_MS 15000L

/* The libcurl calls this file makes, linked or looked up in the loaded library. */
static struct curl_fns {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode cc);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu
#ifndef FL_KUBE_HTTP_DLOPEN
    = {curl_global_init,  curl_global_cleanup, curl_easy_init,	   curl_easy_setopt,
       curl_easy_perform, curl_easy_getinfo,   curl_easy_strerror, curl_easy_cleanup,
       curl_slist_append, curl_slist_free_all}
#endif
;

#ifdef FL_KUBE_HTTP_DLOPEN
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_why[256]; /* empty once loaded */

/* Once per process: libcurl, its symbols, curl_global_init(). Kept loaded. */
static void load_curl(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	struct curl_fns fns;
	const char *missing = NULL;

	if (!h) {
		const char *e = dlerror();

		snprintf(load_why, sizeof(load_why), "%s", e ? e : CURL_SONAME ": not found");
		/* A second call frees glibc's copy, which LeakSanitizer counts as lost. */
		(void)dlerror();
		return;
	}
	/* POSIX's way to a function pointer from dlsym(). */
#define LOOK(field)                                                                                \
	if (!missing && !(*(void **)&fns.field = dlsym(h, "curl_" #field)))                        \
		missing = "curl_" #field;
	LOOK(global_init)
	LOOK(global_cleanup)
	LOOK(easy_init)
	LOOK(easy_setopt)
	LOOK(easy_perform)
	LOOK(easy_getinfo)
	LOOK(easy_strerror)
	LOOK(easy_cleanup)
	LOOK(slist_append)
	LOOK(slist_free_all)
#undef LOOK
	if (missing) {
		snprintf(load_why, sizeof(load_why), "%s has no %s", CURL_SONAME, missing);
		(void)dlerror();
		(void)dlerror();
		dlclose(h);
		return;
	}
	if (fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_why, sizeof(load_why), "curl_global_init() failed");
		return;
	}
	cu = fns;
}
#endif

void fl_kube_http_cleanup(void)
{
#ifdef FL_KUBE_HTTP_DLOPEN
	/* What curl_global_init() set up (TLS library state) goes, if it ran. */
	if (cu.global_cleanup)
		cu.global_cleanup();
	cu.global_cleanup = NULL;
#endif
}

/* 0 when libcurl can be called; else -ENOTSUP with the reason in err. */
static int curl_ready(struct fl_error *err)
{
#ifdef FL_KUBE_HTTP_DLOPEN
	pthread_once(&load_once, load_curl);
	if (load_why[0])
		return fl_error_set(err, -ENOTSUP, NULL,
				    "the Kubernetes API needs libcurl (Debian package libcurl4), "
				    "which cannot be loaded: %s",
				    load_why);
#else
	(void)err;
#endif
	return 0;
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
		cu.easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_data) {
		struct curl_blob blob = {
		    .data = cfg->ca_data, .len = strlen(cfg->ca_data), .flags = CURL_BLOB_COPY};

		cu.easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (cfg->insecure) {
		cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->cert_file) {
		cu.easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
		cu.easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->cert_data) {
		struct curl_blob cb = {
		    .data = cfg->cert_data, .len = strlen(cfg->cert_data), .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {
		    .data = cfg->key_data, .len = strlen(cfg->key_data), .flags = CURL_BLOB_COPY};

		cu.easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
		cu.easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
		cu.easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		cu.easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->token_file) {
		r = fl_buf_read_file(cfg->token_file, KUBE_TOKEN_MAX, &token, NULL);
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
			struct curl_slist *n = cu.slist_append(*hdrs, h.data);

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

int fl_kube_list_pods(const struct fl_kube_config *cfg, const char *ns, const char *labels,
		      const char *fields, struct fl_kube_pod_list *out, struct fl_error *err)
{
	CURL *c;
	struct curl_slist *hdrs = NULL;
	char *cont = NULL;
	struct fl_buf url, body;
	int r = curl_ready(err);

	if (r < 0)
		return r;
	c = cu.easy_init();
	fl_buf_init(&url, 16384);
	fl_buf_init(&body, FL_KUBE_BODY_MAX);
	if (!c)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	r = setup_auth(c, cfg, &hdrs, err);
	if (r < 0)
		goto out;
	{
		struct curl_slist *n = cu.slist_append(hdrs, "Accept: application/json");

		if (!n) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		hdrs = n;
	}
	cu.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cu.easy_setopt(c, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, KUBE_CONNECT_MS);
	cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, KUBE_PAGE_TIMEOUT_MS);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, &body);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	cu.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
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
		cu.easy_setopt(c, CURLOPT_URL, url.data);
		cc = cu.easy_perform(c);
		if (cc != CURLE_OK) {
			r = fl_error_set(err, cc == CURLE_WRITE_ERROR ? -E2BIG : -EHOSTUNREACH,
					 NULL, "Kubernetes API %s: %s", cfg->server,
					 cu.easy_strerror(cc));
			goto out;
		}
		cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
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
	cu.slist_free_all(hdrs);
	cu.easy_cleanup(c);
	return r;
}
