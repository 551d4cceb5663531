/*
 * The `load` probe: steady HTTP traffic at a set rate with libcurl multi.
 *
 * Requests are scheduled open-loop: request k is due at start + k/rate (a
 * slow server does not slow the schedule down). Its latency counts from when
 * it was due, not from when it could be sent, so a stall of the server shows
 * in the latencies of every request scheduled during it, as wrk2 measures
 * (no "coordinated omission"). At most `concurrency` requests are in flight;
 * a request due while the cap is reached waits for a free slot, and its
 * timeout, too, runs from when it was due: one that found no slot within the
 * timeout is not sent and counts as a failed sample ("not_sent") with the
 * timeout as its latency. A sample succeeds when a response came with the
 * expected status (any status below 400 when none is expected). A timerfd
 * wakes the loop at each due time (curl_multi_poll's own timeout has
 * millisecond steps), and the easy handles are kept and reused, so their
 * connections stay open across requests.
 *
 * A once-judged probe stops scheduling at the end of its duration and waits
 * for the requests due before it (each bounded by its timeout): a service
 * that stops answering must count. A sampled (during) probe stops scheduling
 * when its window closes (stop_fd, the end of the method) and likewise
 * finishes the requests due in the window: they belong to it
 * ("finished_after_end"). Only the cancel fd (an interrupt or an abort) drops
 * them, as "in_flight_at_end".
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "controller/slo.h"
#include "core/duration.h"

struct load_req {
	CURL *h;
	uint64_t due_us; /* when it was scheduled: its latency and timeout count from here */
	bool used;
	char errbuf[CURL_ERROR_SIZE];
};

struct load_run {
	const struct fl_provider *p;
	struct curl_slist *hdrs;
	struct load_req *reqs;
	unsigned *free_slots; /* stack of indices into reqs not in flight */
	unsigned n_free;
	CURLM *m;
	int tfd;
	uint64_t armed_us; /* the timerfd's expiry, 0: disarmed */
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

static CURL *new_handle(const struct fl_provider *p, struct curl_slist *hdrs, struct load_req *rq)
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
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (p->connect_timeout_ms)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify_tls ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline-load/" FL_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, rq->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, rq);
	return h;
}

/* Wake the loop at `at_us` (CLOCK_MONOTONIC, as fl_now_mono_us); 0 disarms. */
static void arm(struct load_run *r, uint64_t at_us)
{
	struct itimerspec its = {0};

	if (r->tfd < 0 || at_us == r->armed_us)
		return;
	its.it_value.tv_sec = (time_t)(at_us / 1000000);
	its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
	if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		r->armed_us = at_us;
}

/* Send one request due at due_us, with what is left of its timeout. */
static int send_one(struct load_run *r, uint64_t due_us, uint64_t now, long timeout_ms)
{
	unsigned k = r->free_slots[--r->n_free];
	struct load_req *rq = &r->reqs[k];
	uint64_t spent_ms = now > due_us ? (now - due_us) / 1000 : 0;
	long left_ms = timeout_ms - (long)spent_ms;

	if (!rq->h && !(rq->h = new_handle(r->p, r->hdrs, rq))) {
		r->n_free++;
		return -ENOMEM;
	}
	rq->errbuf[0] = '\0';
	curl_easy_setopt(rq->h, CURLOPT_TIMEOUT_MS, left_ms > 0 ? left_ms : 1L);
	if (curl_multi_add_handle(r->m, rq->h) != CURLM_OK) {
		r->n_free++;
		return -ENOMEM;
	}
	rq->due_us = due_us;
	rq->used = true;
	return 0;
}

int fl_probe_load_drive(const struct fl_provider *p, const struct fl_call_opts *o, int stop_fd,
			uint64_t duration_ms, struct fl_slo_window *w,
			bool (*each)(void *arg, const struct fl_slo_window *w), void *arg,
			struct fl_error *err)
{
	long timeout_ms = (long)(p->timeout_ms ? p->timeout_ms : FL_LOAD_DEFAULT_TIMEOUT_MS);
	unsigned cap = p->concurrency ? p->concurrency : 64;
	double interval_us = 1e6 / (p->rate > 0 ? p->rate : 1);
	uint64_t start = fl_now_mono_us(), k_next = 0, due;
	uint64_t end = duration_ms ? start + duration_ms * 1000 : 0;
	uint64_t k_stop = UINT64_MAX; /* first request not scheduled (the window closed) */
	struct load_run r = {.p = p, .tfd = -1};
	bool closed = false, cancel = false;
	int ret = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r.reqs = calloc(cap, sizeof(*r.reqs));
	r.free_slots = calloc(cap, sizeof(*r.free_slots));
	r.m = curl_multi_init();
	r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!r.reqs || !r.free_slots || !r.m) {
		ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (r.tfd < 0) {
		ret = fl_error_set(err, -errno, NULL, "timerfd: %s", strerror(errno));
		goto out;
	}
	for (unsigned k = 0; k < cap; k++)
		r.free_slots[r.n_free++] = cap - 1 - k;
	/* Keep a connection per slot open between requests (the default cache is smaller). */
	curl_multi_setopt(r.m, CURLMOPT_MAXCONNECTS, (long)cap);
	for (size_t i = 0; i < p->n_headers; i++) {
		char *line = NULL;
		struct curl_slist *nh = NULL;

		if (asprintf(&line, p->headers[i].value[0] ? "%s: %s" : "%s;", p->headers[i].key,
			     p->headers[i].value) >= 0)
			nh = curl_slist_append(r.hdrs, line);
		free(line);
		if (!nh) {
			ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		r.hdrs = nh;
	}
	closed = ready(stop_fd);
	cancel = ready(o->cancel_fd);
	if (closed)
		k_stop = 0;
	for (;;) {
		uint64_t now = fl_now_mono_us(), wake = 0;
		struct curl_waitfd wfd[3];
		unsigned nw = 0, i_stop = 3, i_cancel = 3, i_timer;
		CURLMsg *msg;
		int running, left;

		if (cancel) {
			ret = fl_error_set(err, -ECANCELED, NULL, "interrupted");
			break;
		}
		if (o->deadline_ms && now / 1000 >= o->deadline_ms) {
			ret =
			    fl_error_set(err, -ETIMEDOUT, NULL, "the experiment's timeout passed");
			break;
		}
		if (closed && k_stop == UINT64_MAX) /* what was due when the window closed */
			k_stop = (uint64_t)((double)(now - start) / interval_us) + 1;
		/* Send what is due; what finds every slot taken waits (or, past its timeout,
		 * counts as not sent). */
		for (;;) {
			due = start + (uint64_t)((double)k_next * interval_us);
			if (k_next >= k_stop || (end && due >= end) || due > now)
				break;
			if (r.n_free) {
				int e = send_one(&r, due, now, timeout_ms);

				if (e < 0) {
					ret = fl_error_set(err, e, NULL, "out of memory");
					goto out;
				}
			} else if (now - due >= (uint64_t)timeout_ms * 1000) {
				w->not_sent++;
				fl_slo_window_add_at(w, false, (uint64_t)timeout_ms * 1000, due);
				snprintf(w->last_err, sizeof(w->last_err),
					 "not sent within the timeout: %u requests in flight", cap);
			} else {
				wake = due + (uint64_t)timeout_ms * 1000; /* or when a slot frees */
				break;
			}
			k_next++;
		}
		if (!wake && k_next < k_stop && (!end || due < end))
			wake = due;
		if (r.n_free == cap && (k_next >= k_stop || (end && due >= end)))
			break; /* nothing in flight, nothing more to send */
		curl_multi_perform(r.m, &running);
		while ((msg = curl_multi_info_read(r.m, &left))) {
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
			fl_slo_window_add_at(w, ok, fl_now_mono_us() - rq->due_us, rq->due_us);
			if (closed)
				w->late++;
			if (!ok) {
				if (msg->data.result != CURLE_OK)
					snprintf(w->last_err, sizeof(w->last_err), "%.150s",
						 rq->errbuf[0]
						     ? rq->errbuf
						     : curl_easy_strerror(msg->data.result));
				else
					snprintf(w->last_err, sizeof(w->last_err),
						 "HTTP status %ld", status);
			}
			curl_multi_remove_handle(r.m, rq->h);
			rq->used = false;
			r.free_slots[r.n_free++] = (unsigned)(rq - r.reqs);
			if (each && each(arg, w))
				goto out;
		}
		if (r.n_free && k_next < k_stop && (!end || due < end) && due <= fl_now_mono_us())
			continue; /* due now, and a slot is free (perhaps one that just freed) */
		arm(&r, wake);
		if (stop_fd >= 0 && !closed) {
			i_stop = nw;
			wfd[nw++] = (struct curl_waitfd){.fd = stop_fd, .events = CURL_WAIT_POLLIN};
		}
		if (o->cancel_fd >= 0) {
			i_cancel = nw;
			wfd[nw++] =
			    (struct curl_waitfd){.fd = o->cancel_fd, .events = CURL_WAIT_POLLIN};
		}
		i_timer = nw;
		wfd[nw++] = (struct curl_waitfd){.fd = r.tfd, .events = CURL_WAIT_POLLIN};
		/* At most 100 ms: the experiment's deadline is checked at least that often. */
		curl_multi_poll(r.m, wfd, nw, 100, NULL);
		if (i_stop < nw && wfd[i_stop].revents)
			closed = true;
		if (i_cancel < nw && wfd[i_cancel].revents)
			cancel = true;
		if (wfd[i_timer].revents) {
			uint64_t ticks;

			if (read(r.tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
				r.armed_us = 0;
		}
	}
out:
	for (unsigned k = 0; r.reqs && k < cap; k++) {
		if (r.reqs[k].used) {
			w->in_flight++;
			curl_multi_remove_handle(r.m, r.reqs[k].h);
		}
		if (r.reqs[k].h)
			curl_easy_cleanup(r.reqs[k].h);
	}
	if (r.m)
		curl_multi_cleanup(r.m);
	if (r.tfd >= 0)
		close(r.tfd);
	curl_slist_free_all(r.hdrs);
	free(r.free_slots);
	free(r.reqs);
	return ret;
}
