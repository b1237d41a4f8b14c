/* SPDX-License-Identifier: BSD-3-Clause */
/* stream_map.c -- put and get of a file on a memory file system, without copying its bytes */

#include "client/cli/stream_map.h"

#include "client/cli/affinity.h"
#include "client/cli/progress.h"

#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * A file on tmpfs or ramfs is its page cache: there is no disk behind it and no writeback, so
 * its pages can be registered and be the source of a put's RDMA WRITEs or the destination of a
 * get's READs themselves. The ring (stream.c) copies every byte through read(2) or write(2)
 * instead, and those copies are the kernel's. In the soft-RoCE guests (TCG) they are slow:
 * 256 MiB took 1.0 s to read(2) from tmpfs and 5.3 s to write(2) into a new tmpfs file, against
 * 0.18 s for a memcpy in user space, and a get into such a file ran at 0.53x of bench where a
 * get into /dev/null ran at 0.96x.
 *
 * A put registers the whole mapping once (read-only: its pages exist, pinning them is cheap).
 * A get's pages do not exist yet and the kernel must allocate and zero them: a thread of its
 * own faults them in a chunk ahead of the reads, on another CPU than the transfer's, as the
 * ring's writer would have written them; each read registers its chunk as it is posted (the
 * library's per-operation registration). Chunks are retired in file order, so the bytes done
 * are always a prefix of the file.
 */

struct map_stream;

struct map_chunk {
	struct map_stream *ms;
	uint64_t off;
	uint64_t len;
	bool busy;  /* posted, no completion yet */
	bool ready; /* completed, not yet retired */
};

struct map_stream {
	struct cli_stream *s;
	bool put;
	uint8_t *map;
	uint64_t chunk;
	unsigned depth;
	struct map_chunk *ring; /* depth entries, used in file order */
	struct rdmacpy_mem *reg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t populator;
	bool populating;
	uint64_t populated; /* get: bytes of the mapping faulted in, from its start */
	int populate_errno;
	bool stop;
};

/* cli_map_suitable -- fd is a regular file on a file system whose pages are the file */
bool cli_map_suitable(int fd)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &sfs))
		return false;
	/* hugetlbfs is memory too, but maps only whole huge pages */
	return sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}

/* failed -- the stream stops: an error from the wire, or from the local file */
static bool failed(const struct cli_stream *s)
{
	return s->error || s->io_errno;
}

/* chunk_done -- completion callback (main thread, inside the library's progress) */
static void chunk_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct map_chunk *ck = ctx;
	struct map_stream *ms = ck->ms;

	(void)op;
	pthread_mutex_lock(&ms->lock);
	ck->busy = false;
	ck->ready = true;
	if (status && !ms->s->error)
		ms->s->error = status;
	pthread_mutex_unlock(&ms->lock);
}

/*
 * populate -- get's helper thread: fault the mapping in, a chunk at a time, ahead of the reads.
 * MADV_POPULATE_WRITE allocates without touching the bytes; before Linux 5.14 a store of zero
 * into each page does the same. A fault that would have raised SIGBUS (EFAULT) is a full tmpfs.
 */
static void *populate(void *arg)
{
	struct map_stream *ms = arg;
	uint64_t total = ms->s->total;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t off = 0;

	while (off < total) {
		uint64_t len = total - off < ms->chunk ? total - off : ms->chunk;
		int err = 0;

		if (madvise(ms->map + off, (size_t)len, MADV_POPULATE_WRITE)) {
			err = errno;
			if (err == EINVAL) {
				for (uint64_t p = 0; p < len; p += (uint64_t)page)
					((volatile uint8_t *)ms->map)[off + p] = 0;
				err = 0;
			}
		}
		pthread_mutex_lock(&ms->lock);
		if (err)
			ms->populate_errno = err == EFAULT ? ENOSPC : err;
		else
			ms->populated = off + len;
		pthread_cond_broadcast(&ms->cond);
		if (err || ms->stop) {
			pthread_mutex_unlock(&ms->lock);
			break;
		}
		pthread_mutex_unlock(&ms->lock);
		off += len;
	}
	return NULL;
}

/* post -- (main) chunk ck to the device: a write from the mapping or a read into it */
static int post(struct map_stream *ms, struct map_chunk *ck)
{
	struct cli_stream *s = ms->s;
	uint8_t *buf = ms->map + ck->off;

	if (ms->put) {
		/* in file order, before the device sees the bytes */
		if (s->checksum)
			rcp_checksum_update(&s->sum, buf, (size_t)ck->len);
		return rdmacpy_write_async(s->conn, s->grant, ck->off, buf, (size_t)ck->len,
					   chunk_done, ck, NULL);
	}
	return rdmacpy_read_async(s->conn, s->grant, ck->off, buf, (size_t)ck->len, chunk_done, ck,
				  NULL);
}

/* retire -- (main, lock held) completed chunks at the ring's tail, in file order */
static void retire(struct map_stream *ms, unsigned *tail)
{
	struct cli_stream *s = ms->s;

	while (ms->ring[*tail].ready) {
		struct map_chunk *ck = &ms->ring[*tail];

		if (failed(s))
			return;
		if (!ms->put && s->checksum)
			rcp_checksum_update(&s->sum, ms->map + ck->off, (size_t)ck->len);
		s->done += ck->len;
		ck->ready = false;
		*tail = (*tail + 1) % ms->depth;
	}
}

/* in_flight -- (lock held) chunks the device still owns */
static unsigned in_flight(const struct map_stream *ms)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ms->depth; i++)
		n += ms->ring[i].busy;
	return n;
}

/* progress_bounded -- (main) cli_stream_progress as 0 or an RDMACPY_E_* */
static int progress_bounded(struct rdmacpy_conn *conn)
{
	int rc = cli_stream_progress(conn);

	if (rc == 0)
		return RDMACPY_E_TIMEOUT;
	return rc < 0 ? rc : 0;
}

/* run's outcome when chunks never came back: the device may still own them, and closing the
 * connection reclaims them later, so the mapping and the stream stay to process exit */
#define RUN_ABANDONED 1

/*
 * run -- keep depth chunks in flight until every byte is moved or something failed, then wait
 * out what is still in flight (the device may not touch the mapping after it is gone). A get
 * posts a chunk only once its pages are in.
 */
static int run(struct map_stream *ms, void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct cli_stream *s = ms->s;
	uint64_t next = 0; /* the next chunk's offset */
	unsigned head = 0;
	unsigned tail = 0;
	int rc;

	for (;;) {
		struct map_chunk *ck = &ms->ring[head];
		uint64_t len = s->total - next < ms->chunk ? s->total - next : ms->chunk;
		bool can_post;
		bool busy;

		pthread_mutex_lock(&ms->lock);
		retire(ms, &tail);
		if (!failed(s) && ms->populate_errno)
			s->io_errno = ms->populate_errno;
		/* a get waits for its pages only while nothing is in flight */
		while (!ms->put && next < s->total && ms->populated < next + len &&
		       !ms->populate_errno && !in_flight(ms) && !ck->busy && !ck->ready)
			pthread_cond_wait(&ms->cond, &ms->lock);
		can_post = !failed(s) && next < s->total && !ck->busy && !ck->ready &&
			   (ms->put || ms->populated >= next + len);
		busy = in_flight(ms) > 0;
		if (can_post)
			ck->busy = true;
		pthread_mutex_unlock(&ms->lock);
		if (!can_post && !busy && (failed(s) || s->done == s->total))
			break;
		if (can_post) {
			*ck = (struct map_chunk){.ms = ms, .off = next, .len = len, .busy = true};
			rc = post(ms, ck);
			if (rc) {
				pthread_mutex_lock(&ms->lock);
				ck->busy = false;
				if (!s->error)
					s->error = rc;
				pthread_mutex_unlock(&ms->lock);
				continue;
			}
			next += len;
			if (ms->put)
				s->sent = next;
			head = (head + 1) % ms->depth;
			continue;
		}
		if (!busy)
			continue; /* a get whose pages just came in */
		rc = progress_bounded(s->conn);
		if (rc) {
			pthread_mutex_lock(&ms->lock);
			if (!s->error)
				s->error = rc;
			pthread_mutex_unlock(&ms->lock);
			if (rc == RDMACPY_E_TIMEOUT || rc == RDMACPY_E_BROKEN)
				return RUN_ABANDONED;
		}
		if (progress)
			progress(ctx, s->done);
	}
	if (progress)
		progress(ctx, s->done);
	if (!ms->put && s->done == s->total)
		s->moved_ns = cli_now_ns();
	return 0;
}

/* map_stream_free -- after the device let go of every chunk */
static void map_stream_free(struct map_stream *ms)
{
	rdmacpy_mem_dereg(&ms->reg);
	munmap(ms->map, (size_t)ms->s->total);
	pthread_cond_destroy(&ms->cond);
	pthread_mutex_destroy(&ms->lock);
	free(ms->ring);
	free(ms);
}

/*
 * stream_map -- the shared body of put and get: 0, an RDMACPY_E_*, -1 with the local cause in
 * the stream, or CLI_MAP_UNSUITABLE before anything moved. On the heap: completions of chunks
 * that never came back may run at close, after the stream ended.
 */
static int stream_map(struct cli_stream *s, bool put, uint64_t chunk, unsigned depth,
		      void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct map_stream *ms = calloc(1, sizeof(*ms));
	int prot = put ? PROT_READ : PROT_READ | PROT_WRITE;
	cpu_set_t saved;
	bool pinned = false;
	int ran = 0;
	int rc = 0;

	if (!ms)
		return CLI_MAP_UNSUITABLE;
	*ms = (struct map_stream){.s = s, .put = put, .chunk = chunk, .depth = depth};
	ms->map = mmap(NULL, (size_t)s->total, prot, MAP_SHARED, s->fd, 0);
	ms->ring = calloc(depth, sizeof(*ms->ring));
	if (ms->map == MAP_FAILED || !ms->ring) {
		if (ms->map != MAP_FAILED)
			munmap(ms->map, (size_t)s->total);
		free(ms->ring);
		free(ms);
		return CLI_MAP_UNSUITABLE;
	}
	pthread_mutex_init(&ms->lock, NULL);
	pthread_cond_init(&ms->cond, NULL);
	/*
	 * A put's pages exist: one registration, read-only. Where it cannot be had the ring does
	 * the put: over RLIMIT_MEMLOCK, and before Linux 6.2, which pinned read-only memory with
	 * FOLL_FORCE | FOLL_WRITE and so refused a file mapped read-only (EFAULT).
	 */
	if (put && rdmacpy_mem_reg(s->conn, ms->map, (size_t)s->total, &ms->reg)) {
		map_stream_free(ms);
		return CLI_MAP_UNSUITABLE;
	}
	/* with --cpu, this thread on that CPU; a get's helper thread off it */
	rc = cli_stream_spawn(s, put ? NULL : populate, ms, &ms->populator, &saved, &pinned);
	ms->populating = !rc && !put;
	if (!rc)
		ran = run(ms, progress, ctx);
	pthread_mutex_lock(&ms->lock);
	ms->stop = true;
	pthread_mutex_unlock(&ms->lock);
	if (ms->populating)
		pthread_join(ms->populator, NULL);
	if (pinned)
		cli_affinity_restore(&saved);
	if (ran != RUN_ABANDONED)
		map_stream_free(ms);
	if (rc || s->error)
		return rc ? rc : s->error;
	return s->io_errno ? -1 : 0;
}

/* cli_map_put -- the whole file's pages are the source */
int cli_map_put(struct cli_stream *s, uint64_t chunk, unsigned depth,
		void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct stat st;
	int rc;

	/* the file from its start (put - with a file on stdin may have been read from already) */
	if (s->total == UINT64_MAX || s->total == 0 || s->total > s->limit ||
	    lseek(s->fd, 0, SEEK_CUR) != 0 || !cli_map_suitable(s->fd))
		return CLI_MAP_UNSUITABLE;
	rc = stream_map(s, true, chunk, depth, progress, ctx);
	if (rc != 0 || fstat(s->fd, &st))
		return rc;
	/* the device read the pages as they were pinned: a file that changed size meanwhile was
	 * not the one given */
	if ((uint64_t)st.st_size < s->total)
		s->too_short = true;
	else if ((uint64_t)st.st_size > s->total)
		s->too_long = true;
	return s->too_short || s->too_long ? -1 : 0;
}

/* cli_map_get -- the output file, sized to the grant, is the destination */
int cli_map_get(struct cli_stream *s, uint64_t chunk, unsigned depth,
		void (*progress)(void *ctx, uint64_t done), void *ctx)
{
	struct stat st;
	int rc;

	/* an empty file at its start (stdout may be a file others write to as well) */
	if (s->total == 0 || !cli_map_suitable(s->fd) || fstat(s->fd, &st) || st.st_size != 0 ||
	    lseek(s->fd, 0, SEEK_CUR) != 0 || ftruncate(s->fd, (off_t)s->total))
		return CLI_MAP_UNSUITABLE;
	rc = stream_map(s, false, chunk, depth, progress, ctx);
	/* where write(2) would have left the file's offset */
	lseek(s->fd, (off_t)s->done, SEEK_SET);
	return rc;
}
