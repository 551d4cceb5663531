#include "core/regex.h"

#include <errno.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEPTH_MAX 64

struct frame {
	double total; /* nodes of the group so far */
	double last;  /* nodes of the last atom, which a quantifier repeats */
};

/* "{n}", "{n,}", "{n,m}", "{,m}" at s: how many copies regcomp makes; 0 if not a bound. */
static double bound(const char *s, const char **end)
{
	char *e;
	unsigned long n, m;

	/* glibc also reads "{,m}" as "{0,m}" */
	if (*s != '{' || ((s[1] < '0' || s[1] > '9') && s[1] != ','))
		return 0;
	n = s[1] == ',' ? 0 : strtoul(s + 1, &e, 10);
	if (s[1] == ',')
		e = (char *)s + 1;
	m = n;
	if (*e == ',') {
		if (e[1] >= '0' && e[1] <= '9')
			m = strtoul(e + 1, &e, 10);
		else {
			m = n + 1; /* {n,} is n copies and a star */
			e++;
		}
	}
	if (*e != '}')
		return 0;
	*end = e + 1;
	return (double)(m > n ? m : n) + 1;
}

/*
 * Grammar walked (POSIX ERE as glibc reads it):
 *   re := branch ("|" branch)*     branch := (atom quant*)*
 *   atom := char | "." | "\" char | "[" bracket "]" | "(" re ")"
 *   quant := "*" | "+" | "?" | "{" n ["," [m]] "}"
 * Cost: one node per atom, a group costs its contents, a quantifier multiplies
 * the last atom or group by the copies regcomp makes (stacked ones again).
 * Copies made by quantifiers have their own, smaller budget: copies that may
 * match empty ("x{0,4000}", "((a{0}){99}){98}") chain epsilon transitions,
 * and regcomp's closure tables grow with the square of that chain (x{0,4000}
 * takes 125 MB, the second 1.4 GB), while a 20,000-byte literal takes 5 MB.
 */
int fl_regex_check(const char *ere, char *why, size_t whylen)
{
	struct frame st[DEPTH_MAX + 1] = {{0, 0}};
	int depth = 0, qrun = 0;
	const char *p = ere, *end;
	double f, rep = 0;
	bool quant;

	while (p && *p) {
		struct frame *fr = &st[depth];

		/* Stacked quantifiers ("a***", "a{2}{3}{4}"): Python's re refuses them, glibc
		 * takes them but its closure computations grow with each; allow two ("a+?"). */
		quant = *p == '*' || *p == '+' || *p == '?' || (*p == '{' && bound(p, &end) > 0);
		qrun = quant ? qrun + 1 : 0;
		if (qrun > 2)
			goto too_big;

		switch (*p) {
		case '(':
			if (depth == DEPTH_MAX)
				goto too_big;
			st[++depth] = (struct frame){0, 0};
			p++;
			continue;
		case ')':
			if (depth == 0) {
				fr->last = 1;
				fr->total += 1;
				p++;
				break;
			}
			depth--;
			st[depth].last = st[depth + 1].total + 1;
			st[depth].total += st[depth].last;
			p++;
			break;
		case '*':
		case '?':
			p++;
			fr->total += 1;
			fr->last += 1;
			rep += 1;
			break;
		case '+':
			p++;
			fr->total += fr->last + 1;
			rep += fr->last + 1;
			fr->last = 2 * fr->last + 1;
			break;
		case '{':
			if ((f = bound(p, &end)) > 0) {
				fr->total += fr->last * (f - 1);
				rep += fr->last * (f - 1);
				fr->last *= f;
				p = end;
				break;
			}
			fr->last = 1;
			fr->total += 1;
			p++;
			break;
		case '[':
			/* A bracket expression is one node: skip to its closing ']'. */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					char c = p[1];

					for (p += 2; *p && !(*p == c && p[1] == ']'); p++)
						;
					if (*p)
						p++;
				}
				if (*p)
					p++;
			}
			if (*p)
				p++;
			fr->last = 1;
			fr->total += 1;
			break;
		case '\\':
			p += p[1] ? 2 : 1;
			fr->last = 1;
			fr->total += 1;
			break;
		case '|':
			p++;
			fr->last = 0;
			fr->total += 1;
			break;
		default:
			p++;
			fr->last = 1;
			fr->total += 1;
			break;
		}
		if (fr->total > FL_REGEX_EXPANSION_MAX || rep > FL_REGEX_REPEAT_MAX)
			goto too_big;
	}
	for (; depth > 0; depth--)
		st[depth - 1].total += st[depth].total;
	if (st[0].total <= FL_REGEX_EXPANSION_MAX)
		return 0;
too_big:
	if (why && whylen)
		snprintf(why, whylen,
			 "regular expression too complex: more than %d nodes, or more than %d "
			 "made by repetitions",
			 FL_REGEX_EXPANSION_MAX, FL_REGEX_REPEAT_MAX);
	return -E2BIG;
}
