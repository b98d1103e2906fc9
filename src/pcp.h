/*
 * pcp.h - the parts of the per-CPU list code that the allocation and free
 * fast paths inline (page_alloc.c): list indexes, the calling thread's
 * pagesets, and the owner side of the thread pageset's local lock.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_PCP_H
#define ZPA_PCP_H

#include "internal.h"

/* List index of an order/migratetype: order-major below the costly order, then the THP lists. */
static inline unsigned order_to_pindex(const struct zpa_machine *m, int mt, unsigned order)
{
	(void)m;
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return NR_LOWORDER_PCP_LISTS + (mt == ZPA_MIGRATE_MOVABLE);
	return ZPA_MIGRATE_PCPTYPES * order + (unsigned)mt;
}

/*
 * The calling thread's pagesets, one per machine it used recently, matched by
 * the machine's unique id; slot 0 is the most recent.
 */
#define THREAD_SLOTS 8
struct thread_slots {
	uint64_t fast_uid;            /* uid[0] while the thread's task has no CPU set, else 0 */
	uint64_t uid[THREAD_SLOTS];
	struct pageset *ps[THREAD_SLOTS];
	bool hooked;
};
extern __thread struct thread_slots tslots __attribute__((tls_model("initial-exec"))) ZPA_HIDDEN;

ZPA_HIDDEN void thread_slots_refresh(void);

/* Set once: membarrier() works, so owners enter their pageset with plain stores. */
extern int zpa_asym_ok ZPA_HIDDEN;

ZPA_HIDDEN void thread_ps_enter_slow(struct pageset *ps);

/* Enter the calling thread's own pageset (owner side of the local lock). */
static inline void thread_ps_enter(struct pageset *ps)
{
	if (unlikely(!zpa_asym_ok)) {
		zpa_spin_lock(&ps->lock);
		return;
	}
	atomic_store_explicit(&ps->owner_active, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(atomic_load_explicit(&ps->remote_req, memory_order_relaxed)))
		thread_ps_enter_slow(ps);
}

static inline void thread_ps_exit(struct pageset *ps)
{
	if (unlikely(!zpa_asym_ok)) {
		zpa_spin_unlock(&ps->lock);
		return;
	}
	if (unlikely(atomic_load_explicit(&ps->owner_active, memory_order_relaxed) == 2)) {
		atomic_store_explicit(&ps->owner_active, 0, memory_order_relaxed);
		zpa_spin_unlock(&ps->lock);
		return;
	}
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
}

#endif /* ZPA_PCP_H */
