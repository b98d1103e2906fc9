/*
 * cmd_replay.c - `zpa replay`: replay a kernel page-allocator trace through
 * zpa on the machine of the trace's snapshot, and report how zpa's
 * decisions compare with the kernel's (replay/replay.h does the work).
 *
 *   zpa replay --snapshot DIR [TRACE] [--set NAME=VALUE...]
 *              [--vs [--set NAME=VALUE...]] [--json FILE] [--csv FILE]
 *              [--html FILE] [--plots DIR] [--samples N] [--strict]
 *              [--no-start-state] [--emit-trace FILE] [--quiet]
 *   zpa replay --workload FILE [--snapshot DIR | --machine FILE] [same options]
 *
 * --workload generates a synthetic trace from a workload file (synth.c)
 * on the given machine (the default machine without one) and replays it
 * the same way; --emit-trace writes the trace replayed as ftrace text.
 *
 * TRACE defaults to DIR/trace.txt.zst (or the first of trace.txt, trace.dat,
 * trace.txt.xz, trace.txt.gz there).  --set options before --vs configure
 * run A, those after it run B; with --vs both runs replay the same trace
 * from the same starting state and the report shows them side by side.
 * --html and --plots run tools/zpa-report.py (python3 and matplotlib) on
 * the JSON.  A progress bar goes to stderr when it is a terminal and a
 * phase takes longer than a second.
 *
 * Exit status: 0 when the replay ran and zpa_check() passed after it, 1
 * when the trace, the snapshot or the library refused (message on stderr)
 * or the check failed, 2 for a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "replay.h"

int cmd_replay(int argc, char **argv);

static const char replay_help[] =
	"Usage: zpa replay --snapshot DIR [TRACE] [OPTIONS]\n"
	"       zpa replay --machine FILE TRACE [OPTIONS]\n"
	"       zpa replay --workload FILE [--snapshot DIR | --machine FILE] [OPTIONS]\n"
	"\n"
	"Replay a kernel trace of the page allocator (kmem:mm_page_alloc, mm_page_free,\n"
	"mm_page_free_batched, mm_page_alloc_extfrag, mm_page_pcpu_drain) through zpa\n"
	"on the machine the snapshot describes, starting from the state the snapshot\n"
	"shows (free blocks per zone, order and migratetype, pageblock types, per-CPU\n"
	"lists), and compare: allocations zpa fails that the kernel served, fallback\n"
	"(extfrag) events, and how often zpa places a page on the same node and zone.\n"
	"\n"
	"TRACE is ftrace text (the trace file or trace_pipe output), perf script text\n"
	"or a trace-cmd trace.dat, plain or compressed with zstd, xz or gzip.  Default:\n"
	"DIR/trace.txt.zst.  DIR is a snapshot directory (`zpa record` output, or an\n"
	"oracle configuration: its before-workload/ dump is the state at the start).\n"
	"\n"
	"Options:\n"
	"  --set NAME=VALUE  set a vm tunable before the replay (repeatable)\n"
	"  --vs              replay again under a second configuration: the --set\n"
	"                    options after --vs make run B; print both side by side\n"
	"  --json FILE       write the results and the time series as JSON ('-': stdout)\n"
	"  --csv FILE        write the time series as CSV (one row per sample and zone)\n"
	"  --html FILE       write a self-contained HTML report with plots\n"
	"                    (runs tools/zpa-report.py: python3 and matplotlib;\n"
	"                    $ZPA_REPORT and $ZPA_PYTHON override the script and python)\n"
	"  --plots DIR       write the plots as PNG files into DIR\n"
	"  --samples N       points of the time series (default 200)\n"
	"  --strict          stop at the first malformed trace line\n"
	"  --no-start-state  start from the freshly booted machine instead\n"
	"  --workload FILE   replay a synthetic workload (slab, page cache, anonymous,\n"
	"                    THP, GFP_ATOMIC bursts...) described in FILE instead of a\n"
	"                    trace (docs/REPLAY.md has the format); default machine\n"
	"                    when no --snapshot/--machine is given\n"
	"  --emit-trace FILE write the events replayed as ftrace text (e.g. a workload's)\n"
	"  --quiet           no text report on stdout (the files are still written)\n"
	"\n"
	"Malformed lines are counted and listed with their line numbers; the replay\n"
	"goes on unless --strict.  See docs/REPLAY.md.\n"
	"\n"
	"Exit status: 0 success, 1 error or zpa_check() failure, 2 bad command line.\n";

/* ------------------------------------------------------------ progress bar */

struct progress {
	const char *what;
	double start;
	bool tty, shown;
	int last;
};

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	if (!p->tty || !total)
		return;
	double el = rp_now_seconds() - p->start;
	if (el < 1.0 && done < total)
		return;
	if (el < 1.0 && !p->shown)
		return;
	int pc = (int)(100.0 * (double)done / (double)total);
	if (pc > 100)
		pc = 100;
	if (pc == p->last && done < total)
		return;
	p->last = pc;
	p->shown = true;
	char bar[41];
	int fill = pc * 40 / 100;
	for (int i = 0; i < 40; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[40] = '\0';
	fprintf(stderr, "\r%-10s [%s] %3d%%  %.1f s", p->what, bar, pc, el);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

static void progress_start(struct progress *p, const char *what)
{
	p->what = what;
	p->start = rp_now_seconds();
	p->tty = isatty(2);
	p->shown = false;
	p->last = -1;
}

/* ------------------------------------------------------------ helpers */

static bool file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *default_trace(const char *dir, char *buf, size_t len)
{
	static const char *const names[] = { "trace.txt.zst", "trace.txt", "trace.dat", "trace.txt.xz",
					     "trace.txt.gz", "trace.dat.zst" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(buf, len, "%s/%s", dir, names[i]);
		if (file_exists(buf))
			return buf;
	}
	return NULL;
}

/* A label naming a run by its --set list. */
static void make_label(char *buf, size_t len, const struct rp_config *c, const char *dflt)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < c->nr_sets && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", c->sets[i]);
	if (!c->nr_sets)
		snprintf(buf, len, "%s", dflt);
}

/* Run tools/zpa-report.py on json.  Returns 0 or CLI_EXIT_ERROR. */
static int run_report_script(const char *json, const char *html, const char *plots)
{
	const char *script = rp_report_script();
	char *args[10];
	int n = 0;

	if (!file_exists(script))
		return cli_error("--html/--plots: the report script %s is missing (set ZPA_REPORT to its path)", script);
	/* Debian's python3 has python3-matplotlib; a python3 earlier on PATH may not. */
	const char *py = getenv("ZPA_PYTHON");
	if (!py || !*py)
		py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	args[n++] = (char *)py;
	args[n++] = (char *)script;
	args[n++] = (char *)json;
	if (html) {
		args[n++] = "--html";
		args[n++] = (char *)html;
	}
	if (plots) {
		args[n++] = "--png-dir";
		args[n++] = (char *)plots;
	}
	args[n] = NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return cli_error("cannot start python3: %s", strerror(errno));
	if (pid == 0) {
		if (!isatty(1) && dup2(2, 1) < 0)
			_exit(127);
		execvp(args[0], args);
		fprintf(stderr, "zpa: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cli_error("the report script failed (%s)", script);
	return CLI_EXIT_OK;
}

static FILE *open_out(const char *path, bool *close_it)
{
	if (strcmp(path, "-") == 0) {
		*close_it = false;
		return stdout;
	}
	*close_it = true;
	return fopen(path, "w");
}

/* ------------------------------------------------------------ the command */

int cmd_replay(int argc, char **argv)
{
	struct rp_config ca = { 0 }, cb = { 0 };
	struct rp_options ro = { 0 };
	struct rp_load_opts lo = { 0 };
	const char *trace_path = NULL, *json = NULL, *csv = NULL, *html = NULL, *plots = NULL;
	const char *workload = NULL, *emit = NULL;
	bool vs = false, quiet = false;
	char tbuf[1200], err[RP_ERRLEN];
	struct cli_args a = { argc, argv, 1 };
	uint64_t n;

	while (a.i < argc) {
		const char *v = NULL;
		bool bad = false;
		const char *arg = argv[a.i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(replay_help, stdout);
			return CLI_EXIT_OK;
		}
		if (cli_take_option(&a, "--snapshot", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (ca.snapshot || ca.machine_file)
				return cli_usage_error("replay", "only one of --snapshot and --machine may be given");
			ca.snapshot = cb.snapshot = v;
		} else if (cli_take_option(&a, "--machine", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (ca.snapshot || ca.machine_file)
				return cli_usage_error("replay", "only one of --snapshot and --machine may be given");
			ca.machine_file = cb.machine_file = v;
		} else if (cli_take_option(&a, "--set", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			struct rp_config *c = vs ? &cb : &ca;
			if (!strchr(v, '=') || v[0] == '=')
				return cli_usage_error("replay", "--set: '%s' is not NAME=VALUE", v);
			if (c->nr_sets >= RP_MAX_SETS)
				return cli_usage_error("replay", "too many --set options (at most %d per run)", RP_MAX_SETS);
			c->sets[c->nr_sets++] = v;
		} else if (cli_take_option(&a, "--vs", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (vs)
				return cli_usage_error("replay", "--vs given twice (two runs at most)");
			vs = true;
		} else if (cli_take_option(&a, "--json", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			json = v;
		} else if (cli_take_option(&a, "--csv", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			csv = v;
		} else if (cli_take_option(&a, "--html", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			html = v;
		} else if (cli_take_option(&a, "--plots", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			plots = v;
		} else if (cli_take_option(&a, "--samples", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, 100000, &n) || n < 2)
				return cli_usage_error("replay", "--samples: '%s' is not a number from 2 to 100000", v);
			ro.samples = (unsigned)n;
		} else if (cli_take_option(&a, "--workload", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			workload = v;
		} else if (cli_take_option(&a, "--emit-trace", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			emit = v;
		} else if (cli_take_option(&a, "--strict", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			lo.strict = true;
		} else if (cli_take_option(&a, "--no-start-state", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			ro.no_start_state = true;
		} else if (cli_take_option(&a, "--quiet", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			quiet = true;
		} else if (arg[0] == '-' && arg[1]) {
			return cli_usage_error("replay", "unknown option '%s'", arg);
		} else {
			if (trace_path)
				return cli_usage_error("replay", "more than one trace given ('%s', '%s')", trace_path, arg);
			trace_path = arg;
			a.i++;
		}
	}
	if (workload && trace_path)
		return cli_usage_error("replay", "give a trace or --workload, not both");
	if (!ca.snapshot && !ca.machine_file && !workload)
		return cli_usage_error("replay", "give the machine: --snapshot DIR (or --machine FILE)");
	if (!trace_path && !workload) {
		if (!ca.snapshot || !(trace_path = default_trace(ca.snapshot, tbuf, sizeof(tbuf))))
			return cli_usage_error("replay", "no TRACE given and none found in %s",
					       ca.snapshot ? ca.snapshot : "the machine file's directory");
	}
	if ((json && strcmp(json, "-") == 0) || (emit && strcmp(emit, "-") == 0))
		quiet = true;

	/* Read the trace. */
	struct rp_trace t;
	struct progress pr;
	progress_start(&pr, "reading");
	lo.progress = progress_cb;
	lo.progress_arg = &pr;
	int rc;
	if (workload) {
		struct rp_workload *w = malloc(sizeof(*w));
		unsigned cpus = 1;
		if (!w)
			return cli_error("out of memory");
		rc = rp_workload_read(workload, w, err, sizeof(err));
		if (!rc)
			rc = rp_config_cpus(&ca, &cpus, err, sizeof(err));
		if (!rc)
			rc = rp_workload_generate(w, cpus, &t, err, sizeof(err));
		free(w);
		if (rc)
			return cli_error("%s", err);
		trace_path = workload;
	} else {
		rc = rp_trace_load(trace_path, &lo, &t, err, sizeof(err));
		if (rc)
			return cli_error("%s", err);
	}
	if (emit) {
		bool close_it;
		FILE *f = open_out(emit, &close_it);
		if (!f || rp_trace_write_text(f, &t) != 0 || (close_it && fclose(f) != 0)) {
			rp_trace_free(&t);
			return cli_error("cannot write %s: %s", emit, strerror(errno));
		}
	}
	if (t.malformed && !quiet)
		fprintf(stderr, "zpa: replay: %llu malformed line%s in %s (first: line %llu: %s)\n",
			(unsigned long long)t.malformed, t.malformed == 1 ? "" : "s", trace_path,
			(unsigned long long)t.bad[0].line, t.bad[0].reason);
	if (t.count[RP_EV_ALLOC] + t.count[RP_EV_FREE] == 0)
		fprintf(stderr, "zpa: replay: %s has no mm_page_alloc or mm_page_free event\n", trace_path);

	/* Replay, once or twice. */
	char la[256], lb[256];
	make_label(la, sizeof(la), &ca, "defaults");
	make_label(lb, sizeof(lb), &cb, "defaults");
	ca.label = la;
	cb.label = lb;
	ro.keep_map = html || plots || json;
	ro.progress = progress_cb;
	ro.progress_arg = &pr;
	struct rp_result *ra = calloc(1, sizeof(*ra)), *rb = vs ? calloc(1, sizeof(*rb)) : NULL;
	if (!ra || (vs && !rb)) {
		rp_trace_free(&t);
		free(ra);
		free(rb);
		return cli_error("out of memory");
	}
	progress_start(&pr, vs ? "replay A" : "replaying");
	rc = rp_replay(&t, &ca, &ro, ra, err, sizeof(err));
	if (!rc && vs) {
		progress_start(&pr, "replay B");
		rc = rp_replay(&t, &cb, &ro, rb, err, sizeof(err));
		if (rc)
			rp_result_free(ra);
	}
	if (rc) {
		rp_trace_free(&t);
		free(ra);
		free(rb);
		return cli_error("replay: %s", err);
	}

	int status = CLI_EXIT_OK;
	if (!quiet)
		rp_print_text(stdout, &t, ra, rb);
	char tmpjson[64] = "";
	if (!json && (html || plots)) {
		snprintf(tmpjson, sizeof(tmpjson), "/tmp/zpa-replay-XXXXXX.json");
		int fd = mkstemps(tmpjson, 5);
		if (fd < 0) {
			status = cli_error("cannot create a temporary JSON file: %s", strerror(errno));
			tmpjson[0] = '\0';
		} else {
			close(fd);
			json = tmpjson;
		}
	}
	if (json && status == CLI_EXIT_OK) {
		bool close_it;
		FILE *f = open_out(json, &close_it);
		if (!f || rp_write_json(f, &t, ra, rb) != 0 || (close_it && fclose(f) != 0))
			status = cli_error("cannot write %s: %s", json, strerror(errno));
	}
	if (csv && status == CLI_EXIT_OK) {
		bool close_it;
		FILE *f = open_out(csv, &close_it);
		if (!f || rp_write_csv(f, ra) != 0 || (close_it && fclose(f) != 0))
			status = cli_error("cannot write %s: %s", csv, strerror(errno));
	}
	if ((html || plots) && status == CLI_EXIT_OK)
		status = run_report_script(json, html, plots);
	if (tmpjson[0])
		unlink(tmpjson);
	if (status == CLI_EXIT_OK && (ra->check_rc || (rb && rb->check_rc)))
		status = cli_error("zpa_check() failed after the replay: %s", ra->check_rc ? ra->check_report
										    : rb->check_report);
	rp_result_free(ra);
	if (rb)
		rp_result_free(rb);
	free(ra);
	free(rb);
	rp_trace_free(&t);
	return status;
}
