/*
 * libFuzzer target: the rule syntax of `faultline exec --fault RULE` and of the
 * syscall fault's params (preload/rules.c). Input: the rule text; its length's
 * parity picks the flags (shim names or, with FL_RULE_PARSE_SYSCALL, syscall
 * names). A rule that parses is formatted and must parse back to the same rule
 * (the canonical-text promise of rules.h).
 */
#include <stdlib.h>
#include <string.h>

#include "preload/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct fl_shm_rule *a, const struct fl_shm_rule *b)
{
	return a->fn_mask == b->fn_mask && a->flags == b->flags && a->err == b->err &&
	       a->gai == b->gai && a->fd == b->fd && a->prob == b->prob &&
	       a->delay_ns == b->delay_ns && a->short_len == b->short_len &&
	       a->when_first == b->when_first && a->when_last == b->when_last &&
	       a->when_step == b->when_step && a->port == b->port &&
	       a->addr_family == b->addr_family && a->path_len == b->path_len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       !strncmp(a->path, b->path, sizeof(a->path)) &&
	       !strncmp(a->host, b->host, sizeof(a->host));
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
		if (!same(&r.shm, &again.shm) || r.nfuncs != again.nfuncs)
			abort(); /* ...back to the same rule */
		fl_buf_done(&out);
	}
	/* The lookups faultline exec and the agent use on names from outside. */
	(void)fl_preload_fn_lookup(text);
	(void)fl_preload_errno_lookup(text);
	free(text);
	return 0;
}
