/* SPDX-License-Identifier: BSD-3-Clause */
/* moderation.c -- completion moderation policy: which WRs are signaled, when to wake, adaptive */
#include <errno.h>
#include <string.h>

#include "common/moderation.h"

struct profile {
	uint32_t count;
	uint32_t period_us;
};

/*
 * count grows 4x per step and period 2x: at a steady WR rate, completions per wake-up (WR rate x
 * period / count) halve per step up, which is what lets rcp_mod_adapt() settle inside its band.
 * Index 0 is the lowest latency that is still coalescing: one WR in two signaled, 8 us bound
 * (one in one would be EVENT mode with a timer).
 */
static const struct profile profiles[RCP_MOD_NPROFILES] = {
	{.count = 2, .period_us = 8},	  {.count = 4, .period_us = 16},
	{.count = 16, .period_us = 32},	  {.count = 64, .period_us = 64},
	{.count = 256, .period_us = 128},
};

/* update_sig_every -- derive the signaling interval that keeps the SQ invariant */
static void update_sig_every(struct rcp_mod_policy *p)
{
	uint32_t half = p->sq_depth / 2 ? p->sq_depth / 2 : 1;

	p->sig_every = p->count < half ? p->count : half;
	if (p->sig_every == 0)
		p->sig_every = 1;
}

/* apply_profile -- make profile i the current count and period */
static void apply_profile(struct rcp_mod_policy *p, unsigned int i)
{
	p->profile = i;
	p->count = profiles[i].count;
	p->period_us = profiles[i].period_us;
	update_sig_every(p);
}

/* rcp_mod_init -- set up a policy from a configuration */
int rcp_mod_init(struct rcp_mod_policy *p, const struct rcp_mod_config *cfg)
{
	unsigned int i;

	if (!p || !cfg || cfg->sq_depth == 0)
		return -EINVAL;
	switch (cfg->mode) {
	case RCP_MOD_POLL:
		if (cfg->count == 0)
			return -EINVAL;
		break;
	case RCP_MOD_EVENT:
	case RCP_MOD_ADAPTIVE:
		break;
	case RCP_MOD_MODERATED:
		if (cfg->count == 0 || cfg->period_us == 0 ||
		    cfg->period_us > RCP_MOD_MAX_PERIOD_US)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	memset(p, 0, sizeof(*p));
	p->mode = cfg->mode;
	p->sq_depth = cfg->sq_depth;
	switch (cfg->mode) {
	case RCP_MOD_EVENT:
		p->count = 1;
		break;
	case RCP_MOD_POLL:
		p->count = cfg->count;
		break;
	case RCP_MOD_MODERATED:
		p->count = cfg->count;
		p->period_us = cfg->period_us;
		break;
	case RCP_MOD_ADAPTIVE:
		for (i = RCP_MOD_NPROFILES - 1; i > 0; i--)
			if (profiles[i].count <= cfg->count)
				break;
		apply_profile(p, i);
		break;
	}
	update_sig_every(p);
	return 0;
}

/* rcp_mod_should_signal -- whether the WR about to be posted is to be signaled; counts it */
bool rcp_mod_should_signal(struct rcp_mod_policy *p, unsigned int unsignaled_run,
			   unsigned int flags, unsigned int sq_free)
{
	bool sig;

	if (!p)
		return true;
	/*
	 * sig_every <= max(1, sq_depth / 2) <= sq_depth, so the interval rule alone caps the
	 * unsignaled run at sq_depth - 1; the sq_free rule covers a caller whose run count and
	 * slot count disagree (e.g. after an error), so a full SQ always holds a signaled WR.
	 */
	sig = p->mode == RCP_MOD_EVENT || (flags & RCP_MOD_WR_AWAITED) || sq_free <= 1 ||
	      unsignaled_run >= p->sig_every - 1;
	if (p->mode == RCP_MOD_POLL && (flags & RCP_MOD_WR_LAST))
		sig = true;
	p->stats.posted++;
	if (sig)
		p->stats.signaled++;
	return sig;
}

/* rcp_mod_flush_deadline -- when a run that began at tail_since_ns is due for a flush WR */
uint64_t rcp_mod_flush_deadline(const struct rcp_mod_policy *p, uint64_t tail_since_ns)
{
	return rcp_mod_deadline(p, tail_since_ns);
}

/* rcp_mod_flush_due -- whether an unsignaled run needs a signaled flush WR behind it now */
bool rcp_mod_flush_due(struct rcp_mod_policy *p, unsigned int unsignaled_run,
		       uint64_t tail_since_ns, uint64_t now_ns)
{
	if (!p || !unsignaled_run)
		return false;
	if (p->mode != RCP_MOD_MODERATED && p->mode != RCP_MOD_ADAPTIVE)
		return false;
	if (now_ns < rcp_mod_flush_deadline(p, tail_since_ns))
		return false;
	p->stats.flushes++;
	return true;
}

/* rcp_mod_deadline -- the latest time a completion that arrives at now_ns may be seen */
uint64_t rcp_mod_deadline(const struct rcp_mod_policy *p, uint64_t now_ns)
{
	uint64_t period_ns;

	if (!p)
		return now_ns;
	period_ns = (uint64_t)p->period_us * 1000u;
	return period_ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + period_ns;
}

/* coalesce -- MODERATED/ADAPTIVE answer for a pass that did not fill its batch */
static enum rcp_mod_action coalesce(const struct rcp_mod_policy *p, const struct rcp_mod_wake *w,
				    uint64_t *deadline_ns)
{
	uint64_t period_ns = (uint64_t)p->period_us * 1000u;
	uint64_t wait = period_ns;
	uint64_t gap;

	/* Nothing will come, or the timer gathered nothing: only an event is worth waiting for. */
	if (!deadline_ns || w->outstanding == 0 || w->wake_total == 0)
		return RCP_MOD_ARM;
	if (p->have_last && w->now_ns > p->last_wake_end_ns) {
		gap = (w->now_ns - p->last_wake_end_ns) / w->wake_total;
		/* Completions sparser than the period: a timer would wake for one at best. */
		if (gap >= period_ns)
			return RCP_MOD_ARM;
		/* gap < period_ns <= 1e9 and outstanding < 2^32: the product fits. */
		if (gap * w->outstanding < wait)
			wait = gap * w->outstanding;
	}
	*deadline_ns = rcp_mod_deadline(p, w->now_ns);
	if (wait < period_ns)
		*deadline_ns = w->now_ns + wait;
	return RCP_MOD_WAIT;
}

/* rcp_mod_arm_decision -- what the completion handler does after a poll pass */
enum rcp_mod_action rcp_mod_arm_decision(struct rcp_mod_policy *p, const struct rcp_mod_wake *w,
					 uint64_t *deadline_ns)
{
	enum rcp_mod_action act;

	if (!p || !w)
		return RCP_MOD_ARM;
	p->stats.completions += w->drained;
	if (w->batch && w->drained >= w->batch)
		return RCP_MOD_DRAIN;

	if (p->mode == RCP_MOD_POLL)
		return w->outstanding ? RCP_MOD_DRAIN : RCP_MOD_ARM;

	/* The wake-up ends here. Adapt first, so a WAIT deadline uses the period now in force. */
	p->stats.wakeups++;
	if (p->mode == RCP_MOD_ADAPTIVE)
		rcp_mod_adapt(p, w->now_ns, w->wake_total);
	act = p->mode == RCP_MOD_EVENT ? RCP_MOD_ARM : coalesce(p, w, deadline_ns);
	p->have_last = true;
	p->last_wake_end_ns = w->now_ns;
	return act;
}

/* rcp_mod_adapt -- ADAPTIVE: account one wake-up and move count/period along the profiles */
bool rcp_mod_adapt(struct rcp_mod_policy *p, uint64_t now_ns, unsigned int completions_this_wake)
{
	int vote = 0;

	if (!p || p->mode != RCP_MOD_ADAPTIVE)
		return false;
	if (!p->win_open) {
		p->win_open = true;
		p->win_start_ns = now_ns;
		p->win_wakeups = 0;
		p->win_completions = 0;
	}
	p->win_wakeups++;
	p->win_completions += completions_this_wake;
	if (p->win_wakeups < RCP_MOD_ADAPT_WAKEUPS && now_ns >= p->win_start_ns &&
	    now_ns - p->win_start_ns < RCP_MOD_ADAPT_WINDOW_NS)
		return false;

	if (p->win_completions >= (uint64_t)RCP_MOD_ADAPT_HIGH_CPW * p->win_wakeups)
		vote = 1;
	else if (p->win_completions <= (uint64_t)RCP_MOD_ADAPT_LOW_CPW * p->win_wakeups)
		vote = -1;
	p->win_start_ns = now_ns;
	p->win_wakeups = 0;
	p->win_completions = 0;

	/* An in-band window, or a vote against the running streak, starts the count over. */
	if (vote == 0 || (vote > 0) != (p->streak > 0))
		p->streak = 0;
	p->streak += vote;
	if (p->streak >= RCP_MOD_ADAPT_CONFIRM) {
		p->streak = RCP_MOD_ADAPT_CONFIRM;
		if (p->profile + 1 < RCP_MOD_NPROFILES) {
			apply_profile(p, p->profile + 1);
			p->streak = 0;
			return true;
		}
	} else if (p->streak <= -RCP_MOD_ADAPT_CONFIRM) {
		p->streak = -RCP_MOD_ADAPT_CONFIRM;
		if (p->profile > 0) {
			apply_profile(p, p->profile - 1);
			p->streak = 0;
			return true;
		}
	}
	return false;
}

/* rcp_mod_completions_per_wakeup -- the derived ratio; 0 when there was no wake-up */
double rcp_mod_completions_per_wakeup(const struct rcp_mod_counters *s)
{
	if (!s || s->wakeups == 0)
		return 0.0;
	return (double)s->completions / (double)s->wakeups;
}
