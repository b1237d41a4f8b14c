/* SPDX-License-Identifier: BSD-3-Clause */
/* test_service_files.c -- the systemd unit passes `systemd-analyze verify`, and the generator
 * opens exactly the file regions' directories to the service */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef RDMACPY_SOURCE_DIR
#error "RDMACPY_SOURCE_DIR must name the source tree"
#endif

static char out[8192];

/* run -- a shell command's exit status, its output (stdout and stderr) in out */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(service_files, unit__systemd_analyze_verify_passes)
{
	char dir[] = "/tmp/rdmacpy-unit.XXXXXX";
	const char *build = getenv("RDMACPY_BUILD_DIR");

	if (run("command -v systemd-analyze") != 0)
		cr_skip_test("systemd-analyze is not installed");
	cr_assert_not_null(build);
	cr_assert_not_null(mkdtemp(dir));
	/* the unit as shipped, its ExecStart pointed at this build's daemon and its
	 * Documentation= at this tree's pages (verify runs `man` on them) */
	cr_assert_eq(
		run("mkdir -p %1$s/man/man8 %1$s/man/man1 && cp " RDMACPY_SOURCE_DIR
		    "/docs/man/rdmacpyd.8 %1$s/man/man8/ && cp " RDMACPY_SOURCE_DIR
		    "/docs/man/rdmacpy.1 %1$s/man/man1/ && sed 's|/usr/sbin/rdmacpyd|%2$s/server/"
		    "rdmacpyd|' " RDMACPY_SOURCE_DIR "/server/systemd/rdmacpyd.service > "
		    "%1$s/rdmacpyd.service",
		    dir, build),
		0, "%s", out);
	cr_assert_eq(run("cd %1$s && MANPATH=%1$s/man systemd-analyze verify ./rdmacpyd.service "
			 "2>&1",
			 dir),
		     0, "%s", out);
	cr_assert_str_eq(out, "", "systemd-analyze has remarks: %s", out);
	run("rm -rf %s", dir);
}

Test(service_files, generator__read_write_paths_of_file_regions)
{
	char dir[] = "/tmp/rdmacpy-gen.XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(run("printf 'listen = 198.18.0.1\\nregion a anon 1G\\nregion b file "
			 "/srv/data/b.bin 1G rw\\nregion c file /var/lib/rdmacpy/c.bin\\n"
			 "region d file /srv/data/d.bin ro\\n' > %1$s/conf && "
			 "RDMACPYD_CONF=%1$s/conf " RDMACPY_SOURCE_DIR
			 "/server/systemd/rdmacpyd-generator %1$s/gen && cat "
			 "%1$s/gen/rdmacpyd.service.d/file-regions.conf",
			 dir),
		     0, "%s", out);
	cr_assert(strstr(out, "[Service]\nReadWritePaths=-/srv/data -/var/lib/rdmacpy \n"), "%s",
		  out);
	/* no file regions: nothing generated, and never a failure (it runs at boot) */
	cr_assert_eq(run("printf 'region a anon 1G\\n' > %1$s/conf2 && "
			 "RDMACPYD_CONF=%1$s/conf2 " RDMACPY_SOURCE_DIR
			 "/server/systemd/rdmacpyd-generator %1$s/gen2 && test "
			 "! -e %1$s/gen2/rdmacpyd.service.d",
			 dir),
		     0, "%s", out);
	cr_assert_eq(run("RDMACPYD_CONF=/nonexistent " RDMACPY_SOURCE_DIR
			 "/server/systemd/rdmacpyd-generator %s/gen3",
			 dir),
		     0);
	run("rm -rf %s", dir);
}
