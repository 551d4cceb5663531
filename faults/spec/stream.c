/*
 * Fault kind `stream`: Toxiproxy's toxics on the TCP connections of shimmed
 * processes, without a proxy: one shim stream rule (docs/faults/syscall.md
 * "TCP connections") on the syscall kind's target. The params are a
 * Toxiproxy toxic, scoped by peer instead of by proxy:
 *
 *   params: {"type": "reset_peer" | "slow_close" | "timeout" | "limit_data"
 *                    | "slicer" | "bandwidth",
 *            ["stream": "downstream" | "upstream" | "both"],   default downstream
 *            ["attributes": {...}],                            Toxiproxy's, per type:
 *               reset_peer  timeout (ms; 0 = at once, the default)
 *               slow_close  delay (ms, required)
 *               timeout     timeout (ms; 0 = hold the connection, the default)
 *               limit_data  bytes (required)
 *               slicer      average_size (required), size_variation, delay (us)
 *               bandwidth   rate (KB/s, required)
 *            ["peer": {"address": "10.0.0.0/8" | "::1", "port": 5432}],
 *            ["local_port": 8080]}                             a server's own port
 *
 * The stream is seen from the target: downstream is what it receives (a
 * client's response; Toxiproxy's default), upstream what it sends. Without
 * peer or local_port the toxic acts on every TCP connection of the target.
 * "latency" is refused: the shim has no latency toxic (netem has, and a
 * syscall rule's delay=).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/spec/shim_kinds.h"

enum { RESET, SLOW_CLOSE, TIMEOUT, LIMIT, SLICER, BANDWIDTH };

static const char *const types[] = {"reset_peer", "slow_close", "timeout",
				    "limit_data", "slicer",	"bandwidth"};

static int attr(const cJSON *attrs, const char *key, uint64_t max, bool required, uint64_t *v,
		bool *present, struct fl_error *err)
{
	char path[64];
	bool p = false;
	int rc;

	snprintf(path, sizeof(path), "$.params.attributes.%s", key);
	if ((rc = fl_shim_kind_uint(attrs, key, path, max, v, &p, err)) < 0)
		return rc;
	if (!p && required)
		return fl_error_set(err, -EINVAL, path, "required (an integer)");
	if (present)
		*present = p;
	return 0;
}

/* Every attribute given must be one this type takes. */
static int attrs_known(const cJSON *attrs, const char *const *keys, const char *type,
		       struct fl_error *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, attrs)
	{
		size_t i;
		char path[FL_ERROR_PATH_MAX];

		for (i = 0; keys[i] && strcmp(keys[i], it->string); i++)
			;
		if (keys[i])
			continue;
		snprintf(path, sizeof(path), "$.params.attributes.%.64s", it->string);
		return fl_error_set(err, -EINVAL, path, "unknown attribute for %s", type);
	}
	return 0;
}

int fl_stream_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const keys[] = {"type", "stream",	 "attributes",
					   "peer", "local_port", NULL};
	static const char *const takes[][4] = {
	    [RESET] = {"timeout"},
	    [SLOW_CLOSE] = {"delay"},
	    [TIMEOUT] = {"timeout"},
	    [LIMIT] = {"bytes"},
	    [SLICER] = {"average_size", "size_variation", "delay"},
	    [BANDWIDTH] = {"rate"},
	};
	struct shim_kind_spec *k = NULL;
	const cJSON *type, *stream, *attrs, *peer, *it;
	char rule[512], how[160] = "", scope[160] = "";
	const char *dir = "recv", *sname = "downstream";
	uint64_t v = 0, v2 = 0, v3 = 0, port = 0, lport = 0;
	bool has = false, has_port = false, has_lport = false;
	size_t t;
	int rc;

	if ((rc = fl_shim_kind_new(target, params, keys, &k, err)) < 0)
		return rc;
	type = cJSON_GetObjectItemCaseSensitive(params, "type");
	for (t = 0; cJSON_IsString(type) && t < FL_ARRAY_SIZE(types); t++)
		if (!strcmp(type->valuestring, types[t]))
			break;
	if (!cJSON_IsString(type) || t == FL_ARRAY_SIZE(types)) {
		rc = fl_error_set(
		    err, -EINVAL, "$.params.type", "%s",
		    cJSON_IsString(type) && !strcmp(type->valuestring, "latency")
			? "the shim has no latency toxic: use the netem kind (delay), or a "
			  "syscall rule with delay= and port="
			: "expected \"reset_peer\", \"slow_close\", \"timeout\", \"limit_data\", "
			  "\"slicer\" or \"bandwidth\"");
		goto fail;
	}
	stream = cJSON_GetObjectItemCaseSensitive(params, "stream");
	if (stream) {
		if (cJSON_IsString(stream) && !strcmp(stream->valuestring, "upstream"))
			dir = "send";
		else if (cJSON_IsString(stream) && !strcmp(stream->valuestring, "both"))
			dir = "both";
		else if (!cJSON_IsString(stream) || strcmp(stream->valuestring, "downstream")) {
			rc = fl_error_set(err, -EINVAL, "$.params.stream",
					  "expected \"downstream\" (what the target receives), "
					  "\"upstream\" (what it sends) or \"both\"");
			goto fail;
		}
		sname = stream->valuestring;
	}
	attrs = cJSON_GetObjectItemCaseSensitive(params, "attributes");
	if (attrs && !cJSON_IsObject(attrs)) {
		rc = fl_error_set(err, -EINVAL, "$.params.attributes", "expected an object");
		goto fail;
	}
	if ((rc = attrs_known(attrs, takes[t], types[t], err)) < 0)
		goto fail;
	switch (t) {
	case RESET:
		if ((rc = attr(attrs, "timeout", 604800000, false, &v, &has, err)) < 0)
			goto fail;
		if (v)
			snprintf(rule, sizeof(rule), "reset_peer:after=%llums:dir=%s",
				 (unsigned long long)v, dir);
		else
			snprintf(rule, sizeof(rule), "reset_peer:bytes=0:dir=%s", dir);
		snprintf(how, sizeof(how), "timeout %llu ms: RST %s", (unsigned long long)v,
			 v ? "that long after the connection is first seen"
			   : "at once, before its first byte");
		break;
	case SLOW_CLOSE:
		if ((rc = attr(attrs, "delay", 604800000, true, &v, NULL, err)) < 0)
			goto fail;
		snprintf(rule, sizeof(rule), "slow_close:delay=%llums", (unsigned long long)v);
		snprintf(how, sizeof(how), "delay %llu ms before the FIN", (unsigned long long)v);
		break;
	case TIMEOUT:
		if ((rc = attr(attrs, "timeout", 604800000, false, &v, NULL, err)) < 0)
			goto fail;
		snprintf(rule, sizeof(rule), "timeout:dir=%s", dir);
		if (v)
			snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule), ":after=%llums",
				 (unsigned long long)v);
		snprintf(how, sizeof(how), "timeout %llu ms: data stops, %s", (unsigned long long)v,
			 v ? "then the connection closes" : "held open");
		break;
	case LIMIT:
		if ((rc = attr(attrs, "bytes", 1ULL << 40, true, &v, NULL, err)) < 0)
			goto fail;
		snprintf(rule, sizeof(rule), "limit_data:bytes=%llu:dir=%s", (unsigned long long)v,
			 dir);
		snprintf(how, sizeof(how), "bytes %llu, then FIN", (unsigned long long)v);
		break;
	case SLICER:
		if ((rc = attr(attrs, "average_size", 1ULL << 30, true, &v, NULL, err)) < 0 ||
		    (rc = attr(attrs, "size_variation", 1ULL << 30, false, &v2, NULL, err)) < 0 ||
		    (rc = attr(attrs, "delay", 604800000000ULL, false, &v3, NULL, err)) < 0)
			goto fail;
		if (!v) {
			rc = fl_error_set(err, -EINVAL, "$.params.attributes.average_size",
					  "a piece is at least 1 byte");
			goto fail;
		}
		if (v2 >= v) {
			rc = fl_error_set(err, -EINVAL, "$.params.attributes.size_variation",
					  "must be smaller than average_size");
			goto fail;
		}
		snprintf(rule, sizeof(rule), "slicer:size=%llu:var=%llu:delay=%lluus:dir=%s",
			 (unsigned long long)v, (unsigned long long)v2, (unsigned long long)v3,
			 dir);
		snprintf(how, sizeof(how), "average_size %llu, size_variation %llu, delay %llu us",
			 (unsigned long long)v, (unsigned long long)v2, (unsigned long long)v3);
		break;
	case BANDWIDTH:
		if ((rc = attr(attrs, "rate", 10000000000ULL, true, &v, NULL, err)) < 0)
			goto fail;
		if (!v) {
			rc = fl_error_set(err, -EINVAL, "$.params.attributes.rate",
					  "at least 1 KB/s");
			goto fail;
		}
		snprintf(rule, sizeof(rule), "bandwidth:rate=%llukbps:dir=%s",
			 (unsigned long long)v, dir);
		snprintf(how, sizeof(how), "rate %llu KB/s", (unsigned long long)v);
		break;
	}
	/* The toxic alone first: what the rule parser refuses of it is an attribute's. */
	{
		struct fl_preload_rule r;

		if ((rc = fl_preload_rule_parse(rule, 0, &r, err)) < 0) {
			snprintf(err->path, sizeof(err->path), "$.params.attributes");
			goto fail;
		}
	}
	peer = cJSON_GetObjectItemCaseSensitive(params, "peer");
	if (peer && (!cJSON_IsObject(peer) || !cJSON_GetArraySize(peer))) {
		rc = fl_error_set(err, -EINVAL, "$.params.peer",
				  "expected {\"address\": \"10.0.0.0/8\", \"port\": 5432} (either "
				  "or both)");
		goto fail;
	}
	cJSON_ArrayForEach(it, peer)
	{
		if (!strcmp(it->string, "port")) {
			if ((rc = fl_shim_kind_uint(peer, "port", "$.params.peer.port", 65535,
						    &port, &has_port, err)) < 0)
				goto fail;
			if (!port) {
				rc = fl_error_set(err, -EINVAL, "$.params.peer.port",
						  "expected a port from 1 to 65535");
				goto fail;
			}
			snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule), ":port=%llu",
				 (unsigned long long)port);
		} else if (!strcmp(it->string, "address")) {
			const char *a = cJSON_IsString(it) ? it->valuestring : "", *slash;

			if (!*a || strlen(a) > 50 ||
			    strspn(a, "0123456789abcdefABCDEF.:/") != strlen(a)) {
				rc = fl_error_set(err, -EINVAL, "$.params.peer.address",
						  "expected an IPv4 or IPv6 address or prefix: "
						  "10.0.0.5, 10.0.0.0/8, fd00::/64");
				goto fail;
			}
			slash = strchr(a, '/');
			if (strchr(a, ':'))
				snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule),
					 ":addr=[%.*s]%s",
					 (int)(slash ? slash - a : (int)strlen(a)), a,
					 slash ? slash : "");
			else
				snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule),
					 ":addr=%s", a);
		} else {
			char path[FL_ERROR_PATH_MAX];

			snprintf(path, sizeof(path), "$.params.peer.%.64s", it->string);
			rc = fl_error_set(err, -EINVAL, path, "unknown field");
			goto fail;
		}
	}
	if ((rc = fl_shim_kind_uint(params, "local_port", "$.params.local_port", 65535, &lport,
				    &has_lport, err)) < 0)
		goto fail;
	if (has_lport && !lport) {
		rc = fl_error_set(err, -EINVAL, "$.params.local_port",
				  "expected a port from 1 to 65535");
		goto fail;
	}
	if (has_lport)
		snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule), ":lport=%llu",
			 (unsigned long long)lport);
	/* The peer's address is checked by the rule parser: report it there. */
	if ((rc = fl_shim_kind_add_rule(k, rule,
					cJSON_GetObjectItemCaseSensitive(peer, "address")
					    ? "$.params.peer.address"
					    : "$.params",
					err)) < 0)
		goto fail;
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(peer, "address");

		if (a && has_port)
			snprintf(scope, sizeof(scope), "connections to %s port %llu",
				 a->valuestring, (unsigned long long)port);
		else if (a)
			snprintf(scope, sizeof(scope), "connections to %s", a->valuestring);
		else if (has_port)
			snprintf(scope, sizeof(scope), "connections to port %llu",
				 (unsigned long long)port);
		else
			snprintf(scope, sizeof(scope), "every TCP connection");
		if (has_lport)
			snprintf(scope + strlen(scope), sizeof(scope) - strlen(scope),
				 " on local port %llu", (unsigned long long)lport);
	}
	snprintf(k->what, sizeof(k->what),
		 "Toxiproxy-style toxic %s (%s%s%s) on %s, in the shim's socket hooks", types[t],
		 how, t == SLOW_CLOSE ? "" : ", stream ", t == SLOW_CLOSE ? "" : sname, scope);
	*out = k;
	return 0;
fail:
	fl_shim_kind_free(k);
	return rc;
}

const struct fl_fault_spec_ops fl_fault_spec_stream = {
    .kind = "stream",
    .family = FL_FAULT_FAMILY_SYSCALL,
    .parse = fl_stream_parse,
    .describe = fl_shim_kind_describe,
    .free = fl_shim_kind_free,
};
