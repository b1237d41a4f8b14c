/* SPDX-License-Identifier: BSD-3-Clause */
/* stream.c -- a ring of registered chunks that overlaps file I/O with RDMA */

#include "client/cli/stream.h"

#include "client/cli/affinity.h"
#include "client/cli/progress.h"
#include "client/cli/stream_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Two threads share the ring. The main thread alone talks to the library: it submits chunks
 * and runs the completions. The I/O thread alone touches the file: for a put it reads chunk
 * k+1 while the device sends chunk k, for a get it writes chunk k while the device fetches
 * chunk k+1. One thread doing both could only alternate: the device's work (rxe does it in
 * the kernel, on the CPU that posted) and the copy to or from the page cache would share one
 * CPU, and a put or get ran at link time plus copy time (measured: 0.82x and 0.65x of bench).
 *
 * Slots go round in ring order, each owned by one side at a time:
 *   put: FREE -(io: read)-> FILLED -(main: submit)-> BUSY -(completion)-> READY -(main)-> FREE
 *   get: FREE -(main: submit)-> BUSY -(completion)-> READY -(io: write)-> FREE
 * State changes happen under the ring's lock; the side that hands a slot over signals.
 */

enum slot_state {
	SLOT_FREE,   /* nobody uses it */
	SLOT_FILLED, /* put: read from the file, not yet submitted */
	SLOT_BUSY,   /* the device owns it */
	SLOT_READY,  /* transfer finished: put: to free; get: to write to the file */
};

struct ring;

struct slot {
	struct ring *ring;
	enum slot_state state;
	uint64_t len;
};

struct ring {
	struct cli_stream *s;
	uint8_t *mem;
	struct rdmacpy_mem *reg;
	struct slot *slots;
	unsigned n;
	uint64_t chunk;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t io;
	bool io_running;
	bool pinned; /* the main thread's own mask is in saved_mask */
	cpu_set_t saved_mask;
	bool stop;    /* main -> io: give up (an error on the wire) */
	bool io_done; /* io -> main: no more input (put) or everything written (get) */
};

/* slot_done -- completion callback (main thread): hand the slot on */
static void slot_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct slot *sl = ctx;
	struct ring *r = sl->ring;

	(void)op;
	pthread_mutex_lock(&r->lock);
	sl->state = SLOT_READY;
	if (status && !r->s->error)
		r->s->error = status;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* ring_new -- depth chunks of registered memory and the lock that guards them. On the heap:
 * if transfers never come back, completions may still run at close, after the stream ended */
static int ring_new(struct ring **rp, struct cli_stream *s, uint64_t chunk, unsigned depth)
{
	struct ring *r = calloc(1, sizeof(*r));
	int rc;

	*rp = r;
	if (!r)
		return RDMACPY_E_NOMEM;
	r->s = s;
	r->n = depth;
	r->chunk = chunk;
	r->mem = aligned_alloc(4096, (size_t)(chunk * depth));
	r->slots = calloc(depth, sizeof(*r->slots));
	if (!r->mem || !r->slots) {
		rc = RDMACPY_E_NOMEM;
		goto err_free;
	}
	for (unsigned i = 0; i < depth; i++)
		r->slots[i].ring = r;
	rc = rdmacpy_mem_reg(s->conn, r->mem, (size_t)(chunk * depth), &r->reg);
	if (rc)
		goto err_free;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return 0;

err_free:
	free(r->slots);
	free(r->mem);
	free(r);
	*rp = NULL;
	return rc;
}

/* ring_delete -- unregister and free */
static void ring_delete(struct ring *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	rdmacpy_mem_dereg(&r->reg);
	free(r->slots);
	free(r->mem);
	free(r);
}

/* slot_buf -- the memory of slot i */
static uint8_t *slot_buf(const struct ring *r, unsigned i)
{
	return r->mem + (uint64_t)i * r->chunk;
}

/* read_full -- read until n bytes or EOF; bytes read, or -1 with errno */
static ssize_t read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* write_full -- write all n bytes; 0 or -1 with errno */
static int write_full(int fd, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* unlock -- cancellation clean-up: a thread cancelled in pthread_cond_wait holds the lock */
static void unlock(void *lock)
{
	pthread_mutex_unlock(lock);
}

/* io_wait_slot -- (io thread) wait until slot i is in state want, and take its length; false
 * if the main thread gave up */
static bool io_wait_slot(struct ring *r, unsigned i, enum slot_state want, uint64_t *len)
{
	bool go;

	pthread_mutex_lock(&r->lock);
	pthread_cleanup_push(unlock, &r->lock);
	while (r->slots[i].state != want && !r->stop)
		pthread_cond_wait(&r->cond, &r->lock);
	go = !r->stop;
	*len = r->slots[i].len;
	pthread_cleanup_pop(1);
	return go;
}

/*
 * io_hand_over -- (io thread) give slot i to the main thread in state, with len bytes (put:
 * what was read; get: what was written, added to s->done); or, with flag, raise that flag
 * instead and leave the slots alone. Either way the main thread is woken.
 */
static void io_hand_over(struct ring *r, unsigned i, enum slot_state state, uint64_t len,
			 bool *flag)
{
	pthread_mutex_lock(&r->lock);
	if (flag) {
		*flag = true;
	} else {
		r->slots[i].len = len;
		r->slots[i].state = state;
		if (state == SLOT_FREE)
			r->s->done += len;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* reader -- put's I/O thread: fill free slots from the file in ring order until EOF */
static void *reader(void *arg)
{
	struct ring *r = arg;
	struct cli_stream *s = r->s;
	uint64_t taken = 0;

	for (unsigned i = 0;; i = (i + 1) % r->n) {
		uint64_t want = r->chunk;
		uint64_t unused;
		ssize_t got;

		if (!io_wait_slot(r, i, SLOT_FREE, &unused))
			break;
		if (s->total != UINT64_MAX && s->total - taken < want)
			want = s->total - taken;
		if (!want) {
			/* the length was known: one byte more means it was wrong */
			uint8_t extra;

			got = read_full(s->fd, &extra, 1);
			if (got > 0)
				s->too_long = true;
			else if (got < 0)
				s->io_errno = errno;
			break;
		}
		got = read_full(s->fd, slot_buf(r, i), (size_t)want);
		if (got < 0) {
			s->io_errno = errno;
			break;
		}
		if (got == 0) {
			s->too_short = s->total != UINT64_MAX;
			break;
		}
		if (taken + (uint64_t)got > s->limit) {
			s->too_long = true;
			break;
		}
		/* in stream order, before the device sees the bytes */
		if (s->checksum)
			rcp_checksum_update(&s->sum, slot_buf(r, i), (size_t)got);
		taken += (uint64_t)got;
		io_hand_over(r, i, SLOT_FILLED, (uint64_t)got, NULL);
	}
	io_hand_over(r, 0, SLOT_FREE, 0, &r->io_done);
	return NULL;
}

/* writer -- get's I/O thread: write finished slots to the file in ring order */
static void *writer(void *arg)
{
	struct ring *r = arg;
	struct cli_stream *s = r->s;
	uint64_t written = 0;

	for (unsigned i = 0; written < s->total; i = (i + 1) % r->n) {
		uint64_t len;

		if (!io_wait_slot(r, i, SLOT_READY, &len))
			break;
		if (write_full(s->fd, slot_buf(r, i), (size_t)len)) {
			s->io_errno = errno;
			break;
		}
		if (s->checksum)
			rcp_checksum_update(&s->sum, slot_buf(r, i), (size_t)len);
		written += len;
		io_hand_over(r, i, SLOT_FREE, len, NULL);
	}
	io_hand_over(r, 0, SLOT_FREE, 0, &r->io_done);
	return NULL;
}

/* cli_stream_progress -- (main) at least one operation finished, within the connection's
 * timeout; a resume (--reconnect) has a bound of its own and is waited out */
int cli_stream_progress(struct rdmacpy_conn *conn)
{
	int rc;

	do
		rc = rdmacpy_conn_progress(conn, -1);
	while (rc == 0 && rdmacpy_conn_status(conn) == RDMACPY_E_INPROGRESS);
	return rc;
}

/* wait_some -- (main) let the library finish at least one operation, bounded by its timeout */
static void wait_some(struct ring *r)
{
	struct cli_stream *s = r->s;
	int rc = cli_stream_progress(s->conn);

	pthread_mutex_lock(&r->lock);
	if (rc < 0 && !s->error)
		s->error = rc;
	if (rc == 0 && !s->error)
		s->error = RDMACPY_E_TIMEOUT;
	pthread_mutex_unlock(&r->lock);
}

/*
 * reap -- (main) run the completions there are, without waiting. rxe moves a WR's bytes while
 * it is being posted, so the first slots have finished by the time the last is posted. Taken
 * only once no slot was left to post, they all came back at once and the I/O thread had every
 * slot to read (put) or write (get) while the device waited for the first: a put of 256 MiB
 * waited 0.11 s for its reader that way, in 32 gaps (measured in the guest).
 */
static void reap(struct ring *r)
{
	int rc = rdmacpy_conn_progress(r->s->conn, 0);

	if (rc < 0) {
		pthread_mutex_lock(&r->lock);
		if (!r->s->error)
			r->s->error = rc;
		pthread_mutex_unlock(&r->lock);
	}
}

/* put_retire -- (main) a put's finished slots are free again and their bytes done; the reader
 * is woken to fill them */
static void put_retire(struct ring *r)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->n; i++) {
		if (r->slots[i].state == SLOT_READY) {
			r->s->done += r->slots[i].len;
			r->slots[i].state = SLOT_FREE;
		}
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* count_busy -- (main, lock held) slots the device still owns */
static unsigned count_busy(const struct ring *r)
{
	unsigned busy = 0;

	for (unsigned i = 0; i < r->n; i++)
		busy += r->slots[i].state == SLOT_BUSY;
	return busy;
}

/*
 * finish -- stop the I/O thread, wait out the transfers still in flight (the ring must not be
 * freed while the device may touch it), free the ring and say how the stream ended. If some
 * never finish, the connection is broken; closing it reclaims them (their callbacks still find
 * the ring) and the ring is left to process exit.
 */
static int finish(struct ring *r)
{
	struct cli_stream *s = r->s;
	unsigned busy;

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	busy = count_busy(r);
	pthread_mutex_unlock(&r->lock);
	/* after a failure the I/O thread may sit in a read from a quiet pipe or a write to a
	 * stalled one: it has nothing left to do, so cancel it there */
	if (r->io_running && s->error)
		pthread_cancel(r->io);
	if (r->io_running)
		pthread_join(r->io, NULL);
	while (busy) {
		if (cli_stream_progress(s->conn) <= 0)
			return s->error ? s->error : RDMACPY_E_TIMEOUT;
		pthread_mutex_lock(&r->lock);
		busy = count_busy(r);
		pthread_mutex_unlock(&r->lock);
	}
	if (r->pinned)
		cli_affinity_restore(&r->saved_mask);
	ring_delete(r);
	if (s->error)
		return s->error;
	return s->io_errno || s->too_long || s->too_short ? -1 : 0;
}

/* cli_stream_spawn -- with s->pin, this thread onto s->cpu alone (its mask saved, *pinned set)
 * and fn, when given, on a thread of its own on the other CPUs; on failure nothing of it stays */
int cli_stream_spawn(const struct cli_stream *s, void *(*fn)(void *), void *arg, pthread_t *t,
		     cpu_set_t *saved, bool *pinned)
{
	pthread_attr_t attr;
	int rc = 0;

	*pinned = false;
	if (pthread_attr_init(&attr))
		return RDMACPY_E_NOMEM;
	if (s->pin) {
		rc = cli_affinity_split(s->cpu, saved, &attr);
		if (rc)
			rc = rc == EINVAL ? RDMACPY_E_INVAL : RDMACPY_E_NOMEM;
		*pinned = !rc;
	}
	if (!rc && fn && pthread_create(t, &attr, fn, arg))
		rc = RDMACPY_E_NOMEM;
	pthread_attr_destroy(&attr);
	if (rc && *pinned) {
		cli_affinity_restore(saved);
		*pinned = false;
	}
	return rc;
}

/* start_io -- run fn on its own thread; with s->pin, on other CPUs than this thread */
static int start_io(struct ring *r, void *(*fn)(void *))
{
	int rc = cli_stream_spawn(r->s, fn, r, &r->io, &r->saved_mask, &r->pinned);

	if (rc) {
		ring_delete(r);
		return rc;
	}
	r->io_running = true;
	return 0;
}

/* cli_stream_put -- file -> grant */
int cli_stream_put(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct ring *r;
	uint64_t sent = 0;
	unsigned head = 0;
	int rc;

	rc = cli_map_put(s, chunk, depth, progress, ctx);
	s->mapped = rc != CLI_MAP_UNSUITABLE;
	if (s->mapped)
		return rc;
	rc = ring_new(&r, s, chunk, depth);
	if (!rc)
		rc = start_io(r, reader);
	if (rc)
		return rc;
	for (;;) {
		struct slot *sl = &r->slots[head];
		bool filled;
		bool in_flight;
		bool input_over;
		uint64_t len;

		pthread_mutex_lock(&r->lock);
		/* with nothing in flight, only the reader can bring news */
		while (sl->state != SLOT_FILLED && !count_busy(r) && !r->io_done && !s->error)
			pthread_cond_wait(&r->cond, &r->lock);
		filled = sl->state == SLOT_FILLED;
		in_flight = count_busy(r) > 0;
		input_over = r->io_done && !filled;
		len = sl->len;
		if (filled && !s->error)
			sl->state = SLOT_BUSY;
		pthread_mutex_unlock(&r->lock);
		if (s->error || (input_over && !in_flight))
			break;
		if (filled) {
			rc = rdmacpy_write_async(s->conn, s->grant, sent, slot_buf(r, head),
						 (size_t)len, slot_done, sl, NULL);
			if (rc) {
				pthread_mutex_lock(&r->lock);
				sl->state = SLOT_FREE;
				s->error = rc;
				pthread_mutex_unlock(&r->lock);
				break;
			}
			sent += len;
			s->sent = sent;
			head = (head + 1) % r->n;
			reap(r);
		} else {
			wait_some(r);
		}
		put_retire(r);
		if (progress)
			progress(ctx, s->done);
	}
	return finish(r);
}

/* cli_stream_get -- grant -> file, in order */
int cli_stream_get(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct ring *r;
	uint64_t asked = 0;
	unsigned head = 0; /* next slot to submit */
	int rc;

	rc = cli_map_get(s, chunk, depth, progress, ctx);
	s->mapped = rc != CLI_MAP_UNSUITABLE;
	if (s->mapped)
		return rc;
	rc = ring_new(&r, s, chunk, depth);
	if (!rc)
		rc = start_io(r, writer);
	if (rc)
		return rc;
	for (;;) {
		struct slot *sl = &r->slots[head];
		uint64_t len = s->total - asked < r->chunk ? s->total - asked : r->chunk;
		bool can_submit;
		bool in_flight;
		bool over;
		uint64_t done;

		pthread_mutex_lock(&r->lock);
		/* nothing in flight and no slot free: the writer is behind, wait for it */
		while (!r->io_done && !s->error && !count_busy(r) &&
		       !(asked < s->total && sl->state == SLOT_FREE))
			pthread_cond_wait(&r->cond, &r->lock);
		can_submit = asked < s->total && sl->state == SLOT_FREE && !s->error;
		in_flight = count_busy(r) > 0;
		over = r->io_done || s->error;
		done = s->done;
		if (can_submit) {
			sl->len = len;
			sl->state = SLOT_BUSY;
		}
		pthread_mutex_unlock(&r->lock);
		if (over)
			break;
		if (can_submit) {
			rc = rdmacpy_read_async(s->conn, s->grant, asked, slot_buf(r, head),
						(size_t)len, slot_done, sl, NULL);
			if (rc) {
				pthread_mutex_lock(&r->lock);
				sl->state = SLOT_FREE;
				s->error = rc;
				pthread_mutex_unlock(&r->lock);
				break;
			}
			asked += len;
			head = (head + 1) % r->n;
			reap(r);
		} else if (in_flight) {
			wait_some(r);
		}
		if (progress)
			progress(ctx, done);
	}
	if (progress)
		progress(ctx, s->done);
	if (s->done == s->total)
		s->moved_ns = cli_now_ns();
	return finish(r);
}
