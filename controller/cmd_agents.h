/* `faultline status` and `faultline revert --all`: live faults across agents. */
#ifndef FL_CONTROLLER_CMD_AGENTS_H
#define FL_CONTROLLER_CMD_AGENTS_H

/* faultline status [--agents FILE] [--agent ADDR]... [--token-file FILE] [--json]; exit code. */
int fl_cmd_status(int argc, char **argv);
/* faultline revert --all [--experiment ID] [--agents FILE] [--agent ADDR]... [--token-file FILE].
 */
int fl_cmd_revert(int argc, char **argv);

#endif
