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
#define PROCESS_PATH_MAX FL_PROCESS_PATH_MAX

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

/* A {"ref": ...} waiting for every list to be read (Chaos Toolkit refs look anywhere). */
struct pending_ref {
	const cJSON *json;
	struct fl_activity *a;
	enum list_kind kind;
};

struct parse_ctx {
	struct fl_errlist *errs;
	const struct fl_parse_opts *o;
	struct fl_errlist *warnings; /* o->warnings, or NULL */
	struct pending_ref *refs;
	size_t n_refs;
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

const char *fl_hypothesis_strategy_name(enum fl_hypothesis_strategy s)
{
	switch (s) {
	case FL_HYPO_DEFAULT:
		return "default";
	case FL_HYPO_BEFORE_ONLY:
		return "before-method-only";
	case FL_HYPO_AFTER_ONLY:
		return "after-method-only";
	case FL_HYPO_DURING_ONLY:
		return "during-method-only";
	case FL_HYPO_CONTINUOUS:
		return "continuously";
	case FL_HYPO__MAX:
		break;
	}
	return "?";
}

int fl_hypothesis_strategy_parse(const char *s, enum fl_hypothesis_strategy *out)
{
	if (!strcmp(s, "continously")) {
		*out = FL_HYPO_CONTINUOUS;
		return 0;
	}
	for (int i = 0; i < FL_HYPO__MAX; i++) {
		if (!strcmp(s, fl_hypothesis_strategy_name((enum fl_hypothesis_strategy)i))) {
			*out = (enum fl_hypothesis_strategy)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- freeing ------------------------------------------------------------------ */

static void activity_done(struct fl_activity *a)
{
	free(a->name);
	fl_provider_done(&a->provider);
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
	fl_kvs_free(e->config, e->n_config);
	free(e->hypothesis_title);
	list_done(&e->hypothesis);
	list_done(&e->method);
	list_done(&e->rollbacks);
	list_done(&e->abort);
	free(e->source_path);
	free(e->canonical_json);
	free(e);
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
	t = fl_get(j, "type");
	fl_path_key(tp, sizeof(tp), path, "type");
	if (!cJSON_IsString(t)) {
		ERR(ctx, -EINVAL, tp, "expected \"process\", \"http\" or \"fault\", got %s",
		    fl_json_got(t, got, sizeof(got)));
		return;
	}
	if (!strcmp(t->valuestring, "process")) {
		p->type = FL_PROVIDER_PROCESS;
		fl_process_provider_parse(ctx->errs, j, path, p);
	} else if (!strcmp(t->valuestring, "http")) {
		p->type = FL_PROVIDER_HTTP;
		fl_http_provider_parse(ctx->errs, j, path, p);
	} else if (!strcmp(t->valuestring, "fault")) {
		p->type = FL_PROVIDER_FAULT;
		fl_fault_provider_parse(ctx->errs, j, path, p);
	} else if (!strcmp(t->valuestring, "load")) { /* http + rate: slo_parse.c */
		cJSON *h = fl_slo_load_http_part(j);

		p->type = FL_PROVIDER_LOAD;
		if (h)
			fl_http_provider_parse(ctx->errs, h, path, p);
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

/*
 * The activity a ref names, as Chaos Toolkit finds it: its cache maps each
 * name of the method, then of the hypothesis, to the last activity with that
 * name (so the hypothesis wins over the method). faultline also lets a ref
 * name a rollback or an abort probe, when nothing else has that name.
 */
static const struct named *find_named(const struct parse_ctx *ctx, const char *name, size_t *count)
{
	static const enum list_kind order[] = {LIST_HYPOTHESIS, LIST_METHOD, LIST_ROLLBACKS,
					       LIST_ABORT};
	const struct named *hit = NULL;

	*count = 0;
	for (size_t i = 0; i < ctx->n_named; i++)
		if (!strcmp(ctx->named[i].name, name))
			(*count)++;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && !hit; k++)
		for (size_t i = 0; i < ctx->n_named; i++)
			if (ctx->named[i].kind == order[k] && !strcmp(ctx->named[i].name, name))
				hit = &ctx->named[i];
	return hit;
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
	fl_check_keys(ctx->errs, j, path, known, "pauses");
	v = fl_get(j, "before");
	if (v)
		fl_get_seconds(ctx->errs, v, fl_path_key(p, sizeof(p), path, "before"), false,
			       &a->pause_before_ms);
	v = fl_get(j, "after");
	if (v)
		fl_get_seconds(ctx->errs, v, fl_path_key(p, sizeof(p), path, "after"), false,
			       &a->pause_after_ms);
}

/*
 * "controls" (here, in the hypothesis or at the top): Chaos Toolkit runs
 * Python hooks from them, which may change the run (a safeguard interrupts
 * it); faultline cannot run them, so it says so instead of running a
 * different experiment, unless --ignore-controls says to run without them.
 */
static void check_controls(struct parse_ctx *ctx, const cJSON *j, const char *path)
{
	const cJSON *c = fl_get(j, "controls");
	char p[FL_PATH_MAX];

	if (!c || (cJSON_IsArray(c) && !c->child))
		return;
	fl_path_key(p, sizeof(p), path, "controls");
	if (ctx->o->ignore_controls) {
		if (ctx->warnings)
			fl_experr(ctx->warnings, 0, p, "controls ignored (--ignore-controls)");
		return;
	}
	ERR(ctx, -ENOTSUP, p,
	    "controls run Chaos Toolkit's Python extensions, which faultline cannot run, and "
	    "they can change the outcome (a safeguard stops the run); remove them, or pass "
	    "--ignore-controls to run without them");
}

static void parse_activity(struct parse_ctx *ctx, const cJSON *j, const char *path,
			   enum list_kind kind, struct fl_activity *a);

/*
 * {"ref": "name"}: repeat another activity. Chaos Toolkit's own documents give
 * a ref a "type", and a hypothesis ref its own "tolerance" (which wins over
 * the named probe's); "background" on a ref runs it in the background.
 */
static void parse_ref(struct parse_ctx *ctx, const cJSON *j, const char *path, enum list_kind kind,
		      struct fl_activity *a)
{
	static const char *const known[] = {"ref",	   "type",     "tolerance", "background",
					    "description", "controls", "name",	    NULL};
	const cJSON *ref = fl_get(j, "ref");
	char p[FL_PATH_MAX], got[96];
	const struct named *n;
	struct parse_ctx sub;
	struct fl_errlist *scratch;
	size_t count;

	fl_path_key(p, sizeof(p), path, "ref");
	fl_check_keys(ctx->errs, j, path, known, "a reference");
	if (!cJSON_IsString(ref) || !ref->valuestring[0]) {
		ERR(ctx, -EINVAL, p, "expected the name of an earlier activity, got %s",
		    fl_json_got(ref, got, sizeof(got)));
		return;
	}
	n = find_named(ctx, ref->valuestring, &count);
	if (!n) {
		ERR(ctx, -ENOENT, p, "no activity is named %s",
		    fl_quote(ref->valuestring, got, sizeof(got)));
		return;
	}
	if (count > 1 && ctx->o->strict) {
		ERR(ctx, -EINVAL, p,
		    "%s names %zu activities; names must be unique to be referenced",
		    fl_quote(ref->valuestring, got, sizeof(got)), count);
		return;
	}
	if (count > 1 && ctx->warnings)
		fl_experr(ctx->warnings, -EINVAL, p,
			  "%s names %zu activities; the one Chaos Toolkit picks is used: %s",
			  fl_quote(ref->valuestring, got, sizeof(got)), count, n->a->json_path);
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
	{
		const cJSON *tol = fl_get(j, "tolerance"), *bg = fl_get(j, "background");
		char tp[FL_PATH_MAX];

		if (tol && JUDGED(kind)) {
			fl_tolerance_done(&a->tolerance);
			if (fl_tolerance_parse(tol, fl_path_key(tp, sizeof(tp), path, "tolerance"),
					       &a->tolerance, ctx->errs) < 0) {
				/* recorded in errs */
			}
		}
		a->background = false;
		if (bg && !cJSON_IsBool(bg))
			ERR(ctx, -EINVAL, fl_path_key(tp, sizeof(tp), path, "background"),
			    "expected true or false, got %s", fl_json_got(bg, got, sizeof(got)));
		else if (kind == LIST_METHOD || kind == LIST_ROLLBACKS)
			a->background = cJSON_IsTrue(bg);
	}
	if (JUDGED(kind) && a->type == FL_ACTIVITY_ACTION)
		ERR(ctx, -EINVAL, p,
		    "%s is an action; the steady-state hypothesis holds probes only",
		    fl_quote(ref->valuestring, got, sizeof(got)));
	else if (JUDGED(kind) && a->tolerance.type == FL_TOL_NONE)
		ERR(ctx, -EINVAL, p, "%s has no tolerance; a hypothesis probe needs one",
		    fl_quote(ref->valuestring, got, sizeof(got)));
}

static void parse_activity(struct parse_ctx *ctx, const cJSON *j, const char *path,
			   enum list_kind kind, struct fl_activity *a)
{
	/* mode, interval: slo_parse.c; timeout, description, dry: Chaos Toolkit's,
	 * accepted and not acted on, as chaoslib does not act on them either */
	static const char *const known[] = {
	    "type", "name",	"provider", "tolerance",   "pauses", "background", "controls",
	    "mode", "interval", "timeout",  "description", "dry",    NULL};
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
	check_controls(ctx, j, path);
	if (fl_get(j, "ref")) {
		/* resolved once every list is read: a ref may name a later activity */
		struct pending_ref *nr = realloc(ctx->refs, (ctx->n_refs + 1) * sizeof(*nr));

		if (!nr) {
			ERR(ctx, -ENOMEM, path, "out of memory");
			return;
		}
		ctx->refs = nr;
		nr[ctx->n_refs++] = (struct pending_ref){j, a, kind};
		return;
	}
	fl_check_keys(ctx->errs, j, path, known, "an activity");
	v = fl_get(j, "type");
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
	a->name =
	    fl_get_string(ctx->errs, j, "name", path, true, FL_EXP_NAME_MAX, "a non-empty name");
	v = fl_get(j, "provider");
	fl_path_key(p, sizeof(p), path, "provider");
	if (!v)
		ERR(ctx, -EINVAL, p, "missing: every activity needs a provider");
	else
		parse_provider(ctx, v, p, &a->provider);
	v = fl_get(j, "tolerance");
	fl_path_key(p, sizeof(p), path, "tolerance");
	if (v && a->type == FL_ACTIVITY_ACTION) {
		/* Chaos Toolkit reads no tolerance on an action, and neither do we */
		if (ctx->warnings)
			fl_experr(ctx->warnings, -EINVAL, p,
				  "an action's tolerance is not used (only probes are judged)");
	} else if (v && fl_tolerance_parse(v, p, &a->tolerance, ctx->errs) < 0) {
		/* recorded in errs */
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
	v = fl_get(j, "timeout");
	if (v && !cJSON_IsNumber(v)) /* chaoslib: "activity timeout must be a number" */
		ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, "timeout"),
		    "expected a number (Chaos Toolkit does not act on it: give the provider a "
		    "timeout), got %s",
		    fl_json_got(v, got, sizeof(got)));
	v = fl_get(j, "description");
	if (v && !cJSON_IsString(v))
		ERR(ctx, -EINVAL, fl_path_key(p, sizeof(p), path, "description"),
		    "expected a string, got %s", fl_json_got(v, got, sizeof(got)));
	v = fl_get(j, "pauses");
	if (v)
		parse_pauses(ctx, v, fl_path_key(p, sizeof(p), path, "pauses"), a);
	v = fl_get(j, "background");
	if (v) {
		fl_path_key(p, sizeof(p), path, "background");
		if (!cJSON_IsBool(v))
			ERR(ctx, -EINVAL, p, "expected true or false, got %s",
			    fl_json_got(v, got, sizeof(got)));
		else if (cJSON_IsTrue(v) && kind != LIST_METHOD && kind != LIST_ROLLBACKS)
			ERR(ctx, -EINVAL, p,
			    "only method activities and rollbacks run in the background");
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
		const cJSON *n = fl_get(it, "name");
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
	if (n == 0)
		return; /* Chaos Toolkit runs an empty method (only the hypothesis) */
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

/*
 * runtime := {"rollbacks": {"strategy": S}, "hypothesis": {"strategy": H, ...}}
 * as `chaos run` reads it from the experiment (the command line wins).
 */
static void parse_runtime(struct parse_ctx *ctx, const cJSON *j, struct fl_experiment *e)
{
	const cJSON *rs = fl_get(fl_get(j, "rollbacks"), "strategy");
	const cJSON *hs = fl_get(fl_get(j, "hypothesis"), "strategy");
	char got[96];

	if (!j)
		return;
	if (!cJSON_IsObject(j)) {
		ERR(ctx, -EINVAL, "$.runtime", "expected an object, got %s",
		    fl_json_got(j, got, sizeof(got)));
		return;
	}
	if (rs && (!cJSON_IsString(rs) ||
		   fl_rollback_strategy_parse(rs->valuestring, &e->rollback_strategy) < 0))
		ERR(ctx, -EINVAL, "$.runtime.rollbacks.strategy",
		    "expected always, default, deviated or never, got %s",
		    fl_json_got(rs, got, sizeof(got)));
	else if (rs)
		e->has_rollback_strategy = true;
	if (hs && (!cJSON_IsString(hs) ||
		   fl_hypothesis_strategy_parse(hs->valuestring, &e->hypothesis_strategy) < 0))
		ERR(ctx, -EINVAL, "$.runtime.hypothesis.strategy",
		    "expected default, before-method-only, after-method-only, during-method-only "
		    "or continuously, got %s",
		    fl_json_got(hs, got, sizeof(got)));
	else if (hs)
		e->has_hypothesis_strategy = true;
	/* chaos run: with a "runtime" in the file, a strategy it does not give is
	 * Chaos Toolkit's "default" (faultline's own default rollback strategy is
	 * "always", which applies only to files without a runtime) */
	if (!e->has_rollback_strategy && !rs) {
		e->has_rollback_strategy = true;
		e->rollback_strategy = FL_ROLLBACK_DEFAULT;
	}
	if (!e->has_hypothesis_strategy && !hs) {
		e->has_hypothesis_strategy = true;
		e->hypothesis_strategy = FL_HYPO_DEFAULT;
	}
}

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
		if (fl_strv_add(&e->tags, &e->n_tags, strdup(it->valuestring)) < 0) {
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
	check_controls(ctx, j, "$.steady-state-hypothesis");
	fl_check_keys(ctx->errs, j, "$.steady-state-hypothesis", known,
		      "the steady-state hypothesis");
	e->hypothesis_title = fl_get_string(ctx->errs, j, "title", "$.steady-state-hypothesis",
					    true, FL_EXP_NAME_MAX, "a non-empty title");
	probes = fl_get(j, "probes");
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
static char *canonical(const cJSON *root, struct fl_subst_map *m)
{
	struct fl_errlist *scratch = calloc(1, sizeof(*scratch));
	cJSON *out = cJSON_CreateObject(), *c;
	const cJSON *it;
	char *s = NULL;

	if (!scratch || !out)
		goto done;
	m->spent = 0; /* the same substitutions again, masked: a budget of their own */
	m->over = false;
	cJSON_ArrayForEach(it, root)
	{
		if (!strcmp(it->string, "secrets"))
			continue;
		if (fl_key_known(it->string, subst_keys))
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

static int parse_into(const char *buf, size_t len, const struct fl_parse_opts *o,
		      const struct fl_vars *vars, struct fl_experiment **out,
		      struct fl_errlist *errs)
{
	struct fl_subst_map map = {0};
	static const struct fl_parse_opts dflt;
	struct parse_ctx ctx = {
	    .errs = errs, .o = o ? o : &dflt, .warnings = o ? o->warnings : NULL};
	struct fl_experiment runtime_holder = {0}, *e_runtime = &runtime_holder;
	struct fl_experiment *e = NULL;
	cJSON *root = NULL, *sub = NULL;
	const cJSON *v;
	size_t errs_before = errs->n + errs->dropped;
	int r = -EINVAL;

	*out = NULL;
	root = fl_guard_parse(buf, len, o, errs);
	if (!root)
		goto out;
	/* unknown top-level keys: Chaos Toolkit ignores them; so do we, with a warning */
	fl_check_keys(o && o->strict ? ctx.errs : ctx.warnings, root, "$", top_known,
		      "the experiment, ignored as Chaos Toolkit does");
	check_controls(&ctx, root, "$");
	parse_runtime(&ctx, fl_get(root, "runtime"), e_runtime);

	/* configuration and secrets, then substitution into a new tree */
	r = fl_config_resolve(fl_get(root, "configuration"), fl_get(root, "secrets"), vars, &map,
			      errs);
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

		v = fl_get(root, *k);
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
	e->title =
	    fl_get_string(ctx.errs, sub, "title", "$", true, FL_EXP_NAME_MAX, "a non-empty title");
	e->description = fl_get_string(ctx.errs, sub, "description", "$", false, FL_EXP_STRING_MAX,
				       "a description (a string)");
	v = fl_get(root, "tags");
	if (v)
		parse_tags(&ctx, v, e);
	v = fl_get(root, "timeout");
	if (v)
		fl_get_seconds(ctx.errs, v, "$.timeout", true, &e->timeout_ms);

	collect_names(&ctx, fl_get(fl_get(sub, "steady-state-hypothesis"), "probes"));
	collect_names(&ctx, fl_get(sub, "method"));
	collect_names(&ctx, fl_get(sub, "rollbacks"));
	collect_names(&ctx, fl_get(sub, "abort"));
	v = fl_get(sub, "steady-state-hypothesis");
	if (v)
		parse_hypothesis(&ctx, v, e);
	v = fl_get(sub, "method");
	if (v) /* Chaos Toolkit's validation asks for one, its runner does without */
		parse_list(&ctx, v, "$.method", LIST_METHOD, &e->method);
	v = fl_get(sub, "rollbacks");
	if (v)
		parse_list(&ctx, v, "$.rollbacks", LIST_ROLLBACKS, &e->rollbacks);
	v = fl_get(sub, "abort"); /* abort conditions: probes sampled through the method */
	if (v)
		parse_list(&ctx, v, "$.abort", LIST_ABORT, &e->abort);
	for (size_t i = 0; i < ctx.n_refs; i++) {
		char rp[FL_PATH_MAX]; /* parse_ref starts the slot afresh, json_path included */

		snprintf(rp, sizeof(rp), "%s", ctx.refs[i].a->json_path);
		parse_ref(&ctx, ctx.refs[i].json, rp, ctx.refs[i].kind, ctx.refs[i].a);
	}
	e->has_rollback_strategy = runtime_holder.has_rollback_strategy;
	e->rollback_strategy = runtime_holder.rollback_strategy;
	e->has_hypothesis_strategy = runtime_holder.has_hypothesis_strategy;
	e->hypothesis_strategy = runtime_holder.hypothesis_strategy;

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
	free(ctx.refs);
	cJSON_Delete(sub);
	cJSON_Delete(root);
	fl_subst_map_done(&map);
	return r;
}

/*
 * Errors are collected in a list of this parse's own, so "one error per
 * path" never hides an error behind one from another file, then appended.
 */
int fl_experiment_parse(const char *buf, size_t len, const struct fl_vars *vars,
			struct fl_experiment **out, struct fl_errlist *errs)
{
	return fl_experiment_parse_opts(buf, len, NULL, vars, out, errs);
}

int fl_experiment_parse_opts(const char *buf, size_t len, const struct fl_parse_opts *o,
			     const struct fl_vars *vars, struct fl_experiment **out,
			     struct fl_errlist *errs)
{
	struct fl_errlist *mine = calloc(1, sizeof(*mine));
	int r;

	*out = NULL;
	if (!mine)
		return fl_errlist_add(errs, -ENOMEM, "$", "out of memory");
	r = parse_into(buf, len, o, vars, out, mine);
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
	return fl_experiment_load_opts(path, NULL, vars, out, errs);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

int fl_experiment_load_opts(const char *path, const struct fl_parse_opts *o,
			    const struct fl_vars *vars, struct fl_experiment **out,
			    struct fl_errlist *errs)
{
	struct fl_parse_opts mine = {0};
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (o)
		mine = *o;
	if (mine.format == FL_DOC_AUTO) {
		if (ends_with(path, ".json"))
			mine.format = FL_DOC_JSON;
		else if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
			mine.format = FL_DOC_YAML;
	}

	*out = NULL;
	r = fl_experiment_read_file(path, &buf, &len);
	if (r == -E2BIG)
		return fl_errlist_add(errs, r, "$", "the file is larger than the limit of %d bytes",
				      FL_EXP_FILE_MAX);
	if (r < 0)
		return fl_errlist_add(errs, r, "", "cannot read %s: %s", path, strerror(-r));
	r = fl_experiment_parse_opts(buf, len, &mine, vars, out, errs);
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
