/*
 * Proof of effect for the network kinds (fl_fault_ops.effect): the kernel's
 * qdiscs read back over netlink (what `tc -j qdisc show` prints) in the
 * record's namespace, on the record's interface. A fault that owns the root
 * (netem, bandwidth) took effect when a qdisc of its kind sits there under a
 * faultline handle (fa17:, fa18:, fa19:); the read-back parameters (tbf's
 * rate, netem's delay and loss) are reported as the kernel has them. A
 * partition (cls_bpf) took effect when faultline's filter is on every clsact
 * hook its record names; a partition by netem when its netem leaf (loss 100%)
 * and the u32 filters steering the peers into it are there. An ingress fault
 * took effect when its qdisc is the root of faultline's ifb device and a u32
 * filter on the interface's clsact ingress hook redirects (act_mirred) to
 * that ifb: `tc qdisc show dev fl-eth0` + `tc filter show dev eth0 ingress`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "faults/nl_common.h"

static void handle_str(uint32_t h, char *buf, size_t len)
{
	snprintf(buf, len, "%x:", h >> 16);
}

/* The record's namespace, still the one it names (else -ENOENT). */
static int rec_sock(const cJSON *undo, struct fl_nl_sock_cache *c, struct nl_sock **sk)
{
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(undo, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(undo, "netns_ino");
	struct fl_error err;
	int r;

	fl_error_init(&err);
	r = fl_nl_sock_get(c, cJSON_IsString(netns) ? netns->valuestring : "", sk, &err);
	if (r == 0 && cJSON_IsNumber(ino) && ino->valuedouble != 0 &&
	    (double)c->ino != ino->valuedouble)
		r = -ENOENT; /* another namespace by that path now */
	return r;
}

static const char *gone_note(int r)
{
	return r == -ENOENT   ? "the network namespace is gone"
	       : r == -ENODEV ? "the interface is gone"
			      : strerror(-r);
}

/*
 * faultline's qdiscs on `ifindex` added to qs (kind, handle, tbf's rate,
 * netem's delay and loss; "dev" when `dev` is given). Returns whether one of
 * kind `want` is there (with netem's loss at `min_loss` or above).
 */
static bool list_qdiscs(struct nl_cache *cache, int ifindex, const char *dev, const char *want,
			double min_loss, cJSON *qs)
{
	bool found = false;

	for (struct nl_object *obj = nl_cache_get_first(cache); obj && qs;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_qdisc *q = (struct rtnl_qdisc *)obj;
		uint32_t h = rtnl_tc_get_handle(TC_CAST(q));
		const char *k = rtnl_tc_get_kind(TC_CAST(q));
		double loss = 0;
		char hs[16];
		cJSON *e;

		if (rtnl_tc_get_ifindex(TC_CAST(q)) != ifindex || !fl_nl_handle_ours(h) || !k)
			continue;
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(qs, e)) {
			cJSON_Delete(e);
			break;
		}
		handle_str(h, hs, sizeof(hs));
		cJSON_AddStringToObject(e, "kind", k);
		cJSON_AddStringToObject(e, "handle", hs);
		if (dev)
			cJSON_AddStringToObject(e, "dev", dev);
		if (!strcmp(k, "tbf")) {
			int rate = rtnl_qdisc_tbf_get_rate(q);

			if (rate > 0)
				cJSON_AddNumberToObject(e, "rate_bit", (double)rate * 8);
		} else if (!strcmp(k, "netem")) {
			int d = rtnl_netem_get_delay(q), l = rtnl_netem_get_loss(q);

			if (d >= 0)
				cJSON_AddNumberToObject(e, "delay_us", d);
			/* a 32-bit probability in an int: above 50% it reads negative */
			if (l != -NLE_NOATTR) {
				loss = (double)(uint32_t)l * 100.0 / 4294967295.0;
				cJSON_AddNumberToObject(e, "loss_pct", loss);
			}
		}
		if (!strcmp(k, want) && loss >= min_loss)
			found = true;
	}
	return found;
}

/*
 * faultline's u32 filters at `prefs` under `parent` of `ifindex`: those that
 * steer to `classid` (redirect_to 0) or redirect to `redirect_to` (act_mirred),
 * one entry per pref in fs. Returns how many there are, or -errno.
 */
static int list_u32(struct nl_sock *sk, int ifindex, uint32_t parent, const int prefs[2],
		    uint32_t classid, int redirect_to, const char *what, cJSON *fs)
{
	struct nl_cache *cache = NULL;
	int r, total = 0;

	r = rtnl_cls_alloc_cache(sk, ifindex, parent, &cache);
	if (r < 0)
		return fl_nl_errno(r);
	for (int i = 0; i < 2; i++) {
		int n = 0;
		cJSON *e;

		for (struct nl_object *obj = nl_cache_get_first(cache); obj;
		     obj = nl_cache_get_next(obj)) {
			struct rtnl_cls *cls = (struct rtnl_cls *)obj;
			const char *k = rtnl_tc_get_kind(TC_CAST(cls));
			uint32_t cid = 0;

			if (rtnl_cls_get_prio(cls) != prefs[i] || !k || strcmp(k, "u32"))
				continue;
			if (redirect_to) {
				/* borrowed: the filter object owns its actions */
				struct rtnl_act *a = rtnl_u32_get_action(cls);
				const char *ak = a ? rtnl_tc_get_kind(TC_CAST(a)) : NULL;

				n += ak && !strcmp(ak, "mirred") &&
				     rtnl_mirred_get_ifindex(a) == (uint32_t)redirect_to;
			} else {
				n += rtnl_u32_get_classid(cls, &cid) == 0 && cid == classid;
			}
		}
		if (!n && i)
			continue; /* the IPv6 pref is there only for IPv6 pairs */
		total += n;
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(fs, e)) {
			cJSON_Delete(e);
			continue;
		}
		if (parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) {
			cJSON_AddStringToObject(e, "hook", "ingress");
		} else {
			char hs[16];

			handle_str(parent, hs, sizeof(hs));
			cJSON_AddStringToObject(e, "parent", hs);
		}
		cJSON_AddStringToObject(e, "kind", "u32");
		cJSON_AddNumberToObject(e, "pref", prefs[i]);
		cJSON_AddNumberToObject(e, "count", n);
		cJSON_AddStringToObject(e, redirect_to ? "redirect" : "flowid", what);
	}
	nl_cache_free(cache);
	return total;
}

/*
 * An ingress record (nl_ingress.c): the fault's qdisc at the root of the ifb
 * and the redirect filters on the interface's clsact ingress hook.
 */
static cJSON *ingress_effect(const cJSON *undo, cJSON *o)
{
	static const int prefs[2] = {FL_NL_PREF_REDIR, FL_NL_PREF_REDIR6};
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(undo, "fault");
	const cJSON *ifname = cJSON_GetObjectItemCaseSensitive(undo, "ifname");
	const cJSON *ifb = cJSON_GetObjectItemCaseSensitive(undo, "ifb");
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	struct fl_error err;
	int r, ifindex = 0, ifb_ix = 0, n = 0;
	bool found = false;
	cJSON *qs, *fs;

	fl_error_init(&err);
	if (!cJSON_IsString(kind) || !cJSON_IsString(ifname) || !cJSON_IsString(ifb)) {
		cJSON_AddStringToObject(o, "note", "not measured for this record");
		cJSON_AddNullToObject(o, "took_effect");
		return o;
	}
	cJSON_AddStringToObject(o, "ifb", ifb->valuestring);
	r = rec_sock(undo, &c, &sk);
	if (r == 0)
		r = fl_nl_ifindex(sk, ifname->valuestring, &ifindex, &err);
	if (r == 0 && (r = fl_nl_ifindex(sk, ifb->valuestring, &ifb_ix, &err)) == -ENODEV) {
		cJSON_AddStringToObject(o, "note", "faultline's ifb device is gone");
		cJSON_AddBoolToObject(o, "took_effect", false);
		goto out;
	}
	if (r == 0 && (r = rtnl_qdisc_alloc_cache(sk, &cache)) < 0)
		r = fl_nl_errno(r);
	if (r < 0) {
		cJSON_AddStringToObject(o, "note", gone_note(r));
		cJSON_AddBoolToObject(o, "took_effect", false);
		goto out;
	}
	qs = cJSON_AddArrayToObject(o, "qdiscs");
	found =
	    list_qdiscs(cache, ifb_ix, ifb->valuestring,
			!strcmp(kind->valuestring, "bandwidth") ? "tbf" : kind->valuestring, 0, qs);
	fs = cJSON_AddArrayToObject(o, "filters");
	n = fs ? list_u32(sk, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), prefs, 0, ifb_ix,
			  ifb->valuestring, fs)
	       : -ENOMEM;
	cJSON_AddBoolToObject(o, "took_effect", found && n > 0);
	if (!found)
		cJSON_AddStringToObject(o, "note",
					"no qdisc of the fault's kind on the ifb device");
	else if (n <= 0)
		cJSON_AddStringToObject(
		    o, "note",
		    n < 0 ? strerror(-n)
			  : "no filter redirects the interface's ingress to the ifb");
out:
	if (cache)
		nl_cache_free(cache);
	fl_nl_sock_cache_done(&c);
	return o;
}

/*
 * A partition's record (cls_bpf mechanism): faultline's filters (pref
 * FL_NL_PREF) read back on each clsact hook the record names.
 */
static cJSON *partition_effect(const cJSON *undo, cJSON *o)
{
	const cJSON *ifname = cJSON_GetObjectItemCaseSensitive(undo, "ifname"), *h;
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct fl_error err;
	int r, ifindex = 0, hooks = 0, present = 0;
	cJSON *fs;

	fl_error_init(&err);
	r = rec_sock(undo, &c, &sk);
	if (r == 0)
		r = cJSON_IsString(ifname) ? fl_nl_ifindex(sk, ifname->valuestring, &ifindex, &err)
					   : -EINVAL;
	if (r < 0) {
		cJSON_AddStringToObject(o, "note", gone_note(r));
		cJSON_AddBoolToObject(o, "took_effect", false);
		goto out;
	}
	fs = cJSON_AddArrayToObject(o, "filters");
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(undo, "hooks"))
	{
		cJSON *e;
		int hook = -1, n;

		for (int k = 0; k < FL_NL_HOOK__MAX && cJSON_IsString(h); k++)
			if (!strcmp(h->valuestring, fl_nl_hook_names[k]))
				hook = k;
		if (hook < 0)
			continue;
		hooks++;
		n = fl_nl_filter_count(sk, ifindex, (enum fl_nl_hook)hook, FL_NL_PREF);
		present += n > 0;
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(fs, e)) {
			cJSON_Delete(e);
			continue;
		}
		cJSON_AddStringToObject(e, "hook", fl_nl_hook_names[hook]);
		cJSON_AddStringToObject(e, "kind", "bpf");
		cJSON_AddNumberToObject(e, "pref", FL_NL_PREF);
		cJSON_AddNumberToObject(e, "count", n < 0 ? 0 : n);
	}
	cJSON_AddBoolToObject(o, "took_effect", hooks > 0 && present == hooks);
	if (present < hooks)
		cJSON_AddStringToObject(o, "note", "a hook lacks faultline's filter");
out:
	fl_nl_sock_cache_done(&c);
	return o;
}

/* One namespace's record: its read-back. */
static cJSON *readback(const cJSON *undo)
{
	static const int prefs[2] = {FL_NL_PREF, FL_NL_PREF6};
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(undo, "fault");
	const cJSON *mech = cJSON_GetObjectItemCaseSensitive(undo, "mechanism");
	const cJSON *ifx = cJSON_GetObjectItemCaseSensitive(undo, "ifindex");
	const cJSON *ifname = cJSON_GetObjectItemCaseSensitive(undo, "ifname");
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	cJSON *o = cJSON_CreateObject(), *qs, *fs;
	bool found, part;
	int r, n = 1;

	if (!o)
		return NULL;
	if (cJSON_IsString(ifname))
		cJSON_AddStringToObject(o, "interface", ifname->valuestring);
	part = cJSON_IsString(kind) && !strcmp(kind->valuestring, "partition");
	if (part && cJSON_IsString(mech) && !strcmp(mech->valuestring, "cls_bpf"))
		return partition_effect(undo, o);
	if (fl_nl_undo_is_ingress(undo))
		return ingress_effect(undo, o);
	if (!cJSON_IsString(kind) || !cJSON_IsNumber(ifx) ||
	    !cJSON_GetObjectItemCaseSensitive(undo, "prev") ||
	    (part && (!cJSON_IsString(mech) || strcmp(mech->valuestring, "netem")))) {
		cJSON_AddStringToObject(o, "note", "not measured for this record");
		cJSON_AddNullToObject(o, "took_effect");
		return o;
	}
	r = rec_sock(undo, &c, &sk);
	if (r == 0 && (r = rtnl_qdisc_alloc_cache(sk, &cache)) < 0)
		r = fl_nl_errno(r);
	if (r < 0) {
		cJSON_AddStringToObject(o, "note", gone_note(r == -ENODEV ? -ENOENT : r));
		cJSON_AddBoolToObject(o, "took_effect", false);
		goto out;
	}
	qs = cJSON_AddArrayToObject(o, "qdiscs");
	/* A partition by netem: its loss 100% leaf, and the filters steering the peers there. */
	found = list_qdiscs(cache, ifx->valueint, NULL,
			    part				      ? "netem"
			    : !strcmp(kind->valuestring, "bandwidth") ? "tbf"
								      : kind->valuestring,
			    part ? 100.0 - 1e-6 : 0, qs);
	if (part) {
		fs = cJSON_AddArrayToObject(o, "filters");
		n = fs ? list_u32(sk, ifx->valueint, FL_NL_HANDLE_ROOT, prefs, FL_NL_CLASS_MATCH, 0,
				  "fa17:1", fs)
		       : -ENOMEM;
	}
	cJSON_AddBoolToObject(o, "took_effect", found && n > 0);
	if (!found)
		cJSON_AddStringToObject(o, "note",
					part ? "no netem loss 100% qdisc is there"
					     : "no qdisc of the fault's kind is there");
	else if (n <= 0)
		cJSON_AddStringToObject(
		    o, "note", n < 0 ? strerror(-n) : "no filter steers the peers to netem");
out:
	if (cache)
		nl_cache_free(cache);
	fl_nl_sock_cache_done(&c);
	return o;
}

/* One namespace's record: its read-back, then what its "measure" found. */
static cJSON *root_effect(const cJSON *undo)
{
	cJSON *o = readback(undo);

	if (o)
		fl_nl_measure_effect(undo, o);
	return o;
}

/* A summary line of one read-back: "tbf fa17: rate 8000000bit". */
static void summarize(const cJSON *e, char *buf, size_t len)
{
	const cJSON *q;
	size_t at = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "qdiscs"))
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(q, "kind");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(q, "handle");
		const cJSON *rate = cJSON_GetObjectItemCaseSensitive(q, "rate_bit");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(q, "delay_us");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(q, "loss_pct");
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(q, "dev");
		int n;

		if (at >= len)
			break;
		n = snprintf(buf + at, len - at, "%s%s %s", at ? ", " : "",
			     cJSON_IsString(k) ? k->valuestring : "?",
			     cJSON_IsString(h) ? h->valuestring : "?");
		at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		if (at < len && cJSON_IsNumber(rate)) {
			n = snprintf(buf + at, len - at, " rate %.0fbit", rate->valuedouble);
			at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		}
		if (at < len && cJSON_IsNumber(d)) {
			n = snprintf(buf + at, len - at, " delay %.0fus loss %.2f%%",
				     d->valuedouble, cJSON_IsNumber(l) ? l->valuedouble : 0.0);
			at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		}
		if (at < len && cJSON_IsString(dev)) {
			n = snprintf(buf + at, len - at, " on %s", dev->valuestring);
			at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		}
	}
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "filters"))
	{
		const cJSON *hk = cJSON_GetObjectItemCaseSensitive(q, "hook");
		const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(q, "count");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(q, "kind");
		const cJSON *par = cJSON_GetObjectItemCaseSensitive(q, "parent");
		const cJSON *pref = cJSON_GetObjectItemCaseSensitive(q, "pref");
		const cJSON *to = cJSON_GetObjectItemCaseSensitive(q, "redirect");
		const cJSON *flow = cJSON_GetObjectItemCaseSensitive(q, "flowid");
		int n;

		if (at >= len)
			break;
		/* "clsact ingress: 1 bpf filter(s)", "parent fa17: pref 250: 1 u32 filter(s) ->
		 * fa17:1" */
		if (cJSON_IsString(par))
			n = snprintf(buf + at, len - at, "%sparent %s pref %.0f", at ? ", " : "",
				     par->valuestring,
				     cJSON_IsNumber(pref) ? pref->valuedouble : 0.0);
		else if (cJSON_IsString(k) && !strcmp(k->valuestring, "u32"))
			n = snprintf(buf + at, len - at, "%sclsact %s pref %.0f", at ? ", " : "",
				     cJSON_IsString(hk) ? hk->valuestring : "?",
				     cJSON_IsNumber(pref) ? pref->valuedouble : 0.0);
		else
			n = snprintf(buf + at, len - at, "%sclsact %s", at ? ", " : "",
				     cJSON_IsString(hk) ? hk->valuestring : "?");
		at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		if (at < len) {
			n = snprintf(buf + at, len - at, ": %.0f %s filter(s)",
				     cJSON_IsNumber(cnt) ? cnt->valuedouble : 0.0,
				     cJSON_IsString(k) ? k->valuestring : "?");
			at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		}
		if (at < len && (cJSON_IsString(to) || cJSON_IsString(flow))) {
			n = snprintf(buf + at, len - at, " -> %s",
				     cJSON_IsString(to) ? to->valuestring : flow->valuestring);
			at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
		}
	}
	q = cJSON_GetObjectItemCaseSensitive(e, "measured");
	if (q && at < len) {
		const cJSON *peer = cJSON_GetObjectItemCaseSensitive(q, "peer");
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(q, "port");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(q, "rtt_before_ms");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(q, "rtt_after_ms");
		char bs[32] = "unreachable", as[32] = "unreachable";
		int n;

		/* ", peer 10.0.0.2:80 rtt 0.05ms -> 100.31ms" (or "-> unreachable") */
		if (cJSON_IsNumber(b))
			snprintf(bs, sizeof(bs), "rtt %.2fms", b->valuedouble);
		if (cJSON_IsNumber(a))
			snprintf(as, sizeof(as), "%s%.2fms", cJSON_IsNumber(b) ? "" : "rtt ",
				 a->valuedouble);
		n = snprintf(buf + at, len - at, "%speer %s:%.0f %s -> %s", at ? ", " : "",
			     cJSON_IsString(peer) ? peer->valuestring : "?",
			     cJSON_IsNumber(port) ? port->valuedouble : 0.0, bs, as);
		at = n > 0 && at + (size_t)n < len ? at + (size_t)n : len;
	}
	if (!buf[0]) {
		const cJSON *note = cJSON_GetObjectItemCaseSensitive(e, "note");

		snprintf(buf, len, "%s", cJSON_IsString(note) ? note->valuestring : "nothing read");
	}
}

int fl_nl_multi_effect(const cJSON *undo, cJSON **out)
{
	const cJSON *pods = cJSON_GetObjectItemCaseSensitive(undo, "netns_pods"), *p;
	char line[512];
	cJSON *o;

	*out = NULL;
	if (!cJSON_IsArray(pods)) {
		o = root_effect(undo);
		if (!o)
			return -ENOMEM;
		summarize(o, line, sizeof(line));
		cJSON_AddStringToObject(o, "summary", line);
		*out = o;
		return 0;
	}
	{
		cJSON *arr;
		int yes = 0, no = 0;

		o = cJSON_CreateObject();
		arr = o ? cJSON_AddArrayToObject(o, "pods") : NULL;
		if (!arr) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		fl_nl_measure_budget(FL_NL_MEASURE_PODS_MS); /* all pods' after-measures */
		cJSON_ArrayForEach(p, pods)
		{
			cJSON *e = root_effect(cJSON_GetObjectItemCaseSensitive(p, "undo"));
			const cJSON *pod = cJSON_GetObjectItemCaseSensitive(p, "pod");
			const cJSON *t;

			if (!e)
				continue;
			if (cJSON_IsString(pod))
				cJSON_AddStringToObject(e, "pod", pod->valuestring);
			t = cJSON_GetObjectItemCaseSensitive(e, "took_effect");
			yes += cJSON_IsTrue(t);
			no += cJSON_IsFalse(t);
			cJSON_AddItemToArray(arr, e);
		}
		fl_nl_measure_budget(0);
		snprintf(line, sizeof(line), "read back in %d of %d pod namespace(s)", yes,
			 cJSON_GetArraySize(arr));
		cJSON_AddStringToObject(o, "summary", line);
		if (no)
			cJSON_AddFalseToObject(o, "took_effect");
		else if (yes)
			cJSON_AddTrueToObject(o, "took_effect");
		else
			cJSON_AddNullToObject(o, "took_effect");
	}
	*out = o;
	return 0;
}
