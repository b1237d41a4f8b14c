/* SPDX-License-Identifier: BSD-3-Clause */
/* devices.h -- the RDMA devices behind the listen addresses: caps, PD, how grants are bound */
#ifndef RDMACPY_SERVER_DEVICES_H
#define RDMACPY_SERVER_DEVICES_H

#include "server/server.h"

/*
 * rcp_devices_open -- for every device rcp_listener_start found: query its caps, allocate its
 * PD and decide its grant mode (memory windows or not; the window self-test on its first
 * address unless --grant-mode per-grant). 0 or -errno, logged; rcp_devices_close undoes a
 * partial open.
 */
int rcp_devices_open(struct rcp_server *srv);

/* rcp_devices_close -- every PD; regions and sessions must be gone. Safe to call twice. */
void rcp_devices_close(struct rcp_server *srv);

/* rcp_dev_port_active -- whether d's port is ACTIVE now (asked of the device each time) */
bool rcp_dev_port_active(const struct rcp_dev *d);

/* rcp_devices_mode_str -- how grants are made, "..." for the ready line (the first device's,
 * and "mixed" when the devices differ) */
const char *rcp_devices_mode_str(const struct rcp_server *srv);

#endif /* RDMACPY_SERVER_DEVICES_H */
