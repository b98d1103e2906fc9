/*
 * options.c - command-line parsing helpers for the `zpa` program: long
 * options in both "--name value" and "--name=value" form, sizes with binary
 * suffixes, bounded integers, and the two error reporters that fix the exit
 * status (2 for usage errors, 1 for library errors).
 *
 * Nothing here keeps state between calls; every parser either fills its
 * output and returns true or leaves it alone and returns false.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

bool cli_take_option(struct cli_args *a, const char *name, bool takes_value,
		     const char **value, bool *bad)
{
	const char *arg = a->argv[a->i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
		return false;
	a->i++;
	if (!takes_value) {
		if (arg[len] == '=') {
			fprintf(stderr, "zpa: option %s takes no value\n", name);
			*bad = true;
		}
		return true;
	}
	if (arg[len] == '=') {
		*value = arg + len + 1;
	} else if (a->i < a->argc) {
		*value = a->argv[a->i++];
	} else {
		fprintf(stderr, "zpa: option %s needs a value\n", name);
		*bad = true;
	}
	return true;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zpa: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'zpa %s%s--help' for more information.\n",
		cmd ? cmd : "", cmd ? " " : "");
	return CLI_EXIT_USAGE;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("zpa: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_ERROR;
}

bool cli_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text || !isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!text || !isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return false;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
		end += strlen(end);
	else if (!shift && strcasecmp(end, "B") == 0)
		end++;
	if (*end != '\0')
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *cli_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;
	uint64_t scale = 1;

	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && bytes >= scale * 1024)
		scale *= 1024, u++;
	if (bytes % scale == 0)
		snprintf(buf, size, "%llu %s", (unsigned long long)(bytes / scale), unit[u]);
	else
		snprintf(buf, size, "%.2f %s", (double)bytes / (double)scale, unit[u]);
	return buf;
}
