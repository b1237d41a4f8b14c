/* SPDX-License-Identifier: BSD-3-Clause */
/* reload.h -- applying a changed configuration to a running daemon (SIGHUP) */
#ifndef RDMACPY_SERVER_RELOAD_H
#define RDMACPY_SERVER_RELOAD_H

#include "server/server.h"

/* rcp_reload -- read the command line's configuration again and apply it: new regions are added
 * (mapped on a worker), removed ones leave once unused, limits and the key apply to what comes
 * next. A configuration that does not parse or changes what needs a restart is refused as a
 * whole and nothing changes. Logs what it did. 0 or -errno (refused). */
int rcp_reload(struct rcp_server *srv);

#endif /* RDMACPY_SERVER_RELOAD_H */
