/* SPDX-License-Identifier: BSD-3-Clause */
/* etcd_run.c -- start and stop real etcd members for tests */
#include "tests/unit/directory/etcd_run.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* free_port -- a TCP port nobody uses on ip now */
static unsigned int free_port(const char *ip)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	unsigned int port = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, ip, &a.sin_addr);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* etcd_run_available -- etcd on the PATH */
bool etcd_run_available(void)
{
	return system("command -v etcd >/dev/null 2>&1") == 0;
}

/* healthy -- a member answers its health check */
static bool healthy(const struct etcd_run *e, unsigned int i)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "curl -sf -m 2 http://%s:%u/health >/dev/null 2>&1", e->ip,
		 e->client_port[i]);
	return system(cmd) == 0;
}

/* etcd_run_start -- n members on ip */
int etcd_run_start(struct etcd_run *e, unsigned int n, const char *ip)
{
	char cluster[512] = "";
	unsigned int i;
	int tries;

	memset(e, 0, sizeof(*e));
	e->ip = ip ? ip : "127.0.0.1";
	snprintf(e->dir, sizeof(e->dir), "/tmp/rdmacpy-etcd.XXXXXX");
	if (!mkdtemp(e->dir) || n < 1 || n > ETCD_RUN_MAX)
		return -1;
	e->n = n;
	for (i = 0; i < n; i++) {
		e->client_port[i] = free_port(e->ip);
		e->peer_port[i] = free_port(e->ip);
		snprintf(cluster + strlen(cluster), sizeof(cluster) - strlen(cluster),
			 "%sm%u=http://%s:%u", i ? "," : "", i, e->ip, e->peer_port[i]);
		snprintf(e->url + strlen(e->url), sizeof(e->url) - strlen(e->url), "%s%s:%u",
			 i ? "," : "etcd://", e->ip, e->client_port[i]);
	}
	for (i = 0; i < n; i++) {
		char data[128];
		char logf[128];
		char listen_c[64];
		char listen_p[64];
		char name[8];
		pid_t pid;

		snprintf(name, sizeof(name), "m%u", i);
		snprintf(data, sizeof(data), "%s/%s", e->dir, name);
		snprintf(logf, sizeof(logf), "%s/%s.log", e->dir, name);
		snprintf(listen_c, sizeof(listen_c), "http://%s:%u", e->ip, e->client_port[i]);
		snprintf(listen_p, sizeof(listen_p), "http://%s:%u", e->ip, e->peer_port[i]);
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execlp("etcd", "etcd", "--name", name, "--data-dir", data,
			       "--listen-client-urls", listen_c, "--advertise-client-urls",
			       listen_c, "--listen-peer-urls", listen_p,
			       "--initial-advertise-peer-urls", listen_p, "--initial-cluster",
			       cluster, "--initial-cluster-state", "new", (char *)NULL);
			_exit(127);
		}
		e->pid[i] = pid;
	}
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < 300 && !healthy(e, i); tries++)
			usleep(100000);
		if (tries == 300)
			return -1;
	}
	return 0;
}

/* etcd_run_kill -- one member dies */
void etcd_run_kill(struct etcd_run *e, unsigned int i)
{
	if (i < e->n && e->pid[i] > 0) {
		kill(e->pid[i], SIGKILL);
		waitpid(e->pid[i], NULL, 0);
		e->pid[i] = 0;
	}
}

/* etcd_run_pause -- a member stops answering, or answers again */
void etcd_run_pause(struct etcd_run *e, unsigned int i, bool pause)
{
	if (i < e->n && e->pid[i] > 0)
		kill(e->pid[i], pause ? SIGSTOP : SIGCONT);
}

/* etcd_run_stop -- all gone */
void etcd_run_stop(struct etcd_run *e)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		if (e->pid[i] > 0) {
			kill(e->pid[i], SIGCONT);
			kill(e->pid[i], SIGTERM);
			waitpid(e->pid[i], NULL, 0);
			e->pid[i] = 0;
		}
	}
	if (e->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
		if (system(cmd))
			return;
	}
}
