/*
 * fl-arm: write rules into a running process's table, the way the agent does
 * (used by the live arm/disarm tests).
 *   fl-arm TABLE [--seed N] [--expire-ms MS] RULE...    arm (replaces all rules)
 *   fl-arm TABLE --disarm
 *   fl-arm TABLE --hits        print each live rule's hit count, one per line
 *   fl-arm --pid PID ...                                 TABLE = /faultline-<PID>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preload/rules.h"

int main(int argc, char **argv)
{
	static struct fl_preload_rule rules[FL_SHM_RULES_MAX];
	struct fl_preload_table *t = NULL;
	char name[FL_SHM_NAME_MAX];
	uint64_t seed = 1, expires = 0;
	size_t n = 0;
	int i = 1, rc, disarm = 0, hits = 0;

	if (argc < 3)
		return 2;
	if (!strcmp(argv[i], "--pid")) {
		if (fl_preload_table_name_for_pid(atoi(argv[i + 1]), name, sizeof(name)) < 0)
			return 2;
		i += 2;
	} else {
		snprintf(name, sizeof(name), "%s", argv[i++]);
	}
	for (; i < argc; i++) {
		struct fl_error err;

		if (!strcmp(argv[i], "--disarm")) {
			disarm = 1;
		} else if (!strcmp(argv[i], "--hits")) {
			hits = 1;
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--expire-ms") && i + 1 < argc) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			expires = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
				  strtoull(argv[++i], NULL, 0) * 1000000ULL;
		} else if (n < FL_SHM_RULES_MAX) {
			fl_error_init(&err);
			if (fl_preload_rule_parse(argv[i], 0, &rules[n++], &err) < 0) {
				fprintf(stderr, "fl-arm: %s\n", err.msg);
				return 2;
			}
		}
	}
	rc = fl_preload_table_open(name, &t);
	if (rc < 0) {
		fprintf(stderr, "fl-arm: %s: %s\n", name, strerror(-rc));
		return 1;
	}
	if (hits) {
		uint64_t h[FL_SHM_RULES_MAX];

		rc = fl_preload_table_hits(t, h, FL_SHM_RULES_MAX);
		for (int k = 0; k < rc; k++)
			printf("%llu\n", (unsigned long long)h[k]);
	} else {
		rc = disarm ? fl_preload_table_disarm(t)
			    : fl_preload_table_arm(t, rules, n, seed, expires);
	}
	if (rc < 0)
		fprintf(stderr, "fl-arm: %s: %s\n", name, strerror(-rc));
	fl_preload_table_close(t);
	return rc < 0 ? 1 : 0;
}
