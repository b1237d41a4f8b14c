/* SPDX-License-Identifier: BSD-3-Clause */
/* proto_fuzz.c -- libFuzzer target: the message and rdma_cm private data decoders */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What must hold for any input:
 *  - the decoders never read past size (ASan) nor hit undefined behaviour (UBSan);
 *  - an accepted message re-encodes to exactly the input bytes (the encoding is canonical)
 *    and decodes again to the same struct;
 *  - whatever the encoder accepts, the decoder accepts.
 */

/* check_msg -- decode, and if accepted, re-encode and compare both ways */
static void check_msg(const uint8_t *data, size_t size)
{
	struct rcp_hdr_info hdr;
	struct rcp_msg m;
	struct rcp_msg again;
	uint8_t out[RCP_MSG_MAX];
	size_t len = 0;

	(void)rcp_hdr_decode(data, size, &hdr);
	if (rcp_msg_decode(data, size, &m) != 0)
		return;
	if (rcp_msg_encode(&m, out, sizeof(out), &len) != 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
	if (rcp_msg_decode(out, len, &again) != 0 || memcmp(&m, &again, sizeof(m)) != 0)
		abort();
	(void)rcp_msg_type_name(m.hdr.type);
}

/* check_encode -- take the input as a host struct: encode must stay within cap, and what it
 * produces must decode */
static void check_encode(const uint8_t *data, size_t size)
{
	static uint8_t out[RCP_MSG_MAX];
	struct rcp_msg m;
	struct rcp_msg d;
	size_t cap;
	size_t len = 0;

	if (size < 2)
		return;
	/* inputs are shorter than the struct (LIST_REPLY makes it > RCP_MSG_MAX): zeros fill in */
	memset(&m, 0, sizeof(m));
	memcpy(&m, data + 2, size - 2 < sizeof(m) ? size - 2 : sizeof(m));
	/* the first two bytes pick the capacity, so short buffers are exercised too */
	cap = ((size_t)data[0] << 8 | data[1]) % (sizeof(out) + 1);
	if (rcp_msg_encode(&m, out, cap, &len) != 0)
		return;
	if (len > cap || rcp_msg_decode(out, len, &d) != 0)
		abort();
}

/* check_cm -- both private data decoders, with the same round trip */
static void check_cm(const uint8_t *data, size_t size)
{
	struct rcp_cm_private p;
	struct rcp_cm_private p2;
	struct rcp_cm_reject r;
	struct rcp_cm_reject r2;
	uint8_t out[RCP_CM_PRIVATE_LEN];
	size_t len = 0;

	if (rcp_cm_private_decode(data, size, &p) == 0) {
		if (rcp_cm_private_encode(&p, out, sizeof(out), &len) != 0)
			abort();
		if (memcmp(out, data, len) != 0)
			abort();
		if (rcp_cm_private_decode(out, len, &p2) != 0 || memcmp(&p, &p2, sizeof(p)) != 0)
			abort();
	}
	if (rcp_cm_reject_decode(data, size, &r) == 0) {
		(void)rcp_reject_name(r.reason);
		if (rcp_cm_reject_encode(&r, out, sizeof(out), &len) != 0)
			abort();
		/* the encoder speaks this version; only the reason must survive */
		if (rcp_cm_reject_decode(out, len, &r2) != 0 || r2.reason != r.reason)
			abort();
		if (r.version == RCP_PROTO_VERSION && memcmp(out, data, len) != 0)
			abort();
	}
}

/* LLVMFuzzerTestOneInput -- one input through every decoder */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_msg(data, size);
	check_cm(data, size);
	check_encode(data, size);
	return 0;
}
