/*
 * error.c - error names and the machine's reports: log lines, WARN()s and
 * bad_page() reports, in the spirit of Linux's printk/WARN/bad_page.
 *
 * Reports go to the machine's log callback (or the port's log); each WARN and
 * bad page is also counted (zpa_warn, zpa_bad_page in /proc/vmstat) so a
 * caller or test can see that misuse happened without parsing text.  In
 * debug_panic mode a bad page stops the program instead.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"

const char *zpa_strerror(int err)
{
	switch (err) {
	case ZPA_OK: return "success";
	case ZPA_EINVAL: return "invalid argument";
	case ZPA_ENOMEM: return "out of memory";
	case ZPA_ERANGE: return "value out of range";
	case ZPA_ENOENT: return "no such entry";
	case ZPA_EBADPFN: return "page not managed by this machine";
	case ZPA_EALIGN: return "pfn not aligned to the order";
	case ZPA_EORDER: return "bad order";
	case ZPA_EDOUBLEFREE: return "page is already free";
	case ZPA_ETAIL: return "tail page of a compound page";
	case ZPA_EBADPAGE: return "bad page state";
	case ZPA_EBADGFP: return "invalid GFP flags";
	case ZPA_EPARSE: return "malformed input";
	case ZPA_EIO: return "cannot read file";
	case ZPA_ECORRUPT: return "allocator state inconsistent";
	case ZPA_EBUSY: return "pages in use or range busy";
	case ZPA_EAGAIN: return "try again";
	default: return "unknown error";
	}
}

static void vlog(const struct zpa_machine *m, int level, const char *fmt, va_list ap)
{
	char msg[512];
	if (m && level > m->cfg.log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (m && m->cfg.log)
		m->cfg.log(m->cfg.log_arg, level, msg);
	else
		zpa_port_log(level, msg);
}

void zpa_log(const struct zpa_machine *m, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(m, level, fmt, ap);
	va_end(ap);
}

void zpa_warn(struct zpa_machine *m, const char *func, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	atomic_fetch_add_explicit(&m->vm_events[ZPA_WARN], 1, memory_order_relaxed);
	zpa_log(m, ZPA_LOG_WARN, "WARNING: %s: %s", func, msg);
}

void bad_page(struct zpa_machine *m, unsigned long pfn, const struct zpa_page *page, const char *reason)
{
	atomic_fetch_add_explicit(&m->vm_events[ZPA_BAD_PAGE], 1, memory_order_relaxed);
	if (page)
		zpa_log(m, ZPA_LOG_ERR,
			"BUG: Bad page state: pfn:%#lx refcount:%d flags:%#x order:%u: %s",
			pfn, page->refcount, page->flags, page_order(page), reason);
	else
		zpa_log(m, ZPA_LOG_ERR, "BUG: Bad page state: pfn:%#lx: %s", pfn, reason);
	if (m->cfg.debug_panic)
		zpa_port_panic(reason);
}

void zpa_assert_fail(const struct zpa_machine *m, const char *func, const char *cond)
{
	char msg[300];
	snprintf(msg, sizeof msg, "assertion failed in %s: %s", func, cond);
	zpa_log(m, ZPA_LOG_ERR, "%s", msg);
	zpa_port_panic(msg);
}
