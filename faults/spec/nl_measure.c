/*
 * The network kinds' optional "measure" parameter: a peer (host address and
 * TCP port) the agent connects to from inside the fault's network namespace
 * before and after apply (faults/nl_measure.c), as a user would check a tc
 * change with a ping or a TCP round trip. Parsed here, with the spec.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/spec/nl_spec.h"

/*
 * Grammar ($.params.measure):
 *   measure := { "peer": IPV4 | IPV6, "port": 1..65535 }
 * Both required; the peer is one host (no prefix, or /32, /128). A closed port
 * on a live host measures too: its RST answers the connect.
 */
int fl_nl_measure_parse(const cJSON *params, struct fl_nl_measure *m, struct fl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "measure"), *it, *p;

	memset(m, 0, sizeof(*m));
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fl_error_set(err, -EINVAL, "$.params.measure",
				    "expected {\"peer\": ADDRESS, \"port\": N}");
	cJSON_ArrayForEach(it, v)
	{
		if (strcmp(it->string, "peer") && strcmp(it->string, "port")) {
			char path[96];

			snprintf(path, sizeof(path), "$.params.measure.%.60s", it->string);
			return fl_error_set(err, -EINVAL, path, "unknown field (peer, port)");
		}
	}
	p = cJSON_GetObjectItemCaseSensitive(v, "peer");
	if (!p)
		return fl_error_set(err, -EINVAL, "$.params.measure.peer", "required");
	if (!cJSON_IsString(p) || fl_nl_cidr_parse(p->valuestring, &m->peer) < 0 ||
	    m->peer.len != (fl_nl_cidr_is6(&m->peer) ? 128 : 32))
		return fl_error_set(err, -EINVAL, "$.params.measure.peer",
				    "expected one IPv4 or IPv6 address");
	p = cJSON_GetObjectItemCaseSensitive(v, "port");
	if (!p)
		return fl_error_set(err, -EINVAL, "$.params.measure.port", "required");
	if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 65535 ||
	    p->valuedouble != (double)(int)p->valuedouble)
		return fl_error_set(err, -EINVAL, "$.params.measure.port",
				    "expected a TCP port 1..65535");
	m->port = (uint16_t)p->valueint;
	m->on = true;
	return 0;
}

bool fl_nl_measure_in(const struct fl_nl_measure *m, const struct fl_nl_cidr *c)
{
	const uint8_t *a, *b;
	unsigned len = c->len;

	if (fl_nl_cidr_is6(&m->peer) != fl_nl_cidr_is6(c))
		return false;
	a = fl_nl_cidr_is6(c) ? m->peer.addr6.s6_addr : (const uint8_t *)&m->peer.addr;
	b = fl_nl_cidr_is6(c) ? c->addr6.s6_addr : (const uint8_t *)&c->addr;
	for (unsigned i = 0; len; i++) {
		unsigned n = len < 8 ? len : 8;
		uint8_t mask = (uint8_t)(0xff00u >> n);

		if ((a[i] & mask) != (b[i] & mask))
			return false;
		len -= n;
	}
	return true;
}

int fl_nl_measure_describe(const struct fl_nl_measure *m, struct fl_buf *out)
{
	char a[INET6_ADDRSTRLEN];

	if (!m->on)
		return 0;
	if (fl_nl_cidr_is6(&m->peer))
		inet_ntop(AF_INET6, &m->peer.addr6, a, sizeof(a));
	else
		inet_ntop(AF_INET, &m->peer.addr, a, sizeof(a));
	return fl_buf_printf(out,
			     "# measure: TCP connect to %s%s%s:%u from the netns, before and "
			     "after (3 tries, 1 s at most each time)\n",
			     fl_nl_cidr_is6(&m->peer) ? "[" : "", a,
			     fl_nl_cidr_is6(&m->peer) ? "]" : "", m->port);
}
