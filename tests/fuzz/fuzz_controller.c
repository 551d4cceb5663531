/*
 * libFuzzer target: what the controller reads about agents from outside --
 * agent addresses (experiments' "agents", --agents inventories, `faultline
 * status --agent`: fl_agent_ep_parse) and an inventory's "kubernetes"
 * discovery object (fl_kube_discovery_parse). Parsing only: the inventory
 * loader itself reads token files and may ask an API server, so it is not
 * driven here. Byte 0 even: an address; odd: a discovery object (JSON);
 * 2 mod 4: an experiment's pod target (JSON) followed by the API server's
 * PodList answer, as `faultline run` picks pods (fl_kube_discovery_pick).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agent_client.h"
#include "controller/inventory.h"
#include "controller/kube_discovery.h"
#include "core/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results we do not judge here (FL_WUR). */
static volatile int sink;

/* A target object, then a PodList page: the pods the controller picks from. */
static void pick(const uint8_t *p, size_t n)
{
	struct fl_kube_pod_list pods = {0};
	const char *end = NULL;
	struct fl_error err;
	char *cont = NULL;
	size_t picked = 0;
	cJSON *target, *result;

	target = cJSON_ParseWithLengthOpts((const char *)p, n, &end, 0);
	/* What fl_kube_discovery_target passes on: a target with a "pod" object. */
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(target, "pod"))) {
		cJSON_Delete(target);
		return;
	}
	result = cJSON_CreateObject();
	fl_error_init(&err);
	if (result && end &&
	    fl_kube_pod_list_parse(end, n - (size_t)(end - (const char *)p), &pods, &cont, &err) ==
		0)
		sink += fl_kube_discovery_pick(target, &pods, &picked, result, &err);
	free(cont);
	fl_kube_pod_list_done(&pods);
	cJSON_Delete(result);
	cJSON_Delete(target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_kube_discovery d;
	struct fl_agent_ep ep, copy;
	struct fl_error err;
	cJSON *j;
	char *s;

	if (!size)
		return 0;
	fl_error_init(&err);
	if ((data[0] & 3) == 2) {
		pick(data + 1, size - 1);
		return 0;
	}
	if (!(data[0] & 1)) {
		s = malloc(size);
		if (!s)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		memset(&ep, 0, sizeof(ep));
		if (fl_agent_ep_parse(s, &ep, &err) == 0) {
			memset(&copy, 0, sizeof(copy));
			if (fl_agent_ep_copy(&copy, &ep) == 0)
				fl_agent_ep_done(&copy);
		}
		fl_agent_ep_done(&ep);
		free(s);
		return 0;
	}
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (!j)
		return 0;
	memset(&d, 0, sizeof(d));
	if (fl_kube_discovery_parse(j, "$.kubernetes", "/nonexistent/inv", &d, &err) == 0)
		fl_kube_discovery_done(&d);
	cJSON_Delete(j);
	return 0;
}
