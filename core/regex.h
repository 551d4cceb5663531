/*
 * A guard for POSIX extended regular expressions from outside (tolerances,
 * cmdline selectors, the agent's policy). glibc's regcomp() copies a subtree
 * for each repetition ("a+" is "aa*", "a{3}" is "aaa"), so stacked or nested
 * repetitions grow exponentially: a 100-byte pattern such as "a++++...+" or
 * "((a{99}){99}){99}" takes gigabytes and minutes to compile. Check a pattern
 * with this before regcomp(). (Python patterns, PCRE2's: core/pyregex.h.)
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

#endif
