/*
 * cmd_help.c - `zpa help [COMMAND]` and the text behind every --help: an
 * overview of the program, one page per command, and the machine options
 * they share (cli_machine_help in machine.c).
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "cli.h"

static const char overview_help[] =
	"zpa - the zoned page allocator simulator (Linux 6.1's buddy allocator)\n"
	"\n"
	"Usage:\n"
	"  zpa                          run the demo: describe the default machine, show\n"
	"                               /proc/zoneinfo and /proc/buddyinfo, run the default\n"
	"                               workload, show them again and summarise\n"
	"  zpa info [MACHINE] [VIEW...] print /proc views of a machine in Linux's format\n"
	"  zpa run [MACHINE] [OPTIONS]  run the default workload on a machine\n"
	"  zpa run stress-highalloc     high-order allocation test, grouping by mobility on/off\n"
	"  zpa run pressure             reclaim, compaction and OOM under a simulated workload\n"
	"  zpa replay --snapshot DIR TRACE  replay a kernel trace (see 'zpa replay --help')\n"
	"  zpa record -- COMMAND        record the kmem tracepoints and a snapshot (root)\n"
	"  zpa help [COMMAND]           this text, or one command's\n"
	"  zpa --version                print the version\n"
	"\n"
	"Run 'zpa COMMAND --help' for a command's options.\n"
	"\n"
	"Exit status: 0 success, 1 the library refused (message on stderr),\n"
	"2 bad command line.\n"
	"\n";

static const char info_help[] =
	"Usage: zpa info [MACHINE] [VIEW...]\n"
	"\n"
	"Build a machine and print views of it exactly as Linux 6.1 formats the\n"
	"/proc file of the same name, one after another and nothing else, so the\n"
	"output can be diffed against a real kernel's.\n"
	"\n"
	"Views (default: zoneinfo):\n"
	"  zoneinfo       /proc/zoneinfo: per zone watermarks, spans, counters, pagesets\n"
	"  buddyinfo      /proc/buddyinfo: free blocks per order\n"
	"  pagetypeinfo   /proc/pagetypeinfo: free blocks per order and migratetype\n"
	"  vmstat         /proc/vmstat: machine-wide counters\n"
	"  zonelists      the boot log's \"Fallback order for Node N:\" lines, then each\n"
	"                 node's zonelist and __GFP_THISNODE (nofallback) list\n"
	"  numastat       numastat(8)'s table: NUMA events, one column per node\n"
	"  node/N/numastat  /sys/devices/system/node/nodeN/numastat of node N\n"
	"  machine        a human-readable description (not a /proc file)\n"
	"\n"
	"Example: zpa info --snapshot oracle/data/r-n2-4g-2cpu/recomputed zoneinfo\n"
	"         zpa info --nodes 4 --cpus 2 zonelists\n"
	"\n";

static const char run_help[] =
	"Usage: zpa run [MACHINE] [--seed N] [--ops N] [--cpu N] [--policy POLICY]\n"
	"               [--json FILE] [--verbose]\n"
	"\n"
	"Run the default workload: kernel-like requests from one task pinned to each\n"
	"CPU (slab pages GFP_KERNEL, anonymous/page cache GFP_HIGHUSER_MOVABLE,\n"
	"compound GFP_KERNEL|__GFP_COMP orders 1-3, GFP_ATOMIC, GFP_DMA32 and GFP_DMA\n"
	"for drivers, GFP_TRANSHUGE order 9) and frees in random order, filling\n"
	"memory to 75%, pushing it into the min watermark reserves (at most 99.5%)\n"
	"and settling at 65%.  Prints the machine, zoneinfo and buddyinfo after the\n"
	"run, and a summary: requests by GFP class, order and node, failures, pages\n"
	"in use, what reclaim and compaction did, and the zpa_check() result.  The\n"
	"anonymous/page cache pages go on the LRU lists (kswapd, running inline, and\n"
	"direct reclaim evict them; compaction moves them); the other classes are not\n"
	"reclaimable and no task is registered with the OOM killer, so requests that\n"
	"reach the end of the slow path fail, and are counted.  The summary\n"
	"also shows where the pages went: pages per node and zone, and each node's\n"
	"numastat counters' change over the run.\n"
	"\n"
	"Options:\n"
	"  --seed N       seed of the workload's random numbers (default 42)\n"
	"  --ops N        operations (allocations + frees); default: enough to fill\n"
	"                 the machine (about 500000 on the default machine)\n"
	"  --cpu N        run the workload as one task pinned to CPU N (default: one\n"
	"                 task per CPU, each operation on a random one)\n"
	"  --policy POLICY  give every workload task this memory policy\n"
	"                 (set_mempolicy) and allocate through it: MODE[=FLAGS][:NODES]\n"
	"                 or MODE[:NODES][=FLAGS]; MODE default, preferred, bind,\n"
	"                 interleave, local or preferred_many; FLAGS static or\n"
	"                 relative; NODES a list such as 0-1,3.  Examples:\n"
	"                 interleave:0-1, bind:1, preferred:1, preferred_many:0,1,\n"
	"                 local, bind=static:0 (docs/NUMA.md)\n"
	"  --json FILE    also write the summary as JSON to FILE ('-': only JSON, to stdout)\n"
	"  --verbose      also show zoneinfo and buddyinfo before the workload\n"
	"\n"
	"Exit status: 0 when zpa_check() passes after the run, 1 otherwise.\n"
	"\n";

static const char pressure_help[] =
	"Usage: zpa run pressure [MACHINE] [--seed N] [--json FILE]\n"
	"\n"
	"Run the slow path end to end on a simulated clock: kswapd, kcompactd and the\n"
	"OOM reaper in MANUAL mode, stepped every 10 ms of simulated time\n"
	"(zpa_daemon_step), under the built-in memory models (zpa/model.h): a page\n"
	"cache read in a stream and a re-read hot set (some writes, a flusher), an\n"
	"application, a restarting batch job and a THP task with anonymous memory\n"
	"and a swap device of a quarter of memory, and a dentry-like slab cache with\n"
	"a shrinker.  Four phases, each checked against what Linux 6.1 shows:\n"
	"  moderate  growth kswapd can follow: pgscan_kswapd > 0, no direct reclaim\n"
	"            (allocstall_*, pgscan_direct unchanged), free pages above min\n"
	"  heavy     bursts of 4 x (high - min) pages between daemon steps: direct\n"
	"            reclaim (allocstall_normal, pgscan_direct) and compaction\n"
	"            (compact_stall)\n"
	"  order-9   in fragmented memory a THP request without reclaim\n"
	"            (GFP_TRANSHUGE_LIGHT|__GFP_NORETRY) fails, GFP_TRANSHUGE succeeds\n"
	"            through compaction (compact_success > 0)\n"
	"  oom       tasks with chosen oom_score_adj grow until swap and reclaimable\n"
	"            memory are gone: one OOM kill, of the task with the highest\n"
	"            badness (rss + swap + page tables + adj * totalpages / 1000),\n"
	"            which the scenario works out itself\n"
	"Prints each phase's ticks, free pages (min/avg/max) against the watermarks,\n"
	"counter changes and expectations.  docs/PRESSURE.md has the details.\n"
	"\n"
	"Options:\n"
	"  --seed N       seed of the workload's random numbers (default 42)\n"
	"  --json FILE    also write the results as JSON to FILE ('-': only JSON, to\n"
	"                 stdout), with every /proc/vmstat counter of the final state\n"
	"\n"
	"The machine options are those of every command; without any, the machine is\n"
	"one node of 1 GiB (one Normal zone) with 2 CPUs.\n"
	"\n"
	"Exit status: 0 when every phase met its expectations, 1 otherwise.\n"
	"\n";

static const char help_help[] =
	"Usage: zpa help [COMMAND]\n"
	"\n"
	"Describe the program or one command (info, run, help).\n"
	"\n";

int cli_print_help(FILE *f, const char *cmd)
{
	if (!cmd) {
		fputs(overview_help, f);
		fputs(cli_machine_help, f);
	} else if (strcmp(cmd, "info") == 0) {
		fputs(info_help, f);
		fputs(cli_machine_help, f);
	} else if (strcmp(cmd, "run") == 0) {
		fputs(run_help, f);
		fputs(cli_machine_help, f);
	} else if (strcmp(cmd, "pressure") == 0) {
		fputs(pressure_help, f);
		fputs(cli_machine_help, f);
	} else if (strcmp(cmd, "help") == 0) {
		fputs(help_help, f);
	} else {
		return cli_usage_error(NULL, "no such command '%s' (info, run, replay, record, help)", cmd);
	}
	return CLI_EXIT_OK;
}

int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("help", "too many arguments");
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_print_help(stdout, "help");
	return cli_print_help(stdout, argc == 2 ? argv[1] : NULL);
}
