/* SPDX-License-Identifier: BSD-3-Clause */
/* proto.h -- the rdmacpy control protocol: messages, rdma_cm private data, codec */
#ifndef RDMACPY_PROTO_PROTO_H
#define RDMACPY_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Control messages are small SENDs on the reliable-connected QP, one message per SEND, into
 * receive buffers of RCP_MSG_MAX bytes. Each starts with a 16-byte header (magic, version,
 * type, flags, request id, payload length) followed by a payload whose layout the type fixes
 * (proto/wire.h). Everything is little-endian with explicit reserved bytes that must be zero.
 *
 * The codec works on host-order structs (struct rcp_msg) and never touches a QP: callers own
 * the buffers. The encoding is canonical: a buffer the decoder accepts re-encodes to exactly
 * the same bytes, because every padding byte, reserved field and the tail of every string
 * field must be zero.
 *
 * Errors (negative errno):
 *   -EPROTO           wrong magic: the peer does not speak rdmacpy
 *   -EPROTONOSUPPORT  right magic, other protocol version
 *   -EBADMSG          malformed: truncated, unknown type, length or field out of range
 *   -E2BIG            decode: longer than RCP_MSG_MAX
 *   -ENOSPC           encode: the caller's buffer is too small
 *   -EINVAL           encode: the message would not pass the decoder's checks
 */

#define RCP_PROTO_MAGIC	    0x59504352u /* "RCPY" on the wire */
#define RCP_PROTO_VERSION   4 /* what this side speaks and proposes */
#define RCP_PROTO_VERSION_MIN 1 /* the oldest version this side still serves */
#define RCP_MSG_MAX	    4096 /* receive buffer size: no message is longer */
#define RCP_HDR_LEN	    16
#define RCP_PAYLOAD_MAX	    (RCP_MSG_MAX - RCP_HDR_LEN)
#define RCP_MAX_OUTSTANDING 16	/* requests in flight per client */
#define RCP_NAME_MAX	    64	/* region name field, including the NUL */
#define RCP_HOST_MAX	    256 /* destination host field of COPY, including the NUL */
#define RCP_ERR_TEXT_MAX    200 /* ERROR text, including the NUL */
#define RCP_LIST_MAX	    50	/* entries in one LIST_REPLY */
#define RCP_NONCE_LEN	    32
#define RCP_MAC_LEN	    32
#define RCP_CHECKSUM_LEN    32

/* Request ids are the client's; the daemon echoes them. Messages the daemon starts carry 0. */

enum rcp_msg_type {
	/* daemon -> client, first message after ESTABLISHED: server nonce and capabilities */
	RCP_MSG_CHALLENGE = 1,
	/* client -> daemon: HMAC over both nonces (zero when the daemon runs with --no-auth) */
	RCP_MSG_AUTH = 2,
	/* daemon -> client: the daemon's own HMAC, proving it holds the key too */
	RCP_MSG_AUTH_OK = 3,
	/* daemon -> client: the request with this id failed; code and a short text */
	RCP_MSG_ERROR = 4,
	/* client -> daemon: list regions from a start index; answered by LIST_REPLY */
	RCP_MSG_LIST = 5,
	/* daemon -> client: up to RCP_LIST_MAX regions, and how many exist in total */
	RCP_MSG_LIST_REPLY = 6,
	/* client -> daemon: grant me this range of a region with these rights */
	RCP_MSG_OPEN = 7,
	/* daemon -> client: the grant: id, remote address, length, rkey, rights */
	RCP_MSG_OPEN_REPLY = 8,
	/* client -> daemon: end a grant; its rkey stops working before the reply is sent */
	RCP_MSG_CLOSE = 9,
	/* daemon -> client: the grant is gone */
	RCP_MSG_CLOSE_REPLY = 10,
	/* client -> daemon: make a range durable (msync of a file-backed region) */
	RCP_MSG_FLUSH = 11,
	/* daemon -> client: the range is on stable storage */
	RCP_MSG_FLUSH_REPLY = 12,
	/* client -> daemon: digest a region range (BLAKE2b-256, common/checksum) */
	RCP_MSG_CHECKSUM = 13,
	/* daemon -> client: the digest */
	RCP_MSG_CHECKSUM_REPLY = 14,
	/* client -> daemon: read the daemon's counters */
	RCP_MSG_STAT = 15,
	/* daemon -> client: the counters */
	RCP_MSG_STAT_REPLY = 16,
	/* client -> daemon: create an anonymous region at run time */
	RCP_MSG_CREATE = 17,
	/* daemon -> client: created, with the size actually allocated (rounded up) */
	RCP_MSG_CREATE_REPLY = 18,
	/* client -> daemon: destroy a region created with CREATE */
	RCP_MSG_DESTROY = 19,
	/* daemon -> client: destroyed */
	RCP_MSG_DESTROY_REPLY = 20,
	/* client -> daemon: copy one of your ranges into a region on another daemon */
	RCP_MSG_COPY = 21,
	/* daemon -> client: a running COPY has moved this many bytes (same request id) */
	RCP_MSG_COPY_PROGRESS = 22,
	/* daemon -> client: the COPY ended, with how many bytes and a status code */
	RCP_MSG_COPY_REPLY = 23,
	/* client -> daemon (version 3): every address you serve on, for the rails */
	RCP_MSG_INFO = 24,
	/* daemon -> client: the addresses, with their device, port and rate */
	RCP_MSG_INFO_REPLY = 25,
};
#define RCP_MSG_TYPE_MAX RCP_MSG_INFO_REPLY

/* Protocol error codes, carried by ERROR and COPY_REPLY. */
enum rcp_err {
	RCP_ERR_NONE = 0,   /* only as COPY_REPLY status */
	RCP_ERR_INVAL = 1,  /* a field makes no sense */
	RCP_ERR_NOENT = 2,  /* no such region or grant */
	RCP_ERR_ACCESS = 3, /* rights not allowed on that region */
	RCP_ERR_RANGE = 4,  /* offset/length outside the region */
	RCP_ERR_LIMIT = 5,  /* a configured limit (grants, dynamic bytes, ...) is reached */
	RCP_ERR_AUTH = 6,   /* authentication failed or not done yet */
	RCP_ERR_PROTO = 7,  /* the message could not be decoded */
	RCP_ERR_NOMEM = 8,
	RCP_ERR_IO = 9,	     /* msync, file or network I/O failed */
	RCP_ERR_NOTSUP = 10, /* the daemon does not do that (disabled or unsupported) */
	RCP_ERR_BUSY = 11, /* region in use (e.g. DESTROY with grants open) or too many requests */
	RCP_ERR_SHUTDOWN = 12, /* the daemon is shutting down */
	RCP_ERR_INTERNAL = 13,
	RCP_ERR_EXIST = 14,   /* CREATE: the name is taken */
	RCP_ERR_UNREACH = 15, /* COPY: the destination daemon cannot be reached */
};
#define RCP_ERR_MAX RCP_ERR_UNREACH

enum rcp_rights {
	RCP_RIGHTS_RO = 1,
	RCP_RIGHTS_RW = 2,
};

enum rcp_region_kind {
	RCP_KIND_ANON = 1, /* anonymous memory */
	RCP_KIND_HUGE = 2, /* huge pages */
	RCP_KIND_FILE = 3, /* a file mapped MAP_SHARED: survives the daemon, FLUSH applies */
};

/* CHALLENGE capabilities */
#define RCP_CAP_MW	0x1u /* grants are type-2 memory windows (else the region MR's rkey) */
#define RCP_CAP_NO_AUTH 0x2u /* --no-auth: MACs are zero and unchecked */
#define RCP_CAP_COPY	0x4u /* third-party COPY is enabled */
#define RCP_CAP_CREATE	0x8u /* CREATE/DESTROY are enabled */
#define RCP_CAP_ALL	0xfu

/* LIST_REPLY region flags */
#define RCP_REGION_F_DYNAMIC 0x1u /* made by CREATE, may be DESTROYed */
#define RCP_REGION_F_ALL     0x1u

/* OPEN_REPLY flags */
#define RCP_GRANT_F_MR_FALLBACK 0x1u /* no memory window: the rkey is the region MR's */
#define RCP_GRANT_F_ALL		0x1u

/* Header flags: none defined in version 1; all bits must be zero. */
#define RCP_HDR_F_ALL 0x0u

/*
 * Strings: region names are 1..RCP_NAME_MAX-1 printable ASCII characters without spaces
 * (0x21..0x7e); the COPY host the same within RCP_HOST_MAX; ERROR text is 0..RCP_ERR_TEXT_MAX-1
 * bytes with no control characters. Host-side fields are NUL-terminated char arrays.
 */

/*
 * Versions. A connection speaks the version the client proposed in its connect private data,
 * when the daemon knows it; a daemon that does not refuses with BAD_VERSION naming its own, and
 * a client that knows that one connects again speaking it. Every message carries the version of
 * its connection. What version 2 added:
 * - STAT_REPLY is a count and that many counters, so counters can be added without a new
 *   version (a reader keeps the ones it knows); version 1 has exactly RCP_STAT_V1_COUNT.
 * - the BUSY reject reason (version 1 clients are told FULL instead).
 * What version 3 added:
 * - INFO and INFO_REPLY: the addresses a daemon serves on, one per RDMA port (rails). A
 *   version 1 or 2 message of those types does not decode.
 * What version 4 added:
 * - OPEN_REPLY ends with the region's instance id, which changes when the region is recreated
 *   (a daemon restart recreates anonymous regions; a file region keeps it while its file
 *   stays). A client that reconnects checks it before it writes or reads again.
 */

struct rcp_hdr_info {
	uint8_t version; /* decode: the sender's; encode: 0 means RCP_PROTO_VERSION */
	enum rcp_msg_type type;
	uint16_t flags; /* RCP_HDR_F_* */
	uint32_t req_id;
};

struct rcp_msg_challenge {
	uint8_t nonce[RCP_NONCE_LEN];
	uint32_t caps; /* RCP_CAP_* */
};

/* AUTH and AUTH_OK */
struct rcp_msg_mac {
	uint8_t mac[RCP_MAC_LEN];
};

struct rcp_msg_error {
	enum rcp_err code; /* never RCP_ERR_NONE */
	char text[RCP_ERR_TEXT_MAX];
};

struct rcp_msg_list {
	uint32_t start; /* index of the first region wanted */
};

struct rcp_region_info {
	char name[RCP_NAME_MAX];
	uint64_t size;		/* > 0 */
	enum rcp_rights rights; /* the most a grant on it may have */
	enum rcp_region_kind kind;
	uint32_t flags; /* RCP_REGION_F_* */
};

struct rcp_msg_list_reply {
	uint32_t count; /* entries in this reply, <= RCP_LIST_MAX and <= total */
	uint32_t total; /* regions the daemon has: ask again from start + count if more */
	struct rcp_region_info entries[RCP_LIST_MAX];
};

struct rcp_msg_open {
	char name[RCP_NAME_MAX];
	uint64_t offset;
	uint64_t length; /* > 0 */
	enum rcp_rights rights;
};

struct rcp_msg_open_reply {
	uint32_t grant_id; /* != 0 */
	uint32_t flags;	   /* RCP_GRANT_F_* */
	uint64_t addr;	   /* remote address of the first granted byte */
	uint64_t length;   /* > 0 */
	uint32_t rkey;
	enum rcp_rights rights;
	uint64_t instance; /* version 4: the region's instance id (0 before: unknown) */
};

struct rcp_msg_close {
	uint32_t grant_id; /* != 0 */
};

/* Exactly one of name (non-empty) and grant_id (!= 0); offset is relative to that one. */
struct rcp_msg_flush {
	char name[RCP_NAME_MAX];
	uint32_t grant_id;
	uint64_t offset;
	uint64_t length; /* > 0 */
};

struct rcp_msg_checksum {
	char name[RCP_NAME_MAX];
	uint64_t offset;
	uint64_t length; /* > 0 */
};

struct rcp_msg_checksum_reply {
	uint8_t digest[RCP_CHECKSUM_LEN];
};

/* The STAT_REPLY counters, in wire order. Add at the end only: the first RCP_STAT_V1_COUNT are
 * version 1's whole STAT_REPLY; a version 2 reply carries a count and ignores what it does not
 * know, so later counters need no new version. */
#define RCP_STAT_FIELDS(F)                                                \
	F(clients_connected) /* sessions now */                           \
	F(clients_total)     /* sessions since start */                   \
	F(grants_active)                                                  \
	F(grants_total)                                                   \
	F(mw_active) /* memory windows bound now */                       \
	F(regions)                                                        \
	F(bytes_registered) /* bytes under an MR, all regions */          \
	F(bytes_dynamic)    /* bytes of CREATEd regions */                \
	F(refusals)	    /* connections rejected */                    \
	F(requests)	    /* control requests served */                 \
	F(auth_failures)                                                  \
	F(copies_active)                                                  \
	F(copies_total)                                                   \
	F(bytes_copied) /* by third-party COPY */                         \
	F(mw_fallback)	/* 1 when grants fall back to MR rkeys, else 0 */ \
	F(uptime_ms)                                                      \
	F(clients_pending)   /* connections not authenticated yet */      \
	F(auth_timeouts)     /* closed for not authenticating in time */  \
	F(pending_evicted)   /* closed to make room for a newer one */    \
	F(jobs_queued)	     /* long requests waiting for a worker */     \
	F(jobs_running)	     /* long requests a worker is on */           \
	F(jobs_total)	     /* long requests started since start */      \
	F(jobs_refused)	     /* over a client's bound: ERROR(BUSY) */     \
	F(jobs_cancelled)    /* requester gone before the end */          \
	F(grant_mr_per_grant) /* 1: each grant registers its range */     \
	F(flushes)	     /* FLUSH requests answered */                \
	F(bytes_flushed)     /* written to files by FLUSH */
#define RCP_STAT_V1_COUNT 16
#define RCP_STAT_WIRE_MAX 256 /* counters a version 2 STAT_REPLY may carry */

struct rcp_msg_stat_reply {
#define RCP_STAT_DECLARE(name) uint64_t name;
	RCP_STAT_FIELDS(RCP_STAT_DECLARE)
#undef RCP_STAT_DECLARE
	/* decode: counters the sender sent (those past RCP_STAT_COUNT are dropped, those it did
	 * not send are 0); encode: ignored, every known counter goes out */
	uint32_t count;
};

/* RCP_STAT_I_<name>: a counter's wire index; RCP_STAT_COUNT: how many there are */
/* clang-format off */
enum {
#define RCP_STAT_INDEX(name) RCP_STAT_I_##name,
	RCP_STAT_FIELDS(RCP_STAT_INDEX)
#undef RCP_STAT_INDEX
	RCP_STAT_COUNT
};
/* clang-format on */

struct rcp_msg_create {
	char name[RCP_NAME_MAX];
	uint64_t size;		/* > 0 */
	enum rcp_rights rights; /* the most a grant on it may have */
};

struct rcp_msg_create_reply {
	uint64_t size; /* the size allocated, >= the size asked for */
};

struct rcp_msg_destroy {
	char name[RCP_NAME_MAX];
};

/* Copy src[src_offset, +length) of the receiving daemon to dst[dst_offset, +length) on the
 * daemon at dst_host:dst_port. Neither range may wrap around 2^64. */
struct rcp_msg_copy {
	char src[RCP_NAME_MAX];
	uint64_t src_offset;
	uint64_t length; /* > 0 */
	char dst_host[RCP_HOST_MAX];
	uint16_t dst_port; /* != 0 */
	char dst[RCP_NAME_MAX];
	uint64_t dst_offset;
};

struct rcp_msg_copy_progress {
	uint64_t done;	 /* <= length */
	uint64_t length; /* of the whole copy */
};

#define RCP_INFO_MAX	  8  /* addresses in one INFO_REPLY */
#define RCP_ADDR_MAX	  48 /* a numeric IPv4 or IPv6 address and its NUL */
#define RCP_DEVNAME_MAX	  32 /* an RDMA device name ("mlx5_0") and its NUL */

/* One address a daemon serves on: what a client needs to open a rail to it. */
struct rcp_addr_info {
	char addr[RCP_ADDR_MAX];      /* numeric, as getaddrinfo takes it */
	char device[RCP_DEVNAME_MAX]; /* the daemon's device behind it, for logs */
	uint32_t rate_mbps;	      /* the port's active rate (speed x width); 0 unknown */
	uint8_t port_num;	      /* the device's port, >= 1 */
};

struct rcp_msg_info_reply {
	uint16_t port;	/* the rdma_cm port every address listens on, != 0 */
	uint8_t count;	/* 1..RCP_INFO_MAX; the first is the daemon's main address */
	struct rcp_addr_info addrs[RCP_INFO_MAX];
};

struct rcp_msg_copy_reply {
	uint64_t bytes;	     /* copied before the end */
	enum rcp_err status; /* RCP_ERR_NONE on success */
};

/* One decoded message. Types with no payload (CLOSE_REPLY, FLUSH_REPLY, STAT, DESTROY_REPLY,
 * INFO) use no union member. */
struct rcp_msg {
	struct rcp_hdr_info hdr;
	union {
		struct rcp_msg_challenge challenge;
		struct rcp_msg_mac auth;
		struct rcp_msg_mac auth_ok;
		struct rcp_msg_error error;
		struct rcp_msg_list list;
		struct rcp_msg_list_reply list_reply;
		struct rcp_msg_open open;
		struct rcp_msg_open_reply open_reply;
		struct rcp_msg_close close;
		struct rcp_msg_flush flush;
		struct rcp_msg_checksum checksum;
		struct rcp_msg_checksum_reply checksum_reply;
		struct rcp_msg_stat_reply stat_reply;
		struct rcp_msg_create create;
		struct rcp_msg_create_reply create_reply;
		struct rcp_msg_destroy destroy;
		struct rcp_msg_copy copy;
		struct rcp_msg_copy_progress copy_progress;
		struct rcp_msg_copy_reply copy_reply;
		struct rcp_msg_info_reply info_reply;
	} u;
};

/* rcp_msg_init -- zero a message and set its type and request id */
void rcp_msg_init(struct rcp_msg *m, enum rcp_msg_type type, uint32_t req_id);

/* rcp_msg_init_error -- build an ERROR reply; text may be NULL, is cut to fit and has
 * control characters replaced by '?' so that it always encodes */
void rcp_msg_init_error(struct rcp_msg *m, uint32_t req_id, enum rcp_err code, const char *text);

/* rcp_msg_encode -- write m into buf[0, cap) in version m->hdr.version (0: the current one);
 * *len gets the message length. Returns 0, -EINVAL (m would not decode, or the version is not
 * one this side speaks), -ENOSPC (cap too small). */
int rcp_msg_encode(const struct rcp_msg *m, void *buf, size_t cap, size_t *len);

/* rcp_msg_encode_version -- rcp_msg_encode in version v (0: the current one), whatever m's
 * header says: a daemon answers each client in the version it speaks */
int rcp_msg_encode_version(const struct rcp_msg *m, unsigned int v, void *buf, size_t cap,
			   size_t *len);

/* rcp_msg_decode -- validate and decode the len bytes at buf (one received message, of any
 * version this side speaks; out->hdr.version says which). Returns 0, -EPROTO,
 * -EPROTONOSUPPORT, -EBADMSG or -E2BIG; *out is zeroed on failure. */
int rcp_msg_decode(const void *buf, size_t len, struct rcp_msg *out);

/* rcp_hdr_decode -- validate the header only (magic, version, flags, reserved, length) and
 * return it, type unchecked: lets the daemon answer a bad payload with ERROR(PROTO) under the
 * request id. Returns 0, -EPROTO, -EPROTONOSUPPORT, -EBADMSG or -E2BIG. */
int rcp_hdr_decode(const void *buf, size_t len, struct rcp_hdr_info *out);

/* rcp_msg_reply_type -- the reply a request expects (ERROR may always come instead);
 * CHALLENGE expects AUTH; 0 for a type that is not a request */
enum rcp_msg_type rcp_msg_reply_type(enum rcp_msg_type type);

/* rcp_msg_type_name -- "OPEN", "LIST_REPLY", ...; "UNKNOWN" for anything else */
const char *rcp_msg_type_name(unsigned int type);

/* rcp_err_name -- "NOENT", "ACCESS", ...; "UNKNOWN" for anything else */
const char *rcp_err_name(unsigned int code);

/* rcp_err_from_errno -- the protocol code to report for an internal -errno (or errno) */
enum rcp_err rcp_err_from_errno(int err);

/* rcp_strfield_set -- copy src into a fixed string field of cap bytes and zero the rest.
 * Returns 0, -EINVAL (src NULL or empty), -ENAMETOOLONG (does not fit with its NUL). */
int rcp_strfield_set(char *dst, size_t cap, const char *src);

/* rcp_stat_name -- the name of STAT_REPLY counter i ("grants_active"), NULL past the end */
const char *rcp_stat_name(size_t i);

/* rcp_stat_value -- the value of STAT_REPLY counter i, 0 past the end */
uint64_t rcp_stat_value(const struct rcp_msg_stat_reply *s, size_t i);

/*
 * rdma_cm private data.
 *
 * The client's rdma_connect carries struct rcp_cm_private (RCP_CM_PRIVATE_LEN bytes; rdma_cm
 * allows 56 on an RC connect). The daemon that refuses a connection says why in rdma_reject's
 * private data, struct rcp_cm_reject (RCP_CM_REJECT_LEN bytes). rdma_cm may hand the receiver
 * more bytes than were sent (padded to the transport's maximum): the decoders accept longer
 * input and ignore the tail.
 */
#define RCP_CM_PRIVATE_LEN 48
#define RCP_CM_REJECT_LEN  8

/* connect flags */
#define RCP_CM_F_NO_KEY 0x1u /* the client holds no key: only a --no-auth daemon will do */
#define RCP_CM_F_ALL	0x1u

struct rcp_cm_private {
	uint16_t version; /* decode: the peer's, also on -EPROTONOSUPPORT; encode: 0 is ours */
	uint16_t flags;	  /* RCP_CM_F_* */
	uint8_t nonce[RCP_NONCE_LEN]; /* client nonce, input to both MACs */
};

enum rcp_reject_reason {
	RCP_REJECT_BAD_MAGIC = 1,
	RCP_REJECT_BAD_VERSION = 2, /* version carries the daemon's */
	RCP_REJECT_FULL = 3,	    /* max clients connected */
	RCP_REJECT_SHUTDOWN = 4,
	RCP_REJECT_NEED_KEY = 5, /* client sent RCP_CM_F_NO_KEY, daemon requires auth */
	RCP_REJECT_BUSY = 6,	 /* version 2: too many connections authenticating; retry */
};
#define RCP_REJECT_MAX RCP_REJECT_BUSY

struct rcp_cm_reject {
	uint16_t version; /* decode: the daemon's version; encode: ignored */
	enum rcp_reject_reason reason;
};

/* rcp_cm_private_encode -- write connect private data proposing p->version (0: ours);
 * 0, -EINVAL (a version this side does not speak, unknown flags) or -ENOSPC */
int rcp_cm_private_encode(const struct rcp_cm_private *p, void *buf, size_t cap, size_t *len);

/* rcp_cm_private_decode -- validate connect private data: 0, -EPROTO (magic),
 * -EPROTONOSUPPORT (a version outside RCP_PROTO_VERSION_MIN..RCP_PROTO_VERSION), -EBADMSG
 * (short, unknown flags, reserved not zero) */
int rcp_cm_private_decode(const void *buf, size_t len, struct rcp_cm_private *out);

/* rcp_cm_reject_encode -- write reject private data; 0, -EINVAL or -ENOSPC */
int rcp_cm_reject_encode(const struct rcp_cm_reject *r, void *buf, size_t cap, size_t *len);

/* rcp_cm_reject_decode -- validate reject private data: 0, -EPROTO (not ours), -EBADMSG.
 * Any version is accepted: the reason is how a daemon of another version says no. */
int rcp_cm_reject_decode(const void *buf, size_t len, struct rcp_cm_reject *out);

/* rcp_reject_for_version -- the reason to send a client of version v: BUSY is FULL before 2 */
enum rcp_reject_reason rcp_reject_for_version(enum rcp_reject_reason reason, unsigned int v);

/* rcp_version_ok -- whether this side speaks protocol version v */
static inline bool rcp_version_ok(unsigned int v)
{
	return v >= RCP_PROTO_VERSION_MIN && v <= RCP_PROTO_VERSION;
}

/* rcp_reject_name -- "BAD_VERSION", "FULL", ...; "UNKNOWN" for anything else */
const char *rcp_reject_name(unsigned int reason);

#endif /* RDMACPY_PROTO_PROTO_H */
