/* SPDX-License-Identifier: BSD-3-Clause */
/* test_worker.c -- the worker pool: work off the loop, completions in it, cancellation */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "server/worker.h"

static struct event_base *base;
static struct rcp_workers *w;
static struct rcp_log quiet;

/* A job that blocks until released, so tests control what runs when. */
struct tjob {
	struct rcp_job job;
	atomic_bool started;
	atomic_bool release;
	pthread_t worker; /* the thread the work ran on */
	pthread_t loop;	  /* the thread the completion ran on */
	bool cancelled_seen;
	bool done;
	int *order;
	int *next;
	int id;
};

/* tjob_work -- wait for release (or cancel), noting where it ran */
static void tjob_work(struct rcp_job *job)
{
	struct tjob *t = (struct tjob *)job;

	t->worker = pthread_self();
	atomic_store(&t->started, true);
	while (!atomic_load(&t->release)) {
		if (rcp_job_cancelled(job)) {
			t->cancelled_seen = true;
			return;
		}
		usleep(1000);
	}
}

/* tjob_done -- in the loop: record order and thread */
static void tjob_done(struct rcp_job *job)
{
	struct tjob *t = (struct tjob *)job;

	t->loop = pthread_self();
	t->done = true;
	if (t->order)
		t->order[(*t->next)++] = t->id;
}

/* setup -- a loop and a pool of two threads */
static void setup(void)
{
	base = event_base_new();
	cr_assert_not_null(base);
	cr_assert_eq(rcp_workers_new(base, 2, &quiet, &w), 0);
}

/* teardown -- the pool, then the loop */
static void teardown(void)
{
	rcp_workers_delete(&w);
	cr_assert_null(w);
	event_base_free(base);
}

TestSuite(worker, .init = setup, .fini = teardown, .timeout = 30);

/* loop_until -- run the loop until *flag (bounded by the suite's timeout) */
static void loop_until(const bool *flag)
{
	while (!*flag)
		event_base_loop(base, EVLOOP_ONCE);
}

/* start -- init and submit a job */
static void start(struct tjob *t, void *owner)
{
	rcp_job_init(&t->job, "TEST", owner, tjob_work, tjob_done);
	cr_assert_eq(rcp_workers_submit(w, &t->job), 0);
}

Test(worker, work_on_a_worker__completion_in_the_loop)
{
	struct tjob t;

	memset(&t, 0, sizeof(t));
	atomic_store(&t.release, true);
	start(&t, NULL);
	loop_until(&t.done);
	cr_assert(t.job.ran);
	cr_assert(!pthread_equal(t.worker, pthread_self()), "the work ran on the loop's thread");
	cr_assert(pthread_equal(t.loop, pthread_self()), "the completion ran off the loop");
}

Test(worker, a_long_job_does_not_hold_up_a_short_one)
{
	struct tjob slow;
	struct tjob quick;
	struct rcp_workers_stats st;
	int order[2];
	int next = 0;

	memset(&slow, 0, sizeof(slow));
	memset(&quick, 0, sizeof(quick));
	slow.order = quick.order = order;
	slow.next = quick.next = &next;
	slow.id = 1;
	quick.id = 2;
	start(&slow, NULL);
	while (!atomic_load(&slow.started))
		usleep(1000);
	atomic_store(&quick.release, true);
	start(&quick, NULL);
	loop_until(&quick.done);
	rcp_workers_stats(w, &st);
	cr_assert_eq(st.running, 1, "the slow job still runs");
	cr_assert_eq(st.total, 2);
	atomic_store(&slow.release, true);
	loop_until(&slow.done);
	cr_assert_eq(order[0], 2);
	cr_assert_eq(order[1], 1);
}

Test(worker, cancel_owner__queued_end_at_once_running_see_the_flag)
{
	struct tjob t[4];
	struct rcp_workers_stats st;
	int owner;
	int other;

	memset(t, 0, sizeof(t));
	/* two threads: t[0] and t[1] run, t[2] and t[3] wait in the queue */
	start(&t[0], &owner);
	start(&t[1], &other);
	while (!atomic_load(&t[0].started) || !atomic_load(&t[1].started))
		usleep(1000);
	start(&t[2], &owner);
	start(&t[3], &other);
	rcp_workers_stats(w, &st);
	cr_assert_eq(st.queued, 2);
	cr_assert_eq(rcp_workers_cancel_owner(w, &owner), 2);
	loop_until(&t[2].done);
	cr_assert(!t[2].job.ran, "a cancelled queued job must not run");
	loop_until(&t[0].done);
	cr_assert(t[0].cancelled_seen, "the running job was not told");
	rcp_workers_stats(w, &st);
	cr_assert_eq(st.cancelled, 2);
	cr_assert(!t[1].done, "another owner's running job was stopped");
	atomic_store(&t[1].release, true);
	atomic_store(&t[3].release, true);
	loop_until(&t[3].done);
	loop_until(&t[1].done);
	cr_assert(t[3].job.ran, "another owner's queued job was dropped");
	cr_assert(!t[1].cancelled_seen && !t[3].cancelled_seen);
}

Test(worker, delete__every_completion_runs_once)
{
	struct tjob t[5];
	int i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < 5; i++)
		start(&t[i], NULL);
	while (!atomic_load(&t[0].started) || !atomic_load(&t[1].started))
		usleep(1000);
	rcp_workers_delete(&w);
	for (i = 0; i < 5; i++)
		cr_assert(t[i].done, "job %d was never completed", i);
	cr_assert(t[0].cancelled_seen && t[1].cancelled_seen);
	cr_assert(!t[4].job.ran);
	cr_assert_eq(rcp_workers_new(base, 1, &quiet, &w), 0);
}

Test(worker, submit_while_stopping__refused)
{
	struct rcp_workers *x = NULL;
	struct tjob t;

	memset(&t, 0, sizeof(t));
	cr_assert_eq(rcp_workers_new(base, 0, &quiet, &x), -EINVAL);
	cr_assert_eq(rcp_workers_new(base, 257, &quiet, &x), -EINVAL);
	cr_assert_null(x);
}
