/* A growable byte buffer with a hard size cap (like curl's dynbuf `toobig`). */
#ifndef FL_CORE_BUF_H
#define FL_CORE_BUF_H

#include <stddef.h>

#include "core/compiler.h"

struct fl_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len; appends beyond it fail with -E2BIG */
};

/* Initialise an empty buffer that may grow to `max` bytes. */
void fl_buf_init(struct fl_buf *b, size_t max);
/* Free the storage; the buffer can be reused after fl_buf_init. */
void fl_buf_done(struct fl_buf *b);
/* Append bytes; -E2BIG over the cap, -ENOMEM. */
int fl_buf_add(struct fl_buf *b, const void *p, size_t n) FL_WUR;
/* Append formatted text. */
int fl_buf_printf(struct fl_buf *b, const char *fmt, ...) FL_PRINTF(2, 3) FL_WUR;
/* Hand the storage to the caller (NUL-terminated, maybe NULL if empty). */
char *fl_buf_steal(struct fl_buf *b);
/*
 * Read the file at path whole, at most max bytes, into a NUL-terminated *out
 * (free it; "" for an empty file) and its length into *len (may be NULL).
 * 0, -E2BIG beyond max, or -errno.
 */
int fl_buf_read_file(const char *path, size_t max, char **out, size_t *len) FL_WUR;
/* The same from an open descriptor (read to its end; the caller closes it). */
int fl_buf_read_fd(int fd, size_t max, char **out, size_t *len) FL_WUR;

#endif
