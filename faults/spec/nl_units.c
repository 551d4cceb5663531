/* Units as tc(8) writes them: rates, sizes, percentages, IPv4 and IPv6 CIDRs. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "faults/spec/nl_spec.h"

/* number := digits ["." digits]; returns the end or NULL. */
static const char *parse_number(const char *s, double *v)
{
	const char *p = s;
	char *end;

	if (*p < '0' || *p > '9')
		return NULL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	*v = strtod(s, &end);
	if (end != p || !isfinite(*v))
		return NULL;
	return p;
}

int fl_nl_percent_parse(const cJSON *v, uint32_t *prob, double *pct)
{
	double x;

	if (cJSON_IsNumber(v)) {
		x = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		const char *e = parse_number(v->valuestring, &x);

		if (!e || strcmp(e, "%"))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!isfinite(x) || x < 0 || x > 100)
		return -ERANGE;
	*prob = (uint32_t)llrint(x / 100.0 * (double)UINT32_MAX);
	if (pct)
		*pct = x;
	return 0;
}

double fl_nl_prob_pct(uint32_t prob)
{
	return (double)prob * 100.0 / (double)UINT32_MAX;
}

static const struct unit {
	const char *name;
	double mult;
} rate_units[] = {
    {"bit", 1.0 / 8}, {"kbit", 1e3 / 8}, {"mbit", 1e6 / 8}, {"gbit", 1e9 / 8}, {"tbit", 1e12 / 8},
    {"bps", 1},	      {"kbps", 1e3},	 {"mbps", 1e6},	    {"gbps", 1e9},     {"tbps", 1e12},
};

static const struct unit size_units[] = {
    {"b", 1},
    {"k", 1024},
    {"kb", 1024},
    {"m", 1024 * 1024},
    {"mb", 1024 * 1024},
    {"g", 1024.0 * 1024 * 1024},
    {"gb", 1024.0 * 1024 * 1024},
};

static int parse_with_units(const char *s, const struct unit *u, size_t n, double bare, double max,
			    uint64_t *out)
{
	double v, mult = bare;
	const char *e;

	if (!s || !(e = parse_number(s, &v)))
		return -EINVAL;
	if (*e) {
		size_t i;

		for (i = 0; i < n; i++)
			if (!strcasecmp(e, u[i].name))
				break;
		if (i == n)
			return -EINVAL;
		mult = u[i].mult;
	}
	v *= mult;
	if (v > max)
		return -ERANGE;
	*out = (uint64_t)llround(v);
	return 0;
}

int fl_nl_rate_parse(const char *s, uint64_t *bytes_per_s)
{
	int r =
	    parse_with_units(s, rate_units, FL_ARRAY_SIZE(rate_units), 1.0 / 8, 1e13, bytes_per_s);

	if (r == 0 && *bytes_per_s == 0)
		return -ERANGE;
	return r;
}

int fl_nl_size_parse(const char *s, uint64_t *bytes)
{
	return parse_with_units(s, size_units, FL_ARRAY_SIZE(size_units), 1, (double)UINT32_MAX,
				bytes);
}

int fl_nl_cidr_parse(const char *s, struct fl_nl_cidr *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned long len, max;
	size_t n;
	bool v6;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(out, 0, sizeof(*out));
	v6 = strchr(addr, ':') != NULL;
	if (v6 ? inet_pton(AF_INET6, addr, &out->addr6) != 1
	       : inet_pton(AF_INET, addr, &out->addr) != 1)
		return -EINVAL;
	max = v6 ? 128 : 32;
	len = max;
	if (slash) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (*end || errno || len > max)
			return -EINVAL;
	}
	out->family = v6 ? AF_INET6 : AF_INET;
	out->len = (uint8_t)len;
	if (v6) {
		/* Host bits: every bit at or after `len` must be zero. */
		for (unsigned b = (unsigned)len; b < 128; b++)
			if (out->addr6.s6_addr[b / 8] & (0x80 >> (b % 8)))
				return -EDOM;
		return 0;
	}
	if (out->addr.s_addr & ~(len ? htonl(~0U << (32 - len)) : 0))
		return -EDOM; /* host bits set: "10.0.0.1/24" is ambiguous */
	return 0;
}

const char *fl_nl_rate_fmt(uint64_t bps, char *buf, size_t len)
{
	uint64_t bits = bps * 8;

	if (bits % 1000000000ULL == 0 && bits)
		snprintf(buf, len, "%llugbit", (unsigned long long)(bits / 1000000000ULL));
	else if (bits % 1000000ULL == 0 && bits)
		snprintf(buf, len, "%llumbit", (unsigned long long)(bits / 1000000ULL));
	else if (bits % 1000ULL == 0 && bits)
		snprintf(buf, len, "%llukbit", (unsigned long long)(bits / 1000ULL));
	else
		snprintf(buf, len, "%llubit", (unsigned long long)bits);
	return buf;
}

const char *fl_nl_size_fmt(uint64_t b, char *buf, size_t len)
{
	if (b % (1024 * 1024) == 0 && b)
		snprintf(buf, len, "%llumb", (unsigned long long)(b / (1024 * 1024)));
	else if (b % 1024 == 0 && b)
		snprintf(buf, len, "%llukb", (unsigned long long)(b / 1024));
	else
		snprintf(buf, len, "%llub", (unsigned long long)b);
	return buf;
}

const char *fl_nl_pct_fmt(uint32_t prob, char *buf, size_t len)
{
	/* The shortest form that parses back to the same probability. */
	for (int prec = 0; prec <= 9; prec++) {
		double p = fl_nl_prob_pct(prob);
		double q;

		snprintf(buf, len, "%.*f", prec, p);
		q = strtod(buf, NULL);
		if ((uint32_t)llrint(q / 100.0 * (double)UINT32_MAX) == prob)
			break;
	}
	strncat(buf, "%", len - strlen(buf) - 1);
	return buf;
}

const char *fl_nl_cidr_fmt(const struct fl_nl_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (fl_nl_cidr_is6(c))
		inet_ntop(AF_INET6, &c->addr6, a, sizeof(a));
	else
		inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->len);
	return buf;
}
