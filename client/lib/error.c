/* SPDX-License-Identifier: BSD-3-Clause */
/* error.c -- the one place internal -errno values become RDMACPY_E_* codes, their names, and the
 * table between the protocol's codes and the public ones that the daemon's COPY shares */
#include "client/lib/error.h"

#include <errno.h>
#include <stddef.h>

#include "client/include/rdmacpy.h"

/*
 * The daemon's ERROR codes, the errno the library records each as, and the public code it
 * becomes. The daemon's COPY reads it the other way: the library's result of the copy back to
 * the code it answers its own client with.
 */
static const struct {
	enum rcp_err proto;
	int err;
	int pub;
} proto_table[] = {
	{RCP_ERR_INVAL, -EINVAL, RDMACPY_E_INVAL},
	{RCP_ERR_NOENT, -ENOENT, RDMACPY_E_NOENT},
	{RCP_ERR_ACCESS, -EACCES, RDMACPY_E_ACCESS},
	{RCP_ERR_RANGE, -ERANGE, RDMACPY_E_RANGE},
	{RCP_ERR_LIMIT, -EDQUOT, RDMACPY_E_LIMIT},
	{RCP_ERR_AUTH, -EKEYREJECTED, RDMACPY_E_AUTH},
	{RCP_ERR_PROTO, -EBADMSG, RDMACPY_E_PROTO},
	{RCP_ERR_NOMEM, -ENOMEM, RDMACPY_E_NOMEM},
	{RCP_ERR_IO, -EIO, RDMACPY_E_IO},
	{RCP_ERR_NOTSUP, -EOPNOTSUPP, RDMACPY_E_NOTSUP},
	{RCP_ERR_BUSY, -EBUSY, RDMACPY_E_BUSY},
	{RCP_ERR_SHUTDOWN, -ESHUTDOWN, RDMACPY_E_SHUTDOWN},
	{RCP_ERR_INTERNAL, -EREMOTEIO, RDMACPY_E_SERVER},
	{RCP_ERR_EXIST, -EEXIST, RDMACPY_E_EXIST},
	{RCP_ERR_UNREACH, -EHOSTUNREACH, RDMACPY_E_CONNECT},
};
#define PROTO_ROWS (sizeof(proto_table) / sizeof(proto_table[0]))

/* rcp_err_errno -- a daemon ERROR code as recorded inside the library */
int rcp_err_errno(enum rcp_err code)
{
	size_t i;

	for (i = 0; i < PROTO_ROWS; i++)
		if (proto_table[i].proto == code)
			return proto_table[i].err;
	/* an unknown code from a newer daemon: its internal error, as far as we can tell */
	return -EREMOTEIO;
}

/* rcp_err_proto -- a request's public code as the protocol says it */
enum rcp_err rcp_err_proto(int rdmacpy_err)
{
	size_t i;

	if (rdmacpy_err == RDMACPY_OK)
		return RCP_ERR_NONE;
	for (i = 0; i < PROTO_ROWS; i++)
		if (proto_table[i].pub == rdmacpy_err)
			return proto_table[i].proto;
	switch (rdmacpy_err) {
	case RDMACPY_E_NODEV:
		return RCP_ERR_UNREACH;
	case RDMACPY_E_KEY:
		return RCP_ERR_AUTH;
	case RDMACPY_E_REGISTER:
		return RCP_ERR_NOMEM;
	case RDMACPY_E_REMOTE_ACCESS:
		return RCP_ERR_ACCESS;
	case RDMACPY_E_TIMEOUT:
	case RDMACPY_E_BROKEN:
	case RDMACPY_E_REMOTE_OP:
	case RDMACPY_E_RETRY_EXCEEDED:
	case RDMACPY_E_RNR_RETRY_EXCEEDED:
	case RDMACPY_E_FLUSHED:
	case RDMACPY_E_DEVICE:
		return RCP_ERR_IO;
	case RDMACPY_E_CANCELED:
		return RCP_ERR_SHUTDOWN;
	default:
		return RCP_ERR_INTERNAL;
	}
}

/* rcp_reject_errno -- why the daemon refused a connection */
int rcp_reject_errno(enum rcp_reject_reason reason)
{
	switch (reason) {
	case RCP_REJECT_FULL:
		return -EUSERS;
	case RCP_REJECT_BUSY:
		return -EAGAIN;
	case RCP_REJECT_SHUTDOWN:
		return -ESHUTDOWN;
	case RCP_REJECT_NEED_KEY:
		return -EKEYREJECTED;
	case RCP_REJECT_BAD_MAGIC:
	case RCP_REJECT_BAD_VERSION:
	default:
		return -EPROTONOSUPPORT;
	}
}

/* common -- what an errno means whatever the context; 1 if it has no common meaning */
static int common(int err)
{
	switch (err) {
	case 0:
		return RDMACPY_OK;
	case -ENOMEM:
		return RDMACPY_E_NOMEM;
	case -ENOTCONN:
		return RDMACPY_E_BROKEN;
	case -ENOKEY:
		return RDMACPY_E_KEY;
	case -ESTALE:
		return RDMACPY_E_STALE;
	case -ENETDOWN:
		return RDMACPY_E_NO_RAIL;
	case -EOVERFLOW:
	case -E2BIG:
	case -ENAMETOOLONG:
		return RDMACPY_E_INVAL;
	default:
		return 1;
	}
}

/* transfer -- a transfer's failure: mostly a completion status */
static int transfer(int err)
{
	switch (err) {
	case -EACCES:
		return RDMACPY_E_REMOTE_ACCESS;
	case -EREMOTEIO:
	case -ECONNABORTED:
		return RDMACPY_E_REMOTE_OP;
	case -ETIMEDOUT:
		return RDMACPY_E_RETRY_EXCEEDED;
	case -ENOBUFS:
		return RDMACPY_E_RNR_RETRY_EXCEEDED;
	case -EFAULT:
		return RDMACPY_E_LOCAL_PROTECTION;
	case -ECANCELED:
		return RDMACPY_E_FLUSHED;
	case -ESHUTDOWN:
		return RDMACPY_E_CANCELED;
	case -ERANGE:
		return RDMACPY_E_RANGE;
	case -EINVAL:
		return RDMACPY_E_INVAL;
	default:
		return RDMACPY_E_DEVICE;
	}
}

/* connect -- a connection's failure: resolving, the daemon's refusal, authentication */
static int connect_err(int err)
{
	switch (err) {
	case -ENODEV:
	case -EADDRNOTAVAIL:
	case -EAFNOSUPPORT:
	case -ENETUNREACH:
	case -EHOSTDOWN:
		return RDMACPY_E_NODEV;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ECONNRESET:
	case -ENOENT:
		return RDMACPY_E_CONNECT;
	case -EPROTONOSUPPORT:
	case -EPROTO:
	case -EBADMSG:
		return RDMACPY_E_PROTO;
	case -EKEYREJECTED:
		return RDMACPY_E_AUTH;
	case -EUSERS:
	case -EDQUOT:
		return RDMACPY_E_LIMIT;
	case -EAGAIN:
	case -EBUSY:
		return RDMACPY_E_BUSY;
	case -ESHUTDOWN:
		return RDMACPY_E_SHUTDOWN;
	case -ETIMEDOUT:
		return RDMACPY_E_TIMEOUT;
	case -ECANCELED:
		return RDMACPY_E_CANCELED;
	default:
		return RDMACPY_E_DEVICE;
	}
}

/* request -- a request's failure: mostly the daemon's refusal */
static int request(int err)
{
	size_t i;

	for (i = 0; i < PROTO_ROWS; i++)
		if (proto_table[i].err == err)
			return proto_table[i].pub;
	switch (err) {
	case -ETIMEDOUT:
		return RDMACPY_E_TIMEOUT;
	case -EPROTO:
		return RDMACPY_E_PROTO;
	case -ECANCELED:
		return RDMACPY_E_CANCELED;
	default:
		/* a request queued while connecting fails with the connection's reason */
		return connect_err(err);
	}
}

/* directory -- the cluster directory's failure: etcd away, refusing, or answering nonsense */
static int directory(int err)
{
	switch (err) {
	case -EINVAL:
		return RDMACPY_E_INVAL;
	case -EPROTONOSUPPORT:
	case -ELIBACC: /* libcurl is not installed */
		return RDMACPY_E_NOTSUP;
	case -EACCES:
		return RDMACPY_E_AUTH;
	case -EPROTO:
		return RDMACPY_E_PROTO;
	case -ENOENT:
		return RDMACPY_E_NOENT;
	default:
		return RDMACPY_E_CONNECT;
	}
}

/* local -- a failure with no peer: arguments, memory, registration, the device */
static int local(int err)
{
	switch (err) {
	case -EINVAL:
		return RDMACPY_E_INVAL;
	case -ERANGE:
		return RDMACPY_E_RANGE;
	case -EFAULT:
	case -EACCES:
	case -EPERM:
		return RDMACPY_E_REGISTER;
	case -EOPNOTSUPP:
		return RDMACPY_E_NOTSUP;
	case -ENODEV:
		return RDMACPY_E_NODEV;
	case -ETIMEDOUT:
		return RDMACPY_E_TIMEOUT;
	case -EBUSY:
	case -EAGAIN:
		return RDMACPY_E_BUSY;
	default:
		return err < 0 ? RDMACPY_E_DEVICE : RDMACPY_E_INTERNAL;
	}
}

/* rcp_err_public -- the public code, chosen by context */
int rcp_err_public(int err, enum rcp_err_ctx ctx)
{
	int c = common(err);

	if (c != 1)
		return c;
	switch (ctx) {
	case RCP_CTX_TRANSFER:
		return transfer(err);
	case RCP_CTX_REQUEST:
		return request(err);
	case RCP_CTX_CONNECT:
		return connect_err(err);
	case RCP_CTX_DIRECTORY:
		return directory(err);
	case RCP_CTX_LOCAL:
	default:
		return local(err);
	}
}

/* rdmacpy_strerror -- a short English description of 0 or an RDMACPY_E_* code */
const char *rdmacpy_strerror(int err)
{
	static const char *const text[] = {
		[0] = "success",
		[-(RDMACPY_E_INVAL - RDMACPY_E_BASE)] = "invalid argument",
		[-(RDMACPY_E_NOMEM - RDMACPY_E_BASE)] = "out of memory",
		[-(RDMACPY_E_NODEV - RDMACPY_E_BASE)] = "no RDMA device or address for the host",
		[-(RDMACPY_E_CONNECT - RDMACPY_E_BASE)] = "cannot connect to the daemon",
		[-(RDMACPY_E_PROTO - RDMACPY_E_BASE)] = "protocol error or version mismatch",
		[-(RDMACPY_E_AUTH - RDMACPY_E_BASE)] = "authentication failed",
		[-(RDMACPY_E_KEY - RDMACPY_E_BASE)] =
			"key file unusable (missing, wrong size or permissions)",
		[-(RDMACPY_E_TIMEOUT - RDMACPY_E_BASE)] = "timed out",
		[-(RDMACPY_E_BROKEN - RDMACPY_E_BASE)] = "connection broken",
		[-(RDMACPY_E_NOENT - RDMACPY_E_BASE)] = "no such region or grant",
		[-(RDMACPY_E_ACCESS - RDMACPY_E_BASE)] = "access rights not allowed",
		[-(RDMACPY_E_RANGE - RDMACPY_E_BASE)] = "range outside the region or grant",
		[-(RDMACPY_E_LIMIT - RDMACPY_E_BASE)] = "daemon limit reached",
		[-(RDMACPY_E_BUSY - RDMACPY_E_BASE)] = "busy",
		[-(RDMACPY_E_NOTSUP - RDMACPY_E_BASE)] = "not supported",
		[-(RDMACPY_E_IO - RDMACPY_E_BASE)] = "I/O error on the daemon",
		[-(RDMACPY_E_SHUTDOWN - RDMACPY_E_BASE)] = "daemon shutting down",
		[-(RDMACPY_E_EXIST - RDMACPY_E_BASE)] = "name already exists",
		[-(RDMACPY_E_SERVER - RDMACPY_E_BASE)] = "daemon internal error",
		[-(RDMACPY_E_REMOTE_ACCESS - RDMACPY_E_BASE)] =
			"remote access error (key, range or rights)",
		[-(RDMACPY_E_REMOTE_OP - RDMACPY_E_BASE)] = "remote operation error",
		[-(RDMACPY_E_RETRY_EXCEEDED - RDMACPY_E_BASE)] =
			"transport retries exceeded (peer unreachable)",
		[-(RDMACPY_E_RNR_RETRY_EXCEEDED - RDMACPY_E_BASE)] =
			"receiver-not-ready retries exceeded",
		[-(RDMACPY_E_LOCAL_PROTECTION - RDMACPY_E_BASE)] =
			"local protection error (buffer not registered for this access)",
		[-(RDMACPY_E_FLUSHED - RDMACPY_E_BASE)] =
			"work request flushed after an earlier failure",
		[-(RDMACPY_E_DEVICE - RDMACPY_E_BASE)] = "RDMA device error",
		[-(RDMACPY_E_REGISTER - RDMACPY_E_BASE)] = "memory registration failed",
		[-(RDMACPY_E_INPROGRESS - RDMACPY_E_BASE)] = "operation in progress",
		[-(RDMACPY_E_INTERNAL - RDMACPY_E_BASE)] = "internal error",
		[-(RDMACPY_E_CANCELED - RDMACPY_E_BASE)] = "canceled: the connection was closed",
		[-(RDMACPY_E_AMBIGUOUS - RDMACPY_E_BASE)] = "several nodes serve that name",
		[-(RDMACPY_E_STALE - RDMACPY_E_BASE)] =
			"the region was recreated since the grant was opened",
		[-(RDMACPY_E_NO_RAIL - RDMACPY_E_BASE)] = "every rail of the connection is down",
	};
	long i;

	if (err == RDMACPY_OK)
		return text[0];
	i = -(long)(err - RDMACPY_E_BASE);
	if (err > RDMACPY_E_FIRST || err < RDMACPY_E_LAST || i <= 0 ||
	    i >= (long)(sizeof(text) / sizeof(text[0])) || !text[i])
		return "unknown error";
	return text[i];
}
