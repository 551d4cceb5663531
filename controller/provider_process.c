/*
 * The `process` provider: posix_spawnp() the program in its own process
 * group with stdin on /dev/null and stdout/stderr on pipes, then one poll(2)
 * loop watches the pipes, a pidfd for the child's exit, the cancel fd and the
 * deadline. Stopping a process means its whole group: SIGTERM, then SIGKILL
 * after FL_PROCESS_KILL_GRACE_MS, so helpers it forked go too.
 *
 * A process that exits normally may leave a daemon behind that still holds
 * the pipes (an action that starts a server does exactly that): output is
 * then collected for a short grace after the exit, not until EOF.
 */
#include "controller/provider.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/duration.h"

extern char **environ;

/* How long output is still collected after the child exited while its pipes stay open. */
#define FL_PROCESS_DRAIN_MS 100

struct fl_stream {
	int fd;
	struct fl_buf buf;
	bool truncated;
};

static int fl_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Read what is there; returns false at EOF or on a hard error. */
static bool fl_stream_read(struct fl_stream *s)
{
	char chunk[16384];

	for (;;) {
		ssize_t n = read(s->fd, chunk, sizeof(chunk));

		if (n > 0) {
			size_t room = s->buf.max - s->buf.len;
			size_t take = (size_t)n < room ? (size_t)n : room;

			if (take && fl_buf_add(&s->buf, chunk, take) < 0)
				s->truncated = true;
			if (take < (size_t)n)
				s->truncated = true;
			continue;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
}

static void fl_stream_close(struct fl_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Where `name` is, as Python's shutil.which() finds it: a name with a slash
 * as it is, else the first executable regular file in PATH. NULL if none.
 */
static char *fl_which(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;

	if (strchr(name, '/'))
		return strdup(name);
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; p; p = *end ? end + 1 : NULL) {
		char *cand = NULL;

		end = strchrnul(p, ':');
		if (asprintf(&cand, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", name) < 0)
			return NULL;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
	}
	return NULL;
}

static int fl_spawn(const struct fl_provider *p, int out_w, int err_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	const char *prog = p->path;
	char **argv, *cmd = NULL;
	int r;

	argv = calloc(p->argc + 4, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	if (p->shell_args) {
		/* Chaos Toolkit: subprocess.run(f"{shutil.which(path)} {arguments}", shell=True) */
		char *full = fl_which(p->path);

		r = asprintf(&cmd, "%s %s", full ? full : p->path, p->shell_args);
		free(full);
		if (r < 0) {
			free(argv);
			free(cmd);
			return -ENOMEM;
		}
		prog = "/bin/sh";
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = cmd;
	} else {
		argv[0] = p->path;
		for (size_t i = 0; i < p->argc; i++)
			argv[i + 1] = p->argv[i];
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
	/* Own process group: a timeout or Ctrl-C stops the child and all it started. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(pid, prog, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	free(cmd);
	return -r;
}

static int fl_min_timeout(uint64_t now, uint64_t a, uint64_t b)
{
	uint64_t t = 0;

	if (a && (!t || a < t))
		t = a;
	if (b && (!t || b < t))
		t = b;
	if (!t)
		return -1;
	return t > now ? (int)(t - now > 60000 ? 60000 : t - now) : 0;
}

int fl_provider_process_run(const struct fl_provider *p, const struct fl_call_opts *o,
			    cJSON **result, struct fl_error *err)
{
	struct fl_stream out = {.fd = -1}, errs = {.fd = -1};
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	size_t cap = o && o->output_max ? o->output_max : FL_PROVIDER_OUTPUT_MAX;
	uint64_t start = fl_now_mono_ms(), deadline = 0, run_deadline = o ? o->deadline_ms : 0;
	uint64_t exited_at = 0, kill_at = 0;
	int cancel_fd = o ? o->cancel_fd : -1;
	int pidfd = -1, status = 0, r;
	bool exited = false;
	int stop = 0; /* -ETIMEDOUT / -ECANCELED once we decided to stop the child */
	pid_t pid = -1;
	cJSON *res = NULL;

	*result = NULL;
	fl_buf_init(&out.buf, cap);
	fl_buf_init(&errs.buf, cap);
	if (!p->path || !*p->path) {
		r = fl_error_set(err, -EINVAL, NULL, "process provider without a path");
		goto out;
	}
	if (p->timeout_ms)
		deadline = start + p->timeout_ms;
	if (pipe2(out_p, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err_p, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = fl_error_set(err, -errno, NULL, "pipe: %s", strerror(errno));
		goto out;
	}
	/* The child's ends must block: clear O_NONBLOCK on them (dup2 keeps file status flags). */
	fcntl(out_p[1], F_SETFL, 0);
	fcntl(err_p[1], F_SETFL, 0);
	r = fl_spawn(p, out_p[1], err_p[1], &pid);
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	if (r < 0) {
		fl_error_set(err, r, NULL, "cannot run \"%s\": %s", p->path, strerror(-r));
		goto out;
	}
	out.fd = out_p[0];
	errs.fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	pidfd = fl_pidfd_open(pid);

	for (;;) {
		struct pollfd pfd[4];
		int n = 0, i_out = -1, i_err = -1, i_pid = -1, i_cancel = -1, to;
		uint64_t now = fl_now_mono_ms();

		if (exited &&
		    ((out.fd < 0 && errs.fd < 0) || now >= exited_at + FL_PROCESS_DRAIN_MS))
			break;
		if (!exited && !stop) {
			char d[32];

			if (deadline && now >= deadline)
				stop = fl_error_set(
				    err, -ETIMEDOUT, NULL,
				    "process \"%s\" did not finish within its timeout of %s",
				    p->path, fl_duration_fmt(p->timeout_ms * 1000, d, sizeof(d)));
			else if (run_deadline && now >= run_deadline)
				stop =
				    fl_error_set(err, -ETIMEDOUT, NULL,
						 "process \"%s\" stopped: the experiment's timeout "
						 "passed",
						 p->path);
			if (stop) {
				kill(-pid, SIGTERM);
				kill_at = now + FL_PROCESS_KILL_GRACE_MS;
			}
		}
		if (stop && !exited && kill_at && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}

		if (out.fd >= 0) {
			pfd[n] = (struct pollfd){.fd = out.fd, .events = POLLIN};
			i_out = n++;
		}
		if (errs.fd >= 0) {
			pfd[n] = (struct pollfd){.fd = errs.fd, .events = POLLIN};
			i_err = n++;
		}
		if (!exited && pidfd >= 0) {
			pfd[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
			i_pid = n++;
		}
		if (!stop && cancel_fd >= 0) {
			pfd[n] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
			i_cancel = n++;
		}
		if (exited)
			to = (int)(exited_at + FL_PROCESS_DRAIN_MS - now);
		else if (stop)
			to = kill_at ? (int)(kill_at > now ? kill_at - now : 0) : 50;
		else
			to = fl_min_timeout(now, deadline, run_deadline);
		/* Without a pidfd, look for the exit every 20 ms. */
		if (!exited && pidfd < 0 && (to < 0 || to > 20))
			to = 20;
		if (poll(pfd, (nfds_t)n, to) < 0 && errno != EINTR) {
			r = fl_error_set(err, -errno, NULL, "poll: %s", strerror(errno));
			break;
		}
		if (i_out >= 0 && pfd[i_out].revents && !fl_stream_read(&out))
			fl_stream_close(&out);
		if (i_err >= 0 && pfd[i_err].revents && !fl_stream_read(&errs))
			fl_stream_close(&errs);
		if (i_cancel >= 0 && (pfd[i_cancel].revents & (POLLIN | POLLHUP))) {
			stop = fl_error_set(err, -ECANCELED, NULL,
					    "process \"%s\" stopped: interrupted", p->path);
			kill(-pid, SIGTERM);
			kill_at = fl_now_mono_ms() + FL_PROCESS_KILL_GRACE_MS;
		}
		if (!exited && (i_pid < 0 || pfd[i_pid].revents)) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exited = true;
				exited_at = fl_now_mono_ms();
				/* Stopping means the whole group: take what is left of it too. */
				if (stop)
					kill(-pid, SIGKILL);
			}
		}
	}
	if (!exited) {
		/* poll failed: do not leave the child behind. */
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		goto out;
	}

	res = cJSON_CreateObject();
	if (!res) {
		r = -ENOMEM;
		goto out;
	}
	if (WIFEXITED(status))
		cJSON_AddNumberToObject(res, "status", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		cJSON_AddNumberToObject(res, "status", -WTERMSIG(status));
	else
		cJSON_AddNullToObject(res, "status");
	cJSON_AddItemToObject(res, "stdout", fl_provider_json_bytes(out.buf.data, out.buf.len));
	cJSON_AddItemToObject(res, "stderr", fl_provider_json_bytes(errs.buf.data, errs.buf.len));
	if (out.truncated)
		cJSON_AddBoolToObject(res, "stdout_truncated", true);
	if (errs.truncated)
		cJSON_AddBoolToObject(res, "stderr_truncated", true);
	*result = res;
	res = NULL;
	r = stop;
out:
	fl_stream_close(&out);
	fl_stream_close(&errs);
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	fl_buf_done(&out.buf);
	fl_buf_done(&errs.buf);
	cJSON_Delete(res);
	return r;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t fl_utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return p[0] ? 1 : 0;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

cJSON *fl_provider_json_bytes(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	struct fl_buf b;
	cJSON *j;
	size_t i = 0;

	if (!p)
		return cJSON_CreateString("");
	fl_buf_init(&b, n * 3 + 1);
	while (i < n) {
		size_t k = fl_utf8_seq(s + i, n - i);

		if (k) {
			if (fl_buf_add(&b, s + i, k) < 0)
				break;
			i += k;
		} else {
			if (fl_buf_add(&b, "\xef\xbf\xbd", 3) < 0)
				break;
			i++;
		}
	}
	j = cJSON_CreateString(b.data ? b.data : "");
	fl_buf_done(&b);
	return j;
}
