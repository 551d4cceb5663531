/*
 * The fault kinds' two registries (faults/kinds.h): the spec side the
 * controller links and the apply side the agent links list the same kinds in
 * the same order, each ops table points at its kind's spec, and each spec's
 * parser checks a fault offline, with its JSON path.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "faults/fault.h"
#include "faults/spec.h"

START_TEST(registries_agree)
{
	size_t n = 0;

	for (; fl_fault_spec_nth(n); n++) {
		const struct fl_fault_spec_ops *spec = fl_fault_spec_nth(n);
		const struct fl_fault_ops *ops = fl_fault_nth(n);

		ck_assert_ptr_nonnull(ops);
		ck_assert_str_eq(ops->kind, spec->kind);
		ck_assert_ptr_eq(ops->spec, spec);
		ck_assert_ptr_eq(fl_fault_lookup(spec->kind), ops);
		ck_assert_ptr_eq(fl_fault_spec_lookup(spec->kind), spec);
		ck_assert_int_lt(spec->family, FL_FAULT_FAMILY__MAX);
		/* The apply side's parse/describe/free are built on the spec's. */
		ck_assert_ptr_nonnull(spec->parse);
		ck_assert_ptr_nonnull(spec->describe);
		ck_assert_ptr_nonnull(spec->free);
	}
	ck_assert_ptr_null(fl_fault_nth(n));
	ck_assert_uint_eq(n, 6);
	ck_assert_ptr_null(fl_fault_spec_lookup("kil"));
	ck_assert_ptr_null(fl_fault_lookup("kil"));
	/* The families the agent's policy reads instead of a list of its own. */
	ck_assert_int_eq(fl_fault_spec_lookup("kill")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("pause")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("netem")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("bandwidth")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("partition")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("syscall")->family, FL_FAULT_FAMILY_SYSCALL);
	ck_assert_str_eq(fl_fault_family_name(FL_FAULT_FAMILY_NETWORK), "network");
	/* Only a kill acts once and needs no duration. */
	for (size_t i = 0; fl_fault_spec_nth(i); i++)
		ck_assert_int_eq(fl_fault_spec_nth(i)->instant,
				 !strcmp(fl_fault_spec_nth(i)->kind, "kill"));
}
END_TEST

Suite *fl_suite_fault_spec(void)
{
	Suite *s = suite_create("fault_spec");
	TCase *tc = tcase_create("fault_spec");

	tcase_add_test(tc, registries_agree);
	suite_add_tcase(s, tc);
	return s;
}
