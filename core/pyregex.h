#ifndef FL_CORE_PYREGEX_H
#define FL_CORE_PYREGEX_H

#include <stddef.h>

#include "core/compiler.h"

/*
 * Python `re` patterns (what Chaos Toolkit experiments hold: \d, (?i),
 * look-arounds, lazy quantifiers, (?P<name>...)) through PCRE2, with Python
 * 3's defaults for str patterns: Unicode classes, `$` also before a final
 * newline, `.` not matching a newline. Matching is bounded (PCRE2's match and
 * depth limits), so a catastrophic pattern fails instead of hanging.
 */
struct fl_pyregex;
/* Compile; -EINVAL with PCRE2's message and offset in why. */
int fl_pyregex_compile(const char *pattern, struct fl_pyregex **out, char *why,
		       size_t whylen) FL_WUR;
/* re.search(): 1 found, 0 not found, -E2BIG past the limits, -EINVAL bad UTF-8 subject. */
int fl_pyregex_search(const struct fl_pyregex *re, const char *subject, size_t len);
void fl_pyregex_free(struct fl_pyregex *re);

#endif
