/* Netlink sockets, error mapping, interfaces and route lookups. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "faults/nl_common.h"

int fl_nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_IMMUTABLE:
		return -EROFS;
	default:
		return -EIO;
	}
}

int fl_nl_sock_open(struct nl_sock **out, struct fl_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return fl_error_set(err, fl_nl_errno(r), "", "netlink: %s", nl_geterror(r));
	}
	/*
	 * One recvmsg per datagram instead of libnl's peek-then-read: a buffer
	 * larger than any rtnetlink dump datagram (the kernel caps them at 32 KiB).
	 */
	nl_socket_disable_msg_peek(sk);
	r = nl_socket_set_msg_buf_size(sk, 65536);
	if (r < 0) {
		nl_socket_free(sk);
		return fl_error_set(err, fl_nl_errno(r), "", "netlink: %s", nl_geterror(r));
	}
	*out = sk;
	return 0;
}

int fl_nl_send_ack(struct nl_sock *sk, struct nl_msg *msg, const char *what, struct fl_error *err)
{
	int r = nl_send_auto(sk, msg);

	if (r >= 0)
		r = nl_wait_for_ack(sk);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "%s: %s", what, nl_geterror(r));
	return 0;
}

/*
 * The name's index in the socket's netns: SIOCGIFINDEX on the netlink socket
 * itself (an ioctl no socket family claims falls through to dev_ioctl() in the
 * socket's own namespace, the lookup RTM_GETLINK does, alternative names
 * included), one syscall instead of a request for the whole link message and
 * its parse into an rtnl_link.
 */
int fl_nl_ifindex(struct nl_sock *sk, const char *ifname, int *ifindex, struct fl_error *err)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (!*ifname || strlen(ifname) >= sizeof(ifr.ifr_name))
		return fl_error_set(err, -ENODEV, "", "no interface %s here: %s", ifname,
				    strerror(ENODEV));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(nl_socket_get_fd(sk), SIOCGIFINDEX, &ifr) < 0) {
		int e = errno;

		return fl_error_set(err, e == ENODEV ? -ENODEV : -e, "", "no interface %s here: %s",
				    ifname, strerror(e));
	}
	*ifindex = ifr.ifr_ifindex;
	return 0;
}

unsigned long long fl_nl_netns_ino(const char *path)
{
	struct fl_nl_ns_id id;
	int fd;

	if (!path || !*path)
		return 0;
	fd = fl_nl_ns_open(path, &id, NULL);
	if (fd < 0)
		return 0;
	close(fd);
	return id.ino;
}

/*
 * A small process-wide pool of netlink sockets, one per recently used netns,
 * so that a fault's revert (which starts from the journal record alone) and
 * the next fault on the same namespace need no setns + socket + bind. A pooled
 * socket is taken out while in use (a netlink socket is one conversation at a
 * time) and given back drained. A socket pins its netns (the kernel keeps the
 * namespace alive while it exists), so the pool is bounded (POOL_MAX) and an
 * entry idle for POOL_IDLE_NS is freed at the next use of the pool; an entry
 * whose path now names another namespace (another inode) is never handed out.
 */
#define POOL_MAX     8
#define POOL_IDLE_NS (5ULL * 1000000000ULL)

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pooled {
	struct nl_sock *sk;
	unsigned long long dev, ino, used_ns;
	char netns[256];
} pool[POOL_MAX];
static size_t npool;

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Under pool_mu: free entries idle too long. */
static void pool_expire(unsigned long long now)
{
	for (size_t i = 0; i < npool;) {
		if (now - pool[i].used_ns > POOL_IDLE_NS) {
			nl_socket_free(pool[i].sk);
			pool[i] = pool[--npool];
		} else {
			i++;
		}
	}
}

void fl_fault_housekeep(void)
{
	pthread_mutex_lock(&pool_mu);
	pool_expire(mono_ns());
	pthread_mutex_unlock(&pool_mu);
}

static struct nl_sock *pool_take(const char *netns, const struct fl_nl_ns_id *id)
{
	struct nl_sock *sk = NULL;

	pthread_mutex_lock(&pool_mu);
	pool_expire(mono_ns());
	for (size_t i = 0; i < npool; i++)
		if (pool[i].ino == id->ino && pool[i].dev == id->dev &&
		    !strcmp(pool[i].netns, netns)) {
			sk = pool[i].sk;
			pool[i] = pool[--npool];
			break;
		}
	pthread_mutex_unlock(&pool_mu);
	return sk;
}

static void pool_give(struct nl_sock *sk, const char *netns, unsigned long long dev,
		      unsigned long long ino)
{
	unsigned long long now = mono_ns();
	char junk[512];
	size_t oldest = 0;

	/* Whatever an aborted exchange left unread must not meet the next user. */
	for (int i = 0; i < 64; i++)
		if (recv(nl_socket_get_fd(sk), junk, sizeof(junk), MSG_DONTWAIT) < 0)
			break;
	pthread_mutex_lock(&pool_mu);
	pool_expire(now);
	if (npool == POOL_MAX) {
		for (size_t i = 1; i < npool; i++)
			if (pool[i].used_ns < pool[oldest].used_ns)
				oldest = i;
		nl_socket_free(pool[oldest].sk);
		pool[oldest] = pool[--npool];
	}
	pool[npool].sk = sk;
	pool[npool].dev = dev;
	pool[npool].ino = ino;
	pool[npool].used_ns = now;
	snprintf(pool[npool].netns, sizeof(pool[npool].netns), "%s", netns);
	npool++;
	pthread_mutex_unlock(&pool_mu);
}

/*
 * Is the namespace that netns resolves to now one whose socket we hold (c's,
 * or a pooled one)? One stat(2) answers: it opens nothing (a FIFO or device
 * is not waited on) and follows links as fl_nl_ns_open does. A (dev, inode)
 * that a held socket was made for was checked to be a network namespace when
 * that socket was made, and cannot name another while the socket pins it.
 */
static bool ns_known(const struct fl_nl_sock_cache *c, const char *netns, struct fl_nl_ns_id *id)
{
	struct stat st;
	bool known = false;

	if (stat(netns, &st) < 0)
		return false;
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	if (c && c->sk && c->dev == id->dev && c->ino == id->ino)
		return true;
	pthread_mutex_lock(&pool_mu);
	for (size_t i = 0; i < npool && !known; i++)
		known = pool[i].dev == id->dev && pool[i].ino == id->ino;
	pthread_mutex_unlock(&pool_mu);
	return known;
}

int fl_nl_sock_get(struct fl_nl_sock_cache *c, const char *netns, struct nl_sock **sk,
		   struct fl_error *err)
{
	struct fl_nl_ns_id id = {0, 0};
	struct fl_nl_ns ns;
	int fd = -1, r;

	if (!netns)
		netns = "";
	/* A namespace seen before needs no open; a new one is opened and checked. */
	if (*netns && !ns_known(c, netns, &id)) {
		fd = fl_nl_ns_open(netns, &id, err);
		if (fd < 0)
			return fd;
	}
	if (c && c->sk && !strcmp(c->netns, netns)) {
		if (fd >= 0)
			close(fd);
		/* What the plan checked is what apply acts on, or nothing. */
		if (c->ino != id.ino || c->dev != id.dev)
			return fl_error_set(
			    err, -EAGAIN, "",
			    "netns %s names another namespace than it did at the plan", netns);
		*sk = c->sk;
		return 0;
	}
	*sk = pool_take(netns, &id);
	if (!*sk && *netns && fd < 0) {
		/* Known a moment ago, gone from the pool since: open it after all. */
		fd = fl_nl_ns_open(netns, &id, err);
		if (fd < 0)
			return fd;
	}
	if (!*sk) {
		r = fl_nl_ns_enter_fd(fd, &ns, err);
		if (r == 0) {
			r = fl_nl_sock_open(sk, err);
			fl_nl_ns_leave(&ns);
		}
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			return r;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!c)
		return 0;
	fl_nl_sock_cache_done(c);
	c->sk = *sk;
	c->ino = id.ino;
	c->dev = id.dev;
	snprintf(c->netns, sizeof(c->netns), "%s", netns);
	return 0;
}

void fl_nl_sock_put(struct fl_nl_sock_cache *c, struct nl_sock *sk)
{
	if (sk && (!c || c->sk != sk))
		nl_socket_free(sk);
}

void fl_nl_sock_cache_done(struct fl_nl_sock_cache *c)
{
	if (!c)
		return;
	if (c->sk)
		pool_give(c->sk, c->netns, c->dev, c->ino);
	c->sk = NULL;
	c->netns[0] = '\0';
	c->ino = c->dev = 0;
}

struct route_ctx {
	int ifindex;
};

static int route_cb(struct nl_msg *msg, void *arg)
{
	struct route_ctx *c = arg;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh;

	if (rtnl_route_parse(nlmsg_hdr(msg), &rt) < 0)
		return NL_SKIP;
	nh = rtnl_route_nexthop_n(rt, 0);
	if (nh)
		c->ifindex = rtnl_route_nh_get_ifindex(nh);
	rtnl_route_put(rt);
	return NL_OK;
}

int fl_nl_route_ifindex(struct nl_sock *sk, const struct fl_nl_cidr *dst, int *ifindex,
			char *ifname, struct fl_error *err)
{
	bool v6 = fl_nl_cidr_is6(dst);
	struct rtmsg rtm = {.rtm_family = v6 ? AF_INET6 : AF_INET, .rtm_dst_len = v6 ? 128 : 32};
	struct route_ctx c = {0};
	struct nl_msg *msg = NULL;
	struct nl_cb *cb = NULL;
	char a[INET6_ADDRSTRLEN];
	int r;

	inet_ntop(rtm.rtm_family, v6 ? (const void *)&dst->addr6 : (const void *)&dst->addr, a,
		  sizeof(a));
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg || nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (v6 ? nla_put(msg, RTA_DST, sizeof(dst->addr6), &dst->addr6)
		: nla_put(msg, RTA_DST, sizeof(dst->addr), &dst->addr)) < 0) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	cb = fl_nl_cb_clone(sk);
	if (!cb) {
		r = fl_error_set(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_cb, &c);
	/*
	 * The reply and the ACK arrive as two datagrams: nl_recvmsgs takes the
	 * reply (not multipart, so it returns after it), then the ACK (as libnl's
	 * own rtnl_link_get_kernel does); an error comes alone, in place of both.
	 */
	r = nl_send_auto(sk, msg);
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	if (r >= 0)
		r = nl_wait_for_ack(sk);
	if (r < 0) {
		r = fl_error_set(
		    err, r == -NLE_NOADDR || r == -NLE_OBJ_NOTFOUND ? -ENETUNREACH : fl_nl_errno(r),
		    "", "no route to %s: %s", a, nl_geterror(r));
		goto out;
	}
	if (c.ifindex <= 0) {
		r = fl_error_set(err, -ENETUNREACH, "", "no interface routes to %s", a);
		goto out;
	}
	*ifindex = c.ifindex;
	if (ifname) {
		/*
		 * The name in the socket's netns: if_indextoname(3) would ask the
		 * calling thread's netns, where this index may be another device.
		 */
		struct rtnl_link *link = NULL;

		r = rtnl_link_get_kernel(sk, c.ifindex, NULL, &link);
		if (r < 0) {
			r = fl_error_set(err, fl_nl_errno(r), "", "interface %d: %s", c.ifindex,
					 nl_geterror(r));
			goto out;
		}
		snprintf(ifname, IF_NAMESIZE, "%s", rtnl_link_get_name(link));
		rtnl_link_put(link);
	}
	r = 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return r;
}

int fl_nl_target_resolve(struct nl_sock *sk, const struct fl_nl_target *t, int *ifindex,
			 char *ifname, struct fl_error *err)
{
	if (t->ifname[0]) {
		snprintf(ifname, IF_NAMESIZE, "%s", t->ifname);
		return fl_nl_ifindex(sk, t->ifname, ifindex, err);
	}
	return fl_nl_route_ifindex(sk, &t->route_to, ifindex, ifname, err);
}

struct nl_cb *fl_nl_cb_clone(struct nl_sock *sk)
{
	struct nl_cb *ref = nl_socket_get_cb(sk); /* a new reference */
	struct nl_cb *cb = ref ? nl_cb_clone(ref) : NULL;

	nl_cb_put(ref);
	return cb;
}

int fl_nl_ifb_add(struct nl_sock *sk, const char *name, int *ifindex, struct fl_error *err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r;

	if (!l)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	rtnl_link_set_name(l, name);
	rtnl_link_set_flags(l, IFF_UP);
	r = rtnl_link_set_type(l, "ifb");
	if (r == 0)
		r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "adding ifb device %s: %s", name,
				    nl_geterror(r));
	return ifindex ? fl_nl_ifindex(sk, name, ifindex, err) : 0;
}

int fl_nl_link_del(struct nl_sock *sk, const char *name, struct fl_error *err)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r;

	if (!l)
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	rtnl_link_set_name(l, name);
	r = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
		return 0; /* gone already */
	if (r < 0)
		return fl_error_set(err, fl_nl_errno(r), "", "deleting device %s: %s", name,
				    nl_geterror(r));
	return 0;
}
