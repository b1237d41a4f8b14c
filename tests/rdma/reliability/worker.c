/* SPDX-License-Identifier: BSD-3-Clause */
/* worker.c -- rel_worker: a librdmacpy client doing verified transfers, for fault tests and soak */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdmacpy.h>

#include "pattern.h"

/*
 * Modes:
 *   verify (default): random sizes at random offsets of [offset, +span): write a pattern,
 *     read it back, compare. Stops after --ops transfers or --seconds, whichever comes first.
 *   flush (--flush): chunk i of --max-size bytes goes to offset + i * size, then FLUSH;
 *     each acknowledged FLUSH is announced as "acked I OFF LEN" so the parent can check the
 *     range after the daemon died. Stops when the span is full or on the first error.
 * Output: "ready" once the grant is open, then the totals "ops N bytes B"; on failure
 * "error: WHAT: TEXT" and exit 1 (transfer or request failed) or 2 (the data differed).
 */

struct opts {
	const char *host;
	uint16_t port;
	const char *key_file;
	const char *region;
	uint64_t offset;
	uint64_t span;
	uint64_t ops;
	unsigned int seconds;
	uint64_t seed;
	size_t max_size;
	int timeout_ms;
	bool flush;
};

/* now_ms -- monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* fail -- one line naming what failed, and the exit status for it */
static int fail(struct rdmacpy_conn *c, const char *what, int err, uint64_t ops)
{
	printf("error: %s: %s (%s) after %" PRIu64 " ops\n", what, rdmacpy_strerror(err),
	       c ? rdmacpy_conn_last_error(c) : "", ops);
	fflush(stdout);
	return 1;
}

/* run_verify -- write, read back, compare, until the op count or the time is used up */
static int run_verify(const struct opts *o, struct rdmacpy_conn *c, struct rdmacpy_grant *g,
		      uint8_t *out, uint8_t *in)
{
	uint64_t deadline = now_ms() + (uint64_t)o->seconds * 1000;
	uint64_t rng = o->seed;
	uint64_t bytes = 0;
	uint64_t n;
	int ret;

	for (n = 0; n < o->ops && now_ms() < deadline; n++) {
		size_t len = 1 + (size_t)(pattern_next(&rng) % o->max_size);
		uint64_t off = pattern_next(&rng) % (o->span - len + 1);

		pattern_fill(out, len, o->seed, n);
		ret = rdmacpy_write(c, g, off, out, len);
		if (ret)
			return fail(c, "write", ret, n);
		memset(in, 0, len);
		ret = rdmacpy_read(c, g, off, in, len);
		if (ret)
			return fail(c, "read", ret, n);
		if (memcmp(out, in, len)) {
			printf("error: verify: %zu bytes at %" PRIu64 " differ (seed %" PRIu64
			       ", op %" PRIu64 ")\n",
			       len, off, o->seed, n);
			return 2;
		}
		bytes += 2 * len;
	}
	printf("ops %" PRIu64 " bytes %" PRIu64 "\n", n, bytes);
	return 0;
}

/* run_flush -- consecutive chunks, each made durable and announced */
static int run_flush(const struct opts *o, struct rdmacpy_conn *c, struct rdmacpy_grant *g,
		     uint8_t *out)
{
	uint64_t n;
	int ret;

	for (n = 0; n < o->ops && (n + 1) * o->max_size <= o->span; n++) {
		uint64_t off = n * o->max_size;

		pattern_fill(out, o->max_size, o->seed, n);
		ret = rdmacpy_write(c, g, off, out, o->max_size);
		if (ret)
			return fail(c, "write", ret, n);
		ret = rdmacpy_grant_flush(g, off, o->max_size);
		if (ret)
			return fail(c, "flush", ret, n);
		printf("acked %" PRIu64 " %" PRIu64 " %zu\n", n, o->offset + off, o->max_size);
		fflush(stdout);
	}
	printf("ops %" PRIu64 " bytes %" PRIu64 "\n", n, n * o->max_size);
	return 0;
}

/* usage -- the options */
static int usage(void)
{
	fprintf(stderr,
		"usage: rel_worker -H HOST -P PORT -k KEYFILE -r REGION [-o OFFSET] -s SPAN "
		"[-n OPS] [-t SECONDS] [-S SEED] [-m MAXSIZE] [-T TIMEOUT_MS] [--flush]\n");
	return 64;
}

/* main -- parse, connect, open the grant, run the mode */
int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"flush", no_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.ops = UINT64_MAX,
			 .seconds = 60,
			 .seed = 1,
			 .max_size = 256 * 1024,
			 .timeout_ms = 10000};
	struct rdmacpy_conn_opts co;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_grant *g = NULL;
	uint8_t *out;
	uint8_t *in;
	int opt;
	int ret;

	while ((opt = getopt_long(argc, argv, "H:P:k:r:o:s:n:t:S:m:T:", lopts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			o.host = optarg;
			break;
		case 'P':
			o.port = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'k':
			o.key_file = optarg;
			break;
		case 'r':
			o.region = optarg;
			break;
		case 'o':
			o.offset = strtoull(optarg, NULL, 0);
			break;
		case 's':
			o.span = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o.ops = strtoull(optarg, NULL, 0);
			break;
		case 't':
			o.seconds = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			o.max_size = (size_t)strtoull(optarg, NULL, 0);
			break;
		case 'T':
			o.timeout_ms = (int)strtol(optarg, NULL, 0);
			break;
		case 'F':
			o.flush = true;
			break;
		default:
			return usage();
		}
	}
	if (!o.host || !o.port || !o.region || !o.span || !o.max_size || o.max_size > o.span)
		return usage();
	out = malloc(o.max_size);
	in = malloc(o.max_size);
	if (!out || !in) {
		ret = fail(NULL, "malloc", RDMACPY_E_NOMEM, 0);
		goto out_free;
	}
	rdmacpy_conn_opts_init(&co);
	co.key_file = o.key_file;
	co.timeout_ms = o.timeout_ms;
	ret = rdmacpy_conn_open(o.host, o.port, &co, &c);
	if (ret) {
		ret = fail(NULL, "connect", ret, 0);
		goto out_free;
	}
	ret = rdmacpy_grant_open(c, o.region, o.offset, o.span, RDMACPY_RIGHTS_RW, &g);
	if (ret) {
		ret = fail(c, "open", ret, 0);
		goto out_close;
	}
	printf("ready\n");
	fflush(stdout);
	if (o.flush)
		ret = run_flush(&o, c, g, out);
	else
		ret = run_verify(&o, c, g, out, in);
	fflush(stdout);
	rdmacpy_grant_close(&g);
out_close:
	rdmacpy_conn_close(&c);
out_free:
	free(in);
	free(out);
	return ret;
}
