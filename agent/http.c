#include "agent/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "agent/log.h"
#include "agent/workers.h"
#include "core/api.h"
#include "core/buf.h"
#include "core/duration.h"

#define CLIENTS_MAX	 256
#define DISCARD_MAX	 (4 * 1024 * 1024)
#define LAT_BUCKETS	 12
#define URI_MAX		 8192 /* a longer request target is refused (414) */
#define API_WORKERS_MAX	 64   /* fault operations running at once; more wait their turn */
#define API_WORKERS_KEEP 4

/*
 * Connections. Connecting needs no token, and on loopback every local user
 * has all of 127.0.0.0/8, so no per-address limit can keep one user from
 * filling the slots. Instead: CONN_MAX connections are served at once; when
 * one more arrives, the oldest connection that has not yet authenticated a
 * request (and is not in the middle of one) is closed to make room, and any
 * such connection older than HEADER_TIMEOUT_S is closed then as well. So
 * half-written requests can delay a new client by nothing: it is the newest.
 * A connection that authenticated a request is never evicted; it is closed
 * after IDLE_TIMEOUT_S of silence. libmicrohttpd's own limit is higher by
 * CONN_SLACK so that evicted connections have time to go.
 */
#define CONN_MAX	 256
#define CONN_SLACK	 64
#define HEADER_TIMEOUT_S 10
#define IDLE_TIMEOUT_S	 30

/* Unauthenticated noise (401s, libmicrohttpd's complaints) is logged at most this often. */
#define NOISE_PER_S 5.0
#define NOISE_BURST 20.0
#define LOG_URL_MAX 128

static const double lat_bounds[LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					       0.01,   0.025,	0.05,	0.1,   0.5,    1.0};

struct client_bucket {
	char key[INET6_ADDRSTRLEN];
	double tokens;
	uint64_t last_us;
};

/* One connection (socket context), in fl_http's list while it is open. */
struct conn {
	int fd;
	uint64_t started_us;
	bool authed;  /* one of its requests passed the token check */
	bool busy;    /* a request of it is being handled */
	bool evicted; /* shut down to make room */
	struct conn *prev, *next;
};

struct fl_http {
	struct MHD_Daemon *d;
	int fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *token;
	size_t token_len;
	bool tls;
	bool client_certs;
	const struct fl_agent_config *cfg;
	struct fl_agent *agent;
	char hostname[256];
	char bound[300];
	const char *tls_cert, *tls_key, *tls_client_ca; /* borrowed until fl_http_serve */
	cJSON *caps;
	struct fl_workers *workers; /* fault operations (POST, DELETE) run there */
	/*
	 * libmicrohttpd's one thread serves every connection; fault operations
	 * run on workers (a request waiting on a slow fault holds up nobody
	 * else). What follows is shared with them: under mu.
	 */
	pthread_mutex_t mu;
	pthread_cond_t idle; /* inflight dropped to 0 */
	struct conn *conns;
	size_t nconns;
	unsigned inflight; /* requests being handled */
	struct client_bucket clients[CLIENTS_MAX];
	unsigned long long lat_counts[LAT_BUCKETS + 1];
	double lat_sum;
	unsigned long long requests, rejected_auth, rejected_rate, rejected_hidden, evicted;
	double noise_tokens;
	uint64_t noise_last_us;
	unsigned long long noise_suppressed;
};

/* An answer made away from the connection (on a worker), queued on it later. */
struct answer {
	unsigned status;
	char *body; /* JSON text (owned); NULL: out of memory */
	bool text;  /* Prometheus text instead */
};

struct req {
	uint64_t start_us;
	struct fl_buf body;
	size_t seen;
	bool too_big;
	bool answered;
	bool started; /* the access handler has seen it */
	bool counted; /* in h->inflight */
	struct conn *conn;
	char *uri; /* the request target as sent (path and query, not decoded), or NULL */
	size_t urilen;
	char *path; /* its path, decoded (decode_path) */
	char method[16];
	/* A POST or DELETE runs on a worker (job_main) while the connection is suspended. */
	struct fl_http *h;
	struct MHD_Connection *c;
	bool job;      /* handed to a worker, answer not queued yet */
	bool job_done; /* the worker is done (under h->mu) */
	struct answer ans;
};

/* Compare every byte whatever the first difference, so timing says nothing. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = (unsigned char)(alen != blen);
	size_t n = alen > blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;

		diff |= x ^ y;
	}
	return diff == 0;
}

/*
 * May one more unauthenticated event be logged? A token bucket, under h->mu;
 * *suppressed gets how many were dropped since the last one that was logged.
 */
static bool noise_ok(struct fl_http *h, unsigned long long *suppressed)
{
	uint64_t now = fl_now_mono_us();

	h->noise_tokens += (double)(now - h->noise_last_us) / 1e6 * NOISE_PER_S;
	if (h->noise_tokens > NOISE_BURST)
		h->noise_tokens = NOISE_BURST;
	h->noise_last_us = now;
	if (h->noise_tokens < 1) {
		h->noise_suppressed++;
		return false;
	}
	h->noise_tokens -= 1;
	*suppressed = h->noise_suppressed;
	h->noise_suppressed = 0;
	return true;
}

/* A rate-limited warning about something an unauthenticated client did. */
static void log_noise(struct fl_http *h, const char *msg, const char *k1, const char *v1,
		      const char *k2, const char *v2, const char *k3, const char *v3)
{
	unsigned long long dropped = 0;
	char n[24];
	bool ok;

	pthread_mutex_lock(&h->mu);
	ok = noise_ok(h, &dropped);
	pthread_mutex_unlock(&h->mu);
	if (!ok)
		return;
	snprintf(n, sizeof(n), "%llu", dropped);
	if (k2)
		fl_log(FL_LOG_WARN, msg, k1, v1, k2, v2, k3, v3, "suppressed_before", n, NULL);
	else
		fl_log(FL_LOG_WARN, msg, k1, v1, "suppressed_before", n, NULL);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
				 const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_UNAUTHORIZED) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"faultline-agent\"");
		/* A client without the token keeps no slot. */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	}
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static void ans_json(struct answer *a, unsigned status, cJSON *o)
{
	a->status = status;
	a->text = false;
	a->body = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
}

static void ans_error(struct answer *a, unsigned status, const char *code, const char *path,
		      const char *fmt, ...) FL_PRINTF(5, 6);
static void ans_error(struct answer *a, unsigned status, const char *code, const char *path,
		      const char *fmt, ...)
{
	char msg[FL_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->status = status;
	a->text = false;
	a->body = fl_api_error_json(code, msg, path);
}

static void ans_fl_error(struct answer *a, const struct fl_error *err)
{
	const char *code;
	int st = fl_agent_http_status(err->code, &code);

	ans_error(a, (unsigned)st, code, err->path[0] ? err->path : NULL, "%s", err->msg);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct answer *a)
{
	enum MHD_Result r;

	if (!a->body)
		return send_text(c, 500, "application/json",
				 "{\"error\":{\"code\":\"internal\",\"message\":\"out of "
				 "memory\",\"path\":null}}");
	r = send_text(c, a->status, a->text ? "text/plain; version=0.0.4" : "application/json",
		      a->body);
	free(a->body);
	a->body = NULL;
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *path, const char *fmt, ...) FL_PRINTF(5, 6);
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *path, const char *fmt, ...)
{
	char msg[FL_ERROR_MSG_MAX];
	struct answer a = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ans_error(&a, status, code, path, "%s", msg);
	return send_answer(c, &a);
}

static enum MHD_Result send_fl_error(struct MHD_Connection *c, const struct fl_error *err)
{
	struct answer a = {0};

	ans_fl_error(&a, err);
	return send_answer(c, &a);
}

static void client_key(struct MHD_Connection *c, char *key, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(key, len, "unix");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, key,
			  (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, key,
			  (socklen_t)len);
}

/* Token bucket per client address; the least recently seen client is evicted. */
static bool rate_ok(struct fl_http *h, const char *key)
{
	uint64_t now = fl_now_mono_us();
	struct client_bucket *b = NULL, *oldest = &h->clients[0];
	bool ok;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < CLIENTS_MAX; i++) {
		if (h->clients[i].key[0] && !strcmp(h->clients[i].key, key)) {
			b = &h->clients[i];
			break;
		}
		if (h->clients[i].last_us < oldest->last_us)
			oldest = &h->clients[i];
	}
	if (!b) {
		b = oldest;
		snprintf(b->key, sizeof(b->key), "%s", key);
		b->tokens = h->cfg->rate_burst;
		b->last_us = now;
	}
	b->tokens += (double)(now - b->last_us) / 1e6 * h->cfg->rate_per_second;
	if (b->tokens > h->cfg->rate_burst)
		b->tokens = h->cfg->rate_burst;
	b->last_us = now;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	else
		h->rejected_rate++;
	pthread_mutex_unlock(&h->mu);
	return ok;
}

/* Under h->mu: close c's socket under it (its thread sees EOF and ends the connection). */
static void evict_locked(struct fl_http *h, struct conn *c)
{
	c->evicted = true;
	h->evicted++;
	/*
	 * Safe: libmicrohttpd tells us a connection closed (and we unlink it,
	 * under mu) before it closes the socket, so the fd is still this one.
	 */
	shutdown(c->fd, SHUT_RDWR);
}

/*
 * A new connection: make room if needed (see CONN_MAX), give it the short
 * timeout of a client that has not authenticated yet. Called on
 * libmicrohttpd's thread; CLOSED comes before the socket is closed.
 */
static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct fl_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *k = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!k)
			return;
		pthread_mutex_lock(&h->mu);
		if (k->prev)
			k->prev->next = k->next;
		else
			h->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		h->nconns--;
		pthread_mutex_unlock(&h->mu);
		free(k);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	k = calloc(1, sizeof(*k));
	if (k && ci) {
		uint64_t now = fl_now_mono_us();

		k->fd = ci->connect_fd;
		k->started_us = now;
		pthread_mutex_lock(&h->mu);
		k->next = h->conns;
		if (h->conns)
			h->conns->prev = k;
		h->conns = k;
		h->nconns++;
		if (h->nconns > CONN_MAX) {
			struct conn *victim = NULL;
			size_t live = 0;

			for (struct conn *p = h->conns; p; p = p->next) {
				if (p->authed || p->busy || p->evicted || p == k) {
					live += !p->evicted;
					continue;
				}
				/* Past the header deadline: closed whatever else happens. */
				if (now - p->started_us > HEADER_TIMEOUT_S * 1000000ULL) {
					evict_locked(h, p);
					continue;
				}
				live++;
				if (!victim || p->started_us < victim->started_us)
					victim = p;
			}
			if (live + 1 > CONN_MAX)
				evict_locked(h, victim ? victim : k);
		}
		pthread_mutex_unlock(&h->mu);
		*socket_context = k;
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned)HEADER_TIMEOUT_S);
	} else {
		free(k);
	}
	/*
	 * With a client CA, a client without a certificate that verifies
	 * against it is refused in the TLS handshake, before any HTTP (health
	 * included): GnuTLS is told to require a certificate and to verify it as
	 * it arrives. MHD creates the session before this notification and
	 * shakes hands after it.
	 */
	if (h->client_certs) {
		gnutls_session_t s;

		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (!ci || !ci->tls_session)
			return; /* client_cert_ok() still refuses every request but health */
		s = (gnutls_session_t)ci->tls_session;
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_cert(s, NULL, 0);
	}
}

static bool client_cert_ok(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	unsigned status = 0;
	unsigned n = 0;

	if (!ci || !ci->tls_session)
		return false;
	s = (gnutls_session_t)ci->tls_session;
	if (!gnutls_certificate_get_peers(s, &n) || n == 0)
		return false;
	if (gnutls_certificate_verify_peers2(s, &status) < 0)
		return false;
	return status == 0;
}

/* "Authorization: Bearer TOKEN", exactly (the scheme's case aside). */
static bool authorized(struct fl_http *h, struct MHD_Connection *c)
{
	const char *v = NULL;
	size_t n = 0;

	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &v,
					  &n) != MHD_YES ||
	    !v || n < 7 || strncasecmp(v, "Bearer ", 7))
		return false;
	v += 7;
	n -= 7;
	while (n && *v == ' ')
		v++, n--;
	return token_equal(v, n, h->token, h->token_len);
}

struct hdr_sum {
	size_t bytes;
};

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	struct hdr_sum *s = cls;

	(void)kind;
	(void)key;
	(void)value;
	s->bytes += key_size + 2 + value_size + 2; /* "Key: value\r\n" */
	return MHD_YES;
}

/*
 * Does the request's header block hold bytes that the headers we are shown
 * do not? libmicrohttpd before 1.0 ends a header's value at a NUL byte
 * without a word, so "Bearer TOKEN\0garbage" would read as "Bearer TOKEN".
 * The header block's size is known: it may not exceed the request line and
 * the headers we see written the usual way, "Key: value" and CRLF (a
 * client that writes less, "Key:value" or bare LFs, stays below).
 */
static bool hidden_header_bytes(struct MHD_Connection *c, const char *method, const char *version,
				const struct req *rq)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	struct hdr_sum s = {0};

	if (!ci || !rq->uri)
		return false;
	s.bytes = strlen(method) + 1 + rq->urilen + 1 + strlen(version) + 2 + 2;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, sum_header, &s);
	return ci->header_size > s.bytes;
}

/* The request target, kept as sent: we route on our own strict reading of it. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct fl_http *h = cls;
	struct req *rq = calloc(1, sizeof(*rq));

	(void)c;
	if (!rq)
		return NULL;
	rq->start_us = fl_now_mono_us();
	fl_buf_init(&rq->body, h->cfg->max_body_bytes);
	rq->urilen = strlen(uri);
	if (rq->urilen <= URI_MAX)
		rq->uri = strdup(uri);
	return rq;
}

/*
 * The path of a request target, %-decoded into out (a C string). Our paths
 * are /v1/faults/ID and friends: after decoding, only visible ASCII may be
 * left -- a NUL ("/v1/faults/ok%00/../x" must not read as "ok"), a control
 * character, a space or a byte beyond ASCII is -EINVAL.
 */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode_path(const char *p, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (c == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(p[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c <= 0x20 || c >= 0x7f)
			return -EINVAL;
		if (k + 1 >= outlen)
			return -E2BIG;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

static void do_health(struct fl_http *h, struct answer *out)
{
	cJSON *o = cJSON_Duplicate(h->caps, true);

	if (o) {
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddStringToObject(o, "version", FL_VERSION);
		cJSON_AddStringToObject(o, "hostname", h->hostname);
		cJSON_AddNumberToObject(o, "pid", getpid());
		cJSON_AddBoolToObject(o, "tls", h->tls);
	}
	ans_json(out, 200, o);
}

static void do_metrics(struct fl_http *h, struct answer *out)
{
	struct fl_buf b;
	unsigned long long cum = 0, lat[LAT_BUCKETS + 1], requests, auth, rate, hidden, evicted;
	double sum;
	size_t nconns;
	int rc;

	pthread_mutex_lock(&h->mu);
	memcpy(lat, h->lat_counts, sizeof(lat));
	sum = h->lat_sum;
	requests = h->requests;
	auth = h->rejected_auth;
	rate = h->rejected_rate;
	hidden = h->rejected_hidden;
	evicted = h->evicted;
	nconns = h->nconns;
	pthread_mutex_unlock(&h->mu);
	fl_buf_init(&b, 64 * 1024);
	rc = fl_agent_metrics(h->agent, &b);
	if (rc == 0)
		rc = fl_buf_printf(
		    &b,
		    "# HELP faultline_agent_http_requests_total Requests served.\n"
		    "# TYPE faultline_agent_http_requests_total counter\n"
		    "faultline_agent_http_requests_total %llu\n"
		    "# HELP faultline_agent_http_rejected_total Requests refused "
		    "before any work, by reason.\n"
		    "# TYPE faultline_agent_http_rejected_total counter\n"
		    "faultline_agent_http_rejected_total{reason=\"auth\"} %llu\n"
		    "faultline_agent_http_rejected_total{reason=\"rate\"} %llu\n"
		    "faultline_agent_http_rejected_total{reason=\"hidden_bytes\"} %llu\n"
		    "# HELP faultline_agent_http_connections Connections open.\n"
		    "# TYPE faultline_agent_http_connections gauge\n"
		    "faultline_agent_http_connections %zu\n"
		    "# HELP faultline_agent_http_evicted_total Connections closed to make "
		    "room before they authenticated a request.\n"
		    "# TYPE faultline_agent_http_evicted_total counter\n"
		    "faultline_agent_http_evicted_total %llu\n"
		    "# HELP faultline_agent_api_latency_seconds API request latency.\n"
		    "# TYPE faultline_agent_api_latency_seconds histogram\n",
		    requests, auth, rate, hidden, nconns, evicted);
	for (int i = 0; rc == 0 && i < LAT_BUCKETS; i++) {
		cum += lat[i];
		rc = fl_buf_printf(&b,
				   "faultline_agent_api_latency_seconds_bucket{le=\"%g\"} %llu\n",
				   lat_bounds[i], cum);
	}
	cum += lat[LAT_BUCKETS];
	if (rc == 0)
		rc = fl_buf_printf(&b,
				   "faultline_agent_api_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
				   "faultline_agent_api_latency_seconds_sum %.6f\n"
				   "faultline_agent_api_latency_seconds_count %llu\n",
				   cum, sum, cum);
	if (rc < 0) {
		ans_error(out, 500, "internal", NULL, "metrics: %s", strerror(-rc));
		fl_buf_done(&b);
		return;
	}
	out->status = 200;
	out->body = strdup(b.data ? b.data : "");
	out->text = true;
	fl_buf_done(&b);
}

/* POST /v1/faults[?dry_run=1|true|0|false]: apply, or only parse, plan and describe. */
static void do_apply(struct fl_http *h, struct req *rq, const struct fl_api_query *q,
		     struct answer *out)
{
	const char *dry = fl_api_query_get(q, "dry_run");
	struct fl_api_fault_req fr;
	struct fl_error err;
	cJSON *resp = NULL;
	bool is_dry = false;
	int r;

	fl_error_init(&err);
	if (dry) {
		if (!strcmp(dry, "1") || !strcmp(dry, "true"))
			is_dry = true;
		else if (strcmp(dry, "0") && strcmp(dry, "false"))
			return ans_error(out, 400, "invalid_request", "?dry_run",
					 "dry_run is 1, true, 0 or false");
	}
	r = fl_api_fault_req_parse(rq->body.data, rq->body.len, &fr, &err);
	if (r < 0)
		return ans_fl_error(out, &err);
	if (is_dry)
		r = fl_agent_dry_run(h->agent, &fr, &resp, &err);
	else
		r = fl_agent_apply(h->agent, &fr, &resp, &err);
	fl_api_fault_req_done(&fr);
	if (r < 0)
		return ans_fl_error(out, &err);
	ans_json(out, is_dry ? 200 : 201, resp);
}

/* DELETE /v1/faults?experiment=X|all=true: 200 with the lists, or 500 with them and the error. */
static void do_revert_match(struct fl_http *h, const struct fl_api_query *q, struct answer *out)
{
	const char *exp = fl_api_query_get(q, "experiment");
	const char *all = fl_api_query_get(q, "all");
	struct fl_error err;
	cJSON *o = NULL, *e;
	const char *code;
	int r, st;

	fl_error_init(&err);
	if ((exp && all) || (!exp && !all))
		return ans_error(out, 400, "invalid_request", NULL,
				 "give ?experiment=ID or ?all=true");
	if (all && strcmp(all, "true"))
		return ans_error(out, 400, "invalid_request", "?all", "all is true");
	if (exp && !fl_api_id_valid(exp, FL_API_EXPERIMENT_MAX))
		return ans_error(out, 400, "invalid_request", "$.experiment",
				 "not a valid experiment id");
	r = fl_agent_revert_match(h->agent, exp, &o, &err);
	if (r == 0)
		return ans_json(out, 200, o);
	/* Which faults went and which did not is the answer too. */
	st = fl_agent_http_status(err.code, &code);
	e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
	if (!e) {
		cJSON_Delete(o);
		return ans_fl_error(out, &err);
	}
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", err.msg);
	cJSON_AddNullToObject(e, "path");
	ans_json(out, (unsigned)st, o);
}

/* Routes under /v1/faults/{id}[/renew]. */
static void do_fault_id(struct fl_http *h, const char *method, const char *rest, struct req *rq,
			struct answer *ans)
{
	char id[FL_API_ID_MAX + 1];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	struct fl_error err;
	cJSON *out = NULL;
	int r;

	fl_error_init(&err);
	if (n == 0 || n > FL_API_ID_MAX)
		return ans_error(ans, 404, "not_found", "$.id", "no such fault id");
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!fl_api_id_valid(id, FL_API_ID_MAX))
		return ans_error(
		    ans, 400, "invalid_request", "$.id",
		    "fault ids are 1-%d characters of [A-Za-z0-9._:-], starting with a "
		    "letter or digit",
		    FL_API_ID_MAX);
	if (slash) {
		uint64_t ttl = 0;

		if (strcmp(slash, "/renew"))
			return ans_error(ans, 404, "not_found", NULL, "no such endpoint");
		if (strcmp(method, "POST"))
			return ans_error(ans, 405, "method_not_allowed", NULL, "use POST to renew");
		r = fl_api_renew_parse(rq->body.data, rq->body.len, &ttl, &err);
		if (r == 0)
			r = fl_agent_renew(h->agent, id, ttl, &out, &err);
		return r < 0 ? ans_fl_error(ans, &err) : ans_json(ans, 200, out);
	}
	if (!strcmp(method, "GET"))
		r = fl_agent_get(h->agent, id, &out, &err);
	else if (!strcmp(method, "DELETE"))
		r = fl_agent_revert(h->agent, id, &out, &err);
	else
		return ans_error(ans, 405, "method_not_allowed", NULL, "use GET or DELETE");
	return r < 0 ? ans_fl_error(ans, &err) : ans_json(ans, 200, out);
}

/* The parameters a route takes (NULL: none); unknown and repeated ones are refused. */
static const char *const *route_args(const char *path, const char *method)
{
	static const char *const apply_args[] = {"dry_run", NULL};
	static const char *const list_args[] = {"experiment", NULL};
	static const char *const delete_args[] = {"experiment", "all", NULL};

	if (strcmp(path, "/v1/faults"))
		return NULL;
	if (!strcmp(method, "POST"))
		return apply_args;
	if (!strcmp(method, "GET"))
		return list_args;
	if (!strcmp(method, "DELETE"))
		return delete_args;
	return NULL;
}

/*
 * Every route but health. A GET only reads the fault table (its lock is
 * never held across I/O) and is answered on the spot; a POST or DELETE may
 * wait on a fault's plan, apply or revert and runs on a worker (below).
 */
static void dispatch(struct fl_http *h, struct req *rq, struct answer *out)
{
	const char *qs = rq->uri ? strchr(rq->uri, '?') : NULL;
	const char *path = rq->path, *method = rq->method;
	struct fl_api_query q;
	struct fl_error err;

	fl_error_init(&err);
	if (fl_api_query_parse(qs ? qs + 1 : NULL, qs ? strlen(qs + 1) : 0,
			       route_args(path, method), &q, &err) < 0)
		return ans_fl_error(out, &err);
	if (!strcmp(path, "/metrics")) {
		if (strcmp(method, "GET"))
			return ans_error(out, 405, "method_not_allowed", NULL, "use GET");
		return do_metrics(h, out);
	}
	if (!strcmp(path, "/v1/faults")) {
		if (!strcmp(method, "POST"))
			return do_apply(h, rq, &q, out);
		if (!strcmp(method, "GET")) {
			const char *exp = fl_api_query_get(&q, "experiment");

			if (exp && !fl_api_id_valid(exp, FL_API_EXPERIMENT_MAX))
				return ans_error(out, 400, "invalid_request", "$.experiment",
						 "not a valid experiment id");
			return ans_json(out, 200, fl_agent_list(h->agent, exp));
		}
		if (!strcmp(method, "DELETE"))
			return do_revert_match(h, &q, out);
		return ans_error(out, 405, "method_not_allowed", NULL, "use GET, POST or DELETE");
	}
	if (!strncmp(path, "/v1/faults/", 11))
		return do_fault_id(h, method, path + 11, rq, out);
	ans_error(out, 404, "not_found", NULL, "no such endpoint");
}

/*
 * On a worker: the request's fault operation, however long it takes, while
 * its connection is suspended (libmicrohttpd neither polls nor times it out
 * meanwhile). Then the connection is resumed, and the access handler, called
 * again, queues the answer. Resuming is the last thing done with rq: the
 * request may be completed (and freed) from then on.
 */
static void job_main(void *p)
{
	struct req *rq = p;
	struct fl_http *h = rq->h;
	struct answer a = {0};

	dispatch(h, rq, &a);
	pthread_mutex_lock(&h->mu);
	rq->ans = a;
	rq->job_done = true;
	pthread_mutex_unlock(&h->mu);
	MHD_resume_connection(rq->c);
}

/* A printable, bounded copy of what a client sent, for the log. */
static void shown(char *dst, size_t len, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		snprintf(dst, len, "%.*s...(%zu bytes)", (int)max, s, n);
	else
		snprintf(dst, len, "%s", s);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct fl_http *h = cls;
	struct req *rq = *con_cls;

	if (!rq) {
		rq = uri_seen(h, url, c);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
	}
	if (!rq->started) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		char key[INET6_ADDRSTRLEN];
		const char *cl, *qs;

		rq->started = true;
		rq->conn = ci ? ci->socket_context : NULL;
		pthread_mutex_lock(&h->mu);
		h->requests++;
		h->inflight++;
		rq->counted = true;
		if (rq->conn)
			rq->conn->busy = true;
		pthread_mutex_unlock(&h->mu);
		if (!rq->uri) {
			rq->answered = true;
			return send_error(c, 414, "too_large", NULL, "request target over %d bytes",
					  URI_MAX);
		}
		if (hidden_header_bytes(c, method, version, rq)) {
			rq->answered = true;
			pthread_mutex_lock(&h->mu);
			h->rejected_hidden++;
			pthread_mutex_unlock(&h->mu);
			return send_error(c, 400, "invalid_request", NULL,
					  "the request's header block holds bytes its headers do "
					  "not show (a NUL byte in a header?)");
		}
		qs = strchr(rq->uri, '?');
		rq->path = malloc(rq->urilen + 1);
		if (!rq->path) {
			rq->answered = true;
			return send_error(c, 500, "internal", NULL, "out of memory");
		}
		if (decode_path(rq->uri, qs ? (size_t)(qs - rq->uri) : rq->urilen, rq->path,
				rq->urilen + 1) < 0) {
			rq->answered = true;
			return send_error(c, 400, "invalid_request", NULL,
					  "the path may hold only visible ASCII once decoded");
		}
		if (!strcmp(rq->path, "/v1/health")) {
			struct fl_api_query q;
			struct fl_error err;

			rq->answered = true;
			fl_error_init(&err);
			if (strcmp(method, "GET"))
				return send_error(c, 405, "method_not_allowed", NULL, "use GET");
			if (fl_api_query_parse(qs ? qs + 1 : NULL, qs ? strlen(qs + 1) : 0, NULL,
					       &q, &err) < 0)
				return send_fl_error(c, &err);
			{
				struct answer a = {0};

				do_health(h, &a);
				return send_answer(c, &a);
			}
		}
		/* Everything below is refused before the body is read or anything is done. */
		if (h->client_certs && !client_cert_ok(c)) {
			rq->answered = true;
			pthread_mutex_lock(&h->mu);
			h->rejected_auth++;
			pthread_mutex_unlock(&h->mu);
			return send_error(c, 401, "unauthorized", NULL,
					  "a client certificate signed by the agent's CA is "
					  "required");
		}
		client_key(c, key, sizeof(key));
		if (!authorized(h, c)) {
			char m[64], u[LOG_URL_MAX + 64];

			rq->answered = true;
			pthread_mutex_lock(&h->mu);
			h->rejected_auth++;
			pthread_mutex_unlock(&h->mu);
			shown(m, sizeof(m), method, 16);
			shown(u, sizeof(u), rq->uri, LOG_URL_MAX);
			log_noise(h, "unauthorized request", "method", m, "url", u, "client", key);
			return send_error(c, 401, "unauthorized", NULL,
					  "missing or wrong bearer token");
		}
		if (rq->conn) {
			pthread_mutex_lock(&h->mu);
			rq->conn->authed = true;
			pthread_mutex_unlock(&h->mu);
			MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
						  (unsigned)IDLE_TIMEOUT_S);
		}
		if (!rate_ok(h, key)) {
			rq->answered = true;
			return send_error(c, 429, "rate_limited", NULL,
					  "more than %g requests per second from %s",
					  h->cfg->rate_per_second, key);
		}
		/*
		 * A body over the cap is read and dropped (so that a client which
		 * does not wait for "100 Continue" still reads the 413); one
		 * beyond DISCARD_MAX is refused at once and the connection closed.
		 */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > DISCARD_MAX) {
			rq->answered = true;
			return send_error(c, 413, "too_large", "$",
					  "request body over the agent's limit of %zu bytes",
					  h->cfg->max_body_bytes);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		rq->seen += *upload_size;
		if (rq->seen > DISCARD_MAX)
			return MHD_NO; /* an endless chunked body: drop the connection */
		if (!rq->answered && !rq->too_big &&
		    fl_buf_add(&rq->body, upload, *upload_size) < 0)
			rq->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->job) {
		bool done;

		/* Called again after the worker resumed the connection: its answer. */
		pthread_mutex_lock(&h->mu);
		done = rq->job_done;
		pthread_mutex_unlock(&h->mu);
		if (!done)
			return MHD_YES;
		rq->job = false;
		return send_answer(c, &rq->ans);
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->too_big)
		return send_error(c, 413, "too_large", "$",
				  "request body over the agent's limit of %zu bytes",
				  h->cfg->max_body_bytes);
	snprintf(rq->method, sizeof(rq->method), "%s", method);
	if (strcmp(method, "GET")) {
		/* A fault operation: on a worker, so that nothing here waits for it. */
		rq->h = h;
		rq->c = c;
		rq->job = true;
		MHD_suspend_connection(c);
		if (fl_workers_run(h->workers, job_main, rq) == 0)
			return MHD_YES;
		rq->job = false;
		MHD_resume_connection(c);
		return send_error(c, 503, "stopping", NULL, "no thread to run the request on");
	}
	{
		struct answer a = {0};

		dispatch(h, rq, &a);
		return send_answer(c, &a);
	}
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct fl_http *h = cls;
	struct req *rq = *con_cls;
	double s;
	int i;

	(void)c;
	(void)toe;
	if (!rq)
		return;
	s = (double)(fl_now_mono_us() - rq->start_us) / 1e6;
	for (i = 0; i < LAT_BUCKETS && s > lat_bounds[i]; i++)
		;
	pthread_mutex_lock(&h->mu);
	if (rq->started) {
		h->lat_counts[i]++;
		h->lat_sum += s;
	}
	if (rq->conn)
		rq->conn->busy = false;
	if (rq->counted && --h->inflight == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->mu);
	fl_buf_done(&rq->body);
	free(rq->ans.body);
	free(rq->uri);
	free(rq->path);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) FL_PRINTF(2, 0);

/* libmicrohttpd's complaints are mostly about what clients sent: rate-limited. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_noise(cls, "libmicrohttpd", "detail", msg, NULL, NULL, NULL, NULL);
}

static int listen_unix(const char *path, char *saved, size_t savedlen, struct fl_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fl_error_set(err, -ENAMETOOLONG, NULL, "unix socket path too long: %s",
				    path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "socket: %s", strerror(errno));
	/* A socket left by a killed agent is stale if nobody answers on it. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return fl_error_set(err, -EADDRINUSE, NULL, "%s: another agent is listening", path);
	}
	if (errno == ECONNREFUSED) {
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "socket: %s", strerror(errno));
	old = umask(0177); /* the socket is 0600: the token is not the only gate */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return fl_error_set(err, r, NULL, "cannot listen on unix:%s: %s", path,
				    strerror(-r));
	}
	snprintf(saved, savedlen, "%s", path);
	return fd;
}

static int listen_tcp(const char *spec, char *bound, size_t boundlen, struct fl_error *err)
{
	char host[256], port[16];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1, r;
	size_t hl;

	if (!colon || colon == spec || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port))
		return fl_error_set(err, -EINVAL, NULL,
				    "--listen: expected ADDR:PORT, [V6ADDR]:PORT or unix:PATH");
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return fl_error_set(err, -EINVAL, NULL, "--listen: address too long");
	memcpy(host, spec, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	r = getaddrinfo(host, port, &hints, &ai);
	if (r)
		return fl_error_set(err, -EINVAL, NULL, "--listen %s: %s", host, gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = fl_error_set(err, -errno, NULL, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		r = fl_error_set(err, -errno, NULL, "cannot listen on %s: %s", spec,
				 strerror(errno));
		close(fd);
		fd = -1;
		goto out;
	}
	r = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		char a[INET6_ADDRSTRLEN] = "?";
		unsigned p = 0;

		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
			p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			snprintf(bound, boundlen, "%s:%u", a, p);
		} else {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
			p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			snprintf(bound, boundlen, "[%s]:%u", a, p);
		}
	}
out:
	freeaddrinfo(ai);
	return r;
}

/* Is this bound address reachable only from this host? 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
static bool addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int fl_http_listen(const struct fl_http_opts *o, struct fl_http **out, struct fl_error *err)
{
	struct fl_http *h = calloc(1, sizeof(*h));
	int r;

	*out = NULL;
	if (!h)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	h->fd = -1;
	{
		pthread_condattr_t ca;

		pthread_mutex_init(&h->mu, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->idle, &ca);
		pthread_condattr_destroy(&ca);
	}
	h->token = o->token;
	h->token_len = strlen(o->token);
	h->cfg = o->cfg;
	h->agent = o->agent;
	h->tls_cert = o->tls_cert;
	h->tls_key = o->tls_key;
	h->tls_client_ca = o->tls_client_ca;
	if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
		snprintf(h->hostname, sizeof(h->hostname), "unknown");
	if (!strncmp(o->listen, "unix:", 5)) {
		if (o->tls_cert) {
			r = fl_error_set(err, -EINVAL, NULL,
					 "TLS is for TCP listeners; a unix socket is "
					 "protected by its file mode");
			goto fail;
		}
		r = listen_unix(o->listen + 5, h->unix_path, sizeof(h->unix_path), err);
		snprintf(h->bound, sizeof(h->bound), "%s", o->listen);
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		r = listen_tcp(o->listen, h->bound, sizeof(h->bound), err);
		/*
		 * Without TLS the bearer token crosses the network in clear text:
		 * anything but loopback needs the operator to say so.
		 */
		if (r >= 0 && !o->tls_cert &&
		    (getsockname(r, (struct sockaddr *)&ss, &sl) < 0 || !addr_is_loopback(&ss))) {
			if (!o->insecure_plaintext) {
				close(r);
				r = fl_error_set(
				    err, -EACCES, NULL,
				    "refusing plain HTTP on %s, a non-loopback "
				    "address: the bearer token would cross the "
				    "network in clear text; give --tls-cert/--tls-key, "
				    "listen on 127.0.0.1 or unix:PATH, or accept the risk "
				    "with --insecure-plaintext",
				    h->bound);
				goto fail;
			}
			fl_log(FL_LOG_WARN,
			       "--insecure-plaintext: serving plain HTTP on a non-loopback "
			       "address; the bearer token crosses the network in clear text",
			       "address", h->bound, NULL);
		}
	}
	if (r < 0)
		goto fail;
	h->fd = r;
	*out = h;
	return 0;
fail:
	fl_http_stop(h);
	return r;
}

int fl_http_serve(struct fl_http *h, struct fl_error *err)
{
	/*
	 * One polling thread for every connection, and fault operations on
	 * workers while their connection is suspended: a request that waits on
	 * a slow fault (a revert held up by a lock a target's owner holds) keeps
	 * its own connection waiting and nothing else, health included.
	 */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME;
	int r;

	h->caps = fl_agent_capabilities();
	/* Created now, after the capabilities were dropped: the workers inherit that. */
	r = fl_workers_new("fl-api", API_WORKERS_MAX, API_WORKERS_KEEP, 0, &h->workers);
	if (r < 0)
		return fl_error_set(err, r, NULL, "out of memory");
	if (fl_workers_warm(h->workers) < 0)
		fl_log(FL_LOG_WARN, "cannot start API workers ahead of need", NULL);
	if (h->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return fl_error_set(err, -EOPNOTSUPP, NULL,
					    "this libmicrohttpd was built without TLS");
		flags |= MHD_USE_TLS;
		h->tls = true;
		h->client_certs = h->tls_client_ca != NULL;
	}
	{
		struct MHD_OptionItem opts[] = {
		    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, h},
		    {MHD_OPTION_LISTEN_SOCKET, h->fd, NULL},
		    {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_seen, h},
		    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h},
		    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_notify, h},
		    /* Our own cap is CONN_MAX (connection_notify); this one is the hard stop. */
		    {MHD_OPTION_CONNECTION_LIMIT, CONN_MAX + CONN_SLACK, NULL},
		    {MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL},
		    {h->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0,
		     (void *)h->tls_cert},
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)h->tls_key},
		    {h->tls_client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		     (void *)h->tls_client_ca},
		    {MHD_OPTION_END, 0, NULL},
		};

		h->d = MHD_start_daemon(flags | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, h,
					MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	}
	if (!h->d)
		return fl_error_set(err, -EIO, NULL, "libmicrohttpd could not start on %s",
				    h->bound);
	h->fd = -1; /* MHD owns and closes the listening socket now */
	fl_log(FL_LOG_INFO, "listening", "address", h->bound, "tls",
	       h->tls ? (h->client_certs ? "client-certificates" : "server-only") : "off", NULL);
	return 0;
}

int fl_http_start(const struct fl_http_opts *o, struct fl_http **out, struct fl_error *err)
{
	struct fl_http *h = NULL;
	int r = fl_http_listen(o, &h, err);

	if (r < 0)
		return r;
	r = fl_http_serve(h, err);
	if (r < 0) {
		fl_http_stop(h);
		return r;
	}
	*out = h;
	return 0;
}

void fl_http_quiesce(struct fl_http *h)
{
	if (!h || !h->d || h->fd >= 0)
		return;
	/* The listening socket comes back to us; it is closed after MHD_stop_daemon. */
	h->fd = MHD_quiesce_daemon(h->d);
}

bool fl_http_drain(struct fl_http *h, uint64_t deadline_ms)
{
	struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
	bool done;

	if (!h)
		return true;
	pthread_mutex_lock(&h->mu);
	while (h->inflight && pthread_cond_timedwait(&h->idle, &h->mu, &ts) != ETIMEDOUT)
		;
	done = h->inflight == 0;
	pthread_mutex_unlock(&h->mu);
	return done;
}

void fl_http_stop(struct fl_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->noise_suppressed) {
		char n[24];

		/* A flood that ended in silence still says how much it left out. */
		snprintf(n, sizeof(n), "%llu", h->noise_suppressed);
		fl_log(FL_LOG_WARN, "stopping with unauthenticated events left out of the log",
		       "suppressed_before", n, NULL);
	}
	if (h->workers && fl_workers_drain(h->workers, fl_now_mono_ms() + 1000))
		fl_workers_free(h->workers);
	if (h->fd >= 0)
		close(h->fd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	cJSON_Delete(h->caps);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
