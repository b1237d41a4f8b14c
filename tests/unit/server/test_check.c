/* SPDX-License-Identifier: BSD-3-Clause */
/* test_check.c -- range and rights checks and the access flags regions and grants get */
#include <criterion/criterion.h>
#include <errno.h>

#include <infiniband/verbs.h>

#include "server/check.h"

Test(check_range, whole_region__ok)
{
	cr_assert_eq(rcp_check_range(4096, 0, 4096), 0);
}

Test(check_range, last_byte__ok)
{
	cr_assert_eq(rcp_check_range(4096, 4095, 1), 0);
}

Test(check_range, one_past_end__erange)
{
	cr_assert_eq(rcp_check_range(4096, 4095, 2), -ERANGE);
	cr_assert_eq(rcp_check_range(4096, 4096, 1), -ERANGE);
}

Test(check_range, zero_length__erange)
{
	cr_assert_eq(rcp_check_range(4096, 0, 0), -ERANGE);
}

Test(check_range, wrapping_offset__erange)
{
	cr_assert_eq(rcp_check_range(4096, UINT64_MAX, 2), -ERANGE);
	cr_assert_eq(rcp_check_range(UINT64_MAX, UINT64_MAX - 1, 4), -ERANGE);
}

Test(check_rights, ro_on_rw_and_ro__ok)
{
	cr_assert_eq(rcp_check_rights(RCP_RIGHTS_RW, RCP_RIGHTS_RO), 0);
	cr_assert_eq(rcp_check_rights(RCP_RIGHTS_RO, RCP_RIGHTS_RO), 0);
	cr_assert_eq(rcp_check_rights(RCP_RIGHTS_RW, RCP_RIGHTS_RW), 0);
}

Test(check_rights, rw_on_ro__eacces)
{
	cr_assert_eq(rcp_check_rights(RCP_RIGHTS_RO, RCP_RIGHTS_RW), -EACCES);
}

Test(check_rights, not_a_rights_value__einval)
{
	cr_assert_eq(rcp_check_rights(RCP_RIGHTS_RW, (enum rcp_rights)0), -EINVAL);
	cr_assert_eq(rcp_check_rights((enum rcp_rights)7, RCP_RIGHTS_RO), -EINVAL);
}

Test(mr_access, with_windows__no_remote_rights_on_the_mr)
{
	int rw = rcp_mr_access(RCP_RIGHTS_RW, true);
	int ro = rcp_mr_access(RCP_RIGHTS_RO, true);

	cr_assert_eq(rw, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND);
	cr_assert_eq(ro, IBV_ACCESS_MW_BIND);
}

Test(mr_access, fallback__mr_carries_the_grant_rights)
{
	cr_assert_eq(rcp_mr_access(RCP_RIGHTS_RW, false),
		     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	cr_assert_eq(rcp_mr_access(RCP_RIGHTS_RO, false), IBV_ACCESS_REMOTE_READ);
}

Test(mw_access, ro_reads_only__rw_reads_and_writes)
{
	cr_assert_eq(rcp_grant_mw_access(RCP_RIGHTS_RO), IBV_ACCESS_REMOTE_READ);
	cr_assert_eq(rcp_grant_mw_access(RCP_RIGHTS_RW),
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
}
