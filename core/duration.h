/*
 * Durations, rates and percentages as people write them in experiments and
 * on the command line.
 */
#ifndef FL_CORE_DURATION_H
#define FL_CORE_DURATION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

/* Hard cap on any duration: 7 days. */
#define FL_DURATION_MAX_MS (7ULL * 24 * 3600 * 1000)

/*
 * Grammar:  duration := number [unit]    number := digits ["." digits]
 *           unit     := "us" | "ms" | "s" | "m" | "h"
 * A bare number means `default_unit_us` microseconds per unit (e.g. 1000000
 * for seconds). Parses into microseconds; rejects negatives, overflow, empty
 * strings, trailing garbage and values above FL_DURATION_MAX_MS.
 */
int fl_duration_parse_us(const char *s, uint64_t default_unit_us, uint64_t *out_us) FL_WUR;
/* Same, in milliseconds (rounded down). */
int fl_duration_parse_ms(const char *s, uint64_t default_unit_us, uint64_t *out_ms) FL_WUR;
/* Seconds given as a JSON number: finite, >= 0, <= FL_DURATION_MAX_MS. */
int fl_seconds_to_ms(double s, uint64_t *out_ms) FL_WUR;
/* Format microseconds as the shortest exact "250ms" / "1.5s" / "30s" / "100us". */
const char *fl_duration_fmt(uint64_t us, char *buf, unsigned len);

/* Monotonic and wall clocks. */
uint64_t fl_now_mono_ms(void);
uint64_t fl_now_mono_us(void);
uint64_t fl_now_wall_ms(void);
/* RFC 3339 UTC timestamp with milliseconds into buf (>= 32 bytes). */
const char *fl_time_rfc3339(uint64_t wall_ms, char *buf, unsigned len);

#endif
