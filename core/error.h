/*
 * Error detail for callers: a code, the JSON path of the offending input (if
 * any) and a one-line human message. Library code fills these and returns
 * -errno; the CLI and the agent decide how to print them.
 */
#ifndef FL_CORE_ERROR_H
#define FL_CORE_ERROR_H

#include <stddef.h>

#include "core/compiler.h"

#define FL_ERROR_PATH_MAX 256
#define FL_ERROR_MSG_MAX  512

struct fl_error {
	int code;		      /* -errno, 0 when unset */
	char path[FL_ERROR_PATH_MAX]; /* "$.method[2].provider.timeout" or "" */
	char msg[FL_ERROR_MSG_MAX];   /* "expected a number of seconds, got \"abc\"" */
};

/* A bounded list of errors, for validators that report every problem at once. */
#define FL_ERRLIST_MAX 64
struct fl_errlist {
	struct fl_error v[FL_ERRLIST_MAX];
	size_t n;
	size_t dropped; /* errors beyond FL_ERRLIST_MAX, counted but not kept */
};

/* Clear an error. */
void fl_error_init(struct fl_error *err);
/* Set code, path and message; returns code so callers can `return fl_error_set(...)`. */
int fl_error_set(struct fl_error *err, int code, const char *path, const char *fmt, ...)
    FL_PRINTF(4, 5);
/* Append an error to a list; returns code. */
int fl_errlist_add(struct fl_errlist *l, int code, const char *path, const char *fmt, ...)
    FL_PRINTF(4, 5);
/* Format "path: msg" (or just msg) into buf. */
const char *fl_error_str(const struct fl_error *err, char *buf, size_t len);

#endif
