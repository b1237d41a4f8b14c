/* SPDX-License-Identifier: BSD-3-Clause */
/* options.c -- rdmacpyd's command line: flags and config files into a struct rcp_config */
#include "server/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

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
	OPT_METRICS,
	OPT_DIRECTORY,
	OPT_CLUSTER,
	OPT_NODE,
	OPT_DIRECTORY_TTL,
	OPT_DIRECTORY_CA,
	OPT_DIRECTORY_CERT,
	OPT_DIRECTORY_KEY,
	OPT_DIRECTORY_USER,
	OPT_DIRECTORY_PASSWORD_FILE,
};

static const char usage_text[] =
	"usage: rdmacpyd --listen ADDR [options]\n"
	"Serve named memory regions over RDMA: clients get windows (grants) onto them and move\n"
	"the bytes with one-sided RDMA READ/WRITE.\n"
	"\n"
	"  -l, --listen ADDR            address of the RDMA device to serve on (required);\n"
	"                               repeat it for every RDMA port to serve (rails)\n"
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
	"      --metrics [ADDR:]PORT    serve /metrics (Prometheus) and /health over HTTP on\n"
	"                               ADDR:PORT (a port alone: 127.0.0.1); off by default\n"
	"      --directory etcd://HOST:PORT[,HOST:PORT...]  publish this node and its regions\n"
	"                               in the cluster directory on etcd (etcds:// for TLS),\n"
	"                               under a lease that goes with the daemon\n"
	"      --cluster NAME --node NAME  where in the directory (default: default, and the\n"
	"                               host name)\n"
	"      --directory-ttl T        the lease's time to live (default 10s)\n"
	"      --directory-ca F --directory-cert F --directory-key F  TLS to etcd\n"
	"      --directory-user NAME --directory-password-file F  etcd's authentication\n"
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
	"  grant-mode = auto|per-grant  keepalive = T          metrics = [ADDR:]PORT\n"
	"  directory = URL  cluster = NAME  node = NAME  directory-ttl = T  directory-ca = F\n"
	"  directory-cert = F  directory-key = F  directory-user = NAME\n"
	"  directory-password-file = F\n"
	"  max-dynamic-memory = SIZE  allow-create = yes|no    log-level = debug|info|warn|error\n"
	"  syslog = yes|no            pid-file = F\n"
	"  region NAME anon SIZE [ro|rw]\n"
	"  region NAME huge SIZE [ro|rw]\n"
	"  region NAME file PATH [SIZE] [ro|rw]\n"
	"\n"
	"Signals: SIGTERM/SIGINT shut down gracefully (grants revoked, clients disconnected, file\n"
	"regions synced, exit 0); SIGHUP reads the configuration again and applies it (regions\n"
	"added and removed, limits and key) without dropping clients, or refuses it as a whole.\n";

/* usage_error -- one line on stderr, then a pointer to --help */
static int usage_error(const char *msg)
{
	fprintf(stderr, "rdmacpyd: %s\nTry 'rdmacpyd --help'.\n", msg);
	return -EINVAL;
}

/* rcp_options_parse -- flags and config files into cfg, in order */
int rcp_options_parse(struct rcp_config *cfg, int argc, char **argv)
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
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"directory", required_argument, NULL, OPT_DIRECTORY},
		{"cluster", required_argument, NULL, OPT_CLUSTER},
		{"node", required_argument, NULL, OPT_NODE},
		{"directory-ttl", required_argument, NULL, OPT_DIRECTORY_TTL},
		{"directory-ca", required_argument, NULL, OPT_DIRECTORY_CA},
		{"directory-cert", required_argument, NULL, OPT_DIRECTORY_CERT},
		{"directory-key", required_argument, NULL, OPT_DIRECTORY_KEY},
		{"directory-user", required_argument, NULL, OPT_DIRECTORY_USER},
		{"directory-password-file", required_argument, NULL, OPT_DIRECTORY_PASSWORD_FILE},
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
		case OPT_METRICS:
		case OPT_DIRECTORY:
		case OPT_CLUSTER:
		case OPT_NODE:
		case OPT_DIRECTORY_TTL:
		case OPT_DIRECTORY_CA:
		case OPT_DIRECTORY_CERT:
		case OPT_DIRECTORY_KEY:
		case OPT_DIRECTORY_USER:
		case OPT_DIRECTORY_PASSWORD_FILE:
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
	if (!cfg->nlisten)
		return usage_error("--listen ADDR is required: the address picks the device");
	if (cfg->no_auth && cfg->key_file[0])
		return usage_error("--key-file and --no-auth exclude each other");
	if (!cfg->no_auth && !cfg->key_file[0])
		return usage_error("give --key-file F, or --no-auth to run without keys");
	return 0;
}
