/* Small helpers for the experiment parser: JSON paths, quoting, shlex. */
#include "experiments/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "core/duration.h"

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (const char *p = k; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

const char *fl_path_key(char *out, size_t len, const char *parent, const char *key)
{
	if (plain_key(key)) {
		snprintf(out, len, "%s.%s", parent, key);
	} else {
		char q[96];

		/* fl_quote gives "..." with escapes; ['...'] reads better unless the key has a ' */
		fl_quote(key, q, sizeof(q));
		if (!strchr(key, '\'')) {
			q[0] = '\'';
			q[strlen(q) - 1] = '\'';
		}
		snprintf(out, len, "%s[%s]", parent, q);
	}
	return out;
}

const char *fl_path_index(char *out, size_t len, const char *parent, size_t i)
{
	snprintf(out, len, "%s[%zu]", parent, i);
	return out;
}

/*
 * Quote for messages: at most len-1 bytes, control characters escaped, long
 * strings cut with "..." inside the quotes so the message stays one line.
 */
const char *fl_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[8];
		size_t tl;

		if (*p == '"' || *p == '\\')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p == '\n')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (*p == '\t')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else {
			tmp[0] = (char)*p;
			tl = 1;
		}
		if (o + tl + 5 > len) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, tl);
		o += tl;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *fl_json_kind(const cJSON *v)
{
	if (!v)
		return "nothing";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "a list";
	if (cJSON_IsObject(v))
		return "an object";
	return "an unknown value";
}

const char *fl_json_got(const cJSON *v, char *buf, size_t len)
{
	if (v && cJSON_IsString(v))
		return fl_quote(v->valuestring, buf, len);
	if (v && cJSON_IsNumber(v)) {
		if (isfinite(v->valuedouble) && fabs(v->valuedouble) < 1e15 &&
		    v->valuedouble == floor(v->valuedouble))
			snprintf(buf, len, "%.0f", v->valuedouble);
		else
			snprintf(buf, len, "%g", v->valuedouble);
		return buf;
	}
	if (v && cJSON_IsBool(v))
		return snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false"), buf;
	snprintf(buf, len, "%s", fl_json_kind(v));
	return buf;
}

char *fl_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

void fl_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void fl_kvs_free(struct fl_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static int strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (*n + 1 >= FL_EXP_ARGS_MAX + 1)
		return -E2BIG;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/*
 * Grammar (Python shlex.split, posix=True, comments=False):
 *   line  := ws* (word (ws+ word)*)? ws*
 *   word  := (plain | '\' any | "'" [^']* "'" | '"' dq* '"')+
 *   dq    := '\' ('"' | '\' | '$' | '`' | newline) | any-but-'"'
 * In double quotes a backslash before any other character stays literal.
 */
int fl_shlex_split(const char *s, char ***argv, size_t *argc, const char **why)
{
	char **v = NULL, *word = NULL;
	size_t n = 0, wl = 0, slen = strlen(s);
	const char *p = s;
	int r;

	*why = NULL;
	word = malloc(slen + 1);
	if (!word)
		return -ENOMEM;
	for (;;) {
		bool have = false;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
		       *p == '\v')
			p++;
		if (!*p)
			break;
		wl = 0;
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
			       *p == '\v')) {
			have = true;
			if (*p == '\\') {
				p++;
				if (!*p) {
					*why = "no character after the last backslash";
					r = -EINVAL;
					goto out;
				}
				word[wl++] = *p++;
			} else if (*p == '\'') {
				p++;
				while (*p && *p != '\'')
					word[wl++] = *p++;
				if (!*p) {
					*why = "no closing quotation (')";
					r = -EINVAL;
					goto out;
				}
				p++;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' &&
					    (p[1] == '"' || p[1] == '\\' || p[1] == '$' ||
					     p[1] == '`' || p[1] == '\n'))
						p++;
					word[wl++] = *p++;
				}
				if (!*p) {
					*why = "no closing quotation (\")";
					r = -EINVAL;
					goto out;
				}
				p++;
			} else {
				word[wl++] = *p++;
			}
		}
		if (have) {
			char *w = strndup(word, wl);

			if (!w) {
				r = -ENOMEM;
				goto out;
			}
			r = strv_push(&v, &n, w);
			if (r < 0) {
				free(w);
				if (r == -E2BIG)
					*why = "too many arguments";
				goto out;
			}
		}
	}
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
	}
	*argv = v;
	*argc = n;
	v = NULL;
	r = 0;
out:
	free(word);
	fl_strv_free(v);
	return r;
}

int fl_experr(struct fl_errlist *l, int code, const char *path, const char *fmt, ...)
{
	char msg[FL_ERROR_MSG_MAX];
	va_list ap;

	if (!l)
		return code;
	/* one error per path: the first is the cause, later ones its echoes (an
	 * undefined ${url} makes the URL invalid too) */
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, path ? path : ""))
			return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fl_errlist_add(l, code, path, "%s", msg);
}

/* ---- typed field helpers shared by the parsers ---- */

bool fl_key_known(const char *k, const char *const *known)
{
	for (; *known; known++)
		if (!strcmp(k, *known))
			return true;
	return false;
}

/* "a, b, c": the keys of known but the discriminator, which the user has already */
static const char *known_list(const char *const *known, char *list, size_t size)
{
	size_t n = 0;

	list[0] = '\0';
	for (const char *const *k = known; *k; k++) {
		int w;

		if (!strcmp(*k, "type"))
			continue;
		w = snprintf(list + n, size - n, "%s%s", n ? ", " : "", *k);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	return list;
}

void fl_check_keys(struct fl_errlist *errs, const cJSON *obj, const char *path,
		   const char *const *known, const char *what)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		char p[FL_PATH_MAX], list[512];

		/* the list comes from known itself, so a key added there is never left out;
		 * it is made only for an error, not for every object that parses */
		if (!fl_key_known(it->string, known))
			fl_experr(errs, -EINVAL, fl_path_key(p, sizeof(p), path, it->string),
				  "unknown key in %s (known: %s)", what,
				  known_list(known, list, sizeof(list)));
	}
}

/* A required or optional string; NULL when absent or wrong (error recorded). */
char *fl_get_string(struct fl_errlist *errs, const cJSON *obj, const char *key, const char *path,
		    bool required, size_t max, const char *what)
{
	const cJSON *v = fl_get(obj, key);
	char p[FL_PATH_MAX], got[96];
	char *s;

	fl_path_key(p, sizeof(p), path, key);
	if (!v) {
		if (required)
			fl_experr(errs, -EINVAL, p, "missing: expected %s", what);
		return NULL;
	}
	if (!cJSON_IsString(v) || (required && !v->valuestring[0])) {
		fl_experr(errs, -EINVAL, p, "expected %s, got %s", what,
			  fl_json_got(v, got, sizeof(got)));
		return NULL;
	}
	if (strlen(v->valuestring) > max) {
		fl_experr(errs, -E2BIG, p, "longer than %zu bytes", max);
		return NULL;
	}
	s = strdup(v->valuestring);
	if (!s)
		fl_experr(errs, -ENOMEM, p, "out of memory");
	return s;
}

/*
 * Seconds: a JSON number, or a string holding one (what an env-backed
 * ${name} gives). `positive` refuses 0. Fills *ms; returns 0 or -EINVAL.
 */
int fl_get_seconds(struct fl_errlist *errs, const cJSON *v, const char *p, bool positive,
		   uint64_t *ms)
{
	char got[96], *end;
	double d;
	int r;

	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		const char *s = v->valuestring;

		while (isspace((unsigned char)*s))
			s++;
		d = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (end == s || *end || !isfinite(d) || !(isdigit((unsigned char)*s) || *s == '.'))
			return fl_experr(errs, -EINVAL, p, "expected a number of seconds, got %s",
					 fl_json_got(v, got, sizeof(got)));
	} else {
		return fl_experr(errs, -EINVAL, p, "expected a number of seconds, got %s",
				 fl_json_got(v, got, sizeof(got)));
	}
	if (d < 0)
		return fl_experr(errs, -EINVAL, p, "expected a number of seconds >= 0, got %s",
				 fl_json_got(v, got, sizeof(got)));
	r = fl_seconds_to_ms(d, ms);
	if (r < 0)
		return fl_experr(errs, -ERANGE, p,
				 "%s seconds is more than the limit of %llu (7 days)",
				 fl_json_got(v, got, sizeof(got)),
				 (unsigned long long)(FL_DURATION_MAX_MS / 1000));
	if (positive && *ms == 0)
		return fl_experr(errs, -EINVAL, p, "expected a number of seconds > 0, got %s",
				 fl_json_got(v, got, sizeof(got)));
	return 0;
}

/* Python's str() of a scalar, as Chaos Toolkit passes list arguments to processes. */
char *fl_py_str(const cJSON *v)
{
	char buf[64];

	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "True" : "False");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (fabs(d) < 1e15 && d == floor(d))
			snprintf(buf, sizeof(buf), "%.0f", d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	return NULL;
}

int fl_strv_add(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}
