/* SPDX-License-Identifier: BSD-3-Clause */
/* test_metrics.c -- rdmacpyd's /metrics scraped by a real Prometheus, checked by promtool, and
 * the endpoint under bad requests (POST, a huge header, a thousand connections, a slow loris)
 * while the daemon keeps serving RDMA clients */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

static struct th_daemon d;
static char out[1 << 16];
static unsigned mport; /* the daemon's metrics port */

static void start(void)
{
	static const char *const extra[] = {
		"--region",  "data:anon:8M:rw", "--region", "two:anon:1M:ro",
		"--metrics", "127.0.0.1:0",	NULL};
	char port[32];

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	cr_assert_eq(th_daemon_start(&d, extra), 0, "rdmacpyd did not start");
	cr_assert(th_log_after(d.log, "metrics: http://127.0.0.1:", port, sizeof(port)),
		  "no metrics line in the log");
	mport = (unsigned)atoi(port);
	cr_assert_gt(mport, 0);
}

static void stop(void)
{
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0);
	th_run(NULL, 0, "rm -rf %s", d.dir);
}

TestSuite(metrics, .init = start, .fini = stop, .timeout = 300);

static struct rdmacpy_conn *conn(void)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	o.timeout_ms = 30000;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
	return c;
}

/* serving -- the daemon still answers an RDMA client */
static void serving(void)
{
	struct rdmacpy_conn *c = conn();
	struct rdmacpy_stats st = {.size = sizeof(st)};

	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	rdmacpy_conn_close(&c);
}

/* http -- curl's status code for a request to the metrics port */
static int http(const char *args, const char *path)
{
	if (th_run(out, sizeof(out),
		   "curl -s -o /dev/null -m 20 -w %%{http_code} %s "
		   "http://127.0.0.1:%u%s",
		   args, mport, path))
		return -1;
	return atoi(out);
}

/* free_port -- a TCP port nobody listens on now */
static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* prom_value -- the value of a Prometheus instant query's first sample, or -1 */
static double prom_value(unsigned pport, const char *query)
{
	json_object *root;
	json_object *data;
	json_object *result;
	json_object *sample;
	json_object *value;
	char q[512];
	size_t n = 0;
	double v = -1;

	/* the query goes inside a double-quoted shell word: its quotes are escaped */
	for (; *query && n + 2 < sizeof(q); query++) {
		if (*query == '"')
			q[n++] = '\\';
		q[n++] = *query;
	}
	q[n] = '\0';
	if (th_run(out, sizeof(out),
		   "curl -s -m 5 -G --data-urlencode \"query=%s\" "
		   "http://127.0.0.1:%u/api/v1/query",
		   q, pport))
		return -1;
	root = json_tokener_parse(out);
	if (!root)
		return -1;
	if (json_object_object_get_ex(root, "data", &data) &&
	    json_object_object_get_ex(data, "result", &result) &&
	    json_object_array_length(result) > 0) {
		sample = json_object_array_get_idx(result, 0);
		if (json_object_object_get_ex(sample, "value", &value) &&
		    json_object_array_length(value) == 2)
			v = atof(json_object_get_string(json_object_array_get_idx(value, 1)));
	}
	json_object_put(root);
	return v;
}

Test(metrics, prometheus_scrapes_what_the_test_caused)
{
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g = NULL;
	char pdir[] = "/tmp/rdmacpy-prometheus.XXXXXX";
	char cfg[400];
	char tsdb[400];
	char plog[400];
	unsigned pport = free_port();
	pid_t prom;
	double v = -1;
	int i;

	/* work whose traces the metrics must show: one client held open, 7 STATs, 3 OPENs */
	c = conn();
	for (i = 0; i < 7; i++)
		cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(rdmacpy_grant_open(c, "data", 0, 4096, RDMACPY_RIGHTS_RW, &g), 0);
		cr_assert_eq(rdmacpy_grant_close(&g), 0);
	}
	/* a refused OPEN counts as an error of its type */
	cr_assert_eq(rdmacpy_grant_open(c, "two", 0, 4096, RDMACPY_RIGHTS_RW, &g),
		     RDMACPY_E_ACCESS);

	fprintf(stderr, "metrics: traffic made\n");
	/* promtool's lint of the text as scraped */
	cr_assert_eq(th_run(out, sizeof(out),
			    "curl -s -m 10 http://127.0.0.1:%u/metrics > %s/scraped && promtool "
			    "check metrics < %s/scraped",
			    mport, d.dir, d.dir),
		     0, "promtool: %s", out);

	/* Prometheus maps its database: it goes on a local filesystem, not the shared tree */
	cr_assert_not_null(mkdtemp(pdir));
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", pdir);
	snprintf(tsdb, sizeof(tsdb), "%s/tsdb", pdir);
	snprintf(plog, sizeof(plog), "%s/prometheus.log", pdir);
	cr_assert_eq(th_run(NULL, 0,
			    "printf \"global:\\n  scrape_interval: 1s\\nscrape_configs:\\n  - "
			    "job_name: rdmacpyd\\n    static_configs:\\n      - targets: "
			    "[127.0.0.1:%u]\\n\" > %s",
			    mport, cfg),
		     0);
	fprintf(stderr, "metrics: promtool ok, starting Prometheus on port %u\n", pport);
	prom = fork();
	cr_assert_geq(prom, 0);
	if (prom == 0) {
		char listen[64];
		int fd = open(plog, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u", pport);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("prometheus", "prometheus", "--config.file", cfg, "--storage.tsdb.path",
		       tsdb, listen, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 60; i++) {
		if (th_run(NULL, 0, "curl -sf -m 2 http://127.0.0.1:%u/-/ready", pport) == 0)
			break;
		th_run(NULL, 0, "sleep 0.5");
	}
	fprintf(stderr, "metrics: Prometheus ready after %d tries\n", i);
	cr_assert_lt(i, 60, "Prometheus did not get ready: %s",
		     (th_run(out, sizeof(out), "tail -5 %s", plog), out));
	/* Prometheus scrapes every second: wait for the counts to show there */
	for (i = 0; i < 60 && v != 7; i++) {
		v = prom_value(pport, "rdmacpyd_request_duration_seconds_count{type=\"stat\"}");
		if (v != 7)
			th_run(NULL, 0, "sleep 0.5");
	}
	cr_assert_eq(v, 7, "STATs in Prometheus: %g (log %s)", v, plog);
	cr_assert_eq(prom_value(pport, "rdmacpyd_clients_connected"), 1);
	cr_assert_eq(prom_value(pport, "rdmacpyd_request_duration_seconds_count{type=\"open\"}"),
		     4);
	cr_assert_eq(prom_value(pport, "rdmacpyd_request_errors_total{type=\"open\"}"), 1);
	cr_assert_eq(prom_value(pport, "rdmacpyd_request_duration_seconds_count{type=\"close\"}"),
		     3);
	/* every answer took at most +Inf, and the buckets add up to the count */
	cr_assert_eq(prom_value(pport, "rdmacpyd_request_duration_seconds_bucket{type=\"stat\","
				       "le=\"+Inf\"}"),
		     7);
	cr_assert_eq(prom_value(pport, "rdmacpyd_region_size_bytes{region=\"data\"}"), 8 << 20);
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	th_run(NULL, 0, "rm -rf %s", pdir);
	rdmacpy_conn_close(&c);
}

Test(metrics, health_and_paths)
{
	cr_assert_eq(http("", "/health"), 200, "%s", out);
	cr_assert_eq(http("", "/metrics"), 200, "%s", out);
	cr_assert_eq(http("", "/nope"), 404, "%s", out);
	serving();
}

Test(metrics, post__refused)
{
	cr_assert_eq(http("-X POST -d x=1", "/metrics"), 405, "%s", out);
	cr_assert_eq(http("-X PUT -d x=1", "/health"), 405, "%s", out);
	cr_assert_eq(http("-X DELETE", "/nope"), 405, "%s", out);
	serving();
	cr_assert_eq(http("", "/metrics"), 200);
}

Test(metrics, huge_header__refused)
{
	char hdr[400];
	int code;

	snprintf(hdr, sizeof(hdr), "%s/header", d.dir);
	cr_assert_eq(th_run(NULL, 0,
			    "printf \"X-Big: \" > %s && head -c 1048576 /dev/zero | tr "
			    "\"\\\\000\" a >> %s",
			    hdr, hdr),
		     0);
	{
		char args[500];

		snprintf(args, sizeof(args), "-H @%s/header", d.dir);
		code = http(args, "/metrics");
	}
	/* refused (400/413) or cut off (000): anything but an answer */
	cr_assert_neq(code, 200, "a 1 MiB header was served");
	serving();
	cr_assert_eq(http("", "/metrics"), 200);
}

/* connect_many -- n TCP connections to the metrics port, left open; their fds */
static int *connect_many(unsigned n)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)mport),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int *fds = calloc(n, sizeof(int));
	unsigned i;

	cr_assert_not_null(fds);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert_geq(fds[i], 0, "socket %u: %s", i, strerror(errno));
		connect(fds[i], (struct sockaddr *)&a, sizeof(a));
	}
	return fds;
}

/* daemon_fds -- descriptors the daemon holds */
static int daemon_fds(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)d.pid);
	if (th_run(out, sizeof(out), "%s", cmd))
		return -1;
	return atoi(out);
}

Test(metrics, thousand_connections__bounded_and_rdma_served)
{
	int before = daemon_fds();
	int during;
	int *fds;
	int i;

	fds = connect_many(1000);
	th_run(NULL, 0, "sleep 1");
	during = daemon_fds();
	/* the RDMA side is untouched by the flood */
	serving();
	for (i = 0; i < 1000; i++)
		close(fds[i]);
	free(fds);
	fprintf(stderr, "metrics: daemon fds %d before, %d with 1000 connections open\n", before,
		during);
	/* the endpoint holds at most its cap, whatever is thrown at it */
	cr_assert_leq(during, before + 32 + 2, "%d fds with 1000 connections (%d before)", during,
		      before);
	/* and answers once they are gone */
	for (i = 0; i < 60 && http("", "/health") != 200; i++)
		th_run(NULL, 0, "sleep 0.5");
	cr_assert_eq(http("", "/health"), 200);
}

Test(metrics, slow_loris__cut_off)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)mport),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool cut = false;
	int i;

	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_gt(send(fd, req, strlen(req), MSG_NOSIGNAL), 0);
	/* a byte a second, never finishing the header: the daemon must hang up */
	for (i = 0; i < 40 && !cut; i++) {
		th_run(NULL, 0, "sleep 1");
		if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
			cut = true;
		else {
			char b;
			ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);

			cut = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
		}
	}
	close(fd);
	cr_assert(cut, "a slow loris kept its connection for 40 s");
	serving();
	cr_assert_eq(http("", "/metrics"), 200);
}
