/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c -- rdmacpyd settings: size and region-spec parsing, the key = value config file */
#include "server/config.h"

#include "common/directory.h"
#include "common/duration.h"
#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

#define LINE_MAX_LEN 4096
#define MAX_FIELDS   8

/* set_err -- format a message for the operator into err, if the caller gave room for one */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* rcp_config_init -- defaults: port 18515, auth required, no regions, info logging */
void rcp_config_init(struct rcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = RCP_DEFAULT_PORT;
	cfg->max_clients = RCP_DEFAULT_MAX_CLIENTS;
	cfg->max_grants_per_client = RCP_DEFAULT_MAX_GRANTS_PER_CLIENT;
	cfg->max_jobs_per_client = RCP_DEFAULT_MAX_JOBS_PER_CLIENT;
	cfg->workers = RCP_DEFAULT_WORKERS;
	cfg->auth_timeout_ms = RCP_DEFAULT_AUTH_TIMEOUT_MS;
	cfg->max_pending = RCP_DEFAULT_MAX_PENDING;
	cfg->max_pending_per_source = RCP_DEFAULT_MAX_PENDING_PER_SOURCE;
	cfg->keepalive_ms = RCP_DEFAULT_KEEPALIVE_MS;
	cfg->directory_ttl_s = 10;
	snprintf(cfg->cluster, sizeof(cfg->cluster), "default");
	cfg->max_dynamic = RCP_DEFAULT_MAX_DYNAMIC;
	cfg->log_level = RCP_LOG_INFO;
	cfg->ready_fd = -1;
}

/* rcp_config_fini -- free the region list; the struct may be initialised again */
void rcp_config_fini(struct rcp_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->regions);
	cfg->regions = NULL;
	cfg->nregions = 0;
}

/* rcp_parse_u32 -- a decimal count in [min, max] */
int rcp_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* rcp_parse_bool -- the usual spellings of yes and no */
int rcp_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; s && i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* rcp_region_name_valid -- what the wire allows, minus ':' which the --region form splits on */
bool rcp_region_name_valid(const char *name)
{
	size_t n = strnlen(name, RCP_NAME_MAX);
	size_t i;

	if (n == 0 || n >= RCP_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x21 || c > 0x7e || c == ':')
			return false;
	}
	return true;
}

/* parse_rights -- "ro" or "rw" */
static int parse_rights(const char *s, enum rcp_rights *out)
{
	if (!strcmp(s, "ro")) {
		*out = RCP_RIGHTS_RO;
		return 0;
	}
	if (!strcmp(s, "rw")) {
		*out = RCP_RIGHTS_RW;
		return 0;
	}
	return -EINVAL;
}

/* parse_kind -- "anon", "huge" or "file" */
static int parse_kind(const char *s, enum rcp_region_kind *out)
{
	if (!strcmp(s, "anon"))
		*out = RCP_KIND_ANON;
	else if (!strcmp(s, "huge"))
		*out = RCP_KIND_HUGE;
	else if (!strcmp(s, "file"))
		*out = RCP_KIND_FILE;
	else
		return -EINVAL;
	return 0;
}

/*
 * fill_spec -- build a spec from its parts: name, kind, then the rest (SIZE or PATH [SIZE]),
 * rights optional last. Shared by the --region form and the config file's region lines.
 */
static int fill_spec(char **f, size_t n, struct rcp_region_spec *out, char *err, size_t errlen)
{
	uint64_t size = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	out->rights = RCP_RIGHTS_RW;
	if (n < 3) {
		set_err(err, errlen, "region needs at least NAME, KIND and a SIZE or PATH");
		return -EINVAL;
	}
	if (!rcp_region_name_valid(f[0])) {
		set_err(err, errlen, "bad region name '%s' (1..%d printable characters, no ':')",
			f[0], RCP_NAME_MAX - 1);
		return -EINVAL;
	}
	strcpy(out->name, f[0]);
	if (parse_kind(f[1], &out->kind)) {
		set_err(err, errlen, "region %s: unknown kind '%s' (anon, huge or file)", f[0],
			f[1]);
		return -EINVAL;
	}
	if (n > 3 && parse_rights(f[n - 1], &out->rights) == 0)
		n--;
	if (out->kind != RCP_KIND_FILE) {
		if (n != 3) {
			set_err(err, errlen, "region %s: expected SIZE [ro|rw] after the kind",
				f[0]);
			return -EINVAL;
		}
		ret = rcp_size_parse(f[2], &size);
		if (ret || size == 0) {
			set_err(err, errlen, "region %s: bad size '%s'", f[0], f[2]);
			return -EINVAL;
		}
		out->size = size;
		return 0;
	}
	if (n > 4) {
		set_err(err, errlen, "region %s: expected PATH [SIZE] [ro|rw]", f[0]);
		return -EINVAL;
	}
	if (n == 4) {
		ret = rcp_size_parse(f[3], &size);
		if (ret || size == 0) {
			set_err(err, errlen, "region %s: bad size '%s'", f[0], f[3]);
			return -EINVAL;
		}
		out->size = size;
	}
	if (!f[2][0] || strlen(f[2]) >= sizeof(out->path)) {
		set_err(err, errlen, "region %s: bad path", f[0]);
		return -EINVAL;
	}
	strcpy(out->path, f[2]);
	return 0;
}

/* rcp_parse_region_spec -- NAME:KIND:... with rights and size taken from the right end */
int rcp_parse_region_spec(const char *spec, struct rcp_region_spec *out, char *err, size_t errlen)
{
	char buf[PATH_MAX + 2 * RCP_NAME_MAX];
	char *f[MAX_FIELDS];
	char *p;
	char *last;
	char *prev;
	size_t n = 0;

	if (!spec || strlen(spec) >= sizeof(buf)) {
		set_err(err, errlen, "region spec too long");
		return -EINVAL;
	}
	strcpy(buf, spec);
	/* NAME and KIND are the first two fields; the rest is split from the right so that a
	 * path keeps its own colons */
	f[n++] = buf;
	p = strchr(buf, ':');
	if (!p)
		goto bad;
	*p++ = '\0';
	f[n++] = p;
	p = strchr(p, ':');
	if (!p)
		goto bad;
	*p++ = '\0';
	f[n++] = p;
	if (strcmp(f[1], "file"))
		goto split_all;
	/* file: PATH[:SIZE][:ro|rw] -- peel rights, then size, off the end */
	last = strrchr(p, ':');
	if (last && (!strcmp(last + 1, "ro") || !strcmp(last + 1, "rw"))) {
		*last = '\0';
		prev = strrchr(p, ':');
		if (prev && rcp_size_parse(prev + 1, &(uint64_t){0}) == 0) {
			*prev = '\0';
			f[n++] = prev + 1;
		}
		f[n++] = last + 1;
	} else if (last && rcp_size_parse(last + 1, &(uint64_t){0}) == 0) {
		*last = '\0';
		f[n++] = last + 1;
	}
	return fill_spec(f, n, out, err, errlen);
split_all:
	while ((p = strchr(p, ':')) && n < MAX_FIELDS) {
		*p++ = '\0';
		f[n++] = p;
	}
	if (p)
		goto bad;
	return fill_spec(f, n, out, err, errlen);
bad:
	set_err(err, errlen,
		"bad region spec '%s' (NAME:anon:SIZE[:ro|rw], NAME:huge:SIZE[:ro|rw] or "
		"NAME:file:PATH[:SIZE][:ro|rw])",
		spec);
	return -EINVAL;
}

/* rcp_config_add_region -- append a region spec, refusing a name used twice */
int rcp_config_add_region(struct rcp_config *cfg, const struct rcp_region_spec *spec)
{
	struct rcp_region_spec *r;
	size_t i;

	for (i = 0; i < cfg->nregions; i++)
		if (!strcmp(cfg->regions[i].name, spec->name))
			return -EEXIST;
	r = realloc(cfg->regions, (cfg->nregions + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	cfg->regions = r;
	cfg->regions[cfg->nregions++] = *spec;
	return 0;
}

/* trim -- strip leading and trailing white space in place */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* parse_region_line -- "region NAME KIND ..." split on white space */
static int parse_region_line(struct rcp_config *cfg, char *rest, char *err, size_t errlen)
{
	struct rcp_region_spec spec;
	char *f[MAX_FIELDS];
	char *save = NULL;
	char *tok;
	size_t n = 0;
	int ret;

	for (tok = strtok_r(rest, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_FIELDS) {
			set_err(err, errlen, "too many fields on a region line");
			return -EINVAL;
		}
		f[n++] = tok;
	}
	ret = fill_spec(f, n, &spec, err, errlen);
	if (ret)
		return ret;
	ret = rcp_config_add_region(cfg, &spec);
	if (ret == -EEXIST)
		set_err(err, errlen, "region %s defined twice", spec.name);
	return ret;
}

/* rcp_parse_addr_port -- PORT (loopback), or ADDR:PORT */
int rcp_parse_addr_port(const char *spec, char *addr, size_t addr_cap, uint16_t *port)
{
	const char *colon = strrchr(spec, ':');
	const char *p = colon ? colon + 1 : spec;
	size_t alen = colon ? (size_t)(colon - spec) : 0;
	char *end;
	unsigned long v;

	if (!*p)
		return -EINVAL;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	if (!colon) {
		/* a port alone: loopback only, the safe default */
		snprintf(addr, addr_cap, "127.0.0.1");
	} else {
		if (alen >= 2 && spec[0] == '[' && spec[alen - 1] == ']') {
			spec++;
			alen -= 2;
		}
		if (!alen || alen >= addr_cap)
			return -EINVAL;
		memcpy(addr, spec, alen);
		addr[alen] = '\0';
	}
	*port = (uint16_t)v;
	return 0;
}

/* set_string -- copy a value into a fixed buffer, refusing what does not fit */
static int set_string(char *dst, size_t cap, const char *key, const char *val, char *err,
		      size_t errlen)
{
	if (!*val || strlen(val) >= cap) {
		set_err(err, errlen, "%s: value empty or too long", key);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

/* apply_key -- one "key = value" setting */
static int apply_key(struct rcp_config *cfg, const char *key, const char *val, char *err,
		     size_t errlen)
{
	uint32_t u = 0;
	int ret = 0;

	if (!strcmp(key, "listen")) {
		unsigned int i;

		/* repeated: every address is served, one per RDMA port (the rails) */
		for (i = 0; i < cfg->nlisten; i++) {
			if (!strcmp(cfg->listen[i], val)) {
				set_err(err, errlen, "listen: %s given twice", val);
				return -EINVAL;
			}
		}
		if (cfg->nlisten == RCP_MAX_LISTEN) {
			set_err(err, errlen, "listen: at most %d addresses", RCP_MAX_LISTEN);
			return -EINVAL;
		}
		if (set_string(cfg->listen[cfg->nlisten], RCP_HOSTNAME_MAX, key, val, err, errlen))
			return -EINVAL;
		cfg->nlisten++;
		return 0;
	}
	if (!strcmp(key, "key-file"))
		return set_string(cfg->key_file, sizeof(cfg->key_file), key, val, err, errlen);
	if (!strcmp(key, "metrics")) {
		char addr[RCP_HOSTNAME_MAX];
		uint16_t port;

		if (rcp_parse_addr_port(val, addr, sizeof(addr), &port)) {
			set_err(err, errlen, "metrics: '%s' is not PORT or ADDR:PORT", val);
			return -EINVAL;
		}
		return set_string(cfg->metrics, sizeof(cfg->metrics), key, val, err, errlen);
	}
	if (!strcmp(key, "directory")) {
		if (strncmp(val, "etcd://", 7) && strncmp(val, "etcds://", 8)) {
			set_err(err, errlen, "directory: '%s' is not etcd://HOST:PORT[,HOST:PORT...] "
					     "(or etcds://)",
				val);
			return -EINVAL;
		}
		return set_string(cfg->directory, sizeof(cfg->directory), key, val, err, errlen);
	}
	if (!strcmp(key, "cluster") || !strcmp(key, "node")) {
		char *dst = key[0] == 'c' ? cfg->cluster : cfg->node;

		if (!rcp_dir_name_ok(val)) {
			set_err(err, errlen, "%s: '%s' is not 1..63 of A-Z a-z 0-9 . _ -", key, val);
			return -EINVAL;
		}
		return set_string(dst, 64, key, val, err, errlen);
	}
	if (!strcmp(key, "directory-ca"))
		return set_string(cfg->directory_ca, sizeof(cfg->directory_ca), key, val, err,
				  errlen);
	if (!strcmp(key, "directory-cert"))
		return set_string(cfg->directory_cert, sizeof(cfg->directory_cert), key, val, err,
				  errlen);
	if (!strcmp(key, "directory-key"))
		return set_string(cfg->directory_key, sizeof(cfg->directory_key), key, val, err,
				  errlen);
	if (!strcmp(key, "directory-user"))
		return set_string(cfg->directory_user, sizeof(cfg->directory_user), key, val, err,
				  errlen);
	if (!strcmp(key, "directory-password-file"))
		return set_string(cfg->directory_password_file,
				  sizeof(cfg->directory_password_file), key, val, err, errlen);
	if (!strcmp(key, "pid-file"))
		return set_string(cfg->pid_file, sizeof(cfg->pid_file), key, val, err, errlen);
	if (!strcmp(key, "port")) {
		ret = rcp_parse_u32(val, 0, 65535, &u);
		cfg->port = (uint16_t)u;
	} else if (!strcmp(key, "no-auth")) {
		ret = rcp_parse_bool(val, &cfg->no_auth);
	} else if (!strcmp(key, "allow-create")) {
		ret = rcp_parse_bool(val, &cfg->allow_create);
	} else if (!strcmp(key, "syslog")) {
		ret = rcp_parse_bool(val, &cfg->syslog);
	} else if (!strcmp(key, "max-clients")) {
		ret = rcp_parse_u32(val, 1, 65536, &cfg->max_clients);
	} else if (!strcmp(key, "max-grants-per-client")) {
		ret = rcp_parse_u32(val, 1, 1u << 20, &cfg->max_grants_per_client);
	} else if (!strcmp(key, "max-jobs-per-client")) {
		/* a client has at most RCP_MAX_OUTSTANDING requests in flight anyway */
		ret = rcp_parse_u32(val, 1, RCP_MAX_OUTSTANDING, &cfg->max_jobs_per_client);
	} else if (!strcmp(key, "workers")) {
		ret = rcp_parse_u32(val, 1, 256, &cfg->workers);
	} else if (!strcmp(key, "auth-timeout")) {
		uint64_t ms = 0;

		ret = rcp_duration_parse(val, &ms);
		if (!ret && (ms < 100 || ms > 3600000))
			ret = -ERANGE;
		if (!ret)
			cfg->auth_timeout_ms = ms;
	} else if (!strcmp(key, "keepalive")) {
		uint64_t ms = 0;

		ret = rcp_duration_parse(val, &ms);
		if (!ret && ms && (ms < 200 || ms > 3600000))
			ret = -ERANGE;
		if (!ret)
			cfg->keepalive_ms = ms;
	} else if (!strcmp(key, "directory-ttl")) {
		uint64_t ms = 0;

		ret = rcp_duration_parse(val, &ms);
		if (!ret && (ms < 2000 || ms > 3600000))
			ret = -ERANGE;
		if (!ret)
			cfg->directory_ttl_s = (uint32_t)(ms / 1000);
	} else if (!strcmp(key, "max-pending")) {
		ret = rcp_parse_u32(val, 1, 65536, &cfg->max_pending);
	} else if (!strcmp(key, "max-pending-per-source")) {
		ret = rcp_parse_u32(val, 1, 65536, &cfg->max_pending_per_source);
	} else if (!strcmp(key, "grant-mode")) {
		if (!strcmp(val, "auto"))
			cfg->grant_mode = RCP_GRANT_MODE_AUTO;
		else if (!strcmp(val, "per-grant"))
			cfg->grant_mode = RCP_GRANT_MODE_PER_GRANT;
		else
			ret = -EINVAL;
	} else if (!strcmp(key, "max-per-source")) {
		ret = rcp_parse_u32(val, 0, 1u << 20, &cfg->max_per_source);
	} else if (!strcmp(key, "max-dynamic-memory")) {
		ret = rcp_size_parse(val, &cfg->max_dynamic);
	} else if (!strcmp(key, "log-level")) {
		ret = rcp_log_level_parse(val, &cfg->log_level);
	} else {
		set_err(err, errlen, "unknown setting '%s'", key);
		return -EINVAL;
	}
	if (ret) {
		set_err(err, errlen, "%s: bad value '%s'", key, val);
		return -EINVAL;
	}
	return 0;
}

/* rcp_config_parse_line -- one line of the config file */
int rcp_config_parse_line(struct rcp_config *cfg, const char *line, char *err, size_t errlen)
{
	char buf[LINE_MAX_LEN];
	char *s;
	char *eq;
	char *hash;

	if (strlen(line) >= sizeof(buf)) {
		set_err(err, errlen, "line too long");
		return -EINVAL;
	}
	strcpy(buf, line);
	hash = strchr(buf, '#');
	if (hash)
		*hash = '\0';
	s = trim(buf);
	if (!*s)
		return 0;
	if (!strncmp(s, "region", 6) && isspace((unsigned char)s[6]))
		return parse_region_line(cfg, s + 7, err, errlen);
	eq = strchr(s, '=');
	if (!eq) {
		set_err(err, errlen, "expected 'key = value' or 'region NAME KIND ...'");
		return -EINVAL;
	}
	*eq = '\0';
	return apply_key(cfg, trim(s), trim(eq + 1), err, errlen);
}

/* rcp_config_load -- apply every line of a config file, stopping at the first bad one */
int rcp_config_load(struct rcp_config *cfg, const char *path, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN];
	char why[256];
	unsigned int lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		why[0] = '\0';
		ret = rcp_config_parse_line(cfg, line, why, sizeof(why));
		if (ret) {
			set_err(err, errlen, "%s:%u: %s", path, lineno, why);
			break;
		}
	}
	fclose(f);
	return ret;
}
