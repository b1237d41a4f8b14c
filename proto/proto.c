/* SPDX-License-Identifier: BSD-3-Clause */
/* proto.c -- rdma_cm private data codec, names of protocol values, message helpers */

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/wire.h"

static const char *const msg_type_names[] = {
	[RCP_MSG_CHALLENGE] = "CHALLENGE",
	[RCP_MSG_AUTH] = "AUTH",
	[RCP_MSG_AUTH_OK] = "AUTH_OK",
	[RCP_MSG_ERROR] = "ERROR",
	[RCP_MSG_LIST] = "LIST",
	[RCP_MSG_LIST_REPLY] = "LIST_REPLY",
	[RCP_MSG_OPEN] = "OPEN",
	[RCP_MSG_OPEN_REPLY] = "OPEN_REPLY",
	[RCP_MSG_CLOSE] = "CLOSE",
	[RCP_MSG_CLOSE_REPLY] = "CLOSE_REPLY",
	[RCP_MSG_FLUSH] = "FLUSH",
	[RCP_MSG_FLUSH_REPLY] = "FLUSH_REPLY",
	[RCP_MSG_CHECKSUM] = "CHECKSUM",
	[RCP_MSG_CHECKSUM_REPLY] = "CHECKSUM_REPLY",
	[RCP_MSG_STAT] = "STAT",
	[RCP_MSG_STAT_REPLY] = "STAT_REPLY",
	[RCP_MSG_CREATE] = "CREATE",
	[RCP_MSG_CREATE_REPLY] = "CREATE_REPLY",
	[RCP_MSG_DESTROY] = "DESTROY",
	[RCP_MSG_DESTROY_REPLY] = "DESTROY_REPLY",
	[RCP_MSG_COPY] = "COPY",
	[RCP_MSG_COPY_PROGRESS] = "COPY_PROGRESS",
	[RCP_MSG_COPY_REPLY] = "COPY_REPLY",
	[RCP_MSG_INFO] = "INFO",
	[RCP_MSG_INFO_REPLY] = "INFO_REPLY",
};

static const char *const err_names[] = {
	[RCP_ERR_NONE] = "NONE",	 [RCP_ERR_INVAL] = "INVAL",
	[RCP_ERR_NOENT] = "NOENT",	 [RCP_ERR_ACCESS] = "ACCESS",
	[RCP_ERR_RANGE] = "RANGE",	 [RCP_ERR_LIMIT] = "LIMIT",
	[RCP_ERR_AUTH] = "AUTH",	 [RCP_ERR_PROTO] = "PROTO",
	[RCP_ERR_NOMEM] = "NOMEM",	 [RCP_ERR_IO] = "IO",
	[RCP_ERR_NOTSUP] = "NOTSUP",	 [RCP_ERR_BUSY] = "BUSY",
	[RCP_ERR_SHUTDOWN] = "SHUTDOWN", [RCP_ERR_INTERNAL] = "INTERNAL",
	[RCP_ERR_EXIST] = "EXIST",	 [RCP_ERR_UNREACH] = "UNREACH",
};

static const char *const reject_names[] = {
	[RCP_REJECT_BAD_MAGIC] = "BAD_MAGIC", [RCP_REJECT_BAD_VERSION] = "BAD_VERSION",
	[RCP_REJECT_FULL] = "FULL",	      [RCP_REJECT_SHUTDOWN] = "SHUTDOWN",
	[RCP_REJECT_NEED_KEY] = "NEED_KEY",   [RCP_REJECT_BUSY] = "BUSY",
};

static const char *const stat_names[] = {
#define STAT_NAME(name) #name,
	RCP_STAT_FIELDS(STAT_NAME)
#undef STAT_NAME
};
_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == RCP_STAT_COUNT, "one name each");

/* all_zero -- whether n bytes are all zero (reserved fields) */
static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--) {
		if (*p++)
			return false;
	}
	return true;
}

/* rcp_msg_type_name -- printable name of a message type */
const char *rcp_msg_type_name(unsigned int type)
{
	if (type == 0 || type > RCP_MSG_TYPE_MAX)
		return "UNKNOWN";
	return msg_type_names[type];
}

/* rcp_err_name -- printable name of a protocol error code */
const char *rcp_err_name(unsigned int code)
{
	if (code > RCP_ERR_MAX)
		return "UNKNOWN";
	return err_names[code];
}

/* rcp_reject_name -- printable name of a connection reject reason */
const char *rcp_reject_name(unsigned int reason)
{
	if (reason == 0 || reason > RCP_REJECT_MAX)
		return "UNKNOWN";
	return reject_names[reason];
}

/* rcp_err_from_errno -- map an internal errno (either sign) to the code a client sees */
enum rcp_err rcp_err_from_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return RCP_ERR_NONE;
	case EINVAL:
		return RCP_ERR_INVAL;
	case ENOENT:
	case ENODEV:
		return RCP_ERR_NOENT;
	case EACCES:
	case EPERM:
		return RCP_ERR_ACCESS;
	case ERANGE:
	case EOVERFLOW:
		return RCP_ERR_RANGE;
	case EDQUOT:
	case EMFILE:
	case ENFILE:
	case ENOSPC:
		return RCP_ERR_LIMIT;
	case EKEYREJECTED:
		return RCP_ERR_AUTH;
	case EPROTO:
	case EBADMSG:
	case EPROTONOSUPPORT:
		return RCP_ERR_PROTO;
	case ENOMEM:
		return RCP_ERR_NOMEM;
	case EIO:
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return RCP_ERR_IO;
	case EOPNOTSUPP:
	case ENOSYS:
		return RCP_ERR_NOTSUP;
	case EBUSY:
	case EAGAIN:
		return RCP_ERR_BUSY;
	case ESHUTDOWN:
		return RCP_ERR_SHUTDOWN;
	case EEXIST:
		return RCP_ERR_EXIST;
	default:
		return RCP_ERR_INTERNAL;
	}
}

/* rcp_msg_reply_type -- which reply type answers a request type */
enum rcp_msg_type rcp_msg_reply_type(enum rcp_msg_type type)
{
	switch (type) {
	case RCP_MSG_CHALLENGE:
		return RCP_MSG_AUTH;
	case RCP_MSG_AUTH:
		return RCP_MSG_AUTH_OK;
	case RCP_MSG_LIST:
		return RCP_MSG_LIST_REPLY;
	case RCP_MSG_OPEN:
		return RCP_MSG_OPEN_REPLY;
	case RCP_MSG_CLOSE:
		return RCP_MSG_CLOSE_REPLY;
	case RCP_MSG_FLUSH:
		return RCP_MSG_FLUSH_REPLY;
	case RCP_MSG_CHECKSUM:
		return RCP_MSG_CHECKSUM_REPLY;
	case RCP_MSG_STAT:
		return RCP_MSG_STAT_REPLY;
	case RCP_MSG_CREATE:
		return RCP_MSG_CREATE_REPLY;
	case RCP_MSG_DESTROY:
		return RCP_MSG_DESTROY_REPLY;
	case RCP_MSG_COPY:
		return RCP_MSG_COPY_REPLY;
	case RCP_MSG_INFO:
		return RCP_MSG_INFO_REPLY;
	default:
		return 0;
	}
}

/* rcp_strfield_set -- fill a fixed-size string field, zero-padded as the wire wants it */
int rcp_strfield_set(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!src || !src[0])
		return -EINVAL;
	n = strnlen(src, cap);
	if (n == cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	memset(dst + n, 0, cap - n);
	return 0;
}

/* rcp_msg_init -- start a message from all zeros so unused fields encode as zero */
void rcp_msg_init(struct rcp_msg *m, enum rcp_msg_type type, uint32_t req_id)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = type;
	m->hdr.req_id = req_id;
}

/* rcp_msg_init_error -- build an ERROR that always encodes, whatever text it is given */
void rcp_msg_init_error(struct rcp_msg *m, uint32_t req_id, enum rcp_err code, const char *text)
{
	size_t n;
	size_t i;

	rcp_msg_init(m, RCP_MSG_ERROR, req_id);
	/* an out-of-range code would make the message undecodable: say INTERNAL instead */
	m->u.error.code = (code >= RCP_ERR_INVAL && code <= RCP_ERR_MAX) ? code : RCP_ERR_INTERNAL;
	if (!text)
		return;
	n = strnlen(text, sizeof(m->u.error.text) - 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		m->u.error.text[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
}

/* rcp_stat_name -- counter name by wire index, for printing STAT_REPLY */
const char *rcp_stat_name(size_t i)
{
	return i < RCP_STAT_COUNT ? stat_names[i] : NULL;
}

/* rcp_stat_value -- counter value by wire index, for printing STAT_REPLY */
uint64_t rcp_stat_value(const struct rcp_msg_stat_reply *s, size_t i)
{
	switch (i) {
#define STAT_CASE(name)         \
	case RCP_STAT_I_##name: \
		return s->name;
		RCP_STAT_FIELDS(STAT_CASE)
#undef STAT_CASE
	default:
		return 0;
	}
}

/* rcp_cm_private_encode -- connect private data proposing a version this side speaks */
int rcp_cm_private_encode(const struct rcp_cm_private *p, void *buf, size_t cap, size_t *len)
{
	struct rcp_wire_cm_private w;
	uint16_t version = p->version ? p->version : RCP_PROTO_VERSION;

	if ((p->flags & ~RCP_CM_F_ALL) || !rcp_version_ok(version))
		return -EINVAL;
	if (cap < sizeof(w))
		return -ENOSPC;
	memset(&w, 0, sizeof(w));
	w.magic = htole32(RCP_PROTO_MAGIC);
	w.version = htole16(version);
	w.flags = htole16(p->flags);
	memcpy(w.nonce, p->nonce, sizeof(w.nonce));
	memcpy(buf, &w, sizeof(w));
	*len = sizeof(w);
	return 0;
}

/* rcp_cm_private_decode -- check what a connecting client sent before anything else */
int rcp_cm_private_decode(const void *buf, size_t len, struct rcp_cm_private *out)
{
	struct rcp_wire_cm_private w;

	memset(out, 0, sizeof(*out));
	if (!buf || len < sizeof(w))
		return -EBADMSG;
	memcpy(&w, buf, sizeof(w));
	if (le32toh(w.magic) != RCP_PROTO_MAGIC)
		return -EPROTO;
	/* the version is kept even when refused, so the daemon can log what the client spoke */
	out->version = le16toh(w.version);
	if (!rcp_version_ok(out->version))
		return -EPROTONOSUPPORT;
	out->flags = le16toh(w.flags);
	if ((out->flags & ~RCP_CM_F_ALL) || !all_zero(w.reserved, sizeof(w.reserved))) {
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	memcpy(out->nonce, w.nonce, sizeof(out->nonce));
	return 0;
}

/* rcp_reject_for_version -- version 1 knows no BUSY: to it the daemon is full */
enum rcp_reject_reason rcp_reject_for_version(enum rcp_reject_reason reason, unsigned int v)
{
	if (reason == RCP_REJECT_BUSY && v < 2)
		return RCP_REJECT_FULL;
	return reason;
}

/* rcp_cm_reject_encode -- reject private data, always in this side's version */
int rcp_cm_reject_encode(const struct rcp_cm_reject *r, void *buf, size_t cap, size_t *len)
{
	struct rcp_wire_cm_reject w;

	if (r->reason < RCP_REJECT_BAD_MAGIC || r->reason > RCP_REJECT_MAX)
		return -EINVAL;
	if (cap < sizeof(w))
		return -ENOSPC;
	w.magic = htole32(RCP_PROTO_MAGIC);
	w.version = htole16(RCP_PROTO_VERSION);
	w.reason = htole16((uint16_t)r->reason);
	memcpy(buf, &w, sizeof(w));
	*len = sizeof(w);
	return 0;
}

/* rcp_cm_reject_decode -- tell an rdmacpy refusal from some other peer's */
int rcp_cm_reject_decode(const void *buf, size_t len, struct rcp_cm_reject *out)
{
	struct rcp_wire_cm_reject w;
	uint16_t reason;

	memset(out, 0, sizeof(*out));
	if (!buf || len < sizeof(w))
		return -EBADMSG;
	memcpy(&w, buf, sizeof(w));
	if (le32toh(w.magic) != RCP_PROTO_MAGIC)
		return -EPROTO;
	reason = le16toh(w.reason);
	if (reason < RCP_REJECT_BAD_MAGIC || reason > RCP_REJECT_MAX)
		return -EBADMSG;
	out->version = le16toh(w.version);
	out->reason = (enum rcp_reject_reason)reason;
	return 0;
}
