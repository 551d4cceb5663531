/*
 * Test harness for the agent integration tests: start a real faultline-agent
 * on a private unix socket (or TCP port), talk to it over HTTP with libcurl,
 * spawn real sleeping processes as targets, look at /proc for their state.
 * Everything started here is stopped here, by PID.
 */
#ifndef FL_TEST_AGENT_HARNESS_H
#define FL_TEST_AGENT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct t_agent {
	pid_t pid;
	char dir[256]; /* private temp dir: token, socket, state, log */
	char sock[300];
	char token[80];
	char url[128]; /* "http://localhost" for unix sockets, or "http(s)://127.0.0.1:PORT" */
	const char *bin;
	char **extra; /* extra arguments (NULL-terminated) */
};

#define T_CHECK(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			t_failed = 1;                                                              \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

extern int t_failed;

/* Make a private dir and token; agent not started. */
int t_agent_init(struct t_agent *a, const char *bin);
/* Write a config file into the dir and pass --config (call before start). */
int t_agent_config(struct t_agent *a, const char *json);
/* Start (or restart, same state dir) and wait until /v1/health answers. */
int t_agent_start(struct t_agent *a);
/* SIGTERM and wait; returns the exit status or -1. */
int t_agent_stop(struct t_agent *a);
/* SIGKILL and reap. */
void t_agent_kill9(struct t_agent *a);
/* Stop if running, remove the dir. */
void t_agent_done(struct t_agent *a);
/* Files in STATE/faults (journal records). */
int t_journal_count(const struct t_agent *a);

/* One HTTP call; token NULL = none. Returns the status (0 on transport error); *json parsed body.
 */
long t_http(const struct t_agent *a, const char *method, const char *path, const char *body,
	    const char *token, cJSON **json);
/* The error path of an error body, or "". */
const char *t_err_path(const cJSON *j);
const char *t_err_code(const cJSON *j);

/* A child that sleeps forever (killed at exit by PDEATHSIG and by t_reap). */
pid_t t_spawn(const char *comm);
void t_reap(pid_t pid);
/* /proc/PID/stat state letter, '-' when gone. */
char t_state(pid_t pid);
/* Wait up to ms for a state in `want`. */
char t_wait_state(pid_t pid, const char *want, int ms);
double t_now_ms(void);

struct t_case {
	const char *name;
	int (*fn)(void);
};
/*
 * main() of a case-per-invocation test program: `PROG CASE AGENT_BINARY`. Sets
 * *bin, runs the case, prints PASS. A missing agent binary or an unknown case
 * is a failure (exit 2), not a skip: CTest always passes the built target.
 */
int t_main(int argc, char **argv, const struct t_case *cases, size_t n, const char **bin);

#endif
