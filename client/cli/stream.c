/* SPDX-License-Identifier: BSD-3-Clause */
/* stream.c -- a ring of registered chunks that overlaps file I/O with RDMA */

#include "client/cli/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

enum slot_state {
	SLOT_FREE,  /* no transfer uses it */
	SLOT_BUSY,  /* the device owns it */
	SLOT_READY, /* get: data arrived, not yet written to the file */
};

struct slot {
	struct cli_stream *s;
	enum slot_state state;
	uint64_t len;
	int status;
};

struct ring {
	uint8_t *mem;
	struct rdmacpy_mem *reg;
	struct slot *slots;
	unsigned n;
	uint64_t chunk;
};

/* slot_done -- completion callback: record the status, hand the slot back */
static void slot_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct slot *sl = ctx;

	(void)op;
	sl->status = status;
	sl->state = SLOT_READY;
	if (status && !sl->s->error)
		sl->s->error = status;
}

/* ring_new -- depth chunks of registered memory */
static int ring_new(struct ring *r, struct rdmacpy_conn *conn, uint64_t chunk, unsigned depth)
{
	int rc;

	r->n = depth;
	r->chunk = chunk;
	r->mem = aligned_alloc(4096, (size_t)(chunk * depth));
	r->slots = calloc(depth, sizeof(*r->slots));
	if (!r->mem || !r->slots) {
		rc = RDMACPY_E_NOMEM;
		goto err_free;
	}
	rc = rdmacpy_mem_reg(conn, r->mem, (size_t)(chunk * depth), &r->reg);
	if (rc)
		goto err_free;
	return 0;

err_free:
	free(r->slots);
	free(r->mem);
	return rc;
}

/* ring_delete -- unregister and free */
static void ring_delete(struct ring *r)
{
	rdmacpy_mem_dereg(&r->reg);
	free(r->slots);
	free(r->mem);
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

/* wait_some -- let the library finish at least one operation (bounded by its timeout) */
static int wait_some(struct cli_stream *s)
{
	int rc = rdmacpy_progress(s->conn, -1);

	if (rc < 0 && !s->error)
		s->error = rc;
	if (rc == 0 && !s->error)
		s->error = RDMACPY_E_TIMEOUT;
	return s->error;
}

/*
 * drain -- after a failure, wait for the transfers still in flight: the ring must not be freed
 * while the device may touch it. Returns how many never finished (the connection is then
 * broken; closing it reclaims them and the memory is left to process exit).
 */
static unsigned drain(struct cli_stream *s, struct ring *r, unsigned busy)
{
	for (;;) {
		busy = 0;
		for (unsigned i = 0; i < r->n; i++)
			busy += r->slots[i].state == SLOT_BUSY;
		if (!busy || rdmacpy_progress(s->conn, -1) <= 0)
			return busy;
	}
}

/* finish -- wait out what is in flight, free the ring, and say how the stream ended */
static int finish(struct cli_stream *s, struct ring *r, unsigned busy)
{
	if (drain(s, r, busy))
		return s->error ? s->error : RDMACPY_E_TIMEOUT;
	ring_delete(r);
	if (s->error)
		return s->error;
	return s->io_errno || s->too_long ? -1 : 0;
}

/* cli_stream_put -- file -> grant */
int cli_stream_put(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct ring r;
	uint64_t sent = 0;
	unsigned head = 0;
	unsigned busy = 0;
	bool eof = false;
	int rc;

	rc = ring_new(&r, s->conn, chunk, depth);
	if (rc)
		return rc;
	while ((!eof || busy) && !s->error && !s->io_errno && !s->too_long) {
		struct slot *sl = &r.slots[head];

		if (!eof && sl->state == SLOT_FREE) {
			uint64_t want = r.chunk;
			uint8_t *buf = r.mem + (uint64_t)head * r.chunk;
			ssize_t got;

			if (s->total != UINT64_MAX && s->total - sent < want)
				want = s->total - sent;
			got = want ? read_full(s->fd, buf, (size_t)want) : 0;
			if (got < 0) {
				s->io_errno = errno;
				break;
			}
			if (got == 0) {
				eof = true;
				continue;
			}
			if (sent + (uint64_t)got > s->limit) {
				s->too_long = true;
				break;
			}
			if (s->checksum)
				rcp_checksum_update(&s->sum, buf, (size_t)got);
			sl->s = s;
			sl->len = (uint64_t)got;
			sl->state = SLOT_BUSY;
			rc = rdmacpy_submit_write(s->conn, s->grant, sent, buf, (size_t)got,
						  slot_done, sl, NULL);
			if (rc) {
				s->error = rc;
				sl->state = SLOT_FREE;
				break;
			}
			sent += (uint64_t)got;
			busy++;
			head = (head + 1) % r.n;
			continue;
		}
		/* Ring full or input done: reap completions. */
		if (wait_some(s))
			break;
		for (unsigned i = 0; i < r.n; i++) {
			if (r.slots[i].state == SLOT_READY) {
				s->done += r.slots[i].len;
				r.slots[i].state = SLOT_FREE;
				busy--;
			}
		}
		if (progress)
			progress(ctx, s->done);
	}
	return finish(s, &r, busy);
}

/* cli_stream_get -- grant -> file, in order */
int cli_stream_get(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct ring r;
	uint64_t asked = 0;
	unsigned head = 0; /* next slot to submit */
	unsigned tail = 0; /* next slot to write out */
	unsigned busy = 0;
	int rc;

	rc = ring_new(&r, s->conn, chunk, depth);
	if (rc)
		return rc;
	while (s->done < s->total && !s->error && !s->io_errno) {
		struct slot *sl = &r.slots[head];

		if (asked < s->total && sl->state == SLOT_FREE) {
			uint64_t len = s->total - asked < r.chunk ? s->total - asked : r.chunk;

			sl->s = s;
			sl->len = len;
			sl->state = SLOT_BUSY;
			rc = rdmacpy_submit_read(s->conn, s->grant, asked,
						 r.mem + (uint64_t)head * r.chunk, (size_t)len,
						 slot_done, sl, NULL);
			if (rc) {
				s->error = rc;
				sl->state = SLOT_FREE;
				break;
			}
			asked += len;
			busy++;
			head = (head + 1) % r.n;
			continue;
		}
		if (r.slots[tail].state != SLOT_READY && wait_some(s))
			break;
		while (r.slots[tail].state == SLOT_READY && !s->error) {
			uint8_t *buf = r.mem + (uint64_t)tail * r.chunk;

			if (write_full(s->fd, buf, (size_t)r.slots[tail].len)) {
				s->io_errno = errno;
				break;
			}
			if (s->checksum)
				rcp_checksum_update(&s->sum, buf, (size_t)r.slots[tail].len);
			s->done += r.slots[tail].len;
			r.slots[tail].state = SLOT_FREE;
			busy--;
			tail = (tail + 1) % r.n;
		}
		if (progress)
			progress(ctx, s->done);
	}
	return finish(s, &r, busy);
}
