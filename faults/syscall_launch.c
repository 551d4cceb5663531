/* The command form of the `syscall` fault kind: see faults/syscall_launch.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults/syscall_launch.h"
#include "preload/rules.h"

extern char **environ;

void fl_launch_free(struct fl_launch *l)
{
	if (!l)
		return;
	for (size_t i = 0; l->argv && i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
	for (size_t i = 0; l->env && i < l->nenv; i++)
		free(l->env[i]);
	free(l->env);
	free(l);
}

static bool env_name_ok(const char *s)
{
	if (!*s || strlen(s) > 128 || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* A "." or ".." component would let a path leave the directory it names. */
static bool has_dot_component(const char *s)
{
	for (const char *c = s; (c = strchr(c, '/'));) {
		c++;
		if (c[0] == '.' &&
		    (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))))
			return true;
	}
	return false;
}

static int abs_path(const cJSON *v, const char *path, char *out, struct fl_error *err)
{
	if (!cJSON_IsString(v) || v->valuestring[0] != '/' || strlen(v->valuestring) >= PATH_MAX ||
	    has_dot_component(v->valuestring))
		return fl_error_set(err, -EINVAL, path,
				    "expected an absolute path without \".\" or \"..\" components");
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

int fl_launch_parse(const cJSON *target, struct fl_launch **out, struct fl_error *err)
{
	struct fl_launch *l = NULL;
	const cJSON *it, *cmd = cJSON_GetObjectItemCaseSensitive(target, "command");
	char path[FL_ERROR_PATH_MAX];
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (!cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd)) {
		rc = fl_error_set(err, -EINVAL, "$.target.command",
				  "expected [\"/path/prog\", \"arg\", ...]");
		goto out;
	}
	if (cJSON_GetArraySize(cmd) > FL_LAUNCH_ARGS_MAX) {
		rc = fl_error_set(err, -E2BIG, "$.target.command", "at most %d arguments",
				  FL_LAUNCH_ARGS_MAX);
		goto out;
	}
	l->argv = calloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
	if (!l->argv) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, cmd)
	{
		snprintf(path, sizeof(path), "$.target.command[%zu]", l->argc);
		if (!cJSON_IsString(it) || strlen(it->valuestring) > FL_LAUNCH_ARG_LEN_MAX ||
		    (l->argc == 0 && !it->valuestring[0])) {
			rc = fl_error_set(err, -EINVAL, path,
					  "expected a string of at most %d bytes",
					  FL_LAUNCH_ARG_LEN_MAX);
			goto out;
		}
		if (!(l->argv[l->argc] = strdup(it->valuestring))) {
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		l->argc++;
	}
	if ((l->argv[0][0] != '/' && strchr(l->argv[0], '/')) || has_dot_component(l->argv[0])) {
		rc = fl_error_set(err, -EINVAL, "$.target.command[0]",
				  "expected an absolute path (without \".\" or \"..\" components) "
				  "or a program name found in PATH");
		goto out;
	}
	cJSON_ArrayForEach(it, target)
	{
		snprintf(path, sizeof(path), "$.target.%s", it->string);
		if (!strcmp(it->string, "command")) {
			continue;
		} else if (!strcmp(it->string, "cwd")) {
			if ((rc = abs_path(it, path, l->cwd, err)) < 0)
				goto out;
		} else if (!strcmp(it->string, "output")) {
			if ((rc = abs_path(it, path, l->output, err)) < 0)
				goto out;
		} else if (!strcmp(it->string, "on_revert")) {
			if (!cJSON_IsString(it) ||
			    (strcmp(it->valuestring, "stop") && strcmp(it->valuestring, "keep"))) {
				rc = fl_error_set(err, -EINVAL, path,
						  "expected \"stop\" or \"keep\"");
				goto out;
			}
			l->keep = !strcmp(it->valuestring, "keep");
		} else if (!strcmp(it->string, "env")) {
			const cJSON *e;

			if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) > FL_LAUNCH_ENV_MAX) {
				rc =
				    fl_error_set(err, -EINVAL, path,
						 "expected an object of at most %d NAME: \"value\"",
						 FL_LAUNCH_ENV_MAX);
				goto out;
			}
			l->env = calloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(char *));
			if (!l->env) {
				rc = fl_error_set(err, -ENOMEM, "", "out of memory");
				goto out;
			}
			cJSON_ArrayForEach(e, it)
			{
				snprintf(path, sizeof(path), "$.target.env.%s", e->string);
				if (!env_name_ok(e->string) || !strcmp(e->string, FL_SHM_ENV)) {
					rc = fl_error_set(err, -EINVAL, path,
							  "not a usable variable name");
					goto out;
				}
				if (!cJSON_IsString(e) ||
				    strlen(e->valuestring) > FL_LAUNCH_ARG_LEN_MAX) {
					rc = fl_error_set(err, -EINVAL, path,
							  "expected a string of at most %d bytes",
							  FL_LAUNCH_ARG_LEN_MAX);
					goto out;
				}
				if (asprintf(&l->env[l->nenv], "%s=%s", e->string, e->valuestring) <
				    0) {
					l->env[l->nenv] = NULL;
					rc = fl_error_set(err, -ENOMEM, "", "out of memory");
					goto out;
				}
				l->nenv++;
			}
		} else {
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto out;
		}
	}
	*out = l;
	l = NULL;
	rc = 0;
out:
	fl_launch_free(l);
	return rc;
}

/* The launched command's value of NAME: its env override, else the agent's. */
static const char *launch_getenv(const struct fl_launch *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->nenv; i++)
		if (!strncmp(l->env[i], name, n) && l->env[i][n] == '=')
			return l->env[i] + n + 1;
	return getenv(name);
}

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int fl_launch_resolve(struct fl_launch *l, const struct fl_fault_ctx *ctx, struct fl_error *err)
{
	const char *a0 = l->argv[0];
	struct stat st;
	int rc;

	if (a0[0] == '/') {
		if (strlen(a0) >= sizeof(l->path) || !executable(a0))
			return fl_error_set(err, -ENOENT, "$.target.command[0]",
					    "%s is not an executable file", a0);
		snprintf(l->path, sizeof(l->path), "%s", a0);
	} else {
		const char *p = launch_getenv(l, "PATH");
		bool found = false;

		if (!p || !*p)
			p = "/usr/local/bin:/usr/bin:/bin";
		while (!found && *p) {
			size_t n = strcspn(p, ":");
			char cand[PATH_MAX];

			/* Only absolute PATH entries: the agent's cwd is not the user's. */
			if (n && p[0] == '/' &&
			    snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, a0) <
				(int)sizeof(cand) &&
			    executable(cand)) {
				snprintf(l->path, sizeof(l->path), "%s", cand);
				found = true;
			}
			p += n + (p[n] == ':');
		}
		if (!found)
			return fl_error_set(err, -ENOENT, "$.target.command[0]",
					    "\"%s\" is not found in PATH", a0);
	}
	if (l->cwd[0] && (stat(l->cwd, &st) < 0 || !S_ISDIR(st.st_mode)))
		return fl_error_set(err, -ENOENT, "$.target.cwd", "%s is not a directory", l->cwd);
	if (l->output[0]) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", l->output);
		*strrchr(dir, '/') = '\0';
		if (stat(dir[0] ? dir : "/", &st) < 0 || !S_ISDIR(st.st_mode))
			return fl_error_set(err, -ENOENT, "$.target.output",
					    "%s: the directory does not exist", l->output);
	}
	if (fl_preload_locate(NULL, l->lib, sizeof(l->lib)) < 0)
		return fl_error_set(
		    err, -EOPNOTSUPP, "$.target.command",
		    "cannot find " FL_PRELOAD_LIB_NAME
		    " (beside faultline-agent, in ../lib/faultline, or set " FL_PRELOAD_LIB_ENV
		    ")");
	if (ctx && ctx->allow_command &&
	    (rc = ctx->allow_command(ctx->opaque, l->path, l->argv, err)) < 0)
		return rc;
	return 0;
}

/* The environment of the command: the agent's, its overrides, the shim's two variables. */
static char **launch_env(const struct fl_launch *l, const char *table)
{
	const char *user_preload = NULL;
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + l->nenv + 3, sizeof(char *));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		bool skip = (len == 10 && !strncmp(environ[i], "LD_PRELOAD", 10)) ||
			    (len == strlen(FL_SHM_ENV) && !strncmp(environ[i], FL_SHM_ENV, len));

		for (size_t j = 0; !skip && j < l->nenv; j++)
			skip = !strncmp(environ[i], l->env[j], len) && l->env[j][len] == '=';
		if (!skip)
			envp[k++] = strdup(environ[i]);
	}
	for (size_t j = 0; j < l->nenv; j++) {
		if (!strncmp(l->env[j], "LD_PRELOAD=", 11)) {
			user_preload = l->env[j] + 11;
			continue;
		}
		envp[k++] = strdup(l->env[j]);
	}
	if (asprintf(&envp[k], "LD_PRELOAD=%s%s%s", l->lib,
		     user_preload && *user_preload ? ":" : "",
		     user_preload ? user_preload : "") < 0)
		envp[k] = NULL;
	k++;
	if (asprintf(&envp[k], "%s=%s", FL_SHM_ENV, table) < 0)
		envp[k] = NULL;
	k++;
	for (size_t i = 0; i < k; i++)
		if (!envp[i]) {
			for (size_t j = 0; j < k; j++)
				free(envp[j]);
			free(envp);
			return NULL;
		}
	return envp;
}

struct watch {
	pid_t pid;
	char table[FL_SHM_NAME_MAX];
};

/* Reap the command when it ends, then disarm and remove its table. */
static void *watch_main(void *p)
{
	struct watch *w = p;
	struct fl_preload_table *t = NULL;

	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* Its children (same table, inherited) run on, unfaulted. */
	if (fl_preload_table_open(w->table, &t) == 0) {
		if (fl_preload_table_disarm(t) < 0)
			(void)0; /* the unlink below still ends it for new mappers */
		fl_preload_table_close(t);
	}
	(void)fl_preload_table_unlink(w->table);
	free(w);
	return NULL;
}

int fl_launch_spawn(const struct fl_launch *l, const char *table, struct fl_proc_ident *out,
		    struct fl_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct watch *w = NULL;
	char **envp = NULL;
	sigset_t none, all;
	pthread_attr_t ta;
	pthread_t th;
	pid_t pid = -1;
	int rc;

	envp = launch_env(l, table);
	if (!envp)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	/* A daemon's ignored signals (SIGPIPE) and masks must not leak into the command. */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	/* A group of its own: revert stops what it forked too. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, l->output[0] ? l->output : "/dev/null",
					 O_WRONLY | O_CREAT | O_APPEND, 0640);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	/* The agent's own descriptors (sockets, journal, lock) stay the agent's. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (l->cwd[0])
		posix_spawn_file_actions_addchdir_np(&fa, l->cwd);
	rc = posix_spawn(&pid, l->path, &fa, &at, l->argv, envp);
	if (rc) {
		rc = fl_error_set(err, -rc, "$.target.command", "starting %s: %s", l->path,
				  strerror(rc));
		goto out;
	}
	out->pid = pid;
	/* Our child cannot be reaped before we do: its stat is there, even as a zombie. */
	if ((rc = fl_proc_stat(pid, &out->start, NULL)) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = fl_error_set(err, rc, "$.target.command", "%s ended at once", l->path);
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (w) {
		w->pid = pid;
		snprintf(w->table, sizeof(w->table), "%s", table);
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&ta, 64 * 1024);
		if (pthread_create(&th, &ta, watch_main, w) == 0)
			w = NULL;
		pthread_attr_destroy(&ta);
	}
	if (w) {
		/* Without a watcher the command would outlive its cleanup: refuse. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = fl_error_set(err, -EAGAIN, "", "cannot start a thread to watch the command");
		goto out;
	}
	rc = 0;
out:
	free(w);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	for (size_t i = 0; envp[i]; i++)
		free(envp[i]);
	free(envp);
	return rc;
}

/* Wait until the pidfd says the process ended, at most ms. */
static bool wait_exit(int pidfd, unsigned ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int r;

	while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return r > 0;
}

static void group_signal(const struct fl_proc_ident *p, int pidfd, int sig)
{
	/* The group only when the verified leader still leads it. */
	if (getpgid(p->pid) != p->pid || kill(-p->pid, sig) < 0)
		(void)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int fl_launch_stop(const struct fl_proc_ident *p, unsigned grace_ms)
{
	int fd = fl_proc_pidfd(p);

	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	group_signal(p, fd, SIGTERM);
	if (!wait_exit(fd, grace_ms)) {
		group_signal(p, fd, SIGKILL);
		if (!wait_exit(fd, 5000)) {
			close(fd);
			return -ETIMEDOUT;
		}
	}
	close(fd);
	return 0;
}
