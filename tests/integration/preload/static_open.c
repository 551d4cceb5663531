/*
 * Statically linked (no libc to hook): opens a file and writes a line, then
 * reports both results. The seccomp path must reach it; the shim cannot.
 * usage: fl-static-open PATH [N]   (N opens, default 1)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1;

	if (argc < 2)
		return 2;
	for (int i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY);

		printf("open ret=%d errno=%s\n", fd < 0 ? -1 : 0,
		       fd < 0 ? strerrorname_np(errno) : "0");
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
