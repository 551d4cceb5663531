/*
 * The `tcp` probe: can a TCP connection to host:port be made within the
 * timeout? The result is true or false (refused, unreachable, timed out);
 * the probe itself fails only when the name does not resolve or the run is
 * interrupted. Every address the name resolves to is tried in turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/slo.h"
#include "core/duration.h"

/* 1: connected, 0: not, -ECANCELED. */
static int try_connect(const struct addrinfo *ai, int cancel_fd, uint64_t until, char *why,
		       size_t whylen)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int ret = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return 0;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		ret = 1;
		goto out;
	}
	if (errno != EINPROGRESS) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
				      {.fd = cancel_fd, .events = POLLIN}};
		uint64_t now = fl_now_mono_ms();
		int n;

		if (now >= until) {
			snprintf(why, whylen, "no connection within the timeout");
			goto out;
		}
		n = poll(p, cancel_fd >= 0 ? 2 : 1, (int)(until - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && cancel_fd >= 0 && p[1].revents) {
			ret = -ECANCELED;
			goto out;
		}
		if (n > 0 && p[0].revents)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
		ret = 1;
	else
		snprintf(why, whylen, "%s", strerror(soerr ? soerr : errno));
out:
	close(fd);
	return ret;
}

int fl_probe_tcp_run(const struct fl_provider *p, const struct fl_call_opts *o, cJSON **result,
		     struct fl_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	uint64_t until =
	    fl_now_mono_ms() + (p->timeout_ms ? p->timeout_ms : FL_TCP_DEFAULT_TIMEOUT_MS);
	char port[8], why[128] = "";
	int r, ok = 0;

	*result = NULL;
	if (o->deadline_ms && o->deadline_ms < until)
		until = o->deadline_ms;
	snprintf(port, sizeof(port), "%u", p->port);
	r = getaddrinfo(p->host, port, &hints, &res);
	if (r != 0)
		return fl_error_set(err, -EHOSTUNREACH, NULL, "cannot resolve %s: %s", p->host,
				    gai_strerror(r));
	for (const struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
		ok = try_connect(ai, o->cancel_fd, until, why, sizeof(why));
		if (ok < 0) {
			freeaddrinfo(res);
			return fl_error_set(err, -ECANCELED, NULL, "interrupted");
		}
	}
	freeaddrinfo(res);
	*result = cJSON_CreateBool(ok == 1);
	if (!*result)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	if (!ok)
		fl_error_set(err, 0, NULL, "%s:%u: %s", p->host, p->port, why);
	return 0;
}
