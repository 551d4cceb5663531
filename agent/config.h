/*
 * faultline-agent's configuration file (JSON; docs/faultline-agent.8 and
 * docs/agent-api.md): the ownership policy (which processes and fault kinds
 * it may touch) and the limits on what clients may ask of it.
 *
 *   config := { ["allow": rules + ["output_dirs": ["/dir"...]] + ["fill_dirs": ["/dir"...]]]
 *              [, "deny": rules] [, "kinds": [kind...]] [, "limits": limits]
 *              [, "network": network] [, "lease_priority": 0..99] }
 *   rules  := { ["names": [comm...]] [, "uids": [uid...]] [, "cgroups": ["/v2/path"...]]
 *              [, "cmdlines": [ERE...]] }
 *   limits := { ["max_body_bytes": n] [, "max_live_faults": n] [, "max_ttl_ms": n]
 *              [, "rate_per_second": n] [, "rate_burst": n] }
 *   network := { ["netns": ["host" | NAME | "/abs/path"...]] [, "interfaces": [IFNAME...]] }
 *
 * With "allow", a process must match at least one allow rule (deny by
 * default); any "deny" match refuses it. PID 1, the agent and its parent are
 * always refused. With "allow", a launched command's "output" file must
 * lie in one of "allow.output_dirs" (canonical absolute paths of existing
 * directories, checked at load; none: no output file may be named), opened
 * there with RESOLVE_BENEATH (docs/security.md); the directories disk_fill
 * fills and stress's I/O workers write in must lie in one of "allow.fill_dirs"
 * (likewise; none: those faults are refused). Without "kinds", every kind built in is allowed.
 * With "network", network faults (netem, bandwidth, partition) may only touch the listed namespaces
 * ("host": the agent's own; NAME as `ip netns` lists it; compared by inode, so no alias gets around
 * it) and the listed interfaces. With "lease_priority" N > 0, the lease thread
 * and the revert workers run at SCHED_FIFO N (docs/faultline-agent.8).
 */
#ifndef FL_AGENT_CONFIG_H
#define FL_AGENT_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

#define FL_CONFIG_FILE_MAX (256 * 1024)
#define FL_CONFIG_LIST_MAX 256

struct fl_policy_rules {
	char **names;
	size_t n_names;
	uid_t *uids;
	size_t n_uids;
	char **cgroups;
	size_t n_cgroups;
	regex_t *cmdlines;
	size_t n_cmdlines;
};

struct fl_agent_config {
	bool has_allow;
	struct fl_policy_rules allow, deny;
	char **output_dirs; /* allow.output_dirs: canonical, existing at load */
	size_t n_output_dirs;
	char **fill_dirs; /* allow.fill_dirs: the same */
	size_t n_fill_dirs;
	char **kinds; /* NULL: all */
	size_t n_kinds;
	char **netns; /* NULL: any network namespace */
	size_t n_netns;
	char **interfaces; /* NULL: any interface */
	size_t n_interfaces;
	size_t max_body_bytes;
	size_t max_live_faults;
	uint64_t max_ttl_ms;
	double rate_per_second;
	double rate_burst;
	int lease_priority; /* 0: off; 1..99: SCHED_FIFO of the lease thread and revert workers */
};

/* Defaults: no allow list, body 64 KiB, 256 live faults, ttl <= 24 h, 200 req/s burst 400. */
void fl_agent_config_init(struct fl_agent_config *c);
/* Load and check a config file; errors carry the JSON path. */
int fl_agent_config_load(struct fl_agent_config *c, const char *path, struct fl_error *err) FL_WUR;
/* Same, from memory. */
int fl_agent_config_parse(struct fl_agent_config *c, const char *buf, size_t len,
			  struct fl_error *err) FL_WUR;
void fl_agent_config_done(struct fl_agent_config *c);

#endif
