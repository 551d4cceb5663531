/*
 * Proof of effect for the network kinds (fl_fault_ops.effect): the kernel's
 * qdiscs read back over netlink (what `tc -j qdisc show` prints) in the
 * record's namespace, on the record's interface. A fault that owns the root
 * (netem, bandwidth) took effect when a qdisc of its kind sits there under a
 * faultline handle (fa17:, fa18:, fa19:); the read-back parameters (tbf's
 * rate, netem's delay and loss) are reported as the kernel has them. A
 * partition (cls_bpf) took effect when faultline's filter is on every clsact
 * hook its record names. Records of other shapes (ingress through an ifb,
 * partition by netem) are not measured here: took_effect null.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "faults/nl_common.h"

static void handle_str(uint32_t h, char *buf, size_t len)
{
	snprintf(buf, len, "%x:", h >> 16);
}

/*
 * A partition's record (cls_bpf mechanism): faultline's filters (pref
 * FL_NL_PREF) read back on each clsact hook the record names.
 */
static cJSON *partition_effect(const cJSON *undo, cJSON *o)
{
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(undo, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(undo, "netns_ino");
	const cJSON *ifname = cJSON_GetObjectItemCaseSensitive(undo, "ifname"), *h;
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct fl_error err;
	int r, ifindex = 0, hooks = 0, present = 0;
	cJSON *fs;

	fl_error_init(&err);
	r = fl_nl_sock_get(&c, cJSON_IsString(netns) ? netns->valuestring : "", &sk, &err);
	if (r == 0 && cJSON_IsNumber(ino) && ino->valuedouble != 0 &&
	    (double)c.ino != ino->valuedouble)
		r = -ENOENT;
	if (r == 0)
		r = cJSON_IsString(ifname) ? fl_nl_ifindex(sk, ifname->valuestring, &ifindex, &err)
					   : -EINVAL;
	if (r < 0) {
		cJSON_AddStringToObject(o, "note",
					r == -ENOENT   ? "the network namespace is gone"
					: r == -ENODEV ? "the interface is gone"
						       : strerror(-r));
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

/* One namespace's root-qdisc record: its read-back. */
static cJSON *root_effect(const cJSON *undo)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(undo, "fault");
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(undo, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(undo, "netns_ino");
	const cJSON *ifx = cJSON_GetObjectItemCaseSensitive(undo, "ifindex");
	const cJSON *ifname = cJSON_GetObjectItemCaseSensitive(undo, "ifname");
	struct fl_nl_sock_cache c = {0};
	struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	struct fl_error err;
	cJSON *o = cJSON_CreateObject(), *qs;
	bool found = false;
	int r;

	if (!o)
		return NULL;
	fl_error_init(&err);
	if (cJSON_IsString(ifname))
		cJSON_AddStringToObject(o, "interface", ifname->valuestring);
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "partition") &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(undo, "mechanism")) &&
	    !strcmp(cJSON_GetObjectItemCaseSensitive(undo, "mechanism")->valuestring, "cls_bpf"))
		return partition_effect(undo, o);
	if (!cJSON_IsString(kind) || !cJSON_IsNumber(ifx) ||
	    !cJSON_GetObjectItemCaseSensitive(undo, "prev")) {
		cJSON_AddStringToObject(o, "note", "not measured for this record");
		cJSON_AddNullToObject(o, "took_effect");
		return o;
	}
	r = fl_nl_sock_get(&c, cJSON_IsString(netns) ? netns->valuestring : "", &sk, &err);
	if (r == 0 && cJSON_IsNumber(ino) && ino->valuedouble != 0 &&
	    (double)c.ino != ino->valuedouble)
		r = -ENOENT; /* another namespace by that path now */
	if (r == 0 && (r = rtnl_qdisc_alloc_cache(sk, &cache)) < 0)
		r = fl_nl_errno(r);
	if (r < 0) {
		cJSON_AddStringToObject(
		    o, "note", r == -ENOENT ? "the network namespace is gone" : strerror(-r));
		cJSON_AddBoolToObject(o, "took_effect", false);
		goto out;
	}
	qs = cJSON_AddArrayToObject(o, "qdiscs");
	for (struct nl_object *obj = nl_cache_get_first(cache); obj && qs;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_qdisc *q = (struct rtnl_qdisc *)obj;
		uint32_t h = rtnl_tc_get_handle(TC_CAST(q));
		const char *k = rtnl_tc_get_kind(TC_CAST(q));
		char hs[16];
		cJSON *e;

		if (rtnl_tc_get_ifindex(TC_CAST(q)) != ifx->valueint || !fl_nl_handle_ours(h) || !k)
			continue;
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(qs, e)) {
			cJSON_Delete(e);
			break;
		}
		handle_str(h, hs, sizeof(hs));
		cJSON_AddStringToObject(e, "kind", k);
		cJSON_AddStringToObject(e, "handle", hs);
		if (!strcmp(k, "tbf")) {
			int rate = rtnl_qdisc_tbf_get_rate(q);

			if (rate > 0)
				cJSON_AddNumberToObject(e, "rate_bit", (double)rate * 8);
		} else if (!strcmp(k, "netem")) {
			int d = rtnl_netem_get_delay(q), l = rtnl_netem_get_loss(q);

			if (d >= 0)
				cJSON_AddNumberToObject(e, "delay_us", d);
			if (l >= 0)
				cJSON_AddNumberToObject(e, "loss_pct",
							(double)l * 100.0 / 4294967295.0);
		}
		if (!strcmp(k, !strcmp(kind->valuestring, "bandwidth") ? "tbf" : kind->valuestring))
			found = true;
	}
	cJSON_AddBoolToObject(o, "took_effect", found);
	if (!found)
		cJSON_AddStringToObject(o, "note", "no qdisc of the fault's kind is there");
out:
	if (cache)
		nl_cache_free(cache);
	fl_nl_sock_cache_done(&c);
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
	}
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "filters"))
	{
		const cJSON *hk = cJSON_GetObjectItemCaseSensitive(q, "hook");
		const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(q, "count");
		int n;

		if (at >= len)
			break;
		n = snprintf(buf + at, len - at, "%sclsact %s: %.0f bpf filter(s)", at ? ", " : "",
			     cJSON_IsString(hk) ? hk->valuestring : "?",
			     cJSON_IsNumber(cnt) ? cnt->valuedouble : 0.0);
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
