/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.h -- third-party COPY: the daemon writes a region range into a region of another daemon
 * as an asynchronous librdmacpy client driven by its own event loop */
#ifndef RDMACPY_SERVER_COPY_H
#define RDMACPY_SERVER_COPY_H

#include "server/session.h"

#define RCP_COPY_MAX 4 /* copies running at once in one daemon */

/* rcp_copy_setup -- the key COPY authenticates with: --cluster-key-file, else the daemon's own
 * key, else none (--no-auth). Errors are logged. Returns 0 or -errno. */
int rcp_copy_setup(struct rcp_server *srv);

/* rcp_copy_start -- validate a COPY request and start it; a refusal answers ERROR, a started
 * copy answers COPY_PROGRESS and finally COPY_REPLY */
void rcp_copy_start(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_copy_session_gone -- the requester is going away: cancel its copies, which then end
 * without an answer */
void rcp_copy_session_gone(struct rcp_session *s);

/* rcp_copy_cancel_all -- shutdown: every copy stops (they answer COPY_REPLY(SHUTDOWN)) */
void rcp_copy_cancel_all(struct rcp_server *srv);

/* rcp_copy_stop_all -- end and free every copy; before the regions are freed */
void rcp_copy_stop_all(struct rcp_server *srv);

#endif /* RDMACPY_SERVER_COPY_H */
