/*
 * The fault kinds' specs: what each kind accepts as "target" and "params",
 * checked and typed without touching the system, and described in the
 * vocabulary of the tool that would do the same (tc, kill, ...). This is the
 * library the controller links (fl_fault_spec: core and libcjson only, no
 * libnl, no libseccomp) to validate an experiment offline; the agent's ops
 * (faults/fault.h) are built on the same functions.
 */
#ifndef FL_FAULTS_SPEC_H
#define FL_FAULTS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "faults/kinds.h"

/* What a kind acts on: the agent's policy and capabilities differ per family. */
enum fl_fault_family {
	FL_FAULT_FAMILY_PROCESS, /* kill, pause: processes by pidfd, cgroups */
	FL_FAULT_FAMILY_NETWORK, /* netem, bandwidth, partition: qdiscs and filters */
	FL_FAULT_FAMILY_SYSCALL, /* syscall: the preload shim's tables, seccomp */
	FL_FAULT_FAMILY__MAX
};

struct fl_fault_spec_ops {
	const char *kind;
	enum fl_fault_family family;
	/* Acts once and leaves nothing to revert (kill): a duration is optional. */
	bool instant;
	/*
	 * The params (dotted: "io.path") that name a directory the fault
	 * creates files in, NULL-terminated; NULL: none. With an allow list the
	 * agent's policy wants each one given in allow.fill_dirs.
	 */
	const char *const *writes;
	/*
	 * Typed spec from an API body's target and params (NULL params: none);
	 * errors carry a JSON path ("$.target.pid", "$.params.signal"). Reads
	 * nothing of the system: a pod is checked, not looked up.
	 */
	int (*parse)(const cJSON *target, const cJSON *params, void **spec, struct fl_error *err);
	/* What would be done, in iproute2/kill vocabulary (the dry run). */
	int (*describe)(const void *spec, struct fl_buf *out);
	/* Free a parsed spec; NULL is fine. */
	void (*free)(void *spec);
};

/* Each kind's spec ops, defined in faults/spec/<kind>.c. */
#define FL_FAULT_SPEC_DECLARE(k) extern const struct fl_fault_spec_ops fl_fault_spec_##k;
FL_FAULT_KINDS(FL_FAULT_SPEC_DECLARE)
#undef FL_FAULT_SPEC_DECLARE

/* By kind name; NULL when unknown. */
const struct fl_fault_spec_ops *fl_fault_spec_lookup(const char *kind);
/* Iterate the registry (the order of faults/kinds.h); NULL past the end. */
const struct fl_fault_spec_ops *fl_fault_spec_nth(size_t i);
/* "process", "network", "syscall". */
const char *fl_fault_family_name(enum fl_fault_family f);
/*
 * Check a fault offline: the kind is known (else -ENOENT at "$.kind", naming
 * the known kinds) and its parser accepts target and params (its error, with
 * its path). Nothing is kept.
 */
int fl_fault_spec_check(const char *kind, const cJSON *target, const cJSON *params,
			struct fl_error *err) FL_WUR;

#endif
