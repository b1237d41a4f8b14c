/* SPDX-License-Identifier: BSD-3-Clause */
/* test_size.c -- size parsing and formatting */

#include <criterion/criterion.h>
#include <errno.h>

#include "common/size.h"

/* parsed -- parse s, asserting success */
static uint64_t parsed(const char *s)
{
	uint64_t v = 0;

	cr_assert_eq(rcp_size_parse(s, &v), 0, "'%s' refused", s);
	return v;
}

Test(size, parse__plain_bytes)
{
	cr_assert_eq(parsed("0"), 0);
	cr_assert_eq(parsed("4097"), 4097);
	cr_assert_eq(parsed("12b"), 12);
}

Test(size, parse__binary_units_any_case)
{
	cr_assert_eq(parsed("64K"), 65536);
	cr_assert_eq(parsed("64KiB"), 65536);
	cr_assert_eq(parsed("4m"), 4u << 20);
	cr_assert_eq(parsed("4MiB"), 4u << 20);
	cr_assert_eq(parsed("1G"), 1ull << 30);
	cr_assert_eq(parsed("2gib"), 2ull << 30);
	cr_assert_eq(parsed("1T"), 1ull << 40);
}

Test(size, parse__garbage_refused)
{
	uint64_t v = 7;

	cr_assert_eq(rcp_size_parse("", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("K", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("12Q", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse(" 12", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("12 K", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("-1", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("1.5G", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse(NULL, &v), -EINVAL);
	cr_assert_eq(v, 7, "output touched on error");
}

Test(size, parse__overflow_refused)
{
	uint64_t v;

	cr_assert_eq(rcp_size_parse("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(rcp_size_parse("16777216T", &v), -ERANGE);
	cr_assert_eq(rcp_size_parse("18446744073709551615", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
}

Test(size, format__largest_exact_unit)
{
	char b[32];

	rcp_size_format(64u << 20, b, sizeof(b));
	cr_assert_str_eq(b, "64 MiB");
	rcp_size_format(4097, b, sizeof(b));
	cr_assert_str_eq(b, "4097 B");
	rcp_size_format(0, b, sizeof(b));
	cr_assert_str_eq(b, "0 B");
	rcp_size_format(3ull << 30, b, sizeof(b));
	cr_assert_str_eq(b, "3 GiB");
}
