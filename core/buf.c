#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fl_buf_init(struct fl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void fl_buf_done(struct fl_buf *b)
{
	free(b->data);
	fl_buf_init(b, b->max);
}

static int fl_buf_reserve(struct fl_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -E2BIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	p = realloc(b->data, ncap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int fl_buf_add(struct fl_buf *b, const void *p, size_t n)
{
	int r = fl_buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int fl_buf_printf(struct fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = fl_buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *fl_buf_steal(struct fl_buf *b)
{
	char *p = b->data;

	fl_buf_init(b, b->max);
	return p;
}

int fl_buf_read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct fl_buf b;
	char chunk[8192];
	int r = 0;

	*out = NULL;
	fl_buf_init(&b, max);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		r = fl_buf_add(&b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	if (r < 0) {
		fl_buf_done(&b);
		return r;
	}
	if (len)
		*len = b.len;
	*out = fl_buf_steal(&b);
	if (!*out)
		*out = strdup("");
	return *out ? 0 : -ENOMEM;
}

int fl_buf_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fl_buf_read_fd(fd, max, out, len);
	close(fd);
	return r;
}
