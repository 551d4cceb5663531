/*
 * SIGINT/SIGTERM/SIGHUP for `faultline run`: the handler only saves errno and
 * writes one byte to a self-pipe (dnsmasq's way); the runner and providers
 * poll the read ends. The first signal stops the run (cancel fd), a second
 * one also stops the rollbacks (rollbacks fd).
 */
#ifndef FL_CONTROLLER_SIGNALS_H
#define FL_CONTROLLER_SIGNALS_H

#include "core/compiler.h"
#include "core/error.h"

/* Install the handlers (once per process); SIGPIPE is ignored. */
int fl_signals_init(struct fl_error *err) FL_WUR;
/* Readable after the first signal. */
int fl_signals_cancel_fd(void);
/* Readable after the second signal. */
int fl_signals_rollbacks_fd(void);
/* The first signal received, 0 if none. */
int fl_signals_first(void);
/* Restore default dispositions (the pipes stay for fds still polled). */
void fl_signals_done(void);

#endif
