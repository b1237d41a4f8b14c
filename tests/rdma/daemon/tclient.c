/* SPDX-License-Identifier: BSD-3-Clause */
/* tclient.c -- raw rdmacpy test client: rdma_cm handshake, control messages, RDMA READ/WRITE */
#include "tclient.h"

#include "common/verbs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK	     (1u << 20)
#define MAX_INFLIGHT 8
#define WR_RECV	     1ull
#define WR_SEND	     2ull
#define WR_RDMA	     3ull

/* now_ms -- monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* wait_cm -- the next rdma_cm event, within timeout_ms; its type, copy of reject data */
static int wait_cm(struct tc *c, enum rdma_cm_event_type *type, int timeout_ms)
{
	struct pollfd pfd = {.fd = c->ch->fd, .events = POLLIN};
	struct rdma_cm_event *ev;
	struct rcp_cm_reject rj;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	if (rdma_get_cm_event(c->ch, &ev))
		return -errno;
	*type = ev->event;
	if (ev->event == RDMA_CM_EVENT_REJECTED && ev->param.conn.private_data &&
	    rcp_cm_reject_decode(ev->param.conn.private_data, ev->param.conn.private_data_len,
				 &rj) == 0)
		c->reject_reason = (int)rj.reason;
	rdma_ack_cm_event(ev);
	return 0;
}

/* expect_cm -- wait for one event type; anything else is an error */
static int expect_cm(struct tc *c, enum rdma_cm_event_type want)
{
	enum rdma_cm_event_type got;
	int ret = wait_cm(c, &got, 10000);

	if (ret)
		return ret;
	if (got == want)
		return 0;
	return got == RDMA_CM_EVENT_REJECTED ? -ECONNREFUSED : -EPROTO;
}

/* post_recv -- receive buffer i back to the QP */
static int post_recv(struct tc *c, unsigned int i)
{
	struct ibv_sge sge = {.addr = (uintptr_t)(c->msgs + (size_t)i * RCP_MSG_MAX),
			      .length = RCP_MSG_MAX,
			      .lkey = c->msg_mr->lkey};
	struct ibv_recv_wr wr = {.wr_id = (WR_RECV << 32) | i, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;

	return ibv_post_recv(c->id->qp, &wr, &bad) ? -EIO : 0;
}

/* tc_connect -- resolve, create the QP, connect with our private data, wait ESTABLISHED */
int tc_connect(struct tc *c, const char *ip, uint16_t port, uint16_t version, size_t data_len)
{
	return tc_connect_from(c, NULL, ip, port, version, data_len);
}

/* tc_connect_from -- tc_connect from the local address src (NULL: any) */
int tc_connect_from(struct tc *c, const char *src, const char *ip, uint16_t port,
		    uint16_t version, size_t data_len)
{
	struct sockaddr_in from;
	struct rcp_cm_private cp;
	uint8_t ack_timeout;
	struct rdma_conn_param param;
	struct ibv_qp_init_attr attr;
	struct sockaddr_in sin;
	uint8_t pdata[RCP_CM_PRIVATE_LEN];
	size_t plen;
	unsigned int i;
	int ret;

	memset(c, 0, sizeof(*c));
	c->next_req = 1;
	c->ch = rdma_create_event_channel();
	if (!c->ch)
		return -errno;
	if (rdma_create_id(c->ch, &c->id, c, RDMA_PS_TCP))
		return -errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		return -EINVAL;
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	if (src && inet_pton(AF_INET, src, &from.sin_addr) != 1)
		return -EINVAL;
	if (rdma_resolve_addr(c->id, src ? (struct sockaddr *)&from : NULL,
			      (struct sockaddr *)&sin, 2000))
		return -errno;
	ret = expect_cm(c, RDMA_CM_EVENT_ADDR_RESOLVED);
	if (ret)
		return ret;
	if (rdma_resolve_route(c->id, 2000))
		return -errno;
	ret = expect_cm(c, RDMA_CM_EVENT_ROUTE_RESOLVED);
	if (ret)
		return ret;
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = ibv_create_cq(c->id->verbs, 256, NULL, NULL, 0);
	c->msgs = aligned_alloc(4096, (size_t)(TC_NRECV + TC_NSEND) * RCP_MSG_MAX);
	c->data_len = data_len;
	c->data = aligned_alloc(4096, data_len);
	if (!c->pd || !c->cq || !c->msgs || !c->data)
		return -ENOMEM;
	memset(c->data, 0, data_len);
	c->msg_mr = ibv_reg_mr(c->pd, c->msgs, (size_t)(TC_NRECV + TC_NSEND) * RCP_MSG_MAX,
			       IBV_ACCESS_LOCAL_WRITE);
	c->data_mr = ibv_reg_mr(c->pd, c->data, data_len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->msg_mr || !c->data_mr)
		return -errno;
	memset(&attr, 0, sizeof(attr));
	attr.qp_type = IBV_QPT_RC;
	attr.send_cq = c->cq;
	attr.recv_cq = c->cq;
	attr.cap.max_send_wr = TC_NSEND + MAX_INFLIGHT;
	attr.cap.max_recv_wr = TC_NRECV;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	if (rdma_create_qp(c->id, c->pd, &attr))
		return -errno;
	for (i = 0; i < TC_NRECV; i++)
		if (post_recv(c, i))
			return -EIO;

	memset(&cp, 0, sizeof(cp));
	rcp_auth_nonce(c->client_nonce);
	memcpy(cp.nonce, c->client_nonce, RCP_NONCE_LEN);
	ret = rcp_cm_private_encode(&cp, pdata, sizeof(pdata), &plen);
	if (ret)
		return ret;
	if (version) {
		/* the encoder always writes ours; a peer of another version is simulated here */
		pdata[4] = (uint8_t)version;
		pdata[5] = (uint8_t)(version >> 8);
	}
	memset(&param, 0, sizeof(param));
	param.private_data = pdata;
	param.private_data_len = (uint8_t)plen;
	param.initiator_depth = 16;
	param.responder_resources = 1;
	param.retry_count = 7;
	param.rnr_retry_count = 7;
	/* As the library does: without an ACK timeout rxe never retransmits a lost packet. */
	ack_timeout = RCP_VB_ACK_TIMEOUT;
	rdma_set_option(c->id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &ack_timeout,
			sizeof(ack_timeout));
	if (rdma_connect(c->id, &param))
		return -errno;
	return expect_cm(c, RDMA_CM_EVENT_ESTABLISHED);
}

/* tc_close -- destroy in reverse order; destroying a connected id disconnects it */
void tc_close(struct tc *c)
{
	unsigned int i;

	if (c->id && c->id->qp)
		rdma_destroy_qp(c->id);
	if (c->data_mr)
		ibv_dereg_mr(c->data_mr);
	if (c->msg_mr)
		ibv_dereg_mr(c->msg_mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ch)
		rdma_destroy_event_channel(c->ch);
	for (i = c->qhead; i != c->qtail; i = (i + 1) % TC_QUEUED)
		free(c->queue[i]);
	free(c->data);
	free(c->msgs);
	memset(c, 0, sizeof(*c));
}

/* handle_wc -- queue received messages, count one-sided completions */
static void handle_wc(struct tc *c, const struct ibv_wc *wc)
{
	uint64_t kind = wc->wr_id >> 32;
	unsigned int i = (unsigned int)wc->wr_id;

	if (kind == WR_RECV) {
		if (wc->status != IBV_WC_SUCCESS) {
			c->qp_error = true;
			return;
		}
		if ((c->qtail + 1) % TC_QUEUED != c->qhead) {
			c->queue[c->qtail] = malloc(wc->byte_len ? wc->byte_len : 1);
			memcpy(c->queue[c->qtail], c->msgs + (size_t)i * RCP_MSG_MAX, wc->byte_len);
			c->queue_len[c->qtail] = wc->byte_len;
			c->qtail = (c->qtail + 1) % TC_QUEUED;
		}
		post_recv(c, i);
	} else if (kind == WR_RDMA) {
		c->rdma_pending--;
		if (wc->status != IBV_WC_SUCCESS && c->rdma_status == IBV_WC_SUCCESS)
			c->rdma_status = wc->status;
	} else if (wc->status != IBV_WC_SUCCESS) {
		c->qp_error = true;
	}
}

/* poll_some -- drain what the CQ holds now */
static void poll_some(struct tc *c)
{
	struct ibv_wc wc[16];
	int n;
	int i;

	do {
		n = ibv_poll_cq(c->cq, 16, wc);
		for (i = 0; i < n; i++)
			handle_wc(c, &wc[i]);
	} while (n > 0);
}

/* tc_wait_msg -- poll until a message is queued, the connection dies, or time runs out */
int tc_wait_msg(struct tc *c, struct rcp_msg *out, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int ret;

	for (;;) {
		poll_some(c);
		if (c->qhead != c->qtail)
			break;
		if (c->qp_error)
			return -ENOTCONN;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
	}
	ret = rcp_msg_decode(c->queue[c->qhead], c->queue_len[c->qhead], out);
	free(c->queue[c->qhead]);
	c->qhead = (c->qhead + 1) % TC_QUEUED;
	return ret;
}

/* tc_send_raw -- copy into the next send buffer and post; send completions are reaped later */
int tc_send_raw(struct tc *c, const void *buf, size_t len)
{
	unsigned int slot = c->next_send++ % TC_NSEND;
	uint8_t *p = c->msgs + (size_t)(TC_NRECV + slot) * RCP_MSG_MAX;
	struct ibv_sge sge = {
		.addr = (uintptr_t)p, .length = (uint32_t)len, .lkey = c->msg_mr->lkey};
	struct ibv_send_wr wr;
	struct ibv_send_wr *bad;

	if (len > RCP_MSG_MAX)
		return -E2BIG;
	memcpy(p, buf, len);
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = (WR_SEND << 32) | slot;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	return ibv_post_send(c->id->qp, &wr, &bad) ? -EIO : 0;
}

/* tc_send -- encode with a fresh request id unless the caller chose one */
int tc_send(struct tc *c, struct rcp_msg *m)
{
	uint8_t buf[RCP_MSG_MAX];
	size_t len;
	int ret;

	if (!m->hdr.req_id)
		m->hdr.req_id = c->next_req++;
	ret = rcp_msg_encode(m, buf, sizeof(buf), &len);
	if (ret)
		return ret;
	ret = tc_send_raw(c, buf, len);
	return ret ? ret : (int)m->hdr.req_id;
}

/* tc_call -- request and matching reply */
int tc_call(struct tc *c, struct rcp_msg *m, struct rcp_msg *reply, int timeout_ms)
{
	int req = tc_send(c, m);
	int ret;

	if (req < 0)
		return req;
	for (;;) {
		ret = tc_wait_msg(c, reply, timeout_ms);
		if (ret)
			return ret;
		if (reply->hdr.req_id == (uint32_t)req)
			return 0;
	}
}

/* tc_auth -- the handshake of docs/DESIGN.md from the client side */
int tc_auth(struct tc *c, const struct rcp_auth_key *key, struct rcp_msg *err)
{
	uint8_t snonce[RCP_NONCE_LEN];
	uint8_t expect[RCP_MAC_LEN];
	struct rcp_msg m;
	struct rcp_msg reply;
	int ret;

	ret = tc_wait_msg(c, &m, 10000);
	if (ret)
		return ret;
	if (m.hdr.type != RCP_MSG_CHALLENGE)
		return -EPROTO;
	c->caps = m.u.challenge.caps;
	memcpy(snonce, m.u.challenge.nonce, RCP_NONCE_LEN);
	rcp_msg_init(&m, RCP_MSG_AUTH, 0);
	if (key)
		rcp_auth_client_mac(key, snonce, c->client_nonce, m.u.auth.mac);
	ret = tc_call(c, &m, &reply, 10000);
	if (ret)
		return ret;
	if (reply.hdr.type == RCP_MSG_ERROR) {
		if (err)
			*err = reply;
		return -EACCES;
	}
	if (reply.hdr.type != RCP_MSG_AUTH_OK)
		return -EPROTO;
	if (key) {
		rcp_auth_server_mac(key, snonce, c->client_nonce, expect);
		if (!rcp_auth_verify(expect, reply.u.auth_ok.mac))
			return -EBADMSG;
	}
	return 0;
}

/* tc_rdma -- chunked one-sided transfer, at most MAX_INFLIGHT chunks in flight */
enum ibv_wc_status tc_rdma(struct tc *c, enum ibv_wr_opcode op, size_t loff, uint64_t raddr,
			   uint32_t rkey, size_t len)
{
	uint64_t deadline = now_ms() + 120000;
	struct ibv_send_wr wr;
	struct ibv_send_wr *bad;
	struct ibv_sge sge;
	size_t done = 0;

	c->rdma_status = IBV_WC_SUCCESS;
	c->rdma_pending = 0;
	while ((done < len || c->rdma_pending) && now_ms() < deadline) {
		if (done < len && c->rdma_pending < MAX_INFLIGHT &&
		    c->rdma_status == IBV_WC_SUCCESS) {
			size_t n = len - done < CHUNK ? len - done : CHUNK;

			sge.addr = (uintptr_t)(c->data + loff + done);
			sge.length = (uint32_t)n;
			sge.lkey = c->data_mr->lkey;
			memset(&wr, 0, sizeof(wr));
			wr.wr_id = WR_RDMA << 32;
			wr.opcode = op;
			wr.sg_list = &sge;
			wr.num_sge = 1;
			wr.send_flags = IBV_SEND_SIGNALED;
			wr.wr.rdma.remote_addr = raddr + done;
			wr.wr.rdma.rkey = rkey;
			if (ibv_post_send(c->id->qp, &wr, &bad))
				return IBV_WC_GENERAL_ERR;
			c->rdma_pending++;
			done += n;
			continue;
		}
		if (c->rdma_status != IBV_WC_SUCCESS && !c->rdma_pending)
			break;
		poll_some(c);
	}
	if (c->rdma_pending)
		return IBV_WC_RESP_TIMEOUT_ERR;
	return c->rdma_status;
}

/* tc_wait_disconnected -- the daemon hung up */
bool tc_wait_disconnected(struct tc *c, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	enum rdma_cm_event_type type;

	while (now_ms() < deadline) {
		if (wait_cm(c, &type, (int)(deadline - now_ms())))
			return false;
		if (type == RDMA_CM_EVENT_DISCONNECTED)
			return true;
	}
	return false;
}
