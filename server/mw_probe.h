/* SPDX-License-Identifier: BSD-3-Clause */
/* mw_probe.h -- a startup self-test: does the device check a memory window's own bounds? */
#ifndef RDMACPY_SERVER_MW_PROBE_H
#define RDMACPY_SERVER_MW_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>

#include "server/server.h"

/*
 * A grant is a type-2 window bound onto registered memory. Binding it straight onto the
 * region's MR costs nothing whatever the grant's size, but is safe only if the device refuses
 * an access outside the window even where the MR under it would allow it. Some devices check
 * only the MR's bounds (rxe in Linux 6.1 was measured doing so); there each grant's window
 * needs an MR of exactly its range, and registering that pins the range once more.
 *
 * So the daemon asks the device itself, at startup, on a loopback connection to its own
 * address: a window over the middle page of a three-page MR, then an RDMA READ inside it and
 * one from the page before it. The answer decides the grant mode; nothing is assumed from
 * kernel or driver versions.
 */
enum rcp_mw_bounds {
	RCP_MW_BOUNDS_ENFORCED,	    /* the outside read failed: bind grants on the region MR */
	RCP_MW_BOUNDS_NOT_ENFORCED, /* the outside read worked: an MR per grant */
	RCP_MW_BOUNDS_UNKNOWN,	    /* the test could not run or made no sense: an MR per grant */
};

/* What the probe's two reads came back with. */
struct rcp_mw_probe_result {
	int bind_status;	       /* the bind's completion: 0 or -errno */
	int inside_status;	       /* the read inside the window: 0 or -errno */
	int outside_status;	       /* the read just before the window: 0 or -errno */
	enum ibv_wc_status outside_wc; /* its completion status */
};

/* rcp_mw_probe_decide -- the verdict from the reads: enforced only when the inside read
 * worked and the outside one was refused as a remote access error */
enum rcp_mw_bounds rcp_mw_probe_decide(const struct rcp_mw_probe_result *r);

/*
 * rcp_mw_probe_pair -- the test on a connected pair: bind a window on the passive QP over the
 * middle page of an MR on pd, then read from the active QP inside and outside it, polling the
 * two CQs for at most timeout_ms in all. The active QP is in the error state afterwards when
 * the outside read was refused. Fills *out; 0, or -errno when the test itself could not be set
 * up (registration, posting, no completion in time).
 */
int rcp_mw_probe_pair(struct ibv_pd *pd, struct ibv_qp *passive, struct ibv_cq *passive_cq,
		      struct ibv_qp *active, struct ibv_cq *active_cq, int timeout_ms,
		      struct rcp_mw_probe_result *out);

/*
 * rcp_mw_probe -- the whole test on the device of the listen address src: a loopback rdma_cm
 * connection to that address on a spare port, its own PD, rcp_mw_probe_pair, teardown. Never fails
 * the daemon: what went wrong is in why (why_len bytes) and the answer is then UNKNOWN.
 */
enum rcp_mw_bounds rcp_mw_probe(const struct sockaddr_storage *src, char *why, size_t why_len);

/* rcp_mw_bounds_str -- for logs */
const char *rcp_mw_bounds_str(enum rcp_mw_bounds b);

#endif /* RDMACPY_SERVER_MW_PROBE_H */
