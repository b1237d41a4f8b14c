/* SPDX-License-Identifier: BSD-3-Clause */
/* error.c -- the one place internal -errno, protocol codes and completion statuses become
 * RDMACPY_E_* codes, and their descriptions */
#include <errno.h>

#include "client/lib/internal.h"

/* rcp_cli_err -- an internal -errno to an RDMACPY_E_* code */
int rcp_cli_err(int neg_errno)
{
	switch (neg_errno) {
	case 0:
		return RDMACPY_OK;
	case -EINVAL:
	case -ENAMETOOLONG:
	case -EOVERFLOW:
	case -E2BIG:
		return RDMACPY_E_INVAL;
	case -ENOMEM:
	case -ENOSPC:
		return RDMACPY_E_NOMEM;
	case -ENODEV:
	case -EADDRNOTAVAIL:
	case -EAFNOSUPPORT:
		return RDMACPY_E_NODEV;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ENOENT:
		return RDMACPY_E_CONNECT;
	case -EPROTO:
	case -EPROTONOSUPPORT:
	case -EBADMSG:
		return RDMACPY_E_PROTO;
	case -EPERM:
		return RDMACPY_E_KEY;
	case -ETIMEDOUT:
		return RDMACPY_E_TIMEOUT;
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -ENOTCONN:
		return RDMACPY_E_BROKEN;
	case -EOPNOTSUPP:
		return RDMACPY_E_NOTSUP;
	case -EFAULT:
	case -EACCES:
		return RDMACPY_E_REGISTER;
	case -EBUSY:
	case -EAGAIN:
		return RDMACPY_E_BUSY;
	case -EIO:
		return RDMACPY_E_DEVICE;
	default:
		return neg_errno < 0 ? RDMACPY_E_DEVICE : RDMACPY_E_INTERNAL;
	}
}

/* rcp_cli_err_proto -- a daemon ERROR code to an RDMACPY_E_* code */
int rcp_cli_err_proto(enum rcp_err code)
{
	switch (code) {
	case RCP_ERR_NONE:
		return RDMACPY_OK;
	case RCP_ERR_INVAL:
		return RDMACPY_E_INVAL;
	case RCP_ERR_NOENT:
		return RDMACPY_E_NOENT;
	case RCP_ERR_ACCESS:
		return RDMACPY_E_ACCESS;
	case RCP_ERR_RANGE:
		return RDMACPY_E_RANGE;
	case RCP_ERR_LIMIT:
		return RDMACPY_E_LIMIT;
	case RCP_ERR_AUTH:
		return RDMACPY_E_AUTH;
	case RCP_ERR_PROTO:
		return RDMACPY_E_PROTO;
	case RCP_ERR_NOMEM:
		return RDMACPY_E_NOMEM;
	case RCP_ERR_IO:
		return RDMACPY_E_IO;
	case RCP_ERR_NOTSUP:
		return RDMACPY_E_NOTSUP;
	case RCP_ERR_BUSY:
		return RDMACPY_E_BUSY;
	case RCP_ERR_SHUTDOWN:
		return RDMACPY_E_SHUTDOWN;
	case RCP_ERR_EXIST:
		return RDMACPY_E_EXIST;
	case RCP_ERR_UNREACH:
		return RDMACPY_E_CONNECT;
	case RCP_ERR_INTERNAL:
	default:
		return RDMACPY_E_SERVER;
	}
}

/* rcp_cli_err_wc -- a failed completion's status to an RDMACPY_E_* code */
int rcp_cli_err_wc(enum ibv_wc_status status)
{
	switch (status) {
	case IBV_WC_SUCCESS:
		return RDMACPY_OK;
	case IBV_WC_REM_ACCESS_ERR:
		return RDMACPY_E_REMOTE_ACCESS;
	case IBV_WC_REM_INV_REQ_ERR:
	case IBV_WC_REM_OP_ERR:
	case IBV_WC_REM_INV_RD_REQ_ERR:
	case IBV_WC_REM_ABORT_ERR:
		return RDMACPY_E_REMOTE_OP;
	case IBV_WC_RETRY_EXC_ERR:
	case IBV_WC_RESP_TIMEOUT_ERR:
		return RDMACPY_E_RETRY_EXCEEDED;
	case IBV_WC_RNR_RETRY_EXC_ERR:
		return RDMACPY_E_RNR_RETRY_EXCEEDED;
	case IBV_WC_LOC_PROT_ERR:
	case IBV_WC_LOC_ACCESS_ERR:
		return RDMACPY_E_LOCAL_PROTECTION;
	case IBV_WC_WR_FLUSH_ERR:
		return RDMACPY_E_FLUSHED;
	default:
		return RDMACPY_E_DEVICE;
	}
}

/* rcp_cli_err_reject -- the reason in a daemon's rdma_cm reject to an RDMACPY_E_* code */
int rcp_cli_err_reject(enum rcp_reject_reason reason)
{
	switch (reason) {
	case RCP_REJECT_BAD_MAGIC:
	case RCP_REJECT_BAD_VERSION:
		return RDMACPY_E_PROTO;
	case RCP_REJECT_FULL:
		return RDMACPY_E_LIMIT;
	case RCP_REJECT_SHUTDOWN:
		return RDMACPY_E_SHUTDOWN;
	case RCP_REJECT_NEED_KEY:
		return RDMACPY_E_AUTH;
	case RCP_REJECT_BUSY:
		return RDMACPY_E_BUSY;
	default:
		return RDMACPY_E_PROTO;
	}
}

/* rdmacpy_strerror -- a short English description of 0 or an RDMACPY_E_* code */
const char *rdmacpy_strerror(int err)
{
	switch (err) {
	case RDMACPY_OK:
		return "success";
	case RDMACPY_E_INVAL:
		return "invalid argument";
	case RDMACPY_E_NOMEM:
		return "out of memory";
	case RDMACPY_E_NODEV:
		return "no RDMA device or address for the host";
	case RDMACPY_E_CONNECT:
		return "cannot connect to the daemon";
	case RDMACPY_E_PROTO:
		return "protocol error or version mismatch";
	case RDMACPY_E_AUTH:
		return "authentication failed";
	case RDMACPY_E_KEY:
		return "key file unusable (missing, wrong size or permissions)";
	case RDMACPY_E_TIMEOUT:
		return "timed out";
	case RDMACPY_E_BROKEN:
		return "connection broken";
	case RDMACPY_E_NOENT:
		return "no such region or grant";
	case RDMACPY_E_ACCESS:
		return "access rights not allowed";
	case RDMACPY_E_RANGE:
		return "range outside the region or grant";
	case RDMACPY_E_LIMIT:
		return "daemon limit reached";
	case RDMACPY_E_BUSY:
		return "busy";
	case RDMACPY_E_NOTSUP:
		return "not supported";
	case RDMACPY_E_IO:
		return "I/O error on the daemon";
	case RDMACPY_E_SHUTDOWN:
		return "daemon shutting down";
	case RDMACPY_E_EXIST:
		return "name already exists";
	case RDMACPY_E_SERVER:
		return "daemon internal error";
	case RDMACPY_E_REMOTE_ACCESS:
		return "remote access error (key, range or rights)";
	case RDMACPY_E_REMOTE_OP:
		return "remote operation error";
	case RDMACPY_E_RETRY_EXCEEDED:
		return "transport retries exceeded (peer unreachable)";
	case RDMACPY_E_RNR_RETRY_EXCEEDED:
		return "receiver-not-ready retries exceeded";
	case RDMACPY_E_LOCAL_PROTECTION:
		return "local protection error (buffer not registered for this access)";
	case RDMACPY_E_FLUSHED:
		return "work request flushed after an earlier failure";
	case RDMACPY_E_DEVICE:
		return "RDMA device error";
	case RDMACPY_E_REGISTER:
		return "memory registration failed";
	case RDMACPY_E_INPROGRESS:
		return "operation in progress";
	case RDMACPY_E_INTERNAL:
		return "internal error";
	default:
		return "unknown error";
	}
}
