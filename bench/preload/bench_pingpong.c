/*
 * fl-bench-pingpong N: N one-byte round trips between two processes over two
 * pipes, timed with CLOCK_MONOTONIC; prints ns_per_call=X (a round trip) to
 * stderr. Run on one CPU it is the floor for any supervisor that lives in
 * another process: two context switches, which a seccomp user-notification
 * round trip (target -> supervisor -> target) cannot avoid either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int to_child[2], to_parent[2];
	struct timespec a, b;
	char c = 'x';
	pid_t pid;

	if (pipe(to_child) < 0 || pipe(to_parent) < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (read(to_child[0], &c, 1) != 1 || write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	waitpid(pid, NULL, 0);
	fprintf(stderr, "calls=%ld ns_per_call=%.1f\n", n,
		n ? ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
			(double)n
		  : 0.0);
	return 0;
}
