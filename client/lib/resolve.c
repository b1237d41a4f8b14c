/* SPDX-License-Identifier: BSD-3-Clause */
/* resolve.c -- host names looked up on a thread of their own, and a device's own address */
#include "client/lib/resolve.h"

#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/*
 * getaddrinfo may block for seconds on a slow resolver, and an application's event loop must
 * not. A name is therefore looked up on a detached thread that owns the job with the caller:
 * whichever of the two lets go last frees it, so abandoning a lookup (closing the connection)
 * never waits for the resolver.
 */
struct rcp_resolve {
	pthread_mutex_t lock;
	bool done;	/* the thread has answered */
	bool abandoned; /* the caller has let go */
	int efd;	/* readable once done */
	char host[256];
	char port[8];
	int gai; /* getaddrinfo's result */
	struct sockaddr_storage addr;
};

/* first_addr -- the first address of a getaddrinfo answer */
static void first_addr(const struct addrinfo *res, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
}

/* job_free -- the last one out */
static void job_free(struct rcp_resolve *j)
{
	close(j->efd);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

/* lookup_main -- the thread: look up, answer, and free the job if the caller is gone */
static void *lookup_main(void *arg)
{
	struct rcp_resolve *j = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	uint64_t one = 1;
	bool gone;
	int gai;

	gai = getaddrinfo(j->host, j->port, &hints, &res);
	pthread_mutex_lock(&j->lock);
	j->gai = gai;
	if (!gai)
		first_addr(res, &j->addr);
	gone = j->abandoned;
	/* the wake-up is written before done is set, under the lock: a caller that sees done
	 * may free the job and close the eventfd, and its number may belong to another file
	 * by then */
	if (!gone && write(j->efd, &one, sizeof(one)) < 0)
		(void)0; /* a full counter is readable too */
	j->done = true;
	pthread_mutex_unlock(&j->lock);
	if (res)
		freeaddrinfo(res);
	if (gone)
		job_free(j);
	return NULL;
}

/* rcp_resolve_start -- numeric at once, names on a thread */
int rcp_resolve_start(const char *host, uint16_t port, struct sockaddr_storage *out,
		      struct rcp_resolve **job, int *fd, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct rcp_resolve *j;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all;
	sigset_t old;
	char serv[8];
	int ret;

	*job = NULL;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) == 0) {
		first_addr(res, out);
		freeaddrinfo(res);
		return 0;
	}
	if (strlen(host) >= sizeof(j->host)) {
		snprintf(why, why_len, "host name too long");
		return -EINVAL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	pthread_mutex_init(&j->lock, NULL);
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%s", serv);
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (j->efd < 0) {
		ret = -errno;
		pthread_mutex_destroy(&j->lock);
		free(j);
		return ret;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* the application's signals stay with its own threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&t, &attr, lookup_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret) {
		job_free(j);
		return ret;
	}
	*job = j;
	*fd = j->efd;
	return 0;
}

/* rcp_resolve_poll -- the answer, once it is in */
int rcp_resolve_poll(struct rcp_resolve *j, struct sockaddr_storage *out, char *why, size_t why_len)
{
	int ret;

	pthread_mutex_lock(&j->lock);
	if (!j->done) {
		pthread_mutex_unlock(&j->lock);
		return -EINPROGRESS;
	}
	if (j->gai) {
		snprintf(why, why_len, "cannot resolve %s: %s", j->host, gai_strerror(j->gai));
		ret = -ENOENT;
	} else {
		*out = j->addr;
		ret = 0;
	}
	pthread_mutex_unlock(&j->lock);
	return ret;
}

/* rcp_resolve_abandon -- let go; the last one out frees */
void rcp_resolve_abandon(struct rcp_resolve **jp)
{
	struct rcp_resolve *j;
	bool done;

	if (!jp || !*jp)
		return;
	j = *jp;
	*jp = NULL;
	pthread_mutex_lock(&j->lock);
	j->abandoned = true;
	done = j->done;
	pthread_mutex_unlock(&j->lock);
	if (done)
		job_free(j);
}

/* netdev_addr -- an address of family on network interface name */
static int netdev_addr(const char *name, int family, struct sockaddr_storage *out)
{
	struct ifaddrs *ifa = NULL;
	struct ifaddrs *i;
	int ret = -ENODEV;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family || strcmp(i->ifa_name, name))
			continue;
		memset(out, 0, sizeof(*out));
		memcpy(out, i->ifa_addr,
		       family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6));
		ret = 0;
		break;
	}
	freeifaddrs(ifa);
	return ret;
}

/* port_netdevs -- try the network interfaces a port's GID table names (RoCE) */
static int port_netdevs(const char *dev, unsigned int port, int family,
			struct sockaddr_storage *out)
{
	char dir[PATH_MAX];
	char path[PATH_MAX + 300];
	char name[64];
	struct dirent *e;
	DIR *d;
	FILE *f;
	int ret = -ENODEV;

	snprintf(dir, sizeof(dir), "/sys/class/infiniband/%s/ports/%u/gid_attrs/ndevs", dev, port);
	d = opendir(dir);
	if (!d)
		return -ENODEV;
	while (ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = '\0';
			ret = netdev_addr(name, family, out);
		}
		fclose(f);
	}
	closedir(d);
	return ret;
}

/* same_device_netdev -- try network interfaces on the same PCI function (IPoIB) */
static int same_device_netdev(const char *dev, int family, struct sockaddr_storage *out)
{
	char want[PATH_MAX];
	char got[PATH_MAX];
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret = -ENODEV;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/device", dev);
	if (!realpath(path, want))
		return -ENODEV;
	d = opendir("/sys/class/net");
	if (!d)
		return -ENODEV;
	while (ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/device", e->d_name);
		if (realpath(path, got) && !strcmp(got, want))
			ret = netdev_addr(e->d_name, family, out);
	}
	closedir(d);
	return ret;
}

/* rcp_device_addr -- an address through which rdma_cm reaches the device's port */
int rcp_device_addr(const char *dev, uint8_t port, int family, struct sockaddr_storage *out,
		    char *why, size_t why_len)
{
	char path[PATH_MAX];
	unsigned int p;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s", dev);
	if (access(path, F_OK)) {
		snprintf(why, why_len, "no RDMA device %s (see ibv_devices)", dev);
		return -ENODEV;
	}
	for (p = port ? port : 1; p <= (port ? port : 32u); p++) {
		snprintf(path, sizeof(path), "/sys/class/infiniband/%s/ports/%u", dev, p);
		if (access(path, F_OK))
			break;
		if (!port_netdevs(dev, p, family, out))
			return 0;
	}
	if (!same_device_netdev(dev, family, out))
		return 0;
	snprintf(why, why_len, "device %s%s%.0u has no %s address to connect from", dev,
		 port ? " port " : "", port, family == AF_INET ? "IPv4" : "IPv6");
	return -ENODEV;
}
