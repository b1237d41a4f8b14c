/* SPDX-License-Identifier: BSD-3-Clause */
/* harness.h -- rdma tests: a real rdmacpyd to talk to, commands to run, files to compare */
#ifndef RDMACPY_TESTS_HARNESS_H
#define RDMACPY_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct th_daemon {
	pid_t pid;
	uint16_t port;
	char dir[256]; /* private temporary directory (key, log, file regions) */
	char key[300]; /* key file path, mode 0600 */
	char log[300]; /* the daemon's stderr */
};

/* th_ip -- this node's address, or NULL outside a fabric (tests then skip) */
const char *th_ip(void);

/* th_build -- path of a built binary below the build directory ("server/rdmacpyd") */
const char *th_build(const char *rel, char *buf, size_t cap);

/*
 * th_daemon_start -- start rdmacpyd on th_ip() at a free port with a fresh key and the given
 * extra arguments (NULL-terminated; "%D" in an argument is replaced by d->dir); waits until
 * it logs that it is ready. 0 or -errno.
 */
int th_daemon_start(struct th_daemon *d, const char *const *extra);

/* th_daemon_start_key -- th_daemon_start with a copy of the key in key_file instead of a fresh
 * one, so that several daemons (and the clients of all) share it */
int th_daemon_start_key(struct th_daemon *d, const char *key_file, const char *const *extra);

/* th_daemon_stop -- SIGTERM, wait (bounded); the exit status, or -1 if it had to be killed */
int th_daemon_stop(struct th_daemon *d);

/*
 * th_run -- run a shell command line (with bounded time), capturing stdout+stderr into out
 * (NUL-terminated, truncated to cap); returns the exit status (128+sig when killed).
 */
int th_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* th_wait_log -- wait up to timeout_ms for word to appear in the file at path (a daemon's log);
 * whether it did */
bool th_wait_log(const char *path, const char *word, int timeout_ms);

/* th_log_after -- the rest of the first line of the file at path that contains word, from
 * just after word, into out (cap bytes); whether there was one */
bool th_log_after(const char *path, const char *word, char *out, size_t cap);

/* th_node2_run -- run a shell command on node 2 of scripts/test-two-nodes (through its agent),
 * capturing its output into out; its exit status, or -1 without an agent or after 120 s */
int th_node2_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* th_random_file -- write n pseudo-random bytes (seeded) to path; 0 or -errno */
int th_random_file(const char *path, uint64_t n, unsigned seed);

/* th_files_equal -- byte-for-byte comparison of two files */
bool th_files_equal(const char *a, const char *b);

/* th_file_range_equal -- whether a[aoff, +n) equals b[boff, +n) */
bool th_file_range_equal(const char *a, uint64_t aoff, const char *b, uint64_t boff, uint64_t n);

#endif
