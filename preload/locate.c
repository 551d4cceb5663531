/* Where libfaultline-preload.so is: shared by faultline exec and the agent. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/rules.h"

int fl_preload_locate(const char *opt, char *out, size_t len)
{
	/* Build tree (bin/ beside preload/), FHS installs, multiarch installs. */
	static const char *const rel[] = {
	    "/" FL_PRELOAD_LIB_NAME,
	    "/../preload/" FL_PRELOAD_LIB_NAME,
	    "/../lib/faultline/" FL_PRELOAD_LIB_NAME,
	    "/../lib/" FL_PRELOAD_LIB_NAME,
	    "/../lib/x86_64-linux-gnu/faultline/" FL_PRELOAD_LIB_NAME,
	    "/../lib/aarch64-linux-gnu/faultline/" FL_PRELOAD_LIB_NAME,
	};
	const char *env = getenv(FL_PRELOAD_LIB_ENV);
	char exe[PATH_MAX], res[PATH_MAX];
	ssize_t n;

	if (opt || (env && *env)) {
		const char *p = opt ? opt : env;

		if (!realpath(p, res) || strlen(res) >= len || access(res, R_OK))
			return -ENOENT;
		memcpy(out, res, strlen(res) + 1);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX * 2];

		snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, res) && strlen(res) < len) {
			memcpy(out, res, strlen(res) + 1);
			return 0;
		}
	}
	return -ENOENT;
}
