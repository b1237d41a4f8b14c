/* SPDX-License-Identifier: BSD-3-Clause */
/* mw_probe.c -- the startup self-test of window bounds, on a loopback connection */
#include "server/mw_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/verbs.h"

#define PROBE_TIMEOUT_MS 5000
#define PROBE_READ	 64 /* bytes per probing read */

/* wr_id of the probe's work requests */
enum { WR_BIND = 1, WR_INSIDE, WR_OUTSIDE };

/* A loopback connection: the listener's child is passive, the connecting id active. */
struct pair {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *listen;
	struct rdma_cm_id *active;
	struct rdma_cm_id *passive;
	struct ibv_pd *pd;
	struct ibv_cq *active_cq;
	struct ibv_cq *passive_cq;
};

/* now_ms -- monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* rcp_mw_probe_decide -- only a clean pair of answers says the device checks the window */
enum rcp_mw_bounds rcp_mw_probe_decide(const struct rcp_mw_probe_result *r)
{
	if (r->bind_status || r->inside_status)
		return RCP_MW_BOUNDS_UNKNOWN;
	if (!r->outside_status)
		return RCP_MW_BOUNDS_NOT_ENFORCED;
	/* refused for another reason (a broken link, a flush) proves nothing about bounds */
	if (r->outside_wc == IBV_WC_REM_ACCESS_ERR)
		return RCP_MW_BOUNDS_ENFORCED;
	return RCP_MW_BOUNDS_UNKNOWN;
}

/* wait_wc -- poll cq until the completion of wr_id, or the deadline; its status */
static int wait_wc(struct ibv_cq *cq, uint64_t wr_id, uint64_t deadline, enum ibv_wc_status *status)
{
	struct timespec nap = {.tv_nsec = 100000};
	struct ibv_wc wc;
	int n;

	for (;;) {
		n = rcp_vb_poll_cq(cq, 1, &wc);
		if (n < 0)
			return n;
		if (n == 1 && wc.wr_id == wr_id) {
			*status = wc.status;
			return 0;
		}
		if (n == 0) {
			if (now_ms() >= deadline)
				return -ETIMEDOUT;
			nanosleep(&nap, NULL);
		}
	}
}

/* read_at -- one signaled RDMA READ of PROBE_READ bytes, and its outcome */
static int read_at(struct ibv_qp *qp, struct ibv_cq *cq, uint64_t wr_id, struct ibv_mr *lmr,
		   uint64_t raddr, uint32_t rkey, uint64_t deadline, enum ibv_wc_status *status)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)lmr->addr, .length = PROBE_READ, .lkey = lmr->lkey};
	struct ibv_send_wr wr;
	int ret;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = wr_id;
	wr.opcode = IBV_WR_RDMA_READ;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	ret = rcp_vb_post_send(qp, &wr, NULL);
	if (ret)
		return ret;
	return wait_wc(cq, wr_id, deadline, status);
}

/* rcp_mw_probe_pair -- a window over page 1 of three; read page 1, then page 0 */
int rcp_mw_probe_pair(struct ibv_pd *pd, struct ibv_qp *passive, struct ibv_cq *passive_cq,
		      struct ibv_qp *active, struct ibv_cq *active_cq, int timeout_ms,
		      struct rcp_mw_probe_result *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct ibv_send_wr wr;
	struct ibv_mr *mr = NULL;
	struct ibv_mr *lmr = NULL;
	struct ibv_mw *mw = NULL;
	enum ibv_wc_status st;
	uint8_t *buf;
	uint8_t *lbuf;
	uint32_t rkey;
	int ret;

	memset(out, 0, sizeof(*out));
	buf = aligned_alloc(page, 4 * page);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0xa5, 4 * page);
	lbuf = buf + 3 * page;
	ret = rcp_vb_reg_mr(pd, buf, 3 * page, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND, &mr);
	if (ret)
		goto out_free;
	ret = rcp_vb_reg_mr(pd, lbuf, page, IBV_ACCESS_LOCAL_WRITE, &lmr);
	if (ret)
		goto out_dereg;
	ret = rcp_vb_alloc_mw(pd, &mw);
	if (ret)
		goto out_dereg;
	rkey = rcp_vb_wr_bind_mw(&wr, WR_BIND, mw, mr, (uintptr_t)buf + page, page,
				 IBV_ACCESS_REMOTE_READ);
	ret = rcp_vb_post_send(passive, &wr, NULL);
	if (!ret)
		ret = wait_wc(passive_cq, WR_BIND, deadline, &st);
	if (ret)
		goto out_dealloc;
	out->bind_status = rcp_vb_wc_errno(st);
	if (out->bind_status)
		goto out_dealloc;
	rcp_vb_mw_commit_rkey(mw, rkey);
	ret = read_at(active, active_cq, WR_INSIDE, lmr, (uintptr_t)buf + page + PROBE_READ, rkey,
		      deadline, &st);
	if (ret)
		goto out_dealloc;
	out->inside_status = rcp_vb_wc_errno(st);
	if (out->inside_status)
		goto out_dealloc;
	ret = read_at(active, active_cq, WR_OUTSIDE, lmr, (uintptr_t)buf + PROBE_READ, rkey,
		      deadline, &st);
	if (ret)
		goto out_dealloc;
	out->outside_status = rcp_vb_wc_errno(st);
	out->outside_wc = st;

out_dealloc:
	/* freeing the window invalidates it, so the MR under it can go too */
	rcp_vb_dealloc_mw(&mw);
out_dereg:
	rcp_vb_dereg_mr(&lmr);
	rcp_vb_dereg_mr(&mr);
out_free:
	free(buf);
	return ret;
}

/* wait_event -- the next event of type want for id (NULL: any id; *idp gets it); events for
 * other ids of the pair are acked and dropped. 0, -ETIMEDOUT, or -EPROTO on another event. */
static int wait_event(struct pair *p, enum rdma_cm_event_type want, struct rdma_cm_id *id,
		      struct rdma_cm_id **idp, uint64_t deadline)
{
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type type;
	struct pollfd pfd = {.fd = p->ch->fd, .events = POLLIN};
	int ret;

	for (;;) {
		ret = rcp_vb_get_cm_event(p->ch, &ev);
		if (ret == -EAGAIN) {
			uint64_t now = now_ms();

			if (now >= deadline)
				return -ETIMEDOUT;
			poll(&pfd, 1, (int)(deadline - now));
			continue;
		}
		if (ret)
			return ret;
		type = ev->event;
		if (id && ev->id != id && type != RDMA_CM_EVENT_CONNECT_REQUEST) {
			rcp_vb_ack_cm_event(ev);
			continue;
		}
		if (idp)
			*idp = ev->id;
		rcp_vb_ack_cm_event(ev);
		return type == want ? 0 : -EPROTO;
	}
}

/* make_qp -- a small CQ and an RC QP for one end of the pair */
static int make_qp(struct pair *p, struct rdma_cm_id *id, struct ibv_cq **cqp)
{
	struct ibv_qp_init_attr attr;
	int ret;

	ret = rcp_vb_create_cq(id->verbs, 8, NULL, NULL, 0, cqp);
	if (ret)
		return ret;
	memset(&attr, 0, sizeof(attr));
	attr.qp_type = IBV_QPT_RC;
	attr.send_cq = *cqp;
	attr.recv_cq = *cqp;
	attr.cap.max_send_wr = 4;
	attr.cap.max_recv_wr = 1;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	return rcp_vb_create_qp(id, p->pd, &attr);
}

/* pair_connect -- listen on the daemon's address at a spare port and connect to it */
static int pair_connect(const struct sockaddr_storage *src, struct pair *p, char *why,
			size_t why_len)
{
	uint64_t deadline = now_ms() + PROBE_TIMEOUT_MS;
	struct sockaddr_storage ss;
	const char *step;
	int ret;

	memcpy(&ss, src, sizeof(ss));
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	step = "event channel";
	ret = rcp_vb_create_event_channel(&p->ch);
	if (!ret)
		ret = rcp_vb_event_channel_set_nonblock(p->ch);
	if (!ret) {
		step = "listening";
		ret = rcp_vb_create_id(p->ch, NULL, &p->listen);
	}
	if (!ret)
		ret = rcp_vb_listen(p->listen, (struct sockaddr *)&ss, 1);
	if (ret)
		goto err;
	/* connect to the port just bound */
	memcpy(&ss, &p->listen->route.addr.src_addr, sizeof(ss));
	step = "resolving the address";
	ret = rcp_vb_create_id(p->ch, NULL, &p->active);
	if (!ret)
		ret = rcp_vb_resolve_addr(p->active, NULL, (struct sockaddr *)&ss, 2000);
	if (!ret)
		ret = wait_event(p, RDMA_CM_EVENT_ADDR_RESOLVED, p->active, NULL, deadline);
	if (!ret) {
		step = "resolving the route";
		ret = rcp_vb_resolve_route(p->active, 2000);
	}
	if (!ret)
		ret = wait_event(p, RDMA_CM_EVENT_ROUTE_RESOLVED, p->active, NULL, deadline);
	if (ret)
		goto err;
	step = "setting up queue pairs";
	ret = rcp_vb_alloc_pd(p->active->verbs, &p->pd);
	if (!ret)
		ret = make_qp(p, p->active, &p->active_cq);
	if (!ret) {
		step = "connecting";
		ret = rcp_vb_connect(p->active, NULL, NULL, 0);
	}
	if (!ret)
		ret = wait_event(p, RDMA_CM_EVENT_CONNECT_REQUEST, NULL, &p->passive, deadline);
	if (ret)
		goto err;
	step = "accepting";
	ret = make_qp(p, p->passive, &p->passive_cq);
	if (!ret)
		ret = rcp_vb_accept(p->passive, NULL, NULL, 0);
	/* both ends report ESTABLISHED, in either order */
	if (!ret)
		ret = wait_event(p, RDMA_CM_EVENT_ESTABLISHED, NULL, NULL, deadline);
	if (!ret)
		ret = wait_event(p, RDMA_CM_EVENT_ESTABLISHED, NULL, NULL, deadline);
	if (!ret)
		return 0;
err:
	snprintf(why, why_len, "%s: %s", step, strerror(-ret));
	return ret;
}

/* pair_close -- everything pair_connect made, in reverse */
static void pair_close(struct pair *p)
{
	if (p->passive) {
		rcp_vb_disconnect(p->passive);
		rcp_vb_destroy_qp(p->passive);
	}
	if (p->active) {
		rcp_vb_disconnect(p->active);
		rcp_vb_destroy_qp(p->active);
	}
	rcp_vb_destroy_cq(&p->passive_cq);
	rcp_vb_destroy_cq(&p->active_cq);
	rcp_vb_destroy_id(&p->passive);
	rcp_vb_destroy_id(&p->active);
	rcp_vb_destroy_id(&p->listen);
	rcp_vb_dealloc_pd(&p->pd);
	rcp_vb_destroy_event_channel(&p->ch);
}

/* rcp_mw_probe -- connect, test, take down; UNKNOWN with a reason when anything fails */
enum rcp_mw_bounds rcp_mw_probe(const struct sockaddr_storage *src, char *why, size_t why_len)
{
	struct rcp_mw_probe_result res;
	enum rcp_mw_bounds b = RCP_MW_BOUNDS_UNKNOWN;
	struct pair p;
	int ret;

	memset(&p, 0, sizeof(p));
	why[0] = '\0';
	ret = pair_connect(src, &p, why, why_len);
	if (!ret) {
		ret = rcp_mw_probe_pair(p.pd, p.passive->qp, p.passive_cq, p.active->qp,
					p.active_cq, PROBE_TIMEOUT_MS, &res);
		if (ret)
			snprintf(why, why_len, "the test reads: %s", strerror(-ret));
	}
	if (!ret) {
		b = rcp_mw_probe_decide(&res);
		if (b == RCP_MW_BOUNDS_UNKNOWN)
			snprintf(why, why_len, "bind %s, read inside %s, read outside %s",
				 strerror(-res.bind_status), strerror(-res.inside_status),
				 rcp_vb_wc_status_str(res.outside_wc));
		else
			snprintf(why, why_len, "a read outside the window %s",
				 b == RCP_MW_BOUNDS_ENFORCED ? "was refused" : "succeeded");
	}
	pair_close(&p);
	return b;
}

/* rcp_mw_bounds_str -- for logs */
const char *rcp_mw_bounds_str(enum rcp_mw_bounds b)
{
	switch (b) {
	case RCP_MW_BOUNDS_ENFORCED:
		return "enforced";
	case RCP_MW_BOUNDS_NOT_ENFORCED:
		return "not enforced";
	case RCP_MW_BOUNDS_UNKNOWN:
		return "unknown";
	}
	return "?";
}
