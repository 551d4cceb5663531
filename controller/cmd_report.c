/*
 * `faultline report`: journals in, a report for people out
 * (controller/report_render.h).
 *
 * Grammar (options and journals in any order, GNU style; "--" ends options):
 *   faultline report [-o PATH | --output PATH] [--format html|markdown] JOURNAL...
 *   JOURNAL := a file path | "-" (standard input, once)
 */
#include "controller/cmd_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/report.h"
#include "controller/report_render.h"
#include "controller/runner.h"

#define FL_REPORT_JOURNAL_MAX (256u << 20)  /* bytes of one journal */
#define FL_REPORT_TOTAL_MAX   (1024u << 20) /* bytes of all journals together */

static const char fl_usage_report[] =
    "Usage: faultline report [OPTIONS] JOURNAL...\n"
    "\n"
    "Render journals (written by 'faultline run --journal', or by Chaos Toolkit)\n"
    "as a report for people. One journal: a single self-contained HTML page with\n"
    "the verdict, a timeline of every activity, pause and fault, the probes\n"
    "sampled during the method over time against their tolerance, the faults,\n"
    "rollbacks and agents. Several journals: a comparison page (e.g. a CI\n"
    "history), oldest run first, each run's page below. The page loads nothing\n"
    "and runs no script. '-' reads a journal from standard input.\n"
    "\n"
    "Options:\n"
    "  -o, --output PATH   write the report to PATH (default: standard output)\n"
    "  --format F          html (the default) or markdown (a pull-request\n"
    "                      comment); an output PATH ending in .md means markdown\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit codes: 0 written, 1 it could not be written, 2 invalid usage or a\n"
    "journal that cannot be read or is not JSON.\n";

enum { OPT_FORMAT = 256 };

int fl_report_format_parse(const char *s, enum fl_report_format *f)
{
	if (!strcmp(s, "html"))
		*f = FL_REPORT_HTML;
	else if (!strcmp(s, "markdown") || !strcmp(s, "md"))
		*f = FL_REPORT_MARKDOWN;
	else
		return -EINVAL;
	return 0;
}

enum fl_report_format fl_report_format_for_path(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	if ((n > 3 && !strcmp(path + n - 3, ".md")) ||
	    (n > 9 && !strcmp(path + n - 9, ".markdown")))
		return FL_REPORT_MARKDOWN;
	return FL_REPORT_HTML;
}

int fl_report_render_write(enum fl_report_format f, const struct fl_report_input *in, size_t n,
			   const char *path, struct fl_error *err)
{
	struct fl_buf b;
	int r;

	fl_buf_init(&b, FL_REPORT_OUT_MAX);
	r = f == FL_REPORT_MARKDOWN ? fl_report_md_render(in, n, &b)
				    : fl_report_html_render(in, n, &b);
	if (r < 0) {
		fl_buf_done(&b);
		return fl_error_set(err, r, NULL, "%s",
				    r == -E2BIG ? "the report would be over 64 MiB"
						: "out of memory rendering the report");
	}
	r = fl_report_write_atomic(path, b.data ? b.data : "", b.len, err);
	fl_buf_done(&b);
	return r;
}

static int fl_report_usage(const char *fmt, ...) FL_PRINTF(1, 2);
static int fl_report_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "faultline report: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'faultline help report'.\n");
	return FL_EXIT_USAGE;
}

/* Read and parse one journal; prints why not and returns -1. */
static int fl_report_load(const char *path, size_t *total, cJSON **out)
{
	const char *end = NULL;
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = fl_buf_read_file(strcmp(path, "-") ? path : "/dev/stdin", FL_REPORT_JOURNAL_MAX, &text,
			     &len);
	if (r < 0) {
		fprintf(stderr, "faultline report: %s: %s\n", path,
			r == -E2BIG ? "larger than 256 MiB, not a journal" : strerror(-r));
		return -1;
	}
	*total += len;
	if (*total > FL_REPORT_TOTAL_MAX) {
		fprintf(stderr, "faultline report: %s: the journals are over 1 GiB together\n",
			path);
		free(text);
		return -1;
	}
	if (memchr(text, '\0', len)) {
		fprintf(stderr, "faultline report: %s: not JSON (a NUL byte at %zu)\n", path,
			(size_t)((char *)memchr(text, '\0', len) - text));
		free(text);
		return -1;
	}
	*out = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
	if (!*out) {
		fprintf(stderr, "faultline report: %s: not JSON (at byte %zu)\n", path,
			end && end >= text ? (size_t)(end - text) : (size_t)0);
		free(text);
		return -1;
	}
	free(text);
	if (!cJSON_IsObject(*out)) {
		fprintf(stderr, "faultline report: %s: not a journal (a JSON object)\n", path);
		cJSON_Delete(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int fl_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fl_report_input *in = NULL;
	const char *output = "-";
	enum fl_report_format f = FL_REPORT_HTML;
	bool format_given = false, stdin_used = false;
	size_t n = 0, total = 0;
	struct fl_error err;
	int c, k = 1, ret = FL_EXIT_HELD;

	fl_error_init(&err);
	optind = 0;
	opterr = 0;
	/*
	 * Options before, between or after the journals, whatever POSIXLY_CORRECT
	 * says ('-': each operand comes back in place, as option 1, and is moved
	 * down to argv[k], a slot getopt has read already); `--` ends them.
	 */
	while ((c = getopt_long(argc, argv, "-:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			argv[k++] = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_FORMAT:
			if (fl_report_format_parse(optarg, &f) < 0)
				return fl_report_usage("--format '%s': expected html or markdown",
						       optarg);
			format_given = true;
			break;
		case 'h':
			fputs(fl_usage_report, stdout);
			return FL_EXIT_HELD;
		case ':':
			return fl_report_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return fl_report_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	while (optind < argc) /* after "--" */
		argv[k++] = argv[optind++];
	optind = 1;
	argc = k;
	if (optind >= argc)
		return fl_report_usage("%s", "no journal given");
	if (argc - optind > FL_REPORT_JOURNALS_MAX) {
		fprintf(stderr, "faultline report: %d journals: at most %d on one page\n",
			argc - optind, FL_REPORT_JOURNALS_MAX);
		return FL_EXIT_USAGE;
	}
	if (!*output)
		return fl_report_usage("%s", "--output needs a path");
	if (!format_given)
		f = fl_report_format_for_path(output);
	if (fl_report_path_check(output, &err) < 0)
		return fl_report_usage("%s", err.msg);
	in = calloc((size_t)(argc - optind), sizeof(*in));
	if (!in) {
		fprintf(stderr, "faultline report: out of memory\n");
		return FL_EXIT_FAILED;
	}
	for (int i = optind; i < argc; i++) {
		cJSON *j;

		if (!strcmp(argv[i], "-")) {
			if (stdin_used) {
				fprintf(stderr, "faultline report: '-' (standard input) twice\n");
				ret = FL_EXIT_USAGE;
				goto out;
			}
			stdin_used = true;
		}
		if (fl_report_load(argv[i], &total, &j) < 0) {
			ret = FL_EXIT_USAGE;
			goto out;
		}
		in[n].journal = j;
		in[n].name = strcmp(argv[i], "-") ? argv[i] : "standard input";
		n++;
	}
	if (fl_report_render_write(f, in, n, output, &err) < 0) {
		fprintf(stderr, "faultline report: cannot write the report: %s\n", err.msg);
		ret = FL_EXIT_FAILED;
	}
out:
	for (size_t i = 0; i < n; i++)
		cJSON_Delete((cJSON *)in[i].journal);
	free(in);
	return ret;
}

void fl_cmd_report_help(void)
{
	fputs(fl_usage_report, stdout);
}
