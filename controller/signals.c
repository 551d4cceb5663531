#include "controller/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int fl_sig_pipe[2] = {-1, -1};  /* first signal */
static int fl_sig_pipe2[2] = {-1, -1}; /* second signal */
static volatile sig_atomic_t fl_sig_count;
static volatile sig_atomic_t fl_sig_first;

static void fl_sig_handler(int sig)
{
	int saved = errno;
	ssize_t n;

	if (!fl_sig_first)
		fl_sig_first = sig;
	fl_sig_count++;
	n = write(fl_sig_pipe[1], "x", 1);
	if (fl_sig_count >= 2)
		n = write(fl_sig_pipe2[1], "x", 1);
	(void)n;
	errno = saved;
}

int fl_signals_init(struct fl_error *err)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	if (fl_sig_pipe[0] >= 0)
		return 0;
	if (pipe2(fl_sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(fl_sig_pipe2, O_CLOEXEC | O_NONBLOCK) < 0)
		return fl_error_set(err, -errno, NULL, "pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fl_sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < FL_ARRAY_SIZE(sigs); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return fl_error_set(err, -errno, NULL, "sigaction: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int fl_signals_cancel_fd(void)
{
	return fl_sig_pipe[0];
}

int fl_signals_rollbacks_fd(void)
{
	return fl_sig_pipe2[0];
}

int fl_signals_first(void)
{
	return fl_sig_first;
}

void fl_signals_done(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}
