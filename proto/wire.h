/* SPDX-License-Identifier: BSD-3-Clause */
/* wire.h -- byte layouts of the control messages and of the rdma_cm private data */
#ifndef RDMACPY_PROTO_WIRE_H
#define RDMACPY_PROTO_WIRE_H

#include <stdint.h>

#include "proto/proto.h"

/*
 * Every multi-byte integer is little-endian. Each field sits at its natural alignment and gaps
 * are explicit reserved bytes, so the compiler adds no padding; the asserts pin each size.
 * These structs are never laid over a receive buffer (which need not be aligned): the codec
 * memcpy()s between them and the buffer and converts each field with le*toh/htole*.
 * String fields (uint8_t[]) hold a NUL-terminated string and zeros after it.
 */

struct rcp_wire_hdr {
	uint32_t magic;	 /* RCP_PROTO_MAGIC */
	uint8_t version; /* RCP_PROTO_VERSION */
	uint8_t type;	 /* enum rcp_msg_type */
	uint16_t flags;	 /* RCP_HDR_F_* */
	uint32_t req_id;
	uint16_t length; /* payload bytes after this header */
	uint16_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_hdr) == RCP_HDR_LEN, "header is 16 bytes");

struct rcp_wire_challenge {
	uint8_t nonce[RCP_NONCE_LEN];
	uint32_t caps;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_challenge) == 40, "CHALLENGE payload");

/* AUTH, AUTH_OK */
struct rcp_wire_mac {
	uint8_t mac[RCP_MAC_LEN];
};
_Static_assert(sizeof(struct rcp_wire_mac) == 32, "AUTH payload");

/* followed by 1..RCP_ERR_TEXT_MAX bytes of text, the last one its NUL */
struct rcp_wire_error {
	uint32_t code;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_error) == 8, "ERROR fixed part");

struct rcp_wire_list {
	uint32_t start;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_list) == 8, "LIST payload");

/* followed by count struct rcp_wire_region */
struct rcp_wire_list_reply {
	uint32_t count;
	uint32_t total;
};
_Static_assert(sizeof(struct rcp_wire_list_reply) == 8, "LIST_REPLY fixed part");

struct rcp_wire_region {
	uint8_t name[RCP_NAME_MAX];
	uint64_t size;
	uint8_t rights;
	uint8_t kind;
	uint16_t flags;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_region) == 80, "LIST_REPLY entry");
_Static_assert(RCP_HDR_LEN + sizeof(struct rcp_wire_list_reply) +
			       RCP_LIST_MAX * sizeof(struct rcp_wire_region) <=
		       RCP_MSG_MAX,
	       "a full LIST_REPLY fits a receive buffer");

struct rcp_wire_open {
	uint8_t name[RCP_NAME_MAX];
	uint64_t offset;
	uint64_t length;
	uint8_t rights;
	uint8_t reserved[7];
};
_Static_assert(sizeof(struct rcp_wire_open) == 88, "OPEN payload");

struct rcp_wire_open_reply {
	uint32_t grant_id;
	uint32_t flags;
	uint64_t addr;
	uint64_t length;
	uint32_t rkey;
	uint8_t rights;
	uint8_t reserved[3];
	uint64_t instance; /* version 4 on: the region's instance id */
};
_Static_assert(sizeof(struct rcp_wire_open_reply) == 40, "OPEN_REPLY payload");
#define RCP_WIRE_OPEN_REPLY_V3_LEN 32 /* versions 1 to 3 end before instance */

struct rcp_wire_close {
	uint32_t grant_id;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_close) == 8, "CLOSE payload");

struct rcp_wire_flush {
	uint8_t name[RCP_NAME_MAX]; /* all zero when grant_id is used */
	uint32_t grant_id;	    /* 0 when name is used */
	uint32_t reserved;
	uint64_t offset;
	uint64_t length;
};
_Static_assert(sizeof(struct rcp_wire_flush) == 88, "FLUSH payload");

struct rcp_wire_checksum {
	uint8_t name[RCP_NAME_MAX];
	uint64_t offset;
	uint64_t length;
};
_Static_assert(sizeof(struct rcp_wire_checksum) == 80, "CHECKSUM payload");

struct rcp_wire_checksum_reply {
	uint8_t digest[RCP_CHECKSUM_LEN];
};
_Static_assert(sizeof(struct rcp_wire_checksum_reply) == 32, "CHECKSUM_REPLY payload");

/* version 1: the first RCP_STAT_V1_COUNT counters in RCP_STAT_FIELDS order */
struct rcp_wire_stat_reply {
	uint64_t counter[RCP_STAT_V1_COUNT];
};
_Static_assert(sizeof(struct rcp_wire_stat_reply) == 128, "STAT_REPLY payload");

/* version 2: followed by count counters in RCP_STAT_FIELDS order */
struct rcp_wire_stat_reply_v2 {
	uint32_t count; /* RCP_STAT_V1_COUNT..RCP_STAT_WIRE_MAX */
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_stat_reply_v2) == 8, "STAT_REPLY v2 fixed part");
_Static_assert(RCP_HDR_LEN + sizeof(struct rcp_wire_stat_reply_v2) + RCP_STAT_WIRE_MAX * 8 <=
		       RCP_MSG_MAX,
	       "the longest STAT_REPLY fits a receive buffer");
_Static_assert(RCP_STAT_COUNT <= RCP_STAT_WIRE_MAX, "every counter fits");

struct rcp_wire_create {
	uint8_t name[RCP_NAME_MAX];
	uint64_t size;
	uint8_t rights;
	uint8_t reserved[7];
};
_Static_assert(sizeof(struct rcp_wire_create) == 80, "CREATE payload");

struct rcp_wire_create_reply {
	uint64_t size;
};
_Static_assert(sizeof(struct rcp_wire_create_reply) == 8, "CREATE_REPLY payload");

struct rcp_wire_info_reply {
	uint16_t port;
	uint8_t count;
	uint8_t reserved[5];
};
_Static_assert(sizeof(struct rcp_wire_info_reply) == 8, "INFO_REPLY fixed part");

struct rcp_wire_addr {
	uint8_t addr[RCP_ADDR_MAX];
	uint8_t device[RCP_DEVNAME_MAX];
	uint32_t rate_mbps;
	uint8_t port_num;
	uint8_t reserved[3];
};
_Static_assert(sizeof(struct rcp_wire_addr) == 88, "INFO_REPLY entry");
_Static_assert(RCP_HDR_LEN + sizeof(struct rcp_wire_info_reply) +
			       RCP_INFO_MAX * sizeof(struct rcp_wire_addr) <=
		       RCP_MSG_MAX,
	       "the longest INFO_REPLY fits a receive buffer");

struct rcp_wire_destroy {
	uint8_t name[RCP_NAME_MAX];
};
_Static_assert(sizeof(struct rcp_wire_destroy) == 64, "DESTROY payload");

struct rcp_wire_copy {
	uint8_t src[RCP_NAME_MAX];
	uint64_t src_offset;
	uint64_t length;
	uint8_t dst_host[RCP_HOST_MAX];
	uint16_t dst_port;
	uint16_t reserved0;
	uint32_t reserved1;
	uint8_t dst[RCP_NAME_MAX];
	uint64_t dst_offset;
};
_Static_assert(sizeof(struct rcp_wire_copy) == 416, "COPY payload");

struct rcp_wire_copy_progress {
	uint64_t done;
	uint64_t length;
};
_Static_assert(sizeof(struct rcp_wire_copy_progress) == 16, "COPY_PROGRESS payload");

struct rcp_wire_copy_reply {
	uint64_t bytes;
	uint32_t status;
	uint32_t reserved;
};
_Static_assert(sizeof(struct rcp_wire_copy_reply) == 16, "COPY_REPLY payload");

/* The reject layout must never change: daemons of every version use it to say no. */
struct rcp_wire_cm_reject {
	uint32_t magic;
	uint16_t version; /* the daemon's */
	uint16_t reason;
};
_Static_assert(sizeof(struct rcp_wire_cm_reject) == RCP_CM_REJECT_LEN, "reject data");

struct rcp_wire_cm_private {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	uint8_t nonce[RCP_NONCE_LEN];
	uint8_t reserved[8];
};
_Static_assert(sizeof(struct rcp_wire_cm_private) == RCP_CM_PRIVATE_LEN, "connect data");
_Static_assert(RCP_CM_PRIVATE_LEN <= 56, "fits rdma_cm's RC connect private data");

#endif /* RDMACPY_PROTO_WIRE_H */
