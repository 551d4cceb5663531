/*
 * Fault kind `dns`: wrong resolver answers for shimmed processes, as Chaos
 * Mesh's DNSChaos (action, patterns): one shim rule `dns:...:host=PATTERN`
 * per pattern (docs/faults/syscall.md "Resolver answers") on the syscall
 * kind's target.
 *
 *   params: {"action": "nxdomain" | "servfail" | "timeout" | "answer",
 *            "patterns": ["*.internal", "db.example.com"],   1..32 host globs, `*` any run
 *            ["address": "10.9.9.9"]                          answer only (IPv4 or IPv6)
 *            ["timeout": "5s"]}                               timeout only (default 5s)
 *
 * Names compare case-insensitively; Chaos Mesh's `?` wildcard is refused
 * (the shim matches `*` only). DNSChaos's "error" is servfail here, its
 * "random" an answer with the address given.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faults/spec/shim_kinds.h"

int fl_dns_parse(const cJSON *target, const cJSON *params, void **out, struct fl_error *err)
{
	static const char *const keys[] = {"action", "patterns", "address", "timeout", NULL};
	static const char *const actions[] = {"nxdomain", "servfail", "timeout", "answer"};
	static const char *const said[] = {
	    "NXDOMAIN: the name does not exist",
	    "SERVFAIL: the server failed (DNSChaos action \"error\")",
	    "no answer: a timeout",
	    "a wrong address",
	};
	struct shim_kind_spec *k = NULL;
	const cJSON *act, *pats, *addr, *tmo, *it;
	const char *address = NULL, *wait = "5s";
	char head[96], names[384] = "";
	size_t a, i = 0;
	int rc;

	if ((rc = fl_shim_kind_new(target, params, keys, &k, err)) < 0)
		return rc;
	act = cJSON_GetObjectItemCaseSensitive(params, "action");
	for (a = 0; cJSON_IsString(act) && a < FL_ARRAY_SIZE(actions); a++)
		if (!strcmp(act->valuestring, actions[a]))
			break;
	if (!cJSON_IsString(act) || a == FL_ARRAY_SIZE(actions)) {
		rc = fl_error_set(err, -EINVAL, "$.params.action",
				  "expected \"nxdomain\", \"servfail\", \"timeout\" or \"answer\"");
		goto fail;
	}
	addr = cJSON_GetObjectItemCaseSensitive(params, "address");
	tmo = cJSON_GetObjectItemCaseSensitive(params, "timeout");
	if (a == 3) {
		if (!cJSON_IsString(addr) || !addr->valuestring[0] ||
		    strlen(addr->valuestring) > 45 ||
		    strspn(addr->valuestring, "0123456789abcdefABCDEF.:") !=
			strlen(addr->valuestring)) {
			rc =
			    fl_error_set(err, -EINVAL, "$.params.address",
					 "expected the address to answer, IPv4 or IPv6 (\"answer\" "
					 "needs one)");
			goto fail;
		}
		address = addr->valuestring;
		/* IPv6 in brackets: ':' separates the rule's fields. */
		snprintf(head, sizeof(head), "dns:answer=%s%s%s", strchr(address, ':') ? "[" : "",
			 address, strchr(address, ':') ? "]" : "");
	} else if (addr) {
		rc = fl_error_set(err, -EINVAL, "$.params.address",
				  "only the \"answer\" action takes an address");
		goto fail;
	}
	if (a == 2) {
		if (tmo && (rc = fl_shim_kind_value(tmo, "$.params.timeout", 32,
						    "a duration like \"5s\"", &wait, err)) < 0)
			goto fail;
		snprintf(head, sizeof(head), "dns:timeout=%s", wait);
	} else if (tmo) {
		rc = fl_error_set(err, -EINVAL, "$.params.timeout",
				  "only the \"timeout\" action takes a timeout");
		goto fail;
	}
	if (a < 2)
		snprintf(head, sizeof(head), "dns:%s", a == 0 ? "NXDOMAIN" : "SERVFAIL");
	/* The answer alone first: what the rule parser refuses of it is the address's or the
	 * timeout's, not a pattern's. */
	{
		struct fl_preload_rule r;

		if ((rc = fl_preload_rule_parse(head, 0, &r, err)) < 0) {
			snprintf(err->path, sizeof(err->path), "%s",
				 a == 3 ? "$.params.address" : "$.params.timeout");
			goto fail;
		}
	}
	pats = cJSON_GetObjectItemCaseSensitive(params, "patterns");
	if (!cJSON_IsArray(pats) || !cJSON_GetArraySize(pats)) {
		rc = fl_error_set(err, -EINVAL, "$.params.patterns",
				  "expected a non-empty list of host name patterns like "
				  "[\"*.internal\"]");
		goto fail;
	}
	cJSON_ArrayForEach(it, pats)
	{
		char path[64], rule[FL_RULE_TEXT_MAX];
		const char *p;

		snprintf(path, sizeof(path), "$.params.patterns[%zu]", i++);
		if ((rc = fl_shim_kind_value(
			 it, path, 127, "a host name pattern like \"*.internal\"", &p, err)) < 0)
			goto fail;
		if (strchr(p, '?')) {
			rc = fl_error_set(err, -EINVAL, path,
					  "only '*' is a wildcard here (any run of characters, "
					  "dots included); '?' is not");
			goto fail;
		}
		snprintf(rule, sizeof(rule), "%s:host=%s", head, p);
		if ((rc = fl_shim_kind_add_rule(k, rule, path, err)) < 0)
			goto fail;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s\"%.60s\"",
			 i > 1 ? ", " : "", p);
	}
	if (a == 3)
		snprintf(k->what, sizeof(k->what),
			 "DNSChaos-style answers (%s %s, patterns [%s]) in the shim's resolver "
			 "hooks",
			 said[a], address, names);
	else if (a == 2)
		snprintf(k->what, sizeof(k->what),
			 "DNSChaos-style answers (%s after %s, patterns [%s]) in the shim's "
			 "resolver hooks",
			 said[a], wait, names);
	else
		snprintf(k->what, sizeof(k->what),
			 "DNSChaos-style answers (%s, patterns [%s]) in the shim's resolver hooks",
			 said[a], names);
	*out = k;
	return 0;
fail:
	fl_shim_kind_free(k);
	return rc;
}

const struct fl_fault_spec_ops fl_fault_spec_dns = {
    .kind = "dns",
    .family = FL_FAULT_FAMILY_SYSCALL,
    .parse = fl_dns_parse,
    .describe = fl_shim_kind_describe,
    .free = fl_shim_kind_free,
};
