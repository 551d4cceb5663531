/*
 * A guard for POSIX extended regular expressions from outside (tolerances,
 * cmdline selectors, the agent's policy). glibc's regcomp() copies a subtree
 * for each repetition ("a+" is "aa*", "a{3}" is "aaa"), so stacked or nested
 * repetitions grow exponentially: a 100-byte pattern such as "a++++...+" or
 * "((a{99}){99}){99}" takes gigabytes and minutes to compile. Check a pattern
 * with this before regcomp().
 */
#ifndef FL_CORE_REGEX_H
#define FL_CORE_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

/* Most tree nodes a pattern may expand to in regcomp (a 10 KiB literal is 10240). */
#define FL_REGEX_EXPANSION_MAX 20000
/* Most nodes its repetitions may add: regcomp's memory grows with their square. */
#define FL_REGEX_REPEAT_MAX 2048

/*
 * 0 when the pattern expands to at most FL_REGEX_EXPANSION_MAX nodes, of
 * which at most FL_REGEX_REPEAT_MAX come from repetitions, else
 * -E2BIG with a reason in why (may be NULL). Syntax errors are regcomp's to report.
 */
int fl_regex_check(const char *ere, char *why, size_t whylen) FL_WUR;

/*
 * Python `re` patterns (what Chaos Toolkit experiments hold: \d, (?i),
 * look-arounds, lazy quantifiers, (?P<name>...)) through PCRE2, with Python
 * 3's defaults for str patterns: Unicode classes, `$` also before a final
 * newline, `.` not matching a newline. Matching is bounded (PCRE2's match and
 * depth limits), so a catastrophic pattern fails instead of hanging.
 */
struct fl_regex;
/* Compile; -EINVAL with PCRE2's message and offset in why. */
int fl_regex_compile(const char *pattern, struct fl_regex **out, char *why, size_t whylen) FL_WUR;
/* re.search(): 1 found, 0 not found, -E2BIG past the limits, -EINVAL bad UTF-8 subject. */
int fl_regex_search(const struct fl_regex *re, const char *subject, size_t len);
void fl_regex_free(struct fl_regex *re);

#endif
