/*
 * YAML -> cJSON: one reader for every YAML input (kubeconfig files,
 * experiments), built on libyaml's event API. Errors carry the line and
 * column and the JSON path of the node being read.
 */
#ifndef FL_CORE_YAML_H
#define FL_CORE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

struct fl_yaml_opts {
	/* Resolve plain scalars as PyYAML's safe_load does (YAML 1.1): null, ~ and
	 * nothing are null; true/false/yes/no/on/off booleans; integers (decimal,
	 * 0x, 0o/leading-0 octal, 0b, with _); floats with a dot, .inf, .nan.
	 * false: every scalar is a string (kubeconfig reads strings only). */
	bool typed;
	/* A key given twice: the last one wins (Python's dict), each reported in
	 * `dups` when not NULL; false: an error. */
	bool dup_last_wins;
	struct fl_errlist *dups;
	/* Aliases (*name) copy their anchor's node, counted against max_nodes. */
	bool aliases;
	size_t max_depth; /* 0: 64 */
	size_t max_nodes; /* 0: 100000 */
	const char *what; /* prefix of messages, like "kubeconfig" (may be NULL) */
};

/*
 * Parse one YAML document of len bytes into *out (a cJSON tree the caller
 * owns). On failure -errno with err set: message "WHAT: line L, column C:
 * problem" and path the JSON path of the node (e.g. "$.method[1].provider").
 * A scalar holding a NUL character is refused (C strings would cut it).
 */
int fl_yaml_parse(const char *text, size_t len, const struct fl_yaml_opts *o, cJSON **out,
		  struct fl_error *err) FL_WUR;

#endif
