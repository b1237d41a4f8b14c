/* SPDX-License-Identifier: BSD-3-Clause */
/* test_checksum.c -- BLAKE2b-256 known answers; incremental equals one-shot at any split */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checksum.h"

/* The BLAKE2b-256 (unkeyed, 32-byte output) digests from the reference implementation. */
static const char empty_hex[] = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
static const char abc_hex[] = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";

/* to_hex -- digest as lowercase hex */
static void to_hex(const uint8_t d[RCP_CHECKSUM_LEN], char out[2 * RCP_CHECKSUM_LEN + 1])
{
	size_t i;

	for (i = 0; i < RCP_CHECKSUM_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* fill_random -- deterministic pseudo-random bytes, so a failure can be replayed */
static void fill_random(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(rand() & 0xff);
}

Test(checksum, one_shot__empty_input_matches_known_answer)
{
	uint8_t d[RCP_CHECKSUM_LEN];
	char hex[2 * RCP_CHECKSUM_LEN + 1];

	cr_assert_eq(rcp_checksum(NULL, 0, d), 0);
	to_hex(d, hex);
	cr_assert_str_eq(hex, empty_hex);
}

Test(checksum, one_shot__abc_matches_known_answer)
{
	uint8_t d[RCP_CHECKSUM_LEN];
	char hex[2 * RCP_CHECKSUM_LEN + 1];

	cr_assert_eq(rcp_checksum("abc", 3, d), 0);
	to_hex(d, hex);
	cr_assert_str_eq(hex, abc_hex);
}

Test(checksum, incremental__abc_byte_by_byte_matches_known_answer)
{
	struct rcp_checksum_state s;
	uint8_t d[RCP_CHECKSUM_LEN];
	char hex[2 * RCP_CHECKSUM_LEN + 1];

	cr_assert_eq(rcp_checksum_init(&s), 0);
	cr_assert_eq(rcp_checksum_update(&s, "a", 1), 0);
	cr_assert_eq(rcp_checksum_update(&s, "b", 1), 0);
	cr_assert_eq(rcp_checksum_update(&s, "c", 1), 0);
	cr_assert_eq(rcp_checksum_final(&s, d), 0);
	to_hex(d, hex);
	cr_assert_str_eq(hex, abc_hex);
}

Test(checksum, incremental__no_update_equals_empty_known_answer)
{
	struct rcp_checksum_state s;
	uint8_t d[RCP_CHECKSUM_LEN];
	char hex[2 * RCP_CHECKSUM_LEN + 1];

	cr_assert_eq(rcp_checksum_init(&s), 0);
	cr_assert_eq(rcp_checksum_update(&s, NULL, 0), 0);
	cr_assert_eq(rcp_checksum_final(&s, d), 0);
	to_hex(d, hex);
	cr_assert_str_eq(hex, empty_hex);
}

Test(checksum, incremental__random_splits_equal_one_shot)
{
	enum { LEN = 1 << 20 };
	uint8_t *buf = malloc(LEN);
	uint8_t want[RCP_CHECKSUM_LEN];
	unsigned int round;

	cr_assert_not_null(buf);
	fill_random(buf, LEN, 12345);
	cr_assert_eq(rcp_checksum(buf, LEN, want), 0);
	for (round = 0; round < 50; round++) {
		struct rcp_checksum_state s;
		uint8_t got[RCP_CHECKSUM_LEN];
		size_t off = 0;

		srand(1000 + round);
		cr_assert_eq(rcp_checksum_init(&s), 0);
		while (off < LEN) {
			/* any split: empty pieces, pieces straddling 128-byte blocks */
			size_t piece = (size_t)rand() % (round % 2 ? 300 : 70000);

			if (piece > LEN - off)
				piece = LEN - off;
			cr_assert_eq(rcp_checksum_update(&s, buf + off, piece), 0);
			off += piece;
		}
		cr_assert_eq(rcp_checksum_final(&s, got), 0);
		cr_assert_arr_eq(got, want, RCP_CHECKSUM_LEN, "round %u differs", round);
	}
	free(buf);
}

Test(checksum, one_shot__one_bit_flip_changes_digest)
{
	uint8_t buf[4096];
	uint8_t a[RCP_CHECKSUM_LEN];
	uint8_t b[RCP_CHECKSUM_LEN];

	fill_random(buf, sizeof(buf), 7);
	cr_assert_eq(rcp_checksum(buf, sizeof(buf), a), 0);
	buf[2049] ^= 0x10;
	cr_assert_eq(rcp_checksum(buf, sizeof(buf), b), 0);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
}

Test(checksum, one_shot__null_buffer_with_length_is_einval)
{
	uint8_t d[RCP_CHECKSUM_LEN];

	cr_assert_eq(rcp_checksum(NULL, 1, d), -EINVAL);
	cr_assert_eq(rcp_checksum("x", 1, NULL), -EINVAL);
}

Test(checksum, incremental__null_arguments_are_einval)
{
	struct rcp_checksum_state s;
	uint8_t d[RCP_CHECKSUM_LEN];

	cr_assert_eq(rcp_checksum_init(NULL), -EINVAL);
	cr_assert_eq(rcp_checksum_init(&s), 0);
	cr_assert_eq(rcp_checksum_update(NULL, "x", 1), -EINVAL);
	cr_assert_eq(rcp_checksum_update(&s, NULL, 1), -EINVAL);
	cr_assert_eq(rcp_checksum_final(&s, NULL), -EINVAL);
	cr_assert_eq(rcp_checksum_final(NULL, d), -EINVAL);
}

Test(checksum, final__twice_on_same_state_is_einval)
{
	struct rcp_checksum_state s;
	uint8_t d[RCP_CHECKSUM_LEN];

	cr_assert_eq(rcp_checksum_init(&s), 0);
	cr_assert_eq(rcp_checksum_update(&s, "abc", 3), 0);
	cr_assert_eq(rcp_checksum_final(&s, d), 0);
	cr_assert_eq(rcp_checksum_final(&s, d), -EINVAL);
}
