/*
 * The `http` provider: one libcurl easy handle driven by a multi handle so
 * that curl_multi_poll() also watches the cancel fd: an interrupt stops a
 * request at once instead of after curl's own timeout.
 *
 * Chaos Toolkit compatibility (chaoslib/provider/http.py, which uses
 * python-requests): redirects are followed; the request body, its
 * Content-Type and GET query arguments come ready from the parser (object
 * "arguments" form-encoded unless the Content-Type is JSON); a response with Content-Type
 * application/json has its body parsed so tolerances (jsonpath) see a JSON value, any other body is
 * a string.
 */
#include "controller/provider.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/duration.h"

struct fl_http_resp {
	struct fl_buf body;
	bool body_truncated;
	cJSON *headers;
	size_t n_headers;
	char content_type[128];
};

static pthread_once_t fl_curl_once = PTHREAD_ONCE_INIT;
static void fl_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t fl_http_write(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct fl_http_resp *rs = userdata;
	size_t n = size * nmemb, room = rs->body.max - rs->body.len;
	size_t take = n < room ? n : room;

	/* Keep reading past the cap (and drop it) so the transfer ends normally. */
	if (take && fl_buf_add(&rs->body, p, take) < 0)
		rs->body_truncated = true;
	if (take < n)
		rs->body_truncated = true;
	return n;
}

static size_t fl_http_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct fl_http_resp *rs = userdata;
	size_t n = size * nmemb, klen, vlen;
	const char *colon, *v;
	char *key = NULL;
	cJSON *old;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (redirect, 100 Continue): only the last one's headers count. */
		cJSON_Delete(rs->headers);
		rs->headers = cJSON_CreateObject();
		rs->n_headers = 0;
		rs->content_type[0] = '\0';
		return n;
	}
	colon = memchr(p, ':', n);
	if (!colon || !rs->headers || rs->n_headers >= FL_PROVIDER_HEADERS_MAX)
		return n;
	klen = (size_t)(colon - p);
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (!klen || klen > 256 || vlen > 8192)
		return n;
	key = strndup(p, klen);
	if (!key)
		return n;
	if (strcasecmp(key, "Content-Type") == 0)
		snprintf(rs->content_type, sizeof(rs->content_type), "%.*s", (int)vlen, v);
	old = cJSON_GetObjectItemCaseSensitive(rs->headers, key);
	if (old && cJSON_IsString(old)) {
		/* Repeated header: joined with ", " as python-requests does. */
		struct fl_buf b;

		fl_buf_init(&b, 16384);
		if (fl_buf_printf(&b, "%s, %.*s", old->valuestring, (int)vlen, v) == 0) {
			cJSON *nv = fl_provider_json_bytes(b.data, b.len);

			if (nv)
				cJSON_ReplaceItemInObjectCaseSensitive(rs->headers, key, nv);
		}
		fl_buf_done(&b);
	} else {
		cJSON_AddItemToObject(rs->headers, key, fl_provider_json_bytes(v, vlen));
		rs->n_headers++;
	}
	free(key);
	return n;
}

/*
 * chaoslib parses the body only when the Content-Type header is exactly
 * "application/json" (r.headers.get("Content-Type") == "application/json");
 * with "; charset=utf-8" the body stays text, which regex tolerances then
 * search as the server wrote it (jsonpath tolerances parse text either way).
 */
static bool fl_is_json_type(const char *ct)
{
	return strcmp(ct, "application/json") == 0;
}

int fl_provider_http_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
			 struct fl_error *err)
{
	struct fl_http_resp rs = {0};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *method = p->method && *p->method ? p->method : "GET";
	uint64_t timeout = p->timeout_ms ? p->timeout_ms : FL_HTTP_DEFAULT_TIMEOUT_MS;
	uint64_t run_deadline = o ? o->deadline_ms : 0;
	int cancel_fd = o ? o->cancel_fd : -1;
	char *url = NULL;
	CURLM *m = NULL;
	CURL *h = NULL;
	CURLcode cc = CURLE_OK;
	long status = 0;
	curl_off_t total_us = 0;
	cJSON *res = NULL, *body = NULL;
	int r = 0;

	*result = NULL;
	pthread_once(&fl_curl_once, fl_curl_init);
	fl_buf_init(&rs.body, o && o->output_max ? o->output_max : FL_PROVIDER_OUTPUT_MAX);
	rs.headers = cJSON_CreateObject();
	if (!p->url || !*p->url) {
		r = fl_error_set(err, -EINVAL, NULL, "http provider without a url");
		goto out;
	}
	h = curl_easy_init();
	m = curl_multi_init();
	url = strdup(p->url);
	if (!h || !m || !url || !rs.headers) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}

	/* The parser already chose the body and its Content-Type (experiment.h). */
	if (p->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
		curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, p->body);
	}
	for (size_t i = 0; i < p->n_headers; i++) {
		char *line;
		struct curl_slist *nh;

		/* "Name;" is curl's way to send a header with an empty value. */
		if (asprintf(&line, p->headers[i].value[0] ? "%s: %s" : "%s;", p->headers[i].key,
			     p->headers[i].value) < 0) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		nh = curl_slist_append(hdrs, line);
		free(line);
		if (!nh) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		hdrs = nh;
	}

	curl_easy_setopt(h, CURLOPT_URL, url);
	/* GET and POST stay curl's own so redirects behave like python-requests. */
	if (strcasecmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcasecmp(method, "POST") == 0) {
		if (!p->body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
			curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, "");
		}
	} else if (strcasecmp(method, "GET") != 0 || p->body) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify_tls ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fl_http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, fl_http_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &rs);
	curl_multi_add_handle(m, h);

	for (;;) {
		struct curl_waitfd wfd = {.fd = cancel_fd, .events = CURL_WAIT_POLLIN};
		int running = 0, numfds = 0, to = 1000;
		uint64_t now = fl_now_mono_ms();
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			r = fl_error_set(err, -EIO, NULL, "%s %s: curl multi interface failed",
					 method, p->url);
			goto out;
		}
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				cc = msg->data.result;
		if (!running)
			break;
		if (run_deadline && now >= run_deadline) {
			r = fl_error_set(err, -ETIMEDOUT, NULL,
					 "%s %s stopped: the experiment's timeout passed", method,
					 p->url);
			goto out;
		}
		if (run_deadline && run_deadline - now < (uint64_t)to)
			to = (int)(run_deadline - now);
		if (curl_multi_poll(m, cancel_fd >= 0 ? &wfd : NULL, cancel_fd >= 0 ? 1 : 0, to,
				    &numfds) != CURLM_OK) {
			r = fl_error_set(err, -EIO, NULL, "%s %s: curl poll failed", method,
					 p->url);
			goto out;
		}
		if (cancel_fd >= 0 && (wfd.revents & CURL_WAIT_POLLIN)) {
			r = fl_error_set(err, -ECANCELED, NULL, "%s %s stopped: interrupted",
					 method, p->url);
			goto out;
		}
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		char d[32];

		r = fl_error_set(err, -ETIMEDOUT, NULL, "%s %s: no complete response within %s",
				 method, p->url, fl_duration_fmt(timeout * 1000, d, sizeof(d)));
		goto out;
	}
	if (cc != CURLE_OK) {
		r = fl_error_set(err, -EIO, NULL, "%s %s: %s", method, p->url,
				 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);

	if (fl_is_json_type(rs.content_type) && !rs.body_truncated && rs.body.data)
		body = cJSON_ParseWithLength(rs.body.data, rs.body.len);
	if (!body)
		body = fl_provider_json_bytes(rs.body.data, rs.body.len);
	res = cJSON_CreateObject();
	if (!res || !body) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	cJSON_AddNumberToObject(res, "status", (double)status);
	cJSON_AddItemToObject(res, "headers", rs.headers);
	rs.headers = NULL;
	cJSON_AddItemToObject(res, "body", body);
	body = NULL;
	cJSON_AddNumberToObject(res, "elapsed_ms", (double)total_us / 1000.0);
	if (rs.body_truncated)
		cJSON_AddBoolToObject(res, "body_truncated", true);
	if (p->expected_status >= 0 && status != p->expected_status)
		r = fl_error_set(err, -EPROTO, NULL, "%s %s: status %ld, expected %ld", method,
				 p->url, status, p->expected_status);
	*result = res;
	res = NULL;
out:
	if (m && h)
		curl_multi_remove_handle(m, h);
	curl_easy_cleanup(h);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(url);
	fl_buf_done(&rs.body);
	cJSON_Delete(rs.headers);
	cJSON_Delete(body);
	cJSON_Delete(res);
	return r;
}
