/* SPDX-License-Identifier: BSD-3-Clause */
/* worker.h -- the worker pool: requests whose cost grows with their size run off the loop */
#ifndef RDMACPY_SERVER_WORKER_H
#define RDMACPY_SERVER_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "common/log.h"

/*
 * The event loop validates a request, wraps it in a job and hands it here; a worker thread
 * runs the job's work, and the loop runs the job's completion (which sends the reply) once it
 * is done. A job is owned by the loop except while a worker runs it: the worker touches only
 * what the job itself holds (its range, its buffers, its result), never a session or the
 * server, so no lock guards those. The one thing the loop and a worker share inside a job is
 * its cancel flag, which the work reads between chunks.
 *
 * The life of a job:
 */
enum rcp_job_state {
	/* queued: no worker has it yet; cancelling removes it from the queue at once */
	RCP_JOB_QUEUED,
	/* a worker runs it; cancelling only sets the flag, the work stops at its next look */
	RCP_JOB_RUNNING,
	/* the work returned; the loop has not run the completion yet */
	RCP_JOB_DONE,
};

struct rcp_job;
struct rcp_workers;

/* rcp_job_fn -- a job's work (on a worker) or its completion (in the loop) */
typedef void (*rcp_job_fn)(struct rcp_job *job);

struct rcp_job {
	TAILQ_ENTRY(rcp_job) link; /* the pool's queue or done list; the pool's lock guards it */
	enum rcp_job_state state;  /* the pool's lock guards it */
	const char *what;	   /* "CHECKSUM", for logs and STAT */
	rcp_job_fn work;	   /* runs on a worker */
	rcp_job_fn done;	   /* runs in the loop; frees the job (also when cancelled) */
	atomic_bool cancel;	   /* the loop asked the work to stop early */
	bool ran;		   /* the work ran (false: cancelled while queued) */
	void *owner;		   /* whoever queued it, for cancelling all of one owner's */
	uint64_t queued_ms;
};
TAILQ_HEAD(rcp_job_list, rcp_job);

/* Counters the pool keeps; read in the loop. */
struct rcp_workers_stats {
	uint32_t queued;
	uint32_t running;
	uint64_t total;
	uint64_t cancelled;
};

/* rcp_workers_new -- n threads (1..256) whose completions the loop of base runs. Signals stay
 * with the loop's thread. Returns 0 or -errno. */
int rcp_workers_new(struct event_base *base, unsigned int n, const struct rcp_log *log,
		    struct rcp_workers **wp);

/* rcp_workers_delete -- cancel everything, join the threads, run the completions of what was
 * queued or running (cancelled), free; NULL fine; clears *wp */
void rcp_workers_delete(struct rcp_workers **wp);

/* rcp_job_init -- set up a job before rcp_workers_submit */
void rcp_job_init(struct rcp_job *job, const char *what, void *owner, rcp_job_fn work,
		  rcp_job_fn done);

/* rcp_workers_submit -- queue a job; the loop runs job->done once it ends. 0, or -ESHUTDOWN
 * while the pool is stopping (the job is then not queued). */
int rcp_workers_submit(struct rcp_workers *w, struct rcp_job *job);

/* rcp_workers_cancel_owner -- set the cancel flag of every job of owner; queued ones are taken
 * off the queue and complete (cancelled) on the loop's next turn. Returns how many there were. */
unsigned int rcp_workers_cancel_owner(struct rcp_workers *w, const void *owner);

/* rcp_job_cancelled -- for the work: whether to stop now */
static inline bool rcp_job_cancelled(struct rcp_job *job)
{
	return atomic_load_explicit(&job->cancel, memory_order_relaxed);
}

/* rcp_workers_stats -- queue depth and counts as of now */
void rcp_workers_stats(struct rcp_workers *w, struct rcp_workers_stats *out);

#endif /* RDMACPY_SERVER_WORKER_H */
