/*
 * Seeded PRNG (xoshiro256**, seeded by splitmix64) for replayable selections,
 * and the one "pick k of n" every selection uses: the processes of a kill,
 * the pods of a pod target (on a node, and across the cluster), the agents of
 * Chaos Monkey mode. The same seed over the same sorted candidates picks the
 * same ones, whichever path picks them.
 */
#ifndef FL_CORE_RNG_H
#define FL_CORE_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

struct fl_rng {
	uint64_t s[4];
};

/* Seed deterministically. */
void fl_rng_init(struct fl_rng *r, uint64_t seed);
/* A fresh seed from getrandom(2) (falls back to time^pid). */
uint64_t fl_rng_fresh_seed(void);
/* Next 64 random bits. */
uint64_t fl_rng_next(struct fl_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t fl_rng_below(struct fl_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double fl_rng_unit(struct fl_rng *r);

/* ---- pick k of n ---- */

#define FL_PICK_COUNT_MAX 65536

enum fl_pick_mode { FL_PICK_ALL, FL_PICK_COUNT, FL_PICK_PERCENT, FL_PICK__MAX };

struct fl_pick {
	enum fl_pick_mode mode;
	unsigned long count; /* FL_PICK_COUNT: 1..FL_PICK_COUNT_MAX */
	double percent;	     /* FL_PICK_PERCENT: (0, 100] */
	bool has_seed;
	uint64_t seed;
};

/* fl_pick_parse flags */
#define FL_PICK_REQUIRED   0x1 /* count or percent must be given; "all" is not a key */
#define FL_PICK_EMPTY_SEED 0x2 /* "seed": null or "" means none (a fresh one is drawn) */

/*
 * Grammar (keys of the object `obj` at JSON path `path`; other keys are the caller's):
 *   pick := "all": true | "count": integer in [1, 65536] | "percent": number in (0, 100]
 *   seed := "seed": integer in [0, 2^53] | "decimal string" (any uint64)
 * At most one pick key (none: all). Errors name the key ("$.target.count").
 */
int fl_pick_parse(const cJSON *obj, const char *path, unsigned flags, struct fl_pick *p,
		  struct fl_error *err) FL_WUR;
/* True when `key` is one fl_pick_parse reads ("all", "count", "percent", "seed"). */
bool fl_pick_key(const char *key);
/*
 * How many of n candidates the pick takes: n (all), min(count, n), or
 * ceil(n * percent / 100); at least 1 when n > 0, 0 when n == 0.
 */
size_t fl_pick_k(const struct fl_pick *p, size_t n);
/*
 * Seeded partial Fisher-Yates over n elements of `size` bytes at base (sort
 * them first: the same order and seed give the same pick): afterwards the
 * first k (<= n) are a uniform sample. Returns k.
 */
size_t fl_pick_shuffle(void *base, size_t n, size_t size, size_t k, uint64_t seed);

#endif
