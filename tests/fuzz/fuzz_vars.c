/*
 * libFuzzer target: what `faultline run`/`validate` read besides the
 * experiment file -- `--var-file` (fl_vars_load_file), `--var NAME[:TYPE]=V`
 * (fl_vars_add_kv), the environment behind {"type": "env"} configuration
 * (experiments/config.c) -- and the shlex-like splitting of a process
 * provider's string "arguments" (fl_shlex_split). The variables then go
 * through an experiment whose every typed field is a ${name}, so a value
 * from outside reaches the typed parsers after substitution.
 *
 * Input: byte 0 picks:
 *   0  a --var-file's bytes (read through a memfd, as the CLI reads the file)
 *   1  --var arguments, one per line
 *   2  the environment: line 1 is FL_FUZZ_ENV_A, the rest FL_FUZZ_ENV_B
 *   3  a command line for fl_shlex_split; every word, single-quoted the
 *      POSIX way and joined again, must split back to the same words
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/buf.h"
#include "experiments/experiment.h"
#include "experiments/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every ${name} sits where a typed parser reads it after substitution. */
static const char experiment[] =
    "{\"version\": \"1.0.0\", \"title\": \"${title}\", \"description\": \"d\",\n"
    " \"configuration\": {\n"
    "  \"title\": \"t\", \"args\": \"-c 'exit 0'\", \"timeout\": 5, \"status\": 0,\n"
    "  \"url\": \"http://127.0.0.1:1/\", \"duration\": \"1s\", \"pid\": 1,\n"
    "  \"ea\": {\"type\": \"env\", \"key\": \"FL_FUZZ_ENV_A\", \"default\": \"1\"},\n"
    "  \"eb\": {\"type\": \"env\", \"key\": \"FL_FUZZ_ENV_B\", \"env_var_type\": \"json\",\n"
    "         \"default\": {\"a\": 1}},\n"
    "  \"ei\": {\"type\": \"env\", \"key\": \"FL_FUZZ_ENV_A\", \"env_var_type\": \"int\",\n"
    "         \"default\": 1},\n"
    "  \"ef\": {\"type\": \"env\", \"key\": \"FL_FUZZ_ENV_B\", \"env_var_type\": \"float\",\n"
    "         \"default\": 1.5}\n"
    " },\n"
    " \"secrets\": {\"s\": {\"token\": {\"type\": \"env\", \"key\": \"FL_FUZZ_ENV_A\",\n"
    "         \"default\": \"x\"}}},\n"
    " \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": [\n"
    "  {\"type\": \"probe\", \"name\": \"p\", \"tolerance\": \"${status}\",\n"
    "   \"provider\": {\"type\": \"process\", \"path\": \"sh\", \"arguments\": \"${args}\",\n"
    "                \"timeout\": \"${timeout}\"}},\n"
    "  {\"type\": \"probe\", \"name\": \"q\", \"tolerance\": \"${eb}\",\n"
    "   \"provider\": {\"type\": \"http\", \"url\": \"${url}\", \"timeout\": \"${ef}\",\n"
    "                \"headers\": {\"Authorization\": \"Bearer ${token}\"}}}]},\n"
    " \"method\": [\n"
    "  {\"type\": \"action\", \"name\": \"f\", \"provider\": {\"type\": \"fault\",\n"
    "   \"kind\": \"pause\", \"target\": {\"pid\": \"${pid}\"}, \"duration\": \"${duration}\"},\n"
    "   \"pauses\": {\"after\": \"${ei}\"}},\n"
    "  {\"type\": \"action\", \"name\": \"g\", \"provider\": {\"type\": \"process\",\n"
    "   \"path\": \"${ea}\", \"arguments\": [\"${ea}\", \"${ei}\", \"x${eb}y\"]}}],\n"
    " \"rollbacks\": []}\n";

static char *cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void parse_with(const struct fl_vars *vars)
{
	struct fl_errlist errs = {0};
	struct fl_experiment *e = NULL;

	if (fl_experiment_parse(experiment, sizeof(experiment) - 1, vars, &e, &errs) == 0)
		fl_experiment_free(e);
}

/* 'a'"'"'b' -- the words back as a POSIX shell would quote them. */
static void shlex_roundtrip(const char *s)
{
	char **argv = NULL, **again = NULL;
	size_t argc = 0, argc2 = 0;
	const char *why;
	struct fl_buf b;

	if (fl_shlex_split(s, &argv, &argc, &why) < 0)
		return;
	fl_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < argc; i++) {
		if (i && fl_buf_add(&b, " ", 1) < 0)
			goto out;
		if (fl_buf_add(&b, "'", 1) < 0)
			goto out;
		for (const char *c = argv[i]; *c; c++)
			if ((*c == '\'' ? fl_buf_add(&b, "'\"'\"'", 5) : fl_buf_add(&b, c, 1)) < 0)
				goto out;
		if (fl_buf_add(&b, "'", 1) < 0)
			goto out;
	}
	if (fl_buf_add(&b, "", 1) < 0)
		goto out;
	if (fl_shlex_split(b.data ? b.data : "", &again, &argc2, &why) < 0 || argc2 != argc)
		abort();
	for (size_t i = 0; i < argc; i++)
		if (strcmp(argv[i], again[i]))
			abort();
out:
	fl_buf_done(&b);
	fl_strv_free(again);
	fl_strv_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_vars vars = {0};
	struct fl_error err;
	const uint8_t *p = data + 1, *end = data + size, *nl;
	char path[64], *s;
	int fd;

	if (!size)
		return 0;
	fl_error_init(&err);
	switch (data[0] & 3) {
	case 0:
		fd = memfd_create("var-file", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		if (write(fd, p, size - 1) != (ssize_t)(size - 1))
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (fl_vars_load_file(&vars, path, &err) == 0)
			parse_with(&vars);
		close(fd);
		break;
	case 1:
		while (p < end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			s = cstr(p, (size_t)((nl ? nl : end) - p));
			if (!s || fl_vars_add_kv(&vars, s, &err) < 0) {
				free(s);
				break;
			}
			free(s);
			p = nl ? nl + 1 : end;
		}
		parse_with(&vars);
		break;
	case 2:
		nl = memchr(p, '\n', (size_t)(end - p));
		s = cstr(p, (size_t)((nl ? nl : end) - p));
		if (s)
			setenv("FL_FUZZ_ENV_A", s, 1);
		free(s);
		s = nl ? cstr(nl + 1, (size_t)(end - nl - 1)) : NULL;
		if (s)
			setenv("FL_FUZZ_ENV_B", s, 1);
		else
			unsetenv("FL_FUZZ_ENV_B");
		free(s);
		parse_with(NULL);
		unsetenv("FL_FUZZ_ENV_A");
		unsetenv("FL_FUZZ_ENV_B");
		break;
	default:
		s = cstr(p, size - 1);
		if (s)
			shlex_roundtrip(s);
		free(s);
		break;
	}
	fl_vars_done(&vars);
	return 0;
}
