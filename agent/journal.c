#include "agent/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/api.h"
#include "core/buf.h"

#define JOURNAL_RECORD_MAX (1024 * 1024)

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fl_journal_open(struct fl_journal *j, const char *state_dir, struct fl_error *err)
{
	char path[4096];
	int r;

	j->dirfd = j->lockfd = -1;
	if (snprintf(path, sizeof(path), "%s/faults", state_dir) >= (int)sizeof(path))
		return fl_error_set(err, -ENAMETOOLONG, NULL, "state dir path too long");
	r = mkdir_p(path, 0700);
	if (r < 0)
		return fl_error_set(err, r, NULL, "cannot create %s: %s", path, strerror(-r));
	snprintf(path, sizeof(path), "%s/agent.lock", state_dir);
	j->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->lockfd < 0)
		return fl_error_set(err, -errno, NULL, "cannot open %s: %s", path, strerror(errno));
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(j->lockfd);
		j->lockfd = -1;
		return fl_error_set(err, r == -EWOULDBLOCK ? -EBUSY : r, NULL,
				    "state dir %s is in use by another faultline-agent", state_dir);
	}
	snprintf(path, sizeof(path), "%s/faults", state_dir);
	j->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		r = -errno;
		fl_journal_close(j);
		return fl_error_set(err, r, NULL, "cannot open %s: %s", path, strerror(-r));
	}
	return 0;
}

void fl_journal_close(struct fl_journal *j)
{
	if (j->dirfd >= 0)
		close(j->dirfd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	j->dirfd = j->lockfd = -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int fl_journal_write(struct fl_journal *j, const char *id, const cJSON *rec)
{
	char name[FL_API_ID_MAX + 16], tmp[FL_API_ID_MAX + 16];
	char *text = NULL;
	int fd = -1, r;

	if (!fl_api_id_valid(id, FL_API_ID_MAX))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.json", id);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", id);
	text = cJSON_PrintUnformatted(rec);
	if (!text)
		return -ENOMEM;
	fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r < 0)
		goto out;
	if (renameat(j->dirfd, tmp, j->dirfd, name) < 0) {
		r = -errno;
		goto out;
	}
	/* The rename itself must reach the disk before the fault does. */
	if (fsync(j->dirfd) < 0)
		r = -errno;
out:
	if (r < 0)
		(void)unlinkat(j->dirfd, tmp, 0);
	free(text);
	return r;
}

int fl_journal_remove(struct fl_journal *j, const char *id)
{
	char name[FL_API_ID_MAX + 16];

	if (!fl_api_id_valid(id, FL_API_ID_MAX))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.json", id);
	if (unlinkat(j->dirfd, name, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fsync(j->dirfd) < 0)
		return -errno;
	return 0;
}

static cJSON *read_record(int dirfd, const char *name)
{
	char *buf = NULL;
	cJSON *rec = NULL;
	struct stat st;
	size_t n = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > JOURNAL_RECORD_MAX ||
	    fl_buf_read_fd(fd, JOURNAL_RECORD_MAX, &buf, &n) < 0)
		goto out;
	rec = cJSON_ParseWithLength(buf, n);
	if (rec && !cJSON_IsObject(rec)) {
		cJSON_Delete(rec);
		rec = NULL;
	}
out:
	free(buf);
	close(fd);
	return rec;
}

int fl_journal_each(struct fl_journal *j,
		    void (*fn)(const char *id, const cJSON *rec, void *opaque), void *opaque)
{
	int fd = dup(j->dirfd);
	DIR *d;
	struct dirent *de;
	int count = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char id[FL_API_ID_MAX + 1];
		size_t n = strlen(de->d_name);
		cJSON *rec;

		if (de->d_name[0] == '.') {
			/* A temp file never renamed: its fault was never applied. */
			if (n > 4 && !strcmp(de->d_name + n - 4, ".tmp"))
				(void)unlinkat(j->dirfd, de->d_name, 0);
			continue;
		}
		if (n <= 5 || strcmp(de->d_name + n - 5, ".json") || n - 5 > FL_API_ID_MAX)
			continue;
		memcpy(id, de->d_name, n - 5);
		id[n - 5] = '\0';
		if (!fl_api_id_valid(id, FL_API_ID_MAX))
			continue;
		rec = read_record(j->dirfd, de->d_name);
		count++;
		if (fn)
			fn(id, rec, opaque);
		cJSON_Delete(rec);
	}
	closedir(d);
	return count;
}

int fl_journal_count(struct fl_journal *j)
{
	return fl_journal_each(j, NULL, NULL);
}
