/*
 * rp_int.h - declarations shared between the files of zpa_replay, grouped by
 * the file that defines them.  Not installed; the CLI uses replay.h only.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_RP_INT_H
#define ZPA_RP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "replay.h"
#include "zpa/sim.h"

/* ---- input.c: files, decompression, lines ---- */

enum rp_input_kind { RP_IN_PLAIN, RP_IN_ZSTD, RP_IN_XZ, RP_IN_GZIP };

struct rp_input {
	char path[1024];
	FILE *f;
	int kind;                 /* enum rp_input_kind */
	uint64_t file_size, file_read;
	bool file_eof;            /* fread saw the end of the file */
	bool out_eof;             /* no more decompressed data */
	unsigned char *inbuf;     /* compressed bytes [in_pos, in_len) unread */
	size_t in_pos, in_len;
	char *buf;                /* text; [start, end) unread; cap + 1 bytes allocated */
	size_t cap, start, end;
	uint64_t lineno;          /* lines handed out */
	uint64_t total_out;       /* bytes of text produced */
	bool last_unterminated;   /* the last line had no '\n' */
	ZSTD_DStream *zs;
	size_t zret;              /* last ZSTD_decompressStream() hint: 0 = frame complete */
	lzma_stream xz;
	bool xz_init, xz_end;
	z_stream gz;
	bool gz_init, gz_done;
};

/* Open path and sniff its compression.  0 or ZPA_EIO/ZPA_ENOMEM (message in err). */
int rp_input_open(struct rp_input *in, const char *path, char *err, size_t errlen);
void rp_input_close(struct rp_input *in);
/* "none", "zstd", "xz", "gzip". */
const char *rp_input_kind_name(const struct rp_input *in);
/*
 * The next line, NUL-terminated in place without its "\n" (or "\r\n"):
 * returns 1, 0 at the end, or a negative ZPA_E* (ZPA_ECORRUPT for corrupt
 * or truncated compressed data) with the message in err.
 */
int rp_input_line(struct rp_input *in, char **line, size_t *len, char *err, size_t errlen);
/* Make at least `want` unread bytes visible (fewer at the end) without consuming them. */
int rp_input_peek(struct rp_input *in, size_t want, const unsigned char **data, size_t *n, char *err,
		  size_t errlen);
/* Read raw decompressed bytes (for copying a compressed trace.dat to a file). */
int rp_input_read(struct rp_input *in, void *dst, size_t want, size_t *got, char *err, size_t errlen);
/* Internal to input.c's users: pull more data into the buffer; 1, 0 at end, or error. */
int rp_input_fill_more(struct rp_input *in, char *err, size_t errlen);

/* ---- trace.c: the event container ---- */

/* Append an event (grows the array geometrically).  0 or ZPA_ENOMEM. */
int rp_trace_push(struct rp_trace *t, const struct rp_event *e);
/* Keep a mark text; returns its index or ZPA_ENOMEM. */
int rp_trace_add_mark(struct rp_trace *t, const char *text, size_t len);
/* Count a malformed line, keeping the first RP_BAD_KEPT reasons. */
void rp_trace_bad(struct rp_trace *t, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A small cache from GFP flag text to its value (zpa_gfp_parse() is
 * string work; a trace has a few dozen distinct flag strings).
 */
#define RP_GFP_CACHE 256
struct rp_gfp_cache {
	struct { uint64_t hash; uint32_t len; uint32_t gfp; char text[120]; bool used; } e[RP_GFP_CACHE];
};
/* Parse text[0..len) as GFP flags; 0 and *gfp, or ZPA_EINVAL. */
int rp_gfp_lookup(struct rp_gfp_cache *c, const char *text, size_t len, uint32_t *gfp);

/* ---- trace_text.c: ftrace and perf script text ---- */

struct rp_text_parser {
	struct rp_gfp_cache gfp;
	uint64_t trace_lines;     /* lines that had the shape of a trace line */
	bool perf;                /* seen perf script's "sys:event:" names */
};
/*
 * Parse one line.  Returns 1 (an event appended or a known-but-unused event
 * counted), 0 (comment or blank), or -1 (malformed: counted with a reason in
 * t).  ZPA_ENOMEM if the event could not be stored.
 */
int rp_text_parse_line(struct rp_text_parser *p, struct rp_trace *t, char *line, size_t len, uint64_t lineno);

/* ---- trace_dat.c: trace-cmd trace.dat ---- */

/* Read a trace.dat file (uncompressed path).  0 or ZPA_E* with err. */
int rp_trace_dat_load(const char *path, const struct rp_load_opts *o, struct rp_trace *t, char *err, size_t errlen);

/* ---- pfnmap.c: trace pfn -> zpa pfn ---- */

/*
 * Open addressing with linear probing; keys are trace pfns + 1 (0 marks an
 * empty slot); deletion shifts the following run back (no tombstones), so
 * lookups stay short however many deletes.  Grows (rehash) past half full:
 * never per event in steady state.
 */
struct rp_pfnmap_entry {
	uint64_t key;             /* trace pfn + 1, 0 = empty */
	uint64_t zpfn;            /* zpa pfn */
	uint8_t order;
	uint8_t flags;            /* RP_MAP_* */
};
#define RP_MAP_PRETRACE 0x1   /* allocated before the trace began (the start state) */
struct rp_pfnmap {
	struct rp_pfnmap_entry *slot;
	size_t mask, used;
};
int rp_pfnmap_init(struct rp_pfnmap *m, size_t expect);
void rp_pfnmap_destroy(struct rp_pfnmap *m);
struct rp_pfnmap_entry *rp_pfnmap_get(const struct rp_pfnmap *m, uint64_t tpfn);
/* Insert or overwrite.  0 or ZPA_ENOMEM. */
int rp_pfnmap_put(struct rp_pfnmap *m, uint64_t tpfn, uint64_t zpfn, unsigned order, unsigned flags);
/* Remove the entry of e (a pointer returned by get). */
void rp_pfnmap_del(struct rp_pfnmap *m, struct rp_pfnmap_entry *e);

/* ---- startstate.c: the machine at the trace's start ---- */

/* What the trace says about the state at its start (a pass over the events). */
struct rp_facts {
	uint64_t max_pfn;         /* pfns below it are tracked */
	/* blocks the trace frees before allocating them: in use at the start */
	size_t nr_pretrace;
	struct rp_block { uint64_t pfn; uint8_t order; } *pretrace;
	/*
	 * blocks the trace allocates before any free of them: free at the
	 * start; from_pcp when no mm_page_alloc_zone_locked event took the
	 * page from the buddy lists first (it was on the CPU's list)
	 */
	size_t nr_known_free;
	struct rp_known { uint64_t pfn; uint32_t seq; uint16_t cpu; uint8_t order; bool from_pcp; } *known_free;
	bool has_zone_locked;     /* the trace has mm_page_alloc_zone_locked events */
	/* per pageblock: votes for its migratetype (allocations, drains) */
	unsigned pageblock_order;
	uint64_t nr_pageblocks;
	uint32_t (*votes)[ZPA_MIGRATE_PCPTYPES];
	uint64_t inconsistent;    /* frees of partly seen ranges */
	uint64_t outside;         /* pfns at or above max_pfn */
};
int rp_facts_build(const struct rp_trace *t, uint64_t max_pfn, unsigned pageblock_order, unsigned max_order,
		   struct rp_facts *f);
void rp_facts_free(struct rp_facts *f);

/*
 * Put machine m into the snapshot's state as closely as it allows, using
 * the facts (see startstate.c).  tasks[cpu] are the per-CPU tasks (for the
 * per-CPU lists).  Fills st; the pretrace blocks it could build get an
 * identity entry in map.  Returns 0 or ZPA_ENOMEM.
 */
int rp_build_start_state(struct zpa_machine *m, const struct rp_snapshot *s, const struct rp_facts *f,
			 struct zpa_task **tasks, unsigned nr_tasks, struct rp_pfnmap *map,
			 struct rp_start_state *st);

/* ---- engine.c ---- */
double rp_now(void);

#endif /* ZPA_RP_INT_H */
