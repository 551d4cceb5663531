/*
 * The measured half of a network fault's proof of effect ("measure" in its
 * params, faults/spec/nl_measure.c): TCP connects to one peer from inside the
 * fault's network namespace, before apply (in plan, recorded in the undo
 * record) and after it (in effect), the way a user checks a tc change with a
 * ping or a TCP round trip. A SYN-ACK or an RST is an answer; its round trip is
 * the connect's time. Bounded: at most MEASURE_TRIES connects, one after
 * another, MEASURE_BUDGET_MS in all (each try gets what is left of it), and
 * the first unanswered try ends the measure.
 *
 * The sockets are made in the namespace (setns on the calling thread for
 * socket(2) alone, as nl_ns.c does for netlink sockets), then connected from
 * wherever the thread is: a socket stays in the namespace it was made in.
 * Nothing here runs under the agent's lock or its keys: plan runs before the
 * keys are taken, and effect outside both (fault.h). The after-measure is
 * taken once per record (its first effect, right after apply) and kept here
 * (a small table keyed by the record's namespace and the time of its
 * before-measure), so a GET or the final effect before a revert repeats it
 * without sending anything and without delaying the revert. A process that
 * does not have it (an agent restarted since) measures again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "faults/nl_common.h"

#define MEASURE_TRIES	  3
#define MEASURE_BUDGET_MS 1000
#define KEPT_MAX	  64

/* This thread's budget end (CLOCK_MONOTONIC ns; 0: none): fl_nl_measure_budget. */
static __thread uint64_t budget_end;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void fl_nl_measure_budget(unsigned ms)
{
	budget_end = ms ? mono_ns() + (uint64_t)ms * 1000000ULL : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One connect: its round trip in ms (>= 0), or -errno (-ETIMEDOUT after `ms`). */
static double try_connect(int fd, const struct sockaddr_storage *sa, socklen_t len, int ms)
{
	uint64_t t0 = mono_ns();
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t el = sizeof(int);
	int e = 0, r;

	if (connect(fd, (const struct sockaddr *)sa, len) == 0)
		return (double)(mono_ns() - t0) / 1e6;
	if (errno == ECONNREFUSED)
		return (double)(mono_ns() - t0) / 1e6;
	if (errno != EINPROGRESS)
		return -errno;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		return -errno;
	if (e == 0 || e == ECONNREFUSED)
		return (double)(mono_ns() - t0) / 1e6;
	return -e;
}

void fl_nl_measure_run(const char *netns, unsigned long long ino, const struct fl_nl_cidr *peer,
		       uint16_t port, struct fl_nl_rtt *out)
{
	struct sockaddr_storage sa = {0};
	struct fl_nl_ns ns = {.orig_fd = -1};
	struct fl_nl_ns_id id = {0};
	struct fl_error err;
	int fds[MEASURE_TRIES], nsfd = -1, fam = fl_nl_cidr_is6(peer) ? AF_INET6 : AF_INET;
	double rtt[MEASURE_TRIES];
	uint64_t end = mono_ns() + (uint64_t)MEASURE_BUDGET_MS * 1000000ULL;
	socklen_t len;

	memset(out, 0, sizeof(*out));
	out->done = true;
	for (int i = 0; i < MEASURE_TRIES; i++)
		fds[i] = -1;
	fl_error_init(&err);
	if (budget_end && end > budget_end)
		end = budget_end;
	if (mono_ns() >= end) {
		out->err = -ECANCELED; /* the budget of a many-pod fault is spent */
		goto out;
	}
	if (fam == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = peer->addr6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

		s4->sin_family = AF_INET;
		s4->sin_addr = peer->addr;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	}
	if (netns && *netns) {
		nsfd = fl_nl_ns_open(netns, &id, &err);
		if (nsfd < 0) {
			out->err = nsfd;
			goto out;
		}
		if (ino && id.ino != ino) {
			out->err = -ENOENT; /* another namespace by that path now */
			goto out;
		}
		out->err = fl_nl_ns_enter_fd(nsfd, &ns, &err);
		if (out->err < 0)
			goto out;
	}
	for (int i = 0; i < MEASURE_TRIES; i++) {
		fds[i] = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			out->err = -errno;
			break;
		}
	}
	fl_nl_ns_leave(&ns);
	for (int i = 0; i < MEASURE_TRIES && fds[i] >= 0; i++) {
		uint64_t now = mono_ns();
		double d;

		if (now >= end) {
			out->err = -ETIMEDOUT;
			break;
		}
		out->tries++;
		d = try_connect(fds[i], &sa, len, (int)((end - now + 999999) / 1000000));
		if (d < 0) {
			out->err = (int)d;
			break;
		}
		rtt[out->ok++] = d;
		out->err = 0;
	}
	if (out->ok) {
		qsort(rtt, (size_t)out->ok, sizeof(rtt[0]), cmp_double);
		out->rtt_ms =
		    out->ok % 2 ? rtt[out->ok / 2] : (rtt[out->ok / 2 - 1] + rtt[out->ok / 2]) / 2;
		out->rtt_ms = (double)(long long)(out->rtt_ms * 1000 + 0.5) / 1000; /* to the us */
	}
out:
	for (int i = 0; i < MEASURE_TRIES; i++) {
		if (fds[i] < 0)
			continue;
		/* an RST, not a FIN: no TIME_WAIT, nothing left in the peer's backlog */
		(void)setsockopt(fds[i], SOL_SOCKET, SO_LINGER,
				 &(struct linger){.l_onoff = 1, .l_linger = 0},
				 sizeof(struct linger));
		close(fds[i]);
	}
	if (nsfd >= 0)
		close(nsfd);
	out->at_ns = mono_ns();
}

static void peer_str(const struct fl_nl_cidr *peer, char *buf, size_t len)
{
	if (fl_nl_cidr_is6(peer))
		inet_ntop(AF_INET6, &peer->addr6, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET, &peer->addr, buf, (socklen_t)len);
}

static cJSON *rtt_json(const struct fl_nl_rtt *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "tries", r->tries);
	cJSON_AddNumberToObject(o, "answered", r->ok);
	if (r->ok)
		cJSON_AddNumberToObject(o, "rtt_ms", r->rtt_ms);
	if (r->err == -ECANCELED && !r->tries)
		cJSON_AddStringToObject(o, "error", "not measured: the measure budget was spent");
	else if (r->err)
		cJSON_AddStringToObject(o, "error", strerror(-r->err));
	cJSON_AddNumberToObject(o, "at_ns", (double)r->at_ns);
	return o;
}

int fl_nl_measure_plan(const struct fl_nl_measure *m, struct fl_nl_rtt *rtt, cJSON *undo)
{
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(undo, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(undo, "netns_ino");
	char a[INET6_ADDRSTRLEN];
	cJSON *o, *b;

	if (!m->on)
		return 0;
	if (!rtt->done) /* a second plan (the agent's, under its keys) sends nothing */
		fl_nl_measure_run(cJSON_IsString(netns) ? netns->valuestring : "",
				  cJSON_IsNumber(ino) ? (unsigned long long)ino->valuedouble : 0,
				  &m->peer, m->port, rtt);
	peer_str(&m->peer, a, sizeof(a));
	o = cJSON_CreateObject();
	b = rtt_json(rtt);
	if (!o || !b || !cJSON_AddItemToObject(o, "before", b)) {
		cJSON_Delete(b);
		cJSON_Delete(o);
		return -ENOMEM;
	}
	if (!cJSON_AddStringToObject(o, "peer", a) ||
	    !cJSON_AddNumberToObject(o, "port", m->port) ||
	    !cJSON_AddItemToObject(undo, "measure", o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return 0;
}

/* After-measures taken in this process, by (namespace, time of the before-measure). */
static struct kept {
	unsigned long long ino;
	double before_at;
	char peer[INET6_ADDRSTRLEN];
	int port;
	struct fl_nl_rtt after;
} kept[KEPT_MAX];
static unsigned kept_next;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

static bool kept_get(unsigned long long ino, double at, const char *peer, int port,
		     struct fl_nl_rtt *out)
{
	bool hit = false;

	pthread_mutex_lock(&kept_mu);
	for (unsigned i = 0; i < KEPT_MAX && !hit; i++)
		if (kept[i].after.done && kept[i].ino == ino && kept[i].before_at == at &&
		    kept[i].port == port && !strcmp(kept[i].peer, peer)) {
			*out = kept[i].after;
			hit = true;
		}
	pthread_mutex_unlock(&kept_mu);
	return hit;
}

static void kept_put(unsigned long long ino, double at, const char *peer, int port,
		     const struct fl_nl_rtt *r)
{
	struct kept *k;

	pthread_mutex_lock(&kept_mu);
	k = &kept[kept_next++ % KEPT_MAX];
	k->ino = ino;
	k->before_at = at;
	snprintf(k->peer, sizeof(k->peer), "%s", peer);
	k->port = port;
	k->after = *r;
	pthread_mutex_unlock(&kept_mu);
}

/* The delay of the fault's netem qdisc as read back (effect's "qdiscs"), in ms; 0: none. */
static double netem_delay_ms(const cJSON *o)
{
	const cJSON *q;

	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(o, "qdiscs"))
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(q, "kind");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(q, "delay_us");

		if (cJSON_IsString(k) && !strcmp(k->valuestring, "netem") && cJSON_IsNumber(d))
			return d->valuedouble / 1000.0;
	}
	return 0;
}

static void judge(cJSON *o, const char *note)
{
	cJSON_ReplaceItemInObjectCaseSensitive(o, "took_effect", cJSON_CreateFalse());
	cJSON_DeleteItemFromObjectCaseSensitive(o, "note");
	cJSON_AddStringToObject(o, "note", note);
}

void fl_nl_measure_effect(const cJSON *undo, cJSON *o)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(undo, "measure");
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(undo, "netns");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(undo, "netns_ino");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(undo, "fault");
	const cJSON *peer = cJSON_GetObjectItemCaseSensitive(m, "peer");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(m, "port");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "before");
	const cJSON *bok = cJSON_GetObjectItemCaseSensitive(b, "answered");
	const cJSON *brtt = cJSON_GetObjectItemCaseSensitive(b, "rtt_ms");
	const cJSON *bat = cJSON_GetObjectItemCaseSensitive(b, "at_ns");
	const cJSON *berr = cJSON_GetObjectItemCaseSensitive(b, "error");
	const cJSON *btries = cJSON_GetObjectItemCaseSensitive(b, "tries");
	unsigned long long nsino = cJSON_IsNumber(ino) ? (unsigned long long)ino->valuedouble : 0;
	struct fl_nl_cidr c;
	struct fl_nl_rtt after;
	bool before_ok, took = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "took_effect"));
	double delay;
	cJSON *x;

	if (!cJSON_IsObject(m))
		return;
	if (!cJSON_IsString(peer) || fl_nl_cidr_parse(peer->valuestring, &c) < 0 ||
	    !cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
	    !cJSON_IsNumber(bok) || !cJSON_IsNumber(bat))
		return;
	/* A fault that is not there (read back) has nothing to measure. */
	if (!took)
		return;
	if (!kept_get(nsino, bat->valuedouble, peer->valuestring, port->valueint, &after)) {
		fl_nl_measure_run(cJSON_IsString(netns) ? netns->valuestring : "", nsino, &c,
				  (uint16_t)port->valueint, &after);
		kept_put(nsino, bat->valuedouble, peer->valuestring, port->valueint, &after);
	}
	x = cJSON_AddObjectToObject(o, "measured");
	if (!x)
		return;
	if ((cJSON_IsNumber(btries) && btries->valuedouble == 0) ||
	    (!after.tries && after.err == -ECANCELED)) {
		/* One side was never measured (a many-pod fault's budget): no verdict. */
		cJSON_AddStringToObject(x, "peer", peer->valuestring);
		cJSON_AddNumberToObject(x, "port", port->valuedouble);
		cJSON_AddStringToObject(x, "note",
					"not measured: the measure budget of this fault's pods "
					"was spent on the pods before this one");
		return;
	}
	before_ok = bok->valuedouble > 0 && cJSON_IsNumber(brtt);
	cJSON_AddStringToObject(x, "peer", peer->valuestring);
	cJSON_AddNumberToObject(x, "port", port->valuedouble);
	if (before_ok)
		cJSON_AddNumberToObject(x, "rtt_before_ms", brtt->valuedouble);
	else
		cJSON_AddTrueToObject(x, "unreachable_before");
	if (!before_ok && cJSON_IsString(berr))
		cJSON_AddStringToObject(x, "error_before", berr->valuestring);
	if (after.ok)
		cJSON_AddNumberToObject(x, "rtt_after_ms", after.rtt_ms);
	else
		cJSON_AddTrueToObject(x, "unreachable_after");
	if (!after.ok && after.err)
		cJSON_AddStringToObject(x, "error_after", strerror(-after.err));
	if (!before_ok) {
		cJSON_AddStringToObject(x, "note",
					"the peer did not answer before the fault either: "
					"the measure proves nothing");
		return;
	}
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "partition")) {
		if (after.ok)
			judge(o, "the measured peer still answers through the partition");
		return;
	}
	delay = cJSON_IsString(kind) && !strcmp(kind->valuestring, "netem") ? netem_delay_ms(o) : 0;
	if (delay >= 1 && after.ok && after.rtt_ms - brtt->valuedouble < delay / 2)
		judge(o, "the measured round trip did not grow by the delay");
}
