/* SPDX-License-Identifier: BSD-3-Clause */
/* seeds.c -- write the proto_fuzz seed corpus: one valid encoding of every message type */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/proto.h"

/* write_seed -- one file dir/name holding len bytes */
static int write_seed(const char *dir, const char *name, const void *bytes, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "seeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = fwrite(bytes, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* fill_sample -- give a message of this type values that pass validation */
static void fill_sample(struct rcp_msg *m, enum rcp_msg_type type)
{
	rcp_msg_init(m, type, 0x0a0b0c0d);
	switch (type) {
	case RCP_MSG_CHALLENGE:
		memset(m->u.challenge.nonce, 0x5a, RCP_NONCE_LEN);
		m->u.challenge.caps = RCP_CAP_MW | RCP_CAP_CREATE;
		break;
	case RCP_MSG_ERROR:
		rcp_msg_init_error(m, 3, RCP_ERR_RANGE, "offset past the end of region");
		break;
	case RCP_MSG_LIST_REPLY:
		m->u.list_reply.count = 2;
		m->u.list_reply.total = 2;
		rcp_strfield_set(m->u.list_reply.entries[0].name, RCP_NAME_MAX, "pmem0");
		m->u.list_reply.entries[0].size = 1 << 30;
		m->u.list_reply.entries[0].rights = RCP_RIGHTS_RW;
		m->u.list_reply.entries[0].kind = RCP_KIND_FILE;
		rcp_strfield_set(m->u.list_reply.entries[1].name, RCP_NAME_MAX, "scratch");
		m->u.list_reply.entries[1].size = 1 << 20;
		m->u.list_reply.entries[1].rights = RCP_RIGHTS_RO;
		m->u.list_reply.entries[1].kind = RCP_KIND_ANON;
		m->u.list_reply.entries[1].flags = RCP_REGION_F_DYNAMIC;
		break;
	case RCP_MSG_OPEN:
		rcp_strfield_set(m->u.open.name, RCP_NAME_MAX, "pmem0");
		m->u.open.length = 4096;
		m->u.open.rights = RCP_RIGHTS_RO;
		break;
	case RCP_MSG_OPEN_REPLY:
		m->u.open_reply.grant_id = 1;
		m->u.open_reply.addr = 0x7f0000000000ull;
		m->u.open_reply.length = 4096;
		m->u.open_reply.rkey = 0x1234;
		m->u.open_reply.rights = RCP_RIGHTS_RO;
		break;
	case RCP_MSG_CLOSE:
		m->u.close.grant_id = 1;
		break;
	case RCP_MSG_FLUSH:
		m->u.flush.grant_id = 1;
		m->u.flush.length = 4096;
		break;
	case RCP_MSG_CHECKSUM:
		rcp_strfield_set(m->u.checksum.name, RCP_NAME_MAX, "pmem0");
		m->u.checksum.length = 1 << 20;
		break;
	case RCP_MSG_STAT_REPLY:
		m->u.stat_reply.clients_connected = 2;
		m->u.stat_reply.mw_fallback = 1;
		break;
	case RCP_MSG_CREATE:
		rcp_strfield_set(m->u.create.name, RCP_NAME_MAX, "scratch");
		m->u.create.size = 1 << 20;
		m->u.create.rights = RCP_RIGHTS_RW;
		break;
	case RCP_MSG_CREATE_REPLY:
		m->u.create_reply.size = 1 << 20;
		break;
	case RCP_MSG_DESTROY:
		rcp_strfield_set(m->u.destroy.name, RCP_NAME_MAX, "scratch");
		break;
	case RCP_MSG_COPY:
		rcp_strfield_set(m->u.copy.src, RCP_NAME_MAX, "pmem0");
		rcp_strfield_set(m->u.copy.dst_host, RCP_HOST_MAX, "192.168.7.2");
		rcp_strfield_set(m->u.copy.dst, RCP_NAME_MAX, "backup");
		m->u.copy.dst_port = 7471;
		m->u.copy.length = 1 << 20;
		break;
	case RCP_MSG_COPY_PROGRESS:
		m->u.copy_progress.done = 1 << 19;
		m->u.copy_progress.length = 1 << 20;
		break;
	case RCP_MSG_COPY_REPLY:
		m->u.copy_reply.bytes = 1 << 20;
		break;
	case RCP_MSG_INFO_REPLY:
		m->u.info_reply.port = 18515;
		m->u.info_reply.count = 2;
		snprintf(m->u.info_reply.addrs[0].addr, RCP_ADDR_MAX, "198.18.0.1");
		snprintf(m->u.info_reply.addrs[0].device, RCP_DEVNAME_MAX, "rxe0");
		m->u.info_reply.addrs[0].port_num = 1;
		snprintf(m->u.info_reply.addrs[1].addr, RCP_ADDR_MAX, "198.18.1.1");
		snprintf(m->u.info_reply.addrs[1].device, RCP_DEVNAME_MAX, "rxe1");
		m->u.info_reply.addrs[1].port_num = 1;
		m->u.info_reply.addrs[1].rate_mbps = 100000;
		break;
	default:
		/* AUTH, AUTH_OK, CHECKSUM_REPLY: all-zero bytes are valid; the rest are empty */
		break;
	}
}

/* main -- seeds into the directory named by argv[1] */
int main(int argc, char **argv)
{
	uint8_t buf[RCP_MSG_MAX];
	struct rcp_cm_private p = {.flags = 0};
	struct rcp_cm_reject r = {.reason = RCP_REJECT_BAD_VERSION};
	struct rcp_msg m;
	unsigned int t;
	size_t len;

	if (argc != 2) {
		fprintf(stderr, "usage: %s corpus-dir\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seeds: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (t = 1; t <= RCP_MSG_TYPE_MAX; t++) {
		fill_sample(&m, (enum rcp_msg_type)t);
		if (rcp_msg_encode(&m, buf, sizeof(buf), &len) != 0) {
			fprintf(stderr, "seeds: %s does not encode\n", rcp_msg_type_name(t));
			return 1;
		}
		if (write_seed(argv[1], rcp_msg_type_name(t), buf, len))
			return 1;
	}
	memset(p.nonce, 0xc3, sizeof(p.nonce));
	if (rcp_cm_private_encode(&p, buf, sizeof(buf), &len) ||
	    write_seed(argv[1], "CM_PRIVATE", buf, len))
		return 1;
	if (rcp_cm_reject_encode(&r, buf, sizeof(buf), &len) ||
	    write_seed(argv[1], "CM_REJECT", buf, len))
		return 1;
	return 0;
}
