/*
 * test_oracle.c - zpa against real Linux 6.1 kernels.
 *
 * For every configuration directory under ZPA_ORACLE_DIR that holds a
 * dmesg.txt (all Linux 6.1 boots; data/host, a Linux 6.18 machine, is
 * skipped), the machine is built with zpa_config_from_snapshot() from its
 * recomputed/ dump (boot/ when there is none) and created; then, zone by zone
 * of the kernel's own /proc/zoneinfo (parsed by helpers/procparse.c):
 *   - start_pfn, spanned and present equal the kernel's.  zpa derives them
 *     from dmesg's memory map and its own zone layout, not from zoneinfo,
 *     so this checks the layout code.  With a recomputed/ dump the boot/
 *     dump's spans are checked too (the two must agree).
 *   - managed equals the kernel's (the loader's reserved ranges at work).
 *   - recomputed/ dumps only: min, low, high and every protection entry
 *     equal the kernel's.  Those dumps were taken after the kernel
 *     recomputed watermarks and lowmem_reserve from the final managed counts
 *     and the tunables, so they are an exact function zpa must reproduce.
 *     (boot/ values are stale by design: computed before the initrd and
 *     init memory were freed.)
 *   - zpa has no populated zone the kernel lacks, and as many nodes.
 * Every mismatch is printed with its configuration, node, zone and field
 * before the test fails; the configurations compared are listed.  A run
 * that finds no configuration fails.  Each machine ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"

struct oracle_case {
	char name[256];
	char dump[2100];      /* the dump the machine is built from */
	char boot[2100];      /* boot/ dump, "" if it is the one above */
	bool recomputed;
	unsigned compared;    /* zones compared, for the summary */
};

static struct oracle_case *cases;
static unsigned nr_cases;
static bool dir_opened;

static bool path_is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool path_is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct oracle_case *)a)->name, ((const struct oracle_case *)b)->name);
}

/* Every Linux 6.1 configuration: a directory with dmesg.txt, except host. */
static void find_cases(void)
{
	DIR *d = opendir(ZPA_ORACLE_DIR);
	struct dirent *de;
	char path[2100];

	if (!d)
		return;
	dir_opened = true;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "host"))
			continue;
		snprintf(path, sizeof path, "%s/%s/dmesg.txt", ZPA_ORACLE_DIR, de->d_name);
		if (!path_is_file(path) || strlen(de->d_name) >= sizeof cases[0].name)
			continue;
		struct oracle_case *nc = realloc(cases, (nr_cases + 1) * sizeof(*cases));
		if (!nc)
			break;
		cases = nc;
		struct oracle_case *c = &cases[nr_cases];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof c->name, "%s", de->d_name);
		snprintf(path, sizeof path, "%s/%s/recomputed", ZPA_ORACLE_DIR, de->d_name);
		if (path_is_dir(path)) {
			c->recomputed = true;
			snprintf(c->dump, sizeof c->dump, "%s", path);
			snprintf(path, sizeof path, "%s/%s/boot", ZPA_ORACLE_DIR, de->d_name);
			if (path_is_dir(path))
				snprintf(c->boot, sizeof c->boot, "%s", path);
		} else {
			snprintf(path, sizeof path, "%s/%s/boot", ZPA_ORACLE_DIR, de->d_name);
			if (!path_is_dir(path))
				continue;
			snprintf(c->dump, sizeof c->dump, "%s", path);
		}
		nr_cases++;
	}
	closedir(d);
	if (nr_cases)
		qsort(cases, nr_cases, sizeof(*cases), cmp_case);
}

static void test_configs_found(void **state)
{
	(void)state;
	if (!dir_opened)
		print_error("cannot open %s\n", ZPA_ORACLE_DIR);
	assert_true(dir_opened);
	assert_true(nr_cases > 0);
}

/* Record one field comparison; prints and counts a mismatch. */
static unsigned check_field(const struct oracle_case *c, const struct pp_zone *z, const char *field,
			    uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	print_error("%s: node %d zone %s %s: zpa %" PRIu64 ", Linux %" PRIu64 "\n", c->name, z->nid,
		    z->name, field, got, want);
	return 1;
}

/* Spans of zpa's zones against one zoneinfo; returns mismatches. */
static unsigned compare_zones(struct oracle_case *c, struct zpa_machine *m, const struct pp_zoneinfo *zi,
			      bool watermarks, bool managed)
{
	unsigned bad = 0;
	int max_nid = -1;

	for (unsigned i = 0; i < zi->nr_zones; i++) {
		const struct pp_zone *z = &zi->zones[i];
		struct zpa_zone_info info;
		int type = pp_zone_type(z->name);

		if (z->nid > max_nid)
			max_nid = z->nid;
		if (type < 0) {
			print_error("%s: unknown zone name %s\n", c->name, z->name);
			bad++;
			continue;
		}
		int r = zpa_zone_info(m, z->nid, type, &info);
		if (r == ZPA_ENOENT && !z->spanned)
			continue; /* a zone type zpa does not list, empty in Linux too */
		if (r) {
			print_error("%s: node %d zone %s: zpa_zone_info() = %d\n", c->name, z->nid, z->name, r);
			bad++;
			continue;
		}
		if (z->has_start_pfn)
			bad += check_field(c, z, "start_pfn", info.start_pfn, z->start_pfn);
		bad += check_field(c, z, "spanned", info.spanned, z->spanned);
		bad += check_field(c, z, "present", info.present, z->present);
		if (managed)
			bad += check_field(c, z, "managed", info.managed, z->managed);
		if (watermarks) {
			bad += check_field(c, z, "min", info.min, z->min);
			bad += check_field(c, z, "low", info.low, z->low);
			bad += check_field(c, z, "high", info.high, z->high);
			bad += check_field(c, z, "number of protection entries", info.nr_protection,
					   z->nr_protection);
			for (unsigned k = 0; k < z->nr_protection && k < info.nr_protection; k++) {
				char field[32];
				snprintf(field, sizeof field, "protection[%u]", k);
				bad += check_field(c, z, field, info.protection[k], z->protection[k]);
			}
		}
		c->compared++;
	}

	/* Nothing populated in zpa that Linux lacks. */
	if (zpa_nr_nodes(m) != (unsigned)(max_nid + 1)) {
		print_error("%s: zpa has %u nodes, Linux %d\n", c->name, zpa_nr_nodes(m), max_nid + 1);
		bad++;
	}
	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++)
		for (int type = 0; type < ZPA_NR_ZONE_TYPES; type++) {
			struct zpa_zone_info info;
			if (zpa_zone_info(m, (int)nid, type, &info) || !info.spanned)
				continue;
			if (!pp_zoneinfo_find(zi, (int)nid, zpa_zone_type_name(type))) {
				print_error("%s: zpa has zone %s on node %u (%" PRIu64 " pages); Linux does not\n",
					    c->name, zpa_zone_type_name(type), nid, info.spanned);
				bad++;
			}
		}
	return bad;
}

static void test_config(void **state)
{
	struct oracle_case *c = *state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m = NULL;
	struct pp_zoneinfo zi, boot;
	char err[1024], path[2200];
	unsigned bad = 0;

	int r = zpa_config_from_snapshot(c->dump, &cfg, err, sizeof err);
	if (r)
		print_error("%s: zpa_config_from_snapshot: %s\n", c->name, err);
	assert_int_equal(r, 0);
	r = zpa_machine_create(&cfg, &m);
	assert_int_equal(r, 0);

	snprintf(path, sizeof path, "%s/proc/zoneinfo", c->dump);
	r = pp_load_zoneinfo(path, &zi, err, sizeof err);
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	bad += compare_zones(c, m, &zi, c->recomputed, true);
	pp_zoneinfo_free(&zi);

	if (c->boot[0]) {
		/* Spans and present pages are the same in both dumps. */
		snprintf(path, sizeof path, "%s/proc/zoneinfo", c->boot);
		r = pp_load_zoneinfo(path, &boot, err, sizeof err);
		if (r)
			print_error("%s\n", err);
		assert_int_equal(r, 0);
		unsigned before = c->compared;
		bad += compare_zones(c, m, &boot, false, false);
		c->compared = before;
		pp_zoneinfo_free(&boot);
	}

	print_message("compared %s (%s dump%s): %u zones, %u mismatches\n", c->name,
		      c->recomputed ? "recomputed" : "boot",
		      c->recomputed ? ", spans, present, managed, watermarks, protection"
				    : ", spans, present, managed", c->compared, bad);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
	assert_int_equal(bad, 0);
	assert_true(c->compared > 0);
}

int main(void)
{
	find_cases();

	struct CMUnitTest *tests = calloc(nr_cases + 1, sizeof(*tests));
	char (*names)[300] = calloc(nr_cases + 1, sizeof(*names));
	if (!tests || !names)
		return 1;
	tests[0] = (struct CMUnitTest){ "configs_found", test_configs_found, NULL, NULL, NULL };
	for (unsigned i = 0; i < nr_cases; i++) {
		snprintf(names[i], sizeof names[i], "oracle_%s", cases[i].name);
		tests[i + 1] = (struct CMUnitTest){ names[i], test_config, NULL, NULL, &cases[i] };
	}
	int failed = _cmocka_run_group_tests("oracle", tests, nr_cases + 1, NULL, NULL);
	free(tests);
	free(names);
	free(cases);
	return failed;
}
