/*
 * The network faults' spec side (netem, bandwidth, partition): their targets,
 * scopes, units and netem settings as typed values, parsed from JSON and
 * described in iproute2's vocabulary. No libnl here: this is the part the
 * controller links (fl_fault_spec); faults/nl_common.h adds the apply side.
 *
 *   nl_units.c     rates, sizes, percentages and IPv4/IPv6 CIDRs as people write them
 *   nl_target.c    the "target" object (netns + interface or route) and "direction"
 *   nl_match.c     the "match" scope, and the u32 filters that implement it, described
 *   nl_bpf_prog.c  the partition's classic BPF program
 *   nl_describe.c  netem, root, ingress and ifb in tc(8)/ip(8) words
 *
 * Ownership: every qdisc faultline creates has a handle major in
 * [FL_NL_HANDLE_ROOT, FL_NL_HANDLE_LEAF]; filters it adds use FL_NL_PREF.
 */
#ifndef FL_FAULTS_SPEC_NL_SPEC_H
#define FL_FAULTS_SPEC_NL_SPEC_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

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
	char netns[256];	  /* netns path ("" = the agent's own; a pod's: set by the agent) */
	char netns_label[300];	  /* how the user named it, for describe */
	char ifname[IF_NAMESIZE]; /* "" when chosen by route */
	bool has_route_to;
	struct fl_nl_cidr route_to; /* interface = the one that routes here (a host) */
	char resolved[IF_NAMESIZE]; /* set by plan: the interface it resolved to */
	const char *field;	    /* the JSON path that named the netns ("$.target" for ours) */
	bool via_pid;		    /* named through a process ("pid"), not as a namespace */
	int pid;		    /* that process */
	bool has_start;		    /* "start" with "pid": the process must have started then */
	uint64_t start;
};

/*
 * target := { ["netns": NAME | "netns_path": PATH | "pid": N ["start": T] | "pod": {...}],
 *             ("interface": IFNAME | "route_to": IPV4 | IPV6) }
 * Exactly one of netns/netns_path/pid/pod at most; interface or route_to (or a
 * `default_route_to` from the fault's own params) must say where. "start" pins
 * the pid to the process that started then (field 22 of /proc/PID/stat),
 * checked by the agent when it admits the namespace (nl_fault.c). A pod is
 * checked (faults/spec/pod_sel.h, no "container") but not looked up: the
 * agent finds its network namespace (nl_multi.c) and parses the target again
 * with "netns_path" in its place.
 */
int fl_nl_target_parse(const cJSON *target, const struct fl_nl_cidr *default_route_to,
		       struct fl_nl_target *t, struct fl_error *err) FL_WUR;
/* "ip netns exec NAME " / "nsenter --net=PATH " for a netns path (an undo record's). */
void fl_nl_netns_prefix(const char *netns, char *buf, size_t len);
/* "ip netns exec NAME " / "nsenter --net=PATH " prefix, or "". */
const char *fl_nl_target_prefix(const struct fl_nl_target *t);
/* "veth1", the interface plan resolved, or "<dev routing to 10.0.0.2>" before a plan. */
const char *fl_nl_target_dev(const struct fl_nl_target *t, char *buf, size_t len);

/* direction := "egress" (default) | "ingress"   ($.params.direction) */
int fl_nl_direction_parse(const cJSON *params, bool *ingress, struct fl_error *err) FL_WUR;

/*
 * A netlink socket opened inside a target netns, kept by a spec from plan to
 * apply (nl_link.c fills it and releases it: the spec side never touches it).
 */
struct nl_sock;
struct fl_nl_sock_cache {
	struct nl_sock *sk;
	char netns[256];
	unsigned long long ino, dev; /* of the namespace the socket lives in (0: ours) */
};

/* ---- nl_measure.c ---- */

/* A peer the agent connects to (TCP) from inside the netns, before and after apply. */
struct fl_nl_measure {
	bool on;
	struct fl_nl_cidr peer; /* a host: /32 or /128 */
	uint16_t port;
};

/* What one measure found (faults/nl_measure.c); a spec keeps its plan's for a second plan. */
struct fl_nl_rtt {
	bool done;
	int tries, ok;	/* connects tried, answered (SYN-ACK or RST) */
	double rtt_ms;	/* median round trip of the answered ones */
	int err;	/* why the first unanswered one failed: -ETIMEDOUT, -EHOSTUNREACH... */
	uint64_t at_ns; /* CLOCK_MONOTONIC when it ended */
};

/*
 * measure := { "peer": IPV4 | IPV6 (a host), "port": 1..65535 }   ($.params.measure)
 * Absent: m->on false.
 */
int fl_nl_measure_parse(const cJSON *params, struct fl_nl_measure *m, struct fl_error *err) FL_WUR;
/* Is the peer inside c? */
bool fl_nl_measure_in(const struct fl_nl_measure *m, const struct fl_nl_cidr *c);
/* "# measure: TCP connect to 10.0.0.2:80 from the netns, before and after (...)\n" */
int fl_nl_measure_describe(const struct fl_nl_measure *m, struct fl_buf *out) FL_WUR;

/* ---- nl_match.c ---- */

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
/* Does the (dst i, src j) pair exist for family `fam`? (pairs mix no families) */
bool fl_nl_match_pair_ok(const struct fl_nl_match *m, unsigned i, unsigned j, int fam);
/* How many u32 filters `m` makes (same-family dst x src pairs). */
unsigned fl_nl_match_nfilters(const struct fl_nl_match *m);
/*
 * One line per filter: "<prefix> pref 250 protocol ip u32 match ip dst 10.0.0.0/24
 * ... flowid fa17:1", or "... action mirred egress redirect dev IFB" when
 * `redirect` names the ifb device.
 */
int fl_nl_match_describe(const struct fl_nl_match *m, const char *prefix, uint32_t classid,
			 const char *redirect, struct fl_buf *out) FL_WUR;

/* ---- netem settings (nl_describe.c; built into messages by nl_netem.c) ---- */

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
	int16_t *dist_data; /* the table for `dist` (owned by the spec; loaded by the agent) */
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

/* Name as tc writes it ("normal"), or NULL for NONE. */
const char *fl_nl_dist_name(enum fl_nl_dist d);
/* "netem delay 100ms 10ms 25% distribution normal loss 1% ..." */
int fl_nl_netem_describe(const struct fl_nl_netem *n, struct fl_buf *out) FL_WUR;

/* ---- nl_bpf_prog.c ---- */

struct sock_filter;

enum fl_nl_hook { FL_NL_HOOK_INGRESS, FL_NL_HOOK_EGRESS, FL_NL_HOOK__MAX };
/* "ingress", "egress": as tc names the clsact hooks. */
extern const char *const fl_nl_hook_names[FL_NL_HOOK__MAX];

#define FL_NL_BPF_INSNS_MAX (16 + 13 * FL_NL_CIDR_MAX)

/*
 * A classic BPF program for cls_bpf in direct-action mode: IPv4 and IPv6
 * packets whose source (ingress) or destination (egress) lies in one of `c`
 * (n <= FL_NL_CIDR_MAX) return TC_ACT_SHOT; everything else returns
 * TC_ACT_UNSPEC (the next filter decides). Returns the instruction count.
 */
int fl_nl_bpf_drop_prog(enum fl_nl_hook hook, const struct fl_nl_cidr *c, unsigned n,
			struct sock_filter *prog);

/* ---- nl_describe.c ---- */

/* faultline's ifb device for an interface: "fl-eth0" (long names: 8 chars + a hash). */
void fl_nl_ifb_name(const char *ifname, char *out, size_t len);
/* The iproute2 lines for the root part of a fault; `leaf` is e.g. "netem delay 100ms". */
int fl_nl_root_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, const char *leaf,
			struct fl_buf *out) FL_WUR;
/* The iproute2 lines of an ingress fault (ifb + clsact + redirect filters). */
int fl_nl_ingress_describe(const struct fl_nl_target *t, const struct fl_nl_match *m,
			   const char *leaf, struct fl_buf *out) FL_WUR;
/* Either of the two, by direction (netem, bandwidth). */
int fl_nl_fault_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, bool ingress,
			 const char *leaf, struct fl_buf *out) FL_WUR;

#endif
