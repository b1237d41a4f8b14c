/* SPDX-License-Identifier: BSD-3-Clause */
/* stream.h -- a ring of registered chunks that overlaps file I/O with RDMA */
#ifndef RDMACPY_CLI_STREAM_H
#define RDMACPY_CLI_STREAM_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/checksum.h"
#include "rdmacpy.h"

/*
 * A file on tmpfs or ramfs is moved from or into its own pages (stream_map.h). Otherwise a
 * put reads chunk k+1 from the file while the device writes chunk k; a get writes chunk k to
 * the file while the device reads chunk k+1; the file I/O runs on a thread of its own so that
 * the two proceed on different CPUs. Chunks are used in FIFO order so a get writes its output
 * in order even to a pipe.
 */
struct cli_stream {
	struct rdmacpy_conn *conn;
	const struct rdmacpy_grant *grant;
	int fd;		/* the local file (or 0/1) */
	uint64_t total; /* bytes to move; UINT64_MAX: until EOF (put from a pipe) */
	uint64_t limit; /* grant length: a pipe may not push past it */
	uint64_t done;	/* bytes moved and, for get, written out */
	uint64_t sent;	/* put: bytes handed to the device (done and those in flight) */
	bool checksum;	/* keep a running checksum of the bytes in stream order */
	struct rcp_checksum_state sum;
	int error;	/* first RDMACPY_E_* from the wire */
	int io_errno;	/* first local I/O errno */
	bool too_long;	/* put: the input is longer than the grant (or than total, when known) */
	bool too_short; /* put: the input ended before total bytes */
	bool pin;	/* keep this thread on cpu and the I/O thread off it (see affinity.h) */
	int cpu;
	bool mapped; /* the file's own pages were the RDMA buffer (stream_map.h): no copy */
	/* get: when the last byte was in the file (0: never), before the mapping or the ring is
	 * taken down; a get's rate is of moving the bytes, as fsync and rename come after it */
	uint64_t moved_ns;
};

/* cli_stream_progress -- rdmacpy_conn_progress until at least one operation finished (> 0), the
 * connection's timeout passed (0) or it failed (< 0); a resume with --reconnect is waited out */
int cli_stream_progress(struct rdmacpy_conn *conn);

/* cli_stream_spawn -- with s->pin, this thread onto s->cpu alone (its mask saved in *saved,
 * *pinned set: give it back with cli_affinity_restore) and fn, when given, on a thread *t of its
 * own on the other CPUs. 0 or an RDMACPY_E_*; on failure nothing of it stays */
int cli_stream_spawn(const struct cli_stream *s, void *(*fn)(void *), void *arg, pthread_t *t,
		     cpu_set_t *saved, bool *pinned);

/* cli_stream_put -- file -> grant; 0 or an RDMACPY_E_* / -1 with io_errno set */
int cli_stream_put(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx);

/* cli_stream_get -- grant -> file */
int cli_stream_get(struct cli_stream *s, uint64_t chunk, unsigned depth,
		   void (*progress)(void *ctx, uint64_t done), void *ctx);

#endif
