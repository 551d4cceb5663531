/* Parallel HTTP calls to agents through one libcurl multi handle. */
#include "controller/agent_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/api.h"

struct fl_agent_client {
	CURLM *multi;
};

struct fl_agent_client *fl_agent_client_new(void)
{
	struct fl_agent_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return NULL;
	}
	/* Many agents at once, each over its own kept-alive connection. */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1024L);
	return c;
}

void fl_agent_client_free(struct fl_agent_client *c)
{
	if (!c)
		return;
	curl_multi_cleanup(c->multi);
	free(c);
}

void fl_agent_call_done(struct fl_agent_call *call)
{
	free(call->resp);
	cJSON_Delete(call->json);
	call->resp = NULL;
	call->json = NULL;
	call->resp_len = 0;
	call->status = 0;
	call->transport_error[0] = '\0';
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	struct fl_agent_call *call = ud;
	size_t k = sz * nm;
	char *np;

	if (call->resp_len + k > FL_AGENT_RESP_MAX)
		return 0; /* aborts the transfer: an agent does not send megabytes */
	np = realloc(call->resp, call->resp_len + k + 1);
	if (!np)
		return 0;
	call->resp = np;
	memcpy(call->resp + call->resp_len, p, k);
	call->resp_len += k;
	call->resp[call->resp_len] = '\0';
	return k;
}

struct slot {
	CURL *easy;
	struct curl_slist *headers;
	struct fl_agent_call *call;
	char errbuf[CURL_ERROR_SIZE];
};

static int setup(struct slot *s, struct fl_agent_call *call, long timeout_ms)
{
	const struct fl_agent_ep *ep = call->ep;
	char url[1024], auth[FL_AGENT_TOKEN_MAX + 32];
	CURL *e;

	s->call = call;
	s->easy = e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	snprintf(url, sizeof(url), "%s%s", ep->url, call->path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (ep->unix_path)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (ep->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ep->ca_file);
	if (ep->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, ep->cert_file);
	if (ep->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, ep->key_file);
	if (ep->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ep->token);
		s->headers = curl_slist_append(s->headers, auth);
		memset(auth, 0, sizeof(auth));
	}
	/* The agent answers at once; waiting for "100 Continue" only adds a round trip. */
	s->headers = curl_slist_append(s->headers, "Expect:");
	if (call->body) {
		s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	return 0;
}

int fl_agent_client_run(struct fl_agent_client *c, struct fl_agent_call *calls, size_t n,
			long timeout_ms)
{
	struct slot *slots;
	int running = 0, r = 0;

	if (n == 0)
		return 0;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		fl_agent_call_done(&calls[i]);
		if (setup(&slots[i], &calls[i], timeout_ms) < 0 ||
		    curl_multi_add_handle(c->multi, slots[i].easy) != CURLM_OK) {
			snprintf(calls[i].transport_error, sizeof(calls[i].transport_error),
				 "cannot set up the request");
			continue;
		}
	}
	do {
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		CURLMsg *m;
		int left;

		if (mc != CURLM_OK) {
			r = -EIO;
			break;
		}
		while ((m = curl_multi_info_read(c->multi, &left))) {
			struct slot *s = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (m->data.result == CURLE_OK) {
				double t = 0;

				curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE,
						  &s->call->status);
				curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &t);
				s->call->elapsed_ms = t * 1000;
				if (s->call->resp)
					s->call->json =
					    cJSON_ParseWithLength(s->call->resp, s->call->resp_len);
			} else {
				snprintf(s->call->transport_error, sizeof(s->call->transport_error),
					 "%s",
					 s->errbuf[0] ? s->errbuf
						      : curl_easy_strerror(m->data.result));
			}
		}
		if (running && curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			r = -EIO;
			break;
		}
	} while (running);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].easy) {
			curl_multi_remove_handle(c->multi, slots[i].easy);
			curl_easy_cleanup(slots[i].easy);
		}
		curl_slist_free_all(slots[i].headers);
	}
	free(slots);
	return r;
}

int fl_agent_call_error(const struct fl_agent_call *call, struct fl_error *err)
{
	struct fl_error e;

	fl_error_init(&e);
	if (call->status == 0)
		return fl_error_set(err, -EHOSTUNREACH, NULL, "agent %s: %s", call->ep->name,
				    call->transport_error[0] ? call->transport_error : "no answer");
	if (call->resp && fl_api_error_parse(call->resp, call->resp_len, &e))
		return fl_error_set(err, call->status == 401 ? -EACCES : -EPROTO,
				    e.path[0] ? e.path : NULL, "agent %s: HTTP %ld %s",
				    call->ep->name, call->status, e.msg);
	return fl_error_set(err, -EPROTO, NULL, "agent %s: HTTP %ld", call->ep->name, call->status);
}
