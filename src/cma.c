/*
 * cma.c - the Contiguous Memory Allocator (Linux 6.1's mm/cma.c) and the
 * allocator's CMA rules.
 *
 * An area is declared in the machine config (zpa_config_add_cma(),
 * Linux's cma=size@base / cma_declare_contiguous()).  Boot leaves its pages
 * reserved, as memblock_reserve() does (mm_init.c asks cma_area_pfn()); then,
 * before the watermarks are computed (Linux's core_initcall),
 * cma_init_reserved_areas() frees each of its pageblocks as MIGRATE_CMA:
 * the pages become managed, zone->cma_pages grows, and they sit on the CMA
 * free lists, counted in NR_FREE_PAGES and NR_FREE_CMA_PAGES.
 *
 * Allocation rules (page_alloc.c, buddy.c): only requests with ALLOC_CMA
 * (movable ones) may take CMA pages.  __rmqueue() takes them first while
 * free CMA pages are more than half of the zone's free pages
 * (rmqueue_cma_first()), and otherwise when the movable lists are empty
 * (__rmqueue_cma_fallback()); the watermark checks leave free CMA pages out
 * for everybody else.  CMA pageblocks never change type and never merge
 * with other types.
 *
 * cma_alloc() keeps a bitmap of the pages handed out (one bit per page,
 * order_per_bit 0), reserves the lowest suitably aligned free run under the
 * area's lock, and takes it with alloc_contig_range(.., MIGRATE_CMA) under
 * m->cma_mutex; a run that is busy (pages in use by movable allocations,
 * which zpa cannot migrate yet) is released and the search moves on.
 *
 * Invariant: a set bit means the page was given to a cma_alloc() caller;
 * `used` is the number of set bits.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"

struct zpa_cma {
	struct zpa_machine *m;
	char name[ZPA_CMA_NAME_MAX];
	unsigned long base_pfn, count;          /* pages */
	struct zone *zone;
	zpa_spinlock_t lock;                    /* bitmap and used */
	uint64_t *bitmap;                       /* one bit per page */
	unsigned long used;
	_Atomic unsigned long alloc_pages_success, alloc_pages_fail;
};

/* ---- config ---- */

int zpa_config_add_cma(struct zpa_machine_config *cfg, uint64_t base, uint64_t size, const char *name)
{
	if (!cfg || !size || base + size < base)
		return ZPA_EINVAL;
	if (cfg->nr_cma_areas >= ZPA_MAX_CMA_AREAS)
		return ZPA_ENOMEM;
	struct zpa_cma_config *c = &cfg->cma_areas[cfg->nr_cma_areas];
	c->base = base;
	c->size = size;
	if (name && *name)
		snprintf(c->name, sizeof c->name, "%s", name);
	else
		snprintf(c->name, sizeof c->name, "cma%u", cfg->nr_cma_areas);
	cfg->nr_cma_areas++;
	return 0;
}

bool cma_area_pfn(const struct zpa_machine *m, unsigned long pfn)
{
	uint64_t phys = (uint64_t)pfn << m->page_shift;
	for (unsigned i = 0; i < m->cfg.nr_cma_areas && i < ZPA_MAX_CMA_AREAS; i++) {
		const struct zpa_cma_config *c = &m->cfg.cma_areas[i];
		if (phys >= c->base && phys - c->base < c->size)
			return true;
	}
	return false;
}

/* ---- activation (cma_init_reserved_mem + cma_activate_area) ---- */

/* Why area c cannot be used, or NULL.  Sets *zone_out on success. */
static const char *cma_check_area(struct zpa_machine *m, unsigned idx, struct zone **zone_out)
{
	const struct zpa_cma_config *c = &m->cfg.cma_areas[idx];
	uint64_t align = (uint64_t)m->pageblock_nr_pages << m->page_shift;
	if (!c->size || c->base + c->size < c->base)
		return "empty or wrapping range";
	if ((c->base | c->size) & (align - 1))
		return "base and size must be multiples of the pageblock size";
	for (unsigned j = 0; j < idx; j++) {
		const struct zpa_cma_config *o = &m->cfg.cma_areas[j];
		if (c->base < o->base + o->size && o->base < c->base + c->size)
			return "overlaps another CMA area";
	}
	for (unsigned i = 0; i < m->cfg.nr_ranges; i++) {
		const struct zpa_range *r = &m->cfg.ranges[i];
		if (r->type == ZPA_RANGE_RESERVED && c->base < r->end && r->start < c->base + c->size)
			return "overlaps a reserved range";
	}
	unsigned long start = (unsigned long)(c->base >> m->page_shift);
	unsigned long end = (unsigned long)((c->base + c->size) >> m->page_shift);
	pg_data_t *pgdat = pfn_to_pgdat(m, start);
	if (!pgdat || end - 1 - pgdat->node_start_pfn >= pgdat->node_spanned_pages)
		return "not inside one node";
	uint32_t zone_bits = pfn_to_page_nid(pgdat, start)->flags & PG_ZONE_MASK;
	for (unsigned long pfn = start; pfn < end; pfn++) {
		uint32_t f = pfn_to_page_nid(pgdat, pfn)->flags;
		if (f & PG_hole)
			return "covers a memory hole";
		if ((f & PG_ZONE_MASK) != zone_bits)
			return "not inside one zone";
		if (!(f & PG_reserved) || (f & (PG_buddy | PG_alloc)))
			return "its pages were not held back at boot";
	}
	*zone_out = &pgdat->node_zones[zone_bits >> PG_ZONE_SHIFT];
	return NULL;
}

/*
 * init_cma_reserved_pageblock(): the pageblock at pfn becomes MIGRATE_CMA
 * and its pages are freed as one block, now managed.  Zone lock held.
 */
/* Zone lock held (by cma_init_reserved_areas). */
static void init_cma_reserved_pageblock(struct zpa_machine *m, struct zone *z, unsigned long pfn)
{
	struct zpa_page *page = pfn_to_page_nid(z->zone_pgdat, pfn);
	for (unsigned long i = 0; i < m->pageblock_nr_pages; i++) {
		page[i].flags &= ~PG_reserved;
		page[i].refcount = 0;
	}
	set_pageblock_migratetype(z, pfn, ZPA_MIGRATE_CMA);
	z->managed_pages += m->pageblock_nr_pages;
	z->cma_pages += m->pageblock_nr_pages;
	__free_one_page(m, z, pfn, m->pageblock_order, ZPA_MIGRATE_CMA, false);
}

int cma_init_reserved_areas(struct zpa_machine *m)
{
	unsigned n = m->cfg.nr_cma_areas;
	struct zone *zones[ZPA_MAX_CMA_AREAS];

	if (!n)
		return 0;
	if (n > ZPA_MAX_CMA_AREAS)
		return ZPA_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		const char *why = cma_check_area(m, i, &zones[i]);
		if (why) {
			zpa_log(m, ZPA_LOG_ERR, "CMA area %s could not be activated: %s", m->cfg.cma_areas[i].name, why);
			return ZPA_EINVAL;
		}
	}
	m->cma_areas = zpa_port_zalloc(n * sizeof(struct zpa_cma));
	if (!m->cma_areas)
		return ZPA_ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct zpa_cma *cma = &m->cma_areas[i];
		const struct zpa_cma_config *c = &m->cfg.cma_areas[i];
		cma->m = m;
		snprintf(cma->name, sizeof cma->name, "%s", c->name);
		cma->base_pfn = (unsigned long)(c->base >> m->page_shift);
		cma->count = (unsigned long)(c->size >> m->page_shift);
		cma->zone = zones[i];
		zpa_spin_lock_init(&cma->lock);
		cma->bitmap = zpa_port_zalloc(((cma->count + 63) / 64) * sizeof(uint64_t));
		if (!cma->bitmap)
			return ZPA_ENOMEM; /* cma_free_areas() releases what was made */
		m->cma_area_count = i + 1;
		zpa_spin_lock(&cma->zone->lock);
		for (unsigned long pfn = cma->base_pfn; pfn < cma->base_pfn + cma->count; pfn += m->pageblock_nr_pages)
			init_cma_reserved_pageblock(m, cma->zone, pfn);
		zpa_spin_unlock(&cma->zone->lock);
		zpa_log(m, ZPA_LOG_INFO, "cma: area %s: %lu pages at pfn %#lx, node %d zone %s", cma->name, cma->count,
			cma->base_pfn, cma->zone->zone_pgdat->node_id, cma->zone->name);
	}
	m->has_cma = true;
	return 0;
}

void cma_free_areas(struct zpa_machine *m)
{
	if (!m->cma_areas)
		return;
	for (unsigned i = 0; i < m->cfg.nr_cma_areas && i < ZPA_MAX_CMA_AREAS; i++)
		zpa_port_free(m->cma_areas[i].bitmap);
	zpa_port_free(m->cma_areas);
	m->cma_areas = NULL;
	m->cma_area_count = 0;
}

/* ---- lookup ---- */

unsigned zpa_cma_count(const struct zpa_machine *m)
{
	return m ? m->cma_area_count : 0;
}

struct zpa_cma *zpa_cma_area(struct zpa_machine *m, unsigned idx)
{
	return m && idx < m->cma_area_count ? &m->cma_areas[idx] : NULL;
}

struct zpa_cma *zpa_cma_find(struct zpa_machine *m, const char *name)
{
	for (unsigned i = 0; m && name && i < m->cma_area_count; i++)
		if (!strcmp(m->cma_areas[i].name, name))
			return &m->cma_areas[i];
	return NULL;
}

int zpa_cma_info(struct zpa_cma *cma, struct zpa_cma_info *out)
{
	if (!cma || !out)
		return ZPA_EINVAL;
	memset(out, 0, sizeof *out);
	out->name = cma->name;
	out->base_pfn = cma->base_pfn;
	out->count = cma->count;
	zpa_spin_lock(&cma->lock);
	out->used = cma->used;
	zpa_spin_unlock(&cma->lock);
	out->alloc_pages_success = atomic_load(&cma->alloc_pages_success);
	out->alloc_pages_fail = atomic_load(&cma->alloc_pages_fail);
	out->nid = cma->zone->zone_pgdat->node_id;
	out->zone_type = cma->zone->type;
	return 0;
}

/* ---- the bitmap ---- */

static inline bool bit_test(const uint64_t *map, unsigned long i)
{
	return (map[i / 64] >> (i % 64)) & 1;
}

/* Set or clear bits [start, start + nr) and keep `used`.  cma->lock held. */
static void bitmap_assign(struct zpa_cma *cma, unsigned long start, unsigned long nr, bool set)
{
	for (unsigned long i = start; i < start + nr; i++) {
		uint64_t bit = 1ull << (i % 64);
		if (set)
			cma->bitmap[i / 64] |= bit;
		else
			cma->bitmap[i / 64] &= ~bit;
	}
	cma->used = set ? cma->used + nr : cma->used - nr;
}

/*
 * bitmap_find_next_zero_area_off(): the first index >= start of a run of nr
 * clear bits below size such that index + align_offset is a multiple of
 * align_mask + 1; a value >= size when there is none.
 */
static unsigned long bitmap_find_next_zero_area_off(const uint64_t *map, unsigned long size, unsigned long start,
						    unsigned long nr, unsigned long align_mask,
						    unsigned long align_offset)
{
	for (;;) {
		unsigned long index = start;
		while (index < size && bit_test(map, index))
			index++;
		index = ((index + align_offset + align_mask) & ~align_mask) - align_offset;
		unsigned long end = index + nr;
		if (end > size || end < index)
			return size + 1;
		unsigned long i = index;
		while (i < end && !bit_test(map, i))
			i++;
		if (i == end)
			return index;
		start = i + 1;
	}
}

/* ---- cma_alloc / cma_release ---- */

zpa_pfn_t zpa_cma_alloc(struct zpa_cma *cma, unsigned long count, unsigned align, bool no_warn)
{
	zpa_pfn_t result = ZPA_PFN_NONE;
	int ret = ZPA_ENOMEM;

	if (!cma || !cma->count || !cma->bitmap)
		return ZPA_PFN_NONE;
	struct zpa_machine *m = cma->m;
	if (!count || count > cma->count || align >= 8 * sizeof(unsigned long))
		goto out;
	unsigned long mask = align ? (1ul << align) - 1 : 0;
	unsigned long offset = cma->base_pfn & mask;
	unsigned long start = 0;
	for (;;) {
		zpa_spin_lock(&cma->lock);
		unsigned long bitmap_no = bitmap_find_next_zero_area_off(cma->bitmap, cma->count, start, count, mask, offset);
		if (bitmap_no >= cma->count) {
			zpa_spin_unlock(&cma->lock);
			break;
		}
		bitmap_assign(cma, bitmap_no, count, true);
		/* The run is ours now; the lock need not be held while it is taken. */
		zpa_spin_unlock(&cma->lock);

		unsigned long pfn = cma->base_pfn + bitmap_no;
		zpa_spin_lock(&m->cma_mutex);
		ret = alloc_contig_range(m, pfn, pfn + count, ZPA_MIGRATE_CMA,
					 ZPA_GFP_KERNEL | (no_warn ? ZPA___GFP_NOWARN : 0));
		zpa_spin_unlock(&m->cma_mutex);
		if (!ret) {
			result = pfn;
			break;
		}
		zpa_spin_lock(&cma->lock);
		bitmap_assign(cma, bitmap_no, count, false);
		zpa_spin_unlock(&cma->lock);
		if (ret != ZPA_EBUSY)
			break;
		zpa_log(m, ZPA_LOG_DEBUG, "cma_alloc: %s: range at pfn %#lx is busy, retrying", cma->name, pfn);
		start = bitmap_no + mask + 1; /* try a bit further on */
	}
	if (result == ZPA_PFN_NONE && !no_warn)
		zpa_log(m, ZPA_LOG_ERR, "cma_alloc: %s: alloc failed, req-size: %lu pages, ret: %d (%s)", cma->name,
			count, ret, zpa_strerror(ret));
out:
	if (result != ZPA_PFN_NONE)
		atomic_fetch_add(&cma->alloc_pages_success, count);
	else
		atomic_fetch_add(&cma->alloc_pages_fail, count);
	return result;
}

int zpa_cma_release(struct zpa_cma *cma, zpa_pfn_t pfn, unsigned long count)
{
	if (!cma || pfn < cma->base_pfn || pfn >= cma->base_pfn + cma->count ||
	    count > cma->base_pfn + cma->count - pfn)
		return ZPA_EINVAL;
	int err = zpa_free_contig_range(cma->m, pfn, count);
	zpa_spin_lock(&cma->lock);
	unsigned long first = (unsigned long)pfn - cma->base_pfn, set = 0;
	for (unsigned long i = first; i < first + count; i++)
		set += bit_test(cma->bitmap, i);
	/* cma_clear_bitmap(): only bits that are set count down `used`. */
	for (unsigned long i = first; i < first + count; i++)
		cma->bitmap[i / 64] &= ~(1ull << (i % 64));
	cma->used -= set;
	zpa_spin_unlock(&cma->lock);
	return err;
}

/* ---- the allocator's CMA path ---- */

struct zpa_page *__rmqueue_cma_fallback(struct zone *z, unsigned order)
{
	return __rmqueue_smallest(z, order, ZPA_MIGRATE_CMA);
}
