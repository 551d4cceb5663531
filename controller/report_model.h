/*
 * What a journal says, laid out for a picture: the verdict, and every
 * activity, pause, fault window and sampled window of the run placed on one
 * time axis (seconds from the run's start). The HTML and markdown reports
 * (report_html.c, report_md.c) render this; nothing here prints.
 *
 * Any JSON object is accepted: journals of older faultline versions, Chaos
 * Toolkit's journals, and minimal or damaged ones. A key that is missing or
 * of the wrong type leaves its field unknown (NULL, NAN); nothing is assumed.
 * Strings are borrowed from the journal, which must outlive the model.
 */
#ifndef FL_CONTROLLER_REPORT_MODEL_H
#define FL_CONTROLLER_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/compiler.h"

#define FL_RM_ITEMS_MAX 4096 /* timeline items per journal; the rest are counted */

enum fl_rm_phase {
	FL_RM_BEFORE,
	FL_RM_METHOD,
	FL_RM_AFTER,
	FL_RM_ROLLBACKS,
	FL_RM_DURING, /* sampled windows (during, on-fault, abort probes) */
	FL_RM_PHASE__MAX
};

enum fl_rm_kind {
	FL_RM_ACTIVITY, /* an activity's own run (start to end) */
	FL_RM_PAUSE,	/* a pause before or after an activity */
	FL_RM_FAULT,	/* a fault live on one agent: applied until its lease ended or a revert */
	FL_RM_WINDOW,	/* a sampled probe's window */
	FL_RM_KIND__MAX
};

enum fl_rm_status {
	FL_RM_OK,
	FL_RM_FAILED,  /* the activity failed (exception) */
	FL_RM_NOT_MET, /* a probe out of tolerance */
	FL_RM_UNKNOWN,
	FL_RM_STATUS__MAX
};

struct fl_rm_item {
	enum fl_rm_kind kind;
	enum fl_rm_phase phase;
	enum fl_rm_status status;
	const char *name;     /* the activity's name ("(unnamed)" when it has none) */
	const char *type;     /* "action", "probe", or NULL */
	const char *provider; /* "process", "http", "fault"... or NULL */
	double t0, t1;	      /* seconds from the run's start; NAN when not known */
	bool background;
	const cJSON *rec;   /* the journal record (activity, window) */
	const cJSON *agent; /* FL_RM_FAULT: the agent's entry in the apply output */
	const char *ended;  /* FL_RM_FAULT: "lease ended", "reverted: why", "run ended" */
	const char *detail; /* why it failed / was not met (first exception line, detail) */
};

struct fl_report_model {
	const cJSON *j;
	const char *title;
	const char *description;
	const char *status; /* the journal's status, or NULL */
	const char *reason;
	const char *verdict; /* "steady state HELD", "DEVIATED", ... */
	const char
	    *verdict_class; /* "held", "deviated", "failed", "aborted", "interrupted", "unknown" */
	bool deviated;
	int exit_code;	  /* the journal's, else derived; -1 when nothing says */
	int64_t start_ms; /* wall ms of the run's start; 0 when unknown */
	double duration;  /* seconds, NAN when unknown */
	double span;	  /* seconds the timeline covers (>= everything placed on it) */
	double phase_t0[FL_RM_PHASE__MAX], phase_t1[FL_RM_PHASE__MAX]; /* NAN: none */
	struct fl_rm_item *items;
	size_t n_items;
	size_t dropped;	    /* items past FL_RM_ITEMS_MAX */
	double reverts[16]; /* when every live fault was reverted (journal "fault_reverts") */
	size_t n_reverts;
	unsigned n_faults, n_failed, n_not_met;
};

/* Lay out a journal (any JSON value; a non-object gives an empty model). -ENOMEM. */
int fl_report_model_init(struct fl_report_model *m, const cJSON *journal) FL_WUR;
void fl_report_model_done(struct fl_report_model *m);

/* RFC 3339 / ISO 8601 ("2026-01-02T03:04:05.678Z", Chaos Toolkit's without a zone: UTC). */
int fl_report_parse_time(const char *s, int64_t *ms) FL_WUR;

/* The string at key of o, or dflt. */
const char *fl_rm_str(const cJSON *o, const char *key, const char *dflt);
/* The finite number at key of o, or NAN. */
double fl_rm_num(const cJSON *o, const char *key);

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes: 1 to 4), or 0
 * when it is not one (overlong, surrogate, past U+10FFFF, cut short).
 */
size_t fl_rm_utf8_len(const unsigned char *p, size_t n);

extern const char *const fl_rm_phase_names[FL_RM_PHASE__MAX];

#endif
