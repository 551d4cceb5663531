/*
 * A documented subset of JSONPath for `jsonpath` tolerances. Compiled once at
 * validation (a bad path is a validation error), evaluated against provider
 * results at run time. Matches come out in document order.
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JP_STEPS_MAX  64
#define JP_FILTER_MAX 16

enum jp_sel { JP_KEY, JP_INDEX, JP_WILD, JP_FILTER };
enum jp_op { JP_EXISTS, JP_EQ, JP_NE, JP_LT, JP_LE, JP_GT, JP_GE };

struct jp_step {
	enum jp_sel sel;
	bool recursive; /* ".." */
	char *key;
	long index;
	/* filter: @.k1[2].k3 OP literal (fkeys[k] NULL: an index, fidx[k]) */
	char *fkeys[JP_FILTER_MAX];
	long fidx[JP_FILTER_MAX];
	size_t nfkeys;
	enum jp_op op;
	cJSON *lit;
};

struct fl_jsonpath {
	struct jp_step steps[JP_STEPS_MAX];
	size_t n;
};

void fl_jsonpath_free(struct fl_jsonpath *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].key);
		for (size_t k = 0; k < p->steps[i].nfkeys; k++)
			free(p->steps[i].fkeys[k]);
		cJSON_Delete(p->steps[i].lit);
	}
	free(p);
}

static bool name_char(char c)
{
	return c && !strchr(".[]()'\"@$?*=!<>&| \t\n", c);
}

static void skip_ws(const char **s)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
}

/* 'text' or "text" with \\ \' \" escapes. */
static char *parse_quoted(const char **s)
{
	char q = **s, *out, *o;
	const char *p = *s + 1;

	out = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	o = out;
	while (*p && *p != q) {
		if (*p == '\\' && p[1])
			p++;
		*o++ = *p++;
	}
	if (*p != q) {
		free(out);
		return NULL;
	}
	*o = '\0';
	*s = p + 1;
	return out;
}

static char *parse_name(const char **s)
{
	const char *p = *s;

	while (name_char(*p))
		p++;
	if (p == *s)
		return NULL;
	{
		char *n = strndup(*s, (size_t)(p - *s));

		*s = p;
		return n;
	}
}

static cJSON *parse_literal(const char **s)
{
	const char *p = *s;

	if (*p == '\'' || *p == '"') {
		char *str = parse_quoted(s);
		cJSON *j;

		if (!str)
			return NULL;
		j = cJSON_CreateString(str);
		free(str);
		return j;
	}
	if (!strncmp(p, "true", 4) && !name_char(p[4]))
		return *s = p + 4, cJSON_CreateTrue();
	if (!strncmp(p, "false", 5) && !name_char(p[5]))
		return *s = p + 5, cJSON_CreateFalse();
	if (!strncmp(p, "null", 4) && !name_char(p[4]))
		return *s = p + 4, cJSON_CreateNull();
	if (*p == '-' || isdigit((unsigned char)*p)) {
		char *end;
		double d = strtod(p, &end);

		if (end == p || !isfinite(d))
			return NULL;
		*s = end;
		return cJSON_CreateNumber(d);
	}
	return NULL;
}

/*
 * filter := "?(" "@" ("." name | "[" quoted "]" | "[" integer "]")* [op literal] ")"
 * op     := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
 */
static int parse_filter(const char **s, struct jp_step *st, char *why, size_t whylen)
{
	const char *p = *s;

	/* p points after "[?(" */
	skip_ws(&p);
	if (*p != '@') {
		snprintf(why, whylen, "a filter starts with @");
		return -EINVAL;
	}
	p++;
	for (;;) {
		char *k = NULL;

		if (*p == '[' && (isdigit((unsigned char)p[1]) || p[1] == '-')) {
			/* an index inside the filter: @.value[1] (Prometheus samples) */
			char *end;
			long idx = strtol(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || st->nfkeys >= JP_FILTER_MAX) {
				snprintf(why, whylen, "bad index in filter");
				return -EINVAL;
			}
			st->fkeys[st->nfkeys] = NULL;
			st->fidx[st->nfkeys++] = idx;
			p = end + 1;
			continue;
		}
		if (*p == '.') {
			p++;
			k = parse_name(&p);
		} else if (*p == '[' && (p[1] == '\'' || p[1] == '"')) {
			p++;
			k = parse_quoted(&p);
			if (k && *p != ']') {
				free(k);
				k = NULL;
			}
			if (k)
				p++;
		} else {
			break;
		}
		if (!k) {
			snprintf(why, whylen, "bad member name in filter");
			return -EINVAL;
		}
		if (st->nfkeys >= JP_FILTER_MAX) {
			free(k);
			snprintf(why, whylen, "filter path is too long");
			return -EINVAL;
		}
		st->fkeys[st->nfkeys++] = k;
	}
	skip_ws(&p);
	if (*p == ')') {
		st->op = JP_EXISTS;
	} else {
		if (!strncmp(p, "==", 2))
			st->op = JP_EQ, p += 2;
		else if (!strncmp(p, "!=", 2))
			st->op = JP_NE, p += 2;
		else if (!strncmp(p, "<=", 2))
			st->op = JP_LE, p += 2;
		else if (!strncmp(p, ">=", 2))
			st->op = JP_GE, p += 2;
		else if (*p == '=')
			st->op = JP_EQ, p += 1;
		else if (*p == '<')
			st->op = JP_LT, p += 1;
		else if (*p == '>')
			st->op = JP_GT, p += 1;
		else {
			snprintf(why, whylen, "expected ==, !=, <, <=, > or >= in filter");
			return -EINVAL;
		}
		skip_ws(&p);
		st->lit = parse_literal(&p);
		if (!st->lit) {
			snprintf(
			    why, whylen,
			    "expected a number, a quoted string, true, false or null in filter");
			return -EINVAL;
		}
		skip_ws(&p);
	}
	if (*p != ')' || p[1] != ']') {
		snprintf(why, whylen, "expected )] to close the filter");
		return -EINVAL;
	}
	*s = p + 2;
	return 0;
}

/*
 * Grammar:
 *   path     := "$" step*
 *   step     := "." name | ".*" | ".." name | "..*" | [".."] "[" selector "]"
 *   selector := integer | "*" | quoted | "?(" filter ")"
 *   name     := any characters but . [ ] ( ) ' " @ $ ? * = ! < > & | and blanks
 *   quoted   := "'" ... "'" | '"' ... '"'   (backslash escapes the next character)
 * Negative indexes count from the end.
 */
int fl_jsonpath_compile(const char *expr, struct fl_jsonpath **out, char *why, size_t whylen)
{
	struct fl_jsonpath *p;
	const char *s = expr;
	int r = -EINVAL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	skip_ws(&s);
	if (*s != '$') {
		snprintf(why, whylen, "a path starts with $");
		goto fail;
	}
	s++;
	while (*s && *s != ' ' && *s != '\t') {
		struct jp_step *st;

		if (p->n >= JP_STEPS_MAX) {
			snprintf(why, whylen, "more than %d steps", JP_STEPS_MAX);
			goto fail;
		}
		st = &p->steps[p->n++];
		if (s[0] == '.' && s[1] == '.') {
			st->recursive = true;
			s += 2;
			if (*s != '[' && *s != '*') {
				st->sel = JP_KEY;
				st->key = parse_name(&s);
				if (!st->key) {
					snprintf(why, whylen, "expected a member name after ..");
					goto fail;
				}
				continue;
			}
		} else if (s[0] == '.') {
			s++;
			if (*s != '*') {
				st->sel = JP_KEY;
				st->key = parse_name(&s);
				if (!st->key) {
					snprintf(why, whylen, "expected a member name after .");
					goto fail;
				}
				continue;
			}
		}
		if (*s == '*') {
			st->sel = JP_WILD;
			s++;
			continue;
		}
		if (*s != '[') {
			snprintf(why, whylen, "unexpected %c at offset %zu", *s,
				 (size_t)(s - expr));
			goto fail;
		}
		s++;
		skip_ws(&s);
		if (*s == '*') {
			st->sel = JP_WILD;
			s++;
		} else if (*s == '\'' || *s == '"') {
			st->sel = JP_KEY;
			st->key = parse_quoted(&s);
			if (!st->key) {
				snprintf(why, whylen, "unterminated quoted member name");
				goto fail;
			}
		} else if (*s == '-' || isdigit((unsigned char)*s)) {
			char *end;

			errno = 0;
			st->sel = JP_INDEX;
			st->index = strtol(s, &end, 10);
			if (errno || end == s || (*s == '-' && end == s + 1)) {
				snprintf(why, whylen, "bad index");
				goto fail;
			}
			s = end;
		} else if (s[0] == '?' && s[1] == '(') {
			st->sel = JP_FILTER;
			s += 2;
			r = parse_filter(&s, st, why, whylen);
			if (r < 0)
				goto fail;
			r = -EINVAL;
			continue;
		} else {
			snprintf(
			    why, whylen,
			    "expected an index, *, a quoted name or ?(filter) inside [ ] (slices "
			    "and unions are not supported)");
			goto fail;
		}
		skip_ws(&s);
		if (*s == ':' || *s == ',') {
			snprintf(why, whylen, "%s are not supported (offset %zu)",
				 *s == ':' ? "slices" : "unions", (size_t)(s - expr));
			goto fail;
		}
		if (*s != ']') {
			snprintf(why, whylen, "expected ] at offset %zu", (size_t)(s - expr));
			goto fail;
		}
		s++;
	}
	skip_ws(&s);
	if (*s) {
		snprintf(why, whylen, "unexpected text at offset %zu", (size_t)(s - expr));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	fl_jsonpath_free(p);
	return r;
}

/* Nodes one evaluation may visit: `..` over many matches could otherwise take ages. */
#define JP_VISITS_MAX (4u * 1024 * 1024)

struct jp_set {
	const cJSON **v;
	size_t n, max;
	bool full;
	size_t *visits;
};

static void set_push(struct jp_set *s, const cJSON *j)
{
	if (s->n >= s->max) {
		s->full = true;
		return;
	}
	s->v[s->n++] = j;
}

/* Compare a filter operand with the literal; mismatched types only match for != */
static bool filter_cmp(const cJSON *v, enum jp_op op, const cJSON *lit)
{
	int c;

	if (cJSON_IsNumber(v) && cJSON_IsNumber(lit)) {
		c = v->valuedouble < lit->valuedouble ? -1 : v->valuedouble > lit->valuedouble;
	} else if (cJSON_IsString(v) && cJSON_IsString(lit)) {
		c = strcmp(v->valuestring, lit->valuestring);
		c = c < 0 ? -1 : c > 0;
	} else if (cJSON_IsBool(v) && cJSON_IsBool(lit)) {
		c = cJSON_IsTrue(v) == cJSON_IsTrue(lit) ? 0 : 2;
	} else if (cJSON_IsNull(v) && cJSON_IsNull(lit)) {
		c = 0;
	} else {
		return op == JP_NE;
	}
	switch (op) {
	case JP_EQ:
		return c == 0;
	case JP_NE:
		return c != 0;
	case JP_LT:
		return c == -1;
	case JP_LE:
		return c == -1 || c == 0;
	case JP_GT:
		return c == 1;
	case JP_GE:
		return c == 1 || c == 0;
	case JP_EXISTS:
		return true;
	}
	return false;
}

static bool filter_match(const struct jp_step *st, const cJSON *el)
{
	const cJSON *v = el;

	for (size_t k = 0; k < st->nfkeys; k++) {
		if (!st->fkeys[k]) {
			long i = st->fidx[k], n;

			if (!cJSON_IsArray(v))
				return false;
			n = cJSON_GetArraySize(v);
			if (i < 0)
				i += n; /* Python: [-1] is the last */
			if (i < 0 || i >= n)
				return false;
			v = cJSON_GetArrayItem(v, (int)i);
			continue;
		}
		if (!cJSON_IsObject(v))
			return false;
		v = cJSON_GetObjectItemCaseSensitive(v, st->fkeys[k]);
		if (!v)
			return false;
	}
	if (st->op == JP_EXISTS)
		return true;
	return filter_cmp(v, st->op, st->lit);
}

/* Apply a non-recursive selector to one node. */
static void select_one(const struct jp_step *st, const cJSON *node, struct jp_set *out)
{
	const cJSON *it;

	switch (st->sel) {
	case JP_KEY:
		if (cJSON_IsObject(node)) {
			it = cJSON_GetObjectItemCaseSensitive(node, st->key);
			if (it)
				set_push(out, it);
		}
		break;
	case JP_INDEX:
		if (cJSON_IsArray(node)) {
			long n = cJSON_GetArraySize(node), i = st->index;

			if (i < 0)
				i += n;
			if (i >= 0 && i < n)
				set_push(out, cJSON_GetArrayItem(node, (int)i));
		}
		break;
	case JP_WILD:
		if (cJSON_IsArray(node) || cJSON_IsObject(node))
			cJSON_ArrayForEach(it, node) set_push(out, it);
		break;
	case JP_FILTER:
		/* jsonpath2 (what Chaos Toolkit uses) tests the node itself; on a list we
		 * test each element, as Goessner's JSONPath does (jsonpath2 would find
		 * no member of a list anyway) */
		if (cJSON_IsArray(node)) {
			cJSON_ArrayForEach(it, node) if (filter_match(st, it)) set_push(out, it);
		} else if (filter_match(st, node)) {
			set_push(out, node);
		}
		break;
	}
}

static void select_recursive(const struct jp_step *st, const cJSON *node, struct jp_set *out,
			     unsigned depth)
{
	const cJSON *it;

	if (depth > 256 || out->full)
		return;
	if (++*out->visits > JP_VISITS_MAX) {
		out->full = true;
		return;
	}
	if (st->sel == JP_FILTER) {
		/* every node of the tree that passes, each once */
		if (filter_match(st, node))
			set_push(out, node);
	} else {
		select_one(st, node, out);
	}
	if (cJSON_IsArray(node) || cJSON_IsObject(node))
		cJSON_ArrayForEach(it, node) select_recursive(st, it, out, depth + 1);
}

int fl_jsonpath_eval(const struct fl_jsonpath *p, const cJSON *doc, const cJSON **matches,
		     size_t max, size_t *n)
{
	struct jp_set cur = {0}, next = {0};
	size_t visits = 0;
	int r = 0;

	*n = 0;
	if (max == 0)
		return -E2BIG;
	cur.v = malloc(max * sizeof(*cur.v));
	next.v = malloc(max * sizeof(*next.v));
	if (!cur.v || !next.v) {
		r = -ENOMEM;
		goto out;
	}
	cur.max = next.max = max;
	cur.visits = next.visits = &visits;
	cur.v[cur.n++] = doc;
	for (size_t i = 0; i < p->n; i++) {
		const cJSON **tmp;

		next.n = 0;
		for (size_t k = 0; k < cur.n && !next.full; k++) {
			if (p->steps[i].recursive)
				select_recursive(&p->steps[i], cur.v[k], &next, 0);
			else
				select_one(&p->steps[i], cur.v[k], &next);
		}
		if (next.full) {
			r = -E2BIG;
			goto out;
		}
		tmp = cur.v;
		cur.v = next.v;
		next.v = tmp;
		cur.n = next.n;
	}
	memcpy(matches, cur.v, cur.n * sizeof(*matches));
	*n = cur.n;
out:
	free(cur.v);
	free(next.v);
	return r;
}
