/* SPDX-License-Identifier: BSD-3-Clause */
/* keepalive.c -- a zero-length RDMA WRITE to sessions nothing was heard from for a while */
#include "server/keepalive.h"

#include <errno.h>
#include <string.h>

#include "server/session.h"

#define PROBE_MIN_MS 5000 /* never judge a probe sooner: the QP's own retries come first */

/* probe -- post the zero-length write; its completion (or its failure) is the answer */
static void probe(struct rcp_session *s)
{
	struct ibv_send_wr wr;
	int ret;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = RCP_WR_ID(RCP_WR_PROBE, 0);
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.num_sge = 0;
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = rcp_vb_post_send(s->id->qp, &wr, NULL);
	if (ret) {
		rcp_session_close(s, "cannot post a keepalive probe");
		return;
	}
	s->probing = true;
	s->probe_ms = rcp_now_ms();
}

/*
 * probe_overdue -- a probe is answered by an ACK within the QP's retry budget, or fails with
 * retry exceeded. Neither may come: rxe, when a send is dropped at the sender's own egress, rolls
 * the work request back and retries it without arming its retransmit timer, so the probe waits
 * forever for an ACK. A probe that has had a whole keepalive period (and at least the QP's
 * longest retry budget, about 4 s with rdma_cm's defaults) is taken as the answer itself.
 */
static bool probe_overdue(const struct rcp_server *srv, const struct rcp_session *s,
			  uint64_t now)
{
	uint64_t budget = srv->cfg.keepalive_ms > PROBE_MIN_MS ? srv->cfg.keepalive_ms
							       : PROBE_MIN_MS;

	return s->probing && now - s->probe_ms >= budget;
}

/* tick -- probe every authenticated session that has been quiet for the keepalive time, and
 * close those whose probe went unanswered (closing only marks a session: the list stays intact) */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_server *srv = arg;
	uint64_t now = rcp_now_ms();
	struct rcp_session *s;

	(void)fd;
	(void)what;
	LIST_FOREACH(s, &srv->sessions, link)
	{
		if (s->state == RCP_SESSION_READY && !s->disconnecting && probe_overdue(srv, s, now)) {
			rcp_session_close(s, "keepalive probe unanswered");
			continue;
		}
		if (s->state != RCP_SESSION_READY || s->probing || s->disconnecting ||
		    now - s->heard_ms < srv->cfg.keepalive_ms)
			continue;
		rcp_dbg(&srv->log, "client %s: quiet for %llu ms: probing", s->peer,
			(unsigned long long)(now - s->heard_ms));
		probe(s);
	}
}

/* rcp_keepalive_start -- a look twice per keepalive period */
int rcp_keepalive_start(struct rcp_server *srv)
{
	uint64_t half = srv->cfg.keepalive_ms / 2;
	struct timeval tv = {.tv_sec = (time_t)(half / 1000),
			     .tv_usec = (suseconds_t)(half % 1000) * 1000};

	if (!srv->cfg.keepalive_ms)
		return 0;
	srv->keepalive = event_new(srv->base, -1, EV_PERSIST, tick, srv);
	if (!srv->keepalive || event_add(srv->keepalive, &tv))
		return -ENOMEM;
	return 0;
}

/* rcp_keepalive_stop -- the timer goes */
void rcp_keepalive_stop(struct rcp_server *srv)
{
	if (srv->keepalive)
		event_free(srv->keepalive);
	srv->keepalive = NULL;
}
