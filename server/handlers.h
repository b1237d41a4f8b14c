/* SPDX-License-Identifier: BSD-3-Clause */
/* handlers.h -- the control requests of an authenticated session */
#ifndef RDMACPY_SERVER_HANDLERS_H
#define RDMACPY_SERVER_HANDLERS_H

#include "server/session.h"

/* rcp_handle_request -- serve one decoded request from a READY session; every path answers
 * (now, or on a completion for OPEN/CLOSE) */
void rcp_handle_request(struct rcp_session *s, const struct rcp_msg *m);

#endif /* RDMACPY_SERVER_HANDLERS_H */
