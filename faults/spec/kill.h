/* The kill fault's spec (faults/spec/kill.c), shared with its ops (faults/kill.c). */
#ifndef FL_FAULTS_SPEC_KILL_H
#define FL_FAULTS_SPEC_KILL_H

#include "faults/spec.h"
#include "faults/spec/proc_sel.h"

struct kill_spec {
	struct fl_proc_sel sel;
	int sig;
};

/* The signal's name without "SIG" ("KILL"), or NULL when it has none here. */
const char *fl_kill_sig_name(int sig);
int fl_kill_parse(const cJSON *target, const cJSON *params, void **spec,
		  struct fl_error *err) FL_WUR;
int fl_kill_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_kill_free(void *spec);

#endif
