/* SPDX-License-Identifier: BSD-3-Clause */
/* auth.h -- pre-shared key loading and the HMAC challenge-response of the handshake */
#ifndef RDMACPY_COMMON_AUTH_H
#define RDMACPY_COMMON_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define RCP_AUTH_KEY_MIN 16
#define RCP_AUTH_KEY_MAX 1024

/*
 * The handshake (docs/DESIGN.md), with K the pre-shared key, Ns the daemon's nonce (CHALLENGE)
 * and Nc the client's (rdma_cm private data):
 *   client MAC = HMAC-SHA256(K, "rdmacpy-auth-v1" | Ns | Nc)   sent in AUTH
 *   server MAC = HMAC-SHA256(K, "rdmacpy-serv-v1" | Nc | Ns)   sent in AUTH_OK
 * The two labels keep a daemon's answer from ever being replayable as a client's.
 */

/* The key lives in the caller's struct (no allocation); rcp_auth_key_wipe() erases it. */
struct rcp_auth_key {
	size_t len;
	uint8_t bytes[RCP_AUTH_KEY_MAX];
};

/*
 * rcp_auth_key_load -- read a key file: its bytes, trailing whitespace (" \t\r\n\v\f")
 * stripped, RCP_AUTH_KEY_MIN..RCP_AUTH_KEY_MAX bytes. Symbolic links are followed.
 * ERRORS
 *   -EPERM   not a regular file, or its mode is not exactly 0600 or 0400 (a key others can
 *            read is no secret, and one with execute bits is not a key file)
 *   -EINVAL  shorter than RCP_AUTH_KEY_MIN bytes (after stripping), empty included
 *   -E2BIG   longer than RCP_AUTH_KEY_MAX bytes (after stripping)
 *   -EIO     libsodium failed to initialise
 *   other    -errno of open/fstat/read (-ENOENT, -EACCES, ...)
 * On failure *key is wiped.
 */
int rcp_auth_key_load(const char *path, struct rcp_auth_key *key);

/* rcp_auth_key_set -- take key bytes from memory (a library caller's own key);
 * -EINVAL if shorter than RCP_AUTH_KEY_MIN, -E2BIG if longer than RCP_AUTH_KEY_MAX */
int rcp_auth_key_set(struct rcp_auth_key *key, const void *bytes, size_t len);

/* rcp_auth_key_wipe -- erase the key material; NULL is fine */
void rcp_auth_key_wipe(struct rcp_auth_key *key);

/* rcp_auth_nonce -- fresh random nonce from the system CSPRNG */
void rcp_auth_nonce(uint8_t out[RCP_NONCE_LEN]);

/* rcp_auth_client_mac -- the MAC the client sends in AUTH */
void rcp_auth_client_mac(const struct rcp_auth_key *key, const uint8_t server_nonce[RCP_NONCE_LEN],
			 const uint8_t client_nonce[RCP_NONCE_LEN], uint8_t out[RCP_MAC_LEN]);

/* rcp_auth_server_mac -- the MAC the daemon sends in AUTH_OK (same argument order) */
void rcp_auth_server_mac(const struct rcp_auth_key *key, const uint8_t server_nonce[RCP_NONCE_LEN],
			 const uint8_t client_nonce[RCP_NONCE_LEN], uint8_t out[RCP_MAC_LEN]);

/* rcp_auth_verify -- compare two MACs in constant time */
bool rcp_auth_verify(const uint8_t a[RCP_MAC_LEN], const uint8_t b[RCP_MAC_LEN]);

#endif /* RDMACPY_COMMON_AUTH_H */
