/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c -- the rdmacpy command: options, subcommands, help */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/affinity.h"
#include "client/cli/cli.h"
#include "common/size.h"

struct command {
	const char *name;
	int (*run)(const struct cli_opts *o, int argc, char **argv);
	const char *usage;
	const char *help;
};

static const char common_help[] =
	"Connection options (every subcommand):\n"
	"  -p, --port N          daemon port (default 18515, or RDMACPY_PORT)\n"
	"  -k, --key-file F      pre-shared key, mode 0600 (or RDMACPY_KEY_FILE)\n"
	"  -d, --device DEV[:PORT]  connect from this local RDMA device (and port); fails if\n"
	"                        the daemon cannot be reached from it\n"
	"      --directory URL   the cluster directory, etcd://HOST:PORT[,...] (or\n"
	"                        RDMACPY_DIRECTORY): then REGION or NODE/REGION may stand\n"
	"                        for HOST:REGION, and `ls` alone lists the cluster. TLS and\n"
	"                        etcd's login come from RDMACPY_DIRECTORY_CA, _CERT, _KEY,\n"
	"                        _USER and _PASSWORD\n"
	"      --cluster NAME    the cluster in the directory (default: default)\n"
	"      --timeout MS      bound on every wait (default 10000)\n"
	"      --reconnect MS    a connection that breaks (daemon restarted, link down)\n"
	"                        connects again for up to MS and re-runs what it\n"
	"                        interrupted; exit 9 if the region was recreated meanwhile\n"
	"      --rails N|all     spread transfers over up to N of the daemon's addresses\n"
	"                        (one per RDMA port; each from the local port its route\n"
	"                        leaves through); a rail that fails hands its work to the\n"
	"                        others and rejoins when it can (default 1)\n"
	"  -q, --quiet           no progress or summary\n"
	"      --json            a JSON result on stdout\n"
	"Sizes take K/M/G/T or KiB/MiB/GiB/TiB (powers of 1024).\n";

static const char xfer_help[] =
	"Transfer options:\n"
	"      --verify          compare the daemon's checksum of the range "
	"with the local bytes\n"
	"      --chunk SIZE      bytes per pipelined chunk (default 1M)\n"
	"      --qd N            chunks in flight (default 8)\n"
	"      --qps N           queue pairs to stripe over (default 1)\n"
	"      --mode M          completion moderation: poll, event, moderated, "
	"adaptive\n"
	"      --cpu N           keep the transfer on CPU N and the file I/O off it\n"
	"                        (soft-RoCE does its protocol work on the posting CPU)\n";

static const struct command commands[] = {
	{"put", cli_cmd_put, "put FILE HOST:REGION[@OFFSET]",
	 "Write FILE (or - for stdin) into REGION on HOST at OFFSET (default 0).\n"
	 "The file streams: reading it overlaps the RDMA writes. A file-backed region is\n"
	 "synced (flushed) before put returns.\n"
	 "When the length is known first (a file, or --size for a stream), a put that does\n"
	 "not fit is refused before any byte moves. A stream of unknown length that turns\n"
	 "out longer than the room from OFFSET fails once the room is full, and the error\n"
	 "names the exact bytes of the region that were overwritten.\n"
	 "      --size N          the stream's length: refused at once if it does not fit,\n"
	 "                        and an input of another length is an error\n"},
	{"get", cli_cmd_get, "get HOST:REGION[@OFFSET][+LENGTH] FILE",
	 "Read LENGTH bytes (default: to the end of the region) from REGION on HOST into FILE\n"
	 "(or - for stdout). FILE is replaced only when the whole range arrived.\n"},
	{"cp", cli_cmd_cp, "cp SRC_HOST:REGION[@OFFSET][+LENGTH] DST_HOST:REGION[@OFFSET]",
	 "Third-party copy: the source daemon writes into the destination daemon's region;\n"
	 "the data does not pass through this machine. Only SRC_HOST is contacted (and\n"
	 "DST_HOST for --verify); LENGTH defaults to the rest of the source region.\n"
	 "      --dst-port N      the destination daemon's port (default: --port)\n"},
	{"ls", cli_cmd_ls, "ls [HOST]",
	 "List the regions HOST serves: name, size, rights, kind, and the addresses it\n"
	 "serves them on (one per RDMA port). Without HOST, with\n"
	 "--directory: every node of the cluster, its addresses, its lease, its regions.\n"},
	{"mk", cli_cmd_mk, "mk HOST:NAME SIZE",
	 "Create an anonymous region NAME of SIZE bytes (rounded up to pages) on a daemon run\n"
	 "with --allow-create. It lives until `rdmacpy rm` or the daemon stops.\n"
	 "      --read-only       clients may only read it\n"},
	{"rm", cli_cmd_rm, "rm HOST:NAME",
	 "Remove a region made with `rdmacpy mk`. Refused while grants or copies use it.\n"},
	{"stat", cli_cmd_stat, "stat HOST", "Show the daemon's counters.\n"},
	{"bench", cli_cmd_bench, "bench HOST:REGION",
	 "Measure bandwidth (or --latency) against REGION, perftest-style.\n"
	 "      --read | --write  direction (default write)\n"
	 "      --size LIST       sizes, comma separated (default 64,4K,64K,1M,8M)\n"
	 "      --iters N         operations per size (default: run for --duration)\n"
	 "      --duration S      seconds per size (default 2)\n"
	 "      --latency         one operation at a time: median and p99 latency\n"
	 "      --count N         moderated: signal one WR in N\n"
	 "      --period US       moderated: longest a completion waits to be seen\n"
	 "      --sges N          each operation from N separate local pieces (writev/readv)\n"
	 "      --separate        with --sges: the N pieces as N operations\n"
	 "      --span BYTES      cycle over BYTES of REGION and of local memory, as a large\n"
	 "                        file's transfer does (default: size x qd, the same memory)\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* usage -- the overview, or one subcommand's help */
static void usage(FILE *out, const struct command *cmd)
{
	if (cmd) {
		fprintf(out, "usage: rdmacpy %s [options]\n\n%s\n", cmd->usage, cmd->help);
		if (cmd->run == cli_cmd_put || cmd->run == cli_cmd_get || cmd->run == cli_cmd_cp)
			fprintf(out, "%s\n", xfer_help);
		fputs(common_help, out);
		return;
	}
	fputs("usage: rdmacpy COMMAND [options] ARGS\n\ncommands:\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  rdmacpy %s\n", commands[i].usage);
	fputs("\n`rdmacpy COMMAND --help` describes one command.\n\n", out);
	fputs(common_help, out);
	fputs("\nExit codes: 0 ok, 1 other failure, 2 usage, 3 connection, 4 authentication,\n"
	      "5 refused by the daemon (region, rights, range, limit), 6 verification mismatch,\n"
	      "7 local file I/O, 8 transfer failed on the wire (timeout, retries, broken link),\n"
	      "9 --reconnect found the region recreated by the daemon (its bytes are gone).\n",
	      out);
}

/* parse_mode -- moderation mode by name */
static int parse_mode(const char *s, enum rdmacpy_moderation *m)
{
	static const char *const names[] = {"poll", "event", "moderated", "adaptive"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum rdmacpy_moderation)i;
			return 0;
		}
	return -EINVAL;
}

/* parse_u32 -- a positive count */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (rcp_size_parse(s, &v) || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* parse_cpu -- a CPU number in this process's affinity mask */
static int parse_cpu(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v >= CPU_SETSIZE || !cli_cpu_usable((int)v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* parse_device -- "mlx5_0" or "mlx5_0:1" */
static int parse_device(char *s, struct cli_opts *o)
{
	char *colon = strrchr(s, ':');
	uint32_t port = 0;

	if (colon) {
		if (parse_u32(colon + 1, &port) || port > 255)
			return -EINVAL;
		*colon = '\0';
	}
	if (!s[0] || strlen(s) >= 64)
		return -EINVAL;
	o->device = s;
	o->device_port = (uint8_t)port;
	return 0;
}

/* parse_sizes -- "64,4K,1M" */
static int parse_sizes(const char *s, struct cli_opts *o)
{
	char buf[256];
	char *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->nsizes = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == sizeof(o->sizes) / sizeof(o->sizes[0]) ||
		    rcp_size_parse(t, &o->sizes[o->nsizes]) || o->sizes[o->nsizes] == 0)
			return -EINVAL;
		o->nsizes++;
	}
	return o->nsizes ? 0 : -EINVAL;
}

enum {
	OPT_JSON = 256,
	OPT_VERIFY,
	OPT_TIMEOUT,
	OPT_QD,
	OPT_QPS,
	OPT_MODE,
	OPT_COUNT,
	OPT_PERIOD,
	OPT_CHUNK,
	OPT_READ,
	OPT_WRITE,
	OPT_SIZE,
	OPT_ITERS,
	OPT_DURATION,
	OPT_LATENCY,
	OPT_SGES,
	OPT_SEPARATE,
	OPT_SPAN,
	OPT_DST_PORT,
	OPT_CPU,
	OPT_READ_ONLY,
	OPT_DIRECTORY,
	OPT_CLUSTER,
	OPT_RECONNECT,
	OPT_RAILS,
};

static const struct option long_opts[] = {
	{"port", required_argument, NULL, 'p'},
	{"key-file", required_argument, NULL, 'k'},
	{"device", required_argument, NULL, 'd'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"json", no_argument, NULL, OPT_JSON},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"reconnect", required_argument, NULL, OPT_RECONNECT},
	{"rails", required_argument, NULL, OPT_RAILS},
	{"qd", required_argument, NULL, OPT_QD},
	{"qps", required_argument, NULL, OPT_QPS},
	{"mode", required_argument, NULL, OPT_MODE},
	{"count", required_argument, NULL, OPT_COUNT},
	{"period", required_argument, NULL, OPT_PERIOD},
	{"chunk", required_argument, NULL, OPT_CHUNK},
	{"read", no_argument, NULL, OPT_READ},
	{"write", no_argument, NULL, OPT_WRITE},
	{"size", required_argument, NULL, OPT_SIZE},
	{"iters", required_argument, NULL, OPT_ITERS},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"latency", no_argument, NULL, OPT_LATENCY},
	{"sges", required_argument, NULL, OPT_SGES},
	{"separate", no_argument, NULL, OPT_SEPARATE},
	{"span", required_argument, NULL, OPT_SPAN},
	{"dst-port", required_argument, NULL, OPT_DST_PORT},
	{"cpu", required_argument, NULL, OPT_CPU},
	{"read-only", no_argument, NULL, OPT_READ_ONLY},
	{"directory", required_argument, NULL, OPT_DIRECTORY},
	{"cluster", required_argument, NULL, OPT_CLUSTER},
	{NULL, 0, NULL, 0},
};

/* defaults -- options before the command line, with the environment applied */
static int defaults(struct cli_opts *o)
{
	const char *port = getenv("RDMACPY_PORT");

	memset(o, 0, sizeof(*o));
	o->port = CLI_DEFAULT_PORT;
	o->moderation = RDMACPY_MOD_MODERATED;
	o->cpu = -1;
	o->key_file = getenv("RDMACPY_KEY_FILE");
	o->directory = getenv("RDMACPY_DIRECTORY");
	o->cluster = getenv("RDMACPY_CLUSTER");
	if (port) {
		uint32_t v;

		if (parse_u32(port, &v) || v > 65535) {
			cli_error("RDMACPY_PORT='%s' is not a port number", port);
			return -EINVAL;
		}
		o->port = (uint16_t)v;
	}
	return 0;
}

/* bad -- complain about an option value */
static int bad(const char *opt, const char *val, const char *want)
{
	cli_error("--%s '%s': %s", opt, val, want);
	return CLI_EXIT_USAGE;
}

/* parse -- fill o from argv[optind..]; positional arguments are gathered in pos */
static int parse(int argc, char **argv, struct cli_opts *o, const struct command *cmd, char **pos,
		 int *npos)
{
	uint32_t v;
	uint64_t big;
	int c;

	*npos = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "-p:k:d:qvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (*npos == 8)
				return bad("arguments", optarg, "too many arguments");
			pos[(*npos)++] = optarg;
			break;
		case 'p':
			if (parse_u32(optarg, &v) || v > 65535)
				return bad("port", optarg, "a port number 1..65535");
			o->port = (uint16_t)v;
			break;
		case OPT_DST_PORT:
			if (parse_u32(optarg, &v) || v > 65535)
				return bad("dst-port", optarg, "a port number 1..65535");
			o->dst_port = (uint16_t)v;
			break;
		case 'k':
			o->key_file = optarg;
			break;
		case 'd':
			if (parse_device(optarg, o))
				return bad("device", optarg, "DEV or DEV:PORT (see ibv_devices)");
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			break;
		case OPT_DIRECTORY:
			o->directory = optarg;
			break;
		case OPT_CLUSTER:
			o->cluster = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout, cmd);
			exit(0);
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_VERIFY:
			o->verify = true;
			break;
		case OPT_TIMEOUT:
			if (parse_u32(optarg, &v) || v > INT32_MAX)
				return bad("timeout", optarg, "milliseconds > 0");
			o->timeout_ms = (int)v;
			break;
		case OPT_RECONNECT:
			if (parse_u32(optarg, &o->reconnect_ms) || !o->reconnect_ms ||
			    o->reconnect_ms > 3600000)
				return bad("reconnect", optarg, "milliseconds, 1..3600000");
			break;
		case OPT_RAILS:
			if (!strcmp(optarg, "all"))
				o->rails = RDMACPY_RAILS_ALL;
			else if (parse_u32(optarg, &o->rails) || !o->rails ||
				 o->rails > RDMACPY_MAX_RAILS)
				return bad("rails", optarg, "1..8 or all");
			break;
		case OPT_QD:
			if (parse_u32(optarg, &o->queue_depth) || o->queue_depth > 4096)
				return bad("qd", optarg, "1..4096");
			break;
		case OPT_QPS:
			if (parse_u32(optarg, &o->nqp) || o->nqp > RDMACPY_MAX_QP)
				return bad("qps", optarg, "1..16");
			break;
		case OPT_MODE:
			if (parse_mode(optarg, &o->moderation))
				return bad("mode", optarg, "poll, event, moderated or adaptive");
			break;
		case OPT_COUNT:
			if (parse_u32(optarg, &o->mod_count))
				return bad("count", optarg, "a count > 0");
			break;
		case OPT_PERIOD:
			if (parse_u32(optarg, &o->mod_period_us))
				return bad("period", optarg, "microseconds > 0");
			break;
		case OPT_CHUNK:
			if (rcp_size_parse(optarg, &big) || big < 4096 || big > (1u << 30))
				return bad("chunk", optarg, "4K..1G");
			o->chunk = big;
			break;
		case OPT_READ:
			o->bench_read = true;
			break;
		case OPT_WRITE:
			o->bench_read = false;
			break;
		case OPT_SIZE:
			if (parse_sizes(optarg, o))
				return bad("size", optarg,
					   "sizes > 0, comma separated (at most 16)");
			break;
		case OPT_ITERS:
			if (rcp_size_parse(optarg, &o->iters) || o->iters == 0)
				return bad("iters", optarg, "a count > 0");
			break;
		case OPT_DURATION:
			o->duration_s = strtod(optarg, NULL);
			if (o->duration_s <= 0 || o->duration_s > 3600)
				return bad("duration", optarg, "seconds, 0 < S <= 3600");
			break;
		case OPT_LATENCY:
			o->latency = true;
			break;
		case OPT_SGES:
			if (parse_u32(optarg, &o->sges) || o->sges > 1024)
				return bad("sges", optarg, "a count, 1 .. 1024");
			break;
		case OPT_SEPARATE:
			o->separate = true;
			break;
		case OPT_SPAN:
			if (rcp_size_parse(optarg, &o->span) || o->span == 0)
				return bad("span", optarg, "bytes > 0 (K, M, G suffixes)");
			break;
		case OPT_CPU:
			if (parse_cpu(optarg, &o->cpu))
				return bad("cpu", optarg,
					   "a CPU number this process may run on (see nproc, "
					   "taskset)");
			break;
		default:
			fprintf(stderr, "(rdmacpy %s --help lists the options)\n",
				cmd ? cmd->name : "");
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct cli_opts o;
	char *pos[8];
	int npos;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		cli_error("unknown command '%s' (try rdmacpy --help)", argv[1]);
		return CLI_EXIT_USAGE;
	}
	if (defaults(&o))
		return CLI_EXIT_USAGE;
	rc = parse(argc - 1, argv + 1, &o, cmd, pos, &npos);
	if (rc)
		return rc;
	return cmd->run(&o, npos, pos);
}
