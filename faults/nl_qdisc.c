/*
 * Root qdisc snapshot/restore and the engine shared by the faults that own the
 * root qdisc of an interface (netem, bandwidth).
 *
 * The undo record (JSON, journaled by the agent before apply):
 *   { "netns": PATH, "netns_ino": N, "ifname": "veth1",
 *     "prev": { "kind": "tbf", "handle": 65536, "options": "<hex of TCA_OPTIONS>" } }
 * prev.handle 0 means the kernel's default qdisc was there: revert deletes ours
 * and the kernel puts its default back. Otherwise revert replaces ours with the
 * recorded kind, handle and raw options, exactly as the kernel dumped them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>
#include <netlink/socket.h>

#include "faults/nl_common.h"

#define OPTS_MAX   65536	     /* raw TCA_OPTIONS we keep (a netem dist table is 8 KiB) */
#define MATCH_RATE (125000000000ULL) /* 1 Tbit/s: the scope class never shapes */

void fl_nl_snap_done(struct fl_nl_qdisc_snap *s)
{
	free(s->opts);
	s->opts = NULL;
	s->opts_len = 0;
	free(s->child_opts);
	s->child_opts = NULL;
	s->child_opts_len = 0;
}

struct snap_ctx {
	int ifindex;
	struct fl_nl_qdisc_snap *s;
	int err;
};

/* A qdisc's raw TCA_OPTIONS, kept as the kernel dumped them. */
static void keep_opts(struct snap_ctx *c, const struct nlattr *a, uint8_t **out, size_t *len)
{
	size_t n;

	if (!a || nla_len(a) <= 0)
		return;
	n = (size_t)nla_len(a);
	if (n > OPTS_MAX) {
		c->err = -E2BIG;
		return;
	}
	free(*out);
	*out = malloc(n);
	if (!*out) {
		c->err = -ENOMEM;
		*len = 0;
		return;
	}
	memcpy(*out, nla_data(a), n);
	*len = n;
}

static int snap_cb(struct nl_msg *msg, void *arg)
{
	struct snap_ctx *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct tcmsg *tcm = nlmsg_data(nlh);
	struct nlattr *tb[TCA_MAX + 1];

	if (nlh->nlmsg_type == RTM_NEWTCLASS) {
		if (nlmsg_datalen(nlh) >= (int)sizeof(*tcm) && tcm->tcm_ifindex == c->ifindex)
			c->s->nclasses++;
		return NL_OK;
	}
	if (nlh->nlmsg_type != RTM_NEWQDISC || nlmsg_datalen(nlh) < (int)sizeof(*tcm) ||
	    tcm->tcm_ifindex != c->ifindex)
		return NL_OK;
	if (tcm->tcm_parent != TC_H_ROOT) {
		/* A qdisc grafted below the root (not ingress/clsact, not a default one). */
		if (tcm->tcm_parent != TC_H_INGRESS && tcm->tcm_handle)
			c->s->nchildren++;
		/* faultline's composed child: its kind and options, to promote it on revert */
		if (tcm->tcm_parent == (FL_NL_HANDLE_ROOT | 1) &&
		    tcm->tcm_handle == FL_NL_HANDLE_CHILD &&
		    nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) == 0 && tb[TCA_KIND]) {
			c->s->child = true;
			nla_strlcpy(c->s->child_kind, tb[TCA_KIND], sizeof(c->s->child_kind));
			keep_opts(c, tb[TCA_OPTIONS], &c->s->child_opts, &c->s->child_opts_len);
		}
		return NL_OK;
	}
	if (nlmsg_parse(nlh, sizeof(*tcm), tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND])
		return NL_OK;
	c->s->present = true;
	c->s->handle = tcm->tcm_handle;
	nla_strlcpy(c->s->kind, tb[TCA_KIND], sizeof(c->s->kind));
	keep_opts(c, tb[TCA_OPTIONS], &c->s->opts, &c->s->opts_len);
	return NL_OK;
}

static int dump(struct nl_sock *sk, int type, int ifindex, struct snap_ctx *c)
{
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex};
	struct nl_cb *cb = fl_nl_cb_clone(sk);
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, snap_cb, c);
	r = nl_send_simple(sk, type, NLM_F_DUMP, &tcm, sizeof(tcm));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? fl_nl_errno(r) : 0;
}

/*
 * The root qdisc alone: RTM_GETQDISC for (ifindex, TC_H_ROOT), not a dump of
 * every qdisc of the namespace. The kernel answers a qdisc GET as a
 * notification (qdisc_notify), sent to the asker only with NLM_F_ECHO; then
 * the ACK, as a second datagram (as in fl_nl_route_dev); an error comes alone.
 * A root a dump would skip (builtin noop, on an interface that is down) is not
 * sent at all: only the ACK comes, and the caller falls back to the dump.
 */
static int get_root(struct nl_sock *sk, int ifindex, struct snap_ctx *c)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT};
	struct nl_cb *cb = fl_nl_cb_clone(sk);
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, snap_cb, c);
	r = nl_send_simple(sk, RTM_GETQDISC, NLM_F_ECHO, &tcm, sizeof(tcm));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	if (r >= 0 && c->s->present)
		r = nl_wait_for_ack(sk);
	nl_cb_put(cb);
	return r < 0 ? fl_nl_errno(r) : 0;
}

int fl_nl_root_snapshot(struct nl_sock *sk, int ifindex, struct fl_nl_qdisc_snap *s,
			struct fl_error *err)
{
	struct snap_ctx c = {.ifindex = ifindex, .s = s};
	int r;

	memset(s, 0, sizeof(*s));
	/*
	 * The kernel's default root (handle 0) is all a plan needs to know: what
	 * lies below it is the kernel's too. Any other root (the user's or
	 * faultline's) is read with the whole dump, for its children and classes.
	 */
	r = get_root(sk, ifindex, &c);
	if (r == 0 && c.err == 0 && s->present && s->handle == 0)
		return 0;
	fl_nl_snap_done(s);
	memset(s, 0, sizeof(*s));
	c.err = 0;
	r = dump(sk, RTM_GETQDISC, ifindex, &c);
	/* Classes matter only under a root that is neither the default nor ours. */
	if (r == 0 && s->present && s->handle && !fl_nl_handle_ours(s->handle))
		r = dump(sk, RTM_GETTCLASS, ifindex, &c);
	if (r == 0)
		r = c.err;
	if (r < 0) {
		fl_nl_snap_done(s);
		return fl_error_set(err, r, "", "reading the qdiscs of interface %d: %s", ifindex,
				    strerror(-r));
	}
	return 0;
}

static char *hex_encode(const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = d[p[i] >> 4];
		s[2 * i + 1] = d[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(const char *s, uint8_t **out, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *p;

	if (len % 2 || len / 2 > OPTS_MAX)
		return -EINVAL;
	p = malloc(len / 2 + 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(p);
			return -EINVAL;
		}
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = p;
	*n = len / 2;
	return 0;
}

/*
 * Qdiscs whose classes are made by the user (tc class add), which a restore
 * of the root's own options would lose. tbf, netem, prio, mq... create their
 * classes themselves, and recreate them on restore.
 */
static bool user_classes(const char *kind)
{
	static const char *const k[] = {"htb", "hfsc", "drr", "qfq", "cbq", "ets"};

	for (size_t i = 0; i < FL_ARRAY_SIZE(k); i++)
		if (!strcmp(kind, k[i]))
			return true;
	return false;
}

/* The qdisc a root-owning fault kind puts in place, or NULL when it never composes. */
static const char *fault_qdisc(const char *fault)
{
	if (fault && !strcmp(fault, "netem"))
		return "netem";
	if (fault && !strcmp(fault, "bandwidth"))
		return "tbf";
	return NULL;
}

/*
 * Can a fault of `kind` join the fault that holds this root? Two unscoped
 * faults compose when one is netem and the other tbf, as iproute2 users stack
 * them: netem at the root fa17:, tbf below it (parent fa17:1, handle fa19:),
 * whichever came first. The first fault must live in this process: its record
 * of the original root is what the last one out restores.
 */
static cJSON *compose_prev(const struct fl_nl_qdisc_snap *snap, const char *kind, bool scoped,
			   unsigned long long ino, int ifindex)
{
	const char *q = fault_qdisc(kind);

	if (scoped || !q || snap->child || snap->nchildren || snap->handle != FL_NL_HANDLE_ROOT ||
	    (strcmp(snap->kind, "netem") && strcmp(snap->kind, "tbf")) || !strcmp(snap->kind, q))
		return NULL;
	return fl_nl_owner_prev(ino, ifindex, FL_NL_SLOT_ROOT);
}

int fl_nl_root_plan(const struct fl_nl_target *t, const char *kind, bool scoped,
		    struct fl_nl_sock_cache *c, cJSON **undo, struct fl_error *err)
{
	struct fl_nl_qdisc_snap snap = {0};
	struct nl_sock *sk = NULL;
	char ifname[IF_NAMESIZE], *hex = NULL;
	cJSON *u = NULL, *prev, *cprev = NULL;
	unsigned long long ino;
	int ifindex, r;

	r = fl_nl_sock_get(c, t->netns, &sk, err);
	if (r < 0)
		return r;
	ino = c ? c->ino : fl_nl_netns_ino(t->netns);
	r = fl_nl_target_resolve(sk, t, &ifindex, ifname, err);
	if (r < 0)
		goto out;
	r = fl_nl_root_snapshot(sk, ifindex, &snap, err);
	if (r < 0)
		goto out;
	if (snap.present && fl_nl_handle_ours(snap.handle) &&
	    (cprev = compose_prev(&snap, kind, scoped, ino, ifindex))) {
		/* Composes: the undo keeps the original root (the first fault's record). */
		const char *id = fl_nl_owner_get(ino, ifindex, FL_NL_SLOT_ROOT);

		u = cJSON_CreateObject();
		if (!u || !cJSON_AddItemToObject(u, "prev", cprev) ||
		    !cJSON_AddStringToObject(u, "fault", kind) ||
		    !cJSON_AddStringToObject(u, "netns", t->netns) ||
		    !cJSON_AddNumberToObject(u, "netns_ino", (double)ino) ||
		    !cJSON_AddStringToObject(u, "ifname", ifname) ||
		    !cJSON_AddNumberToObject(u, "ifindex", ifindex) ||
		    !cJSON_AddStringToObject(u, "composed_with", id ? id : "") ||
		    !cJSON_AddStringToObject(u, "root_kind", snap.kind)) {
			if (!u || !cJSON_GetObjectItemCaseSensitive(u, "prev"))
				cJSON_Delete(cprev);
			r = fl_error_set(err, -ENOMEM, "", "out of memory");
			goto out;
		}
		*undo = u;
		u = NULL;
		r = 0;
		goto out;
	}
	if (snap.present && fl_nl_handle_ours(snap.handle)) {
		const char *id = fl_nl_owner_get(ino, ifindex, FL_NL_SLOT_ROOT),
			   *q = fault_qdisc(kind);
		bool rootq = !strcmp(snap.kind, "netem") || !strcmp(snap.kind, "tbf");
		const char *why =
		    snap.child ? "it holds a netem and a bandwidth fault already"
		    : !q || !rootq
			? "faults that own the root qdisc do not compose (only one netem and one "
			  "bandwidth fault, both unscoped, do)"
		    : scoped ? "only unscoped netem and bandwidth faults compose"
		    : !strcmp(q, snap.kind)
			? "two faults of one kind do not compose"
			: "it was applied by another process (faultline composes "
			  "only with a fault whose record it holds)";
		char names[300] = "";

		if (id)
			snprintf(names, sizeof(names), "%s \"%s\"",
				 strstr(id, "\" and \"") ? "s" : "", id);
		r = fl_error_set(err, -EBUSY, "",
				 "dev %s already carries faultline fault%s (root qdisc %s %x:%s); "
				 "%s: revert it first",
				 ifname, names, snap.kind, snap.handle >> 16,
				 snap.child ? " with tbf fa19: below" : "", why);
		goto out;
	}
	if (snap.present && snap.handle != 0 &&
	    (snap.nchildren > 0 || (snap.nclasses > 0 && user_classes(snap.kind)))) {
		r = fl_error_set(
		    err, -EBUSY, "",
		    "dev %s has a root qdisc %s %x: with %d classes and %d qdiscs below "
		    "it; faultline restores only a root qdisc's own configuration and "
		    "will not replace a tree",
		    ifname, snap.kind, snap.handle >> 16, snap.nclasses, snap.nchildren);
		goto out;
	}
	u = cJSON_CreateObject();
	prev = cJSON_CreateObject();
	if (!u || !prev || !cJSON_AddItemToObject(u, "prev", prev)) {
		cJSON_Delete(prev);
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if (snap.opts && !(hex = hex_encode(snap.opts, snap.opts_len))) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if (!cJSON_AddStringToObject(u, "fault", kind) ||
	    !cJSON_AddStringToObject(u, "netns", t->netns) ||
	    !cJSON_AddNumberToObject(u, "netns_ino",
				     (double)(c ? c->ino : fl_nl_netns_ino(t->netns))) ||
	    !cJSON_AddStringToObject(u, "ifname", ifname) ||
	    !cJSON_AddNumberToObject(u, "ifindex", ifindex) ||
	    !cJSON_AddStringToObject(prev, "kind", snap.present ? snap.kind : "") ||
	    !cJSON_AddNumberToObject(prev, "handle", snap.present ? snap.handle : 0) ||
	    !cJSON_AddStringToObject(prev, "options", hex ? hex : "")) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
	r = 0;
out:
	free(hex);
	cJSON_Delete(u);
	fl_nl_snap_done(&snap);
	fl_nl_sock_put(c, sk);
	return r;
}

struct undo_rec {
	const char *netns, *ifname, *kind, *opts_hex;
	unsigned long long ino;
	uint32_t handle;
	int ifindex;	       /* 0 in records that lack it: look the name up */
	const char *qdisc;     /* the fault's own qdisc kind (netem, tbf), NULL: not composable */
	const char *root_kind; /* composing: the other fault's root the plan found, else NULL */
	const char *id;	       /* the fault id, or NULL */
};

static int undo_read(const cJSON *u, struct undo_rec *rec, struct fl_error *err)
{
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(u, "prev");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(u, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(u, "netns_ino");
	const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(u, "ifname");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(prev, "kind");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(prev, "handle");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(prev, "options");

	/* From the journal on disk: an inode number out of u64 range is no record of ours. */
	if (!cJSON_IsString(ns) || !cJSON_IsNumber(ino) ||
	    !(ino->valuedouble >= 0 && ino->valuedouble < 18446744073709551616.0) ||
	    !cJSON_IsString(ifn) || strlen(ifn->valuestring) >= IF_NAMESIZE ||
	    !cJSON_IsString(kind) || !cJSON_IsNumber(h) || h->valuedouble < 0 ||
	    h->valuedouble > UINT32_MAX || !cJSON_IsString(o))
		return fl_error_set(err, -EINVAL, "", "malformed network undo record");
	rec->netns = ns->valuestring;
	rec->ino = (unsigned long long)ino->valuedouble;
	rec->ifname = ifn->valuestring;
	rec->kind = kind->valuestring;
	rec->handle = (uint32_t)h->valuedouble;
	rec->opts_hex = o->valuestring;
	{
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(u, "ifindex");

		const cJSON *f = cJSON_GetObjectItemCaseSensitive(u, "fault");
		const cJSON *rk = cJSON_GetObjectItemCaseSensitive(u, "root_kind");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "fault_id");

		rec->ifindex =
		    cJSON_IsNumber(ix) && ix->valuedouble > 0 && ix->valuedouble < INT_MAX
			? (int)ix->valuedouble
			: 0;
		rec->qdisc = fault_qdisc(cJSON_IsString(f) ? f->valuestring : NULL);
		rec->root_kind = cJSON_IsString(rk) ? rk->valuestring : NULL;
		rec->id = cJSON_IsString(id) ? id->valuestring : NULL;
	}
	return 0;
}

/*
 * Where a qdisc's dump is not its own input. CoDel keeps times in 1024 ns
 * units and dumps them in microseconds rounded down, so feeding the dump back
 * loses a microsecond per round trip (3ms -> 2999us -> 2998us). For a dumped
 * d, d + 1 maps back to the very same internal value (see the proof in
 * docs/faults/network.md), so the restored qdisc dumps exactly as before.
 */
static void restore_quirks(const char *kind, uint8_t *opts, size_t n)
{
	static const struct {
		const char *kind;
		int attrs[3];
	} codel_times[] = {
	    {"fq_codel", {TCA_FQ_CODEL_TARGET, TCA_FQ_CODEL_INTERVAL, TCA_FQ_CODEL_CE_THRESHOLD}},
	    {"codel", {TCA_CODEL_TARGET, TCA_CODEL_INTERVAL, TCA_CODEL_CE_THRESHOLD}},
	};
	struct nlattr *a;
	int rem;

	for (size_t i = 0; i < FL_ARRAY_SIZE(codel_times); i++) {
		if (strcmp(kind, codel_times[i].kind))
			continue;
		nla_for_each_attr(a, (struct nlattr *)opts, (int)n, rem)
		{
			for (int k = 0; k < 3; k++) {
				uint32_t v;

				if (nla_type(a) != codel_times[i].attrs[k] || nla_len(a) != 4)
					continue;
				memcpy(&v, nla_data(a), 4);
				if (v < UINT32_MAX - 1)
					v++;
				memcpy(nla_data(a), &v, 4);
			}
		}
	}
}

static int restore_prev(struct nl_sock *sk, int ifindex, uint32_t ours, const struct undo_rec *rec,
			struct fl_error *err)
{
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC,
			    .tcm_ifindex = ifindex,
			    .tcm_parent = TC_H_ROOT,
			    .tcm_handle = rec->handle};
	struct nl_msg *msg = NULL;
	uint8_t *opts = NULL;
	size_t n = 0;
	int r;

	if (rec->handle == 0) {
		/*
		 * The kernel's default was there: delete ours (by its handle, so that
		 * only ours can go), and the kernel re-attaches its default.
		 */
		tcm.tcm_handle = ours;
		msg = nlmsg_alloc_simple(RTM_DELQDISC, 0);
	} else {
		r = hex_decode(rec->opts_hex, &opts, &n);
		if (r < 0)
			return fl_error_set(err, r, "", "malformed qdisc options in undo record");
		restore_quirks(rec->kind, opts, n);
		msg = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
	}
	if (!msg || nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    (rec->handle && nla_put_string(msg, TCA_KIND, rec->kind) < 0) ||
	    (rec->handle && n && nla_put(msg, TCA_OPTIONS, (int)n, opts) < 0)) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	r = fl_nl_send_ack(sk, msg,
			   rec->handle ? "restoring the previous root qdisc"
				       : "deleting faultline's root qdisc",
			   err);
out:
	free(opts);
	nlmsg_free(msg);
	return r;
}

/* RTM_NEWQDISC/DELQDISC of kind + raw options at parent/handle. */
static int qdisc_msg(struct nl_sock *sk, int type, int flags, int ifindex, uint32_t parent,
		     uint32_t handle, const char *kind, const uint8_t *opts, size_t n,
		     const char *what, struct fl_error *err)
{
	struct tcmsg tcm = {.tcm_family = AF_UNSPEC,
			    .tcm_ifindex = ifindex,
			    .tcm_parent = parent,
			    .tcm_handle = handle};
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);
	int r;

	if (!msg || nlmsg_append(msg, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
	    (kind && nla_put_string(msg, TCA_KIND, kind) < 0) ||
	    (n && nla_put(msg, TCA_OPTIONS, (int)n, opts) < 0))
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
	else
		r = fl_nl_send_ack(sk, msg, what, err);
	nlmsg_free(msg);
	return r;
}

/*
 * The root fa17: becomes a qdisc of another kind. The kernel changes a qdisc
 * in place only within its kind ("Invalid qdisc name" otherwise), and
 * faultline's root is always fa17:, so this is a delete and an add: for that
 * moment the kernel's default root passes the packets.
 */
static int swap_root(struct nl_sock *sk, int ifindex, const char *kind, const uint8_t *opts,
		     size_t n, struct fl_error *err)
{
	int r = qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT, NULL, NULL, 0,
			  "deleting faultline's root qdisc", err);

	if (r == 0)
		r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, TC_H_ROOT,
			      FL_NL_HANDLE_ROOT, kind, opts, n, "adding the root qdisc", err);
	return r;
}

/*
 * Two composed faults: netem at the root fa17:, tbf below it at fa19:. The
 * bandwidth fault leaves by deleting its tbf (netem then queues in its own
 * tfifo, as before the tbf came); the netem fault leaves by putting the tbf,
 * with its options as the kernel dumps them, in the root's place. Either way
 * the other fault stays as it was, and the last one out restores the original.
 */
static int leave_composed(struct nl_sock *sk, int ifindex, const struct fl_nl_qdisc_snap *snap,
			  const struct undo_rec *rec, struct fl_error *err)
{
	if (rec->qdisc && !strcmp(rec->qdisc, snap->child_kind))
		return qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, FL_NL_HANDLE_ROOT | 1,
				 FL_NL_HANDLE_CHILD, NULL, NULL, 0,
				 "deleting faultline's tbf below the netem root", err);
	if (rec->qdisc && !strcmp(rec->qdisc, snap->kind))
		return swap_root(sk, ifindex, snap->child_kind, snap->child_opts,
				 snap->child_opts_len, err);
	return 0; /* this fault's qdisc is not there any more */
}

/* Put the recorded root back, if the root is (still) ours; never touch others' qdiscs. */
static int restore_if_ours(struct nl_sock *sk, int ifindex, const struct undo_rec *rec,
			   struct fl_error *err)
{
	struct fl_nl_qdisc_snap snap = {0};
	int r;

	/*
	 * The fast path: alone on its root (this process applied it and nothing
	 * composed with it) and the kernel's default was there before.
	 */
	if (rec->handle == 0 && fl_nl_owner_alone(rec->ino, ifindex, FL_NL_SLOT_ROOT, rec->id)) {
		/*
		 * The kernel's default was there: delete the root by faultline's handle.
		 * The kernel itself refuses when the root has another handle (EINVAL) or
		 * is a default one (ENOENT), so no read is needed to leave others' alone.
		 */
		r = restore_prev(sk, ifindex, FL_NL_HANDLE_ROOT, rec, err);
		if (r == -EINVAL || r == -ENOENT || r == -ENODEV) {
			fl_error_init(err);
			r = 0; /* not ours (any more), or the interface is gone */
		}
		return r;
	}
	r = fl_nl_root_snapshot(sk, ifindex, &snap, err);
	if (r < 0 || !snap.present || !fl_nl_handle_ours(snap.handle))
		goto out; /* not ours: nothing to do */
	if (snap.child) {
		r = leave_composed(sk, ifindex, &snap, rec, err);
		goto out;
	}
	/* An unscoped root of the other kind is the other composed fault's, alone now. */
	if (rec->qdisc && strcmp(snap.kind, "htb") && strcmp(snap.kind, rec->qdisc))
		goto out;
	r = restore_prev(sk, ifindex, snap.handle, rec, err);
out:
	fl_nl_snap_done(&snap);
	return r;
}

int fl_nl_root_revert(const cJSON *undo, struct fl_error *err)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(undo, "fault_id");
	struct fl_nl_sock_cache c = {0};
	struct undo_rec rec;
	struct nl_sock *sk = NULL;
	int r;

	r = undo_read(undo, &rec, err);
	if (r < 0)
		return r;
	r = fl_nl_sock_get(&c, rec.netns, &sk, err);
	/* The namespace is gone (or was replaced): nothing of ours can be left in it. */
	if (r == -ENOENT || r == -EINVAL || (r == 0 && c.ino != rec.ino)) {
		fl_error_init(err);
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	/*
	 * ifindexes are allocated cyclically per netns and not reused before
	 * wrapping at 2^31, and only a root in faultline's handle range is ever
	 * touched: the recorded ifindex needs no name lookup. Old records have none.
	 */
	if (!rec.ifindex) {
		r = fl_nl_ifindex(sk, rec.ifname, &rec.ifindex, err);
		if (r == -ENODEV) {
			fl_error_init(err);
			r = 0; /* the interface is gone, and our qdisc with it */
			goto out;
		}
		if (r < 0)
			goto out;
	}
	r = restore_if_ours(sk, rec.ifindex, &rec, err);
out:
	if (r == 0)
		fl_nl_owner_clear(rec.ino, rec.ifindex, FL_NL_SLOT_ROOT,
				  cJSON_IsString(id) ? id->valuestring : NULL);
	fl_nl_sock_cache_done(&c);
	return r;
}

static int add_scope_root(struct nl_sock *sk, int ifindex, struct fl_error *err)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct rtnl_class *cl = rtnl_class_alloc();
	int r;

	if (!q || !cl) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	/* htb with no default class: unmatched traffic takes htb's direct queue, unshaped. */
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), FL_NL_HANDLE_ROOT);
	r = rtnl_tc_set_kind(TC_CAST(q), "htb");
	if (r == 0)
		r = rtnl_htb_set_defcls(q, 0);
	if (r == 0)
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	if (r < 0) {
		r = fl_error_set(err, fl_nl_errno(r), "", "adding htb root %x:: %s",
				 FL_NL_HANDLE_ROOT >> 16, nl_geterror(r));
		goto out;
	}
	rtnl_tc_set_ifindex(TC_CAST(cl), ifindex);
	rtnl_tc_set_parent(TC_CAST(cl), FL_NL_HANDLE_ROOT);
	rtnl_tc_set_handle(TC_CAST(cl), FL_NL_CLASS_MATCH);
	r = rtnl_tc_set_kind(TC_CAST(cl), "htb");
	if (r == 0)
		r = rtnl_htb_set_rate64(cl, MATCH_RATE);
	if (r == 0)
		r = rtnl_htb_set_ceil64(cl, MATCH_RATE);
	if (r == 0)
		r = rtnl_htb_set_quantum(cl, 60000);
	/* libnl's default buffer is rate/HZ + mtu, ~0 with high-resolution timers: 1 ms. */
	if (r == 0)
		r = rtnl_htb_set_rbuffer(cl, (uint32_t)(MATCH_RATE / 1000));
	if (r == 0)
		r = rtnl_htb_set_cbuffer(cl, (uint32_t)(MATCH_RATE / 1000));
	if (r == 0)
		r = rtnl_class_add(sk, cl, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		r = fl_error_set(err, fl_nl_errno(r), "", "adding htb class %x:%x: %s",
				 FL_NL_CLASS_MATCH >> 16, FL_NL_CLASS_MATCH & 0xffff,
				 nl_geterror(r));
out:
	rtnl_class_put(cl);
	rtnl_qdisc_put(q);
	return r;
}

int fl_nl_root_apply(const struct fl_nl_match *m, fl_nl_leaf_build build, const void *spec,
		     struct fl_nl_sock_cache *c, const char *id, cJSON *undo, struct fl_error *err)
{
	struct fl_nl_qdisc_snap snap = {0};
	struct nl_msg *msg = NULL;
	struct nl_sock *sk = NULL;
	struct undo_rec rec;
	int ifindex, r;
	bool touched = false;

	r = undo_read(undo, &rec, err);
	if (r < 0)
		return r;
	r = fl_nl_sock_get(c, rec.netns, &sk, err);
	if (r < 0)
		return r;
	/* The plan resolved the interface on this very socket; a stale record is looked up. */
	ifindex = rec.ifindex;
	if (!ifindex && (r = fl_nl_ifindex(sk, rec.ifname, &ifindex, err)) < 0)
		goto out;
	if (rec.handle == 0 && !rec.root_kind && (!m || !m->any)) {
		/*
		 * The plan found the kernel's default root. An add without NLM_F_REPLACE
		 * makes the kernel itself check that it still is: it grafts over a
		 * default root only, and refuses (EEXIST, nothing changed) any root with
		 * a handle, someone's or ours, so no re-read is needed here.
		 */
		r = build(spec, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT, NLM_F_CREATE | NLM_F_EXCL,
			  &msg, err);
		if (r == 0)
			r = fl_nl_send_ack(sk, msg, "adding the root qdisc", err);
		if (r == -EEXIST)
			r = fl_error_set(err, -EBUSY, "",
					 "the root qdisc of %s changed since the plan (was the "
					 "kernel's default %s, now one with a handle)",
					 rec.ifname, rec.kind[0] ? rec.kind : "none");
		goto out;
	}
	r = fl_nl_root_snapshot(sk, ifindex, &snap, err);
	if (r < 0)
		goto out;
	if (rec.root_kind) {
		/* Composing with the fault that holds the root (see compose_prev). */
		if (!snap.present || snap.handle != FL_NL_HANDLE_ROOT || snap.child ||
		    snap.nchildren || strcmp(snap.kind, rec.root_kind) || !rec.qdisc) {
			r = fl_error_set(err, -EBUSY, "",
					 "the root qdisc of %s changed since the plan (was "
					 "faultline's %s, now %s)",
					 rec.ifname, rec.root_kind,
					 snap.present ? snap.kind : "none");
			goto out;
		}
		if (!strcmp(rec.qdisc, "tbf")) { /* below the netem root */
			r = build(spec, ifindex, FL_NL_HANDLE_ROOT | 1, FL_NL_HANDLE_CHILD,
				  NLM_F_CREATE | NLM_F_EXCL, &msg, err);
			if (r == 0)
				r = fl_nl_send_ack(sk, msg, "adding the tbf below the netem root",
						   err);
			goto out;
		}
		/*
		 * netem over a tbf root: netem takes the root (a delete and an add, see
		 * swap_root), the tbf goes below it with its options as the kernel dumped them.
		 */
		r = build(spec, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT, NLM_F_CREATE | NLM_F_EXCL,
			  &msg, err);
		if (r == 0)
			r = qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT,
				      NULL, NULL, 0, "deleting the tbf root to put netem above it",
				      err);
		if (r < 0)
			goto out; /* nothing changed */
		r = fl_nl_send_ack(sk, msg, "putting netem at the root", err);
		if (r == 0)
			r = qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
				      FL_NL_HANDLE_ROOT | 1, FL_NL_HANDLE_CHILD, snap.kind,
				      snap.opts, snap.opts_len,
				      "putting the tbf below the netem root", err);
		if (r < 0) { /* the tbf alone at the root again, as it was */
			struct fl_error e2;

			fl_error_init(&e2);
			(void)qdisc_msg(sk, RTM_DELQDISC, 0, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT,
					NULL, NULL, 0, "deleting netem", &e2);
			(void)qdisc_msg(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex,
					TC_H_ROOT, FL_NL_HANDLE_ROOT, snap.kind, snap.opts,
					snap.opts_len, "restoring the tbf", &e2);
		}
		goto out;
	}
	if ((snap.present ? snap.handle : 0) != rec.handle ||
	    strcmp(snap.present ? snap.kind : "", rec.kind)) {
		r = fl_error_set(err, -EBUSY, "",
				 "the root qdisc of %s changed since the plan (was %s, now %s)",
				 rec.ifname, rec.kind, snap.present ? snap.kind : "none");
		goto out;
	}
	touched = true;
	if (!m || !m->any) {
		r = build(spec, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT, NLM_F_CREATE | NLM_F_REPLACE,
			  &msg, err);
		if (r == 0)
			r = fl_nl_send_ack(sk, msg, "replacing the root qdisc", err);
		goto out;
	}
	r = add_scope_root(sk, ifindex, err);
	if (r == 0)
		r = build(spec, ifindex, FL_NL_CLASS_MATCH, FL_NL_HANDLE_LEAF,
			  NLM_F_CREATE | NLM_F_EXCL, &msg, err);
	if (r == 0)
		r = fl_nl_send_ack(sk, msg, "adding the fault qdisc", err);
	if (r == 0)
		r = fl_nl_match_install(sk, ifindex, FL_NL_HANDLE_ROOT, FL_NL_CLASS_MATCH, m, err);
out:
	if (r == 0)
		fl_nl_owner_set(rec.ino, ifindex, FL_NL_SLOT_ROOT, id,
				cJSON_GetObjectItemCaseSensitive(undo, "prev"));
	nlmsg_free(msg);
	fl_nl_snap_done(&snap);
	if (r < 0 && touched) {
		struct fl_error e2;

		fl_error_init(&e2);
		(void)restore_if_ours(sk, ifindex, &rec, &e2); /* err keeps the first cause */
	}
	fl_nl_sock_put(c, sk);
	return r;
}

int fl_nl_root_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	struct undo_rec rec;
	char p[300];
	int r;

	r = undo_read(undo, &rec, NULL);
	if (r < 0)
		return r;
	fl_nl_netns_prefix(rec.netns, p, sizeof(p));
	if (rec.root_kind && rec.qdisc) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(undo, "composed_with");

		r = fl_buf_printf(
		    out,
		    "composes with faultline fault \"%s\" (%s at the root): netem stays at the "
		    "root fa17:, tbf goes below it (%stc qdisc add dev %s parent %x:1 handle %x: "
		    "tbf ...)\n"
		    "on revert: %s; the last of the two restores the original root\n",
		    cJSON_IsString(w) ? w->valuestring : "", rec.root_kind, p, rec.ifname,
		    FL_NL_HANDLE_ROOT >> 16, FL_NL_HANDLE_CHILD >> 16,
		    !strcmp(rec.qdisc, "tbf") ? "the tbf below netem is deleted"
					      : "the tbf takes the root's place again");
		if (r < 0)
			return r;
	}
	if (rec.handle == 0)
		return fl_buf_printf(out,
				     "on revert: %stc qdisc del dev %s root handle %x: (the "
				     "kernel's default root qdisc%s%s%s comes back)\n",
				     p, rec.ifname, FL_NL_HANDLE_ROOT >> 16,
				     rec.kind[0] ? ", " : "", rec.kind, rec.kind[0] ? "," : "");
	return fl_buf_printf(out,
			     "on revert: %stc qdisc replace dev %s root handle %x: %s (its "
			     "recorded options, %zu bytes, put back as they were)\n",
			     p, rec.ifname, rec.handle >> 16, rec.kind, strlen(rec.opts_hex) / 2);
}
