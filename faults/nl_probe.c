/*
 * Kernel capability probes: try the real thing on the loopback device of a
 * throwaway network namespace. The probe runs in a short-lived thread that
 * unshares its netns, so the caller's namespace is never touched; the kernel
 * may autoload the module (request_module) on the way, as `tc` would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <linux/filter.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>

#include "faults/fault.h"
#include "faults/nl_common.h"

#define LO 1 /* the loopback device is ifindex 1 in every new netns */

struct probe {
	enum fl_nl_cap cap;
	int r;
	struct fl_error err;
	const char *what, *modules; /* the missing piece, when a probe has several */
};

static int add_qdisc(struct nl_sock *sk, const char *kind, struct fl_error *err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r;

	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), LO);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
	r = rtnl_tc_set_kind(TC_CAST(q), kind);
	if (r == 0 && !strcmp(kind, "tbf")) {
		rtnl_qdisc_tbf_set_rate(q, 125000, 16384, 0);
		rtnl_qdisc_tbf_set_limit(q, 65536);
	}
	if (r == 0)
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "%s", nl_geterror(r));
	return 0;
}

static int run(struct probe *p, struct nl_sock *sk)
{
	struct fl_nl_netem n = {.limit = 1000, .delay_ns = 1000000};
	struct sock_filter prog[FL_NL_BPF_INSNS_MAX];
	struct fl_nl_match m = {.any = true, .ndst = 1};
	struct nl_msg *msg = NULL;
	int r;

	switch (p->cap) {
	case FL_NL_CAP_NETEM:
		r = fl_nl_netem_build(&n, LO, TC_H_ROOT, TC_HANDLE(1, 0),
				      NLM_F_CREATE | NLM_F_REPLACE, &msg, &p->err);
		if (r == 0)
			r = fl_nl_send_ack(sk, msg, "netem", &p->err);
		nlmsg_free(msg);
		return r;
	case FL_NL_CAP_TBF:
		return add_qdisc(sk, "tbf", &p->err);
	case FL_NL_CAP_HTB:
		return add_qdisc(sk, "htb", &p->err);
	case FL_NL_CAP_U32:
		r = add_qdisc(sk, "htb", &p->err);
		if (r < 0)
			return -EOPNOTSUPP; /* reported as htb missing by the caller's htb probe */
		m.dst[0].addr.s_addr = htonl(0x0a000000); /* 10.0.0.0/8 */
		m.dst[0].len = 8;
		return fl_nl_match_install(sk, LO, TC_HANDLE(1, 0), TC_HANDLE(1, 1), &m, &p->err);
	case FL_NL_CAP_CLSACT_BPF:
		r = fl_nl_clsact_add(sk, LO, &p->err);
		if (r == 0)
			r = fl_nl_bpf_filter_add(
			    sk, LO, FL_NL_HOOK_EGRESS, prog,
			    fl_nl_bpf_drop_prog(FL_NL_HOOK_EGRESS, NULL, 0, prog), &p->err);
		return r;
	case FL_NL_CAP_IFB_MIRRED: {
		int ifb;

		p->what = p->modules = "ifb";
		r = fl_nl_ifb_add(sk, "fl-probe", &ifb, &p->err);
		if (r == 0) {
			p->what = "clsact";
			p->modules = "sch_ingress";
			r = fl_nl_clsact_add(sk, LO, &p->err);
		}
		if (r == 0) {
			p->what = "u32 with act_mirred";
			p->modules = "cls_u32 act_mirred";
			r = fl_nl_match_install_redirect(sk, LO, NULL, ifb, &p->err);
		}
		return r;
	}
	case FL_NL_CAP__MAX:
		break;
	}
	return -EINVAL;
}

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	struct nl_sock *sk = NULL;

	if (unshare(CLONE_NEWNET) < 0) {
		p->r = -errno;
		fl_error_set(&p->err, p->r, "", "cannot create a probe netns: %s", strerror(errno));
		return NULL;
	}
	p->r = fl_nl_sock_open(&sk, &p->err);
	if (p->r == 0)
		p->r = run(p, sk);
	if (sk)
		nl_socket_free(sk);
	return NULL;
}

static const struct {
	const char *what, *modules;
} names[FL_NL_CAP__MAX] = {
    [FL_NL_CAP_NETEM] = {"sch_netem", "sch_netem"},
    [FL_NL_CAP_TBF] = {"sch_tbf", "sch_tbf"},
    [FL_NL_CAP_HTB] = {"sch_htb", "sch_htb"},
    [FL_NL_CAP_U32] = {"cls_u32", "cls_u32"},
    [FL_NL_CAP_CLSACT_BPF] = {"clsact with cls_bpf", "sch_ingress cls_bpf"},
    [FL_NL_CAP_IFB_MIRRED] = {"ifb with act_mirred", "ifb sch_ingress cls_u32 act_mirred"},
};

bool fl_nl_probe(enum fl_nl_cap cap, char *why, size_t whylen)
{
	struct probe p = {.cap = cap, .r = -EIO};
	pthread_t th;
	int e;

	if (cap >= FL_NL_CAP__MAX) {
		snprintf(why, whylen, "unknown capability");
		return false;
	}
	fl_error_init(&p.err);
	e = pthread_create(&th, NULL, probe_thread, &p);
	if (e) {
		snprintf(why, whylen, "cannot start the probe thread: %s", strerror(e));
		return false;
	}
	pthread_join(th, NULL);
	if (p.r == 0)
		return true;
	if (p.r == -ENOENT || p.r == -EOPNOTSUPP || p.r == -EINVAL)
		snprintf(why, whylen, "kernel has no %s (modprobe %s)",
			 p.what ? p.what : names[cap].what,
			 p.modules ? p.modules : names[cap].modules);
	else if (p.r == -EPERM || p.r == -EACCES)
		snprintf(why, whylen, "no permission to change qdiscs (needs CAP_NET_ADMIN): %s",
			 p.err.msg);
	else
		snprintf(why, whylen, "cannot tell whether the kernel has %s: %s", names[cap].what,
			 p.err.msg);
	return false;
}

void fl_fault_net_capabilities(cJSON *caps)
{
	static const char *const keys[FL_NL_CAP__MAX] = {
	    [FL_NL_CAP_NETEM] = "netem",
	    [FL_NL_CAP_TBF] = "tbf",
	    [FL_NL_CAP_HTB] = "htb",
	    [FL_NL_CAP_U32] = "u32",
	    [FL_NL_CAP_CLSACT_BPF] = "clsact_bpf",
	    [FL_NL_CAP_IFB_MIRRED] = "ifb_mirred",
	};
	char why[256];

	for (int c = 0; c < FL_NL_CAP__MAX; c++)
		cJSON_AddBoolToObject(caps, keys[c],
				      fl_nl_probe((enum fl_nl_cap)c, why, sizeof(why)));
}
