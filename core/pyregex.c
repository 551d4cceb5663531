/*
 * Python `re` patterns through PCRE2 (library fl_pyregex): the controller's
 * regex tolerances. Its own library, so that what links fl_core (the agent)
 * does not link libpcre2.
 */
#include "core/pyregex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MATCH_LIMIT 5000000 /* backtracking steps per search */
#define DEPTH_LIMIT 100000  /* KiB of backtracking memory per search */

struct fl_pyregex {
	pcre2_code *code;
	pcre2_match_context *mctx;
};

int fl_pyregex_compile(const char *pattern, struct fl_pyregex **out, char *why, size_t whylen)
{
	struct fl_pyregex *re;
	PCRE2_SIZE off = 0;
	int ec = 0;

	*out = NULL;
	re = calloc(1, sizeof(*re));
	if (!re)
		return -ENOMEM;
	/* PCRE2_UCP: \d \w \s and \b are Unicode-aware, as Python 3's are for str */
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	if (!re->code) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		if (why && whylen)
			snprintf(why, whylen, "%s (at offset %zu)", (const char *)msg, (size_t)off);
		free(re);
		return -EINVAL;
	}
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->mctx) {
		fl_pyregex_free(re);
		return -ENOMEM;
	}
	pcre2_set_match_limit(re->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, DEPTH_LIMIT);
	*out = re;
	return 0;
}

int fl_pyregex_search(const struct fl_pyregex *re, const char *subject, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	int rc;

	if (!md)
		return -ENOMEM;
	rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, md, re->mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		return -E2BIG;
	return -EINVAL;
}

void fl_pyregex_free(struct fl_pyregex *re)
{
	if (!re)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re);
}
