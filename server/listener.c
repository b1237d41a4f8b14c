/* SPDX-License-Identifier: BSD-3-Clause */
/* listener.c -- rdma_cm events: connect requests checked, rejected or accepted into sessions */
#include "server/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "server/admission.h"
#include "server/grant.h"
#include "server/session.h"

#define LISTEN_BACKLOG 64
#define PDATA_MAX      256

/* What the loop keeps of an event after acking it: acking first lets a handler destroy the
 * id, which librdmacm refuses while one of its events is held. */
struct cm_evt {
	enum rdma_cm_event_type type;
	int status;
	struct rdma_cm_id *id;
	uint8_t pdata[PDATA_MAX];
	size_t pdata_len;
};

/* rcp_sockaddr_str -- numeric address and port, for logs */
void rcp_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(unknown address)");
	}
}

/* sockaddr_host -- the numeric address alone, which per-source limits count */
static void sockaddr_host(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* bound_port -- the port an id is bound to */
static uint16_t bound_port(const struct rdma_cm_id *id)
{
	const struct sockaddr *sa = (const struct sockaddr *)&id->route.addr.src_addr;

	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

/* rcp_listener_port -- the port bound: every address is served on the first one's port */
uint16_t rcp_listener_port(const struct rcp_server *srv)
{
	return srv->nlistens ? srv->listens[0].port : 0;
}

/* reject -- refuse a connect request, saying why in the private data in a way a client of
 * that version understands, and drop its id */
static void reject(struct rcp_server *srv, struct rdma_cm_id *id, const char *peer,
		   unsigned int version, enum rcp_reject_reason reason, const char *why)
{
	struct rcp_cm_reject rj = {.reason = rcp_reject_for_version(reason, version)};
	uint8_t pdata[RCP_CM_REJECT_LEN];
	size_t len = 0;
	int ret;

	srv->cnt.refusals++;
	if ((unsigned int)reason <= RCP_REJECT_MAX)
		srv->reqstats.refused[reason]++;
	if (reason == RCP_REJECT_NEED_KEY)
		srv->reqstats.auth_failed[RCP_AUTH_FAIL_NO_KEY]++;
	rcp_log(&srv->log, reason == RCP_REJECT_BUSY ? RCP_LOG_INFO : RCP_LOG_WARN,
		"refused connection from %s: %s (%s)", peer, why, rcp_reject_name(rj.reason));
	ret = rcp_cm_reject_encode(&rj, pdata, sizeof(pdata), &len);
	if (ret)
		len = 0;
	ret = rcp_vb_reject(id, len ? pdata : NULL, len);
	if (ret)
		rcp_dbg(&srv->log, "rdma_reject for %s: %s", peer, strerror(-ret));
	rcp_vb_destroy_id(&id);
}

/* on_connect_request -- the private data decides; then limits; then a session and accept */
static void on_connect_request(struct rcp_server *srv, const struct cm_evt *e)
{
	const struct sockaddr *sa = (const struct sockaddr *)&e->id->route.addr.dst_addr;
	struct rcp_session_peer p;
	struct rcp_vb_conn_opts opts;
	struct rcp_cm_private cp;
	struct rcp_session *s = NULL;
	struct rcp_dev *dev;
	char peer[64];
	char src[48];
	char why[160];
	int ret;

	rcp_sockaddr_str(sa, peer, sizeof(peer));
	sockaddr_host(sa, src, sizeof(src));
	rcp_dbg(&srv->log, "connect request from %s (%zu bytes of private data)", peer,
		e->pdata_len);
	ret = rcp_cm_private_decode(e->pdata, e->pdata_len, &cp);
	if (ret == -EPROTONOSUPPORT) {
		snprintf(why, sizeof(why), "protocol version %u, this daemon speaks %d to %d",
			 (unsigned int)cp.version, RCP_PROTO_VERSION_MIN, RCP_PROTO_VERSION);
		reject(srv, e->id, peer, cp.version, RCP_REJECT_BAD_VERSION, why);
		return;
	}
	if (ret) {
		reject(srv, e->id, peer, 1, RCP_REJECT_BAD_MAGIC, "not an rdmacpy client");
		return;
	}
	if ((cp.flags & RCP_CM_F_NO_KEY) && !srv->cfg.no_auth) {
		reject(srv, e->id, peer, cp.version, RCP_REJECT_NEED_KEY,
		       "client has no key, auth required");
		return;
	}
	dev = rcp_dev_of(srv, e->id->verbs);
	if (!dev) {
		/* every region is registered on the devices of --listen addresses only */
		reject(srv, e->id, peer, cp.version, RCP_REJECT_FULL,
		       "arrived on an RDMA device this daemon does not serve");
		return;
	}
	ret = rcp_admit(srv, src, why, sizeof(why));
	if (ret) {
		reject(srv, e->id, peer, cp.version, (enum rcp_reject_reason)ret, why);
		return;
	}
	p.peer = peer;
	p.src = src;
	p.version = cp.version;
	p.nonce = cp.nonce;
	p.dev = dev;
	ret = rcp_session_new(srv, e->id, &p, &s);
	if (ret) {
		snprintf(why, sizeof(why), "cannot set up a session: %s", strerror(-ret));
		reject(srv, e->id, peer, cp.version, RCP_REJECT_FULL, why);
		return;
	}
	memset(&opts, 0, sizeof(opts));
	/* let the client pipeline as many RDMA READs as the device can answer at once */
	opts.responder_resources =
		(uint8_t)(dev->caps.max_qp_rd_atom > UINT8_MAX ? UINT8_MAX
							       : dev->caps.max_qp_rd_atom);
	opts.initiator_depth = (uint8_t)(dev->caps.max_qp_init_rd_atom > UINT8_MAX
						 ? UINT8_MAX
						 : dev->caps.max_qp_init_rd_atom);
	opts.retry_count = 7;
	opts.rnr_retry_count = 7;
	ret = rcp_vb_accept(e->id, &opts, NULL, 0);
	if (ret) {
		rcp_err(&srv->log, "accepting %s: %s", peer, strerror(-ret));
		rcp_session_delete(&s);
	}
}

/* on_event -- one acked event, by the id it concerns */
static void on_event(struct rcp_server *srv, const struct cm_evt *e)
{
	struct rcp_session *s;

	if (e->type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		on_connect_request(srv, e);
		return;
	}
	if (e->type == RDMA_CM_EVENT_DEVICE_REMOVAL) {
		rcp_err(&srv->log, "the RDMA device went away");
		srv->exit_code = 1;
		rcp_server_shutdown(srv, "device removal");
		return;
	}
	/* listen ids, and the ids of requests not yet accepted, have no context */
	s = e->id->context;
	if (!s) {
		rcp_dbg(&srv->log, "rdma_cm event %s ignored", rcp_vb_cm_event_str(e->type));
		return;
	}
	switch (e->type) {
	case RDMA_CM_EVENT_ESTABLISHED:
		rcp_session_established(s);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		rcp_dbg(&srv->log, "client %s: %s (status %d)", s->peer,
			rcp_vb_cm_event_str(e->type), e->status);
		rcp_session_delete(&s);
		break;
	default:
		rcp_dbg(&srv->log, "client %s: rdma_cm event %s", s->peer,
			rcp_vb_cm_event_str(e->type));
		break;
	}
}

/* cm_cb -- the event channel is readable: handle every pending event */
static void cm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_server *srv = arg;
	struct rdma_cm_event *ev;
	struct cm_evt e;
	int ret;

	(void)fd;
	(void)what;
	while (srv->cm_ch) {
		ret = rcp_vb_get_cm_event(srv->cm_ch, &ev);
		if (ret == -EAGAIN)
			break;
		if (ret) {
			rcp_err(&srv->log, "rdma_get_cm_event: %s", strerror(-ret));
			break;
		}
		memset(&e, 0, sizeof(e));
		e.type = ev->event;
		e.status = ev->status;
		e.id = ev->id;
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST && ev->param.conn.private_data) {
			e.pdata_len = ev->param.conn.private_data_len;
			if (e.pdata_len > sizeof(e.pdata))
				e.pdata_len = sizeof(e.pdata);
			memcpy(e.pdata, ev->param.conn.private_data, e.pdata_len);
		}
		rcp_vb_ack_cm_event(ev);
		on_event(srv, &e);
	}
}

/* resolve -- a listen address (numeric or a name) with the port */
static int resolve(struct rcp_server *srv, const char *host, uint16_t port,
		   struct sockaddr_storage *ss)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char pstr[8];
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(pstr, sizeof(pstr), "%u", port);
	ret = getaddrinfo(host, pstr, &hints, &res);
	if (ret) {
		rcp_err(&srv->log, "--listen %s: %s", host, gai_strerror(ret));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* rcp_dev_of -- the served device of a verbs context, or NULL */
struct rcp_dev *rcp_dev_of(struct rcp_server *srv, const struct ibv_context *ctx)
{
	unsigned int i;

	for (i = 0; i < srv->ndevs; i++)
		if (srv->devs[i].ctx == ctx)
			return &srv->devs[i];
	return NULL;
}

/* add_dev -- the device behind a new listen id: known already, or a new slot */
static int add_dev(struct rcp_server *srv, struct rcp_listen *l)
{
	struct rcp_dev *d = rcp_dev_of(srv, l->id->verbs);

	if (!d) {
		if (srv->ndevs == RCP_MAX_DEVS) {
			rcp_err(&srv->log, "--listen %s: at most %d RDMA devices are served",
				l->str, RCP_MAX_DEVS);
			return -E2BIG;
		}
		d = &srv->devs[srv->ndevs];
		memset(d, 0, sizeof(*d));
		d->ctx = l->id->verbs;
		d->index = srv->ndevs++;
		d->port = l->port_num;
		d->first = l;
	}
	l->dev = d->index;
	return 0;
}

/* listen_one -- bind and listen on one address, on the channel every id shares */
static int listen_one(struct rcp_server *srv, const char *host, uint16_t port)
{
	struct rcp_listen *l = &srv->listens[srv->nlistens];
	struct sockaddr_storage ss;
	int ret;

	memset(l, 0, sizeof(*l));
	memset(&ss, 0, sizeof(ss));
	ret = resolve(srv, host, port, &ss);
	if (ret)
		return ret;
	ret = rcp_vb_create_id(srv->cm_ch, NULL, &l->id);
	if (ret)
		return ret;
	ret = rcp_vb_listen(l->id, (struct sockaddr *)&ss, LISTEN_BACKLOG);
	if (ret) {
		rcp_err(&srv->log, "listening on %s port %u: %s", host, port, strerror(-ret));
		goto err;
	}
	if (!l->id->verbs) {
		rcp_err(&srv->log,
			"--listen %s: no RDMA device has this address (a wildcard address "
			"does not pick a device)",
			host);
		ret = -ENODEV;
		goto err;
	}
	l->port = bound_port(l->id);
	l->port_num = l->id->port_num ? l->id->port_num : 1;
	rcp_sockaddr_str((struct sockaddr *)&l->id->route.addr.src_addr, l->str, sizeof(l->str));
	sockaddr_host((struct sockaddr *)&l->id->route.addr.src_addr, l->addr, sizeof(l->addr));
	ret = add_dev(srv, l);
	if (ret)
		goto err;
	srv->nlistens++;
	rcp_info(&srv->log, "listening on %s, device %s port %u", l->str,
		 l->id->verbs->device->name, l->port_num);
	return 0;

err:
	rcp_vb_destroy_id(&l->id);
	return ret;
}

/* rcp_listener_start -- one channel, one listen id per address, the devices behind them */
int rcp_listener_start(struct rcp_server *srv)
{
	unsigned int i;
	int ret;

	ret = rcp_vb_create_event_channel(&srv->cm_ch);
	if (ret) {
		rcp_err(&srv->log, "rdma_cm event channel: %s (is rdma_ucm loaded?)",
			strerror(-ret));
		return ret;
	}
	ret = rcp_vb_event_channel_set_nonblock(srv->cm_ch);
	if (ret)
		goto err;
	for (i = 0; i < srv->cfg.nlisten; i++) {
		/* with --port 0 the first address picks a free port and the others share it:
		 * clients learn one port for all the rails */
		ret = listen_one(srv, srv->cfg.listen[i], i ? srv->listens[0].port : srv->cfg.port);
		if (ret)
			goto err;
	}
	srv->cm_event = event_new(srv->base, srv->cm_ch->fd, EV_READ | EV_PERSIST, cm_cb, srv);
	if (!srv->cm_event || event_add(srv->cm_event, NULL)) {
		ret = -ENOMEM;
		goto err;
	}
	snprintf(srv->listen_str, sizeof(srv->listen_str), "%s", srv->listens[0].str);
	return 0;

err:
	rcp_listener_stop(srv);
	return ret;
}

/* rcp_listener_stop -- in reverse order of rcp_listener_start */
void rcp_listener_stop(struct rcp_server *srv)
{
	if (srv->cm_event) {
		event_free(srv->cm_event);
		srv->cm_event = NULL;
	}
	while (srv->nlistens)
		rcp_vb_destroy_id(&srv->listens[--srv->nlistens].id);
	/* listen ids whose setup failed half-way were destroyed where they failed */
	rcp_vb_destroy_event_channel(&srv->cm_ch);
}
