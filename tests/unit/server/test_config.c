/* SPDX-License-Identifier: BSD-3-Clause */
/* test_config.c -- size parsing, --region specs and config file lines of rdmacpyd */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/size.h"
#include "server/config.h"

static struct rcp_config cfg;
static char err[512];

/* setup -- defaults before every test */
static void setup(void)
{
	rcp_config_init(&cfg);
	err[0] = '\0';
}

/* teardown -- free the region list */
static void teardown(void)
{
	rcp_config_fini(&cfg);
}

TestSuite(size, .init = setup, .fini = teardown);
TestSuite(region_spec, .init = setup, .fini = teardown);
TestSuite(config, .init = setup, .fini = teardown);

Test(size, plain_bytes)
{
	uint64_t v;

	cr_assert_eq(rcp_size_parse("4096", &v), 0);
	cr_assert_eq(v, 4096);
}

Test(size, suffixes__powers_of_1024)
{
	uint64_t v;

	cr_assert_eq(rcp_size_parse("64K", &v), 0);
	cr_assert_eq(v, 64ull << 10);
	cr_assert_eq(rcp_size_parse("8MiB", &v), 0);
	cr_assert_eq(v, 8ull << 20);
	cr_assert_eq(rcp_size_parse("2G", &v), 0);
	cr_assert_eq(v, 2ull << 30);
	cr_assert_eq(rcp_size_parse("1gib", &v), 0);
	cr_assert_eq(v, 1ull << 30);
	cr_assert_eq(rcp_size_parse("3TiB", &v), 0);
	cr_assert_eq(v, 3ull << 40);
}

Test(size, malformed__einval)
{
	uint64_t v;

	cr_assert_eq(rcp_size_parse("", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("M", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("-1", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("12X", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse("1 M", &v), -EINVAL);
	cr_assert_eq(rcp_size_parse(NULL, &v), -EINVAL);
}

Test(size, overflow__erange)
{
	uint64_t v;

	cr_assert_eq(rcp_size_parse("99999999999999999999", &v), -ERANGE);
	cr_assert_eq(rcp_size_parse("17179869184G", &v), -ERANGE);
}

Test(region_spec, anon_default_rights_rw)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("buf:anon:16MiB", &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(s.name, "buf");
	cr_assert_eq(s.kind, RCP_KIND_ANON);
	cr_assert_eq(s.size, 16ull << 20);
	cr_assert_eq(s.rights, RCP_RIGHTS_RW);
}

Test(region_spec, huge_ro)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("h:huge:1G:ro", &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.kind, RCP_KIND_HUGE);
	cr_assert_eq(s.rights, RCP_RIGHTS_RO);
	cr_assert_eq(s.size, 1ull << 30);
}

Test(region_spec, file_path_only__size_from_file)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("f:file:/data/x.bin", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.kind, RCP_KIND_FILE);
	cr_assert_str_eq(s.path, "/data/x.bin");
	cr_assert_eq(s.size, 0);
	cr_assert_eq(s.rights, RCP_RIGHTS_RW);
}

Test(region_spec, file_size_and_rights)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("f:file:/data/x.bin:64M:ro", &s, err, sizeof(err)), 0);
	cr_assert_str_eq(s.path, "/data/x.bin");
	cr_assert_eq(s.size, 64ull << 20);
	cr_assert_eq(s.rights, RCP_RIGHTS_RO);
}

Test(region_spec, file_path_with_colon_kept)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("f:file:/mnt/a:b/x.bin:rw", &s, err, sizeof(err)), 0);
	cr_assert_str_eq(s.path, "/mnt/a:b/x.bin");
	cr_assert_eq(s.size, 0);
}

Test(region_spec, unknown_kind__einval_with_message)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("x:disk:1M", &s, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown kind"), "%s", err);
}

Test(region_spec, anon_without_size__einval)
{
	struct rcp_region_spec s;

	cr_assert_eq(rcp_parse_region_spec("x:anon", &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(rcp_parse_region_spec("x:anon:0", &s, err, sizeof(err)), -EINVAL);
	cr_assert_eq(rcp_parse_region_spec("x:anon:1M:rx", &s, err, sizeof(err)), -EINVAL);
}

Test(region_spec, bad_name__einval)
{
	struct rcp_region_spec s;
	char longname[RCP_NAME_MAX + 16];

	cr_assert_eq(rcp_parse_region_spec(":anon:1M", &s, err, sizeof(err)), -EINVAL);
	memset(longname, 'a', RCP_NAME_MAX);
	strcpy(longname + RCP_NAME_MAX, ":anon:1M");
	cr_assert_eq(rcp_parse_region_spec(longname, &s, err, sizeof(err)), -EINVAL);
}

Test(config, key_value_lines)
{
	cr_assert_eq(rcp_config_parse_line(&cfg, "listen = 198.18.0.1", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "port=9999  # comment", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-clients = 3", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-dynamic-memory = 1GiB", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "allow-create = yes", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "log-level = debug", err, sizeof(err)), 0);
	cr_assert_str_eq(cfg.listen[0], "198.18.0.1");
	cr_assert_eq(cfg.nlisten, 1);
	cr_assert_eq(cfg.port, 9999);
	cr_assert_eq(cfg.max_clients, 3);
	cr_assert_eq(cfg.max_dynamic, 1ull << 30);
	cr_assert(cfg.allow_create);
	cr_assert_eq(cfg.log_level, RCP_LOG_DEBUG);
}

Test(config, blank_and_comment_lines__ignored)
{
	cr_assert_eq(rcp_config_parse_line(&cfg, "", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "   \t\n", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "# region x anon 1M", err, sizeof(err)), 0);
	cr_assert_eq(cfg.nregions, 0);
}

Test(config, region_lines)
{
	cr_assert_eq(rcp_config_parse_line(&cfg, "region a anon 1M ro", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(rcp_config_parse_line(&cfg, "region f file /tmp/x 2M", err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(cfg.nregions, 2);
	cr_assert_eq(cfg.regions[0].rights, RCP_RIGHTS_RO);
	cr_assert_str_eq(cfg.regions[1].path, "/tmp/x");
	cr_assert_eq(cfg.regions[1].size, 2ull << 20);
}

Test(config, duplicate_region__eexist)
{
	cr_assert_eq(rcp_config_parse_line(&cfg, "region a anon 1M", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "region a anon 2M", err, sizeof(err)), -EEXIST);
}

Test(config, bad_lines__einval_with_reason)
{
	cr_assert_eq(rcp_config_parse_line(&cfg, "colour = blue", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown setting"), "%s", err);
	cr_assert_eq(rcp_config_parse_line(&cfg, "port = 70000", err, sizeof(err)), -EINVAL);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-clients = 0", err, sizeof(err)), -EINVAL);
	cr_assert_eq(rcp_config_parse_line(&cfg, "no-auth = maybe", err, sizeof(err)), -EINVAL);
	cr_assert_eq(rcp_config_parse_line(&cfg, "just words", err, sizeof(err)), -EINVAL);
}

Test(config, listen__repeated_for_every_rail_and_duplicates_refused)
{
	char key[40];
	int i;

	cr_assert_eq(rcp_config_parse_line(&cfg, "listen = 198.18.0.1", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "listen = 198.18.1.1", err, sizeof(err)), 0);
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_str_eq(cfg.listen[1], "198.18.1.1");
	cr_assert_eq(rcp_config_parse_line(&cfg, "listen = 198.18.0.1", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "twice"), "%s", err);
	cr_assert_eq(cfg.nlisten, 2);
	for (i = 2; i < RCP_MAX_LISTEN; i++) {
		snprintf(key, sizeof(key), "listen = 198.19.0.%d", i);
		cr_assert_eq(rcp_config_parse_line(&cfg, key, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(rcp_config_parse_line(&cfg, "listen = 198.19.1.1", err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "at most"), "%s", err);
	cr_assert_eq(cfg.nlisten, RCP_MAX_LISTEN);
}

Test(config, load_file__error_names_line)
{
	char path[] = "/tmp/rdmacpyd-conf.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs("# rdmacpyd\nlisten = 127.0.0.1\nregion r anon 4K\nbogus\n", f);
	fclose(f);
	cr_assert_eq(rcp_config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, ":4:"), "%s", err);
	cr_assert_eq(cfg.nregions, 1);
	unlink(path);
}

Test(config, load_missing_file__enoent)
{
	cr_assert_eq(rcp_config_load(&cfg, "/nonexistent/rdmacpyd.conf", err, sizeof(err)),
		     -ENOENT);
}

Test(config, tenant_limits__defaults_and_keys)
{
	cr_assert_eq(cfg.auth_timeout_ms, 5000);
	cr_assert_eq(cfg.max_pending, 16);
	cr_assert_eq(cfg.max_pending_per_source, 8);
	cr_assert_eq(cfg.max_per_source, 0);
	cr_assert_eq(cfg.max_jobs_per_client, 4);
	cr_assert_eq(cfg.workers, 4);
	cr_assert_eq(cfg.grant_mode, RCP_GRANT_MODE_AUTO);
	cr_assert_eq(rcp_config_parse_line(&cfg, "auth-timeout = 750ms", err, sizeof(err)), 0);
	cr_assert_eq(cfg.auth_timeout_ms, 750);
	cr_assert_eq(rcp_config_parse_line(&cfg, "auth-timeout = 2m", err, sizeof(err)), 0);
	cr_assert_eq(cfg.auth_timeout_ms, 120000);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-pending = 4", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-pending-per-source = 2", err, sizeof(err)),
		     0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-per-source = 10", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "max-jobs-per-client = 2", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "workers = 8", err, sizeof(err)), 0);
	cr_assert_eq(rcp_config_parse_line(&cfg, "grant-mode = per-grant", err, sizeof(err)), 0);
	cr_assert_eq(cfg.max_pending, 4);
	cr_assert_eq(cfg.max_pending_per_source, 2);
	cr_assert_eq(cfg.max_per_source, 10);
	cr_assert_eq(cfg.max_jobs_per_client, 2);
	cr_assert_eq(cfg.workers, 8);
	cr_assert_eq(cfg.grant_mode, RCP_GRANT_MODE_PER_GRANT);
}

Test(config, tenant_limits__bad_values_einval)
{
	static const char *const bad[] = {
		"auth-timeout = 5x",	       "auth-timeout = 10ms", /* below 100 ms */
		"auth-timeout = 2h",	       /* above an hour */
		"max-pending = 0",	       "workers = 0",
		"workers = 1000",	       "max-jobs-per-client = 17", /* > RCP_MAX_OUTSTANDING */
		"grant-mode = region",	       "max-pending-per-source = -1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(rcp_config_parse_line(&cfg, bad[i], err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert_neq(err[0], '\0', "%s: no reason given", bad[i]);
	}
	cr_assert_eq(cfg.auth_timeout_ms, 5000, "a refused value changed the setting");
	cr_assert_eq(cfg.grant_mode, RCP_GRANT_MODE_AUTO);
}
