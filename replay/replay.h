/*
 * replay.h - zpa_replay: read kernel page-allocator traces, rebuild the
 * machine and its state at the trace's start, replay every allocation and
 * free through zpa, and report how zpa's decisions compare with the
 * kernel's.  The `zpa replay` and `zpa record` commands are thin layers over
 * this library; docs/REPLAY.md is the user's guide.
 *
 * The pieces, one file each:
 *   input.c        open a file, sniff zstd/xz/gzip/plain, hand out lines
 *   trace.c        struct rp_trace: the parsed events, marks and diagnostics
 *   trace_text.c   ftrace text (trace and trace_pipe) and `perf script` text
 *   trace_dat.c    trace-cmd's trace.dat through libtracecmd (when built with it)
 *   snapstate.c    the snapshot's zoneinfo/pagetypeinfo/buddyinfo numbers
 *   startstate.c   the machine's starting state from those numbers and the trace
 *   pfnmap.c       the trace-pfn -> zpa-pfn hash map
 *   engine.c       the replay itself, placement agreement, the time series
 *   report.c       text, JSON and CSV reports
 *   record.c       `zpa record` through libtracefs (when built with it)
 *   synth.c        synthetic workloads from a workload file
 *
 * Nothing here keeps global state; every error comes back as a negative
 * ZPA_E* code with a message in a caller's buffer.  Messages never go to
 * stdout; the library does not print at all (the CLI does).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_REPLAY_H
#define ZPA_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RP_ERRLEN 512
#define RP_NO_PFN ((uint64_t)-1)

/* ------------------------------------------------------------ events */

enum rp_event_type {
	RP_EV_ALLOC,          /* kmem:mm_page_alloc (pfn RP_NO_PFN: the kernel failed) */
	RP_EV_FREE,           /* kmem:mm_page_free */
	RP_EV_FREE_BATCHED,   /* kmem:mm_page_free_batched (counted, not replayed) */
	RP_EV_EXTFRAG,        /* kmem:mm_page_alloc_extfrag */
	RP_EV_PCPU_DRAIN,     /* kmem:mm_page_pcpu_drain */
	RP_EV_ZONE_LOCKED,    /* kmem:mm_page_alloc_zone_locked */
	RP_EV_MARK,           /* tracing_mark_write / ftrace print: a phase marker */
	RP_NR_EVENT_TYPES
};
extern const char *const rp_event_names[RP_NR_EVENT_TYPES];

/*
 * One event, 32 bytes.  Field use by type:
 *   ALLOC        pfn, order, mt (the request's migratetype), gfp
 *   FREE         pfn, order
 *   FREE_BATCHED pfn
 *   EXTFRAG      pfn, order (alloc_order), mt (alloc_migratetype),
 *                aux (fallback_order), aux2 (fallback_migratetype in bits
 *                0-3, fragmenting bit 4, change_ownership bit 5)
 *   PCPU_DRAIN   pfn, order, mt
 *   ZONE_LOCKED  pfn, order, mt, aux (percpu_refill)
 *   MARK         gfp holds the index of the text in rp_trace.marks
 */
struct rp_event {
	uint64_t pfn;
	double ts;            /* seconds, as the trace prints them */
	uint32_t gfp;
	uint32_t line;        /* source line (record number for trace.dat), 1-based */
	uint16_t cpu;
	uint8_t type;         /* enum rp_event_type */
	uint8_t order;
	int8_t mt;
	uint8_t aux, aux2;
	uint8_t pad;
};

/* A malformed line: where and why. */
struct rp_bad_line {
	uint64_t line;
	char reason[96];
};
#define RP_BAD_KEPT 32     /* malformed lines remembered (all are counted) */

struct rp_trace {
	struct rp_event *ev;
	size_t n, cap;
	char **marks;         /* mark texts, owned */
	unsigned nr_marks, cap_marks;

	char path[1024];
	char format[32];      /* "ftrace text", "perf script", "trace-cmd trace.dat" */
	char compression[8];  /* "zstd", "xz", "gzip", "none" */
	uint64_t lines;       /* lines (records) read */
	uint64_t bytes;       /* bytes after decompression */
	uint64_t comments;    /* header and comment lines */
	uint64_t other_events;/* well-formed lines of events replay does not use */
	uint64_t malformed;
	uint64_t lost_events; /* "[LOST n EVENTS]" notices: the ring buffer overflowed */
	unsigned nr_bad;
	struct rp_bad_line bad[RP_BAD_KEPT];
	uint64_t count[RP_NR_EVENT_TYPES];
	unsigned max_cpu;
	double first_ts, last_ts;
	bool unsorted;        /* timestamps went backwards somewhere (kept in file order) */
	double seconds;       /* time taken to read it */
	bool synthetic;       /* made by rp_workload_generate(): no kernel placement to compare */
};

struct rp_load_opts {
	bool strict;          /* stop at the first malformed line (ZPA_EPARSE) */
	/* Called now and then while reading: bytes read of the (compressed) file and its size. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/*
 * Read a trace: ftrace text (the `trace` file with its headers, or
 * `trace_pipe` output), `perf script` text, or trace-cmd's trace.dat, each
 * plain or compressed with zstd, xz or gzip (sniffed from the first bytes,
 * not the name).  Lines that are not trace lines, and events of interest
 * whose fields do not parse, are counted in t->malformed with the first
 * RP_BAD_KEPT kept with their line numbers; reading goes on unless
 * o->strict.  Returns 0; ZPA_EIO (cannot open or read; the message names
 * the file), ZPA_ECORRUPT (corrupt or truncated compressed data: the message
 * says which and after how many lines), ZPA_EPARSE (strict mode and a
 * malformed line, or input that is not a trace at all: no trace line among
 * the first lines, binary data), ZPA_ENOMEM.  On error t is left empty.
 */
int rp_trace_load(const char *path, const struct rp_load_opts *o, struct rp_trace *t, char *err, size_t errlen);
void rp_trace_free(struct rp_trace *t);

/* Whether this build reads trace-cmd's trace.dat (libtracecmd was found at build time). */
bool rp_have_tracecmd(void);

/* ------------------------------------------------------------ synthetic workloads */

#define RP_SYN_MAX_CLASSES 32
#define RP_SYN_MAX_CPUS 256

/* One line "class" or "burst" of a workload file (synth.c, docs/REPLAY.md). */
struct rp_syn_class {
	char name[32];
	bool burst;
	zpa_gfp_t gfp;
	unsigned min_order, max_order;
	uint64_t weight;             /* class: share of the requests */
	uint64_t every, size;        /* burst: every N ticks, K requests */
	double life;                 /* mean lifetime in ticks (exponential) */
	bool has_seed, has_cpus;
	uint64_t seed;
	uint64_t cpus[RP_SYN_MAX_CPUS / 64];
};

struct rp_workload {
	char path[1024];
	uint64_t seed;
	uint64_t ops;                /* allocation requests */
	bool has_cpus, has_irq_cpus;
	uint64_t cpus[RP_SYN_MAX_CPUS / 64], irq_cpus[RP_SYN_MAX_CPUS / 64];
	unsigned nr_classes;
	struct rp_syn_class classes[RP_SYN_MAX_CLASSES];
};

/* Read a workload file.  Returns 0, ZPA_EIO or ZPA_EPARSE with "file:line: reason". */
int rp_workload_read(const char *path, struct rp_workload *w, char *err, size_t errlen);

/*
 * Make the workload's events for a machine of nr_cpus CPUs: t becomes a
 * synthetic trace (t->synthetic) the engine replays like a recorded one.
 * Deterministic.  Returns 0 or ZPA_ENOMEM.
 */
int rp_workload_generate(const struct rp_workload *w, unsigned nr_cpus, struct rp_trace *t, char *err, size_t errlen);

/* Write a trace as ftrace text (trace_pipe lines under a header); rp_trace_load() reads it back. */
int rp_trace_write_text(FILE *f, const struct rp_trace *t);

/* ------------------------------------------------------------ snapshot */

#define RP_MAX_ZONES 64

/* One zone's state as the snapshot printed it. */
struct rp_snap_zone {
	int nid, zone_type;
	uint64_t start_pfn, spanned, present, managed, free_pages;
	bool has_free_types;  /* a pagetypeinfo "Free pages count" row set was found */
	uint64_t free[ZPA_MAX_ORDER_LIMIT][ZPA_MIGRATE_TYPES]; /* free blocks per order and type */
	bool has_buddy;
	uint64_t buddy[ZPA_MAX_ORDER_LIMIT];                   /* buddyinfo: free blocks per order */
	bool has_blocks;
	uint64_t blocks[ZPA_MIGRATE_TYPES];                    /* pageblocks per type */
	unsigned nr_pcp;
	int pcp_cpu[ZPA_MAX_CPUS];                             /* zoneinfo pagesets: cpu and count */
	int pcp_count[ZPA_MAX_CPUS];
};

struct rp_snapshot {
	char dump[1024];      /* the dump directory the numbers come from */
	unsigned nr_orders;   /* columns of buddyinfo/pagetypeinfo */
	unsigned nr_zones;
	struct rp_snap_zone zones[RP_MAX_ZONES];
};

/*
 * Find the dump directory of DIR that describes the state when a trace
 * began: DIR/before-workload (the oracle's traced configurations), DIR/before
 * (capture-host-trace.sh), else DIR itself when it is a dump (zpa record
 * writes its start snapshot there), else DIR/recomputed or DIR/boot.
 * Writes it to out; returns 0 or ZPA_ENOENT.
 */
int rp_snapshot_dump_dir(const char *dir, char *out, size_t outlen);

/*
 * Read a dump directory's zoneinfo, buddyinfo and pagetypeinfo (under proc/
 * or directly in it).  zoneinfo is required; the other two are optional.
 * Returns 0, ZPA_EIO or ZPA_EPARSE with "file:line: reason" in err.
 */
int rp_snapshot_read(const char *dump, struct rp_snapshot *s, char *err, size_t errlen);

/* ------------------------------------------------------------ replay */

#define RP_MAX_SETS 32

struct rp_config {
	const char *snapshot;       /* snapshot directory (or NULL with machine_file) */
	const char *machine_file;   /* a machine file instead (no starting state); neither: the default machine */
	unsigned nr_sets;
	const char *sets[RP_MAX_SETS]; /* NAME=VALUE tunables applied after creation */
	const char *label;          /* name in reports ("A", "B", or the --set list) */
};

struct rp_options {
	bool no_start_state;        /* start from the freshly booted machine */
	unsigned samples;           /* time-series samples (default 200) */
	bool keep_map;              /* record pageblock maps at start and end (for the plots) */
	/* Called every few thousand events: events done, events total. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/* How closely the starting state matches the snapshot, per zone. */
struct rp_start_zone {
	int nid, zone_type;
	uint64_t target_free_pages, zpa_free_pages;
	uint64_t l1_blocks;         /* sum over order and type of |zpa - snapshot| free blocks */
	uint64_t l1_pages;          /* the same weighted by 2^order: pages on the wrong list */
	uint64_t l1_pageblocks;     /* sum over types of |zpa - snapshot| pageblocks */
	uint64_t pcp_target, pcp_placed;
	uint64_t pretrace_blocks, pretrace_unplaced;
};

struct rp_start_state {
	bool built;                 /* false: the machine's boot state was used */
	char why_not[128];
	unsigned nr_zones;
	struct rp_start_zone zones[RP_MAX_ZONES];
	uint64_t target_free_pages, zpa_free_pages, l1_pages, l1_blocks, l1_pageblocks;
	double seconds;
};

/* One point of the time series: every zone's free blocks and indexes. */
struct rp_series {
	unsigned nr_zones, nr_orders, nr_samples, cap;
	int zone_nid[RP_MAX_ZONES], zone_type[RP_MAX_ZONES];
	uint64_t *event;            /* [sample]: events replayed so far */
	double *ts;                 /* [sample]: trace time */
	uint64_t *extfrag;          /* [sample]: zpa's extfrag events so far */
	uint64_t *extfrag_trace;    /* [sample]: the trace's */
	uint64_t *nr_free;          /* [sample][zone][order]: free blocks */
	int *unusable;              /* [sample][zone][order]: unusable free index, thousandths */
	int *fragidx;               /* [sample][zone][order]: fragmentation index, thousandths */
	uint64_t *free_pages;       /* [sample][zone] */
};

/* Pageblock migratetypes of every zone (a byte per pageblock; 255 outside memory). */
struct rp_pbmap {
	unsigned nr_zones;
	int zone_nid[RP_MAX_ZONES], zone_type[RP_MAX_ZONES];
	uint64_t zone_start[RP_MAX_ZONES]; /* pfn of the first pageblock */
	uint64_t zone_blocks[RP_MAX_ZONES];
	uint8_t *types[RP_MAX_ZONES];
	unsigned pageblock_order;
};

#define RP_FAIL_KEPT 16

/* What a replay found.  Counts are of events; pages where said. */
struct rp_result {
	char label[256];
	uint64_t events;            /* events of the trace */
	uint64_t allocs;            /* mm_page_alloc events */
	uint64_t frees;             /* mm_page_free events */
	uint64_t frees_batched;     /* mm_page_free_batched events (not replayed) */
	uint64_t kernel_failures;   /* allocations the kernel failed */
	uint64_t zpa_failures;      /* allocations zpa failed */
	uint64_t zpa_only_failures; /* ... that the kernel served */
	uint64_t zpa_only_successes;/* the kernel failed, zpa served (freed at once) */
	uint64_t frees_pretrace;    /* frees of pages allocated before the trace began */
	uint64_t frees_unmatched;   /* frees of pages neither the trace nor the start state allocated */
	uint64_t frees_of_failed;   /* frees of pages zpa could not allocate */
	uint64_t frees_split;       /* frees of part of a block: the block was split first */
	uint64_t frees_refused;     /* frees zpa refused (bad order and the like) */
	uint64_t realloc_live;      /* the kernel handed out a pfn zpa still held: freed implicitly */
	uint64_t pfn_outside;       /* trace pfns outside the machine's zones */
	uint64_t cpu_folded;        /* events on CPUs the machine lacks (folded modulo) */
	uint64_t placed;            /* allocations both served, trace pfn inside a zone */
	uint64_t same_node, same_zone;
	double node_agreement, zone_agreement; /* same_node / placed, same_zone / placed */
	uint64_t extfrag_zpa, extfrag_trace;
	uint64_t pcpu_drain_trace, zone_locked_trace;
	uint64_t order_allocs[ZPA_MAX_ORDER_LIMIT], order_zpa_only_failures[ZPA_MAX_ORDER_LIMIT];
	/* pages placed per node and zone: by the kernel and by zpa (successful in both) */
	uint64_t zone_pages_trace[RP_MAX_ZONES], zone_pages_zpa[RP_MAX_ZONES];
	/* each zone's watermarks (min, low, high) once the --set tunables applied */
	uint64_t wmark[RP_MAX_ZONES][3];
	unsigned nr_fail_kept;
	struct { uint64_t line; double ts; unsigned order; uint32_t gfp; int cpu; } fail[RP_FAIL_KEPT];
	struct rp_start_state start;
	struct rp_series series;
	struct rp_pbmap map_start, map_end;
	uint64_t end_free_pages;
	unsigned pageblock_order;
	int check_rc;               /* zpa_check() after the replay */
	char check_report[512];
	uint64_t log_messages;      /* allocator warnings during the replay */
	double seconds;             /* replay alone (not loading, not the start state) */
	double events_per_second;
};

/*
 * Replay trace t on the machine cfg describes.  Deterministic: the same
 * trace, config and options give the same result (bar the timings).
 * Returns 0, or a ZPA_E* code with the reason in err (machine or tunable
 * refused, no memory).  The result must be released with rp_result_free().
 */
int rp_replay(const struct rp_trace *t, const struct rp_config *cfg, const struct rp_options *o,
	      struct rp_result *r, char *err, size_t errlen);
void rp_result_free(struct rp_result *r);

/* The number of CPUs of the machine cfg describes (for rp_workload_generate()).  0 or ZPA_E*. */
int rp_config_cpus(const struct rp_config *cfg, unsigned *nr_cpus, char *err, size_t errlen);

/* ------------------------------------------------------------ reports */

/* The summary in text; b (may be NULL) is the what-if run, shown side by side. */
void rp_print_text(FILE *f, const struct rp_trace *t, const struct rp_result *a, const struct rp_result *b);

/*
 * The result as JSON: the required keys (events, allocs, frees,
 * zpa_only_failures, node_agreement, zone_agreement, extfrag_zpa,
 * extfrag_trace, seconds) at the top level for run a, everything else
 * under "detail", the time series under "series" (and pageblock maps under
 * "pageblocks" when kept), and run b under "vs" when given.  Returns 0 or -1
 * on a write error.
 */
int rp_write_json(FILE *f, const struct rp_trace *t, const struct rp_result *a, const struct rp_result *b);

/* The time series as CSV: one row per sample and zone.  Returns 0 or -1. */
int rp_write_csv(FILE *f, const struct rp_result *r);

/* The report script (tools/zpa-report.py): $ZPA_REPORT, else the source tree's. */
const char *rp_report_script(void);

/* A monotonic clock in seconds (for progress displays). */
double rp_now_seconds(void);

/* ------------------------------------------------------------ record */

struct rp_record_opts {
	const char *out_dir;        /* created; must not exist or be empty */
	double duration;            /* seconds, when no command is given */
	char *const *argv;          /* the command to run (NULL: record for duration) */
	size_t buffer_kb;           /* per-CPU ring buffer size, 0: 65536 */
	const char *tracefs;        /* tracefs mount point, NULL: find it */
};

/* What a recording produced. */
struct rp_record_result {
	int cmd_status;             /* the command's exit status (128 + signal if killed) */
	uint64_t trace_lines;       /* lines of trace_pipe text recorded */
	uint64_t trace_bytes;       /* before compression */
	double seconds;             /* from enabling the events to disabling them */
	bool dmesg;                 /* dmesg.txt written (and accepted by the machine loader) */
};

/*
 * Record the kmem page-allocator events of the running kernel while argv
 * runs (or for duration seconds), with snapshots of zoneinfo, buddyinfo,
 * pagetypeinfo, the vm sysctls, node distances and CPU lists at the start
 * (in out_dir itself, so it is a snapshot directory) and at the end (end/),
 * and the events in out_dir/trace.txt.zst (see record.c).  Returns 0, or
 * ZPA_ENOENT (no tracefs: not mounted, no kmem events, or zpa built
 * without libtracefs), ZPA_EBUSY (not permitted), ZPA_EIO (cannot write,
 * directory not empty), ZPA_EPARSE (the machine loader refuses the
 * result) with the reason in err.  res is filled on success.
 */
int rp_record(const struct rp_record_opts *o, struct rp_record_result *res, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_REPLAY_H */
