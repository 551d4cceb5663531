/*
 * libFuzzer target: the prometheus probe's reading of a Prometheus server's
 * answer to GET /api/v1/query (fl_probe_prometheus_answer in
 * controller/probe_prometheus.c): the JSON document, its resultType, the
 * scalar or the first sample of an instant vector, and the value's text
 * ("1.5", "NaN", "+Inf"). The answer comes from the network, so anything goes.
 *
 * Input: byte 0 picks how the http provider handed the body over:
 *   even: a string (any Content-Type but JSON), the rest of the input as is
 *   odd:  already parsed (Content-Type application/json): the rest is parsed
 *         as JSON first, as provider_http.c does
 * Property: a success is a JSON number or null, never anything else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/slo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_error err;
	cJSON *resp, *body, *val = NULL;
	char *s;

	if (!size)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		body = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	else
		body = cJSON_CreateString(s);
	free(s);
	resp = cJSON_CreateObject();
	if (!body || !resp) {
		cJSON_Delete(body);
		cJSON_Delete(resp);
		return 0;
	}
	cJSON_AddNumberToObject(resp, "status", 200);
	cJSON_AddItemToObject(resp, "body", body);
	fl_error_init(&err);
	if (fl_probe_prometheus_answer(resp, "http://prometheus:9090", &val, &err) == 0) {
		if (!val || !(cJSON_IsNumber(val) || cJSON_IsNull(val)))
			abort();
		cJSON_Delete(val);
	} else if (val || !err.msg[0]) {
		abort(); /* a refusal says why and gives nothing */
	}
	cJSON_Delete(resp);
	return 0;
}
