#include "core/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fl_rng_init(struct fl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t fl_rng_fresh_seed(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t fl_rng_next(struct fl_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t fl_rng_below(struct fl_rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;

	do
		v = fl_rng_next(r);
	while (v >= limit);
	return v % n;
}

double fl_rng_unit(struct fl_rng *r)
{
	return (double)(fl_rng_next(r) >> 11) * 0x1.0p-53;
}

bool fl_pick_key(const char *key)
{
	return !strcmp(key, "all") || !strcmp(key, "count") || !strcmp(key, "percent") ||
	       !strcmp(key, "seed");
}

int fl_pick_parse(const cJSON *obj, const char *path, unsigned flags, struct fl_pick *p,
		  struct fl_error *err)
{
	const char *picked = NULL;
	char kp[FL_ERROR_PATH_MAX];
	const cJSON *c;

	memset(p, 0, sizeof(*p));
	for (c = obj ? obj->child : NULL; c; c = c->next) {
		bool all = !strcmp(c->string, "all") && !(flags & FL_PICK_REQUIRED);

		if (!all && strcmp(c->string, "count") && strcmp(c->string, "percent") &&
		    strcmp(c->string, "seed"))
			continue;
		snprintf(kp, sizeof(kp), "%.200s.%s", path, c->string);
		if (!strcmp(c->string, "seed")) {
			if ((flags & FL_PICK_EMPTY_SEED) &&
			    (cJSON_IsNull(c) || (cJSON_IsString(c) && !c->valuestring[0])))
				continue;
			if (fl_json_get_u64(c, &p->seed) < 0)
				return fl_error_set(err, -EINVAL, kp,
						    "expected an unsigned 64-bit seed (number or "
						    "decimal string)");
			p->has_seed = true;
			continue;
		}
		if (picked)
			return fl_error_set(err, -EINVAL, kp, "only one of %s may be given",
					    flags & FL_PICK_REQUIRED ? "count, percent"
								     : "all, count, percent");
		picked = c->string;
		if (all) {
			if (!cJSON_IsTrue(c))
				return fl_error_set(err, -EINVAL, kp, "expected true");
		} else if (!strcmp(c->string, "count")) {
			if (!cJSON_IsNumber(c) || c->valuedouble != floor(c->valuedouble) ||
			    c->valuedouble < 1 || c->valuedouble > FL_PICK_COUNT_MAX)
				return fl_error_set(err, -EINVAL, kp,
						    "expected an integer in [1, %d]",
						    FL_PICK_COUNT_MAX);
			p->mode = FL_PICK_COUNT;
			p->count = (unsigned long)c->valuedouble;
		} else {
			if (!cJSON_IsNumber(c) || !(c->valuedouble > 0) || c->valuedouble > 100)
				return fl_error_set(err, -EINVAL, kp,
						    "expected a percentage in (0, 100]");
			p->mode = FL_PICK_PERCENT;
			p->percent = c->valuedouble;
		}
	}
	if (!picked && (flags & FL_PICK_REQUIRED))
		return fl_error_set(err, -EINVAL, path, "give one of count or percent");
	return 0;
}

size_t fl_pick_k(const struct fl_pick *p, size_t n)
{
	size_t k = n;

	if (n == 0)
		return 0;
	if (p->mode == FL_PICK_COUNT)
		k = p->count < n ? p->count : n;
	else if (p->mode == FL_PICK_PERCENT)
		k = (size_t)ceil((double)n * p->percent / 100.0);
	if (k < 1)
		k = 1;
	return k > n ? n : k;
}

size_t fl_pick_shuffle(void *base, size_t n, size_t size, size_t k, uint64_t seed)
{
	unsigned char *v = base;
	struct fl_rng rng;

	if (k > n)
		k = n;
	fl_rng_init(&rng, seed);
	/* Partial Fisher-Yates: the first k are a uniform sample. */
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)fl_rng_below(&rng, n - i);
		unsigned char *a = v + i * size, *b = v + j * size;

		for (size_t x = 0; j != i && x < size; x++) {
			unsigned char t = a[x];

			a[x] = b[x];
			b[x] = t;
		}
	}
	return k;
}
