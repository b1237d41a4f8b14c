/* SPDX-License-Identifier: BSD-3-Clause */
/* stats.h -- the STAT_REPLY counters from the daemon's state */
#ifndef RDMACPY_SERVER_STATS_H
#define RDMACPY_SERVER_STATS_H

#include "server/server.h"

/* rcp_stats_fill -- every counter of RCP_STAT_FIELDS as of now */
void rcp_stats_fill(const struct rcp_server *srv, struct rcp_msg_stat_reply *out);

/* rcp_stats_log -- one info line with the counters (at shutdown) */
void rcp_stats_log(const struct rcp_server *srv);

#endif /* RDMACPY_SERVER_STATS_H */
