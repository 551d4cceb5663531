/* The static registry of fault kind specs: faults/kinds.h, expanded. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/spec.h"

#define ENTRY(k) &fl_fault_spec_##k,
static const struct fl_fault_spec_ops *const registry[] = {FL_FAULT_KINDS(ENTRY)};
#undef ENTRY

const struct fl_fault_spec_ops *fl_fault_spec_nth(size_t i)
{
	return i < FL_ARRAY_SIZE(registry) ? registry[i] : NULL;
}

const struct fl_fault_spec_ops *fl_fault_spec_lookup(const char *kind)
{
	for (size_t i = 0; kind && i < FL_ARRAY_SIZE(registry); i++)
		if (!strcmp(registry[i]->kind, kind))
			return registry[i];
	return NULL;
}

const char *fl_fault_family_name(enum fl_fault_family f)
{
	switch (f) {
	case FL_FAULT_FAMILY_PROCESS:
		return "process";
	case FL_FAULT_FAMILY_NETWORK:
		return "network";
	case FL_FAULT_FAMILY_SYSCALL:
		return "syscall";
	case FL_FAULT_FAMILY__MAX:
		break;
	}
	return "?";
}

int fl_fault_spec_check(const char *kind, const cJSON *target, const cJSON *params,
			struct fl_error *err)
{
	const struct fl_fault_spec_ops *ops = fl_fault_spec_lookup(kind);
	char known[128] = "";
	void *spec = NULL;
	int r;

	if (!ops) {
		for (size_t i = 0; i < FL_ARRAY_SIZE(registry); i++) {
			size_t n = strlen(known);

			snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
				 registry[i]->kind);
		}
		return fl_error_set(err, -ENOENT, "$.kind",
				    "unknown fault kind \"%.64s\" (known: %s)", kind ? kind : "",
				    known);
	}
	r = ops->parse(target, params, &spec, err);
	if (r == 0)
		ops->free(spec);
	return r;
}
