/* The fault rule syntax of the shim and the seccomp path: parser and canonical formatter. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "core/duration.h"
#include "preload/rules.h"

static const char *const fn_names[FL_FN__MAX] = {
    [FL_FN_READ] = "read",
    [FL_FN_WRITE] = "write",
    [FL_FN_PREAD] = "pread",
    [FL_FN_PWRITE] = "pwrite",
    [FL_FN_READV] = "readv",
    [FL_FN_WRITEV] = "writev",
    [FL_FN_OPEN] = "open",
    [FL_FN_OPENAT] = "openat",
    [FL_FN_CLOSE] = "close",
    [FL_FN_FSYNC] = "fsync",
    [FL_FN_FDATASYNC] = "fdatasync",
    [FL_FN_CONNECT] = "connect",
    [FL_FN_ACCEPT] = "accept",
    [FL_FN_SEND] = "send",
    [FL_FN_SENDTO] = "sendto",
    [FL_FN_SENDMSG] = "sendmsg",
    [FL_FN_RECV] = "recv",
    [FL_FN_RECVFROM] = "recvfrom",
    [FL_FN_RECVMSG] = "recvmsg",
    [FL_FN_GETADDRINFO] = "getaddrinfo",
    /* Families the rule kinds arm; not names of call rules. */
    [FL_FN_CLOCK] = "clock_gettime",
    [FL_FN_GETHOSTBYNAME] = "gethostbyname",
    [FL_FN_RES_QUERY] = "res_query",
    [FL_FN_WAIT] = "poll",
    [FL_FN_SHUTDOWN] = "shutdown",
};

/* Families a call rule may name (the later ones belong to the rule kinds). */
#define FL_FN_CALL_MAX FL_FN_CLOCK

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
	for (unsigned i = 0; i < FL_FN_CALL_MAX; i++)
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
	/* "3..3+2" is the 3rd call only: no step there ("3+2" would run on without end). */
	r->when_step = last == first ? 1 : step;
	return 0;
}

/* ip := IPv4 | IPv6 | "[" IPv6 "]" (the first n bytes of s) */
static int parse_ip(const char *s, size_t n, uint8_t *fam, uint8_t out[16])
{
	char buf[64];

	if (n >= sizeof(buf))
		return -EINVAL;
	if (n && s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -EINVAL;
		s++;
		n -= 2;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, buf, out) == 1) {
		*fam = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out) == 1) {
		*fam = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* addr := ip [ "/" prefix-length ]; the bits past the prefix are cleared. */
static int parse_addr(const char *s, struct fl_shm_rule *r)
{
	const char *slash = strrchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits, max;

	if (parse_ip(s, n, &r->addr_family, r->addr) < 0)
		return -EINVAL;
	max = r->addr_family == AF_INET ? 32 : 128;
	bits = max;
	if (slash && parse_u64(slash + 1, max, &bits) < 0)
		return -EINVAL;
	r->addr_prefix = (uint8_t)bits;
	for (unsigned i = 0; i < max / 8; i++) {
		if (i * 8 >= bits)
			r->addr[i] = 0;
		else if (i * 8 + 8 > bits)
			r->addr[i] &= (uint8_t)(0xff00u >> (bits % 8));
	}
	return 0;
}

/* size := digits [ "b" | "k" | "kb" | "m" | "mb" | "g" | "gb" ]      (powers of 1024) */
static int parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {{"", 1},		{"b", 1},	    {"k", 1024},
		     {"kb", 1024},	{"m", 1024 * 1024}, {"mb", 1024 * 1024},
		     {"g", 1ULL << 30}, {"gb", 1ULL << 30}};
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t v;

	if (!n || n >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_u64(digits, UINT64_MAX, &v) < 0)
		return -ERANGE;
	for (size_t i = 0; i < FL_ARRAY_SIZE(units); i++) {
		if (strcasecmp(s + n, units[i].unit))
			continue;
		if (v > (1ULL << 40) / units[i].mult)
			return -ERANGE; /* 1 TiB is plenty for a byte limit */
		*out = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

/*
 * rate := number unit      unit := bit | kbit | mbit | gbit   (bits per second)
 *                                | bps | kbps | mbps | gbps   (bytes per second)
 * As tc writes them (kbps is kilobytes); decimal multiples; at least 1 byte/s.
 */
static int parse_rate(const char *s, uint64_t *bytes_per_s)
{
	static const struct {
		const char *unit;
		uint64_t num, den; /* bytes per second per unit */
	} units[] = {{"bit", 1, 8},	      {"kbit", 1000, 8},      {"mbit", 1000000, 8},
		     {"gbit", 1000000000, 8}, {"bps", 1, 1},	      {"kbps", 1000, 1},
		     {"mbps", 1000000, 1},    {"gbps", 1000000000, 1}};
	uint64_t whole = 0, frac = 0, div = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	/* Up to 10^14 of any unit (more is out of range anyway: at most 10^13 bytes/s). */
	for (; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (uint64_t)(*p - '0')) > 100000000000000ULL)
			return -ERANGE;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (div >= 1000000000ULL)
				continue;
			frac = frac * 10 + (uint64_t)(*p - '0');
			div *= 10;
		}
	}
	for (size_t i = 0; i < FL_ARRAY_SIZE(units); i++) {
		long double v;

		if (strcasecmp(p, units[i].unit))
			continue;
		v = ((long double)whole + (long double)frac / (long double)div) *
		    (long double)units[i].num / (long double)units[i].den;
		if (v > 1e13L)
			return -ERANGE;
		if (v < 1.0L)
			return -ERANGE;
		*bytes_per_s = (uint64_t)(v + 0.5L);
		return 0;
	}
	return -EINVAL;
}

/*
 * offset := [ "+" | "-" ] part+       part := digits [ "." digits ] unit
 * unit := "ns" | "us" | "ms" | "s" | "m" | "h" | "d"     e.g. -90s, +1h30m, 1.5d
 * At most 100 years either way.
 */
#define FL_OFFSET_MAX_NS (36500LL * 86400 * 1000000000LL)
static int parse_offset(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000LL},
		     {"m", 60LL * 1000000000LL},
		     {"h", 3600LL * 1000000000LL},
		     {"d", 86400LL * 1000000000LL}};
	const char *p = s;
	long double total = 0;
	int sign = 1;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!*p)
		return -EINVAL;
	while (*p) {
		long double v = 0, scale = 1;
		size_t best = 0, blen = 0;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (*p - '0');
			if (v > 1e20L)
				return -ERANGE;
		}
		if (*p == '.') {
			if (*++p < '0' || *p > '9')
				return -EINVAL;
			for (; *p >= '0' && *p <= '9'; p++)
				v += (*p - '0') * (scale /= 10);
		}
		/* The longest unit that matches ("ms" before "m"). */
		for (size_t i = 0; i < FL_ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);

			if (!strncmp(p, units[i].unit, l) && l > blen) {
				best = i;
				blen = l;
			}
		}
		if (!blen)
			return -EINVAL;
		p += blen;
		total += v * (long double)units[best].ns;
		if (total > (long double)FL_OFFSET_MAX_NS)
			return -ERANGE;
	}
	*out = sign * (int64_t)(total + 0.5L);
	return 0;
}

static void format_offset(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {{"d", 86400LL * 1000000000LL},
		     {"h", 3600LL * 1000000000LL},
		     {"m", 60LL * 1000000000LL},
		     {"s", 1000000000LL},
		     {"ms", 1000000},
		     {"us", 1000},
		     {"ns", 1}};
	uint64_t a = ns < 0 ? (uint64_t) - (ns + 1) + 1 : (uint64_t)ns;

	for (size_t i = 0; i < FL_ARRAY_SIZE(units); i++)
		if (a % (uint64_t)units[i].ns == 0 || i + 1 == FL_ARRAY_SIZE(units)) {
			snprintf(buf, len, "%c%llu%s", ns < 0 ? '-' : '+',
				 (unsigned long long)(a / (uint64_t)units[i].ns), units[i].unit);
			return;
		}
}

/* Clock families of clock=: each name stands for every clock id of its kind. */
static const struct {
	const char *name;
	uint32_t mask;
} clock_families[] = {
    {"realtime", (1u << CLOCK_REALTIME) | (1u << CLOCK_REALTIME_COARSE) |
		     (1u << CLOCK_REALTIME_ALARM) | (1u << CLOCK_TAI)},
    {"monotonic",
     (1u << CLOCK_MONOTONIC) | (1u << CLOCK_MONOTONIC_COARSE) | (1u << CLOCK_MONOTONIC_RAW)},
    {"boottime", (1u << CLOCK_BOOTTIME) | (1u << CLOCK_BOOTTIME_ALARM)},
};

/* clocks := family ( "," family )* */
static int parse_clocks(const char *s, uint32_t *mask)
{
	char buf[64], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < FL_ARRAY_SIZE(clock_families); i++)
			if (!strcmp(t, clock_families[i].name))
				break;
		if (i == FL_ARRAY_SIZE(clock_families) || (*mask & clock_families[i].mask))
			return -EINVAL;
		*mask |= clock_families[i].mask;
	}
	return *mask ? 0 : -EINVAL;
}

/* The rule kinds and their heads. */
static const struct {
	const char *name;
	uint8_t kind, op;
} heads[] = {
    {"time", FL_KIND_TIME, 0},
    {"dns", FL_KIND_DNS, 0},
    {"reset_peer", FL_KIND_STREAM, FL_STREAM_RESET_PEER},
    {"slow_close", FL_KIND_STREAM, FL_STREAM_SLOW_CLOSE},
    {"timeout", FL_KIND_STREAM, FL_STREAM_TIMEOUT},
    {"limit_data", FL_KIND_STREAM, FL_STREAM_LIMIT_DATA},
    {"slicer", FL_KIND_STREAM, FL_STREAM_SLICER},
    {"bandwidth", FL_KIND_STREAM, FL_STREAM_BANDWIDTH},
};

const char *fl_preload_rule_kind_name(const struct fl_preload_rule *r)
{
	for (size_t i = 0; i < FL_ARRAY_SIZE(heads); i++)
		if (heads[i].kind == r->shm.kind && heads[i].op == r->shm.op)
			return heads[i].name;
	return r->shm.kind == FL_KIND_CALL ? "syscall" : NULL;
}

static const struct {
	const char *name;
	uint8_t op;
} dns_ops[] = {{"NXDOMAIN", FL_DNS_NXDOMAIN}, {"SERVFAIL", FL_DNS_SERVFAIL}};

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

/* The keys of items, for "given twice" and "not for this kind of rule". */
enum {
	K_ERRNO = 1u << 0,
	K_DELAY = 1u << 1,
	K_SHORT = 1u << 2,
	K_P = 1u << 3,
	K_WHEN = 1u << 4,
	K_FD = 1u << 5,
	K_PATH = 1u << 6,
	K_PORT = 1u << 7,
	K_ADDR = 1u << 8,
	K_HOST = 1u << 9,
	K_OFFSET = 1u << 10,
	K_CLOCK = 1u << 11,
	K_ANSWER = 1u << 12, /* NXDOMAIN, SERVFAIL, timeout=, answer= */
	K_LPORT = 1u << 13,
	K_DIR = 1u << 14,
	K_BYTES = 1u << 15,
	K_AFTER = 1u << 16,
	K_SIZE = 1u << 17,
	K_VAR = 1u << 18,
	K_RATE = 1u << 19,
};

#define K_STREAM_FILTERS (K_PORT | K_ADDR | K_LPORT)
/* Keys each kind (and stream op) takes, and the ones it must have. */
static uint32_t keys_allowed(uint8_t kind, uint8_t op)
{
	switch (kind) {
	case FL_KIND_CALL:
		return K_ERRNO | K_DELAY | K_SHORT | K_P | K_WHEN | K_FD | K_PATH | K_PORT |
		       K_ADDR | K_HOST;
	case FL_KIND_TIME:
		return K_OFFSET | K_CLOCK;
	case FL_KIND_DNS:
		return K_ANSWER | K_HOST | K_DELAY | K_P | K_WHEN;
	case FL_KIND_STREAM:
		switch (op) {
		case FL_STREAM_RESET_PEER:
			return K_STREAM_FILTERS | K_DIR | K_BYTES | K_AFTER;
		case FL_STREAM_SLOW_CLOSE:
			return K_STREAM_FILTERS | K_DELAY;
		case FL_STREAM_TIMEOUT:
			return K_STREAM_FILTERS | K_DIR | K_AFTER;
		case FL_STREAM_LIMIT_DATA:
			return K_STREAM_FILTERS | K_DIR | K_BYTES;
		case FL_STREAM_SLICER:
			return K_STREAM_FILTERS | K_DIR | K_SIZE | K_VAR | K_DELAY;
		case FL_STREAM_BANDWIDTH:
			return K_STREAM_FILTERS | K_DIR | K_RATE;
		default:
			return 0;
		}
	default:
		return 0;
	}
}

static uint32_t keys_required(uint8_t kind, uint8_t op)
{
	if (kind == FL_KIND_TIME)
		return K_OFFSET;
	if (kind == FL_KIND_DNS)
		return K_ANSWER;
	if (kind != FL_KIND_STREAM)
		return 0;
	switch (op) {
	case FL_STREAM_SLOW_CLOSE:
		return K_DELAY;
	case FL_STREAM_LIMIT_DATA:
		return K_BYTES;
	case FL_STREAM_SLICER:
		return K_SIZE;
	case FL_STREAM_BANDWIDTH:
		return K_RATE;
	default:
		return 0;
	}
}

static const char *key_name(uint32_t k)
{
	static const char *const names[] = {"an errno",
					    "delay=",
					    "short=",
					    "p=",
					    "when=",
					    "fd=",
					    "path=",
					    "port=",
					    "addr=",
					    "host=",
					    "offset=",
					    "clock=",
					    "an answer (NXDOMAIN, SERVFAIL, timeout= or answer=)",
					    "lport=",
					    "dir=",
					    "bytes=",
					    "after=",
					    "size=",
					    "var=",
					    "rate="};

	for (unsigned i = 0; i < FL_ARRAY_SIZE(names); i++)
		if (k & (1u << i))
			return names[i];
	return "?";
}

/*
 * Function families of a stream rule: the data calls of its directions, and
 * close and shutdown; with after=, the waits too (a program asleep in poll meets the
 * deadline there).
 */
static uint32_t stream_fns(uint8_t op, uint8_t dir, uint32_t flags)
{
	uint32_t m = flags & FL_RULE_AFTER ? FN_BIT(FL_FN_WAIT) : 0;

	if (dir & FL_DIR_RECV)
		m |= FN_BIT(FL_FN_READ) | FN_BIT(FL_FN_READV) | FN_BIT(FL_FN_RECV) |
		     FN_BIT(FL_FN_RECVFROM) | FN_BIT(FL_FN_RECVMSG);
	if (dir & FL_DIR_SEND)
		m |= FN_BIT(FL_FN_WRITE) | FN_BIT(FL_FN_WRITEV) | FN_BIT(FL_FN_SEND) |
		     FN_BIT(FL_FN_SENDTO) | FN_BIT(FL_FN_SENDMSG);
	if (op == FL_STREAM_RESET_PEER || op == FL_STREAM_SLOW_CLOSE)
		m |= FN_BIT(FL_FN_CLOSE) | FN_BIT(FL_FN_SHUTDOWN);
	return m;
}

/*
 * The first field: the functions of a call rule, or the head of another kind.
 * A call rule on open or openat (or their 64 names) covers both families --
 * libc's open() makes the openat syscall, and a rule on the wrong one would
 * never fire -- unless the name is written "=name". On the seccomp path the
 * other syscall is added by name, where this architecture has it.
 */
static int parse_head(char *tok, const char *text, bool syscalls, struct fl_preload_rule *r,
		      struct fl_error *err)
{
	char *save = NULL;

	if (!syscalls) {
		for (size_t i = 0; i < FL_ARRAY_SIZE(heads); i++) {
			if (strcmp(tok, heads[i].name))
				continue;
			r->shm.kind = heads[i].kind;
			r->shm.op = heads[i].op;
			r->nfuncs = 1;
			snprintf(r->funcs[0], FL_RULE_FUNC_LEN, "%s", heads[i].name);
			return 0;
		}
	}
	for (char *f = strtok_r(tok, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		bool exact = *f == '=';
		int fn;

		if (exact)
			f++;
		if (r->nfuncs == FL_RULE_FUNCS_MAX)
			return rule_error(err, text, f, "too many functions");
		if (syscalls) {
			if (!name_ok(f))
				return rule_error(err, text, f, "not a syscall name");
		} else {
			fn = fl_preload_fn_lookup(f);
			if (fn < 0)
				return rule_error(
				    err, text, f,
				    "not a hooked function (see docs/faults/syscall.md)");
			if (!exact && (fn == FL_FN_OPEN || fn == FL_FN_OPENAT))
				r->shm.fn_mask |= FN_BIT(FL_FN_OPEN) | FN_BIT(FL_FN_OPENAT);
			else
				r->shm.fn_mask |= FN_BIT(fn);
		}
		for (unsigned i = 0; i < r->nfuncs; i++)
			if (!strcmp(r->funcs[i], f))
				return rule_error(err, text, f, "named twice");
		if (exact)
			r->exact |= 1u << r->nfuncs;
		snprintf(r->funcs[r->nfuncs++], FL_RULE_FUNC_LEN, "%s", f);
	}
	if (!r->nfuncs)
		return rule_error(err, text, NULL, "no function named");
#ifdef SYS_open
	/* The seccomp path: the sibling syscall, by name (this architecture has both). */
	for (unsigned i = 0, n = r->nfuncs; syscalls && i < n; i++) {
		const char *sib = !strcmp(r->funcs[i], "open")	   ? "openat"
				  : !strcmp(r->funcs[i], "openat") ? "open"
								   : NULL;
		bool have = false;

		if (!sib || (r->exact & (1u << i)))
			continue;
		for (unsigned j = 0; j < r->nfuncs; j++)
			have |= !strcmp(r->funcs[j], sib);
		if (have)
			continue;
		if (r->nfuncs == FL_RULE_FUNCS_MAX)
			return rule_error(err, text, r->funcs[i], "too many functions");
		snprintf(r->funcs[r->nfuncs++], FL_RULE_FUNC_LEN, "%s", sib);
	}
#endif
	return 0;
}

/*
 * Grammar (fields separated by ':'; a value may contain ':' as "\:", '\' as
 * "\\"; an IPv6 address may be bracketed, "[::1]"):
 *
 *   rule  := funcs ( ":" item )*      a call rule: fail, delay or shorten calls
 *          | "time" ( ":" item )*     clock skew
 *          | "dns" ( ":" item )*      resolver answers
 *          | stream ( ":" item )*     a fault on TCP connections (Toxiproxy's toxics):
 *   stream := "reset_peer" | "slow_close" | "timeout" | "limit_data" | "slicer"
 *           | "bandwidth"
 *   funcs := func ( "," func )*       func := [ "=" ] name; hooked libc names: read write
 *                                     pread pwrite readv writev open openat close fsync
 *                                     fdatasync connect accept send sendto sendmsg recv
 *                                     recvfrom recvmsg getaddrinfo (aliases pread64
 *                                     pwrite64 open64 openat64 accept4); open and openat
 *                                     each cover both unless written "=open"/"=openat";
 *                                     with FL_RULE_PARSE_SYSCALL, any syscall name
 *
 * Items of a call rule:
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
 *          | "addr=" ip ["/" bits]    peer address, IPv4 or IPv6, or a prefix of one
 *          | "host=" pattern          getaddrinfo node, case-insensitive, '*' any run
 * Items of a time rule:
 *          | "offset=" offset         [+|-] parts, e.g. -90s, +1h30m, 2d (required)
 *          | "clock=" clocks          realtime, monotonic, boottime, comma-separated
 *                                     (default realtime)
 * Items of a dns rule (exactly one answer):
 *          | "NXDOMAIN" | "SERVFAIL"  the answer
 *          | "timeout=" duration      no answer: fail as a timeout after duration
 *          | "answer=" ip             this address
 *          | "host=" | "delay=" | "p=" | "when="     as above
 * Items of a stream rule (filters: port=, addr= as above, and):
 *          | "lport=" 1..65535        the connection's local port (a server's own)
 *          | "dir=" ( "recv" | "send" | "both" )     which data (default both)
 *          | "bytes=" size            reset_peer: reset once this much has moved;
 *                                     limit_data: close once this much has (required)
 *          | "after=" duration        reset_peer: reset this long after the connection
 *                                     was first seen; timeout: close then
 *          | "delay=" duration        slow_close: how long a close takes (required);
 *                                     slicer: the pause between chunks
 *          | "size=" size [ "var=" size ]   slicer: chunk size (required), +- var
 *          | "rate=" rate             bandwidth: 100kbit, 1mbit, 50kbps (bytes) (required)
 *   size := digits [ b | k | kb | m | mb | g | gb ]    (powers of 1024)
 *
 * A call rule needs at least one action (ERRNO, delay, short); ERRNO and
 * short exclude each other; every filter must apply to every function named;
 * a key may appear once; a key a kind of rule does not take is refused.
 */
int fl_preload_rule_parse(const char *text, unsigned flags, struct fl_preload_rule *out,
			  struct fl_error *err)
{
	struct fl_preload_rule r;
	bool syscalls = flags & FL_RULE_PARSE_SYSCALL;
	char tok[FL_RULE_TEXT_MAX];
	const char *p;
	bool first_field = true;
	uint32_t seen = 0, allowed = 0;
	int rc;

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
		uint32_t key;
		char *val;

		/* Next field, unescaped into tok. */
		for (; *p && (*p != ':' || depth); p++) {
			if (*p == '\\' && (p[1] == ':' || p[1] == '\\'))
				p++;
			else if (*p == '[' && ((n >= 5 && !strncmp(tok, "addr=", 5)) ||
					       (n >= 7 && !strncmp(tok, "answer=", 7))))
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
			first_field = false;
			if ((rc = parse_head(tok, text, syscalls, &r, err)) < 0)
				return rc;
			allowed = keys_allowed(r.shm.kind, r.shm.op);
			continue;
		}

		val = strchr(tok, '=');
		if (!val) {
			/* A bare word: an errno name, or a dns rule's answer. */
			int e = fl_preload_errno_lookup(tok), g = gai_lookup(tok);
			size_t d;

			for (d = 0; d < FL_ARRAY_SIZE(dns_ops); d++)
				if (!strcmp(tok, dns_ops[d].name))
					break;
			if (r.shm.kind == FL_KIND_DNS && d < FL_ARRAY_SIZE(dns_ops)) {
				if (seen & K_ANSWER)
					return rule_error(err, text, tok, "a second answer");
				seen |= K_ANSWER;
				r.shm.op = dns_ops[d].op;
				continue;
			}
			if (e < 0 && !g)
				return rule_error(err, text, tok,
						  r.shm.kind == FL_KIND_DNS
						      ? "expected NXDOMAIN, SERVFAIL, timeout= or "
							"answer="
						      : "unknown errno name");
			if (!(allowed & K_ERRNO))
				return rule_error(err, text, tok,
						  "an errno is for call rules only (this rule says "
						  "what it does by its kind)");
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

		{
			static const struct {
				const char *name;
				uint32_t key;
			} keys[] = {{"errno", K_ERRNO},	   {"delay", K_DELAY},
				    {"short", K_SHORT},	   {"p", K_P},
				    {"when", K_WHEN},	   {"fd", K_FD},
				    {"path", K_PATH},	   {"port", K_PORT},
				    {"addr", K_ADDR},	   {"host", K_HOST},
				    {"offset", K_OFFSET},  {"clock", K_CLOCK},
				    {"timeout", K_ANSWER}, {"answer", K_ANSWER},
				    {"lport", K_LPORT},	   {"dir", K_DIR},
				    {"bytes", K_BYTES},	   {"after", K_AFTER},
				    {"size", K_SIZE},	   {"var", K_VAR},
				    {"rate", K_RATE}};
			size_t k;

			for (k = 0; k < FL_ARRAY_SIZE(keys); k++)
				if (!strcmp(tok, keys[k].name))
					break;
			if (k == FL_ARRAY_SIZE(keys))
				return rule_error(err, text, tok, "unknown key");
			key = keys[k].key;
		}
		if (!(allowed & key)) {
			char msg[96];

			snprintf(msg, sizeof(msg), "not a key of %s rules",
				 r.shm.kind == FL_KIND_CALL ? "call" : r.funcs[0]);
			return rule_error(err, text, tok, msg);
		}
		if (key == K_ERRNO) {
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
			continue;
		}
		if (key == K_ANSWER && (seen & K_ANSWER))
			return rule_error(err, text, tok, "a second answer");
		if (seen & key)
			return rule_error(err, text, tok, "given twice");
		seen |= key;
		switch (key) {
		case K_DELAY: {
			uint64_t us;

			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (fl_duration_parse_us(val, 1000, &us) < 0)
				return rule_error(
				    err, text, val,
				    "expected a duration like 200ms (at most 7 days)");
			r.shm.flags |= FL_RULE_DELAY;
			r.shm.delay_ns = us * 1000;
			break;
		}
		case K_SHORT:
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_u64(val, SIZE_MAX, &r.shm.short_len) < 0)
				return rule_error(err, text, val, "expected a byte count");
			r.shm.flags |= FL_RULE_SHORT;
			break;
		case K_P: {
			uint64_t thr;

			if (parse_prob(val, &thr) < 0)
				return rule_error(
				    err, text, val,
				    "expected a probability from 0 to 1 (or 0% to 100%)");
			/* p=1 is the same as no p at all. */
			if (thr < 4294967296ULL) {
				r.shm.flags |= FL_RULE_PROB;
				r.shm.prob = (uint32_t)thr;
			}
			break;
		}
		case K_WHEN:
			if (parse_when(val, &r.shm) < 0)
				return rule_error(
				    err, text, val,
				    "expected first[..last][+[step]], counting from 1");
			r.shm.flags |= FL_RULE_WHEN;
			break;
		case K_FD: {
			uint64_t fd;

			if (parse_u64(val, INT32_MAX, &fd) < 0)
				return rule_error(err, text, val, "expected a descriptor number");
			r.shm.flags |= FL_RULE_FD;
			r.shm.fd = (int32_t)fd;
			break;
		}
		case K_PATH:
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (strlen(val) >= FL_SHM_PATH_MAX)
				return rule_error(err, text, val, "path prefix too long");
			r.shm.flags |= FL_RULE_PATH;
			strcpy(r.shm.path, val);
			r.shm.path_len = (uint8_t)strlen(val);
			break;
		case K_PORT:
		case K_LPORT: {
			uint64_t port;

			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_u64(val, 65535, &port) < 0 || !port)
				return rule_error(err, text, val,
						  "expected a port from 1 to 65535");
			if (key == K_PORT) {
				r.shm.flags |= FL_RULE_PORT;
				r.shm.port = (uint16_t)port;
			} else {
				r.shm.flags |= FL_RULE_LPORT;
				r.shm.lport = (uint16_t)port;
			}
			break;
		}
		case K_ADDR:
			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (parse_addr(val, &r.shm) < 0)
				return rule_error(err, text, val,
						  "expected an IPv4 or IPv6 address, or a prefix "
						  "like 10.0.0.0/8");
			r.shm.flags |= FL_RULE_ADDR;
			break;
		case K_HOST: {
			const char *bad;

			if (syscalls)
				return rule_error(err, text, tok,
						  "not available on the seccomp path");
			if (!*val || strlen(val) >= FL_SHM_HOST_MAX)
				return rule_error(err, text, val, "expected a host name");
			bad = val + strspn(val, "abcdefghijklmnopqrstuvwxyz"
						"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_*");
			if (*bad)
				return rule_error(err, text, val,
						  "expected a host name or a pattern with '*' "
						  "(letters, digits, '.', '-', '_')");
			r.shm.flags |= FL_RULE_HOST;
			strcpy(r.shm.host, val);
			break;
		}
		case K_OFFSET:
			if (parse_offset(val, &r.shm.offset_ns) < 0)
				return rule_error(err, text, val,
						  "expected an offset like -90s, +1h30m or 2d "
						  "(at most 100 years)");
			break;
		case K_CLOCK:
			if (parse_clocks(val, &r.shm.clock_mask) < 0)
				return rule_error(err, text, val,
						  "expected realtime, monotonic or boottime "
						  "(comma-separated)");
			break;
		case K_ANSWER:
			if (!strcmp(tok, "timeout")) {
				uint64_t us;

				if (fl_duration_parse_us(val, 1000000, &us) < 0)
					return rule_error(
					    err, text, val,
					    "expected a duration like 5s (at most 7 days)");
				r.shm.op = FL_DNS_TIMEOUT;
				r.shm.after_ns = us * 1000;
			} else {
				if (parse_ip(val, strlen(val), &r.shm.answer_family, r.shm.answer) <
				    0)
					return rule_error(err, text, val,
							  "expected an IPv4 or IPv6 address");
				r.shm.op = FL_DNS_ANSWER;
			}
			break;
		case K_DIR:
			if (!strcmp(val, "recv"))
				r.shm.dir = FL_DIR_RECV;
			else if (!strcmp(val, "send"))
				r.shm.dir = FL_DIR_SEND;
			else if (!strcmp(val, "both"))
				r.shm.dir = FL_DIR_RECV | FL_DIR_SEND;
			else
				return rule_error(err, text, val, "expected recv, send or both");
			break;
		case K_BYTES:
		case K_SIZE:
		case K_VAR: {
			uint64_t v;

			if (parse_size(val, &v) < 0)
				return rule_error(err, text, val,
						  "expected a byte count like 4096 or 64kb (at "
						  "most 1tb)");
			if (key == K_VAR) {
				r.shm.bytes_var = v;
			} else {
				if (key == K_SIZE && !v)
					return rule_error(err, text, val,
							  "a chunk is at least 1 byte");
				r.shm.bytes = v;
				r.shm.flags |= FL_RULE_BYTES;
			}
			break;
		}
		case K_AFTER: {
			uint64_t us;

			if (fl_duration_parse_us(val, 1000, &us) < 0)
				return rule_error(
				    err, text, val,
				    "expected a duration like 500ms (at most 7 days)");
			r.shm.after_ns = us * 1000;
			r.shm.flags |= FL_RULE_AFTER;
			break;
		}
		case K_RATE:
			if (parse_rate(val, &r.shm.rate) < 0)
				return rule_error(err, text, val,
						  "expected a rate like 100kbit, 1mbit or 50kbps "
						  "(at least 1 byte per second)");
			break;
		default:
			break;
		}
	}

	/* Cross-field checks, before anything is handed out. */
	if (keys_required(r.shm.kind, r.shm.op) & ~seen) {
		char msg[160];

		snprintf(msg, sizeof(msg), "a %s rule needs %s", r.funcs[0],
			 key_name(keys_required(r.shm.kind, r.shm.op) & ~seen));
		return rule_error(err, text, NULL, msg);
	}
	switch (r.shm.kind) {
	case FL_KIND_TIME:
		if (!r.shm.clock_mask)
			r.shm.clock_mask = clock_families[0].mask;
		r.shm.fn_mask = FN_BIT(FL_FN_CLOCK);
		break;
	case FL_KIND_DNS:
		r.shm.fn_mask = FN_BIT(FL_FN_GETADDRINFO) | FN_BIT(FL_FN_GETHOSTBYNAME) |
				FN_BIT(FL_FN_RES_QUERY);
		break;
	case FL_KIND_STREAM:
		if (!r.shm.dir)
			r.shm.dir = FL_DIR_RECV | FL_DIR_SEND;
		if ((seen & K_VAR) && r.shm.bytes_var >= r.shm.bytes)
			return rule_error(err, text, NULL, "var= must be smaller than size=");
		r.shm.fn_mask = stream_fns(r.shm.op, r.shm.dir, r.shm.flags);
		break;
	default:
		break;
	}
	if (r.shm.kind != FL_KIND_CALL) {
		*out = r;
		return 0;
	}
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

static int format_ip(struct fl_buf *out, const char *key, unsigned fam, const uint8_t *a,
		     unsigned prefix)
{
	char txt[INET6_ADDRSTRLEN];
	int rc;

	if (!inet_ntop((int)fam, a, txt, sizeof(txt)))
		return -EINVAL;
	rc = fl_buf_printf(out, fam == AF_INET6 ? ":%s=[%s]" : ":%s=%s", key, txt);
	if (rc == 0 && prefix < (fam == AF_INET6 ? 128u : 32u))
		rc = fl_buf_printf(out, "/%u", prefix);
	return rc;
}

static int format_dur(struct fl_buf *out, const char *key, uint64_t ns)
{
	char tmp[64];

	return fl_buf_printf(out, ":%s=%s", key, fl_duration_fmt(ns / 1000, tmp, sizeof(tmp)));
}

int fl_preload_rule_format(const struct fl_preload_rule *r, struct fl_buf *out)
{
	const struct fl_shm_rule *s = &r->shm;
	int rc = 0;

	for (unsigned i = 0; i < r->nfuncs && rc == 0; i++)
		rc = fl_buf_printf(out, "%s%s%s", i ? "," : "", (r->exact >> i) & 1 ? "=" : "",
				   r->funcs[i]);
	if (rc == 0 && s->kind == FL_KIND_TIME) {
		char tmp[48];

		format_offset(s->offset_ns, tmp, sizeof(tmp));
		rc = fl_buf_printf(out, ":offset=%s", tmp);
		if (rc == 0 && s->clock_mask != clock_families[0].mask) {
			const char *sep = ":clock=";

			for (size_t i = 0; i < FL_ARRAY_SIZE(clock_families) && rc == 0; i++)
				if (s->clock_mask & clock_families[i].mask) {
					rc =
					    fl_buf_printf(out, "%s%s", sep, clock_families[i].name);
					sep = ",";
				}
		}
		return rc;
	}
	if (rc == 0 && s->kind == FL_KIND_DNS) {
		for (size_t i = 0; i < FL_ARRAY_SIZE(dns_ops); i++)
			if (s->op == dns_ops[i].op)
				rc = fl_buf_printf(out, ":%s", dns_ops[i].name);
		if (rc == 0 && s->op == FL_DNS_TIMEOUT)
			rc = format_dur(out, "timeout", s->after_ns);
		if (rc == 0 && s->op == FL_DNS_ANSWER)
			rc = format_ip(out, "answer", s->answer_family, s->answer,
				       s->answer_family == AF_INET6 ? 128 : 32);
	}
	if (rc == 0 && s->kind == FL_KIND_STREAM) {
		bool slicer = s->op == FL_STREAM_SLICER;

		if (rc == 0 && (s->flags & FL_RULE_BYTES))
			rc = fl_buf_printf(out, slicer ? ":size=%llu" : ":bytes=%llu",
					   (unsigned long long)s->bytes);
		if (rc == 0 && slicer && s->bytes_var)
			rc = fl_buf_printf(out, ":var=%llu", (unsigned long long)s->bytes_var);
		if (rc == 0 && (s->flags & FL_RULE_AFTER))
			rc = format_dur(out, "after", s->after_ns);
		if (rc == 0 && s->op == FL_STREAM_BANDWIDTH)
			rc = fl_buf_printf(out, ":rate=%llubps", (unsigned long long)s->rate);
		if (rc == 0 && s->dir != (FL_DIR_RECV | FL_DIR_SEND) &&
		    s->op != FL_STREAM_SLOW_CLOSE)
			rc = fl_buf_printf(out, ":dir=%s", s->dir == FL_DIR_RECV ? "recv" : "send");
		if (rc == 0 && (s->flags & FL_RULE_LPORT))
			rc = fl_buf_printf(out, ":lport=%u", s->lport);
	}
	if (rc == 0 && (s->flags & FL_RULE_ERRNO)) {
		const char *n = s->gai ? gai_name(s->gai) : fl_preload_errno_name(s->err);

		rc = n ? fl_buf_printf(out, ":%s", n) : fl_buf_printf(out, ":errno=%d", s->err);
	}
	if (rc == 0 && (s->flags & FL_RULE_DELAY))
		rc = format_dur(out, "delay", s->delay_ns);
	if (rc == 0 && (s->flags & FL_RULE_SHORT))
		rc = fl_buf_printf(out, ":short=%llu", (unsigned long long)s->short_len);
	if (rc == 0 && (s->flags & FL_RULE_PROB)) {
		/* Fixed notation (no exponent in the grammar), fewest digits that read back. */
		char pb[32];
		uint64_t back = 0;

		for (int d = 1; d <= 12; d++) {
			snprintf(pb, sizeof(pb), "%.*f", d, (double)s->prob / 4294967296.0);
			if (parse_prob(pb, &back) == 0 && back == s->prob)
				break;
		}
		rc = fl_buf_printf(out, ":p=%s", pb);
	}
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
	if (rc == 0 && (s->flags & FL_RULE_ADDR))
		rc = format_ip(out, "addr", s->addr_family, s->addr, s->addr_prefix);
	if (rc == 0 && (s->flags & FL_RULE_HOST)) {
		rc = fl_buf_add(out, ":host=", 6);
		if (rc == 0)
			rc = add_escaped(out, s->host);
	}
	return rc;
}
