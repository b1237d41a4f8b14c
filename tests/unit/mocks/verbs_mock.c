/* SPDX-License-Identifier: BSD-3-Clause */
/* verbs_mock.c -- link-time replacement of common/verbs.c for host unit tests */
#include "tests/unit/mocks/verbs_mock.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/*
 * Every object the mock hands out is a real rdma-core struct (`pub`) embedded in a record
 * that starts with `struct mobj`, kept on one registry list. Pointers coming back from the
 * code under test are looked up in the registry, never cast blindly, so a pointer the mock
 * did not create is reported as misuse instead of corrupting memory.
 */
struct mobj {
	enum rcp_mock_obj kind;
	void *pub;
	unsigned int refs; /* live objects that depend on this one */
	struct mobj *next;
};

struct m_evch {
	struct mobj hdr;
	struct rdma_event_channel pub;
};

struct m_id {
	struct mobj hdr;
	struct rdma_cm_id pub;
	struct m_evch *ch;
	/* the private data of this id's last connect: a peer reads the client's nonce here */
	uint8_t conn_pdata[256];
	size_t conn_pdata_len;
};

struct m_pd {
	struct mobj hdr;
	struct ibv_pd pub;
};

struct m_mr {
	struct mobj hdr;
	struct ibv_mr pub;
	struct m_pd *pd;
	int access;
};

struct m_mw {
	struct mobj hdr;
	struct ibv_mw pub;
	struct m_pd *pd;
	struct m_mr *bound_mr; /* NULL while the window is free */
	uint32_t cur_rkey;     /* the rkey the "device" holds, as rxe's kernel side does */
	uint64_t bound_addr;   /* the window's range, while bound */
	uint64_t bound_len;
	unsigned int bound_access;
};

struct m_cc {
	struct mobj hdr;
	struct ibv_comp_channel pub;
};

struct m_cq {
	struct mobj hdr;
	struct ibv_cq pub;
	struct m_cc *cc;
	bool armed;
	unsigned int notify_calls;
	unsigned int events_out; /* taken, not acked */
	bool moderated;
	uint16_t mod_count;
	uint16_t mod_period;
};

struct recv_slot {
	uint64_t wr_id;
	int num_sge;
	struct ibv_sge *sg;
	struct recv_slot *next;
};

struct m_qp {
	struct mobj hdr;
	struct ibv_qp pub;
	struct m_id *id;
	struct m_pd *pd;
	struct m_cq *scq;
	struct m_cq *rcq;
	bool sig_all;
	bool in_error;
	struct recv_slot *rq_head;
	struct recv_slot *rq_tail;
	size_t rq_len;
};

struct cm_ev {
	struct rdma_cm_event pub;
	struct m_evch *ch;
	bool taken;
	uint8_t pdata[256];
	struct cm_ev *next;
};

struct cq_ev {
	struct m_cc *cc;
	struct m_cq *cq;
	struct cq_ev *next;
};

struct wc_ent {
	const struct ibv_cq *cq; /* NULL: any CQ */
	struct ibv_wc wc;
	struct wc_ent *next;
};

struct rule {
	bool on;
	bool forever;
	int err;
	unsigned int pass;
	unsigned int fail;
};

struct wr_list {
	struct rcp_mock_wr **v;
	size_t n;
	size_t cap;
};

static struct {
	bool init;
	struct ibv_device dev;
	struct ibv_context ctx;
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	bool cq_mod;
	unsigned int calls[RCP_MOCK_FN_COUNT];
	struct rule rules[RCP_MOCK_FN_COUNT];
	bool send_fail_at_on;
	unsigned int send_fail_at;
	int send_fail_err;
	struct mobj *objs;
	unsigned int live[RCP_MOCK_OBJ_COUNT];
	struct wr_list sent;
	struct wr_list recvd;
	bool capture_payload;
	bool auto_complete;
	bool mw_bounds_lax; /* one-sided access checked against the MR under a window */
	bool cm_auto;
	struct wc_ent *wc_head;
	struct wc_ent *wc_tail;
	struct cq_ev *cqev_head;
	struct cq_ev *cqev_tail;
	struct cm_ev *cm_head;
	struct cm_ev *cm_tail;
	struct rcp_mock_cm_call last_cm[3];
	bool have_last_cm[3];
	uint32_t next_key;
	uint32_t next_qpn;
	uint32_t next_handle;
	unsigned int misuse;
	char misuse_msg[200];
	/* asynchronous events queued by rcp_mock_push_async, oldest first */
	struct ibv_async_event async_ev[8];
	unsigned int nasync;
} M;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- state ---- */

/* set_defaults -- a device that answers like rxe on kernel 6.1 with MTU 9000 */
static void set_defaults(void)
{
	snprintf(M.dev.name, sizeof(M.dev.name), "rxe_mock0");
	M.dev.node_type = IBV_NODE_CA;
	M.dev.transport_type = IBV_TRANSPORT_IB;
	M.ctx.device = &M.dev;
	M.ctx.cmd_fd = -1;
	M.ctx.async_fd = -1;
	M.ctx.num_comp_vectors = 1;

	M.dattr.max_mr_size = UINT64_MAX;
	M.dattr.page_size_cap = 0xfffff000;
	M.dattr.max_qp = 1 << 20;
	M.dattr.max_qp_wr = 1 << 20;
	M.dattr.device_cap_flags = IBV_DEVICE_MEM_WINDOW | IBV_DEVICE_MEM_WINDOW_TYPE_2B |
				   IBV_DEVICE_MEM_MGT_EXTENSIONS;
	M.dattr.max_sge = 32;
	M.dattr.max_sge_rd = 32;
	M.dattr.max_cq = 1 << 20;
	M.dattr.max_cqe = 32767;
	M.dattr.max_mr = 1 << 20;
	M.dattr.max_pd = 1 << 20;
	M.dattr.max_qp_rd_atom = 128;
	M.dattr.max_qp_init_rd_atom = 128;
	M.dattr.max_mw = 524287;
	M.dattr.atomic_cap = IBV_ATOMIC_HCA;
	M.dattr.phys_port_cnt = 1;

	M.pattr.state = IBV_PORT_ACTIVE;
	M.pattr.max_mtu = IBV_MTU_4096;
	M.pattr.active_mtu = IBV_MTU_4096;
	M.pattr.gid_tbl_len = 1024;
	M.pattr.max_msg_sz = 0x800000;
	M.pattr.link_layer = IBV_LINK_LAYER_ETHERNET;

	M.next_key = 1;
	M.next_qpn = 0x11;
	M.next_handle = 1;
	M.init = true;
}

/* ensure_init -- defaults on first use (lock held) */
static void ensure_init(void)
{
	if (!M.init)
		set_defaults();
}

/* misuse -- remember an API misuse for rcp_mock_misuse_count (lock held) */
static void __attribute__((format(printf, 1, 2))) misuse(const char *fmt, ...)
{
	va_list ap;

	M.misuse++;
	va_start(ap, fmt);
	vsnprintf(M.misuse_msg, sizeof(M.misuse_msg), fmt, ap);
	va_end(ap);
}

/* norm_err -- an errno given either way round as a negative errno */
static int norm_err(int err)
{
	if (err > 0)
		return -err;
	return err ? err : -EIO;
}

/* enter -- lock, count the call and apply its failure rule: 0 or the injected error */
static int enter(enum rcp_mock_fn fn)
{
	struct rule *r;

	pthread_mutex_lock(&lock);
	ensure_init();
	M.calls[fn]++;
	r = &M.rules[fn];
	if (!r->on)
		return 0;
	if (r->pass > 0) {
		r->pass--;
		return 0;
	}
	if (!r->forever && --r->fail == 0)
		r->on = false;
	return r->err;
}

/* refuse -- count a call the real layer rejects for its arguments before any device call */
static int refuse(enum rcp_mock_fn fn)
{
	pthread_mutex_lock(&lock);
	ensure_init();
	M.calls[fn]++;
	pthread_mutex_unlock(&lock);
	return -EINVAL;
}

/* leave -- unlock after enter */
static void leave(void)
{
	pthread_mutex_unlock(&lock);
}

/* new_obj -- allocate and register a record whose public struct sits at pub_off */
static void *new_obj(enum rcp_mock_obj kind, size_t size, size_t pub_off)
{
	struct mobj *o = calloc(1, size);

	if (!o)
		return NULL;
	o->kind = kind;
	o->pub = (char *)o + pub_off;
	o->next = M.objs;
	M.objs = o;
	M.live[kind]++;
	return o;
}

#define NEW_OBJ(type, kind) ((type *)new_obj((kind), sizeof(type), offsetof(type, pub)))

/* find -- the record of kind whose public struct is pub, or NULL */
static struct mobj *find(enum rcp_mock_obj kind, const void *pub)
{
	struct mobj *o;

	if (!pub)
		return NULL;
	for (o = M.objs; o; o = o->next)
		if (o->kind == kind && o->pub == pub)
			return o;
	return NULL;
}

/* free_obj -- unregister and free a record */
static void free_obj(struct mobj *o)
{
	struct mobj **pp;

	for (pp = &M.objs; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	M.live[o->kind]--;
	free(o);
}

/* The records start with their mobj, so a found mobj converts to its record. */
/* find_evch -- event channel record of ch */
static struct m_evch *find_evch(const struct rdma_event_channel *ch)
{
	return (struct m_evch *)find(RCP_MOCK_OBJ_EVENT_CHANNEL, ch);
}

/* find_id -- cm id record of id */
static struct m_id *find_id(const struct rdma_cm_id *id)
{
	return (struct m_id *)find(RCP_MOCK_OBJ_CM_ID, id);
}

/* find_pd -- PD record of pd */
static struct m_pd *find_pd(const struct ibv_pd *pd)
{
	return (struct m_pd *)find(RCP_MOCK_OBJ_PD, pd);
}

/* find_mr -- MR record of mr */
static struct m_mr *find_mr(const struct ibv_mr *mr)
{
	return (struct m_mr *)find(RCP_MOCK_OBJ_MR, mr);
}

/* find_mw -- MW record of mw */
static struct m_mw *find_mw(const struct ibv_mw *mw)
{
	return (struct m_mw *)find(RCP_MOCK_OBJ_MW, mw);
}

/* find_cc -- completion channel record of cc */
static struct m_cc *find_cc(const struct ibv_comp_channel *cc)
{
	return (struct m_cc *)find(RCP_MOCK_OBJ_COMP_CHANNEL, cc);
}

/* find_cq -- CQ record of cq */
static struct m_cq *find_cq(const struct ibv_cq *cq)
{
	return (struct m_cq *)find(RCP_MOCK_OBJ_CQ, cq);
}

/* find_qp -- QP record of qp */
static struct m_qp *find_qp(const struct ibv_qp *qp)
{
	return (struct m_qp *)find(RCP_MOCK_OBJ_QP, qp);
}

/* fd_signal -- make an eventfd readable once more */
static void fd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		misuse("eventfd %d: signal failed: %s", fd, strerror(errno));
}

/* fd_consume -- take one readiness off an eventfd (semaphore mode) */
static void fd_consume(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		misuse("eventfd %d: consume failed: %s", fd, strerror(errno));
}

/* new_eventfd -- the fd behind a mock channel: readable while events wait */
static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);

	return fd < 0 ? -errno : fd;
}

/* ---- completions ---- */

/* push_wc_locked -- queue a completion; fire the channel of an armed CQ */
static int push_wc_locked(const struct ibv_cq *cq, const struct ibv_wc *wc)
{
	struct wc_ent *e = calloc(1, sizeof(*e));
	struct m_cq *m;
	struct cq_ev *ev;

	if (!e)
		return -ENOMEM;
	e->cq = cq;
	e->wc = *wc;
	if (M.wc_tail)
		M.wc_tail->next = e;
	else
		M.wc_head = e;
	M.wc_tail = e;

	m = find_cq(cq);
	if (!m || !m->armed || !m->cc)
		return 0;
	/* one event per arming, as the hardware does */
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	m->armed = false;
	ev->cc = m->cc;
	ev->cq = m;
	if (M.cqev_tail)
		M.cqev_tail->next = ev;
	else
		M.cqev_head = ev;
	M.cqev_tail = ev;
	fd_signal(m->cc->pub.fd);
	return 0;
}

/* drop_cq_locked -- forget queued completions and events of a CQ about to go */
static void drop_cq_locked(const struct m_cq *m)
{
	struct wc_ent **wp = &M.wc_head;
	struct cq_ev **ep = &M.cqev_head;

	M.wc_tail = NULL;
	while (*wp) {
		struct wc_ent *e = *wp;

		if (e->cq == &m->pub) {
			*wp = e->next;
			free(e);
		} else {
			M.wc_tail = e;
			wp = &e->next;
		}
	}
	M.cqev_tail = NULL;
	while (*ep) {
		struct cq_ev *e = *ep;

		if (e->cq == m) {
			fd_consume(e->cc->pub.fd);
			*ep = e->next;
			free(e);
		} else {
			M.cqev_tail = e;
			ep = &e->next;
		}
	}
}

/* flush_rq_locked -- complete every posted receive of q with WR_FLUSH_ERR */
static void flush_rq_locked(struct m_qp *q)
{
	struct recv_slot *s;

	while ((s = q->rq_head)) {
		struct ibv_wc wc = {0};

		q->rq_head = s->next;
		wc.wr_id = s->wr_id;
		wc.status = IBV_WC_WR_FLUSH_ERR;
		wc.opcode = IBV_WC_RECV;
		wc.qp_num = q->pub.qp_num;
		if (q->pub.recv_cq)
			push_wc_locked(q->pub.recv_cq, &wc);
		free(s->sg);
		free(s);
	}
	q->rq_tail = NULL;
	q->rq_len = 0;
}

/* set_error_locked -- QP to the error state, flushing its receives */
static void set_error_locked(struct m_qp *q)
{
	if (q->in_error)
		return;
	q->in_error = true;
	q->pub.state = IBV_QPS_ERR;
	flush_rq_locked(q);
}

/* free_rq_locked -- drop posted receives without completing them (QP destroyed) */
static void free_rq_locked(struct m_qp *q)
{
	struct recv_slot *s;

	while ((s = q->rq_head)) {
		q->rq_head = s->next;
		free(s->sg);
		free(s);
	}
	q->rq_tail = NULL;
	q->rq_len = 0;
}

/* ---- rdma_cm events ---- */

/* queue_cm_locked -- queue an event on a channel */
static int queue_cm_locked(struct m_evch *c, enum rdma_cm_event_type type, struct rdma_cm_id *id,
			   struct rdma_cm_id *listen_id, int status, const void *pdata, size_t len)
{
	struct cm_ev *e;

	if (len > sizeof(e->pdata) || (!pdata && len))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ch = c;
	e->pub.id = id;
	e->pub.listen_id = listen_id;
	e->pub.event = type;
	e->pub.status = status;
	if (len) {
		memcpy(e->pdata, pdata, len);
		e->pub.param.conn.private_data = e->pdata;
		e->pub.param.conn.private_data_len = (uint8_t)len;
	}
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		int depth = M.dattr.max_qp_init_rd_atom;

		depth = depth > 255 ? 255 : depth;
		e->pub.param.conn.initiator_depth = (uint8_t)depth;
		e->pub.param.conn.responder_resources = (uint8_t)depth;
	}
	if (M.cm_tail)
		M.cm_tail->next = e;
	else
		M.cm_head = e;
	M.cm_tail = e;
	fd_signal(c->pub.fd);
	return 0;
}

/* unlink_cm_locked -- take e off the event list (prev is its predecessor or NULL) */
static void unlink_cm_locked(struct cm_ev *prev, struct cm_ev *e)
{
	if (prev)
		prev->next = e->next;
	else
		M.cm_head = e->next;
	if (M.cm_tail == e)
		M.cm_tail = prev;
}

/* auto_cm_locked -- with cm_auto on, queue the event a healthy peer would cause */
static void auto_cm_locked(struct m_id *m, enum rdma_cm_event_type type)
{
	if (M.cm_auto && m->ch)
		queue_cm_locked(m->ch, type, &m->pub, NULL, 0, NULL, 0);
}

/* sockaddr_len -- bytes to copy for an address of this family */
static size_t sockaddr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return sizeof(struct sockaddr);
	}
}

/* record_cm_call -- remember a connect/accept/reject for rcp_mock_last_cm_call */
static void record_cm_call(int slot, struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts,
			   const void *pdata, size_t len)
{
	struct rcp_mock_cm_call *c = &M.last_cm[slot];

	memset(c, 0, sizeof(*c));
	c->id = id;
	if (len)
		memcpy(c->pdata, pdata, len);
	c->pdata_len = len;
	c->has_opts = opts != NULL;
	if (opts)
		c->opts = *opts;
	M.have_last_cm[slot] = true;
}

/* cm_slot -- index into last_cm for a connect/accept/reject; -1 otherwise */
static int cm_slot(enum rcp_mock_fn fn)
{
	switch (fn) {
	case RCP_MOCK_CONNECT:
		return 0;
	case RCP_MOCK_ACCEPT:
		return 1;
	case RCP_MOCK_REJECT:
		return 2;
	default:
		return -1;
	}
}

/* ---- rdma_cm ---- */

/* rcp_vb_create_event_channel -- mock: a channel backed by an eventfd */
int rcp_vb_create_event_channel(struct rdma_event_channel **chp)
{
	struct m_evch *c;
	int ret;
	int fd;

	if (!chp)
		return refuse(RCP_MOCK_CREATE_EVENT_CHANNEL);
	ret = enter(RCP_MOCK_CREATE_EVENT_CHANNEL);
	if (ret)
		goto out;
	fd = new_eventfd();
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	c = NEW_OBJ(struct m_evch, RCP_MOCK_OBJ_EVENT_CHANNEL);
	if (!c) {
		close(fd);
		ret = -ENOMEM;
		goto out;
	}
	c->pub.fd = fd;
	*chp = &c->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_destroy_event_channel -- mock: close it; ids still on it are misuse */
void rcp_vb_destroy_event_channel(struct rdma_event_channel **chp)
{
	struct m_evch *c;
	struct cm_ev *prev = NULL;
	struct cm_ev *e;
	struct mobj *o;

	enter(RCP_MOCK_DESTROY_EVENT_CHANNEL);
	if (!chp || !*chp)
		goto out;
	c = find_evch(*chp);
	if (!c) {
		misuse("destroy_event_channel: %p is not a mock channel", (void *)*chp);
		goto out;
	}
	if (c->hdr.refs) {
		misuse("destroy_event_channel: %u ids still use the channel", c->hdr.refs);
		for (o = M.objs; o; o = o->next)
			if (o->kind == RCP_MOCK_OBJ_CM_ID && ((struct m_id *)o)->ch == c)
				((struct m_id *)o)->ch = NULL;
	}
	e = M.cm_head;
	while (e) {
		struct cm_ev *next = e->next;

		if (e->ch == c) {
			if (e->taken)
				M.live[RCP_MOCK_OBJ_CM_EVENT]--;
			unlink_cm_locked(prev, e);
			free(e);
		} else {
			prev = e;
		}
		e = next;
	}
	close(c->pub.fd);
	free_obj(&c->hdr);
	*chp = NULL;
out:
	leave();
}

/* rcp_vb_create_id -- mock: an RC id on a mock channel */
int rcp_vb_create_id(struct rdma_event_channel *ch, void *context, struct rdma_cm_id **idp)
{
	struct m_evch *c;
	struct m_id *m;
	int ret;

	if (!ch || !idp)
		return refuse(RCP_MOCK_CREATE_ID);
	ret = enter(RCP_MOCK_CREATE_ID);
	if (ret)
		goto out;
	c = find_evch(ch);
	if (!c) {
		ret = -EINVAL;
		goto out;
	}
	m = NEW_OBJ(struct m_id, RCP_MOCK_OBJ_CM_ID);
	if (!m) {
		ret = -ENOMEM;
		goto out;
	}
	m->ch = c;
	c->hdr.refs++;
	m->pub.channel = ch;
	m->pub.context = context;
	m->pub.ps = RDMA_PS_TCP;
	m->pub.qp_type = IBV_QPT_RC;
	*idp = &m->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_destroy_id -- mock: refuses (-EBUSY) with a QP left or events unacked */
int rcp_vb_destroy_id(struct rdma_cm_id **idp)
{
	struct cm_ev *prev = NULL;
	struct cm_ev *e;
	struct m_id *m;
	int ret;

	ret = enter(RCP_MOCK_DESTROY_ID);
	if (!idp || !*idp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	m = find_id(*idp);
	if (!m) {
		misuse("destroy_id: %p is not a mock id", (void *)*idp);
		ret = -EINVAL;
		goto out;
	}
	if (m->pub.qp) {
		misuse("destroy_id: the id's QP was not destroyed first");
		ret = -EBUSY;
		goto out;
	}
	for (e = M.cm_head; e; e = e->next) {
		if (e->taken && (e->pub.id == &m->pub || e->pub.listen_id == &m->pub)) {
			misuse("destroy_id: an event of this id is not acked");
			ret = -EBUSY;
			goto out;
		}
	}
	/* events still queued for the id die with it, as in the kernel */
	e = M.cm_head;
	while (e) {
		struct cm_ev *next = e->next;

		if (e->pub.id == &m->pub || e->pub.listen_id == &m->pub) {
			fd_consume(e->ch->pub.fd);
			unlink_cm_locked(prev, e);
			free(e);
		} else {
			prev = e;
		}
		e = next;
	}
	if (m->ch)
		m->ch->hdr.refs--;
	free_obj(&m->hdr);
	*idp = NULL;
out:
	leave();
	return ret;
}

/* rcp_vb_resolve_addr -- mock: records the addresses and binds the id to the device */
int rcp_vb_resolve_addr(struct rdma_cm_id *id, const struct sockaddr *src,
			const struct sockaddr *dst, int timeout_ms)
{
	struct m_id *m;
	int ret;

	if (!id || !dst)
		return refuse(RCP_MOCK_RESOLVE_ADDR);
	ret = enter(RCP_MOCK_RESOLVE_ADDR);
	if (ret)
		goto out;
	m = find_id(id);
	if (!m) {
		ret = -EINVAL;
		goto out;
	}
	if (src)
		memcpy(&id->route.addr.src_storage, src, sockaddr_len(src));
	memcpy(&id->route.addr.dst_storage, dst, sockaddr_len(dst));
	id->verbs = &M.ctx;
	id->port_num = 1;
	auto_cm_locked(m, RDMA_CM_EVENT_ADDR_RESOLVED);
out:
	leave();
	return ret;
}

/* rcp_vb_resolve_route -- mock */
int rcp_vb_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	struct m_id *m;
	int ret;

	ret = enter(RCP_MOCK_RESOLVE_ROUTE);
	if (ret)
		goto out;
	m = find_id(id);
	if (!m) {
		ret = -EINVAL;
		goto out;
	}
	auto_cm_locked(m, RDMA_CM_EVENT_ROUTE_RESOLVED);
out:
	leave();
	return ret;
}

/* rcp_vb_listen -- mock: records the address and binds the id to the device */
int rcp_vb_listen(struct rdma_cm_id *id, const struct sockaddr *addr, int backlog)
{
	int ret;

	if (!id || !addr)
		return refuse(RCP_MOCK_LISTEN);
	ret = enter(RCP_MOCK_LISTEN);
	if (ret)
		goto out;
	if (!find_id(id)) {
		ret = -EINVAL;
		goto out;
	}
	memcpy(&id->route.addr.src_storage, addr, sockaddr_len(addr));
	id->verbs = &M.ctx;
	id->port_num = 1;
out:
	leave();
	return ret;
}

/* conn_call -- shared body of connect, accept and reject */
static int conn_call(enum rcp_mock_fn fn, struct rdma_cm_id *id,
		     const struct rcp_vb_conn_opts *opts, const void *pdata, size_t len)
{
	struct m_id *m;
	int ret;

	ret = enter(fn);
	if (ret)
		goto out;
	m = find_id(id);
	if (!m || len > UINT8_MAX || (!pdata && len)) {
		ret = -EINVAL;
		goto out;
	}
	record_cm_call(cm_slot(fn), id, opts, pdata, len);
	if (fn == RCP_MOCK_CONNECT) {
		if (len)
			memcpy(m->conn_pdata, pdata, len);
		m->conn_pdata_len = len;
	}
	if (fn != RCP_MOCK_REJECT)
		auto_cm_locked(m, RDMA_CM_EVENT_ESTABLISHED);
out:
	leave();
	return ret;
}

/* rcp_vb_connect -- mock: records the call (rcp_mock_last_cm_call) */
int rcp_vb_connect(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		   size_t pdata_len)
{
	return conn_call(RCP_MOCK_CONNECT, id, opts, pdata, pdata_len);
}

/* rcp_vb_accept -- mock: records the call (rcp_mock_last_cm_call) */
int rcp_vb_accept(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		  size_t pdata_len)
{
	return conn_call(RCP_MOCK_ACCEPT, id, opts, pdata, pdata_len);
}

/* rcp_vb_reject -- mock: records the call (rcp_mock_last_cm_call) */
int rcp_vb_reject(struct rdma_cm_id *id, const void *pdata, size_t pdata_len)
{
	return conn_call(RCP_MOCK_REJECT, id, NULL, pdata, pdata_len);
}

/* rcp_vb_disconnect -- mock; in auto-complete mode the QP goes to error and flushes */
int rcp_vb_disconnect(struct rdma_cm_id *id)
{
	struct m_qp *q;
	struct m_id *m;
	int ret;

	ret = enter(RCP_MOCK_DISCONNECT);
	if (ret)
		goto out;
	m = find_id(id);
	if (!m) {
		ret = -EINVAL;
		goto out;
	}
	q = find_qp(id->qp);
	if (q && M.auto_complete)
		set_error_locked(q);
	auto_cm_locked(m, RDMA_CM_EVENT_DISCONNECTED);
out:
	leave();
	return ret;
}

/* rcp_vb_get_cm_event -- mock: the oldest queued event of ch, or -EAGAIN */
int rcp_vb_get_cm_event(struct rdma_event_channel *ch, struct rdma_cm_event **evp)
{
	struct m_evch *c;
	struct cm_ev *e;
	int ret;

	if (!ch || !evp)
		return refuse(RCP_MOCK_GET_CM_EVENT);
	ret = enter(RCP_MOCK_GET_CM_EVENT);
	if (ret)
		goto out;
	c = find_evch(ch);
	if (!c) {
		ret = -EINVAL;
		goto out;
	}
	for (e = M.cm_head; e; e = e->next)
		if (e->ch == c && !e->taken)
			break;
	if (!e) {
		ret = -EAGAIN;
		goto out;
	}
	fd_consume(c->pub.fd);
	e->taken = true;
	M.live[RCP_MOCK_OBJ_CM_EVENT]++;
	*evp = &e->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_ack_cm_event -- mock: frees a taken event; anything else is misuse */
int rcp_vb_ack_cm_event(struct rdma_cm_event *ev)
{
	struct cm_ev *prev = NULL;
	struct cm_ev *e;
	int ret;

	ret = enter(RCP_MOCK_ACK_CM_EVENT);
	if (!ev) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	for (e = M.cm_head; e; prev = e, e = e->next)
		if (&e->pub == ev && e->taken)
			break;
	if (!e) {
		misuse("ack_cm_event: %p was not handed out or was acked already", (void *)ev);
		ret = -EINVAL;
		goto out;
	}
	unlink_cm_locked(prev, e);
	free(e);
	M.live[RCP_MOCK_OBJ_CM_EVENT]--;
out:
	leave();
	return ret;
}

/* rcp_vb_create_qp -- mock: checks the caps against the device attributes */
int rcp_vb_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	const struct ibv_qp_cap *cap;
	struct m_id *m;
	struct m_qp *q;
	int ret;

	if (!id || !pd || !attr)
		return refuse(RCP_MOCK_CREATE_QP);
	ret = enter(RCP_MOCK_CREATE_QP);
	if (ret)
		goto out;
	m = find_id(id);
	if (!m || id->qp) {
		ret = -EINVAL;
		goto out;
	}
	cap = &attr->cap;
	if (cap->max_send_wr > (uint32_t)M.dattr.max_qp_wr ||
	    cap->max_recv_wr > (uint32_t)M.dattr.max_qp_wr ||
	    cap->max_send_sge > (uint32_t)M.dattr.max_sge ||
	    cap->max_recv_sge > (uint32_t)M.dattr.max_sge) {
		ret = -EINVAL;
		goto out;
	}
	q = NEW_OBJ(struct m_qp, RCP_MOCK_OBJ_QP);
	if (!q) {
		ret = -ENOMEM;
		goto out;
	}
	q->id = m;
	q->pd = find_pd(pd);
	q->scq = find_cq(attr->send_cq);
	q->rcq = find_cq(attr->recv_cq);
	if (q->pd)
		q->pd->hdr.refs++;
	if (q->scq)
		q->scq->hdr.refs++;
	if (q->rcq)
		q->rcq->hdr.refs++;
	q->sig_all = attr->sq_sig_all != 0;
	q->pub.context = pd->context;
	q->pub.qp_context = attr->qp_context;
	q->pub.pd = pd;
	q->pub.send_cq = attr->send_cq;
	q->pub.recv_cq = attr->recv_cq;
	q->pub.srq = attr->srq;
	q->pub.handle = M.next_handle++;
	q->pub.qp_num = M.next_qpn++;
	q->pub.state = IBV_QPS_INIT;
	q->pub.qp_type = attr->qp_type;
	id->qp = &q->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_destroy_qp -- mock: drops posted receives; queued completions stay */
void rcp_vb_destroy_qp(struct rdma_cm_id *id)
{
	struct m_qp *q;

	enter(RCP_MOCK_DESTROY_QP);
	if (!id || !id->qp)
		goto out;
	q = find_qp(id->qp);
	if (!q) {
		misuse("destroy_qp: %p is not a mock QP", (void *)id->qp);
		goto out;
	}
	free_rq_locked(q);
	if (q->pd)
		q->pd->hdr.refs--;
	if (q->scq)
		q->scq->hdr.refs--;
	if (q->rcq)
		q->rcq->hdr.refs--;
	free_obj(&q->hdr);
	id->qp = NULL;
out:
	leave();
}

/* ---- device and port ---- */

/* rcp_vb_query_device -- mock: rcp_mock_device_attr() */
int rcp_vb_query_device(struct ibv_context *ctx, struct ibv_device_attr *attr)
{
	int ret;

	if (!ctx || !attr)
		return refuse(RCP_MOCK_QUERY_DEVICE);
	ret = enter(RCP_MOCK_QUERY_DEVICE);
	if (ret)
		goto out;
	*attr = M.dattr;
out:
	leave();
	return ret;
}

/* rcp_vb_query_port -- mock: rcp_mock_port_attr() for any existing port */
int rcp_vb_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr)
{
	int ret;

	if (!ctx || !attr || port == 0)
		return refuse(RCP_MOCK_QUERY_PORT);
	ret = enter(RCP_MOCK_QUERY_PORT);
	if (ret)
		goto out;
	if (port > M.dattr.phys_port_cnt) {
		ret = -EINVAL;
		goto out;
	}
	*attr = M.pattr;
out:
	leave();
	return ret;
}

/* ---- PDs, MRs, MWs ---- */

/* rcp_vb_alloc_pd -- mock */
int rcp_vb_alloc_pd(struct ibv_context *ctx, struct ibv_pd **pdp)
{
	struct m_pd *p;
	int ret;

	if (!ctx || !pdp)
		return refuse(RCP_MOCK_ALLOC_PD);
	ret = enter(RCP_MOCK_ALLOC_PD);
	if (ret)
		goto out;
	p = NEW_OBJ(struct m_pd, RCP_MOCK_OBJ_PD);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	p->pub.context = ctx;
	p->pub.handle = M.next_handle++;
	*pdp = &p->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_dealloc_pd -- mock: -EBUSY while MRs, MWs or QPs use it */
int rcp_vb_dealloc_pd(struct ibv_pd **pdp)
{
	struct m_pd *p;
	int ret;

	ret = enter(RCP_MOCK_DEALLOC_PD);
	if (!pdp || !*pdp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	p = find_pd(*pdp);
	if (!p) {
		misuse("dealloc_pd: %p is not a mock PD", (void *)*pdp);
		ret = -EINVAL;
		goto out;
	}
	if (p->hdr.refs) {
		ret = -EBUSY;
		goto out;
	}
	free_obj(&p->hdr);
	*pdp = NULL;
out:
	leave();
	return ret;
}

/* rcp_vb_reg_mr -- mock: keys as rxe makes them (rkey 0 without remote access) */
int rcp_vb_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, struct ibv_mr **mrp)
{
	const int remote =
		IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC;
	struct m_pd *p;
	struct m_mr *r;
	uint32_t key;
	int ret;

	if (!pd || !mrp || (!addr && len))
		return refuse(RCP_MOCK_REG_MR);
	ret = enter(RCP_MOCK_REG_MR);
	if (ret)
		goto out;
	p = find_pd(pd);
	if (!p || (uint64_t)len > M.dattr.max_mr_size) {
		ret = -EINVAL;
		goto out;
	}
	r = NEW_OBJ(struct m_mr, RCP_MOCK_OBJ_MR);
	if (!r) {
		ret = -ENOMEM;
		goto out;
	}
	key = (M.next_key++ << 8) | 0x5a;
	r->pd = p;
	p->hdr.refs++;
	r->access = access;
	r->pub.context = pd->context;
	r->pub.pd = pd;
	r->pub.addr = addr;
	r->pub.length = len;
	r->pub.handle = M.next_handle++;
	r->pub.lkey = key;
	r->pub.rkey = (access & remote) ? key : 0;
	*mrp = &r->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_dereg_mr -- mock: -EINVAL while a window is bound to it, as rxe */
int rcp_vb_dereg_mr(struct ibv_mr **mrp)
{
	struct m_mr *r;
	int ret;

	ret = enter(RCP_MOCK_DEREG_MR);
	if (!mrp || !*mrp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	r = find_mr(*mrp);
	if (!r) {
		misuse("dereg_mr: %p is not a mock MR", (void *)*mrp);
		ret = -EINVAL;
		goto out;
	}
	if (r->hdr.refs) {
		ret = -EINVAL;
		goto out;
	}
	r->pd->hdr.refs--;
	free_obj(&r->hdr);
	*mrp = NULL;
out:
	leave();
	return ret;
}

/* rcp_vb_alloc_mw -- mock: -EOPNOTSUPP unless the device attributes allow type 2 */
int rcp_vb_alloc_mw(struct ibv_pd *pd, struct ibv_mw **mwp)
{
	const unsigned int type2 = IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B;
	struct m_pd *p;
	struct m_mw *w;
	int ret;

	if (!pd || !mwp)
		return refuse(RCP_MOCK_ALLOC_MW);
	ret = enter(RCP_MOCK_ALLOC_MW);
	if (ret)
		goto out;
	p = find_pd(pd);
	if (!p) {
		ret = -EINVAL;
		goto out;
	}
	if (!(M.dattr.device_cap_flags & type2) || M.dattr.max_mw <= 0) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	w = NEW_OBJ(struct m_mw, RCP_MOCK_OBJ_MW);
	if (!w) {
		ret = -ENOMEM;
		goto out;
	}
	w->pd = p;
	p->hdr.refs++;
	w->pub.context = pd->context;
	w->pub.pd = pd;
	w->pub.rkey = (M.next_key++ << 8) | 0x01;
	w->pub.handle = M.next_handle++;
	w->pub.type = IBV_MW_TYPE_2;
	w->cur_rkey = w->pub.rkey;
	*mwp = &w->pub;
out:
	leave();
	return ret;
}

/* unbind_locked -- a window is free again; its MR may go */
static void unbind_locked(struct m_mw *w)
{
	if (!w->bound_mr)
		return;
	w->bound_mr->hdr.refs--;
	w->bound_mr = NULL;
}

/* rcp_vb_dealloc_mw -- mock: a bound window is invalidated by this */
int rcp_vb_dealloc_mw(struct ibv_mw **mwp)
{
	struct m_mw *w;
	int ret;

	ret = enter(RCP_MOCK_DEALLOC_MW);
	if (!mwp || !*mwp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	w = find_mw(*mwp);
	if (!w) {
		misuse("dealloc_mw: %p is not a mock MW", (void *)*mwp);
		ret = -EINVAL;
		goto out;
	}
	unbind_locked(w);
	w->pd->hdr.refs--;
	free_obj(&w->hdr);
	*mwp = NULL;
out:
	leave();
	return ret;
}

/* ---- completion channels and CQs ---- */

/* rcp_vb_create_comp_channel -- mock: a channel backed by an eventfd */
int rcp_vb_create_comp_channel(struct ibv_context *ctx, struct ibv_comp_channel **ccp)
{
	struct m_cc *c;
	int ret;
	int fd;

	if (!ctx || !ccp)
		return refuse(RCP_MOCK_CREATE_COMP_CHANNEL);
	ret = enter(RCP_MOCK_CREATE_COMP_CHANNEL);
	if (ret)
		goto out;
	fd = new_eventfd();
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	c = NEW_OBJ(struct m_cc, RCP_MOCK_OBJ_COMP_CHANNEL);
	if (!c) {
		close(fd);
		ret = -ENOMEM;
		goto out;
	}
	c->pub.context = ctx;
	c->pub.fd = fd;
	*ccp = &c->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_destroy_comp_channel -- mock: -EBUSY while a CQ uses it */
int rcp_vb_destroy_comp_channel(struct ibv_comp_channel **ccp)
{
	struct m_cc *c;
	int ret;

	ret = enter(RCP_MOCK_DESTROY_COMP_CHANNEL);
	if (!ccp || !*ccp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	c = find_cc(*ccp);
	if (!c) {
		misuse("destroy_comp_channel: %p is not a mock channel", (void *)*ccp);
		ret = -EINVAL;
		goto out;
	}
	if (c->hdr.refs) {
		ret = -EBUSY;
		goto out;
	}
	close(c->pub.fd);
	free_obj(&c->hdr);
	*ccp = NULL;
out:
	leave();
	return ret;
}

/* rcp_vb_create_cq -- mock: cqe checked against the device's max_cqe */
int rcp_vb_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
		     struct ibv_comp_channel *cc, int comp_vector, struct ibv_cq **cqp)
{
	struct m_cc *c = NULL;
	struct m_cq *q;
	int ret;

	if (!ctx || !cqp || cqe <= 0)
		return refuse(RCP_MOCK_CREATE_CQ);
	ret = enter(RCP_MOCK_CREATE_CQ);
	if (ret)
		goto out;
	if (cc) {
		c = find_cc(cc);
		if (!c) {
			misuse("create_cq: %p is not a mock completion channel", (void *)cc);
			ret = -EINVAL;
			goto out;
		}
	}
	if (cqe > M.dattr.max_cqe) {
		ret = -EINVAL;
		goto out;
	}
	q = NEW_OBJ(struct m_cq, RCP_MOCK_OBJ_CQ);
	if (!q) {
		ret = -ENOMEM;
		goto out;
	}
	q->cc = c;
	if (c)
		c->hdr.refs++;
	q->pub.context = ctx;
	q->pub.channel = cc;
	q->pub.cq_context = cq_context;
	q->pub.handle = M.next_handle++;
	q->pub.cqe = cqe;
	*cqp = &q->pub;
out:
	leave();
	return ret;
}

/* rcp_vb_destroy_cq -- mock: -EBUSY while a QP uses it or events are unacked */
int rcp_vb_destroy_cq(struct ibv_cq **cqp)
{
	struct m_cq *q;
	int ret;

	ret = enter(RCP_MOCK_DESTROY_CQ);
	if (!cqp || !*cqp) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	q = find_cq(*cqp);
	if (!q) {
		misuse("destroy_cq: %p is not a mock CQ", (void *)*cqp);
		ret = -EINVAL;
		goto out;
	}
	if (q->hdr.refs) {
		ret = -EBUSY;
		goto out;
	}
	if (q->events_out) {
		/* libibverbs would wait here forever */
		misuse("destroy_cq: %u events taken and not acked", q->events_out);
		ret = -EBUSY;
		goto out;
	}
	drop_cq_locked(q);
	if (q->cc)
		q->cc->hdr.refs--;
	free_obj(&q->hdr);
	*cqp = NULL;
out:
	leave();
	return ret;
}

/* rcp_vb_modify_cq_moderation -- mock: -EOPNOTSUPP unless rcp_mock_set_cq_moderation(true) */
int rcp_vb_modify_cq_moderation(struct ibv_cq *cq, uint16_t count, uint16_t period_us)
{
	struct m_cq *q;
	int ret;

	ret = enter(RCP_MOCK_MODIFY_CQ_MODERATION);
	if (ret)
		goto out;
	if (!cq) {
		ret = -EINVAL;
		goto out;
	}
	if (!M.cq_mod) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	q = find_cq(cq);
	if (q) {
		q->moderated = true;
		q->mod_count = count;
		q->mod_period = period_us;
	}
out:
	leave();
	return ret;
}

/* rcp_vb_req_notify_cq -- mock: arms the CQ for one channel event (solicited_only ignored) */
int rcp_vb_req_notify_cq(struct ibv_cq *cq, bool solicited_only)
{
	struct m_cq *q;
	int ret;

	ret = enter(RCP_MOCK_REQ_NOTIFY_CQ);
	if (ret)
		goto out;
	if (!cq) {
		ret = -EINVAL;
		goto out;
	}
	q = find_cq(cq);
	if (q) {
		q->armed = true;
		q->notify_calls++;
	}
out:
	leave();
	return ret;
}

/* rcp_vb_get_cq_event -- mock: the oldest event of cc, or -EAGAIN */
int rcp_vb_get_cq_event(struct ibv_comp_channel *cc, struct ibv_cq **cqp, void **cq_contextp)
{
	struct cq_ev *prev = NULL;
	struct cq_ev *e;
	struct m_cc *c;
	int ret;

	if (!cc || !cqp)
		return refuse(RCP_MOCK_GET_CQ_EVENT);
	ret = enter(RCP_MOCK_GET_CQ_EVENT);
	if (ret)
		goto out;
	c = find_cc(cc);
	if (!c) {
		ret = -EINVAL;
		goto out;
	}
	for (e = M.cqev_head; e; prev = e, e = e->next)
		if (e->cc == c)
			break;
	if (!e) {
		ret = -EAGAIN;
		goto out;
	}
	if (prev)
		prev->next = e->next;
	else
		M.cqev_head = e->next;
	if (M.cqev_tail == e)
		M.cqev_tail = prev;
	fd_consume(c->pub.fd);
	e->cq->events_out++;
	M.live[RCP_MOCK_OBJ_CQ_EVENT]++;
	*cqp = &e->cq->pub;
	if (cq_contextp)
		*cq_contextp = e->cq->pub.cq_context;
	free(e);
out:
	leave();
	return ret;
}

/* rcp_vb_ack_cq_events -- mock: acking more than was taken is misuse */
void rcp_vb_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	struct m_cq *q;

	enter(RCP_MOCK_ACK_CQ_EVENTS);
	if (!cq || nevents == 0)
		goto out;
	q = find_cq(cq);
	if (!q) {
		misuse("ack_cq_events: %p is not a mock CQ", (void *)cq);
		goto out;
	}
	if (nevents > q->events_out) {
		misuse("ack_cq_events: %u acked, %u taken", nevents, q->events_out);
		nevents = q->events_out;
	}
	q->events_out -= nevents;
	M.live[RCP_MOCK_OBJ_CQ_EVENT] -= nevents;
out:
	leave();
}

/* rcp_vb_poll_cq -- mock: queued completions for cq (or for any CQ), oldest first */
int rcp_vb_poll_cq(struct ibv_cq *cq, int nwc, struct ibv_wc *wc)
{
	struct wc_ent *prev = NULL;
	struct wc_ent *e;
	int n = 0;
	int ret;

	if (!cq || !wc || nwc < 0)
		return refuse(RCP_MOCK_POLL_CQ);
	ret = enter(RCP_MOCK_POLL_CQ);
	if (ret)
		goto out;
	e = M.wc_head;
	while (e && n < nwc) {
		struct wc_ent *next = e->next;

		if (e->cq && e->cq != cq) {
			prev = e;
			e = next;
			continue;
		}
		wc[n++] = e->wc;
		if (prev)
			prev->next = next;
		else
			M.wc_head = next;
		if (M.wc_tail == e)
			M.wc_tail = prev;
		free(e);
		e = next;
	}
	ret = n;
out:
	leave();
	return ret;
}

/* ---- posting ---- */

/* wr_list_add -- append a captured WR */
static int wr_list_add(struct wr_list *l, struct rcp_mock_wr *w)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct rcp_mock_wr **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = w;
	return 0;
}

/* wr_free -- free a captured WR */
static void wr_free(struct rcp_mock_wr *w)
{
	if (!w)
		return;
	free(w->sg_list);
	free(w->payload);
	free(w);
}

/* wr_list_clear -- free every captured WR of a list */
static void wr_list_clear(struct wr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		wr_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* copy_sges -- private copy of an SGE list */
static struct ibv_sge *copy_sges(const struct ibv_sge *sg, int n)
{
	struct ibv_sge *c;

	if (n <= 0)
		return NULL;
	c = calloc((size_t)n, sizeof(*c));
	if (c)
		memcpy(c, sg, (size_t)n * sizeof(*c));
	return c;
}

/* sge_bytes -- total length of an SGE list */
static uint64_t sge_bytes(const struct ibv_sge *sg, int n)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < n; i++)
		total += sg[i].length;
	return total;
}

/* is_send_opcode -- opcodes that carry a message to the peer's receive */
static bool is_send_opcode(enum ibv_wr_opcode op)
{
	return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_SEND_WITH_INV;
}

/* capture_send -- record one send WR */
static int capture_send(struct ibv_qp *qp, const struct ibv_send_wr *wr, unsigned int call)
{
	struct rcp_mock_wr *w = calloc(1, sizeof(*w));
	int i;

	if (!w)
		return -ENOMEM;
	w->qp = qp;
	w->call = call;
	w->wr_id = wr->wr_id;
	w->opcode = wr->opcode;
	w->send_flags = wr->send_flags;
	w->num_sge = wr->num_sge;
	if (wr->num_sge > 0) {
		w->sg_list = copy_sges(wr->sg_list, wr->num_sge);
		if (!w->sg_list)
			goto err_free;
	}
	switch (wr->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
		w->remote_addr = wr->wr.rdma.remote_addr;
		w->rkey = wr->wr.rdma.rkey;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		w->remote_addr = wr->wr.atomic.remote_addr;
		w->rkey = wr->wr.atomic.rkey;
		break;
	case IBV_WR_BIND_MW:
		w->bind_mw = wr->bind_mw.mw;
		w->bind_rkey = wr->bind_mw.rkey;
		w->bind_info = wr->bind_mw.bind_info;
		break;
	default:
		break;
	}
	if (wr->opcode == IBV_WR_RDMA_WRITE_WITH_IMM || wr->opcode == IBV_WR_SEND_WITH_IMM)
		w->imm_data = wr->imm_data;
	if (wr->opcode == IBV_WR_LOCAL_INV || wr->opcode == IBV_WR_SEND_WITH_INV)
		w->invalidate_rkey = wr->invalidate_rkey;
	if (M.capture_payload && is_send_opcode(wr->opcode) && wr->num_sge > 0) {
		size_t off = 0;

		w->payload_len = sge_bytes(wr->sg_list, wr->num_sge);
		w->payload = malloc(w->payload_len ? w->payload_len : 1);
		if (!w->payload)
			goto err_free;
		for (i = 0; i < wr->num_sge; i++) {
			memcpy((char *)w->payload + off,
			       (const void *)(uintptr_t)wr->sg_list[i].addr, wr->sg_list[i].length);
			off += wr->sg_list[i].length;
		}
	}
	if (wr_list_add(&M.sent, w))
		goto err_free;
	return 0;

err_free:
	wr_free(w);
	return -ENOMEM;
}

/* wc_opcode_of -- the completion opcode a send WR produces */
static enum ibv_wc_opcode wc_opcode_of(enum ibv_wr_opcode op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ:
		return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return IBV_WC_FETCH_ADD;
	case IBV_WR_LOCAL_INV:
		return IBV_WC_LOCAL_INV;
	case IBV_WR_BIND_MW:
		return IBV_WC_BIND_MW;
	case IBV_WR_TSO:
		return IBV_WC_TSO;
	case IBV_WR_ATOMIC_WRITE:
		return IBV_WC_ATOMIC_WRITE;
	default:
		return IBV_WC_SEND;
	}
}

/* auto_bind -- rxe's checks for a type-2 bind, and its effect when they pass */
static enum ibv_wc_status auto_bind(const struct m_qp *q, const struct ibv_send_wr *wr)
{
	const struct ibv_mw_bind_info *info = &wr->bind_mw.bind_info;
	struct m_mw *w = find_mw(wr->bind_mw.mw);
	struct m_mr *r = find_mr(info->mr);
	uint64_t start;

	if (!w)
		return IBV_WC_SUCCESS;
	/* a type-2 window must be free, and userspace's mw->rkey must be the current one */
	if (w->bound_mr || w->pub.rkey != w->cur_rkey)
		return IBV_WC_MW_BIND_ERR;
	if (!r || !(r->access & IBV_ACCESS_MW_BIND) || info->length == 0)
		return IBV_WC_MW_BIND_ERR;
	start = (uint64_t)(uintptr_t)r->pub.addr;
	if (info->addr < start || info->addr - start > r->pub.length ||
	    info->length > r->pub.length - (info->addr - start))
		return IBV_WC_MW_BIND_ERR;
	/* remote write through a window needs local write on the MR (IBA C10-74) */
	if ((info->mw_access_flags & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(r->access & IBV_ACCESS_LOCAL_WRITE))
		return IBV_WC_MW_BIND_ERR;
	if (q && q->pd && w->pd != q->pd)
		return IBV_WC_MW_BIND_ERR;
	w->cur_rkey = (w->cur_rkey & ~0xffu) | (wr->bind_mw.rkey & 0xffu);
	w->bound_mr = r;
	w->bound_addr = info->addr;
	w->bound_len = info->length;
	w->bound_access = info->mw_access_flags;
	r->hdr.refs++;
	return IBV_WC_SUCCESS;
}

/* auto_remote -- the responder's checks of an RDMA READ or WRITE through a bound mock window:
 * rights, then bounds, those of the window or (lax mode, as rxe in 6.1) of the MR under it.
 * An rkey that is no mock window's is not checked. */
static enum ibv_wc_status auto_remote(const struct ibv_send_wr *wr)
{
	unsigned int need =
		wr->opcode == IBV_WR_RDMA_READ ? IBV_ACCESS_REMOTE_READ : IBV_ACCESS_REMOTE_WRITE;
	uint64_t len = sge_bytes(wr->sg_list, wr->num_sge);
	uint64_t addr = wr->wr.rdma.remote_addr;
	uint64_t start;
	uint64_t size;
	struct mobj *o;

	for (o = M.objs; o; o = o->next) {
		struct m_mw *w = (struct m_mw *)o;

		if (o->kind != RCP_MOCK_OBJ_MW || w->cur_rkey != wr->wr.rdma.rkey)
			continue;
		if (!w->bound_mr || !(w->bound_access & need))
			return IBV_WC_REM_ACCESS_ERR;
		start = M.mw_bounds_lax ? (uint64_t)(uintptr_t)w->bound_mr->pub.addr
					: w->bound_addr;
		size = M.mw_bounds_lax ? w->bound_mr->pub.length : w->bound_len;
		if (addr < start || addr - start > size || len > size - (addr - start))
			return IBV_WC_REM_ACCESS_ERR;
		return IBV_WC_SUCCESS;
	}
	return IBV_WC_SUCCESS;
}

/* auto_inv -- invalidate the bound mock window holding rkey */
static enum ibv_wc_status auto_inv(uint32_t rkey)
{
	struct mobj *o;

	for (o = M.objs; o; o = o->next) {
		struct m_mw *w = (struct m_mw *)o;

		if (o->kind == RCP_MOCK_OBJ_MW && w->bound_mr && w->cur_rkey == rkey) {
			unbind_locked(w);
			return IBV_WC_SUCCESS;
		}
	}
	return IBV_WC_LOC_QP_OP_ERR;
}

/* auto_send -- complete one send WR the way a healthy device would */
static void auto_send(struct ibv_qp *qp, const struct ibv_send_wr *wr)
{
	struct m_qp *q = find_qp(qp);
	enum ibv_wc_status st = IBV_WC_SUCCESS;
	bool signaled = (wr->send_flags & IBV_SEND_SIGNALED) || (q && q->sig_all);
	struct ibv_wc wc = {0};

	if (q && q->in_error)
		st = IBV_WC_WR_FLUSH_ERR;
	else if (wr->opcode == IBV_WR_BIND_MW)
		st = auto_bind(q, wr);
	else if (wr->opcode == IBV_WR_LOCAL_INV)
		st = auto_inv(wr->invalidate_rkey);
	else if (wr->opcode == IBV_WR_RDMA_READ || wr->opcode == IBV_WR_RDMA_WRITE)
		st = auto_remote(wr);
	/* errors and flushes complete whether signaled or not */
	if (st == IBV_WC_SUCCESS && !signaled)
		return;
	wc.wr_id = wr->wr_id;
	wc.status = st;
	wc.opcode = wc_opcode_of(wr->opcode);
	wc.qp_num = qp->qp_num;
	if (st == IBV_WC_SUCCESS)
		wc.byte_len = (uint32_t)sge_bytes(wr->sg_list, wr->num_sge);
	if (qp->send_cq)
		push_wc_locked(qp->send_cq, &wc);
	if (q && st != IBV_WC_SUCCESS)
		set_error_locked(q);
}

/* check_send_wr -- what the provider refuses at post time */
static int check_send_wr(const struct ibv_send_wr *wr)
{
	int max = wr->opcode == IBV_WR_RDMA_READ ? M.dattr.max_sge_rd : M.dattr.max_sge;

	if (wr->num_sge < 0 || wr->num_sge > max || (wr->num_sge && !wr->sg_list))
		return -EINVAL;
	if (sge_bytes(wr->sg_list, wr->num_sge) > M.pattr.max_msg_sz)
		return -EINVAL;
	return 0;
}

/* rcp_vb_post_send -- mock: captures every WR; see rcp_mock_auto_complete */
int rcp_vb_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr)
{
	struct ibv_send_wr *w;
	bool fail_at;
	unsigned int call;
	unsigned int idx;
	int ret;

	ret = enter(RCP_MOCK_POST_SEND);
	if (!ret && (!qp || !wr))
		ret = -EINVAL;
	if (ret) {
		if (bad_wr)
			*bad_wr = wr;
		goto out;
	}
	call = M.calls[RCP_MOCK_POST_SEND] - 1;
	fail_at = M.send_fail_at_on;
	M.send_fail_at_on = false;
	for (w = wr, idx = 0; w; w = w->next, idx++) {
		if (fail_at && idx == M.send_fail_at)
			ret = M.send_fail_err;
		else
			ret = check_send_wr(w);
		if (!ret)
			ret = capture_send(qp, w, call);
		if (ret) {
			if (bad_wr)
				*bad_wr = w;
			goto out;
		}
		if (M.auto_complete)
			auto_send(qp, w);
	}
	if (bad_wr)
		*bad_wr = NULL;
out:
	leave();
	return ret;
}

/* post_one_recv -- capture one receive WR and make it outstanding on the QP */
static int post_one_recv(struct ibv_qp *qp, struct m_qp *q, const struct ibv_recv_wr *wr,
			 unsigned int call)
{
	struct rcp_mock_wr *w = calloc(1, sizeof(*w));
	struct recv_slot *s = NULL;

	if (!w)
		return -ENOMEM;
	w->qp = qp;
	w->call = call;
	w->wr_id = wr->wr_id;
	w->num_sge = wr->num_sge;
	if (wr->num_sge > 0) {
		w->sg_list = copy_sges(wr->sg_list, wr->num_sge);
		if (!w->sg_list)
			goto err_free;
	}
	if (q) {
		s = calloc(1, sizeof(*s));
		if (!s)
			goto err_free;
		s->wr_id = wr->wr_id;
		s->num_sge = wr->num_sge;
		if (wr->num_sge > 0) {
			s->sg = copy_sges(wr->sg_list, wr->num_sge);
			if (!s->sg)
				goto err_free;
		}
	}
	if (wr_list_add(&M.recvd, w))
		goto err_free;
	if (!s)
		return 0;
	if (q->rq_tail)
		q->rq_tail->next = s;
	else
		q->rq_head = s;
	q->rq_tail = s;
	q->rq_len++;
	/* a receive posted on a QP in error is flushed at once */
	if (q->in_error)
		flush_rq_locked(q);
	return 0;

err_free:
	if (s)
		free(s->sg);
	free(s);
	wr_free(w);
	return -ENOMEM;
}

/* rcp_vb_post_recv -- mock: captures every WR and keeps it for rcp_mock_deliver_recv */
int rcp_vb_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct ibv_recv_wr *w;
	unsigned int call;
	struct m_qp *q;
	int ret;

	ret = enter(RCP_MOCK_POST_RECV);
	if (!ret && (!qp || !wr))
		ret = -EINVAL;
	if (ret) {
		if (bad_wr)
			*bad_wr = wr;
		goto out;
	}
	call = M.calls[RCP_MOCK_POST_RECV] - 1;
	q = find_qp(qp);
	for (w = wr; w; w = w->next) {
		if (w->num_sge < 0 || w->num_sge > M.dattr.max_sge || (w->num_sge && !w->sg_list))
			ret = -EINVAL;
		else
			ret = post_one_recv(qp, q, w, call);
		if (ret) {
			if (bad_wr)
				*bad_wr = w;
			goto out;
		}
	}
	if (bad_wr)
		*bad_wr = NULL;
out:
	leave();
	return ret;
}

/* ---- control API ---- */

/* rcp_mock_reset -- free everything, forget all rules and captures, rxe-like defaults */
void rcp_mock_reset(void)
{
	pthread_mutex_lock(&lock);
	while (M.objs) {
		struct mobj *o = M.objs;

		M.objs = o->next;
		if (o->kind == RCP_MOCK_OBJ_EVENT_CHANNEL)
			close(((struct m_evch *)o)->pub.fd);
		else if (o->kind == RCP_MOCK_OBJ_COMP_CHANNEL)
			close(((struct m_cc *)o)->pub.fd);
		else if (o->kind == RCP_MOCK_OBJ_QP)
			free_rq_locked((struct m_qp *)o);
		free(o);
	}
	while (M.wc_head) {
		struct wc_ent *e = M.wc_head;

		M.wc_head = e->next;
		free(e);
	}
	while (M.cqev_head) {
		struct cq_ev *e = M.cqev_head;

		M.cqev_head = e->next;
		free(e);
	}
	while (M.cm_head) {
		struct cm_ev *e = M.cm_head;

		M.cm_head = e->next;
		free(e);
	}
	wr_list_clear(&M.sent);
	wr_list_clear(&M.recvd);
	memset(&M, 0, sizeof(M));
	set_defaults();
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_fail_after -- let `successes` calls through, then fail `times` calls (0: all) */
void rcp_mock_fail_after(enum rcp_mock_fn fn, unsigned int successes, int err, unsigned int times)
{
	struct rule *r;

	if ((unsigned int)fn >= RCP_MOCK_FN_COUNT)
		return;
	pthread_mutex_lock(&lock);
	r = &M.rules[fn];
	r->on = true;
	r->err = norm_err(err);
	r->pass = successes;
	r->fail = times;
	r->forever = times == 0;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_fail -- every call to fn from now on returns err */
void rcp_mock_fail(enum rcp_mock_fn fn, int err)
{
	rcp_mock_fail_after(fn, 0, err, 0);
}

/* rcp_mock_fail_clear -- remove the rule for fn */
void rcp_mock_fail_clear(enum rcp_mock_fn fn)
{
	if ((unsigned int)fn >= RCP_MOCK_FN_COUNT)
		return;
	pthread_mutex_lock(&lock);
	memset(&M.rules[fn], 0, sizeof(M.rules[fn]));
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_post_send_fail_at -- next post_send fails at WR number index */
void rcp_mock_post_send_fail_at(unsigned int index, int err)
{
	pthread_mutex_lock(&lock);
	M.send_fail_at_on = true;
	M.send_fail_at = index;
	M.send_fail_err = norm_err(err);
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_calls -- how many times fn was called */
unsigned int rcp_mock_calls(enum rcp_mock_fn fn)
{
	unsigned int n;

	if ((unsigned int)fn >= RCP_MOCK_FN_COUNT)
		return 0;
	pthread_mutex_lock(&lock);
	n = M.calls[fn];
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_context -- the fake device context every mock object hangs off */
struct ibv_context *rcp_mock_context(void)
{
	pthread_mutex_lock(&lock);
	ensure_init();
	pthread_mutex_unlock(&lock);
	return &M.ctx;
}

/* rcp_mock_device_attr -- what rcp_vb_query_device reports */
struct ibv_device_attr *rcp_mock_device_attr(void)
{
	pthread_mutex_lock(&lock);
	ensure_init();
	pthread_mutex_unlock(&lock);
	return &M.dattr;
}

/* rcp_mock_port_attr -- what rcp_vb_query_port reports */
struct ibv_port_attr *rcp_mock_port_attr(void)
{
	pthread_mutex_lock(&lock);
	ensure_init();
	pthread_mutex_unlock(&lock);
	return &M.pattr;
}

/* rcp_mock_set_cq_moderation -- whether modify_cq_moderation succeeds */
void rcp_mock_set_cq_moderation(bool supported)
{
	pthread_mutex_lock(&lock);
	ensure_init();
	M.cq_mod = supported;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_cq_moderation -- last moderation applied to cq */
bool rcp_mock_cq_moderation(const struct ibv_cq *cq, uint16_t *count, uint16_t *period_us)
{
	struct m_cq *q;
	bool ret = false;

	pthread_mutex_lock(&lock);
	q = find_cq(cq);
	if (q && q->moderated) {
		if (count)
			*count = q->mod_count;
		if (period_us)
			*period_us = q->mod_period;
		ret = true;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* rcp_mock_mr_access -- the access flags mr was registered with */
int rcp_mock_mr_access(const struct ibv_mr *mr)
{
	struct m_mr *r;
	int access;

	pthread_mutex_lock(&lock);
	r = find_mr(mr);
	access = r ? r->access : -1;
	pthread_mutex_unlock(&lock);
	return access;
}

/* rcp_mock_mw_bound -- whether mw is bound, and its rkey */
bool rcp_mock_mw_bound(const struct ibv_mw *mw, uint32_t *rkey)
{
	struct m_mw *w;
	bool bound = false;

	pthread_mutex_lock(&lock);
	w = find_mw(mw);
	if (w) {
		bound = w->bound_mr != NULL;
		if (rkey)
			*rkey = w->cur_rkey;
	}
	pthread_mutex_unlock(&lock);
	return bound;
}

/* list_count -- number of captured WRs in a list */
static size_t list_count(const struct wr_list *l)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = l->n;
	pthread_mutex_unlock(&lock);
	return n;
}

/* list_get -- captured WR i of a list */
static const struct rcp_mock_wr *list_get(const struct wr_list *l, size_t i)
{
	const struct rcp_mock_wr *w;

	pthread_mutex_lock(&lock);
	w = i < l->n ? l->v[i] : NULL;
	pthread_mutex_unlock(&lock);
	return w;
}

/* rcp_mock_sent_count -- send WRs captured since the last clear */
size_t rcp_mock_sent_count(void)
{
	return list_count(&M.sent);
}

/* rcp_mock_sent -- captured send WR i */
const struct rcp_mock_wr *rcp_mock_sent(size_t i)
{
	return list_get(&M.sent, i);
}

/* rcp_mock_recv_count -- receive WRs captured since the last clear */
size_t rcp_mock_recv_count(void)
{
	return list_count(&M.recvd);
}

/* rcp_mock_recv -- captured receive WR i */
const struct rcp_mock_wr *rcp_mock_recv(size_t i)
{
	return list_get(&M.recvd, i);
}

/* rcp_mock_clear_wrs -- forget captured WRs */
void rcp_mock_clear_wrs(void)
{
	pthread_mutex_lock(&lock);
	wr_list_clear(&M.sent);
	wr_list_clear(&M.recvd);
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_capture_payload -- copy the bytes SEND WRs point at */
void rcp_mock_capture_payload(bool on)
{
	pthread_mutex_lock(&lock);
	M.capture_payload = on;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_push_wc -- queue a completion for cq */
void rcp_mock_push_wc(struct ibv_cq *cq, const struct ibv_wc *wc)
{
	if (!wc)
		return;
	pthread_mutex_lock(&lock);
	ensure_init();
	if (push_wc_locked(cq, wc))
		misuse("push_wc: out of memory");
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_push_wc_ok -- queue a successful completion */
void rcp_mock_push_wc_ok(struct ibv_cq *cq, uint64_t wr_id, enum ibv_wc_opcode opcode,
			 uint32_t byte_len)
{
	struct ibv_wc wc = {0};

	wc.wr_id = wr_id;
	wc.status = IBV_WC_SUCCESS;
	wc.opcode = opcode;
	wc.byte_len = byte_len;
	rcp_mock_push_wc(cq, &wc);
}

/* rcp_mock_push_async -- queue an asynchronous event of the device (port: its element) */
void rcp_mock_push_async(enum ibv_event_type type, uint8_t port)
{
	pthread_mutex_lock(&lock);
	if (M.nasync < sizeof(M.async_ev) / sizeof(M.async_ev[0])) {
		M.async_ev[M.nasync].event_type = type;
		M.async_ev[M.nasync].element.port_num = port;
		M.nasync++;
	}
	pthread_mutex_unlock(&lock);
}

/* rcp_vb_get_async_event -- mock: the oldest event rcp_mock_push_async queued, or -EAGAIN */
int rcp_vb_get_async_event(struct ibv_context *ctx, struct ibv_async_event *ev)
{
	int ret = -EAGAIN;

	if (!ctx || !ev)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (ctx == &M.ctx && M.nasync) {
		*ev = M.async_ev[0];
		M.nasync--;
		memmove(M.async_ev, M.async_ev + 1, M.nasync * sizeof(M.async_ev[0]));
		ret = 0;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* rcp_vb_ack_async_event -- mock: nothing to release */
void rcp_vb_ack_async_event(struct ibv_async_event *ev)
{
	(void)ev;
}

/* rcp_mock_push_wc_err -- queue a failed completion */
void rcp_mock_push_wc_err(struct ibv_cq *cq, uint64_t wr_id, enum ibv_wc_status status)
{
	struct ibv_wc wc = {0};

	wc.wr_id = wr_id;
	wc.status = status;
	rcp_mock_push_wc(cq, &wc);
}

/* rcp_mock_wc_pending -- completions queued for cq (NULL: all) */
size_t rcp_mock_wc_pending(const struct ibv_cq *cq)
{
	const struct wc_ent *e;
	size_t n = 0;

	pthread_mutex_lock(&lock);
	for (e = M.wc_head; e; e = e->next)
		if (!cq || !e->cq || e->cq == cq)
			n++;
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_mw_bounds -- whether windows' own bounds are checked (the default) */
void rcp_mock_mw_bounds(bool enforced)
{
	pthread_mutex_lock(&lock);
	M.mw_bounds_lax = !enforced;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_auto_complete -- complete posted sends at once, as a healthy device would */
void rcp_mock_auto_complete(bool on)
{
	pthread_mutex_lock(&lock);
	M.auto_complete = on;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_deliver_recv -- play the peer: fill the oldest posted receive of qp */
int rcp_mock_deliver_recv(struct ibv_qp *qp, const void *msg, size_t len)
{
	struct ibv_wc wc = {0};
	struct recv_slot *s;
	struct m_qp *q;
	size_t off = 0;
	int ret = 0;
	int i;

	pthread_mutex_lock(&lock);
	q = find_qp(qp);
	if (!q || (!msg && len)) {
		ret = -EINVAL;
		goto out;
	}
	s = q->rq_head;
	if (!s) {
		ret = -ENOENT;
		goto out;
	}
	q->rq_head = s->next;
	if (!q->rq_head)
		q->rq_tail = NULL;
	q->rq_len--;
	wc.wr_id = s->wr_id;
	wc.opcode = IBV_WC_RECV;
	wc.qp_num = qp->qp_num;
	if (len > sge_bytes(s->sg, s->num_sge)) {
		wc.status = IBV_WC_LOC_LEN_ERR;
		ret = -EMSGSIZE;
	} else {
		for (i = 0; i < s->num_sge && off < len; i++) {
			size_t n = len - off;

			if (n > s->sg[i].length)
				n = s->sg[i].length;
			memcpy((void *)(uintptr_t)s->sg[i].addr, (const char *)msg + off, n);
			off += n;
		}
		wc.status = IBV_WC_SUCCESS;
		wc.byte_len = (uint32_t)len;
	}
	free(s->sg);
	free(s);
	if (qp->recv_cq)
		push_wc_locked(qp->recv_cq, &wc);
	if (ret)
		set_error_locked(q);
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

/* rcp_mock_recv_outstanding -- receives posted on qp and not yet consumed */
size_t rcp_mock_recv_outstanding(const struct ibv_qp *qp)
{
	struct m_qp *q;
	size_t n;

	pthread_mutex_lock(&lock);
	q = find_qp(qp);
	n = q ? q->rq_len : 0;
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_qp_set_error -- move qp to the error state */
void rcp_mock_qp_set_error(struct ibv_qp *qp)
{
	struct m_qp *q;

	pthread_mutex_lock(&lock);
	q = find_qp(qp);
	if (q)
		set_error_locked(q);
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_notify_calls -- how often cq was armed, and whether it is armed now */
unsigned int rcp_mock_notify_calls(const struct ibv_cq *cq, bool *armed)
{
	struct m_cq *q;
	unsigned int n = 0;

	pthread_mutex_lock(&lock);
	q = find_cq(cq);
	if (q)
		n = q->notify_calls;
	if (armed)
		*armed = q && q->armed;
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_cm_event -- queue an event on ch for id */
int rcp_mock_cm_event(struct rdma_event_channel *ch, enum rdma_cm_event_type type,
		      struct rdma_cm_id *id, int status, const void *pdata, size_t pdata_len)
{
	struct m_evch *c;
	int ret;

	pthread_mutex_lock(&lock);
	ensure_init();
	c = find_evch(ch);
	ret = c ? queue_cm_locked(c, type, id, NULL, status, pdata, pdata_len) : -EINVAL;
	pthread_mutex_unlock(&lock);
	return ret;
}

/* rcp_mock_connect_request -- a client knocks on listen_id */
struct rdma_cm_id *rcp_mock_connect_request(struct rdma_cm_id *listen_id, const void *pdata,
					    size_t pdata_len)
{
	struct rdma_cm_id *child = NULL;
	struct m_id *l;
	struct m_id *m;

	pthread_mutex_lock(&lock);
	ensure_init();
	l = find_id(listen_id);
	if (!l || !l->ch || pdata_len > UINT8_MAX || (!pdata && pdata_len))
		goto out;
	m = NEW_OBJ(struct m_id, RCP_MOCK_OBJ_CM_ID);
	if (!m)
		goto out;
	m->ch = l->ch;
	l->ch->hdr.refs++;
	/* like rdma_cm: the new id inherits the listener's channel and context */
	m->pub.channel = listen_id->channel;
	m->pub.context = listen_id->context;
	m->pub.verbs = &M.ctx;
	m->pub.port_num = 1;
	m->pub.ps = RDMA_PS_TCP;
	m->pub.qp_type = IBV_QPT_RC;
	m->pub.route.addr.src_storage = listen_id->route.addr.src_storage;
	if (queue_cm_locked(l->ch, RDMA_CM_EVENT_CONNECT_REQUEST, &m->pub, listen_id, 0, pdata,
			    pdata_len)) {
		l->ch->hdr.refs--;
		free_obj(&m->hdr);
		goto out;
	}
	child = &m->pub;
out:
	pthread_mutex_unlock(&lock);
	return child;
}

/* rcp_mock_cm_pending -- events queued on ch (NULL: all) and not yet taken */
size_t rcp_mock_cm_pending(const struct rdma_event_channel *ch)
{
	const struct cm_ev *e;
	size_t n = 0;

	pthread_mutex_lock(&lock);
	for (e = M.cm_head; e; e = e->next)
		if (!e->taken && (!ch || &e->ch->pub == ch))
			n++;
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_cm_auto -- queue the events a healthy peer would cause */
void rcp_mock_cm_auto(bool on)
{
	pthread_mutex_lock(&lock);
	M.cm_auto = on;
	pthread_mutex_unlock(&lock);
}

/* rcp_mock_last_cm_call -- the last connect, accept or reject */
bool rcp_mock_last_cm_call(enum rcp_mock_fn fn, struct rcp_mock_cm_call *out)
{
	int slot = cm_slot(fn);
	bool have = false;

	if (slot < 0 || !out)
		return false;
	pthread_mutex_lock(&lock);
	if (M.have_last_cm[slot]) {
		*out = M.last_cm[slot];
		have = true;
	}
	pthread_mutex_unlock(&lock);
	return have;
}

/* rcp_mock_connect_pdata -- the private data of the last connect of the id owning qp */
bool rcp_mock_connect_pdata(const struct ibv_qp *qp, void *out, size_t cap, size_t *len)
{
	struct mobj *o;
	bool have = false;

	pthread_mutex_lock(&lock);
	for (o = M.objs; o; o = o->next) {
		struct m_id *m = (struct m_id *)o;

		if (o->kind != RCP_MOCK_OBJ_CM_ID || !qp || m->pub.qp != qp)
			continue;
		*len = m->conn_pdata_len < cap ? m->conn_pdata_len : cap;
		memcpy(out, m->conn_pdata, *len);
		have = true;
		break;
	}
	pthread_mutex_unlock(&lock);
	return have;
}

/* rcp_mock_live -- objects of a kind created and not destroyed */
unsigned int rcp_mock_live(enum rcp_mock_obj kind)
{
	unsigned int n;

	if ((unsigned int)kind >= RCP_MOCK_OBJ_COUNT)
		return 0;
	pthread_mutex_lock(&lock);
	n = M.live[kind];
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_live_total -- all live objects: 0 after a clean teardown */
unsigned int rcp_mock_live_total(void)
{
	unsigned int n = 0;
	int k;

	pthread_mutex_lock(&lock);
	for (k = 0; k < RCP_MOCK_OBJ_COUNT; k++)
		n += M.live[k];
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_misuse_count -- API misuse seen so far */
unsigned int rcp_mock_misuse_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&lock);
	n = M.misuse;
	pthread_mutex_unlock(&lock);
	return n;
}

/* rcp_mock_last_misuse -- description of the last misuse, "" if none */
const char *rcp_mock_last_misuse(void)
{
	return M.misuse_msg;
}
