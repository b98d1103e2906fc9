/*
 * cli.h - declarations shared by the files of the `zpa` program.
 *
 * The program is a thin layer over the public API (zpa.h): main.c picks a
 * subcommand, each cmd_*.c parses its own options and drives the library,
 * machine.c turns the machine options every command accepts into a
 * struct zpa_machine_config and a created machine, workload.c generates the
 * default kernel-like workload and report.c prints what it did.
 *
 * Conventions every subcommand follows:
 *   - exit status 0 on success, CLI_EXIT_USAGE (2) for a bad command line
 *     (message on stderr), CLI_EXIT_ERROR (1) when the library refuses
 *     something (zpa_strerror() and the library's message on stderr);
 *   - stdout carries only the requested output, diagnostics go to stderr.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_CLI_H
#define ZPA_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zpa.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

#define CLI_MAX_SETS 64

/* ----- options.c: small parsing helpers ----- */

/*
 * One command-line argument split into an option name and value.  "--name"
 * and "--name=value" are both accepted; for an option that takes a value and
 * was written without '=', the value is the next argument.
 */
struct cli_args {
	int argc;
	char **argv;
	int i;              /* index of the next argument to read */
};

/*
 * If argv[i] is the long option `name` (with or without "=value"), consume it
 * and return true.  When takes_value, *value receives the value (the text
 * after '=' or the next argument); a missing value is a usage error reported
 * on stderr through *bad = true.  Without takes_value, "--name=x" is a usage
 * error too.
 */
bool cli_take_option(struct cli_args *a, const char *name, bool takes_value,
		     const char **value, bool *bad);

/* Print "zpa: <cmd>: <message>" and a hint to use --help on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "zpa: <message>" on stderr; returns CLI_EXIT_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a size in bytes: a decimal number with an optional K, M, G or T
 * suffix (powers of 1024, optionally followed by "iB" or "B").  Returns false
 * on anything else, including overflow.
 */
bool cli_parse_size(const char *text, uint64_t *out);

/* Parse a non-negative decimal (or 0x hex) integer no larger than max. */
bool cli_parse_u64(const char *text, uint64_t max, uint64_t *out);

/* Format a byte count for people: "4 GiB", "640 KiB", "1.50 GiB". */
const char *cli_format_size(uint64_t bytes, char *buf, size_t size);

/* ----- machine.c: the machine every command runs on ----- */

/*
 * The MACHINE part of a command line: one of a snapshot directory, a
 * machine file, or flags describing a simulated PC; plus --set tunables
 * applied after the machine is created.
 */
struct cli_machine_opts {
	const char *snapshot;       /* --snapshot DIR */
	const char *machine_file;   /* --machine FILE */
	/* Layout flags (0 / false: not given). */
	unsigned nodes;             /* --nodes N */
	uint64_t mem;               /* --mem SIZE, per node */
	unsigned cpus;              /* --cpus N */
	uint64_t page_size;         /* --page-size SIZE */
	unsigned max_order;         /* --max-order N */
	bool max_order_set;
	unsigned pageblock_order;   /* --pageblock-order N */
	bool pageblock_order_set;
	const char *movablecore;    /* --movablecore SIZE or PERCENT% */
	bool no_thp;                /* --no-thp */
	const char *layout_flag;    /* the first layout flag seen, for messages */
	/* --set NAME=VALUE, in command-line order. */
	unsigned nr_sets;
	const char *sets[CLI_MAX_SETS];
};

/*
 * If argv[a->i] is a machine option, consume it (and its value) into o and
 * return 1; return 0 if it is not one; return -1 after printing a usage
 * error for a malformed value.
 */
int cli_machine_option(struct cli_args *a, const char *cmd, struct cli_machine_opts *o);

/*
 * Fill cfg from the options: the snapshot, the machine file, the layout
 * flags, or the built-in default machine.  Returns CLI_EXIT_OK, or an exit
 * status after printing why on stderr.
 */
int cli_machine_config(const char *cmd, const struct cli_machine_opts *o,
		       struct zpa_machine_config *cfg);

/*
 * Create the machine described by cfg and apply the --set tunables in
 * order.  Returns CLI_EXIT_OK and *out, or CLI_EXIT_ERROR after printing
 * zpa_strerror() and the failing option on stderr (nothing is left behind).
 */
int cli_machine_create(const struct cli_machine_opts *o, const struct zpa_machine_config *cfg,
		       struct zpa_machine **out);

/* Print a description of the machine: shape, memory ranges, CPUs, zones, tunables. */
void cli_describe_machine(FILE *f, struct zpa_machine *m, const struct zpa_machine_config *cfg);

/*
 * Print one /proc view (zpa_show) to f exactly as the library renders it.
 * Returns 0, or a ZPA_E* code (ZPA_ENOENT for an unknown view).
 */
int cli_print_view(FILE *f, struct zpa_machine *m, const char *view);

/* The help text of the machine options, shared by every command's --help. */
extern const char cli_machine_help[];

/* ----- numa.c: memory policies, numastat and the NUMA report ----- */

/*
 * A memory policy as `--policy` gives it: MODE[=FLAGS][:NODELIST] (the
 * syntax of Linux's tmpfs mpol= option) or MODE[:NODELIST][=FLAGS].  MODE
 * is default, preferred (or prefer), bind, interleave, local or
 * preferred_many; FLAGS is static or relative; NODELIST is a sysfs-style
 * list such as 0-2,5.
 */
struct cli_policy {
	const char *text;          /* as given, for messages and the report */
	int mode;                  /* enum zpa_mpol_mode | ZPA_MPOL_F_* flags */
	bool has_nodes;            /* a NODELIST was given */
	zpa_nodemask_t nodes;
};

/*
 * Parse a --policy value.  Returns true and fills *p, or false with the
 * reason in why.  Only the syntax is checked: whether the machine accepts the
 * policy (nodes with memory, a mask where the mode needs one) is the
 * library's decision.
 */
bool cli_parse_policy(const char *text, struct cli_policy *p, char *why, size_t whylen);

/* Parse a node list ("0-2,5"): sets its nodes in *out (cleared first); false if malformed. */
bool cli_parse_nodelist(const char *text, zpa_nodemask_t *out);

/* The NUMA events in the order of the per-node numastat file. */
#define CLI_NUMA_EVENTS 6
extern const char *const cli_numa_event_names[CLI_NUMA_EVENTS];

/*
 * Read node nid's numastat through zpa_show("node/N/numastat") into
 * ev[] in cli_numa_event_names order.  Returns 0 or a ZPA_E* code.
 */
int cli_read_numastat(struct zpa_machine *m, unsigned nid, uint64_t ev[CLI_NUMA_EVENTS]);

struct wl_result;

/* The summary's NUMA tables: pages by node and zone, and the numastat deltas. */
void cli_print_numa_report(FILE *f, struct zpa_machine *m, const struct wl_result *r);

/* The same as JSON members (each line ends with ",\n"). */
void cli_write_numa_json(FILE *f, struct zpa_machine *m, const struct wl_result *r);

/* ----- workload.c: the default kernel-like workload ----- */

/* One kind of request the workload makes (a row of the summary table). */
struct wl_class {
	const char *name;       /* what in a kernel makes such requests */
	zpa_gfp_t gfp;
	unsigned min_order, max_order;
	unsigned weight;        /* share of allocation requests, per mille */
	bool lru;               /* pages go on the LRU as page cache: reclaim may evict them */
};

#define WL_NR_CLASSES 7
extern const struct wl_class wl_classes[WL_NR_CLASSES];

struct wl_class_stats {
	uint64_t requests, failures;
	uint64_t pages;          /* pages handed out (successful requests) */
	uint64_t frees;          /* blocks of this class freed again */
	uint64_t live;           /* blocks still held at the end */
	uint64_t reclaimed;      /* blocks reclaim evicted (LRU classes) */
	uint64_t migrated;       /* blocks compaction moved (LRU classes) */
	uint64_t node_pages[ZPA_MAX_NODES]; /* pages handed out per node */
};

struct wl_order_stats {
	uint64_t requests, failures;
};

struct wl_params {
	uint64_t seed;
	uint64_t ops;            /* 0: scale to the machine (see workload.c) */
	int cpu;                 /* -1: one task per CPU; else one task pinned to this CPU */
	const struct cli_policy *policy; /* NULL: zpa__alloc_pages on the task's node */
};

struct wl_result {
	uint64_t seed;
	int cpu;                 /* wl_params.cpu */
	const char *policy;      /* the --policy text, NULL without one */
	uint64_t ops;            /* operations performed: allocations + frees */
	uint64_t allocs, frees;
	uint64_t failures;       /* allocation requests that returned no page */
	uint64_t free_errors;    /* zpa_free_pages() refusals: always a bug */
	int first_free_error;    /* ZPA_E* of the first refusal */
	uint64_t managed;        /* managed pages of the machine */
	uint64_t target_pages;   /* occupancy the workload aims at in its fill phase */
	uint64_t peak_target_pages; /* occupancy it aims at, at the height of the churn */
	uint64_t in_use;         /* pages the workload still holds at the end */
	uint64_t peak_in_use;
	uint64_t live_blocks;    /* blocks still held at the end */
	struct wl_class_stats cls[WL_NR_CLASSES];
	struct wl_order_stats order[ZPA_MAX_ORDER_LIMIT];
	/* pages handed out per node and zone type */
	uint64_t zone_pages[ZPA_MAX_NODES][ZPA_NR_ZONE_TYPES];
	/* each node's numastat before and after the run (cli_read_numastat) */
	uint64_t numa_before[ZPA_MAX_NODES][CLI_NUMA_EVENTS];
	uint64_t numa_after[ZPA_MAX_NODES][CLI_NUMA_EVENTS];
};

/*
 * Run the default workload on m: deterministic for a given seed, ops and
 * machine.  Blocks still held at the end stay allocated (the machine keeps
 * them).  Returns 0, ZPA_ENOMEM if the CLI itself ran out of memory, or
 * zpa_set_mempolicy()'s error when p->policy is refused.
 */
int wl_run(struct zpa_machine *m, const struct wl_params *p, struct wl_result *r);

/* The number of operations wl_run() performs on m when p->ops is 0. */
uint64_t wl_default_ops(struct zpa_machine *m);

/* The peak occupancy of the churn phase on m, as a fraction of managed pages. */
double wl_peak_fraction(struct zpa_machine *m);

/* ----- report.c: the workload summary ----- */

/*
 * Print the summary of a run: allocations by GFP class and by order,
 * failures, pages in use and the zpa_check() line.  check_rc and
 * check_report are zpa_check()'s result.
 */
void cli_print_summary(FILE *f, struct zpa_machine *m, const struct wl_result *r,
		       int check_rc, const char *check_report, double seconds);

/* Write the same summary as JSON.  Returns 0 or -1 (errno set) on a write error. */
int cli_write_json(FILE *f, struct zpa_machine *m, const struct wl_result *r,
		   int check_rc, const char *check_report);

/* Print a section heading: a blank line, "=== title ===" and a blank line. */
void cli_heading(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ----- subcommands (cmd_*.c) and help (cmd_help.c) ----- */

int cmd_info(int argc, char **argv);     /* argv[0] is "info" */
int cmd_run(int argc, char **argv);      /* argv[0] is "run" */
int cmd_default(void);                   /* `zpa` without arguments */
int cmd_help(int argc, char **argv);     /* argv[0] is "help" */

/* Print the help of one command ("info", "run", "help") or the overview (NULL). */
int cli_print_help(FILE *f, const char *cmd);

#endif /* ZPA_CLI_H */
