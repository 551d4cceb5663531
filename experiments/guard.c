/*
 * Input guards: what holds for a whole experiment document before any of it
 * is read as an experiment (size, nesting, string and key lengths, keys given
 * twice). Format-independent: the JSON and YAML readers both end here.
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/yaml.h"

/* cJSON itself refuses input nested deeper than this; we stop earlier, with a path. */
#define PRESCAN_DEPTH_MAX 512

/* ---- raw-text checks ------------------------------------------------------------ */

/* Deepest nesting of [ and { outside strings; *line is where it first passes `limit`. */
static unsigned prescan_depth(const char *s, size_t len, unsigned limit, unsigned *line)
{
	unsigned depth = 0, max = 0, ln = 1;
	bool in_str = false;

	*line = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\n')
			ln++;
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				max = depth;
				if (max == limit + 1)
					*line = ln;
			}
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return max;
}

static void line_col(const char *s, const char *at, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = s; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Length of a valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* 0 when s is valid UTF-8, else the offset + 1 of the first bad byte. */
static size_t utf8_bad(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (!n)
			return (size_t)(p - (const unsigned char *)s) + 1;
		p += n;
	}
	return 0;
}

struct walk {
	struct fl_errlist *errs;
	const struct fl_parse_opts *o;
	bool nul_marked; /* the text had \u0000 escapes, now \u0001: flag strings holding 0x01 */
};

static void check_text(struct walk *w, const char *s, const char *path, const char *what)
{
	size_t bad = utf8_bad(s);

	if (bad)
		fl_experr(w->errs, -EILSEQ, path, "%s is not valid UTF-8 (byte %zu)", what, bad);
	else if (w->nul_marked && strchr(s, '\x01'))
		fl_experr(w->errs, -EINVAL, path,
			  "%s holds \\u0000 (a NUL character), which would cut it short", what);
}

/*
 * Keys given twice: Python's json (Chaos Toolkit) keeps the last; so do we,
 * with a warning (an error under --strict). Keys are sorted with their
 * positions (not compared pairwise) so a 1 MiB object of tiny members costs
 * n log n, not n^2.
 */
struct key_at {
	const char *key;
	size_t pos;
	cJSON *item;
};

static int key_at_cmp(const void *a, const void *b)
{
	const struct key_at *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

static void dedup_keys(struct walk *w, cJSON *obj, const char *path)
{
	struct key_at *keys;
	size_t n = 0, i = 0;
	cJSON *it;

	for (it = obj->child; it; it = it->next)
		n++;
	if (n < 2)
		return;
	keys = malloc(n * sizeof(*keys));
	if (!keys) {
		fl_experr(w->errs, -ENOMEM, path, "out of memory");
		return;
	}
	for (it = obj->child; it; it = it->next, i++)
		keys[i] = (struct key_at){it->string, i, it};
	qsort(keys, n, sizeof(*keys), key_at_cmp);
	for (i = 0; i + 1 < n; i++) {
		char p[FL_PATH_MAX];

		if (strcmp(keys[i].key, keys[i + 1].key))
			continue;
		fl_path_key(p, sizeof(p), path, keys[i].key);
		if (w->o->strict) {
			fl_experr(w->errs, -EINVAL, p, "duplicate key");
			continue;
		}
		if (w->o->warnings && (i == 0 || strcmp(keys[i - 1].key, keys[i].key)))
			fl_experr(w->o->warnings, -EINVAL, p,
				  "key given twice: the last one is used (as Chaos Toolkit does)");
		cJSON_Delete(cJSON_DetachItemViaPointer(obj, keys[i].item));
	}
	free(keys);
}

/* Caps that hold for the whole document: depth, string and key lengths, text, keys twice. */
static void walk(struct walk *w, cJSON *j, const char *path, unsigned depth)
{
	cJSON *it;
	size_t i = 0;

	if (cJSON_IsString(j)) {
		if (strlen(j->valuestring) > FL_EXP_STRING_MAX)
			fl_experr(w->errs, -E2BIG, path,
				  "string of %zu bytes is longer than the limit of %d",
				  strlen(j->valuestring), FL_EXP_STRING_MAX);
		else
			check_text(w, j->valuestring, path, "the string");
		return;
	}
	if (cJSON_IsNumber(j) && !isfinite(j->valuedouble)) {
		fl_experr(w->errs, -ERANGE, path, "number out of range");
		return;
	}
	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return;
	if (depth > FL_EXP_NESTING_MAX) {
		fl_experr(w->errs, -E2BIG, path, "nested deeper than %d levels",
			  FL_EXP_NESTING_MAX);
		return;
	}
	if (cJSON_IsObject(j))
		dedup_keys(w, j, path);
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX];

		if (cJSON_IsObject(j)) {
			if (strlen(it->string) > FL_EXP_NAME_MAX) {
				char q[64];

				fl_experr(w->errs, -E2BIG, path, "key %s is longer than %d bytes",
					  fl_quote(it->string, q, sizeof(q)), FL_EXP_NAME_MAX);
				continue;
			}
			fl_path_key(p, sizeof(p), path, it->string);
			check_text(w, it->string, p, "the key");
		} else {
			fl_path_index(p, sizeof(p), path, i++);
		}
		walk(w, it, p, depth + 1);
	}
}

void fl_guard_tree(cJSON *root, const struct fl_parse_opts *o, struct fl_errlist *errs)
{
	static const struct fl_parse_opts dflt;
	struct walk w = {.errs = errs, .o = o ? o : &dflt};

	walk(&w, root, "$", 1);
}

/*
 * \u0000 escapes inside strings: cJSON decodes them into a NUL that ends the
 * C string, so "/bin/true\u0000; touch x" would silently become "/bin/true".
 * Rewrite them in our copy as \u0001 and let the tree walk name the string.
 * Returns whether any was found.
 */
static bool mark_nul_escapes(char *s, size_t len)
{
	bool in_str = false, found = false;

	for (size_t i = 0; i < len; i++) {
		if (!in_str) {
			in_str = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_str = false;
		} else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len && !strncmp(s + i + 2, "0000", 4)) {
				s[i + 5] = '1';
				found = true;
			}
			i++;
		}
	}
	return found;
}

static bool looks_like_json(const char *buf, size_t len)
{
	size_t i = 0;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/*
 * Grammar: a JSON object, or a YAML 1.1 mapping (what PyYAML's safe_load
 * reads, through core/yaml.c). o->format says which; FL_DOC_AUTO looks at
 * the first character that is not a blank: '{' or '[' is JSON.
 */
cJSON *fl_guard_parse(const char *buf, size_t len, const struct fl_parse_opts *o,
		      struct fl_errlist *errs)
{
	static const struct fl_parse_opts dflt;
	struct walk w = {.errs = errs, .o = o ? o : &dflt};
	enum fl_doc_format fmt = w.o->format;
	size_t before = errs->n + errs->dropped;
	cJSON *root = NULL;
	char *copy = NULL;
	const char *end = NULL;
	unsigned line, col, depth;

	if (len > FL_EXP_FILE_MAX) {
		fl_experr(errs, -E2BIG, "$",
			  "the experiment is %zu bytes, more than the limit of %d", len,
			  FL_EXP_FILE_MAX);
		return NULL;
	}
	if (len == 0 || !buf) {
		fl_experr(errs, -EINVAL, "$", "empty input: expected a JSON or YAML object");
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		fl_experr(errs, -EINVAL, "$",
			  "the input contains a NUL byte; expected JSON or YAML text");
		return NULL;
	}
	if (fmt == FL_DOC_AUTO)
		fmt = looks_like_json(buf, len) ? FL_DOC_JSON : FL_DOC_YAML;
	if (fmt == FL_DOC_YAML) {
		struct fl_yaml_opts yo = {.typed = true,
					  .dup_last_wins = !w.o->strict,
					  .dups = w.o->warnings,
					  .aliases = true,
					  .max_depth = FL_EXP_NESTING_MAX,
					  .max_nodes = FL_EXP_FILE_MAX / 4,
					  .what = "invalid YAML"};
		struct fl_error err = {0};

		if (fl_yaml_parse(buf, len, &yo, &root, &err) < 0) {
			fl_experr(errs, err.code, err.path[0] ? err.path : "$", "%s", err.msg);
			return NULL;
		}
		goto parsed;
	}
	depth = prescan_depth(buf, len, FL_EXP_NESTING_MAX, &line);
	if (depth > PRESCAN_DEPTH_MAX) {
		fl_experr(errs, -E2BIG, "$", "nested deeper than %d levels (from line %u)",
			  FL_EXP_NESTING_MAX, line);
		return NULL;
	}
	copy = malloc(len + 1);
	if (!copy) {
		fl_experr(errs, -ENOMEM, "$", "out of memory");
		return NULL;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	w.nul_marked = mark_nul_escapes(copy, len);
	/* length includes the NUL: with require_null_terminated cJSON checks it */
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!root) {
		if (!end || end < copy || end > copy + len)
			end = copy + len;
		line_col(copy, end, &line, &col);
		if (end >= copy + len)
			fl_experr(
			    errs, -EINVAL, "$",
			    "invalid JSON: the text ends early (line %u, column %u): truncated?",
			    line, col);
		else
			fl_experr(errs, -EINVAL, "$", "invalid JSON at line %u, column %u", line,
				  col);
		free(copy);
		return NULL;
	}
	free(copy);
parsed:
	if (!cJSON_IsObject(root)) {
		fl_experr(errs, -EINVAL, "$", "expected an experiment (a %s object), got %s",
			  fmt == FL_DOC_YAML ? "YAML" : "JSON", fl_json_kind(root));
		cJSON_Delete(root);
		return NULL;
	}
	walk(&w, root, "$", 1);
	if (errs->n + errs->dropped > before) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}
