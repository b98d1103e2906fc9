/*
 * record.c - `zpa record`: capture the running kernel's page-allocator
 * events with libtracefs, with the snapshot replay needs, into a directory
 * that `zpa replay --snapshot DIR` and the machine loader
 * (zpa_config_from_snapshot, `zpa info --snapshot DIR`) read.
 *
 * The directory:
 *   proc/{zoneinfo,buddyinfo,pagetypeinfo,vmstat,meminfo}  at the start
 *   vm-sysctls.txt          every readable /proc/sys/vm value, name=value
 *   sys/devices/system/node/nodeN/{distance,cpulist,meminfo}
 *   sys/kernel/mm/transparent_hugepage/{enabled,defrag}
 *   dmesg.txt, cmdline.txt  the kernel log (for the e820 memory map) when
 *                           it still holds the boot lines, and the command line
 *   trace.txt.zst           the events, trace_pipe text, zstd-compressed
 *   end/                    the same /proc and sysfs files at the end
 *   ring-stats.txt, meta.txt
 *
 * The recording uses a private tracefs instance (zpa-record-PID), so it
 * neither disturbs nor is disturbed by other tracing; the instance is
 * removed at the end, also after Ctrl-C.  The order: snapshot, enable the
 * events, mark "ZPA_RECORD start", run the command (or sleep), mark
 * "ZPA_RECORD end", disable, drain.  trace_pipe is read while the command
 * runs and compressed on the fly, so long recordings do not overflow the
 * ring buffer unless the kernel produces events faster than zstd takes
 * them (lost events then show as "[LOST n EVENTS]" lines, which replay
 * reports).
 *
 * Errors are specific: tracefs not mounted (with the mount command),
 * not permitted (root needed), kmem events missing, output directory not
 * empty.  Built only with libtracefs (ZPA_HAVE_TRACEFS).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rp_int.h"

static int rec_err(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int rec_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* ------------------------------------------------------------ files */

static int mkdirs(const char *path)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

/* Copy src to dir/rel (creating directories).  Missing sources are skipped. */
static void copy_file(const char *src, const char *dir, const char *rel)
{
	char dst[1400], d[1400];
	FILE *in = fopen(src, "rb");
	if (!in)
		return;
	snprintf(dst, sizeof(dst), "%s/%s", dir, rel);
	snprintf(d, sizeof(d), "%s", dst);
	char *slash = strrchr(d, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(d);
	}
	FILE *out = fopen(dst, "wb");
	if (out) {
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(out);
	}
	fclose(in);
}

/* The /proc and sysfs state into dir. */
static void snapshot_state(const char *dir)
{
	static const char *const procs[] = { "zoneinfo", "buddyinfo", "pagetypeinfo", "vmstat", "meminfo" };
	char src[512], rel[512];

	for (unsigned i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		snprintf(src, sizeof(src), "/proc/%s", procs[i]);
		snprintf(rel, sizeof(rel), "proc/%s", procs[i]);
		copy_file(src, dir, rel);
	}
	/* vm sysctls: name=value lines, as the oracle's vm-sysctls.txt */
	char out[1200];
	snprintf(out, sizeof(out), "%s/vm-sysctls.txt", dir);
	FILE *f = fopen(out, "w");
	DIR *d = opendir("/proc/sys/vm");
	if (f && d) {
		struct dirent *de;
		char *names[512];
		unsigned n = 0;
		while ((de = readdir(d)) && n < 512)
			if (de->d_name[0] != '.')
				names[n++] = strdup(de->d_name);
		for (unsigned i = 0; i < n; i++)
			for (unsigned j = i + 1; j < n; j++)
				if (strcmp(names[i], names[j]) > 0) {
					char *x = names[i];
					names[i] = names[j];
					names[j] = x;
				}
		for (unsigned i = 0; i < n; i++) {
			char path[600], val[4096];
			snprintf(path, sizeof(path), "/proc/sys/vm/%s", names[i]);
			FILE *v = fopen(path, "r");
			if (v) {
				size_t got = fread(val, 1, sizeof(val) - 1, v);
				val[got] = '\0';
				fclose(v);
				for (char *c = val; *c; c++)
					if (*c == '\t' || *c == '\n')
						*c = ' ';
				fprintf(f, "%s=%s\n", names[i], val);
			}
			free(names[i]);
		}
	}
	if (d)
		closedir(d);
	if (f)
		fclose(f);
	/* nodes */
	d = opendir("/sys/devices/system/node");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strncmp(de->d_name, "node", 4) == 0 && de->d_name[4] >= '0' && de->d_name[4] <= '9') {
				static const char *const files[] = { "distance", "cpulist", "meminfo" };
				for (unsigned i = 0; i < 3; i++) {
					snprintf(src, sizeof(src), "/sys/devices/system/node/%s/%s", de->d_name, files[i]);
					snprintf(rel, sizeof(rel), "sys/devices/system/node/%s/%s", de->d_name, files[i]);
					copy_file(src, dir, rel);
				}
			}
		closedir(d);
	}
	copy_file("/sys/kernel/mm/transparent_hugepage/enabled", dir, "sys/kernel/mm/transparent_hugepage/enabled");
	copy_file("/sys/kernel/mm/transparent_hugepage/defrag", dir, "sys/kernel/mm/transparent_hugepage/defrag");
}

/* The kernel log, without the "<level>" prefixes, if it still has the boot memory map. */
static bool save_dmesg(const char *dir)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	if (size <= 0)
		return false;
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return false;
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	bool ok = false;
	if (n > 0) {
		buf[n] = '\0';
		if (strstr(buf, "BIOS-e820") || strstr(buf, "Early memory node ranges")) {
			char p[1200];
			snprintf(p, sizeof(p), "%s/dmesg.txt", dir);
			FILE *f = fopen(p, "w");
			if (f) {
				for (char *l = buf; *l;) {
					char *nl = strchr(l, '\n');
					size_t len = nl ? (size_t)(nl - l) : strlen(l);
					const char *s = l;
					if (s[0] == '<') {
						const char *e = memchr(s, '>', len);
						if (e && e - s < 6) {
							len -= (size_t)(e + 1 - s);
							s = e + 1;
						}
					}
					fwrite(s, 1, len, f);
					fputc('\n', f);
					if (!nl)
						break;
					l = nl + 1;
				}
				fclose(f);
				ok = true;
			}
		}
	}
	free(buf);
	return ok;
}

#ifdef ZPA_HAVE_TRACEFS
#include <tracefs.h>

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char *const kmem_events[] = { "mm_page_alloc", "mm_page_free", "mm_page_free_batched",
					   "mm_page_alloc_extfrag", "mm_page_pcpu_drain", "mm_page_alloc_zone_locked" };
/* Also recorded when present, so a reader can tell reclaim and compaction happened. */
static const char *const extra_events[][2] = {
	{ "vmscan", "mm_vmscan_direct_reclaim_begin" }, { "vmscan", "mm_vmscan_direct_reclaim_end" },
	{ "vmscan", "mm_vmscan_kswapd_wake" }, { "vmscan", "mm_vmscan_kswapd_sleep" },
	{ "compaction", "mm_compaction_begin" }, { "compaction", "mm_compaction_end" },
};

/* Is a tracefs (or debugfs with tracing/) mounted?  Fills dir. */
static bool find_tracefs(char *dir, size_t len)
{
	FILE *m = fopen("/proc/mounts", "r");
	char line[1024];
	bool found = false;
	if (!m)
		return false;
	while (fgets(line, sizeof(line), m)) {
		char dev[256], mnt[512], type[64];
		if (sscanf(line, "%255s %511s %63s", dev, mnt, type) != 3)
			continue;
		if (strcmp(type, "tracefs") == 0) {
			snprintf(dir, len, "%s", mnt);
			found = true;
			break;
		}
		if (strcmp(type, "debugfs") == 0 && !found) {
			char p[600];
			struct stat st;
			snprintf(p, sizeof(p), "%s/tracing/events", mnt);
			if (stat(p, &st) == 0 && strlen(mnt) + 9 <= len) {
				memcpy(dir, mnt, strlen(mnt));
				memcpy(dir + strlen(mnt), "/tracing", 9);
				found = true;
			}
		}
	}
	fclose(m);
	return found;
}

struct zout {
	FILE *f;
	ZSTD_CCtx *cc;
	char *buf;
	size_t cap;
	uint64_t in_bytes, lines;
};

static int zout_write(struct zout *z, const void *data, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { z->buf, z->cap, 0 };
		size_t left = ZSTD_compressStream2(z->cc, &out, &in, mode);
		if (ZSTD_isError(left))
			return -1;
		if (out.pos && fwrite(z->buf, 1, out.pos, z->f) != out.pos)
			return -1;
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			break;
	}
	z->in_bytes += n;
	for (size_t i = 0; i < n; i++)
		z->lines += ((const char *)data)[i] == '\n';
	return 0;
}

/* Read what trace_pipe has now into z.  Returns bytes read, or -1 on a write error. */
static long drain_pipe(int fd, struct zout *z)
{
	char buf[1 << 16];
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (zout_write(z, buf, (size_t)n, ZSTD_e_continue))
			return -1;
		total += n;
	}
	return total;
}

int rp_record(const struct rp_record_opts *o, struct rp_record_result *res, char *err, size_t errlen)
{
	char tdir[512], p[1400], iname[64];
	int status_storage = 0, *cmd_status = &status_storage;
	struct tracefs_instance *inst = NULL;
	struct zout z = { 0 };
	int rc = 0, fd = -1;
	pid_t child = -1;
	double t0, t1;
	unsigned enabled = 0;

	memset(res, 0, sizeof(*res));
	/* tracefs: mounted, ours to write, with the kmem events */
	if (o->tracefs) {
		snprintf(tdir, sizeof(tdir), "%s", o->tracefs);
	} else if (!find_tracefs(tdir, sizeof(tdir))) {
		return rec_err(err, errlen, ZPA_ENOENT,
			       "tracefs is not mounted (as root: mount -t tracefs nodev /sys/kernel/tracing)");
	}
	snprintf(p, sizeof(p), "%s/events/kmem/mm_page_alloc", tdir);
	if (access(p, F_OK) != 0)
		return rec_err(err, errlen, ZPA_ENOENT, "%s is not a tracefs with the kmem events (no %s)", tdir, p);
	snprintf(p, sizeof(p), "%s/instances", tdir);
	if (access(p, W_OK) != 0)
		return rec_err(err, errlen, ZPA_EBUSY, "tracing is not permitted: %s is not writable (%s); run as root",
			       p, strerror(errno));
	/* the output directory: new or empty */
	if (mkdirs(o->out_dir) != 0)
		return rec_err(err, errlen, ZPA_EIO, "cannot create %s: %s", o->out_dir, strerror(errno));
	DIR *d = opendir(o->out_dir);
	if (!d)
		return rec_err(err, errlen, ZPA_EIO, "cannot open %s: %s", o->out_dir, strerror(errno));
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty)
		return rec_err(err, errlen, ZPA_EIO, "%s is not empty (give a new directory)", o->out_dir);

	if (tracefs_set_tracing_dir(tdir) != 0)
		return rec_err(err, errlen, ZPA_EIO, "libtracefs does not accept %s", tdir);
	snprintf(iname, sizeof(iname), "zpa-record-%d", (int)getpid());
	inst = tracefs_instance_create(iname);
	if (!inst)
		return rec_err(err, errlen, errno == EACCES || errno == EPERM ? ZPA_EBUSY : ZPA_EIO,
			       "cannot create the tracefs instance %s/instances/%s: %s", tdir, iname, strerror(errno));
	tracefs_instance_set_buffer_size(inst, o->buffer_kb ? o->buffer_kb : 65536, -1);

	/* the output */
	snprintf(p, sizeof(p), "%s/trace.txt.zst", o->out_dir);
	z.f = fopen(p, "wb");
	z.cc = ZSTD_createCCtx();
	z.cap = ZSTD_CStreamOutSize();
	z.buf = malloc(z.cap);
	if (!z.f || !z.cc || !z.buf) {
		rc = rec_err(err, errlen, ZPA_EIO, "cannot write %s: %s", p, strerror(errno));
		goto out;
	}
	ZSTD_CCtx_setParameter(z.cc, ZSTD_c_compressionLevel, 3);

	/* snapshot, then the events */
	snapshot_state(o->out_dir);
	bool have_dmesg = save_dmesg(o->out_dir);
	copy_file("/proc/cmdline", o->out_dir, "cmdline.txt");
	for (unsigned i = 0; i < sizeof(kmem_events) / sizeof(kmem_events[0]); i++) {
		if (tracefs_event_enable(inst, "kmem", kmem_events[i]) != 0) {
			rc = rec_err(err, errlen, ZPA_EBUSY, "cannot enable kmem:%s (%s)", kmem_events[i], strerror(errno));
			goto out;
		}
		enabled++;
	}
	for (unsigned i = 0; i < sizeof(extra_events) / sizeof(extra_events[0]); i++)
		tracefs_event_enable(inst, extra_events[i][0], extra_events[i][1]);
	fd = tracefs_instance_file_open(inst, "trace_pipe", O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		rc = rec_err(err, errlen, ZPA_EIO, "cannot open the instance's trace_pipe: %s", strerror(errno));
		goto out;
	}
	tracefs_trace_on(inst);
	tracefs_instance_file_write(inst, "trace_marker", "ZPA_RECORD start");

	stop_flag = 0;
	struct sigaction sa = { 0 }, old_int, old_term;
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	t0 = rp_now();
	if (o->argv && o->argv[0]) {
		child = fork();
		if (child < 0) {
			rc = rec_err(err, errlen, ZPA_EIO, "fork: %s", strerror(errno));
		} else if (child == 0) {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
			execvp(o->argv[0], o->argv);
			fprintf(stderr, "zpa: record: cannot run %s: %s\n", o->argv[0], strerror(errno));
			_exit(127);
		}
	}
	while (!rc) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		poll(&pfd, 1, 100);
		if (drain_pipe(fd, &z) < 0) {
			rc = rec_err(err, errlen, ZPA_EIO, "cannot write the trace: %s", strerror(errno));
			break;
		}
		if (child > 0) {
			int st;
			pid_t w = waitpid(child, &st, WNOHANG);
			if (w == child) {
				*cmd_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				child = -1;
				break;
			}
		} else if (rp_now() - t0 >= o->duration) {
			break;
		}
		if (stop_flag && child <= 0)
			break;
	}
	if (child > 0) {
		/* interrupted: the command got the signal too; wait for it */
		int st;
		waitpid(child, &st, 0);
		*cmd_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	t1 = rp_now();
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	tracefs_instance_file_write(inst, "trace_marker", "ZPA_RECORD end");
	for (unsigned i = 0; i < enabled; i++)
		tracefs_event_disable(inst, "kmem", kmem_events[i]);
	for (unsigned i = 0; i < sizeof(extra_events) / sizeof(extra_events[0]); i++)
		tracefs_event_disable(inst, extra_events[i][0], extra_events[i][1]);
	if (!rc && drain_pipe(fd, &z) < 0)
		rc = rec_err(err, errlen, ZPA_EIO, "cannot write the trace: %s", strerror(errno));
	if (!rc && (zout_write(&z, "", 0, ZSTD_e_end) || fflush(z.f)))
		rc = rec_err(err, errlen, ZPA_EIO, "cannot write the trace: %s", strerror(errno));

	/* the end state, ring statistics, meta */
	if (!rc) {
		snprintf(p, sizeof(p), "%s/end", o->out_dir);
		mkdirs(p);
		snapshot_state(p);
		snprintf(p, sizeof(p), "%s/ring-stats.txt", o->out_dir);
		FILE *rs = fopen(p, "w");
		long ncpu = sysconf(_SC_NPROCESSORS_CONF);
		for (long c = 0; rs && c < ncpu; c++) {
			char rel[64];
			snprintf(rel, sizeof(rel), "per_cpu/cpu%ld/stats", c);
			char *s = tracefs_instance_file_read(inst, rel, NULL);
			if (s) {
				fprintf(rs, "== cpu%ld\n%s", c, s);
				free(s);
			}
		}
		if (rs)
			fclose(rs);
		snprintf(p, sizeof(p), "%s/meta.txt", o->out_dir);
		FILE *m = fopen(p, "w");
		if (m) {
			struct utsname u;
			time_t now = time(NULL);
			char date[64];
			strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
			uname(&u);
			fprintf(m, "recorded_by=zpa record\ndate_utc=%s\nkernel_release=%s\nkernel_version=%s\nmachine=%s\n",
				date, u.release, u.version, u.machine);
			fprintf(m, "tracefs=%s\ninstance=%s\nbuffer_size_kb_per_cpu=%zu\n", tdir, iname,
				o->buffer_kb ? o->buffer_kb : 65536);
			fprintf(m, "events=");
			for (unsigned i = 0; i < sizeof(kmem_events) / sizeof(kmem_events[0]); i++)
				fprintf(m, "%skmem:%s", i ? " " : "", kmem_events[i]);
			fprintf(m, "\ncommand=");
			for (char *const *a = o->argv; a && *a; a++)
				fprintf(m, "%s%s", a == o->argv ? "" : " ", *a);
			fprintf(m, "\ncommand_status=%d\nseconds=%.3f\ntrace_lines=%llu\ntrace_bytes_uncompressed=%llu\n"
				   "dmesg=%s\n",
				*cmd_status, t1 - t0, (unsigned long long)z.lines, (unsigned long long)z.in_bytes,
				have_dmesg ? "dmesg.txt" : "none (the kernel log no longer holds the boot memory map)");
			fclose(m);
		}
		/* The machine loader must accept the directory; a kernel log that disagrees goes aside. */
		struct zpa_machine_config cfg;
		char msg[RP_ERRLEN];
		if (zpa_config_from_snapshot(o->out_dir, &cfg, msg, sizeof(msg)) != 0 && have_dmesg) {
			char a[1400], b[1400];
			snprintf(a, sizeof(a), "%s/dmesg.txt", o->out_dir);
			snprintf(b, sizeof(b), "%s/dmesg-unused.txt", o->out_dir);
			rename(a, b);
		}
		if (zpa_config_from_snapshot(o->out_dir, &cfg, msg, sizeof(msg)) != 0)
			rc = rec_err(err, errlen, ZPA_EPARSE, "recorded, but the machine loader refuses %s: %s", o->out_dir,
				     msg);
	}
	if (!rc) {
		char dm[1400];
		snprintf(dm, sizeof(dm), "%s/dmesg.txt", o->out_dir);
		res->cmd_status = *cmd_status;
		res->trace_lines = z.lines;
		res->trace_bytes = z.in_bytes;
		res->seconds = t1 - t0;
		res->dmesg = access(dm, F_OK) == 0;
	}
out:
	if (fd >= 0)
		close(fd);
	if (z.f)
		fclose(z.f);
	ZSTD_freeCCtx(z.cc);
	free(z.buf);
	if (inst) {
		tracefs_instance_destroy(inst);
		tracefs_instance_free(inst);
	}
	return rc;
}

#else /* !ZPA_HAVE_TRACEFS */

int rp_record(const struct rp_record_opts *o, struct rp_record_result *res, char *err, size_t errlen)
{
	(void)o;
	memset(res, 0, sizeof(*res));
	(void)snapshot_state;
	(void)save_dmesg;
	return rec_err(err, errlen, ZPA_ENOENT, "this zpa was built without libtracefs (apt-get install "
		       "libtracefs-dev and rebuild)");
}

#endif
