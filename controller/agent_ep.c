/* An agent endpoint: its address grammar, its token, copies. */
#include "controller/agent_ep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int fl_agent_ep_set_auth(struct fl_agent_ep *ep, const struct fl_agent_ep *from)
{
	char **dst[] = {&ep->token, &ep->ca_file, &ep->cert_file, &ep->key_file};
	const char *src[] = {from->token, from->ca_file, from->cert_file, from->key_file};

	for (size_t i = 0; i < FL_ARRAY_SIZE(dst); i++) {
		if (*dst[i] && dst[i] == &ep->token)
			memset(*dst[i], 0, strlen(*dst[i]));
		free(*dst[i]);
		*dst[i] = xstrdup(src[i]);
		if (src[i] && !*dst[i])
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
