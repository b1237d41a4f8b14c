/* SPDX-License-Identifier: BSD-3-Clause */
/* reqstats.h -- what the daemon counts for its metrics beyond STAT: each request type's count,
 * errors and latency histogram, connections refused and authentications failed by reason */
#ifndef RDMACPY_SERVER_REQSTATS_H
#define RDMACPY_SERVER_REQSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

/* Latency buckets (seconds, upper bounds); +Inf is implicit. From a fast in-loop answer to a
 * CHECKSUM of a large region. */
#define RCP_LAT_NBUCKETS 16
extern const double rcp_lat_bounds[RCP_LAT_NBUCKETS];

struct rcp_req_hist {
	uint64_t count;	 /* answered */
	uint64_t errors; /* of which with ERROR */
	double sum_s;
	uint64_t bucket[RCP_LAT_NBUCKETS]; /* not cumulative: bucket i counts (b[i-1], b[i]] */
};

/* Why an authentication failed. */
enum rcp_auth_fail {
	RCP_AUTH_FAIL_WRONG_KEY, /* the MAC did not verify */
	RCP_AUTH_FAIL_TIMEOUT,	 /* no AUTH before --auth-timeout */
	RCP_AUTH_FAIL_NO_KEY,	 /* the client came without a key to a daemon that needs one */
	RCP_AUTH_FAIL_COUNT
};

struct rcp_reqstats {
	struct rcp_req_hist type[RCP_MSG_TYPE_MAX + 1];
	uint64_t refused[RCP_REJECT_MAX + 1]; /* connect requests refused, by reason */
	uint64_t auth_failed[RCP_AUTH_FAIL_COUNT];
};

/* rcp_reqstats_observe -- a request of type t was answered after seconds; ok: not an ERROR */
void rcp_reqstats_observe(struct rcp_reqstats *st, enum rcp_msg_type t, double seconds, bool ok);

/* rcp_auth_fail_name -- "wrong_key", "timeout", "no_key" */
const char *rcp_auth_fail_name(enum rcp_auth_fail why);

#endif /* RDMACPY_SERVER_REQSTATS_H */
