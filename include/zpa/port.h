/*
 * zpa/port.h - what an embedding provides to zpa's core: locks, the CPU id,
 * metadata memory, logging and panic, and (unless ZPA_NO_THREADS) threads
 * and events for the daemons.
 *
 * The hosted port (src/port_posix.c) implements the out-of-line calls with
 * pthreads, sched_getcpu(), calloc() and stderr.  A kernel or bare-metal
 * embedding builds zpa with ZPA_PORT_EXTERNAL defined and supplies the same
 * functions (spinlocks may disable interrupts there).  The lock types below
 * are plain C11 atomics so they work unchanged in freestanding builds.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_PORT_H
#define ZPA_PORT_H

#include <stdatomic.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A test-and-test-and-set spinlock; uncontended lock+unlock is two atomics. */
typedef struct {
	_Atomic int locked;
} zpa_spinlock_t;

#define ZPA_SPINLOCK_INIT { 0 }

static inline void zpa_port_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline void zpa_spin_lock_init(zpa_spinlock_t *l)
{
	atomic_init(&l->locked, 0);
}

static inline void zpa_spin_lock(zpa_spinlock_t *l)
{
	for (;;) {
		if (!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(&l->locked, memory_order_relaxed))
			zpa_port_cpu_relax();
	}
}

static inline int zpa_spin_trylock(zpa_spinlock_t *l)
{
	return !atomic_load_explicit(&l->locked, memory_order_relaxed) &&
	       !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
}

static inline void zpa_spin_unlock(zpa_spinlock_t *l)
{
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* True if somebody holds the lock: the basis of lockdep_assert_held(). */
static inline int zpa_spin_is_locked(zpa_spinlock_t *l)
{
	return atomic_load_explicit(&l->locked, memory_order_relaxed) != 0;
}

/* Setup-time serialisation; a spinlock is enough (no sleeping inside). */
typedef zpa_spinlock_t zpa_mutex_t;

/* The CPU the caller runs on (hosted: sched_getcpu(), 0 if unknown). */
int zpa_port_cpu_id(void);
/* Zeroed metadata memory and its release (hosted: calloc/free). */
void *zpa_port_zalloc(size_t size);
void zpa_port_free(void *p);
/* Write one log line (hosted: stderr). */
void zpa_port_log(int level, const char *msg);
/* Stop everything (hosted: abort()).  Only called in debug_panic mode. */
void zpa_port_panic(const char *msg);

/*
 * Asymmetric barrier for thread-local page lists: after it returns, every
 * other thread of the process has executed a full memory barrier (hosted:
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)).  Returns 0 when available;
 * nonzero means thread lists must be locked with their spinlock instead.
 * zpa_port_membarrier_init() is called once per machine before use.
 */
int zpa_port_membarrier_init(void);
int zpa_port_membarrier(void);

/*
 * Thread exit hook: run fn(arg) when the calling thread exits (hosted: a
 * pthread key destructor).  One registration per thread is enough; zpa uses
 * it to return a thread's page lists.  Returns 0 or -1.
 */
int zpa_port_thread_exit_hook(void (*fn)(void *), void *arg);

/* A process-wide lock for the registry of live machines (thread lists use it). */
void zpa_port_registry_lock(void);
void zpa_port_registry_unlock(void);

#ifndef ZPA_NO_THREADS
/*
 * Threads and events for the daemons' THREAD mode (zpa_set_daemon_mode).
 * A build with ZPA_NO_THREADS defined needs none of this, and THREAD mode
 * is refused there.  Hosted: pthreads, with a condition variable on
 * CLOCK_MONOTONIC.
 *
 * An event is a mutex with a condition variable.  The waiter takes the
 * lock, tests its condition and calls zpa_port_event_wait() until the
 * condition holds; whoever changes the condition signals with the lock
 * held (or after changing the condition under the lock), so no wakeup is
 * lost.  A wait may return early for no reason: always test again.
 */
struct zpa_port_thread;
struct zpa_port_event;

/* Run fn(arg) on a new thread.  Returns 0 or -1 (*out untouched). */
int zpa_port_thread_create(struct zpa_port_thread **out, void (*fn)(void *), void *arg);
/* Wait until the thread's function returned, then free the handle. */
void zpa_port_thread_join(struct zpa_port_thread *t);

/* A new event, or NULL without memory. */
struct zpa_port_event *zpa_port_event_create(void);
void zpa_port_event_destroy(struct zpa_port_event *e);
void zpa_port_event_lock(struct zpa_port_event *e);
void zpa_port_event_unlock(struct zpa_port_event *e);
/*
 * The lock is held: release it and sleep until signalled or until timeout_ms
 * milliseconds have passed (timeout_ms < 0: no limit), then take it again.
 */
void zpa_port_event_wait(struct zpa_port_event *e, long timeout_ms);
/* Wake every waiter of e. */
void zpa_port_event_signal(struct zpa_port_event *e);
#endif

#ifdef __cplusplus
}
#endif
#endif /* ZPA_PORT_H */
