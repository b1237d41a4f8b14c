/* SPDX-License-Identifier: BSD-3-Clause */
/* pattern.h -- deterministic test bytes shared by the reliability tests and their worker */
#ifndef RDMACPY_TESTS_RDMA_RELIABILITY_PATTERN_H
#define RDMACPY_TESTS_RDMA_RELIABILITY_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/*
 * A test and the worker process it drives must agree on the bytes of chunk i without talking:
 * both regenerate them from (seed, i), so a test can check a range after the writer is dead.
 */

/* pattern_fill -- n bytes of xorshift64 output seeded by (seed, index) */
static inline void pattern_fill(uint8_t *p, size_t n, uint64_t seed, uint64_t index)
{
	uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (index + 1) * 0xD1B54A32D192ED03ull;
	size_t i;

	if (!x)
		x = 1;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* pattern_next -- a small generator for sizes and offsets */
static inline uint64_t pattern_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 88172645463325252ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif /* RDMACPY_TESTS_RDMA_RELIABILITY_PATTERN_H */
