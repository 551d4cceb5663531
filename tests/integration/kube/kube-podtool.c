/*
 * Test driver for faults/pod_select.c against real processes in real cgroups:
 *   kube-podtool pids UID [CONTAINER [NAME=ID ...]]   PIDs of the pod (one a line)
 *   kube-podtool netns UID                             netns path and its holder PID
 *   kube-podtool restarted UID NAME=ID ...             the restart note for a record
 *   kube-podtool journal FILE                          the same for the "pods" record
 *                                                      that an agent's journal file holds
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/pod_select.h"
#include "faults/proc_select.h"

/* The first "pods" array anywhere in a JSON tree. */
static const cJSON *find_pods(const cJSON *j)
{
	const cJSON *c;

	if (!j)
		return NULL;
	c = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "pods") : NULL;
	if (cJSON_IsArray(c))
		return c;
	for (c = j->child; c; c = c->next) {
		const cJSON *f = find_pods(c);

		if (f)
			return f;
	}
	return NULL;
}

static int journal(const char *file)
{
	char buf[65536];
	FILE *f = fopen(file, "r");
	size_t n;
	cJSON *j;
	const cJSON *pods;
	struct fl_buf note;
	int k;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	pods = find_pods(j);
	if (!pods) {
		cJSON_Delete(j);
		fprintf(stderr, "error: no \"pods\" record in %s\n", file);
		return -ENOENT;
	}
	fl_buf_init(&note, 4096);
	k = fl_pod_restarted(pods, &note);
	printf("%d %s\n", k, note.data ? note.data : "");
	fl_buf_done(&note);
	cJSON_Delete(j);
	return 0;
}

static int fill(struct fl_kube_pod *p, char **kv, int n)
{
	p->containers = calloc((size_t)n + 1, sizeof(*p->containers));
	if (!p->containers)
		return -1;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');

		if (!eq)
			return -1;
		*eq = '\0';
		p->containers[i].name = kv[i];
		p->containers[i].id = eq + 1;
	}
	p->ncontainers = (size_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct fl_kube_pod pod = {0};
	struct fl_kube_pod_list list = {.v = &pod, .n = 1, .cap = 1};
	struct fl_error err;
	int rc = 1;

	fl_error_init(&err);
	if (argc < 3)
		goto usage;
	if (!strcmp(argv[1], "journal"))
		return journal(argv[2]) < 0 ? 3 : 0;
	pod.uid = argv[2];
	pod.name = "test-pod";
	pod.namespace = "test";
	if (!strcmp(argv[1], "pids")) {
		struct fl_proc_ident *v = NULL;
		size_t n = 0;
		const char *container = argc > 3 ? argv[3] : NULL;

		if (argc > 4 && fill(&pod, argv + 4, argc - 4) < 0)
			goto usage;
		if (fl_pod_pids(&list, container, &v, &n, &err) < 0) {
			fprintf(stderr, "error: %s\n", err.msg);
			rc = 3;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			printf("%d\n", v[i].pid);
		free(v);
		rc = 0;
	} else if (!strcmp(argv[1], "netns")) {
		char path[64];
		struct fl_proc_ident h;

		if (fl_pod_netns(&pod, path, sizeof(path), &h, &err) < 0) {
			fprintf(stderr, "error: %s\n", err.msg);
			rc = 3;
			goto out;
		}
		printf("%s %d\n", path, h.pid);
		rc = 0;
	} else if (!strcmp(argv[1], "restarted")) {
		struct fl_buf note;
		cJSON *rec;
		int k;

		if (fill(&pod, argv + 3, argc - 3) < 0)
			goto usage;
		rec = fl_pod_record(&list);
		fl_buf_init(&note, 4096);
		k = fl_pod_restarted(rec, &note);
		printf("%d %s\n", k, note.data ? note.data : "");
		fl_buf_done(&note);
		cJSON_Delete(rec);
		rc = 0;
	} else {
		goto usage;
	}
out:
	free(pod.containers);
	return rc;
usage:
	fprintf(stderr, "usage: kube-podtool pids|netns|restarted UID [...]\n");
	free(pod.containers);
	return 2;
}
