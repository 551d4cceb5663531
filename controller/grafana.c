/*
 * Grafana annotations (controller/grafana.h).
 *
 * The events only change state under the lock (a fault applied, ended, the
 * verdict); one thread of ours turns state into requests: POST for a fault
 * not yet annotated, PATCH for one that ended, POST for the verdict, and
 * waits for the next lease to end. At the end it gets FL_GRAFANA_FLUSH_MS to
 * send what is left.
 *
 * Grafana's documented shapes (HTTP API, "Annotations"):
 *   POST /api/annotations  {"time": ms, ["timeEnd": ms], "tags": [..], "text": ".."}
 *        -> 200 {"message": "Annotation added", "id": N}
 *   PATCH /api/annotations/N {"timeEnd": ms, "text": ".."} -> 200
 */
#include "controller/grafana.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "controller/report_model.h"
#include "core/buf.h"
#include "core/duration.h"

#define G_FAULTS_MAX 256
#define G_TEXT_MAX   1000
#define G_WARN_MAX   3 /* failures said one by one; the rest are counted */

struct g_fault {
	long long id; /* the annotation's id; 0: none (not posted, or the POST failed) */
	bool posted, ended, end_sent;
	uint64_t start, end, deadline; /* wall ms; deadline 0: lives until reverted */
	char kind[64];
	char text[G_TEXT_MAX];
	char why[32];
};

struct fl_grafana {
	char *url;  /* without a trailing slash */
	char *auth; /* "Authorization: Bearer TOKEN" */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stopping;
	uint64_t flush_until; /* mono ms */
	char run_id[64];
	char title[256];
	uint64_t run_start;
	struct g_fault *faults;
	size_t n_faults;
	char *verdict_body; /* the verdict's POST body, until sent */
	unsigned failures, sent;
};

static void g_warn(struct fl_grafana *g, const char *fmt, ...) FL_PRINTF(2, 3);
static void g_warn(struct fl_grafana *g, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (++g->failures > G_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g->warn)
		g->warn(g->warn_arg, msg);
}

int fl_grafana_new(const struct fl_grafana_opts *o, struct fl_grafana **out, struct fl_error *err)
{
	struct fl_grafana *g = NULL;
	char *tok = NULL;
	size_t n, len;
	int r;

	*out = NULL;
	n = o->url ? strlen(o->url) : 0;
	if (!n || n > 2048 || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
		return fl_error_set(err, -EINVAL, NULL,
				    "--grafana-url '%.200s': expected http://HOST[:PORT] or "
				    "https://HOST[:PORT] (Grafana's base URL)",
				    o->url ? o->url : "");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)o->url[i] <= 0x20 || o->url[i] == 0x7f)
			return fl_error_set(
			    err, -EINVAL, NULL,
			    "--grafana-url: a space or control character in the URL");
	if (!o->token_file)
		return fl_error_set(err, -EINVAL, NULL,
				    "--grafana-url needs --grafana-token-file (a Grafana service "
				    "account token)");
	r = fl_buf_read_file(o->token_file, FL_GRAFANA_TOKEN_MAX + 2, &tok, &len);
	if (r < 0)
		return fl_error_set(err, r, NULL, "--grafana-token-file %s: %s", o->token_file,
				    r == -E2BIG ? "larger than a token (4 KiB)" : strerror(-r));
	len = strcspn(tok, "\r\n");
	tok[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		/* A header value: printable ASCII only (no header can be smuggled in). */
		if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f) {
			free(tok);
			return fl_error_set(err, -EINVAL, NULL,
					    "--grafana-token-file %s: the token has a space or a "
					    "character that is not printable ASCII",
					    o->token_file);
		}
	}
	if (!len) {
		free(tok);
		return fl_error_set(err, -EINVAL, NULL, "--grafana-token-file %s: empty",
				    o->token_file);
	}
	g = calloc(1, sizeof(*g));
	if (g)
		g->faults = calloc(G_FAULTS_MAX, sizeof(*g->faults));
	if (!g || !g->faults || !(g->url = strdup(o->url)) ||
	    asprintf(&g->auth, "Authorization: Bearer %s", tok) < 0) {
		if (g) {
			free(g->faults);
			free(g->url);
		}
		free(g);
		free(tok);
		return fl_error_set(err, -ENOMEM, NULL, "out of memory");
	}
	explicit_bzero(tok, len);
	free(tok);
	while (n > 8 && g->url[n - 1] == '/')
		g->url[--n] = '\0';
	g->warn = o->warn;
	g->warn_arg = o->warn_arg;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	*out = g;
	return 0;
}

static size_t g_collect(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fl_buf *b = arg;

	/* keep the first 4 KiB (ids, error messages); read the rest and drop it */
	if (b->len < 4096 &&
	    fl_buf_add(b, p, size * nmemb < 4096 - b->len ? size * nmemb : 4096 - b->len) < 0)
		return 0;
	return size * nmemb;
}

/*
 * One request; 0 on a 2xx answer (*id: its "id", when asked and there), else
 * -1 with why. Runs unlocked: the runner never waits for it.
 */
static int g_request(struct fl_grafana *g, const char *method, const char *path, const char *body,
		     long timeout_ms, long long *id, char *why, size_t len)
{
	struct curl_slist *h = NULL;
	struct fl_buf b;
	char *url = NULL;
	long status = 0;
	CURL *c;
	CURLcode cc;
	int r = -1;

	fl_buf_init(&b, 8192);
	c = curl_easy_init();
	if (!c || asprintf(&url, "%s%s", g->url, path) < 0) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, g->auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 100 ? timeout_ms : 100L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, g_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(why, len, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, len, "HTTP %ld%s%.200s", status, b.len ? ": " : "",
			 b.data ? b.data : "");
		why[strcspn(why, "\r\n")] = '\0';
		goto out;
	}
	if (id) {
		cJSON *j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");

		*id = cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 9e15
			  ? (long long)v->valuedouble
			  : 0;
		cJSON_Delete(j);
	}
	r = 0;
out:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	free(url);
	fl_buf_done(&b);
	return r;
}

/* A JSON body; NULL without memory. */
static char *g_body(uint64_t time, uint64_t time_end, const char *text, const char *tag1,
		    const char *tag2, const char *run_id)
{
	cJSON *j = cJSON_CreateObject(), *tags;
	char t[96], *s;

	if (!j)
		return NULL;
	if (time)
		cJSON_AddNumberToObject(j, "time", (double)time);
	if (time_end)
		cJSON_AddNumberToObject(j, "timeEnd", (double)time_end);
	if (tag1) {
		tags = cJSON_AddArrayToObject(j, "tags");
		cJSON_AddItemToArray(tags, cJSON_CreateString("faultline"));
		cJSON_AddItemToArray(tags, cJSON_CreateString(tag1));
		if (tag2 && *tag2)
			cJSON_AddItemToArray(tags, cJSON_CreateString(tag2));
		if (run_id && *run_id) {
			snprintf(t, sizeof(t), "run:%s", run_id);
			cJSON_AddItemToArray(tags, cJSON_CreateString(t));
		}
	}
	cJSON_AddStringToObject(j, "text", text);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

/* The remaining time for one request (the flush at the end is bounded). */
static long g_budget(const struct fl_grafana *g)
{
	uint64_t now = fl_now_mono_ms();

	if (!g->stopping)
		return FL_GRAFANA_TIMEOUT_MS;
	if (now >= g->flush_until)
		return 0;
	return g->flush_until - now < FL_GRAFANA_TIMEOUT_MS ? (long)(g->flush_until - now)
							    : FL_GRAFANA_TIMEOUT_MS;
}

/* One step of work, lock held (dropped around the request). false: nothing to do. */
static bool g_step(struct fl_grafana *g)
{
	uint64_t now = fl_now_wall_ms();
	char why[300], text[G_TEXT_MAX + 96], path[64];
	long budget = g_budget(g);

	if (budget <= 0)
		return false;
	for (size_t i = 0; i < g->n_faults; i++) {
		struct g_fault *f = &g->faults[i];
		char *body = NULL;
		long long id = 0;
		int r;

		if (!f->ended && f->deadline && now >= f->deadline) {
			f->ended = true;
			f->end = f->deadline;
			snprintf(f->why, sizeof(f->why), "its lease ended");
		}
		if (!f->posted) {
			snprintf(text, sizeof(text), "%s", f->text);
			body = g_body(f->start, 0, text, "fault", f->kind, g->run_id);
			f->posted = true;
			pthread_mutex_unlock(&g->lock);
			r = body ? g_request(g, "POST", "/api/annotations", body, budget, &id, why,
					     sizeof(why))
				 : -1;
			pthread_mutex_lock(&g->lock);
			if (r < 0)
				g_warn(g, "grafana: POST %s/api/annotations: %s", g->url,
				       body ? why : "out of memory");
			else
				g->sent++;
			f->id = r < 0 ? 0 : id;
			free(body);
			return true;
		}
		if (f->ended && !f->end_sent) {
			snprintf(text, sizeof(text), "%s (ended after %.1f s: %s)", f->text,
				 f->end > f->start ? (double)(f->end - f->start) / 1000.0 : 0.0,
				 f->why);
			f->end_sent = true;
			if (f->id) {
				body = g_body(0, f->end, text, NULL, NULL, NULL);
				snprintf(path, sizeof(path), "/api/annotations/%lld", f->id);
			} else {
				/* no id to update (the POST failed or said none): a new region */
				body = g_body(f->start, f->end, text, "fault", f->kind, g->run_id);
				snprintf(path, sizeof(path), "/api/annotations");
			}
			pthread_mutex_unlock(&g->lock);
			r = body ? g_request(g, f->id ? "PATCH" : "POST", path, body, budget, NULL,
					     why, sizeof(why))
				 : -1;
			pthread_mutex_lock(&g->lock);
			if (r < 0)
				g_warn(g, "grafana: %s %s%s: %s", f->id ? "PATCH" : "POST", g->url,
				       path, body ? why : "out of memory");
			else
				g->sent++;
			free(body);
			return true;
		}
	}
	if (g->verdict_body) {
		char *body = g->verdict_body;
		int r;

		g->verdict_body = NULL;
		pthread_mutex_unlock(&g->lock);
		r = g_request(g, "POST", "/api/annotations", body, budget, NULL, why, sizeof(why));
		pthread_mutex_lock(&g->lock);
		if (r < 0)
			g_warn(g, "grafana: POST %s/api/annotations (the verdict): %s", g->url,
			       why);
		else
			g->sent++;
		free(body);
		return true;
	}
	return false;
}

static void *g_main(void *arg)
{
	struct fl_grafana *g = arg;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		uint64_t next = 0, now;
		struct timespec ts;

		while (g_step(g))
			;
		if (g->stopping)
			break;
		/* Sleep until the next lease ends, or until an event comes. */
		now = fl_now_wall_ms();
		for (size_t i = 0; i < g->n_faults; i++)
			if (!g->faults[i].ended && g->faults[i].deadline &&
			    (!next || g->faults[i].deadline < next))
				next = g->faults[i].deadline;
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			uint64_t wait = next ? (next > now ? next - now : 0) + 5 : 1000;

			if (wait > 1000)
				wait = 1000;
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

static void g_fault_applied(struct fl_grafana *g, const struct fl_event *ev)
{
	const cJSON *agents = cJSON_GetObjectItemCaseSensitive(ev->json, "agents"), *ag;
	const char *kind = fl_rm_str(ev->json, "kind", ev->a ? ev->a->provider.kind : NULL);
	struct g_fault *f;
	size_t n = 0;

	if (g->n_faults == G_FAULTS_MAX)
		return;
	f = &g->faults[g->n_faults++];
	memset(f, 0, sizeof(*f));
	f->start = ev->wall_ms;
	f->deadline = ev->ms ? ev->wall_ms + ev->ms : 0;
	snprintf(f->kind, sizeof(f->kind), "kind:%s", kind ? kind : "?");
	n = (size_t)snprintf(f->text, sizeof(f->text), "faultline: fault \"%s\" (%s) applied on",
			     ev->a && ev->a->name ? ev->a->name : "?", kind ? kind : "?");
	cJSON_ArrayForEach(ag, agents)
	{
		const char *d =
		    fl_rm_str(cJSON_GetObjectItemCaseSensitive(ag, "applied"), "description", NULL);

		if (n >= sizeof(f->text))
			break;
		n += (size_t)snprintf(f->text + n, sizeof(f->text) - n, " %s%s%s",
				      fl_rm_str(ag, "agent", "?"), d ? ": " : "", d ? d : "");
	}
	if (n < sizeof(f->text) && g->title[0])
		snprintf(f->text + n, sizeof(f->text) - n, " (experiment \"%s\")", g->title);
}

static void g_end_all(struct fl_grafana *g, uint64_t at, const char *why)
{
	for (size_t i = 0; i < g->n_faults; i++) {
		struct g_fault *f = &g->faults[i];

		if (f->ended)
			continue;
		f->ended = true;
		f->end = f->deadline && f->deadline < at ? f->deadline : at;
		snprintf(f->why, sizeof(f->why), "%s",
			 f->deadline && f->deadline < at ? "its lease ended" : why);
	}
}

static void g_verdict(struct fl_grafana *g, const struct fl_event *ev)
{
	struct fl_report_model m;
	char text[G_TEXT_MAX];

	if (fl_report_model_init(&m, ev->json) < 0)
		return;
	snprintf(text, sizeof(text), "faultline: \"%s\": %s", m.title ? m.title : "?", m.verdict);
	if (m.exit_code >= 0)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), " (exit code %d)",
			 m.exit_code);
	if (m.reason)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), ": %s", m.reason);
	free(g->verdict_body);
	g->verdict_body = g_body(g->run_start ? g->run_start : ev->wall_ms, ev->wall_ms, text,
				 "verdict", m.verdict_class, g->run_id);
	fl_report_model_done(&m);
}

void fl_grafana_event(void *arg, const struct fl_event *ev)
{
	struct fl_grafana *g = arg;

	if (!g || (ev->type != FL_EVENT_RUN_START && ev->type != FL_EVENT_FAULT_APPLIED &&
		   ev->type != FL_EVENT_FAULTS_REVERTED && ev->type != FL_EVENT_VERDICT))
		return; /* (probe samples come by the thousand: not even the lock for them) */
	pthread_mutex_lock(&g->lock);
	switch (ev->type) {
	case FL_EVENT_RUN_START:
		snprintf(g->run_id, sizeof(g->run_id), "%s", ev->run_id ? ev->run_id : "");
		snprintf(g->title, sizeof(g->title), "%s", ev->text ? ev->text : "");
		g->run_start = ev->wall_ms;
		if (!g->started)
			g->started = pthread_create(&g->thread, NULL, g_main, g) == 0;
		break;
	case FL_EVENT_FAULT_APPLIED:
		g_fault_applied(g, ev);
		break;
	case FL_EVENT_FAULTS_REVERTED:
		g_end_all(g, ev->wall_ms, "reverted");
		break;
	case FL_EVENT_VERDICT:
		g_end_all(g, ev->wall_ms, "the run ended");
		g_verdict(g, ev);
		break;
	case FL_EVENT_PHASE:
	case FL_EVENT_ACTIVITY_START:
	case FL_EVENT_ACTIVITY_END:
	case FL_EVENT_PAUSE:
	case FL_EVENT_PAUSE_END:
	case FL_EVENT_PROBE_SAMPLE:
	case FL_EVENT__MAX:
		break;
	}
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void fl_grafana_free(struct fl_grafana *g)
{
	size_t left = 0;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	g->flush_until = fl_now_mono_ms() + FL_GRAFANA_FLUSH_MS;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	if (g->started)
		pthread_join(g->thread, NULL);
	for (size_t i = 0; i < g->n_faults; i++)
		left += !g->faults[i].posted + (g->faults[i].ended && !g->faults[i].end_sent);
	left += g->verdict_body != NULL;
	if (left)
		g_warn(g, "grafana: %zu annotation requests not sent (%s)", left,
		       g->started ? "Grafana did not answer in time" : "no thread to send them");
	if (g->failures > G_WARN_MAX && g->warn) {
		char msg[96];

		snprintf(msg, sizeof(msg), "grafana: %u more requests failed",
			 g->failures - G_WARN_MAX);
		g->warn(g->warn_arg, msg);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	explicit_bzero(g->auth, strlen(g->auth));
	free(g->auth);
	free(g->url);
	free(g->faults);
	free(g->verdict_body);
	free(g);
}
