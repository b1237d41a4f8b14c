/* SPDX-License-Identifier: BSD-3-Clause */
/* test_async.c -- the asynchronous control plane: many requests in flight, connecting as a state
 * machine driven by the fd alone, and every request's timeout */
#include <poll.h>
#include <string.h>

#include "client/lib/conn.h"
#include "common/auth.h"
#include "tests/unit/client/helpers.h"

/* What a callback saw. */
struct seen {
	int calls;
	int status;
	int order; /* completion order, from 1 */
};

static int completions;

static void on_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct seen *s = ctx;

	(void)op;
	s->calls++;
	s->status = status;
	s->order = ++completions;
}

/* drive -- what an event loop does: sleep on the fd (at most the library's next timeout), then
 * progress without blocking; until done(arg) or ms pass. Returns whether done. */
static bool drive(struct rdmacpy_conn *c, bool (*done)(void *arg), void *arg, int ms)
{
	uint64_t end = rcp_now_ns() + (uint64_t)ms * 1000000ull;
	struct pollfd pfd = {.fd = rdmacpy_conn_fd(c), .events = POLLIN};

	while (!done(arg)) {
		int t = rdmacpy_conn_next_timeout(c);

		if (rcp_now_ns() >= end)
			return false;
		if (t < 0 || t > 20)
			t = 20;
		poll(&pfd, 1, t);
		cr_assert_geq(rdmacpy_conn_progress(c, 0), 0);
	}
	return true;
}

static bool called(void *arg)
{
	return ((struct seen *)arg)->calls > 0;
}

struct seen_all {
	struct seen *s;
	int n;
};

static bool all_called(void *arg)
{
	const struct seen_all *a = arg;
	int i;

	for (i = 0; i < a->n; i++)
		if (!a->s[i].calls)
			return false;
	return true;
}

Test(client_async, sixteen_requests__in_flight_at_once_answered_in_any_order)
{
	struct peer_cfg cfg = {.hold = RCP_MAX_OUTSTANDING};
	struct rdmacpy_conn_opts o;
	struct seen s[RCP_MAX_OUTSTANDING] = {0};
	struct seen_all all = {s, RCP_MAX_OUTSTANDING};
	uint8_t sum[RCP_MAX_OUTSTANDING][RDMACPY_CHECKSUM_LEN];
	struct rdmacpy_conn *c;
	bool inverted = false;
	int i;
	int j;

	test_opts(&o);
	peer_start(&cfg);
	c = connect_started(&o);
	completions = 0;
	for (i = 0; i < RCP_MAX_OUTSTANDING; i++)
		cr_assert_eq(rdmacpy_region_checksum_async(c, "reg0", (uint64_t)i + 1, 4096, sum[i],
							   on_done, &s[i], NULL),
			     0);
	cr_assert(drive(c, all_called, &all, 5000), "not every request was answered");
	/* the daemon held all sixteen before answering one: they were in flight together */
	cr_assert_eq(peer_max_held(), RCP_MAX_OUTSTANDING);
	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		cr_assert_eq(s[i].calls, 1);
		cr_assert_eq(s[i].status, 0, "request %d: %s", i, rdmacpy_strerror(s[i].status));
		/* each request got its own answer (the peer's digest names the offset) */
		for (j = 0; j < RDMACPY_CHECKSUM_LEN; j++)
			cr_assert_eq(sum[i][j], i + 1, "request %d got another's answer", i);
		if (i && s[i].order < s[i - 1].order)
			inverted = true;
	}
	cr_assert(inverted, "answers came back in the order asked: the test proves nothing");
	close_clean(&c);
}

Test(client_async, more_than_the_protocol_allows__queued_then_sent)
{
	struct rdmacpy_conn_opts o;
	struct seen s[40] = {0};
	struct seen_all all = {s, 40};
	struct rdmacpy_stats st[40];
	struct rdmacpy_conn *c;
	int i;

	test_opts(&o);
	c = connect_ok(&o);
	for (i = 0; i < 40; i++) {
		st[i].size = sizeof(st[i]);
		cr_assert_eq(rdmacpy_daemon_stat_async(c, &st[i], on_done, &s[i], NULL), 0);
	}
	/* never more than the protocol's bound on the wire */
	cr_assert_leq(c->qp[0].ctrl.ninflight, RCP_MAX_OUTSTANDING);
	cr_assert(drive(c, all_called, &all, 5000));
	for (i = 0; i < 40; i++) {
		cr_assert_eq(s[i].status, 0);
		cr_assert_eq(st[i].uptime_ms, 4242);
	}
	cr_assert_eq(peer_requests(RCP_MSG_STAT), 40);
	close_clean(&c);
}

Test(client_async, open__n_qps_requests_sent_together)
{
	struct peer_cfg cfg = {.hold = 4};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct seen s = {0};
	struct rdmacpy_conn *c;

	test_opts(&o);
	o.nqp = 4;
	peer_start(&cfg);
	c = connect_started(&o);
	cr_assert_eq(rdmacpy_grant_open_async(c, "reg0", 0, 1 << 20, RDMACPY_RIGHTS_RW, &g, on_done,
					      &s, NULL),
		     0);
	cr_assert_null(g, "the grant is not the caller's before it is open");
	cr_assert(drive(c, called, &s, 5000));
	cr_assert_eq(s.status, 0);
	/* the daemon saw all four OPENs before it answered any */
	cr_assert_eq(peer_max_held(), 4);
	cr_assert_not_null(g);
	cr_assert_eq(rdmacpy_grant_length(g), 1 << 20);
	close_clean(&c);
}

/* ---- connecting, step by step ---- */

/* sent_of_type -- the newest control message of a type the client sent, decoded */
static bool sent_of_type(enum rcp_msg_type type, struct rcp_msg *out)
{
	size_t n = rcp_mock_sent_count();

	while (n--) {
		const struct rcp_mock_wr *w = rcp_mock_sent(n);

		if (w && w->opcode == IBV_WR_SEND && w->payload &&
		    !rcp_msg_decode(w->payload, w->payload_len, out) && out->hdr.type == type)
			return true;
	}
	return false;
}

struct step {
	enum rcp_mock_fn fn;
	unsigned int calls;
};

static bool step_reached(void *arg)
{
	const struct step *s = arg;

	return rcp_mock_calls(s->fn) >= s->calls;
}

static bool auth_sent(void *arg)
{
	struct rcp_msg m;

	(void)arg;
	return sent_of_type(RCP_MSG_AUTH, &m);
}

/* deliver -- play the daemon: a message into the client's QP */
static void deliver(struct rdmacpy_conn *c, const struct rcp_msg *m)
{
	uint8_t buf[RCP_MSG_MAX];
	size_t len;

	cr_assert_eq(rcp_msg_encode(m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_mock_deliver_recv(c->qp[0].id->qp, buf, len), 0);
}

/* quiet -- drive for a while and check the client did not take the next step by itself */
static void quiet(struct rdmacpy_conn *c, enum rcp_mock_fn fn, unsigned int calls)
{
	struct step never = {fn, calls + 1};

	cr_assert_not(drive(c, step_reached, &never, 60), "a step was taken without its event");
}

Test(client_async, connect__a_state_machine_driven_only_by_fd_readiness)
{
	uint8_t server_nonce[RCP_NONCE_LEN] = {7};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_op *op = NULL;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct seen s = {0};
	struct seen ss = {0};
	struct rcp_cm_private priv;
	struct rcp_auth_key key;
	struct rcp_msg auth;
	struct rcp_msg m;
	struct step step;
	uint8_t pdata[256];
	size_t plen = 0;

	rcp_mock_reset();
	rcp_mock_auto_complete(true);
	rcp_mock_capture_payload(true);
	test_opts(&o);
	o.timeout_ms = 5000;
	cr_assert_eq(rdmacpy_conn_open_async("127.0.0.1", 7471, &o, on_done, &s, &c, &op), 0);
	cr_assert_not_null(c);
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_INPROGRESS);
	/* a request given while connecting waits for the connection */
	cr_assert_eq(rdmacpy_daemon_stat_async(c, &st, on_done, &ss, NULL), 0);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_RESOLVE_ADDR), 1);
	quiet(c, RCP_MOCK_RESOLVE_ROUTE, 0);

	rcp_mock_cm_event(c->ch, RDMA_CM_EVENT_ADDR_RESOLVED, c->qp[0].id, 0, NULL, 0);
	step = (struct step){RCP_MOCK_RESOLVE_ROUTE, 1};
	cr_assert(drive(c, step_reached, &step, 1000));
	quiet(c, RCP_MOCK_CONNECT, 0);

	rcp_mock_cm_event(c->ch, RDMA_CM_EVENT_ROUTE_RESOLVED, c->qp[0].id, 0, NULL, 0);
	step = (struct step){RCP_MOCK_CONNECT, 1};
	cr_assert(drive(c, step_reached, &step, 1000));
	cr_assert_not(drive(c, auth_sent, NULL, 60));

	rcp_mock_cm_event(c->ch, RDMA_CM_EVENT_ESTABLISHED, c->qp[0].id, 0, NULL, 0);
	cr_assert_not(drive(c, auth_sent, NULL, 60), "AUTH before the CHALLENGE");

	rcp_msg_init(&m, RCP_MSG_CHALLENGE, 0);
	memcpy(m.u.challenge.nonce, server_nonce, RCP_NONCE_LEN);
	m.u.challenge.caps = RCP_CAP_MW;
	deliver(c, &m);
	cr_assert(drive(c, auth_sent, NULL, 1000));
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_INPROGRESS);
	cr_assert_eq(s.calls, 0);
	cr_assert_eq(peer_requests(RCP_MSG_STAT), 0);
	cr_assert_not(sent_of_type(RCP_MSG_STAT, &m), "a request went out before AUTH_OK");

	/* AUTH_OK with the daemon's proof over both nonces */
	cr_assert(sent_of_type(RCP_MSG_AUTH, &auth));
	cr_assert(rcp_mock_connect_pdata(c->qp[0].id->qp, pdata, sizeof(pdata), &plen));
	cr_assert_eq(rcp_cm_private_decode(pdata, plen, &priv), 0);
	rcp_auth_key_set(&key, peer_key(), PEER_KEY_LEN);
	rcp_msg_init(&m, RCP_MSG_AUTH_OK, auth.hdr.req_id);
	rcp_auth_server_mac(&key, server_nonce, priv.nonce, m.u.auth_ok.mac);
	deliver(c, &m);
	cr_assert(drive(c, called, &s, 1000));
	cr_assert_eq(s.status, 0, "%s", rdmacpy_strerror(s.status));
	cr_assert_eq(rdmacpy_op_status(op), 0);
	cr_assert_eq(rdmacpy_conn_status(c), 0);

	/* now the queued request goes out; answer it */
	{
		struct rcp_msg req;
		uint64_t end = rcp_now_ns() + 1000000000ull;

		while (!sent_of_type(RCP_MSG_STAT, &req) && rcp_now_ns() < end)
			rdmacpy_conn_progress(c, 0);
		cr_assert(sent_of_type(RCP_MSG_STAT, &req), "the queued request never went out");
		rcp_msg_init(&m, RCP_MSG_STAT_REPLY, req.hdr.req_id);
		m.u.stat_reply.uptime_ms = 99;
		deliver(c, &m);
	}
	cr_assert(drive(c, called, &ss, 1000));
	cr_assert_eq(ss.status, 0);
	cr_assert_eq(st.uptime_ms, 99);
	rdmacpy_op_free(&op);
	rdmacpy_conn_close(&c);
	cr_expect_eq(rcp_mock_live_total(), 0);
}

Test(client_async, connect__no_challenge_times_out_through_the_fd)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct seen s = {0};

	/* the daemon never challenges: connecting ends with a timeout, through the fd alone */
	struct peer_cfg cfg = {.no_challenge = true};

	test_opts(&o);
	o.timeout_ms = 300;
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open_async("127.0.0.1", 7471, &o, on_done, &s, &c, NULL), 0);
	cr_assert(drive(c, called, &s, 3000));
	cr_assert_eq(s.status, RDMACPY_E_TIMEOUT, "%s", rdmacpy_strerror(s.status));
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_TIMEOUT);
	close_clean(&c);
}

/* ---- every request's timeout ---- */

struct kind {
	const char *name;
	enum rcp_msg_type silent;
	int (*start)(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s);
};

static uint8_t sum_buf[RDMACPY_CHECKSUM_LEN];
static struct rdmacpy_stats stat_buf = {.size = sizeof(stat_buf)};
static struct rdmacpy_region_info list_buf[4];
static size_t list_count;
static uint64_t u64_buf;

static int start_list(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_list_async(c, list_buf, sizeof(list_buf[0]), 4, &list_count, NULL,
					 on_done, s, NULL);
}

static int start_checksum(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_checksum_async(c, "reg0", 0, 4096, sum_buf, on_done, s, NULL);
}

static int start_flush(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_flush_async(c, "reg0", 0, 4096, on_done, s, NULL);
}

static int start_grant_flush(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)c;
	return rdmacpy_grant_flush_async(*g, 0, 4096, on_done, s, NULL);
}

static int start_create(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_create_async(c, "new", 4096, RDMACPY_RIGHTS_RW, &u64_buf, on_done, s,
					   NULL);
}

static int start_destroy(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_destroy_async(c, "new", on_done, s, NULL);
}

static int start_stat(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_daemon_stat_async(c, &stat_buf, on_done, s, NULL);
}

static int start_open(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	struct rdmacpy_grant *ng = NULL;

	(void)g;
	return rdmacpy_grant_open_async(c, "reg0", 0, 4096, RDMACPY_RIGHTS_RW, &ng, on_done, s,
					NULL);
}

static int start_close(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)c;
	return rdmacpy_grant_close_async(g, on_done, s, NULL);
}

static int start_copy(struct rdmacpy_conn *c, struct rdmacpy_grant **g, struct seen *s)
{
	(void)g;
	return rdmacpy_region_copy_async(c, "reg0", 0, 4096, "127.0.0.1", 7472, "reg0", 0, NULL,
					 NULL, &u64_buf, on_done, s, NULL);
}

Test(client_async, every_request__times_out_through_the_fd)
{
	static const struct kind kinds[] = {
		{"list", RCP_MSG_LIST, start_list},
		{"checksum", RCP_MSG_CHECKSUM, start_checksum},
		{"region flush", RCP_MSG_FLUSH, start_flush},
		{"grant flush", RCP_MSG_FLUSH, start_grant_flush},
		{"create", RCP_MSG_CREATE, start_create},
		{"destroy", RCP_MSG_DESTROY, start_destroy},
		{"stat", RCP_MSG_STAT, start_stat},
		{"open", RCP_MSG_OPEN, start_open},
		{"close", RCP_MSG_CLOSE, start_close},
		{"copy", RCP_MSG_COPY, start_copy},
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct peer_cfg cfg = {.silent = 1u << kinds[i].silent};
		struct rdmacpy_conn_opts o;
		struct rdmacpy_grant *g = NULL;
		struct rdmacpy_conn *c;
		struct seen s = {0};
		int ret;

		test_opts(&o);
		o.timeout_ms = 200;
		peer_start(&cfg);
		c = connect_started(&o);
		if (kinds[i].silent != RCP_MSG_OPEN)
			cr_assert_eq(
				rdmacpy_grant_open(c, "reg0", 0, 1 << 20, RDMACPY_RIGHTS_RW, &g),
				0);
		ret = kinds[i].start(c, &g, &s);
		cr_assert_eq(ret, 0, "%s: %s", kinds[i].name, rdmacpy_strerror(ret));
		cr_assert(drive(c, called, &s, 3000), "%s: no callback", kinds[i].name);
		cr_assert_eq(s.calls, 1, "%s", kinds[i].name);
		cr_assert_eq(s.status, RDMACPY_E_TIMEOUT, "%s: %s", kinds[i].name,
			     rdmacpy_strerror(s.status));
		/* an answer that may still come could not be told from a later one's: the
		 * connection is not used again */
		cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_BROKEN, "%s", kinds[i].name);
		cr_assert_eq(rdmacpy_daemon_stat_async(c, &stat_buf, on_done, &s, NULL),
			     RDMACPY_E_BROKEN);
		close_clean(&c);
	}
}

Test(client_async, close__cancels_what_is_in_flight)
{
	struct peer_cfg cfg = {.silent = 1u << RCP_MSG_CHECKSUM};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct seen s = {0};
	struct rdmacpy_op *op = NULL;

	test_opts(&o);
	peer_start(&cfg);
	c = connect_started(&o);
	cr_assert_eq(rdmacpy_region_checksum_async(c, "reg0", 0, 4096, sum_buf, on_done, &s, &op),
		     0);
	cr_assert_eq(rdmacpy_op_status(op), RDMACPY_E_INPROGRESS);
	close_clean(&c);
	/* the callback ran, with CANCELED; the handle died with the connection */
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.status, RDMACPY_E_CANCELED);
}
