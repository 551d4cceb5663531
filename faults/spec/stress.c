/*
 * stress: load the cgroup of the selected processes with CPU and memory
 * workers, as stress-ng does under Chaos Mesh (the spec side; the workers
 * are faults/stress.c's).
 *
 *   target := process target (faults/spec/proc_sel.h); the workers join the
 *             cgroup v2 of each selected process (one set per distinct cgroup)
 *   params := { ["cpu": { "workers": int in [1, 64], ["load": int in [1, 100]] }]
 *               ["memory": { "mib": int in [1, 1048576], ["workers": int in [1, 16]] }]
 *               ["io": { "path": "/absolute/dir", ["workers": int in [1, 16]],
 *                        ["mib": int in [1, 1024]] }] }
 *             at least one of cpu, memory, io; load defaults to 100 (percent of one
 *             CPU per worker), memory workers to 1 (each holds "mib" MiB, touched),
 *             I/O workers to 1, each writing "mib" (default 16) MiB of one file
 *             faultline creates in "path", fdatasync, again
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/api.h"
#include "faults/spec/stress.h"

/* An integer in [lo, hi] at path, or the error naming it. */
static int get_uint(const cJSON *v, const char *path, unsigned long lo, unsigned long hi,
		    unsigned long *out, struct fl_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < (double)lo || v->valuedouble > (double)hi)
		return fl_error_set(err, -EINVAL, path, "expected an integer in [%lu, %lu]", lo,
				    hi);
	*out = (unsigned long)v->valuedouble;
	return 0;
}

static int parse_cpu(const cJSON *o, struct stress_spec *s, struct fl_error *err)
{
	static const char *const keys[] = {"workers", "load", NULL};
	const cJSON *v;
	unsigned long x = 0;
	int r;

	if (!cJSON_IsObject(o))
		return fl_error_set(err, -EINVAL, "$.params.cpu",
				    "expected an object {\"workers\": N, \"load\": percent}");
	if ((r = fl_api_only_keys(o, "$.params.cpu", keys, err)) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(o, "workers");
	if (!v)
		return fl_error_set(err, -EINVAL, "$.params.cpu.workers", "required");
	if ((r = get_uint(v, "$.params.cpu.workers", 1, FL_STRESS_CPU_WORKERS_MAX, &x, err)) < 0)
		return r;
	s->cpu_workers = (unsigned)x;
	s->cpu_load = 100;
	v = cJSON_GetObjectItemCaseSensitive(o, "load");
	if (v) {
		if ((r = get_uint(v, "$.params.cpu.load", 1, 100, &x, err)) < 0)
			return r;
		s->cpu_load = (unsigned)x;
	}
	return 0;
}

static int parse_memory(const cJSON *o, struct stress_spec *s, struct fl_error *err)
{
	static const char *const keys[] = {"mib", "workers", NULL};
	const cJSON *v;
	unsigned long x = 0;
	int r;

	if (!cJSON_IsObject(o))
		return fl_error_set(err, -EINVAL, "$.params.memory",
				    "expected an object {\"mib\": N, \"workers\": N}");
	if ((r = fl_api_only_keys(o, "$.params.memory", keys, err)) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(o, "mib");
	if (!v)
		return fl_error_set(err, -EINVAL, "$.params.memory.mib", "required");
	if ((r = get_uint(v, "$.params.memory.mib", 1, FL_STRESS_MIB_MAX, &x, err)) < 0)
		return r;
	s->mem_mib = x;
	s->mem_workers = 1;
	v = cJSON_GetObjectItemCaseSensitive(o, "workers");
	if (v) {
		if ((r = get_uint(v, "$.params.memory.workers", 1, FL_STRESS_MEM_WORKERS_MAX, &x,
				  err)) < 0)
			return r;
		s->mem_workers = (unsigned)x;
	}
	return 0;
}

static int parse_io(const cJSON *o, struct stress_spec *s, struct fl_error *err)
{
	static const char *const keys[] = {"path", "workers", "mib", NULL};
	const cJSON *v;
	unsigned long x = 0;
	size_t n;
	int r;

	if (!cJSON_IsObject(o))
		return fl_error_set(err, -EINVAL, "$.params.io",
				    "expected an object {\"path\": \"/dir\", \"workers\": N}");
	if ((r = fl_api_only_keys(o, "$.params.io", keys, err)) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(o, "path");
	n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	if (!n || v->valuestring[0] != '/' || n >= sizeof(s->io_path) ||
	    strstr(v->valuestring, "/../") || (n >= 3 && !strcmp(v->valuestring + n - 3, "/..")))
		return fl_error_set(err, -EINVAL, "$.params.io.path",
				    v ? "expected an absolute directory path without \"..\""
				      : "required: the directory of the file the workers write");
	memcpy(s->io_path, v->valuestring, n + 1);
	s->io_workers = 1;
	s->io_mib = 16;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "workers"))) {
		if ((r = get_uint(v, "$.params.io.workers", 1, FL_STRESS_IO_WORKERS_MAX, &x, err)) <
		    0)
			return r;
		s->io_workers = (unsigned)x;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "mib"))) {
		if ((r = get_uint(v, "$.params.io.mib", 1, FL_STRESS_IO_MIB_MAX, &x, err)) < 0)
			return r;
		s->io_mib = x;
	}
	return 0;
}

void fl_stress_free(void *p)
{
	struct stress_spec *s = p;

	if (!s)
		return;
	fl_proc_sel_done(&s->sel);
	free(s);
}

int fl_stress_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const pkeys[] = {"cpu", "memory", "io", NULL};
	struct stress_spec *s = calloc(1, sizeof(*s));
	const cJSON *v;
	int r;

	*out = NULL;
	if (!s)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	r = fl_proc_sel_parse(target, NULL, &s->sel, err);
	if (r < 0)
		goto out;
	if (!cJSON_IsObject(params)) {
		r = fl_error_set(err, -EINVAL, "$.params",
				 "expected an object with \"cpu\", \"memory\" and/or \"io\"");
		goto out;
	}
	if ((r = fl_api_only_keys(params, "$.params", pkeys, err)) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "cpu")) && (r = parse_cpu(v, s, err)) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "memory")) &&
	    (r = parse_memory(v, s, err)) < 0)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(params, "io")) && (r = parse_io(v, s, err)) < 0)
		goto out;
	if (!s->cpu_workers && !s->mem_workers && !s->io_workers) {
		r = fl_error_set(err, -EINVAL, "$.params",
				 "name a stressor: \"cpu\", \"memory\" and/or \"io\"");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	fl_stress_free(s);
	return r;
}

int fl_stress_describe(const void *p, struct fl_buf *out)
{
	const struct stress_spec *s = p;
	int r = fl_buf_printf(out, "stress-ng");

	if (r == 0 && s->cpu_workers)
		r = fl_buf_printf(out, " --cpu %u --cpu-load %u", s->cpu_workers, s->cpu_load);
	if (r == 0 && s->mem_workers)
		r = fl_buf_printf(out, " --vm %u --vm-bytes %luM --vm-keep", s->mem_workers,
				  s->mem_mib);
	if (r == 0 && s->io_workers)
		r = fl_buf_printf(out,
				  " --hdd %u --hdd-bytes %luM --hdd-opts fdatasync --temp-path %s",
				  s->io_workers, s->io_mib, s->io_path);
	if (r == 0)
		r = fl_buf_printf(out, ", in the cgroup of ");
	return r < 0 ? r : fl_proc_sel_describe(&s->sel, out);
}

const struct fl_fault_spec_ops fl_fault_spec_stress = {
    .kind = "stress",
    .family = FL_FAULT_FAMILY_PROCESS,
    .instant = false,
    .writes = (const char *const[]){"io.path", NULL},
    .parse = fl_stress_parse,
    .describe = fl_stress_describe,
    .free = fl_stress_free,
};
