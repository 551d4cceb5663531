/* A {"pod": {...}} selection inside a target: its grammar and typed form. */
#ifndef FL_FAULTS_SPEC_POD_SEL_H
#define FL_FAULTS_SPEC_POD_SEL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"

#define FL_POD_UIDS_MAX 4096

/* What a {"pod": {...}} object asks for. */
struct fl_pod_sel {
	char *namespace;
	char *name;	 /* one pod by name, or NULL */
	char *labels;	 /* label selector "app=cart,tier=web", or NULL */
	char *container; /* one container by name, or NULL: all of the pod's containers */
	cJSON *record;	 /* fl_pod_record of the last resolve, for the undo record */
	char **uids;	 /* only these pods (the controller's pick across nodes), or NULL */
	size_t nuids;
};

/*
 * Grammar (inside a target; `path` is the JSON path of the object):
 *   pod := { "namespace": dns-label, ("name": pod-name | "labels": {key: value, ...}),
 *            ["container": name], ["uids": [uuid, ...]] }
 * "uids" is what the controller adds after picking pods across all nodes by
 * count/percent (controller/kube_discovery.c): each agent keeps its own.
 */
int fl_pod_sel_parse(const cJSON *pod, const char *path, struct fl_pod_sel *sel,
		     struct fl_error *err) FL_WUR;
/* Free what the selection holds; NULL is fine. */
void fl_pod_sel_done(struct fl_pod_sel *sel);
/* The same for a network fault: a "container" is refused (a pod's containers share a netns). */
int fl_pod_sel_parse_net(const cJSON *pod, const char *path, struct fl_pod_sel *sel,
			 struct fl_error *err) FL_WUR;
/* "pod=shop/app=cart container=web". */
int fl_pod_sel_describe(const struct fl_pod_sel *sel, struct fl_buf *out) FL_WUR;

#endif
