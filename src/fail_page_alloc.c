/*
 * fail_page_alloc.c - fault injection for page allocations: Linux 6.1's
 * fail_page_alloc (mm/page_alloc.c, on top of lib/fault-inject.c's
 * should_fail()) plus zpa's deterministic schedules.  The public side and
 * the exact rules are in include/zpa/fault.h; docs/FAULT.md has examples.
 *
 * Where it acts.  __alloc_pages() asks should_fail_alloc_page() (internal.h)
 * right after prepare_alloc_pages(), as Linux's prepare_alloc_pages() does;
 * a yes makes the request return ZPA_PFN_NONE before any zone is touched.
 * While injection is off that question is one relaxed load of
 * m->fail_page_alloc_on, and nothing here runs.
 *
 * State.  struct fail_page_alloc hangs off the machine, made on first use
 * (under setup_lock) and freed with the machine.  Its lock covers every
 * field; it is taken by configuration calls and, while injection is on, once
 * per request.  Reports go to the log after the lock is dropped, so a log
 * callback may call back into zpa.
 *
 * Invariants:
 *   - fail_page_alloc_on == (probability != 0 || a schedule is armed),
 *     updated under the lock.  Turning it on stores the flag, then bumps
 *     m->fast_gen, so no thread keeps serving order-0 requests from its
 *     cached fast-path decoding; fast_gfp_update() refuses to cache while
 *     the flag is set.
 *   - The random source advances only when a request reaches the
 *     probability test (Linux draws prandom_u32_max(100) only there), so the
 *     sequence of outcomes is a function of the seed and the requests.
 *   - times is decremented only by a failure and only when it is not -1;
 *     space only by requests it lets through; count only by requests that
 *     reach the interval test with interval > 1.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "internal.h"

/* Linux's KERN_NOTICE, the level of fail_dump()'s report. */
#define FAULT_LOG_NOTICE 5

struct fault_schedule_slot {
	bool armed;
	struct zpa_fault_schedule s;
	unsigned long seen, hit;
};

struct fail_page_alloc {
	zpa_spinlock_t lock;
	/* Linux's struct fault_attr (the parts zpa models) */
	unsigned long probability;
	unsigned long interval;
	int times;
	int space;
	unsigned long verbose;
	unsigned long count;          /* requests that reached the interval test */
	/* fail_page_alloc's own */
	bool ignore_gfp_highmem;
	bool ignore_gfp_reclaim;      /* debugfs "ignore-gfp-wait" */
	unsigned min_order;
	/* zpa's: the random source and the schedules */
	uint64_t seed, rnd;
	unsigned nr_armed;
	struct fault_schedule_slot sched[ZPA_FAULT_MAX_SCHEDULES];
};

void zpa_fault_attr_default(struct zpa_fault_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->probability = 0;
	a->interval = 1;
	a->times = 1;
	a->space = 0;
	a->verbose = 2;
	a->ignore_gfp_wait = true;
	a->ignore_gfp_highmem = true;
	a->min_order = 1;
	a->seed = 0;
}

static void attr_apply(struct fail_page_alloc *f, const struct zpa_fault_attr *a)
{
	f->probability = a->probability;
	f->interval = a->interval;
	f->times = a->times;
	f->space = a->space;
	f->verbose = a->verbose;
	f->ignore_gfp_reclaim = a->ignore_gfp_wait;
	f->ignore_gfp_highmem = a->ignore_gfp_highmem;
	f->min_order = a->min_order;
	f->seed = a->seed;
}

static void attr_read(const struct fail_page_alloc *f, struct zpa_fault_attr *a)
{
	zpa_fault_attr_default(a);
	a->probability = f->probability;
	a->interval = f->interval;
	a->times = f->times;
	a->space = f->space;
	a->verbose = f->verbose;
	a->ignore_gfp_wait = f->ignore_gfp_reclaim;
	a->ignore_gfp_highmem = f->ignore_gfp_highmem;
	a->min_order = f->min_order;
	a->seed = f->seed;
}

/* The machine's injection state, made with the defaults when create is set (NULL: none / no memory). */
static struct fail_page_alloc *fault_state(struct zpa_machine *m, bool create)
{
	struct fail_page_alloc *f = atomic_load_explicit(&m->fail_page_alloc, memory_order_acquire);
	if (f || !create)
		return f;
	zpa_spin_lock(&m->setup_lock);
	f = atomic_load_explicit(&m->fail_page_alloc, memory_order_relaxed);
	if (!f) {
		f = zpa_port_zalloc(sizeof(*f));
		if (f) {
			struct zpa_fault_attr a;
			zpa_spin_lock_init(&f->lock);
			zpa_fault_attr_default(&a);
			attr_apply(f, &a);
			f->rnd = f->seed;
			atomic_store_explicit(&m->fail_page_alloc, f, memory_order_release);
		}
	}
	zpa_spin_unlock(&m->setup_lock);
	return f;
}

void fail_page_alloc_destroy(struct zpa_machine *m)
{
	zpa_port_free(atomic_load_explicit(&m->fail_page_alloc, memory_order_relaxed));
	atomic_store_explicit(&m->fail_page_alloc, NULL, memory_order_relaxed);
}

/*
 * Recompute fail_page_alloc_on after a change.  State lock held.  When it
 * turns on, every thread's cached fast-path decoding is invalidated after
 * the flag is visible (see fast_gfp_update()).
 */
static void fault_update_active(struct zpa_machine *m, struct fail_page_alloc *f)
{
	int on = f->probability != 0 || f->nr_armed != 0;
	int was = atomic_exchange_explicit(&m->fail_page_alloc_on, on, memory_order_seq_cst);
	if (on && !was)
		atomic_fetch_add_explicit(&m->fast_gen, 1, memory_order_seq_cst);
}

/* ---- the random source: splitmix64, uniform below a bound without bias ---- */

static uint64_t fault_rand64(struct fail_page_alloc *f)
{
	uint64_t z = (f->rnd += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, ceil), ceil > 0: multiply-shift with rejection of the biased low part. */
static uint32_t fault_rand_below(struct fail_page_alloc *f, uint32_t ceil)
{
	uint32_t reject = (uint32_t)(-ceil) % ceil;
	for (;;) {
		uint64_t mult = (uint64_t)(uint32_t)(fault_rand64(f) >> 32) * ceil;
		if ((uint32_t)mult >= reject)
			return (uint32_t)(mult >> 32);
	}
}

/* ---- the decision ---- */

/* What to report once the lock is dropped. */
struct fault_report {
	int sched_id;                 /* -1: the attributes failed it */
	unsigned long seen;           /* the schedule's count of matching requests */
	unsigned long interval, probability;
	int space, times;
	unsigned long verbose;
};

/*
 * should_fail() of lib/fault-inject.c for the attributes, size in pages.
 * State lock held.  The report is filled on failure.
 */
static bool should_fail_attr(struct fail_page_alloc *f, long size, struct fault_report *rep)
{
	if (f->probability == 0)
		return false;
	if (f->times == 0)
		return false;
	if (f->space > size) {
		f->space -= (int)size;
		return false;
	}
	if (f->interval > 1) {
		f->count++;
		if (f->count % f->interval)
			return false;
	}
	if (f->probability <= fault_rand_below(f, 100))
		return false;
	/* The report shows the values before times drops, as Linux's does. */
	*rep = (struct fault_report){ -1, 0, f->interval, f->probability, f->space, f->times, f->verbose };
	/* Never 0 here (that returned above); atomic_t arithmetic wraps. */
	if (f->times != -1)
		f->times = (int)((unsigned)f->times - 1u);
	return true;
}

static bool schedule_matches(const struct zpa_fault_schedule *s, zpa_gfp_t gfp, unsigned order, int nid)
{
	return order >= s->min_order && order <= s->max_order && (gfp & s->gfp_mask) == s->gfp_value &&
	       (s->nid < 0 || s->nid == nid);
}

/* Count a matching request on slot; does it fire? */
static bool schedule_fires(struct fault_schedule_slot *slot)
{
	unsigned long n = ++slot->seen, nth = slot->s.nth, every = slot->s.every;
	if (n == nth || (every && n > nth && (n - nth) % every == 0)) {
		slot->hit++;
		return true;
	}
	return false;
}

/* The preferred node of a prepared request: the owner of the zonelist it walks. */
static int ac_preferred_nid(const struct zpa_machine *m, const struct alloc_context *ac)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		const pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		for (int k = 0; k < MAX_ZONELISTS; k++)
			if (ac->zonelist == &pgdat->node_zonelists[k])
				return pgdat->node_id;
	}
	return -1;
}

/* fail_dump(): the report of an injected failure, at Linux's notice level. */
static void fail_dump(struct zpa_machine *m, const struct fault_report *rep, zpa_gfp_t gfp, unsigned order,
		      int nid)
{
	if (!rep->verbose)
		return;
	zpa_log(m, FAULT_LOG_NOTICE, "FAULT_INJECTION: forcing a failure.");
	if (rep->sched_id < 0)
		zpa_log(m, FAULT_LOG_NOTICE, "name fail_page_alloc, interval %lu, probability %lu, space %d, times %d",
			rep->interval, rep->probability, rep->space, rep->times);
	else
		zpa_log(m, FAULT_LOG_NOTICE, "name fail_page_alloc, schedule %d, matching request %lu", rep->sched_id,
			rep->seen);
	if (rep->verbose > 1) {
		/* Linux dumps the stack here; the request is what zpa can show. */
		char flags[256];
		zpa_gfp_format(gfp, flags, sizeof flags);
		zpa_log(m, FAULT_LOG_NOTICE, "fail_page_alloc: order:%u, mode:%#x(%s), nid=%d", order, gfp, flags, nid);
	}
}

/*
 * __should_fail_alloc_page(): the schedules first (each matching one counts
 * the request; the request fails if any fires), then fail_page_alloc's own
 * filters and should_fail() as Linux orders them.  No zone lock held.
 */
bool __should_fail_alloc_page(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order, const struct alloc_context *ac)
{
	struct fail_page_alloc *f = fault_state(m, false);
	struct fault_report rep;
	bool fail = false;
	int nid = -1;

	if (!f)
		return false;
	count_vm_event(m, FAULT_CHECKED, 1);
	if (gfp & ZPA___GFP_NOFAIL)
		return false;

	zpa_spin_lock(&f->lock);
	if (f->nr_armed) {
		nid = ac_preferred_nid(m, ac);
		for (int i = 0; i < ZPA_FAULT_MAX_SCHEDULES; i++) {
			struct fault_schedule_slot *slot = &f->sched[i];
			if (!slot->armed || !schedule_matches(&slot->s, gfp, order, nid))
				continue;
			if (schedule_fires(slot) && !fail) {
				fail = true;
				rep = (struct fault_report){ i, slot->seen, 0, 0, 0, 0, f->verbose };
			}
		}
	}
	if (!fail && order >= f->min_order && !(f->ignore_gfp_highmem && (gfp & ZPA___GFP_HIGHMEM)) &&
	    !(f->ignore_gfp_reclaim && (gfp & ZPA___GFP_DIRECT_RECLAIM)))
		fail = should_fail_attr(f, 1l << order, &rep);
	zpa_spin_unlock(&f->lock);

	if (!fail)
		return false;
	count_vm_event(m, FAULT_INJECTED, 1);
	count_vm_event(m, rep.sched_id < 0 ? FAULT_INJECTED_ATTR : FAULT_INJECTED_SCHEDULE, 1);
	/* __GFP_NOWARN callers expect failures: no report (Linux's FAULT_NOWARN). */
	if (!(gfp & ZPA___GFP_NOWARN)) {
		if (nid < 0)
			nid = ac_preferred_nid(m, ac);
		fail_dump(m, &rep, gfp, order, nid);
	}
	return true;
}

/* ---- configuration ---- */

int zpa_fault_configure(struct zpa_machine *m, const struct zpa_fault_attr *a)
{
	if (!m || !a)
		return ZPA_EINVAL;
	struct fail_page_alloc *f = fault_state(m, true);
	if (!f)
		return ZPA_ENOMEM;
	zpa_spin_lock(&f->lock);
	attr_apply(f, a);
	f->count = 0;
	f->rnd = f->seed;
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
	return 0;
}

int zpa_fault_get_attr(struct zpa_machine *m, struct zpa_fault_attr *out)
{
	if (!m || !out)
		return ZPA_EINVAL;
	struct fail_page_alloc *f = fault_state(m, false);
	if (!f) {
		zpa_fault_attr_default(out);
		return 0;
	}
	zpa_spin_lock(&f->lock);
	attr_read(f, out);
	zpa_spin_unlock(&f->lock);
	return 0;
}

/* The attributes by debugfs name, with the type of their file. */
enum fault_attr_type { FA_ULONG, FA_INT, FA_U32, FA_BOOL, FA_U64 };
struct fault_attr_desc {
	const char *name;
	enum fault_attr_type type;
};
static const struct fault_attr_desc fault_attrs[] = {
	{ "probability", FA_ULONG },
	{ "interval", FA_ULONG },
	{ "times", FA_INT },
	{ "space", FA_INT },
	{ "verbose", FA_ULONG },
	{ "ignore-gfp-wait", FA_BOOL },
	{ "ignore-gfp-highmem", FA_BOOL },
	{ "min-order", FA_U32 },
	{ "seed", FA_U64 },
};
#define NR_FAULT_ATTRS (sizeof fault_attrs / sizeof fault_attrs[0])

static const char *const fault_attr_names[NR_FAULT_ATTRS + 1] = {
	"probability", "interval", "times", "space", "verbose",
	"ignore-gfp-wait", "ignore-gfp-highmem", "min-order", "seed", NULL,
};

const char *const *zpa_fault_names(void)
{
	return fault_attr_names;
}

static int find_attr(const char *name)
{
	static const char prefix[] = "fail_page_alloc/";
	if (!strncmp(name, prefix, sizeof prefix - 1))
		name += sizeof prefix - 1;
	for (unsigned i = 0; i < NR_FAULT_ATTRS; i++)
		if (!strcmp(name, fault_attrs[i].name))
			return (int)i;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The value without surrounding white space, into buf; ZPA_EINVAL if empty or too long. */
static int trim_value(const char *value, char *buf, size_t size)
{
	while (is_space(*value))
		value++;
	size_t n = strlen(value);
	while (n && is_space(value[n - 1]))
		n--;
	if (!n || n >= size)
		return ZPA_EINVAL;
	memcpy(buf, value, n);
	buf[n] = '\0';
	return 0;
}

/* kstrtoull(s, 0): decimal, 0x hex or 0 octal; no sign. */
static int parse_unsigned(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s == '-' || *s == '+')
		return ZPA_EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (end == s || *end)
		return ZPA_EINVAL;
	if (errno == ERANGE || v > max)
		return ZPA_ERANGE;
	*out = v;
	return 0;
}

/* kstrtoll(s, 0), limited to int. */
static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (end == s || *end)
		return ZPA_EINVAL;
	if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
		return ZPA_ERANGE;
	*out = (int)v;
	return 0;
}

/* kstrtobool(): Y/y/1/T/t, N/n/0/F/f, on/off. */
static int parse_bool(const char *s, bool *out)
{
	switch (s[0]) {
	case 'y': case 'Y': case '1': case 't': case 'T':
		*out = true;
		return 0;
	case 'n': case 'N': case '0': case 'f': case 'F':
		*out = false;
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*out = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*out = false;
			return 0;
		}
		break;
	}
	return ZPA_EINVAL;
}

int zpa_fault_set(struct zpa_machine *m, const char *name, const char *value)
{
	char buf[64];
	uint64_t u = 0;
	int i = 0, idx, err;
	bool b = false;

	if (!m || !name || !value)
		return ZPA_EINVAL;
	idx = find_attr(name);
	if (idx < 0)
		return ZPA_ENOENT;
	err = trim_value(value, buf, sizeof buf);
	if (err)
		return err;
	switch (fault_attrs[idx].type) {
	case FA_ULONG: err = parse_unsigned(buf, ULONG_MAX, &u); break;
	case FA_U32: err = parse_unsigned(buf, UINT32_MAX, &u); break;
	case FA_U64: err = parse_unsigned(buf, UINT64_MAX, &u); break;
	case FA_INT: err = parse_int(buf, &i); break;
	case FA_BOOL: err = parse_bool(buf, &b); break;
	}
	if (err)
		return err;

	struct fail_page_alloc *f = fault_state(m, true);
	if (!f)
		return ZPA_ENOMEM;
	zpa_spin_lock(&f->lock);
	switch (idx) {
	case 0: f->probability = (unsigned long)u; break;
	case 1: f->interval = (unsigned long)u; break;
	case 2: f->times = i; break;
	case 3: f->space = i; break;
	case 4: f->verbose = (unsigned long)u; break;
	case 5: f->ignore_gfp_reclaim = b; break;
	case 6: f->ignore_gfp_highmem = b; break;
	case 7: f->min_order = (unsigned)u; break;
	case 8: f->seed = u; f->rnd = u; break;
	}
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
	return 0;
}

int zpa_fault_get(struct zpa_machine *m, const char *name, char *buf, size_t size)
{
	struct zpa_fault_attr a;
	struct zpa_buf b = { buf, size, 0 };

	if (!m || !name || (!buf && size))
		return ZPA_EINVAL;
	int idx = find_attr(name);
	if (idx < 0)
		return ZPA_ENOENT;
	if (buf && size)
		buf[0] = '\0';
	zpa_fault_get_attr(m, &a);
	switch (idx) {
	case 0: zpa_bprintf(&b, "%lu\n", a.probability); break;
	case 1: zpa_bprintf(&b, "%lu\n", a.interval); break;
	case 2: zpa_bprintf(&b, "%d\n", a.times); break;
	case 3: zpa_bprintf(&b, "%d\n", a.space); break;
	case 4: zpa_bprintf(&b, "%lu\n", a.verbose); break;
	case 5: zpa_bprintf(&b, "%c\n", a.ignore_gfp_wait ? 'Y' : 'N'); break;
	case 6: zpa_bprintf(&b, "%c\n", a.ignore_gfp_highmem ? 'Y' : 'N'); break;
	case 7: zpa_bprintf(&b, "%u\n", a.min_order); break;
	case 8: zpa_bprintf(&b, "%llu\n", (unsigned long long)a.seed); break;
	}
	return b.len > INT_MAX ? INT_MAX : (int)b.len;
}

int zpa_fault_setup(struct zpa_machine *m, const char *str)
{
	unsigned long long interval, probability;
	long long space, times;
	char *end;
	const char *p = str;

	if (!m || !str)
		return ZPA_EINVAL;
	/* "<interval>,<probability>,<space>,<times>", decimal as sscanf's %lu/%d read them */
	errno = 0;
	interval = strtoull(p, &end, 10);
	if (end == p || *end != ',')
		return ZPA_EINVAL;
	p = end + 1;
	probability = strtoull(p, &end, 10);
	if (end == p || *end != ',')
		return ZPA_EINVAL;
	p = end + 1;
	space = strtoll(p, &end, 10);
	if (end == p || *end != ',')
		return ZPA_EINVAL;
	p = end + 1;
	times = strtoll(p, &end, 10);
	if (end == p || errno == ERANGE || space < INT_MIN || space > INT_MAX || times < INT_MIN || times > INT_MAX)
		return ZPA_EINVAL;

	struct fail_page_alloc *f = fault_state(m, true);
	if (!f)
		return ZPA_ENOMEM;
	zpa_spin_lock(&f->lock);
	f->interval = (unsigned long)interval;
	f->probability = (unsigned long)probability;
	f->space = (int)space;
	f->times = (int)times;
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
	return 0;
}

/* ---- schedules ---- */

void zpa_fault_schedule_init(struct zpa_fault_schedule *s)
{
	memset(s, 0, sizeof(*s));
	s->min_order = 0;
	s->max_order = ZPA_MAX_ORDER_LIMIT - 1;
	s->gfp_mask = 0;
	s->gfp_value = 0;
	s->nid = -1;
	s->nth = 1;
	s->every = 0;
}

/* An unsigned decimal (or 0x hex) taking the whole of [s, e); 0 or ZPA_EPARSE. */
static int parse_ul_span(const char *s, const char *e, unsigned long *out)
{
	char tmp[32];
	uint64_t v;
	if (e <= s || (size_t)(e - s) >= sizeof tmp)
		return ZPA_EPARSE;
	memcpy(tmp, s, (size_t)(e - s));
	tmp[e - s] = '\0';
	if (parse_unsigned(tmp, ULONG_MAX, &v))
		return ZPA_EPARSE;
	*out = (unsigned long)v;
	return 0;
}

int zpa_fault_schedule_parse(const char *text, struct zpa_fault_schedule *out)
{
	struct zpa_fault_schedule s;
	bool have_mask = false, have_value = false;
	const char *p = text;

	if (!text || !out)
		return ZPA_EPARSE;
	zpa_fault_schedule_init(&s);
	for (;;) {
		while (is_space(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (*p && !is_space(*p) && *p != ',')
			p++;
		const char *eq = memchr(tok, '=', (size_t)(p - tok));
		if (!eq)
			return ZPA_EPARSE;
		size_t klen = (size_t)(eq - tok);
		const char *v = eq + 1;
		unsigned long a, b;
		if (klen == 5 && !strncmp(tok, "order", 5)) {
			const char *dash = memchr(v, '-', (size_t)(p - v));
			if (parse_ul_span(v, dash ? dash : p, &a))
				return ZPA_EPARSE;
			b = a;
			if (dash && parse_ul_span(dash + 1, p, &b))
				return ZPA_EPARSE;
			if (a > UINT_MAX || b > UINT_MAX)
				return ZPA_EPARSE;
			s.min_order = (unsigned)a;
			s.max_order = (unsigned)b;
		} else if ((klen == 3 && !strncmp(tok, "gfp", 3)) || (klen == 4 && !strncmp(tok, "mask", 4))) {
			char flags[256];
			zpa_gfp_t g;
			if ((size_t)(p - v) >= sizeof flags || p == v)
				return ZPA_EPARSE;
			memcpy(flags, v, (size_t)(p - v));
			flags[p - v] = '\0';
			uint64_t num;
			if (!parse_unsigned(flags, UINT32_MAX, &num))
				g = (zpa_gfp_t)num; /* a plain number, "0" included */
			else if (zpa_gfp_parse(flags, &g))
				return ZPA_EPARSE;
			if (klen == 3) {
				s.gfp_value = g;
				have_value = true;
			} else {
				s.gfp_mask = g;
				have_mask = true;
			}
		} else if (klen == 4 && !strncmp(tok, "node", 4)) {
			if (p - v == 2 && v[0] == '-' && v[1] == '1')
				s.nid = -1;
			else if (parse_ul_span(v, p, &a) || a >= ZPA_MAX_NODES)
				return ZPA_EPARSE;
			else
				s.nid = (int)a;
		} else if (klen == 3 && !strncmp(tok, "nth", 3)) {
			if (parse_ul_span(v, p, &s.nth))
				return ZPA_EPARSE;
		} else if (klen == 5 && !strncmp(tok, "every", 5)) {
			if (parse_ul_span(v, p, &s.every))
				return ZPA_EPARSE;
		} else {
			return ZPA_EPARSE;
		}
	}
	if (have_value && !have_mask)
		s.gfp_mask = ~(zpa_gfp_t)0;
	*out = s;
	return 0;
}

int zpa_fault_schedule_add(struct zpa_machine *m, const struct zpa_fault_schedule *s)
{
	if (!m || !s || s->min_order > s->max_order || (s->gfp_value & ~s->gfp_mask) || s->nid < -1 ||
	    s->nid >= (int)m->nr_nodes || s->nth == 0)
		return ZPA_EINVAL;
	struct fail_page_alloc *f = fault_state(m, true);
	if (!f)
		return ZPA_ENOMEM;
	int id = ZPA_ENOMEM;
	zpa_spin_lock(&f->lock);
	for (int i = 0; i < ZPA_FAULT_MAX_SCHEDULES; i++) {
		struct fault_schedule_slot *slot = &f->sched[i];
		if (slot->armed)
			continue;
		*slot = (struct fault_schedule_slot){ .armed = true, .s = *s };
		f->nr_armed++;
		id = i;
		break;
	}
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
	return id;
}

int zpa_fault_schedule_remove(struct zpa_machine *m, int id)
{
	struct fail_page_alloc *f = m ? fault_state(m, false) : NULL;
	int err = ZPA_ENOENT;
	if (!f || id < 0 || id >= ZPA_FAULT_MAX_SCHEDULES)
		return ZPA_ENOENT;
	zpa_spin_lock(&f->lock);
	if (f->sched[id].armed) {
		f->sched[id].armed = false;
		f->nr_armed--;
		err = 0;
	}
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
	return err;
}

void zpa_fault_schedule_clear(struct zpa_machine *m)
{
	struct fail_page_alloc *f = m ? fault_state(m, false) : NULL;
	if (!f)
		return;
	zpa_spin_lock(&f->lock);
	for (int i = 0; i < ZPA_FAULT_MAX_SCHEDULES; i++)
		f->sched[i].armed = false;
	f->nr_armed = 0;
	fault_update_active(m, f);
	zpa_spin_unlock(&f->lock);
}

int zpa_fault_schedule_stats(struct zpa_machine *m, int id, struct zpa_fault_schedule_stats *out)
{
	struct fail_page_alloc *f = m ? fault_state(m, false) : NULL;
	int err = ZPA_ENOENT;
	if (!f || !out || id < 0 || id >= ZPA_FAULT_MAX_SCHEDULES)
		return ZPA_ENOENT;
	zpa_spin_lock(&f->lock);
	if (f->sched[id].armed) {
		out->seen = f->sched[id].seen;
		out->hit = f->sched[id].hit;
		err = 0;
	}
	zpa_spin_unlock(&f->lock);
	return err;
}
