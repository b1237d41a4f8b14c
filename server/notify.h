/* SPDX-License-Identifier: BSD-3-Clause */
/* notify.h -- telling the service manager how the daemon is (systemd's sd_notify protocol) */
#ifndef RDMACPY_SERVER_NOTIFY_H
#define RDMACPY_SERVER_NOTIFY_H

#include "server/server.h"

/* rcp_notify_ready -- serving: READY=1 with a STATUS line (nothing without NOTIFY_SOCKET) */
void rcp_notify_ready(struct rcp_server *srv);

/* rcp_notify_reloading -- a reload starts: RELOADING=1 */
void rcp_notify_reloading(struct rcp_server *srv);

/* rcp_notify_reloaded -- the reload is over (applied or refused): READY=1 and its STATUS */
void rcp_notify_reloaded(struct rcp_server *srv, const char *status);

/* rcp_notify_stopping -- shutting down: STOPPING=1 and why */
void rcp_notify_stopping(struct rcp_server *srv, const char *why);

/* rcp_notify_status -- a new STATUS= line */
void rcp_notify_status(struct rcp_server *srv, const char *status);

#endif /* RDMACPY_SERVER_NOTIFY_H */
