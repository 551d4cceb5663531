/*
 * Every ```json block of docs/experiment-format.md goes through the parser
 * and the fault kinds' own checks (fl_fault_validate, as `faultline validate`
 * runs them), so the documentation cannot drift from either. A block may be preceded by a
 * marker line:
 *   <!-- probe -->          one steady-state probe (wrapped into an experiment)
 *   <!-- activity -->       one method activity (wrapped into an experiment)
 *   <!-- invalid: PATH -->  a whole experiment that must be refused at PATH
 * Unmarked blocks are whole experiments that must be accepted.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/provider_fault.h"
#include "experiments/experiment.h"

#define DOC FL_SOURCE_DIR "/docs/experiment-format.md"

enum kind { WHOLE, PROBE, ACTIVITY, INVALID };

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void check_block(enum kind k, const char *path, const char *block, unsigned line)
{
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;
	char *json, got[4096];
	size_t len = strlen(block) + 1024, o = 0;
	int r;

	json = malloc(len);
	ck_assert(json);
	switch (k) {
	case PROBE:
		snprintf(json, len,
			 "{\"title\": \"doc\", \"steady-state-hypothesis\": {\"title\": \"h\", "
			 "\"probes\": [%s]}, \"method\": [{\"type\": \"action\", \"name\": "
			 "\"doc-noop\", \"provider\": {\"type\": \"process\", \"path\": "
			 "\"true\"}}]}",
			 block);
		break;
	case ACTIVITY:
		snprintf(json, len,
			 "{\"title\": \"doc\", \"configuration\": {\"token\": \"t\"}, \"method\": "
			 "[%s]}",
			 block);
		break;
	case WHOLE:
	case INVALID:
		snprintf(json, len, "%s", block);
		break;
	}
	r = fl_experiment_parse(json, strlen(json), NULL, &e, &errs);
	/* Faults as `faultline validate` checks them: each kind's own parser. */
	if (r == 0 && fl_fault_validate(e, &errs) < 0) {
		fl_experiment_free(e);
		e = NULL;
		r = -EINVAL;
	}
	got[0] = '\0';
	for (size_t i = 0; i < errs.n && o < sizeof(got); i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "\n    %s: %s", errs.v[i].path,
				      errs.v[i].msg);
	if (k == INVALID) {
		bool found = false;

		ck_assert_msg(r < 0, "%s:%u: example marked invalid is accepted", DOC, line);
		for (size_t i = 0; i < errs.n; i++)
			if (!strcmp(errs.v[i].path, path))
				found = true;
		ck_assert_msg(found, "%s:%u: no error at %s; got:%s", DOC, line, path, got);
	} else {
		ck_assert_msg(r == 0, "%s:%u: example refused:%s", DOC, line, got);
		fl_experiment_free(e);
	}
	free(json);
}

START_TEST(doc_examples_parse)
{
	char *doc = read_all(DOC), *next;
	unsigned line = 0, counts[4] = {0};
	enum kind pending = WHOLE;
	char pending_path[256] = "";
	char *block = NULL;
	size_t blen = 0, bcap = 0;
	unsigned bline = 0;
	bool in_json = false, in_other = false;

	for (char *l = doc; l; l = next) {
		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		line++;
		if (in_json) {
			if (!strcmp(l, "```")) {
				check_block(pending, pending_path, block ? block : "", bline);
				counts[pending]++;
				in_json = false;
				pending = WHOLE;
				blen = 0;
				if (block)
					block[0] = '\0';
				continue;
			}
			if (blen + strlen(l) + 2 > bcap) {
				bcap = (blen + strlen(l) + 2) * 2;
				block = realloc(block, bcap);
				ck_assert(block);
			}
			memcpy(block + blen, l, strlen(l));
			blen += strlen(l);
			block[blen++] = '\n';
			block[blen] = '\0';
			continue;
		}
		if (in_other) {
			if (!strncmp(l, "```", 3))
				in_other = false;
			continue;
		}
		if (!strcmp(l, "```json")) {
			in_json = true;
			bline = line;
			continue;
		}
		if (!strncmp(l, "```", 3)) {
			in_other = true;
			pending = WHOLE;
			continue;
		}
		if (!strcmp(l, "<!-- probe -->")) {
			pending = PROBE;
		} else if (!strcmp(l, "<!-- activity -->")) {
			pending = ACTIVITY;
		} else if (!strncmp(l, "<!-- invalid: ", 14)) {
			char *end = strstr(l, " -->");

			ck_assert_msg(end, "%s:%u: malformed marker", DOC, line);
			*end = '\0';
			snprintf(pending_path, sizeof(pending_path), "%s", l + 14);
			pending = INVALID;
		} else if (!strncmp(l, "<!--", 4)) {
			ck_abort_msg("%s:%u: unknown marker %s", DOC, line, l);
		} else if (l[0]) {
			pending = WHOLE; /* a marker applies to the block right after it */
		}
	}
	ck_assert_msg(!in_json, "%s: unterminated ```json block", DOC);
	/* the page shows each form; fewer means examples went missing */
	ck_assert_uint_ge(counts[WHOLE], 2);
	ck_assert_uint_ge(counts[PROBE], 8);
	ck_assert_uint_ge(counts[ACTIVITY], 3);
	ck_assert_uint_ge(counts[INVALID], 4);
	free(block);
	free(doc);
}
END_TEST

/* Each tolerance kind and each provider has its own section. */
START_TEST(doc_covers_every_kind)
{
	static const char *const headings[] = {"### Exact integer",
					       "### Exact boolean",
					       "### Exact string",
					       "### A list of two numbers: inclusive range",
					       "### Any other list: one of",
					       "### regex",
					       "### jsonpath",
					       "### range",
					       "### process",
					       "### http",
					       "### fault",
					       "## Configuration and secrets",
					       "## Substitution",
					       "## Limits"};
	char *doc = read_all(DOC);

	for (size_t i = 0; i < FL_ARRAY_SIZE(headings); i++)
		ck_assert_msg(strstr(doc, headings[i]), "%s: no section \"%s\"", DOC, headings[i]);
	free(doc);
}
END_TEST

Suite *fl_suite_docs_examples(void)
{
	Suite *s = suite_create("docs_examples");
	TCase *tc = tcase_create("docs");

	tcase_add_test(tc, doc_examples_parse);
	tcase_add_test(tc, doc_covers_every_kind);
	suite_add_tcase(s, tc);
	return s;
}
