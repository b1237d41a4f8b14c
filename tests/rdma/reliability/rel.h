/* SPDX-License-Identifier: BSD-3-Clause */
/* rel.h -- reliability tests: a daemon to kill and restart, child processes with bounded waits */
#ifndef RDMACPY_TESTS_RDMA_RELIABILITY_REL_H
#define RDMACPY_TESTS_RDMA_RELIABILITY_REL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/auth.h"

/* A daemon that may be stopped, killed and started again on the same folder and files. */
struct rel_daemon {
	pid_t pid;
	uint16_t port;
	char dir[300]; /* private folder in the build tree: key, log, file regions */
	char key[320]; /* key file, mode 0600 */
	char log[320]; /* the daemon's stderr, appended to across restarts */
	struct rcp_auth_key auth;
};

/* A child process whose stdout is read line by line with a deadline. */
struct rel_proc {
	pid_t pid;
	int fd;
	size_t len;
	char buf[8192];
};

/* rel_ip -- this node's address (RDMACPY_TEST_IP), NULL outside a fabric */
const char *rel_ip(void);

/* rel_now_ms -- monotonic milliseconds */
uint64_t rel_now_ms(void);

/* rel_sleep_ms -- nap */
void rel_sleep_ms(unsigned int ms);

/* rel_daemon_init -- a fresh folder with a key; 0 or -errno */
int rel_daemon_init(struct rel_daemon *d);

/* rel_daemon_start -- rdmacpyd on rel_ip() port 0 with the key and the extra arguments
 * (NULL-terminated, "%D" replaced by the folder); waits for its ready line (30 s). 0 or -errno */
int rel_daemon_start(struct rel_daemon *d, const char *const *extra);

/* rel_daemon_stop -- SIGTERM; the exit status (128+signal), -ETIMEDOUT after timeout_ms (the
 * daemon is then killed) */
int rel_daemon_stop(struct rel_daemon *d, int timeout_ms);

/* rel_daemon_kill -- SIGKILL and reap */
void rel_daemon_kill(struct rel_daemon *d);

/* rel_daemon_fini -- kill what still runs, remove the folder */
void rel_daemon_fini(struct rel_daemon *d);

/* rel_vmrss_kib -- VmRSS of a process from /proc/PID/status, or 0 */
uint64_t rel_vmrss_kib(pid_t pid);

/* rel_worker_path -- the rel_worker binary of this build */
const char *rel_worker_path(char *buf, size_t cap);

/* rel_spawn -- fork and exec argv with stdout (and stderr) on a pipe; 0 or -errno */
int rel_spawn(struct rel_proc *p, char *const argv[]);

/* rel_proc_line -- the next output line (no newline): 0, -ETIMEDOUT, or -EPIPE at the end */
int rel_proc_line(struct rel_proc *p, char *line, size_t cap, int timeout_ms);

/* rel_proc_wait -- reap within timeout_ms: the exit status (128+signal), or -ETIMEDOUT after
 * which the child is killed; the rest of the output is drained into tail (may be NULL) */
int rel_proc_wait(struct rel_proc *p, int timeout_ms, char *tail, size_t cap);

#endif /* RDMACPY_TESTS_RDMA_RELIABILITY_REL_H */
