/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c -- rdmacpyd: options, startup, the event loop, signals and orderly shutdown */
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
#include "server/grant.h"
#include "server/keepalive.h"
#include "server/listener.h"
#include "server/mw_probe.h"
#include "server/worker.h"
#include "server/region.h"
#include "server/server.h"
#include "server/session.h"
#include "server/stats.h"

#define DRAIN_GRACE_S 3

enum {
	OPT_NO_AUTH = 256,
	OPT_MAX_CLIENTS,
	OPT_MAX_GRANTS,
	OPT_MAX_DYNAMIC,
	OPT_ALLOW_CREATE,
	OPT_SYSLOG,
	OPT_PID_FILE,
	OPT_READY_FD,
	OPT_VERSION,
	OPT_CLUSTER_KEY,
	OPT_MAX_JOBS,
	OPT_WORKERS,
	OPT_AUTH_TIMEOUT,
	OPT_MAX_PENDING,
	OPT_MAX_PENDING_SOURCE,
	OPT_MAX_PER_SOURCE,
	OPT_GRANT_MODE,
	OPT_KEEPALIVE,
};

static const char usage_text[] =
	"usage: rdmacpyd --listen ADDR [options]\n"
	"Serve named memory regions over RDMA: clients get windows (grants) onto them and move\n"
	"the bytes with one-sided RDMA READ/WRITE.\n"
	"\n"
	"  -l, --listen ADDR            address of the RDMA device to serve on (required)\n"
	"  -p, --port N                 rdma_cm port (default 18515; 0 picks a free one)\n"
	"  -k, --key-file F             pre-shared key, a file of mode 0600 (or 0400)\n"
	"      --no-auth                accept clients without a key (logged as a warning)\n"
	"      --cluster-key-file F     key COPY presents to other daemons (default: --key-file)\n"
	"  -r, --region SPEC            serve a region; SPEC is one of\n"
	"                                 NAME:anon:SIZE[:ro|rw]    anonymous memory\n"
	"                                 NAME:huge:SIZE[:ro|rw]    huge pages (nr_hugepages)\n"
	"                                 NAME:file:PATH[:SIZE][:ro|rw]  a file, MAP_SHARED;\n"
	"                                 created or extended to SIZE when given\n"
	"  -c, --config FILE            read settings from FILE (see below)\n"
	"      --max-clients N          authenticated clients at once (default 64)\n"
	"      --max-grants-per-client N  grants one client may hold (default 64)\n"
	"      --max-jobs-per-client N  long requests (CHECKSUM, FLUSH, CREATE, DESTROY, COPY)\n"
	"                               one client may have running (default 4; more: BUSY)\n"
	"      --workers N              threads running long requests (default 4)\n"
	"      --auth-timeout T         close a connection not authenticated within T\n"
	"                               (default 5s; ms, s, m suffixes)\n"
	"      --max-pending N          connections authenticating at once (default 16);\n"
	"                               they never take a --max-clients slot\n"
	"      --max-pending-per-source N  of which from one address (default 8)\n"
	"      --max-per-source N       connections of any kind from one address (default 0:\n"
	"                               no limit)\n"
	"      --grant-mode auto|per-grant  auto (default): bind each grant's window on the\n"
	"                               region's registration when a startup self-test shows\n"
	"                               the device enforces window bounds, else register each\n"
	"                               grant's range; per-grant: always register the range\n"
	"      --keepalive T            probe a client nothing was heard from for T, and close\n"
	"                               its session if its side is gone (default 10s; 0: off)\n"
	"      --max-dynamic-memory SIZE  bytes CREATE may allocate in all (default 256MiB)\n"
	"      --allow-create           let clients CREATE and DESTROY anonymous regions\n"
	"  -v, --verbose                log debug detail (every grant, every event)\n"
	"  -q, --quiet                  log warnings and errors only\n"
	"      --syslog                 log to syslog instead of stderr\n"
	"      --pid-file F             write the process id to F\n"
	"      --ready-fd N             when serving, write \"ready PORT\\n\" to fd N and close "
	"it\n"
	"                               (otherwise \"rdmacpyd: ready\" is printed on stderr)\n"
	"  -h, --help                   this text\n"
	"\n"
	"SIZE is bytes, or with K/M/G/T or KiB/MiB/GiB/TiB (all powers of 1024). Rights default\n"
	"to rw. Options apply in order, so a flag after --config overrides the file.\n"
	"\n"
	"Config file: one setting per line, '#' starts a comment:\n"
	"  listen = ADDR              port = N                 key-file = F\n"
	"  no-auth = yes|no           max-clients = N          max-grants-per-client = N\n"
	"  max-jobs-per-client = N    workers = N              auth-timeout = T\n"
	"  max-pending = N            max-pending-per-source = N  max-per-source = N\n"
	"  grant-mode = auto|per-grant  keepalive = T\n"
	"  max-dynamic-memory = SIZE  allow-create = yes|no    log-level = debug|info|warn|error\n"
	"  syslog = yes|no            pid-file = F\n"
	"  region NAME anon SIZE [ro|rw]\n"
	"  region NAME huge SIZE [ro|rw]\n"
	"  region NAME file PATH [SIZE] [ro|rw]\n"
	"\n"
	"Signals: SIGTERM/SIGINT shut down gracefully (grants revoked, clients disconnected, file\n"
	"regions synced, exit 0); SIGHUP is logged and ignored (no reload).\n";

/* rcp_now_ms -- monotonic milliseconds */
uint64_t rcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* usage_error -- one line on stderr, then a pointer to --help */
static int usage_error(const char *msg)
{
	fprintf(stderr, "rdmacpyd: %s\nTry 'rdmacpyd --help'.\n", msg);
	return -EINVAL;
}

/* parse_args -- flags and config files into cfg, in order; 1 when --help/--version ran */
static int parse_args(struct rcp_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"port", required_argument, NULL, 'p'},
		{"key-file", required_argument, NULL, 'k'},
		{"no-auth", no_argument, NULL, OPT_NO_AUTH},
		{"cluster-key-file", required_argument, NULL, OPT_CLUSTER_KEY},
		{"region", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
		{"max-grants-per-client", required_argument, NULL, OPT_MAX_GRANTS},
		{"max-dynamic-memory", required_argument, NULL, OPT_MAX_DYNAMIC},
		{"max-jobs-per-client", required_argument, NULL, OPT_MAX_JOBS},
		{"workers", required_argument, NULL, OPT_WORKERS},
		{"auth-timeout", required_argument, NULL, OPT_AUTH_TIMEOUT},
		{"max-pending", required_argument, NULL, OPT_MAX_PENDING},
		{"max-pending-per-source", required_argument, NULL, OPT_MAX_PENDING_SOURCE},
		{"max-per-source", required_argument, NULL, OPT_MAX_PER_SOURCE},
		{"grant-mode", required_argument, NULL, OPT_GRANT_MODE},
		{"keepalive", required_argument, NULL, OPT_KEEPALIVE},
		{"allow-create", no_argument, NULL, OPT_ALLOW_CREATE},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"pid-file", required_argument, NULL, OPT_PID_FILE},
		{"ready-fd", required_argument, NULL, OPT_READY_FD},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct rcp_region_spec spec;
	char err[512];
	char line[PATH_MAX + 64];
	uint32_t u;
	int c;
	int ret;

	while ((c = getopt_long(argc, argv, "l:p:k:r:c:vqh", opts, NULL)) != -1) {
		ret = 0;
		err[0] = '\0';
		switch (c) {
		case 'l':
		case 'p':
		case 'k':
		case OPT_MAX_CLIENTS:
		case OPT_MAX_GRANTS:
		case OPT_MAX_DYNAMIC:
		case OPT_MAX_JOBS:
		case OPT_WORKERS:
		case OPT_AUTH_TIMEOUT:
		case OPT_MAX_PENDING:
		case OPT_MAX_PENDING_SOURCE:
		case OPT_MAX_PER_SOURCE:
		case OPT_GRANT_MODE:
		case OPT_KEEPALIVE:
		case OPT_PID_FILE: {
			/* the same code as the config file, so both spell settings alike: the
			 * long option's name is the config key */
			const char *key = NULL;
			size_t k;

			for (k = 0; opts[k].name; k++)
				if (opts[k].val == c)
					key = opts[k].name;
			snprintf(line, sizeof(line), "%s = %s", key, optarg);
			ret = rcp_config_parse_line(cfg, line, err, sizeof(err));
			break;
		}
		case OPT_NO_AUTH:
			cfg->no_auth = true;
			break;
		case OPT_CLUSTER_KEY:
			if (snprintf(cfg->cluster_key_file, sizeof(cfg->cluster_key_file), "%s",
				     optarg) >= (int)sizeof(cfg->cluster_key_file))
				snprintf(err, sizeof(err), "--cluster-key-file: path too long");
			ret = err[0] ? -ENAMETOOLONG : 0;
			break;
		case OPT_ALLOW_CREATE:
			cfg->allow_create = true;
			break;
		case OPT_SYSLOG:
			cfg->syslog = true;
			break;
		case 'r':
			ret = rcp_parse_region_spec(optarg, &spec, err, sizeof(err));
			if (!ret) {
				ret = rcp_config_add_region(cfg, &spec);
				if (ret == -EEXIST)
					snprintf(err, sizeof(err), "region %s given twice",
						 spec.name);
			}
			break;
		case 'c':
			ret = rcp_config_load(cfg, optarg, err, sizeof(err));
			break;
		case 'v':
			cfg->log_level = RCP_LOG_DEBUG;
			break;
		case 'q':
			cfg->log_level = RCP_LOG_WARN;
			break;
		case OPT_READY_FD:
			ret = rcp_parse_u32(optarg, 0, 65535, &u);
			if (ret)
				snprintf(err, sizeof(err), "--ready-fd: bad descriptor '%s'",
					 optarg);
			else
				cfg->ready_fd = (int)u;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case OPT_VERSION:
			printf("rdmacpyd protocol %d\n", RCP_PROTO_VERSION);
			return 1;
		default:
			return usage_error("bad option");
		}
		if (ret)
			return usage_error(err[0] ? err : strerror(-ret));
	}
	if (optind < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[optind]);
		return usage_error(err);
	}
	if (!cfg->listen[0])
		return usage_error("--listen ADDR is required: the address picks the device");
	if (cfg->no_auth && cfg->key_file[0])
		return usage_error("--key-file and --no-auth exclude each other");
	if (!cfg->no_auth && !cfg->key_file[0])
		return usage_error("give --key-file F, or --no-auth to run without keys");
	return 0;
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
		rcp_warn(&srv->log, "SIGHUP: configuration reload is not supported; restart "
				    "rdmacpyd to apply changes (still running)");
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
	char msg[32];
	int n;

	rcp_info(&srv->log, "ready: %s, %zu region%s, %s, grants as %s", srv->listen_str,
		 srv->nregions, srv->nregions == 1 ? "" : "s",
		 srv->cfg.no_auth ? "NO authentication" : "key authentication",
		 !srv->use_mw	     ? "region MR rkeys (no MW support)"
		 : srv->mr_per_grant ? "type-2 memory windows, an MR per grant"
				     : "type-2 memory windows on the region MR");
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

/* choose_grant_mode -- where grants' windows are bound: asked of the device itself */
static void choose_grant_mode(struct rcp_server *srv)
{
	enum rcp_mw_bounds b;
	char why[256];

	srv->mr_per_grant = true;
	if (!srv->use_mw)
		return;
	if (srv->cfg.grant_mode == RCP_GRANT_MODE_PER_GRANT) {
		rcp_info(&srv->log, "grants: a window on an MR of each grant's range (--grant-mode "
				    "per-grant)");
		return;
	}
	b = rcp_mw_probe(srv, why, sizeof(why));
	srv->mr_per_grant = b != RCP_MW_BOUNDS_ENFORCED;
	if (srv->mr_per_grant)
		rcp_info(&srv->log,
			 "grants: a window on an MR of each grant's range: the device's window "
			 "bounds are %s (self-test: %s)",
			 rcp_mw_bounds_str(b), why);
	else
		rcp_info(&srv->log,
			 "grants: windows bound on the region's MR, no registration per grant: "
			 "the device enforces window bounds (self-test: %s)",
			 why);
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
	ret = rcp_vb_query_caps(srv->ctx, srv->listen_id->port_num ? srv->listen_id->port_num : 1,
				&srv->caps);
	if (ret) {
		rcp_err(&srv->log, "querying the device: %s", strerror(-ret));
		return ret;
	}
	srv->use_mw = srv->caps.mw_type2;
	if (!srv->use_mw)
		rcp_warn(&srv->log,
			 "device has no type-2 memory windows: grants use the region "
			 "MR's rkey, which any connected client could use on the whole region");
	rcp_dbg(&srv->log, "device: max_qp_rd_atom %u, max_mw %u, max_mr_size %llu",
		srv->caps.max_qp_rd_atom, srv->caps.max_mw,
		(unsigned long long)srv->caps.max_mr_size);
	ret = rcp_vb_alloc_pd(srv->ctx, &srv->pd);
	if (ret) {
		rcp_err(&srv->log, "allocating a protection domain: %s", strerror(-ret));
		return ret;
	}
	choose_grant_mode(srv);
	ret = load_regions(srv);
	if (ret)
		return ret;
	return write_pid_file(srv);
}

/* server_stop -- free everything server_start built, sessions first, in reverse order */
static void server_stop(struct rcp_server *srv)
{
	struct rcp_session *s;
	int ret;

	while ((s = LIST_FIRST(&srv->sessions)))
		rcp_session_delete(&s);
	/* copies and long requests read the regions: they end before the regions go */
	rcp_copy_stop_all(srv);
	rcp_workers_delete(&srv->workers);
	rcp_keepalive_stop(srv);
	rcp_listener_stop(srv);
	while (srv->nregions) {
		struct rcp_region *r = srv->regions[srv->nregions - 1];

		srv->nregions--;
		rcp_region_delete(srv, &r);
	}
	free(srv->regions);
	srv->regions = NULL;
	ret = rcp_vb_dealloc_pd(&srv->pd);
	if (ret)
		rcp_err(&srv->log, "freeing the protection domain: %s", strerror(-ret));
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
	rcp_config_init(&srv.cfg);
	ret = parse_args(&srv.cfg, argc, argv);
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
