/* SPDX-License-Identifier: BSD-3-Clause */
/* test_moderation.c -- unit tests of the completion moderation policy (common/moderation.c) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/moderation.h"

#define US 1000ull

/* policy_ok -- rcp_mod_init that must succeed */
static void policy_ok(struct rcp_mod_policy *p, enum rcp_mod_mode mode, uint32_t count,
		      uint32_t period_us, uint32_t sq_depth)
{
	struct rcp_mod_config cfg = {
		.mode = mode,
		.count = count,
		.period_us = period_us,
		.sq_depth = sq_depth,
	};
	int ret = rcp_mod_init(p, &cfg);

	cr_assert_eq(ret, 0, "rcp_mod_init: %d", ret);
}

/* xorshift64s -- small deterministic generator so failures reproduce */
static uint64_t xorshift64s(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* rnd -- value in [0, n) */
static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return xorshift64s(s) % n;
}

/*
 * signal_op -- post one operation of nwr WRs on an SQ with plenty of room; sets sig[i] for the
 * WRs the policy signals and returns how many it signaled
 */
static unsigned int signal_op(struct rcp_mod_policy *p, unsigned int nwr, bool *sig,
			      unsigned int *run)
{
	unsigned int n = 0;
	unsigned int i;

	for (i = 0; i < nwr; i++) {
		sig[i] = rcp_mod_should_signal(p, *run, i + 1 == nwr ? RCP_MOD_WR_LAST : 0,
					       p->sq_depth);
		*run = sig[i] ? 0 : *run + 1;
		n += sig[i];
	}
	return n;
}

Test(mod_signal, event_signals_every_wr)
{
	struct rcp_mod_policy p;
	bool sig[100];
	unsigned int run = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_EVENT, 0, 0, 1024);
	cr_assert_eq(signal_op(&p, 100, sig, &run), 100);
	for (i = 0; i < 100; i++)
		cr_assert(sig[i]);
	cr_assert_eq(p.stats.posted, 100);
	cr_assert_eq(p.stats.signaled, 100);
}

Test(mod_signal, moderated_signals_every_16th_but_not_each_last_of_op)
{
	struct rcp_mod_policy p;
	bool sig[100];
	unsigned int run = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 1024);
	cr_assert_eq(signal_op(&p, 100, sig, &run), 6);
	for (i = 0; i < 100; i++)
		cr_assert_eq(sig[i], (i + 1) % 16 == 0, "WR %u", i);
	cr_assert_eq(run, 4, "the op ends inside an unsignaled run");
	/* the run carries over into the next op: WR 112 overall is the next signaled one */
	cr_assert_eq(signal_op(&p, 20, sig, &run), 1);
	cr_assert(sig[11]);
	cr_assert_not(sig[19]);
	cr_assert_eq(p.stats.posted, 120);
	cr_assert_eq(p.stats.signaled, 7);
}

Test(mod_signal, adaptive_does_not_signal_last_of_op)
{
	struct rcp_mod_policy p;
	bool sig[8];
	unsigned int run = 0;

	policy_ok(&p, RCP_MOD_ADAPTIVE, 16, 0, 1024);
	cr_assert_eq(p.sig_every, 16);
	cr_assert_eq(signal_op(&p, 8, sig, &run), 0);
	cr_assert_eq(run, 8);
}

Test(mod_signal, poll_signals_every_count_th_and_last_of_op)
{
	struct rcp_mod_policy p;
	bool sig[40];
	unsigned int run = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_POLL, 8, 0, 1024);
	cr_assert_eq(signal_op(&p, 40, sig, &run), 5);
	for (i = 0; i < 40; i++)
		cr_assert_eq(sig[i], (i + 1) % 8 == 0, "WR %u", i);
}

Test(mod_signal, single_wr_op_signaled_only_when_awaited_or_polled)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_not(rcp_mod_should_signal(&p, 0, RCP_MOD_WR_LAST, 64));
	cr_assert(rcp_mod_should_signal(&p, 0, RCP_MOD_WR_LAST | RCP_MOD_WR_AWAITED, 64));
	policy_ok(&p, RCP_MOD_POLL, 16, 0, 64);
	cr_assert(rcp_mod_should_signal(&p, 0, RCP_MOD_WR_LAST, 64));
	cr_assert_not(rcp_mod_should_signal(&p, 0, 0, 64));
}

Test(mod_flush, due_after_the_period_in_moderated_and_adaptive_only)
{
	struct rcp_mod_policy p;
	uint64_t t0 = 1000 * US;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_flush_deadline(&p, t0), t0 + 50 * US);
	cr_assert_not(rcp_mod_flush_due(&p, 0, t0, t0 + 500 * US), "no run, nothing to flush");
	cr_assert_not(rcp_mod_flush_due(&p, 3, t0, t0 + 49 * US));
	cr_assert(rcp_mod_flush_due(&p, 3, t0, t0 + 50 * US));
	cr_assert_eq(p.stats.flushes, 1);

	policy_ok(&p, RCP_MOD_ADAPTIVE, 16, 0, 64);
	cr_assert_not(rcp_mod_flush_due(&p, 1, t0, t0 + p.period_us * US - 1));
	cr_assert(rcp_mod_flush_due(&p, 1, t0, t0 + p.period_us * US));

	policy_ok(&p, RCP_MOD_EVENT, 0, 0, 64);
	cr_assert_not(rcp_mod_flush_due(&p, 1, t0, t0 + 1000000 * US));
	policy_ok(&p, RCP_MOD_POLL, 16, 0, 64);
	cr_assert_not(rcp_mod_flush_due(&p, 1, t0, t0 + 1000000 * US));
	cr_assert_not(rcp_mod_flush_due(NULL, 1, t0, t0 + 1000000 * US));
}

Test(mod_signal, wr_taking_last_sq_slot_is_signaled)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_not(rcp_mod_should_signal(&p, 3, 0, 2));
	cr_assert(rcp_mod_should_signal(&p, 3, 0, 1));
}

Test(mod_signal, interval_capped_at_half_sq_depth)
{
	struct rcp_mod_policy p;
	bool sig[64];
	unsigned int run = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_MODERATED, 1000, 50, 64);
	cr_assert_eq(p.sig_every, 32);
	signal_op(&p, 64, sig, &run);
	for (i = 0; i < 64; i++)
		cr_assert_eq(sig[i], (i + 1) % 32 == 0, "WR %u", i);
}

Test(mod_signal, sq_depth_one_signals_everything)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 1);
	cr_assert_eq(p.sig_every, 1);
	cr_assert(rcp_mod_should_signal(&p, 0, 0, 1));
}

/*
 * The SQ simulation: slots are freed only when a signaled WR's completion is polled, and then
 * for it and everything before it. The poster posts whenever a slot is free and otherwise waits
 * for the device, which executes queued WRs in order, a random number at a time; the poller
 * sees completions only of signaled WRs. When the poster pauses with an unsignaled run as its
 * newest work and the policy's period has passed (rcp_mod_flush_due, time advancing at random),
 * it posts a signaled flush WR behind the run, as the client does; the last data WR is awaited.
 * If the SQ ever filled with WRs none of which is signaled, or a flush WR found no free slot,
 * the poster would wait forever: the run asserts neither happens.
 */
struct sq_sim {
	bool *signaled;	   /* per WR index, flush WRs included */
	uint64_t head;	   /* oldest WR still holding a slot */
	uint64_t executed; /* WRs the device has executed */
	uint64_t posted;   /* WRs posted, flush WRs included */
	uint64_t data;	   /* data WRs posted */
	uint64_t flushes;  /* flush WRs posted */
	uint64_t last_sig; /* 1 + index of the newest signaled WR posted, 0 if none */
	unsigned int run;  /* unsignaled WRs since the last signaled one */
	uint64_t now;	   /* simulated time, ns */
	uint64_t tail_since;
	unsigned int max_occupancy;
};

/* sq_sim_run -- post nwr WRs in ops of random sizes through policy p on an SQ of depth */
static void sq_sim_run(struct rcp_mod_policy *p, uint64_t nwr, unsigned int depth, uint64_t seed)
{
	struct sq_sim s;
	uint64_t op_left = 0;
	uint64_t stall = 0;

	memset(&s, 0, sizeof(s));
	s.signaled = calloc(2 * nwr, sizeof(*s.signaled));
	cr_assert_not_null(s.signaled);
	while (s.data < nwr || s.head < s.posted) {
		unsigned int occupancy = (unsigned int)(s.posted - s.head);
		uint64_t k;
		uint64_t i;

		cr_assert_leq(occupancy, depth, "SQ overflow");
		if (occupancy > s.max_occupancy)
			s.max_occupancy = occupancy;
		/* post as much as fits, sometimes less */
		while (s.data < nwr && s.posted - s.head < depth && rnd(&seed, 8) != 0) {
			unsigned int sq_free = depth - (unsigned int)(s.posted - s.head);
			unsigned int flags = 0;
			bool sig;

			if (op_left == 0)
				op_left = 1 + rnd(&seed, rnd(&seed, 4) == 0 ? 1000 : 40);
			op_left--;
			if (op_left == 0)
				flags |= RCP_MOD_WR_LAST;
			if (s.data + 1 == nwr)
				flags |= RCP_MOD_WR_AWAITED;
			sig = rcp_mod_should_signal(p, s.run, flags, sq_free);
			s.signaled[s.posted] = sig;
			if (!sig && s.run == 0)
				s.tail_since = s.now;
			s.run = sig ? 0 : s.run + 1;
			cr_assert_lt(s.run, depth, "unsignaled run reached the SQ depth");
			s.posted++;
			s.data++;
			if (sig)
				s.last_sig = s.posted;
		}
		s.now += rnd(&seed, 40) * US;
		if (rcp_mod_flush_due(p, s.run, s.tail_since, s.now)) {
			cr_assert_lt(s.posted - s.head, depth, "no slot for the flush WR");
			s.signaled[s.posted++] = true;
			s.last_sig = s.posted;
			s.run = 0;
			s.flushes++;
		}
		if (s.posted - s.head == depth)
			cr_assert_gt(s.last_sig, s.head, "SQ full of unsignaled WRs: deadlock");
		/* the device executes some of what is queued, in order */
		k = rnd(&seed, s.posted - s.executed + 1);
		s.executed += k;
		/* the poller frees slots up to the newest executed signaled WR */
		for (i = s.executed; i > s.head; i--) {
			if (s.signaled[i - 1]) {
				s.head = i;
				break;
			}
		}
		cr_assert_lt(++stall, 50 * nwr, "no progress");
	}
	cr_assert_eq(s.data, nwr);
	cr_assert_eq(s.head, s.posted, "the last WR's slot was never freed");
	cr_assert_eq(p->stats.posted, nwr);
	cr_assert_eq(p->stats.flushes, s.flushes);
	free(s.signaled);
}

Test(mod_sq, moderated_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	sq_sim_run(&p, 100000, 64, 1);
	cr_assert_lt(p.stats.signaled, p.stats.posted / 4, "moderation signaled too much");
	cr_assert_gt(p.stats.flushes, 0, "pauses left runs that needed a flush WR");
}

Test(mod_sq, count_above_depth_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 100000, 50, 64);
	sq_sim_run(&p, 100000, 64, 2);
}

Test(mod_sq, poll_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_POLL, 64, 0, 64);
	sq_sim_run(&p, 100000, 64, 3);
}

Test(mod_sq, event_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_EVENT, 0, 0, 64);
	sq_sim_run(&p, 100000, 64, 4);
	cr_assert_eq(p.stats.signaled, 100000);
}

Test(mod_sq, adaptive_top_profile_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_ADAPTIVE, UINT32_MAX, 0, 64);
	cr_assert_eq(p.profile, RCP_MOD_NPROFILES - 1);
	sq_sim_run(&p, 100000, 64, 5);
}

Test(mod_sq, tiny_queue_never_overflows_or_deadlocks)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 2);
	sq_sim_run(&p, 10000, 2, 6);
}

Test(mod_wake, full_batch_keeps_draining)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {.now_ns = 0, .drained = 16, .batch = 16, .wake_total = 16};
	uint64_t deadline;
	enum rcp_mod_mode modes[] = {RCP_MOD_POLL, RCP_MOD_EVENT, RCP_MOD_MODERATED,
				     RCP_MOD_ADAPTIVE};
	unsigned int i;

	for (i = 0; i < 4; i++) {
		policy_ok(&p, modes[i], 16, 50, 64);
		cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_DRAIN);
		cr_assert_eq(p.stats.wakeups, 0, "draining does not end the wake-up");
		cr_assert_eq(p.stats.completions, 16);
	}
}

Test(mod_wake, event_rearms_after_each_wake)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 1, .batch = 16, .wake_total = 1, .outstanding = 10};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_EVENT, 0, 0, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
	cr_assert_eq(p.stats.wakeups, 1);
}

Test(mod_wake, poll_spins_while_outstanding_and_never_counts_wakeups)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {.now_ns = 0, .drained = 0, .batch = 16, .outstanding = 3};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_POLL, 16, 0, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_DRAIN);
	w.outstanding = 0;
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
	cr_assert_eq(p.stats.wakeups, 0);
}

Test(mod_wake, moderated_waits_while_outstanding)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 1000 * US, .drained = 3, .batch = 16, .wake_total = 3, .outstanding = 8};
	uint64_t deadline = 0;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_WAIT);
	cr_assert_eq(deadline, 1000 * US + 50 * US);
	cr_assert_eq(rcp_mod_deadline(&p, w.now_ns), deadline);
}

Test(mod_wake, moderated_arms_when_nothing_outstanding)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {.now_ns = 0, .drained = 3, .batch = 16, .wake_total = 3};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
}

Test(mod_wake, moderated_arms_when_timer_gathered_nothing)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 0, .batch = 16, .wake_total = 0, .outstanding = 4};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
}

Test(mod_wake, moderated_arms_when_completions_are_sparser_than_period)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 1, .batch = 16, .wake_total = 1, .outstanding = 4};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_WAIT);
	/* next wake 200 us later found 2: one per 100 us, sparser than 50 us */
	w.now_ns = 200 * US;
	w.drained = 2;
	w.wake_total = 2;
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
}

Test(mod_wake, moderated_deadline_shortens_for_few_outstanding)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 10, .batch = 16, .wake_total = 10, .outstanding = 100};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_WAIT);
	/* 10 completions in 20 us: 2 us apart; 2 outstanding are due in about 4 us */
	w.now_ns = 20 * US;
	w.outstanding = 2;
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_WAIT);
	cr_assert_eq(deadline, 20 * US + 4 * US);
}

Test(mod_wake, lone_completion_is_seen_by_the_deadline)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 500 * US, .drained = 3, .batch = 16, .wake_total = 3, .outstanding = 1};
	uint64_t arrival = 501 * US;
	uint64_t deadline;

	/* a wake-up drained 3; one WR is still out, and its completion lands 1 us later alone */
	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_WAIT);
	cr_assert_geq(deadline, arrival, "the handler would wake before it could see it");
	cr_assert_leq(deadline - arrival, 50 * US, "lone completion waited past the period");
	/* at the deadline the handler polls it, and with nothing outstanding arms the channel */
	w.now_ns = deadline;
	w.drained = 1;
	w.wake_total = 1;
	w.outstanding = 0;
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
}

Test(mod_wake, null_arguments_arm)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 3, .batch = 16, .wake_total = 3, .outstanding = 8};
	uint64_t deadline;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(rcp_mod_arm_decision(NULL, &w, &deadline), RCP_MOD_ARM);
	cr_assert_eq(rcp_mod_arm_decision(&p, NULL, &deadline), RCP_MOD_ARM);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, NULL), RCP_MOD_ARM);
}

/*
 * time_bound_sim -- a completion handler driven by the policy's answers against random
 * arrivals (bursts and lone ones): ARM sleeps until the next arrival, WAIT until the deadline.
 * Every completion must be polled no later than period_us after it arrived.
 */
static void time_bound_sim(enum rcp_mod_mode mode, uint64_t seed)
{
	enum { N = 20000, BATCH = 8 };
	static uint64_t arrive[N];
	struct rcp_mod_policy p;
	uint64_t period_ns;
	uint64_t t = 0;
	uint64_t now;
	unsigned int seen = 0;
	unsigned int i;

	policy_ok(&p, mode, 16, 50, 256);
	for (i = 0; i < N; i++) {
		uint64_t kind = rnd(&seed, 10);

		t += kind < 6	? rnd(&seed, 3 * US)
		     : kind < 9 ? rnd(&seed, 60 * US)
				: rnd(&seed, 2000 * US);
		arrive[i] = t;
	}
	now = arrive[0];
	while (seen < N) {
		unsigned int wake_total = 0;
		enum rcp_mod_action act;
		uint64_t deadline = 0;

		/* one wake-up at `now`: drain in batches until the policy says stop */
		do {
			struct rcp_mod_wake w;
			unsigned int got = 0;

			period_ns = (uint64_t)p.period_us * US;
			while (got < BATCH && seen < N && arrive[seen] <= now) {
				cr_assert_leq(now - arrive[seen], period_ns,
					      "completion %u waited %llu ns", seen,
					      (unsigned long long)(now - arrive[seen]));
				seen++;
				got++;
			}
			wake_total += got;
			w = (struct rcp_mod_wake){.now_ns = now,
						  .drained = got,
						  .batch = BATCH,
						  .wake_total = wake_total,
						  .outstanding = N - seen};
			act = rcp_mod_arm_decision(&p, &w, &deadline);
		} while (act == RCP_MOD_DRAIN);
		if (act == RCP_MOD_WAIT) {
			cr_assert_leq(deadline, rcp_mod_deadline(&p, now));
			now = deadline;
		} else if (seen < N) {
			/* armed: the poll after arming catches what already landed */
			now = arrive[seen] > now ? arrive[seen] : now;
		}
	}
	cr_assert_lt(p.stats.wakeups, N, "no coalescing happened");
}

Test(mod_wake, time_bound_holds_under_random_arrivals)
{
	time_bound_sim(RCP_MOD_MODERATED, 42);
}

Test(mod_wake, time_bound_holds_while_adapting)
{
	time_bound_sim(RCP_MOD_ADAPTIVE, 43);
}

Test(mod_adapt, steps_up_under_high_rate)
{
	struct rcp_mod_policy p;
	uint64_t now = 0;
	unsigned int i;
	unsigned int steps = 0;

	policy_ok(&p, RCP_MOD_ADAPTIVE, 1, 0, 1024);
	cr_assert_eq(p.profile, 0);
	cr_assert_eq(p.count, 2, "the lowest profile still coalesces");
	for (i = 0; i < 200; i++) {
		uint32_t count = p.count;
		uint32_t period = p.period_us;

		now += 10 * US;
		if (rcp_mod_adapt(&p, now, 20)) {
			cr_assert_gt(p.count, count);
			cr_assert_gt(p.period_us, period);
			steps++;
		}
	}
	cr_assert_eq(p.profile, RCP_MOD_NPROFILES - 1);
	cr_assert_eq(steps, RCP_MOD_NPROFILES - 1);
	cr_assert_eq(p.sig_every, 256, "the signaling interval follows the count");
}

Test(mod_adapt, steps_down_under_low_rate)
{
	struct rcp_mod_policy p;
	uint64_t now = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_ADAPTIVE, UINT32_MAX, 0, 1024);
	cr_assert_eq(p.profile, RCP_MOD_NPROFILES - 1);
	for (i = 0; i < 200; i++) {
		uint32_t count = p.count;

		now += 500 * US;
		if (rcp_mod_adapt(&p, now, 1))
			cr_assert_lt(p.count, count);
	}
	cr_assert_eq(p.profile, 0);
	cr_assert_eq(p.count, 2, "ADAPTIVE never falls back to signaling every WR");
}

Test(mod_adapt, one_window_is_not_enough_to_step)
{
	struct rcp_mod_policy p;
	uint64_t now = 0;
	unsigned int i;

	policy_ok(&p, RCP_MOD_ADAPTIVE, 16, 0, 1024);
	cr_assert_eq(p.profile, 2);
	/* alternate high and low windows: never two in a row, never a step */
	for (i = 0; i < 20 * RCP_MOD_ADAPT_WAKEUPS; i++) {
		bool high = (i / RCP_MOD_ADAPT_WAKEUPS) % 2 == 0;

		now += 10 * US;
		cr_assert_not(rcp_mod_adapt(&p, now, high ? 50 : 1));
	}
	cr_assert_eq(p.profile, 2);
}

Test(mod_adapt, settles_without_oscillating)
{
	struct rcp_mod_policy p;
	double wr_per_us = 2.0; /* offered load: 2 M WR/s */
	uint64_t now = 0;
	unsigned int changes_late = 0;
	unsigned int i;

	/* closed loop: completions per wake-up follow the profile, rate x period / count */
	policy_ok(&p, RCP_MOD_ADAPTIVE, 1, 0, 4096);
	for (i = 0; i < 2000; i++) {
		double cpw = wr_per_us * p.period_us / p.count;
		bool changed;

		now += (uint64_t)p.period_us * US;
		changed = rcp_mod_adapt(&p, now, cpw < 1.0 ? 1u : (unsigned int)cpw);
		if (i >= 1000)
			changes_late += changed;
	}
	cr_assert_eq(changes_late, 0, "profile still moving after 1000 wake-ups");
	cr_assert_gt(p.profile, 0);
	cr_assert_lt(p.profile, RCP_MOD_NPROFILES - 1);
}

Test(mod_adapt, other_modes_do_not_adapt)
{
	struct rcp_mod_policy p;
	unsigned int i;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	for (i = 0; i < 100; i++)
		cr_assert_not(rcp_mod_adapt(&p, i * US, 100));
	cr_assert_eq(p.count, 16);
	cr_assert_eq(p.period_us, 50);
}

Test(mod_adapt, arm_decision_drives_adaptation)
{
	struct rcp_mod_policy p;
	uint64_t now = 0;
	uint64_t deadline;
	unsigned int i;

	policy_ok(&p, RCP_MOD_ADAPTIVE, 1, 0, 1024);
	for (i = 0; i < 100; i++) {
		struct rcp_mod_wake w = {.now_ns = now,
					 .drained = 12,
					 .batch = 16,
					 .wake_total = 12,
					 .outstanding = 1000};

		rcp_mod_arm_decision(&p, &w, &deadline);
		now += 10 * US;
	}
	cr_assert_gt(p.profile, 0);
}

Test(mod_init, modes_take_their_parameters)
{
	struct rcp_mod_policy p;

	policy_ok(&p, RCP_MOD_EVENT, 99, 99, 64);
	cr_assert_eq(p.sig_every, 1);
	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	cr_assert_eq(p.count, 16);
	cr_assert_eq(p.period_us, 50);
	cr_assert_eq(p.sig_every, 16);
	policy_ok(&p, RCP_MOD_ADAPTIVE, 20, 0, 64);
	cr_assert_eq(p.count, 16, "adaptive starts at the largest profile count <= count");
	policy_ok(&p, RCP_MOD_ADAPTIVE, 0, 0, 64);
	cr_assert_eq(p.profile, 0);
}

Test(mod_init, null_arguments)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {.mode = RCP_MOD_EVENT, .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(NULL, &cfg), -EINVAL);
	cr_assert_eq(rcp_mod_init(&p, NULL), -EINVAL);
}

Test(mod_init, unknown_mode)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {.mode = (enum rcp_mod_mode)9, .count = 1, .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_init, zero_sq_depth)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {.mode = RCP_MOD_EVENT, .sq_depth = 0};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_init, moderated_zero_count)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {
		.mode = RCP_MOD_MODERATED, .count = 0, .period_us = 50, .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_init, moderated_zero_period)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {
		.mode = RCP_MOD_MODERATED, .count = 16, .period_us = 0, .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_init, moderated_period_too_long)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {.mode = RCP_MOD_MODERATED,
				     .count = 16,
				     .period_us = RCP_MOD_MAX_PERIOD_US + 1,
				     .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_init, poll_zero_count)
{
	struct rcp_mod_policy p;
	struct rcp_mod_config cfg = {.mode = RCP_MOD_POLL, .count = 0, .sq_depth = 64};

	cr_assert_eq(rcp_mod_init(&p, &cfg), -EINVAL);
}

Test(mod_counters, completions_per_wakeup_is_derived)
{
	struct rcp_mod_counters none = {0};
	struct rcp_mod_counters some = {.completions = 30, .wakeups = 4};

	cr_assert_float_eq(rcp_mod_completions_per_wakeup(&none), 0.0, 1e-9);
	cr_assert_float_eq(rcp_mod_completions_per_wakeup(&some), 7.5, 1e-9);
	cr_assert_float_eq(rcp_mod_completions_per_wakeup(NULL), 0.0, 1e-9);
}

Test(mod_counters, counted_through_the_api)
{
	struct rcp_mod_policy p;
	struct rcp_mod_wake w = {
		.now_ns = 0, .drained = 16, .batch = 16, .wake_total = 16, .outstanding = 0};
	uint64_t deadline;
	bool sig[32];
	unsigned int run = 0;

	policy_ok(&p, RCP_MOD_MODERATED, 16, 50, 64);
	signal_op(&p, 32, sig, &run);
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_DRAIN);
	w.drained = 4;
	w.wake_total = 20;
	cr_assert_eq(rcp_mod_arm_decision(&p, &w, &deadline), RCP_MOD_ARM);
	cr_assert_eq(p.stats.posted, 32);
	cr_assert_eq(p.stats.signaled, 2);
	cr_assert_eq(p.stats.completions, 20);
	cr_assert_eq(p.stats.wakeups, 1);
	cr_assert_float_eq(rcp_mod_completions_per_wakeup(&p.stats), 20.0, 1e-9);
}
