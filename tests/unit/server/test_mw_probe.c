/* SPDX-License-Identifier: BSD-3-Clause */
/* test_mw_probe.c -- the window-bounds self-test on the verbs mock: the device that checks a
 * window's own bounds gets grants bound on the region MR, the one that does not an MR each */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "server/mw_probe.h"
#include "tests/unit/mocks/verbs_mock.h"

/* A connected pair on the mock, as the probe's loopback connection gives it. */
struct pair {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *active;
	struct rdma_cm_id *passive;
	struct ibv_pd *pd;
	struct ibv_cq *acq;
	struct ibv_cq *pcq;
};

/* qp_on -- a CQ and an RC QP for one end */
static void qp_on(struct pair *p, struct rdma_cm_id *id, struct ibv_cq **cq)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1)};
	struct ibv_qp_init_attr attr;

	cr_assert_eq(rcp_vb_resolve_addr(id, NULL, (struct sockaddr *)&sin, 100), 0);
	cr_assert_eq(rcp_vb_create_cq(id->verbs, 8, NULL, NULL, 0, cq), 0);
	memset(&attr, 0, sizeof(attr));
	attr.qp_type = IBV_QPT_RC;
	attr.send_cq = *cq;
	attr.recv_cq = *cq;
	attr.cap.max_send_wr = 4;
	attr.cap.max_recv_wr = 1;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	cr_assert_eq(rcp_vb_create_qp(id, p->pd, &attr), 0);
}

/* pair_up -- two ids with QPs on one PD; completions as a healthy device makes them */
static void pair_up(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	cr_assert_eq(rcp_vb_create_event_channel(&p->ch), 0);
	cr_assert_eq(rcp_vb_create_id(p->ch, NULL, &p->active), 0);
	cr_assert_eq(rcp_vb_create_id(p->ch, NULL, &p->passive), 0);
	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &p->pd), 0);
	qp_on(p, p->active, &p->acq);
	qp_on(p, p->passive, &p->pcq);
	rcp_mock_auto_complete(true);
}

/* pair_down -- everything back, nothing leaked by the probe */
static void pair_down(struct pair *p)
{
	rcp_vb_destroy_qp(p->active);
	rcp_vb_destroy_qp(p->passive);
	cr_assert_eq(rcp_vb_destroy_cq(&p->acq), 0);
	cr_assert_eq(rcp_vb_destroy_cq(&p->pcq), 0);
	cr_assert_eq(rcp_vb_destroy_id(&p->active), 0);
	cr_assert_eq(rcp_vb_destroy_id(&p->passive), 0);
	cr_assert_eq(rcp_vb_dealloc_pd(&p->pd), 0, "an MR or window of the probe is left");
	rcp_vb_destroy_event_channel(&p->ch);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

/* probe -- the test on a fresh pair */
static int probe(struct rcp_mw_probe_result *res)
{
	struct pair p;
	int ret;

	pair_up(&p);
	ret = rcp_mw_probe_pair(p.pd, p.passive->qp, p.pcq, p.active->qp, p.acq, 1000, res);
	pair_down(&p);
	return ret;
}

TestSuite(mw_probe, .init = rcp_mock_reset);

Test(mw_probe, device_checks_window_bounds__grants_on_the_region_mr)
{
	struct rcp_mw_probe_result res;

	rcp_mock_mw_bounds(true);
	cr_assert_eq(probe(&res), 0);
	cr_assert_eq(res.bind_status, 0);
	cr_assert_eq(res.inside_status, 0, "the read inside the window must work");
	cr_assert_eq(res.outside_wc, IBV_WC_REM_ACCESS_ERR);
	cr_assert_eq(rcp_mw_probe_decide(&res), RCP_MW_BOUNDS_ENFORCED);
}

Test(mw_probe, device_checks_only_the_mr__an_mr_per_grant)
{
	struct rcp_mw_probe_result res;

	rcp_mock_mw_bounds(false);
	cr_assert_eq(probe(&res), 0);
	cr_assert_eq(res.inside_status, 0);
	cr_assert_eq(res.outside_status, 0, "the lax device let the outside read through");
	cr_assert_eq(rcp_mw_probe_decide(&res), RCP_MW_BOUNDS_NOT_ENFORCED);
}

Test(mw_probe, the_reads_target_one_window_and_the_page_before_it)
{
	struct rcp_mw_probe_result res;
	const struct rcp_mock_wr *bind = NULL;
	const struct rcp_mock_wr *in = NULL;
	const struct rcp_mock_wr *out = NULL;
	size_t i;

	cr_assert_eq(probe(&res), 0);
	for (i = 0; i < rcp_mock_sent_count(); i++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(i);

		if (w->opcode == IBV_WR_BIND_MW)
			bind = w;
		else if (w->opcode == IBV_WR_RDMA_READ && !in)
			in = w;
		else if (w->opcode == IBV_WR_RDMA_READ)
			out = w;
	}
	cr_assert(bind && in && out);
	cr_assert_eq(bind->bind_info.mw_access_flags, IBV_ACCESS_REMOTE_READ);
	cr_assert_gt(bind->bind_info.addr, (uint64_t)(uintptr_t)bind->bind_info.mr->addr,
		     "the window must leave MR bytes before it");
	cr_assert_geq(in->remote_addr, bind->bind_info.addr);
	cr_assert_lt(out->remote_addr, bind->bind_info.addr);
	cr_assert_geq(out->remote_addr, (uint64_t)(uintptr_t)bind->bind_info.mr->addr,
		      "the outside read must stay inside the MR, or it proves nothing");
	cr_assert_eq(in->rkey, bind->bind_rkey);
	cr_assert_eq(out->rkey, bind->bind_rkey);
}

Test(mw_probe, no_window_for_the_test__error_and_nothing_left)
{
	struct rcp_mw_probe_result res;

	rcp_mock_fail(RCP_MOCK_ALLOC_MW, -ENOMEM);
	cr_assert_eq(probe(&res), -ENOMEM);
}

Test(mw_probe, decide__only_a_refused_outside_read_proves_enforcement)
{
	struct rcp_mw_probe_result r;

	memset(&r, 0, sizeof(r));
	cr_assert_eq(rcp_mw_probe_decide(&r), RCP_MW_BOUNDS_NOT_ENFORCED);
	r.outside_status = -EACCES;
	r.outside_wc = IBV_WC_REM_ACCESS_ERR;
	cr_assert_eq(rcp_mw_probe_decide(&r), RCP_MW_BOUNDS_ENFORCED);
	r.outside_wc = IBV_WC_RETRY_EXC_ERR;
	cr_assert_eq(rcp_mw_probe_decide(&r), RCP_MW_BOUNDS_UNKNOWN, "a dead link proves nothing");
	r.outside_wc = IBV_WC_REM_ACCESS_ERR;
	r.inside_status = -EACCES;
	cr_assert_eq(rcp_mw_probe_decide(&r), RCP_MW_BOUNDS_UNKNOWN,
		     "a window that refuses everything is not a test");
	r.inside_status = 0;
	r.bind_status = -EINVAL;
	cr_assert_eq(rcp_mw_probe_decide(&r), RCP_MW_BOUNDS_UNKNOWN);
}
