/*
 * A {"pod": {...}} selection inside a target: its grammar, checked offline.
 * Which pods it names on a node, and their processes, is fl_proc's
 * (faults/pod_select.c).
 */
#include "faults/spec/pod_sel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kube.h"

void fl_pod_sel_done(struct fl_pod_sel *sel)
{
	if (!sel)
		return;
	free(sel->namespace);
	free(sel->name);
	free(sel->labels);
	free(sel->container);
	for (size_t i = 0; i < sel->nuids; i++)
		free(sel->uids[i]);
	free(sel->uids);
	cJSON_Delete(sel->record);
	memset(sel, 0, sizeof(*sel));
}

static bool uid_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 8 && n <= 64 && strspn(s, "0123456789abcdef-") == n;
}

static int parse_uids(const cJSON *a, const char *p, struct fl_pod_sel *sel, struct fl_error *err)
{
	const cJSON *u;
	int n = cJSON_GetArraySize(a);

	if (!cJSON_IsArray(a) || n < 1 || n > FL_POD_UIDS_MAX)
		return fl_error_set(err, -EINVAL, p, "expected a list of 1 to %d pod UIDs",
				    FL_POD_UIDS_MAX);
	sel->uids = calloc((size_t)n, sizeof(*sel->uids));
	if (!sel->uids)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	cJSON_ArrayForEach(u, a)
	{
		if (!cJSON_IsString(u) || !uid_ok(u->valuestring))
			return fl_error_set(err, -EINVAL, p,
					    "expected pod UIDs (lower-case UUIDs)");
		sel->uids[sel->nuids] = strdup(u->valuestring);
		if (!sel->uids[sel->nuids++])
			return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	return 0;
}

int fl_pod_sel_parse(const cJSON *pod, const char *path, struct fl_pod_sel *sel,
		     struct fl_error *err)
{
	char p[160];
	const cJSON *c;
	struct fl_buf lb;
	int r = 0;

	memset(sel, 0, sizeof(*sel));
	fl_buf_init(&lb, 4096);
	if (!cJSON_IsObject(pod))
		return fl_error_set(err, -EINVAL, path,
				    "expected {\"namespace\": ..., \"labels\": {...}} or "
				    "{\"namespace\": ..., \"name\": ...}");
	cJSON_ArrayForEach(c, pod)
	{
		snprintf(p, sizeof(p), "%s.%.64s", path, c->string);
		if (!strcmp(c->string, "labels")) {
			r = fl_kube_labels_selector(c, p, &lb, err);
			if (r < 0)
				goto out;
			sel->labels = fl_buf_steal(&lb);
			continue;
		}
		if (!strcmp(c->string, "uids")) {
			r = parse_uids(c, p, sel, err);
			if (r < 0)
				goto out;
			continue;
		}
		if (strcmp(c->string, "namespace") && strcmp(c->string, "name") &&
		    strcmp(c->string, "container")) {
			r = fl_error_set(err, -EINVAL, p, "unknown field");
			goto out;
		}
		if (!cJSON_IsString(c)) {
			r = fl_error_set(err, -EINVAL, p, "expected a string");
			goto out;
		}
		if ((!strcmp(c->string, "namespace") || !strcmp(c->string, "container")) &&
		    !fl_kube_name_ok(c->valuestring, false)) {
			r = fl_error_set(err, -EINVAL, p,
					 "expected a DNS label (lower case letters, digits, '-', "
					 "at most 63)");
			goto out;
		}
		if (!strcmp(c->string, "name") && !fl_kube_name_ok(c->valuestring, true)) {
			r = fl_error_set(err, -EINVAL, p, "expected a pod name (DNS subdomain)");
			goto out;
		}
		{
			char **dst = !strcmp(c->string, "namespace") ? &sel->namespace
				     : !strcmp(c->string, "name")    ? &sel->name
								     : &sel->container;

			*dst = strdup(c->valuestring);
			if (!*dst) {
				r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
				goto out;
			}
		}
	}
	if (!sel->namespace) {
		snprintf(p, sizeof(p), "%s.namespace", path);
		r = fl_error_set(err, -EINVAL, p, "missing: the pods' namespace");
		goto out;
	}
	if (!!sel->name + !!sel->labels != 1) {
		r = fl_error_set(err, -EINVAL, path, "give exactly one of \"name\" and \"labels\"");
		goto out;
	}
out:
	fl_buf_done(&lb);
	if (r < 0)
		fl_pod_sel_done(sel);
	return r;
}

int fl_pod_sel_describe(const struct fl_pod_sel *sel, struct fl_buf *out)
{
	int r =
	    fl_buf_printf(out, "pod=%s/%s", sel->namespace, sel->name ? sel->name : sel->labels);

	if (r == 0 && sel->container)
		r = fl_buf_printf(out, " container=%s", sel->container);
	if (r == 0 && sel->nuids)
		r = fl_buf_printf(out, " pods=%zu", sel->nuids);
	return r;
}

int fl_pod_sel_parse_net(const cJSON *pod, const char *path, struct fl_pod_sel *sel,
			 struct fl_error *err)
{
	int r = fl_pod_sel_parse(pod, path, sel, err);

	if (r < 0 || !sel->container)
		return r;
	fl_pod_sel_done(sel);
	return fl_error_set(err, -EINVAL, path,
			    "a pod's containers share its network namespace: no \"container\" "
			    "for a network fault");
}
