/*
 * Netlink helpers shared by the network faults (netem, bandwidth, partition):
 * the apply side, over the spec side of faults/spec/nl_spec.h. Not part of
 * any public API: faults/ only. All libnl calls live in faults/.
 *
 *   nl_ns.c      enter/leave a network namespace (name, path or PID)
 *   nl_link.c    sockets, libnl error mapping, interface and route resolution, ifb devices
 *   nl_qdisc.c   root qdisc snapshot/restore and the shared root-fault engine
 *   nl_scope.c   "match" scope: classful htb root + u32 filters
 *   nl_netem.c   netem message building (libnl + the attributes libnl lacks)
 *   nl_bpf.c     clsact + cls_bpf filters (the partition's program: spec/nl_bpf_prog.c)
 *   nl_multi.c   a network fault over several pods' namespaces
 *   nl_probe.c   kernel capability probes in a throwaway namespace
 *   nl_ingress.c ingress faults: ifb device + clsact ingress u32/mirred redirect
 *   nl_fault.c   admit a target's namespace (the agent's policy), then egress (nl_qdisc.c)
 *                or ingress (nl_ingress.c): the switch netem and bandwidth use
 *   nl_owner.c   which fault id holds an interface's root/ingress (for refusals)
 *   nl_measure.c "measure": TCP connects to a peer from the netns, before and after
 *   nl_effect.c  the effect read back from the kernel (and measured)
 */
#ifndef FL_FAULTS_NL_COMMON_H
#define FL_FAULTS_NL_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <linux/pkt_sched.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "faults/spec/nl_spec.h"

struct nl_msg;
struct fl_fault_ctx;

/*
 * A clsact qdisc has a fixed handle, so faultline marks the one it adds with
 * a filter of its own on the ingress hook: pref 0xf9, for an ethertype no
 * packet carries (never evaluated). Any fault that finds the mark knows the
 * clsact is faultline's, and the last one out removes it (fl_nl_clsact_release).
 */
#define FL_NL_PREF_MARK	 0xf9
#define FL_NL_MARK_PROTO 0xfa17

/* ---- nl_ns.c ---- */

struct fl_nl_ns {
	int orig_fd; /* this thread's netns before entering, -1 when not entered */
};

/* A network namespace as the kernel knows it: its nsfs file's device and inode. */
struct fl_nl_ns_id {
	unsigned long long dev, ino;
};

/*
 * Open the network namespace a client-named path resolves to, never blocking:
 * O_PATH first, then only an nsfs file of type net is opened (-EINVAL for
 * anything else: a FIFO, a device, a regular file). Returns the descriptor.
 */
int fl_nl_ns_open(const char *path, struct fl_nl_ns_id *id, struct fl_error *err) FL_WUR;
/* The calling thread's own network namespace. */
int fl_nl_ns_self(struct fl_nl_ns_id *id) FL_WUR;
/* Enter the netns of fd (-1: stay); remember the current one. */
int fl_nl_ns_enter_fd(int fd, struct fl_nl_ns *ns, struct fl_error *err) FL_WUR;
/* Enter the netns at `path` ("" or NULL: stay); remember the current one. */
int fl_nl_ns_enter(const char *path, struct fl_nl_ns *ns, struct fl_error *err) FL_WUR;
/* Go back to the netns saved by fl_nl_ns_enter; safe to call twice. */
void fl_nl_ns_leave(struct fl_nl_ns *ns);

/* ---- nl_link.c ---- */

/*
 * A socket for `netns` ("" = ours): c's when it is for the same path and the
 * path still names that namespace (else -EAGAIN: it changed since the plan),
 * else one from the pool or a new one, kept in c when c is given. The path is
 * opened once (fl_nl_ns_open) and that descriptor entered. -ENOENT when the
 * netns is gone, -EINVAL when the path names no network namespace.
 */
int fl_nl_sock_get(struct fl_nl_sock_cache *c, const char *netns, struct nl_sock **sk,
		   struct fl_error *err) FL_WUR;
/* Give a socket back: kept when it is c's, freed otherwise. */
void fl_nl_sock_put(struct fl_nl_sock_cache *c, struct nl_sock *sk);
/* Release c's socket to the process's small per-netns pool (nl_link.c); NULL is fine. */
void fl_nl_sock_cache_done(struct fl_nl_sock_cache *c);
/* Inode of a network namespace file (fl_nl_ns_open), 0 when it is none. */
unsigned long long fl_nl_netns_ino(const char *path);

/* Map a libnl -NLE_* code to -errno. */
int fl_nl_errno(int nlerr);
/* Connect a NETLINK_ROUTE socket in the current netns. */
int fl_nl_sock_open(struct nl_sock **sk, struct fl_error *err) FL_WUR;
struct nl_cb;
/* A private copy of the socket's callbacks (libnl's getter hands out a reference). */
struct nl_cb *fl_nl_cb_clone(struct nl_sock *sk);
/* Send a built message, wait for the kernel's ACK; -errno with nl_geterror text. */
int fl_nl_send_ack(struct nl_sock *sk, struct nl_msg *msg, const char *what,
		   struct fl_error *err) FL_WUR;
/* Interface index by name; -ENODEV when absent. */
int fl_nl_ifindex(struct nl_sock *sk, const char *ifname, int *ifindex,
		  struct fl_error *err) FL_WUR;
/* The interface the kernel would use to reach `dst` (RTM_GETROUTE, IPv4 or IPv6). */
int fl_nl_route_ifindex(struct nl_sock *sk, const struct fl_nl_cidr *dst, int *ifindex,
			char *ifname, struct fl_error *err) FL_WUR;
/* Resolve a target to (ifindex, ifname) in the current netns. */
int fl_nl_target_resolve(struct nl_sock *sk, const struct fl_nl_target *t, int *ifindex,
			 char *ifname, struct fl_error *err) FL_WUR;
/* ip link add NAME type ifb + up; its ifindex. */
int fl_nl_ifb_add(struct nl_sock *sk, const char *name, int *ifindex, struct fl_error *err) FL_WUR;
/* ip link del NAME; absent is success. */
int fl_nl_link_del(struct nl_sock *sk, const char *name, struct fl_error *err) FL_WUR;

/* ---- nl_qdisc.c ---- */

/* A root qdisc as the kernel reports it, with its options kept raw. */
struct fl_nl_qdisc_snap {
	bool present;	 /* a root qdisc exists */
	uint32_t handle; /* 0 for the kernel's default qdisc */
	char kind[32];
	uint8_t *opts; /* raw TCA_OPTIONS payload, or NULL */
	size_t opts_len;
	int nclasses;  /* classes on the device */
	int nchildren; /* qdiscs grafted below the root (handle != 0) */
	bool child;    /* faultline's composed child fa19: below the root fa17: */
	char child_kind[32];
	uint8_t *child_opts;
	size_t child_opts_len;
};

/* Read the root qdisc of an interface. */
int fl_nl_root_snapshot(struct nl_sock *sk, int ifindex, struct fl_nl_qdisc_snap *s,
			struct fl_error *err) FL_WUR;
void fl_nl_snap_done(struct fl_nl_qdisc_snap *s);

/* Builds the fault's own qdisc message (RTM_NEWQDISC) at `parent` with `handle`. */
typedef int (*fl_nl_leaf_build)(const void *spec, int ifindex, uint32_t parent, uint32_t handle,
				int flags, struct nl_msg **msg, struct fl_error *err);

/*
 * The engine shared by faults that own the root qdisc (netem, bandwidth).
 * plan: records {netns, ifname, ifindex, prev root qdisc (kind, handle, raw options)};
 * refuses when the root is a classful root with classes, or already faultline's,
 * except that one unscoped netem and one unscoped bandwidth fault compose
 * (netem at the root fa17:, tbf below it at fa19:; the second fault's record
 * keeps the first one's original root, and `root_kind`, `composed_with`).
 * apply: leaf qdisc at the root, or (with a match) htb root + class + leaf + u32 filters.
 * revert: restores the recorded root qdisc (or deletes ours when the kernel
 * default was there); idempotent; a gone netns or interface is nothing to do.
 */
int fl_nl_root_plan(const struct fl_nl_target *t, const char *kind, bool scoped,
		    struct fl_nl_sock_cache *c, cJSON **undo, struct fl_error *err) FL_WUR;
int fl_nl_root_apply(const struct fl_nl_match *m, fl_nl_leaf_build build, const void *spec,
		     struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
		     struct fl_error *err) FL_WUR;
int fl_nl_root_revert(const cJSON *undo, struct fl_error *err);
/* "on revert: tc qdisc replace dev veth0 root handle 1: fq_codel (...)" from the undo record. */
int fl_nl_root_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;

/* ---- nl_scope.c ---- */

/* Add the u32 filters for `m` on `parent`, steering to `classid` (one per dst/src pair). */
int fl_nl_match_install(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
			const struct fl_nl_match *m, struct fl_error *err) FL_WUR;
/*
 * On the clsact ingress hook: u32 filters for `m` (every packet when m is NULL
 * or empty) with a mirred egress redirect to `to_ifindex` (faultline's ifb).
 */
int fl_nl_match_install_redirect(struct nl_sock *sk, int ifindex, const struct fl_nl_match *m,
				 int to_ifindex, struct fl_error *err) FL_WUR;

/* ---- nl_netem.c ---- */

/* Directory list searched for iproute2's distribution tables. */
extern const char *const fl_nl_dist_dirs[];
/* Load iproute2's table for `d` (a .dist file); *data is malloc'ed. */
int fl_nl_dist_load(enum fl_nl_dist d, int16_t **data, size_t *len, struct fl_error *err) FL_WUR;
/* Build RTM_NEWQDISC for netem with every parameter (libnl + nla_put for the rest). */
int fl_nl_netem_build(const struct fl_nl_netem *n, int ifindex, uint32_t parent, uint32_t handle,
		      int flags, struct nl_msg **msg, struct fl_error *err) FL_WUR;
/* Parse an RTM_NEWQDISC netem message back (libnl's parser + the extra attributes). */
int fl_nl_netem_parse(struct nl_msg *msg, struct fl_nl_netem *n, size_t *dist_len,
		      struct fl_error *err) FL_WUR;

/* ---- nl_bpf.c ---- */

/* Is there a clsact qdisc (1), a plain ingress qdisc (2) or neither (0)? */
int fl_nl_clsact_state(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
/* tc qdisc add dev X clsact, marked as faultline's (FL_NL_PREF_MARK) / tc qdisc del dev X clsact */
int fl_nl_clsact_add(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
int fl_nl_clsact_del(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
/*
 * After a fault took its own filters off: remove the clsact when it is
 * faultline's (this fault added it -- `created`, from its record -- or it
 * carries faultline's mark, whichever fault added it) and no filter but the
 * mark is left on it. Someone else's clsact is never removed. Absent is fine.
 */
int fl_nl_clsact_release(struct nl_sock *sk, int ifindex, bool created,
			 struct fl_error *err) FL_WUR;
/* tc filter add dev X {ingress|egress} pref FL_NL_PREF handle 1 bpf da bytecode ... */
int fl_nl_bpf_filter_add(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook,
			 const struct sock_filter *prog, int n, struct fl_error *err) FL_WUR;
/* Delete faultline's filter on a hook; absent is success. */
int fl_nl_bpf_filter_del(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook,
			 struct fl_error *err) FL_WUR;
/* Delete every filter at `pref` on a clsact hook (any protocol); absent is success. */
int fl_nl_filter_del_pref(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook, int pref,
			  struct fl_error *err) FL_WUR;
/* Number of filters on a clsact hook (any pref), -errno on error. */
int fl_nl_filter_count(struct nl_sock *sk, int ifindex, enum fl_nl_hook hook, int pref);

/* ---- nl_owner.c ---- */

enum fl_nl_slot { FL_NL_SLOT_ROOT, FL_NL_SLOT_INGRESS, FL_NL_SLOT__MAX };

/* Remember that fault `id` holds (netns inode, ifindex, slot), with the root's original `prev`. */
void fl_nl_owner_set(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id,
		     const cJSON *prev);
/* The holders' ids ("a" or "a\" and \"b"; a thread-local copy), or NULL when none here. */
const char *fl_nl_owner_get(unsigned long long ino, int ifindex, enum fl_nl_slot slot);
/* A copy of the holders' original root record (caller frees), or NULL. */
cJSON *fl_nl_owner_prev(unsigned long long ino, int ifindex, enum fl_nl_slot slot);
/* Is `id` the one and only holder? */
bool fl_nl_owner_alone(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id);
/* Forget `id` (NULL: every holder). */
void fl_nl_owner_clear(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id);

/* ---- nl_measure.c ---- */

/*
 * Up to 3 non-blocking TCP connects to peer:port from a socket made inside
 * the namespace at `netns` ("": ours; `ino` not 0: it must still be that
 * one), one after another, 1 s in all; the first unanswered one ends it.
 * A SYN-ACK or an RST answers. Never fails: what went wrong is out->err.
 */
void fl_nl_measure_run(const char *netns, unsigned long long ino, const struct fl_nl_cidr *peer,
		       uint16_t port, struct fl_nl_rtt *out);
/*
 * After a plan made `undo` (its netns, netns_ino): measure before the fault,
 * once per spec (`rtt` keeps it for a second plan), and record it as
 * "measure": {"peer", "port", "before": {...}}. Nothing when m is off.
 */
int fl_nl_measure_plan(const struct fl_nl_measure *m, struct fl_nl_rtt *rtt, cJSON *undo) FL_WUR;
/*
 * The record's "measure" after the fault (once per record in this process):
 * added to the effect o as "measured", with took_effect turned false when the
 * measure contradicts the read-back (a partitioned peer that still answers, a
 * netem delay the round trip does not show).
 */
void fl_nl_measure_effect(const cJSON *undo, cJSON *o);
/*
 * A budget for every measure this thread makes until it is cleared (ms 0):
 * a fault on many pods measures each one in turn, and all of them together
 * get ms. A measure that finds it spent sends nothing: tries 0, err
 * -ECANCELED, reported as not measured.
 */
void fl_nl_measure_budget(unsigned ms);
#define FL_NL_MEASURE_PODS_MS 2000 /* all the pods of one fault, per phase */

/* ---- nl_ingress.c ---- */

/* Is this undo record an ingress fault's? */
bool fl_nl_undo_is_ingress(const cJSON *undo);
/*
 * The ingress engine of netem and bandwidth ("direction": "ingress").
 * plan: probes ifb + mirred, resolves the interface, refuses a plain ingress
 * qdisc, a second ingress fault (naming it) or an existing ifb of that name;
 * records what revert needs. apply: ifb + the fault's qdisc as its root,
 * clsact when absent, then the u32 + mirred redirect filters (`m` scoped, or
 * every packet). revert: removes exactly those, idempotently.
 */
int fl_nl_ingress_plan(const struct fl_nl_target *t, const char *kind, struct fl_nl_sock_cache *c,
		       cJSON **undo, struct fl_error *err) FL_WUR;
int fl_nl_ingress_apply(const struct fl_nl_match *m, fl_nl_leaf_build build, const void *spec,
			struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
			struct fl_error *err) FL_WUR;
int fl_nl_ingress_revert(const cJSON *undo, struct fl_error *err);
int fl_nl_ingress_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;

/* ---- nl_fault.c ---- */

/*
 * The first thing a network plan does: open the target's namespace (into c,
 * which plan and apply then use: what is checked is what is changed) and
 * ask ctx's policy about it (fl_fault_ctx.allow_netns), before anything in it
 * is read. A "pid" must name a process (not one of its threads) and, with
 * "start", the process that started then. Errors carry the field that named
 * the namespace.
 */
int fl_nl_target_admit(const struct fl_nl_target *t, const struct fl_fault_ctx *ctx,
		       struct fl_nl_sock_cache *c, struct fl_error *err) FL_WUR;
/*
 * netem and bandwidth: egress (the root qdisc engine above) or ingress (ifb);
 * plan first admits the namespace (fl_nl_target_admit), then records the
 * fault id (ctx's, for refusals naming it) and the interface it resolved in
 * t->resolved (so a dry run names the real device).
 */
int fl_nl_fault_plan(struct fl_nl_target *t, const char *kind, bool ingress, bool scoped,
		     const struct fl_fault_ctx *ctx, struct fl_nl_sock_cache *c, cJSON **undo,
		     struct fl_error *err) FL_WUR;
int fl_nl_fault_apply(const struct fl_nl_match *m, bool ingress, fl_nl_leaf_build build,
		      const void *spec, struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
		      struct fl_error *err) FL_WUR;
int fl_nl_fault_revert(const cJSON *undo, struct fl_error *err);
int fl_nl_fault_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;

/* ---- nl_multi.c ---- */

struct fl_fault_ops;
struct fl_pod_netns_ent;

/* The kinds' one-namespace ops, which the registered ones wrap. */
extern const struct fl_fault_ops fl_nl_netem_one, fl_nl_bandwidth_one, fl_nl_partition_one;

/*
 * A network kind's ops around its one-namespace ops `one`: a pod target that
 * matches several pods on this node gets the fault in each pod's network
 * namespace, all or nothing (see nl_multi.c for the undo record). Any other
 * target is `one`'s, unchanged.
 */
int fl_nl_multi_parse(const struct fl_fault_ops *one, const cJSON *target, const cJSON *params,
		      void **spec, struct fl_error *err) FL_WUR;
/* The same for pods already listed (fl_pod_target_netns_all): one spec per netns. */
int fl_nl_multi_parse_pods(const struct fl_fault_ops *one, const cJSON *target, const cJSON *params,
			   const struct fl_pod_netns_ent *pods, size_t npods, void **spec,
			   struct fl_error *err) FL_WUR;
int fl_nl_multi_plan(void *spec, const struct fl_fault_ctx *ctx, cJSON **undo,
		     struct fl_error *err) FL_WUR;
int fl_nl_multi_apply(void *spec, const struct fl_fault_ctx *ctx, cJSON *undo,
		      struct fl_error *err) FL_WUR;
int fl_nl_multi_revert(const struct fl_fault_ops *one, const cJSON *undo, struct fl_error *err);
int fl_nl_multi_describe(const void *spec, struct fl_buf *out) FL_WUR;
int fl_nl_multi_describe_plan(const struct fl_fault_ops *one, const cJSON *undo,
			      struct fl_buf *out) FL_WUR;
void fl_nl_multi_free(void *spec);

/*
 * A network kind K's registered ops, fl_fault_K: nl_multi.c around its
 * one-namespace ops fl_nl_K_one (same kind, spec and `available`).
 */
/*
 * nl_effect.c: the fault's effect read back from the kernel (fl_fault_ops.effect):
 * the record's root qdiscs in faultline's handle range, per pod namespace for a
 * multi record.
 */
int fl_nl_multi_effect(const cJSON *undo, cJSON **out);

#define FL_NL_MULTI_OPS(K, available_fn)                                                           \
	static int K##_multi_parse(const cJSON *target, const cJSON *params, void **spec,          \
				   struct fl_error *err)                                           \
	{                                                                                          \
		return fl_nl_multi_parse(&fl_nl_##K##_one, target, params, spec, err);             \
	}                                                                                          \
	static int K##_multi_revert(const cJSON *undo, struct fl_error *err)                       \
	{                                                                                          \
		return fl_nl_multi_revert(&fl_nl_##K##_one, undo, err);                            \
	}                                                                                          \
	static int K##_multi_describe_plan(const cJSON *undo, struct fl_buf *out)                  \
	{                                                                                          \
		return fl_nl_multi_describe_plan(&fl_nl_##K##_one, undo, out);                     \
	}                                                                                          \
	const struct fl_fault_ops fl_fault_##K = {                                                 \
	    .kind = #K,                                                                            \
	    .spec = &fl_fault_spec_##K,                                                            \
	    .parse = K##_multi_parse,                                                              \
	    .plan = fl_nl_multi_plan,                                                              \
	    .apply = fl_nl_multi_apply,                                                            \
	    .revert = K##_multi_revert,                                                            \
	    .describe = fl_nl_multi_describe,                                                      \
	    .describe_plan = K##_multi_describe_plan,                                              \
	    .effect = fl_nl_multi_effect,                                                          \
	    .available = available_fn,                                                             \
	    .free = fl_nl_multi_free,                                                              \
	}

/* ---- nl_probe.c ---- */

enum fl_nl_cap {
	FL_NL_CAP_NETEM,
	FL_NL_CAP_TBF,
	FL_NL_CAP_HTB,
	FL_NL_CAP_U32,
	FL_NL_CAP_CLSACT_BPF,
	FL_NL_CAP_IFB_MIRRED,
	FL_NL_CAP__MAX
};

/*
 * Can this kernel do `cap`? Tries it for real on the loopback device of a
 * throwaway network namespace (a short-lived thread that unshares), so the
 * kernel may autoload the module. Fills `why` when not.
 */
bool fl_nl_probe(enum fl_nl_cap cap, char *why, size_t whylen);

#endif
