/* SPDX-License-Identifier: BSD-3-Clause */
/* test_staged.c -- file regions on a filesystem with writeback are served from memory: the
 * file changes at FLUSH (and at exit), never behind it; tmpfs files stay shared mappings */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

#define MiB  (1ull << 20)
#define SIZE (16 * MiB)

static struct th_daemon d;
static struct rdmacpy_conn *c;
static char dir[512];  /* on the build tree: not tmpfs */
static char path[600]; /* the region's file */

/* stop -- close, SIGTERM (exit 0 wanted), remove the file */
static void stop(void)
{
	rdmacpy_conn_close(&c);
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0, "rdmacpyd exit status (log %s)", d.log);
	if (path[0])
		unlink(path);
}

TestSuite(staged, .fini = stop, .timeout = 300);

/* fill -- bytes that differ per seed */
static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 7;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* file_range_is -- whether the file holds buf at off */
static bool file_range_is(uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n);
	int fd = open(path, O_RDONLY);
	bool same = fd >= 0 && got && pread(fd, got, n, (off_t)off) == (ssize_t)n &&
		    !memcmp(got, want, n);

	if (fd >= 0)
		close(fd);
	free(got);
	return same;
}

/* start_on -- a file region named f on a file in folder (created with seed's bytes when seed
 * is not 0), and a connection */
static void start_on(const char *folder, unsigned int seed)
{
	const char *args[] = {"--region", NULL, "-v", NULL};
	char spec[700];
	struct rdmacpy_conn_opts o;
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	snprintf(dir, sizeof(dir), "%s", folder);
	snprintf(path, sizeof(path), "%s/staged-%d.bin", dir, (int)getpid());
	unlink(path);
	if (seed) {
		uint8_t *b = malloc(SIZE);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
		fill(b, SIZE, seed);
		cr_assert_eq(write(fd, b, SIZE), (ssize_t)SIZE);
		close(fd);
		free(b);
	}
	snprintf(spec, sizeof(spec), "f:file:%s:16MiB", path);
	args[1] = spec;
	ret = th_daemon_start(&d, args);
	cr_assert_eq(ret, 0, "rdmacpyd did not start (%d), log %s", ret, d.log);
	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
}

/* build_folder -- a folder of the build tree (a filesystem with writeback, not tmpfs) */
static const char *build_folder(void)
{
	static char buf[512];
	struct statfs sfs;

	th_build("test-staged", buf, sizeof(buf));
	mkdir(buf, 0700);
	if (statfs(buf, &sfs) || sfs.f_type == TMPFS_MAGIC)
		cr_skip_test("the build tree is on tmpfs here: nothing is staged");
	return buf;
}

/* daemon_log_has -- a line of the daemon's log contains text */
static bool daemon_log_has(const char *text)
{
	char out[65536];

	th_run(out, sizeof(out), "cat %s", d.log);
	return strstr(out, text) != NULL;
}

Test(staged, rdma_write_reaches_the_file_only_at_flush)
{
	uint8_t *old = malloc(MiB);
	uint8_t *nu = malloc(MiB);
	struct rdmacpy_grant *g = NULL;

	start_on(build_folder(), 3);
	cr_assert(daemon_log_has("staged in memory"), "log %s", d.log);
	fill(old, MiB, 3);
	cr_assert(file_range_is(0, old, MiB));
	cr_assert_eq(rdmacpy_grant_open(c, "f", 4 * MiB, 2 * MiB, RDMACPY_RIGHTS_RW, &g), 0);
	fill(nu, MiB, 99);
	cr_assert_eq(rdmacpy_write(c, g, 0, nu, MiB), 0);
	/* written into the daemon's memory: the file does not change behind FLUSH's back */
	{
		uint8_t *file_old = malloc(SIZE);

		fill(file_old, SIZE, 3);
		cr_assert(file_range_is(4 * MiB, file_old + 4 * MiB, MiB),
			  "the file changed before FLUSH");
		free(file_old);
	}
	cr_assert_eq(rdmacpy_grant_flush(g, 0, MiB), 0);
	cr_assert(file_range_is(4 * MiB, nu, MiB), "FLUSH did not write the range to the file");
	cr_assert(daemon_log_has("FLUSH f [4194304, +1048576): durable, 1048576 bytes written"),
		  "FLUSH not logged at -v (%s)", d.log);
	rdmacpy_grant_close(&g);
	free(old);
	free(nu);
}

Test(staged, loaded_at_start__read_back)
{
	uint8_t *want = malloc(SIZE);
	uint8_t *got = malloc(SIZE);
	struct rdmacpy_grant *g = NULL;

	start_on(build_folder(), 5);
	fill(want, SIZE, 5);
	cr_assert_eq(rdmacpy_grant_open(c, "f", 0, SIZE, RDMACPY_RIGHTS_RO, &g), 0);
	cr_assert_eq(rdmacpy_read(c, g, 0, got, SIZE), 0);
	cr_assert_arr_eq(got, want, SIZE, "the staged copy is not the file's bytes");
	rdmacpy_grant_close(&g);
	free(want);
	free(got);
}

Test(staged, sigterm_writes_back_what_grants_could_change)
{
	uint8_t *nu = malloc(MiB);
	uint8_t *old = malloc(SIZE);
	struct rdmacpy_grant *g = NULL;

	start_on(build_folder(), 7);
	cr_assert_eq(rdmacpy_grant_open(c, "f", 8 * MiB, MiB, RDMACPY_RIGHTS_RW, &g), 0);
	fill(nu, MiB, 77);
	cr_assert_eq(rdmacpy_write(c, g, 0, nu, MiB), 0);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
	cr_assert_eq(th_daemon_stop(&d), 0, "exit status after SIGTERM");
	cr_assert(file_range_is(8 * MiB, nu, MiB), "an unflushed write was lost at SIGTERM");
	fill(old, SIZE, 7);
	cr_assert(file_range_is(0, old, 8 * MiB), "bytes no grant covered changed");
	cr_assert(daemon_log_has("wrote 2097152 bytes back"), "log %s", d.log);
	free(nu);
	free(old);
}

Test(staged, tmpfs_file__shared_mapping_no_staging)
{
	uint8_t *nu = malloc(MiB);
	struct rdmacpy_grant *g = NULL;
	struct statfs sfs;

	if (statfs("/dev/shm", &sfs) || sfs.f_type != TMPFS_MAGIC)
		cr_skip_test("/dev/shm is not tmpfs here");
	start_on("/dev/shm", 0);
	cr_assert(daemon_log_has("tmpfs, shared mapping"), "log %s", d.log);
	cr_assert_eq(rdmacpy_grant_open(c, "f", 0, MiB, RDMACPY_RIGHTS_RW, &g), 0);
	fill(nu, MiB, 11);
	cr_assert_eq(rdmacpy_write(c, g, 0, nu, MiB), 0);
	/* tmpfs has no writeback: its page cache is the file, and the write is in it */
	cr_assert(file_range_is(0, nu, MiB));
	cr_assert_eq(rdmacpy_grant_flush(g, 0, MiB), 0);
	rdmacpy_grant_close(&g);
	free(nu);
}
