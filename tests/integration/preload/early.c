/*
 * A library the application links against: its constructor runs before the
 * preload shim's (ld.so initialises the application's dependencies first), so
 * the hooked write/getaddrinfo it calls must work before the shim's
 * constructor has resolved anything (raw-syscall and lazy fallbacks).
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char line[64];
	int g;
	ssize_t w;

	w = write(1, "early write\n", 12);
	g = getaddrinfo("localhost", "80", &hints, &res);
	if (res)
		freeaddrinfo(res);
	snprintf(line, sizeof(line), "early ret=%zd gai=%d\n", w, g);
	w = write(1, line, strlen(line));
	(void)w;
}

/* Referenced by the program so the link keeps this library. */
int fl_early_linked(void)
{
	return 1;
}
