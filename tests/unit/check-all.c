/*
 * One runner for every module's Check suite. Each tests/unit/test_NAME.c
 * defines `Suite *fl_suite_NAME(void)` and adds itself to FL_SUITES below via
 * a weak declaration, so a part that is not built yet simply has no suite.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define FL_SUITES(X)                                                                               \
	X(core)                                                                                    \
	X(experiment_parse)                                                                        \
	X(experiment_validate)                                                                     \
	X(substitution)                                                                            \
	X(tolerance)                                                                               \
	X(docs_examples)                                                                           \
	X(reports)                                                                                 \
	X(report_view)                                                                             \
	X(providers)                                                                               \
	X(faults_process)                                                                          \
	X(agent_api)                                                                               \
	X(netlink)                                                                                 \
	X(preload_rules)                                                                           \
	X(kube)                                                                                    \
	X(slo)

#define DECLARE(n) extern Suite *fl_suite_##n(void) __attribute__((weak));
FL_SUITES(DECLARE)
#undef DECLARE

int main(void)
{
	SRunner *sr = NULL;
	int failed, ran;

#define ADD(n)                                                                                     \
	if (fl_suite_##n) {                                                                        \
		if (!sr)                                                                           \
			sr = srunner_create(fl_suite_##n());                                       \
		else                                                                               \
			srunner_add_suite(sr, fl_suite_##n());                                     \
	}
	FL_SUITES(ADD)
#undef ADD
	if (!sr) {
		printf("SKIPPED: no unit suites are built\n");
		return 77;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	/* CTest selects a suite by file name (CK_RUN_SUITE): none ran means it is not in FL_SUITES.
	 */
	if (ran == 0) {
		fprintf(stderr, "no test ran (CK_RUN_SUITE=%s): is the suite in FL_SUITES?\n",
			getenv("CK_RUN_SUITE") ? getenv("CK_RUN_SUITE") : "");
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
