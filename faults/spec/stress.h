/* The stress fault's spec (faults/spec/stress.c), shared with its ops (faults/stress.c). */
#ifndef FL_FAULTS_SPEC_STRESS_H
#define FL_FAULTS_SPEC_STRESS_H

#include "faults/spec.h"
#include "faults/spec/proc_sel.h"

#define FL_STRESS_CPU_WORKERS_MAX 64
#define FL_STRESS_MEM_WORKERS_MAX 16
#define FL_STRESS_MIB_MAX	  (1024 * 1024) /* per memory worker: 1 TiB */
#define FL_STRESS_IO_WORKERS_MAX  16
#define FL_STRESS_IO_MIB_MAX	  1024 /* per I/O worker */
#define FL_STRESS_PATH_MAX	  1024

struct stress_spec {
	struct fl_proc_sel sel;
	unsigned cpu_workers;		  /* 0: no CPU stressor */
	unsigned cpu_load;		  /* percent of one CPU per worker, 1..100 */
	unsigned mem_workers;		  /* 0: no memory stressor */
	unsigned long mem_mib;		  /* per memory worker */
	unsigned io_workers;		  /* 0: no I/O stressor */
	unsigned long io_mib;		  /* per I/O worker: its region of the file */
	char io_path[FL_STRESS_PATH_MAX]; /* the directory of the file they write */
};

int fl_stress_parse(const cJSON *target, const cJSON *params, void **spec,
		    struct fl_error *err) FL_WUR;
int fl_stress_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_stress_free(void *spec);

#endif
