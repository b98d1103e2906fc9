/*
 * cmd_record.c - `zpa record`: capture the running kernel's page-allocator
 * events around a command (or for a while) with a snapshot, into a
 * directory `zpa replay --snapshot DIR` replays (replay/record.c does the
 * work).
 *
 *   zpa record [-o DIR] [--buffer-kb N] [--tracefs DIR] [--quiet] -- COMMAND [ARG...]
 *   zpa record [-o DIR] --duration SECONDS
 *
 * Exit status: the command's exit status when it ran and failed (the
 * recording is kept), 0 when both went well, 1 when recording was not
 * possible (tracefs not mounted, not permitted, ...: message on stderr),
 * 2 for a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "replay.h"

int cmd_record(int argc, char **argv);

static const char record_help[] =
	"Usage: zpa record [-o DIR] [OPTIONS] -- COMMAND [ARG...]\n"
	"       zpa record [-o DIR] [OPTIONS] --duration SECONDS\n"
	"\n"
	"Record the page allocator of this Linux machine while COMMAND runs (or for\n"
	"SECONDS): the kmem events mm_page_alloc, mm_page_free, mm_page_free_batched,\n"
	"mm_page_alloc_extfrag, mm_page_pcpu_drain and mm_page_alloc_zone_locked\n"
	"(plus reclaim and compaction markers when available), through a private\n"
	"tracefs instance, with a snapshot of /proc/zoneinfo, buddyinfo, pagetypeinfo,\n"
	"vmstat, the vm sysctls, node distances and CPU lists at the start and the end.\n"
	"Needs root and a mounted tracefs.\n"
	"\n"
	"DIR (default zpa-record-DATE-TIME) then replays with `zpa replay --snapshot DIR`\n"
	"and loads with `zpa info --snapshot DIR`.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR   where to write (created; must be new or empty)\n"
	"  --duration S       record for S seconds instead of around a command\n"
	"  --buffer-kb N      ring buffer per CPU in KiB (default 65536)\n"
	"  --tracefs DIR      the tracefs mount point (default: found in /proc/mounts)\n"
	"  --quiet            no summary line on stderr\n"
	"\n"
	"Exit status: the command's when it failed, else 0; 1 when recording was not\n"
	"possible; 2 for a bad command line.\n";

int cmd_record(int argc, char **argv)
{
	struct rp_record_opts o = { 0 };
	bool quiet = false;
	struct cli_args a = { argc, argv, 1 };
	char outbuf[64], err[RP_ERRLEN];
	bool have_duration = false;
	uint64_t n;

	while (a.i < argc) {
		const char *v = NULL;
		bool bad = false;
		const char *arg = argv[a.i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(record_help, stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(arg, "--") == 0) {
			a.i++;
			break;
		}
		if (strcmp(arg, "-o") == 0) {
			if (a.i + 1 >= argc)
				return cli_usage_error("record", "-o needs a directory");
			o.out_dir = argv[a.i + 1];
			a.i += 2;
		} else if (cli_take_option(&a, "--output", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.out_dir = v;
		} else if (cli_take_option(&a, "--duration", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			char *end;
			o.duration = strtod(v, &end);
			if (end == v || *end || o.duration <= 0 || o.duration > 1e6)
				return cli_usage_error("record", "--duration: '%s' is not a number of seconds", v);
			have_duration = true;
		} else if (cli_take_option(&a, "--buffer-kb", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, 1u << 24, &n) || n < 64)
				return cli_usage_error("record", "--buffer-kb: '%s' is not a size from 64 to %u", v, 1u << 24);
			o.buffer_kb = (size_t)n;
		} else if (cli_take_option(&a, "--tracefs", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.tracefs = v;
		} else if (cli_take_option(&a, "--quiet", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			quiet = true;
		} else if (arg[0] == '-') {
			return cli_usage_error("record", "unknown option '%s'", arg);
		} else {
			break; /* the command, without "--" */
		}
	}
	if (a.i < argc)
		o.argv = &argv[a.i];
	if (o.argv && have_duration)
		return cli_usage_error("record", "give a command or --duration, not both");
	if (!o.argv && !have_duration)
		return cli_usage_error("record", "give a command (zpa record -- COMMAND) or --duration SECONDS");
	if (!o.out_dir) {
		time_t now = time(NULL);
		strftime(outbuf, sizeof(outbuf), "zpa-record-%Y%m%d-%H%M%S", localtime(&now));
		o.out_dir = outbuf;
	}
	struct rp_record_result res;
	int rc = rp_record(&o, &res, err, sizeof(err));
	if (rc)
		return cli_error("record: %s", err);
	if (!quiet)
		fprintf(stderr, "zpa: record: %llu trace lines (%.1f MB) in %.2f s into %s%s\n",
			(unsigned long long)res.trace_lines, (double)res.trace_bytes / 1e6, res.seconds, o.out_dir,
			res.dmesg ? "" : " (no boot memory map in the kernel log: zone spans come from zoneinfo)");
	if (res.cmd_status != 0) {
		fprintf(stderr, "zpa: record: the command exited with status %d (the recording is in %s)\n",
			res.cmd_status, o.out_dir);
		return res.cmd_status;
	}
	if (!quiet)
		fprintf(stderr, "zpa: record: replay it with: zpa replay --snapshot %s\n", o.out_dir);
	return CLI_EXIT_OK;
}
