/* SPDX-License-Identifier: BSD-3-Clause */
/* keepalive.h -- finding clients that are gone without a word */
#ifndef RDMACPY_SERVER_KEEPALIVE_H
#define RDMACPY_SERVER_KEEPALIVE_H

#include "server/server.h"

/*
 * A client whose node died, or whose link went down while it disconnected, never sends the
 * disconnect: its session, grants and pinned memory would stay for good, since the daemon's
 * side of a reliable connection with nothing to send never notices. So a session the daemon
 * has heard nothing from for --keepalive gets a probe: a zero-length RDMA WRITE, which a live
 * peer's QP acknowledges without touching memory (IBA C9-88: a zero-length operation checks no
 * key) and a missing one never does, so it fails with retry-exceeded and the session ends.
 */

/* rcp_keepalive_start -- the periodic check, when cfg.keepalive_ms is not 0; 0 or -ENOMEM */
int rcp_keepalive_start(struct rcp_server *srv);

/* rcp_keepalive_stop -- the timer goes */
void rcp_keepalive_stop(struct rcp_server *srv);

#endif /* RDMACPY_SERVER_KEEPALIVE_H */
