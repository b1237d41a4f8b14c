/* SPDX-License-Identifier: BSD-3-Clause */
/* grant.h -- grants: a type-2 memory window per OPEN, bound on the client's own QP */
#ifndef RDMACPY_SERVER_GRANT_H
#define RDMACPY_SERVER_GRANT_H

#include <stdint.h>
#include <sys/queue.h>

#include "server/session.h"

enum rcp_grant_state {
	/* a worker registers the grant's own MR (devices that do not check window bounds) */
	RCP_GRANT_REGISTERING,
	/* bind posted: the rkey is not handed out before its completion says it worked */
	RCP_GRANT_BINDING,
	/* bound (or the MR fallback): the client holds the rkey */
	RCP_GRANT_ACTIVE,
	/* CLOSE: local invalidate posted; the reply waits for its completion */
	RCP_GRANT_INVALIDATING,
};

struct rcp_grant {
	TAILQ_ENTRY(rcp_grant) link;
	uint32_t id;
	enum rcp_grant_state state;
	struct rcp_region *region;
	uint64_t offset;
	uint64_t length;
	enum rcp_rights rights;
	struct ibv_mr *mr; /* exactly the granted range, or NULL: the window is on the region's */
	struct ibv_mw *mw; /* NULL: MR fallback, the rkey is the region's */
	bool bound;
	uint32_t rkey;
	uint32_t req_id; /* the OPEN or CLOSE waiting on a completion */
};

/* rcp_grant_open -- OPEN: check, then bind a window (reply on completion) or fall back */
void rcp_grant_open(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_grant_close -- CLOSE: invalidate, then reply on completion */
void rcp_grant_close(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_grant_bind_done -- a bind completed with status (0 or -errno): reply to the OPEN */
void rcp_grant_bind_done(struct rcp_session *s, uint32_t grant_id, int status);

/* rcp_grant_inv_done -- an invalidate completed: free the window, reply to the CLOSE */
void rcp_grant_inv_done(struct rcp_session *s, uint32_t grant_id, int status);

/* rcp_grant_find -- a session's grant by id, or NULL */
struct rcp_grant *rcp_grant_find(struct rcp_session *s, uint32_t grant_id);

/* rcp_grant_release_all -- deallocate every window of a session (which invalidates them) */
void rcp_grant_release_all(struct rcp_session *s);

#endif /* RDMACPY_SERVER_GRANT_H */
