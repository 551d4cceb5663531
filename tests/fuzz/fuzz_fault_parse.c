/*
 * libFuzzer target: every registered fault kind's parse (and describe) with the
 * target and params of a POST /v1/faults body, as the agent calls them after
 * fl_api_fault_req_parse. Input: a JSON object {"kind", "target", "params"}; a
 * kind that is not registered is replaced by registered kind number
 * (length of the input % number of kinds), so every kind sees every shape.
 * parse must not touch the system (fault.h), so nothing is applied here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "faults/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fl_fault_ops *ops;
	const cJSON *kind, *target, *params;
	struct fl_error err;
	struct fl_buf out;
	cJSON *root = NULL, *empty = NULL;
	void *spec = NULL;
	size_t nkinds = 0;

	fl_error_init(&err);
	if (fl_api_json_parse((const char *)data, size, &root, &err) < 0)
		return 0;
	while (fl_fault_nth(nkinds))
		nkinds++;
	kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	ops = cJSON_IsString(kind) ? fl_fault_lookup(kind->valuestring) : NULL;
	if (!ops && nkinds)
		ops = fl_fault_nth(size % nkinds);
	target = cJSON_GetObjectItemCaseSensitive(root, "target");
	params = cJSON_GetObjectItemCaseSensitive(root, "params");
	/* What fl_api_fault_req_parse guarantees the agent: both are objects. */
	if (!cJSON_IsObject(target) || (params && !cJSON_IsObject(params)))
		goto out;
	if (!params) {
		empty = cJSON_CreateObject();
		params = empty;
	}
	if (ops && params && ops->parse(target, params, &spec, &err) == 0) {
		fl_buf_init(&out, 64 * 1024);
		if (ops->describe)
			(void)ops->describe(spec, &out);
		fl_buf_done(&out);
		ops->free(spec);
	}
out:
	cJSON_Delete(empty);
	cJSON_Delete(root);
	return 0;
}
