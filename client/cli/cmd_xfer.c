/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_xfer.c -- rdmacpy put and get: files to and from remote regions */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/cli/cli.h"
#include "client/cli/progress.h"
#include "client/cli/stream.h"

#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_DEPTH 8

/* on_progress -- stream callback feeding the progress line */
static void on_progress(void *ctx, uint64_t done)
{
	cli_progress_update(ctx, done);
}

/* report_json -- put/get --json: {"op", "bytes", "seconds", "mbps", "wakeups", "completions",
 * "wrs_posted", "reconnects", "reruns", "rails", "rails_up", "failovers", "wrs_reissued",
 * "rejoins", "verified", "mapped"}, or NULL */
static json_object *report_json(const char *op, const struct rdmacpy_counters *c, uint64_t bytes,
				double secs, double rate, bool verified, bool mapped)
{
	json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_object_object_add(j, "op", json_object_new_string(op));
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(j, "seconds", cli_json_fixed(secs, 6));
	json_object_object_add(j, "mbps", cli_json_fixed(rate / 1e6, 3));
	json_object_object_add(j, "wakeups", json_object_new_int64((int64_t)c->wakeups));
	json_object_object_add(j, "completions", json_object_new_int64((int64_t)c->completions));
	json_object_object_add(j, "wrs_posted", json_object_new_int64((int64_t)c->wrs_posted));
	json_object_object_add(j, "reconnects", json_object_new_int64((int64_t)c->reconnects));
	json_object_object_add(j, "reruns", json_object_new_int64((int64_t)c->reruns));
	cli_json_rails(j, c);
	json_object_object_add(j, "verified", json_object_new_boolean(verified));
	json_object_object_add(j, "mapped", json_object_new_boolean(mapped));
	return j;
}

/*
 * report -- the summary line, or the JSON object with --json. The time is the transfer's
 * (for put including the flush that makes it durable), not connecting or verifying. An exit
 * code: the JSON may fail to be written.
 */
static int report(const struct cli_opts *o, struct rdmacpy_conn *conn, const char *op,
		  uint64_t bytes, double secs, bool verified, bool mapped)
{
	struct rdmacpy_counters c = {0};
	double rate = secs > 0 ? (double)bytes / secs : 0;
	char r[32];

	c.size = sizeof(c);
	rdmacpy_conn_counters(conn, &c);
	if (o->json)
		return cli_json_print(report_json(op, &c, bytes, secs, rate, verified, mapped));
	if (o->quiet)
		return 0;
	cli_format_rate(rate, r, sizeof(r));
	fprintf(stderr, "%s: %llu bytes in %.3f s, %s%s", op, (unsigned long long)bytes, secs, r,
		verified ? ", verified" : "");
	if (c.reconnects)
		fprintf(stderr, ", %llu reconnect(s), %llu transfer(s) run again",
			(unsigned long long)c.reconnects, (unsigned long long)c.reruns);
	if (c.rails > 1)
		fprintf(stderr, ", %u of %u rails up", c.rails_up, c.rails);
	if (c.failovers)
		fprintf(stderr, ", %llu failover(s), %llu WR(s) reissued, %llu rejoin(s)",
			(unsigned long long)c.failovers, (unsigned long long)c.wrs_reissued,
			(unsigned long long)c.rejoins);
	fputc('\n', stderr);
	return 0;
}

/* verify -- compare the daemon's checksum of the range with ours */
static int verify(struct rdmacpy_conn *conn, const struct cli_spec *spec, uint64_t len,
		  struct rcp_checksum_state *sum)
{
	uint8_t mine[RDMACPY_CHECKSUM_LEN];
	uint8_t theirs[RDMACPY_CHECKSUM_LEN];
	char a[2 * RDMACPY_CHECKSUM_LEN + 1];
	char b[2 * RDMACPY_CHECKSUM_LEN + 1];
	int rc;

	rcp_checksum_final(sum, mine);
	if (len == 0)
		return 0;
	rc = rdmacpy_region_checksum(conn, spec->region, spec->offset, len, theirs);
	if (rc)
		return cli_fail(conn, spec->host, rc, "cannot checksum the remote range");
	if (memcmp(mine, theirs, sizeof(mine)) != 0) {
		cli_hex(mine, sizeof(mine), a);
		cli_hex(theirs, sizeof(theirs), b);
		cli_error("verification failed: local %s, %s:%s@%llu+%llu is %s", a, spec->host,
			  spec->region, (unsigned long long)spec->offset, (unsigned long long)len,
			  b);
		return CLI_EXIT_VERIFY;
	}
	return 0;
}

/* overwritten -- after a put failed part-way: exactly which bytes of the region changed */
static void overwritten(const struct cli_spec *spec, const struct cli_stream *s)
{
	unsigned long long from = spec->offset;

	if (!s->sent) {
		cli_error("nothing was written to %s:%s", spec->host, spec->region);
		return;
	}
	if (s->sent == s->done) {
		cli_error("bytes %llu..%llu of %s:%s were overwritten (%llu bytes); the rest of "
			  "the region is unchanged",
			  from, from + s->done - 1, spec->host, spec->region,
			  (unsigned long long)s->done);
		return;
	}
	/* some writes were in flight when it failed: those may or may not have landed */
	cli_error("bytes %llu..%llu of %s:%s were overwritten and bytes %llu..%llu may have been; "
		  "the rest of the region is unchanged",
		  from, from + s->done - 1, spec->host, spec->region, from + s->done,
		  from + s->sent - 1);
}

/* stream_failed -- explain a failed stream (for a put, what it changed) and return its exit
 * code */
static int stream_failed(struct rdmacpy_conn *conn, const struct cli_spec *spec,
			 const struct cli_stream *s, int rc, const char *local, bool put,
			 bool size_known)
{
	int code;

	if (s->too_long && size_known) {
		cli_error("%s is longer than the %llu bytes given (--size or the file's size when "
			  "put began)",
			  local, (unsigned long long)s->total);
		code = CLI_EXIT_LOCAL_IO;
	} else if (s->too_long) {
		cli_error("%s is longer than the %llu bytes of %s:%s from offset %llu to its end",
			  local, (unsigned long long)s->limit, spec->host, spec->region,
			  (unsigned long long)spec->offset);
		code = CLI_EXIT_REMOTE;
	} else if (s->too_short) {
		cli_error("%s ended after %llu of the %llu bytes given", local,
			  (unsigned long long)s->sent, (unsigned long long)s->total);
		code = CLI_EXIT_LOCAL_IO;
	} else if (s->io_errno) {
		cli_error("%s: %s", local, strerror(s->io_errno));
		code = CLI_EXIT_LOCAL_IO;
	} else {
		code = cli_fail(conn, spec->host, rc, "transfer failed");
	}
	if (put)
		overwritten(spec, s);
	return code;
}

/* stream_init -- what put and get set alike: the connection, the grant, the local fd, the
 * options that shape the stream; the caller sets total and limit */
static void stream_init(struct cli_stream *s, const struct cli_opts *o, struct rdmacpy_conn *conn,
			const struct rdmacpy_grant *grant, int fd)
{
	memset(s, 0, sizeof(*s));
	s->conn = conn;
	s->grant = grant;
	s->fd = fd;
	s->checksum = o->verify;
	s->pin = o->cpu >= 0;
	s->cpu = o->cpu;
	rcp_checksum_init(&s->sum);
}

/* cli_cmd_put -- rdmacpy put FILE HOST:REGION[@OFFSET] */
int cli_cmd_put(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_conn *conn = NULL;
	struct rdmacpy_grant *grant = NULL;
	struct cli_progress prog;
	struct cli_stream s;
	struct cli_spec spec;
	struct stat st;
	uint64_t region_size = 0;
	uint64_t t0;
	double secs;
	const char *local;
	uint64_t length;
	bool size_known;
	bool from_pipe;
	int fd;
	int rc;

	if (argc != 2) {
		cli_error("put needs FILE and HOST:REGION[@OFFSET] (see rdmacpy put --help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_spec_resolve(o, argv[1], &spec);
	if (rc)
		return rc;
	if (spec.has_length) {
		cli_error("put takes no +LENGTH: the file's size is the length");
		return CLI_EXIT_USAGE;
	}
	fd = strcmp(argv[0], "-") == 0 ? STDIN_FILENO : open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		cli_error("%s: %s", argv[0], strerror(errno));
		return CLI_EXIT_LOCAL_IO;
	}
	from_pipe = !S_ISREG(st.st_mode);
	local = from_pipe ? "the input" : argv[0];
	if (o->nsizes > 1) {
		cli_error("put --size takes one length: the stream's");
		rc = CLI_EXIT_USAGE;
		goto out_close_fd;
	}
	if (o->nsizes == 1 && !from_pipe && o->sizes[0] != (uint64_t)st.st_size) {
		cli_error("--size %llu, but %s has %llu bytes", (unsigned long long)o->sizes[0],
			  argv[0], (unsigned long long)st.st_size);
		rc = CLI_EXIT_USAGE;
		goto out_close_fd;
	}
	/* the length known before any byte moves: the file's size, or --size for a stream */
	size_known = !from_pipe || o->nsizes == 1;
	length = !from_pipe ? (uint64_t)st.st_size : o->nsizes == 1 ? o->sizes[0] : 0;
	if (size_known && length == 0) {
		/* Nothing to move, but the region must still exist and be writable. */
		spec.has_length = true;
		spec.length = 0;
	}
	rc = cli_connect_spec(o, &spec, &conn);
	if (rc)
		goto out_close_fd;
	rc = cli_open(o, conn, &spec, length, RDMACPY_RIGHTS_RW, &grant, &region_size);
	if (rc)
		goto out_close;

	stream_init(&s, o, conn, grant, fd);
	s.total = size_known ? length : UINT64_MAX;
	s.limit = grant ? rdmacpy_grant_length(grant) : 0;
	cli_progress_init(&prog, stderr, o->quiet || o->json, "put", size_known ? s.total : 0);
	t0 = cli_now_ns();
	if (grant) {
		rc = cli_stream_put(&s, o->chunk ? o->chunk : DEFAULT_CHUNK,
				    o->queue_depth ? o->queue_depth : DEFAULT_DEPTH, on_progress,
				    &prog);
		cli_progress_finish(&prog);
		if (rc) {
			rc = stream_failed(conn, &spec, &s, rc, local, true, size_known);
			/* what was overwritten is made durable too, as the message says it is there
			 */
			if (s.done && !s.error)
				rdmacpy_grant_flush(grant, 0, s.done);
			goto out_grant;
		}
		/* A put is durable when it returns: file-backed regions are synced. */
		rc = rdmacpy_grant_flush(grant, 0, s.done ? s.done : 1);
		if (rc) {
			rc = cli_fail(conn, spec.host, rc, "flush failed");
			goto out_grant;
		}
	}
	secs = (double)(cli_now_ns() - t0) / 1e9;
	rc = o->verify ? verify(conn, &spec, s.done, &s.sum) : 0;
	if (!rc)
		rc = report(o, conn, "put", s.done, secs, o->verify, s.mapped);
out_grant:
	rdmacpy_grant_close(&grant);
out_close:
	rdmacpy_conn_close(&conn);
out_close_fd:
	if (fd > STDIN_FILENO)
		close(fd);
	return rc;
}

/* open_output -- a temporary file beside path, renamed over it only on success */
static int open_output(const char *path, char *tmp, size_t cap)
{
	char copy[PATH_MAX];
	int fd;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy) ||
	    snprintf(tmp, cap, "%s/.%s.rdmacpy-XXXXXX", dirname(copy), basename((char *)path)) >=
		    (int)cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd >= 0) {
		mode_t um = umask(0);

		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	return fd;
}

/* open_in_place -- FILE when it exists and is not a regular file (a device such as /dev/null, a
 * FIFO, a socket): written where it is, since a temporary file renamed over it would replace
 * the device; -1 with errno ENOENT when it is a regular file or does not exist */
static int open_in_place(const char *path)
{
	struct stat st;

	if (stat(path, &st) || S_ISREG(st.st_mode)) {
		errno = ENOENT;
		return -1;
	}
	return open(path, O_WRONLY | O_CLOEXEC);
}

/* cli_cmd_get -- rdmacpy get HOST:REGION[@OFFSET][+LENGTH] FILE */
int cli_cmd_get(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_conn *conn = NULL;
	struct rdmacpy_grant *grant = NULL;
	struct cli_progress prog;
	struct cli_stream s;
	struct cli_spec spec;
	char tmp[PATH_MAX];
	uint64_t region_size = 0;
	uint64_t t0;
	double secs;
	bool to_stdout;
	bool in_place = false; /* FILE is written where it is: stdout, a device, a FIFO */
	int fd = -1;
	int rc;

	if (argc != 2) {
		cli_error("get needs HOST:REGION[@OFFSET][+LENGTH] and FILE (see rdmacpy get "
			  "--help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_spec_resolve(o, argv[0], &spec);
	if (rc)
		return rc;
	to_stdout = strcmp(argv[1], "-") == 0;
	rc = cli_connect_spec(o, &spec, &conn);
	if (rc)
		return rc;
	rc = cli_open(o, conn, &spec, 0, RDMACPY_RIGHTS_RO, &grant, &region_size);
	if (rc)
		goto out_close;
	/* Only now, with the remote side known good, is the output touched. */
	if (to_stdout) {
		fd = STDOUT_FILENO;
		in_place = true;
	} else {
		fd = open_in_place(argv[1]);
		in_place = fd >= 0;
		if (fd < 0 && errno == ENOENT)
			fd = open_output(argv[1], tmp, sizeof(tmp));
	}
	if (fd < 0) {
		cli_error("%s: %s", argv[1], strerror(errno));
		rc = CLI_EXIT_LOCAL_IO;
		goto out_grant;
	}
	stream_init(&s, o, conn, grant, fd);
	s.total = grant ? rdmacpy_grant_length(grant) : 0;
	s.limit = s.total;
	cli_progress_init(&prog, stderr, o->quiet || o->json, "get", s.total);
	t0 = cli_now_ns();
	if (grant) {
		rc = cli_stream_get(&s, o->chunk ? o->chunk : DEFAULT_CHUNK,
				    o->queue_depth ? o->queue_depth : DEFAULT_DEPTH, on_progress,
				    &prog);
		cli_progress_finish(&prog);
		if (rc) {
			rc = stream_failed(conn, &spec, &s, rc, argv[1], false, false);
			goto out_file;
		}
	}
	secs = (double)((s.moved_ns ? s.moved_ns : cli_now_ns()) - t0) / 1e9;
	rc = o->verify ? verify(conn, &spec, s.done, &s.sum) : 0;
	if (rc)
		goto out_file;
	if (!in_place) {
		if (fsync(fd) || rename(tmp, argv[1])) {
			cli_error("%s: %s", argv[1], strerror(errno));
			rc = CLI_EXIT_LOCAL_IO;
			goto out_file;
		}
	}
	rc = report(o, conn, "get", s.done, secs, o->verify, s.mapped);
out_file:
	if (!to_stdout)
		close(fd);
	if (!in_place && rc)
		unlink(tmp);
out_grant:
	rdmacpy_grant_close(&grant);
out_close:
	rdmacpy_conn_close(&conn);
	return rc;
}
