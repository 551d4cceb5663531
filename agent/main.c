/*
 * faultline-agent: applies faults on this host on behalf of the controller,
 * over the HTTP API of design.md §3. See docs/faultline-agent.8.
 *
 * Threads: libmicrohttpd's internal polling thread serves the API; a lease
 * thread reverts faults at their CLOCK_MONOTONIC deadlines; the main thread
 * only waits on a self-pipe for SIGTERM/SIGINT, then stops serving and
 * reverts everything before exiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/caps.h"
#include "agent/config.h"
#include "agent/http.h"
#include "agent/kube_client.h"
#include "agent/log.h"
#include "core/buf.h"
#include "core/duration.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Exit codes (docs/faultline-agent.8, EXIT STATUS). */
#define EXIT_START  1 /* could not start or serve */
#define EXIT_USAGE  2 /* usage, invalid configuration */
#define EXIT_UNSAFE 3 /* refused: unsafe token or config file, plain HTTP off loopback */

#define TOKEN_MIN 16
#define TOKEN_MAX 4096
#define PEM_MAX	  (256 * 1024)

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(sig_pipe[1], &b, 1) < 0)
		(void)0; /* the pipe is full: a byte is already waiting */
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: faultline-agent --listen ADDR:PORT|unix:PATH --token-file FILE --state-dir "
		"DIR\n"
		"                       [--config FILE] [--log-format kv|json] [--log-level "
		"debug|info|warn|error]\n"
		"                       [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]\n"
		"                       [--insecure-plaintext] [--keep-caps] [--exit-with-parent]\n"
		"       faultline-agent --version | --help\n"
		"Applies faultline faults on this host: see faultline-agent(8).\n");
}

static bool token_unsafe;

/*
 * The token is the only gate of a TCP agent: a token file that someone other
 * than root or the agent's user can read (or write) is refused, checked on the
 * opened file (fstat), so a symlink is judged by what it points to.
 */
static bool token_file_unsafe(const struct stat *st, const char *path)
{
	char msg[512], mode[8];

	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st->st_mode & 07777));
	if (st->st_mode & 0077) {
		snprintf(msg, sizeof(msg),
			 "token file %s is %s by group/others (mode %s); chmod 600 it", path,
			 st->st_mode & 0022 ? "writable" : "readable", mode);
		fl_log(FL_LOG_ERROR, msg, "path", path, "mode", mode, NULL);
		token_unsafe = true;
		return true;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		char uid[16];

		snprintf(uid, sizeof(uid), "%u", (unsigned)st->st_uid);
		snprintf(msg, sizeof(msg),
			 "token file %s belongs to uid %s, not to root or the agent's user; "
			 "chown it",
			 path, uid);
		fl_log(FL_LOG_ERROR, msg, "path", path, "uid", uid, NULL);
		token_unsafe = true;
		return true;
	}
	return false;
}

/*
 * Read a whole small file (token, PEM) with a cap. Opened non-blocking: a
 * FIFO (or a device) given by mistake is refused by the regular-file check
 * instead of hanging the start until somebody writes to it.
 */
static char *read_file(const char *path, size_t max, const char *what)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		fl_log(FL_LOG_ERROR, "cannot open file", "what", what, "path", path, "error",
		       strerror(errno), NULL);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		fl_log(FL_LOG_ERROR, "not a regular file of acceptable size", "what", what, "path",
		       path, NULL);
		goto fail;
	}
	if (!strcmp(what, "token") && token_file_unsafe(&st, path))
		goto fail;
	if (fl_buf_read_fd(fd, max, &buf, &n) < 0)
		goto fail;
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* Tell systemd (Type=notify) we are serving, when it asked. */
static void notify_ready(void)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!p || (p[0] != '/' && p[0] != '@') || strlen(p) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, p, strlen(p));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p))) < 0)
		fl_log(FL_LOG_WARN, "sd_notify failed", "error", strerror(errno), NULL);
	close(fd);
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_TOKEN,
		OPT_STATE,
		OPT_CONFIG,
		OPT_LOGFMT,
		OPT_LOGLEVEL,
		OPT_CERT,
		OPT_KEY,
		OPT_CA,
		OPT_PARENT,
		OPT_INSECURE,
		OPT_KEEPCAPS,
		OPT_VERSION,
		OPT_HELP
	};
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"token-file", required_argument, NULL, OPT_TOKEN},
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"log-format", required_argument, NULL, OPT_LOGFMT},
	    {"log-level", required_argument, NULL, OPT_LOGLEVEL},
	    {"tls-cert", required_argument, NULL, OPT_CERT},
	    {"tls-key", required_argument, NULL, OPT_KEY},
	    {"tls-client-ca", required_argument, NULL, OPT_CA},
	    {"exit-with-parent", no_argument, NULL, OPT_PARENT},
	    {"insecure-plaintext", no_argument, NULL, OPT_INSECURE},
	    {"keep-caps", no_argument, NULL, OPT_KEEPCAPS},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *token_file = NULL, *state_dir = NULL, *config = NULL;
	const char *cert_file = NULL, *key_file = NULL, *ca_file = NULL;
	enum fl_log_format fmt = FL_LOG_KV;
	enum fl_log_level level = FL_LOG_INFO;
	bool exit_with_parent = false, insecure_plaintext = false, keep_caps = false;
	struct fl_agent_config cfg;
	struct fl_agent *agent = NULL;
	struct fl_http *http = NULL;
	struct fl_http_opts ho = {0};
	char *token = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	struct fl_error err;
	int opt, rc = EXIT_START, failed, parent_fd = -1, r;

	fl_agent_config_init(&cfg);
	fl_error_init(&err);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			listen = optarg;
			break;
		case OPT_TOKEN:
			token_file = optarg;
			break;
		case OPT_STATE:
			state_dir = optarg;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_LOGFMT:
			if (fl_log_format_parse(optarg, &fmt) < 0) {
				fprintf(stderr, "faultline-agent: --log-format: kv or json\n");
				return 2;
			}
			break;
		case OPT_LOGLEVEL:
			if (!strcmp(optarg, "debug"))
				level = FL_LOG_DEBUG;
			else if (!strcmp(optarg, "info"))
				level = FL_LOG_INFO;
			else if (!strcmp(optarg, "warn"))
				level = FL_LOG_WARN;
			else if (!strcmp(optarg, "error"))
				level = FL_LOG_ERROR;
			else {
				fprintf(stderr,
					"faultline-agent: --log-level: debug, info, warn or "
					"error\n");
				return 2;
			}
			break;
		case OPT_CERT:
			cert_file = optarg;
			break;
		case OPT_KEY:
			key_file = optarg;
			break;
		case OPT_CA:
			ca_file = optarg;
			break;
		case OPT_PARENT:
			exit_with_parent = true;
			break;
		case OPT_INSECURE:
			insecure_plaintext = true;
			break;
		case OPT_KEEPCAPS:
			keep_caps = true;
			break;
		case OPT_VERSION:
			printf("faultline-agent %s\n", FL_VERSION);
			return 0;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !listen || !token_file || !state_dir) {
		usage(stderr);
		return 2;
	}
	if (!!cert_file != !!key_file || (ca_file && !cert_file)) {
		fprintf(stderr, "faultline-agent: --tls-cert and --tls-key go together; "
				"--tls-client-ca needs them\n");
		return 2;
	}
	fl_log_setup(fmt, level);
	if (config && (r = fl_agent_config_load(&cfg, config, &err)) < 0) {
		fl_log(FL_LOG_ERROR, r == -EACCES ? "unsafe config file" : "invalid config", "file",
		       config, "path", err.path, "error", err.msg, NULL);
		rc = r == -EACCES ? EXIT_UNSAFE : EXIT_USAGE;
		goto out;
	}
	/* Pod targets: the Kubernetes client, configured from the environment. */
	if (fl_kube_client_setup(&err) < 0) {
		fl_log(FL_LOG_ERROR, "kubernetes client", "error", err.msg, NULL);
		rc = EXIT_USAGE;
		goto out;
	}
	token = read_file(token_file, TOKEN_MAX, "token");
	if (!token) {
		if (token_unsafe)
			rc = EXIT_UNSAFE;
		goto out;
	}
	token[strcspn(token, "\r\n")] = '\0';
	if (strlen(token) < TOKEN_MIN) {
		fl_log(FL_LOG_ERROR, "token too short (16 characters at least)", "path", token_file,
		       NULL);
		rc = EXIT_USAGE;
		goto out;
	}
	/*
	 * What a header can carry and a person can check: visible ASCII. Sixteen
	 * spaces are no secret, and a space or a control character could never
	 * be sent back the same way (the agent skips the spaces after "Bearer").
	 */
	for (const char *p = token; *p; p++)
		if (*p < 0x21 || *p > 0x7e) {
			fl_log(FL_LOG_ERROR,
			       "token must be visible ASCII characters only (no spaces, tabs or "
			       "control characters)",
			       "path", token_file, NULL);
			rc = EXIT_USAGE;
			goto out;
		}
	if (cert_file && (!(cert = read_file(cert_file, PEM_MAX, "tls-cert")) ||
			  !(key = read_file(key_file, PEM_MAX, "tls-key")) ||
			  (ca_file && !(ca = read_file(ca_file, PEM_MAX, "tls-client-ca")))))
		goto out;
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	{
		struct sigaction sa = {.sa_handler = on_signal};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
	if (exit_with_parent) {
		/*
		 * The embedded agent stops with its controller, reverting on the way
		 * out. A pidfd on the parent process, not PR_SET_PDEATHSIG: that one
		 * fires when the parent *thread* that forked us exits.
		 */
		pid_t ppid = getppid();

		parent_fd = (int)syscall(SYS_pidfd_open, ppid, 0);
		if (parent_fd < 0 || getppid() != ppid) {
			fl_log(FL_LOG_ERROR,
			       "--exit-with-parent: the parent is gone or cannot be "
			       "watched",
			       NULL);
			goto out;
		}
	}
	if ((r = fl_agent_new(state_dir, &cfg, &agent, &err)) < 0) {
		fl_log(FL_LOG_ERROR,
		       r == -EACCES ? "unsafe state directory" : "cannot open the state directory",
		       "dir", state_dir, "error", err.msg, NULL);
		if (r == -EACCES)
			rc = EXIT_UNSAFE;
		goto out;
	}
	failed = fl_agent_reconcile(agent);
	if (failed) {
		char n[16];

		snprintf(n, sizeof(n), "%d", failed);
		fl_log(FL_LOG_ERROR, "journal records could not be reverted and are kept", "count",
		       n, NULL);
	}
	ho.listen = listen;
	ho.token = token;
	ho.tls_cert = cert;
	ho.tls_key = key;
	ho.tls_client_ca = ca;
	ho.insecure_plaintext = insecure_plaintext;
	ho.cfg = &cfg;
	ho.agent = agent;
	if (fl_http_listen(&ho, &http, &err) < 0) {
		fl_log(FL_LOG_ERROR, "cannot serve", "error", err.msg, NULL);
		if (err.code == -EACCES)
			rc = EXIT_UNSAFE;
		goto out;
	}
	/*
	 * Bound and reconciled: from here on only the faults' capabilities are
	 * needed. Capabilities are per thread, so before the lease and HTTP
	 * threads exist (threads started later inherit the reduced sets).
	 */
	if (keep_caps) {
		fl_log(FL_LOG_WARN, "--keep-caps: keeping every capability (debugging only)", NULL);
	} else {
		char kept[256];
		bool noroot = false;

		r = fl_agent_caps_drop(kept, sizeof(kept), cfg.lease_priority > 0, &noroot);
		if (r < 0) {
			fl_log(FL_LOG_ERROR, "cannot drop capabilities", "error", strerror(-r),
			       NULL);
			goto out;
		}
		if (r == 0)
			fl_log(FL_LOG_INFO, "capabilities dropped", "kept", kept,
			       "launched_commands",
			       noroot ? "no capabilities" : "the agent's bounding set", NULL);
	}
	if (fl_agent_start(agent) < 0)
		goto out;
	if (fl_http_serve(http, &err) < 0) {
		fl_log(FL_LOG_ERROR, "cannot serve", "error", err.msg, NULL);
		goto out;
	}
	{
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		fl_log(FL_LOG_INFO, "ready", "version", FL_VERSION, "pid", pid, "state_dir",
		       state_dir, NULL);
	}
	notify_ready();
	for (;;) {
		struct pollfd p[2] = {{.fd = sig_pipe[0], .events = POLLIN},
				      {.fd = parent_fd, .events = POLLIN}};
		unsigned char b;

		if (poll(p, parent_fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (read(sig_pipe[0], &b, 1) == 1) {
			fl_log(FL_LOG_INFO, "stopping: reverting every live fault", "signal",
			       strsignal(b), NULL);
			break;
		}
		if (parent_fd >= 0 && (p[1].revents & POLLIN)) {
			fl_log(FL_LOG_INFO,
			       "stopping: the parent exited; reverting every live "
			       "fault",
			       NULL);
			break;
		}
	}
	rc = 0;
	{
		/*
		 * Bounded: stop accepting, revert every live fault in parallel, wait
		 * for requests in flight, all within FL_AGENT_STOP_MS (+1 s for the
		 * answers). A revert or request still stuck then (a process that
		 * survives SIGKILL, a lock held by someone else) is not waited
		 * for: its record stays in the journal and the next start
		 * reconciles it.
		 */
		uint64_t deadline = fl_now_mono_ms() + FL_AGENT_STOP_MS + 1000;
		bool stuck = false;
		int left;

		fl_http_quiesce(http);
		left = fl_agent_stop(agent, FL_AGENT_STOP_MS, &stuck);
		if (stuck || !fl_http_drain(http, deadline)) {
			char n[16];

			snprintf(n, sizeof(n), "%d", left);
			fl_log(FL_LOG_ERROR,
			       "exiting with a revert or a request still running: what is not "
			       "reverted stays in the journal for the next start",
			       "left", n, NULL);
			_exit(rc);
		}
	}
out:
	fl_http_stop(http);
	fl_agent_free(agent); /* reverts whatever is still live */
	if (agent)
		fl_log(FL_LOG_INFO, "stopped", NULL);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	free(cert);
	if (key)
		memset(key, 0, strlen(key));
	free(key);
	free(ca);
	fl_agent_config_done(&cfg);
	if (parent_fd >= 0)
		close(parent_fd);
	fl_kube_client_teardown();
	return rc;
}
