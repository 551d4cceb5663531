#include "agent/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/duration.h"

/* Logging is best effort: a line cut at the cap is still worth writing. */
static inline void ignore(int r)
{
	(void)r;
}

static enum fl_log_format log_fmt = FL_LOG_KV;
static enum fl_log_level log_min = FL_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void fl_log_setup(enum fl_log_format fmt, enum fl_log_level min)
{
	log_fmt = fmt;
	log_min = min;
}

int fl_log_format_parse(const char *s, enum fl_log_format *out)
{
	if (!strcmp(s, "kv"))
		*out = FL_LOG_KV;
	else if (!strcmp(s, "json"))
		*out = FL_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}

/* logfmt: quote when the value has spaces, quotes, '=' or control characters. */
static void add_kv_value(struct fl_buf *b, const char *v)
{
	bool quote = !*v;

	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
			quote = true;
	if (!quote) {
		ignore(fl_buf_printf(b, "%s", v));
		return;
	}
	ignore(fl_buf_add(b, "\"", 1));
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			ignore(fl_buf_printf(b, "\\%c", *p));
		else if (*p == '\n')
			ignore(fl_buf_add(b, "\\n", 2));
		else if ((unsigned char)*p < 0x20)
			ignore(fl_buf_printf(b, "\\x%02x", (unsigned char)*p));
		else
			ignore(fl_buf_add(b, p, 1));
	}
	ignore(fl_buf_add(b, "\"", 1));
}

static void add_json_string(struct fl_buf *b, const char *v)
{
	ignore(fl_buf_add(b, "\"", 1));
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			ignore(fl_buf_printf(b, "\\%c", *p));
		else if (*p == '\n')
			ignore(fl_buf_add(b, "\\n", 2));
		else if ((unsigned char)*p < 0x20)
			ignore(fl_buf_printf(b, "\\u%04x", (unsigned char)*p));
		else
			ignore(fl_buf_add(b, p, 1));
	}
	ignore(fl_buf_add(b, "\"", 1));
}

void fl_log(enum fl_log_level level, const char *msg, ...)
{
	struct fl_buf b;
	char ts[40];
	va_list ap;
	const char *k;
	int saved = errno;

	if (level < log_min || level >= FL_LOG_LEVEL__MAX)
		return;
	fl_time_rfc3339(fl_now_wall_ms(), ts, sizeof(ts));
	fl_buf_init(&b, 8192);
	if (log_fmt == FL_LOG_JSON) {
		ignore(fl_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
				     level_names[level]));
		add_json_string(&b, msg);
	} else {
		ignore(fl_buf_printf(&b, "ts=%s level=%s msg=", ts, level_names[level]));
		add_kv_value(&b, msg);
	}
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);

		if (!v)
			v = "";
		if (log_fmt == FL_LOG_JSON) {
			ignore(fl_buf_add(&b, ",", 1));
			add_json_string(&b, k);
			ignore(fl_buf_add(&b, ":", 1));
			add_json_string(&b, v);
		} else {
			ignore(fl_buf_printf(&b, " %s=", k));
			add_kv_value(&b, v);
		}
	}
	va_end(ap);
	if (log_fmt == FL_LOG_JSON)
		ignore(fl_buf_add(&b, "}", 1));
	ignore(fl_buf_add(&b, "\n", 1));
	if (b.data && write(STDERR_FILENO, b.data, b.len) < 0)
		(void)0; /* nowhere left to report it */
	fl_buf_done(&b);
	errno = saved;
}
