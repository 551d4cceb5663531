/* Small JSON helpers shared by every part (cJSON values faultline writes and reads back). */
#ifndef FL_CORE_JSON_H
#define FL_CORE_JSON_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"

/* A uint64 as a JSON decimal string (doubles cannot hold every seed); NULL when out of memory. */
cJSON *fl_json_u64(uint64_t v);
/*
 * Grammar: u64 := "decimal string" | JSON integer in [0, 2^53]
 * (a string for anything a double cannot hold exactly). 0 or -EINVAL.
 */
int fl_json_get_u64(const cJSON *j, uint64_t *out) FL_WUR;

#endif
