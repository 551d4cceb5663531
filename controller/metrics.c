/*
 * The run's Prometheus endpoint (controller/metrics.h). The events update
 * counters under a lock; a scrape renders them under the same lock. The
 * listening socket is ours (bound before the run, so a taken port is said at
 * once), handed to libmicrohttpd, which serves it from its own thread.
 */
#include "controller/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "controller/probe_stats.h"
#include "controller/report_model.h"
#include "controller/runner.h"
#include "core/buf.h"
#include "core/duration.h"

#define M_FAULTS_MAX 256
#define M_KINDS_MAX  16
#define M_PROBES_MAX 32
#define M_OUT_MAX    (1024 * 1024)

static const char *const m_phases[] = {"starting", "before",	"method",
				       "after",	   "rollbacks", "done"};
static const double m_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
			      0.25,  0.5,    1,	    2.5,  5,	 10};

struct m_probe {
	const struct fl_activity *a;
	char name[128], mode[12];
	struct fl_probe_stats st;
};

struct fl_metrics {
	struct MHD_Daemon *d;
	int fd;
	char url[96];
	pthread_mutex_t lock;
	pthread_cond_t scraped; /* a scrape was answered */
	uint64_t scrape_at[2];	/* mono ms of the last two scrapes ([1] the last) */
	uint64_t verdict_at;	/* mono ms of the verdict, 0 before */
	char run_id[64], title[256];
	uint64_t start_wall;
	int phase;     /* index into m_phases */
	int exit_code; /* -1 until the verdict */
	bool deviated;
	struct {
		uint64_t until; /* mono ms; 0: until reverted */
		bool gone;
	} faults[M_FAULTS_MAX];
	size_t n_faults;
	struct {
		char kind[32];
		uint64_t n;
	} applied[M_KINDS_MAX];
	size_t n_kinds;
	uint64_t acts[FL_EVENTS_PHASES][2]; /* [phase][failed] */
	struct m_probe *probes;
	size_t n_probes;
};

/*
 * Grammar:
 *   addr := host ":" port | "[" ipv6 "]" ":" port | ":" port
 *   host := an IPv4 address in dotted form | "localhost" (127.0.0.1)
 *   port := 0..65535 (0: any free port)
 */
int fl_metrics_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
			  struct fl_error *err)
{
	char host[64];
	const char *colon, *ps;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (!addr || !*addr || strlen(addr) > 80)
		goto bad;
	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - addr - 1) >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, (size_t)(rb - addr - 1));
		host[rb - addr - 1] = '\0';
		ps = rb + 2;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host) ||
		    memchr(addr, ':', (size_t)(colon - addr)))
			goto bad;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		ps = colon + 1;
	}
	if (!*ps || *ps == '-' || *ps == '+')
		goto bad;
	errno = 0;
	port = strtoul(ps, &end, 10);
	if (errno || *end || port > 65535)
		goto bad;
	if (addr[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (!host[0])
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (!strcmp(host, "localhost"))
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		*len = sizeof(*s4);
	}
	return 0;
bad:
	return fl_error_set(err, -EINVAL, NULL,
			    "--metrics-listen '%.80s': expected HOST:PORT (an IPv4 address or "
			    "localhost), [IPv6]:PORT or :PORT",
			    addr ? addr : "");
}

/* A label value: \, " and newline escaped, invalid UTF-8 as U+FFFD. */
static int label(struct fl_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = 0;

	for (size_t i = 0; i < n && r == 0;) {
		size_t len = fl_rm_utf8_len(p + i, n - i);

		if (!len)
			r = fl_buf_add(b, "\xef\xbf\xbd", 3);
		else if (p[i] == '\\')
			r = fl_buf_add(b, "\\\\", 2);
		else if (p[i] == '"')
			r = fl_buf_add(b, "\\\"", 2);
		else if (p[i] == '\n')
			r = fl_buf_add(b, "\\n", 2);
		else
			r = fl_buf_add(b, p + i, len);
		i += len ? len : 1;
	}
	return r;
}

static int probe_labels(struct fl_buf *b, const struct m_probe *p)
{
	int r = fl_buf_printf(b, "probe=\"");

	r |= label(b, p->name);
	r |= fl_buf_printf(b, "\",mode=\"");
	r |= label(b, p->mode);
	r |= fl_buf_printf(b, "\"");
	return r;
}

int fl_metrics_render(struct fl_metrics *m, struct fl_buf *b)
{
	uint64_t now = fl_now_mono_ms(), live = 0;
	int r = 0;

	pthread_mutex_lock(&m->lock);
	r |= fl_buf_printf(b, "# HELP faultline_run_info The faultline run behind these metrics "
			      "(always 1).\n# TYPE faultline_run_info gauge\nfaultline_run_info{"
			      "run_id=\"");
	r |= label(b, m->run_id);
	r |= fl_buf_printf(b, "\",experiment=\"");
	r |= label(b, m->title);
	r |= fl_buf_printf(b, "\",version=\"" FL_VERSION "\"} 1\n");
	r |= fl_buf_printf(b,
			   "# HELP faultline_run_start_time_seconds When the run started "
			   "(Unix time).\n# TYPE faultline_run_start_time_seconds gauge\n"
			   "faultline_run_start_time_seconds %.3f\n",
			   (double)m->start_wall / 1000.0);
	r |= fl_buf_printf(b, "# HELP faultline_run_phase The phase the run is in: 1 for the "
			      "current one.\n# TYPE faultline_run_phase gauge\n");
	for (int i = 0; i < (int)FL_ARRAY_SIZE(m_phases); i++)
		r |= fl_buf_printf(b, "faultline_run_phase{phase=\"%s\"} %d\n", m_phases[i],
				   i == m->phase);
	r |= fl_buf_printf(b,
			   "# HELP faultline_run_exit_code The exit code the run stands for, "
			   "-1 until it ended.\n# TYPE faultline_run_exit_code gauge\n"
			   "faultline_run_exit_code %d\n",
			   m->exit_code);
	r |= fl_buf_printf(b,
			   "# HELP faultline_run_deviated 1 when the steady state deviated.\n"
			   "# TYPE faultline_run_deviated gauge\nfaultline_run_deviated %d\n",
			   m->deviated);
	for (size_t i = 0; i < m->n_faults; i++)
		live += !m->faults[i].gone && (!m->faults[i].until || now < m->faults[i].until);
	r |= fl_buf_printf(b,
			   "# HELP faultline_faults_live Faults of this run live now "
			   "(applied; lease not over; not reverted).\n"
			   "# TYPE faultline_faults_live gauge\nfaultline_faults_live %llu\n",
			   (unsigned long long)live);
	r |= fl_buf_printf(b, "# HELP faultline_faults_applied_total Faults of this run "
			      "applied, by kind.\n# TYPE faultline_faults_applied_total counter\n");
	for (size_t i = 0; i < m->n_kinds; i++) {
		r |= fl_buf_printf(b, "faultline_faults_applied_total{kind=\"");
		r |= label(b, m->applied[i].kind);
		r |= fl_buf_printf(b, "\"} %llu\n", (unsigned long long)m->applied[i].n);
	}
	r |= fl_buf_printf(b, "# HELP faultline_activities_total Activities that ended, by "
			      "phase and result.\n# TYPE faultline_activities_total counter\n");
	for (int p = 0; p < FL_EVENTS_PHASES; p++)
		for (int f = 0; f < 2; f++)
			r |= fl_buf_printf(b,
					   "faultline_activities_total{phase=\"%s\",result=\"%s\"} "
					   "%llu\n",
					   m_phases[p + 1], f ? "failed" : "succeeded",
					   (unsigned long long)m->acts[p][f]);
	if (m->n_probes) {
		r |= fl_buf_printf(b, "# HELP faultline_probe_samples_total Samples of the probes "
				      "sampled during the method, by result.\n"
				      "# TYPE faultline_probe_samples_total counter\n");
		for (size_t i = 0; i < m->n_probes; i++)
			for (int ok = 1; ok >= 0; ok--) {
				r |= fl_buf_printf(b, "faultline_probe_samples_total{");
				r |= probe_labels(b, &m->probes[i]);
				r |= fl_buf_printf(
				    b, ",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
				    (unsigned long long)(ok ? m->probes[i].st.ok
							    : m->probes[i].st.n -
								  m->probes[i].st.ok));
			}
		r |= fl_buf_printf(b, "# HELP faultline_probe_success_ratio Share of the window's "
				      "samples so far that succeeded.\n"
				      "# TYPE faultline_probe_success_ratio gauge\n");
		for (size_t i = 0; i < m->n_probes; i++) {
			const struct fl_probe_stats *s = &m->probes[i].st;

			r |= fl_buf_printf(b, "faultline_probe_success_ratio{");
			r |= probe_labels(b, &m->probes[i]);
			r |=
			    fl_buf_printf(b, "} %.6g\n", s->n ? (double)s->ok / (double)s->n : 0.0);
		}
		r |= fl_buf_printf(b,
				   "# HELP faultline_probe_latency_seconds Latency of the "
				   "samples.\n# TYPE faultline_probe_latency_seconds histogram\n");
		for (size_t i = 0; i < m->n_probes; i++) {
			const struct fl_probe_stats *s = &m->probes[i].st;

			for (size_t k = 0; k < FL_ARRAY_SIZE(m_le); k++) {
				r |= fl_buf_printf(b, "faultline_probe_latency_seconds_bucket{");
				r |= probe_labels(b, &m->probes[i]);
				r |= fl_buf_printf(b, ",le=\"%g\"} %llu\n", m_le[k],
						   (unsigned long long)fl_probe_stats_count_le(
						       s, (uint64_t)llround(m_le[k] * 1e6)));
			}
			r |= fl_buf_printf(b, "faultline_probe_latency_seconds_bucket{");
			r |= probe_labels(b, &m->probes[i]);
			r |= fl_buf_printf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)s->n);
			r |= fl_buf_printf(b, "faultline_probe_latency_seconds_sum{");
			r |= probe_labels(b, &m->probes[i]);
			r |= fl_buf_printf(b, "} %.6f\n", s->sum_s);
			r |= fl_buf_printf(b, "faultline_probe_latency_seconds_count{");
			r |= probe_labels(b, &m->probes[i]);
			r |= fl_buf_printf(b, "} %llu\n", (unsigned long long)s->n);
		}
		r |= fl_buf_printf(b, "# HELP faultline_probe_latency_quantile_seconds Latency "
				      "quantiles of the window so far (within 3%%).\n"
				      "# TYPE faultline_probe_latency_quantile_seconds gauge\n");
		for (size_t i = 0; i < m->n_probes; i++) {
			static const double qs[] = {0.5, 0.95, 0.99};

			for (size_t k = 0; k < FL_ARRAY_SIZE(qs); k++) {
				double v = fl_probe_stats_quantile_ms(&m->probes[i].st, qs[k]);

				if (isnan(v))
					continue;
				r |= fl_buf_printf(b, "faultline_probe_latency_quantile_seconds{");
				r |= probe_labels(b, &m->probes[i]);
				r |=
				    fl_buf_printf(b, ",quantile=\"%g\"} %.6g\n", qs[k], v / 1000.0);
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r ? -ENOMEM : 0;
}

static enum MHD_Result m_reply(struct MHD_Connection *c, unsigned status, const char *type,
			       char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result m_handler(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "GET or HEAD only\n";
	static char root[] = "faultline run metrics: /metrics\n";
	struct fl_metrics *m = cls;
	struct fl_buf b;
	uint64_t now;
	char *text;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return m_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			       strlen(not_allowed), MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return m_reply(c, MHD_HTTP_OK, "text/plain", root, strlen(root),
			       MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return m_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found),
			       MHD_RESPMEM_PERSISTENT);
	now = fl_now_mono_ms(); /* before the render takes the lock: see fl_metrics_linger */
	fl_buf_init(&b, M_OUT_MAX);
	if (fl_metrics_render(m, &b) < 0) {
		fl_buf_done(&b);
		return MHD_NO;
	}
	text = fl_buf_steal(&b);
	/* When these numbers were taken: a scrape counts once its answer is sent (m_done). */
	if (!*con_cls) {
		uint64_t *at = malloc(sizeof(*at));

		if (at) {
			*at = now;
			*con_cls = at;
		}
	}
	return m_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
		       text ? strlen(text) : 0, MHD_RESPMEM_MUST_FREE);
}

/*
 * A request is over. A /metrics answer that was sent whole is a scrape: the
 * lingering at the end (fl_metrics_linger) waits for one that the verdict is
 * in, so it must count only once the scraper has it, not when it was queued
 * (stopping the server right after queueing cut the last answer off).
 */
static void m_done(void *cls, struct MHD_Connection *c, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	struct fl_metrics *m = cls;
	uint64_t *at = *con_cls;

	(void)c;
	*con_cls = NULL;
	if (!at)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		pthread_mutex_lock(&m->lock);
		m->scrape_at[0] = m->scrape_at[1];
		m->scrape_at[1] = *at;
		pthread_cond_broadcast(&m->scraped);
		pthread_mutex_unlock(&m->lock);
	}
	free(at);
}

int fl_metrics_new(const char *addr, struct fl_metrics **out, struct fl_error *err)
{
	struct sockaddr_storage ss, got;
	socklen_t len, glen = sizeof(got);
	struct fl_metrics *m;
	char host[INET6_ADDRSTRLEN] = "";
	int fd, one = 1, r;
	unsigned port;

	*out = NULL;
	r = fl_metrics_addr_parse(addr, &ss, &len, err);
	if (r < 0)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "--metrics-listen %s: %s", addr,
				    strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&got, &glen) < 0) {
		r = -errno;
		close(fd);
		return fl_error_set(err, r, NULL, "--metrics-listen %s: %s", addr, strerror(-r));
	}
	m = calloc(1, sizeof(*m));
	if (m)
		m->probes = calloc(M_PROBES_MAX, sizeof(*m->probes));
	if (!m || !m->probes) {
		if (m)
			free(m->probes);
		free(m);
		close(fd);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	m->fd = fd;
	m->exit_code = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->scraped, NULL);
	if (got.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
		snprintf(m->url, sizeof(m->url), "http://[%s]:%u/metrics", host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&got)->sin_port);
		snprintf(m->url, sizeof(m->url), "http://%s:%u/metrics", host, port);
	}
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				m_handler, m, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, 64, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_NOTIFY_COMPLETED, m_done, m, MHD_OPTION_END);
	if (!m->d) {
		fl_metrics_free(m); /* (closes fd: MHD did not take it) */
		return fl_error_set(err, -EIO, NULL,
				    "--metrics-listen %s: the HTTP server did not "
				    "start",
				    addr);
	}
	m->fd = -1; /* libmicrohttpd owns and closes the listening socket now */
	*out = m;
	return 0;
}

const char *fl_metrics_url(const struct fl_metrics *m)
{
	return m ? m->url : "";
}

static struct m_probe *m_probe_slot(struct fl_metrics *m, const struct fl_activity *a,
				    const char *mode)
{
	for (size_t i = 0; i < m->n_probes; i++)
		if (m->probes[i].a == a && !strcmp(m->probes[i].mode, mode ? mode : ""))
			return &m->probes[i];
	if (m->n_probes == M_PROBES_MAX)
		return NULL;
	m->probes[m->n_probes].a = a;
	snprintf(m->probes[m->n_probes].name, sizeof(m->probes[0].name), "%s",
		 a && a->name ? a->name : "?");
	snprintf(m->probes[m->n_probes].mode, sizeof(m->probes[0].mode), "%s", mode ? mode : "");
	fl_probe_stats_init(&m->probes[m->n_probes].st);
	return &m->probes[m->n_probes++];
}

void fl_metrics_event(void *arg, const struct fl_event *ev)
{
	struct fl_metrics *m = arg;
	struct m_probe *p;
	const char *kind;
	double ec;
	int ph;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	switch (ev->type) {
	case FL_EVENT_RUN_START:
		snprintf(m->run_id, sizeof(m->run_id), "%s", ev->run_id ? ev->run_id : "");
		snprintf(m->title, sizeof(m->title), "%s", ev->text ? ev->text : "");
		m->start_wall = ev->wall_ms;
		break;
	case FL_EVENT_PHASE:
		ph = fl_events_phase_index(ev->text);
		if (ph >= 0)
			m->phase = ph + 1;
		break;
	case FL_EVENT_ACTIVITY_END:
		ph = m->phase - 1;
		if (ph >= 0 && ph < FL_EVENTS_PHASES)
			m->acts[ph][strcmp(fl_rm_str(ev->json, "status", ""), "succeeded") != 0]++;
		break;
	case FL_EVENT_FAULT_APPLIED:
		if (m->n_faults < M_FAULTS_MAX) {
			m->faults[m->n_faults].until = ev->ms ? ev->mono_ms + ev->ms : 0;
			m->faults[m->n_faults].gone = false;
			m->n_faults++;
		}
		kind = fl_rm_str(ev->json, "kind", ev->a ? ev->a->provider.kind : NULL);
		kind = kind ? kind : "?";
		for (size_t i = 0; i <= m->n_kinds && i < M_KINDS_MAX; i++) {
			if (i == m->n_kinds) {
				snprintf(m->applied[i].kind, sizeof(m->applied[i].kind), "%s",
					 kind);
				m->applied[i].n = 0;
				m->n_kinds++;
			}
			if (!strcmp(m->applied[i].kind, kind)) {
				m->applied[i].n++;
				break;
			}
		}
		break;
	case FL_EVENT_FAULTS_REVERTED:
		for (size_t i = 0; i < m->n_faults; i++)
			m->faults[i].gone = true;
		break;
	case FL_EVENT_PROBE_SAMPLE:
		p = m_probe_slot(m, ev->a, ev->text);
		if (p)
			fl_probe_stats_add(&p->st, ev->ok, ev->latency_us);
		break;
	case FL_EVENT_VERDICT:
		m->phase = (int)FL_ARRAY_SIZE(m_phases) - 1;
		ec = fl_rm_num(ev->json, "exit_code");
		m->exit_code = ec >= 0 && ec <= 255 ? (int)ec : fl_runner_exit_code(ev->json);
		m->deviated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev->json, "deviated"));
		/* Taken under the lock: a scrape timed before it rendered the numbers before. */
		m->verdict_at = fl_now_mono_ms();
		for (size_t i = 0; i < m->n_faults; i++)
			m->faults[i].gone = true;
		break;
	case FL_EVENT_ACTIVITY_START:
	case FL_EVENT_PAUSE:
	case FL_EVENT_PAUSE_END:
	case FL_EVENT__MAX:
		break;
	}
	pthread_mutex_unlock(&m->lock);
}

void fl_metrics_linger(struct fl_metrics *m)
{
	uint64_t until, every;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	every = m->scrape_at[0] ? m->scrape_at[1] - m->scrape_at[0] : 15000;
	until = m->verdict_at + (2 * every + 1000 < FL_METRICS_LINGER_MAX_MS
				     ? 2 * every + 1000
				     : FL_METRICS_LINGER_MAX_MS);
	/* No scraper seen, or the verdict already scraped: nothing to wait for. */
	while (m->verdict_at && m->scrape_at[1] && m->scrape_at[1] <= m->verdict_at &&
	       fl_now_mono_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->scraped, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
}

void fl_metrics_free(struct fl_metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	if (m->fd >= 0)
		close(m->fd);
	pthread_cond_destroy(&m->scraped);
	pthread_mutex_destroy(&m->lock);
	free(m->probes);
	free(m);
}
