/* SPDX-License-Identifier: BSD-3-Clause */
/* metrics.h -- the operator's HTTP endpoint (--metrics): /metrics in Prometheus text format and
 * /health, served by libevent's HTTP server in the daemon's loop */
#ifndef RDMACPY_SERVER_METRICS_H
#define RDMACPY_SERVER_METRICS_H

#include "server/server.h"

#define RCP_METRICS_MAX_CONNS	32   /* connections served at once; more are closed */
#define RCP_METRICS_MAX_HEADERS 8192 /* bytes of request line and headers */
#define RCP_METRICS_TIMEOUT_S	5    /* a connection idle this long is closed */
#define RCP_METRICS_MAX_LIFE_S	15   /* and any connection once it is this old */

/* rcp_metrics_start -- listen on the configured address; nothing if none. 0 or -errno */
int rcp_metrics_start(struct rcp_server *srv);

/* rcp_metrics_stop -- close the endpoint and its connections */
void rcp_metrics_stop(struct rcp_server *srv);

/* rcp_metrics_port -- the port the endpoint listens on (0: none), e.g. after port 0 */
uint16_t rcp_metrics_port(const struct rcp_server *srv);

#endif /* RDMACPY_SERVER_METRICS_H */
