/*
 * The process fault family (kill, pause) and its selection, against real
 * child processes: selection by every selector, seeded picks, pidfd
 * signalling that refuses a recycled identity, pause/resume by signal and by
 * the cgroup v2 freezer, revert from the undo record alone.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults/fault.h"
#include "faults/proc_select.h"

/* A child that sleeps forever under a chosen comm; killed by the test. */
static pid_t spawn(const char *comm)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Check's runner handles SIGTERM/SIGALRM by killing its group: not ours. */
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, comm);
		for (;;)
			pause();
	}
	/* Wait until the child has its name. */
	for (int i = 0; i < 1000; i++) {
		char path[64], buf[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
		}
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, comm))
			break;
		usleep(1000);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static char state_of(pid_t pid)
{
	char st = '?';

	if (fl_proc_stat(pid, NULL, &st) < 0)
		return '-';
	return st;
}

/* Wait (bounded) for a state letter; returns the last seen. */
static char wait_state(pid_t pid, const char *want)
{
	char st = '?';

	for (int i = 0; i < 2000; i++) {
		st = state_of(pid);
		if (strchr(want, st))
			break;
		usleep(500);
	}
	return st;
}

static cJSON *J(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	ck_assert_msg(j != NULL, "bad test JSON %s", s);
	return j;
}

struct applied {
	const struct fl_fault_ops *ops;
	void *spec;
	cJSON *undo;
};

/* parse + plan + apply, as the agent does (minus the journal). */
static int run_fault(const char *kind, const char *target, const char *params,
		     const struct fl_fault_ctx *ctx, struct applied *a, struct fl_error *err)
{
	cJSON *t = J(target), *p = J(params);
	int r;

	memset(a, 0, sizeof(*a));
	fl_error_init(err);
	a->ops = fl_fault_lookup(kind);
	ck_assert_ptr_nonnull(a->ops);
	r = a->ops->parse(t, p, &a->spec, err);
	if (r == 0)
		r = a->ops->plan(a->spec, ctx, &a->undo, err);
	if (r == 0)
		r = a->ops->apply(a->spec, ctx, a->undo, err);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return r;
}

static void applied_done(struct applied *a)
{
	if (a->ops && a->spec)
		a->ops->free(a->spec);
	cJSON_Delete(a->undo);
	memset(a, 0, sizeof(*a));
}

static void expect_parse_error(const char *kind, const char *target, const char *params,
			       const char *path)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(kind);
	cJSON *t = J(target), *p = J(params);
	struct fl_error err;
	void *spec = NULL;
	int r;

	fl_error_init(&err);
	r = ops->parse(t, p, &spec, &err);
	ck_assert_msg(r < 0, "%s %s %s: accepted", kind, target, params);
	ck_assert_ptr_null(spec);
	ck_assert_msg(!strcmp(err.path, path), "%s %s: path %s (%s), want %s", target, params,
		      err.path, err.msg, path);
	cJSON_Delete(t);
	cJSON_Delete(p);
}

START_TEST(parse_errors)
{
	expect_parse_error("kill", "{}", "{}", "$.target");
	expect_parse_error("kill", "{\"pid\": 5, \"name\": \"x\"}", "{}", "$.target.name");
	expect_parse_error("kill", "{\"pid\": \"5\"}", "{}", "$.target.pid");
	expect_parse_error("kill", "{\"pid\": 0}", "{}", "$.target.pid");
	expect_parse_error("kill", "{\"pid\": 5, \"colour\": 1}", "{}", "$.target.colour");
	expect_parse_error("kill", "{\"name\": \"a-name-much-too-long\"}", "{}", "$.target.name");
	expect_parse_error("kill", "{\"cmdline\": \"(unclosed\"}", "{}", "$.target.cmdline");
	expect_parse_error("kill", "{\"cgroup\": \"relative/path\"}", "{}", "$.target.cgroup");
	expect_parse_error("kill", "{\"cgroup\": \"/a/../b\"}", "{}", "$.target.cgroup");
	expect_parse_error("kill", "{\"pidfile\": \"run/x.pid\"}", "{}", "$.target.pidfile");
	expect_parse_error("kill", "{\"name\": \"x\", \"count\": 0}", "{}", "$.target.count");
	expect_parse_error("kill", "{\"name\": \"x\", \"percent\": 150}", "{}", "$.target.percent");
	expect_parse_error("kill", "{\"name\": \"x\", \"count\": 1, \"percent\": 5}", "{}",
			   "$.target.percent");
	expect_parse_error("kill", "{\"name\": \"x\", \"seed\": -1}", "{}", "$.target.seed");
	expect_parse_error("kill", "{\"pid\": 5}", "{\"signal\": \"SIGFOO\"}", "$.params.signal");
	expect_parse_error("kill", "{\"pid\": 5}", "{\"signal\": \"STOP\"}", "$.params.signal");
	expect_parse_error("kill", "{\"pid\": 5}", "{\"signal\": 99}", "$.params.signal");
	expect_parse_error("kill", "{\"pid\": 5}", "{\"sig\": 9}", "$.params.sig");
	expect_parse_error("pause", "{\"pid\": 5}", "{\"method\": \"nap\"}", "$.params.method");
	expect_parse_error("pause", "{\"pid\": 5}", "{\"method\": \"freezer\"}", "$.params.method");
	expect_parse_error("pause", "{\"cgroup\": \"/\"}", "{}", "$.target.cgroup");
}
END_TEST

START_TEST(kill_by_pid_with_signal)
{
	pid_t c = spawn("fltk-kpid");
	char t[64];
	struct applied a;
	struct fl_error err;
	int status = 0;

	snprintf(t, sizeof(t), "{\"pid\": %d}", c);
	ck_assert_int_eq(run_fault("kill", t, "{\"signal\": \"SIGTERM\"}", NULL, &a, &err), 0);
	ck_assert_int_eq(waitpid(c, &status, 0), c);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a.undo, "signalled")), 1);
	/* A kill cannot be undone; revert is an idempotent no-op. */
	ck_assert_int_eq(a.ops->revert(a.undo, &err), 0);
	ck_assert_int_eq(a.ops->revert(a.undo, &err), 0);
	applied_done(&a);
}
END_TEST

START_TEST(kill_by_name_count_seeded)
{
	pid_t c[6];
	struct applied a, b;
	struct fl_error err;
	const struct fl_fault_ops *ops = fl_fault_lookup("kill");
	cJSON *t1, *t2;
	int dead = 0;
	char name[16], tcount[128], tpct[128];

	/* Names unique to this process: other test runs may share the machine. */
	snprintf(name, sizeof(name), "kn%d", (int)getpid());
	snprintf(tcount, sizeof(tcount), "{\"name\": \"%s\", \"count\": 2, \"seed\": 42}", name);
	snprintf(tpct, sizeof(tpct), "{\"name\": \"%s\", \"percent\": 50}", name);
	for (int i = 0; i < 6; i++)
		c[i] = spawn(name);
	/* Planning twice with the same seed picks the same processes. */
	{
		cJSON *t = J(tcount);
		cJSON *p = J("{}");

		ck_assert_int_eq(ops->parse(t, p, &a.spec, &err), 0);
		ck_assert_int_eq(ops->plan(a.spec, NULL, &a.undo, &err), 0);
		ck_assert_int_eq(ops->plan(a.spec, NULL, &b.undo, &err), 0);
		t1 = cJSON_GetObjectItem(a.undo, "targets");
		t2 = cJSON_GetObjectItem(b.undo, "targets");
		ck_assert_int_eq(cJSON_GetArraySize(t1), 2);
		ck_assert(cJSON_Compare(t1, t2, true));
		ck_assert_str_eq(cJSON_GetObjectItem(a.undo, "seed")->valuestring, "42");
		cJSON_Delete(b.undo);
		ops->free(a.spec);
		cJSON_Delete(a.undo);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
	ck_assert_int_eq(run_fault("kill", tcount, "{}", NULL, &a, &err), 0);
	for (int i = 0; i < 6; i++) {
		int st;

		if (waitpid(c[i], &st, WNOHANG) == c[i]) {
			dead++;
			c[i] = 0;
		} else if (wait_state(c[i], "Z") == 'Z') {
			waitpid(c[i], &st, 0);
			dead++;
			c[i] = 0;
		}
	}
	ck_assert_int_eq(dead, 2);
	/* percent: 50% of the 4 left is 2. */
	applied_done(&a);
	ck_assert_int_eq(run_fault("kill", tpct, "{}", NULL, &a, &err), 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a.undo, "signalled")), 2);
	applied_done(&a);
	for (int i = 0; i < 6; i++)
		if (c[i])
			reap(c[i]);
}
END_TEST

START_TEST(kill_by_cmdline_and_pidfile)
{
	char arg[32], re[96];
	pid_t c;
	char pidfile[] = "/tmp/fl-test-pidfile-XXXXXX";
	char t[128];

	snprintf(arg, sizeof(arg), "1000.%d", (int)getpid());
	snprintf(re, sizeof(re), "{\"cmdline\": \"^sleep 1000\\\\.%d$\"}", (int)getpid());
	c = fork();
	struct applied a;
	struct fl_error err;
	int fd, status;

	ck_assert_int_ge(c, 0);
	if (c == 0) {
		signal(SIGTERM, SIG_DFL);
		execl("/bin/sleep", "sleep", arg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && state_of(c) != 'S'; i++)
		usleep(1000);
	usleep(20000); /* let exec finish */
	ck_assert_int_eq(run_fault("kill", re, "{\"signal\": 15}", NULL, &a, &err), 0);
	ck_assert_int_eq(waitpid(c, &status, 0), c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	applied_done(&a);

	c = spawn("fltk-pidfile");
	fd = mkstemp(pidfile);
	ck_assert_int_ge(fd, 0);
	dprintf(fd, "%d\n", c);
	close(fd);
	snprintf(t, sizeof(t), "{\"pidfile\": \"%s\"}", pidfile);
	ck_assert_int_eq(run_fault("kill", t, "{}", NULL, &a, &err), 0);
	ck_assert_int_eq(waitpid(c, &status, 0), c);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	applied_done(&a);
	unlink(pidfile);
	/* Nothing matches: -ESRCH naming the target. */
	ck_assert_int_eq(run_fault("kill", "{\"name\": \"fltk-nobody\"}", "{}", NULL, &a, &err),
			 -ESRCH);
	ck_assert_str_eq(err.path, "$.target");
	applied_done(&a);
}
END_TEST

START_TEST(recycled_identity_is_never_signalled)
{
	pid_t c = spawn("fltk-recycle");
	struct fl_proc_ident id = {.pid = c};
	unsigned long long start;

	ck_assert_int_eq(fl_proc_stat(c, &start, NULL), 0);
	/* Same PID, different start time: that is another process. */
	id.start = start + 1;
	ck_assert_int_eq(fl_proc_signal(&id, SIGKILL), -ESRCH);
	ck_assert_int_eq(fl_proc_signal(&id, SIGSTOP), -ESRCH);
	usleep(10000);
	ck_assert_int_eq(state_of(c), 'S');
	id.start = start;
	ck_assert_int_eq(fl_proc_signal(&id, 0), 0);
	reap(c);
	ck_assert_int_eq(fl_proc_signal(&id, 0), -ESRCH);
}
END_TEST

/* A journal written before a reboot: its (pid, start) may name a process of this boot. */
START_TEST(identity_of_another_boot_is_never_signalled)
{
	pid_t c = spawn("fltk-reboot");
	struct fl_proc_ident id = {.pid = c}, back;
	cJSON *a, *rec;
	char boot[64];
	int fd;
	ssize_t n;

	ck_assert_int_eq(fl_proc_stat(c, &id.start, NULL), 0);
	a = fl_proc_idents_json(&id, 1);
	ck_assert_ptr_nonnull(a);
	rec = cJSON_GetArrayItem(a, 0);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, boot, sizeof(boot) - 1);
	close(fd);
	ck_assert_int_eq(n, 37);
	boot[36] = '\0';
	/* Recorded in this boot: read back as is, and it is the process. */
	ck_assert_str_eq(cJSON_GetObjectItem(rec, "boot")->valuestring, boot);
	ck_assert_int_eq(fl_proc_ident_from_json(rec, &back), 0);
	ck_assert(back.pid == id.pid && back.start == id.start);
	ck_assert_int_eq(fl_proc_signal(&back, 0), 0);
	/* Same pid and start, another boot: not this process; it is not touched. */
	boot[0] = boot[0] == '0' ? '1' : '0';
	cJSON_ReplaceItemInObject(rec, "boot", cJSON_CreateString(boot));
	ck_assert_int_eq(fl_proc_ident_from_json(rec, &back), 0);
	ck_assert_int_eq(back.pid, c);
	ck_assert_int_eq(fl_proc_signal(&back, SIGSTOP), -ESRCH);
	usleep(10000);
	ck_assert_int_eq(state_of(c), 'S');
	/* A malformed boot id is a bad record, not a match. */
	cJSON_ReplaceItemInObject(rec, "boot", cJSON_CreateNumber(1));
	ck_assert_int_eq(fl_proc_ident_from_json(rec, &back), -EINVAL);
	cJSON_ReplaceItemInObject(rec, "boot", cJSON_CreateString("short"));
	ck_assert_int_eq(fl_proc_ident_from_json(rec, &back), -EINVAL);
	/* A record from before the field: trusted as this boot's. */
	cJSON_DeleteItemFromObject(rec, "boot");
	ck_assert_int_eq(fl_proc_ident_from_json(rec, &back), 0);
	ck_assert(back.start == id.start);
	cJSON_Delete(a);
	reap(c);
}
END_TEST

static int refuse_odd(void *opaque, int pid, struct fl_error *err)
{
	int *refuse = opaque;

	if (pid == *refuse)
		return fl_error_set(err, -EPERM, "$.target", "process %d is protected", pid);
	return 0;
}

START_TEST(policy_refusal)
{
	char name[16], tname[64];
	pid_t c;
	int refuse;

	snprintf(name, sizeof(name), "po%d", (int)getpid());
	snprintf(tname, sizeof(tname), "{\"name\": \"%s\"}", name);
	c = spawn(name);
	refuse = c;
	struct fl_fault_ctx ctx = {.seed = 1, .allow_pid = refuse_odd, .opaque = &refuse};
	struct applied a;
	struct fl_error err;
	char t[64];

	snprintf(t, sizeof(t), "{\"pid\": %d}", c);
	ck_assert_int_eq(run_fault("kill", t, "{}", &ctx, &a, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "protected"));
	applied_done(&a);
	ck_assert_int_eq(run_fault("pause", tname, "{}", &ctx, &a, &err), -EPERM);
	applied_done(&a);
	ck_assert_int_eq(state_of(c), 'S');
	reap(c);
}
END_TEST

START_TEST(pause_signal_and_revert_from_record)
{
	char name[16], tname[64];
	pid_t c1, c2;
	struct applied a;
	struct fl_error err;
	char *text;
	cJSON *copy;

	snprintf(name, sizeof(name), "pa%d", (int)getpid());
	snprintf(tname, sizeof(tname), "{\"name\": \"%s\"}", name);
	c1 = spawn(name);
	c2 = spawn(name);
	ck_assert_int_eq(run_fault("pause", tname, "{}", NULL, &a, &err), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(a.undo, "method")->valuestring, "signal");
	ck_assert_int_eq(state_of(c1), 'T');
	ck_assert_int_eq(state_of(c2), 'T');
	/* Revert from a serialised copy of the record, as reconcile does after a crash. */
	text = cJSON_PrintUnformatted(a.undo);
	copy = cJSON_Parse(text);
	free(text);
	applied_done(&a);
	ck_assert_int_eq(fl_fault_lookup("pause")->revert(copy, &err), 0);
	ck_assert_int_eq(wait_state(c1, "S"), 'S');
	ck_assert_int_eq(wait_state(c2, "S"), 'S');
	/* Idempotent; and a vanished process is fine. */
	ck_assert_int_eq(fl_fault_lookup("pause")->revert(copy, &err), 0);
	reap(c1);
	ck_assert_int_eq(fl_fault_lookup("pause")->revert(copy, &err), 0);
	cJSON_Delete(copy);
	reap(c2);
}
END_TEST

START_TEST(pause_leaves_already_stopped_alone)
{
	pid_t c = spawn("fltk-prestop");
	struct applied a;
	struct fl_error err;
	char t[64];

	kill(c, SIGSTOP);
	ck_assert_int_eq(wait_state(c, "T"), 'T');
	snprintf(t, sizeof(t), "{\"pid\": %d}", c);
	ck_assert_int_eq(run_fault("pause", t, "{\"method\": \"signal\"}", NULL, &a, &err), 0);
	ck_assert_int_eq(a.ops->revert(a.undo, &err), 0);
	usleep(10000);
	ck_assert_int_eq(state_of(c), 'T');
	applied_done(&a);
	reap(c);
}
END_TEST

START_TEST(pause_freezer_cgroup)
{
	char mnt[2048], dir[2300], procs[2400], name[64], t[128];
	char why[256] = "";
	struct applied a;
	struct fl_error err;
	pid_t c;
	int fd;

	if (geteuid() != 0 || fl_cgroup2_mount(mnt, sizeof(mnt)) < 0 ||
	    !fl_pause_freezer_available(why, sizeof(why))) {
		printf("SKIPPED: pause_freezer_cgroup: needs root and a cgroup v2 freezer (%s)\n",
		       why);
		return;
	}
	snprintf(name, sizeof(name), "fltest-freeze-%d", getpid());
	snprintf(dir, sizeof(dir), "%s/%s", mnt, name);
	if (mkdir(dir, 0755) < 0) {
		printf("SKIPPED: pause_freezer_cgroup: mkdir %s: %s\n", dir, strerror(errno));
		return;
	}
	c = spawn("fltk-frozen");
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	fd = open(procs, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(dprintf(fd, "%d", c), 0);
	close(fd);
	snprintf(t, sizeof(t), "{\"cgroup\": \"/%s\"}", name);
	ck_assert_int_eq(run_fault("pause", t, "{}", NULL, &a, &err), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(a.undo, "method")->valuestring, "freezer");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a.undo, "frozen")));
	ck_assert_int_eq(a.ops->revert(a.undo, &err), 0);
	{
		char ev[2400], buf[256] = "";
		FILE *f;

		snprintf(ev, sizeof(ev), "%s/cgroup.events", dir);
		f = fopen(ev, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
		fclose(f);
		ck_assert_ptr_nonnull(strstr(buf, "frozen 0"));
	}
	applied_done(&a);
	reap(c);
	/* Back to the root cgroup is implicit once the process is gone. */
	for (int i = 0; i < 100 && rmdir(dir) < 0; i++)
		usleep(10000);
}
END_TEST

START_TEST(registry_has_process_kinds)
{
	char why[128];

	ck_assert_ptr_nonnull(fl_fault_lookup("kill"));
	ck_assert_ptr_nonnull(fl_fault_lookup("pause"));
	ck_assert_ptr_null(fl_fault_lookup("nope"));
	ck_assert(fl_fault_lookup("kill")->available(why, sizeof(why)));
	{
		struct fl_buf b;
		void *spec = NULL;
		struct fl_error err;
		cJSON *t = J("{\"name\": \"nginx\", \"count\": 2}"),
		      *p = J("{\"signal\":\"TERM\"}");

		fl_buf_init(&b, 1024);
		ck_assert_int_eq(fl_fault_lookup("kill")->parse(t, p, &spec, &err), 0);
		ck_assert_int_eq(fl_fault_lookup("kill")->describe(spec, &b), 0);
		ck_assert_str_eq(b.data, "kill -TERM name=nginx count=2");
		fl_fault_lookup("kill")->free(spec);
		fl_buf_done(&b);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
}
END_TEST

/*
 * The pidfd apply kept is what the revert signals through: when the PID is
 * taken by a new process that even has the same start time (same clock tick
 * -- what pid + start time cannot tell apart), the held pidfd says ESRCH and
 * the newcomer is left alone. A PID namespace of our own makes the PID
 * reusable on demand (ns_last_pid); the tick is retried until it matches.
 */
static int held_pidfd_in_ns(void)
{
	struct fl_proc_ident id;
	int tries;

	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return 10;
	for (tries = 0; tries < 200; tries++) {
		unsigned long long again = 0;
		uint64_t key = fl_proc_hold_key();
		pid_t a, b;
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);

		if (fd < 0 || write(fd, "99", 2) != 2)
			return 11;
		a = fork();
		if (a == 0) {
			for (;;)
				pause();
		}
		if (a != 100 || fl_proc_stat(a, &id.start, NULL) < 0)
			return 12;
		id.pid = a;
		if (fl_proc_hold(key, &id) < 0)
			return 13;
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		if (pwrite(fd, "99", 2, 0) != 2)
			return 14;
		close(fd);
		b = fork();
		if (b == 0) {
			for (;;)
				pause();
		}
		if (b != 100 || fl_proc_stat(b, &again, NULL) < 0)
			return 15;
		if (again == id.start) {
			/* Held: the process it was opened for is gone, whoever has its PID now. */
			int r = fl_proc_signal_held(key, &id, SIGKILL);
			char st = 0;

			usleep(20000);
			if (r != -ESRCH || fl_proc_stat(b, NULL, &st) < 0 || st == 'Z')
				return 16;
			/* Nothing held: pid + start time cannot tell them apart (why we hold). */
			if (fl_proc_signal(&id, SIGKILL) != 0)
				return 17;
			waitpid(b, NULL, 0);
			fl_proc_release(key);
			return 0;
		}
		fl_proc_release(key);
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
	}
	return 18; /* never within one clock tick: cannot tell */
}

START_TEST(held_pidfd_survives_pid_reuse)
{
	pid_t outer;
	int st;

	if (geteuid() != 0) {
		printf("not root: the held-pidfd case needs a PID namespace; not run\n");
		return;
	}
	outer = fork();
	ck_assert_int_ge(outer, 0);
	if (outer == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			_exit(77);
		init = fork();
		if (init == 0)
			_exit(held_pidfd_in_ns());
		if (init < 0 || waitpid(init, &st, 0) != init || !WIFEXITED(st))
			_exit(9);
		_exit(WEXITSTATUS(st));
	}
	ck_assert_int_eq(waitpid(outer, &st, 0), outer);
	ck_assert_msg(WIFEXITED(st), "status %x", st);
	if (WEXITSTATUS(st) == 77 || WEXITSTATUS(st) == 18) {
		printf("held-pidfd case not run (%s)\n", WEXITSTATUS(st) == 77
							     ? "no PID namespace"
							     : "no same-tick reuse in 200 tries");
		return;
	}
	ck_assert_msg(WEXITSTATUS(st) == 0, "step %d failed", WEXITSTATUS(st));
}
END_TEST

Suite *fl_suite_faults_process(void)
{
	Suite *s = suite_create("faults_process");
	TCase *tc = tcase_create("process");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, registry_has_process_kinds);
	tcase_add_test(tc, kill_by_pid_with_signal);
	tcase_add_test(tc, kill_by_name_count_seeded);
	tcase_add_test(tc, kill_by_cmdline_and_pidfile);
	tcase_add_test(tc, recycled_identity_is_never_signalled);
	tcase_add_test(tc, held_pidfd_survives_pid_reuse);
	tcase_add_test(tc, identity_of_another_boot_is_never_signalled);
	tcase_add_test(tc, policy_refusal);
	tcase_add_test(tc, pause_signal_and_revert_from_record);
	tcase_add_test(tc, pause_leaves_already_stopped_alone);
	tcase_add_test(tc, pause_freezer_cgroup);
	suite_add_tcase(s, tc);
	return s;
}
