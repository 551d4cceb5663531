/*
 * The shim-table machinery every kind over the preload shim shares
 * (syscall, time, dns, stream): plan finds the target processes' tables (or
 * names a fresh one for a command the agent launches), apply arms them with
 * the spec's rules and the lease as their deadline (and starts the command),
 * revert disarms them, stops a launched command and removes the tables the
 * agent created, renew moves the tables' deadline. The undo record:
 *
 *   {"tables": [{"table": NAME [, "pid": P] [, "created": true] [, "transient": true]}],
 *    "seed": N [, "launch": {...}, "processes": [...]] [, "pod_seed": S, "pods": [...]]
 *    [, "timens": {"active": true, "offsets": {"CLOCK_MONOTONIC": "+2h", ...}
 *                 [, "monotonic_ns": "N"]}
 *               | {"active": false, "reason": "..."}]}
 *
 * Revert works from that record alone (after a crash, twice).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "faults/pod_select.h"
#include "faults/proc_select.h"
#include "faults/seccomp.h"
#include "faults/shim_table.h"
#include "faults/syscall_launch.h"
#include "preload/rules.h"

/* Plan of the command form: a fresh table name, nothing created yet. */
static int plan_launch(struct syscall_spec *s, const struct fl_fault_ctx *ctx, cJSON *u,
		       cJSON *tables, struct fl_error *err)
{
	char name[FL_SHM_NAME_MAX];
	cJSON *e, *l;
	int rc;

	if ((rc = fl_launch_resolve(s->launch, ctx, err)) < 0)
		return rc;
	l = cJSON_AddObjectToObject(u, "launch");
	/* "hold": the key of the pidfd kept from the start to the stop (fl_proc_hold). */
	if (!l || !cJSON_AddStringToObject(l, "path", s->launch->path) ||
	    !cJSON_AddItemToObject(l, "hold", fl_json_u64(fl_proc_hold_key())) ||
	    !cJSON_AddStringToObject(l, "on_revert", s->launch->keep ? "keep" : "stop") ||
	    !cJSON_AddStringToObject(l, "mode", s->seccomp ? "seccomp" : "shim"))
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (s->seccomp)
		return 0; /* no table: the filter is the command's own */
	/* Not a pid: the command's pid is not known yet, and fl_preload_table_gc skips it. */
	snprintf(name, sizeof(name), FL_SHM_PREFIX "cmd-%016llx",
		 (unsigned long long)fl_rng_fresh_seed());
	e = cJSON_CreateObject();
	if (!e || !cJSON_AddStringToObject(e, "table", name) ||
	    !cJSON_AddBoolToObject(e, "created", true)) {
		cJSON_Delete(e);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	cJSON_AddItemToArray(tables, e);
	return 0;
}

/* The clocks a time namespace offsets, as the shim's clock masks (1 << clockid). */
#define TIMENS_MONO_MASK                                                                           \
	((1u << CLOCK_MONOTONIC) | (1u << CLOCK_MONOTONIC_COARSE) | (1u << CLOCK_MONOTONIC_RAW))
#define TIMENS_BOOT_MASK ((1u << CLOCK_BOOTTIME) | (1u << CLOCK_BOOTTIME_ALARM))

static const struct {
	unsigned bit, mask;
	clockid_t id;
	const char *name, *file; /* the API's, /proc/PID/timens_offsets's */
} timens_clocks[] = {
    {FL_TIMENS_MONOTONIC, TIMENS_MONO_MASK, CLOCK_MONOTONIC, "CLOCK_MONOTONIC", "monotonic"},
    {FL_TIMENS_BOOTTIME, TIMENS_BOOT_MASK, CLOCK_BOOTTIME, "CLOCK_BOOTTIME", "boottime"},
};

/*
 * The time kind on a launched command: may it have a time namespace for
 * the monotonic and boottime clocks named? An offset that would take one
 * of them below zero is refused whatever the answer (the kernel refuses
 * such a namespace, and a clock held at zero skews nothing). The answer
 * goes into the record as "timens" (the effect reports it) and, when yes,
 * the offsets into s->launch->timens for the child. Asks the kernel by
 * trying (fl_launch_timens_probe); changes nothing.
 */
static int plan_timens(struct syscall_spec *s, cJSON *u, struct fl_error *err)
{
	struct fl_launch *l = s->launch;
	int64_t off = s->timens_offset_ns, sec = off / 1000000000LL, nsec = off % 1000000000LL;
	char why[192] = "", text[sizeof(l->timens)] = "";
	cJSON *t, *o = NULL;
	int rc = -1;

	l->timens[0] = '\0';
	if (!s->timens_ask)
		return 0;
	for (size_t i = 0; i < FL_ARRAY_SIZE(timens_clocks); i++) {
		struct timespec now;

		if (!(s->timens_clocks & timens_clocks[i].bit) || off >= 0 ||
		    clock_gettime(timens_clocks[i].id, &now) < 0)
			continue;
		if ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec + off < 0)
			return fl_error_set(
			    err, -ERANGE, "$.params.offset",
			    "%s would take the launched command's %s below zero (it reads %llds "
			    "here): a time namespace refuses that; at most -%llds",
			    s->timens_offset, timens_clocks[i].name, (long long)now.tv_sec,
			    (long long)now.tv_sec);
	}
	if (nsec < 0) { /* the file's nanoseconds are 0..999999999 */
		nsec += 1000000000LL;
		sec--;
	}
	for (size_t i = 0; i < FL_ARRAY_SIZE(timens_clocks); i++)
		if (s->timens_clocks & timens_clocks[i].bit)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s %lld %lld\n",
				 timens_clocks[i].file, (long long)sec, (long long)nsec);
	if (!s->timens_clocks)
		snprintf(why, sizeof(why),
			 "clock_ids names neither CLOCK_MONOTONIC nor CLOCK_BOOTTIME, and a time "
			 "namespace does not offset CLOCK_REALTIME (the shim skews it)");
	else if (l->keep)
		snprintf(why, sizeof(why),
			 "on_revert is \"keep\": a time namespace's offsets last as long as the "
			 "command, so the revert could not end them (the shim skews the clocks)");
	else if (access("/proc/self/ns/time", F_OK) < 0)
		snprintf(why, sizeof(why),
			 "this kernel has no time namespaces (no /proc/self/ns/time: Linux 5.6 or "
			 "later with CONFIG_TIME_NS); the shim skews the clocks");
	else if ((rc = fl_launch_timens_probe(text, why, sizeof(why))) == -ERANGE)
		return fl_error_set(err, -ERANGE, "$.params.offset",
				    "%s: the kernel refuses the command's time namespace: %s",
				    s->timens_offset, why);
	else if (rc < 0)
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
			 "; the shim skews the clocks");
	t = cJSON_AddObjectToObject(u, "timens");
	if (!t || !cJSON_AddBoolToObject(t, "active", rc == 0) ||
	    (rc == 0 ? !(o = cJSON_AddObjectToObject(t, "offsets"))
		     : !cJSON_AddStringToObject(t, "reason", why)))
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	for (size_t i = 0; o && i < FL_ARRAY_SIZE(timens_clocks); i++)
		if ((s->timens_clocks & timens_clocks[i].bit) &&
		    !cJSON_AddStringToObject(o, timens_clocks[i].name, s->timens_offset))
			return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (rc == 0 && (s->timens_clocks & FL_TIMENS_MONOTONIC)) {
		char b[24];

		/* The table's deadline is read on the command's CLOCK_MONOTONIC: table_deadline. */
		snprintf(b, sizeof(b), "%lld", (long long)off);
		if (!cJSON_AddStringToObject(t, "monotonic_ns", b))
			return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	if (rc == 0)
		memcpy(l->timens, text, sizeof(text));
	return 0;
}

/*
 * A table's deadline as its processes read CLOCK_MONOTONIC (the shim checks
 * it on their clock): in a time namespace that offsets it, the lease's
 * deadline moved by the offset, else the lease would end at once (+) or
 * late (-). Only a launched command's record has one, and its one table is
 * read by the command's processes alone, all in the namespace.
 */
static uint64_t table_deadline(const cJSON *undo, uint64_t mono_ns)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(undo, "timens");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "monotonic_ns");
	long long d;

	if (!mono_ns || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "active")) ||
	    !cJSON_IsString(off))
		return mono_ns;
	d = strtoll(off->valuestring, NULL, 10);
	if (d < 0 && (uint64_t)-d >= mono_ns)
		return 1; /* cannot be: the plan refused it; expired rather than never */
	return d < 0 ? mono_ns - (uint64_t)-d : mono_ns + (uint64_t)d;
}

/*
 * The rules the tables are armed with: the spec's, except that with a time
 * namespace the time rules leave the clocks it offsets to the kernel (the
 * shim would skew them a second time), and a time rule left with no clock
 * goes. Their words into texts, for the record's effect.
 */
struct table_rules {
	struct fl_preload_rule r[FL_SHM_RULES_MAX];
	char texts[FL_SHM_RULES_MAX][FL_RULE_TEXT_MAX];
	size_t n;
};

static int table_rules(const struct syscall_spec *s, struct table_rules **out)
{
	struct table_rules *t = calloc(1, sizeof(*t));
	unsigned drop = 0;
	int rc = 0;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; s->launch && s->launch->timens[0] && i < FL_ARRAY_SIZE(timens_clocks);
	     i++)
		if (s->timens_clocks & timens_clocks[i].bit)
			drop |= timens_clocks[i].mask;
	for (size_t i = 0; i < s->nrules && rc == 0; i++) {
		struct fl_preload_rule r = s->rules[i];
		struct fl_buf b;

		if (r.shm.kind != FL_KIND_TIME || !(r.shm.clock_mask & drop)) {
			t->r[t->n] = r;
			snprintf(t->texts[t->n++], FL_RULE_TEXT_MAX, "%s", s->texts[i]);
			continue;
		}
		r.shm.clock_mask &= ~drop;
		if (!r.shm.clock_mask)
			continue;
		fl_buf_init(&b, FL_RULE_TEXT_MAX);
		rc = fl_preload_rule_format(&r, &b);
		if (rc == 0 && !b.data)
			rc = -ENOMEM;
		if (rc == 0) {
			snprintf(t->texts[t->n], FL_RULE_TEXT_MAX, "%s", b.data);
			t->r[t->n++] = r;
		}
		fl_buf_done(&b);
	}
	if (rc < 0)
		free(t);
	else
		*out = t;
	return rc;
}

/*
 * Is the table the process's own? Its file belongs to one of the process's
 * uids (or to root): a table that another user made under the process's name
 * (/dev/shm/faultline-PID created before PID was this process's: a squatter;
 * the shim could not register over it) is not, and arming it would fault
 * nothing while answering 201. -EBUSY with the reason, or 0.
 */
static int table_is_process_own(const struct fl_preload_table *t, int pid, const char *name,
				const char *path, struct fl_error *err)
{
	uid_t fu = fl_preload_table_uid(t), ids[4];
	int r = fl_proc_uids(pid, ids);

	if (r < 0)
		return fl_error_set(err, r == -ESRCH ? -ESRCH : r, path, "process %d: %s", pid,
				    strerror(-r));
	if (fu == 0)
		return 0;
	for (int i = 0; i < 4; i++)
		if (ids[i] == fu)
			return 0;
	return fl_error_set(err, -EBUSY, path,
			    "process %d has no faultline table of its own: %s belongs to uid %u, "
			    "and the process runs as uid %u (someone else created it under this "
			    "process's name)",
			    pid, name, (unsigned)fu, (unsigned)ids[1]);
}

/* The innermost PID of /proc/PID/status's NSpid line (the PID its own namespace gives it). */
static int ns_pid(int pid)
{
	char path[64], line[256];
	FILE *f;
	int ns = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *tok, *save = NULL;

			for (tok = strtok_r(line + 6, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save))
				ns = atoi(tok);
			break;
		}
	fclose(f);
	return ns > 0 ? ns : -ENOENT;
}

/*
 * The pods' processes that run under the shim: their tables, in their own
 * /dev/shm under their namespaced PID. Processes without one (the sandbox, a
 * wrapper not started with LD_PRELOAD) are skipped; none at all is an error.
 */
static int plan_pod(struct syscall_spec *s, const struct fl_fault_ctx *ctx, cJSON *u, cJSON *tables,
		    struct fl_error *err)
{
	struct fl_proc_ident *v = NULL;
	size_t n = 0, armed = 0, busy = 0;
	uint64_t seed = s->pod->pick.has_seed ? s->pod->pick.seed : ctx ? ctx->seed : 0;
	int rc;

	rc = fl_pod_sel_resolve(s->pod->pod, &s->pod->pick, seed, &v, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct fl_preload_table *t = NULL;
		char name[FL_SHM_NAME_MAX];
		int nsp = ns_pid(v[i].pid);
		cJSON *e;

		if (nsp < 0)
			continue; /* gone since the listing */
		if (ctx && ctx->allow_pid && (rc = ctx->allow_pid(ctx->opaque, v[i].pid, err)) < 0)
			goto out;
		if ((rc = fl_preload_table_name_in_ns(v[i].pid, nsp, name, sizeof(name))) < 0)
			goto out;
		rc = fl_preload_table_open(name, &t);
		if (rc == -ENOENT)
			continue; /* not under the shim */
		if (rc < 0) {
			fl_error_set(err, rc, "$.target.pod",
				     "process %d (%d in its namespace): %s: %s", v[i].pid, nsp,
				     name, strerror(-rc));
			goto out;
		}
		/* A table left by a dead process whose namespaced PID was reused is not this one.
		 */
		if (fl_preload_table_owner(t) != nsp) {
			fl_preload_table_close(t);
			continue;
		}
		if ((rc = table_is_process_own(t, v[i].pid, name, "$.target.pod", err)) < 0) {
			fl_preload_table_close(t);
			goto out;
		}
		if (fl_preload_table_armed(t)) {
			fl_preload_table_close(t);
			busy++;
			continue;
		}
		fl_preload_table_close(t);
		if (armed == SYSCALL_PIDS_MAX) {
			rc = fl_error_set(err, -E2BIG, "$.target.pod",
					  "more than %d shimmed processes in the pods",
					  SYSCALL_PIDS_MAX);
			goto out;
		}
		/* "transient": a pod's process may exit before apply (a shell's child). */
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddStringToObject(e, "table", name) ||
		    !cJSON_AddNumberToObject(e, "pid", v[i].pid) ||
		    !cJSON_AddTrueToObject(e, "transient")) {
			cJSON_Delete(e);
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(tables, e);
		armed++;
	}
	if (!armed) {
		rc = fl_error_set(
		    err, busy ? -EBUSY : -ESRCH, "$.target.pod",
		    busy ? "the pods' shimmed processes already have shim faults armed (syscall, "
			   "time, dns or stream)"
			 : "no process of the pods (%zu found) runs under the shim: start "
			   "the container's program with LD_PRELOAD=libfaultline-preload.so "
			   "and a writable /dev/shm",
		    n);
		goto out;
	}
	if (s->pod->pick.mode != FL_PICK_ALL) {
		char b[24];

		snprintf(b, sizeof(b), "%llu", (unsigned long long)seed);
		if (!cJSON_AddStringToObject(u, "pod_seed", b)) {
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
	}
	/* What the journal keeps: the pods and containers hit, for a restart note at revert. */
	if (s->pod->pod->record &&
	    !cJSON_AddItemToObject(u, "pods", cJSON_Duplicate(s->pod->pod->record, true))) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

int fl_shim_plan(struct syscall_spec *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
		 struct fl_error *err)
{
	struct syscall_spec *s = spec;
	cJSON *u = NULL, *tables;
	int rc;

	u = cJSON_CreateObject();
	tables = u ? cJSON_AddArrayToObject(u, "tables") : NULL;
	if (!tables) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if (s->launch && (rc = plan_launch(s, ctx, u, tables, err)) < 0)
		goto out;
	if (s->launch && (rc = plan_timens(s, u, err)) < 0)
		goto out;
	if (s->pod && (rc = plan_pod(s, ctx, u, tables, err)) < 0)
		goto out;
	for (size_t i = 0; i < s->npids; i++) {
		struct fl_preload_table *t = NULL;
		char name[FL_SHM_NAME_MAX], path[64];
		cJSON *e;

		if (s->single)
			snprintf(path, sizeof(path), "$.target.pid");
		else
			snprintf(path, sizeof(path), "$.target.pids[%zu]", i);
		if (ctx && ctx->allow_pid &&
		    (rc = ctx->allow_pid(ctx->opaque, s->pids[i], err)) < 0)
			goto out;
		{
			int tgid = fl_proc_tgid(s->pids[i]);

			if (tgid > 0 && tgid != s->pids[i]) {
				rc = fl_error_set(
				    err, -ESRCH, path,
				    "%d is a thread of process %d, not a process: name "
				    "the process",
				    s->pids[i], tgid);
				goto out;
			}
		}
		if (s->has_start) {
			unsigned long long st = 0;

			if (fl_proc_stat(s->pids[i], &st, NULL) == 0 && st != s->start) {
				rc = fl_error_set(
				    err, -ESRCH, "$.target.start",
				    "process %d started at %llu, not %llu: the pid names "
				    "another process now",
				    s->pids[i], st, (unsigned long long)s->start);
				goto out;
			}
		}
		if ((rc = fl_preload_table_name_for_pid(s->pids[i], name, sizeof(name))) < 0)
			goto out;
		rc = fl_preload_table_open(name, &t);
		if (rc == -EPROTO) {
			rc =
			    fl_error_set(err, -EBUSY, path,
					 "/dev/shm%s is not a faultline table (its owner truncated "
					 "or replaced it)",
					 name);
			goto out;
		}
		if (rc < 0) {
			fl_error_set(err, rc, path,
				     "process %d has no faultline table (/dev/shm%s: %s); start it "
				     "with LD_PRELOAD=libfaultline-preload.so",
				     s->pids[i], name, strerror(-rc));
			goto out;
		}
		/* A stale table of a dead process whose pid was reused is not this process. */
		if (fl_preload_table_owner(t) != s->pids[i] || kill(s->pids[i], 0) < 0) {
			fl_preload_table_close(t);
			rc = fl_error_set(err, -ESRCH, path, "process %d is gone (stale table)",
					  s->pids[i]);
			goto out;
		}
		{
			char shown[FL_SHM_NAME_MAX + 16];

			snprintf(shown, sizeof(shown), "/dev/shm%s", name);
			rc = table_is_process_own(t, s->pids[i], shown, path, err);
		}
		if (rc < 0) {
			fl_preload_table_close(t);
			goto out;
		}
		if (fl_preload_table_armed(t)) {
			fl_preload_table_close(t);
			rc = fl_error_set(err, -EBUSY, path,
					  "process %d already has shim faults armed (syscall, "
					  "time, dns or stream: one fault per process)",
					  s->pids[i]);
			goto out;
		}
		fl_preload_table_close(t);
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddStringToObject(e, "table", name) ||
		    !cJSON_AddNumberToObject(e, "pid", s->pids[i])) {
			cJSON_Delete(e);
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(tables, e);
	}
	{
		/* The rules' own words, for the effect's hits per rule (fl_shim_effect). */
		struct table_rules *tr = NULL;
		cJSON *texts = cJSON_AddArrayToObject(u, "rules");

		if ((rc = table_rules(s, &tr)) < 0) {
			fl_error_set(err, rc, "", "formatting the rules: %s", strerror(-rc));
			goto out;
		}
		for (size_t i = 0; texts && i < tr->n; i++)
			if (!cJSON_AddItemToArray(texts, cJSON_CreateString(tr->texts[i])))
				texts = NULL;
		free(tr);
		if (!texts) {
			rc = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
	}
	if (!cJSON_AddNumberToObject(u, "seed",
				     (double)(s->have_seed ? s->seed
					      : ctx	   ? ctx->seed % (1ULL << 53)
							   : 0))) {
		rc = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
	rc = 0;
out:
	cJSON_Delete(u);
	return rc;
}

/*
 * Disarm every table the record names (a table that is gone counts as
 * disarmed), stop a launched command unless it is to be kept, then remove
 * the tables the agent created.
 */
int fl_shim_revert(const cJSON *undo, struct fl_error *err)
{
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;
	const cJSON *launch = cJSON_GetObjectItemCaseSensitive(undo, "launch");
	const cJSON *procs = cJSON_GetObjectItemCaseSensitive(undo, "processes");
	const cJSON *how = cJSON_GetObjectItemCaseSensitive(launch, "on_revert");
	uint64_t key = 0;
	int first = 0;

	if (!cJSON_IsArray(tables))
		return fl_error_set(err, -EINVAL, "", "undo record without tables");
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(launch, "hold"), &key) < 0)
		key = 0;
	/* A seccomp supervisor here lets every call run from now on. */
	cJSON_ArrayForEach(e, procs)
	{
		struct fl_proc_ident p;

		if (fl_proc_ident_from_json(e, &p) == 0)
			fl_launch_disarm(&p);
	}
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;
		int rc;

		if (!cJSON_IsString(name))
			continue;
		rc = fl_preload_table_open(name->valuestring, &t);
		if (rc == 0)
			rc = fl_preload_table_disarm(t);
		fl_preload_table_close(t);
		/*
		 * Gone, or no longer a table (its owner truncated or replaced the
		 * file): nothing we armed is left in it.
		 */
		if (rc < 0 && rc != -ENOENT && rc != -EPROTO && rc != -ELOOP && !first)
			first = fl_error_set(err, rc, "", "disarming %s: %s", name->valuestring,
					     strerror(-rc));
	}
	if (launch && !(cJSON_IsString(how) && !strcmp(how->valuestring, "keep")))
		cJSON_ArrayForEach(e, procs)
		{
			struct fl_proc_ident p;
			int rc = fl_proc_ident_from_json(e, &p);

			/* The agent never launched PID 1: a record that says so names nothing of
			 * ours (forged or corrupt), and signalling it would hit init. */
			if (rc == 0 && p.pid <= 1)
				continue;
			if (rc == 0)
				rc = fl_launch_stop(&p, key, FL_LAUNCH_GRACE_MS);
			if (rc < 0 && !first)
				first = fl_error_set(err, rc, "", "stopping the command: %s",
						     strerror(-rc));
		}
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");

		if (cJSON_IsString(name) &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "created")))
			(void)fl_preload_table_unlink(name->valuestring);
	}
	if (!first && key)
		fl_proc_release(key);
	return first;
}

struct started {
	cJSON *undo;
	const struct fl_fault_ctx *ctx;
};

/* Between fork and exec: the pid goes into the record and the journal, then the command runs. */
static int on_started(void *opaque, const struct fl_proc_ident *p, struct fl_error *err)
{
	struct started *st = opaque;
	cJSON *procs = fl_proc_idents_json(p, 1);
	int rc;

	/*
	 * Test-only (tests/integration/preload/test_agent_seccomp.py): stop the
	 * agent right after the fork, before the journal knows the pid, so a
	 * test can SIGKILL it in exactly that window.
	 */
	if (getenv("FAULTLINE_TEST_STOP_AFTER_SPAWN"))
		raise(SIGSTOP);
	if (!procs || !cJSON_AddItemToObject(st->undo, "processes", procs)) {
		cJSON_Delete(procs);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	{
		uint64_t key;

		/* Its pidfd, from before it runs until the revert stops it (none kept: pid +
		 * start). */
		if (fl_json_get_u64(
			cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(st->undo, "launch"), "hold"),
			&key) == 0)
			(void)!fl_proc_hold(key, p);
	}
	if (st->ctx && st->ctx->journal && (rc = st->ctx->journal(st->ctx->jopaque, st->undo)) < 0)
		return fl_error_set(err, rc, "", "cannot journal the command's pid: %s",
				    strerror(-rc));
	return 0;
}

int fl_shim_apply(struct syscall_spec *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
		  struct fl_error *err)
{
	struct syscall_spec *s = spec;
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(undo, "seed");
	uint64_t deadline = table_deadline(undo, ctx ? ctx->deadline_mono_ns : 0);
	struct table_rules *tr = NULL;
	size_t armed = 0, gone = 0;
	int rc = 0;

	/* The plan's: with the time namespace it found, without the clocks that offsets. */
	if ((rc = table_rules(s, &tr)) < 0)
		return fl_error_set(err, rc, "", "formatting the rules: %s", strerror(-rc));
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;

		if (!cJSON_IsString(name)) {
			free(tr);
			(void)!fl_shim_revert(undo, NULL);
			return fl_error_set(err, -EINVAL, "", "undo record: table without a name");
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "created")))
			rc = fl_preload_table_create(name->valuestring, &t);
		else
			rc = fl_preload_table_open(name->valuestring, &t);
		if (rc == 0)
			rc = fl_preload_table_arm(
			    t, tr->r, tr->n, cJSON_IsNumber(seed) ? (uint64_t)seed->valuedouble : 0,
			    deadline);
		fl_preload_table_close(t);
		if (rc == -ENOENT &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "transient"))) {
			gone++; /* the process exited since plan: nothing to arm */
			continue;
		}
		if (rc == 0)
			armed++;
		if (rc < 0) {
			fl_error_set(err, rc, "", "arming %s: %s", name->valuestring,
				     rc == -EBUSY ? "another writer holds the table's lock"
				     : rc == -EPROTO
					 ? "the table was truncated or replaced by its owner"
					 : strerror(-rc));
			/* All or nothing: disarm what was armed. */
			free(tr);
			(void)!fl_shim_revert(undo, NULL);
			return rc;
		}
	}
	free(tr);
	if (gone && !armed && !s->launch)
		return fl_error_set(err, -ESRCH, "$.target.pod",
				    "every shimmed process of the pods exited before it was armed");
	if (s->launch) {
		const cJSON *name =
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tables, 0), "table");
		struct started st = {undo, ctx};
		struct fl_seccomp_plan *plan = NULL;
		struct fl_proc_ident p;

		if (s->seccomp) {
			rc = fl_seccomp_plan_new(
			    s->rules, s->nrules,
			    cJSON_IsNumber(seed) ? (uint64_t)seed->valuedouble : 0, &plan, err);
			if (rc == 0)
				rc = fl_seccomp_plan_compile(plan, err);
			if (rc < 0) {
				fl_seccomp_plan_free(plan);
				(void)!fl_shim_revert(undo, NULL);
				return rc;
			}
			/* The agent's supervisor: on the agent's clock. */
			fl_seccomp_plan_set_deadline(plan, ctx ? ctx->deadline_mono_ns : 0);
		} else if (!cJSON_IsString(name)) {
			(void)!fl_shim_revert(undo, NULL);
			return fl_error_set(err, -EINVAL, "", "undo record: no table");
		}
		/* The pid is journalled (on_started) before the command may run. */
		rc = fl_launch_spawn(s->launch, s->seccomp ? NULL : name->valuestring, plan,
				     on_started, &st, &p, err);
		if (rc < 0) {
			(void)!fl_shim_revert(undo, NULL);
			return rc;
		}
	}
	return 0;
}

/*
 * The lease moved: so does every table's own deadline (after which the shim
 * ignores its rules even if no agent is left to disarm them). A table that
 * is gone has nothing to extend.
 */
int fl_shim_renew(const cJSON *undo, uint64_t deadline_mono_ns, struct fl_error *err)
{
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(undo, "processes"))
	{
		struct fl_proc_ident p;

		if (fl_proc_ident_from_json(e, &p) == 0)
			fl_launch_set_deadline(&p, deadline_mono_ns);
	}

	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;
		int rc;

		if (!cJSON_IsString(name))
			continue;
		rc = fl_preload_table_open(name->valuestring, &t);
		if (rc == 0)
			rc = fl_preload_table_set_expiry(t, table_deadline(undo, deadline_mono_ns));
		fl_preload_table_close(t);
		if (rc < 0 && rc != -ENOENT && rc != -EPROTO && rc != -ELOOP)
			return fl_error_set(err, rc, "", "extending %s: %s", name->valuestring,
					    strerror(-rc));
	}
	return 0;
}

/*
 * Hits per rule, summed over every table the record names that is still
 * there (the shim counts them in the table; opening one never blocks and
 * follows no link). The numbers come from files the targets can write: they
 * say what the shim counted, not more. A command launched in seccomp mode has
 * no table: not measurable.
 */
int fl_shim_effect(const cJSON *undo, cJSON **out)
{
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(undo, "tables"), *e;
	const cJSON *texts = cJSON_GetObjectItemCaseSensitive(undo, "rules");
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(undo, "launch"), "mode");
	const cJSON *timens = cJSON_GetObjectItemCaseSensitive(undo, "timens");
	bool ns_on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(timens, "active"));
	uint64_t sum[FL_SHM_RULES_MAX] = {0}, total = 0;
	size_t n = (size_t)cJSON_GetArraySize(texts), read_ok = 0, i = 0;
	cJSON *o, *rules;

	*out = NULL;
	if (n > FL_SHM_RULES_MAX)
		n = FL_SHM_RULES_MAX;
	o = cJSON_CreateObject();
	rules = o ? cJSON_AddArrayToObject(o, "rules") : NULL;
	if (!rules) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, tables)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "table");
		struct fl_preload_table *t = NULL;
		uint64_t h[FL_SHM_RULES_MAX];
		int got;

		if (!cJSON_IsString(name) || fl_preload_table_open(name->valuestring, &t) < 0)
			continue;
		got = fl_preload_table_hits(t, h, FL_SHM_RULES_MAX);
		fl_preload_table_close(t);
		if (got < 0)
			continue;
		read_ok++;
		for (size_t k = 0; k < n && k < (size_t)got; k++)
			sum[k] += h[k];
	}
	cJSON_ArrayForEach(e, texts)
	{
		cJSON *r;

		if (i >= n)
			break;
		r = cJSON_CreateObject();
		if (!r || !cJSON_AddItemToArray(rules, r)) {
			cJSON_Delete(r);
			break;
		}
		cJSON_AddStringToObject(r, "rule", cJSON_IsString(e) ? e->valuestring : "?");
		cJSON_AddNumberToObject(r, "hits", (double)sum[i]);
		total += sum[i++];
	}
	cJSON_AddNumberToObject(o, "hits", (double)total);
	cJSON_AddNumberToObject(o, "tables_read", (double)read_ok);
	/*
	 * The time kind's namespace: the kernel offsets the command's clocks
	 * from its first instruction on, with no count to read.
	 */
	if (timens) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(timens, "reason");

		cJSON_AddBoolToObject(o, "timens", ns_on);
		if (ns_on)
			cJSON_AddItemToObject(
			    o, "timens_offsets",
			    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(timens, "offsets"),
					    true));
		else
			cJSON_AddStringToObject(o, "timens_reason",
						cJSON_IsString(why) ? why->valuestring : "?");
	}
	if (cJSON_IsString(mode) && !strcmp(mode->valuestring, "seccomp")) {
		cJSON_AddStringToObject(o, "note", "seccomp mode keeps no hit counts");
		cJSON_AddNullToObject(o, "took_effect");
	} else if (ns_on) {
		cJSON_AddBoolToObject(o, "took_effect", true);
	} else if (!read_ok) {
		cJSON_AddStringToObject(o, "note", "no table left to read");
		cJSON_AddNullToObject(o, "took_effect");
	} else {
		cJSON_AddBoolToObject(o, "took_effect", total > 0);
	}
	*out = o;
	return 0;
}

int fl_shim_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	const cJSON *timens = cJSON_GetObjectItemCaseSensitive(undo, "timens"), *e;
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(timens, "reason");
	const char *sep = "";
	int rc;

	if (!timens)
		return 0;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(timens, "active")))
		return fl_buf_printf(out, "time namespace: none (%s)\n",
				     cJSON_IsString(why) ? why->valuestring : "?");
	rc = fl_buf_printf(out, "time namespace: the command enters one with offsets ");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(timens, "offsets"))
	{
		if (rc == 0 && cJSON_IsString(e))
			rc = fl_buf_printf(out, "%s%s %s", sep, e->string, e->valuestring);
		sep = ", ";
	}
	return rc < 0 ? rc : fl_buf_printf(out, "\n");
}

bool fl_shim_available(char *why, size_t whylen)
{
	if (access("/dev/shm", W_OK) == 0)
		return true;
	snprintf(why, whylen, "/dev/shm is not writable: %s", strerror(errno));
	return false;
}
