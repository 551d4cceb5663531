/*
 * libFuzzer target: the journal a faultline-agent reads when it starts
 * (agent/journal.c, fl_agent_reconcile in agent/agent.c): the files in
 * STATE_DIR/faults/ -- names, stale temp files, JSON records -- and each fault
 * kind's revert reading its undo record (faults/), then the listing,
 * metrics and shutdown of whatever could not be reverted. The state dir is
 * on disk, so a corrupted or hostile journal must never crash the agent.
 *
 * Reconcile really reverts: it signals PIDs, writes cgroup files, changes
 * qdiscs and removes shared-memory tables named by the records. So this
 * process first shuts itself in (LLVMFuzzerInitialize, before any thread):
 * new user, PID, network, mount and IPC namespaces, root inside mapped to an
 * unused uid outside (FL_FUZZ_UID) -- no capability and no uid that reaches
 * anything of the host's -- with fresh tmpfs over /dev/shm and
 * /sys/fs/cgroup, and it runs on as PID 1 of its namespace (the parent only
 * waits and passes the exit status on). Needs root; SKIPPED (77) without it.
 * libFuzzer writes its corpus and artifacts as FL_FUZZ_UID: run.sh hands it
 * those directories. SIGTERM to PID 1 from inside is dropped unless handled:
 * run.sh passes -handle_term=0 for this target.
 *
 * Input: files separated by NUL bytes, at most 16, each "NAME\nCONTENT"
 * (an empty NAME is "f<i>.json"; '/' and NULs never reach a name).
 * Every record with a known kind also goes through that kind's describe_plan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/log.h"
#include "faults/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FL_FUZZ_UID 1879048191 /* 0x6fffffff: no account, no process */
#define FILES_MAX   16

static char state[64] = "/tmp/fl-fuzz-journal-XXXXXX";
static char faults[96];
static struct fl_agent_config cfg;
/* Results we do not judge here (FL_WUR). */
static volatile int sink;
static pid_t host; /* the process that was started, outside every namespace */

static void put(pid_t pid, const char *file, const char *s)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		fprintf(stderr, "fuzz-journal: %s: %s\n", path, strerror(errno));
		_exit(1);
	}
	close(fd);
}

/* Wait for pid and leave with its exit status. */
static _Noreturn void pass_on(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	if (getpid() == host)
		(void)rmdir(state);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * host (root, maps the uids) -> child (unshares, then forks) -> grandchild
 * (PID 1 inside, fuzzes). Only the host writes the child's uid_map: mapping
 * another uid than one's own needs CAP_SETUID in the parent namespace.
 */
static void sandbox(void)
{
	char map[64], c;
	int go[2], ready[2];
	pid_t pid;

	if (geteuid() != 0) {
		printf("SKIPPED: fuzz-journal needs root to shut itself in namespaces\n");
		exit(77);
	}
	/* The state dir: made here, a private tmpfs inside, removed by the host. */
	if (!mkdtemp(state) || chown(state, FL_FUZZ_UID, FL_FUZZ_UID) < 0) {
		fprintf(stderr, "fuzz-journal: %s: %s\n", state, strerror(errno));
		exit(1);
	}
	host = getpid();
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		_exit(1);
	if (pid > 0) {
		close(go[0]);
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1) /* the child could not unshare */
			pass_on(pid);
		snprintf(map, sizeof(map), "0 %u 1\n", FL_FUZZ_UID);
		put(pid, "uid_map", map);
		put(pid, "setgroups", "deny");
		put(pid, "gid_map", map);
		if (write(go[1], "g", 1) != 1)
			_exit(1);
		pass_on(pid);
	}
	close(go[1]);
	close(ready[0]);
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC) < 0) {
		printf("SKIPPED: fuzz-journal: unshare: %s\n", strerror(errno));
		_exit(77);
	}
	if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
		_exit(1);
	close(go[0]);
	close(ready[1]);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		pass_on(pid);
	/* PID 1 of the new namespace; from here on uid FL_FUZZ_UID outside. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		_exit(1);
	/* ASan and LSan read /proc/self as the new uid. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=16m") < 0 ||
	    mount("tmpfs", "/sys/fs/cgroup", "tmpfs", 0, "size=1m") < 0 ||
	    mount("tmpfs", state, "tmpfs", 0, "size=64m,mode=0700") < 0) {
		fprintf(stderr, "fuzz-journal: mount: %s\n", strerror(errno));
		_exit(1);
	}
	/* Our own /proc, where PIDs are this namespace's (fails in some containers: fine). */
	(void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] = "{}";
	struct fl_error err;

	(void)argc;
	(void)argv;
	sandbox();
	signal(SIGPIPE, SIG_IGN);
	/* Reconcile logs every unreadable record at ERROR: not a finding, keep quiet. */
	fl_log_setup(FL_LOG_KV, FL_LOG_LEVEL__MAX);
	fl_error_init(&err);
	fl_agent_config_init(&cfg);
	if (fl_agent_config_parse(&cfg, conf, sizeof(conf) - 1, &err) < 0)
		abort();
	snprintf(faults, sizeof(faults), "%s/faults", state);
	return 0;
}

/* Empty STATE_DIR/faults for the next input (the agent creates it on the first). */
static void clear(void)
{
	DIR *d = opendir(faults);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* One journal file; a name that is no plain file name is replaced by f<i>.json. */
static void add_file(int dfd, unsigned i, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t nlen = nl ? (size_t)(nl - p) : 0;
	char name[256];
	int fd;

	if (nlen && nlen < sizeof(name) && !memchr(p, '/', nlen)) {
		memcpy(name, p, nlen);
		name[nlen] = '\0';
	} else {
		snprintf(name, sizeof(name), "f%u.json", i);
	}
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		snprintf(name, sizeof(name), "f%u.json", i);
	if (nl) {
		p = nl + 1;
		n -= nlen + 1;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* What a dry run says about the same record: describe_plan reads an undo record too. */
static void describe(const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	const cJSON *kind, *undo;
	const struct fl_fault_ops *ops;
	struct fl_buf out;
	cJSON *rec;

	if (nl) {
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	rec = cJSON_ParseWithLength((const char *)p, n);
	kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
	undo = cJSON_GetObjectItemCaseSensitive(rec, "undo");
	ops = cJSON_IsString(kind) ? fl_fault_lookup(kind->valuestring) : NULL;
	if (ops && ops->describe_plan && cJSON_IsObject(undo)) {
		fl_buf_init(&out, 64 * 1024);
		(void)ops->describe_plan(undo, &out);
		fl_buf_done(&out);
	}
	cJSON_Delete(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct fl_agent *a = NULL;
	struct fl_error err;
	struct fl_buf out;
	unsigned i = 0;
	cJSON *list;
	int dfd;

	fl_error_init(&err);
	clear();
	/* The first agent makes STATE_DIR/faults; later ones find it. */
	if (fl_agent_new(state, &cfg, &a, &err) < 0) {
		fprintf(stderr, "fuzz-journal: %s\n", err.msg);
		abort();
	}
	dfd = open(faults, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		abort();
	while (p < end && i < FILES_MAX) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		size_t n = (size_t)((z ? z : end) - p);

		add_file(dfd, i++, p, n);
		describe(p, n);
		p = z ? z + 1 : end;
	}
	close(dfd);
	(void)fl_agent_reconcile(a);
	list = fl_agent_list(a, NULL);
	cJSON_Delete(list);
	fl_buf_init(&out, 1 << 20);
	sink += fl_agent_metrics(a, &out);
	fl_buf_done(&out);
	/* Shutdown reverts what reconcile could not and keeps the journal for next time. */
	fl_agent_free(a);
	return 0;
}
