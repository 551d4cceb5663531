/*
 * The classic BPF program of the partition fault (cls_bpf, direct action):
 * built here for the filter nl_bpf.c installs and for the describe that
 * prints it, so the two cannot differ.
 */
#include <arpa/inet.h>
#include <string.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include "faults/spec/nl_spec.h"

const char *const fl_nl_hook_names[FL_NL_HOOK__MAX] = {"ingress", "egress"};

#define STMT(c, k)	   ((struct sock_filter)BPF_STMT((c), (uint32_t)(k)))
#define JUMP(c, k, jt, jf) ((struct sock_filter)BPF_JUMP((c), (uint32_t)(k), (jt), (jf)))

/*
 * Layout (jumps in classic BPF are forward only; conditional ones reach 255
 * instructions, so each CIDR test is a short block ending in a long `ja drop`):
 *
 *   ld proto; jeq IPv6 ? next : +1; ja V6; jeq IPv4 ? next : +1; ja V4; ret UNSPEC
 *   V4: per CIDR:  ld word; and mask; jeq net ? next : +1; ja DROP
 *       ret UNSPEC
 *   V6: per CIDR:  per prefix word (1..4): ld word; [and mask]; jeq net ? next : END
 *                  ja DROP; END:
 *       ret UNSPEC
 *   DROP: ret SHOT
 */
int fl_nl_bpf_drop_prog(enum fl_nl_hook hook, const struct fl_nl_cidr *c, unsigned n,
			struct sock_filter *p)
{
	/* Egress drops by destination, ingress by source: the peer's address either way. */
	uint32_t off4 = hook == FL_NL_HOOK_EGRESS ? 16 : 12;
	uint32_t off6 = hook == FL_NL_HOOK_EGRESS ? 24 : 8;
	unsigned i = 0, ja_v4, ja_v6, nd = 0;
	unsigned ja_drop[FL_NL_CIDR_MAX];

	p[i++] = STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
	p[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 1);
	ja_v6 = i++;
	p[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 1);
	ja_v4 = i++;
	p[i++] = STMT(BPF_RET | BPF_K, TC_ACT_UNSPEC);
	p[ja_v4] = STMT(BPF_JMP | BPF_JA, i - ja_v4 - 1);
	for (unsigned k = 0; k < n && nd < FL_NL_CIDR_MAX; k++) {
		uint32_t mask;

		if (fl_nl_cidr_is6(&c[k]))
			continue;
		mask = c[k].len ? ~0U << (32 - c[k].len) : 0;
		p[i++] = STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + (int)off4);
		p[i++] = STMT(BPF_ALU | BPF_AND | BPF_K, mask);
		p[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(c[k].addr.s_addr) & mask, 0, 1);
		ja_drop[nd++] = i++;
	}
	p[i++] = STMT(BPF_RET | BPF_K, TC_ACT_UNSPEC);
	p[ja_v6] = STMT(BPF_JMP | BPF_JA, i - ja_v6 - 1);
	for (unsigned k = 0; k < n && nd < FL_NL_CIDR_MAX; k++) {
		unsigned words = (c[k].len + 31u) / 32u, jeq[4], nj = 0;

		if (!fl_nl_cidr_is6(&c[k]))
			continue;
		for (unsigned w = 0; w < words; w++) {
			unsigned bits = c[k].len - 32 * w >= 32 ? 32 : c[k].len - 32 * w;
			uint32_t mask = ~0U << (32 - bits), v;

			memcpy(&v, &c[k].addr6.s6_addr[4 * w], 4);
			p[i++] = STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + (int)(off6 + 4 * w));
			if (mask != ~0U)
				p[i++] = STMT(BPF_ALU | BPF_AND | BPF_K, mask);
			jeq[nj++] = i;
			p[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(v) & mask, 0, 0);
		}
		ja_drop[nd++] = i++;
		for (unsigned j = 0; j < nj; j++)
			p[jeq[j]].jf = (uint8_t)(i - jeq[j] - 1); /* END: past the ja */
	}
	p[i++] = STMT(BPF_RET | BPF_K, TC_ACT_UNSPEC);
	for (unsigned d = 0; d < nd; d++)
		p[ja_drop[d]] = STMT(BPF_JMP | BPF_JA, i - ja_drop[d] - 1);
	p[i++] = STMT(BPF_RET | BPF_K, TC_ACT_SHOT);
	return (int)i;
}
