/*
 * backends.c - how zpa-bench reaches each allocator, and one run function per
 * allocator built from the workload bodies of workloads.h.
 *
 * zpa:         an unbacked machine of one node (default 16 GiB, 2 CPUs);
 *              zpa_alloc_pages(m, ZPA_GFP_KERNEL, k) / zpa_free_pages(m, pfn, k)
 *              from the calling thread's default task, as a user calls them;
 *              bulk: zpa_alloc_pages_bulk_array / zpa_free_pages_bulk.
 * array-stack: stack.c, the physical limit.
 * glibc:       aligned_alloc(4096 << k, 4096 << k) / free, the process's malloc.
 * jemalloc, mimalloc, tcmalloc: Debian's shared libraries, each dlopen()ed
 *              with RTLD_LOCAL | RTLD_DEEPBIND so that none of them replaces
 *              the process's malloc (each binds its own symbols first and
 *              exports nothing to us); their functions are found with dlsym()
 *              and the library they come from is reported (dladdr), so a table
 *              cannot silently show glibc under another name.  All three use
 *              initial-exec TLS, which a dlopen()ed library can only get from
 *              glibc's small surplus of static TLS; jemalloc's does not fit,
 *              so main.c re-executes the program once with
 *              glibc.rtld.optional_static_tls raised.
 *              A library that cannot be loaded is marked unavailable with the
 *              reason, and the bench goes on without it.
 *
 * A general-purpose allocator's "page of order k" is 4096 << k bytes aligned
 * to its size: what a program would ask malloc for instead of a page
 * allocator.  Sizes are never touched.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "workloads.h"

/*
 * Entry points that are newer than some libzpa builds: referenced weakly so
 * the bench links (and says what it did instead) against a library without
 * them.  The bench links zpa's object files directly (bench/CMakeLists.txt),
 * so a defined symbol is always found.
 */
#pragma weak zpa_alloc_pages_bulk_array
#pragma weak zpa_free_pages_bulk
#pragma weak zpa_drain_all_pages

const char *const bench_workload_names[W_NR] = {
	[W_1] = "W1", [W_2_LIFO] = "W2-lifo", [W_2_RAND] = "W2-rand",
	[W_3] = "W3", [W_4] = "W4", [W_BULK] = "bulk",
};

/* ---- zpa ---- */

static struct zpa_machine *zm;
static bool zpa_bulk_native;
static unsigned long zpa_log_count;

/* Machine messages (e.g. allocation-failure warnings in W3): the first few go to stderr. */
static void zpa_bench_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (++zpa_log_count <= 5)
		fprintf(stderr, "zpa-bench: zpa log (level %d): %s%s", level, msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

struct zpa_machine *bench_zpa_machine(void) { return zm; }
bool bench_zpa_has_bulk(void) { return zpa_bulk_native; }

void bench_zpa_drain(void)
{
	if (zm && zpa_drain_all_pages)
		zpa_drain_all_pages(zm);
}

static inline uint64_t zpa_b_alloc(struct bthread *t, unsigned order)
{
	(void)t;
	return zpa_alloc_pages(zm, ZPA_GFP_KERNEL, order);
}

static inline void zpa_b_free(struct bthread *t, uint64_t pfn, unsigned order)
{
	if (bench_unlikely(zpa_free_pages(zm, pfn, order) != 0))
		t->errors++;
}

/* The caller's array must hold ZPA_PFN_NONE in the slots to fill: that reset is part of the cost. */
static inline unsigned long zpa_b_alloc_bulk(struct bthread *t, unsigned long n, uint64_t *out)
{
	if (!zpa_bulk_native) {
		unsigned long got = 0;
		for (unsigned long i = 0; i < n; i++) {
			zpa_pfn_t pfn = zpa_alloc_pages(zm, ZPA_GFP_KERNEL, 0);
			if (pfn != ZPA_PFN_NONE)
				out[got++] = pfn;
		}
		return got;
	}
	for (unsigned long i = 0; i < n; i++)
		out[i] = ZPA_PFN_NONE;
	unsigned long got = zpa_alloc_pages_bulk_array(zm, NULL, ZPA_GFP_KERNEL, -1, NULL, n, out);
	if (bench_unlikely(got < n)) { /* keep the filled slots at the front */
		unsigned long k = 0;
		for (unsigned long i = 0; i < n; i++)
			if (out[i] != ZPA_PFN_NONE)
				out[k++] = out[i];
		got = k;
	}
	return got;
}

static inline void zpa_b_free_bulk(struct bthread *t, const uint64_t *pfns, unsigned long n)
{
	if (!zpa_bulk_native) {
		for (unsigned long i = 0; i < n; i++)
			zpa_b_free(t, pfns[i], 0);
		return;
	}
	if (bench_unlikely(zpa_free_pages_bulk(zm, pfns, n) != 0))
		t->errors++;
}

static const struct bench_ops zpa_ops = { zpa_b_alloc, zpa_b_free, zpa_b_alloc_bulk, zpa_b_free_bulk };
static void zpa_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&zpa_ops, t, j); }

/*
 * One node of zs->bytes from physical address 0, the first MiB reserved as on
 * x86, zones laid out by Linux's x86-64 rules (DMA below 16 MiB, DMA32 below
 * 4 GiB, Normal above), zs->nr_cpus CPUs on node 0, unbacked.
 */
static int zpa_setup(const struct bench_zpa_setup *zs, char *err, size_t errlen)
{
	static struct zpa_machine_config cfg; /* large: keep it off the stack */
	zpa_machine_config_init(&cfg);
	cfg.nr_nodes = 1;
	cfg.nr_cpus = zs->nr_cpus;
	for (unsigned c = 0; c < zs->nr_cpus; c++)
		cfg.cpu_node[c] = 0;
	cfg.mem_mode = ZPA_MEM_UNBACKED;
	cfg.log = zpa_bench_log;
	int rc = zpa_config_add_range(&cfg, 1ull << 20, zs->bytes, ZPA_RANGE_USABLE, 0);
	if (!rc)
		rc = zpa_config_add_range(&cfg, 0, 1ull << 20, ZPA_RANGE_RESERVED, 0);
	if (!rc)
		rc = zpa_machine_create(&cfg, &zm);
	if (rc) {
		snprintf(err, errlen, "zpa machine of %llu MiB: %s", (unsigned long long)(zs->bytes >> 20),
			 zpa_strerror(rc));
		return -1;
	}
	zpa_bulk_native = zpa_alloc_pages_bulk_array && zpa_free_pages_bulk;
	struct bench_backend *b = &bench_backends[B_ZPA];
	b->available = true;
	snprintf(b->version, sizeof(b->version), "%d.%d", ZPA_VERSION_MAJOR, ZPA_VERSION_MINOR);
	snprintf(b->where, sizeof(b->where), "libzpa linked in (ZPA_DEBUG=%d, %s build)", ZPA_BENCH_ZPA_DEBUG,
		 ZPA_BENCH_BUILD_TYPE);
	if (ZPA_BENCH_ZPA_DEBUG != 0)
		snprintf(b->note, sizeof(b->note),
			 "built with ZPA_DEBUG=%d (internal checks on): build with -DZPA_DEBUG=0 for real numbers",
			 ZPA_BENCH_ZPA_DEBUG);
	else if (!zpa_bulk_native)
		snprintf(b->note, sizeof(b->note),
			 "libzpa has no zpa_alloc_pages_bulk_array/zpa_free_pages_bulk: bulk loops single calls");
	return 0;
}

/* ---- the array stack ---- */

static inline uint64_t stack_b_alloc(struct bthread *t, unsigned order) { return bench_stack_alloc(t, order); }
static inline void stack_b_free(struct bthread *t, uint64_t h, unsigned order) { bench_stack_free(t, h, order); }
static inline unsigned long stack_b_alloc_bulk(struct bthread *t, unsigned long n, uint64_t *out)
{
	return bench_stack_alloc_bulk(t, n, out);
}
static inline void stack_b_free_bulk(struct bthread *t, const uint64_t *h, unsigned long n)
{
	bench_stack_free_bulk(t, h, n);
}
static const struct bench_ops stack_ops = { stack_b_alloc, stack_b_free, stack_b_alloc_bulk, stack_b_free_bulk };
static void stack_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&stack_ops, t, j); }

/* ---- the malloc family ---- */

static inline uint64_t ptr_handle(void *p) { return p ? (uint64_t)(uintptr_t)p : BENCH_NONE; }
static inline void *handle_ptr(uint64_t h) { return (void *)(uintptr_t)h; }
#define BLOCK_BYTES(order) (BENCH_PAGE_SIZE << (order))

static inline uint64_t glibc_b_alloc(struct bthread *t, unsigned order)
{
	(void)t;
	return ptr_handle(aligned_alloc(BLOCK_BYTES(order), BLOCK_BYTES(order)));
}
static inline void glibc_b_free(struct bthread *t, uint64_t h, unsigned order)
{
	(void)t, (void)order;
	free(handle_ptr(h));
}
static const struct bench_ops glibc_ops = { glibc_b_alloc, glibc_b_free, NULL, NULL };
static void glibc_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&glibc_ops, t, j); }

/* jemalloc: its aligned_alloc/free, as a program linked with -ljemalloc calls them. */
static void *(*je_aligned_alloc)(size_t align, size_t size);
static void (*je_free)(void *p);
static inline uint64_t je_b_alloc(struct bthread *t, unsigned order)
{
	(void)t;
	return ptr_handle(je_aligned_alloc(BLOCK_BYTES(order), BLOCK_BYTES(order)));
}
static inline void je_b_free(struct bthread *t, uint64_t h, unsigned order)
{
	(void)t, (void)order;
	je_free(handle_ptr(h));
}
static const struct bench_ops je_ops = { je_b_alloc, je_b_free, NULL, NULL };
static void je_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&je_ops, t, j); }

/* mimalloc: mi_malloc_aligned(size, alignment) / mi_free. */
static void *(*mi_malloc_aligned_fn)(size_t size, size_t align);
static void (*mi_free_fn)(void *p);
static inline uint64_t mi_b_alloc(struct bthread *t, unsigned order)
{
	(void)t;
	return ptr_handle(mi_malloc_aligned_fn(BLOCK_BYTES(order), BLOCK_BYTES(order)));
}
static inline void mi_b_free(struct bthread *t, uint64_t h, unsigned order)
{
	(void)t, (void)order;
	mi_free_fn(handle_ptr(h));
}
static const struct bench_ops mi_ops = { mi_b_alloc, mi_b_free, NULL, NULL };
static void mi_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&mi_ops, t, j); }

/* tcmalloc (gperftools): tc_memalign(alignment, size) / tc_free. */
static void *(*tc_memalign_fn)(size_t align, size_t size);
static void (*tc_free_fn)(void *p);
static inline uint64_t tc_b_alloc(struct bthread *t, unsigned order)
{
	(void)t;
	return ptr_handle(tc_memalign_fn(BLOCK_BYTES(order), BLOCK_BYTES(order)));
}
static inline void tc_b_free(struct bthread *t, uint64_t h, unsigned order)
{
	(void)t, (void)order;
	tc_free_fn(handle_ptr(h));
}
static const struct bench_ops tc_ops = { tc_b_alloc, tc_b_free, NULL, NULL };
static void tc_run(struct bthread *t, struct bench_job *j) { bench_run_workload(&tc_ops, t, j); }

struct bench_backend bench_backends[B_NR] = {
	[B_ZPA] = { .name = "zpa", .run = zpa_run,
		    .api = "zpa_alloc_pages(m, ZPA_GFP_KERNEL, k) / zpa_free_pages(m, pfn, k)" },
	[B_STACK] = { .name = "array-stack", .run = stack_run,
		      .api = "pop/push on a per-thread array of preallocated PFNs (out-of-line calls)" },
	[B_GLIBC] = { .name = "glibc", .run = glibc_run, .api = "aligned_alloc(4096<<k, 4096<<k) / free" },
	[B_JEMALLOC] = { .name = "jemalloc", .run = je_run, .api = "aligned_alloc(4096<<k, 4096<<k) / free" },
	[B_MIMALLOC] = { .name = "mimalloc", .run = mi_run, .api = "mi_malloc_aligned(4096<<k, 4096<<k) / mi_free" },
	[B_TCMALLOC] = { .name = "tcmalloc", .run = tc_run, .api = "tc_memalign(4096<<k, 4096<<k) / tc_free" },
};

static void *dl_handles[B_NR];

/* Record the file that really holds fn (the resolved path, so the version shows). */
static void where_is(struct bench_backend *b, const void *fn)
{
	Dl_info di;
	char real[PATH_MAX];
	if (!dladdr(fn, &di) || !di.dli_fname) {
		snprintf(b->where, sizeof(b->where), "(dladdr failed)");
		return;
	}
	snprintf(b->where, sizeof(b->where), "%.250s", realpath(di.dli_fname, real) ? real : di.dli_fname);
}

/*
 * dlopen the first library of names[] that loads, and look up alloc_sym and
 * free_sym in it.  On failure mark b unavailable with the reason.
 */
static bool load_library(struct bench_backend *b, enum bench_backend_id id, const char *const *names,
			 const char *alloc_sym, void **alloc_fn, const char *free_sym, void **free_fn)
{
	void *h = NULL;
	char why[200] = "";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* The sanitizers' runtimes own malloc and abort on RTLD_DEEPBIND. */
	b->available = false;
	snprintf(b->where, sizeof(b->where), "not loaded: sanitizer build (RTLD_DEEPBIND is refused)");
	(void)id, (void)names, (void)alloc_sym, (void)alloc_fn, (void)free_sym, (void)free_fn, (void)h, (void)why;
	return false;
#endif
	for (; *names && !h; names++) {
		h = dlopen(*names, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
		if (!h && !why[0])
			snprintf(why, sizeof(why), "%s", dlerror());
	}
	if (!h) {
		b->available = false;
		snprintf(b->where, sizeof(b->where), "not loaded: %s", why);
		return false;
	}
	*alloc_fn = dlsym(h, alloc_sym);
	*free_fn = dlsym(h, free_sym);
	if (!*alloc_fn || !*free_fn) {
		b->available = false;
		snprintf(b->where, sizeof(b->where), "no %s/%s in the library", alloc_sym, free_sym);
		dlclose(h);
		return false;
	}
	dl_handles[id] = h;
	b->available = true;
	where_is(b, *alloc_fn);
	return true;
}

/* One allocation and free of each order, so a broken library is caught before timing. */
static void self_test(struct bench_backend *b, const struct bench_ops *o)
{
	struct bthread t = { 0 };
	for (unsigned k = 0; k < BENCH_MAX_ORDER; k++) {
		uint64_t h = o->alloc(&t, k);
		if (h == BENCH_NONE || (h & (BLOCK_BYTES(k) - 1))) {
			b->available = false;
			snprintf(b->note, sizeof(b->note), "self-test: order-%u allocation %s", k,
				 h == BENCH_NONE ? "failed" : "misaligned");
			return;
		}
		o->free(&t, h, k);
	}
}

static void load_jemalloc(void)
{
	static const char *const names[] = { "libjemalloc.so.2", "libjemalloc.so", NULL };
	struct bench_backend *b = &bench_backends[B_JEMALLOC];
	if (!load_library(b, B_JEMALLOC, names, "aligned_alloc", (void **)&je_aligned_alloc, "free",
			  (void **)&je_free))
		return;
	int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
		(int (*)(const char *, void *, size_t *, void *, size_t))dlsym(dl_handles[B_JEMALLOC], "mallctl");
	const char *v = NULL;
	size_t len = sizeof(v);
	if (mallctl && mallctl("version", &v, &len, NULL, 0) == 0 && v)
		snprintf(b->version, sizeof(b->version), "%.*s", (int)strcspn(v, "-"), v); /* 5.3.0-0-g<hash> */
	self_test(b, &je_ops);
}

static void load_mimalloc(void)
{
	static const char *const names[] = { "libmimalloc.so.2", "libmimalloc.so", NULL };
	struct bench_backend *b = &bench_backends[B_MIMALLOC];
	if (!load_library(b, B_MIMALLOC, names, "mi_malloc_aligned", (void **)&mi_malloc_aligned_fn, "mi_free",
			  (void **)&mi_free_fn))
		return;
	int (*mi_version)(void) = (int (*)(void))dlsym(dl_handles[B_MIMALLOC], "mi_version");
	if (mi_version) {
		int v = mi_version(); /* e.g. 209 = 2.0.9 */
		snprintf(b->version, sizeof(b->version), "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
	}
	self_test(b, &mi_ops);
}

static void load_tcmalloc(void)
{
	static const char *const names[] = { "libtcmalloc_minimal.so.4", "libtcmalloc.so.4", "libtcmalloc_minimal.so",
					      NULL };
	struct bench_backend *b = &bench_backends[B_TCMALLOC];
	if (!load_library(b, B_TCMALLOC, names, "tc_memalign", (void **)&tc_memalign_fn, "tc_free",
			  (void **)&tc_free_fn))
		return;
	const char *(*tc_version)(int *, int *, const char **) =
		(const char *(*)(int *, int *, const char **))dlsym(dl_handles[B_TCMALLOC], "tc_version");
	int major = 0, minor = 0;
	const char *patch = "";
	if (tc_version) {
		tc_version(&major, &minor, &patch);
		snprintf(b->version, sizeof(b->version), "%d.%d%s", major, minor, patch ? patch : "");
	}
	self_test(b, &tc_ops);
}

int bench_backends_init(const struct bench_zpa_setup *zs, char *err, size_t errlen)
{
	if (zpa_setup(zs, err, errlen))
		return -1;

	struct bench_backend *b = &bench_backends[B_STACK];
	b->available = true;
	snprintf(b->where, sizeof(b->where), "bench/stack.c");

	b = &bench_backends[B_GLIBC];
	b->available = true;
	snprintf(b->version, sizeof(b->version), "%s", gnu_get_libc_version());
	where_is(b, (const void *)aligned_alloc);
	self_test(b, &glibc_ops);

	load_jemalloc();
	load_mimalloc();
	load_tcmalloc();

	/* Loading the others must not have replaced the process's malloc (a
	 * sanitizer build has the sanitizer's: numbers are meaningless there). */
	Dl_info di;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	snprintf(bench_backends[B_GLIBC].note, sizeof(bench_backends[B_GLIBC].note),
		 "sanitizer build: malloc is the sanitizer's");
	if (0)
#endif
	if (dladdr((const void *)malloc, &di) && di.dli_fname && !strstr(di.dli_fname, "libc.so")) {
		snprintf(err, errlen, "malloc now comes from %s, not glibc", di.dli_fname);
		return -1;
	}
	return 0;
}

void bench_backends_fini(void)
{
	/* The dlopen()ed libraries stay loaded: their memory may still be in use at exit. */
	if (zm)
		zpa_machine_destroy(zm);
	zm = NULL;
	if (zpa_log_count > 5)
		fprintf(stderr, "zpa-bench: zpa logged %lu messages in all\n", zpa_log_count);
}
