/*
 * main.c - zpa-bench: options, worker threads, the repetition schedule and
 * the callgrind re-run.  See docs/PERFORMANCE.md for what is measured.
 *
 * Schedule: workloads run one after the other; within a workload every
 * allocator runs repetition 1, then every allocator runs repetition 2, and so
 * on, the starting allocator rotating each time, so slow drifts of the
 * machine (frequency, a noisy neighbour) spread over all of them.  Each
 * repetition is timed alone with CLOCK_MONOTONIC; a cell is the median, min
 * and max of its repetitions' ns/op.  Ratios zpa/x are of medians from this
 * one run.
 *
 * Threads: two workers pinned to two CPUs (pthread_setaffinity_np).  Worker 0
 * runs every single-threaded workload, so each allocator always sees the same
 * thread (zpa: the same default task); W4 runs W1 on workers 0 and 1 at once,
 * started together by a barrier.  The main thread only hands out jobs.
 *
 * Instructions per operation: unless --no-callgrind, the program runs itself
 * again under `valgrind --tool=callgrind` in --callgrind-w1 mode, which runs
 * W1 for each allocator with event collection on only around the loop and
 * dumps one profile per allocator; the parent reads each dump's totals line.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "workloads.h"

#define REEXEC_ENV "ZPA_BENCH_REEXECED"
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

/* ---- options ---- */

struct options {
	unsigned reps;
	double scale;
	uint64_t gib;
	const char *json;
	bool callgrind;
	uint64_t callgrind_pairs;   /* parent: pairs per allocator in the child */
	long callgrind_child;       /* > 0: this is the child, run W1 this many pairs */
	const char *callgrind_keep; /* keep the callgrind dumps in this directory */
	bool want_w[W_NR];
	bool want_b[B_NR];
	char only[256];             /* the --only list as given (passed on to the child) */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zpa-bench [--reps N] [--scale F] [--only LIST] [--json FILE] [--no-callgrind]\n"
		"                 [--callgrind-pairs N] [--callgrind-keep DIR] [--gib N]\n"
		"  --reps N            repetitions per cell (default 5, at most %d)\n"
		"  --scale F           multiply every operation count by F (default 1)\n"
		"  --only LIST         comma-separated workloads (W1 W2 W2-lifo W2-rand W3 W4 bulk)\n"
		"                      and/or allocators (zpa stack glibc jemalloc mimalloc tcmalloc)\n"
		"  --json FILE         write every cell (allocator, workload, median_ns, min_ns, max_ns, ...)\n"
		"  --no-callgrind      skip the instructions-per-operation run under valgrind\n"
		"  --callgrind-pairs N W1 pairs per allocator under callgrind (default 100000)\n"
		"  --callgrind-keep DIR  keep the callgrind dumps (DIR/cg.out.N, one per allocator) for\n"
		"                      callgrind_annotate\n"
		"  --gib N             size of zpa's one-node machine in GiB (default 16)\n"
		"  --callgrind-w1 N    (internal) run only W1, N pairs, for callgrind\n",
		BENCH_MAX_REPS);
}

static bool select_name(struct options *o, const char *name)
{
	bool hit = false;
	for (int w = 0; w < W_NR; w++) {
		if (!strcasecmp(name, bench_workload_names[w]) ||
		    (!strcasecmp(name, "W2") && (w == W_2_LIFO || w == W_2_RAND))) {
			o->want_w[w] = true;
			hit = true;
		}
	}
	for (int b = 0; b < B_NR; b++) {
		if (!strcasecmp(name, bench_backends[b].name) || (b == B_STACK && !strcasecmp(name, "stack"))) {
			o->want_b[b] = true;
			hit = true;
		}
	}
	return hit;
}

static int parse_only(struct options *o, const char *list)
{
	char buf[256];
	bool any_w = false, any_b = false;
	snprintf(buf, sizeof(buf), "%s", list);
	snprintf(o->only, sizeof(o->only), "%s", list);
	memset(o->want_w, 0, sizeof(o->want_w));
	memset(o->want_b, 0, sizeof(o->want_b));
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (!select_name(o, tok)) {
			fprintf(stderr, "zpa-bench: --only: unknown workload or allocator '%s'\n", tok);
			return -1;
		}
	}
	for (int w = 0; w < W_NR; w++)
		any_w |= o->want_w[w];
	for (int b = 0; b < B_NR; b++)
		any_b |= o->want_b[b];
	for (int w = 0; w < W_NR && !any_w; w++)
		o->want_w[w] = true;
	for (int b = 0; b < B_NR && !any_b; b++)
		o->want_b[b] = true;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .reps = 5, .scale = 1.0, .gib = 16, .callgrind = true, .callgrind_pairs = 100000 };
	for (int w = 0; w < W_NR; w++)
		o->want_w[w] = true;
	for (int b = 0; b < B_NR; b++)
		o->want_b[b] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--no-callgrind")) {
			o->callgrind = false;
			continue;
		}
		static const char *const with_value[] = { "--reps", "--scale", "--gib", "--only", "--json",
							  "--callgrind-pairs", "--callgrind-keep", "--callgrind-w1", NULL };
		bool known = false;
		for (const char *const *k = with_value; *k; k++)
			known |= !strcmp(a, *k);
		if (!known) {
			fprintf(stderr, "zpa-bench: unknown option %s\n", a);
			usage(stderr);
			return -1;
		}
		if (!v) {
			fprintf(stderr, "zpa-bench: %s needs a value\n", a);
			return -1;
		}
		i++;
		errno = 0;
		if (!strcmp(a, "--reps")) {
			long n = strtol(v, &end, 10);
			if (*end || n < 1 || n > BENCH_MAX_REPS)
				goto bad;
			o->reps = (unsigned)n;
		} else if (!strcmp(a, "--scale")) {
			o->scale = strtod(v, &end);
			if (*end || !(o->scale > 0) || o->scale > 1000)
				goto bad;
		} else if (!strcmp(a, "--gib")) {
			long n = strtol(v, &end, 10);
			if (*end || n < 1 || n > 1024)
				goto bad;
			o->gib = (uint64_t)n;
		} else if (!strcmp(a, "--only")) {
			if (parse_only(o, v))
				return -1;
		} else if (!strcmp(a, "--json")) {
			o->json = v;
		} else if (!strcmp(a, "--callgrind-pairs")) {
			long n = strtol(v, &end, 10);
			if (*end || n < 1)
				goto bad;
			o->callgrind_pairs = (uint64_t)n;
		} else if (!strcmp(a, "--callgrind-keep")) {
			o->callgrind_keep = v;
		} else if (!strcmp(a, "--callgrind-w1")) {
			o->callgrind_child = strtol(v, &end, 10);
			if (*end || o->callgrind_child < 1)
				goto bad;
		}
		continue;
bad:
		fprintf(stderr, "zpa-bench: bad value for %s: %s\n", a, v);
		return -1;
	}
	return 0;
}

/*
 * jemalloc, mimalloc and tcmalloc need static TLS when dlopen()ed; glibc
 * reserves only a little, less than jemalloc's 2.6 KiB.  Re-execute once with the surplus raised (keeping any tunables
 * the user set).  On failure, go on: those libraries will say they could not
 * be loaded.
 */
static void reexec_with_static_tls(char **argv)
{
	if (getenv(REEXEC_ENV) || RUNNING_ON_VALGRIND) /* under valgrind /proc/self/exe is valgrind's */
		return;
	const char *old = getenv("GLIBC_TUNABLES");
	char buf[1024];
	if (old && strstr(old, "optional_static_tls"))
		snprintf(buf, sizeof(buf), "%s", old);
	else if (old && *old)
		snprintf(buf, sizeof(buf), "%s:%s", old, STATIC_TLS_TUNABLE);
	else
		snprintf(buf, sizeof(buf), "%s", STATIC_TLS_TUNABLE);
	setenv("GLIBC_TUNABLES", buf, 1);
	setenv(REEXEC_ENV, "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "zpa-bench: re-exec for static TLS failed (%s); going on\n", strerror(errno));
}

/* ---- the plan: every input sequence, fixed seeds ---- */

static uint64_t rng_state;
static uint64_t rng_next(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint64_t rng_below(uint64_t n) { return rng_next() % n; }

/* W3's order mix: 90% order 0, 5% orders 1-3, 4% orders 4-8, 1% orders 9-10. */
static uint8_t w3_random_order(void)
{
	uint64_t u = rng_below(100);
	if (u < 90)
		return 0;
	if (u < 95)
		return (uint8_t)(1 + rng_below(3));
	if (u < 99)
		return (uint8_t)(4 + rng_below(5));
	return (uint8_t)(9 + rng_below(2));
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "zpa-bench: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

/*
 * The issue fixes each cell's total work: W1 10M pairs (and 10M per thread
 * for W4), W2 one batch of 100k per repetition, W3 1M steady-state steps,
 * bulk 20k calls of 128 pages; --scale multiplies them.  Totals are split
 * evenly over the repetitions, so --reps changes the spread measured, not the
 * run time.
 */
static uint64_t per_rep(double total, const struct options *o)
{
	double v = total * o->scale / o->reps;
	return v < 1 ? 1 : (uint64_t)(v + 0.5);
}

static void plan_build(struct bench_plan *p, const struct options *o, uint64_t managed)
{
	p->w1_pairs = per_rep(10e6, o);

	p->w2_n = 100000;
	p->w2_rounds = o->scale < 1 ? 1 : (uint32_t)(o->scale + 0.5);
	p->w2_perm = xmalloc(p->w2_n * sizeof(*p->w2_perm));
	rng_state = 2;
	for (uint32_t i = 0; i < p->w2_n; i++)
		p->w2_perm[i] = i;
	for (uint32_t i = p->w2_n - 1; i > 0; i--) { /* Fisher-Yates */
		uint32_t j = (uint32_t)rng_below(i + 1), x = p->w2_perm[i];
		p->w2_perm[i] = p->w2_perm[j];
		p->w2_perm[j] = x;
	}

	/* W3: blocks until half of zpa's managed pages are live. */
	p->w3_target_pages = managed / 2;
	rng_state = 3;
	size_t cap = 1024;
	p->w3_fill_order = xmalloc(cap);
	uint64_t pages = 0;
	p->w3_live = 0;
	while (pages < p->w3_target_pages) {
		if (p->w3_live == cap) {
			cap *= 2;
			p->w3_fill_order = realloc(p->w3_fill_order, cap);
			if (!p->w3_fill_order)
				xmalloc(SIZE_MAX); /* reports and exits */
		}
		uint8_t k = w3_random_order();
		p->w3_fill_order[p->w3_live++] = k;
		pages += 1ull << k;
	}
	p->w3_steps = per_rep(1e6, o);
	p->w3_victim = xmalloc(p->w3_steps * sizeof(*p->w3_victim));
	p->w3_order = xmalloc(p->w3_steps);
	for (uint64_t i = 0; i < p->w3_steps; i++) {
		p->w3_victim[i] = (uint32_t)rng_below(p->w3_live);
		p->w3_order[i] = w3_random_order();
	}

	p->bulk_iters = per_rep(20000, o);
}

/* ---- workers ---- */

struct worker {
	pthread_t thread;
	struct bthread t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct bench_backend *backend;
	struct bench_job *job;
	bool busy, quit;
};

static struct worker workers[2];

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->mu);
		w->backend->run(&w->t, w->job);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_post(struct worker *w, const struct bench_backend *b, struct bench_job *j)
{
	pthread_mutex_lock(&w->mu);
	w->backend = b;
	w->job = j;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void worker_wait(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* The i-th CPU this process may run on, or -1. */
static int allowed_cpu(int i, int *nr_allowed)
{
	cpu_set_t set;
	*nr_allowed = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	int found = -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (*nr_allowed == i)
			found = c;
		(*nr_allowed)++;
	}
	if (found < 0 && *nr_allowed > 0) /* fewer CPUs than workers: share the last */
		return allowed_cpu(*nr_allowed - 1, nr_allowed);
	return found;
}

static int workers_start(const struct bench_plan *p, char *note, size_t notelen)
{
	int nr_allowed = 0;
	for (int i = 0; i < 2; i++) {
		struct worker *w = &workers[i];
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		w->t.id = i;
		w->t.cpu = allowed_cpu(i, &nr_allowed);
		/* Worker 0 runs everything: enough stack for W2's batch, W3's live
		 * set (any order may hold every slot) and a bulk call; worker 1
		 * only runs W1. */
		size_t cap[BENCH_MAX_ORDER];
		for (unsigned k = 0; k < BENCH_MAX_ORDER; k++)
			cap[k] = i == 0 ? p->w3_live : 1;
		cap[0] = i == 0 ? (p->w2_n > p->w3_live ? p->w2_n : p->w3_live) : BENCH_BULK;
		if (cap[0] < BENCH_BULK)
			cap[0] = BENCH_BULK;
		if (bench_stack_init(&w->t, cap))
			return -1;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		if (w->t.cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(w->t.cpu, &set);
			if (pthread_attr_setaffinity_np(&attr, sizeof(set), &set))
				w->t.cpu = -1;
		}
		if (pthread_create(&w->thread, &attr, worker_main, w)) {
			pthread_attr_destroy(&attr);
			return -1;
		}
		pthread_attr_destroy(&attr);
	}
	if (nr_allowed < 2)
		snprintf(note, notelen, "only %d CPU allowed: W4's two threads share it", nr_allowed);
	else if (workers[0].t.cpu < 0 || workers[1].t.cpu < 0)
		snprintf(note, notelen, "threads could not be pinned");
	return 0;
}

static void workers_stop(void)
{
	for (int i = 0; i < 2; i++) {
		struct worker *w = &workers[i];
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		bench_stack_fini(&w->t);
	}
}

/* ---- the timed run ---- */

static void record(struct bench_cell *c, const struct bench_job *j, double ns_per_op)
{
	if (c->nr < BENCH_MAX_REPS)
		c->ns[c->nr++] = ns_per_op;
	c->ops = j->ops;
}

static void collect_counters(struct bench_cell *c, struct bthread *t)
{
	c->failures += t->failures;
	c->errors += t->errors;
	t->failures = t->errors = 0;
}

static void run_workload(enum bench_workload_id w, const struct options *o, const struct bench_plan *p,
			 struct bench_results *r, const int *order, int nr)
{
	struct w3_state w3[B_NR];
	uint64_t *scratch = xmalloc((p->w2_n > BENCH_BULK ? p->w2_n : BENCH_BULK) * sizeof(uint64_t));
	uint64_t *scratch1 = xmalloc(BENCH_BULK * sizeof(uint64_t));
	pthread_barrier_t start;
	struct bench_job job = { .workload = w, .plan = p, .scratch = scratch };
	struct bench_job job1 = job;
	job1.scratch = scratch1;
	uint64_t t_begin = bench_now_ns();

	if (w == W_4) {
		pthread_barrier_init(&start, NULL, 2);
		job.start = job1.start = &start;
	}

	if (w == W_3) { /* the fill, untimed; its failures count against W3 */
		for (int i = 0; i < nr; i++) {
			int b = order[i];
			w3[b].handle = xmalloc(p->w3_live * sizeof(uint64_t));
			w3[b].order = xmalloc(p->w3_live);
			job.w3 = &w3[b];
			job.phase = PH_SETUP;
			worker_post(&workers[0], &bench_backends[b], &job);
			worker_wait(&workers[0]);
			collect_counters(&r->cell[b][w], &workers[0].t);
		}
	}
	if (w == W_1 || w == W_4 || w == W_BULK) {
		for (int i = 0; i < nr; i++) {
			int b = order[i];
			job.phase = PH_WARMUP;
			worker_post(&workers[0], &bench_backends[b], &job);
			worker_wait(&workers[0]);
			if (w == W_4) {
				job1.phase = PH_WARMUP;
				worker_post(&workers[1], &bench_backends[b], &job1);
				worker_wait(&workers[1]);
			}
			collect_counters(&r->cell[b][w], &workers[0].t);
			collect_counters(&r->cell[b][w], &workers[1].t);
		}
	}

	for (unsigned rep = 0; rep < o->reps; rep++) {
		for (int i = 0; i < nr; i++) {
			int b = order[(i + rep) % nr];
			struct bench_cell *c = &r->cell[b][w];
			job.phase = job1.phase = PH_RUN;
			job.w3 = w == W_3 ? &w3[b] : NULL;
			worker_post(&workers[0], &bench_backends[b], &job);
			if (w == W_4)
				worker_post(&workers[1], &bench_backends[b], &job1);
			worker_wait(&workers[0]);
			double ns = job.ops ? (double)job.elapsed_ns / (double)job.ops : 0;
			if (w == W_4) {
				worker_wait(&workers[1]);
				double ns1 = job1.ops ? (double)job1.elapsed_ns / (double)job1.ops : 0;
				if (ns1 > ns) /* the slower thread */
					ns = ns1;
				collect_counters(c, &workers[1].t);
			}
			record(c, &job, ns);
			collect_counters(c, &workers[0].t);
		}
	}

	for (int i = 0; i < nr; i++) {
		int b = order[i];
		if (w == W_3) {
			job.phase = PH_TEARDOWN;
			job.w3 = &w3[b];
			worker_post(&workers[0], &bench_backends[b], &job);
			worker_wait(&workers[0]);
			collect_counters(&r->cell[b][w], &workers[0].t);
			free(w3[b].handle);
			free(w3[b].order);
		}
		bench_cell_finish(&r->cell[b][w]);
	}
	bench_zpa_drain();
	if (w == W_4)
		pthread_barrier_destroy(&start);
	free(scratch);
	free(scratch1);
	fprintf(stderr, "zpa-bench: %-8s %d allocators x %u reps in %.1f s\n", bench_workload_names[w], nr, o->reps,
		(double)(bench_now_ns() - t_begin) / 1e9);
}

/* ---- callgrind ---- */

/* Child side: W1 for each selected allocator, one callgrind dump each. */
static int callgrind_child(const struct options *o)
{
#if ZPA_BENCH_HAVE_CALLGRIND
	struct bench_plan p = { .w1_pairs = (uint64_t)o->callgrind_child, .w2_n = 1 };
	struct bthread t = { 0 };
	size_t cap[BENCH_MAX_ORDER] = { [0] = BENCH_BULK };
	if (bench_stack_init(&t, cap))
		return 1;
	CALLGRIND_START_INSTRUMENTATION;
	for (int b = 0; b < B_NR; b++) {
		if (!o->want_b[b] || !bench_backends[b].available)
			continue;
		struct bench_job j = { .workload = W_1, .phase = PH_WARMUP, .plan = &p };
		bench_backends[b].run(&t, &j); /* warm: first-use setup is not counted */
		j.phase = PH_RUN;
		j.callgrind = true;
		bench_backends[b].run(&t, &j);
		CALLGRIND_DUMP_STATS_AT(bench_backends[b].name);
	}
	CALLGRIND_STOP_INSTRUMENTATION;
	bench_stack_fini(&t);
	return 0;
#else
	(void)o;
	fprintf(stderr, "zpa-bench: built without valgrind/callgrind.h\n");
	return 1;
#endif
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	if (!path)
		path = "/usr/bin:/bin";
	for (const char *s = path; *s;) {
		size_t n = strcspn(s, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, s, prog);
		if (n && access(buf, X_OK) == 0)
			return true;
		s += n;
		if (*s == ':')
			s++;
	}
	return false;
}

/* Read "desc: Trigger: Client Request: NAME" and "totals: N" of one dump. */
static void parse_dump(const char *path, struct bench_results *r, uint64_t pairs)
{
	FILE *f = fopen(path, "r");
	char line[512], name[64] = "";
	unsigned long long total = 0;
	bool have_total = false;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "desc: Trigger: Client Request: ", 31))
			sscanf(line + 31, "%63s", name);
		else if (!strncmp(line, "totals:", 7))
			have_total = sscanf(line + 7, "%llu", &total) == 1;
	}
	fclose(f);
	for (int b = 0; b < B_NR && have_total; b++)
		if (!strcmp(name, bench_backends[b].name))
			r->instr_per_op[b] = (double)total / (2.0 * (double)pairs);
}

/* Parent side: run ourselves under callgrind and read the per-allocator dumps. */
static void callgrind_parent(const struct options *o, struct bench_results *r)
{
	char exe[PATH_MAX], dir[512] = "/tmp/zpa-bench-XXXXXX", out[PATH_MAX], log[PATH_MAX], pairs[32], gib[32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!ZPA_BENCH_HAVE_CALLGRIND) {
		snprintf(r->callgrind_note, sizeof(r->callgrind_note), "built without valgrind/callgrind.h");
		return;
	}
	if (!in_path("valgrind")) {
		snprintf(r->callgrind_note, sizeof(r->callgrind_note),
			 "valgrind not found (apt-get install valgrind): instructions not measured");
		return;
	}
	if (o->callgrind_keep) {
		snprintf(dir, sizeof(dir), "%.400s", o->callgrind_keep);
		if (mkdir(dir, 0700) && errno != EEXIST)
			n = -1;
	}
	if (n <= 0 || (!o->callgrind_keep && !mkdtemp(dir))) {
		snprintf(r->callgrind_note, sizeof(r->callgrind_note), "cannot set up the callgrind run: %s",
			 strerror(errno));
		return;
	}
	exe[n] = 0;
	snprintf(out, sizeof(out), "--callgrind-out-file=%s/cg.out", dir);
	snprintf(log, sizeof(log), "%s/valgrind.log", dir);
	snprintf(pairs, sizeof(pairs), "%llu", (unsigned long long)o->callgrind_pairs);
	snprintf(gib, sizeof(gib), "%llu", (unsigned long long)o->gib); /* the same zpa machine */
	char *argv[] = { "valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no", out,
			 exe, "--callgrind-w1", pairs, "--gib", gib, "--only", (char *)(o->only[0] ? o->only : "all"),
			 NULL };
	if (!o->only[0])
		argv[10] = NULL; /* no --only: every allocator */

	fprintf(stderr, "zpa-bench: W1 under callgrind, %s pairs per allocator...\n", pairs);
	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp("valgrind", argv);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(r->callgrind_note, sizeof(r->callgrind_note),
			 "the callgrind run failed (status %d); see %.150s", status, log);
		return; /* keep the directory for the log */
	}
	fprintf(stderr, "zpa-bench: callgrind run took %.1f s\n", (double)(bench_now_ns() - t0) / 1e9);

	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[PATH_MAX];
		if (strncmp(e->d_name, "cg.out", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		parse_dump(path, r, o->callgrind_pairs);
		if (!o->callgrind_keep)
			unlink(path);
	}
	if (d)
		closedir(d);
	if (o->callgrind_keep) {
		fprintf(stderr, "zpa-bench: callgrind dumps kept in %s (callgrind_annotate %s/cg.out.1)\n", dir, dir);
		return;
	}
	unlink(log);
	rmdir(dir);
}

/* ---- machine description ---- */

static void describe_machine(char *buf, size_t len)
{
	char model[128] = "unknown CPU", line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			if (c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
			}
			break;
		}
	}
	if (f)
		fclose(f);
	struct utsname u;
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(buf, len, "%s, %ld CPUs online, Linux %s", model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

int main(int argc, char **argv)
{
	struct options o;
	static struct bench_results r;
	char err[256] = "", thread_note[128] = "";

	if (parse_args(argc, argv, &o))
		return 2;
	if (!o.callgrind_child)
		reexec_with_static_tls(argv);

	uint64_t t_start = bench_now_ns();
	struct bench_zpa_setup zs = { .bytes = o.gib << 30, .nr_cpus = 2 };
	if (bench_backends_init(&zs, err, sizeof(err))) {
		fprintf(stderr, "zpa-bench: %s\n", err);
		return 1;
	}
	if (o.callgrind_child) {
		int rc = callgrind_child(&o);
		bench_backends_fini();
		return rc;
	}

	struct bench_plan plan;
	plan_build(&plan, &o, zpa_total_managed(bench_zpa_machine()));
	if (workers_start(&plan, thread_note, sizeof(thread_note))) {
		fprintf(stderr, "zpa-bench: cannot start the worker threads\n");
		return 1;
	}

	r.reps = o.reps;
	r.scale = o.scale;
	describe_machine(r.machine, sizeof(r.machine));
	snprintf(r.zpa_machine, sizeof(r.zpa_machine),
		 "one node of %llu GiB (%llu managed pages), 2 CPUs, unbacked; W3 keeps %u blocks (%llu pages) live%s%s",
		 (unsigned long long)o.gib, (unsigned long long)zpa_total_managed(bench_zpa_machine()), plan.w3_live,
		 (unsigned long long)plan.w3_target_pages, thread_note[0] ? "; " : "", thread_note);
	for (int b = 0; b < B_NR; b++) {
		r.instr_per_op[b] = BENCH_NO_VALUE;
		r.backend_selected[b] = o.want_b[b];
	}
	memcpy(r.selected, o.want_w, sizeof(r.selected));

	int order[B_NR], nr = 0;
	for (int b = 0; b < B_NR; b++)
		if (o.want_b[b] && bench_backends[b].available)
			order[nr++] = b;
	for (int w = 0; w < W_NR; w++)
		if (o.want_w[w] && nr)
			run_workload(w, &o, &plan, &r, order, nr);

	/* Everything was freed: zpa must be whole again. */
	struct zpa_machine *m = bench_zpa_machine();
	bench_zpa_drain();
	char report[512] = "";
	int rc = 0;
	if (zpa_check(m, report, sizeof(report)) != 0) {
		fprintf(stderr, "zpa-bench: zpa_check failed after the run: %s\n", report);
		rc = 1;
	} else if (zpa_total_free(m) != zpa_total_managed(m)) {
		fprintf(stderr, "zpa-bench: only %llu of %llu pages are free after the run\n",
			(unsigned long long)zpa_total_free(m), (unsigned long long)zpa_total_managed(m));
		rc = 1;
	}
	workers_stop();

	if (o.callgrind && o.want_w[W_1])
		callgrind_parent(&o, &r);
	else
		snprintf(r.callgrind_note, sizeof(r.callgrind_note), "callgrind run skipped");
	r.wall_s = (double)(bench_now_ns() - t_start) / 1e9;

	bench_print_table(&r);
	if (o.json && bench_write_json(&r, o.json)) {
		fprintf(stderr, "zpa-bench: cannot write %s: %s\n", o.json, strerror(errno));
		rc = 1;
	}
	bench_backends_fini();
	free(plan.w2_perm);
	free(plan.w3_fill_order);
	free(plan.w3_victim);
	free(plan.w3_order);
	return rc;
}
