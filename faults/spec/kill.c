/*
 * kill: send a signal to the selected processes (the spec side; the
 * pidfds are faults/kill.c's).
 *
 *   target := process target (faults/spec/proc_sel.h)
 *   params := { ["signal": "SIGKILL" | "KILL" | "9"-style name or number] }   default SIGKILL
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/api.h"
#include "faults/spec/kill.h"

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},	  {"QUIT", SIGQUIT}, {"ILL", SIGILL},	{"ABRT", SIGABRT},
    {"BUS", SIGBUS},   {"FPE", SIGFPE},	  {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"SYS", SIGSYS},
};

const char *fl_kill_sig_name(int sig)
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

void fl_kill_free(void *p)
{
	struct kill_spec *s = p;

	if (!s)
		return;
	fl_proc_sel_done(&s->sel);
	free(s);
}

int fl_kill_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
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
	fl_kill_free(s);
	return r;
}

int fl_kill_describe(const void *p, struct fl_buf *out)
{
	const struct kill_spec *s = p;
	const char *n = fl_kill_sig_name(s->sig);
	int r;

	if (n)
		r = fl_buf_printf(out, "kill -%s ", n);
	else
		r = fl_buf_printf(out, "kill -%d ", s->sig);
	return r < 0 ? r : fl_proc_sel_describe(&s->sel, out);
}

const struct fl_fault_spec_ops fl_fault_spec_kill = {
    .kind = "kill",
    .family = FL_FAULT_FAMILY_PROCESS,
    .instant = true,
    .parse = fl_kill_parse,
    .describe = fl_kill_describe,
    .free = fl_kill_free,
};
