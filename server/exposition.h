/* SPDX-License-Identifier: BSD-3-Clause */
/* exposition.h -- the daemon's state as Prometheus text exposition format (version 0.0.4) */
#ifndef RDMACPY_SERVER_EXPOSITION_H
#define RDMACPY_SERVER_EXPOSITION_H

#include <event2/buffer.h>

#include "server/server.h"

/* rcp_exposition_write -- every metric of the daemon into out (0 or -ENOMEM); sysfs_root is
 * where the RDMA device's counters are read from ("/sys/class/infiniband" but for tests) */
int rcp_exposition_write(const struct rcp_server *srv, const char *sysfs_root,
			 struct evbuffer *out);

/* rcp_exposition_label -- a label value escaped as the format wants (\\, \" and \n) into out
 * (cap bytes, always terminated); truncated values stay valid */
void rcp_exposition_label(const char *value, char *out, size_t cap);

#endif /* RDMACPY_SERVER_EXPOSITION_H */
