/*
 * Process selection shared by the process faults (kill, pause, syscall's
 * pods): which processes a `target` object (faults/spec/proc_sel.h) names now,
 * each identified by pid + start time (faults/procfs.h).
 */
#ifndef FL_FAULTS_PROC_SELECT_H
#define FL_FAULTS_PROC_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "core/json.h"
#include "core/rng.h"
#include "faults/fault.h"
#include "faults/procfs.h"
#include "faults/spec/proc_sel.h"

/*
 * Resolve the selection now: the matching processes, minus those ctx's policy
 * refuses, picked with a fl_rng seeded by *seed (sel's seed, else ctx->seed;
 * the one used is written back). -ESRCH when nothing matches (a "pid" whose
 * process did not start at "start" matches nothing: it is another process
 * now), -EPERM when everything that matched was refused. Caller frees *out.
 */
int fl_proc_sel_resolve(const struct fl_proc_sel *sel, const struct fl_fault_ctx *ctx,
			uint64_t *seed, struct fl_proc_ident **out, size_t *n,
			struct fl_error *err) FL_WUR;
/*
 * Add to an undo record what the journal should keep about the selection
 * beyond PIDs: for pod targets, the pods and container IDs resolved
 * ("pods", faults/pod_select.h), so a restart during the fault can be told.
 */
void fl_proc_sel_annotate(const struct fl_proc_sel *sel, cJSON *undo);
#endif
