/* The pause fault's spec (faults/spec/pause.c), shared with its ops (faults/pause.c). */
#ifndef FL_FAULTS_SPEC_PAUSE_H
#define FL_FAULTS_SPEC_PAUSE_H

#include "faults/spec.h"
#include "faults/spec/proc_sel.h"

enum pause_method { PAUSE_AUTO, PAUSE_SIGNAL, PAUSE_FREEZER, PAUSE__MAX };

struct pause_spec {
	struct fl_proc_sel sel;
	enum pause_method method;
};

int fl_pause_parse(const cJSON *target, const cJSON *params, void **spec,
		   struct fl_error *err) FL_WUR;
int fl_pause_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_pause_free(void *spec);

#endif
