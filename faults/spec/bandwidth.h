/* The bandwidth fault's spec (faults/spec/bandwidth.c), shared with its ops (faults/bandwidth.c).
 */
#ifndef FL_FAULTS_SPEC_BANDWIDTH_H
#define FL_FAULTS_SPEC_BANDWIDTH_H

#include "faults/spec.h"
#include "faults/spec/nl_spec.h"

struct bw_spec {
	struct fl_nl_target t;
	struct fl_nl_match m;
	struct fl_nl_sock_cache sc;		    /* plan's socket, reused by apply (agent) */
	uint64_t rate, burst, limit, peakrate, mtu; /* bytes/s and bytes */
	uint64_t latency_us;			    /* used when limit is 0 */
	bool ingress;				    /* "direction": "ingress" (ifb) */
	struct fl_nl_measure meas; /* "measure": a peer connected to before and after */
	struct fl_nl_rtt rtt;	   /* the plan's measure, kept for a second plan */
};

int fl_bandwidth_parse(const cJSON *target, const cJSON *params, void **spec,
		       struct fl_error *err) FL_WUR;
int fl_bandwidth_describe(const void *spec, struct fl_buf *out) FL_WUR;
/* Frees the spec; the agent releases `sc` first. */
void fl_bandwidth_free(void *spec);

#endif
