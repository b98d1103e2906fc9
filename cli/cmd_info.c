/*
 * cmd_info.c - `zpa info [MACHINE] [VIEW...]`: build a machine and print
 * /proc views of it in Linux 6.1's layout.
 *
 * Views are zoneinfo (the default), buddyinfo, pagetypeinfo, vmstat, the
 * NUMA views zonelists, numastat and node/N/numastat, and the debugfs
 * fragmentation views extfrag_index and unusable_index, printed in the
 * order given with nothing between them, exactly as zpa_show() renders
 * them, so `zpa info --snapshot DIR zoneinfo` can be diffed against
 * DIR/proc/zoneinfo.  A node/N/numastat of a node the machine lacks is a
 * library error (exit 1).  The extra view `machine` prints the
 * human-readable description the run command starts with.  Library
 * messages go to stderr; stdout holds only the views.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_VIEWS 16

static const char *const known_views[] = {
	"zoneinfo", "buddyinfo", "pagetypeinfo", "vmstat", "zonelists", "numastat", "extfrag_index",
	"unusable_index", "machine", NULL
};

/*
 * Whether v names one of known_views or a per-node file, "node/N/numastat"
 * (whether node N exists is known only once the machine is built).
 */
static bool known_view(const char *v)
{
	const char *p;

	for (unsigned i = 0; known_views[i]; i++)
		if (strcmp(v, known_views[i]) == 0)
			return true;
	if (strncmp(v, "node/", 5) != 0)
		return false;
	p = v + 5;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return strcmp(p, "/numastat") == 0;
}

int cmd_info(int argc, char **argv)
{
	struct cli_machine_opts mo = { 0 };
	struct cli_args a = { argc, argv, 1 };
	const char *views[MAX_VIEWS];
	unsigned nr_views = 0;
	struct zpa_machine_config *cfg;
	struct zpa_machine *m = NULL;
	int status;

	while (a.i < argc) {
		const char *arg = argv[a.i];
		int mrc;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return cli_print_help(stdout, "info");
		mrc = cli_machine_option(&a, "info", &mo);
		if (mrc < 0)
			return CLI_EXIT_USAGE;
		if (mrc > 0)
			continue;
		if (arg[0] == '-')
			return cli_usage_error("info", "unknown option '%s'", arg);
		if (!known_view(arg))
			return cli_usage_error("info", "unknown view '%s' (zoneinfo, buddyinfo, "
					       "pagetypeinfo, vmstat, zonelists, numastat, "
					       "node/N/numastat, extfrag_index, unusable_index or machine)", arg);
		if (nr_views == MAX_VIEWS)
			return cli_usage_error("info", "at most %d views", MAX_VIEWS);
		views[nr_views++] = arg;
		a.i++;
	}
	if (nr_views == 0)
		views[nr_views++] = "zoneinfo";

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return cli_error("out of memory");
	status = cli_machine_config("info", &mo, cfg);
	if (status == CLI_EXIT_OK)
		status = cli_machine_create(&mo, cfg, &m);
	for (unsigned i = 0; status == CLI_EXIT_OK && i < nr_views; i++) {
		int rc;

		if (strcmp(views[i], "machine") == 0) {
			cli_describe_machine(stdout, m, cfg);
			continue;
		}
		rc = cli_print_view(stdout, m, views[i]);
		if (rc)
			status = cli_error("cannot show %s: %s", views[i], zpa_strerror(rc));
	}
	if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
		status = cli_error("cannot write the output");
	if (m)
		zpa_machine_destroy(m);
	free(cfg);
	return status;
}
