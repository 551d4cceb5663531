/* The netem fault's spec (faults/spec/netem.c), shared with its ops (faults/netem.c). */
#ifndef FL_FAULTS_SPEC_NETEM_H
#define FL_FAULTS_SPEC_NETEM_H

#include "faults/spec.h"
#include "faults/spec/nl_spec.h"

struct netem_spec {
	struct fl_nl_target t;
	struct fl_nl_match m;
	struct fl_nl_sock_cache sc; /* plan's socket, reused by apply (the agent's) */
	struct fl_nl_netem n;
	bool ingress; /* "direction": "ingress": the packets the interface receives (ifb) */
	struct fl_nl_measure meas; /* "measure": a peer connected to before and after */
	struct fl_nl_rtt rtt;	   /* the plan's measure, kept for a second plan */
};

int fl_netem_parse(const cJSON *target, const cJSON *params, void **spec,
		   struct fl_error *err) FL_WUR;
int fl_netem_describe(const void *spec, struct fl_buf *out) FL_WUR;
/* Frees the spec and its distribution table; the agent releases `sc` first. */
void fl_netem_free(void *spec);

#endif
