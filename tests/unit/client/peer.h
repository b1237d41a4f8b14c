/* SPDX-License-Identifier: BSD-3-Clause */
/* peer.h -- a mock rdmacpyd for client unit tests, played over the verbs mock */
#ifndef RDMACPY_TESTS_CLIENT_PEER_H
#define RDMACPY_TESTS_CLIENT_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

#define PEER_KEY_LEN	 32
#define PEER_GRANT_ADDR	 0x7f0000000000ull
#define PEER_RKEY_BASE	 0x1000u
#define PEER_REGION_SIZE (64ull << 20)
#define PEER_INSTANCE	 0x1122334455667788ull

/* How the mock daemon behaves. Zero is a healthy daemon that requires the key. */
struct peer_cfg {
	bool no_auth;		  /* CHALLENGE says RCP_CAP_NO_AUTH */
	bool bad_server_mac;	  /* AUTH_OK carries a wrong MAC */
	bool no_challenge;	  /* never send CHALLENGE (the client must time out) */
	enum rcp_err auth_err;	  /* answer AUTH with ERROR(auth_err) */
	enum rcp_err open_err;	  /* answer OPEN with ERROR(open_err) */
	bool mr_fallback;	  /* OPEN_REPLY says the rkey is the region MR's */
	enum rcp_rights rights;	  /* rights granted (0: as asked) */
	enum rcp_err copy_err;	  /* answer COPY with ERROR(copy_err) */
	enum rcp_err copy_status; /* else COPY_PROGRESS x3, then COPY_REPLY with this status */
	unsigned int copy_gap_ms; /* pause before each COPY message (tests the timeout reset) */
	/* collect this many requests (AUTH excepted) before answering any, then answer them in
	 * a scrambled order; 0: answer each at once */
	unsigned int hold;
	uint32_t silent; /* bit t set: requests of type t are never answered */
	unsigned int addrs; /* INFO names this many addresses, 127.0.0.1 on (0: one) */
};

/* peer_key -- the key both sides use */
const uint8_t *peer_key(void);

/* peer_start -- reset the verbs mock (auto cm, auto complete, payload capture) and start the
 * mock daemon thread */
void peer_start(const struct peer_cfg *cfg);

/* peer_stop -- stop the thread */
void peer_stop(void);

/* peer_set_instance -- OPEN_REPLY tells this region instance from now on (a recreated region) */
void peer_set_instance(uint64_t instance);

/* peer_set_addr_base -- OPEN_REPLY addresses start here from now on (default PEER_GRANT_ADDR) */
void peer_set_addr_base(uint64_t base);

/* peer_client_mac_ok -- whether every AUTH carried the right client MAC */
bool peer_client_mac_ok(void);

/* peer_requests -- control requests of a type the daemon answered */
unsigned int peer_requests(enum rcp_msg_type type);

/* peer_max_held -- the most requests the daemon held unanswered at once (hold mode) */
unsigned int peer_max_held(void);

#endif /* RDMACPY_TESTS_CLIENT_PEER_H */
