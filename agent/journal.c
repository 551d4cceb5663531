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

/*
 * A directory the journal may trust: root's or the agent's user's, and
 * writable by nobody else (anyone who can write into it can plant records,
 * which reconcile would act on, or symlinks under the names the agent writes).
 */
static int dir_trusted(int fd, const char *path, struct fl_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fl_error_set(err, -errno, NULL, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fl_error_set(err, -EACCES, NULL, "%s is not a directory", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return fl_error_set(err, -EACCES, NULL,
				    "state dir %s belongs to uid %u, not to root or the agent's "
				    "user (uid %u); chown it or choose another --state-dir",
				    path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 0022)
		return fl_error_set(err, -EACCES, NULL,
				    "state dir %s is writable by group/others (mode %04o); chmod "
				    "700 it",
				    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Open a directory the operator named (its last component no symlink) or one below it. */
static int open_dir(int at, const char *name, const char *shown, struct fl_error *err)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR)
		return fl_error_set(err, -EACCES, NULL,
				    "%s is a symbolic link or not a directory; give the real "
				    "directory",
				    shown);
	return fl_error_set(err, -errno, NULL, "cannot open %s: %s", shown, strerror(errno));
}

int fl_journal_open(struct fl_journal *j, const char *state_dir, struct fl_error *err)
{
	char path[4096];
	struct stat st;
	int r;

	j->statefd = j->dirfd = j->lockfd = -1;
	if (snprintf(path, sizeof(path), "%s/faults", state_dir) >= (int)sizeof(path))
		return fl_error_set(err, -ENAMETOOLONG, NULL, "state dir path too long");
	r = mkdir_p(state_dir, 0700);
	if (r < 0)
		return fl_error_set(err, r, NULL, "cannot create %s: %s", state_dir, strerror(-r));
	{
		/* "DIR/" would follow DIR if it were a link: judge DIR itself. */
		char d[4096];
		size_t n = strlen(state_dir);

		while (n > 1 && state_dir[n - 1] == '/')
			n--;
		if (n >= sizeof(d))
			return fl_error_set(err, -ENAMETOOLONG, NULL, "state dir path too long");
		memcpy(d, state_dir, n);
		d[n] = '\0';
		r = open_dir(AT_FDCWD, d, state_dir, err);
	}
	if (r < 0)
		return r;
	j->statefd = r;
	if ((r = dir_trusted(j->statefd, state_dir, err)) < 0)
		goto fail;
	if (mkdirat(j->statefd, "faults", 0700) < 0 && errno != EEXIST) {
		r = fl_error_set(err, -errno, NULL, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((r = open_dir(j->statefd, "faults", path, err)) < 0)
		goto fail;
	j->dirfd = r;
	if ((r = dir_trusted(j->dirfd, path, err)) < 0)
		goto fail;
	/* Never follow a planted link: O_NOFOLLOW, and the file must be our own, once linked. */
	snprintf(path, sizeof(path), "%s/agent.lock", state_dir);
	j->lockfd = openat(j->statefd, "agent.lock",
			   O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (j->lockfd < 0) {
		r = errno == ELOOP
			? fl_error_set(err, -EACCES, NULL, "%s is a symbolic link; remove it", path)
			: fl_error_set(err, -errno, NULL, "cannot open %s: %s", path,
				       strerror(errno));
		goto fail;
	}
	if (fstat(j->lockfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1) {
		r = fl_error_set(err, -EACCES, NULL,
				 "%s is not a regular file of the agent's own (uid %u), linked "
				 "once; remove it",
				 path, (unsigned)geteuid());
		goto fail;
	}
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		r = fl_error_set(err, r == -EWOULDBLOCK ? -EBUSY : r, NULL,
				 "state dir %s is in use by another faultline-agent", state_dir);
		goto fail;
	}
	return 0;
fail:
	fl_journal_close(j);
	return r;
}

void fl_journal_close(struct fl_journal *j)
{
	if (j->dirfd >= 0)
		close(j->dirfd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	if (j->statefd >= 0)
		close(j->statefd);
	j->statefd = j->dirfd = j->lockfd = -1;
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
	/*
	 * A new file, never an existing one nor where a planted link points:
	 * whatever has the temp name (a crash's leftover) goes first.
	 */
	(void)unlinkat(j->dirfd, tmp, 0);
	fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

/* A record the agent wrote, or NULL with the reason in *why. */
static cJSON *read_record(int dirfd, const char *name, const char **why)
{
	char *buf = NULL;
	cJSON *rec = NULL;
	struct stat st;
	size_t n = 0;
	/* Non-blocking: a FIFO under a record's name must not stop the agent's start. */
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link, not a record" : "cannot be opened";
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto out;
	}
	/* Only the agent's user writes records (0600, in a directory nobody else may write). */
	if (st.st_uid != geteuid() || (st.st_mode & 0022) || st.st_nlink != 1) {
		*why = "not written by the agent: another owner, writable by group/others, or "
		       "hard-linked";
		goto out;
	}
	if (st.st_size > JOURNAL_RECORD_MAX) {
		*why = "larger than a record can be";
		goto out;
	}
	switch (fl_buf_read_fd(fd, JOURNAL_RECORD_MAX, &buf, &n)) {
	case 0:
		break;
	case -E2BIG:
		*why = "larger than a record can be";
		goto out;
	case -ENOMEM:
		*why = "out of memory";
		goto out;
	default:
		*why = "cannot be read";
		goto out;
	}
	rec = cJSON_ParseWithLength(buf, n);
	if (!rec || !cJSON_IsObject(rec)) {
		*why = "not a JSON object";
		cJSON_Delete(rec);
		rec = NULL;
	}
out:
	free(buf);
	close(fd);
	return rec;
}

int fl_journal_each(struct fl_journal *j,
		    void (*fn)(const char *id, const cJSON *rec, const char *why, void *opaque),
		    void *opaque)
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
		const char *why = NULL;
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
		rec = fn ? read_record(j->dirfd, de->d_name, &why) : NULL;
		count++;
		if (fn)
			fn(id, rec, why, opaque);
		cJSON_Delete(rec);
	}
	closedir(d);
	return count;
}

int fl_journal_count(struct fl_journal *j)
{
	return fl_journal_each(j, NULL, NULL);
}
