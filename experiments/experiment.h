/*
 * The experiment model: a Chaos Toolkit-shaped JSON experiment parsed and
 * validated into typed structs. Nothing here keeps cJSON pointers from the
 * input; run-time results (provider outputs) are cJSON values built by the
 * controller and judged by fl_tolerance_check().
 */
#ifndef FL_EXPERIMENTS_EXPERIMENT_H
#define FL_EXPERIMENTS_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

/* Hard caps on outside input. */
#define FL_EXP_FILE_MAX	      (1024 * 1024)	/* bytes */
#define FL_EXP_NESTING_MAX    32		/* JSON nesting depth */
#define FL_EXP_ACTIVITIES_MAX 256		/* per list (hypothesis, method, rollbacks) */
#define FL_EXP_STRING_MAX     (64 * 1024)	/* any one string */
#define FL_EXP_NAME_MAX	      256		/* titles, names, keys */
#define FL_EXP_ARGS_MAX	      256		/* process arguments, headers, tags */
#define FL_EXP_CONFIG_MAX     256		/* configuration entries */
#define FL_EXP_SUBST_MAX      (4 * 1024 * 1024) /* bytes all ${name} substitutions add */

enum fl_activity_type { FL_ACTIVITY_ACTION, FL_ACTIVITY_PROBE, FL_ACTIVITY__MAX };

enum fl_provider_type {
	FL_PROVIDER_PROCESS,
	FL_PROVIDER_HTTP,
	FL_PROVIDER_FAULT,
	/* steady-state probes (experiments/slo_parse.c, controller/probe_*.c) */
	FL_PROVIDER_LOAD,	/* steady HTTP traffic at a rate: latency and errors */
	FL_PROVIDER_PROMETHEUS, /* an instant PromQL query: its value */
	FL_PROVIDER_TCP,	/* connect within a timeout: true/false */
	FL_PROVIDER_RUNNING,	/* how many processes match a selector */
	FL_PROVIDER__MAX
};

enum fl_tolerance_type {
	FL_TOL_NONE,	 /* no tolerance: any result passes (method activities) */
	FL_TOL_BOOL,	 /* exact bool */
	FL_TOL_INT,	 /* exact int: process exit status / HTTP status / int result */
	FL_TOL_STRING,	 /* exact string: stdout / body / string result */
	FL_TOL_BETWEEN,	 /* [lo, hi] two-number list: inclusive range */
	FL_TOL_ONE_OF,	 /* any other list: result equals one of the items */
	FL_TOL_REGEX,	 /* {"type":"regex","pattern","target"} */
	FL_TOL_JSONPATH, /* {"type":"jsonpath","path","expect","count","target"} */
	FL_TOL_RANGE,	 /* {"type":"range","range":[lo,hi],"target"} */
	FL_TOL_SLO,	 /* {"success_ratio": {"min"}, "latency": {"p95": "500ms"}} over samples */
	FL_TOL_PROBE,	 /* {"type": "probe", "provider": process|http}: the runner runs it */
	FL_TOL__MAX
};

enum fl_rollback_strategy {
	FL_ROLLBACK_ALWAYS,   /* faultline's default: rollbacks run whatever happened */
	FL_ROLLBACK_DEFAULT,  /* Chaos Toolkit's "default": skip when the hypothesis deviated */
	FL_ROLLBACK_DEVIATED, /* only when the hypothesis deviated */
	FL_ROLLBACK_NEVER,
	FL_ROLLBACK__MAX
};

/* Chaos Toolkit's steady-state strategies (--hypothesis-strategy, runtime.hypothesis). */
enum fl_hypothesis_strategy {
	FL_HYPO_DEFAULT,     /* before and after the method */
	FL_HYPO_BEFORE_ONLY, /* "before-method-only" */
	FL_HYPO_AFTER_ONLY,  /* "after-method-only": no gate before the method */
	FL_HYPO_DURING_ONLY, /* "during-method-only": the whole hypothesis, repeatedly */
	FL_HYPO_CONTINUOUS,  /* "continuously": before, during and after */
	FL_HYPO__MAX
};

struct fl_kv {
	char *key;
	char *value;
};

/* A tolerance; `items` holds the list for ONE_OF as cJSON-free scalars. */
struct fl_tol_scalar {
	enum { FL_SCALAR_BOOL, FL_SCALAR_NUMBER, FL_SCALAR_STRING, FL_SCALAR_NULL } type;
	bool b;
	double num;
	char *str;
};

struct fl_tolerance {
	enum fl_tolerance_type type;
	bool b;			     /* BOOL */
	long long i;		     /* INT */
	char *str;		     /* STRING; REGEX pattern; JSONPATH path */
	double lo, hi;		     /* BETWEEN, RANGE */
	struct fl_tol_scalar *items; /* ONE_OF; JSONPATH expect (n_items == 1) */
	size_t n_items;
	bool has_expect;   /* JSONPATH: "expect" given */
	long long count;   /* JSONPATH: "count", -1 when absent */
	char *target;	   /* REGEX/JSONPATH/RANGE: "stdout", "body", "status"... or NULL */
	char *expect_json; /* JSONPATH: "expect" as compact JSON text (any JSON value) */
	void *compiled;	   /* private: compiled regex / path */
	/* SLO: judged over all samples of a window (experiments/slo_tol.c) */
	double slo_min_ratio;	    /* success_ratio.min; < 0: not checked */
	uint64_t slo_latency_us[3]; /* latency p50, p95, p99 bounds; 0: not checked */
	uint64_t slo_min_samples;   /* fewer samples than this: not met (default 1) */
	/* PROBE: the probe that judges (its name in str); met when it runs without
	 * failing, as chaoslib's bool() of a process or http result (a dict) */
	struct fl_provider *probe;
};

/* When a steady-state probe runs ("mode", docs/experiment-format.md). */
enum fl_probe_mode {
	FL_MODE_EDGE,	  /* default: before and after the method, as Chaos Toolkit */
	FL_MODE_BEFORE,	  /* before the method only */
	FL_MODE_AFTER,	  /* after the method only */
	FL_MODE_DURING,	  /* "during" / "continuous": every interval through the method */
	FL_MODE_ON_FAULT, /* every interval while a fault of this run is live */
	FL_MODE__MAX
};

struct fl_provider {
	enum fl_provider_type type;
	uint64_t timeout_ms; /* 0: provider default */

	/* process */
	char *path;
	char **argv; /* NULL-terminated arguments after argv[0] (a list or an object) */
	size_t argc;
	/* "arguments" given as a string: run "PATH ARGS" with /bin/sh -c, as Chaos
	 * Toolkit does (subprocess.run(..., shell=True)); NULL otherwise */
	char *shell_args;

	/* http */
	char *url;
	char *method;	       /* "GET" by default */
	struct fl_kv *headers; /* includes the Content-Type chosen for an object body, if any */
	size_t n_headers;
	/* request body from "arguments", NULL for none (GET: arguments go in the URL) */
	char *body;
	long expected_status; /* -1: any */
	bool verify_tls;
	uint64_t connect_timeout_ms; /* "timeout": [connect, read]; 0: libcurl default */
	unsigned max_retries;	     /* Chaos Toolkit's "max_retries" (connection retries) */

	/* fault (filled by the agent issue; kept as canonical JSON text) */
	char *kind;
	char *target_json;
	char *params_json;
	uint64_t duration_ms;
	char **agents; /* NULL-terminated, may be NULL */

	/* load: url, method, headers, body, expected_status, timeout_ms as http; duration_ms
	 * is how long a one-shot run lasts (a "during" probe runs through the method) */
	double rate;	      /* requests per second */
	unsigned concurrency; /* requests in flight at most */
	/* prometheus: url is the server's base URL */
	char *query;
	/* tcp */
	char *host;
	unsigned port;
	/* running: target_json holds the process selector (as the kill fault's) */
};

struct fl_activity {
	char *name;
	enum fl_activity_type type;
	struct fl_provider provider;
	/* required on hypothesis probes; method probes may carry one (CTK ignores it) */
	struct fl_tolerance tolerance; /* FL_TOL_NONE when absent */
	uint64_t pause_before_ms;
	uint64_t pause_after_ms;
	bool background;
	const struct fl_activity *ref; /* {"ref": "name"}: the earlier activity this one repeats */
	char *json_path;	       /* "$.method[2]", for messages and reports */
	enum fl_probe_mode mode;       /* hypothesis probes; abort probes are always during */
	uint64_t interval_ms;	       /* during/on-fault/abort sampling period */
};

struct fl_activity_list {
	struct fl_activity *v;
	size_t n;
};

struct fl_experiment {
	char *title;
	char *description;
	char **tags; /* NULL-terminated */
	size_t n_tags;
	struct fl_kv *config; /* resolved configuration (env looked up, --var applied) */
	size_t n_config;
	bool has_hypothesis;
	char *hypothesis_title;
	struct fl_activity_list hypothesis; /* probes with tolerances */
	struct fl_activity_list method;
	struct fl_activity_list rollbacks;
	struct fl_activity_list abort; /* "abort": probes whose failure stops the run at once */
	uint64_t timeout_ms;	       /* whole-run timeout, 0 = none */
	/* "runtime": Chaos Toolkit's strategies from the file (the command line wins) */
	bool has_rollback_strategy;
	enum fl_rollback_strategy rollback_strategy;
	bool has_hypothesis_strategy;
	enum fl_hypothesis_strategy hypothesis_strategy;
	char *source_path;    /* file it came from, or NULL */
	char *canonical_json; /* the experiment after substitution, for the journal */
};

/* How an experiment document is written (fl_parse_opts.format). */
enum fl_doc_format {
	FL_DOC_AUTO, /* by content: '{' first is JSON, anything else YAML */
	FL_DOC_JSON,
	FL_DOC_YAML, /* YAML 1.1 as PyYAML's safe_load reads it (Chaos Toolkit's loader) */
	FL_DOC__MAX
};

/* Options of fl_experiment_parse_opts(); all zero is the default. */
struct fl_parse_opts {
	enum fl_doc_format format;
	/* What Chaos Toolkit tolerates (a key given twice: the last wins; unknown
	 * top-level keys: ignored) is an error instead of a warning. */
	bool strict;
	/* Run an experiment that declares `controls` without them. */
	bool ignore_controls;
	/* Where warnings go (each with its JSON path); NULL: dropped. */
	struct fl_errlist *warnings;
};

/* Variables from --var k=v / --var-file, overriding configuration. */
struct fl_vars {
	struct fl_kv *v;
	size_t n;
	/* parallel to v: the typed value as JSON text ("k:int=5", --var-file), or NULL */
	char **json;
	/* parallel to v: true for a var file's "secrets", masked like secrets */
	bool *secret;
};

/*
 * Parse and validate an experiment held in memory. Every problem found goes
 * into `errs` (path + message); returns 0 and sets *out only when there were
 * none. Configuration is resolved (env lookups, `vars` override) and ${name}
 * substituted before typed parsing. Nothing is run.
 */
int fl_experiment_parse(const char *buf, size_t len, const struct fl_vars *vars,
			struct fl_experiment **out, struct fl_errlist *errs) FL_WUR;
/* The same with options (format, strictness, warnings); o may be NULL. */
int fl_experiment_parse_opts(const char *buf, size_t len, const struct fl_parse_opts *o,
			     const struct fl_vars *vars, struct fl_experiment **out,
			     struct fl_errlist *errs) FL_WUR;
/* Read a file (size-capped) and parse it; errors as above. */
int fl_experiment_load(const char *path, const struct fl_vars *vars, struct fl_experiment **out,
		       struct fl_errlist *errs) FL_WUR;
/*
 * The same with options; the format comes from the name when o->format is
 * FL_DOC_AUTO: .json is JSON, .yaml and .yml are YAML, others by content.
 */
int fl_experiment_load_opts(const char *path, const struct fl_parse_opts *o,
			    const struct fl_vars *vars, struct fl_experiment **out,
			    struct fl_errlist *errs) FL_WUR;
/*
 * Check that every process provider's program can be run from here: a path
 * with a slash must be an executable file, a bare name must be found in PATH
 * (as Chaos Toolkit's validation does with shutil.which). Separate from
 * parsing because the answer depends on the machine: call it before a run.
 * Errors (one per activity, with its path) go to errs; returns 0 or -ENOENT.
 */
int fl_experiment_check_programs(const struct fl_experiment *e, struct fl_errlist *errs) FL_WUR;
/* Free an experiment; NULL is fine. */
void fl_experiment_free(struct fl_experiment *e);

/* Add "k=v" to vars (from --var); -EINVAL with a message when malformed. */
int fl_vars_add_kv(struct fl_vars *vars, const char *kv, struct fl_error *err) FL_WUR;
/* Load a JSON object of string/number/bool values (--var-file). */
int fl_vars_load_file(struct fl_vars *vars, const char *path, struct fl_error *err) FL_WUR;
void fl_vars_done(struct fl_vars *vars);

/*
 * Judge a provider result against a tolerance with Chaos Toolkit semantics.
 * `result` is the provider's output: for process {"status","stdout","stderr"},
 * for http {"status","headers","body","elapsed_ms"}, otherwise any JSON value.
 * Returns true when within tolerance; on false, `why` explains (observed value).
 */
bool fl_tolerance_check(const struct fl_tolerance *t, enum fl_provider_type ptype,
			const cJSON *result, char *why, size_t whylen);
/* Human form of a tolerance for reports: "200", "[200, 299]", "regex ^ok". */
const char *fl_tolerance_describe(const struct fl_tolerance *t, char *buf, size_t len);

/*
 * SLO tolerances and samples (experiments/slo_tol.c). A window summary is
 * the JSON object {"samples", "succeeded", "failed", "success_ratio",
 * "latency_ms": {"p50","p95","p99"}} that the controller builds from its
 * samples (and a one-shot `load` probe returns).
 */
/* Did one provider result succeed, as a sample? (exit 0, HTTP < 400, true, count > 0...) */
bool fl_slo_sample_ok(enum fl_provider_type ptype, const cJSON *result);
/* Is a run of this probe in this phase? (phase: FL_MODE_BEFORE/AFTER) */
bool fl_probe_runs_in(const struct fl_activity *a, enum fl_probe_mode phase);
/* Does the experiment sample anything during the method (during/on-fault/abort)? */
bool fl_experiment_samples(const struct fl_experiment *e);
/* Default sampling interval. */
#define FL_PROBE_INTERVAL_DEFAULT_MS 1000

const char *fl_activity_type_name(enum fl_activity_type t);
const char *fl_provider_type_name(enum fl_provider_type t);
const char *fl_rollback_strategy_name(enum fl_rollback_strategy s);
int fl_rollback_strategy_parse(const char *s, enum fl_rollback_strategy *out) FL_WUR;
const char *fl_hypothesis_strategy_name(enum fl_hypothesis_strategy s);
/* Chaos Toolkit's names, "continously" (its old spelling) included. */
int fl_hypothesis_strategy_parse(const char *s, enum fl_hypothesis_strategy *out) FL_WUR;

#endif
