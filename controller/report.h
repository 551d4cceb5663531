/*
 * Reports written at the end of a run: the JSON journal and the JUnit XML,
 * both written atomically (temp file in the same directory, fsync, rename),
 * so a reader never sees half a report.
 */
#ifndef FL_CONTROLLER_REPORT_H
#define FL_CONTROLLER_REPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

/* Write data to path atomically; "-" means stdout. */
int fl_report_write_atomic(const char *path, const char *data, size_t len,
			   struct fl_error *err) FL_WUR;
/* Check before a run that a report can be written there (its directory exists and is writable). */
int fl_report_path_check(const char *path, struct fl_error *err) FL_WUR;

/* Write the journal as pretty JSON. */
int fl_report_journal_write(const cJSON *journal, const char *path, struct fl_error *err) FL_WUR;

/*
 * Render JUnit XML from a journal, in the order the run went: one <testcase>
 * per steady-state probe per phase (classname "steady-state-before"/
 * "steady-state-after"; a probe out of tolerance is a <failure> carrying the
 * observed value, a probe whose provider failed an <error>), per method
 * activity ("method": <failure> when it failed), per sampled window
 * ("steady-state-during"), per rollback ("rollbacks": <error> when it
 * failed), and last "experiment"/"experiment run", the run's verdict: passes
 * for exit code 0, <failure> for 1, <error> for 2 and 3. What never ran is
 * <skipped> with the reason.
 */
int fl_report_junit_render(const cJSON *journal, struct fl_buf *out) FL_WUR;
int fl_report_junit_write(const cJSON *journal, const char *path, struct fl_error *err) FL_WUR;

/* Append s to b with XML escaping; characters XML 1.0 forbids become U+FFFD. */
int fl_report_xml_escape(struct fl_buf *b, const char *s) FL_WUR;

#endif
