/*
 * port_posix.c - the hosted port: pthreads-free spinlocks live in port.h; this
 * file gives the CPU id, metadata memory, logging and panic on POSIX systems.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_PORT_EXTERNAL
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
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
static void (*exit_fn)(void *);
static int exit_key_ok;

static void exit_trampoline(void *arg)
{
	if (exit_fn && arg)
		exit_fn(arg);
}

static void exit_key_setup(void)
{
	exit_key_ok = pthread_key_create(&exit_key, exit_trampoline) == 0;
}

int zpa_port_thread_exit_hook(void (*fn)(void *), void *arg)
{
	exit_fn = fn; /* zpa registers one function only */
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
#endif
