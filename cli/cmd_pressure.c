/*
 * cmd_pressure.c - `zpa run pressure`: the whole slow path under a
 * simulated workload, on a simulated clock.  See docs/PRESSURE.md.
 *
 * The machine runs with its daemons in ZPA_DAEMON_MANUAL mode: every tick
 * (TICK_MS of simulated time) the workload does its tick's work, the
 * models' clocks advance (writebacks end, the flusher runs, killed tasks
 * exit) and zpa_daemon_step() runs kswapd, kcompactd and the OOM reaper as
 * they would have run by then.  The memory users are the built-in models of
 * zpa/model.h: a page cache (data files read in a stream, some written; a
 * hot set re-read, partly through mappings), anonymous memory with a swap
 * device of a quarter of memory (an application, a batch job that exits
 * and restarts, a task with transparent huge pages), a dentry-like slab
 * cache with a shrinker, and, for the last phase, tasks for the OOM killer.
 * Everything is deterministic for a seed and a machine.
 *
 * Four phases, each checked against what Linux 6.1 would show:
 *   moderate  page cache and anonymous growth at a rate kswapd can follow:
 *             a fill while memory is well above the high watermark, then
 *             steady ticks of (low - min) / 4 pages each.  kswapd scans
 *             (pgscan_kswapd > 0), no direct reclaim (allocstall_* and
 *             pgscan_direct unchanged), free pages stay above min and near
 *             high (at most 2 x high + the largest watermark boost seen).
 *   heavy     bursts of 4 x (high - min) pages between two daemon steps
 *             (then two quiet ticks), with slab objects and order-3 kernel
 *             buffers mixed in and THP faults (GFP_TRANSHUGE) at each
 *             burst's start: direct reclaim (allocstall_normal,
 *             pgscan_direct) and direct compaction (compact_stall).
 *   order-9   memory made free, then fragmented: every free block of order
 *             >= 9 is taken, split, and every other page given to the page
 *             cache (movable, reclaimable) and the rest freed.  A THP
 *             request that may not reclaim or compact
 *             (GFP_TRANSHUGE_LIGHT|__GFP_NORETRY) fails; GFP_TRANSHUGE (then
 *             with __GFP_RETRY_MAYFAIL) succeeds through compaction
 *             (compact_success > 0).
 *   oom       the earlier tasks exit; four tasks with chosen oom_score_adj
 *             grow anonymous memory until swap and reclaimable memory are
 *             gone.  Exactly one OOM kill (oom_kill +1), of the task with the
 *             highest badness: rss + swap entries + page tables +
 *             adj * (totalpages / 1000), computed here from the footprints the
 *             model recorded at the kill.
 *
 * Output: the machine, the parameters, one block per phase (ticks, free
 * pages min/avg/max against the watermarks, counter changes, the models'
 * activity, each expectation with its value) and a verdict.  --json FILE
 * writes the same as JSON with every /proc/vmstat line of the final state.
 *
 * Exit status: 0 when every phase met its expectations, 1 otherwise or when
 * the library failed, 2 for a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rng.h"
#include "zpa/model.h"
#include "zpa/sim.h"

int cmd_pressure(int argc, char **argv);

#define DEFAULT_SEED        42
#define DEFAULT_BASE        (4ULL << 30)  /* the default machine's RAM: one Normal zone above 4 GiB */
#define DEFAULT_MEM         (1ULL << 30)
#define DEFAULT_CPUS        2
#define TICK_MS             10
#define LOG_SHOWN           3

/* ----- the workload's knobs (docs/PRESSURE.md explains each) ----- */
#define SWAP_SHARE          0.25    /* swap device, of managed pages */
#define STREAM_FILES        32      /* data files read in a stream: twice managed in all */
#define HOT_FILES           8       /* the re-read set: 1/16 of managed in all */
#define HOT_SHARE           (1.0 / 16)
#define WRITE_PERMILLE      100     /* stream accesses that write */
#define DIRTY_EXPIRE_MS     3000    /* the flusher's dirty_expire: Linux's 30 s scaled to the run's length */
#define MAPPED_PERMILLE     300     /* hot accesses through a mapping */
#define APP_SHARE           0.20    /* the application's anonymous memory */
#define BATCH_SHARE         0.125   /* the batch job's, before it exits and restarts */
#define THP_SHARE           0.125   /* the THP task's address space (reused round robin) */
#define SLAB_OBJS_PER_PAGE  21      /* 192-byte objects (a dentry) */
#define SLAB_RING           65536   /* recent objects looked up again */
#define MOD_RATE_DIV        4       /* moderate: (low - min) / 4 pages a tick ... */
#define MOD_RATE_MIN        32      /* ... at least this */
#define MOD_FILL_MULT       16      /* the fill runs at 16 x the rate while above low */
#define MOD_STEADY_SHARE    0.5     /* steady ticks: allocate half of managed memory in all */
#define MOD_STEADY_MIN      200
#define MOD_HIGH_SLACK      2       /* free_max <= 2 x high + boost: a kswapd pass may reclaim high pages */
#define HEAVY_BURST_MULT    4       /* a burst: 4 x (high - min) pages between two daemon steps */
#define HEAVY_BURST_MIN     2048
#define HEAVY_BURSTS        16
#define HEAVY_QUIET_TICKS   2       /* ticks without work after each burst: kswapd catches up */
#define HEAVY_CHUNK         64      /* a burst is interleaved in chunks of this many pages */
#define HEAVY_BUFFERS       16      /* order-3 GFP_KERNEL buffers per burst, freed at the tick's end */
#define SETTLE_TICKS        20      /* quiet ticks before the order-9 demonstration */
#define ORDER9_FREE_SHARE   0.125   /* free high + 1/8 of managed before fragmenting */
#define ORDER9_ROUNDS       8
#define OOM_RATE_DIV        128     /* oom: managed / 128 pages a tick in all */
#define OOM_POST_TICKS      100     /* ticks after the kill for the reaper and the exit */
#define OOM_STUCK_TICKS     50      /* ticks without progress or kill that end the phase */
#define HOPELESS_DIV        8       /* a phase whose failed allocations pass managed / 8 stops its work */

#define GFP_GRAB ((ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN) & ~ZPA___GFP_RECLAIM)
#define GFP_BUFFER (ZPA_GFP_KERNEL | ZPA___GFP_COMP | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN)

/* ----- /proc/vmstat snapshots ----- */

struct vmsnap {
	unsigned n;
	char (*name)[48];
	uint64_t *v;
};

static void vm_free(struct vmsnap *s)
{
	free(s->name);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Every line of zpa_show(m, "vmstat"), in its order.  0 or -1 (out of memory). */
static int vm_read(struct zpa_machine *m, struct vmsnap *s)
{
	long len = zpa_show(m, "vmstat", NULL, 0);
	char *buf, *p;
	unsigned cap = 0;

	vm_free(s);
	if (len < 0 || !(buf = malloc((size_t)len + 1)))
		return -1;
	zpa_show(m, "vmstat", buf, (size_t)len + 1);
	for (p = buf; *p; p++)
		cap += *p == '\n';
	s->name = calloc(cap + 1, sizeof(*s->name));
	s->v = calloc(cap + 1, sizeof(*s->v));
	if (!s->name || !s->v) {
		free(buf);
		vm_free(s);
		return -1;
	}
	for (p = buf; *p;) {
		char *nl = strchr(p, '\n');
		unsigned long long v;

		if (nl)
			*nl = '\0';
		if (s->n < cap + 1 && sscanf(p, "%47s %llu", s->name[s->n], &v) == 2)
			s->v[s->n++] = v;
		if (!nl)
			break;
		p = nl + 1;
	}
	free(buf);
	return 0;
}

static uint64_t vm_get(const struct vmsnap *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return s->v[i];
	return 0;
}

static bool vm_has(const struct vmsnap *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return true;
	return false;
}

static int64_t vm_delta(const struct vmsnap *a, const struct vmsnap *b, const char *name)
{
	return (int64_t)(vm_get(b, name) - vm_get(a, name));
}

/* Sum of every allocstall_<zone> change. */
static int64_t allocstall_delta(const struct vmsnap *a, const struct vmsnap *b)
{
	int64_t d = 0;

	for (unsigned i = 0; i < b->n; i++)
		if (strncmp(b->name[i], "allocstall_", 11) == 0)
			d += vm_delta(a, b, b->name[i]);
	return d;
}

/* Counters each phase reports even when they did not change. */
static const char *const key_counters[] = {
	"pgscan_kswapd", "pgsteal_kswapd", "pgscan_direct", "pgsteal_direct", "allocstall_normal",
	"allocstall_movable", "pgscan_anon", "pgscan_file", "pswpin", "pswpout", "pgactivate",
	"pgrotated", "slabs_scanned", "pageoutrun", "zpa_kswapd_wake", "compact_stall",
	"compact_fail", "compact_success", "compact_daemon_wake", "pgmigrate_success", "oom_kill",
};
#define NR_KEY (sizeof(key_counters) / sizeof(key_counters[0]))

static bool is_key(const char *name)
{
	for (size_t i = 0; i < NR_KEY; i++)
		if (strcmp(key_counters[i], name) == 0)
			return true;
	return false;
}

/* ----- phases ----- */

#define MAX_EXPECT 8
#define MAX_INFO 16

struct expect {
	const char *what;          /* "pgscan_kswapd", "free_min" ... */
	char want[48];             /* "> 0", ">= 6656", "== chrome" */
	char got[48];
	bool ok;
};

struct info {
	const char *key;
	char val[64];
	bool str;                  /* a JSON string, else a number or literal */
};

struct models {
	struct zpa_model_pagecache_stats pc;
	struct zpa_model_anon_stats an;
	struct zpa_model_slab_stats sl;
};

struct phase {
	const char *name, *title;
	uint64_t ticks, fill_ticks;
	uint64_t samples;
	double free_sum;
	uint64_t free_min, free_max, boost_max;
	uint64_t wm_min, wm_low, wm_high;
	uint64_t failures;          /* order-0 workload allocations that failed */
	bool stopped;               /* hopeless(): the work stopped early */
	struct vmsnap before, after;
	struct models mbefore, mafter;
	struct expect ex[MAX_EXPECT];
	unsigned nex;
	struct info info[MAX_INFO];
	unsigned ninfo;
	bool ok;
};

enum { PH_MODERATE, PH_HEAVY, PH_ORDER9, PH_OOM, NR_PHASES };

struct oom_spec {
	const char *comm;
	short adj;
	unsigned weight;            /* share of each tick's growth */
};
static const struct oom_spec oom_specs[] = {
	{ "postgres", 0, 8 },
	{ "chrome", 300, 4 },
	{ "batch-job", 500, 2 },
	{ "sshd", -1000, 1 },
};
#define NR_OOM_TASKS (sizeof(oom_specs) / sizeof(oom_specs[0]))

struct sim {
	struct zpa_machine *m;
	struct rng rng;
	uint64_t now, seed;
	uint64_t managed, swap_pages;
	unsigned nr_cpus;
	struct zpa_model_pagecache *pc;
	struct zpa_model_anon *anon;
	struct zpa_model_slab *slab;
	struct zpa_task *io, *kern;
	/* page cache */
	int data[STREAM_FILES];
	uint64_t data_pages;
	unsigned cur_file;
	uint64_t cur_index;
	int hot[HOT_FILES];
	uint64_t hot_pages;
	/* anonymous memory */
	int next_pid;
	struct zpa_model_task *app, *batch, *thp, *demo;
	uint64_t app_next, app_cap, batch_next, batch_cap, thp_next, thp_cap;
	struct zpa_model_task *oom[NR_OOM_TASKS];
	uint64_t oom_next[NR_OOM_TASKS];
	/* slab */
	uint64_t *ring;
	size_t ring_n, ring_pos;
	/* transient kernel buffers of the tick */
	zpa_pfn_t buffers[HEAVY_BUFFERS];
	unsigned nbuf;
	/* the running phase */
	struct phase *ph;
	bool sampling;
	/* results */
	struct phase phases[NR_PHASES];
	struct zpa_model_kill kill;
	unsigned kills;
	int expected_pid;
	char expected_comm[ZPA_MODEL_COMM_LEN];
	int64_t expected_badness, actual_badness;
	uint64_t totalpages;
	int error;                  /* CLI out of memory */
};

/* ----- machine state ----- */

struct freeinfo {
	uint64_t free, min, low, high, boost, order9_blocks;
};

static void read_free(struct zpa_machine *m, struct freeinfo *fi)
{
	memset(fi, 0, sizeof(*fi));
	for (unsigned n = 0; n < zpa_nr_nodes(m); n++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;

			if (zpa_zone_info(m, (int)n, t, &zi) || !zi.managed)
				continue;
			fi->free += zi.free;
			fi->min += zi.min;
			fi->low += zi.low;
			fi->high += zi.high;
			fi->boost += zi.boost;
			for (unsigned o = 9; o < zpa_max_order(m) && o < ZPA_MAX_ORDER_LIMIT; o++)
				fi->order9_blocks += zi.nr_free[o];
		}
}

static void sample(struct sim *s)
{
	struct phase *ph = s->ph;
	struct freeinfo fi;

	if (!s->sampling)
		return;
	read_free(s->m, &fi);
	if (!ph->samples || fi.free < ph->free_min)
		ph->free_min = fi.free;
	if (fi.free > ph->free_max)
		ph->free_max = fi.free;
	if (fi.boost > ph->boost_max)
		ph->boost_max = fi.boost;
	ph->free_sum += (double)fi.free;
	ph->samples++;
}

static void read_models(struct sim *s, struct models *md)
{
	zpa_model_pagecache_stats(s->pc, &md->pc);
	zpa_model_anon_stats(s->anon, &md->an);
	zpa_model_slab_stats(s->slab, &md->sl);
}

/* One tick's end: sample at the low point, advance the clocks, run the daemons, sample again. */
static void tick_end(struct sim *s)
{
	for (unsigned i = 0; i < s->nbuf; i++)
		zpa__free_pages(s->m, s->kern, s->buffers[i], 3);
	s->nbuf = 0;
	sample(s);
	s->now += TICK_MS;
	zpa_model_pagecache_tick(s->pc, s->now);
	zpa_model_anon_tick(s->anon, s->now);
	zpa_daemon_step(s->m, s->now);
	sample(s);
	s->ph->ticks++;
}

static void phase_begin(struct sim *s, int id, const char *name, const char *title)
{
	struct phase *ph = &s->phases[id];
	struct freeinfo fi;

	ph->name = name;
	ph->title = title;
	read_free(s->m, &fi);
	ph->wm_min = fi.min;
	ph->wm_low = fi.low;
	ph->wm_high = fi.high;
	if (vm_read(s->m, &ph->before))
		s->error = ZPA_ENOMEM;
	read_models(s, &ph->mbefore);
	ph->ok = true;
	s->ph = ph;
	s->sampling = true;
}

static void phase_end(struct sim *s)
{
	struct phase *ph = s->ph;

	if (vm_read(s->m, &ph->after))
		s->error = ZPA_ENOMEM;
	read_models(s, &ph->mafter);
}

static void expect(struct phase *ph, const char *what, bool ok, const char *want, const char *gotfmt, ...)
	__attribute__((format(printf, 5, 6)));

static void expect(struct phase *ph, const char *what, bool ok, const char *want, const char *gotfmt, ...)
{
	struct expect *e;
	va_list ap;

	if (ph->nex == MAX_EXPECT)
		return;
	e = &ph->ex[ph->nex++];
	e->what = what;
	e->ok = ok;
	ph->ok &= ok;
	snprintf(e->want, sizeof(e->want), "%s", want);
	va_start(ap, gotfmt);
	vsnprintf(e->got, sizeof(e->got), gotfmt, ap);
	va_end(ap);
}

static void info(struct phase *ph, const char *key, bool str, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void info(struct phase *ph, const char *key, bool str, const char *fmt, ...)
{
	struct info *in;
	va_list ap;

	if (ph->ninfo == MAX_INFO)
		return;
	in = &ph->info[ph->ninfo++];
	in->key = key;
	in->str = str;
	va_start(ap, fmt);
	vsnprintf(in->val, sizeof(in->val), fmt, ap);
	va_end(ap);
}

/* ----- workload primitives ----- */

static void count_failure(struct sim *s, int rc)
{
	if (rc == ZPA_ENOMEM)
		s->ph->failures++;
}

/*
 * Far more failed allocations than a working slow path allows: the phase
 * stops its work (the rest of its ticks would only time the retry ladder).
 */
static bool hopeless(struct sim *s)
{
	if (s->ph->failures <= s->managed / HOPELESS_DIV)
		return false;
	if (!s->ph->stopped) {
		s->ph->stopped = true;
		info(s->ph, "stopped_early", false, "true");
	}
	return true;
}

/* Read the data files in a stream; some accesses write. */
static void stream(struct sim *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		unsigned flags = rng_below(&s->rng, 1000) < WRITE_PERMILLE ? ZPA_MODEL_WRITE : 0;

		count_failure(s, zpa_model_file_read(s->pc, s->data[s->cur_file], s->cur_index, s->io, flags));
		if (++s->cur_index == s->data_pages) {
			s->cur_index = 0;
			s->cur_file = (s->cur_file + 1) % STREAM_FILES;
		}
	}
}

/* Re-read the hot set at random; part of it through mappings. */
static void hot(struct sim *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		int f = s->hot[rng_below(&s->rng, HOT_FILES)];
		uint64_t idx = rng_below(&s->rng, s->hot_pages);
		unsigned flags = rng_below(&s->rng, 1000) < MAPPED_PERMILLE ? ZPA_MODEL_MAPPED : 0;

		count_failure(s, zpa_model_file_read(s->pc, f, idx, s->io, flags));
	}
}

static struct zpa_model_task *new_task(struct sim *s, const char *comm, short adj, uint64_t pages)
{
	struct zpa_model_task_config tc = {
		.comm = comm, .pid = s->next_pid++, .oom_score_adj = adj, .max_pages = pages,
		.cpu = (int)((unsigned)s->next_pid % s->nr_cpus),
	};
	struct zpa_model_task *t = NULL;

	if (zpa_model_task_create(s->anon, &tc, &t))
		s->error = ZPA_ENOMEM;
	return t;
}

/* Grow t by n pages from *next (writes), up to cap; returns pages touched. */
static uint64_t grow_task(struct sim *s, struct zpa_model_task *t, uint64_t *next, uint64_t cap, uint64_t n)
{
	uint64_t done = 0;

	while (done < n && *next < cap) {
		int rc = zpa_model_task_touch(t, (*next)++, ZPA_MODEL_WRITE);

		if (rc == ZPA_EBUSY)
			break;
		count_failure(s, rc);
		done++;
	}
	return done;
}

/* Touch n random pages below next (hits, or swap-ins). */
static void touch_random(struct sim *s, struct zpa_model_task *t, uint64_t next, uint64_t n)
{
	for (uint64_t i = 0; next && i < n; i++) {
		unsigned flags = rng_below(&s->rng, 4) ? 0 : ZPA_MODEL_WRITE;

		count_failure(s, zpa_model_task_touch(t, rng_below(&s->rng, next), flags));
	}
}

/*
 * The application grows to its size, then the batch job takes the budget;
 * with churn, a batch job that reached its size exits (freeing everything at
 * once) and a new one starts.
 */
static void anon_budget(struct sim *s, uint64_t n, bool churn)
{
	uint64_t done = grow_task(s, s->app, &s->app_next, s->app_cap, n);

	while (done < n && !s->error) {
		uint64_t got = grow_task(s, s->batch, &s->batch_next, s->batch_cap, n - done);

		done += got;
		if (!got && s->batch_next < s->batch_cap)
			return;   /* killed (an OOM kill here would be reported by the counters) */
		if (s->batch_next >= s->batch_cap) {
			if (!churn)
				return;
			zpa_model_task_exit(s->batch);
			s->batch = new_task(s, "batch", 0, s->batch_cap);
			s->batch_next = 0;
			if (!s->batch)
				return;
		}
	}
}

/* New slab objects (a dentry per file opened), and lookups of recent ones; a lookup miss re-creates it. */
static void slab_work(struct sim *s, uint64_t objects)
{
	for (uint64_t i = 0; i < objects; i++) {
		uint64_t id;
		int rc = zpa_model_slab_alloc(s->slab, s->kern, &id);

		count_failure(s, rc);
		if (rc)
			continue;
		s->ring[s->ring_pos] = id;
		s->ring_pos = (s->ring_pos + 1) % SLAB_RING;
		if (s->ring_n < SLAB_RING)
			s->ring_n++;
	}
	for (uint64_t i = 0; s->ring_n && i < objects / 2; i++) {
		size_t k = (size_t)rng_below(&s->rng, s->ring_n);

		if (zpa_model_slab_touch(s->slab, s->ring[k]) == ZPA_ENOENT) {
			uint64_t id;

			if (zpa_model_slab_alloc(s->slab, s->kern, &id) == 0)
				s->ring[k] = id;
		}
	}
}

/* One THP fault of the THP task (GFP_TRANSHUGE, as with defrag); a failure falls back to base pages. */
static void thp_fault(struct sim *s)
{
	uint64_t base = s->thp_next;

	zpa_model_task_unmap(s->thp, base, 512);   /* the address space is reused round robin */
	if (zpa_model_task_touch_huge(s->thp, base, ZPA_GFP_TRANSHUGE) == ZPA_ENOMEM)
		for (uint64_t i = 0; i < 64; i++)
			count_failure(s, zpa_model_task_touch(s->thp, base + i, ZPA_MODEL_WRITE));
	s->thp_next = base + 512 >= s->thp_cap ? 0 : base + 512;
}

static void kernel_buffer(struct sim *s)
{
	zpa_pfn_t pfn;

	if (s->nbuf == HEAVY_BUFFERS)
		return;
	pfn = zpa__alloc_pages(s->m, s->kern, GFP_BUFFER, 3, -1, NULL);
	if (pfn != ZPA_PFN_NONE)
		s->buffers[s->nbuf++] = pfn;
}

/* ----- phase a: moderate ----- */

static void moderate_tick(struct sim *s, uint64_t r)
{
	stream(s, r / 2);
	hot(s, r / 4);
	anon_budget(s, r * 3 / 10, false);
	touch_random(s, s->app, s->app_next, r / 8);
	slab_work(s, (r / 10) * SLAB_OBJS_PER_PAGE / 2);
}

static void phase_moderate(struct sim *s)
{
	struct phase *ph;
	struct freeinfo fi;
	uint64_t r, steady;
	char want[48];

	phase_begin(s, PH_MODERATE, "moderate", "page cache and anonymous growth at a rate kswapd can follow");
	ph = s->ph;
	r = (ph->wm_low - ph->wm_min) / MOD_RATE_DIV;
	if (r < MOD_RATE_MIN)
		r = MOD_RATE_MIN;
	steady = (uint64_t)(MOD_STEADY_SHARE * (double)s->managed) / r;
	if (steady < MOD_STEADY_MIN)
		steady = MOD_STEADY_MIN;
	/*
	 * The fill: fast while memory is well above the watermarks (kswapd has
	 * nothing to do; a fill tick allocates up to about 1.2 x its rate, so
	 * it stops two rates above high); then steady ticks, sampled from the
	 * first that finds free memory at or below the high watermark.
	 */
	s->sampling = false;
	for (;;) {
		read_free(s->m, &fi);
		if (fi.free <= fi.high + 2 * r * MOD_FILL_MULT || s->error || ph->fill_ticks > 100000 || hopeless(s))
			break;
		moderate_tick(s, r * MOD_FILL_MULT);
		tick_end(s);
		ph->fill_ticks++;
	}
	for (uint64_t t = 0; t < steady && !s->error && !hopeless(s); t++) {
		moderate_tick(s, r);
		read_free(s->m, &fi);
		if (fi.free <= ph->wm_high)
			s->sampling = true;
		tick_end(s);
	}
	phase_end(s);
	info(ph, "rate_pages_per_tick", false, "%" PRIu64, r);
	info(ph, "steady_ticks", false, "%" PRIu64, steady);
	expect(ph, "pgscan_kswapd", vm_delta(&ph->before, &ph->after, "pgscan_kswapd") > 0, "> 0", "%" PRId64,
	       vm_delta(&ph->before, &ph->after, "pgscan_kswapd"));
	expect(ph, "allocstall", allocstall_delta(&ph->before, &ph->after) == 0, "== 0", "%" PRId64,
	       allocstall_delta(&ph->before, &ph->after));
	expect(ph, "pgscan_direct", vm_delta(&ph->before, &ph->after, "pgscan_direct") == 0, "== 0", "%" PRId64,
	       vm_delta(&ph->before, &ph->after, "pgscan_direct"));
	snprintf(want, sizeof(want), ">= %" PRIu64 " (min)", ph->wm_min);
	expect(ph, "free_min", ph->free_min >= ph->wm_min, want, "%" PRIu64, ph->free_min);
	snprintf(want, sizeof(want), "<= %" PRIu64 " (%dx high + boost)",
		 MOD_HIGH_SLACK * ph->wm_high + ph->boost_max, MOD_HIGH_SLACK);
	expect(ph, "free_max", ph->free_max <= MOD_HIGH_SLACK * ph->wm_high + ph->boost_max, want, "%" PRIu64,
	       ph->free_max);
	expect(ph, "failures", ph->failures == 0, "== 0", "%" PRIu64, ph->failures);
}

/* ----- phase b: heavy ----- */

static void phase_heavy(struct sim *s)
{
	struct phase *ph;
	uint64_t burst, chunks, nthp;

	phase_begin(s, PH_HEAVY, "heavy", "bursts far beyond kswapd's work between two daemon steps");
	ph = s->ph;
	burst = HEAVY_BURST_MULT * (ph->wm_high - ph->wm_min);
	if (burst < HEAVY_BURST_MIN)
		burst = HEAVY_BURST_MIN;
	chunks = burst / HEAVY_CHUNK;
	nthp = (burst / 5) / 512;
	if (!nthp)
		nthp = 1;
	for (unsigned b = 0; b < HEAVY_BURSTS && !s->error && !hopeless(s); b++) {
		/*
		 * THP faults first, while kswapd has just balanced the node: a
		 * costly order is compacted only above low + 2 << order (Linux's
		 * compaction_suitable()), so later in the burst they would be
		 * skipped, not stalled on.
		 */
		for (uint64_t k = 0; k < nthp; k++)
			thp_fault(s);
		for (uint64_t c = 0; c < chunks && !s->error && !hopeless(s); c++) {
			stream(s, HEAVY_CHUNK / 2);
			anon_budget(s, HEAVY_CHUNK / 5, true);
			slab_work(s, (HEAVY_CHUNK / 10) * SLAB_OBJS_PER_PAGE);
			if (c % (chunks / HEAVY_BUFFERS ? chunks / HEAVY_BUFFERS : 1) == 0)
				kernel_buffer(s);
		}
		tick_end(s);
		for (unsigned q = 0; q < HEAVY_QUIET_TICKS; q++)
			tick_end(s);
	}
	phase_end(s);
	info(ph, "burst_pages", false, "%" PRIu64, burst);
	info(ph, "thp_faults_per_burst", false, "%" PRIu64, nthp);
	expect(ph, "allocstall_normal", vm_delta(&ph->before, &ph->after, "allocstall_normal") > 0, "> 0",
	       "%" PRId64, vm_delta(&ph->before, &ph->after, "allocstall_normal"));
	expect(ph, "pgscan_direct", vm_delta(&ph->before, &ph->after, "pgscan_direct") > 0, "> 0", "%" PRId64,
	       vm_delta(&ph->before, &ph->after, "pgscan_direct"));
	expect(ph, "compact_stall", vm_delta(&ph->before, &ph->after, "compact_stall") > 0, "> 0", "%" PRId64,
	       vm_delta(&ph->before, &ph->after, "compact_stall"));
	expect(ph, "failures", ph->failures == 0, "== 0", "%" PRIu64, ph->failures);
}

/* ----- phase c: order-9 ----- */

/*
 * Take every free block of order >= 9 (no reclaim), split it, keep every
 * other page as page cache of file f (movable, reclaimable) and free the
 * others: free memory is left in order-0 holes between movable pages.
 * Returns the pages given to the page cache.
 */
static uint64_t fragment(struct sim *s, int f, uint64_t *idx, uint64_t file_pages)
{
	uint64_t kept = 0;

	for (unsigned round = 0; round < ORDER9_ROUNDS; round++) {
		zpa_pfn_t *grab = NULL;
		size_t n = 0, cap = 0;
		struct freeinfo fi;
		zpa_pfn_t pfn;

		zpa_drain_all_pages(s->m);
		while ((pfn = zpa__alloc_pages(s->m, s->io, GFP_GRAB, 9, -1, NULL)) != ZPA_PFN_NONE) {
			if (n == cap) {
				zpa_pfn_t *ng = realloc(grab, (cap = cap ? 2 * cap : 64) * sizeof(*ng));

				if (!ng) {
					zpa_free_pages(s->m, pfn, 9);
					s->error = ZPA_ENOMEM;
					break;
				}
				grab = ng;
			}
			grab[n++] = pfn;
		}
		for (size_t i = 0; i < n; i++) {
			if (zpa_sim_split_page(s->m, grab[i])) {
				zpa_free_pages(s->m, grab[i], 9);
				continue;
			}
			for (zpa_pfn_t p = grab[i]; p < grab[i] + 512; p++) {
				if (((p - grab[i]) & 1) || *idx >= file_pages ||
				    zpa_model_file_add_page(s->pc, f, (*idx)++, p) != 0)
					zpa_free_pages(s->m, p, 0);
				else
					kept++;
			}
		}
		free(grab);
		zpa_drain_all_pages(s->m);
		read_free(s->m, &fi);
		if (!n || !fi.order9_blocks || s->error)
			break;
	}
	return kept;
}

static void phase_order9(struct sim *s)
{
	struct phase *ph;
	struct freeinfo fi;
	uint64_t target, kept, idx = 0, frag_pages = s->managed;
	int frag, rc1, rc2, rc3 = 1, deleted = 0;
	const char *how = "none";

	phase_begin(s, PH_ORDER9, "order-9", "an order-9 request in fragmented memory: compaction");
	ph = s->ph;
	for (unsigned t = 0; t < SETTLE_TICKS; t++)
		tick_end(s);
	/* Free memory: drop the oldest data files (rm of old files) until free >= high + managed / 8. */
	target = ph->wm_high + (uint64_t)(ORDER9_FREE_SHARE * (double)s->managed);
	for (unsigned k = 1; k <= STREAM_FILES; k++) {
		unsigned f = (s->cur_file + k) % STREAM_FILES;

		read_free(s->m, &fi);
		if (fi.free >= target)
			break;
		zpa_model_file_delete(s->pc, s->data[f]);
		s->data[f] = zpa_model_file_create(s->pc, s->data_pages);
		if (s->data[f] < 0) {
			s->error = ZPA_ENOMEM;
			return;
		}
		deleted++;
	}
	read_free(s->m, &fi);
	info(ph, "files_deleted", false, "%d", deleted);
	info(ph, "free_before_fragmenting", false, "%" PRIu64, fi.free);
	frag = zpa_model_file_create(s->pc, frag_pages);
	if (frag < 0) {
		s->error = ZPA_ENOMEM;
		return;
	}
	kept = fragment(s, frag, &idx, frag_pages);
	read_free(s->m, &fi);
	info(ph, "fragmenter_pages", false, "%" PRIu64, kept);
	info(ph, "free_after_fragmenting", false, "%" PRIu64, fi.free);
	info(ph, "free_order9_blocks", false, "%" PRIu64, fi.order9_blocks);
	s->demo = new_task(s, "thp-demo", 0, 4096);
	if (!s->demo)
		return;
	/* 1: no direct reclaim, no compaction: must fail in fragmented memory. */
	rc1 = zpa_model_task_touch_huge(s->demo, 0, ZPA_GFP_TRANSHUGE_LIGHT | ZPA___GFP_NORETRY);
	/* 2: direct reclaim and compaction; 3: the same, retrying harder. */
	rc2 = zpa_model_task_touch_huge(s->demo, 512, ZPA_GFP_TRANSHUGE);
	if (rc2 == 0)
		how = "GFP_TRANSHUGE";
	else if ((rc3 = zpa_model_task_touch_huge(s->demo, 1024, ZPA_GFP_TRANSHUGE | ZPA___GFP_RETRY_MAYFAIL)) == 0)
		how = "GFP_TRANSHUGE|__GFP_RETRY_MAYFAIL";
	for (unsigned t = 0; t < 10; t++)
		tick_end(s);
	phase_end(s);
	info(ph, "first_attempt", true, "%s", rc1 == 0 ? "allocated" : "failed");
	info(ph, "succeeded_with", true, "%s", how);
	expect(ph, "free_order9_blocks", fi.order9_blocks == 0, "== 0", "%" PRIu64, fi.order9_blocks);
	expect(ph, "first_attempt_failed", rc1 != 0,
	       "true (GFP_TRANSHUGE_LIGHT|__GFP_NORETRY)", "%s", rc1 != 0 ? "true" : "false");
	expect(ph, "allocated", rc2 == 0 || rc3 == 0, "true (GFP_TRANSHUGE)", "%s",
	       rc2 == 0 || rc3 == 0 ? "true" : "false");
	expect(ph, "compact_stall", vm_delta(&ph->before, &ph->after, "compact_stall") > 0, "> 0", "%" PRId64,
	       vm_delta(&ph->before, &ph->after, "compact_stall"));
	expect(ph, "compact_success", vm_delta(&ph->before, &ph->after, "compact_success") > 0, "> 0",
	       "%" PRId64, vm_delta(&ph->before, &ph->after, "compact_success"));
}

/* ----- phase d: oom ----- */

/* Linux's oom_badness(): INT64_MIN for a task that is never chosen. */
static int64_t badness(const struct zpa_model_task_snapshot *t, uint64_t totalpages)
{
	if (t->oom_score_adj == -1000 || t->killed)
		return INT64_MIN;
	return (int64_t)(t->fp.rss_anon + t->fp.rss_file + t->fp.rss_shmem + t->fp.swapents + t->fp.pgtables) +
	       (int64_t)t->oom_score_adj * (int64_t)(totalpages / 1000);
}

static void phase_oom(struct sim *s)
{
	struct phase *ph;
	unsigned weights = 0, kills0;
	uint64_t rate, max_ticks, stuck = 0;
	char want[48];
	int64_t ooms;

	phase_begin(s, PH_OOM, "oom", "tasks grow until swap and reclaimable memory are gone");
	ph = s->ph;
	/* The earlier tasks exit. */
	zpa_model_task_exit(s->app);
	zpa_model_task_exit(s->batch);
	zpa_model_task_exit(s->thp);
	if (s->demo)
		zpa_model_task_exit(s->demo);
	for (size_t i = 0; i < NR_OOM_TASKS; i++) {
		s->oom[i] = new_task(s, oom_specs[i].comm, oom_specs[i].adj, s->managed + s->swap_pages);
		if (!s->oom[i])
			return;
		weights += oom_specs[i].weight;
	}
	rate = s->managed / OOM_RATE_DIV;
	if (rate < 64)
		rate = 64;
	max_ticks = 4 * (s->managed + s->swap_pages) / rate + 100;
	s->totalpages = s->managed + s->swap_pages;
	kills0 = zpa_model_anon_last_kill(s->anon, NULL);
	for (uint64_t t = 0; t < max_ticks && !s->error; t++) {
		uint64_t fail0 = ph->failures, grown = 0;
		bool killed = false;

		for (size_t i = 0; i < NR_OOM_TASKS && !killed; i++) {
			uint64_t n = rate * oom_specs[i].weight / weights;

			for (uint64_t k = 0; k < n && !killed; k++) {
				grown += grow_task(s, s->oom[i], &s->oom_next[i], s->managed + s->swap_pages, 1);
				killed = zpa_model_anon_last_kill(s->anon, NULL) != kills0;
			}
		}
		tick_end(s);
		if (killed || zpa_model_anon_last_kill(s->anon, NULL) != kills0)
			break;
		stuck = ph->failures - fail0 >= grown ? stuck + 1 : 0;
		if (stuck >= OOM_STUCK_TICKS)
			break;
	}
	s->kills = zpa_model_anon_last_kill(s->anon, &s->kill) - kills0;
	/* The reaper and the victim's exit. */
	for (unsigned t = 0; s->kills && t < OOM_POST_TICKS; t++) {
		bool gone = true;

		tick_end(s);
		for (size_t i = 0; i < NR_OOM_TASKS; i++)
			if (zpa_model_task_pid(s->oom[i]) == s->kill.victim_pid && !zpa_model_task_exited(s->oom[i]))
				gone = false;
		if (gone)
			break;
	}
	phase_end(s);

	/* The victim Linux picks: the highest badness, the later task on a tie (select_bad_process). */
	s->expected_pid = -1;
	s->expected_badness = INT64_MIN;
	if (s->kills) {
		for (unsigned i = 0; i < s->kill.nr_tasks; i++) {
			int64_t b = badness(&s->kill.tasks[i], s->totalpages);

			if (b != INT64_MIN && b >= s->expected_badness) {
				s->expected_badness = b;
				s->expected_pid = s->kill.tasks[i].pid;
				memcpy(s->expected_comm, s->kill.tasks[i].comm, sizeof(s->expected_comm));
			}
			if (s->kill.tasks[i].pid == s->kill.victim_pid)
				s->actual_badness = b;
		}
	}
	ooms = vm_delta(&ph->before, &ph->after, "oom_kill");
	info(ph, "pages_per_tick", false, "%" PRIu64, rate);
	info(ph, "totalpages", false, "%" PRIu64, s->totalpages);
	info(ph, "model_kills", false, "%u", s->kills);
	info(ph, "expected_victim", true, "%s", s->kills ? s->expected_comm : "");
	info(ph, "actual_victim", true, "%s", s->kills ? s->kill.victim_comm : "");
	expect(ph, "oom_kill", ooms == 1, "== 1", "%" PRId64, ooms);
	snprintf(want, sizeof(want), "== %s", s->kills ? s->expected_comm : "(no kill)");
	expect(ph, "victim", s->kills && s->expected_pid == s->kill.victim_pid, want, "%s",
	       s->kills ? s->kill.victim_comm : "(none)");
}

/* ----- output ----- */

static int64_t pd(const struct phase *ph, const char *name)
{
	return vm_delta(&ph->before, &ph->after, name);
}

static void print_phase(FILE *f, const struct sim *s, const struct phase *ph)
{
	const struct models *a = &ph->mbefore, *b = &ph->mafter;
	unsigned col = 0;

	(void)s;
	cli_heading(f, "Phase %s: %s", ph->name, ph->title);
	fprintf(f, "ticks %" PRIu64 " (%.2f s simulated)", ph->ticks, (double)(ph->ticks * TICK_MS) / 1000.0);
	if (ph->fill_ticks)
		fprintf(f, ", of which %" PRIu64 " fill ticks; free pages sampled from the first tick at or "
			   "below high", ph->fill_ticks);
	fprintf(f, "\nfree pages  min %" PRIu64 "  avg %.0f  max %" PRIu64 "   watermarks  min %" PRIu64 "  low %" PRIu64
		   "  high %" PRIu64 "  (largest boost %" PRIu64 ")\n",
		ph->free_min, ph->samples ? ph->free_sum / (double)ph->samples : 0.0, ph->free_max, ph->wm_min,
		ph->wm_low, ph->wm_high, ph->boost_max);
	fprintf(f, "counters:");
	for (size_t i = 0; i < NR_KEY; i++) {
		if (!vm_has(&ph->after, key_counters[i]))
			continue;
		fprintf(f, "%s%s %+" PRId64, col % 4 ? "   " : "\n  ", key_counters[i], pd(ph, key_counters[i]));
		col++;
	}
	fprintf(f, "\npage cache: misses %+" PRId64 ", refaults %+" PRId64 ", evicted %+" PRId64
		   ", pageout %+" PRId64 ", flushed %+" PRId64 ", now %" PRIu64 " pages (%" PRIu64 " dirty)\n",
		(int64_t)(b->pc.misses - a->pc.misses), (int64_t)(b->pc.refaults - a->pc.refaults),
		(int64_t)(b->pc.evicted - a->pc.evicted), (int64_t)(b->pc.pageout - a->pc.pageout),
		(int64_t)(b->pc.flushed - a->pc.flushed), b->pc.pages, b->pc.dirty);
	fprintf(f, "anon: faults %+" PRId64 ", swap-outs %+" PRId64 ", swap-ins %+" PRId64 ", THP %+" PRId64
		   " (failed %+" PRId64 "), now rss %" PRIu64 ", swap %" PRIu64 "/%" PRIu64 "\n",
		(int64_t)(b->an.faults - a->an.faults), (int64_t)(b->an.swapouts - a->an.swapouts),
		(int64_t)(b->an.swapins - a->an.swapins), (int64_t)(b->an.thp - a->an.thp),
		(int64_t)(b->an.thp_failures - a->an.thp_failures), b->an.rss, b->an.swap_used, b->an.swap_total);
	fprintf(f, "slab: objects %+" PRId64 ", shrunk %+" PRId64 ", pages freed %+" PRId64 ", now %" PRIu64
		   " objects in %" PRIu64 " pages\n",
		(int64_t)(b->sl.allocs - a->sl.allocs), (int64_t)(b->sl.shrunk - a->sl.shrunk),
		(int64_t)(b->sl.pages_freed - a->sl.pages_freed), b->sl.objects, b->sl.pages);
	fprintf(f, "failed order-0 allocations of the workload: %" PRIu64 "\n", ph->failures);
	for (unsigned i = 0; i < ph->ninfo; i++)
		fprintf(f, "%s %s\n", ph->info[i].key, ph->info[i].val);
	fprintf(f, "expectations:\n");
	for (unsigned i = 0; i < ph->nex; i++)
		fprintf(f, "  %-22s %-40s got %-14s %s\n", ph->ex[i].what, ph->ex[i].want, ph->ex[i].got,
			ph->ex[i].ok ? "ok" : "NOT MET");
	fprintf(f, "phase %s: %s\n", ph->name, ph->ok ? "ok" : "NOT MET");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_models(FILE *f, const struct models *a, const struct models *b)
{
#define D(x) ((int64_t)(b->x - a->x))
	fprintf(f, "{ \"pagecache\": { \"misses\": %" PRId64 ", \"refaults\": %" PRId64 ", \"evicted\": %" PRId64
		   ", \"pageout\": %" PRId64 ", \"flushed\": %" PRId64 ", \"migrated\": %" PRId64 ", \"pages\": %" PRIu64
		   ", \"dirty\": %" PRIu64 " },\n",
		D(pc.misses), D(pc.refaults), D(pc.evicted), D(pc.pageout), D(pc.flushed), D(pc.migrated), b->pc.pages,
		b->pc.dirty);
	fprintf(f, "        \"anon\": { \"faults\": %" PRId64 ", \"swapouts\": %" PRId64 ", \"swapins\": %" PRId64
		   ", \"thp\": %" PRId64 ", \"thp_failures\": %" PRId64 ", \"migrated\": %" PRId64 ", \"kills\": %" PRId64
		   ", \"rss\": %" PRIu64 ", \"swap_used\": %" PRIu64 " },\n",
		D(an.faults), D(an.swapouts), D(an.swapins), D(an.thp), D(an.thp_failures), D(an.migrated), D(an.kills),
		b->an.rss, b->an.swap_used);
	fprintf(f, "        \"slab\": { \"allocs\": %" PRId64 ", \"shrunk\": %" PRId64 ", \"pages_freed\": %" PRId64
		   ", \"objects\": %" PRIu64 ", \"pages\": %" PRIu64 " } }",
		D(sl.allocs), D(sl.shrunk), D(sl.pages_freed), b->sl.objects, b->sl.pages);
#undef D
}

static void json_phase(FILE *f, const struct phase *ph)
{
	bool first = true;

	fprintf(f, "    {\n      \"name\": ");
	json_str(f, ph->name);
	fprintf(f, ",\n      \"ticks\": %" PRIu64 ",\n      \"fill_ticks\": %" PRIu64 ",\n", ph->ticks, ph->fill_ticks);
	fprintf(f, "      \"free_min\": %" PRIu64 ",\n      \"free_avg\": %.1f,\n      \"free_max\": %" PRIu64 ",\n",
		ph->free_min, ph->samples ? ph->free_sum / (double)ph->samples : 0.0, ph->free_max);
	fprintf(f, "      \"wmark_min\": %" PRIu64 ",\n      \"wmark_low\": %" PRIu64 ",\n      \"wmark_high\": %" PRIu64
		   ",\n      \"boost_max\": %" PRIu64 ",\n      \"failures\": %" PRIu64 ",\n",
		ph->wm_min, ph->wm_low, ph->wm_high, ph->boost_max, ph->failures);
	fprintf(f, "      \"vmstat_delta\": {");
	for (unsigned i = 0; i < ph->after.n; i++) {
		int64_t d = vm_delta(&ph->before, &ph->after, ph->after.name[i]);

		if (!d && !is_key(ph->after.name[i]))
			continue;
		fprintf(f, "%s\n        \"%s\": %" PRId64, first ? "" : ",", ph->after.name[i], d);
		first = false;
	}
	fprintf(f, "\n      },\n      \"models_delta\": ");
	json_models(f, &ph->mbefore, &ph->mafter);
	fprintf(f, ",\n      \"info\": {");
	for (unsigned i = 0; i < ph->ninfo; i++) {
		fprintf(f, "%s\n        \"%s\": ", i ? "," : "", ph->info[i].key);
		if (ph->info[i].str)
			json_str(f, ph->info[i].val);
		else
			fputs(ph->info[i].val, f);
	}
	fprintf(f, "\n      },\n      \"expect\": {");
	for (unsigned i = 0; i < ph->nex; i++) {
		fprintf(f, "%s\n        \"%s\": { \"want\": ", i ? "," : "", ph->ex[i].what);
		json_str(f, ph->ex[i].want);
		fprintf(f, ", \"got\": ");
		json_str(f, ph->ex[i].got);
		fprintf(f, ", \"ok\": %s }", ph->ex[i].ok ? "true" : "false");
	}
	fprintf(f, "\n      },\n      \"ok\": %s\n    }", ph->ok ? "true" : "false");
}

static int write_json(FILE *f, struct sim *s, const char *source, const struct vmsnap *final)
{
	struct freeinfo fi;

	read_free(s->m, &fi);
	fprintf(f, "{\n  \"workload\": \"pressure\",\n  \"machine\": {\n    \"source\": ");
	json_str(f, source);
	fprintf(f, ",\n    \"nodes\": %u,\n    \"cpus\": %u,\n    \"managed_pages\": %" PRIu64
		   ",\n    \"swap_pages\": %" PRIu64 ",\n    \"wmark_min\": %" PRIu64 ",\n    \"wmark_low\": %" PRIu64
		   ",\n    \"wmark_high\": %" PRIu64 "\n  },\n",
		zpa_nr_nodes(s->m), zpa_nr_cpus(s->m), s->managed, s->swap_pages, fi.min, fi.low, fi.high);
	fprintf(f, "  \"seed\": %" PRIu64 ",\n  \"tick_ms\": %d,\n  \"phases\": [\n", s->seed, TICK_MS);
	for (int i = 0; i < NR_PHASES; i++) {
		json_phase(f, &s->phases[i]);
		fprintf(f, "%s\n", i + 1 < NR_PHASES ? "," : "");
	}
	fprintf(f, "  ],\n  \"oom\": { \"expected_victim\": ");
	json_str(f, s->kills ? s->expected_comm : "");
	fprintf(f, ", \"actual_victim\": ");
	json_str(f, s->kills ? s->kill.victim_comm : "");
	fprintf(f, ", \"expected_badness\": %" PRId64 ", \"actual_badness\": %" PRId64 ", \"totalpages\": %" PRIu64
		   ", \"tasks\": [",
		s->kills ? s->expected_badness : 0, s->kills ? s->actual_badness : 0, s->totalpages);
	for (unsigned i = 0; s->kills && i < s->kill.nr_tasks; i++) {
		const struct zpa_model_task_snapshot *t = &s->kill.tasks[i];
		int64_t b = badness(t, s->totalpages);

		fprintf(f, "%s\n    { \"comm\": ", i ? "," : "");
		json_str(f, t->comm);
		fprintf(f, ", \"pid\": %d, \"oom_score_adj\": %d, \"rss\": %" PRIu64 ", \"swapents\": %" PRIu64
			   ", \"pgtables\": %" PRIu64 ", \"badness\": ",
			t->pid, t->oom_score_adj, t->fp.rss_anon + t->fp.rss_file + t->fp.rss_shmem, t->fp.swapents,
			t->fp.pgtables);
		if (b == INT64_MIN)
			fprintf(f, "null }");
		else
			fprintf(f, "%" PRId64 " }", b);
	}
	fprintf(f, " ] },\n  \"vmstat\": {");
	for (unsigned i = 0; i < final->n; i++)
		fprintf(f, "%s\n    \"%s\": %" PRIu64, i ? "," : "", final->name[i], final->v[i]);
	fprintf(f, "\n  },\n  \"ok\": %s\n}\n", s->phases[0].ok && s->phases[1].ok && s->phases[2].ok &&
						 s->phases[3].ok ? "true" : "false");
	return ferror(f) ? -1 : 0;
}

/* ----- setup ----- */

struct log_counter {
	uint64_t messages;
};

static void counting_log(void *arg, int level, const char *msg)
{
	struct log_counter *lc = arg;

	if (lc->messages++ < LOG_SHOWN)
		fprintf(stderr, "zpa: allocator %s: %s%s", level <= ZPA_LOG_ERR ? "error" :
			level <= ZPA_LOG_WARN ? "warning" : "note", msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

struct pressure_opts {
	struct cli_machine_opts machine;
	uint64_t seed;
	const char *json;
};

static bool machine_given(const struct cli_machine_opts *o)
{
	return o->snapshot || o->machine_file || o->nodes || o->mem || o->cpus || o->page_size ||
	       o->max_order_set || o->pageblock_order_set || o->movablecore || o->no_thp;
}

/* The default machine: one node of 1 GiB, all of it ZONE_NORMAL (above 4 GiB), two CPUs. */
static void default_config(struct zpa_machine_config *cfg)
{
	zpa_machine_config_init(cfg);
	cfg->dma_limit = 0;
	cfg->dma32_limit = 0;
	zpa_config_add_range(cfg, DEFAULT_BASE, DEFAULT_BASE + DEFAULT_MEM, ZPA_RANGE_USABLE, 0);
	cfg->nr_cpus = DEFAULT_CPUS;
	for (unsigned c = 0; c < DEFAULT_CPUS; c++)
		cfg->cpu_node[c] = 0;
}

static int setup(struct sim *s)
{
	struct zpa_model_pagecache_config pcc;
	struct zpa_model_anon_config ac = { 0 };
	struct zpa_model_slab_config sc;
	uint64_t hot_total;

	s->managed = zpa_total_managed(s->m);
	s->nr_cpus = zpa_nr_cpus(s->m) ? zpa_nr_cpus(s->m) : 1;
	s->swap_pages = (uint64_t)(SWAP_SHARE * (double)s->managed);
	s->next_pid = 1000;
	rng_seed(&s->rng, s->seed);
	s->io = zpa_task_create();
	s->kern = zpa_task_create();
	s->ring = calloc(SLAB_RING, sizeof(*s->ring));
	if (!s->io || !s->kern || !s->ring)
		return ZPA_ENOMEM;
	zpa_task_set_cpu(s->io, 0);
	zpa_task_set_cpu(s->kern, (int)(1 % s->nr_cpus));
	zpa_task_set_comm(s->io, "reader");
	zpa_task_set_comm(s->kern, "kworker");
	zpa_model_pagecache_config_init(&pcc);
	pcc.dirty_expire_ms = DIRTY_EXPIRE_MS;
	if (zpa_model_pagecache_create(s->m, &pcc, &s->pc))
		return ZPA_ENOMEM;
	ac.swap_pages = s->swap_pages;
	if (zpa_model_anon_create(s->m, &ac, &s->anon))
		return ZPA_ENOMEM;
	zpa_model_slab_config_init(&sc);
	sc.name = "dentry";
	sc.objs_per_page = SLAB_OBJS_PER_PAGE;
	if (zpa_model_slab_create(s->m, &sc, &s->slab))
		return ZPA_ENOMEM;
	s->data_pages = 2 * s->managed / STREAM_FILES + 1;
	for (unsigned i = 0; i < STREAM_FILES; i++)
		if ((s->data[i] = zpa_model_file_create(s->pc, s->data_pages)) < 0)
			return ZPA_ENOMEM;
	hot_total = (uint64_t)(HOT_SHARE * (double)s->managed);
	s->hot_pages = hot_total / HOT_FILES + 1;
	for (unsigned i = 0; i < HOT_FILES; i++)
		if ((s->hot[i] = zpa_model_file_create(s->pc, s->hot_pages)) < 0)
			return ZPA_ENOMEM;
	s->app_cap = (uint64_t)(APP_SHARE * (double)s->managed);
	s->batch_cap = (uint64_t)(BATCH_SHARE * (double)s->managed) + 1;
	s->thp_cap = ((uint64_t)(THP_SHARE * (double)s->managed) / 512 + 1) * 512;
	s->app = new_task(s, "app", 0, s->app_cap);
	s->batch = new_task(s, "batch", 0, s->batch_cap);
	s->thp = new_task(s, "thp", 0, s->thp_cap);
	return s->error;
}

static void teardown(struct sim *s)
{
	for (unsigned i = 0; i < s->nbuf; i++)
		zpa_free_pages(s->m, s->buffers[i], 3);
	zpa_model_slab_destroy(s->slab);
	zpa_model_anon_destroy(s->anon);
	zpa_model_pagecache_destroy(s->pc);
	if (s->io)
		zpa_task_destroy(s->io);
	if (s->kern)
		zpa_task_destroy(s->kern);
	free(s->ring);
	for (int i = 0; i < NR_PHASES; i++) {
		vm_free(&s->phases[i].before);
		vm_free(&s->phases[i].after);
	}
}

static int pressure_main(struct pressure_opts *o)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct sim *s = calloc(1, sizeof(*s));
	struct log_counter lc = { 0 };
	struct vmsnap final = { 0 };
	bool text = !(o->json && strcmp(o->json, "-") == 0), all_ok = true;
	const char *source = "default";
	FILE *out = stdout;
	int status, rc;

	if (!cfg || !s) {
		status = cli_error("out of memory");
		goto done;
	}
	if (machine_given(&o->machine)) {
		status = cli_machine_config("run pressure", &o->machine, cfg);
		if (status)
			goto done;
		source = o->machine.snapshot ? o->machine.snapshot : o->machine.machine_file ? o->machine.machine_file
											  : "flags";
	} else {
		default_config(cfg);
	}
	cfg->log = counting_log;
	cfg->log_arg = &lc;
	status = cli_machine_create(&o->machine, cfg, &s->m);
	if (status)
		goto done;
	rc = zpa_set_daemon_mode(s->m, ZPA_DAEMON_MANUAL);
	if (rc) {
		status = cli_error("zpa_set_daemon_mode(MANUAL): %s", zpa_strerror(rc));
		goto done;
	}
	s->seed = o->seed;
	if (setup(s)) {
		status = cli_error("cannot set up the models: out of memory");
		goto done;
	}
	if (text) {
		cli_heading(out, "Machine");
		cli_describe_machine(out, s->m, cfg);
		cli_heading(out, "Pressure");
		fprintf(out, "Seed %" PRIu64 ", a tick is %d ms of simulated time; daemons in MANUAL mode.\n"
			     "Models: page cache (%u data files of %" PRIu64 " pages read in a stream, %u hot files of\n"
			     "%" PRIu64 " pages), swap %" PRIu64 " pages, anonymous tasks app (%" PRIu64 " pages), batch\n"
			     "(%" PRIu64 ", restarting) and thp (%" PRIu64 ", GFP_TRANSHUGE faults), a dentry cache of\n"
			     "%d objects a page.\n",
			s->seed, TICK_MS, STREAM_FILES, s->data_pages, HOT_FILES, s->hot_pages, s->swap_pages, s->app_cap,
			s->batch_cap, s->thp_cap, SLAB_OBJS_PER_PAGE);
		fflush(out);
	}
	phase_moderate(s);
	if (!s->error)
		phase_heavy(s);
	if (!s->error)
		phase_order9(s);
	if (!s->error)
		phase_oom(s);
	if (s->error) {
		status = cli_error("out of memory");
		goto done;
	}
	if (vm_read(s->m, &final)) {
		status = cli_error("out of memory");
		goto done;
	}
	for (int i = 0; i < NR_PHASES; i++)
		all_ok &= s->phases[i].ok;
	if (lc.messages > LOG_SHOWN)
		fprintf(stderr, "zpa: %" PRIu64 " more allocator messages not shown\n", lc.messages - LOG_SHOWN);
	if (text) {
		unsigned bad = 0;

		for (int i = 0; i < NR_PHASES; i++)
			print_phase(out, s, &s->phases[i]);
		cli_heading(out, "Result");
		for (int i = 0; i < NR_PHASES; i++) {
			fprintf(out, "  %-10s %s\n", s->phases[i].name, s->phases[i].ok ? "ok" : "NOT MET");
			bad += !s->phases[i].ok;
		}
		if (bad)
			fprintf(out, "%u of %d phases did not meet their expectations.\n", bad, NR_PHASES);
		else
			fprintf(out, "Every phase met its expectations.\n");
		fflush(out);
	}
	if (o->json) {
		FILE *jf = text ? fopen(o->json, "w") : stdout;

		if (!jf || write_json(jf, s, source, &final) != 0 || (jf != stdout && fclose(jf) != 0)) {
			status = cli_error("cannot write %s", o->json);
			goto done;
		}
	}
	status = all_ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
done:
	if (s) {
		if (s->m) {
			teardown(s);
			zpa_machine_destroy(s->m);
		}
		free(s);
	}
	vm_free(&final);
	free(cfg);
	return status;
}

/* argv[0] is "pressure" (after "run"). */
int cmd_pressure(int argc, char **argv)
{
	struct pressure_opts o = { .seed = DEFAULT_SEED };
	struct cli_args a = { argc, argv, 1 };
	const char *cmd = "run pressure";

	while (a.i < argc) {
		const char *v = NULL;
		bool bad = false;
		int mrc;

		if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0)
			return cli_print_help(stdout, "pressure");
		mrc = cli_machine_option(&a, cmd, &o.machine);
		if (mrc < 0)
			return CLI_EXIT_USAGE;
		if (mrc > 0)
			continue;
		if (cli_take_option(&a, "--seed", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, UINT64_MAX, &o.seed))
				return cli_usage_error(cmd, "--seed: '%s' is not a number", v);
		} else if (cli_take_option(&a, "--json", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.json = v;
		} else {
			return cli_usage_error(cmd, "unknown option '%s'", argv[a.i]);
		}
	}
	return pressure_main(&o);
}
