/*
 * synth.c - synthetic workloads: a small text file describing kernel-like
 * allocation mixes becomes a trace (struct rp_trace) that the replay engine
 * runs like a recorded one, with the same reports, plots and what-if runs.
 * docs/REPLAY.md documents the file format; in short:
 *
 *   seed 42                  the workload's seed
 *   ops 200000               allocation requests in all (bursts included)
 *   cpus 0-1                 CPUs the process classes run on (default: all)
 *   interrupt-cpus 1         CPUs the bursts come from (default: the last)
 *   class NAME gfp=FLAGS order=A[-B] weight=W life=L [cpus=LIST] [seed=S]
 *   burst NAME gfp=FLAGS order=A[-B] every=N size=K life=L [cpus=LIST] [seed=S]
 *
 * Time is counted in ticks, one per allocation request.  At each tick the
 * blocks whose lifetime ended are freed (on the CPU that allocated them, in
 * the order they expire), then one request is made: a burst's next request
 * while a burst is in progress, else a class chosen by weight.  A class
 * draws its order uniformly from its range, its CPU uniformly from its
 * CPUs, and each block's lifetime from an exponential distribution of mean
 * L ticks.  Every class and burst has its own random stream (seeded from
 * its seed= or from the workload seed and its position), so adding a class
 * does not change what the others do.  The generator is xorshift64*; the
 * result depends only on the file and the machine's CPU count.
 *
 * Synthetic "pfns" are block ids above 2^48, so nothing mistakes them for
 * memory: the engine skips placement agreement for synthetic traces.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

#define SYN_ID_BASE (1ull << 48)

static int syn_err(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int syn_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* xorshift64* (Vigna): small, fast, good enough for workload mixes. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t seed_mix(uint64_t seed, uint64_t k)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ull * (k + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

/* A CPU list "0-3,5" into a bitmap of up to RP_SYN_MAX_CPUS. */
static bool parse_cpus(const char *s, uint64_t *bits)
{
	memset(bits, 0, sizeof(uint64_t) * (RP_SYN_MAX_CPUS / 64));
	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b = a;
		if (e == s || a < 0 || a >= RP_SYN_MAX_CPUS)
			return false;
		s = e;
		if (*s == '-') {
			b = strtol(s + 1, &e, 10);
			if (e == s + 1 || b < a || b >= RP_SYN_MAX_CPUS)
				return false;
			s = e;
		}
		for (long c = a; c <= b; c++)
			bits[c / 64] |= 1ull << (c % 64);
		if (*s == ',')
			s++;
		else if (*s)
			return false;
	}
	return true;
}

static int parse_class(struct rp_workload *w, char *rest, bool burst, const char *path, unsigned line, char *err,
		       size_t errlen)
{
	if (w->nr_classes >= RP_SYN_MAX_CLASSES)
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: too many classes (at most %d)", path, line,
			       RP_SYN_MAX_CLASSES);
	struct rp_syn_class *c = &w->classes[w->nr_classes];
	memset(c, 0, sizeof(*c));
	c->burst = burst;
	char *save = NULL, *tok = strtok_r(rest, " \t", &save);
	if (!tok || strchr(tok, '='))
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: %s needs a name first", path, line,
			       burst ? "burst" : "class");
	snprintf(c->name, sizeof(c->name), "%s", tok);
	bool have_gfp = false, have_order = false;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: '%s' is not KEY=VALUE", path, line, tok);
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		char *e;
		if (strcmp(k, "gfp") == 0) {
			zpa_gfp_t g;
			if (zpa_gfp_parse(v, &g) != 0)
				return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: unknown GFP flags '%s'", path, line, v);
			c->gfp = g;
			have_gfp = true;
		} else if (strcmp(k, "order") == 0) {
			long a = strtol(v, &e, 10), b = a;
			if (*e == '-')
				b = strtol(e + 1, &e, 10);
			if (*e || a < 0 || b < a || b >= ZPA_MAX_ORDER_LIMIT)
				return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: bad order '%s' (A or A-B)", path, line, v);
			c->min_order = (unsigned)a;
			c->max_order = (unsigned)b;
			have_order = true;
		} else if (strcmp(k, "weight") == 0 || strcmp(k, "every") == 0 || strcmp(k, "size") == 0 ||
			   strcmp(k, "life") == 0 || strcmp(k, "seed") == 0) {
			errno = 0;
			unsigned long long n = strtoull(v, &e, 0);
			if (*e || errno || !*v || (n == 0 && strcmp(k, "seed") != 0))
				return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: %s=%s is not a positive number", path, line, k,
					       v);
			if (strcmp(k, "weight") == 0)
				c->weight = n;
			else if (strcmp(k, "every") == 0)
				c->every = n;
			else if (strcmp(k, "size") == 0)
				c->size = n;
			else if (strcmp(k, "life") == 0)
				c->life = (double)n;
			else {
				c->seed = n;
				c->has_seed = true;
			}
		} else if (strcmp(k, "cpus") == 0) {
			if (!parse_cpus(v, c->cpus))
				return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: bad CPU list '%s'", path, line, v);
			c->has_cpus = true;
		} else {
			return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: unknown key '%s'", path, line, k);
		}
	}
	if (!have_gfp || !have_order || !c->life)
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: %s %s needs gfp=, order= and life=", path, line,
			       burst ? "burst" : "class", c->name);
	if (burst && (!c->every || !c->size))
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: burst %s needs every= and size=", path, line, c->name);
	if (!burst && !c->weight)
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: class %s needs weight=", path, line, c->name);
	if (burst && c->weight)
		return syn_err(err, errlen, ZPA_EPARSE, "%s:%u: a burst has no weight= (it has every= and size=)", path,
			       line);
	w->nr_classes++;
	return 0;
}

int rp_workload_read(const char *path, struct rp_workload *w, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	unsigned line = 0;
	int rc = 0;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->seed = 1;
	w->ops = 100000;
	if (!f)
		return syn_err(err, errlen, ZPA_EIO, "%s: cannot open: %s", path, strerror(errno));
	while (!rc && fgets(buf, sizeof(buf), f)) {
		line++;
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *s = buf;
		while (isspace((unsigned char)*s))
			s++;
		size_t n = strlen(s);
		while (n && isspace((unsigned char)s[n - 1]))
			s[--n] = '\0';
		if (!*s)
			continue;
		char *arg = s;
		while (*arg && !isspace((unsigned char)*arg))
			arg++;
		if (*arg)
			*arg++ = '\0';
		while (isspace((unsigned char)*arg))
			arg++;
		char *e;
		if (strcmp(s, "seed") == 0) {
			w->seed = strtoull(arg, &e, 0);
			if (e == arg || *e)
				rc = syn_err(err, errlen, ZPA_EPARSE, "%s:%u: seed needs a number", path, line);
		} else if (strcmp(s, "ops") == 0) {
			w->ops = strtoull(arg, &e, 0);
			if (e == arg || *e || w->ops == 0 || w->ops > 100000000ull)
				rc = syn_err(err, errlen, ZPA_EPARSE, "%s:%u: ops needs a number from 1 to 100000000", path,
					     line);
		} else if (strcmp(s, "cpus") == 0) {
			if (!parse_cpus(arg, w->cpus))
				rc = syn_err(err, errlen, ZPA_EPARSE, "%s:%u: bad CPU list '%s'", path, line, arg);
			w->has_cpus = true;
		} else if (strcmp(s, "interrupt-cpus") == 0) {
			if (!parse_cpus(arg, w->irq_cpus))
				rc = syn_err(err, errlen, ZPA_EPARSE, "%s:%u: bad CPU list '%s'", path, line, arg);
			w->has_irq_cpus = true;
		} else if (strcmp(s, "class") == 0 || strcmp(s, "burst") == 0) {
			rc = parse_class(w, arg, s[0] == 'b', path, line, err, errlen);
		} else {
			rc = syn_err(err, errlen, ZPA_EPARSE, "%s:%u: unknown keyword '%s' (seed, ops, cpus, "
				     "interrupt-cpus, class, burst)", path, line, s);
		}
	}
	fclose(f);
	if (!rc) {
		unsigned procs = 0;
		for (unsigned i = 0; i < w->nr_classes; i++)
			procs += !w->classes[i].burst;
		if (!procs)
			rc = syn_err(err, errlen, ZPA_EPARSE, "%s: no class line: nothing to allocate", path);
	}
	return rc;
}

/* ------------------------------------------------------------ generation */

struct live {
	uint64_t due;      /* tick of its free */
	uint64_t id;
	uint16_t cpu;
	uint8_t order;
};

/* A binary min-heap on due (ties: lower id first, for determinism). */
struct heap {
	struct live *a;
	size_t n, cap;
};

static bool less(const struct live *x, const struct live *y)
{
	return x->due < y->due || (x->due == y->due && x->id < y->id);
}

static int heap_push(struct heap *h, struct live v)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4096;
		struct live *a = realloc(h->a, cap * sizeof(*a));
		if (!a)
			return ZPA_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	size_t i = h->n++;
	h->a[i] = v;
	while (i && less(&h->a[i], &h->a[(i - 1) / 2])) {
		struct live t = h->a[i];
		h->a[i] = h->a[(i - 1) / 2];
		h->a[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return 0;
}

static struct live heap_pop(struct heap *h)
{
	struct live top = h->a[0];
	h->a[0] = h->a[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && less(&h->a[l], &h->a[m]))
			m = l;
		if (r < h->n && less(&h->a[r], &h->a[m]))
			m = r;
		if (m == i)
			break;
		struct live t = h->a[i];
		h->a[i] = h->a[m];
		h->a[m] = t;
		i = m;
	}
	return top;
}

/* The CPUs of a list that the machine has, as an array; falls back to all CPUs. */
static unsigned cpu_array(const uint64_t *bits, bool given, unsigned nr_cpus, uint16_t *out)
{
	unsigned n = 0;
	for (unsigned c = 0; c < nr_cpus && c < RP_SYN_MAX_CPUS; c++)
		if (!given || (bits[c / 64] >> (c % 64) & 1))
			out[n++] = (uint16_t)c;
	if (!n)
		for (unsigned c = 0; c < nr_cpus && c < RP_SYN_MAX_CPUS; c++)
			out[n++] = (uint16_t)c;
	return n;
}

int rp_workload_generate(const struct rp_workload *w, unsigned nr_cpus, struct rp_trace *t, char *err, size_t errlen)
{
	uint64_t rs[RP_SYN_MAX_CLASSES];
	uint16_t cpus[RP_SYN_MAX_CLASSES][RP_SYN_MAX_CPUS];
	unsigned ncpus[RP_SYN_MAX_CLASSES];
	uint64_t master = seed_mix(w->seed, 1000);
	uint64_t total_weight = 0, next_id = SYN_ID_BASE;
	struct heap h = { 0 };
	int rc = 0;
	int burst_class = -1;
	uint64_t burst_left = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", w->path);
	snprintf(t->format, sizeof(t->format), "synthetic workload");
	snprintf(t->compression, sizeof(t->compression), "none");
	t->synthetic = true;
	if (!nr_cpus)
		nr_cpus = 1;
	for (unsigned i = 0; i < w->nr_classes; i++) {
		const struct rp_syn_class *c = &w->classes[i];
		rs[i] = c->has_seed ? seed_mix(c->seed, 0) : seed_mix(w->seed, i);
		if (c->has_cpus)
			ncpus[i] = cpu_array(c->cpus, true, nr_cpus, cpus[i]);
		else if (c->burst && w->has_irq_cpus)
			ncpus[i] = cpu_array(w->irq_cpus, true, nr_cpus, cpus[i]);
		else if (c->burst) {
			/* the default "interrupt" CPU: the last one */
			cpus[i][0] = (uint16_t)((nr_cpus < RP_SYN_MAX_CPUS ? nr_cpus : RP_SYN_MAX_CPUS) - 1);
			ncpus[i] = 1;
		} else
			ncpus[i] = cpu_array(w->cpus, w->has_cpus, nr_cpus, cpus[i]);
		if (!c->burst)
			total_weight += c->weight;
	}
	int m = rp_trace_add_mark(t, "ZPA_WORKLOAD start", 18);
	if (m < 0)
		return ZPA_ENOMEM;
	struct rp_event e = { .pfn = RP_NO_PFN, .type = RP_EV_MARK, .gfp = (uint32_t)m, .mt = -1 };
	if (rp_trace_push(t, &e))
		return ZPA_ENOMEM;

	for (uint64_t tick = 1; tick <= w->ops && !rc; tick++) {
		double ts = (double)tick * 1e-6;
		/* frees that are due */
		while (h.n && h.a[0].due <= tick) {
			struct live v = heap_pop(&h);
			struct rp_event f = { .pfn = v.id, .ts = ts, .type = RP_EV_FREE, .order = v.order, .cpu = v.cpu,
					      .mt = -1 };
			f.line = (uint32_t)(t->n + 1);
			if (rp_trace_push(t, &f))
				rc = ZPA_ENOMEM;
		}
		/* a burst starts on its period */
		if (!burst_left)
			for (unsigned i = 0; i < w->nr_classes; i++)
				if (w->classes[i].burst && tick % w->classes[i].every == 0) {
					burst_class = (int)i;
					burst_left = w->classes[i].size;
					break;
				}
		unsigned ci;
		if (burst_left) {
			ci = (unsigned)burst_class;
			burst_left--;
		} else {
			uint64_t pick = rng_next(&master) % total_weight;
			for (ci = 0; ci < w->nr_classes; ci++) {
				if (w->classes[ci].burst)
					continue;
				if (pick < w->classes[ci].weight)
					break;
				pick -= w->classes[ci].weight;
			}
		}
		const struct rp_syn_class *c = &w->classes[ci];
		unsigned span = c->max_order - c->min_order + 1;
		unsigned order = c->min_order + (unsigned)(rng_next(&rs[ci]) % span);
		uint16_t cpu = cpus[ci][rng_next(&rs[ci]) % ncpus[ci]];
		double u = rng_unit(&rs[ci]);
		uint64_t life = 1 + (uint64_t)(-log(1.0 - u) * c->life);
		struct rp_event a = { .pfn = next_id, .ts = ts, .type = RP_EV_ALLOC, .order = (uint8_t)order, .cpu = cpu,
				      .gfp = c->gfp, .mt = (int8_t)((c->gfp & (ZPA___GFP_RECLAIMABLE | ZPA___GFP_MOVABLE)) >> 3) };
		a.line = (uint32_t)(t->n + 1);
		struct live v = { .due = tick + life, .id = next_id, .cpu = cpu, .order = (uint8_t)order };
		next_id += 1ull << ZPA_MAX_ORDER_LIMIT;   /* ids never overlap, whatever the order */
		if (rp_trace_push(t, &a) || heap_push(&h, v))
			rc = ZPA_ENOMEM;
	}
	free(h.a);
	if (rc) {
		rp_trace_free(t);
		return syn_err(err, errlen, rc, "out of memory generating %s", w->path);
	}
	t->lines = t->n;
	return 0;
}

/* ------------------------------------------------------------ text out */

int rp_trace_write_text(FILE *f, const struct rp_trace *t)
{
	fprintf(f, "# tracer: nop\n#\n# %s: %zu events\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
		   "#              | |         |   |||||     |         |\n",
		t->path, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct rp_event *e = &t->ev[i];
		char gfp[256];
		fprintf(f, "        workload-1       [%03u] ..... %12.6f: ", e->cpu, e->ts);
		switch (e->type) {
		case RP_EV_ALLOC:
			zpa_gfp_format(e->gfp, gfp, sizeof(gfp));
			if (e->pfn == RP_NO_PFN)
				fprintf(f, "mm_page_alloc: page=0000000000000000 pfn=0x0 order=%u migratetype=%d gfp_flags=%s\n",
					e->order, e->mt, gfp);
			else
				fprintf(f, "mm_page_alloc: page=%016llx pfn=0x%llx order=%u migratetype=%d gfp_flags=%s\n",
					(unsigned long long)e->pfn, (unsigned long long)e->pfn, e->order, e->mt, gfp);
			break;
		case RP_EV_FREE:
			fprintf(f, "mm_page_free: page=%016llx pfn=0x%llx order=%u\n", (unsigned long long)e->pfn,
				(unsigned long long)e->pfn, e->order);
			break;
		case RP_EV_FREE_BATCHED:
			fprintf(f, "mm_page_free_batched: page=%016llx pfn=0x%llx order=0\n", (unsigned long long)e->pfn,
				(unsigned long long)e->pfn);
			break;
		case RP_EV_MARK:
			fprintf(f, "tracing_mark_write: %s\n", e->gfp < t->nr_marks ? t->marks[e->gfp] : "");
			break;
		case RP_EV_EXTFRAG:
			fprintf(f, "mm_page_alloc_extfrag: page=%016llx pfn=0x%llx alloc_order=%u fallback_order=%u "
				   "pageblock_order=9 alloc_migratetype=%d fallback_migratetype=%d fragmenting=%d "
				   "change_ownership=%d\n",
				(unsigned long long)e->pfn, (unsigned long long)e->pfn, e->order, e->aux, e->mt, e->aux2 & 0xf,
				!!(e->aux2 & 0x10), !!(e->aux2 & 0x20));
			break;
		case RP_EV_PCPU_DRAIN:
			fprintf(f, "mm_page_pcpu_drain: page=%016llx pfn=0x%llx order=%u migratetype=%d\n",
				(unsigned long long)e->pfn, (unsigned long long)e->pfn, e->order, e->mt);
			break;
		case RP_EV_ZONE_LOCKED:
			fprintf(f, "mm_page_alloc_zone_locked: page=%016llx pfn=0x%llx order=%u migratetype=%d "
				   "percpu_refill=%d\n",
				(unsigned long long)e->pfn, (unsigned long long)e->pfn, e->order, e->mt, e->aux);
			break;
		}
	}
	return ferror(f) ? -1 : 0;
}
