/* Arming, renewing and reverting the preload shim's tables for a kind (faults/shim_table.c). */
#ifndef FL_FAULTS_SHIM_TABLE_H
#define FL_FAULTS_SHIM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults/fault.h"
#include "faults/spec/syscall.h"

/* The fault.h ops over a syscall_spec's target and rules. */
int fl_shim_plan(struct syscall_spec *s, const struct fl_fault_ctx *ctx, cJSON **undo,
		 struct fl_error *err) FL_WUR;
int fl_shim_apply(struct syscall_spec *s, const struct fl_fault_ctx *ctx, cJSON *undo,
		  struct fl_error *err) FL_WUR;
int fl_shim_revert(const cJSON *undo, struct fl_error *err) FL_WUR;
int fl_shim_renew(const cJSON *undo, uint64_t deadline_mono_ns, struct fl_error *err) FL_WUR;
/* The hits of each rule, summed over the record's tables (fl_fault_ops.effect). */
int fl_shim_effect(const cJSON *undo, cJSON **out);
/* The plan's time namespace for a launched command (the time kind), if it has one to say. */
int fl_shim_describe_plan(const cJSON *undo, struct fl_buf *out) FL_WUR;
bool fl_shim_available(char *why, size_t whylen);

#endif
