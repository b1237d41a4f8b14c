/* SPDX-License-Identifier: BSD-3-Clause */
/* worker.c -- the worker pool: a queue, n threads, and an eventfd back into the loop */
#include "server/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 256

struct rcp_workers {
	const struct rcp_log *log;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a job was queued, or the pool stops */
	struct rcp_job_list queue;
	struct rcp_job_list running;
	struct rcp_job_list done;
	bool stopping;
	struct rcp_workers_stats st;
	/* the loop's */
	int efd; /* readable while the done list is not empty */
	struct event *ev;
	unsigned int nthreads;
	pthread_t *threads;
};

/* now_ms -- monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* kick -- make the loop's event fire; a full counter is still readable, so errors do not
 * matter */
static void kick(struct rcp_workers *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->efd, &one, sizeof(one));

	(void)n;
}

/* finish_locked -- a job leaves the queue or a worker: onto the done list for the loop */
static void finish_locked(struct rcp_workers *w, struct rcp_job *job, struct rcp_job_list *from)
{
	TAILQ_REMOVE(from, job, link);
	job->state = RCP_JOB_DONE;
	TAILQ_INSERT_TAIL(&w->done, job, link);
	kick(w);
}

/* worker_main -- take the oldest job, run it, hand it back; until the pool stops */
static void *worker_main(void *arg)
{
	struct rcp_workers *w = arg;
	struct rcp_job *job;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stopping && TAILQ_EMPTY(&w->queue))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		job = TAILQ_FIRST(&w->queue);
		TAILQ_REMOVE(&w->queue, job, link);
		TAILQ_INSERT_TAIL(&w->running, job, link);
		job->state = RCP_JOB_RUNNING;
		w->st.queued--;
		w->st.running++;
		pthread_mutex_unlock(&w->lock);

		job->work(job);

		pthread_mutex_lock(&w->lock);
		job->ran = true;
		w->st.running--;
		finish_locked(w, job, &w->running);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* run_done -- in the loop: every finished job's completion, outside the lock */
static void run_done(struct rcp_workers *w)
{
	struct rcp_job_list done;
	struct rcp_job *job;

	pthread_mutex_lock(&w->lock);
	TAILQ_INIT(&done);
	TAILQ_CONCAT(&done, &w->done, link);
	pthread_mutex_unlock(&w->lock);
	while ((job = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, job, link);
		/* the completion frees the job */
		job->done(job);
	}
}

/* on_event -- workers finished something */
static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_workers *w = arg;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		rcp_dbg(w->log, "worker eventfd: %s", strerror(errno));
	run_done(w);
}

/* rcp_workers_new -- threads with every signal blocked, so signals stay with the loop */
int rcp_workers_new(struct event_base *base, unsigned int n, const struct rcp_log *log,
		    struct rcp_workers **wp)
{
	struct rcp_workers *w;
	sigset_t all;
	sigset_t old;
	int ret;

	if (n == 0 || n > WORKERS_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->log = log;
	TAILQ_INIT(&w->queue);
	TAILQ_INIT(&w->running);
	TAILQ_INIT(&w->done);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		ret = -errno;
		goto err_free;
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, on_event, w);
	if (!w->ev || event_add(w->ev, NULL)) {
		ret = -ENOMEM;
		goto err_close;
	}
	w->threads = calloc(n, sizeof(*w->threads));
	if (!w->threads) {
		ret = -ENOMEM;
		goto err_close;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; w->nthreads < n; w->nthreads++) {
		ret = -pthread_create(&w->threads[w->nthreads], NULL, worker_main, w);
		if (ret)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		rcp_workers_delete(&w);
		return ret;
	}
	*wp = w;
	return 0;

err_close:
	if (w->ev)
		event_free(w->ev);
	close(w->efd);
err_free:
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return ret;
}

/* rcp_workers_delete -- stop, join, complete what is left (cancelled), free */
void rcp_workers_delete(struct rcp_workers **wp)
{
	struct rcp_workers *w;
	struct rcp_job *job;
	unsigned int i;

	if (!wp || !*wp)
		return;
	w = *wp;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	TAILQ_FOREACH(job, &w->running, link)
	atomic_store(&job->cancel, true);
	while ((job = TAILQ_FIRST(&w->queue))) {
		atomic_store(&job->cancel, true);
		w->st.queued--;
		w->st.cancelled++;
		finish_locked(w, job, &w->queue);
	}
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	run_done(w);
	free(w->threads);
	if (w->ev)
		event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	*wp = NULL;
}

/* rcp_job_init -- a job not yet queued */
void rcp_job_init(struct rcp_job *job, const char *what, void *owner, rcp_job_fn work,
		  rcp_job_fn done)
{
	job->what = what;
	job->owner = owner;
	job->work = work;
	job->done = done;
	job->state = RCP_JOB_QUEUED;
	atomic_init(&job->cancel, false);
	job->ran = false;
	job->queued_ms = now_ms();
}

/* rcp_workers_submit -- onto the queue, and wake one worker */
int rcp_workers_submit(struct rcp_workers *w, struct rcp_job *job)
{
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	job->state = RCP_JOB_QUEUED;
	TAILQ_INSERT_TAIL(&w->queue, job, link);
	w->st.queued++;
	w->st.total++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* rcp_workers_cancel_owner -- flag an owner's jobs; queued ones end at once */
unsigned int rcp_workers_cancel_owner(struct rcp_workers *w, const void *owner)
{
	struct rcp_job *job;
	struct rcp_job *next;
	unsigned int n = 0;

	pthread_mutex_lock(&w->lock);
	TAILQ_FOREACH(job, &w->running, link)
	{
		if (job->owner != owner)
			continue;
		/* forgotten, so a later owner at the same address is not taken for this one */
		job->owner = NULL;
		atomic_store(&job->cancel, true);
		w->st.cancelled++;
		n++;
	}
	for (job = TAILQ_FIRST(&w->queue); job; job = next) {
		next = TAILQ_NEXT(job, link);
		if (job->owner != owner)
			continue;
		job->owner = NULL;
		atomic_store(&job->cancel, true);
		w->st.queued--;
		w->st.cancelled++;
		finish_locked(w, job, &w->queue);
		n++;
	}
	/* jobs already done were not cancelled: their completions just find no one to answer */
	pthread_mutex_unlock(&w->lock);
	return n;
}

/* rcp_workers_stats -- a consistent copy under the lock */
void rcp_workers_stats(struct rcp_workers *w, struct rcp_workers_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->st;
	pthread_mutex_unlock(&w->lock);
}
