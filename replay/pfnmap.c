/*
 * pfnmap.c - the map from a trace's pfns to zpa's: which zpa block stands
 * for the block the kernel handed out at a pfn.
 *
 * Open addressing with linear probing over a power-of-two table of 24-byte
 * slots; key 0 marks an empty slot, so keys are stored as pfn + 1.  The
 * hash is a multiplicative (Fibonacci) hash of the pfn: traces allocate
 * runs of neighbouring pfns, which a plain mask would pile into one run of
 * slots.  Deletion moves later members of the probe run back into the hole
 * (Knuth's algorithm R), so there are no tombstones and a lookup never
 * walks further than the longest live run.  The table doubles when it
 * passes half full: a replay's map settles at its peak of live blocks and
 * then costs no allocation per event.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

static inline size_t slot_of(const struct rp_pfnmap *m, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & m->mask;
}

int rp_pfnmap_init(struct rp_pfnmap *m, size_t expect)
{
	size_t n = 1024;
	while (n < expect * 2)
		n <<= 1;
	m->slot = calloc(n, sizeof(*m->slot));
	if (!m->slot)
		return ZPA_ENOMEM;
	m->mask = n - 1;
	m->used = 0;
	return 0;
}

void rp_pfnmap_destroy(struct rp_pfnmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = m->used = 0;
}

struct rp_pfnmap_entry *rp_pfnmap_get(const struct rp_pfnmap *m, uint64_t tpfn)
{
	uint64_t key = tpfn + 1;
	for (size_t i = slot_of(m, key);; i = (i + 1) & m->mask) {
		struct rp_pfnmap_entry *e = &m->slot[i];
		if (e->key == key)
			return e;
		if (e->key == 0)
			return NULL;
	}
}

static int grow(struct rp_pfnmap *m)
{
	struct rp_pfnmap old = *m;
	size_t n = (m->mask + 1) * 2;

	m->slot = calloc(n, sizeof(*m->slot));
	if (!m->slot) {
		*m = old;
		return ZPA_ENOMEM;
	}
	m->mask = n - 1;
	m->used = 0;
	for (size_t i = 0; i <= old.mask; i++) {
		struct rp_pfnmap_entry *e = &old.slot[i];
		if (!e->key)
			continue;
		size_t j = slot_of(m, e->key);
		while (m->slot[j].key)
			j = (j + 1) & m->mask;
		m->slot[j] = *e;
		m->used++;
	}
	free(old.slot);
	return 0;
}

int rp_pfnmap_put(struct rp_pfnmap *m, uint64_t tpfn, uint64_t zpfn, unsigned order, unsigned flags)
{
	uint64_t key = tpfn + 1;

	if ((m->used + 1) * 2 > m->mask + 1 && grow(m))
		return ZPA_ENOMEM;
	size_t i = slot_of(m, key);
	while (m->slot[i].key && m->slot[i].key != key)
		i = (i + 1) & m->mask;
	if (!m->slot[i].key)
		m->used++;
	m->slot[i].key = key;
	m->slot[i].zpfn = zpfn;
	m->slot[i].order = (uint8_t)order;
	m->slot[i].flags = (uint8_t)flags;
	return 0;
}

void rp_pfnmap_del(struct rp_pfnmap *m, struct rp_pfnmap_entry *e)
{
	size_t i = (size_t)(e - m->slot);
	size_t j = i;

	m->slot[i].key = 0;
	m->used--;
	for (;;) {
		j = (j + 1) & m->mask;
		if (!m->slot[j].key)
			return;
		size_t home = slot_of(m, m->slot[j].key);
		/* Move slot j back into the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j].key = 0;
		i = j;
	}
}
