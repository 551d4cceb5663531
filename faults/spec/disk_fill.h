/* The disk_fill fault's spec (faults/spec/disk_fill.c), shared with its ops (faults/disk_fill.c).
 */
#ifndef FL_FAULTS_SPEC_DISK_FILL_H
#define FL_FAULTS_SPEC_DISK_FILL_H

#include <stdint.h>

#include "faults/spec.h"

#define FL_DISK_FILL_PATH_MAX 1024

enum disk_fill_by { FILL_BYTES, FILL_PERCENT, FILL_LEAVE_FREE };

struct disk_fill_spec {
	char path[FL_DISK_FILL_PATH_MAX]; /* the directory the file is made in */
	enum disk_fill_by by;
	uint64_t bytes; /* FILL_BYTES: the file's size; FILL_LEAVE_FREE: what stays free */
	double percent; /* FILL_PERCENT: of the space free at plan time */
};

/* The field that sized the fill ("$.params.bytes"...), for errors about the size. */
const char *fl_disk_fill_field(enum disk_fill_by by);
int fl_disk_fill_parse(const cJSON *target, const cJSON *params, void **spec,
		       struct fl_error *err) FL_WUR;
int fl_disk_fill_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_disk_fill_free(void *spec);

#endif
