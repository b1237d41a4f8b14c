/* SPDX-License-Identifier: BSD-3-Clause */
/* clock.h -- the monotonic clock, in nanoseconds, for both sides */
#ifndef RDMACPY_COMMON_CLOCK_H
#define RDMACPY_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* rcp_mono_ns -- CLOCK_MONOTONIC in nanoseconds */
static inline uint64_t rcp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* RDMACPY_COMMON_CLOCK_H */
