/*
 * The `prometheus` probe: an instant PromQL query through the HTTP API
 * (GET <url>/api/v1/query?query=...). The result is the query's value as a
 * number: a scalar's value, or the first series' value of an instant vector
 * (null when the vector is empty). Use sum() or a precise selector when a
 * query can match several series. The request goes through the http
 * provider, so timeouts and interrupts behave the same.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/slo.h"

/* "1.5", "NaN", "+Inf" -> a JSON number (non-finite values become null). */
static cJSON *sample_value(const cJSON *pair)
{
	const cJSON *v = cJSON_GetArrayItem(pair, 1);
	char *end;
	double d;

	if (!cJSON_IsString(v))
		return NULL;
	d = strtod(v->valuestring, &end);
	if (end == v->valuestring || *end || d != d || d > 1e308 || d < -1e308)
		return cJSON_CreateNull();
	return cJSON_CreateNumber(d);
}

/*
 * The answer of GET /api/v1/query, as the http provider hands it over:
 *
 *   resp   := {"status": N, "body": doc-as-string | doc, ...}
 *   doc    := {"status": "success", "data": {"resultType": T, "result": R}, ...}
 *   T = "scalar": R := [time, "value"]
 *   T = "vector": R := [{"metric": {...}, "value": [time, "value"]}, ...]
 *   value  := a decimal the way Go formats floats, "NaN", "+Inf", "-Inf"
 *
 * The first sample's value, as a number; null for an empty vector or a
 * non-finite value. Other result types (matrix, string) are refused.
 */
int fl_probe_prometheus_answer(const cJSON *resp, const char *url, cJSON **result,
			       struct fl_error *err)
{
	const cJSON *body, *data, *type, *res, *st;
	cJSON *doc = NULL, *val = NULL;
	int ret = 0;

	*result = NULL;
	body = cJSON_GetObjectItem(resp, "body");
	if (cJSON_IsString(body))
		doc = cJSON_Parse(body->valuestring);
	else if (cJSON_IsObject(body))
		doc = cJSON_Duplicate(body, true);
	st = cJSON_GetObjectItem(doc, "status");
	data = cJSON_GetObjectItem(doc, "data");
	type = cJSON_GetObjectItem(data, "resultType");
	res = cJSON_GetObjectItem(data, "result");
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "success") || !cJSON_IsString(type)) {
		ret =
		    fl_error_set(err, -EPROTO, NULL, "not a Prometheus query answer from %s", url);
		goto out;
	}
	if (!strcmp(type->valuestring, "scalar"))
		val = sample_value(res);
	else if (!strcmp(type->valuestring, "vector"))
		val = cJSON_GetArraySize(res)
			  ? sample_value(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "value"))
			  : cJSON_CreateNull();
	if (!val) {
		ret = fl_error_set(err, -EPROTO, NULL,
				   "the query gave a %s; faultline judges scalars and instant "
				   "vectors",
				   type->valuestring);
		goto out;
	}
	*result = val;
	val = NULL;
out:
	cJSON_Delete(val);
	cJSON_Delete(doc);
	return ret;
}

int fl_probe_prometheus_run(const struct fl_provider *p, const struct fl_call_opts *o,
			    cJSON **result, struct fl_error *err)
{
	struct fl_provider h = {0};
	cJSON *resp = NULL;
	char *q = NULL, *url = NULL;
	size_t blen;
	int ret;

	*result = NULL;
	q = curl_easy_escape(NULL, p->query, 0);
	blen = strlen(p->url);
	while (blen && p->url[blen - 1] == '/')
		blen--;
	if (!q || asprintf(&url, "%.*s/api/v1/query?query=%s", (int)blen, p->url, q) < 0) {
		url = NULL;
		ret = fl_error_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	h.type = FL_PROVIDER_HTTP;
	h.url = url;
	h.method = (char *)"GET";
	h.expected_status = 200;
	h.verify_tls = p->verify_tls;
	h.timeout_ms = p->timeout_ms ? p->timeout_ms : FL_PROM_DEFAULT_TIMEOUT_MS;
	ret = fl_provider_http_run(&h, o, &resp, err);
	if (ret < 0)
		goto out;
	ret = fl_probe_prometheus_answer(resp, p->url, result, err);
out:
	cJSON_Delete(resp);
	curl_free(q);
	free(url);
	return ret;
}
