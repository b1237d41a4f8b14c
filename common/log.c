/* SPDX-License-Identifier: BSD-3-Clause */
/* log.c -- logging through a sink callback, plus the daemon's stderr and syslog sinks */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char ellipsis[] = "...";

/* rcp_vlog -- rcp_log taking a va_list */
void rcp_vlog(const struct rcp_log *log, int level, const char *fmt, va_list ap)
{
	char msg[RCP_LOG_MSG_MAX];
	int saved_errno = errno;
	size_t len;
	int n;

	if (!rcp_log_enabled(log, level))
		return;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0) {
		snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
		n = (int)strlen(msg);
	}
	len = (size_t)n;
	if (len >= sizeof(msg)) {
		/* say it was cut so nobody mistakes the tail for the whole story */
		len = sizeof(msg) - 1;
		memcpy(msg + len - (sizeof(ellipsis) - 1), ellipsis, sizeof(ellipsis));
	}
	/* sinks add their own line ending */
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';

	log->fn(log->ctx, level, msg);
	/* callers log an error and then return -errno: logging must not change it */
	errno = saved_errno;
}

/* rcp_log -- format a message into a bounded buffer and hand it to the sink; keeps errno */
void rcp_log(const struct rcp_log *log, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rcp_vlog(log, level, fmt, ap);
	va_end(ap);
}

/* rcp_log_level_str -- "error", "warn", "info", "debug"; "?" for anything else */
const char *rcp_log_level_str(int level)
{
	switch (level) {
	case RCP_LOG_ERR:
		return "error";
	case RCP_LOG_WARN:
		return "warn";
	case RCP_LOG_INFO:
		return "info";
	case RCP_LOG_DEBUG:
		return "debug";
	default:
		return "?";
	}
}

/* rcp_log_level_parse -- name (as printed by rcp_log_level_str) to level; -EINVAL if unknown */
int rcp_log_level_parse(const char *name, int *level)
{
	static const int levels[] = {RCP_LOG_ERR, RCP_LOG_WARN, RCP_LOG_INFO, RCP_LOG_DEBUG};
	size_t i;

	if (!name || !level)
		return -EINVAL;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(name, rcp_log_level_str(levels[i])) == 0) {
			*level = levels[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* format_timestamp -- local time with milliseconds and UTC offset, ISO 8601 */
static void format_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char zone[8];
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !localtime_r(&ts.tv_sec, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(zone, sizeof(zone), "%z", &tm) == 0)
		zone[0] = '\0';
	snprintf(buf + n, size - n, ".%03ld%s", ts.tv_nsec / 1000000L, zone);
}

/* rcp_log_stderr_sink -- one timestamped line per message on stderr */
void rcp_log_stderr_sink(void *ctx, int level, const char *msg)
{
	const char *ident = ctx ? (const char *)ctx : "rdmacpyd";
	char line[RCP_LOG_MSG_MAX + 128];
	char stamp[48];

	format_timestamp(stamp, sizeof(stamp));
	/* one fputs per line so lines from several threads do not interleave */
	snprintf(line, sizeof(line), "%s %s[%ld]: %s: %s\n", stamp, ident, (long)getpid(),
		 rcp_log_level_str(level), msg);
	fputs(line, stderr);
}

/* rcp_log_syslog_sink -- syslog(3) at the message's level; the caller did openlog */
void rcp_log_syslog_sink(void *ctx, int level, const char *msg)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	syslog(level, "%s", msg);
}
