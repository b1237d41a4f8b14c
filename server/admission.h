/* SPDX-License-Identifier: BSD-3-Clause */
/* admission.h -- who may connect: the authenticated limit, the pool of connections still
 * authenticating, per-source caps, and the authentication deadline */
#ifndef RDMACPY_SERVER_ADMISSION_H
#define RDMACPY_SERVER_ADMISSION_H

#include <stddef.h>

#include "server/session.h"

/*
 * A connection costs the daemon a QP, a CQ and registered buffers from the moment it is
 * accepted, before it has proven anything. Unauthenticated connections therefore live in a
 * pool of their own (--max-pending), of which one source address may hold only a share
 * (--max-pending-per-source), and each must authenticate within --auth-timeout. They never take
 * a slot of --max-clients, which counts authenticated connections only. When the pool (or a
 * source's share) is full, the oldest pending connection there goes, if it has had a fair
 * chance (a quarter of the deadline); otherwise the newcomer is refused with BUSY, which a
 * client retries. So a flood of connections that never authenticate costs a legitimate client
 * at most that quarter of a deadline, and nothing at all when it comes from another address.
 */

/*
 * rcp_admit -- decide on a connect request from src (an address without port) speaking
 * version: 0 to accept (possibly after evicting an older pending connection), or a reject
 * reason with why (why_len bytes) saying which limit it hit.
 */
int rcp_admit(struct rcp_server *srv, const char *src, char *why, size_t why_len);

/* rcp_admission_start -- arm the session's authentication deadline; 0 or -errno */
int rcp_admission_start(struct rcp_session *s);

/* rcp_admission_authenticated -- the session proved the key: out of the pending pool. 0, or
 * -EUSERS when --max-clients authenticated sessions exist already (the caller refuses it) */
int rcp_admission_authenticated(struct rcp_session *s);

/* rcp_admission_stop -- the session goes: stop its deadline, leave the pending pool */
void rcp_admission_stop(struct rcp_session *s);

#endif /* RDMACPY_SERVER_ADMISSION_H */
