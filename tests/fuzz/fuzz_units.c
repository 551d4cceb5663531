/*
 * libFuzzer target: durations, rates, sizes, percentages and CIDRs as people
 * write them in experiments, fault params and on the command line
 * (core/duration.c, faults/nl_units.c), plus `--var k=v`. Input: the text.
 * Properties checked: a parsed duration is within FL_DURATION_MAX_MS, and
 * fl_duration_fmt's output parses back to the same number of microseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "experiments/experiment.h"
#include "faults/nl_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results we do not judge here (the parsers are FL_WUR). */
static volatile int sink;

static const uint64_t units[] = {1, 1000, 1000000, 60000000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_vars vars = {0};
	struct fl_nl_cidr cidr;
	struct fl_error err;
	uint64_t us, us2, ms, v;
	uint32_t prob;
	double pct;
	char buf[64];
	char *s = malloc(size + 1);
	cJSON *str;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < FL_ARRAY_SIZE(units); i++) {
		if (fl_duration_parse_us(s, units[i], &us) == 0) {
			if (us > FL_DURATION_MAX_MS * 1000)
				abort();
			if (!fl_duration_fmt(us, buf, sizeof(buf)) ||
			    fl_duration_parse_us(buf, 1000000, &us2) < 0 || us2 != us)
				abort();
		}
		sink += fl_duration_parse_ms(s, units[i], &ms);
	}
	if (fl_nl_rate_parse(s, &v) == 0)
		(void)fl_nl_rate_fmt(v, buf, sizeof(buf));
	if (fl_nl_size_parse(s, &v) == 0)
		(void)fl_nl_size_fmt(v, buf, sizeof(buf));
	if (fl_nl_cidr_parse(s, &cidr) == 0)
		(void)fl_nl_cidr_fmt(&cidr, buf, sizeof(buf));
	str = cJSON_CreateString(s);
	if (str && fl_nl_percent_parse(str, &prob, &pct) == 0)
		(void)fl_nl_pct_fmt(prob, buf, sizeof(buf));
	cJSON_Delete(str);
	fl_error_init(&err);
	if (fl_vars_add_kv(&vars, s, &err) == 0)
		fl_vars_done(&vars);
	free(s);
	return 0;
}
