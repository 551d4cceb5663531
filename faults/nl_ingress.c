/*
 * Ingress faults: netem or tbf on the packets an interface *receives*, the way
 * tc users shape ingress. A qdisc cannot sit on the receive path, so the
 * packets are moved to a device that has one:
 *
 *   ip link add fl-eth0 type ifb; ip link set fl-eth0 up          (faultline's own device)
 *   tc qdisc replace dev fl-eth0 root handle fa17: netem ...       (the fault)
 *   tc qdisc add dev eth0 clsact                                   (unless one is there)
 *   tc filter add dev eth0 ingress pref 252 protocol ip u32 match ... \
 *           action mirred egress redirect dev fl-eth0             (matched packets only)
 *
 * The ifb sends what it dequeues back into the receive path of eth0, so the
 * packets arrive late (or not at all) and unmatched ones never leave eth0's
 * ingress. The root qdisc of eth0 is not touched: an ingress fault composes
 * with an egress one and with a partition (whose cls_bpf filter at pref 250
 * runs first).
 *
 * The undo record (journaled before apply):
 *   { "fault": KIND, "direction": "ingress", "netns": PATH, "netns_ino": N,
 *     "ifname": "eth0", "ifindex": 5, "ifb": "fl-eth0", "created_clsact": true }
 * Revert deletes the redirect filters (prefs 252, 253), the clsact when faultline
 * added it and nobody else has filters on it, and the ifb device (with its qdisc).
 * Each step is idempotent; a gone netns, interface or ifb is nothing to do.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "faults/nl_common.h"

int fl_nl_ingress_plan(const struct fl_nl_target *t, const char *kind, struct fl_nl_sock_cache *c,
		       cJSON **undo, struct fl_error *err)
{
	char ifname[IF_NAMESIZE], ifb[IF_NAMESIZE], why[256];
	struct nl_sock *sk = NULL;
	cJSON *u = NULL;
	int ifindex, ifb_ix, state, r;

	if (!fl_nl_probe(FL_NL_CAP_IFB_MIRRED, why, sizeof(why)))
		return fl_error_set(err, -EOPNOTSUPP, "$.params.direction", "%s", why);
	r = fl_nl_sock_get(c, t->netns, &sk, err);
	if (r < 0)
		return r;
	r = fl_nl_target_resolve(sk, t, &ifindex, ifname, err);
	if (r < 0)
		goto out;
	state = fl_nl_clsact_state(sk, ifindex, err);
	if (state < 0) {
		r = state;
		goto out;
	}
	if (state == 2) {
		r = fl_error_set(
		    err, -EBUSY, "",
		    "dev %s has an ingress qdisc; an ingress fault needs clsact in its "
		    "place",
		    ifname);
		goto out;
	}
	for (int fam = 0; state == 1 && fam < 2; fam++) {
		int pref = fl_nl_match_pref(fam ? AF_INET6 : 0, true);
		int n = fl_nl_filter_count(sk, ifindex, FL_NL_HOOK_INGRESS, pref);

		if (n < 0) {
			r = fl_error_set(err, n, "", "reading the ingress filters of %s", ifname);
			goto out;
		}
		if (n > 0) {
			const char *id = fl_nl_owner_get(c ? c->ino : fl_nl_netns_ino(t->netns),
							 ifindex, FL_NL_SLOT_INGRESS);

			r = fl_error_set(err, -EBUSY, "",
					 "dev %s already carries faultline ingress fault%s%s%s "
					 "(redirect filter at pref %d): ingress faults on one "
					 "interface do not compose; revert it first",
					 ifname, id ? " \"" : "", id ? id : "", id ? "\"" : "",
					 pref);
			goto out;
		}
	}
	fl_nl_ifb_name(ifname, ifb, sizeof(ifb));
	r = fl_nl_ifindex(sk, ifb, &ifb_ix, err);
	if (r == 0) {
		r = fl_error_set(err, -EBUSY, "",
				 "device %s exists already (a faultline ingress fault on %s?): "
				 "revert it first",
				 ifb, ifname);
		goto out;
	}
	if (r != -ENODEV)
		goto out;
	fl_error_init(err);
	u = cJSON_CreateObject();
	if (!u || !cJSON_AddStringToObject(u, "fault", kind) ||
	    !cJSON_AddStringToObject(u, "direction", "ingress") ||
	    !cJSON_AddStringToObject(u, "netns", t->netns) ||
	    !cJSON_AddNumberToObject(u, "netns_ino",
				     (double)(c ? c->ino : fl_nl_netns_ino(t->netns))) ||
	    !cJSON_AddStringToObject(u, "ifname", ifname) ||
	    !cJSON_AddNumberToObject(u, "ifindex", ifindex) ||
	    !cJSON_AddStringToObject(u, "ifb", ifb) ||
	    !cJSON_AddBoolToObject(u, "created_clsact", state == 0)) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
	r = 0;
out:
	cJSON_Delete(u);
	fl_nl_sock_put(c, sk);
	return r;
}

struct ing_rec {
	const char *netns, *ifname, *ifb;
	unsigned long long ino;
	int ifindex;
	bool created;
};

static int rec_read(const cJSON *u, struct ing_rec *rec, struct fl_error *err)
{
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(u, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(u, "netns_ino");
	const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(u, "ifname");
	const cJSON *ix = cJSON_GetObjectItemCaseSensitive(u, "ifindex");
	const cJSON *ifb = cJSON_GetObjectItemCaseSensitive(u, "ifb");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(u, "created_clsact");

	if (!cJSON_IsString(ns) || !cJSON_IsNumber(ino) || !cJSON_IsString(ifn) ||
	    strlen(ifn->valuestring) >= IF_NAMESIZE || !cJSON_IsNumber(ix) || ix->valuedouble < 1 ||
	    ix->valuedouble > INT_MAX || !cJSON_IsString(ifb) ||
	    strncmp(ifb->valuestring, "fl-", 3) || strlen(ifb->valuestring) >= IF_NAMESIZE ||
	    !cJSON_IsBool(cr))
		return fl_error_set(err, -EINVAL, "", "malformed ingress undo record");
	rec->netns = ns->valuestring;
	rec->ino = (unsigned long long)ino->valuedouble;
	rec->ifname = ifn->valuestring;
	rec->ifindex = (int)ix->valuedouble;
	rec->ifb = ifb->valuestring;
	rec->created = cJSON_IsTrue(cr);
	return 0;
}

bool fl_nl_undo_is_ingress(const cJSON *undo)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(undo, "direction");

	return cJSON_IsString(d) && !strcmp(d->valuestring, "ingress");
}

/* Everything faultline added on the ingress side, in reverse; absent pieces are fine. */
static int undo_ingress(struct nl_sock *sk, const struct ing_rec *rec, const char *id,
			struct fl_error *err)
{
	struct rtnl_link *l = NULL;
	int r;

	/* The interface is gone (its filters and clsact with it): only the ifb is left. */
	r = rtnl_link_get_kernel(sk, rec->ifindex, NULL, &l);
	rtnl_link_put(l);
	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND) {
		r = 0;
		goto ifb;
	}
	r = 0;
	for (int fam = 0; r == 0 && fam < 2; fam++)
		r = fl_nl_filter_del_pref(sk, rec->ifindex, FL_NL_HOOK_INGRESS,
					  fl_nl_match_pref(fam ? AF_INET6 : 0, true), err);
	/* faultline's clsact (this fault's or another's) goes with the last filter on it. */
	if (r == 0)
		r = fl_nl_clsact_release(sk, rec->ifindex, rec->created, err);
ifb:
	if (r == 0)
		r = fl_nl_link_del(sk, rec->ifb, err);
	if (r == 0)
		fl_nl_owner_clear(rec->ino, rec->ifindex, FL_NL_SLOT_INGRESS, id);
	return r;
}

int fl_nl_ingress_apply(const struct fl_nl_match *m, fl_nl_leaf_build build, const void *spec,
			struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
			struct fl_error *err)
{
	struct nl_msg *msg = NULL;
	struct nl_sock *sk = NULL;
	struct ing_rec rec;
	int ifb_ix, r;
	bool touched = false;

	r = rec_read(undo, &rec, err);
	if (r < 0)
		return r;
	r = fl_nl_sock_get(c, rec.netns, &sk, err);
	if (r < 0)
		return r;
	touched = true;
	r = fl_nl_ifb_add(sk, rec.ifb, &ifb_ix, err);
	if (r == 0)
		r = build(spec, ifb_ix, TC_H_ROOT, FL_NL_HANDLE_ROOT, NLM_F_CREATE | NLM_F_REPLACE,
			  &msg, err);
	if (r == 0)
		r = fl_nl_send_ack(sk, msg, "adding the fault qdisc on the ifb device", err);
	if (r == 0 && rec.created)
		r = fl_nl_clsact_add(sk, rec.ifindex, err);
	/* Last: packets are redirected only once the ifb carries the fault. */
	if (r == 0)
		r = fl_nl_match_install_redirect(sk, rec.ifindex, m, ifb_ix, err);
	if (r == 0)
		fl_nl_owner_set(rec.ino, rec.ifindex, FL_NL_SLOT_INGRESS, id, NULL);
	nlmsg_free(msg);
	if (r < 0 && touched) {
		struct fl_error e2;

		fl_error_init(&e2);
		(void)undo_ingress(sk, &rec, id, &e2); /* err keeps the first cause */
	}
	fl_nl_sock_put(c, sk);
	return r;
}

int fl_nl_ingress_revert(const cJSON *undo, struct fl_error *err)
{
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct ing_rec rec;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(undo, "fault_id");
	int r;

	r = rec_read(undo, &rec, err);
	if (r < 0)
		return r;
	r = fl_nl_sock_get(&c, rec.netns, &sk, err);
	/* The namespace is gone (or was replaced): nothing of ours can be left in it. */
	if (r == -ENOENT || r == -EINVAL || (r == 0 && c.ino != rec.ino)) {
		fl_error_init(err);
		r = 0;
		goto out;
	}
	if (r == 0)
		r = undo_ingress(sk, &rec, cJSON_IsString(id) ? id->valuestring : NULL, err);
out:
	fl_nl_sock_cache_done(&c);
	return r;
}

int fl_nl_ingress_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	struct ing_rec rec;
	char p[300];
	int r = rec_read(undo, &rec, NULL);

	if (r < 0)
		return r;
	fl_nl_netns_prefix(rec.netns, p, sizeof(p));
	r = fl_buf_printf(out,
			  "on revert: %stc filter del dev %s ingress pref %d\n"
			  "on revert: %stc filter del dev %s ingress pref %d\n",
			  p, rec.ifname, FL_NL_PREF_REDIR, p, rec.ifname, FL_NL_PREF_REDIR6);
	if (r == 0 && rec.created)
		r = fl_buf_printf(out,
				  "on revert: %stc qdisc del dev %s clsact (when no other filter "
				  "is left on it)\n",
				  p, rec.ifname);
	else if (r == 0)
		r = fl_buf_printf(out,
				  "(the clsact qdisc on %s was there: it stays, unless faultline "
				  "added it and no other filter is left on it)\n",
				  rec.ifname);
	if (r == 0)
		r = fl_buf_printf(out, "on revert: %sip link del %s (and its qdisc with it)\n", p,
				  rec.ifb);
	return r;
}
