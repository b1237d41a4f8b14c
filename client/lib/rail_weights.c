/* SPDX-License-Identifier: BSD-3-Clause */
/* rail_weights.c -- how a transfer is cut over the rails: their ports' rates, what each one
 * really achieves, and the turn small transfers take */
#include <stdio.h>

#include "client/lib/conn.h"

/*
 * A transfer of at least STRIPE_MIN_BYTES is cut over the rails that are up in proportion to
 * their local ports' active rates; once every one of them has been measured, half of each
 * weight is the rate it really achieved (bytes its WRs moved per unit of time it had WRs out),
 * so a rail that falls behind gets less. Smaller transfers go whole to one rail, taking the
 * rails in turn.
 */

#define STRIPE_MIN_BYTES (256u * 1024u)
/* measurements older than this much busy time count half: the weights follow the links */
#define MEASURE_WINDOW_NS 2000000000ull

/* rcp_stripe_split -- units cut in proportion to w[0..n): floors first, then the units left
 * one each to the largest remainders (earlier entries first on a tie). A weight of 0 or less
 * gets none; with no positive weight nothing is given */
void rcp_stripe_split(uint64_t units, const double *w, unsigned int n, uint64_t *out)
{
	double rem[RDMACPY_MAX_QP];
	double sum = 0;
	uint64_t given = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (w[i] > 0)
			sum += w[i];
	for (i = 0; i < n; i++) {
		double share = w[i] > 0 && sum > 0 ? (double)units * (w[i] / sum) : 0;

		out[i] = (uint64_t)share;
		if (out[i] > units - given)
			out[i] = units - given;
		given += out[i];
		rem[i] = w[i] > 0 ? share - (double)out[i] : -1;
	}
	while (given < units && sum > 0) {
		unsigned int best = n;

		for (i = 0; i < n; i++)
			if (rem[i] >= 0 && (best == n || rem[i] > rem[best]))
				best = i;
		if (best == n) {
			/* rounding of the shares left more than one unit per weight: the rest
			 * goes to the heaviest */
			for (best = 0, i = 1; i < n; i++)
				if (w[i] > w[best])
					best = i;
			out[best] += units - given;
			break;
		}
		out[best]++;
		rem[best] = -1;
		given++;
	}
}

/* rcp_rails_weights -- each rail's weight for the next striped transfer (0: not up) */
void rcp_rails_weights(const struct rdmacpy_conn *c, double *w)
{
	double rate_sum = 0;
	double meas_sum = 0;
	bool all_rates = true;
	bool all_measured = true;
	unsigned int r;

	for (r = 0; r < c->nrails; r++) {
		const struct rcp_rail *rl = &c->rails[r];

		if (!rcp_rail_usable(c, r))
			continue;
		all_rates &= rl->rate_mbps > 0;
		all_measured &= rl->measured > 0;
		rate_sum += rl->rate_mbps;
		meas_sum += rl->measured;
	}
	for (r = 0; r < c->nrails; r++) {
		const struct rcp_rail *rl = &c->rails[r];
		double rate_share;

		w[r] = 0;
		if (!rcp_rail_usable(c, r))
			continue;
		rate_share = all_rates && rate_sum > 0 ? rl->rate_mbps / rate_sum : 1.0;
		w[r] = all_measured && meas_sum > 0 ? rate_share / 2 + rl->measured / meas_sum / 2
						    : rate_share;
	}
}

/* rcp_rail_pick -- the rail a small transfer goes to: the next one up, in turn */
unsigned int rcp_rail_pick(struct rdmacpy_conn *c)
{
	unsigned int k;

	for (k = 0; k < c->nrails; k++) {
		unsigned int r = (c->next_rail + k) % c->nrails;

		if (rcp_rail_usable(c, r)) {
			c->next_rail = r + 1;
			return r;
		}
	}
	return 0;
}

/* rcp_rails_stripe_min -- transfers smaller than this go to one rail */
uint64_t rcp_rails_stripe_min(void)
{
	return STRIPE_MIN_BYTES;
}

/* rcp_rail_posted -- a transfer WR went out on q: its rail's busy time starts if it was idle */
void rcp_rail_posted(struct rcp_cli_qp *q, uint64_t now)
{
	struct rcp_rail *rl = &q->conn->rails[q->rail];

	if (!rl->busy_since_ns)
		rl->busy_since_ns = now ? now : 1;
}

/* rcp_rail_retired -- a transfer WR of len bytes of q's rail finished well: measure the rail */
void rcp_rail_retired(struct rcp_cli_qp *q, uint32_t len)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_rail *rl = &c->rails[q->rail];
	unsigned int i;
	uint64_t now;

	rl->bytes_done += len;
	for (i = rl->first; i < rl->first + rl->n; i++)
		if (c->qp[i].sq_head != c->qp[i].sq_tail)
			return;
	if (!rl->busy_since_ns)
		return;
	/* the rail went idle: its busy stretch counts */
	now = rcp_now_ns();
	rl->busy_ns += now > rl->busy_since_ns ? now - rl->busy_since_ns : 0;
	rl->busy_since_ns = 0;
	if (rl->busy_ns)
		rl->measured = (double)rl->bytes_done / (double)rl->busy_ns;
	if (rl->busy_ns > MEASURE_WINDOW_NS) {
		rl->busy_ns /= 2;
		rl->bytes_done /= 2;
	}
}
