/* SPDX-License-Identifier: BSD-3-Clause */
/* handlers.c -- dispatch of a session's requests; LIST and STAT answered here (OPEN/CLOSE are
 * grant.c, the long requests jobs.c, COPY copy.c) */
#include "server/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/copy.h"
#include "server/grant.h"
#include "server/jobs.h"
#include "server/listener.h"
#include "server/region.h"
#include "server/stats.h"

/* do_list -- one page of regions from the requested index */
static void do_list(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_server *srv = s->srv;
	struct rcp_msg reply;
	uint32_t start = m->u.list.start;
	uint32_t i;

	rcp_msg_init(&reply, RCP_MSG_LIST_REPLY, m->hdr.req_id);
	reply.u.list_reply.total = (uint32_t)srv->nregions;
	for (i = 0; start < srv->nregions && i < RCP_LIST_MAX && start + i < srv->nregions; i++) {
		const struct rcp_region *r = srv->regions[start + i];
		struct rcp_region_info *e = &reply.u.list_reply.entries[i];

		rcp_strfield_set(e->name, sizeof(e->name), r->name);
		e->size = r->size;
		e->rights = r->rights;
		e->kind = r->kind;
		e->flags = r->dynamic ? RCP_REGION_F_DYNAMIC : 0;
	}
	reply.u.list_reply.count = i;
	rcp_session_reply(s, &reply);
}

/* do_stat -- the counters */
static void do_stat(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_msg reply;

	rcp_msg_init(&reply, RCP_MSG_STAT_REPLY, m->hdr.req_id);
	rcp_stats_fill(s->srv, &reply.u.stat_reply);
	rcp_session_reply(s, &reply);
}

/* do_info -- every address served, with its device, port and rate: a client opens its rails
 * from this */
static void do_info(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_server *srv = s->srv;
	struct rcp_msg reply;
	unsigned int i;

	if (s->version < 3) {
		/* its reply does not exist in the version this session speaks */
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOTSUP,
				   "INFO needs protocol 3, this connection speaks %u", s->version);
		return;
	}
	rcp_msg_init(&reply, RCP_MSG_INFO_REPLY, m->hdr.req_id);
	reply.u.info_reply.port = rcp_listener_port(srv);
	for (i = 0; i < srv->nlistens && i < RCP_INFO_MAX; i++) {
		const struct rcp_listen *l = &srv->listens[i];
		const struct rcp_dev *d = &srv->devs[l->dev];
		struct rcp_addr_info *a = &reply.u.info_reply.addrs[i];

		snprintf(a->addr, sizeof(a->addr), "%.47s", l->addr);
		snprintf(a->device, sizeof(a->device), "%.31s", d->ctx->device->name);
		a->port_num = l->port_num;
		a->rate_mbps = d->caps.rate_mbps;
	}
	reply.u.info_reply.count = (uint8_t)i;
	rcp_session_reply(s, &reply);
}

/* rcp_handle_request -- dispatch by type; replies from a client are a protocol error */
void rcp_handle_request(struct rcp_session *s, const struct rcp_msg *m)
{
	switch (m->hdr.type) {
	case RCP_MSG_LIST:
		do_list(s, m);
		break;
	case RCP_MSG_OPEN:
		rcp_grant_open(s, m);
		break;
	case RCP_MSG_CLOSE:
		rcp_grant_close(s, m);
		break;
	case RCP_MSG_FLUSH:
		rcp_req_flush(s, m);
		break;
	case RCP_MSG_CHECKSUM:
		rcp_req_checksum(s, m);
		break;
	case RCP_MSG_STAT:
		do_stat(s, m);
		break;
	case RCP_MSG_INFO:
		do_info(s, m);
		break;
	case RCP_MSG_CREATE:
		rcp_req_create(s, m);
		break;
	case RCP_MSG_DESTROY:
		rcp_req_destroy(s, m);
		break;
	case RCP_MSG_COPY:
		rcp_copy_start(s, m);
		break;
	default:
		rcp_session_fail(s, m->hdr.req_id, RCP_ERR_PROTO, "%s is not a request",
				 rcp_msg_type_name(m->hdr.type));
		break;
	}
}
