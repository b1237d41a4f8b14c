/* SPDX-License-Identifier: BSD-3-Clause */
/* test_copy.c -- rdmacpy cp between two rdmacpyd on one node: bytes, counters, refusals */

#include <criterion/criterion.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/auth.h"
#include "tests/rdma/daemon/tclient.h"
#include "tests/rdma/harness/harness.h"

/* Exit codes documented in rdmacpy(1). */
#define EXIT_CONNECT 3
#define EXIT_REMOTE  5

#define COPY_LEN ((40ull << 20) + 12345) /* not a multiple of the daemon's 4 MiB chunk */
#define DST_OFF	 4096ull

static struct th_daemon src; /* the daemon asked to copy */
static struct th_daemon dst; /* the daemon written into, sharing src's key */
static char cli[512];
static char out[16384];

/* start_sized -- src serves "src" (size) and a small region, dst serves "dst" (size) and a
 * read-only region */
static void start_sized(const char *size)
{
	char src_spec[64];
	char dst_spec[64];
	const char *const src_regions[] = {
		"--region", src_spec, "--region", "small:anon:1M:rw", NULL,
	};
	const char *const dst_regions[] = {
		"--region", dst_spec, "--region", "ro:anon:4M:ro", NULL,
	};
	int rc;

	snprintf(src_spec, sizeof(src_spec), "src:anon:%s:rw", size);
	snprintf(dst_spec, sizeof(dst_spec), "dst:anon:%s:rw", size);
	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	rc = th_daemon_start(&src, src_regions);
	cr_assert_eq(rc, 0, "source rdmacpyd did not start (%d)", rc);
	rc = th_daemon_start_key(&dst, src.key, dst_regions);
	cr_assert_eq(rc, 0, "destination rdmacpyd did not start (%d)", rc);
}

/* start -- 64 MiB each side: room for the 40 MiB copy and the range checks */
static void start(void)
{
	start_sized("64M");
}

/* start_long -- 256 MiB each side: a copy that takes long enough on rxe to act while it runs */
static void start_long(void)
{
	start_sized("256M");
}

/* stop -- both daemons must exit cleanly after every test */
static void stop(void)
{
	/* a test that failed with the destination stopped must not leave it so */
	if (dst.pid > 0)
		kill(dst.pid, SIGCONT);
	if (dst.pid > 0)
		cr_expect_eq(th_daemon_stop(&dst), 0, "destination rdmacpyd did not exit 0");
	if (src.pid > 0)
		cr_expect_eq(th_daemon_stop(&src), 0, "source rdmacpyd did not exit 0");
	th_run(NULL, 0, "rm -rf %s %s", src.dir, dst.dir);
}

TestSuite(copy, .init = start, .fini = stop, .timeout = 600);

/* rdmacpy -- run the command against port (both daemons share the key) */
static int rdmacpy(uint16_t port, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rdmacpy(uint16_t port, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s %s", port, src.key,
		      cli, args);
}

/* json_u64 -- the number after "key": in out, or UINT64_MAX when absent */
static uint64_t json_u64(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

Test(copy, cp__bytes_arrive_and_skip_the_client)
{
	char in[400];
	char back[400];
	char json[16384];
	char before[16384];
	int rc;

	rc = rdmacpy(dst.port, "stat --json %s", th_ip());
	cr_assert_eq(rc, 0, "stat: %s", out);
	snprintf(before, sizeof(before), "%s", out);
	snprintf(in, sizeof(in), "%s/in", src.dir);
	snprintf(back, sizeof(back), "%s/back", src.dir);
	cr_assert_eq(th_random_file(in, COPY_LEN, 7), 0);
	rc = rdmacpy(src.port, "put -q %s %s:src", in, th_ip());
	cr_assert_eq(rc, 0, "put: %s", out);

	rc = rdmacpy(src.port, "cp --verify --json --dst-port %u %s:src+%llu %s:dst@%llu", dst.port,
		     th_ip(), COPY_LEN, th_ip(), DST_OFF);
	cr_assert_eq(rc, 0, "cp: %s", out);
	snprintf(json, sizeof(json), "%s", out);
	cr_assert(strstr(json, "\"op\":\"cp\""), "%s", json);
	cr_assert_eq(json_u64(json, "bytes"), COPY_LEN, "%s", json);
	cr_assert_eq(json_u64(json, "client_bytes_read"), 0, "%s", json);
	cr_assert_eq(json_u64(json, "client_bytes_written"), 0, "%s", json);
	cr_assert(strstr(json, "\"verified\":true"), "%s", json);
	fprintf(stderr, "rdma_copy: %s", json);

	/* the destination daemon saw the source daemon write, not this process: three clients
	 * more (the source daemon, cp --verify's checksum, the stat that follows), one grant for
	 * the copy, one FLUSH at its end */
	rc = rdmacpy(dst.port, "stat --json %s", th_ip());
	cr_assert_eq(rc, 0, "stat: %s", out);
	cr_assert_eq(json_u64(out, "grants_total"), json_u64(before, "grants_total") + 1, "%s",
		     out);
	cr_assert_eq(json_u64(out, "clients_total"), json_u64(before, "clients_total") + 3, "%s",
		     out);
	cr_assert_eq(json_u64(out, "flushes"), json_u64(before, "flushes") + 1, "%s", out);
	cr_assert_eq(json_u64(out, "grants_active"), 0, "the copy's grant was left open: %s", out);

	/* the destination holds the bytes, read back independently of the checksums */
	rc = rdmacpy(dst.port, "get -q %s:dst@%llu+%llu %s", th_ip(), DST_OFF, COPY_LEN, back);
	cr_assert_eq(rc, 0, "get: %s", out);
	cr_assert(th_files_equal(in, back), "the destination range differs from the source");

	rc = rdmacpy(src.port, "stat --json %s", th_ip());
	cr_assert_eq(rc, 0, "stat: %s", out);
	cr_assert_eq(json_u64(out, "bytes_copied"), COPY_LEN, "%s", out);
	cr_assert_eq(json_u64(out, "copies_total"), 1, "%s", out);
	cr_assert_eq(json_u64(out, "copies_active"), 0, "%s", out);
}

Test(copy, cp__default_length_is_the_rest_of_the_source)
{
	int rc;

	rc = rdmacpy(src.port, "cp --json --dst-port %u %s:small@768K %s:dst", dst.port, th_ip(),
		     th_ip());
	cr_assert_eq(rc, 0, "cp: %s", out);
	cr_assert_eq(json_u64(out, "bytes"), 256ull << 10, "%s", out);
}

Test(copy, cp__unknown_destination_host)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:src+1M nosuchhost.invalid:dst", dst.port,
		     th_ip());
	cr_assert_eq(rc, EXIT_CONNECT, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "cannot reach") && strstr(out, "nosuchhost.invalid"), "%s", out);
	cr_assert(th_run(NULL, 0, "grep -q \"copy of src to nosuchhost.invalid\" %s", src.log) == 0,
		  "the source daemon did not log the failure");
}

Test(copy, cp__no_daemon_at_the_destination_port)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:src+1M %s:dst", dst.port + 1000, th_ip(),
		     th_ip());
	cr_assert_eq(rc, EXIT_CONNECT, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "cannot reach"), "%s", out);
}

Test(copy, cp__unknown_destination_region)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:src+1M %s:nope", dst.port, th_ip(), th_ip());
	cr_assert_eq(rc, EXIT_REMOTE, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "no such region"), "%s", out);
}

Test(copy, cp__destination_read_only)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:src+1M %s:ro", dst.port, th_ip(), th_ip());
	cr_assert_eq(rc, EXIT_REMOTE, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "read-only"), "%s", out);
}

Test(copy, cp__range_past_the_end_of_the_source)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:small@512K+1M %s:dst", dst.port, th_ip(),
		     th_ip());
	cr_assert_eq(rc, EXIT_REMOTE, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "past the end"), "%s", out);
}

Test(copy, cp__range_past_the_end_of_the_destination)
{
	int rc;

	rc = rdmacpy(src.port, "cp --dst-port %u %s:src@0+2M %s:dst@63M", dst.port, th_ip(),
		     th_ip());
	cr_assert_eq(rc, EXIT_REMOTE, "exit %d: %s", rc, out);
	cr_assert(strstr(out, "outside") || strstr(out, "range"), "%s", out);
}

/* log_tail -- the last lines of a daemon's log, for a failure's message */
static const char *log_tail(const struct th_daemon *d)
{
	static char tail[4096];

	th_run(tail, sizeof(tail), "tail -n 25 %s", d->log);
	return tail;
}

/* dst_resume -- the destination daemon carries on */
static void dst_resume(void)
{
	kill(dst.pid, SIGCONT);
}

/* stat_u64 -- one counter of a daemon's STAT */
static uint64_t stat_u64(uint16_t port, const char *key)
{
	if (rdmacpy(port, "stat --json %s", th_ip()) != 0)
		return UINT64_MAX;
	return json_u64(out, key);
}

/* start_background_copy -- cp of the whole source region in the background, its pid in
 * pidfile, its output in res; returns once the source daemon reports the copy running. The
 * destination daemon is stopped (SIGSTOP) first, so the copy cannot finish before the test
 * acts on it, however fast the link: it waits to be accepted there. dst_resume ends that. */
static void start_background_copy(const char *pidfile, const char *res)
{
	uint64_t active = 0;
	int rc;

	cr_assert_eq(kill(dst.pid, SIGSTOP), 0);
	rc = rdmacpy(src.port, "cp --dst-port %u %s:src %s:dst >%s 2>&1 & echo $! >%s", dst.port,
		     th_ip(), th_ip(), res, pidfile);
	cr_assert_eq(rc, 0, "%s", out);
	for (int i = 0; i < 200 && active != 1; i++) {
		active = stat_u64(src.port, "copies_active");
		if (active != 1)
			th_run(NULL, 0, "sleep 0.05");
	}
	cr_assert_eq(active, 1, "the copy did not start");
}

Test(copy, cp__client_gone_cancels_the_copy, .init = start_long)
{
	uint64_t active = UINT64_MAX;
	char pidfile[400];
	char res[400];

	snprintf(pidfile, sizeof(pidfile), "%s/cp.pid", src.dir);
	snprintf(res, sizeof(res), "%s/cp.out", src.dir);
	start_background_copy(pidfile, res);
	cr_assert_eq(th_run(out, sizeof(out), "kill -9 $(cat %s)", pidfile), 0, "%s", out);
	for (int i = 0; i < 100 && active != 0; i++) {
		active = stat_u64(src.port, "copies_active");
		if (active != 0)
			th_run(NULL, 0, "sleep 0.1");
	}
	cr_assert_eq(active, 0, "the copy still runs after its client was killed:\n%s",
		     log_tail(&src));
	cr_assert(th_run(NULL, 0, "grep -q \"cancelling its copy\" %s", src.log) == 0,
		  "the source daemon did not cancel the copy:\n%s", log_tail(&src));
	cr_assert_eq(stat_u64(src.port, "bytes_copied"), 0, "%s\n%s", out, log_tail(&src));
	dst_resume();
	/* the copy's connection, and with it its grant, is gone from the destination */
	for (int i = 0; i < 50 && stat_u64(dst.port, "grants_active") != 0; i++)
		th_run(NULL, 0, "sleep 0.1");
	cr_assert_eq(stat_u64(dst.port, "grants_active"), 0, "%s", out);
}

Test(copy, cp__sigterm_during_a_copy_exits_cleanly, .init = start_long)
{
	char pidfile[400];
	char res[400];

	snprintf(pidfile, sizeof(pidfile), "%s/cp.pid", dst.dir);
	snprintf(res, sizeof(res), "%s/cp.out", dst.dir);
	start_background_copy(pidfile, res);
	cr_assert_eq(th_daemon_stop(&src), 0, "rdmacpyd did not exit 0 on SIGTERM mid-copy");
	dst_resume();
	cr_assert(th_run(NULL, 0, "grep -q \"exiting with status 0\" %s", src.log) == 0,
		  "no clean exit in the source daemon's log");
	/* the client hears about it: SHUTDOWN, or the connection going away */
	th_run(out, sizeof(out), "while kill -0 $(cat %s) 2>/dev/null; do sleep 0.1; done; cat %s",
	       pidfile, res);
	cr_assert(strstr(out, "rdmacpy:"), "the client said nothing: %s", out);
	fprintf(stderr, "rdma_copy sigterm: %s", out);
}

Test(copy, raw_copy_past_the_source__the_daemon_refuses_range)
{
	struct rcp_auth_key key;
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;

	/* a client that skips the CLI's checks: the daemon itself must say no */
	cr_assert_eq(rcp_auth_key_load(src.key, &key), 0);
	cr_assert_eq(tc_connect(&c, th_ip(), src.port, 0, 4096), 0);
	cr_assert_eq(tc_auth(&c, &key, NULL), 0);
	rcp_msg_init(&m, RCP_MSG_COPY, 0);
	rcp_strfield_set(m.u.copy.src, sizeof(m.u.copy.src), "small");
	rcp_strfield_set(m.u.copy.dst, sizeof(m.u.copy.dst), "dst");
	rcp_strfield_set(m.u.copy.dst_host, sizeof(m.u.copy.dst_host), th_ip());
	m.u.copy.dst_port = dst.port;
	m.u.copy.src_offset = 512ull << 10;
	m.u.copy.length = 1ull << 20; /* the region has 1 MiB: this ends 512 KiB past it */
	cr_assert_eq(tc_call(&c, &m, &r, 20000), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_ERROR, "got %s", rcp_msg_type_name(r.hdr.type));
	cr_assert_eq(r.u.error.code, RCP_ERR_RANGE, "ERROR %s: %s", rcp_err_name(r.u.error.code),
		     r.u.error.text);
	rcp_msg_init(&m, RCP_MSG_STAT, 0);
	cr_assert_eq(tc_call(&c, &m, &r, 20000), 0);
	cr_assert_eq(r.u.stat_reply.copies_total, 0, "a copy was started");
	tc_close(&c);
}
