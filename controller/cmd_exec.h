/* `faultline exec`: run one command with syscall faults (preload shim or seccomp). */
#ifndef FL_CONTROLLER_CMD_EXEC_H
#define FL_CONTROLLER_CMD_EXEC_H

/*
 * faultline exec [--fault RULE]... [--seed N] [--seccomp] [--preload LIB] [-v] -- CMD [ARG]...
 * argv[0] is the subcommand name ("exec"). Returns the exit code for main():
 * the command's own status (128+N if it died of signal N), 2 for a usage or
 * rule error, 125 when faultline itself failed, 126/127 when CMD could not run.
 */
int fl_cmd_exec(int argc, char **argv);

#endif
