/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.h -- this daemon in the cluster directory (etcd): its node entry and its regions,
 * under a lease that a publisher thread keeps alive */
#ifndef RDMACPY_SERVER_DIRECTORY_H
#define RDMACPY_SERVER_DIRECTORY_H

#include "server/server.h"

/* rcp_directory_start -- with --directory: open the etcd handle and start publishing (the
 * first attempt runs on the thread; an unreachable etcd is logged, not fatal). 0 or -errno
 * for a configuration that cannot work (a bad URL, an unreadable password file) */
int rcp_directory_start(struct rcp_server *srv);

/* rcp_directory_update -- regions changed: publish the new set (the loop; never blocks) */
void rcp_directory_update(struct rcp_server *srv);

/* rcp_directory_leave -- shutdown begins: revoke the lease, so the node leaves at once */
void rcp_directory_leave(struct rcp_server *srv);

/* rcp_directory_stop -- wait for the thread (bounded by etcd's timeout) and free */
void rcp_directory_stop(struct rcp_server *srv);

#endif /* RDMACPY_SERVER_DIRECTORY_H */
