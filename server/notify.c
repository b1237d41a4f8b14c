/* SPDX-License-Identifier: BSD-3-Clause */
/* notify.c -- sd_notify for a Type=notify unit: READY=1 once clients may connect, RELOADING=1
 * around a reload, STOPPING=1 at shutdown, STATUS= for `systemctl status` */
#include "server/notify.h"

#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

/* notify -- one notification; a daemon not started by systemd has no NOTIFY_SOCKET: no-op */
static void notify(struct rcp_server *srv, const char *text)
{
	int ret = sd_notify(0, text);

	if (ret < 0)
		rcp_warn(&srv->log, "sd_notify: %s", strerror(-ret));
}

/* rcp_notify_ready -- READY=1 */
void rcp_notify_ready(struct rcp_server *srv)
{
	char text[512];

	snprintf(text, sizeof(text), "READY=1\nSTATUS=serving %zu region%s on %s", srv->nregions,
		 srv->nregions == 1 ? "" : "s", srv->listen_str);
	notify(srv, text);
}

/* rcp_notify_reloading -- RELOADING=1 */
void rcp_notify_reloading(struct rcp_server *srv)
{
	notify(srv, "RELOADING=1\nSTATUS=reloading the configuration");
}

/* rcp_notify_reloaded -- READY=1 after a reload */
void rcp_notify_reloaded(struct rcp_server *srv, const char *status)
{
	char text[512];

	snprintf(text, sizeof(text), "READY=1\nSTATUS=%s", status);
	notify(srv, text);
}

/* rcp_notify_stopping -- STOPPING=1 */
void rcp_notify_stopping(struct rcp_server *srv, const char *why)
{
	char text[512];

	snprintf(text, sizeof(text), "STOPPING=1\nSTATUS=shutting down (%s)", why);
	notify(srv, text);
}

/* rcp_notify_status -- STATUS= */
void rcp_notify_status(struct rcp_server *srv, const char *status)
{
	char text[512];

	snprintf(text, sizeof(text), "STATUS=%s", status);
	notify(srv, text);
}
