#include "core/json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *fl_json_u64(uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_CreateString(b);
}

int fl_json_get_u64(const cJSON *j, uint64_t *out)
{
	if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		char *end = NULL;
		unsigned long long v;

		if (!*s || !isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end)
			return -EINVAL;
		*out = v;
		return 0;
	}
	if (cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble <= 9007199254740992.0 &&
	    j->valuedouble == floor(j->valuedouble)) {
		*out = (uint64_t)j->valuedouble;
		return 0;
	}
	return -EINVAL;
}
