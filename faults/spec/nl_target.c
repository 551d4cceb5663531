/* The "target" of a network fault: which netns, which interface; its "direction". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/path.h"
#include "faults/spec/nl_spec.h"
#include "faults/spec/pod_sel.h"

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
 *   "start": T           -> with "pid": that process started at T (field 22 of
 *                           /proc/PID/stat), else the agent refuses (nl_fault.c)
 *   "pod": {...}         -> the pod's sandbox's /proc/PID/ns/net: checked here
 *                           (faults/spec/pod_sel.h), found by the agent (nl_multi.c)
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
			/* A pod's namespace is its sandbox's: the agent looks it up (nl_multi.c).
			 */
			struct fl_pod_sel sel;
			int r = fl_pod_sel_parse_net(it, path, &sel, err);

			if (r < 0)
				return r;
			snprintf(t->netns_label, sizeof(t->netns_label),
				 "nsenter --net=<pod %s/%s> ", sel.namespace,
				 sel.name ? sel.name : sel.labels);
			fl_pod_sel_done(&sel);
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

int fl_nl_direction_parse(const cJSON *params, bool *ingress, struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "direction");

	*ingress = false;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) ||
	    (strcmp(v->valuestring, "egress") && strcmp(v->valuestring, "ingress")))
		return fl_error_set(err, -EINVAL, "$.params.direction",
				    "expected \"egress\" (packets sent, the default) or "
				    "\"ingress\" (packets received)");
	*ingress = !strcmp(v->valuestring, "ingress");
	return 0;
}
