#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

int t_failed;

double t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int t_agent_init(struct t_agent *a, const char *bin)
{
	char path[512];
	unsigned char raw[24];
	FILE *f;
	int fd;

	memset(a, 0, sizeof(*a));
	a->bin = bin;
	snprintf(a->dir, sizeof(a->dir), "/tmp/fl-agent-test-XXXXXX");
	if (!mkdtemp(a->dir))
		return -1;
	snprintf(a->sock, sizeof(a->sock), "%s/agent.sock", a->dir);
	snprintf(a->url, sizeof(a->url), "http://localhost");
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		return -1;
	close(fd);
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(a->token + 2 * i, "%02x", raw[i]);
	snprintf(path, sizeof(path), "%s/token", a->dir);
	/* Created 0600: the agent refuses a token file that group or others can read. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "%s\n", a->token);
	fclose(f);
	return 0;
}

int t_agent_config(struct t_agent *a, const char *json)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", a->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(json, f);
	fclose(f);
	return 0;
}

int t_agent_start(struct t_agent *a)
{
	char tok[512], state[512], cfg[512], log[512], listen[400];
	double deadline;
	pid_t pid;

	snprintf(tok, sizeof(tok), "%s/token", a->dir);
	snprintf(state, sizeof(state), "%s/state", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/config.json", a->dir);
	snprintf(log, sizeof(log), "%s/agent.log", a->dir);
	if (!strncmp(a->url, "http://localhost", 16))
		snprintf(listen, sizeof(listen), "unix:%s", a->sock);
	else
		snprintf(listen, sizeof(listen), "%s", strstr(a->url, "://") + 3);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[32];
		int n = 0, fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		if (fd >= 0)
			dup2(fd, 2);
		argv[n++] = (char *)a->bin;
		argv[n++] = "--listen";
		argv[n++] = listen;
		argv[n++] = "--token-file";
		argv[n++] = tok;
		argv[n++] = "--state-dir";
		argv[n++] = state;
		if (access(cfg, F_OK) == 0) {
			argv[n++] = "--config";
			argv[n++] = cfg;
		}
		for (int i = 0; a->extra && a->extra[i] && n < 30; i++)
			argv[n++] = a->extra[i];
		argv[n] = NULL;
		execv(a->bin, argv);
		_exit(127);
	}
	a->pid = pid;
	deadline = t_now_ms() + 10000;
	while (t_now_ms() < deadline) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			a->pid = 0;
			return -1;
		}
		if (t_http(a, "GET", "/v1/health", NULL, NULL, NULL) == 200)
			return 0;
		usleep(2000);
	}
	return -1;
}

int t_agent_stop(struct t_agent *a)
{
	int st = 0;

	if (a->pid <= 0)
		return -1;
	kill(a->pid, SIGTERM);
	if (waitpid(a->pid, &st, 0) != a->pid)
		st = -1;
	a->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void t_agent_kill9(struct t_agent *a)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Remove a test's folder; links in it are removed, never followed (FTW_PHYS). */
static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void t_agent_done(struct t_agent *a)
{
	if (a->pid > 0)
		t_agent_stop(a);
	if (a->dir[0]) {
		if (t_failed) {
			char log[512], line[1024];
			FILE *f;

			snprintf(log, sizeof(log), "%s/agent.log", a->dir);
			f = fopen(log, "r");
			fprintf(stderr, "--- agent log (%s) ---\n", log);
			while (f && fgets(line, sizeof(line), f))
				fputs(line, stderr);
			if (f)
				fclose(f);
		}
		rm_rf(a->dir);
	}
}

int t_journal_count(const struct t_agent *a)
{
	char path[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "%s/state/faults", a->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

struct sink {
	char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct sink *s = ud;
	size_t k = sz * nm;
	char *np = realloc(s->p, s->n + k + 1);

	if (!np)
		return 0;
	s->p = np;
	memcpy(s->p + s->n, ptr, k);
	s->n += k;
	s->p[s->n] = '\0';
	return k;
}

long t_http(const struct t_agent *a, const char *method, const char *path, const char *body,
	    const char *token, cJSON **json)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct sink s = {0};
	char url[512], auth[256];
	long status = 0;

	if (json)
		*json = NULL;
	if (!c)
		return 0;
	snprintf(url, sizeof(url), "%s%s", a->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!strncmp(a->url, "http://localhost", 16))
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, a->sock);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	{
		CURLcode rc = curl_easy_perform(c);

		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		else if (getenv("T_VERBOSE"))
			fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
	}
	if (json && s.p)
		*json = cJSON_Parse(s.p);
	free(s.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

const char *t_err_path(const cJSON *j)
{
	const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "path");

	return cJSON_IsString(p) ? p->valuestring : "";
}

const char *t_err_code(const cJSON *j)
{
	const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");

	return cJSON_IsString(p) ? p->valuestring : "";
}

pid_t t_spawn(const char *comm)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, comm);
		for (;;)
			pause();
	}
	/* Let it reach pause() so its state reads 'S'. */
	t_wait_state(pid, "S", 2000);
	return pid;
}

void t_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

char t_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '-';
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return '-';
	}
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

char t_wait_state(pid_t pid, const char *want, int ms)
{
	double end = t_now_ms() + ms;
	char st;

	do {
		st = t_state(pid);
		if (strchr(want, st))
			return st;
		usleep(200);
	} while (t_now_ms() < end);
	return st;
}

int t_main(int argc, char **argv, const struct t_case *cases, size_t n, const char **bin)
{
	int r = -1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CASE AGENT_BINARY\n", argv[0]);
		return 2;
	}
	*bin = argv[2];
	if (access(*bin, X_OK) < 0) {
		fprintf(stderr, "FAIL no agent binary at %s\n", *bin);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], cases[i].name))
			r = cases[i].fn();
	curl_global_cleanup();
	if (r < 0) {
		fprintf(stderr, "FAIL unknown case %s\n", argv[1]);
		return 2;
	}
	if (r == 0)
		printf("PASS %s\n", argv[1]);
	return r;
}
