/*
 * Seed maker for fuzz_shm_table: arms a real table (preload/table.c, the
 * writer the agent and faultline exec use) with each rule given on the command
 * line and writes ctl[16] + the table's bytes (trailing zeroes trimmed) to
 * OUTDIR/<n>. Usage: gen_shm_seeds OUTDIR RULE...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/rules.h"

int main(int argc, char **argv)
{
	char name[64], path[4096];
	static unsigned char buf[FL_SHM_SIZE];

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR RULE...\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct fl_preload_rule r;
		struct fl_preload_table *t = NULL;
		struct fl_error err;
		unsigned char ctl[16];
		size_t len;
		FILE *f;
		int fd;

		fl_error_init(&err);
		if (fl_preload_rule_parse(argv[i], 0, &r, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err.msg);
			continue;
		}
		snprintf(name, sizeof(name), "/fl-fuzz-seed-%d", (int)getpid());
		(void)fl_preload_table_unlink(name);
		if (fl_preload_table_create(name, &t) < 0 ||
		    fl_preload_table_arm(t, &r, 1, 42, 0) < 0)
			return 1;
		fl_preload_table_close(t);
		fd = shm_open(name, O_RDONLY, 0);
		if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			return 1;
		close(fd);
		(void)fl_preload_table_unlink(name);
		for (len = sizeof(buf); len && !buf[len - 1]; len--)
			;
		/*
		 * Call the first function the rule names (fuzz_shm_table's case
		 * numbers); a rule kind, a hook it acts on. Other ctl bytes vary with i.
		 */
		memset(ctl, 0, sizeof(ctl));
		ctl[0] = (unsigned char)__builtin_ctz(r.shm.fn_mask ? r.shm.fn_mask : 1);
		if (ctl[0] > FL_FN_ACCEPT)
			ctl[0]++; /* fuzz_shm_table's case 13 is accept4 */
		if (r.shm.kind == FL_KIND_TIME)
			ctl[0] = (unsigned char)(24 + i % 5);
		else if (r.shm.kind == FL_KIND_DNS)
			ctl[0] = (unsigned char)(i % 2 ? 29 + i % 7 : 20);
		else if (r.shm.kind == FL_KIND_STREAM)
			ctl[0] = (unsigned char)(36 + i % 4);
		ctl[1] = (unsigned char)(10 + i);
		ctl[2] = (unsigned char)i;
		ctl[3] = (unsigned char)(i & 3);
		ctl[5] = 80;
		ctl[6] = 100;
		ctl[7] = (unsigned char)(i * 7);
		snprintf(path, sizeof(path), "%s/rule-%02d", argv[1], i - 1);
		f = fopen(path, "wb");
		if (!f || fwrite(ctl, 1, sizeof(ctl), f) != sizeof(ctl) ||
		    fwrite(buf, 1, len, f) != len || fclose(f))
			return 1;
	}
	return 0;
}
