/* faultline: the controller CLI. Everything lives in fl_controller_lib (cli.c). */
#include "controller/cli.h"

int main(int argc, char **argv)
{
	return fl_cli_main(argc, argv);
}
