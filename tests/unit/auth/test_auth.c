/* SPDX-License-Identifier: BSD-3-Clause */
/* test_auth.c -- key file rules and the handshake MACs (common/auth.c) */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/auth.h"

/* Each Criterion test runs in its own process, so one scratch directory per test, made by the
 * tests that touch files and removed when the process exits, whether the test passed or not. */
static char dir[64];
static char path[128];

/* scratch_cleanup -- remove whatever the test left in its directory */
static void scratch_cleanup(void)
{
	char sub[128];

	unlink(path);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
}

/* scratch_dir -- a fresh directory, and path naming the key file inside it */
static void scratch_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rdmacpy-auth-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	cr_assert_eq(atexit(scratch_cleanup), 0);
}

/* write_key -- create the key file with these bytes and exactly this mode */
static void write_key(const void *bytes, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
	/* chmod, not the open mode: the umask must not decide what the test checks */
	cr_assert_eq(chmod(path, mode), 0);
}

static const char good_key[] = "correct horse battery staple";

Test(auth, key_load__mode_0600_accepted)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, strlen(good_key));
	cr_assert_arr_eq(key.bytes, good_key, strlen(good_key));
}

Test(auth, key_load__mode_0400_accepted)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0400);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, strlen(good_key));
}

Test(auth, key_load__mode_0644_refused)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0644);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
}

Test(auth, key_load__mode_0640_group_readable_refused)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0640);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
}

Test(auth, key_load__mode_0604_other_readable_refused)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0604);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
}

Test(auth, key_load__mode_0700_executable_refused)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key(good_key, strlen(good_key), 0700);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
}

Test(auth, key_load__missing_file)
{
	struct rcp_auth_key key;

	scratch_dir();
	cr_assert_eq(rcp_auth_key_load(path, &key), -ENOENT);
}

Test(auth, key_load__directory_refused)
{
	struct rcp_auth_key key;
	char sub[128];

	scratch_dir();
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(rcp_auth_key_load(sub, &key), -EPERM);
}

Test(auth, key_load__fifo_refused_without_blocking)
{
	struct rcp_auth_key key;

	scratch_dir();
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
}

Test(auth, key_load__empty_file)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key("", 0, 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EINVAL);
}

Test(auth, key_load__too_short)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key("0123456789abcde", RCP_AUTH_KEY_MIN - 1, 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EINVAL);
}

Test(auth, key_load__too_short_once_whitespace_stripped)
{
	static const char text[] = "0123456789abcde \t\r\n\n";
	struct rcp_auth_key key;

	scratch_dir();
	write_key(text, strlen(text), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EINVAL);
}

Test(auth, key_load__minimum_length_accepted)
{
	struct rcp_auth_key key;

	scratch_dir();
	write_key("0123456789abcdef", RCP_AUTH_KEY_MIN, 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, RCP_AUTH_KEY_MIN);
}

Test(auth, key_load__too_long)
{
	uint8_t bytes[RCP_AUTH_KEY_MAX + 1];
	struct rcp_auth_key key;

	scratch_dir();
	memset(bytes, 'k', sizeof(bytes));
	write_key(bytes, sizeof(bytes), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), -E2BIG);
}

Test(auth, key_load__far_too_long)
{
	static uint8_t bytes[64 * 1024];
	struct rcp_auth_key key;

	scratch_dir();
	memset(bytes, 'k', sizeof(bytes));
	write_key(bytes, sizeof(bytes), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), -E2BIG);
}

Test(auth, key_load__maximum_length_with_newline_accepted)
{
	uint8_t bytes[RCP_AUTH_KEY_MAX + 1];
	struct rcp_auth_key key;

	scratch_dir();
	memset(bytes, 'k', RCP_AUTH_KEY_MAX);
	bytes[RCP_AUTH_KEY_MAX] = '\n';
	write_key(bytes, sizeof(bytes), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, RCP_AUTH_KEY_MAX);
}

Test(auth, key_load__only_trailing_whitespace_stripped)
{
	static const char text[] = "  lead and inner space\tkept \r\n\t \n";
	static const char want[] = "  lead and inner space\tkept";
	struct rcp_auth_key key;

	scratch_dir();
	write_key(text, strlen(text), 0600);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, strlen(want));
	cr_assert_arr_eq(key.bytes, want, strlen(want));
}

Test(auth, key_load__binary_key_kept_whole)
{
	uint8_t bytes[32];
	struct rcp_auth_key key;
	size_t i;

	scratch_dir();
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 37 + 1);
	bytes[5] = 0;
	write_key(bytes, sizeof(bytes), 0400);
	cr_assert_eq(rcp_auth_key_load(path, &key), 0);
	cr_assert_eq(key.len, sizeof(bytes));
	cr_assert_arr_eq(key.bytes, bytes, sizeof(bytes));
}

Test(auth, key_load__failure_wipes_previous_key)
{
	struct rcp_auth_key key;
	uint8_t zero[RCP_AUTH_KEY_MAX] = {0};

	scratch_dir();
	cr_assert_eq(rcp_auth_key_set(&key, good_key, strlen(good_key)), 0);
	write_key(good_key, strlen(good_key), 0644);
	cr_assert_eq(rcp_auth_key_load(path, &key), -EPERM);
	cr_assert_eq(key.len, 0);
	cr_assert_arr_eq(key.bytes, zero, sizeof(zero));
}

Test(auth, key_set__too_short)
{
	struct rcp_auth_key key;

	cr_assert_eq(rcp_auth_key_set(&key, good_key, RCP_AUTH_KEY_MIN - 1), -EINVAL);
	cr_assert_eq(key.len, 0);
}

Test(auth, key_set__too_long)
{
	static uint8_t bytes[RCP_AUTH_KEY_MAX + 1];
	struct rcp_auth_key key;

	cr_assert_eq(rcp_auth_key_set(&key, bytes, sizeof(bytes)), -E2BIG);
	cr_assert_eq(key.len, 0);
}

Test(auth, key_wipe__zeroes_and_accepts_null)
{
	struct rcp_auth_key key;
	uint8_t zero[RCP_AUTH_KEY_MAX] = {0};

	cr_assert_eq(rcp_auth_key_set(&key, good_key, strlen(good_key)), 0);
	rcp_auth_key_wipe(&key);
	cr_assert_eq(key.len, 0);
	cr_assert_arr_eq(key.bytes, zero, sizeof(zero));
	rcp_auth_key_wipe(NULL);
}

/*
 * Known answers computed independently (Python hmac/hashlib):
 * key "@ABCDEFGHIJKLMNOPQRS", Ns = 00..1f, Nc = 80..9f.
 */
static void kat_inputs(struct rcp_auth_key *key, uint8_t ns[RCP_NONCE_LEN],
		       uint8_t nc[RCP_NONCE_LEN])
{
	int i;

	for (i = 0; i < RCP_NONCE_LEN; i++) {
		ns[i] = (uint8_t)i;
		nc[i] = (uint8_t)(0x80 + i);
	}
	cr_assert_eq(rcp_auth_key_set(key, "@ABCDEFGHIJKLMNOPQRS", 20), 0);
}

Test(auth, client_mac__known_answer)
{
	static const uint8_t want[RCP_MAC_LEN] = {
		0x08, 0xd9, 0xdf, 0x8b, 0x5b, 0xcd, 0x91, 0x03, 0x42, 0x37, 0xab,
		0x57, 0xc0, 0xee, 0x6d, 0xb2, 0xf2, 0x00, 0xa3, 0x43, 0xd2, 0x4b,
		0x24, 0x8c, 0x38, 0x6a, 0x5a, 0xfc, 0x1c, 0x1c, 0xc3, 0x08,
	};
	struct rcp_auth_key key;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t out[RCP_MAC_LEN];

	kat_inputs(&key, ns, nc);
	rcp_auth_client_mac(&key, ns, nc, out);
	cr_assert_arr_eq(out, want, RCP_MAC_LEN);
}

Test(auth, server_mac__known_answer)
{
	static const uint8_t want[RCP_MAC_LEN] = {
		0x52, 0x5f, 0xec, 0xda, 0x7f, 0xd1, 0xb3, 0x01, 0x1f, 0xb4, 0x49,
		0x94, 0xbc, 0x35, 0xe2, 0xd5, 0x63, 0x12, 0x45, 0x48, 0x4c, 0x30,
		0x9f, 0xd0, 0x30, 0x9f, 0x99, 0x14, 0x3b, 0xe2, 0xe1, 0x8d,
	};
	struct rcp_auth_key key;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t out[RCP_MAC_LEN];

	kat_inputs(&key, ns, nc);
	rcp_auth_server_mac(&key, ns, nc, out);
	cr_assert_arr_eq(out, want, RCP_MAC_LEN);
}

Test(auth, client_mac__known_answer_key_longer_than_block)
{
	static const uint8_t want[RCP_MAC_LEN] = {
		0xd7, 0xc5, 0x38, 0x96, 0x21, 0xeb, 0xd2, 0x64, 0x96, 0xfd, 0x3c,
		0xd6, 0xb0, 0xf1, 0x83, 0x59, 0xc6, 0x8f, 0x75, 0xe2, 0xb3, 0xb0,
		0x9b, 0x4c, 0xeb, 0x18, 0x78, 0xc5, 0xe0, 0x44, 0x63, 0x9e,
	};
	struct rcp_auth_key key;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t out[RCP_MAC_LEN];
	char long_key[100];

	kat_inputs(&key, ns, nc);
	memset(long_key, 'k', sizeof(long_key));
	cr_assert_eq(rcp_auth_key_set(&key, long_key, sizeof(long_key)), 0);
	rcp_auth_client_mac(&key, ns, nc, out);
	cr_assert_arr_eq(out, want, RCP_MAC_LEN);
}

Test(auth, mac__file_key_and_memory_key_agree)
{
	struct rcp_auth_key from_file;
	struct rcp_auth_key from_memory;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t client[RCP_MAC_LEN];
	uint8_t server[RCP_MAC_LEN];

	scratch_dir();
	rcp_auth_nonce(ns);
	rcp_auth_nonce(nc);
	write_key("shared-secret-0123456789\n", 25, 0600);
	cr_assert_eq(rcp_auth_key_load(path, &from_file), 0);
	cr_assert_eq(rcp_auth_key_set(&from_memory, "shared-secret-0123456789", 24), 0);
	rcp_auth_client_mac(&from_file, ns, nc, client);
	rcp_auth_client_mac(&from_memory, ns, nc, server);
	cr_assert(rcp_auth_verify(client, server));
	rcp_auth_server_mac(&from_file, ns, nc, client);
	rcp_auth_server_mac(&from_memory, ns, nc, server);
	cr_assert(rcp_auth_verify(client, server));
}

Test(auth, mac__wrong_key_mismatch)
{
	struct rcp_auth_key key_a;
	struct rcp_auth_key key_b;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t a[RCP_MAC_LEN];
	uint8_t b[RCP_MAC_LEN];

	rcp_auth_nonce(ns);
	rcp_auth_nonce(nc);
	cr_assert_eq(rcp_auth_key_set(&key_a, "0123456789abcdef", 16), 0);
	cr_assert_eq(rcp_auth_key_set(&key_b, "0123456789abcdeg", 16), 0);
	rcp_auth_client_mac(&key_a, ns, nc, a);
	rcp_auth_client_mac(&key_b, ns, nc, b);
	cr_assert_not(rcp_auth_verify(a, b));
}

Test(auth, mac__swapped_nonces_mismatch)
{
	struct rcp_auth_key key;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t a[RCP_MAC_LEN];
	uint8_t b[RCP_MAC_LEN];

	kat_inputs(&key, ns, nc);
	rcp_auth_client_mac(&key, ns, nc, a);
	rcp_auth_client_mac(&key, nc, ns, b);
	cr_assert_not(rcp_auth_verify(a, b));
}

Test(auth, mac__server_answer_is_not_a_client_answer)
{
	struct rcp_auth_key key;
	uint8_t ns[RCP_NONCE_LEN];
	uint8_t nc[RCP_NONCE_LEN];
	uint8_t client[RCP_MAC_LEN];
	uint8_t server[RCP_MAC_LEN];

	kat_inputs(&key, ns, nc);
	/* even with the nonces reflected, the labels keep the two MACs apart */
	rcp_auth_client_mac(&key, ns, nc, client);
	rcp_auth_server_mac(&key, nc, ns, server);
	cr_assert_not(rcp_auth_verify(client, server));
}

Test(auth, verify__equal)
{
	uint8_t a[RCP_MAC_LEN];
	uint8_t b[RCP_MAC_LEN];

	rcp_auth_nonce(a);
	memcpy(b, a, sizeof(b));
	cr_assert(rcp_auth_verify(a, b));
}

Test(auth, verify__last_bit_differs)
{
	uint8_t a[RCP_MAC_LEN];
	uint8_t b[RCP_MAC_LEN];

	rcp_auth_nonce(a);
	memcpy(b, a, sizeof(b));
	b[RCP_MAC_LEN - 1] ^= 1;
	cr_assert_not(rcp_auth_verify(a, b));
}

Test(auth, nonce__two_draws_differ)
{
	uint8_t a[RCP_NONCE_LEN];
	uint8_t b[RCP_NONCE_LEN];

	rcp_auth_nonce(a);
	rcp_auth_nonce(b);
	cr_assert_arr_neq(a, b, RCP_NONCE_LEN);
}
