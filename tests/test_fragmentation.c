/*
 * test_fragmentation.c - the fragmentation metrics (zpa/frag.h, the
 * extfrag_index and unusable_index views) and the mm_page_alloc_extfrag
 * event with its counters.
 *
 *   - Metrics on free lists shaped by hand on a 64-page machine (no per-CPU
 *     lists, no watermarks), with every expected value worked out in the
 *     comments from Linux 6.1's formulas, and the views' exact text in
 *     Linux's debugfs format, including the odd " 0.-500" a lone small
 *     block produces.
 *   - After random churn on the default machine, each view line agrees with
 *     buddyinfo's counts put through the formulas, and with the C calls.
 *   - Errors: unknown zone, order out of range.
 *   - Events: a forced fallback fires the hook once with the right fields
 *     (a whole-block claim; an unmovable and a reclaimable page placed in a
 *     movable pageblock; a movable page borrowed from an unmovable one), the
 *     zpa_extfrag* counters move accordingly, a removed hook is not called,
 *     and page_group_by_mobility_disabled turns a movable request into an
 *     unmovable one.
 * Every test ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

/*
 * A one-node machine with RAM [start, end) only (so one DMA zone), no
 * per-CPU lists, exact counters and min_free_kbytes 0: every watermark is 0,
 * so every free page can be allocated and every free goes straight to the
 * buddy lists.
 */
static struct zpa_machine *tiny_machine(uint64_t start, uint64_t end, bool no_mobility)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;

	assert_non_null(cfg);
	zpa_machine_config_init(cfg);
	assert_int_equal(zpa_config_add_range(cfg, start, end, ZPA_RANGE_USABLE, 0), 0);
	cfg->nr_cpus = 1;
	cfg->min_free_kbytes = 0;
	cfg->no_pcp = true;
	cfg->exact_vmstat = true;
	cfg->page_group_by_mobility_disabled = no_mobility;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	return m;
}

static char *show(struct zpa_machine *m, const char *view)
{
	long n = zpa_show(m, view, NULL, 0);
	char *buf;

	assert_true(n >= 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(zpa_show(m, view, buf, (size_t)n + 1), n);
	return buf;
}

static uint64_t vmstat(struct zpa_machine *m, const char *name)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, name, &ok);

	if (!ok)
		fail_msg("vmstat %s missing", name);
	return v;
}

/* ------------------------------------------------- hand-shaped free lists */

/* RAM pfn 256..319: one order-6 block at boot. */
#define TINY_BASE 256u
#define TINY_PAGES 64u

/* Allocate every page of the tiny machine as order 0; returns nothing left free. */
static void take_all(struct zpa_machine *m)
{
	for (unsigned i = 0; i < TINY_PAGES; i++) {
		zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_true(p >= TINY_BASE && p < TINY_BASE + TINY_PAGES);
	}
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0), ZPA_PFN_NONE);
}

static void give_back(struct zpa_machine *m, unsigned first, unsigned count)
{
	for (unsigned i = first; i < first + count; i++)
		assert_int_equal(zpa_free_pages(m, TINY_BASE + i, 0), 0);
}

/*
 * The free lists, shaped by freeing pages of a full zone (offsets from pfn
 * 256, which is 256-aligned, so alignment at an offset is alignment of the pfn):
 *   0..3   merge into one order-2 block (its buddy 4..7 is in use)
 *   8      order 0                      (buddy 9 in use)
 *   16..23 one order-3 block            (buddy 24..31 in use)
 *   32     order 0                      (buddy 33 in use)
 *   40,41  one order-1 block            (buddy 42..43 in use)
 * nr_free = { 2, 1, 1, 1, 0, ... }: free_pages = 2 + 2 + 4 + 8 = 16,
 * free_blocks_total = 5.
 */
static void shape_lists(struct zpa_machine *m)
{
	take_all(m);
	give_back(m, 0, 4);
	give_back(m, 8, 1);
	give_back(m, 16, 8);
	give_back(m, 32, 1);
	give_back(m, 40, 2);
}

/*
 * Worked out by hand, with suitable(o) = sum over k >= o of nr_free[k] << (k - o):
 *   suitable = 16, 7, 3, 1 for orders 0..3 and 0 above, so
 *   extfrag_index = -1000 for orders 0..3; for o >= 4,
 *     1000 - (1000 + 16000 / 2^o) / 5:
 *     o=4: 1000 - (1000 + 1000) / 5 = 600
 *     o=5: 1000 - (1000 + 500) / 5  = 700
 *     o=6: 1000 - (1000 + 250) / 5  = 750
 *     o=7: 1000 - (1000 + 125) / 5  = 775
 *     o=8: 1000 - (1000 + 62) / 5   = 788   (1062 / 5 = 212)
 *     o=9: 1000 - (1000 + 31) / 5   = 794   (1031 / 5 = 206)
 *     o=10: 1000 - (1000 + 15) / 5  = 797   (1015 / 5 = 203)
 *   unusable_index = (16 - suitable(o) * 2^o) * 1000 / 16:
 *     o=0: 0, o=1: (16 - 14) -> 125, o=2: (16 - 12) -> 250, o=3: (16 - 8) -> 500,
 *     o>=4: 1000.
 *   extfrag_for_order = the same in percent: 0, 12, 25, 50, 100...
 */
static const int shaped_extfrag[11] = { -1000, -1000, -1000, -1000, 600, 700, 750, 775, 788, 794, 797 };
static const int shaped_unusable[11] = { 0, 125, 250, 500, 1000, 1000, 1000, 1000, 1000, 1000, 1000 };
static const unsigned shaped_percent[11] = { 0, 12, 25, 50, 100, 100, 100, 100, 100, 100, 100 };
static const uint64_t shaped_suitable[11] = { 16, 7, 3, 1, 0, 0, 0, 0, 0, 0, 0 };

static void test_hand_shaped_metrics(void **state)
{
	struct zpa_machine *m = tiny_machine(1 * MiB, 1 * MiB + 256 * KiB, false);
	struct zpa_frag_indexes fi;
	struct zpa_zone_info zi;

	(void)state;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA, &zi), 0);
	assert_int_equal(zi.start_pfn, TINY_BASE);
	assert_int_equal(zi.managed, TINY_PAGES);
	assert_int_equal(zpa_max_order(m), 11);
	shape_lists(m);

	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA, &zi), 0);
	assert_int_equal(zi.nr_free[0], 2);
	assert_int_equal(zi.nr_free[1], 1);
	assert_int_equal(zi.nr_free[2], 1);
	assert_int_equal(zi.nr_free[3], 1);
	assert_int_equal(zi.nr_free[4], 0);

	assert_int_equal(zpa_zone_frag_indexes(m, 0, ZPA_ZONE_DMA, &fi), 0);
	assert_int_equal(fi.nr_orders, 11);
	for (unsigned o = 0; o < 11; o++) {
		struct zpa_contig_page_info ci;
		int idx;
		unsigned pc;

		assert_int_equal(zpa_contig_page_info(m, 0, ZPA_ZONE_DMA, o, &ci), 0);
		assert_int_equal(ci.free_pages, 16);
		assert_int_equal(ci.free_blocks_total, 5);
		assert_int_equal(ci.free_blocks_suitable, shaped_suitable[o]);
		assert_int_equal(fi.info[o].free_blocks_suitable, shaped_suitable[o]);

		assert_int_equal(zpa_fragmentation_index(m, 0, ZPA_ZONE_DMA, o, &idx), 0);
		assert_int_equal(idx, shaped_extfrag[o]);
		assert_int_equal(fi.extfrag_index[o], shaped_extfrag[o]);
		assert_int_equal(zpa_unusable_free_index(m, 0, ZPA_ZONE_DMA, o, &idx), 0);
		assert_int_equal(idx, shaped_unusable[o]);
		assert_int_equal(fi.unusable_index[o], shaped_unusable[o]);
		assert_int_equal(zpa_extfrag_for_order(m, 0, ZPA_ZONE_DMA, o, &pc), 0);
		assert_int_equal(pc, shaped_percent[o]);
	}
	assert_true(zpa_frag_index_value(-1000) == -1.0);
	assert_true(zpa_frag_index_value(125) == 0.125);

	/* The debugfs text, as Linux formats it ("%2d.%03d " and "%d.%03d "). */
	char *t = show(m, "extfrag_index");
	assert_string_equal(t, "Node 0, zone      DMA -1.000 -1.000 -1.000 -1.000  0.600  0.700  0.750  0.775  0.788  0.794  0.797 \n");
	free(t);
	t = show(m, "unusable_index");
	assert_string_equal(t, "Node 0, zone      DMA 0.000 0.125 0.250 0.500 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n");
	free(t);

	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Nothing free: fragmentation index 0 (no free blocks at all), unusable
 * index 1000 (no free memory counts as all unusable).  Then one free page:
 * free_pages 1, one block.  Order 0 is satisfiable (-1000, unusable 0); for
 * o >= 1 the index is 1000 - (1000 + 1000 / 2^o) / 1, below zero:
 *   o=1: -500, o=2: -250, o=3: -125, o=4: -62, o=5: -31, o=6: -15, o=7: -7,
 *   o=8: -3, o=9: -1, o=10: 0,
 * which Linux prints as quotient "." remainder, each with C's truncating
 * division: " 0.-500", " 0.-62", " 0.-07" ...; unusable is 1000 for o >= 1.
 */
static void test_empty_and_single_page(void **state)
{
	struct zpa_machine *m = tiny_machine(1 * MiB, 1 * MiB + 256 * KiB, false);
	int idx;
	char *t;

	(void)state;
	take_all(m);
	for (unsigned o = 0; o < 11; o++) {
		assert_int_equal(zpa_fragmentation_index(m, 0, ZPA_ZONE_DMA, o, &idx), 0);
		assert_int_equal(idx, 0);
		assert_int_equal(zpa_unusable_free_index(m, 0, ZPA_ZONE_DMA, o, &idx), 0);
		assert_int_equal(idx, 1000);
	}
	t = show(m, "extfrag_index");
	assert_string_equal(t, "Node 0, zone      DMA  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000  0.000 \n");
	free(t);
	t = show(m, "unusable_index");
	assert_string_equal(t, "Node 0, zone      DMA 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n");
	free(t);

	give_back(m, 13, 1);
	assert_int_equal(zpa_fragmentation_index(m, 0, ZPA_ZONE_DMA, 1, &idx), 0);
	assert_int_equal(idx, -500);
	assert_int_equal(zpa_fragmentation_index(m, 0, ZPA_ZONE_DMA, 4, &idx), 0);
	assert_int_equal(idx, -62);
	t = show(m, "extfrag_index");
	assert_string_equal(t, "Node 0, zone      DMA -1.000  0.-500  0.-250  0.-125  0.-62  0.-31  0.-15  0.-07  0.-03  0.-01  0.000 \n");
	free(t);
	t = show(m, "unusable_index");
	assert_string_equal(t, "Node 0, zone      DMA 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n");
	free(t);

	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_errors(void **state)
{
	struct zpa_machine *m = tiny_machine(1 * MiB, 1 * MiB + 256 * KiB, false);
	struct zpa_contig_page_info ci;
	struct zpa_frag_indexes fi;
	int idx;
	unsigned pc;
	char buf[16];

	(void)state;
	assert_int_equal(zpa_fragmentation_index(m, 0, ZPA_ZONE_DMA, 11, &idx), ZPA_EINVAL);
	assert_int_equal(zpa_unusable_free_index(m, 0, ZPA_ZONE_DMA, 20, &idx), ZPA_EINVAL);
	assert_int_equal(zpa_extfrag_for_order(m, 0, ZPA_ZONE_DMA, 11, &pc), ZPA_EINVAL);
	assert_int_equal(zpa_contig_page_info(m, 0, ZPA_ZONE_DMA, 0, NULL), ZPA_EINVAL);
	assert_int_equal(zpa_contig_page_info(m, 1, ZPA_ZONE_DMA, 0, &ci), ZPA_ENOENT);
	assert_int_equal(zpa_contig_page_info(m, -1, ZPA_ZONE_DMA, 0, &ci), ZPA_ENOENT);
	assert_int_equal(zpa_contig_page_info(m, 0, ZPA_NR_ZONE_TYPES, 0, &ci), ZPA_ENOENT);
	assert_int_equal(zpa_zone_frag_indexes(m, 3, ZPA_ZONE_DMA, &fi), ZPA_ENOENT);
	/* An existing but empty zone is fine: nothing free. */
	assert_int_equal(zpa_zone_frag_indexes(m, 0, ZPA_ZONE_DMA32, &fi), 0);
	assert_int_equal(fi.extfrag_index[9], 0);
	assert_int_equal(fi.unusable_index[9], 1000);
	/* Unknown event type. */
	struct zpa_trace_event ev = { .type = 99 };
	assert_int_equal(zpa_trace_event_format(&ev, buf, sizeof(buf)), ZPA_EINVAL);
	zpa_machine_destroy(m);
}

/* ---------------------------------------- views against buddyinfo after churn */

/* Linux's formulas, from the nr_free counts of one buddyinfo line. */
static void expected_from_counts(const unsigned long *nr, unsigned max_order, unsigned o, int *extfrag, int *unusable)
{
	unsigned long long pages = 0, total = 0, suitable = 0;

	for (unsigned k = 0; k < max_order; k++) {
		total += nr[k];
		pages += (unsigned long long)nr[k] << k;
		if (k >= o)
			suitable += (unsigned long long)nr[k] << (k - o);
	}
	if (!total)
		*extfrag = 0;
	else if (suitable)
		*extfrag = -1000;
	else
		*extfrag = 1000 - (int)((1000 + pages * 1000 / (1ull << o)) / total);
	*unusable = pages ? (int)((pages - (suitable << o)) * 1000 / pages) : 1000;
}

/*
 * A printed index back to thousandths: Linux prints the quotient and the
 * (signed) remainder of index / 1000, so "-1.000" is -1000, " 0.600" 600
 * and " 0.-62" -62: quotient * 1000 + remainder in every case.
 */
static int parse_index(const char *s)
{
	int q, r;

	assert_int_equal(sscanf(s, "%d.%d", &q, &r), 2);
	return q * 1000 + r;
}

static void test_views_match_buddyinfo(void **state)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	zpa_pfn_t *pfns = calloc(20000, sizeof(*pfns));
	unsigned *orders = calloc(20000, sizeof(*orders));
	uint64_t x = 12345;
	int lines = 0;

	(void)state;
	assert_non_null(cfg);
	zpa_machine_config_default(cfg);
	cfg->exact_vmstat = true;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	/* Churn: many small and some large blocks, then free every other one. */
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		orders[i] = (x >> 60) < 12 ? 0 : (unsigned)(x >> 61) + 1;
		pfns[i] = zpa_alloc_pages_node(m, (int)(i & 1), (x >> 33) & 1 ? ZPA_GFP_KERNEL : ZPA_GFP_HIGHUSER_MOVABLE,
					       orders[i]);
	}
	for (int i = 0; i < 20000; i += 2)
		if (pfns[i] != ZPA_PFN_NONE)
			assert_int_equal(zpa_free_pages(m, pfns[i], orders[i]), 0);
	zpa_drain_all_pages(m);

	char *bi = show(m, "buddyinfo"), *ei = show(m, "extfrag_index"), *ui = show(m, "unusable_index");
	char *bl = bi, *el = ei, *ul = ui;
	unsigned max_order = zpa_max_order(m);

	while (*bl) {
		char *bn = strchr(bl, '\n'), *en = strchr(el, '\n'), *un = strchr(ul, '\n');
		int nid;
		char zone[16];
		unsigned long nr[20];
		int off, eoff, uoff;

		assert_non_null(bn);
		assert_non_null(en);
		assert_non_null(un);
		*bn = *en = *un = '\0';
		/* Same zone header on all three lines. */
		assert_int_equal(sscanf(bl, "Node %d, zone %15s%n", &nid, zone, &off), 2);
		assert_memory_equal(bl, el, (size_t)off);
		assert_memory_equal(bl, ul, (size_t)off);
		eoff = uoff = off;
		for (unsigned o = 0; o < max_order; o++) {
			int n;

			assert_int_equal(sscanf(bl + off, "%lu%n", &nr[o], &n), 1);
			off += n;
		}
		struct zpa_frag_indexes fi;
		int zt = -1;
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			if (strcmp(zpa_zone_type_name((enum zpa_zone_type)t), zone) == 0)
				zt = t;
		assert_true(zt >= 0);
		assert_int_equal(zpa_zone_frag_indexes(m, nid, zt, &fi), 0);
		for (unsigned o = 0; o < max_order; o++) {
			char ef[16], uf[16];
			int n, want_e, want_u;

			assert_int_equal(sscanf(el + eoff, "%15s%n", ef, &n), 1);
			eoff += n;
			assert_int_equal(sscanf(ul + uoff, "%15s%n", uf, &n), 1);
			uoff += n;
			expected_from_counts(nr, max_order, o, &want_e, &want_u);
			assert_int_equal(parse_index(ef), want_e);
			assert_int_equal(parse_index(uf), want_u);
			assert_int_equal(fi.extfrag_index[o], want_e);
			assert_int_equal(fi.unusable_index[o], want_u);
		}
		lines++;
		bl = bn + 1, el = en + 1, ul = un + 1;
	}
	assert_int_equal(*el, '\0');
	assert_int_equal(*ul, '\0');
	assert_true(lines >= 4); /* DMA, DMA32, Normal on node 0; Normal on node 1 */
	free(bi), free(ei), free(ui);
	free(pfns), free(orders);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* --------------------------------------------------------------- events */

#define MAX_EVENTS 16
struct recorder {
	int n;
	struct zpa_trace_event ev[MAX_EVENTS];
};

static void record(void *arg, const struct zpa_trace_event *ev)
{
	struct recorder *r = arg;

	if (r->n < MAX_EVENTS)
		r->ev[r->n] = *ev;
	r->n++;
}

static const char *const counter_names[] = {
	"zpa_extfrag", "zpa_extfrag_fragmenting", "zpa_extfrag_change_ownership", "zpa_extfrag_mixed",
	"zpa_extfrag_fragmenting_unmovable", "zpa_extfrag_unmovable_in_movable",
	"zpa_extfrag_fragmenting_reclaimable", "zpa_extfrag_reclaimable_in_movable",
	"zpa_extfrag_fragmenting_movable",
};
#define NR_CTR (sizeof(counter_names) / sizeof(counter_names[0]))

static void counters(struct zpa_machine *m, uint64_t *v)
{
	for (unsigned i = 0; i < NR_CTR; i++)
		v[i] = vmstat(m, counter_names[i]);
}

/* Counter changes since `before` must equal want[] (in counter_names order). */
static void assert_counter_delta(struct zpa_machine *m, const uint64_t *before, const uint64_t *want)
{
	uint64_t now[NR_CTR];

	counters(m, now);
	for (unsigned i = 0; i < NR_CTR; i++)
		if (now[i] - before[i] != want[i])
			fail_msg("%s moved by %llu, expected %llu", counter_names[i],
				 (unsigned long long)(now[i] - before[i]), (unsigned long long)want[i]);
}

static void assert_event(const struct zpa_trace_event *ev, zpa_pfn_t pfn, int alloc_order, int fallback_order,
			 int alloc_mt, int fallback_mt, bool fragmenting, bool change_ownership)
{
	assert_int_equal(ev->type, ZPA_TRACE_MM_PAGE_ALLOC_EXTFRAG);
	assert_string_equal(ev->name, "mm_page_alloc_extfrag");
	assert_int_equal(ev->nid, 0);
	assert_int_equal(ev->zone_type, ZPA_ZONE_DMA);
	assert_int_equal(ev->u.extfrag.pfn, pfn);
	assert_int_equal(ev->u.extfrag.alloc_order, alloc_order);
	assert_int_equal(ev->u.extfrag.fallback_order, fallback_order);
	assert_int_equal(ev->u.extfrag.pageblock_order, 9);
	assert_int_equal(ev->u.extfrag.alloc_migratetype, alloc_mt);
	assert_int_equal(ev->u.extfrag.fallback_migratetype, fallback_mt);
	assert_int_equal(ev->u.extfrag.fragmenting, fragmenting);
	assert_int_equal(ev->u.extfrag.change_ownership, change_ownership);
}

static int pageblock_mt(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;

	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi.pageblock_migratetype;
}

/* RAM pfn 1024..2047: one order-10 block, two pageblocks, both movable at boot. */
#define EV_BASE 1024u
#define EV_PAGES 1024u

/*
 * A whole-block claim, then a movable page borrowed from an unmovable
 * pageblock.
 *   1. The first GFP_KERNEL page: the unmovable lists are empty, so
 *      __rmqueue_fallback takes the largest movable block, order 10 at pfn
 *      1024; an order >= pageblock_order claims its pageblocks (both become
 *      unmovable).  Event: pfn 1024, orders 0/10, types 0/1, fragmenting 0,
 *      change_ownership 1.  The page handed out is that block's first page.
 *   2. The other 1023 pages as GFP_KERNEL: no more events.
 *   3. Free page 1500, ask GFP_HIGHUSER_MOVABLE: movable and reclaimable
 *      lists are empty; the only free block is that order-0 page on the
 *      unmovable list.  A movable order-0 request may not claim (order below
 *      pageblock_order / 2), so only the page moves.  Event: pfn 1500,
 *      orders 0/0, types 1/0, fragmenting 1, change_ownership 0; the
 *      pageblock stays unmovable.
 */
static void test_event_claim_and_movable_fallback(void **state)
{
	struct zpa_machine *m = tiny_machine(4 * MiB, 8 * MiB, false);
	struct recorder rec = { 0 };
	uint64_t before[NR_CTR];
	char text[256];
	zpa_pfn_t p;

	(void)state;
	assert_int_equal(pageblock_mt(m, EV_BASE), ZPA_MIGRATE_MOVABLE);
	assert_int_equal(pageblock_mt(m, EV_BASE + 512), ZPA_MIGRATE_MOVABLE);
	zpa_set_trace_hook(m, record, &rec);
	counters(m, before);

	p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(p, EV_BASE);
	assert_int_equal(rec.n, 1);
	assert_event(&rec.ev[0], EV_BASE, 0, 10, ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE, false, true);
	assert_int_equal(pageblock_mt(m, EV_BASE), ZPA_MIGRATE_UNMOVABLE);
	assert_int_equal(pageblock_mt(m, EV_BASE + 512), ZPA_MIGRATE_UNMOVABLE);
	{
		int len = zpa_trace_event_format(&rec.ev[0], text, sizeof(text));
		assert_int_equal(len, (int)strlen(text));
	}
	assert_string_equal(text, "pfn=0x400 alloc_order=0 fallback_order=10 pageblock_order=9 "
				  "alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1");
	{
		const uint64_t want[NR_CTR] = { 1, 0, 1, 0, 0, 0, 0, 0, 0 };
		assert_counter_delta(m, before, want);
	}

	for (unsigned i = 1; i < EV_PAGES; i++)
		assert_true(zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0) != ZPA_PFN_NONE);
	assert_int_equal(rec.n, 1);

	counters(m, before);
	assert_int_equal(zpa_free_pages(m, EV_BASE + 476, 0), 0);
	p = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_int_equal(p, EV_BASE + 476);
	assert_int_equal(rec.n, 2);
	assert_event(&rec.ev[1], EV_BASE + 476, 0, 0, ZPA_MIGRATE_MOVABLE, ZPA_MIGRATE_UNMOVABLE, true, false);
	assert_int_equal(pageblock_mt(m, EV_BASE + 476), ZPA_MIGRATE_UNMOVABLE);
	{
		/* fragmenting, mixed, for movable */
		const uint64_t want[NR_CTR] = { 1, 1, 0, 1, 0, 0, 0, 0, 1 };
		assert_counter_delta(m, before, want);
	}

	/* No hook: counters still count, the old hook is not called. */
	zpa_set_trace_hook(m, NULL, NULL);
	counters(m, before);
	assert_int_equal(zpa_free_pages(m, EV_BASE + 700, 0), 0);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0), EV_BASE + 700);
	assert_int_equal(rec.n, 2);
	{
		const uint64_t want[NR_CTR] = { 1, 1, 0, 1, 0, 0, 0, 0, 1 };
		assert_counter_delta(m, before, want);
	}
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Kernel pages placed in a movable pageblock.
 *   1. Fill the machine with GFP_HIGHUSER_MOVABLE pages: they come from the
 *      movable lists the pageblocks start on, so no event.
 *   2. Free page 1724 (second pageblock) and ask GFP_KERNEL: the only free
 *      block is on the movable list, order 0.  Unmovable requests may claim,
 *      but the pageblock has 1 free page and 511 movable pages in use:
 *      1 + 0 alike < 256, so it stays movable and only the page moves.
 *      Event: pfn 1724, orders 0/0, types 0/1, fragmenting 1, change 0.
 *      Counters: fragmenting, mixed, for unmovable, unmovable in movable.
 *   3. The same with page 1100 and GFP_KERNEL|__GFP_RECLAIMABLE: its
 *      fallbacks are unmovable (empty) then movable.  Event types 2/1.
 */
static void test_event_kernel_in_movable(void **state)
{
	struct zpa_machine *m = tiny_machine(4 * MiB, 8 * MiB, false);
	struct recorder rec = { 0 };
	uint64_t before[NR_CTR];

	(void)state;
	zpa_set_trace_hook(m, record, &rec);
	counters(m, before);
	for (unsigned i = 0; i < EV_PAGES; i++)
		assert_true(zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0) != ZPA_PFN_NONE);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0), ZPA_PFN_NONE);
	assert_int_equal(rec.n, 0);
	assert_int_equal(vmstat(m, "zpa_extfrag"), before[0]);

	assert_int_equal(zpa_free_pages(m, EV_BASE + 700, 0), 0);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0), EV_BASE + 700);
	assert_int_equal(rec.n, 1);
	assert_event(&rec.ev[0], EV_BASE + 700, 0, 0, ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE, true, false);
	assert_int_equal(pageblock_mt(m, EV_BASE + 700), ZPA_MIGRATE_MOVABLE);
	{
		const uint64_t want[NR_CTR] = { 1, 1, 0, 1, 1, 1, 0, 0, 0 };
		assert_counter_delta(m, before, want);
	}

	counters(m, before);
	assert_int_equal(zpa_free_pages(m, EV_BASE + 76, 0), 0);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE, 0), EV_BASE + 76);
	assert_int_equal(rec.n, 2);
	assert_event(&rec.ev[1], EV_BASE + 76, 0, 0, ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_MOVABLE, true, false);
	assert_int_equal(pageblock_mt(m, EV_BASE + 76), ZPA_MIGRATE_MOVABLE);
	{
		const uint64_t want[NR_CTR] = { 1, 1, 0, 1, 0, 0, 1, 1, 0 };
		assert_counter_delta(m, before, want);
	}
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * page_group_by_mobility_disabled: gfp_migratetype() says unmovable for
 * every request, so even the first GFP_HIGHUSER_MOVABLE page falls back to
 * the boot-time movable block and claims it for the unmovable type.
 */
static void test_event_mobility_disabled(void **state)
{
	struct zpa_machine *m = tiny_machine(4 * MiB, 8 * MiB, true);
	struct recorder rec = { 0 };

	(void)state;
	zpa_set_trace_hook(m, record, &rec);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0), EV_BASE);
	assert_int_equal(rec.n, 1);
	assert_event(&rec.ev[0], EV_BASE, 0, 10, ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE, false, true);
	assert_int_equal(pageblock_mt(m, EV_BASE), ZPA_MIGRATE_UNMOVABLE);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_shaped_metrics),
		cmocka_unit_test(test_empty_and_single_page),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_views_match_buddyinfo),
		cmocka_unit_test(test_event_claim_and_movable_fallback),
		cmocka_unit_test(test_event_kernel_in_movable),
		cmocka_unit_test(test_event_mobility_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
