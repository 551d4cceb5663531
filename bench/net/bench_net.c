/*
 * fl-bench-net KIND NETNS IFACE N
 *   KIND tbf:   bandwidth {"rate":"10mbit"}  vs  tc -n NETNS qdisc replace ... tbf ... / del
 *   KIND netem: netem {"delay":"10ms","loss":"1%"} vs tc -n NETNS qdisc replace ... netem ... / del
 * N apply+revert cycles each way, in one run, through the fault code path the
 * agent uses (parse, plan, apply, revert: setns + netlink) and through `tc`
 * (fork + exec, as a script or a tc-shelling tool would). Prints the ratio.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "faults/fault.h"

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct fl_fault_ops *ops;
	struct fl_fault_ctx ctx = {.fault_id = "bench"};
	char target[256];
	const char *params;
	double t0, fl_us, tc_us;
	int n;

	if (argc != 5 || (strcmp(argv[1], "tbf") && strcmp(argv[1], "netem")) ||
	    (n = atoi(argv[4])) <= 0) {
		fprintf(stderr, "usage: fl-bench-net tbf|netem NETNS IFACE N\n");
		return 2;
	}
	bool tbf = !strcmp(argv[1], "tbf");
	ops = fl_fault_lookup(tbf ? "bandwidth" : "netem");
	params = tbf ? "{\"rate\":\"10mbit\",\"burst\":\"25000b\"}"
		     : "{\"delay\":\"10ms\",\"loss\":\"1%\"}";
	snprintf(target, sizeof(target), "{\"netns\":\"%s\",\"interface\":\"%s\"}", argv[2],
		 argv[3]);

	char *add[] = {"tc",
		       "-n",
		       argv[2],
		       "qdisc",
		       "replace",
		       "dev",
		       argv[3],
		       "root",
		       "handle",
		       "fa17:",
		       tbf ? "tbf" : "netem",
		       tbf ? "rate" : "delay",
		       tbf ? "10mbit" : "10ms",
		       tbf ? "burst" : "loss",
		       tbf ? "25000" : "1%",
		       tbf ? "latency" : NULL,
		       "50ms",
		       NULL};
	char *del[] = {"tc", "-n", argv[2], "qdisc", "del", "dev", argv[3], "root", NULL};

	t0 = now_us();
	for (int i = 0; i < n; i++) {
		cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(params), *undo = NULL;
		struct fl_error err;
		void *spec = NULL;

		fl_error_init(&err);
		if (ops->parse(t, p, &spec, &err) < 0 || ops->plan(spec, &ctx, &undo, &err) < 0 ||
		    ops->apply(spec, &ctx, undo, &err) < 0 || ops->revert(undo, &err) < 0) {
			fprintf(stderr, "faultline: %s: %s\n", err.path, err.msg);
			return 1;
		}
		ops->free(spec);
		cJSON_Delete(undo);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
	fl_us = (now_us() - t0) / n;
	t0 = now_us();
	for (int i = 0; i < n; i++)
		if (run(add) < 0 || run(del) < 0) {
			fprintf(stderr, "tc failed\n");
			return 1;
		}
	tc_us = (now_us() - t0) / n;
	printf("%s apply+revert x%d: faultline %.1f us/cycle, tc %.1f us/cycle, ratio %.1fx\n",
	       argv[1], n, fl_us, tc_us, tc_us / fl_us);
	return 0;
}
