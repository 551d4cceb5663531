/*
 * The collisions test (after libfiu's tests/collisions): this program defines,
 * as its own global symbols, every internal name of libfaultline-preload.so
 * (collide_names.h, generated from the built shim by gen_collide.py). With
 * the shim preloaded and armed, the program's names must still be its own
 * (the shim exports only the hooked libc names) and the shim must still work
 * (its internal references never bind to the program's definitions).
 * test_collisions.py checks that this program covers every internal symbol.
 *
 * Prints "own names ok" if every definition below is the program's, then
 * makes one write(2) to fd 1 and reports its result.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collide_names.h"

#define V(name, k) long name = k;
FL_COLLIDE_VARS(V)
#undef V
#define F(name, k)                                                                                 \
	int name(void);                                                                            \
	int name(void)                                                                             \
	{                                                                                          \
		return k;                                                                          \
	}
FL_COLLIDE_FUNCS(F)
#undef F

int main(void)
{
	char line[128];
	int bad = 0;
	ssize_t r;

#define V(name, k) bad += name != k;
	FL_COLLIDE_VARS(V)
#undef V
#define F(name, k) bad += name() != k;
	FL_COLLIDE_FUNCS(F)
#undef F
	snprintf(line, sizeof(line), "own names %s\n", bad ? "BROKEN" : "ok");
	syscall(SYS_write, 2, line, strlen(line));
	r = write(1, "x\n", 2);
	snprintf(line, sizeof(line), "write ret=%zd errno=%s\n", r,
		 r < 0 ? strerrorname_np(errno) : "0");
	syscall(SYS_write, 2, line, strlen(line));
	return bad ? 1 : 0;
}
