/*
 * pause: stop the selected processes until revert ("signal": SIGSTOP
 * through pidfds, SIGCONT on revert; "freezer": 1 into the cgroup's
 * cgroup.freeze, 0 on revert). The grammar and describe: faults/spec/pause.c.
 * Revert works from the undo record alone, touches only processes whose start
 * time still matches, and leaves alone what was already stopped or frozen
 * before the fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "faults/fault.h"
#include "faults/proc_select.h"
#include "faults/spec/pause.h"

#define FREEZE_WAIT_MS 1000
#define STOP_WAIT_MS   50

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int read_int_file(const char *path, int *v)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	*v = atoi(buf);
	return 0;
}

/* cgroup.events holds "frozen 0|1". */
static int cgroup_frozen(const char *dir, bool *frozen)
{
	char path[FL_PROC_PATH_MAX + 32], buf[512];
	int fd;
	ssize_t n;
	char *p;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strstr(buf, "frozen ");
	if (!p)
		return -EIO;
	*frozen = p[7] == '1';
	return 0;
}

static int plan_freezer(struct pause_spec *s, const struct fl_fault_ctx *ctx, cJSON *u,
			struct fl_error *err)
{
	struct fl_fault_ctx nopolicy = ctx ? *ctx : (struct fl_fault_ctx){0};
	struct fl_proc_ident *v = NULL;
	char mnt[2048], dir[FL_PROC_PATH_MAX + 2048], path[sizeof(dir) + 32];
	size_t n = 0;
	uint64_t seed;
	bool frozen = false;
	int r, x = 0;

	r = fl_cgroup2_mount(mnt, sizeof(mnt));
	if (r < 0)
		return fl_error_set(err, -EOPNOTSUPP, "$.params.method",
				    "no cgroup v2 hierarchy is mounted here");
	snprintf(dir, sizeof(dir), "%s%s", mnt, s->sel.str);
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	if (access(path, W_OK) < 0) {
		if (errno == EROFS) /* health says cgroup_freeze false: 501, as for any kind */
			return fl_error_set(err, -EOPNOTSUPP, "$.params.method",
					    "cgroup v2 is mounted read-only here: the freezer "
					    "cannot be used (method \"signal\" can)");
		return fl_error_set(err, errno == ENOENT ? -ESRCH : -errno, "$.target.cgroup",
				    "%s: %s", path, strerror(errno));
	}
	if (read_int_file(path, &x) == 0)
		frozen = x == 1;
	/* Freezing takes every process of the subtree: each one must be allowed. */
	nopolicy.allow_pid = NULL;
	r = fl_proc_sel_resolve(&s->sel, &nopolicy, &seed, &v, &n, err);
	if (r < 0 && r != -ESRCH)
		goto out;
	r = 0;
	for (size_t i = 0; ctx && ctx->allow_pid && i < n; i++) {
		r = ctx->allow_pid(ctx->opaque, v[i].pid, err);
		if (r < 0) {
			if (!err || !err->path[0])
				fl_error_set(err, r, "$.target.cgroup",
					     "cgroup holds process %d, which policy refuses",
					     v[i].pid);
			goto out;
		}
	}
	if (!cJSON_AddStringToObject(u, "method", "freezer") ||
	    !cJSON_AddStringToObject(u, "cgroup_dir", dir) ||
	    !cJSON_AddBoolToObject(u, "was_frozen", frozen) ||
	    !cJSON_AddItemToObject(u, "targets", fl_proc_idents_json(v, n)))
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
out:
	free(v);
	return r;
}

static int plan_signal(struct pause_spec *s, const struct fl_fault_ctx *ctx, cJSON *u,
		       struct fl_error *err)
{
	struct fl_proc_ident *v = NULL;
	cJSON *targets = NULL;
	size_t n = 0;
	uint64_t seed;
	int r;

	r = fl_proc_sel_resolve(&s->sel, ctx, &seed, &v, &n, err);
	if (r < 0)
		goto out;
	targets = fl_proc_idents_json(v, n);
	if (!targets) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char st = 0;
		cJSON *t = cJSON_GetArrayItem(targets, (int)i);

		if (fl_proc_stat(v[i].pid, NULL, &st) < 0)
			st = 0;
		cJSON_AddBoolToObject(t, "was_stopped", st == 'T' || st == 't');
	}
	/* The pidfds apply signals through are kept for the revert (same agent: fl_proc_hold). */
	if (!cJSON_AddStringToObject(u, "method", "signal") ||
	    !cJSON_AddItemToObject(u, "seed", fl_json_u64(seed)) ||
	    !cJSON_AddItemToObject(u, "hold", fl_json_u64(fl_proc_hold_key()))) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(u, "targets", targets);
	targets = NULL;
	fl_proc_sel_annotate(&s->sel, u);
out:
	cJSON_Delete(targets);
	free(v);
	return r;
}

static int pause_plan(void *p, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct pause_spec *s = p;
	cJSON *u = cJSON_CreateObject();
	int r;

	*undo = NULL;
	if (!u || !cJSON_AddStringToObject(u, "kind", "pause"))
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
	else if (s->method == PAUSE_FREEZER)
		r = plan_freezer(s, ctx, u, err);
	else
		r = plan_signal(s, ctx, u, err);
	if (r < 0) {
		cJSON_Delete(u);
		return r;
	}
	*undo = u;
	return 0;
}

/* The key of the pidfds apply kept (0: none, a record from before them). */
static uint64_t hold_key(const cJSON *undo)
{
	uint64_t k;

	return fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "hold"), &k) == 0 ? k : 0;
}

/*
 * Resume the signal-paused processes of an undo record; ESRCH (gone, recycled)
 * is fine. Through the pidfds apply kept when this agent applied it, else by
 * pid + start time.
 */
static int revert_signal(const cJSON *undo, struct fl_error *err)
{
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets");
	uint64_t key = hold_key(undo);
	const cJSON *t;
	int r = 0;

	if (!cJSON_IsArray(targets))
		return fl_error_set(err, -EINVAL, NULL, "undo record without targets");
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;
		int k;

		if (fl_proc_ident_from_json(t, &id) < 0) {
			r = fl_error_set(err, -EINVAL, NULL, "corrupt target in undo record");
			continue;
		}
		/* Never stopped by a pause (the policy refuses PID 1): nothing to resume. */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "was_stopped")) || id.pid <= 1)
			continue;
		k = fl_proc_signal_held(key, &id, SIGCONT);
		if (k < 0 && k != -ESRCH)
			r = fl_error_set(err, k, NULL, "SIGCONT to %d: %s", id.pid, strerror(-k));
	}
	if (r == 0 && key)
		fl_proc_release(key);
	return r;
}

static int revert_freezer(const cJSON *undo, struct fl_error *err)
{
	const cJSON *dir = cJSON_GetObjectItemCaseSensitive(undo, "cgroup_dir");
	char path[FL_PROC_PATH_MAX + 2100];
	int r;

	if (!cJSON_IsString(dir))
		return fl_error_set(err, -EINVAL, NULL, "undo record without cgroup_dir");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(undo, "was_frozen")))
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir->valuestring);
	r = write_file(path, "0");
	if (r == -ENOENT || r == -ENODEV)
		return 0; /* the cgroup is gone, and so is what we froze */
	if (r < 0)
		return fl_error_set(err, r, NULL, "%s: %s", path, strerror(-r));
	return 0;
}

static int pause_revert(const cJSON *undo, struct fl_error *err)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(undo, "method");

	if (cJSON_IsString(m) && !strcmp(m->valuestring, "freezer"))
		return revert_freezer(undo, err);
	if (cJSON_IsString(m) && !strcmp(m->valuestring, "signal"))
		return revert_signal(undo, err);
	return fl_error_set(err, -EINVAL, NULL, "undo record with unknown method");
}

static int apply_freezer(cJSON *undo, struct fl_error *err)
{
	const char *dir = cJSON_GetObjectItemCaseSensitive(undo, "cgroup_dir")->valuestring;
	char path[FL_PROC_PATH_MAX + 2100];
	bool frozen = false;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.freeze", dir);
	r = write_file(path, "1");
	if (r < 0)
		return fl_error_set(err, r, "$.target.cgroup", "%s: %s", path, strerror(-r));
	for (int i = 0; i < FREEZE_WAIT_MS; i++) {
		if (cgroup_frozen(dir, &frozen) < 0 || frozen)
			break;
		sleep_us(1000);
	}
	cJSON_AddBoolToObject(undo, "frozen", frozen);
	return 0;
}

static int apply_signal(cJSON *undo, struct fl_error *err)
{
	cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets");
	uint64_t key = hold_key(undo);
	struct fl_proc_ident *ids;
	cJSON *t;
	size_t n = 0, stopped = 0, i = 0;
	int r = 0;

	n = (size_t)cJSON_GetArraySize(targets);
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	cJSON_ArrayForEach(t, targets)
	{
		int k;

		if (fl_proc_ident_from_json(t, &ids[i]) < 0) {
			r = fl_error_set(err, -EINVAL, NULL, "corrupt undo record");
			goto fail;
		}
		k = fl_proc_signal_hold(key, &ids[i], SIGSTOP);
		if (k == -ESRCH) {
			ids[i++].pid = 0;
			continue;
		}
		if (k < 0) {
			r = fl_error_set(err, k, "$.target", "SIGSTOP to %d: %s", ids[i].pid,
					 strerror(-k));
			goto fail;
		}
		stopped++;
		i++;
	}
	if (stopped == 0) {
		r = fl_error_set(err, -ESRCH, "$.target",
				 "every selected process exited before it could be paused");
		goto out;
	}
	/* The ack means "stopped": wait (briefly) until the kernel shows it. */
	for (size_t j = 0; j < n; j++) {
		for (int w = 0; ids[j].pid && w < STOP_WAIT_MS * 10; w++) {
			char st = 0;

			if (fl_proc_stat(ids[j].pid, NULL, &st) < 0 || st == 'T' || st == 't')
				break;
			sleep_us(100);
		}
	}
	goto out;
fail:
	/* Nothing half-applied: resume what this call stopped. */
	(void)revert_signal(undo, NULL);
out:
	free(ids);
	return r;
}

static int pause_apply(void *p, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(undo, "method");

	(void)p;
	(void)ctx;
	if (cJSON_IsString(m) && !strcmp(m->valuestring, "freezer"))
		return apply_freezer(undo, err);
	return apply_signal(undo, err);
}

/* The PIDs the plan chose, then what revert does: only the ones this fault stopped resume. */
static int pause_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(undo, "method");
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets"), *t;
	size_t resumed = 0;
	int r;

	if (!cJSON_IsString(m) || !cJSON_IsArray(targets))
		return -EINVAL;
	if (!strcmp(m->valuestring, "freezer")) {
		const cJSON *dir = cJSON_GetObjectItemCaseSensitive(undo, "cgroup_dir");

		if (!cJSON_IsString(dir))
			return -EINVAL;
		r = fl_buf_printf(out, "selected: %d process(es) in %s\n",
				  cJSON_GetArraySize(targets), dir->valuestring);
		if (r == 0)
			r = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(undo, "was_frozen"))
				? fl_buf_printf(out, "on revert: nothing (the cgroup was frozen "
						     "already)\n")
				: fl_buf_printf(out, "on revert: echo 0 > %s/cgroup.freeze\n",
						dir->valuestring);
		return r;
	}
	r = fl_buf_printf(out, "selected:");
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;

		if (r == 0 && fl_proc_ident_from_json(t, &id) == 0)
			r = fl_buf_printf(out, " %d", id.pid);
	}
	if (r == 0)
		r = fl_buf_printf(out, "\non revert: kill -CONT");
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;

		if (r < 0 || fl_proc_ident_from_json(t, &id) < 0 ||
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "was_stopped")))
			continue;
		r = fl_buf_printf(out, " %d", id.pid);
		resumed++;
	}
	if (r == 0)
		r = fl_buf_printf(out, "%s\n",
				  resumed ? "" : " (none: every one was stopped already)");
	return r;
}

/*
 * What the pause did, measured now: the processes it stopped (state T in
 * /proc, still the same process), or the cgroup's own "frozen 1".
 */
static int pause_effect(const cJSON *undo, cJSON **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(undo, "method");
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets"), *t;
	size_t n = 0, stopped = 0, gone = 0;
	cJSON *o = cJSON_CreateObject();

	*out = NULL;
	if (!o)
		return -ENOMEM;
	if (cJSON_IsString(m) && !strcmp(m->valuestring, "freezer")) {
		const cJSON *dir = cJSON_GetObjectItemCaseSensitive(undo, "cgroup_dir");
		bool frozen = false;

		cJSON_AddStringToObject(o, "method", "freezer");
		cJSON_AddNumberToObject(o, "targets", cJSON_GetArraySize(targets));
		if (cJSON_IsString(dir) && cgroup_frozen(dir->valuestring, &frozen) == 0) {
			cJSON_AddBoolToObject(o, "frozen", frozen);
			cJSON_AddBoolToObject(o, "took_effect", frozen);
		} else {
			cJSON_AddNullToObject(o, "frozen");
			cJSON_AddNullToObject(o, "took_effect");
		}
		*out = o;
		return 0;
	}
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;
		unsigned long long st = 0;
		char state = 0;

		if (fl_proc_ident_from_json(t, &id) < 0)
			continue;
		n++;
		if (fl_proc_stat(id.pid, &st, &state) < 0 || st != id.start)
			gone++;
		else if (state == 'T' || state == 't')
			stopped++;
	}
	cJSON_AddStringToObject(o, "method", "signal");
	cJSON_AddNumberToObject(o, "signalled", (double)n);
	cJSON_AddNumberToObject(o, "stopped", (double)stopped);
	cJSON_AddNumberToObject(o, "gone", (double)gone);
	cJSON_AddBoolToObject(o, "took_effect", stopped > 0);
	*out = o;
	return 0;
}

static bool pause_available(char *why, size_t whylen)
{
	return fl_proc_pidfd_available(why, whylen);
}

bool fl_pause_freezer_available(char *why, size_t whylen)
{
	char mnt[2048], path[2048 + FL_PROC_PATH_MAX + 32];

	if (fl_cgroup2_mount(mnt, sizeof(mnt)) < 0) {
		snprintf(why, whylen, "no cgroup v2 hierarchy mounted");
		return false;
	}
	/*
	 * Freezing is a write to cgroup.freeze: a hierarchy mounted read-only (as
	 * in many containers) or not writable by the agent cannot freeze anything,
	 * whatever the kernel has.
	 */
	if (access(mnt, W_OK) < 0 && errno == EROFS) {
		snprintf(why, whylen, "cgroup v2 at %s is mounted read-only", mnt);
		return false;
	}
	/* The root cgroup has no cgroup.freeze; our own (non-root) cgroup tells. */
	{
		char cg[FL_PROC_PATH_MAX];

		if (fl_proc_cgroup(getpid(), cg, sizeof(cg)) == 0 && strcmp(cg, "/")) {
			snprintf(path, sizeof(path), "%s%s/cgroup.freeze", mnt, cg);
			if (access(path, F_OK) == 0)
				return true;
		}
	}
	if (access(mnt, W_OK) < 0) {
		snprintf(why, whylen, "cgroup v2 at %s is not writable: %s", mnt, strerror(errno));
		return false;
	}
	/* Otherwise: kernels >= 5.2 list cgroup.freeze in any child; look for one. */
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	if (access(path, F_OK) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	{
		struct utsname_like {
			int maj, min;
		} v = {0, 0};
		FILE *f = fopen("/proc/sys/kernel/osrelease", "re");

		if (f) {
			if (fscanf(f, "%d.%d", &v.maj, &v.min) != 2)
				v.maj = 0;
			fclose(f);
		}
		if (v.maj > 5 || (v.maj == 5 && v.min >= 2))
			return true;
	}
	snprintf(why, whylen, "kernel older than 5.2 has no cgroup.freeze");
	return false;
}

const struct fl_fault_ops fl_fault_pause = {
    .effect = pause_effect,
    .kind = "pause",
    .spec = &fl_fault_spec_pause,
    .parse = fl_pause_parse,
    .plan = pause_plan,
    .apply = pause_apply,
    .revert = pause_revert,
    .describe = fl_pause_describe,
    .describe_plan = pause_describe_plan,
    .available = pause_available,
    .free = fl_pause_free,
};
