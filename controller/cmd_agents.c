/*
 * `faultline status` lists the live faults of every agent given; `faultline
 * revert --all` is the big red button: every agent reverts every live fault
 * (or those of one experiment). Exit codes: 0 all agents answered, 1 some
 * agent could not be reached or failed, 2 usage.
 */
#include "controller/cmd_agents.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/agent_client.h"
#include "controller/inventory.h"
#include "core/api.h"

#define TIMEOUT_MS 10000

struct targets {
	struct fl_agent_inventory inv;
	struct fl_agent_ep *eps;
	size_t n;
};

static void targets_done(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		fl_agent_ep_done(&t->eps[i]);
	free(t->eps);
	fl_agent_inventory_done(&t->inv);
}

static int add_ep(struct targets *t, const char *name_or_addr, struct fl_error *err)
{
	struct fl_agent_ep *nv = realloc(t->eps, (t->n + 1) * sizeof(*nv));
	int r;

	if (!nv)
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	t->eps = nv;
	r = fl_agent_resolve(&t->inv, name_or_addr, &t->eps[t->n], err);
	if (r == 0)
		t->n++;
	return r;
}

/* Shared options; the command's own (--json, --all, --experiment) are handed back. */
static int parse_common(int argc, char **argv, const char *cmd, struct targets *t, bool *json,
			bool *all, const char **experiment)
{
	enum { O_AGENTS = 256, O_AGENT, O_TOKEN, O_JSON, O_ALL, O_EXP, O_HELP };
	static const struct option lo[] = {
	    {"agents", required_argument, NULL, O_AGENTS},
	    {"agent", required_argument, NULL, O_AGENT},
	    {"token-file", required_argument, NULL, O_TOKEN},
	    {"json", no_argument, NULL, O_JSON},
	    {"all", no_argument, NULL, O_ALL},
	    {"experiment", required_argument, NULL, O_EXP},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *inventory = NULL, *token_file = NULL;
	const char *addrs[256];
	size_t n_addrs = 0;
	struct fl_error err;
	int o;

	memset(t, 0, sizeof(*t));
	fl_error_init(&err);
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (o) {
		case O_AGENTS:
			inventory = optarg;
			break;
		case O_AGENT:
			if (n_addrs == sizeof(addrs) / sizeof(addrs[0])) {
				fprintf(stderr, "faultline %s: too many --agent\n", cmd);
				return 2;
			}
			addrs[n_addrs++] = optarg;
			break;
		case O_TOKEN:
			token_file = optarg;
			break;
		case O_JSON:
			if (!json)
				goto usage;
			*json = true;
			break;
		case O_ALL:
			if (!all)
				goto usage;
			*all = true;
			break;
		case O_EXP:
			if (!experiment)
				goto usage;
			*experiment = optarg;
			break;
		case O_HELP:
			printf(
			    "usage: faultline %s [--agents FILE] [--agent ADDR]... [--token-file "
			    "FILE]%s\n",
			    cmd, json ? " [--json]" : " --all [--experiment ID]");
			return 0;
		case ':':
			fprintf(stderr, "faultline %s: option '%s' needs a value\n", cmd,
				argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "faultline %s: unknown option '%.*s'\n", cmd,
				(int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			goto usage;
		}
	}
	/* No operands: files come with their options (--agents FILE, --token-file FILE). */
	if (optind < argc) {
		fprintf(stderr, "faultline %s: unexpected argument '%s'%s\n", cmd, argv[optind],
			strcmp(argv[optind - 1], "--") ? "" : " after '--'");
		goto usage;
	}
	if (inventory && fl_agent_inventory_load(inventory, &t->inv, &err) < 0) {
		fprintf(stderr, "faultline %s: --agents %s: %s%s%s\n", cmd, inventory, err.path,
			err.path[0] ? ": " : "", err.msg);
		return 2;
	}
	if (token_file) {
		free(t->inv.defaults.token);
		t->inv.defaults.token = NULL;
		if (fl_agent_token_read(token_file, &t->inv.defaults.token, &err) < 0) {
			fprintf(stderr, "faultline %s: %s\n", cmd, err.msg);
			return 2;
		}
	}
	for (size_t i = 0; i < t->inv.n; i++)
		if (!n_addrs && add_ep(t, t->inv.v[i].name, &err) < 0)
			goto bad;
	for (size_t i = 0; i < n_addrs; i++)
		if (add_ep(t, addrs[i], &err) < 0)
			goto bad;
	if (!t->n) {
		fprintf(stderr, "faultline %s: no agents: give --agents FILE or --agent ADDR\n",
			cmd);
		return 2;
	}
	return -1;
bad:
	fprintf(stderr, "faultline %s: %s\n", cmd, err.msg);
	return 2;
usage:
	fprintf(stderr, "faultline %s: see faultline %s --help\n", cmd, cmd);
	return 2;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

int fl_cmd_status(int argc, char **argv)
{
	struct targets t;
	struct fl_agent_client *c = NULL;
	struct fl_agent_call *calls = NULL;
	bool json = false;
	cJSON *out = NULL;
	int rc = parse_common(argc, argv, "status", &t, &json, NULL, NULL);

	if (rc >= 0) {
		targets_done(&t);
		return rc;
	}
	rc = 0;
	c = fl_agent_client_new();
	calls = calloc(t.n, sizeof(*calls));
	if (!c || !calls) {
		fprintf(stderr, "faultline status: out of memory\n");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		calls[i].ep = &t.eps[i];
		calls[i].method = "GET";
		snprintf(calls[i].path, sizeof(calls[i].path), "/v1/faults");
	}
	if (fl_agent_client_run(c, calls, t.n, TIMEOUT_MS) < 0) {
		fprintf(stderr, "faultline status: cannot run the requests\n");
		rc = 1;
		goto out;
	}
	out = cJSON_CreateArray();
	if (!json)
		printf("%-20s %-28s %-8s %-20s %-9s %s\n", "AGENT", "FAULT", "KIND", "EXPERIMENT",
		       "EXPIRES", "WHAT");
	for (size_t i = 0; i < t.n; i++) {
		const cJSON *faults = cJSON_GetObjectItemCaseSensitive(calls[i].json, "faults");
		const cJSON *f;
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "agent", t.eps[i].name);
		cJSON_AddItemToArray(out, o);
		if (calls[i].status != 200 || !cJSON_IsArray(faults)) {
			struct fl_error e;

			fl_agent_call_error(&calls[i], &e);
			cJSON_AddStringToObject(o, "error", e.msg);
			if (!json)
				fprintf(stderr, "faultline status: %s\n", e.msg);
			rc = 1;
			continue;
		}
		cJSON_AddItemToObject(o, "faults", cJSON_Duplicate(faults, true));
		cJSON_ArrayForEach(f, faults)
		{
			const cJSON *ms = cJSON_GetObjectItemCaseSensitive(f, "expires_in_ms");
			char exp[32];

			snprintf(exp, sizeof(exp), "%.1fs",
				 cJSON_IsNumber(ms) ? ms->valuedouble / 1000 : 0.0);
			if (!json)
				printf("%-20s %-28s %-8s %-20s %-9s %s\n", t.eps[i].name,
				       str(f, "id"), str(f, "kind"), str(f, "experiment"), exp,
				       str(f, "description"));
		}
	}
	if (json) {
		char *s = cJSON_Print(out);

		if (s)
			printf("%s\n", s);
		free(s);
	}
out:
	for (size_t i = 0; calls && i < t.n; i++)
		fl_agent_call_done(&calls[i]);
	free(calls);
	cJSON_Delete(out);
	fl_agent_client_free(c);
	targets_done(&t);
	return rc;
}

int fl_cmd_revert(int argc, char **argv)
{
	struct targets t;
	struct fl_agent_client *c = NULL;
	struct fl_agent_call *calls = NULL;
	bool all = false;
	const char *experiment = NULL;
	int rc = parse_common(argc, argv, "revert", &t, NULL, &all, &experiment);

	if (rc >= 0) {
		targets_done(&t);
		return rc;
	}
	rc = 0;
	if (!all) {
		fprintf(stderr, "faultline revert: --all is required (it reverts every live fault "
				"on the agents given, or those of --experiment ID)\n");
		rc = 2;
		goto out;
	}
	if (experiment && !fl_api_id_valid(experiment, FL_API_EXPERIMENT_MAX)) {
		fprintf(stderr, "faultline revert: --experiment %s: not a valid experiment id\n",
			experiment);
		rc = 2;
		goto out;
	}
	c = fl_agent_client_new();
	calls = calloc(t.n, sizeof(*calls));
	if (!c || !calls) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		calls[i].ep = &t.eps[i];
		calls[i].method = "DELETE";
		if (experiment)
			snprintf(calls[i].path, sizeof(calls[i].path), "/v1/faults?experiment=%s",
				 experiment);
		else
			snprintf(calls[i].path, sizeof(calls[i].path), "/v1/faults?all=true");
	}
	if (fl_agent_client_run(c, calls, t.n, TIMEOUT_MS) < 0) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		const cJSON *done = cJSON_GetObjectItemCaseSensitive(calls[i].json, "reverted");

		if (calls[i].status != 200) {
			struct fl_error e;

			fl_agent_call_error(&calls[i], &e);
			fprintf(stderr, "faultline revert: %s\n", e.msg);
			rc = 1;
			continue;
		}
		printf("%s: reverted %d fault(s)\n", t.eps[i].name, cJSON_GetArraySize(done));
	}
out:
	for (size_t i = 0; calls && i < t.n; i++)
		fl_agent_call_done(&calls[i]);
	free(calls);
	fl_agent_client_free(c);
	targets_done(&t);
	return rc;
}
