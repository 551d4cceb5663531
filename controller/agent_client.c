#include "controller/agent_client.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/kube_discovery.h"
#include "core/api.h"

struct fl_agent_client {
	CURLM *multi;
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void fl_agent_ep_done(struct fl_agent_ep *ep)
{
	if (!ep)
		return;
	free(ep->name);
	free(ep->url);
	free(ep->unix_path);
	if (ep->token)
		memset(ep->token, 0, strlen(ep->token));
	free(ep->token);
	free(ep->ca_file);
	free(ep->cert_file);
	free(ep->key_file);
	memset(ep, 0, sizeof(*ep));
}

int fl_agent_ep_copy(struct fl_agent_ep *d, const struct fl_agent_ep *s)
{
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(s->name);
	d->url = xstrdup(s->url);
	d->unix_path = xstrdup(s->unix_path);
	d->token = xstrdup(s->token);
	d->ca_file = xstrdup(s->ca_file);
	d->cert_file = xstrdup(s->cert_file);
	d->key_file = xstrdup(s->key_file);
	if ((s->name && !d->name) || (s->url && !d->url) || (s->unix_path && !d->unix_path) ||
	    (s->token && !d->token) || (s->ca_file && !d->ca_file) ||
	    (s->cert_file && !d->cert_file) || (s->key_file && !d->key_file)) {
		fl_agent_ep_done(d);
		return -ENOMEM;
	}
	return 0;
}

int fl_agent_ep_parse(const char *a, struct fl_agent_ep *ep, struct fl_error *err)
{
	const char *hostport = a;
	const char *scheme = "http";
	const char *colon;
	char buf[600];

	memset(ep, 0, sizeof(*ep));
	if (!a || !*a || strlen(a) > 512)
		return fl_error_set(err, -EINVAL, NULL, "empty or overlong agent address");
	if (!strncmp(a, "unix:", 5)) {
		if (a[5] != '/')
			return fl_error_set(err, -EINVAL, NULL,
					    "agent address %s: unix: needs an absolute path", a);
		ep->unix_path = strdup(a + 5);
		ep->url = strdup("http://localhost");
		ep->name = strdup(a);
		if (!ep->unix_path || !ep->url || !ep->name) {
			fl_agent_ep_done(ep);
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
		}
		return 0;
	}
	if (!strncmp(a, "http://", 7)) {
		hostport = a + 7;
	} else if (!strncmp(a, "https://", 8)) {
		hostport = a + 8;
		scheme = "https";
	} else if (strstr(a, "://")) {
		return fl_error_set(err, -EINVAL, NULL,
				    "agent address %s: only http://, https:// and unix: are known",
				    a);
	}
	colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1] || strchr(hostport, '/') ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		return fl_error_set(err, -EINVAL, NULL,
				    "agent address %s: expected HOST:PORT, http(s)://HOST:PORT or "
				    "unix:/PATH",
				    a);
	snprintf(buf, sizeof(buf), "%s://%s", scheme, hostport);
	ep->url = strdup(buf);
	ep->name = strdup(a);
	if (!ep->url || !ep->name) {
		fl_agent_ep_done(ep);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	return 0;
}

int fl_agent_token_read(const char *path, char **out, struct fl_error *err)
{
	char buf[FL_AGENT_TOKEN_MAX + 2];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return fl_error_set(err, -errno, NULL, "token file %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return fl_error_set(err, -errno, NULL, "token file %s: %s", path, strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) < 16 || strlen(buf) > FL_AGENT_TOKEN_MAX)
		return fl_error_set(err, -EINVAL, NULL,
				    "token file %s: expected one line of 16 to %d characters", path,
				    FL_AGENT_TOKEN_MAX);
	*out = strdup(buf);
	memset(buf, 0, sizeof(buf));
	return *out ? 0 : fl_error_set(err, -ENOMEM, NULL, "out of memory");
}

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
		ep->ca_file = xstrdup(inv->defaults.ca_file);
		ep->cert_file = xstrdup(inv->defaults.cert_file);
		ep->key_file = xstrdup(inv->defaults.key_file);
		ep->token = xstrdup(inv->defaults.token);
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
		r = fl_kube_discovery_load(kube, base, inv, err);
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
		out->token = xstrdup(inv->defaults.token);
		out->ca_file = xstrdup(inv->defaults.ca_file);
		out->cert_file = xstrdup(inv->defaults.cert_file);
		out->key_file = xstrdup(inv->defaults.key_file);
		return 0;
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

struct fl_agent_client *fl_agent_client_new(void)
{
	struct fl_agent_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return NULL;
	}
	/* Many agents at once, each over its own kept-alive connection. */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 1024L);
	return c;
}

void fl_agent_client_free(struct fl_agent_client *c)
{
	if (!c)
		return;
	curl_multi_cleanup(c->multi);
	free(c);
}

void fl_agent_call_done(struct fl_agent_call *call)
{
	free(call->resp);
	cJSON_Delete(call->json);
	call->resp = NULL;
	call->json = NULL;
	call->resp_len = 0;
	call->status = 0;
	call->transport_error[0] = '\0';
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	struct fl_agent_call *call = ud;
	size_t k = sz * nm;
	char *np;

	if (call->resp_len + k > FL_AGENT_RESP_MAX)
		return 0; /* aborts the transfer: an agent does not send megabytes */
	np = realloc(call->resp, call->resp_len + k + 1);
	if (!np)
		return 0;
	call->resp = np;
	memcpy(call->resp + call->resp_len, p, k);
	call->resp_len += k;
	call->resp[call->resp_len] = '\0';
	return k;
}

struct slot {
	CURL *easy;
	struct curl_slist *headers;
	struct fl_agent_call *call;
	char errbuf[CURL_ERROR_SIZE];
};

static int setup(struct slot *s, struct fl_agent_call *call, long timeout_ms)
{
	const struct fl_agent_ep *ep = call->ep;
	char url[1024], auth[FL_AGENT_TOKEN_MAX + 32];
	CURL *e;

	s->call = call;
	s->easy = e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	snprintf(url, sizeof(url), "%s%s", ep->url, call->path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (ep->unix_path)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (ep->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ep->ca_file);
	if (ep->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, ep->cert_file);
	if (ep->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, ep->key_file);
	if (ep->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ep->token);
		s->headers = curl_slist_append(s->headers, auth);
		memset(auth, 0, sizeof(auth));
	}
	/* The agent answers at once; waiting for "100 Continue" only adds a round trip. */
	s->headers = curl_slist_append(s->headers, "Expect:");
	if (call->body) {
		s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	return 0;
}

int fl_agent_client_run(struct fl_agent_client *c, struct fl_agent_call *calls, size_t n,
			long timeout_ms)
{
	struct slot *slots;
	int running = 0, r = 0;

	if (n == 0)
		return 0;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		fl_agent_call_done(&calls[i]);
		if (setup(&slots[i], &calls[i], timeout_ms) < 0 ||
		    curl_multi_add_handle(c->multi, slots[i].easy) != CURLM_OK) {
			snprintf(calls[i].transport_error, sizeof(calls[i].transport_error),
				 "cannot set up the request");
			continue;
		}
	}
	do {
		CURLMcode mc = curl_multi_perform(c->multi, &running);
		CURLMsg *m;
		int left;

		if (mc != CURLM_OK) {
			r = -EIO;
			break;
		}
		while ((m = curl_multi_info_read(c->multi, &left))) {
			struct slot *s = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (m->data.result == CURLE_OK) {
				double t = 0;

				curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE,
						  &s->call->status);
				curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME, &t);
				s->call->elapsed_ms = t * 1000;
				if (s->call->resp)
					s->call->json =
					    cJSON_ParseWithLength(s->call->resp, s->call->resp_len);
			} else {
				snprintf(s->call->transport_error, sizeof(s->call->transport_error),
					 "%s",
					 s->errbuf[0] ? s->errbuf
						      : curl_easy_strerror(m->data.result));
			}
		}
		if (running && curl_multi_poll(c->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			r = -EIO;
			break;
		}
	} while (running);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].easy) {
			curl_multi_remove_handle(c->multi, slots[i].easy);
			curl_easy_cleanup(slots[i].easy);
		}
		curl_slist_free_all(slots[i].headers);
	}
	free(slots);
	return r;
}

int fl_agent_call_error(const struct fl_agent_call *call, struct fl_error *err)
{
	struct fl_error e;

	fl_error_init(&e);
	if (call->status == 0)
		return fl_error_set(err, -EHOSTUNREACH, NULL, "agent %s: %s", call->ep->name,
				    call->transport_error[0] ? call->transport_error : "no answer");
	if (call->resp && fl_api_error_parse(call->resp, call->resp_len, &e))
		return fl_error_set(err, call->status == 401 ? -EACCES : -EPROTO,
				    e.path[0] ? e.path : NULL, "agent %s: HTTP %ld %s",
				    call->ep->name, call->status, e.msg);
	return fl_error_set(err, -EPROTO, NULL, "agent %s: HTTP %ld", call->ep->name, call->status);
}
