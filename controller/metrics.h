/*
 * The run as Prometheus metrics (a run-events observer, controller/events.h):
 * GET /metrics on --metrics-listen ADDR (libmicrohttpd, its own thread) for
 * as long as the run goes on: the run's phase and, at the end, its exit
 * code; the faults live and applied; each sampled probe's samples, success
 * ratio and latency (a histogram, and p50/p95/p99 estimates). Text format
 * 0.0.4. Read-only and without authentication: listen on loopback or a
 * network you trust.
 *
 * So that the verdict is scraped at least once, the endpoint outlives the
 * run until a scrape has seen it: at most twice the interval between the
 * last two scrapes plus a second (FL_METRICS_LINGER_MAX_MS at most); at once
 * when nothing scraped it.
 */
#ifndef FL_CONTROLLER_METRICS_H
#define FL_CONTROLLER_METRICS_H

#include <sys/socket.h>

#include "controller/events.h"
#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_METRICS_LINGER_MAX_MS 60000

struct fl_metrics;

/*
 * Parse ADDR: "HOST:PORT" with HOST an IPv4 address or "localhost",
 * "[IPv6]:PORT", or ":PORT" (every interface). -EINVAL with err naming the flag.
 */
int fl_metrics_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
			  struct fl_error *err) FL_WUR;
/* Bind and serve; -errno (err says why: address in use...) when it cannot. */
int fl_metrics_new(const char *addr, struct fl_metrics **out, struct fl_error *err) FL_WUR;
/* "http://127.0.0.1:9464/metrics": where it listens (the port it got for port 0). */
const char *fl_metrics_url(const struct fl_metrics *m);
/* The observer (arg: the fl_metrics). */
void fl_metrics_event(void *arg, const struct fl_event *ev);
/* The text a scrape gets now, in b; -ENOMEM. */
int fl_metrics_render(struct fl_metrics *m, struct fl_buf *b) FL_WUR;
/* After the verdict: wait until a scrape has seen it (bounded, see above). */
void fl_metrics_linger(struct fl_metrics *m);
/* Stop listening and free; NULL is fine. */
void fl_metrics_free(struct fl_metrics *m);

#endif
