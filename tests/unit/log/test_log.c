/* SPDX-License-Identifier: BSD-3-Clause */
/* test_log.c -- sink routing, level filtering, truncation, errno, the stderr line format */
#include <criterion/criterion.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* What a capturing sink saw. */
struct capture {
	int calls;
	int level;
	void *ctx;
	char msg[2 * RCP_LOG_MSG_MAX];
};

/* capture_sink -- remember the last message; clobber errno like a careless sink would */
static void capture_sink(void *ctx, int level, const char *msg)
{
	struct capture *c = ctx;

	c->calls++;
	c->level = level;
	c->ctx = ctx;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	errno = EPIPE;
}

Test(log, rcp_log__formats_and_hands_message_to_sink)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};

	rcp_log(&log, RCP_LOG_WARN, "region %s: %d bytes", "r0", 4096);
	cr_assert_eq(c.calls, 1);
	cr_assert_eq(c.level, RCP_LOG_WARN);
	cr_assert_eq(c.ctx, &c);
	cr_assert_str_eq(c.msg, "region r0: 4096 bytes");
}

Test(log, rcp_log__drops_levels_less_severe_than_min_level)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_INFO};

	rcp_dbg(&log, "debug %d", 1);
	cr_assert_eq(c.calls, 0);
	rcp_info(&log, "info");
	rcp_warn(&log, "warn");
	rcp_err(&log, "err");
	cr_assert_eq(c.calls, 3);
	cr_assert_eq(c.level, RCP_LOG_ERR);
	cr_assert_str_eq(c.msg, "err");
}

Test(log, rcp_log__min_level_err_passes_only_errors)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_ERR};

	rcp_warn(&log, "warn");
	cr_assert_eq(c.calls, 0);
	rcp_err(&log, "bad");
	cr_assert_eq(c.calls, 1);
}

Test(log, macros__map_to_their_levels)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};

	rcp_dbg(&log, "x");
	cr_assert_eq(c.level, RCP_LOG_DEBUG);
	rcp_info(&log, "x");
	cr_assert_eq(c.level, RCP_LOG_INFO);
	rcp_warn(&log, "x");
	cr_assert_eq(c.level, RCP_LOG_WARN);
	rcp_err(&log, "x");
	cr_assert_eq(c.level, RCP_LOG_ERR);
}

Test(log, rcp_log__no_sink_or_no_log_drops_silently)
{
	struct rcp_log log = {NULL, NULL, RCP_LOG_DEBUG};

	rcp_err(&log, "nobody hears this");
	rcp_err(NULL, "nor this");
	cr_assert_not(rcp_log_enabled(&log, RCP_LOG_ERR));
	cr_assert_not(rcp_log_enabled(NULL, RCP_LOG_ERR));
}

Test(log, rcp_log__long_message_is_truncated_with_ellipsis)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};
	char big[3000];
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rcp_info(&log, "%s", big);
	len = strlen(c.msg);
	cr_assert_eq(len, RCP_LOG_MSG_MAX - 1);
	cr_assert_str_eq(c.msg + len - 3, "...");
	cr_assert_eq(c.msg[len - 4], 'a');
}

Test(log, rcp_log__message_that_just_fits_is_not_marked)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};
	char fit[RCP_LOG_MSG_MAX];

	memset(fit, 'b', sizeof(fit) - 1);
	fit[sizeof(fit) - 1] = '\0';
	rcp_info(&log, "%s", fit);
	cr_assert_str_eq(c.msg, fit);
}

Test(log, rcp_log__trailing_newlines_are_stripped)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};

	rcp_info(&log, "line\n\n");
	cr_assert_str_eq(c.msg, "line");
}

Test(log, rcp_log__keeps_callers_errno)
{
	struct capture c = {0};
	struct rcp_log log = {capture_sink, &c, RCP_LOG_DEBUG};

	errno = ENOMEM;
	rcp_err(&log, "failed: %s", strerror(errno));
	cr_assert_eq(c.calls, 1);
	cr_assert_eq(errno, ENOMEM);
}

Test(log, level_str__names_each_level)
{
	cr_assert_str_eq(rcp_log_level_str(RCP_LOG_ERR), "error");
	cr_assert_str_eq(rcp_log_level_str(RCP_LOG_WARN), "warn");
	cr_assert_str_eq(rcp_log_level_str(RCP_LOG_INFO), "info");
	cr_assert_str_eq(rcp_log_level_str(RCP_LOG_DEBUG), "debug");
	cr_assert_str_eq(rcp_log_level_str(42), "?");
}

Test(log, level_parse__round_trips_names)
{
	int level = -1;

	cr_assert_eq(rcp_log_level_parse("debug", &level), 0);
	cr_assert_eq(level, RCP_LOG_DEBUG);
	cr_assert_eq(rcp_log_level_parse("error", &level), 0);
	cr_assert_eq(level, RCP_LOG_ERR);
	cr_assert_eq(rcp_log_level_parse("warn", &level), 0);
	cr_assert_eq(level, RCP_LOG_WARN);
}

Test(log, level_parse__unknown_name_is_einval_and_level_untouched)
{
	int level = 99;

	cr_assert_eq(rcp_log_level_parse("verbose", &level), -EINVAL);
	cr_assert_eq(rcp_log_level_parse(NULL, &level), -EINVAL);
	cr_assert_eq(level, 99);
}

/* stderr_of -- run the stderr sink once and return what it wrote */
static void stderr_of(void *ctx, int level, const char *msg, char *out, size_t size)
{
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	cr_assert_not_null(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(tmp), STDERR_FILENO), 0);
	rcp_log_stderr_sink(ctx, level, msg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

/* matches -- extended regex match */
static bool matches(const char *re, const char *s)
{
	regex_t rx;
	bool ok;

	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

Test(log, stderr_sink__writes_timestamp_ident_pid_level_message_line)
{
	char out[512];
	char re[256];

	stderr_of(NULL, RCP_LOG_WARN, "grant 7 revoked", out, sizeof(out));
	snprintf(re, sizeof(re),
		 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{4} "
		 "rdmacpyd\\[%ld\\]: warn: grant 7 revoked\n$",
		 (long)getpid());
	cr_assert(matches(re, out), "unexpected line: %s", out);
}

Test(log, stderr_sink__uses_ident_from_ctx)
{
	char out[512];

	stderr_of("rdmacpy-test", RCP_LOG_ERR, "x", out, sizeof(out));
	cr_assert(matches(" rdmacpy-test\\[[0-9]+\\]: error: x\n$", out), "unexpected line: %s",
		  out);
}
