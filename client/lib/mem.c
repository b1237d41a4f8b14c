/* SPDX-License-Identifier: BSD-3-Clause */
/* mem.c -- the application's registrations, and the lkey of any buffer a transfer uses */
#include <errno.h>
#include <stdlib.h>

#include "client/lib/conn.h"

/* rcp_mem_lkey -- an application registration first (no reference to hold), then the cache */
int rcp_mem_lkey(struct rdmacpy_conn *c, uint64_t addr, uint64_t len, bool dest, uint32_t *lkey,
		 struct rcp_rcache_ent **held)
{
	const struct rdmacpy_mem *m;
	int ret;

	*held = NULL;
	for (m = c->mems; m; m = m->next) {
		if (addr >= m->addr && addr + len <= m->addr + m->len) {
			*lkey = m->mr->lkey;
			return 0;
		}
	}
	/* a destination needs local write; a source does not, but one registration with local
	 * write serves both directions, so try that first and fall back for read-only memory */
	ret = rcp_rcache_get(&c->cache, addr, len, IBV_ACCESS_LOCAL_WRITE, held);
	if (ret && !dest && (ret == -EFAULT || ret == -EACCES))
		ret = rcp_rcache_get(&c->cache, addr, len, 0, held);
	if (ret) {
		rcp_conn_set_error(c, "cannot register %llu bytes at 0x%llx: %d",
				   (unsigned long long)len, (unsigned long long)addr, ret);
		return ret == -ENOMEM ? ret : -EFAULT;
	}
	*lkey = (*held)->mr->lkey;
	return 0;
}

/* mem_link -- a registration onto its connection's list */
static int mem_link(struct rdmacpy_conn *c, struct ibv_mr *mr, bool own, struct rdmacpy_mem **out)
{
	struct rdmacpy_mem *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->conn = c;
	m->mr = mr;
	m->own_mr = own;
	m->addr = (uintptr_t)mr->addr;
	m->len = mr->length;
	m->next = c->mems;
	c->mems = m;
	*out = m;
	return 0;
}

/* rdmacpy_mem_reg -- register [addr, addr + len) for transfers */
int rdmacpy_mem_reg(struct rdmacpy_conn *c, void *addr, size_t len, struct rdmacpy_mem **out)
{
	struct ibv_mr *mr = NULL;
	int ret;

	if (!c || !addr || !len || !out)
		return RDMACPY_E_INVAL;
	if (!c->pd)
		return c->broken ? RDMACPY_E_BROKEN : RDMACPY_E_INPROGRESS;
	ret = rcp_vb_reg_mr(c->pd, addr, len, IBV_ACCESS_LOCAL_WRITE, &mr);
	if (ret) {
		rcp_conn_set_error(c, "memory registration failed (%d)", ret);
		return ret == -ENOMEM ? RDMACPY_E_NOMEM : RDMACPY_E_REGISTER;
	}
	ret = mem_link(c, mr, true, out);
	if (ret) {
		rcp_vb_dereg_mr(&mr);
		return RDMACPY_E_NOMEM;
	}
	return 0;
}

/* rcp_mem_adopt -- the caller's registration, used as if the application had made it */
int rcp_mem_adopt(struct rdmacpy_conn *c, struct ibv_mr *mr, struct rdmacpy_mem **m)
{
	if (!c || !mr || mr->pd != c->pd)
		return -EINVAL;
	return mem_link(c, mr, false, m);
}

/* mem_unlink -- take m off its connection's list */
static void mem_unlink(struct rdmacpy_mem *m)
{
	struct rdmacpy_mem **pp;

	for (pp = &m->conn->mems; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			return;
		}
	}
}

/* rdmacpy_mem_dereg -- undo rdmacpy_mem_reg (an adopted registration stays its owner's) */
void rdmacpy_mem_dereg(struct rdmacpy_mem **mp)
{
	struct rdmacpy_mem *m;

	if (!mp || !*mp)
		return;
	m = *mp;
	mem_unlink(m);
	if (m->own_mr)
		rcp_vb_dereg_mr(&m->mr);
	free(m);
	*mp = NULL;
}

/* rdmacpy_mem_forget -- drop cached registrations overlapping [addr, addr + len) */
void rdmacpy_mem_forget(struct rdmacpy_conn *c, const void *addr, size_t len)
{
	if (!c || !len)
		return;
	rcp_rcache_forget(&c->cache, (uintptr_t)addr, len);
}
