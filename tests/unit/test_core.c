#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/path.h"
#include "core/regex.h"
#include "core/rng.h"

START_TEST(duration_units)
{
	static const struct {
		const char *in;
		uint64_t unit;
		int ret;
		uint64_t us;
	} cases[] = {
	    {"250ms", 1000000, 0, 250000},
	    {"30s", 1000000, 0, 30000000},
	    {"1.5s", 1000000, 0, 1500000},
	    {"2m", 1000000, 0, 120000000},
	    {"1h", 1000000, 0, 3600000000ULL},
	    {"100us", 1000000, 0, 100},
	    {"3", 1000000, 0, 3000000},
	    {"3", 1000, 0, 3000},
	    {"0", 1000000, 0, 0},
	    {"", 1000000, -EINVAL, 0},
	    {"abc", 1000000, -EINVAL, 0},
	    {"-1s", 1000000, -EINVAL, 0},
	    {"1.s", 1000000, -EINVAL, 0},
	    {"10 s", 1000000, -EINVAL, 0},
	    {"5d", 1000000, -EINVAL, 0},
	    {"8000h", 1000000, -ERANGE, 0},
	    {"99999999999999999999999s", 1000000, -ERANGE, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t us = 12345;
		int r = fl_duration_parse_us(cases[i].in, cases[i].unit, &us);

		ck_assert_msg(r == cases[i].ret, "%s: got %d want %d", cases[i].in, r,
			      cases[i].ret);
		if (r == 0)
			ck_assert_msg(us == cases[i].us, "%s: got %llu", cases[i].in,
				      (unsigned long long)us);
	}
}
END_TEST

START_TEST(duration_format_round_trip)
{
	static const uint64_t v[] = {0,		100,	       250000,	     1500000,	30000000,
				     120000000, 3600000000ULL, 232011000ULL, 1234000ULL};
	char buf[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t back;

		fl_duration_fmt(v[i], buf, sizeof(buf));
		ck_assert_int_eq(fl_duration_parse_us(buf, 1000000, &back), 0);
		ck_assert_msg(back == v[i], "%s -> %llu", buf, (unsigned long long)back);
	}
}
END_TEST

START_TEST(seconds_to_ms)
{
	uint64_t ms;

	ck_assert_int_eq(fl_seconds_to_ms(1.5, &ms), 0);
	ck_assert_uint_eq(ms, 1500);
	ck_assert_int_eq(fl_seconds_to_ms(-1, &ms), -EINVAL);
	ck_assert_int_eq(fl_seconds_to_ms(1e300, &ms), -ERANGE);
}
END_TEST

START_TEST(rng_replays)
{
	struct fl_rng a, b;

	fl_rng_init(&a, 42);
	fl_rng_init(&b, 42);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(fl_rng_next(&a), fl_rng_next(&b));
	fl_rng_init(&b, 43);
	ck_assert_uint_ne(fl_rng_next(&a), fl_rng_next(&b));
	for (int i = 0; i < 1000; i++) {
		ck_assert_uint_lt(fl_rng_below(&a, 7), 7);
		double u = fl_rng_unit(&a);
		ck_assert(u >= 0.0 && u < 1.0);
	}
}
END_TEST

START_TEST(buf_caps)
{
	struct fl_buf b;
	char *s;

	fl_buf_init(&b, 8);
	ck_assert_int_eq(fl_buf_add(&b, "abcd", 4), 0);
	ck_assert_int_eq(fl_buf_printf(&b, "%d", 123), 0);
	ck_assert_str_eq(b.data, "abcd123");
	ck_assert_int_eq(fl_buf_add(&b, "xy", 2), -E2BIG);
	ck_assert_str_eq(b.data, "abcd123");
	s = fl_buf_steal(&b);
	ck_assert_str_eq(s, "abcd123");
	ck_assert_ptr_null(b.data);
	free(s);
	fl_buf_done(&b);
}
END_TEST

START_TEST(errlist_bounded)
{
	static struct fl_errlist l;
	struct fl_error e;
	char buf[600];

	for (int i = 0; i < FL_ERRLIST_MAX + 5; i++)
		fl_errlist_add(&l, -EINVAL, "$.x", "bad %d", i);
	ck_assert_uint_eq(l.n, FL_ERRLIST_MAX);
	ck_assert_uint_eq(l.dropped, 5);
	fl_error_set(&e, -EINVAL, "$.method[2].provider.timeout", "expected %s", "seconds");
	ck_assert_str_eq(fl_error_str(&e, buf, sizeof(buf)),
			 "$.method[2].provider.timeout: expected seconds");
}
END_TEST

/* Patterns whose repetitions regcomp would expand exponentially are refused before it. */
START_TEST(regex_expansion_guard)
{
	static const char *const ok[] = {"^ready$",
					 "[0-9]+ms",
					 "(foo|bar)+baz{2,5}",
					 "^sleep 1000\\.123$",
					 "(a{40}){40}",
					 "[[:alpha:]]+[]x]*",
					 "^([0-9]{1,3}\\.){3}[0-9]{1,3}$"};
	static const char *const bombs[] = {"a++++++++++++++++++++++++++++++++++++++++",
					    "((a{99}){99}){99}",
					    "(((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
					    "99{,2099}{00,209}ka", "h9***********",
					    /* found by fuzz_agent_config: 1.4 GB in regcomp */
					    "((]{00}){99}){98}", "x{0,4000}"};
	char why[200];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(fl_regex_check(ok[i], why, sizeof(why)) == 0, "%s", ok[i]);
	for (size_t i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
		ck_assert_int_eq(fl_regex_check(bombs[i], why, sizeof(why)), -E2BIG);
		ck_assert_ptr_nonnull(strstr(why, "too complex"));
	}
}
END_TEST

/* The one path checker and the non-blocking open every client-named path goes through. */
START_TEST(path_checks_and_open)
{
	char dir[] = "/tmp/fl-unit-path-XXXXXX", p[96], q[96];
	struct stat st;
	int fd;

	ck_assert(fl_path_has_dot_component("/a/../b"));
	ck_assert(fl_path_has_dot_component("/a/./b"));
	ck_assert(fl_path_has_dot_component("/a/.."));
	ck_assert(fl_path_has_dot_component("/."));
	ck_assert(!fl_path_has_dot_component("/a/.b/c.."));
	ck_assert(!fl_path_has_dot_component("/a/b"));
	ck_assert(fl_path_under("/a/b/c", "/a/b"));
	ck_assert(fl_path_under("/a/b", "/a/b/"));
	ck_assert(fl_path_under("/x", "/"));
	ck_assert(!fl_path_under("/a/bc", "/a/b"));
	ck_assert(!fl_path_under("/a", "/a/b"));

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	/* A FIFO is refused at once, never waited on (a plain open would block here). */
	ck_assert_int_eq(fl_path_open_regular(p, O_RDONLY, false, &st), -EINVAL);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(fl_path_open_regular("/dev/null", O_RDONLY, false, NULL), -EINVAL);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "42\n", 3), 3);
	close(fd);
	snprintf(q, sizeof(q), "%s/link", dir);
	ck_assert_int_eq(symlink(p, q), 0);
	ck_assert_int_eq(fl_path_open_regular(q, O_RDONLY, true, NULL), -ELOOP);
	fd = fl_path_open_regular(q, O_RDONLY, false, NULL);
	ck_assert_int_ge(fd, 0);
	{
		char *buf = NULL;
		size_t n = 0;

		ck_assert_int_eq(fl_buf_read_fd(fd, 16, &buf, &n), 0);
		ck_assert_uint_eq(n, 3);
		ck_assert_str_eq(buf, "42\n");
		free(buf);
	}
	close(fd);
	fd = fl_path_open_regular(p, O_RDONLY, true, NULL);
	ck_assert_int_ge(fd, 0);
	{
		char *buf = NULL;

		ck_assert_int_eq(fl_buf_read_fd(fd, 2, &buf, NULL), -E2BIG);
		ck_assert_ptr_null(buf);
	}
	close(fd);
	unlink(q);
	unlink(p);
	rmdir(dir);
}
END_TEST

Suite *fl_suite_core(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, duration_units);
	tcase_add_test(tc, duration_format_round_trip);
	tcase_add_test(tc, seconds_to_ms);
	tcase_add_test(tc, rng_replays);
	tcase_add_test(tc, buf_caps);
	tcase_add_test(tc, errlist_bounded);
	tcase_add_test(tc, regex_expansion_guard);
	tcase_add_test(tc, path_checks_and_open);
	suite_add_tcase(s, tc);
	return s;
}
