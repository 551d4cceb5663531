/*
 * clsact + cls_bpf with a classic BPF program in direct-action mode: the drop
 * mechanism of the partition fault. It needs no gact action module, no eBPF
 * verifier and no bpf(2) object: the kernel converts the classic program
 * (TCA_BPF_OPS) itself. Present on this CI kernel and on common distribution
 * kernels (CONFIG_NET_SCH_INGRESS, CONFIG_NET_CLS_BPF).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "faults/nl_common.h"

static uint32_t hook_parent(enum fl_nl_hook h)
{
	return TC_H_MAKE(TC_H_CLSACT, h == FL_NL_HOOK_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

struct state_ctx {
	int ifindex, state, count, pref;
	uint32_t parent;
};

static int state_cb(struct nl_msg *msg, void *arg)
{
	struct state_ctx *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct tcmsg *tcm = nlmsg_data(nlh);
	struct nlattr *tb[TCA_MAX + 1];
	char kind[32] = "";

	if (nlmsg_datalen(nlh) < (int)sizeof(*tcm) || tcm->tcm_ifindex != c->ifindex)
		return NL_OK;
	if (nlh->nlmsg_type == RTM_NEWTFILTER) {
		/* A filter chain head shows up once per (pref, protocol); count real ones. */
		if (tcm->tcm_handle &&
		    (c->pref < 0 || TC_H_MAJ(tcm->tcm_info) >> 16 == (uint32_t)c->pref))
			c->count++;
		return NL_OK;
	}
	if (nlh->nlmsg_type != RTM_NEWQDISC || tcm->tcm_parent != TC_H_CLSACT)
		return NL_OK;
	if (nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND])
		return NL_OK;
	nla_strlcpy(kind, tb[TCA_KIND], sizeof(kind));
	c->state = !strcmp(kind, "clsact") ? 1 : 2;
	return NL_OK;
}

static int dump(struct nl_sock *sk, int type, struct tcmsg *tcm, struct state_ctx *c)
{
	struct nl_cb *cb = fl_nl_cb_clone(sk);
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, state_cb, c);
	r = nl_send_simple(sk, type, NLM_F_DUMP, tcm, sizeof(*tcm));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? fl_nl_errno(r) : 0;
}

int fl_nl_clsact_state(struct nl_sock *sk, int ifindex, struct fl_error *err)
{
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex};
	struct state_ctx c = {.ifindex = ifindex};
	int r = dump(sk, RTM_GETQDISC, &tcm, &c);

	if (r < 0)
		return fl_error_set(err, r, "", "reading qdiscs: %s", strerror(-r));
	return c.state;
}

int fl_nl_filter_count(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook, int pref)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = hook_parent(hook)};
	struct state_ctx c = {.ifindex = ifindex, .pref = pref};
	int r = dump(sk, RTM_GETTFILTER, &tcm, &c);

	return r < 0 ? r : c.count;
}

static int clsact_msg(struct nl_sock *sk, int ifindex, int type, int flags, const char *what,
		      struct fl_error *err)
{
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC,
			    .tcm_ifindex = ifindex,
			    .tcm_parent = TC_H_CLSACT,
			    .tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0)};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);
	int r;

	if (!msg || nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, TCA_KIND, "clsact") < 0)
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	else
		r = fl_nl_send_ack(sk, msg, what, err);
	nlmsg_free(msg);
	return r;
}

static int mark_add(struct nl_sock *sk, int ifindex, struct fl_error *err);

int fl_nl_clsact_add(struct nl_sock *sk, int ifindex, struct fl_error *err)
{
	int r = clsact_msg(sk, ifindex, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL,
			   "adding clsact qdisc", err);

	if (r == 0 && (r = mark_add(sk, ifindex, err)) < 0) {
		struct fl_error e2;

		fl_error_init(&e2);
		(void)clsact_msg(sk, ifindex, RTM_DELQDISC, 0, "deleting clsact qdisc", &e2);
	}
	return r;
}

int fl_nl_clsact_del(struct nl_sock *sk, int ifindex, struct fl_error *err)
{
	return clsact_msg(sk, ifindex, RTM_DELQDISC, 0, "deleting clsact qdisc", err);
}

static struct nl_msg *filter_msg_at(int type, int flags, int ifindex, enum fl_nl_hook hook,
				    int pref, uint16_t proto)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC,
	    .tcm_ifindex = ifindex,
	    .tcm_parent = hook_parent(hook),
	    .tcm_handle = 1,
	    .tcm_info = TC_H_MAKE((uint32_t)pref << 16, htons(proto)),
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (msg && (nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
		    nla_put_string(msg, TCA_KIND, "bpf") < 0)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static struct nl_msg *filter_msg(int type, int flags, int ifindex, enum fl_nl_hook hook)
{
	return filter_msg_at(type, flags, ifindex, hook, FL_NL_PREF, ETH_P_ALL);
}

/*
 * faultline's mark on a clsact it added: a cls_bpf filter at FL_NL_PREF_MARK
 * for ethertype FL_NL_MARK_PROTO, which no packet carries, so the kernel
 * never runs it (it would only say "next filter").
 */
static int mark_add(struct nl_sock *sk, int ifindex, struct fl_error *err)
{
	static const struct sock_filter next[] = {BPF_STMT(BPF_RET | BPF_K, TC_ACT_UNSPEC)};
	struct nl_msg *msg = filter_msg_at(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex,
					   FL_NL_HOOK_INGRESS, FL_NL_PREF_MARK, FL_NL_MARK_PROTO);
	struct nlattr *opts;
	int r;

	if (!msg || !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put_u16(msg, TCA_BPF_OPS_LEN, 1) < 0 ||
	    nla_put(msg, TCA_BPF_OPS, (int)sizeof(next), next) < 0 ||
	    nla_put_string(msg, TCA_BPF_NAME, "faultline-clsact") < 0 ||
	    nla_put_u32(msg, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT) < 0) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	nla_nest_end(msg, opts);
	r = fl_nl_send_ack(sk, msg, "marking the clsact qdisc as faultline's", err);
out:
	nlmsg_free(msg);
	return r;
}

int fl_nl_clsact_release(struct nl_sock *sk, int ifindex, bool created, struct fl_error *err)
{
	int state = fl_nl_clsact_state(sk, ifindex, err), marks, in, eg, r;

	if (state != 1)
		return state < 0 ? state : 0;
	marks = fl_nl_filter_count(sk, ifindex, FL_NL_HOOK_INGRESS, FL_NL_PREF_MARK);
	in = fl_nl_filter_count(sk, ifindex, FL_NL_HOOK_INGRESS, -1);
	eg = fl_nl_filter_count(sk, ifindex, FL_NL_HOOK_EGRESS, -1);
	if (marks < 0 || in < 0 || eg < 0)
		return fl_error_set(err,
				    marks < 0 ? marks
				    : in < 0  ? in
					      : eg,
				    "", "reading the clsact filters");
	/* Someone else's clsact (not added by this fault, no mark), or still in use: it stays. */
	if ((!created && marks == 0) || in - marks + eg > 0)
		return 0;
	r = fl_nl_clsact_del(sk, ifindex, err);
	if (r == -ENOENT || r == -EINVAL) { /* gone meanwhile */
		fl_error_init(err);
		r = 0;
	}
	return r;
}

int fl_nl_bpf_filter_add(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook,
			 const struct sock_filter *prog, int n, struct fl_error *err)
{
	struct nl_msg *msg = filter_msg(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, hook);
	struct nlattr *opts;
	int r;

	if (!msg || !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put_u16(msg, TCA_BPF_OPS_LEN, (uint16_t)n) < 0 ||
	    nla_put(msg, TCA_BPF_OPS, n * (int)sizeof(*prog), prog) < 0 ||
	    nla_put_string(msg, TCA_BPF_NAME, "faultline-partition") < 0 ||
	    nla_put_u32(msg, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT) < 0) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	nla_nest_end(msg, opts);
	r = fl_nl_send_ack(sk, msg, "adding cls_bpf filter", err);
out:
	nlmsg_free(msg);
	return r;
}

int fl_nl_filter_del_pref(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook, int pref,
			  struct fl_error *err)
{
	/* Handle 0 and protocol 0: the kernel removes the whole filter at that pref. */
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC,
	    .tcm_ifindex = ifindex,
	    .tcm_parent = hook_parent(hook),
	    .tcm_info = TC_H_MAKE((uint32_t)pref << 16, 0),
	};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_DELTFILTER, 0);
	int r;

	if (!msg || nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0)
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	else
		r = fl_nl_send_ack(sk, msg, "deleting filter", err);
	nlmsg_free(msg);
	if (r == -ENOENT || r == -EINVAL || r == -ENODEV) { /* filter, clsact or device gone */
		fl_error_init(err);
		r = 0;
	}
	return r;
}

int fl_nl_bpf_filter_del(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook,
			 struct fl_error *err)
{
	struct nl_msg *msg = filter_msg(RTM_DELTFILTER, 0, ifindex, hook);
	int r;

	if (!msg)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	r = fl_nl_send_ack(sk, msg, "deleting cls_bpf filter", err);
	nlmsg_free(msg);
	if (r == -ENOENT || r == -EINVAL) { /* filter or clsact already gone */
		fl_error_init(err);
		r = 0;
	}
	return r;
}
