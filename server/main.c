/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c -- rdmacpyd: startup, the event loop, signals and orderly shutdown */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server/check.h"
#include "server/copy.h"
#include "server/directory.h"
#include "server/grant.h"
#include "server/devices.h"
#include "server/keepalive.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "server/options.h"
#include "server/reload.h"
#include "server/worker.h"
#include "server/region.h"
#include "server/server.h"
#include "server/session.h"
#include "server/stats.h"

#define DRAIN_GRACE_S 3

/* rcp_now_ms -- monotonic milliseconds */
uint64_t rcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* drain_timeout_cb -- clients that ignored the disconnect are cut off */
static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_server *srv = arg;

	(void)fd;
	(void)what;
	rcp_warn(&srv->log, "%u client%s did not disconnect within %d s: closing anyway",
		 srv->nsessions, srv->nsessions == 1 ? "" : "s", DRAIN_GRACE_S);
	event_base_loopexit(srv->base, NULL);
}

/* rcp_server_shutdown -- no new clients or grants; revoke and disconnect everything */
void rcp_server_shutdown(struct rcp_server *srv, const char *why)
{
	struct timeval grace = {.tv_sec = DRAIN_GRACE_S};
	struct rcp_session *s;

	if (srv->shutting_down) {
		rcp_warn(&srv->log, "%s during shutdown: not waiting for clients", why);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	srv->shutting_down = true;
	rcp_notify_stopping(srv, why);
	rcp_directory_leave(srv);
	rcp_copy_cancel_all(srv);
	rcp_info(&srv->log,
		 "shutting down (%s): refusing new clients and grants, revoking grants, "
		 "disconnecting %u client%s",
		 why, srv->nsessions, srv->nsessions == 1 ? "" : "s");
	for (s = LIST_FIRST(&srv->sessions); s; s = LIST_NEXT(s, link)) {
		rcp_grant_release_all(s);
		rcp_session_close(s, "daemon shutting down");
	}
	if (srv->nsessions == 0) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	srv->drain_timer = evtimer_new(srv->base, drain_timeout_cb, srv);
	if (!srv->drain_timer || evtimer_add(srv->drain_timer, &grace))
		event_base_loopexit(srv->base, NULL);
}

/* rcp_server_session_gone -- the last session leaving ends a shutdown */
void rcp_server_session_gone(struct rcp_server *srv)
{
	if (srv->shutting_down && srv->nsessions == 0)
		event_base_loopexit(srv->base, NULL);
}

/* signal_cb -- libevent delivers signals here, in the loop, so handlers may do real work */
static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rcp_server *srv = arg;

	(void)what;
	if (sig == SIGHUP) {
		rcp_reload(srv);
		return;
	}
	rcp_server_shutdown(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* add_signal -- route one signal into the loop */
static int add_signal(struct rcp_server *srv, int sig, struct event **evp)
{
	*evp = evsignal_new(srv->base, sig, signal_cb, srv);
	if (!*evp || event_add(*evp, NULL))
		return -ENOMEM;
	return 0;
}

/* write_pid_file -- the pid, for init scripts */
static int write_pid_file(struct rcp_server *srv)
{
	FILE *f;

	if (!srv->cfg.pid_file[0])
		return 0;
	f = fopen(srv->cfg.pid_file, "we");
	if (!f) {
		rcp_err(&srv->log, "pid file %s: %s", srv->cfg.pid_file, strerror(errno));
		return -errno;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

/* announce_ready -- tell whoever started us that clients may connect now */
static void announce_ready(struct rcp_server *srv)
{
	char more[48] = "";
	char msg[32];
	int n;

	if (srv->nlistens > 1)
		snprintf(more, sizeof(more), " and %u more address%s", srv->nlistens - 1,
			 srv->nlistens == 2 ? "" : "es");
	rcp_info(&srv->log, "ready: %s%s, %zu region%s, %s, grants as %s", srv->listen_str, more,
		 srv->nregions, srv->nregions == 1 ? "" : "s",
		 srv->cfg.no_auth ? "NO authentication" : "key authentication",
		 rcp_devices_mode_str(srv));
	rcp_notify_ready(srv);
	if (srv->cfg.ready_fd < 0) {
		fprintf(stderr, "rdmacpyd: ready\n");
		return;
	}
	n = snprintf(msg, sizeof(msg), "ready %u\n", rcp_listener_port(srv));
	if (write(srv->cfg.ready_fd, msg, (size_t)n) != n)
		rcp_warn(&srv->log, "--ready-fd %d: %s", srv->cfg.ready_fd, strerror(errno));
	close(srv->cfg.ready_fd);
	srv->cfg.ready_fd = -1;
}

/* load_regions -- map and register every configured region */
static int load_regions(struct rcp_server *srv)
{
	struct rcp_region *r = NULL;
	size_t i;
	int ret;

	for (i = 0; i < srv->cfg.nregions; i++) {
		ret = rcp_region_new(srv, &srv->cfg.regions[i], false, &r);
		if (ret)
			return ret;
		ret = rcp_region_add(srv, r);
		if (ret) {
			rcp_region_delete(srv, &r);
			return ret;
		}
	}
	if (!srv->nregions)
		rcp_warn(&srv->log, "no regions configured%s",
			 srv->cfg.allow_create ? "" : " and --allow-create not given");
	return 0;
}

/* server_start -- everything up to serving; on failure what was built is left for stop */
static int server_start(struct rcp_server *srv)
{
	int ret;

	if (!srv->cfg.no_auth) {
		ret = rcp_auth_key_load(srv->cfg.key_file, &srv->key);
		if (ret) {
			rcp_err(&srv->log, "key file %s: %s%s", srv->cfg.key_file, strerror(-ret),
				ret == -EPERM ? " (must be a regular file of mode 0600 or 0400)"
					      : "");
			return ret;
		}
	} else {
		rcp_warn(&srv->log,
			 "authentication disabled (--no-auth): anyone who can reach this "
			 "address can read and write the regions");
	}
	ret = rcp_copy_setup(srv);
	if (ret)
		return ret;
	srv->base = event_base_new();
	if (!srv->base)
		return -ENOMEM;
	ret = rcp_workers_new(srv->base, srv->cfg.workers, &srv->log, &srv->workers);
	if (ret) {
		rcp_err(&srv->log, "starting %u worker threads: %s", srv->cfg.workers,
			strerror(-ret));
		return ret;
	}
	ret = rcp_workers_new(srv->base, RCP_GRANT_WORKERS, &srv->log, &srv->grant_workers);
	if (ret) {
		rcp_err(&srv->log, "starting the grant registration threads: %s", strerror(-ret));
		return ret;
	}
	ret = add_signal(srv, SIGTERM, &srv->sig_term);
	if (!ret)
		ret = add_signal(srv, SIGINT, &srv->sig_int);
	if (!ret)
		ret = add_signal(srv, SIGHUP, &srv->sig_hup);
	if (ret)
		return ret;
	ret = rcp_listener_start(srv);
	if (ret)
		return ret;
	ret = rcp_keepalive_start(srv);
	if (ret)
		return ret;
	ret = rcp_devices_open(srv);
	if (ret)
		return ret;
	ret = load_regions(srv);
	if (ret)
		return ret;
	if (srv->cfg.metrics[0]) {
		ret = rcp_parse_addr_port(srv->cfg.metrics, srv->metrics_addr,
					  sizeof(srv->metrics_addr), &srv->metrics_port);
		if (!ret)
			ret = rcp_metrics_start(srv);
		if (ret)
			return ret;
	}
	ret = rcp_directory_start(srv);
	if (ret)
		return ret;
	return write_pid_file(srv);
}

/* server_stop -- free everything server_start built, sessions first, in reverse order */
static void server_stop(struct rcp_server *srv)
{
	struct rcp_session *s;

	rcp_metrics_stop(srv);
	rcp_directory_stop(srv);
	while ((s = LIST_FIRST(&srv->sessions)))
		rcp_session_delete(&s);
	/* copies and long requests read the regions: they end before the regions go */
	rcp_copy_stop_all(srv);
	rcp_workers_delete(&srv->workers);
	rcp_workers_delete(&srv->grant_workers);
	/* regions a reload removed while they were in use: nothing uses them any more */
	while (!LIST_EMPTY(&srv->retiring)) {
		struct rcp_region *r = LIST_FIRST(&srv->retiring);

		LIST_REMOVE(r, retire_link);
		rcp_region_delete(srv, &r);
	}
	rcp_keepalive_stop(srv);
	rcp_listener_stop(srv);
	while (srv->nregions) {
		struct rcp_region *r = srv->regions[srv->nregions - 1];

		srv->nregions--;
		rcp_region_delete(srv, &r);
	}
	free(srv->regions);
	srv->regions = NULL;
	rcp_devices_close(srv);
	if (srv->drain_timer)
		event_free(srv->drain_timer);
	if (srv->sig_hup)
		event_free(srv->sig_hup);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->base)
		event_base_free(srv->base);
	srv->base = NULL;
	rcp_auth_key_wipe(&srv->key);
	rcp_auth_key_wipe(&srv->cluster_key);
	if (srv->cfg.pid_file[0])
		unlink(srv->cfg.pid_file);
}

/* main -- parse, start, serve until a signal, stop */
int main(int argc, char **argv)
{
	struct rcp_server srv;
	int ret;

	memset(&srv, 0, sizeof(srv));
	LIST_INIT(&srv.sessions);
	LIST_INIT(&srv.copies);
	LIST_INIT(&srv.creates);
	LIST_INIT(&srv.retiring);
	srv.argc = argc;
	srv.argv = argv;
	rcp_config_init(&srv.cfg);
	ret = rcp_options_parse(&srv.cfg, argc, argv);
	if (ret) {
		rcp_config_fini(&srv.cfg);
		return ret > 0 ? 0 : 2;
	}
	srv.log.min_level = srv.cfg.log_level;
	if (srv.cfg.syslog) {
		openlog("rdmacpyd", LOG_PID, LOG_DAEMON);
		srv.log.fn = rcp_log_syslog_sink;
	} else {
		srv.log.fn = rcp_log_stderr_sink;
		srv.log.ctx = (void *)"rdmacpyd";
	}
	signal(SIGPIPE, SIG_IGN);
	srv.start_ms = rcp_now_ms();
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(srv.started_iso, sizeof(srv.started_iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}

	ret = server_start(&srv);
	if (ret) {
		srv.exit_code = 1;
	} else {
		announce_ready(&srv);
		event_base_dispatch(srv.base);
	}
	if (!ret)
		rcp_stats_log(&srv);
	server_stop(&srv);
	rcp_info(&srv.log, "exiting with status %d", srv.exit_code);
	rcp_config_fini(&srv.cfg);
	if (srv.cfg.syslog)
		closelog();
	return srv.exit_code;
}
