/* SPDX-License-Identifier: BSD-3-Clause */
/* rdmacpy.h -- librdmacpy: networked memory copy over RDMA, the one public header */
#ifndef RDMACPY_H
#define RDMACPY_H

/*
 * librdmacpy connects to an rdmacpyd daemon, opens grants on its regions and moves bytes
 * between local memory and a grant with one-sided RDMA READ/WRITE.
 *
 * Conventions:
 * - Every function returning int returns 0 (or a count) on success and a negative
 *   RDMACPY_E_* code on failure; rdmacpy_strerror() names it.
 * - Handles are opaque. Destructors (rdmacpy_close, rdmacpy_grant_close, rdmacpy_mem_dereg,
 *   rdmacpy_op_free) accept NULL or a pointer to NULL and clear the caller's pointer.
 * - The library never prints and never exits; it logs through the callback in the options.
 * - A connection is not thread-safe: use it from one thread at a time (callbacks run in the
 *   thread that calls rdmacpy_progress, rdmacpy_op_wait or a synchronous call).
 * - Every wait is bounded by a timeout; a negative timeout_ms argument means "the
 *   connection's timeout" (rdmacpy_conn_opts.timeout_ms).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RDMACPY_EXPORT __attribute__((visibility("default")))
#else
#define RDMACPY_EXPORT
#endif

#define RDMACPY_NAME_MAX     64 /* region name, including the NUL */
#define RDMACPY_CHECKSUM_LEN 32 /* BLAKE2b-256 digest */
#define RDMACPY_MAX_QP	     16 /* queue pairs per connection */

/* Error codes: all negative; 0 is success. */
enum rdmacpy_error {
	RDMACPY_OK = 0,
	RDMACPY_E_INVAL = -1,		    /* an argument makes no sense */
	RDMACPY_E_NOMEM = -2,		    /* out of memory */
	RDMACPY_E_NODEV = -3,		    /* no RDMA device or address for the host */
	RDMACPY_E_CONNECT = -4,		    /* the daemon cannot be reached or refused */
	RDMACPY_E_PROTO = -5,		    /* the peer does not speak this protocol/version */
	RDMACPY_E_AUTH = -6,		    /* authentication failed (either side's MAC) */
	RDMACPY_E_KEY = -7,		    /* key file unreadable, too short/long, bad mode */
	RDMACPY_E_TIMEOUT = -8,		    /* a wait ran out of time */
	RDMACPY_E_BROKEN = -9,		    /* the connection failed earlier; no new work */
	RDMACPY_E_NOENT = -10,		    /* daemon: no such region or grant */
	RDMACPY_E_ACCESS = -11,		    /* daemon: rights not allowed on that region */
	RDMACPY_E_RANGE = -12,		    /* offset/length outside the region or grant */
	RDMACPY_E_LIMIT = -13,		    /* daemon: a configured limit is reached (or full) */
	RDMACPY_E_BUSY = -14,		    /* daemon: in use or too many requests */
	RDMACPY_E_NOTSUP = -15,		    /* not supported by the daemon or the device */
	RDMACPY_E_IO = -16,		    /* daemon: msync or I/O failed */
	RDMACPY_E_SHUTDOWN = -17,	    /* daemon: shutting down */
	RDMACPY_E_EXIST = -18,		    /* daemon: name taken */
	RDMACPY_E_SERVER = -19,		    /* daemon: internal error */
	RDMACPY_E_REMOTE_ACCESS = -20,	    /* completion: remote key/range/rights refused */
	RDMACPY_E_REMOTE_OP = -21,	    /* completion: remote operation or request error */
	RDMACPY_E_RETRY_EXCEEDED = -22,	    /* completion: transport retries exhausted */
	RDMACPY_E_RNR_RETRY_EXCEEDED = -23, /* completion: receiver not ready, retries out */
	RDMACPY_E_LOCAL_PROTECTION = -24,   /* completion: local buffer not registered right */
	RDMACPY_E_FLUSHED = -25,	    /* completion: flushed because the QP failed */
	RDMACPY_E_DEVICE = -26,		    /* completion or device error of another kind */
	RDMACPY_E_REGISTER = -27,	    /* memory registration failed */
	RDMACPY_E_INPROGRESS = -28,	    /* rdmacpy_op_status: not finished yet */
	RDMACPY_E_INTERNAL = -29,	    /* a bug: please report */
};
#define RDMACPY_E_LAST RDMACPY_E_INTERNAL

/*
 * Completion moderation: how often the application's thread is woken. Where the device has
 * hardware moderation (ibv_modify_cq) it is programmed with mod_count and mod_period_us.
 * Elsewhere (soft-RoCE) the library coalesces in software: in MODERATED and ADAPTIVE mode it
 * signals one work request in mod_count and relies on the reliable connection's ordering (a
 * signaled completion retires every earlier request); when unsignaled work would otherwise
 * wait longer than mod_period_us, or the application waits for it, a signaled zero-length
 * request is posted behind it. rdmacpy_conn_counters() shows the effect.
 */
enum rdmacpy_moderation {
	RDMACPY_MOD_POLL = 0,	   /* busy-poll the completion queue; no sleeping while busy */
	RDMACPY_MOD_EVENT = 1,	   /* every WR signaled, a wake-up per completion */
	RDMACPY_MOD_MODERATED = 2, /* one WR in mod_count signaled; wake at most per period */
	RDMACPY_MOD_ADAPTIVE = 3,  /* as MODERATED, count and period follow the load */
};

/* Registration cache policy for buffers the application did not register itself. */
enum rdmacpy_cache_mode {
	/* Registrations live only while an operation using them is in flight (safe whatever
	 * the application does with its memory afterwards). The default. */
	RDMACPY_CACHE_PER_OP = 0,
	/* Registrations are kept after the operation, LRU-evicted beyond cache_max_bytes. The
	 * application MUST call rdmacpy_cache_forget() before it frees, unmaps or remaps
	 * memory it passed to a transfer, or later transfers may use the old pages. */
	RDMACPY_CACHE_KEEP = 1,
};

enum rdmacpy_rights {
	RDMACPY_RIGHTS_RO = 1,
	RDMACPY_RIGHTS_RW = 2,
};

enum rdmacpy_region_kind {
	RDMACPY_KIND_ANON = 1,
	RDMACPY_KIND_HUGE = 2,
	RDMACPY_KIND_FILE = 3, /* file mapped MAP_SHARED: rdmacpy_flush applies */
};

/* Log levels (syslog priorities): smaller is more severe. */
enum rdmacpy_log_level {
	RDMACPY_LOG_ERR = 3,
	RDMACPY_LOG_WARN = 4,
	RDMACPY_LOG_INFO = 6,
	RDMACPY_LOG_DEBUG = 7,
};

/* A log message, without trailing newline. */
typedef void (*rdmacpy_log_fn)(void *ctx, int level, const char *msg);

struct rdmacpy_conn;
struct rdmacpy_grant;
struct rdmacpy_mem;
struct rdmacpy_op;

/* Completion callback of an asynchronous operation: status 0 or RDMACPY_E_*. */
typedef void (*rdmacpy_done_fn)(struct rdmacpy_op *op, int status, void *ctx);

/* Connection options: always start with rdmacpy_conn_opts_init(). */
struct rdmacpy_conn_opts {
	size_t size;	      /* sizeof(struct rdmacpy_conn_opts): lets the struct grow */
	uint32_t queue_depth; /* send WRs in flight per QP (default 128) */
	uint32_t nqp;	      /* queue pairs; large transfers are striped (default 1) */
	enum rdmacpy_moderation moderation; /* default RDMACPY_MOD_MODERATED */
	uint32_t mod_count;		    /* signal one WR in this many (default 16) */
	uint32_t mod_period_us; /* longest a completion waits to be seen (default 200) */
	int timeout_ms;		/* every wait: connect, control replies, sync I/O (10000) */
	uint32_t chunk_size;	/* bytes per WR at most (default 1 MiB); 0: the device's limit */
	const char *key_file;	/* pre-shared key file (mode 0600/0400), or NULL */
	const void *key;	/* or the key bytes themselves (used if key_file is NULL) */
	size_t key_len;		/* bytes at key; no key at all: only a --no-auth daemon */
	rdmacpy_log_fn log_fn;	/* NULL: no logging (default) */
	void *log_ctx;
	int log_level; /* least severe level delivered (default RDMACPY_LOG_WARN) */
	enum rdmacpy_cache_mode cache_mode; /* default RDMACPY_CACHE_PER_OP */
	size_t cache_max_bytes; /* KEEP: pinned bytes kept when idle (default 256 MiB) */
};

/* One region as rdmacpy_list reports it. */
struct rdmacpy_region_info {
	char name[RDMACPY_NAME_MAX];
	uint64_t size;
	enum rdmacpy_rights rights; /* the most a grant on it may have */
	enum rdmacpy_region_kind kind;
	bool dynamic; /* created at run time */
};

/* A byte range of a grant: offset from the grant's first byte. */
struct rdmacpy_range {
	uint64_t offset;
	uint64_t length;
};

/* The daemon's counters (rdmacpy_stat). Set size to sizeof(struct rdmacpy_stats) first: the
 * library fills only what fits, so a program built against an older, shorter struct keeps
 * working when counters are added. */
struct rdmacpy_stats {
	size_t size;
	uint64_t clients_connected; /* authenticated connections now */
	uint64_t clients_total;
	uint64_t grants_active;
	uint64_t grants_total;
	uint64_t mw_active;
	uint64_t regions;
	uint64_t bytes_registered;
	uint64_t bytes_dynamic;
	uint64_t refusals;
	uint64_t requests;
	uint64_t auth_failures;
	uint64_t copies_active;
	uint64_t copies_total;
	uint64_t bytes_copied;
	uint64_t mw_fallback;
	uint64_t uptime_ms;
	uint64_t clients_pending;    /* connections still authenticating */
	uint64_t auth_timeouts;	     /* closed for not authenticating in time */
	uint64_t pending_evicted;    /* closed to make room for newer connections */
	uint64_t jobs_queued;	     /* long requests waiting for a daemon worker */
	uint64_t jobs_running;	     /* long requests a worker runs now */
	uint64_t jobs_total;	     /* long requests started */
	uint64_t jobs_refused;	     /* refused: over the per-client bound */
	uint64_t jobs_cancelled;     /* cancelled: the requester went away */
	uint64_t grant_mr_per_grant; /* 1: each grant registers its own range */
	uint64_t flushes;	     /* FLUSH requests answered */
	uint64_t bytes_flushed;	     /* bytes FLUSH wrote to files */
};

/* This connection's own counters (rdmacpy_conn_counters). */
struct rdmacpy_counters {
	uint64_t wrs_posted;	/* send WRs posted, control SENDs included */
	uint64_t wrs_signaled;	/* of which signaled */
	uint64_t post_calls;	/* post_send calls: each carries a chain of WRs */
	uint64_t completions;	/* work completions polled (sends and receives) */
	uint64_t wakeups;	/* completion events taken plus moderation timer expiries */
	uint64_t bytes_read;	/* moved by successful reads */
	uint64_t bytes_written; /* moved by successful writes */
	uint64_t cache_hits;	/* registration cache */
	uint64_t cache_misses;
	uint64_t cache_evictions;
	bool hw_moderation; /* the device moderates completions (ibv_modify_cq) */
};

/* ---- errors ---- */

/* rdmacpy_strerror -- a short English description of 0 or an RDMACPY_E_* code */
RDMACPY_EXPORT const char *rdmacpy_strerror(int err);

/* ---- connections ---- */

/* rdmacpy_conn_opts_init -- fill o with defaults (and o->size) */
RDMACPY_EXPORT void rdmacpy_conn_opts_init(struct rdmacpy_conn_opts *o);

/* rdmacpy_connect -- connect to the daemon at host:port and authenticate; o may be NULL */
RDMACPY_EXPORT int rdmacpy_connect(const char *host, uint16_t port,
				   const struct rdmacpy_conn_opts *o, struct rdmacpy_conn **out);

/* rdmacpy_close -- disconnect and free everything the connection owns. Operations still in
 * flight fail with RDMACPY_E_BROKEN; grants, memory and operation handles of the connection
 * are freed with it and must not be used afterwards. */
RDMACPY_EXPORT void rdmacpy_close(struct rdmacpy_conn **c);

/* rdmacpy_conn_last_error -- the daemon's text of the last ERROR reply (or a local
 * explanation of the last failure); "" if none */
RDMACPY_EXPORT const char *rdmacpy_conn_last_error(const struct rdmacpy_conn *c);

/* rdmacpy_conn_counters -- copy this connection's counters */
RDMACPY_EXPORT int rdmacpy_conn_counters(const struct rdmacpy_conn *c,
					 struct rdmacpy_counters *out);

/* ---- control requests ---- */

/* rdmacpy_list -- fill up to cap entries of out; *total (may be NULL) gets how many regions
 * the daemon has. Returns the number of entries filled. */
RDMACPY_EXPORT int rdmacpy_list(struct rdmacpy_conn *c, struct rdmacpy_region_info *out, size_t cap,
				size_t *total);

/* rdmacpy_open -- a grant on region[offset, offset + length) with rights */
RDMACPY_EXPORT int rdmacpy_open(struct rdmacpy_conn *c, const char *region, uint64_t offset,
				uint64_t length, enum rdmacpy_rights rights,
				struct rdmacpy_grant **g);

/* rdmacpy_grant_close -- end a grant (its key stops working) and free it; returns the
 * daemon's answer, the grant is freed in any case */
RDMACPY_EXPORT int rdmacpy_grant_close(struct rdmacpy_grant **g);

/* rdmacpy_grant_length -- bytes the grant covers */
RDMACPY_EXPORT uint64_t rdmacpy_grant_length(const struct rdmacpy_grant *g);

/* rdmacpy_grant_rights -- RDMACPY_RIGHTS_RO or RDMACPY_RIGHTS_RW */
RDMACPY_EXPORT int rdmacpy_grant_rights(const struct rdmacpy_grant *g);

/* rdmacpy_grant_is_memory_window -- whether the grant is a memory window bound to this
 * connection (false: the daemon's device fell back to a region key) */
RDMACPY_EXPORT bool rdmacpy_grant_is_memory_window(const struct rdmacpy_grant *g);

/* rdmacpy_flush -- make a range durable: of grant g (offset relative to it) when g is not
 * NULL, else of the named region */
RDMACPY_EXPORT int rdmacpy_flush(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				 const char *region, uint64_t offset, uint64_t length);

/* rdmacpy_checksum -- the daemon's BLAKE2b-256 of region[offset, offset + length) */
RDMACPY_EXPORT int rdmacpy_checksum(struct rdmacpy_conn *c, const char *region, uint64_t offset,
				    uint64_t length, uint8_t out[RDMACPY_CHECKSUM_LEN]);

/* rdmacpy_stat -- the daemon's counters into out (out->size set by the caller; a daemon that
 * does not know a counter reports 0 for it) */
RDMACPY_EXPORT int rdmacpy_stat(struct rdmacpy_conn *c, struct rdmacpy_stats *out);

/* rdmacpy_copy_progress_fn -- how far a third-party copy has come: done of total bytes */
typedef void (*rdmacpy_copy_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/*
 * rdmacpy_copy -- third-party copy: the daemon of c writes its src_region[src_off, + length)
 * into dst_region[dst_off, + length) on the daemon at dst_host:dst_port, connecting there
 * itself with its cluster key; the bytes never pass through this process. progress (may be
 * NULL) runs with ctx as the daemon reports progress, at most about ten times a second; each
 * report restarts the connection's timeout, so only a copy that stops advancing times out.
 * *bytes_copied (may be NULL) gets how many bytes the daemon wrote, also on failure (then at
 * least the last progress report).
 * RDMACPY_E_CONNECT: the source daemon could not reach the destination daemon.
 */
RDMACPY_EXPORT int rdmacpy_copy(struct rdmacpy_conn *c, const char *src_region, uint64_t src_off,
				uint64_t length, const char *dst_host, uint16_t dst_port,
				const char *dst_region, uint64_t dst_off,
				rdmacpy_copy_progress_fn progress, void *ctx,
				uint64_t *bytes_copied);

/* ---- memory ---- */

/* rdmacpy_mem_reg -- register [addr, addr + len) for transfers: buffers inside a registered
 * range skip the registration cache */
RDMACPY_EXPORT int rdmacpy_mem_reg(struct rdmacpy_conn *c, void *addr, size_t len,
				   struct rdmacpy_mem **m);

/* rdmacpy_mem_dereg -- undo rdmacpy_mem_reg; no transfer may still use it */
RDMACPY_EXPORT void rdmacpy_mem_dereg(struct rdmacpy_mem **m);

/* rdmacpy_cache_forget -- drop cached registrations overlapping [addr, addr + len): call it
 * before freeing or unmapping such memory in RDMACPY_CACHE_KEEP mode */
RDMACPY_EXPORT void rdmacpy_cache_forget(struct rdmacpy_conn *c, const void *addr, size_t len);

/* ---- synchronous transfers (bounded by the connection's timeout) ---- */

/* rdmacpy_read -- grant[remote_off, + len) -> buf */
RDMACPY_EXPORT int rdmacpy_read(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				uint64_t remote_off, void *buf, size_t len);

/* rdmacpy_write -- buf -> grant[remote_off, + len) */
RDMACPY_EXPORT int rdmacpy_write(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				 uint64_t remote_off, const void *buf, size_t len);

/* rdmacpy_readv -- the grant's ranges, in order, into the iovecs, in order; both sides must
 * total the same number of bytes */
RDMACPY_EXPORT int rdmacpy_readv(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				 const struct iovec *iov, int iovcnt,
				 const struct rdmacpy_range *ranges, int nranges);

/* rdmacpy_writev -- the iovecs, in order, into the grant's ranges, in order */
RDMACPY_EXPORT int rdmacpy_writev(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				  const struct iovec *iov, int iovcnt,
				  const struct rdmacpy_range *ranges, int nranges);

/* ---- asynchronous transfers ---- */

/*
 * The submit calls start a transfer and return at once. cb (may be NULL) runs once, from
 * rdmacpy_progress or a wait, when the transfer has finished and the device no longer
 * touches the buffers. *op (op may be NULL: the handle frees itself after the callback)
 * stays valid until rdmacpy_op_free. The buffers and the grant must stay valid until then.
 */

/* rdmacpy_submit_read -- asynchronous rdmacpy_read */
RDMACPY_EXPORT int rdmacpy_submit_read(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				       uint64_t remote_off, void *buf, size_t len,
				       rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_submit_write -- asynchronous rdmacpy_write */
RDMACPY_EXPORT int rdmacpy_submit_write(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
					uint64_t remote_off, const void *buf, size_t len,
					rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_submit_readv -- asynchronous rdmacpy_readv */
RDMACPY_EXPORT int rdmacpy_submit_readv(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
					const struct iovec *iov, int iovcnt,
					const struct rdmacpy_range *ranges, int nranges,
					rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_submit_writev -- asynchronous rdmacpy_writev */
RDMACPY_EXPORT int rdmacpy_submit_writev(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
					 const struct iovec *iov, int iovcnt,
					 const struct rdmacpy_range *ranges, int nranges,
					 rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_conn_fd -- a file descriptor that becomes readable when completions arrive; call
 * rdmacpy_progress then. Also call it after rdmacpy_conn_next_timeout() milliseconds. */
RDMACPY_EXPORT int rdmacpy_conn_fd(const struct rdmacpy_conn *c);

/* rdmacpy_conn_next_timeout -- milliseconds after which rdmacpy_progress must run even if
 * the fd stays quiet (moderation gathers completions without an event); -1: only on fd */
RDMACPY_EXPORT int rdmacpy_conn_next_timeout(const struct rdmacpy_conn *c);

/* rdmacpy_progress -- drain completions, post queued work, run callbacks; waits up to
 * timeout_ms (0: do not wait) for at least one operation to finish. Returns the number of
 * operations that finished. */
RDMACPY_EXPORT int rdmacpy_progress(struct rdmacpy_conn *c, int timeout_ms);

/* rdmacpy_op_status -- 0 or RDMACPY_E_* when finished, RDMACPY_E_INPROGRESS before */
RDMACPY_EXPORT int rdmacpy_op_status(const struct rdmacpy_op *op);

/* rdmacpy_op_wait -- progress the connection until op finishes; its status, or
 * RDMACPY_E_TIMEOUT (the op keeps running) */
RDMACPY_EXPORT int rdmacpy_op_wait(struct rdmacpy_op *op, int timeout_ms);

/* rdmacpy_op_free -- release an operation handle; one still running is freed when it ends */
RDMACPY_EXPORT void rdmacpy_op_free(struct rdmacpy_op **op);

#ifdef __cplusplus
}
#endif

#endif /* RDMACPY_H */
