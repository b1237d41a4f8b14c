/* SPDX-License-Identifier: BSD-3-Clause */
/* test_verbs_util.c -- the device-free verbs helpers: statuses, caps, bind/invalidate WRs */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/verbs.h"
#include "tests/unit/mocks/verbs_mock.h"

Test(verbs_util, wc_errno__maps_each_documented_status)
{
	static const struct {
		enum ibv_wc_status status;
		int err;
	} map[] = {
		{IBV_WC_SUCCESS, 0},
		{IBV_WC_LOC_LEN_ERR, -EMSGSIZE},
		{IBV_WC_LOC_QP_OP_ERR, -EINVAL},
		{IBV_WC_LOC_PROT_ERR, -EFAULT},
		{IBV_WC_LOC_ACCESS_ERR, -EFAULT},
		{IBV_WC_WR_FLUSH_ERR, -ECANCELED},
		{IBV_WC_MW_BIND_ERR, -EPERM},
		{IBV_WC_BAD_RESP_ERR, -EPROTO},
		{IBV_WC_REM_INV_REQ_ERR, -EREMOTEIO},
		{IBV_WC_REM_ACCESS_ERR, -EACCES},
		{IBV_WC_REM_OP_ERR, -EREMOTEIO},
		{IBV_WC_RETRY_EXC_ERR, -ETIMEDOUT},
		{IBV_WC_RNR_RETRY_EXC_ERR, -ENOBUFS},
		{IBV_WC_REM_INV_RD_REQ_ERR, -EREMOTEIO},
		{IBV_WC_REM_ABORT_ERR, -ECONNABORTED},
		{IBV_WC_RESP_TIMEOUT_ERR, -ETIMEDOUT},
		{IBV_WC_FATAL_ERR, -EIO},
		{IBV_WC_GENERAL_ERR, -EIO},
		{(enum ibv_wc_status)999, -EIO},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		cr_assert_eq(rcp_vb_wc_errno(map[i].status), map[i].err, "status %d",
			     (int)map[i].status);
}

Test(verbs_util, wc_status_str__names_every_status_and_flags_unknown)
{
	int s;

	for (s = IBV_WC_SUCCESS; s <= IBV_WC_TM_RNDV_INCOMPLETE; s++)
		cr_assert_str_neq(rcp_vb_wc_status_str((enum ibv_wc_status)s), "unknown status",
				  "status %d", s);
	cr_assert_str_eq(rcp_vb_wc_status_str(IBV_WC_REM_ACCESS_ERR), "remote access error");
	cr_assert_str_eq(rcp_vb_wc_status_str((enum ibv_wc_status)999), "unknown status");
}

Test(verbs_util, cm_event_str__names_events)
{
	cr_assert_str_eq(rcp_vb_cm_event_str(RDMA_CM_EVENT_CONNECT_REQUEST), "CONNECT_REQUEST");
	cr_assert_str_eq(rcp_vb_cm_event_str(RDMA_CM_EVENT_TIMEWAIT_EXIT), "TIMEWAIT_EXIT");
	cr_assert_str_eq(rcp_vb_cm_event_str((enum rdma_cm_event_type)99), "UNKNOWN_EVENT");
}

/* rxe_attrs -- device and port attributes as rxe reports them */
static void rxe_attrs(struct ibv_device_attr *dev, struct ibv_port_attr *port)
{
	memset(dev, 0, sizeof(*dev));
	memset(port, 0, sizeof(*port));
	dev->max_sge = 32;
	dev->max_sge_rd = 32;
	dev->max_qp_wr = 1048576;
	dev->max_cqe = 32767;
	dev->max_mr_size = UINT64_MAX;
	dev->max_mw = 524287;
	dev->max_qp_rd_atom = 128;
	dev->max_qp_init_rd_atom = 128;
	dev->device_cap_flags = IBV_DEVICE_MEM_WINDOW | IBV_DEVICE_MEM_WINDOW_TYPE_2B;
	port->max_msg_sz = 0x800000;
	port->active_mtu = IBV_MTU_4096;
}

Test(verbs_util, caps_from_attr__copies_rxe_limits_and_sees_type2_windows)
{
	struct ibv_device_attr dev;
	struct ibv_port_attr port;
	struct rcp_vb_caps caps;

	rxe_attrs(&dev, &port);
	rcp_vb_caps_from_attr(&dev, &port, &caps);
	cr_assert_eq(caps.max_sge, 32);
	cr_assert_eq(caps.max_sge_rd, 32);
	cr_assert_eq(caps.max_qp_wr, 1048576);
	cr_assert_eq(caps.max_cqe, 32767);
	cr_assert_eq(caps.max_mr_size, UINT64_MAX);
	cr_assert_eq(caps.max_mw, 524287);
	cr_assert_eq(caps.max_qp_rd_atom, 128);
	cr_assert_eq(caps.max_qp_init_rd_atom, 128);
	cr_assert_eq(caps.max_msg_sz, 0x800000);
	cr_assert_eq(caps.active_mtu, IBV_MTU_4096);
	cr_assert(caps.mw_type2);
}

Test(verbs_util, port_rate__speed_times_lanes)
{
	cr_assert_eq(rcp_vb_port_rate_mbps(32, 2), 100000);  /* EDR 4x */
	cr_assert_eq(rcp_vb_port_rate_mbps(64, 2), 200000);  /* HDR 4x */
	cr_assert_eq(rcp_vb_port_rate_mbps(128, 2), 400000); /* NDR 4x */
	cr_assert_eq(rcp_vb_port_rate_mbps(1, 1), 2000);     /* SDR 1x */
	cr_assert_eq(rcp_vb_port_rate_mbps(64, 16), 100000); /* HDR 2x */
	cr_assert_eq(rcp_vb_port_rate_mbps(3, 2), 0);	     /* not a speed */
	cr_assert_eq(rcp_vb_port_rate_mbps(32, 3), 0);	     /* not a width */
}

Test(verbs_util, caps_from_attr__no_type2_flag_or_no_windows_means_no_type2)
{
	struct ibv_device_attr dev;
	struct ibv_port_attr port;
	struct rcp_vb_caps caps;

	rxe_attrs(&dev, &port);
	dev.device_cap_flags = IBV_DEVICE_MEM_WINDOW;
	rcp_vb_caps_from_attr(&dev, &port, &caps);
	cr_assert_not(caps.mw_type2);

	rxe_attrs(&dev, &port);
	dev.max_mw = 0;
	rcp_vb_caps_from_attr(&dev, &port, &caps);
	cr_assert_not(caps.mw_type2);

	rxe_attrs(&dev, &port);
	dev.device_cap_flags = IBV_DEVICE_MEM_WINDOW_TYPE_2A;
	rcp_vb_caps_from_attr(&dev, &port, &caps);
	cr_assert(caps.mw_type2);
}

Test(verbs_util, caps_from_attr__zero_max_sge_rd_falls_back_to_max_sge)
{
	struct ibv_device_attr dev;
	struct ibv_port_attr port;
	struct rcp_vb_caps caps;

	rxe_attrs(&dev, &port);
	dev.max_sge = 30;
	dev.max_sge_rd = 0;
	dev.max_qp_rd_atom = -1;
	rcp_vb_caps_from_attr(&dev, &port, &caps);
	cr_assert_eq(caps.max_sge_rd, 30);
	cr_assert_eq(caps.max_qp_rd_atom, 0);
}

Test(verbs_util, query_caps__reads_device_and_port_through_the_layer)
{
	struct rcp_vb_caps caps;

	rcp_mock_port_attr()->active_mtu = IBV_MTU_1024;
	cr_assert_eq(rcp_vb_query_caps(rcp_mock_context(), 1, &caps), 0);
	cr_assert_eq(caps.max_sge, 32);
	cr_assert_eq(caps.active_mtu, IBV_MTU_1024);
	cr_assert_eq(caps.max_msg_sz, 0x800000);
	cr_assert(caps.mw_type2);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_QUERY_DEVICE), 1);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_QUERY_PORT), 1);
}

Test(verbs_util, query_caps__propagates_query_failure)
{
	struct rcp_vb_caps caps;

	rcp_mock_fail(RCP_MOCK_QUERY_PORT, ENODEV);
	cr_assert_eq(rcp_vb_query_caps(rcp_mock_context(), 1, &caps), -ENODEV);
	cr_assert_eq(rcp_vb_query_caps(NULL, 1, &caps), -EINVAL);
}

Test(verbs_util, wr_bind_mw__fills_a_signaled_type2_bind_with_next_rkey)
{
	struct ibv_mw mw = {.rkey = 0x00123401, .type = IBV_MW_TYPE_2};
	struct ibv_mr mr = {.lkey = 7};
	struct ibv_send_wr wr;
	uint32_t rkey;

	memset(&wr, 0xa5, sizeof(wr));
	rkey = rcp_vb_wr_bind_mw(&wr, 77, &mw, &mr, 0x10000, 4096,
				 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	cr_assert_eq(rkey, 0x00123402);
	cr_assert_eq(wr.wr_id, 77);
	cr_assert_null(wr.next);
	cr_assert_eq(wr.num_sge, 0);
	cr_assert_eq(wr.opcode, IBV_WR_BIND_MW);
	cr_assert_eq(wr.send_flags, IBV_SEND_SIGNALED);
	cr_assert_eq(wr.bind_mw.mw, &mw);
	cr_assert_eq(wr.bind_mw.rkey, rkey);
	cr_assert_eq(wr.bind_mw.bind_info.mr, &mr);
	cr_assert_eq(wr.bind_mw.bind_info.addr, 0x10000);
	cr_assert_eq(wr.bind_mw.bind_info.length, 4096);
	cr_assert_eq(wr.bind_mw.bind_info.mw_access_flags,
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	/* building the WR does not change the window: only a completed bind may */
	cr_assert_eq(mw.rkey, 0x00123401);
	rcp_vb_mw_commit_rkey(&mw, rkey);
	cr_assert_eq(mw.rkey, rkey);
}

Test(verbs_util, wr_bind_mw__rkey_tag_wraps_within_low_byte)
{
	struct ibv_mw mw = {.rkey = 0x000456ff};
	struct ibv_send_wr wr;

	cr_assert_eq(rcp_vb_wr_bind_mw(&wr, 1, &mw, NULL, 0, 1, 0), 0x00045600);
}

Test(verbs_util, wr_local_inv__fills_a_signaled_invalidate_of_rkey)
{
	struct ibv_send_wr wr;

	memset(&wr, 0xa5, sizeof(wr));
	rcp_vb_wr_local_inv(&wr, 5, 0xbeef02);
	cr_assert_eq(wr.wr_id, 5);
	cr_assert_null(wr.next);
	cr_assert_eq(wr.num_sge, 0);
	cr_assert_eq(wr.opcode, IBV_WR_LOCAL_INV);
	cr_assert_eq(wr.send_flags, IBV_SEND_SIGNALED);
	cr_assert_eq(wr.invalidate_rkey, 0xbeef02);
}

Test(verbs_util, probe_cq_moderation__any_refusal_means_eopnotsupp)
{
	struct ibv_cq *cq = NULL;

	cr_assert_eq(rcp_vb_create_cq(rcp_mock_context(), 8, NULL, NULL, 0, &cq), 0);
	cr_assert_eq(rcp_vb_probe_cq_moderation(cq, 8, 100), -EOPNOTSUPP);
	rcp_mock_set_cq_moderation(true);
	cr_assert_eq(rcp_vb_probe_cq_moderation(cq, 8, 100), 0);
	rcp_mock_fail_after(RCP_MOCK_MODIFY_CQ_MODERATION, 0, EINVAL, 1);
	cr_assert_eq(rcp_vb_probe_cq_moderation(cq, 8, 100), -EOPNOTSUPP);
	cr_assert_eq(rcp_vb_destroy_cq(&cq), 0);
}

Test(verbs_util, set_nonblock__adds_o_nonblock_to_channel_fds)
{
	struct rdma_event_channel ch;
	struct ibv_comp_channel cc;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	ch.fd = p[0];
	cc.fd = p[1];
	cr_assert_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(rcp_vb_event_channel_set_nonblock(&ch), 0);
	cr_assert_neq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(rcp_vb_comp_channel_set_nonblock(&cc), 0);
	cr_assert_neq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
}

Test(verbs_util, set_nonblock__closed_fd_is_ebadf_and_null_is_einval)
{
	struct rdma_event_channel ch = {.fd = -1};

	cr_assert_eq(rcp_vb_event_channel_set_nonblock(&ch), -EBADF);
	cr_assert_eq(rcp_vb_event_channel_set_nonblock(NULL), -EINVAL);
	cr_assert_eq(rcp_vb_comp_channel_set_nonblock(NULL), -EINVAL);
}
