/* SPDX-License-Identifier: BSD-3-Clause */
/* test_proto.c -- control message and rdma_cm private data codec (proto/) */

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proto/proto.h"
#include "proto/wire.h"

/* Offsets into an encoded message, straight from the wire layouts. */
#define HDR(field)	 offsetof(struct rcp_wire_hdr, field)
#define PAY(type, field) (RCP_HDR_LEN + offsetof(struct rcp_wire_##type, field))
#define ENTRY(i, field)                                                                            \
	(RCP_HDR_LEN + sizeof(struct rcp_wire_list_reply) + (i) * sizeof(struct rcp_wire_region) + \
	 offsetof(struct rcp_wire_region, field))

static uint8_t buf[RCP_MSG_MAX + 64];

/* put_le16 -- patch a little-endian u16 into an encoded message */
static void put_le16(size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(buf + off, &v, sizeof(v));
}

/* put_le32 -- patch a little-endian u32 into an encoded message */
static void put_le32(size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(buf + off, &v, sizeof(v));
}

/* put_le64 -- patch a little-endian u64 into an encoded message */
static void put_le64(size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(buf + off, &v, sizeof(v));
}

/* fill -- a recognisable byte pattern for nonces, MACs and digests */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* set_str -- fill a string field, failing the test if the value does not fit */
static void set_str(char *dst, size_t cap, const char *src)
{
	cr_assert_eq(rcp_strfield_set(dst, cap, src), 0, "field value \"%s\"", src);
}

/* sample -- a valid message of each type, with every field away from zero where it can be */
static void sample(struct rcp_msg *m, enum rcp_msg_type type)
{
	uint32_t i;

	rcp_msg_init(m, type, 0x11223344);
	/* what a decoder reports back, so that a roundtrip compares equal */
	m->hdr.version = RCP_PROTO_VERSION;
	switch (type) {
	case RCP_MSG_CHALLENGE:
		m->hdr.req_id = 0;
		fill(m->u.challenge.nonce, RCP_NONCE_LEN, 1);
		m->u.challenge.caps = RCP_CAP_MW | RCP_CAP_COPY;
		break;
	case RCP_MSG_AUTH:
		fill(m->u.auth.mac, RCP_MAC_LEN, 2);
		break;
	case RCP_MSG_AUTH_OK:
		fill(m->u.auth_ok.mac, RCP_MAC_LEN, 3);
		break;
	case RCP_MSG_ERROR:
		m->u.error.code = RCP_ERR_NOENT;
		set_str(m->u.error.text, RCP_ERR_TEXT_MAX, "no region \"scratch\"");
		break;
	case RCP_MSG_LIST:
		m->u.list.start = 7;
		break;
	case RCP_MSG_LIST_REPLY:
		m->u.list_reply.count = 3;
		m->u.list_reply.total = 10;
		for (i = 0; i < 3; i++) {
			struct rcp_region_info *r = &m->u.list_reply.entries[i];

			r->name[0] = (char)('a' + i);
			strcpy(r->name + 1, "-region");
			r->size = (1ull << 30) + i;
			r->rights = i == 1 ? RCP_RIGHTS_RO : RCP_RIGHTS_RW;
			r->kind = (enum rcp_region_kind)(RCP_KIND_ANON + i);
			r->flags = i == 2 ? RCP_REGION_F_DYNAMIC : 0;
		}
		break;
	case RCP_MSG_OPEN:
		set_str(m->u.open.name, RCP_NAME_MAX, "pmem0");
		m->u.open.offset = 0x1000;
		m->u.open.length = 0x200000;
		m->u.open.rights = RCP_RIGHTS_RW;
		break;
	case RCP_MSG_OPEN_REPLY:
		m->u.open_reply.grant_id = 42;
		m->u.open_reply.flags = RCP_GRANT_F_MR_FALLBACK;
		m->u.open_reply.addr = 0x7f0012340000ull;
		m->u.open_reply.length = 0x200000;
		m->u.open_reply.rkey = 0xabcdef01;
		m->u.open_reply.rights = RCP_RIGHTS_RO;
		m->u.open_reply.instance = 0x0102030405060708ull;
		break;
	case RCP_MSG_CLOSE:
		m->u.close.grant_id = 42;
		break;
	case RCP_MSG_FLUSH:
		set_str(m->u.flush.name, RCP_NAME_MAX, "journal");
		m->u.flush.offset = 4096;
		m->u.flush.length = 8192;
		break;
	case RCP_MSG_CHECKSUM:
		set_str(m->u.checksum.name, RCP_NAME_MAX, "pmem0");
		m->u.checksum.offset = 1;
		m->u.checksum.length = 12345;
		break;
	case RCP_MSG_CHECKSUM_REPLY:
		fill(m->u.checksum_reply.digest, RCP_CHECKSUM_LEN, 4);
		break;
	case RCP_MSG_STAT_REPLY: {
		/* distinct values so that swapped counters would show */
		uint64_t v = 1000;

#define SET_STAT(name) m->u.stat_reply.name = v++;
		RCP_STAT_FIELDS(SET_STAT);
#undef SET_STAT
		m->u.stat_reply.mw_fallback = 1;
		m->u.stat_reply.grant_mr_per_grant = 1;
		m->u.stat_reply.count = RCP_STAT_COUNT;
		break;
	}
	case RCP_MSG_CREATE:
		set_str(m->u.create.name, RCP_NAME_MAX, "scratch");
		m->u.create.size = 1 << 20;
		m->u.create.rights = RCP_RIGHTS_RW;
		break;
	case RCP_MSG_CREATE_REPLY:
		m->u.create_reply.size = 2 << 20;
		break;
	case RCP_MSG_DESTROY:
		set_str(m->u.destroy.name, RCP_NAME_MAX, "scratch");
		break;
	case RCP_MSG_COPY:
		set_str(m->u.copy.src, RCP_NAME_MAX, "pmem0");
		m->u.copy.src_offset = 100;
		m->u.copy.length = 1 << 24;
		set_str(m->u.copy.dst_host, RCP_HOST_MAX, "fe80::1%rxe0");
		m->u.copy.dst_port = 7471;
		set_str(m->u.copy.dst, RCP_NAME_MAX, "backup");
		m->u.copy.dst_offset = 200;
		break;
	case RCP_MSG_COPY_PROGRESS:
		m->u.copy_progress.done = 1 << 20;
		m->u.copy_progress.length = 1 << 24;
		break;
	case RCP_MSG_COPY_REPLY:
		m->u.copy_reply.bytes = 1 << 24;
		m->u.copy_reply.status = RCP_ERR_NONE;
		break;
	case RCP_MSG_INFO_REPLY:
		m->u.info_reply.port = 18515;
		m->u.info_reply.count = 2;
		for (i = 0; i < 2; i++) {
			snprintf(m->u.info_reply.addrs[i].addr, RCP_ADDR_MAX, "198.18.%u.1", i);
			snprintf(m->u.info_reply.addrs[i].device, RCP_DEVNAME_MAX, "rxe%u", i);
			m->u.info_reply.addrs[i].rate_mbps = 100000;
			m->u.info_reply.addrs[i].port_num = 1;
		}
		break;
	default:
		/* CLOSE_REPLY, FLUSH_REPLY, STAT, DESTROY_REPLY, INFO carry no payload */
		break;
	}
}

/* encode_sample -- encode the sample of a type into buf and return its length */
static size_t encode_sample(enum rcp_msg_type type)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, type);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0, "encode %s",
		     rcp_msg_type_name(type));
	return len;
}

/* roundtrip -- encode, decode, compare; then re-encode and compare bytes (canonical form) */
static void roundtrip(const struct rcp_msg *m, size_t want_len, struct rcp_msg *out)
{
	uint8_t again[RCP_MSG_MAX];
	struct rcp_msg want = *m;
	size_t len = 0;
	size_t len2 = 0;

	/* version 0 means the current one; the decoder says which it read */
	if (!want.hdr.version)
		want.hdr.version = RCP_PROTO_VERSION;
	m = &want;

	cr_assert_eq(rcp_msg_encode(m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, want_len, "%s: %zu bytes, want %zu", rcp_msg_type_name(m->hdr.type), len,
		     want_len);
	cr_assert_eq(rcp_msg_decode(buf, len, out), 0);
	cr_assert_eq(memcmp(m, out, sizeof(*m)), 0, "%s decodes to what was encoded",
		     rcp_msg_type_name(m->hdr.type));
	cr_assert_eq(rcp_msg_encode(out, again, sizeof(again), &len2), 0);
	cr_assert_eq(len2, len);
	cr_assert_arr_eq(again, buf, len);
}

/* roundtrip_type -- roundtrip of a type's sample */
static void roundtrip_type(enum rcp_msg_type type, size_t payload, struct rcp_msg *out)
{
	struct rcp_msg m;

	sample(&m, type);
	roundtrip(&m, RCP_HDR_LEN + payload, out);
	cr_assert_eq(out->hdr.type, type);
	cr_assert_eq(out->hdr.req_id, m.hdr.req_id);
}

/* expect_decode -- decoding buf[0, len) fails with err and leaves nothing behind */
static void expect_decode(size_t len, int err)
{
	struct rcp_msg out;
	static const struct rcp_msg zero;

	memset(&out, 0xa5, sizeof(out));
	cr_assert_eq(rcp_msg_decode(buf, len, &out), err, "want %d (%s)", err, strerror(-err));
	cr_assert_eq(memcmp(&out, &zero, sizeof(out)), 0, "output cleared on failure");
}

/* ---- round trips, one per message type ---- */

Test(proto, roundtrip__challenge)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CHALLENGE, 40, &d);
	cr_assert_eq(d.u.challenge.caps, RCP_CAP_MW | RCP_CAP_COPY);
	cr_assert_eq(d.u.challenge.nonce[31], (uint8_t)(1 + 31 * 7));
}

Test(proto, roundtrip__auth)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_AUTH, 32, &d);
	cr_assert_eq(d.u.auth.mac[1], 9);
}

Test(proto, roundtrip__auth_ok)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_AUTH_OK, 32, &d);
	cr_assert_eq(d.u.auth_ok.mac[1], 10);
}

Test(proto, roundtrip__error)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_ERROR, 8 + strlen("no region \"scratch\"") + 1, &d);
	cr_assert_eq(d.u.error.code, RCP_ERR_NOENT);
	cr_assert_str_eq(d.u.error.text, "no region \"scratch\"");
}

Test(proto, roundtrip__error_empty_text)
{
	struct rcp_msg m;
	struct rcp_msg d;

	rcp_msg_init_error(&m, 5, RCP_ERR_BUSY, NULL);
	roundtrip(&m, RCP_HDR_LEN + 8 + 1, &d);
	cr_assert_str_eq(d.u.error.text, "");
}

Test(proto, roundtrip__error_longest_text)
{
	struct rcp_msg m;
	struct rcp_msg d;

	sample(&m, RCP_MSG_ERROR);
	memset(m.u.error.text, 'x', RCP_ERR_TEXT_MAX - 1);
	roundtrip(&m, RCP_HDR_LEN + 8 + RCP_ERR_TEXT_MAX, &d);
	cr_assert_eq(strlen(d.u.error.text), RCP_ERR_TEXT_MAX - 1);
}

Test(proto, roundtrip__list)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_LIST, 8, &d);
	cr_assert_eq(d.u.list.start, 7);
}

Test(proto, roundtrip__list_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_LIST_REPLY, 8 + 3 * 80, &d);
	cr_assert_eq(d.u.list_reply.count, 3);
	cr_assert_eq(d.u.list_reply.total, 10);
	cr_assert_str_eq(d.u.list_reply.entries[2].name, "c-region");
	cr_assert_eq(d.u.list_reply.entries[2].kind, RCP_KIND_FILE);
	cr_assert_eq(d.u.list_reply.entries[2].flags, RCP_REGION_F_DYNAMIC);
	cr_assert_eq(d.u.list_reply.entries[1].rights, RCP_RIGHTS_RO);
}

Test(proto, roundtrip__list_reply_empty)
{
	struct rcp_msg m;
	struct rcp_msg d;

	rcp_msg_init(&m, RCP_MSG_LIST_REPLY, 9);
	roundtrip(&m, RCP_HDR_LEN + 8, &d);
	cr_assert_eq(d.u.list_reply.count, 0);
}

Test(proto, roundtrip__list_reply_full)
{
	struct rcp_msg m;
	struct rcp_msg d;
	uint32_t i;

	rcp_msg_init(&m, RCP_MSG_LIST_REPLY, 9);
	m.u.list_reply.count = RCP_LIST_MAX;
	m.u.list_reply.total = 1000;
	for (i = 0; i < RCP_LIST_MAX; i++) {
		struct rcp_region_info *r = &m.u.list_reply.entries[i];

		memset(r->name, 'n', RCP_NAME_MAX - 1);
		r->size = i + 1;
		r->rights = RCP_RIGHTS_RO;
		r->kind = RCP_KIND_HUGE;
	}
	roundtrip(&m, RCP_HDR_LEN + 8 + RCP_LIST_MAX * 80, &d);
	cr_assert_eq(d.u.list_reply.entries[RCP_LIST_MAX - 1].size, RCP_LIST_MAX);
}

Test(proto, roundtrip__open)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_OPEN, 88, &d);
	cr_assert_str_eq(d.u.open.name, "pmem0");
	cr_assert_eq(d.u.open.offset, 0x1000);
	cr_assert_eq(d.u.open.length, 0x200000);
	cr_assert_eq(d.u.open.rights, RCP_RIGHTS_RW);
}

Test(proto, roundtrip__open_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_OPEN_REPLY, 40, &d);
	cr_assert_eq(d.u.open_reply.grant_id, 42);
	cr_assert_eq(d.u.open_reply.addr, 0x7f0012340000ull);
	cr_assert_eq(d.u.open_reply.rkey, 0xabcdef01);
	cr_assert_eq(d.u.open_reply.flags, RCP_GRANT_F_MR_FALLBACK);
	cr_assert_eq(d.u.open_reply.instance, 0x0102030405060708ull);
}

/* a client of version 3 gets the OPEN_REPLY it knows: no instance id, which reads as 0 */
Test(proto, open_reply__before_version_4_has_no_instance)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN_REPLY);
	cr_assert_eq(rcp_msg_encode_version(&m, 3, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, RCP_HDR_LEN + 32);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_eq(d.hdr.version, 3);
	cr_assert_eq(d.u.open_reply.grant_id, 42);
	cr_assert_eq(d.u.open_reply.instance, 0);
	/* and a version 4 reply cut to version 3's length does not decode */
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	buf[12] = 32;
	cr_assert_neq(rcp_msg_decode(buf, len - 8, &d), 0);
}

Test(proto, roundtrip__close)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CLOSE, 8, &d);
	cr_assert_eq(d.u.close.grant_id, 42);
}

Test(proto, roundtrip__close_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CLOSE_REPLY, 0, &d);
}

Test(proto, roundtrip__flush_by_name)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_FLUSH, 88, &d);
	cr_assert_str_eq(d.u.flush.name, "journal");
	cr_assert_eq(d.u.flush.grant_id, 0);
	cr_assert_eq(d.u.flush.length, 8192);
}

Test(proto, roundtrip__flush_by_grant)
{
	struct rcp_msg m;
	struct rcp_msg d;

	sample(&m, RCP_MSG_FLUSH);
	memset(m.u.flush.name, 0, RCP_NAME_MAX);
	m.u.flush.grant_id = 17;
	roundtrip(&m, RCP_HDR_LEN + 88, &d);
	cr_assert_eq(d.u.flush.grant_id, 17);
	cr_assert_str_eq(d.u.flush.name, "");
}

Test(proto, roundtrip__flush_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_FLUSH_REPLY, 0, &d);
}

Test(proto, roundtrip__checksum)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CHECKSUM, 80, &d);
	cr_assert_eq(d.u.checksum.length, 12345);
}

Test(proto, roundtrip__checksum_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CHECKSUM_REPLY, 32, &d);
	cr_assert_eq(d.u.checksum_reply.digest[0], 4);
}

Test(proto, roundtrip__stat)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_STAT, 0, &d);
}

Test(proto, roundtrip__stat_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_STAT_REPLY, 8 + RCP_STAT_COUNT * 8, &d);
	cr_assert_eq(d.u.stat_reply.count, RCP_STAT_COUNT);
	cr_assert_eq(d.u.stat_reply.clients_connected, 1000);
	cr_assert_eq(d.u.stat_reply.grants_total, 1003);
	cr_assert_eq(d.u.stat_reply.mw_fallback, 1);
	cr_assert_eq(d.u.stat_reply.uptime_ms, 1015);
	cr_assert_eq(d.u.stat_reply.bytes_flushed, 1000 + RCP_STAT_COUNT - 1);
}

Test(proto, stat_reply__version_1_carries_the_first_16)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	sample(&m, RCP_MSG_STAT_REPLY);
	cr_assert_eq(rcp_msg_encode_version(&m, 1, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, RCP_HDR_LEN + 128);
	cr_assert_eq(buf[HDR(version)], 1);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_eq(d.hdr.version, 1);
	cr_assert_eq(d.u.stat_reply.count, RCP_STAT_V1_COUNT);
	cr_assert_eq(d.u.stat_reply.uptime_ms, 1015);
	cr_assert_eq(d.u.stat_reply.clients_pending, 0, "not in version 1");
	cr_assert_eq(d.u.stat_reply.bytes_flushed, 0, "not in version 1");
}

Test(proto, stat_reply__unknown_counters_are_skipped)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	/* a newer daemon sends two counters this side does not know */
	sample(&m, RCP_MSG_STAT_REPLY);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	put_le64(len, 77);
	put_le64(len + 8, 78);
	put_le32(PAY(stat_reply_v2, count), RCP_STAT_COUNT + 2);
	put_le16(HDR(length), (uint16_t)(len + 16 - RCP_HDR_LEN));
	cr_assert_eq(rcp_msg_decode(buf, len + 16, &d), 0);
	cr_assert_eq(d.u.stat_reply.count, RCP_STAT_COUNT + 2);
	cr_assert_eq(d.u.stat_reply.bytes_flushed, 1000 + RCP_STAT_COUNT - 1);
}

Test(proto, stat_reply__an_older_daemon_s_shorter_list)
{
	struct rcp_msg d;
	size_t len = encode_sample(RCP_MSG_STAT_REPLY);
	size_t shorter = len - (RCP_STAT_COUNT - RCP_STAT_V1_COUNT) * 8;

	put_le32(PAY(stat_reply_v2, count), RCP_STAT_V1_COUNT);
	put_le16(HDR(length), (uint16_t)(shorter - RCP_HDR_LEN));
	cr_assert_eq(rcp_msg_decode(buf, shorter, &d), 0);
	cr_assert_eq(d.u.stat_reply.count, RCP_STAT_V1_COUNT);
	cr_assert_eq(d.u.stat_reply.uptime_ms, 1015);
	cr_assert_eq(d.u.stat_reply.clients_pending, 0);
}

Test(proto, stat_reply__count_out_of_bounds_or_not_matching)
{
	size_t len = encode_sample(RCP_MSG_STAT_REPLY);

	put_le32(PAY(stat_reply_v2, count), RCP_STAT_V1_COUNT - 1);
	expect_decode(len, -EBADMSG);
	put_le32(PAY(stat_reply_v2, count), RCP_STAT_WIRE_MAX + 1);
	expect_decode(len, -EBADMSG);
	put_le32(PAY(stat_reply_v2, count), RCP_STAT_COUNT + 1);
	expect_decode(len, -EBADMSG);
	put_le32(PAY(stat_reply_v2, count), RCP_STAT_COUNT);
	put_le32(PAY(stat_reply_v2, reserved), 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, version__a_request_in_version_1_decodes)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN);
	cr_assert_eq(rcp_msg_encode_version(&m, 1, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_eq(d.hdr.version, 1);
	cr_assert_str_eq(d.u.open.name, m.u.open.name);
}

Test(proto, version__encode_refuses_what_it_does_not_speak)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_LIST);
	cr_assert_eq(rcp_msg_encode_version(&m, RCP_PROTO_VERSION + 1, buf, sizeof(buf), &len),
		     -EINVAL);
	m.hdr.version = RCP_PROTO_VERSION_MIN - 1 ? RCP_PROTO_VERSION_MIN - 1 : 255;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, version__busy_is_full_to_version_1)
{
	cr_assert_eq(rcp_reject_for_version(RCP_REJECT_BUSY, 1), RCP_REJECT_FULL);
	cr_assert_eq(rcp_reject_for_version(RCP_REJECT_BUSY, 2), RCP_REJECT_BUSY);
	cr_assert_eq(rcp_reject_for_version(RCP_REJECT_SHUTDOWN, 1), RCP_REJECT_SHUTDOWN);
}

Test(proto, roundtrip__create)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CREATE, 80, &d);
	cr_assert_str_eq(d.u.create.name, "scratch");
	cr_assert_eq(d.u.create.size, 1 << 20);
}

Test(proto, roundtrip__create_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_CREATE_REPLY, 8, &d);
	cr_assert_eq(d.u.create_reply.size, 2 << 20);
}

Test(proto, roundtrip__destroy)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_DESTROY, 64, &d);
	cr_assert_str_eq(d.u.destroy.name, "scratch");
}

Test(proto, roundtrip__destroy_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_DESTROY_REPLY, 0, &d);
}

Test(proto, roundtrip__copy)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_COPY, 416, &d);
	cr_assert_str_eq(d.u.copy.dst_host, "fe80::1%rxe0");
	cr_assert_eq(d.u.copy.dst_port, 7471);
	cr_assert_str_eq(d.u.copy.dst, "backup");
	cr_assert_eq(d.u.copy.dst_offset, 200);
}

Test(proto, roundtrip__copy_progress)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_COPY_PROGRESS, 16, &d);
	cr_assert_eq(d.u.copy_progress.done, 1 << 20);
}

Test(proto, roundtrip__copy_reply)
{
	struct rcp_msg d;

	roundtrip_type(RCP_MSG_COPY_REPLY, 16, &d);
	cr_assert_eq(d.u.copy_reply.bytes, 1 << 24);
	cr_assert_eq(d.u.copy_reply.status, RCP_ERR_NONE);
}

Test(proto, roundtrip__copy_reply_with_error_status)
{
	struct rcp_msg m;
	struct rcp_msg d;

	sample(&m, RCP_MSG_COPY_REPLY);
	m.u.copy_reply.status = RCP_ERR_IO;
	roundtrip(&m, RCP_HDR_LEN + 16, &d);
	cr_assert_eq(d.u.copy_reply.status, RCP_ERR_IO);
}

/* ---- the layout itself ---- */

Test(proto, encode__wire_layout_little_endian)
{
	static const uint8_t want[] = {
		0x52, 0x43, 0x50, 0x59, /* magic "RCPY" */
		0x04,			/* version */
		0x09,			/* CLOSE */
		0x00, 0x00,		/* flags */
		0x44, 0x33, 0x22, 0x11, /* request id */
		0x08, 0x00,		/* payload length */
		0x00, 0x00,		/* reserved */
		0x04, 0x03, 0x02, 0x01, /* grant id */
		0x00, 0x00, 0x00, 0x00, /* reserved */
	};
	struct rcp_msg m;
	size_t len = 0;

	rcp_msg_init(&m, RCP_MSG_CLOSE, 0x11223344);
	m.u.close.grant_id = 0x01020304;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(proto, encode__unaligned_buffer)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN_REPLY);
	cr_assert_eq(rcp_msg_encode(&m, buf + 1, sizeof(buf) - 1, &len), 0);
	cr_assert_eq(rcp_msg_decode(buf + 1, len, &d), 0);
	cr_assert_eq(d.u.open_reply.addr, m.u.open_reply.addr);
}

Test(proto, encode__string_tail_zeroed_from_dirty_field)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN);
	/* garbage after the NUL in the caller's field must not reach the wire */
	memcpy(m.u.open.name, "ab\0garbage", 11);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(buf[PAY(open, name) + 3], 0);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_str_eq(d.u.open.name, "ab");
}

/* ---- encode refusals ---- */

Test(proto, encode__buffer_too_small)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN);
	cr_assert_eq(rcp_msg_encode(&m, buf, RCP_HDR_LEN + 88 - 1, &len), -ENOSPC);
	cr_assert_eq(rcp_msg_encode(&m, buf, RCP_HDR_LEN + 88, &len), 0);
	cr_assert_eq(len, RCP_HDR_LEN + 88);
}

Test(proto, encode__buffer_smaller_than_header)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_STAT);
	cr_assert_eq(rcp_msg_encode(&m, buf, RCP_HDR_LEN - 1, &len), -ENOSPC);
}

Test(proto, encode__unknown_type)
{
	struct rcp_msg m;
	size_t len = 0;

	rcp_msg_init(&m, (enum rcp_msg_type)(RCP_MSG_TYPE_MAX + 1), 1);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, encode__bad_rights)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_OPEN);
	m.u.open.rights = (enum rcp_rights)3;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, encode__unterminated_name)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_DESTROY);
	memset(m.u.destroy.name, 'a', RCP_NAME_MAX);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, encode__list_reply_count_above_max)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_LIST_REPLY);
	m.u.list_reply.count = RCP_LIST_MAX + 1;
	m.u.list_reply.total = RCP_LIST_MAX + 1;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, encode__unknown_header_flags)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_STAT);
	m.hdr.flags = 0x8000;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

/* ---- decode: the header ---- */

Test(proto, decode__truncated_header)
{
	encode_sample(RCP_MSG_STAT);
	expect_decode(RCP_HDR_LEN - 1, -EBADMSG);
}

Test(proto, decode__empty_buffer)
{
	expect_decode(0, -EBADMSG);
}

Test(proto, decode__longer_than_msg_max)
{
	encode_sample(RCP_MSG_STAT);
	expect_decode(RCP_MSG_MAX + 1, -E2BIG);
}

Test(proto, decode__bad_magic)
{
	size_t len = encode_sample(RCP_MSG_LIST);

	buf[HDR(magic)] ^= 0x20;
	expect_decode(len, -EPROTO);
}

Test(proto, decode__bad_version)
{
	size_t len = encode_sample(RCP_MSG_LIST);

	buf[HDR(version)] = RCP_PROTO_VERSION + 1;
	expect_decode(len, -EPROTONOSUPPORT);
	buf[HDR(version)] = RCP_PROTO_VERSION_MIN - 1;
	expect_decode(len, -EPROTONOSUPPORT);
}

Test(proto, decode__unknown_type)
{
	size_t len = encode_sample(RCP_MSG_STAT);

	buf[HDR(type)] = RCP_MSG_TYPE_MAX + 1;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__type_zero)
{
	size_t len = encode_sample(RCP_MSG_STAT);

	buf[HDR(type)] = 0;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__unknown_header_flags)
{
	size_t len = encode_sample(RCP_MSG_LIST);

	put_le16(HDR(flags), 0x0001);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__header_reserved_nonzero)
{
	size_t len = encode_sample(RCP_MSG_LIST);

	put_le16(HDR(reserved), 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__length_mismatch_payload_truncated)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	expect_decode(len - 1, -EBADMSG);
}

Test(proto, decode__length_mismatch_trailing_bytes)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	expect_decode(len + 1, -EBADMSG);
}

Test(proto, decode__payload_length_wrong_for_type)
{
	size_t len = encode_sample(RCP_MSG_CLOSE);

	/* header and buffer agree on 12 bytes, but CLOSE has 8 */
	put_le16(HDR(length), 12);
	expect_decode(len + 4, -EBADMSG);
}

Test(proto, decode__empty_type_with_payload)
{
	size_t len = encode_sample(RCP_MSG_STAT);

	put_le16(HDR(length), 8);
	expect_decode(len + 8, -EBADMSG);
}

Test(proto, hdr_decode__unknown_type_keeps_request_id)
{
	struct rcp_hdr_info h;
	struct rcp_msg d;
	size_t len = encode_sample(RCP_MSG_STAT);

	buf[HDR(type)] = 200;
	cr_assert_eq(rcp_msg_decode(buf, len, &d), -EBADMSG);
	cr_assert_eq(rcp_hdr_decode(buf, len, &h), 0);
	cr_assert_eq(h.type, 200);
	cr_assert_eq(h.req_id, 0x11223344);
}

Test(proto, hdr_decode__bad_magic)
{
	struct rcp_hdr_info h;
	size_t len = encode_sample(RCP_MSG_STAT);

	put_le32(HDR(magic), 0);
	cr_assert_eq(rcp_hdr_decode(buf, len, &h), -EPROTO);
}

/* ---- decode: payload fields ---- */

Test(proto, decode__unterminated_name)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	memset(buf + PAY(open, name), 'a', RCP_NAME_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__bytes_after_name_nul)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	buf[PAY(open, name) + RCP_NAME_MAX - 1] = 'x';
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__empty_name)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	memset(buf + PAY(open, name), 0, RCP_NAME_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__name_with_space)
{
	size_t len = encode_sample(RCP_MSG_DESTROY);

	buf[PAY(destroy, name) + 1] = ' ';
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__name_with_control_character)
{
	size_t len = encode_sample(RCP_MSG_CREATE);

	buf[PAY(create, name)] = '\n';
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__bad_rights_zero)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	buf[PAY(open, rights)] = 0;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__bad_rights_unknown)
{
	size_t len = encode_sample(RCP_MSG_CREATE);

	buf[PAY(create, rights)] = 3;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__open_reply_bad_rights)
{
	size_t len = encode_sample(RCP_MSG_OPEN_REPLY);

	buf[PAY(open_reply, rights)] = 0xff;
	expect_decode(len, -EBADMSG);
}

/* every reserved byte of every layout, one at a time */
Test(proto, decode__payload_reserved_nonzero)
{
	static const struct {
		enum rcp_msg_type type;
		size_t off;
	} spots[] = {
		{RCP_MSG_CHALLENGE, PAY(challenge, reserved)},
		{RCP_MSG_ERROR, PAY(error, reserved) + 3},
		{RCP_MSG_LIST, PAY(list, reserved)},
		{RCP_MSG_LIST_REPLY, ENTRY(1, reserved) + 2},
		{RCP_MSG_OPEN, PAY(open, reserved) + 6},
		{RCP_MSG_OPEN_REPLY, PAY(open_reply, reserved)},
		{RCP_MSG_CLOSE, PAY(close, reserved) + 1},
		{RCP_MSG_FLUSH, PAY(flush, reserved)},
		{RCP_MSG_CREATE, PAY(create, reserved)},
		{RCP_MSG_COPY, PAY(copy, reserved0)},
		{RCP_MSG_COPY, PAY(copy, reserved1) + 3},
		{RCP_MSG_COPY_REPLY, PAY(copy_reply, reserved)},
	};
	size_t i;

	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		size_t len = encode_sample(spots[i].type);

		buf[spots[i].off] = 0x01;
		expect_decode(len, -EBADMSG);
	}
}

Test(proto, decode__offset_length_overflow)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	put_le64(PAY(open, offset), UINT64_MAX - 10);
	put_le64(PAY(open, length), 11);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__offset_length_ending_at_u64_max)
{
	struct rcp_msg d;
	size_t len = encode_sample(RCP_MSG_CHECKSUM);

	/* the last byte of the address space is reachable: only a wrap is malformed */
	put_le64(PAY(checksum, offset), UINT64_MAX - 10);
	put_le64(PAY(checksum, length), 10);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
}

Test(proto, decode__zero_length)
{
	size_t len = encode_sample(RCP_MSG_OPEN);

	put_le64(PAY(open, length), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__open_reply_addr_length_overflow)
{
	size_t len = encode_sample(RCP_MSG_OPEN_REPLY);

	put_le64(PAY(open_reply, addr), UINT64_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__open_reply_zero_grant)
{
	size_t len = encode_sample(RCP_MSG_OPEN_REPLY);

	put_le32(PAY(open_reply, grant_id), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__open_reply_unknown_flags)
{
	size_t len = encode_sample(RCP_MSG_OPEN_REPLY);

	put_le32(PAY(open_reply, flags), 0x2);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__close_zero_grant)
{
	size_t len = encode_sample(RCP_MSG_CLOSE);

	put_le32(PAY(close, grant_id), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__flush_name_and_grant)
{
	size_t len = encode_sample(RCP_MSG_FLUSH);

	put_le32(PAY(flush, grant_id), 3);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__flush_neither_name_nor_grant)
{
	size_t len = encode_sample(RCP_MSG_FLUSH);

	memset(buf + PAY(flush, name), 0, RCP_NAME_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__flush_by_grant_with_name_tail)
{
	size_t len = encode_sample(RCP_MSG_FLUSH);

	/* empty name, but bytes after its NUL */
	buf[PAY(flush, name)] = 0;
	put_le32(PAY(flush, grant_id), 3);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__flush_offset_length_overflow)
{
	size_t len = encode_sample(RCP_MSG_FLUSH);

	put_le64(PAY(flush, offset), UINT64_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__checksum_zero_length)
{
	size_t len = encode_sample(RCP_MSG_CHECKSUM);

	put_le64(PAY(checksum, length), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__challenge_unknown_caps)
{
	size_t len = encode_sample(RCP_MSG_CHALLENGE);

	put_le32(PAY(challenge, caps), RCP_CAP_ALL + 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_count_exceeds_payload)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le32(PAY(list_reply, count), 4);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_count_short_of_payload)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le32(PAY(list_reply, count), 2);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_count_above_max)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le32(PAY(list_reply, count), UINT32_MAX);
	put_le32(PAY(list_reply, total), UINT32_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_count_above_total)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le32(PAY(list_reply, total), 2);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_truncated_fixed_part)
{
	encode_sample(RCP_MSG_LIST_REPLY);
	put_le16(HDR(length), 4);
	expect_decode(RCP_HDR_LEN + 4, -EBADMSG);
}

Test(proto, decode__list_reply_entry_unterminated_name)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	memset(buf + ENTRY(2, name), 'z', RCP_NAME_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_entry_bad_kind)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	buf[ENTRY(0, kind)] = 4;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_entry_bad_rights)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	buf[ENTRY(1, rights)] = 0;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_entry_unknown_flags)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le16(ENTRY(0, flags), 0x8000);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__list_reply_entry_zero_size)
{
	size_t len = encode_sample(RCP_MSG_LIST_REPLY);

	put_le64(ENTRY(2, size), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_code_none)
{
	size_t len = encode_sample(RCP_MSG_ERROR);

	put_le32(PAY(error, code), RCP_ERR_NONE);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_code_unknown)
{
	size_t len = encode_sample(RCP_MSG_ERROR);

	put_le32(PAY(error, code), RCP_ERR_MAX + 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_text_unterminated)
{
	size_t len = encode_sample(RCP_MSG_ERROR);

	buf[len - 1] = 'x';
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_text_embedded_nul)
{
	size_t len = encode_sample(RCP_MSG_ERROR);

	buf[PAY(error, reserved) + 4 + 2] = 0;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_text_control_character)
{
	size_t len = encode_sample(RCP_MSG_ERROR);

	buf[PAY(error, reserved) + 4] = 0x1b;
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__error_text_missing)
{
	encode_sample(RCP_MSG_ERROR);
	put_le16(HDR(length), 8);
	expect_decode(RCP_HDR_LEN + 8, -EBADMSG);
}

Test(proto, decode__error_text_too_long)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_ERROR);
	memset(m.u.error.text, 'x', RCP_ERR_TEXT_MAX - 1);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	/* one more character before the NUL */
	buf[len - 1] = 'x';
	buf[len] = 0;
	put_le16(HDR(length), (uint16_t)(len + 1 - RCP_HDR_LEN));
	expect_decode(len + 1, -EBADMSG);
}

Test(proto, decode__stat_mw_fallback_not_boolean)
{
	size_t len = encode_sample(RCP_MSG_STAT_REPLY);

	put_le64(PAY(stat_reply_v2, count) + 8 + RCP_STAT_I_mw_fallback * 8, 2);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__create_zero_size)
{
	size_t len = encode_sample(RCP_MSG_CREATE);

	put_le64(PAY(create, size), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__create_reply_zero_size)
{
	size_t len = encode_sample(RCP_MSG_CREATE_REPLY);

	put_le64(PAY(create_reply, size), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_empty_host)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	memset(buf + PAY(copy, dst_host), 0, RCP_HOST_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_unterminated_host)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	memset(buf + PAY(copy, dst_host), 'h', RCP_HOST_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_empty_destination_region)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	memset(buf + PAY(copy, dst), 0, RCP_NAME_MAX);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_zero_port)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	put_le16(PAY(copy, dst_port), 0);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_source_range_overflow)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	put_le64(PAY(copy, src_offset), UINT64_MAX - 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_destination_range_overflow)
{
	size_t len = encode_sample(RCP_MSG_COPY);

	put_le64(PAY(copy, dst_offset), UINT64_MAX - 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_progress_done_exceeds_length)
{
	size_t len = encode_sample(RCP_MSG_COPY_PROGRESS);

	put_le64(PAY(copy_progress, done), (1 << 24) + 1);
	expect_decode(len, -EBADMSG);
}

Test(proto, decode__copy_reply_unknown_status)
{
	size_t len = encode_sample(RCP_MSG_COPY_REPLY);

	put_le32(PAY(copy_reply, status), RCP_ERR_MAX + 1);
	expect_decode(len, -EBADMSG);
}

/* ---- rdma_cm private data ---- */

/* cm_sample -- valid connect private data */
static void cm_sample(struct rcp_cm_private *p)
{
	memset(p, 0, sizeof(*p));
	p->flags = RCP_CM_F_NO_KEY;
	fill(p->nonce, RCP_NONCE_LEN, 9);
}

Test(proto, cm_private__roundtrip)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, RCP_CM_PRIVATE_LEN);
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), 0);
	cr_assert_eq(d.version, RCP_PROTO_VERSION);
	cr_assert_eq(d.flags, RCP_CM_F_NO_KEY);
	cr_assert_arr_eq(d.nonce, p.nonce, RCP_NONCE_LEN);
}

Test(proto, cm_private__proposes_an_older_version)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	p.version = 1;
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), 0);
	cr_assert_eq(d.version, 1);
	p.version = RCP_PROTO_VERSION + 1;
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, cm_private__padded_by_transport_accepted)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_cm_private_decode(buf, 56, &d), 0);
	cr_assert_arr_eq(d.nonce, p.nonce, RCP_NONCE_LEN);
}

Test(proto, cm_private__too_short)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_cm_private_decode(buf, len - 1, &d), -EBADMSG);
	cr_assert_eq(rcp_cm_private_decode(NULL, 0, &d), -EBADMSG);
}

Test(proto, cm_private__bad_magic)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	buf[offsetof(struct rcp_wire_cm_private, magic) + 3] ^= 1;
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), -EPROTO);
}

Test(proto, cm_private__bad_version_reported)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	put_le16(offsetof(struct rcp_wire_cm_private, version), 7);
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), -EPROTONOSUPPORT);
	cr_assert_eq(d.version, 7);
}

Test(proto, cm_private__unknown_flags)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	put_le16(offsetof(struct rcp_wire_cm_private, flags), 0x4);
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), -EBADMSG);
}

Test(proto, cm_private__reserved_nonzero)
{
	struct rcp_cm_private p;
	struct rcp_cm_private d;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), 0);
	buf[offsetof(struct rcp_wire_cm_private, reserved) + 7] = 1;
	cr_assert_eq(rcp_cm_private_decode(buf, len, &d), -EBADMSG);
}

Test(proto, cm_private__encode_buffer_too_small)
{
	struct rcp_cm_private p;
	size_t len = 0;

	cm_sample(&p);
	cr_assert_eq(rcp_cm_private_encode(&p, buf, RCP_CM_PRIVATE_LEN - 1, &len), -ENOSPC);
}

Test(proto, cm_private__encode_unknown_flags)
{
	struct rcp_cm_private p;
	size_t len = 0;

	cm_sample(&p);
	p.flags = 0x100;
	cr_assert_eq(rcp_cm_private_encode(&p, buf, sizeof(buf), &len), -EINVAL);
}

Test(proto, cm_reject__roundtrip)
{
	struct rcp_cm_reject r = {.reason = RCP_REJECT_FULL};
	struct rcp_cm_reject d;
	size_t len = 0;

	cr_assert_eq(rcp_cm_reject_encode(&r, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, RCP_CM_REJECT_LEN);
	cr_assert_eq(rcp_cm_reject_decode(buf, len, &d), 0);
	cr_assert_eq(d.reason, RCP_REJECT_FULL);
	cr_assert_eq(d.version, RCP_PROTO_VERSION);
}

Test(proto, cm_reject__other_version_accepted)
{
	struct rcp_cm_reject r = {.reason = RCP_REJECT_BAD_VERSION};
	struct rcp_cm_reject d;
	size_t len = 0;

	cr_assert_eq(rcp_cm_reject_encode(&r, buf, sizeof(buf), &len), 0);
	put_le16(offsetof(struct rcp_wire_cm_reject, version), 3);
	cr_assert_eq(rcp_cm_reject_decode(buf, 148, &d), 0);
	cr_assert_eq(d.version, 3);
	cr_assert_eq(d.reason, RCP_REJECT_BAD_VERSION);
}

Test(proto, cm_reject__too_short)
{
	struct rcp_cm_reject r = {.reason = RCP_REJECT_SHUTDOWN};
	struct rcp_cm_reject d;
	size_t len = 0;

	cr_assert_eq(rcp_cm_reject_encode(&r, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_cm_reject_decode(buf, len - 1, &d), -EBADMSG);
}

Test(proto, cm_reject__bad_magic)
{
	struct rcp_cm_reject d;

	/* what a peer that is not rdmacpy might put in its reject */
	memset(buf, 0, 16);
	cr_assert_eq(rcp_cm_reject_decode(buf, 16, &d), -EPROTO);
}

Test(proto, cm_reject__unknown_reason)
{
	struct rcp_cm_reject r = {.reason = RCP_REJECT_FULL};
	struct rcp_cm_reject d;
	size_t len = 0;

	cr_assert_eq(rcp_cm_reject_encode(&r, buf, sizeof(buf), &len), 0);
	put_le16(offsetof(struct rcp_wire_cm_reject, reason), RCP_REJECT_MAX + 1);
	cr_assert_eq(rcp_cm_reject_decode(buf, len, &d), -EBADMSG);
}

Test(proto, cm_reject__encode_invalid_reason)
{
	struct rcp_cm_reject r = {.reason = (enum rcp_reject_reason)0};
	size_t len = 0;

	cr_assert_eq(rcp_cm_reject_encode(&r, buf, sizeof(buf), &len), -EINVAL);
}

/* ---- helpers ---- */

Test(proto, names__known_and_unknown)
{
	cr_assert_str_eq(rcp_msg_type_name(RCP_MSG_OPEN_REPLY), "OPEN_REPLY");
	cr_assert_str_eq(rcp_msg_type_name(RCP_MSG_COPY_REPLY), "COPY_REPLY");
	cr_assert_str_eq(rcp_msg_type_name(0), "UNKNOWN");
	cr_assert_str_eq(rcp_msg_type_name(999), "UNKNOWN");
	cr_assert_str_eq(rcp_err_name(RCP_ERR_NOENT), "NOENT");
	cr_assert_str_eq(rcp_err_name(RCP_ERR_EXIST), "EXIST");
	cr_assert_str_eq(rcp_err_name(RCP_ERR_MAX + 1), "UNKNOWN");
	cr_assert_str_eq(rcp_reject_name(RCP_REJECT_BAD_VERSION), "BAD_VERSION");
	cr_assert_str_eq(rcp_reject_name(0), "UNKNOWN");
}

Test(proto, info__roundtrip_and_only_from_version_3)
{
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;
	unsigned int v;

	sample(&m, RCP_MSG_INFO_REPLY);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, RCP_HDR_LEN + 8 + 2 * 88);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_eq(d.u.info_reply.port, 18515);
	cr_assert_eq(d.u.info_reply.count, 2);
	cr_assert_str_eq(d.u.info_reply.addrs[1].addr, "198.18.1.1");
	cr_assert_str_eq(d.u.info_reply.addrs[1].device, "rxe1");
	cr_assert_eq(d.u.info_reply.addrs[1].rate_mbps, 100000);
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_INFO), RCP_MSG_INFO_REPLY);
	/* versions 1 and 2 have no such types: neither side may send them there */
	for (v = 1; v < 3; v++) {
		cr_assert_eq(rcp_msg_encode_version(&m, v, buf, sizeof(buf), &len), -EINVAL);
		rcp_msg_init(&d, RCP_MSG_INFO, 7);
		cr_assert_eq(rcp_msg_encode_version(&d, v, buf, sizeof(buf), &len), -EINVAL);
	}
	/* and a version 2 header on an INFO does not decode */
	rcp_msg_init(&d, RCP_MSG_INFO, 7);
	cr_assert_eq(rcp_msg_encode(&d, buf, sizeof(buf), &len), 0);
	buf[4] = 2;
	cr_assert_eq(rcp_msg_decode(buf, len, &d), -EBADMSG);
}

Test(proto, info_reply__bad_fields_refused)
{
	struct rcp_msg m;
	size_t len = 0;

	sample(&m, RCP_MSG_INFO_REPLY);
	m.u.info_reply.count = 0;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(&m, RCP_MSG_INFO_REPLY);
	m.u.info_reply.count = RCP_INFO_MAX + 1;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(&m, RCP_MSG_INFO_REPLY);
	m.u.info_reply.port = 0;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(&m, RCP_MSG_INFO_REPLY);
	m.u.info_reply.addrs[1].addr[0] = '\0';
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	sample(&m, RCP_MSG_INFO_REPLY);
	m.u.info_reply.addrs[0].port_num = 0;
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	/* a count that says more entries than the payload holds */
	sample(&m, RCP_MSG_INFO_REPLY);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	buf[RCP_HDR_LEN + 2] = 3;
	cr_assert_eq(rcp_msg_decode(buf, len, &m), -EBADMSG);
	/* a reserved byte set */
	sample(&m, RCP_MSG_INFO_REPLY);
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	buf[RCP_HDR_LEN + 8 + 87] = 1;
	cr_assert_eq(rcp_msg_decode(buf, len, &m), -EBADMSG);
}

Test(proto, names__every_type_and_code_named)
{
	unsigned int i;

	for (i = 1; i <= RCP_MSG_TYPE_MAX; i++)
		cr_assert_str_neq(rcp_msg_type_name(i), "UNKNOWN", "type %u", i);
	for (i = 0; i <= RCP_ERR_MAX; i++)
		cr_assert_str_neq(rcp_err_name(i), "UNKNOWN", "code %u", i);
	for (i = 1; i <= RCP_REJECT_MAX; i++)
		cr_assert_str_neq(rcp_reject_name(i), "UNKNOWN", "reason %u", i);
}

Test(proto, err_from_errno__maps_both_signs)
{
	cr_assert_eq(rcp_err_from_errno(-ENOENT), RCP_ERR_NOENT);
	cr_assert_eq(rcp_err_from_errno(EACCES), RCP_ERR_ACCESS);
	cr_assert_eq(rcp_err_from_errno(-EDQUOT), RCP_ERR_LIMIT);
	cr_assert_eq(rcp_err_from_errno(-EEXIST), RCP_ERR_EXIST);
	cr_assert_eq(rcp_err_from_errno(0), RCP_ERR_NONE);
	cr_assert_eq(rcp_err_from_errno(-EXDEV), RCP_ERR_INTERNAL);
}

Test(proto, reply_type__requests_and_others)
{
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_OPEN), RCP_MSG_OPEN_REPLY);
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_COPY), RCP_MSG_COPY_REPLY);
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_CHALLENGE), RCP_MSG_AUTH);
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_OPEN_REPLY), 0);
	cr_assert_eq(rcp_msg_reply_type(RCP_MSG_ERROR), 0);
}

Test(proto, init_error__text_cut_and_cleaned)
{
	char text[300];
	struct rcp_msg m;
	struct rcp_msg d;
	size_t len = 0;

	memset(text, 'e', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	text[3] = '\n';
	rcp_msg_init_error(&m, 77, RCP_ERR_IO, text);
	cr_assert_eq(strlen(m.u.error.text), RCP_ERR_TEXT_MAX - 1);
	cr_assert_eq(m.u.error.text[3], '?');
	cr_assert_eq(rcp_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(rcp_msg_decode(buf, len, &d), 0);
	cr_assert_eq(d.hdr.req_id, 77);
	cr_assert_eq(d.u.error.code, RCP_ERR_IO);
}

Test(proto, init_error__out_of_range_code_becomes_internal)
{
	struct rcp_msg m;

	rcp_msg_init_error(&m, 1, RCP_ERR_NONE, "x");
	cr_assert_eq(m.u.error.code, RCP_ERR_INTERNAL);
	rcp_msg_init_error(&m, 1, (enum rcp_err)500, "x");
	cr_assert_eq(m.u.error.code, RCP_ERR_INTERNAL);
}

Test(proto, strfield_set__fits_empty_too_long)
{
	char name[RCP_NAME_MAX];
	char longest[RCP_NAME_MAX + 1];

	memset(longest, 'n', sizeof(longest));
	longest[RCP_NAME_MAX - 1] = 0;
	cr_assert_eq(rcp_strfield_set(name, sizeof(name), longest), 0);
	longest[RCP_NAME_MAX - 1] = 'n';
	longest[RCP_NAME_MAX] = 0;
	cr_assert_eq(rcp_strfield_set(name, sizeof(name), longest), -ENAMETOOLONG);
	cr_assert_eq(rcp_strfield_set(name, sizeof(name), ""), -EINVAL);
	cr_assert_eq(rcp_strfield_set(name, sizeof(name), NULL), -EINVAL);
}

Test(proto, stat__names_and_values_by_index)
{
	struct rcp_msg m;

	sample(&m, RCP_MSG_STAT_REPLY);
	cr_assert_str_eq(rcp_stat_name(0), "clients_connected");
	cr_assert_str_eq(rcp_stat_name(RCP_STAT_I_mw_fallback), "mw_fallback");
	cr_assert_null(rcp_stat_name(RCP_STAT_COUNT));
	cr_assert_eq(rcp_stat_value(&m.u.stat_reply, RCP_STAT_I_regions), 1005);
	cr_assert_eq(rcp_stat_value(&m.u.stat_reply, RCP_STAT_COUNT), 0);
}
