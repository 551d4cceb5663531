/*
 * The Kubernetes API over libcurl, for the agent (its node's pods,
 * agent/kube_client.c) and the controller (agent discovery and pod picks,
 * controller/kube_discovery.c): one paged pod-list GET with the credentials of
 * a struct fl_kube_config. Its own library (fl_kube_http), so that fl_core
 * stays free of libcurl.
 */
#include "core/kube_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/buf.h"

#ifndef FL_VERSION
#define FL_VERSION "0"
#endif

#define KUBE_TOKEN_MAX	     (16 * 1024)
#define KUBE_CONNECT_MS	     5000L
#define KUBE_PAGE_TIMEOUT_MS 15000L

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

int fl_kube_list_pods(const struct fl_kube_config *cfg, const char *ns, const char *labels,
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
