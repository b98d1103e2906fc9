/*
 * model.c - the built-in memory users of zpa/model.h: page cache, anonymous
 * memory with swap and OOM-killable tasks, and a slab-like cache with a
 * shrinker.  Written against the public interfaces only (zpa.h,
 * zpa/reclaim.h, zpa/oom.h); see docs/PRESSURE.md.
 *
 * Shared representation.  Each model keeps its pages in a pool of records
 * addressed by 32-bit indexes (never by pointer across an unlock: the pool
 * may move when it grows) and finds a record from a PFN through a hash map
 * (pfnmap: open addressing, linear probing, backward-shift deletion).  A
 * record's pin count says the model is calling zpa about that page outside
 * its lock; a record marked doomed has left its file or task while pinned
 * or under writeback and is freed by whoever drops the last of those.
 *
 * Locking.  One spinlock per model guards all of its data.  It is never held
 * across a call into zpa that may allocate, free or take zpa's own locks;
 * only zpa_swap_account() (an atomic add) is called under it.  Pages to free
 * are gathered in a batch under the lock and freed after it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "zpa.h"
#include "zpa/model.h"
#include "zpa/port.h"

#define NIL UINT32_MAX
#define THP_ORDER 9u            /* HPAGE_PMD_ORDER on x86-64 */
#define PTRS_PER_PTE 512u       /* entries one page table page maps */
#define BATCH 128

/* ======================= helpers ======================= */

/* Grow *v (elements of esize bytes, *cap of them) to hold at least need. */
static int grow(void **v, size_t *cap, size_t esize, size_t need)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	nv = zpa_port_zalloc(ncap * esize);
	if (!nv)
		return ZPA_ENOMEM;
	if (*v) {
		memcpy(nv, *v, *cap * esize);
		zpa_port_free(*v);
	}
	*v = nv;
	*cap = ncap;
	return 0;
}

/* A PFN -> record index map. */
struct pfnmap {
	zpa_pfn_t *key;    /* ZPA_PFN_NONE: empty */
	uint32_t *val;
	size_t cap, n;     /* cap: a power of two */
};

static inline size_t pm_slot(zpa_pfn_t k, size_t cap)
{
	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 24) & (cap - 1);
}

static int pm_resize(struct pfnmap *pm, size_t cap)
{
	zpa_pfn_t *key = zpa_port_zalloc(cap * sizeof(*key));
	uint32_t *val = zpa_port_zalloc(cap * sizeof(*val));

	if (!key || !val) {
		zpa_port_free(key);
		zpa_port_free(val);
		return ZPA_ENOMEM;
	}
	for (size_t i = 0; i < cap; i++)
		key[i] = ZPA_PFN_NONE;
	for (size_t i = 0; i < pm->cap; i++) {
		size_t s;

		if (pm->key[i] == ZPA_PFN_NONE)
			continue;
		for (s = pm_slot(pm->key[i], cap); key[s] != ZPA_PFN_NONE; s = (s + 1) & (cap - 1))
			;
		key[s] = pm->key[i];
		val[s] = pm->val[i];
	}
	zpa_port_free(pm->key);
	zpa_port_free(pm->val);
	pm->key = key;
	pm->val = val;
	pm->cap = cap;
	return 0;
}

static uint32_t pm_get(const struct pfnmap *pm, zpa_pfn_t k)
{
	if (!pm->cap)
		return NIL;
	for (size_t s = pm_slot(k, pm->cap); pm->key[s] != ZPA_PFN_NONE; s = (s + 1) & (pm->cap - 1))
		if (pm->key[s] == k)
			return pm->val[s];
	return NIL;
}

/* Insert or replace. */
static int pm_put(struct pfnmap *pm, zpa_pfn_t k, uint32_t v)
{
	size_t s;

	if ((pm->n + 1) * 2 > pm->cap) {
		int rc = pm_resize(pm, pm->cap ? pm->cap * 2 : 1024);

		if (rc && pm->n + 1 >= pm->cap)
			return rc;
	}
	for (s = pm_slot(k, pm->cap); pm->key[s] != ZPA_PFN_NONE; s = (s + 1) & (pm->cap - 1))
		if (pm->key[s] == k) {
			pm->val[s] = v;
			return 0;
		}
	pm->key[s] = k;
	pm->val[s] = v;
	pm->n++;
	return 0;
}

static void pm_del(struct pfnmap *pm, zpa_pfn_t k)
{
	size_t mask = pm->cap - 1, s, j;

	if (!pm->cap)
		return;
	for (s = pm_slot(k, pm->cap); pm->key[s] != k; s = (s + 1) & mask)
		if (pm->key[s] == ZPA_PFN_NONE)
			return;
	/* Backward shift: move later entries of the run into the hole when their home allows. */
	for (j = (s + 1) & mask; pm->key[j] != ZPA_PFN_NONE; j = (j + 1) & mask) {
		size_t h = pm_slot(pm->key[j], pm->cap);

		if (((j - h) & mask) >= ((j - s) & mask)) {
			pm->key[s] = pm->key[j];
			pm->val[s] = pm->val[j];
			s = j;
		}
	}
	pm->key[s] = ZPA_PFN_NONE;
	pm->n--;
}

static void pm_free(struct pfnmap *pm)
{
	zpa_port_free(pm->key);
	zpa_port_free(pm->val);
	memset(pm, 0, sizeof(*pm));
}

/* A stack of free record indexes. */
struct idxstack {
	uint32_t *v;
	size_t n, cap;
};

static int idx_push(struct idxstack *st, uint32_t i)
{
	if (grow((void **)&st->v, &st->cap, sizeof(*st->v), st->n + 1))
		return ZPA_ENOMEM;
	st->v[st->n++] = i;
	return 0;
}

/* Pages to free once the lock is dropped. */
struct pfn_batch {
	zpa_pfn_t pfn[BATCH];
	uint8_t order[BATCH];
	unsigned n;
};

static inline void batch_add(struct pfn_batch *b, zpa_pfn_t pfn, unsigned order)
{
	b->pfn[b->n] = pfn;
	b->order[b->n++] = (uint8_t)order;
}

static void batch_free(struct zpa_machine *m, struct pfn_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		zpa_free_pages(m, b->pfn[i], b->order[i]);
	b->n = 0;
}

static void copy_comm(char dst[ZPA_MODEL_COMM_LEN], const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i < ZPA_MODEL_COMM_LEN - 1; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* ======================= page cache ======================= */

#define P_USED       0x01u
#define P_ACCESSED   0x02u   /* the accessed bit referenced() reports */
#define P_DIRTY      0x04u   /* dirty in the model's view */
#define P_WB         0x08u   /* under writeback */
#define P_WB_ZPA     0x10u   /* ... started by reclaim: zpa_page_end_writeback() at its end */
#define P_DOOMED     0x20u   /* left its file; freed when unpinned and written */

#define SLOT_EMPTY   0u
#define SLOT_SHADOW  UINT32_MAX  /* evicted by reclaim: a refault if read again */

struct pc_page {
	zpa_pfn_t pfn;
	uint64_t index;
	uint64_t when;           /* dirtied at; or the end of its writeback */
	uint32_t file;           /* NIL once doomed */
	uint32_t dprev, dnext;   /* the dirty list, oldest first */
	uint32_t wnext;          /* the writeback queue, soonest first */
	uint32_t pins;
	uint32_t flags;
};

struct pc_file {
	uint32_t *slot;          /* SLOT_EMPTY, SLOT_SHADOW or record + 1 */
	uint64_t nr, cached;
	bool live;
};

struct zpa_model_pagecache {
	struct zpa_machine *m;
	struct zpa_model_pagecache_config cfg;
	int owner;
	zpa_spinlock_t lock;
	uint64_t now;
	struct pc_file *files;
	size_t nfiles, capfiles;
	struct pc_page *pg;
	size_t npg, cappg;
	struct idxstack freepg;
	struct pfnmap rmap;
	uint32_t dhead, dtail;
	uint32_t whead, wtail;
	struct zpa_model_pagecache_stats st;
};

void zpa_model_pagecache_config_init(struct zpa_model_pagecache_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nid = -1;
}

/* A free record (lock held); NIL when out of memory. */
static uint32_t pc_new_page(struct zpa_model_pagecache *pc)
{
	uint32_t i;

	if (pc->freepg.n) {
		i = pc->freepg.v[--pc->freepg.n];
	} else {
		if (pc->npg >= NIL - 1 || grow((void **)&pc->pg, &pc->cappg, sizeof(*pc->pg), pc->npg + 1))
			return NIL;
		i = (uint32_t)pc->npg++;
	}
	memset(&pc->pg[i], 0, sizeof(pc->pg[i]));
	pc->pg[i].dprev = pc->pg[i].dnext = pc->pg[i].wnext = NIL;
	pc->pg[i].flags = P_USED;
	return i;
}

/* Forget a record (lock held): off the rmap, back to the pool. */
static void pc_release(struct zpa_model_pagecache *pc, uint32_t i)
{
	pm_del(&pc->rmap, pc->pg[i].pfn);
	pc->pg[i].flags = 0;
	if (idx_push(&pc->freepg, i))
		pc->pg[i].flags = 0; /* leaked slot: harmless, never reused */
}

static void dirty_append(struct zpa_model_pagecache *pc, uint32_t i)
{
	struct pc_page *p = &pc->pg[i];

	p->flags |= P_DIRTY;
	p->when = pc->now;
	p->dnext = NIL;
	p->dprev = pc->dtail;
	if (pc->dtail != NIL)
		pc->pg[pc->dtail].dnext = i;
	else
		pc->dhead = i;
	pc->dtail = i;
	pc->st.dirty++;
}

static void dirty_remove(struct zpa_model_pagecache *pc, uint32_t i)
{
	struct pc_page *p = &pc->pg[i];

	if (!(p->flags & P_DIRTY))
		return;
	if (p->dprev != NIL)
		pc->pg[p->dprev].dnext = p->dnext;
	else
		pc->dhead = p->dnext;
	if (p->dnext != NIL)
		pc->pg[p->dnext].dprev = p->dprev;
	else
		pc->dtail = p->dprev;
	p->dprev = p->dnext = NIL;
	p->flags &= ~P_DIRTY;
	pc->st.dirty--;
}

/* Start a writeback of a dirty page (lock held). */
static void wb_start(struct zpa_model_pagecache *pc, uint32_t i, bool by_reclaim)
{
	struct pc_page *p = &pc->pg[i];

	dirty_remove(pc, i);
	p->flags |= P_WB | (by_reclaim ? P_WB_ZPA : 0);
	p->when = pc->now + pc->cfg.writeback_ms;
	p->wnext = NIL;
	if (pc->wtail != NIL)
		pc->pg[pc->wtail].wnext = i;
	else
		pc->whead = i;
	pc->wtail = i;
	pc->st.writeback++;
}

/*
 * Detach a cached page from its file (lock held): freed at once into b
 * (true) or doomed until its pin or writeback goes (false).
 */
static bool pc_detach(struct zpa_model_pagecache *pc, uint32_t i, struct pfn_batch *b)
{
	struct pc_page *p = &pc->pg[i];

	dirty_remove(pc, i);
	p->file = NIL;
	pc->st.pages--;
	pc->st.truncated++;
	if (p->pins || (p->flags & P_WB)) {
		p->flags |= P_DOOMED;
		return false;
	}
	batch_add(b, p->pfn, 0);
	pc_release(pc, i);
	return true;
}

/* Drop a pin taken under the lock; frees a doomed page whose last pin this was. */
static void pc_unpin(struct zpa_model_pagecache *pc, uint32_t i)
{
	zpa_pfn_t pfn = ZPA_PFN_NONE;

	zpa_spin_lock(&pc->lock);
	if (--pc->pg[i].pins == 0 && (pc->pg[i].flags & P_DOOMED) && !(pc->pg[i].flags & P_WB)) {
		pfn = pc->pg[i].pfn;
		pc_release(pc, i);
	}
	zpa_spin_unlock(&pc->lock);
	if (pfn != ZPA_PFN_NONE)
		zpa_free_pages(pc->m, pfn, 0);
}

/* ---- the page owner's callbacks ---- */

static int pc_referenced(void *arg, zpa_pfn_t pfn, unsigned order)
{
	struct zpa_model_pagecache *pc = arg;
	int r = 0;
	uint32_t i;

	(void)order;
	zpa_spin_lock(&pc->lock);
	i = pm_get(&pc->rmap, pfn);
	if (i != NIL && (pc->pg[i].flags & P_ACCESSED)) {
		pc->pg[i].flags &= ~P_ACCESSED;
		r = 1;
	}
	zpa_spin_unlock(&pc->lock);
	return r;
}

static int pc_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct zpa_model_pagecache *pc = arg;
	int r;
	uint32_t i;

	(void)ctx;
	zpa_spin_lock(&pc->lock);
	i = pm_get(&pc->rmap, pfn);
	if (i == NIL || order || pc->pg[i].pins || (pc->pg[i].flags & (P_DOOMED | P_WB))) {
		r = ZPA_EVICT_KEEP;
	} else if (!(pc->pg[i].flags & P_DIRTY)) {
		r = ZPA_EVICT_CLEAN;  /* the flusher wrote it already */
	} else {
		wb_start(pc, i, true);
		pc->st.pageout++;
		r = ZPA_EVICT_WRITEBACK;
	}
	zpa_spin_unlock(&pc->lock);
	return r;
}

static int pc_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct zpa_model_pagecache *pc = arg;
	struct pc_page *p;
	uint32_t i;

	(void)ctx;
	zpa_spin_lock(&pc->lock);
	i = pm_get(&pc->rmap, pfn);
	if (i == NIL || order) {
		zpa_spin_unlock(&pc->lock);
		return ZPA_EVICT_KEEP;
	}
	p = &pc->pg[i];
	if (p->pins || (p->flags & (P_DOOMED | P_WB | P_DIRTY))) {
		zpa_spin_unlock(&pc->lock);
		return ZPA_EVICT_KEEP;
	}
	pc->files[p->file].slot[p->index] = SLOT_SHADOW;
	pc->files[p->file].cached--;
	pc->st.pages--;
	pc->st.evicted++;
	pc_release(pc, i);
	zpa_spin_unlock(&pc->lock);
	zpa_free_pages(pc->m, pfn, 0);
	return ZPA_EVICT_FREED;
}

static int pc_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	struct zpa_model_pagecache *pc = arg;
	int r = ZPA_EBUSY;
	uint32_t i;

	(void)mode;
	zpa_spin_lock(&pc->lock);
	i = pm_get(&pc->rmap, src);
	if (i != NIL && !order && !pc->pg[i].pins && !(pc->pg[i].flags & (P_DOOMED | P_WB))) {
		if (pm_put(&pc->rmap, dst, i) == 0) {
			pm_del(&pc->rmap, src);
			pc->pg[i].pfn = dst;
			pc->st.migrated++;
			r = 0;
		} else {
			r = ZPA_EBUSY;  /* no room in the map: try later */
		}
	}
	zpa_spin_unlock(&pc->lock);
	return r;
}

static const struct zpa_page_owner_ops pc_ops = {
	.name = "model-pagecache",
	.referenced = pc_referenced,
	.writepage = pc_writepage,
	.evict = pc_evict,
	.migrate = pc_migrate,
};

/* ---- the page cache's calls ---- */

int zpa_model_pagecache_create(struct zpa_machine *m, const struct zpa_model_pagecache_config *cfg,
			       struct zpa_model_pagecache **out)
{
	struct zpa_model_pagecache *pc;
	int id;

	if (!m || !out)
		return ZPA_EINVAL;
	pc = zpa_port_zalloc(sizeof(*pc));
	if (!pc)
		return ZPA_ENOMEM;
	pc->m = m;
	if (cfg)
		pc->cfg = *cfg;
	else
		zpa_model_pagecache_config_init(&pc->cfg);
	if (!pc->cfg.gfp)
		pc->cfg.gfp = ZPA_GFP_HIGHUSER_MOVABLE;
	if (!pc->cfg.writeback_ms)
		pc->cfg.writeback_ms = 20;
	if (!pc->cfg.dirty_background)
		pc->cfg.dirty_background = zpa_total_managed(m) / 10;
	if (!pc->cfg.dirty_expire_ms)
		pc->cfg.dirty_expire_ms = 30000;
	if (!pc->cfg.flush_batch)
		pc->cfg.flush_batch = 1024;
	if (pc->cfg.nid < -1 || pc->cfg.nid >= (int)zpa_nr_nodes(m)) {
		zpa_port_free(pc);
		return ZPA_EINVAL;
	}
	zpa_spin_lock_init(&pc->lock);
	pc->dhead = pc->dtail = pc->whead = pc->wtail = NIL;
	if (pm_resize(&pc->rmap, 1024)) {
		zpa_port_free(pc);
		return ZPA_ENOMEM;
	}
	id = zpa_page_owner_register(m, &pc_ops, pc);
	if (id < 0) {
		pm_free(&pc->rmap);
		zpa_port_free(pc);
		return id;
	}
	pc->owner = id;
	*out = pc;
	return 0;
}

void zpa_model_pagecache_destroy(struct zpa_model_pagecache *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->npg; i++) {
		struct pc_page *p = &pc->pg[i];

		if (!(p->flags & P_USED))
			continue;
		if (p->flags & P_WB_ZPA)
			zpa_page_end_writeback(pc->m, p->pfn);
		zpa_free_pages(pc->m, p->pfn, 0);
	}
	for (size_t f = 0; f < pc->nfiles; f++)
		zpa_port_free(pc->files[f].slot);
	zpa_port_free(pc->files);
	zpa_port_free(pc->pg);
	zpa_port_free(pc->freepg.v);
	pm_free(&pc->rmap);
	zpa_port_free(pc);
}

int zpa_model_file_create(struct zpa_model_pagecache *pc, uint64_t nr_pages)
{
	uint32_t *slot;
	int id;

	if (!pc || !nr_pages || nr_pages > (SIZE_MAX / sizeof(uint32_t)))
		return ZPA_EINVAL;
	slot = zpa_port_zalloc((size_t)nr_pages * sizeof(*slot));
	if (!slot)
		return ZPA_ENOMEM;
	zpa_spin_lock(&pc->lock);
	if (pc->nfiles >= INT32_MAX ||
	    grow((void **)&pc->files, &pc->capfiles, sizeof(*pc->files), pc->nfiles + 1)) {
		zpa_spin_unlock(&pc->lock);
		zpa_port_free(slot);
		return ZPA_ENOMEM;
	}
	id = (int)pc->nfiles++;
	pc->files[id] = (struct pc_file){ .slot = slot, .nr = nr_pages, .live = true };
	pc->st.files++;
	zpa_spin_unlock(&pc->lock);
	return id;
}

static struct pc_file *pc_file(struct zpa_model_pagecache *pc, int file)
{
	return file >= 0 && (size_t)file < pc->nfiles && pc->files[file].live ? &pc->files[file] : NULL;
}

int zpa_model_file_delete(struct zpa_model_pagecache *pc, int file)
{
	struct pfn_batch b = { .n = 0 };
	struct pc_file *f;
	uint32_t *slot;

	if (!pc)
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (!f) {
		zpa_spin_unlock(&pc->lock);
		return ZPA_ENOENT;
	}
	f->live = false;    /* readers see no file from now on */
	pc->st.files--;
	for (uint64_t x = 0; x < pc->files[file].nr; x++) {
		uint32_t v = pc->files[file].slot[x];

		if (v == SLOT_EMPTY || v == SLOT_SHADOW)
			continue;
		pc->files[file].slot[x] = SLOT_EMPTY;
		pc->files[file].cached--;
		pc_detach(pc, v - 1, &b);
		if (b.n == BATCH) {
			zpa_spin_unlock(&pc->lock);
			batch_free(pc->m, &b);
			zpa_spin_lock(&pc->lock);
		}
	}
	slot = pc->files[file].slot;
	pc->files[file].slot = NULL;
	pc->files[file].nr = 0;
	zpa_spin_unlock(&pc->lock);
	batch_free(pc->m, &b);
	zpa_port_free(slot);
	return 0;
}

int zpa_model_file_punch(struct zpa_model_pagecache *pc, int file, uint64_t index)
{
	struct pfn_batch b = { .n = 0 };
	struct pc_file *f;
	uint32_t v;

	if (!pc)
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (!f || index >= f->nr) {
		zpa_spin_unlock(&pc->lock);
		return f ? ZPA_EINVAL : ZPA_ENOENT;
	}
	v = f->slot[index];
	f->slot[index] = SLOT_EMPTY;
	if (v != SLOT_EMPTY && v != SLOT_SHADOW) {
		f->cached--;
		pc_detach(pc, v - 1, &b);
	}
	zpa_spin_unlock(&pc->lock);
	batch_free(pc->m, &b);
	return 0;
}

int64_t zpa_model_file_cached(struct zpa_model_pagecache *pc, int file)
{
	struct pc_file *f;
	int64_t r;

	if (!pc)
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	r = f ? (int64_t)f->cached : ZPA_ENOENT;
	zpa_spin_unlock(&pc->lock);
	return r;
}

zpa_pfn_t zpa_model_file_page(struct zpa_model_pagecache *pc, int file, uint64_t index)
{
	zpa_pfn_t pfn = ZPA_PFN_NONE;
	struct pc_file *f;

	if (!pc)
		return ZPA_PFN_NONE;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (f && index < f->nr && f->slot[index] != SLOT_EMPTY && f->slot[index] != SLOT_SHADOW)
		pfn = pc->pg[f->slot[index] - 1].pfn;
	zpa_spin_unlock(&pc->lock);
	return pfn;
}

/* Publish a page the model holds (on the LRU already) at file/index (lock held); NIL when out of memory. */
static uint32_t pc_install(struct zpa_model_pagecache *pc, struct pc_file *f, int file, uint64_t index,
			   zpa_pfn_t pfn, unsigned flags)
{
	uint32_t i = pc_new_page(pc);

	if (i == NIL)
		return NIL;
	if (pm_put(&pc->rmap, pfn, i)) {
		pc->pg[i].flags = 0;
		idx_push(&pc->freepg, i);
		return NIL;
	}
	pc->pg[i].pfn = pfn;
	pc->pg[i].file = (uint32_t)file;
	pc->pg[i].index = index;
	if (flags & ZPA_MODEL_MAPPED)
		pc->pg[i].flags |= P_ACCESSED;
	if (flags & ZPA_MODEL_WRITE)
		dirty_append(pc, i);
	f->slot[index] = i + 1;
	f->cached++;
	pc->st.pages++;
	return i;
}

int zpa_model_file_read(struct zpa_model_pagecache *pc, int file, uint64_t index, struct zpa_task *task,
			unsigned flags)
{
	struct pc_file *f;
	bool refault;
	zpa_pfn_t pfn;
	uint32_t v;

	if (!pc || (flags & ~(ZPA_MODEL_WRITE | ZPA_MODEL_MAPPED)))
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (!f || index >= f->nr) {
		zpa_spin_unlock(&pc->lock);
		return f ? ZPA_EINVAL : ZPA_ENOENT;
	}
	pc->st.reads++;
	if (flags & ZPA_MODEL_WRITE)
		pc->st.writes++;
	v = f->slot[index];
	if (v != SLOT_EMPTY && v != SLOT_SHADOW) {
		uint32_t i = v - 1;
		struct pc_page *p = &pc->pg[i];
		bool mark = !(flags & ZPA_MODEL_MAPPED), dirty = false;

		pc->st.hits++;
		if (!mark)
			p->flags |= P_ACCESSED;
		if ((flags & ZPA_MODEL_WRITE) && !(p->flags & P_DIRTY)) {
			dirty_append(pc, i);
			dirty = true;
		}
		if (!mark && !dirty) {
			zpa_spin_unlock(&pc->lock);
			return ZPA_MODEL_HIT;
		}
		p->pins++;
		pfn = p->pfn;
		zpa_spin_unlock(&pc->lock);
		if (mark)
			zpa_mark_page_accessed(pc->m, pfn);
		if (dirty)
			zpa_page_set_dirty(pc->m, pfn);
		pc_unpin(pc, i);
		return ZPA_MODEL_HIT;
	}
	refault = v == SLOT_SHADOW;
	zpa_spin_unlock(&pc->lock);

	/* A miss: allocate, put on the LRU, then publish (the callbacks ignore it until then). */
	pfn = zpa__alloc_pages(pc->m, task, pc->cfg.gfp, 0, pc->cfg.nid, NULL);
	if (pfn == ZPA_PFN_NONE) {
		zpa_spin_lock(&pc->lock);
		pc->st.alloc_failures++;
		zpa_spin_unlock(&pc->lock);
		return ZPA_ENOMEM;
	}
	if (zpa_lru_add(pc->m, pfn, pc->owner, (flags & ZPA_MODEL_WRITE) ? ZPA_LRU_DIRTY : 0)) {
		zpa_free_pages(pc->m, pfn, 0);
		return ZPA_EINVAL;
	}
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (!f || (f->slot[index] != SLOT_EMPTY && f->slot[index] != SLOT_SHADOW)) {
		/* Deleted, or read by another thread meanwhile. */
		zpa_spin_unlock(&pc->lock);
		zpa_free_pages(pc->m, pfn, 0);
		return f ? ZPA_MODEL_HIT : ZPA_ENOENT;
	}
	refault = f->slot[index] == SLOT_SHADOW;
	if (pc_install(pc, f, file, index, pfn, flags) == NIL) {
		zpa_spin_unlock(&pc->lock);
		zpa_free_pages(pc->m, pfn, 0);
		return ZPA_ENOMEM;
	}
	if (refault)
		pc->st.refaults++;
	else
		pc->st.misses++;
	zpa_spin_unlock(&pc->lock);
	return refault ? ZPA_MODEL_REFAULT : ZPA_MODEL_MISS;
}

int zpa_model_file_add_page(struct zpa_model_pagecache *pc, int file, uint64_t index, zpa_pfn_t pfn)
{
	struct pc_file *f;
	int rc;

	if (!pc)
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	rc = !f ? ZPA_ENOENT : index >= f->nr || (f->slot[index] != SLOT_EMPTY && f->slot[index] != SLOT_SHADOW)
		? ZPA_EINVAL : 0;
	zpa_spin_unlock(&pc->lock);
	if (rc)
		return rc;
	if (zpa_lru_add(pc->m, pfn, pc->owner, 0))
		return ZPA_EINVAL;
	zpa_spin_lock(&pc->lock);
	f = pc_file(pc, file);
	if (!f || (f->slot[index] != SLOT_EMPTY && f->slot[index] != SLOT_SHADOW) ||
	    pc_install(pc, f, file, index, pfn, 0) == NIL) {
		zpa_spin_unlock(&pc->lock);
		/* Give the page back to the caller as it came: off the LRU. */
		return zpa_lru_del(pc->m, pfn) == 0 ? ZPA_EINVAL : ZPA_EBUSY;
	}
	zpa_spin_unlock(&pc->lock);
	return 0;
}

void zpa_model_pagecache_tick(struct zpa_model_pagecache *pc, uint64_t now_ms)
{
	uint32_t done[BATCH];
	zpa_pfn_t done_pfn[BATCH];
	struct pfn_batch b = { .n = 0 };
	uint64_t started = 0;

	if (!pc)
		return;
	zpa_spin_lock(&pc->lock);
	if (now_ms > pc->now)
		pc->now = now_ms;
	/* Writebacks that are due (the queue is in order of their ends), a batch at a time. */
	while (pc->whead != NIL && pc->pg[pc->whead].when <= pc->now) {
		unsigned nd = 0;

		while (nd < BATCH && b.n < BATCH && pc->whead != NIL && pc->pg[pc->whead].when <= pc->now) {
			uint32_t i = pc->whead;
			struct pc_page *p = &pc->pg[i];

			pc->whead = p->wnext;
			if (pc->whead == NIL)
				pc->wtail = NIL;
			p->wnext = NIL;
			pc->st.writeback--;
			pc->st.written++;
			if (p->flags & P_WB_ZPA) {
				/* Pinned over zpa_page_end_writeback(), so neither freed nor moved meanwhile. */
				p->flags &= ~(P_WB | P_WB_ZPA);
				p->pins++;
				done[nd] = i;
				done_pfn[nd++] = p->pfn;
			} else {
				p->flags &= ~P_WB;
				if ((p->flags & P_DOOMED) && !p->pins) {
					batch_add(&b, p->pfn, 0);
					pc_release(pc, i);
				}
			}
		}
		zpa_spin_unlock(&pc->lock);
		for (unsigned k = 0; k < nd; k++) {
			zpa_page_end_writeback(pc->m, done_pfn[k]);
			pc_unpin(pc, done[k]);
		}
		batch_free(pc->m, &b);
		zpa_spin_lock(&pc->lock);
	}
	/*
	 * The flusher: above the background threshold, write the oldest dirty
	 * pages; below it, only those older than dirty_expire.
	 */
	for (uint32_t i = pc->dhead, next; i != NIL && started < pc->cfg.flush_batch; i = next) {
		next = pc->pg[i].dnext;
		if (pc->st.dirty <= pc->cfg.dirty_background && pc->pg[i].when + pc->cfg.dirty_expire_ms > pc->now)
			break;
		if (pc->pg[i].flags & P_WB)
			continue;  /* redirtied while being written: after that writeback */
		wb_start(pc, i, false);
		pc->st.flushed++;
		started++;
	}
	zpa_spin_unlock(&pc->lock);
}

void zpa_model_pagecache_stats(struct zpa_model_pagecache *pc, struct zpa_model_pagecache_stats *out)
{
	zpa_spin_lock(&pc->lock);
	*out = pc->st;
	zpa_spin_unlock(&pc->lock);
}

int zpa_model_pagecache_owner(struct zpa_model_pagecache *pc, const struct zpa_page_owner_ops **ops, void **arg)
{
	if (ops)
		*ops = &pc_ops;
	if (arg)
		*arg = pc;
	return pc->owner;
}

/* ======================= anonymous memory, swap, tasks ======================= */

#define A_USED       0x01u
#define A_ACCESSED   0x02u
#define A_DOOMED     0x04u   /* unmapped while pinned: freed by the last unpin */

#define PTE_NONE     0u
#define PTE_SWAP     UINT32_MAX  /* a swap entry; otherwise record + 1 */

struct an_page {
	zpa_pfn_t pfn;
	uint64_t index;          /* first entry it maps (aligned to its size) */
	uint32_t task;           /* task id; NIL once doomed */
	uint32_t mapped;         /* entries mapping it */
	uint32_t slots;          /* swap slots it holds (its swap cache copy) */
	uint32_t pins;
	uint8_t order, flags;
};

struct zpa_model_task {
	struct zpa_model_anon *a;
	uint32_t id;
	char comm[ZPA_MODEL_COMM_LEN];
	int pid;
	short adj;
	uint32_t *pte;           /* PTE_NONE, PTE_SWAP or record + 1 */
	uint64_t nr_pte;
	zpa_pfn_t *pgt;          /* page table page per PTRS_PER_PTE entries, or ZPA_PFN_NONE */
	uint64_t nr_pgt;
	uint64_t rss, swapents, pgtables;
	bool killed, exited, oom_registered;
	struct zpa_task *ztask;
};

struct zpa_model_anon {
	struct zpa_machine *m;
	struct zpa_model_anon_config cfg;
	int owner;
	unsigned thp_order;
	zpa_spinlock_t lock;
	uint64_t now;
	struct zpa_model_task **tasks;
	size_t ntasks, captasks;
	struct an_page *pg;
	size_t npg, cappg;
	struct idxstack freepg;
	struct pfnmap rmap;
	uint64_t swap_used;
	unsigned nkills;
	struct zpa_model_kill last_kill;
	struct zpa_model_anon_stats st;
};

static uint32_t an_new_page(struct zpa_model_anon *a)
{
	uint32_t i;

	if (a->freepg.n) {
		i = a->freepg.v[--a->freepg.n];
	} else {
		if (a->npg >= NIL - 1 || grow((void **)&a->pg, &a->cappg, sizeof(*a->pg), a->npg + 1))
			return NIL;
		i = (uint32_t)a->npg++;
	}
	memset(&a->pg[i], 0, sizeof(a->pg[i]));
	a->pg[i].flags = A_USED;
	return i;
}

static void an_release(struct zpa_model_anon *a, uint32_t i)
{
	pm_del(&a->rmap, a->pg[i].pfn);
	a->pg[i].flags = 0;
	idx_push(&a->freepg, i);
}

/* Swap slots for n more entries (lock held): true and *delta moved, or false. */
static bool swap_take(struct zpa_model_anon *a, uint64_t n, int64_t *delta)
{
	if (a->cfg.swap_pages - a->swap_used < n)
		return false;
	a->swap_used += n;
	*delta -= (int64_t)n;
	return true;
}

static void swap_put(struct zpa_model_anon *a, uint64_t n, int64_t *delta)
{
	a->swap_used -= n;
	*delta += (int64_t)n;
}

/*
 * The last entry of a block went (lock held): its slots are released and
 * the page goes into b, or is doomed while pinned.
 */
static void an_drop_block(struct zpa_model_anon *a, uint32_t i, struct pfn_batch *b, int64_t *delta,
			  uint64_t *pages)
{
	struct an_page *p = &a->pg[i];

	swap_put(a, p->slots, delta);
	p->slots = 0;
	a->st.pages -= 1ull << p->order;
	if (pages)
		*pages += 1ull << p->order;
	p->task = NIL;
	if (p->pins) {
		p->flags |= A_DOOMED;
		return;
	}
	batch_add(b, p->pfn, p->order);
	an_release(a, i);
}

static void an_unpin(struct zpa_model_anon *a, uint32_t i)
{
	zpa_pfn_t pfn = ZPA_PFN_NONE;
	unsigned order = 0;

	zpa_spin_lock(&a->lock);
	if (--a->pg[i].pins == 0 && (a->pg[i].flags & A_DOOMED)) {
		pfn = a->pg[i].pfn;
		order = a->pg[i].order;
		an_release(a, i);
	}
	zpa_spin_unlock(&a->lock);
	if (pfn != ZPA_PFN_NONE)
		zpa_free_pages(a->m, pfn, order);
}

/*
 * Drop entries [index, index + n) of t: pages whose last entry this was
 * are freed, swap entries release their slots.  Returns the pages freed
 * (or doomed).  Takes the lock; frees in batches outside it.
 */
static uint64_t an_zap(struct zpa_model_task *t, uint64_t index, uint64_t n)
{
	struct zpa_model_anon *a = t->a;
	struct pfn_batch b = { .n = 0 };
	uint64_t end = index + n, pages = 0;
	int64_t delta = 0;

	zpa_spin_lock(&a->lock);
	if (end > t->nr_pte || end < index)
		end = t->nr_pte;
	for (uint64_t x = index; x < end; x++) {
		uint32_t v = t->pte[x];

		if (v == PTE_NONE)
			continue;
		t->pte[x] = PTE_NONE;
		if (v == PTE_SWAP) {
			t->swapents--;
			a->st.swapents--;
			swap_put(a, 1, &delta);
			continue;
		}
		t->rss--;
		a->st.rss--;
		if (--a->pg[v - 1].mapped == 0)
			an_drop_block(a, v - 1, &b, &delta, &pages);
		if (b.n == BATCH) {
			zpa_spin_unlock(&a->lock);
			zpa_swap_account(a->m, delta);
			delta = 0;
			batch_free(a->m, &b);
			zpa_spin_lock(&a->lock);
		}
	}
	zpa_spin_unlock(&a->lock);
	if (delta)
		zpa_swap_account(a->m, delta);
	batch_free(a->m, &b);
	return pages;
}

/* ---- the page owner's callbacks ---- */

static int an_referenced(void *arg, zpa_pfn_t pfn, unsigned order)
{
	struct zpa_model_anon *a = arg;
	int r = 0;
	uint32_t i;

	(void)order;
	zpa_spin_lock(&a->lock);
	i = pm_get(&a->rmap, pfn);
	if (i != NIL && (a->pg[i].flags & A_ACCESSED)) {
		a->pg[i].flags &= ~A_ACCESSED;
		r = 1;
	}
	zpa_spin_unlock(&a->lock);
	return r;
}

/* Swap-out, first half: give the page slots for every entry that maps it (a synchronous device). */
static int an_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct zpa_model_anon *a = arg;
	int64_t delta = 0;
	int r;
	uint32_t i;

	(void)ctx;
	zpa_spin_lock(&a->lock);
	i = pm_get(&a->rmap, pfn);
	if (i == NIL || a->pg[i].order != order || a->pg[i].pins || (a->pg[i].flags & A_DOOMED)) {
		r = ZPA_EVICT_KEEP;
	} else if (a->pg[i].slots >= a->pg[i].mapped) {
		r = ZPA_EVICT_CLEAN;
	} else if (swap_take(a, a->pg[i].mapped - a->pg[i].slots, &delta)) {
		a->pg[i].slots = a->pg[i].mapped;
		r = ZPA_EVICT_CLEAN;
	} else {
		a->st.swap_full++;
		r = ZPA_EVICT_ACTIVATE;
	}
	a->st.swap_used = a->swap_used;
	zpa_spin_unlock(&a->lock);
	if (delta)
		zpa_swap_account(a->m, delta);
	return r;
}

/* Swap-out, second half: the entries become swap entries and the page is freed. */
static int an_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct zpa_model_anon *a = arg;
	struct zpa_model_task *t;
	struct an_page *p;
	int64_t delta = 0;
	uint64_t n;
	uint32_t i;

	(void)ctx;
	zpa_spin_lock(&a->lock);
	i = pm_get(&a->rmap, pfn);
	if (i == NIL || a->pg[i].order != order || a->pg[i].pins || (a->pg[i].flags & A_DOOMED)) {
		zpa_spin_unlock(&a->lock);
		return ZPA_EVICT_KEEP;
	}
	p = &a->pg[i];
	if (p->slots < p->mapped) {
		/* Not written out (reclaim thought it clean): write it now, if there is room. */
		if (!swap_take(a, p->mapped - p->slots, &delta)) {
			a->st.swap_full++;
			zpa_spin_unlock(&a->lock);
			return ZPA_EVICT_ACTIVATE;
		}
		p->slots = p->mapped;
	}
	t = a->tasks[p->task];
	n = 1ull << p->order;
	for (uint64_t x = p->index; x < p->index + n; x++)
		if (t->pte[x] == i + 1) {
			t->pte[x] = PTE_SWAP;
			t->rss--;
			t->swapents++;
		}
	a->st.rss -= p->mapped;
	a->st.swapents += p->mapped;
	a->st.swapouts += p->mapped;
	a->st.pages -= n;
	/* The entries keep their slots; any left over (entries unmapped since writepage) go back. */
	swap_put(a, p->slots - p->mapped, &delta);
	a->st.swap_used = a->swap_used;
	an_release(a, i);
	zpa_spin_unlock(&a->lock);
	if (delta)
		zpa_swap_account(a->m, delta);
	zpa_free_pages(a->m, pfn, order);
	return ZPA_EVICT_FREED;
}

static int an_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	struct zpa_model_anon *a = arg;
	int r = ZPA_EBUSY;
	uint32_t i;

	(void)mode;
	zpa_spin_lock(&a->lock);
	i = pm_get(&a->rmap, src);
	if (i != NIL && a->pg[i].order == order && !a->pg[i].pins && !(a->pg[i].flags & A_DOOMED)) {
		/* The entries name the record, so moving its pfn remaps every one of them. */
		if (pm_put(&a->rmap, dst, i) == 0) {
			pm_del(&a->rmap, src);
			a->pg[i].pfn = dst;
			a->st.migrated++;
			r = 0;
		} else {
			r = ZPA_EBUSY;  /* no room in the map: try later */
		}
	}
	zpa_spin_unlock(&a->lock);
	return r;
}

static const struct zpa_page_owner_ops an_ops = {
	.name = "model-anon",
	.referenced = an_referenced,
	.writepage = an_writepage,
	.evict = an_evict,
	.migrate = an_migrate,
};

/* ---- the OOM killer's callbacks (arg: the task) ---- */

static void task_fp_locked(const struct zpa_model_task *t, struct zpa_oom_footprint *out)
{
	memset(out, 0, sizeof(*out));
	out->rss_anon = t->rss;
	out->swapents = t->swapents;
	out->pgtables = t->pgtables;
}

static void task_oom_footprint(void *arg, struct zpa_oom_footprint *out)
{
	struct zpa_model_task *t = arg;

	zpa_spin_lock(&t->a->lock);
	task_fp_locked(t, out);
	zpa_spin_unlock(&t->a->lock);
}

static void task_oom_kill(void *arg)
{
	struct zpa_model_task *t = arg;
	struct zpa_model_anon *a = t->a;
	struct zpa_model_kill *k = &a->last_kill;

	zpa_spin_lock(&a->lock);
	if (!t->killed && !t->exited) {
		memset(k, 0, sizeof(*k));
		k->victim_pid = t->pid;
		memcpy(k->victim_comm, t->comm, sizeof(k->victim_comm));
		k->at_ms = a->now;
		for (size_t x = 0; x < a->ntasks; x++) {
			const struct zpa_model_task *o = a->tasks[x];
			struct zpa_model_task_snapshot *s;

			if (o->exited || !o->oom_registered)
				continue;   /* not a candidate */
			if (k->nr_tasks++ >= ZPA_MODEL_KILL_TASKS)
				continue;
			s = &k->tasks[k->nr_tasks - 1];
			s->pid = o->pid;
			memcpy(s->comm, o->comm, sizeof(s->comm));
			s->oom_score_adj = o->adj;
			s->killed = o->killed;
			task_fp_locked(o, &s->fp);
		}
		if (k->nr_tasks > ZPA_MODEL_KILL_TASKS)
			k->nr_tasks = ZPA_MODEL_KILL_TASKS;
		t->killed = true;
		a->nkills++;
		a->st.kills++;
	}
	zpa_spin_unlock(&a->lock);
}

static uint64_t task_oom_reap(void *arg)
{
	struct zpa_model_task *t = arg;
	uint64_t freed = an_zap(t, 0, t->nr_pte);

	zpa_spin_lock(&t->a->lock);
	t->a->st.reaped += freed;
	t->a->st.swap_used = t->a->swap_used;
	zpa_spin_unlock(&t->a->lock);
	return freed;
}

static const struct zpa_oom_task_ops task_oom_ops = {
	.footprint = task_oom_footprint,
	.kill = task_oom_kill,
	.reap = task_oom_reap,
};

/* ---- the anonymous-memory model's calls ---- */

int zpa_model_anon_create(struct zpa_machine *m, const struct zpa_model_anon_config *cfg,
			  struct zpa_model_anon **out)
{
	struct zpa_model_anon *a;
	int id;

	if (!m || !out)
		return ZPA_EINVAL;
	a = zpa_port_zalloc(sizeof(*a));
	if (!a)
		return ZPA_ENOMEM;
	a->m = m;
	if (cfg)
		a->cfg = *cfg;
	if (!a->cfg.gfp)
		a->cfg.gfp = ZPA_GFP_HIGHUSER_MOVABLE;
	if (!a->cfg.pgtable_gfp)
		a->cfg.pgtable_gfp = ZPA_GFP_KERNEL_ACCOUNT | ZPA___GFP_ZERO;
	a->thp_order = zpa_max_order(m) > THP_ORDER ? THP_ORDER : zpa_max_order(m) - 1;
	zpa_spin_lock_init(&a->lock);
	if (pm_resize(&a->rmap, 1024)) {
		zpa_port_free(a);
		return ZPA_ENOMEM;
	}
	id = zpa_page_owner_register(m, &an_ops, a);
	if (id < 0) {
		pm_free(&a->rmap);
		zpa_port_free(a);
		return id;
	}
	a->owner = id;
	a->st.swap_total = a->cfg.swap_pages;
	zpa_swap_set(m, a->cfg.swap_pages, a->cfg.swap_pages);
	*out = a;
	return 0;
}

void zpa_model_anon_destroy(struct zpa_model_anon *a)
{
	if (!a)
		return;
	for (size_t x = 0; x < a->ntasks; x++)
		zpa_model_task_exit(a->tasks[x]);
	/* Pages still pinned by a caller that raced with the exits (none in a quiet model). */
	for (size_t i = 0; i < a->npg; i++)
		if (a->pg[i].flags & A_USED)
			zpa_free_pages(a->m, a->pg[i].pfn, a->pg[i].order);
	for (size_t x = 0; x < a->ntasks; x++) {
		struct zpa_model_task *t = a->tasks[x];

		zpa_task_destroy(t->ztask);
		zpa_port_free(t->pte);
		zpa_port_free(t->pgt);
		zpa_port_free(t);
	}
	zpa_port_free(a->tasks);
	zpa_port_free(a->pg);
	zpa_port_free(a->freepg.v);
	pm_free(&a->rmap);
	zpa_port_free(a);
}

int zpa_model_task_create(struct zpa_model_anon *a, const struct zpa_model_task_config *cfg,
			  struct zpa_model_task **out)
{
	struct zpa_model_task *t;
	int rc = ZPA_ENOMEM;

	if (!a || !cfg || !out || !cfg->max_pages || cfg->oom_score_adj < -1000 || cfg->oom_score_adj > 1000 ||
	    cfg->max_pages > ((uint64_t)SIZE_MAX / sizeof(uint32_t)))
		return ZPA_EINVAL;
	t = zpa_port_zalloc(sizeof(*t));
	if (!t)
		return ZPA_ENOMEM;
	t->a = a;
	copy_comm(t->comm, cfg->comm ? cfg->comm : "task");
	t->pid = cfg->pid;
	t->adj = cfg->oom_score_adj;
	t->nr_pte = cfg->max_pages;
	t->nr_pgt = (cfg->max_pages + PTRS_PER_PTE - 1) / PTRS_PER_PTE;
	t->pte = zpa_port_zalloc((size_t)t->nr_pte * sizeof(*t->pte));
	t->pgt = zpa_port_zalloc((size_t)t->nr_pgt * sizeof(*t->pgt));
	t->ztask = zpa_task_create();
	if (!t->pte || !t->pgt || !t->ztask)
		goto fail;
	for (uint64_t x = 0; x < t->nr_pgt; x++)
		t->pgt[x] = ZPA_PFN_NONE;
	zpa_task_set_cpu(t->ztask, cfg->cpu);
	zpa_task_set_comm(t->ztask, t->comm);   /* the name the OOM reports give the allocating task */
	zpa_spin_lock(&a->lock);
	if (a->ntasks >= NIL - 1 || grow((void **)&a->tasks, &a->captasks, sizeof(*a->tasks), a->ntasks + 1)) {
		zpa_spin_unlock(&a->lock);
		goto fail;
	}
	t->id = (uint32_t)a->ntasks;
	a->tasks[a->ntasks++] = t;
	a->st.tasks++;
	zpa_spin_unlock(&a->lock);
	if (!cfg->no_oom) {
		struct zpa_oom_task_info info = {
			.pid = t->pid, .comm = t->comm, .oom_score_adj = t->adj, .ops = &task_oom_ops, .arg = t,
		};

		rc = zpa_oom_task_add(a->m, t->ztask, &info);
		if (rc) {
			/* Keep the (empty) task in the model's list, exited: its handle is not returned. */
			zpa_spin_lock(&a->lock);
			t->exited = true;
			a->st.tasks--;
			zpa_spin_unlock(&a->lock);
			return rc;
		}
		t->oom_registered = true;
	}
	*out = t;
	return 0;
fail:
	if (t->ztask)
		zpa_task_destroy(t->ztask);
	zpa_port_free(t->pte);
	zpa_port_free(t->pgt);
	zpa_port_free(t);
	return rc;
}

/* Make sure the page table pages for [index, index + n) exist.  0 or ZPA_ENOMEM / ZPA_EBUSY. */
static int an_pgtables(struct zpa_model_task *t, uint64_t index, uint64_t n)
{
	struct zpa_model_anon *a = t->a;

	for (uint64_t c = index / PTRS_PER_PTE; c <= (index + n - 1) / PTRS_PER_PTE; c++) {
		zpa_pfn_t pfn;
		bool have;

		zpa_spin_lock(&a->lock);
		have = t->pgt[c] != ZPA_PFN_NONE;
		zpa_spin_unlock(&a->lock);
		if (have)
			continue;
		pfn = zpa__alloc_pages(a->m, t->ztask, a->cfg.pgtable_gfp, 0, -1, NULL);
		if (pfn == ZPA_PFN_NONE)
			return ZPA_ENOMEM;
		zpa_spin_lock(&a->lock);
		if (t->pgt[c] == ZPA_PFN_NONE && !t->exited) {
			t->pgt[c] = pfn;
			t->pgtables++;
			a->st.pgtables++;
			pfn = ZPA_PFN_NONE;
		}
		zpa_spin_unlock(&a->lock);
		if (pfn != ZPA_PFN_NONE)
			zpa_free_pages(a->m, pfn, 0);
	}
	return 0;
}

int zpa_model_task_touch(struct zpa_model_task *t, uint64_t index, unsigned flags)
{
	struct zpa_model_anon *a;
	zpa_pfn_t pfn;
	int64_t delta = 0;
	uint32_t v, i;
	bool swapin;
	int rc;

	if (!t || (flags & ~ZPA_MODEL_WRITE))
		return ZPA_EINVAL;
	a = t->a;
	zpa_spin_lock(&a->lock);
	if (t->killed || t->exited) {
		zpa_spin_unlock(&a->lock);
		return ZPA_EBUSY;
	}
	if (index >= t->nr_pte) {
		zpa_spin_unlock(&a->lock);
		return ZPA_EINVAL;
	}
	v = t->pte[index];
	if (v != PTE_NONE && v != PTE_SWAP) {
		struct an_page *p = &a->pg[v - 1];

		p->flags |= A_ACCESSED;
		if (!(flags & ZPA_MODEL_WRITE) || !p->slots) {
			zpa_spin_unlock(&a->lock);
			return ZPA_MODEL_HIT;
		}
		/* A write makes the swap copy stale: free the slots, dirty the page again. */
		swap_put(a, p->slots, &delta);
		p->slots = 0;
		a->st.swap_used = a->swap_used;
		p->pins++;
		pfn = p->pfn;
		zpa_spin_unlock(&a->lock);
		zpa_swap_account(a->m, delta);
		zpa_page_set_dirty(a->m, pfn);
		an_unpin(a, v - 1);
		return ZPA_MODEL_HIT;
	}
	zpa_spin_unlock(&a->lock);

	rc = an_pgtables(t, index, 1);
	if (rc == 0) {
		pfn = zpa__alloc_pages(a->m, t->ztask, a->cfg.gfp, 0, -1, NULL);
		if (pfn == ZPA_PFN_NONE)
			rc = ZPA_ENOMEM;
	}
	if (rc) {
		zpa_spin_lock(&a->lock);
		a->st.fault_failures++;
		rc = t->killed || t->exited ? ZPA_EBUSY : rc;
		zpa_spin_unlock(&a->lock);
		return rc;
	}
	if (zpa_lru_add(a->m, pfn, a->owner, ZPA_LRU_ANON | ZPA_LRU_DIRTY)) {
		zpa_free_pages(a->m, pfn, 0);
		return ZPA_EINVAL;
	}
	zpa_spin_lock(&a->lock);
	v = t->pte[index];
	if (t->killed || t->exited || (v != PTE_NONE && v != PTE_SWAP)) {
		/* Killed while allocating (maybe by this very allocation), or raced. */
		rc = t->killed || t->exited ? ZPA_EBUSY : ZPA_MODEL_HIT;
		zpa_spin_unlock(&a->lock);
		zpa_free_pages(a->m, pfn, 0);
		return rc;
	}
	i = an_new_page(a);
	if (i == NIL || pm_put(&a->rmap, pfn, i)) {
		if (i != NIL) {
			a->pg[i].flags = 0;
			idx_push(&a->freepg, i);
		}
		zpa_spin_unlock(&a->lock);
		zpa_free_pages(a->m, pfn, 0);
		return ZPA_ENOMEM;
	}
	a->pg[i].pfn = pfn;
	a->pg[i].task = t->id;
	a->pg[i].index = index;
	a->pg[i].mapped = 1;
	a->pg[i].flags |= A_ACCESSED;   /* the fault's access */
	swapin = v == PTE_SWAP;
	t->pte[index] = i + 1;
	t->rss++;
	a->st.rss++;
	a->st.pages++;
	if (swapin) {
		t->swapents--;
		a->st.swapents--;
		a->st.swapins++;
		swap_put(a, 1, &delta);
		a->st.swap_used = a->swap_used;
	} else {
		a->st.faults++;
	}
	zpa_spin_unlock(&a->lock);
	if (delta)
		zpa_swap_account(a->m, delta);
	return swapin ? ZPA_MODEL_REFAULT : ZPA_MODEL_MISS;
}

int zpa_model_task_touch_huge(struct zpa_model_task *t, uint64_t index, zpa_gfp_t gfp)
{
	struct zpa_model_anon *a;
	uint64_t n, base;
	zpa_pfn_t pfn;
	uint32_t i;
	int rc = 0;

	if (!t)
		return ZPA_EINVAL;
	a = t->a;
	n = 1ull << a->thp_order;
	base = index & ~(n - 1);
	zpa_spin_lock(&a->lock);
	if (t->killed || t->exited)
		rc = ZPA_EBUSY;
	else if (base + n > t->nr_pte)
		rc = ZPA_EINVAL;
	for (uint64_t x = base; !rc && x < base + n; x++)
		if (t->pte[x] != PTE_NONE)
			rc = ZPA_EINVAL;
	zpa_spin_unlock(&a->lock);
	if (rc)
		return rc;
	rc = an_pgtables(t, base, n);
	pfn = rc ? ZPA_PFN_NONE : zpa__alloc_pages(a->m, t->ztask, gfp | ZPA___GFP_COMP, a->thp_order, -1, NULL);
	if (pfn == ZPA_PFN_NONE) {
		zpa_spin_lock(&a->lock);
		a->st.thp_failures++;
		rc = t->killed || t->exited ? ZPA_EBUSY : ZPA_ENOMEM;
		zpa_spin_unlock(&a->lock);
		return rc;
	}
	if (zpa_lru_add(a->m, pfn, a->owner, ZPA_LRU_ANON | ZPA_LRU_DIRTY)) {
		zpa_free_pages(a->m, pfn, a->thp_order);
		return ZPA_EINVAL;
	}
	zpa_spin_lock(&a->lock);
	rc = t->killed || t->exited ? ZPA_EBUSY : 0;
	for (uint64_t x = base; !rc && x < base + n; x++)
		if (t->pte[x] != PTE_NONE)
			rc = ZPA_EINVAL;
	i = rc ? NIL : an_new_page(a);
	if (!rc && (i == NIL || pm_put(&a->rmap, pfn, i))) {
		if (i != NIL) {
			a->pg[i].flags = 0;
			idx_push(&a->freepg, i);
		}
		rc = ZPA_ENOMEM;
	}
	if (rc) {
		zpa_spin_unlock(&a->lock);
		zpa_free_pages(a->m, pfn, a->thp_order);
		return rc;
	}
	a->pg[i].pfn = pfn;
	a->pg[i].task = t->id;
	a->pg[i].index = base;
	a->pg[i].mapped = (uint32_t)n;
	a->pg[i].order = (uint8_t)a->thp_order;
	a->pg[i].flags |= A_ACCESSED;
	for (uint64_t x = base; x < base + n; x++)
		t->pte[x] = i + 1;
	t->rss += n;
	a->st.rss += n;
	a->st.pages += n;
	a->st.thp++;
	zpa_spin_unlock(&a->lock);
	return 0;
}

zpa_pfn_t zpa_model_task_page(struct zpa_model_task *t, uint64_t index)
{
	zpa_pfn_t pfn = ZPA_PFN_NONE;
	uint32_t v;

	if (!t || index >= t->nr_pte)
		return ZPA_PFN_NONE;
	zpa_spin_lock(&t->a->lock);
	v = t->pte[index];
	if (v != PTE_NONE && v != PTE_SWAP)
		pfn = t->a->pg[v - 1].pfn;
	zpa_spin_unlock(&t->a->lock);
	return pfn;
}

int zpa_model_task_unmap(struct zpa_model_task *t, uint64_t index, uint64_t n)
{
	if (!t || index >= t->nr_pte)
		return ZPA_EINVAL;
	an_zap(t, index, n);
	zpa_spin_lock(&t->a->lock);
	t->a->st.swap_used = t->a->swap_used;
	zpa_spin_unlock(&t->a->lock);
	return 0;
}

void zpa_model_task_exit(struct zpa_model_task *t)
{
	struct zpa_model_anon *a;
	struct pfn_batch b = { .n = 0 };
	bool registered;

	if (!t)
		return;
	a = t->a;
	zpa_spin_lock(&a->lock);
	if (t->exited) {
		zpa_spin_unlock(&a->lock);
		return;
	}
	t->exited = true;   /* no fault installs anything from now on */
	registered = t->oom_registered;
	t->oom_registered = false;
	zpa_spin_unlock(&a->lock);
	if (registered)
		zpa_oom_task_remove(a->m, t->ztask);
	an_zap(t, 0, t->nr_pte);
	zpa_spin_lock(&a->lock);
	for (uint64_t c = 0; c < t->nr_pgt; c++) {
		if (t->pgt[c] == ZPA_PFN_NONE)
			continue;
		batch_add(&b, t->pgt[c], 0);
		t->pgt[c] = ZPA_PFN_NONE;
		if (b.n == BATCH) {
			zpa_spin_unlock(&a->lock);
			batch_free(a->m, &b);
			zpa_spin_lock(&a->lock);
		}
	}
	a->st.pgtables -= t->pgtables;
	t->pgtables = 0;
	a->st.tasks--;
	a->st.exits++;
	a->st.swap_used = a->swap_used;
	zpa_spin_unlock(&a->lock);
	batch_free(a->m, &b);
}

bool zpa_model_task_killed(const struct zpa_model_task *t)
{
	bool r;

	zpa_spin_lock(&t->a->lock);
	r = t->killed;
	zpa_spin_unlock(&t->a->lock);
	return r;
}

bool zpa_model_task_exited(const struct zpa_model_task *t)
{
	bool r;

	zpa_spin_lock(&t->a->lock);
	r = t->exited;
	zpa_spin_unlock(&t->a->lock);
	return r;
}

void zpa_model_task_footprint(struct zpa_model_task *t, struct zpa_oom_footprint *out)
{
	task_oom_footprint(t, out);
}

struct zpa_task *zpa_model_task_ztask(struct zpa_model_task *t) { return t->ztask; }
int zpa_model_task_pid(const struct zpa_model_task *t) { return t->pid; }

void zpa_model_task_oom_ops(struct zpa_model_task *t, const struct zpa_oom_task_ops **ops, void **arg)
{
	if (ops)
		*ops = &task_oom_ops;
	if (arg)
		*arg = t;
}

void zpa_model_anon_tick(struct zpa_model_anon *a, uint64_t now_ms)
{
	if (!a)
		return;
	zpa_spin_lock(&a->lock);
	if (now_ms > a->now)
		a->now = now_ms;
	zpa_spin_unlock(&a->lock);
	/* Killed tasks run to their exit; the task list only grows, so indexes stay valid. */
	for (size_t x = 0;; x++) {
		struct zpa_model_task *t = NULL;
		bool go;

		zpa_spin_lock(&a->lock);
		if (x < a->ntasks) {
			t = a->tasks[x];
			go = t->killed && !t->exited;
		} else {
			go = false;
		}
		zpa_spin_unlock(&a->lock);
		if (!t)
			break;
		if (go)
			zpa_model_task_exit(t);
	}
}

unsigned zpa_model_anon_last_kill(struct zpa_model_anon *a, struct zpa_model_kill *out)
{
	unsigned n;

	zpa_spin_lock(&a->lock);
	n = a->nkills;
	if (n && out)
		*out = a->last_kill;
	zpa_spin_unlock(&a->lock);
	return n;
}

void zpa_model_anon_stats(struct zpa_model_anon *a, struct zpa_model_anon_stats *out)
{
	zpa_spin_lock(&a->lock);
	a->st.swap_used = a->swap_used;
	*out = a->st;
	zpa_spin_unlock(&a->lock);
}

int zpa_model_anon_owner(struct zpa_model_anon *a, const struct zpa_page_owner_ops **ops, void **arg)
{
	if (ops)
		*ops = &an_ops;
	if (arg)
		*arg = a;
	return a->owner;
}

/* ======================= slab-like cache ======================= */

#define MAX_OBJS_PER_PAGE 64u
#define O_USED       0x1u
#define O_REFERENCED 0x2u

struct sl_obj {
	uint32_t page;           /* slab page record */
	uint32_t prev, next;     /* the LRU: head newest, tail oldest */
	uint32_t gen;            /* bumped when freed: stale ids miss */
	uint8_t slot, flags;
};

struct sl_page {
	zpa_pfn_t pfn;
	uint64_t freemask;       /* free object slots */
	uint32_t inuse;
	uint32_t pprev, pnext;   /* the partial list (pages with a free slot) */
	bool used, partial;
};

struct zpa_model_slab {
	struct zpa_machine *m;
	struct zpa_model_slab_config cfg;
	char name[32];
	struct zpa_shrinker_ops ops;
	struct zpa_shrinker *shrinker;
	zpa_spinlock_t lock;
	struct sl_obj *obj;
	size_t nobj, capobj;
	struct idxstack freeobj;
	struct sl_page *pg;
	size_t npg, cappg;
	struct idxstack freepg;
	uint32_t lru_head, lru_tail;
	uint32_t partial;
	struct zpa_model_slab_stats st;
};

void zpa_model_slab_config_init(struct zpa_model_slab_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nid = -1;
}

static inline uint64_t slab_full_mask(const struct zpa_model_slab *s)
{
	return s->cfg.objs_per_page == 64 ? ~0ull : (1ull << s->cfg.objs_per_page) - 1;
}

static void partial_add(struct zpa_model_slab *s, uint32_t p)
{
	s->pg[p].partial = true;
	s->pg[p].pprev = NIL;
	s->pg[p].pnext = s->partial;
	if (s->partial != NIL)
		s->pg[s->partial].pprev = p;
	s->partial = p;
}

static void partial_del(struct zpa_model_slab *s, uint32_t p)
{
	struct sl_page *g = &s->pg[p];

	if (!g->partial)
		return;
	if (g->pprev != NIL)
		s->pg[g->pprev].pnext = g->pnext;
	else
		s->partial = g->pnext;
	if (g->pnext != NIL)
		s->pg[g->pnext].pprev = g->pprev;
	g->partial = false;
	g->pprev = g->pnext = NIL;
}

static void lru_link_head(struct zpa_model_slab *s, uint32_t o)
{
	s->obj[o].prev = NIL;
	s->obj[o].next = s->lru_head;
	if (s->lru_head != NIL)
		s->obj[s->lru_head].prev = o;
	else
		s->lru_tail = o;
	s->lru_head = o;
}

static void lru_unlink(struct zpa_model_slab *s, uint32_t o)
{
	struct sl_obj *x = &s->obj[o];

	if (x->prev != NIL)
		s->obj[x->prev].next = x->next;
	else
		s->lru_head = x->next;
	if (x->next != NIL)
		s->obj[x->next].prev = x->prev;
	else
		s->lru_tail = x->prev;
	x->prev = x->next = NIL;
}

/* Free object o (lock held); returns the pfn of its page when that became empty, else ZPA_PFN_NONE. */
static zpa_pfn_t slab_free_obj(struct zpa_model_slab *s, uint32_t o)
{
	struct sl_obj *x = &s->obj[o];
	uint32_t p = x->page;
	struct sl_page *g = &s->pg[p];
	zpa_pfn_t pfn = ZPA_PFN_NONE;

	lru_unlink(s, o);
	x->flags = 0;
	x->gen++;
	idx_push(&s->freeobj, o);
	s->st.objects--;
	g->freemask |= 1ull << x->slot;
	g->inuse--;
	if (!g->inuse) {
		partial_del(s, p);
		pfn = g->pfn;
		g->used = false;
		idx_push(&s->freepg, p);
		s->st.pages--;
	} else if (!g->partial) {
		partial_add(s, p);
	}
	return pfn;
}

static unsigned long slab_count(void *arg, struct zpa_shrink_control *sc)
{
	struct zpa_model_slab *s = arg;
	unsigned long n;

	(void)sc;
	zpa_spin_lock(&s->lock);
	s->st.count_calls++;
	n = (unsigned long)s->st.objects;
	zpa_spin_unlock(&s->lock);
	return n ? n : ZPA_SHRINK_EMPTY;
}

/* Oldest first: a referenced object loses its bit and goes round again; the others are freed. */
static unsigned long slab_scan(void *arg, struct zpa_shrink_control *sc)
{
	struct zpa_model_slab *s = arg;
	struct pfn_batch b = { .n = 0 };
	unsigned long scanned = 0, freed = 0, pages = 0;

	zpa_spin_lock(&s->lock);
	s->st.scan_calls++;
	while (scanned < sc->nr_to_scan && s->lru_tail != NIL) {
		uint32_t o = s->lru_tail;
		zpa_pfn_t pfn;

		scanned++;
		if (s->obj[o].flags & O_REFERENCED) {
			s->obj[o].flags &= ~O_REFERENCED;
			lru_unlink(s, o);
			lru_link_head(s, o);
			continue;
		}
		pfn = slab_free_obj(s, o);
		freed++;
		if (pfn != ZPA_PFN_NONE) {
			batch_add(&b, pfn, 0);
			pages++;
		}
		if (b.n == BATCH) {
			zpa_spin_unlock(&s->lock);
			batch_free(s->m, &b);
			zpa_spin_lock(&s->lock);
		}
	}
	s->st.scanned += scanned;
	s->st.shrunk += freed;
	s->st.pages_freed += pages;
	zpa_spin_unlock(&s->lock);
	batch_free(s->m, &b);
	sc->nr_scanned = scanned;
	sc->nr_freed_pages += pages;
	return freed;
}

int zpa_model_slab_create(struct zpa_machine *m, const struct zpa_model_slab_config *cfg,
			  struct zpa_model_slab **out)
{
	struct zpa_model_slab *s;
	int rc;

	if (!m || !out)
		return ZPA_EINVAL;
	s = zpa_port_zalloc(sizeof(*s));
	if (!s)
		return ZPA_ENOMEM;
	s->m = m;
	if (cfg)
		s->cfg = *cfg;
	else
		zpa_model_slab_config_init(&s->cfg);
	if (!s->cfg.objs_per_page)
		s->cfg.objs_per_page = 21;
	if (!s->cfg.gfp)
		s->cfg.gfp = ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE;
	if (!s->cfg.seeks)
		s->cfg.seeks = ZPA_DEFAULT_SEEKS;
	if (s->cfg.objs_per_page > MAX_OBJS_PER_PAGE || s->cfg.nid < -1 || s->cfg.nid >= (int)zpa_nr_nodes(m)) {
		zpa_port_free(s);
		return ZPA_EINVAL;
	}
	copy_comm(s->name, s->cfg.name ? s->cfg.name : "model-slab");
	s->cfg.name = s->name;
	zpa_spin_lock_init(&s->lock);
	s->lru_head = s->lru_tail = s->partial = NIL;
	s->ops = (struct zpa_shrinker_ops){
		.name = s->name, .count_objects = slab_count, .scan_objects = slab_scan, .seeks = s->cfg.seeks,
	};
	rc = zpa_shrinker_register(m, &s->ops, s, &s->shrinker);
	if (rc) {
		zpa_port_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void zpa_model_slab_destroy(struct zpa_model_slab *s)
{
	if (!s)
		return;
	zpa_shrinker_unregister(s->m, s->shrinker);
	for (size_t p = 0; p < s->npg; p++)
		if (s->pg[p].used)
			zpa_free_pages(s->m, s->pg[p].pfn, 0);
	zpa_port_free(s->obj);
	zpa_port_free(s->pg);
	zpa_port_free(s->freeobj.v);
	zpa_port_free(s->freepg.v);
	zpa_port_free(s);
}

int zpa_model_slab_alloc(struct zpa_model_slab *s, struct zpa_task *task, uint64_t *id)
{
	struct sl_page *g;
	uint32_t p, o;
	unsigned slot;

	if (!s || !id)
		return ZPA_EINVAL;
	zpa_spin_lock(&s->lock);
	while (s->partial == NIL) {
		zpa_pfn_t pfn;

		/* A new slab page; the allocation may run our own shrinker. */
		zpa_spin_unlock(&s->lock);
		pfn = zpa__alloc_pages(s->m, task, s->cfg.gfp, 0, s->cfg.nid, NULL);
		zpa_spin_lock(&s->lock);
		if (pfn == ZPA_PFN_NONE) {
			s->st.alloc_failures++;
			zpa_spin_unlock(&s->lock);
			return ZPA_ENOMEM;
		}
		if (s->freepg.n) {
			p = s->freepg.v[--s->freepg.n];
		} else if (s->npg < NIL - 1 && !grow((void **)&s->pg, &s->cappg, sizeof(*s->pg), s->npg + 1)) {
			p = (uint32_t)s->npg++;
		} else {
			zpa_spin_unlock(&s->lock);
			zpa_free_pages(s->m, pfn, 0);
			return ZPA_ENOMEM;
		}
		s->pg[p] = (struct sl_page){ .pfn = pfn, .freemask = slab_full_mask(s), .used = true,
					     .pprev = NIL, .pnext = NIL };
		s->st.pages++;
		partial_add(s, p);
	}
	if (!s->freeobj.n && (s->nobj >= NIL - 1 ||
			      grow((void **)&s->obj, &s->capobj, sizeof(*s->obj), s->nobj + 1))) {
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOMEM;
	}
	/* Reserve room to push the index back when it is freed. */
	if (grow((void **)&s->freeobj.v, &s->freeobj.cap, sizeof(uint32_t), s->nobj + 1)) {
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOMEM;
	}
	o = s->freeobj.n ? s->freeobj.v[--s->freeobj.n] : (uint32_t)s->nobj++;
	p = s->partial;
	g = &s->pg[p];
	slot = (unsigned)__builtin_ctzll(g->freemask);
	g->freemask &= ~(1ull << slot);
	if (++g->inuse == s->cfg.objs_per_page)
		partial_del(s, p);
	s->obj[o].page = p;
	s->obj[o].slot = (uint8_t)slot;
	s->obj[o].flags = O_USED;
	lru_link_head(s, o);
	s->st.objects++;
	s->st.allocs++;
	*id = ((uint64_t)s->obj[o].gen << 32) | o;
	zpa_spin_unlock(&s->lock);
	return 0;
}

/* The live object an id names (lock held), or NIL. */
static uint32_t slab_lookup(struct zpa_model_slab *s, uint64_t id)
{
	uint32_t o = (uint32_t)id;

	if (o >= s->nobj || !(s->obj[o].flags & O_USED) || s->obj[o].gen != (uint32_t)(id >> 32))
		return NIL;
	return o;
}

int zpa_model_slab_touch(struct zpa_model_slab *s, uint64_t id)
{
	uint32_t o;

	if (!s)
		return ZPA_EINVAL;
	zpa_spin_lock(&s->lock);
	s->st.lookups++;
	o = slab_lookup(s, id);
	if (o == NIL)
		s->st.lookup_misses++;
	else
		s->obj[o].flags |= O_REFERENCED;
	zpa_spin_unlock(&s->lock);
	return o == NIL ? ZPA_ENOENT : 0;
}

int zpa_model_slab_free(struct zpa_model_slab *s, uint64_t id)
{
	zpa_pfn_t pfn;
	uint32_t o;

	if (!s)
		return ZPA_EINVAL;
	zpa_spin_lock(&s->lock);
	o = slab_lookup(s, id);
	if (o == NIL) {
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOENT;
	}
	pfn = slab_free_obj(s, o);
	s->st.frees++;
	zpa_spin_unlock(&s->lock);
	if (pfn != ZPA_PFN_NONE)
		zpa_free_pages(s->m, pfn, 0);
	return 0;
}

void zpa_model_slab_stats(struct zpa_model_slab *s, struct zpa_model_slab_stats *out)
{
	zpa_spin_lock(&s->lock);
	*out = s->st;
	zpa_spin_unlock(&s->lock);
}

void zpa_model_slab_shrinker(struct zpa_model_slab *s, const struct zpa_shrinker_ops **ops, void **arg)
{
	if (ops)
		*ops = &s->ops;
	if (arg)
		*arg = s;
}
