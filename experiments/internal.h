/*
 * Private to experiments/: shared between the parser, the configuration and
 * substitution code, the tolerance code and the JSONPath subset. Not part of
 * the model's API.
 */
#ifndef FL_EXPERIMENTS_INTERNAL_H
#define FL_EXPERIMENTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"
#include "experiments/experiment.h"

/* A JSON path being built while walking input: "$.method[2].provider". */
#define FL_PATH_MAX FL_ERROR_PATH_MAX

/* Append ".key" (or "['key']" when the key is not a plain word) to parent. */
const char *fl_path_key(char *out, size_t len, const char *parent, const char *key);
/* Append "[i]" to parent. */
const char *fl_path_index(char *out, size_t len, const char *parent, size_t i);
/* Quote a string for a message: "\"abc\"" shortened to about `max` bytes, escapes shown. */
const char *fl_quote(const char *s, char *buf, size_t len);
/* Describe a JSON value for "got ..." in messages: `"abc"`, `42`, `an object`. */
const char *fl_json_got(const cJSON *v, char *buf, size_t len);
/* Name of a JSON value's type: "a string", "a number", "an object"... */
const char *fl_json_kind(const cJSON *v);
/* fl_errlist_add, unless an error with the same path is already listed. */
int fl_experr(struct fl_errlist *l, int code, const char *path, const char *fmt, ...)
    FL_PRINTF(4, 5);
/* strdup that returns NULL for NULL. */
char *fl_strdup0(const char *s);

/*
 * The substitution map: configuration and secrets resolved to typed JSON
 * values (owned copies), looked up by name for ${name}.
 */
struct fl_subst_entry {
	char *name;
	cJSON *value;
	size_t size; /* bytes of value as JSON text: what one substitution costs */
	bool secret; /* from "secrets": masked in the canonical JSON */
};

struct fl_subst_map {
	struct fl_subst_entry *v;
	size_t n;
	/* bytes substituted so far by fl_subst_tree (all calls on this map), held
	 * to FL_EXP_SUBST_MAX: a value used many times cannot blow a 1 MiB file up
	 * into gigabytes (#12 item 13) */
	size_t spent;
	bool over; /* the budget was passed once: reported, then nothing grows */
};

/*
 * Resolve "configuration" and "secrets" (either may be NULL) with `vars`
 * overriding, into `m`. Errors go to errs with their paths. Returns 0 or
 * -EINVAL (errors recorded) / -ENOMEM.
 */
int fl_config_resolve(const cJSON *config, const cJSON *secrets, const struct fl_vars *vars,
		      struct fl_subst_map *m, struct fl_errlist *errs) FL_WUR;
void fl_subst_map_done(struct fl_subst_map *m);
const cJSON *fl_subst_lookup(const struct fl_subst_map *m, const char *name, size_t len,
			     bool *secret);

/*
 * Return a deep copy of `in` with ${name} substituted in every string value
 * (never in keys). A string that is exactly one reference takes the typed
 * value. `mask` replaces secret values by "********". Undefined names and
 * oversized results are recorded in errs (with the value's path) and leave
 * the string as it was. NULL only on allocation failure.
 */
cJSON *fl_subst_tree(const cJSON *in, const char *path, struct fl_subst_map *m, bool mask,
		     struct fl_errlist *errs);

/* Read a file of at most FL_EXP_FILE_MAX bytes (-E2BIG beyond), NUL-terminated. */
int fl_experiment_read_file(const char *path, char **out, size_t *len) FL_WUR;

/* Free what a provider holds (experiment.c); the struct itself is the caller's. */
void fl_provider_done(struct fl_provider *p);

/* Tolerances: parse/validate one (path names it in errors), free one. */
int fl_tolerance_parse(const cJSON *j, const char *path, struct fl_tolerance *t,
		       struct fl_errlist *errs) FL_WUR;
void fl_tolerance_done(struct fl_tolerance *t);

/* JSONPath subset, see jsonpath.c for the grammar. */
struct fl_jsonpath;
int fl_jsonpath_compile(const char *expr, struct fl_jsonpath **out, char *why,
			size_t whylen) FL_WUR;
/* Collect matches (borrowed pointers into doc) in document order; -E2BIG past max
 * matches or past a budget of visited nodes. */
int fl_jsonpath_eval(const struct fl_jsonpath *p, const cJSON *doc, const cJSON **matches,
		     size_t max, size_t *n) FL_WUR;
void fl_jsonpath_free(struct fl_jsonpath *p);

/*
 * Split a command line like Python's shlex.split (POSIX mode): whitespace
 * separates words, '...' is literal, "..." allows \" \\ \$ \` escapes, a
 * backslash outside quotes escapes the next character, '#' is NOT a comment.
 * Returns 0 with a NULL-terminated vector, -EINVAL with `why` set.
 */
int fl_shlex_split(const char *s, char ***argv, size_t *argc, const char **why) FL_WUR;
void fl_strv_free(char **v);
/* Free n key/value pairs and the array; NULL is fine. */
void fl_kvs_free(struct fl_kv *v, size_t n);

/*
 * Steady state under fire (slo_parse.c, slo_tol.c): the probe providers
 * prometheus/tcp/running (load is http plus fl_slo_load_parse), probe modes,
 * and the SLO tolerance.
 */
bool fl_slo_provider_parse(const char *type, const cJSON *j, const char *path,
			   struct fl_provider *p, struct fl_errlist *errs);
cJSON *fl_slo_load_http_part(const cJSON *j);
void fl_slo_load_parse(const cJSON *j, const char *path, struct fl_provider *p,
		       struct fl_errlist *errs);
void fl_slo_provider_done(struct fl_provider *p);
void fl_slo_mode_parse(const cJSON *j, const char *path, bool judged, bool abort,
		       struct fl_activity *a, struct fl_errlist *errs);
bool fl_slo_tolerance_wanted(const cJSON *j);
int fl_slo_tolerance_parse(const cJSON *j, const char *path, struct fl_tolerance *t,
			   struct fl_errlist *errs) FL_WUR;
bool fl_slo_tolerance_check(const struct fl_tolerance *t, enum fl_provider_type ptype,
			    const cJSON *result, char *why, size_t whylen);
const char *fl_slo_tolerance_describe(const struct fl_tolerance *t, char *buf, size_t len);

/* ---- typed field helpers shared by the parsers (util.c) ---- */

#define FL_PROCESS_PATH_MAX 4096

static inline const cJSON *fl_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}
/* Is k one of the NULL-terminated known keys? */
bool fl_key_known(const char *k, const char *const *known);
/* Record "unknown key in WHAT (known: ...)" for every key of obj not in known. */
void fl_check_keys(struct fl_errlist *errs, const cJSON *obj, const char *path,
		   const char *const *known, const char *what);
/* A required or optional string of at most max bytes, copied; NULL when absent or wrong. */
char *fl_get_string(struct fl_errlist *errs, const cJSON *obj, const char *key, const char *path,
		    bool required, size_t max, const char *what);
/* Seconds: a number, or a string holding one; `positive` refuses 0. */
int fl_get_seconds(struct fl_errlist *errs, const cJSON *v, const char *p, bool positive,
		   uint64_t *ms);
/* Python's str() of a scalar (None for other values). */
char *fl_py_str(const cJSON *v);
/* Append s (taken over, freed on failure) to a NULL-terminated vector. */
int fl_strv_add(char ***v, size_t *n, char *s) FL_WUR;

/* ---- one parser per provider ---- */

void fl_process_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			       struct fl_provider *p);
void fl_http_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			    struct fl_provider *p);
void fl_fault_provider_parse(struct fl_errlist *errs, const cJSON *j, const char *path,
			     struct fl_provider *p);

/* ---- input guards (guard.c) ---- */

/*
 * Read an experiment document (JSON, or YAML: see fl_guard_parse's comment in
 * guard.c) into a cJSON object with every format-independent guard applied.
 * NULL with errors recorded in errs.
 */
cJSON *fl_guard_parse(const char *buf, size_t len, const struct fl_parse_opts *o,
		      struct fl_errlist *errs);
/* Caps on a whole tree: depth, string/key lengths, NUL and bad UTF-8 in strings, keys twice. */
void fl_guard_tree(cJSON *root, const struct fl_parse_opts *o, struct fl_errlist *errs);

#endif
