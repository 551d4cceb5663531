#include "agent/preload.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/log.h"
#include "faults/proc_select.h"
#include "faults/seccomp.h"
#include "preload/rules.h"

#define CMDLINE_MAX 8192

static bool cgroup_under(const char *cg, const char *want)
{
	size_t n = strlen(want);

	while (n > 1 && want[n - 1] == '/')
		n--;
	if (n == 1)
		return true;
	return !strncmp(cg, want, n) && (cg[n] == '\0' || cg[n] == '/');
}

/* The same tests as config.c's rules_match, on the process the command would become. */
static bool command_match(const struct fl_policy_rules *r, const char *comm, uid_t uid,
			  const char *cgroup, const char *cmdline, char *what, size_t len)
{
	for (size_t i = 0; i < r->n_names; i++)
		if (!strcmp(comm, r->names[i])) {
			snprintf(what, len, "name %s", comm);
			return true;
		}
	for (size_t i = 0; i < r->n_uids; i++)
		if (uid == r->uids[i]) {
			snprintf(what, len, "uid %u", (unsigned)uid);
			return true;
		}
	for (size_t i = 0; cgroup && i < r->n_cgroups; i++)
		if (cgroup_under(cgroup, r->cgroups[i])) {
			snprintf(what, len, "cgroup %s", r->cgroups[i]);
			return true;
		}
	for (size_t i = 0; i < r->n_cmdlines; i++)
		if (regexec(&r->cmdlines[i], cmdline, 0, NULL, 0) == 0) {
			snprintf(what, len, "cmdline rule %zu", i);
			return true;
		}
	return false;
}

int fl_agent_policy_command(void *opaque, const char *path, char *const argv[],
			    struct fl_error *err)
{
	const struct fl_agent_config *c = opaque;
	char comm[16], cmdline[CMDLINE_MAX], cg[4096], what[256];
	const char *base = strrchr(path, '/');
	size_t off = 0;

	if (!c)
		return 0;
	/* The kernel names a process after the file it executes, cut to 15 bytes. */
	snprintf(comm, sizeof(comm), "%s", base ? base + 1 : path);
	cmdline[0] = '\0';
	for (size_t i = 0; argv[i] && off < sizeof(cmdline) - 1; i++) {
		int n =
		    snprintf(cmdline + off, sizeof(cmdline) - off, "%s%s", i ? " " : "", argv[i]);

		off = n < 0 ? off : off + (size_t)n;
	}
	if (fl_proc_cgroup(getpid(), cg, sizeof(cg)) < 0)
		cg[0] = '\0';
	if (command_match(&c->deny, comm, geteuid(), cg[0] ? cg : NULL, cmdline, what,
			  sizeof(what)))
		return fl_error_set(err, -EPERM, "$.target.command",
				    "the command is denied by the agent's config (%s)", what);
	if (c->has_allow && !command_match(&c->allow, comm, geteuid(), cg[0] ? cg : NULL, cmdline,
					   what, sizeof(what)))
		return fl_error_set(err, -EPERM, "$.target.command",
				    "the command is outside the agent's allow-list");
	return 0;
}

void fl_agent_seccomp_caps(cJSON *caps)
{
	struct fl_seccomp_caps sc;
	cJSON *o;

	fl_seccomp_probe(&sc);
	o = cJSON_AddObjectToObject(caps, "seccomp");
	if (!o)
		return;
	cJSON_AddBoolToObject(o, "filter", sc.filter);
	cJSON_AddBoolToObject(o, "errno", sc.act_errno);
	cJSON_AddBoolToObject(o, "user_notif", sc.user_notif);
	cJSON_AddBoolToObject(o, "notif_continue", sc.notif_continue);
	cJSON_AddBoolToObject(o, "sync_wakeup", sc.sync_wakeup);
	cJSON_AddBoolToObject(o, "pidfd_getfd", sc.pidfd_getfd);
	/* A launched command in params.mode "seccomp" with p=/when= rules: the agent answers. */
	cJSON_AddBoolToObject(o, "agent_supervisor",
			      sc.user_notif && sc.notif_continue && sc.pidfd_getfd);
	cJSON_AddNumberToObject(o, "libseccomp_api", sc.api_level);
}

void fl_agent_preload_gc(void)
{
	int n = fl_preload_table_gc();
	char buf[16];

	if (n > 0) {
		snprintf(buf, sizeof(buf), "%d", n);
		fl_log(FL_LOG_INFO, "removed syscall-fault tables of processes that are gone",
		       "count", buf, NULL);
	} else if (n < 0) {
		fl_log(FL_LOG_WARN, "cannot scan /dev/shm for stale syscall-fault tables", "error",
		       strerror(-n), NULL);
	}
}
