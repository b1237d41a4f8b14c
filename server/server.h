/* SPDX-License-Identifier: BSD-3-Clause */
/* server.h -- struct rcp_server: the daemon's one piece of state, shared by its modules */
#ifndef RDMACPY_SERVER_SERVER_H
#define RDMACPY_SERVER_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "common/auth.h"
#include "common/log.h"
#include "common/verbs.h"
#include "proto/proto.h"
#include "server/config.h"
#include "server/reqstats.h"

struct rcp_copy;
struct rcp_metrics;
struct rcp_directory;
struct rcp_region;
struct rcp_req;
struct rcp_session;
struct rcp_workers;

LIST_HEAD(rcp_session_list, rcp_session);
LIST_HEAD(rcp_copy_list, rcp_copy);
LIST_HEAD(rcp_req_list, rcp_req);
LIST_HEAD(rcp_region_list, rcp_region);

#define RCP_MAX_DEVS	  4 /* RDMA devices served (each --listen address picks one) */
#define RCP_GRANT_WORKERS 2 /* threads registering grants' own ranges (where the device needs it) */

/* One address served: an rdma_cm listen id, on a device. */
struct rcp_listen {
	struct rdma_cm_id *id;
	unsigned int dev;
	char str[RCP_HOSTNAME_MAX + 8]; /* "198.18.0.1:18515", for logs */
	char addr[64];			/* the numeric address, for clients (INFO) */
	uint16_t port;			/* the port bound */
	uint8_t port_num;		/* the device's port it is on (rdma_cm's, 1 when unset) */
};

/* One RDMA device the daemon serves on: its own PD, under which every region is registered
 * again, and its own verdict on memory windows (each device runs the self-test). */
struct rcp_dev {
	struct ibv_context *ctx; /* the listen id's; not ours to close */
	unsigned int index;	 /* in srv->devs: the slot of its MR in every region */
	uint8_t port;		 /* the port the first of its addresses is on */
	const struct rcp_listen *first; /* its first address: the self-test's loopback */
	struct ibv_pd *pd;
	struct rcp_vb_caps caps;
	bool use_mw;	   /* false: grants fall back to the region MR's rkey */
	bool mr_per_grant; /* true: each grant's window sits on an MR of exactly its range */
};

/* Counters the daemon keeps itself; STAT adds the ones it computes (stats.c). */
struct rcp_counters {
	uint64_t clients_total;
	uint64_t grants_total;
	uint64_t refusals;
	uint64_t requests;
	uint64_t auth_failures;
	uint64_t grants_active;
	uint64_t mw_active;
	uint64_t copies_total;
	uint64_t bytes_copied;
	uint64_t auth_timeouts;
	uint64_t pending_evicted;
	uint64_t jobs_refused;
	uint64_t flushes;
	uint64_t bytes_flushed;
};

struct rcp_server {
	struct rcp_config cfg;
	struct rcp_log log;
	struct event_base *base;
	struct event *sig_term;
	struct event *sig_int;
	struct event *sig_hup;
	struct event *cm_event;
	struct event *drain_timer; /* shutdown: gives clients a moment to go away */
	struct event *keepalive;   /* keepalive.c's periodic look at quiet sessions */

	struct rdma_event_channel *cm_ch; /* every listen id's */
	struct rcp_listen listens[RCP_MAX_LISTEN];
	unsigned int nlistens;
	struct rcp_dev devs[RCP_MAX_DEVS]; /* devs[0] is the first address's: COPY uses it */
	unsigned int ndevs;
	struct rcp_workers *workers;	   /* long requests run here, off the loop */
	struct rcp_workers *grant_workers; /* grants' own (de)registrations (jobs.c) */

	struct rcp_auth_key key;
	struct rcp_auth_key cluster_key; /* what COPY authenticates with at other daemons */
	bool have_cluster_key;		 /* false: --no-auth and no --cluster-key-file */

	struct rcp_region **regions; /* in LIST order */
	size_t nregions;
	uint64_t bytes_dynamic;		 /* of CREATEd regions, those being created included */
	struct rcp_req_list creates;	 /* CREATEs running: their names are taken */
	struct rcp_region_list retiring; /* removed by a reload, still in use (reload.c) */
	uint32_t nadding;		 /* regions a reload is mapping on the workers */
	int argc;			 /* the command line, read again by a reload */
	char **argv;

	struct rcp_session_list sessions;
	uint32_t nsessions; /* all of them, pending ones included */
	uint32_t npending;  /* not authenticated yet */
	uint64_t next_serial;

	struct rcp_copy_list copies; /* running third-party copies (copy.c) */
	uint32_t ncopies;
	struct event_base *copy_base; /* the copies' own loop, on copy_thread (copy.c) */
	pthread_t copy_thread;
	bool copy_thread_running;

	bool shutting_down;
	int exit_code;
	uint64_t start_ms;
	char listen_str[RCP_HOSTNAME_MAX + 8];
	struct rcp_counters cnt;
	struct rcp_reqstats reqstats; /* for /metrics */
	struct rcp_metrics *metrics;  /* the HTTP endpoint, if --metrics */
	struct rcp_directory *directory; /* the etcd publisher, if --directory */
	char started_iso[32];		 /* the start time, for the directory */
	char metrics_addr[RCP_HOSTNAME_MAX];
	uint16_t metrics_port;
};

/* rcp_now_ms -- monotonic milliseconds */
uint64_t rcp_now_ms(void);

/* rcp_server_shutdown -- stop accepting, revoke every grant, disconnect every client; the loop
 * ends when the last session is gone or after a short grace period */
void rcp_server_shutdown(struct rcp_server *srv, const char *why);

/* rcp_server_session_gone -- a session was freed: end the loop if shutting down and none left */
void rcp_server_session_gone(struct rcp_server *srv);

#endif /* RDMACPY_SERVER_SERVER_H */
