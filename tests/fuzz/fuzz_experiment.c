/*
 * Fuzz target for the experiment parser and the tolerance judge: any bytes go
 * through fl_experiment_parse(); when they make an experiment, every
 * hypothesis tolerance is judged against a few provider-shaped results and
 * described. Crashes, leaks and undefined behaviour are the findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/experiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const results[] = {
    "{\"status\": 0, \"stdout\": \"ok\\n\", \"stderr\": \"\"}",
    ("{\"status\": 200, \"headers\": {}, \"body\": \"{\\\"a\\\": [1, {\\\"b\\\": 2}]}\", "
     "\"elapsed_ms\": 3}"),
    "{\"status\": 503, \"body\": {\"a\": null}}",
    "[1, 2, 3]",
    "\"text\"",
    "true",
};

static void judge(const struct fl_activity_list *l, const cJSON *res)
{
	for (size_t i = 0; i < l->n; i++) {
		char why[256], desc[256];

		(void)fl_tolerance_check(&l->v[i].tolerance, l->v[i].provider.type, res, why,
					 sizeof(why));
		fl_tolerance_describe(&l->v[i].tolerance, desc, sizeof(desc));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;

	if (fl_experiment_parse((const char *)data, size, NULL, &e, &errs) != 0)
		return 0;
	for (size_t r = 0; r < sizeof(results) / sizeof(results[0]); r++) {
		cJSON *res = cJSON_Parse(results[r]);

		judge(&e->hypothesis, res);
		judge(&e->method, res);
		judge(&e->rollbacks, NULL);
		cJSON_Delete(res);
	}
	fl_experiment_free(e);
	return 0;
}
