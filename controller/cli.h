/* The `faultline` command line: subcommands, options, exit codes. */
#ifndef FL_CONTROLLER_CLI_H
#define FL_CONTROLLER_CLI_H

/* Run the CLI; returns the process exit code (see enum fl_exit in runner.h). */
int fl_cli_main(int argc, char **argv);

#endif
