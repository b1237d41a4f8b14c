/* SPDX-License-Identifier: BSD-3-Clause */
/* harness.c -- rdma tests: a real rdmacpyd to talk to, commands to run, files to compare */

#include "tests/rdma/harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS	 20000
#define RUN_TIMEOUT_S	 300

/* th_ip -- this node's address, or NULL outside a fabric */
const char *th_ip(void)
{
	return getenv("RDMACPY_TEST_IP");
}

/* th_build -- path of a built binary below the build directory */
const char *th_build(const char *rel, char *buf, size_t cap)
{
	const char *b = getenv("RDMACPY_BUILD_DIR");

	snprintf(buf, cap, "%s/%s", b ? b : ".", rel);
	return buf;
}

/* sleep_ms -- nap */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* log_has -- whether the daemon's log contains a word */
static bool log_has(const char *path, const char *word)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

/* log_port -- the port of the daemon's "listening on ADDR:PORT" log line */
static bool log_port(const char *path, uint16_t *port)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	const char *p;
	const char *colon;
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "listening on ");
	if (!p)
		return false;
	colon = strchr(p, ',');
	while (colon && colon > p && colon[-1] != ':')
		colon--;
	if (!colon || colon == p)
		return false;
	*port = (uint16_t)strtoul(colon, NULL, 10);
	return *port != 0;
}

/* write_key -- a fresh 32-byte hex key, mode 0600 */
static int write_key(const char *path)
{
	unsigned char raw[32];
	char hex[65];
	int fd;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(rand() ^ (int)(time(NULL) >> (i % 8)));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, hex, 64) != 64) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* copy_key -- the bytes of an existing key file into a new one of mode 0600 */
static int copy_key(const char *from, const char *path)
{
	char buf[4096];
	ssize_t n;
	int in;
	int fd;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -errno;
	n = read(in, buf, sizeof(buf));
	close(in);
	if (n <= 0)
		return -EIO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* th_daemon_start -- start rdmacpyd with a fresh key and wait until it is ready */
int th_daemon_start(struct th_daemon *d, const char *const *extra)
{
	return th_daemon_start_key(d, NULL, extra);
}

/* th_daemon_start_key -- start rdmacpyd with key_file's key (NULL: a fresh one) */
int th_daemon_start_key(struct th_daemon *d, const char *key_file, const char *const *extra)
{
	char bin[512];
	char port[16];
	char *argv[64];
	char expanded[32][512];
	int argc = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!th_ip())
		return -ENODEV;
	snprintf(d->dir, sizeof(d->dir), "/tmp/rdmacpy-test.XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(d->key, sizeof(d->key), "%s/key", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	rc = key_file ? copy_key(key_file, d->key) : write_key(d->key);
	if (rc)
		return rc;
	/* The daemon picks a free port itself, so tests can run side by side and a lingering
	 * daemon never answers the next test; the port is read back from its log. */
	snprintf(port, sizeof(port), "0");

	argv[argc++] = (char *)th_build("server/rdmacpyd", bin, sizeof(bin));
	argv[argc++] = "--listen";
	argv[argc++] = (char *)th_ip();
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--key-file";
	argv[argc++] = d->key;
	for (int i = 0; extra && extra[i] && i < 32 && argc < 62; i++) {
		const char *at = strstr(extra[i], "%D");

		if (at)
			snprintf(expanded[i], sizeof(expanded[i]), "%.*s%s%s", (int)(at - extra[i]),
				 extra[i], d->dir, at + 2);
		else
			snprintf(expanded[i], sizeof(expanded[i]), "%s", extra[i]);
		argv[argc++] = expanded[i];
	}
	argv[argc] = NULL;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 20) {
		int status;

		if (log_has(d->log, "ready") && log_port(d->log, &d->port))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return -ECHILD;
		}
		sleep_ms(20);
	}
	th_daemon_stop(d);
	return -ETIMEDOUT;
}

/*
 * report_hung -- a daemon that ignored SIGTERM: its log's end, where each thread sleeps in the
 * kernel and, where gdb is installed, in user space, on stderr (ctest shows it on failure); a
 * hang that happens once in many runs is explained by the run it happened in
 */
static void report_hung(const struct th_daemon *d)
{
	char cmd[1024];

	fprintf(stderr, "rdmacpyd %d did not exit within %d ms of SIGTERM; its log ends:\n",
		(int)d->pid, STOP_TIMEOUT_MS);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd),
		 "tail -n 30 %s >&2; for t in /proc/%d/task/*; do "
		 "echo \"thread $(cat $t/comm) in $(cat $t/wchan):\" >&2; cat $t/stack >&2; done; "
		 "command -v gdb >/dev/null && timeout 30 gdb -p %d -batch -nx "
		 "-ex \"thread apply all bt\" 2>/dev/null | grep -v \"^\\[\" >&2",
		 d->log, (int)d->pid, (int)d->pid);
	if (system(cmd) == -1)
		fprintf(stderr, "(could not run the report: %s)\n", strerror(errno));
}

/* th_daemon_stop -- SIGTERM, wait (bounded); the exit status, or -1 if it had to be killed */
int th_daemon_stop(struct th_daemon *d)
{
	int status = 0;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 20) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		sleep_ms(20);
	}
	report_hung(d);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return -1;
}

/* th_run -- run a shell command line, capturing its output */
int th_run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[4096];
	char wrapped[4300];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(wrapped, sizeof(wrapped), "timeout -k 5 %d sh -c '%s' 2>&1", RUN_TIMEOUT_S, cmd);
	p = popen(wrapped, "r");
	if (!p)
		return -1;
	if (out && cap) {
		n = fread(out, 1, cap - 1, p);
		out[n] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	status = pclose(p);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* th_wait_log -- poll the log for a word */
bool th_wait_log(const char *path, const char *word, int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 50) {
		if (log_has(path, word))
			return true;
		sleep_ms(50);
	}
	return false;
}

/* th_log_after -- what follows word on its first line */
bool th_log_after(const char *path, const char *word, char *out, size_t cap)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, word);

		if (!p)
			continue;
		p += strlen(word);
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, cap, "%s", p);
		found = true;
	}
	fclose(f);
	return found;
}

/* th_node2_run -- a command for node 2's agent, and its answer */
int th_node2_run(char *out, size_t cap, const char *fmt, ...)
{
	static unsigned int seq;
	const char *dir = getenv("RDMACPY_TWO_NODE_AGENT");
	char base[512];
	char tmp[600];
	char path[600];
	char cmd[4096];
	va_list ap;
	FILE *f;
	int rc = -1;
	int waited;

	if (!dir)
		return -1;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(base, sizeof(base), "%s/%d-%u", dir, (int)getpid(), ++seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp", base);
	snprintf(path, sizeof(path), "%s.cmd", base);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", cmd);
	fclose(f);
	if (rename(tmp, path))
		return -1;
	snprintf(path, sizeof(path), "%s.rc", base);
	for (waited = 0; waited < 120000; waited += 50) {
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%d", &rc) != 1)
				rc = -1;
			fclose(f);
			break;
		}
		sleep_ms(50);
	}
	if (out && cap) {
		snprintf(path, sizeof(path), "%s.out", base);
		out[0] = '\0';
		f = fopen(path, "r");
		if (f) {
			size_t n = fread(out, 1, cap - 1, f);

			out[n] = '\0';
			fclose(f);
		}
	}
	return rc;
}

/* th_random_file -- write n pseudo-random bytes (seeded) to path; eight bytes per step of the
 * generator, since under an emulated CPU a byte at a time costs seconds per 100 MiB */
int th_random_file(const char *path, uint64_t n, unsigned seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	static uint64_t buf[8192];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	while (n) {
		size_t chunk = n < sizeof(buf) ? (size_t)n : sizeof(buf);

		for (size_t i = 0; i < (chunk + 7) / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (write(fd, buf, chunk) != (ssize_t)chunk) {
			close(fd);
			return -EIO;
		}
		n -= chunk;
	}
	close(fd);
	return 0;
}

/* th_file_range_equal -- whether a[aoff, +n) equals b[boff, +n) */
bool th_file_range_equal(const char *a, uint64_t aoff, const char *b, uint64_t boff, uint64_t n)
{
	static uint8_t x[1 << 16];
	static uint8_t y[1 << 16];
	FILE *fa = fopen(a, "rb");
	FILE *fb = fopen(b, "rb");
	bool same = fa && fb && fseeko(fa, (off_t)aoff, SEEK_SET) == 0 &&
		    fseeko(fb, (off_t)boff, SEEK_SET) == 0;

	while (same && n) {
		size_t c = n < sizeof(x) ? (size_t)n : sizeof(x);

		same = fread(x, 1, c, fa) == c && fread(y, 1, c, fb) == c && !memcmp(x, y, c);
		n -= c;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* th_files_equal -- byte-for-byte comparison of two whole files */
bool th_files_equal(const char *a, const char *b)
{
	struct stat sa;
	struct stat sb;

	if (stat(a, &sa) || stat(b, &sb) || sa.st_size != sb.st_size)
		return false;
	return th_file_range_equal(a, 0, b, 0, (uint64_t)sa.st_size);
}
