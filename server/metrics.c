/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.c -- /metrics and /health over HTTP, bounded so that a scraper cannot become a way in:
 * GET only, small headers, no bodies, a deadline per request, a cap on connections */
#include "server/metrics.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>

#include "server/devices.h"
#include "server/exposition.h"

/*
 * libevent 2.1's HTTP server has no bound on connections of its own, and a bufferevent filter
 * cannot count them (evhttp would close a filtered connection as soon as its answer reached the
 * filter, before the socket sent it). So every connection's socket bufferevent comes from
 * new_conn below, which keeps a reference to it: evhttp clears a bufferevent's callbacks when
 * it lets the connection go, and the sweep then drops the reference, which closes the socket.
 * At RCP_METRICS_MAX_CONNS live connections the listener stops accepting (further clients wait
 * in the kernel's backlog) until one goes, so the endpoint never holds more descriptors than
 * that. The sweep runs at each new connection, each request and twice a second.
 *
 * evhttp's deadline is an idle timeout: a client trickling a byte a second (slow loris) would
 * never meet it and would keep its slot. The sweep also bounds a connection's whole life: one
 * older than RCP_METRICS_MAX_LIFE_S is shut down, which evhttp sees as the peer going away.
 */

#define SWEEP_MS 500

/* One accepted connection. */
struct conn {
	struct bufferevent *bev; /* referenced: it stays ours until the sweep lets it go */
	uint64_t start_ms;
};

struct rcp_metrics {
	struct rcp_server *srv;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct event *sweep;
	struct conn *conns; /* accepted and not yet let go */
	unsigned int nconns;
	unsigned int cap;
	bool paused;	 /* the listener stopped accepting at the cap */
	uint64_t pauses; /* how often the cap was reached */
	uint64_t cut;	 /* connections shut down for living too long */
	char sysfs[64];
};

/* sweep -- let go of what evhttp closed, cut off what lived too long, resume accepting */
static void sweep(struct rcp_metrics *m)
{
	uint64_t now = rcp_now_ms();
	unsigned int i = 0;

	while (i < m->nconns) {
		struct conn *c = &m->conns[i];
		bufferevent_event_cb ecb = NULL;

		bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
		if (!ecb) {
			/* evhttp is done with it: the last reference closes the socket */
			bufferevent_decref(c->bev);
			m->conns[i] = m->conns[--m->nconns];
			continue;
		}
		if (now - c->start_ms > RCP_METRICS_MAX_LIFE_S * 1000u && c->start_ms) {
			shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
			c->start_ms = 0;
			m->cut++;
		}
		i++;
	}
	if (m->paused && m->sock && m->nconns < RCP_METRICS_MAX_CONNS) {
		evconnlistener_enable(evhttp_bound_socket_get_listener(m->sock));
		m->paused = false;
	}
}

/* sweep_cb -- the periodic sweep */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

/* new_conn -- the bufferevent of a connection evhttp just accepted */
static struct bufferevent *new_conn(struct event_base *base, void *arg)
{
	struct rcp_metrics *m = arg;
	struct bufferevent *bev;

	sweep(m);
	if (m->nconns == m->cap) {
		unsigned int cap = m->cap ? 2 * m->cap : RCP_METRICS_MAX_CONNS + 8;
		struct conn *v = realloc(m->conns, cap * sizeof(*v));

		if (!v)
			return NULL;
		m->conns = v;
		m->cap = cap;
	}
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	bufferevent_incref(bev);
	m->conns[m->nconns++] = (struct conn){.bev = bev, .start_ms = rcp_now_ms()};
	if (m->nconns >= RCP_METRICS_MAX_CONNS && m->sock && !m->paused) {
		evconnlistener_disable(evhttp_bound_socket_get_listener(m->sock));
		m->paused = true;
		m->pauses++;
	}
	return bev;
}

/* reply_text -- a short text answer */
static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	if (b)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

/*
 * refused_method -- answer 405 to anything but GET and HEAD. evhttp's own method filter
 * answers 501 or 405 depending on the libevent release, so the daemon decides itself.
 */
static bool refused_method(struct evhttp_request *req)
{
	enum evhttp_cmd_type t = evhttp_request_get_command(req);

	if (t == EVHTTP_REQ_GET || t == EVHTTP_REQ_HEAD)
		return false;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
	reply_text(req, 405, "Method Not Allowed", "this endpoint is read-only: GET only");
	return true;
}

/* on_metrics -- GET /metrics */
static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct rcp_metrics *m = arg;
	struct evbuffer *b;

	if (refused_method(req))
		return;
	b = evbuffer_new();
	sweep(m);
	if (!b || rcp_exposition_write(m->srv, m->sysfs, b) ||
	    evbuffer_add_printf(b,
				"# HELP rdmacpyd_metrics_connections Connections to this endpoint "
				"now.\n"
				"# TYPE rdmacpyd_metrics_connections gauge\n"
				"rdmacpyd_metrics_connections %u\n"
				"# HELP rdmacpyd_metrics_pauses_total Times this endpoint stopped "
				"accepting at its connection cap.\n"
				"# TYPE rdmacpyd_metrics_pauses_total counter\n"
				"rdmacpyd_metrics_pauses_total %llu\n"
				"# HELP rdmacpyd_metrics_connections_cut_total Connections to this "
				"endpoint shut down for living too long.\n"
				"# TYPE rdmacpyd_metrics_connections_cut_total counter\n"
				"rdmacpyd_metrics_connections_cut_total %llu\n",
				m->nconns, (unsigned long long)m->pauses,
				(unsigned long long)m->cut) < 0) {
		if (b)
			evbuffer_free(b);
		reply_text(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* port_active -- the self-check: some RDMA port the daemon serves on is up (a rail that is
 * down shows in rdmacpyd_rdma_port_active, not as a dead daemon) */
static bool port_active(const struct rcp_server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->ndevs; i++)
		if (rcp_dev_port_active(&srv->devs[i]))
			return true;
	return false;
}

/* on_health -- GET /health: 200 while serving; 503 while draining or when the port is down */
static void on_health(struct evhttp_request *req, void *arg)
{
	struct rcp_metrics *m = arg;

	if (refused_method(req))
		return;
	if (m->srv->shutting_down)
		reply_text(req, 503, "Service Unavailable", "draining");
	else if (!port_active(m->srv))
		reply_text(req, 503, "Service Unavailable", "no RDMA port served is active");
	else
		reply_text(req, 200, "OK", "ok");
}

/* on_other -- any other path */
static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	if (refused_method(req))
		return;
	reply_text(req, 404, "Not Found", "only /metrics and /health are here");
}

/* rcp_metrics_start -- bind and serve */
int rcp_metrics_start(struct rcp_server *srv)
{
	struct timeval tmo = {.tv_sec = RCP_METRICS_TIMEOUT_S};
	struct timeval period = {.tv_sec = 0, .tv_usec = SWEEP_MS * 1000};
	struct rcp_metrics *m;

	if (!srv->cfg.metrics[0])
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->srv = srv;
	snprintf(m->sysfs, sizeof(m->sysfs), "/sys/class/infiniband");
	m->http = evhttp_new(srv->base);
	if (!m->http) {
		free(m);
		return -ENOMEM;
	}
	/* every method reaches the callbacks, which answer 405 to all but GET and HEAD */
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(m->http, RCP_METRICS_MAX_HEADERS);
	/* GET has no body; a small one is tolerated so that other methods get their 405 */
	evhttp_set_max_body_size(m->http, 1024);
	evhttp_set_timeout_tv(m->http, &tmo);
	evhttp_set_bevcb(m->http, new_conn, m);
	evhttp_set_cb(m->http, "/metrics", on_metrics, m);
	evhttp_set_cb(m->http, "/health", on_health, m);
	evhttp_set_gencb(m->http, on_other, m);
	m->sweep = event_new(srv->base, -1, EV_PERSIST, sweep_cb, m);
	if (!m->sweep || event_add(m->sweep, &period)) {
		if (m->sweep)
			event_free(m->sweep);
		evhttp_free(m->http);
		free(m);
		return -ENOMEM;
	}
	m->sock = evhttp_bind_socket_with_handle(m->http, srv->metrics_addr, srv->metrics_port);
	if (!m->sock) {
		int err = errno ? -errno : -EADDRNOTAVAIL;

		rcp_err(&srv->log, "metrics: cannot listen on %s port %u: %s", srv->metrics_addr,
			srv->metrics_port, strerror(-err));
		event_free(m->sweep);
		evhttp_free(m->http);
		free(m);
		return err;
	}
	srv->metrics = m;
	rcp_info(&srv->log, "metrics: http://%s:%u/metrics and /health", srv->metrics_addr,
		 rcp_metrics_port(srv));
	return 0;
}

/* rcp_metrics_port -- the bound port */
uint16_t rcp_metrics_port(const struct rcp_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd;

	if (!srv->metrics || !srv->metrics->sock)
		return 0;
	fd = evhttp_bound_socket_get_fd(srv->metrics->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* rcp_metrics_stop -- close everything */
void rcp_metrics_stop(struct rcp_server *srv)
{
	struct rcp_metrics *m = srv->metrics;

	if (!m)
		return;
	event_free(m->sweep);
	/* evhttp closes its connections (and its listener); the sweep then lets go of them */
	evhttp_free(m->http);
	m->sock = NULL;
	sweep(m);
	while (m->nconns)
		bufferevent_decref(m->conns[--m->nconns].bev);
	free(m->conns);
	free(m);
	srv->metrics = NULL;
}
