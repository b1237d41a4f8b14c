/* SPDX-License-Identifier: BSD-3-Clause */
/* checksum.c -- BLAKE2b-256 over a buffer or a stream, through libsodium's generichash */
#include "common/checksum.h"

#include <errno.h>

/*
 * sodium_init is idempotent and thread-safe; calling it here lets every caller checksum
 * without a global init step, and selects the fastest BLAKE2b code for this CPU.
 */
/* ensure_sodium -- initialise libsodium once; 0 or -EIO */
static int ensure_sodium(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* rcp_checksum -- BLAKE2b-256 of buf[0..len) into out; 0 or -errno */
int rcp_checksum(const void *buf, size_t len, uint8_t out[RCP_CHECKSUM_LEN])
{
	int ret;

	if (!out || (!buf && len))
		return -EINVAL;
	ret = ensure_sodium();
	if (ret)
		return ret;
	if (crypto_generichash(out, RCP_CHECKSUM_LEN, buf, len, NULL, 0) != 0)
		return -EIO;
	return 0;
}

/* rcp_checksum_init -- start an incremental checksum; 0 or -errno */
int rcp_checksum_init(struct rcp_checksum_state *s)
{
	int ret;

	if (!s)
		return -EINVAL;
	ret = ensure_sodium();
	if (ret)
		return ret;
	if (crypto_generichash_init(&s->st, NULL, 0, RCP_CHECKSUM_LEN) != 0)
		return -EIO;
	return 0;
}

/* rcp_checksum_update -- feed the next len bytes; any split gives the one-shot result */
int rcp_checksum_update(struct rcp_checksum_state *s, const void *buf, size_t len)
{
	if (!s || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (crypto_generichash_update(&s->st, buf, len) != 0)
		return -EIO;
	return 0;
}

/* rcp_checksum_final -- write the digest; a second final on the same state fails */
int rcp_checksum_final(struct rcp_checksum_state *s, uint8_t out[RCP_CHECKSUM_LEN])
{
	if (!s || !out)
		return -EINVAL;
	/* libsodium marks the state finished and refuses to finish it twice */
	if (crypto_generichash_final(&s->st, out, RCP_CHECKSUM_LEN) != 0)
		return -EINVAL;
	return 0;
}
