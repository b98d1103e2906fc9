/*
 * port_posix.c - the hosted port: pthreads-free spinlocks live in port.h; this
 * file gives the CPU id, metadata memory, logging and panic on POSIX systems.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_PORT_EXTERNAL
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

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
#endif
