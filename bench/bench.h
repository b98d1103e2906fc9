/*
 * bench.h - shared declarations of zpa-bench, the page-allocator benchmark.
 *
 * zpa-bench runs the same workloads, in one process and one run, against zpa
 * and against what a user would pick instead of a page allocator: glibc's
 * aligned_alloc(4096 << k, 4096 << k), jemalloc, mimalloc and tcmalloc
 * (dlopen()ed side by side, so glibc's malloc stays the process's malloc),
 * plus a per-thread array stack of preallocated pages, the physical limit of
 * any page allocator.  It reports nanoseconds per operation (one allocation
 * or one free of one block) as median, min and max over repetitions, and
 * zpa's ratio to each.
 *
 * Pieces:
 *   main.c      options, the worker threads, the repetition schedule, the
 *               callgrind re-run
 *   backends.c  loading and calling each allocator ("backend"); instantiates
 *               the workload bodies of workloads.h once per backend so every
 *               hot-loop call is a direct call (or, for a dlopen()ed library,
 *               one indirect call, as through a PLT)
 *   workloads.h the workload bodies W1..W4 and bulk, written once
 *   stack.c     the array stack, out of line like a library call
 *   report.c    the text table, the targets check and --json
 *
 * A block handle is a uint64_t: a PFN for zpa and the array stack, an address
 * for the malloc-like allocators; BENCH_NONE is a failed allocation.  Nobody
 * touches the blocks' memory (zpa's machine is unbacked; the general
 * allocators touch only what their own bookkeeping touches).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_BENCH_H
#define ZPA_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zpa.h"

#define BENCH_NONE      UINT64_MAX
#define BENCH_PAGE_SIZE 4096ul
#define BENCH_MAX_ORDER 11      /* orders 0..10, as Linux's MAX_ORDER 11 */
#define BENCH_BULK      128     /* pages per bulk call */
#define BENCH_MAX_REPS  99

/* Allocators, in table order. */
enum bench_backend_id {
	B_ZPA,
	B_STACK,
	B_GLIBC,
	B_JEMALLOC,
	B_MIMALLOC,
	B_TCMALLOC,
	B_NR
};

/* Workloads, in table order.  W2 counts as two (LIFO and random frees). */
enum bench_workload_id {
	W_1,        /* order-0 alloc then free, repeated */
	W_2_LIFO,   /* n order-0 allocations, then n frees newest first */
	W_2_RAND,   /* n order-0 allocations, then n frees in a random order */
	W_3,        /* kernel-like order mix at 50% occupancy, random frees */
	W_4,        /* W1 on two threads at once (ns/op of the slower thread) */
	W_BULK,     /* 128 order-0 pages allocated, then freed, in one call each */
	W_NR
};

/*
 * The array stack of one thread: for each order a preallocated array of
 * block PFNs, popped by alloc and pushed by free (stack.c).
 */
struct bench_stack {
	uint64_t *slot;
	size_t top;     /* entries [0, top) are free blocks */
	size_t cap;
};

/*
 * One thread running workloads: a worker of main.c (or the main thread in
 * the callgrind child).  Counters are summed by the workload bodies and
 * reset by whoever reads them.
 */
struct bthread {
	int id;                          /* 0 or 1 */
	int cpu;                         /* CPU it is pinned to, -1 if not pinned */
	struct bench_stack stack[BENCH_MAX_ORDER];
	uint64_t failures;               /* allocations that returned nothing */
	uint64_t errors;                 /* frees that reported an error (zpa) */
};

/*
 * The precomputed inputs of W2 and W3, shared read-only by every backend so
 * that each faces exactly the same sequence (fixed seeds).
 */
struct bench_plan {
	/* W1, W4: alloc/free pairs per repetition (per thread for W4). */
	uint64_t w1_pairs;
	/* W2: batch of n allocations, repeated rounds times per repetition. */
	uint32_t w2_n;
	uint32_t w2_rounds;
	uint32_t *w2_perm;               /* a random permutation of [0, w2_n) */
	/* W3: fill with w3_live blocks of orders w3_fill_order[], then steps. */
	uint64_t w3_target_pages;        /* 50% of zpa's managed pages */
	uint32_t w3_live;                /* blocks live after the fill */
	uint8_t *w3_fill_order;          /* [w3_live] */
	uint64_t w3_steps;               /* free+alloc steps per repetition */
	uint32_t *w3_victim;             /* [w3_steps] slot freed then refilled */
	uint8_t *w3_order;               /* [w3_steps] order of the new block */
	/* Bulk: calls of BENCH_BULK pages per repetition. */
	uint64_t bulk_iters;
};

/* What a backend is asked to do on one thread (a "job"). */
enum bench_phase {
	PH_RUN,          /* one timed repetition of the workload */
	PH_SETUP,        /* untimed: W3 fill */
	PH_TEARDOWN,     /* untimed: W3 free everything */
	PH_WARMUP,       /* untimed short run */
};

/* W3's live set of one backend, kept across its repetitions. */
struct w3_state {
	uint64_t *handle;   /* [w3_live], BENCH_NONE when the slot is empty */
	uint8_t *order;     /* [w3_live] */
};

struct bench_job {
	enum bench_workload_id workload;
	enum bench_phase phase;
	const struct bench_plan *plan;
	struct w3_state *w3;             /* W3 only */
	uint64_t *scratch;               /* W2: [w2_n] handles; bulk: [BENCH_BULK] */
	pthread_barrier_t *start;        /* W4: both threads start together */
	bool callgrind;                  /* count instructions of the loop (callgrind child) */
	/* Results. */
	uint64_t elapsed_ns;
	uint64_t ops;                    /* allocations + frees timed */
};

/* A backend: how to reach one allocator. */
struct bench_backend {
	const char *name;                /* "zpa", "array-stack", "glibc", ... */
	const char *api;                 /* the calls it makes, for the report */
	bool available;
	char where[256];                 /* library path, or why it is unavailable */
	char version[64];
	char note[160];                  /* e.g. a missing zpa entry point */
	void (*run)(struct bthread *t, struct bench_job *j);
};

extern struct bench_backend bench_backends[B_NR];
extern const char *const bench_workload_names[W_NR];

/* backends.c */
struct bench_zpa_setup {
	uint64_t bytes;                  /* size of the one node */
	unsigned nr_cpus;
};
/* Create zpa's machine and load every backend (unavailable ones say why). */
int bench_backends_init(const struct bench_zpa_setup *zs, char *err, size_t errlen);
void bench_backends_fini(void);
struct zpa_machine *bench_zpa_machine(void);
/* Return pages on zpa's per-CPU/per-thread lists to the buddy lists (if the library can). */
void bench_zpa_drain(void);
/* True when libzpa has the bulk entry points (else bulk loops single calls). */
bool bench_zpa_has_bulk(void);

/* stack.c: out of line on purpose, like a call into a library. */
uint64_t bench_stack_alloc(struct bthread *t, unsigned order);
void bench_stack_free(struct bthread *t, uint64_t h, unsigned order);
unsigned long bench_stack_alloc_bulk(struct bthread *t, unsigned long n, uint64_t *out);
void bench_stack_free_bulk(struct bthread *t, const uint64_t *h, unsigned long n);
/* Give thread t cap[k] preallocated blocks of each order k; 0 or -1 (no memory). */
int bench_stack_init(struct bthread *t, const size_t cap[BENCH_MAX_ORDER]);
void bench_stack_fini(struct bthread *t);

/* report.c */
#define BENCH_NO_VALUE (-1.0)
struct bench_cell {
	bool done;
	unsigned nr;                     /* repetitions measured */
	double ns[BENCH_MAX_REPS];       /* ns/op of each repetition */
	double median, min, max;
	uint64_t ops;                    /* ops of one repetition */
	uint64_t failures;               /* over all repetitions */
	uint64_t errors;
};
struct bench_results {
	struct bench_cell cell[B_NR][W_NR];
	double instr_per_op[B_NR];       /* W1 under callgrind; BENCH_NO_VALUE if not measured */
	char callgrind_note[256];        /* why instructions are missing, if they are */
	unsigned reps;
	double scale;
	double wall_s;
	char machine[256];               /* CPU model, CPUs, kernel */
	char zpa_machine[256];           /* zpa's machine config */
	bool selected[W_NR];
	bool backend_selected[B_NR];
};
void bench_cell_finish(struct bench_cell *c);
void bench_print_table(const struct bench_results *r);
int bench_write_json(const struct bench_results *r, const char *path);

#endif /* ZPA_BENCH_H */
