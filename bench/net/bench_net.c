/*
 * fl-bench-net tbf|netem NETNS IFACE N
 *
 * N apply+revert cycles of the same root qdisc change, three ways, interleaved
 * cycle by cycle so that a noisy host hurts all three alike; prints medians:
 *   faultline  the fault code path the agent runs: parse, plan (netlink reads:
 *              interface, root qdisc), apply (re-reads the root: unchanged since
 *              the plan?), revert from the undo record alone; sockets come from
 *              the per-netns pool (faults/nl_link.c), as in a running agent;
 *   tc         `tc -n NETNS qdisc replace ... root handle fa17: ...` + `tc ... del`
 *              (fork + exec, as a script or a tc-shelling tool does);
 *   floor      the same replace + delete on one netlink socket already in the
 *              netns, nothing else: what the kernel itself costs (a root qdisc
 *              graft waits for an RCU grace period in dev_deactivate);
 *   floor+read the floor plus the one read exact restore cannot skip: the
 *              interface's root qdisc before the replace (what was there).
 * The four run in all 24 orders in turn, so that each follows each other one
 * equally often: what the kernel leaves behind after a graft or a delete (RCU
 * callbacks, cold caches) lands on all alike. Then each faultline phase again,
 * 200 times in a row (hot caches): what the code itself costs.
 *   KIND tbf:   bandwidth {"rate":"10mbit","burst":"25000b"}
 *   KIND netem: netem {"delay":"10ms","loss":"1%"}
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "faults/fault.h"
#include "faults/nl_common.h"

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

/* Microseconds of each phase of the last fl_cycle: parse, plan, apply, revert. */
static double phase_us[4];

static int fl_cycle(const struct fl_fault_ops *ops, const char *target, const char *params)
{
	struct fl_fault_ctx ctx = {.fault_id = "bench"};
	cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(params), *undo = NULL;
	struct fl_error err;
	void *spec = NULL;
	double t0 = now_us(), t1, t2, t3;
	int r;

	fl_error_init(&err);
	r = ops->parse(t, p, &spec, &err);
	t1 = now_us();
	if (r == 0)
		r = ops->plan(spec, &ctx, &undo, &err);
	t2 = now_us();
	if (r == 0)
		r = ops->apply(spec, &ctx, undo, &err);
	t3 = now_us();
	if (r == 0)
		r = ops->revert(undo, &err);
	phase_us[0] = t1 - t0;
	phase_us[1] = t2 - t1;
	phase_us[2] = t3 - t2;
	phase_us[3] = now_us() - t3;
	if (r < 0)
		fprintf(stderr, "faultline: %s: %s\n", err.path, err.msg);
	if (spec)
		ops->free(spec);
	cJSON_Delete(undo);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return r;
}

/*
 * Each phase 200 times in a row, caches hot: medians of parse, plan (its
 * undo dropped), apply+revert (from one plan's record).
 */
static void hot_phases(const struct fl_fault_ops *ops, const char *target, const char *params,
		       double out[3])
{
	enum { K = 200 };
	static double v[3][K];
	struct fl_fault_ctx ctx = {.fault_id = "bench"};
	cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(params), *undo;
	struct fl_error err;
	void *spec = NULL;
	double t0;
	int i;

	fl_error_init(&err);
	for (i = 0; i < K; i++) {
		t0 = now_us();
		if (ops->parse(t, p, &spec, &err) < 0)
			break;
		v[0][i] = now_us() - t0;
		undo = NULL;
		t0 = now_us();
		if (ops->plan(spec, &ctx, &undo, &err) < 0)
			break;
		v[1][i] = now_us() - t0;
		t0 = now_us();
		if (ops->apply(spec, &ctx, undo, &err) < 0 || ops->revert(undo, &err) < 0)
			break;
		v[2][i] = now_us() - t0;
		cJSON_Delete(undo);
		ops->free(spec);
		spec = NULL;
	}
	if (spec)
		ops->free(spec);
	for (int k = 0; k < 3; k++)
		out[k] = i == K ? median(v[k], K) : 0;
	cJSON_Delete(t);
	cJSON_Delete(p);
}

/* Read the root qdisc of ifindex on sk (its reply, then the ACK), as a plan does. */
static int read_root(struct nl_sock *sk, int ifindex)
{
	struct tcmsg tcm = {
	    .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT};
	int r = nl_send_simple(sk, RTM_GETQDISC, NLM_F_ECHO, &tcm, sizeof(tcm));

	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	if (r >= 0)
		r = nl_wait_for_ack(sk);
	return r < 0 ? -1 : 0;
}

/*
 * Replace the root with the fault's qdisc message, then delete it: the
 * kernel's part; with ifindex > 0, read the interface's root qdisc first.
 */
static int floor_cycle(struct nl_sock *sk, int ifindex, struct nl_msg *add, struct nl_msg *del,
		       double *add_us)
{
	struct fl_error err;
	double t0 = now_us();

	fl_error_init(&err);
	if (ifindex > 0 && read_root(sk, ifindex) < 0) {
		fprintf(stderr, "floor: reading the qdiscs failed\n");
		return -1;
	}
	nlmsg_hdr(add)->nlmsg_seq = NL_AUTO_SEQ; /* reused: let libnl number it again */
	nlmsg_hdr(del)->nlmsg_seq = NL_AUTO_SEQ;
	if (fl_nl_send_ack(sk, add, "add", &err) < 0) {
		fprintf(stderr, "floor: %s\n", err.msg);
		return -1;
	}
	*add_us = now_us() - t0;
	if (fl_nl_send_ack(sk, del, "del", &err) < 0) {
		fprintf(stderr, "floor: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char target[256], nspath[300];
	struct nl_msg *add = NULL, *del = NULL;
	struct nl_sock *sk = NULL;
	struct fl_nl_ns ns;
	struct fl_error err;
	const struct fl_fault_ops *ops;
	const char *params;
	double *a, *b, *c, *d, *ph[6], t0;
	int n, ifindex, tbf;

	if (argc != 5 || (strcmp(argv[1], "tbf") && strcmp(argv[1], "netem")) ||
	    (n = atoi(argv[4])) <= 0) {
		fprintf(stderr, "usage: fl-bench-net tbf|netem NETNS IFACE N\n");
		return 2;
	}
	tbf = !strcmp(argv[1], "tbf");
	ops = fl_fault_lookup(tbf ? "bandwidth" : "netem");
	params = tbf ? "{\"rate\":\"10mbit\",\"burst\":\"25000b\"}"
		     : "{\"delay\":\"10ms\",\"loss\":\"1%\"}";
	snprintf(target, sizeof(target), "{\"netns\":\"%s\",\"interface\":\"%s\"}", argv[2],
		 argv[3]);
	snprintf(nspath, sizeof(nspath), "/var/run/netns/%s", argv[2]);
	char *tc_add[] = {"tc",
			  "-n",
			  argv[2],
			  "qdisc",
			  "replace",
			  "dev",
			  argv[3],
			  "root",
			  "handle",
			  "fa17:",
			  tbf ? "tbf" : "netem",
			  tbf ? "rate" : "delay",
			  tbf ? "10mbit" : "10ms",
			  tbf ? "burst" : "loss",
			  tbf ? "25000" : "1%",
			  tbf ? "latency" : NULL,
			  "50ms",
			  NULL};
	char *tc_del[] = {"tc", "-n", argv[2], "qdisc", "del", "dev", argv[3], "root", NULL};

	a = calloc((size_t)n, sizeof(double));
	b = calloc((size_t)n, sizeof(double));
	c = calloc((size_t)n, sizeof(double));
	d = calloc((size_t)n, sizeof(double));
	for (int k = 0; k < 6; k++)
		if (!(ph[k] = calloc((size_t)n, sizeof(double))))
			return 1;
	fl_error_init(&err);
	if (!a || !b || !c || !d || fl_nl_ns_enter(nspath, &ns, &err) < 0 ||
	    fl_nl_sock_open(&sk, &err) < 0 || fl_nl_ifindex(sk, argv[3], &ifindex, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return 1;
	}
	fl_nl_ns_leave(&ns); /* the socket stays in the netns it was opened in */
	{
		/* The floor's add: the very message the fault builds (netem), or a tbf. */
		struct fl_nl_netem ne = {.delay_ns = 10000000, .loss = 42949673};
		struct tcmsg tcm = {.tcm_family = AF_UNSPEC,
				    .tcm_ifindex = ifindex,
				    .tcm_parent = TC_H_ROOT,
				    .tcm_handle = FL_NL_HANDLE_ROOT};

		if (tbf) {
			/* tbf 10mbit burst 25000b limit ~ the fault's: the options as the kernel
			 * dumps them */
			struct tc_tbf_qopt q = {.rate = {.rate = 1250000, .linklayer = 1},
						.limit = 87500,
						.buffer = 312500};
			struct nlattr *o;

			add = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
			if (!add || nlmsg_append(add, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0 ||
			    nla_put_string(add, TCA_KIND, "tbf") < 0 ||
			    !(o = nla_nest_start(add, TCA_OPTIONS)) ||
			    nla_put(add, TCA_TBF_PARMS, sizeof(q), &q) < 0)
				return 1;
			nla_nest_end(add, o);
		} else if (fl_nl_netem_build(&ne, ifindex, TC_H_ROOT, FL_NL_HANDLE_ROOT,
					     NLM_F_CREATE | NLM_F_REPLACE, &add, &err) < 0) {
			return 1;
		}
		del = nlmsg_alloc_simple(RTM_DELQDISC, 0);
		if (!del || nlmsg_append(del, &tcm, sizeof(tcm), NLMSG_ALIGNTO) < 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		int o = i % 24, order[4] = {0, 1, 2, 3};

		/* The o-th of the 24 orders (factorial number system). */
		for (int k = 0, f = 6; k < 3; f /= 3 - k, k++) {
			int j = k + o / f, v = order[j];

			memmove(order + k + 1, order + k, (size_t)(j - k) * sizeof(int));
			order[k] = v;
			o %= f;
		}
		for (int k = 0; k < 4; k++) {
			double x;

			t0 = now_us();
			switch (order[k]) {
			case 0:
				if (fl_cycle(ops, target, params) < 0)
					return 1;
				a[i] = now_us() - t0;
				for (int q = 0; q < 4; q++)
					ph[q][i] = phase_us[q];
				break;
			case 1:
				if (run(tc_add) < 0 || run(tc_del) < 0) {
					fprintf(stderr, "tc failed\n");
					return 1;
				}
				b[i] = now_us() - t0;
				break;
			case 2:
				if (floor_cycle(sk, 0, add, del, &ph[4][i]) < 0)
					return 1;
				c[i] = now_us() - t0;
				ph[5][i] = c[i] - ph[4][i];
				break;
			default:
				if (floor_cycle(sk, ifindex, add, del, &x) < 0)
					return 1;
				d[i] = now_us() - t0;
			}
		}
	}
	double fl = median(a, n), tc = median(b, n), fk = median(c, n), fr = median(d, n);
	double hot[3];

	hot_phases(ops, target, params, hot);

	printf(
	    "%s apply+revert, median of %d cycles in turn: faultline %.1f us, tc %.1f us, "
	    "ratio %.1fx; kernel floor %.1f us (tc/floor %.1fx is the most any tool can reach)\n",
	    argv[1], n, fl, tc, tc / fl, fk, tc / fk);
	printf("faultline / kernel floor: %.2fx (target <= 1.5x)\n", fl / fk);
	printf("  faultline phases (medians): parse %.1f us, plan %.1f us, apply %.1f us, revert "
	       "%.1f us\n",
	       median(ph[0], n), median(ph[1], n), median(ph[2], n), median(ph[3], n));
	printf("  floor: add (the graft) %.1f us, delete %.1f us\n", median(ph[4], n),
	       median(ph[5], n));
	printf("floor+read (a read of the root qdisc, then the floor): %.1f us; "
	       "faultline / floor+read: %.2fx\n",
	       fr, fl / fr);
	printf("  faultline phases hot (each 200 times in a row, medians): parse %.1f us, "
	       "plan %.1f us, apply+revert %.1f us\n",
	       hot[0], hot[1], hot[2]);
	for (int k = 0; k < 6; k++)
		free(ph[k]);
	nlmsg_free(add);
	nlmsg_free(del);
	nl_socket_free(sk);
	free(a);
	free(b);
	free(c);
	free(d);
	return 0;
}
