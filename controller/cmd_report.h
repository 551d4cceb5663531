/* `faultline report`: render journals as an HTML page or markdown (report_render.h). */
#ifndef FL_CONTROLLER_CMD_REPORT_H
#define FL_CONTROLLER_CMD_REPORT_H

/*
 * faultline report [-o PATH] [--format html|markdown] JOURNAL...
 * argv[0] is the subcommand name ("report"). Returns the exit code: 0
 * written, 1 not written, 2 usage or a journal that cannot be read.
 */
int fl_cmd_report(int argc, char **argv);
/* Print the command's help on stdout. */
void fl_cmd_report_help(void);

#endif
