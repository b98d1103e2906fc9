/*
 * trace_dat.c - trace-cmd's binary trace.dat, read through libtracecmd and
 * libtraceevent (Debian's libtracecmd-dev, libtraceevent-dev).
 *
 * Records come in time order across CPUs (tracecmd_iterate_events).  Each
 * record's event is found by its id; for the events replay uses, the
 * fields are looked up once per event id (tep_find_field) and read as
 * numbers from the raw record (tep_read_number_field): no text formatting
 * is involved, so a failed allocation's pfn is the raw -1 and GFP flags are
 * the kernel's bit word (Linux 6.1's values; a kernel with other GFP bit
 * values would need its names: use the text form there).  Marks are the
 * ftrace "print" event's buf.  A record whose event id is unknown is
 * malformed (counted, with its record number in place of a line number).
 *
 * Built only when CMake finds libtracecmd (ZPA_HAVE_TRACECMD); without it a
 * trace.dat is refused with a message saying so.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

#ifdef ZPA_HAVE_TRACECMD
#include <trace-cmd/trace-cmd.h>

#define MAX_IDS 65536

enum { F_PFN, F_ORDER, F_MT, F_GFP, F_REFILL, F_AORDER, F_FORDER, F_AMT, F_FMT, F_FRAG, F_OWN, F_BUF, NR_F };
static const char *const field_names[NR_F] = {
	"pfn", "order", "migratetype", "gfp_flags", "percpu_refill", "alloc_order", "fallback_order",
	"alloc_migratetype", "fallback_migratetype", "fragmenting", "change_ownership", "buf",
};

struct ev_info {
	bool known;           /* looked up */
	int type;             /* enum rp_event_type, or -1: not used */
	struct tep_format_field *f[NR_F];
};

#define MAX_BUFFERS 16

struct dat_ctx {
	struct rp_trace *t;
	const struct rp_load_opts *o;
	/* event info by id, per tep (the top buffer and instances may each have one) */
	unsigned nr_teps;
	struct tep_handle *teps[MAX_BUFFERS];
	struct ev_info *info[MAX_BUFFERS];
	uint64_t records;
	int rc;
	struct trace_seq seq;           /* an allocation's text, for its GFP flag names */
	struct rp_gfp_cache gfp;
};

static int type_of(const char *name)
{
	static const struct { const char *name; int type; } names[] = {
		{ "mm_page_alloc", RP_EV_ALLOC }, { "mm_page_free", RP_EV_FREE },
		{ "mm_page_free_batched", RP_EV_FREE_BATCHED }, { "mm_page_alloc_extfrag", RP_EV_EXTFRAG },
		{ "mm_page_pcpu_drain", RP_EV_PCPU_DRAIN }, { "mm_page_alloc_zone_locked", RP_EV_ZONE_LOCKED },
		{ "print", RP_EV_MARK },
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].type;
	return -1;
}

static bool num(struct tep_format_field *f, struct tep_record *rec, unsigned long long *v)
{
	return f && tep_read_number_field(f, rec->data, v) == 0;
}

static int on_record(struct tracecmd_input *h, struct tep_record *rec, int cpu, void *arg)
{
	struct dat_ctx *c = arg;
	struct rp_trace *t = c->t;
	unsigned long long v;
	struct tep_handle *tep = tracecmd_get_tep(h);
	unsigned ti;

	c->records++;
	t->lines = c->records;
	for (ti = 0; ti < c->nr_teps && c->teps[ti] != tep; ti++)
		;
	if (ti == c->nr_teps) {
		if (ti == MAX_BUFFERS || !(c->info[ti] = calloc(MAX_IDS, sizeof(struct ev_info)))) {
			c->rc = ZPA_ENOMEM;
			return -1;
		}
		c->teps[ti] = tep;
		c->nr_teps++;
	}
	int id = tep_data_type(tep, rec);
	if (id < 0 || id >= MAX_IDS) {
		rp_trace_bad(t, c->records, "record with event id %d", id);
		goto strict;
	}
	struct ev_info *ei = &c->info[ti][id];
	if (!ei->known) {
		struct tep_event *ev = tep_find_event(tep, id);
		ei->known = true;
		ei->type = -2;
		if (ev) {
			ei->type = type_of(ev->name);
			for (int k = 0; k < NR_F && ei->type >= 0; k++)
				ei->f[k] = tep_find_field(ev, field_names[k]);
		}
	}
	if (ei->type == -2) {
		rp_trace_bad(t, c->records, "record of unknown event id %d", id);
		goto strict;
	}
	if (ei->type < 0) {
		t->other_events++;
		return 0;
	}

	struct rp_event e;
	memset(&e, 0, sizeof(e));
	e.type = (uint8_t)ei->type;
	e.ts = (double)rec->ts * 1e-9;
	e.cpu = (uint16_t)rec->cpu;
	(void)cpu;
	e.line = c->records > UINT32_MAX ? UINT32_MAX : (uint32_t)c->records;
	e.mt = -1;
	e.pfn = RP_NO_PFN;
	if (ei->type == RP_EV_MARK) {
		int len = 0;
		const char *buf = NULL;
		if (ei->f[F_BUF] && ei->f[F_BUF]->offset < rec->size) {
			buf = (const char *)rec->data + ei->f[F_BUF]->offset;
			len = (int)strnlen(buf, (size_t)(rec->size - ei->f[F_BUF]->offset));
		}
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
			len--;
		int idx = rp_trace_add_mark(t, buf ? buf : "", (size_t)len);
		if (idx < 0) {
			c->rc = idx;
			return -1;
		}
		e.gfp = (uint32_t)idx;
	} else {
		if (!num(ei->f[F_PFN], rec, &v)) {
			rp_trace_bad(t, c->records, "%s: no pfn field", rp_event_names[ei->type]);
			goto strict;
		}
		e.pfn = v;
		if (ei->type == RP_EV_ALLOC || ei->type == RP_EV_FREE || ei->type == RP_EV_PCPU_DRAIN ||
		    ei->type == RP_EV_ZONE_LOCKED) {
			if (!num(ei->f[F_ORDER], rec, &v) || v >= ZPA_MAX_ORDER_LIMIT) {
				rp_trace_bad(t, c->records, "%s: no or bad order", rp_event_names[ei->type]);
				goto strict;
			}
			e.order = (uint8_t)v;
		}
		if (num(ei->f[F_MT], rec, &v))
			e.mt = (int8_t)(int)v;
		if (ei->type == RP_EV_ALLOC) {
			if (!num(ei->f[F_GFP], rec, &v)) {
				rp_trace_bad(t, c->records, "mm_page_alloc: no gfp_flags field");
				goto strict;
			}
			/*
			 * The raw word is the recording kernel's bits, which moved after
			 * 6.1; its print format names them, so read the names.
			 */
			uint32_t g;
			trace_seq_reset(&c->seq);
			tep_print_event(tep, &c->seq, rec, "%s", TEP_PRINT_INFO);
			trace_seq_terminate(&c->seq);
			const char *gs = c->seq.buffer ? strstr(c->seq.buffer, "gfp_flags=") : NULL;
			size_t gl = 0;
			if (gs) {
				gs += 10;
				while (gs[gl] && gs[gl] != ' ' && gs[gl] != '\n')
					gl++;
			}
			if (gs && gl && !(gs[0] >= '0' && gs[0] <= '9') && rp_gfp_lookup(&c->gfp, gs, gl, &g) == 0)
				e.gfp = g;
			else
				e.gfp = (uint32_t)v;
			if (e.pfn == (uint64_t)-1 || e.pfn == 0xffffffffull)
				e.pfn = RP_NO_PFN;
		} else if (ei->type == RP_EV_ZONE_LOCKED && num(ei->f[F_REFILL], rec, &v)) {
			e.aux = v != 0;
		} else if (ei->type == RP_EV_EXTFRAG) {
			unsigned long long ao = 0, fo = 0, am = 0, fm = 0, fr = 0, ow = 0;
			if (!num(ei->f[F_AORDER], rec, &ao) || !num(ei->f[F_FORDER], rec, &fo) ||
			    !num(ei->f[F_AMT], rec, &am) || !num(ei->f[F_FMT], rec, &fm) || ao >= ZPA_MAX_ORDER_LIMIT ||
			    fo >= ZPA_MAX_ORDER_LIMIT || am >= ZPA_MIGRATE_TYPES || fm >= ZPA_MIGRATE_TYPES) {
				rp_trace_bad(t, c->records, "mm_page_alloc_extfrag: bad fields");
				goto strict;
			}
			num(ei->f[F_FRAG], rec, &fr);
			num(ei->f[F_OWN], rec, &ow);
			e.order = (uint8_t)ao;
			e.mt = (int8_t)am;
			e.aux = (uint8_t)fo;
			e.aux2 = (uint8_t)(fm | (fr ? 0x10 : 0) | (ow ? 0x20 : 0));
		}
	}
	if (rp_trace_push(t, &e)) {
		c->rc = ZPA_ENOMEM;
		return -1;
	}
	if (c->o->progress && (c->records & 0xffff) == 0)
		c->o->progress(c->o->progress_arg, c->records, 0);
	return 0;
strict:
	if (c->o->strict) {
		c->rc = ZPA_EPARSE;
		return -1;
	}
	return 0;
}

bool rp_have_tracecmd(void)
{
	return true;
}

/*
 * libtraceevent 1.7 (Debian 12) leaks a few bytes per parsed event format
 * (strdup in tep_parse_event); LeakSanitizer builds of zpa would fail on
 * them.  This hook, read by LeakSanitizer when present, suppresses leaks
 * allocated inside those two libraries only.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libtraceevent.so\nleak:libtracecmd.so\n";
}

int rp_trace_dat_load(const char *path, const struct rp_load_opts *o, struct rp_trace *t, char *err, size_t errlen)
{
	static const struct rp_load_opts none;
	struct dat_ctx c = { .t = t, .o = o ? o : &none };
	char keep_path[sizeof(t->path)];

	snprintf(keep_path, sizeof(keep_path), "%s", path);
	tracecmd_set_loglevel(TEP_LOG_NONE);
	struct tracecmd_input *h = tracecmd_open(path, TRACECMD_FL_LOAD_NO_PLUGINS | TRACECMD_FL_LOAD_NO_SYSTEM_PLUGINS);
	if (!h) {
		rp_trace_free(t);
		snprintf(err, errlen, "%s: a trace-cmd trace.dat that libtracecmd cannot open (corrupt or truncated)",
			 keep_path);
		return ZPA_ECORRUPT;
	}
	/* The top buffer and every instance buffer (trace-cmd record/extract -B), merged by time. */
	struct tracecmd_input *hs[MAX_BUFFERS];
	int nh = 0;
	hs[nh++] = h;
	int ni = tracecmd_buffer_instances(h);
	for (int i = 0; i < ni && nh < MAX_BUFFERS; i++) {
		struct tracecmd_input *sub = tracecmd_buffer_instance_handle(h, i);
		if (sub)
			hs[nh++] = sub;
	}
	trace_seq_init(&c.seq);
	int rc = tracecmd_iterate_events_multi(hs, nh, on_record, &c);
	trace_seq_destroy(&c.seq);
	for (int i = nh - 1; i > 0; i--)
		tracecmd_close(hs[i]);
	tracecmd_close(h);
	for (unsigned i = 0; i < c.nr_teps; i++)
		free(c.info[i]);
	if (c.rc == ZPA_EPARSE) {
		snprintf(err, errlen, "%s: record %llu: %s (--strict)", keep_path, (unsigned long long)c.records,
			 t->nr_bad ? t->bad[t->nr_bad - 1].reason : "malformed");
		rp_trace_free(t);
		return ZPA_EPARSE;
	}
	if (c.rc || rc < 0) {
		int code = c.rc ? c.rc : ZPA_ECORRUPT;
		snprintf(err, errlen, "%s: reading the trace.dat failed after %llu records", keep_path,
			 (unsigned long long)c.records);
		rp_trace_free(t);
		return code;
	}
	if (c.records == 0 || t->n + t->other_events == 0) {
		snprintf(err, errlen, "%s: a trace.dat without any event record", keep_path);
		rp_trace_free(t);
		return ZPA_EPARSE;
	}
	snprintf(t->path, sizeof(t->path), "%s", keep_path);
	snprintf(t->format, sizeof(t->format), "trace-cmd trace.dat");
	if (!t->compression[0])
		snprintf(t->compression, sizeof(t->compression), "none");
	return 0;
}

#else /* !ZPA_HAVE_TRACECMD */

bool rp_have_tracecmd(void)
{
	return false;
}

int rp_trace_dat_load(const char *path, const struct rp_load_opts *o, struct rp_trace *t, char *err, size_t errlen)
{
	(void)o;
	rp_trace_free(t);
	snprintf(err, errlen, "%s: a trace-cmd trace.dat, but this zpa was built without libtracecmd "
		 "(install libtracecmd-dev and rebuild, or convert it with `trace-cmd report`)", path);
	return ZPA_EPARSE;
}

#endif
