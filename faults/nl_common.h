/*
 * Netlink helpers shared by the network faults (netem, bandwidth, partition).
 * Not part of any public API: faults/ only. All libnl calls live in faults/.
 *
 *   nl_ns.c      enter/leave a network namespace (name, path or PID)
 *   nl_target.c  the "target" object: netns + interface (or route to an address)
 *   nl_units.c   rates, sizes, percentages and IPv4 CIDRs as people write them
 *   nl_link.c    sockets, libnl error mapping, interface and route resolution, ifb devices
 *   nl_qdisc.c   root qdisc snapshot/restore and the shared root-fault engine
 *   nl_scope.c   "match" scope: classful htb root + u32 filters
 *   nl_netem.c   netem message building (libnl + the attributes libnl lacks)
 *   nl_probe.c   kernel capability probes in a throwaway namespace
 *   nl_ingress.c ingress faults: ifb device + clsact ingress u32/mirred redirect
 *   nl_fault.c   egress (nl_qdisc.c) or ingress (nl_ingress.c): the switch netem and bandwidth use
 *   nl_owner.c   which fault id holds an interface's root/ingress (for refusals)
 *
 * Ownership: every qdisc faultline creates has a handle major in
 * [FL_NL_HANDLE_ROOT, FL_NL_HANDLE_LEAF]; filters it adds use FL_NL_PREF.
 */
#ifndef FL_FAULTS_NL_COMMON_H
#define FL_FAULTS_NL_COMMON_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <linux/pkt_sched.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

struct nl_sock;
struct nl_msg;

#define FL_NL_HANDLE_ROOT 0xfa170000U /* root qdisc "fa17:" */
#define FL_NL_HANDLE_LEAF 0xfa180000U /* fault qdisc below the scope class "fa18:" */
#define FL_NL_HANDLE_CHILD                                                                         \
	0xfa190000U		      /* tbf below a netem root when two faults compose "fa19:"    \
				       */
#define FL_NL_CLASS_MATCH 0xfa170001U /* htb class "fa17:1" that matched traffic enters */
#define FL_NL_PREF	  0xfa	      /* filter preference of faultline's filters */
#define FL_NL_PREF6	  0xfb	      /* its IPv6 scope filters (one protocol per pref) */
#define FL_NL_PREF_REDIR  0xfc	      /* ingress redirect filters (IPv4, or all) */
#define FL_NL_PREF_REDIR6 0xfd	      /* ingress redirect filters (IPv6) */
#define FL_NL_CIDR_MAX	  64	      /* addresses/CIDRs per match or partition */

/* True when a handle lies in faultline's own range. */
static inline bool fl_nl_handle_ours(uint32_t h)
{
	return (h & 0xffff0000U) == FL_NL_HANDLE_ROOT || (h & 0xffff0000U) == FL_NL_HANDLE_LEAF ||
	       (h & 0xffff0000U) == FL_NL_HANDLE_CHILD;
}

/* ---- nl_ns.c ---- */

struct fl_nl_ns {
	int orig_fd; /* this thread's netns before entering, -1 when not entered */
};

/* Enter the netns at `path` ("" or NULL: stay); remember the current one. */
int fl_nl_ns_enter(const char *path, struct fl_nl_ns *ns, struct fl_error *err) FL_WUR;
/* Go back to the netns saved by fl_nl_ns_enter; safe to call twice. */
void fl_nl_ns_leave(struct fl_nl_ns *ns);

/* ---- nl_units.c ---- */

struct fl_nl_cidr {
	struct in_addr addr;   /* IPv4, network byte order, host bits cleared */
	struct in6_addr addr6; /* IPv6 (family AF_INET6), host bits cleared */
	uint8_t len;	       /* prefix length 0..32 (IPv4), 0..128 (IPv6) */
	uint8_t family;	       /* AF_INET6, or AF_INET / 0 for IPv4 */
};

/* True for an IPv6 address or network. */
static inline bool fl_nl_cidr_is6(const struct fl_nl_cidr *c)
{
	return c->family == AF_INET6;
}

/*
 * Grammar:  percent := number "%"   |  JSON number (a percentage, 0..100)
 * Into netem's probability scale: round(percent / 100 * UINT32_MAX).
 */
int fl_nl_percent_parse(const cJSON *v, uint32_t *prob, double *pct) FL_WUR;
/* netem probability back to percent. */
double fl_nl_prob_pct(uint32_t prob);
/*
 * Grammar:  rate := number unit   unit := bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps
 * (SI, x1000; "bps" units are bytes per second as in tc(8)); a bare number is bits/s.
 * Result in bytes per second.
 */
int fl_nl_rate_parse(const char *s, uint64_t *bytes_per_s) FL_WUR;
/* Grammar: size := number [b|k|kb|m|mb|g|gb]  (binary, x1024, as in tc(8)). Bytes. */
int fl_nl_size_parse(const char *s, uint64_t *bytes) FL_WUR;
/*
 * Grammar: cidr := a.b.c.d ["/" 0..32] | ipv6 ["/" 0..128]
 * (inet_pton forms; host bits must be zero: -EDOM).
 */
int fl_nl_cidr_parse(const char *s, struct fl_nl_cidr *out) FL_WUR;
/* Format helpers in tc(8) vocabulary. */
const char *fl_nl_rate_fmt(uint64_t bytes_per_s, char *buf, size_t len);
const char *fl_nl_size_fmt(uint64_t bytes, char *buf, size_t len);
const char *fl_nl_pct_fmt(uint32_t prob, char *buf, size_t len);
const char *fl_nl_cidr_fmt(const struct fl_nl_cidr *c, char *buf, size_t len);

/* ---- nl_target.c ---- */

struct fl_nl_target {
	char netns[256];	  /* netns path ("" = the agent's own) */
	char netns_label[300];	  /* how the user named it, for describe */
	char ifname[IF_NAMESIZE]; /* "" when chosen by route */
	bool has_route_to;
	struct fl_nl_cidr route_to; /* interface = the one that routes here (a host) */
	char resolved[IF_NAMESIZE]; /* set by plan: the interface it resolved to */
};

/*
 * target := { ["netns": NAME | "netns_path": PATH | "pid": N],
 *             ("interface": IFNAME | "route_to": IPV4 | IPV6) }
 * Exactly one of netns/netns_path/pid at most; interface or route_to (or a
 * `default_route_to` from the fault's own params) must say where.
 */
int fl_nl_target_parse(const cJSON *target, const struct fl_nl_cidr *default_route_to,
		       struct fl_nl_target *t, struct fl_error *err) FL_WUR;
/* "ip netns exec NAME " / "nsenter --net=PATH " for a netns path (an undo record's). */
void fl_nl_netns_prefix(const char *netns, char *buf, size_t len);
/* "ip netns exec NAME " / "nsenter --net=PATH " prefix, or "". */
const char *fl_nl_target_prefix(const struct fl_nl_target *t);
/* "veth1", the interface plan resolved, or "<dev routing to 10.0.0.2>" before a plan. */
const char *fl_nl_target_dev(const struct fl_nl_target *t, char *buf, size_t len);

/* ---- nl_link.c ---- */

/*
 * A netlink socket opened inside a target netns. A socket keeps working in
 * the netns it was created in whatever the thread does later, so a fault's
 * spec keeps one from plan to apply (released when the spec is freed): the
 * netns is entered (setns) only to create it.
 */
struct fl_nl_sock_cache {
	struct nl_sock *sk;
	char netns[256];
	unsigned long long ino;
};

/* A socket for `netns` ("" = ours): c's when it is for the same netns (inode), else one
 * from the pool or a new one, kept in c when c is given. -ENOENT when the netns is gone. */
int fl_nl_sock_get(struct fl_nl_sock_cache *c, const char *netns, struct nl_sock **sk,
		   struct fl_error *err) FL_WUR;
/* Give a socket back: kept when it is c's, freed otherwise. */
void fl_nl_sock_put(struct fl_nl_sock_cache *c, struct nl_sock *sk);
/* Release c's socket to the process's small per-netns pool (nl_link.c); NULL is fine. */
void fl_nl_sock_cache_done(struct fl_nl_sock_cache *c);
/* Inode of a netns file, 0 when it cannot be read. */
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

struct fl_nl_match;

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
/* The iproute2 lines for the root part of a fault; `leaf` is e.g. "netem delay 100ms". */
int fl_nl_root_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, const char *leaf,
			struct fl_buf *out) FL_WUR;

/* ---- nl_scope.c ---- */

struct fl_nl_match {
	bool any; /* a match was given */
	struct fl_nl_cidr dst[FL_NL_CIDR_MAX];
	unsigned ndst;
	struct fl_nl_cidr src[FL_NL_CIDR_MAX];
	unsigned nsrc;
	uint16_t dport, sport; /* 0 = any */
	uint8_t proto;	       /* 0 = any; IPPROTO_TCP/UDP/ICMP/... */
};

/*
 * match := { ["dst": CIDR | [CIDR...]], ["src": CIDR | [CIDR...]],
 *            ["dport": 1..65535], ["sport": 1..65535],
 *            ["protocol": "tcp"|"udp"|"icmp"|"sctp"|0..255] }
 * CIDRs are IPv4 or IPv6 (mixed lists are fine: one filter per same-family
 * dst x src pair). Without addresses, both families are matched. Ports need
 * "protocol" tcp, udp or sctp (u32 reads them at offsets 20/22 for IPv4 without
 * options, 40/42 for IPv6 without extension headers, as tc's `match ip[6] dport`).
 * "icmp" is ICMPv6 (58) in IPv6 filters.
 */
int fl_nl_match_parse(const cJSON *v, const char *path, struct fl_nl_match *m,
		      struct fl_error *err) FL_WUR;
/* Filter preference for a family (AF_INET, AF_INET6, 0 = all) and filter role. */
static inline int fl_nl_match_pref(int fam, bool redirect)
{
	return (redirect ? FL_NL_PREF_REDIR : FL_NL_PREF) + (fam == AF_INET6);
}
/* How many u32 filters `m` makes (same-family dst x src pairs). */
unsigned fl_nl_match_nfilters(const struct fl_nl_match *m);
/* Add the u32 filters for `m` on `parent`, steering to `classid` (one per dst/src pair). */
int fl_nl_match_install(struct nl_sock *sk, int ifindex, uint32_t parent, uint32_t classid,
			const struct fl_nl_match *m, struct fl_error *err) FL_WUR;
/*
 * On the clsact ingress hook: u32 filters for `m` (every packet when m is NULL
 * or empty) with a mirred egress redirect to `to_ifindex` (faultline's ifb).
 */
int fl_nl_match_install_redirect(struct nl_sock *sk, int ifindex, const struct fl_nl_match *m,
				 int to_ifindex, struct fl_error *err) FL_WUR;
/*
 * One line per filter: "<prefix> pref 250 protocol ip u32 match ip dst 10.0.0.0/24
 * ... flowid fa17:1", or "... action mirred egress redirect dev IFB" when
 * `redirect` names the ifb device.
 */
int fl_nl_match_describe(const struct fl_nl_match *m, const char *prefix, uint32_t classid,
			 const char *redirect, struct fl_buf *out) FL_WUR;

/* ---- nl_netem.c ---- */

enum fl_nl_dist {
	FL_NL_DIST_NONE,
	FL_NL_DIST_UNIFORM, /* the kernel's own, no table */
	FL_NL_DIST_NORMAL,
	FL_NL_DIST_PARETO,
	FL_NL_DIST_PARETONORMAL,
	FL_NL_DIST__MAX
};

/* Everything netem can be told, in the kernel's units. */
struct fl_nl_netem {
	uint64_t delay_ns, jitter_ns;
	uint32_t delay_corr; /* probabilities: 0..UINT32_MAX */
	enum fl_nl_dist dist;
	int16_t *dist_data; /* the table for `dist` (owned by the spec) */
	size_t dist_len;
	uint32_t loss, loss_corr;
	bool ge;			  /* Gilbert-Elliott loss model */
	uint32_t ge_p, ge_r, ge_h, ge_k1; /* p, r, 1-h, 1-k as in tc-netem(8) */
	uint32_t duplicate, duplicate_corr;
	uint32_t corrupt, corrupt_corr;
	uint32_t reorder, reorder_corr, gap;
	uint64_t rate;	/* bytes per second, 0 = none */
	uint32_t limit; /* packets, 0 = 1000 */
};

/* Directory list searched for iproute2's distribution tables. */
extern const char *const fl_nl_dist_dirs[];
/* Name as tc writes it ("normal"), or NULL for NONE. */
const char *fl_nl_dist_name(enum fl_nl_dist d);
/* Load iproute2's table for `d` (a .dist file); *data is malloc'ed. */
int fl_nl_dist_load(enum fl_nl_dist d, int16_t **data, size_t *len, struct fl_error *err) FL_WUR;
/* Build RTM_NEWQDISC for netem with every parameter (libnl + nla_put for the rest). */
int fl_nl_netem_build(const struct fl_nl_netem *n, int ifindex, uint32_t parent, uint32_t handle,
		      int flags, struct nl_msg **msg, struct fl_error *err) FL_WUR;
/* Parse an RTM_NEWQDISC netem message back (libnl's parser + the extra attributes). */
int fl_nl_netem_parse(struct nl_msg *msg, struct fl_nl_netem *n, size_t *dist_len,
		      struct fl_error *err) FL_WUR;
/* "netem delay 100ms 10ms 25% distribution normal loss 1% ..." */
int fl_nl_netem_describe(const struct fl_nl_netem *n, struct fl_buf *out) FL_WUR;

/* ---- nl_bpf.c ---- */

struct sock_filter;

enum fl_nl_hook { FL_NL_HOOK_INGRESS, FL_NL_HOOK_EGRESS, FL_NL_HOOK__MAX };

#define FL_NL_BPF_INSNS_MAX (16 + 13 * FL_NL_CIDR_MAX)

/*
 * A classic BPF program for cls_bpf in direct-action mode: IPv4 and IPv6
 * packets whose source (ingress) or destination (egress) lies in one of `c`
 * (n <= FL_NL_CIDR_MAX) return TC_ACT_SHOT; everything else returns
 * TC_ACT_UNSPEC (the next filter decides). Returns the instruction count.
 */
int fl_nl_bpf_drop_prog(enum fl_nl_hook hook, const struct fl_nl_cidr *c, unsigned n,
			struct sock_filter *prog);
/* Is there a clsact qdisc (1), a plain ingress qdisc (2) or neither (0)? */
int fl_nl_clsact_state(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
/* tc qdisc add dev X clsact / tc qdisc del dev X clsact */
int fl_nl_clsact_add(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
int fl_nl_clsact_del(struct nl_sock *sk, int ifindex, struct fl_error *err) FL_WUR;
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

/* ---- nl_ingress.c ---- */

/* faultline's ifb device for an interface: "fl-eth0" (long names: 8 chars + a hash). */
void fl_nl_ifb_name(const char *ifname, char *out, size_t len);
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
int fl_nl_ingress_describe(const struct fl_nl_target *t, const struct fl_nl_match *m,
			   const char *leaf, struct fl_buf *out) FL_WUR;
int fl_nl_ingress_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;
/* direction := "egress" (default) | "ingress"   ($.params.direction) */
int fl_nl_direction_parse(const cJSON *params, bool *ingress, struct fl_error *err) FL_WUR;

/* ---- nl_fault.c ---- */

/*
 * netem and bandwidth: egress (the root qdisc engine above) or ingress (ifb);
 * plan also records the fault id (for refusals naming it) and the interface it
 * resolved in t->resolved (so a dry run names the real device).
 */
int fl_nl_fault_plan(struct fl_nl_target *t, const char *kind, bool ingress, bool scoped,
		     const char *id, struct fl_nl_sock_cache *c, cJSON **undo,
		     struct fl_error *err) FL_WUR;
int fl_nl_fault_apply(const struct fl_nl_match *m, bool ingress, fl_nl_leaf_build build,
		      const void *spec, struct fl_nl_sock_cache *c, const char *id, cJSON *undo,
		      struct fl_error *err) FL_WUR;
int fl_nl_fault_revert(const cJSON *undo, struct fl_error *err);
int fl_nl_fault_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, bool ingress,
			 const char *leaf, struct fl_buf *out) FL_WUR;
int fl_nl_fault_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;

/* ---- nl_multi.c ---- */

struct fl_fault_ops;
struct fl_fault_ctx;
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
