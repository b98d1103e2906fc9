/*
 * gfp.c - decoding of GFP request flags (Linux 6.1's include/linux/gfp.h,
 * gfp_to_alloc_flags() in mm/page_alloc.c and show_gfp_flags() of the
 * kmem tracepoints).
 *
 * What it answers for a flag word:
 *   - gfp_zone_type(): which zone type the four zone modifier bits select.
 *     Linux packs the answer for all 16 combinations into GFP_ZONE_TABLE and
 *     marks the 8 contradictory ones in GFP_ZONE_BAD; here the same facts are
 *     a 16-entry array indexed by (gfp & GFP_ZONEMASK), with -1 for the bad
 *     ones.  At most one of DMA, DMA32 and HIGHMEM may be set; MOVABLE alone
 *     means NORMAL (the bit then only says "migratable"), MOVABLE with
 *     HIGHMEM selects ZONE_MOVABLE, MOVABLE with DMA or DMA32 keeps that zone.
 *     Answers are zone *types* as if every zone were configured; the machine
 *     maps them to its own zone indexes (m->gfp_zone_idx, see gfp_zone()).
 *   - gfp_to_alloc_flags(): the slow path's ALLOC_* word (watermark, reserve
 *     access, cpuset, CMA).
 *   - current_gfp_context(): the task's NOIO/NOFS scopes applied.
 *   - gfp_check(): whether Linux would take the request silently, warn, or
 *     refuse it.
 *   - zpa_gfp_format()/zpa_gfp_parse(): the trace text form and back.
 *
 * Trace text form (show_gfp_flags() over trace_print_flags_seq()): walk one
 * name table in order; an entry is printed when all of its bits are still in
 * the remaining value, and its bits are then removed; the walk stops as soon
 * as nothing remains.  Names are joined by '|'; bits no entry claimed are
 * printed last as one lowercase "0x%x" number; the value 0 prints "none".
 * Because composite masks come first, the greedy walk prints the widest
 * composite that fits, and formatting is a function of the value alone, so
 * parse(format(x)) == x for every 32-bit x.
 *
 * Invariants: every table entry has a nonzero mask; the tables are const, so
 * everything here is reentrant and lock-free.  Nothing in this file prints.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

/* Declared here until internal.h carries it (see the gfp.c section there). */
ZPA_HIDDEN int gfp_check(zpa_gfp_t gfp, unsigned order, unsigned max_order, const char **why);

/* ------------------------------------------------------------------------ */
/* Zone selection                                                            */

/*
 * Zone type per combination of the zone modifiers, index = gfp & ZONEMASK
 * (bit 0 DMA, bit 1 HIGHMEM, bit 2 DMA32, bit 3 MOVABLE).  -1 marks the
 * combinations Linux's GFP_ZONE_BAD forbids: two or more of DMA/HIGHMEM/DMA32.
 */
static const signed char zone_of_modifiers[16] = {
	[0x0] = ZPA_ZONE_NORMAL,
	[0x1] = ZPA_ZONE_DMA,
	[0x2] = ZPA_ZONE_HIGHMEM,
	[0x3] = -1,                 /* DMA + HIGHMEM */
	[0x4] = ZPA_ZONE_DMA32,
	[0x5] = -1,                 /* DMA + DMA32 */
	[0x6] = -1,                 /* HIGHMEM + DMA32 */
	[0x7] = -1,                 /* all three */
	[0x8] = ZPA_ZONE_NORMAL,    /* MOVABLE alone: a mobility hint only */
	[0x9] = ZPA_ZONE_DMA,
	[0xa] = ZPA_ZONE_MOVABLE,   /* the only way to reach ZONE_MOVABLE */
	[0xb] = -1,
	[0xc] = ZPA_ZONE_DMA32,
	[0xd] = -1,
	[0xe] = -1,
	[0xf] = -1,
};

/*
 * gfp_zone_type - zone type selected by the zone modifiers of @gfp, or -1 if
 * the combination is one Linux rejects.  Other bits are ignored.
 */
int gfp_zone_type(zpa_gfp_t gfp)
{
	return zone_of_modifiers[gfp & ZPA_GFP_ZONEMASK];
}

/* ------------------------------------------------------------------------ */
/* alloc_flags and scopes                                                    */

/*
 * gfp_to_alloc_flags - the ALLOC_* word the slow path starts from for a
 * request of @gfp (already passed through current_gfp_context()) and @order,
 * as Linux 6.1.192 computes it:
 *   - min watermark, cpuset enforced;
 *   - __GFP_HIGH and __GFP_KSWAPD_RECLAIM carry over bit for bit into
 *     ALLOC_MIN_RESERVE and ALLOC_KSWAPD (the values are equal by design);
 *   - a caller that cannot reclaim directly gets ALLOC_NON_BLOCK unless it
 *     said __GFP_NOMEMALLOC, plus ALLOC_HIGHATOMIC when it is also __GFP_HIGH
 *     and wants more than one page; a non-blocking __GFP_HIGH caller (in
 *     practice GFP_ATOMIC) ignores the cpuset rather than fail;
 *   - Linux also grants ALLOC_MIN_RESERVE to blocking real-time tasks; zpa
 *     has no scheduling classes, so that case never arises here;
 *   - ALLOC_CMA when the mobility bits say MIGRATE_MOVABLE
 *     (gfp_to_alloc_flags_cma()).  This reads the bits directly: a machine
 *     with page_group_by_mobility_disabled, where Linux's gfp_migratetype()
 *     answers UNMOVABLE, must drop ALLOC_CMA itself.
 * Pure function.
 */
unsigned gfp_to_alloc_flags(zpa_gfp_t gfp, unsigned order)
{
	unsigned flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;

	_Static_assert(ZPA___GFP_HIGH == ALLOC_MIN_RESERVE, "__GFP_HIGH must equal ALLOC_MIN_RESERVE");
	_Static_assert(ZPA___GFP_KSWAPD_RECLAIM == ALLOC_KSWAPD,
		       "__GFP_KSWAPD_RECLAIM must equal ALLOC_KSWAPD");
	flags |= gfp & (ZPA___GFP_HIGH | ZPA___GFP_KSWAPD_RECLAIM);

	if (!(gfp & ZPA___GFP_DIRECT_RECLAIM)) {
		if (!(gfp & ZPA___GFP_NOMEMALLOC)) {
			flags |= ALLOC_NON_BLOCK;
			if (order > 0 && (flags & ALLOC_MIN_RESERVE))
				flags |= ALLOC_HIGHATOMIC;
		}
		if (flags & ALLOC_MIN_RESERVE)
			flags &= ~(unsigned)ALLOC_CPUSET;
	}
	/* (Linux: else if the task is real-time, ALLOC_MIN_RESERVE; none here.) */

	if ((gfp & (ZPA___GFP_MOVABLE | ZPA___GFP_RECLAIMABLE)) == ZPA___GFP_MOVABLE)
		flags |= ALLOC_CMA;
	return flags;
}

/*
 * current_gfp_context - @gfp restricted by the allocation scopes of @task:
 * a NOIO scope removes __GFP_IO and __GFP_FS, a NOFS scope removes __GFP_FS
 * (NOIO wins when both are set; it implies NOFS).  @task NULL means no scope.
 */
zpa_gfp_t current_gfp_context(const struct zpa_task *task, zpa_gfp_t gfp)
{
	if (!task)
		return gfp;
	if (task->flags & ZPA_PF_MEMALLOC_NOIO)
		gfp &= ~(ZPA___GFP_IO | ZPA___GFP_FS);
	else if (task->flags & ZPA_PF_MEMALLOC_NOFS)
		gfp &= ~ZPA___GFP_FS;
	return gfp;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

/*
 * gfp_check - how Linux 6.1.192 treats a request of @gfp at @order on a
 * machine whose orders run 0..@max_order-1 (Linux's MAX_ORDER, 11).
 *
 * Returns -1 when the request must fail:
 *   - bits outside ZPA___GFP_BITS_MASK (no such flag);
 *   - order >= max_order (__alloc_pages(): WARN_ON_ONCE_GFP, returns NULL;
 *     the warning is silent under __GFP_NOWARN, the failure is not);
 *   - a zone modifier combination in GFP_ZONE_BAD (gfp_zone(): VM_BUG_ON).
 * Returns 1 when Linux would print a warning but still serve the request:
 *   - __GFP_ATOMIC together with __GFP_DIRECT_RECLAIM
 *     (__alloc_pages_slowpath(): WARN_ON_ONCE, then drops __GFP_ATOMIC);
 *   - __GFP_NOFAIL without __GFP_DIRECT_RECLAIM, unless __GFP_NOWARN
 *     (__alloc_pages_slowpath(): WARN_ON_ONCE_GFP when it would give up; the
 *     request can then fail despite __GFP_NOFAIL);
 *   - __GFP_NOFAIL with order > 1 (rmqueue(): WARN_ON_ONCE, which
 *     __GFP_NOWARN does not silence); above PAGE_ALLOC_COSTLY_ORDER the slow
 *     path warns once more (WARN_ON_ONCE_GFP) and that case is named first;
 *   - __GFP_MOVABLE and __GFP_RECLAIMABLE both set (gfp_migratetype():
 *     VM_WARN_ON, a CONFIG_DEBUG_VM check that Debian's kernel compiles out;
 *     the request then uses MIGRATE_HIGHATOMIC's free lists).
 * Returns 0 otherwise.  The slow-path warnings fire in Linux only when the
 * request reaches __alloc_pages_slowpath(); callers decide when to report.
 * Linux's other allocator warnings depend on the task or on memory state
 * (__GFP_NOFAIL under PF_MEMALLOC, __GFP_NOFAIL at OOM), not on these
 * arguments, and are not checked here.
 *
 * If @why is not NULL, *why receives a short static reason for a nonzero
 * answer, or NULL for 0.  Pure function.
 */
int gfp_check(zpa_gfp_t gfp, unsigned order, unsigned max_order, const char **why)
{
	const char *reason = NULL;
	int ret = 0;

	if (gfp & ~ZPA___GFP_BITS_MASK) {
		reason = "bits outside __GFP_BITS_MASK";
		ret = -1;
	} else if (order >= max_order) {
		reason = "order >= MAX_ORDER";
		ret = -1;
	} else if (gfp_zone_type(gfp) < 0) {
		reason = "conflicting zone modifiers (GFP_ZONE_BAD)";
		ret = -1;
	} else if ((gfp & (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM)) ==
		   (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM)) {
		reason = "__GFP_ATOMIC with __GFP_DIRECT_RECLAIM";
		ret = 1;
	} else if ((gfp & ZPA___GFP_NOFAIL) && !(gfp & ZPA___GFP_DIRECT_RECLAIM) &&
		   !(gfp & ZPA___GFP_NOWARN)) {
		reason = "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM";
		ret = 1;
	} else if ((gfp & ZPA___GFP_NOFAIL) && order > PAGE_ALLOC_COSTLY_ORDER) {
		reason = "__GFP_NOFAIL with order > PAGE_ALLOC_COSTLY_ORDER";
		ret = 1;
	} else if ((gfp & ZPA___GFP_NOFAIL) && order > 1) {
		reason = "__GFP_NOFAIL with order > 1";
		ret = 1;
	} else if ((gfp & (ZPA___GFP_MOVABLE | ZPA___GFP_RECLAIMABLE)) ==
		   (ZPA___GFP_MOVABLE | ZPA___GFP_RECLAIMABLE)) {
		reason = "both __GFP_MOVABLE and __GFP_RECLAIMABLE";
		ret = 1;
	}
	if (why)
		*why = reason;
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Trace text form                                                           */

struct gfp_name {
	zpa_gfp_t mask;
	const char *name;
};

/*
 * Linux 6.1's __def_gfpflag_names, in its order (composites, widest first,
 * then single flags), followed by the hardware-tag KASAN names Linux appends
 * only when it has those bits and by __GFP_NOLOCKDEP, which 6.1 never names
 * (its bits are 0 in Debian's kernel, so its traces never show them).
 */
static const struct gfp_name gfp_names[] = {
	{ ZPA_GFP_TRANSHUGE, "GFP_TRANSHUGE" },
	{ ZPA_GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT" },
	{ ZPA_GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE" },
	{ ZPA_GFP_HIGHUSER, "GFP_HIGHUSER" },
	{ ZPA_GFP_USER, "GFP_USER" },
	{ ZPA_GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT" },
	{ ZPA_GFP_KERNEL, "GFP_KERNEL" },
	{ ZPA_GFP_NOFS, "GFP_NOFS" },
	{ ZPA_GFP_ATOMIC, "GFP_ATOMIC" },
	{ ZPA_GFP_NOIO, "GFP_NOIO" },
	{ ZPA_GFP_NOWAIT, "GFP_NOWAIT" },
	{ ZPA_GFP_DMA, "GFP_DMA" },
	{ ZPA___GFP_HIGHMEM, "__GFP_HIGHMEM" },
	{ ZPA_GFP_DMA32, "GFP_DMA32" },
	{ ZPA___GFP_HIGH, "__GFP_HIGH" },
	{ ZPA___GFP_ATOMIC, "__GFP_ATOMIC" },
	{ ZPA___GFP_IO, "__GFP_IO" },
	{ ZPA___GFP_FS, "__GFP_FS" },
	{ ZPA___GFP_NOWARN, "__GFP_NOWARN" },
	{ ZPA___GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL" },
	{ ZPA___GFP_NOFAIL, "__GFP_NOFAIL" },
	{ ZPA___GFP_NORETRY, "__GFP_NORETRY" },
	{ ZPA___GFP_COMP, "__GFP_COMP" },
	{ ZPA___GFP_ZERO, "__GFP_ZERO" },
	{ ZPA___GFP_NOMEMALLOC, "__GFP_NOMEMALLOC" },
	{ ZPA___GFP_MEMALLOC, "__GFP_MEMALLOC" },
	{ ZPA___GFP_HARDWALL, "__GFP_HARDWALL" },
	{ ZPA___GFP_THISNODE, "__GFP_THISNODE" },
	{ ZPA___GFP_RECLAIMABLE, "__GFP_RECLAIMABLE" },
	{ ZPA___GFP_MOVABLE, "__GFP_MOVABLE" },
	{ ZPA___GFP_ACCOUNT, "__GFP_ACCOUNT" },
	{ ZPA___GFP_WRITE, "__GFP_WRITE" },
	{ ZPA___GFP_RECLAIM, "__GFP_RECLAIM" },
	{ ZPA___GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM" },
	{ ZPA___GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM" },
	{ ZPA___GFP_ZEROTAGS, "__GFP_ZEROTAGS" },
	/* Not in Debian 6.1's table (no hardware-tag KASAN, no lockdep). */
	{ ZPA___GFP_SKIP_ZERO, "__GFP_SKIP_ZERO" },
	{ ZPA___GFP_SKIP_KASAN_POISON, "__GFP_SKIP_KASAN_POISON" },
	{ ZPA___GFP_SKIP_KASAN_UNPOISON, "__GFP_SKIP_KASAN_UNPOISON" },
	{ ZPA___GFP_NOLOCKDEP, "__GFP_NOLOCKDEP" },
};
#define NR_GFP_NAMES (sizeof(gfp_names) / sizeof(gfp_names[0]))

/* Bounded output like snprintf: len counts what the full text needs. */
struct out {
	char *buf;
	size_t size, len;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->size)
			o->buf[o->len] = s[i];
}

static void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* "0x" and the value in lowercase hex without leading zeros (Linux's %lx). */
static void out_hex(struct out *o, zpa_gfp_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[2 + 2 * sizeof(v)];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	tmp[--n] = 'x';
	tmp[--n] = '0';
	out_put(o, tmp + n, sizeof(tmp) - n);
}

/*
 * zpa_gfp_format - see zpa/gfp.h.  Output is byte for byte what Linux 6.1's
 * show_gfp_flags() prints for the same value (for values whose bits exist in
 * Debian's kernel; see gfp_names for the extra names).
 */
size_t zpa_gfp_format(zpa_gfp_t gfp, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	bool first = true;

	if (gfp == 0) {
		out_puts(&o, "none");
	} else {
		for (size_t i = 0; i < NR_GFP_NAMES && gfp; i++) {
			zpa_gfp_t mask = gfp_names[i].mask;

			if ((gfp & mask) != mask)
				continue;
			gfp &= ~mask;
			if (!first)
				out_put(&o, "|", 1);
			first = false;
			out_puts(&o, gfp_names[i].name);
		}
		if (gfp) {
			if (!first)
				out_put(&o, "|", 1);
			out_hex(&o, gfp);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Value of one '|'-separated part [s, s+n) (blanks already trimmed), or -1. */
static int parse_part(const char *s, size_t n, zpa_gfp_t *val)
{
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		uint64_t v = 0;

		for (size_t i = 2; i < n; i++) {
			int d = hex_digit(s[i]);

			if (d < 0)
				return -1;
			v = v * 16 + (unsigned)d;
			if (v > UINT32_MAX)
				return -1;
		}
		*val = (zpa_gfp_t)v;
		return 0;
	}
	if (n > 4 && memcmp(s, "ZPA_", 4) == 0) {
		s += 4;
		n -= 4;
	}
	for (size_t i = 0; i < NR_GFP_NAMES; i++) {
		const char *name = gfp_names[i].name;

		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*val = gfp_names[i].mask;
			return 0;
		}
	}
	return -1;
}

/*
 * zpa_gfp_parse - see zpa/gfp.h.  Accepts "none" (alone), every name
 * zpa_gfp_format() prints, each optionally prefixed with "ZPA_", and "0x"
 * hex numbers up to 32 bits, joined by '|' with optional blanks around each
 * part.  Names are case-sensitive.  An empty text or part, an unknown name or
 * a malformed number gives ZPA_EINVAL and leaves *out untouched.
 */
int zpa_gfp_parse(const char *text, zpa_gfp_t *out)
{
	zpa_gfp_t gfp = 0;
	const char *p;

	if (!text || !out)
		return ZPA_EINVAL;

	p = text;
	while (is_blank(*p))
		p++;
	if (strncmp(p, "none", 4) == 0) {
		const char *q = p + 4;

		while (is_blank(*q))
			q++;
		if (*q == '\0') {
			*out = 0;
			return 0;
		}
	}

	for (;;) {
		const char *start = p, *end;
		zpa_gfp_t v;

		while (*p && *p != '|')
			p++;
		end = p;
		while (start < end && is_blank(*start))
			start++;
		while (end > start && is_blank(end[-1]))
			end--;
		if (start == end || parse_part(start, (size_t)(end - start), &v) < 0)
			return ZPA_EINVAL;
		gfp |= v;
		if (*p == '\0')
			break;
		p++;  /* skip '|' */
	}
	*out = gfp;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Migratetype names                                                         */

static const char *const migratetype_names[ZPA_MIGRATE_TYPES] = {
	[ZPA_MIGRATE_UNMOVABLE] = "Unmovable",
	[ZPA_MIGRATE_MOVABLE] = "Movable",
	[ZPA_MIGRATE_RECLAIMABLE] = "Reclaimable",
	[ZPA_MIGRATE_HIGHATOMIC] = "HighAtomic",
	[ZPA_MIGRATE_CMA] = "CMA",
	[ZPA_MIGRATE_ISOLATE] = "Isolate",
};

/*
 * zpa_migratetype_name - the name /proc/pagetypeinfo prints for @mt
 * (Linux's migratetype_names[]), or NULL when @mt is not a migratetype
 * (outside 0..ZPA_MIGRATE_TYPES-1).
 */
const char *zpa_migratetype_name(int mt)
{
	if (mt < 0 || mt >= ZPA_MIGRATE_TYPES)
		return NULL;
	return migratetype_names[mt];
}
