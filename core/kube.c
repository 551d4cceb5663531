/*
 * Kubernetes parsing: kubeconfig (through libyaml into a cJSON tree, then read
 * like any of our JSON input, with JSON paths in errors), in-cluster config,
 * PodList pages and Status errors.
 */
#include "core/kube.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"

/* ---- kubeconfig -------------------------------------------------------- */

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 (whitespace tolerated, padding optional) into a NUL-terminated string. */
static int b64_decode(const char *in, char **out)
{
	size_t n = strlen(in), o = 0;
	unsigned acc = 0;
	int bits = 0;
	char *buf = malloc(n / 4 * 3 + 4);

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		const char *p;

		if (isspace(c))
			continue;
		if (c == '=')
			break;
		p = c ? strchr(b64tab, c) : NULL;
		if (!p) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)(p - b64tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	buf[o] = '\0';
	if (memchr(buf, '\0', o)) {
		free(buf);
		return -EINVAL; /* PEM is text */
	}
	*out = buf;
	return 0;
}

/* Find the entry of a named list (clusters/users/contexts) and return its inner object. */
static int named_entry(const cJSON *root, const char *list, const char *inner, const char *name,
		       const cJSON **out, char *path, size_t plen, struct fl_error *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, list);
	size_t i = 0;
	const cJSON *e;

	if (!cJSON_IsArray(arr))
		return fl_error_set(err, -EINVAL, "$", "kubeconfig: no \"%s\" list", list);
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");

		if (cJSON_IsString(nm) && !strcmp(nm->valuestring, name)) {
			*out = cJSON_GetObjectItemCaseSensitive(e, inner);
			snprintf(path, plen, "$.%s[%zu].%s", list, i, inner);
			if (!cJSON_IsObject(*out))
				return fl_error_set(err, -EINVAL, path, "expected a mapping");
			return 0;
		}
		i++;
	}
	return fl_error_set(err, -ENOENT, "$", "kubeconfig: %s \"%.128s\" is not defined", list,
			    name);
}

static int get_str(const cJSON *obj, const char *key, const char *path, const char **out,
		   struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !*v->valuestring)
		return fl_error_set(err, -EINVAL, path, "%s: expected a non-empty string", key);
	*out = v->valuestring;
	return 0;
}

/* A file path from the kubeconfig: relative ones are relative to the kubeconfig's directory. */
static int dup_path(const char *p, const char *base_dir, char **out)
{
	size_t n;

	if (p[0] == '/' || !base_dir || !*base_dir) {
		*out = strdup(p);
		return *out ? 0 : -ENOMEM;
	}
	n = strlen(base_dir) + strlen(p) + 2;
	*out = malloc(n);
	if (!*out)
		return -ENOMEM;
	snprintf(*out, n, "%s/%s", base_dir, p);
	return 0;
}

/* One of KEY (a file) or KEY-data (base64 PEM); both given is an error as in client-go. */
static int file_or_data(const cJSON *obj, const char *key, const char *path, const char *base_dir,
			char **file, char **data, struct fl_error *err)
{
	char dkey[64];
	const char *f, *d;
	int r;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	r = get_str(obj, key, path, &f, err);
	if (r == 0)
		r = get_str(obj, dkey, path, &d, err);
	if (r < 0)
		return r;
	if (f && d)
		return fl_error_set(err, -EINVAL, path, "give %s or %s, not both", key, dkey);
	if (f && dup_path(f, base_dir, file) < 0)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	if (d) {
		r = b64_decode(d, data);
		if (r == -ENOMEM)
			return fl_error_set(err, r, NULL, "out of memory");
		if (r < 0)
			return fl_error_set(err, r, path, "%s: not valid base64 of a PEM text",
					    dkey);
	}
	return 0;
}

void fl_kube_config_done(struct fl_kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->server);
	free(cfg->ca_file);
	free(cfg->ca_data);
	if (cfg->token) {
		/* Do not leave the credential in freed heap. */
		volatile char *t = cfg->token;

		while (*t)
			*t++ = 0;
	}
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->cert_file);
	free(cfg->cert_data);
	free(cfg->key_file);
	free(cfg->key_data);
	free(cfg->namespace);
	free(cfg->context);
	memset(cfg, 0, sizeof(*cfg));
}

static bool server_ok(const char *s)
{
	if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))
		return false;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return strlen(s) < 2048;
}

int fl_kube_config_parse(const char *text, size_t len, const char *base_dir, const char *context,
			 struct fl_kube_config *cfg, struct fl_error *err)
{
	cJSON *root = NULL;
	const cJSON *ctx = NULL, *cluster = NULL, *user = NULL, *v;
	const char *ctxname = context, *cname, *uname, *s;
	char cpath[96], cl_path[96], u_path[96];
	/* every field read is a string or a bool given as text: scalars stay strings */
	static const struct fl_yaml_opts yopts = {.what = "kubeconfig"};
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if (len > FL_KUBE_CONFIG_MAX)
		return fl_error_set(err, -E2BIG, "$", "kubeconfig larger than %d bytes",
				    FL_KUBE_CONFIG_MAX);
	r = fl_yaml_parse(text, len, &yopts, &root, err);
	if (r < 0)
		goto out;
	if (!cJSON_IsObject(root)) {
		r = fl_error_set(err, -EINVAL, "$", "kubeconfig: expected a mapping at the top");
		goto out;
	}
	if (!ctxname) {
		r = get_str(root, "current-context", "$.current-context", &ctxname, err);
		if (r < 0)
			goto out;
		if (!ctxname) {
			r = fl_error_set(err, -EINVAL, "$.current-context",
					 "kubeconfig has no current-context (give a context)");
			goto out;
		}
	}
	r = named_entry(root, "contexts", "context", ctxname, &ctx, cpath, sizeof(cpath), err);
	if (r < 0)
		goto out;
	r = get_str(ctx, "cluster", cpath, &cname, err);
	if (r == 0)
		r = get_str(ctx, "user", cpath, &uname, err);
	if (r < 0)
		goto out;
	if (!cname) {
		r = fl_error_set(err, -EINVAL, cpath, "context without a cluster");
		goto out;
	}
	r = named_entry(root, "clusters", "cluster", cname, &cluster, cl_path, sizeof(cl_path),
			err);
	if (r < 0)
		goto out;
	if (uname) {
		r = named_entry(root, "users", "user", uname, &user, u_path, sizeof(u_path), err);
		if (r < 0)
			goto out;
	}
	r = get_str(cluster, "server", cl_path, &s, err);
	if (r < 0)
		goto out;
	if (!s || !server_ok(s)) {
		r = fl_error_set(err, -EINVAL, cl_path,
				 "server: expected an https:// URL of the API server");
		goto out;
	}
	cfg->server = strdup(s);
	r = file_or_data(cluster, "certificate-authority", cl_path, base_dir, &cfg->ca_file,
			 &cfg->ca_data, err);
	if (r < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(cluster, "insecure-skip-tls-verify");
	cfg->insecure = (cJSON_IsString(v) && !strcmp(v->valuestring, "true")) || cJSON_IsTrue(v);
	if (user) {
		static const char *const refused[] = {
		    "exec", "auth-provider", "username", "password", "as", "impersonate"};

		for (size_t i = 0; i < FL_ARRAY_SIZE(refused); i++) {
			if (!cJSON_GetObjectItemCaseSensitive(user, refused[i]))
				continue;
			if (i < 2)
				r = fl_error_set(
				    err, -ENOTSUP, u_path,
				    "%s: credential plugins are not supported by faultline (it "
				    "runs no external programs); use a service-account token "
				    "(\"token\"/\"tokenFile\") or a client certificate",
				    refused[i]);
			else
				r = fl_error_set(err, -ENOTSUP, u_path,
						 "%s: not supported; use a token or a client "
						 "certificate",
						 refused[i]);
			goto out;
		}
		r = get_str(user, "token", u_path, &s, err);
		if (r < 0)
			goto out;
		if (s && !(cfg->token = strdup(s))) {
			r = -ENOMEM;
			goto out;
		}
		r = get_str(user, "tokenFile", u_path, &s, err);
		if (r < 0)
			goto out;
		if (s && dup_path(s, base_dir, &cfg->token_file) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = file_or_data(user, "client-certificate", u_path, base_dir, &cfg->cert_file,
				 &cfg->cert_data, err);
		if (r == 0)
			r = file_or_data(user, "client-key", u_path, base_dir, &cfg->key_file,
					 &cfg->key_data, err);
		if (r < 0)
			goto out;
		if ((cfg->cert_file || cfg->cert_data) != (cfg->key_file || cfg->key_data)) {
			r = fl_error_set(err, -EINVAL, u_path,
					 "a client certificate needs its key (and the other way)");
			goto out;
		}
	}
	r = get_str(ctx, "namespace", cpath, &s, err);
	if (r < 0)
		goto out;
	if ((s && !(cfg->namespace = strdup(s))) || !(cfg->context = strdup(ctxname)) ||
	    !cfg->server) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
out:
	cJSON_Delete(root);
	if (r < 0) {
		if (r == -ENOMEM && !err->code)
			fl_error_set(err, -ENOMEM, NULL, "out of memory");
		fl_kube_config_done(cfg);
	}
	return r;
}

int fl_kube_config_incluster(const char *host, const char *port, const char *sa_dir,
			     struct fl_kube_config *cfg, struct fl_error *err)
{
	char buf[2048];
	const char *dir = sa_dir ? sa_dir : FL_KUBE_SA_DIR;

	memset(cfg, 0, sizeof(*cfg));
	if (!host || !*host || !port || !*port)
		return fl_error_set(err, -ENOENT, NULL,
				    "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strpbrk(host, "/@ \t\r\n?#"))
		return fl_error_set(err, -EINVAL, NULL,
				    "KUBERNETES_SERVICE_HOST/PORT do not name a host and port");
	/* An IPv6 service address needs brackets in a URL. */
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	cfg->server = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/ca.crt", dir);
	cfg->ca_file = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/token", dir);
	cfg->token_file = strdup(buf);
	if (!cfg->server || !cfg->ca_file || !cfg->token_file) {
		fl_kube_config_done(cfg);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	return 0;
}

/* ---- PodList ----------------------------------------------------------- */

static void pod_done(struct fl_kube_pod *p)
{
	free(p->namespace);
	free(p->name);
	free(p->uid);
	free(p->node);
	free(p->ip);
	free(p->phase);
	for (size_t i = 0; i < p->ncontainers; i++) {
		free(p->containers[i].name);
		free(p->containers[i].id);
	}
	free(p->containers);
	memset(p, 0, sizeof(*p));
}

void fl_kube_pod_list_done(struct fl_kube_pod_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		pod_done(&list->v[i]);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int list_grow(struct fl_kube_pod_list *list)
{
	if (list->n >= FL_KUBE_PODS_MAX)
		return -E2BIG;
	if (list->n == list->cap) {
		size_t ncap = list->cap ? list->cap * 2 : 16;
		struct fl_kube_pod *nv = realloc(list->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		list->v = nv;
		list->cap = ncap;
	}
	memset(&list->v[list->n], 0, sizeof(list->v[0]));
	return 0;
}

int fl_kube_pod_list_add(struct fl_kube_pod_list *list, const struct fl_kube_pod *p)
{
	struct fl_kube_pod *d;
	int r = list_grow(list);

	if (r < 0)
		return r;
	d = &list->v[list->n];
	d->namespace = dup_or_null(p->namespace);
	d->name = dup_or_null(p->name);
	d->uid = dup_or_null(p->uid);
	d->node = dup_or_null(p->node);
	d->ip = dup_or_null(p->ip);
	d->phase = dup_or_null(p->phase);
	if (p->ncontainers) {
		d->containers = calloc(p->ncontainers, sizeof(*d->containers));
		if (!d->containers) {
			pod_done(d);
			return -ENOMEM;
		}
		d->ncontainers = p->ncontainers;
		for (size_t i = 0; i < p->ncontainers; i++) {
			d->containers[i].name = dup_or_null(p->containers[i].name);
			d->containers[i].id = dup_or_null(p->containers[i].id);
			memcpy(d->containers[i].runtime, p->containers[i].runtime,
			       sizeof(d->containers[i].runtime));
		}
	}
	list->n++;
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "containerd://0123abcd" -> runtime "containerd", id "0123abcd". */
static int container_id(const char *s, struct fl_kube_container *c)
{
	const char *sep = s ? strstr(s, "://") : NULL;
	size_t n;

	if (!sep)
		return 0; /* not started yet */
	n = (size_t)(sep - s);
	if (n >= sizeof(c->runtime))
		n = sizeof(c->runtime) - 1;
	memcpy(c->runtime, s, n);
	c->runtime[n] = '\0';
	sep += 3;
	/* IDs are hex digests; anything else cannot name a cgroup of ours. */
	if (!*sep || strlen(sep) > 128 || strspn(sep, "0123456789abcdef") != strlen(sep))
		return -EINVAL;
	c->id = strdup(sep);
	return c->id ? 0 : -ENOMEM;
}

static int add_statuses(struct fl_kube_pod *p, const cJSON *arr, const char *path,
			struct fl_error *err)
{
	const cJSON *cs;

	cJSON_ArrayForEach(cs, arr)
	{
		struct fl_kube_container *c;
		const char *name = jstr(cs, "name");
		int r;

		if (p->ncontainers >= FL_KUBE_CONTAINERS_MAX)
			return fl_error_set(err, -E2BIG, path, "more than %d containers in a pod",
					    FL_KUBE_CONTAINERS_MAX);
		if (!name)
			return fl_error_set(err, -EINVAL, path, "container status without a name");
		if (!p->containers) {
			p->containers = calloc(FL_KUBE_CONTAINERS_MAX, sizeof(*p->containers));
			if (!p->containers)
				return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
		c = &p->containers[p->ncontainers++];
		c->name = strdup(name);
		if (!c->name)
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		r = container_id(jstr(cs, "containerID"), c);
		if (r < 0)
			return fl_error_set(err, r, path,
					    "containerID \"%.80s\" is not a runtime ID",
					    jstr(cs, "containerID"));
	}
	return 0;
}

int fl_kube_status_error(long http_code, const char *body, size_t len, struct fl_error *err)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const char *msg = NULL, *reason = NULL;
	char m[300];
	int code;

	if (cJSON_IsObject(j) && jstr(j, "kind") && !strcmp(jstr(j, "kind"), "Status")) {
		msg = jstr(j, "message");
		reason = jstr(j, "reason");
	}
	snprintf(m, sizeof(m), "%s%s%.200s", reason ? reason : "", reason && msg ? ": " : "",
		 msg ? msg : "");
	switch (http_code) {
	case 401:
		code = -EACCES;
		fl_error_set(err, code, NULL,
			     "API server said 401 Unauthorized (token or client certificate "
			     "rejected%s%s)",
			     m[0] ? ": " : "", m);
		break;
	case 403:
		code = -EPERM;
		fl_error_set(err, code, NULL,
			     "API server said 403 Forbidden: RBAC does not allow this (the "
			     "ClusterRole needs get/list on pods)%s%s",
			     m[0] ? "; " : "", m);
		break;
	case 404:
		code = -ENOENT;
		fl_error_set(err, code, NULL, "API server said 404 Not Found%s%s", m[0] ? ": " : "",
			     m);
		break;
	case 410:
		code = -ESTALE;
		fl_error_set(err, code, NULL,
			     "API server said 410 Gone: the list's continue token expired%s%s",
			     m[0] ? ": " : "", m);
		break;
	case 429:
		code = -EAGAIN;
		fl_error_set(err, code, NULL, "API server said 429 Too Many Requests%s%s",
			     m[0] ? ": " : "", m);
		break;
	default:
		code = -EIO;
		fl_error_set(err, code, NULL, "API server said HTTP %ld%s%s", http_code,
			     m[0] ? ": " : "", m);
		break;
	}
	cJSON_Delete(j);
	return code;
}

int fl_kube_pod_list_parse(const char *body, size_t len, struct fl_kube_pod_list *list, char **cont,
			   struct fl_error *err)
{
	cJSON *j = NULL;
	const cJSON *items, *it, *md;
	const char *kind, *c;
	size_t i = 0, start = list->n;
	char path[64];
	int r = 0;

	*cont = NULL;
	if (len > FL_KUBE_BODY_MAX)
		return fl_error_set(err, -E2BIG, "$", "API response larger than %d bytes",
				    FL_KUBE_BODY_MAX);
	j = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
	if (!cJSON_IsObject(j)) {
		r = fl_error_set(err, -EINVAL, "$", "API response is not a JSON object");
		goto out;
	}
	kind = jstr(j, "kind");
	if (kind && !strcmp(kind, "Status")) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
		/* An HTTP status; anything else (1e300 is UB as a long) reads as 500. */
		long st =
		    cJSON_IsNumber(code) && code->valuedouble >= 100 && code->valuedouble < 600
			? (long)code->valuedouble
			: 500;

		cJSON_Delete(j);
		return fl_kube_status_error(st, body, len, err);
	}
	if (!kind || strcmp(kind, "PodList")) {
		r = fl_error_set(err, -EINVAL, "$.kind", "expected a PodList, got \"%.40s\"",
				 kind ? kind : "(none)");
		goto out;
	}
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
		r = fl_error_set(err, -EINVAL, "$.items", "expected a list");
		goto out;
	}
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(it, "spec");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
		struct fl_kube_pod *p;

		snprintf(path, sizeof(path), "$.items[%zu]", i++);
		if (!jstr(meta, "name") || !jstr(meta, "uid")) {
			r = fl_error_set(err, -EINVAL, path, "pod without metadata.name/uid");
			goto out;
		}
		r = list_grow(list);
		if (r < 0) {
			r = fl_error_set(err, r, path,
					 r == -E2BIG ? "more than %d pods" : "out of memory",
					 FL_KUBE_PODS_MAX);
			goto out;
		}
		p = &list->v[list->n++];
		p->name = strdup(jstr(meta, "name"));
		p->uid = strdup(jstr(meta, "uid"));
		p->namespace = dup_or_null(jstr(meta, "namespace"));
		p->node = dup_or_null(jstr(spec, "nodeName"));
		p->ip = dup_or_null(jstr(st, "podIP"));
		p->phase = dup_or_null(jstr(st, "phase"));
		if (!p->name || !p->uid) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		/* A UID is a UUID; it ends up in cgroup path matching. */
		if (strlen(p->uid) > 64 ||
		    strspn(p->uid, "0123456789abcdefABCDEF-") != strlen(p->uid)) {
			r = fl_error_set(err, -EINVAL, path, "metadata.uid is not a UUID");
			goto out;
		}
		r = add_statuses(p, cJSON_GetObjectItemCaseSensitive(st, "containerStatuses"), path,
				 err);
		if (r == 0)
			r = add_statuses(
			    p, cJSON_GetObjectItemCaseSensitive(st, "initContainerStatuses"), path,
			    err);
		if (r == 0)
			r = add_statuses(
			    p, cJSON_GetObjectItemCaseSensitive(st, "ephemeralContainerStatuses"),
			    path, err);
		if (r < 0)
			goto out;
	}
	md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	c = jstr(md, "continue");
	if (c && *c) {
		if (strlen(c) > 8192) {
			r = fl_error_set(err, -E2BIG, "$.metadata.continue", "token too long");
			goto out;
		}
		*cont = strdup(c);
		if (!*cont) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
out:
	if (r < 0) {
		while (list->n > start)
			pod_done(&list->v[--list->n]);
	}
	cJSON_Delete(j);
	return r;
}

/* ---- selectors and URLs ------------------------------------------------- */

static bool alnum(char c)
{
	return isalnum((unsigned char)c);
}

bool fl_kube_name_ok(const char *s, bool subdomain)
{
	size_t n = strlen(s);

	if (n == 0 || n > (subdomain ? 253u : 63u) || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
		      (subdomain && c == '.')))
			return false;
	}
	return true;
}

/* [prefix/]name: name <= 63 of [A-Za-z0-9._-], alnum at both ends; prefix a DNS subdomain. */
static bool label_key_ok(const char *k)
{
	const char *slash = strchr(k, '/');
	const char *name = slash ? slash + 1 : k;
	size_t n = strlen(name);

	if (slash) {
		char pre[254];
		size_t pn = (size_t)(slash - k);

		if (pn == 0 || pn >= sizeof(pre))
			return false;
		memcpy(pre, k, pn);
		pre[pn] = '\0';
		if (!fl_kube_name_ok(pre, true))
			return false;
	}
	if (n == 0 || n > 63 || !alnum(name[0]) || !alnum(name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(alnum(name[i]) || name[i] == '-' || name[i] == '_' || name[i] == '.'))
			return false;
	return true;
}

static bool label_value_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return true;
	if (n > 63 || !alnum(v[0]) || !alnum(v[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(alnum(v[i]) || v[i] == '-' || v[i] == '_' || v[i] == '.'))
			return false;
	return true;
}

int fl_kube_labels_selector(const cJSON *labels, const char *path, struct fl_buf *out,
			    struct fl_error *err)
{
	const cJSON *c;
	char p[160];
	bool first = true;

	if (!cJSON_IsObject(labels) || !labels->child)
		return fl_error_set(err, -EINVAL, path, "expected a non-empty object of labels");
	cJSON_ArrayForEach(c, labels)
	{
		snprintf(p, sizeof(p), "%s.%.64s", path, c->string);
		if (!label_key_ok(c->string))
			return fl_error_set(err, -EINVAL, p, "not a valid Kubernetes label key");
		if (!cJSON_IsString(c) || !label_value_ok(c->valuestring))
			return fl_error_set(err, -EINVAL, p,
					    "expected a label value: at most 63 characters of "
					    "[A-Za-z0-9._-], alphanumeric at both ends");
		if (fl_buf_printf(out, "%s%s=%s", first ? "" : ",", c->string, c->valuestring) < 0)
			return fl_error_set(err, -E2BIG, path, "label selector too long");
		first = false;
	}
	return 0;
}

bool fl_kube_selector_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 4096)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(alnum(c) || strchr("-_./=!,() ", c)))
			return false;
	}
	return true;
}

static int add_escaped(struct fl_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int r;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			r = fl_buf_add(out, s, 1);
		else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			r = fl_buf_add(out, e, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int fl_kube_pods_url(const char *ns, const char *label_sel, const char *field_sel, const char *cont,
		     struct fl_buf *out)
{
	int r;

	if (ns && !fl_kube_name_ok(ns, false))
		return -EINVAL;
	r = ns ? fl_buf_printf(out, "/api/v1/namespaces/%s/pods?limit=%d", ns, FL_KUBE_PAGE_LIMIT)
	       : fl_buf_printf(out, "/api/v1/pods?limit=%d", FL_KUBE_PAGE_LIMIT);
	if (r == 0 && label_sel && *label_sel) {
		r = fl_buf_printf(out, "&labelSelector=");
		if (r == 0)
			r = add_escaped(out, label_sel);
	}
	if (r == 0 && field_sel && *field_sel) {
		r = fl_buf_printf(out, "&fieldSelector=");
		if (r == 0)
			r = add_escaped(out, field_sel);
	}
	if (r == 0 && cont && *cont) {
		r = fl_buf_printf(out, "&continue=");
		if (r == 0)
			r = add_escaped(out, cont);
	}
	return r;
}
