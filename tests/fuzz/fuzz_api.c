/*
 * libFuzzer target: the agent API's request bodies and the controller's
 * reading of agent answers (core/api.c). The first byte picks the parser:
 *   0  POST /v1/faults body        fl_api_fault_req_parse
 *   1  POST /v1/faults/ID/renew    fl_api_renew_parse
 *   2  an agent's error answer     fl_api_error_parse (read by the controller)
 *   3  a path segment / ?experiment= value   fl_api_id_valid
 * the rest of the input is the body. A parsed fault request is re-encoded
 * (fl_api_fault_req_json) and must parse back to the same request.
 */
#include <stdlib.h>
#include <string.h>

#include "core/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results we do not judge here (the parsers are FL_WUR). */
static volatile int sink;

static void roundtrip(const struct fl_api_fault_req *req)
{
	struct fl_api_fault_req again;
	struct fl_error err;
	/* An absent experiment parses as "" and is built from NULL. */
	char *s = fl_api_fault_req_json(req->id, req->experiment[0] ? req->experiment : NULL,
					req->kind, req->target, req->params, req->ttl_ms);

	if (!s)
		return; /* out of memory */
	fl_error_init(&err);
	if (fl_api_fault_req_parse(s, strlen(s), &again, &err) < 0)
		abort(); /* what we encode we must read back */
	if (strcmp(again.id, req->id) || strcmp(again.experiment, req->experiment) ||
	    strcmp(again.kind, req->kind) || again.ttl_ms != req->ttl_ms ||
	    !cJSON_Compare(again.target, req->target, true) ||
	    !cJSON_Compare(again.params, req->params, true))
		abort();
	fl_api_fault_req_done(&again);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_api_fault_req req;
	struct fl_error err;
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	uint64_t ttl = 0;
	char *s;

	if (!size)
		return 0;
	fl_error_init(&err);
	switch (data[0] & 3) {
	case 0:
		if (fl_api_fault_req_parse(body, len, &req, &err) == 0) {
			roundtrip(&req);
			fl_api_fault_req_done(&req);
		}
		break;
	case 1:
		sink += fl_api_renew_parse(body, len, &ttl, &err);
		break;
	case 2:
		(void)fl_api_error_parse(body, len, &err);
		break;
	default:
		s = malloc(len + 1);
		if (!s)
			return 0;
		memcpy(s, body, len);
		s[len] = '\0';
		(void)fl_api_id_valid(s, FL_API_ID_MAX);
		(void)fl_api_id_valid(s, FL_API_EXPERIMENT_MAX);
		free(s);
		break;
	}
	return 0;
}
