/* SPDX-License-Identifier: BSD-3-Clause */
/* devices.c -- the RDMA devices behind the listen addresses: caps, PD, how grants are bound */
#include "server/devices.h"

#include <errno.h>
#include <string.h>

#include "server/mw_probe.h"

/* choose_grant_mode -- where d's grants' windows are bound: asked of the device itself */
static void choose_grant_mode(struct rcp_server *srv, struct rcp_dev *d)
{
	const char *name = d->ctx->device->name;
	struct sockaddr_storage src;
	enum rcp_mw_bounds b;
	char why[256];

	d->mr_per_grant = true;
	if (!d->use_mw)
		return;
	if (srv->cfg.grant_mode == RCP_GRANT_MODE_PER_GRANT) {
		rcp_info(&srv->log,
			 "grants on %s: a window on an MR of each grant's range (--grant-mode "
			 "per-grant)",
			 name);
		return;
	}
	memcpy(&src, &d->first->id->route.addr.src_addr, sizeof(src));
	b = rcp_mw_probe(&src, why, sizeof(why));
	d->mr_per_grant = b != RCP_MW_BOUNDS_ENFORCED;
	if (d->mr_per_grant)
		rcp_info(&srv->log,
			 "grants on %s: a window on an MR of each grant's range: the device's "
			 "window bounds are %s (self-test: %s)",
			 name, rcp_mw_bounds_str(b), why);
	else
		rcp_info(&srv->log,
			 "grants on %s: windows bound on the region's MR, no registration per "
			 "grant: the device enforces window bounds (self-test: %s)",
			 name, why);
}

/* open_one -- caps, PD and grant mode of one device */
static int open_one(struct rcp_server *srv, struct rcp_dev *d)
{
	const char *name = d->ctx->device->name;
	int ret;

	ret = rcp_vb_query_caps(d->ctx, d->port, &d->caps);
	if (ret) {
		rcp_err(&srv->log, "querying %s: %s", name, strerror(-ret));
		return ret;
	}
	d->use_mw = d->caps.mw_type2;
	if (!d->use_mw)
		rcp_warn(&srv->log,
			 "%s has no type-2 memory windows: its grants use the region MR's rkey, "
			 "which any client connected there could use on the whole region",
			 name);
	rcp_dbg(&srv->log, "%s: max_qp_rd_atom %u, max_mw %u, max_mr_size %llu", name,
		d->caps.max_qp_rd_atom, d->caps.max_mw, (unsigned long long)d->caps.max_mr_size);
	ret = rcp_vb_alloc_pd(d->ctx, &d->pd);
	if (ret) {
		rcp_err(&srv->log, "allocating a protection domain on %s: %s", name,
			strerror(-ret));
		return ret;
	}
	choose_grant_mode(srv, d);
	return 0;
}

/* rcp_devices_open -- every device, in the order their addresses were given */
int rcp_devices_open(struct rcp_server *srv)
{
	unsigned int i;
	int ret;

	for (i = 0; i < srv->ndevs; i++) {
		ret = open_one(srv, &srv->devs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* rcp_devices_close -- the PDs */
void rcp_devices_close(struct rcp_server *srv)
{
	unsigned int i;
	int ret;

	for (i = 0; i < srv->ndevs; i++) {
		ret = rcp_vb_dealloc_pd(&srv->devs[i].pd);
		if (ret)
			rcp_err(&srv->log, "freeing the protection domain of %s: %s",
				srv->devs[i].ctx->device->name, strerror(-ret));
	}
}

/* rcp_dev_port_active -- ibv_query_port, every time: a cable pulled shows at once */
bool rcp_dev_port_active(const struct rcp_dev *d)
{
	struct ibv_port_attr attr;

	return !ibv_query_port(d->ctx, d->port, &attr) && attr.state == IBV_PORT_ACTIVE;
}

/* mode_of -- one device's way of making grants */
static const char *mode_of(const struct rcp_dev *d)
{
	if (!d->use_mw)
		return "region MR rkeys (no MW support)";
	return d->mr_per_grant ? "type-2 memory windows, an MR per grant"
			       : "type-2 memory windows on the region MR";
}

/* rcp_devices_mode_str -- the ready line's words */
const char *rcp_devices_mode_str(const struct rcp_server *srv)
{
	unsigned int i;

	if (!srv->ndevs)
		return "none";
	for (i = 1; i < srv->ndevs; i++)
		if (strcmp(mode_of(&srv->devs[i]), mode_of(&srv->devs[0])))
			return "a mode per device (see above)";
	return mode_of(&srv->devs[0]);
}
