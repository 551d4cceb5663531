/*
 * The experiment parser and validator: JSON text -> struct fl_experiment.
 *
 * Order of work: size and nesting caps on the raw text, cJSON parse, a walk
 * enforcing string/key caps, configuration and secrets resolution, ${name}
 * substitution (a new tree), then the typed parse which records every
 * problem with its JSON path. Only when no error was found is an experiment
 * handed out. No cJSON pointer from the input survives the call.
 */
#include "experiments/experiment.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/duration.h"
#include "experiments/internal.h"

/* cJSON itself refuses input nested deeper than this; we stop earlier, with a path. */
#define PRESCAN_DEPTH_MAX 512
#define URL_MAX		  8192
#define PROCESS_PATH_MAX  4096
#define HTTP_RETRIES_MAX  100

enum list_kind { LIST_HYPOTHESIS, LIST_METHOD, LIST_ROLLBACKS, LIST_ABORT };
/* Lists of probes judged by a tolerance: the hypothesis and "abort" (slo_parse.c). */
#define JUDGED(kind) ((kind) == LIST_HYPOTHESIS || (kind) == LIST_ABORT)

/* An activity seen so far, for `ref` lookups. */
struct named {
	const char *name;
	const cJSON *json; /* the substituted activity (owned by the parse) */
	struct fl_activity *a;
	enum list_kind kind;
};

struct parse_ctx {
	struct fl_errlist *errs;
	struct named *named; /* activities parsed so far, in document order */
	size_t n_named;
	char **all_names; /* every activity name in the document, to explain forward refs */
	size_t n_all;
};

#define ERR(ctx, code, path, ...) fl_experr((ctx)->errs, code, path, __VA_ARGS__)

const char *fl_activity_type_name(enum fl_activity_type t)
{
	switch (t) {
	case FL_ACTIVITY_ACTION:
		return "action";
	case FL_ACTIVITY_PROBE:
		return "probe";
	case FL_ACTIVITY__MAX:
		break;
	}
	return "?";
}

const char *fl_provider_type_name(enum fl_provider_type t)
{
	switch (t) {
	case FL_PROVIDER_PROCESS:
		return "process";
	case FL_PROVIDER_HTTP:
		return "http";
	case FL_PROVIDER_FAULT:
		return "fault";
	case FL_PROVIDER_LOAD:
		return "load";
	case FL_PROVIDER_PROMETHEUS:
		return "prometheus";
	case FL_PROVIDER_TCP:
		return "tcp";
	case FL_PROVIDER_RUNNING:
		return "running";
	case FL_PROVIDER__MAX:
		break;
	}
	return "?";
}

const char *fl_rollback_strategy_name(enum fl_rollback_strategy s)
{
	switch (s) {
	case FL_ROLLBACK_ALWAYS:
		return "always";
	case FL_ROLLBACK_DEFAULT:
		return "default";
	case FL_ROLLBACK_DEVIATED:
		return "deviated";
	case FL_ROLLBACK_NEVER:
		return "never";
	case FL_ROLLBACK__MAX:
		break;
	}
	return "?";
}

int fl_rollback_strategy_parse(const char *s, enum fl_rollback_strategy *out)
{
	for (int i = 0; i < FL_ROLLBACK__MAX; i++) {
		if (!strcmp(s, fl_rollback_strategy_name((enum fl_rollback_strategy)i))) {
			*out = (enum fl_rollback_strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- freeing ------------------------------------------------------------------ */

static void kvs_free(struct fl_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static void provider_done(struct fl_provider *p)
{
	free(p->path);
	fl_strv_free(p->argv);
	free(p->url);
	free(p->method);
	kvs_free(p->headers, p->n_headers);
	free(p->body);
	free(p->kind);
	free(p->target_json);
	free(p->params_json);
	fl_strv_free(p->agents);
	fl_slo_provider_done(p);
	memset(p, 0, sizeof(*p));
}

static void activity_done(struct fl_activity *a)
{
	free(a->name);
	provider_done(&a->provider);
	fl_tolerance_done(&a->tolerance);
	free(a->json_path);
	memset(a, 0, sizeof(*a));
}

static void list_done(struct fl_activity_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		activity_done(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void fl_experiment_free(struct fl_experiment *e)
{
	if (!e)
		return;
	free(e->title);
	free(e->description);
	fl_strv_free(e->tags);
	kvs_free(e->config, e->n_config);
	free(e->hypothesis_title);
	list_done(&e->hypothesis);
	list_done(&e->method);
	list_done(&e->rollbacks);
	list_done(&e->abort);
	free(e->source_path);
	free(e->canonical_json);
	free(e);
}

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

/* Caps that hold for the whole document: depth, string and key lengths. */
static void walk_limits(const cJSON *j, const char *path, unsigned depth, struct parse_ctx *ctx)
{
	const cJSON *it;
	size_t i = 0;

	if (cJSON_IsString(j) && strlen(j->valuestring) > FL_EXP_STRING_MAX) {
		ERR(ctx, -E2BIG, path, "string of %zu bytes is longer than the limit of %d",
		    strlen(j->valuestring), FL_EXP_STRING_MAX);
		return;
	}
	if (cJSON_IsNumber(j) && !isfinite(j->valuedouble)) {
		ERR(ctx, -ERANGE, path, "number out of range");
		return;
	}
	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return;
	if (depth > FL_EXP_NESTING_MAX) {
		ERR(ctx, -E2BIG, path, "nested deeper than %d levels", FL_EXP_NESTING_MAX);
		return;
	}
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX];

		if (cJSON_IsObject(j)) {
			if (strlen(it->string) > FL_EXP_NAME_MAX) {
				char q[64];

				ERR(ctx, -E2BIG, path, "key %s is longer than %d bytes",
				    fl_quote(it->string, q, sizeof(q)), FL_EXP_NAME_MAX);
				continue;
			}
			fl_path_key(p, sizeof(p), path, it->string);
		} else {
			fl_path_index(p, sizeof(p), path, i++);
		}
		walk_limits(it, p, depth + 1, ctx);
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Duplicate keys: cJSON keeps both and GetObjectItem finds the first; refuse
 * them. Keys are sorted (not compared pairwise) so a 1 MiB object of tiny
 * members costs n log n, not n^2.
 */
static void walk_dup_keys(const cJSON *j, const char *path, struct parse_ctx *ctx)
{
	const cJSON *it;
	size_t i = 0, n = 0;

	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return;
	if (cJSON_IsObject(j)) {
		const char **keys;

		for (it = j->child; it; it = it->next)
			n++;
		keys = n > 1 ? malloc(n * sizeof(*keys)) : NULL;
		if (keys) {
			for (it = j->child; it; it = it->next)
				keys[i++] = it->string;
			qsort(keys, n, sizeof(*keys), key_cmp);
			for (i = 1; i < n; i++) {
				char p[FL_PATH_MAX];

				if (!strcmp(keys[i - 1], keys[i]) &&
				    (i < 2 || strcmp(keys[i - 2], keys[i])))
					ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, keys[i]),
					    "duplicate key");
			}
			free(keys);
		} else if (n > 1) {
			ERR(ctx, -ENOMEM, path, "out of memory");
		}
	}
	i = 0;
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX];

		if (cJSON_IsObject(j))
			fl_path_key(p, sizeof(p), path, it->string);
		else
			fl_path_index(p, sizeof(p), path, i++);
		walk_dup_keys(it, p, ctx);
	}
}

/* ---- typed helpers ---------------------------------------------------------------- */

static bool key_known(const char *k, const char *const *known)
{
	for (; *known; known++)
		if (!strcmp(k, *known))
			return true;
	return false;
}

static void check_keys(struct parse_ctx *ctx, const cJSON *obj, const char *path,
		       const char *const *known, const char *what)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		char p[FL_PATH_MAX];

		if (!key_known(it->string, known))
			ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, it->string),
			    "unknown key in %s", what);
	}
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A required or optional string; NULL when absent or wrong (error recorded). */
static char *get_string(struct parse_ctx *ctx, const cJSON *obj, const char *key, const char *path,
			bool required, size_t max, const char *what)
{
	const cJSON *v = get(obj, key);
	char p[FL_PATH_MAX], got[96];
	char *s;

	fl_path_key(p, sizeof(p), path, key);
	if (!v) {
		if (required)
			ERR(ctx, -EINVAL, p, "missing: expected %s", what);
		return NULL;
	}
	if (!cJSON_IsString(v) || (required && !v->valuestring[0])) {
		ERR(ctx, -EINVAL, p, "expected %s, got %s", what, fl_json_got(v, got, sizeof(got)));
		return NULL;
	}
	if (strlen(v->valuestring) > max) {
		ERR(ctx, -E2BIG, p, "longer than %zu bytes", max);
		return NULL;
	}
	s = strdup(v->valuestring);
	if (!s)
		ERR(ctx, -ENOMEM, p, "out of memory");
	return s;
}

/*
 * Seconds: a JSON number, or a string holding one (what an env-backed
 * ${name} gives). `positive` refuses 0. Fills *ms; returns 0 or -EINVAL.
 */
static int get_seconds(struct parse_ctx *ctx, const cJSON *v, const char *p, bool positive,
		       uint64_t *ms)
{
	char got[96], *end;
	double d;
	int r;

	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring;

		while (isspace((unsigned char)*s))
			s++;
		d = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (end == s || *end || !isfinite(d) || !(isdigit((unsigned char)*s) || *s == '.'))
			return ERR(ctx, -EINVAL, p, "expected a number of seconds, got %s",
				   fl_json_got(v, got, sizeof(got)));
	} else {
		return ERR(ctx, -EINVAL, p, "expected a number of seconds, got %s",
			   fl_json_got(v, got, sizeof(got)));
	}
	if (d < 0)
		return ERR(ctx, -EINVAL, p, "expected a number of seconds >= 0, got %s",
			   fl_json_got(v, got, sizeof(got)));
	r = fl_seconds_to_ms(d, ms);
	if (r < 0)
		return ERR(ctx, -ERANGE, p, "%s seconds is more than the limit of %llu (7 days)",
			   fl_json_got(v, got, sizeof(got)),
			   (unsigned long long)(FL_DURATION_MAX_MS / 1000));
	if (positive && *ms == 0)
		return ERR(ctx, -EINVAL, p, "expected a number of seconds > 0, got %s",
			   fl_json_got(v, got, sizeof(got)));
	return 0;
}

/* Python's str() of a scalar, as Chaos Toolkit passes list arguments to processes. */
static char *py_str(const cJSON *v)
{
	char buf[64];

	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "True" : "False");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (fabs(d) < 1e15 && d == floor(d))
			snprintf(buf, sizeof(buf), "%.0f", d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	return NULL;
}

static int strv_add(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* ---- process provider --------------------------------------------------------------- */

/*
 * arguments := string                 split like Python shlex.split
 *            | [scalar, ...]          each str()'d; null and "" dropped (as CTK)
 *            | {name: scalar, ...}    flattened to name, value pairs (as CTK)
 */
static void parse_process_args(struct parse_ctx *ctx, const cJSON *args, const char *path,
			       struct fl_provider *p)
{
	char got[96], ip[FL_PATH_MAX];
	const cJSON *it;
	size_t i = 0;

	if (!args) {
		p->argv = calloc(1, sizeof(*p->argv));
		if (!p->argv)
			ERR(ctx, -ENOMEM, path, "out of memory");
		return;
	}
	if (cJSON_IsString(args)) {
		const char *why;
		int r = fl_shlex_split(args->valuestring, &p->argv, &p->argc, &why);

		if (r == -ENOMEM)
			ERR(ctx, r, path, "out of memory");
		else if (r < 0)
			ERR(ctx, r, path, "cannot split the command line: %s", why);
		return;
	}
	if (!cJSON_IsArray(args) && !cJSON_IsObject(args)) {
		ERR(ctx, -EINVAL, path,
		    "expected a list of arguments or a command-line string, got %s",
		    fl_json_got(args, got, sizeof(got)));
		return;
	}
	if (cJSON_GetArraySize(args) > FL_EXP_ARGS_MAX) {
		ERR(ctx, -E2BIG, path, "more than %d arguments", FL_EXP_ARGS_MAX);
		return;
	}
	p->argv = calloc(1, sizeof(*p->argv));
	if (!p->argv) {
		ERR(ctx, -ENOMEM, path, "out of memory");
		return;
	}
	cJSON_ArrayForEach(it, args)
	{
		if (cJSON_IsObject(args))
			fl_path_key(ip, sizeof(ip), path, it->string);
		else
			fl_path_index(ip, sizeof(ip), path, i++);
		if (cJSON_IsNull(it) || (cJSON_IsString(it) && !it->valuestring[0]))
			continue;
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
			ERR(ctx, -EINVAL, ip, "expected a string or a number, got %s",
			    fl_json_kind(it));
			continue;
		}
		if (cJSON_IsObject(args) && strv_add(&p->argv, &p->argc, strdup(it->string)) < 0) {
			ERR(ctx, -ENOMEM, ip, "out of memory");
			return;
		}
		if (strv_add(&p->argv, &p->argc, py_str(it)) < 0) {
			ERR(ctx, -ENOMEM, ip, "out of memory");
			return;
		}
	}
}

static void parse_process(struct parse_ctx *ctx, const cJSON *j, const char *path,
			  struct fl_provider *p)
{
	static const char *const known[] = {"type",    "path",	  "arguments",
					    "timeout", "secrets", NULL};
	char sp[FL_PATH_MAX];
	const cJSON *t;

	check_keys(ctx, j, path, known, "a process provider (known: path, arguments, timeout)");
	p->path = get_string(ctx, j, "path", path, true, PROCESS_PATH_MAX,
			     "the program to run (a path or a name looked up in PATH)");
	if (p->path && p->path[0] == '~' && (p->path[1] == '/' || !p->path[1]) && getenv("HOME")) {
		/* as Chaos Toolkit does with os.path.expanduser() */
		char *x = NULL;

		if (asprintf(&x, "%s%s", getenv("HOME"), p->path + 1) < 0) {
			ERR(ctx, -ENOMEM, path, "out of memory");
		} else {
			free(p->path);
			p->path = x;
		}
	}
	parse_process_args(ctx, get(j, "arguments"), fl_path_key(sp, sizeof(sp), path, "arguments"),
			   p);
	t = get(j, "timeout");
	if (t)
		get_seconds(ctx, t, fl_path_key(sp, sizeof(sp), path, "timeout"), true,
			    &p->timeout_ms);
}

/* ---- http provider ------------------------------------------------------------------ */

static bool token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

static int url_encode(struct fl_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			r = fl_buf_add(b, p, 1);
		} else if (*p == ' ') {
			r = fl_buf_add(b, "+", 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			r = fl_buf_add(b, e, 3);
		}
	}
	return r;
}

/*
 * Encode an object like Python requests does for params=/data=:
 * k=v&k2=v2, lists repeat the key, null values are dropped.
 */
static char *form_encode(struct parse_ctx *ctx, const cJSON *obj, const char *path)
{
	struct fl_buf b;
	const cJSON *it, *v;
	bool first = true, bad = false;
	int r = 0;

	fl_buf_init(&b, FL_EXP_STRING_MAX);
	cJSON_ArrayForEach(it, obj)
	{
		const cJSON *vals = cJSON_IsArray(it) ? it->child : it;
		char p[FL_PATH_MAX];

		fl_path_key(p, sizeof(p), path, it->string);
		for (v = vals; v; v = cJSON_IsArray(it) ? v->next : NULL) {
			char *s;

			if (cJSON_IsNull(v))
				continue;
			s = py_str(v);
			if (!s) {
				ERR(ctx, -EINVAL, p,
				    "a form or query value must be a string, number or boolean, "
				    "got %s (set Content-Type: application/json to send JSON)",
				    fl_json_kind(v));
				bad = true;
				break;
			}
			if (!first)
				r = fl_buf_add(&b, "&", 1);
			first = false;
			if (r == 0)
				r = url_encode(&b, it->string);
			if (r == 0)
				r = fl_buf_add(&b, "=", 1);
			if (r == 0)
				r = url_encode(&b, s);
			free(s);
			if (r < 0)
				break;
		}
		if (r < 0 || bad)
			break;
	}
	if (r < 0)
		ERR(ctx, r, path,
		    r == -E2BIG ? "encoded arguments are longer than %d bytes"
				: "out of memory (%d)",
		    FL_EXP_STRING_MAX);
	if (r < 0 || bad) {
		fl_buf_done(&b);
		return NULL;
	}
	{
		char *s = fl_buf_steal(&b);

		return s ? s : strdup("");
	}
}

static const char *header_get(const struct fl_provider *p, const char *name)
{
	for (size_t i = 0; i < p->n_headers; i++)
		if (!strcasecmp(p->headers[i].key, name))
			return p->headers[i].value;
	return NULL;
}

static int header_add(struct fl_provider *p, const char *k, const char *v)
{
	struct fl_kv *nv = realloc(p->headers, (p->n_headers + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	p->headers = nv;
	nv[p->n_headers].key = strdup(k);
	nv[p->n_headers].value = strdup(v);
	if (!nv[p->n_headers].key || !nv[p->n_headers].value) {
		free(nv[p->n_headers].key);
		free(nv[p->n_headers].value);
		return -ENOMEM;
	}
	p->n_headers++;
	return 0;
}

static void parse_headers(struct parse_ctx *ctx, const cJSON *h, const char *path,
			  struct fl_provider *p)
{
	const cJSON *it;

	if (!cJSON_IsObject(h)) {
		ERR(ctx, -EINVAL, path, "expected an object of header names to values, got %s",
		    fl_json_kind(h));
		return;
	}
	if (cJSON_GetArraySize(h) > FL_EXP_ARGS_MAX) {
		ERR(ctx, -E2BIG, path, "more than %d headers", FL_EXP_ARGS_MAX);
		return;
	}
	cJSON_ArrayForEach(it, h)
	{
		char hp[FL_PATH_MAX], *v;
		bool ok = it->string[0] != '\0';

		fl_path_key(hp, sizeof(hp), path, it->string);
		for (const char *c = it->string; *c; c++)
			if (!token_char(*c))
				ok = false;
		if (!ok) {
			ERR(ctx, -EINVAL, hp, "not a valid HTTP header name");
			continue;
		}
		if (!cJSON_IsString(it) && !cJSON_IsNumber(it)) {
			ERR(ctx, -EINVAL, hp, "expected a string, got %s", fl_json_kind(it));
			continue;
		}
		v = py_str(it);
		if (!v) {
			ERR(ctx, -ENOMEM, hp, "out of memory");
			return;
		}
		if (strpbrk(v, "\r\n")) {
			ERR(ctx, -EINVAL, hp, "a header value cannot contain a line break");
			free(v);
			continue;
		}
		if (header_add(p, it->string, v) < 0)
			ERR(ctx, -ENOMEM, hp, "out of memory");
		free(v);
	}
}

/*
 * HTTP arguments, as Chaos Toolkit (python requests) sends them:
 *   GET:    object -> query string appended to the URL; string -> appended as is
 *   others: string -> body as is; with Content-Type application/json any value is
 *           sent as JSON; otherwise an object is form-encoded (Content-Type added)
 *           and a list is sent as JSON (Content-Type added)
 */
static void parse_http_args(struct parse_ctx *ctx, const cJSON *args, const char *path,
			    struct fl_provider *p)
{
	const char *ct = header_get(p, "Content-Type");
	bool json_ct = ct && !strncasecmp(ct, "application/json", 16);
	char got[96];

	if (!args || cJSON_IsNull(args))
		return;
	if (!strcmp(p->method, "GET") || !strcmp(p->method, "HEAD")) {
		struct fl_buf b;
		char *q;
		int r;

		if (cJSON_IsString(args)) {
			q = strdup(args->valuestring);
		} else if (cJSON_IsObject(args)) {
			q = form_encode(ctx, args, path);
			if (!q)
				return;
		} else {
			ERR(ctx, -EINVAL, path,
			    "for a %s request, expected an object of query parameters, got %s",
			    p->method, fl_json_got(args, got, sizeof(got)));
			return;
		}
		if (!q) {
			ERR(ctx, -ENOMEM, path, "out of memory");
			return;
		}
		if (!p->url || !*q) {
			free(q);
			return;
		}
		fl_buf_init(&b, URL_MAX);
		r = fl_buf_printf(&b, "%s%s%s", p->url, strchr(p->url, '?') ? "&" : "?", q);
		free(q);
		if (r < 0) {
			ERR(ctx, r, path, "the URL with its query is longer than %d bytes",
			    URL_MAX);
			fl_buf_done(&b);
			return;
		}
		free(p->url);
		p->url = fl_buf_steal(&b);
		return;
	}
	if (cJSON_IsString(args) && !json_ct) {
		p->body = strdup(args->valuestring);
	} else if (cJSON_IsObject(args) && !json_ct) {
		p->body = form_encode(ctx, args, path);
		if (!p->body)
			return;
		if (!ct && header_add(p, "Content-Type", "application/x-www-form-urlencoded") < 0)
			ERR(ctx, -ENOMEM, path, "out of memory");
	} else {
		p->body = cJSON_PrintUnformatted(args);
		if (p->body && strlen(p->body) > FL_EXP_STRING_MAX) {
			ERR(ctx, -E2BIG, path, "the JSON body is longer than %d bytes",
			    FL_EXP_STRING_MAX);
			return;
		}
		if (!ct && header_add(p, "Content-Type", "application/json") < 0)
			ERR(ctx, -ENOMEM, path, "out of memory");
	}
	if (!p->body)
		ERR(ctx, -ENOMEM, path, "out of memory");
}

static void parse_http(struct parse_ctx *ctx, const cJSON *j, const char *path,
		       struct fl_provider *p)
{
	static const char *const known[] = {"type",
					    "url",
					    "method",
					    "headers",
					    "arguments",
					    "timeout",
					    "expected_status",
					    "verify_tls",
					    "max_retries",
					    "secrets",
					    NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	check_keys(ctx, j, path, known,
		   "an http provider (known: url, method, headers, arguments, timeout, "
		   "expected_status, verify_tls, max_retries)");
	p->expected_status = -1;
	p->verify_tls = true;
	p->url = get_string(ctx, j, "url", path, true, URL_MAX, "an http:// or https:// URL");
	if (p->url) {
		bool ok = !strncasecmp(p->url, "http://", 7) || !strncasecmp(p->url, "https://", 8);

		for (const char *c = p->url; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f)
				ok = false;
		if (!ok || strlen(p->url) <= strlen("http://"))
			ERR(ctx, -EINVAL, fl_path_key(sp, sizeof(sp), path, "url"),
			    "expected an http:// or https:// URL without blanks, got %s",
			    fl_quote(p->url, got, sizeof(got)));
	}
	v = get(j, "method");
	fl_path_key(sp, sizeof(sp), path, "method");
	if (!v) {
		p->method = strdup("GET");
	} else if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 32) {
		ERR(ctx, -EINVAL, sp, "expected an HTTP method like \"GET\", got %s",
		    fl_json_got(v, got, sizeof(got)));
	} else {
		p->method = strdup(v->valuestring);
		for (char *c = p->method; c && *c; c++) {
			if (!isalpha((unsigned char)*c)) {
				ERR(ctx, -EINVAL, sp,
				    "expected an HTTP method like \"GET\", got %s",
				    fl_json_got(v, got, sizeof(got)));
				break;
			}
			*c = (char)toupper((unsigned char)*c);
		}
	}
	if (!p->method) {
		p->method = strdup("GET");
		if (!p->method)
			ERR(ctx, -ENOMEM, sp, "out of memory");
	}
	v = get(j, "headers");
	if (v)
		parse_headers(ctx, v, fl_path_key(sp, sizeof(sp), path, "headers"), p);
	v = get(j, "timeout");
	fl_path_key(sp, sizeof(sp), path, "timeout");
	if (cJSON_IsArray(v)) {
		char ip[FL_PATH_MAX];

		if (cJSON_GetArraySize(v) != 2)
			ERR(ctx, -EINVAL, sp,
			    "expected a number of seconds or [connect, read] seconds, got a list "
			    "of %d",
			    cJSON_GetArraySize(v));
		else {
			get_seconds(ctx, v->child, fl_path_index(ip, sizeof(ip), sp, 0), true,
				    &p->connect_timeout_ms);
			get_seconds(ctx, v->child->next, fl_path_index(ip, sizeof(ip), sp, 1), true,
				    &p->timeout_ms);
		}
	} else if (v) {
		get_seconds(ctx, v, sp, true, &p->timeout_ms);
	}
	v = get(j, "expected_status");
	if (v) {
		fl_path_key(sp, sizeof(sp), path, "expected_status");
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 100 || v->valuedouble > 599)
			ERR(ctx, -EINVAL, sp, "expected an HTTP status from 100 to 599, got %s",
			    fl_json_got(v, got, sizeof(got)));
		else
			p->expected_status = (long)v->valuedouble;
	}
	v = get(j, "verify_tls");
	if (v) {
		if (!cJSON_IsBool(v))
			ERR(ctx, -EINVAL, fl_path_key(sp, sizeof(sp), path, "verify_tls"),
			    "expected true or false, got %s", fl_json_got(v, got, sizeof(got)));
		else
			p->verify_tls = cJSON_IsTrue(v);
	}
	v = get(j, "max_retries");
	if (v) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    v->valuedouble < 0 || v->valuedouble > HTTP_RETRIES_MAX)
			ERR(ctx, -EINVAL, fl_path_key(sp, sizeof(sp), path, "max_retries"),
			    "expected an integer from 0 to %d, got %s", HTTP_RETRIES_MAX,
			    fl_json_got(v, got, sizeof(got)));
		else
			p->max_retries = (unsigned)v->valuedouble;
	}
	if (p->method)
		parse_http_args(ctx, get(j, "arguments"),
				fl_path_key(sp, sizeof(sp), path, "arguments"), p);
}

/* ---- fault provider ------------------------------------------------------------------- */

static void parse_fault(struct parse_ctx *ctx, const cJSON *j, const char *path,
			struct fl_provider *p)
{
	static const char *const known[] = {"type",	"kind",	  "target", "params",
					    "duration", "agents", NULL};
	char sp[FL_PATH_MAX], got[96];
	const cJSON *v;

	check_keys(ctx, j, path, known,
		   "a fault provider (known: kind, target, params, duration, agents)");
	p->kind = get_string(ctx, j, "kind", path, true, 64, "a fault kind like \"netem\"");
	if (p->kind) {
		bool ok = islower((unsigned char)p->kind[0]);

		for (const char *c = p->kind; *c; c++)
			if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
			      *c == '_' || *c == '-'))
				ok = false;
		if (!ok)
			ERR(ctx, -EINVAL, fl_path_key(sp, sizeof(sp), path, "kind"),
			    "expected a fault kind (lower-case letters, digits, _ and -), got %s",
			    fl_quote(p->kind, got, sizeof(got)));
	}
	v = get(j, "target");
	fl_path_key(sp, sizeof(sp), path, "target");
	if (!v)
		ERR(ctx, -EINVAL, sp, "missing: expected an object saying what to inject into");
	else if (!cJSON_IsObject(v))
		ERR(ctx, -EINVAL, sp, "expected an object, got %s",
		    fl_json_got(v, got, sizeof(got)));
	else if (!(p->target_json = cJSON_PrintUnformatted(v)))
		ERR(ctx, -ENOMEM, sp, "out of memory");
	v = get(j, "params");
	fl_path_key(sp, sizeof(sp), path, "params");
	if (v && !cJSON_IsObject(v))
		ERR(ctx, -EINVAL, sp, "expected an object, got %s",
		    fl_json_got(v, got, sizeof(got)));
	else if (!(p->params_json = v ? cJSON_PrintUnformatted(v) : strdup("{}")))
		ERR(ctx, -ENOMEM, sp, "out of memory");
	v = get(j, "duration");
	fl_path_key(sp, sizeof(sp), path, "duration");
	/* Missing: 0; whether the kind needs one: controller/provider_fault.c. */
	if (!v) {
		p->duration_ms = 0;
	} else if (cJSON_IsNumber(v)) {
		get_seconds(ctx, v, sp, true, &p->duration_ms);
	} else if (!cJSON_IsString(v)) {
		ERR(ctx, -EINVAL, sp, "expected a duration like \"30s\" or \"250ms\", got %s",
		    fl_json_got(v, got, sizeof(got)));
	} else {
		int r = fl_duration_parse_ms(v->valuestring, 1000000, &p->duration_ms);

		if (r == -ERANGE)
			ERR(ctx, r, sp, "%s is longer than the limit of 7 days",
			    fl_quote(v->valuestring, got, sizeof(got)));
		else if (r < 0)
			ERR(ctx, r, sp,
			    "expected a duration like \"30s\", \"250ms\", \"5m\" or \"1h\", got %s",
			    fl_quote(v->valuestring, got, sizeof(got)));
		else if (p->duration_ms == 0)
			ERR(ctx, -EINVAL, sp, "a fault must last longer than 0");
	}
	v = get(j, "agents");
	fl_path_key(sp, sizeof(sp), path, "agents");
	if (v) {
		const cJSON *it;
		size_t i = 0, n = 0;

		if (!cJSON_IsArray(v)) {
			ERR(ctx, -EINVAL, sp, "expected a list of agent names or addresses, got %s",
			    fl_json_got(v, got, sizeof(got)));
			return;
		}
		if (cJSON_GetArraySize(v) > FL_EXP_ARGS_MAX) {
			ERR(ctx, -E2BIG, sp, "more than %d agents", FL_EXP_ARGS_MAX);
			return;
		}
		p->agents = calloc(1, sizeof(*p->agents));
		if (!p->agents) {
			ERR(ctx, -ENOMEM, sp, "out of memory");
			return;
		}
		cJSON_ArrayForEach(it, v)
		{
			char ip[FL_PATH_MAX];

			fl_path_index(ip, sizeof(ip), sp, i++);
			if (!cJSON_IsString(it) || !it->valuestring[0] ||
			    strlen(it->valuestring) > FL_EXP_NAME_MAX) {
				ERR(ctx, -EINVAL, ip, "expected an agent name or address, got %s",
				    fl_json_got(it, got, sizeof(got)));
				continue;
			}
			if (strv_add(&p->agents, &n, strdup(it->valuestring)) < 0) {
				ERR(ctx, -ENOMEM, ip, "out of memory");
				return;
			}
		}
	}
}

static void parse_provider(struct parse_ctx *ctx, const cJSON *j, const char *path,
			   struct fl_provider *p)
{
	const cJSON *t;
	char got[96], tp[FL_PATH_MAX];

	if (!cJSON_IsObject(j)) {
		ERR(ctx, -EINVAL, path, "expected an object with a \"type\", got %s",
		    fl_json_got(j, got, sizeof(got)));
		return;
	}
	t = get(j, "type");
	fl_path_key(tp, sizeof(tp), path, "type");
	if (!cJSON_IsString(t)) {
		ERR(ctx, -EINVAL, tp, "expected \"process\", \"http\" or \"fault\", got %s",
		    fl_json_got(t, got, sizeof(got)));
		return;
	}
	if (!strcmp(t->valuestring, "process")) {
		p->type = FL_PROVIDER_PROCESS;
		parse_process(ctx, j, path, p);
	} else if (!strcmp(t->valuestring, "http")) {
		p->type = FL_PROVIDER_HTTP;
		parse_http(ctx, j, path, p);
	} else if (!strcmp(t->valuestring, "fault")) {
		p->type = FL_PROVIDER_FAULT;
		parse_fault(ctx, j, path, p);
	} else if (!strcmp(t->valuestring, "load")) { /* http + rate: slo_parse.c */
		cJSON *h = fl_slo_load_http_part(j);

		p->type = FL_PROVIDER_LOAD;
		if (h)
			parse_http(ctx, h, path, p);
		cJSON_Delete(h);
		fl_slo_load_parse(j, path, p, ctx->errs);
	} else if (fl_slo_provider_parse(t->valuestring, j, path, p, ctx->errs)) {
		/* prometheus, tcp, running: slo_parse.c */
	} else {
		ERR(ctx, -ENOTSUP, tp,
		    "provider type %s is not supported (faultline runs process, http, fault, load, "
		    "prometheus, tcp and running providers)",
		    fl_quote(t->valuestring, got, sizeof(got)));
	}
}

/* ---- activities ----------------------------------------------------------------------- */

static const struct named *find_named(const struct parse_ctx *ctx, const char *name, size_t *count)
{
	const struct named *hit = NULL;

	*count = 0;
	for (size_t i = 0; i < ctx->n_named; i++) {
		if (!strcmp(ctx->named[i].name, name)) {
			if (!hit)
				hit = &ctx->named[i];
			(*count)++;
		}
	}
	return hit;
}

static bool name_anywhere(const struct parse_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_all; i++)
		if (!strcmp(ctx->all_names[i], name))
			return true;
	return false;
}

static void parse_pauses(struct parse_ctx *ctx, const cJSON *j, const char *path,
			 struct fl_activity *a)
{
	static const char *const known[] = {"before", "after", NULL};
	char p[FL_PATH_MAX], got[96];
	const cJSON *v;

	if (!cJSON_IsObject(j)) {
		ERR(ctx, -EINVAL, path,
		    "expected {\"before\": seconds, \"after\": seconds}, got %s",
		    fl_json_got(j, got, sizeof(got)));
		return;
	}
	check_keys(ctx, j, path, known, "pauses (known: before, after)");
	v = get(j, "before");
	if (v)
		get_seconds(ctx, v, fl_path_key(p, sizeof(p), path, "before"), false,
			    &a->pause_before_ms);
	v = get(j, "after");
	if (v)
		get_seconds(ctx, v, fl_path_key(p, sizeof(p), path, "after"), false,
			    &a->pause_after_ms);
}

static void parse_activity(struct parse_ctx *ctx, const cJSON *j, const char *path,
			   enum list_kind kind, struct fl_activity *a);

/* {"ref": "name"}: repeat an earlier activity. */
static void parse_ref(struct parse_ctx *ctx, const cJSON *j, const char *path, enum list_kind kind,
		      struct fl_activity *a)
{
	static const char *const known[] = {"ref", NULL};
	const cJSON *ref = get(j, "ref");
	char p[FL_PATH_MAX], got[96];
	const struct named *n;
	struct parse_ctx sub;
	struct fl_errlist *scratch;
	size_t count;

	fl_path_key(p, sizeof(p), path, "ref");
	check_keys(ctx, j, path, known, "a reference (a ref stands alone)");
	if (!cJSON_IsString(ref) || !ref->valuestring[0]) {
		ERR(ctx, -EINVAL, p, "expected the name of an earlier activity, got %s",
		    fl_json_got(ref, got, sizeof(got)));
		return;
	}
	n = find_named(ctx, ref->valuestring, &count);
	if (!n) {
		if (name_anywhere(ctx, ref->valuestring))
			ERR(ctx, -EINVAL, p,
			    "%s is defined later; a ref must name an earlier activity",
			    fl_quote(ref->valuestring, got, sizeof(got)));
		else
			ERR(ctx, -ENOENT, p, "no activity is named %s",
			    fl_quote(ref->valuestring, got, sizeof(got)));
		return;
	}
	if (count > 1) {
		ERR(ctx, -EINVAL, p,
		    "%s names %zu activities; names must be unique to be referenced",
		    fl_quote(ref->valuestring, got, sizeof(got)), count);
		return;
	}
	/* Parse the referenced definition again into this slot; its own errors were
	 * reported where it is defined, and the rules of this list are checked below. */
	scratch = calloc(1, sizeof(*scratch));
	if (!scratch) {
		ERR(ctx, -ENOMEM, p, "out of memory");
		return;
	}
	sub = *ctx;
	sub.errs = scratch;
	sub.n_named = 0; /* a definition holds no refs */
	activity_done(a);
	parse_activity(&sub, n->json, path, kind, a);
	free(scratch);
	a->ref = n->a;
	if (JUDGED(kind) && a->type == FL_ACTIVITY_ACTION)
		ERR(ctx, -EINVAL, p,
		    "%s is an action; the steady-state hypothesis holds probes only",
		    fl_quote(ref->valuestring, got, sizeof(got)));
	else if (JUDGED(kind) && a->tolerance.type == FL_TOL_NONE)
		ERR(ctx, -EINVAL, p, "%s has no tolerance; a hypothesis probe needs one",
		    fl_quote(ref->valuestring, got, sizeof(got)));
	if (kind != LIST_METHOD)
		a->background = false;
}

static void parse_activity(struct parse_ctx *ctx, const cJSON *j, const char *path,
			   enum list_kind kind, struct fl_activity *a)
{
	static const char *const known[] = {"type",	"name",	      "provider", "tolerance",
					    "pauses",	"background", "controls", "mode",
					    "interval", NULL}; /* mode, interval: slo_parse.c */
	char p[FL_PATH_MAX], got[96];
	const cJSON *v;

	memset(a, 0, sizeof(*a));
	a->tolerance.count = -1;
	a->json_path = strdup(path);
	if (!a->json_path) {
		ERR(ctx, -ENOMEM, path, "out of memory");
		return;
	}
	if (!cJSON_IsObject(j)) {
		ERR(ctx, -EINVAL, path, "expected an activity (an object), got %s",
		    fl_json_got(j, got, sizeof(got)));
		return;
	}
	if (get(j, "ref")) {
		parse_ref(ctx, j, path, kind, a);
		return;
	}
	check_keys(ctx, j, path, known,
		   "an activity (known: type, name, provider, tolerance, pauses, background, "
		   "controls)");
	v = get(j, "type");
	fl_path_key(p, sizeof(p), path, "type");
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "action")) {
		a->type = FL_ACTIVITY_ACTION;
	} else if (cJSON_IsString(v) && !strcmp(v->valuestring, "probe")) {
		a->type = FL_ACTIVITY_PROBE;
	} else {
		/* judge the rest as a probe so one mistake gives one error */
		a->type = FL_ACTIVITY_PROBE;
		if (v)
			ERR(ctx, -EINVAL, p, "expected \"action\" or \"probe\", got %s",
			    fl_json_got(v, got, sizeof(got)));
		else
			ERR(ctx, -EINVAL, p, "missing: expected \"action\" or \"probe\"");
	}
	a->name = get_string(ctx, j, "name", path, true, FL_EXP_NAME_MAX, "a non-empty name");
	v = get(j, "provider");
	fl_path_key(p, sizeof(p), path, "provider");
	if (!v)
		ERR(ctx, -EINVAL, p, "missing: every activity needs a provider");
	else
		parse_provider(ctx, v, p, &a->provider);
	v = get(j, "tolerance");
	fl_path_key(p, sizeof(p), path, "tolerance");
	if (v) {
		if (a->type == FL_ACTIVITY_ACTION)
			ERR(ctx, -EINVAL, p, "an action has no tolerance; only probes are judged");
		else if (fl_tolerance_parse(v, p, &a->tolerance, ctx->errs) < 0) {
			/* recorded in errs */
		}
		if (a->tolerance.type == FL_TOL_BOOL &&
		    (a->provider.type == FL_PROVIDER_PROCESS ||
		     a->provider.type == FL_PROVIDER_HTTP) &&
		    get(get(j, "provider"), "type"))
			ERR(ctx, -EINVAL, p,
			    "a boolean never matches a %s result (an object); use an exit status "
			    "or HTTP status like 0 or 200",
			    fl_provider_type_name(a->provider.type));
	}
	fl_slo_mode_parse(j, path, JUDGED(kind), kind == LIST_ABORT, a, ctx->errs);
	if (JUDGED(kind)) {
		if (a->type == FL_ACTIVITY_ACTION)
			ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, "type"),
			    "the steady-state hypothesis holds probes only, not actions");
		else if (!v)
			ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, "tolerance"),
			    "missing: a hypothesis probe needs a tolerance");
	}
	v = get(j, "pauses");
	if (v)
		parse_pauses(ctx, v, fl_path_key(p, sizeof(p), path, "pauses"), a);
	v = get(j, "background");
	if (v) {
		fl_path_key(p, sizeof(p), path, "background");
		if (!cJSON_IsBool(v))
			ERR(ctx, -EINVAL, p, "expected true or false, got %s",
			    fl_json_got(v, got, sizeof(got)));
		else if (cJSON_IsTrue(v) && kind != LIST_METHOD)
			ERR(ctx, -EINVAL, p, "only method activities run in the background");
		else
			a->background = cJSON_IsTrue(v);
	}
}

static void collect_names(struct parse_ctx *ctx, const cJSON *list)
{
	const cJSON *it;

	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *n = get(it, "name");
		char **nv;

		if (!cJSON_IsString(n) || ctx->n_all >= 3 * FL_EXP_ACTIVITIES_MAX)
			continue;
		nv = realloc(ctx->all_names, (ctx->n_all + 1) * sizeof(*nv));
		if (!nv)
			return;
		ctx->all_names = nv;
		nv[ctx->n_all++] = n->valuestring; /* borrowed from the substituted tree */
	}
}

static void parse_list(struct parse_ctx *ctx, const cJSON *j, const char *path, enum list_kind kind,
		       struct fl_activity_list *l)
{
	const cJSON *it;
	size_t n, i = 0;

	if (!cJSON_IsArray(j)) {
		ERR(ctx, -EINVAL, path, "expected a list of activities, got %s", fl_json_kind(j));
		return;
	}
	n = (size_t)cJSON_GetArraySize(j);
	if (n > FL_EXP_ACTIVITIES_MAX) {
		ERR(ctx, -E2BIG, path, "%zu activities is more than the limit of %d", n,
		    FL_EXP_ACTIVITIES_MAX);
		return;
	}
	if (n == 0) {
		if (kind == LIST_METHOD)
			ERR(ctx, -EINVAL, path,
			    "the method is empty: an experiment needs at least one activity");
		return;
	}
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v) {
		ERR(ctx, -ENOMEM, path, "out of memory");
		return;
	}
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX];
		struct named *nn;

		fl_path_index(p, sizeof(p), path, i);
		parse_activity(ctx, it, p, kind, &l->v[i]);
		l->n = ++i;
		if (l->v[i - 1].ref || !l->v[i - 1].name)
			continue;
		nn = realloc(ctx->named, (ctx->n_named + 1) * sizeof(*nn));
		if (!nn) {
			ERR(ctx, -ENOMEM, p, "out of memory");
			return;
		}
		ctx->named = nn;
		nn[ctx->n_named].name = l->v[i - 1].name;
		nn[ctx->n_named].json = it;
		nn[ctx->n_named].a = &l->v[i - 1];
		nn[ctx->n_named].kind = kind;
		ctx->n_named++;
	}
}

/* ---- error order ---------------------------------------------------------------------- */

struct err_pos {
	size_t node; /* pre-order index of the deepest node the path names or lies under */
	size_t len;  /* length of that node's path, to keep the deepest */
	size_t seq;  /* order found, to keep the sort stable */
};

static void locate_errors(const cJSON *j, const char *path, size_t *counter,
			  const struct fl_errlist *l, struct err_pos *pos)
{
	const cJSON *it;
	size_t plen = strlen(path), me = (*counter)++, i = 0;

	for (size_t k = 0; k < l->n; k++) {
		const char *ep = l->v[k].path;

		if (!strncmp(ep, path, plen) && (!ep[plen] || ep[plen] == '.' || ep[plen] == '[') &&
		    plen >= pos[k].len) {
			pos[k].node = me;
			pos[k].len = plen;
		}
	}
	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return;
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX];

		if (cJSON_IsObject(j))
			fl_path_key(p, sizeof(p), path, it->string);
		else
			fl_path_index(p, sizeof(p), path, i++);
		locate_errors(it, p, counter, l, pos);
	}
}

static int err_pos_cmp(const void *a, const void *b)
{
	const struct err_pos *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Put errors in the order of the file (the parser finds substitution
 * problems before typed ones), so a reader can go top to bottom.
 */
static void sort_errors(const cJSON *root, struct fl_errlist *l)
{
	struct err_pos *pos;
	struct fl_error *copy;
	size_t counter = 0;

	if (l->n < 2)
		return;
	pos = calloc(l->n, sizeof(*pos));
	copy = malloc(l->n * sizeof(*copy));
	if (!pos || !copy)
		goto out;
	for (size_t k = 0; k < l->n; k++)
		pos[k].seq = k;
	locate_errors(root, "$", &counter, l, pos);
	qsort(pos, l->n, sizeof(*pos), err_pos_cmp);
	memcpy(copy, l->v, l->n * sizeof(*copy));
	for (size_t k = 0; k < l->n; k++)
		l->v[k] = copy[pos[k].seq];
out:
	free(pos);
	free(copy);
}

/* ---- top level ------------------------------------------------------------------------ */

/*
 * Top-level keys. Chaos Toolkit keys faultline accepts and does not act on:
 * version, contributions, extensions, controls, runtime (see the format doc).
 */
static const char *const top_known[] = {"title",	 "description",
					"tags",		 "configuration",
					"secrets",	 "steady-state-hypothesis",
					"method",	 "rollbacks",
					"timeout",	 "version",
					"contributions", "extensions",
					"controls",	 "runtime",
					"abort",	 NULL};

static void parse_tags(struct parse_ctx *ctx, const cJSON *j, struct fl_experiment *e)
{
	const cJSON *it;
	size_t i = 0;

	if (!cJSON_IsArray(j)) {
		ERR(ctx, -EINVAL, "$.tags", "expected a list of strings, got %s", fl_json_kind(j));
		return;
	}
	if (cJSON_GetArraySize(j) > FL_EXP_ARGS_MAX) {
		ERR(ctx, -E2BIG, "$.tags", "more than %d tags", FL_EXP_ARGS_MAX);
		return;
	}
	e->tags = calloc(1, sizeof(*e->tags));
	if (!e->tags) {
		ERR(ctx, -ENOMEM, "$.tags", "out of memory");
		return;
	}
	cJSON_ArrayForEach(it, j)
	{
		char p[FL_PATH_MAX], got[96];

		fl_path_index(p, sizeof(p), "$.tags", i++);
		if (!cJSON_IsString(it) || strlen(it->valuestring) > FL_EXP_NAME_MAX) {
			ERR(ctx, -EINVAL, p,
			    "expected a tag (a string of at most %d bytes), got %s",
			    FL_EXP_NAME_MAX, fl_json_got(it, got, sizeof(got)));
			continue;
		}
		if (strv_add(&e->tags, &e->n_tags, strdup(it->valuestring)) < 0) {
			ERR(ctx, -ENOMEM, p, "out of memory");
			return;
		}
	}
}

static void parse_hypothesis(struct parse_ctx *ctx, const cJSON *j, struct fl_experiment *e)
{
	static const char *const known[] = {"title", "probes", "controls", NULL};
	const cJSON *probes;

	if (!cJSON_IsObject(j)) {
		ERR(ctx, -EINVAL, "$.steady-state-hypothesis",
		    "expected an object {\"title\", \"probes\"}, got %s", fl_json_kind(j));
		return;
	}
	e->has_hypothesis = true;
	check_keys(ctx, j, "$.steady-state-hypothesis", known,
		   "the steady-state hypothesis (known: title, probes, controls)");
	e->hypothesis_title = get_string(ctx, j, "title", "$.steady-state-hypothesis", true,
					 FL_EXP_NAME_MAX, "a non-empty title");
	probes = get(j, "probes");
	if (probes)
		parse_list(ctx, probes, "$.steady-state-hypothesis.probes", LIST_HYPOTHESIS,
			   &e->hypothesis);
}

/* Resolved configuration for callers, as text: strings as is, other values as JSON. */
static int export_config(const struct fl_subst_map *m, struct fl_experiment *e)
{
	if (!m->n)
		return 0;
	e->config = calloc(m->n, sizeof(*e->config));
	if (!e->config)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		const cJSON *v = m->v[i].value;

		e->config[i].key = strdup(m->v[i].name);
		if (m->v[i].secret)
			e->config[i].value = strdup("********");
		else if (cJSON_IsString(v))
			e->config[i].value = strdup(v->valuestring);
		else
			e->config[i].value = cJSON_PrintUnformatted(v);
		e->n_config = i + 1;
		if (!e->config[i].key || !e->config[i].value)
			return -ENOMEM;
	}
	return 0;
}

static const char *const subst_keys[] = {
    "title", "description", "steady-state-hypothesis", "method", "rollbacks", "abort", NULL};

/*
 * The experiment after substitution, for the journal: secrets masked, the
 * configuration as written (environment values are not copied in), the
 * secrets block left out.
 */
static char *canonical(const cJSON *root, const struct fl_subst_map *m)
{
	struct fl_errlist *scratch = calloc(1, sizeof(*scratch));
	cJSON *out = cJSON_CreateObject(), *c;
	const cJSON *it;
	char *s = NULL;

	if (!scratch || !out)
		goto done;
	cJSON_ArrayForEach(it, root)
	{
		if (!strcmp(it->string, "secrets"))
			continue;
		if (key_known(it->string, subst_keys))
			c = fl_subst_tree(it, "$", m, true, scratch);
		else
			c = cJSON_Duplicate(it, 1);
		if (!c || !cJSON_AddItemToObject(out, it->string, c)) {
			cJSON_Delete(c);
			goto done;
		}
	}
	s = cJSON_PrintUnformatted(out);
done:
	cJSON_Delete(out);
	free(scratch);
	return s;
}

static int parse_into(const char *buf, size_t len, const struct fl_vars *vars,
		      struct fl_experiment **out, struct fl_errlist *errs)
{
	struct fl_subst_map map = {0};
	struct parse_ctx ctx = {.errs = errs};
	struct fl_experiment *e = NULL;
	cJSON *root = NULL, *sub = NULL;
	const cJSON *v;
	char *copy = NULL;
	const char *end = NULL;
	size_t errs_before = errs->n + errs->dropped;
	unsigned line, col, depth;
	int r = -EINVAL;

	*out = NULL;
	if (len > FL_EXP_FILE_MAX) {
		ERR(&ctx, -E2BIG, "$", "the experiment is %zu bytes, more than the limit of %d",
		    len, FL_EXP_FILE_MAX);
		goto out;
	}
	if (len == 0 || !buf) {
		ERR(&ctx, -EINVAL, "$", "empty input: expected a JSON object");
		goto out;
	}
	if (memchr(buf, '\0', len)) {
		ERR(&ctx, -EINVAL, "$", "the input contains a NUL byte; expected JSON text");
		goto out;
	}
	depth = prescan_depth(buf, len, FL_EXP_NESTING_MAX, &line);
	if (depth > PRESCAN_DEPTH_MAX) {
		ERR(&ctx, -E2BIG, "$", "nested deeper than %d levels (from line %u)",
		    FL_EXP_NESTING_MAX, line);
		goto out;
	}
	copy = malloc(len + 1);
	if (!copy) {
		r = -ENOMEM;
		ERR(&ctx, r, "$", "out of memory");
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	/* length includes the NUL: with require_null_terminated cJSON checks it */
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!root) {
		if (!end || end < copy || end > copy + len)
			end = copy + len;
		line_col(copy, end, &line, &col);
		if (end >= copy + len)
			ERR(&ctx, -EINVAL, "$",
			    "invalid JSON: the text ends early (line %u, column %u): truncated?",
			    line, col);
		else
			ERR(&ctx, -EINVAL, "$", "invalid JSON at line %u, column %u", line, col);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		ERR(&ctx, -EINVAL, "$", "expected an experiment (a JSON object), got %s",
		    fl_json_kind(root));
		goto out;
	}
	walk_limits(root, "$", 1, &ctx);
	walk_dup_keys(root, "$", &ctx);
	if (errs->n + errs->dropped > errs_before)
		goto out;
	check_keys(&ctx, root, "$", top_known, "the experiment");

	/* configuration and secrets, then substitution into a new tree */
	r = fl_config_resolve(get(root, "configuration"), get(root, "secrets"), vars, &map, errs);
	if (r == -ENOMEM || r == -E2BIG) {
		ERR(&ctx, r, "$.configuration", "%s",
		    r == -E2BIG ? "too many configuration entries" : "out of memory");
		goto out;
	}
	sub = cJSON_CreateObject();
	if (!sub) {
		r = -ENOMEM;
		goto out;
	}
	for (const char *const *k = subst_keys; *k; k++) {
		char p[FL_PATH_MAX];
		cJSON *c;

		v = get(root, *k);
		if (!v)
			continue;
		c = fl_subst_tree(v, fl_path_key(p, sizeof(p), "$", *k), &map, false, errs);
		if (!c || !cJSON_AddItemToObject(sub, *k, c)) {
			cJSON_Delete(c);
			r = -ENOMEM;
			ERR(&ctx, r, "$", "out of memory");
			goto out;
		}
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	e->title = get_string(&ctx, sub, "title", "$", true, FL_EXP_NAME_MAX, "a non-empty title");
	e->description = get_string(&ctx, sub, "description", "$", false, FL_EXP_STRING_MAX,
				    "a description (a string)");
	v = get(root, "tags");
	if (v)
		parse_tags(&ctx, v, e);
	v = get(root, "timeout");
	if (v)
		get_seconds(&ctx, v, "$.timeout", true, &e->timeout_ms);

	collect_names(&ctx, get(get(sub, "steady-state-hypothesis"), "probes"));
	collect_names(&ctx, get(sub, "method"));
	collect_names(&ctx, get(sub, "rollbacks"));
	collect_names(&ctx, get(sub, "abort"));
	v = get(sub, "steady-state-hypothesis");
	if (v)
		parse_hypothesis(&ctx, v, e);
	v = get(sub, "method");
	if (!v)
		ERR(&ctx, -EINVAL, "$.method",
		    "missing: an experiment needs a method (a list of "
		    "activities)");
	else
		parse_list(&ctx, v, "$.method", LIST_METHOD, &e->method);
	v = get(sub, "rollbacks");
	if (v)
		parse_list(&ctx, v, "$.rollbacks", LIST_ROLLBACKS, &e->rollbacks);
	v = get(sub, "abort"); /* abort conditions: probes sampled through the method */
	if (v)
		parse_list(&ctx, v, "$.abort", LIST_ABORT, &e->abort);

	if (errs->n + errs->dropped > errs_before) {
		r = -EINVAL;
		goto out;
	}
	r = export_config(&map, e);
	if (r == 0) {
		e->canonical_json = canonical(root, &map);
		if (!e->canonical_json)
			r = -ENOMEM;
	}
	if (r < 0) {
		ERR(&ctx, r, "$", "out of memory");
		goto out;
	}
	*out = e;
	e = NULL;
	r = 0;
out:
	if (root && errs->n > 1)
		sort_errors(root, errs);
	if (r == 0 && errs->n + errs->dropped > errs_before)
		r = -EINVAL;
	fl_experiment_free(e);
	free(ctx.named);
	free(ctx.all_names);
	cJSON_Delete(sub);
	cJSON_Delete(root);
	fl_subst_map_done(&map);
	free(copy);
	return r;
}

/*
 * Errors are collected in a list of this parse's own, so "one error per
 * path" never hides an error behind one from another file, then appended.
 */
int fl_experiment_parse(const char *buf, size_t len, const struct fl_vars *vars,
			struct fl_experiment **out, struct fl_errlist *errs)
{
	struct fl_errlist *mine = calloc(1, sizeof(*mine));
	int r;

	*out = NULL;
	if (!mine)
		return fl_errlist_add(errs, -ENOMEM, "$", "out of memory");
	r = parse_into(buf, len, vars, out, mine);
	for (size_t i = 0; i < mine->n; i++)
		fl_errlist_add(errs, mine->v[i].code, mine->v[i].path, "%s", mine->v[i].msg);
	errs->dropped += mine->dropped;
	free(mine);
	return r;
}

/* 0 when `path` is a regular file we may execute, else -errno. */
static int runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if (access(path, X_OK) < 0)
		return -errno;
	return 0;
}

static int find_in_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PROCESS_PATH_MAX + 512];
	int r = -ENOENT;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; p; p = *end ? end + 1 : NULL) {
		size_t dl;

		end = strchrnul(p, ':');
		dl = (size_t)(end - p);
		/* an empty entry is the current directory, as execvp() takes it */
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s%s%s", (int)dl, p, dl ? "/" : "",
				     name) >= sizeof(buf))
			continue;
		r = runnable(buf);
		if (r == 0)
			return 0;
	}
	return -ENOENT;
}

static void check_list_programs(const struct fl_activity_list *l, struct fl_errlist *errs, int *ret)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct fl_activity *a = &l->v[i];
		char pp[FL_PATH_MAX], p[FL_PATH_MAX], q[96];
		int r;

		if (a->ref || a->provider.type != FL_PROVIDER_PROCESS || !a->provider.path)
			continue;
		fl_path_key(pp, sizeof(pp), a->json_path, "provider");
		fl_path_key(p, sizeof(p), pp, "path");
		if (strchr(a->provider.path, '/')) {
			r = runnable(a->provider.path);
			if (r < 0)
				*ret = fl_errlist_add(errs, -ENOENT, p, "%s cannot be run: %s",
						      fl_quote(a->provider.path, q, sizeof(q)),
						      r == -EISDIR ? "not a regular file"
								   : strerror(-r));
		} else if (find_in_path(a->provider.path) < 0) {
			*ret = fl_errlist_add(errs, -ENOENT, p,
					      "no program %s in PATH (or not executable)",
					      fl_quote(a->provider.path, q, sizeof(q)));
		}
	}
}

int fl_experiment_check_programs(const struct fl_experiment *e, struct fl_errlist *errs)
{
	int r = 0;

	check_list_programs(&e->hypothesis, errs, &r);
	check_list_programs(&e->method, errs, &r);
	check_list_programs(&e->rollbacks, errs, &r);
	check_list_programs(&e->abort, errs, &r);
	return r < 0 ? -ENOENT : 0;
}

int fl_experiment_load(const char *path, const struct fl_vars *vars, struct fl_experiment **out,
		       struct fl_errlist *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = fl_experiment_read_file(path, &buf, &len);
	if (r == -E2BIG)
		return fl_errlist_add(errs, r, "$", "the file is larger than the limit of %d bytes",
				      FL_EXP_FILE_MAX);
	if (r < 0)
		return fl_errlist_add(errs, r, "", "cannot read %s: %s", path, strerror(-r));
	r = fl_experiment_parse(buf, len, vars, out, errs);
	free(buf);
	if (r == 0) {
		(*out)->source_path = strdup(path);
		if (!(*out)->source_path) {
			fl_experiment_free(*out);
			*out = NULL;
			return fl_errlist_add(errs, -ENOMEM, "", "out of memory");
		}
	}
	return r;
}
