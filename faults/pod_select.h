/*
 * Pods as fault targets: {"pod": {...}} in a target names pods; the agent's
 * Kubernetes client (registered with fl_pod_set_lister) says which of them run
 * on this node, and the cgroup hierarchy says which processes are theirs.
 *
 * kubelet puts every container in a cgroup below its pod's cgroup, named after
 * the pod UID:
 *   systemd driver:  .../kubepods.slice/kubepods-burstable.slice/
 *                    kubepods-burstable-pod<UID, '-' as '_'>.slice/cri-containerd-<ID>.scope
 *   cgroupfs driver: .../kubepods/burstable/pod<UID>/<ID>
 * (guaranteed pods sit directly under kubepods; cri-o uses crio-<ID>, docker
 * docker-<ID>). /proc/PID/cgroup shows that path for cgroup v2 ("0::") and for
 * each v1 hierarchy, relative to the reader's cgroup namespace ("/../../" in
 * a container), so matching is by path component, never by prefix.
 */
#ifndef FL_FAULTS_POD_SELECT_H
#define FL_FAULTS_POD_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/error.h"
#include "core/kube.h"
#include "core/rng.h"
#include "faults/spec/pod_sel.h"

struct fl_proc_ident;

/*
 * The source of pods scheduled on this node: list pods of namespace `ns`
 * matching `labels` (a selector) or `name`, on this node only. The agent
 * registers its Kubernetes client at start (agent/kube_client.c).
 */
typedef int (*fl_pod_lister_fn)(void *opaque, const char *ns, const char *labels, const char *name,
				struct fl_kube_pod_list *out, struct fl_error *err);
/* Register (or clear with NULL) the lister. Not thread-safe: call before serving. */
void fl_pod_set_lister(fl_pod_lister_fn fn, void *opaque);

/* The pods on this node that the selection names; -ESRCH when none, -ENOTSUP without a lister. */
int fl_pod_sel_pods(const struct fl_pod_sel *sel, struct fl_kube_pod_list *out,
		    struct fl_error *err) FL_WUR;

/*
 * The processes of the pods the selection names on this node, sorted by PID:
 * with a pick (core/rng.h) of count or percent, that many *pods* are chosen
 * first, sorted by namespace/name and sampled with a fl_rng seeded by `seed`,
 * as Chaos Mesh's fixed / fixed-percent modes do.
 */
int fl_pod_sel_resolve(const struct fl_pod_sel *sel, const struct fl_pick *pick, uint64_t seed,
		       struct fl_proc_ident **out, size_t *n, struct fl_error *err) FL_WUR;
/* Sort the pods by namespace/name, pick some (fl_pick_shuffle); the list keeps only those. */
int fl_pod_pick(struct fl_kube_pod_list *pods, const struct fl_pick *pick, uint64_t seed) FL_WUR;

/*
 * Which pod (by UID) and container a /proc/PID/cgroup text puts a process in.
 * Returns true when a path component names pod `uid`; *cid gets the container
 * ID of the component below it ("" when the process sits in the pod cgroup itself).
 */
bool fl_pod_cgroup_match(const char *cgroup_text, const char *uid, char *cid, size_t cidlen);

/*
 * The processes of these pods on this host, sorted by PID. With `container`,
 * only that container's; otherwise all containers the pod status lists (the
 * sandbox/pause process is not one of them). A pod without container statuses
 * (pinned by UID only) yields every process of the pod. Caller frees *out.
 */
int fl_pod_pids(const struct fl_kube_pod_list *pods, const char *container,
		struct fl_proc_ident **out, size_t *n, struct fl_error *err) FL_WUR;

/*
 * The network namespace of a pod: /proc/PID/ns/net of its oldest process
 * (the sandbox, which holds the namespace for the pod's whole life).
 */
int fl_pod_netns(const struct fl_kube_pod *pod, char *path, size_t len,
		 struct fl_proc_ident *holder, struct fl_error *err) FL_WUR;

/* At most this many pods per node for one network fault (fl_pod_target_netns_all). */
#define FL_POD_NETNS_MAX 64

struct fl_pod_netns_ent {
	char pod[320];	/* "namespace/name" */
	char uid[64];	/* metadata.uid */
	char netns[64]; /* /proc/PID/ns/net of its sandbox */
};

/*
 * Every pod a network fault's {"pod": {...}} names on this node (at most
 * FL_POD_NETNS_MAX, else -E2BIG), sorted by namespace/name, each with its
 * sandbox's netns path: -ENOTSUP without a lister, -ESRCH when none runs
 * here; a pod whose namespace cannot be found is named in the message.
 * Caller frees *out.
 */
int fl_pod_target_netns_all(const cJSON *pod, const char *path, struct fl_pod_netns_ent **out,
			    size_t *n, struct fl_error *err) FL_WUR;

/*
 * For undo records: the pods a fault hit, with their container IDs at plan
 * time ({"uid","namespace","name","containers":{name: id}}), so a revert after
 * a restart can say that the container changed (fl_pod_restarted).
 */
cJSON *fl_pod_record(const struct fl_kube_pod_list *pods);
/*
 * Compare a record with what runs now (on this host, by cgroups): writes
 * "pod shop/cart-1: container web restarted or stopped since apply (was
 * 0123abcd5678); reverted by the recorded identity: ..." when a
 * recorded container has no process left; returns the number of such.
 */
int fl_pod_restarted(const cJSON *record, struct fl_buf *note);
/*
 * The same, one string per restarted container (at most 64), for the agent's
 * revert answer; NULL when no recorded container changed (or out of memory).
 */
cJSON *fl_pod_restart_notes(const cJSON *record);

#endif
