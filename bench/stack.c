/*
 * stack.c - the array stack: the physical limit of a page allocator.
 *
 * Each thread owns, for every order, an array of preallocated block PFNs and
 * a top index.  Allocation pops (slot[--top]), free pushes (slot[top++]):
 * no lock, no metadata, no search - one load and one store.  Nothing a page
 * allocator does can be cheaper, so zpa's ratio to it says how much of zpa's
 * cost is bookkeeping.
 *
 * The functions live in their own file and are marked noinline so that,
 * like zpa's and every other allocator's entry points, each operation is a
 * real call (no link-time optimisation is used).  Invariant: 0 <= top <= cap
 * for every order; popping an empty stack is a failed allocation, pushing a
 * full one drops the block (cannot happen: caps are sized for the workloads).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define NOINLINE __attribute__((noinline))

NOINLINE uint64_t bench_stack_alloc(struct bthread *t, unsigned order)
{
	struct bench_stack *s = &t->stack[order];
	if (__builtin_expect(s->top == 0, 0))
		return BENCH_NONE;
	return s->slot[--s->top];
}

NOINLINE void bench_stack_free(struct bthread *t, uint64_t h, unsigned order)
{
	struct bench_stack *s = &t->stack[order];
	if (__builtin_expect(s->top < s->cap, 1))
		s->slot[s->top++] = h;
}

/* Pop up to n order-0 blocks into out[]; returns how many. */
NOINLINE unsigned long bench_stack_alloc_bulk(struct bthread *t, unsigned long n, uint64_t *out)
{
	struct bench_stack *s = &t->stack[0];
	if (n > s->top)
		n = s->top;
	s->top -= n;
	memcpy(out, s->slot + s->top, n * sizeof(*out));
	return n;
}

/* Push n order-0 blocks (as many as fit). */
NOINLINE void bench_stack_free_bulk(struct bthread *t, const uint64_t *h, unsigned long n)
{
	struct bench_stack *s = &t->stack[0];
	if (n > s->cap - s->top)
		n = s->cap - s->top;
	memcpy(s->slot + s->top, h, n * sizeof(*h));
	s->top += n;
}

/*
 * Fill each order's stack with cap[k] distinct, 2^k-aligned PFNs (every
 * order in its own PFN range), full: every block is free.
 */
int bench_stack_init(struct bthread *t, const size_t cap[BENCH_MAX_ORDER])
{
	uint64_t base = 1ull << 20; /* anything but 0; ranges never overlap */
	for (unsigned k = 0; k < BENCH_MAX_ORDER; k++) {
		struct bench_stack *s = &t->stack[k];
		s->cap = cap[k] ? cap[k] : 1;
		s->slot = malloc(s->cap * sizeof(*s->slot));
		if (!s->slot) {
			bench_stack_fini(t);
			return -1;
		}
		/* Pushed in reverse, so the first pops give ascending PFNs. */
		for (size_t i = 0; i < s->cap; i++)
			s->slot[i] = base + ((uint64_t)(s->cap - 1 - i) << k);
		s->top = s->cap;
		base += (uint64_t)s->cap << k;
	}
	return 0;
}

void bench_stack_fini(struct bthread *t)
{
	for (unsigned k = 0; k < BENCH_MAX_ORDER; k++) {
		free(t->stack[k].slot);
		t->stack[k] = (struct bench_stack){ 0 };
	}
}
