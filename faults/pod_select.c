/*
 * Pods -> processes -> network namespaces, from the cgroup hierarchy the
 * kubelet builds. Reads /proc only; the Kubernetes API is behind a lister the
 * agent registers, so this library does no network I/O.
 */
#include "faults/pod_select.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "faults/procfs.h"

#define POD_CGROUP_TEXT_MAX 16384
#define POD_CID_MAX	    129
#define POD_NOTE_MAX	    512 /* one restart note */
#define POD_NOTES_MAX	    64	/* notes per revert answer */

static fl_pod_lister_fn pod_lister;
static void *pod_lister_opaque;

void fl_pod_set_lister(fl_pod_lister_fn fn, void *opaque)
{
	pod_lister = fn;
	pod_lister_opaque = opaque;
}

int fl_pod_sel_pods(const struct fl_pod_sel *sel, struct fl_kube_pod_list *out,
		    struct fl_error *err)
{
	struct fl_kube_pod_list all = {0};
	int r;

	if (!pod_lister)
		return fl_error_set(err, -ENOTSUP, "$.target.pod",
				    "pod targets need the agent's Kubernetes client (run the agent "
				    "in a cluster, or give it KUBECONFIG and NODE_NAME)");
	r = pod_lister(pod_lister_opaque, sel->namespace, sel->labels, sel->name, &all, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < all.n; i++) {
		const struct fl_kube_pod *p = &all.v[i];

		if (sel->nuids) {
			bool picked = false;

			for (size_t k = 0; k < sel->nuids && !picked; k++)
				picked = !strcmp(p->uid, sel->uids[k]);
			if (!picked)
				continue;
		}
		/* Pods that are done have no processes to fault. */
		if (p->phase && (!strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed")))
			continue;
		r = fl_kube_pod_list_add(out, p);
		if (r < 0) {
			r = fl_error_set(err, r, NULL, "out of memory");
			goto out;
		}
	}
	if (out->n == 0)
		r = fl_error_set(err, -ESRCH, "$.target.pod",
				 "no running pod in namespace %s matches %s%s on this node",
				 sel->namespace, sel->name ? "name=" : "",
				 sel->name ? sel->name : sel->labels);
out:
	fl_kube_pod_list_done(&all);
	return r;
}

/* Container ID from the cgroup component below the pod's. */
static void container_of(const char *comp, size_t n, char *cid, size_t cidlen)
{
	static const char *const prefixes[] = {"cri-containerd-", "crio-", "docker-",
					       "cri-dockerd-", "containerd-"};
	size_t off = 0;

	cid[0] = '\0';
	if (n > 6 && !memcmp(comp + n - 6, ".scope", 6))
		n -= 6;
	if (n > 11 && !memcmp(comp, "crio-conmon-", 12))
		return; /* cri-o's monitor, not the container */
	for (size_t i = 0; i < FL_ARRAY_SIZE(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n > pl && !memcmp(comp, prefixes[i], pl)) {
			off = pl;
			break;
		}
	}
	if (n - off == 0 || n - off >= cidlen)
		return;
	memcpy(cid, comp + off, n - off);
	cid[n - off] = '\0';
}

/* Is this path component the cgroup of pod `uid` (given also as `uid_` with '_')? */
static bool is_pod_component(const char *comp, size_t n, const char *uid, const char *uid_)
{
	size_t ul = strlen(uid);

	/* cgroupfs: "pod<UID>" */
	if (n == ul + 3 && !memcmp(comp, "pod", 3) && !memcmp(comp + 3, uid, ul))
		return true;
	/* systemd: "kubepods[-<qos>]-pod<UID_>.slice" */
	if (n > ul + 10 && !memcmp(comp, "kubepods", 8) && !memcmp(comp + n - 6, ".slice", 6) &&
	    !memcmp(comp + n - 6 - ul, uid_, ul) && !memcmp(comp + n - 6 - ul - 4, "-pod", 4))
		return true;
	return false;
}

bool fl_pod_cgroup_match(const char *text, const char *uid, char *cid, size_t cidlen)
{
	char uid_[80];
	const char *line = text;
	size_t ul = strlen(uid);

	if (ul == 0 || ul >= sizeof(uid_))
		return false;
	for (size_t i = 0; i <= ul; i++)
		uid_[i] = uid[i] == '-' ? '_' : uid[i];
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		/* hierarchy-id:controllers:path; the path may contain ':' itself. */
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

		if (c2) {
			const char *comp = c2 + 1;

			while (comp < end) {
				const char *slash = memchr(comp, '/', (size_t)(end - comp));
				const char *cend = slash ? slash : end;
				size_t n = (size_t)(cend - comp);

				if (n && is_pod_component(comp, n, uid, uid_)) {
					const char *next = cend < end ? cend + 1 : end;
					const char *nend = memchr(next, '/', (size_t)(end - next));

					if (!nend)
						nend = end;
					if (cid)
						container_of(next, (size_t)(nend - next), cid,
							     cidlen);
					return true;
				}
				comp = cend + 1;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		ssize_t k = read(fd, buf + n, len - 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* Is container ID `cid` one the pod's status lists (under `container`'s name when given)? */
static bool container_wanted(const struct fl_kube_pod *p, const char *container, const char *cid)
{
	if (p->ncontainers == 0)
		return true; /* pinned by UID only: every process of the pod */
	for (size_t i = 0; i < p->ncontainers; i++) {
		const struct fl_kube_container *c = &p->containers[i];

		if (container && strcmp(c->name, container))
			continue;
		if (c->id && !strcmp(c->id, cid))
			return true;
	}
	return false;
}

/* Which pod of the list (index) a process belongs to, and its container ID; -1 if none. */
static int pod_of_pid(const struct fl_kube_pod_list *pods, int pid, char *cid, size_t cidlen)
{
	char path[64], text[POD_CGROUP_TEXT_MAX];

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	for (size_t i = 0; i < pods->n; i++)
		if (fl_pod_cgroup_match(text, pods->v[i].uid, cid, cidlen))
			return (int)i;
	return -1;
}

static int check_container(const struct fl_kube_pod_list *pods, const char *container,
			   struct fl_error *err)
{
	for (size_t i = 0; container && i < pods->n; i++) {
		const struct fl_kube_pod *p = &pods->v[i];
		bool found = false;

		if (p->ncontainers == 0)
			return fl_error_set(err, -EINVAL, "$.target.pod.container",
					    "pod %s: no container statuses to find \"%s\" in",
					    p->name ? p->name : p->uid, container);
		for (size_t k = 0; k < p->ncontainers; k++)
			found |= !strcmp(p->containers[k].name, container);
		if (!found)
			return fl_error_set(err, -ENOENT, "$.target.pod.container",
					    "pod %s/%s has no container named \"%s\"",
					    p->namespace ? p->namespace : "", p->name, container);
	}
	return 0;
}

int fl_pod_pids(const struct fl_kube_pod_list *pods, const char *container,
		struct fl_proc_ident **out, size_t *nout, struct fl_error *err)
{
	struct fl_proc_ident *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int r;

	*out = NULL;
	*nout = 0;
	r = check_container(pods, container, err);
	if (r < 0)
		return r;
	d = opendir("/proc");
	if (!d)
		return fl_error_set(err, -errno, NULL, "cannot read /proc: %m");
	while ((de = readdir(d))) {
		char *end, cid[POD_CID_MAX], state;
		long pid = strtol(de->d_name, &end, 10);
		unsigned long long start;
		int pi;

		if (*end || pid <= 0)
			continue;
		pi = pod_of_pid(pods, (int)pid, cid, sizeof(cid));
		if (pi < 0 || !container_wanted(&pods->v[pi], container, cid))
			continue;
		if (fl_proc_stat((int)pid, &start, &state) < 0 || state == 'Z' || state == 'X')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fl_proc_ident *nv;

			if (ncap > FL_PROC_CANDIDATES_MAX) {
				r = fl_error_set(err, -E2BIG, "$.target.pod",
						 "more than %d processes in the pods",
						 FL_PROC_CANDIDATES_MAX);
				goto out;
			}
			nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				r = fl_error_set(err, -ENOMEM, NULL, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n].pid = (int)pid;
		v[n].start = start;
		n++;
	}
	if (n == 0) {
		r = fl_error_set(err, -ESRCH, "$.target.pod",
				 "the pods' cgroups hold no process on this host (%zu pod(s) "
				 "listed; is the agent running with hostPID?)",
				 pods->n);
		goto out;
	}
	/* readdir order is PID order in practice, not by contract. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1].pid > v[j].pid; j--) {
			struct fl_proc_ident t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*out = v;
	*nout = n;
	v = NULL;
out:
	if (d)
		closedir(d);
	free(v);
	return r;
}

int fl_pod_netns(const struct fl_kube_pod *pod, char *path, size_t len,
		 struct fl_proc_ident *holder, struct fl_error *err)
{
	struct fl_kube_pod_list one = {.v = (struct fl_kube_pod *)pod, .n = 1, .cap = 1};
	struct fl_kube_pod bare = *pod;
	struct fl_proc_ident *v = NULL, best = {0};
	size_t n = 0;
	int r;

	/* Every process of the pod, sandbox included: it holds the namespace. */
	bare.ncontainers = 0;
	one.v = &bare;
	r = fl_pod_pids(&one, NULL, &v, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!best.pid || v[i].start < best.start)
			best = v[i];
	free(v);
	if ((size_t)snprintf(path, len, "/proc/%d/ns/net", best.pid) >= len)
		return fl_error_set(err, -ENAMETOOLONG, NULL, "path too long");
	if (access(path, F_OK) < 0)
		return fl_error_set(err, -ESRCH, "$.target.pod", "pod %s: %s: %m",
				    pod->name ? pod->name : pod->uid, path);
	if (holder)
		*holder = best;
	return 0;
}

cJSON *fl_pod_record(const struct fl_kube_pod_list *pods)
{
	cJSON *a = cJSON_CreateArray();

	if (!a)
		return NULL;
	for (size_t i = 0; i < pods->n; i++) {
		const struct fl_kube_pod *p = &pods->v[i];
		cJSON *o = cJSON_CreateObject(), *cs = cJSON_CreateObject();

		if (!o || !cs || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			cJSON_Delete(cs);
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToObject(o, "containers", cs);
		if (!cJSON_AddStringToObject(o, "uid", p->uid) ||
		    (p->namespace && !cJSON_AddStringToObject(o, "namespace", p->namespace)) ||
		    (p->name && !cJSON_AddStringToObject(o, "name", p->name))) {
			cJSON_Delete(a);
			return NULL;
		}
		for (size_t k = 0; k < p->ncontainers; k++)
			if (p->containers[k].id &&
			    !cJSON_AddStringToObject(cs, p->containers[k].name,
						     p->containers[k].id)) {
				cJSON_Delete(a);
				return NULL;
			}
	}
	return a;
}

/* Does any live process sit in container `cid` of pod `uid`? */
static bool container_alive(const char *uid, const char *cid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool alive = false;

	if (!d)
		return true; /* cannot tell: do not claim a restart */
	while (!alive && (de = readdir(d))) {
		char path[64], text[POD_CGROUP_TEXT_MAX], got[POD_CID_MAX], *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
		if (read_text(path, text, sizeof(text)) < 0)
			continue;
		alive = fl_pod_cgroup_match(text, uid, got, sizeof(got)) && !strcmp(got, cid);
	}
	closedir(d);
	return alive;
}

/* One recorded container with no process left: its note, NUL-terminated into out. */
static void restart_note(const cJSON *pod, const cJSON *c, char *out, size_t len)
{
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(pod, "uid");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(pod, "namespace");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(pod, "name");

	snprintf(out, len,
		 "pod %s/%s: container %s restarted or stopped since apply (was %.12s); "
		 "reverted by the recorded identity: the faulted processes are gone and "
		 "the new container was never faulted",
		 cJSON_IsString(ns) ? ns->valuestring : "",
		 cJSON_IsString(name) ? name->valuestring : uid->valuestring,
		 c->string ? c->string : "?", c->valuestring);
}

/* Calls fn for each recorded container with no process left; returns how many. */
static int each_restart(const cJSON *record, void (*fn)(const char *note, void *opaque),
			void *opaque)
{
	const cJSON *p;
	int count = 0;

	cJSON_ArrayForEach(p, record)
	{
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(p, "uid");
		const cJSON *c;

		if (!cJSON_IsString(uid))
			continue;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p, "containers"))
		{
			char text[POD_NOTE_MAX];

			if (!cJSON_IsString(c) || container_alive(uid->valuestring, c->valuestring))
				continue;
			count++;
			if (fn) {
				restart_note(p, c, text, sizeof(text));
				fn(text, opaque);
			}
		}
	}
	return count;
}

static void note_to_buf(const char *text, void *opaque)
{
	struct fl_buf *note = opaque;

	/* The note is capped (fl_buf); the count is what matters. */
	if (fl_buf_printf(note, "%s%s", note->len ? "; " : "", text) < 0)
		return;
}

int fl_pod_restarted(const cJSON *record, struct fl_buf *note)
{
	return each_restart(record, note ? note_to_buf : NULL, note);
}

static void note_to_array(const char *text, void *opaque)
{
	cJSON *notes = opaque;

	if (cJSON_GetArraySize(notes) < POD_NOTES_MAX)
		cJSON_AddItemToArray(notes, cJSON_CreateString(text));
}

cJSON *fl_pod_restart_notes(const cJSON *record)
{
	cJSON *notes = cJSON_CreateArray();

	if (notes && each_restart(record, note_to_array, notes) > 0 &&
	    cJSON_GetArraySize(notes) > 0)
		return notes;
	cJSON_Delete(notes);
	return NULL;
}

static int cmp_pod(const void *a, const void *b)
{
	const struct fl_kube_pod *x = a, *y = b;
	int c = strcmp(x->namespace ? x->namespace : "", y->namespace ? y->namespace : "");

	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

int fl_pod_pick(struct fl_kube_pod_list *pods, const struct fl_pick *pick, uint64_t seed)
{
	size_t k, n = pods->n;

	/* Sorted first, so a recorded seed replays to the same pods. */
	if (n > 1)
		qsort(pods->v, n, sizeof(pods->v[0]), cmp_pod);
	if (pick->mode == FL_PICK_ALL || n == 0)
		return 0;
	if (pick->mode >= FL_PICK__MAX)
		return -EINVAL;
	k = fl_pick_shuffle(pods->v, n, sizeof(pods->v[0]), fl_pick_k(pick, n), seed);
	/* Free the pods not picked. */
	for (size_t i = k; i < n; i++) {
		struct fl_kube_pod *p = &pods->v[i];

		free(p->namespace);
		free(p->name);
		free(p->uid);
		free(p->node);
		free(p->ip);
		free(p->phase);
		for (size_t c = 0; c < p->ncontainers; c++) {
			free(p->containers[c].name);
			free(p->containers[c].id);
		}
		free(p->containers);
	}
	pods->n = k;
	qsort(pods->v, k, sizeof(pods->v[0]), cmp_pod);
	return 0;
}

/*
 * Keep in the record only the container instances this fault hit: the named
 * container (when one is), and only those with a process now. A container that
 * was already gone at plan time was not faulted, so its absence at revert says
 * nothing about a restart during the fault.
 */
static void record_keep_hit(cJSON *record, const char *container)
{
	cJSON *p;

	cJSON_ArrayForEach(p, record)
	{
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(p, "uid");
		cJSON *cs = cJSON_GetObjectItemCaseSensitive(p, "containers");

		for (cJSON *c = cs ? cs->child : NULL, *next; c; c = next) {
			next = c->next;
			if ((container && strcmp(c->string, container)) || !cJSON_IsString(uid) ||
			    !cJSON_IsString(c) ||
			    !container_alive(uid->valuestring, c->valuestring))
				cJSON_Delete(cJSON_DetachItemViaPointer(cs, c));
		}
	}
}

int fl_pod_sel_resolve(const struct fl_pod_sel *sel, const struct fl_pick *pick, uint64_t seed,
		       struct fl_proc_ident **out, size_t *n, struct fl_error *err)
{
	struct fl_kube_pod_list pods = {0};
	int r;

	*out = NULL;
	*n = 0;
	r = fl_pod_sel_pods(sel, &pods, err);
	if (r < 0)
		goto out;
	r = fl_pod_pick(&pods, pick, seed);
	if (r < 0) {
		r = fl_error_set(err, r, "$.target", "bad pick");
		goto out;
	}
	r = fl_pod_pids(&pods, sel->container, out, n, err);
	if (r == 0) {
		/* What the journal keeps: which pods and container instances were hit. */
		cJSON_Delete(((struct fl_pod_sel *)sel)->record);
		((struct fl_pod_sel *)sel)->record = fl_pod_record(&pods);
		record_keep_hit(sel->record, sel->container);
	}
out:
	fl_kube_pod_list_done(&pods);
	return r;
}

/* Parse a network fault's pod selection and list its pods on this node. */
static int net_pods(const cJSON *pod, const char *path, struct fl_pod_sel *sel,
		    struct fl_kube_pod_list *pods, struct fl_error *err)
{
	int r = fl_pod_sel_parse_net(pod, path, sel, err);

	return r < 0 ? r : fl_pod_sel_pods(sel, pods, err);
}

int fl_pod_target_netns_all(const cJSON *pod, const char *path, struct fl_pod_netns_ent **out,
			    size_t *n, struct fl_error *err)
{
	struct fl_pod_sel sel = {0};
	struct fl_kube_pod_list pods = {0};
	struct fl_pod_netns_ent *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	r = net_pods(pod, path, &sel, &pods, err);
	if (r < 0)
		goto out;
	if (pods.n > FL_POD_NETNS_MAX) {
		r = fl_error_set(err, -E2BIG, path,
				 "%zu pods match on this node; a network fault takes at most %d: "
				 "narrow the selector, or let the controller pick with \"count\"",
				 pods.n, FL_POD_NETNS_MAX);
		goto out;
	}
	v = calloc(pods.n ? pods.n : 1, sizeof(*v));
	if (!v) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	qsort(pods.v, pods.n, sizeof(pods.v[0]), cmp_pod);
	for (size_t i = 0; i < pods.n; i++) {
		const struct fl_kube_pod *p = &pods.v[i];

		snprintf(v[i].pod, sizeof(v[i].pod), "%s/%s", p->namespace ? p->namespace : "",
			 p->name ? p->name : (p->uid ? p->uid : ""));
		snprintf(v[i].uid, sizeof(v[i].uid), "%s", p->uid ? p->uid : "");
		r = fl_pod_netns(p, v[i].netns, sizeof(v[i].netns), NULL, err);
		if (r < 0) {
			char m[sizeof(err->msg)];

			snprintf(m, sizeof(m), "%s", err->msg);
			fl_error_set(err, r, err->path[0] ? err->path : path, "pod %s: %s",
				     v[i].pod, m);
			goto out;
		}
	}
	*out = v;
	*n = pods.n;
	v = NULL;
	r = 0;
out:
	free(v);
	fl_kube_pod_list_done(&pods);
	fl_pod_sel_done(&sel);
	return r;
}
