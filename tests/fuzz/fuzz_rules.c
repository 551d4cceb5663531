/*
 * libFuzzer target: the rule syntax of `faultline exec --fault RULE` and of the
 * syscall fault's params (preload/rules.c): every rule kind (call rules, time,
 * dns, the stream toxics). Input: the rule text; its length's parity picks the
 * flags (shim names or, with FL_RULE_PARSE_SYSCALL, syscall names). A rule
 * that parses is formatted and must parse back to the same rule (the
 * canonical-text promise of rules.h).
 */
#include <stdlib.h>
#include <string.h>

#include "preload/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same rule: every byte the shim would read, and the names as written. */
static int same(const struct fl_preload_rule *a, const struct fl_preload_rule *b)
{
	if (memcmp(&a->shm, &b->shm, sizeof(a->shm)) || a->nfuncs != b->nfuncs ||
	    a->exact != b->exact)
		return 0;
	for (unsigned i = 0; i < a->nfuncs; i++)
		if (strcmp(a->funcs[i], b->funcs[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = (size & 1) ? FL_RULE_PARSE_SYSCALL : 0;
	struct fl_preload_rule r, again;
	struct fl_error err;
	struct fl_buf out;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fl_error_init(&err);
	if (fl_preload_rule_parse(text, flags, &r, &err) == 0) {
		fl_buf_init(&out, 4 * FL_RULE_TEXT_MAX);
		if (fl_preload_rule_format(&r, &out) < 0 || !out.data)
			abort();
		if (fl_preload_rule_parse(out.data, flags, &again, &err) < 0)
			abort(); /* canonical text must parse */
		if (!same(&r, &again))
			abort(); /* ...back to the same rule */
		(void)fl_preload_rule_kind_name(&r);
		fl_buf_done(&out);
	}
	/* The lookups faultline exec and the agent use on names from outside. */
	(void)fl_preload_fn_lookup(text);
	(void)fl_preload_errno_lookup(text);
	free(text);
	return 0;
}
