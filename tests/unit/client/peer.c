/* SPDX-License-Identifier: BSD-3-Clause */
/* peer.c -- a mock rdmacpyd for client unit tests, played over the verbs mock */
#include "tests/unit/client/peer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/auth.h"
#include "tests/unit/mocks/verbs_mock.h"

#define PEER_MAX_QP   32
#define PEER_MAX_HELD 64

struct peer_qp {
	struct ibv_qp *qp;
	uint8_t server_nonce[RCP_NONCE_LEN];
	uint8_t client_nonce[RCP_NONCE_LEN];
	bool challenged;
};

static struct {
	struct peer_cfg cfg;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	struct peer_qp qps[PEER_MAX_QP];
	unsigned int nqp;
	size_t recv_seen;
	size_t sent_seen;
	uint32_t next_grant;
	atomic_bool mac_bad;
	atomic_uint requests[RCP_MSG_TYPE_MAX + 1];
	/* hold mode: requests waiting for their answer */
	struct {
		struct peer_qp *pq;
		struct rcp_msg req;
	} held[PEER_MAX_HELD];
	unsigned int nheld;
	atomic_uint max_held;
	_Atomic uint64_t instance;  /* the region instance OPEN_REPLY tells */
	_Atomic uint64_t addr_base; /* where the region's first byte is (OPEN_REPLY addr) */
} P;

static const uint8_t key_bytes[PEER_KEY_LEN] = "0123456789abcdef0123456789abcde";

/* peer_key -- the key both sides use */
const uint8_t *peer_key(void)
{
	return key_bytes;
}

/* find_qp -- the peer's record of qp, added on first sight */
static struct peer_qp *find_qp(struct ibv_qp *qp)
{
	unsigned int i;

	for (i = 0; i < P.nqp; i++)
		if (P.qps[i].qp == qp)
			return &P.qps[i];
	if (P.nqp == PEER_MAX_QP)
		return NULL;
	memset(&P.qps[P.nqp], 0, sizeof(P.qps[0]));
	P.qps[P.nqp].qp = qp;
	rcp_auth_nonce(P.qps[P.nqp].server_nonce);
	return &P.qps[P.nqp++];
}

/* send_msg -- deliver m to the client's qp, retrying while no receive is posted */
static void send_msg(struct ibv_qp *qp, const struct rcp_msg *m)
{
	uint8_t buf[RCP_MSG_MAX];
	size_t len;
	int tries;

	if (rcp_msg_encode(m, buf, sizeof(buf), &len))
		return;
	for (tries = 0; tries < 2000; tries++) {
		if (rcp_mock_deliver_recv(qp, buf, len) != -ENOENT)
			return;
		usleep(500);
	}
}

/* answer -- the daemon's reply to one request */
static void answer(struct peer_qp *pq, const struct rcp_msg *req)
{
	uint8_t pdata[256];
	size_t plen = 0;
	struct rcp_cm_private priv;
	struct rcp_auth_key key;
	uint8_t mac[RCP_MAC_LEN];
	struct rcp_msg m;
	uint32_t id = req->hdr.req_id;

	atomic_fetch_add(&P.requests[req->hdr.type], 1);
	switch (req->hdr.type) {
	case RCP_MSG_AUTH:
		/* the client's nonce came in the private data of this QP's connect */
		if (rcp_mock_connect_pdata(pq->qp, pdata, sizeof(pdata), &plen) &&
		    !rcp_cm_private_decode(pdata, plen, &priv))
			memcpy(pq->client_nonce, priv.nonce, RCP_NONCE_LEN);
		rcp_auth_key_set(&key, key_bytes, sizeof(key_bytes));
		rcp_auth_client_mac(&key, pq->server_nonce, pq->client_nonce, mac);
		if (!P.cfg.no_auth && memcmp(mac, req->u.auth.mac, RCP_MAC_LEN))
			atomic_store(&P.mac_bad, true);
		if (P.cfg.auth_err) {
			rcp_msg_init_error(&m, id, P.cfg.auth_err, "authentication failed");
			break;
		}
		rcp_msg_init(&m, RCP_MSG_AUTH_OK, id);
		if (!P.cfg.no_auth)
			rcp_auth_server_mac(&key, pq->server_nonce, pq->client_nonce,
					    m.u.auth_ok.mac);
		if (P.cfg.bad_server_mac)
			m.u.auth_ok.mac[0] ^= 1;
		break;
	case RCP_MSG_LIST:
		rcp_msg_init(&m, RCP_MSG_LIST_REPLY, id);
		m.u.list_reply.total = 2;
		m.u.list_reply.count = req->u.list.start < 2 ? 2 - req->u.list.start : 0;
		for (uint32_t i = 0; i < m.u.list_reply.count; i++) {
			struct rcp_region_info *r = &m.u.list_reply.entries[i];

			snprintf(r->name, sizeof(r->name), "reg%u", req->u.list.start + i);
			r->size = PEER_REGION_SIZE;
			r->rights = RCP_RIGHTS_RW;
			r->kind = i ? RCP_KIND_FILE : RCP_KIND_ANON;
		}
		break;
	case RCP_MSG_OPEN:
		if (P.cfg.open_err) {
			rcp_msg_init_error(&m, id, P.cfg.open_err, "no you don't");
			break;
		}
		rcp_msg_init(&m, RCP_MSG_OPEN_REPLY, id);
		m.u.open_reply.grant_id = ++P.next_grant;
		m.u.open_reply.addr = atomic_load(&P.addr_base) + req->u.open.offset;
		m.u.open_reply.length = req->u.open.length;
		m.u.open_reply.rkey = PEER_RKEY_BASE + (uint32_t)(pq - P.qps);
		m.u.open_reply.rights = P.cfg.rights ? P.cfg.rights : req->u.open.rights;
		m.u.open_reply.flags = P.cfg.mr_fallback ? RCP_GRANT_F_MR_FALLBACK : 0;
		m.u.open_reply.instance = atomic_load(&P.instance);
		break;
	case RCP_MSG_CLOSE:
		rcp_msg_init(&m, RCP_MSG_CLOSE_REPLY, id);
		break;
	case RCP_MSG_FLUSH:
		rcp_msg_init(&m, RCP_MSG_FLUSH_REPLY, id);
		break;
	case RCP_MSG_CHECKSUM:
		/* a digest that names the request (its offset), so a client that matched the
		 * wrong answer to a request is caught */
		rcp_msg_init(&m, RCP_MSG_CHECKSUM_REPLY, id);
		memset(m.u.checksum_reply.digest,
		       req->u.checksum.offset ? (int)(req->u.checksum.offset & 0xff) : 0xab,
		       RCP_CHECKSUM_LEN);
		break;
	case RCP_MSG_CREATE:
		rcp_msg_init(&m, RCP_MSG_CREATE_REPLY, id);
		m.u.create_reply.size = (req->u.create.size + 4095) & ~4095ull;
		break;
	case RCP_MSG_DESTROY:
		rcp_msg_init(&m, RCP_MSG_DESTROY_REPLY, id);
		break;
	case RCP_MSG_COPY:
		if (P.cfg.copy_err) {
			rcp_msg_init_error(&m, id, P.cfg.copy_err, "copy refused");
			break;
		}
		/* progress at a quarter, a half and three quarters, then the reply */
		for (uint64_t q = 1; q <= 3; q++) {
			usleep(P.cfg.copy_gap_ms * 1000u);
			rcp_msg_init(&m, RCP_MSG_COPY_PROGRESS, id);
			m.u.copy_progress.done = req->u.copy.length / 4 * q;
			m.u.copy_progress.length = req->u.copy.length;
			send_msg(pq->qp, &m);
		}
		usleep(P.cfg.copy_gap_ms * 1000u);
		rcp_msg_init(&m, RCP_MSG_COPY_REPLY, id);
		m.u.copy_reply.status = P.cfg.copy_status;
		m.u.copy_reply.bytes =
			P.cfg.copy_status ? req->u.copy.length / 2 : req->u.copy.length;
		break;
	case RCP_MSG_INFO:
		rcp_msg_init(&m, RCP_MSG_INFO_REPLY, id);
		m.u.info_reply.port = 7471;
		m.u.info_reply.count = (uint8_t)(P.cfg.addrs ? P.cfg.addrs : 1);
		for (unsigned int i = 0; i < m.u.info_reply.count; i++) {
			snprintf(m.u.info_reply.addrs[i].addr, sizeof(m.u.info_reply.addrs[i].addr),
				 "127.0.0.%u", i + 1);
			snprintf(m.u.info_reply.addrs[i].device,
				 sizeof(m.u.info_reply.addrs[i].device), "mock%u", i);
			m.u.info_reply.addrs[i].port_num = 1;
			m.u.info_reply.addrs[i].rate_mbps = 100000;
		}
		break;
	case RCP_MSG_STAT:
		rcp_msg_init(&m, RCP_MSG_STAT_REPLY, id);
		m.u.stat_reply.clients_connected = 1;
		m.u.stat_reply.uptime_ms = 4242;
		break;
	default:
		rcp_msg_init_error(&m, id, RCP_ERR_PROTO, "unexpected");
		break;
	}
	send_msg(pq->qp, &m);
}

/* take -- a request: answered at once, never (silent), or held until enough are in */
static void take(struct peer_qp *pq, const struct rcp_msg *req)
{
	unsigned int i;
	unsigned int n;

	if (P.cfg.silent & (1u << req->hdr.type)) {
		atomic_fetch_add(&P.requests[req->hdr.type], 1);
		return;
	}
	if (!P.cfg.hold || req->hdr.type == RCP_MSG_AUTH) {
		answer(pq, req);
		return;
	}
	if (P.nheld < PEER_MAX_HELD) {
		P.held[P.nheld].pq = pq;
		P.held[P.nheld].req = *req;
		P.nheld++;
	}
	if (P.nheld > atomic_load(&P.max_held))
		atomic_store(&P.max_held, P.nheld);
	if (P.nheld < P.cfg.hold)
		return;
	/* every 7th, wrapping: an order unlike the one they came in (hold is not a multiple
	 * of 7 in the tests) */
	n = P.nheld;
	for (i = 0; i < n; i++) {
		unsigned int k = (i * 7 + 3) % n;

		answer(P.held[k].pq, &P.held[k].req);
	}
	P.nheld = 0;
}

/* peer_max_held -- the most requests held at once */
unsigned int peer_max_held(void)
{
	return atomic_load(&P.max_held);
}

/* peer_main -- challenge every new QP, answer every request */
static void *peer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&P.stop)) {
		size_t n = rcp_mock_recv_count();
		size_t s = rcp_mock_sent_count();

		for (; P.recv_seen < n; P.recv_seen++) {
			const struct rcp_mock_wr *w = rcp_mock_recv(P.recv_seen);
			struct peer_qp *pq = w ? find_qp(w->qp) : NULL;
			struct rcp_msg m;

			if (!pq || pq->challenged || P.cfg.no_challenge)
				continue;
			pq->challenged = true;
			rcp_msg_init(&m, RCP_MSG_CHALLENGE, 0);
			memcpy(m.u.challenge.nonce, pq->server_nonce, RCP_NONCE_LEN);
			m.u.challenge.caps = RCP_CAP_MW | (P.cfg.no_auth ? RCP_CAP_NO_AUTH : 0);
			send_msg(pq->qp, &m);
		}
		for (; P.sent_seen < s; P.sent_seen++) {
			const struct rcp_mock_wr *w = rcp_mock_sent(P.sent_seen);
			struct rcp_msg req;
			struct peer_qp *pq;

			if (!w || w->opcode != IBV_WR_SEND || !w->payload)
				continue;
			pq = find_qp(w->qp);
			if (pq && !rcp_msg_decode(w->payload, w->payload_len, &req))
				take(pq, &req);
		}
		usleep(100);
	}
	return NULL;
}

/* peer_start -- reset the mock and start the mock daemon thread */
void peer_start(const struct peer_cfg *cfg)
{
	rcp_mock_reset();
	rcp_mock_cm_auto(true);
	rcp_mock_auto_complete(true);
	rcp_mock_capture_payload(true);
	memset(&P, 0, sizeof(P));
	if (cfg)
		P.cfg = *cfg;
	atomic_store(&P.instance, PEER_INSTANCE);
	atomic_store(&P.addr_base, PEER_GRANT_ADDR);
	P.running = pthread_create(&P.thread, NULL, peer_main, NULL) == 0;
}

/* peer_stop -- stop the thread */
void peer_stop(void)
{
	if (!P.running)
		return;
	atomic_store(&P.stop, true);
	pthread_join(P.thread, NULL);
	P.running = false;
}

/* peer_set_instance -- the region is recreated: OPEN_REPLY tells another instance from now */
void peer_set_instance(uint64_t instance)
{
	atomic_store(&P.instance, instance);
}

/* peer_set_addr_base -- the region is mapped elsewhere from now on (a restarted daemon) */
void peer_set_addr_base(uint64_t base)
{
	atomic_store(&P.addr_base, base);
}

/* peer_client_mac_ok -- whether every AUTH carried the right client MAC */
bool peer_client_mac_ok(void)
{
	return !atomic_load(&P.mac_bad);
}

/* peer_requests -- control requests of a type the daemon answered */
unsigned int peer_requests(enum rcp_msg_type type)
{
	return atomic_load(&P.requests[type]);
}
