/* SPDX-License-Identifier: BSD-3-Clause */
/* moderation.h -- completion moderation policy: which WRs are signaled, when to wake, adaptive */
#ifndef RDMACPY_COMMON_MODERATION_H
#define RDMACPY_COMMON_MODERATION_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Pure policy, no verbs: the caller asks and then acts. Time comes from the caller (now_ns, any
 * monotonic nanosecond clock), so the policy is deterministic under test.
 *
 * Where the device implements ibv_modify_cq the caller may hand count/period_us to the hardware;
 * this policy is what emulates it in software where it does not (rxe), in two halves:
 *
 * 1. Selective signaling (rcp_mod_should_signal). A signaled WR's completion retires it and
 *    every earlier WR of the send queue (RC send queues complete in order); unsignaled WRs keep
 *    their SQ slots until then. Signaling one WR in `count` cuts completions, and so wake-ups,
 *    by that factor. MODERATED and ADAPTIVE do not signal the last WR of every operation: an
 *    operation may end inside an unsignaled run and completes when a later signaled WR does.
 *
 *    SQ INVARIANT: the run of consecutive unsignaled WRs never exceeds sq_depth - 1, and a WR
 *    that takes the last free slot is always signaled. So whenever the SQ is full, a signaled
 *    WR is in it whose completion frees slots: the poster can always make progress, and while
 *    an unsignaled run is the newest work at least one slot is free for a flush WR. The
 *    signaling interval is min(count, sq_depth / 2), at least 1, so a completion frees slots
 *    while half the queue is still in flight and posting rarely stalls.
 *
 *    FLUSH: an unsignaled run with no signaled WR behind it would never complete on its own.
 *    When its oldest WR has waited period_us (rcp_mod_flush_due), or the application waits
 *    for its work, the caller posts one cheap signaled WR behind it (a zero-length RDMA WRITE
 *    or READ to the same grant), whose completion retires the run.
 *
 * 2. Coalesced wake-ups (rcp_mod_arm_decision). After a wake-up (channel event or timer) the
 *    caller drains the CQ in batches and asks after each batch whether to keep draining, to
 *    re-arm the completion channel, or to sleep on a timer with the channel unarmed so that
 *    completions gather. The timer's deadline is never later than now + period_us, and while
 *    the channel is armed a completion wakes the caller at once; so no completion waits longer
 *    than period_us to be seen (THE TIME BOUND). A caller may also drain when it is running
 *    anyway (no wake-up), and may defer an ARM until it is about to sleep or period_us has
 *    passed, whichever is first: an event for a CQ it is about to look at wakes nobody usefully.
 */

enum rcp_mod_mode {
	RCP_MOD_POLL,	   /* busy poll: no wake-ups; signal every count-th WR and each op's last */
	RCP_MOD_EVENT,	   /* signal every WR, wake per completion */
	RCP_MOD_MODERATED, /* signal every count-th WR (and awaited ones); wake at most per period
			    */
	RCP_MOD_ADAPTIVE,  /* as MODERATED, count and period follow the observed load */
};

/* What is known about a WR when asking whether to signal it (rcp_mod_should_signal flags). */
#define RCP_MOD_WR_LAST	   0x1u /* it ends an operation */
#define RCP_MOD_WR_AWAITED 0x2u /* the application waits for its operation right away */

/* What the completion handler does after a poll pass. */
enum rcp_mod_action {
	RCP_MOD_DRAIN, /* poll the CQ again now */
	/* ibv_req_notify_cq, poll once more (a completion may have landed before the arm), then
	 * sleep on the completion channel */
	RCP_MOD_ARM,
	RCP_MOD_WAIT, /* sleep until *deadline_ns without arming, then poll */
};

/* Largest period_us accepted: keeps deadlines and rate arithmetic far from overflow. */
#define RCP_MOD_MAX_PERIOD_US 1000000u

/* Adaptive profiles, from least coalescing (index 0) to most. */
#define RCP_MOD_NPROFILES 5

/* Adaptive sampling: a window closes after this many wake-ups or this long, whichever first. */
#define RCP_MOD_ADAPT_WAKEUPS	8u
#define RCP_MOD_ADAPT_WINDOW_NS 1000000u

/* Completions per wake-up, per window, above which ADAPTIVE coalesces more, below which less. */
#define RCP_MOD_ADAPT_HIGH_CPW 8u
#define RCP_MOD_ADAPT_LOW_CPW  2u

/* Consecutive windows that must agree before ADAPTIVE changes profile (hysteresis). */
#define RCP_MOD_ADAPT_CONFIRM 2

struct rcp_mod_config {
	enum rcp_mod_mode mode;
	/* POLL, MODERATED: signal every count-th WR, >= 1. ADAPTIVE: where to start, the largest
	 * profile whose count is <= this. EVENT: unused */
	uint32_t count;
	/* MODERATED: the time bound, 1 .. RCP_MOD_MAX_PERIOD_US. Other modes: unused */
	uint32_t period_us;
	uint32_t sq_depth; /* send queue depth the QP was created with, >= 1 */
};

struct rcp_mod_counters {
	uint64_t posted;      /* WRs passed to rcp_mod_should_signal */
	uint64_t signaled;    /* of which signaled */
	uint64_t completions; /* completions reported to rcp_mod_arm_decision */
	uint64_t wakeups;     /* wake-ups ended by ARM or WAIT (POLL mode counts none) */
	uint64_t flushes;     /* rcp_mod_flush_due answers of true */
};

/* The policy of one QP/CQ pair. Fields may be read; change them only through this API. */
struct rcp_mod_policy {
	enum rcp_mod_mode mode;
	uint32_t count;	    /* current signaling count (ADAPTIVE: the profile's) */
	uint32_t period_us; /* current time bound (ADAPTIVE: the profile's) */
	uint32_t sq_depth;
	uint32_t sig_every;   /* signaling interval actually used: min(count, sq_depth / 2), >= 1 */
	unsigned int profile; /* ADAPTIVE: index into the profile table */
	int streak;	      /* ADAPTIVE: > 0 windows in a row voting up, < 0 voting down */
	uint32_t win_wakeups; /* ADAPTIVE: the open sampling window */
	uint64_t win_completions;
	uint64_t win_start_ns;
	bool win_open;
	bool have_last;		   /* last_wake_end_ns is set */
	uint64_t last_wake_end_ns; /* when the previous wake-up ended */
	struct rcp_mod_counters stats;
};

/*
 * rcp_mod_init -- set up a policy from a configuration
 *
 * ERRORS
 * -EINVAL	p or cfg NULL; unknown mode; sq_depth 0; count 0 in POLL or MODERATED;
 *		period_us 0 or above RCP_MOD_MAX_PERIOD_US in MODERATED
 */
int rcp_mod_init(struct rcp_mod_policy *p, const struct rcp_mod_config *cfg);

/*
 * rcp_mod_should_signal -- whether the WR about to be posted is to be signaled; counts it
 *
 * unsignaled_run: unsignaled WRs posted on this SQ since the last signaled one (not counting
 * this WR). flags: RCP_MOD_WR_* that apply to this WR. sq_free: free SQ slots before posting
 * this WR (>= 1, or the caller could not post). Call once per WR posted.
 *
 * Signaled: every WR in EVENT mode; otherwise every sig_every-th WR, any WR that fills the SQ
 * or would make the unsignaled run reach sq_depth, and an AWAITED WR (its completion is wanted
 * now, a flush WR would only add one). POLL also signals each operation's LAST WR, since its
 * caller spins for it anyway; MODERATED and ADAPTIVE do not.
 */
bool rcp_mod_should_signal(struct rcp_mod_policy *p, unsigned int unsignaled_run,
			   unsigned int flags, unsigned int sq_free);

/*
 * rcp_mod_flush_due -- whether an unsignaled run that began at tail_since_ns needs a signaled
 * flush WR behind it now
 *
 * True in MODERATED and ADAPTIVE when unsignaled_run > 0 and the run's oldest WR has waited
 * period_us (rcp_mod_flush_deadline). EVENT never leaves a run; POLL's runs end inside an
 * operation whose last WR is signaled, so neither needs one.
 */
bool rcp_mod_flush_due(struct rcp_mod_policy *p, unsigned int unsignaled_run,
		       uint64_t tail_since_ns, uint64_t now_ns);

/* rcp_mod_flush_deadline -- when a run that began at tail_since_ns is due for a flush WR */
uint64_t rcp_mod_flush_deadline(const struct rcp_mod_policy *p, uint64_t tail_since_ns);

/* One poll pass of the completion handler, as rcp_mod_arm_decision sees it. */
struct rcp_mod_wake {
	uint64_t now_ns;	  /* after the pass */
	unsigned int drained;	  /* completions this pass returned */
	unsigned int batch;	  /* entries this pass asked for (ibv_poll_cq's num_entries) */
	unsigned int wake_total;  /* completions since this wake-up began, this pass included */
	unsigned int outstanding; /* signaled WRs posted whose completions are not yet polled */
};

/*
 * rcp_mod_arm_decision -- what the completion handler does after a poll pass
 *
 * A full batch means more may be waiting: DRAIN. Otherwise, by mode:
 * - POLL: DRAIN while signaled WRs are outstanding, ARM when none are (nothing to spin for).
 * - EVENT: ARM.
 * - MODERATED, ADAPTIVE: ARM when nothing is outstanding, when the wake-up found nothing (a
 *   timer that gathered nothing: the load is too light to coalesce), or when completions came
 *   further apart than period_us (waiting would gather nothing either). Else WAIT until
 *   now + min(period_us, outstanding x the mean gap between completions): the expected time
 *   for the outstanding completions to arrive, capped by the time bound.
 *
 * Any answer but DRAIN ends the wake-up: the counters take it, and in ADAPTIVE mode it feeds
 * rcp_mod_adapt() (so the caller must not call that too). Every pass's completions are counted.
 * *deadline_ns is written on WAIT only, and is never later than rcp_mod_deadline(p, now_ns).
 *
 * ERRORS (no errno: ARM is the answer that can never lose a completion)
 * p or w NULL gives ARM; deadline_ns NULL gives ARM where WAIT would have been answered.
 */
enum rcp_mod_action rcp_mod_arm_decision(struct rcp_mod_policy *p, const struct rcp_mod_wake *w,
					 uint64_t *deadline_ns);

/* rcp_mod_deadline -- the latest time a completion that arrives at now_ns may be seen */
uint64_t rcp_mod_deadline(const struct rcp_mod_policy *p, uint64_t now_ns);

/*
 * rcp_mod_adapt -- ADAPTIVE: account one wake-up and move count/period along the profile table
 *
 * In the spirit of the kernel's DIM: wake-ups are sampled in windows (RCP_MOD_ADAPT_WAKEUPS
 * wake-ups or RCP_MOD_ADAPT_WINDOW_NS, whichever first). A window whose completions per wake-up
 * reach RCP_MOD_ADAPT_HIGH_CPW votes to coalesce more, one at or below RCP_MOD_ADAPT_LOW_CPW to
 * coalesce less, anything between votes to stay. RCP_MOD_ADAPT_CONFIRM consecutive equal votes
 * move one profile. Each step up multiplies count by 4 and period by 2, so at a steady WR rate
 * completions per wake-up about halve: a step lands inside the (LOW, HIGH) band and the
 * controller settles instead of oscillating.
 *
 * Returns true when the profile changed. No-op (false) in the other modes.
 */
bool rcp_mod_adapt(struct rcp_mod_policy *p, uint64_t now_ns, unsigned int completions_this_wake);

/* rcp_mod_completions_per_wakeup -- the derived ratio; 0 when there was no wake-up */
double rcp_mod_completions_per_wakeup(const struct rcp_mod_counters *s);

#endif /* RDMACPY_COMMON_MODERATION_H */
