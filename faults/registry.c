/*
 * The static registry of fault kinds: faults/kinds.h, expanded. Each kind
 * lives in its own file and defines `const struct fl_fault_ops fl_fault_<kind>`;
 * the references here are strong, so linking fl_faults links every kind.
 */
#include <string.h>

#include "faults/fault.h"

#define ENTRY(k) &fl_fault_##k,
static const struct fl_fault_ops *const registry[] = {FL_FAULT_KINDS(ENTRY)};
#undef ENTRY

const struct fl_fault_ops *fl_fault_nth(size_t i)
{
	return i < FL_ARRAY_SIZE(registry) ? registry[i] : NULL;
}

const struct fl_fault_ops *fl_fault_lookup(const char *kind)
{
	for (size_t i = 0; kind && i < FL_ARRAY_SIZE(registry); i++)
		if (!strcmp(registry[i]->kind, kind))
			return registry[i];
	return NULL;
}
