/*
 * main.c - entry point of the `zpa` program: pick the subcommand.
 *
 * Without arguments the program runs its demonstration (cmd_default in
 * cmd_run.c).  Every other first argument names a command (info, run, replay, record, help)
 * or is --help/-h/--version; anything else is a usage error (exit 2).
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "cli.h"

int cmd_stress(int argc, char **argv); /* `zpa run stress-highalloc` (cmd_stress.c) */
int cmd_pressure(int argc, char **argv); /* `zpa run pressure` (cmd_pressure.c) */
int cmd_replay(int argc, char **argv); /* `zpa replay` (cmd_replay.c) */
int cmd_record(int argc, char **argv); /* `zpa record` (cmd_record.c) */

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return cmd_default();
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return cli_print_help(stdout, NULL);
	if (strcmp(cmd, "--version") == 0) {
		printf("zpa %d.%d\n", ZPA_VERSION_MAJOR, ZPA_VERSION_MINOR);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0 && argc > 2 && strcmp(argv[2], "stress-highalloc") == 0)
		return cmd_stress(argc - 2, argv + 2); /* cmd_stress.c */
	if (strcmp(cmd, "run") == 0 && argc > 2 && strcmp(argv[2], "pressure") == 0)
		return cmd_pressure(argc - 2, argv + 2); /* cmd_pressure.c */
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", cmd);
	return cli_usage_error(NULL, "unknown command '%s' (info, run, replay, record, help)", cmd);
}
