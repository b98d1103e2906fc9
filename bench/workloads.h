/*
 * workloads.h - the workload bodies of zpa-bench, written once and expanded
 * for each backend (backends.c).
 *
 * Every body takes a const struct bench_ops whose members are the backend's
 * static inline alloc/free functions.  The bodies are always_inline and each
 * backend's run function passes a compile-time constant ops, so the compiler
 * turns every o->alloc(...) into a direct call of that backend's entry point
 * (zpa_alloc_pages, aligned_alloc, ...): no dispatch cost inside the timed
 * loops, the same loop code around every allocator.
 *
 * Operations are counted as one allocation or one free of one block, whatever
 * its order; a failed allocation still counts as an operation (it was
 * attempted) and is added to t->failures.  The loops never touch the blocks'
 * memory.  BENCH_OPAQUE keeps the compiler from proving an alloc/free pair
 * useless and deleting it (GCC removes malloc/free pairs it can see).
 *
 * Timing: bench_loop_begin/end read CLOCK_MONOTONIC around the loop only (W3's
 * fill and final free are separate, untimed phases); in the callgrind child
 * they toggle callgrind's event collection instead, so only the loop's
 * instructions are counted.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_BENCH_WORKLOADS_H
#define ZPA_BENCH_WORKLOADS_H

#include <time.h>

#include "bench.h"

#if ZPA_BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT do { } while (0)
#define RUNNING_ON_VALGRIND 0
#endif

#define BENCH_INLINE static inline __attribute__((always_inline))
#define BENCH_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))
#define bench_unlikely(x) __builtin_expect(!!(x), 0)

typedef uint64_t (*bench_alloc_fn)(struct bthread *t, unsigned order);
typedef void (*bench_free_fn)(struct bthread *t, uint64_t h, unsigned order);
/* Allocate up to n order-0 blocks into out[0..ret); free n of them. */
typedef unsigned long (*bench_bulk_alloc_fn)(struct bthread *t, unsigned long n, uint64_t *out);
typedef void (*bench_bulk_free_fn)(struct bthread *t, const uint64_t *h, unsigned long n);

/* A backend's entry points; bulk_* NULL: the bulk workload loops alloc/free. */
struct bench_ops {
	bench_alloc_fn alloc;
	bench_free_fn free;
	bench_bulk_alloc_fn bulk_alloc;
	bench_bulk_free_fn bulk_free;
};

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

BENCH_INLINE void bench_loop_begin(struct bench_job *j, uint64_t *t0)
{
	*t0 = bench_now_ns();
	if (j->callgrind)
		CALLGRIND_TOGGLE_COLLECT;
}

BENCH_INLINE void bench_loop_end(struct bench_job *j, uint64_t t0, uint64_t ops)
{
	if (j->callgrind)
		CALLGRIND_TOGGLE_COLLECT;
	uint64_t t1 = bench_now_ns();
	j->elapsed_ns = t1 - t0;
	j->ops = ops;
}

/* W1 (and each thread of W4): pairs x { alloc order 0; free it }. */
BENCH_INLINE uint64_t w1_loop(const struct bench_ops *o, struct bthread *t, uint64_t pairs)
{
	uint64_t fail = 0;
	for (uint64_t i = 0; i < pairs; i++) {
		uint64_t h = o->alloc(t, 0);
		BENCH_OPAQUE(h);
		if (bench_unlikely(h == BENCH_NONE)) {
			fail++;
			continue;
		}
		o->free(t, h, 0);
	}
	t->failures += fail;
	return 2 * pairs - fail;
}

/* W2: rounds x { n order-0 allocations; n frees, newest first or in perm order }. */
BENCH_INLINE uint64_t w2_loop(const struct bench_ops *o, struct bthread *t, const struct bench_plan *p,
			      uint64_t *h, bool lifo)
{
	uint64_t ops = 0, fail = 0;
	const uint32_t n = p->w2_n;
	for (uint32_t r = 0; r < p->w2_rounds; r++) {
		for (uint32_t i = 0; i < n; i++) {
			uint64_t x = o->alloc(t, 0);
			BENCH_OPAQUE(x);
			h[i] = x;
		}
		ops += n;
		if (lifo) {
			for (uint32_t i = n; i-- > 0;) {
				if (bench_unlikely(h[i] == BENCH_NONE)) {
					fail++;
					continue;
				}
				o->free(t, h[i], 0);
				ops++;
			}
		} else {
			for (uint32_t i = 0; i < n; i++) {
				uint64_t x = h[p->w2_perm[i]];
				if (bench_unlikely(x == BENCH_NONE)) {
					fail++;
					continue;
				}
				o->free(t, x, 0);
				ops++;
			}
		}
	}
	t->failures += fail;
	return ops;
}

/* W3 fill (untimed): slot i gets a block of order w3_fill_order[i]. */
BENCH_INLINE void w3_fill(const struct bench_ops *o, struct bthread *t, const struct bench_plan *p,
			  struct w3_state *s)
{
	for (uint32_t i = 0; i < p->w3_live; i++) {
		unsigned k = p->w3_fill_order[i];
		uint64_t x = o->alloc(t, k);
		BENCH_OPAQUE(x);
		s->handle[i] = x;
		s->order[i] = (uint8_t)k;
		if (x == BENCH_NONE)
			t->failures++;
	}
}

/* W3 steady state (timed): each step frees a random live slot and refills it. */
BENCH_INLINE uint64_t w3_steps(const struct bench_ops *o, struct bthread *t, const struct bench_plan *p,
			       struct w3_state *s)
{
	uint64_t frees = 0, fail = 0;
	for (uint64_t i = 0; i < p->w3_steps; i++) {
		uint32_t v = p->w3_victim[i];
		uint64_t old = s->handle[v];
		if (old != BENCH_NONE) { /* empty only after a failed allocation */
			o->free(t, old, s->order[v]);
			frees++;
		}
		unsigned k = p->w3_order[i];
		uint64_t x = o->alloc(t, k);
		BENCH_OPAQUE(x);
		s->handle[v] = x;
		s->order[v] = (uint8_t)k;
		fail += x == BENCH_NONE;
	}
	t->failures += fail;
	return p->w3_steps + frees;
}

/* W3 teardown (untimed): free every live block. */
BENCH_INLINE void w3_free_all(const struct bench_ops *o, struct bthread *t, const struct bench_plan *p,
			      struct w3_state *s)
{
	for (uint32_t i = 0; i < p->w3_live; i++) {
		if (s->handle[i] != BENCH_NONE)
			o->free(t, s->handle[i], s->order[i]);
		s->handle[i] = BENCH_NONE;
	}
}

/* Bulk: iters x { BENCH_BULK order-0 pages in one call; free them in one call }. */
BENCH_INLINE uint64_t bulk_loop(const struct bench_ops *o, struct bthread *t, uint64_t iters, uint64_t *arr)
{
	uint64_t ops = 0, fail = 0;
	for (uint64_t it = 0; it < iters; it++) {
		unsigned long got;
		if (o->bulk_alloc) {
			got = o->bulk_alloc(t, BENCH_BULK, arr);
		} else {
			got = 0;
			for (unsigned i = 0; i < BENCH_BULK; i++) {
				uint64_t x = o->alloc(t, 0);
				BENCH_OPAQUE(x);
				if (bench_unlikely(x == BENCH_NONE))
					continue;
				arr[got++] = x;
			}
		}
		if (o->bulk_free) {
			o->bulk_free(t, arr, got);
		} else {
			for (unsigned long i = 0; i < got; i++)
				o->free(t, arr[i], 0);
		}
		fail += BENCH_BULK - got;
		ops += BENCH_BULK + got;
	}
	t->failures += fail;
	return ops;
}

/*
 * Run one phase of one workload for the backend described by o.  PH_WARMUP
 * runs a sixteenth of a repetition, untimed; PH_RUN fills j->elapsed_ns and
 * j->ops.
 */
BENCH_INLINE void bench_run_workload(const struct bench_ops *o, struct bthread *t, struct bench_job *j)
{
	const struct bench_plan *p = j->plan;
	uint64_t t0, ops = 0;

	if (j->phase == PH_SETUP) {
		if (j->workload == W_3)
			w3_fill(o, t, p, j->w3);
		return;
	}
	if (j->phase == PH_TEARDOWN) {
		if (j->workload == W_3)
			w3_free_all(o, t, p, j->w3);
		return;
	}
	if (j->phase == PH_WARMUP) {
		if (j->workload == W_1 || j->workload == W_4)
			w1_loop(o, t, p->w1_pairs / 16 + 1);
		else if (j->workload == W_BULK)
			bulk_loop(o, t, p->bulk_iters / 16 + 1, j->scratch);
		return;
	}

	if (j->start)
		pthread_barrier_wait(j->start);
	bench_loop_begin(j, &t0);
	switch (j->workload) {
	case W_1:
	case W_4:
		ops = w1_loop(o, t, p->w1_pairs);
		break;
	case W_2_LIFO:
		ops = w2_loop(o, t, p, j->scratch, true);
		break;
	case W_2_RAND:
		ops = w2_loop(o, t, p, j->scratch, false);
		break;
	case W_3:
		ops = w3_steps(o, t, p, j->w3);
		break;
	case W_BULK:
		ops = bulk_loop(o, t, p->bulk_iters, j->scratch);
		break;
	case W_NR:
		break;
	}
	bench_loop_end(j, t0, ops);
}

#endif /* ZPA_BENCH_WORKLOADS_H */
