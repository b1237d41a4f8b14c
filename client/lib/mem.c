/* SPDX-License-Identifier: BSD-3-Clause */
/* mem.c -- the application's registrations, and the lkey of any buffer a transfer uses */
#include <errno.h>
#include <stdlib.h>

#include "client/lib/conn.h"

/* refused_for_writing -- a registration with local write failed because the memory cannot be
 * written (mapped read-only): registering it for reading may still work */
static bool refused_for_writing(int ret)
{
	return ret == -EFAULT || ret == -EACCES;
}

/* rcp_mem_lkey -- an application registration first (no reference to hold), then the cache */
int rcp_mem_lkey(struct rdmacpy_conn *c, unsigned int d, uint64_t addr, uint64_t len, bool dest,
		 uint32_t *lkey, struct rcp_rcache_ent **held)
{
	struct rcp_rcache *cache = &c->dev[d].cache;
	const struct rdmacpy_mem *m;
	int ret;

	*held = NULL;
	for (m = c->mems; m; m = m->next) {
		if (addr >= m->addr && addr + len <= m->addr + m->len && m->mr[d] &&
		    !(dest && m->read_only)) {
			*lkey = m->mr[d]->lkey;
			return 0;
		}
	}
	/* a destination needs local write; a source does not, but one registration with local
	 * write serves both directions, so try that first and fall back for read-only memory */
	ret = rcp_rcache_get(cache, addr, len, IBV_ACCESS_LOCAL_WRITE, held);
	if (ret && !dest && refused_for_writing(ret))
		ret = rcp_rcache_get(cache, addr, len, 0, held);
	if (ret) {
		rcp_conn_set_error(c, "cannot register %llu bytes at 0x%llx: %d",
				   (unsigned long long)len, (unsigned long long)addr, ret);
		return ret == -ENOMEM ? ret : -EFAULT;
	}
	*lkey = (*held)->mr->lkey;
	return 0;
}

/* mem_link -- a registration onto its connection's list */
static void mem_link(struct rdmacpy_conn *c, struct rdmacpy_mem *m, uint64_t addr, uint64_t len)
{
	m->conn = c;
	m->addr = addr;
	m->len = len;
	m->next = c->mems;
	c->mems = m;
}

/* mem_free -- deregister what m owns and free it */
static void mem_free(struct rdmacpy_mem *m)
{
	unsigned int d;

	if (m->own_mr)
		for (d = 0; d < RCP_DEVS_MAX; d++)
			rcp_vb_dereg_mr(&m->mr[d]);
	free(m);
}

/* rdmacpy_mem_reg -- register [addr, addr + len) for transfers, on every device of the
 * connection (a rail on another NIC needs its own registration) */
int rdmacpy_mem_reg(struct rdmacpy_conn *c, void *addr, size_t len, struct rdmacpy_mem **out)
{
	struct rdmacpy_mem *m;
	unsigned int d;
	int ret;

	if (!c || !addr || !len || !out)
		return RDMACPY_E_INVAL;
	if (!c->ndev)
		return c->broken ? RDMACPY_E_BROKEN : RDMACPY_E_INPROGRESS;
	m = calloc(1, sizeof(*m));
	if (!m)
		return RDMACPY_E_NOMEM;
	m->own_mr = true;
	for (d = 0; d < c->ndev; d++) {
		/* memory mapped read-only (a file put as it is) cannot be pinned for writing: it is
		 * registered for reading, and serves only as the source of writes */
		ret = rcp_vb_reg_mr(c->dev[d].pd, addr, len,
				    m->read_only ? 0 : IBV_ACCESS_LOCAL_WRITE, &m->mr[d]);
		if (d == 0 && refused_for_writing(ret)) {
			m->read_only = true;
			ret = rcp_vb_reg_mr(c->dev[d].pd, addr, len, 0, &m->mr[d]);
		}
		if (ret) {
			rcp_conn_set_error(c, "memory registration failed (%d)", ret);
			mem_free(m);
			return ret == -ENOMEM ? RDMACPY_E_NOMEM : RDMACPY_E_REGISTER;
		}
	}
	mem_link(c, m, (uintptr_t)addr, len);
	*out = m;
	return 0;
}

/* rcp_mem_adopt -- the caller's registration, used as if the application had made it */
int rcp_mem_adopt(struct rdmacpy_conn *c, struct ibv_mr *mr, struct rdmacpy_mem **out)
{
	struct rdmacpy_mem *m;

	/* before connecting (the daemon's COPY adopts at once) the pd is the one it handed in */
	if (!c || !mr || c->ndev > 1 || mr->pd != (c->ndev ? c->dev[0].pd : c->ext_pd))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->mr[0] = mr;
	mem_link(c, m, (uintptr_t)mr->addr, mr->length);
	*out = m;
	return 0;
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
	mem_free(m);
	*mp = NULL;
}

/* rdmacpy_mem_forget -- drop cached registrations overlapping [addr, addr + len) */
void rdmacpy_mem_forget(struct rdmacpy_conn *c, const void *addr, size_t len)
{
	unsigned int d;

	if (!c || !len)
		return;
	for (d = 0; d < c->ndev; d++)
		rcp_rcache_forget(&c->dev[d].cache, (uintptr_t)addr, len);
}
