/*
 * The static registry of fault kinds. Each kind lives in its own file and
 * defines `const struct fl_fault_ops fl_fault_<kind>`. The declarations are
 * weak so that a kind whose file is not built yet is simply absent.
 */
#include <string.h>

#include "faults/fault.h"

#define FL_FAULT_KINDS(X)                                                                          \
	X(kill)                                                                                    \
	X(pause)                                                                                   \
	X(netem)                                                                                   \
	X(bandwidth)                                                                               \
	X(partition)                                                                               \
	X(syscall)

#define DECLARE(k) extern const struct fl_fault_ops fl_fault_##k __attribute__((weak));
FL_FAULT_KINDS(DECLARE)
#undef DECLARE

#define ENTRY(k) &fl_fault_##k,
static const struct fl_fault_ops *const registry[] = {FL_FAULT_KINDS(ENTRY)};
#undef ENTRY

const struct fl_fault_ops *fl_fault_nth(size_t i)
{
	size_t seen = 0;

	for (size_t j = 0; j < FL_ARRAY_SIZE(registry); j++) {
		if (!registry[j])
			continue;
		if (seen++ == i)
			return registry[j];
	}
	return NULL;
}

const struct fl_fault_ops *fl_fault_lookup(const char *kind)
{
	if (!kind)
		return NULL;
	for (size_t j = 0; j < FL_ARRAY_SIZE(registry); j++)
		if (registry[j] && !strcmp(registry[j]->kind, kind))
			return registry[j];
	return NULL;
}
