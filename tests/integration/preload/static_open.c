/*
 * Statically linked (no libc to hook): opens a file and writes a line, then
 * reports both results. The seccomp path must reach it; the shim cannot.
 * usage: fl-static-open PATH [N [MS [ignore-term|fork]...]]
 *   N opens (default 1), MS milliseconds apart (default 0); "ignore-term"
 *   ignores SIGTERM (to watch what it sees during a stop's grace period);
 *   "fork" forks once first, and both processes open N times.
 * Each line is flushed as it is written (its output may be a file).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1;
	long ms = argc > 3 ? atol(argv[3]) : 0;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	if (argc < 2)
		return 2;
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], "ignore-term"))
			signal(SIGTERM, SIG_IGN);
		else if (!strcmp(argv[i], "fork") && fork() < 0)
			return 1;
	for (int i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY);

		printf("open ret=%d errno=%s\n", fd < 0 ? -1 : 0,
		       fd < 0 ? strerrorname_np(errno) : "0");
		fflush(stdout);
		if (fd >= 0)
			close(fd);
		if (ms && i + 1 < n)
			nanosleep(&ts, NULL);
	}
	return 0;
}
