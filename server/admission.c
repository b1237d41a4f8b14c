/* SPDX-License-Identifier: BSD-3-Clause */
/* admission.c -- who may connect: limits, the pending pool with eviction, auth deadlines */
#include "server/admission.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* grace_ms -- how long a pending connection is safe from eviction */
static uint64_t grace_ms(const struct rcp_server *srv)
{
	return srv->cfg.auth_timeout_ms / 4;
}

/* oldest_pending -- the pending session waiting longest, of src when src is not NULL; *n gets
 * how many pending (of src) there are and *all how many sessions of src of any kind */
static struct rcp_session *oldest_pending(struct rcp_server *srv, const char *src, uint32_t *n,
					  uint32_t *all)
{
	struct rcp_session *s;
	struct rcp_session *old = NULL;

	*n = 0;
	*all = 0;
	LIST_FOREACH(s, &srv->sessions, link)
	{
		if (src && strcmp(s->src, src))
			continue;
		(*all)++;
		if (!s->pending)
			continue;
		(*n)++;
		if (!old || s->connected_ms < old->connected_ms)
			old = s;
	}
	return old;
}

/* make_room -- evict old if it has had its chance; else say BUSY */
static int make_room(struct rcp_server *srv, struct rcp_session *old, const char *limit, uint32_t n,
		     char *why, size_t why_len)
{
	uint64_t now = rcp_now_ms();

	if (old && now - old->connected_ms >= grace_ms(srv)) {
		srv->cnt.pending_evicted++;
		rcp_warn(&srv->log,
			 "client %s: closed after %llu ms without authenticating, to make room "
			 "(%u connections authenticating, the limit %s)",
			 old->peer, (unsigned long long)(now - old->connected_ms), n, limit);
		rcp_session_delete(&old);
		return 0;
	}
	snprintf(why, why_len, "%u connections authenticating, the limit %s; retry", n, limit);
	return RCP_REJECT_BUSY;
}

/* rcp_admit -- the limits in order: authenticated slots, per source, the pending pool */
int rcp_admit(struct rcp_server *srv, const char *src, char *why, size_t why_len)
{
	struct rcp_session *old;
	uint32_t ready = srv->nsessions - srv->npending;
	uint32_t n;
	uint32_t all;
	int ret;

	if (srv->shutting_down) {
		snprintf(why, why_len, "shutting down");
		return RCP_REJECT_SHUTDOWN;
	}
	if (ready >= srv->cfg.max_clients) {
		snprintf(why, why_len, "%u clients connected, the limit (--max-clients)", ready);
		return RCP_REJECT_FULL;
	}
	old = oldest_pending(srv, src, &n, &all);
	if (srv->cfg.max_per_source && all >= srv->cfg.max_per_source) {
		snprintf(why, why_len, "%u connections from %s, the limit (--max-per-source)", all,
			 src);
		return RCP_REJECT_FULL;
	}
	if (n >= srv->cfg.max_pending_per_source) {
		ret = make_room(srv, old, "per source (--max-pending-per-source)", n, why, why_len);
		if (ret)
			return ret;
	}
	old = oldest_pending(srv, NULL, &n, &all);
	if (n >= srv->cfg.max_pending)
		return make_room(srv, old, "(--max-pending)", n, why, why_len);
	return 0;
}

/* auth_deadline -- a pending session ran out of time */
static void auth_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_session *s = arg;
	struct rcp_server *srv = s->srv;

	(void)fd;
	(void)what;
	srv->cnt.auth_timeouts++;
	srv->reqstats.auth_failed[RCP_AUTH_FAIL_TIMEOUT]++;
	rcp_warn(&srv->log, "client %s: did not authenticate within %llu ms: closed", s->peer,
		 (unsigned long long)srv->cfg.auth_timeout_ms);
	rcp_session_delete(&s);
}

/* rcp_admission_start -- the session is pending from now, until the deadline */
int rcp_admission_start(struct rcp_session *s)
{
	struct rcp_server *srv = s->srv;
	struct timeval tv = {
		.tv_sec = (time_t)(srv->cfg.auth_timeout_ms / 1000),
		.tv_usec = (suseconds_t)(srv->cfg.auth_timeout_ms % 1000) * 1000,
	};

	s->auth_timer = evtimer_new(srv->base, auth_deadline, s);
	if (!s->auth_timer || evtimer_add(s->auth_timer, &tv))
		return -ENOMEM;
	s->pending = true;
	s->connected_ms = rcp_now_ms();
	srv->npending++;
	return 0;
}

/* leave_pending -- out of the pool, the deadline stopped */
static void leave_pending(struct rcp_session *s)
{
	if (s->auth_timer) {
		event_free(s->auth_timer);
		s->auth_timer = NULL;
	}
	if (s->pending) {
		s->pending = false;
		s->srv->npending--;
	}
}

/* rcp_admission_authenticated -- a slot of --max-clients, if one is free */
int rcp_admission_authenticated(struct rcp_session *s)
{
	struct rcp_server *srv = s->srv;

	/* sessions that authenticated at about the same time may have filled it meanwhile */
	if (srv->nsessions - srv->npending >= srv->cfg.max_clients)
		return -EUSERS;
	leave_pending(s);
	return 0;
}

/* rcp_admission_stop -- the session is being freed */
void rcp_admission_stop(struct rcp_session *s)
{
	leave_pending(s);
}
