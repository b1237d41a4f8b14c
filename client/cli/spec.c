/* SPDX-License-Identifier: BSD-3-Clause */
/* spec.c -- remote range specs on the command line: HOST:REGION[@OFFSET][+LENGTH] */

#include "client/cli/spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"

/* copy_field -- copy [from, to) into dst with a bound */
static int copy_field(char *dst, size_t cap, const char *from, const char *to)
{
	size_t n = (size_t)(to - from);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, from, n);
	dst[n] = '\0';
	return 0;
}

/* parse_number -- a size with units, between two pointers */
static int parse_number(const char *from, const char *to, uint64_t *out)
{
	char tmp[32];

	if (to <= from || (size_t)(to - from) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, from, (size_t)(to - from));
	tmp[to - from] = '\0';
	return rcp_size_parse(tmp, out);
}

/* split_host -- find the ':' that ends the host part, honouring [v6] brackets */
static const char *split_host(const char *text)
{
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		return close && close[1] == ':' ? close + 1 : NULL;
	}
	return strchr(text, ':');
}

/* parse_tail -- "REGION[@OFFSET][+LENGTH]" from region on, into spec */
static int parse_tail(const char *text, const char *region, struct cli_spec *spec, char *err,
		      size_t errcap)
{
	const char *at;
	const char *plus;
	const char *end;
	int rc;

	end = region + strlen(region);
	plus = strchr(region, '+');
	at = strchr(region, '@');
	if (at && plus && plus < at) {
		snprintf(err, errcap, "'%s': write @OFFSET before +LENGTH", text);
		return -EINVAL;
	}
	rc = copy_field(spec->region, sizeof(spec->region), region, at ? at : plus ? plus : end);
	if (rc || !spec->region[0]) {
		snprintf(err, errcap, "'%s': %s", text,
			 rc ? "region name too long" : "no region name after ':'");
		return rc ? rc : -EINVAL;
	}
	if (at) {
		rc = parse_number(at + 1, plus ? plus : end, &spec->offset);
		if (rc) {
			snprintf(err, errcap,
				 "'%s': bad offset after '@' (use e.g. 4096, 64K, 1MiB)", text);
			return rc;
		}
	}
	if (plus) {
		rc = parse_number(plus + 1, end, &spec->length);
		if (rc || spec->length == 0) {
			snprintf(err, errcap,
				 "'%s': bad length after '+' (use e.g. 4096, 64K, 1MiB)", text);
			return rc ? rc : -EINVAL;
		}
		spec->has_length = true;
	}
	if (spec->has_length && spec->offset > UINT64_MAX - spec->length) {
		snprintf(err, errcap, "'%s': offset + length overflows", text);
		return -ERANGE;
	}
	return 0;
}

/* cli_spec_parse -- split "HOST:REGION[@OFFSET][+LENGTH]" */
int cli_spec_parse(const char *text, struct cli_spec *spec, char *err, size_t errcap)
{
	const char *colon = split_host(text);
	int rc;

	memset(spec, 0, sizeof(*spec));
	if (!colon || colon == text) {
		snprintf(err, errcap, "'%s' is not HOST:REGION", text);
		return -EINVAL;
	}
	if (text[0] == '[')
		rc = copy_field(spec->host, sizeof(spec->host), text + 1, colon - 1);
	else
		rc = copy_field(spec->host, sizeof(spec->host), text, colon);
	if (rc) {
		snprintf(err, errcap, "host name too long in '%s'", text);
		return rc;
	}
	return parse_tail(text, colon + 1, spec, err, errcap);
}

/* cli_spec_parse_name -- "REGION..." or "NODE/REGION..." */
int cli_spec_parse_name(const char *text, struct cli_spec *spec, char *err, size_t errcap)
{
	const char *slash = strchr(text, '/');
	const char *at = strpbrk(text, "@+");

	memset(spec, 0, sizeof(*spec));
	/* a '/' after the @OFFSET or +LENGTH is not a node's */
	if (slash && (!at || slash < at)) {
		if (copy_field(spec->node, sizeof(spec->node), text, slash) || slash == text) {
			snprintf(err, errcap, "'%s': bad node name before '/'", text);
			return -EINVAL;
		}
		return parse_tail(text, slash + 1, spec, err, errcap);
	}
	return parse_tail(text, text, spec, err, errcap);
}

/* cli_spec_is_remote -- whether an argument looks like HOST:REGION rather than a file */
bool cli_spec_is_remote(const char *text)
{
	const char *colon = split_host(text);

	/* A local path with a ':' in it can always be written as ./a:b */
	return colon && colon != text && text[0] != '/' && text[0] != '.' && colon[1] != '\0';
}
