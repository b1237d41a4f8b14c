/* SPDX-License-Identifier: BSD-3-Clause */
/* error.h -- the one place internal -errno values become RDMACPY_E_* codes, and back */
#ifndef RDMACPY_CLIENT_ERROR_H
#define RDMACPY_CLIENT_ERROR_H

#include <infiniband/verbs.h>

#include "proto/proto.h"

/*
 * Inside the library every function returns 0 or a negative errno, and an operation records
 * its first failure as one. The public codes are chosen once, where an operation ends or a
 * public function returns, because only there is the context known that tells, say, a
 * completion's remote access error (EACCES in a transfer) from the daemon's refusal of rights
 * (EACCES in a request). The errno each source of failure is recorded as:
 *
 *   completion statuses    rcp_vb_wc_errno (common/verbs_util.c)
 *   daemon ERROR codes     rcp_err_errno, from the table in error.c shared with the daemon
 *   rdma_cm refusals       rcp_reject_errno
 *   library conditions     -ETIMEDOUT  a request or wait ran out of time
 *                          -ENOTCONN   the connection failed earlier
 *                          -ESHUTDOWN  (transfers) the application closed the connection
 *                          -ECANCELED  (requests) the application closed the connection
 *                          -EPROTO     the daemon answered what it should not have
 *                          -EKEYREJECTED  the daemon's proof of the key was wrong
 *                          -ENOKEY     the key could not be loaded
 */
enum rcp_err_ctx {
	RCP_CTX_LOCAL,	   /* arguments, memory, the device: no peer involved */
	RCP_CTX_CONNECT,   /* resolving, connecting, authenticating */
	RCP_CTX_REQUEST,   /* a request to the daemon */
	RCP_CTX_TRANSFER,  /* a transfer's work requests */
	RCP_CTX_DIRECTORY, /* the cluster directory (etcd) */
};

/* rcp_err_public -- the RDMACPY_E_* code of 0 or a -errno in a context */
int rcp_err_public(int neg_errno, enum rcp_err_ctx ctx);

/* rcp_err_errno -- the -errno a daemon's ERROR code is recorded as */
int rcp_err_errno(enum rcp_err code);

/* rcp_err_proto -- the protocol code to report for an RDMACPY_E_* code of a request (what the
 * daemon's COPY answers with the library's result); RCP_ERR_NONE for 0 */
enum rcp_err rcp_err_proto(int rdmacpy_err);

/* rcp_reject_errno -- the -errno a daemon's rdma_cm refusal is recorded as */
int rcp_reject_errno(enum rcp_reject_reason reason);

#endif /* RDMACPY_CLIENT_ERROR_H */
