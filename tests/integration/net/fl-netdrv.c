/*
 * fl-netdrv: drives the network fault ops directly (parse, plan, apply,
 * revert, describe, available), as the agent will. Used by the host
 * integration tests, the VM lane and the benchmark while the agent's HTTP API
 * is not on main.
 *
 *   fl-netdrv apply KIND TARGET_JSON PARAMS_JSON UNDO_FILE   plan + journal + apply
 *   fl-netdrv revert KIND UNDO_FILE                          revert from the record alone
 *   fl-netdrv effect KIND UNDO_FILE                          the effect read back (JSON)
 *   fl-netdrv describe KIND TARGET_JSON PARAMS_JSON          iproute2 lines (no system access)
 *   fl-netdrv dry KIND TARGET_JSON PARAMS_JSON               plan, then describe + describe_plan
 *                                                            (as the agent's dry run)
 *   fl-netdrv available KIND                                 pre-flight; exit 1 + reason
 *   fl-netdrv parse KIND TARGET_JSON PARAMS_JSON             exit 1 + "path: message"
 * Exit: 0 ok, 1 fault error (message on stderr), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults/fault.h"

static cJSON *parse_json(const char *s, const char *what)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		fprintf(stderr, "fl-netdrv: %s is not JSON\n", what);
	return j;
}

static int fail(const struct fl_error *err)
{
	char buf[FL_ERROR_PATH_MAX + FL_ERROR_MSG_MAX + 8];

	fprintf(stderr, "%s\n", fl_error_str(err, buf, sizeof(buf)));
	return 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 22) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Journal the undo record like the agent: temp file, fsync, rename. */
static int write_undo(const char *path, const cJSON *undo)
{
	char tmp[4096];
	char *s = cJSON_PrintUnformatted(undo);
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!s || !(f = fopen(tmp, "we"))) {
		free(s);
		return -1;
	}
	ok = fputs(s, f) >= 0 && fflush(f) == 0 && fdatasync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	free(s);
	return ok && rename(tmp, path) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct fl_fault_ops *ops;
	struct fl_fault_ctx ctx = {.fault_id = "fl-netdrv"};
	struct fl_error err;
	cJSON *target = NULL, *params = NULL, *undo = NULL;
	void *spec = NULL;
	int rc = 1;

	fl_error_init(&err);
	if (argc < 3 || !(ops = fl_fault_lookup(argv[2]))) {
		fprintf(stderr,
			"usage: fl-netdrv apply|revert|describe|available|parse KIND ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "available")) {
		char why[512] = "";

		if (ops->available(why, sizeof(why))) {
			printf("%s: available\n", ops->kind);
			return 0;
		}
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	if ((!strcmp(argv[1], "revert") || !strcmp(argv[1], "effect")) && argc == 4) {
		char *s = slurp(argv[3]);

		if (!s || !(undo = parse_json(s, "undo record"))) {
			fprintf(stderr, "fl-netdrv: cannot read %s\n", argv[3]);
			free(s);
			return 1;
		}
		free(s);
		if (!strcmp(argv[1], "effect")) {
			cJSON *e = NULL;
			char *t = NULL;

			rc = ops->effect && ops->effect(undo, &e) == 0 && e &&
				     (t = cJSON_PrintUnformatted(e))
				 ? 0
				 : 1;
			if (t)
				printf("%s\n", t);
			free(t);
			cJSON_Delete(e);
			cJSON_Delete(undo);
			return rc;
		}
		rc = ops->revert(undo, &err) < 0 ? fail(&err) : 0;
		cJSON_Delete(undo);
		return rc;
	}
	if (argc < 5 || !(target = parse_json(argv[3], "target")) ||
	    !(params = parse_json(argv[4], "params"))) {
		cJSON_Delete(target);
		return 2;
	}
	if (ops->parse(target, params, &spec, &err) < 0) {
		rc = fail(&err);
		goto out;
	}
	if (!strcmp(argv[1], "parse")) {
		rc = 0;
	} else if (!strcmp(argv[1], "describe")) {
		struct fl_buf b;

		fl_buf_init(&b, 1 << 20);
		if (ops->describe(spec, &b) == 0) {
			fputs(b.data ? b.data : "", stdout);
			rc = 0;
		}
		fl_buf_done(&b);
	} else if (!strcmp(argv[1], "dry")) {
		struct fl_buf b;

		if (ops->plan(spec, &ctx, &undo, &err) < 0) {
			rc = fail(&err);
			goto out;
		}
		fl_buf_init(&b, 1 << 20);
		if (ops->describe(spec, &b) == 0 &&
		    (!ops->describe_plan || ops->describe_plan(undo, &b) == 0)) {
			fputs(b.data ? b.data : "", stdout);
			rc = 0;
		}
		fl_buf_done(&b);
	} else if (!strcmp(argv[1], "apply") && argc == 6) {
		if (ops->plan(spec, &ctx, &undo, &err) < 0) {
			rc = fail(&err);
			goto out;
		}
		if (write_undo(argv[5], undo) < 0) {
			fprintf(stderr, "fl-netdrv: cannot write %s: %s\n", argv[5],
				strerror(errno));
			goto out;
		}
		if (ops->apply(spec, &ctx, undo, &err) < 0) {
			rc = fail(&err);
			goto out;
		}
		if (write_undo(argv[5], undo) < 0)
			goto out;
		rc = 0;
	} else {
		rc = 2;
	}
out:
	if (spec)
		ops->free(spec);
	cJSON_Delete(undo);
	cJSON_Delete(target);
	cJSON_Delete(params);
	return rc;
}
