/*
 * test_trace_input.c - reading kernel traces (replay/trace*.c, input.c).
 *
 * What is checked:
 *   - An ftrace `trace` file with its headers and the same lines in
 *     trace_pipe form read to the same events: type, pfn, order, request
 *     migratetype, GFP word (as zpa_gfp_parse reads the flag text), CPU,
 *     timestamp, the mark's text; a failed allocation (page=0, pfn=0x0 in
 *     6.1) reads as "the kernel failed"; compaction events are counted as
 *     other events; the extfrag, drain and zone_locked fields are kept.
 *   - Malformed lines are counted with their line numbers and reasons and
 *     the reading goes on; --strict stops at the first with its number.
 *   - The same trace compressed with zstd, xz and gzip (the command-line
 *     tools) reads to byte-identical events, and names its compression;
 *     concatenated gzip members read through.
 *   - Corrupt compressed data (bytes overwritten mid-file) and truncated
 *     files (cut in half) are ZPA_ECORRUPT with a message naming the format
 *     ("corrupt" / "truncated"); a plain file cut mid-line reports a
 *     truncated last line.  Binary files, text that is not a trace, empty
 *     files, directories and missing files are refused with a clear
 *     message; nothing crashes (the suite runs under ASan and UBSan).
 *   - perf script text (`perf script` of kmem events, "sys:event:" names,
 *     pid and CPU columns, and the raw "[FAILED TO PARSE]" form with decimal
 *     fields) reads to the same events as ftrace text.
 *   - The real traces in the oracle (Linux 6.1 and 6.18): every line parses,
 *     and the events of each type equal the number of lines naming that
 *     event, counted independently here from `zstd -dc` output.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay.h"
#include "zpa.h"

static char tmpdir[256];

static void path_in_tmp(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ------------------------------------------------------------ the sample trace */

static const char header[] =
	"# tracer: nop\n"
	"#\n"
	"# entries-in-buffer/entries-written: 12/12   #P:2\n"
	"#\n"
	"#                                _-----=> irqs-off/BH-disabled\n"
	"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
	"#              | |         |   |||||     |         |\n";

/* Line numbers below are of the body (the header adds 7). */
static const char body[] =
	"            init-1       [001] .....    15.223593: tracing_mark_write: ORACLE_MARK workload-begin\n"  /* 1 */
	"            init-1       [001] .....    15.224664: mm_page_alloc: page=00000000b631d199 pfn=0x5280 order=1 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO\n"
	"   Web Content-1234      [000] d..3.    15.361822: mm_page_alloc_zone_locked: page=00000000f1d148f3 pfn=0xe800 order=9 migratetype=1 percpu_refill=1\n"
	"             cut-547     [000] ...1.    15.362649: mm_page_free: page=0000000086c8cd1f pfn=0x5280 order=1\n"
	"             cut-547     [000] ...2.    15.362737: mm_page_free_batched: page=000000005a1cfe32 pfn=0xe466 order=0\n" /* 5 */
	"this line is garbage\n"
	"      kcompactd0-33      [001] .....    15.429302: mm_compaction_kcompactd_sleep: nid=0\n"
	"          memhog-574     [000] .....    38.025650: mm_page_alloc: page=0000000000000000 pfn=0x0 order=9 migratetype=1 gfp_flags=GFP_TRANSHUGE|__GFP_NORETRY|__GFP_THISNODE\n"
	"          memhog-574     [000] d..3.    39.250123: mm_page_alloc_extfrag: page=0000000025c9978c pfn=0x800 alloc_order=0 fallback_order=10 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1\n"
	"     kworker/0:1-18      [000] d..2.    39.788606: mm_page_pcpu_drain: page=00000000f1fbb069 pfn=0x1016c4 order=0 migratetype=0\n" /* 10 */
	"          memhog-574     [001] .....    40.000001: mm_page_alloc: page=00000000aa pfn=0x1234 order=0 migratetype=1 gfp_flags=GFP_BOGUS_FLAG\n"
	"          memhog-574     [001] .....    40.000002: mm_page_alloc: page=00000000aa pfn=0x1235 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP\n";

/* The same events as `perf script` prints them. */
static const char perf_body[] =
	"            init     1 [001]    15.223593: ftrace:print: ip=0xffffffff8123 buf=ORACLE_MARK workload-begin\n"
	"            init     1 [001]    15.224664: kmem:mm_page_alloc: page=0xffffea0000148a00 pfn=0x5280 order=1 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO\n"
	"     Web Content  1234 [000]    15.361822: kmem:mm_page_alloc_zone_locked: page=0xffffea00003a0000 pfn=0xe800 order=9 migratetype=1 percpu_refill=1\n"
	"             cut   547 [000]    15.362649: kmem:mm_page_free: [FAILED TO PARSE] pfn=21120 order=1\n"
	"             cut   547 [000]    15.362737: kmem:mm_page_free_batched: page=0xffffea0000391980 pfn=0xe466 order=0\n"
	"this line is garbage\n"
	"      kcompactd0    33 [001]    15.429302: compaction:mm_compaction_kcompactd_sleep: nid=0\n"
	"          memhog   574 [000]    38.025650: kmem:mm_page_alloc: [FAILED TO PARSE] pfn=18446744073709551615 order=9 gfp_flags=4007114 migratetype=1\n"
	"          memhog   574 [000]    39.250123: kmem:mm_page_alloc_extfrag: page=0xffffea0000020000 pfn=0x800 alloc_order=0 fallback_order=10 pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1\n"
	"     kworker/0:1    18 [000]    39.788606: kmem:mm_page_pcpu_drain: page=0xffffea000405b100 pfn=0x1016c4 order=0 migratetype=0\n"
	"          memhog   574 [001]    40.000001: kmem:mm_page_alloc: page=0xffffea000048d000 pfn=0x1234 order=0 migratetype=1 gfp_flags=GFP_BOGUS_FLAG\n"
	"          memhog   574 [001]    40.000002: kmem:mm_page_alloc: page=0xffffea000048d400 pfn=0x1235 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP\n";

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zpa-test-trace-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf '%s'", tmpdir);
	return 0;
}

static void write_sample(const char *name, bool with_header)
{
	char p[512];
	FILE *f;
	path_in_tmp(p, sizeof(p), name);
	f = fopen(p, "wb");
	assert_non_null(f);
	if (with_header)
		fputs(header, f);
	fputs(body, f);
	assert_int_equal(fclose(f), 0);
}

static void load_ok(const char *name, struct rp_trace *t)
{
	char p[512], err[RP_ERRLEN];
	path_in_tmp(p, sizeof(p), name);
	int rc = rp_trace_load(p, NULL, t, err, sizeof(err));
	if (rc)
		fail_msg("%s: %s", p, err);
}

/* The events of the sample, checked field by field. */
static void check_sample_events(const struct rp_trace *t, unsigned line_offset)
{
	zpa_gfp_t gfp;

	assert_int_equal(t->n, 9);
	assert_int_equal(t->count[RP_EV_ALLOC], 3);
	assert_int_equal(t->count[RP_EV_FREE], 1);
	assert_int_equal(t->count[RP_EV_FREE_BATCHED], 1);
	assert_int_equal(t->count[RP_EV_EXTFRAG], 1);
	assert_int_equal(t->count[RP_EV_PCPU_DRAIN], 1);
	assert_int_equal(t->count[RP_EV_ZONE_LOCKED], 1);
	assert_int_equal(t->count[RP_EV_MARK], 1);
	assert_int_equal(t->other_events, 1);

	/* the mark */
	assert_int_equal(t->ev[0].type, RP_EV_MARK);
	assert_int_equal(t->nr_marks, 1);
	assert_string_equal(t->marks[t->ev[0].gfp], "ORACLE_MARK workload-begin");
	/* the first allocation */
	const struct rp_event *a = &t->ev[1];
	assert_int_equal(a->type, RP_EV_ALLOC);
	assert_int_equal(a->pfn, 0x5280);
	assert_int_equal(a->order, 1);
	assert_int_equal(a->mt, 0);
	assert_int_equal(a->cpu, 1);
	assert_int_equal(zpa_gfp_parse("GFP_KERNEL_ACCOUNT|__GFP_ZERO", &gfp), 0);
	assert_int_equal(a->gfp, gfp);
	assert_true(a->ts > 15.224663 && a->ts < 15.224665);
	assert_int_equal(a->line, line_offset + 2);
	/* zone_locked, from a task whose name has a space */
	assert_int_equal(t->ev[2].type, RP_EV_ZONE_LOCKED);
	assert_int_equal(t->ev[2].pfn, 0xe800);
	assert_int_equal(t->ev[2].order, 9);
	assert_int_equal(t->ev[2].mt, 1);
	assert_int_equal(t->ev[2].aux, 1);
	assert_int_equal(t->ev[2].cpu, 0);
	/* free and batched free */
	assert_int_equal(t->ev[3].type, RP_EV_FREE);
	assert_int_equal(t->ev[3].pfn, 0x5280);
	assert_int_equal(t->ev[3].order, 1);
	assert_int_equal(t->ev[4].type, RP_EV_FREE_BATCHED);
	assert_int_equal(t->ev[4].pfn, 0xe466);
	/* the kernel's failed allocation */
	assert_int_equal(t->ev[5].type, RP_EV_ALLOC);
	assert_true(t->ev[5].pfn == RP_NO_PFN);
	assert_int_equal(t->ev[5].order, 9);
	assert_int_equal(zpa_gfp_parse("GFP_TRANSHUGE|__GFP_NORETRY|__GFP_THISNODE", &gfp), 0);
	assert_int_equal(t->ev[5].gfp, gfp);
	/* extfrag */
	const struct rp_event *x = &t->ev[6];
	assert_int_equal(x->type, RP_EV_EXTFRAG);
	assert_int_equal(x->pfn, 0x800);
	assert_int_equal(x->order, 0);
	assert_int_equal(x->aux, 10);
	assert_int_equal(x->mt, 0);
	assert_int_equal(x->aux2 & 0xf, 1);
	assert_int_equal(x->aux2 & 0x10, 0);
	assert_int_equal(x->aux2 & 0x20, 0x20);
	/* drain */
	assert_int_equal(t->ev[7].type, RP_EV_PCPU_DRAIN);
	assert_int_equal(t->ev[7].pfn, 0x1016c4);
	/* the last allocation (after the bad-GFP one) */
	assert_int_equal(t->ev[8].pfn, 0x1235);
	assert_int_equal(t->ev[8].gfp, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP);

	/* two malformed lines, with their numbers */
	assert_int_equal(t->malformed, 2);
	assert_int_equal(t->nr_bad, 2);
	assert_int_equal(t->bad[0].line, line_offset + 6);
	assert_int_equal(t->bad[1].line, line_offset + 11);
	assert_non_null(strstr(t->bad[1].reason, "gfp_flags"));
}

static void test_ftrace_trace_file(void **state)
{
	struct rp_trace t;
	(void)state;
	write_sample("trace.txt", true);
	load_ok("trace.txt", &t);
	check_sample_events(&t, 7);
	assert_int_equal(t.comments, 7);
	assert_string_equal(t.format, "ftrace text");
	assert_string_equal(t.compression, "none");
	rp_trace_free(&t);
}

static void test_trace_pipe_form(void **state)
{
	struct rp_trace t, u;
	(void)state;
	write_sample("trace.txt", true);
	write_sample("pipe.txt", false);
	load_ok("trace.txt", &t);
	load_ok("pipe.txt", &u);
	check_sample_events(&u, 0);
	assert_int_equal(t.n, u.n);
	for (size_t i = 0; i < t.n; i++) {
		assert_int_equal(t.ev[i].line, u.ev[i].line + 7);
		struct rp_event a = t.ev[i], b = u.ev[i];
		a.line = b.line = 0;
		assert_memory_equal(&a, &b, sizeof(a));
	}
	rp_trace_free(&t);
	rp_trace_free(&u);
}

static void test_perf_script(void **state)
{
	char p[512];
	struct rp_trace t, u;
	(void)state;
	write_sample("pipe.txt", false);
	path_in_tmp(p, sizeof(p), "perf.txt");
	write_file(p, perf_body, strlen(perf_body));
	load_ok("pipe.txt", &t);
	load_ok("perf.txt", &u);
	assert_string_equal(u.format, "perf script");
	check_sample_events(&u, 0);
	for (size_t i = 0; i < t.n; i++) {
		struct rp_event a = t.ev[i], b = u.ev[i];
		if (a.type == RP_EV_ALLOC && a.pfn == RP_NO_PFN) {
			/* the raw form has a numeric GFP word: the same flags */
			assert_int_equal(a.gfp, b.gfp);
		}
		a.line = b.line = 0;
		assert_memory_equal(&a, &b, sizeof(a));
	}
	rp_trace_free(&t);
	rp_trace_free(&u);
}

static void test_strict_stops(void **state)
{
	char p[512], err[RP_ERRLEN];
	struct rp_trace t;
	struct rp_load_opts o = { .strict = true };
	(void)state;
	write_sample("trace.txt", true);
	path_in_tmp(p, sizeof(p), "trace.txt");
	assert_int_equal(rp_trace_load(p, &o, &t, err, sizeof(err)), ZPA_EPARSE);
	assert_non_null(strstr(err, "line 13"));
	assert_non_null(strstr(err, "--strict"));
	assert_null(t.ev);
}

static bool have_tool(const char *tool)
{
	return run("command -v %s >/dev/null 2>&1", tool) == 0;
}

static void test_compressed_same_events(void **state)
{
	static const struct { const char *tool, *ext, *name; } fmts[] = {
		{ "zstd", "zst", "zstd" }, { "xz", "xz", "xz" }, { "gzip", "gz", "gzip" },
	};
	struct rp_trace t;
	(void)state;
	write_sample("trace.txt", true);
	load_ok("trace.txt", &t);
	for (unsigned i = 0; i < 3; i++) {
		char name[64], p[512];
		struct rp_trace u;
		if (!have_tool(fmts[i].tool)) {
			print_message("%s not installed: skipped\n", fmts[i].tool);
			continue;
		}
		path_in_tmp(p, sizeof(p), "trace.txt");
		assert_int_equal(run("%s -c '%s' > '%s.%s'", fmts[i].tool, p, p, fmts[i].ext), 0);
		snprintf(name, sizeof(name), "trace.txt.%s", fmts[i].ext);
		load_ok(name, &u);
		assert_string_equal(u.compression, fmts[i].name);
		assert_int_equal(u.n, t.n);
		assert_memory_equal(u.ev, t.ev, t.n * sizeof(*t.ev));
		assert_int_equal(u.malformed, t.malformed);
		rp_trace_free(&u);
	}
	/* Two gzip members one after the other: the events of both. */
	if (have_tool("gzip")) {
		char p[512];
		struct rp_trace u;
		path_in_tmp(p, sizeof(p), "pipe.txt");
		write_sample("pipe.txt", false);
		assert_int_equal(run("cd '%s' && gzip -c pipe.txt > cat.gz && gzip -c pipe.txt >> cat.gz", tmpdir), 0);
		load_ok("cat.gz", &u);
		assert_int_equal(u.n, 2 * t.n);
		rp_trace_free(&u);
	}
	rp_trace_free(&t);
}

/* Overwrite len bytes at the middle of a file. */
static void damage_middle(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, st.st_size / 2, SEEK_SET);
	for (int i = 0; i < 64; i++)
		fputc(0x5a ^ i, f);
	fclose(f);
}

static void test_corrupt_and_truncated(void **state)
{
	static const struct { const char *tool, *ext, *name; } fmts[] = {
		{ "zstd", "zst", "zstd" }, { "xz", "xz", "xz" }, { "gzip", "gz", "gzip" },
	};
	(void)state;
	/* A trace big enough that the middle of the compressed file is inside the data. */
	char big[512];
	path_in_tmp(big, sizeof(big), "big.txt");
	FILE *f = fopen(big, "wb");
	assert_non_null(f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "          memhog-%d     [%03d] .....    %d.%06d: mm_page_alloc: page=00000000%08x pfn=0x%x "
			   "order=%d migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE|__GFP_COMP\n",
			500 + i % 7, i % 2, 10 + i / 1000, (i * 37) % 1000000, (unsigned)(i * 2654435761u), 0x10000 + i * 3,
			i % 4);
	fclose(f);
	for (unsigned i = 0; i < 3; i++) {
		char p[600], err[RP_ERRLEN];
		struct rp_trace t;
		if (!have_tool(fmts[i].tool))
			continue;
		/* corrupt */
		snprintf(p, sizeof(p), "%s.%s", big, fmts[i].ext);
		assert_int_equal(run("%s -c '%s' > '%s'", fmts[i].tool, big, p), 0);
		damage_middle(p);
		int rc = rp_trace_load(p, NULL, &t, err, sizeof(err));
		assert_int_equal(rc, ZPA_ECORRUPT);
		assert_non_null(strstr(err, fmts[i].name));
		assert_true(strstr(err, "corrupt") || strstr(err, "truncated"));
		assert_null(t.ev);
		/* truncated: the first half of the file */
		assert_int_equal(run("%s -c '%s' | head -c $(( $(%s -c '%s' | wc -c) / 2 )) > '%s'", fmts[i].tool, big,
				     fmts[i].tool, big, p),
				 0);
		rc = rp_trace_load(p, NULL, &t, err, sizeof(err));
		assert_int_equal(rc, ZPA_ECORRUPT);
		assert_non_null(strstr(err, "truncated"));
		assert_non_null(strstr(err, fmts[i].name));
	}
	/* A plain file cut in the middle of a line: the last line is reported truncated. */
	char p[600];
	struct rp_trace t;
	snprintf(p, sizeof(p), "%s/cut.txt", tmpdir);
	size_t cut = (size_t)(strstr(body, "order=9 migratetype=1 percpu") - body) + 8;
	write_file(p, body, cut);
	load_ok("cut.txt", &t);
	assert_true(t.malformed >= 1);
	assert_non_null(strstr(t.bad[t.nr_bad - 1].reason, "truncated last line"));
	rp_trace_free(&t);
}

static void test_foreign_input(void **state)
{
	char p[512], err[RP_ERRLEN];
	struct rp_trace t;
	(void)state;

	/* binary data */
	path_in_tmp(p, sizeof(p), "bin.dat");
	unsigned char bin[4096];
	for (unsigned i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 131 + 7);
	write_file(p, (const char *)bin, sizeof(bin));
	assert_int_equal(rp_trace_load(p, NULL, &t, err, sizeof(err)), ZPA_EPARSE);
	assert_non_null(strstr(err, "binary"));

	/* text that is not a trace: the build file */
	assert_int_equal(rp_trace_load(ZPA_SOURCE_DIR "/CMakeLists.txt", NULL, &t, err, sizeof(err)), ZPA_EPARSE);
	assert_non_null(strstr(err, "not a kernel trace"));

	/* a zoneinfo: text with numbers, still not a trace */
	assert_int_equal(rp_trace_load(ZPA_ORACLE_DIR "/n1-2g-2cpu/boot/proc/zoneinfo", NULL, &t, err, sizeof(err)),
			 ZPA_EPARSE);
	assert_non_null(strstr(err, "not a kernel trace"));

	/* compressed foreign data: a zstd-compressed zoneinfo */
	if (have_tool("zstd")) {
		path_in_tmp(p, sizeof(p), "zi.zst");
		assert_int_equal(run("zstd -q -c '%s' > '%s'", ZPA_ORACLE_DIR "/n1-2g-2cpu/boot/proc/zoneinfo", p), 0);
		assert_int_equal(rp_trace_load(p, NULL, &t, err, sizeof(err)), ZPA_EPARSE);
		assert_non_null(strstr(err, "not a kernel trace"));
	}

	/* empty, a directory, missing */
	path_in_tmp(p, sizeof(p), "empty.txt");
	write_file(p, "", 0);
	assert_int_equal(rp_trace_load(p, NULL, &t, err, sizeof(err)), ZPA_EPARSE);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(rp_trace_load(tmpdir, NULL, &t, err, sizeof(err)), ZPA_EIO);
	assert_non_null(strstr(err, "directory"));
	path_in_tmp(p, sizeof(p), "no-such-file");
	assert_int_equal(rp_trace_load(p, NULL, &t, err, sizeof(err)), ZPA_EIO);
	assert_non_null(strstr(err, "no-such-file"));

	/* a trace.dat this build cannot read, or can: either a clear message or events */
	path_in_tmp(p, sizeof(p), "fake.dat");
	write_file(p, "\027\010\104tracing6\0\0\0\0garbage", 23);
	int rc = rp_trace_load(p, NULL, &t, err, sizeof(err));
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err, "trace"));
}

/* Count lines naming each event in the decompressed trace, independently of the parser. */
static void count_with_zstd(const char *path, uint64_t counts[RP_NR_EVENT_TYPES], uint64_t *lines)
{
	char cmd[1300], *line = NULL;
	size_t cap = 0;
	static const char *const needles[RP_NR_EVENT_TYPES] = {
		[RP_EV_ALLOC] = " mm_page_alloc: ", [RP_EV_FREE] = " mm_page_free: ",
		[RP_EV_FREE_BATCHED] = " mm_page_free_batched: ", [RP_EV_EXTFRAG] = " mm_page_alloc_extfrag: ",
		[RP_EV_PCPU_DRAIN] = " mm_page_pcpu_drain: ", [RP_EV_ZONE_LOCKED] = " mm_page_alloc_zone_locked: ",
		[RP_EV_MARK] = " tracing_mark_write: ",
	};
	snprintf(cmd, sizeof(cmd), "zstd -dc '%s'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	memset(counts, 0, sizeof(uint64_t) * RP_NR_EVENT_TYPES);
	*lines = 0;
	while (getline(&line, &cap, p) > 0) {
		(*lines)++;
		for (int i = 0; i < RP_NR_EVENT_TYPES; i++)
			if (strstr(line, needles[i])) {
				counts[i]++;
				break;
			}
	}
	free(line);
	assert_int_equal(pclose(p), 0);
}

static void test_oracle_traces(void **state)
{
	static const char *const traces[] = { "n1-2g-2cpu/trace.txt.zst", "n2-4g-2cpu/trace.txt.zst",
					      "host/a-build/trace.txt.zst" };
	(void)state;
	if (!have_tool("zstd"))
		skip();
	for (unsigned i = 0; i < 3; i++) {
		char p[1200], err[RP_ERRLEN];
		struct rp_trace t;
		uint64_t counts[RP_NR_EVENT_TYPES], lines;
		snprintf(p, sizeof(p), "%s/%s", ZPA_ORACLE_DIR, traces[i]);
		int rc = rp_trace_load(p, NULL, &t, err, sizeof(err));
		if (rc)
			fail_msg("%s", err);
		count_with_zstd(p, counts, &lines);
		assert_int_equal(t.lines, lines);
		assert_int_equal(t.malformed, 0);
		assert_int_equal(t.lost_events, 0);
		for (int k = 0; k < RP_NR_EVENT_TYPES; k++)
			assert_int_equal(t.count[k], counts[k]);
		assert_string_equal(t.compression, "zstd");
		assert_true(t.count[RP_EV_ALLOC] > 100000);
		print_message("%s: %llu lines, %zu events in %.2f s\n", traces[i], (unsigned long long)t.lines, t.n,
			      t.seconds);
		rp_trace_free(&t);
	}
}

/* ------------------------------------------------------------ trace.dat (recorded live) */

static const char *const kmem_events[] = { "mm_page_alloc", "mm_page_free", "mm_page_free_batched",
					   "mm_page_pcpu_drain", "mm_page_alloc_zone_locked", "mm_page_alloc_extfrag" };

/* A writable tracefs with the kmem events and instances, or NULL with the reason. */
static const char *find_tracefs(char *why, size_t len)
{
	if (len > 200)
		len = 200;
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	for (unsigned i = 0; i < 2; i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/events/kmem/mm_page_alloc/enable", dirs[i]);
		if (access(p, F_OK) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/instances", dirs[i]);
		if (access(p, W_OK) != 0) {
			snprintf(why, len, "%.100s is not writable (run as root)", p);
			return NULL;
		}
		return dirs[i];
	}
	snprintf(why, len, "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)");
	return NULL;
}

static void write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	assert_int_equal(fclose(f), 0);
}

static void test_trace_dat(void **state)
{
	char why[256], inst[512], p[700], dat[512], txt[512];
	(void)state;
	if (!rp_have_tracecmd()) {
		print_message("skipped: this build has no libtracecmd (apt-get install libtracecmd-dev)\n");
		skip();
	}
	const char *tfs = find_tracefs(why, sizeof(why));
	if (!tfs) {
		print_message("skipped: %s\n", why);
		skip();
	}
	if (!have_tool("trace-cmd")) {
		print_message("skipped: trace-cmd is not installed (it writes the trace.dat)\n");
		skip();
	}
	/* Record the kmem events of a small workload into a private instance. */
	snprintf(inst, sizeof(inst), "%s/instances/zpa-test-%d", tfs, (int)getpid());
	assert_int_equal(mkdir(inst, 0755), 0);
	for (unsigned i = 0; i < sizeof(kmem_events) / sizeof(kmem_events[0]); i++) {
		snprintf(p, sizeof(p), "%s/events/kmem/%s/enable", inst, kmem_events[i]);
		write_str(p, "1");
	}
	snprintf(p, sizeof(p), "%s/trace_marker", inst);
	write_str(p, "ZPA_TEST_MARK dat");
	for (int r = 0; r < 4; r++) {
		char *mem = malloc(8 << 20);
		memset(mem, r, 8 << 20);
		free(mem);
	}
	run("ls -R /usr/share > /dev/null 2>&1");
	for (unsigned i = 0; i < sizeof(kmem_events) / sizeof(kmem_events[0]); i++) {
		snprintf(p, sizeof(p), "%s/events/kmem/%s/enable", inst, kmem_events[i]);
		write_str(p, "0");
	}
	snprintf(dat, sizeof(dat), "%s/live.dat", tmpdir);
	snprintf(txt, sizeof(txt), "%s/live.txt", tmpdir);
	int rc = run("trace-cmd extract -B zpa-test-%d -o '%s' >/dev/null 2>&1", (int)getpid(), dat);
	rmdir(inst); /* trace-cmd removes it itself; make sure */
	assert_int_equal(rc, 0);
	assert_int_equal(run("trace-cmd report '%s' > '%s' 2>/dev/null", dat, txt), 0);

	/* The binary records and trace-cmd's own text of them read to the same events. */
	struct rp_trace d, x;
	char err[RP_ERRLEN];
	rc = rp_trace_load(dat, NULL, &d, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	rc = rp_trace_load(txt, NULL, &x, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(d.format, "trace-cmd trace.dat");
	assert_int_equal(x.malformed, 0);
	assert_int_equal(d.malformed, 0);
	assert_true(d.count[RP_EV_ALLOC] > 20);
	assert_int_equal(d.n, x.n);
	for (int k = 0; k < RP_NR_EVENT_TYPES; k++)
		assert_int_equal(d.count[k], x.count[k]);
	bool saw_mark = false;
	for (size_t i = 0; i < d.n; i++) {
		const struct rp_event *a = &d.ev[i], *b = &x.ev[i];
		assert_int_equal(a->type, b->type);
		assert_int_equal(a->pfn, b->pfn);
		assert_int_equal(a->order, b->order);
		assert_int_equal(a->cpu, b->cpu);
		assert_true(a->ts - b->ts < 2e-6 && b->ts - a->ts < 2e-6);
		if (a->type == RP_EV_ALLOC) {
			assert_int_equal(a->gfp, b->gfp);
			assert_int_equal(a->mt, b->mt);
		}
		if (a->type == RP_EV_MARK) {
			assert_string_equal(d.marks[a->gfp], x.marks[b->gfp]);
			saw_mark |= strcmp(d.marks[a->gfp], "ZPA_TEST_MARK dat") == 0;
		}
	}
	assert_true(saw_mark);

	/* zstd-compressed, it reads the same. */
	if (have_tool("zstd")) {
		struct rp_trace z;
		assert_int_equal(run("zstd -q -c '%s' > '%s.zst'", dat, dat), 0);
		snprintf(p, sizeof(p), "%s.zst", dat);
		rc = rp_trace_load(p, NULL, &z, err, sizeof(err));
		if (rc)
			fail_msg("%s", err);
		assert_string_equal(z.compression, "zstd");
		assert_int_equal(z.n, d.n);
		assert_memory_equal(z.ev, d.ev, d.n * sizeof(*d.ev));
		rp_trace_free(&z);
	}
	/* Truncated: a clear error, no crash. */
	snprintf(p, sizeof(p), "%s/half.dat", tmpdir);
	assert_int_equal(run("head -c $(( $(wc -c < '%s') / 2 )) '%s' > '%s'", dat, dat, p), 0);
	struct rp_trace h;
	rc = rp_trace_load(p, NULL, &h, err, sizeof(err));
	assert_true(rc == ZPA_ECORRUPT || rc == ZPA_EPARSE);
	assert_non_null(strstr(err, "trace.dat"));
	rp_trace_free(&d);
	rp_trace_free(&x);
}

/* Real `perf script` output of the kmem events: every line parses, each event type counted right. */
static void test_perf_live(void **state)
{
	char data[512], txt[512], why[256], err[RP_ERRLEN];
	(void)state;
	if (!have_tool("perf")) {
		print_message("skipped: perf is not installed\n");
		skip();
	}
	if (!find_tracefs(why, sizeof(why))) {
		print_message("skipped: %s\n", why);
		skip();
	}
	snprintf(data, sizeof(data), "%s/perf.data", tmpdir);
	snprintf(txt, sizeof(txt), "%s/perf.txt", tmpdir);
	if (run("perf record -q -o '%s' -a -e kmem:mm_page_alloc -e kmem:mm_page_free -e kmem:mm_page_free_batched "
		"-e kmem:mm_page_pcpu_drain -e kmem:mm_page_alloc_zone_locked -- sh -c 'ls -R /usr/share > /dev/null' "
		">/dev/null 2>&1",
		data) != 0) {
		print_message("skipped: perf record is not permitted here (perf_event_paranoid, or not root)\n");
		skip();
	}
	assert_int_equal(run("perf script -i '%s' > '%s' 2>/dev/null", data, txt), 0);
	struct rp_trace t;
	int rc = rp_trace_load(txt, NULL, &t, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(t.format, "perf script");
	assert_int_equal(t.malformed, 0);
	assert_true(t.count[RP_EV_ALLOC] > 20);
	/* independent count: lines naming kmem:mm_page_alloc: */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "grep -c ' kmem:mm_page_alloc: ' '%s'", txt);
	FILE *f = popen(cmd, "r");
	unsigned long long n = 0;
	assert_int_equal(fscanf(f, "%llu", &n), 1);
	pclose(f);
	assert_int_equal(t.count[RP_EV_ALLOC], n);
	print_message("perf script: %zu events (%llu allocations)\n", t.n, n);
	rp_trace_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ftrace_trace_file),
		cmocka_unit_test(test_trace_pipe_form),
		cmocka_unit_test(test_perf_script),
		cmocka_unit_test(test_strict_stops),
		cmocka_unit_test(test_compressed_same_events),
		cmocka_unit_test(test_corrupt_and_truncated),
		cmocka_unit_test(test_foreign_input),
		cmocka_unit_test(test_oracle_traces),
		cmocka_unit_test(test_trace_dat),
		cmocka_unit_test(test_perf_live),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
