/*
 * The kinds over the preload shim's rule tables besides `syscall`: `time`
 * (Chaos Mesh's TimeChaos), `dns` (DNSChaos) and `stream` (Toxiproxy's
 * toxics), each a grammar of its own that turns into shim rules
 * (preload/rules.h) on the syscall kind's target grammar. Specs in
 * faults/spec/{time,dns,stream}.c, ops in faults/shim_kinds.c (the shared
 * machinery: faults/shim_table.c).
 */
#ifndef FL_FAULTS_SPEC_SHIM_KINDS_H
#define FL_FAULTS_SPEC_SHIM_KINDS_H

#include "faults/spec/syscall.h"

struct shim_kind_spec {
	struct syscall_spec sc; /* the target, and the rules the params became */
	char what[640];		/* the dry run's words, in the peer tool's vocabulary */
};

int fl_time_parse(const cJSON *target, const cJSON *params, void **spec,
		  struct fl_error *err) FL_WUR;
int fl_dns_parse(const cJSON *target, const cJSON *params, void **spec,
		 struct fl_error *err) FL_WUR;
int fl_stream_parse(const cJSON *target, const cJSON *params, void **spec,
		    struct fl_error *err) FL_WUR;
/* "<what> on <target>: shim rules <rule>; <rule>". */
int fl_shim_kind_describe(const void *spec, struct fl_buf *out) FL_WUR;
void fl_shim_kind_free(void *spec);

/* For the three parsers (faults/spec/shim_target.c). */
/* A new spec with the target parsed and params checked to be an object of known keys. */
int fl_shim_kind_new(const cJSON *target, const cJSON *params, const char *const *keys,
		     struct shim_kind_spec **out, struct fl_error *err) FL_WUR;
/* Parse one rule's text into the spec; an error is reported at path. */
int fl_shim_kind_add_rule(struct shim_kind_spec *k, const char *text, const char *path,
			  struct fl_error *err) FL_WUR;
/* A string value that goes into a rule as is: no ':' or '\\', 1..maxlen bytes. */
int fl_shim_kind_value(const cJSON *v, const char *path, size_t maxlen, const char *expect,
		       const char **out, struct fl_error *err) FL_WUR;
/* A non-negative integer up to max; absent: *present false (if present != NULL). */
int fl_shim_kind_uint(const cJSON *obj, const char *key, const char *path, uint64_t max,
		      uint64_t *out, bool *present, struct fl_error *err) FL_WUR;

#endif
