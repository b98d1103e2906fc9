/*
 * zpa/gfp.h - GFP ("get free pages") request flags, composite masks and
 * migratetypes.
 *
 * The bit values are Linux 6.1's (include/linux/gfp_types.h) so that a flag
 * word read from a kernel trace means the same thing here.  Every flag keeps
 * its Linux name with a ZPA_ prefix: __GFP_ZERO is ZPA___GFP_ZERO and
 * GFP_KERNEL is ZPA_GFP_KERNEL.  These values are part of the stable ABI.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_GFP_H
#define ZPA_GFP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t zpa_gfp_t;

/* Zone modifiers: which zones the request may be served from. */
#define ZPA___GFP_DMA               0x01u
#define ZPA___GFP_HIGHMEM           0x02u
#define ZPA___GFP_DMA32             0x04u
#define ZPA___GFP_MOVABLE           0x08u  /* also: page is migratable */
#define ZPA_GFP_ZONEMASK            (ZPA___GFP_DMA | ZPA___GFP_HIGHMEM | \
                                     ZPA___GFP_DMA32 | ZPA___GFP_MOVABLE)
/* Mobility: which pageblock type the page should come from. */
#define ZPA___GFP_RECLAIMABLE       0x10u
/* Watermark and reserve modifiers. */
#define ZPA___GFP_HIGH              0x20u  /* high priority: may use part of min reserve */
#define ZPA___GFP_IO                0x40u  /* may start physical I/O */
#define ZPA___GFP_FS                0x80u  /* may call into the filesystem */
#define ZPA___GFP_ZERO              0x100u /* return zeroed memory */
#define ZPA___GFP_ATOMIC            0x200u /* cannot sleep; may use more reserve */
#define ZPA___GFP_DIRECT_RECLAIM    0x400u /* caller may reclaim (may sleep) */
#define ZPA___GFP_KSWAPD_RECLAIM    0x800u /* may wake kswapd at the low watermark */
#define ZPA___GFP_WRITE             0x1000u
#define ZPA___GFP_NOWARN            0x2000u /* no failure report */
#define ZPA___GFP_RETRY_MAYFAIL     0x4000u
#define ZPA___GFP_NOFAIL            0x8000u
#define ZPA___GFP_NORETRY           0x10000u
#define ZPA___GFP_MEMALLOC          0x20000u /* may use all reserves */
#define ZPA___GFP_COMP              0x40000u /* compound page: head + tails */
#define ZPA___GFP_NOMEMALLOC        0x80000u /* never use emergency reserves */
#define ZPA___GFP_HARDWALL          0x100000u /* enforce the cpuset memory policy */
#define ZPA___GFP_THISNODE          0x200000u /* no node fallback */
#define ZPA___GFP_ACCOUNT           0x400000u /* charge to the memory cgroup */
#define ZPA___GFP_ZEROTAGS          0x800000u
#define ZPA___GFP_SKIP_ZERO         0x1000000u
#define ZPA___GFP_SKIP_KASAN_UNPOISON 0x2000000u
#define ZPA___GFP_SKIP_KASAN_POISON 0x4000000u
#define ZPA___GFP_NOLOCKDEP         0x8000000u
#define ZPA___GFP_BITS_SHIFT        28
#define ZPA___GFP_BITS_MASK         ((zpa_gfp_t)((1u << ZPA___GFP_BITS_SHIFT) - 1))

#define ZPA___GFP_RECLAIM           (ZPA___GFP_DIRECT_RECLAIM | ZPA___GFP_KSWAPD_RECLAIM)

/* Composite masks, exactly as Linux 6.1 defines them. */
#define ZPA_GFP_ATOMIC      (ZPA___GFP_HIGH | ZPA___GFP_ATOMIC | ZPA___GFP_KSWAPD_RECLAIM)
#define ZPA_GFP_KERNEL      (ZPA___GFP_RECLAIM | ZPA___GFP_IO | ZPA___GFP_FS)
#define ZPA_GFP_KERNEL_ACCOUNT (ZPA_GFP_KERNEL | ZPA___GFP_ACCOUNT)
#define ZPA_GFP_NOWAIT      (ZPA___GFP_KSWAPD_RECLAIM)
#define ZPA_GFP_NOIO        (ZPA___GFP_RECLAIM)
#define ZPA_GFP_NOFS        (ZPA___GFP_RECLAIM | ZPA___GFP_IO)
#define ZPA_GFP_USER        (ZPA___GFP_RECLAIM | ZPA___GFP_IO | ZPA___GFP_FS | ZPA___GFP_HARDWALL)
#define ZPA_GFP_DMA         ZPA___GFP_DMA
#define ZPA_GFP_DMA32       ZPA___GFP_DMA32
#define ZPA_GFP_HIGHUSER    (ZPA_GFP_USER | ZPA___GFP_HIGHMEM)
/*
 * Linux adds __GFP_SKIP_KASAN_{UN,}POISON here, but those bits are 0 unless the
 * kernel has hardware-tag KASAN, which x86-64 (and Debian's 6.1) has not; zpa
 * uses the x86-64 value 0x100cca so traced flag words compare equal.
 */
#define ZPA_GFP_HIGHUSER_MOVABLE (ZPA_GFP_HIGHUSER | ZPA___GFP_MOVABLE)
#define ZPA_GFP_TRANSHUGE_LIGHT ((ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP | \
                                  ZPA___GFP_NOMEMALLOC | ZPA___GFP_NOWARN) & ~ZPA___GFP_RECLAIM)
#define ZPA_GFP_TRANSHUGE   (ZPA_GFP_TRANSHUGE_LIGHT | ZPA___GFP_DIRECT_RECLAIM)

/* Migrate types of pageblocks and free lists (Linux 6.1 with CMA and isolation). */
enum zpa_migratetype {
	ZPA_MIGRATE_UNMOVABLE = 0,
	ZPA_MIGRATE_MOVABLE = 1,
	ZPA_MIGRATE_RECLAIMABLE = 2,
	ZPA_MIGRATE_PCPTYPES = 3,               /* the types with per-CPU lists */
	ZPA_MIGRATE_HIGHATOMIC = ZPA_MIGRATE_PCPTYPES,
	ZPA_MIGRATE_CMA = 4,
	ZPA_MIGRATE_ISOLATE = 5,
	ZPA_MIGRATE_TYPES = 6
};

/*
 * zpa_gfp_parse - read a flag word in the text form that kernel traces print
 * ("GFP_KERNEL|__GFP_ZERO", "0x400dc0", "none", or a mix such as
 * "GFP_NOWAIT|0x100000").  Names may carry the ZPA_ prefix.  Returns 0 and
 * stores the word in *out, or ZPA_EINVAL (see zpa.h) naming nothing stored.
 * Thread-safe, no locks.
 */
int zpa_gfp_parse(const char *text, zpa_gfp_t *out);

/*
 * zpa_gfp_format - print a flag word the way Linux 6.1's show_gfp_flags()
 * does: composite names first, in the kernel's table order, then single
 * flags, then any leftover bits in hex; "none" for 0.  Writes at most
 * size bytes (always NUL-terminated when size > 0) and returns the length
 * the full text needs, like snprintf.  Thread-safe, no locks.
 */
size_t zpa_gfp_format(zpa_gfp_t gfp, char *buf, size_t size);

/* Name of a migratetype as /proc/pagetypeinfo prints it ("Unmovable" ...). */
const char *zpa_migratetype_name(int migratetype);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_GFP_H */
