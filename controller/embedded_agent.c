/*
 * The embedded default of `faultline run`: without any agent configured, a
 * local faultline-agent on a private unix socket in a private temp dir, with
 * a one-time token, reached over the very same agent API. Stopped in order at
 * the end of the run; a journal it leaves behind (it was killed) is reverted
 * by starting it once more on the same state dir.
 */
#include "controller/embedded_agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/duration.h"

#define EMBED_WAIT_MS 10000
#define EMBED_STOP_MS 10000

static int find_agent_binary(const char *given, char *out, size_t len)
{
	static const char *const rel[] = {"faultline-agent", "../agent/faultline-agent",
					  "../sbin/faultline-agent"};
	char self[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (given) {
		snprintf(out, len, "%s", given);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	if (snprintf(dir, sizeof(dir), "%s", dirname(self)) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(out, len, "%s/%s", dir, rel[i]) >= (int)len)
			continue;
		if (access(out, X_OK) == 0)
			return 0;
	}
	if (snprintf(out, len, "%s/faultline-agent", dir) >= (int)len)
		return -ENAMETOOLONG;
	return -ENOENT;
}

static void log_tail(const char *dir, char *buf, size_t len)
{
	char path[128], data[4096];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/agent.log", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(data) - 1)
		lseek(fd, -(off_t)sizeof(data) + 1, SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n <= 0)
		return;
	data[n] = '\0';
	while (n > 0 && data[n - 1] == '\n')
		data[--n] = '\0';
	{
		const char *last = strrchr(data, '\n') ? strrchr(data, '\n') + 1 : data;
		size_t l = strlen(last);

		if (l >= len)
			l = len - 1;
		memcpy(buf, last, l);
		buf[l] = '\0';
	}
}

static void rm_embed_dir(const char *dir)
{
	static const char *const files[] = {"token", "agent.sock", "agent.log", "state/agent.lock"};
	char p[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/state/faults", dir);
	rmdir(p); /* only when empty: a leftover record is kept for the operator */
	snprintf(p, sizeof(p), "%s/state", dir);
	rmdir(p);
	rmdir(dir);
}

/* Whether the embedded agent's journal still holds a record (a fault it did not revert). */
static bool embed_journal_left(const char *dir)
{
	char p[128];
	struct dirent *de;
	bool left = false;
	DIR *d;

	snprintf(p, sizeof(p), "%s/state/faults", dir);
	d = opendir(p);
	if (!d)
		return false;
	while (!left && (de = readdir(d)))
		left = de->d_name[0] != '.';
	closedir(d);
	return left;
}

/*
 * Start the embedded faultline-agent: default signals, stdin/stdout on
 * /dev/null, stderr to its log, and its own process group, so a ^C at the
 * terminal reaches the controller, which reverts and then stops the agent in
 * order. Returns the pid, or -1 with errno from fork().
 */
static pid_t embed_spawn(const char *bin, const char *listen, const char *tok, const char *state,
			 const char *logp)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		setpgid(0, 0);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (lf >= 0)
			dup2(lf, 2);
		execl(bin, bin, "--listen", listen, "--token-file", tok, "--state-dir", state,
		      "--exit-with-parent", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * The embedded agent died with faults live (kill -9, OOM): its journal is in
 * a temp dir that no later run will open. Start an agent once more on the
 * same state dir: it reverts the journal at start (reconcile), then stops.
 */
static void embed_reconcile(const struct fl_embedded_agent *a)
{
	char bin[PATH_MAX], tok[128], state[128], logp[128], listen[160];
	uint64_t end;
	pid_t pid;

	if (find_agent_binary(a->binary, bin, sizeof(bin)) < 0)
		return;
	snprintf(tok, sizeof(tok), "%s/token", a->dir);
	snprintf(state, sizeof(state), "%s/state", a->dir);
	snprintf(logp, sizeof(logp), "%s/agent.log", a->dir);
	snprintf(listen, sizeof(listen), "unix:%s/agent.sock", a->dir);
	pid = embed_spawn(bin, listen, tok, state, logp);
	if (pid < 0)
		return;
	/* Reconcile removes each record it reverts, before the agent serves. */
	end = fl_now_mono_ms() + EMBED_WAIT_MS;
	while (embed_journal_left(a->dir) && fl_now_mono_ms() < end &&
	       waitpid(pid, NULL, WNOHANG) == 0)
		usleep(5000);
	kill(pid, SIGTERM);
	end = fl_now_mono_ms() + EMBED_STOP_MS;
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (fl_now_mono_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		usleep(2000);
	}
}

int fl_embedded_agent_stop(struct fl_embedded_agent *a)
{
	int status = 0;
	uint64_t end;

	if (a->pid <= 0)
		return 0;
	/* SIGTERM: the agent reverts whatever is still live, then exits. */
	kill(a->pid, SIGTERM);
	end = fl_now_mono_ms() + EMBED_STOP_MS;
	for (;;) {
		pid_t r = waitpid(a->pid, &status, WNOHANG);

		if (r == a->pid || (r < 0 && errno != EINTR))
			break;
		if (fl_now_mono_ms() > end) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	a->pid = 0;
	if (embed_journal_left(a->dir))
		embed_reconcile(a);
	rm_embed_dir(a->dir);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int fl_embedded_agent_start(struct fl_embedded_agent *a, struct fl_agent_client *client,
			    struct fl_agent_ep *ep, struct fl_error *err)
{
	char bin[PATH_MAX], tok[128], sock[128], state[128], logp[128], listen[160];
	unsigned char raw[32];
	char token[2 * sizeof(raw) + 1];
	struct fl_agent_call call;
	uint64_t end;
	int fd, r;
	pid_t pid;

	memset(ep, 0, sizeof(*ep));
	memset(&call, 0, sizeof(call));
	if (a->pid > 0)
		return fl_error_set(err, -EALREADY, NULL, "the local agent runs already");
	r = find_agent_binary(a->binary, bin, sizeof(bin));
	if (r < 0)
		return fl_error_set(err, -ENOENT, NULL,
				    "no agent configured and no faultline-agent to start (%s: %s)",
				    bin, strerror(-r));
	/*
	 * A runtime (tmpfs) dir when there is one: what the journal protects
	 * (stopped processes, frozen cgroups, qdiscs) does not outlive a reboot
	 * either, and fsync there costs nothing.
	 */
	{
		const char *rt = getenv("XDG_RUNTIME_DIR");
		struct stat st;

		if (!rt || rt[0] != '/' || strlen(rt) > 40 || stat(rt, &st) < 0 ||
		    !S_ISDIR(st.st_mode) || access(rt, W_OK) < 0)
			rt = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(a->dir, sizeof(a->dir), "%s/faultline-XXXXXX", rt);
	}
	if (!mkdtemp(a->dir))
		return fl_error_set(err, -errno, NULL, "mkdtemp: %s", strerror(errno));
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		rmdir(a->dir);
		return fl_error_set(err, -EIO, NULL, "getrandom failed");
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	snprintf(tok, sizeof(tok), "%s/token", a->dir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", a->dir);
	snprintf(state, sizeof(state), "%s/state", a->dir);
	snprintf(logp, sizeof(logp), "%s/agent.log", a->dir);
	snprintf(listen, sizeof(listen), "unix:%s", sock);
	fd = open(tok, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, token, strlen(token)) != (ssize_t)strlen(token)) {
		if (fd >= 0)
			close(fd);
		rm_embed_dir(a->dir);
		return fl_error_set(err, -EIO, NULL, "cannot write the one-time token");
	}
	close(fd);
	pid = embed_spawn(bin, listen, tok, state, logp);
	if (pid < 0) {
		int e = errno;

		rm_embed_dir(a->dir);
		return fl_error_set(err, -e, NULL, "fork: %s", strerror(e));
	}
	a->pid = pid;
	r = fl_agent_ep_parse(listen, ep, err);
	if (r < 0)
		goto fail;
	ep->token = strdup(token);
	free(ep->name);
	ep->name = strdup("local");
	memset(token, 0, sizeof(token));
	if (!ep->token || !ep->name) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto fail;
	}
	/* Wait until it serves (it reconciles its fresh journal first). */
	end = fl_now_mono_ms() + EMBED_WAIT_MS;
	call.ep = ep;
	call.method = "GET";
	snprintf(call.path, sizeof(call.path), "/v1/health");
	for (;;) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			char tail[512];

			a->pid = 0;
			log_tail(a->dir, tail, sizeof(tail));
			r = fl_error_set(err, -EIO, NULL,
					 "the local faultline-agent (%s) exited: %s", bin,
					 tail[0] ? tail : "no message");
			goto fail;
		}
		if (fl_agent_client_run(client, &call, 1, 1000) == 0 && call.status == 200)
			break;
		if (fl_now_mono_ms() > end) {
			r = fl_error_set(err, -ETIMEDOUT, NULL,
					 "the local faultline-agent did not answer within %d ms",
					 EMBED_WAIT_MS);
			goto fail;
		}
		usleep(5000);
	}
	fl_agent_call_done(&call);
	return 0;
fail:
	fl_agent_call_done(&call);
	fl_agent_ep_done(ep);
	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
	}
	rm_embed_dir(a->dir);
	return r;
}
