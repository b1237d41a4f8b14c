/* SPDX-License-Identifier: BSD-3-Clause */
/* scale.c -- how rdmacpyd's costs grow: an idle client's control latency beside long requests,
 * OPEN+CLOSE against grant size, many clients arriving at once, memory per client and grant.
 * Run by bench/scale inside one soft-RoCE boot; prints tables and writes one JSON document. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdmacpy.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)
#define KiB (1ull << 10)

struct opts {
	const char *host;
	uint16_t port;	/* the daemon measured */
	uint16_t port2; /* the COPY destination */
	const char *key;
	int pid; /* the measured daemon's, for its RSS */
	const char *label;
	const char *out;
	unsigned samples;
	uint64_t big;	  /* CHECKSUM and COPY length */
	double window_ms; /* sampling stops after this long (at least 3 samples) */
	bool quick;
	bool no_disk;	/* the daemon has no file region "disk": no FLUSH load, no FLUSH cost */
	unsigned loads; /* --loads: only these control-latency phases (bit per enum load), else 0 */
};

static struct opts O = {.samples = 200, .big = GiB, .window_ms = 20000};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "scale: %s: %s\n", what, err < 0 ? rdmacpy_strerror(err) : "failed");
	exit(1);
}

/* conn_open_depth -- a connection with at most depth writes in flight (0: the default) */
static struct rdmacpy_conn *conn_open_depth(uint32_t depth)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	if (depth)
		o.queue_depth = depth;
	o.key_file = O.key;
	/* a daemon whose loop is held up by a long request answers late: wait for it */
	o.timeout_ms = 180000;
	ret = rdmacpy_conn_open(O.host, O.port, &o, &c);
	if (ret)
		die("connect", ret);
	return c;
}

static struct rdmacpy_conn *conn_open(void)
{
	return conn_open_depth(0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* pct -- the p-th percentile of n sorted samples */
static double pct(const double *v, unsigned n, double p)
{
	unsigned i = (unsigned)(p / 100.0 * (n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

/* rss_kib -- the daemon's resident set */
static long rss_kib(void)
{
	char path[64];
	char line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", O.pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- background load ---- */

enum load { LOAD_NONE, LOAD_CHECKSUM, LOAD_FLUSH, LOAD_COPY };
static const char *const load_name[] = {"none", "checksum", "flush", "copy"};

struct bg {
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g; /* FLUSH: the dirty range's grant */
	enum load kind;
	int idx;
	uint8_t digest[RDMACPY_CHECKSUM_LEN];
	uint8_t *buf;
	uint64_t copied;
	unsigned rounds;
	int err;
};

struct bg_set {
	struct bg b[8];
	unsigned n;
	atomic_bool stop;
	pthread_t thread;
};

static void bg_start(struct bg *b);

/* bg_done -- one round of the load finished: start the next */
static void bg_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct bg *b = ctx;

	(void)op;
	if (status && !b->err)
		b->err = status;
	b->rounds++;
	if (!status)
		bg_start(b);
}

/* bg_flushed -- FLUSH done: dirty the range again, then flush again */
static void bg_written(struct rdmacpy_op *op, int status, void *ctx);

static void bg_start(struct bg *b)
{
	int ret = 0;

	switch (b->kind) {
	case LOAD_CHECKSUM:
		ret = rdmacpy_region_checksum_async(b->c, "big", 0, O.big, b->digest, bg_done, b,
						    NULL);
		break;
	case LOAD_FLUSH:
		/* a flush of a range just written: the daemon writes it back and syncs */
		ret = rdmacpy_write_async(b->c, b->g, 0, b->buf, 64 * MiB, bg_written, b, NULL);
		break;
	case LOAD_COPY:
		ret = rdmacpy_region_copy_async(b->c, "big", 0, O.big, O.host, O.port2, "dst", 0,
						NULL, NULL, &b->copied, bg_done, b, NULL);
		break;
	default:
		break;
	}
	if (ret && !b->err)
		b->err = ret;
}

static void bg_written(struct rdmacpy_op *op, int status, void *ctx)
{
	struct bg *b = ctx;
	int ret;

	(void)op;
	if (status) {
		b->err = status;
		return;
	}
	ret = rdmacpy_grant_flush_async(b->g, 0, 64 * MiB, bg_done, b, NULL);
	if (ret)
		b->err = ret;
}

/* bg_main -- the background clients' own loop, on their own thread */
static void *bg_main(void *arg)
{
	struct bg_set *set = arg;
	struct pollfd pfd[8];
	unsigned i;

	for (i = 0; i < set->n; i++) {
		pfd[i].fd = rdmacpy_conn_fd(set->b[i].c);
		pfd[i].events = POLLIN;
	}
	while (!atomic_load(&set->stop)) {
		poll(pfd, set->n, 5);
		for (i = 0; i < set->n; i++)
			rdmacpy_conn_progress(set->b[i].c, 0);
	}
	return NULL;
}

/* bg_launch -- n clients running a load, until bg_halt */
static void bg_launch(struct bg_set *set, enum load kind, unsigned n)
{
	unsigned i;

	memset(set, 0, sizeof(*set));
	set->n = n;
	for (i = 0; i < n; i++) {
		struct bg *b = &set->b[i];
		int ret;

		b->kind = kind;
		b->idx = (int)i;
		/* A FLUSH load first dirties its range with RDMA WRITEs, one 1 MiB request in
		 * flight: rxe on Linux 6.1 runs a send inside ibv_post_send without a preemption
		 * point, and 64 MiB posted at once (the library's default depth) held a CPU of this
		 * two-CPU guest for about a second, which every thread queued there waited out. */
		b->c = conn_open_depth(kind == LOAD_FLUSH ? 1 : 0);
		if (kind == LOAD_FLUSH) {
			b->buf = malloc(64 * MiB);
			if (!b->buf)
				die("memory", 0);
			memset(b->buf, 0x5a + (int)i, 64 * MiB);
			ret = rdmacpy_grant_open(b->c, "disk", (uint64_t)i * 64 * MiB, 64 * MiB,
						 RDMACPY_RIGHTS_RW, &b->g);
			if (ret)
				die("open disk", ret);
		}
		bg_start(b);
	}
	if (n && pthread_create(&set->thread, NULL, bg_main, set))
		die("thread", 0);
}

/* bg_halt -- stop the load: its connections close, which cancels the daemon's work */
static void bg_halt(struct bg_set *set)
{
	unsigned i;

	if (!set->n)
		return;
	atomic_store(&set->stop, true);
	pthread_join(set->thread, NULL);
	for (i = 0; i < set->n; i++) {
		if (set->b[i].err)
			fprintf(stderr, "scale: background %s %u: %s\n", load_name[set->b[i].kind],
				i, rdmacpy_strerror(set->b[i].err));
		rdmacpy_grant_close(&set->b[i].g);
		rdmacpy_conn_close(&set->b[i].c);
		free(set->b[i].buf);
	}
}

/* load_running -- the daemon says the load is under way (STAT), within 20 s */
static void wait_running(struct rdmacpy_conn *c, enum load kind, unsigned n)
{
	double end = now_ms() + 20000;
	struct rdmacpy_stats st = {.size = sizeof(st)};

	while (n && now_ms() < end) {
		if (rdmacpy_daemon_stat(c, &st) == 0 &&
		    (kind == LOAD_COPY ? st.copies_active >= n
				       : st.jobs_running + st.jobs_queued >= 1))
			return;
		usleep(20000);
	}
}

/* ---- measurements ---- */

/* control_latency -- STAT and OPEN(4 KiB) times of an idle client beside a load */
static json_object *control_latency(enum load kind, unsigned n)
{
	struct rdmacpy_conn *c = conn_open();
	double *stat_ms = calloc(O.samples, sizeof(double));
	double *open_ms = calloc(O.samples, sizeof(double));
	struct rdmacpy_stats st = {.size = sizeof(st)};
	json_object *j = json_object_new_object();
	struct bg_set set;
	const char *failed = NULL; /* a request that got no answer: the figures stop there */
	int failed_ret = 0;
	double start;
	double end;
	unsigned i;
	unsigned taken;

	if (!stat_ms || !open_ms)
		die("memory", 0);
	bg_launch(&set, kind, n);
	wait_running(c, kind, n);
	/* the samples are spread over the window, so that they see the whole load, not only
	 * its start; a daemon slower than that gets fewer samples, at least 3 */
	start = now_ms();
	end = start + O.window_ms;
	for (i = 0; i < O.samples && (i < 3 || now_ms() < end); i++) {
		struct rdmacpy_grant *g = NULL;
		double t0 = now_ms();
		double early = start + (double)i * O.window_ms * 0.9 / O.samples - t0;
		int ret;

		if (early > 0) {
			usleep((useconds_t)(early * 1000));
			t0 = now_ms();
		}
		ret = rdmacpy_daemon_stat(c, &st);

		stat_ms[i] = now_ms() - t0;
		if (ret) {
			failed = "STAT";
			failed_ret = ret;
			break;
		}
		t0 = now_ms();
		ret = rdmacpy_grant_open(c, "big", 0, 4 * KiB, RDMACPY_RIGHTS_RO, &g);
		open_ms[i] = now_ms() - t0;
		if (ret) {
			failed = "OPEN";
			failed_ret = ret;
			break;
		}
		rdmacpy_grant_close(&g);
	}
	taken = i;
	bg_halt(&set);
	rdmacpy_conn_close(&c);
	qsort(stat_ms, taken, sizeof(double), cmp_double);
	qsort(open_ms, taken, sizeof(double), cmp_double);
	json_object_object_add(j, "load", json_object_new_string(load_name[kind]));
	json_object_object_add(j, "clients", json_object_new_int((int)n));
	json_object_object_add(j, "samples", json_object_new_int((int)taken));
	json_object_object_add(j, "stat_p50_ms", json_object_new_double(pct(stat_ms, taken, 50)));
	json_object_object_add(j, "stat_p99_ms", json_object_new_double(pct(stat_ms, taken, 99)));
	json_object_object_add(j, "open_p50_ms", json_object_new_double(pct(open_ms, taken, 50)));
	json_object_object_add(j, "open_p99_ms", json_object_new_double(pct(open_ms, taken, 99)));
	if (failed) {
		/* the idle client failed: what a client with these options would have seen */
		json_object_object_add(j, "failed", json_object_new_string(failed));
		json_object_object_add(j, "failed_error",
				       json_object_new_string(rdmacpy_strerror(failed_ret)));
		printf("  %-9s %2u   an idle client's %s failed after %u samples: %s (its timeout "
		       "is "
		       "180 s)\n",
		       load_name[kind], n, failed, taken, rdmacpy_strerror(failed_ret));
	} else {
		printf("  %-9s %2u   STAT p50 %9.2f p99 %9.2f ms   OPEN p50 %9.2f p99 %9.2f ms   "
		       "(%u)\n",
		       load_name[kind], n, pct(stat_ms, taken, 50), pct(stat_ms, taken, 99),
		       pct(open_ms, taken, 50), pct(open_ms, taken, 99), taken);
	}
	fflush(stdout);
	free(stat_ms);
	free(open_ms);
	return j;
}

/* grant_cost -- OPEN and CLOSE of one grant against its size (medians) */
static json_object *grant_cost(uint64_t size, unsigned reps)
{
	struct rdmacpy_conn *c = conn_open();
	double open_ms[32];
	double both_ms[32];
	json_object *j = json_object_new_object();
	unsigned i;

	for (i = 0; i < reps; i++) {
		struct rdmacpy_grant *g = NULL;
		double t0 = now_ms();
		double t1;
		int ret = rdmacpy_grant_open(c, "big", 0, size, RDMACPY_RIGHTS_RW, &g);

		t1 = now_ms();
		if (ret)
			die("open", ret);
		ret = rdmacpy_grant_close(&g);
		if (ret)
			die("close", ret);
		open_ms[i] = t1 - t0;
		both_ms[i] = now_ms() - t0;
	}
	rdmacpy_conn_close(&c);
	qsort(open_ms, reps, sizeof(double), cmp_double);
	qsort(both_ms, reps, sizeof(double), cmp_double);
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)size));
	json_object_object_add(j, "open_ms", json_object_new_double(pct(open_ms, reps, 50)));
	json_object_object_add(j, "open_close_ms", json_object_new_double(pct(both_ms, reps, 50)));
	printf("  %10llu KiB   OPEN %8.2f ms   OPEN+CLOSE %8.2f ms\n",
	       (unsigned long long)(size / KiB), pct(open_ms, reps, 50), pct(both_ms, reps, 50));
	fflush(stdout);
	return j;
}

struct arrival {
	double t0;
	double ms;
	int status;
	bool done;
};

static void arrived(struct rdmacpy_op *op, int status, void *ctx)
{
	struct arrival *a = ctx;

	(void)op;
	a->ms = now_ms() - a->t0;
	a->status = status;
	a->done = true;
}

/* arrivals -- n clients connecting at once; how many are served, and how long it took */
static json_object *arrivals(unsigned n)
{
	struct rdmacpy_conn **c = calloc(n, sizeof(*c));
	struct arrival *a = calloc(n, sizeof(*a));
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	double *ms = calloc(n, sizeof(double));
	json_object *j = json_object_new_object();
	struct rdmacpy_conn_opts o;
	unsigned served = 0;
	unsigned left = n;
	double end;
	unsigned i;

	if (!c || !a || !pfd || !ms)
		die("memory", 0);
	rdmacpy_conn_opts_init(&o);
	o.key_file = O.key;
	o.timeout_ms = 60000;
	for (i = 0; i < n; i++) {
		int ret;

		a[i].t0 = now_ms();
		ret = rdmacpy_conn_open_async(O.host, O.port, &o, arrived, &a[i], &c[i], NULL);
		if (ret)
			die("connect", ret);
		pfd[i].fd = rdmacpy_conn_fd(c[i]);
		pfd[i].events = POLLIN;
	}
	end = now_ms() + 90000;
	while (left && now_ms() < end) {
		poll(pfd, n, 5);
		left = 0;
		for (i = 0; i < n; i++) {
			if (!a[i].done)
				rdmacpy_conn_progress(c[i], 0);
			left += !a[i].done;
		}
	}
	for (i = 0; i < n; i++) {
		served += a[i].done && !a[i].status;
		ms[i] = a[i].done ? a[i].ms : 90000;
		rdmacpy_conn_close(&c[i]);
	}
	qsort(ms, n, sizeof(double), cmp_double);
	json_object_object_add(j, "clients", json_object_new_int((int)n));
	json_object_object_add(j, "served", json_object_new_int((int)served));
	json_object_object_add(j, "p50_ms", json_object_new_double(pct(ms, n, 50)));
	json_object_object_add(j, "max_ms", json_object_new_double(ms[n - 1]));
	printf("  %3u at once   served %3u   connect+auth p50 %8.1f ms   slowest %8.1f ms\n", n,
	       served, pct(ms, n, 50), ms[n - 1]);
	fflush(stdout);
	free(c);
	free(a);
	free(pfd);
	free(ms);
	return j;
}

/* flush_cost -- what durability costs: the time of a FLUSH of a freshly written range of the
 * file region (the daemon writes it to the file and syncs), per GiB; the daemon's memory for
 * the file region is its size (a staged copy) */
static json_object *flush_cost(uint64_t len)
{
	struct rdmacpy_conn *c = conn_open();
	struct rdmacpy_grant *g = NULL;
	json_object *j = json_object_new_object();
	uint8_t *buf = malloc(len);
	double t0;
	double ms;
	long rss0;
	long rss1;
	int ret;

	if (!buf)
		die("memory", 0);
	memset(buf, 0xa5, len);
	ret = rdmacpy_grant_open(c, "disk", 0, len, RDMACPY_RIGHTS_RW, &g);
	if (ret)
		die("open disk", ret);
	rss0 = rss_kib();
	ret = rdmacpy_write(c, g, 0, buf, len);
	if (ret)
		die("write disk", ret);
	rss1 = rss_kib();
	t0 = now_ms();
	ret = rdmacpy_grant_flush(g, 0, len);
	ms = now_ms() - t0;
	if (ret)
		die("flush", ret);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
	free(buf);
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)len));
	json_object_object_add(j, "flush_ms", json_object_new_double(ms));
	json_object_object_add(j, "flush_s_per_gib",
			       json_object_new_double(ms / 1e3 * (double)GiB / (double)len));
	json_object_object_add(j, "rss_growth_kib", json_object_new_int64(rss1 - rss0));
	printf("  FLUSH of %llu MiB just written: %.0f ms (%.2f s per GiB); the daemon's RSS grew "
	       "%ld KiB while it was written\n",
	       (unsigned long long)(len / MiB), ms, ms / 1e3 * (double)GiB / (double)len,
	       rss1 - rss0);
	fflush(stdout);
	return j;
}

/* memory -- the daemon's RSS per connected client and per open grant */
static json_object *memory(void)
{
	enum { NCLIENTS = 32, NGRANTS = 256 };
	struct rdmacpy_conn *c[NCLIENTS];
	struct rdmacpy_grant *g[NGRANTS];
	json_object *j = json_object_new_object();
	long base;
	long with_clients;
	long with_grants;
	int i;

	sleep(1);
	base = rss_kib();
	for (i = 0; i < NCLIENTS; i++)
		c[i] = conn_open();
	sleep(1);
	with_clients = rss_kib();
	for (i = 0; i < NGRANTS; i++) {
		int ret = rdmacpy_grant_open(c[i % NCLIENTS], "big", (uint64_t)i * 64 * KiB,
					     64 * KiB, RDMACPY_RIGHTS_RW, &g[i]);

		if (ret)
			die("open", ret);
	}
	sleep(1);
	with_grants = rss_kib();
	for (i = 0; i < NGRANTS; i++)
		rdmacpy_grant_close(&g[i]);
	for (i = 0; i < NCLIENTS; i++)
		rdmacpy_conn_close(&c[i]);
	json_object_object_add(j, "kib_per_client",
			       json_object_new_double((double)(with_clients - base) / NCLIENTS));
	json_object_object_add(
		j, "kib_per_grant",
		json_object_new_double((double)(with_grants - with_clients) / NGRANTS));
	printf("  RSS %ld KiB idle; %.1f KiB per client (%d), %.2f KiB per 64 KiB grant (%d)\n",
	       base, (double)(with_clients - base) / NCLIENTS, NCLIENTS,
	       (double)(with_grants - with_clients) / NGRANTS, NGRANTS);
	fflush(stdout);
	return j;
}

static void usage(void);

/* parse_loads -- "none,copy" into a set of enum load bits */
static unsigned parse_loads(const char *list)
{
	char buf[128];
	unsigned set = 0;
	char *save = NULL;
	char *tok;
	unsigned k;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k <= LOAD_COPY && strcmp(tok, load_name[k]); k++)
			;
		if (k > LOAD_COPY) {
			fprintf(stderr, "scale: --loads: unknown load '%s'\n", tok);
			usage();
		}
		set |= 1u << k;
	}
	return set;
}

/* wanted -- is this load's phase to be measured */
static bool wanted(enum load kind)
{
	return !O.loads || (O.loads & (1u << kind));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rdmacpy-scale --host IP --port P --port2 P2 --key FILE --pid PID "
		"--label L --out FILE [--quick] [--no-disk] [--loads none,checksum,flush,copy]\n"
		"  --loads: only the control-latency phases of these loads, nothing else\n");
	exit(2);
}

int main(int argc, char **argv)
{
	/* clang-format off */
	static const struct option longs[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"port2", required_argument, NULL, 'P'},
		{"key", required_argument, NULL, 'k'},
		{"pid", required_argument, NULL, 'i'},
		{"label", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"quick", no_argument, NULL, 'q'},
		{"no-disk", no_argument, NULL, 'n'},
		{"loads", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	/* clang-format on */
	static const uint64_t sizes[] = {4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB, 256 * MiB, GiB};
	static const unsigned nclients[] = {0, 1, 4};
	json_object *root = json_object_new_object();
	json_object *lat = json_object_new_array();
	json_object *grants = json_object_new_array();
	json_object *arr = json_object_new_array();
	enum load kind;
	int ch;
	size_t i;

	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'h':
			O.host = optarg;
			break;
		case 'p':
			O.port = (uint16_t)atoi(optarg);
			break;
		case 'P':
			O.port2 = (uint16_t)atoi(optarg);
			break;
		case 'k':
			O.key = optarg;
			break;
		case 'i':
			O.pid = atoi(optarg);
			break;
		case 'l':
			O.label = optarg;
			break;
		case 'o':
			O.out = optarg;
			break;
		case 'q':
			O.quick = true;
			break;
		case 'n':
			O.no_disk = true;
			break;
		case 'L':
			O.loads = parse_loads(optarg);
			break;
		default:
			usage();
		}
	}
	if (!O.host || !O.port || !O.port2 || !O.key || !O.pid || !O.label || !O.out)
		usage();
	if (O.quick) {
		O.samples = 50;
		O.big = 256 * MiB;
	}
	printf("== %s: an idle client's control latency beside long requests (%u samples; "
	       "target: p99 beside a 1 GiB CHECKSUM <= 5x p99 alone)\n",
	       O.label, O.samples);
	if (wanted(LOAD_NONE))
		json_object_array_add(lat, control_latency(LOAD_NONE, 0));
	for (kind = LOAD_CHECKSUM; kind <= LOAD_COPY; kind++)
		for (i = 1; i < sizeof(nclients) / sizeof(nclients[0]); i++)
			if (wanted(kind) && (kind != LOAD_FLUSH || !O.no_disk))
				json_object_array_add(lat, control_latency(kind, nclients[i]));
	if (O.loads) {
		json_object_object_add(root, "label", json_object_new_string(O.label));
		json_object_object_add(root, "control_latency", lat);
		json_object_put(grants);
		json_object_put(arr);
		goto out;
	}
	printf("== %s: OPEN+CLOSE against grant size (target where windows are enforced: OPEN of "
	       "1 GiB <= 2x OPEN of 4 KiB)\n",
	       O.label);
	/* up to the big region's size: --quick makes it 256 MiB */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= O.big; i++)
		json_object_array_add(grants, grant_cost(sizes[i], sizes[i] >= 256 * MiB ? 5 : 20));
	printf("== %s: clients arriving at once (target: 64 all served)\n", O.label);
	json_object_array_add(arr, arrivals(1));
	json_object_array_add(arr, arrivals(16));
	json_object_array_add(arr, arrivals(64));
	printf("== %s: durability\n", O.label);
	if (O.no_disk)
		printf("  skipped: this daemon serves no file region here\n");
	else
		json_object_object_add(root, "flush_cost",
				       flush_cost(O.quick ? 64 * MiB : 256 * MiB));
	printf("== %s: the daemon's memory\n", O.label);
	json_object_object_add(root, "label", json_object_new_string(O.label));
	json_object_object_add(root, "control_latency", lat);
	json_object_object_add(root, "grant_cost", grants);
	json_object_object_add(root, "arrivals", arr);
	json_object_object_add(root, "memory", memory());
out:
	if (json_object_to_file_ext(O.out, root, JSON_C_TO_STRING_PRETTY))
		die("writing the results", 0);
	json_object_put(root);
	return 0;
}
