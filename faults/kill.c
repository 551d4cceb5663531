/*
 * kill: send a signal to the selected processes through pidfds. The target
 * and params grammar, and describe: faults/spec/kill.c.
 *
 * A signal cannot be taken back, so revert is a no-op; the undo record still
 * names exactly which processes (pid + start time) were signalled.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "faults/fault.h"
#include "faults/proc_select.h"
#include "faults/spec/kill.h"

static int kill_plan(void *p, const struct fl_fault_ctx *ctx, cJSON **undo, struct fl_error *err)
{
	struct kill_spec *s = p;
	struct fl_proc_ident *v = NULL;
	size_t n = 0;
	uint64_t seed;
	cJSON *u = NULL;
	int r;

	*undo = NULL;
	r = fl_proc_sel_resolve(&s->sel, ctx, &seed, &v, &n, err);
	if (r < 0)
		goto out;
	u = cJSON_CreateObject();
	if (!u || !cJSON_AddStringToObject(u, "kind", "kill") ||
	    !cJSON_AddNumberToObject(u, "signal", s->sig) ||
	    !cJSON_AddItemToObject(u, "seed", fl_json_u64(seed)) ||
	    !cJSON_AddItemToObject(u, "targets", fl_proc_idents_json(v, n))) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	fl_proc_sel_annotate(&s->sel, u);
	*undo = u;
	u = NULL;
out:
	cJSON_Delete(u);
	free(v);
	return r;
}

static int kill_apply(void *p, const struct fl_fault_ctx *ctx, cJSON *undo, struct fl_error *err)
{
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets");
	struct kill_spec *s = p;
	cJSON *signalled = cJSON_CreateArray();
	cJSON *gone = cJSON_CreateArray();
	size_t nsig = 0;
	const cJSON *t;
	int r = 0;

	(void)ctx;
	if (!signalled || !gone) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;
		int k;

		if (fl_proc_ident_from_json(t, &id) < 0) {
			r = fl_error_set(err, -EINVAL, NULL, "corrupt undo record");
			goto out;
		}
		k = fl_proc_signal(&id, s->sig);
		if (k == -ESRCH) {
			cJSON_AddItemToArray(gone, cJSON_CreateNumber(id.pid));
			continue;
		}
		if (k < 0) {
			/* Signals already sent cannot be recalled; report what happened. */
			r = fl_error_set(err, k, "$.target", "pidfd_send_signal(%d, SIG%s): %s",
					 id.pid,
					 fl_kill_sig_name(s->sig) ? fl_kill_sig_name(s->sig) : "?",
					 strerror(-k));
			if (nsig == 0)
				goto out;
			continue;
		}
		nsig++;
		cJSON_AddItemToArray(signalled, cJSON_CreateNumber(id.pid));
	}
	if (nsig == 0 && r == 0) {
		r = fl_error_set(err, -ESRCH, "$.target",
				 "every selected process exited before it could be signalled");
		goto out;
	}
	r = 0;
	cJSON_AddItemToObject(undo, "signalled", signalled);
	cJSON_AddItemToObject(undo, "gone", gone);
	signalled = gone = NULL;
out:
	cJSON_Delete(signalled);
	cJSON_Delete(gone);
	return r;
}

static int kill_revert(const cJSON *undo, struct fl_error *err)
{
	(void)err;
	(void)undo;
	/* Nothing to restore: the record is kept for the journal and the report. */
	return 0;
}

static int kill_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(undo, "targets"), *t;
	int r;

	if (!cJSON_IsArray(targets))
		return -EINVAL;
	r = fl_buf_printf(out, "selected:");
	cJSON_ArrayForEach(t, targets)
	{
		struct fl_proc_ident id;

		if (r == 0 && fl_proc_ident_from_json(t, &id) == 0)
			r = fl_buf_printf(out, " %d", id.pid);
	}
	return r < 0 ? r
		     : fl_buf_printf(out, "\non revert: nothing (a signal cannot be taken back)\n");
}

/* Is the process the record names gone (exited, a zombie, or its pid reused)? */
static bool proc_gone(const struct fl_proc_ident *id)
{
	unsigned long long st = 0;
	char state = 0;

	return fl_proc_stat(id->pid, &st, &state) < 0 || st != id->start || state == 'Z' ||
	       state == 'X';
}

/*
 * What the kill did: the processes signalled and how many are confirmed gone.
 * A fatal signal's targets get up to 200 ms to go; a signal a program may
 * handle (SIGHUP, SIGUSR1...) took effect when it was delivered.
 */
static int kill_effect(const cJSON *undo, cJSON **out)
{
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(undo, "signal");
	const cJSON *signalled = cJSON_GetObjectItemCaseSensitive(undo, "signalled"), *t, *p;
	bool fatal = cJSON_IsNumber(sig) && sig->valueint == SIGKILL;
	size_t n = 0, gone = 0;
	cJSON *o = cJSON_CreateObject();

	*out = NULL;
	if (!o)
		return -ENOMEM;
	for (int w = 0; w <= 20; w++) {
		n = gone = 0;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(undo, "targets"))
		{
			struct fl_proc_ident id;
			bool was_signalled = false;

			if (fl_proc_ident_from_json(t, &id) < 0)
				continue;
			cJSON_ArrayForEach(p, signalled) was_signalled |=
			    cJSON_IsNumber(p) && p->valueint == id.pid;
			if (!was_signalled)
				continue;
			n++;
			gone += proc_gone(&id);
		}
		if (!fatal || gone == n || w == 20)
			break;
		usleep(10000);
	}
	cJSON_AddNumberToObject(o, "signalled", (double)n);
	cJSON_AddNumberToObject(o, "gone", (double)gone);
	cJSON_AddBoolToObject(o, "took_effect", fatal ? gone > 0 : n > 0);
	*out = o;
	return 0;
}

static bool kill_available(char *why, size_t whylen)
{
	return fl_proc_pidfd_available(why, whylen);
}

const struct fl_fault_ops fl_fault_kill = {
    .effect = kill_effect,
    .kind = "kill",
    .spec = &fl_fault_spec_kill,
    .parse = fl_kill_parse,
    .plan = kill_plan,
    .apply = kill_apply,
    .revert = kill_revert,
    .describe = fl_kill_describe,
    .describe_plan = kill_describe_plan,
    .available = kill_available,
    .free = fl_kill_free,
};
