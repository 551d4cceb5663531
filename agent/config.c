#include "agent/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/api.h"
#include "core/buf.h"
#include "core/path.h"
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
	free_strv(c->output_dirs, c->n_output_dirs);
	free_strv(c->fill_dirs, c->n_fill_dirs);
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

static int parse_rules(const cJSON *o, const char *path, const char *const *keys,
		       struct fl_policy_rules *r, struct fl_error *err)
{
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

/*
 * allow.output_dirs, allow.fill_dirs: each an existing directory named by its
 * canonical path (what realpath gives: absolute, no symbolic link, ".", ".."
 * or "//"), so that the prefix test on a request's path means what it says.
 */
static int parse_dirs(const cJSON *v, const char *field, char ***dirs, size_t *n,
		      struct fl_error *err)
{
	char p[64], real[PATH_MAX];
	struct stat st;
	int r;

	r = string_list(v, field, dirs, n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < *n; i++) {
		const char *d = (*dirs)[i];

		snprintf(p, sizeof(p), "%s[%zu]", field, i);
		if (d[0] != '/')
			return fl_error_set(err, -EINVAL, p,
					    "expected an absolute path, got \"%s\"", d);
		if (!realpath(d, real))
			return fl_error_set(err, -errno, p, "%s: %s", d, strerror(errno));
		if (strcmp(real, d))
			return fl_error_set(err, -EINVAL, p,
					    "%s is not a canonical path (it resolves to %s): name "
					    "the directory itself",
					    d, real);
		if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
			return fl_error_set(err, -ENOTDIR, p, "%s is not a directory", d);
	}
	return 0;
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
			if (n[0] == '/' ? strlen(n) >= 256 || fl_path_has_dot_component(n)
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
	static const char *const keys[] = {"allow",   "deny",		"kinds", "limits",
					   "network", "lease_priority", NULL};
	static const char *const akeys[] = {"names",	   "uids",	"cgroups", "cmdlines",
					    "output_dirs", "fill_dirs", NULL};
	static const char *const dkeys[] = {"names", "uids", "cgroups", "cmdlines", NULL};
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
		r = parse_rules(v, "$.allow", akeys, &c->allow, err);
		if (r < 0)
			goto out;
		if (cJSON_GetObjectItemCaseSensitive(v, "output_dirs") &&
		    (r = parse_dirs(cJSON_GetObjectItemCaseSensitive(v, "output_dirs"),
				    "$.allow.output_dirs", &c->output_dirs, &c->n_output_dirs,
				    err)) < 0)
			goto out;
		if (cJSON_GetObjectItemCaseSensitive(v, "fill_dirs") &&
		    (r = parse_dirs(cJSON_GetObjectItemCaseSensitive(v, "fill_dirs"),
				    "$.allow.fill_dirs", &c->fill_dirs, &c->n_fill_dirs, err)) < 0)
			goto out;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "deny"))) {
		r = parse_rules(v, "$.deny", dkeys, &c->deny, err);
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
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "lease_priority"))) {
		/* SCHED_FIFO's range (sched_get_priority_max: 99); 0 is off. */
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 99 ||
		    v->valuedouble != (double)(int)v->valuedouble) {
			r = fl_error_set(err, -EINVAL, "$.lease_priority",
					 "expected an integer in [0, 99] (0: off)");
			goto out;
		}
		c->lease_priority = (int)v->valuedouble;
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
	/* Only a regular file is opened (a FIFO would hang the start); a link is judged by its
	 * target. */
	fd = fl_path_open_regular(path, O_RDONLY, false, &st);
	if (fd == -EINVAL)
		return fl_error_set(err, -EINVAL, NULL, "%s: not a regular file", path);
	if (fd < 0)
		return fl_error_set(err, fd, NULL, "%s: %s", path, strerror(-fd));
	if (fstat(fd, &st) < 0 || st.st_size > FL_CONFIG_FILE_MAX) {
		close(fd);
		return fl_error_set(err, -EINVAL, NULL, "%s: not a regular file under %d bytes",
				    path, FL_CONFIG_FILE_MAX);
	}
	/* The config is the policy: whoever may rewrite it may widen what a token can do. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return fl_error_set(err, -EACCES, NULL,
				    "config file %s is writable by group/others (mode %04o); "
				    "chmod go-w it",
				    path, (unsigned)(st.st_mode & 07777));
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return fl_error_set(
		    err, -EACCES, NULL,
		    "config file %s belongs to uid %u, not to root or the agent's user", path,
		    (unsigned)st.st_uid);
	}
	r = fl_buf_read_fd(fd, FL_CONFIG_FILE_MAX, &buf, &n);
	close(fd);
	if (r < 0)
		return fl_error_set(err, r, NULL, "%s: %s", path,
				    r == -E2BIG ? "larger than the limit" : strerror(-r));
	r = fl_agent_config_parse(c, buf, n, err);
	free(buf);
	return r;
}
