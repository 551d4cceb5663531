/*
 * libFuzzer target: what faultline reads from Kubernetes (core/kube.c): the
 * kubeconfig (a YAML/JSON subset parsed by hand), the API server's PodList
 * pages and Status errors, label selectors and names. The first byte picks:
 *   0  kubeconfig (context from the file, then "ctx" as --context would give)
 *   1  a PodList page, appended to a list; the continue token makes a pods URL
 *   2  a Status error body, with the HTTP code from byte 1
 *   3  label selector object (JSON), selector and name checks on the text,
 *      the text as the in-cluster KUBERNETES_SERVICE_HOST or _PORT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results we do not judge here (the parsers are FL_WUR). */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	struct fl_kube_config cfg;
	struct fl_kube_pod_list list = {0}, other = {0};
	struct fl_error err;
	struct fl_buf out;
	char *cont = NULL, *s;
	cJSON *j;

	if (!size)
		return 0;
	fl_error_init(&err);
	switch (data[0] & 3) {
	case 0:
		memset(&cfg, 0, sizeof(cfg));
		if (fl_kube_config_parse(body, len, "/nonexistent/kube", NULL, &cfg, &err) == 0)
			fl_kube_config_done(&cfg);
		memset(&cfg, 0, sizeof(cfg));
		if (fl_kube_config_parse(body, len, "/nonexistent/kube", "ctx", &cfg, &err) == 0)
			fl_kube_config_done(&cfg);
		break;
	case 1:
		if (fl_kube_pod_list_parse(body, len, &list, &cont, &err) == 0 && list.n) {
			/* As pod_select.c does: a deep copy into another list. */
			sink += fl_kube_pod_list_add(&other, &list.v[0]);
			fl_kube_pod_list_done(&other);
			fl_buf_init(&out, 64 * 1024);
			sink += fl_kube_pods_url(list.v[0].namespace, "app=x", NULL, cont, &out);
			fl_buf_done(&out);
		}
		free(cont);
		fl_kube_pod_list_done(&list);
		break;
	case 2:
		sink += fl_kube_status_error(len ? 100 + body[0] % 500 : 500, body, len, &err);
		break;
	default:
		s = malloc(len + 1);
		if (!s)
			return 0;
		memcpy(s, body, len);
		s[len] = '\0';
		sink +=
		    fl_kube_selector_ok(s) + fl_kube_name_ok(s, true) + fl_kube_name_ok(s, false);
		j = cJSON_ParseWithLength(body, len);
		if (j) {
			fl_buf_init(&out, 64 * 1024);
			sink += fl_kube_labels_selector(j, "$.pod.labels", &out, &err);
			fl_buf_done(&out);
			cJSON_Delete(j);
		}
		fl_buf_init(&out, 64 * 1024);
		sink += fl_kube_pods_url(s, s, s, s, &out);
		fl_buf_done(&out);
		/* KUBERNETES_SERVICE_HOST and _PORT, from the environment. */
		if (fl_kube_config_incluster(s, "443", "/nonexistent/sa", &cfg, &err) == 0)
			fl_kube_config_done(&cfg);
		if (fl_kube_config_incluster("10.96.0.1", s, "/nonexistent/sa", &cfg, &err) == 0)
			fl_kube_config_done(&cfg);
		free(s);
		break;
	}
	return 0;
}
