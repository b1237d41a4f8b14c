/* SPDX-License-Identifier: BSD-3-Clause */
/* resolve.h -- host names to addresses without blocking, and a device's own address */
#ifndef RDMACPY_CLIENT_RESOLVE_H
#define RDMACPY_CLIENT_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

struct rcp_resolve;

/*
 * rcp_resolve_start -- look host:port up. A numeric address is taken at once (*out filled,
 * *job NULL); a name is looked up by a thread of its own, and *job polls for the answer. fd
 * (job only) is readable once the answer is in: watch it in the connection's epoll set.
 * 0 or -errno (-ENOENT: no such host, with the resolver's words in why).
 */
int rcp_resolve_start(const char *host, uint16_t port, struct sockaddr_storage *out,
		      struct rcp_resolve **job, int *fd, char *why, size_t why_len);

/* rcp_resolve_poll -- -EINPROGRESS, 0 (*out filled) or -errno (why says what) */
int rcp_resolve_poll(struct rcp_resolve *job, struct sockaddr_storage *out, char *why,
		     size_t why_len);

/* rcp_resolve_abandon -- the caller no longer waits: the thread frees the job when done (or
 * it is freed now if the answer is in); NULL fine; clears *job */
void rcp_resolve_abandon(struct rcp_resolve **job);

/*
 * rcp_device_addr -- an address of the RDMA device dev (port: 0 any) in family: the address
 * of a network interface behind the device's port, to bind a connection's source to so that
 * rdma_cm routes it through that device. 0, -ENODEV (no such device, or no address on it;
 * why says which)
 */
int rcp_device_addr(const char *dev, uint8_t port, int family, struct sockaddr_storage *out,
		    char *why, size_t why_len);

#endif /* RDMACPY_CLIENT_RESOLVE_H */
