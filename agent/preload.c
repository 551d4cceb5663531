#include "agent/preload.h"

#include <stdio.h>
#include <string.h>

#include "agent/log.h"
#include "faults/seccomp.h"
#include "preload/rules.h"

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
