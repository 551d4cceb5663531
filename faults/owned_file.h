/*
 * A file faultline makes in a directory a request names, and removes again
 * (disk_fill's fill, stress's I/O file; faults/disk_fill.c). Its record -- a
 * JSON object journalled before the file exists -- holds the directory
 * (path, device, inode), the file's name (PREFIX-<16 hex>) and, once made,
 * its inode.
 */
#ifndef FL_FAULTS_OWNED_FILE_H
#define FL_FAULTS_OWNED_FILE_H

#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

/* Open a directory with no symbolic link on the way (O_PATH); -errno. */
int fl_owned_dir_open(const char *path) FL_WUR;
/* Fill o with dir, dir_dev, dir_ino (from st) and a fresh name "PREFIX-<16 hex>". */
int fl_owned_file_record(cJSON *o, const char *dir, const struct stat *st,
			 const char *prefix) FL_WUR;
/*
 * Create the recorded file (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) in the recorded
 * directory, checked to be the one recorded; add its "ino" to o. The
 * descriptor (O_RDWR) or an error at field.
 */
int fl_owned_file_create(cJSON *o, const char *field, struct fl_error *err) FL_WUR;
/*
 * Remove the recorded file while it is the regular file of this user (and the
 * recorded inode, once recorded); 0 when it or its directory is gone.
 */
int fl_owned_file_remove(const cJSON *o, struct fl_error *err);

#endif
