/*
 * mm_init.c - from a memory map to nodes, zones and a populated buddy
 * allocator (Linux's free_area_init() and memblock_free_all()).
 *
 * The layout follows Linux 6.1 on x86-64:
 *   - RAM is the union of the config's usable ranges, rounded inward to whole
 *     pages; each belongs to one node.  A node spans its first to last RAM pfn.
 *   - Zone limits are absolute: DMA below dma_limit, DMA32 below dma32_limit,
 *     Normal up to the end of low memory, HighMem above highmem_start.  The
 *     lowest zone starts at the first RAM pfn of the machine.  Each node's zone
 *     is that interval clamped to the node's span (zone_spanned_pages_in_node).
 *   - ZONE_MOVABLE takes the top of each node's highest zone according to
 *     kernelcore=/movablecore= (find_zone_movable_pfns_for_nodes), its start
 *     rounded up to MAX_ORDER_NR_PAGES.
 *   - present = RAM pages in the span; managed = present - reserved pages.
 *   - Every page starts reserved; the managed ones are then freed into the
 *     buddy lists in naturally aligned blocks of up to MAX_ORDER-1, to the
 *     tail of the lists, as memblock_free_all() does at boot.  Pageblocks get
 *     MIGRATE_MOVABLE when their first pfn is RAM inside the zone
 *     (memmap_init_range); others stay MIGRATE_UNMOVABLE.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static const char *const zone_names[ZPA_NR_ZONE_TYPES] = {
	"DMA", "DMA32", "Normal", "HighMem", "Movable", "Device",
};

const char *zpa_zone_type_name(enum zpa_zone_type type)
{
	return (unsigned)type < ZPA_NR_ZONE_TYPES ? zone_names[type] : "?";
}

void zpa_machine_config_init(struct zpa_machine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_shift = 12;
	cfg->max_order = 11;
	cfg->pageblock_order = 9;
	cfg->dma_limit = 16ull << 20;
	cfg->dma32_limit = 4ull << 30;
	cfg->zone_device = true;
	cfg->min_free_kbytes = -1;
	cfg->watermark_scale_factor = -1;
	cfg->watermark_boost_factor = -1;
	for (int i = 0; i < ZPA_NR_ZONE_TYPES; i++)
		cfg->lowmem_reserve_ratio[i] = -1;
	cfg->percpu_pagelist_high_fraction = -1;
	cfg->thp_enabled = 1;
	cfg->log_level = ZPA_LOG_WARN;
}

int zpa_config_add_range(struct zpa_machine_config *cfg, uint64_t start, uint64_t end,
			 int type, int nid)
{
	if (end <= start || (type != ZPA_RANGE_USABLE && type != ZPA_RANGE_RESERVED) ||
	    (type == ZPA_RANGE_USABLE && (nid < 0 || nid >= ZPA_MAX_NODES)))
		return ZPA_EINVAL;
	if (cfg->nr_ranges >= ZPA_MAX_RANGES)
		return ZPA_ENOMEM;
	cfg->ranges[cfg->nr_ranges++] = (struct zpa_range){ start, end, type, nid };
	if (type == ZPA_RANGE_USABLE && (unsigned)nid >= cfg->nr_nodes)
		cfg->nr_nodes = (unsigned)nid + 1;
	return 0;
}

void zpa_machine_config_default(struct zpa_machine_config *cfg)
{
	const uint64_t G = 1ull << 30, M = 1ull << 20, K = 1ull << 10;

	zpa_machine_config_init(cfg);
	/* Node 0: 4 GiB of RAM laid out like a PC: 640 KiB low, the legacy hole,
	 * RAM to 3 GiB, the PCI hole, then 1 GiB above 4 GiB.  The first page and
	 * the low 1 MiB are reserved as x86 does. */
	zpa_config_add_range(cfg, 4 * K, 636 * K, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(cfg, 1 * M, 3 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(cfg, 4 * G, 5 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(cfg, 0, 1 * M, ZPA_RANGE_RESERVED, 0);
	/* ~40 MiB for the kernel image and memmap near the top of node 0. */
	zpa_config_add_range(cfg, 5 * G - 40 * M, 5 * G, ZPA_RANGE_RESERVED, 0);
	/* Node 1: 4 GiB. */
	zpa_config_add_range(cfg, 5 * G, 9 * G, ZPA_RANGE_USABLE, 1);
	zpa_config_add_range(cfg, 9 * G - 32 * M, 9 * G, ZPA_RANGE_RESERVED, 1);
	cfg->nr_nodes = 2;
	cfg->nr_cpus = 2;
	cfg->cpu_node[0] = 0;
	cfg->cpu_node[1] = 1;
}

/* ---------------------------------------------------------------------- */

/* RAM pfn ranges of one node, sorted, merged. */
struct pfn_range {
	unsigned long start, end;
	int nid;
};

struct layout {
	struct pfn_range ram[ZPA_MAX_RANGES];
	unsigned nr_ram;
	struct pfn_range resv[ZPA_MAX_RANGES];
	unsigned nr_resv;
	unsigned long zone_low[ZPA_NR_ZONE_TYPES], zone_high[ZPA_NR_ZONE_TYPES]; /* by zone index */
	unsigned long zone_movable_pfn[ZPA_MAX_NODES];
	int movable_zone;                 /* zone index that ZONE_MOVABLE is carved from */
};

static int cmp_range(const void *a, const void *b)
{
	const struct pfn_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void node_pfn_span(const struct layout *l, int nid, unsigned long *start, unsigned long *end)
{
	*start = *end = 0;
	bool any = false;
	for (unsigned i = 0; i < l->nr_ram; i++) {
		if (l->ram[i].nid != nid)
			continue;
		if (!any || l->ram[i].start < *start)
			*start = l->ram[i].start;
		if (!any || l->ram[i].end > *end)
			*end = l->ram[i].end;
		any = true;
	}
}

/* RAM pages of node nid inside [start, end) (Linux: span minus __absent_pages_in_range). */
static unsigned long ram_pages_in(const struct layout *l, int nid, unsigned long start, unsigned long end)
{
	unsigned long n = 0;
	for (unsigned i = 0; i < l->nr_ram; i++) {
		if (l->ram[i].nid != nid)
			continue;
		unsigned long s = l->ram[i].start < start ? start : l->ram[i].start;
		unsigned long e = l->ram[i].end > end ? end : l->ram[i].end;
		if (e > s)
			n += e - s;
	}
	return n;
}

static bool pfn_is_ram(const struct layout *l, int nid, unsigned long pfn)
{
	for (unsigned i = 0; i < l->nr_ram; i++)
		if (l->ram[i].nid == nid && pfn >= l->ram[i].start && pfn < l->ram[i].end)
			return true;
	return false;
}

static unsigned long clampul(unsigned long v, unsigned long lo, unsigned long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * find_zone_movable_pfns_for_nodes(): where ZONE_MOVABLE starts on each node
 * for kernelcore=/movablecore=.  Follows Linux 6.1's distribution: kernel
 * memory is spread evenly over the nodes with memory, the rest is movable.
 */
static void find_zone_movable_pfns_for_nodes(const struct zpa_machine *m, struct layout *l)
{
	const struct zpa_machine_config *cfg = &m->cfg;
	unsigned long totalpages = 0, max_order_nr = 1ul << (m->max_order - 1);
	unsigned long required_kernelcore = cfg->kernelcore >> m->page_shift;
	unsigned long required_movablecore = cfg->movablecore >> m->page_shift;
	int usable_nodes = 0;
	bool node_has_mem[ZPA_MAX_NODES] = { false };

	for (unsigned i = 0; i < l->nr_ram; i++) {
		totalpages += l->ram[i].end - l->ram[i].start;
		node_has_mem[l->ram[i].nid] = true;
	}
	for (unsigned n = 0; n < m->nr_nodes; n++)
		usable_nodes += node_has_mem[n];

	/* The highest zone below Movable with a non-empty range. */
	l->movable_zone = m->zone_idx_of[ZPA_ZONE_NORMAL];
	for (int zi = (int)m->nr_zone_types - 1; zi >= 0; zi--) {
		int t = m->zone_type_of[zi];
		if (t == ZPA_ZONE_MOVABLE)
			continue;
		if (l->zone_high[zi] > l->zone_low[zi]) {
			l->movable_zone = zi;
			break;
		}
	}

	if (cfg->kernelcore_percent)
		required_kernelcore = (totalpages * 100 * cfg->kernelcore_percent) / 10000ul;
	if (cfg->movablecore_percent)
		required_movablecore = (totalpages * 100 * cfg->movablecore_percent) / 10000ul;
	if (required_movablecore) {
		required_movablecore = (required_movablecore + max_order_nr - 1) / max_order_nr * max_order_nr;
		if (required_movablecore > totalpages)
			required_movablecore = totalpages;
		unsigned long corepages = totalpages - required_movablecore;
		if (corepages > required_kernelcore)
			required_kernelcore = corepages;
	}
	if (!required_kernelcore || required_kernelcore >= totalpages || !usable_nodes)
		return;

	unsigned long usable_startpfn = l->zone_low[l->movable_zone];
	for (;;) {
		unsigned long kernelcore_node = required_kernelcore / usable_nodes;
		for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
			if (!node_has_mem[nid])
				continue;
			if (required_kernelcore < kernelcore_node)
				kernelcore_node = required_kernelcore / usable_nodes;
			unsigned long kernelcore_remaining = kernelcore_node;
			/* RAM ranges of this node in ascending order (ram[] is sorted). */
			for (unsigned i = 0; i < l->nr_ram; i++) {
				if (l->ram[i].nid != (int)nid)
					continue;
				unsigned long start_pfn = l->ram[i].start, end_pfn = l->ram[i].end;
				if (start_pfn < l->zone_movable_pfn[nid])
					start_pfn = l->zone_movable_pfn[nid];
				if (start_pfn >= end_pfn)
					continue;
				if (start_pfn < usable_startpfn) {
					unsigned long kernel_pages =
						(end_pfn < usable_startpfn ? end_pfn : usable_startpfn) - start_pfn;
					kernelcore_remaining -= kernel_pages < kernelcore_remaining ? kernel_pages : kernelcore_remaining;
					required_kernelcore -= kernel_pages < required_kernelcore ? kernel_pages : required_kernelcore;
					if (end_pfn <= usable_startpfn) {
						l->zone_movable_pfn[nid] = end_pfn;
						continue;
					}
					start_pfn = usable_startpfn;
				}
				unsigned long size_pages = end_pfn - start_pfn;
				if (size_pages > kernelcore_remaining)
					size_pages = kernelcore_remaining;
				l->zone_movable_pfn[nid] = start_pfn + size_pages;
				required_kernelcore -= size_pages < required_kernelcore ? size_pages : required_kernelcore;
				kernelcore_remaining -= size_pages;
				if (!kernelcore_remaining)
					break;
			}
		}
		usable_nodes--;
		if (!(usable_nodes && required_kernelcore > (unsigned long)usable_nodes))
			break;
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		unsigned long s, e;
		l->zone_movable_pfn[nid] = (l->zone_movable_pfn[nid] + max_order_nr - 1) / max_order_nr * max_order_nr;
		node_pfn_span(l, (int)nid, &s, &e);
		if (l->zone_movable_pfn[nid] >= e)
			l->zone_movable_pfn[nid] = 0;
	}
}

/* zone_spanned_pages_in_node() with the Movable adjustment. */
static unsigned long zone_span_in_node(const struct zpa_machine *m, const struct layout *l, int nid, int zi,
				       unsigned long node_start, unsigned long node_end,
				       unsigned long *zs, unsigned long *ze)
{
	*zs = *ze = 0;
	if (!node_start && !node_end)
		return 0;
	*zs = clampul(node_start, l->zone_low[zi], l->zone_high[zi]);
	*ze = clampul(node_end, l->zone_low[zi], l->zone_high[zi]);
	unsigned long mv = l->zone_movable_pfn[nid];
	if (mv) {
		if (m->zone_type_of[zi] == ZPA_ZONE_MOVABLE) {
			*zs = mv;
			*ze = node_end < l->zone_high[l->movable_zone] ? node_end : l->zone_high[l->movable_zone];
		} else if (*zs < mv && *ze > mv) {
			*ze = mv;
		} else if (*zs >= mv) {
			*zs = *ze;
		}
	}
	if (*ze < node_start || *zs > node_end) {
		*zs = *ze = 0;
		return 0;
	}
	if (*ze > node_end)
		*ze = node_end;
	if (*zs < node_start)
		*zs = node_start;
	if (*ze < *zs)
		*ze = *zs;
	return *ze - *zs;
}

static void log_cfg_error(const struct zpa_machine_config *cfg, const char *msg)
{
	if (cfg->log)
		cfg->log(cfg->log_arg, ZPA_LOG_ERR, msg);
	else
		zpa_port_log(ZPA_LOG_ERR, msg);
}

static int validate_config(const struct zpa_machine_config *cfg)
{
	char msg[160];
	if (cfg->page_shift < 9 || cfg->page_shift > 21) {
		snprintf(msg, sizeof msg, "page_shift %u out of range 9..21", cfg->page_shift);
		goto bad;
	}
	if (cfg->max_order < 1 || cfg->max_order > ZPA_MAX_ORDER_LIMIT) {
		snprintf(msg, sizeof msg, "max_order %u out of range 1..%d", cfg->max_order, ZPA_MAX_ORDER_LIMIT);
		goto bad;
	}
	if (cfg->pageblock_order >= cfg->max_order) {
		snprintf(msg, sizeof msg, "pageblock_order %u must be below max_order %u",
			 cfg->pageblock_order, cfg->max_order);
		goto bad;
	}
	if (cfg->nr_nodes < 1 || cfg->nr_nodes > ZPA_MAX_NODES) {
		snprintf(msg, sizeof msg, "nr_nodes %u out of range 1..%d", cfg->nr_nodes, ZPA_MAX_NODES);
		goto bad;
	}
	if (cfg->nr_cpus > ZPA_MAX_CPUS) {
		snprintf(msg, sizeof msg, "nr_cpus %u above %d", cfg->nr_cpus, ZPA_MAX_CPUS);
		goto bad;
	}
	for (unsigned c = 0; c < cfg->nr_cpus; c++)
		if (cfg->cpu_node[c] < 0 || (unsigned)cfg->cpu_node[c] >= cfg->nr_nodes) {
			snprintf(msg, sizeof msg, "cpu %u on node %d, which does not exist", c, cfg->cpu_node[c]);
			goto bad;
		}
	if (cfg->nr_ranges > ZPA_MAX_RANGES) {
		snprintf(msg, sizeof msg, "too many ranges");
		goto bad;
	}
	for (unsigned i = 0; i < cfg->nr_ranges; i++) {
		const struct zpa_range *r = &cfg->ranges[i];
		if (r->end <= r->start || (r->type != ZPA_RANGE_USABLE && r->type != ZPA_RANGE_RESERVED)) {
			snprintf(msg, sizeof msg, "range %u [%#llx-%#llx) is empty or of unknown type %d", i,
				 (unsigned long long)r->start, (unsigned long long)r->end, r->type);
			goto bad;
		}
		if (r->type == ZPA_RANGE_USABLE && (r->nid < 0 || (unsigned)r->nid >= cfg->nr_nodes)) {
			snprintf(msg, sizeof msg, "range %u on node %d, which does not exist", i, r->nid);
			goto bad;
		}
		if (r->type != ZPA_RANGE_USABLE)
			continue;
		for (unsigned j = 0; j < i; j++) {
			const struct zpa_range *q = &cfg->ranges[j];
			if (q->type == ZPA_RANGE_USABLE && q->start < r->end && r->start < q->end) {
				snprintf(msg, sizeof msg, "usable ranges %u and %u overlap", j, i);
				goto bad;
			}
		}
	}
	if (cfg->kernelcore_percent > 100 || cfg->movablecore_percent > 100) {
		snprintf(msg, sizeof msg, "kernelcore/movablecore percent above 100");
		goto bad;
	}
	if (cfg->mem_mode == ZPA_MEM_BACKED && !cfg->backing) {
		snprintf(msg, sizeof msg, "backed mode without backing memory");
		goto bad;
	}
	return 0;
bad:
	log_cfg_error(cfg, msg);
	return ZPA_EINVAL;
}

/* Set up the machine's zone types, zone index maps and GFP zone mapping. */
static void setup_zone_types(struct zpa_machine *m)
{
	const struct zpa_machine_config *cfg = &m->cfg;
	unsigned n = 0;
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		bool have = true;
		if (t == ZPA_ZONE_DMA)
			have = cfg->dma_limit != 0;
		else if (t == ZPA_ZONE_DMA32)
			have = cfg->dma32_limit != 0;
		else if (t == ZPA_ZONE_HIGHMEM)
			have = cfg->highmem_start != 0;
		else if (t == ZPA_ZONE_DEVICE)
			have = cfg->zone_device;
		m->zone_idx_of[t] = have ? (int)n : -1;
		if (have)
			m->zone_type_of[n++] = t;
	}
	m->nr_zone_types = n;
	/* OPT_ZONE_*: a request for an absent zone type falls back to Normal. */
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
		m->gfp_zone_idx[t] = m->zone_idx_of[t] >= 0 ? m->zone_idx_of[t] : m->zone_idx_of[ZPA_ZONE_NORMAL];
}

/* Build sorted RAM and reserved pfn ranges from the byte ranges of the config. */
static int build_ranges(struct zpa_machine *m, struct layout *l)
{
	const struct zpa_machine_config *cfg = &m->cfg;
	uint64_t pmask = (1ull << m->page_shift) - 1;
	for (unsigned i = 0; i < cfg->nr_ranges; i++) {
		const struct zpa_range *r = &cfg->ranges[i];
		if (r->type == ZPA_RANGE_USABLE) {
			/* RAM is rounded inward to whole pages. */
			unsigned long s = (unsigned long)((r->start + pmask) >> m->page_shift);
			unsigned long e = (unsigned long)(r->end >> m->page_shift);
			if (e > s)
				l->ram[l->nr_ram++] = (struct pfn_range){ s, e, r->nid };
		} else {
			/* A reservation covers every page it touches. */
			unsigned long s = (unsigned long)(r->start >> m->page_shift);
			unsigned long e = (unsigned long)((r->end + pmask) >> m->page_shift);
			l->resv[l->nr_resv++] = (struct pfn_range){ s, e, -1 };
		}
	}
	if (!l->nr_ram) {
		log_cfg_error(cfg, "machine has no usable memory");
		return ZPA_EINVAL;
	}
	qsort(l->ram, l->nr_ram, sizeof l->ram[0], cmp_range);
	qsort(l->resv, l->nr_resv, sizeof l->resv[0], cmp_range);
	return 0;
}

static bool pfn_is_reserved(const struct layout *l, unsigned long pfn)
{
	/* ranges are few; binary search is not worth it at setup time */
	for (unsigned i = 0; i < l->nr_resv; i++) {
		if (pfn < l->resv[i].start)
			return false;
		if (pfn < l->resv[i].end)
			return true;
	}
	return false;
}

/* Free [start, end) into the buddy lists in naturally aligned blocks, as
 * memblock_free_all() -> __free_pages_memory() does; zone lock not needed yet. */
static void free_range_to_buddy(struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end)
{
	while (start < end) {
		unsigned order = m->max_order - 1;
		if (start) {
			unsigned tz = (unsigned)__builtin_ctzl(start);
			if (tz < order)
				order = tz;
		}
		while (start + (1ul << order) > end)
			order--;
		struct zpa_page *page = pfn_to_page_nid(z->zone_pgdat, start);
		for (unsigned long i = 0; i < (1ul << order); i++)
			page[i].flags &= ~PG_reserved;
		z->managed_pages += 1ul << order;
		zpa_spin_lock(&z->lock); /* the buddy code's contract, though nobody else runs yet */
		__free_one_page(m, z, start, order, get_pageblock_migratetype(z, start), true);
		zpa_spin_unlock(&z->lock);
		start += 1ul << order;
	}
}

static int init_node(struct zpa_machine *m, struct layout *l, int nid)
{
	pg_data_t *pgdat = zpa_port_zalloc(sizeof(*pgdat));
	if (!pgdat)
		return ZPA_ENOMEM;
	m->nodes[nid] = pgdat;
	pgdat->node_id = nid;
	unsigned long node_start, node_end;
	node_pfn_span(l, nid, &node_start, &node_end);
	pgdat->node_start_pfn = node_start;
	pgdat->node_spanned_pages = node_end - node_start;
	/* Empty LRU lists (swap.c): their ends are page indexes, ZPA_NIL when empty. */
	zpa_spin_lock_init(&pgdat->lruvec.lru_lock);
	for (int lru = 0; lru < NR_LRU_LISTS; lru++)
		pgdat->lruvec.lists[lru].head = pgdat->lruvec.lists[lru].tail = ZPA_NIL;
	if (pgdat->node_spanned_pages >= ZPA_NIL) {
		log_cfg_error(&m->cfg, "a node spans 2^32 pages or more; zpa's links are 32-bit");
		return ZPA_EINVAL;
	}
	if (pgdat->node_spanned_pages) {
		pgdat->node_mem_map = zpa_port_zalloc(pgdat->node_spanned_pages * sizeof(struct zpa_page));
		if (!pgdat->node_mem_map)
			return ZPA_ENOMEM;
	}

	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		unsigned long zs, ze;
		zpa_spin_lock_init(&z->lock);
		z->zone_pgdat = pgdat;
		z->mem_map = pgdat->node_mem_map;
		z->node_start_pfn = node_start;
		z->type = m->zone_type_of[zi];
		z->idx = (int)zi;
		z->name = zone_names[z->type];
		z->max_order = m->max_order;
		z->pageblock_shift = m->pageblock_order;
		for (unsigned o = 0; o < ZPA_MAX_ORDER_LIMIT; o++)
			for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
				z->free_area[o].free_list[mt].head = z->free_area[o].free_list[mt].tail = ZPA_NIL;
		unsigned long span = zone_span_in_node(m, l, nid, (int)zi, node_start, node_end, &zs, &ze);
		z->zone_start_pfn = span ? zs : 0;
		z->pb_base = z->zone_start_pfn >> m->pageblock_order;
		z->spanned_pages = span;
		z->present_pages = span ? ram_pages_in(l, nid, zs, ze) : 0;
		pgdat->node_present_pages += z->present_pages;
		if (z->present_pages)
			pgdat->nr_zones = zi + 1;
		if (span) {
			unsigned long first_block = zs >> m->pageblock_order;
			unsigned long last_block = (ze - 1) >> m->pageblock_order;
			unsigned long nblocks = last_block - first_block + 1;
			z->pageblock_flags = zpa_port_zalloc(nblocks);
			z->pageblock_skip = zpa_port_zalloc(nblocks);
			if (!z->pageblock_flags || !z->pageblock_skip)
				return ZPA_ENOMEM;
		}
	}

	/* Every page starts reserved, tagged with its zone; holes are marked too. */
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		for (unsigned long pfn = z->zone_start_pfn; pfn < z->zone_start_pfn + z->spanned_pages; pfn++) {
			struct zpa_page *p = pfn_to_page_nid(pgdat, pfn);
			p->next = p->prev = ZPA_NIL;
			p->flags = PG_reserved | (zi << PG_ZONE_SHIFT);
		}
	}
	for (unsigned i = 0, r = 0; i < pgdat->node_spanned_pages; i++) {
		unsigned long pfn = node_start + i;
		while (r < l->nr_ram && (l->ram[r].nid != nid || l->ram[r].end <= pfn))
			r++;
		if (!(r < l->nr_ram && pfn >= l->ram[r].start))
			pgdat->node_mem_map[i].flags |= PG_hole;
	}
	/* memmap_init_range(): a pageblock is MOVABLE when its first pfn is RAM in the zone. */
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		unsigned long end = z->zone_start_pfn + z->spanned_pages;
		unsigned long pfn = (z->zone_start_pfn + m->pageblock_nr_pages - 1) & ~(m->pageblock_nr_pages - 1);
		for (; pfn < end; pfn += m->pageblock_nr_pages)
			if (pfn_is_ram(l, nid, pfn))
				set_pageblock_migratetype(z, pfn, ZPA_MIGRATE_MOVABLE);
	}
	/* memblock_free_all(): free each RAM run that is not reserved, zone by zone. */
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		unsigned long end = z->zone_start_pfn + z->spanned_pages;
		unsigned long run = 0;
		bool in_run = false;
		for (unsigned long pfn = z->zone_start_pfn; pfn <= end; pfn++) {
			bool ok = pfn < end && !(pfn_to_page_nid(pgdat, pfn)->flags & PG_hole) &&
				  !pfn_is_reserved(l, pfn) && !cma_area_pfn(m, pfn);
			if (ok && !in_run) {
				run = pfn;
				in_run = true;
			} else if (!ok && in_run) {
				free_range_to_buddy(m, z, run, pfn);
				in_run = false;
			}
		}
	}
	return 0;
}

static void free_machine(struct zpa_machine *m)
{
	/* The daemons first: their threads use everything below. */
	kswapd_destroy(m);
	compaction_destroy(m);
	vmscan_destroy(m);
	oom_destroy(m);
	pcp_destroy(m);
	cma_free_areas(m);
	fail_page_alloc_destroy(m);
	memcg_destroy_all(m);
	for (unsigned n = 0; n < ZPA_MAX_NODES; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		for (unsigned zi = 0; zi < ZPA_NR_ZONE_TYPES; zi++) {
			zpa_port_free(pgdat->node_zones[zi].pageblock_flags);
			zpa_port_free(pgdat->node_zones[zi].pageblock_skip);
		}
		for (int k = 0; k < MAX_ZONELISTS; k++)
			zpa_port_free(pgdat->node_zonelists[k].zonerefs);
		zpa_port_free(pgdat->node_mem_map);
		zpa_port_free(pgdat);
	}
	zpa_port_free(m);
}

static void init_tunables(struct zpa_machine *m)
{
	const struct zpa_machine_config *cfg = &m->cfg;
	/* Linux 6.1's sysctl_lowmem_reserve_ratio defaults, by zone type. */
	static const long def_ratio[ZPA_NR_ZONE_TYPES] = { 256, 256, 32, 0, 0, 0 };
	m->t.min_free_kbytes = cfg->min_free_kbytes >= 0 ? cfg->min_free_kbytes : 1024;
	m->t.user_min_free_kbytes = cfg->min_free_kbytes >= 0 ? cfg->min_free_kbytes : -1;
	m->t.watermark_scale_factor = cfg->watermark_scale_factor >= 0 ? cfg->watermark_scale_factor : 10;
	m->t.watermark_boost_factor = cfg->watermark_boost_factor >= 0 ? cfg->watermark_boost_factor : 15000;
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		int t = m->zone_type_of[zi];
		m->t.lowmem_reserve_ratio[zi] = cfg->lowmem_reserve_ratio[t] >= 0 ? cfg->lowmem_reserve_ratio[t]
										  : def_ratio[t];
	}
	m->t.percpu_pagelist_high_fraction =
		cfg->percpu_pagelist_high_fraction >= 0 ? cfg->percpu_pagelist_high_fraction : 0;
	m->t.swappiness = 60;
	m->t.compaction_proactiveness = 20;
	m->t.extfrag_threshold = 500;
	m->t.oom_kill_allocating_task = 0;
	m->t.vfs_cache_pressure = 100;
	m->t.thp_enabled = cfg->thp_enabled;
	m->t.page_group_by_mobility_disabled = cfg->page_group_by_mobility_disabled;
}

int zpa_machine_create(const struct zpa_machine_config *cfg, struct zpa_machine **out)
{
	int err;
	*out = NULL;
	if (!cfg)
		return ZPA_EINVAL;
	err = validate_config(cfg);
	if (err)
		return err;

	struct zpa_machine *m = zpa_port_zalloc(sizeof(*m));
	struct layout *l = zpa_port_zalloc(sizeof(*l));
	if (!m || !l) {
		zpa_port_free(m);
		zpa_port_free(l);
		return ZPA_ENOMEM;
	}
	m->cfg = *cfg;
	if (!m->cfg.log_level)
		m->cfg.log_level = ZPA_LOG_WARN;
	m->page_shift = cfg->page_shift;
	m->max_order = cfg->max_order;
	m->pageblock_order = cfg->pageblock_order;
	m->pageblock_nr_pages = 1ul << cfg->pageblock_order;
	m->nr_nodes = cfg->nr_nodes;
	m->gfp_allowed_mask = ZPA___GFP_BITS_MASK;
	zpa_spin_lock_init(&m->setup_lock);
	for (unsigned a = 0; a < cfg->nr_nodes; a++)
		for (unsigned b = 0; b < cfg->nr_nodes; b++)
			if (!m->cfg.distance[a][b])
				m->cfg.distance[a][b] = a == b ? 10 : 20;
	setup_zone_types(m);
	init_tunables(m);

	err = build_ranges(m, l);
	if (err)
		goto fail;

	/* Absolute zone intervals (free_area_init with x86-64's max_zone_pfns). */
	unsigned long min_pfn = l->ram[0].start, max_pfn = 0;
	for (unsigned i = 0; i < l->nr_ram; i++)
		if (l->ram[i].end > max_pfn)
			max_pfn = l->ram[i].end;
	unsigned long lowmem_end = max_pfn;
	if (cfg->highmem_start) {
		unsigned long h = (unsigned long)(cfg->highmem_start >> m->page_shift);
		lowmem_end = h < max_pfn ? h : max_pfn;
	}
	unsigned long start = min_pfn;
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		int t = m->zone_type_of[zi];
		unsigned long limit;
		if (t == ZPA_ZONE_MOVABLE)
			continue;
		switch (t) {
		case ZPA_ZONE_DMA:
			limit = (unsigned long)(cfg->dma_limit >> m->page_shift);
			limit = limit < lowmem_end ? limit : lowmem_end;
			break;
		case ZPA_ZONE_DMA32:
			limit = (unsigned long)(cfg->dma32_limit >> m->page_shift);
			limit = limit < lowmem_end ? limit : lowmem_end;
			break;
		case ZPA_ZONE_NORMAL: limit = lowmem_end; break;
		case ZPA_ZONE_HIGHMEM: limit = max_pfn; break;
		default: limit = 0; break; /* Device: always empty */
		}
		unsigned long end = limit > start ? limit : start;
		l->zone_low[zi] = start;
		l->zone_high[zi] = end;
		start = end;
	}
	find_zone_movable_pfns_for_nodes(m, l);

	for (unsigned n = 0; n < m->nr_nodes; n++) {
		err = init_node(m, l, (int)n);
		if (err)
			goto fail;
	}
	m->zonelist_cpus_known = cfg->zonelists_with_cpus;
	build_all_zonelists(m);
	m->zonelist_cpus_known = true; /* later rebuilds (hotplug) see the CPUs */
	if (m->cfg.shuffle)
		shuffle_free_memory(m);
	err = cma_init_reserved_areas(m); /* core_initcall: CMA pageblocks, before the watermarks */
	if (err)
		goto fail;
	init_per_zone_wmark_min(m);
	err = pcp_init(m);
	if (err)
		goto fail;
	err = vmscan_init(m);
	if (!err)
		err = kswapd_init(m);
	if (!err)
		err = compaction_init(m);
	if (!err)
		err = oom_init(m);
	if (err)
		goto fail;
	zpa_port_free(l);
	*out = m;
	return 0;
fail:
	zpa_port_free(l);
	free_machine(m);
	return err;
}

void zpa_machine_destroy(struct zpa_machine *m)
{
	if (m)
		free_machine(m);
}

/*
 * find_next_best_node(): the nearest node not yet used, for node's fallback
 * list.  The node itself comes first.  Among the others: smaller distance
 * wins; at equal distance a node numbered below `node` loses by one, a node
 * with CPUs loses by PENALTY_FOR_NODE_WITH_CPUS (1) -- except in the boot
 * build, when no CPU is in a node's cpumask yet -- and the scaled sum is
 * broken by node_load, which spreads fallback traffic: each node that starts
 * a new distance group in some list becomes less preferred for the next.
 * Only nodes with memory take part.  Linux 6.1's weights, MAX_NUMNODES 1024.
 */
static int find_next_best_node(const struct zpa_machine *m, int node, bool *used, const int *node_load,
			       const bool *has_cpus, const bool *has_mem)
{
	const long max_numnodes = 1024;
	long min_val = -1;
	int best = -1;
	if (!used[node]) {
		used[node] = true;
		return node;
	}
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		if (used[n] || !has_mem[n])
			continue;
		long val = m->cfg.distance[node][n];
		val += (int)n < node;
		if (has_cpus[n])
			val += 1;
		val *= max_numnodes;
		val += node_load[n];
		if (min_val < 0 || val < min_val) {
			min_val = val;
			best = (int)n;
		}
	}
	if (best >= 0)
		used[best] = true;
	return best;
}

static void build_all_zonelists_locked(struct zpa_machine *m);

/* build_zonerefs_node(): a node's populated zones, highest index first. */
static unsigned build_zonerefs_node(const struct zpa_machine *m, pg_data_t *pgdat, struct zoneref *zr)
{
	unsigned n = 0;
	for (int zi = (int)m->nr_zone_types - 1; zi >= 0; zi--) {
		struct zone *z = &pgdat->node_zones[zi];
		if (populated_zone(z))
			zr[n++] = (struct zoneref){ z, zi };
	}
	return n;
}

/*
 * build_all_zonelists(): for every node, its fallback order of nodes
 * (find_next_best_node) and the zonelist of their populated zones in that
 * order, highest zone first within a node; and the NOFALLBACK list of the
 * node's own zones for __GFP_THISNODE.  node_load is shared across nodes,
 * built in node order, as in Linux.  The order is kept in
 * pgdat->fallback_order for `zpa info ... zonelists`.
 */
void build_all_zonelists(struct zpa_machine *m)
{
	atomic_fetch_add_explicit(&m->zonelist_update_seq, 1, memory_order_acq_rel);
	build_all_zonelists_locked(m);
	atomic_fetch_add_explicit(&m->zonelist_update_seq, 1, memory_order_acq_rel);
}

static void build_all_zonelists_locked(struct zpa_machine *m)
{
	int node_load[ZPA_MAX_NODES] = { 0 };
	bool has_cpus[ZPA_MAX_NODES] = { false }, has_mem[ZPA_MAX_NODES] = { false };
	atomic_fetch_add(&m->fast_gen, 1);
	if (m->zonelist_cpus_known)
		for (unsigned c = 0; c < m->cfg.nr_cpus; c++)
			has_cpus[m->cfg.cpu_node[c]] = true;
	for (unsigned n = 0; n < m->nr_nodes; n++)
		has_mem[n] = m->nodes[n]->node_present_pages > 0;

	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		bool used[ZPA_MAX_NODES] = { false };
		int node, prev = (int)n;
		pgdat->nr_fallback = 0;
		while ((node = find_next_best_node(m, (int)n, used, node_load, has_cpus, has_mem)) >= 0) {
			/* The first node of each new distance group carries more load. */
			if (m->cfg.distance[n][node] != m->cfg.distance[n][prev])
				node_load[node] += 1;
			pgdat->fallback_order[pgdat->nr_fallback++] = node;
			prev = node;
		}
		for (int k = 0; k < MAX_ZONELISTS; k++) {
			struct zonelist *zl = &pgdat->node_zonelists[k];
			/* Sized for every zone once, then rebuilt in place: allocations
			 * may be walking it (they retry on zonelist_update_seq). */
			if (!zl->zonerefs)
				zl->zonerefs = zpa_port_zalloc((m->nr_nodes * ZPA_NR_ZONE_TYPES + 1) * sizeof(struct zoneref));
			zl->nr = 0;
			if (k == ZONELIST_FALLBACK)
				for (unsigned i = 0; i < pgdat->nr_fallback; i++)
					zl->nr += build_zonerefs_node(m, m->nodes[pgdat->fallback_order[i]], zl->zonerefs + zl->nr);
			else
				zl->nr = build_zonerefs_node(m, pgdat, zl->zonerefs);
			zl->zonerefs[zl->nr] = (struct zoneref){ NULL, 0 };
		}
	}
}
