/* SPDX-License-Identifier: BSD-3-Clause */
/* test_notify.c -- rdmacpyd speaks systemd's notify protocol: READY=1 when it serves,
 * RELOADING=1 and READY=1 around a reload, STOPPING=1 on SIGTERM */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/rdma/harness/harness.h"

/* next -- the next datagram on fd within ms, NUL-terminated in buf; false on timeout */
static bool next(int fd, char *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return false;
	n = recv(fd, buf, cap - 1, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* wait_for -- datagrams until one contains word (within ms each) */
static bool wait_for(int fd, const char *word, char *buf, size_t cap)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (!next(fd, buf, cap, 20000))
			return false;
		if (strstr(buf, word))
			return true;
	}
	return false;
}

Test(notify, ready_reloading_stopping, .timeout = 120)
{
	static const char *const extra[] = {"--region", "r:anon:1M:rw", NULL};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/rdmacpy-notify.XXXXXX";
	struct th_daemon d;
	char msg[1024];
	int fd;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	/* the daemon inherits it, as systemd's services do */
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	cr_assert_eq(th_daemon_start(&d, extra), 0);
	unsetenv("NOTIFY_SOCKET");

	cr_assert(wait_for(fd, "READY=1", msg, sizeof(msg)), "no READY=1");
	cr_assert(strstr(msg, "STATUS=serving 1 region"), "%s", msg);

	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	cr_assert(wait_for(fd, "RELOADING=1", msg, sizeof(msg)), "no RELOADING=1");
	cr_assert(wait_for(fd, "READY=1", msg, sizeof(msg)), "no READY=1 after the reload");
	cr_assert(strstr(msg, "reloaded"), "%s", msg);

	cr_assert_eq(th_daemon_stop(&d), 0);
	cr_assert(wait_for(fd, "STOPPING=1", msg, sizeof(msg)), "no STOPPING=1");
	cr_assert(strstr(msg, "SIGTERM"), "%s", msg);
	close(fd);
	th_run(NULL, 0, "rm -rf %s %s", dir, d.dir);
}
