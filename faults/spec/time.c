/*
 * Fault kind `time`: clock skew for shimmed processes, as Chaos Mesh's
 * TimeChaos (timeOffset, clockIds). One shim rule `time:offset=..:clock=..`
 * (docs/faults/syscall.md "Clock skew") on the syscall kind's target.
 *
 *   target: {"pid": N [, "start": T]} | {"pids": [...]} | {"pod": {...}, ...}
 *         | {"command": [...], ...}                    (faults/spec/syscall.c)
 *   params: {"offset": "-5m",                          a duration: [+|-] (number unit)+,
 *                                                      unit ns us ms s m h d; at most 100 years
 *            ["clock_ids": ["CLOCK_REALTIME", ...]]}   default CLOCK_REALTIME
 *
 * clock_ids take Chaos Mesh's names (or realtime, monotonic, boottime); the
 * shim skews a clock with its variants: CLOCK_REALTIME with _COARSE, _ALARM
 * and CLOCK_TAI, CLOCK_MONOTONIC with _COARSE and _RAW, CLOCK_BOOTTIME with
 * _ALARM. CPU-time clocks are refused (the shim never skews them).
 *
 * A launched command ({"command": ...}) also gets a time namespace of its
 * own for the monotonic and boottime clocks named (faults/shim_table.c):
 * the kernel then offsets them for every reader, static programs and raw
 * syscalls included, and the shim keeps only CLOCK_REALTIME's skew (the
 * kernel does not offset it). docs/faults/time.md says what is skewed how.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "faults/spec/shim_kinds.h"

static const struct {
	const char *name, *family;
} clock_names[] = {
    {"CLOCK_REALTIME", "realtime"},	  {"CLOCK_REALTIME_COARSE", "realtime"},
    {"CLOCK_REALTIME_ALARM", "realtime"}, {"CLOCK_TAI", "realtime"},
    {"CLOCK_MONOTONIC", "monotonic"},	  {"CLOCK_MONOTONIC_COARSE", "monotonic"},
    {"CLOCK_MONOTONIC_RAW", "monotonic"}, {"CLOCK_BOOTTIME", "boottime"},
    {"CLOCK_BOOTTIME_ALARM", "boottime"}, {"realtime", "realtime"},
    {"monotonic", "monotonic"},		  {"boottime", "boottime"},
};

int fl_time_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const keys[] = {"offset", "clock_ids", NULL};
	static const char *const families[] = {"realtime", "monotonic", "boottime"};
	struct shim_kind_spec *k = NULL;
	const cJSON *ids, *it;
	const char *offset;
	char rule[256], names[256] = "";
	unsigned mask = 0;
	size_t i = 0;
	int rc;

	if ((rc = fl_shim_kind_new(target, params, keys, &k, err)) < 0)
		return rc;
	rc = fl_shim_kind_value(cJSON_GetObjectItemCaseSensitive(params, "offset"),
				"$.params.offset", 64,
				"a duration like \"-5m\", \"+1h30m\" or \"90s\"", &offset, err);
	if (rc < 0)
		goto fail;
	ids = cJSON_GetObjectItemCaseSensitive(params, "clock_ids");
	if (ids && (!cJSON_IsArray(ids) || !cJSON_GetArraySize(ids))) {
		rc = fl_error_set(err, -EINVAL, "$.params.clock_ids",
				  "expected a non-empty list like [\"CLOCK_REALTIME\"]");
		goto fail;
	}
	cJSON_ArrayForEach(it, ids)
	{
		char path[64];
		size_t j;

		snprintf(path, sizeof(path), "$.params.clock_ids[%zu]", i++);
		for (j = 0; cJSON_IsString(it) && j < FL_ARRAY_SIZE(clock_names); j++)
			if (!strcmp(it->valuestring, clock_names[j].name))
				break;
		if (!cJSON_IsString(it) || j == FL_ARRAY_SIZE(clock_names)) {
			rc = fl_error_set(
			    err, -EINVAL, path, "%s",
			    cJSON_IsString(it) && strstr(it->valuestring, "CPUTIME")
				? "CPU-time clocks are never skewed: expected CLOCK_REALTIME, "
				  "CLOCK_MONOTONIC or CLOCK_BOOTTIME (or a variant)"
				: "expected CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME "
				  "(or a _COARSE, _RAW, _ALARM variant, CLOCK_TAI)");
			goto fail;
		}
		for (size_t f = 0; f < 3; f++)
			if (!strcmp(clock_names[j].family, families[f]))
				mask |= 1u << f;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i > 1 ? ", " : "", it->valuestring);
	}
	if (!mask)
		mask = 1; /* Chaos Mesh's default: CLOCK_REALTIME */
	snprintf(rule, sizeof(rule), "time:offset=%s:clock=", offset);
	for (size_t f = 0, n = 0; f < 3; f++)
		if (mask & (1u << f))
			snprintf(rule + strlen(rule), sizeof(rule) - strlen(rule), "%s%s",
				 n++ ? "," : "", families[f]);
	if ((rc = fl_shim_kind_add_rule(k, rule, "$.params.offset", err)) < 0)
		goto fail;
	if (k->sc.launch) {
		/* mask: bit 1 monotonic, bit 2 boottime (families[]). */
		k->sc.timens_ask = true;
		k->sc.timens_clocks =
		    (mask & 2u ? FL_TIMENS_MONOTONIC : 0) | (mask & 4u ? FL_TIMENS_BOOTTIME : 0);
		k->sc.timens_offset_ns = k->sc.rules[k->sc.nrules - 1].shm.offset_ns;
		snprintf(k->sc.timens_offset, sizeof(k->sc.timens_offset), "%s", offset);
	}
	snprintf(k->what, sizeof(k->what),
		 "TimeChaos-style clock skew (timeOffset %s, clockIds [%s]) in the shim's clock "
		 "hooks%s",
		 offset, names[0] ? names : "CLOCK_REALTIME",
		 k->sc.timens_clocks
		     ? ", and in a time namespace of the command's own for "
		       "CLOCK_MONOTONIC and CLOCK_BOOTTIME (where the kernel allows)"
		     : "");
	*out = k;
	return 0;
fail:
	fl_shim_kind_free(k);
	return rc;
}

const struct fl_fault_spec_ops fl_fault_spec_time = {
    .kind = "time",
    .family = FL_FAULT_FAMILY_SYSCALL,
    .parse = fl_time_parse,
    .describe = fl_shim_kind_describe,
    .free = fl_shim_kind_free,
};
