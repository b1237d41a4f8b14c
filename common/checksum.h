/* SPDX-License-Identifier: BSD-3-Clause */
/* checksum.h -- range checksum for CHECKSUM and --verify: BLAKE2b-256 (libsodium) */
#ifndef RDMACPY_COMMON_CHECKSUM_H
#define RDMACPY_COMMON_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/* Digest size in bytes: BLAKE2b with a 256-bit output, unkeyed */
#define RCP_CHECKSUM_LEN 32

/* State of an incremental checksum; init before use, final once */
struct rcp_checksum_state {
	crypto_generichash_state st;
};

/* rcp_checksum -- BLAKE2b-256 of buf[0..len) into out; 0 or -errno */
int rcp_checksum(const void *buf, size_t len, uint8_t out[RCP_CHECKSUM_LEN]);

/* rcp_checksum_init -- start an incremental checksum; 0 or -errno */
int rcp_checksum_init(struct rcp_checksum_state *s);

/* rcp_checksum_update -- feed the next len bytes; any split gives the one-shot result */
int rcp_checksum_update(struct rcp_checksum_state *s, const void *buf, size_t len);

/* rcp_checksum_final -- write the digest; 0, or -EINVAL on a state already finished */
int rcp_checksum_final(struct rcp_checksum_state *s, uint8_t out[RCP_CHECKSUM_LEN]);

#endif /* RDMACPY_COMMON_CHECKSUM_H */
