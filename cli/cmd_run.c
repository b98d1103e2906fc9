/*
 * cmd_run.c - `zpa run` and `zpa` without arguments: build a machine, run
 * the default workload (workload.c) on it and report what happened.
 *
 * Output, in order, each section under a heading:
 *   Machine                      shape, ranges, CPUs, zones, tunables
 *   /proc/zoneinfo, buddyinfo    before the workload (only with --verbose,
 *                                which `zpa` without arguments implies)
 *   Workload                     what is about to run (CPU, memory policy)
 *   /proc/zoneinfo, buddyinfo    after the workload
 *   Summary                      report.c's tables, where the pages went (per
 *                                node and zone, numastat deltas) and the
 *                                zpa_check() line
 * --cpu N runs the workload as one task on CPU N; --policy gives every
 * workload task a memory policy (numa.c has the syntax).  A CPU the machine
 * lacks is a usage error, a policy the library refuses (zpa_mpol_new) a
 * library error; both are found before anything is printed.
 * With --json -, only the JSON goes to stdout.
 *
 * The allocator's own messages (allocation-failure warnings and the like) go
 * through a log callback that shows the first few on stderr and counts the
 * rest, so a run under pressure stays readable.
 *
 * Exit status: 0 when zpa_check() passes and no free was refused, 1 when the
 * library failed or the check found a problem, 2 for a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_SEED   42
#define LOG_SHOWN      3
#define CHECK_REPORT   4096

struct run_opts {
	struct cli_machine_opts machine;
	uint64_t seed;
	uint64_t ops;
	const char *json;
	bool verbose;
	int cpu;                    /* --cpu N, -1 without */
	bool has_policy;            /* --policy given */
	struct cli_policy policy;
};

/* Counts the allocator's messages; shows the first LOG_SHOWN on stderr. */
struct log_counter {
	uint64_t messages;
};

static void counting_log(void *arg, int level, const char *msg)
{
	struct log_counter *lc = arg;

	if (lc->messages++ < LOG_SHOWN)
		fprintf(stderr, "zpa: allocator %s: %s%s", level <= ZPA_LOG_ERR ? "error" :
			level <= ZPA_LOG_WARN ? "warning" : "note", msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* A monotonic clock in seconds, for the run's timing line. */
static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* zoneinfo and buddyinfo under their headings; when is "before" or "after". */
static void print_views(FILE *f, struct zpa_machine *m, const char *when)
{
	cli_heading(f, "/proc/zoneinfo (%s the workload)", when);
	cli_print_view(f, m, "zoneinfo");
	cli_heading(f, "/proc/buddyinfo (%s the workload)", when);
	cli_print_view(f, m, "buddyinfo");
}

/* What the workload is about to do: operations, seed, targets, classes. */
static void describe_workload(FILE *f, struct zpa_machine *m, const struct run_opts *o,
			      uint64_t ops, int cpu_node)
{
	char gfp[256];

	if (o->cpu >= 0)
		fprintf(f, "%llu operations with seed %llu on CPU %d (node %d), one task pinned to it.\n",
			(unsigned long long)ops, (unsigned long long)o->seed, o->cpu, cpu_node);
	else
		fprintf(f, "%llu operations with seed %llu on %u CPU%s (one task pinned to each).\n",
			(unsigned long long)ops, (unsigned long long)o->seed, zpa_nr_cpus(m),
			zpa_nr_cpus(m) == 1 ? "" : "s");
	if (o->has_policy)
		fprintf(f, "Memory policy %s on every task (zpa_set_mempolicy); requests go through\n"
			   "zpa_alloc_pages_mpol(), as alloc_pages() does under a task policy.\n",
			o->policy.text);
	fprintf(f, "Occupancy target: 75%% of managed pages, then up to %.1f%% (into the min\n"
		   "watermark reserves) and back, ending at 65%%; frees pick a held block at\n"
		   "random.  Requests (share per mille):\n", 100.0 * wl_peak_fraction(m));
	for (unsigned c = 0; c < WL_NR_CLASSES; c++) {
		const struct wl_class *k = &wl_classes[c];

		zpa_gfp_format(k->gfp, gfp, sizeof(gfp));
		if (k->min_order == k->max_order)
			fprintf(f, "  %4u  %-16s %s, order %u\n", k->weight, k->name, gfp, k->min_order);
		else
			fprintf(f, "  %4u  %-16s %s, orders %u-%u\n", k->weight, k->name, gfp,
				k->min_order, k->max_order);
	}
}

/*
 * Build the machine, run the workload, print and check.  Returns the exit
 * status; everything it allocated is released.
 */
static int run_main(struct run_opts *o)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct log_counter lc = { 0 };
	struct zpa_machine *m = NULL;
	struct wl_params p = { .seed = o->seed, .ops = o->ops, .cpu = o->cpu,
			       .policy = o->has_policy ? &o->policy : NULL };
	struct wl_result *r = calloc(1, sizeof(*r));
	char *report = calloc(1, CHECK_REPORT);
	bool text = !(o->json && strcmp(o->json, "-") == 0);
	FILE *out = stdout;
	int status, check_rc, rc;
	double t0, seconds;

	if (!cfg || !r || !report) {
		status = cli_error("out of memory");
		goto done;
	}
	status = cli_machine_config("run", &o->machine, cfg);
	if (status)
		goto done;
	cfg->log = counting_log;
	cfg->log_arg = &lc;
	status = cli_machine_create(&o->machine, cfg, &m);
	if (status)
		goto done;
	if (o->cpu >= 0 && (unsigned)o->cpu >= zpa_nr_cpus(m)) {
		status = cli_usage_error("run", "--cpu %d: the machine has %u CPU%s", o->cpu,
					 zpa_nr_cpus(m), zpa_nr_cpus(m) == 1 ? "" : "s");
		goto done;
	}
	if (o->has_policy) {
		/* Refuse a policy the library refuses before printing anything. */
		struct zpa_mempolicy *pol = NULL;

		rc = zpa_mpol_new(m, o->policy.mode, o->policy.has_nodes ? &o->policy.nodes : NULL, &pol);
		if (rc) {
			status = cli_error("--policy %s: %s", o->policy.text, zpa_strerror(rc));
			goto done;
		}
		zpa_mpol_free(pol);
	}
	if (!p.ops)
		p.ops = wl_default_ops(m);

	if (text) {
		cli_heading(out, "Machine");
		cli_describe_machine(out, m, cfg);
		if (o->verbose)
			print_views(out, m, "before");
		cli_heading(out, "Workload");
		describe_workload(out, m, o, p.ops, o->cpu >= 0 ? cfg->cpu_node[o->cpu] : -1);
		fflush(out);
	}
	t0 = now_seconds();
	rc = wl_run(m, &p, r);
	seconds = now_seconds() - t0;
	if (rc) {
		if (o->has_policy && rc != ZPA_ENOMEM)
			status = cli_error("--policy %s: %s", o->policy.text, zpa_strerror(rc));
		else
			status = cli_error("workload: %s", zpa_strerror(rc));
		goto done;
	}
	check_rc = zpa_check(m, report, CHECK_REPORT);
	if (lc.messages > LOG_SHOWN)
		fprintf(stderr, "zpa: %llu more allocator messages not shown\n",
			(unsigned long long)(lc.messages - LOG_SHOWN));

	if (text) {
		print_views(out, m, "after");
		cli_heading(out, "Summary");
		cli_print_summary(out, m, r, check_rc, report, seconds);
		fflush(out);
	}
	if (o->json) {
		FILE *jf = text ? fopen(o->json, "w") : stdout;

		if (!jf || cli_write_json(jf, m, r, check_rc, report) != 0 ||
		    (jf != stdout && fclose(jf) != 0)) {
			status = cli_error("cannot write %s", o->json);
			goto done;
		}
	}
	status = (check_rc == 0 && r->free_errors == 0) ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	if (check_rc)
		fprintf(stderr, "zpa: zpa_check: %s\n", zpa_strerror(check_rc));
done:
	if (m)
		zpa_machine_destroy(m);
	free(cfg);
	free(r);
	free(report);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .seed = DEFAULT_SEED, .cpu = -1 };
	struct cli_args a = { argc, argv, 1 };

	while (a.i < argc) {
		const char *v = NULL;
		bool bad = false;
		int mrc;

		if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0)
			return cli_print_help(stdout, "run");
		mrc = cli_machine_option(&a, "run", &o.machine);
		if (mrc < 0)
			return CLI_EXIT_USAGE;
		if (mrc > 0)
			continue;
		if (cli_take_option(&a, "--seed", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, UINT64_MAX, &o.seed))
				return cli_usage_error("run", "--seed: '%s' is not a number", v);
		} else if (cli_take_option(&a, "--ops", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, UINT64_MAX, &o.ops) || o.ops == 0)
				return cli_usage_error("run", "--ops: '%s' is not a positive number", v);
		} else if (cli_take_option(&a, "--json", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.json = v;
		} else if (cli_take_option(&a, "--cpu", true, &v, &bad)) {
			uint64_t n;

			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, ZPA_MAX_CPUS - 1, &n))
				return cli_usage_error("run", "--cpu: '%s' is not a CPU number", v);
			o.cpu = (int)n;
		} else if (cli_take_option(&a, "--policy", true, &v, &bad)) {
			char why[256];

			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_policy(v, &o.policy, why, sizeof(why)))
				return cli_usage_error("run", "--policy: %s", why);
			o.has_policy = true;
		} else if (cli_take_option(&a, "--verbose", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.verbose = true;
		} else {
			return cli_usage_error("run", "unknown option '%s'", argv[a.i]);
		}
	}
	return run_main(&o);
}

int cmd_default(void)
{
	struct run_opts o = { .seed = DEFAULT_SEED, .verbose = true, .cpu = -1 };

	return run_main(&o);
}
