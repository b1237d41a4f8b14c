/* SPDX-License-Identifier: BSD-3-Clause */
/* conn.h -- a connection: the queue pairs, control channels and operations it composes, its
 * one file descriptor, and the engine that drives them */
#ifndef RDMACPY_CLIENT_CONN_H
#define RDMACPY_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client/include/rdmacpy.h"
#include "client/lib/error.h"
#include "client/lib/op.h"
#include "client/lib/qp.h"
#include "client/lib/rcache.h"
#include "client/lib/resolve.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/verbs.h"

#define RCP_CLI_DEF_DEPTH     128
#define RCP_CLI_DEF_COUNT     16
#define RCP_CLI_DEF_PERIOD_US 200
#define RCP_CLI_DEF_TIMEOUT   10000
/*
 * 1 MiB per WR: on soft-RoCE, where every WR costs CPU in the kernel, an 8 MiB read cut into
 * 256 KiB WRs ran at 0.94x ib_read_bw and in 1 MiB WRs at 1.01x (bench/, one boot). Eight WRs
 * per 8 MiB still keep a queue pair busy, and NICs take 1 MiB WRs at line rate.
 */
#define RCP_CLI_DEF_CHUNK (1024u * 1024u)
#define RCP_CLI_DEF_CACHE ((size_t)256 << 20)

/* What an internal user of the library (the daemon's COPY) may add to a connection. */
struct rcp_conn_ext {
	/* the protection domain to use instead of a new one: memory the caller registered on
	 * it can be handed to rcp_mem_adopt, so it is not registered again */
	struct ibv_pd *pd;
};

/* One local RDMA device the connection's queue pairs use: what verbs keeps per device. A
 * connection with rails on several ports of several NICs has one of these per NIC. */
struct rcp_cli_dev {
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	bool own_pd; /* false: the pd came from rcp_conn_ext */
	struct ibv_comp_channel *cc;
	struct ibv_mr *ctrl_mr; /* the connection's control buffers, registered here */
	struct rcp_vb_caps caps;
	bool hw_mod;	   /* every CQ on it takes hardware moderation */
	bool hw_mod_known; /* hw_mod was probed on a first CQ */
	struct rcp_rcache cache;
};

#define RCP_DEVS_MAX RDMACPY_MAX_RAILS

/* One rail: a daemon address and the local port the route to it leaves through, with queue
 * pairs [first, first + n) of its own (rails.c) */
struct rcp_rail {
	struct sockaddr_storage dst;
	char name[64]; /* the daemon's address, for logs */
	unsigned int first;
	unsigned int n;
	struct rcp_cli_dev *dev; /* once its first QP resolved */
	uint8_t port_num;
	uint32_t rate_mbps;	      /* the local port's active rate (speed x width); 0 unknown */
	bool skipped;		      /* could not connect when the connection opened: never used */
	bool down;		      /* failed: out of the striping until it rejoins */
	bool rejoining;		      /* its QPs connect again in the background */
	unsigned int reopening;	      /* rejoining: grants whose OPEN is not answered yet */
	unsigned int pause_ms;	      /* backoff step between rejoin attempts */
	uint64_t retry_at_ns;	      /* down: when to try connecting again */
	uint64_t attempt_deadline_ns; /* rejoining: an attempt that takes longer is given up */
	/* what it achieved: bytes its retired WRs moved while it had work out */
	uint64_t bytes_done;
	uint64_t busy_ns;
	uint64_t busy_since_ns; /* 0: nothing out */
	double measured;	/* bytes per ns, smoothed; 0 until measured */
};

struct rdmacpy_conn {
	struct rcp_log log;
	struct rdmacpy_conn_opts opts;
	char device[64]; /* opts.device, kept: the caller's pointer is not */
	struct rcp_auth_key key;
	bool have_key;
	char host[256];
	uint16_t port;
	/* resolving the host (a name: on a thread, resolve.c), then its address */
	struct rcp_resolve *resolve;
	struct sockaddr_storage dst;
	struct sockaddr_storage src; /* opts.device's address, when one was asked for */
	bool have_src;
	/* the devices: dev[0] is the first rail's */
	struct rdma_event_channel *ch;
	struct rcp_cli_dev dev[RCP_DEVS_MAX];
	unsigned int ndev;
	struct ibv_pd *ext_pd; /* rcp_conn_ext's pd, for the device it belongs to */
	uint8_t *ctrl_mem;     /* control buffers of every QP the connection may have */
	size_t ctrl_len;
	/* rails: rail 0 is the address the connection was opened with */
	struct rcp_rail rails[RDMACPY_MAX_RAILS];
	unsigned int nrails;
	unsigned int want_rails; /* opts.rails, at least 1 */
	bool rails_asked;	 /* the daemon's addresses were asked for (INFO) */
	bool rails_known;	 /* and answered (or one rail it is) */
	uint64_t grant_serial;	 /* the last grant's serial */
	unsigned int next_rail;	 /* round-robin for small transfers */
	uint64_t port_check_ns;	 /* when the devices' async events are looked at next */
	/* queue pairs: rail r's are [rails[r].first, + rails[r].n) */
	unsigned int nqp;
	unsigned int qp_cap;
	struct rcp_cli_qp *qp;	     /* qp_cap entries, nqp in use */
	unsigned int notify_pending; /* QPs with notify_pending: 0 means no event can come */
	/* the one fd: epoll over the channels and a timer */
	int epfd;
	int timerfd;
	uint64_t timer_at_ns; /* what the timer is set to (0: disarmed) */
	/* connecting (connect.c) */
	struct rdmacpy_op *connect_op;
	uint64_t connect_deadline_ns;
	bool connected; /* every QP authenticated once */
	bool broken;
	int broken_err; /* -errno */
	bool closing;	/* rdmacpy_conn_close runs: the "failure" it causes is no news */
	/* recovering from a break within opts.reconnect_ms (resume.c): what the break
	 * interrupted waits, requests other than the resume's own are held back */
	bool resuming;
	bool reconnecting;    /* the connect steps run again (connect.c), for the resume */
	bool resume_given_up; /* the bound passed or the region changed: breaks are final */
	uint64_t resume_deadline_ns;
	unsigned int access_resumes; /* resumes for remote access errors since a transfer ended */
	unsigned int reopening;	     /* grants whose OPEN again is not answered yet */
	/* the registration of an express transfer that timed out and never came back: the
	 * device may still use it, so it is released only at close (as a detached op's are) */
	struct rcp_rcache_ent *express_held;
	/* operations: active (posting, in flight, awaiting answers), done (callback pending),
	 * held (finished, handle not yet freed) */
	struct rdmacpy_op *active_head;
	struct rdmacpy_op *active_tail;
	struct rdmacpy_op *done_head;
	struct rdmacpy_op *done_tail;
	struct rdmacpy_op *held_head;
	struct rdmacpy_op *held_tail;
	struct rdmacpy_grant *grants;
	struct rdmacpy_mem *mems;
	struct rdmacpy_counters ctr;
	/* since when the application has been outside the library (UINT64_MAX: inside); a
	 * moderation deadline that passes meanwhile is a timer wake-up */
	uint64_t outside_since_ns;
	char last_error[RCP_ERR_TEXT_MAX];
};

/* One grant: opened on every QP's session, since a memory window only works on its QP. */
struct rdmacpy_grant_qp {
	uint32_t id;
	uint32_t rkey;
	uint64_t addr;
	uint32_t prev_id; /* the id before the last reconnect: requests queued with it follow */
	/* a resume's OPEN answered: switched to all at once when every grant is reopened */
	uint32_t next_id;
	uint32_t next_rkey;
	uint64_t next_addr;
};

struct rdmacpy_grant {
	struct rdmacpy_conn *conn;
	uint64_t length;
	enum rcp_rights rights;
	bool mw;
	char region[RCP_NAME_MAX];
	uint64_t offset;
	uint64_t instance;  /* the region's instance id when it was opened; 0: not told */
	uint64_t prev_addr; /* q[0].addr before the last reconnect (transfers are moved) */
	uint64_t serial;    /* names it to requests that outlive it (a rail's reopen) */
	struct rdmacpy_grant *next;
	struct rdmacpy_grant_qp q[]; /* conn->nqp entries */
};

struct rdmacpy_mem {
	struct rdmacpy_conn *conn;
	struct ibv_mr *mr[RCP_DEVS_MAX]; /* one registration per device of the connection */
	bool own_mr;			 /* false: adopted (rcp_mem_adopt), not deregistered here */
	bool read_only; /* the memory cannot be written (a read-only mapping): a source only */
	uint64_t addr;
	uint64_t len;
	struct rdmacpy_mem *next;
};

/* ---- conn.c ---- */

/* rcp_now_ns -- monotonic clock in nanoseconds */
uint64_t rcp_now_ns(void);

/* rcp_ms_left -- milliseconds until deadline_ns, 0 if past */
int rcp_ms_left(uint64_t deadline_ns);

/* rcp_conn_fail -- the connection is broken: record why (-errno), fail queued requests and move
 * the QPs to the error state so everything in flight comes back flushed */
void rcp_conn_fail(struct rdmacpy_conn *c, int err, const char *why);

/* rcp_conn_set_error -- remember a text for rdmacpy_conn_last_error */
void rcp_conn_set_error(struct rdmacpy_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* rcp_conn_watch -- add fd to the connection's epoll set (readable) */
int rcp_conn_watch(struct rdmacpy_conn *c, int fd);

/* rcp_conn_open_ext -- rdmacpy_conn_open_async with what internal users may add (ext may be
 * NULL). Returns -errno (the conn is not made) or 0 */
int rcp_conn_open_ext(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
		      const struct rcp_conn_ext *ext, rdmacpy_done_fn cb, void *ctx,
		      struct rdmacpy_conn **out, struct rdmacpy_op **op);

/* ---- connect.c ---- */

/* rcp_connect_start -- begin resolving; the connect op finishes when every QP is ready */
int rcp_connect_start(struct rdmacpy_conn *c);

/* rcp_connect_cm_event -- an rdma_cm event for one of the connection's ids */
void rcp_connect_cm_event(struct rdmacpy_conn *c, const struct rdma_cm_event *ev);

/* rcp_connect_service -- time-driven steps: the name lookup's end, backoffs, the deadline */
void rcp_connect_service(struct rdmacpy_conn *c, uint64_t now);

/* rcp_connect_deadline -- the next time connecting needs a look; UINT64_MAX none */
uint64_t rcp_connect_deadline(const struct rdmacpy_conn *c);

/* rcp_connect_ctrl_msg -- a control message on a QP that is still authenticating */
void rcp_connect_ctrl_msg(struct rcp_cli_qp *q, const struct rcp_msg *m);

/* rcp_connect_closing -- the connection is being closed: stop connecting */
void rcp_connect_closing(struct rdmacpy_conn *c);

/* rcp_connect_again -- take every queue pair down and connect each again (a resume), within
 * c->connect_deadline_ns; the end is told to rcp_resume_connected */
void rcp_connect_again(struct rdmacpy_conn *c);

/* rcp_connect_qp_start -- an attempt of q: a fresh id, resolving its rail's address */
void rcp_connect_qp_start(struct rcp_cli_qp *q);

/* rcp_connect_qp_reset -- q down and idle (its own requests dropped), for another attempt */
void rcp_connect_qp_reset(struct rcp_cli_qp *q);

/* rcp_connect_check_ready -- connecting ends when the first rail is ready and the others are
 * ready or skipped */
void rcp_connect_check_ready(struct rdmacpy_conn *c);

/* rcp_backoff_pause -- the pause before the next attempt, in ms: *step jittered to [step/2,
 * 3*step/2), then *step doubled up to max_ms (a first call with *step 0 starts at min_ms) */
unsigned int rcp_backoff_pause(unsigned int *step, unsigned int min_ms, unsigned int max_ms);

/* ---- engine.c ---- */

/* rcp_engine_service -- take what the fd signalled, poll what is due, post queued work, run
 * callbacks; never sleeps. The number of operations finished */
int rcp_engine_service(struct rdmacpy_conn *c);

/* rcp_engine_wait -- service until done(arg) or the timeout (ms, >= 0): 0, -ETIMEDOUT */
int rcp_engine_wait(struct rdmacpy_conn *c, bool (*done)(void *arg), void *arg, int timeout_ms);

/* rcp_engine_enter -- the application calls in at now: count timer wake-ups that passed */
void rcp_engine_enter(struct rdmacpy_conn *c, uint64_t now);

/* rcp_engine_leave -- the application gets control back: set the fd's timer */
void rcp_engine_leave(struct rdmacpy_conn *c);

/* rcp_engine_next_timeout -- ms until a deadline, 0 when spinning, -1 none */
int rcp_engine_next_timeout(const struct rdmacpy_conn *c);

/* ---- xfer.c ---- */

/* rcp_xfer_pump -- post queued transfer work on every ready QP while slots are free */
void rcp_xfer_pump(struct rdmacpy_conn *c);

/* rcp_xfer_redo -- bytes [off, off + len) of op's stream are planned again, on the QPs of the
 * rails that are up. 0 or -ENOMEM */
int rcp_xfer_redo(struct rdmacpy_op *op, uint64_t off, uint64_t len);

/* rcp_xfer_planned -- nothing of op is left to post (stripes and ranges to redo) */
bool rcp_xfer_planned(const struct rdmacpy_op *op);

/* rcp_xfer_replan -- after a reconnect: op's remote addresses follow its grant's new ones and
 * the whole transfer is planned again (its WRs all retired). 0 or -errno */
int rcp_xfer_replan(struct rdmacpy_op *op);

/* ---- mem.c ---- */

/* rcp_mem_lkey -- the lkey on device d for [addr, addr + len): an application registration,
 * else d's registration cache (*held is then the entry to rcp_rcache_put once the device is
 * done; otherwise NULL). dest: the device writes into the buffer. 0 or -errno */
int rcp_mem_lkey(struct rdmacpy_conn *c, unsigned int d, uint64_t addr, uint64_t len, bool dest,
		 uint32_t *lkey, struct rcp_rcache_ent **held);

/* rcp_mem_adopt -- use mr (registered by the caller on the connection's PD) for transfers from
 * or into its memory; the caller keeps it and deregisters it after the connection is closed */
int rcp_mem_adopt(struct rdmacpy_conn *c, struct ibv_mr *mr, struct rdmacpy_mem **m);

/* ---- resume.c ---- */

/* rcp_resume_begin -- the connection broke with err: when a reconnect bound is set and the break
 * is one reconnecting may cure, start resuming and return true (nothing fails); false: fail
 * as usual */
bool rcp_resume_begin(struct rdmacpy_conn *c, int err, const char *why);

/* rcp_resume_due -- a resume's next step waits for no event: the engine must not sleep */
bool rcp_resume_due(const struct rdmacpy_conn *c);

/* rcp_resume_service -- the steps of a resume that wait for nothing: the old queue pairs go,
 * connecting starts again */
void rcp_resume_service(struct rdmacpy_conn *c);

/* rcp_resume_connected -- connecting again ended (0: every QP authenticated, or -errno) */
void rcp_resume_connected(struct rdmacpy_conn *c, int err);

/* rcp_resume_wait_more -- a synchronous wait ran out while a resume ran or after one ended
 * (*seen: the reconnects it knew of): true to wait another round */
bool rcp_resume_wait_more(const struct rdmacpy_conn *c, uint64_t *seen);

/* ---- rails.c ---- */

/* rcp_rails_init -- one rail, to the address the connection opens with; qp_cap for the rest */
void rcp_rails_init(struct rdmacpy_conn *c);

/* rcp_rail_usable -- rail r takes work: connected, authenticated, grants open */
bool rcp_rail_usable(const struct rdmacpy_conn *c, unsigned int r);

/* rcp_rails_up -- rails taking work */
unsigned int rcp_rails_up(const struct rdmacpy_conn *c);

/* rcp_rail_resolved -- q's address resolved: its rail learns its local device, port, rate */
void rcp_rail_resolved(struct rcp_cli_qp *q);

/* rcp_rails_known -- every rail is added (INFO asked and answered when more are wanted);
 * false while the daemon's answer is awaited */
bool rcp_rails_known(struct rdmacpy_conn *c);

/* rcp_rail_settled -- rail r is ready, skipped or down: connecting does not wait for it */
bool rcp_rail_settled(const struct rdmacpy_conn *c, unsigned int r);

/* rcp_rail_attempt_failed -- an attempt of q failed (err, why): a rail other than the first is
 * skipped while connecting, a rejoining one tried again later (true); false: as one rail */
bool rcp_rail_attempt_failed(struct rcp_cli_qp *q, int err, const char *why);

/* rcp_rail_fail -- q's rail failed: taken out while another is up (true); false: the connection
 * breaks or resumes as with one rail */
bool rcp_rail_fail(struct rcp_cli_qp *q, int err, const char *why);

/* rcp_rail_lost_wr -- a transfer WR of q came back failed; on a failed rail its bytes run again
 * on another (true) */
bool rcp_rail_lost_wr(struct rcp_cli_qp *q, struct rdmacpy_op *op, uint64_t off, uint32_t len);

/* rcp_rail_qp_ready -- a QP of a rejoining rail authenticated */
void rcp_rail_qp_ready(struct rcp_cli_qp *q);

/* rcp_rails_service -- rejoin attempts due, rails that did not connect in time */
void rcp_rails_service(struct rdmacpy_conn *c, uint64_t now);

/* rcp_rails_watch -- after the completion queues were looked at: a rail with work out and no
 * completion for the stall bound has failed (a cut wire may never say so itself) */
void rcp_rails_watch(struct rdmacpy_conn *c, uint64_t now);

/* rcp_rails_deadline -- the next time a rail needs a look; UINT64_MAX none */
uint64_t rcp_rails_deadline(const struct rdmacpy_conn *c);

/* rcp_rails_resumed -- a resume connected rail 0 again; the other rails rejoin by themselves */
void rcp_rails_resumed(struct rdmacpy_conn *c);

/* rcp_stripe_split -- units in proportion to w[0..n) into out (the sum is units; a weight of 0
 * or less gets none) */
void rcp_stripe_split(uint64_t units, const double *w, unsigned int n, uint64_t *out);

/* rcp_rails_weights -- each rail's striping weight now (0: not up) into w[0..nrails) */
void rcp_rails_weights(const struct rdmacpy_conn *c, double *w);

/* rcp_rail_pick -- the rail the next small transfer goes to (in turn) */
unsigned int rcp_rail_pick(struct rdmacpy_conn *c);

/* rcp_rails_stripe_min -- transfers smaller than this go whole to one rail */
uint64_t rcp_rails_stripe_min(void);

/* rcp_rail_posted -- a transfer WR went out on q at now (the rail's busy time) */
void rcp_rail_posted(struct rcp_cli_qp *q, uint64_t now);

/* rcp_rail_retired -- a transfer WR of len bytes on q finished well (the rail's measure) */
void rcp_rail_retired(struct rcp_cli_qp *q, uint32_t len);

/* rcp_rails_counters -- rails and rails_up into the counters */
void rcp_rails_counters(const struct rdmacpy_conn *c, struct rdmacpy_counters *all);

/* ---- express.c ---- */

/* Express: rcp_express returns this when the ordinary engine must take the transfer. */
#define RCP_EXPRESS_DECLINED 1

/* rcp_express -- one small synchronous transfer in POLL mode with nothing else in flight: one
 * WR posted and its completion spun for directly, without an operation. 0, -errno, or
 * RCP_EXPRESS_DECLINED */
int rcp_express(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		uint64_t remote_off, void *buf, size_t len);

#endif /* RDMACPY_CLIENT_CONN_H */
