/* SPDX-License-Identifier: BSD-3-Clause */
/* check.h -- the daemon's pure checks: ranges, rights, and the access flags they imply */
#ifndef RDMACPY_SERVER_CHECK_H
#define RDMACPY_SERVER_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

/* rcp_check_range -- [off, off+len) inside a region of size bytes, without wrapping:
 * 0, or -ERANGE (also for len 0, which names no byte) */
int rcp_check_range(uint64_t size, uint64_t off, uint64_t len);

/* rcp_round_up -- x rounded up to a multiple of the power of two a; 0 if that overflows */
uint64_t rcp_round_up(uint64_t x, uint64_t a);

/* rcp_check_rights -- may a grant with asked rights be made on a region with these rights:
 * 0, -EACCES (rw on a ro region), -EINVAL (not a rights value) */
int rcp_check_rights(enum rcp_rights region, enum rcp_rights asked);

/*
 * rcp_mr_access -- the IBV_ACCESS_* flags memory with these rights is registered with.
 * With memory windows (mw true) remote access comes only from a bound window, so the MR gets
 * none of its own: an MR rkey with remote rights would reach the memory from any QP on the
 * shared PD. rw: LOCAL_WRITE|MW_BIND (the verbs require LOCAL_WRITE on the MR for a window
 * with remote write), ro: MW_BIND. Without windows (the fallback) the MR rkey is the grant:
 * rw: LOCAL_WRITE|REMOTE_READ|REMOTE_WRITE, ro: REMOTE_READ.
 */
int rcp_mr_access(enum rcp_rights rights, bool mw);

/* rcp_grant_mw_access -- the window access of a grant: REMOTE_READ, plus REMOTE_WRITE for rw */
unsigned int rcp_grant_mw_access(enum rcp_rights rights);

/* rcp_rights_str -- "ro", "rw" or "?" */
const char *rcp_rights_str(enum rcp_rights rights);

/* rcp_kind_str -- "anon", "huge", "file" or "?" */
const char *rcp_kind_str(enum rcp_region_kind kind);

#endif /* RDMACPY_SERVER_CHECK_H */
