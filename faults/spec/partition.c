/*
 * The `partition` fault's spec: the peers, the direction, where; described as
 * the cls_bpf filters faults/partition.c installs (or its netem fallback).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/filter.h>

#include "faults/spec/partition.h"

static const char *const dir_names[] = {"both", "to", "from"};

/*
 * Grammar (params):
 *   peers      CIDR | [CIDR...]   IPv4/IPv6 addresses or networks (required, <= 64)
 *   direction  "both" (default) | "to" (packets this host sends to them)
 *                               | "from" (packets they send to this host)
 *   measure    see fl_nl_measure_parse; its peer must lie in `peers`
 */
int fl_partition_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	struct part_spec *s = calloc(1, sizeof(*s));
	const cJSON *it, *v;
	cJSON *m = NULL;
	int r;

	if (!s)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	if (!cJSON_IsObject(params)) {
		r = fl_error_set(err, -EINVAL, "$.params", "expected an object");
		goto fail;
	}
	cJSON_ArrayForEach(it, params)
	{
		if (strcmp(it->string, "peers") && strcmp(it->string, "direction") &&
		    strcmp(it->string, "measure")) {
			char path[96];

			snprintf(path, sizeof(path), "$.params.%.60s", it->string);
			r = fl_error_set(err, -EINVAL, path, "unknown partition parameter");
			goto fail;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(params, "peers");
	if (!v) {
		r = fl_error_set(err, -EINVAL, "$.params.peers", "required");
		goto fail;
	}
	/* Reuse the match parser for the address list, with its paths. */
	m = cJSON_CreateObject();
	if (!m || !cJSON_AddItemReferenceToObject(m, "dst", (cJSON *)v)) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto fail;
	}
	r = fl_nl_match_parse(m, "$.params", &s->peers, err);
	if (r < 0) {
		if (!strncmp(err->path, "$.params.dst", 12)) {
			char rest[200];

			snprintf(rest, sizeof(rest), "%.199s", err->path + 12);
			snprintf(err->path, sizeof(err->path), "$.params.peers%s", rest);
		}
		goto fail;
	}
	s->dir = DIR_BOTH;
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "direction"))) {
		size_t i;

		for (i = 0; cJSON_IsString(v) && i < FL_ARRAY_SIZE(dir_names); i++)
			if (!strcmp(v->valuestring, dir_names[i]))
				break;
		if (!cJSON_IsString(v) || i == FL_ARRAY_SIZE(dir_names)) {
			r = fl_error_set(err, -EINVAL, "$.params.direction",
					 "expected \"both\", \"to\" or \"from\"");
			goto fail;
		}
		s->dir = (enum dir)i;
	}
	r = fl_nl_measure_parse(params, &s->meas, err);
	if (r < 0)
		goto fail;
	if (s->meas.on) {
		bool in = false;

		for (unsigned i = 0; i < s->peers.ndst && !in; i++)
			in = fl_nl_measure_in(&s->meas, &s->peers.dst[i]);
		if (!in) {
			r = fl_error_set(
			    err, -EINVAL, "$.params.measure.peer",
			    "not among the partition's peers: it would stay reachable");
			goto fail;
		}
	}
	r = fl_nl_target_parse(target, &s->peers.dst[0], &s->t, err);
	if (r < 0)
		goto fail;
	s->loss.loss = UINT32_MAX;
	cJSON_Delete(m);
	*out = s;
	return 0;
fail:
	cJSON_Delete(m);
	free(s);
	return r;
}

void fl_partition_free(void *spec)
{
	free(spec);
}

int fl_partition_describe(const void *spec, struct fl_buf *out)
{
	const struct part_spec *s = spec;
	struct sock_filter prog[FL_NL_BPF_INSNS_MAX];
	const char *p = fl_nl_target_prefix(&s->t);
	char dev[64], a[32];
	int r;

	fl_nl_target_dev(&s->t, dev, sizeof(dev));
	r = fl_buf_printf(out, "# drop %s",
			  s->dir == DIR_BOTH ? "to and from"
			  : s->dir == DIR_TO ? "to"
					     : "from");
	for (unsigned i = 0; r == 0 && i < s->peers.ndst; i++)
		r = fl_buf_printf(out, " %s", fl_nl_cidr_fmt(&s->peers.dst[i], a, sizeof(a)));
	if (r == 0)
		r = fl_buf_printf(out,
				  " (mechanism cls_bpf; netem loss branch without it)\n"
				  "%stc qdisc add dev %s clsact\n",
				  p, dev);
	for (int h = 0; r == 0 && h < FL_NL_HOOK__MAX; h++) {
		int n;

		if (!fl_partition_hook_on(s->dir, (enum fl_nl_hook)h))
			continue;
		n = fl_nl_bpf_drop_prog((enum fl_nl_hook)h, s->peers.dst, s->peers.ndst, prog);
		r = fl_buf_printf(
		    out,
		    "%stc filter add dev %s %s pref %d handle 1 protocol all bpf da bytecode '%d",
		    p, dev, fl_nl_hook_names[h], FL_NL_PREF, n);
		for (int i = 0; r == 0 && i < n; i++)
			r = fl_buf_printf(out, ",%u %u %u %u", prog[i].code, prog[i].jt, prog[i].jf,
					  prog[i].k);
		if (r == 0)
			r = fl_buf_printf(out, "'\n");
	}
	return r < 0 ? r : fl_nl_measure_describe(&s->meas, out);
}

const struct fl_fault_spec_ops fl_fault_spec_partition = {
    .kind = "partition",
    .family = FL_FAULT_FAMILY_NETWORK,
    .parse = fl_partition_parse,
    .describe = fl_partition_describe,
    .free = fl_partition_free,
};
