/* The syscall fault rule syntax: parser and canonical formatter. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/duration.h"
#include "preload/rules.h"

static const char *const fn_names[FL_FN__MAX] = {
    [FL_FN_READ] = "read",	     [FL_FN_WRITE] = "write",
    [FL_FN_PREAD] = "pread",	     [FL_FN_PWRITE] = "pwrite",
    [FL_FN_READV] = "readv",	     [FL_FN_WRITEV] = "writev",
    [FL_FN_OPEN] = "open",	     [FL_FN_OPENAT] = "openat",
    [FL_FN_CLOSE] = "close",	     [FL_FN_FSYNC] = "fsync",
    [FL_FN_FDATASYNC] = "fdatasync", [FL_FN_CONNECT] = "connect",
    [FL_FN_ACCEPT] = "accept",	     [FL_FN_SEND] = "send",
    [FL_FN_SENDTO] = "sendto",	     [FL_FN_SENDMSG] = "sendmsg",
    [FL_FN_RECV] = "recv",	     [FL_FN_RECVFROM] = "recvfrom",
    [FL_FN_RECVMSG] = "recvmsg",     [FL_FN_GETADDRINFO] = "getaddrinfo",
};

/* Other libc names that land in the same hook family. */
static const struct {
	const char *name;
	unsigned fn;
} fn_aliases[] = {
    {"pread64", FL_FN_PREAD},	{"pwrite64", FL_FN_PWRITE}, {"open64", FL_FN_OPEN},
    {"openat64", FL_FN_OPENAT}, {"accept4", FL_FN_ACCEPT},
};

#define FN_BIT(f) (1u << (f))
/* Which filters and actions make sense for which functions. */
#define FNS_SHORT                                                                                  \
	(FN_BIT(FL_FN_READ) | FN_BIT(FL_FN_WRITE) | FN_BIT(FL_FN_PREAD) | FN_BIT(FL_FN_PWRITE) |   \
	 FN_BIT(FL_FN_READV) | FN_BIT(FL_FN_WRITEV) | FN_BIT(FL_FN_SEND) | FN_BIT(FL_FN_SENDTO) |  \
	 FN_BIT(FL_FN_SENDMSG) | FN_BIT(FL_FN_RECV) | FN_BIT(FL_FN_RECVFROM) |                     \
	 FN_BIT(FL_FN_RECVMSG))
#define FNS_SOCKET                                                                                 \
	(FN_BIT(FL_FN_CONNECT) | FN_BIT(FL_FN_ACCEPT) | FN_BIT(FL_FN_SEND) |                       \
	 FN_BIT(FL_FN_SENDTO) | FN_BIT(FL_FN_SENDMSG) | FN_BIT(FL_FN_RECV) |                       \
	 FN_BIT(FL_FN_RECVFROM) | FN_BIT(FL_FN_RECVMSG))
#define FNS_PATH                                                                                   \
	(FN_BIT(FL_FN_READ) | FN_BIT(FL_FN_WRITE) | FN_BIT(FL_FN_PREAD) | FN_BIT(FL_FN_PWRITE) |   \
	 FN_BIT(FL_FN_READV) | FN_BIT(FL_FN_WRITEV) | FN_BIT(FL_FN_OPEN) | FN_BIT(FL_FN_OPENAT) |  \
	 FN_BIT(FL_FN_CLOSE) | FN_BIT(FL_FN_FSYNC) | FN_BIT(FL_FN_FDATASYNC))
#define FNS_FD                                                                                     \
	(((1u << FL_FN__MAX) - 1) &                                                                \
	 ~(FN_BIT(FL_FN_OPEN) | FN_BIT(FL_FN_OPENAT) | FN_BIT(FL_FN_GETADDRINFO)))
#define FNS_HOST FN_BIT(FL_FN_GETADDRINFO)

/* clang-format off */
#define ERRNOS(X) \
	X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) \
	X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST) X(EXDEV) \
	X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY) \
	X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) \
	X(EDEADLK) X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG) \
	X(ENODATA) X(ETIME) X(EPROTO) X(EBADMSG) X(EOVERFLOW) X(EILSEQ) X(EUSERS) \
	X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) X(EPROTOTYPE) X(ENOPROTOOPT) \
	X(EPROTONOSUPPORT) X(EOPNOTSUPP) X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) \
	X(ENETDOWN) X(ENETUNREACH) X(ENETRESET) X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS) \
	X(EISCONN) X(ENOTCONN) X(ESHUTDOWN) X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTDOWN) \
	X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ESTALE) X(EDQUOT) X(ECANCELED) \
	X(EOWNERDEAD) X(ENOTRECOVERABLE) X(ENOTSUP) X(EWOULDBLOCK)
/* clang-format on */

static const struct {
	const char *name;
	int value;
} errnos[] = {
#define E(n) {#n, n},
    ERRNOS(E)
#undef E
};

static const struct {
	const char *name;
	int value;
} gais[] = {
    {"EAI_BADFLAGS", EAI_BADFLAGS},	{"EAI_NONAME", EAI_NONAME},
    {"EAI_AGAIN", EAI_AGAIN},		{"EAI_FAIL", EAI_FAIL},
    {"EAI_FAMILY", EAI_FAMILY},		{"EAI_SOCKTYPE", EAI_SOCKTYPE},
    {"EAI_SERVICE", EAI_SERVICE},	{"EAI_MEMORY", EAI_MEMORY},
    {"EAI_OVERFLOW", EAI_OVERFLOW},	{"EAI_NODATA", EAI_NODATA},
    {"EAI_ADDRFAMILY", EAI_ADDRFAMILY},
};

int fl_preload_fn_lookup(const char *name)
{
	if (!name)
		return -ENOENT;
	for (unsigned i = 0; i < FL_FN__MAX; i++)
		if (!strcmp(fn_names[i], name))
			return (int)i;
	for (size_t i = 0; i < FL_ARRAY_SIZE(fn_aliases); i++)
		if (!strcmp(fn_aliases[i].name, name))
			return (int)fn_aliases[i].fn;
	return -ENOENT;
}

const char *fl_preload_fn_name(unsigned fn)
{
	return fn < FL_FN__MAX ? fn_names[fn] : NULL;
}

int fl_preload_errno_lookup(const char *name)
{
	for (size_t i = 0; name && i < FL_ARRAY_SIZE(errnos); i++)
		if (!strcmp(errnos[i].name, name))
			return errnos[i].value;
	return -ENOENT;
}

const char *fl_preload_errno_name(int err)
{
	for (size_t i = 0; i < FL_ARRAY_SIZE(errnos); i++)
		if (errnos[i].value == err)
			return errnos[i].name;
	return NULL;
}

static int gai_lookup(const char *name)
{
	for (size_t i = 0; i < FL_ARRAY_SIZE(gais); i++)
		if (!strcmp(gais[i].name, name))
			return gais[i].value;
	return 0;
}

static const char *gai_name(int v)
{
	for (size_t i = 0; i < FL_ARRAY_SIZE(gais); i++)
		if (gais[i].value == v)
			return gais[i].name;
	return NULL;
}

/* Unsigned decimal, whole string, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * prob := digits [ "." digits ] [ "%" ]      0 <= value <= 1 (or <= 100%)
 * Parsed without strtod so that the locale cannot change the decimal point.
 * The result is a threshold on 32 random bits; 1.0 is returned as 2^32.
 */
static int parse_prob(const char *s, uint64_t *thr)
{
	uint64_t whole = 0, frac = 0, div = 1, scale = 1;
	const char *p = s;
	double v;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (uint64_t)(*p - '0')) > 100)
			return -ERANGE;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (div >= 1000000000000ULL)
				continue;
			frac = frac * 10 + (uint64_t)(*p - '0');
			div *= 10;
		}
	}
	if (*p == '%') {
		scale = 100;
		p++;
	}
	if (*p)
		return -EINVAL;
	v = ((double)whole + (double)frac / (double)div) / (double)scale;
	if (v > 1.0)
		return -ERANGE;
	*thr = (uint64_t)(v * 4294967296.0 + 0.5);
	return 0;
}

/* when := first [ ".." last ] [ "+" [ step ] ]      (1-based, like strace's when=F..L+S) */
static int parse_when(const char *s, struct fl_shm_rule *r)
{
	char buf[64];
	char *plus, *dots;
	uint64_t first, last, step = 1;
	int rc;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	plus = strchr(buf, '+');
	if (plus) {
		*plus++ = '\0';
		if (*plus && (rc = parse_u64(plus, UINT32_MAX, &step)) < 0)
			return rc;
		if (!step)
			return -EINVAL;
	}
	dots = strstr(buf, "..");
	if (dots)
		*dots = '\0';
	if ((rc = parse_u64(buf, UINT64_MAX - 1, &first)) < 0)
		return rc;
	if (!first)
		return -EINVAL;
	if (dots) {
		if ((rc = parse_u64(dots + 2, UINT64_MAX - 1, &last)) < 0)
			return rc;
		if (last < first)
			return -EINVAL;
	} else {
		/* "F" alone is only the F-th call; "F+" and "F+S" run on without end. */
		last = plus ? UINT64_MAX : first;
	}
	r->when_first = first;
	r->when_last = last;
	r->when_step = step;
	return 0;
}

static int parse_addr(const char *s, struct fl_shm_rule *r)
{
	char buf[64];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return -EINVAL;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -EINVAL;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, s, n + 1);
	}
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->addr_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->addr_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) >= FL_RULE_FUNC_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int rule_error(struct fl_error *err, const char *text, const char *token, const char *msg)
{
	if (token)
		return fl_error_set(err, -EINVAL, "", "rule \"%s\": \"%s\": %s", text, token, msg);
	return fl_error_set(err, -EINVAL, "", "rule \"%s\": %s", text, msg);
}

/*
 * Grammar (fields separated by ':'; a value may contain ':' as "\:", '\' as
 * "\\"; an IPv6 address may be bracketed, "[::1]"):
 *
 *   rule  := funcs ( ":" item )*
 *   funcs := func ( "," func )*       hooked libc names: read write pread pwrite readv
 *                                     writev open openat close fsync fdatasync connect
 *                                     accept send sendto sendmsg recv recvfrom recvmsg
 *                                     getaddrinfo (aliases pread64 pwrite64 open64
 *                                     openat64 accept4); with FL_RULE_PARSE_SYSCALL,
 *                                     any syscall name
 *   item  := ERRNO                    EIO, ECONNRESET, ...; getaddrinfo: EAI_NONAME, ...
 *                                     (an errno there means EAI_SYSTEM with that errno)
 *          | "errno=" ERRNO
 *          | "delay=" duration        e.g. 200ms, 1.5s, 100us (then the call proceeds,
 *                                     unless an errno is also given)
 *          | "short=" count           transfer at most count bytes (read/write family)
 *          | "p=" prob                0..1 or percent, e.g. 0.1 or 10%
 *          | "when=" when             when := first [".." last] ["+" [step]], 1-based,
 *                                     counted over the calls the filters let through:
 *                                     3 = 3rd only, 3+ = 3rd on, 3+2 = 3rd, 5th, ...,
 *                                     3..10 = 3rd to 10th, 3..10+2 = 3rd, 5th, 7th, 9th
 *          | "fd=" int                the call's descriptor (seccomp: first argument)
 *          | "path=" prefix           open/openat: the path as given; fd calls: the
 *                                     file the descriptor refers to (/proc/self/fd)
 *          | "port=" 1..65535         peer port (accept: the listening port)
 *          | "addr=" ip               peer address, IPv4 or IPv6
 *          | "host=" name             getaddrinfo node, case-insensitive
 *
 * A rule needs at least one action (ERRNO, delay, short); ERRNO and short
 * exclude each other; every filter must apply to every function named; a key
 * may appear once.
 */
int fl_preload_rule_parse(const char *text, unsigned flags, struct fl_preload_rule *out,
			  struct fl_error *err)
{
	struct fl_preload_rule r;
	bool syscalls = flags & FL_RULE_PARSE_SYSCALL;
	char tok[FL_RULE_TEXT_MAX];
	const char *p;
	bool first_field = true;
	uint32_t seen = 0;

	if (!text || !*text)
		return fl_error_set(err, -EINVAL, "", "empty rule");
	if (strlen(text) >= FL_RULE_TEXT_MAX)
		return fl_error_set(err, -E2BIG, "", "rule longer than %d bytes",
				    FL_RULE_TEXT_MAX - 1);
	memset(&r, 0, sizeof(r));
	p = text;
	while (*p || first_field) {
		size_t n = 0;
		int depth = 0;
		char *val;

		/* Next field, unescaped into tok. */
		for (; *p && (*p != ':' || depth); p++) {
			if (*p == '\\' && (p[1] == ':' || p[1] == '\\'))
				p++;
			else if (*p == '[' && n >= 5 && !strncmp(tok, "addr=", 5))
				depth++;
			else if (*p == ']' && depth)
				depth--;
			tok[n++] = *p;
		}
		tok[n] = '\0';
		if (*p == ':') {
			p++;
			if (!*p)
				return rule_error(err, text, NULL, "ends with ':'");
		}
		if (!n)
			return rule_error(err, text, NULL, "empty field");

		if (first_field) {
			char *save = NULL;

			first_field = false;
			for (char *f = strtok_r(tok, ",", &save); f;
			     f = strtok_r(NULL, ",", &save)) {
				int fn;

				if (r.nfuncs == FL_RULE_FUNCS_MAX)
					return rule_error(err, text, f, "too many functions");
				if (syscalls) {
					if (!name_ok(f))
						return rule_error(err, text, f,
								  "not a syscall name");
				} else {
					fn = fl_preload_fn_lookup(f);
					if (fn < 0)
						return rule_error(err, text, f,
								  "not a hooked function (see "
								  "docs/faults/syscall.md)");
					r.shm.fn_mask |= 1u << fn;
				}
				snprintf(r.funcs[r.nfuncs++], FL_RULE_FUNC_LEN, "%s", f);
			}
			if (!r.nfuncs)
				return rule_error(err, text, NULL, "no function named");
			continue;
		}

		val = strchr(tok, '=');
		if (!val) {
			/* A bare errno name. */
			int e = fl_preload_errno_lookup(tok), g = gai_lookup(tok);

			if (e < 0 && !g)
				return rule_error(err, text, tok, "unknown errno name");
			if (r.shm.flags & FL_RULE_ERRNO)
				return rule_error(err, text, tok, "errno given twice");
			if (g && r.shm.fn_mask != FN_BIT(FL_FN_GETADDRINFO))
				return rule_error(err, text, tok,
						  "EAI_* codes are for getaddrinfo only");
			r.shm.flags |= FL_RULE_ERRNO;
			if (g) {
				r.shm.gai = g;
				r.shm.err = g == EAI_SYSTEM ? EIO : 0;
			} else {
				r.shm.err = e;
			}
			continue;
		}
		*val++ = '\0';

#define ONCE(bit)                                                                                  \
	do {                                                                                       \
		if (seen & (bit))                                                                  \
			return rule_error(err, text, tok, "given twice");                          \
		seen |= (bit);                                                                     \
	} while (0)
		if (!strcmp(tok, "errno")) {
			int e = fl_preload_errno_lookup(val);
			uint64_t num;

			if (e < 0 && parse_u64(val, 4095, &num) == 0 && num > 0)
				e = (int)num;
			if (e < 0)
				return rule_error(err, text, val, "unknown errno name");
			if (r.shm.flags & FL_RULE_ERRNO)
				return rule_error(err, text, tok, "errno given twice");
			r.shm.flags |= FL_RULE_ERRNO;
			r.shm.err = e;
		} else if (!strcmp(tok, "delay")) {
			uint64_t us;

			ONCE(FL_RULE_DELAY);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (fl_duration_parse_us(val, 1000, &us) < 0)
				return rule_error(
				    err, text, val,
				    "expected a duration like 200ms (at most 7 days)");
			r.shm.flags |= FL_RULE_DELAY;
			r.shm.delay_ns = us * 1000;
		} else if (!strcmp(tok, "short")) {
			ONCE(FL_RULE_SHORT);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_u64(val, SIZE_MAX, &r.shm.short_len) < 0)
				return rule_error(err, text, val, "expected a byte count");
			r.shm.flags |= FL_RULE_SHORT;
		} else if (!strcmp(tok, "p")) {
			uint64_t thr;

			ONCE(FL_RULE_PROB);
			if (parse_prob(val, &thr) < 0)
				return rule_error(
				    err, text, val,
				    "expected a probability from 0 to 1 (or 0% to 100%)");
			/* p=1 is the same as no p at all. */
			if (thr < 4294967296ULL) {
				r.shm.flags |= FL_RULE_PROB;
				r.shm.prob = (uint32_t)thr;
			}
		} else if (!strcmp(tok, "when")) {
			ONCE(FL_RULE_WHEN);
			if (parse_when(val, &r.shm) < 0)
				return rule_error(
				    err, text, val,
				    "expected first[..last][+[step]], counting from 1");
			r.shm.flags |= FL_RULE_WHEN;
		} else if (!strcmp(tok, "fd")) {
			uint64_t fd;

			ONCE(FL_RULE_FD);
			if (parse_u64(val, INT32_MAX, &fd) < 0)
				return rule_error(err, text, val, "expected a descriptor number");
			r.shm.flags |= FL_RULE_FD;
			r.shm.fd = (int32_t)fd;
		} else if (!strcmp(tok, "path")) {
			ONCE(FL_RULE_PATH);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (strlen(val) >= FL_SHM_PATH_MAX)
				return rule_error(err, text, val, "path prefix too long");
			r.shm.flags |= FL_RULE_PATH;
			strcpy(r.shm.path, val);
			r.shm.path_len = (uint8_t)strlen(val);
		} else if (!strcmp(tok, "port")) {
			uint64_t port;

			ONCE(FL_RULE_PORT);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_u64(val, 65535, &port) < 0 || !port)
				return rule_error(err, text, val,
						  "expected a port from 1 to 65535");
			r.shm.flags |= FL_RULE_PORT;
			r.shm.port = (uint16_t)port;
		} else if (!strcmp(tok, "addr")) {
			ONCE(FL_RULE_ADDR);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_addr(val, &r.shm) < 0)
				return rule_error(err, text, val,
						  "expected an IPv4 or IPv6 address");
			r.shm.flags |= FL_RULE_ADDR;
		} else if (!strcmp(tok, "host")) {
			ONCE(FL_RULE_HOST);
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (!*val || strlen(val) >= FL_SHM_HOST_MAX)
				return rule_error(err, text, val, "expected a host name");
			r.shm.flags |= FL_RULE_HOST;
			strcpy(r.shm.host, val);
		} else {
			return rule_error(err, text, tok, "unknown key");
		}
#undef ONCE
	}

	/* Cross-field checks, before anything is handed out. */
	if (!(r.shm.flags & (FL_RULE_ERRNO | FL_RULE_DELAY | FL_RULE_SHORT)))
		return rule_error(err, text, NULL, "no action: give an errno, delay= or short=");
	if ((r.shm.flags & FL_RULE_ERRNO) && (r.shm.flags & FL_RULE_SHORT))
		return rule_error(err, text, NULL, "an errno and short= exclude each other");
	if (!syscalls) {
		static const struct {
			uint32_t flag, fns;
			const char *what;
		} applies[] = {
		    {FL_RULE_SHORT, FNS_SHORT, "short= applies to read/write/send/recv calls only"},
		    {FL_RULE_FD, FNS_FD, "fd= does not apply to open, openat or getaddrinfo"},
		    {FL_RULE_PATH, FNS_PATH, "path= applies to file calls only"},
		    {FL_RULE_PORT, FNS_SOCKET, "port= applies to socket calls only"},
		    {FL_RULE_ADDR, FNS_SOCKET, "addr= applies to socket calls only"},
		    {FL_RULE_HOST, FNS_HOST, "host= applies to getaddrinfo only"},
		};

		for (size_t i = 0; i < FL_ARRAY_SIZE(applies); i++)
			if ((r.shm.flags & applies[i].flag) && (r.shm.fn_mask & ~applies[i].fns))
				return rule_error(err, text, NULL, applies[i].what);
	}
	*out = r;
	return 0;
}

static int add_escaped(struct fl_buf *out, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		if (*s == ':' || *s == '\\')
			rc = fl_buf_add(out, "\\", 1);
		if (rc == 0)
			rc = fl_buf_add(out, s, 1);
	}
	return rc;
}

int fl_preload_rule_format(const struct fl_preload_rule *r, struct fl_buf *out)
{
	const struct fl_shm_rule *s = &r->shm;
	char tmp[64];
	int rc = 0;

	for (unsigned i = 0; i < r->nfuncs && rc == 0; i++)
		rc = fl_buf_printf(out, "%s%s", i ? "," : "", r->funcs[i]);
	if (rc == 0 && (s->flags & FL_RULE_ERRNO)) {
		const char *n = s->gai ? gai_name(s->gai) : fl_preload_errno_name(s->err);

		rc = n ? fl_buf_printf(out, ":%s", n) : fl_buf_printf(out, ":errno=%d", s->err);
	}
	if (rc == 0 && (s->flags & FL_RULE_DELAY))
		rc = fl_buf_printf(out, ":delay=%s",
				   fl_duration_fmt(s->delay_ns / 1000, tmp, sizeof(tmp)));
	if (rc == 0 && (s->flags & FL_RULE_SHORT))
		rc = fl_buf_printf(out, ":short=%llu", (unsigned long long)s->short_len);
	if (rc == 0 && (s->flags & FL_RULE_PROB))
		rc = fl_buf_printf(out, ":p=%.10g", (double)s->prob / 4294967296.0);
	if (rc == 0 && (s->flags & FL_RULE_WHEN)) {
		rc = fl_buf_printf(out, ":when=%llu", (unsigned long long)s->when_first);
		if (rc == 0 && s->when_last != s->when_first && s->when_last != UINT64_MAX)
			rc = fl_buf_printf(out, "..%llu", (unsigned long long)s->when_last);
		if (rc == 0 && s->when_last == UINT64_MAX)
			rc = fl_buf_printf(out, "+%llu", (unsigned long long)s->when_step);
		else if (rc == 0 && s->when_step > 1)
			rc = fl_buf_printf(out, "+%llu", (unsigned long long)s->when_step);
	}
	if (rc == 0 && (s->flags & FL_RULE_FD))
		rc = fl_buf_printf(out, ":fd=%d", s->fd);
	if (rc == 0 && (s->flags & FL_RULE_PATH)) {
		rc = fl_buf_add(out, ":path=", 6);
		if (rc == 0)
			rc = add_escaped(out, s->path);
	}
	if (rc == 0 && (s->flags & FL_RULE_PORT))
		rc = fl_buf_printf(out, ":port=%u", s->port);
	if (rc == 0 && (s->flags & FL_RULE_ADDR)) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(s->addr_family, s->addr, a, sizeof(a));
		rc = fl_buf_printf(out, s->addr_family == AF_INET6 ? ":addr=[%s]" : ":addr=%s", a);
	}
	if (rc == 0 && (s->flags & FL_RULE_HOST)) {
		rc = fl_buf_add(out, ":host=", 6);
		if (rc == 0)
			rc = add_escaped(out, s->host);
	}
	return rc;
}
