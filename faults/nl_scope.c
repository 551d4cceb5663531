/*
 * Scope: which traffic a fault affects. Matched IPv4/IPv6 traffic is steered
 * by u32 filters into the fault's class (egress: the rest takes htb's direct
 * queue untouched), or redirected by u32 + mirred to faultline's ifb device
 * (ingress: the rest goes on up the stack untouched).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_ether.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
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

/*
 * One u32 filter for a (dst, src) pair of one address family, steering to
 * `classid` (an htb class) or, with `redirect` > 0, redirecting to that
 * interface (act_mirred egress redirect, for ingress faults). `fam` 0 is the
 * "everything" filter (protocol all, one 0/0 key) of an unscoped ingress fault.
 */
static int add_filter(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
		      int redirect, const struct fl_nl_match *m, int fam,
		      const struct fl_nl_cidr *dst, const struct fl_nl_cidr *src,
		      struct fl_error *err)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = NULL;
	bool v6 = fam == AF_INET6;
	uint8_t proto = m ? m->proto : 0;
	int r;

	if (!cls)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (v6 && proto == IPPROTO_ICMP)
		proto = IPPROTO_ICMPV6; /* "icmp" means ICMPv6 for IPv6 packets */
	rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
	rtnl_tc_set_parent(TC_CAST(cls), parent);
	rtnl_cls_set_prio(cls, fl_nl_match_pref(fam, redirect > 0));
	rtnl_cls_set_protocol(cls, fam == 0 ? ETH_P_ALL : v6 ? ETH_P_IPV6 : ETH_P_IP);
	r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	/*
	 * Offsets from the network header. IPv4: protocol 9, saddr 12, daddr 16,
	 * sport 20, dport 22 (no options). IPv6: next header 6, saddr 8, daddr 24,
	 * sport 40, dport 42 (no extension headers). As tc's `match ip`/`match ip6`.
	 */
	if (r == 0 && fam == 0)
		r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	if (r == 0 && dst)
		r = v6 ? rtnl_u32_add_key_in6_addr(cls, &dst->addr6, dst->len, 24, 0)
		       : rtnl_u32_add_key_in_addr(cls, &dst->addr, dst->len, 16, 0);
	if (r == 0 && src)
		r = v6 ? rtnl_u32_add_key_in6_addr(cls, &src->addr6, src->len, 8, 0)
		       : rtnl_u32_add_key_in_addr(cls, &src->addr, src->len, 12, 0);
	if (r == 0 && proto)
		r = rtnl_u32_add_key_uint8(cls, proto, 0xff, v6 ? 6 : 9, 0);
	if (r == 0 && m && m->sport)
		r = rtnl_u32_add_key_uint16(cls, m->sport, 0xffff, v6 ? 40 : 20, 0);
	if (r == 0 && m && m->dport)
		r = rtnl_u32_add_key_uint16(cls, m->dport, 0xffff, v6 ? 42 : 22, 0);
	if (r == 0 && redirect > 0) {
		act = rtnl_act_alloc();
		if (!act)
			r = -NLE_NOMEM;
		if (r == 0)
			r = rtnl_tc_set_kind(TC_CAST(act), "mirred");
		if (r == 0)
			r = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
		if (r == 0)
			r = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
		if (r == 0)
			r = rtnl_mirred_set_ifindex(act, (uint32_t)redirect);
		if (r == 0)
			r = rtnl_u32_add_action(cls, act);
	} else if (r == 0) {
		r = rtnl_u32_set_classid(cls, classid);
	}
	if (r == 0)
		r = rtnl_u32_set_cls_terminal(cls);
	if (r == 0)
		r = rtnl_cls_add(sk, cls, NLM_F_CREATE);
	rtnl_act_put(act);
	rtnl_cls_put(cls);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "adding u32 filter%s: %s",
				    redirect > 0 ? " with mirred redirect" : "", nl_geterror(r));
	return 0;
}

/* Does the (dst i, src j) pair exist for family `fam`? (pairs mix no families) */
static bool pair_ok(const struct fl_nl_match *m, unsigned i, unsigned j, int fam)
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
				n += pair_ok(m, i, j, fams[f]);
	return n;
}

static int install(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid, int redirect,
		   const struct fl_nl_match *m, struct fl_error *err)
{
	static const int fams[] = {AF_INET, AF_INET6};
	unsigned nd, ns;

	if (!m || !m->any)
		return add_filter(sk, ifindex, parent, classid, redirect, NULL, 0, NULL, NULL, err);
	nd = m->ndst ? m->ndst : 1;
	ns = m->nsrc ? m->nsrc : 1;
	for (size_t f = 0; f < FL_ARRAY_SIZE(fams); f++)
		for (unsigned i = 0; i < nd; i++)
			for (unsigned j = 0; j < ns; j++) {
				int r;

				if (!pair_ok(m, i, j, fams[f]))
					continue;
				r = add_filter(sk, ifindex, parent, classid, redirect, m, fams[f],
					       m->ndst ? &m->dst[i] : NULL,
					       m->nsrc ? &m->src[j] : NULL, err);
				if (r < 0)
					return r;
			}
	return 0;
}

int fl_nl_match_install(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
			const struct fl_nl_match *m, struct fl_error *err)
{
	return install(sk, ifindex, parent, classid, 0, m, err);
}

int fl_nl_match_install_redirect(struct nl_sock *sk, int ifindex, const struct fl_nl_match *m,
				 int to_ifindex, struct fl_error *err)
{
	return install(sk, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 0, to_ifindex, m,
		       err);
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

				if (!pair_ok(m, i, j, fams[f]))
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
