/*
 * The agent API's JSON shapes (design.md §3), shared by faultline-agent and
 * the controller's agent client. Parsing only: no I/O, no policy.
 *
 *   POST /v1/faults          {id, experiment, kind, target, params, ttl_ms}
 *   POST /v1/faults/ID/renew {ttl_ms}
 *   errors                   {"error": {"code", "message", "path"}}
 */
#ifndef FL_CORE_API_H
#define FL_CORE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"
#include "core/error.h"

#define FL_API_DEFAULT_PORT    7433
#define FL_API_ID_MAX	       64  /* fault ids: [A-Za-z0-9._:-]{1,64} */
#define FL_API_EXPERIMENT_MAX  128 /* experiment ids, same charset */
#define FL_API_KIND_MAX	       32
#define FL_API_BODY_MAX	       (64 * 1024) /* default cap on request bodies */
#define FL_API_TTL_MAX_MS      (24ULL * 3600 * 1000)
#define FL_API_NESTING_MAX     16
#define FL_API_QUERY_MAX       8   /* parameters in one query string */
#define FL_API_QUERY_KEY_MAX   32  /* a parameter's name */
#define FL_API_QUERY_VALUE_MAX 256 /* a parameter's value, decoded */

/* A parsed POST /v1/faults body. target and params are owned copies. */
struct fl_api_fault_req {
	char id[FL_API_ID_MAX + 1];
	char experiment[FL_API_EXPERIMENT_MAX + 1];
	char kind[FL_API_KIND_MAX + 1];
	cJSON *target; /* object */
	cJSON *params; /* object (empty when absent) */
	uint64_t ttl_ms;
};

/* A parsed query string: each parameter once, in the order given. */
struct fl_api_query {
	size_t n;
	struct fl_api_query_param {
		char key[FL_API_QUERY_KEY_MAX + 1];
		char value[FL_API_QUERY_VALUE_MAX + 1]; /* decoded; "" when there was no '=' */
		bool has_value;
	} p[FL_API_QUERY_MAX];
};

/* Is s a valid fault/experiment id (charset above, 1..max bytes)? */
bool fl_api_id_valid(const char *s, size_t max);
/*
 * Parse a JSON body (len bytes, not NUL-terminated) into a cJSON tree with
 * caps on nesting; -EINVAL with err->path "$" when malformed.
 */
int fl_api_json_parse(const char *buf, size_t len, cJSON **out, struct fl_error *err) FL_WUR;
/* Parse and check a POST /v1/faults body; unknown fields are errors. */
int fl_api_fault_req_parse(const char *buf, size_t len, struct fl_api_fault_req *req,
			   struct fl_error *err) FL_WUR;
/* Free what fl_api_fault_req_parse allocated; the struct can be reused. */
void fl_api_fault_req_done(struct fl_api_fault_req *req);
/* Build a POST /v1/faults body (caller frees the string). */
char *fl_api_fault_req_json(const char *id, const char *experiment, const char *kind,
			    const cJSON *target, const cJSON *params, uint64_t ttl_ms);
/* Parse a renew body {"ttl_ms": N}; an empty body leaves *ttl_ms at 0. */
int fl_api_renew_parse(const char *buf, size_t len, uint64_t *ttl_ms, struct fl_error *err) FL_WUR;
/* Build {"error":{"code","message","path"}} (caller frees). */
char *fl_api_error_json(const char *code, const char *message, const char *path);
/* Read an error body back into err (message "code: message"); false if it is not one. */
bool fl_api_error_parse(const char *buf, size_t len, struct fl_error *err);
/*
 * Parse the query string of a request target (the bytes after '?', len of
 * them, not NUL-terminated) for a route that takes the parameters named in
 * allowed (NULL-terminated; NULL: none). Unknown, duplicate or malformed
 * parameters are -EINVAL with err->path "?NAME" (or "?" when the name itself
 * is malformed, which is then not repeated). The grammar is above the code.
 */
int fl_api_query_parse(const char *q, size_t len, const char *const *allowed,
		       struct fl_api_query *out, struct fl_error *err) FL_WUR;
/* The value of a parameter (decoded, "" when given without '='), or NULL when absent. */
const char *fl_api_query_get(const struct fl_api_query *q, const char *key);
/* Check that obj has only the listed keys (NULL-terminated); error names the first other one. */
int fl_api_only_keys(const cJSON *obj, const char *path, const char *const *keys,
		     struct fl_error *err) FL_WUR;

#endif
