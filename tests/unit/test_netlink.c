/*
 * Network fault library: units, message building and parsing for every netem
 * parameter (built with libnl, parsed back with libnl, compared), parameter
 * errors with JSON paths, the docs' examples, and, in a private network
 * namespace per test (Check forks each test; the child unshares, like libnl's
 * tests/nl-test-util.c), the real kernel objects for tbf, u32 scope and
 * cls_bpf partition.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "faults/fault.h"
#include "faults/nl_common.h"
#include "faults/pod_select.h"

static cJSON *J(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	ck_assert_msg(j != NULL, "bad JSON in test: %s", s);
	return j;
}

START_TEST(percent_units)
{
	static const struct {
		const char *json;
		int ret;
		uint32_t prob;
	} c[] = {
	    {"\"1%\"", 0, 42949673},   {"\"100%\"", 0, UINT32_MAX}, {"\"0%\"", 0, 0},
	    {"\"0.5%\"", 0, 21474836}, {"25", 0, 1073741824},	    {"\"25%\"", 0, 1073741824},
	    {"\"101%\"", -ERANGE, 0},  {"\"1\"", -EINVAL, 0},	    {"\"-1%\"", -EINVAL, 0},
	    {"\"1 %\"", -EINVAL, 0},   {"true", -EINVAL, 0},	    {"-3", -ERANGE, 0},
	};
	for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
		cJSON *j = J(c[i].json);
		uint32_t p = 7;
		int r = fl_nl_percent_parse(j, &p, NULL);

		ck_assert_msg(r == c[i].ret, "%s: %d", c[i].json, r);
		if (!r)
			ck_assert_msg(p == c[i].prob, "%s: %u", c[i].json, p);
		cJSON_Delete(j);
	}
	/* describe's percentages parse back to the same probability */
	for (uint32_t p = 1; p < UINT32_MAX / 2; p = p * 3 + 11) {
		char buf[32];
		uint32_t q;
		cJSON *j;

		fl_nl_pct_fmt(p, buf, sizeof(buf));
		j = cJSON_CreateString(buf);
		ck_assert_int_eq(fl_nl_percent_parse(j, &q, NULL), 0);
		ck_assert_msg(q == p, "%u -> %s -> %u", p, buf, q);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(rate_size_cidr_units)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} rates[] =
	    {
		{"1mbit", 0, 125000},	  {"1kbit", 0, 125},
		{"10mbps", 0, 10000000},  {"1gbit", 0, 125000000},
		{"1.5mbit", 0, 187500},	  {"8", 0, 1},
		{"1Mbit", 0, 125000},	  {"10tbit", 0, 1250000000000ULL},
		{"0mbit", -ERANGE, 0},	  {"1xbit", -EINVAL, 0},
		{"", -EINVAL, 0},	  {"mbit", -EINVAL, 0},
		{"1000tbit", -ERANGE, 0},
	    },
	  sizes[] = {
	      {"32kb", 0, 32768}, {"1500b", 0, 1500}, {"1mb", 0, 1048576}, {"10", 0, 10},
	      {"2k", 0, 2048},	  {"1x", -EINVAL, 0}, {"5gb", -ERANGE, 0},
	  };
	struct fl_nl_cidr c;
	char buf[64];
	uint64_t v;

	for (size_t i = 0; i < FL_ARRAY_SIZE(rates); i++) {
		int r = fl_nl_rate_parse(rates[i].s, &v);

		ck_assert_msg(r == rates[i].ret, "%s: %d", rates[i].s, r);
		if (!r)
			ck_assert_msg(v == rates[i].v, "%s: %llu", rates[i].s,
				      (unsigned long long)v);
	}
	for (size_t i = 0; i < FL_ARRAY_SIZE(sizes); i++) {
		int r = fl_nl_size_parse(sizes[i].s, &v);

		ck_assert_msg(r == sizes[i].ret, "%s: %d", sizes[i].s, r);
		if (!r)
			ck_assert_msg(v == sizes[i].v, "%s: %llu", sizes[i].s,
				      (unsigned long long)v);
	}
	ck_assert_str_eq(fl_nl_rate_fmt(125000, buf, sizeof(buf)), "1mbit");
	ck_assert_str_eq(fl_nl_rate_fmt(1, buf, sizeof(buf)), "8bit");
	ck_assert_str_eq(fl_nl_size_fmt(32768, buf, sizeof(buf)), "32kb");
	ck_assert_int_eq(fl_nl_cidr_parse("10.0.0.0/24", &c), 0);
	ck_assert_uint_eq(c.len, 24);
	ck_assert_str_eq(fl_nl_cidr_fmt(&c, buf, sizeof(buf)), "10.0.0.0/24");
	ck_assert_int_eq(fl_nl_cidr_parse("10.0.0.1", &c), 0);
	ck_assert_uint_eq(c.len, 32);
	ck_assert_int_eq(fl_nl_cidr_parse("10.0.0.1/24", &c), -EDOM);
	ck_assert_int_eq(fl_nl_cidr_parse("1.2.3.4/33", &c), -EINVAL);
	ck_assert_int_eq(fl_nl_cidr_parse("0.0.0.0/0", &c), 0);
	ck_assert(!fl_nl_cidr_is6(&c));
	/* IPv6 */
	ck_assert_int_eq(fl_nl_cidr_parse("::1", &c), 0);
	ck_assert(fl_nl_cidr_is6(&c));
	ck_assert_uint_eq(c.len, 128);
	ck_assert_str_eq(fl_nl_cidr_fmt(&c, buf, sizeof(buf)), "::1/128");
	ck_assert_int_eq(fl_nl_cidr_parse("2001:db8::/32", &c), 0);
	ck_assert_uint_eq(c.len, 32);
	ck_assert_uint_eq(c.addr6.s6_addr[1], 0x01);
	ck_assert_str_eq(fl_nl_cidr_fmt(&c, buf, sizeof(buf)), "2001:db8::/32");
	ck_assert_int_eq(fl_nl_cidr_parse("2001:db8::1/64", &c), -EDOM);
	ck_assert_int_eq(fl_nl_cidr_parse("2001:db8:0:0:8000::/65", &c), 0);
	ck_assert_int_eq(fl_nl_cidr_parse("2001:db8:0:0:8000::/64", &c), -EDOM);
	ck_assert_int_eq(fl_nl_cidr_parse("fd00::/129", &c), -EINVAL);
	ck_assert_int_eq(fl_nl_cidr_parse("fd00::/", &c), -EINVAL);
	ck_assert_int_eq(fl_nl_cidr_parse("fd00:::1", &c), -EINVAL);
	ck_assert_int_eq(fl_nl_cidr_parse("::/0", &c), 0);
	ck_assert_uint_eq(c.len, 0);
}
END_TEST

/*
 * A classic-BPF interpreter for the subset the partition program uses (ld
 * abs of the protocol and of network-header words, and, jeq, ja, ret), run
 * over made-up IPv4/IPv6 headers: what the kernel's cls_bpf would return.
 */
static uint32_t bpf_run(const struct sock_filter *p, int n, uint16_t proto, const uint8_t *net,
			size_t len)
{
	uint32_t a = 0;

	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &p[pc];

		switch (f->code) {
		case BPF_LD | BPF_H | BPF_ABS:
			ck_assert_uint_eq(f->k, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
			a = proto;
			break;
		case BPF_LD | BPF_W | BPF_ABS: {
			uint32_t off = f->k - (uint32_t)SKF_NET_OFF;

			ck_assert_uint_le(off + 4, len);
			a = (uint32_t)net[off] << 24 | (uint32_t)net[off + 1] << 16 |
			    (uint32_t)net[off + 2] << 8 | net[off + 3];
			break;
		}
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JA:
			pc += (int)f->k;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			ck_abort_msg("unexpected BPF opcode %#x at %d", f->code, pc);
		}
		ck_assert_int_lt(pc + 1, n + 1);
	}
	ck_abort_msg("BPF program ran off its end");
	return 0;
}

START_TEST(bpf_partition_program_v4_v6)
{
	static const char *const peers[] = {"10.9.0.0/16", "fd00:1::/64", "10.1.2.3", "fd00:2::5",
					    "2001:db8:8000::/33"};
	static const struct {
		const char *addr;
		bool drop;
	} c[] = {
	    {"10.9.200.1", true},	 {"10.10.0.1", false},	     {"10.1.2.3", true},
	    {"10.1.2.4", false},	 {"fd00:1::abcd", true},     {"fd00:1:0:1::1", false},
	    {"fd00:2::5", true},	 {"fd00:2::6", false},	     {"2001:db8:ffff::1", true},
	    {"2001:db8:7fff::1", false}, {"::ffff:10.9.0.1", false},
	};
	struct fl_nl_cidr cidr[FL_ARRAY_SIZE(peers)], all[FL_NL_CIDR_MAX];
	struct sock_filter prog[FL_NL_BPF_INSNS_MAX];

	for (size_t i = 0; i < FL_ARRAY_SIZE(peers); i++)
		ck_assert_int_eq(fl_nl_cidr_parse(peers[i], &cidr[i]), 0);
	for (int h = 0; h < FL_NL_HOOK__MAX; h++) {
		int n = fl_nl_bpf_drop_prog((enum fl_nl_hook)h, cidr, FL_ARRAY_SIZE(peers), prog);
		/* the peer's address: source on ingress, destination on egress */
		size_t off4 = h == FL_NL_HOOK_INGRESS ? 12 : 16,
		       off6 = h == FL_NL_HOOK_INGRESS ? 8 : 24;

		for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
			uint8_t hdr[40] = {0}, other[40] = {0};
			bool v6 = strchr(c[i].addr, ':') != NULL;

			ck_assert_int_eq(
			    inet_pton(v6 ? AF_INET6 : AF_INET, c[i].addr, hdr + (v6 ? off6 : off4)),
			    1);
			/* the same address in the other field (the host's own side) never drops */
			ck_assert_int_eq(
			    inet_pton(v6 ? AF_INET6 : AF_INET, c[i].addr,
				      other + (v6 ? (off6 == 8 ? 24 : 8) : (off4 == 12 ? 16 : 12))),
			    1);
			ck_assert_msg(bpf_run(prog, n, v6 ? ETH_P_IPV6 : ETH_P_IP, hdr, 40) ==
					  (uint32_t)(c[i].drop ? TC_ACT_SHOT : TC_ACT_UNSPEC),
				      "%s hook %d", c[i].addr, h);
			ck_assert_uint_eq(bpf_run(prog, n, v6 ? ETH_P_IPV6 : ETH_P_IP, other, 40),
					  (uint32_t)TC_ACT_UNSPEC);
		}
		/* ARP and friends pass */
		ck_assert_uint_eq(bpf_run(prog, n, ETH_P_ARP, NULL, 0), (uint32_t)TC_ACT_UNSPEC);
	}
	/* the largest program (64 IPv6 /127s) fits and its long jumps land on the drop */
	for (int i = 0; i < FL_NL_CIDR_MAX; i++) {
		char a[64];

		snprintf(a, sizeof(a), "fd00::%x:0/127", i + 1);
		ck_assert_int_eq(fl_nl_cidr_parse(a, &all[i]), 0);
	}
	{
		int n = fl_nl_bpf_drop_prog(FL_NL_HOOK_EGRESS, all, FL_NL_CIDR_MAX, prog);
		uint8_t hdr[40] = {0};

		ck_assert_int_le(n, FL_NL_BPF_INSNS_MAX);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::40:1", hdr + 24), 1);
		ck_assert_uint_eq(bpf_run(prog, n, ETH_P_IPV6, hdr, 40), (uint32_t)TC_ACT_SHOT);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::41:0", hdr + 24), 1);
		ck_assert_uint_eq(bpf_run(prog, n, ETH_P_IPV6, hdr, 40), (uint32_t)TC_ACT_UNSPEC);
	}
}
END_TEST

/* Build a netem request with every parameter, parse it back with libnl, compare. */
static void netem_round_trip(const struct fl_nl_netem *in)
{
	struct fl_nl_netem out;
	struct nl_msg *msg = NULL;
	struct fl_error err;
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	size_t dist_len = 0;

	fl_error_init(&err);
	ck_assert_msg(fl_nl_netem_build(in, 7, TC_H_ROOT, FL_NL_HANDLE_ROOT,
					NLM_F_CREATE | NLM_F_REPLACE, &msg, &err) == 0,
		      "build: %s", err.msg);
	nlh = nlmsg_hdr(msg);
	ck_assert_int_eq(nlh->nlmsg_type, RTM_NEWQDISC);
	/* TCA_OPTIONS is last and ends exactly at the message's end: no leftover bytes */
	opts = nlmsg_find_attr(nlh, sizeof(struct tcmsg), TCA_OPTIONS);
	ck_assert_ptr_nonnull(opts);
	ck_assert_uint_eq((size_t)((char *)opts - (char *)nlh) + NLA_ALIGN(opts->nla_len),
			  NLMSG_ALIGN(nlh->nlmsg_len));
	ck_assert_int_eq(fl_nl_netem_parse(msg, &out, &dist_len, &err), 0);
	ck_assert_uint_eq(out.limit, in->limit ? in->limit : 1000);
	ck_assert_uint_eq(out.delay_ns, in->delay_ns);
	ck_assert_uint_eq(out.jitter_ns, in->jitter_ns);
	ck_assert_uint_eq(out.delay_corr, in->delay_corr);
	ck_assert_uint_eq(out.loss, in->loss);
	ck_assert_uint_eq(out.loss_corr, in->loss_corr);
	ck_assert_uint_eq(out.duplicate, in->duplicate);
	ck_assert_uint_eq(out.duplicate_corr, in->duplicate_corr);
	ck_assert_uint_eq(out.corrupt, in->corrupt);
	ck_assert_uint_eq(out.corrupt_corr, in->corrupt_corr);
	ck_assert_uint_eq(out.reorder, in->reorder);
	ck_assert_uint_eq(out.reorder_corr, in->reorder_corr);
	ck_assert_uint_eq(out.gap, in->reorder && !in->gap ? 1 : in->gap);
	ck_assert_uint_eq(out.rate, in->rate);
	ck_assert_int_eq(out.ge, in->ge);
	ck_assert_uint_eq(out.ge_p, in->ge_p);
	ck_assert_uint_eq(out.ge_r, in->ge_r);
	ck_assert_uint_eq(out.ge_h, in->ge_h);
	ck_assert_uint_eq(out.ge_k1, in->ge_k1);
	ck_assert_uint_eq(dist_len, in->dist_len);
	nlmsg_free(msg);
}

START_TEST(netem_every_parameter)
{
	struct fl_nl_netem n = {
	    .delay_ns = 100000000,
	    .jitter_ns = 10000000,
	    .delay_corr = 1073741824,
	    .loss = 42949673,
	    .loss_corr = 1073741824,
	    .duplicate = 21474836,
	    .duplicate_corr = 5,
	    .corrupt = 4294967,
	    .corrupt_corr = 6,
	    .reorder = 1073741824,
	    .reorder_corr = 2147483648U,
	    .gap = 5,
	    .rate = 125000,
	    .limit = 500,
	};
	struct fl_error err;

	netem_round_trip(&n);
	/* 64-bit delay beyond the 32-bit tick field (274 s) and a rate above 4 GB/s */
	n.delay_ns = 3600ULL * 1000000000ULL;
	n.jitter_ns = 1000; /* 1 us: the smallest a duration can say */
	n.rate = 12500000000ULL;
	netem_round_trip(&n);
	/* Gilbert-Elliott instead of random loss */
	memset(&n, 0, sizeof(n));
	n.ge = true;
	n.ge_p = 42949673;
	n.ge_r = 429496730;
	n.ge_h = 3006477107U;
	n.ge_k1 = 4294967;
	netem_round_trip(&n);
	/* a distribution table from iproute2's files */
	memset(&n, 0, sizeof(n));
	n.delay_ns = 50000000;
	n.jitter_ns = 5000000;
	n.dist = FL_NL_DIST_PARETONORMAL;
	fl_error_init(&err);
	ck_assert_msg(fl_nl_dist_load(n.dist, &n.dist_data, &n.dist_len, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(n.dist_len, 1000);
	netem_round_trip(&n);
	free(n.dist_data);
	/* reorder without gap goes out as gap 1, like tc */
	memset(&n, 0, sizeof(n));
	n.delay_ns = 1000000;
	n.reorder = 5;
	netem_round_trip(&n);
}
END_TEST

/*
 * Gilbert-Elliott on the wire as tc sends it: the kernel drops in the bad
 * state when a random u32 exceeds h, so "1-h" (the drop chance there) goes
 * out as UINT32_MAX - "1-h"; the default "1-h" of 100% goes out as h = 0.
 */
START_TEST(netem_gemodel_wire)
{
	struct fl_nl_netem n = {.ge = true, .ge_p = 429496730U, .ge_r = 1288490189U};
	const uint32_t one_minus_h[] = {3865470566U /* 90% */, UINT32_MAX, 0};

	for (size_t i = 0; i < FL_ARRAY_SIZE(one_minus_h); i++) {
		const struct tc_netem_gemodel *ge;
		struct nlattr *opts, *loss, *gea;
		struct nl_msg *msg = NULL;
		struct fl_error err;
		int off = NLA_ALIGN(sizeof(struct tc_netem_qopt));

		fl_error_init(&err);
		n.ge_h = one_minus_h[i];
		ck_assert_int_eq(fl_nl_netem_build(&n, 7, TC_H_ROOT, FL_NL_HANDLE_ROOT,
						   NLM_F_CREATE | NLM_F_REPLACE, &msg, &err),
				 0);
		opts = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct tcmsg), TCA_OPTIONS);
		ck_assert_ptr_nonnull(opts);
		loss = nla_find((struct nlattr *)((char *)nla_data(opts) + off),
				nla_len(opts) - off, TCA_NETEM_LOSS);
		ck_assert_ptr_nonnull(loss);
		gea = nla_find(nla_data(loss), nla_len(loss), NETEM_LOSS_GE);
		ck_assert_ptr_nonnull(gea);
		ge = nla_data(gea);
		ck_assert_uint_eq(ge->p, n.ge_p);
		ck_assert_uint_eq(ge->r, n.ge_r);
		ck_assert_uint_eq(ge->h, UINT32_MAX - one_minus_h[i]);
		nlmsg_free(msg);
	}
}
END_TEST

/* params -> describe, for the JSON -> kernel-units path */
START_TEST(netem_params_describe)
{
	const struct fl_fault_ops *ops = fl_fault_lookup("netem");
	cJSON *t = J("{\"interface\":\"eth0\"}");
	cJSON *p =
	    J("{\"delay\":\"1.5s\",\"jitter\":\"250us\",\"loss\":\"0.1%\",\"rate\":\"512kbit\"}");
	struct fl_error err;
	struct fl_buf b;
	void *spec = NULL;

	ck_assert_ptr_nonnull(ops);
	fl_error_init(&err);
	ck_assert_int_eq(ops->parse(t, p, &spec, &err), 0);
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(ops->describe(spec, &b), 0);
	ck_assert_str_eq(b.data, "tc qdisc replace dev eth0 root handle fa17: netem limit 1000 "
				 "delay 1.5s 250us loss random 0.1% rate 512kbit\n");
	fl_buf_done(&b);
	ops->free(spec);
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(parse_errors_have_paths)
{
	static const struct {
		const char *kind, *target, *params, *path;
	} c[] = {
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"abc\"}", "$.params.delay"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":10}", "$.params.delay"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"jitter\":\"1ms\"}", "$.params.jitter"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"reorder\":\"5%\"}", "$.params.reorder"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"loss\":\"150%\"}", "$.params.loss"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"loss\":\"1%\",\"gemodel\":{\"p\":\"1%\"}}",
	     "$.params.gemodel"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"gemodel\":{\"q\":\"1%\"}}",
	     "$.params.gemodel.q"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"1ms\",\"distribution\":\"normal\"}",
	     "$.params.distribution"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"1ms\",\"gap\":3}", "$.params.gap"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"limit\":0,\"delay\":\"1ms\"}",
	     "$.params.limit"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"bogus\":1}", "$.params.bogus"},
	    {"netem", "{\"interface\":\"eth0\"}", "{}", "$.params"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"1ms\",\"match\":{\"dport\":80}}",
	     "$.params.match.protocol"},
	    {"netem", "{\"interface\":\"eth0\"}",
	     "{\"delay\":\"1ms\",\"match\":{\"dst\":[\"10.0.0.0/8\",\"10.1.2.3/8\"]}}",
	     "$.params.match.dst[1]"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"1ms\",\"match\":{}}",
	     "$.params.match"},
	    {"netem", "{\"netns\":\"a/b\",\"interface\":\"eth0\"}", "{\"delay\":\"1ms\"}",
	     "$.target.netns"},
	    {"netem", "{\"netns\":\"a\",\"pid\":3,\"interface\":\"eth0\"}", "{\"delay\":\"1ms\"}",
	     "$.target"},
	    {"netem", "{\"pid\":-3,\"interface\":\"eth0\"}", "{\"delay\":\"1ms\"}", "$.target.pid"},
	    {"netem", "{\"netns\":\"a\"}", "{\"delay\":\"1ms\"}", "$.target"},
	    {"netem", "{\"interface\":\"eth0\",\"route_to\":\"1.2.3.4\"}", "{\"delay\":\"1ms\"}",
	     "$.target"},
	    {"netem", "{\"interface\":\"eth0\",\"color\":1}", "{\"delay\":\"1ms\"}",
	     "$.target.color"},
	    {"bandwidth", "{\"interface\":\"eth0\"}", "{}", "$.params.rate"},
	    {"bandwidth", "{\"interface\":\"eth0\"}", "{\"rate\":\"1mbit\",\"peakrate\":\"1mbit\"}",
	     "$.params.peakrate"},
	    {"bandwidth", "{\"interface\":\"eth0\"}", "{\"rate\":\"20gbit\"}", "$.params.rate"},
	    {"bandwidth", "{\"interface\":\"eth0\"}",
	     "{\"rate\":\"1mbit\",\"limit\":\"1kb\",\"latency\":\"1ms\"}", "$.params.latency"},
	    {"partition", "{\"interface\":\"eth0\"}", "{}", "$.params.peers"},
	    {"partition", "{\"interface\":\"eth0\"}", "{\"peers\":[\"10.0.0.1\",\"x\"]}",
	     "$.params.peers[1]"},
	    {"partition", "{\"interface\":\"eth0\"}",
	     "{\"peers\":\"10.0.0.1\",\"direction\":\"up\"}", "$.params.direction"},
	    {"partition", "{\"interface\":\"eth0\"}", "{\"peers\":[\"fd00::\",\"fd00::1/64\"]}",
	     "$.params.peers[1]"},
	    {"netem", "{\"interface\":\"eth0\"}",
	     "{\"delay\":\"1ms\",\"match\":{\"dst\":\"fd00::/64\",\"src\":\"10.0.0.1\"}}",
	     "$.params.match"},
	    {"netem", "{\"interface\":\"eth0\"}",
	     "{\"delay\":\"1ms\",\"match\":{\"dst\":\"fd00::/200\"}}", "$.params.match.dst"},
	    {"netem", "{\"route_to\":\"fd00::/64\"}", "{\"delay\":\"1ms\"}", "$.target.route_to"},
	    {"netem", "{\"interface\":\"eth0\"}", "{\"delay\":\"1ms\",\"direction\":\"in\"}",
	     "$.params.direction"},
	    {"bandwidth", "{\"interface\":\"eth0\"}", "{\"rate\":\"1mbit\",\"direction\":1}",
	     "$.params.direction"},
	};
	for (size_t i = 0; i < FL_ARRAY_SIZE(c); i++) {
		const struct fl_fault_ops *ops = fl_fault_lookup(c[i].kind);
		cJSON *t = J(c[i].target), *p = J(c[i].params);
		struct fl_error err;
		void *spec = NULL;
		int r;

		fl_error_init(&err);
		r = ops->parse(t, p, &spec, &err);
		ck_assert_msg(r < 0, "%s %s accepted", c[i].target, c[i].params);
		ck_assert_msg(!strcmp(err.path, c[i].path), "%s: path %s (%s), want %s",
			      c[i].params, err.path, err.msg, c[i].path);
		ck_assert_ptr_null(spec);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
}
END_TEST

/* Who holds an interface's root: the names refusals give, composition's original root. */
START_TEST(owner_registry)
{
	cJSON *prev = J("{\"kind\":\"fq_codel\",\"handle\":65536,\"options\":\"0800\"}"), *got;

	ck_assert_ptr_null(fl_nl_owner_get(7, 3, FL_NL_SLOT_ROOT));
	fl_nl_owner_set(7, 3, FL_NL_SLOT_ROOT, "lat-1", prev);
	ck_assert_str_eq(fl_nl_owner_get(7, 3, FL_NL_SLOT_ROOT), "lat-1");
	ck_assert(fl_nl_owner_alone(7, 3, FL_NL_SLOT_ROOT, "lat-1"));
	ck_assert_ptr_null(fl_nl_owner_get(7, 3, FL_NL_SLOT_INGRESS)); /* another slot */
	ck_assert_ptr_null(fl_nl_owner_get(8, 3, FL_NL_SLOT_ROOT));    /* another netns */
	fl_nl_owner_set(7, 3, FL_NL_SLOT_ROOT, "cap-1", prev);
	ck_assert_str_eq(fl_nl_owner_get(7, 3, FL_NL_SLOT_ROOT), "lat-1\" and \"cap-1");
	ck_assert(!fl_nl_owner_alone(7, 3, FL_NL_SLOT_ROOT, "lat-1"));
	got = fl_nl_owner_prev(7, 3, FL_NL_SLOT_ROOT);
	ck_assert(cJSON_Compare(got, prev, true));
	cJSON_Delete(got);
	fl_nl_owner_clear(7, 3, FL_NL_SLOT_ROOT, "lat-1");
	ck_assert_str_eq(fl_nl_owner_get(7, 3, FL_NL_SLOT_ROOT), "cap-1");
	ck_assert(fl_nl_owner_alone(7, 3, FL_NL_SLOT_ROOT, "cap-1"));
	fl_nl_owner_clear(7, 3, FL_NL_SLOT_ROOT, NULL);
	ck_assert_ptr_null(fl_nl_owner_get(7, 3, FL_NL_SLOT_ROOT));
	ck_assert_ptr_null(fl_nl_owner_prev(7, 3, FL_NL_SLOT_ROOT));
	ck_assert(!fl_nl_owner_alone(7, 3, FL_NL_SLOT_ROOT, NULL));
	cJSON_Delete(prev);
}
END_TEST

/* Every `json fault` example in docs/faults/network.md parses and describes as documented. */
START_TEST(docs_examples)
{
	FILE *f = fopen(FL_SOURCE_DIR "/docs/faults/network.md", "re");
	char line[4096];
	struct fl_buf json, want;
	int examples = 0, state = 0; /* 1 in json, 2 in sh describe */

	ck_assert_ptr_nonnull(f);
	fl_buf_init(&json, 1 << 16);
	fl_buf_init(&want, 1 << 16);
	while (fgets(line, sizeof(line), f)) {
		if (state == 0 && !strcmp(line, "```json fault\n")) {
			state = 1;
			fl_buf_done(&json);
			fl_buf_init(&json, 1 << 16);
		} else if (state == 0 && !strcmp(line, "```sh describe\n")) {
			state = 2;
			fl_buf_done(&want);
			fl_buf_init(&want, 1 << 16);
		} else if (state && !strcmp(line, "```\n")) {
			if (state == 2) {
				cJSON *ex = cJSON_Parse(json.data);
				const cJSON *kind = cJSON_GetObjectItem(ex, "kind");
				const struct fl_fault_ops *ops;
				struct fl_error err;
				struct fl_buf got;
				void *spec = NULL;

				ck_assert_msg(ex && cJSON_IsString(kind), "bad example: %s",
					      json.data);
				ops = fl_fault_lookup(kind->valuestring);
				ck_assert_ptr_nonnull(ops);
				fl_error_init(&err);
				ck_assert_msg(ops->parse(cJSON_GetObjectItem(ex, "target"),
							 cJSON_GetObjectItem(ex, "params"), &spec,
							 &err) == 0,
					      "%s: %s: %s", json.data, err.path, err.msg);
				fl_buf_init(&got, 1 << 16);
				ck_assert_int_eq(ops->describe(spec, &got), 0);
				ck_assert_msg(!strcmp(got.data, want.data),
					      "docs say:\n%s\ncode says:\n%s", want.data, got.data);
				fl_buf_done(&got);
				ops->free(spec);
				cJSON_Delete(ex);
				examples++;
			}
			state = 0;
		} else if (state) {
			ck_assert_int_eq(fl_buf_printf(state == 1 ? &json : &want, "%s", line), 0);
		}
	}
	fclose(f);
	fl_buf_done(&json);
	fl_buf_done(&want);
	ck_assert_int_ge(examples, 8);
}
END_TEST

/* ---- kernel objects, each test in its own network namespace ---- */

static void private_netns(void)
{
	struct nl_sock *sk;
	struct rtnl_link *lo, *chg;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	ck_assert_int_eq(rtnl_link_get_kernel(sk, 1, NULL, &lo), 0);
	chg = rtnl_link_alloc();
	rtnl_link_set_flags(chg, IFF_UP);
	ck_assert_int_eq(rtnl_link_change(sk, lo, chg, 0), 0);
	rtnl_link_put(chg);
	rtnl_link_put(lo);
	nl_socket_free(sk);
}

static struct rtnl_qdisc *root_qdisc(struct nl_sock *sk, struct nl_cache **cache)
{
	ck_assert_int_eq(rtnl_qdisc_alloc_cache(sk, cache), 0);
	return rtnl_qdisc_get_by_parent(*cache, 1, TC_H_ROOT);
}

static cJSON *apply(const char *kind, const char *target, const char *params)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(kind);
	struct fl_fault_ctx ctx = {.fault_id = "unit"};
	cJSON *t = J(target), *p = J(params), *undo = NULL;
	struct fl_error err;
	void *spec = NULL;

	fl_error_init(&err);
	ck_assert_msg(ops->parse(t, p, &spec, &err) == 0, "%s: %s", err.path, err.msg);
	ck_assert_msg(ops->plan(spec, &ctx, &undo, &err) == 0, "plan: %s", err.msg);
	ck_assert_msg(ops->apply(spec, &ctx, undo, &err) == 0, "apply: %s", err.msg);
	ops->free(spec);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return undo;
}

static void revert(const char *kind, cJSON *undo)
{
	struct fl_error err;

	fl_error_init(&err);
	ck_assert_msg(fl_fault_lookup(kind)->revert(undo, &err) == 0, "revert: %s", err.msg);
	ck_assert_msg(fl_fault_lookup(kind)->revert(undo, &err) == 0, "second revert: %s", err.msg);
	cJSON_Delete(undo);
}

START_TEST(kernel_tbf_round_trip)
{
	struct nl_sock *sk;
	struct nl_cache *cache;
	struct rtnl_qdisc *q;
	cJSON *undo;

	private_netns();
	undo = apply("bandwidth", "{\"interface\":\"lo\"}",
		     "{\"rate\":\"8mbit\",\"burst\":\"32kb\",\"limit\":\"64kb\"}");
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	q = root_qdisc(sk, &cache);
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(rtnl_tc_get_kind(TC_CAST(q)), "tbf");
	ck_assert_uint_eq(rtnl_tc_get_handle(TC_CAST(q)), FL_NL_HANDLE_ROOT);
	ck_assert_int_eq(rtnl_qdisc_tbf_get_rate(q), 1000000);
	ck_assert_int_eq(rtnl_qdisc_tbf_get_limit(q), 65536);
	ck_assert_int_eq(rtnl_qdisc_tbf_get_rate_bucket(q), 32768);
	rtnl_qdisc_put(q);
	nl_cache_free(cache);
	revert("bandwidth", undo);
	q = root_qdisc(sk, &cache);
	ck_assert_msg(!q || rtnl_tc_get_handle(TC_CAST(q)) == 0, "our qdisc is still there");
	rtnl_qdisc_put(q);
	nl_cache_free(cache);
	nl_socket_free(sk);
}
END_TEST

/*
 * Between plan (which found the kernel's default root) and apply, someone puts
 * a root qdisc there: apply refuses (-EBUSY, "changed since the plan") and
 * leaves that qdisc as it is; so does it when the root became faultline's own
 * (another process's fault). No re-read does it: the kernel refuses the add.
 */
START_TEST(kernel_root_changed_after_plan)
{
	const struct fl_fault_ops *ops = fl_fault_lookup("bandwidth");
	struct fl_fault_ctx ctx = {.fault_id = "unit"};
	struct nl_sock *sk;

	private_netns();
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	for (size_t i = 0; i < 2; i++) {
		cJSON *t = J("{\"interface\":\"lo\"}"), *p = J("{\"rate\":\"8mbit\"}"),
		      *undo = NULL;
		struct rtnl_qdisc *q = rtnl_qdisc_alloc(), *now;
		uint32_t handle = i == 0 ? 0x10000 : FL_NL_HANDLE_ROOT;
		struct nl_cache *cache;
		struct fl_error err;
		void *spec = NULL;

		fl_error_init(&err);
		ck_assert_int_eq(ops->parse(t, p, &spec, &err), 0);
		ck_assert_msg(ops->plan(spec, &ctx, &undo, &err) == 0, "plan: %s", err.msg);
		/* someone else's root, or a faultline root this process holds no record of */
		rtnl_tc_set_ifindex(TC_CAST(q), 1);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
		rtnl_tc_set_handle(TC_CAST(q), handle);
		ck_assert_int_eq(rtnl_tc_set_kind(TC_CAST(q), "tbf"), 0);
		rtnl_qdisc_tbf_set_rate(q, 1000000, 32768, 0);
		rtnl_qdisc_tbf_set_limit(q, 65536);
		ck_assert_int_eq(rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL), 0);
		ck_assert_int_eq(ops->apply(spec, &ctx, undo, &err), -EBUSY);
		ck_assert_msg(strstr(err.msg, "changed since the plan"), "%s", err.msg);
		now = root_qdisc(sk, &cache);
		ck_assert_ptr_nonnull(now);
		ck_assert_str_eq(rtnl_tc_get_kind(TC_CAST(now)), "tbf");
		ck_assert_uint_eq(rtnl_tc_get_handle(TC_CAST(now)), handle);
		ck_assert_int_eq(rtnl_qdisc_tbf_get_rate(now), 1000000);
		rtnl_qdisc_put(now);
		nl_cache_free(cache);
		ck_assert_int_eq(rtnl_qdisc_delete(sk, q), 0);
		rtnl_qdisc_put(q);
		ops->free(spec);
		cJSON_Delete(undo);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
	nl_socket_free(sk);
}
END_TEST

/*
 * The plan's read of the root (fl_nl_root_snapshot) tells what a dump of the
 * interface's qdiscs tells, whichever way it reads: the kernel's default root
 * (one RTM_GETQDISC), no root on an interface that is down (the dump skips
 * the builtin noop), and a user's classful root with its class and child
 * (the whole dump).
 */
static void snapshot_as_dumped(struct nl_sock *sk, int ifindex, const char *what)
{
	struct fl_nl_qdisc_snap snap;
	struct nl_cache *cache;
	struct rtnl_qdisc *q;
	struct fl_error err;
	int children = 0;

	fl_error_init(&err);
	ck_assert_msg(fl_nl_root_snapshot(sk, ifindex, &snap, &err) == 0, "%s: %s", what, err.msg);
	ck_assert_int_eq(rtnl_qdisc_alloc_cache(sk, &cache), 0);
	q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_tc *c = TC_CAST((struct rtnl_qdisc *)o);

		children += rtnl_tc_get_ifindex(c) == ifindex && rtnl_tc_get_handle(c) &&
			    rtnl_tc_get_parent(c) != TC_H_ROOT &&
			    rtnl_tc_get_parent(c) != TC_H_INGRESS;
	}
	ck_assert_msg(snap.present == (q != NULL), "%s: present %d, the dump %s a root", what,
		      snap.present, q ? "has" : "has no");
	if (q) {
		ck_assert_str_eq(snap.kind, rtnl_tc_get_kind(TC_CAST(q)));
		ck_assert_uint_eq(snap.handle, rtnl_tc_get_handle(TC_CAST(q)));
	}
	ck_assert_int_eq(snap.nchildren, snap.handle ? children : 0);
	rtnl_qdisc_put(q);
	nl_cache_free(cache);
	fl_nl_snap_done(&snap);
}

START_TEST(kernel_root_snapshot_as_dumped)
{
	struct fl_nl_qdisc_snap snap;
	struct rtnl_qdisc *htb = rtnl_qdisc_alloc(), *leaf = rtnl_qdisc_alloc();
	struct rtnl_class *cl = rtnl_class_alloc();
	struct fl_error err;
	struct nl_sock *sk;
	int v0, v1;

	private_netns();
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	fl_error_init(&err);
	/* lo, up: the kernel's default root, handle 0 */
	snapshot_as_dumped(sk, 1, "lo");
	ck_assert_int_eq(fl_nl_root_snapshot(sk, 1, &snap, &err), 0);
	ck_assert_msg(snap.present && snap.handle == 0, "lo's default root: %d %x", snap.present,
		      snap.handle);
	fl_nl_snap_done(&snap);
	/* a veth pair, down: no root a dump would show */
	ck_assert_int_eq(rtnl_link_veth_add(sk, "flsnap0", "flsnap1", getpid()), 0);
	ck_assert_int_eq(fl_nl_ifindex(sk, "flsnap0", &v0, &err), 0);
	ck_assert_int_eq(fl_nl_ifindex(sk, "flsnap1", &v1, &err), 0);
	snapshot_as_dumped(sk, v0, "veth down");
	/* the user's htb root 1: with a class 1:1 and a tbf 10: below it */
	rtnl_tc_set_ifindex(TC_CAST(htb), v1);
	rtnl_tc_set_parent(TC_CAST(htb), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(htb), 0x10000);
	ck_assert_int_eq(rtnl_tc_set_kind(TC_CAST(htb), "htb"), 0);
	ck_assert_int_eq(rtnl_qdisc_add(sk, htb, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_tc_set_ifindex(TC_CAST(cl), v1);
	rtnl_tc_set_parent(TC_CAST(cl), 0x10000);
	rtnl_tc_set_handle(TC_CAST(cl), 0x10001);
	ck_assert_int_eq(rtnl_tc_set_kind(TC_CAST(cl), "htb"), 0);
	ck_assert_int_eq(rtnl_htb_set_rate(cl, 1000000), 0);
	ck_assert_int_eq(rtnl_class_add(sk, cl, NLM_F_CREATE), 0);
	rtnl_tc_set_ifindex(TC_CAST(leaf), v1);
	rtnl_tc_set_parent(TC_CAST(leaf), 0x10001);
	rtnl_tc_set_handle(TC_CAST(leaf), 0x100000);
	ck_assert_int_eq(rtnl_tc_set_kind(TC_CAST(leaf), "tbf"), 0);
	rtnl_qdisc_tbf_set_rate(leaf, 1000000, 32768, 0);
	rtnl_qdisc_tbf_set_limit(leaf, 65536);
	ck_assert_int_eq(rtnl_qdisc_add(sk, leaf, NLM_F_CREATE | NLM_F_EXCL), 0);
	snapshot_as_dumped(sk, v1, "htb tree");
	ck_assert_int_eq(fl_nl_root_snapshot(sk, v1, &snap, &err), 0);
	ck_assert_str_eq(snap.kind, "htb");
	ck_assert_int_eq(snap.nchildren, 1);
	ck_assert_int_ge(snap.nclasses, 1);
	fl_nl_snap_done(&snap);
	rtnl_qdisc_put(leaf);
	rtnl_class_put(cl);
	rtnl_qdisc_put(htb);
	nl_socket_free(sk);
}
END_TEST

/*
 * A many-pod fault's measures share one budget: once it is spent, a measure
 * sends nothing and says so (tries 0, -ECANCELED, "not measured" in the
 * record); cleared, a measure to a listening loopback port answers.
 */
START_TEST(kernel_measure_budget)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct fl_nl_cidr peer;
	struct fl_nl_rtt r;
	int lfd;

	private_netns();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	ck_assert_int_eq(fl_nl_cidr_parse("127.0.0.1", &peer), 0);
	fl_nl_measure_budget(1);
	usleep(3000);
	fl_nl_measure_run("", 0, &peer, ntohs(sa.sin_port), &r);
	ck_assert_msg(r.tries == 0 && r.ok == 0 && r.err == -ECANCELED,
		      "spent budget: tries %d ok %d err %d", r.tries, r.ok, r.err);
	fl_nl_measure_budget(0);
	fl_nl_measure_run("", 0, &peer, ntohs(sa.sin_port), &r);
	ck_assert_msg(r.tries >= 1 && r.ok == r.tries && r.err == 0,
		      "no budget: tries %d ok %d err %d", r.tries, r.ok, r.err);
	close(lfd);
}
END_TEST

/*
 * bandwidth builds its tbf message itself (no rate table): the kernel must hold
 * the very qdisc libnl's builder gives for the same parameters, compared as the
 * kernel dumps both (raw TCA_OPTIONS, byte for byte): with a limit, with the
 * default latency, with a latency and a peak rate. (libnl refuses a peak rate
 * with its default cell size, 0: -NLE_INVAL, which made every bandwidth fault
 * with a peakrate fail when libnl built the message; 8 here only sizes the
 * rate table's cells, which the kernel does not keep.)
 */
START_TEST(kernel_tbf_same_as_libnl)
{
	static const struct {
		const char *params;
		int rate, burst, limit, latency_us, peak, mtu;
	} cases[] = {
	    {"{\"rate\":\"8mbit\",\"burst\":\"32kb\",\"limit\":\"64kb\"}", 1000000, 32768, 65536, 0,
	     0, 0},
	    {"{\"rate\":\"10mbit\",\"burst\":\"25000b\"}", 1250000, 25000, 0, 50000, 0, 0},
	    {"{\"rate\":\"3mbit\",\"burst\":\"20kb\",\"latency\":\"120ms\",\"peakrate\":"
	     "\"12mbit\",\"mtu\":\"1514b\"}",
	     375000, 20480, 0, 120000, 1500000, 1514},
	};
	struct nl_sock *sk;

	private_netns();
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	for (size_t i = 0; i < FL_ARRAY_SIZE(cases); i++) {
		struct fl_nl_qdisc_snap ours, theirs;
		struct rtnl_qdisc *q = rtnl_qdisc_alloc();
		struct fl_error err;
		cJSON *undo;

		fl_error_init(&err);
		undo = apply("bandwidth", "{\"interface\":\"lo\"}", cases[i].params);
		ck_assert_int_eq(fl_nl_root_snapshot(sk, 1, &ours, &err), 0);
		revert("bandwidth", undo);
		rtnl_tc_set_ifindex(TC_CAST(q), 1);
		rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
		rtnl_tc_set_handle(TC_CAST(q), FL_NL_HANDLE_ROOT);
		ck_assert_int_eq(rtnl_tc_set_kind(TC_CAST(q), "tbf"), 0);
		rtnl_qdisc_tbf_set_rate(q, cases[i].rate, cases[i].burst, 0);
		if (cases[i].limit)
			rtnl_qdisc_tbf_set_limit(q, cases[i].limit);
		else
			ck_assert_int_eq(
			    rtnl_qdisc_tbf_set_limit_by_latency(q, cases[i].latency_us), 0);
		if (cases[i].peak)
			ck_assert_int_eq(
			    rtnl_qdisc_tbf_set_peakrate(q, cases[i].peak, cases[i].mtu, 8), 0);
		ck_assert_int_eq(rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL), 0);
		ck_assert_int_eq(fl_nl_root_snapshot(sk, 1, &theirs, &err), 0);
		ck_assert_int_eq(rtnl_qdisc_delete(sk, q), 0);
		rtnl_qdisc_put(q);
		ck_assert_str_eq(ours.kind, "tbf");
		ck_assert_str_eq(theirs.kind, "tbf");
		ck_assert_uint_eq(ours.opts_len, theirs.opts_len);
		ck_assert_msg(!memcmp(ours.opts, theirs.opts, ours.opts_len),
			      "case %zu: the kernel holds another tbf than libnl's", i);
		fl_nl_snap_done(&ours);
		fl_nl_snap_done(&theirs);
	}
	nl_socket_free(sk);
}
END_TEST

START_TEST(kernel_scope_filters)
{
	struct nl_sock *sk;
	struct nl_cache *cls;
	struct rtnl_cls *c;
	cJSON *undo;
	uint32_t val, mask, classid;
	int off, offmask, keys = 0;

	private_netns();
	undo = apply("bandwidth", "{\"interface\":\"lo\"}",
		     "{\"rate\":\"8mbit\",\"match\":{\"dst\":\"10.1.2.0/24\",\"dport\":5432,"
		     "\"protocol\":\"tcp\"}}");
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	ck_assert_int_eq(rtnl_cls_alloc_cache(sk, 1, FL_NL_HANDLE_ROOT, &cls), 0);
	for (c = (struct rtnl_cls *)nl_cache_get_first(cls); c;
	     c = (struct rtnl_cls *)nl_cache_get_next((struct nl_object *)c)) {
		if (rtnl_u32_get_classid(c, &classid) < 0)
			continue; /* the hash table head */
		ck_assert_uint_eq(classid, FL_NL_CLASS_MATCH);
		ck_assert_uint_eq(rtnl_cls_get_prio(c), FL_NL_PREF);
		for (uint8_t i = 0; rtnl_u32_get_key(c, i, &val, &mask, &off, &offmask) == 0; i++) {
			if (off == 16) {
				ck_assert_uint_eq(val, htonl(0x0a010200));
				ck_assert_uint_eq(mask, htonl(0xffffff00));
			} else if (off == 8) {
				ck_assert_uint_eq(ntohl(val) & 0x00ff0000, 6 << 16);
			} else {
				ck_assert_int_eq(off, 20);
				ck_assert_uint_eq(ntohl(val), 5432);
				ck_assert_uint_eq(ntohl(mask), 0xffff);
			}
			keys++;
		}
	}
	ck_assert_int_eq(keys, 3);
	nl_cache_free(cls);
	nl_socket_free(sk);
	revert("bandwidth", undo);
}
END_TEST

/* IPv6 scope: a "protocol ipv6" u32 filter at pref 251 with the IPv6 header's offsets. */
START_TEST(kernel_scope_filters_v6)
{
	struct nl_sock *sk;
	struct nl_cache *cls;
	struct rtnl_cls *c;
	cJSON *undo;
	uint32_t val, mask, classid;
	int off, offmask, keys = 0, filters = 0;

	private_netns();
	undo = apply("bandwidth", "{\"interface\":\"lo\"}",
		     "{\"rate\":\"8mbit\",\"match\":{\"dst\":[\"fd00:1:2::/56\",\"10.1.0.0/16\"],"
		     "\"src\":\"fd00::7\",\"sport\":443,\"protocol\":\"udp\"}}");
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	ck_assert_int_eq(rtnl_cls_alloc_cache(sk, 1, FL_NL_HANDLE_ROOT, &cls), 0);
	for (c = (struct rtnl_cls *)nl_cache_get_first(cls); c;
	     c = (struct rtnl_cls *)nl_cache_get_next((struct nl_object *)c)) {
		if (rtnl_u32_get_classid(c, &classid) < 0)
			continue; /* the hash table head */
		filters++;
		ck_assert_uint_eq(classid, FL_NL_CLASS_MATCH);
		ck_assert_uint_eq(rtnl_cls_get_prio(c), FL_NL_PREF6);
		ck_assert_uint_eq(rtnl_cls_get_protocol(c), ETH_P_IPV6);
		for (uint8_t i = 0; rtnl_u32_get_key(c, i, &val, &mask, &off, &offmask) == 0; i++) {
			switch (off) {
			case 24: /* dst fd00:1:2::/56: first word exact, second /24 */
				ck_assert_uint_eq(ntohl(val), 0xfd000001);
				ck_assert_uint_eq(mask, 0xffffffff);
				break;
			case 28:
				ck_assert_uint_eq(ntohl(val), 0x00020000);
				ck_assert_uint_eq(ntohl(mask), 0xffffff00);
				break;
			case 8: /* src fd00::7 */
				ck_assert_uint_eq(ntohl(val), 0xfd000000);
				break;
			case 12:
			case 16:
				ck_assert_uint_eq(val, 0);
				ck_assert_uint_eq(mask, 0xffffffff);
				break;
			case 20:
				ck_assert_uint_eq(ntohl(val), 7);
				break;
			case 4: /* next header, byte 6 */
				ck_assert_uint_eq(ntohl(val), IPPROTO_UDP << 8);
				ck_assert_uint_eq(ntohl(mask), 0xff00);
				break;
			case 40: /* sport */
				ck_assert_uint_eq(ntohl(val), 443u << 16);
				ck_assert_uint_eq(ntohl(mask), 0xffff0000);
				break;
			default:
				ck_abort_msg("unexpected u32 key at offset %d", off);
			}
			keys++;
		}
	}
	/* the IPv4 dst pairs with no IPv6 src: one filter only */
	ck_assert_int_eq(filters, 1);
	ck_assert_int_eq(keys, 8);
	nl_cache_free(cls);
	nl_socket_free(sk);
	revert("bandwidth", undo);
}
END_TEST

/* Ingress: an ifb with the tbf as its root, a u32 + mirred redirect on clsact ingress. */
START_TEST(kernel_ingress_ifb)
{
	char why[256] = "";
	struct nl_sock *sk;
	struct nl_cache *cache;
	struct rtnl_qdisc *q;
	struct fl_error err;
	cJSON *undo;
	int ifb;

	private_netns();
	if (!fl_nl_probe(FL_NL_CAP_IFB_MIRRED, why, sizeof(why))) {
		printf("SKIPPED: ingress case: %s\n", why);
		return;
	}
	undo = apply("bandwidth", "{\"interface\":\"lo\"}",
		     "{\"rate\":\"8mbit\",\"limit\":\"64kb\",\"direction\":\"ingress\"}");
	ck_assert_str_eq(cJSON_GetObjectItem(undo, "ifb")->valuestring, "fl-lo");
	ck_assert_str_eq(cJSON_GetObjectItem(undo, "fault_id")->valuestring, "unit");
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	fl_error_init(&err);
	ck_assert_int_eq(fl_nl_ifindex(sk, "fl-lo", &ifb, &err), 0);
	ck_assert_int_eq(rtnl_qdisc_alloc_cache(sk, &cache), 0);
	q = rtnl_qdisc_get_by_parent(cache, ifb, TC_H_ROOT);
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(rtnl_tc_get_kind(TC_CAST(q)), "tbf");
	ck_assert_uint_eq(rtnl_tc_get_handle(TC_CAST(q)), FL_NL_HANDLE_ROOT);
	ck_assert_int_eq(rtnl_qdisc_tbf_get_rate(q), 1000000);
	rtnl_qdisc_put(q);
	nl_cache_free(cache);
	/* lo's own root is untouched; the redirect filter sits on clsact ingress */
	ck_assert_int_eq(fl_nl_clsact_state(sk, 1, &err), 1);
	ck_assert_int_ge(fl_nl_filter_count(sk, 1, FL_NL_HOOK_INGRESS, FL_NL_PREF_REDIR), 1);
	ck_assert_int_eq(fl_nl_filter_count(sk, 1, FL_NL_HOOK_EGRESS, -1), 0);
	/* a second ingress fault is refused, naming this one (same process) and lo */
	{
		const struct fl_fault_ops *ops = fl_fault_lookup("netem");
		struct fl_fault_ctx ctx = {.fault_id = "second"};
		cJSON *t = J("{\"interface\":\"lo\"}"),
		      *p = J("{\"delay\":\"1ms\",\"direction\":\"ingress\"}"), *u2 = NULL;
		void *spec = NULL;

		ck_assert_int_eq(ops->parse(t, p, &spec, &err), 0);
		ck_assert_int_eq(ops->plan(spec, &ctx, &u2, &err), -EBUSY);
		ck_assert_msg(
		    strstr(err.msg, "dev lo already carries faultline ingress fault \"unit\""),
		    "%s", err.msg);
		ops->free(spec);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
	revert("bandwidth", undo);
	ck_assert_int_eq(fl_nl_ifindex(sk, "fl-lo", &ifb, &err), -ENODEV);
	fl_error_init(&err);
	ck_assert_int_eq(fl_nl_clsact_state(sk, 1, &err), 0);
	nl_socket_free(sk);
}
END_TEST

START_TEST(kernel_partition_and_probe)
{
	char why[256] = "";
	struct nl_sock *sk;
	struct fl_error err;
	cJSON *undo;

	private_netns();
	ck_assert_msg(fl_nl_probe(FL_NL_CAP_TBF, why, sizeof(why)), "%s", why);
	if (!fl_nl_probe(FL_NL_CAP_NETEM, why, sizeof(why)))
		ck_assert_str_eq(why, "kernel has no sch_netem (modprobe sch_netem)");
	undo = apply("partition", "{\"interface\":\"lo\"}", "{\"peers\":[\"10.9.0.0/16\"]}");
	ck_assert_str_eq(cJSON_GetObjectItem(undo, "mechanism")->valuestring, "cls_bpf");
	sk = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(sk, NETLINK_ROUTE), 0);
	fl_error_init(&err);
	ck_assert_int_eq(fl_nl_clsact_state(sk, 1, &err), 1);
	ck_assert_int_eq(fl_nl_filter_count(sk, 1, FL_NL_HOOK_EGRESS, FL_NL_PREF), 1);
	ck_assert_int_eq(fl_nl_filter_count(sk, 1, FL_NL_HOOK_INGRESS, FL_NL_PREF), 1);
	revert("partition", undo);
	ck_assert_int_eq(fl_nl_clsact_state(sk, 1, &err), 0);
	nl_socket_free(sk);
}
END_TEST

/* ---- several pods' network namespaces (nl_multi.c) ---- */

/*
 * A "pod": a child in a network namespace of its own with a veth pair fl0/fl0p
 * up, killed with its parent (the test). Returns its PID.
 */
static pid_t pod_netns(void)
{
	int p[2];
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static const char *const names[] = {"fl0", "fl0p"};
		struct nl_sock *sk = NULL;
		bool ok;

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ok = unshare(CLONE_NEWNET) == 0 && (sk = nl_socket_alloc()) &&
		     nl_connect(sk, NETLINK_ROUTE) == 0 &&
		     rtnl_link_veth_add(sk, "fl0", "fl0p", getpid()) == 0;
		for (size_t i = 0; ok && i < 2; i++) {
			struct rtnl_link *l = NULL, *chg = rtnl_link_alloc();

			ok = chg && rtnl_link_get_kernel(sk, 0, names[i], &l) == 0;
			if (ok) {
				rtnl_link_set_flags(chg, IFF_UP);
				ok = rtnl_link_change(sk, l, chg, 0) == 0;
			}
			rtnl_link_put(l);
			rtnl_link_put(chg);
		}
		if (write(p[1], ok ? "1" : "0", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	ck_assert_msg(c == '1', "could not make a netns with a veth pair");
	return pid;
}

static void pod_ent(struct fl_pod_netns_ent *e, const char *name, pid_t pid)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->pod, sizeof(e->pod), "shop/%s", name);
	snprintf(e->uid, sizeof(e->uid), "uid-%s", name);
	snprintf(e->netns, sizeof(e->netns), "/proc/%d/ns/net", (int)pid);
}

/* The handle of fl0's root qdisc in that netns (0: the kernel's default). */
static uint32_t fl0_root(const char *netns)
{
	struct fl_error err;
	struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	struct rtnl_qdisc *q;
	uint32_t h = 0;
	int ix;

	fl_error_init(&err);
	ck_assert_msg(fl_nl_sock_get(NULL, netns, &sk, &err) == 0, "%s", err.msg);
	ck_assert_msg(fl_nl_ifindex(sk, "fl0", &ix, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(rtnl_qdisc_alloc_cache(sk, &cache), 0);
	q = rtnl_qdisc_get_by_parent(cache, ix, TC_H_ROOT);
	if (q && !strcmp(rtnl_tc_get_kind(TC_CAST(q)), "tbf"))
		h = rtnl_tc_get_handle(TC_CAST(q));
	rtnl_qdisc_put(q);
	nl_cache_free(cache);
	fl_nl_sock_put(NULL, sk);
	return h;
}

static void *multi_spec(struct fl_pod_netns_ent *ents, size_t n)
{
	cJSON *t = J("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
		     "\"interface\":\"fl0\"}");
	cJSON *p = J("{\"rate\":\"8mbit\"}");
	struct fl_error err;
	void *spec = NULL;

	fl_error_init(&err);
	ck_assert_msg(fl_nl_multi_parse_pods(&fl_nl_bandwidth_one, t, p, ents, n, &spec, &err) == 0,
		      "%s: %s", err.path, err.msg);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return spec;
}

START_TEST(multi_pod_cap_and_errors)
{
	static struct fl_pod_netns_ent ents[FL_POD_NETNS_MAX + 1];
	cJSON *t = J("{\"pod\":{\"namespace\":\"shop\",\"name\":\"x\"},\"interface\":\"a/b\"}");
	cJSON *p = J("{\"rate\":\"8mbit\"}");
	struct fl_error err;
	void *spec = NULL;

	for (size_t i = 0; i < FL_ARRAY_SIZE(ents); i++)
		pod_ent(&ents[i], "p", 1);
	fl_error_init(&err);
	ck_assert_int_eq(fl_nl_multi_parse_pods(&fl_nl_bandwidth_one, t, p, ents,
						FL_ARRAY_SIZE(ents), &spec, &err),
			 -E2BIG);
	ck_assert_str_eq(err.path, "$.target.pod");
	ck_assert_msg(strstr(err.msg, "at most 64"), "%s", err.msg);
	/* A target error in one pod's spec names the pod and keeps its path. */
	ck_assert_int_eq(fl_nl_multi_parse_pods(&fl_nl_bandwidth_one, t, p, ents, 2, &spec, &err),
			 -EINVAL);
	ck_assert_str_eq(err.path, "$.target.interface");
	ck_assert_msg(!strncmp(err.msg, "pod shop/p: ", 12), "%s", err.msg);
	ck_assert_ptr_null(spec);
	cJSON_Delete(t);
	cJSON_Delete(p);
	/* Pods sharing a namespace (hostNetwork) get the fault once, both named. */
	{
		struct fl_buf b;
		char want[128];

		pod_ent(&ents[0], "a", getpid());
		pod_ent(&ents[1], "b", getpid());
		spec = multi_spec(ents, 2);
		fl_buf_init(&b, 4096);
		ck_assert_int_eq(fl_fault_lookup("bandwidth")->describe(spec, &b), 0);
		snprintf(want, sizeof(want), "# pod shop/a, shop/b (netns /proc/%d/ns/net)\n",
			 (int)getpid());
		ck_assert_msg(!strncmp(b.data, want, strlen(want)), "%s", b.data);
		ck_assert_msg(!strstr(b.data + 1, "# pod"), "%s", b.data);
		fl_buf_done(&b);
		fl_fault_lookup("bandwidth")->free(spec);
	}
	/* A journal record's entry without its undo: the first error, naming the pod. */
	t = J("{\"netns_pods\":[{\"pod\":\"shop/x\"},{\"pod\":\"shop/y\",\"undo\":"
	      "{\"fault\":\"bandwidth\",\"netns\":\"/proc/0/ns/net\",\"netns_ino\":1,"
	      "\"ifname\":\"fl0\",\"ifindex\":2,\"prev\":null}}]}");
	fl_error_init(&err);
	ck_assert_int_eq(fl_fault_lookup("bandwidth")->revert(t, &err), -EINVAL);
	ck_assert_msg(!strcmp(err.msg, "pod shop/x: no undo record"), "%s", err.msg);
	cJSON_Delete(t);
}
END_TEST

START_TEST(kernel_multi_pod_all_or_nothing)
{
	const struct fl_fault_ops *ops = fl_fault_lookup("bandwidth");
	struct fl_fault_ctx ctx = {.fault_id = "multi"};
	struct fl_pod_netns_ent ents[2];
	struct fl_error err;
	struct nl_sock *sk = NULL;
	struct fl_buf b;
	cJSON *undo = NULL, *copy;
	char *text;
	void *spec;
	pid_t a, bb, c;

	private_netns();
	a = pod_netns();
	bb = pod_netns();
	pod_ent(&ents[0], "a", a);
	pod_ent(&ents[1], "b", bb);
	fl_error_init(&err);

	/* Both namespaces get the tbf; the record lists both before either is touched. */
	spec = multi_spec(ents, 2);
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(ops->describe(spec, &b), 0);
	ck_assert_msg(strstr(b.data, "# pod shop/a (netns /proc/") &&
			  strstr(b.data, "# pod shop/b (netns /proc/"),
		      "%s", b.data);
	ck_assert_msg(strstr(b.data, ents[1].netns), "%s", b.data);
	fl_buf_done(&b);
	ck_assert_msg(ops->plan(spec, &ctx, &undo, &err) == 0, "plan: %s", err.msg);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(undo, "netns_pods")), 2);
	ck_assert_uint_eq(fl0_root(ents[0].netns), 0);
	/* What the journal keeps is all revert needs: a text round trip. */
	text = cJSON_PrintUnformatted(undo);
	copy = cJSON_Parse(text);
	free(text);
	ck_assert_msg(ops->apply(spec, &ctx, undo, &err) == 0, "apply: %s", err.msg);
	ops->free(spec);
	ck_assert_uint_eq(fl0_root(ents[0].netns), FL_NL_HANDLE_ROOT);
	ck_assert_uint_eq(fl0_root(ents[1].netns), FL_NL_HANDLE_ROOT);
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(ops->describe_plan(copy, &b), 0);
	ck_assert_msg(strstr(b.data, "# pod shop/a") && strstr(b.data, "# pod shop/b"), "%s",
		      b.data);
	fl_buf_done(&b);
	ck_assert_msg(ops->revert(copy, &err) == 0, "revert: %s", err.msg);
	ck_assert_msg(ops->revert(copy, &err) == 0, "second revert: %s", err.msg);
	ck_assert_uint_eq(fl0_root(ents[0].netns), 0);
	ck_assert_uint_eq(fl0_root(ents[1].netns), 0);
	cJSON_Delete(copy);
	cJSON_Delete(undo);
	undo = NULL;

	/* b's interface goes between plan and apply: a's tbf is taken back, b is named. */
	spec = multi_spec(ents, 2);
	ck_assert_msg(ops->plan(spec, &ctx, &undo, &err) == 0, "plan: %s", err.msg);
	ck_assert_int_eq(fl_nl_sock_get(NULL, ents[1].netns, &sk, &err), 0);
	ck_assert_int_eq(fl_nl_link_del(sk, "fl0", &err), 0);
	fl_nl_sock_put(NULL, sk);
	ck_assert_int_lt(ops->apply(spec, &ctx, undo, &err), 0);
	ck_assert_msg(!strncmp(err.msg, "pod shop/b: ", 12), "%s", err.msg);
	ck_assert_uint_eq(fl0_root(ents[0].netns), 0);
	ck_assert_msg(ops->revert(undo, &err) == 0, "revert after a failed apply: %s", err.msg);
	ops->free(spec);
	cJSON_Delete(undo);
	undo = NULL;

	/* A pod whose namespace is gone by revert time counts as reverted. */
	c = pod_netns();
	pod_ent(&ents[1], "c", c);
	spec = multi_spec(ents, 2);
	ck_assert_msg(ops->plan(spec, &ctx, &undo, &err) == 0, "plan: %s", err.msg);
	ck_assert_msg(ops->apply(spec, &ctx, undo, &err) == 0, "apply: %s", err.msg);
	ops->free(spec);
	ck_assert_uint_eq(fl0_root(ents[1].netns), FL_NL_HANDLE_ROOT);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	ck_assert_msg(ops->revert(undo, &err) == 0, "revert with c gone: %s", err.msg);
	ck_assert_uint_eq(fl0_root(ents[0].netns), 0);
	cJSON_Delete(undo);
	kill(a, SIGKILL);
	kill(bb, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(bb, NULL, 0);
}
END_TEST

Suite *fl_suite_netlink(void)
{
	Suite *s = suite_create("netlink");
	TCase *tc = tcase_create("messages");

	tcase_add_test(tc, percent_units);
	tcase_add_test(tc, rate_size_cidr_units);
	tcase_add_test(tc, bpf_partition_program_v4_v6);
	tcase_add_test(tc, netem_every_parameter);
	tcase_add_test(tc, netem_gemodel_wire);
	tcase_add_test(tc, netem_params_describe);
	tcase_add_test(tc, parse_errors_have_paths);
	tcase_add_test(tc, docs_examples);
	tcase_add_test(tc, owner_registry);
	tcase_add_test(tc, multi_pod_cap_and_errors);
	suite_add_tcase(s, tc);
	if (geteuid() == 0) {
		TCase *k = tcase_create("kernel");

		tcase_add_test(k, kernel_tbf_round_trip);
		tcase_add_test(k, kernel_root_changed_after_plan);
		tcase_add_test(k, kernel_tbf_same_as_libnl);
		tcase_add_test(k, kernel_root_snapshot_as_dumped);
		tcase_add_test(k, kernel_measure_budget);
		tcase_add_test(k, kernel_scope_filters);
		tcase_add_test(k, kernel_scope_filters_v6);
		tcase_add_test(k, kernel_ingress_ifb);
		tcase_add_test(k, kernel_partition_and_probe);
		tcase_add_test(k, kernel_multi_pod_all_or_nothing);
		suite_add_tcase(s, k);
	} else {
		printf("SKIPPED: netlink kernel cases need root (private network namespaces)\n");
	}
	return s;
}
