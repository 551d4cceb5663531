/*
 * Reports for people, rendered from journals: one self-contained HTML page
 * (report_html.c: inline CSS and SVG, no script, nothing fetched) or
 * markdown for a pull-request comment (report_md.c). One journal gives the
 * run's page: verdict, experiment, timeline of activities, pauses and
 * faults, the sampled probes over time against their tolerance, rollbacks,
 * agents. Several journals give a comparison page (a CI history), oldest
 * run first, each run's own page below it.
 */
#ifndef FL_CONTROLLER_REPORT_RENDER_H
#define FL_CONTROLLER_REPORT_RENDER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_REPORT_JOURNALS_MAX 256	   /* journals on one comparison page */
#define FL_REPORT_OUT_MAX      (64u << 20) /* bytes of one rendered report */
#define FL_REPORT_TEXT_MAX     (8 * 1024)  /* bytes shown of one output or exception */

enum fl_report_format { FL_REPORT_HTML, FL_REPORT_MARKDOWN, FL_REPORT_FORMAT__MAX };

struct fl_report_input {
	const cJSON *journal; /* any JSON value; a journal is an object */
	const char *name;     /* where it came from (shown), or NULL */
};

/* Render n >= 1 journals; -E2BIG past FL_REPORT_OUT_MAX, -ENOMEM, -EINVAL for n == 0. */
int fl_report_html_render(const struct fl_report_input *in, size_t n, struct fl_buf *out) FL_WUR;
int fl_report_md_render(const struct fl_report_input *in, size_t n, struct fl_buf *out) FL_WUR;
/* Render in a format and write it atomically to path ("-": stdout). */
int fl_report_render_write(enum fl_report_format f, const struct fl_report_input *in, size_t n,
			   const char *path, struct fl_error *err) FL_WUR;
/* "html" / "markdown" ("md"); -EINVAL otherwise. */
int fl_report_format_parse(const char *s, enum fl_report_format *f) FL_WUR;
/* The format a report path asks for: markdown for *.md / *.markdown, else HTML. */
enum fl_report_format fl_report_format_for_path(const char *path);

#endif
