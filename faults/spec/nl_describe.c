/*
 * Network faults in iproute2's vocabulary, from the spec alone: what `tc` and
 * `ip` would do the same (the dry run, the agent's "description"). The apply
 * side (nl_qdisc.c, nl_ingress.c, nl_netem.c) does it through libnl.
 */
#include <stdio.h>
#include <string.h>

#include "core/duration.h"
#include "faults/spec/nl_spec.h"

const char *fl_nl_dist_name(enum fl_nl_dist d)
{
	switch (d) {
	case FL_NL_DIST_UNIFORM:
		return "uniform";
	case FL_NL_DIST_NORMAL:
		return "normal";
	case FL_NL_DIST_PARETO:
		return "pareto";
	case FL_NL_DIST_PARETONORMAL:
		return "paretonormal";
	case FL_NL_DIST_NONE:
	case FL_NL_DIST__MAX:
		break;
	}
	return NULL;
}

static int add_pct(struct fl_buf *out, const char *word, uint32_t p, uint32_t corr)
{
	char a[32], b[32];

	if (!p)
		return 0;
	if (corr)
		return fl_buf_printf(out, " %s %s %s", word, fl_nl_pct_fmt(p, a, sizeof(a)),
				     fl_nl_pct_fmt(corr, b, sizeof(b)));
	return fl_buf_printf(out, " %s %s", word, fl_nl_pct_fmt(p, a, sizeof(a)));
}

int fl_nl_netem_describe(const struct fl_nl_netem *n, struct fl_buf *out)
{
	char a[32], b[32], c[32], d[32];
	int r = fl_buf_printf(out, "netem limit %u", n->limit ? n->limit : 1000);

	if (r == 0 && (n->delay_ns || n->jitter_ns)) {
		r = fl_buf_printf(out, " delay %s",
				  fl_duration_fmt(n->delay_ns / 1000, a, sizeof(a)));
		if (r == 0 && n->jitter_ns)
			r = fl_buf_printf(out, " %s",
					  fl_duration_fmt(n->jitter_ns / 1000, a, sizeof(a)));
		if (r == 0 && n->delay_corr)
			r = fl_buf_printf(out, " %s", fl_nl_pct_fmt(n->delay_corr, a, sizeof(a)));
		if (r == 0 && n->dist != FL_NL_DIST_NONE)
			r = fl_buf_printf(out, " distribution %s", fl_nl_dist_name(n->dist));
	}
	if (r == 0 && n->ge)
		r = fl_buf_printf(
		    out, " loss gemodel %s %s %s %s", fl_nl_pct_fmt(n->ge_p, a, sizeof(a)),
		    fl_nl_pct_fmt(n->ge_r, b, sizeof(b)), fl_nl_pct_fmt(n->ge_h, c, sizeof(c)),
		    fl_nl_pct_fmt(n->ge_k1, d, sizeof(d)));
	else if (r == 0)
		r = add_pct(out, "loss random", n->loss, n->loss_corr);
	if (r == 0)
		r = add_pct(out, "duplicate", n->duplicate, n->duplicate_corr);
	if (r == 0)
		r = add_pct(out, "corrupt", n->corrupt, n->corrupt_corr);
	if (r == 0)
		r = add_pct(out, "reorder", n->reorder, n->reorder_corr);
	if (r == 0 && n->reorder && n->gap)
		r = fl_buf_printf(out, " gap %u", n->gap);
	if (r == 0 && n->rate)
		r = fl_buf_printf(out, " rate %s", fl_nl_rate_fmt(n->rate, a, sizeof(a)));
	return r;
}

void fl_nl_ifb_name(const char *ifname, char *out, size_t len)
{
	uint32_t h = 2166136261U; /* FNV-1a */

	if (strlen(ifname) <= IF_NAMESIZE - 1 - 3) {
		snprintf(out, len, "fl-%s", ifname);
		return;
	}
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619U;
	snprintf(out, len, "fl-%.8s%04x", ifname, h & 0xffff);
}

int fl_nl_root_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, const char *leaf,
			struct fl_buf *out)
{
	const char *p = fl_nl_target_prefix(t);
	char dev[64];
	int r;

	fl_nl_target_dev(t, dev, sizeof(dev));
	if (!m || !m->any)
		return fl_buf_printf(out, "%stc qdisc replace dev %s root handle %x: %s\n", p, dev,
				     FL_NL_HANDLE_ROOT >> 16, leaf);
	r = fl_buf_printf(out,
			  "%stc qdisc replace dev %s root handle %x: htb\n"
			  "%stc class add dev %s parent %x: classid %x:%x htb rate 1tbit\n"
			  "%stc qdisc add dev %s parent %x:%x handle %x: %s\n",
			  p, dev, FL_NL_HANDLE_ROOT >> 16, p, dev, FL_NL_HANDLE_ROOT >> 16,
			  FL_NL_CLASS_MATCH >> 16, FL_NL_CLASS_MATCH & 0xffff, p, dev,
			  FL_NL_CLASS_MATCH >> 16, FL_NL_CLASS_MATCH & 0xffff,
			  FL_NL_HANDLE_LEAF >> 16, leaf);
	if (r == 0) {
		char pre[256];

		snprintf(pre, sizeof(pre), "%stc filter add dev %s parent %x:", p, dev,
			 FL_NL_HANDLE_ROOT >> 16);
		r = fl_nl_match_describe(m, pre, FL_NL_CLASS_MATCH, NULL, out);
	}
	return r;
}

int fl_nl_ingress_describe(const struct fl_nl_target *t, const struct fl_nl_match *m,
			   const char *leaf, struct fl_buf *out)
{
	const char *p = fl_nl_target_prefix(t);
	char dev[64], ifb[64], pre[256];
	int r;

	fl_nl_target_dev(t, dev, sizeof(dev));
	if (t->ifname[0] || t->resolved[0])
		fl_nl_ifb_name(dev, ifb, sizeof(ifb));
	else
		snprintf(ifb, sizeof(ifb), "fl-<dev>");
	r = fl_buf_printf(out,
			  "%sip link add %s type ifb\n"
			  "%sip link set %s up\n"
			  "%stc qdisc replace dev %s root handle %x: %s\n"
			  "%stc qdisc add dev %s clsact\n",
			  p, ifb, p, ifb, p, ifb, FL_NL_HANDLE_ROOT >> 16, leaf, p, dev);
	if (r == 0) {
		snprintf(pre, sizeof(pre), "%stc filter add dev %s ingress", p, dev);
		r = fl_nl_match_describe(m, pre, 0, ifb, out);
	}
	return r;
}

int fl_nl_fault_describe(const struct fl_nl_target *t, const struct fl_nl_match *m, bool ingress,
			 const char *leaf, struct fl_buf *out)
{
	return ingress ? fl_nl_ingress_describe(t, m, leaf, out)
		       : fl_nl_root_describe(t, m, leaf, out);
}
