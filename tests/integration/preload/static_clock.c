/*
 * Statically linked (no libc to hook): prints the monotonic and boottime
 * clocks as clock_gettime reads them (the vDSO) and as the raw syscall
 * does, what only a time namespace can offset. One line a reading:
 *   c mono=NS raw_mono=NS boot=NS raw_boot=NS
 * usage: fl-static-clock [N [MS]]   N readings (default 1), MS apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t id, int raw)
{
	struct timespec t = {0, 0};

	if (raw)
		syscall(SYS_clock_gettime, id, &t);
	else
		clock_gettime(id, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long ms = argc > 2 ? atol(argv[2]) : 0;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	for (int i = 0; i < n; i++) {
		printf("c mono=%lld raw_mono=%lld boot=%lld raw_boot=%lld\n",
		       ns(CLOCK_MONOTONIC, 0), ns(CLOCK_MONOTONIC, 1), ns(CLOCK_BOOTTIME, 0),
		       ns(CLOCK_BOOTTIME, 1));
		fflush(stdout);
		if (ms && i + 1 < n)
			nanosleep(&ts, NULL);
	}
	return 0;
}
