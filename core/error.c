#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fl_error_init(struct fl_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->path[0] = '\0';
	err->msg[0] = '\0';
}

static void fl_error_vset(struct fl_error *err, int code, const char *path, const char *fmt,
			  va_list ap) FL_PRINTF(4, 0);

static void fl_error_vset(struct fl_error *err, int code, const char *path, const char *fmt,
			  va_list ap)
{
	err->code = code;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int fl_error_set(struct fl_error *err, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	fl_error_vset(err, code, path, fmt, ap);
	va_end(ap);
	return code;
}

int fl_errlist_add(struct fl_errlist *l, int code, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!l)
		return code;
	if (l->n >= FL_ERRLIST_MAX) {
		l->dropped++;
		return code;
	}
	va_start(ap, fmt);
	fl_error_vset(&l->v[l->n++], code, path, fmt, ap);
	va_end(ap);
	return code;
}

const char *fl_error_str(const struct fl_error *err, char *buf, size_t len)
{
	if (err->path[0])
		snprintf(buf, len, "%s: %s", err->path, err->msg);
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
