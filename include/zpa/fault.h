/*
 * zpa/fault.h - fault injection: make page allocations fail on purpose, so
 * that callers can test their error paths.  Included by zpa.h; see
 * docs/FAULT.md.
 *
 * Two mechanisms, both per machine and both off until configured:
 *
 * fail_page_alloc attributes (Linux 6.1's CONFIG_FAIL_PAGE_ALLOC, with the
 * names of its /sys/kernel/debug/fail_page_alloc/ files).  A request is
 * examined once, where Linux's prepare_alloc_pages() asks
 * should_fail_alloc_page(): after the order and GFP checks and the task's
 * NOIO/NOFS scope, before any zone is looked at.  It is never failed when
 * its order is below min-order, when it has __GFP_NOFAIL, when
 * ignore-gfp-highmem is set and it has __GFP_HIGHMEM, or when
 * ignore-gfp-wait is set and it may sleep (__GFP_DIRECT_RECLAIM).  Otherwise
 * Linux's should_fail() decides, in this order:
 *   1. probability 0: no failure (nothing below is touched);
 *   2. times 0: no failure;
 *   3. space greater than the request's size in pages (2^order): space
 *      shrinks by that size, no failure;
 *   4. interval above 1: a count of requests that got here goes up; no
 *      failure unless the count is a multiple of interval;
 *   5. a random number in 0..99 at or above probability: no failure;
 *   6. failure: a report unless the request has __GFP_NOWARN (see verbose),
 *      and times drops by one unless it is -1.
 * The random numbers come from a seeded generator ("seed"), so a run is
 * reproducible; one number is drawn per request that reaches step 5.
 *
 * Schedules (zpa's own): "fail the nth request that matches", with a match
 * on the order range, the GFP word (under a mask) and optionally the
 * preferred node.  Several can be armed at once; each counts the requests it
 * matched (seen) and the failures it caused (hit).  Schedules look at the
 * same requests at the same point; they ignore min-order and the ignore-*
 * attributes but never fail (or count) a __GFP_NOFAIL request.  When a
 * schedule fires, the attributes are not consulted for that request (no
 * random number is drawn, times/space/interval are untouched).
 *
 * A failed request returns ZPA_PFN_NONE and changes nothing else: no page
 * moves, and no allocation-failure warning is printed (Linux returns NULL
 * from prepare_alloc_pages() before the slow path).  Counters in
 * /proc/vmstat style (zpa_vmstat, zpa_show(m, "vmstat")):
 *   zpa_fault_checked            requests examined while injection was on
 *   zpa_fault_injected           requests failed by injection
 *   zpa_fault_injected_attr      ... by the fail_page_alloc attributes
 *   zpa_fault_injected_schedule  ... by a schedule
 *
 * Scope: requests through __alloc_pages (zpa_alloc_pages, zpa__alloc_pages,
 * zpa_alloc_pages_node, zpa_alloc_pages_mpol, and the single-page fallback
 * of the bulk allocators).  The hosted fast path of zpa_alloc_pages() steps
 * aside while injection is on.  zpa_alloc_contig_pages()/CMA are not
 * subject to it (Linux's are not either).
 *
 * Thread safety: every call here may run concurrently with allocations;
 * the injection state has a lock of its own, taken only while injection is
 * on.  With several threads allocating, which request a schedule or a
 * random number hits depends on their interleaving.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_FAULT_H
#define ZPA_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zpa/gfp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zpa_machine;

/*
 * The fail_page_alloc attributes.  Defaults are Linux's (FAULT_ATTR_INITIALIZER
 * and fail_page_alloc's own): probability 0, interval 1, times 1, space 0,
 * verbose 2, ignore-gfp-wait and ignore-gfp-highmem Y, min-order 1; seed 0.
 */
struct zpa_fault_attr {
	unsigned long probability;  /* percent; 0 turns this mechanism off, 100 or more fails always */
	unsigned long interval;     /* fail only every interval-th request that passes the other tests */
	int times;                  /* failures left; -1: no limit */
	int space;                  /* pages of requests let through before failing may start */
	unsigned long verbose;      /* 0: silent; 1: a report per failure; 2: also the request */
	bool ignore_gfp_wait;       /* never fail requests that may sleep (__GFP_DIRECT_RECLAIM) */
	bool ignore_gfp_highmem;    /* never fail __GFP_HIGHMEM requests */
	unsigned min_order;         /* never fail requests of a lower order */
	uint64_t seed;              /* seed of the random numbers of step 5 */
};

/* Fill a with the defaults above. */
void zpa_fault_attr_default(struct zpa_fault_attr *a);

/*
 * Set every attribute from a and start afresh: the interval count goes to 0
 * and the random numbers restart from a->seed.  Schedules are kept.
 * Returns 0 or ZPA_EINVAL (NULL argument), ZPA_ENOMEM (no memory for the
 * injection state).
 */
int zpa_fault_configure(struct zpa_machine *m, const struct zpa_fault_attr *a);

/* The attributes as they stand (times and space count down as requests pass). */
int zpa_fault_get_attr(struct zpa_machine *m, struct zpa_fault_attr *out);

/*
 * Set one attribute by its debugfs name, as writing the file does:
 * "probability", "interval", "verbose" (unsigned decimal or 0x hex),
 * "times", "space" (signed int), "min-order" (unsigned 32-bit),
 * "ignore-gfp-wait", "ignore-gfp-highmem" (Y/N, y/n, 1/0, on/off), and zpa's
 * "seed" (unsigned 64-bit; restarts the random numbers).  A
 * "fail_page_alloc/" prefix is accepted; surrounding white space (the
 * newline of `echo`) is ignored.  Other attributes keep their state (the
 * interval count is not reset).  Returns 0, ZPA_ENOENT (no such attribute),
 * ZPA_EINVAL (malformed value), ZPA_ERANGE (out of the attribute's range),
 * ZPA_ENOMEM; on error nothing changes.
 */
int zpa_fault_set(struct zpa_machine *m, const char *name, const char *value);

/*
 * Read one attribute as debugfs prints it ("10\n", "Y\n").  Returns the
 * length like snprintf (buf may be NULL when size is 0), ZPA_ENOENT or
 * ZPA_EINVAL.
 */
int zpa_fault_get(struct zpa_machine *m, const char *name, char *buf, size_t size);

/* The attribute names, NULL-terminated. */
const char *const *zpa_fault_names(void);

/*
 * The fail_page_alloc= boot option: "<interval>,<probability>,<space>,<times>"
 * (setup_fault_attr()).  Sets those four; the rest keep their values.
 * Returns 0, ZPA_EINVAL (fewer than four numbers) or ZPA_ENOMEM.
 */
int zpa_fault_setup(struct zpa_machine *m, const char *str);

/* ----- schedules ----- */

#define ZPA_FAULT_MAX_SCHEDULES 64

/*
 * A request matches when min_order <= order <= max_order,
 * (gfp & gfp_mask) == gfp_value, and nid is -1 or the request's preferred
 * node (the node whose zonelist it walks: the nid given, else the task's
 * node, or the node its memory policy chose).  gfp is the word the request
 * runs under (after gfp_allowed_mask and the task's NOIO/NOFS scope).
 * gfp_mask 0 matches every request; gfp_mask ~0u with gfp_value GFP_KERNEL
 * matches exactly GFP_KERNEL.  The schedule fails the nth matching request
 * (1: the first), then, when every is not 0, the (nth + every)th,
 * (nth + 2 * every)th, and so on.
 */
struct zpa_fault_schedule {
	unsigned min_order, max_order;
	zpa_gfp_t gfp_mask, gfp_value;
	int nid;
	unsigned long nth;
	unsigned long every;
};

/* What a schedule has done: requests matched, and failed. */
struct zpa_fault_schedule_stats {
	unsigned long seen, hit;
};

/* Every order, every GFP word, any node, nth 1, every 0. */
void zpa_fault_schedule_init(struct zpa_fault_schedule *s);

/*
 * Read a schedule from text: space- or comma-separated key=value pairs over
 * zpa_fault_schedule_init()'s values:
 *   order=N or order=A-B   the order range
 *   gfp=FLAGS              gfp_value (a number, or zpa_gfp_parse() text:
 *                          "GFP_KERNEL", "GFP_NOWAIT|__GFP_ZERO"); without mask=,
 *                          an exact match (gfp_mask ~0u)
 *   mask=FLAGS             gfp_mask
 *   node=N                 nid (-1: any)
 *   nth=N, every=N
 * e.g. "order=2 gfp=GFP_KERNEL nth=3".  Returns 0 or ZPA_EPARSE.
 */
int zpa_fault_schedule_parse(const char *text, struct zpa_fault_schedule *out);

/*
 * Arm a schedule.  Returns its id (>= 0, until removed), ZPA_EINVAL
 * (min_order > max_order, gfp_value bits outside gfp_mask, nid not -1 nor
 * a node of m, nth 0), or ZPA_ENOMEM (ZPA_FAULT_MAX_SCHEDULES armed).
 * Requests are counted from the moment it is armed.
 */
int zpa_fault_schedule_add(struct zpa_machine *m, const struct zpa_fault_schedule *s);
/* Disarm one schedule (0 or ZPA_ENOENT), or all of them. */
int zpa_fault_schedule_remove(struct zpa_machine *m, int id);
void zpa_fault_schedule_clear(struct zpa_machine *m);
/* A schedule's counts so far (0 or ZPA_ENOENT). */
int zpa_fault_schedule_stats(struct zpa_machine *m, int id, struct zpa_fault_schedule_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_FAULT_H */
