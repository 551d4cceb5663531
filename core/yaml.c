/*
 * YAML -> cJSON through libyaml's event API (see core/yaml.h). The tree is
 * built node by node with the JSON path of each node kept alongside, so an
 * error names where it happened, and every node is counted against a cap
 * (aliases included: a "billion laughs" document stops at max_nodes).
 */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define DEPTH_DEFAULT 64
#define NODES_DEFAULT 100000
#define ANCHORS_MAX   256

struct anchor {
	char *name;
	cJSON *node; /* a copy, owned here */
};

struct yconv {
	yaml_parser_t p;
	const struct fl_yaml_opts *o;
	size_t nodes, max_nodes, max_depth;
	struct fl_error *err;
	struct anchor anchors[ANCHORS_MAX];
	size_t n_anchors;
};

static const char *what(const struct yconv *y)
{
	return y->o->what ? y->o->what : "YAML";
}

static int fail_at(struct yconv *y, int code, const char *path, const yaml_mark_t *m,
		   const char *msg)
{
	return fl_error_set(y->err, code, path, "%s: line %zu, column %zu: %s", what(y),
			    (size_t)m->line + 1, (size_t)m->column + 1, msg);
}

static int next(struct yconv *y, const char *path, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev)) {
		char msg[256];

		snprintf(msg, sizeof(msg), "YAML error: %s%s%s",
			 y->p.problem ? y->p.problem : "malformed YAML", y->p.context ? " " : "",
			 y->p.context ? y->p.context : "");
		return fail_at(y, -EINVAL, path, &y->p.problem_mark, msg);
	}
	return 0;
}

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
			return false;
	return true;
}

static void path_key(char *out, size_t len, const char *parent, const char *key)
{
	if (plain_key(key))
		snprintf(out, len, "%s.%s", parent, key);
	else
		snprintf(out, len, "%s['%.64s']", parent, key);
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Digits of `base` with '_' separators, at least one digit. */
static bool digits(const char *s, int base)
{
	bool any = false;

	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
						 : (*s == '_' ? -2 : -1);

		if (d == -2)
			continue;
		if (d < 0 || d >= base)
			return false;
		any = true;
	}
	return any;
}

static double parse_base(const char *s, int base)
{
	double v = 0;

	for (; *s; s++) {
		if (*s == '_')
			continue;
		v = v * base + (*s <= '9' ? *s - '0' : (*s >= 'a' ? *s - 'a' + 10 : *s - 'A' + 10));
	}
	return v;
}

/* PyYAML's float: [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? (a dot is needed). */
static bool yaml11_float(const char *s, double *out)
{
	const char *p = s;
	char buf[128];
	size_t n = 0;
	bool dot = false, mant = false;

	if (*p == '-' || *p == '+')
		p++;
	for (; *p && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			if (dot)
				return false;
			dot = true;
		} else if (*p >= '0' && *p <= '9') {
			mant = true;
		} else if (*p != '_' || !mant) {
			return false;
		}
	}
	if (!dot || !mant)
		return false;
	if (*p) {
		p++;
		if (*p != '-' && *p != '+')
			return false;
		p++;
		if (!*p)
			return false;
		for (; *p; p++)
			if (*p < '0' || *p > '9')
				return false;
	}
	for (p = s; *p && n + 1 < sizeof(buf); p++)
		if (*p != '_')
			buf[n++] = *p;
	if (*p)
		return false;
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

/* A plain scalar resolved as PyYAML's SafeLoader does; NULL when it is a string. */
static cJSON *resolve_plain(const char *s)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"yes",  "Yes", "YES", "true", "True",
					    "TRUE", "on",  "On",  "ON",	  NULL};
	static const char *const falses[] = {"no",    "No",  "NO",  "false", "False",
					     "FALSE", "off", "Off", "OFF",   NULL};
	const char *p = s;
	double sign = 1, v;

	if (one_of(s, nulls))
		return cJSON_CreateNull();
	if (one_of(s, trues))
		return cJSON_CreateTrue();
	if (one_of(s, falses))
		return cJSON_CreateFalse();
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (p[0] == '0' && p[1] == 'x' && digits(p + 2, 16))
		return cJSON_CreateNumber(sign * parse_base(p + 2, 16));
	if (p[0] == '0' && p[1] == 'o' && digits(p + 2, 8))
		return cJSON_CreateNumber(sign * parse_base(p + 2, 8));
	if (p[0] == '0' && p[1] == 'b' && digits(p + 2, 2))
		return cJSON_CreateNumber(sign * parse_base(p + 2, 2));
	if (p[0] == '0' && p[1] && digits(p + 1, 8)) /* YAML 1.1 octal: 0755 */
		return cJSON_CreateNumber(sign * parse_base(p + 1, 8));
	if (*p >= '0' && *p <= '9' && (*p != '0' || !p[1]) && p[0] != '_' && digits(p, 10))
		return cJSON_CreateNumber(sign * parse_base(p, 10));
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
		return cJSON_CreateNumber(sign * INFINITY);
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return cJSON_CreateNumber(NAN);
	if (yaml11_float(s, &v))
		return cJSON_CreateNumber(v);
	return NULL;
}

static cJSON *scalar(struct yconv *y, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	cJSON *n = NULL;

	if (tag && !strcmp(tag, YAML_STR_TAG))
		return cJSON_CreateString(s);
	if (!y->o->typed) {
		/* An empty plain scalar is YAML's null ("key:" with nothing after it). */
		if (ev->data.scalar.length == 0 && ev->data.scalar.plain_implicit)
			return cJSON_CreateNull();
		return cJSON_CreateString(s);
	}
	if (ev->data.scalar.plain_implicit || (tag && strncmp(tag, "tag:yaml.org,2002:", 18) == 0))
		n = resolve_plain(s);
	return n ? n : cJSON_CreateString(s);
}

static int remember_anchor(struct yconv *y, const char *path, const yaml_mark_t *m,
			   const yaml_char_t *name, const cJSON *node)
{
	struct anchor *a;

	if (!name)
		return 0;
	if (!y->o->aliases)
		return fail_at(y, -EINVAL, path, m, "anchors and aliases are not supported");
	if (y->n_anchors == ANCHORS_MAX)
		return fail_at(y, -E2BIG, path, m, "too many anchors");
	a = &y->anchors[y->n_anchors];
	a->name = strdup((const char *)name);
	a->node = cJSON_Duplicate(node, 1);
	if (!a->name || !a->node) {
		free(a->name);
		cJSON_Delete(a->node);
		return fl_error_set(y->err, -ENOMEM, path, "out of memory");
	}
	y->n_anchors++;
	return 0;
}

static size_t count_nodes(const cJSON *j)
{
	size_t n = 1;

	for (const cJSON *c = j->child; c; c = c->next)
		n += count_nodes(c);
	return n;
}

static int node(struct yconv *y, yaml_event_t *ev, const char *path, size_t depth, cJSON **out);

static int alias(struct yconv *y, yaml_event_t *ev, const char *path, cJSON **out)
{
	const char *name = (const char *)ev->data.alias.anchor;

	if (!y->o->aliases)
		return fail_at(y, -EINVAL, path, &ev->start_mark,
			       "anchors and aliases are not supported");
	for (size_t i = y->n_anchors; i-- > 0;) {
		if (strcmp(y->anchors[i].name, name))
			continue;
		y->nodes += count_nodes(y->anchors[i].node);
		if (y->nodes > y->max_nodes)
			return fail_at(y, -E2BIG, path, &ev->start_mark,
				       "too many nodes (aliases included)");
		*out = cJSON_Duplicate(y->anchors[i].node, 1);
		return *out ? 0 : fl_error_set(y->err, -ENOMEM, path, "out of memory");
	}
	return fail_at(y, -EINVAL, path, &ev->start_mark, "alias to an unknown anchor");
}

static int collection(struct yconv *y, yaml_event_t *ev, const char *path, size_t depth,
		      cJSON **out)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	cJSON *n = map ? cJSON_CreateObject() : cJSON_CreateArray();
	yaml_mark_t start = ev->start_mark;
	const yaml_char_t *anchor =
	    map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	char *anchor_copy = anchor ? strdup((const char *)anchor) : NULL;
	size_t i = 0;
	int r = 0;

	if (!n || (anchor && !anchor_copy)) {
		r = fl_error_set(y->err, -ENOMEM, path, "out of memory");
		goto fail;
	}
	for (;; i++) {
		yaml_event_t e;
		char *key = NULL, cpath[FL_ERROR_PATH_MAX];
		cJSON *child = NULL, *old;

		r = next(y, path, &e);
		if (r < 0)
			goto fail;
		if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (map) {
			if (e.type != YAML_SCALAR_EVENT) {
				r = fail_at(y, -EINVAL, path, &e.start_mark,
					    "a mapping key must be a plain value");
				yaml_event_delete(&e);
				goto fail;
			}
			if (strlen((const char *)e.data.scalar.value) != e.data.scalar.length) {
				r = fail_at(y, -EINVAL, path, &e.start_mark,
					    "a key holds a NUL character");
				yaml_event_delete(&e);
				goto fail;
			}
			key = strdup((const char *)e.data.scalar.value);
			yaml_event_delete(&e);
			if (!key) {
				r = fl_error_set(y->err, -ENOMEM, path, "out of memory");
				goto fail;
			}
			path_key(cpath, sizeof(cpath), path, key);
			r = next(y, cpath, &e);
			if (r < 0) {
				free(key);
				goto fail;
			}
		} else {
			snprintf(cpath, sizeof(cpath), "%s[%zu]", path, i);
		}
		r = node(y, &e, cpath, depth + 1, &child);
		if (r < 0) {
			yaml_event_delete(&e);
			free(key);
			goto fail;
		}
		if (map && (old = cJSON_GetObjectItemCaseSensitive(n, key))) {
			if (!y->o->dup_last_wins) {
				r = fail_at(y, -EINVAL, cpath, &e.start_mark, "duplicate key");
				yaml_event_delete(&e);
				cJSON_Delete(child);
				free(key);
				goto fail;
			}
			if (y->o->dups)
				fl_errlist_add(y->o->dups, -EINVAL, cpath,
					       "line %zu: key given twice: the last one is used",
					       (size_t)e.start_mark.line + 1);
			cJSON_DeleteItemFromObjectCaseSensitive(n, key);
		}
		yaml_event_delete(&e);
		if (map) {
			cJSON_AddItemToObject(n, key, child);
			free(key);
		} else {
			cJSON_AddItemToArray(n, child);
		}
	}
	r = remember_anchor(y, path, &start, (const yaml_char_t *)anchor_copy, n);
	if (r < 0)
		goto fail;
	free(anchor_copy);
	*out = n;
	return 0;
fail:
	free(anchor_copy);
	cJSON_Delete(n);
	return r;
}

static int node(struct yconv *y, yaml_event_t *ev, const char *path, size_t depth, cJSON **out)
{
	cJSON *n;
	int r;

	*out = NULL;
	if (depth > y->max_depth)
		return fail_at(y, -E2BIG, path, &ev->start_mark, "nested too deep");
	if (++y->nodes > y->max_nodes)
		return fail_at(y, -E2BIG, path, &ev->start_mark, "too many nodes");
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return alias(y, ev, path, out);
	case YAML_SCALAR_EVENT:
		if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length)
			return fail_at(y, -EINVAL, path, &ev->start_mark,
				       "the value holds a NUL character (\\0), which would cut it "
				       "short");
		n = scalar(y, ev);
		if (!n)
			return fl_error_set(y->err, -ENOMEM, path, "out of memory");
		r = remember_anchor(y, path, &ev->start_mark, ev->data.scalar.anchor, n);
		if (r < 0) {
			cJSON_Delete(n);
			return r;
		}
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return collection(y, ev, path, depth, out);
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	}
	return fail_at(y, -EINVAL, path, &ev->start_mark, "unexpected YAML event");
}

int fl_yaml_parse(const char *text, size_t len, const struct fl_yaml_opts *o, cJSON **out,
		  struct fl_error *err)
{
	struct yconv y = {.o = o, .err = err};
	yaml_event_t ev;
	cJSON *root = NULL;
	int r = 0;

	*out = NULL;
	y.max_depth = o->max_depth ? o->max_depth : DEPTH_DEFAULT;
	y.max_nodes = o->max_nodes ? o->max_nodes : NODES_DEFAULT;
	if (!yaml_parser_initialize(&y.p))
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
	for (;;) {
		r = next(&y, "$", &ev);
		if (r < 0)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT ||
		    ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (root) {
			r = fail_at(&y, -EINVAL, "$", &ev.start_mark, "more than one document");
			yaml_event_delete(&ev);
			goto out;
		}
		r = node(&y, &ev, "$", 0, &root);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}
	if (!root) {
		/* an empty document is None to PyYAML: the caller says what it wanted */
		root = cJSON_CreateNull();
		if (!root) {
			r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	*out = root;
	root = NULL;
out:
	cJSON_Delete(root);
	for (size_t i = 0; i < y.n_anchors; i++) {
		free(y.anchors[i].name);
		cJSON_Delete(y.anchors[i].node);
	}
	yaml_parser_delete(&y.p);
	return r;
}
