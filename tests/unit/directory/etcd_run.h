/* SPDX-License-Identifier: BSD-3-Clause */
/* etcd_run.h -- real etcd servers for tests: one member or a cluster, on loopback ports, in a
 * temporary data directory, stopped and removed at the end */
#ifndef RDMACPY_TESTS_ETCD_RUN_H
#define RDMACPY_TESTS_ETCD_RUN_H

#include <stdbool.h>
#include <sys/types.h>

#define ETCD_RUN_MAX 3

struct etcd_run {
	unsigned int n;
	pid_t pid[ETCD_RUN_MAX];
	unsigned int client_port[ETCD_RUN_MAX];
	unsigned int peer_port[ETCD_RUN_MAX];
	char dir[64];
	char url[256];	/* etcd://127.0.0.1:P1,127.0.0.1:P2,... */
	const char *ip; /* the address it listens on */
};

/* etcd_run_available -- whether the etcd binary is installed */
bool etcd_run_available(void);

/* etcd_run_start -- n members (1..3) on ip (NULL: 127.0.0.1), waiting until each is healthy;
 * 0 or -1 */
int etcd_run_start(struct etcd_run *e, unsigned int n, const char *ip);

/* etcd_run_kill -- SIGKILL member i (it stays down) */
void etcd_run_kill(struct etcd_run *e, unsigned int i);

/* etcd_run_stop_member -- SIGSTOP member i: it holds its port but answers nothing */
void etcd_run_pause(struct etcd_run *e, unsigned int i, bool pause);

/* etcd_run_stop -- every member gone, the data removed */
void etcd_run_stop(struct etcd_run *e);

#endif /* RDMACPY_TESTS_ETCD_RUN_H */
