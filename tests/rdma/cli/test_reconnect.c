/* SPDX-License-Identifier: BSD-3-Clause */
/* test_reconnect.c -- rdmacpy put --reconnect across a daemon killed and restarted mid-put: a
 * file region resumes and its bytes verify; an anonymous region is refused as recreated */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/rdma/harness/harness.h"

/* Exit codes documented in rdmacpy(1). */
#define EXIT_STALE 9

#define PUT_BYTES "128M"

static struct th_daemon d;  /* the first daemon, killed mid-put */
static struct th_daemon d2; /* the same port, key and files, started again */
static char cli[512];
static char out[16384];
static char file_spec[600];
static char dir[300];

/* start -- a daemon with a file region and an anonymous one; -v logs every grant, which is
 * how the test knows the put is under way */
static void start(void)
{
	char spec_dir[300];

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	snprintf(dir, sizeof(dir), "/tmp/rdmacpy-reconnect.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(spec_dir, sizeof(spec_dir), "%s", dir);
	snprintf(file_spec, sizeof(file_spec), "f:file:%s/region.dat:%s:rw", spec_dir, PUT_BYTES);
	{
		const char *const extra[] = {
			"-v", "--region", file_spec, "--region", "a:anon:" PUT_BYTES ":rw", NULL};

		cr_assert_eq(th_daemon_start(&d, extra), 0, "rdmacpyd did not start");
	}
	memset(&d2, 0, sizeof(d2));
}

static void stop(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
	if (d2.pid > 0)
		cr_expect_eq(th_daemon_stop(&d2), 0, "the restarted rdmacpyd did not exit 0");
	th_run(NULL, 0, "rm -rf %s %s %s", d.dir, d2.dir[0] ? d2.dir : "", dir);
}

TestSuite(reconnect, .init = start, .fini = stop, .timeout = 400);

/* run_in_background -- `rdmacpy VERB --reconnect` with args, its output and exit status into
 * files of dir (put.out, put.rc) */
static void run_in_background(const char *verb, const char *args)
{
	int rc = th_run(out, sizeof(out),
			"(RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s timeout 300 %s %s --reconnect 60000 "
			"--timeout 5000 %s >%s/put.out 2>&1; echo $? >%s/put.rc) "
			"</dev/null >/dev/null 2>&1 &",
			d.port, d.key, cli, verb, args, dir, dir);

	cr_assert_eq(rc, 0, "cannot start the %s: %s", verb, out);
}

/* put_in_background -- `rdmacpy put --reconnect` of in into region */
static void put_in_background(const char *in, const char *region)
{
	char args[1000];

	snprintf(args, sizeof(args), "%s %s:%s", in, th_ip(), region);
	run_in_background("put", args);
}

/* kill_mid_put -- once the daemon has granted the put its region, and a moment later (bytes are
 * moving), SIGKILL it; the put must still be running */
static void kill_mid_put(void)
{
	char rcfile[400];

	cr_assert(th_wait_log(d.log, ": grant ", 60000), "the put never opened its grant");
	usleep(300 * 1000);
	snprintf(rcfile, sizeof(rcfile), "%s/put.rc", dir);
	cr_assert_neq(access(rcfile, F_OK), 0, "the put ended before the daemon was killed");
	cr_assert_eq(kill(d.pid, SIGKILL), 0);
	waitpid(d.pid, NULL, 0);
	d.pid = -1;
}

/* restart -- the daemon again on the same port with the same key and regions */
static void restart(void)
{
	char port[16];
	const char *const extra[] = {
		"--port", port, "-v", "--region", file_spec, "--region", "a:anon:" PUT_BYTES ":rw",
		NULL};

	/* the client keeps knocking meanwhile: its refusals are what the backoff is for */
	usleep(500 * 1000);
	snprintf(port, sizeof(port), "%u", d.port);
	cr_assert_eq(th_daemon_start_key(&d2, d.key, extra), 0, "rdmacpyd did not start again");
	cr_assert_eq(d2.port, d.port, "the restarted daemon is on another port");
}

/* put_result -- wait (bounded) for the put's exit status; its output in out */
static int put_result(void)
{
	char path[400];
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/put.rc", dir);
	for (int i = 0; i < 1800 && access(path, F_OK) != 0; i++)
		usleep(100 * 1000);
	usleep(100 * 1000);
	f = fopen(path, "r");
	cr_assert_not_null(f, "the put did not end");
	cr_assert_eq(fscanf(f, "%d", &rc), 1);
	fclose(f);
	th_run(out, sizeof(out), "cat %s/put.out", dir);
	return rc;
}

Test(reconnect, put__file_region__daemon_killed_and_restarted__put_completes_bytes_verify)
{
	char in[400];
	char region[400];
	char back[400];
	int rc;

	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(region, sizeof(region), "%s/region.dat", dir);
	snprintf(back, sizeof(back), "%s/back", dir);
	cr_assert_eq(th_random_file(in, 128ull << 20, 17), 0);
	put_in_background(in, "f");
	kill_mid_put();
	/* the kill came mid-put: the file does not hold the input yet */
	cr_assert(!th_files_equal(in, region), "the put was over before the kill");
	restart();
	rc = put_result();
	cr_assert_eq(rc, 0, "the put did not survive the restart (exit %d): %s", rc, out);
	cr_assert(strstr(out, "lost") && strstr(out, "resumed"), "no word of the resume: %s", out);
	/* the file holds every byte, and a get through the restarted daemon returns them */
	cr_assert(th_files_equal(in, region), "the region's file differs from the input");
	rc = th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s get -q %s:f %s",
		    d2.port, d2.key, cli, th_ip(), back);
	cr_assert_eq(rc, 0, "get after the restart: %s", out);
	cr_assert(th_files_equal(in, back), "the bytes read back differ");
}

Test(reconnect, put__anonymous_region__daemon_restarted__refused_as_recreated)
{
	char in[400];
	int rc;

	snprintf(in, sizeof(in), "%s/in", dir);
	cr_assert_eq(th_random_file(in, 128ull << 20, 23), 0);
	put_in_background(in, "a");
	kill_mid_put();
	restart();
	rc = put_result();
	cr_assert_eq(rc, EXIT_STALE, "want exit %d (region recreated), got %d: %s", EXIT_STALE, rc,
		     out);
	cr_assert(strstr(out, "recreated"), "the error does not say the region was recreated: %s",
		  out);
	/* the restarted daemon is unharmed and serves the next client */
	rc = th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s put -q %s %s:a",
		    d2.port, d2.key, cli, in, th_ip());
	cr_assert_eq(rc, 0, "a fresh put after the refusal: %s", out);
}

Test(reconnect, put__without_reconnect__daemon_killed__fails_on_the_wire)
{
	char in[400];
	char args[2000];
	int rc;

	/* the same break without --reconnect is a transfer failure, as before */
	snprintf(in, sizeof(in), "%s/in", dir);
	cr_assert_eq(th_random_file(in, 128ull << 20, 29), 0);
	snprintf(
		args, sizeof(args),
		"(for i in $(seq 1200); do grep -q \": grant \" %s && break; sleep 0.05; done; "
		"sleep 0.3; kill -9 %d) & "
		"RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s timeout 120 %s put -q --timeout 5000 %s %s:f; "
		"echo \"exit=$?\"; wait",
		d.log, (int)d.pid, d.port, d.key, cli, in, th_ip());
	th_run(out, sizeof(out), "%s", args);
	waitpid(d.pid, NULL, 0);
	d.pid = -1;
	/* a daemon that dies tears its keys down before its connections: the put may see
	 * that as a remote access error (5) before the link error (8) or the lost daemon (3) */
	rc = strstr(out, "exit=8") || strstr(out, "exit=3") || strstr(out, "exit=5");
	cr_assert(rc, "want a transfer, connection or remote error: %s", out);
	cr_assert(!strstr(out, "resumed"), "resumed without --reconnect: %s", out);
}

Test(reconnect, get__file_region__daemon_killed_and_restarted__bytes_verify)
{
	char in[400];
	char region[400];
	char back[400];
	char args[1000];
	int rc;

	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(region, sizeof(region), "%s/region.dat", dir);
	snprintf(back, sizeof(back), "%s/back", dir);
	cr_assert_eq(th_random_file(in, 128ull << 20, 31), 0);
	/* the region's bytes, written into its file in place (the daemon maps it shared) */
	rc = th_run(out, sizeof(out), "dd if=%s of=%s bs=1M conv=notrunc status=none", in, region);
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(args, sizeof(args), "%s:f %s", th_ip(), back);
	run_in_background("get", args);
	kill_mid_put();
	restart();
	rc = put_result();
	cr_assert_eq(rc, 0, "the get did not survive the restart (exit %d): %s", rc, out);
	cr_assert(strstr(out, "resumed"), "no word of the resume: %s", out);
	cr_assert(th_files_equal(in, back), "the bytes got differ from the region's");
}
