/* SPDX-License-Identifier: BSD-3-Clause */
/* auth.c -- pre-shared key loading and the HMAC challenge-response of the handshake */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/auth.h"

#define CLIENT_LABEL "rdmacpy-auth-v1"
#define SERVER_LABEL "rdmacpy-serv-v1"

/* Whitespace a text editor may leave after a key; anything beyond this is not a key file. */
#define KEY_FILE_SLACK 256

_Static_assert(crypto_auth_hmacsha256_BYTES == RCP_MAC_LEN, "MAC is HMAC-SHA256");

/* sodium_ready -- sodium_init() is idempotent and thread-safe, so call it before each use
 * rather than keep a global "initialised" flag */
static int sodium_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* is_trailing_space -- the bytes stripped from the end of a key file */
static int is_trailing_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* rcp_auth_key_wipe -- erase the key material where the compiler cannot elide it */
void rcp_auth_key_wipe(struct rcp_auth_key *key)
{
	if (!key)
		return;
	sodium_memzero(key, sizeof(*key));
}

/* rcp_auth_key_set -- copy key bytes after checking their length */
int rcp_auth_key_set(struct rcp_auth_key *key, const void *bytes, size_t len)
{
	rcp_auth_key_wipe(key);
	if (len < RCP_AUTH_KEY_MIN)
		return -EINVAL;
	if (len > RCP_AUTH_KEY_MAX)
		return -E2BIG;
	memcpy(key->bytes, bytes, len);
	key->len = len;
	return 0;
}

/* rcp_auth_key_load -- read a key file only if nobody but its owner can read it */
int rcp_auth_key_load(const char *path, struct rcp_auth_key *key)
{
	uint8_t buf[RCP_AUTH_KEY_MAX + KEY_FILE_SLACK];
	struct stat st;
	size_t n = 0;
	mode_t perm;
	int ret;
	int fd;

	rcp_auth_key_wipe(key);
	ret = sodium_ready();
	if (ret)
		return ret;
	/* O_NONBLOCK: opening a FIFO must not hang the daemon; fstat refuses it below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* fstat, not stat: check the very file that is read, not what the path names later */
	if (fstat(fd, &st)) {
		ret = -errno;
		goto err_close;
	}
	perm = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode) || (perm != 0600 && perm != 0400)) {
		ret = -EPERM;
		goto err_close;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto err_wipe_buf;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		/* a full buffer means the file is too long, whatever follows */
		if (n == sizeof(buf)) {
			ret = -E2BIG;
			goto err_wipe_buf;
		}
	}
	while (n > 0 && is_trailing_space(buf[n - 1]))
		n--;
	ret = rcp_auth_key_set(key, buf, n);

err_wipe_buf:
	sodium_memzero(buf, sizeof(buf));
err_close:
	close(fd);
	return ret;
}

/* rcp_auth_nonce -- random bytes; libsodium aborts rather than return weak ones */
void rcp_auth_nonce(uint8_t out[RCP_NONCE_LEN])
{
	(void)sodium_ready();
	randombytes_buf(out, RCP_NONCE_LEN);
}

/* mac -- HMAC-SHA256(key, label | first | second) */
static void mac(const struct rcp_auth_key *key, const char *label, const uint8_t *first,
		const uint8_t *second, uint8_t out[RCP_MAC_LEN])
{
	crypto_auth_hmacsha256_state st;

	(void)sodium_ready();
	crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, first, RCP_NONCE_LEN);
	crypto_auth_hmacsha256_update(&st, second, RCP_NONCE_LEN);
	crypto_auth_hmacsha256_final(&st, out);
	/* the state holds the key's inner and outer pads */
	sodium_memzero(&st, sizeof(st));
}

/* rcp_auth_client_mac -- client proof: label, then the daemon's nonce first */
void rcp_auth_client_mac(const struct rcp_auth_key *key, const uint8_t server_nonce[RCP_NONCE_LEN],
			 const uint8_t client_nonce[RCP_NONCE_LEN], uint8_t out[RCP_MAC_LEN])
{
	mac(key, CLIENT_LABEL, server_nonce, client_nonce, out);
}

/* rcp_auth_server_mac -- daemon proof: other label, the client's nonce first */
void rcp_auth_server_mac(const struct rcp_auth_key *key, const uint8_t server_nonce[RCP_NONCE_LEN],
			 const uint8_t client_nonce[RCP_NONCE_LEN], uint8_t out[RCP_MAC_LEN])
{
	mac(key, SERVER_LABEL, client_nonce, server_nonce, out);
}

/* rcp_auth_verify -- constant time, so a forger learns nothing from how long it takes */
bool rcp_auth_verify(const uint8_t a[RCP_MAC_LEN], const uint8_t b[RCP_MAC_LEN])
{
	return sodium_memcmp(a, b, RCP_MAC_LEN) == 0;
}
