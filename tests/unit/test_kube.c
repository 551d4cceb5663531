/*
 * core/kube.c (kubeconfig, PodList, Status, selectors) and the pure parts of
 * faults/pod_select.c (cgroup path matching for every kubelet layout, pod
 * picks with a seed, the pod selector grammar). Real cgroups and a real API
 * server: tests/integration/kube.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/kube_discovery.h"
#include "core/kube.h"
#include "core/rng.h"
#include "faults/fault.h"
#include "faults/pod_select.h"
#include "faults/proc_select.h"

static const char kubeconfig[] = "apiVersion: v1\n"
				 "kind: Config\n"
				 "current-context: prod\n"
				 "preferences: {}\n"
				 "clusters:\n"
				 "- name: staging\n"
				 "  cluster:\n"
				 "    server: https://staging.example.com:6443\n"
				 "    insecure-skip-tls-verify: true\n"
				 "- name: prod\n"
				 "  cluster:\n"
				 "    server: https://10.0.0.1:6443\n"
				 "    certificate-authority-data: "
				 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmFiYwo=\n"
				 "contexts:\n"
				 "- name: prod\n"
				 "  context:\n"
				 "    cluster: prod\n"
				 "    user: admin\n"
				 "    namespace: shop\n"
				 "- name: stage\n"
				 "  context: {cluster: staging, user: ci}\n"
				 "users:\n"
				 "- name: admin\n"
				 "  user:\n"
				 "    client-certificate: certs/admin.crt\n"
				 "    client-key: /etc/keys/admin.key\n"
				 "- name: ci\n"
				 "  user:\n"
				 "    token: \"abc.def\"\n";

START_TEST(kubeconfig_current_context)
{
	struct fl_kube_config c;
	struct fl_error e;

	fl_error_init(&e);
	ck_assert_int_eq(
	    fl_kube_config_parse(kubeconfig, strlen(kubeconfig), "/home/u/.kube", NULL, &c, &e), 0);
	ck_assert_str_eq(c.server, "https://10.0.0.1:6443");
	ck_assert_str_eq(c.ca_data, "-----BEGIN CERTIFICATE-----\nabc\n");
	ck_assert_ptr_null(c.ca_file);
	ck_assert_str_eq(c.cert_file, "/home/u/.kube/certs/admin.crt"); /* relative to the file */
	ck_assert_str_eq(c.key_file, "/etc/keys/admin.key");
	ck_assert_str_eq(c.namespace, "shop");
	ck_assert_str_eq(c.context, "prod");
	ck_assert_ptr_null(c.token);
	ck_assert(!c.insecure);
	fl_kube_config_done(&c);

	ck_assert_int_eq(
	    fl_kube_config_parse(kubeconfig, strlen(kubeconfig), NULL, "stage", &c, &e), 0);
	ck_assert_str_eq(c.server, "https://staging.example.com:6443");
	ck_assert_str_eq(c.token, "abc.def");
	ck_assert(c.insecure);
	ck_assert_ptr_null(c.namespace);
	fl_kube_config_done(&c);
	fl_kube_config_done(NULL);
}
END_TEST

START_TEST(kubeconfig_json)
{
	/* kubectl config view -o json: JSON is YAML too. */
	static const char j[] =
	    "{\"current-context\":\"k\",\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":"
	    "\"https://h:443\",\"certificate-authority\":\"ca.pem\"}}],\"contexts\":[{\"name\":"
	    "\"k\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],\"users\":[{\"name\":\"u\","
	    "\"user\":{\"tokenFile\":\"/var/run/t\"}}]}";
	struct fl_kube_config c;
	struct fl_error e;

	ck_assert_int_eq(fl_kube_config_parse(j, strlen(j), "/cfg", NULL, &c, &e), 0);
	ck_assert_str_eq(c.ca_file, "/cfg/ca.pem");
	ck_assert_str_eq(c.token_file, "/var/run/t");
	fl_kube_config_done(&c);
}
END_TEST

START_TEST(kubeconfig_refusals)
{
	static const struct {
		const char *text;
		int code;
		const char *msg; /* a part of the message */
	} cases[] = {
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h}\nusers:\n- name: u\n  user:\n"
	     "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
	     "      command: aws\n",
	     -ENOTSUP, "credential plugins are not supported"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h}\nusers:\n- name: u\n  user:\n"
	     "    auth-provider: {name: gcp}\n",
	     -ENOTSUP, "auth-provider"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h}\nusers:\n- name: u\n  user:\n"
	     "    username: admin\n    password: x\n",
	     -ENOTSUP, "not supported"},
	    {"current-context: missing\ncontexts: []\nclusters: []\nusers: []\n", -ENOENT,
	     "\"missing\" is not defined"},
	    {"contexts: []\n", -EINVAL, "no current-context"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
	     "clusters:\n- name: c\n  cluster: {server: ftp://h}\n",
	     -EINVAL, "https:// URL"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h, certificate-authority: /a, "
	     "certificate-authority-data: YQ==}\n",
	     -EINVAL, "not both"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h}\nusers:\n- name: u\n  user:\n"
	     "    client-certificate: /c.pem\n",
	     -EINVAL, "needs its key"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: {cluster: c}\n"
	     "clusters:\n- name: c\n  cluster: {server: https://h, certificate-authority-data: "
	     "\"@@@\"}\n",
	     -EINVAL, "base64"},
	    {"a: &x [1]\nb: *x\n", -EINVAL, "aliases"},
	    {"a: [1\n", -EINVAL, "YAML error"},
	    {"- 1\n- 2\n", -EINVAL, "mapping at the top"},
	    {"a: 1\na: 2\n", -EINVAL, "duplicate key"},
	    {"", -EINVAL, "mapping at the top"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_kube_config c;
		struct fl_error e;

		fl_error_init(&e);
		ck_assert_int_eq(
		    fl_kube_config_parse(cases[i].text, strlen(cases[i].text), NULL, NULL, &c, &e),
		    cases[i].code);
		ck_assert_msg(strstr(e.msg, cases[i].msg), "case %zu: \"%s\" lacks \"%s\"", i,
			      e.msg, cases[i].msg);
		ck_assert_ptr_null(c.server); /* nothing half-filled */
	}
}
END_TEST

START_TEST(kubeconfig_deep_nesting)
{
	char buf[4096];
	size_t n = 0;
	struct fl_kube_config c;
	struct fl_error e;

	for (int i = 0; i < 200; i++)
		buf[n++] = '[';
	buf[n] = '\0';
	ck_assert_int_eq(fl_kube_config_parse(buf, n, NULL, NULL, &c, &e), -E2BIG);
}
END_TEST

START_TEST(incluster_config)
{
	struct fl_kube_config c;
	struct fl_error e;

	ck_assert_int_eq(fl_kube_config_incluster("10.96.0.1", "443", NULL, &c, &e), 0);
	ck_assert_str_eq(c.server, "https://10.96.0.1:443");
	ck_assert_str_eq(c.ca_file, FL_KUBE_SA_DIR "/ca.crt");
	ck_assert_str_eq(c.token_file, FL_KUBE_SA_DIR "/token");
	fl_kube_config_done(&c);
	ck_assert_int_eq(fl_kube_config_incluster("fd00::1", "443", "/sa", &c, &e), 0);
	ck_assert_str_eq(c.server, "https://[fd00::1]:443");
	ck_assert_str_eq(c.token_file, "/sa/token");
	fl_kube_config_done(&c);
	ck_assert_int_eq(fl_kube_config_incluster(NULL, "443", NULL, &c, &e), -ENOENT);
	ck_assert_int_eq(fl_kube_config_incluster("h/x", "443", NULL, &c, &e), -EINVAL);
	ck_assert_int_eq(fl_kube_config_incluster("h", "44a", NULL, &c, &e), -EINVAL);
}
END_TEST

static const char podlist[] =
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\","
    "\"continue\":\"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ\",\"remainingItemCount\":3},\"items\":["
    "{\"metadata\":{\"name\":\"cart-1\",\"namespace\":\"shop\",\"uid\":"
    "\"0d2c8f3e-5b1a-4c6e-9f7d-2a1b3c4d5e6f\",\"labels\":{\"app\":\"cart\"}},"
    "\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"web\"}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.23\","
    "\"initContainerStatuses\":[{\"name\":\"init\",\"containerID\":\"cri-o://abc123\"}],"
    "\"containerStatuses\":[{\"name\":\"web\",\"containerID\":\"containerd://"
    "4444444444444444444444444444444444444444444444444444444444444444\"},"
    "{\"name\":\"late\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}},"
    "{\"metadata\":{\"name\":\"pending\",\"namespace\":\"shop\",\"uid\":"
    "\"1d2c8f3e-5b1a-4c6e-9f7d-2a1b3c4d5e6f\"},\"spec\":{},\"status\":{\"phase\":"
    "\"Pending\"}}]}";

START_TEST(pod_list_page)
{
	struct fl_kube_pod_list l = {0};
	struct fl_error e;
	char *cont = NULL;
	const struct fl_kube_pod *p;

	ck_assert_int_eq(fl_kube_pod_list_parse(podlist, strlen(podlist), &l, &cont, &e), 0);
	ck_assert_str_eq(cont, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
	ck_assert_uint_eq(l.n, 2);
	p = &l.v[0];
	ck_assert_str_eq(p->name, "cart-1");
	ck_assert_str_eq(p->namespace, "shop");
	ck_assert_str_eq(p->node, "node-a");
	ck_assert_str_eq(p->ip, "10.244.1.23");
	ck_assert_str_eq(p->phase, "Running");
	ck_assert_uint_eq(p->ncontainers, 3);
	ck_assert_str_eq(p->containers[0].name, "web");
	ck_assert_str_eq(p->containers[0].runtime, "containerd");
	ck_assert_str_eq(p->containers[0].id,
			 "4444444444444444444444444444444444444444444444444444444444444444");
	ck_assert_ptr_null(p->containers[1].id); /* not started yet */
	ck_assert_str_eq(p->containers[2].runtime, "cri-o");
	ck_assert_str_eq(p->containers[2].id, "abc123");
	ck_assert_ptr_null(l.v[1].node);
	free(cont);
	/* A second page appends; the last page has no continue. */
	{
		static const char last[] =
		    "{\"kind\":\"PodList\",\"metadata\":{},\"items\":[{\"metadata\":"
		    "{\"name\":\"z\",\"uid\":\"2d2c8f3e-5b1a\"}}]}";

		ck_assert_int_eq(fl_kube_pod_list_parse(last, strlen(last), &l, &cont, &e), 0);
		ck_assert_ptr_null(cont);
		ck_assert_uint_eq(l.n, 3);
	}
	/* An empty namespace answers items: null on some versions. */
	{
		static const char empty[] = "{\"kind\":\"PodList\",\"metadata\":{},\"items\":null}";

		ck_assert_int_eq(fl_kube_pod_list_parse(empty, strlen(empty), &l, &cont, &e), 0);
		ck_assert_uint_eq(l.n, 3);
	}
	fl_kube_pod_list_done(&l);
	fl_kube_pod_list_done(NULL);
}
END_TEST

START_TEST(pod_list_bad)
{
	static const struct {
		const char *body;
		int code;
		const char *msg;
	} cases[] = {
	    {"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	     "\"message\":\"pods is forbidden: User \\\"system:serviceaccount:faultline:agent\\\" "
	     "cannot list resource \\\"pods\\\"\",\"reason\":\"Forbidden\",\"code\":403}",
	     -EPERM, "cannot list resource"},
	    {"{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Unauthorized\","
	     "\"reason\":\"Unauthorized\",\"code\":401}",
	     -EACCES, "401"},
	    {"{\"kind\":\"ConfigMap\"}", -EINVAL, "expected a PodList"},
	    {"[]", -EINVAL, "not a JSON object"},
	    {"{\"kind\":\"PodList\",\"items\":{}}", -EINVAL, "expected a list"},
	    {"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}", -EINVAL,
	     "metadata.name/uid"},
	    {"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\",\"uid\":\"../x\"}}]}",
	     -EINVAL, "UUID"},
	    {"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\",\"uid\":\"1-2\"},"
	     "\"status\":{\"containerStatuses\":[{\"name\":\"w\",\"containerID\":"
	     "\"containerd://../../x\"}]}}]}",
	     -EINVAL, "runtime ID"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_kube_pod_list l = {0};
		struct fl_error e;
		char *cont = NULL;

		fl_error_init(&e);
		ck_assert_int_eq(
		    fl_kube_pod_list_parse(cases[i].body, strlen(cases[i].body), &l, &cont, &e),
		    cases[i].code);
		ck_assert_msg(strstr(e.msg, cases[i].msg), "case %zu: %s", i, e.msg);
		ck_assert_uint_eq(l.n, 0);
		ck_assert_ptr_null(cont);
		fl_kube_pod_list_done(&l);
	}
}
END_TEST

START_TEST(status_errors)
{
	static const char forbidden[] =
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	    "\"message\":\"pods is forbidden\",\"reason\":\"Forbidden\",\"details\":{\"kind\":"
	    "\"pods\"},\"code\":403}";
	struct fl_error e;

	ck_assert_int_eq(fl_kube_status_error(403, forbidden, strlen(forbidden), &e), -EPERM);
	ck_assert_ptr_nonnull(strstr(e.msg, "RBAC"));
	ck_assert_ptr_nonnull(strstr(e.msg, "Forbidden: pods is forbidden"));
	ck_assert_int_eq(fl_kube_status_error(401, "Unauthorized", 12, &e), -EACCES);
	ck_assert_ptr_nonnull(strstr(e.msg, "401 Unauthorized"));
	ck_assert_int_eq(fl_kube_status_error(410, NULL, 0, &e), -ESTALE);
	ck_assert_ptr_nonnull(strstr(e.msg, "continue token expired"));
	ck_assert_int_eq(fl_kube_status_error(429, NULL, 0, &e), -EAGAIN);
	ck_assert_int_eq(fl_kube_status_error(404, NULL, 0, &e), -ENOENT);
	ck_assert_int_eq(fl_kube_status_error(500, "<html>", 6, &e), -EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "HTTP 500"));
}
END_TEST

START_TEST(selectors_and_urls)
{
	struct fl_buf b;
	struct fl_error e;
	cJSON *j = cJSON_Parse("{\"app\":\"cart\",\"app.kubernetes.io/part-of\":\"shop-1\"}");

	fl_buf_init(&b, 4096);
	ck_assert_int_eq(fl_kube_labels_selector(j, "$.l", &b, &e), 0);
	ck_assert_str_eq(b.data, "app=cart,app.kubernetes.io/part-of=shop-1");
	cJSON_Delete(j);
	fl_buf_done(&b);
	{
		static const char *const bad[] = {"{\"a b\":\"c\"}", "{\"a\":\"b,c\"}",
						  "{\"a\":\"-x\"}",  "{\"/a\":\"b\"}",
						  "{\"a\":1}",	     "{}"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			j = cJSON_Parse(bad[i]);
			fl_buf_init(&b, 4096);
			ck_assert_msg(fl_kube_labels_selector(j, "$.l", &b, &e) == -EINVAL, "%s",
				      bad[i]);
			fl_buf_done(&b);
			cJSON_Delete(j);
		}
	}
	ck_assert(fl_kube_name_ok("shop", false));
	ck_assert(!fl_kube_name_ok("Shop", false));
	ck_assert(!fl_kube_name_ok("a.b", false));
	ck_assert(fl_kube_name_ok("a.b", true));
	ck_assert(!fl_kube_name_ok("-a", true));
	ck_assert(fl_kube_selector_ok("app=faultline-agent,tier in (a,b)"));
	ck_assert(!fl_kube_selector_ok("app=x&y"));
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(
	    fl_kube_pods_url("shop", "app=cart,x!=y", "spec.nodeName=node-a", "a+b/c=", &b), 0);
	ck_assert_str_eq(b.data,
			 "/api/v1/namespaces/shop/pods?limit=500&labelSelector=app%3Dcart%"
			 "2Cx%21%3Dy&fieldSelector=spec.nodeName%3Dnode-a&continue=a%2Bb%2Fc%"
			 "3D");
	fl_buf_done(&b);
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(fl_kube_pods_url(NULL, NULL, NULL, NULL, &b), 0);
	ck_assert_str_eq(b.data, "/api/v1/pods?limit=500");
	fl_buf_done(&b);
	fl_buf_init(&b, 4096);
	ck_assert_int_eq(fl_kube_pods_url("../x", NULL, NULL, NULL, &b), -EINVAL);
	fl_buf_done(&b);
}
END_TEST

#define UID  "0d2c8f3e-5b1a-4c6e-9f7d-2a1b3c4d5e6f"
#define UID_ "0d2c8f3e_5b1a_4c6e_9f7d_2a1b3c4d5e6f"
#define CID  "4444444444444444444444444444444444444444444444444444444444444444"

START_TEST(cgroup_layouts)
{
	static const struct {
		const char *text;
		bool match;
		const char *cid;
	} cases[] = {
	    /* systemd driver, cgroup v2, containerd */
	    {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	     ".slice/cri-containerd-" CID ".scope\n",
	     true, CID},
	    /* guaranteed QoS sits right under kubepods.slice */
	    {"0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope\n", true,
	     CID},
	    /* besteffort, cri-o, a nested cgroup the container made */
	    {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	     ".slice/crio-" CID ".scope/init\n",
	     true, CID},
	    /* cri-o's conmon is in the pod but no container */
	    {"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	     ".slice/crio-conmon-" CID ".scope\n",
	     true, ""},
	    /* docker (dockershim / cri-dockerd) */
	    {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	     ".slice/docker-" CID ".scope\n",
	     true, CID},
	    /* cgroupfs driver, v1: every hierarchy line, the v2 line empty */
	    {"12:pids:/kubepods/burstable/pod" UID "/" CID "\n"
	     "11:memory:/kubepods/burstable/pod" UID "/" CID "\n"
	     "1:name=systemd:/kubepods/burstable/pod" UID "/" CID "\n0::/\n",
	     true, CID},
	    /* cgroupfs, guaranteed */
	    {"0::/kubepods/pod" UID "/" CID "\n", true, CID},
	    /* seen through a cgroup namespace from inside the agent's container */
	    {"0::/../../kubepods-burstable-pod" UID_ ".slice/cri-containerd-" CID ".scope\n", true,
	     CID},
	    /* a process in the pod cgroup itself */
	    {"0::/kubepods/burstable/pod" UID "\n", true, ""},
	    /* the dashed UID in a systemd name, or the underscored one in cgroupfs: no */
	    {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID
	     ".slice/x.scope\n",
	     false, NULL},
	    {"0::/kubepods/burstable/pod" UID_ "/" CID "\n", false, NULL},
	    /* another pod, a prefix of the UID, a non-kubelet slice */
	    {"0::/kubepods/burstable/pod1d2c8f3e-5b1a-4c6e-9f7d-2a1b3c4d5e6f/" CID "\n", false,
	     NULL},
	    {"0::/kubepods/burstable/pod0d2c8f3e-5b1a-4c6e-9f7d-2a1b3c4d5e6/" CID "\n", false,
	     NULL},
	    {"0::/system.slice/evil-pod" UID_ ".slice\n", false, NULL},
	    {"0::/user.slice/pod" UID "x\n", false, NULL},
	    {"", false, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cid[130] = "unset";
		bool m = fl_pod_cgroup_match(cases[i].text, UID, cid, sizeof(cid));

		ck_assert_msg(m == cases[i].match, "case %zu", i);
		if (m)
			ck_assert_msg(!strcmp(cid, cases[i].cid), "case %zu: cid %s", i, cid);
	}
}
END_TEST

START_TEST(pod_selector_grammar)
{
	static const struct {
		const char *json;
		int code;
		const char *path;
	} cases[] = {
	    {"{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"},\"container\":\"web\"}", 0, ""},
	    {"{\"namespace\":\"shop\",\"name\":\"cart-7d9f8b6c5d-x2x9q\"}", 0, ""},
	    {"{\"namespace\":\"shop\",\"labels\":{\"a\":\"b\"},\"uids\":[\"" UID "\"]}", 0, ""},
	    {"{\"labels\":{\"app\":\"cart\"}}", -EINVAL, "$.target.pod.namespace"},
	    {"{\"namespace\":\"shop\"}", -EINVAL, "$.target.pod"},
	    {"{\"namespace\":\"shop\",\"name\":\"a\",\"labels\":{\"a\":\"b\"}}", -EINVAL,
	     "$.target.pod"},
	    {"{\"namespace\":\"Shop\",\"name\":\"a\"}", -EINVAL, "$.target.pod.namespace"},
	    {"{\"namespace\":\"shop\",\"name\":\"a\",\"container\":\"web/x\"}", -EINVAL,
	     "$.target.pod.container"},
	    {"{\"namespace\":\"shop\",\"name\":\"a\",\"uids\":[\"../../x\"]}", -EINVAL,
	     "$.target.pod.uids"},
	    {"{\"namespace\":\"shop\",\"name\":\"a\",\"uids\":[]}", -EINVAL, "$.target.pod.uids"},
	    {"{\"namespace\":\"shop\",\"name\":\"a\",\"node\":\"x\"}", -EINVAL,
	     "$.target.pod.node"},
	    {"{\"namespace\":\"shop\",\"labels\":{\"app\":\"x y\"}}", -EINVAL,
	     "$.target.pod.labels.app"},
	    {"[]", -EINVAL, "$.target.pod"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].json);
		struct fl_pod_sel s;
		struct fl_error e;

		fl_error_init(&e);
		ck_assert_msg(fl_pod_sel_parse(j, "$.target.pod", &s, &e) == cases[i].code,
			      "case %zu: %s", i, e.msg);
		ck_assert_msg(!strcmp(e.path, cases[i].path), "case %zu: path %s", i, e.path);
		fl_pod_sel_done(&s);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(proc_target_with_pod)
{
	/* The pod selector inside a process target, with a pick and a seed. */
	cJSON *t = cJSON_Parse("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
			       "\"count\":2,\"seed\":\"18446744073709551615\"}");
	struct fl_proc_sel s;
	struct fl_error e;
	struct fl_buf b;
	struct fl_proc_ident *v = NULL;
	size_t n = 0;
	uint64_t seed = 0;

	ck_assert_int_eq(fl_proc_sel_parse(t, NULL, &s, &e), 0);
	ck_assert_int_eq(s.by, FL_PROC_BY_POD);
	fl_buf_init(&b, 256);
	ck_assert_int_eq(fl_proc_sel_describe(&s, &b), 0);
	ck_assert_str_eq(b.data, "pod=shop/app=cart count=2");
	fl_buf_done(&b);
	/* Without a Kubernetes client, a clear refusal (not "no process"). */
	fl_pod_set_lister(NULL, NULL);
	ck_assert_int_eq(fl_proc_sel_resolve(&s, NULL, &seed, &v, &n, &e), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(e.msg, "Kubernetes client"));
	fl_proc_sel_done(&s);
	cJSON_Delete(t);
	t = cJSON_Parse("{\"pod\":{\"namespace\":\"shop\"},\"pid\":3}");
	ck_assert_int_eq(fl_proc_sel_parse(t, NULL, &s, &e), -EINVAL);
	cJSON_Delete(t);
}
END_TEST

static void add_pod(struct fl_kube_pod_list *l, const char *ns, const char *name)
{
	struct fl_kube_pod p = {.namespace = (char *)ns, .name = (char *)name, .uid = (char *)UID};

	ck_assert_int_eq(fl_kube_pod_list_add(l, &p), 0);
}

/* A syscall fault's {"pod": ...} target: its grammar, and the refusal without a client. */
START_TEST(syscall_target_with_pod)
{
	static const struct {
		const char *target;
		int code;
		const char *msg;
	} cases[] = {
	    {"{\"pod\":{\"namespace\":\"shop\",\"name\":\"cart-a\"}}", 0, NULL},
	    {"{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},\"percent\":50,"
	     "\"seed\":\"7\"}",
	     0, NULL},
	    /* The pick and the selector as kill and pause read them (fl_proc_sel_parse). */
	    {"{\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"},\"pid\":3}", -EINVAL, "only one of"},
	    {"{\"pid\":3,\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"}}", -EINVAL, "only one of"},
	    {"{\"count\":2,\"pid\":3}", -EINVAL, "give \"pod\" too"},
	    {"{\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"},\"count\":0}", -EINVAL,
	     "expected an integer in"},
	    {"{\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"},\"percent\":101}", -EINVAL,
	     "percentage"},
	    {"{\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"},\"count\":1,\"all\":true}", -EINVAL,
	     "only one of all, count, percent"},
	    {"{\"pod\":{\"namespace\":\"Shop!\",\"name\":\"a\"}}", -EINVAL, "DNS label"},
	    {"{\"pod\":{\"namespace\":\"a\",\"name\":\"a\"},\"pod\":{\"namespace\":\"a\",\"name\":"
	     "\"b\"}}",
	     -EINVAL, "already have \"pod\""},
	};
	const struct fl_fault_ops *ops = fl_fault_lookup("syscall");
	cJSON *params = cJSON_Parse("{\"rules\":[\"open:ENOENT\"]}");

	ck_assert_ptr_nonnull(ops);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *t = cJSON_Parse(cases[i].target);
		void *spec = NULL;
		struct fl_error e;

		fl_error_init(&e);
		ck_assert_msg(ops->parse(t, params, &spec, &e) == cases[i].code, "case %zu: %s", i,
			      e.msg);
		if (cases[i].msg)
			ck_assert_msg(strstr(e.msg, cases[i].msg), "case %zu: %s", i, e.msg);
		if (spec) {
			cJSON *undo = NULL;
			struct fl_buf b;

			fl_buf_init(&b, 512);
			ck_assert_int_eq(ops->describe(spec, &b), 0);
			ck_assert_ptr_nonnull(strstr(b.data, "shimmed processes of pod=shop/"));
			fl_buf_done(&b);
			/* No Kubernetes client: refused at plan, saying so. */
			fl_pod_set_lister(NULL, NULL);
			ck_assert_int_eq(ops->plan(spec, NULL, &undo, &e), -ENOTSUP);
			ck_assert_ptr_nonnull(strstr(e.msg, "Kubernetes client"));
			ck_assert_ptr_null(undo);
			ops->free(spec);
		}
		cJSON_Delete(t);
	}
	cJSON_Delete(params);
}
END_TEST

START_TEST(pod_pick_seeded)
{
	char first[8][32];

	for (int round = 0; round < 2; round++) {
		struct fl_kube_pod_list l = {0};
		static const char *const names[] = {"e", "b", "h", "a", "g", "c", "f", "d"};

		/* The API's order differs between the rounds; the pick must not. */
		for (int i = 0; i < 8; i++)
			add_pod(&l, "shop", names[round ? 7 - i : i]);
		ck_assert_int_eq(
		    fl_pod_pick(&l, &(struct fl_pick){.mode = FL_PICK_COUNT, .count = 3}, 42), 0);
		ck_assert_uint_eq(l.n, 3);
		for (size_t i = 0; i < l.n; i++) {
			if (round == 0)
				snprintf(first[i], sizeof(first[i]), "%s", l.v[i].name);
			else
				ck_assert_str_eq(first[i], l.v[i].name);
		}
		fl_kube_pod_list_done(&l);
	}
	{
		struct fl_kube_pod_list l = {0};

		for (int i = 0; i < 10; i++) {
			char n[8];

			snprintf(n, sizeof(n), "p%d", i);
			add_pod(&l, "shop", n);
		}
		ck_assert_int_eq(
		    fl_pod_pick(&l, &(struct fl_pick){.mode = FL_PICK_PERCENT, .percent = 25}, 1),
		    0);
		ck_assert_uint_eq(l.n, 3); /* ceil(2.5) */
		ck_assert_int_eq(fl_pod_pick(&l, &(struct fl_pick){.mode = FL_PICK_ALL}, 1), 0);
		ck_assert_uint_eq(l.n, 3);
		fl_kube_pod_list_done(&l);
	}
}
END_TEST

static void add_full(struct fl_kube_pod_list *l, const char *name, const char *uid,
		     const char *node, const char *phase, const char *container)
{
	struct fl_kube_container c = {.name = (char *)container, .id = (char *)CID};
	struct fl_kube_pod p = {.namespace = (char *)"shop",
				.name = (char *)name,
				.uid = (char *)uid,
				.node = (char *)node,
				.phase = (char *)phase,
				.containers = &c,
				.ncontainers = 1};

	ck_assert_int_eq(fl_kube_pod_list_add(l, &p), 0);
}

START_TEST(discovery_pick)
{
	const char *first = NULL;
	char keep[64] = "";

	for (int round = 0; round < 2; round++) {
		struct fl_kube_pod_list l = {0};
		cJSON *t = cJSON_Parse("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":"
				       "\"cart\"},\"container\":\"web\"},\"count\":1,\"seed\":"
				       "\"99\"}");
		cJSON *res = cJSON_CreateObject();
		struct fl_error e;
		size_t picked = 0;
		const cJSON *uids;

		/* API order differs per round; done pods, unscheduled ones and pods
		 * without the container are never picked. */
		if (round == 0) {
			add_full(&l, "a", "aaaaaaaa-1", "n1", "Running", "web");
			add_full(&l, "b", "bbbbbbbb-2", "n2", "Running", "web");
			add_full(&l, "c", "cccccccc-3", "n3", "Running", "web");
			add_full(&l, "done", "dddddddd-4", "n1", "Succeeded", "web");
			add_full(&l, "pending", "eeeeeeee-5", NULL, "Pending", "web");
			add_full(&l, "other", "ffffffff-6", "n1", "Running", "db");
		} else {
			add_full(&l, "other", "ffffffff-6", "n1", "Running", "db");
			add_full(&l, "c", "cccccccc-3", "n3", "Running", "web");
			add_full(&l, "pending", "eeeeeeee-5", NULL, "Pending", "web");
			add_full(&l, "b", "bbbbbbbb-2", "n2", "Running", "web");
			add_full(&l, "done", "dddddddd-4", "n1", "Succeeded", "web");
			add_full(&l, "a", "aaaaaaaa-1", "n1", "Running", "web");
		}
		ck_assert_int_eq(fl_kube_discovery_pick(t, &l, &picked, res, &e), 0);
		ck_assert_uint_eq(picked, 1);
		ck_assert_str_eq(cJSON_GetObjectItem(res, "pod_seed")->valuestring, "99");
		ck_assert_ptr_null(cJSON_GetObjectItem(t, "count")); /* decided here, not again */
		ck_assert_ptr_null(cJSON_GetObjectItem(t, "seed"));
		uids = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "pod"), "uids");
		ck_assert_int_eq(cJSON_GetArraySize(uids), 1);
		ck_assert_str_eq(cJSON_GetArrayItem(uids, 0)->valuestring, l.v[0].uid);
		ck_assert(strcmp(l.v[0].name, "done") && strcmp(l.v[0].name, "pending") &&
			  strcmp(l.v[0].name, "other"));
		if (round == 0) {
			snprintf(keep, sizeof(keep), "%s", l.v[0].name);
			first = keep;
		} else {
			ck_assert_str_eq(first, l.v[0].name); /* the seed replays */
		}
		fl_kube_pod_list_done(&l);
		cJSON_Delete(t);
		cJSON_Delete(res);
	}
	{
		struct fl_kube_pod_list l = {0};
		cJSON *t = cJSON_Parse("{\"pod\":{\"namespace\":\"shop\",\"name\":\"a\"}}");
		cJSON *res = cJSON_CreateObject();
		struct fl_error e;
		size_t picked = 0;

		add_full(&l, "a", "aaaaaaaa-1", "n1", "Running", "web");
		ck_assert_int_eq(fl_kube_discovery_pick(t, &l, &picked, res, &e), 0);
		ck_assert_uint_eq(picked, 1);
		ck_assert_ptr_null(cJSON_GetObjectItem(res, "pod_seed")); /* no pick, no seed */
		ck_assert_str_eq(
		    cJSON_GetArrayItem(cJSON_GetObjectItem(res, "pods"), 0)->valuestring,
		    "shop/a@n1");
		fl_kube_pod_list_done(&l);
		add_full(&l, "x", "aaaaaaaa-1", "n1", "Failed", "web");
		ck_assert_int_eq(fl_kube_discovery_pick(t, &l, &picked, res, &e), -ESRCH);
		fl_kube_pod_list_done(&l);
		cJSON_Delete(t);
		cJSON_Delete(res);
	}
}
END_TEST

/* pick_uids: run fl_kube_discovery_pick on 6 pods; the picked UIDs joined into out. */
static void pick_uids(const char *target, char *seed_out, size_t seedlen, char *out, size_t len)
{
	static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
	static const char *const uids[] = {"aaaaaaaa-1", "bbbbbbbb-2", "cccccccc-3",
					   "dddddddd-4", "eeeeeeee-5", "ffffffff-6"};
	struct fl_kube_pod_list l = {0};
	cJSON *t = cJSON_Parse(target), *res = cJSON_CreateObject();
	const cJSON *u, *sd;
	struct fl_error e;
	size_t picked = 0, off = 0;

	for (size_t i = 0; i < 6; i++)
		add_full(&l, names[i], uids[i], i % 2 ? "n1" : "n2", "Running", "web");
	ck_assert_int_eq(fl_kube_discovery_pick(t, &l, &picked, res, &e), 0);
	sd = cJSON_GetObjectItem(res, "pod_seed");
	ck_assert_msg(cJSON_IsString(sd), "no pod_seed recorded for %s", target);
	snprintf(seed_out, seedlen, "%s", sd->valuestring);
	out[0] = '\0';
	cJSON_ArrayForEach(u, cJSON_GetObjectItem(cJSON_GetObjectItem(t, "pod"), "uids")) off +=
	    (size_t)snprintf(out + off, len - off, "%s,", u->valuestring);
	ck_assert_uint_eq((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(res, "pods")), picked);
	fl_kube_pod_list_done(&l);
	cJSON_Delete(t);
	cJSON_Delete(res);
}

/*
 * Without a seed the controller draws one and records it (pod_seed); giving that
 * seed back picks the same pods -- what "replay the recorded seed" means to a user.
 * percent rounds up: 34% of 6 pods is 3.
 */
START_TEST(discovery_pick_recorded_seed)
{
	char seed[32], seed2[32], a[256], b[256], tgt[256];
	bool differs = false;

	pick_uids("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
		  "\"count\":2}",
		  seed, sizeof(seed), a, sizeof(a));
	ck_assert_uint_eq(strlen(a), 2 * strlen("aaaaaaaa-1,"));
	snprintf(tgt, sizeof(tgt),
		 "{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
		 "\"count\":2,\"seed\":\"%s\"}",
		 seed);
	pick_uids(tgt, seed2, sizeof(seed2), b, sizeof(b));
	ck_assert_str_eq(seed2, seed);
	ck_assert_str_eq(b, a);
	/* Fresh seeds differ, and so (over a few draws) do the picks. */
	for (int i = 0; i < 8 && !differs; i++) {
		pick_uids("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
			  "\"count\":2}",
			  seed2, sizeof(seed2), b, sizeof(b));
		differs = strcmp(b, a) != 0;
	}
	ck_assert_msg(differs, "eight unseeded picks all chose %s", a);
	pick_uids("{\"pod\":{\"namespace\":\"shop\",\"labels\":{\"app\":\"cart\"}},"
		  "\"percent\":34,\"seed\":5}",
		  seed, sizeof(seed), a, sizeof(a));
	ck_assert_str_eq(seed, "5");
	ck_assert_uint_eq(strlen(a), 3 * strlen("aaaaaaaa-1,"));
}
END_TEST

START_TEST(discovery_grammar)
{
	static const struct {
		const char *json;
		int code;
		const char *path;
	} cases[] = {
	    {"{\"namespace\":\"faultline\",\"selector\":\"app=faultline-agent\"}", 0, ""},
	    {"{\"namespace\":\"faultline\",\"selector\":\"a=b\",\"port\":7433,\"scheme\":"
	     "\"https\",\"kubeconfig\":\"k\",\"context\":\"c\"}",
	     0, ""},
	    {"{\"selector\":\"a=b\"}", -EINVAL, "$.kubernetes.namespace"},
	    {"{\"namespace\":\"faultline\"}", -EINVAL, "$.kubernetes.selector"},
	    {"{\"namespace\":\"faultline\",\"selector\":\"a=b&c\"}", -EINVAL,
	     "$.kubernetes.selector"},
	    {"{\"namespace\":\"faultline\",\"selector\":\"a=b\",\"port\":0}", -EINVAL,
	     "$.kubernetes.port"},
	    {"{\"namespace\":\"faultline\",\"selector\":\"a=b\",\"scheme\":\"ftp\"}", -EINVAL,
	     "$.kubernetes.scheme"},
	    {"{\"namespace\":\"faultline\",\"selector\":\"a=b\",\"extra\":1}", -EINVAL,
	     "$.kubernetes.extra"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].json);
		struct fl_kube_discovery d;
		struct fl_error e;

		fl_error_init(&e);
		ck_assert_msg(fl_kube_discovery_parse(j, "$.kubernetes", "/etc/fl", &d, &e) ==
				  cases[i].code,
			      "case %zu: %s", i, e.msg);
		ck_assert_msg(!strcmp(e.path, cases[i].path), "case %zu: path %s", i, e.path);
		if (i == 1) {
			ck_assert_str_eq(d.kubeconfig, "/etc/fl/k");
			ck_assert(d.https);
		}
		fl_kube_discovery_done(&d);
		cJSON_Delete(j);
	}
}
END_TEST

/* Deterministic mutations of valid inputs through both parsers: no crash, no leak. */
START_TEST(parsers_mutated)
{
	struct fl_rng rng;
	char buf[sizeof(kubeconfig) + sizeof(podlist)];

	fl_rng_init(&rng, 20261127);
	for (int i = 0; i < 3000; i++) {
		const char *src = (i & 1) ? podlist : kubeconfig;
		size_t n = strlen(src);
		int edits = 1 + (int)fl_rng_below(&rng, 8);

		memcpy(buf, src, n + 1);
		for (int k = 0; k < edits && n > 0; k++) {
			size_t at = (size_t)fl_rng_below(&rng, n);

			switch (fl_rng_below(&rng, 3)) {
			case 0:
				buf[at] = (char)fl_rng_below(&rng, 256);
				break;
			case 1:
				n = at; /* truncate */
				break;
			default:
				buf[at] = "{}[]:,\"\n -&*"[fl_rng_below(&rng, 13)];
				break;
			}
		}
		if (i & 1) {
			struct fl_kube_pod_list l = {0};
			struct fl_error e;
			char *cont = NULL;

			if (fl_kube_pod_list_parse(buf, n, &l, &cont, &e) == 0)
				free(cont);
			fl_kube_pod_list_done(&l);
		} else {
			struct fl_kube_config c;
			struct fl_error e;

			if (fl_kube_config_parse(buf, n, "/x", NULL, &c, &e) == 0)
				fl_kube_config_done(&c);
		}
	}
}
END_TEST

Suite *fl_suite_kube(void)
{
	Suite *s = suite_create("kube");
	TCase *tc = tcase_create("kube");

	tcase_add_test(tc, kubeconfig_current_context);
	tcase_add_test(tc, kubeconfig_json);
	tcase_add_test(tc, kubeconfig_refusals);
	tcase_add_test(tc, kubeconfig_deep_nesting);
	tcase_add_test(tc, incluster_config);
	tcase_add_test(tc, pod_list_page);
	tcase_add_test(tc, pod_list_bad);
	tcase_add_test(tc, status_errors);
	tcase_add_test(tc, selectors_and_urls);
	tcase_add_test(tc, cgroup_layouts);
	tcase_add_test(tc, pod_selector_grammar);
	tcase_add_test(tc, proc_target_with_pod);
	tcase_add_test(tc, syscall_target_with_pod);
	tcase_add_test(tc, pod_pick_seeded);
	tcase_add_test(tc, discovery_pick);
	tcase_add_test(tc, discovery_pick_recorded_seed);
	tcase_add_test(tc, discovery_grammar);
	tcase_add_test(tc, parsers_mutated);
	suite_add_tcase(s, tc);
	return s;
}
