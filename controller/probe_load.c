/*
 * The `load` probe: steady HTTP traffic at a set rate with libcurl multi.
 *
 * Requests are scheduled open-loop every 1/rate seconds (a slow server does
 * not slow the schedule down, so its slowness shows in the latencies). At most
 * `concurrency` requests are in flight; a request due while the cap is
 * reached is not sent and counts as a failed sample ("not_sent") with the
 * request timeout as its latency. A sample succeeds when a response came with
 * the expected status (any status below 400 when none is expected); its
 * latency is from the request's start to its end. A once-judged probe stops
 * sending at the end of its duration and waits for the requests in flight
 * (each bounded by the timeout): a service that stops answering must count.
 * A sampled (during) probe stops sending when its window closes (stop_fd, the
 * end of the method) and likewise waits for the requests in flight: they
 * started while the method ran, so they count ("finished_after_end"). Only
 * the cancel fd (an interrupt or an abort) drops them, as "in_flight_at_end".
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/slo.h"
#include "core/duration.h"

struct load_req {
	CURL *h;
	uint64_t t0_us;
	bool used;
};

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static bool ready(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

static CURL *new_handle(const struct fl_provider *p, struct curl_slist *hdrs, long timeout_ms,
			char *errbuf)
{
	CURL *h = curl_easy_init();
	const char *method = p->method ? p->method : "GET";

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, p->url);
	if (!strcasecmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcasecmp(method, "GET"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (p->body && *p->body && strcasecmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
		curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, p->body);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (p->connect_timeout_ms)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify_tls ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline-load/" FL_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	return h;
}

int fl_probe_load_drive(const struct fl_provider *p, const struct fl_call_opts *o, int stop_fd,
			uint64_t duration_ms, struct fl_slo_window *w,
			bool (*each)(void *arg, const struct fl_slo_window *w), void *arg,
			struct fl_error *err)
{
	long timeout_ms = (long)(p->timeout_ms ? p->timeout_ms : FL_LOAD_DEFAULT_TIMEOUT_MS);
	unsigned cap = p->concurrency ? p->concurrency : 64;
	uint64_t interval_us = (uint64_t)(1e6 / (p->rate > 0 ? p->rate : 1));
	uint64_t start = fl_now_mono_us(), next = start;
	uint64_t end = duration_ms ? start + duration_ms * 1000 : 0;
	struct load_req *reqs = calloc(cap, sizeof(*reqs));
	char(*errbufs)[CURL_ERROR_SIZE] = calloc(cap, CURL_ERROR_SIZE);
	struct curl_slist *hdrs = NULL;
	CURLM *m = curl_multi_init();
	unsigned inflight = 0;
	bool closed = false; /* stop_fd fired: send no more, wait for those in flight */
	int ret = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!reqs || !errbufs || !m) {
		ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n_headers; i++) {
		char *line = NULL;
		struct curl_slist *nh = NULL;

		if (asprintf(&line, p->headers[i].value[0] ? "%s: %s" : "%s;", p->headers[i].key,
			     p->headers[i].value) >= 0)
			nh = curl_slist_append(hdrs, line);
		free(line);
		if (!nh) {
			ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		hdrs = nh;
	}
	for (;;) {
		uint64_t now = fl_now_mono_us();
		struct curl_waitfd wfd[2];
		unsigned nw = 0;
		CURLMsg *msg;
		int running, left, wait_ms;

		if (!closed && ready(stop_fd))
			closed = true;
		if (closed && !inflight)
			break;
		if (ready(o->cancel_fd)) {
			ret = fl_error_set(err, -ECANCELED, NULL, "interrupted");
			break;
		}
		if (o->deadline_ms && now / 1000 >= o->deadline_ms) {
			ret =
			    fl_error_set(err, -ETIMEDOUT, NULL, "the experiment's timeout passed");
			break;
		}
		if (end && now >= end && !inflight)
			break;
		while (!closed && next <= now && (!end || next < end)) {
			unsigned k;

			next += interval_us;
			if (inflight >= cap) {
				w->not_sent++;
				fl_slo_window_add_at(w, false, (uint64_t)timeout_ms * 1000, now);
				snprintf(w->last_err, sizeof(w->last_err),
					 "not sent: %u requests already in flight", cap);
				continue;
			}
			for (k = 0; k < cap && reqs[k].used; k++)
				;
			errbufs[k][0] = '\0';
			reqs[k].h = new_handle(p, hdrs, timeout_ms, errbufs[k]);
			if (!reqs[k].h) {
				ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
				goto out;
			}
			curl_easy_setopt(reqs[k].h, CURLOPT_PRIVATE, &reqs[k]);
			reqs[k].t0_us = fl_now_mono_us();
			reqs[k].used = true;
			curl_multi_add_handle(m, reqs[k].h);
			inflight++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct load_req *rq = NULL;
			long status = 0;
			bool ok;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			ok = msg->data.result == CURLE_OK &&
			     (p->expected_status >= 0 ? status == p->expected_status
						      : status >= 100 && status < 400);
			fl_slo_window_add(w, ok, fl_now_mono_us() - rq->t0_us);
			if (closed)
				w->late++;
			if (!ok) {
				size_t k = (size_t)(rq - reqs);

				if (msg->data.result != CURLE_OK)
					snprintf(w->last_err, sizeof(w->last_err), "%.150s",
						 errbufs[k][0]
						     ? errbufs[k]
						     : curl_easy_strerror(msg->data.result));
				else
					snprintf(w->last_err, sizeof(w->last_err),
						 "HTTP status %ld", status);
			}
			curl_multi_remove_handle(m, rq->h);
			curl_easy_cleanup(rq->h);
			rq->h = NULL;
			rq->used = false;
			inflight--;
			if (each && each(arg, w))
				goto out;
		}
		now = fl_now_mono_us();
		wait_ms = next > now ? (int)((next - now + 999) / 1000) : 0;
		if (wait_ms > 100 || (end && now >= end) || closed)
			wait_ms = 100; /* past the end: only answers (or timeouts) to wait for */
		if (stop_fd >= 0 && !closed)
			wfd[nw++] = (struct curl_waitfd){.fd = stop_fd, .events = CURL_WAIT_POLLIN};
		if (o->cancel_fd >= 0)
			wfd[nw++] =
			    (struct curl_waitfd){.fd = o->cancel_fd, .events = CURL_WAIT_POLLIN};
		if (wait_ms > 0)
			curl_multi_poll(m, wfd, nw, wait_ms, NULL);
	}
out:
	for (unsigned k = 0; reqs && k < cap; k++) {
		if (!reqs[k].used)
			continue;
		w->in_flight++;
		curl_multi_remove_handle(m, reqs[k].h);
		curl_easy_cleanup(reqs[k].h);
	}
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(errbufs);
	free(reqs);
	return ret;
}
