/*
 * Configuration, secrets, --var overrides and ${name} substitution, with
 * Chaos Toolkit's semantics (chaoslib configuration.py, secret.py and
 * substitute()) except where docs/experiment-format.md says otherwise.
 */
#include "experiments/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

static const char SECRET_MASK[] = "********";

/* ---- --var and --var-file ---------------------------------------------- */

static bool ident_ok(const char *s, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Add or replace key in vars; takes ownership of value and json (either may be NULL). */
static int vars_set(struct fl_vars *vars, const char *key, size_t klen, char *value, char *json,
		    bool secret)
{
	struct fl_kv *nv;
	char **nj, *k;
	bool *ns;

	for (size_t i = 0; i < vars->n; i++) {
		if (strlen(vars->v[i].key) == klen && !memcmp(vars->v[i].key, key, klen)) {
			free(vars->v[i].value);
			free(vars->json[i]);
			vars->v[i].value = value;
			vars->json[i] = json;
			vars->secret[i] = secret;
			return 0;
		}
	}
	if (vars->n >= FL_EXP_CONFIG_MAX)
		return -E2BIG;
	k = strndup(key, klen);
	nv = realloc(vars->v, (vars->n + 1) * sizeof(*nv));
	if (nv)
		vars->v = nv;
	nj = realloc(vars->json, (vars->n + 1) * sizeof(*nj));
	if (nj)
		vars->json = nj;
	ns = realloc(vars->secret, (vars->n + 1) * sizeof(*ns));
	if (ns)
		vars->secret = ns;
	if (!k || !nv || !nj || !ns) {
		free(k);
		return -ENOMEM;
	}
	vars->v[vars->n].key = k;
	vars->v[vars->n].value = value;
	vars->json[vars->n] = json;
	vars->secret[vars->n] = secret;
	vars->n++;
	return 0;
}

/* Convert text to a typed JSON value the way Chaos Toolkit's convert_to_type does. */
static cJSON *convert_typed(const char *type, const char *val, const char **why)
{
	char *end;

	*why = NULL;
	if (!type || !strcmp(type, "str") || !strcmp(type, "string"))
		return cJSON_CreateString(val);
	if (!strcmp(type, "int") || !strcmp(type, "integer")) {
		long long ll;

		errno = 0;
		ll = strtoll(val, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (errno || end == val || *end) {
			*why = "is not an integer";
			return NULL;
		}
		return cJSON_CreateNumber((double)ll);
	}
	if (!strcmp(type, "float") || !strcmp(type, "number")) {
		double d;

		errno = 0;
		d = strtod(val, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (errno || end == val || *end || !isfinite(d)) {
			*why = "is not a number";
			return NULL;
		}
		return cJSON_CreateNumber(d);
	}
	if (!strcmp(type, "bool")) {
		bool f = !strcasecmp(val, "false") || !strcmp(val, "0") || !strcasecmp(val, "no");

		return cJSON_CreateBool(!f);
	}
	if (!strcmp(type, "json")) {
		cJSON *j = cJSON_ParseWithOpts(val, NULL, 1);

		if (!j)
			*why = "is not valid JSON";
		return j;
	}
	*why = "has an unknown type (use str, int, float, bool or json)";
	return NULL;
}

/*
 * Grammar:  var := name [":" type] "=" value
 *           name := [A-Za-z_][A-Za-z0-9_]*   type := str | int | float | bool | json
 */
int fl_vars_add_kv(struct fl_vars *vars, const char *kv, struct fl_error *err)
{
	const char *eq = strchr(kv, '='), *colon;
	size_t klen;
	char *value = NULL, *json = NULL, type[16] = "";
	cJSON *typed = NULL;
	int r;

	if (!eq)
		return fl_error_set(err, -EINVAL, "", "--var %s: expected name=value", kv);
	colon = memchr(kv, ':', (size_t)(eq - kv));
	klen = (size_t)((colon ? colon : eq) - kv);
	if (!ident_ok(kv, klen) || klen > FL_EXP_NAME_MAX)
		return fl_error_set(err, -EINVAL, "",
				    "--var %.*s: a name is letters, digits and _, not starting "
				    "with a digit (at most %d bytes)",
				    (int)(eq - kv), kv, FL_EXP_NAME_MAX);
	if (strlen(eq + 1) > FL_EXP_STRING_MAX)
		return fl_error_set(err, -E2BIG, "", "--var %.*s: value longer than %d bytes",
				    (int)klen, kv, FL_EXP_STRING_MAX);
	if (colon) {
		const char *why;
		size_t tl = (size_t)(eq - colon - 1);

		if (tl >= sizeof(type))
			tl = sizeof(type) - 1;
		memcpy(type, colon + 1, tl);
		type[tl] = '\0';
		typed = convert_typed(type, eq + 1, &why);
		if (!typed)
			return fl_error_set(err, -EINVAL, "", "--var %.*s: value %s", (int)klen, kv,
					    why ? why : "cannot be stored");
		json = cJSON_PrintUnformatted(typed);
		cJSON_Delete(typed);
		if (!json)
			return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	value = strdup(eq + 1);
	if (!value) {
		free(json);
		return fl_error_set(err, -ENOMEM, "", "out of memory");
	}
	r = vars_set(vars, kv, klen, value, json, false);
	if (r < 0) {
		free(value);
		free(json);
		return fl_error_set(err, r, "", "--var %.*s: %s", (int)klen, kv,
				    r == -E2BIG ? "too many variables" : "out of memory");
	}
	return 0;
}

int fl_experiment_read_file(const char *path, char **out, size_t *len)
{
	return fl_buf_read_file(path, FL_EXP_FILE_MAX, out, len);
}

static int vars_add_json_object(struct fl_vars *vars, const cJSON *obj, const char *path,
				bool secret, struct fl_error *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		char p[FL_PATH_MAX], *json, *value;
		int r;

		fl_path_key(p, sizeof(p), path, it->string);
		if (!ident_ok(it->string, strlen(it->string)) ||
		    strlen(it->string) > FL_EXP_NAME_MAX)
			return fl_error_set(err, -EINVAL, p,
					    "a variable name is letters, digits and _, not "
					    "starting with a digit");
		if (!(cJSON_IsString(it) || cJSON_IsNumber(it) || cJSON_IsBool(it)))
			return fl_error_set(err, -EINVAL, p,
					    "expected a string, number or boolean, got %s",
					    fl_json_kind(it));
		if (cJSON_IsString(it) && strlen(it->valuestring) > FL_EXP_STRING_MAX)
			return fl_error_set(err, -E2BIG, p, "value longer than %d bytes",
					    FL_EXP_STRING_MAX);
		json = cJSON_PrintUnformatted(it);
		value = cJSON_IsString(it) ? strdup(it->valuestring) : fl_strdup0(json);
		if (!json || !value) {
			free(json);
			free(value);
			return fl_error_set(err, -ENOMEM, p, "out of memory");
		}
		r = vars_set(vars, it->string, strlen(it->string), value, json, secret);
		if (r < 0) {
			free(value);
			free(json);
			return fl_error_set(err, r, p, "%s",
					    r == -E2BIG ? "too many variables" : "out of memory");
		}
	}
	return 0;
}

/*
 * A var file is a JSON object of name -> string/number/boolean, or Chaos
 * Toolkit's shape {"configuration": {...}, "secrets": {"scope": {...}}}.
 */
int fl_vars_load_file(struct fl_vars *vars, const char *path, struct fl_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	const cJSON *it;
	bool ctk_shape = true;
	int r;

	r = fl_buf_read_file(path, FL_EXP_FILE_MAX, &buf, &len);
	if (r == -E2BIG)
		return fl_error_set(err, r, "", "%s: larger than %d bytes", path, FL_EXP_FILE_MAX);
	if (r < 0)
		return fl_error_set(err, r, "", "%s: %s", path, strerror(-r));
	root = cJSON_ParseWithLengthOpts(buf, len + 1, NULL, 1);
	if (!root || !cJSON_IsObject(root) || memchr(buf, '\0', len)) {
		r = fl_error_set(err, -EINVAL, "$", "%s: expected a JSON object of variables",
				 path);
		goto out;
	}
	cJSON_ArrayForEach(it, root)
	{
		if (!cJSON_IsObject(it) ||
		    (strcmp(it->string, "configuration") && strcmp(it->string, "secrets")))
			ctk_shape = false;
	}
	if (!ctk_shape || !root->child) {
		r = vars_add_json_object(vars, root, "$", false, err);
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "configuration");
	if (it) {
		r = vars_add_json_object(vars, it, "$.configuration", false, err);
		if (r < 0)
			goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "secrets");
	if (it) {
		const cJSON *scope;

		cJSON_ArrayForEach(scope, it)
		{
			char p[FL_PATH_MAX];

			fl_path_key(p, sizeof(p), "$.secrets", scope->string);
			if (!cJSON_IsObject(scope)) {
				r = fl_error_set(err, -EINVAL, p, "expected an object, got %s",
						 fl_json_kind(scope));
				goto out;
			}
			r = vars_add_json_object(vars, scope, p, true, err);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	cJSON_Delete(root);
	free(buf);
	return r;
}

void fl_vars_done(struct fl_vars *vars)
{
	if (!vars)
		return;
	for (size_t i = 0; i < vars->n; i++) {
		free(vars->v[i].key);
		free(vars->v[i].value);
		if (vars->json)
			free(vars->json[i]);
	}
	free(vars->v);
	free(vars->json);
	free(vars->secret);
	vars->v = NULL;
	vars->json = NULL;
	vars->secret = NULL;
	vars->n = 0;
}

/* ---- configuration and secrets ------------------------------------------ */

void fl_subst_map_done(struct fl_subst_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		cJSON_Delete(m->v[i].value);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

const cJSON *fl_subst_lookup(const struct fl_subst_map *m, const char *name, size_t len,
			     bool *secret)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strlen(m->v[i].name) == len && !memcmp(m->v[i].name, name, len)) {
			if (secret)
				*secret = m->v[i].secret;
			return m->v[i].value;
		}
	}
	return NULL;
}

/* Add unless present (first definition wins, as in Chaos Toolkit's ChainMap); owns value. */
static int map_add(struct fl_subst_map *m, const char *name, cJSON *value, bool secret)
{
	struct fl_subst_entry *nv;
	char *n;

	if (fl_subst_lookup(m, name, strlen(name), NULL)) {
		cJSON_Delete(value);
		return 0;
	}
	if (m->n >= 2 * FL_EXP_CONFIG_MAX + FL_EXP_CONFIG_MAX) {
		cJSON_Delete(value);
		return -E2BIG;
	}
	n = strdup(name);
	nv = realloc(m->v, (m->n + 1) * sizeof(*nv));
	if (!n || !nv) {
		free(n);
		if (nv)
			m->v = nv;
		cJSON_Delete(value);
		return -ENOMEM;
	}
	m->v = nv;
	m->v[m->n].name = n;
	m->v[m->n].value = value;
	m->v[m->n].secret = secret;
	m->v[m->n].size = 0;
	{
		char *txt = cJSON_PrintUnformatted(value);

		m->v[m->n].size = txt ? strlen(txt) : FL_EXP_SUBST_MAX;
		free(txt);
	}
	m->n++;
	return 0;
}

static cJSON *var_value(const struct fl_vars *vars, size_t i)
{
	if (vars->json && vars->json[i])
		return cJSON_Parse(vars->json[i]);
	return cJSON_CreateString(vars->v[i].value ? vars->v[i].value : "");
}

static ssize_t var_find(const struct fl_vars *vars, const char *name)
{
	if (!vars)
		return -1;
	for (size_t i = 0; i < vars->n; i++)
		if (!strcmp(vars->v[i].key, name))
			return (ssize_t)i;
	return -1;
}

/*
 * One configuration or secret value:
 *   value := any-json | {"type": "env", "key": NAME [, "default": any] [, "env_var_type": T]}
 * Returns a new value, or NULL with an error recorded.
 */
static cJSON *resolve_value(const cJSON *v, const char *path, const char *what,
			    struct fl_errlist *errs)
{
	const cJSON *type, *key, *def, *vt, *it;
	char p[FL_PATH_MAX], got[96];
	const char *env, *why;
	cJSON *out;
	bool bad = false;

	type = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "type") : NULL;
	if (!type)
		return cJSON_Duplicate(v, 1);
	if (!cJSON_IsString(type)) {
		fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "type"),
			  "expected \"env\", got %s", fl_json_got(type, got, sizeof(got)));
		return NULL;
	}
	if (!strcmp(type->valuestring, "probe")) {
		fl_experr(errs, -ENOTSUP, path,
			  "dynamic %s (a probe run at start) is not supported; give the "
			  "value, an environment variable or --var",
			  what);
		return NULL;
	}
	if (!strcmp(type->valuestring, "vault")) {
		fl_experr(errs, -ENOTSUP, path,
			  "vault %s are not supported; use {\"type\": \"env\"} or --var-file",
			  what);
		return NULL;
	}
	if (strcmp(type->valuestring, "env"))
		return cJSON_Duplicate(v, 1); /* Chaos Toolkit keeps such objects as values */
	cJSON_ArrayForEach(it, v)
	{
		if (strcmp(it->string, "type") && strcmp(it->string, "key") &&
		    strcmp(it->string, "default") && strcmp(it->string, "env_var_type")) {
			fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, it->string),
				  "unknown key in an environment reference (known: type, key, "
				  "default, env_var_type)");
			bad = true;
		}
	}
	key = cJSON_GetObjectItemCaseSensitive(v, "key");
	def = cJSON_GetObjectItemCaseSensitive(v, "default");
	vt = cJSON_GetObjectItemCaseSensitive(v, "env_var_type");
	if (!cJSON_IsString(key) || !key->valuestring[0]) {
		fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "key"),
			  "expected the name of an environment variable, got %s",
			  fl_json_got(key, got, sizeof(got)));
		return NULL;
	}
	if (vt && !cJSON_IsString(vt)) {
		fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, "env_var_type"),
			  "expected one of \"str\", \"int\", \"float\", \"bool\", \"json\", "
			  "got %s",
			  fl_json_got(vt, got, sizeof(got)));
		return NULL;
	}
	if (bad)
		return NULL;
	env = getenv(key->valuestring);
	if (!env) {
		if (def)
			return cJSON_Duplicate(def, 1);
		fl_experr(errs, -ENOENT, path,
			  "environment variable %s is not set and there is no \"default\"",
			  key->valuestring);
		return NULL;
	}
	if (strlen(env) > FL_EXP_STRING_MAX) {
		fl_experr(errs, -E2BIG, path, "environment variable %s is longer than %d bytes",
			  key->valuestring, FL_EXP_STRING_MAX);
		return NULL;
	}
	out = convert_typed(vt ? vt->valuestring : NULL, env, &why);
	if (!out)
		fl_experr(
		    errs, -EINVAL, vt ? fl_path_key(p, sizeof(p), path, "env_var_type") : path,
		    "environment variable %s %s", key->valuestring, why ? why : "cannot be stored");
	return out;
}

static bool declared_secret(const cJSON *secrets, const char *name)
{
	const cJSON *scope;

	if (!cJSON_IsObject(secrets))
		return false;
	cJSON_ArrayForEach(scope, secrets)
	{
		if (cJSON_IsObject(scope) && cJSON_GetObjectItemCaseSensitive(scope, name))
			return true;
	}
	return false;
}

int fl_config_resolve(const cJSON *config, const cJSON *secrets, const struct fl_vars *vars,
		      struct fl_subst_map *m, struct fl_errlist *errs)
{
	size_t before = errs->n + errs->dropped;
	const cJSON *it;
	int r;

	/* --var first: it overrides everything (Chaos Toolkit's extra_vars). A var
	 * standing in for a declared secret is masked like the secret. */
	for (size_t i = 0; vars && i < vars->n; i++) {
		cJSON *v = var_value(vars, i);
		bool secret =
		    (vars->secret && vars->secret[i]) || declared_secret(secrets, vars->v[i].key);

		if (!v)
			return -ENOMEM;
		r = map_add(m, vars->v[i].key, v, secret);
		if (r < 0)
			return r;
	}
	if (config && !cJSON_IsObject(config)) {
		fl_experr(errs, -EINVAL, "$.configuration", "expected an object, got %s",
			  fl_json_kind(config));
	} else if (config) {
		size_t n = 0;

		cJSON_ArrayForEach(it, config)
		{
			char p[FL_PATH_MAX];
			cJSON *v;

			fl_path_key(p, sizeof(p), "$.configuration", it->string);
			if (++n > FL_EXP_CONFIG_MAX) {
				fl_experr(errs, -E2BIG, "$.configuration", "more than %d entries",
					  FL_EXP_CONFIG_MAX);
				break;
			}
			if (var_find(vars, it->string) >= 0)
				continue; /* overridden: an unset env var is no error then */
			/* a value that failed still gets a name, so its uses are not
			 * reported again as undefined */
			v = resolve_value(it, p, "configuration", errs);
			if (!v && !(v = cJSON_CreateNull()))
				return -ENOMEM;
			r = map_add(m, it->string, v, false);
			if (r < 0)
				return r;
		}
	}
	if (secrets && !cJSON_IsObject(secrets)) {
		fl_experr(errs, -EINVAL, "$.secrets", "expected an object, got %s",
			  fl_json_kind(secrets));
	} else if (secrets) {
		const cJSON *scope;

		cJSON_ArrayForEach(scope, secrets)
		{
			char sp[FL_PATH_MAX];
			size_t n = 0;

			fl_path_key(sp, sizeof(sp), "$.secrets", scope->string);
			if (!cJSON_IsObject(scope)) {
				fl_experr(errs, -EINVAL, sp,
					  "expected an object of secrets (a scope), got %s",
					  fl_json_kind(scope));
				continue;
			}
			cJSON_ArrayForEach(it, scope)
			{
				char p[FL_PATH_MAX];
				cJSON *v;

				fl_path_key(p, sizeof(p), sp, it->string);
				if (++n > FL_EXP_CONFIG_MAX) {
					fl_experr(errs, -E2BIG, sp, "more than %d entries",
						  FL_EXP_CONFIG_MAX);
					break;
				}
				if (var_find(vars, it->string) >= 0)
					continue;
				v = resolve_value(it, p, "secrets", errs);
				if (!v && !(v = cJSON_CreateNull()))
					return -ENOMEM;
				r = map_add(m, it->string, v, true);
				if (r < 0)
					return r;
			}
		}
	}
	return errs->n + errs->dropped > before ? -EINVAL : 0;
}

/* ---- ${name} substitution ------------------------------------------------ */

/* Text of a value inside a longer string: strings as they are, others as JSON. */
static int append_value(struct fl_buf *b, const cJSON *v, bool masked)
{
	char *s;
	int r;

	if (masked)
		return fl_buf_add(b, SECRET_MASK, sizeof(SECRET_MASK) - 1);
	if (cJSON_IsString(v))
		return fl_buf_add(b, v->valuestring, strlen(v->valuestring));
	s = cJSON_PrintUnformatted(v);
	if (!s)
		return -ENOMEM;
	r = fl_buf_add(b, s, strlen(s));
	free(s);
	return r;
}

static size_t ident_len(const char *p)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)p[0]) || p[0] == '_'))
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

/*
 * Grammar (Python string.Template, as Chaos Toolkit uses it):
 *   "$$"            -> "$"
 *   "${" ident "}"  -> the value; an undefined name is an error (CTK keeps it as is)
 *   "$" ident       -> the value when defined, kept as is otherwise (as CTK does)
 *   any other "$"   -> kept as is
 *   ident := [A-Za-z_][A-Za-z0-9_]*
 * A string that is one reference and nothing else takes the value's own type.
 */
/* Charge n bytes to the map's budget; false (reported once, at path) when it is spent. */
static bool subst_afford(struct fl_subst_map *m, size_t n, const char *path,
			 struct fl_errlist *errs)
{
	if (!m->over && m->spent + n <= FL_EXP_SUBST_MAX) {
		m->spent += n;
		return true;
	}
	if (!m->over)
		fl_experr(errs, -E2BIG, path,
			  "the experiment grows past %d bytes through ${name} substitutions (a "
			  "large value used too often)",
			  FL_EXP_SUBST_MAX);
	m->over = true;
	return false;
}

static size_t subst_size(const struct fl_subst_map *m, const cJSON *v)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].value == v)
			return m->v[i].size;
	return 0;
}

static cJSON *subst_string(const char *s, const char *path, struct fl_subst_map *m, bool mask,
			   struct fl_errlist *errs)
{
	struct fl_buf b;
	const char *p = s;
	cJSON *out = NULL;
	bool changed = false;
	int r = 0;

	if (!strchr(s, '$'))
		return cJSON_CreateString(s);
	/* whole-string reference: typed value */
	if (s[0] == '$') {
		size_t off = s[1] == '{' ? 2 : 1, n = ident_len(s + off);
		bool brace = off == 2;

		if (n &&
		    ((brace && s[off + n] == '}' && !s[off + n + 1]) || (!brace && !s[off + n]))) {
			bool secret = false;
			const cJSON *v = fl_subst_lookup(m, s + off, n, &secret);

			if (v && !(mask && secret) &&
			    !subst_afford(m, subst_size(m, v), path, errs))
				return cJSON_CreateString(s);
			if (v)
				return mask && secret ? cJSON_CreateString(SECRET_MASK)
						      : cJSON_Duplicate(v, 1);
		}
	}
	fl_buf_init(&b, FL_EXP_STRING_MAX);
	while (*p && r == 0) {
		const char *d = strchr(p, '$');
		size_t n;

		if (!d) {
			r = fl_buf_add(&b, p, strlen(p));
			break;
		}
		r = fl_buf_add(&b, p, (size_t)(d - p));
		if (r < 0)
			break;
		if (d[1] == '$') {
			r = fl_buf_add(&b, "$", 1);
			p = d + 2;
			changed = true;
		} else if (d[1] == '{' && (n = ident_len(d + 2)) && d[2 + n] == '}') {
			bool secret = false;
			const cJSON *v = fl_subst_lookup(m, d + 2, n, &secret);

			if (!v) {
				char q[96], name[FL_EXP_NAME_MAX + 1];

				snprintf(name, sizeof(name), "%.*s", (int)n, d + 2);
				fl_experr(errs, -ENOENT, path,
					  "${%s} is not defined in \"configuration\", "
					  "\"secrets\" or --var (in %s; write $${ for a "
					  "literal ${)",
					  name, fl_quote(s, q, sizeof(q)));
				fl_buf_done(&b);
				return cJSON_CreateString(s);
			}
			r = append_value(&b, v, mask && secret);
			p = d + 3 + n;
			changed = true;
		} else if ((n = ident_len(d + 1)) && fl_subst_lookup(m, d + 1, n, NULL)) {
			bool secret = false;
			const cJSON *v = fl_subst_lookup(m, d + 1, n, &secret);

			r = append_value(&b, v, mask && secret);
			p = d + 1 + n;
			changed = true;
		} else {
			r = fl_buf_add(&b, "$", 1);
			p = d + 1;
		}
	}
	if (r == 0 && changed && b.len > strlen(s) &&
	    !subst_afford(m, b.len - strlen(s), path, errs))
		out = cJSON_CreateString(s);
	else if (r == -E2BIG) {
		fl_experr(errs, -E2BIG, path, "longer than %d bytes after substitution",
			  FL_EXP_STRING_MAX);
		out = cJSON_CreateString(s);
	} else if (r == 0) {
		out = cJSON_CreateString(changed && b.data ? b.data : (changed ? "" : s));
	}
	fl_buf_done(&b);
	return out;
}

cJSON *fl_subst_tree(const cJSON *in, const char *path, struct fl_subst_map *m, bool mask,
		     struct fl_errlist *errs)
{
	cJSON *out, *c;
	const cJSON *it;
	size_t i = 0;

	if (cJSON_IsString(in))
		return subst_string(in->valuestring, path, m, mask, errs);
	if (!cJSON_IsArray(in) && !cJSON_IsObject(in))
		return cJSON_Duplicate(in, 0);
	out = cJSON_IsArray(in) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (!out)
		return NULL;
	cJSON_ArrayForEach(it, in)
	{
		char p[FL_PATH_MAX];

		if (cJSON_IsArray(in))
			fl_path_index(p, sizeof(p), path, i++);
		else
			fl_path_key(p, sizeof(p), path, it->string);
		c = fl_subst_tree(it, p, m, mask, errs);
		if (!c)
			goto fail;
		if (cJSON_IsArray(in)) {
			if (!cJSON_AddItemToArray(out, c))
				goto fail_c;
		} else if (!cJSON_AddItemToObject(out, it->string, c)) {
			goto fail_c;
		}
	}
	return out;
fail_c:
	cJSON_Delete(c);
fail:
	cJSON_Delete(out);
	return NULL;
}
