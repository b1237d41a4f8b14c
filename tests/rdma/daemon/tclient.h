/* SPDX-License-Identifier: BSD-3-Clause */
/* tclient.h -- a small raw rdmacpy client (rdma_cm + verbs + proto) that drives rdmacpyd */
#ifndef RDMACPY_TESTS_RDMA_DAEMON_TCLIENT_H
#define RDMACPY_TESTS_RDMA_DAEMON_TCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "common/auth.h"
#include "proto/proto.h"

/*
 * Deliberately independent of librdmacpy: the daemon is tested against the wire protocol
 * itself, including messages a well-behaved client would never send.
 */

#define TC_NRECV  40
#define TC_NSEND  40
#define TC_QUEUED 64

struct tc {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	uint8_t *msgs; /* TC_NRECV receive buffers then TC_NSEND send buffers */
	struct ibv_mr *msg_mr;
	uint8_t *data; /* local memory for RDMA READ/WRITE */
	size_t data_len;
	struct ibv_mr *data_mr;
	unsigned int next_send;
	uint32_t next_req;
	uint8_t client_nonce[RCP_NONCE_LEN];
	uint32_t caps; /* from CHALLENGE */
	int reject_reason;
	bool qp_error; /* a receive was flushed: the connection is gone */
	/* received messages not yet taken */
	uint8_t *queue[TC_QUEUED];
	size_t queue_len[TC_QUEUED];
	unsigned int qhead;
	unsigned int qtail;
	/* one-sided operations in flight and their first failure */
	unsigned int rdma_pending;
	enum ibv_wc_status rdma_status;
};

/* tc_connect -- connect to ip:port with data_len bytes of registered local memory.
 * version != 0 puts that protocol version into the private data instead of ours.
 * Returns 0, -ECONNREFUSED (c->reject_reason says why), or another -errno. */
int tc_connect(struct tc *c, const char *ip, uint16_t port, uint16_t version, size_t data_len);

/* tc_connect_from -- tc_connect from local address src (NULL: any), so that one node can be
 * several sources */
int tc_connect_from(struct tc *c, const char *src, const char *ip, uint16_t port,
		    uint16_t version, size_t data_len);

/* tc_close -- tear everything down (no waiting on the peer); safe on a half-built tc */
void tc_close(struct tc *c);

/* tc_wait_msg -- next received message, decoded: 0, -ETIMEDOUT, -ENOTCONN (connection gone
 * and nothing queued), or the decoder's error */
int tc_wait_msg(struct tc *c, struct rcp_msg *out, int timeout_ms);

/* tc_send_raw -- SEND len bytes as they are */
int tc_send_raw(struct tc *c, const void *buf, size_t len);

/* tc_send -- encode and SEND m (req_id assigned if 0); returns the req_id used or -errno */
int tc_send(struct tc *c, struct rcp_msg *m);

/* tc_call -- send m and wait for the reply carrying its request id */
int tc_call(struct tc *c, struct rcp_msg *m, struct rcp_msg *reply, int timeout_ms);

/* tc_auth -- answer CHALLENGE with key (NULL: zero MAC) and check AUTH_OK's MAC.
 * 0; -EACCES with *err the ERROR reply when refused; -EBADMSG if the daemon's MAC is wrong */
int tc_auth(struct tc *c, const struct rcp_auth_key *key, struct rcp_msg *err);

/* tc_rdma -- RDMA WRITE or READ len bytes between data[loff] and raddr, in chunks, and wait;
 * returns the first failed completion's status or IBV_WC_SUCCESS */
enum ibv_wc_status tc_rdma(struct tc *c, enum ibv_wr_opcode op, size_t loff, uint64_t raddr,
			   uint32_t rkey, size_t len);

/* tc_wait_disconnected -- true if rdma_cm reports DISCONNECTED within timeout_ms */
bool tc_wait_disconnected(struct tc *c, int timeout_ms);

#endif /* RDMACPY_TESTS_RDMA_DAEMON_TCLIENT_H */
