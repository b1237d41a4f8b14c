/* SPDX-License-Identifier: BSD-3-Clause */
/* test_verbs_mock.c -- the verbs mock injects failures, captures WRs and replays completions */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>

#include "common/verbs.h"
#include "tests/unit/mocks/verbs_mock.h"

/* A connected-looking QP with its PD, channel and CQ, built through the verbs layer. */
struct rig {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

/* rig_up -- build the rig the way the library will */
static void rig_up(struct rig *r)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(7471)};
	struct ibv_qp_init_attr qa = {0};

	memset(r, 0, sizeof(*r));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(rcp_vb_create_event_channel(&r->ch), 0);
	cr_assert_eq(rcp_vb_create_id(r->ch, r, &r->id), 0);
	cr_assert_eq(rcp_vb_resolve_addr(r->id, NULL, (struct sockaddr *)&dst, 1000), 0);
	cr_assert_not_null(r->id->verbs);
	cr_assert_eq(rcp_vb_alloc_pd(r->id->verbs, &r->pd), 0);
	cr_assert_eq(rcp_vb_create_comp_channel(r->id->verbs, &r->cc), 0);
	cr_assert_eq(rcp_vb_create_cq(r->id->verbs, 64, r, r->cc, 0, &r->cq), 0);
	qa.send_cq = r->cq;
	qa.recv_cq = r->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 32;
	qa.cap.max_recv_wr = 32;
	qa.cap.max_send_sge = 4;
	qa.cap.max_recv_sge = 2;
	cr_assert_eq(rcp_vb_create_qp(r->id, r->pd, &qa), 0);
	r->qp = r->id->qp;
	cr_assert_not_null(r->qp);
}

/* rig_down -- tear the rig down in reverse order; every step must succeed */
static void rig_down(struct rig *r)
{
	rcp_vb_destroy_qp(r->id);
	cr_assert_eq(rcp_vb_destroy_cq(&r->cq), 0);
	cr_assert_eq(rcp_vb_destroy_comp_channel(&r->cc), 0);
	cr_assert_eq(rcp_vb_dealloc_pd(&r->pd), 0);
	cr_assert_eq(rcp_vb_destroy_id(&r->id), 0);
	rcp_vb_destroy_event_channel(&r->ch);
	cr_assert_null(r->ch);
}

/* fd_readable -- whether fd polls readable right now */
static bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

Test(verbs_mock, fail__returns_injected_errno_and_leaves_out_pointer_alone)
{
	struct ibv_pd *pd = NULL;

	rcp_mock_fail(RCP_MOCK_ALLOC_PD, ENOMEM);
	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &pd), -ENOMEM);
	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &pd), -ENOMEM);
	cr_assert_null(pd);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_ALLOC_PD), 2);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_PD), 0);
}

Test(verbs_mock, fail_after__n_successes_then_times_failures_then_success_again)
{
	static char buf[4096];
	struct ibv_mr *mr[4] = {0};
	struct ibv_pd *pd = NULL;
	int i;

	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &pd), 0);
	rcp_mock_fail_after(RCP_MOCK_REG_MR, 2, -EFAULT, 1);
	cr_assert_eq(rcp_vb_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE, &mr[0]), 0);
	cr_assert_eq(rcp_vb_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE, &mr[1]), 0);
	cr_assert_eq(rcp_vb_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE, &mr[2]), -EFAULT);
	cr_assert_null(mr[2]);
	cr_assert_eq(rcp_vb_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE, &mr[3]), 0);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_REG_MR), 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(rcp_vb_dereg_mr(&mr[i]), 0);
	cr_assert_eq(rcp_vb_dealloc_pd(&pd), 0);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, fail_clear__later_calls_succeed)
{
	struct rdma_event_channel *ch = NULL;

	rcp_mock_fail(RCP_MOCK_CREATE_EVENT_CHANNEL, -ENODEV);
	cr_assert_eq(rcp_vb_create_event_channel(&ch), -ENODEV);
	rcp_mock_fail_clear(RCP_MOCK_CREATE_EVENT_CHANNEL);
	cr_assert_eq(rcp_vb_create_event_channel(&ch), 0);
	cr_assert_geq(ch->fd, 0);
	rcp_vb_destroy_event_channel(&ch);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, post_send__captures_every_field_of_a_three_wr_chain)
{
	static const char msg[] = "hello";
	struct ibv_sge w_sge[2] = {{0x1000, 512, 0x11}, {0x2000, 256, 0x22}};
	struct ibv_sge r_sge = {0x3000, 4096, 0x33};
	struct ibv_sge s_sge = {(uintptr_t)msg, sizeof(msg), 0x44};
	struct ibv_send_wr wr[3];
	struct ibv_send_wr *bad = (struct ibv_send_wr *)1;
	const struct rcp_mock_wr *c;
	struct rig r;

	rig_up(&r);
	rcp_mock_capture_payload(true);
	memset(wr, 0, sizeof(wr));
	wr[0].wr_id = 100;
	wr[0].next = &wr[1];
	wr[0].opcode = IBV_WR_RDMA_WRITE;
	wr[0].sg_list = w_sge;
	wr[0].num_sge = 2;
	wr[0].wr.rdma.remote_addr = 0xabc000;
	wr[0].wr.rdma.rkey = 0x5501;
	wr[1].wr_id = 101;
	wr[1].next = &wr[2];
	wr[1].opcode = IBV_WR_RDMA_READ;
	wr[1].send_flags = IBV_SEND_FENCE;
	wr[1].sg_list = &r_sge;
	wr[1].num_sge = 1;
	wr[1].wr.rdma.remote_addr = 0xdef000;
	wr[1].wr.rdma.rkey = 0x5502;
	wr[2].wr_id = 102;
	wr[2].opcode = IBV_WR_SEND_WITH_IMM;
	wr[2].send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE;
	wr[2].imm_data = htonl(7);
	wr[2].sg_list = &s_sge;
	wr[2].num_sge = 1;

	cr_assert_eq(rcp_vb_post_send(r.qp, wr, &bad), 0);
	cr_assert_null(bad);
	cr_assert_eq(rcp_mock_sent_count(), 3);

	c = rcp_mock_sent(0);
	cr_assert_eq(c->qp, r.qp);
	cr_assert_eq(c->call, 0);
	cr_assert_eq(c->wr_id, 100);
	cr_assert_eq(c->opcode, IBV_WR_RDMA_WRITE);
	cr_assert_eq(c->send_flags, 0);
	cr_assert_eq(c->num_sge, 2);
	cr_assert_eq(c->sg_list[0].addr, 0x1000);
	cr_assert_eq(c->sg_list[0].length, 512);
	cr_assert_eq(c->sg_list[0].lkey, 0x11);
	cr_assert_eq(c->sg_list[1].addr, 0x2000);
	cr_assert_eq(c->sg_list[1].length, 256);
	cr_assert_eq(c->sg_list[1].lkey, 0x22);
	cr_assert_eq(c->remote_addr, 0xabc000);
	cr_assert_eq(c->rkey, 0x5501);
	cr_assert_null(c->payload);

	c = rcp_mock_sent(1);
	cr_assert_eq(c->wr_id, 101);
	cr_assert_eq(c->opcode, IBV_WR_RDMA_READ);
	cr_assert_eq(c->send_flags, IBV_SEND_FENCE);
	cr_assert_eq(c->num_sge, 1);
	cr_assert_eq(c->sg_list[0].addr, 0x3000);
	cr_assert_eq(c->sg_list[0].length, 4096);
	cr_assert_eq(c->remote_addr, 0xdef000);
	cr_assert_eq(c->rkey, 0x5502);

	c = rcp_mock_sent(2);
	cr_assert_eq(c->wr_id, 102);
	cr_assert_eq(c->opcode, IBV_WR_SEND_WITH_IMM);
	cr_assert_eq(c->send_flags, IBV_SEND_SIGNALED | IBV_SEND_INLINE);
	cr_assert_eq(ntohl(c->imm_data), 7);
	cr_assert_eq(c->payload_len, sizeof(msg));
	cr_assert_arr_eq(c->payload, msg, sizeof(msg));
	cr_assert_null(rcp_mock_sent(3));

	/* nothing completes unless the test queues it or turns auto-complete on */
	cr_assert_eq(rcp_mock_wc_pending(NULL), 0);
	rig_down(&r);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, post_send_fail_at__posts_prefix_and_points_bad_wr_at_the_failed_wr)
{
	struct ibv_sge sge = {0x1000, 64, 1};
	struct ibv_send_wr wr[3];
	struct ibv_send_wr *bad = NULL;
	struct rig r;
	int i;

	rig_up(&r);
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 3; i++) {
		wr[i].wr_id = (uint64_t)i;
		wr[i].opcode = IBV_WR_RDMA_WRITE;
		wr[i].sg_list = &sge;
		wr[i].num_sge = 1;
		wr[i].next = i < 2 ? &wr[i + 1] : NULL;
	}
	rcp_mock_post_send_fail_at(1, ENOMEM);
	cr_assert_eq(rcp_vb_post_send(r.qp, wr, &bad), -ENOMEM);
	cr_assert_eq(bad, &wr[1]);
	cr_assert_eq(rcp_mock_sent_count(), 1);
	cr_assert_eq(rcp_mock_sent(0)->wr_id, 0);
	/* one shot: the retry of the rest goes through */
	cr_assert_eq(rcp_vb_post_send(r.qp, bad, &bad), 0);
	cr_assert_eq(rcp_mock_sent_count(), 3);
	cr_assert_eq(rcp_mock_sent(2)->call, 1);
	rig_down(&r);
}

Test(verbs_mock, post_send_injected_failure__captures_nothing_and_bad_wr_is_first)
{
	struct ibv_send_wr wr = {.wr_id = 9, .opcode = IBV_WR_SEND};
	struct ibv_send_wr *bad = NULL;
	struct rig r;

	rig_up(&r);
	rcp_mock_fail(RCP_MOCK_POST_SEND, -EAGAIN);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, &bad), -EAGAIN);
	cr_assert_eq(bad, &wr);
	cr_assert_eq(rcp_mock_sent_count(), 0);
	rig_down(&r);
}

Test(verbs_mock, post_send__more_sges_than_device_max_sge_is_einval)
{
	struct ibv_sge sge[5] = {
		{0x1000, 8, 1}, {0x2000, 8, 1}, {0x3000, 8, 1}, {0x4000, 8, 1}, {0x5000, 8, 1}};
	struct ibv_send_wr wr = {.opcode = IBV_WR_RDMA_WRITE, .sg_list = sge, .num_sge = 5};
	struct ibv_send_wr *bad = NULL;
	struct rig r;

	rig_up(&r);
	rcp_mock_device_attr()->max_sge = 4;
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, &bad), -EINVAL);
	cr_assert_eq(bad, &wr);
	wr.num_sge = 4;
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, &bad), 0);
	rig_down(&r);
}

Test(verbs_mock, post_send__message_longer_than_port_max_msg_sz_is_einval)
{
	struct ibv_sge sge = {0x1000, 0x800001, 1};
	struct ibv_send_wr wr = {.opcode = IBV_WR_RDMA_WRITE, .sg_list = &sge, .num_sge = 1};
	struct rig r;

	rig_up(&r);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), -EINVAL);
	sge.length = 0x800000;
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), 0);
	rig_down(&r);
}

Test(verbs_mock, poll_cq__returns_queued_completions_in_order)
{
	struct ibv_wc wc[4];
	struct rig r;

	rig_up(&r);
	rcp_mock_push_wc_ok(r.cq, 1, IBV_WC_RDMA_WRITE, 0);
	rcp_mock_push_wc_ok(r.cq, 2, IBV_WC_RDMA_READ, 4096);
	rcp_mock_push_wc_err(r.cq, 3, IBV_WC_REM_ACCESS_ERR);
	cr_assert_eq(rcp_mock_wc_pending(r.cq), 3);

	cr_assert_eq(rcp_vb_poll_cq(r.cq, 2, wc), 2);
	cr_assert_eq(wc[0].wr_id, 1);
	cr_assert_eq(wc[0].status, IBV_WC_SUCCESS);
	cr_assert_eq(wc[0].opcode, IBV_WC_RDMA_WRITE);
	cr_assert_eq(wc[1].wr_id, 2);
	cr_assert_eq(wc[1].opcode, IBV_WC_RDMA_READ);
	cr_assert_eq(wc[1].byte_len, 4096);

	cr_assert_eq(rcp_vb_poll_cq(r.cq, 4, wc), 1);
	cr_assert_eq(wc[0].wr_id, 3);
	cr_assert_eq(wc[0].status, IBV_WC_REM_ACCESS_ERR);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 4, wc), 0);
	rig_down(&r);
}

Test(verbs_mock, poll_cq__leaves_another_cqs_completions_queued)
{
	struct ibv_cq *other = NULL;
	struct ibv_wc wc[4];
	struct rig r;

	rig_up(&r);
	cr_assert_eq(rcp_vb_create_cq(r.id->verbs, 16, NULL, NULL, 0, &other), 0);
	rcp_mock_push_wc_ok(other, 10, IBV_WC_SEND, 0);
	rcp_mock_push_wc_ok(r.cq, 11, IBV_WC_SEND, 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 4, wc), 1);
	cr_assert_eq(wc[0].wr_id, 11);
	cr_assert_eq(rcp_mock_wc_pending(other), 1);
	cr_assert_eq(rcp_vb_poll_cq(other, 4, wc), 1);
	cr_assert_eq(wc[0].wr_id, 10);
	cr_assert_eq(rcp_vb_destroy_cq(&other), 0);
	rig_down(&r);
}

Test(verbs_mock, poll_cq__injected_failure_is_returned)
{
	struct ibv_wc wc;
	struct rig r;

	rig_up(&r);
	rcp_mock_push_wc_ok(r.cq, 1, IBV_WC_SEND, 0);
	rcp_mock_fail_after(RCP_MOCK_POLL_CQ, 0, EIO, 1);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), -EIO);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	rig_down(&r);
}

Test(verbs_mock, comp_channel__armed_cq_fires_one_event_per_arming)
{
	struct ibv_cq *cq = NULL;
	void *ctx = NULL;
	struct rig r;
	bool armed;

	rig_up(&r);
	cr_assert_not(fd_readable(r.cc->fd));
	cr_assert_eq(rcp_vb_req_notify_cq(r.cq, false), 0);
	rcp_mock_push_wc_ok(r.cq, 1, IBV_WC_SEND, 0);
	cr_assert(fd_readable(r.cc->fd));
	cr_assert_eq(rcp_mock_notify_calls(r.cq, &armed), 1);
	cr_assert_not(armed);

	/* not re-armed: a second completion raises nothing */
	rcp_mock_push_wc_ok(r.cq, 2, IBV_WC_SEND, 0);
	cr_assert_eq(rcp_vb_get_cq_event(r.cc, &cq, &ctx), 0);
	cr_assert_eq(cq, r.cq);
	cr_assert_eq(ctx, &r);
	cr_assert_not(fd_readable(r.cc->fd));
	cr_assert_eq(rcp_vb_get_cq_event(r.cc, &cq, &ctx), -EAGAIN);

	/* an unacked event keeps the CQ alive, as libibverbs would (by hanging) */
	rcp_vb_destroy_qp(r.id);
	cr_assert_eq(rcp_vb_destroy_cq(&r.cq), -EBUSY);
	cr_assert_not_null(r.cq);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_CQ_EVENT), 1);
	rcp_vb_ack_cq_events(r.cq, 1);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_CQ_EVENT), 0);
	rig_down(&r);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, auto_complete__completes_signaled_wrs_only)
{
	struct ibv_sge sge = {0x1000, 100, 1};
	struct ibv_send_wr wr[3];
	struct ibv_wc wc[4];
	struct rig r;
	int i;

	rig_up(&r);
	rcp_mock_auto_complete(true);
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 3; i++) {
		wr[i].wr_id = 20 + (uint64_t)i;
		wr[i].opcode = IBV_WR_RDMA_WRITE;
		wr[i].sg_list = &sge;
		wr[i].num_sge = 1;
		wr[i].next = i < 2 ? &wr[i + 1] : NULL;
	}
	wr[2].send_flags = IBV_SEND_SIGNALED;
	cr_assert_eq(rcp_vb_post_send(r.qp, wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 4, wc), 1);
	cr_assert_eq(wc[0].wr_id, 22);
	cr_assert_eq(wc[0].status, IBV_WC_SUCCESS);
	cr_assert_eq(wc[0].opcode, IBV_WC_RDMA_WRITE);
	cr_assert_eq(wc[0].byte_len, 100);
	cr_assert_eq(wc[0].qp_num, r.qp->qp_num);
	rig_down(&r);
}

/* setup_window -- an MR registered for binding and a type-2 window in the rig's PD */
static void setup_window(struct rig *r, void *buf, size_t len, int access, struct ibv_mr **mr,
			 struct ibv_mw **mw)
{
	cr_assert_eq(rcp_vb_reg_mr(r->pd, buf, len, access, mr), 0);
	cr_assert_eq(rcp_vb_alloc_mw(r->pd, mw), 0);
}

Test(verbs_mock, auto_complete__bind_commit_invalidate_rebind_cycle)
{
	static char buf[8192];
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
			   IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_MW_BIND;
	struct ibv_mr *mr = NULL;
	struct ibv_mw *mw = NULL;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint32_t rkey;
	uint32_t held;
	struct rig r;

	rig_up(&r);
	rcp_mock_auto_complete(true);
	setup_window(&r, buf, sizeof(buf), access, &mr, &mw);

	rkey = rcp_vb_wr_bind_mw(&wr, 1, mw, mr, (uintptr_t)buf + 4096, 4096,
				 IBV_ACCESS_REMOTE_READ);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	cr_assert_eq(wc.status, IBV_WC_SUCCESS);
	cr_assert_eq(wc.opcode, IBV_WC_BIND_MW);
	cr_assert(rcp_mock_mw_bound(mw, &held));
	cr_assert_eq(held, rkey);
	rcp_vb_mw_commit_rkey(mw, rkey);

	/* the MR cannot go while a window is bound to it (rxe says -EINVAL) */
	cr_assert_eq(rcp_vb_dereg_mr(&mr), -EINVAL);

	rcp_vb_wr_local_inv(&wr, 2, rkey);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	cr_assert_eq(wc.status, IBV_WC_SUCCESS);
	cr_assert_eq(wc.opcode, IBV_WC_LOCAL_INV);
	cr_assert_not(rcp_mock_mw_bound(mw, NULL));

	rkey = rcp_vb_wr_bind_mw(&wr, 3, mw, mr, (uintptr_t)buf, 100, IBV_ACCESS_REMOTE_WRITE);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	cr_assert_eq(wc.status, IBV_WC_SUCCESS);
	rcp_vb_mw_commit_rkey(mw, rkey);

	cr_assert_eq(rcp_vb_dealloc_mw(&mw), 0);
	cr_assert_eq(rcp_vb_dereg_mr(&mr), 0);
	rig_down(&r);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, auto_complete__rebind_without_commit_fails_and_flushes_the_rest)
{
	static char buf[4096];
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_MW_BIND;
	struct ibv_sge sge = {(uintptr_t)buf, 16, 0};
	struct ibv_send_wr wr[2];
	struct ibv_mr *mr = NULL;
	struct ibv_mw *mw = NULL;
	struct ibv_wc wc[2];
	uint32_t rkey;
	struct rig r;

	rig_up(&r);
	rcp_mock_auto_complete(true);
	setup_window(&r, buf, sizeof(buf), access, &mr, &mw);
	rkey = rcp_vb_wr_bind_mw(&wr[0], 1, mw, mr, (uintptr_t)buf, 64, IBV_ACCESS_REMOTE_READ);
	cr_assert_eq(rcp_vb_post_send(r.qp, wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, wc), 1);
	rcp_vb_wr_local_inv(&wr[0], 2, rkey);
	cr_assert_eq(rcp_vb_post_send(r.qp, wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, wc), 1);
	cr_assert_eq(wc[0].status, IBV_WC_SUCCESS);

	/* mw->rkey was never committed, so it no longer matches the window's key */
	rcp_vb_wr_bind_mw(&wr[0], 3, mw, mr, (uintptr_t)buf, 64, IBV_ACCESS_REMOTE_READ);
	memset(&wr[1], 0, sizeof(wr[1]));
	wr[1].wr_id = 4;
	wr[1].opcode = IBV_WR_SEND;
	wr[1].sg_list = &sge;
	wr[1].num_sge = 1;
	wr[0].next = &wr[1];
	cr_assert_eq(rcp_vb_post_send(r.qp, wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 2, wc), 2);
	cr_assert_eq(wc[0].wr_id, 3);
	cr_assert_eq(wc[0].status, IBV_WC_MW_BIND_ERR);
	cr_assert_eq(wc[1].wr_id, 4);
	cr_assert_eq(wc[1].status, IBV_WC_WR_FLUSH_ERR);
	cr_assert_eq(r.qp->state, IBV_QPS_ERR);

	cr_assert_eq(rcp_vb_dealloc_mw(&mw), 0);
	cr_assert_eq(rcp_vb_dereg_mr(&mr), 0);
	rig_down(&r);
}

Test(verbs_mock, auto_complete__bind_onto_mr_without_mw_bind_access_fails)
{
	static char buf[4096];
	struct ibv_mr *mr = NULL;
	struct ibv_mw *mw = NULL;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	struct rig r;

	rig_up(&r);
	rcp_mock_auto_complete(true);
	setup_window(&r, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ, &mr,
		     &mw);
	cr_assert_eq(rcp_mock_mr_access(mr), IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	rcp_vb_wr_bind_mw(&wr, 1, mw, mr, (uintptr_t)buf, 64, IBV_ACCESS_REMOTE_READ);
	cr_assert_eq(rcp_vb_post_send(r.qp, &wr, NULL), 0);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	cr_assert_eq(wc.status, IBV_WC_MW_BIND_ERR);
	cr_assert_not(rcp_mock_mw_bound(mw, NULL));
	cr_assert_eq(rcp_vb_dealloc_mw(&mw), 0);
	cr_assert_eq(rcp_vb_dereg_mr(&mr), 0);
	rig_down(&r);
}

Test(verbs_mock, alloc_mw__without_type2_capability_is_eopnotsupp)
{
	struct ibv_mw *mw = NULL;
	struct rig r;

	rig_up(&r);
	rcp_mock_device_attr()->device_cap_flags &= ~IBV_DEVICE_MEM_WINDOW_TYPE_2B;
	cr_assert_eq(rcp_vb_alloc_mw(r.pd, &mw), -EOPNOTSUPP);
	cr_assert_null(mw);
	rig_down(&r);
}

Test(verbs_mock, deliver_recv__fills_oldest_posted_buffer_and_completes_it)
{
	char a[8] = {0};
	char b[8] = {0};
	char c[8] = {0};
	struct ibv_sge sa[2] = {{(uintptr_t)a, sizeof(a), 1}, {(uintptr_t)b, sizeof(b), 1}};
	struct ibv_sge sc = {(uintptr_t)c, sizeof(c), 1};
	struct ibv_recv_wr rw[2] = {{.wr_id = 50, .sg_list = sa, .num_sge = 2},
				    {.wr_id = 51, .sg_list = &sc, .num_sge = 1}};
	struct ibv_wc wc;
	struct rig r;

	rig_up(&r);
	rw[0].next = &rw[1];
	cr_assert_eq(rcp_vb_post_recv(r.qp, rw, NULL), 0);
	cr_assert_eq(rcp_mock_recv_count(), 2);
	cr_assert_eq(rcp_mock_recv(0)->num_sge, 2);
	cr_assert_eq(rcp_mock_recv_outstanding(r.qp), 2);

	cr_assert_eq(rcp_mock_deliver_recv(r.qp, "0123456789AB", 12), 0);
	cr_assert_arr_eq(a, "01234567", 8);
	cr_assert_arr_eq(b, "89AB", 4);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 1, &wc), 1);
	cr_assert_eq(wc.wr_id, 50);
	cr_assert_eq(wc.status, IBV_WC_SUCCESS);
	cr_assert_eq(wc.opcode, IBV_WC_RECV);
	cr_assert_eq(wc.byte_len, 12);
	cr_assert_eq(rcp_mock_recv_outstanding(r.qp), 1);
	rig_down(&r);
}

Test(verbs_mock, deliver_recv__message_too_long_is_emsgsize_and_flushes_the_rest)
{
	char a[4];
	char b[4];
	struct ibv_sge sa = {(uintptr_t)a, sizeof(a), 1};
	struct ibv_sge sb = {(uintptr_t)b, sizeof(b), 1};
	struct ibv_recv_wr rw[2] = {{.wr_id = 1, .sg_list = &sa, .num_sge = 1},
				    {.wr_id = 2, .sg_list = &sb, .num_sge = 1}};
	struct ibv_wc wc[2];
	struct rig r;

	rig_up(&r);
	rw[0].next = &rw[1];
	cr_assert_eq(rcp_vb_post_recv(r.qp, rw, NULL), 0);
	cr_assert_eq(rcp_mock_deliver_recv(r.qp, "too long", 8), -EMSGSIZE);
	cr_assert_eq(rcp_vb_poll_cq(r.cq, 2, wc), 2);
	cr_assert_eq(wc[0].wr_id, 1);
	cr_assert_eq(wc[0].status, IBV_WC_LOC_LEN_ERR);
	cr_assert_eq(wc[1].wr_id, 2);
	cr_assert_eq(wc[1].status, IBV_WC_WR_FLUSH_ERR);
	cr_assert_eq(rcp_mock_deliver_recv(r.qp, "x", 1), -ENOENT);
	rig_down(&r);
}

Test(verbs_mock, connect_request__queues_event_with_child_id_and_private_data)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(7471)};
	struct rdma_event_channel *ch = NULL;
	struct rdma_cm_id *listen_id = NULL;
	struct rdma_cm_id *child;
	struct rdma_cm_event *ev = NULL;
	struct rcp_mock_cm_call call;
	int marker;

	cr_assert_eq(rcp_vb_create_event_channel(&ch), 0);
	cr_assert_eq(rcp_vb_create_id(ch, &marker, &listen_id), 0);
	cr_assert_eq(rcp_vb_listen(listen_id, (struct sockaddr *)&addr, 8), 0);
	cr_assert_eq(rcp_vb_get_cm_event(ch, &ev), -EAGAIN);

	child = rcp_mock_connect_request(listen_id, "RCPY\x01", 5);
	cr_assert_not_null(child);
	cr_assert(fd_readable(ch->fd));
	cr_assert_eq(rcp_vb_get_cm_event(ch, &ev), 0);
	cr_assert_not(fd_readable(ch->fd));
	cr_assert_eq(ev->event, RDMA_CM_EVENT_CONNECT_REQUEST);
	cr_assert_eq(ev->id, child);
	cr_assert_eq(ev->listen_id, listen_id);
	cr_assert_eq(child->context, &marker);
	cr_assert_not_null(child->verbs);
	cr_assert_eq(ev->param.conn.private_data_len, 5);
	cr_assert_arr_eq(ev->param.conn.private_data, "RCPY\x01", 5);

	/* an id with an unacked event cannot be destroyed */
	cr_assert_eq(rcp_vb_destroy_id(&child), -EBUSY);
	cr_assert_eq(rcp_vb_reject(child, "no", 2), 0);
	cr_assert_eq(rcp_vb_ack_cm_event(ev), 0);
	cr_assert(rcp_mock_last_cm_call(RCP_MOCK_REJECT, &call));
	cr_assert_eq(call.id, child);
	cr_assert_eq(call.pdata_len, 2);
	cr_assert_arr_eq(call.pdata, "no", 2);
	cr_assert_not(rcp_mock_last_cm_call(RCP_MOCK_ACCEPT, &call));

	cr_assert_eq(rcp_vb_destroy_id(&child), 0);
	cr_assert_eq(rcp_vb_destroy_id(&listen_id), 0);
	rcp_vb_destroy_event_channel(&ch);
	cr_assert_eq(rcp_mock_live_total(), 0);
	cr_assert_eq(rcp_mock_misuse_count(), 1, "%s", rcp_mock_last_misuse());
}

Test(verbs_mock, cm_auto__client_calls_queue_the_events_a_peer_would_cause)
{
	static const enum rdma_cm_event_type want[] = {
		RDMA_CM_EVENT_ADDR_RESOLVED, RDMA_CM_EVENT_ROUTE_RESOLVED,
		RDMA_CM_EVENT_ESTABLISHED, RDMA_CM_EVENT_DISCONNECTED};
	struct rcp_vb_conn_opts opts = {1, 2, 3, 4};
	struct rcp_mock_cm_call call;
	struct rdma_cm_event *ev;
	struct rig r;
	size_t i;

	rcp_mock_cm_auto(true);
	rig_up(&r);
	cr_assert_eq(rcp_vb_resolve_route(r.id, 1000), 0);
	cr_assert_eq(rcp_vb_connect(r.id, &opts, "hello", 5), 0);
	cr_assert_eq(rcp_vb_disconnect(r.id), 0);
	cr_assert_eq(rcp_mock_cm_pending(r.ch), 4);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_eq(rcp_vb_get_cm_event(r.ch, &ev), 0);
		cr_assert_eq(ev->event, want[i], "event %zu is %s", i,
			     rcp_vb_cm_event_str(ev->event));
		cr_assert_eq(ev->id, r.id);
		cr_assert_eq(rcp_vb_ack_cm_event(ev), 0);
	}
	cr_assert(rcp_mock_last_cm_call(RCP_MOCK_CONNECT, &call));
	cr_assert(call.has_opts);
	cr_assert_eq(call.opts.initiator_depth, 2);
	cr_assert_eq(call.opts.rnr_retry_count, 4);
	cr_assert_arr_eq(call.pdata, "hello", 5);
	rig_down(&r);
}

Test(verbs_mock, connect__private_data_over_255_bytes_is_einval)
{
	static char big[256];
	struct rig r;

	rig_up(&r);
	cr_assert_eq(rcp_vb_connect(r.id, NULL, big, sizeof(big)), -EINVAL);
	cr_assert_eq(rcp_vb_connect(r.id, NULL, NULL, 3), -EINVAL);
	rig_down(&r);
}

Test(verbs_mock, teardown__objects_in_use_refuse_to_go_until_their_users_are_gone)
{
	static char buf[64];
	struct ibv_mr *mr = NULL;
	struct rig r;

	rig_up(&r);
	cr_assert_eq(rcp_vb_reg_mr(r.pd, buf, sizeof(buf), 0, &mr), 0);
	cr_assert_eq(mr->rkey, 0, "no remote access, no rkey (as rxe)");
	cr_assert_neq(mr->lkey, 0);
	cr_assert_eq(rcp_vb_dealloc_pd(&r.pd), -EBUSY);
	cr_assert_not_null(r.pd);
	cr_assert_eq(rcp_vb_destroy_cq(&r.cq), -EBUSY);
	cr_assert_eq(rcp_vb_destroy_comp_channel(&r.cc), -EBUSY);
	cr_assert_eq(rcp_vb_destroy_id(&r.id), -EBUSY);
	cr_assert_eq(rcp_vb_dereg_mr(&mr), 0);
	cr_assert_null(mr);
	cr_assert_eq(rcp_vb_dereg_mr(&mr), 0, "destructors accept a cleared pointer");
	rig_down(&r);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(verbs_mock, modify_cq_moderation__eopnotsupp_like_rxe_until_enabled)
{
	uint16_t count = 0;
	uint16_t period = 0;
	struct rig r;

	rig_up(&r);
	cr_assert_eq(rcp_vb_modify_cq_moderation(r.cq, 16, 50), -EOPNOTSUPP);
	cr_assert_not(rcp_mock_cq_moderation(r.cq, &count, &period));
	rcp_mock_set_cq_moderation(true);
	cr_assert_eq(rcp_vb_modify_cq_moderation(r.cq, 16, 50), 0);
	cr_assert(rcp_mock_cq_moderation(r.cq, &count, &period));
	cr_assert_eq(count, 16);
	cr_assert_eq(period, 50);
	rig_down(&r);
}

Test(verbs_mock, create_qp__caps_beyond_device_limits_are_einval)
{
	struct ibv_qp_init_attr qa = {0};
	struct rig r;

	rig_up(&r);
	rcp_vb_destroy_qp(r.id);
	qa.send_cq = r.cq;
	qa.recv_cq = r.cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 16;
	qa.cap.max_send_sge = 33;
	cr_assert_eq(rcp_vb_create_qp(r.id, r.pd, &qa), -EINVAL);
	cr_assert_null(r.id->qp);
	rig_down(&r);
}

Test(verbs_mock, misuse__foreign_pointer_is_reported_not_freed)
{
	struct ibv_pd fake;
	struct ibv_pd *pd = &fake;

	cr_assert_eq(rcp_vb_dealloc_pd(&pd), -EINVAL);
	cr_assert_eq(pd, &fake);
	cr_assert_eq(rcp_mock_misuse_count(), 1);
	cr_assert_neq(strstr(rcp_mock_last_misuse(), "dealloc_pd"), NULL);
}

Test(verbs_mock, reset__frees_everything_and_restores_defaults)
{
	struct rig r;

	rig_up(&r);
	rcp_mock_fail(RCP_MOCK_ALLOC_PD, ENOMEM);
	rcp_mock_device_attr()->max_sge = 1;
	cr_assert_gt(rcp_mock_live_total(), 0);
	rcp_mock_reset();
	cr_assert_eq(rcp_mock_live_total(), 0);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_ALLOC_PD), 0);
	cr_assert_eq(rcp_mock_device_attr()->max_sge, 32);
	r.pd = NULL;
	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &r.pd), 0);
	cr_assert_eq(rcp_vb_dealloc_pd(&r.pd), 0);
}

/* One call of every rcp_vb_* with device behaviour, with arguments it must refuse. */
Test(verbs_mock, every_rcp_vb_function__resolves_to_the_mock)
{
	struct ibv_send_wr swr = {0};
	struct ibv_recv_wr rwr = {0};
	struct ibv_wc wc;
	int fn;

	cr_assert_eq(rcp_vb_create_event_channel(NULL), -EINVAL);
	rcp_vb_destroy_event_channel(NULL);
	cr_assert_eq(rcp_vb_create_id(NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_destroy_id(NULL), 0);
	cr_assert_eq(rcp_vb_resolve_addr(NULL, NULL, NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_resolve_route(NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_listen(NULL, NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_connect(NULL, NULL, NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_accept(NULL, NULL, NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_reject(NULL, NULL, 0), -EINVAL);
	cr_assert_eq(rcp_vb_disconnect(NULL), -EINVAL);
	cr_assert_eq(rcp_vb_get_cm_event(NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_ack_cm_event(NULL), 0);
	cr_assert_eq(rcp_vb_create_qp(NULL, NULL, NULL), -EINVAL);
	rcp_vb_destroy_qp(NULL);
	cr_assert_eq(rcp_vb_query_device(NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_query_port(NULL, 1, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_alloc_pd(NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_dealloc_pd(NULL), 0);
	cr_assert_eq(rcp_vb_reg_mr(NULL, NULL, 0, 0, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_dereg_mr(NULL), 0);
	cr_assert_eq(rcp_vb_alloc_mw(NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_dealloc_mw(NULL), 0);
	cr_assert_eq(rcp_vb_create_comp_channel(NULL, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_destroy_comp_channel(NULL), 0);
	cr_assert_eq(rcp_vb_create_cq(NULL, 1, NULL, NULL, 0, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_destroy_cq(NULL), 0);
	cr_assert_eq(rcp_vb_modify_cq_moderation(NULL, 1, 1), -EINVAL);
	cr_assert_eq(rcp_vb_req_notify_cq(NULL, false), -EINVAL);
	cr_assert_eq(rcp_vb_get_cq_event(NULL, NULL, NULL), -EINVAL);
	rcp_vb_ack_cq_events(NULL, 1);
	cr_assert_eq(rcp_vb_poll_cq(NULL, 1, &wc), -EINVAL);
	cr_assert_eq(rcp_vb_post_send(NULL, &swr, NULL), -EINVAL);
	cr_assert_eq(rcp_vb_post_recv(NULL, &rwr, NULL), -EINVAL);

	for (fn = 0; fn < RCP_MOCK_FN_COUNT; fn++)
		cr_assert_eq(rcp_mock_calls((enum rcp_mock_fn)fn), 1, "function %d not counted",
			     fn);
}
