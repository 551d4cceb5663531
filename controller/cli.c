/*
 * The `faultline` command line.
 *
 * Grammar:
 *   faultline [--help | --version] COMMAND [ARGS]
 *   COMMAND := run [RUN-OPTIONS] FILE [RUN-OPTIONS] [-- FILE]
 *            | validate [OPTIONS] FILE... [OPTIONS] [-- FILE...]
 *            | help [COMMAND] | version
 *
 * Options and operands (FILE) may come in any order, as GNU tools accept them
 * (`faultline run exp.json --journal j.json`); `--` ends the options, so a
 * file whose name starts with '-' goes after it. getopt_long runs in its
 * "return in order" mode ('-' first in the option string): each operand comes
 * back as option 1, in place, and POSIXLY_CORRECT changes nothing.
 *
 * Every usage error names the offending argument and exits 2; nothing runs.
 */
#include "controller/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/cmd_agents.h"
#include "controller/cmd_exec.h"
#include "controller/cmd_report.h"
#include "controller/provider_fault.h"
#include "controller/output.h"
#include "controller/report.h"
#include "controller/report_render.h"
#include "controller/run_watch.h"
#include "controller/runner.h"
#include "controller/signals.h"
#include "controller/cmd_agents.h"
#include "core/duration.h"
#include "core/rng.h"
#include "experiments/experiment.h"

static const char fl_usage_main[] =
    "Usage: faultline [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "faultline runs chaos-engineering experiments written in Chaos Toolkit's\n"
    "format: it checks the steady-state hypothesis, runs the method (actions,\n"
    "probes, faults), checks the hypothesis again, reverts faults, runs the\n"
    "rollbacks and reports whether the steady state held.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] FILE   run an experiment\n"
    "  validate FILE...     check experiments; run nothing\n"
    "  status --agents FILE live faults across agents\n"
    "  revert --all --agents FILE\n"
    "                       revert every live fault on the agents\n"
    "  exec [OPTIONS] -- CMD [ARG]...\n"
    "                       run one command with syscall faults\n"
    "  report JOURNAL... [-o PATH]\n"
    "                       an HTML page (or markdown) of one run or several\n"
    "  help [COMMAND]       show help for a command\n"
    "  version              print the version\n"
    "\n"
    "Exit codes:\n"
    "  0  the steady state held (or there was none to check) and nothing failed\n"
    "  1  the steady state deviated, or the run failed or was aborted\n"
    "  2  invalid input or usage, or the plan failed pre-flight (nothing was run)\n"
    "  3  interrupted by SIGINT/SIGTERM (faults reverted, rollbacks run first)\n"
    "  4  --require-effect: the run held, but a fault had no measured effect\n"
    "\n"
    "See 'faultline help run', faultline(1) and docs/cli.md.\n";

static const char fl_usage_run[] =
    "Usage: faultline run [OPTIONS] FILE\n"
    "\n"
    "Run the experiment in FILE: steady state before -> method -> steady state\n"
    "after -> revert faults -> rollbacks. If the steady state is not met before\n"
    "the method, the method is skipped and the run fails.\n"
    "\n"
    "Options:\n"
    "  --journal PATH           write the JSON journal to PATH\n"
    "                           (default ./journal.json; '-' for stdout)\n"
    "  --junit PATH             also write a JUnit XML report to PATH\n"
    "  --report PATH            also write a report for people to PATH: an HTML\n"
    "                           page (markdown when PATH ends in .md); see\n"
    "                           'faultline help report'\n"
    "  --rollback-strategy S    when rollbacks run (default: always):\n"
    "                             always    whatever happened\n"
    "                             default   Chaos Toolkit's default: not when the\n"
    "                                       steady state failed or on interrupt\n"
    "                             deviated  only when the steady state deviated\n"
    "                             never     never\n"
    "  --dry                    print what would run and, for fault activities,\n"
    "                           what each agent would do (tc/kill vocabulary);\n"
    "                           apply nothing, write no report; exit 2 when the\n"
    "                           pre-flight fails, 1 when an agent refuses\n"
    "  --var KEY[:TYPE]=VALUE   set a configuration value (repeatable); TYPE is\n"
    "                           str (the default), int, float, bool or json\n"
    "  --var-file FILE          configuration values from a JSON object (repeatable)\n"
    "  --agents FILE            agent inventory for fault activities\n"
    "  --hypothesis-strategy H  when the steady state is checked (Chaos Toolkit's):\n"
    "                           default (before and after the method),\n"
    "                           before-method-only, after-method-only,\n"
    "                           during-method-only, continuously\n"
    "  --strict                 refuse what Chaos Toolkit tolerates (a key given\n"
    "                           twice, unknown top-level keys) instead of warning\n"
    "  --ignore-controls        run an experiment that has controls without them\n"
    "  --no-color               no colours (NO_COLOR=1 does the same)\n"
    "  --grafana-url URL        annotate the faults and the verdict in Grafana\n"
    "                           (POST URL/api/annotations)...\n"
    "  --grafana-token-file F   ...with this service account token (Bearer)\n"
    "  --metrics-listen ADDR    serve the run as Prometheus metrics on ADDR\n"
    "                           (HOST:PORT, [IPv6]:PORT or :PORT) while it runs\n"
    "  --require-effect         fail the run (exit 4) when a fault's agent measured\n"
    "                           no effect (0 hits, no process stopped...); without\n"
    "                           it such a fault is a WARNING line and a warning in\n"
    "                           the journal and JUnit\n"
    "  -q, --quiet              print only the result\n"
    "  -h, --help               show this help\n"
    "\n"
    "Options may come before or after FILE; '--' ends them (a FILE named '-x.json'\n"
    "goes after it).\n"
    "\n"
    "Exit codes: 0 held, 1 deviated/failed/aborted, 2 invalid input or usage,\n"
    "3 interrupted (a first SIGINT/SIGTERM stops the run, reverts faults and runs\n"
    "the rollbacks; a second one stops the rollbacks too), 4 held but a fault had\n"
    "no effect (--require-effect).\n";

static const char fl_usage_validate[] =
    "Usage: faultline validate [OPTIONS] FILE...\n"
    "\n"
    "Parse and validate each FILE, each fault with its kind's own checks (no\n"
    "agent is asked); run nothing. Every problem is printed as\n"
    "  FILE: $.json.path: message\n"
    "and a valid file as 'FILE: ok'.\n"
    "\n"
    "Options:\n"
    "  --var KEY[:TYPE]=VALUE   set a configuration value (repeatable); TYPE is\n"
    "                           str (the default), int, float, bool or json\n"
    "  --var-file FILE          configuration values from a JSON object (repeatable)\n"
    "  --strict                 refuse what Chaos Toolkit tolerates (a key given\n"
    "                           twice, unknown top-level keys) instead of warning\n"
    "  --ignore-controls        accept controls (a run ignores them)\n"
    "  -q, --quiet              print only the errors\n"
    "  -h, --help               show this help\n"
    "\n"
    "Options may come before, between or after the FILEs; '--' ends them.\n"
    "\n"
    "Exit codes: 0 all valid, 2 at least one invalid (or a usage error).\n";

/*
 * '-': operands come back in place as option 1 (GNU's "return in order"), so
 * options may follow the file whatever POSIXLY_CORRECT says; ':': a missing
 * value is reported as ':'.
 */
#define FL_CLI_OPTSTRING "-:qh"

enum {
	OPT_JOURNAL = 256,
	OPT_JUNIT,
	OPT_ROLLBACK,
	OPT_DRY,
	OPT_VAR,
	OPT_VAR_FILE,
	OPT_AGENTS,
	OPT_NO_COLOR,
	OPT_STRICT,
	OPT_IGNORE_CONTROLS,
	OPT_HYPOTHESIS,
	OPT_REPORT,
	OPT_GRAFANA_URL,
	OPT_GRAFANA_TOKEN,
	OPT_METRICS,
	OPT_REQUIRE_EFFECT,
};

static int fl_usage_error(const char *cmd, const char *fmt, ...) FL_PRINTF(2, 3);
static int fl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "faultline%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'faultline help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
	return FL_EXIT_USAGE;
}

/* Report getopt's complaint about argv[optind - 1] in our words. */
static int fl_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return fl_usage_error(cmd, "option '%s' needs a value", arg);
	if (optopt)
		return fl_usage_error(cmd, "unknown option '-%c'", optopt);
	/* A long option: its name, without a "=value" part. */
	return fl_usage_error(cmd, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
}

/* Warnings from a load (what Chaos Toolkit tolerates; --strict makes them errors). */
static void fl_print_warnings(const char *file, const struct fl_errlist *w)
{
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, "%s: warning: %s%s%s\n", file, w->v[i].path,
			w->v[i].path[0] ? ": " : "", w->v[i].msg);
	if (w->dropped)
		fprintf(stderr, "%s: warning: %zu more\n", file, w->dropped);
}

static void fl_print_errlist(const char *file, const struct fl_errlist *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct fl_error *e = &errs->v[i];

		if (e->path[0])
			fprintf(stderr, "%s: %s: %s\n", file, e->path, e->msg);
		else
			fprintf(stderr, "%s: %s\n", file, e->msg);
	}
	if (errs->dropped)
		fprintf(stderr, "%s: ... and %zu more errors\n", file, errs->dropped);
}

/* Options shared by run and validate; returns 1 if handled, exit code < 0 never. */
static int fl_vars_option(const char *cmd, int c, struct fl_vars *vars)
{
	struct fl_error err;

	fl_error_init(&err);
	if (c == OPT_VAR) {
		if (fl_vars_add_kv(vars, optarg, &err) < 0) {
			fl_usage_error(cmd, "%s", err.msg);
			return -1;
		}
		return 1;
	}
	if (c == OPT_VAR_FILE) {
		if (fl_vars_load_file(vars, optarg, &err) < 0) {
			/* The message names the file; a path inside it is worth adding. */
			if (err.path[0] && strcmp(err.path, "$") != 0)
				fprintf(stderr, "faultline %s: --var-file %s: %s: %s\n", cmd,
					optarg, err.path, err.msg);
			else
				fprintf(stderr, "faultline %s: --var-file: %s\n", cmd, err.msg);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int fl_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"var", required_argument, NULL, OPT_VAR},
	    {"var-file", required_argument, NULL, OPT_VAR_FILE},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"ignore-controls", no_argument, NULL, OPT_IGNORE_CONTROLS},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fl_vars vars = {0};
	struct fl_parse_opts po = {0};
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	bool quiet = false;
	int c, ret = FL_EXIT_HELD;

	if (!files) {
		fprintf(stderr, "faultline: out of memory\n");
		return FL_EXIT_FAILED;
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, FL_CLI_OPTSTRING, opts, NULL)) != -1) {
		int v;

		if (c == 1) {
			files[nfiles++] = optarg;
			continue;
		}
		v = fl_vars_option("validate", c, &vars);

		if (v < 0) {
			ret = FL_EXIT_USAGE;
			goto out;
		}
		if (v > 0)
			continue;
		switch (c) {
		case OPT_STRICT:
			po.strict = true;
			break;
		case OPT_IGNORE_CONTROLS:
			po.ignore_controls = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(fl_usage_validate, stdout);
			goto out;
		default:
			ret = fl_bad_option("validate", c, argv);
			goto out;
		}
	}
	/* After "--": operands only. */
	while (optind < argc)
		files[nfiles++] = argv[optind++];
	if (!nfiles) {
		ret = fl_usage_error("validate", "no experiment file given");
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct fl_errlist *errs = calloc(1, sizeof(*errs));
		struct fl_errlist *warns = calloc(1, sizeof(*warns));
		struct fl_experiment *e = NULL;

		if (!errs || !warns) {
			fprintf(stderr, "faultline: out of memory\n");
			free(errs);
			free(warns);
			ret = FL_EXIT_FAILED;
			goto out;
		}
		po.warnings = warns;
		/* The experiment, then what each fault kind checks of its faults (offline). */
		if (fl_experiment_load_opts(files[i], &po, &vars, &e, errs) < 0 || errs->n ||
		    fl_fault_validate(e, errs) < 0) {
			if (!errs->n)
				fl_errlist_add(errs, -EINVAL, NULL, "invalid experiment");
			fl_print_errlist(files[i], errs);
			ret = FL_EXIT_USAGE;
		} else if (!quiet) {
			printf("%s: ok\n", files[i]);
		}
		if (!quiet)
			fl_print_warnings(files[i], warns);
		fl_experiment_free(e);
		free(errs);
		free(warns);
	}
out:
	free(files);
	fl_vars_done(&vars);
	return ret;
}

struct fl_run_args {
	const char *file;
	const char *journal;
	const char *junit;
	const char *agents;
	const char *report; /* --report: HTML or markdown (report_render.h) */
	const char *grafana_url, *grafana_token_file, *metrics_listen; /* run_watch.h */
	enum fl_rollback_strategy rs;
	bool rs_given; /* --rollback-strategy: wins over the file's runtime */
	enum fl_hypothesis_strategy hs;
	bool hs_given;
	bool dry, no_color, quiet, require_effect;
	struct fl_parse_opts po;
	struct fl_vars vars;
};

static int fl_run_parse_args(int argc, char **argv, struct fl_run_args *a, bool *help)
{
	static const struct option opts[] = {
	    {"journal", required_argument, NULL, OPT_JOURNAL},
	    {"journal-path", required_argument, NULL, OPT_JOURNAL}, /* chaos run's name */
	    {"junit", required_argument, NULL, OPT_JUNIT},
	    {"rollback-strategy", required_argument, NULL, OPT_ROLLBACK},
	    {"dry", no_argument, NULL, OPT_DRY},
	    {"var", required_argument, NULL, OPT_VAR},
	    {"var-file", required_argument, NULL, OPT_VAR_FILE},
	    {"agents", required_argument, NULL, OPT_AGENTS},
	    {"no-color", no_argument, NULL, OPT_NO_COLOR},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"ignore-controls", no_argument, NULL, OPT_IGNORE_CONTROLS},
	    {"hypothesis-strategy", required_argument, NULL, OPT_HYPOTHESIS},
	    {"report", required_argument, NULL, OPT_REPORT},
	    {"grafana-url", required_argument, NULL, OPT_GRAFANA_URL},
	    {"grafana-token-file", required_argument, NULL, OPT_GRAFANA_TOKEN},
	    {"metrics-listen", required_argument, NULL, OPT_METRICS},
	    {"require-effect", no_argument, NULL, OPT_REQUIRE_EFFECT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*help = false;
	a->journal = "./journal.json";
	a->rs = FL_ROLLBACK_ALWAYS;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, FL_CLI_OPTSTRING, opts, NULL)) != -1) {
		int v;

		if (c == 1) {
			if (a->file)
				return fl_usage_error(
				    "run", "one experiment file at a time (got '%s' and '%s')",
				    a->file, optarg);
			a->file = optarg;
			continue;
		}
		v = fl_vars_option("run", c, &a->vars);
		if (v < 0)
			return FL_EXIT_USAGE;
		if (v > 0)
			continue;
		switch (c) {
		case OPT_JOURNAL:
			a->journal = optarg;
			break;
		case OPT_JUNIT:
			a->junit = optarg;
			break;
		case OPT_ROLLBACK:
			if (fl_rollback_strategy_parse(optarg, &a->rs) < 0)
				return fl_usage_error("run",
						      "--rollback-strategy '%s': expected always, "
						      "default, deviated or never",
						      optarg);
			a->rs_given = true;
			break;
		case OPT_HYPOTHESIS:
			if (fl_hypothesis_strategy_parse(optarg, &a->hs) < 0)
				return fl_usage_error(
				    "run",
				    "--hypothesis-strategy '%s': expected default, "
				    "before-method-only, after-method-only, "
				    "during-method-only or continuously",
				    optarg);
			a->hs_given = true;
			break;
		case OPT_STRICT:
			a->po.strict = true;
			break;
		case OPT_IGNORE_CONTROLS:
			a->po.ignore_controls = true;
			break;
		case OPT_DRY:
			a->dry = true;
			break;
		case OPT_AGENTS:
			a->agents = optarg;
			break;
		case OPT_NO_COLOR:
			a->no_color = true;
			break;
		case OPT_REPORT:
			a->report = optarg;
			break;
		case OPT_GRAFANA_URL:
			a->grafana_url = optarg;
			break;
		case OPT_GRAFANA_TOKEN:
			a->grafana_token_file = optarg;
			break;
		case OPT_REQUIRE_EFFECT:
			a->require_effect = true;
			break;
		case OPT_METRICS:
			a->metrics_listen = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			*help = true;
			return 0;
		default:
			return fl_bad_option("run", c, argv);
		}
	}
	/* After "--": operands only. */
	for (; optind < argc; optind++) {
		if (a->file)
			return fl_usage_error("run",
					      "one experiment file at a time (got '%s' and '%s')",
					      a->file, argv[optind]);
		a->file = argv[optind];
	}
	if (!a->file)
		return fl_usage_error("run", "no experiment file given");
	if (!*a->journal)
		return fl_usage_error("run", "--journal needs a path");
	if (a->junit && !*a->junit)
		return fl_usage_error("run", "--junit needs a path");
	if (a->report && !*a->report)
		return fl_usage_error("run", "--report needs a path");
	if (a->report && strcmp(a->report, "-") == 0 &&
	    (strcmp(a->journal, "-") == 0 || (a->junit && strcmp(a->junit, "-") == 0)))
		return fl_usage_error("run", "only one of --journal, --junit and --report can go "
					     "to stdout");
	if (a->junit && strcmp(a->junit, "-") == 0 && strcmp(a->journal, "-") == 0)
		return fl_usage_error("run", "--journal and --junit cannot both go to stdout");
	return 0;
}

/* --dry: the plan, and for each fault activity what its agents would do. */
struct fl_dry {
	struct fl_fault_session *faults;
	bool asked;  /* pre-flight passed: the agents are asked */
	int refused; /* agents that refused a fault as a run would see it now */
	int unasked; /* activities whose agents could not be asked */
};

static bool fl_dry_is_fault(const struct fl_activity *a)
{
	return (a->ref ? a->ref : a)->provider.type == FL_PROVIDER_FAULT;
}

static bool fl_dry_list_has_faults(const struct fl_activity_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (fl_dry_is_fault(&l->v[i]))
			return true;
	return false;
}

/* Every line of `text` as "     agent NAME: line". */
static void fl_dry_lines(FILE *f, const char *agent, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		fprintf(f, "     agent %s: %.*s\n", agent, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void fl_dry_fault(FILE *f, const struct fl_activity *a, void *opaque)
{
	struct fl_dry *d = opaque;
	char msg[FL_ERROR_PATH_MAX + FL_ERROR_MSG_MAX + 8];
	const cJSON *ag, *seed;
	struct fl_error err;
	cJSON *res = NULL;

	if (!fl_dry_is_fault(a) || !d->faults || !d->asked)
		return;
	fl_error_init(&err);
	if (fl_fault_session_describe(d->faults, a, &res, &err) < 0) {
		fprintf(f, "     cannot ask the agents: %s\n",
			fl_error_str(&err, msg, sizeof(msg)));
		d->unasked++;
		return;
	}
	seed = cJSON_GetObjectItemCaseSensitive(res, "monkey_seed");
	if (cJSON_IsString(seed))
		fprintf(f, "     monkey: agents picked with seed %s\n", seed->valuestring);
	seed = cJSON_GetObjectItemCaseSensitive(res, "pod_seed");
	if (cJSON_IsString(seed))
		fprintf(f, "     pods: picked across the cluster with seed %s\n",
			seed->valuestring);
	cJSON_ArrayForEach(ag,
			   cJSON_GetObjectItemCaseSensitive(res, "pods")) if (cJSON_IsString(ag))
	    fprintf(f, "     pod %s\n", ag->valuestring);
	cJSON_ArrayForEach(ag, cJSON_GetObjectItemCaseSensitive(res, "agents"))
	{
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ag, "agent"));
		const char *desc =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ag, "description"));
		const char *why =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ag, "error"));
		const char *code =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ag, "code"));
		const char *path =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ag, "path"));
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(ag, "status");

		if (!name)
			name = "?";
		if (desc) {
			fl_dry_lines(f, name, desc);
			continue;
		}
		/*
		 * Nothing matching the target now is not a refusal of the plan: an
		 * earlier activity may start the process. Anything else a real run
		 * would meet the same way, and abort.
		 */
		if (code && !strcmp(code, "no_target")) {
			fprintf(f, "     agent %s: nothing matches the target now (%s)\n", name,
				why ? why : "");
			continue;
		}
		d->refused++;
		fprintf(f, "     agent %s: REFUSED (HTTP %d%s%s): %s%s%s\n", name,
			cJSON_IsNumber(st) ? st->valueint : 0, code ? " " : "", code ? code : "",
			why ? why : "", path ? " at " : "", path ? path : "");
	}
	cJSON_Delete(res);
}

static int fl_run_dry(const struct fl_run_args *a, const struct fl_experiment *e)
{
	struct fl_fault_session_opts fo = {.inventory_path = a->agents, .dry_run = true};
	char run_id[40], msg[FL_ERROR_PATH_MAX + FL_ERROR_MSG_MAX + 8] = "";
	struct fl_dry d = {0};
	struct fl_error err;
	int ret = FL_EXIT_HELD;

	fl_error_init(&err);
	if (fl_dry_list_has_faults(&e->hypothesis) || fl_dry_list_has_faults(&e->method) ||
	    fl_dry_list_has_faults(&e->rollbacks)) {
		/* The fault ids look like a real run's: the agents check them the same way. */
		snprintf(run_id, sizeof(run_id), "fl-%016llx",
			 (unsigned long long)fl_rng_fresh_seed());
		fo.experiment_id = run_id;
		if (fl_fault_session_new(e, &fo, &d.faults, &err) < 0 ||
		    fl_fault_session_preflight(d.faults, &err) < 0)
			fl_error_str(&err, msg, sizeof(msg));
		else
			d.asked = true;
	}
	fl_out_plan(stdout, e, a->rs, fl_dry_fault, &d);
	if (msg[0]) {
		printf("Pre-flight failed: %s\n"
		       "A run would stop here, before anything is probed or applied.\n",
		       msg);
		ret = FL_EXIT_USAGE;
	} else if (d.faults) {
		printf("Pre-flight: every agent can do what the plan asks; nothing was applied.\n");
		if (d.refused || d.unasked) {
			printf("%d refusal(s): a run would abort at the first one.\n",
			       d.refused + d.unasked);
			ret = FL_EXIT_FAILED;
		}
	}
	fflush(stdout);
	/* Stops the embedded agent; nothing is live to revert. */
	fl_fault_session_free(d.faults);
	return ret;
}

static int fl_cmd_run(int argc, char **argv)
{
	struct fl_run_args a = {0};
	struct fl_experiment *e = NULL;
	struct fl_errlist *errs = NULL;
	struct fl_out *out = NULL;
	struct fl_run_watch *watch = NULL;
	struct fl_error err;
	cJSON *journal = NULL;
	FILE *of = stdout;
	char run_id[40], buf[FL_ERROR_PATH_MAX + FL_ERROR_MSG_MAX + 8];
	bool help;
	int ret;

	fl_error_init(&err);
	ret = fl_run_parse_args(argc, argv, &a, &help);
	if (ret || help) {
		if (help)
			fputs(fl_usage_run, stdout);
		goto out;
	}
	errs = calloc(1, sizeof(*errs));
	if (!errs) {
		ret = FL_EXIT_FAILED;
		goto out;
	}
	a.po.warnings = calloc(1, sizeof(*a.po.warnings));
	if (!a.po.warnings) {
		ret = FL_EXIT_FAILED;
		goto out;
	}
	if (fl_experiment_load_opts(a.file, &a.po, &a.vars, &e, errs) < 0 || errs->n ||
	    fl_fault_validate(e, errs) < 0) {
		if (!errs->n)
			fl_errlist_add(errs, -EINVAL, NULL, "invalid experiment");
		fl_print_errlist(a.file, errs);
		ret = FL_EXIT_USAGE;
		goto out;
	}
	if (!a.quiet)
		fl_print_warnings(a.file, a.po.warnings);
	/* chaos run's order: the command line, then the file's runtime, then the default */
	if (!a.rs_given && e->has_rollback_strategy)
		a.rs = e->rollback_strategy;
	if (!a.hs_given && e->has_hypothesis_strategy)
		a.hs = e->hypothesis_strategy;
	if (a.dry) {
		ret = fl_run_dry(&a, e);
		goto out;
	}
	if (fl_report_path_check(a.journal, &err) < 0 ||
	    (a.junit && fl_report_path_check(a.junit, &err) < 0) ||
	    (a.report && fl_report_path_check(a.report, &err) < 0)) {
		ret = fl_usage_error("run", "%s", err.msg);
		goto out;
	}
	if (fl_signals_init(&err) < 0) {
		fprintf(stderr, "faultline run: %s\n", err.msg);
		ret = FL_EXIT_FAILED;
		goto out;
	}
	/* With the journal on stdout, the progress goes to stderr. */
	if (strcmp(a.journal, "-") == 0 || (a.junit && strcmp(a.junit, "-") == 0) ||
	    (a.report && strcmp(a.report, "-") == 0))
		of = stderr;
	{
		struct fl_out_opts oo = {.f = of,
					 .tty = isatty(fileno(of)) != 0,
					 .color = !a.no_color && fl_out_want_color(of),
					 .quiet = a.quiet};
		const char *term = getenv("TERM");

		if (term && strcmp(term, "dumb") == 0)
			oo.tty = false;
		out = fl_out_new(&oo);
		{
			/* progress, Grafana, metrics: flags checked before anything runs */
			struct fl_run_watch_opts wo = {.out = out,
						       .tty = oo.tty,
						       .quiet = a.quiet,
						       .grafana_url = a.grafana_url,
						       .grafana_token_file = a.grafana_token_file,
						       .metrics_listen = a.metrics_listen};

			if (fl_run_watch_new(&wo, &watch, &err) < 0) {
				ret = fl_usage_error("run", "%s", err.msg);
				goto out;
			}
		}
	}
	snprintf(run_id, sizeof(run_id), "fl-%016llx", (unsigned long long)fl_rng_fresh_seed());
	if (!a.quiet) {
		fprintf(of, "faultline %s: running \"", FL_VERSION);
		fl_out_fputs_safe(of, e->title);
		fprintf(of, "\" (%s)\n", a.file);
		fflush(of);
	}
	fl_run_watch_start(watch, e->title, run_id);
	{
		struct fl_run_opts ro = {
		    .rollback_strategy = a.rs,
		    .hypothesis_strategy = a.hs,
		    .cancel_fd = fl_signals_cancel_fd(),
		    .cancel_rollbacks_fd = fl_signals_rollbacks_fd(),
		    .run_id = run_id,
		    .inventory_path = a.agents,
		    .out = out,
		    .events = fl_run_watch_events(watch),
		    .require_effect = a.require_effect,
		};

		if (fl_runner_run(e, &ro, &journal, &err) < 0 || !journal) {
			fprintf(stderr, "faultline run: %s\n", err.msg);
			ret = FL_EXIT_FAILED;
			goto out;
		}
	}
	ret = fl_runner_exit_code(journal);
	if (ret == FL_EXIT_INTERRUPTED && fl_signals_first()) {
		cJSON *reason = cJSON_GetObjectItemCaseSensitive(journal, "reason");
		char msg[96];

		const char *abbrev = sigabbrev_np(fl_signals_first());

		snprintf(msg, sizeof(msg), "interrupted by SIG%s", abbrev ? abbrev : "?");
		if (reason)
			cJSON_ReplaceItemInObjectCaseSensitive(journal, "reason",
							       cJSON_CreateString(msg));
		else
			cJSON_AddStringToObject(journal, "reason", msg);
	}
	if (fl_report_journal_write(journal, a.journal, &err) < 0) {
		fprintf(stderr, "faultline run: cannot write the journal: %s\n",
			fl_error_str(&err, buf, sizeof(buf)));
		if (ret == FL_EXIT_HELD)
			ret = FL_EXIT_FAILED;
	}
	if (a.junit && fl_report_junit_write(journal, a.junit, &err) < 0) {
		fprintf(stderr, "faultline run: cannot write the JUnit report: %s\n",
			fl_error_str(&err, buf, sizeof(buf)));
		if (ret == FL_EXIT_HELD)
			ret = FL_EXIT_FAILED;
	}
	if (a.report) {
		struct fl_report_input in = {.journal = journal,
					     .name = strcmp(a.journal, "-") ? a.journal : NULL};

		if (fl_report_render_write(fl_report_format_for_path(a.report), &in, 1, a.report,
					   &err) < 0) {
			fprintf(stderr, "faultline run: cannot write the report: %s\n",
				fl_error_str(&err, buf, sizeof(buf)));
			if (ret == FL_EXIT_HELD)
				ret = FL_EXIT_FAILED;
		}
	}
	fl_run_watch_verdict(watch, journal);
	fl_out_verdict(out, journal, strcmp(a.journal, "-") ? a.journal : NULL,
		       a.junit && strcmp(a.junit, "-") ? a.junit : NULL);
	if (a.report && strcmp(a.report, "-")) {
		fprintf(of, "  report:  %s\n", a.report);
		fflush(of);
	}
out:
	fl_run_watch_free(watch);
	fl_out_free(out);
	cJSON_Delete(journal);
	fl_experiment_free(e);
	free(errs);
	free(a.po.warnings);
	fl_vars_done(&a.vars);
	return ret;
}

static int fl_cmd_help(int argc, char **argv)
{
	const char *topic = argc > 1 ? argv[1] : NULL;

	if (!topic)
		fputs(fl_usage_main, stdout);
	else if (strcmp(topic, "run") == 0)
		fputs(fl_usage_run, stdout);
	else if (strcmp(topic, "validate") == 0)
		fputs(fl_usage_validate, stdout);
	else if (strcmp(topic, "report") == 0)
		fl_cmd_report_help();
	else if (strcmp(topic, "help") == 0 || strcmp(topic, "version") == 0)
		fputs(fl_usage_main, stdout);
	else if (strcmp(topic, "status") == 0 || strcmp(topic, "revert") == 0 ||
		 strcmp(topic, "exec") == 0) {
		/* Those commands print their own help. */
		char *args[] = {(char *)topic, "--help", NULL};

		return strcmp(topic, "status") == 0   ? fl_cmd_status(2, args)
		       : strcmp(topic, "revert") == 0 ? fl_cmd_revert(2, args)
						      : fl_cmd_exec(2, args);
	} else
		return fl_usage_error("help", "no such command '%s'", topic);
	return FL_EXIT_HELD;
}

/* Make sure fds 0-2 are open, so no pipe or report ever lands on them. */
static void fl_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

int fl_cli_main(int argc, char **argv)
{
	const char *cmd;
	int ret;

	fl_std_fds();

	if (argc < 2) {
		fputs(fl_usage_main, stderr);
		return FL_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return fl_cmd_help(1, argv);
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		printf("faultline %s\n", FL_VERSION);
		return FL_EXIT_HELD;
	}
	if (strcmp(cmd, "help") == 0)
		return fl_cmd_help(argc - 1, argv + 1);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "faultline: libcurl initialisation failed\n");
		return FL_EXIT_FAILED;
	}
	if (strcmp(cmd, "run") == 0)
		ret = fl_cmd_run(argc - 1, argv + 1);
	else if (strcmp(cmd, "validate") == 0)
		ret = fl_cmd_validate(argc - 1, argv + 1);
	else if (strcmp(cmd, "status") == 0)
		ret = fl_cmd_status(argc - 1, argv + 1);
	else if (strcmp(cmd, "revert") == 0)
		ret = fl_cmd_revert(argc - 1, argv + 1);
	else if (strcmp(cmd, "exec") == 0)
		ret = fl_cmd_exec(argc - 1, argv + 1);
	else if (strcmp(cmd, "report") == 0)
		ret = fl_cmd_report(argc - 1, argv + 1);
	else if (cmd[0] == '-')
		ret = fl_usage_error(NULL, "unknown option '%s'", cmd);
	else
		ret = fl_usage_error(NULL, "unknown command '%s'", cmd);
	curl_global_cleanup();
	return ret;
}
