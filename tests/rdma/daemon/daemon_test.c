/* SPDX-License-Identifier: BSD-3-Clause */
/* daemon_test.c -- the real rdmacpyd on soft-RoCE: transfers, flush, and every refusal */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/checksum.h"
#include "tclient.h"

#define MiB	    (1u << 20)
#define XFER	    (8 * MiB)
#define REGION_SIZE (16 * MiB)
#define KEY_TEXT    "0123456789abcdef0123456789abcdef"
#define WRONG_KEY   "fedcba9876543210fedcba9876543210"
#define WAIT_MS	    20000

/* One daemon per test: a refusal in one test cannot leak into the next. */
struct daemon {
	pid_t pid;
	uint16_t port;
	char dir[300];
	char key_path[320];
	char file_path[320];
	struct rcp_auth_key key;
};

static struct daemon d;

/* test_ip -- this node's rxe address, set by scripts/softroce */
static const char *test_ip(void)
{
	return getenv("RDMACPY_TEST_IP");
}

/* write_file -- create path with mode and contents */
static void write_file(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

/* daemon_start_args -- fork/exec rdmacpyd with extra arguments; wait for "ready PORT" */
static void daemon_start_args(const char *region_anon)
{
	const char *build = getenv("RDMACPY_BUILD_DIR");
	char exe[512];
	char file_region[400];
	char ready[32];
	char line[64] = {0};
	struct pollfd pfd;
	int p[2];
	ssize_t n;

	if (!test_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	cr_assert_not_null(build, "RDMACPY_BUILD_DIR not set");
	snprintf(exe, sizeof(exe), "%s/server/rdmacpyd", build);
	/* in the build tree, not the guest's tmpfs: the file region is then on a filesystem with
	 * writeback, and only FLUSH or the exit's write-back puts bytes into the file */
	snprintf(d.dir, sizeof(d.dir), "%s/rdmacpyd-test.XXXXXX", build);
	cr_assert_not_null(mkdtemp(d.dir));
	snprintf(d.key_path, sizeof(d.key_path), "%s/key", d.dir);
	snprintf(d.file_path, sizeof(d.file_path), "%s/region.bin", d.dir);
	write_file(d.key_path, 0600, KEY_TEXT "\n");
	cr_assert_eq(rcp_auth_key_load(d.key_path, &d.key), 0);
	snprintf(file_region, sizeof(file_region), "file:file:%s:16MiB", d.file_path);
	cr_assert_eq(pipe(p), 0);
	snprintf(ready, sizeof(ready), "%d", p[1]);
	d.pid = fork();
	cr_assert_geq(d.pid, 0);
	if (d.pid == 0) {
		close(p[0]);
		execl(exe, exe, "--listen", test_ip(), "--port", "0", "--key-file", d.key_path,
		      "--region", region_anon, "--region", file_region, "--region",
		      "rodata:anon:1MiB:ro", "--max-grants-per-client", "8", "--max-clients", "4",
		      "--allow-create", "--max-dynamic-memory", "4MiB", "--ready-fd", ready, "-v",
		      /* long requests queue up to the protocol's bound instead of being
		       * refused early, so a test can fill a client's requests in flight; no
		       * keepalive timer, so an idle daemon has no reason at all to wake */
		      "--max-jobs-per-client", "16", "--keepalive", "0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 30000), 1, "rdmacpyd did not get ready within 30 s");
	n = read(p[0], line, sizeof(line) - 1);
	close(p[0]);
	cr_assert_gt(n, 0, "rdmacpyd exited before it was ready");
	cr_assert_eq(sscanf(line, "ready %hu", &d.port), 1, "ready line: '%s'", line);
}

/* daemon_start -- the standard daemon: 16 MiB anon, 16 MiB file, 1 MiB read-only */
static void daemon_start(void)
{
	daemon_start_args("anon:anon:16MiB");
}

/* daemon_stop_status -- SIGTERM and the exit status (-1 if it would not die in 20 s) */
static int daemon_stop_status(void)
{
	int status = 0;
	int i;

	if (d.pid <= 0)
		return -1;
	kill(d.pid, SIGTERM);
	for (i = 0; i < 200; i++) {
		if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
			d.pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(100000);
	}
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &status, 0);
	d.pid = 0;
	return -1;
}

/* daemon_stop -- the end of every test: a graceful shutdown exits 0 */
static void daemon_stop(void)
{
	cr_assert_eq(daemon_stop_status(), 0, "rdmacpyd did not exit 0 on SIGTERM");
}

/* teardown -- whatever a failed test left running */
static void teardown(void)
{
	char cmd[400];

	if (d.pid > 0)
		daemon_stop_status();
	if (d.dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d.dir);
	}
}

/* client -- connect and authenticate with the daemon's key */
static void client(struct tc *c, size_t data_len)
{
	int ret = tc_connect(c, test_ip(), d.port, 0, data_len);

	cr_assert_eq(ret, 0, "connect: %s", strerror(-ret));
	ret = tc_auth(c, &d.key, NULL);
	cr_assert_eq(ret, 0, "auth: %s", strerror(-ret));
}

/* list -- LIST from 0; the number of regions */
static uint32_t list(struct tc *c)
{
	struct rcp_msg m;
	struct rcp_msg r;

	rcp_msg_init(&m, RCP_MSG_LIST, 0);
	cr_assert_eq(tc_call(c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_LIST_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	return r.u.list_reply.count;
}

/* assert_served -- a fresh client gets through the handshake and a LIST */
static void assert_served(void)
{
	struct tc c;

	client(&c, 4096);
	cr_assert_eq(list(&c), 3);
	tc_close(&c);
}

/* open_grant -- OPEN and return the reply (OPEN_REPLY or ERROR) */
static struct rcp_msg open_grant(struct tc *c, const char *name, uint64_t off, uint64_t len,
				 enum rcp_rights rights)
{
	struct rcp_msg m;
	struct rcp_msg r;

	rcp_msg_init(&m, RCP_MSG_OPEN, 0);
	cr_assert_eq(rcp_strfield_set(m.u.open.name, sizeof(m.u.open.name), name), 0);
	m.u.open.offset = off;
	m.u.open.length = len;
	m.u.open.rights = rights;
	cr_assert_eq(tc_call(c, &m, &r, WAIT_MS), 0);
	return r;
}

/* open_ok -- OPEN that must succeed */
static struct rcp_msg_open_reply open_ok(struct tc *c, const char *name, uint64_t off, uint64_t len,
					 enum rcp_rights rights)
{
	struct rcp_msg r = open_grant(c, name, off, len, rights);

	cr_assert_eq(r.hdr.type, RCP_MSG_OPEN_REPLY, "OPEN %s: %s %s %s", name,
		     rcp_msg_type_name(r.hdr.type),
		     r.hdr.type == RCP_MSG_ERROR ? rcp_err_name(r.u.error.code) : "",
		     r.hdr.type == RCP_MSG_ERROR ? r.u.error.text : "");
	cr_assert_eq(r.u.open_reply.flags & RCP_GRANT_F_MR_FALLBACK, 0, "rxe has type-2 MWs");
	return r.u.open_reply;
}

/* expect_closed_with -- the next message is ERROR(code), then the daemon disconnects */
static void expect_closed_with(struct tc *c, enum rcp_err code)
{
	struct rcp_msg r;
	int ret = tc_wait_msg(c, &r, WAIT_MS);

	cr_assert_eq(ret, 0, "no reply: %s", strerror(-ret));
	cr_assert_eq(r.hdr.type, RCP_MSG_ERROR, "got %s", rcp_msg_type_name(r.hdr.type));
	cr_assert_eq(r.u.error.code, code, "got ERROR %s (%s)", rcp_err_name(r.u.error.code),
		     r.u.error.text);
	cr_assert(tc_wait_disconnected(c, WAIT_MS), "the daemon did not disconnect");
}

/* fill_random -- deterministic bytes from a seed */
static void fill_random(uint8_t *p, size_t n, unsigned int seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* remote_checksum -- CHECKSUM reply digest */
static void remote_checksum(struct tc *c, const char *name, uint64_t off, uint64_t len,
			    uint8_t out[RCP_CHECKSUM_LEN])
{
	struct rcp_msg m;
	struct rcp_msg r;

	rcp_msg_init(&m, RCP_MSG_CHECKSUM, 0);
	rcp_strfield_set(m.u.checksum.name, sizeof(m.u.checksum.name), name);
	m.u.checksum.offset = off;
	m.u.checksum.length = len;
	cr_assert_eq(tc_call(c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CHECKSUM_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	memcpy(out, r.u.checksum_reply.digest, RCP_CHECKSUM_LEN);
}

/* assert_region_zero -- a fresh client sees [off, +len) of name still all zero */
static void assert_region_zero(const char *name, uint64_t off, uint64_t len)
{
	uint8_t *zero = calloc(1, len);
	uint8_t want[RCP_CHECKSUM_LEN];
	uint8_t got[RCP_CHECKSUM_LEN];
	struct tc c;

	cr_assert_not_null(zero);
	rcp_checksum(zero, len, want);
	client(&c, 4096);
	remote_checksum(&c, name, off, len, got);
	cr_assert_eq(memcmp(want, got, RCP_CHECKSUM_LEN), 0, "%s was modified", name);
	tc_close(&c);
	free(zero);
}

TestSuite(daemon, .fini = teardown, .timeout = 240);

Test(daemon, handshake_list_open_write_read_flush__file_holds_bytes)
{
	unsigned int seed = (unsigned int)time(NULL);
	struct rcp_msg_open_reply g;
	uint8_t want[RCP_CHECKSUM_LEN];
	uint8_t got[RCP_CHECKSUM_LEN];
	struct rcp_msg m;
	struct rcp_msg r;
	uint8_t *disk;
	struct tc c;
	int fd;

	daemon_start();
	client(&c, 2 * XFER);
	cr_assert(c.caps & RCP_CAP_MW);
	rcp_msg_init(&m, RCP_MSG_LIST, 0);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.list_reply.total, 3);
	cr_assert_str_eq(r.u.list_reply.entries[0].name, "anon");
	cr_assert_str_eq(r.u.list_reply.entries[1].name, "file");
	cr_assert_eq(r.u.list_reply.entries[1].kind, RCP_KIND_FILE);
	cr_assert_eq(r.u.list_reply.entries[1].size, REGION_SIZE);
	cr_assert_eq(r.u.list_reply.entries[2].rights, RCP_RIGHTS_RO);

	g = open_ok(&c, "file", MiB, XFER, RCP_RIGHTS_RW);
	cr_assert_eq(g.length, XFER);
	fill_random(c.data, XFER, seed);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, XFER), IBV_WC_SUCCESS);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_READ, XFER, g.addr, g.rkey, XFER), IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(c.data, c.data + XFER, XFER), 0, "read back differs (seed %u)", seed);

	/* the file is on a filesystem with writeback: the daemon serves it from memory, and the
	 * bytes reach it at FLUSH, not before */
	disk = malloc(XFER);
	cr_assert_not_null(disk);
	fd = open(d.file_path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, disk, XFER, MiB), (ssize_t)XFER);
	close(fd);
	cr_assert_neq(memcmp(disk, c.data, XFER), 0, "the file changed before FLUSH");

	rcp_msg_init(&m, RCP_MSG_FLUSH, 0);
	m.u.flush.grant_id = g.grant_id;
	m.u.flush.offset = 0;
	m.u.flush.length = XFER;
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_FLUSH_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));

	fd = open(d.file_path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, disk, XFER, MiB), (ssize_t)XFER);
	close(fd);
	cr_assert_eq(memcmp(disk, c.data, XFER), 0, "file on disk differs (seed %u)", seed);
	free(disk);

	rcp_checksum(c.data, XFER, want);
	remote_checksum(&c, "file", MiB, XFER, got);
	cr_assert_eq(memcmp(want, got, RCP_CHECKSUM_LEN), 0, "CHECKSUM differs");

	rcp_msg_init(&m, RCP_MSG_STAT, 0);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_STAT_REPLY);
	cr_assert_eq(r.u.stat_reply.grants_active, 1);
	cr_assert_eq(r.u.stat_reply.mw_active, 1);
	cr_assert_eq(r.u.stat_reply.mw_fallback, 0);

	rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
	m.u.close.grant_id = g.grant_id;
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CLOSE_REPLY);
	tc_close(&c);
	daemon_stop();
}

Test(daemon, open_refusals__noent_access_range_limit_and_copy_noent)
{
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;
	int i;

	daemon_start();
	client(&c, 4096);
	r = open_grant(&c, "nosuch", 0, 1, RCP_RIGHTS_RO);
	cr_assert_eq(r.hdr.type, RCP_MSG_ERROR);
	cr_assert_eq(r.u.error.code, RCP_ERR_NOENT);
	r = open_grant(&c, "rodata", 0, 4096, RCP_RIGHTS_RW);
	cr_assert_eq(r.u.error.code, RCP_ERR_ACCESS);
	r = open_grant(&c, "anon", REGION_SIZE - 10, 11, RCP_RIGHTS_RO);
	cr_assert_eq(r.u.error.code, RCP_ERR_RANGE);
	r = open_grant(&c, "anon", REGION_SIZE, 1, RCP_RIGHTS_RO);
	cr_assert_eq(r.u.error.code, RCP_ERR_RANGE);
	for (i = 0; i < 8; i++)
		open_ok(&c, "rodata", 0, 4096, RCP_RIGHTS_RO);
	r = open_grant(&c, "rodata", 0, 4096, RCP_RIGHTS_RO);
	cr_assert_eq(r.u.error.code, RCP_ERR_LIMIT);
	rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
	m.u.close.grant_id = 12345;
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.error.code, RCP_ERR_NOENT);
	/* COPY is checked before any worker starts: a missing source is refused at once */
	rcp_msg_init(&m, RCP_MSG_COPY, 0);
	rcp_strfield_set(m.u.copy.src, sizeof(m.u.copy.src), "nope");
	m.u.copy.length = 1;
	rcp_strfield_set(m.u.copy.dst_host, sizeof(m.u.copy.dst_host), "198.18.0.2");
	m.u.copy.dst_port = 18515;
	rcp_strfield_set(m.u.copy.dst, sizeof(m.u.copy.dst), "anon");
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_ERROR);
	cr_assert_eq(r.u.error.code, RCP_ERR_NOENT);
	/* refusals of requests do not end the session */
	cr_assert_eq(list(&c), 3);
	tc_close(&c);
	daemon_stop();
}

Test(daemon, wrong_key__error_auth_and_disconnect)
{
	struct rcp_auth_key bad;
	struct rcp_msg err;
	struct tc c;

	daemon_start();
	cr_assert_eq(rcp_auth_key_set(&bad, WRONG_KEY, strlen(WRONG_KEY)), 0);
	cr_assert_eq(tc_connect(&c, test_ip(), d.port, 0, 4096), 0);
	cr_assert_eq(tc_auth(&c, &bad, &err), -EACCES);
	cr_assert_eq(err.u.error.code, RCP_ERR_AUTH);
	cr_assert(tc_wait_disconnected(&c, WAIT_MS), "the daemon did not disconnect");
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, older_protocol_versions__still_served)
{
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;
	uint16_t v;

	daemon_start();
	for (v = RCP_PROTO_VERSION_MIN; v < RCP_PROTO_VERSION; v++) {
		cr_assert_eq(tc_connect(&c, test_ip(), d.port, v, 4096), 0, "version %u", v);
		cr_assert_eq(tc_auth(&c, &d.key, NULL), 0, "version %u", v);
		cr_assert_geq(list(&c), 1);
		rcp_msg_init(&m, RCP_MSG_STAT, 0);
		m.hdr.version = (uint8_t)v;
		cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
		cr_assert_eq(r.hdr.type, RCP_MSG_STAT_REPLY);
		/* answered in the version the client speaks */
		cr_assert_eq(r.hdr.version, v);
		/* a version 3 request on an older session is refused, not answered in a version
		 * without it */
		rcp_msg_init(&m, RCP_MSG_INFO, 0);
		cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
		if (v < 3) {
			cr_assert_eq(r.hdr.type, RCP_MSG_ERROR, "got %s",
				     rcp_msg_type_name(r.hdr.type));
			cr_assert_eq(r.u.error.code, RCP_ERR_NOTSUP);
		} else {
			cr_assert_eq(r.hdr.type, RCP_MSG_INFO_REPLY, "version %u", v);
		}
		/* an OPEN_REPLY before version 4 has no instance id (it decodes as 0) */
		cr_assert_eq(open_ok(&c, "file", 0, 4096, RCP_RIGHTS_RO).instance, 0, "v%u", v);
		tc_close(&c);
	}
	/* version 4: every grant names its region's instance, one per region */
	client(&c, 4096);
	{
		uint64_t file_id = open_ok(&c, "file", 0, 4096, RCP_RIGHTS_RO).instance;
		uint64_t again = open_ok(&c, "file", 4096, 4096, RCP_RIGHTS_RO).instance;

		cr_assert_neq(file_id, 0);
		cr_assert_eq(again, file_id, "two grants of one region, two instances");
	}
	tc_close(&c);
	/* and version 3 on answers INFO with the one address this daemon serves */
	client(&c, 4096);
	rcp_msg_init(&m, RCP_MSG_INFO, 0);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_INFO_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	cr_assert_eq(r.u.info_reply.count, 1);
	cr_assert_str_eq(r.u.info_reply.addrs[0].addr, test_ip());
	cr_assert_eq(r.u.info_reply.port, d.port);
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, wrong_protocol_version__rejected)
{
	struct tc c;

	daemon_start();
	cr_assert_eq(tc_connect(&c, test_ip(), d.port, RCP_PROTO_VERSION + 1, 4096), -ECONNREFUSED);
	cr_assert_eq(c.reject_reason, RCP_REJECT_BAD_VERSION, "reason %s",
		     rcp_reject_name((unsigned int)c.reject_reason));
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, write_through_read_only_grant__remote_access_error)
{
	struct rcp_msg_open_reply g;
	struct tc c;

	daemon_start();
	client(&c, MiB);
	g = open_ok(&c, "anon", 0, MiB, RCP_RIGHTS_RO);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_READ, 0, g.addr, g.rkey, MiB), IBV_WC_SUCCESS);
	memset(c.data, 0xab, MiB);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, 4096),
		     IBV_WC_REM_ACCESS_ERR);
	tc_close(&c);
	assert_served();
	assert_region_zero("anon", 0, MiB);
	daemon_stop();
}

Test(daemon, access_outside_granted_range__remote_access_error)
{
	struct rcp_msg_open_reply g;
	struct tc c;

	daemon_start();
	client(&c, MiB);
	g = open_ok(&c, "anon", MiB, MiB, RCP_RIGHTS_RW);
	memset(c.data, 0xcd, MiB);
	/* one page past the end of the window, still inside the region */
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr + 4096, g.rkey, MiB),
		     IBV_WC_REM_ACCESS_ERR);
	tc_close(&c);
	client(&c, MiB);
	g = open_ok(&c, "anon", MiB, MiB, RCP_RIGHTS_RO);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_READ, 0, g.addr - 4096, g.rkey, 8192),
		     IBV_WC_REM_ACCESS_ERR);
	tc_close(&c);
	assert_served();
	assert_region_zero("anon", 2 * MiB, MiB);
	daemon_stop();
}

Test(daemon, rkey_after_close__remote_access_error)
{
	struct rcp_msg_open_reply g;
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;

	daemon_start();
	client(&c, MiB);
	g = open_ok(&c, "anon", 0, MiB, RCP_RIGHTS_RW);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, MiB), IBV_WC_SUCCESS);
	rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
	m.u.close.grant_id = g.grant_id;
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CLOSE_REPLY);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_READ, 0, g.addr, g.rkey, 4096), IBV_WC_REM_ACCESS_ERR);
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, rkey_of_client_a_on_client_b__remote_access_error)
{
	struct rcp_msg_open_reply g;
	struct tc a;
	struct tc b;

	daemon_start();
	client(&a, MiB);
	client(&b, MiB);
	g = open_ok(&a, "anon", 0, MiB, RCP_RIGHTS_RW);
	memset(b.data, 0xef, MiB);
	cr_assert_eq(tc_rdma(&b, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, 4096),
		     IBV_WC_REM_ACCESS_ERR);
	/* the grant still works for its owner */
	cr_assert_eq(tc_rdma(&a, IBV_WR_RDMA_READ, 0, g.addr, g.rkey, MiB), IBV_WC_SUCCESS);
	tc_close(&b);
	tc_close(&a);
	assert_served();
	assert_region_zero("anon", 0, MiB);
	daemon_stop();
}

Test(daemon, truncated_message__error_proto_and_disconnect)
{
	uint8_t buf[RCP_MSG_MAX];
	struct rcp_msg m;
	size_t len;
	struct tc c;

	daemon_start();
	client(&c, 4096);
	rcp_msg_init(&m, RCP_MSG_OPEN, 77);
	rcp_strfield_set(m.u.open.name, sizeof(m.u.open.name), "anon");
	m.u.open.length = 1;
	m.u.open.rights = RCP_RIGHTS_RO;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(tc_send_raw(&c, buf, len - 8), 0);
	expect_closed_with(&c, RCP_ERR_PROTO);
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, unknown_message_type__error_proto_and_disconnect)
{
	uint8_t buf[RCP_MSG_MAX];
	struct rcp_msg m;
	size_t len;
	struct tc c;

	daemon_start();
	client(&c, 4096);
	rcp_msg_init(&m, RCP_MSG_STAT, 78);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	buf[5] = 99; /* the header's type byte */
	cr_assert_eq(tc_send_raw(&c, buf, len), 0);
	expect_closed_with(&c, RCP_ERR_PROTO);
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, request_before_auth__error_auth_and_disconnect)
{
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;

	daemon_start();
	cr_assert_eq(tc_connect(&c, test_ip(), d.port, 0, 4096), 0);
	cr_assert_eq(tc_wait_msg(&c, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CHALLENGE);
	rcp_msg_init(&m, RCP_MSG_LIST, 0);
	cr_assert_gt(tc_send(&c, &m), 0);
	expect_closed_with(&c, RCP_ERR_AUTH);
	tc_close(&c);
	assert_served();
	daemon_stop();
}

Test(daemon, too_many_outstanding_requests__error_busy_and_disconnect)
{
	struct rcp_msg m;
	struct rcp_msg r;
	bool busy = false;
	struct tc c;
	int i;

	daemon_start();
	client(&c, 4096);
	/* each CHECKSUM of 16 MiB keeps the daemon busy long enough for all of them to queue */
	for (i = 0; i < RCP_MAX_OUTSTANDING + 1; i++) {
		rcp_msg_init(&m, RCP_MSG_CHECKSUM, 0);
		rcp_strfield_set(m.u.checksum.name, sizeof(m.u.checksum.name), "anon");
		m.u.checksum.length = REGION_SIZE;
		cr_assert_gt(tc_send(&c, &m), 0);
	}
	while (!busy && tc_wait_msg(&c, &r, WAIT_MS) == 0)
		busy = r.hdr.type == RCP_MSG_ERROR && r.u.error.code == RCP_ERR_BUSY;
	cr_assert(busy, "no ERROR(BUSY) for request %d", RCP_MAX_OUTSTANDING + 1);
	cr_assert(tc_wait_disconnected(&c, WAIT_MS), "the daemon did not disconnect");
	tc_close(&c);
	assert_served();
	daemon_stop();
}

/* destroy_req -- DESTROY name */
static struct rcp_msg destroy_req(const char *name)
{
	struct rcp_msg m;

	rcp_msg_init(&m, RCP_MSG_DESTROY, 0);
	rcp_strfield_set(m.u.destroy.name, sizeof(m.u.destroy.name), name);
	return m;
}

/* create_req -- CREATE name of size bytes, rw */
static struct rcp_msg create_req(const char *name, uint64_t size)
{
	struct rcp_msg m;

	rcp_msg_init(&m, RCP_MSG_CREATE, 0);
	rcp_strfield_set(m.u.create.name, sizeof(m.u.create.name), name);
	m.u.create.size = size;
	m.u.create.rights = RCP_RIGHTS_RW;
	return m;
}

Test(daemon, create_destroy__limits_and_busy)
{
	struct rcp_msg_open_reply g;
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc c;

	daemon_start();
	client(&c, MiB);
	cr_assert(c.caps & RCP_CAP_CREATE);
	m = create_req("dyn", MiB + 1);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CREATE_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	cr_assert_geq(r.u.create_reply.size, MiB + 1);
	m = create_req("dyn", MiB);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.error.code, RCP_ERR_EXIST);
	m = create_req("big", 4 * MiB);
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.error.code, RCP_ERR_LIMIT);
	cr_assert_eq(list(&c), 4);

	g = open_ok(&c, "dyn", 0, MiB, RCP_RIGHTS_RW);
	memset(c.data, 0x5a, MiB);
	cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, MiB), IBV_WC_SUCCESS);
	m = destroy_req("dyn");
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.error.code, RCP_ERR_BUSY);
	rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
	m.u.close.grant_id = g.grant_id;
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_CLOSE_REPLY);
	m = destroy_req("dyn");
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_DESTROY_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	m = destroy_req("anon");
	cr_assert_eq(tc_call(&c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.error.code, RCP_ERR_ACCESS);
	cr_assert_eq(list(&c), 3);
	tc_close(&c);
	daemon_stop();
}

Test(daemon, max_clients__rejected_full)
{
	struct tc c[5];
	int i;

	daemon_start();
	for (i = 0; i < 4; i++)
		client(&c[i], 4096);
	cr_assert_eq(tc_connect(&c[4], test_ip(), d.port, 0, 4096), -ECONNREFUSED);
	cr_assert_eq(c[4].reject_reason, RCP_REJECT_FULL, "reason %s",
		     rcp_reject_name((unsigned int)c[4].reject_reason));
	tc_close(&c[4]);
	tc_close(&c[0]);
	/* the daemon frees the slot when rdma_cm reports the disconnect: allow it a moment */
	for (i = 0; i < 50; i++) {
		if (tc_connect(&c[0], test_ip(), d.port, 0, 4096) == 0)
			break;
		tc_close(&c[0]);
		usleep(100000);
	}
	cr_assert_eq(tc_auth(&c[0], &d.key, NULL), 0);
	cr_assert_eq(list(&c[0]), 3);
	for (i = 0; i < 4; i++)
		tc_close(&c[i]);
	daemon_stop();
}

Test(daemon, shutdown_with_client_connected__exit_0)
{
	struct tc c;

	daemon_start();
	client(&c, MiB);
	open_ok(&c, "anon", 0, MiB, RCP_RIGHTS_RW);
	cr_assert_eq(daemon_stop_status(), 0);
	cr_assert(tc_wait_disconnected(&c, WAIT_MS), "clients are disconnected at shutdown");
	tc_close(&c);
}

/* proc_wakeups -- context switches of all the threads of a process: each is a time one of
 * them slept and was woken (or was made to give way), so an idle daemon adds none */
static unsigned long long proc_wakeups(pid_t pid)
{
	unsigned long long total = 0;
	unsigned long long v;
	char cmd[400];
	char line[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/status", (int)pid);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			total += v;
	pclose(p);
	return total;
}

Test(daemon, large_write__daemon_never_wakes)
{
	const uint64_t total = 128ull * MiB;
	struct rcp_msg_open_reply g;
	unsigned long long before;
	unsigned long long after;
	uint64_t off;
	struct tc c;

	daemon_start_args("anon:anon:128MiB");
	client(&c, 16 * MiB);
	g = open_ok(&c, "anon", 0, total, RCP_RIGHTS_RW);
	fill_random(c.data, 16 * MiB, 7);
	before = proc_wakeups(d.pid);
	for (off = 0; off < total; off += 16 * MiB)
		cr_assert_eq(tc_rdma(&c, IBV_WR_RDMA_WRITE, 0, g.addr + off, g.rkey, 16 * MiB),
			     IBV_WC_SUCCESS);
	after = proc_wakeups(d.pid);
	fprintf(stderr, "large_write: 128 MiB written; rdmacpyd woke %llu times\n", after - before);
	/* one-sided: no thread of the daemon has anything to do with these bytes (its timers
	 * are off in these tests), so none of them is woken, however many bytes go by */
	cr_assert_eq(after - before, 0, "rdmacpyd's threads were woken %llu times", after - before);
	tc_close(&c);
	daemon_stop();
}
