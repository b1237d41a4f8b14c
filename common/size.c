/* SPDX-License-Identifier: BSD-3-Clause */
/* size.c -- byte sizes as people write them: 64K, 4MiB, 1G */

#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

struct unit {
	const char *name;
	unsigned shift;
};

static const struct unit units[] = {
	{"", 0},     {"b", 0},	{"k", 10},   {"kib", 10}, {"m", 20},
	{"mib", 20}, {"g", 30}, {"gib", 30}, {"t", 40},	  {"tib", 40},
};

/* rcp_size_parse -- parse "N[unit]" into bytes */
int rcp_size_parse(const char *s, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = s;

	if (!s || !out || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name) != 0)
			continue;
		if (units[i].shift && n > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*out = n << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

/* rcp_size_format -- the largest unit that divides n exactly */
void rcp_size_format(uint64_t n, char *buf, size_t cap)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned i = 0;

	while (i < 4 && n && (n & 1023) == 0) {
		n >>= 10;
		i++;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)n, names[i]);
}
