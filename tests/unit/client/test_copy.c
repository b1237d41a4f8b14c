/* SPDX-License-Identifier: BSD-3-Clause */
/* test_copy.c -- rdmacpy_copy against a mock daemon: progress, the reply, refusals */
#include <string.h>

#include "tests/unit/client/helpers.h"

#define COPY_LEN (8ull << 20)

/* What the progress callback saw. */
struct seen {
	unsigned int calls;
	uint64_t last;
	uint64_t total;
	bool backwards;
};

/* on_progress -- record a report, noting one that goes backwards */
static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct seen *s = ctx;

	if (done < s->last)
		s->backwards = true;
	s->calls++;
	s->last = done;
	s->total = total;
}

/* start_copy_peer -- a mock daemon answering COPY as cfg says, and a connection to it */
static struct rdmacpy_conn *start_copy_peer(const struct peer_cfg *cfg, int timeout_ms)
{
	struct rdmacpy_conn_opts o;

	test_opts(&o);
	o.timeout_ms = timeout_ms;
	peer_start(cfg);
	return connect_started(&o);
}

Test(client_copy, copy__progress_then_reply)
{
	struct peer_cfg cfg = {.copy_gap_ms = 400};
	struct rdmacpy_conn *c;
	struct seen s = {0};
	uint64_t bytes = 0;
	int ret;

	/* four gaps of 400 ms outlast the 1 s timeout: only the progress resets keep it alive */
	c = start_copy_peer(&cfg, 1000);
	ret = rdmacpy_region_copy(c, "reg0", 4096, COPY_LEN, "198.18.0.2", 18515, "reg1", 0,
				  on_progress, &s, &bytes);
	cr_assert_eq(ret, 0, "copy: %s (%s)", rdmacpy_strerror(ret), rdmacpy_conn_last_error(c));
	cr_assert_eq(bytes, COPY_LEN);
	cr_assert_geq(s.calls, 2, "progress reported %u times", s.calls);
	cr_assert_not(s.backwards);
	cr_assert_eq(s.last, COPY_LEN);
	cr_assert_eq(s.total, COPY_LEN);
	cr_assert_eq(peer_requests(RCP_MSG_COPY), 1);
	close_clean(&c);
}

Test(client_copy, copy__error_reply_mapped_and_connection_still_usable)
{
	struct peer_cfg cfg = {.copy_err = RCP_ERR_NOENT};
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_conn *c;
	struct seen s = {0};
	uint64_t bytes = 7;
	int ret;

	c = start_copy_peer(&cfg, 3000);
	ret = rdmacpy_region_copy(c, "nope", 0, COPY_LEN, "198.18.0.2", 18515, "reg1", 0,
				  on_progress, &s, &bytes);
	cr_assert_eq(ret, RDMACPY_E_NOENT, "got %s", rdmacpy_strerror(ret));
	cr_assert_eq(bytes, 0);
	cr_assert_eq(s.calls, 0);
	cr_assert_str_eq(rdmacpy_conn_last_error(c), "copy refused");
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	close_clean(&c);
}

Test(client_copy, copy__failed_status_gives_bytes_and_code)
{
	struct peer_cfg cfg = {.copy_status = RCP_ERR_UNREACH};
	struct rdmacpy_conn *c;
	uint64_t bytes = 0;
	int ret;

	c = start_copy_peer(&cfg, 3000);
	ret = rdmacpy_region_copy(c, "reg0", 0, COPY_LEN, "nosuchhost", 18515, "reg1", 0, NULL,
				  NULL, &bytes);
	cr_assert_eq(ret, RDMACPY_E_CONNECT, "got %s", rdmacpy_strerror(ret));
	cr_assert_eq(bytes, COPY_LEN / 2);
	cr_assert(strstr(rdmacpy_conn_last_error(c), "UNREACH"), "%s", rdmacpy_conn_last_error(c));
	close_clean(&c);
}

Test(client_copy, copy__bad_arguments_refused_locally)
{
	struct rdmacpy_conn *c;
	char longname[RDMACPY_NAME_MAX + 8];

	c = start_copy_peer(NULL, 3000);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(rdmacpy_region_copy(NULL, "a", 0, 1, "h", 1, "b", 0, NULL, NULL, NULL),
		     RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_copy(c, "a", 0, 0, "h", 1, "b", 0, NULL, NULL, NULL),
		     RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_copy(c, "a", 0, 1, "h", 0, "b", 0, NULL, NULL, NULL),
		     RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_copy(c, "a", UINT64_MAX, 2, "h", 1, "b", 0, NULL, NULL, NULL),
		     RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_copy(c, longname, 0, 1, "h", 1, "b", 0, NULL, NULL, NULL),
		     RDMACPY_E_INVAL);
	cr_assert_eq(peer_requests(RCP_MSG_COPY), 0);
	close_clean(&c);
}
