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

				if (!fl_nl_match_pair_ok(m, i, j, fams[f]))
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
