/* The --agents inventory file: agents by name, their tokens and TLS files. */
#include "controller/inventory.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/kube_discovery.h"
#include "core/api.h"

void fl_agent_inventory_done(struct fl_agent_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++)
		fl_agent_ep_done(&inv->v[i]);
	free(inv->v);
	fl_agent_ep_done(&inv->defaults);
	memset(inv, 0, sizeof(*inv));
}

const struct fl_agent_ep *fl_agent_inventory_find(const struct fl_agent_inventory *inv,
						  const char *name)
{
	for (size_t i = 0; inv && i < inv->n; i++)
		if (!strcmp(inv->v[i].name, name))
			return &inv->v[i];
	return NULL;
}

/* A file name from the inventory, relative to the inventory's directory. */
static int inv_file(const cJSON *o, const char *key, const char *base, char **dst, const char *path,
		    struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char p[FL_ERROR_PATH_MAX], buf[4096];

	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 2048)
		return fl_error_set(err, -EINVAL, p, "expected a file name");
	if (v->valuestring[0] == '/')
		snprintf(buf, sizeof(buf), "%s", v->valuestring);
	else
		snprintf(buf, sizeof(buf), "%s/%s", base, v->valuestring);
	free(*dst);
	*dst = strdup(buf);
	return *dst ? 0 : fl_error_set(err, -ENOMEM, NULL, "out of memory");
}

static int load_token_file(struct fl_agent_ep *ep, const char *file, const char *path,
			   struct fl_error *err)
{
	int r;

	if (!file)
		return 0;
	free(ep->token);
	ep->token = NULL;
	r = fl_agent_token_read(file, &ep->token, err);
	if (r < 0 && path)
		snprintf(err->path, sizeof(err->path), "%s.token_file", path);
	return r;
}

int fl_agent_inventory_load(const char *file, struct fl_agent_inventory *inv, struct fl_error *err)
{
	static const char *const top_keys[] = {"token_file", "ca",	   "cert", "key",
					       "agents",     "kubernetes", NULL};
	static const char *const agent_keys[] = {"name", "address", "token_file", "ca",
						 "cert", "key",	    NULL};
	char *text = NULL, *dircopy = NULL, *token_file = NULL;
	const char *base;
	cJSON *root = NULL;
	const cJSON *agents, *it, *kube;
	struct stat st;
	size_t i = 0;
	int fd = -1, r;

	memset(inv, 0, sizeof(*inv));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "%s: %s", file, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
		r = fl_error_set(err, -EINVAL, NULL, "%s: not a regular file under 1 MiB", file);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text || read(fd, text, (size_t)st.st_size) != st.st_size) {
		r = fl_error_set(err, -EIO, NULL, "%s: cannot read", file);
		goto out;
	}
	r = fl_api_json_parse(text, (size_t)st.st_size, &root, err);
	if (r < 0)
		goto out;
	dircopy = strdup(file);
	if (!dircopy) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	base = dirname(dircopy);
	if (!cJSON_IsObject(root)) {
		r = fl_error_set(err, -EINVAL, "$", "expected an object with \"agents\"");
		goto out;
	}
	r = fl_api_only_keys(root, "$", top_keys, err);
	if (r < 0)
		goto out;
	if ((r = inv_file(root, "token_file", base, &token_file, "$", err)) < 0 ||
	    (r = inv_file(root, "ca", base, &inv->defaults.ca_file, "$", err)) < 0 ||
	    (r = inv_file(root, "cert", base, &inv->defaults.cert_file, "$", err)) < 0 ||
	    (r = inv_file(root, "key", base, &inv->defaults.key_file, "$", err)) < 0)
		goto out;
	if (!token_file && getenv("FAULTLINE_TOKEN_FILE"))
		token_file = strdup(getenv("FAULTLINE_TOKEN_FILE"));
	r = load_token_file(&inv->defaults, token_file, "$", err);
	if (r < 0)
		goto out;
	agents = cJSON_GetObjectItemCaseSensitive(root, "agents");
	/* With "kubernetes" (controller/kube_discovery.c), "agents" is optional. */
	kube = cJSON_GetObjectItemCaseSensitive(root, "kubernetes");
	if (!cJSON_IsArray(agents) && !(kube && !agents)) {
		r = fl_error_set(err, -EINVAL, "$.agents", "expected a list of agents");
		goto out;
	}
	if (cJSON_GetArraySize(agents) > FL_INVENTORY_MAX) {
		r = fl_error_set(err, -E2BIG, "$.agents", "more than %d agents", FL_INVENTORY_MAX);
		goto out;
	}
	inv->v = calloc((size_t)cJSON_GetArraySize(agents) + 1, sizeof(*inv->v));
	if (!inv->v) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, agents)
	{
		char p[64];
		const cJSON *name, *addr;
		struct fl_agent_ep *ep = &inv->v[i];
		char *tf = NULL;

		snprintf(p, sizeof(p), "$.agents[%zu]", i);
		if (!cJSON_IsObject(it)) {
			r = fl_error_set(err, -EINVAL, p, "expected an object");
			goto out;
		}
		r = fl_api_only_keys(it, p, agent_keys, err);
		if (r < 0)
			goto out;
		addr = cJSON_GetObjectItemCaseSensitive(it, "address");
		if (!cJSON_IsString(addr)) {
			r = fl_error_set(err, -EINVAL, p, "missing \"address\"");
			goto out;
		}
		r = fl_agent_ep_parse(addr->valuestring, ep, err);
		if (r < 0) {
			snprintf(err->path, sizeof(err->path), "%s.address", p);
			goto out;
		}
		inv->n = ++i;
		name = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (name) {
			if (!cJSON_IsString(name) || !*name->valuestring ||
			    strlen(name->valuestring) > 256) {
				r = fl_error_set(err, -EINVAL, p, "\"name\": expected a string");
				goto out;
			}
			if (fl_agent_inventory_find(inv, name->valuestring)) {
				r = fl_error_set(err, -EINVAL, p, "duplicate agent name \"%s\"",
						 name->valuestring);
				goto out;
			}
			free(ep->name);
			ep->name = strdup(name->valuestring);
		}
		if (fl_agent_ep_set_auth(ep, &inv->defaults) < 0) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		if ((r = inv_file(it, "ca", base, &ep->ca_file, p, err)) < 0 ||
		    (r = inv_file(it, "cert", base, &ep->cert_file, p, err)) < 0 ||
		    (r = inv_file(it, "key", base, &ep->key_file, p, err)) < 0 ||
		    (r = inv_file(it, "token_file", base, &tf, p, err)) < 0)
			goto out;
		r = load_token_file(ep, tf, p, err);
		free(tf);
		if (r < 0)
			goto out;
		if (!ep->token) {
			r = fl_error_set(err, -EINVAL, p,
					 "no token: give \"token_file\" here or at the top, or set "
					 "FAULTLINE_TOKEN_FILE");
			goto out;
		}
	}
	if (kube) {
		r = fl_kube_discovery_load(kube, base, &inv->defaults, &inv->v, &inv->n,
					   FL_INVENTORY_MAX, err);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(dircopy);
	free(token_file);
	cJSON_Delete(root);
	if (r < 0)
		fl_agent_inventory_done(inv);
	return r;
}

int fl_agent_resolve(const struct fl_agent_inventory *inv, const char *s, struct fl_agent_ep *out,
		     struct fl_error *err)
{
	const struct fl_agent_ep *known = fl_agent_inventory_find(inv, s);
	const char *tf;
	int r;

	if (known)
		return fl_agent_ep_copy(out, known) < 0
			   ? fl_error_set(err, -ENOMEM, NULL, "out of memory")
			   : 0;
	r = fl_agent_ep_parse(s, out, err);
	if (r < 0)
		return r;
	if (inv && inv->defaults.token) {
		if (fl_agent_ep_set_auth(out, &inv->defaults) == 0)
			return 0;
		fl_agent_ep_done(out);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	tf = getenv("FAULTLINE_TOKEN_FILE");
	if (!tf) {
		fl_agent_ep_done(out);
		return fl_error_set(err, -EINVAL, NULL,
				    "agent %s: no token (use an --agents inventory with a "
				    "token_file, or set FAULTLINE_TOKEN_FILE)",
				    s);
	}
	r = fl_agent_token_read(tf, &out->token, err);
	if (r < 0)
		fl_agent_ep_done(out);
	return r;
}
