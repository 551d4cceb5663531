/*
 * disk_fill: one fallocate'd file in the named directory, removed on revert.
 * The grammar and describe: faults/spec/disk_fill.c.
 *
 * The plan opens the directory (no symbolic link on the way, openat2
 * RESOLVE_NO_SYMLINKS), reads its filesystem's free space (fstatvfs, as df
 * does), sizes the fill and names the file "faultline-fill-<16 hex>": the
 * record holds the directory (path, device, inode) and that name before
 * anything is created, so a revert after a crash at any point finds it.
 * Apply opens the directory again, checks it is the one planned, creates
 * the file O_CREAT|O_EXCL|O_NOFOLLOW relative to it, records its inode and
 * fallocates. Revert removes the name only while it is the regular file this
 * agent's user owns (and, once recorded, the very inode created).
 *
 * The filesystem of the agent's state directory (ctx->state_dev) keeps
 * max(5 %, 256 MiB) free: a fill that would go below is refused, naming the
 * field that sized it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "core/json.h"
#include "core/rng.h"
#include "faults/fault.h"
#include "faults/owned_file.h"
#include "faults/spec/disk_fill.h"

#define MARGIN_MIN (256ULL << 20)

int fl_owned_dir_open(const char *path)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int disk_fill_plan(void *p, const struct fl_fault_ctx *ctx, cJSON **undo,
			  struct fl_error *err)
{
	struct disk_fill_spec *s = p;
	const char *field = fl_disk_fill_field(s->by);
	unsigned long long avail, total, size, margin = 0;
	struct statvfs vfs;
	struct stat st;
	cJSON *u = NULL;
	int dfd, r = 0;

	*undo = NULL;
	dfd = fl_owned_dir_open(s->path);
	if (dfd < 0)
		return fl_error_set(err, dfd == -ENOENT ? -ENOENT : dfd, "$.params.path",
				    "%s: %s%s", s->path, strerror(-dfd),
				    dfd == -ELOOP ? " (no symbolic link may be on the path)" : "");
	if (fstat(dfd, &st) < 0 || fstatvfs(dfd, &vfs) < 0) {
		r = fl_error_set(err, -errno, "$.params.path", "%s: %s", s->path, strerror(errno));
		goto out;
	}
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	total = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
	switch (s->by) {
	case FILL_BYTES:
		size = s->bytes;
		break;
	case FILL_PERCENT:
		size = (unsigned long long)((double)avail * s->percent / 100.0);
		break;
	case FILL_LEAVE_FREE:
	default:
		if (avail <= s->bytes) {
			r = fl_error_set(err, -EINVAL, field,
					 "%s has %llu bytes free already, not more than %llu",
					 s->path, avail, (unsigned long long)s->bytes);
			goto out;
		}
		size = avail - s->bytes;
	}
	if (size == 0 || size > avail) {
		r = fl_error_set(err, -EINVAL, field,
				 "%llu bytes to fill, %llu free on the filesystem of %s", size,
				 avail, s->path);
		goto out;
	}
	if (ctx && ctx->state_dev && (unsigned long long)st.st_dev == ctx->state_dev) {
		margin = total / 20 > MARGIN_MIN ? total / 20 : MARGIN_MIN;
		if (avail - size < margin) {
			r = fl_error_set(err, -EINVAL, field,
					 "%s is on the filesystem of the agent's state directory, "
					 "which keeps %llu bytes free (5 %% or 256 MiB): filling "
					 "%llu of %llu free bytes would leave %llu",
					 s->path, margin, size, avail, avail - size);
			goto out;
		}
	}
	u = cJSON_CreateObject();
	if (!u || !cJSON_AddStringToObject(u, "kind", "disk_fill") ||
	    fl_owned_file_record(u, s->path, &st, "faultline-fill") < 0 ||
	    !cJSON_AddItemToObject(u, "bytes", fl_json_u64(size)) ||
	    !cJSON_AddItemToObject(u, "free_before", fl_json_u64(avail))) {
		r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	*undo = u;
	u = NULL;
out:
	cJSON_Delete(u);
	close(dfd);
	return r;
}

/* The planned directory, opened again: -ESTALE when the path names another one now. */
static int reopen_dir(const cJSON *undo, const char **path)
{
	const cJSON *dir = cJSON_GetObjectItemCaseSensitive(undo, "dir");
	uint64_t dev, ino;
	struct stat st;
	int dfd;

	if (!cJSON_IsString(dir) ||
	    fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "dir_dev"), &dev) < 0 ||
	    fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "dir_ino"), &ino) < 0)
		return -EINVAL;
	*path = dir->valuestring;
	dfd = fl_owned_dir_open(dir->valuestring);
	if (dfd < 0)
		return dfd;
	if (fstat(dfd, &st) < 0 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
		close(dfd);
		return -ESTALE;
	}
	return dfd;
}

/* A file name a plan made, and nothing else ("faultline-fill-" or "faultline-io-", 16 hex). */
static const char *fill_name(const cJSON *undo)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(undo, "name");
	size_t p;

	if (!cJSON_IsString(n))
		return NULL;
	p = !strncmp(n->valuestring, "faultline-fill-", 15) ? 15
	    : !strncmp(n->valuestring, "faultline-io-", 13) ? 13
							    : 0;
	if (!p || strlen(n->valuestring) != p + 16 ||
	    strspn(n->valuestring + p, "0123456789abcdef") != 16)
		return NULL;
	return n->valuestring;
}

int fl_owned_file_record(cJSON *o, const char *dir, const struct stat *st, const char *prefix)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%016llx", prefix, (unsigned long long)fl_rng_fresh_seed());
	if (!cJSON_AddStringToObject(o, "dir", dir) ||
	    !cJSON_AddItemToObject(o, "dir_dev", fl_json_u64((uint64_t)st->st_dev)) ||
	    !cJSON_AddItemToObject(o, "dir_ino", fl_json_u64((uint64_t)st->st_ino)) ||
	    !cJSON_AddStringToObject(o, "name", name))
		return -ENOMEM;
	return 0;
}

int fl_owned_file_create(cJSON *o, const char *field, struct fl_error *err)
{
	const char *name = fill_name(o), *path = "";
	struct stat st;
	int dfd, fd;

	if (!name)
		return fl_error_set(err, -EINVAL, NULL, "corrupt undo record");
	dfd = reopen_dir(o, &path);
	if (dfd < 0)
		return fl_error_set(err, dfd, field, "%s: %s", path,
				    dfd == -ESTALE ? "replaced since the plan" : strerror(-dfd));
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		fd = fl_error_set(err, -errno, field, "creating %s/%s: %s", path, name,
				  strerror(errno));
	} else if (fstat(fd, &st) < 0 ||
		   !cJSON_AddItemToObject(o, "ino", fl_json_u64((uint64_t)st.st_ino))) {
		(void)unlinkat(dfd, name, 0);
		close(fd);
		fd = fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	close(dfd);
	return fd;
}

int fl_owned_file_remove(const cJSON *undo, struct fl_error *err)
{
	const char *name = fill_name(undo), *path = "";
	uint64_t ino = 0;
	bool has_ino;
	struct stat st;
	int dfd, r = 0;

	if (!name)
		return fl_error_set(err, -EINVAL, NULL, "undo record without a fill file name");
	has_ino = fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "ino"), &ino) == 0;
	dfd = reopen_dir(undo, &path);
	if (dfd == -ENOENT || dfd == -ESTALE)
		return 0; /* the directory is gone or replaced: so is the file (not this one's) */
	if (dfd < 0)
		return fl_error_set(err, dfd, NULL, "%s: %s", path, strerror(-dfd));
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			r = fl_error_set(err, -errno, NULL, "%s/%s: %s", path, name,
					 strerror(errno));
		goto out;
	}
	/* Not the file apply made: leave it to whoever made it. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (has_ino && st.st_ino != ino))
		goto out;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		r = fl_error_set(err, -errno, NULL, "rm %s/%s: %s", path, name, strerror(errno));
out:
	close(dfd);
	return r;
}

/*
 * What the fill holds now: the bytes its file has allocated (st_blocks, the
 * file checked to be the one apply made) and the filesystem's free space as
 * unprivileged users see it (f_bavail), with the plan's figures beside them.
 */
static int disk_fill_effect(const cJSON *undo, cJSON **out)
{
	const char *name = fill_name(undo), *path = "";
	uint64_t ino = 0, planned = 0, before = 0;
	struct statvfs vfs;
	struct stat st;
	bool have = false;
	cJSON *o;
	int dfd;

	*out = NULL;
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "ino"), &ino) < 0)
		ino = 0;
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "bytes"), &planned) < 0)
		planned = 0;
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "free_before"), &before) < 0)
		before = 0;
	dfd = name ? reopen_dir(undo, &path) : -EINVAL;
	if (dfd >= 0) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_ino == ino && st.st_uid == geteuid())
			have = true;
		if (fstatvfs(dfd, &vfs) == 0)
			cJSON_AddNumberToObject(o, "free_bytes",
						(double)vfs.f_bavail * (double)vfs.f_frsize);
		close(dfd);
	}
	cJSON_AddNumberToObject(o, "planned_bytes", (double)planned);
	cJSON_AddNumberToObject(o, "file_bytes", have ? (double)st.st_blocks * 512.0 : 0.0);
	cJSON_AddNumberToObject(o, "free_before", (double)before);
	/* fallocate may round up to the filesystem's block: at least what was planned. */
	cJSON_AddBoolToObject(o, "took_effect",
			      have && planned && (uint64_t)st.st_blocks * 512 >= planned);
	*out = o;
	return 0;
}

static int disk_fill_revert(const cJSON *undo, struct fl_error *err)
{
	return fl_owned_file_remove(undo, err);
}

static int disk_fill_apply(void *p, const struct fl_fault_ctx *ctx, cJSON *undo,
			   struct fl_error *err)
{
	struct disk_fill_spec *s = p;
	uint64_t size = 0;
	int fd, r = 0;

	(void)ctx;
	if (fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "bytes"), &size) < 0)
		return fl_error_set(err, -EINVAL, NULL, "corrupt undo record");
	fd = fl_owned_file_create(undo, "$.params.path", err);
	if (fd < 0)
		return fd;
	if (fallocate(fd, 0, 0, (off_t)size) < 0) {
		r = fl_error_set(err, -errno, fl_disk_fill_field(s->by),
				 "fallocate -l %llu %s/%s: %s", (unsigned long long)size, s->path,
				 fill_name(undo), strerror(errno));
		(void)fl_owned_file_remove(undo, NULL);
	}
	close(fd);
	return r;
}

static int disk_fill_describe_plan(const cJSON *undo, struct fl_buf *out)
{
	const cJSON *dir = cJSON_GetObjectItemCaseSensitive(undo, "dir");
	const char *name = fill_name(undo);
	uint64_t size, avail;

	if (!cJSON_IsString(dir) || !name ||
	    fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "bytes"), &size) < 0 ||
	    fl_json_get_u64(cJSON_GetObjectItemCaseSensitive(undo, "free_before"), &avail) < 0)
		return -EINVAL;
	return fl_buf_printf(out,
			     "fallocate -l %llu %s/%s (free now %llu bytes, after %llu)\n"
			     "on revert: rm %s/%s\n",
			     (unsigned long long)size, dir->valuestring, name,
			     (unsigned long long)avail, (unsigned long long)(avail - size),
			     dir->valuestring, name);
}

const struct fl_fault_ops fl_fault_disk_fill = {
    .effect = disk_fill_effect,
    .kind = "disk_fill",
    .spec = &fl_fault_spec_disk_fill,
    .parse = fl_disk_fill_parse,
    .plan = disk_fill_plan,
    .apply = disk_fill_apply,
    .revert = disk_fill_revert,
    .describe = fl_disk_fill_describe,
    .describe_plan = disk_fill_describe_plan,
    .free = fl_disk_fill_free,
};
