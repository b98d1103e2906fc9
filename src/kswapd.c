/*
 * kswapd.c - kswapd, the per-node background reclaimer of Linux 6.1
 * (mm/vmscan.c: wakeup_kswapd, kswapd, kswapd_try_to_sleep, balance_pgdat),
 * the daemon modes that decide where its work runs, and the machine clock.
 *
 * What kswapd does.  An allocation that finds a zone under its low watermark
 * wakes the node's kswapd (wakeup_kswapd) with the order and the highest
 * zone index it needed.  kswapd runs balance_pgdat(): it reclaims with
 * shrink_node() (vmscan.c) at falling priorities (DEF_PRIORITY down to 1)
 * until some eligible zone of the node is above its high watermark for the
 * order (pgdat_balanced), then tries to sleep.  A fallback that mixed
 * pageblock types boosts a zone's watermarks (watermark_boost); kswapd then
 * reclaims the boost's worth of pages without writeback or swap, gives the
 * boost back and wakes kcompactd to defragment.  A run that reclaims nothing
 * counts a failure; after MAX_RECLAIM_RETRIES of them in a row the node is
 * "hopeless" and wakeups leave it alone (only kcompactd is woken) until
 * reclaim anywhere makes progress on it again (shrink_node resets the count).
 *
 * Sleeping (kswapd_try_to_sleep).  When the node looks balanced kswapd
 * forgets compaction's skip hints, wakes kcompactd for the order it was asked
 * for, and naps for HZ/10 (100 ms).  A wakeup during the nap means the low
 * watermark was hit again quickly (kswapd_low_wmark_hit_quickly): it keeps
 * the request and balances again.  If the nap ends quietly and the node is
 * still balanced it sleeps until the next wakeup; if not, the high watermark
 * was hit quickly (kswapd_high_wmark_hit_quickly) and it balances again.  A
 * high-order run that fell back to order 0 (reclaim_order < alloc_order)
 * tries to sleep for the order it reached but wakes kcompactd for the one
 * asked.
 *
 * The loop as a state machine.  The same code serves the three modes: a
 * kswapd is SLEEPING (the long sleep), NAPPING (the short sleep, and the
 * checks around it, during which a wakeup is noticed) or AWAKE (about to
 * read its request and balance).  kswapd_run() advances it from one of these
 * points to the next until it sleeps, running balance_pgdat() at most once
 * per call.  "waitqueue_active()" of Linux - the waker may wake kswapd only
 * while kswapd waits - is: SLEEPING or NAPPING in THREAD and MANUAL modes;
 * in INLINE mode, nobody running this kswapd at the moment (the waker gives
 * its own time).
 *
 *   INLINE (default): wakeup_kswapd() runs kswapd_run() in the caller's
 *     thread, as kswapd: the node's kswapd task (PF_MEMALLOC) in the scan
 *     control, and PF_MEMALLOC on the caller's own task for the duration,
 *     so callbacks that allocate use the reserves and never reclaim.  The nap
 *     takes no time and nothing interrupts it (deterministic).  One runner per
 *     node at a time: a wakeup while another thread runs this kswapd, or from
 *     any reclaim context (a PF_MEMALLOC caller: kswapd's own callbacks,
 *     direct reclaim), only records its order and zone index, which the next
 *     run picks up.
 *   THREAD: a thread per node loops on kswapd_run(), waiting on an event
 *     (mutex + condition variable of the port layer) with the nap's deadline
 *     as timeout.  Started by zpa_set_daemon_mode(), stopped (a flag, a
 *     signal, a join) when leaving THREAD mode and by kswapd_destroy().
 *   MANUAL: wakeups only record; zpa_daemon_step(m, t) moves the simulated
 *     clock to t and advances each kswapd to t: a woken or still-awake kswapd
 *     balances (once per step), a nap whose deadline passed ends.  No real
 *     time is read.
 *
 * Left out or simplified (see also the comments of wakeup_kswapd and
 * balance_pgdat): no cpuset check on wakeup (there is no waking task here);
 * no freezer, PSI, buffer_heads limit or laptop_mode; no pfmemalloc_wait
 * throttling of direct reclaimers; no memcg soft limit reclaim; no
 * kswapd_age_node() pass of its own (aging is shrink_node()'s); no per-CPU
 * vmstat threshold switch around the long sleep; zone_watermark_ok_safe()
 * reads the folded free count.  A kswapd that stays unbalanced loops at
 * once in Linux; here it does one balance_pgdat() per wakeup (INLINE) or
 * per step (MANUAL), the THREAD mode loop being the real one.  As in Linux,
 * a hopeless node keeps the watermark boosts it gets until reclaim makes
 * progress there (nothing else gives them back).
 *
 * Locking.  kswapd->lock (a spinlock, never held across reclaim) protects the
 * state, the woken flag, the nap deadline, the running claim and the writes
 * of pgdat->kswapd_order / kswapd_highest_zoneidx (read with READ_ONCE, as
 * Linux does).  The loop's locals (alloc_order, reclaim_order,
 * highest_zoneidx) belong to whoever holds the running claim: the only
 * driver at a time.  kswapd_failures is read and written with
 * READ_ONCE/WRITE_ONCE (racy by design, as in Linux).  In THREAD mode the
 * event's mutex orders a waker's signal after its change of state, so the
 * thread, which tests its condition under that mutex, cannot miss it.  Mode
 * switches are serialised by a process-wide lock held across the joins.
 * No zone lock is held when any function here is called.
 *
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "internal.h"

#define KSWAPD_NAP_MS 100   /* HZ/10 */

enum kswapd_state {
	KSWAPD_SLEEPING,    /* the long sleep: only a wakeup ends it */
	KSWAPD_NAPPING,     /* trying to sleep: the checks and the HZ/10 nap */
	KSWAPD_AWAKE,       /* back from a sleep: read the request, balance */
};

struct kswapd {
	struct zpa_machine *m;
	pg_data_t *pgdat;
	struct zpa_task *task;      /* kswapd's context: PF_MEMALLOC */
	zpa_spinlock_t lock;
	int state;                  /* enum kswapd_state */
	bool woken;                 /* a wakeup arrived while NAPPING or SLEEPING */
	bool running;               /* a driver is inside kswapd_run() */
	uint64_t nap_end;           /* NAPPING: when the nap ends (machine clock, ms) */
	/* the kswapd() loop's locals (running claim) */
	int alloc_order, reclaim_order, highest_zoneidx;
	_Atomic bool stop;          /* THREAD: kthread_should_stop() */
#ifndef ZPA_NO_THREADS
	struct zpa_port_thread *thread;
	struct zpa_port_event *event;
#endif
};

/* Serialises zpa_set_daemon_mode() (across machines: switches are rare). */
static zpa_spinlock_t daemon_mode_lock = ZPA_SPINLOCK_INIT;

/* ---- the machine clock ---- */

uint64_t machine_now_ms(const struct zpa_machine *m)
{
	if (READ_ONCE(m->daemon_mode) == ZPA_DAEMON_MANUAL)
		return atomic_load(&((struct zpa_machine *)m)->sim_now_ms);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t zpa_clock_ms(const struct zpa_machine *m)
{
	return machine_now_ms(m);
}

/* ---- watermark checks ---- */

static inline int clamp_zoneidx(const struct zpa_machine *m, int highest_zoneidx)
{
	if (highest_zoneidx < 0)
		return 0;
	return highest_zoneidx >= (int)m->nr_zone_types ? (int)m->nr_zone_types - 1 : highest_zoneidx;
}

/*
 * zone_watermark_ok_safe(): Linux rereads the free count exactly when it is
 * below the zone's per-CPU drift mark; zpa has no drift mark and uses the
 * folded counter (exact with exact_vmstat), which is safe to read from any
 * context, including an allocation that wakes kswapd in INLINE mode.
 */
static bool zone_watermark_ok_safe(struct zpa_machine *m, struct zone *z, int order, unsigned long mark,
				   int highest_zoneidx)
{
	return zone_watermark_ok(m, z, (unsigned)order, mark, highest_zoneidx, 0);
}

/* pgdat_watermark_boosted(): some eligible managed zone has a boost (checked top down). */
static bool pgdat_watermark_boosted(pg_data_t *pgdat, int highest_zoneidx)
{
	for (int i = highest_zoneidx; i >= 0; i--) {
		struct zone *z = &pgdat->node_zones[i];
		if (managed_zone(z) && READ_ONCE(z->watermark_boost))
			return true;
	}
	return false;
}

/*
 * pgdat_balanced(): the node is balanced for (order, highest_zoneidx) as soon
 * as one eligible managed zone, looked at from the bottom up, is above its
 * high watermark (boost included) for the order.  A node without an eligible
 * managed zone needs no balancing.
 */
bool pgdat_balanced(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	bool any = false;
	highest_zoneidx = clamp_zoneidx(m, highest_zoneidx);
	for (int i = 0; i <= highest_zoneidx; i++) {
		struct zone *z = &pgdat->node_zones[i];
		if (!managed_zone(z))
			continue;
		any = true;
		if (zone_watermark_ok_safe(m, z, order, high_wmark_pages(z), highest_zoneidx))
			return true;
	}
	return !any;
}

static inline bool pgdat_hopeless(pg_data_t *pgdat)
{
	return READ_ONCE(pgdat->kswapd_failures) >= MAX_RECLAIM_RETRIES;
}

/*
 * prepare_kswapd_sleep(): may kswapd sleep?  Yes for a hopeless node (direct
 * reclaim is left to deal with it) and for a balanced one.
 */
static bool prepare_kswapd_sleep(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	if (pgdat_hopeless(pgdat))
		return true;
	return pgdat_balanced(m, pgdat, order, highest_zoneidx);
}

/*
 * kswapd_highest_zoneidx(): the zone index a waker asked for, or, when none
 * is pending (nr_zone_types), the one of the previous run.
 */
static int kswapd_highest_zoneidx(struct zpa_machine *m, pg_data_t *pgdat, int prev)
{
	int cur = READ_ONCE(pgdat->kswapd_highest_zoneidx);
	return cur == (int)m->nr_zone_types ? prev : cur;
}

/* ---- balance_pgdat ---- */

/*
 * kswapd_shrink_node(): one shrink_node() pass asking for the high watermark
 * of every eligible zone (at least SWAP_CLUSTER_MAX each).  When a
 * high-order run has reclaimed twice the request (compact_gap()), watermarks
 * are checked at order 0 from then on: compaction has room to work, and the
 * allocating task can compact for itself.  True when the pass scanned as
 * much as it was asked to reclaim (no need to raise the priority).
 */
static bool kswapd_shrink_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc)
{
	sc->nr_to_reclaim = 0;
	for (int i = 0; i <= sc->reclaim_idx; i++) {
		struct zone *z = &pgdat->node_zones[i];
		if (!managed_zone(z))
			continue;
		unsigned long high = high_wmark_pages(z);
		sc->nr_to_reclaim += high > SWAP_CLUSTER_MAX ? high : SWAP_CLUSTER_MAX;
	}
	shrink_node(m, pgdat, sc);
	if (sc->order && sc->nr_reclaimed >= (2ul << sc->order)) /* compact_gap(order) */
		sc->order = 0;
	return sc->nr_scanned >= sc->nr_to_reclaim;
}

/*
 * balance_pgdat(): reclaim on the node until an eligible zone is balanced
 * for order (or the priorities run out).  Adds the pages reclaimed to
 * *reclaimed; returns the order it finished at (0 if it gave up on order).
 *
 * Boosted reclaim: with a boost (the sum of the eligible zones'
 * watermark_boost when the run starts) on a node that is balanced even with
 * the boost in its watermarks, kswapd reclaims just the boost's worth of
 * pages, without writeback or swap, not going below priority
 * DEF_PRIORITY - 2 while it makes progress, and stops at the first pass
 * that frees nothing.  A node that is not balanced (boost included) drops
 * the boost-only mode and is reclaimed normally, until balanced.  Either
 * way the boosts found at the start are given back at the end (under each
 * zone's lock: boosts grow under it) and kcompactd is woken at pageblock
 * order to rebuild whole pageblocks in the room reclaim made.
 */
static int balance_pgdat(struct kswapd *ks, int order, int highest_zoneidx, unsigned long *reclaimed)
{
	struct zpa_machine *m = ks->m;
	pg_data_t *pgdat = ks->pgdat;
	unsigned long zone_boosts[ZPA_NR_ZONE_TYPES] = { 0 };
	unsigned long nr_boost_reclaim = 0;
	struct scan_control sc = {
		.gfp_mask = ZPA_GFP_KERNEL,
		.order = order,
		.may_unmap = true,
		.kswapd = true,
		.task = ks->task,
	};

	count_vm_event(m, PAGEOUTRUN, 1);
	for (int i = 0; i <= highest_zoneidx; i++) {
		struct zone *z = &pgdat->node_zones[i];
		if (!managed_zone(z))
			continue;
		zone_boosts[i] = READ_ONCE(z->watermark_boost);
		nr_boost_reclaim += zone_boosts[i];
	}
	bool boosted = nr_boost_reclaim != 0;

restart:
	sc.priority = DEF_PRIORITY;
	do {
		unsigned long before = sc.nr_reclaimed;
		bool raise_priority = true;

		sc.reclaim_idx = highest_zoneidx;
		bool balanced = pgdat_balanced(m, pgdat, sc.order, highest_zoneidx);
		/* Unbalanced (boost included): normal reclaim from the top. */
		if (!balanced && nr_boost_reclaim) {
			nr_boost_reclaim = 0;
			goto restart;
		}
		if (!nr_boost_reclaim && balanced)
			goto out;
		/* Boosted reclaim stays at mild priorities (no writeback). */
		if (nr_boost_reclaim && sc.priority == DEF_PRIORITY - 2)
			raise_priority = false;
		sc.may_writepage = !nr_boost_reclaim;
		sc.may_swap = !nr_boost_reclaim;
		if (sc.priority < DEF_PRIORITY - 2)
			sc.may_writepage = true;

		sc.nr_scanned = 0;
		if (kswapd_shrink_node(m, pgdat, &sc))
			raise_priority = false;
		if (atomic_load_explicit(&ks->stop, memory_order_relaxed))
			break;

		unsigned long nr = sc.nr_reclaimed - before;
		nr_boost_reclaim -= nr_boost_reclaim < nr ? nr_boost_reclaim : nr;
		/* A boost that reclaim cannot serve (no I/O allowed) ends the run. */
		if (nr_boost_reclaim && !nr)
			break;
		if (raise_priority || !nr)
			sc.priority--;
	} while (sc.priority >= 1);

	if (!sc.nr_reclaimed)
		WRITE_ONCE(pgdat->kswapd_failures, READ_ONCE(pgdat->kswapd_failures) + 1);
out:
	if (boosted) {
		for (int i = 0; i <= highest_zoneidx; i++) {
			struct zone *z = &pgdat->node_zones[i];
			if (!zone_boosts[i])
				continue;
			zpa_spin_lock(&z->lock);
			unsigned long b = z->watermark_boost;
			WRITE_ONCE(z->watermark_boost, b - (b < zone_boosts[i] ? b : zone_boosts[i]));
			/* Linux's rmqueue() clears the flag before waking kswapd;
			 * zpa clears it here, when the boost it signalled is gone. */
			if (!z->watermark_boost)
				WRITE_ONCE(z->flags, z->flags & ~ZONE_BOOSTED_WATERMARK);
			zpa_spin_unlock(&z->lock);
		}
		wakeup_kcompactd(m, pgdat, (int)m->pageblock_order, highest_zoneidx);
	}
	*reclaimed += sc.nr_reclaimed;
	return sc.order;
}

/* ---- the kswapd loop as a state machine ---- */

static void kswapd_set_state(struct kswapd *ks, int state)
{
	zpa_spin_lock(&ks->lock);
	ks->state = state;
	if (state != KSWAPD_SLEEPING)
		ks->woken = false; /* a pending wakeup only ends a long sleep */
	zpa_spin_unlock(&ks->lock);
}

/*
 * The end of kswapd_try_to_sleep(): after a nap (premature: a wakeup cut it
 * short) or when no nap was taken.  Sleeps for good if the nap was quiet and
 * the node still balanced; otherwise counts which watermark was hit quickly
 * and stays awake.
 */
static void kswapd_end_nap(struct kswapd *ks, bool premature)
{
	struct zpa_machine *m = ks->m;
	pg_data_t *pgdat = ks->pgdat;

	if (premature) {
		/* Keep the request that cut the nap short, or else this one. */
		zpa_spin_lock(&ks->lock);
		WRITE_ONCE(pgdat->kswapd_highest_zoneidx, kswapd_highest_zoneidx(m, pgdat, ks->highest_zoneidx));
		if (READ_ONCE(pgdat->kswapd_order) < ks->reclaim_order)
			WRITE_ONCE(pgdat->kswapd_order, ks->reclaim_order);
		zpa_spin_unlock(&ks->lock);
	}
	if (!premature && prepare_kswapd_sleep(m, pgdat, ks->reclaim_order, ks->highest_zoneidx)) {
		/* A wakeup that came during the check ends the sleep at once
		 * (woken stays set), as schedule() would return at once. */
		zpa_spin_lock(&ks->lock);
		ks->state = KSWAPD_SLEEPING;
		zpa_spin_unlock(&ks->lock);
		return;
	}
	count_vm_event(m, premature ? KSWAPD_LOW_WMARK_HIT_QUICKLY : KSWAPD_HIGH_WMARK_HIT_QUICKLY, 1);
	kswapd_set_state(ks, KSWAPD_AWAKE);
}

/*
 * kswapd_try_to_sleep(): from here (prepare_to_wait) a wakeup is noticed.  If
 * the node may sleep: reset compaction's skip hints, wake kcompactd for the
 * order asked, and nap until now + HZ/10 (kswapd_run() ends the nap).
 */
static void kswapd_try_to_sleep(struct kswapd *ks)
{
	struct zpa_machine *m = ks->m;
	pg_data_t *pgdat = ks->pgdat;

	zpa_spin_lock(&ks->lock);
	ks->state = KSWAPD_NAPPING;
	ks->woken = false;
	ks->nap_end = UINT64_MAX; /* not napping yet: only a wakeup ends this */
	zpa_spin_unlock(&ks->lock);

	if (prepare_kswapd_sleep(m, pgdat, ks->reclaim_order, ks->highest_zoneidx)) {
		reset_isolation_suitable(m, pgdat);
		wakeup_kcompactd(m, pgdat, ks->alloc_order, ks->highest_zoneidx);
		zpa_spin_lock(&ks->lock);
		ks->nap_end = machine_now_ms(m) + KSWAPD_NAP_MS;
		zpa_spin_unlock(&ks->lock);
		return;
	}
	kswapd_end_nap(ks, false);
}

/*
 * One turn of kswapd's loop after a sleep: take the request (and forget it),
 * balance, then try to sleep - for the order reached and the request kept,
 * if a high-order run fell back to order 0; else for the request that
 * arrived meanwhile (the top of Linux's loop).
 */
static unsigned long kswapd_balance(struct kswapd *ks)
{
	struct zpa_machine *m = ks->m;
	pg_data_t *pgdat = ks->pgdat;
	unsigned long reclaimed = 0;

	zpa_spin_lock(&ks->lock);
	ks->alloc_order = READ_ONCE(pgdat->kswapd_order);
	ks->highest_zoneidx = kswapd_highest_zoneidx(m, pgdat, ks->highest_zoneidx);
	WRITE_ONCE(pgdat->kswapd_order, 0);
	WRITE_ONCE(pgdat->kswapd_highest_zoneidx, (int)m->nr_zone_types);
	zpa_spin_unlock(&ks->lock);

	ks->reclaim_order = balance_pgdat(ks, ks->alloc_order, ks->highest_zoneidx, &reclaimed);
	if (atomic_load_explicit(&ks->stop, memory_order_relaxed)) {
		kswapd_set_state(ks, KSWAPD_AWAKE); /* stopped mid-work: resumes here */
		return reclaimed;
	}
	if (ks->reclaim_order >= ks->alloc_order) {
		ks->alloc_order = ks->reclaim_order = READ_ONCE(pgdat->kswapd_order);
		ks->highest_zoneidx = kswapd_highest_zoneidx(m, pgdat, ks->highest_zoneidx);
	}
	kswapd_try_to_sleep(ks);
	return reclaimed;
}

/*
 * kswapd_run(): advance kswapd to the machine's time until it sleeps or would
 * run balance_pgdat() a second time (the next call goes on from there).
 * instant_nap: the nap ends at once and undisturbed (INLINE).  Caller holds
 * the running claim.  Returns pages reclaimed.
 */
static unsigned long kswapd_run(struct kswapd *ks, bool instant_nap)
{
	unsigned long reclaimed = 0;
	bool balanced_once = false;

	for (;;) {
		bool premature = false;

		zpa_spin_lock(&ks->lock);
		switch (ks->state) {
		case KSWAPD_SLEEPING:
			if (!ks->woken) {
				zpa_spin_unlock(&ks->lock);
				return reclaimed;
			}
			ks->woken = false;
			ks->state = KSWAPD_AWAKE;
			zpa_spin_unlock(&ks->lock);
			continue;
		case KSWAPD_NAPPING:
			if (ks->woken) {
				premature = true;
			} else if (!instant_nap && machine_now_ms(ks->m) < ks->nap_end) {
				zpa_spin_unlock(&ks->lock);
				return reclaimed;
			}
			ks->woken = false;
			zpa_spin_unlock(&ks->lock);
			kswapd_end_nap(ks, premature);
			continue;
		default:
			zpa_spin_unlock(&ks->lock);
			break;
		}
		if (balanced_once || atomic_load_explicit(&ks->stop, memory_order_relaxed))
			return reclaimed;
		balanced_once = true;
		reclaimed += kswapd_balance(ks);
	}
}

/* Take the running claim (one driver per kswapd); false if someone has it. */
static bool kswapd_claim(struct kswapd *ks)
{
	bool ok;
	zpa_spin_lock(&ks->lock);
	ok = !ks->running;
	ks->running = true;
	zpa_spin_unlock(&ks->lock);
	return ok;
}

static void kswapd_unclaim(struct kswapd *ks)
{
	zpa_spin_lock(&ks->lock);
	ks->running = false;
	zpa_spin_unlock(&ks->lock);
}

/*
 * Run kswapd in the calling thread (INLINE, MANUAL): claimed, and with
 * PF_MEMALLOC on the caller's task so that what the reclaim callbacks
 * allocate comes from the reserves and never recurses into reclaim.
 */
static unsigned long kswapd_run_claimed(struct kswapd *ks, bool instant_nap)
{
	struct zpa_task *cur = zpa_task_current();
	unsigned saved = zpa_task_flags_save(cur, ZPA_PF_MEMALLOC);
	unsigned long reclaimed = kswapd_run(ks, instant_nap);
	zpa_task_flags_restore(cur, saved, ZPA_PF_MEMALLOC);
	kswapd_unclaim(ks);
	return reclaimed;
}

static unsigned long kswapd_run_here(struct kswapd *ks, bool instant_nap)
{
	if (!kswapd_claim(ks))
		return 0;
	return kswapd_run_claimed(ks, instant_nap);
}

/* ---- wakeups ---- */

/* waitqueue_active(&pgdat->kswapd_wait) for the mode (ks->lock held). */
static bool kswapd_waiting(const struct kswapd *ks, int mode)
{
	if (mode == ZPA_DAEMON_INLINE)
		return !ks->running;
	return ks->state == KSWAPD_SLEEPING || ks->state == KSWAPD_NAPPING;
}

/*
 * wakeup_kswapd(): as Linux 6.1.  Record the request (the highest zone index
 * and order asked since kswapd last read them), then wake kswapd if it
 * waits, the node is not hopeless, and the node is unbalanced or boosted.
 * A hopeless or balanced node wakes kcompactd instead, for requests that
 * cannot compact by themselves (no __GFP_DIRECT_RECLAIM): the memory may be
 * there but too fragmented.  Linux also skips zones the waking task's cpuset
 * forbids; zpa's wakeups carry no task, so that check is left out.
 */
void wakeup_kswapd(struct zpa_machine *m, struct zone *zone, zpa_gfp_t gfp, unsigned order, int highest_zoneidx)
{
	pg_data_t *pgdat = zone->zone_pgdat;
	struct kswapd *ks = pgdat->kswapd;
	int mode = READ_ONCE(m->daemon_mode);
	bool waiting;

	if (!managed_zone(zone) || !ks)
		return;
	highest_zoneidx = clamp_zoneidx(m, highest_zoneidx);

	zpa_spin_lock(&ks->lock);
	int cur = READ_ONCE(pgdat->kswapd_highest_zoneidx);
	if (cur == (int)m->nr_zone_types || cur < highest_zoneidx)
		WRITE_ONCE(pgdat->kswapd_highest_zoneidx, highest_zoneidx);
	if (READ_ONCE(pgdat->kswapd_order) < (int)order)
		WRITE_ONCE(pgdat->kswapd_order, (int)order);
	waiting = kswapd_waiting(ks, mode);
	zpa_spin_unlock(&ks->lock);
	if (!waiting)
		return;
	/* INLINE: a reclaim context does not run kswapd inside itself. */
	if (mode == ZPA_DAEMON_INLINE && (zpa_task_current()->flags & ZPA_PF_MEMALLOC))
		return;

	if (pgdat_hopeless(pgdat) ||
	    (pgdat_balanced(m, pgdat, (int)order, highest_zoneidx) && !pgdat_watermark_boosted(pgdat, highest_zoneidx))) {
		if (!(gfp & ZPA___GFP_DIRECT_RECLAIM))
			wakeup_kcompactd(m, pgdat, (int)order, highest_zoneidx);
		return;
	}

	if (mode == ZPA_DAEMON_INLINE) {
		/* Only the waker that gets the claim runs (and counts) kswapd. */
		if (!kswapd_claim(ks))
			return;
		count_vm_event(m, KSWAPD_WAKE, 1);
		zpa_spin_lock(&ks->lock);
		if (ks->state == KSWAPD_SLEEPING || ks->state == KSWAPD_NAPPING)
			ks->woken = true;
		zpa_spin_unlock(&ks->lock);
		kswapd_run_claimed(ks, true);
		return;
	}
	/* Count the wakeup that ends a sleep, not the ones after it. */
	bool first = false;
	zpa_spin_lock(&ks->lock);
	if ((ks->state == KSWAPD_SLEEPING || ks->state == KSWAPD_NAPPING) && !ks->woken)
		first = ks->woken = true;
	zpa_spin_unlock(&ks->lock);
	if (!first)
		return;
	count_vm_event(m, KSWAPD_WAKE, 1);
#ifndef ZPA_NO_THREADS
	if (mode == ZPA_DAEMON_THREAD) {
		zpa_port_event_lock(ks->event);
		zpa_port_event_signal(ks->event);
		zpa_port_event_unlock(ks->event);
	}
#endif
}

/* ---- THREAD mode ---- */

#ifndef ZPA_NO_THREADS
/*
 * Should the thread advance kswapd now?  Woken, awake, or a nap over; else
 * *timeout_ms is how long to wait (-1: until signalled).
 */
static bool kswapd_thread_ready(struct kswapd *ks, uint64_t now, long *timeout_ms)
{
	bool ready;
	zpa_spin_lock(&ks->lock);
	*timeout_ms = -1;
	if (ks->state == KSWAPD_AWAKE || ks->woken) {
		ready = true;
	} else if (ks->state == KSWAPD_NAPPING) {
		ready = now >= ks->nap_end;
		if (!ready)
			*timeout_ms = ks->nap_end - now > KSWAPD_NAP_MS ? KSWAPD_NAP_MS : (long)(ks->nap_end - now);
	} else {
		ready = false;
	}
	zpa_spin_unlock(&ks->lock);
	return ready;
}

/* The kswapd thread of a node: PF_MEMALLOC for life; sleep, run, repeat. */
static void kswapd_thread(void *arg)
{
	struct kswapd *ks = arg;
	struct zpa_machine *m = ks->m;
	struct zpa_task *cur = zpa_task_current();

	zpa_task_flags_save(cur, ZPA_PF_MEMALLOC);
	for (;;) {
		long timeout;
		zpa_port_event_lock(ks->event);
		while (!atomic_load(&ks->stop) && !kswapd_thread_ready(ks, machine_now_ms(m), &timeout))
			zpa_port_event_wait(ks->event, timeout);
		zpa_port_event_unlock(ks->event);
		if (atomic_load(&ks->stop))
			break;
		if (!kswapd_claim(ks)) {
			/* A MANUAL step from before the switch still runs it. */
			zpa_port_event_lock(ks->event);
			zpa_port_event_wait(ks->event, 1);
			zpa_port_event_unlock(ks->event);
			continue;
		}
		kswapd_run(ks, false);
		kswapd_unclaim(ks);
	}
}

static void kswapd_stop_threads(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kswapd *ks = m->nodes[n] ? m->nodes[n]->kswapd : NULL;
		if (!ks || !ks->thread)
			continue;
		atomic_store(&ks->stop, true);
		zpa_port_event_lock(ks->event);
		zpa_port_event_signal(ks->event);
		zpa_port_event_unlock(ks->event);
	}
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kswapd *ks = m->nodes[n] ? m->nodes[n]->kswapd : NULL;
		if (!ks || !ks->thread)
			continue;
		zpa_port_thread_join(ks->thread);
		ks->thread = NULL;
		atomic_store(&ks->stop, false);
	}
}

static int kswapd_start_threads(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kswapd *ks = m->nodes[n] ? m->nodes[n]->kswapd : NULL;
		if (!ks)
			continue;
		if (zpa_port_thread_create(&ks->thread, kswapd_thread, ks) != 0) {
			ks->thread = NULL;
			return ZPA_ENOMEM;
		}
	}
	return 0;
}
#endif /* ZPA_NO_THREADS */

/* ---- modes ---- */

/*
 * A nap begun under another clock ends at the first chance under the new one
 * (real and simulated milliseconds do not compare).
 */
static void kswapd_rebase_naps(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kswapd *ks = m->nodes[n] ? m->nodes[n]->kswapd : NULL;
		if (!ks)
			continue;
		zpa_spin_lock(&ks->lock);
		if (ks->state == KSWAPD_NAPPING && ks->nap_end != UINT64_MAX)
			ks->nap_end = 0;
		zpa_spin_unlock(&ks->lock);
	}
}

int zpa_set_daemon_mode(struct zpa_machine *m, int mode)
{
	int err = 0;

	if (mode != ZPA_DAEMON_INLINE && mode != ZPA_DAEMON_THREAD && mode != ZPA_DAEMON_MANUAL)
		return ZPA_EINVAL;
#ifdef ZPA_NO_THREADS
	if (mode == ZPA_DAEMON_THREAD)
		return ZPA_EINVAL;
#endif
	zpa_spin_lock(&daemon_mode_lock);
	int old = READ_ONCE(m->daemon_mode);
	if (old == mode)
		goto out;
#ifndef ZPA_NO_THREADS
	if (old == ZPA_DAEMON_THREAD)
		kswapd_stop_threads(m);
#endif
	WRITE_ONCE(m->daemon_mode, mode);
	/* kcompactd's threads start and stop with kswapd's. */
	kcompactd_mode_changed(m);
	kswapd_rebase_naps(m);
#ifndef ZPA_NO_THREADS
	if (mode == ZPA_DAEMON_THREAD) {
		err = kswapd_start_threads(m);
		if (err) {
			kswapd_stop_threads(m);
			WRITE_ONCE(m->daemon_mode, old);
		}
	}
#endif
out:
	zpa_spin_unlock(&daemon_mode_lock);
	return err;
}

int zpa_daemon_mode(const struct zpa_machine *m)
{
	return READ_ONCE(m->daemon_mode);
}

/*
 * zpa_daemon_step(): MANUAL mode's clock tick.  Each node's kswapd runs as
 * it would have by now_ms (a woken or awake kswapd balances once; a nap
 * whose end has come ends), then each node's kcompactd, then the OOM reaper.
 */
uint64_t zpa_daemon_step(struct zpa_machine *m, uint64_t now_ms)
{
	uint64_t cur, reclaimed = 0;

	if (READ_ONCE(m->daemon_mode) != ZPA_DAEMON_MANUAL) {
		zpa_warn(m, __func__, "daemon mode is not MANUAL (%s)", zpa_strerror(ZPA_EINVAL));
		return 0;
	}
	cur = atomic_load(&m->sim_now_ms);
	do {
		if (now_ms < cur) {
			zpa_warn(m, __func__, "time goes backwards: %llu ms after %llu ms (%s)",
				 (unsigned long long)now_ms, (unsigned long long)cur, zpa_strerror(ZPA_EINVAL));
			return 0;
		}
	} while (!atomic_compare_exchange_weak(&m->sim_now_ms, &cur, now_ms));

	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (pgdat && pgdat->kswapd)
			reclaimed += kswapd_run_here(pgdat->kswapd, false);
	}
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n])
			kcompactd_step(m, m->nodes[n], now_ms);
	/* The OOM reaper's work that came due. */
	zpa_oom_reap(m);
	return reclaimed;
}

/* ---- setup and teardown ---- */

int kswapd_init(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		struct kswapd *ks = zpa_port_zalloc(sizeof(*ks));
		if (!ks)
			return ZPA_ENOMEM;
		pgdat->kswapd = ks;
		ks->task = zpa_task_create();
		if (!ks->task)
			return ZPA_ENOMEM;
		ks->task->flags |= ZPA_PF_MEMALLOC;
#ifndef ZPA_NO_THREADS
		ks->event = zpa_port_event_create();
		if (!ks->event)
			return ZPA_ENOMEM;
#endif
		ks->m = m;
		ks->pgdat = pgdat;
		zpa_spin_lock_init(&ks->lock);
		atomic_init(&ks->stop, false);
		/* Start in the long sleep, as on an idle machine long after boot. */
		ks->state = KSWAPD_SLEEPING;
		ks->highest_zoneidx = (int)m->nr_zone_types - 1;
		pgdat->kswapd_order = 0;
		pgdat->kswapd_highest_zoneidx = (int)m->nr_zone_types;
		pgdat->kswapd_failures = 0;
	}
	return 0;
}

void kswapd_destroy(struct zpa_machine *m)
{
#ifndef ZPA_NO_THREADS
	kswapd_stop_threads(m);
#endif
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		struct kswapd *ks = pgdat ? pgdat->kswapd : NULL;
		if (!ks)
			continue;
#ifndef ZPA_NO_THREADS
		zpa_port_event_destroy(ks->event);
#endif
		zpa_task_destroy(ks->task);
		zpa_port_free(ks);
		pgdat->kswapd = NULL;
	}
}
