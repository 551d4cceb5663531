/*
 * fl-exec: `faultline exec` as its own binary, so the shim tests do not
 * depend on the CLI's main(); the same function the CLI dispatches to.
 */
#include "controller/cmd_exec.h"

int main(int argc, char **argv)
{
	return fl_cmd_exec(argc, argv);
}
