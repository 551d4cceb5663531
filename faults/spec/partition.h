/* The partition fault's spec (faults/spec/partition.c), shared with its ops (faults/partition.c).
 */
#ifndef FL_FAULTS_SPEC_PARTITION_H
#define FL_FAULTS_SPEC_PARTITION_H

#include "faults/spec.h"
#include "faults/spec/nl_spec.h"

enum dir { DIR_BOTH, DIR_TO, DIR_FROM };

struct part_spec {
	struct fl_nl_target t;
	struct fl_nl_match peers; /* dst = the peers */
	enum dir dir;
	struct fl_nl_netem loss;    /* for the netem mechanism: loss 100% */
	struct fl_nl_sock_cache sc; /* plan's socket, reused by apply (agent) */
	struct fl_nl_measure meas;  /* "measure": a peer that must become unreachable */
	struct fl_nl_rtt rtt;	    /* the plan's measure, kept for a second plan */
};

/* Does direction d drop on hook h? */
static inline bool fl_partition_hook_on(enum dir d, enum fl_nl_hook h)
{
	return d == DIR_BOTH || (d == DIR_TO && h == FL_NL_HOOK_EGRESS) ||
	       (d == DIR_FROM && h == FL_NL_HOOK_INGRESS);
}

int fl_partition_parse(const cJSON *target, const cJSON *params, void **spec,
		       struct fl_error *err) FL_WUR;
int fl_partition_describe(const void *spec, struct fl_buf *out) FL_WUR;
/* Frees the spec; the agent releases `sc` first. */
void fl_partition_free(void *spec);

#endif
