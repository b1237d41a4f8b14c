/* SPDX-License-Identifier: BSD-3-Clause */
/* msg.c -- control message codec: header, per-type payloads, validation of every field */

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/wire.h"

/* Room for any fixed-size payload; LIST_REPLY entries and ERROR text are handled apart. */
union wire {
	struct rcp_wire_challenge challenge;
	struct rcp_wire_mac mac;
	struct rcp_wire_error error;
	struct rcp_wire_list list;
	struct rcp_wire_list_reply list_reply;
	struct rcp_wire_open open;
	struct rcp_wire_open_reply open_reply;
	struct rcp_wire_close close;
	struct rcp_wire_flush flush;
	struct rcp_wire_checksum checksum;
	struct rcp_wire_checksum_reply checksum_reply;
	struct rcp_wire_stat_reply stat_reply;
	struct rcp_wire_stat_reply_v2 stat_reply_v2;
	struct rcp_wire_create create;
	struct rcp_wire_create_reply create_reply;
	struct rcp_wire_destroy destroy;
	struct rcp_wire_copy copy;
	struct rcp_wire_copy_progress copy_progress;
	struct rcp_wire_copy_reply copy_reply;
};
_Static_assert(sizeof(union wire) <= RCP_PAYLOAD_MAX, "every payload fits one message");
_Static_assert(sizeof(struct rcp_wire_error) + RCP_ERR_TEXT_MAX <= RCP_PAYLOAD_MAX,
	       "the longest ERROR fits one message");

/* all_zero -- whether n bytes are all zero (reserved fields, string tails) */
static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--) {
		if (*p++)
			return false;
	}
	return true;
}

/* word_ok -- a name or host: 1..cap-1 graphic ASCII bytes and a NUL within cap */
static bool word_ok(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			return i > 0;
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return false;
}

/* text_ok -- ERROR text: a NUL within cap and no control characters before it, so that
 * printing it cannot move a terminal's cursor or forge log lines */
static bool text_ok(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			return true;
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return false;
}

/* rights_ok -- one of the two rights values */
static bool rights_ok(enum rcp_rights r)
{
	return r == RCP_RIGHTS_RO || r == RCP_RIGHTS_RW;
}

/* range_ok -- a non-empty range whose end does not wrap around 2^64 */
static bool range_ok(uint64_t offset, uint64_t length)
{
	return length > 0 && offset <= UINT64_MAX - length;
}

/* region_ok -- one LIST_REPLY entry */
static bool region_ok(const struct rcp_region_info *r)
{
	return word_ok(r->name, sizeof(r->name)) && r->size > 0 && rights_ok(r->rights) &&
	       (r->kind == RCP_KIND_ANON || r->kind == RCP_KIND_HUGE || r->kind == RCP_KIND_FILE) &&
	       !(r->flags & ~RCP_REGION_F_ALL);
}

/* list_reply_ok -- count within the message and the total, every entry valid */
static bool list_reply_ok(const struct rcp_msg_list_reply *l)
{
	uint32_t i;

	if (l->count > RCP_LIST_MAX || l->count > l->total)
		return false;
	for (i = 0; i < l->count; i++) {
		if (!region_ok(&l->entries[i]))
			return false;
	}
	return true;
}

/* flush_ok -- FLUSH names its target exactly once: by region name or by grant */
static bool flush_ok(const struct rcp_msg_flush *f)
{
	bool by_name = f->name[0] != 0;

	if (by_name == (f->grant_id != 0))
		return false;
	if (by_name && !word_ok(f->name, sizeof(f->name)))
		return false;
	/* by grant, the name must be all zero so that the encoding stays canonical */
	if (!by_name && !all_zero((const uint8_t *)f->name, sizeof(f->name)))
		return false;
	return range_ok(f->offset, f->length);
}

/* copy_ok -- both regions named, a destination to reach, neither range wrapping */
static bool copy_ok(const struct rcp_msg_copy *c)
{
	return word_ok(c->src, sizeof(c->src)) && word_ok(c->dst, sizeof(c->dst)) &&
	       word_ok(c->dst_host, sizeof(c->dst_host)) && c->dst_port != 0 &&
	       range_ok(c->src_offset, c->length) && range_ok(c->dst_offset, c->length);
}

/* info_reply_ok -- a port, 1..RCP_INFO_MAX addresses, each a word with a device and a port */
static bool info_reply_ok(const struct rcp_msg_info_reply *r)
{
	uint8_t i;

	if (!r->port || !r->count || r->count > RCP_INFO_MAX)
		return false;
	for (i = 0; i < r->count; i++) {
		const struct rcp_addr_info *a = &r->addrs[i];

		if (!word_ok(a->addr, sizeof(a->addr)) || !word_ok(a->device, sizeof(a->device)) ||
		    !a->port_num)
			return false;
	}
	return true;
}

/* msg_ok -- the field rules both sides enforce: what encode refuses, decode rejects */
static bool msg_ok(const struct rcp_msg *m)
{
	const struct rcp_msg_error *e = &m->u.error;

	if (m->hdr.flags & ~RCP_HDR_F_ALL)
		return false;
	switch (m->hdr.type) {
	case RCP_MSG_CHALLENGE:
		return !(m->u.challenge.caps & ~RCP_CAP_ALL);
	case RCP_MSG_AUTH:
	case RCP_MSG_AUTH_OK:
	case RCP_MSG_LIST:
	case RCP_MSG_CLOSE_REPLY:
	case RCP_MSG_FLUSH_REPLY:
	case RCP_MSG_STAT:
	case RCP_MSG_DESTROY_REPLY:
	case RCP_MSG_CHECKSUM_REPLY:
	case RCP_MSG_INFO:
		return true;
	case RCP_MSG_INFO_REPLY:
		return info_reply_ok(&m->u.info_reply);
	case RCP_MSG_ERROR:
		return e->code >= RCP_ERR_INVAL && e->code <= RCP_ERR_MAX &&
		       text_ok(e->text, sizeof(e->text));
	case RCP_MSG_LIST_REPLY:
		return list_reply_ok(&m->u.list_reply);
	case RCP_MSG_OPEN:
		return word_ok(m->u.open.name, sizeof(m->u.open.name)) &&
		       range_ok(m->u.open.offset, m->u.open.length) && rights_ok(m->u.open.rights);
	case RCP_MSG_OPEN_REPLY:
		return m->u.open_reply.grant_id != 0 &&
		       !(m->u.open_reply.flags & ~RCP_GRANT_F_ALL) &&
		       range_ok(m->u.open_reply.addr, m->u.open_reply.length) &&
		       rights_ok(m->u.open_reply.rights);
	case RCP_MSG_CLOSE:
		return m->u.close.grant_id != 0;
	case RCP_MSG_FLUSH:
		return flush_ok(&m->u.flush);
	case RCP_MSG_CHECKSUM:
		return word_ok(m->u.checksum.name, sizeof(m->u.checksum.name)) &&
		       range_ok(m->u.checksum.offset, m->u.checksum.length);
	case RCP_MSG_STAT_REPLY:
		return m->u.stat_reply.mw_fallback <= 1 && m->u.stat_reply.grant_mr_per_grant <= 1;
	case RCP_MSG_CREATE:
		return word_ok(m->u.create.name, sizeof(m->u.create.name)) &&
		       m->u.create.size > 0 && rights_ok(m->u.create.rights);
	case RCP_MSG_CREATE_REPLY:
		return m->u.create_reply.size > 0;
	case RCP_MSG_DESTROY:
		return word_ok(m->u.destroy.name, sizeof(m->u.destroy.name));
	case RCP_MSG_COPY:
		return copy_ok(&m->u.copy);
	case RCP_MSG_COPY_PROGRESS:
		return m->u.copy_progress.done <= m->u.copy_progress.length;
	case RCP_MSG_COPY_REPLY:
		return m->u.copy_reply.status <= RCP_ERR_MAX;
	default:
		return false;
	}
}

/* fixed_len -- payload bytes of a type in a version (the fixed part for ERROR, LIST_REPLY and
 * a version 2 STAT_REPLY); -1 for a type this version does not know */
static long fixed_len(unsigned int type, unsigned int version)
{
	switch (type) {
	case RCP_MSG_CHALLENGE:
		return sizeof(struct rcp_wire_challenge);
	case RCP_MSG_AUTH:
	case RCP_MSG_AUTH_OK:
		return sizeof(struct rcp_wire_mac);
	case RCP_MSG_ERROR:
		return sizeof(struct rcp_wire_error);
	case RCP_MSG_LIST:
		return sizeof(struct rcp_wire_list);
	case RCP_MSG_LIST_REPLY:
		return sizeof(struct rcp_wire_list_reply);
	case RCP_MSG_OPEN:
		return sizeof(struct rcp_wire_open);
	case RCP_MSG_OPEN_REPLY:
		return version < 4 ? RCP_WIRE_OPEN_REPLY_V3_LEN
				   : (long)sizeof(struct rcp_wire_open_reply);
	case RCP_MSG_CLOSE:
		return sizeof(struct rcp_wire_close);
	case RCP_MSG_FLUSH:
		return sizeof(struct rcp_wire_flush);
	case RCP_MSG_CHECKSUM:
		return sizeof(struct rcp_wire_checksum);
	case RCP_MSG_CHECKSUM_REPLY:
		return sizeof(struct rcp_wire_checksum_reply);
	case RCP_MSG_STAT_REPLY:
		return version < 2 ? (long)sizeof(struct rcp_wire_stat_reply)
				   : (long)sizeof(struct rcp_wire_stat_reply_v2);
	case RCP_MSG_CREATE:
		return sizeof(struct rcp_wire_create);
	case RCP_MSG_CREATE_REPLY:
		return sizeof(struct rcp_wire_create_reply);
	case RCP_MSG_DESTROY:
		return sizeof(struct rcp_wire_destroy);
	case RCP_MSG_COPY:
		return sizeof(struct rcp_wire_copy);
	case RCP_MSG_COPY_PROGRESS:
		return sizeof(struct rcp_wire_copy_progress);
	case RCP_MSG_COPY_REPLY:
		return sizeof(struct rcp_wire_copy_reply);
	case RCP_MSG_CLOSE_REPLY:
	case RCP_MSG_FLUSH_REPLY:
	case RCP_MSG_STAT:
	case RCP_MSG_DESTROY_REPLY:
		return 0;
	case RCP_MSG_INFO:
		return version < 3 ? -1 : 0;
	case RCP_MSG_INFO_REPLY:
		return version < 3 ? -1 : (long)sizeof(struct rcp_wire_info_reply);
	default:
		return -1;
	}
}

/* payload_len -- bytes m's payload takes on the wire in version v; m passed msg_ok() */
static size_t payload_len(const struct rcp_msg *m, unsigned int v)
{
	size_t n = (size_t)fixed_len(m->hdr.type, v);

	if (m->hdr.type == RCP_MSG_ERROR)
		n += strlen(m->u.error.text) + 1;
	else if (m->hdr.type == RCP_MSG_LIST_REPLY)
		n += m->u.list_reply.count * sizeof(struct rcp_wire_region);
	else if (m->hdr.type == RCP_MSG_STAT_REPLY && v >= 2)
		n += RCP_STAT_COUNT * sizeof(uint64_t);
	else if (m->hdr.type == RCP_MSG_INFO_REPLY)
		n += m->u.info_reply.count * sizeof(struct rcp_wire_addr);
	return n;
}

/* encode_stat_reply -- every counter in version 2 (a count first), the first
 * RCP_STAT_V1_COUNT in version 1 */
static void encode_stat_reply(const struct rcp_msg_stat_reply *st, uint8_t *p, unsigned int v)
{
	uint64_t counter[RCP_STAT_COUNT];
	struct rcp_wire_stat_reply_v2 w;
	size_t n = v < 2 ? RCP_STAT_V1_COUNT : RCP_STAT_COUNT;
	size_t i = 0;

#define STAT_PUT(name) counter[i++] = htole64(st->name);
	RCP_STAT_FIELDS(STAT_PUT)
#undef STAT_PUT
	if (v >= 2) {
		w.count = htole32(RCP_STAT_COUNT);
		w.reserved = 0;
		memcpy(p, &w, sizeof(w));
		p += sizeof(w);
	}
	memcpy(p, counter, n * sizeof(counter[0]));
}

/* put_str -- a string field: the string, then zeros to the end of the field */
static void put_str(uint8_t *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap);

	memcpy(dst, src, n);
	memset(dst + n, 0, cap - n);
}

/* get_str -- take a string field only if it is terminated and zero after its NUL */
static bool get_str(char *dst, const uint8_t *src, size_t cap)
{
	const uint8_t *nul = memchr(src, 0, cap);

	if (!nul || !all_zero(nul, cap - (size_t)(nul - src)))
		return false;
	memcpy(dst, src, cap);
	return true;
}

/* encode_list_reply -- the fixed part, then one entry per region */
static void encode_list_reply(const struct rcp_msg_list_reply *l, uint8_t *p)
{
	struct rcp_wire_list_reply w;
	struct rcp_wire_region e;
	uint32_t i;

	w.count = htole32(l->count);
	w.total = htole32(l->total);
	memcpy(p, &w, sizeof(w));
	p += sizeof(w);
	for (i = 0; i < l->count; i++, p += sizeof(e)) {
		const struct rcp_region_info *r = &l->entries[i];

		memset(&e, 0, sizeof(e));
		put_str(e.name, r->name, sizeof(e.name));
		e.size = htole64(r->size);
		e.rights = (uint8_t)r->rights;
		e.kind = (uint8_t)r->kind;
		e.flags = htole16((uint16_t)r->flags);
		memcpy(p, &e, sizeof(e));
	}
}

/* encode_info_reply -- the fixed part, then count entries */
static void encode_info_reply(const struct rcp_msg_info_reply *r, uint8_t *p)
{
	struct rcp_wire_info_reply w;
	struct rcp_wire_addr e;
	uint8_t i;

	memset(&w, 0, sizeof(w));
	w.port = htole16(r->port);
	w.count = r->count;
	memcpy(p, &w, sizeof(w));
	p += sizeof(w);
	for (i = 0; i < r->count; i++, p += sizeof(e)) {
		memset(&e, 0, sizeof(e));
		put_str(e.addr, r->addrs[i].addr, sizeof(e.addr));
		put_str(e.device, r->addrs[i].device, sizeof(e.device));
		e.rate_mbps = htole32(r->addrs[i].rate_mbps);
		e.port_num = r->addrs[i].port_num;
		memcpy(p, &e, sizeof(e));
	}
}

/* encode_payload -- write m's payload at p, which has room for payload_len(m, v) bytes */
static void encode_payload(const struct rcp_msg *m, uint8_t *p, unsigned int v)
{
	union wire w;
	size_t n = (size_t)fixed_len(m->hdr.type, v);

	memset(&w, 0, sizeof(w));
	switch (m->hdr.type) {
	case RCP_MSG_CHALLENGE:
		memcpy(w.challenge.nonce, m->u.challenge.nonce, RCP_NONCE_LEN);
		w.challenge.caps = htole32(m->u.challenge.caps);
		break;
	case RCP_MSG_AUTH:
		memcpy(w.mac.mac, m->u.auth.mac, RCP_MAC_LEN);
		break;
	case RCP_MSG_AUTH_OK:
		memcpy(w.mac.mac, m->u.auth_ok.mac, RCP_MAC_LEN);
		break;
	case RCP_MSG_ERROR:
		w.error.code = htole32((uint32_t)m->u.error.code);
		/* the text follows the fixed part, its NUL included */
		memcpy(p + n, m->u.error.text, strlen(m->u.error.text) + 1);
		break;
	case RCP_MSG_LIST:
		w.list.start = htole32(m->u.list.start);
		break;
	case RCP_MSG_LIST_REPLY:
		encode_list_reply(&m->u.list_reply, p);
		return;
	case RCP_MSG_OPEN:
		put_str(w.open.name, m->u.open.name, RCP_NAME_MAX);
		w.open.offset = htole64(m->u.open.offset);
		w.open.length = htole64(m->u.open.length);
		w.open.rights = (uint8_t)m->u.open.rights;
		break;
	case RCP_MSG_OPEN_REPLY:
		w.open_reply.grant_id = htole32(m->u.open_reply.grant_id);
		w.open_reply.flags = htole32(m->u.open_reply.flags);
		w.open_reply.addr = htole64(m->u.open_reply.addr);
		w.open_reply.length = htole64(m->u.open_reply.length);
		w.open_reply.rkey = htole32(m->u.open_reply.rkey);
		w.open_reply.rights = (uint8_t)m->u.open_reply.rights;
		w.open_reply.instance = htole64(m->u.open_reply.instance);
		break;
	case RCP_MSG_CLOSE:
		w.close.grant_id = htole32(m->u.close.grant_id);
		break;
	case RCP_MSG_FLUSH:
		put_str(w.flush.name, m->u.flush.name, RCP_NAME_MAX);
		w.flush.grant_id = htole32(m->u.flush.grant_id);
		w.flush.offset = htole64(m->u.flush.offset);
		w.flush.length = htole64(m->u.flush.length);
		break;
	case RCP_MSG_CHECKSUM:
		put_str(w.checksum.name, m->u.checksum.name, RCP_NAME_MAX);
		w.checksum.offset = htole64(m->u.checksum.offset);
		w.checksum.length = htole64(m->u.checksum.length);
		break;
	case RCP_MSG_CHECKSUM_REPLY:
		memcpy(w.checksum_reply.digest, m->u.checksum_reply.digest, RCP_CHECKSUM_LEN);
		break;
	case RCP_MSG_STAT_REPLY:
		encode_stat_reply(&m->u.stat_reply, p, v);
		return;
	case RCP_MSG_INFO_REPLY:
		encode_info_reply(&m->u.info_reply, p);
		return;
	case RCP_MSG_CREATE:
		put_str(w.create.name, m->u.create.name, RCP_NAME_MAX);
		w.create.size = htole64(m->u.create.size);
		w.create.rights = (uint8_t)m->u.create.rights;
		break;
	case RCP_MSG_CREATE_REPLY:
		w.create_reply.size = htole64(m->u.create_reply.size);
		break;
	case RCP_MSG_DESTROY:
		put_str(w.destroy.name, m->u.destroy.name, RCP_NAME_MAX);
		break;
	case RCP_MSG_COPY:
		put_str(w.copy.src, m->u.copy.src, RCP_NAME_MAX);
		w.copy.src_offset = htole64(m->u.copy.src_offset);
		w.copy.length = htole64(m->u.copy.length);
		put_str(w.copy.dst_host, m->u.copy.dst_host, RCP_HOST_MAX);
		w.copy.dst_port = htole16(m->u.copy.dst_port);
		put_str(w.copy.dst, m->u.copy.dst, RCP_NAME_MAX);
		w.copy.dst_offset = htole64(m->u.copy.dst_offset);
		break;
	case RCP_MSG_COPY_PROGRESS:
		w.copy_progress.done = htole64(m->u.copy_progress.done);
		w.copy_progress.length = htole64(m->u.copy_progress.length);
		break;
	case RCP_MSG_COPY_REPLY:
		w.copy_reply.bytes = htole64(m->u.copy_reply.bytes);
		w.copy_reply.status = htole32((uint32_t)m->u.copy_reply.status);
		break;
	default:
		/* CLOSE_REPLY, FLUSH_REPLY, STAT, DESTROY_REPLY: no payload, n is 0 */
		break;
	}
	memcpy(p, &w, n);
}

/* rcp_msg_encode -- in the version m's header names */
int rcp_msg_encode(const struct rcp_msg *m, void *buf, size_t cap, size_t *len)
{
	return rcp_msg_encode_version(m, m->hdr.version, buf, cap, len);
}

/* rcp_msg_encode_version -- validate m, then write header and payload into buf */
int rcp_msg_encode_version(const struct rcp_msg *m, unsigned int v, void *buf, size_t cap,
			   size_t *len)
{
	struct rcp_wire_hdr h;
	size_t plen;

	if (!v)
		v = RCP_PROTO_VERSION;
	/* a type the version does not have (INFO before 3) cannot be sent in it */
	if (!rcp_version_ok(v) || !msg_ok(m) || fixed_len(m->hdr.type, v) < 0)
		return -EINVAL;
	plen = payload_len(m, v);
	if (cap < RCP_HDR_LEN + plen)
		return -ENOSPC;
	h.magic = htole32(RCP_PROTO_MAGIC);
	h.version = (uint8_t)v;
	h.type = (uint8_t)m->hdr.type;
	h.flags = htole16(m->hdr.flags);
	h.req_id = htole32(m->hdr.req_id);
	h.length = htole16((uint16_t)plen);
	h.reserved = 0;
	memcpy(buf, &h, sizeof(h));
	encode_payload(m, (uint8_t *)buf + RCP_HDR_LEN, v);
	*len = RCP_HDR_LEN + plen;
	return 0;
}

/* rcp_hdr_decode -- check the header and that the buffer holds exactly its payload */
int rcp_hdr_decode(const void *buf, size_t len, struct rcp_hdr_info *out)
{
	struct rcp_wire_hdr h;

	memset(out, 0, sizeof(*out));
	if (!buf || len < sizeof(h))
		return -EBADMSG;
	if (len > RCP_MSG_MAX)
		return -E2BIG;
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.magic) != RCP_PROTO_MAGIC)
		return -EPROTO;
	if (!rcp_version_ok(h.version))
		return -EPROTONOSUPPORT;
	if ((le16toh(h.flags) & ~RCP_HDR_F_ALL) || h.reserved != 0 ||
	    (size_t)le16toh(h.length) != len - sizeof(h))
		return -EBADMSG;
	out->version = h.version;
	out->type = (enum rcp_msg_type)h.type;
	out->flags = le16toh(h.flags);
	out->req_id = le32toh(h.req_id);
	return 0;
}

/* decode_error -- code, then text filling the rest of the payload with one NUL, at its end */
static bool decode_error(const uint8_t *p, size_t plen, struct rcp_msg_error *e)
{
	struct rcp_wire_error w;
	const uint8_t *text = p + sizeof(w);
	size_t n;

	if (plen <= sizeof(w) || plen > sizeof(w) + RCP_ERR_TEXT_MAX)
		return false;
	n = plen - sizeof(w);
	memcpy(&w, p, sizeof(w));
	if (w.reserved != 0 || text[n - 1] != 0 || memchr(text, 0, n - 1))
		return false;
	e->code = (enum rcp_err)le32toh(w.code);
	memcpy(e->text, text, n);
	return true;
}

/* decode_list_reply -- count entries, and exactly that many bytes of them */
static bool decode_list_reply(const uint8_t *p, size_t plen, struct rcp_msg_list_reply *l)
{
	struct rcp_wire_list_reply w;
	struct rcp_wire_region e;
	uint32_t i;

	if (plen < sizeof(w))
		return false;
	memcpy(&w, p, sizeof(w));
	l->count = le32toh(w.count);
	l->total = le32toh(w.total);
	/* bound count first: it sizes the length check and the loop */
	if (l->count > RCP_LIST_MAX || plen != sizeof(w) + l->count * sizeof(e))
		return false;
	p += sizeof(w);
	for (i = 0; i < l->count; i++, p += sizeof(e)) {
		struct rcp_region_info *r = &l->entries[i];

		memcpy(&e, p, sizeof(e));
		if (!get_str(r->name, e.name, sizeof(e.name)) || e.reserved != 0)
			return false;
		r->size = le64toh(e.size);
		r->rights = (enum rcp_rights)e.rights;
		r->kind = (enum rcp_region_kind)e.kind;
		r->flags = le16toh(e.flags);
	}
	return true;
}

/* decode_stat_reply -- version 1: the fixed counters; version 2: a count, exactly that many
 * counters, and the ones this side knows kept */
static bool decode_stat_reply(const uint8_t *p, size_t plen, unsigned int v,
			      struct rcp_msg_stat_reply *st)
{
	uint64_t counter[RCP_STAT_COUNT] = {0};
	struct rcp_wire_stat_reply_v2 w;
	uint32_t count = RCP_STAT_V1_COUNT;
	size_t i = 0;

	if (v >= 2) {
		if (plen < sizeof(w))
			return false;
		memcpy(&w, p, sizeof(w));
		count = le32toh(w.count);
		if (w.reserved || count < RCP_STAT_V1_COUNT || count > RCP_STAT_WIRE_MAX)
			return false;
		p += sizeof(w);
		plen -= sizeof(w);
	}
	if (plen != (size_t)count * sizeof(uint64_t))
		return false;
	memcpy(counter, p, (count < RCP_STAT_COUNT ? count : RCP_STAT_COUNT) * sizeof(counter[0]));
#define STAT_GET(name) st->name = le64toh(counter[i++]);
	RCP_STAT_FIELDS(STAT_GET)
#undef STAT_GET
	st->count = count;
	return true;
}

/* decode_info_reply -- the fixed part, then exactly count entries */
static bool decode_info_reply(const uint8_t *p, size_t plen, struct rcp_msg_info_reply *r)
{
	struct rcp_wire_info_reply w;
	struct rcp_wire_addr e;
	uint8_t i;

	if (plen < sizeof(w))
		return false;
	memcpy(&w, p, sizeof(w));
	r->port = le16toh(w.port);
	r->count = w.count;
	if (!all_zero(w.reserved, sizeof(w.reserved)) || r->count > RCP_INFO_MAX ||
	    plen != sizeof(w) + r->count * sizeof(e))
		return false;
	p += sizeof(w);
	for (i = 0; i < r->count; i++, p += sizeof(e)) {
		struct rcp_addr_info *a = &r->addrs[i];

		memcpy(&e, p, sizeof(e));
		if (!get_str(a->addr, e.addr, sizeof(e.addr)) ||
		    !get_str(a->device, e.device, sizeof(e.device)) ||
		    !all_zero(e.reserved, sizeof(e.reserved)))
			return false;
		a->rate_mbps = le32toh(e.rate_mbps);
		a->port_num = e.port_num;
	}
	return true;
}

/* decode_payload -- the layout checks: exact length, zero reserved bytes, clean strings.
 * The value checks are msg_ok()'s, shared with the encoder. */
static bool decode_payload(struct rcp_msg *m, const uint8_t *p, size_t plen)
{
	long want = fixed_len(m->hdr.type, m->hdr.version);
	union wire w;

	if (want < 0)
		return false;
	if (m->hdr.type == RCP_MSG_ERROR)
		return decode_error(p, plen, &m->u.error);
	if (m->hdr.type == RCP_MSG_LIST_REPLY)
		return decode_list_reply(p, plen, &m->u.list_reply);
	if (m->hdr.type == RCP_MSG_STAT_REPLY)
		return decode_stat_reply(p, plen, m->hdr.version, &m->u.stat_reply);
	if (m->hdr.type == RCP_MSG_INFO_REPLY)
		return decode_info_reply(p, plen, &m->u.info_reply);
	if (plen != (size_t)want)
		return false;
	memcpy(&w, p, plen);

	switch (m->hdr.type) {
	case RCP_MSG_CHALLENGE:
		memcpy(m->u.challenge.nonce, w.challenge.nonce, RCP_NONCE_LEN);
		m->u.challenge.caps = le32toh(w.challenge.caps);
		return w.challenge.reserved == 0;
	case RCP_MSG_AUTH:
		memcpy(m->u.auth.mac, w.mac.mac, RCP_MAC_LEN);
		return true;
	case RCP_MSG_AUTH_OK:
		memcpy(m->u.auth_ok.mac, w.mac.mac, RCP_MAC_LEN);
		return true;
	case RCP_MSG_LIST:
		m->u.list.start = le32toh(w.list.start);
		return w.list.reserved == 0;
	case RCP_MSG_OPEN:
		m->u.open.offset = le64toh(w.open.offset);
		m->u.open.length = le64toh(w.open.length);
		m->u.open.rights = (enum rcp_rights)w.open.rights;
		return get_str(m->u.open.name, w.open.name, RCP_NAME_MAX) &&
		       all_zero(w.open.reserved, sizeof(w.open.reserved));
	case RCP_MSG_OPEN_REPLY:
		m->u.open_reply.grant_id = le32toh(w.open_reply.grant_id);
		m->u.open_reply.flags = le32toh(w.open_reply.flags);
		m->u.open_reply.addr = le64toh(w.open_reply.addr);
		m->u.open_reply.length = le64toh(w.open_reply.length);
		m->u.open_reply.rkey = le32toh(w.open_reply.rkey);
		m->u.open_reply.rights = (enum rcp_rights)w.open_reply.rights;
		/* before version 4 the payload ends before it: zero, "not told" */
		m->u.open_reply.instance = m->hdr.version < 4 ? 0 : le64toh(w.open_reply.instance);
		return all_zero(w.open_reply.reserved, sizeof(w.open_reply.reserved));
	case RCP_MSG_CLOSE:
		m->u.close.grant_id = le32toh(w.close.grant_id);
		return w.close.reserved == 0;
	case RCP_MSG_FLUSH:
		m->u.flush.grant_id = le32toh(w.flush.grant_id);
		m->u.flush.offset = le64toh(w.flush.offset);
		m->u.flush.length = le64toh(w.flush.length);
		return get_str(m->u.flush.name, w.flush.name, RCP_NAME_MAX) &&
		       w.flush.reserved == 0;
	case RCP_MSG_CHECKSUM:
		m->u.checksum.offset = le64toh(w.checksum.offset);
		m->u.checksum.length = le64toh(w.checksum.length);
		return get_str(m->u.checksum.name, w.checksum.name, RCP_NAME_MAX);
	case RCP_MSG_CHECKSUM_REPLY:
		memcpy(m->u.checksum_reply.digest, w.checksum_reply.digest, RCP_CHECKSUM_LEN);
		return true;
	case RCP_MSG_CREATE:
		m->u.create.size = le64toh(w.create.size);
		m->u.create.rights = (enum rcp_rights)w.create.rights;
		return get_str(m->u.create.name, w.create.name, RCP_NAME_MAX) &&
		       all_zero(w.create.reserved, sizeof(w.create.reserved));
	case RCP_MSG_CREATE_REPLY:
		m->u.create_reply.size = le64toh(w.create_reply.size);
		return true;
	case RCP_MSG_DESTROY:
		return get_str(m->u.destroy.name, w.destroy.name, RCP_NAME_MAX);
	case RCP_MSG_COPY:
		m->u.copy.src_offset = le64toh(w.copy.src_offset);
		m->u.copy.length = le64toh(w.copy.length);
		m->u.copy.dst_port = le16toh(w.copy.dst_port);
		m->u.copy.dst_offset = le64toh(w.copy.dst_offset);
		return get_str(m->u.copy.src, w.copy.src, RCP_NAME_MAX) &&
		       get_str(m->u.copy.dst_host, w.copy.dst_host, RCP_HOST_MAX) &&
		       get_str(m->u.copy.dst, w.copy.dst, RCP_NAME_MAX) && w.copy.reserved0 == 0 &&
		       w.copy.reserved1 == 0;
	case RCP_MSG_COPY_PROGRESS:
		m->u.copy_progress.done = le64toh(w.copy_progress.done);
		m->u.copy_progress.length = le64toh(w.copy_progress.length);
		return true;
	case RCP_MSG_COPY_REPLY:
		m->u.copy_reply.bytes = le64toh(w.copy_reply.bytes);
		m->u.copy_reply.status = (enum rcp_err)le32toh(w.copy_reply.status);
		return w.copy_reply.reserved == 0;
	default:
		/* CLOSE_REPLY, FLUSH_REPLY, STAT, DESTROY_REPLY: the empty payload was checked */
		return true;
	}
}

/* rcp_msg_decode -- header, payload layout, then field values; nothing is read past len */
int rcp_msg_decode(const void *buf, size_t len, struct rcp_msg *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = rcp_hdr_decode(buf, len, &out->hdr);
	if (ret)
		goto err_clear;
	ret = -EBADMSG;
	if (!decode_payload(out, (const uint8_t *)buf + RCP_HDR_LEN, len - RCP_HDR_LEN) ||
	    !msg_ok(out))
		goto err_clear;
	return 0;

err_clear:
	/* a half-decoded message must not be mistaken for a valid one */
	memset(out, 0, sizeof(*out));
	return ret;
}
