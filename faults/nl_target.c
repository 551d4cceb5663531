/* The "target" of a network fault: which netns, which interface. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/path.h"
#include "faults/nl_common.h"
#include "faults/pod_select.h"
#include "faults/proc_select.h"

#define PID_MAX 4194304 /* PID_MAX_LIMIT on 64-bit */

static bool netns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/*
 * Grammar (JSON object, every key optional but see below):
 *   "netns": NAME        -> /var/run/netns/NAME (as `ip netns` names them)
 *   "netns_path": PATH   -> an absolute path to a netns file (bind mount or /proc/P/ns/net),
 *                           without "." or ".." components
 *   "pid": N             -> /proc/N/ns/net (the namespace of a running process)
 *   "pod": {...}         -> the pod's sandbox's /proc/PID/ns/net (faults/pod_select.h)
 *   "interface": IFNAME  -> that interface
 *   "route_to": IP       -> the interface the kernel routes that address (IPv4 or
 *                           IPv6, no prefix) through
 */
int fl_nl_target_parse(const cJSON *target, const struct fl_nl_cidr *default_route_to,
		       struct fl_nl_target *t, struct fl_error *err)
{
	const cJSON *it;
	int nns = 0;

	memset(t, 0, sizeof(*t));
	t->field = "$.target";
	if (target && !cJSON_IsObject(target) && !cJSON_IsNull(target))
		return fl_error_set(err, -EINVAL, "$.target", "expected an object");
	cJSON_ArrayForEach(it, target)
	{
		char path[64];
		const char *k = it->string;

		snprintf(path, sizeof(path), "$.target.%.40s", k);
		if (!strcmp(k, "netns")) {
			if (!cJSON_IsString(it) || !netns_name_ok(it->valuestring))
				return fl_error_set(err, -EINVAL, path,
						    "expected a netns name as `ip netns` lists it");
			snprintf(t->netns, sizeof(t->netns), "/var/run/netns/%s", it->valuestring);
			snprintf(t->netns_label, sizeof(t->netns_label), "ip netns exec %s ",
				 it->valuestring);
			t->field = "$.target.netns";
			nns++;
		} else if (!strcmp(k, "netns_path")) {
			if (!cJSON_IsString(it) || it->valuestring[0] != '/' ||
			    strlen(it->valuestring) >= sizeof(t->netns) ||
			    fl_path_has_dot_component(it->valuestring))
				return fl_error_set(
				    err, -EINVAL, path,
				    "expected an absolute path (< 256 bytes) without "
				    "\".\" or \"..\" components");
			snprintf(t->netns, sizeof(t->netns), "%s", it->valuestring);
			snprintf(t->netns_label, sizeof(t->netns_label), "nsenter --net=%s ",
				 it->valuestring);
			t->field = "$.target.netns_path";
			nns++;
		} else if (!strcmp(k, "pid")) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
			    it->valuedouble > PID_MAX ||
			    it->valuedouble != (double)(int)it->valuedouble)
				return fl_error_set(err, -EINVAL, path, "expected a PID (1..%d)",
						    PID_MAX);
			snprintf(t->netns, sizeof(t->netns), "/proc/%d/ns/net",
				 (int)it->valuedouble);
			snprintf(t->netns_label, sizeof(t->netns_label), "nsenter --net=%s ",
				 t->netns);
			t->field = "$.target.pid";
			t->via_pid = true;
			t->pid = (int)it->valuedouble;
			nns++;
		} else if (!strcmp(k, "pod")) {
			/* A pod's namespace, through its sandbox (faults/pod_select.c). */
			int r = fl_pod_target_netns(it, path, t->netns, sizeof(t->netns), err);

			if (r < 0)
				return r;
			snprintf(t->netns_label, sizeof(t->netns_label), "nsenter --net=%s ",
				 t->netns);
			t->field = "$.target.pod";
			nns++;
		} else if (!strcmp(k, "start")) {
			if (fl_json_get_u64(it, &t->start) < 0)
				return fl_error_set(
				    err, -EINVAL, path,
				    "expected the process's start time: field 22 of "
				    "/proc/PID/stat (an unsigned integer)");
			t->has_start = true;
		} else if (!strcmp(k, "interface")) {
			if (!cJSON_IsString(it) || !*it->valuestring ||
			    strlen(it->valuestring) >= IF_NAMESIZE || strchr(it->valuestring, '/'))
				return fl_error_set(err, -EINVAL, path,
						    "expected an interface name (< %d bytes)",
						    IF_NAMESIZE);
			snprintf(t->ifname, sizeof(t->ifname), "%s", it->valuestring);
		} else if (!strcmp(k, "route_to")) {
			if (!cJSON_IsString(it) || strchr(it->valuestring, '/') ||
			    fl_nl_cidr_parse(it->valuestring, &t->route_to) < 0)
				return fl_error_set(err, -EINVAL, path,
						    "expected an IPv4 or IPv6 address");
			t->has_route_to = true;
		} else {
			return fl_error_set(err, -EINVAL, path, "unknown field");
		}
	}
	if (nns > 1)
		return fl_error_set(err, -EINVAL, "$.target",
				    "give at most one of netns, netns_path, pid and pod");
	if (t->has_start && !t->via_pid)
		return fl_error_set(
		    err, -EINVAL, "$.target.start",
		    "\"start\" pins the process a \"pid\" names: give it with \"pid\"");
	if (t->ifname[0] && t->has_route_to)
		return fl_error_set(err, -EINVAL, "$.target",
				    "give either interface or route_to, not both");
	if (!t->ifname[0] && !t->has_route_to) {
		if (!default_route_to)
			return fl_error_set(err, -EINVAL, "$.target",
					    "say where: \"interface\" or \"route_to\"");
		t->route_to = *default_route_to;
		t->has_route_to = true;
	}
	return 0;
}

const char *fl_nl_target_prefix(const struct fl_nl_target *t)
{
	return t->netns_label;
}

const char *fl_nl_target_dev(const struct fl_nl_target *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (t->ifname[0]) {
		snprintf(buf, len, "%s", t->ifname);
	} else if (t->resolved[0]) {
		snprintf(buf, len, "%s", t->resolved);
	} else {
		if (fl_nl_cidr_is6(&t->route_to))
			inet_ntop(AF_INET6, &t->route_to.addr6, a, sizeof(a));
		else
			inet_ntop(AF_INET, &t->route_to.addr, a, sizeof(a));
		snprintf(buf, len, "<dev routing to %s>", a);
	}
	return buf;
}

/* "ip netns exec NAME " / "nsenter --net=PATH " for an undo record's netns path. */
void fl_nl_netns_prefix(const char *netns, char *buf, size_t len)
{
	const char *name = !strncmp(netns, "/run/netns/", 11)	    ? netns + 11
			   : !strncmp(netns, "/var/run/netns/", 15) ? netns + 15
								    : NULL;

	if (!netns[0])
		buf[0] = '\0';
	else if (name && *name && !strchr(name, '/'))
		snprintf(buf, len, "ip netns exec %s ", name);
	else
		snprintf(buf, len, "nsenter --net=%s ", netns);
}

int fl_nl_target_admit(const struct fl_nl_target *t, const struct fl_fault_ctx *ctx,
		       struct fl_nl_sock_cache *c, struct fl_error *err)
{
	struct fl_nl_sock_cache local = {0};
	struct fl_fault_netns ns = {0};
	struct fl_nl_ns_id self;
	struct nl_sock *sk = NULL;
	int r;

	if (!c)
		c = &local;
	/* A process is its thread group: another thread's namespace is not "the process's". */
	if (t->via_pid) {
		int tgid = fl_proc_tgid(t->pid);
		unsigned long long st = 0;

		if (tgid > 0 && tgid != t->pid)
			return fl_error_set(err, -ESRCH, "$.target.pid",
					    "%d is a thread of process %d, not a process: name the "
					    "process",
					    t->pid, tgid);
		/* "start": the process the controller saw, or nothing. */
		if (t->has_start && fl_proc_stat(t->pid, &st, NULL) == 0 && st != t->start)
			return fl_error_set(err, -ESRCH, "$.target.start",
					    "process %d started at %llu, not %llu: the pid names "
					    "another process now",
					    t->pid, st, (unsigned long long)t->start);
	}
	r = fl_nl_sock_get(c, t->netns, &sk, err);
	if (r < 0) {
		if (err && !err->path[0])
			snprintf(err->path, sizeof(err->path), "%s",
				 t->field ? t->field : "$.target");
		goto out;
	}
	fl_nl_sock_put(c, sk);
	if (!ctx || !ctx->allow_netns)
		goto out;
	ns.field = t->field ? t->field : "$.target";
	if (t->netns[0]) {
		ns.dev = c->dev;
		ns.ino = c->ino;
		ns.label = t->netns;
		ns.named = !t->via_pid;
	} else {
		r = fl_nl_ns_self(&self);
		if (r < 0) {
			r = fl_error_set(err, r, "$.target",
					 "the agent's own network namespace: %s", strerror(-r));
			goto out;
		}
		ns.dev = self.dev;
		ns.ino = self.ino;
		ns.label = "the agent's own";
		ns.own = true;
	}
	r = ctx->allow_netns(ctx->opaque, &ns, err);
out:
	if (c == &local)
		fl_nl_sock_cache_done(&local);
	return r;
}
