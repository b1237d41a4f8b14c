/* SPDX-License-Identifier: BSD-3-Clause */
/* test_regions.c -- the real rdmacpyd through librdmacpy: a memory and a file region, LIST,
 * OPEN, 8 MiB RDMA WRITE and READ verified, FLUSH, and the written bytes on disk */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

#define XFER (8u << 20)

static struct th_daemon d;
static struct rdmacpy_conn *conn;

/* start -- rdmacpyd with an anonymous and a file-backed region, and a connection to it */
static void start(void)
{
	static const char *const extra[] = {"--region", "mem:anon:16M:rw", "--region",
					    "disk:file:%D/disk.dat:16M:rw", NULL};
	struct rdmacpy_conn_opts o;
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	ret = th_daemon_start(&d, extra);
	cr_assert_eq(ret, 0, "rdmacpyd did not start (%d)", ret);
	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &conn);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
}

/* stop -- close, then the daemon must exit 0 on SIGTERM */
static void stop(void)
{
	rdmacpy_conn_close(&conn);
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0, "rdmacpyd exit status");
}

TestSuite(regions, .init = start, .fini = stop, .timeout = 300);

/* fill -- deterministic bytes that differ per seed */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* write_read_verify -- 8 MiB out through a grant and back, compared byte for byte */
static void write_read_verify(const char *region, uint64_t offset, uint8_t *out, unsigned seed)
{
	struct rdmacpy_grant *g = NULL;
	uint8_t *back = malloc(XFER);
	int ret;

	cr_assert_not_null(back);
	fill(out, XFER, seed);
	ret = rdmacpy_grant_open(conn, region, offset, XFER, RDMACPY_RIGHTS_RW, &g);
	cr_assert_eq(ret, 0, "open %s: %s (%s)", region, rdmacpy_strerror(ret),
		     rdmacpy_conn_last_error(conn));
	cr_assert(rdmacpy_grant_is_memory_window(g), "rxe has memory windows: grant must be one");
	ret = rdmacpy_write(conn, g, 0, out, XFER);
	cr_assert_eq(ret, 0, "write: %s", rdmacpy_strerror(ret));
	memset(back, 0, XFER);
	ret = rdmacpy_read(conn, g, 0, back, XFER);
	cr_assert_eq(ret, 0, "read: %s", rdmacpy_strerror(ret));
	cr_assert_eq(memcmp(out, back, XFER), 0, "%s: read back differs", region);
	ret = rdmacpy_grant_flush(g, 0, XFER);
	cr_assert_eq(ret, 0, "flush: %s", rdmacpy_strerror(ret));
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	free(back);
}

Test(regions, list__both_regions_with_kind_rights_size)
{
	struct rdmacpy_region_info ri[8];
	size_t total = 0;
	int n = rdmacpy_region_list(conn, ri, sizeof(ri[0]), 8, &total);

	cr_assert_eq(n, 2, "list: %d", n);
	cr_assert_eq(total, 2);
	cr_assert_str_eq(ri[0].name, "mem");
	cr_assert_eq(ri[0].kind, RDMACPY_KIND_ANON);
	cr_assert_eq(ri[0].size, 16u << 20);
	cr_assert_eq(ri[0].rights, RDMACPY_RIGHTS_RW);
	cr_assert_str_eq(ri[1].name, "disk");
	cr_assert_eq(ri[1].kind, RDMACPY_KIND_FILE);
}

Test(regions, memory_region__8MiB_write_read_flush)
{
	uint8_t *out = malloc(XFER);

	cr_assert_not_null(out);
	write_read_verify("mem", 4096, out, 1);
	free(out);
}

Test(regions, file_region__8MiB_write_read_flush__bytes_on_disk)
{
	uint8_t *out = malloc(XFER);
	uint8_t *disk = malloc(XFER);
	char path[400];
	int fd;

	cr_assert(out && disk);
	write_read_verify("disk", 1u << 20, out, 2);
	/* FLUSH answered: the daemon's backing file must hold the bytes now. */
	snprintf(path, sizeof(path), "%s/disk.dat", d.dir);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, disk, XFER, 1 << 20), (ssize_t)XFER);
	close(fd);
	cr_assert_eq(memcmp(out, disk, XFER), 0, "file on disk differs after FLUSH");
	free(out);
	free(disk);
}
