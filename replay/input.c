/*
 * input.c - read a trace file line by line, decompressing zstd, xz or gzip
 * on the fly.  The compression is sniffed from the first bytes (magic
 * numbers), never from the file name, so a renamed file still reads.
 *
 * Design: one input buffer of compressed bytes (refilled with fread) and
 * one output buffer of text.  rp_input_line() hands out a line in place in
 * the output buffer (its '\n' replaced by '\0'), valid until the next call;
 * when no '\n' is left the unread tail moves to the front and the
 * decompressor (or fread, for plain files) fills the rest.  A line longer
 * than the buffer grows it, up to RP_MAX_LINE: longer is not text.
 *
 * Errors are exact: a decoder that reports corrupt data, or a stream that
 * ends in the middle of a frame (a truncated file), is an error naming the
 * format and the line reached, never a silent short read.  Concatenated
 * streams (zstd frames, xz streams, gzip members) are read through.
 *
 * Nothing here allocates per line; the buffers grow only for long lines.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "rp_int.h"

#define IN_CHUNK     (1u << 20)
#define OUT_INITIAL  (4u << 20)
#define RP_MAX_LINE  (64u << 20)

static int in_error(struct rp_input *in, int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int in_error(struct rp_input *in, int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !errlen)
		return code;
	n = (size_t)snprintf(err, errlen, "%s: ", in->path);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Read more compressed bytes into the input buffer.  Returns bytes read (0 at EOF) or -1. */
static long refill_in(struct rp_input *in)
{
	if (in->in_pos < in->in_len)
		return (long)(in->in_len - in->in_pos);
	if (in->file_eof)
		return 0;
	size_t n = fread(in->inbuf, 1, IN_CHUNK, in->f);
	if (n < IN_CHUNK) {
		if (ferror(in->f))
			return -1;
		in->file_eof = true;
	}
	in->in_pos = 0;
	in->in_len = n;
	in->file_read += n;
	return (long)n;
}

int rp_input_open(struct rp_input *in, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(in, 0, sizeof(*in));
	snprintf(in->path, sizeof(in->path), "%s", path);
	in->f = fopen(path, "rb");
	if (!in->f)
		return in_error(in, ZPA_EIO, err, errlen, "cannot open: %s", strerror(errno));
	if (fstat(fileno(in->f), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fclose(in->f);
			in->f = NULL;
			return in_error(in, ZPA_EIO, err, errlen, "is a directory, not a trace file");
		}
		in->file_size = (uint64_t)st.st_size;
	}
	in->inbuf = malloc(IN_CHUNK);
	in->cap = OUT_INITIAL;
	in->buf = malloc(in->cap + 1);
	if (!in->inbuf || !in->buf) {
		rp_input_close(in);
		return ZPA_ENOMEM;
	}
	if (refill_in(in) < 0) {
		int e = errno;
		rp_input_close(in);
		return in_error(in, ZPA_EIO, err, errlen, "read error: %s", strerror(e));
	}
	const unsigned char *b = in->inbuf;
	size_t n = in->in_len;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
		in->kind = RP_IN_ZSTD;
		in->zs = ZSTD_createDStream();
		if (!in->zs || ZSTD_isError(ZSTD_initDStream(in->zs))) {
			rp_input_close(in);
			return ZPA_ENOMEM;
		}
	} else if (n >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0) {
		in->kind = RP_IN_XZ;
		lzma_stream init = LZMA_STREAM_INIT;
		in->xz = init;
		if (lzma_stream_decoder(&in->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
			rp_input_close(in);
			return ZPA_ENOMEM;
		}
		in->xz_init = true;
	} else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		in->kind = RP_IN_GZIP;
		memset(&in->gz, 0, sizeof(in->gz));
		if (inflateInit2(&in->gz, 15 + 32) != Z_OK) {
			rp_input_close(in);
			return ZPA_ENOMEM;
		}
		in->gz_init = true;
	} else {
		in->kind = RP_IN_PLAIN;
	}
	return 0;
}

const char *rp_input_kind_name(const struct rp_input *in)
{
	static const char *const names[] = { "none", "zstd", "xz", "gzip" };
	return names[in->kind];
}

void rp_input_close(struct rp_input *in)
{
	if (in->f)
		fclose(in->f);
	if (in->zs)
		ZSTD_freeDStream(in->zs);
	if (in->xz_init)
		lzma_end(&in->xz);
	if (in->gz_init)
		inflateEnd(&in->gz);
	free(in->inbuf);
	free(in->buf);
	in->f = NULL;
	in->zs = NULL;
	in->xz_init = in->gz_init = false;
	in->inbuf = NULL;
	in->buf = NULL;
}

/*
 * Append decompressed text after in->end, as much as fits.  Returns bytes
 * added, 0 at the end of the data, or a negative error (message in err).
 */
static long fill_out(struct rp_input *in, char *err, size_t errlen)
{
	size_t room = in->cap - in->end;
	char *dst = in->buf + in->end;

	if (in->out_eof)
		return 0;
	for (;;) {
		long got = refill_in(in);
		if (got < 0)
			return in_error(in, ZPA_EIO, err, errlen, "read error after line %llu: %s",
					(unsigned long long)in->lineno, strerror(errno));
		switch (in->kind) {
		case RP_IN_PLAIN: {
			if (got == 0) {
				in->out_eof = true;
				return 0;
			}
			size_t n = in->in_len - in->in_pos;
			if (n > room)
				n = room;
			memcpy(dst, in->inbuf + in->in_pos, n);
			in->in_pos += n;
			return (long)n;
		}
		case RP_IN_ZSTD: {
			if (got == 0) {
				in->out_eof = true;
				if (in->zret != 0)
					return in_error(in, ZPA_ECORRUPT, err, errlen,
							"truncated zstd stream (the file ends inside a frame, after line %llu)",
							(unsigned long long)in->lineno);
				return 0;
			}
			ZSTD_inBuffer zi = { in->inbuf, in->in_len, in->in_pos };
			ZSTD_outBuffer zo = { dst, room, 0 };
			size_t ret = ZSTD_decompressStream(in->zs, &zo, &zi);
			in->in_pos = zi.pos;
			if (ZSTD_isError(ret))
				return in_error(in, ZPA_ECORRUPT, err, errlen, "corrupt zstd data after line %llu: %s",
						(unsigned long long)in->lineno, ZSTD_getErrorName(ret));
			in->zret = ret;
			if (zo.pos)
				return (long)zo.pos;
			break;
		}
		case RP_IN_XZ: {
			if (in->xz_end) {
				in->out_eof = true;
				return 0;
			}
			in->xz.next_in = in->inbuf + in->in_pos;
			in->xz.avail_in = in->in_len - in->in_pos;
			in->xz.next_out = (uint8_t *)dst;
			in->xz.avail_out = room;
			lzma_ret ret = lzma_code(&in->xz, got == 0 ? LZMA_FINISH : LZMA_RUN);
			in->in_pos = in->in_len - in->xz.avail_in;
			size_t made = room - in->xz.avail_out;
			if (ret == LZMA_STREAM_END) {
				in->xz_end = true;
				in->out_eof = made == 0;
				return (long)made;
			}
			if (ret == LZMA_BUF_ERROR && got == 0)
				return in_error(in, ZPA_ECORRUPT, err, errlen,
						"truncated xz stream (the file ends inside it, after line %llu)",
						(unsigned long long)in->lineno);
			if (ret != LZMA_OK)
				return in_error(in, ZPA_ECORRUPT, err, errlen, "corrupt xz data after line %llu (lzma error %d)",
						(unsigned long long)in->lineno, (int)ret);
			if (made)
				return (long)made;
			if (got == 0)
				return in_error(in, ZPA_ECORRUPT, err, errlen,
						"truncated xz stream (after line %llu)", (unsigned long long)in->lineno);
			break;
		}
		case RP_IN_GZIP: {
			if (got == 0) {
				in->out_eof = true;
				if (!in->gz_done)
					return in_error(in, ZPA_ECORRUPT, err, errlen,
							"truncated gzip stream (the file ends inside it, after line %llu)",
							(unsigned long long)in->lineno);
				return 0;
			}
			if (in->gz_done) {
				/* Another member follows (concatenated gzip files). */
				inflateReset(&in->gz);
				in->gz_done = false;
			}
			in->gz.next_in = in->inbuf + in->in_pos;
			in->gz.avail_in = (uInt)(in->in_len - in->in_pos);
			in->gz.next_out = (Bytef *)dst;
			in->gz.avail_out = (uInt)room;
			int ret = inflate(&in->gz, Z_NO_FLUSH);
			in->in_pos = in->in_len - in->gz.avail_in;
			size_t made = room - in->gz.avail_out;
			if (ret == Z_STREAM_END)
				in->gz_done = true;
			else if (ret != Z_OK && ret != Z_BUF_ERROR)
				return in_error(in, ZPA_ECORRUPT, err, errlen, "corrupt gzip data after line %llu: %s",
						(unsigned long long)in->lineno, in->gz.msg ? in->gz.msg : "inflate error");
			if (made)
				return (long)made;
			break;
		}
		}
	}
}

int rp_input_fill_more(struct rp_input *in, char *err, size_t errlen)
{
	/* Move the unread tail to the front, grow if the buffer is one long line. */
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	if (in->end == in->cap) {
		if (in->cap >= RP_MAX_LINE)
			return in_error(in, ZPA_EPARSE, err, errlen,
					"line %llu is longer than %u MiB: not a text trace",
					(unsigned long long)in->lineno + 1, RP_MAX_LINE >> 20);
		char *nb = realloc(in->buf, in->cap * 2 + 1);
		if (!nb)
			return ZPA_ENOMEM;
		in->buf = nb;
		in->cap *= 2;
	}
	long got = fill_out(in, err, errlen);
	if (got < 0)
		return (int)got;
	in->end += (size_t)got;
	in->total_out += (uint64_t)got;
	return got > 0;
}

int rp_input_line(struct rp_input *in, char **line, size_t *len, char *err, size_t errlen)
{
	for (;;) {
		char *p = in->buf + in->start;
		size_t avail = in->end - in->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		if (nl) {
			size_t l = (size_t)(nl - p);
			*nl = '\0';
			if (l && p[l - 1] == '\r')
				p[--l] = '\0';
			in->start = (size_t)(nl - in->buf) + 1;
			in->lineno++;
			*line = p;
			*len = l;
			return 1;
		}
		int r = rp_input_fill_more(in, err, errlen);
		if (r < 0)
			return r;
		if (r == 0) {
			/* End of data: a last line without '\n' (a truncated file, usually). */
			if (in->end > in->start) {
				p = in->buf + in->start;
				size_t l = in->end - in->start;
				p[l] = '\0';   /* the buffer has cap + 1 bytes */
				in->start = in->end;
				in->lineno++;
				in->last_unterminated = true;
				*line = p;
				*len = l;
				return 1;
			}
			return 0;
		}
	}
}

int rp_input_peek(struct rp_input *in, size_t want, const unsigned char **data, size_t *n, char *err,
		  size_t errlen)
{
	while (in->end - in->start < want) {
		int r = rp_input_fill_more(in, err, errlen);
		if (r < 0)
			return r;
		if (r == 0)
			break;
	}
	*data = (const unsigned char *)in->buf + in->start;
	*n = in->end - in->start;
	return 0;
}

int rp_input_read(struct rp_input *in, void *dst, size_t want, size_t *got, char *err, size_t errlen)
{
	size_t done = 0;
	while (done < want) {
		if (in->end == in->start) {
			in->start = in->end = 0;
			int r = rp_input_fill_more(in, err, errlen);
			if (r < 0)
				return r;
			if (r == 0)
				break;
		}
		size_t n = in->end - in->start;
		if (n > want - done)
			n = want - done;
		memcpy((char *)dst + done, in->buf + in->start, n);
		in->start += n;
		done += n;
	}
	*got = done;
	return 0;
}
