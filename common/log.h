/* SPDX-License-Identifier: BSD-3-Clause */
/* log.h -- logging through a sink callback: stderr/syslog in the daemon, the application's
 * callback in the library */
#ifndef RDMACPY_COMMON_LOG_H
#define RDMACPY_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/*
 * Levels carry the syslog priority numbers so the syslog sink passes them straight through.
 * A smaller number is more severe.
 */
enum rcp_log_level {
	RCP_LOG_ERR = 3,
	RCP_LOG_WARN = 4,
	RCP_LOG_INFO = 6,
	RCP_LOG_DEBUG = 7,
};

/* Longest message a sink receives, terminator included; longer ones end in "..." */
#define RCP_LOG_MSG_MAX 1024

/* A sink gets one formatted message, without a trailing newline. */
typedef void (*rcp_log_fn)(void *ctx, int level, const char *msg);

/*
 * Where messages go. fn == NULL drops everything. min_level is the least severe level still
 * delivered: with RCP_LOG_INFO, errors, warnings and info pass and debug is dropped.
 */
struct rcp_log {
	rcp_log_fn fn;
	void *ctx;
	int min_level;
};

/* rcp_log_enabled -- whether a message at level would reach a sink */
static inline bool rcp_log_enabled(const struct rcp_log *log, int level)
{
	return log && log->fn && level <= log->min_level;
}

/* rcp_log -- format a message into a bounded buffer and hand it to the sink; keeps errno */
void rcp_log(const struct rcp_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* rcp_vlog -- rcp_log taking a va_list */
void rcp_vlog(const struct rcp_log *log, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define rcp_err(log, ...)  rcp_log((log), RCP_LOG_ERR, __VA_ARGS__)
#define rcp_warn(log, ...) rcp_log((log), RCP_LOG_WARN, __VA_ARGS__)
#define rcp_info(log, ...) rcp_log((log), RCP_LOG_INFO, __VA_ARGS__)
#define rcp_dbg(log, ...)  rcp_log((log), RCP_LOG_DEBUG, __VA_ARGS__)

/* rcp_log_level_str -- "error", "warn", "info", "debug"; "?" for anything else */
const char *rcp_log_level_str(int level);

/* rcp_log_level_parse -- name (as printed by rcp_log_level_str) to level; -EINVAL if unknown */
int rcp_log_level_parse(const char *name, int *level);

/*
 * rcp_log_stderr_sink -- one line per message on stderr:
 * "2024-05-01T12:00:00.123+0200 rdmacpyd[1234]: warn: msg". ctx is the program name
 * (const char *), NULL meaning "rdmacpyd".
 */
void rcp_log_stderr_sink(void *ctx, int level, const char *msg);

/* rcp_log_syslog_sink -- syslog(3) at the message's level; the caller did openlog; ctx unused */
void rcp_log_syslog_sink(void *ctx, int level, const char *msg);

#endif /* RDMACPY_COMMON_LOG_H */
