/*
 * fl-bench-write N: N one-byte write(2) calls to /dev/null (on fd 9), timed
 * with CLOCK_MONOTONIC. The result goes to stderr through writev(2), so rules
 * on write(2) never touch it:
 *   calls=N failed=F ns_per_call=X
 * Run under callgrind (N and 0) for instructions per call, or plain for time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, failed = 0;
	struct timespec a, b;
	char line[128];
	struct iovec v;
	int fd;

	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, 9) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		failed += write(9, "x", 1) != 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	snprintf(line, sizeof(line), "calls=%ld failed=%ld ns_per_call=%.1f\n", n, failed,
		 n ? ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
			 (double)n
		   : 0.0);
	v.iov_base = line;
	v.iov_len = strlen(line);
	writev(2, &v, 1);
	return 0;
}
