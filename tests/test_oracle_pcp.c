/*
 * test_oracle_pcp.c - per-CPU list sizing against real Linux 6.1: for every
 * recomputed/ dump in the oracle, zpa's zoneinfo "pagesets" high, batch and
 * vm stats threshold of every CPU of every populated zone equal the real
 * kernel's.  (Boot dumps are stale by design: see the oracle README.)
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"

static void compare_dump(const char *dump, int *zones_compared)
{
	char path[1024], err[512];
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	assert_int_equal(zpa_config_from_snapshot(dump, &cfg, err, sizeof err), 0);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);

	struct pp_zoneinfo real, ours;
	snprintf(path, sizeof path, "%s/proc/zoneinfo", dump);
	if (pp_load_zoneinfo(path, &real, err, sizeof err))
		fail_msg("%s", err);
	long n = zpa_show(m, "zoneinfo", NULL, 0);
	assert_true(n > 0);
	char *text = malloc((size_t)n + 1);
	assert_int_equal(zpa_show(m, "zoneinfo", text, (size_t)n + 1), n);
	if (pp_parse_zoneinfo(text, &ours, err, sizeof err))
		fail_msg("zpa's zoneinfo: %s", err);

	for (unsigned i = 0; i < real.nr_zones; i++) {
		const struct pp_zone *rz = &real.zones[i];
		if (!rz->nr_pagesets)
			continue;
		const struct pp_zone *oz = pp_zoneinfo_find(&ours, rz->nid, rz->name);
		if (!oz)
			fail_msg("%s: zpa has no node %d zone %s", dump, rz->nid, rz->name);
		assert_int_equal(oz->nr_pagesets, rz->nr_pagesets);
		for (unsigned c = 0; c < rz->nr_pagesets; c++) {
			const struct pp_pageset *rp = &rz->pagesets[c];
			const struct pp_pageset *op = pp_zone_pageset(oz, rp->cpu);
			assert_non_null(op);
			if (op->high != rp->high || op->batch != rp->batch || op->stat_threshold != rp->stat_threshold)
				fail_msg("%s node %d zone %s cpu %d: zpa high %ld batch %ld threshold %ld, "
					 "Linux high %ld batch %ld threshold %ld",
					 dump, rz->nid, rz->name, rp->cpu, op->high, op->batch, op->stat_threshold, rp->high,
					 rp->batch, rp->stat_threshold);
		}
		printf("  %s node %d %-7s high %ld batch %ld threshold %ld: equal\n", strrchr(dump, '/') ? dump : dump,
		       rz->nid, rz->name, rz->pagesets[0].high, rz->pagesets[0].batch, rz->pagesets[0].stat_threshold);
		(*zones_compared)++;
	}
	free(text);
	pp_zoneinfo_free(&real);
	pp_zoneinfo_free(&ours);
	zpa_machine_destroy(m);
}

static void test_pagesets_equal_linux(void **state)
{
	(void)state;
	int zones = 0, dumps = 0;
	DIR *d = opendir(ZPA_ORACLE_DIR);
	if (!d)
		fail_msg("no oracle data at %s", ZPA_ORACLE_DIR);
	struct dirent *e;
	while ((e = readdir(d))) {
		char dump[1024];
		if (e->d_name[0] == '.' || strcmp(e->d_name, "host") == 0)
			continue;
		snprintf(dump, sizeof dump, "%s/%s/recomputed", ZPA_ORACLE_DIR, e->d_name);
		DIR *r = opendir(dump);
		if (!r)
			continue;
		closedir(r);
		compare_dump(dump, &zones);
		dumps++;
	}
	closedir(d);
	printf("pagesets: %d recomputed dumps, %d zones compared\n", dumps, zones);
	assert_true(dumps >= 5);
	assert_true(zones >= dumps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagesets_equal_linux),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
