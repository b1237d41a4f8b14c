/* SPDX-License-Identifier: BSD-3-Clause */
/* test_cli.c -- rdmacpy put/get/ls/stat against a real rdmacpyd: bytes and exit codes */

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "tests/rdma/harness/harness.h"

/* Exit codes documented in rdmacpy(1). */
#define EXIT_USAGE    2
#define EXIT_CONNECT  3
#define EXIT_AUTH     4
#define EXIT_REMOTE   5
#define EXIT_LOCAL_IO 7

static struct th_daemon d;
static char cli[512];
static char out[16384];

/* start_with -- a daemon with an anonymous region "big" of big_spec's size, a file region and
 * a read-only region; extra (may be NULL) is one more option */
static void start_with_opt(const char *big_spec, const char *extra)
{
	const char *const regions[] = {
		"--region", big_spec,	     "--region", "file:file:%D/region.dat:8M:rw",
		"--region", "ro:anon:1M:ro", extra,	 NULL,
	};
	int rc;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	rc = th_daemon_start(&d, regions);
	cr_assert_eq(rc, 0, "rdmacpyd did not start (%d)", rc);
}

/* start_with -- start_with_opt without the extra option */
static void start_with(const char *big_spec)
{
	start_with_opt(big_spec, NULL);
}

/* start_create -- a daemon that lets clients create regions */
static void start_create(void)
{
	start_with_opt("big:anon:32M:rw", "--allow-create");
}

/* start -- most tests need 32 MiB at most: a region that takes no time to register */
static void start(void)
{
	start_with("big:anon:32M:rw");
}

/* start_big -- the tests that move hundreds of MiB */
static void start_big(void)
{
	start_with("big:anon:320M:rw");
}

/* stop -- the daemon must exit cleanly after every test */
static void stop(void)
{
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0, "rdmacpyd did not exit 0 on SIGTERM");
	th_run(NULL, 0, "rm -rf %s", d.dir);
}

TestSuite(cli, .init = start, .fini = stop, .timeout = 600);

/* rdmacpy -- run the command with this daemon's port and key */
static int rdmacpy(const char *args)
{
	return th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s %s", d.port, d.key,
		      cli, args);
}

/* rdmacpy_piped -- `producer | rdmacpy args`: the command's exit status */
static int rdmacpy_piped(const char *producer, const char *args)
{
	return th_run(out, sizeof(out), "%s | RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s %s", producer,
		      d.port, d.key, cli, args);
}

/* roundtrip -- put a file of n bytes, get it back, bytes equal; both with --verify when
 * verify, which adds the daemon's and this side's checksums */
static void roundtrip_v(uint64_t n, bool verify)
{
	char in[400];
	char back[400];
	char args[1200];

	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	cr_assert_eq(th_random_file(in, n, (unsigned)n), 0);
	snprintf(args, sizeof(args), "put -q %s %s %s:big", verify ? "--verify" : "", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "put of %llu bytes: %s", (unsigned long long)n, out);
	snprintf(args, sizeof(args), "get -q %s %s:big+%llu %s", verify ? "--verify" : "", th_ip(),
		 (unsigned long long)n, back);
	if (n == 0)
		snprintf(args, sizeof(args), "get %s:big@0+1 %s", th_ip(), back);
	cr_assert_eq(rdmacpy(args), 0, "get of %llu bytes: %s", (unsigned long long)n, out);
	if (n == 0)
		return;
	cr_assert(th_files_equal(in, back), "%llu bytes came back different",
		  (unsigned long long)n);
}

/* roundtrip -- with --verify */
static void roundtrip(uint64_t n)
{
	roundtrip_v(n, true);
}

Test(cli, roundtrip__0_bytes)
{
	char in[400];
	char args[600];

	snprintf(in, sizeof(in), "%s/empty", d.dir);
	cr_assert_eq(th_random_file(in, 0, 1), 0);
	snprintf(args, sizeof(args), "put --verify %s %s:big", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "put of an empty file: %s", out);
}

Test(cli, roundtrip__1_byte)
{
	roundtrip(1);
}

Test(cli, roundtrip__4KiB_plus_1)
{
	roundtrip(4097);
}

Test(cli, roundtrip__64MiB, .init = start_big)
{
	roundtrip(64ull << 20);
}

Test(cli, roundtrip__300MiB, .init = start_big)
{
	/* the size is the point here: the bytes are compared whole, and --verify's checksums
	 * (the 64 MiB case has them) would triple the time under an emulated CPU */
	roundtrip_v(300ull << 20, false);
}

/* mapped_json -- put or get with --json --verify; exit 0, and the "mapped" it reports */
static bool mapped_json(const char *op, const char *from, const char *to)
{
	char args[1400];

	snprintf(args, sizeof(args), "%s --json --verify %s %s", op, from, to);
	cr_assert_eq(rdmacpy(args), 0, "%s: %s", args, out);
	cr_assert(strstr(out, "\"verified\":true"), "%s: %s", args, out);
	cr_assert(strstr(out, "\"mapped\":"), "%s: %s", args, out);
	return strstr(out, "\"mapped\":true") != NULL;
}

/* kernel_at_least -- the running kernel is major.minor or later */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0;
	int mi = 0;

	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(sscanf(u.release, "%d.%d", &ma, &mi), 2, "%s", u.release);
	return ma > major || (ma == major && mi >= minor);
}

/* A file on tmpfs is moved from and into its own pages, without a copy; a file elsewhere (the
 * build tree, shared into the guest) through the ring of buffers. Same bytes either way, and
 * the sizes are no multiple of the 1 MiB chunk. */
Test(cli, put_and_get__tmpfs_file_mapped__other_file_copied__same_bytes, .init = start_big)
{
	char tmpfs_in[400], tmpfs_back[400], other[600], other_in[700], other_back[700];
	char remote[200], region[200];
	const uint64_t n = (20ull << 20) + 4097;
	struct statfs sfs;

	cr_assert_eq(statfs(d.dir, &sfs), 0);
	cr_assert_eq(sfs.f_type, TMPFS_MAGIC, "%s is not on tmpfs in this guest", d.dir);
	snprintf(tmpfs_in, sizeof(tmpfs_in), "%s/in", d.dir);
	snprintf(tmpfs_back, sizeof(tmpfs_back), "%s/back", d.dir);
	snprintf(region, sizeof(region), "%s:big", th_ip());
	snprintf(remote, sizeof(remote), "%s:big+%llu", th_ip(), (unsigned long long)n);
	cr_assert_eq(th_random_file(tmpfs_in, n, 41), 0);
	/* before Linux 6.2 a file mapped read-only cannot be registered: the put copies */
	cr_assert_eq(mapped_json("put", tmpfs_in, region), kernel_at_least(6, 2),
		     "put of a tmpfs file: %s", out);
	cr_assert(mapped_json("get", remote, tmpfs_back), "a get into tmpfs was copied: %s", out);
	cr_assert(th_files_equal(tmpfs_in, tmpfs_back), "the bytes got through tmpfs differ");

	/* the build tree is no memory file system */
	th_build("Testing", other, sizeof(other));
	cr_assert_eq(th_run(out, sizeof(out), "mkdir -p %s && mktemp -d %s/cli-ring.XXXXXX", other,
			    other),
		     0, "%s", out);
	out[strcspn(out, "\n")] = 0;
	cr_assert_lt(strlen(out), sizeof(other));
	memcpy(other, out, strlen(out) + 1);
	cr_assert_eq(statfs(other, &sfs), 0);
	cr_assert_neq(sfs.f_type, TMPFS_MAGIC);
	snprintf(other_in, sizeof(other_in), "%s/in", other);
	snprintf(other_back, sizeof(other_back), "%s/back", other);
	cr_assert_eq(th_random_file(other_in, n, 42), 0);
	cr_assert_not(mapped_json("put", other_in, region), "%s", out);
	cr_assert_not(mapped_json("get", remote, other_back), "%s", out);
	cr_assert(th_files_equal(other_in, other_back), "the bytes got through the ring differ");
	/* and the tmpfs get of what the ring put */
	cr_assert(mapped_json("get", remote, tmpfs_back), "%s", out);
	cr_assert(th_files_equal(other_in, tmpfs_back), "a mapped get of the ring's put differs");
	th_run(NULL, 0, "rm -rf %s", other);
}

Test(cli, offset_and_length_forms)
{
	char in[400];
	char back[400];
	char args[1200];

	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	cr_assert_eq(th_random_file(in, 100000, 7), 0);
	snprintf(args, sizeof(args), "put %s %s:file@12345", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	/* A slice from the middle of what was written. */
	snprintf(args, sizeof(args), "get %s:file@22345+50000 %s", th_ip(), back);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(th_file_range_equal(in, 10000, back, 0, 50000));
	/* put flushed the file region: the daemon's backing file holds the bytes. */
	snprintf(args, sizeof(args), "%s/region.dat", d.dir);
	cr_assert(th_file_range_equal(in, 0, args, 12345, 100000), "backing file differs");
}

Test(cli, stdin_and_stdout_forms)
{
	char in[400];
	char back[400];
	char args[1200];

	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	cr_assert_eq(th_random_file(in, 3000000, 9), 0);
	snprintf(args, sizeof(args), "put --verify - %s:big@4096 < %s", th_ip(), in);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "get %s:big@4096+3000000 - > %s", th_ip(), back);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(th_files_equal(in, back));
}

/* A device or a FIFO named as a get's FILE is written where it is: a temporary file renamed over
 * /dev/null would have replaced the device (these tests run as root) */
Test(cli, get__into_dev_null_and_a_fifo__written_in_place)
{
	char in[400];
	char fifo[400];
	char back[400];
	char args[1600];

	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	cr_assert_eq(th_random_file(in, 3000000, 13), 0);
	snprintf(args, sizeof(args), "put --verify %s %s:big@4096", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "get %s:big@4096+3000000 /dev/null", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert_eq(th_run(out, sizeof(out), "test -c /dev/null && ! ls -a /dev | grep rdmacpy-"),
		     0, "/dev/null is no longer the device, or a temporary file was left: %s", out);
	/* the reader is started first and the FIFO exists before the get looks at it */
	cr_assert_eq(th_run(out, sizeof(out),
			    "mkfifo %s && { cat %s > %s & } ; RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s "
			    "%s get %s:big@4096+3000000 %s; rc=$?; wait; test -p %s && exit $rc",
			    fifo, fifo, back, d.port, d.key, cli, th_ip(), fifo, fifo),
		     0, "%s", out);
	cr_assert(th_files_equal(in, back), "the bytes through the FIFO differ");
}

/*
 * --cpu 0: bytes equal both ways, and while a get runs, its transfer thread may use CPU 0 only
 * and its file I/O thread everything else. The get writes to a pipe whose reader waits, so the
 * I/O thread is parked in write() when the masks are read.
 */
Test(cli, cpu_option__io_thread_kept_off_the_transfer_cpu)
{
	char in[400];
	char back[400];
	char masks[400];
	char args[2400];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	snprintf(masks, sizeof(masks), "%s/masks", d.dir);
	cr_assert_eq(th_random_file(in, 32ull << 20, 11), 0);
	snprintf(args, sizeof(args), "put --cpu 0 --verify %s %s:big", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args),
		 "get --cpu 0 %s:big+%llu - | { "
		 /* wait for the event, not for a time: the I/O thread exists once the
		  * process has two tasks, and both masks are set by then. The get is
		  * this shell's child ($$ in the brace group): other tests of the
		  * label run rdmacpy at the same time */
		 "until p=$(pgrep -n -x -P $$ rdmacpy) && [ $(ls /proc/$p/task | wc -l) -ge 2 ]; "
		 "do sleep 0.05; done; "
		 "for t in /proc/$p/task/*; do echo \"${t##*/} "
		 "$(grep Cpus_allowed_list $t/status | cut -f2)\"; done | "
		 "sed \"s/^$p /main /\" > %s; cat > %s; }",
		 th_ip(), 32ull << 20, masks, back);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(th_files_equal(in, back), "32 MiB came back different");
	cr_assert_eq(th_run(out, sizeof(out), "cat %s", masks), 0);
	cr_assert(strstr(out, "main 0\n"), "transfer thread not on CPU 0 alone:\n%s", out);
	if (ncpu >= 2)
		cr_assert(strstr(out, ncpu == 2 ? " 1\n" : " 1-"), "no thread kept off CPU 0:\n%s",
			  out);
	cr_assert_eq(rdmacpy("get --cpu 4096 h:r /dev/null"), EXIT_USAGE, "%s", out);
	cr_assert(strstr(out, "--cpu '4096'"), "%s", out);
}

Test(cli, ls_and_stat, .init = start_big)
{
	char args[600];

	snprintf(args, sizeof(args), "ls %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(strstr(out, "big") && strstr(out, "320 MiB"), "%s", out);
	cr_assert(strstr(out, "ro") && strstr(out, "file"), "%s", out);
	/* and where the daemon serves them: every address, one per RDMA port */
	cr_assert(strstr(out, "addresses") && strstr(out, th_ip()), "%s", out);
	snprintf(args, sizeof(args), "ls --json %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert_eq(out[0], '[', "ls --json is an array of regions: %s", out);
	snprintf(args, sizeof(args), "stat --json %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(strstr(out, "\"clients_connected\":1"), "%s", out);
}

Test(cli, error__unknown_host)
{
	cr_assert_eq(rdmacpy("ls 198.18.0.99 --timeout 3000"), EXIT_CONNECT, "%s", out);
	cr_assert(strstr(out, "cannot connect"), "%s", out);
}

Test(cli, error__unknown_region_lists_the_others)
{
	char args[600];

	snprintf(args, sizeof(args), "get %s:nope /dev/null", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "region 'nope' not found") && strstr(out, "it has: big"), "%s", out);
}

Test(cli, error__put_into_read_only_region)
{
	char args[600];

	snprintf(args, sizeof(args), "put /etc/hostname %s:ro", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "read-only"), "%s", out);
}

Test(cli, error__range_past_the_end)
{
	char args[600];

	snprintf(args, sizeof(args), "get %s:ro@1000000+100000 /dev/null", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "past the end"), "%s", out);
}

Test(cli, error__wrong_key)
{
	char args[1200];

	snprintf(args, sizeof(args), "%s/other", d.dir);
	th_run(NULL, 0, "printf 0123456789abcdef0123 > %s && chmod 600 %s", args, args);
	snprintf(args, sizeof(args), "RDMACPY_PORT=%u %s ls %s -k %s/other", d.port, cli, th_ip(),
		 d.dir);
	cr_assert_eq(th_run(out, sizeof(out), "%s", args), EXIT_AUTH, "%s", out);
	cr_assert(strstr(out, "key"), "%s", out);
}

Test(cli, mk_and_rm__a_region_made_used_and_removed, .init = start_create)
{
	char in[400];
	char back[400];
	char args[1200];

	snprintf(args, sizeof(args), "mk %s:scratch 3M", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(strstr(out, "created") && strstr(out, "3145728 bytes"), "%s", out);
	snprintf(args, sizeof(args), "ls --json %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(strstr(out, "\"name\":\"scratch\",\"size\":3145728,\"rights\":\"rw\","
			      "\"kind\":\"anon\",\"dynamic\":true"),
		  "%s", out);
	/* it holds bytes like any region */
	snprintf(in, sizeof(in), "%s/in", d.dir);
	snprintf(back, sizeof(back), "%s/back", d.dir);
	cr_assert_eq(th_random_file(in, 3u << 20, 9), 0);
	snprintf(args, sizeof(args), "put -q --verify %s %s:scratch", in, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "get -q %s:scratch %s", th_ip(), back);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(th_files_equal(in, back));
	/* a name taken, an address form, a size of nothing: refused */
	snprintf(args, sizeof(args), "mk %s:scratch 1M", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "exists"), "%s", out);
	snprintf(args, sizeof(args), "mk %s:other@4096 1M", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_USAGE, "%s", out);
	snprintf(args, sizeof(args), "mk %s:other 0", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_USAGE, "%s", out);
	/* a region given on the command line is not the client's to remove */
	snprintf(args, sizeof(args), "rm %s:big", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	snprintf(args, sizeof(args), "rm %s:scratch", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "ls %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert_null(strstr(out, "scratch"), "%s", out);
	cr_assert(strstr(out, "big"), "%s", out);
	snprintf(args, sizeof(args), "rm %s:scratch", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "cannot remove"), "%s", out);
}

Test(cli, mk__refused_by_a_daemon_without_allow_create)
{
	char args[600];

	snprintf(args, sizeof(args), "mk %s:scratch 1M", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "--allow-create"), "%s", out);
	snprintf(args, sizeof(args), "ls %s", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert_null(strstr(out, "scratch"), "%s", out);
}

Test(cli, device__the_route_s_device_works_another_is_refused)
{
	const char *dev = getenv("RDMACPY_DEV") ? getenv("RDMACPY_DEV") : "rxe0";
	char args[600];

	/* the fabric's one RDMA device, with and without its port */
	snprintf(args, sizeof(args), "ls -d %s %s", dev, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "ls -d %s:1 %s", dev, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(args, sizeof(args), "ls -d mlx5_9 %s", th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_CONNECT, "%s", out);
	cr_assert(strstr(out, "mlx5_9"), "%s", out);
	snprintf(args, sizeof(args), "ls -d %s:7 %s", dev, th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_CONNECT, "%s", out);
}

Test(cli, error__usage)
{
	cr_assert_eq(rdmacpy("put onlyone"), EXIT_USAGE, "%s", out);
	cr_assert_eq(rdmacpy("frobnicate"), EXIT_USAGE, "%s", out);
	cr_assert_eq(rdmacpy("get host:r@x /dev/null"), EXIT_USAGE, "%s", out);
}

/* all_bytes -- every one of the len bytes of path is value */
static bool all_bytes(const char *path, uint8_t value, size_t len)
{
	uint8_t buf[65536];
	size_t seen = 0;
	FILE *f = fopen(path, "rb");
	size_t n;
	bool same = f != NULL;

	while (same && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (size_t i = 0; i < n && same; i++)
			same = buf[i] == value;
		seen += n;
	}
	if (f)
		fclose(f);
	return same && seen == len;
}

/* bench --span: the writes cycle over the whole span of the region, not over --qd slots (which
 * would have left 6 of the 8 MiB untouched); spans that cannot work are refused before a byte
 * moves */
Test(cli, bench__span__writes_cover_the_span__bad_spans_refused_and_change_nothing)
{
	char args[1200];
	char now[400];

	snprintf(args, sizeof(args), "bench --write --size 1M --qd 2 --iters 8 --span 8M %s:file",
		 th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	snprintf(now, sizeof(now), "%s/now", d.dir);
	snprintf(args, sizeof(args), "get -q %s:file %s", th_ip(), now);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	/* bench's buffer is filled with 0xa5 */
	cr_assert(all_bytes(now, 0xa5, 8u << 20), "bench --span 8M did not write all 8 MiB");

	snprintf(args, sizeof(args), "bench --write --size 1M --qd 2 --iters 8 --span 1M %s:file",
		 th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_USAGE, "a span smaller than qd x size: %s", out);
	cr_assert(strstr(out, "--span"), "%s", out);
	snprintf(args, sizeof(args), "bench --write --size 1M --qd 2 --iters 8 --span 16M %s:file",
		 th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_USAGE, "a span past the region: %s", out);
	cr_assert(strstr(out, "smaller than --span"), "%s", out);
	snprintf(args, sizeof(args), "bench --latency --size 4K --iters 8 --span 8M %s:file",
		 th_ip());
	cr_assert_eq(rdmacpy(args), EXIT_USAGE, "--span with --latency: %s", out);
	cr_assert_eq(rdmacpy("bench --span 0 host:file"), EXIT_USAGE, "%s", out);
	/* the bench's 0xa5 is untouched: the refused runs moved nothing */
	th_run(NULL, 0, "rm -f %s", now);
	snprintf(args, sizeof(args), "get -q %s:file %s", th_ip(), now);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
	cr_assert(all_bytes(now, 0xa5, 8u << 20), "a refused bench changed the region");
}

/* The file I/O runs on its own thread: its failures must end the command cleanly too. */

/* pattern_file -- fill the 8 MiB file region with a known pattern, kept in DIR/pattern */
static void pattern_region(char *pattern, size_t cap)
{
	char args[1200];

	snprintf(pattern, cap, "%s/pattern", d.dir);
	cr_assert_eq(th_random_file(pattern, 8u << 20, 77), 0);
	snprintf(args, sizeof(args), "put -q %s %s:file", pattern, th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
}

/* region_now -- the whole file region as it is now, in DIR/now */
static void region_now(char *now, size_t cap)
{
	char args[1200];

	snprintf(now, cap, "%s/now", d.dir);
	snprintf(args, sizeof(args), "get -q %s:file %s", th_ip(), now);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
}

#define ROOM_AT 6291456u /* the last 2 MiB of the 8 MiB file region */

Test(cli, put__file_that_does_not_fit__refused_before_any_byte_moves)
{
	char pattern[400];
	char now[400];
	char in[400];
	char src[500];
	char args[1200];

	pattern_region(pattern, sizeof(pattern));
	snprintf(in, sizeof(in), "%s/in3M", d.dir);
	cr_assert_eq(th_random_file(in, 3u << 20, 3), 0);
	snprintf(args, sizeof(args), "put %s %s:file@%u", in, th_ip(), ROOM_AT);
	cr_assert_eq(rdmacpy(args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "past the end") && strstr(out, "nothing was written"), "%s", out);
	/* a stream whose length is given is refused the same way */
	snprintf(src, sizeof(src), "cat %s", in);
	snprintf(args, sizeof(args), "put --size 3M - %s:file@%u", th_ip(), ROOM_AT);
	cr_assert_eq(rdmacpy_piped(src, args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "nothing was written"), "%s", out);
	region_now(now, sizeof(now));
	cr_assert(th_files_equal(pattern, now), "a refused put changed the region");
}

/* overwritten_bytes -- the N of "(N bytes)" in the message that names the overwritten range */
static unsigned long long overwritten_bytes(unsigned long long *first, unsigned long long *last)
{
	const char *m = strstr(out, "bytes ");
	unsigned long long n = 0;

	while (m && sscanf(m, "bytes %llu..%llu of %*s were overwritten (%llu bytes)", first, last,
			   &n) != 3)
		m = strstr(m + 1, "bytes ");
	cr_assert_not_null(m, "no exact overwritten range in: %s", out);
	return n;
}

Test(cli, put__stream_longer_than_the_room__names_the_overwritten_range)
{
	unsigned long long first;
	unsigned long long last;
	unsigned long long n;
	char pattern[400];
	char now[400];
	char in[400];
	char src[500];
	char args[1200];

	pattern_region(pattern, sizeof(pattern));
	snprintf(in, sizeof(in), "%s/in3M", d.dir);
	cr_assert_eq(th_random_file(in, 3u << 20, 4), 0);
	/* 3 MiB through a pipe (length unknown) into the last 2 MiB */
	snprintf(src, sizeof(src), "cat %s", in);
	snprintf(args, sizeof(args), "put - %s:file@%u", th_ip(), ROOM_AT);
	cr_assert_eq(rdmacpy_piped(src, args), EXIT_REMOTE, "%s", out);
	cr_assert(strstr(out, "longer than"), "%s", out);
	n = overwritten_bytes(&first, &last);
	cr_assert_eq(first, ROOM_AT, "%s", out);
	cr_assert_eq(last, first + n - 1, "%s", out);
	cr_assert_leq(n, 2u << 20, "%s", out);
	/* exactly that: the input's first n bytes there, the pattern everywhere else */
	region_now(now, sizeof(now));
	cr_assert(th_file_range_equal(now, ROOM_AT, in, 0, n), "the named range is not the input");
	cr_assert(th_file_range_equal(now, 0, pattern, 0, ROOM_AT), "bytes before it changed");
	cr_assert(th_file_range_equal(now, ROOM_AT + n, pattern, ROOM_AT + n,
				      (8u << 20) - ROOM_AT - n),
		  "bytes after the named range changed");
	/* the daemon serves the next client */
	snprintf(args, sizeof(args), "get %s:file@%u+4096 /dev/null", th_ip(), ROOM_AT);
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
}

Test(cli, put__stream_of_another_length_than_size__names_what_changed)
{
	unsigned long long first;
	unsigned long long last;
	char pattern[400];
	char now[400];
	char in[400];
	char src[500];
	char args[1200];

	pattern_region(pattern, sizeof(pattern));
	snprintf(in, sizeof(in), "%s/in3M", d.dir);
	cr_assert_eq(th_random_file(in, 3u << 20, 5), 0);
	/* longer than --size: the given length is written, then the error */
	snprintf(src, sizeof(src), "cat %s", in);
	snprintf(args, sizeof(args), "put --size 1M - %s:file", th_ip());
	cr_assert_eq(rdmacpy_piped(src, args), EXIT_LOCAL_IO, "%s", out);
	cr_assert(strstr(out, "longer than the 1048576 bytes given"), "%s", out);
	cr_assert_eq(overwritten_bytes(&first, &last), 1u << 20, "%s", out);
	cr_assert_eq(first, 0);
	/* shorter than --size */
	snprintf(src, sizeof(src), "head -c 1000 %s", in);
	cr_assert_eq(rdmacpy_piped(src, args), EXIT_LOCAL_IO, "%s", out);
	cr_assert(strstr(out, "ended after 1000 of the 1048576 bytes"), "%s", out);
	cr_assert_eq(overwritten_bytes(&first, &last), 1000, "%s", out);
	region_now(now, sizeof(now));
	cr_assert(th_file_range_equal(now, 0, in, 0, 1000));
	cr_assert(th_file_range_equal(now, 1000, in, 1000, (1u << 20) - 1000),
		  "the first put's bytes after the second's 1000");
	cr_assert(th_file_range_equal(now, 1u << 20, pattern, 1u << 20, 7u << 20));
}

Test(cli, error__reader_of_stdout_goes_away, .init = start_big)
{
	char args[1200];

	/* head stops reading after 1 MiB of a 256 MiB get: rdmacpy must end, not hang, and say
	 * why unless the pipe's signal ended it first. Its own exit status is reported through
	 * fd 4 (the pipeline's status would be wc's) */
	snprintf(args, sizeof(args),
		 "exec 4>&1; { RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s get %s:big+256M -; "
		 "echo \"rdmacpy=$?\" >&4; } | head -c 1048576 | wc -c",
		 d.port, d.key, cli, th_ip());
	cr_assert_eq(th_run(out, sizeof(out), "%s", args), 0, "%s", out);
	cr_assert(strstr(out, "1048576"), "%s", out);
	/* 141: killed by SIGPIPE, as a filter in a pipeline is; 7: it saw EPIPE and said so */
	cr_assert(strstr(out, "rdmacpy=141") || (strstr(out, "rdmacpy=7") && strstr(out, "error")),
		  "rdmacpy did not end on the broken pipe: %s", out);
	snprintf(args, sizeof(args), "get %s:big+4096 /dev/null", th_ip());
	cr_assert_eq(rdmacpy(args), 0, "%s", out);
}

Test(cli, error__daemon_killed_mid_get__temporary_file_removed, .init = start_big)
{
	char args[2400];
	char back[400];
	int rc;

	snprintf(back, sizeof(back), "%s/killed", d.dir);
	/* a 300 MiB get takes seconds here; the daemon dies once the first bytes are in the
	 * get's temporary file, that is while the rest are on their way */
	snprintf(args, sizeof(args),
		 "(until find %s -maxdepth 1 -name \"*rdmacpy-*\" -size +0 | grep -q .; "
		 "do sleep 0.05; done; kill -9 %d) & "
		 "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s "
		 "timeout 60 %s get -q --timeout 5000 %s:big+300M %s; echo \"exit=$?\"; wait",
		 d.dir, (int)d.pid, d.port, d.key, cli, th_ip(), back);
	th_run(out, sizeof(out), "%s", args);
	d.pid = -1;
	cr_assert(strstr(out, "exit=8") || strstr(out, "exit=3"),
		  "want a transfer or connection "
		  "error: %s",
		  out);
	cr_assert(strstr(out, "error") || strstr(out, "rdmacpy:"), "no message: %s", out);
	rc = th_run(out, sizeof(out), "ls -a %s | grep -c rdmacpy- || true", d.dir);
	cr_assert_eq(rc, 0);
	cr_assert(strncmp(out, "0", 1) == 0, "a temporary file was left behind: %s", out);
	cr_assert_neq(access(back, F_OK), 0, "%s exists after a failed get", back);
}
