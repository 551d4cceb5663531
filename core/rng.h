/* Seeded PRNG (xoshiro256**, seeded by splitmix64) for replayable selections. */
#ifndef FL_CORE_RNG_H
#define FL_CORE_RNG_H

#include <stdint.h>

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

#endif
