/* SPDX-License-Identifier: BSD-3-Clause */
/* session.h -- one client connection: its QP, receive buffers, reply queue and state */
#ifndef RDMACPY_SERVER_SESSION_H
#define RDMACPY_SERVER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "server/server.h"

/* Receives kept posted: one more than a client may have in flight, so the daemon sees the
 * request that breaks the bound instead of the client stalling on receiver-not-ready. */
#define RCP_SESSION_NRECV (RCP_MAX_OUTSTANDING + 2)
/* Send buffers: a reply per request in flight, plus CHALLENGE/AUTH_OK and a closing ERROR */
#define RCP_SESSION_NSEND (RCP_MAX_OUTSTANDING + 4)
/* Send queue: replies, a bind or an invalidate for each request in flight, a keepalive probe */
#define RCP_SESSION_SQ_DEPTH (RCP_SESSION_NSEND + 2 * RCP_MAX_OUTSTANDING + 9)

/* What a work request id names: kind in the high 32 bits, an index or grant id below. */
enum rcp_wr_kind {
	RCP_WR_RECV = 1,
	RCP_WR_SEND = 2,
	RCP_WR_BIND = 3,
	RCP_WR_INV = 4,
	RCP_WR_PROBE = 5, /* keepalive.c: is the client's QP still there? */
};
#define RCP_WR_ID(kind, v) (((uint64_t)(kind) << 32) | (uint32_t)(v))

enum rcp_session_state {
	/* accepted; waiting for rdma_cm to say ESTABLISHED before talking */
	RCP_SESSION_CONNECTING,
	/* CHALLENGE sent; AUTH is the only message accepted */
	RCP_SESSION_AUTHENTICATING,
	/* authenticated: requests are served */
	RCP_SESSION_READY,
	/* going away: nothing more is served, the last reply drains, then the disconnect */
	RCP_SESSION_DRAINING,
	/* rdma_cm reported the connection gone; resources are being released */
	RCP_SESSION_CLOSED,
};

struct rcp_grant;
TAILQ_HEAD(rcp_grant_list, rcp_grant);

/* A reply that found every send buffer busy waits here, encoded. */
struct rcp_backlog {
	STAILQ_ENTRY(rcp_backlog) link;
	unsigned int flags;
	size_t len;
	uint8_t buf[RCP_MSG_MAX];
};
STAILQ_HEAD(rcp_backlog_list, rcp_backlog);

struct rcp_session {
	LIST_ENTRY(rcp_session) link;
	struct rcp_server *srv;
	struct rdma_cm_id *id;
	struct rcp_dev *dev; /* the device the client came in on: its QP, windows and MRs */
	enum rcp_session_state state;
	uint64_t serial;
	uint16_t version; /* the protocol version the client proposed: replies are in it */
	char peer[64];	  /* "198.18.0.1:40000", for every log line about this client */
	char src[48];	  /* "198.18.0.1": what per-source limits count */
	uint64_t connected_ms;
	bool pending;		  /* not authenticated yet: counted in srv->npending */
	struct event *auth_timer; /* closes a pending session at the deadline */
	uint8_t client_nonce[RCP_NONCE_LEN];
	uint8_t server_nonce[RCP_NONCE_LEN];

	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct event *cq_event;
	uint8_t *bufs; /* NRECV receive buffers, then NSEND send buffers */
	struct ibv_mr *buf_mr;
	unsigned int send_flags[RCP_SESSION_NSEND]; /* 0: buffer free */
	struct rcp_backlog_list backlog;
	unsigned int inflight; /* requests received whose answer has not left yet */
	/* the requests in flight, for their latency (/metrics): type 0 is a free entry */
	struct {
		uint32_t req_id;
		enum rcp_msg_type type;
		uint64_t t0_ns;
	} track[RCP_MAX_OUTSTANDING];
	bool disconnecting;

	struct rcp_grant_list grants;
	uint32_t ngrants;
	uint32_t next_grant_id;

	struct rcp_req_list reqs; /* long requests on the workers (jobs.c) */
	uint32_t nlong;		  /* of which count against --max-jobs-per-client */

	uint64_t heard_ms;	   /* the last completion of any kind: the peer was alive then */
	bool probing;		   /* a keepalive probe is in flight */
	uint64_t probe_ms;	   /* when it was posted */
	struct event *close_timer; /* frees the session if DISCONNECTED never comes */
};

/* What a connect request brings. */
struct rcp_session_peer {
	const char *peer; /* address:port */
	const char *src;  /* address */
	uint16_t version; /* the protocol version it proposed (checked) */
	const uint8_t *nonce;
	struct rcp_dev *dev; /* the device it arrived on */
};

/* rcp_session_new -- CQ, completion channel (in the loop), QP on the shared PD, buffers, posted
 * receives and the authentication deadline, for a connect request on id, on its device. The session
 * is pending until it authenticates. Does not accept. Returns 0 or -errno. */
int rcp_session_new(struct rcp_server *srv, struct rdma_cm_id *id, const struct rcp_session_peer *p,
		    struct rcp_session **sp);

/* rcp_session_delete -- revoke grants, destroy QP, CQ, channel, buffers and the cm id; NULL
 * fine; clears *sp. Never called from the session's own completion handler. */
void rcp_session_delete(struct rcp_session **sp);

/* rcp_session_established -- the connection is up: send CHALLENGE */
void rcp_session_established(struct rcp_session *s);

/* rcp_session_reply -- send m as the answer to a request; 0 or -errno (the session is then
 * closed) */
int rcp_session_reply(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_session_send -- send m on the session without ending a request (COPY_PROGRESS); 0 or
 * -errno (the session is then closed) */
int rcp_session_send(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_session_refuse -- log a refusal naming the client, answer ERROR(code, text); the session
 * keeps serving */
void rcp_session_refuse(struct rcp_session *s, uint32_t req_id, enum rcp_err code, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

/* rcp_session_fail -- as refuse, then disconnect once the ERROR has left */
void rcp_session_fail(struct rcp_session *s, uint32_t req_id, enum rcp_err code, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

/* rcp_session_close -- stop serving and start the disconnect now (DISCONNECTED follows) */
void rcp_session_close(struct rcp_session *s, const char *why);

#endif /* RDMACPY_SERVER_SESSION_H */
