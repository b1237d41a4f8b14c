/* SPDX-License-Identifier: BSD-3-Clause */
/* test_spec.c -- HOST:REGION[@OFFSET][+LENGTH] parsing */

#include <criterion/criterion.h>
#include <errno.h>

#include "client/cli/spec.h"

static struct cli_spec spec;
static char err[256];

Test(spec, parse__host_and_region)
{
	cr_assert_eq(cli_spec_parse("198.18.0.1:buf", &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(spec.host, "198.18.0.1");
	cr_assert_str_eq(spec.region, "buf");
	cr_assert_eq(spec.offset, 0);
	cr_assert(!spec.has_length);
}

Test(spec, parse__offset_and_length_with_units)
{
	cr_assert_eq(cli_spec_parse("node1:data@64K+1MiB", &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(spec.region, "data");
	cr_assert_eq(spec.offset, 65536);
	cr_assert_eq(spec.length, 1 << 20);
	cr_assert(spec.has_length);
}

Test(spec, parse__length_only)
{
	cr_assert_eq(cli_spec_parse("h:r+4097", &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(spec.offset, 0);
	cr_assert_eq(spec.length, 4097);
}

Test(spec, parse__ipv6_in_brackets)
{
	cr_assert_eq(cli_spec_parse("[::1]:r@8", &spec, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(spec.host, "::1");
	cr_assert_str_eq(spec.region, "r");
	cr_assert_eq(spec.offset, 8);
}

Test(spec, parse__missing_parts_refused)
{
	cr_assert_eq(cli_spec_parse("nohost", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse(":r", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("h:", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("h:@4", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("[::1:r", &spec, err, sizeof(err)), -EINVAL);
}

Test(spec, parse__bad_numbers_refused)
{
	cr_assert_eq(cli_spec_parse("h:r@", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("h:r@x", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("h:r+0", &spec, err, sizeof(err)), -EINVAL);
	cr_assert_eq(cli_spec_parse("h:r+4@8", &spec, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "@OFFSET before +LENGTH"), "%s", err);
	cr_assert_eq(cli_spec_parse("h:r@18446744073709551615+2", &spec, err, sizeof(err)),
		     -ERANGE);
}

Test(spec, parse__too_long_refused)
{
	char longname[400];

	memset(longname, 'a', sizeof(longname));
	longname[0] = 'h';
	longname[1] = ':';
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(cli_spec_parse(longname, &spec, err, sizeof(err)), -ENAMETOOLONG);
}

Test(spec, is_remote__files_vs_specs)
{
	cr_assert(cli_spec_is_remote("h:r"));
	cr_assert(cli_spec_is_remote("[::1]:r"));
	cr_assert_not(cli_spec_is_remote("file.bin"));
	cr_assert_not(cli_spec_is_remote("./a:b"));
	cr_assert_not(cli_spec_is_remote("/tmp/a:b"));
	cr_assert_not(cli_spec_is_remote("-"));
}
