/*
 * kill: send a signal to the selected processes through pidfds.
 *
 *   target := process target (faults/proc_select.h)
 *   params := { ["signal": "SIGKILL" | "KILL" | "9"-style name or number] }   default SIGKILL
 *
 * A signal cannot be taken back, so revert is a no-op; the undo record still
 * names exactly which processes (pid + start time) were signalled.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/api.h"
#include "core/json.h"
#include "faults/fault.h"
#include "faults/proc_select.h"

struct kill_spec {
	struct fl_proc_sel sel;
	int sig;
};

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},	  {"QUIT", SIGQUIT}, {"ILL", SIGILL},	{"ABRT", SIGABRT},
    {"BUS", SIGBUS},   {"FPE", SIGFPE},	  {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"SYS", SIGSYS},
};

static const char *sig_name(int sig)
{
	for (size_t i = 0; i < FL_ARRAY_SIZE(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

/* Grammar: signal := "SIG"? NAME | decimal | number; stop-like signals belong to `pause`. */
static int parse_signal(const cJSON *v, int *sig, struct fl_error *err)
{
	const char *path = "$.params.signal";

	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 1 || v->valuedouble > SIGRTMAX ||
		    v->valuedouble != (int)v->valuedouble)
			return fl_error_set(err, -EINVAL, path,
					    "expected a signal number in [1, %d]", SIGRTMAX);
		*sig = (int)v->valuedouble;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		bool found = false;

		if (!strncasecmp(s, "SIG", 3))
			s += 3;
		for (size_t i = 0; i < FL_ARRAY_SIZE(signals); i++)
			if (!strcasecmp(s, signals[i].name)) {
				*sig = signals[i].sig;
				found = true;
			}
		if (!found) {
			if (!strcasecmp(s, "STOP") || !strcasecmp(s, "TSTP") ||
			    !strcasecmp(s, "CONT") || !strcasecmp(s, "TTIN") ||
			    !strcasecmp(s, "TTOU"))
				return fl_error_set(err, -EINVAL, path,
						    "stop/continue signals are the pause fault's "
						    "job (it resumes the process on revert)");
			return fl_error_set(err, -EINVAL, path,
					    "unknown signal \"%.32s\" (e.g. \"SIGTERM\", \"KILL\")",
					    v->valuestring);
		}
	} else {
		return fl_error_set(err, -EINVAL, path, "expected a signal name or number");
	}
	if (*sig == SIGSTOP || *sig == SIGTSTP || *sig == SIGCONT || *sig == SIGTTIN ||
	    *sig == SIGTTOU)
		return fl_error_set(err, -EINVAL, path,
				    "stop/continue signals are the pause fault's job");
	return 0;
}

static void kill_free(void *p)
{
	struct kill_spec *s = p;

	if (!s)
		return;
	fl_proc_sel_done(&s->sel);
	free(s);
}

static int kill_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const pkeys[] = {"signal", NULL};
	struct kill_spec *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	s->sig = SIGKILL;
	r = fl_proc_sel_parse(target, NULL, &s->sel, err);
	if (r < 0)
		goto out;
	if (params) {
		const cJSON *v;

		if (!cJSON_IsObject(params)) {
			r = fl_error_set(err, -EINVAL, "$.params", "expected an object");
			goto out;
		}
		r = fl_api_only_keys(params, "$.params", pkeys, err);
		if (r < 0)
			goto out;
		v = cJSON_GetObjectItemCaseSensitive(params, "signal");
		if (v) {
			r = parse_signal(v, &s->sig, err);
			if (r < 0)
				goto out;
		}
	}
	*out = s;
	s = NULL;
out:
	kill_free(s);
	return r;
}

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
					 id.pid, sig_name(s->sig) ? sig_name(s->sig) : "?",
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

static int kill_describe(const void *p, struct fl_buf *out)
{
	const struct kill_spec *s = p;
	const char *n = sig_name(s->sig);
	int r;

	if (n)
		r = fl_buf_printf(out, "kill -%s ", n);
	else
		r = fl_buf_printf(out, "kill -%d ", s->sig);
	return r < 0 ? r : fl_proc_sel_describe(&s->sel, out);
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

static bool kill_available(char *why, size_t whylen)
{
	return fl_proc_pidfd_available(why, whylen);
}

const struct fl_fault_ops fl_fault_kill = {
    .kind = "kill",
    .parse = kill_parse,
    .plan = kill_plan,
    .apply = kill_apply,
    .revert = kill_revert,
    .describe = kill_describe,
    .describe_plan = kill_describe_plan,
    .available = kill_available,
    .free = kill_free,
};
