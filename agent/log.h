/*
 * Structured log lines to stderr, key=value (logfmt) or one JSON object per
 * line. Thread-safe: every line is built in memory and written with one
 * write(2). Secrets are never passed here.
 */
#ifndef FL_AGENT_LOG_H
#define FL_AGENT_LOG_H

#include "core/compiler.h"

enum fl_log_format { FL_LOG_KV, FL_LOG_JSON, FL_LOG__MAX };

enum fl_log_level { FL_LOG_DEBUG, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR, FL_LOG_LEVEL__MAX };

/* Choose the format and the lowest level printed (default kv, info). */
void fl_log_setup(enum fl_log_format fmt, enum fl_log_level min);
/* Parse "kv" / "json"; -EINVAL otherwise. */
int fl_log_format_parse(const char *s, enum fl_log_format *out) FL_WUR;
/*
 * One event: a message and NULL-terminated key, value string pairs:
 *   fl_log(FL_LOG_INFO, "fault applied", "id", id, "kind", "pause", NULL);
 */
void fl_log(enum fl_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
