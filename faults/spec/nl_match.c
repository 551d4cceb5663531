/*
 * The "match" scope of a network fault: which IPv4/IPv6 traffic it affects,
 * parsed, and described as the u32 filters nl_scope.c installs for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/spec/nl_spec.h"

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
    {"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"icmp", IPPROTO_ICMP}, {"sctp", IPPROTO_SCTP}};

static int cidr_list(const cJSON *v, const char *path, struct fl_nl_cidr *out, unsigned *n,
		     struct fl_error *err)
{
	const cJSON *it;
	unsigned i = 0;

	if (cJSON_IsString(v)) {
		int r = fl_nl_cidr_parse(v->valuestring, &out[0]);

		if (r < 0)
			return fl_error_set(
			    err, -EINVAL, path,
			    r == -EDOM ? "host bits set in \"%s\" (write the network, "
					 "e.g. 10.0.0.0/24)"
				       : "expected an IPv4/IPv6 address or CIDR, got \"%s\"",
			    v->valuestring);
		*n = 1;
		return 0;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return fl_error_set(
		    err, -EINVAL, path,
		    "expected an IPv4/IPv6 address or CIDR, or a non-empty list of them");
	cJSON_ArrayForEach(it, v)
	{
		char p[300];
		int r;

		snprintf(p, sizeof(p), "%s[%u]", path, i);
		if (i >= FL_NL_CIDR_MAX)
			return fl_error_set(err, -E2BIG, p, "at most %d addresses", FL_NL_CIDR_MAX);
		if (!cJSON_IsString(it))
			return fl_error_set(err, -EINVAL, p,
					    "expected an IPv4/IPv6 address or CIDR");
		r = fl_nl_cidr_parse(it->valuestring, &out[i]);
		if (r < 0)
			return fl_error_set(
			    err, -EINVAL, p,
			    r == -EDOM ? "host bits set in \"%s\""
				       : "expected an IPv4/IPv6 address or CIDR, got \"%s\"",
			    it->valuestring);
		i++;
	}
	*n = i;
	return 0;
}

static int port(const cJSON *v, const char *path, uint16_t *out, struct fl_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return fl_error_set(err, -EINVAL, path, "expected a port number 1..65535");
	*out = (uint16_t)v->valueint;
	return 0;
}

int fl_nl_match_parse(const cJSON *v, const char *path, struct fl_nl_match *m, struct fl_error *err)
{
	const cJSON *it;
	char p[300];
	int r;

	memset(m, 0, sizeof(*m));
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fl_error_set(err, -EINVAL, path, "expected an object");
	cJSON_ArrayForEach(it, v)
	{
		snprintf(p, sizeof(p), "%s.%.40s", path, it->string);
		if (!strcmp(it->string, "dst"))
			r = cidr_list(it, p, m->dst, &m->ndst, err);
		else if (!strcmp(it->string, "src"))
			r = cidr_list(it, p, m->src, &m->nsrc, err);
		else if (!strcmp(it->string, "dport"))
			r = port(it, p, &m->dport, err);
		else if (!strcmp(it->string, "sport"))
			r = port(it, p, &m->sport, err);
		else if (!strcmp(it->string, "protocol")) {
			size_t i;

			r = 0;
			if (cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble <= 255 &&
			    it->valuedouble == (double)(int)it->valuedouble) {
				m->proto = (uint8_t)it->valueint;
				continue;
			}
			for (i = 0; cJSON_IsString(it) && i < FL_ARRAY_SIZE(protos); i++)
				if (!strcmp(it->valuestring, protos[i].name))
					break;
			if (!cJSON_IsString(it) || i == FL_ARRAY_SIZE(protos))
				r = fl_error_set(
				    err, -EINVAL, p,
				    "expected tcp, udp, icmp, sctp or a number 1..255");
			else
				m->proto = protos[i].num;
		} else
			r = fl_error_set(err, -EINVAL, p, "unknown field");
		if (r < 0)
			return r;
	}
	if (!m->ndst && !m->nsrc && !m->dport && !m->sport && !m->proto)
		return fl_error_set(err, -EINVAL, path,
				    "an empty match would match everything: drop it instead");
	if ((m->dport || m->sport) && m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP &&
	    m->proto != IPPROTO_SCTP) {
		snprintf(p, sizeof(p), "%s.protocol", path);
		return fl_error_set(err, -EINVAL, p, "ports need \"protocol\": tcp, udp or sctp");
	}
	if ((m->ndst ? m->ndst : 1) * (m->nsrc ? m->nsrc : 1) > FL_NL_CIDR_MAX)
		return fl_error_set(err, -E2BIG, path, "dst x src makes more than %d filters",
				    FL_NL_CIDR_MAX);
	if (fl_nl_match_nfilters(m) == 0)
		return fl_error_set(err, -EINVAL, path,
				    "dst and src share no address family (an IPv4 and an IPv6 "
				    "address never meet in one packet)");
	m->any = true;
	return 0;
}

/* Does the (dst i, src j) pair exist for family `fam`? (pairs mix no families) */
bool fl_nl_match_pair_ok(const struct fl_nl_match *m, unsigned i, unsigned j, int fam)
{
	if (m->ndst && (fl_nl_cidr_is6(&m->dst[i]) ? AF_INET6 : AF_INET) != fam)
		return false;
	if (m->nsrc && (fl_nl_cidr_is6(&m->src[j]) ? AF_INET6 : AF_INET) != fam)
		return false;
	return true;
}

unsigned fl_nl_match_nfilters(const struct fl_nl_match *m)
{
	unsigned nd = m->ndst ? m->ndst : 1, ns = m->nsrc ? m->nsrc : 1, n = 0;
	static const int fams[] = {AF_INET, AF_INET6};

	for (size_t f = 0; f < FL_ARRAY_SIZE(fams); f++)
		for (unsigned i = 0; i < nd; i++)
			for (unsigned j = 0; j < ns; j++)
				n += fl_nl_match_pair_ok(m, i, j, fams[f]);
	return n;
}

int fl_nl_match_describe(const struct fl_nl_match *m, const char *prefix, uint32_t classid,
			 const char *redirect, struct fl_buf *out)
{
	static const int fams[] = {AF_INET, AF_INET6};
	unsigned nd, ns;
	char a[64], tail[64];
	int r = 0;

	if (redirect)
		snprintf(tail, sizeof(tail), "action mirred egress redirect dev %s", redirect);
	else
		snprintf(tail, sizeof(tail), "flowid %x:%x", classid >> 16, classid & 0xffff);
	if (!m || !m->any)
		return fl_buf_printf(out, "%s pref %d protocol all u32 match u32 0 0 %s\n", prefix,
				     fl_nl_match_pref(0, redirect != NULL), tail);
	nd = m->ndst ? m->ndst : 1;
	ns = m->nsrc ? m->nsrc : 1;
	for (size_t f = 0; f < FL_ARRAY_SIZE(fams); f++)
		for (unsigned i = 0; r == 0 && i < nd; i++)
			for (unsigned j = 0; r == 0 && j < ns; j++) {
				bool v6 = fams[f] == AF_INET6;
				const char *ip = v6 ? "ip6" : "ip";
				unsigned proto = m->proto;

				if (!fl_nl_match_pair_ok(m, i, j, fams[f]))
					continue;
				if (v6 && proto == IPPROTO_ICMP)
					proto = IPPROTO_ICMPV6;
				r = fl_buf_printf(out, "%s pref %d protocol %s u32", prefix,
						  fl_nl_match_pref(fams[f], redirect != NULL),
						  v6 ? "ipv6" : "ip");
				if (r == 0 && m->ndst)
					r = fl_buf_printf(out, " match %s dst %s", ip,
							  fl_nl_cidr_fmt(&m->dst[i], a, sizeof(a)));
				if (r == 0 && m->nsrc)
					r = fl_buf_printf(out, " match %s src %s", ip,
							  fl_nl_cidr_fmt(&m->src[j], a, sizeof(a)));
				if (r == 0 && proto)
					r = fl_buf_printf(out, " match %s protocol %u 0xff", ip,
							  proto);
				if (r == 0 && m->sport)
					r = fl_buf_printf(out, " match %s sport %u 0xffff", ip,
							  m->sport);
				if (r == 0 && m->dport)
					r = fl_buf_printf(out, " match %s dport %u 0xffff", ip,
							  m->dport);
				if (r == 0)
					r = fl_buf_printf(out, " %s\n", tail);
			}
	return r;
}
