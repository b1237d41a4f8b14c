/* SPDX-License-Identifier: BSD-3-Clause */
/* listener.h -- the rdma_cm listening id and event channel, driven by the event loop */
#ifndef RDMACPY_SERVER_LISTENER_H
#define RDMACPY_SERVER_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

#include "server/server.h"

/* rcp_listener_start -- event channel (non-blocking, in the loop), a listening id bound to
 * each cfg.listen address on cfg.port (all on the first one's port when it is 0); fills
 * srv->listens and srv->devs with the device behind each address (ctx, port, first address;
 * rcp_devices_open does the rest). 0 or -errno, logged. */
int rcp_listener_start(struct rcp_server *srv);

/* rcp_listener_stop -- destroy the listening id, the loop event and the channel; every
 * session id must be gone first. Safe to call twice. */
void rcp_listener_stop(struct rcp_server *srv);

/* rcp_sockaddr_str -- "198.18.0.1:18515" or "[fe80::1]:18515" */
void rcp_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

/* rcp_listener_port -- the port actually bound (after --port 0) */
uint16_t rcp_listener_port(const struct rcp_server *srv);

/* rcp_dev_of -- the served device of a verbs context (a connect request's), or NULL */
struct rcp_dev *rcp_dev_of(struct rcp_server *srv, const struct ibv_context *ctx);

#endif /* RDMACPY_SERVER_LISTENER_H */
