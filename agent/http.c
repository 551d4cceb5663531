#include "agent/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "agent/log.h"
#include "core/api.h"
#include "core/buf.h"
#include "core/duration.h"

#define CLIENTS_MAX 256
#define DISCARD_MAX (4 * 1024 * 1024)
#define LAT_BUCKETS 12

static const double lat_bounds[LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					       0.01,   0.025,	0.05,	0.1,   0.5,    1.0};

struct client_bucket {
	char key[INET6_ADDRSTRLEN];
	double tokens;
	uint64_t last_us;
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
	/* Touched only by the MHD thread. */
	struct client_bucket clients[CLIENTS_MAX];
	unsigned long long lat_counts[LAT_BUCKETS + 1];
	double lat_sum;
	unsigned long long requests, rejected_auth, rejected_rate;
};

struct req {
	uint64_t start_us;
	struct fl_buf body;
	size_t seen;
	bool too_big;
	bool answered;
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

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
				 const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"faultline-agent\"");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	enum MHD_Result r;

	cJSON_Delete(o);
	if (!s)
		return send_text(c, 500, "application/json",
				 "{\"error\":{\"code\":\"internal\",\"message\":\"out of "
				 "memory\",\"path\":null}}");
	r = send_text(c, status, "application/json", s);
	free(s);
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *path, const char *fmt, ...) FL_PRINTF(5, 6);
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
				  const char *path, const char *fmt, ...)
{
	char msg[FL_ERROR_MSG_MAX];
	char *s;
	va_list ap;
	enum MHD_Result r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = fl_api_error_json(code, msg, path);
	if (!s)
		return MHD_NO;
	r = send_text(c, status, "application/json", s);
	free(s);
	return r;
}

static enum MHD_Result send_fl_error(struct MHD_Connection *c, const struct fl_error *err)
{
	const char *code;
	int st = fl_agent_http_status(err->code, &code);

	return send_error(c, (unsigned)st, code, err->path[0] ? err->path : NULL, "%s", err->msg);
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
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/*
 * With a client CA, a client without a certificate that verifies against it
 * is refused in the TLS handshake, before any HTTP (health included): GnuTLS
 * is told to require a certificate and to verify it as it arrives. MHD
 * creates the session before this notification and shakes hands after it.
 */
static void connection_started(void *cls, struct MHD_Connection *c, void **socket_context,
			       enum MHD_ConnectionNotificationCode toe)
{
	struct fl_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;

	(void)socket_context;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED || !h->client_certs)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return; /* client_cert_ok() still refuses every request but health */
	s = (gnutls_session_t)ci->tls_session;
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(s, NULL, 0);
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

static bool authorized(struct fl_http *h, struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	if (!v || strncasecmp(v, "Bearer ", 7))
		return false;
	v += 7;
	while (*v == ' ')
		v++;
	return token_equal(v, strlen(v), h->token, h->token_len);
}

struct arg_check {
	const char *const *allowed;
	const char *bad;
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	struct arg_check *ac = cls;

	(void)kind;
	(void)value;
	for (size_t i = 0; ac->allowed && ac->allowed[i]; i++)
		if (!strcmp(key, ac->allowed[i]))
			return MHD_YES;
	ac->bad = key;
	return MHD_NO;
}

/* Unknown query parameters are errors, like unknown body fields. */
static const char *unknown_arg(struct MHD_Connection *c, const char *const *allowed)
{
	struct arg_check ac = {allowed, NULL};

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &ac);
	return ac.bad;
}

static enum MHD_Result do_health(struct fl_http *h, struct MHD_Connection *c)
{
	cJSON *o = cJSON_Duplicate(h->caps, true);

	if (o) {
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddStringToObject(o, "version", FL_VERSION);
		cJSON_AddStringToObject(o, "hostname", h->hostname);
		cJSON_AddNumberToObject(o, "pid", getpid());
		cJSON_AddBoolToObject(o, "tls", h->tls);
	}
	return send_json(c, 200, o);
}

static enum MHD_Result do_metrics(struct fl_http *h, struct MHD_Connection *c)
{
	struct fl_buf b;
	unsigned long long cum = 0;
	enum MHD_Result r;
	int rc;

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
		    "# HELP faultline_agent_api_latency_seconds API request latency.\n"
		    "# TYPE faultline_agent_api_latency_seconds histogram\n",
		    h->requests, h->rejected_auth, h->rejected_rate);
	for (int i = 0; rc == 0 && i < LAT_BUCKETS; i++) {
		cum += h->lat_counts[i];
		rc = fl_buf_printf(&b,
				   "faultline_agent_api_latency_seconds_bucket{le=\"%g\"} %llu\n",
				   lat_bounds[i], cum);
	}
	cum += h->lat_counts[LAT_BUCKETS];
	if (rc == 0)
		rc = fl_buf_printf(&b,
				   "faultline_agent_api_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
				   "faultline_agent_api_latency_seconds_sum %.6f\n"
				   "faultline_agent_api_latency_seconds_count %llu\n",
				   cum, h->lat_sum, cum);
	if (rc < 0)
		r = send_error(c, 500, "internal", NULL, "metrics: %s", strerror(-rc));
	else
		r = send_text(c, 200, "text/plain; version=0.0.4", b.data ? b.data : "");
	fl_buf_done(&b);
	return r;
}

/* POST /v1/faults[?dry_run=1|true|0|false]: apply, or only parse, plan and describe. */
static enum MHD_Result do_apply(struct fl_http *h, struct MHD_Connection *c, struct req *rq)
{
	const char *dry = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "dry_run");
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
			return send_error(c, 400, "invalid_request", NULL,
					  "dry_run is 1, true, 0 or false");
	}
	r = fl_api_fault_req_parse(rq->body.data, rq->body.len, &fr, &err);
	if (r < 0)
		return send_fl_error(c, &err);
	if (is_dry)
		r = fl_agent_dry_run(h->agent, &fr, &resp, &err);
	else
		r = fl_agent_apply(h->agent, &fr, &resp, &err);
	fl_api_fault_req_done(&fr);
	if (r < 0)
		return send_fl_error(c, &err);
	return send_json(c, is_dry ? 200 : 201, resp);
}

/* Routes under /v1/faults/{id}[/renew]. */
static enum MHD_Result do_fault_id(struct fl_http *h, struct MHD_Connection *c, const char *method,
				   const char *rest, struct req *rq)
{
	char id[FL_API_ID_MAX + 1];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	struct fl_error err;
	cJSON *out = NULL;
	int r;

	fl_error_init(&err);
	if (n == 0 || n > FL_API_ID_MAX)
		return send_error(c, 404, "not_found", "$.id", "no such fault id");
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!fl_api_id_valid(id, FL_API_ID_MAX))
		return send_error(
		    c, 400, "invalid_request", "$.id",
		    "fault ids are 1-%d characters of [A-Za-z0-9._:-], starting with a "
		    "letter or digit",
		    FL_API_ID_MAX);
	if (slash) {
		uint64_t ttl = 0;

		if (strcmp(slash, "/renew"))
			return send_error(c, 404, "not_found", NULL, "no such endpoint");
		if (strcmp(method, "POST"))
			return send_error(c, 405, "method_not_allowed", NULL, "use POST to renew");
		r = fl_api_renew_parse(rq->body.data, rq->body.len, &ttl, &err);
		if (r == 0)
			r = fl_agent_renew(h->agent, id, ttl, &out, &err);
		return r < 0 ? send_fl_error(c, &err) : send_json(c, 200, out);
	}
	if (!strcmp(method, "GET"))
		r = fl_agent_get(h->agent, id, &out, &err);
	else if (!strcmp(method, "DELETE"))
		r = fl_agent_revert(h->agent, id, &out, &err);
	else
		return send_error(c, 405, "method_not_allowed", NULL, "use GET or DELETE");
	return r < 0 ? send_fl_error(c, &err) : send_json(c, 200, out);
}

static enum MHD_Result dispatch(struct fl_http *h, struct MHD_Connection *c, const char *url,
				const char *method, struct req *rq)
{
	static const char *const apply_args[] = {"dry_run", NULL};
	static const char *const delete_args[] = {"experiment", "all", NULL};
	const char *bad;

	if (!strcmp(url, "/metrics")) {
		if (strcmp(method, "GET"))
			return send_error(c, 405, "method_not_allowed", NULL, "use GET");
		return do_metrics(h, c);
	}
	if (!strcmp(url, "/v1/faults")) {
		if (!strcmp(method, "POST")) {
			if ((bad = unknown_arg(c, apply_args)))
				return send_error(c, 400, "invalid_request", NULL,
						  "unknown query parameter \"%.64s\"", bad);
			return do_apply(h, c, rq);
		}
		if (!strcmp(method, "GET"))
			return send_json(c, 200, fl_agent_list(h->agent));
		if (!strcmp(method, "DELETE")) {
			const char *exp =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "experiment");
			const char *all =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all");
			struct fl_error err;
			cJSON *out = NULL;
			int r;

			fl_error_init(&err);
			if ((bad = unknown_arg(c, delete_args)))
				return send_error(c, 400, "invalid_request", NULL,
						  "unknown query parameter \"%.64s\"", bad);
			if ((exp && all) || (!exp && (!all || strcmp(all, "true"))))
				return send_error(c, 400, "invalid_request", NULL,
						  "give ?experiment=ID or ?all=true");
			if (exp && !fl_api_id_valid(exp, FL_API_EXPERIMENT_MAX))
				return send_error(c, 400, "invalid_request", "$.experiment",
						  "not a valid experiment id");
			r = fl_agent_revert_match(h->agent, exp, &out, &err);
			if (r < 0) {
				cJSON_Delete(out);
				return send_fl_error(c, &err);
			}
			return send_json(c, 200, out);
		}
		return send_error(c, 405, "method_not_allowed", NULL, "use GET, POST or DELETE");
	}
	if (!strncmp(url, "/v1/faults/", 11))
		return do_fault_id(h, c, method, url + 11, rq);
	return send_error(c, 404, "not_found", NULL, "no such endpoint");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct fl_http *h = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl;
		char key[INET6_ADDRSTRLEN];

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->start_us = fl_now_mono_us();
		fl_buf_init(&rq->body, h->cfg->max_body_bytes);
		*con_cls = rq;
		h->requests++;
		if (!strcmp(url, "/v1/health")) {
			rq->answered = true;
			if (strcmp(method, "GET"))
				return send_error(c, 405, "method_not_allowed", NULL, "use GET");
			return do_health(h, c);
		}
		/* Everything below is refused before the body is read or anything is done. */
		if (h->client_certs && !client_cert_ok(c)) {
			rq->answered = true;
			h->rejected_auth++;
			return send_error(c, 401, "unauthorized", NULL,
					  "a client certificate signed by the agent's CA is "
					  "required");
		}
		client_key(c, key, sizeof(key));
		if (!authorized(h, c)) {
			rq->answered = true;
			h->rejected_auth++;
			fl_log(FL_LOG_WARN, "unauthorized request", "method", method, "url", url,
			       "client", key, NULL);
			return send_error(c, 401, "unauthorized", NULL,
					  "missing or wrong bearer token");
		}
		if (!rate_ok(h, key)) {
			rq->answered = true;
			h->rejected_rate++;
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
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->too_big)
		return send_error(c, 413, "too_large", "$",
				  "request body over the agent's limit of %zu bytes",
				  h->cfg->max_body_bytes);
	return dispatch(h, c, url, method, rq);
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
	h->lat_counts[i]++;
	h->lat_sum += s;
	fl_buf_done(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) FL_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fl_log(FL_LOG_WARN, "libmicrohttpd", "detail", msg, NULL);
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
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

	h->caps = fl_agent_capabilities();
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
		    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h},
		    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_started, h},
		    {MHD_OPTION_CONNECTION_LIMIT, 512, NULL},
		    /* One address (no token needed to connect) must not hold every slot. */
		    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64, NULL},
		    {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
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

void fl_http_stop(struct fl_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->fd >= 0)
		close(h->fd);
	if (h->unix_path[0])
		unlink(h->unix_path);
	cJSON_Delete(h->caps);
	free(h);
}
