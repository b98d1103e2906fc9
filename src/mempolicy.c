/*
 * mempolicy.c - NUMA memory policies and cpusets: which node a policy-driven
 * allocation starts from and which nodes it may use, as Linux 6.1 decides in
 * mm/mempolicy.c, kernel/cgroup/cpuset.c and include/linux/cpuset.h.
 *
 * Policies (struct zpa_mempolicy, see zpa.h for the modes)
 *   A policy is made in three steps, each with Linux's EINVAL cases:
 *   sanitize_mpol_flags() splits the mode word, mpol_new() checks the mask
 *   against the mode, mpol_set_nodemask() contextualises it: the nodes are
 *   intersected with the task's mems_allowed and the nodes with memory
 *   (N_MEMORY), or, with MPOL_F_RELATIVE_NODES, folded and mapped onto them by
 *   position.  A flagged policy remembers the mask as given, any other the
 *   mems_allowed it was made against (the two share storage, as in Linux).
 *
 *   An allocation (alloc_pages_policy) turns the policy into the preferred
 *   node and nodemask of one or two __alloc_pages() calls:
 *     no policy / LOCAL   local node, no mask  (Linux's "preferred local"
 *                         default policy decides the same)
 *     PREFERRED           its node, no mask
 *     BIND                local node, its nodes - if the request's zone type is
 *                         at least policy_zone (apply_policy_zone) and the
 *                         nodes meet mems_allowed; else no mask
 *     INTERLEAVE          the node after task->il_prev in the mask, no mask;
 *                         a page landing there counts NUMA_INTERLEAVE_HIT
 *     PREFERRED_MANY      local node with its nodes, __GFP_NOWARN and without
 *                         direct reclaim or NOFAIL; failing that, no mask
 *
 * cpusets
 *   A task's mems_allowed starts with every bit set (the init task's
 *   nodes_setall).  zpa_task_set_mems_allowed() is
 *   cpuset_change_task_nodemask(): inside the task's mems_allowed_seq write
 *   section (odd while it lasts) it widens mems_allowed to old | new, rebinds
 *   the policy (mpol_rebind_task), then sets the new mask; an allocation whose
 *   slow path saw the sequence move retries from the start (page_alloc.c's
 *   check_retry_cpuset).  The allocator applies a cpuset only while
 *   mems_allowed lacks a node with memory (t->cpuset_active, a per-task
 *   cpusets_enabled(): with every such node allowed it changes nothing).
 *   A cpuset whose nodes have only Movable memory sets the machine's sticky
 *   cpusets_insane flag (Linux's cpusets_insane_config static key).
 *
 * Node states are worked out from the zones when needed (nodes x zones,
 * small): N_MEMORY = a node with present pages; N_HIGH_MEMORY = a node with a
 * populated zone other than Movable (on x86-64 without HIGHMEM this is
 * N_NORMAL_MEMORY); policy_zone = the highest populated zone type other than
 * Movable (Linux's check_highest_zone() while building zonelists).
 *
 * Invariants: a policy's nodes are never empty; task->mempolicy is NULL or
 * &task->mpol; mems_allowed_seq is even outside a change.
 * Locking: a task is `current` of one thread at a time; its policy and
 * il_prev are read and written without locks.  mems_allowed may be changed
 * by another thread for a task made with zpa_task_create(); the allocation
 * path reads it racily and relies on the sequence count, as Linux does.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

void nodelist_format(const struct zpa_machine *m, const zpa_nodemask_t *mask, char *buf, size_t size)
{
	struct zpa_buf b = { buf, size, 0 };
	if (size)
		buf[0] = '\0';
	for (unsigned n = 0; n < m->nr_nodes;) {
		if (!m->nodes[n] || !zpa_node_isset(mask, (int)n)) {
			n++;
			continue;
		}
		unsigned end = n;
		while (end + 1 < m->nr_nodes && m->nodes[end + 1] && zpa_node_isset(mask, (int)end + 1))
			end++;
		if (end > n)
			zpa_bprintf(&b, "%s%u-%u", b.len ? "," : "", n, end);
		else
			zpa_bprintf(&b, "%s%u", b.len ? "," : "", n);
		n = end + 1;
	}
}
#include "pcp.h"

#define NODEMASK_WORDS (sizeof(zpa_nodemask_t) / sizeof(uint64_t))

/* ------------------------------------------------------------ node masks */

static bool nodes_empty(const zpa_nodemask_t *a)
{
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		if (a->bits[i])
			return false;
	return true;
}

static bool nodes_equal(const zpa_nodemask_t *a, const zpa_nodemask_t *b)
{
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		if (a->bits[i] != b->bits[i])
			return false;
	return true;
}

/* Is every node of a in b? */
static bool nodes_subset(const zpa_nodemask_t *a, const zpa_nodemask_t *b)
{
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		if (a->bits[i] & ~b->bits[i])
			return false;
	return true;
}

static void nodes_and(zpa_nodemask_t *dst, const zpa_nodemask_t *a, const zpa_nodemask_t *b)
{
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		dst->bits[i] = a->bits[i] & b->bits[i];
}

static int nodes_weight(const zpa_nodemask_t *a)
{
	int w = 0;
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		w += __builtin_popcountll(a->bits[i]);
	return w;
}

/* The lowest node after n in the mask, or ZPA_MAX_NODES. */
static int next_node(int n, const zpa_nodemask_t *a)
{
	for (int i = n + 1; i < ZPA_MAX_NODES; i++)
		if (zpa_nodemask_test(a, i))
			return i;
	return ZPA_MAX_NODES;
}

static int first_node(const zpa_nodemask_t *a) { return next_node(-1, a); }

/* next_node_in(): the next node after n, wrapping round; ZPA_MAX_NODES if the mask is empty. */
static int next_node_in(int n, const zpa_nodemask_t *a)
{
	int next = next_node(n, a);
	return next < ZPA_MAX_NODES ? next : first_node(a);
}

/* The node that is the nth (from 0) set bit of a. */
static int nth_node(const zpa_nodemask_t *a, int nth)
{
	for (int i = 0; i < ZPA_MAX_NODES; i++)
		if (zpa_nodemask_test(a, i) && nth-- == 0)
			return i;
	return ZPA_MAX_NODES;
}

/* The position of node n among the set bits of a, or -1 if n is not set (bitmap_pos_to_ord). */
static int node_ord(const zpa_nodemask_t *a, int n)
{
	if (!zpa_nodemask_test(a, n))
		return -1;
	int ord = 0;
	for (int i = 0; i < n; i++)
		ord += zpa_nodemask_test(a, i);
	return ord;
}

/* nodes_fold(): node n becomes node n % sz (sz > 0). */
static void nodes_fold(zpa_nodemask_t *dst, const zpa_nodemask_t *orig, int sz)
{
	zpa_nodemask_clear(dst);
	for (int n = 0; n < ZPA_MAX_NODES; n++)
		if (zpa_nodemask_test(orig, n))
			zpa_nodemask_set(dst, n % sz);
}

/* nodes_onto(): position k of orig selects the kth set node of relmap. */
static void nodes_onto(zpa_nodemask_t *dst, const zpa_nodemask_t *orig, const zpa_nodemask_t *relmap)
{
	int k = 0;
	zpa_nodemask_clear(dst);
	for (int n = 0; n < ZPA_MAX_NODES; n++)
		if (zpa_nodemask_test(relmap, n)) {
			if (zpa_nodemask_test(orig, k))
				zpa_nodemask_set(dst, n);
			k++;
		}
}

/*
 * nodes_remap(): each node of src that is the kth set node of old becomes the
 * (k mod weight(new))th set node of new; other nodes (and all of them when
 * old or new is empty) stay where they are.
 */
static void nodes_remap(zpa_nodemask_t *dst, const zpa_nodemask_t *src, const zpa_nodemask_t *old,
			const zpa_nodemask_t *new)
{
	int w = nodes_weight(new);
	zpa_nodemask_clear(dst);
	for (int n = 0; n < ZPA_MAX_NODES; n++) {
		if (!zpa_nodemask_test(src, n))
			continue;
		int ord = node_ord(old, n);
		zpa_nodemask_set(dst, ord < 0 || w == 0 ? n : nth_node(new, ord % w));
	}
}

/* mpol_relative_nodemask(): orig read as positions within rel (folded to its weight). */
static void mpol_relative_nodemask(zpa_nodemask_t *ret, const zpa_nodemask_t *orig, const zpa_nodemask_t *rel)
{
	zpa_nodemask_t tmp;
	int w = nodes_weight(rel);
	if (!w) {
		zpa_nodemask_clear(ret); /* Linux never gets here: mems_allowed always has memory */
		return;
	}
	nodes_fold(&tmp, orig, w);
	nodes_onto(ret, &tmp, rel);
}

/* ------------------------------------------------------------ node states */

/* N_MEMORY: nodes with present pages. */
static void node_states_memory(const struct zpa_machine *m, zpa_nodemask_t *out)
{
	zpa_nodemask_clear(out);
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n]->node_present_pages)
			zpa_nodemask_set(out, (int)n);
}

/* Does node nid have a populated zone whose type is at most max_type, Movable aside? */
static bool node_has_zone_upto(const struct zpa_machine *m, int nid, int max_type)
{
	const pg_data_t *pgdat = m->nodes[nid];
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		int type = m->zone_type_of[zi];
		if (type != ZPA_ZONE_MOVABLE && type <= max_type && populated_zone(&pgdat->node_zones[zi]))
			return true;
	}
	return false;
}

/* Does the mask hold a node of N_HIGH_MEMORY (a populated zone other than Movable)? */
static bool nodes_intersects_high_memory(const struct zpa_machine *m, const zpa_nodemask_t *nodes)
{
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (zpa_nodemask_test(nodes, (int)n) && node_has_zone_upto(m, (int)n, ZPA_NR_ZONE_TYPES))
			return true;
	return false;
}

/*
 * movable_only_nodes(): a non-empty mask none of whose nodes has a populated
 * zone at or below Normal (kernel allocations cannot be met there).
 */
static bool movable_only_nodes(const struct zpa_machine *m, const zpa_nodemask_t *nodes)
{
	if (nodes_empty(nodes))
		return false;
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (zpa_nodemask_test(nodes, (int)n) && node_has_zone_upto(m, (int)n, ZPA_ZONE_NORMAL))
			return false;
	return true;
}

/* policy_zone: the highest populated zone type other than Movable (DMA if none). */
static int policy_zone(const struct zpa_machine *m)
{
	int pz = ZPA_ZONE_DMA;
	for (unsigned n = 0; n < m->nr_nodes; n++)
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			int type = m->zone_type_of[zi];
			if (type > pz && type != ZPA_ZONE_MOVABLE && populated_zone(&m->nodes[n]->node_zones[zi]))
				pz = type;
		}
	return pz;
}

/* ------------------------------------------------------------ making policies */

static inline bool mpol_store_user_nodemask(const struct zpa_mempolicy *pol)
{
	return pol->flags & MPOL_MODE_FLAGS;
}

/* sanitize_mpol_flags(): split the mode word; ZPA_EINVAL for what Linux refuses. */
static int sanitize_mpol_flags(int *mode, unsigned short *flags)
{
	*flags = (unsigned short)(*mode & MPOL_MODE_FLAGS);
	*mode &= ~MPOL_MODE_FLAGS;
	if ((unsigned)*mode >= ZPA_MPOL_MAX)
		return ZPA_EINVAL;
	if ((*flags & ZPA_MPOL_F_STATIC_NODES) && (*flags & ZPA_MPOL_F_RELATIVE_NODES))
		return ZPA_EINVAL;
	if (*flags & ZPA_MPOL_F_NUMA_BALANCING) {
		if (*mode != ZPA_MPOL_BIND)
			return ZPA_EINVAL;
		*flags |= MPOL_F_MOF | MPOL_F_MORON;
	}
	return 0;
}

/*
 * mpol_new(): check the mask against the mode.  Sets *none for DEFAULT (no
 * policy object); PREFERRED with an empty mask becomes LOCAL.
 */
static int mpol_new(int mode, unsigned short flags, const zpa_nodemask_t *nodes, struct zpa_mempolicy *pol,
		    bool *none)
{
	bool node_flags = flags & (ZPA_MPOL_F_STATIC_NODES | ZPA_MPOL_F_RELATIVE_NODES);
	*none = false;
	if (mode == ZPA_MPOL_DEFAULT) {
		if (!nodes_empty(nodes))
			return ZPA_EINVAL;
		*none = true;
		return 0;
	}
	if (mode == ZPA_MPOL_PREFERRED) {
		if (nodes_empty(nodes)) {
			if (node_flags)
				return ZPA_EINVAL;
			mode = ZPA_MPOL_LOCAL;
		}
	} else if (mode == ZPA_MPOL_LOCAL) {
		if (!nodes_empty(nodes) || node_flags)
			return ZPA_EINVAL;
	} else if (nodes_empty(nodes)) {
		return ZPA_EINVAL;
	}
	memset(pol, 0, sizeof *pol);
	pol->mode = (unsigned short)mode;
	pol->flags = flags;
	pol->home_node = -1;
	return 0;
}

/*
 * mpol_set_nodemask(): contextualise the given nodes against the task's
 * allowed nodes with memory and set the policy's nodes (the "create" step:
 * ZPA_EINVAL when none remain).  LOCAL takes no nodes.
 */
static int mpol_set_nodemask(const struct zpa_machine *m, const struct zpa_task *task, struct zpa_mempolicy *pol,
			     const zpa_nodemask_t *nodes)
{
	zpa_nodemask_t mems, allowed, ctx;
	if (pol->mode == ZPA_MPOL_LOCAL)
		return 0;
	node_states_memory(m, &mems);
	nodes_and(&allowed, &task->mems_allowed, &mems);
	if (pol->flags & ZPA_MPOL_F_RELATIVE_NODES)
		mpol_relative_nodemask(&ctx, nodes, &allowed);
	else
		nodes_and(&ctx, nodes, &allowed);
	if (mpol_store_user_nodemask(pol))
		pol->user_nodemask = *nodes;
	else
		pol->cpuset_mems_allowed = task->mems_allowed;
	if (nodes_empty(&ctx))
		return ZPA_EINVAL;
	zpa_nodemask_clear(&pol->nodes);
	if (pol->mode == ZPA_MPOL_PREFERRED)
		zpa_nodemask_set(&pol->nodes, first_node(&ctx)); /* mpol_new_preferred */
	else
		pol->nodes = ctx;                                /* mpol_new_nodemask */
	return 0;
}

/* All three steps for task's context; *none for DEFAULT. */
static int mpol_make(const struct zpa_machine *m, const struct zpa_task *task, int mode, const zpa_nodemask_t *nodes,
		     struct zpa_mempolicy *pol, bool *none)
{
	unsigned short flags;
	zpa_nodemask_t given;
	if (nodes)
		given = *nodes;
	else
		zpa_nodemask_clear(&given);
	int err = sanitize_mpol_flags(&mode, &flags);
	if (!err)
		err = mpol_new(mode, flags, &given, pol, none);
	if (!err && !*none)
		err = mpol_set_nodemask(m, task, pol, &given);
	return err;
}

/* ------------------------------------------------------------ rebinding */

/* mpol_rebind_nodemask(): BIND and INTERLEAVE follow a cpuset change. */
static void mpol_rebind_nodemask(struct zpa_mempolicy *pol, const zpa_nodemask_t *newmems)
{
	zpa_nodemask_t tmp;
	if (pol->flags & ZPA_MPOL_F_STATIC_NODES) {
		nodes_and(&tmp, &pol->user_nodemask, newmems);
	} else if (pol->flags & ZPA_MPOL_F_RELATIVE_NODES) {
		mpol_relative_nodemask(&tmp, &pol->user_nodemask, newmems);
	} else {
		nodes_remap(&tmp, &pol->nodes, &pol->cpuset_mems_allowed, newmems);
		pol->cpuset_mems_allowed = *newmems;
	}
	if (nodes_empty(&tmp))
		tmp = *newmems;
	pol->nodes = tmp;
}

/* mpol_rebind_policy(): PREFERRED and PREFERRED_MANY only record the new mems. */
static void mpol_rebind_policy(struct zpa_mempolicy *pol, const zpa_nodemask_t *newmems)
{
	if (!pol || pol->mode == ZPA_MPOL_LOCAL)
		return;
	if (!mpol_store_user_nodemask(pol) && nodes_equal(&pol->cpuset_mems_allowed, newmems))
		return;
	switch (pol->mode) {
	case ZPA_MPOL_BIND:
	case ZPA_MPOL_INTERLEAVE:
		mpol_rebind_nodemask(pol, newmems);
		break;
	case ZPA_MPOL_PREFERRED:
	case ZPA_MPOL_PREFERRED_MANY:
		pol->cpuset_mems_allowed = *newmems;
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ allocation */

/*
 * apply_policy_zone(): BIND restricts only requests whose zone type is at
 * least policy_zone; a policy whose nodes have only Movable memory restricts
 * only Movable requests.
 */
static bool apply_policy_zone(const struct zpa_machine *m, const struct zpa_mempolicy *pol, zpa_gfp_t gfp)
{
	int dynamic_policy_zone = policy_zone(m);
	if (!nodes_intersects_high_memory(m, &pol->nodes))
		dynamic_policy_zone = ZPA_ZONE_MOVABLE;
	int zi = gfp_zone(m, gfp);
	if (zi < 0)
		return false; /* a bad zone combination: __alloc_pages refuses it */
	return m->zone_type_of[zi] >= dynamic_policy_zone;
}

/* policy_nodemask(): the nodemask a BIND or PREFERRED_MANY policy imposes, else NULL. */
static const zpa_nodemask_t *policy_nodemask(const struct zpa_machine *m, const struct zpa_task *task, zpa_gfp_t gfp,
					     const struct zpa_mempolicy *pol)
{
	if (unlikely(pol->mode == ZPA_MPOL_BIND) && apply_policy_zone(m, pol, gfp) &&
	    cpuset_nodemask_valid_mems_allowed(task, &pol->nodes))
		return &pol->nodes;
	if (pol->mode == ZPA_MPOL_PREFERRED_MANY)
		return &pol->nodes;
	return NULL;
}

/* The once-only warning bit of policy_node()'s BIND + __GFP_THISNODE check in m->warn_once. */
#define WARN_ONCE_BIND_THISNODE (1ul << 31)

/*
 * policy_node(): the preferred node: PREFERRED's node, a home node for BIND
 * and PREFERRED_MANY, else nd (-1: the local node).
 */
static int policy_node(struct zpa_machine *m, zpa_gfp_t gfp, const struct zpa_mempolicy *pol, int nd)
{
	if (pol->mode == ZPA_MPOL_PREFERRED) {
		nd = first_node(&pol->nodes);
	} else if (pol->mode == ZPA_MPOL_BIND && (gfp & ZPA___GFP_THISNODE) &&
		   !(atomic_fetch_or(&m->warn_once, WARN_ONCE_BIND_THISNODE) & WARN_ONCE_BIND_THISNODE)) {
		zpa_warn(m, __func__, "__GFP_THISNODE request under an MPOL_BIND policy");
	}
	if ((pol->mode == ZPA_MPOL_BIND || pol->mode == ZPA_MPOL_PREFERRED_MANY) && pol->home_node >= 0)
		return pol->home_node;
	return nd;
}

/* interleave_nodes(): the node after the task's last one, which it then becomes. */
static int interleave_nodes(struct zpa_task *task, const struct zpa_mempolicy *pol)
{
	int next = next_node_in(task->il_prev, &pol->nodes);
	if (next < ZPA_MAX_NODES)
		task->il_prev = next;
	return next;
}

/* alloc_page_interleave(): allocate from nid's zonelist; a page on nid is an interleave hit. */
static zpa_pfn_t alloc_page_interleave(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
				       int nid)
{
	struct zone *zone = NULL;
	zpa_pfn_t pfn = __alloc_pages(m, task, gfp, order, nid, NULL, &zone);
	if (pfn != ZPA_PFN_NONE && zone->zone_pgdat->node_id == nid)
		atomic_fetch_add_explicit(&zone->vm_numa_event[NUMA_INTERLEAVE_HIT], 1, memory_order_relaxed);
	return pfn;
}

/*
 * alloc_pages_preferred_many(): the policy's nodes first, quietly and without
 * direct reclaim or __GFP_NOFAIL; then every node with the caller's flags.
 */
static zpa_pfn_t alloc_pages_preferred_many(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					    unsigned order, int nid, const struct zpa_mempolicy *pol)
{
	zpa_gfp_t preferred_gfp = (gfp | ZPA___GFP_NOWARN) & ~(ZPA___GFP_DIRECT_RECLAIM | ZPA___GFP_NOFAIL);
	zpa_pfn_t pfn = __alloc_pages(m, task, preferred_gfp, order, nid, &pol->nodes, NULL);
	if (pfn == ZPA_PFN_NONE)
		pfn = __alloc_pages(m, task, gfp, order, nid, NULL, NULL);
	return pfn;
}

/*
 * alloc_pages_policy(): see internal.h.  With no policy the task's default
 * ("preferred local": Linux's preferred_node_policy[numa_node_id()], a
 * PREFERRED policy on the local node) and LOCAL both come down to the local
 * node without a mask, which __alloc_pages() spells preferred_nid -1.
 */
zpa_pfn_t alloc_pages_policy(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			     const struct zpa_mempolicy *pol)
{
	if (!pol && !(gfp & ZPA___GFP_THISNODE))
		pol = task->mempolicy;
	if (!pol)
		return __alloc_pages(m, task, gfp, order, -1, NULL, NULL);
	switch (pol->mode) {
	case ZPA_MPOL_INTERLEAVE:
		return alloc_page_interleave(m, task, gfp, order, interleave_nodes(task, pol));
	case ZPA_MPOL_PREFERRED_MANY:
		return alloc_pages_preferred_many(m, task, gfp, order, policy_node(m, gfp, pol, -1), pol);
	default:
		return __alloc_pages(m, task, gfp, order, policy_node(m, gfp, pol, -1),
				     policy_nodemask(m, task, gfp, pol), NULL);
	}
}

/* ------------------------------------------------------------ public API */

/* A task argument: NULL is the calling thread's; another thread's own task is refused (NULL). */
static struct zpa_task *task_or_current(struct zpa_task *task)
{
	struct zpa_task *cur = zpa_task_current();
	if (!task)
		return cur;
	if (task->is_thread_default && task != cur)
		return NULL;
	return task;
}

/* The calling thread's own task changed policy or cpuset: re-gate its fast path. */
static void task_changed(struct zpa_task *task)
{
	if (task == zpa_task_current())
		thread_slots_refresh();
}

int zpa_mpol_new(struct zpa_machine *m, int mode, const zpa_nodemask_t *nodes, struct zpa_mempolicy **out)
{
	struct zpa_mempolicy pol;
	bool none;
	if (!out)
		return ZPA_EINVAL;
	*out = NULL;
	if (!m)
		return ZPA_EINVAL;
	int err = mpol_make(m, zpa_task_current(), mode, nodes, &pol, &none);
	if (err || none)
		return err;
	*out = zpa_port_zalloc(sizeof **out);
	if (!*out)
		return ZPA_ENOMEM;
	**out = pol;
	return 0;
}

void zpa_mpol_free(struct zpa_mempolicy *pol)
{
	zpa_port_free(pol);
}

int zpa_set_mempolicy(struct zpa_machine *m, struct zpa_task *task, int mode, const zpa_nodemask_t *nodes)
{
	struct zpa_mempolicy pol;
	bool none;
	task = task_or_current(task);
	if (!m || !task)
		return ZPA_EINVAL;
	int err = mpol_make(m, task, mode, nodes, &pol, &none);
	if (err)
		return err;
	if (none) {
		task->mempolicy = NULL;
	} else {
		task->mpol = pol;
		task->mempolicy = &task->mpol;
		if (pol.mode == ZPA_MPOL_INTERLEAVE)
			task->il_prev = ZPA_MAX_NODES - 1; /* the next node is the mask's first */
	}
	task_changed(task);
	return 0;
}

int zpa_get_mempolicy(struct zpa_machine *m, struct zpa_task *task, int *mode, zpa_nodemask_t *nodes)
{
	(void)m;
	task = task_or_current(task);
	if (!task)
		return ZPA_EINVAL;
	const struct zpa_mempolicy *pol = task->mempolicy;
	if (mode)
		*mode = pol ? pol->mode | (pol->flags & MPOL_MODE_FLAGS) : ZPA_MPOL_DEFAULT;
	if (nodes) {
		zpa_nodemask_clear(nodes);
		if (pol && mpol_store_user_nodemask(pol))
			*nodes = pol->user_nodemask;
		else if (pol && pol->mode != ZPA_MPOL_LOCAL)
			*nodes = pol->nodes;   /* get_policy_nodemask() */
	}
	return 0;
}

zpa_pfn_t zpa_alloc_pages_mpol(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			       const struct zpa_mempolicy *pol)
{
	if (!task)
		task = zpa_task_current();
	return alloc_pages_policy(m, task, gfp, order, pol);
}

int zpa_task_set_mems_allowed(struct zpa_machine *m, struct zpa_task *task, const zpa_nodemask_t *mems,
			      const zpa_nodemask_t *softwall)
{
	zpa_nodemask_t with_memory, newmems, soft;
	task = task_or_current(task);
	if (!m || !task)
		return ZPA_EINVAL;
	static const zpa_nodemask_t every_node = NODE_MASK_ALL;
	node_states_memory(m, &with_memory);
	/* A cpuset with tasks has memory, all of it within the root's (N_MEMORY). */
	if (mems && (nodes_empty(mems) || !nodes_subset(mems, &with_memory)))
		return ZPA_EINVAL;
	/* Back in the root cpuset a task has every node, as one never moved
	 * (Linux would give it N_MEMORY; the allocator decides the same, and
	 * the task stays usable on any machine). */
	newmems = mems ? *mems : every_node;
	soft = softwall ? *softwall : every_node;
	if (!nodes_subset(&newmems, &soft)) /* an ancestor holds its children's nodes */
		return ZPA_EINVAL;
	if (movable_only_nodes(m, &newmems))
		atomic_store(&m->cpusets_insane, true);

	/* cpuset_change_task_nodemask(), inside a write section of mems_allowed_seq. */
	atomic_fetch_add_explicit(&task->mems_allowed_seq, 1, memory_order_acq_rel); /* odd: writes follow */
	for (unsigned i = 0; i < NODEMASK_WORDS; i++)
		WRITE_ONCE(task->mems_allowed.bits[i], task->mems_allowed.bits[i] | newmems.bits[i]);
	mpol_rebind_policy(task->mempolicy, &newmems);
	for (unsigned i = 0; i < NODEMASK_WORDS; i++) {
		WRITE_ONCE(task->mems_allowed.bits[i], newmems.bits[i]);
		WRITE_ONCE(task->mems_softwall.bits[i], soft.bits[i]);
	}
	task->cpuset_active = !nodes_subset(&with_memory, &newmems);
	atomic_fetch_add_explicit(&task->mems_allowed_seq, 1, memory_order_release); /* even: writes precede */
	task_changed(task);
	return 0;
}

void zpa_task_get_mems_allowed(const struct zpa_task *task, zpa_nodemask_t *mems)
{
	if (!task)
		task = zpa_task_current();
	*mems = task->mems_allowed;
}
