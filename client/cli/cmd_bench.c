/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_bench.c -- rdmacpy bench: bandwidth and latency of one link, perftest-style */

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include "client/cli/cli.h"
#include "client/cli/progress.h"
#include "common/size.h"

#define LAT_SAMPLES_MAX 100000

struct bench_result {
	uint64_t size;
	uint64_t ops;
	uint64_t bytes;
	double seconds;
	double mbps;
	double lat_p50_us;
	double lat_p99_us;
	double wakeups_per_gib;
	double completions_per_wakeup;
	double cpu_s_per_gib;
	uint64_t wakeups;
	uint64_t completions;
};

struct bench_ctx {
	unsigned outstanding;
	int error;
};

/* cpu_seconds -- user + system CPU time of this process */
static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* op_done -- one bandwidth operation finished */
static void op_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct bench_ctx *b = ctx;

	(void)op;
	b->outstanding--;
	if (status && !b->error)
		b->error = status;
}

/* cmp_double -- qsort order */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

/* finish -- derived figures from raw counts */
static void finish(struct bench_result *r, const struct rdmacpy_counters *c0,
		   const struct rdmacpy_counters *c1, double cpu)
{
	double gib = (double)r->bytes / (double)(1ull << 30);

	r->mbps = r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0;
	r->wakeups = c1->wakeups - c0->wakeups;
	r->completions = c1->completions - c0->completions;
	r->wakeups_per_gib = gib > 0 ? (double)r->wakeups / gib : 0;
	r->completions_per_wakeup = r->wakeups ? (double)r->completions / (double)r->wakeups : 0;
	r->cpu_s_per_gib = gib > 0 ? cpu / gib : 0;
}

/*
 * submit_one -- start one operation of size bytes on slot.
 *
 * With --sges N the bytes come from N pieces that are not contiguous in memory (a gap of one
 * piece between neighbours, so the planner cannot merge them): one writev/readv against one
 * remote range, or with --separate N operations of one piece each. Returns the operations
 * started (added to b->outstanding) or an RDMACPY_E_* code.
 */
static int submit_one(const struct cli_opts *o, struct rdmacpy_conn *conn,
		      const struct rdmacpy_grant *g, uint8_t *buf, uint64_t size, uint64_t slot,
		      struct bench_ctx *b)
{
	struct iovec iov[1024];
	struct rdmacpy_range r = {.offset = slot * size, .length = size};
	unsigned int n = o->sges;
	uint64_t piece;
	unsigned int j;
	int rc;

	if (n <= 1) {
		uint8_t *p = buf + slot * size;

		b->outstanding++;
		rc = o->bench_read ? rdmacpy_read_async(conn, g, r.offset, p, (size_t)size, op_done,
							b, NULL)
				   : rdmacpy_write_async(conn, g, r.offset, p, (size_t)size,
							 op_done, b, NULL);
		if (rc) {
			b->outstanding--;
			return rc;
		}
		return 1;
	}
	piece = size / n;
	for (j = 0; j < n; j++) {
		iov[j].iov_base = buf + slot * size * 2 + (uint64_t)j * piece * 2;
		iov[j].iov_len = (size_t)(j + 1 < n ? piece : size - piece * (n - 1));
	}
	if (!o->separate) {
		b->outstanding++;
		rc = o->bench_read
			     ? rdmacpy_readv_async(conn, g, iov, (int)n, &r, 1, op_done, b, NULL)
			     : rdmacpy_writev_async(conn, g, iov, (int)n, &r, 1, op_done, b, NULL);
		if (rc) {
			b->outstanding--;
			return rc;
		}
		return 1;
	}
	for (j = 0; j < n; j++) {
		uint64_t off = r.offset + (uint64_t)j * piece;

		b->outstanding++;
		rc = o->bench_read ? rdmacpy_read_async(conn, g, off, iov[j].iov_base,
							iov[j].iov_len, op_done, b, NULL)
				   : rdmacpy_write_async(conn, g, off, iov[j].iov_base,
							 iov[j].iov_len, op_done, b, NULL);
		if (rc) {
			b->outstanding--;
			return rc;
		}
	}
	return (int)n;
}

/* run_bw -- keep queue-depth operations of one size in flight for the duration */
static int run_bw(const struct cli_opts *o, struct rdmacpy_conn *conn,
		  const struct rdmacpy_grant *g, uint8_t *buf, uint64_t size, unsigned depth,
		  struct bench_result *r)
{
	uint64_t region_slots = rdmacpy_grant_length(g) / size;
	/*
	 * By default the operations reuse queue-depth slots: the same memory, warm in every cache
	 * and TLB on the way, perftest's way. --span (checked to fit the region and to hold the
	 * queue depth) cycles over that many bytes instead, so that each operation touches memory
	 * the ones before it did not, as the transfer of a large file does.
	 */
	uint64_t queue_slots = region_slots < depth ? region_slots : depth;
	uint64_t slots = o->span ? o->span / size : queue_slots;
	/* --separate counts pieces in flight: the same bytes as depth whole operations */
	unsigned per_op = o->sges > 1 && o->separate ? o->sges : 1;
	struct rdmacpy_counters c0;
	struct rdmacpy_counters c1;
	struct bench_ctx b = {0};
	uint64_t t0;
	uint64_t deadline;
	uint64_t next = 0;
	double cpu0;
	int rc = 0;

	if (slots == 0)
		return RDMACPY_E_RANGE;
	c0.size = sizeof(c0);
	rdmacpy_conn_counters(conn, &c0);
	cpu0 = cpu_seconds();
	t0 = cli_now_ns();
	deadline = t0 + (uint64_t)(o->duration_s * 1e9);
	while (!b.error) {
		bool more = o->iters ? r->ops < o->iters : cli_now_ns() < deadline;

		if (!more && b.outstanding == 0)
			break;
		if (more && b.outstanding + per_op <= depth * per_op) {
			rc = submit_one(o, conn, g, buf, size, next++ % slots, &b);
			if (rc < 0) {
				b.error = rc;
				break;
			}
			r->ops++;
			r->bytes += size;
			continue;
		}
		rc = rdmacpy_conn_progress(conn, -1);
		if (rc < 0) {
			b.error = rc;
		} else if (rc == 0 && b.outstanding) {
			b.error = RDMACPY_E_TIMEOUT;
		}
	}
	r->seconds = (double)(cli_now_ns() - t0) / 1e9;
	c1.size = sizeof(c1);
	rdmacpy_conn_counters(conn, &c1);
	finish(r, &c0, &c1, cpu_seconds() - cpu0);
	return b.error;
}

/* run_lat -- one operation at a time; the median and 99th percentile of their times */
static int run_lat(const struct cli_opts *o, struct rdmacpy_conn *conn,
		   const struct rdmacpy_grant *g, uint8_t *buf, uint64_t size,
		   struct bench_result *r)
{
	uint64_t n = o->iters ? o->iters : 1000;
	struct rdmacpy_counters c0;
	struct rdmacpy_counters c1;
	double *lat;
	double cpu0;
	uint64_t t0;
	int rc = 0;

	if (n > LAT_SAMPLES_MAX)
		n = LAT_SAMPLES_MAX;
	lat = calloc(n, sizeof(*lat));
	if (!lat)
		return RDMACPY_E_NOMEM;
	c0.size = sizeof(c0);
	rdmacpy_conn_counters(conn, &c0);
	cpu0 = cpu_seconds();
	t0 = cli_now_ns();
	for (uint64_t i = 0; i < n && !rc; i++) {
		uint64_t s = cli_now_ns();

		rc = o->bench_read ? rdmacpy_read(conn, g, 0, buf, (size_t)size)
				   : rdmacpy_write(conn, g, 0, buf, (size_t)size);
		lat[i] = (double)(cli_now_ns() - s) / 1e3;
		r->ops++;
		r->bytes += size;
	}
	r->seconds = (double)(cli_now_ns() - t0) / 1e9;
	c1.size = sizeof(c1);
	rdmacpy_conn_counters(conn, &c1);
	finish(r, &c0, &c1, cpu_seconds() - cpu0);
	qsort(lat, r->ops, sizeof(*lat), cmp_double);
	if (r->ops) {
		r->lat_p50_us = lat[r->ops / 2];
		r->lat_p99_us =
			lat[(r->ops * 99) / 100 < r->ops ? (r->ops * 99) / 100 : r->ops - 1];
	}
	free(lat);
	return rc;
}

/* mode_name -- moderation mode as the option spells it */
static const char *mode_name(enum rdmacpy_moderation m)
{
	static const char *const names[] = {"poll", "event", "moderated", "adaptive"};

	return (unsigned)m < 4 ? names[m] : "?";
}

/* result_json -- one size's bench --json object: {"op", "test", "size", "qd", "qps", "mode",
 * "hw_moderation", "ops", "bytes", "seconds", "mbps", "lat_p50_us", "lat_p99_us", "wakeups",
 * "completions", "wakeups_per_gib", "completions_per_wakeup", "cpu_s_per_gib", "sges",
 * "separate", "rails", "rails_up", "failovers", "wrs_reissued", "rejoins"}, or NULL */
static json_object *result_json(const struct cli_opts *o, const struct bench_result *r,
				const struct rdmacpy_counters *c)
{
	json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_object_object_add(j, "op", json_object_new_string(o->bench_read ? "read" : "write"));
	json_object_object_add(j, "test", json_object_new_string(o->latency ? "lat" : "bw"));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)r->size));
	json_object_object_add(j, "qd", json_object_new_int64(o->queue_depth));
	json_object_object_add(j, "qps", json_object_new_int64(o->nqp ? o->nqp : 1));
	json_object_object_add(j, "mode", json_object_new_string(mode_name(o->moderation)));
	json_object_object_add(j, "hw_moderation", json_object_new_boolean(c->hw_moderation));
	json_object_object_add(j, "ops", json_object_new_int64((int64_t)r->ops));
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)r->bytes));
	json_object_object_add(j, "seconds", cli_json_fixed(r->seconds, 6));
	json_object_object_add(j, "mbps", cli_json_fixed(r->mbps, 3));
	json_object_object_add(j, "lat_p50_us", cli_json_fixed(r->lat_p50_us, 2));
	json_object_object_add(j, "lat_p99_us", cli_json_fixed(r->lat_p99_us, 2));
	json_object_object_add(j, "wakeups", json_object_new_int64((int64_t)r->wakeups));
	json_object_object_add(j, "completions", json_object_new_int64((int64_t)r->completions));
	json_object_object_add(j, "wakeups_per_gib", cli_json_fixed(r->wakeups_per_gib, 1));
	json_object_object_add(j, "completions_per_wakeup",
			       cli_json_fixed(r->completions_per_wakeup, 2));
	json_object_object_add(j, "cpu_s_per_gib", cli_json_fixed(r->cpu_s_per_gib, 4));
	json_object_object_add(j, "sges", json_object_new_int64(o->sges ? o->sges : 1));
	json_object_object_add(j, "separate", json_object_new_boolean(o->sges > 1 && o->separate));
	cli_json_rails(j, c);
	return j;
}

/* print_result -- one table row, or with --json one object added to results */
static void print_result(const struct cli_opts *o, const struct bench_result *r,
			 json_object *results, const struct rdmacpy_counters *c)
{
	if (o->json) {
		json_object_array_add(results, result_json(o, r, c));
		return;
	}
	printf(" %-10llu %-10llu %12.2f %10.2f %10.2f %14.0f %10.2f %10.4f\n",
	       (unsigned long long)r->size, (unsigned long long)r->ops, r->mbps, r->lat_p50_us,
	       r->lat_p99_us, r->wakeups_per_gib, r->completions_per_wakeup, r->cpu_s_per_gib);
}

/* cli_cmd_bench -- rdmacpy bench HOST:REGION */
int cli_cmd_bench(const struct cli_opts *o_in, int argc, char **argv)
{
	static const uint64_t default_sizes[] = {64, 4096, 65536, 1 << 20, 8 << 20};
	struct cli_opts o = *o_in;
	struct rdmacpy_conn *conn = NULL;
	struct rdmacpy_grant *grant = NULL;
	struct rdmacpy_mem *mem = NULL;
	struct rdmacpy_counters c;
	json_object *results = NULL; /* --json: one array of every size's object */
	struct cli_spec spec;
	uint64_t region_size = 0;
	uint64_t max_size = 0;
	uint64_t need;
	uint8_t *buf = NULL;
	int rc;

	if (argc != 1) {
		cli_error("bench needs HOST:REGION (see rdmacpy bench --help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_spec_resolve(&o, argv[0], &spec);
	if (rc)
		return rc;
	if (!o.nsizes) {
		memcpy(o.sizes, default_sizes, sizeof(default_sizes));
		o.nsizes = 5;
	}
	if (!o.queue_depth)
		o.queue_depth = 16;
	if (o.duration_s <= 0)
		o.duration_s = 2;
	for (unsigned i = 0; i < o.nsizes; i++)
		max_size = o.sizes[i] > max_size ? o.sizes[i] : max_size;
	if (o.sges > 1 && o.latency) {
		cli_error("--sges applies to bandwidth runs, not --latency");
		return CLI_EXIT_USAGE;
	}
	for (unsigned i = 0; o.sges > 1 && i < o.nsizes; i++) {
		if (o.sizes[i] < o.sges) {
			cli_error("--size %llu cannot be cut into %u pieces",
				  (unsigned long long)o.sizes[i], o.sges);
			return CLI_EXIT_USAGE;
		}
	}
	need = o.latency ? max_size : max_size * o.queue_depth;
	if (o.span && o.latency) {
		cli_error("--span applies to bandwidth runs, not --latency");
		return CLI_EXIT_USAGE;
	}
	if (o.span && o.span < need) {
		cli_error("--span %llu cannot hold --qd %u operations of %llu bytes",
			  (unsigned long long)o.span, o.queue_depth, (unsigned long long)max_size);
		return CLI_EXIT_USAGE;
	}
	if (o.span)
		need = o.span;
	/* --sges leaves a gap after every piece so that no two are contiguous */
	if (o.sges > 1)
		need *= 2;

	rc = cli_connect_spec(&o, &spec, &conn);
	if (rc)
		return rc;
	rc = cli_open(&o, conn, &spec, 0, o.bench_read ? RDMACPY_RIGHTS_RO : RDMACPY_RIGHTS_RW,
		      &grant, &region_size);
	if (rc)
		goto out;
	if (!grant || rdmacpy_grant_length(grant) < max_size) {
		cli_error("region '%s' is smaller than the largest size (%llu bytes)", spec.region,
			  (unsigned long long)max_size);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (rdmacpy_grant_length(grant) < o.span) {
		cli_error("region '%s' is smaller than --span (%llu bytes)", spec.region,
			  (unsigned long long)o.span);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	buf = aligned_alloc(4096, (size_t)((need + 4095) & ~4095ull));
	if (!buf) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	memset(buf, 0xa5, (size_t)need);
	rc = rdmacpy_mem_reg(conn, buf, (size_t)need, &mem);
	if (rc) {
		rc = cli_fail(conn, spec.host, rc, "cannot register the buffer");
		goto out;
	}
	c.size = sizeof(c);
	rdmacpy_conn_counters(conn, &c);
	if (o.json) {
		results = json_object_new_array();
		if (!results) {
			cli_error("out of memory");
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
	} else {
		printf("# rdmacpy bench %s %s, %s, qd %u, %u QP(s), moderation %s%s\n",
		       o.bench_read ? "read" : "write", argv[0],
		       o.latency ? "latency" : "bandwidth", o.latency ? 1 : o.queue_depth,
		       o.nqp ? o.nqp : 1, mode_name(o.moderation),
		       c.hw_moderation ? " (hardware)" : " (software)");
		printf(" %-10s %-10s %12s %10s %10s %14s %10s %10s\n", "#bytes", "#ops", "MB/s",
		       "p50[us]", "p99[us]", "wakeups/GiB", "compl/wake", "cpu s/GiB");
	}
	for (unsigned i = 0; i < o.nsizes; i++) {
		struct bench_result r = {.size = o.sizes[i]};

		rc = o.latency ? run_lat(&o, conn, grant, buf, o.sizes[i], &r)
			       : run_bw(&o, conn, grant, buf, o.sizes[i], o.queue_depth, &r);
		if (rc) {
			/* the sizes measured so far, as before a failure */
			if (o.json) {
				cli_json_print(results);
				results = NULL;
			}
			rc = cli_fail(conn, spec.host, rc, "benchmark failed");
			goto out;
		}
		/* the rails as they were after this size (a failover during it shows) */
		rdmacpy_conn_counters(conn, &c);
		print_result(&o, &r, results, &c);
	}
	if (o.json) {
		rc = cli_json_print(results);
		results = NULL;
	}
out:
	json_object_put(results);
	rdmacpy_mem_dereg(&mem);
	rdmacpy_grant_close(&grant);
	rdmacpy_conn_close(&conn);
	free(buf);
	return rc;
}
