/*
 * test_views.c - the /proc text views (zpa_show) and zpa_vmstat().
 *
 * What is checked:
 *   - zpa_show() has snprintf semantics: the full length whatever the buffer
 *     size, never a byte past size, always NUL-terminated, and the truncated
 *     text is a prefix of the full one; unknown views give ZPA_ENOENT.
 *   - The numbers in the views are the allocator's: buddyinfo equals
 *     zpa_zone_info()'s nr_free[], pagetypeinfo's per-type counts add up to
 *     buddyinfo's, and zoneinfo's fields equal zpa_zone_info()'s; zones with
 *     no present page and nodes with no memory get Linux's treatment.
 *   - The layout is Linux 6.1's: the real files a 6.1 kernel printed
 *     (oracle data, r-n2-4g-2cpu/recomputed) and zpa's are parsed, and zone
 *     by zone the sequences of line keys and the columns where the values
 *     start must be equal (leaving out the blocks zpa does not model:
 *     "per-node stats" and "pagesets"); buddyinfo and pagetypeinfo headers
 *     are byte-equal and their rows have the same columns.  The machine is
 *     built from that snapshot (zpa_config_from_snapshot), and also from
 *     zpa_machine_config_default(), whose zones have the same shape.
 *   - vmstat: allocations move pgalloc_<zone>, nr_free_pages and pgfree by
 *     exactly the pages allocated and freed (nr_free_pages excludes pages on
 *     per-CPU lists, as Linux's does); every printed line reads back
 *     through zpa_vmstat(); Linux's names come in Linux's order.
 * Every test ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zpa.h"

#define REAL_DIR ZPA_ORACLE_DIR "/r-n2-4g-2cpu/recomputed"

/* ------------------------------------------------------------ helpers */

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static struct zpa_machine *machine_default(void)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;

	assert_non_null(cfg);
	zpa_machine_config_default(cfg);
	cfg->log = quiet_log;
	/* Zone counters without per-CPU lag, so they equal zpa_zone_info()'s. */
	cfg->exact_vmstat = true;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	assert_non_null(m);
	return m;
}

static struct zpa_machine *machine_snapshot(void)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	char err[256] = "";
	int rc;

	assert_non_null(cfg);
	rc = zpa_config_from_snapshot(REAL_DIR, cfg, err, sizeof(err));
	if (rc != 0)
		print_message("zpa_config_from_snapshot(%s): %d %s\n", REAL_DIR, rc, err);
	assert_int_equal(rc, 0);
	cfg->log = quiet_log;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	assert_non_null(m);
	return m;
}

static void check_machine(struct zpa_machine *m)
{
	char report[1024] = "";
	int rc = zpa_check(m, report, sizeof(report));

	if (rc)
		print_message("zpa_check: %s\n", report);
	assert_int_equal(rc, 0);
}

/* The whole view in a malloc'd string, checking the two-call protocol. */
static char *show(struct zpa_machine *m, const char *view)
{
	long n = zpa_show(m, view, NULL, 0);
	char *buf;

	assert_true(n > 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(zpa_show(m, view, buf, (size_t)n + 1), n);
	assert_int_equal(strlen(buf), (size_t)n);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Split text in place into lines (the trailing empty piece is dropped). */
#define MAX_LINES 4096
struct lines {
	int n;
	char *v[MAX_LINES];
};

static struct lines *split_lines(char *text)
{
	struct lines *L = calloc(1, sizeof(*L));
	char *p = text;

	assert_non_null(L);
	while (*p) {
		char *nl = strchr(p, '\n');
		assert_true(L->n < MAX_LINES);
		L->v[L->n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return L;
}

/* Columns (0-based) where each whitespace-separated token of s ends, from offset from. */
static int token_ends(const char *s, int from, int *ends, int max)
{
	int n = 0;

	for (int i = from; s[i]; i++)
		if (s[i] != ' ' && (s[i + 1] == ' ' || s[i + 1] == '\0')) {
			assert_true(n < max);
			ends[n++] = i;
		}
	return n;
}

static int zone_type_by_name(const char *name)
{
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
		if (strcmp(zpa_zone_type_name((enum zpa_zone_type)t), name) == 0)
			return t;
	fail_msg("unknown zone name %s", name);
	return -1;
}

/* "Node 0, zone      DMA" (maybe followed by more): node id and zone name. */
static bool parse_node_zone(const char *line, int *nid, char *name)
{
	return sscanf(line, "Node %d, zone %15[^ ,]", nid, name) == 2;
}

static uint64_t row_sum(const char *row);
static size_t row_key_len(const char *row);

/* ----------------------------------------------------- zoneinfo parsing */

/* One line of a zone: its key (text before the value, trailing blanks cut),
 * the column where the value starts (-1 if none) and the value text. */
struct kv {
	char key[64];
	int col;
	const char *val;
};

#define MAX_ZONES 64
#define MAX_ZONE_LINES 128
struct zinfo {
	int nid;
	char name[16];
	const char *header;
	bool populated;         /* has a start_pfn line */
	int n;
	struct kv kv[MAX_ZONE_LINES];
};

static void line_key(const char *line, struct kv *out)
{
	const char *p = line;
	size_t klen;

	out->col = -1;
	out->val = "";
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (isdigit((unsigned char)*p) || *p == '(') {
			out->col = (int)(p - line);
			out->val = p;
			break;
		}
		while (*p && *p != ' ')
			p++;
	}
	klen = out->col >= 0 ? (size_t)out->col : strlen(line);
	while (klen && line[klen - 1] == ' ')
		klen--;
	assert_true(klen < sizeof(out->key));
	memcpy(out->key, line, klen);
	out->key[klen] = '\0';
}

/*
 * Zones of a zoneinfo text (modified in place).  The lines of the blocks zpa
 * does not model are left out: from "  per-node stats" up to "  pages free",
 * and from "  pagesets" up to "  node_unreclaimable".
 */
static int parse_zoneinfo(char *text, struct zinfo *z)
{
	struct lines *L = split_lines(text);
	int nz = 0;
	enum { NONE, NODE_STATS, PAGESETS } skip = NONE;

	for (int i = 0; i < L->n; i++) {
		const char *line = L->v[i];
		struct zinfo *cur = nz ? &z[nz - 1] : NULL;

		if (strncmp(line, "Node ", 5) == 0) {
			assert_true(nz < MAX_ZONES);
			cur = &z[nz++];
			memset(cur, 0, sizeof(*cur));
			assert_true(parse_node_zone(line, &cur->nid, cur->name));
			cur->header = line;
			skip = NONE;
			continue;
		}
		assert_non_null(cur);
		if (strcmp(line, "  per-node stats") == 0) {
			skip = NODE_STATS;
			continue;
		}
		if (strcmp(line, "  pagesets") == 0) {
			skip = PAGESETS;
			continue;
		}
		if (skip == NODE_STATS && strncmp(line, "  pages free", 12) == 0)
			skip = NONE;
		if (skip == PAGESETS && strncmp(line, "  node_unreclaimable", 20) == 0)
			skip = NONE;
		if (skip != NONE)
			continue;
		assert_true(cur->n < MAX_ZONE_LINES);
		line_key(line, &cur->kv[cur->n]);
		if (strcmp(cur->kv[cur->n].key, "  start_pfn:") == 0)
			cur->populated = true;
		cur->n++;
	}
	free(L);
	return nz;
}

static const struct kv *zone_field(const struct zinfo *z, const char *key)
{
	for (int i = 0; i < z->n; i++)
		if (strcmp(z->kv[i].key, key) == 0)
			return &z->kv[i];
	return NULL;
}

static uint64_t zone_value(const struct zinfo *z, const char *key)
{
	const struct kv *f = zone_field(z, key);

	if (!f)
		fail_msg("zone %d/%s has no \"%s\"", z->nid, z->name, key);
	return strtoull(f->val, NULL, 10);
}

/* Entries of "(a, b, c)" into v; returns how many. */
static int protection_values(const struct zinfo *z, uint64_t *v, int max)
{
	const struct kv *f = zone_field(z, "        protection:");
	const char *p;
	int n = 0;

	assert_non_null(f);
	p = f->val;
	assert_int_equal(*p, '(');
	p++;
	while (*p && *p != ')') {
		char *end;
		assert_true(n < max);
		v[n++] = strtoull(p, &end, 10);
		assert_true(end != p);
		p = end;
		while (*p == ',' || *p == ' ')
			p++;
	}
	assert_int_equal(*p, ')');
	return n;
}

/* ---------------------------------------------- (a) length semantics */

static void test_show_length_semantics(void **state)
{
	static const char *const views[] = { "zoneinfo", "buddyinfo", "pagetypeinfo", "vmstat" };
	struct zpa_machine *m = machine_default();
	char small[64];

	(void)state;
	for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		char *full = show(m, views[v]);
		long n = (long)strlen(full);
		size_t sizes[] = { 1, 2, 17, (size_t)n - 1, (size_t)n, (size_t)n + 1 };

		assert_true(n > 20);
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t size = sizes[s];
			char *buf = malloc(size + 32);

			assert_non_null(buf);
			memset(buf, 0x5a, size + 32);
			assert_int_equal(zpa_show(m, views[v], buf, size), n);
			/* NUL-terminated prefix of the full text... */
			size_t want = size - 1 < (size_t)n ? size - 1 : (size_t)n;
			assert_int_equal(strlen(buf), want);
			assert_memory_equal(buf, full, want);
			/* ...and nothing written past size. */
			for (size_t i = size; i < size + 32; i++)
				assert_int_equal((unsigned char)buf[i], 0x5a);
			free(buf);
		}
		/* size 0: nothing written at all. */
		memset(small, 0x5a, sizeof(small));
		assert_int_equal(zpa_show(m, views[v], small, 0), n);
		assert_int_equal((unsigned char)small[0], 0x5a);
		free(full);
	}
	memset(small, 0x5a, sizeof(small));
	assert_int_equal(zpa_show(m, "slabinfo", small, sizeof(small)), ZPA_ENOENT);
	assert_int_equal(zpa_show(m, "", NULL, 0), ZPA_ENOENT);
	check_machine(m);
	zpa_machine_destroy(m);
}

/* --------------------------------- (b) view numbers = allocator state */

/* Allocate a few blocks so the free lists are not the boot state. */
static void churn(struct zpa_machine *m, zpa_pfn_t *pfns, unsigned *orders, int n)
{
	for (int i = 0; i < n; i++) {
		orders[i] = (unsigned)(i % 7);
		pfns[i] = zpa_alloc_pages_node(m, i % 2, ZPA_GFP_KERNEL, orders[i]);
		assert_true(pfns[i] != ZPA_PFN_NONE);
	}
	/* Free every other one so that buddies split and some orders are low. */
	for (int i = 0; i < n; i += 2)
		assert_int_equal(zpa_free_pages(m, pfns[i], orders[i]), 0);
}

static void check_buddyinfo_against_zone_info(struct zpa_machine *m)
{
	char *text = show(m, "buddyinfo");
	struct lines *L = split_lines(text);
	unsigned max_order = zpa_max_order(m);
	int lines_seen = 0;

	for (int i = 0; i < L->n; i++) {
		struct zpa_zone_info zi;
		char name[16];
		int nid, pos;
		const char *p;

		assert_true(parse_node_zone(L->v[i], &nid, name));
		assert_int_equal(zpa_zone_info(m, nid, zone_type_by_name(name), &zi), 0);
		assert_true(zi.present > 0);  /* only populated zones are listed */
		p = strchr(L->v[i], ',');
		p = strstr(p, name) + strlen(name);
		for (unsigned o = 0; o < max_order; o++) {
			unsigned long long v;
			assert_int_equal(sscanf(p, "%llu%n", &v, &pos), 1);
			assert_int_equal(v, zi.nr_free[o]);
			p += pos;
		}
		assert_int_equal(strspn(p, " "), strlen(p)); /* no extra columns */
		lines_seen++;
	}
	/* Every populated zone has its line. */
	int populated = 0;
	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(m, (int)nid, t, &zi) == 0 && zi.present)
				populated++;
		}
	assert_int_equal(lines_seen, populated);
	free(L);
	free(text);
}

/* pagetypeinfo's free table: each zone's types sum to buddyinfo's counts. */
static void check_pagetypeinfo_sums(struct zpa_machine *m)
{
	char *text = show(m, "pagetypeinfo");
	struct lines *L = split_lines(text);
	unsigned max_order = zpa_max_order(m);
	int rows = 0;

	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;
			uint64_t sum[ZPA_MAX_ORDER_LIMIT] = { 0 };
			const char *zname = zpa_zone_type_name((enum zpa_zone_type)t);
			int types = 0;

			if (zpa_zone_info(m, (int)nid, t, &zi) != 0 || !zi.present)
				continue;
			for (int i = 0; i < L->n; i++) {
				char name[16];
				int lnid, pos;
				const char *p;

				if (strstr(L->v[i], ", type ") == NULL)
					continue;
				assert_true(parse_node_zone(L->v[i], &lnid, name));
				if (lnid != (int)nid || strcmp(name, zname) != 0)
					continue;
				types++;
				p = strstr(L->v[i], ", type ") + 7;
				while (*p == ' ')
					p++;
				p += strcspn(p, " ");
				for (unsigned o = 0; o < max_order; o++) {
					unsigned long long v;
					assert_int_equal(sscanf(p, " %llu%n", &v, &pos), 1);
					sum[o] += v;
					p += pos;
				}
			}
			assert_true(types >= 5);
			rows++;
			for (unsigned o = 0; o < max_order; o++)
				assert_int_equal(sum[o], zi.nr_free[o]);
		}
	assert_true(rows > 0);
	free(L);
	free(text);
}

/*
 * pagetypeinfo's block table: a zone's pageblocks are those whose first pfn
 * (stepping from the zone start) is memory, so their number times the
 * pageblock size is within a pageblock or two of the present pages on a
 * machine whose holes are pageblock aligned or inside one pageblock (the
 * default machine: the legacy hole, the 1 GiB PCI hole).  Counting the
 * pageblocks of holes, or missing blocks, breaks this.
 */
static void check_blockcounts(struct zpa_machine *m)
{
	char *text = show(m, "pagetypeinfo");
	struct lines *L = split_lines(text);
	uint64_t pb = 0;
	bool in_blocks = false;
	int rows = 0;

	for (int i = 0; i < L->n; i++) {
		struct zpa_zone_info zi;
		char name[16];
		int nid;

		if (sscanf(L->v[i], "Pages per block: %" SCNu64, &pb) == 1)
			in_blocks = false;
		if (strncmp(L->v[i], "Number of blocks type", 21) == 0) {
			in_blocks = true;
			continue;
		}
		if (!in_blocks || !parse_node_zone(L->v[i], &nid, name))
			continue;
		assert_true(pb > 0);
		assert_int_equal(zpa_zone_info(m, nid, zone_type_by_name(name), &zi), 0);
		uint64_t blocks = row_sum(L->v[i]);
		assert_true(blocks * pb < zi.present + 2 * pb);
		assert_true((blocks + 1) * pb >= zi.present);
		assert_true(blocks <= (zi.spanned + pb - 1) / pb + 1);
		rows++;
	}
	assert_true(rows >= 3);
	free(L);
	free(text);
}

static void check_zoneinfo_against_zone_info(struct zpa_machine *m)
{
	char *text = show(m, "zoneinfo");
	struct zinfo *z = calloc(MAX_ZONES, sizeof(*z));
	int nz = parse_zoneinfo(text, z);
	int checked = 0;

	for (int i = 0; i < nz; i++) {
		struct zpa_zone_info zi;
		uint64_t prot[ZPA_NR_ZONE_TYPES + 1];
		int np;

		/* zpa_zone_info() may know only the zones that have memory. */
		if (zpa_zone_info(m, z[i].nid, zone_type_by_name(z[i].name), &zi) != 0) {
			assert_false(z[i].populated);
			continue;
		}
		assert_int_equal(zone_value(&z[i], "  pages free"), zi.free);
		assert_int_equal(zone_value(&z[i], "        boost"), zi.boost);
		/* zoneinfo's watermarks include the boost (Linux's *_wmark_pages()). */
		assert_int_equal(zone_value(&z[i], "        min"), zi.min + zi.boost);
		assert_int_equal(zone_value(&z[i], "        low"), zi.low + zi.boost);
		assert_int_equal(zone_value(&z[i], "        high"), zi.high + zi.boost);
		assert_int_equal(zone_value(&z[i], "        spanned"), zi.spanned);
		assert_int_equal(zone_value(&z[i], "        present"), zi.present);
		assert_int_equal(zone_value(&z[i], "        managed"), zi.managed);
		np = protection_values(&z[i], prot, ZPA_NR_ZONE_TYPES + 1);
		assert_int_equal((unsigned)np, zi.nr_protection);
		for (int k = 0; k < np; k++)
			assert_int_equal(prot[k], zi.protection[k]);
		assert_int_equal(z[i].populated, zi.present != 0);
		if (z[i].populated) {
			assert_int_equal(zone_value(&z[i], "      nr_free_pages"), zi.free);
			assert_int_equal(zone_value(&z[i], "  start_pfn:"), zi.start_pfn);
		}
		checked++;
	}
	/* Every zone index of every node is printed, empty ones too. */
	assert_int_equal((unsigned)nz % zpa_nr_nodes(m), 0);
	assert_true(nz >= (int)zpa_nr_nodes(m) * 3);
	assert_true(checked >= 3);
	free(z);
	free(text);
}

static void test_views_match_allocator(void **state)
{
	struct zpa_machine *m = machine_default();
	zpa_pfn_t pfns[40];
	unsigned orders[40];

	(void)state;
	check_buddyinfo_against_zone_info(m);
	check_pagetypeinfo_sums(m);
	check_zoneinfo_against_zone_info(m);
	check_blockcounts(m);
	churn(m, pfns, orders, 40);
	check_buddyinfo_against_zone_info(m);
	check_pagetypeinfo_sums(m);
	check_zoneinfo_against_zone_info(m);
	check_machine(m);
	zpa_machine_destroy(m);
}

/*
 * A sparse machine: node 0 has RAM at 1-16 MiB and 4-4.25 GiB, so its DMA32
 * zone spans 3 GiB but has no page present; node 1 has no memory at all (it
 * is online for its CPU).  Linux decides "populated" by present pages:
 * zoneinfo gives DMA32 and every zone of node 1 the short form, buddyinfo and
 * pagetypeinfo leave them out, and pagetypeinfo has no section for node 1.
 */
static void test_sparse_machine(void **state)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	struct zpa_zone_info zi;
	struct zinfo *z = calloc(MAX_ZONES, sizeof(*z));
	char *text;
	int nz, sections = 0;

	(void)state;
	assert_non_null(cfg);
	zpa_machine_config_init(cfg);
	cfg->log = quiet_log;
	assert_int_equal(zpa_config_add_range(cfg, 1 * M, 16 * M, ZPA_RANGE_USABLE, 0), 0);
	assert_int_equal(zpa_config_add_range(cfg, 4 * G, 4 * G + 256 * M, ZPA_RANGE_USABLE, 0), 0);
	cfg->nr_nodes = 2;
	cfg->nr_cpus = 2;
	cfg->cpu_node[0] = 0;
	cfg->cpu_node[1] = 1;
	cfg->exact_vmstat = true;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	assert_int_equal(zpa_nr_nodes(m), 2);

	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA32, &zi), 0);
	assert_true(zi.spanned > 0);
	assert_int_equal(zi.present, 0);

	text = show(m, "zoneinfo");
	nz = parse_zoneinfo(text, z);
	assert_true(nz >= 6);
	for (int i = 0; i < nz; i++) {
		bool want = z[i].nid == 0 && (strcmp(z[i].name, "DMA") == 0 ||
					      strcmp(z[i].name, "Normal") == 0);
		assert_int_equal(z[i].populated, want);
		if (!want) /* the short form ends with the protection line */
			assert_string_equal(z[i].kv[z[i].n - 1].key, "        protection:");
	}
	free(text);
	free(z);

	check_buddyinfo_against_zone_info(m);
	check_pagetypeinfo_sums(m);
	check_zoneinfo_against_zone_info(m);
	text = show(m, "pagetypeinfo");
	for (const char *p = text; (p = strstr(p, "Page block order:")) != NULL; p++)
		sections++;
	assert_int_equal(sections, 1);
	assert_null(strstr(text, "Node 1,"));
	assert_null(strstr(text, "Node    1,"));
	free(text);
	check_machine(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------ (c) Linux's layout */

/* The value text with each run of digits replaced by one 'N': "(N, N, N)". */
static void value_shape(const char *val, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = val; *p; p++) {
		if (isdigit((unsigned char)*p) && p != val && isdigit((unsigned char)p[-1]))
			continue;
		assert_true(n + 1 < size);
		out[n++] = isdigit((unsigned char)*p) ? 'N' : *p;
	}
	out[n] = '\0';
}

/*
 * Compare zpa's zoneinfo with the real one zone by zone (matched by node and
 * name): same header line, same keys in the same order, values in the same
 * columns and of the same shape (digits aside), as many protection entries.  With exact_zones the two files must
 * list the same zones and agree on the geometry (spanned, present, managed,
 * start_pfn); otherwise only zones with the same name, node and
 * populated-ness are compared.
 */
static void compare_zoneinfo(struct zpa_machine *m, bool exact_zones)
{
	char *real_text = slurp(REAL_DIR "/proc/zoneinfo");
	char *zpa_text = show(m, "zoneinfo");
	struct zinfo *real = calloc(MAX_ZONES, sizeof(*real));
	struct zinfo *mine = calloc(MAX_ZONES, sizeof(*mine));
	int nreal = parse_zoneinfo(real_text, real);
	int nmine = parse_zoneinfo(zpa_text, mine);
	int compared_full = 0, compared_empty = 0;

	assert_true(nreal > 0);
	if (exact_zones)
		assert_int_equal(nmine, nreal);
	for (int i = 0; i < nmine; i++) {
		const struct zinfo *a = &mine[i], *b = NULL;
		uint64_t pa[8], pb[8];
		char sa[128], sb[128];

		for (int j = 0; j < nreal; j++)
			if (real[j].nid == a->nid && strcmp(real[j].name, a->name) == 0)
				b = &real[j];
		if (exact_zones) {
			if (!b)
				fail_msg("zpa zone %d/%s not in the real zoneinfo", a->nid, a->name);
			assert_int_equal(a->populated, b->populated);
		} else if (!b || a->populated != b->populated) {
			continue;
		}
		assert_string_equal(a->header, b->header);
		if (a->n != b->n)
			print_message("zone %d/%s: %d lines, real %d\n", a->nid, a->name, a->n, b->n);
		for (int k = 0; k < a->n && k < b->n; k++) {
			if (strcmp(a->kv[k].key, b->kv[k].key) != 0 || a->kv[k].col != b->kv[k].col)
				print_message("zone %d/%s line %d: zpa \"%s\"@%d, real \"%s\"@%d\n",
					      a->nid, a->name, k, a->kv[k].key, a->kv[k].col,
					      b->kv[k].key, b->kv[k].col);
			assert_string_equal(a->kv[k].key, b->kv[k].key);
			assert_int_equal(a->kv[k].col, b->kv[k].col);
			value_shape(a->kv[k].val, sa, sizeof(sa));
			value_shape(b->kv[k].val, sb, sizeof(sb));
			assert_string_equal(sa, sb);
		}
		assert_int_equal(a->n, b->n);
		assert_int_equal(protection_values(a, pa, 8), protection_values(b, pb, 8));
		if (exact_zones) {
			static const char *const geometry[] = { "        spanned", "        present",
								"        managed" };
			for (size_t g = 0; g < sizeof(geometry) / sizeof(geometry[0]); g++)
				assert_int_equal(zone_value(a, geometry[g]), zone_value(b, geometry[g]));
			if (a->populated)
				assert_int_equal(zone_value(a, "  start_pfn:"), zone_value(b, "  start_pfn:"));
		}
		if (a->populated)
			compared_full++;
		else
			compared_empty++;
	}
	assert_true(compared_full >= 2);
	assert_true(compared_empty >= 1);
	free(real);
	free(mine);
	free(real_text);
	free(zpa_text);
}

/* Find the line of lines L that starts with the first `prefix_len` bytes of want. */
static const char *find_line(const struct lines *L, const char *want, size_t prefix_len)
{
	for (int i = 0; i < L->n; i++)
		if (strncmp(L->v[i], want, prefix_len) == 0)
			return L->v[i];
	return NULL;
}

/*
 * Rows keyed by their leading text (up to and including the zone name, or
 * the "type <name>" for pagetypeinfo's free table): same prefix, same token
 * end columns after it, same length.
 */
static void compare_rows(const char *a, const char *b, size_t prefix_len)
{
	int ea[64], eb[64];
	int na, nb;

	assert_memory_equal(a, b, prefix_len);
	na = token_ends(a, (int)prefix_len, ea, 64);
	nb = token_ends(b, (int)prefix_len, eb, 64);
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++)
		assert_int_equal(ea[i], eb[i]);
	assert_int_equal(strlen(a), strlen(b));
}

/* Length of "Node N, zone NAME" (or "..., type TYPE") prefix of a row. */
static size_t row_key_len(const char *row)
{
	const char *type = strstr(row, ", type ");
	const char *p;

	if (type) {
		p = type + 7;
		while (*p == ' ')
			p++;
	} else {
		p = strstr(row, "zone ") + 5;
		while (*p == ' ')
			p++;
	}
	p += strcspn(p, " ");
	return (size_t)(p - row);
}

static void compare_buddyinfo(struct zpa_machine *m, bool exact_zones)
{
	char *real_text = slurp(REAL_DIR "/proc/buddyinfo");
	char *zpa_text = show(m, "buddyinfo");
	struct lines *R = split_lines(real_text), *Z = split_lines(zpa_text);
	int compared = 0;

	if (exact_zones)
		assert_int_equal(Z->n, R->n);
	for (int i = 0; i < Z->n; i++) {
		size_t k = row_key_len(Z->v[i]);
		const char *r = find_line(R, Z->v[i], k);

		if (!r) {
			if (exact_zones)
				fail_msg("zpa buddyinfo row \"%s\" not in the real file", Z->v[i]);
			continue;
		}
		compare_rows(Z->v[i], r, k);
		compared++;
	}
	assert_true(compared >= 2);
	free(R);
	free(Z);
	free(real_text);
	free(zpa_text);
}

/* Sum of the numbers after the key of a row. */
static uint64_t row_sum(const char *row)
{
	const char *p = row + row_key_len(row);
	uint64_t sum = 0;
	unsigned long long v;
	int pos;

	while (sscanf(p, " %llu%n", &v, &pos) == 1) {
		sum += v;
		p += pos;
	}
	return sum;
}

static void compare_pagetypeinfo(struct zpa_machine *m, bool exact_zones)
{
	char *real_text = slurp(REAL_DIR "/proc/pagetypeinfo");
	char *zpa_text = show(m, "pagetypeinfo");
	struct lines *R = split_lines(real_text), *Z = split_lines(zpa_text);
	int sections = 0, free_rows = 0, block_rows = 0;
	bool in_blocks = false;

	if (exact_zones)
		assert_int_equal(Z->n, R->n);
	for (int i = 0; i < Z->n; i++) {
		const char *z = Z->v[i];

		if (strncmp(z, "Page block order:", 17) == 0) {
			/* A node's section: these three lines and two table headers are fixed text. */
			assert_true(i + 3 < Z->n);
			assert_string_equal(z, R->v[0]);
			assert_string_equal(Z->v[i + 1], R->v[1]);
			assert_string_equal(Z->v[i + 2], R->v[2]);
			assert_string_equal(Z->v[i + 3], R->v[3]);
			sections++;
			in_blocks = false;
			i += 3;
			continue;
		}
		if (z[0] == '\0') {
			assert_true(i + 1 < Z->n);
			assert_string_equal(Z->v[i + 1], find_line(R, "Number of blocks type", 21));
			in_blocks = true;
			i++;
			continue;
		}
		size_t k = row_key_len(z);
		const char *r = find_line(R, z, k);
		if (!r) {
			if (exact_zones)
				fail_msg("zpa pagetypeinfo row \"%s\" not in the real file", z);
			continue;
		}
		compare_rows(z, r, k);
		if (in_blocks) {
			/* Pageblocks per zone: the same geometry gives the same total. */
			if (exact_zones)
				assert_int_equal(row_sum(z), row_sum(r));
			block_rows++;
		} else {
			free_rows++;
		}
	}
	assert_true(sections >= 1);
	if (exact_zones) {
		int real_sections = 0;
		for (int i = 0; i < R->n; i++)
			real_sections += strncmp(R->v[i], "Page block order:", 17) == 0;
		assert_int_equal(sections, real_sections);
	}
	assert_true(free_rows >= 10);
	assert_true(block_rows >= 2);
	free(R);
	free(Z);
	free(real_text);
	free(zpa_text);
}

static void test_layout_default_machine(void **state)
{
	struct zpa_machine *m = machine_default();

	(void)state;
	compare_zoneinfo(m, false);
	compare_buddyinfo(m, false);
	compare_pagetypeinfo(m, false);
	check_machine(m);
	zpa_machine_destroy(m);
}

static void test_layout_snapshot_machine(void **state)
{
	struct zpa_machine *m = machine_snapshot();

	(void)state;
	compare_zoneinfo(m, true);
	compare_buddyinfo(m, true);
	compare_pagetypeinfo(m, true);
	check_machine(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------- (d) vmstat */

static uint64_t vmstat(struct zpa_machine *m, const char *name)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, name, &ok);

	if (!ok)
		fail_msg("zpa_vmstat(%s) not found", name);
	return v;
}

static const char *pgalloc_name(int zone_type)
{
	static const char *const names[ZPA_NR_ZONE_TYPES] = {
		"pgalloc_dma", "pgalloc_dma32", "pgalloc_normal",
		"pgalloc_high", "pgalloc_movable", "pgalloc_device",
	};
	return names[zone_type];
}

/* Sum of zpa_zone_info()'s free (buddy lists) and, if pcp, of its pcp pages. */
static uint64_t zones_free(struct zpa_machine *m, uint64_t *pcp)
{
	uint64_t sum = 0, on_pcp = 0;

	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(m, (int)nid, t, &zi) == 0) {
				sum += zi.free;
				on_pcp += zi.pcp;
			}
		}
	if (pcp)
		*pcp = on_pcp;
	return sum;
}

static void test_vmstat_counts_allocations(void **state)
{
	struct zpa_machine *m = machine_default();
	/* Orders above PAGE_ALLOC_COSTLY_ORDER and below pageblock_order: Linux
	 * serves them from the buddy lists directly, never through per-CPU lists. */
	static const struct { int nid; zpa_gfp_t gfp; unsigned order; } reqs[] = {
		{ 0, ZPA_GFP_KERNEL, 4 }, { 1, ZPA_GFP_KERNEL, 5 }, { 0, ZPA_GFP_DMA32, 6 },
		{ 0, ZPA_GFP_DMA | ZPA_GFP_KERNEL, 4 }, { 1, ZPA_GFP_HIGHUSER_MOVABLE, 7 },
	};
	enum { N = sizeof(reqs) / sizeof(reqs[0]) };
	uint64_t pgalloc0[ZPA_NR_ZONE_TYPES], expect[ZPA_NR_ZONE_TYPES] = { 0 };
	uint64_t free0, pgfree0, pcp0, pcp1, total = 0;
	zpa_pfn_t pfn[N];
	bool ok;

	(void)state;
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
		pgalloc0[t] = zpa_vmstat(m, pgalloc_name(t), &ok);
	free0 = vmstat(m, "nr_free_pages");
	pgfree0 = vmstat(m, "pgfree");
	assert_int_equal(free0, zones_free(m, &pcp0));
	assert_int_equal(free0 + pcp0, zpa_total_free(m));

	for (int i = 0; i < N; i++) {
		struct zpa_page_info pi;

		pfn[i] = zpa_alloc_pages_node(m, reqs[i].nid, reqs[i].gfp, reqs[i].order);
		assert_true(pfn[i] != ZPA_PFN_NONE);
		assert_int_equal(zpa_page_info(m, pfn[i], &pi), 0);
		expect[pi.zone_type] += 1ull << reqs[i].order;
		total += 1ull << reqs[i].order;
	}
	/* The GFP_DMA request came from DMA: its counter must have moved. */
	assert_true(expect[ZPA_ZONE_DMA] >= 16);
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		uint64_t v = zpa_vmstat(m, pgalloc_name(t), &ok);
		if (!ok) {
			assert_int_equal(expect[t], 0);
			continue;
		}
		assert_int_equal(v - pgalloc0[t], expect[t]);
	}
	assert_int_equal(vmstat(m, "nr_free_pages"), free0 - total);
	assert_int_equal(vmstat(m, "nr_free_pages"), zones_free(m, NULL));
	assert_int_equal(vmstat(m, "pgfree"), pgfree0);

	for (int i = 0; i < N; i++)
		assert_int_equal(zpa_free_pages(m, pfn[i], reqs[i].order), 0);
	assert_int_equal(vmstat(m, "nr_free_pages"), free0);
	assert_int_equal(vmstat(m, "pgfree") - pgfree0, total);
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		uint64_t v = zpa_vmstat(m, pgalloc_name(t), &ok);
		if (ok)
			assert_int_equal(v - pgalloc0[t], expect[t]);
	}

	/*
	 * Order-0 pages come through the per-CPU lists, which refill in batches:
	 * pgalloc still counts exactly the pages handed out, and nr_free_pages
	 * (buddy lists only, like Linux's) plus the pages parked on per-CPU
	 * lists drops by exactly that many.
	 */
	{
		zpa_pfn_t small[10];
		uint64_t base[ZPA_NR_ZONE_TYPES], got[ZPA_NR_ZONE_TYPES] = { 0 };
		uint64_t free_before = vmstat(m, "nr_free_pages");

		zones_free(m, &pcp0);
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			base[t] = zpa_vmstat(m, pgalloc_name(t), &ok);
		for (int i = 0; i < 10; i++) {
			struct zpa_page_info pi;

			small[i] = zpa_alloc_pages_node(m, i % 2, ZPA_GFP_KERNEL, 0);
			assert_true(small[i] != ZPA_PFN_NONE);
			assert_int_equal(zpa_page_info(m, small[i], &pi), 0);
			got[pi.zone_type]++;
		}
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			assert_int_equal(zpa_vmstat(m, pgalloc_name(t), &ok) - base[t], got[t]);
		assert_int_equal(vmstat(m, "nr_free_pages"), zones_free(m, &pcp1));
		assert_int_equal(free_before + pcp0 - (vmstat(m, "nr_free_pages") + pcp1), 10);
		for (int i = 0; i < 10; i++)
			assert_int_equal(zpa_free_pages(m, small[i], 0), 0);
		assert_int_equal(vmstat(m, "pgfree") - pgfree0, total + 10);
	}

	assert_int_equal(zpa_vmstat(m, "no_such_counter", &ok), 0);
	assert_false(ok);
	check_machine(m);
	zpa_machine_destroy(m);
}

/*
 * The vmstat view: each line reads back through zpa_vmstat(); names are
 * unique; the ones Linux also has appear in the order of the real file;
 * zpa's own names (zpa_*) come after all of Linux's.  numa_* equal the sums
 * of zoneinfo's per-zone lines.
 */
static void test_vmstat_view(void **state)
{
	struct zpa_machine *m = machine_default();
	char *real_text = slurp(REAL_DIR "/proc/vmstat");
	struct lines *R = split_lines(real_text);
	zpa_pfn_t pfns[20];
	unsigned orders[20];
	char *text, *zi_text;
	struct lines *Z;
	int last_real = -1, linux_names = 0;
	bool seen_zpa = false;

	(void)state;
	churn(m, pfns, orders, 20);
	text = show(m, "vmstat");
	Z = split_lines(text);
	for (int i = 0; i < Z->n; i++) {
		char name[64];
		unsigned long long v;
		int j;

		assert_int_equal(sscanf(Z->v[i], "%63s %llu", name, &v), 2);
		assert_int_equal(vmstat(m, name), v);
		for (int k = 0; k < i; k++)
			assert_false(strncmp(Z->v[k], name, strlen(name)) == 0 &&
				     Z->v[k][strlen(name)] == ' ');
		if (strncmp(name, "zpa_", 4) == 0) {
			seen_zpa = true;
			continue;
		}
		assert_false(seen_zpa);
		for (j = 0; j < R->n; j++)
			if (strncmp(R->v[j], name, strlen(name)) == 0 && R->v[j][strlen(name)] == ' ')
				break;
		if (j == R->n)
			fail_msg("vmstat name %s is not Linux's", name);
		assert_true(j > last_real);
		last_real = j;
		linux_names++;
	}
	assert_true(linux_names >= 20);

	/* numa_* in vmstat = sum over zoneinfo's zones. */
	zi_text = show(m, "zoneinfo");
	{
		struct zinfo *z = calloc(MAX_ZONES, sizeof(*z));
		int nz = parse_zoneinfo(zi_text, z);
		static const char *const numa[] = { "numa_hit", "numa_miss", "numa_foreign",
						    "numa_interleave", "numa_local", "numa_other" };
		for (size_t k = 0; k < sizeof(numa) / sizeof(numa[0]); k++) {
			char key[32];
			uint64_t sum = 0;
			snprintf(key, sizeof(key), "      %s", numa[k]);
			for (int i = 0; i < nz; i++)
				if (z[i].populated)
					sum += zone_value(&z[i], key);
			assert_int_equal(vmstat(m, numa[k]), sum);
		}
		free(z);
	}
	free(zi_text);
	free(Z);
	free(text);
	free(R);
	free(real_text);
	check_machine(m);
	zpa_machine_destroy(m);
}

/*
 * Views while other threads allocate and free: each view takes zone locks
 * and pageset sums in turn, so it must neither deadlock with the allocation
 * paths (lock order pageset -> zone) nor print a torn line.  Every buddyinfo
 * line printed under load still has all its columns.
 */
struct churner {
	struct zpa_machine *m;
	int nid;
	_Atomic int *stop;
};

static void *churn_thread(void *arg)
{
	struct churner *c = arg;
	zpa_pfn_t held[16];
	unsigned n = 0;

	while (!atomic_load(c->stop)) {
		unsigned order = (n % 3 == 0) ? 4 : 0;
		zpa_pfn_t pfn = zpa_alloc_pages_node(c->m, c->nid, ZPA_GFP_KERNEL, order);
		if (pfn != ZPA_PFN_NONE)
			zpa_free_pages(c->m, pfn, order);
		held[n % 16] = zpa_alloc_pages_node(c->m, c->nid, ZPA_GFP_KERNEL, 0);
		if (n % 16 == 15)
			for (int i = 0; i < 16; i++)
				if (held[i] != ZPA_PFN_NONE)
					zpa_free_pages(c->m, held[i], 0);
		n++;
	}
	if (n % 16)
		for (unsigned i = 0; i < n % 16; i++)
			if (held[i] != ZPA_PFN_NONE)
				zpa_free_pages(c->m, held[i], 0);
	return NULL;
}

static void test_views_under_load(void **state)
{
	static const char *const views[] = { "zoneinfo", "buddyinfo", "pagetypeinfo", "vmstat" };
	struct zpa_machine *m = machine_default();
	_Atomic int stop = 0;
	struct churner c[2] = { { m, 0, &stop }, { m, 1, &stop } };
	pthread_t th[2];
	unsigned max_order = zpa_max_order(m);

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn_thread, &c[i]), 0);
	for (int round = 0; round < 40; round++) {
		/* One call into a roomy buffer: the text changes between calls. */
		size_t size = 1 << 20;
		char *text = malloc(size);
		long n;

		assert_non_null(text);
		n = zpa_show(m, views[round % 4], text, size);
		assert_true(n > 0 && (size_t)n < size);
		assert_int_equal(strlen(text), (size_t)n);
		if (round % 4 == 1) {
			struct lines *L = split_lines(text);
			for (int i = 0; i < L->n; i++) {
				int ends[64];
				size_t k = row_key_len(L->v[i]);
				assert_int_equal(token_ends(L->v[i], (int)k, ends, 64), (int)max_order);
			}
			free(L);
		}
		free(text);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	check_machine(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_length_semantics),
		cmocka_unit_test(test_views_match_allocator),
		cmocka_unit_test(test_sparse_machine),
		cmocka_unit_test(test_layout_default_machine),
		cmocka_unit_test(test_layout_snapshot_machine),
		cmocka_unit_test(test_vmstat_counts_allocations),
		cmocka_unit_test(test_vmstat_view),
		cmocka_unit_test(test_views_under_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
