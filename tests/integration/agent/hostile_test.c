/*
 * The agent against hostile neighbours (issue 12): a local unprivileged user
 * who owns a target's shim table, a FIFO or a device named as a path, a
 * forged journal record, aliases of a denied process's network namespace, a
 * thread id instead of a process id. Each case runs a real faultline-agent
 * as root and the attacker as a real unprivileged uid (a forked child that
 * drops to it), with what that user needs (the shim) copied where it can
 * read it. Every case failed on the code before its fix (said in the commit
 * that added it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "preload/fl_shm.h"

/* Two uids no account of this machine uses: the attacker and, where needed, a victim user. */
#define ATTACKER_UID 64991
#define VICTIM_UID   64992

/* Layout words of preload/fl_shm.h that the cases look at (the ABI between processes). */
#define SHM_SIZE	FL_SHM_SIZE
#define SHM_MAGIC	FL_SHM_MAGIC
#define SHM_VERSION	FL_SHM_VERSION
#define SHM_OFF_ARMED	offsetof(struct fl_shm_table, armed)
#define SHM_OFF_MAGIC	offsetof(struct fl_shm_table, magic)
#define SHM_OFF_VERSION offsetof(struct fl_shm_table, version)
#define SHM_OFF_EXPIRES offsetof(struct fl_shm_table, expires_mono_ns)
#define SHM_OFF_OWNER	offsetof(struct fl_shm_table, owner_pid)

static const char *bin;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sh_out(char *buf, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(buf, 1, len - 1, p) : 0;

	buf[n] = '\0';
	if (p)
		pclose(p);
}

/* In a child: become uid (and gid) `uid`, no supplementary groups, die with the parent. */
static void become(uid_t uid)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		_exit(120);
}

/*
 * The shim of this build copied into a fresh 0755 directory, so that an
 * unprivileged user can load it whatever the checkout's permissions are.
 */
static bool shim_copy(char *dir, size_t dlen, char *lib, size_t llen)
{
	const char *slash = strrchr(bin, '/');
	char src[1024];

	snprintf(src, sizeof(src), "%.*s/../preload/libfaultline-preload.so",
		 slash ? (int)(slash - bin) : 1, slash ? bin : ".");
	if (access(src, R_OK) < 0)
		return false;
	snprintf(dir, dlen, "/tmp/fl-hostile-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return false;
	snprintf(lib, llen, "%s/libfaultline-preload.so", dir);
	return sh("cp '%s' '%s' && chmod 0644 '%s'", src, lib, lib) == 0;
}

static void shim_done(const char *dir)
{
	if (dir[0])
		sh("rm -rf '%s'", dir);
}

/* A sleep under the shim, as uid: it registers /dev/shm/faultline-PID itself. */
static pid_t spawn_shimmed(uid_t uid, const char *lib)
{
	char tbl[64];
	double end;
	pid_t pid = fork();

	if (pid == 0) {
		become(uid);
		setenv("LD_PRELOAD", lib, 1);
		unsetenv("FAULTLINE_SHM");
		execlp("sleep", "sleep", "120", (char *)NULL);
		_exit(127);
	}
	snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", pid);
	for (end = t_now_ms() + 5000; access(tbl, F_OK) < 0 && t_now_ms() < end;)
		usleep(2000);
	return access(tbl, F_OK) == 0 ? pid : -pid;
}

static uint64_t shm_word(int pid, size_t off, size_t size)
{
	char tbl[64];
	uint64_t v = 0;
	int fd;

	snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", pid);
	fd = open(tbl, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || pread(fd, &v, size, (off_t)off) != (ssize_t)size)
		v = UINT64_MAX;
	if (fd >= 0)
		close(fd);
	return v;
}

/* Does the shim of this process fault calls now? (`armed` set, expiry not past) */
static bool table_armed(int pid)
{
	uint64_t armed = shm_word(pid, SHM_OFF_ARMED, 4), exp = shm_word(pid, SHM_OFF_EXPIRES, 8);
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (armed == UINT64_MAX || !armed)
		return false;
	return !exp || exp > (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long post(struct t_agent *a, const char *id, const char *kind, const char *target,
		 const char *params, cJSON **out)
{
	char body[4096];

	if (out) { /* the previous answer, if any */
		cJSON_Delete(*out);
		*out = NULL;
	}
	snprintf(body, sizeof(body),
		 "{\"id\":\"%s\",\"kind\":\"%s\",\"target\":%s,\"params\":%s,\"ttl_ms\":60000}", id,
		 kind, target, params);
	return t_http(a, "POST", "/v1/faults", body, a->token, out);
}

static const char *err_msg(const cJSON *j)
{
	const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message");

	return cJSON_IsString(m) ? m->valuestring : "";
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0 && t_state(pid) != 'Z';
}

/* A dry run: 200, or the status with the error's path and message. */
static long dry(struct t_agent *a, const char *kind, const char *target, const char *params,
		char *path, size_t plen, char *msg, size_t mlen)
{
	char body[2048];
	cJSON *j = NULL;
	long st;

	snprintf(body, sizeof(body),
		 "{\"id\":\"d1\",\"kind\":\"%s\",\"target\":%s,\"params\":%s,\"ttl_ms\":60000}",
		 kind, target, params);
	st = t_http(a, "POST", "/v1/faults?dry_run=1", body, a->token, &j);
	snprintf(path, plen, "%s", t_err_path(j));
	snprintf(msg, mlen, "%s", err_msg(j));
	cJSON_Delete(j);
	return st;
}

static bool same_or_any(const char *got, const char *want)
{
	return !want || !strcmp(got, want);
}

static bool has_or_any(const char *got, const char *want)
{
	return !want || strstr(got, want);
}

#define EXPECT(a, status, field, says, kind, target, params)                                       \
	do {                                                                                       \
		char p_[256], m_[512];                                                             \
		long s_ = dry(a, kind, target, params, p_, sizeof(p_), m_, sizeof(m_));            \
		T_CHECK(s_ == (status) && same_or_any(p_, field) && has_or_any(m_, says),          \
			"%s %s: got %ld %s \"%s\", want %d", kind, target, s_, p_, m_, status);    \
	} while (0)

/*
 * The attacker holds the lock of its process's table (flock, as any writer
 * would), and after hold_ms truncates the file to nothing and lets go. Writes
 * one byte to `ready` once it holds the lock.
 */
static pid_t attacker_lock_truncate(uid_t uid, int pid, int hold_ms, int ready)
{
	pid_t a = fork();

	if (a == 0) {
		char tbl[64];
		int fd;

		become(uid);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", pid);
		fd = open(tbl, O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		(void)!write(ready, "l", 1);
		if (hold_ms < 0)
			for (;;)
				pause();
		usleep((useconds_t)hold_ms * 1000);
		if (ftruncate(fd, 0) < 0)
			_exit(2);
		flock(fd, LOCK_UN);
		_exit(0);
	}
	return a;
}

/* --- item 1: a truncated shim table never crashes the agent, at apply or at reconcile --- */

static int case_shm_truncate(void)
{
	struct t_agent a = {0};
	char dir[64] = "", lib[128], name[16], t[128], c;
	pid_t victim = 0, shimmed = 0, att = 0;
	int pp[2] = {-1, -1};
	cJSON *j = NULL;

	if (!shim_copy(dir, sizeof(dir), lib, sizeof(lib))) {
		printf("SKIPPED: no libfaultline-preload.so beside the agent\n");
		return 77;
	}
	T_CHECK(pipe(pp) == 0, "pipe");
	snprintf(name, sizeof(name), "flh-p%d", (int)getpid() % 100000);
	victim = t_spawn(name);
	shimmed = spawn_shimmed(ATTACKER_UID, lib);
	T_CHECK(shimmed > 0, "the attacker's shimmed process registered its table");
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");

	/* A fault on an unrelated process, and one on the attacker's table: both journalled. */
	snprintf(t, sizeof(t), "{\"pid\":%d}", victim);
	T_CHECK(post(&a, "p1", "pause", t, "{\"method\":\"signal\"}", &j) == 201, "pause: %s",
		err_msg(j));
	T_CHECK(t_wait_state(victim, "T", 2000) == 'T', "paused");
	snprintf(t, sizeof(t), "{\"pid\":%d}", shimmed);
	T_CHECK(post(&a, "s1", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) == 201,
		"syscall: %s", err_msg(j));
	T_CHECK(table_armed(shimmed), "armed");
	t_agent_kill9(&a);
	T_CHECK(t_journal_count(&a) == 2, "two records journalled");

	/*
	 * The attacker holds its table's lock while the agent restarts; once the
	 * agent has mapped the table and waits for the lock, it truncates the
	 * file. Before: SIGBUS at reconcile, every restart (the paused process
	 * stayed stopped). Now: the agent does not wait for the lock and serves.
	 */
	att = attacker_lock_truncate(ATTACKER_UID, shimmed, 1000, pp[1]);
	T_CHECK(read(pp[0], &c, 1) == 1, "attacker holds the lock");
	T_CHECK(t_agent_start(&a) == 0, "restart with the lock held: the agent serves");
	T_CHECK(waitpid(att, NULL, 0) == att, "attacker truncated the table");
	att = 0;
	usleep(300000);
	T_CHECK(alive(a.pid), "the agent is alive after the truncation");
	T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, NULL) == 200, "health answers");
	T_CHECK(t_wait_state(victim, "S", 2000) == 'S', "the unrelated process was resumed (%c)",
		t_state(victim));
	T_CHECK(t_journal_count(&a) == 0, "both records reverted (%d left)", t_journal_count(&a));
	cJSON_Delete(j);
	j = NULL;
	T_CHECK(t_http(&a, "GET", "/v1/faults", NULL, a.token, &j) == 200 &&
		    cJSON_GetArraySize(cJSON_GetObjectItem(j, "faults")) == 0,
		"nothing live");
	cJSON_Delete(j);
	j = NULL;

	/* Truncated while live, between the apply and the revert: the revert still answers. */
	t_reap(shimmed);
	snprintf(t, sizeof(t), "/dev/shm/faultline-%d", shimmed);
	unlink(t);
	shimmed = spawn_shimmed(ATTACKER_UID, lib);
	T_CHECK(shimmed > 0, "shimmed again");
	snprintf(t, sizeof(t), "{\"pid\":%d}", shimmed);
	T_CHECK(post(&a, "s2", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) == 201,
		"syscall: %s", err_msg(j));
	att = attacker_lock_truncate(ATTACKER_UID, shimmed, 400, pp[1]);
	T_CHECK(read(pp[0], &c, 1) == 1, "attacker holds the lock");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/s2", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(waitpid(att, NULL, 0) == att, "attacker truncated the table");
	att = 0;
	T_CHECK(post(&a, "s3", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) != 201,
		"a truncated table is not armed: %s", err_msg(j));
	usleep(200000);
	T_CHECK(alive(a.pid), "the agent is alive");
	T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, NULL) == 200, "health answers");
out:
	cJSON_Delete(j);
	if (att > 0)
		t_reap(att);
	t_agent_done(&a);
	t_reap(victim);
	if (shimmed > 0) {
		char tbl[64];

		t_reap(shimmed);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", shimmed);
		unlink(tbl);
	}
	if (pp[0] >= 0) {
		close(pp[0]);
		close(pp[1]);
	}
	shim_done(dir);
	return t_failed;
}

/* --- item 2 (fault side): a held table lock never blocks a revert or an apply --- */

static int case_shm_lock_held(void)
{
	struct t_agent a = {0};
	char dir[64] = "", lib[128], t[128], c;
	pid_t shimmed = 0, att = 0;
	int pp[2] = {-1, -1};
	double t0, ms;
	cJSON *j = NULL;

	if (!shim_copy(dir, sizeof(dir), lib, sizeof(lib))) {
		printf("SKIPPED: no libfaultline-preload.so beside the agent\n");
		return 77;
	}
	T_CHECK(pipe(pp) == 0, "pipe");
	shimmed = spawn_shimmed(ATTACKER_UID, lib);
	T_CHECK(shimmed > 0, "the attacker's shimmed process registered its table");
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(t, sizeof(t), "{\"pid\":%d}", shimmed);
	T_CHECK(post(&a, "s1", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) == 201,
		"syscall: %s", err_msg(j));
	T_CHECK(table_armed(shimmed), "armed");

	/* The owner takes the lock and keeps it. Before: the DELETE hung (and the agent). */
	att = attacker_lock_truncate(ATTACKER_UID, shimmed, -1, pp[1]);
	T_CHECK(read(pp[0], &c, 1) == 1, "attacker holds the lock");
	t0 = t_now_ms();
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/s1", NULL, a.token, NULL) == 200,
		"revert answers with the lock held");
	ms = t_now_ms() - t0;
	printf("measured: DELETE with the table's lock held by its owner: %.0f ms\n", ms);
	T_CHECK(ms < 1500, "revert took %.0f ms", ms);
	T_CHECK(!table_armed(shimmed), "the table is disarmed all the same");
	T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, NULL) == 200, "health answers");
	/* An apply does not wait either: it says why, and leaves nothing. */
	t0 = t_now_ms();
	T_CHECK(post(&a, "s2", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) == 409,
		"apply with the lock held: 409 (%s)", err_msg(j));
	ms = t_now_ms() - t0;
	printf("measured: POST (409) with the table's lock held by its owner: %.0f ms\n", ms);
	T_CHECK(strstr(err_msg(j), "lock"), "the message says why: %s", err_msg(j));
	T_CHECK(ms < 1500, "apply took %.0f ms", ms);
	T_CHECK(!table_armed(shimmed) && t_journal_count(&a) == 0, "nothing applied");
out:
	cJSON_Delete(j);
	if (att > 0)
		t_reap(att);
	t_agent_done(&a);
	if (shimmed > 0) {
		char tbl[64];

		t_reap(shimmed);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", shimmed);
		unlink(tbl);
	}
	if (pp[0] >= 0) {
		close(pp[0]);
		close(pp[1]);
	}
	shim_done(dir);
	return t_failed;
}

/* --- item 6: a table another user made under a process's name is not that process's --- */

static int case_shm_squat(void)
{
	struct t_agent a = {0};
	char dir[64] = "", lib[128], t[128], tbl[64];
	pid_t victim = 0, squatter;
	int go[2] = {-1, -1}, st;
	bool made = false;
	cJSON *j = NULL;

	if (!shim_copy(dir, sizeof(dir), lib, sizeof(lib))) {
		printf("SKIPPED: no libfaultline-preload.so beside the agent\n");
		return 77;
	}
	T_CHECK(pipe(go) == 0, "pipe");
	/* The victim's process: its pid is known before it runs anything. */
	victim = fork();
	T_CHECK(victim >= 0, "fork");
	if (victim == 0) {
		char b;

		become(VICTIM_UID);
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		setenv("LD_PRELOAD", lib, 1);
		unsetenv("FAULTLINE_SHM");
		execlp("sleep", "sleep", "120", (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	go[0] = -1;
	snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", victim);
	/* Another user squats the name first, with a table that looks right. */
	squatter = fork();
	T_CHECK(squatter >= 0, "fork");
	if (squatter == 0) {
		unsigned char h[64] = {0};
		uint64_t magic = SHM_MAGIC;
		uint32_t version = SHM_VERSION;
		int32_t owner = victim;
		int fd;

		become(ATTACKER_UID);
		fd = open(tbl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		memcpy(h + SHM_OFF_MAGIC, &magic, 8);
		memcpy(h + SHM_OFF_VERSION, &version, 4);
		memcpy(h + SHM_OFF_OWNER, &owner, 4);
		if (fd < 0 || ftruncate(fd, SHM_SIZE) < 0 || pwrite(fd, h, sizeof(h), 0) != 64)
			_exit(1);
		_exit(0);
	}
	T_CHECK(waitpid(squatter, &st, 0) == squatter && WIFEXITED(st) && !WEXITSTATUS(st),
		"the squatter made %s", tbl);
	made = true;
	T_CHECK(write(go[1], "g", 1) == 1, "go");
	usleep(300000); /* the victim's shim tried to register, and could not */
	T_CHECK(alive(victim), "the victim runs");
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	snprintf(t, sizeof(t), "{\"pid\":%d}", victim);
	/* Before: 201, the squatter's table armed, the victim's calls untouched. */
	T_CHECK(post(&a, "q1", "syscall", t, "{\"rules\":[\"write:EIO\"]}", &j) == 409,
		"refused (%s)", err_msg(j));
	T_CHECK(!strcmp(t_err_path(j), "$.target.pid"), "path %s", t_err_path(j));
	T_CHECK(strstr(err_msg(j), "no faultline table of its own"), "message: %s", err_msg(j));
	T_CHECK(!table_armed(victim), "the squatter's table was not armed");
	T_CHECK(t_journal_count(&a) == 0, "nothing journalled");
out:
	cJSON_Delete(j);
	t_agent_done(&a);
	t_reap(victim);
	if (made)
		unlink(tbl);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	shim_done(dir);
	return t_failed;
}

/* --- item 4: a (forged) record naming PID 1 never signals every process --- */

/* Field 22 of /proc/PID/stat. */
static unsigned long long start_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		       "%*d %llu",
		       &v);
	fclose(f);
	return v;
}

/*
 * PID 1 of a new PID namespace (this process, after unshare + fork): a
 * session leader, like an init. It writes a journal record that names itself
 * as a launched command (its real start time and boot id, so the record
 * checks out), starts a sentinel and an agent on that state dir, and says
 * whether the sentinel survived the agent's reconcile. Before: the revert's
 * group stop called kill(-1, SIGTERM), then kill(-1, SIGKILL): every process
 * of the namespace but init and the agent died.
 */
static int forged_init(struct t_agent *a)
{
	char path[600], boot[64] = "", state[400], listen[400];
	pid_t sentinel, agent;
	double end;
	FILE *f;
	int fd, n;

	/*
	 * A /dev/shm of its own too: the agent's start removes the tables of
	 * processes it cannot see, and from this namespace it sees none of the
	 * machine's (other tests' shimmed processes).
	 */
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return 10;
	if (setsid() < 0 || getpid() != 1)
		return 11;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY);
	n = fd >= 0 ? (int)read(fd, boot, 36) : -1;
	if (fd >= 0)
		close(fd);
	if (n != 36)
		return 12;
	boot[36] = '\0';
	snprintf(state, sizeof(state), "%s/state", a->dir);
	snprintf(path, sizeof(path), "%s/faults", state);
	if (mkdir(state, 0700) < 0 || mkdir(path, 0700) < 0)
		return 13;
	snprintf(path, sizeof(path), "%s/faults/forged1.json", state);
	f = fopen(path, "w");
	if (!f)
		return 14;
	fprintf(
	    f,
	    "{\"id\":\"forged1\",\"experiment\":\"\",\"kind\":\"syscall\",\"ttl_ms\":60000,"
	    "\"applied_wall_ms\":0,\"undo\":{\"tables\":[],\"launch\":{\"path\":\"/bin/sleep\","
	    "\"on_revert\":\"stop\",\"mode\":\"shim\"},\"processes\":[{\"pid\":1,\"start\":%llu,"
	    "\"boot\":\"%s\"}],\"seed\":0}}\n",
	    start_of(1), boot);
	fclose(f);
	sentinel = fork();
	if (sentinel == 0) {
		for (;;)
			pause();
	}
	snprintf(listen, sizeof(listen), "unix:%s", a->sock);
	snprintf(path, sizeof(path), "%s/token", a->dir);
	agent = fork();
	if (agent == 0) {
		char log[600];

		snprintf(log, sizeof(log), "%s/agent.log", a->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execl(bin, bin, "--listen", listen, "--token-file", path, "--state-dir", state,
		      (char *)NULL);
		_exit(127);
	}
	a->pid = agent;
	/* Until the agent serves and the record is gone, or long enough for a group stop. */
	for (end = t_now_ms() + 4000; t_now_ms() < end;) {
		if (t_journal_count(a) == 0 &&
		    t_http(a, "GET", "/v1/health", NULL, NULL, NULL) == 200)
			break;
		usleep(50000);
	}
	usleep(300000);
	n = waitpid(sentinel, NULL, WNOHANG) == 0 && kill(sentinel, 0) == 0 ? 0 : 1;
	if (n == 0 && waitpid(agent, NULL, WNOHANG) != 0)
		n = 2;
	if (n == 0 && t_journal_count(a) != 0)
		n = 3;
	kill(agent, SIGTERM);
	waitpid(agent, NULL, 0);
	a->pid = 0;
	return n;
}

static int case_forged_pid1(void)
{
	struct t_agent a = {0};
	pid_t outer;
	int st, rc;

	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	outer = fork();
	T_CHECK(outer >= 0, "fork");
	if (outer == 0) {
		pid_t init;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(77);
		init = fork();
		if (init == 0)
			_exit(forged_init(&a));
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(9);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 8);
	}
	T_CHECK(waitpid(outer, &st, 0) == outer && WIFEXITED(st), "the namespace's init ended");
	rc = WEXITSTATUS(st);
	if (rc == 77) {
		printf("SKIPPED: cannot make a PID and mount namespace (unshare: needs root)\n");
		t_agent_done(&a);
		return 77;
	}
	T_CHECK(rc != 1, "the sentinel was killed: the revert signalled every process (kill(-1))");
	T_CHECK(rc != 2, "the agent died");
	T_CHECK(rc != 3, "the forged record was not reconciled away");
	T_CHECK(rc == 0, "the namespace's init failed (%d)", rc);
out:
	t_agent_done(&a);
	return t_failed;
}

/* --- item 5: the policy judges what a path resolves to, and a process by its thread group --- */

static long count_procs(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long n = 0;

	while (d && (de = readdir(d)))
		n += atoi(de->d_name) > 0;
	if (d)
		closedir(d);
	return n;
}

struct named_proc {
	char main_name[16], thread_name[16];
	int ready[2];
};

static void *renamed_thread(void *arg)
{
	const struct named_proc *np = arg;

	prctl(PR_SET_NAME, np->thread_name);
	(void)!write(np->ready[1], "t", 1);
	for (;;)
		pause();
	return NULL;
}

/*
 * A process in a network namespace of its own, named main_name, and (when
 * thread_name is set) a second thread that renamed itself thread_name.
 * Returns its pid; *tid gets the thread's id.
 */
static pid_t spawn_in_netns(const char *main_name, const char *thread_name, pid_t *tid)
{
	struct named_proc np;
	char c, path[64];
	pid_t pid;
	DIR *d;
	struct dirent *de;

	memset(&np, 0, sizeof(np));
	snprintf(np.main_name, sizeof(np.main_name), "%s", main_name);
	snprintf(np.thread_name, sizeof(np.thread_name), "%s", thread_name ? thread_name : "");
	if (pipe(np.ready) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		pthread_t th;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		prctl(PR_SET_NAME, np.main_name);
		if (thread_name && pthread_create(&th, NULL, renamed_thread, &np) != 0)
			_exit(1);
		if (!thread_name)
			(void)!write(np.ready[1], "t", 1);
		for (;;)
			pause();
	}
	close(np.ready[1]);
	if (pid < 0 || read(np.ready[0], &c, 1) != 1) {
		close(np.ready[0]);
		return -1;
	}
	close(np.ready[0]);
	usleep(20000);
	if (tid) {
		*tid = 0;
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != pid)
				*tid = atoi(de->d_name);
		if (d)
			closedir(d);
	}
	return pid;
}

static int case_policy_alias(void)
{
	struct t_agent a = {0};
	char deny[16], ok[16], cfg[256], t[512], dir[64] = "", link[128], okl[128];
	const char *bw = "{\"rate\":\"1mbit\"}";
	pid_t denied = 0, allowed = 0, tid = 0, att;
	int st;

	snprintf(deny, sizeof(deny), "fld-%d", (int)getpid() % 100000);
	snprintf(ok, sizeof(ok), "flok-%d", (int)getpid() % 100000);
	denied = spawn_in_netns(deny, ok, &tid);
	allowed = spawn_in_netns(ok, NULL, NULL);
	if (denied < 0 || allowed < 0) {
		printf("SKIPPED: cannot make network namespaces (unshare CLONE_NEWNET)\n");
		t_reap(denied);
		t_reap(allowed);
		return 77;
	}
	T_CHECK(tid > 0, "the denied process's renamed thread");
	/* A local user plants symbolic links to both namespaces in a folder of its own. */
	snprintf(dir, sizeof(dir), "/tmp/fl-hostile-XXXXXX");
	T_CHECK(mkdtemp(dir) && chown(dir, ATTACKER_UID, ATTACKER_UID) == 0 &&
		    chmod(dir, 0755) == 0,
		"attacker's folder");
	snprintf(link, sizeof(link), "%s/ns", dir);
	snprintf(okl, sizeof(okl), "%s/okns", dir);
	att = fork();
	T_CHECK(att >= 0, "fork");
	if (att == 0) {
		char tgt[64];

		become(ATTACKER_UID);
		snprintf(tgt, sizeof(tgt), "/proc/%d/ns/net", denied);
		if (symlink(tgt, link) < 0)
			_exit(1);
		snprintf(tgt, sizeof(tgt), "/proc/%d/ns/net", allowed);
		_exit(symlink(tgt, okl) < 0 ? 1 : 0);
	}
	T_CHECK(waitpid(att, &st, 0) == att && WIFEXITED(st) && !WEXITSTATUS(st), "symlinks");
	snprintf(cfg, sizeof(cfg), "{\"deny\":{\"names\":[\"%s\"]}}", deny);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_config(&a, cfg) == 0, "config");
	T_CHECK(t_agent_start(&a) == 0, "start");

	/* The plain spellings are refused (they were before, by the string). */
	snprintf(t, sizeof(t), "{\"netns_path\":\"/proc/%d/ns/net\",\"interface\":\"lo\"}", denied);
	EXPECT(&a, 403, "$.target.netns_path", "denied", "bandwidth", t, bw);
	/* Aliases of the same namespace: before, each got 200. */
	snprintf(t, sizeof(t), "{\"netns_path\":\"/proc//%d/ns/net\",\"interface\":\"lo\"}",
		 denied);
	EXPECT(&a, 403, "$.target.netns_path", "denied", "bandwidth", t, bw);
	snprintf(t, sizeof(t),
		 "{\"netns_path\":\"/proc/%d/root/proc/%d/ns/net\",\"interface\":\"lo\"}", allowed,
		 denied);
	EXPECT(&a, 403, "$.target.netns_path", "denied", "partition", t,
	       "{\"peers\":[\"10.0.0.1\"]}");
	snprintf(t, sizeof(t), "{\"netns_path\":\"%s\",\"interface\":\"lo\"}", link);
	EXPECT(&a, 403, "$.target.netns_path", "denied", "bandwidth", t, bw);
	/* The same aliases of an allowed process's namespace are fine: not "refuse everything". */
	{
		char p_[256], m_[512];
		double t0 = t_now_ms();
		int n = 0;

		/* What judging a namespace by its members costs: a /proc walk per request. */
		snprintf(t, sizeof(t), "{\"netns_path\":\"%s\",\"interface\":\"lo\"}", okl);
		for (; n < 20; n++)
			dry(&a, "bandwidth", t, bw, p_, sizeof(p_), m_, sizeof(m_));
		printf("measured: dry run through a netns_path alias (member scan): %.1f ms each, "
		       "%d processes on the machine\n",
		       (t_now_ms() - t0) / n, (int)count_procs());
	}
	snprintf(t, sizeof(t), "{\"netns_path\":\"/proc//%d/ns/net\",\"interface\":\"lo\"}",
		 allowed);
	EXPECT(&a, 200, NULL, NULL, "bandwidth", t, bw);
	snprintf(t, sizeof(t), "{\"netns_path\":\"%s\",\"interface\":\"lo\"}", okl);
	EXPECT(&a, 200, NULL, NULL, "bandwidth", t, bw);

	/* A thread of the denied process that renamed itself is the denied process. */
	snprintf(t, sizeof(t), "{\"pid\":%d,\"interface\":\"lo\"}", tid);
	EXPECT(&a, 403, "$.target.pid", "denied", "bandwidth", t, bw);
	snprintf(t, sizeof(t), "{\"pid\":%d}", tid);
	EXPECT(&a, 403, "$.target", "denied", "pause", t, "{}");
	EXPECT(&a, 403, "$.target", "denied", "kill", t, "{}");
	/* A thread of an allowed process is still no process: named as such, not touched. */
	{
		pid_t own_tid = 0;
		char path[64];
		DIR *d;
		struct dirent *de;

		/* The agent's own threads (HTTP, lease): "not the agent itself" held for none of
		 * them. */
		snprintf(path, sizeof(path), "/proc/%d/task", a.pid);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			int x = atoi(de->d_name);

			if (x <= 0 || x == a.pid)
				continue;
			own_tid = x;
			snprintf(t, sizeof(t), "{\"pid\":%d,\"interface\":\"lo\"}", x);
			EXPECT(&a, 403, "$.target.pid", "faultline-agent itself", "bandwidth", t,
			       bw);
			snprintf(t, sizeof(t),
				 "{\"netns_path\":\"/proc/%d/ns/net\",\"interface\":\"lo\"}", x);
			EXPECT(&a, 403, "$.target.netns_path", "faultline-agent itself",
			       "bandwidth", t, bw);
			snprintf(t, sizeof(t), "{\"pid\":%d}", x);
			EXPECT(&a, 403, "$.target", "faultline-agent itself", "pause", t, "{}");
		}
		if (d)
			closedir(d);
		T_CHECK(own_tid > 0, "the agent has threads besides its main one");
	}
	T_CHECK(t_journal_count(&a) == 0, "nothing journalled");
	T_CHECK(t_state(denied) == 'S' && t_state(allowed) == 'S', "both untouched");
	T_CHECK(alive(a.pid), "the agent runs");
out:
	t_agent_done(&a);
	t_reap(denied);
	t_reap(allowed);
	if (dir[0])
		sh("rm -rf '%s'", dir);
	return t_failed;
}

/* --- item 2 (fault side): a FIFO or a device named as a path never blocks the agent --- */

static int case_path_fifo(void)
{
	struct t_agent a = {0};
	char dir[64] = "", fifo[128], pidf[128], lnk[128], t[512];
	const char *bw = "{\"rate\":\"1mbit\"}";
	pid_t victim = 0, att;
	double t0;
	int st;

	snprintf(dir, sizeof(dir), "/tmp/fl-hostile-XXXXXX");
	T_CHECK(mkdtemp(dir) && chown(dir, ATTACKER_UID, ATTACKER_UID) == 0 &&
		    chmod(dir, 0755) == 0,
		"attacker's folder");
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(pidf, sizeof(pidf), "%s/victim.pid", dir);
	snprintf(lnk, sizeof(lnk), "%s/link.pid", dir);
	victim = t_spawn("flh-fifo");
	/* The local user makes a FIFO, a real pidfile and a symbolic link to it. */
	att = fork();
	T_CHECK(att >= 0, "fork");
	if (att == 0) {
		char b[32];
		int fd;

		become(ATTACKER_UID);
		if (mkfifo(fifo, 0644) < 0)
			_exit(1);
		fd = open(pidf, O_WRONLY | O_CREAT | O_EXCL, 0644);
		snprintf(b, sizeof(b), "%d\n", victim);
		if (fd < 0 || write(fd, b, strlen(b)) < 0)
			_exit(2);
		_exit(symlink(pidf, lnk) < 0 ? 3 : 0);
	}
	T_CHECK(waitpid(att, &st, 0) == att && WIFEXITED(st) && !WEXITSTATUS(st), "files");
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");

	/* Before: each of the first two hung the HTTP thread (under the agent's lock) for good. */
	t0 = t_now_ms();
	snprintf(t, sizeof(t), "{\"pidfile\":\"%s\"}", fifo);
	EXPECT(&a, 400, "$.target.pidfile", "not a regular file", "kill", t, "{}");
	EXPECT(&a, 400, "$.target.pidfile", "not a regular file", "pause",
	       "{\"pidfile\":\"/dev/ptmx\"}", "{}");
	snprintf(t, sizeof(t), "{\"netns_path\":\"%s\",\"interface\":\"lo\"}", fifo);
	EXPECT(&a, 400, "$.target.netns_path", "not a namespace", "bandwidth", t, bw);
	EXPECT(&a, 400, "$.target.netns_path", "not a namespace", "bandwidth",
	       "{\"netns_path\":\"/dev/ptmx\",\"interface\":\"lo\"}", bw);
	/* A launched command's output: before, the child blocked opening it, and the agent
	 * waiting for its exec with it. */
	snprintf(t, sizeof(t),
		 "{\"id\":\"o1\",\"kind\":\"syscall\",\"target\":{\"command\":[\"/bin/sleep\","
		 "\"30\"],\"output\":\"%s\"},\"params\":{\"rules\":[\"fsync:EIO\"]},"
		 "\"ttl_ms\":60000}",
		 fifo);
	{
		cJSON *j = NULL;
		long s_ = t_http(&a, "POST", "/v1/faults", t, a.token, &j);
		bool ok = s_ == 400 && !strcmp(t_err_path(j), "$.target.output") &&
			  strstr(err_msg(j), "not a regular file");

		if (s_ == 201)
			t_http(&a, "DELETE", "/v1/faults/o1", NULL, a.token, NULL);
		cJSON_Delete(j);
		T_CHECK(ok, "a FIFO as a command's output: %ld", s_);
	}
	/* No symbolic link is followed to a pidfile. */
	snprintf(t, sizeof(t), "{\"pidfile\":\"%s\"}", lnk);
	EXPECT(&a, 400, "$.target.pidfile", "symbolic link", "kill", t, "{}");
	printf("measured: 5 refusals of FIFO/device/symlink paths: %.0f ms in all\n",
	       t_now_ms() - t0);
	T_CHECK(t_now_ms() - t0 < 3000, "the refusals took %.0f ms", t_now_ms() - t0);
	T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, NULL) == 200, "health answers");
	/* The real pidfile is fine. */
	snprintf(t, sizeof(t), "{\"pidfile\":\"%s\"}", pidf);
	EXPECT(&a, 200, NULL, NULL, "kill", t, "{}");
	T_CHECK(t_journal_count(&a) == 0 && t_state(victim) == 'S', "nothing applied");
out:
	t_agent_done(&a);
	t_reap(victim);
	if (dir[0])
		sh("rm -rf '%s'", dir);
	return t_failed;
}

/* --- item 12: faultline's own clsact goes when its last fault does, in any order --- */

/* `tc` output for dev d0 in ns (qdiscs, then ingress and egress filters). */
static void tc_state(const char *ns, char *out, size_t len)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s tc qdisc show dev d0; ip netns exec %s tc filter show dev d0 "
		 "ingress; ip netns exec %s tc filter show dev d0 egress; ip -n %s -o link show "
		 "| grep -o 'fl-d0' || true",
		 ns, ns, ns, ns);
	sh_out(out, len, cmd);
}

static int case_clsact_overlap(void)
{
	static const struct {
		const char *first, *second; /* apply order: "p" partition, "b" ingress bandwidth */
		const char *revert1;	    /* which goes first */
		bool foreign;		    /* a clsact was there before (someone else's) */
	} runs[] = {
	    {"p", "b", "p", false}, {"p", "b", "b", false}, {"b", "p", "b", false},
	    {"b", "p", "p", false}, {"p", "b", "p", true},  {"b", "p", "b", true},
	};
	struct t_agent a = {0};
	char ns[32], t[256], before[4096], mid[4096], after[4096];
	bool made = false;
	cJSON *j = NULL;

	snprintf(ns, sizeof(ns), "flh-cl-%d", (int)getpid());
	if (sh("ip netns add %s 2>/dev/null", ns) != 0) {
		printf("SKIPPED: cannot create a network namespace (ip netns add)\n");
		return 77;
	}
	made = true;
	T_CHECK(sh("ip -n %s link add d0 type veth peer name d1 && ip -n %s link set d0 up && "
		   "ip -n %s link set d1 up && ip -n %s addr add 10.231.7.1/24 dev d0",
		   ns, ns, ns, ns) == 0,
		"veth pair in %s", ns);
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	{
		cJSON *h = NULL;
		const cJSON *caps;

		T_CHECK(t_http(&a, "GET", "/v1/health", NULL, NULL, &h) == 200, "health");
		caps = cJSON_GetObjectItem(h, "capabilities");
		if (!cJSON_IsTrue(cJSON_GetObjectItem(caps, "clsact_bpf")) ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(caps, "ifb_mirred")) ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(caps, "tbf"))) {
			cJSON_Delete(h);
			printf("SKIPPED: the kernel lacks clsact+cls_bpf, ifb+mirred or tbf\n");
			t_agent_done(&a);
			sh("ip netns del %s", ns);
			return 77;
		}
		cJSON_Delete(h);
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		const char *ids[2] = {runs[i].first, runs[i].second};

		if (runs[i].foreign)
			T_CHECK(sh("ip netns exec %s tc qdisc add dev d0 clsact", ns) == 0,
				"someone else's clsact");
		tc_state(ns, before, sizeof(before));
		for (int k = 0; k < 2; k++) {
			snprintf(t, sizeof(t), "{\"netns\":\"%s\",\"interface\":\"d0\"}", ns);
			if (!strcmp(ids[k], "p"))
				T_CHECK(post(&a, "p", "partition", t,
					     "{\"peers\":[\"10.231.7.9\"]}", &j) == 201,
					"run %zu: partition: %s", i, err_msg(j));
			else
				T_CHECK(post(&a, "b", "bandwidth", t,
					     "{\"rate\":\"1mbit\",\"direction\":\"ingress\"}",
					     &j) == 201,
					"run %zu: ingress bandwidth: %s", i, err_msg(j));
			cJSON_Delete(j);
			j = NULL;
		}
		tc_state(ns, mid, sizeof(mid));
		T_CHECK(strstr(mid, "clsact") && strstr(mid, "fl-d0"), "run %zu: both live:\n%s", i,
			mid);
		snprintf(t, sizeof(t), "/v1/faults/%s", runs[i].revert1);
		T_CHECK(t_http(&a, "DELETE", t, NULL, a.token, NULL) == 200, "run %zu: revert %s",
			i, runs[i].revert1);
		snprintf(t, sizeof(t), "/v1/faults/%s", !strcmp(runs[i].revert1, "p") ? "b" : "p");
		T_CHECK(t_http(&a, "DELETE", t, NULL, a.token, NULL) == 200, "run %zu: revert %s",
			i, t);
		tc_state(ns, after, sizeof(after));
		/* Before: the clsact stayed in runs 0 and 2 (reverted in apply order). */
		T_CHECK(!strcmp(before, after),
			"run %zu (%s then %s, %s reverted first%s) left:\n%s\n"
			"--- was:\n%s",
			i, runs[i].first, runs[i].second, runs[i].revert1,
			runs[i].foreign ? ", clsact there before" : "", after, before);
		if (runs[i].foreign)
			T_CHECK(sh("ip netns exec %s tc qdisc del dev d0 clsact", ns) == 0,
				"someone else's clsact is still there");
	}
	T_CHECK(t_journal_count(&a) == 0, "nothing journalled");
out:
	cJSON_Delete(j);
	t_agent_done(&a);
	if (made)
		sh("ip netns del %s 2>/dev/null", ns);
	return t_failed;
}

/* --- item 14: a pid pinned by its start time hits that process or nothing --- */

static int case_start_pin(void)
{
	struct t_agent a = {0};
	char t[256], dir[64] = "", lib[128];
	pid_t victim = 0, netp = 0, shimmed = 0;
	unsigned long long st;
	cJSON *j = NULL;

	victim = t_spawn("flh-start");
	netp = spawn_in_netns("flh-startns", NULL, NULL);
	st = start_of(victim);
	T_CHECK(st > 0 && netp > 0, "victims");
	T_CHECK(t_agent_init(&a, bin) == 0, "init");
	T_CHECK(t_agent_start(&a) == 0, "start");
	/* Another start time: the pid names another process now. Before: 400, unknown field. */
	snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":%llu}", victim, st + 1);
	EXPECT(&a, 422, "$.target.start", "another process", "pause", t, "{}");
	T_CHECK(post(&a, "k1", "kill", t, "{}", &j) == 422, "kill: %s", err_msg(j));
	cJSON_Delete(j);
	j = NULL;
	T_CHECK(alive(victim) && t_state(victim) == 'S', "untouched");
	snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":%llu,\"interface\":\"lo\"}", netp,
		 start_of(netp) + 7);
	EXPECT(&a, 422, "$.target.start", "another process", "bandwidth", t,
	       "{\"rate\":\"1mbit\"}");
	if (shim_copy(dir, sizeof(dir), lib, sizeof(lib)) &&
	    (shimmed = spawn_shimmed(ATTACKER_UID, lib)) > 0) {
		snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":%llu}", shimmed,
			 start_of(shimmed) + 1);
		EXPECT(&a, 422, "$.target.start", "another process", "syscall", t,
		       "{\"rules\":[\"write:EIO\"]}");
		snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":%llu}", shimmed, start_of(shimmed));
		EXPECT(&a, 200, NULL, NULL, "syscall", t, "{\"rules\":[\"write:EIO\"]}");
	}
	/* Only beside "pid". */
	EXPECT(&a, 400, "$.target.start", "with \"pid\"", "pause",
	       "{\"name\":\"flh-start\",\"start\":1}", "{}");
	/* The right start time: that process, as a number or a decimal string. */
	snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":\"%llu\"}", victim, st);
	T_CHECK(post(&a, "p1", "pause", t, "{\"method\":\"signal\"}", &j) == 201, "pause: %s",
		err_msg(j));
	T_CHECK(t_wait_state(victim, "T", 2000) == 'T', "paused");
	T_CHECK(t_http(&a, "DELETE", "/v1/faults/p1", NULL, a.token, NULL) == 200, "revert");
	T_CHECK(t_wait_state(victim, "S", 2000) == 'S', "resumed");
	snprintf(t, sizeof(t), "{\"pid\":%d,\"start\":%llu,\"interface\":\"lo\"}", netp,
		 start_of(netp));
	EXPECT(&a, 200, NULL, NULL, "bandwidth", t, "{\"rate\":\"1mbit\"}");
	T_CHECK(t_journal_count(&a) == 0, "nothing journalled");
out:
	cJSON_Delete(j);
	t_agent_done(&a);
	t_reap(victim);
	t_reap(netp);
	if (shimmed > 0) {
		char tbl[64];

		t_reap(shimmed);
		snprintf(tbl, sizeof(tbl), "/dev/shm/faultline-%d", shimmed);
		unlink(tbl);
	}
	shim_done(dir);
	return t_failed;
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    {"shm_truncate", case_shm_truncate},     {"shm_lock_held", case_shm_lock_held},
	    {"shm_squat", case_shm_squat},	     {"forged_pid1", case_forged_pid1},
	    {"policy_alias", case_policy_alias},     {"path_fifo", case_path_fifo},
	    {"clsact_overlap", case_clsact_overlap}, {"start_pin", case_start_pin},
	};

	return t_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &bin);
}
