/*
 * Scope: which traffic a root-qdisc fault affects. Matched IPv4 traffic is
 * steered by u32 filters into the fault's class; the rest takes htb's direct
 * queue untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_ether.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/tc.h>

#include "faults/nl_common.h"

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
			return fl_error_set(err, -EINVAL, path,
					    r == -EDOM
						? "host bits set in \"%s\" (write the network, "
						  "e.g. 10.0.0.0/24)"
						: "expected an IPv4 address or CIDR, got \"%s\"",
					    v->valuestring);
		*n = 1;
		return 0;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return fl_error_set(err, -EINVAL, path,
				    "expected an IPv4 address/CIDR or a non-empty list of them");
	cJSON_ArrayForEach(it, v)
	{
		char p[300];
		int r;

		snprintf(p, sizeof(p), "%s[%u]", path, i);
		if (i >= FL_NL_CIDR_MAX)
			return fl_error_set(err, -E2BIG, p, "at most %d addresses", FL_NL_CIDR_MAX);
		if (!cJSON_IsString(it))
			return fl_error_set(err, -EINVAL, p, "expected an IPv4 address or CIDR");
		r = fl_nl_cidr_parse(it->valuestring, &out[i]);
		if (r < 0)
			return fl_error_set(err, -EINVAL, p,
					    r == -EDOM
						? "host bits set in \"%s\""
						: "expected an IPv4 address or CIDR, got \"%s\"",
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
	m->any = true;
	return 0;
}

static int add_filter(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
		      const struct fl_nl_match *m, const struct fl_nl_cidr *dst,
		      const struct fl_nl_cidr *src, struct fl_error *err)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	int r;

	if (!cls)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
	rtnl_tc_set_parent(TC_CAST(cls), parent);
	rtnl_cls_set_prio(cls, FL_NL_PREF);
	rtnl_cls_set_protocol(cls, ETH_P_IP);
	r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	/* Offsets from the IPv4 header: protocol 9, saddr 12, daddr 16, sport 20, dport 22. */
	if (r == 0 && dst)
		r = rtnl_u32_add_key_in_addr(cls, &dst->addr, dst->len, 16, 0);
	if (r == 0 && src)
		r = rtnl_u32_add_key_in_addr(cls, &src->addr, src->len, 12, 0);
	if (r == 0 && m->proto)
		r = rtnl_u32_add_key_uint8(cls, m->proto, 0xff, 9, 0);
	if (r == 0 && m->sport)
		r = rtnl_u32_add_key_uint16(cls, m->sport, 0xffff, 20, 0);
	if (r == 0 && m->dport)
		r = rtnl_u32_add_key_uint16(cls, m->dport, 0xffff, 22, 0);
	if (r == 0)
		r = rtnl_u32_set_classid(cls, classid);
	if (r == 0)
		r = rtnl_u32_set_cls_terminal(cls);
	if (r == 0)
		r = rtnl_cls_add(sk, cls, NLM_F_CREATE);
	rtnl_cls_put(cls);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "adding u32 filter: %s",
				    nl_geterror(r));
	return 0;
}

int fl_nl_match_install(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
			const struct fl_nl_match *m, struct fl_error *err)
{
	unsigned nd = m->ndst ? m->ndst : 1, ns = m->nsrc ? m->nsrc : 1;

	for (unsigned i = 0; i < nd; i++)
		for (unsigned j = 0; j < ns; j++) {
			int r =
			    add_filter(sk, ifindex, parent, classid, m, m->ndst ? &m->dst[i] : NULL,
				       m->nsrc ? &m->src[j] : NULL, err);

			if (r < 0)
				return r;
		}
	return 0;
}

int fl_nl_match_describe(const struct fl_nl_match *m, const char *prefix, uint32_t classid,
			 struct fl_buf *out)
{
	unsigned nd = m->ndst ? m->ndst : 1, ns = m->nsrc ? m->nsrc : 1;
	char a[32];
	int r = 0;

	for (unsigned i = 0; r == 0 && i < nd; i++)
		for (unsigned j = 0; r == 0 && j < ns; j++) {
			r = fl_buf_printf(out, "%s", prefix);
			if (r == 0 && m->ndst)
				r = fl_buf_printf(out, " match ip dst %s",
						  fl_nl_cidr_fmt(&m->dst[i], a, sizeof(a)));
			if (r == 0 && m->nsrc)
				r = fl_buf_printf(out, " match ip src %s",
						  fl_nl_cidr_fmt(&m->src[j], a, sizeof(a)));
			if (r == 0 && m->proto)
				r = fl_buf_printf(out, " match ip protocol %u 0xff", m->proto);
			if (r == 0 && m->sport)
				r = fl_buf_printf(out, " match ip sport %u 0xffff", m->sport);
			if (r == 0 && m->dport)
				r = fl_buf_printf(out, " match ip dport %u 0xffff", m->dport);
			if (r == 0)
				r = fl_buf_printf(out, " flowid %x:%x\n", classid >> 16,
						  classid & 0xffff);
		}
	return r;
}
