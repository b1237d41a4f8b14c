/* SPDX-License-Identifier: BSD-3-Clause */
/* reqstats.c -- request latency histograms and the reasons of refusals, for /metrics */
#include "server/reqstats.h"

const double rcp_lat_bounds[RCP_LAT_NBUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05,	0.1,	 0.25,	 0.5,	1,	2.5,   10,   60,
};

/* rcp_reqstats_observe -- count one answered request in its type's histogram */
void rcp_reqstats_observe(struct rcp_reqstats *st, enum rcp_msg_type t, double seconds, bool ok)
{
	struct rcp_req_hist *h;
	unsigned int i;

	if ((unsigned int)t > RCP_MSG_TYPE_MAX)
		return;
	h = &st->type[t];
	h->count++;
	if (!ok)
		h->errors++;
	h->sum_s += seconds;
	for (i = 0; i < RCP_LAT_NBUCKETS; i++) {
		if (seconds <= rcp_lat_bounds[i]) {
			h->bucket[i]++;
			break;
		}
	}
	/* above the last bound: only +Inf (the count) holds it */
}

/* rcp_auth_fail_name -- the label value of a cause */
const char *rcp_auth_fail_name(enum rcp_auth_fail why)
{
	switch (why) {
	case RCP_AUTH_FAIL_WRONG_KEY:
		return "wrong_key";
	case RCP_AUTH_FAIL_TIMEOUT:
		return "timeout";
	case RCP_AUTH_FAIL_NO_KEY:
		return "no_key";
	default:
		return "other";
	}
}
