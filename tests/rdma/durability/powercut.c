/* SPDX-License-Identifier: BSD-3-Clause */
/* powercut.c -- the two halves of the power-cut test: write ranges through rdmacpyd and FLUSH
 * them (before the power goes), then check what the disk kept (after the reboot) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdmacpy.h"
#include "tests/rdma/reliability/pattern.h"

#define MiB	 (1ull << 20)
#define RANGE	 (4 * MiB)
#define ROUND	 (4 * RANGE) /* each round uses four ranges of its own */
#define ROUNDS	 3
#define TIMEOUT	 60000

/*
 * Every range first gets pattern A, FLUSHed and forced to the disk with sync, so the file
 * holds A for certain. Then pattern B arrives in one of the shapes that lost data when the
 * daemon registered the file's page cache:
 *   synced    B written and FLUSHed                          -> the disk must hold B
 *   open_sync writeback between the grant's OPEN and B        -> B
 *   halves    B in two halves with writeback between, FLUSH  -> B
 *   unflushed B written, never FLUSHed                       -> A or B, never a mix
 * The journal says, per range, which patterns may be found: the check half reads it back.
 */
enum shape { SYNCED, OPEN_SYNC, HALVES, UNFLUSHED, NSHAPES };
static const char *const shape_names[] = {"synced", "open_sync", "halves", "unflushed"};

static uint8_t *buf;

/* die -- a failure of the test's own doing */
static void die(const char *what, int err)
{
	fprintf(stderr, "powercut: %s: %s\n", what, err < 0 ? rdmacpy_strerror(err) : strerror(err));
	exit(2);
}

/* pattern_a / pattern_b -- the two patterns of a range, told apart by their index */
static uint64_t pattern_index(unsigned round, enum shape sh, int which)
{
	return (uint64_t)round * 100 + (uint64_t)sh * 10 + (uint64_t)which;
}

/* put -- write pattern idx into [off, off+len) of the region through g */
static void put(struct rdmacpy_conn *c, struct rdmacpy_grant *g, uint64_t goff, uint64_t off,
		uint64_t len, uint64_t idx)
{
	int ret;

	pattern_fill(buf, RANGE, 7, idx);
	ret = rdmacpy_write(c, g, off - goff, buf + (off % RANGE), len);
	if (ret)
		die("RDMA write", ret);
}

/* flush -- FLUSH [off, off+len) of the region */
static void flush(struct rdmacpy_conn *c, struct rdmacpy_grant *g, uint64_t goff, uint64_t off,
		  uint64_t len)
{
	int ret = rdmacpy_grant_flush(g, off - goff, len);

	if (ret)
		die("FLUSH", ret);
}

/* do_write -- the rounds, then a journal of what each range may hold */
static int do_write(const char *host, const char *port, const char *key, const char *region,
		    const char *journal)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_grant *all = NULL;
	struct rdmacpy_grant *g = NULL;
	FILE *j;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = key;
	o.timeout_ms = TIMEOUT;
	ret = rdmacpy_conn_open(host, (uint16_t)atoi(port), &o, &c);
	if (ret)
		die("connect", ret);
	ret = rdmacpy_grant_open(c, region, 0, ROUNDS * ROUND, RDMACPY_RIGHTS_RW, &all);
	if (ret)
		die("OPEN", ret);
	j = fopen(journal, "w");
	if (!j)
		die(journal, errno);
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (int sh = 0; sh < NSHAPES; sh++) {
			uint64_t off = (uint64_t)r * ROUND + (uint64_t)sh * RANGE;
			uint64_t a = pattern_index(r, sh, 1);
			uint64_t b = pattern_index(r, sh, 2);

			put(c, all, 0, off, RANGE, a);
			flush(c, all, 0, off, RANGE);
			sync();
			switch (sh) {
			case SYNCED:
				put(c, all, 0, off, RANGE, b);
				flush(c, all, 0, off, RANGE);
				break;
			case OPEN_SYNC:
				ret = rdmacpy_grant_open(c, region, off, RANGE, RDMACPY_RIGHTS_RW, &g);
				if (ret)
					die("OPEN of one range", ret);
				sync();
				put(c, g, off, off, RANGE, b);
				flush(c, g, off, off, RANGE);
				rdmacpy_grant_close(&g);
				break;
			case HALVES:
				put(c, all, 0, off, RANGE / 2, b);
				sync();
				put(c, all, 0, off + RANGE / 2, RANGE / 2, b);
				flush(c, all, 0, off, RANGE);
				break;
			default:
				put(c, all, 0, off, RANGE, b);
				break;
			}
			fprintf(j, "%llu %llu %llu %llu %s\n", (unsigned long long)off,
				(unsigned long long)RANGE, (unsigned long long)a,
				(unsigned long long)b, shape_names[sh]);
		}
	}
	/* the journal lives on the host's share: on it before the power goes */
	if (fflush(j) || fsync(fileno(j)) || fclose(j))
		die(journal, errno);
	rdmacpy_grant_close(&all);
	rdmacpy_conn_close(&c);
	printf("powercut: %d ranges written, %d FLUSHed\n", ROUNDS * NSHAPES, ROUNDS * 3);
	return 0;
}

/* range_is -- whether [off, off+len) of fd holds pattern idx */
static bool range_is(int fd, uint64_t off, uint64_t len, uint64_t idx, uint8_t *got)
{
	pattern_fill(buf, len, 7, idx);
	return pread(fd, got, len, (off_t)off) == (ssize_t)len && !memcmp(got, buf, len);
}

/* first_diff -- where two buffers first differ, for the report */
static uint64_t first_diff(const uint8_t *x, uint64_t len, uint64_t idx)
{
	pattern_fill(buf, len, 7, idx);
	for (uint64_t i = 0; i < len; i++)
		if (x[i] != buf[i])
			return i;
	return len;
}

/* do_check -- every range against what the journal allows */
static int do_check(const char *file, const char *journal)
{
	unsigned long long off;
	unsigned long long len;
	unsigned long long a;
	unsigned long long b;
	char shape[32];
	uint8_t *got = malloc(RANGE);
	int fd = open(file, O_RDONLY);
	FILE *j = fopen(journal, "r");
	int bad = 0;
	int n = 0;

	if (!got || fd < 0 || !j)
		die("opening the file and the journal", errno);
	while (fscanf(j, "%llu %llu %llu %llu %31s", &off, &len, &a, &b, shape) == 5) {
		bool is_b = range_is(fd, off, len, b, got);
		bool is_a = !is_b && range_is(fd, off, len, a, got);
		bool ok = strcmp(shape, "unflushed") ? is_b : is_a || is_b;

		n++;
		printf("powercut: [%llu, +%llu) %-9s holds %s: %s\n", off, len, shape,
		       is_b ? "B (new)" : is_a ? "A (old)" : "a mix or neither", ok ? "ok" : "LOST");
		if (!ok && !is_a)
			printf("powercut:   first byte not B at +%llu, not A at +%llu\n",
			       (unsigned long long)first_diff(got, len, b),
			       (unsigned long long)first_diff(got, len, a));
		bad += !ok;
	}
	fclose(j);
	close(fd);
	free(got);
	if (!n)
		die("the journal is empty", EINVAL);
	printf("powercut: %d ranges checked, %d wrong\n", n, bad);
	return bad ? 1 : 0;
}

/* main -- write HOST PORT KEY REGION JOURNAL | check FILE JOURNAL */
int main(int argc, char **argv)
{
	buf = malloc(RANGE);
	if (!buf)
		die("malloc", ENOMEM);
	if (argc == 7 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3]);
	fprintf(stderr, "usage: powercut write HOST PORT KEY REGION JOURNAL\n"
			"       powercut check FILE JOURNAL\n");
	return 2;
}
