/*
 * One seeded "pick k of n" (core/rng.c) behind every selection, so a recorded
 * seed replays to the same targets whichever path picks them: the processes
 * of a kill (fl_proc_sel_resolve), the pods of a pod target on a node
 * (fl_pod_pick) and across the cluster (fl_kube_discovery_pick), and the
 * agents of Chaos Monkey mode (the fault session's dry run). Each path picks
 * from 10 sorted candidates with the same count and seed; the picked indexes
 * must be the same everywhere.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/provider_fault.h"
#include "controller/kube_discovery.h"
#include "core/rng.h"
#include "faults/pod_select.h"
#include "faults/proc_select.h"

#define N     10
#define SEED  20261127ULL
#define COUNT 3

/* The indexes fl_pick_shuffle chooses from 0..N-1, as a bit mask. */
static unsigned core_pick(const struct fl_pick *p)
{
	int v[N];
	unsigned mask = 0;
	size_t k;

	for (int i = 0; i < N; i++)
		v[i] = i;
	k = fl_pick_shuffle(v, N, sizeof(v[0]), fl_pick_k(p, N), SEED);
	for (size_t i = 0; i < k; i++)
		mask |= 1u << v[i];
	return mask;
}

START_TEST(pick_k_rounds_and_clamps)
{
	struct fl_pick p = {.mode = FL_PICK_PERCENT, .percent = 25};

	ck_assert_uint_eq(fl_pick_k(&p, 10), 3); /* ceil(2.5) */
	ck_assert_uint_eq(fl_pick_k(&p, 1), 1);
	ck_assert_uint_eq(fl_pick_k(&p, 0), 0);
	p.percent = 0.001;
	ck_assert_uint_eq(fl_pick_k(&p, 10), 1); /* at least one */
	p = (struct fl_pick){.mode = FL_PICK_COUNT, .count = 40};
	ck_assert_uint_eq(fl_pick_k(&p, 10), 10);
	p = (struct fl_pick){.mode = FL_PICK_ALL};
	ck_assert_uint_eq(fl_pick_k(&p, 7), 7);
	/* The same seed, the same pick; another seed, (here) another. */
	p = (struct fl_pick){.mode = FL_PICK_COUNT, .count = COUNT};
	ck_assert_uint_eq(core_pick(&p), core_pick(&p));
	ck_assert_uint_eq(__builtin_popcount(core_pick(&p)), COUNT);
}
END_TEST

START_TEST(pick_parse_one_grammar)
{
	static const struct {
		const char *json;
		unsigned flags;
		int r;
		const char *path;
	} cases[] = {
	    {"{\"count\": 2, \"seed\": \"18446744073709551615\"}", 0, 0, NULL},
	    {"{\"percent\": 12.5, \"seed\": 7}", 0, 0, NULL},
	    {"{\"all\": true}", 0, 0, NULL},
	    {"{}", 0, 0, NULL},
	    {"{\"count\": 0}", 0, -EINVAL, "$.t.count"},
	    {"{\"count\": 1.5}", 0, -EINVAL, "$.t.count"},
	    {"{\"count\": 65537}", 0, -EINVAL, "$.t.count"},
	    {"{\"percent\": 0}", 0, -EINVAL, "$.t.percent"},
	    {"{\"percent\": 101}", 0, -EINVAL, "$.t.percent"},
	    {"{\"all\": false}", 0, -EINVAL, "$.t.all"},
	    {"{\"count\": 1, \"percent\": 5}", 0, -EINVAL, "$.t.percent"},
	    {"{\"seed\": -1}", 0, -EINVAL, "$.t.seed"},
	    {"{\"seed\": 2.5}", 0, -EINVAL, "$.t.seed"},
	    {"{\"seed\": \"\"}", 0, -EINVAL, "$.t.seed"},
	    {"{\"count\": 1, \"seed\": \"\"}", FL_PICK_REQUIRED | FL_PICK_EMPTY_SEED, 0, NULL},
	    {"{\"count\": 1, \"seed\": null}", FL_PICK_REQUIRED | FL_PICK_EMPTY_SEED, 0, NULL},
	    {"{\"seed\": 1}", FL_PICK_REQUIRED, -EINVAL, "$.t"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].json);
		struct fl_pick p;
		struct fl_error e;
		int r;

		fl_error_init(&e);
		r = fl_pick_parse(j, "$.t", cases[i].flags, &p, &e);
		ck_assert_msg(r == cases[i].r, "case %zu: %d (%s)", i, r, e.msg);
		if (cases[i].path)
			ck_assert_str_eq(e.path, cases[i].path);
		cJSON_Delete(j);
	}
}
END_TEST

static struct fl_kube_pod_list ten_pods(void)
{
	struct fl_kube_pod_list l = {0};

	/* Listed out of order: every path sorts by namespace/name first. */
	for (int i = N - 1; i >= 0; i--) {
		char name[16], uid[40];
		struct fl_kube_container c = {.name = (char *)"web", .id = (char *)"c0ffee"};
		struct fl_kube_pod p = {.namespace = (char *)"shop",
					.name = name,
					.uid = uid,
					.node = (char *)"node-a",
					.phase = (char *)"Running",
					.containers = &c,
					.ncontainers = 1};

		snprintf(name, sizeof(name), "cart-%d", i);
		snprintf(uid, sizeof(uid), "0000000%d-0000-0000-0000-000000000000", i);
		ck_assert_int_eq(fl_kube_pod_list_add(&l, &p), 0);
	}
	return l;
}

/* A pod name "cart-I" or "shop/cart-I@node" or a uid "0000000I-..." -> I. */
static int index_of(const char *s)
{
	const char *c = strstr(s, "cart-");

	return c ? c[5] - '0' : s[7] - '0';
}

START_TEST(pods_on_a_node)
{
	struct fl_kube_pod_list l = ten_pods();
	struct fl_pick p = {.mode = FL_PICK_COUNT, .count = COUNT};
	unsigned mask = 0;

	ck_assert_int_eq(fl_pod_pick(&l, &p, SEED), 0);
	for (size_t i = 0; i < l.n; i++)
		mask |= 1u << index_of(l.v[i].name);
	ck_assert_uint_eq(mask, core_pick(&p));
	fl_kube_pod_list_done(&l);
}
END_TEST

START_TEST(pods_across_the_cluster)
{
	struct fl_kube_pod_list l = ten_pods();
	struct fl_pick p = {.mode = FL_PICK_COUNT, .count = COUNT};
	cJSON *t =
	    cJSON_Parse("{\"pod\": {\"namespace\": \"shop\", \"labels\": {\"app\": \"cart\"}},"
			" \"count\": 3, \"seed\": \"20261127\"}");
	cJSON *res = cJSON_CreateObject();
	const cJSON *u;
	struct fl_error e;
	size_t picked = 0;
	unsigned mask = 0;

	fl_error_init(&e);
	ck_assert_int_eq(fl_kube_discovery_pick(t, &l, &picked, res, &e), 0);
	ck_assert_uint_eq(picked, COUNT);
	cJSON_ArrayForEach(u, cJSON_GetObjectItem(cJSON_GetObjectItem(t, "pod"), "uids")) mask |=
	    1u << index_of(u->valuestring);
	ck_assert_uint_eq(mask, core_pick(&p));
	ck_assert_str_eq(cJSON_GetObjectItem(res, "pod_seed")->valuestring, "20261127");
	cJSON_Delete(t);
	cJSON_Delete(res);
	fl_kube_pod_list_done(&l);
}
END_TEST

/* Ten children that sleep under one comm; their PIDs sorted. */
static void spawn_ten(const char *comm, pid_t *v)
{
	for (int i = 0; i < N; i++) {
		v[i] = fork();
		ck_assert_int_ge(v[i], 0);
		if (v[i] == 0) {
			for (int s = 1; s < NSIG; s++)
				signal(s, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			prctl(PR_SET_NAME, comm);
			for (;;)
				pause();
		}
	}
	for (int i = 0; i < N; i++)
		for (int w = 0; w < 1000; w++) {
			char path[64], buf[32] = "";
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/comm", (int)v[i]);
			f = fopen(path, "r");
			if (f && fgets(buf, sizeof(buf), f) && !strncmp(buf, comm, strlen(comm))) {
				fclose(f);
				break;
			}
			if (f)
				fclose(f);
			usleep(1000);
		}
	/* fork() hands out increasing PIDs here, but do not rely on it. */
	for (int i = 1; i < N; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			pid_t x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

START_TEST(processes_of_a_kill)
{
	struct fl_pick p = {.mode = FL_PICK_COUNT, .count = COUNT};
	struct fl_proc_ident *got = NULL;
	struct fl_proc_sel sel;
	struct fl_error e;
	char comm[16], json[128];
	pid_t kids[N];
	uint64_t seed = 0;
	size_t n = 0;
	unsigned mask = 0;
	cJSON *t;

	snprintf(comm, sizeof(comm), "flpick%d", (int)getpid() % 100000);
	spawn_ten(comm, kids);
	snprintf(json, sizeof(json), "{\"name\": \"%s\", \"count\": 3, \"seed\": 20261127}", comm);
	t = cJSON_Parse(json);
	fl_error_init(&e);
	ck_assert_int_eq(fl_proc_sel_parse(t, NULL, &sel, &e), 0);
	ck_assert_msg(fl_proc_sel_resolve(&sel, NULL, &seed, &got, &n, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(seed, SEED);
	ck_assert_uint_eq(n, COUNT);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < N; k++)
			if (kids[k] == got[i].pid)
				mask |= 1u << k;
	ck_assert_uint_eq(mask, core_pick(&p));
	free(got);
	fl_proc_sel_done(&sel);
	cJSON_Delete(t);
	for (int k = 0; k < N; k++) {
		kill(kids[k], SIGKILL);
		waitpid(kids[k], NULL, 0);
	}
}
END_TEST

/*
 * Chaos Monkey picks agents: an inventory of ten agents (unix sockets that do
 * not exist: nobody answers, the pick is made before anyone is asked) and the
 * fault session's dry run, which names the agents it would have asked.
 */
START_TEST(agents_of_chaos_monkey)
{
	struct fl_pick p = {.mode = FL_PICK_COUNT, .count = COUNT};
	struct fl_fault_session_opts o = {.experiment_id = "pick", .dry_run = true};
	char dir[] = "/tmp/fl-pick-XXXXXX", inv[128], tok[128];
	struct fl_fault_session *fs = NULL;
	struct fl_activity act = {0};
	struct fl_error e;
	const cJSON *ag;
	cJSON *res = NULL;
	unsigned mask = 0;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(tok, sizeof(tok), "%s/token", dir);
	snprintf(inv, sizeof(inv), "%s/agents.json", dir);
	f = fopen(tok, "w");
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	f = fopen(inv, "w");
	fprintf(f, "{\"token_file\": \"token\", \"agents\": [");
	for (int i = 0; i < N; i++)
		fprintf(f, "%s{\"name\": \"agent-%d\", \"address\": \"unix:%s/none-%d.sock\"}",
			i ? ", " : "", i, dir, i);
	fprintf(f, "]}\n");
	fclose(f);
	o.inventory_path = inv;
	act.json_path = (char *)"$.method[0]";
	act.provider.type = FL_PROVIDER_FAULT;
	act.provider.kind = (char *)"kill";
	act.provider.target_json =
	    (char *)"{\"name\": \"x\", \"monkey\": {\"count\": 3, \"seed\": \"20261127\"}}";
	act.provider.params_json = (char *)"{}";
	fl_error_init(&e);
	ck_assert_msg(fl_fault_session_new(NULL, &o, &fs, &e) == 0, "%s", e.msg);
	ck_assert_msg(fl_fault_session_describe(fs, &act, &res, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(cJSON_GetObjectItem(res, "monkey_seed")->valuestring, "20261127");
	cJSON_ArrayForEach(ag, cJSON_GetObjectItem(res, "agents")) mask |=
	    1u << (cJSON_GetObjectItem(ag, "agent")->valuestring[6] - '0');
	ck_assert_uint_eq(__builtin_popcount(mask), COUNT);
	ck_assert_uint_eq(mask, core_pick(&p));
	cJSON_Delete(res);
	fl_fault_session_free(fs);
	unlink(tok);
	unlink(inv);
	rmdir(dir);
}
END_TEST

Suite *fl_suite_pick(void)
{
	Suite *s = suite_create("pick");
	TCase *tc = tcase_create("pick");

	tcase_add_test(tc, pick_k_rounds_and_clamps);
	tcase_add_test(tc, pick_parse_one_grammar);
	tcase_add_test(tc, pods_on_a_node);
	tcase_add_test(tc, pods_across_the_cluster);
	tcase_add_test(tc, processes_of_a_kill);
	tcase_add_test(tc, agents_of_chaos_monkey);
	suite_add_tcase(s, tc);
	return s;
}
