/* The program for the before-the-constructor test: see early.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int fl_early_linked(void);

int main(void)
{
	char line[64];
	ssize_t w = write(1, "main write\n", 11);

	snprintf(line, sizeof(line), "main ret=%zd errno=%s linked=%d\n", w,
		 w < 0 ? strerrorname_np(errno) : "0", fl_early_linked());
	syscall(SYS_write, 2, line, strlen(line));
	return 0;
}
