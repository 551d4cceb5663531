/*
 * libFuzzer target: faultline-agent's HTTP API end to end -- libmicrohttpd's
 * request parsing, the agent's routing of paths and query strings
 * (/v1/faults/{id}/renew, ?experiment=, ?all=), auth, body caps and every
 * handler -- on a real agent started in this process on a unix socket.
 * Its config allows no fault kind ("kinds": []), so nothing can ever be
 * applied to this machine; apply bodies still go through fl_api_fault_req_parse.
 *
 * Input: byte 0 picks the mode.
 *   even: structured. The rest is "METHOD\nPATH?QUERY\nBODY"; the harness
 *         adds Host, the bearer token (unless byte 0 & 2), Content-Length.
 *   odd:  raw bytes of a request, sent as they are.
 * Structured requests share one kept-alive connection; raw bytes get one each.
 * Properties: a structured request always gets an HTTP answer, never a 500.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/http.h"
#include "agent/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TOKEN "fuzz-token-0123456789"

static char dir[64] = "/tmp/fl-fuzz-http-XXXXXX";
static char sockpath[96];
static struct fl_agent_config cfg;
static struct fl_agent *agent;
static struct fl_http *http;

static void cleanup(void)
{
	char p[256];

	fl_http_stop(http);
	fl_agent_free(agent);
	fl_agent_config_done(&cfg);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	if (system(p) != 0)
		fprintf(stderr, "fuzz-agent_http: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] = "{\"kinds\": [], \"limits\": {\"rate_per_second\": 1000000, "
				   "\"rate_burst\": 1000000, \"max_body_bytes\": 16384}}";
	struct fl_http_opts ho = {0};
	struct fl_error err;
	char state[128], listen[160];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	fl_log_setup(FL_LOG_KV, FL_LOG_ERROR);
	fl_error_init(&err);
	if (!mkdtemp(dir))
		abort();
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sockpath, sizeof(sockpath), "%s/sock", dir);
	snprintf(listen, sizeof(listen), "unix:%s", sockpath);
	fl_agent_config_init(&cfg);
	if (fl_agent_config_parse(&cfg, conf, sizeof(conf) - 1, &err) < 0 ||
	    fl_agent_new(state, &cfg, &agent, &err) < 0 || fl_agent_start(agent) < 0) {
		fprintf(stderr, "fuzz-agent_http: %s: %s\n", err.path, err.msg);
		abort();
	}
	ho.listen = listen;
	ho.token = TOKEN;
	ho.cfg = &cfg;
	ho.agent = agent;
	if (fl_http_start(&ho, &http, &err) < 0) {
		fprintf(stderr, "fuzz-agent_http: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* Keep what may stand in a request line or header: no controls, no spaces. */
static size_t token_copy(char *dst, const uint8_t *src, size_t n, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < max; i++)
		if (src[i] > 0x20 && src[i] < 0x7f)
			dst[k++] = (char)src[i];
	dst[k] = '\0';
	return k;
}

/*
 * Is resp a whole answer (headers and Content-Length bytes of body)? An answer
 * to HEAD, a 1xx, 204 or 304 has no body whatever its Content-Length says.
 */
static int complete(const char *resp, size_t got, bool head)
{
	const char *eoh = strstr(resp, "\r\n\r\n"), *cl;
	int status = got > 12 ? atoi(resp + 9) : 0;

	if (!eoh)
		return 0;
	if (head || (status >= 100 && status < 200) || status == 204 || status == 304)
		return 1;
	cl = strcasestr(resp, "\r\nContent-Length:");
	if (!cl || cl > eoh)
		return 0;
	return got >= (size_t)(eoh + 4 - resp) + strtoull(cl + 17, NULL, 10);
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1); /* < 108: mkdtemp name + "/sock" */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort(); /* the agent stopped listening */
	return fd;
}

static int send_all(int fd, const char *req, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			return -1; /* the agent may close early (413, malformed) */
		off += (size_t)w;
	}
	return 0;
}

/* Read one answer from fd into resp; 0 when the agent closed or wait_ms passed first. */
static size_t recv_answer(int fd, char *resp, size_t cap, int wait_ms, bool head)
{
	size_t got = 0;

	resp[0] = '\0';
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, wait_ms) <= 0)
			return got;
		r = recv(fd, resp + got, cap - 1 - got, 0);
		if (r <= 0)
			return complete(resp, got, head) ? got : 0;
		got += (size_t)r;
		resp[got] = '\0';
		if (got == cap - 1 || complete(resp, got, head))
			return got;
	}
}

/* One connection per request: send req, half-close, read until the agent closes. */
static int exchange(const char *req, size_t len, char *resp, size_t cap, int wait_ms, bool head)
{
	int fd = dial();
	size_t got;

	(void)send_all(fd, req, len);
	shutdown(fd, SHUT_WR);
	got = recv_answer(fd, resp, cap, wait_ms, head);
	close(fd);
	return (int)got;
}

/*
 * Raw bytes on a connection of their own. An incomplete request gets no
 * answer, and libmicrohttpd closes a connection at its next wake-up, not
 * when the client half-closes: waiting for the close cost 20 ms for each
 * such input (measured: 80% of the run time). Done instead when the agent
 * has read every byte (SIOCOUTQ is 0: it parses what it reads at once) and
 * has said nothing for 1 ms, or has answered, or 20 ms have passed.
 */
static void exchange_raw(const char *req, size_t len, char *resp, size_t cap)
{
	int fd = dial(), quiet = 0;
	size_t got = 0;

	(void)send_all(fd, req, len);
	shutdown(fd, SHUT_WR);
	for (int ms = 0; ms < 20 && quiet < 1; ms++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int unread = 1;
		ssize_t r;

		if (poll(&p, 1, 1) > 0) {
			r = recv(fd, resp + got, cap - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			resp[got] = '\0';
			if (got == cap - 1 || complete(resp, got, false))
				break;
			continue;
		}
		if (ioctl(fd, SIOCOUTQ, &unread) == 0 && unread == 0)
			quiet++;
	}
	close(fd);
}

/*
 * The structured requests share one kept-alive connection, as a controller's
 * would: no connect, accept and close per input, which cost most of the time
 * (measured: ~1,100 inputs/s with a connection each). Whenever the answer
 * is not whole, or says "Connection: close", the connection is dropped and
 * the next input dials again.
 */
static int keepalive = -1;

static int exchange_kept(const char *req, size_t len, char *resp, size_t cap, bool head)
{
	size_t got = 0;
	const char *eoh;

	if (keepalive < 0)
		keepalive = dial();
	if (send_all(keepalive, req, len) == 0)
		got = recv_answer(keepalive, resp, cap, 20000, head);
	eoh = got ? strstr(resp, "\r\n\r\n") : NULL;
	if (!got || !eoh || !complete(resp, got, head) ||
	    (strcasestr(resp, "\r\nConnection: close") &&
	     strcasestr(resp, "\r\nConnection: close") < eoh)) {
		close(keepalive);
		keepalive = -1;
	}
	return (int)got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[40000], resp[70000];
	char method[32], path[4096];
	const uint8_t *p, *nl, *end = data + size;
	size_t n;
	int status;
	bool head;

	if (!size || size > 20000)
		return 0;
	if (data[0] & 1) {
		exchange_raw((const char *)data + 1, size - 1, resp, sizeof(resp));
		return 0;
	}
	p = data + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	token_copy(method, p, nl ? (size_t)(nl - p) : (size_t)(end - p), sizeof(method) - 1);
	p = nl ? nl + 1 : end;
	nl = memchr(p, '\n', (size_t)(end - p));
	token_copy(path, p, nl ? (size_t)(nl - p) : (size_t)(end - p), sizeof(path) - 2);
	p = nl ? nl + 1 : end;
	if (!method[0])
		strcpy(method, "GET");
	if (path[0] != '/') {
		memmove(path + 1, path, strlen(path) + 1);
		path[0] = '/';
	}
	n = (size_t)snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%sContent-Length: %zu\r\n"
			     "\r\n",
			     method, path, data[0] & 2 ? "" : "Authorization: Bearer ",
			     data[0] & 2 ? "" : TOKEN, data[0] & 2 ? "" : "\r\n",
			     (size_t)(end - p));
	if (n + (size_t)(end - p) >= sizeof(req))
		return 0;
	memcpy(req + n, p, (size_t)(end - p));
	n += (size_t)(end - p);
	/*
	 * A kept-alive connection may have been closed by the agent since the
	 * last input (its idle timeout, an error answer): ask again on a fresh
	 * connection. A connection closed without an answer can also be the
	 * daemon's connection limit while it catches up with the closes of
	 * earlier inputs: ask a third time, a second later. A wedged agent fails all.
	 */
	head = !strcmp(method, "HEAD");
	if ((exchange_kept(req, n, resp, sizeof(resp), head) <= 0 ||
	     strncmp(resp, "HTTP/1.1 ", 9)) &&
	    (exchange_kept(req, n, resp, sizeof(resp), head) <= 0 ||
	     strncmp(resp, "HTTP/1.1 ", 9)) &&
	    (fprintf(stderr, "fuzz-agent_http: closed without an answer, asking again\n"), sleep(1),
	     exchange(req, n, resp, sizeof(resp), 20000, head) <= 0 ||
		 strncmp(resp, "HTTP/1.1 ", 9))) {
		fprintf(stderr, "no HTTP answer to: %.*s\n", (int)n, req);
		abort();
	}
	status = atoi(resp + 9);
	if (status == 500) {
		fprintf(stderr, "500 for: %.*s\n--\n%s\n", (int)n, req, resp);
		abort();
	}
	return 0;
}
