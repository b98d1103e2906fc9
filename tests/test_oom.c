/*
 * test_oom.c - the OOM killer (zpa/oom.h, src/oom_kill.c): the badness
 * formula with exact numbers, registration rules, Linux 6.1's selection
 * (adj -1000 never, adj 1000 first, the later task on a tie, a victim not
 * yet reaped holding up the next kill, reaped victims skipped), the NOFS
 * rule, the reaper, the host handler, vm.oom_kill_allocating_task, the
 * constraints (memory policy, cpuset) and their eligibility rules, memcg
 * OOM limited to the group's subtree, the counters and the report lines.
 * The slow path does not call the killer in this tree yet, so the tests
 * call out_of_memory() under the oom lock as page_alloc.c will.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"
#include "internal.h" /* out_of_memory(), the oom lock, the daemon mode */

/* ---- log capture ---- */

#define CAP_LINES 512
struct logcap {
	int n;
	char line[CAP_LINES][512];
};

static void cap_fn(void *arg, int level, const char *msg)
{
	struct logcap *c = arg;
	(void)level;
	if (c->n < CAP_LINES)
		snprintf(c->line[c->n++], sizeof c->line[0], "%s", msg);
}

static bool cap_has(const struct logcap *c, const char *s)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->line[i], s))
			return true;
	return false;
}

static int cap_count_prefix(const struct logcap *c, const char *p)
{
	int k = 0;
	for (int i = 0; i < c->n; i++)
		k += !strncmp(c->line[i], p, strlen(p));
	return k;
}

static void cap_dump(const struct logcap *c)
{
	for (int i = 0; i < c->n; i++)
		fprintf(stderr, "  log: %s\n", c->line[i]);
}

#define assert_logged(c, s) do { if (!cap_has(c, s)) { cap_dump(c); fail_msg("not logged: %s", s); } } while (0)

static struct zpa_machine *machine(struct logcap *cap)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, NULL);
	if (cap) {
		cfg.log = cap_fn;
		cfg.log_arg = cap;
		cfg.log_level = ZPA_LOG_INFO;
	}
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

/* ---- a fake process ---- */

struct proc {
	struct zpa_machine *m;
	struct zpa_task *t;
	struct zpa_oom_footprint fp;
	int kills, reaps, footprints;
	uint64_t reap_pages;
	bool remove_on_kill;         /* exits at once: frees its pages and unregisters */
	zpa_pfn_t pages[64];
	int npages;
};

static void p_footprint(void *arg, struct zpa_oom_footprint *out)
{
	struct proc *p = arg;
	p->footprints++;
	*out = p->fp;
}

static void p_kill(void *arg)
{
	struct proc *p = arg;
	p->kills++;
	if (p->remove_on_kill) {
		for (int i = 0; i < p->npages; i++)
			assert_int_equal(zpa__free_pages(p->m, p->t, p->pages[i], 0), 0);
		p->npages = 0;
		p->fp = (struct zpa_oom_footprint){ 0 };
		assert_int_equal(zpa_oom_task_remove(p->m, p->t), 0);
	}
}

static uint64_t p_reap(void *arg)
{
	struct proc *p = arg;
	p->reaps++;
	p->fp.rss_anon = 0;
	return p->reap_pages;
}

static const struct zpa_oom_task_ops proc_ops = { p_footprint, p_kill, p_reap };

static void proc_add(struct zpa_machine *m, struct proc *p, int pid, const char *comm, short adj, uint64_t anon)
{
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->t = zpa_task_create();
	assert_non_null(p->t);
	p->fp.rss_anon = anon;
	struct zpa_oom_task_info info = { pid, comm, adj, &proc_ops, p };
	assert_int_equal(zpa_oom_task_add(m, p->t, &info), 0);
}

static void proc_del(struct proc *p)
{
	oom_task_exit(p->t); /* what zpa_task_destroy() will call (lead's hook) */
	zpa_task_destroy(p->t);
	p->t = NULL;
}

/* The slow path's call: out_of_memory() under the oom lock. */
static bool oom_as(struct zpa_machine *m, struct zpa_task *cur, zpa_gfp_t gfp, const zpa_nodemask_t *nodemask)
{
	struct zpa_oom_control oc = { .gfp = gfp, .order = 0, .nodemask = nodemask, .task = cur };
	assert_true(oom_trylock(m));
	bool r = out_of_memory(m, &oc);
	oom_unlock(m);
	return r;
}

static uint64_t oom_kills(struct zpa_machine *m)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, "oom_kill", &ok);
	assert_true(ok);
	return v;
}

/* ---- tests ---- */

static void test_badness(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct proc a;
	proc_add(m, &a, 100, "a", 0, 100);
	a.fp = (struct zpa_oom_footprint){ .rss_anon = 100, .rss_file = 20, .rss_shmem = 5, .swapents = 7, .pgtables = 3 };
	assert_int_equal(zpa_oom_badness(m, a.t, 10000), 135);
	assert_int_equal(zpa_oom_task_set_adj(m, a.t, 500), 0);
	assert_int_equal(zpa_oom_badness(m, a.t, 10000), 135 + 500 * 10);
	/* the division comes first: 1999 / 1000 = 1 */
	assert_int_equal(zpa_oom_task_set_adj(m, a.t, -100), 0);
	assert_int_equal(zpa_oom_badness(m, a.t, 1999), 35);
	assert_int_equal(zpa_oom_badness(m, a.t, 999), 135);
	assert_int_equal(zpa_oom_task_set_adj(m, a.t, -999), 0);
	assert_int_equal(zpa_oom_badness(m, a.t, 100000), 135 - 999 * 100);
	assert_true(zpa_oom_badness(m, a.t, 100000) < 0);
	assert_int_equal(zpa_oom_task_set_adj(m, a.t, -1000), 0);
	assert_true(zpa_oom_badness(m, a.t, 10000) == INT64_MIN);
	/* totalpages 0: the machine's RAM (no swap here) */
	assert_int_equal(zpa_oom_task_set_adj(m, a.t, 1000), 0);
	uint64_t ram = zpa_total_managed(m);
	assert_int_equal(zpa_oom_badness(m, a.t, 0), (int64_t)(135 + 1000 * (ram / 1000)));
	/* not registered */
	struct zpa_task *t = zpa_task_create();
	assert_true(zpa_oom_badness(m, t, 10000) == INT64_MIN);
	assert_true(zpa_oom_badness(NULL, a.t, 10000) == INT64_MIN);
	zpa_task_destroy(t);
	proc_del(&a);
	zpa_machine_destroy(m);
}

static void test_registration(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL), *m2 = machine(NULL);
	struct zpa_task *t = zpa_task_create();
	struct proc p = { 0 };
	static const struct zpa_oom_task_ops no_kill = { p_footprint, NULL, NULL };
	static const struct zpa_oom_task_ops no_fp = { NULL, p_kill, NULL };
	struct zpa_oom_task_info info = { 7, "a-rather-long-command-name", 0, &proc_ops, &p };
	assert_int_equal(zpa_oom_task_add(NULL, t, &info), ZPA_EINVAL);
	assert_int_equal(zpa_oom_task_add(m, t, NULL), ZPA_EINVAL);
	info.oom_score_adj = 1001;
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);
	info.oom_score_adj = -1001;
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);
	info.oom_score_adj = 0;
	info.ops = &no_kill;
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);
	info.ops = &no_fp;
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);
	info.ops = NULL;
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);
	info.ops = &proc_ops;
	assert_int_equal(zpa_oom_task_add(m, t, &info), 0);
	assert_int_equal(zpa_oom_task_add(m, t, &info), ZPA_EINVAL);  /* twice */
	assert_int_equal(zpa_oom_task_add(m2, t, &info), ZPA_EINVAL); /* with another machine too */
	assert_int_equal(zpa_oom_task_set_adj(m, t, 1001), ZPA_EINVAL);
	assert_int_equal(zpa_oom_task_set_adj(m, t, -1000), 0);
	assert_int_equal(zpa_oom_task_set_adj(m2, t, 0), ZPA_ENOENT);
	assert_int_equal(zpa_oom_task_remove(m2, t), ZPA_ENOENT);
	assert_false(zpa_task_is_oom_victim(t));
	assert_int_equal(zpa_oom_task_remove(m, t), 0);
	assert_int_equal(zpa_oom_task_remove(m, t), ZPA_ENOENT);
	assert_int_equal(zpa_oom_task_remove(NULL, t), ZPA_EINVAL);
	assert_int_equal(zpa_oom_task_set_adj(m, t, 0), ZPA_ENOENT);
	/* registered again after removal, then left registered at machine teardown */
	assert_int_equal(zpa_oom_task_add(m, t, &info), 0);
	zpa_machine_destroy(m);
	/* the machine forgot the task: it may register elsewhere, and destroying it touches nothing freed */
	assert_int_equal(zpa_oom_task_add(m2, t, &info), 0);
	oom_task_exit(t);
	assert_int_equal(zpa_oom_task_remove(m2, t), ZPA_ENOENT);
	zpa_task_destroy(t);
	/* the calling thread's own task (NULL) */
	assert_int_equal(zpa_oom_task_add(m2, NULL, &info), 0);
	assert_non_null(zpa_task_current()->oom);
	assert_int_equal(zpa_oom_task_remove(m2, NULL), 0);
	zpa_machine_destroy(m2);
}

static void test_selection(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = machine(cap);
	struct proc a, b, c;
	proc_add(m, &a, 100, "big", 0, 1000);
	proc_add(m, &b, 101, "unkillable", -1000, 50000);
	proc_add(m, &c, 102, "adj1000", 1000, 1);
	assert_int_equal(oom_kills(m), 0);
	/* adj 1000 outweighs any footprint; -1000 is never chosen */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(c.kills, 1);
	assert_true(zpa_task_is_oom_victim(c.t));
	assert_int_equal(oom_kills(m), 1);
	/* INLINE mode: reaped right away, once */
	assert_int_equal(c.reaps, 1);
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_int_equal(c.reaps, 1);
	/* a reaped victim is skipped: the next largest goes */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 1);
	assert_int_equal(c.kills, 1);
	assert_int_equal(oom_kills(m), 2);
	/* nothing left but the unkillable one */
	cap->n = 0;
	assert_false(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(b.kills, 0);
	assert_int_equal(oom_kills(m), 2);
	assert_logged(cap, "Out of memory and no killable processes...");
	/* a victim that exits is no longer one */
	proc_del(&c);
	assert_true(zpa_task_is_oom_victim(a.t));
	assert_int_equal(zpa_oom_task_remove(m, a.t), 0);
	assert_false(zpa_task_is_oom_victim(a.t));
	zpa_task_destroy(a.t);
	proc_del(&b);
	zpa_machine_destroy(m);
	free(cap);
}

static void test_ties(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct proc a, b, c;
	proc_add(m, &a, 1, "first", 0, 500);
	proc_add(m, &b, 2, "second", 0, 500);
	proc_add(m, &c, 3, "small", 0, 499);
	/* equal points: the task scanned later (registered later) wins */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 0);
	assert_int_equal(b.kills, 1);
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 1);
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(c.kills, 1);
	proc_del(&a);
	proc_del(&b);
	proc_del(&c);
	/* a tie made by adj: (600 + 100 * (totalpages / 1000)) - 100 * (totalpages / 1000) vs 600 */
	proc_add(m, &a, 1, "first", -100, 600 + 100 * (zpa_total_managed(m) / 1000));
	proc_add(m, &b, 2, "second", 0, 600);
	assert_int_equal(zpa_oom_badness(m, a.t, 0), zpa_oom_badness(m, b.t, 0));
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(b.kills, 1);
	assert_int_equal(a.kills, 0);
	proc_del(&a);
	proc_del(&b);
	zpa_machine_destroy(m);
}

static void test_nofs(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct proc a;
	proc_add(m, &a, 1, "a", 0, 100);
	/* no kill makes up for reclaim that could not use the filesystem: progress, no kill */
	assert_true(oom_as(m, NULL, ZPA_GFP_NOFS, NULL));
	assert_true(oom_as(m, NULL, ZPA_GFP_NOIO, NULL));
	assert_int_equal(a.kills, 0);
	assert_int_equal(oom_kills(m), 0);
	assert_false(zpa_task_is_oom_victim(a.t));
	/* GFP_KERNEL kills */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 1);
	proc_del(&a);
	zpa_machine_destroy(m);
}

/* MANUAL daemon mode: victims wait for zpa_oom_reap(). */
static void test_victim_blocks_until_reaped(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	m->daemon_mode = ZPA_DAEMON_MANUAL;
	struct proc a, b;
	proc_add(m, &a, 1, "a", 0, 100);
	proc_add(m, &b, 2, "b", 0, 200);
	b.reap_pages = 150;
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(b.kills, 1);
	assert_int_equal(b.reaps, 0);
	/* b still holds its memory: the scan stops at it, nothing new is killed */
	for (int i = 0; i < 3; i++)
		assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 0);
	assert_int_equal(b.kills, 1);
	assert_int_equal(oom_kills(m), 1);
	/* sysrq does not wait for victims; b, the largest, is on its way out already */
	assert_true(zpa_oom_kill(m));
	assert_int_equal(b.kills, 1);
	assert_int_equal(a.kills, 0);
	/* the reaper: reap() once, then the victim no longer blocks */
	assert_int_equal(zpa_oom_reap(m), 150);
	assert_int_equal(b.reaps, 1);
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_int_equal(b.reaps, 1);
	assert_true(zpa_task_is_oom_victim(b.t)); /* until it exits */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 1);
	assert_int_equal(oom_kills(m), 2);
	/* the allocating task is itself a victim not yet reaped: it retries, no new kill */
	struct proc c;
	proc_add(m, &c, 3, "c", 0, 5000);
	assert_true(oom_as(m, a.t, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(c.kills, 0);
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_int_equal(a.reaps, 1);
	assert_int_equal(b.reaps, 1);
	proc_del(&a);
	proc_del(&b);
	proc_del(&c);
	zpa_machine_destroy(m);
}

/* A victim that frees everything and unregisters inside kill(). */
static void test_kill_exits(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	uint64_t free0 = zpa_total_free(m);
	struct proc a;
	proc_add(m, &a, 1, "a", 0, 0);
	a.remove_on_kill = true;
	for (int i = 0; i < 32; i++)
		assert_true((a.pages[a.npages++] = zpa__alloc_pages(m, a.t, ZPA_GFP_KERNEL, 0, -1, NULL)) != ZPA_PFN_NONE);
	a.fp.rss_anon = 32;
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(a.kills, 1);
	assert_int_equal(a.reaps, 0);                  /* gone before the reaper came */
	assert_false(zpa_task_is_oom_victim(a.t));    /* exited */
	assert_int_equal(zpa_total_free(m), free0);
	assert_false(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	zpa_task_destroy(a.t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

struct handler_rec {
	int calls;
	bool ret;
	struct zpa_oom_control oc;
};

static bool handler(void *arg, const struct zpa_oom_control *oc)
{
	struct handler_rec *h = arg;
	h->calls++;
	h->oc = *oc;
	return h->ret;
}

static void test_host_handler(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct proc a;
	proc_add(m, &a, 1, "a", 0, 100);
	struct handler_rec h = { .ret = true };
	zpa_set_oom_handler(m, handler, &h);
	assert_true(oom_as(m, a.t, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(h.calls, 1);
	assert_int_equal(a.kills, 0);
	assert_int_equal(oom_kills(m), 0);
	assert_int_equal(h.oc.constraint, ZPA_CONSTRAINT_NONE);
	assert_int_equal(h.oc.totalpages, zpa_total_managed(m));
	assert_ptr_equal(h.oc.task, a.t);
	assert_int_equal(h.oc.gfp, ZPA_GFP_KERNEL);
	/* the handler decides alone, NOFS included */
	h.ret = false;
	assert_false(oom_as(m, NULL, ZPA_GFP_NOFS, NULL));
	assert_int_equal(h.calls, 2);
	assert_false(zpa_oom_kill(m));
	assert_int_equal(h.calls, 3);
	assert_int_equal(h.oc.order, -1);
	/* NULL: the built-in killer again */
	zpa_set_oom_handler(m, NULL, &h);
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(h.calls, 3);
	assert_int_equal(a.kills, 1);
	proc_del(&a);
	zpa_machine_destroy(m);
}

static void test_kill_allocating_task(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = machine(cap);
	struct proc small, big;
	proc_add(m, &small, 10, "small", 0, 1);
	proc_add(m, &big, 11, "big", 0, 10000);
	assert_int_equal(zpa_sysctl_set(m, "oom_kill_allocating_task", "1"), 0);
	assert_true(oom_as(m, small.t, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(small.kills, 1);
	assert_int_equal(big.kills, 0);
	assert_int_equal(cap_count_prefix(cap, "Out of memory (oom_kill_allocating_task): Killed process 10 (small)"), 1);
	/* an unregistered or unkillable allocating task: the usual selection */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(big.kills, 1);
	proc_del(&big);
	proc_add(m, &big, 11, "big", 0, 10000);
	assert_int_equal(zpa_oom_task_set_adj(m, small.t, -1000), 0);
	assert_true(oom_as(m, small.t, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(small.kills, 1);
	assert_int_equal(big.kills, 1);
	/* not for a memcg OOM: see test_memcg_oom */
	proc_del(&small);
	proc_del(&big);
	zpa_machine_destroy(m);
	free(cap);
}

/* The exact report lines of a kill, as Linux 6.1 prints them. */
static void test_report_lines(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = machine(cap);
	m->daemon_mode = ZPA_DAEMON_MANUAL;
	struct proc alloc, hog;
	proc_add(m, &alloc, 77, "alloc", -1000, 3);
	proc_add(m, &hog, 1234, "hog", 0, 256);
	hog.fp = (struct zpa_oom_footprint){ .rss_anon = 256, .rss_file = 16, .rss_shmem = 4, .swapents = 9,
					     .pgtables = 2, .total_vm = 1000 };
	alloc.fp.total_vm = 0; /* reported as its rss */
	assert_true(oom_as(m, alloc.t, ZPA_GFP_KERNEL, NULL));
	assert_logged(cap, "alloc invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-1000");
	assert_logged(cap, "Tasks state (memory values in pages):");
	assert_logged(cap, "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name");
	assert_logged(cap, "[     77]     0    77        3        3        0        0         -1000 alloc");
	assert_logged(cap, "[   1234]     0  1234     1000      276     8192        9             0 hog");
	assert_logged(cap, "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
			   "task_memcg=/,task=hog,pid=1234,uid=0");
	assert_logged(cap, "Out of memory: Killed process 1234 (hog) total-vm:4000kB, anon-rss:1024kB, file-rss:64kB, "
			   "shmem-rss:16kB, UID:0 pgtables:8kB oom_score_adj:0");
	cap->n = 0;
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_logged(cap, "oom_reaper: reaped process 1234 (hog), now anon-rss:0kB, file-rss:64kB, shmem-rss:16kB");
	/* sysrq from a thread that is no registered task */
	cap->n = 0;
	assert_false(zpa_oom_kill(m)); /* hog: reaped, alloc: -1000 */
	assert_int_equal(alloc.kills, 0);
	assert_logged(cap, "unknown invoked oom-killer: gfp_mask=0x0(), order=-1, oom_score_adj=0");
	assert_logged(cap, "Out of memory and no killable processes...");
	assert_logged(cap, "OOM request ignored. No task eligible");
	proc_del(&alloc);
	proc_del(&hog);
	zpa_machine_destroy(m);
	free(cap);
}

/* The report is rate limited as Linux's dump_header (10 per 5 s); the kill line is not. */
static void test_report_ratelimit(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = machine(cap);
	m->daemon_mode = ZPA_DAEMON_MANUAL; /* the simulated clock stands still */
	struct proc p[12];
	for (int i = 0; i < 12; i++)
		proc_add(m, &p[i], 100 + i, "p", 0, 10);
	for (int i = 0; i < 12; i++) {
		assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
		assert_int_equal(zpa_oom_reap(m), 0);
	}
	assert_int_equal(oom_kills(m), 12);
	assert_int_equal(cap_count_prefix(cap, "unknown invoked oom-killer"), 10);
	assert_int_equal(cap_count_prefix(cap, "Out of memory: Killed process"), 12);
	/* 5 s later: a new interval, and the count of reports left out */
	atomic_store(&m->sim_now_ms, 5000);
	struct proc q;
	proc_add(m, &q, 200, "q", 0, 10);
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, NULL));
	assert_int_equal(q.kills, 1);
	assert_logged(cap, "oom_kill_process: 2 callbacks suppressed");
	assert_int_equal(cap_count_prefix(cap, "unknown invoked oom-killer"), 11);
	proc_del(&q);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(p[i].kills, 1);
		proc_del(&p[i]);
	}
	zpa_machine_destroy(m);
	free(cap);
}

static struct zpa_machine *numa_machine(struct logcap *cap)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	for (unsigned i = 0; i < 2; i++) {
		zpa_config_add_range(&cfg, 4 * G + i * G, 4 * G + i * G + (64 + 32 * i) * M, ZPA_RANGE_USABLE, (int)i);
		cfg.cpu_node[i] = (int)i;
	}
	cfg.nr_cpus = 2;
	cfg.log = cap_fn;
	cfg.log_arg = cap;
	cfg.log_level = ZPA_LOG_INFO;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static void test_constraints(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = numa_machine(cap);
	uint64_t node0 = m->nodes[0]->node_present_pages, node1 = m->nodes[1]->node_present_pages;
	assert_true(node0 != node1);
	struct handler_rec h = { .ret = true };
	zpa_set_oom_handler(m, handler, &h);
	zpa_nodemask_t n0 = ZT_MASK(0), n1 = ZT_MASK(1), both = ZT_MASK(0, 1);
	/* a nodemask that covers every node: no constraint */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, &both));
	assert_int_equal(h.oc.constraint, ZPA_CONSTRAINT_NONE);
	assert_int_equal(h.oc.totalpages, zpa_total_managed(m));
	/* one that misses a node with memory: a memory policy's, sized by its nodes' present pages */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, &n0));
	assert_int_equal(h.oc.constraint, ZPA_CONSTRAINT_MEMORY_POLICY);
	assert_int_equal(h.oc.totalpages, node0);
	/* __GFP_THISNODE: nothing to blame */
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE, &n0));
	assert_int_equal(h.oc.constraint, ZPA_CONSTRAINT_NONE);
	/* a cpuset */
	struct zpa_task *cur = zpa_task_create();
	assert_int_equal(zpa_task_set_mems_allowed(m, cur, &n1, NULL), 0);
	assert_true(oom_as(m, cur, ZPA_GFP_USER, NULL));
	assert_int_equal(h.oc.constraint, ZPA_CONSTRAINT_CPUSET);
	assert_int_equal(h.oc.totalpages, node1);
	zpa_set_oom_handler(m, NULL, NULL);

	/* Eligibility: a cpuset OOM spares tasks whose cpuset shares no node with the allocating task's. */
	struct proc on0, on1, bound0;
	proc_add(m, &on0, 1, "on0", 0, 9000);
	proc_add(m, &on1, 2, "on1", 0, 10);
	proc_add(m, &bound0, 3, "bound0", 0, 8000);
	assert_int_equal(zpa_task_set_mems_allowed(m, on0.t, &n0, NULL), 0);
	assert_int_equal(zpa_task_set_mems_allowed(m, on1.t, &n1, NULL), 0);
	assert_int_equal(zpa_set_mempolicy(m, bound0.t, ZPA_MPOL_BIND, &n0), 0);
	m->daemon_mode = ZPA_DAEMON_MANUAL;
	cap->n = 0;
	assert_true(oom_as(m, cur, ZPA_GFP_USER, NULL));
	/* bound0 has all mems: its bind policy does not matter to a cpuset OOM */
	assert_int_equal(bound0.kills, 1);
	assert_int_equal(on0.kills, 0);
	assert_logged(cap, "oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=/,mems_allowed=1,global_oom,"
			   "task_memcg=/,task=bound0,pid=3,uid=0");
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_true(oom_as(m, cur, ZPA_GFP_USER, NULL));
	assert_int_equal(on1.kills, 1);
	assert_int_equal(on0.kills, 0);
	assert_int_equal(zpa_oom_reap(m), 0);
	/* A memory policy OOM on node 1 spares a task bound to node 0 only, whatever its cpuset. */
	proc_del(&bound0);
	proc_add(m, &bound0, 3, "bound0", 0, 8000);
	assert_int_equal(zpa_set_mempolicy(m, bound0.t, ZPA_MPOL_BIND, &n0), 0);
	cap->n = 0;
	assert_true(oom_as(m, NULL, ZPA_GFP_KERNEL, &n1));
	assert_int_equal(bound0.kills, 0);
	assert_int_equal(on0.kills, 1); /* no bind policy: eligible */
	assert_logged(cap, "oom-kill:constraint=CONSTRAINT_MEMORY_POLICY,nodemask=1,cpuset=/,mems_allowed=0-1,global_oom,"
			   "task_memcg=/,task=on0,pid=1,uid=0");
	proc_del(&on0);
	proc_del(&on1);
	proc_del(&bound0);
	zpa_task_destroy(cur);
	zpa_machine_destroy(m);
	free(cap);
}

/* memcg OOM: only the tasks of the group's subtree are candidates; the charge then succeeds. */
static void test_memcg_oom(void **state)
{
	(void)state;
	struct logcap *cap = calloc(1, sizeof(*cap));
	struct zpa_machine *m = machine(cap);
	struct zpa_memcg *p, *c1, *c2, *other;
	assert_int_equal(zpa_memcg_create(m, NULL, "p", &p), 0);
	assert_int_equal(zpa_memcg_create(m, p, "c1", &c1), 0);
	assert_int_equal(zpa_memcg_create(m, p, "c2", &c2), 0);
	assert_int_equal(zpa_memcg_create(m, NULL, "other", &other), 0);
	struct proc in1, in2, out, root;
	struct zpa_memcg_stat s;
	proc_add(m, &in1, 201, "in1", 0, 0);
	proc_add(m, &in2, 202, "in2", 0, 0);
	proc_add(m, &out, 203, "out", 1000, 100000);
	proc_add(m, &root, 204, "root", 1000, 100000);
	zpa_task_set_memcg(in1.t, c1);
	zpa_task_set_memcg(in2.t, c2);
	zpa_task_set_memcg(out.t, other);
	in1.remove_on_kill = in2.remove_on_kill = true;
	assert_int_equal(zpa_sysctl_set(m, "oom_kill_allocating_task", "1"), 0); /* ignored by memcg OOM */
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_MAX, 16), 0);
	for (int i = 0; i < 6; i++)
		in1.pages[in1.npages++] = zpa__alloc_pages(m, in1.t, ZPA_GFP_KERNEL_ACCOUNT, 0, -1, NULL);
	for (int i = 0; i < 10; i++)
		in2.pages[in2.npages++] = zpa__alloc_pages(m, in2.t, ZPA_GFP_KERNEL_ACCOUNT, 0, -1, NULL);
	in1.fp.rss_anon = 6;
	in2.fp.rss_anon = 10;
	assert_int_equal(zpa_memcg_stat(p, &s), 0);
	assert_int_equal(s.usage, 16);
	/*
	 * in1 allocates one more page: p is at its max.  The memcg OOM ignores
	 * oom_kill_allocating_task and picks in2, the largest of p's subtree;
	 * out and root are larger but outside it.  in2's kill() frees its
	 * pages, so the charge then succeeds.
	 */
	zpa_pfn_t pfn = zpa__alloc_pages(m, in1.t, ZPA_GFP_KERNEL_ACCOUNT, 0, -1, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	in1.pages[in1.npages++] = pfn;
	assert_int_equal(in2.kills, 1);
	assert_int_equal(in1.kills, 0);
	assert_int_equal(out.kills, 0);
	assert_int_equal(root.kills, 0);
	assert_int_equal(oom_kills(m), 1);
	assert_int_equal(zpa_memcg_stat(p, &s), 0);
	assert_int_equal(s.usage, 7);
	assert_int_equal(s.events_oom, 1);
	assert_int_equal(s.events_oom_kill, 1);
	assert_int_equal(s.events_local_oom, 1);     /* the group at its max */
	assert_int_equal(s.events_local_oom_kill, 0); /* the victim was in c2 */
	assert_int_equal(zpa_memcg_stat(c2, &s), 0);
	assert_int_equal(s.events_oom_kill, 1);
	assert_int_equal(s.events_local_oom_kill, 1);
	assert_int_equal(s.usage, 0);
	assert_logged(cap, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/p,"
			   "task_memcg=/p/c2,task=in2,pid=202,uid=0");
	assert_int_equal(cap_count_prefix(cap, "Memory cgroup out of memory: Killed process 202 (in2)"), 1);
	assert_logged(cap, "memory: usage 64kB, limit 64kB, failcnt 18");
	assert_logged(cap, "Memory cgroup stats for /p:");
	assert_logged(cap, "kernel 65536");

	/* A max set below usage: reclaim fails, so the group's own task is killed (root is larger). */
	out.remove_on_kill = true;
	for (int i = 0; i < 2; i++)
		out.pages[out.npages++] = zpa__alloc_pages(m, out.t, ZPA_GFP_KERNEL_ACCOUNT, 0, -1, NULL);
	out.fp.rss_anon = 2;
	assert_int_equal(zpa_memcg_set_limit(other, ZPA_MEMCG_LIMIT_MAX, 1), 0);
	assert_int_equal(out.kills, 1);
	assert_int_equal(root.kills, 0);
	assert_int_equal(zpa_memcg_stat(other, &s), 0);
	assert_int_equal(s.usage, 0);
	assert_int_equal(s.events_oom, 1);
	assert_int_equal(s.events_oom_kill, 1);
	assert_int_equal(oom_kills(m), 2);

	for (int i = 0; i < in1.npages; i++)
		assert_int_equal(zpa__free_pages(m, in1.t, in1.pages[i], 0), 0);
	proc_del(&in1);
	zpa_task_destroy(in2.t); /* both removed themselves in kill() */
	zpa_task_destroy(out.t);
	proc_del(&root);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
	free(cap);
}

/* Registration and removal racing with kills and footprint() calls on another thread. */
struct churn {
	struct zpa_machine *m;
	_Atomic int stop;
	_Atomic unsigned long kills;
};

static void churn_footprint(void *arg, struct zpa_oom_footprint *out)
{
	(void)arg;
	out->rss_anon = 10;
}

static void churn_kill(void *arg)
{
	struct churn *c = arg;
	atomic_fetch_add(&c->kills, 1);
}

static const struct zpa_oom_task_ops churn_ops = { churn_footprint, churn_kill, NULL };

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	for (int i = 0; i < 3000; i++) {
		struct zpa_task *t = zpa_task_create();
		struct zpa_oom_task_info info = { 1000 + i, "churn", 0, &churn_ops, c };
		assert_int_equal(zpa_oom_task_add(c->m, t, &info), 0);
		if (i & 1)
			assert_int_equal(zpa_oom_task_remove(c->m, t), 0);
		else
			oom_task_exit(t);
		zpa_task_destroy(t);
	}
	atomic_store(&c->stop, 1);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	m->cfg.log_level = ZPA_LOG_ERR - 1; /* quiet */
	struct churn c = { .m = m };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, churn_thread, &c), 0);
	unsigned long tries = 0;
	while (!atomic_load(&c.stop)) {
		zpa_oom_kill(m);
		assert_true(oom_trylock(m));
		struct zpa_oom_control oc = { .gfp = ZPA_GFP_KERNEL };
		out_of_memory(m, &oc);
		oom_unlock(m);
		tries++;
	}
	pthread_join(th, NULL);
	assert_true(tries > 0);
	assert_int_equal(oom_kills(m), atomic_load(&c.kills));
	assert_false(zpa_oom_kill(m)); /* the registry is empty */
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_badness),
		cmocka_unit_test(test_registration),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_nofs),
		cmocka_unit_test(test_victim_blocks_until_reaped),
		cmocka_unit_test(test_kill_exits),
		cmocka_unit_test(test_host_handler),
		cmocka_unit_test(test_kill_allocating_task),
		cmocka_unit_test(test_report_lines),
		cmocka_unit_test(test_report_ratelimit),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_memcg_oom),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
