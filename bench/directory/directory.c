/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.c -- the cluster directory at scale, against a real etcd: N emulated daemons
 * register (a lease, their node entry, their regions) and keep their leases alive while M
 * clients resolve region names. No RDMA device is needed: the daemons' publisher and the
 * clients' resolver are the same code rdmacpyd and librdmacpy run. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/include/rdmacpy.h"
#include "common/directory.h"
#include "common/etcd.h"

#define TTL_S	    10
#define PUBLISHERS  8 /* threads emulating the daemons, each with its own connection */
#define MAX_SAMPLES (1u << 20)

struct opts {
	const char *url;
	unsigned int nodes;
	unsigned int regions;
	unsigned int clients;
	double seconds;
	int etcd_pid;
	const char *out;
};

static struct opts O = {.regions = 10, .clients = 4, .seconds = 10};

struct node {
	char name[RCP_DIR_NAME_MAX];
	int64_t lease;
	double register_ms;
};

static struct node *nodes;
static atomic_bool stop_keepalive;
static atomic_bool stop_resolve;

struct publisher {
	pthread_t t;
	unsigned int first;
	unsigned int count;
	struct rcp_etcd *e;
	uint64_t keepalives;
	uint64_t failures;
	struct rcp_etcd_stats ka_before;
	struct rcp_etcd_stats ka_after;
};

struct resolver {
	pthread_t t;
	unsigned int seed;
	double *ms;
	size_t n;
	uint64_t failures;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n ? n - 1 : 0) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

static void die(const char *what)
{
	fprintf(stderr, "dirbench: %s\n", what);
	exit(1);
}

/* open_etcd -- a connection of one's own */
static struct rcp_etcd *open_etcd(void)
{
	struct rcp_etcd_opts o = {.url = O.url, .timeout_ms = 10000};
	struct rcp_etcd *e = NULL;
	char err[256];

	if (rcp_etcd_open(&o, &e, err, sizeof(err)))
		die(err);
	return e;
}

/* register_node -- what rdmacpyd's publisher does at start: a lease, the node, its regions */
static int register_node(struct rcp_etcd *e, struct node *n, unsigned int idx)
{
	struct rcp_dir_node dn = {0};
	char key[RCP_DIR_KEY_MAX];
	char *json;
	unsigned int r;
	int ret;

	ret = rcp_etcd_lease_grant(e, TTL_S, &n->lease);
	if (ret)
		return ret;
	snprintf(dn.node, sizeof(dn.node), "%s", n->name);
	snprintf(dn.addrs[0], sizeof(dn.addrs[0]), "198.18.%u.%u", idx / 250, idx % 250 + 1);
	dn.naddrs = 1;
	dn.port = 18515;
	dn.protocol = 2;
	snprintf(dn.started, sizeof(dn.started), "2026-11-29T12:00:00Z");
	rcp_dir_node_key(key, sizeof(key), "bench", n->name);
	json = rcp_dir_node_json(&dn);
	ret = rcp_etcd_put(e, key, json, n->lease);
	free(json);
	for (r = 0; !ret && r < O.regions; r++) {
		struct rcp_dir_region dr = {
			.size = 1ull << 30, .rights = RCP_RIGHTS_RW, .kind = RCP_KIND_ANON};

		snprintf(dr.region, sizeof(dr.region), "%.40s-r%u", n->name, r);
		snprintf(dr.node, sizeof(dr.node), "%s", n->name);
		rcp_dir_region_key(key, sizeof(key), "bench", dr.region, n->name);
		json = rcp_dir_region_json(&dr);
		ret = rcp_etcd_put(e, key, json, n->lease);
		free(json);
	}
	return ret;
}

/* registrar -- one publisher thread registers its share of the nodes */
static void *registrar(void *arg)
{
	struct publisher *p = arg;
	unsigned int i;

	for (i = p->first; i < p->first + p->count; i++) {
		double t0 = now_ms();

		if (register_node(p->e, &nodes[i], i))
			p->failures++;
		nodes[i].register_ms = now_ms() - t0;
	}
	return NULL;
}

/* keeper -- one publisher thread renews its nodes' leases every TTL/3, spread evenly */
static void *keeper(void *arg)
{
	struct publisher *p = arg;
	double period = TTL_S * 1000.0 / 3;
	double start = now_ms();
	unsigned int k = 0;

	rcp_etcd_stats(p->e, &p->ka_before);
	while (!atomic_load(&stop_keepalive) && p->count) {
		double due = start + period * k / p->count;
		double wait = due - now_ms();

		if (wait > 0)
			usleep((useconds_t)(wait * 1000));
		if (rcp_etcd_lease_keepalive(p->e, nodes[p->first + k % p->count].lease))
			p->failures++;
		p->keepalives++;
		k++;
	}
	rcp_etcd_stats(p->e, &p->ka_after);
	return NULL;
}

/* resolver -- one client resolves random names until told to stop */
static void *resolver(void *arg)
{
	struct resolver *r = arg;
	struct rdmacpy_dir_opts o;
	struct rdmacpy_dir *d = NULL;

	rdmacpy_dir_opts_init(&o);
	o.cluster = "bench";
	o.timeout_ms = 10000;
	if (rdmacpy_dir_open(O.url, &o, &d))
		die("directory open");
	while (!atomic_load(&stop_resolve) && r->n < MAX_SAMPLES / O.clients) {
		struct rdmacpy_dir_entry e = {.size = sizeof(e)};
		char name[RDMACPY_NAME_MAX];
		unsigned int node = (unsigned int)rand_r(&r->seed) % O.nodes;
		unsigned int reg = (unsigned int)rand_r(&r->seed) % O.regions;
		double t0;

		snprintf(name, sizeof(name), "%.40s-r%u", nodes[node].name, reg);
		t0 = now_ms();
		if (rdmacpy_dir_resolve(d, name, NULL, &e) || strcmp(e.node, nodes[node].name))
			r->failures++;
		r->ms[r->n++] = now_ms() - t0;
	}
	rdmacpy_dir_close(&d);
	return NULL;
}

/* proc_cpu_s -- a process's user+system CPU seconds */
static double proc_cpu_s(int pid)
{
	char path[64];
	char buf[1024];
	unsigned long ut = 0;
	unsigned long st = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* proc_rss_kib -- a process's resident set */
static long proc_rss_kib(int pid)
{
	char path[64];
	char line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"etcd", required_argument, NULL, 'e'},
		{"nodes", required_argument, NULL, 'n'},
		{"regions", required_argument, NULL, 'r'},
		{"clients", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},
		{"etcd-pid", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct publisher pub[PUBLISHERS];
	struct resolver *res;
	json_object *root = json_object_new_object();
	double *reg_ms;
	double *all;
	double t0;
	double reg_total_ms;
	double cpu0;
	double cpu1;
	double elapsed_s;
	uint64_t keepalives = 0;
	uint64_t ka_bytes = 0;
	uint64_t failures = 0;
	size_t nall = 0;
	unsigned int i;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'e':
			O.url = optarg;
			break;
		case 'n':
			O.nodes = (unsigned int)atoi(optarg);
			break;
		case 'r':
			O.regions = (unsigned int)atoi(optarg);
			break;
		case 'c':
			O.clients = (unsigned int)atoi(optarg);
			break;
		case 's':
			O.seconds = atof(optarg);
			break;
		case 'p':
			O.etcd_pid = atoi(optarg);
			break;
		case 'o':
			O.out = optarg;
			break;
		default:
			die("usage: rdmacpy-dirbench --etcd URL --nodes N [--regions R] "
			    "[--clients M] [--seconds S] [--etcd-pid PID] [--out FILE]");
		}
	}
	if (!O.url || !O.nodes || !O.clients)
		die("--etcd and --nodes are needed");
	nodes = calloc(O.nodes, sizeof(*nodes));
	reg_ms = calloc(O.nodes, sizeof(*reg_ms));
	res = calloc(O.clients, sizeof(*res));
	if (!nodes || !reg_ms || !res)
		die("out of memory");
	for (i = 0; i < O.nodes; i++)
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%u", i);

	/* registration: the daemons starting, PUBLISHERS at a time */
	memset(pub, 0, sizeof(pub));
	t0 = now_ms();
	for (i = 0; i < PUBLISHERS; i++) {
		pub[i].first = O.nodes * i / PUBLISHERS;
		pub[i].count = O.nodes * (i + 1) / PUBLISHERS - pub[i].first;
		pub[i].e = open_etcd();
		pthread_create(&pub[i].t, NULL, registrar, &pub[i]);
	}
	for (i = 0; i < PUBLISHERS; i++) {
		pthread_join(pub[i].t, NULL);
		failures += pub[i].failures;
		pub[i].failures = 0;
	}
	reg_total_ms = now_ms() - t0;
	for (i = 0; i < O.nodes; i++)
		reg_ms[i] = nodes[i].register_ms;
	qsort(reg_ms, O.nodes, sizeof(double), cmp);

	/* steady state: leases kept alive while clients resolve */
	cpu0 = O.etcd_pid ? proc_cpu_s(O.etcd_pid) : -1;
	t0 = now_ms();
	for (i = 0; i < PUBLISHERS; i++)
		pthread_create(&pub[i].t, NULL, keeper, &pub[i]);
	for (i = 0; i < O.clients; i++) {
		res[i].seed = i * 7919 + 1;
		res[i].ms = calloc(MAX_SAMPLES / O.clients, sizeof(double));
		if (!res[i].ms)
			die("out of memory");
		pthread_create(&res[i].t, NULL, resolver, &res[i]);
	}
	usleep((useconds_t)(O.seconds * 1e6));
	atomic_store(&stop_resolve, true);
	for (i = 0; i < O.clients; i++)
		pthread_join(res[i].t, NULL);
	atomic_store(&stop_keepalive, true);
	for (i = 0; i < PUBLISHERS; i++) {
		pthread_join(pub[i].t, NULL);
		keepalives += pub[i].keepalives;
		failures += pub[i].failures;
		ka_bytes += (pub[i].ka_after.bytes_sent - pub[i].ka_before.bytes_sent) +
			    (pub[i].ka_after.bytes_received - pub[i].ka_before.bytes_received);
	}
	elapsed_s = (now_ms() - t0) / 1e3;
	cpu1 = O.etcd_pid ? proc_cpu_s(O.etcd_pid) : -1;
	all = calloc(MAX_SAMPLES, sizeof(double));
	if (!all)
		die("out of memory");
	for (i = 0; i < O.clients; i++) {
		memcpy(all + nall, res[i].ms, res[i].n * sizeof(double));
		nall += res[i].n;
		failures += res[i].failures;
	}
	qsort(all, nall, sizeof(double), cmp);

	printf("%6u nodes x %u regions: registered in %8.1f ms (per node p50 %6.2f p99 %6.2f ms); "
	       "%u clients resolved %zu names, p50 %6.2f p99 %6.2f ms (%.0f/s); keepalives %.0f/s, "
	       "%.1f KiB/s; etcd CPU %5.1f%%, RSS %ld MiB; failures %llu\n",
	       O.nodes, O.regions, reg_total_ms, pct(reg_ms, O.nodes, 50), pct(reg_ms, O.nodes, 99),
	       O.clients, nall, pct(all, nall, 50), pct(all, nall, 99), (double)nall / elapsed_s,
	       (double)keepalives / elapsed_s, (double)ka_bytes / 1024.0 / elapsed_s,
	       cpu0 >= 0 ? (cpu1 - cpu0) / elapsed_s * 100 : -1.0,
	       O.etcd_pid ? proc_rss_kib(O.etcd_pid) / 1024 : -1L, (unsigned long long)failures);
	json_object_object_add(root, "nodes", json_object_new_int((int)O.nodes));
	json_object_object_add(root, "regions_per_node", json_object_new_int((int)O.regions));
	json_object_object_add(root, "clients", json_object_new_int((int)O.clients));
	json_object_object_add(root, "register_total_ms", json_object_new_double(reg_total_ms));
	json_object_object_add(root, "register_p50_ms",
			       json_object_new_double(pct(reg_ms, O.nodes, 50)));
	json_object_object_add(root, "register_p99_ms",
			       json_object_new_double(pct(reg_ms, O.nodes, 99)));
	json_object_object_add(root, "resolves", json_object_new_int64((int64_t)nall));
	json_object_object_add(root, "resolve_p50_ms", json_object_new_double(pct(all, nall, 50)));
	json_object_object_add(root, "resolve_p99_ms", json_object_new_double(pct(all, nall, 99)));
	json_object_object_add(root, "keepalives_per_s",
			       json_object_new_double((double)keepalives / elapsed_s));
	json_object_object_add(root, "keepalive_bytes_per_s",
			       json_object_new_double((double)ka_bytes / elapsed_s));
	json_object_object_add(
		root, "etcd_cpu_percent",
		json_object_new_double(cpu0 >= 0 ? (cpu1 - cpu0) / elapsed_s * 100 : -1));
	json_object_object_add(root, "etcd_rss_kib",
			       json_object_new_int64(O.etcd_pid ? proc_rss_kib(O.etcd_pid) : -1));
	json_object_object_add(root, "failures", json_object_new_int64((int64_t)failures));
	if (O.out && json_object_to_file_ext(O.out, root, JSON_C_TO_STRING_PRETTY))
		die("writing the result");
	json_object_put(root);
	for (i = 0; i < PUBLISHERS; i++)
		rcp_etcd_close(&pub[i].e);
	return failures ? 1 : 0;
}
