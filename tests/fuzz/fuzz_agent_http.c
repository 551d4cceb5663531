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
 * Properties: a structured request always gets an HTTP answer, never a 500.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Is resp a whole answer (headers and Content-Length bytes of body)? */
static int complete(const char *resp, size_t got)
{
	const char *eoh = strstr(resp, "\r\n\r\n"), *cl;

	if (!eoh)
		return 0;
	cl = strcasestr(resp, "\r\nContent-Length:");
	if (!cl || cl > eoh)
		return 0;
	return got >= (size_t)(eoh + 4 - resp) + strtoull(cl + 17, NULL, 10);
}

/* Send req, read the answer; an incomplete request gets wait_ms to be answered. */
static int exchange(const char *req, size_t len, char *resp, size_t cap, int wait_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t got = 0, off = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1); /* < 108: mkdtemp name + "/sock" */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort(); /* the agent stopped listening */
	while (off < len) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break; /* the agent may close early (413, malformed) */
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, wait_ms) <= 0)
			break;
		r = recv(fd, resp + got, cap - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		resp[got] = '\0';
		if (got == cap - 1 || complete(resp, got))
			break;
	}
	resp[got] = '\0';
	close(fd);
	return (int)got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char req[40000], resp[70000];
	char method[32], path[4096];
	const uint8_t *p, *nl, *end = data + size;
	size_t n;
	int status;

	if (!size || size > 20000)
		return 0;
	if (data[0] & 1) {
		(void)exchange((const char *)data + 1, size - 1, resp, sizeof(resp), 20);
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
			     "Connection: close\r\n\r\n",
			     method, path, data[0] & 2 ? "" : "Authorization: Bearer ",
			     data[0] & 2 ? "" : TOKEN, data[0] & 2 ? "" : "\r\n",
			     (size_t)(end - p));
	if (n + (size_t)(end - p) >= sizeof(req))
		return 0;
	memcpy(req + n, p, (size_t)(end - p));
	n += (size_t)(end - p);
	/*
	 * A connection closed without an answer can be the daemon's connection
	 * limit while it catches up with the closes of earlier inputs (this loop
	 * opens ~2,000 connections a second on a loaded machine): ask again once,
	 * a second later. A wedged agent fails both.
	 */
	if ((exchange(req, n, resp, sizeof(resp), 20000) <= 0 || strncmp(resp, "HTTP/1.1 ", 9)) &&
	    (fprintf(stderr, "fuzz-agent_http: closed without an answer, asking again\n"), sleep(1),
	     exchange(req, n, resp, sizeof(resp), 20000) <= 0 || strncmp(resp, "HTTP/1.1 ", 9))) {
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
