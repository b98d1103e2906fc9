/*
 * port_posix.c - the hosted port: pthreads-free spinlocks live in port.h; this
 * file gives the CPU id, metadata memory, logging and panic on POSIX systems,
 * and the daemons' threads and events (pthreads; the condition variable
 * waits on CLOCK_MONOTONIC so that setting the wall clock does not change a
 * timeout).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_PORT_EXTERNAL
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zpa/port.h"

int zpa_port_cpu_id(void)
{
	int cpu = sched_getcpu();
	return cpu < 0 ? 0 : cpu;
}

void *zpa_port_zalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void zpa_port_free(void *p)
{
	free(p);
}

void zpa_port_log(int level, const char *msg)
{
	static const char *const tag[8] = { "emerg", "alert", "crit", "error", "warning",
					    "notice", "info", "debug" };
	fprintf(stderr, "zpa: %s: %s\n", tag[level & 7], msg);
}

void zpa_port_panic(const char *msg)
{
	fprintf(stderr, "zpa: panic: %s\n", msg);
	abort();
}

static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;
static int membarrier_ok;

static void membarrier_setup(void)
{
#if defined(__SANITIZE_THREAD__)
	membarrier_ok = 0; /* TSan cannot see membarrier's ordering: use locks */
#else
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	membarrier_ok = cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
			syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

int zpa_port_membarrier_init(void)
{
	pthread_once(&membarrier_once, membarrier_setup);
	return membarrier_ok ? 0 : -1;
}

int zpa_port_membarrier(void)
{
	if (!membarrier_ok)
		return -1;
	return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
/* The one exit function zpa registers; atomic: every new thread stores it, exiting threads read it. */
static void (*_Atomic exit_fn)(void *);
static int exit_key_ok;

static void exit_trampoline(void *arg)
{
	void (*fn)(void *) = atomic_load_explicit(&exit_fn, memory_order_acquire);
	if (fn && arg)
		fn(arg);
}

static void exit_key_setup(void)
{
	exit_key_ok = pthread_key_create(&exit_key, exit_trampoline) == 0;
}

int zpa_port_thread_exit_hook(void (*fn)(void *), void *arg)
{
	atomic_store_explicit(&exit_fn, fn, memory_order_release); /* zpa registers one function only */
	pthread_once(&exit_once, exit_key_setup);
	if (!exit_key_ok)
		return -1;
	return pthread_setspecific(exit_key, arg) == 0 ? 0 : -1;
}

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;

void zpa_port_registry_lock(void)
{
	pthread_mutex_lock(&registry);
}

void zpa_port_registry_unlock(void)
{
	pthread_mutex_unlock(&registry);
}

#ifndef ZPA_NO_THREADS
struct zpa_port_thread {
	pthread_t tid;
	void (*fn)(void *);
	void *arg;
};

static void *thread_trampoline(void *p)
{
	struct zpa_port_thread *t = p;
	t->fn(t->arg);
	return NULL;
}

int zpa_port_thread_create(struct zpa_port_thread **out, void (*fn)(void *), void *arg)
{
	struct zpa_port_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->fn = fn;
	t->arg = arg;
	if (pthread_create(&t->tid, NULL, thread_trampoline, t) != 0) {
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void zpa_port_thread_join(struct zpa_port_thread *t)
{
	if (!t)
		return;
	pthread_join(t->tid, NULL);
	free(t);
}

struct zpa_port_event {
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct zpa_port_event *zpa_port_event_create(void)
{
	struct zpa_port_event *e = calloc(1, sizeof(*e));
	pthread_condattr_t attr;
	if (!e)
		return NULL;
	if (pthread_condattr_init(&attr) != 0)
		goto fail;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&e->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		goto fail;
	}
	pthread_condattr_destroy(&attr);
	if (pthread_mutex_init(&e->lock, NULL) != 0) {
		pthread_cond_destroy(&e->cond);
		goto fail;
	}
	return e;
fail:
	free(e);
	return NULL;
}

void zpa_port_event_destroy(struct zpa_port_event *e)
{
	if (!e)
		return;
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void zpa_port_event_lock(struct zpa_port_event *e)
{
	pthread_mutex_lock(&e->lock);
}

void zpa_port_event_unlock(struct zpa_port_event *e)
{
	pthread_mutex_unlock(&e->lock);
}

void zpa_port_event_wait(struct zpa_port_event *e, long timeout_ms)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(&e->cond, &e->lock);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

void zpa_port_event_signal(struct zpa_port_event *e)
{
	pthread_cond_broadcast(&e->cond);
}
#endif /* ZPA_NO_THREADS */
#endif
