#include "agent/config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/api.h"
#include "core/regex.h"
#include "faults/fault.h"
#include "faults/proc_select.h"

void fl_agent_config_init(struct fl_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_body_bytes = FL_API_BODY_MAX;
	c->max_live_faults = 256;
	c->max_ttl_ms = FL_API_TTL_MAX_MS;
	c->rate_per_second = 200;
	c->rate_burst = 400;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void rules_done(struct fl_policy_rules *r)
{
	free_strv(r->names, r->n_names);
	free(r->uids);
	free_strv(r->cgroups, r->n_cgroups);
	for (size_t i = 0; i < r->n_cmdlines; i++)
		regfree(&r->cmdlines[i]);
	free(r->cmdlines);
	memset(r, 0, sizeof(*r));
}

void fl_agent_config_done(struct fl_agent_config *c)
{
	if (!c)
		return;
	rules_done(&c->allow);
	rules_done(&c->deny);
	free_strv(c->kinds, c->n_kinds);
	free_strv(c->netns, c->n_netns);
	free_strv(c->interfaces, c->n_interfaces);
	fl_agent_config_init(c);
}

static int string_list(const cJSON *v, const char *path, char ***out, size_t *n,
		       struct fl_error *err)
{
	const cJSON *it;
	size_t i = 0;
	char p[FL_ERROR_PATH_MAX];

	if (!cJSON_IsArray(v))
		return fl_error_set(err, -EINVAL, path, "expected a list of strings");
	if (cJSON_GetArraySize(v) > FL_CONFIG_LIST_MAX)
		return fl_error_set(err, -E2BIG, path, "more than %d entries", FL_CONFIG_LIST_MAX);
	*out = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	if (!*out)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	cJSON_ArrayForEach(it, v)
	{
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 4096)
			return fl_error_set(err, -EINVAL, p, "expected a non-empty string");
		(*out)[i] = strdup(it->valuestring);
		if (!(*out)[i])
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		*n = ++i;
	}
	return 0;
}

static int parse_rules(const cJSON *o, const char *path, struct fl_policy_rules *r,
		       struct fl_error *err)
{
	static const char *const keys[] = {"names", "uids", "cgroups", "cmdlines", NULL};
	char p[FL_ERROR_PATH_MAX];
	const cJSON *v;
	int rc;

	if (!cJSON_IsObject(o))
		return fl_error_set(err, -EINVAL, path, "expected an object");
	rc = fl_api_only_keys(o, path, keys, err);
	if (rc < 0)
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "names"))) {
		snprintf(p, sizeof(p), "%s.names", path);
		rc = string_list(v, p, &r->names, &r->n_names, err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < r->n_names; i++)
			if (strlen(r->names[i]) > FL_PROC_COMM_MAX)
				return fl_error_set(err, -EINVAL, p,
						    "\"%s\" is longer than a comm (15 chars)",
						    r->names[i]);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "cgroups"))) {
		snprintf(p, sizeof(p), "%s.cgroups", path);
		rc = string_list(v, p, &r->cgroups, &r->n_cgroups, err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < r->n_cgroups; i++)
			if (r->cgroups[i][0] != '/')
				return fl_error_set(err, -EINVAL, p,
						    "cgroup paths start with '/' (cgroup v2 path)");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "uids"))) {
		const cJSON *it;

		snprintf(p, sizeof(p), "%s.uids", path);
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > FL_CONFIG_LIST_MAX)
			return fl_error_set(err, -EINVAL, p, "expected a list of uids");
		r->uids = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(uid_t));
		if (!r->uids)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
			    it->valuedouble > 4294967294.0 ||
			    it->valuedouble != floor(it->valuedouble))
				return fl_error_set(err, -EINVAL, p, "expected numeric uids");
			r->uids[r->n_uids++] = (uid_t)it->valuedouble;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "cmdlines"))) {
		char **pats = NULL;
		size_t n = 0;

		snprintf(p, sizeof(p), "%s.cmdlines", path);
		rc = string_list(v, p, &pats, &n, err);
		if (rc == 0) {
			r->cmdlines = calloc(n + 1, sizeof(regex_t));
			if (!r->cmdlines)
				rc = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
		for (size_t i = 0; rc == 0 && i < n; i++) {
			if (fl_regex_check(pats[i], NULL, 0) < 0) {
				rc = fl_error_set(err, -E2BIG, p,
						  "regular expression too complex (repetitions)");
				break;
			}
			if (regcomp(&r->cmdlines[i], pats[i], REG_EXTENDED | REG_NOSUB)) {
				rc = fl_error_set(err, -EINVAL, p,
						  "invalid regular expression \"%s\"", pats[i]);
				break;
			}
			r->n_cmdlines++;
		}
		free_strv(pats, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A "." or ".." component would let a path leave the directory it names. */
static bool has_dot_component(const char *s)
{
	for (const char *c = s; (c = strchr(c, '/'));) {
		c++;
		if (c[0] == '.' &&
		    (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))))
			return true;
	}
	return false;
}

static int parse_network(const cJSON *o, struct fl_agent_config *c, struct fl_error *err)
{
	static const char *const keys[] = {"netns", "interfaces", NULL};
	const cJSON *v;
	char p[64];
	int r;

	if (!cJSON_IsObject(o))
		return fl_error_set(err, -EINVAL, "$.network", "expected an object");
	r = fl_api_only_keys(o, "$.network", keys, err);
	if (r < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "netns"))) {
		r = string_list(v, "$.network.netns", &c->netns, &c->n_netns, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < c->n_netns; i++) {
			const char *n = c->netns[i];

			snprintf(p, sizeof(p), "$.network.netns[%zu]", i);
			if (n[0] == '/' ? strlen(n) >= 256 || has_dot_component(n)
					: strchr(n, '/') || strlen(n) > 64 || !strcmp(n, ".") ||
					      !strcmp(n, ".."))
				return fl_error_set(
				    err, -EINVAL, p,
				    "expected \"host\", a name as `ip netns` lists "
				    "it, or an absolute path without \".\" or \"..\"");
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "interfaces"))) {
		r = string_list(v, "$.network.interfaces", &c->interfaces, &c->n_interfaces, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < c->n_interfaces; i++)
			if (strlen(c->interfaces[i]) >= 16 || strchr(c->interfaces[i], '/')) {
				snprintf(p, sizeof(p), "$.network.interfaces[%zu]", i);
				return fl_error_set(err, -EINVAL, p, "expected an interface name");
			}
	}
	return 0;
}

static int get_limit(const cJSON *limits, const char *key, double lo, double hi, double *out,
		     struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(limits, key);
	char p[128];

	if (!v)
		return 0;
	snprintf(p, sizeof(p), "$.limits.%s", key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo) || v->valuedouble > hi)
		return fl_error_set(err, -EINVAL, p, "expected a number in [%g, %g]", lo, hi);
	*out = v->valuedouble;
	return 0;
}

int fl_agent_config_parse(struct fl_agent_config *c, const char *buf, size_t len,
			  struct fl_error *err)
{
	static const char *const keys[] = {"allow", "deny", "kinds", "limits", "network", NULL};
	static const char *const lkeys[] = {"max_body_bytes",  "max_live_faults", "max_ttl_ms",
					    "rate_per_second", "rate_burst",	  NULL};
	cJSON *root = NULL;
	const cJSON *v;
	int r;

	fl_agent_config_init(c);
	r = fl_api_json_parse(buf, len, &root, err);
	if (r < 0)
		return r;
	if (!cJSON_IsObject(root)) {
		r = fl_error_set(err, -EINVAL, "$", "expected a JSON object");
		goto out;
	}
	r = fl_api_only_keys(root, "$", keys, err);
	if (r < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "allow"))) {
		c->has_allow = true;
		r = parse_rules(v, "$.allow", &c->allow, err);
		if (r < 0)
			goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "deny"))) {
		r = parse_rules(v, "$.deny", &c->deny, err);
		if (r < 0)
			goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "kinds"))) {
		r = string_list(v, "$.kinds", &c->kinds, &c->n_kinds, err);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < c->n_kinds; i++)
			if (!fl_fault_lookup(c->kinds[i])) {
				char p[64];

				snprintf(p, sizeof(p), "$.kinds[%zu]", i);
				r = fl_error_set(err, -EINVAL, p, "unknown fault kind \"%s\"",
						 c->kinds[i]);
				goto out;
			}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "network"))) {
		r = parse_network(v, c, err);
		if (r < 0)
			goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "limits"))) {
		double d;

		if (!cJSON_IsObject(v)) {
			r = fl_error_set(err, -EINVAL, "$.limits", "expected an object");
			goto out;
		}
		r = fl_api_only_keys(v, "$.limits", lkeys, err);
		if (r < 0)
			goto out;
		d = (double)c->max_body_bytes;
		r = get_limit(v, "max_body_bytes", 256, 16 * 1024 * 1024, &d, err);
		c->max_body_bytes = (size_t)d;
		d = (double)c->max_live_faults;
		if (r == 0)
			r = get_limit(v, "max_live_faults", 1, 65536, &d, err);
		c->max_live_faults = (size_t)d;
		d = (double)c->max_ttl_ms;
		if (r == 0)
			r = get_limit(v, "max_ttl_ms", 1, (double)FL_API_TTL_MAX_MS, &d, err);
		c->max_ttl_ms = (uint64_t)d;
		if (r == 0)
			r = get_limit(v, "rate_per_second", 0.001, 1e6, &c->rate_per_second, err);
		if (r == 0)
			r = get_limit(v, "rate_burst", 1, 1e6, &c->rate_burst, err);
	}
out:
	cJSON_Delete(root);
	if (r < 0)
		fl_agent_config_done(c);
	return r;
}

int fl_agent_config_load(struct fl_agent_config *c, const char *path, struct fl_error *err)
{
	char *buf = NULL;
	struct stat st;
	size_t n = 0;
	int fd, r;

	fl_agent_config_init(c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FL_CONFIG_FILE_MAX) {
		close(fd);
		return fl_error_set(err, -EINVAL, NULL, "%s: not a regular file under %d bytes",
				    path, FL_CONFIG_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		n += (size_t)k;
	}
	close(fd);
	r = fl_agent_config_parse(c, buf, n, err);
	free(buf);
	return r;
}

static bool cgroup_under(const char *cg, const char *want)
{
	size_t n = strlen(want);

	while (n > 1 && want[n - 1] == '/')
		n--;
	if (n == 1)
		return true;
	return !strncmp(cg, want, n) && (cg[n] == '\0' || cg[n] == '/');
}

/* Does the process match any rule of the set? Fills what matched. */
static bool rules_match(const struct fl_policy_rules *r, int pid, char *what, size_t len)
{
	char path[64], buf[8192];
	struct stat st;
	int fd;
	ssize_t n;

	if (r->n_names) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			for (size_t i = 0; i < r->n_names; i++)
				if (!strcmp(buf, r->names[i])) {
					snprintf(what, len, "name %.15s", buf);
					return true;
				}
		}
	}
	if (r->n_uids) {
		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (stat(path, &st) == 0)
			for (size_t i = 0; i < r->n_uids; i++)
				if (st.st_uid == r->uids[i]) {
					snprintf(what, len, "uid %u", (unsigned)st.st_uid);
					return true;
				}
	}
	if (r->n_cgroups && fl_proc_cgroup(pid, buf, sizeof(buf)) == 0) {
		for (size_t i = 0; i < r->n_cgroups; i++)
			if (cgroup_under(buf, r->cgroups[i])) {
				snprintf(what, len, "cgroup %s", r->cgroups[i]);
				return true;
			}
	}
	if (r->n_cmdlines) {
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			while (n && buf[n - 1] == '\0')
				n--;
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] == '\0')
					buf[i] = ' ';
			buf[n] = '\0';
			for (size_t i = 0; i < r->n_cmdlines; i++)
				if (regexec(&r->cmdlines[i], buf, 0, NULL, 0) == 0) {
					snprintf(what, len, "cmdline rule %zu", i);
					return true;
				}
		}
	}
	return false;
}

int fl_agent_policy_check(const struct fl_agent_config *c, int pid, struct fl_error *err)
{
	char what[256];

	if (pid == 1)
		return fl_error_set(err, -EPERM, "$.target", "refusing to act on PID 1 (init)");
	if (pid == getpid())
		return fl_error_set(err, -EPERM, "$.target",
				    "refusing to act on faultline-agent itself (PID %d)", pid);
	if (pid == getppid())
		return fl_error_set(err, -EPERM, "$.target",
				    "refusing to act on the agent's parent (PID %d)", pid);
	if (!c)
		return 0;
	if (rules_match(&c->deny, pid, what, sizeof(what)))
		return fl_error_set(err, -EPERM, "$.target",
				    "process %d is denied by the agent's config (%s)", pid, what);
	if (c->has_allow && !rules_match(&c->allow, pid, what, sizeof(what)))
		return fl_error_set(err, -EPERM, "$.target",
				    "process %d is outside the agent's allow-list", pid);
	return 0;
}

bool fl_agent_policy_kind(const struct fl_agent_config *c, const char *kind)
{
	if (!c || !c->kinds)
		return true;
	for (size_t i = 0; i < c->n_kinds; i++)
		if (!strcmp(c->kinds[i], kind))
			return true;
	return false;
}

/* The file a netns allow-list entry names. */
static void netns_file(const char *entry, char *out, size_t len)
{
	if (!strcmp(entry, "host"))
		snprintf(out, len, "/proc/self/ns/net");
	else if (entry[0] == '/')
		snprintf(out, len, "%s", entry);
	else
		snprintf(out, len, "/var/run/netns/%s", entry);
}

/* A "/proc/..." netns path: whose process is it? 0 when not a /proc/PID path. */
static int proc_path_pid(const char *path, struct fl_error *err)
{
	const char *p = path + 6;
	char *end;
	long pid;

	if (strncmp(path, "/proc/", 6))
		return 0;
	if (!strncmp(p, "self/", 5) || !strncmp(p, "thread-self/", 12) || !strcmp(p, "self") ||
	    !strcmp(p, "thread-self"))
		return fl_error_set(err, -EPERM, "$.target.netns_path",
				    "refusing to act on faultline-agent itself (%s)", path);
	if (*p < '1' || *p > '9')
		return 0;
	pid = strtol(p, &end, 10);
	if ((*end != '/' && *end) || pid > 4194304)
		return 0;
	return (int)pid;
}

int fl_agent_policy_target(const struct fl_agent_config *c, const char *kind, const cJSON *target,
			   struct fl_error *err)
{
	static const char *const net_kinds[] = {"netem", "bandwidth", "partition", NULL};
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(target, "netns");
	const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(target, "netns_path");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(target, "pid");
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(target, "pod");
	const cJSON *ifc = cJSON_GetObjectItemCaseSensitive(target, "interface");
	char file[300], label[300];
	const char *field = "$.target";
	struct stat want;
	bool net = false;
	int r;

	for (size_t i = 0; net_kinds[i]; i++)
		net |= !strcmp(kind, net_kinds[i]);
	if (!net || !cJSON_IsObject(target))
		return 0;
	/* A namespace reached through a process is that process's: the process policy applies. */
	if (cJSON_IsNumber(pid)) {
		r = fl_agent_policy_check(c, (int)pid->valuedouble, err);
		if (r < 0) {
			snprintf(err->path, sizeof(err->path), "$.target.pid");
			return r;
		}
	}
	if (cJSON_IsString(nsp)) {
		r = proc_path_pid(nsp->valuestring, err);
		if (r > 0 && (r = fl_agent_policy_check(c, r, err)) < 0)
			snprintf(err->path, sizeof(err->path), "$.target.netns_path");
		if (r < 0)
			return r;
	}
	if (!c)
		return 0;
	if (c->interfaces) {
		bool ok = false;

		if (!cJSON_IsString(ifc))
			return fl_error_set(err, -EPERM, "$.target.interface",
					    "the agent's config allows only the interfaces in "
					    "network.interfaces: name one with \"interface\"");
		for (size_t i = 0; i < c->n_interfaces; i++)
			ok |= !strcmp(ifc->valuestring, c->interfaces[i]);
		if (!ok)
			return fl_error_set(err, -EPERM, "$.target.interface",
					    "interface %s is not in the agent's network.interfaces",
					    ifc->valuestring);
	}
	if (!c->netns)
		return 0;
	if (pod)
		return fl_error_set(err, -EPERM, "$.target.pod",
				    "the agent's config lists the network namespaces it may touch "
				    "(network.netns): pod targets are refused");
	if (cJSON_IsString(ns)) {
		field = "$.target.netns";
		netns_file(ns->valuestring, file, sizeof(file));
		snprintf(label, sizeof(label), "%s", ns->valuestring);
	} else if (cJSON_IsString(nsp)) {
		field = "$.target.netns_path";
		snprintf(file, sizeof(file), "%s", nsp->valuestring);
		snprintf(label, sizeof(label), "%s", nsp->valuestring);
	} else if (cJSON_IsNumber(pid)) {
		field = "$.target.pid";
		snprintf(file, sizeof(file), "/proc/%d/ns/net", (int)pid->valuedouble);
		snprintf(label, sizeof(label), "of process %d", (int)pid->valuedouble);
	} else {
		netns_file("host", file, sizeof(file));
		snprintf(label, sizeof(label), "host (the agent's own)");
	}
	/* By inode: a bind mount, a /proc path or a symlink to an allowed one is the same netns. */
	if (stat(file, &want) == 0)
		for (size_t i = 0; i < c->n_netns; i++) {
			struct stat st;
			char f[300];

			netns_file(c->netns[i], f, sizeof(f));
			if (stat(f, &st) == 0 && st.st_dev == want.st_dev &&
			    st.st_ino == want.st_ino)
				return 0;
		}
	return fl_error_set(err, -EPERM, field,
			    "network namespace %s is not in the agent's network.netns allow-list",
			    label);
}
