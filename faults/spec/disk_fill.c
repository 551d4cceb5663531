/*
 * disk_fill: fill a filesystem with one fallocate'd file faultline owns (the
 * spec side; the file is faults/disk_fill.c's).
 *
 *   target := {}   (the filesystem is the one params.path is on)
 *   params := { "path": "/absolute/directory",
 *               exactly one of  "bytes": int >= 1          the file's size
 *                             | "percent": number in (0, 100]  of the space free now
 *                             | "leave_free": int >= 0     bytes left free }
 *
 * The file is created in path (O_EXCL, no link followed) and removed on
 * revert. The agent refuses a fill that would leave its own state
 * directory's filesystem with less than max(5 %, 256 MiB) free.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "faults/spec/disk_fill.h"

#define BYTES_MAX 9007199254740992.0 /* 2^53: what a JSON number holds exactly */

const char *fl_disk_fill_field(enum disk_fill_by by)
{
	return by == FILL_BYTES	    ? "$.params.bytes"
	       : by == FILL_PERCENT ? "$.params.percent"
				    : "$.params.leave_free";
}

void fl_disk_fill_free(void *p)
{
	free(p);
}

static int get_bytes(const cJSON *v, const char *path, double lo, uint64_t *out,
		     struct fl_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < lo || v->valuedouble > BYTES_MAX)
		return fl_error_set(err, -EINVAL, path,
				    "expected an integer number of bytes >= %.0f", lo);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

int fl_disk_fill_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const pkeys[] = {"path", "bytes", "percent", "leave_free", NULL};
	static const char *const tkeys[] = {NULL};
	struct disk_fill_spec *s = calloc(1, sizeof(*s));
	const cJSON *v, *b, *pc, *lf;
	int r, given;

	*out = NULL;
	if (!s)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	if (target && !cJSON_IsObject(target)) {
		r = fl_error_set(err, -EINVAL, "$.target", "expected an object");
		goto out;
	}
	if (target && (r = fl_api_only_keys(target, "$.target", tkeys, err)) < 0)
		goto out;
	if (!cJSON_IsObject(params)) {
		r = fl_error_set(err, -EINVAL, "$.params",
				 "expected an object with \"path\" and one of \"bytes\", "
				 "\"percent\", \"leave_free\"");
		goto out;
	}
	if ((r = fl_api_only_keys(params, "$.params", pkeys, err)) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(params, "path");
	if (!cJSON_IsString(v) || v->valuestring[0] != '/' ||
	    strlen(v->valuestring) >= sizeof(s->path) || strstr(v->valuestring, "/../") ||
	    (strlen(v->valuestring) >= 3 &&
	     !strcmp(v->valuestring + strlen(v->valuestring) - 3, "/.."))) {
		r = fl_error_set(err, -EINVAL, "$.params.path",
				 v ? "expected an absolute directory path without \"..\" "
				     "(at most 1023 bytes)"
				   : "required: the directory the fill file is made in");
		goto out;
	}
	strcpy(s->path, v->valuestring);
	b = cJSON_GetObjectItemCaseSensitive(params, "bytes");
	pc = cJSON_GetObjectItemCaseSensitive(params, "percent");
	lf = cJSON_GetObjectItemCaseSensitive(params, "leave_free");
	given = !!b + !!pc + !!lf;
	if (given != 1) {
		r = fl_error_set(err, -EINVAL,
				 given ? (lf ? "$.params.leave_free" : "$.params.percent")
				       : "$.params",
				 "give exactly one of \"bytes\", \"percent\", \"leave_free\"");
		goto out;
	}
	if (b) {
		s->by = FILL_BYTES;
		r = get_bytes(b, "$.params.bytes", 1, &s->bytes, err);
	} else if (lf) {
		s->by = FILL_LEAVE_FREE;
		r = get_bytes(lf, "$.params.leave_free", 0, &s->bytes, err);
	} else {
		s->by = FILL_PERCENT;
		if (!cJSON_IsNumber(pc) || !(pc->valuedouble > 0) || pc->valuedouble > 100)
			r = fl_error_set(err, -EINVAL, "$.params.percent",
					 "expected a number in (0, 100]");
		else
			s->percent = pc->valuedouble;
	}
	if (r < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(s);
	return r;
}

int fl_disk_fill_describe(const void *p, struct fl_buf *out)
{
	const struct disk_fill_spec *s = p;

	switch (s->by) {
	case FILL_BYTES:
		return fl_buf_printf(out, "fallocate -l %llu %s/faultline-fill-<random>",
				     (unsigned long long)s->bytes, s->path);
	case FILL_PERCENT:
		return fl_buf_printf(out,
				     "fallocate -l <%g %% of df --output=avail %s> "
				     "%s/faultline-fill-<random>",
				     s->percent, s->path, s->path);
	case FILL_LEAVE_FREE:
		break;
	}
	return fl_buf_printf(out,
			     "fallocate -l <df --output=avail %s minus %llu bytes> "
			     "%s/faultline-fill-<random>",
			     s->path, (unsigned long long)s->bytes, s->path);
}

const struct fl_fault_spec_ops fl_fault_spec_disk_fill = {
    .kind = "disk_fill",
    .family = FL_FAULT_FAMILY_PROCESS,
    .instant = false,
    .writes = (const char *const[]){"path", NULL},
    .parse = fl_disk_fill_parse,
    .describe = fl_disk_fill_describe,
    .free = fl_disk_fill_free,
};
