/* SPDX-License-Identifier: BSD-3-Clause */
/* jobs.h -- long requests (CHECKSUM, FLUSH, CREATE, DESTROY): checked in the loop, worked on
 * the worker pool, answered in the loop */
#ifndef RDMACPY_SERVER_JOBS_H
#define RDMACPY_SERVER_JOBS_H

#include <stdint.h>
#include <sys/queue.h>

#include "server/session.h"
#include "server/worker.h"

/* One long request. The job comes first: the pool hands it back as a struct rcp_job. */
struct rcp_req {
	struct rcp_job job;
	LIST_ENTRY(rcp_req) link; /* the session's list (or the server's creates) */
	struct rcp_server *srv;
	struct rcp_session *s; /* the requester; NULL once it is gone (no answer then) */
	uint32_t req_id;
	enum rcp_msg_type type;
	struct rcp_region *region; /* held (njobs) while the work may use it; set before submit */
	uint64_t offset;
	uint64_t length;
	int result; /* the work's: 0 or -errno */
	uint64_t done_bytes;
	bool counted; /* counts against the session's --max-jobs-per-client */
	union {
		struct {
			uint32_t grant_id;
			int access;
			struct ibv_pd *pd; /* the session's device's */
			struct ibv_mr *mr;
		} reg; /* OPEN with an MR per grant */
		uint8_t digest[RCP_CHECKSUM_LEN];
		struct rcp_region_spec *spec; /* CREATE */
		struct rcp_region *doomed;    /* DESTROY: out of the list, freed by the work */
	} u;
};

/* rcp_req_new -- a long request of s answering m; NULL (refused with NOMEM) when out of
 * memory */
struct rcp_req *rcp_req_new(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_req_start -- hand q to a worker: work there, then done in the loop, which must begin
 * with rcp_req_finish. counted: it counts against --max-jobs-per-client. Set q->region before
 * (it is held from here). q->s may be NULL: work nobody waits for (nothing is counted then).
 * On failure (shutting down) q is refused and freed: false. */
bool rcp_req_start(struct rcp_req *q, rcp_job_fn work, rcp_job_fn done, bool counted);

/* rcp_req_finish -- in the loop, first thing of a completion: the request leaves its session
 * and gives its region back. Returns the session to answer, NULL when it is gone. */
struct rcp_session *rcp_req_finish(struct rcp_req *q);

/* rcp_req_checksum -- CHECKSUM: BLAKE2b-256 of a region range, on a worker */
void rcp_req_checksum(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_req_flush -- FLUSH: the range made durable on a worker before the answer */
void rcp_req_flush(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_req_create -- CREATE: a dynamic anonymous region mapped and registered on a worker */
void rcp_req_create(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_req_destroy -- DESTROY: taken out of the list at once, unregistered on a worker */
void rcp_req_destroy(struct rcp_session *s, const struct rcp_msg *m);

/* rcp_req_admit -- whether the session may start one more long request: over
 * --max-jobs-per-client it is refused with ERROR(BUSY) and false is returned */
bool rcp_req_admit(struct rcp_session *s, uint32_t req_id, const char *what);

/* rcp_req_name_reserved -- a CREATE of this name is running */
bool rcp_req_name_reserved(const struct rcp_server *srv, const char *name);

/* rcp_reqs_session_gone -- the session is being freed: its requests lose their requester and
 * are cancelled (queued ones end at once, running ones at their next look) */
void rcp_reqs_session_gone(struct rcp_session *s);

#endif /* RDMACPY_SERVER_JOBS_H */
