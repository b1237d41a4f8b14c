/* SPDX-License-Identifier: BSD-3-Clause */
/* stats.c -- STAT_REPLY counters: kept ones from rcp_counters, the rest computed on demand */
#include "server/stats.h"

#include <string.h>

#include "server/region.h"
#include "server/worker.h"

/* any_dev -- 1 when some device served has windows as use_mw says and, with windows, an MR
 * per grant as per_grant says: STAT reports the weakest mode in use */
static uint32_t any_dev(const struct rcp_server *srv, bool use_mw, bool per_grant)
{
	unsigned int i;

	for (i = 0; i < srv->ndevs; i++) {
		const struct rcp_dev *d = &srv->devs[i];

		if (d->use_mw == use_mw && (!use_mw || d->mr_per_grant == per_grant))
			return 1;
	}
	return 0;
}

/* rcp_stats_fill -- counters as of now */
void rcp_stats_fill(const struct rcp_server *srv, struct rcp_msg_stat_reply *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->clients_connected = srv->nsessions - srv->npending;
	out->clients_total = srv->cnt.clients_total;
	out->grants_active = srv->cnt.grants_active;
	out->grants_total = srv->cnt.grants_total;
	out->mw_active = srv->cnt.mw_active;
	out->regions = srv->nregions;
	for (i = 0; i < srv->nregions; i++)
		out->bytes_registered += srv->regions[i]->size;
	out->bytes_dynamic = srv->bytes_dynamic;
	out->refusals = srv->cnt.refusals;
	out->requests = srv->cnt.requests;
	out->auth_failures = srv->cnt.auth_failures;
	out->copies_active = srv->ncopies;
	out->copies_total = srv->cnt.copies_total;
	out->bytes_copied = srv->cnt.bytes_copied;
	out->mw_fallback = any_dev(srv, false, false);
	out->uptime_ms = rcp_now_ms() - srv->start_ms;
	out->clients_pending = srv->npending;
	out->auth_timeouts = srv->cnt.auth_timeouts;
	out->pending_evicted = srv->cnt.pending_evicted;
	if (srv->workers) {
		struct rcp_workers_stats w;

		rcp_workers_stats(srv->workers, &w);
		out->jobs_queued = w.queued;
		out->jobs_running = w.running;
		out->jobs_total = w.total;
		out->jobs_cancelled = w.cancelled;
	}
	out->jobs_refused = srv->cnt.jobs_refused;
	out->grant_mr_per_grant = any_dev(srv, true, true);
	out->flushes = srv->cnt.flushes;
	out->bytes_flushed = srv->cnt.bytes_flushed;
}

/* rcp_stats_log -- the counters on one line, for the operator */
void rcp_stats_log(const struct rcp_server *srv)
{
	struct rcp_msg_stat_reply st;
	char line[RCP_LOG_MSG_MAX];
	size_t off = 0;
	size_t i;
	int n;

	rcp_stats_fill(srv, &st);
	line[0] = '\0';
	for (i = 0; i < RCP_STAT_COUNT && off < sizeof(line); i++) {
		n = snprintf(line + off, sizeof(line) - off, "%s%s=%llu", i ? " " : "",
			     rcp_stat_name(i), (unsigned long long)rcp_stat_value(&st, i));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	rcp_info(&srv->log, "stats: %s", line);
}
