/* SPDX-License-Identifier: BSD-3-Clause */
/* check.c -- range and rights checks and the verbs access flags they map to (no I/O) */
#include "server/check.h"

#include <errno.h>

#include <infiniband/verbs.h>

/* rcp_check_range -- the range must name at least one byte and end inside the region */
int rcp_check_range(uint64_t size, uint64_t off, uint64_t len)
{
	/* written as a subtraction so that off + len cannot wrap past 2^64 into range */
	if (len == 0 || len > size || off > size - len)
		return -ERANGE;
	return 0;
}

/* rcp_round_up -- a multiple of the power of two a, or 0 when it would wrap */
uint64_t rcp_round_up(uint64_t x, uint64_t a)
{
	if (x > UINT64_MAX - (a - 1))
		return 0;
	return (x + a - 1) & ~(a - 1);
}

/* rcp_check_rights -- rw only on a rw region */
int rcp_check_rights(enum rcp_rights region, enum rcp_rights asked)
{
	if ((asked != RCP_RIGHTS_RO && asked != RCP_RIGHTS_RW) ||
	    (region != RCP_RIGHTS_RO && region != RCP_RIGHTS_RW))
		return -EINVAL;
	if (asked == RCP_RIGHTS_RW && region != RCP_RIGHTS_RW)
		return -EACCES;
	return 0;
}

/* rcp_mr_access -- registration flags: remote rights only through bound windows if any */
int rcp_mr_access(enum rcp_rights rights, bool mw)
{
	if (mw)
		return rights == RCP_RIGHTS_RW ? IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND
					       : IBV_ACCESS_MW_BIND;
	if (rights == RCP_RIGHTS_RW)
		return IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
	return IBV_ACCESS_REMOTE_READ;
}

/* rcp_grant_mw_access -- window flags for a grant's rights */
unsigned int rcp_grant_mw_access(enum rcp_rights rights)
{
	if (rights == RCP_RIGHTS_RW)
		return IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
	return IBV_ACCESS_REMOTE_READ;
}

/* rcp_rights_str -- for logs and LIST printing */
const char *rcp_rights_str(enum rcp_rights rights)
{
	switch (rights) {
	case RCP_RIGHTS_RO:
		return "ro";
	case RCP_RIGHTS_RW:
		return "rw";
	}
	return "?";
}

/* rcp_kind_str -- for logs */
const char *rcp_kind_str(enum rcp_region_kind kind)
{
	switch (kind) {
	case RCP_KIND_ANON:
		return "anon";
	case RCP_KIND_HUGE:
		return "huge";
	case RCP_KIND_FILE:
		return "file";
	}
	return "?";
}
