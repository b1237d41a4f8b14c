/* SPDX-License-Identifier: BSD-3-Clause */
/* rdmacpy.h -- librdmacpy: networked memory copy over RDMA, the one public header */
#ifndef RDMACPY_H
#define RDMACPY_H

/*
 * librdmacpy connects to an rdmacpyd daemon, opens grants on its regions and moves bytes
 * between local memory and a grant with one-sided RDMA READ/WRITE.
 *
 * Conventions:
 * - Names are rdmacpy_<object>_<verb>: conn, grant, region, daemon, mem, op. Transfers are
 *   rdmacpy_read, rdmacpy_write and their v forms.
 * - Every function returning int returns 0 (or a count, where it says so) on success and a
 *   negative RDMACPY_E_* code on failure; rdmacpy_strerror() names it. The codes lie far
 *   below errno's range, so a code can never be mistaken for a -errno.
 * - Every request to the daemon and every transfer has an asynchronous form (_async) that
 *   returns at once; it completes through rdmacpy_conn_progress(), which the application calls
 *   when rdmacpy_conn_fd() is readable. The synchronous forms are that, plus a wait. Results
 *   are stored through the caller's pointers before the completion callback runs, so those
 *   must stay valid until then.
 * - Handles are opaque. Destructors (rdmacpy_conn_close, rdmacpy_grant_close,
 *   rdmacpy_mem_dereg, rdmacpy_op_free) accept NULL or a pointer to NULL and clear the
 *   caller's pointer.
 * - Structures the library fills start with a size field the caller sets to sizeof(the
 *   struct); the library fills what fits, so programs built against this header keep working
 *   when later versions add fields. rdmacpy_region_list takes the element size instead.
 * - The library never prints and never exits; it logs through the callback in the options.
 * - A connection is not thread-safe: use it from one thread at a time. Callbacks run in the
 *   thread that calls rdmacpy_conn_progress, rdmacpy_op_wait or a synchronous function. A
 *   callback may start new operations on its connection but must not close it (do that once
 *   the call that ran the callback has returned).
 * - A connection breaks, and every later call on it returns RDMACPY_E_BROKEN, when a transfer
 *   fails on the wire (the queue pair is then in its error state: every WR behind the failed
 *   one is flushed), when a request or a synchronous transfer runs out of time (an answer that
 *   still comes could not be told from another's), or when the daemon goes away. Open a new
 *   connection to carry on, or set rdmacpy_conn_opts.reconnect_ms: a break on the wire is
 *   then recovered from within that bound, and what it interrupted runs again.
 * - Every wait and every request is bounded by a timeout; a negative timeout_ms argument
 *   means "the connection's timeout" (rdmacpy_conn_opts.timeout_ms).
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

#define RDMACPY_VERSION_MAJOR 1
#define RDMACPY_VERSION_MINOR 0

#define RDMACPY_NAME_MAX     64 /* region name, including the NUL */
#define RDMACPY_CHECKSUM_LEN 32 /* BLAKE2b-256 digest */
#define RDMACPY_MAX_QP	     16 /* queue pairs per connection */
#define RDMACPY_MAX_RAILS    8	/* rails per connection */
#define RDMACPY_RAILS_ALL    UINT32_MAX /* rdmacpy_conn_opts.rails: every address the daemon has */

/* Error codes: 0 is success, the rest negative and far outside errno's range. */
#define RDMACPY_E_BASE (-100000)
enum rdmacpy_error {
	RDMACPY_OK = 0,
	RDMACPY_E_INVAL = RDMACPY_E_BASE - 1,	  /* an argument makes no sense */
	RDMACPY_E_NOMEM = RDMACPY_E_BASE - 2,	  /* out of memory */
	RDMACPY_E_NODEV = RDMACPY_E_BASE - 3,	  /* no RDMA device or address for the host */
	RDMACPY_E_CONNECT = RDMACPY_E_BASE - 4,	  /* the daemon cannot be reached or refused */
	RDMACPY_E_PROTO = RDMACPY_E_BASE - 5,	  /* the peer does not speak this protocol */
	RDMACPY_E_AUTH = RDMACPY_E_BASE - 6,	  /* authentication failed (either side's MAC) */
	RDMACPY_E_KEY = RDMACPY_E_BASE - 7,	  /* key file unreadable, wrong size or mode */
	RDMACPY_E_TIMEOUT = RDMACPY_E_BASE - 8,	  /* a wait or a request ran out of time */
	RDMACPY_E_BROKEN = RDMACPY_E_BASE - 9,	  /* the connection failed earlier; no new work */
	RDMACPY_E_NOENT = RDMACPY_E_BASE - 10,	  /* daemon: no such region or grant */
	RDMACPY_E_ACCESS = RDMACPY_E_BASE - 11,	  /* daemon: rights not allowed on that region */
	RDMACPY_E_RANGE = RDMACPY_E_BASE - 12,	  /* offset/length outside the region or grant */
	RDMACPY_E_LIMIT = RDMACPY_E_BASE - 13,	  /* daemon: a configured limit is reached */
	RDMACPY_E_BUSY = RDMACPY_E_BASE - 14,	  /* daemon: in use, or too many requests */
	RDMACPY_E_NOTSUP = RDMACPY_E_BASE - 15,	  /* not supported by the daemon or the device */
	RDMACPY_E_IO = RDMACPY_E_BASE - 16,	  /* daemon: file or disk I/O failed */
	RDMACPY_E_SHUTDOWN = RDMACPY_E_BASE - 17, /* daemon: shutting down */
	RDMACPY_E_EXIST = RDMACPY_E_BASE - 18,	  /* daemon: name taken */
	RDMACPY_E_SERVER = RDMACPY_E_BASE - 19,	  /* daemon: internal error */
	RDMACPY_E_REMOTE_ACCESS =
		RDMACPY_E_BASE - 20,		   /* transfer: remote key/range/rights refused */
	RDMACPY_E_REMOTE_OP = RDMACPY_E_BASE - 21, /* transfer: remote operation error */
	RDMACPY_E_RETRY_EXCEEDED = RDMACPY_E_BASE - 22,	    /* transfer: peer unreachable */
	RDMACPY_E_RNR_RETRY_EXCEEDED = RDMACPY_E_BASE - 23, /* transfer: receiver not ready */
	RDMACPY_E_LOCAL_PROTECTION =
		RDMACPY_E_BASE - 24,		    /* transfer: buffer not registered right */
	RDMACPY_E_FLUSHED = RDMACPY_E_BASE - 25,    /* transfer: flushed after an earlier failure */
	RDMACPY_E_DEVICE = RDMACPY_E_BASE - 26,	    /* the RDMA device failed */
	RDMACPY_E_REGISTER = RDMACPY_E_BASE - 27,   /* memory registration failed */
	RDMACPY_E_INPROGRESS = RDMACPY_E_BASE - 28, /* not finished yet (rdmacpy_op_status) */
	RDMACPY_E_INTERNAL = RDMACPY_E_BASE - 29,   /* a bug: please report */
	RDMACPY_E_CANCELED = RDMACPY_E_BASE - 30,   /* the connection was closed under it */
	RDMACPY_E_AMBIGUOUS = RDMACPY_E_BASE - 31,  /* directory: several nodes serve that name */
	RDMACPY_E_STALE = RDMACPY_E_BASE - 32,	    /* reconnecting: the region was recreated */
	RDMACPY_E_NO_RAIL = RDMACPY_E_BASE - 33,    /* every rail of the connection is down */
};
#define RDMACPY_E_FIRST RDMACPY_E_INVAL
#define RDMACPY_E_LAST	RDMACPY_E_NO_RAIL

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
	 * application MUST call rdmacpy_mem_forget() before it frees, unmaps or remaps memory it
	 * passed to a transfer, or later transfers may use the old pages. */
	RDMACPY_CACHE_KEEP = 1,
};

enum rdmacpy_rights {
	RDMACPY_RIGHTS_RO = 1,
	RDMACPY_RIGHTS_RW = 2,
};

enum rdmacpy_region_kind {
	RDMACPY_KIND_ANON = 1,
	RDMACPY_KIND_HUGE = 2,
	RDMACPY_KIND_FILE = 3, /* a file's bytes: rdmacpy_grant_flush makes them durable */
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

/* Progress of a third-party copy: done of total bytes. */
typedef void (*rdmacpy_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Connection options: always start with rdmacpy_conn_opts_init(). */
struct rdmacpy_conn_opts {
	size_t size;	      /* sizeof(struct rdmacpy_conn_opts): lets the struct grow */
	uint32_t queue_depth; /* send WRs in flight per QP (default 128) */
	uint32_t nqp;	      /* queue pairs; large transfers are striped (default 1) */
	enum rdmacpy_moderation moderation; /* default RDMACPY_MOD_MODERATED */
	uint32_t mod_count;		    /* signal one WR in this many (default 16) */
	uint32_t mod_period_us; /* longest a completion waits to be seen (default 200) */
	int timeout_ms;		/* connecting, each request, each synchronous call (10000) */
	uint32_t chunk_size;	/* bytes per WR at most (default 1 MiB); 0: the device's limit */
	const char *key_file;	/* pre-shared key file (mode 0600/0400), or NULL */
	const void *key;	/* or the key bytes themselves (used if key_file is NULL) */
	size_t key_len;		/* bytes at key; no key at all: only a --no-auth daemon */
	rdmacpy_log_fn log_fn;	/* NULL: no logging (default) */
	void *log_ctx;
	int log_level; /* least severe level delivered (default RDMACPY_LOG_WARN) */
	enum rdmacpy_cache_mode cache_mode; /* default RDMACPY_CACHE_PER_OP */
	size_t cache_max_bytes; /* KEEP: pinned bytes kept when idle (default 256 MiB) */
	/* the local RDMA device (e.g. "mlx5_0", "rxe0") to connect from, NULL for the one the
	 * route picks; port 0 is any port of it. Connecting fails with RDMACPY_E_NODEV when
	 * the daemon cannot be reached from there. */
	const char *device;
	uint8_t device_port;
	/* 0 (default): a connection that breaks stays broken. Otherwise a connection that breaks
	 * on the wire (the daemon went away, a disconnect, retries exceeded) connects again for
	 * up to this many milliseconds, with a growing pause between attempts, authenticates,
	 * opens its live grants again and re-runs the transfers and requests the break
	 * interrupted, whole; they fail only when the bound passes. A grant whose region the
	 * daemon recreated meanwhile (a restart recreates memory regions; a file region stays
	 * the same while its file does) is never written or read again: the connection fails
	 * with RDMACPY_E_STALE. CREATE, DESTROY and COPY in flight at the break fail (they are not
	 * safe to run twice), and so do transfers and requests on a connection that failed for
	 * another reason (a remote access error, a request that timed out). */
	uint32_t reconnect_ms;
	/* 0 or 1 (default): one rail, to the address given. N > 1 (or RDMACPY_RAILS_ALL): once
	 * connected, the library learns every address the daemon serves on (one per RDMA port)
	 * and opens nqp queue pairs to each, up to N rails (RDMACPY_MAX_RAILS, and
	 * RDMACPY_MAX_QP queue pairs in all), each from the local port the route to it leaves
	 * through; a rail that cannot connect is skipped (the log says why). A grant then holds
	 * a memory window per queue pair. Large transfers are striped over the rails by their
	 * ports' rates, corrected by the rate each rail achieves; small ones go to one rail in
	 * turn. A rail that fails (a completion error, a disconnect) is taken out: its
	 * unfinished work requests run again on the rails left, and it reconnects in the
	 * background and rejoins. Work fails only when no rail is left (RDMACPY_E_NO_RAIL). */
	uint32_t rails;
};

/* One region as rdmacpy_region_list reports it. */
struct rdmacpy_region_info {
	char name[RDMACPY_NAME_MAX];
	uint64_t size;
	enum rdmacpy_rights rights; /* the most a grant on it may have */
	enum rdmacpy_region_kind kind;
	bool dynamic; /* created at run time (rdmacpy_region_create) */
};

/* A byte range of a grant: offset from the grant's first byte. */
struct rdmacpy_range {
	uint64_t offset;
	uint64_t length;
};

/* The daemon's counters (rdmacpy_daemon_stat). Set size first; a daemon that does not know
 * a counter reports 0 for it. */
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

/* One address the daemon serves on (rdmacpy_daemon_addrs): a daemon with several RDMA ports
 * listens on one address per port. Set size first. */
struct rdmacpy_daemon_addr {
	size_t size;
	char addr[48];	    /* numeric IPv4 or IPv6 address */
	char device[32];    /* the daemon's RDMA device behind it ("mlx5_0", "rxe1") */
	uint16_t port;	    /* the rdma_cm port it listens on */
	uint8_t port_num;   /* the device's port number, >= 1 */
	uint32_t rate_mbps; /* the port's active rate (speed x width); 0 unknown */
};

/* This connection's own counters (rdmacpy_conn_counters). Set size first. */
struct rdmacpy_counters {
	size_t size;
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
	uint64_t express;	   /* synchronous transfers that took the express path */
	uint64_t requests;	   /* control requests sent */
	uint64_t connect_attempts; /* rdma_cm connects, retries after BUSY included */
	bool hw_moderation;	   /* the device moderates completions (ibv_modify_cq) */
	uint64_t reconnects;	   /* breaks the connection recovered from (reconnect_ms) */
	uint64_t reruns;	   /* transfers and requests re-run after a reconnect */
	uint32_t rails;		   /* rails of the connection (opts.rails; those that connected) */
	uint32_t rails_up;	   /* of which taking work now */
	uint64_t failovers;	   /* rails taken out after a failure */
	uint64_t wrs_reissued;	   /* work requests run again on another rail */
	uint64_t rejoins;	   /* rails that came back after a failover */
};

/* ---- errors ---- */

/* rdmacpy_strerror -- a short English description of 0 or an RDMACPY_E_* code */
RDMACPY_EXPORT const char *rdmacpy_strerror(int err);

/* ---- connections ---- */

/* rdmacpy_conn_opts_init -- fill o with defaults (and o->size) */
RDMACPY_EXPORT void rdmacpy_conn_opts_init(struct rdmacpy_conn_opts *o);

/* rdmacpy_conn_open -- connect to the daemon at host:port and authenticate; o may be NULL */
RDMACPY_EXPORT int rdmacpy_conn_open(const char *host, uint16_t port,
				     const struct rdmacpy_conn_opts *o, struct rdmacpy_conn **c);

/*
 * rdmacpy_conn_open_async -- start connecting: *c is the connection at once, usable for
 * rdmacpy_conn_fd, rdmacpy_conn_progress and rdmacpy_conn_close; the requests and transfers
 * it is given meanwhile wait until it is connected. cb runs, and *op finishes, when every
 * queue pair is connected and authenticated or when connecting failed (within the timeout).
 */
RDMACPY_EXPORT int rdmacpy_conn_open_async(const char *host, uint16_t port,
					   const struct rdmacpy_conn_opts *o, rdmacpy_done_fn cb,
					   void *ctx, struct rdmacpy_conn **c,
					   struct rdmacpy_op **op);

/* rdmacpy_conn_close -- disconnect and free everything the connection owns. Operations still
 * in flight fail with RDMACPY_E_CANCELED (their callbacks run); grants, memory and operation
 * handles of the connection are freed with it and must not be used afterwards. */
RDMACPY_EXPORT void rdmacpy_conn_close(struct rdmacpy_conn **c);

/* rdmacpy_conn_status -- 0 when connected, RDMACPY_E_INPROGRESS while connecting (or while
 * connecting again after a break, with reconnect_ms), the reason connecting failed, or
 * RDMACPY_E_BROKEN once a connected connection broke (RDMACPY_E_STALE: it came back to a
 * recreated region; rdmacpy_conn_last_error says why) */
RDMACPY_EXPORT int rdmacpy_conn_status(const struct rdmacpy_conn *c);

/* rdmacpy_conn_fd -- one file descriptor for everything the connection waits on (completions,
 * connection events, its timers): when it is readable, call rdmacpy_conn_progress. It stays
 * the same for the connection's life. */
RDMACPY_EXPORT int rdmacpy_conn_fd(const struct rdmacpy_conn *c);

/* rdmacpy_conn_next_timeout -- milliseconds until the connection needs a call even if the fd
 * stays quiet, -1 for none. The fd covers these deadlines too (a timer inside it); this is
 * for loops that prefer to sleep with a timeout. */
RDMACPY_EXPORT int rdmacpy_conn_next_timeout(const struct rdmacpy_conn *c);

/* rdmacpy_conn_progress -- take what the fd signalled, post queued work, run callbacks; waits
 * up to timeout_ms (0: not at all) for at least one operation to finish. Returns the number
 * of operations that finished. */
RDMACPY_EXPORT int rdmacpy_conn_progress(struct rdmacpy_conn *c, int timeout_ms);

/* rdmacpy_conn_last_error -- the daemon's text of the last refusal (or a local explanation of
 * the last failure); "" if none */
RDMACPY_EXPORT const char *rdmacpy_conn_last_error(const struct rdmacpy_conn *c);

/* rdmacpy_conn_counters -- copy this connection's counters (out->size set) */
RDMACPY_EXPORT int rdmacpy_conn_counters(const struct rdmacpy_conn *c,
					 struct rdmacpy_counters *out);

/* ---- regions ---- */

/* rdmacpy_region_list -- up to cap regions into out, whose elements are elem_size bytes
 * (sizeof(struct rdmacpy_region_info)); *total (may be NULL) gets how many the daemon has.
 * Returns the number of entries filled. */
RDMACPY_EXPORT int rdmacpy_region_list(struct rdmacpy_conn *c, struct rdmacpy_region_info *out,
				       size_t elem_size, size_t cap, size_t *total);

/* rdmacpy_region_list_async -- asynchronous rdmacpy_region_list; *count gets the number of
 * entries filled */
RDMACPY_EXPORT int rdmacpy_region_list_async(struct rdmacpy_conn *c,
					     struct rdmacpy_region_info *out, size_t elem_size,
					     size_t cap, size_t *count, size_t *total,
					     rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_region_checksum -- the daemon's BLAKE2b-256 of region[offset, offset + length) */
RDMACPY_EXPORT int rdmacpy_region_checksum(struct rdmacpy_conn *c, const char *region,
					   uint64_t offset, uint64_t length,
					   uint8_t out[RDMACPY_CHECKSUM_LEN]);

/* rdmacpy_region_checksum_async -- asynchronous rdmacpy_region_checksum */
RDMACPY_EXPORT int rdmacpy_region_checksum_async(struct rdmacpy_conn *c, const char *region,
						 uint64_t offset, uint64_t length,
						 uint8_t out[RDMACPY_CHECKSUM_LEN],
						 rdmacpy_done_fn cb, void *ctx,
						 struct rdmacpy_op **op);

/* rdmacpy_region_flush -- make region[offset, offset + length) durable (a file region's bytes
 * are on stable storage when it returns 0; other regions have nothing to do) */
RDMACPY_EXPORT int rdmacpy_region_flush(struct rdmacpy_conn *c, const char *region, uint64_t offset,
					uint64_t length);

/* rdmacpy_region_flush_async -- asynchronous rdmacpy_region_flush */
RDMACPY_EXPORT int rdmacpy_region_flush_async(struct rdmacpy_conn *c, const char *region,
					      uint64_t offset, uint64_t length, rdmacpy_done_fn cb,
					      void *ctx, struct rdmacpy_op **op);

/* rdmacpy_region_create -- an anonymous region of at least size bytes on a daemon run with
 * --allow-create; *allocated (may be NULL) gets its size (rounded up to pages) */
RDMACPY_EXPORT int rdmacpy_region_create(struct rdmacpy_conn *c, const char *region, uint64_t size,
					 enum rdmacpy_rights rights, uint64_t *allocated);

/* rdmacpy_region_create_async -- asynchronous rdmacpy_region_create */
RDMACPY_EXPORT int rdmacpy_region_create_async(struct rdmacpy_conn *c, const char *region,
					       uint64_t size, enum rdmacpy_rights rights,
					       uint64_t *allocated, rdmacpy_done_fn cb, void *ctx,
					       struct rdmacpy_op **op);

/* rdmacpy_region_destroy -- remove a region made by rdmacpy_region_create; RDMACPY_E_BUSY
 * while grants, copies or requests use it */
RDMACPY_EXPORT int rdmacpy_region_destroy(struct rdmacpy_conn *c, const char *region);

/* rdmacpy_region_destroy_async -- asynchronous rdmacpy_region_destroy */
RDMACPY_EXPORT int rdmacpy_region_destroy_async(struct rdmacpy_conn *c, const char *region,
						rdmacpy_done_fn cb, void *ctx,
						struct rdmacpy_op **op);

/*
 * rdmacpy_region_copy -- third-party copy: the daemon of c writes its src_region[src_off,
 * + length) into dst_region[dst_off, + length) on the daemon at dst_host:dst_port, connecting
 * there itself with its cluster key; the bytes never pass through this process. progress (may
 * be NULL) runs with pctx as the daemon reports progress, at most about ten times a second, and
 * must not call into the connection; the daemon reports at least every second while the copy
 * runs (connecting, writing, flushing), and each report restarts the request's timeout, so
 * only a copy whose daemon stops reporting times out.
 * *copied (may be NULL) gets how many bytes the daemon wrote, also on failure (then at least
 * the last progress report). RDMACPY_E_CONNECT: the source daemon could not reach the
 * destination daemon.
 */
RDMACPY_EXPORT int rdmacpy_region_copy(struct rdmacpy_conn *c, const char *src_region,
				       uint64_t src_off, uint64_t length, const char *dst_host,
				       uint16_t dst_port, const char *dst_region, uint64_t dst_off,
				       rdmacpy_progress_fn progress, void *pctx, uint64_t *copied);

/* rdmacpy_region_copy_async -- asynchronous rdmacpy_region_copy */
RDMACPY_EXPORT int rdmacpy_region_copy_async(struct rdmacpy_conn *c, const char *src_region,
					     uint64_t src_off, uint64_t length,
					     const char *dst_host, uint16_t dst_port,
					     const char *dst_region, uint64_t dst_off,
					     rdmacpy_progress_fn progress, void *pctx,
					     uint64_t *copied, rdmacpy_done_fn cb, void *ctx,
					     struct rdmacpy_op **op);

/* ---- the daemon ---- */

/* rdmacpy_daemon_stat -- the daemon's counters into out (out->size set) */
RDMACPY_EXPORT int rdmacpy_daemon_stat(struct rdmacpy_conn *c, struct rdmacpy_stats *out);

/* rdmacpy_daemon_stat_async -- asynchronous rdmacpy_daemon_stat */
RDMACPY_EXPORT int rdmacpy_daemon_stat_async(struct rdmacpy_conn *c, struct rdmacpy_stats *out,
					     rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_daemon_addrs -- every address the daemon serves on, its main one first: up to cap
 * entries into out (each entry's size set by the caller, all the same), *count how many it
 * has (more than cap: ask with a larger array). RDMACPY_E_NOTSUP from a daemon older than
 * protocol 3, which serves one address only. */
RDMACPY_EXPORT int rdmacpy_daemon_addrs(struct rdmacpy_conn *c, struct rdmacpy_daemon_addr *out,
					size_t cap, size_t *count);

/* rdmacpy_daemon_addrs_async -- asynchronous rdmacpy_daemon_addrs; out and count must live
 * until the callback */
RDMACPY_EXPORT int rdmacpy_daemon_addrs_async(struct rdmacpy_conn *c,
					      struct rdmacpy_daemon_addr *out, size_t cap,
					      size_t *count, rdmacpy_done_fn cb, void *ctx,
					      struct rdmacpy_op **op);

/* ---- grants ---- */

/* rdmacpy_grant_open -- a grant on region[offset, offset + length) with rights. With several
 * queue pairs it is opened on all of them at once (a window works only on its own QP). */
RDMACPY_EXPORT int rdmacpy_grant_open(struct rdmacpy_conn *c, const char *region, uint64_t offset,
				      uint64_t length, enum rdmacpy_rights rights,
				      struct rdmacpy_grant **g);

/* rdmacpy_grant_open_async -- asynchronous rdmacpy_grant_open; *g is set when it succeeds */
RDMACPY_EXPORT int rdmacpy_grant_open_async(struct rdmacpy_conn *c, const char *region,
					    uint64_t offset, uint64_t length,
					    enum rdmacpy_rights rights, struct rdmacpy_grant **g,
					    rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_grant_close -- end a grant (its key stops working) and free it; returns the daemon's
 * answer, the grant is freed in any case */
RDMACPY_EXPORT int rdmacpy_grant_close(struct rdmacpy_grant **g);

/* rdmacpy_grant_close_async -- asynchronous rdmacpy_grant_close: *g is cleared at once, and the
 * grant must not be used for new transfers from then on */
RDMACPY_EXPORT int rdmacpy_grant_close_async(struct rdmacpy_grant **g, rdmacpy_done_fn cb,
					     void *ctx, struct rdmacpy_op **op);

/* rdmacpy_grant_flush -- make [offset, offset + length) of the grant durable */
RDMACPY_EXPORT int rdmacpy_grant_flush(struct rdmacpy_grant *g, uint64_t offset, uint64_t length);

/* rdmacpy_grant_flush_async -- asynchronous rdmacpy_grant_flush */
RDMACPY_EXPORT int rdmacpy_grant_flush_async(struct rdmacpy_grant *g, uint64_t offset,
					     uint64_t length, rdmacpy_done_fn cb, void *ctx,
					     struct rdmacpy_op **op);

/* rdmacpy_grant_length -- bytes the grant covers */
RDMACPY_EXPORT uint64_t rdmacpy_grant_length(const struct rdmacpy_grant *g);

/* rdmacpy_grant_rights -- RDMACPY_RIGHTS_RO or RDMACPY_RIGHTS_RW */
RDMACPY_EXPORT int rdmacpy_grant_rights(const struct rdmacpy_grant *g);

/* rdmacpy_grant_is_memory_window -- whether the grant is a memory window bound to this
 * connection (false: the daemon's device fell back to a region key) */
RDMACPY_EXPORT bool rdmacpy_grant_is_memory_window(const struct rdmacpy_grant *g);

/* ---- memory ---- */

/* rdmacpy_mem_reg -- register [addr, addr + len) for transfers: buffers inside a registered
 * range skip the registration cache. Memory that cannot be written (mapped read-only) is
 * registered for reading: it can be the source of writes, and reads into it do not use this
 * registration. RDMACPY_E_INPROGRESS while the connection is still connecting (the device is
 * not known before) */
RDMACPY_EXPORT int rdmacpy_mem_reg(struct rdmacpy_conn *c, void *addr, size_t len,
				   struct rdmacpy_mem **m);

/* rdmacpy_mem_dereg -- undo rdmacpy_mem_reg; no transfer may still use it */
RDMACPY_EXPORT void rdmacpy_mem_dereg(struct rdmacpy_mem **m);

/* rdmacpy_mem_forget -- drop cached registrations overlapping [addr, addr + len): call it before
 * freeing or unmapping such memory in RDMACPY_CACHE_KEEP mode */
RDMACPY_EXPORT void rdmacpy_mem_forget(struct rdmacpy_conn *c, const void *addr, size_t len);

/* ---- transfers ---- */

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

/*
 * The _async transfers start at once. cb (may be NULL) runs once the transfer has finished and
 * the device no longer touches the buffers. *op (op may be NULL: the handle frees itself after
 * the callback) stays valid until rdmacpy_op_free. The buffers and the grant must stay valid
 * until then.
 */

/* rdmacpy_read_async -- asynchronous rdmacpy_read */
RDMACPY_EXPORT int rdmacpy_read_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				      uint64_t remote_off, void *buf, size_t len,
				      rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_write_async -- asynchronous rdmacpy_write */
RDMACPY_EXPORT int rdmacpy_write_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				       uint64_t remote_off, const void *buf, size_t len,
				       rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_readv_async -- asynchronous rdmacpy_readv */
RDMACPY_EXPORT int rdmacpy_readv_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
				       const struct iovec *iov, int iovcnt,
				       const struct rdmacpy_range *ranges, int nranges,
				       rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* rdmacpy_writev_async -- asynchronous rdmacpy_writev */
RDMACPY_EXPORT int rdmacpy_writev_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
					const struct iovec *iov, int iovcnt,
					const struct rdmacpy_range *ranges, int nranges,
					rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op);

/* ---- operations ---- */

/* rdmacpy_op_status -- 0 or RDMACPY_E_* when finished, RDMACPY_E_INPROGRESS before */
RDMACPY_EXPORT int rdmacpy_op_status(const struct rdmacpy_op *op);

/* rdmacpy_op_wait -- progress the connection until op finishes; its status, or
 * RDMACPY_E_TIMEOUT (the op keeps running) */
RDMACPY_EXPORT int rdmacpy_op_wait(struct rdmacpy_op *op, int timeout_ms);

/* rdmacpy_op_free -- release an operation handle; one still running is freed when it ends */
RDMACPY_EXPORT void rdmacpy_op_free(struct rdmacpy_op **op);

/* ---- the cluster directory ---- */

/*
 * Daemons run with --directory publish themselves and their regions in etcd under a lease
 * (docs/DESIGN.md has the layout); the directory API finds a region's node by name. Every call
 * is synchronous and bounded by the options' timeout. A directory handle is not thread-safe.
 * Entries that do not parse are skipped, with a warning through the log callback.
 */
struct rdmacpy_dir;

struct rdmacpy_dir_opts {
	size_t size;		/* sizeof(struct rdmacpy_dir_opts) */
	const char *cluster;	/* default "default" */
	int timeout_ms;		/* each call (default 5000) */
	const char *ca_file;	/* etcds:// - the CA of the members' certificates */
	const char *cert_file;	/* etcds:// - a client certificate, if etcd asks for one */
	const char *key_file;	/*            and its key */
	const char *user;	/* etcd's own authentication, if enabled */
	const char *password;
	rdmacpy_log_fn log_fn; /* warnings about malformed entries; NULL: none */
	void *log_ctx;
};

/* A region as the directory knows it: where to connect for it. */
struct rdmacpy_dir_entry {
	size_t size; /* sizeof(struct rdmacpy_dir_entry) */
	char node[64];
	char region[RDMACPY_NAME_MAX];
	char address[64]; /* the node's first address */
	uint16_t port;
	uint64_t region_size;
	enum rdmacpy_rights rights;
	enum rdmacpy_region_kind kind;
};

/* A node of the cluster. */
struct rdmacpy_dir_node {
	size_t size; /* sizeof(struct rdmacpy_dir_node) */
	char node[64];
	char addresses[8][64];
	unsigned int naddresses;
	uint16_t port;
	unsigned int protocol;
	char started[32];	/* ISO 8601, UTC */
	int64_t lease_left_s;	/* seconds before its lease runs out unless renewed (-1: unknown) */
	int64_t lease_ttl_s;	/* the lease's time to live */
	unsigned int nregions;
};

/* rdmacpy_dir_opts_init -- fill o with defaults (and o->size) */
RDMACPY_EXPORT void rdmacpy_dir_opts_init(struct rdmacpy_dir_opts *o);

/* rdmacpy_dir_open -- a handle on the directory at url (etcd://HOST:PORT[,HOST:PORT...], or
 * etcds:// for TLS); o may be NULL. Nothing is sent yet: RDMACPY_E_INVAL for a malformed URL,
 * RDMACPY_E_NOTSUP for another scheme */
RDMACPY_EXPORT int rdmacpy_dir_open(const char *url, const struct rdmacpy_dir_opts *o,
				    struct rdmacpy_dir **d);

/* rdmacpy_dir_close -- NULL fine; clears *d */
RDMACPY_EXPORT void rdmacpy_dir_close(struct rdmacpy_dir **d);

/* rdmacpy_dir_resolve -- where region lives: on node (NULL: wherever it is). RDMACPY_E_NOENT
 * when no node serves it, RDMACPY_E_AMBIGUOUS when several do and node is NULL (the last
 * error names them), RDMACPY_E_CONNECT when etcd cannot be reached */
RDMACPY_EXPORT int rdmacpy_dir_resolve(struct rdmacpy_dir *d, const char *region,
				       const char *node, struct rdmacpy_dir_entry *out);

/* rdmacpy_dir_list_nodes -- up to cap nodes (elements of elem_size bytes) in name order;
 * *total (may be NULL) gets how many there are. The number filled */
RDMACPY_EXPORT int rdmacpy_dir_list_nodes(struct rdmacpy_dir *d, struct rdmacpy_dir_node *out,
					  size_t elem_size, size_t cap, size_t *total);

/* rdmacpy_dir_list_regions -- up to cap regions of node (NULL: of every node), in name order */
RDMACPY_EXPORT int rdmacpy_dir_list_regions(struct rdmacpy_dir *d, const char *node,
					    struct rdmacpy_dir_entry *out, size_t elem_size,
					    size_t cap, size_t *total);

/* rdmacpy_dir_last_error -- a sentence about the last failure ("" if none) */
RDMACPY_EXPORT const char *rdmacpy_dir_last_error(const struct rdmacpy_dir *d);

#ifdef __cplusplus
}
#endif

#endif /* RDMACPY_H */
