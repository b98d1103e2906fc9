/*
 * engine.c - replay a trace through zpa and compare its decisions with the
 * kernel's.
 *
 * Setup: the machine from the snapshot (zpa_config_from_snapshot() on the
 * dump directory that describes the trace's start) or a machine file, the
 * --set tunables, one zpa_task per CPU (zpa_task_set_cpu), the facts of
 * the trace (startstate.c) and the starting state.
 *
 * The loop, per event in file order:
 *   mm_page_alloc  zpa__alloc_pages() with the event's GFP flags and order
 *                  on the event's CPU's task (its node preferred, as the
 *                  kernel's local allocation).  Success: the pfn map learns
 *                  trace pfn -> zpa pfn, and placement is compared: the
 *                  node and zone the kernel's pfn lies in (from the
 *                  machine's zone spans, which are the snapshot's) against
 *                  those of zpa's pfn.  Failure where the kernel succeeded
 *                  is a zpa-only failure; a kernel failure zpa serves is
 *                  freed again at once, so the states do not drift apart.
 *   mm_page_free   the block the map names is freed with zpa__free_pages()
 *                  on the event's CPU.  A free of part of a block (the kernel
 *                  split a huge or a high-order page) splits zpa's block
 *                  first (zpa_sim_split_page); frees of pages allocated
 *                  before the trace hit the start state's identity entries
 *                  and are counted as such; anything else is unmatched.
 *   others         counted (extfrag against zpa's own zpa_extfrag counter).
 * Every few events a sample of each zone's free blocks per order, unusable
 * free index and fragmentation index goes into the time series.
 *
 * Determinism: the machine, the start state and the loop depend only on the
 * inputs; nothing reads the clock except the timings reported.  Speed: one
 * hash lookup and one allocator call per event, no allocation per event
 * (the map and the series are sized up front and grow geometrically).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_int.h"

#define RP_MAP_FAILED 0x2     /* zpa failed this allocation: no zpa block */

double rp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double rp_now_seconds(void)
{
	return rp_now();
}

struct zrange {
	uint64_t start, end;
	int nid, type;
};

struct engine {
	struct zpa_machine *m;
	const struct rp_trace *t;
	struct rp_result *r;
	struct rp_pfnmap map;
	struct zpa_task **tasks;
	unsigned nr_tasks;
	unsigned max_order;
	unsigned nr_z;
	struct zrange z[RP_MAX_ZONES];
	unsigned last_z;
	uint64_t extfrag_base;
	uint64_t extfrag_trace;
};

static int eng_error(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int eng_error(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static void count_log(void *arg, int level, const char *msg)
{
	(void)level;
	(void)msg;
	(*(uint64_t *)arg)++;
}

/* The zone (index into e->z) holding pfn, or -1. */
static inline int zone_of(struct engine *E, uint64_t pfn)
{
	const struct zrange *z = &E->z[E->last_z];
	if (pfn - z->start < z->end - z->start)
		return (int)E->last_z;
	for (unsigned i = 0; i < E->nr_z; i++)
		if (pfn - E->z[i].start < E->z[i].end - E->z[i].start) {
			E->last_z = i;
			return (int)i;
		}
	return -1;
}

/* ------------------------------------------------------------ series and maps */

static int series_init(struct rp_series *s, unsigned nr_zones, unsigned nr_orders, unsigned cap)
{
	memset(s, 0, sizeof(*s));
	s->nr_zones = nr_zones;
	s->nr_orders = nr_orders;
	s->cap = cap;
	size_t zo = (size_t)cap * nr_zones * nr_orders;
	s->event = calloc(cap, sizeof(*s->event));
	s->ts = calloc(cap, sizeof(*s->ts));
	s->extfrag = calloc(cap, sizeof(*s->extfrag));
	s->extfrag_trace = calloc(cap, sizeof(*s->extfrag_trace));
	s->nr_free = calloc(zo, sizeof(*s->nr_free));
	s->unusable = calloc(zo, sizeof(*s->unusable));
	s->fragidx = calloc(zo, sizeof(*s->fragidx));
	s->free_pages = calloc((size_t)cap * nr_zones, sizeof(*s->free_pages));
	if (!s->event || !s->ts || !s->extfrag || !s->extfrag_trace || !s->nr_free || !s->unusable || !s->fragidx ||
	    !s->free_pages)
		return ZPA_ENOMEM;
	return 0;
}

static void series_free(struct rp_series *s)
{
	free(s->event);
	free(s->ts);
	free(s->extfrag);
	free(s->extfrag_trace);
	free(s->nr_free);
	free(s->unusable);
	free(s->fragidx);
	free(s->free_pages);
	memset(s, 0, sizeof(*s));
}

static void take_sample(struct engine *E, uint64_t events, double ts)
{
	struct rp_series *s = &E->r->series;
	bool ok;

	if (s->nr_samples >= s->cap)
		return;
	unsigned k = s->nr_samples++;
	s->event[k] = events;
	s->ts[k] = ts;
	s->extfrag[k] = zpa_vmstat(E->m, "zpa_extfrag", &ok) - E->extfrag_base;
	s->extfrag_trace[k] = E->extfrag_trace;
	for (unsigned zi = 0; zi < s->nr_zones; zi++) {
		struct zpa_zone_info info;
		struct zpa_frag_indexes fi;
		size_t base = ((size_t)k * s->nr_zones + zi) * s->nr_orders;
		if (zpa_zone_info(E->m, s->zone_nid[zi], s->zone_type[zi], &info) == 0) {
			s->free_pages[(size_t)k * s->nr_zones + zi] = info.free;
			for (unsigned o = 0; o < s->nr_orders; o++)
				s->nr_free[base + o] = info.nr_free[o];
		}
		if (zpa_zone_frag_indexes(E->m, s->zone_nid[zi], s->zone_type[zi], &fi) == 0)
			for (unsigned o = 0; o < s->nr_orders && o < fi.nr_orders; o++) {
				s->unusable[base + o] = fi.unusable_index[o];
				s->fragidx[base + o] = fi.extfrag_index[o];
			}
	}
}

static int take_pbmap(struct engine *E, struct rp_pbmap *pm, unsigned pb)
{
	memset(pm, 0, sizeof(*pm));
	pm->pageblock_order = pb;
	for (unsigned i = 0; i < E->nr_z; i++) {
		uint64_t first = E->z[i].start >> pb, last = (E->z[i].end - 1) >> pb;
		pm->zone_nid[i] = E->z[i].nid;
		pm->zone_type[i] = E->z[i].type;
		pm->zone_start[i] = first << pb;
		pm->zone_blocks[i] = last - first + 1;
		pm->types[i] = malloc(pm->zone_blocks[i]);
		if (!pm->types[i])
			return ZPA_ENOMEM;
		pm->nr_zones = i + 1;
		for (uint64_t b = 0; b < pm->zone_blocks[i]; b++) {
			uint64_t p = (first + b) << pb;
			if (p < E->z[i].start)
				p = E->z[i].start;
			int mt = zpa_sim_pageblock_migratetype(E->m, p);
			pm->types[i][b] = mt < 0 ? 255 : (uint8_t)mt;
		}
	}
	return 0;
}

static void pbmap_free(struct rp_pbmap *pm)
{
	for (unsigned i = 0; i < pm->nr_zones; i++)
		free(pm->types[i]);
	memset(pm, 0, sizeof(*pm));
}

/* ------------------------------------------------------------ the events */

static inline struct zpa_task *task_of(struct engine *E, unsigned cpu)
{
	if (cpu >= E->nr_tasks) {
		E->r->cpu_folded++;
		cpu %= E->nr_tasks;
	}
	return E->tasks[cpu];
}

/* Free what an entry stands for (not its map slot). */
static void free_entry_block(struct engine *E, struct zpa_task *task, const struct rp_pfnmap_entry *ent)
{
	struct rp_result *r = E->r;
	if (ent->flags & RP_MAP_FAILED) {
		r->frees_of_failed++;
		return;
	}
	if (ent->flags & RP_MAP_PRETRACE)
		r->frees_pretrace++;
	if (zpa__free_pages(E->m, task, ent->zpfn, ent->order) != 0)
		r->frees_refused++;
}

/*
 * Split the block of entry (trace head tpfn) into order-0 pieces, in zpa and
 * in the map.  Returns 0 or ZPA_ENOMEM.
 */
static int split_entry(struct engine *E, uint64_t tpfn, struct rp_pfnmap_entry *ent)
{
	uint64_t zpfn = ent->zpfn;
	unsigned order = ent->order, flags = ent->flags;

	if (!(flags & RP_MAP_FAILED) && zpa_sim_split_page(E->m, zpfn) != 0) {
		E->r->frees_refused++;
		return 0;
	}
	E->r->frees_split++;
	for (uint64_t i = 0; i < (1ull << order); i++)
		if (rp_pfnmap_put(&E->map, tpfn + i, (flags & RP_MAP_FAILED) ? 0 : zpfn + i, 0, flags))
			return ZPA_ENOMEM;
	return 0;
}

/* Free every mapped block in [tpfn, tpfn + 2^order). */
static void free_range(struct engine *E, struct zpa_task *task, uint64_t tpfn, unsigned order)
{
	uint64_t end = tpfn + (1ull << order);
	for (uint64_t p = tpfn; p < end;) {
		struct rp_pfnmap_entry *ent = rp_pfnmap_get(&E->map, p);
		if (!ent) {
			E->r->frees_unmatched++;
			p++;
			continue;
		}
		struct rp_pfnmap_entry copy = *ent;
		rp_pfnmap_del(&E->map, ent);
		free_entry_block(E, task, &copy);
		p += 1ull << copy.order;
	}
}

static int do_free(struct engine *E, const struct rp_event *e)
{
	struct zpa_task *task = task_of(E, e->cpu);
	struct rp_pfnmap_entry *ent = rp_pfnmap_get(&E->map, e->pfn);
	int rc;

	E->r->frees++;
	if (ent && ent->order == e->order) {
		struct rp_pfnmap_entry copy = *ent;
		rp_pfnmap_del(&E->map, ent);
		free_entry_block(E, task, &copy);
		return 0;
	}
	if (ent && ent->order > e->order) {
		rc = split_entry(E, e->pfn, ent);
		if (rc)
			return rc;
		free_range(E, task, e->pfn, e->order);
		return 0;
	}
	if (ent) {
		free_range(E, task, e->pfn, e->order);
		return 0;
	}
	/* Part of a bigger block whose head the kernel keeps (split_page, THP split)? */
	for (unsigned k = 1; k < E->max_order; k++) {
		uint64_t h = e->pfn & ~((1ull << k) - 1);
		if (h == e->pfn)
			continue;
		struct rp_pfnmap_entry *he = rp_pfnmap_get(&E->map, h);
		if (he && e->pfn - h < (1ull << he->order)) {
			rc = split_entry(E, h, he);
			if (rc)
				return rc;
			free_range(E, task, e->pfn, e->order);
			return 0;
		}
	}
	E->r->frees_unmatched++;
	return 0;
}

static int do_alloc(struct engine *E, const struct rp_event *e)
{
	struct rp_result *r = E->r;
	struct zpa_task *task = task_of(E, e->cpu);
	zpa_pfn_t z = zpa__alloc_pages(E->m, task, e->gfp, e->order, -1, NULL);

	r->allocs++;
	if (e->order < ZPA_MAX_ORDER_LIMIT)
		r->order_allocs[e->order]++;
	if (e->pfn == RP_NO_PFN) {
		r->kernel_failures++;
		if (z == ZPA_PFN_NONE) {
			r->zpa_failures++;
		} else {
			r->zpa_only_successes++;
			zpa__free_pages(E->m, task, z, e->order);
		}
		return 0;
	}
	int tz = E->t->synthetic ? -1 : zone_of(E, e->pfn);
	if (tz < 0 && !E->t->synthetic)
		r->pfn_outside++;
	struct rp_pfnmap_entry *old = rp_pfnmap_get(&E->map, e->pfn);
	if (old) {
		/* The kernel hands out a pfn zpa still holds: its free was not in the trace. */
		struct rp_pfnmap_entry copy = *old;
		r->realloc_live++;
		rp_pfnmap_del(&E->map, old);
		if (!(copy.flags & RP_MAP_FAILED))
			zpa__free_pages(E->m, task, copy.zpfn, copy.order);
	}
	if (z == ZPA_PFN_NONE) {
		r->zpa_failures++;
		if (E->t->synthetic)
			return rp_pfnmap_put(&E->map, e->pfn, 0, e->order, RP_MAP_FAILED);
		r->zpa_only_failures++;
		if (e->order < ZPA_MAX_ORDER_LIMIT)
			r->order_zpa_only_failures[e->order]++;
		if (r->nr_fail_kept < RP_FAIL_KEPT) {
			unsigned k = r->nr_fail_kept++;
			r->fail[k].line = e->line;
			r->fail[k].ts = e->ts;
			r->fail[k].order = e->order;
			r->fail[k].gfp = e->gfp;
			r->fail[k].cpu = e->cpu;
		}
		return rp_pfnmap_put(&E->map, e->pfn, 0, e->order, RP_MAP_FAILED);
	}
	int zz = zone_of(E, z);
	uint64_t pages = 1ull << e->order;
	if (zz >= 0)
		r->zone_pages_zpa[zz] += pages;
	if (tz >= 0) {
		r->placed++;
		r->zone_pages_trace[tz] += pages;
		if (zz >= 0 && E->z[zz].nid == E->z[tz].nid) {
			r->same_node++;
			if (E->z[zz].type == E->z[tz].type)
				r->same_zone++;
		}
	}
	return rp_pfnmap_put(&E->map, e->pfn, z, e->order, 0);
}

/* ------------------------------------------------------------ setup */

static int make_config(const struct rp_config *cfg, struct zpa_machine_config *mc, char *dump, size_t dumplen,
		       char *err, size_t errlen)
{
	char msg[RP_ERRLEN];
	int rc;

	dump[0] = '\0';
	if (cfg->snapshot) {
		if (rp_snapshot_dump_dir(cfg->snapshot, dump, dumplen) != 0)
			return eng_error(err, errlen, ZPA_ENOENT, "%s: no such snapshot directory", cfg->snapshot);
		rc = zpa_config_from_snapshot(dump, mc, msg, sizeof(msg));
		if (rc)
			return eng_error(err, errlen, rc, "cannot build the machine from %s: %s", dump, msg);
	} else if (cfg->machine_file) {
		rc = zpa_config_from_file(cfg->machine_file, mc, msg, sizeof(msg));
		if (rc)
			return eng_error(err, errlen, rc, "%s", msg);
	} else {
		zpa_machine_config_default(mc);
	}
	return 0;
}

int rp_config_cpus(const struct rp_config *cfg, unsigned *nr_cpus, char *err, size_t errlen)
{
	char dump[1024];
	struct zpa_machine_config *mc = malloc(sizeof(*mc));
	if (!mc)
		return ZPA_ENOMEM;
	int rc = make_config(cfg, mc, dump, sizeof(dump), err, errlen);
	if (!rc)
		*nr_cpus = mc->nr_cpus ? mc->nr_cpus : 1;
	free(mc);
	return rc;
}

int rp_replay(const struct rp_trace *t, const struct rp_config *cfg, const struct rp_options *o,
	      struct rp_result *r, char *err, size_t errlen)
{
	static const struct rp_options defaults;
	struct zpa_machine_config *mc = NULL;
	struct rp_snapshot *snap = NULL;
	struct rp_facts facts;
	struct engine E;
	char dump[1024];
	int rc;

	if (!o)
		o = &defaults;
	memset(r, 0, sizeof(*r));
	memset(&E, 0, sizeof(E));
	memset(&facts, 0, sizeof(facts));
	snprintf(r->label, sizeof(r->label), "%s", cfg->label ? cfg->label : "");
	E.t = t;
	E.r = r;

	mc = malloc(sizeof(*mc));
	if (!mc)
		return ZPA_ENOMEM;
	rc = make_config(cfg, mc, dump, sizeof(dump), err, errlen);
	if (rc)
		goto out;
	mc->log = count_log;
	mc->log_arg = &r->log_messages;
	rc = zpa_machine_create(mc, &E.m);
	if (rc) {
		eng_error(err, errlen, rc, "the machine could not be created: %s", zpa_strerror(rc));
		goto out;
	}
	for (unsigned i = 0; i < cfg->nr_sets; i++) {
		char name[128];
		const char *eq = strchr(cfg->sets[i], '=');
		if (!eq || eq == cfg->sets[i] || (size_t)(eq - cfg->sets[i]) >= sizeof(name)) {
			rc = eng_error(err, errlen, ZPA_EINVAL, "--set %s: expected NAME=VALUE", cfg->sets[i]);
			goto out;
		}
		memcpy(name, cfg->sets[i], (size_t)(eq - cfg->sets[i]));
		name[eq - cfg->sets[i]] = '\0';
		rc = zpa_sysctl_set(E.m, name, eq + 1);
		if (rc) {
			eng_error(err, errlen, rc, "--set %s: %s", cfg->sets[i], zpa_strerror(rc));
			goto out;
		}
	}
	E.max_order = zpa_max_order(E.m);

	/* Zones, tasks, the map. */
	uint64_t max_pfn = 0;
	for (unsigned nid = 0; nid < zpa_nr_nodes(E.m); nid++)
		for (int type = 0; type < ZPA_NR_ZONE_TYPES; type++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(E.m, (int)nid, type, &zi) != 0 || !zi.spanned || E.nr_z >= RP_MAX_ZONES)
				continue;
			E.z[E.nr_z].start = zi.start_pfn;
			E.z[E.nr_z].end = zi.start_pfn + zi.spanned;
			E.z[E.nr_z].nid = (int)nid;
			E.z[E.nr_z].type = type;
			r->wmark[E.nr_z][0] = zi.min;
			r->wmark[E.nr_z][1] = zi.low;
			r->wmark[E.nr_z][2] = zi.high;
			if (E.z[E.nr_z].end > max_pfn)
				max_pfn = E.z[E.nr_z].end;
			E.nr_z++;
		}
	if (!E.nr_z) {
		rc = eng_error(err, errlen, ZPA_EINVAL, "the machine has no memory");
		goto out;
	}
	E.nr_tasks = zpa_nr_cpus(E.m) ? zpa_nr_cpus(E.m) : 1;
	E.tasks = calloc(E.nr_tasks, sizeof(*E.tasks));
	if (!E.tasks) {
		rc = ZPA_ENOMEM;
		goto out;
	}
	for (unsigned c = 0; c < E.nr_tasks; c++) {
		E.tasks[c] = zpa_task_create();
		if (!E.tasks[c]) {
			rc = ZPA_ENOMEM;
			goto out;
		}
		zpa_task_set_cpu(E.tasks[c], (int)c);
	}
	rc = rp_pfnmap_init(&E.map, t->count[RP_EV_ALLOC] / 8 + 1024);
	if (rc)
		goto out;

	/* The starting state. */
	unsigned pb = mc->pageblock_order;
	if (pb >= E.max_order)
		pb = E.max_order - 1;
	r->pageblock_order = pb;
	rc = rp_facts_build(t, max_pfn, pb, E.max_order, &facts);
	if (rc)
		goto out;
	if (o->no_start_state) {
		snprintf(r->start.why_not, sizeof(r->start.why_not), "--no-start-state");
	} else if (!cfg->snapshot) {
		snprintf(r->start.why_not, sizeof(r->start.why_not), "no snapshot: the machine's boot state");
	} else {
		char msg[RP_ERRLEN];
		snap = malloc(sizeof(*snap));
		if (!snap) {
			rc = ZPA_ENOMEM;
			goto out;
		}
		if (rp_snapshot_read(dump, snap, msg, sizeof(msg)) != 0) {
			snprintf(r->start.why_not, sizeof(r->start.why_not), "%.120s", msg);
		} else {
			rc = rp_build_start_state(E.m, snap, &facts, E.tasks, E.nr_tasks, &E.map, &r->start);
			if (rc)
				goto out;
		}
	}

	/* The series and the maps. */
	unsigned samples = o->samples ? o->samples : 200;
	rc = series_init(&r->series, E.nr_z, E.max_order, samples + 2);
	if (rc)
		goto out;
	for (unsigned i = 0; i < E.nr_z; i++) {
		r->series.zone_nid[i] = E.z[i].nid;
		r->series.zone_type[i] = E.z[i].type;
	}
	if (o->keep_map && (rc = take_pbmap(&E, &r->map_start, pb)) != 0)
		goto out;
	bool ok;
	E.extfrag_base = zpa_vmstat(E.m, "zpa_extfrag", &ok);
	uint64_t interval = t->n / samples + 1;
	take_sample(&E, 0, t->n ? t->ev[0].ts : 0);

	/* The loop. */
	double t0 = rp_now();
	for (size_t i = 0; i < t->n; i++) {
		const struct rp_event *e = &t->ev[i];
		switch (e->type) {
		case RP_EV_ALLOC:
			rc = do_alloc(&E, e);
			break;
		case RP_EV_FREE:
			rc = do_free(&E, e);
			break;
		case RP_EV_FREE_BATCHED:
			r->frees_batched++;
			break;
		case RP_EV_EXTFRAG:
			E.extfrag_trace++;
			break;
		case RP_EV_PCPU_DRAIN:
			r->pcpu_drain_trace++;
			break;
		case RP_EV_ZONE_LOCKED:
			r->zone_locked_trace++;
			break;
		default:
			break;
		}
		if (rc)
			goto out;
		if ((i + 1) % interval == 0)
			take_sample(&E, i + 1, e->ts);
		if (o->progress && (i & 0xffff) == 0xffff)
			o->progress(o->progress_arg, i + 1, t->n);
	}
	r->seconds = rp_now() - t0;
	if (r->series.nr_samples == 0 || r->series.event[r->series.nr_samples - 1] != t->n)
		take_sample(&E, t->n, t->n ? t->ev[t->n - 1].ts : 0);
	if (o->progress)
		o->progress(o->progress_arg, t->n, t->n);

	/* The totals. */
	r->events = t->n;
	r->extfrag_zpa = zpa_vmstat(E.m, "zpa_extfrag", &ok) - E.extfrag_base;
	r->extfrag_trace = E.extfrag_trace;
	r->node_agreement = r->placed ? (double)r->same_node / (double)r->placed : 0;
	r->zone_agreement = r->placed ? (double)r->same_zone / (double)r->placed : 0;
	r->events_per_second = r->seconds > 0 ? (double)t->n / r->seconds : 0;
	r->end_free_pages = zpa_total_free(E.m);
	if (o->keep_map && (rc = take_pbmap(&E, &r->map_end, pb)) != 0)
		goto out;
	r->check_rc = zpa_check(E.m, r->check_report, sizeof(r->check_report));
out:
	if (rc)
		rp_result_free(r);
	rp_facts_free(&facts);
	rp_pfnmap_destroy(&E.map);
	if (E.tasks) {
		for (unsigned c = 0; c < E.nr_tasks; c++)
			zpa_task_destroy(E.tasks[c]);
		free(E.tasks);
	}
	if (E.m)
		zpa_machine_destroy(E.m);
	free(snap);
	free(mc);
	return rc;
}

void rp_result_free(struct rp_result *r)
{
	series_free(&r->series);
	pbmap_free(&r->map_start);
	pbmap_free(&r->map_end);
}
