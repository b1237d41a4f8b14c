/* SPDX-License-Identifier: BSD-3-Clause */
/* region.c -- regions: map (anonymous, huge pages, or a file: region_file.c) and register once */
#include "server/region.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "server/check.h"
#include "server/directory.h"
#include "server/jobs.h"
#include "server/worker.h"

#define DEFAULT_HUGE_PAGE (2ull << 20)

/* huge_page_size -- the default huge page size from /proc/meminfo (2 MiB if unreadable) */
static uint64_t huge_page_size(void)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return DEFAULT_HUGE_PAGE;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb ? (uint64_t)kb << 10 : DEFAULT_HUGE_PAGE;
}

/* map_anon -- private anonymous memory, huge pages when asked */
static int map_anon(struct rcp_server *srv, struct rcp_region *r, bool huge)
{
	uint64_t align = huge ? huge_page_size() : (uint64_t)sysconf(_SC_PAGESIZE);
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	r->map_size = rcp_round_up(r->size, align);
	if (!r->map_size || r->map_size > SIZE_MAX)
		return -EOVERFLOW;
	if (huge)
		flags |= MAP_HUGETLB;
	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		if (huge && (err == ENOMEM || err == EINVAL))
			rcp_err(&srv->log,
				"region %s: no huge pages available: set /proc/sys/vm/nr_hugepages "
				"(%llu pages of %llu KiB needed)",
				r->name, (unsigned long long)(r->map_size / align),
				(unsigned long long)(align >> 10));
		else
			rcp_err(&srv->log, "region %s: mmap of %llu bytes: %s", r->name,
				(unsigned long long)r->map_size, strerror(err));
		return -err;
	}
	r->addr = p;
	return 0;
}

/* deregister_everywhere -- every device's MR of r; the first failure, the others still tried */
static int deregister_everywhere(struct rcp_region *r)
{
	unsigned int i;
	int first = 0;
	int ret;

	for (i = 0; i < RCP_MAX_DEVS; i++) {
		if (!r->mr[i])
			continue;
		ret = rcp_vb_dereg_mr(&r->mr[i]);
		if (ret && !first)
			first = ret;
	}
	return first;
}

/* register_everywhere -- r on every device served: a client of any rail reaches it */
static int register_everywhere(struct rcp_server *srv, struct rcp_region *r)
{
	unsigned int i;
	int ret;

	for (i = 0; i < srv->ndevs; i++) {
		const struct rcp_dev *d = &srv->devs[i];

		ret = rcp_vb_reg_mr(d->pd, r->addr, r->size, rcp_mr_access(r->rights, d->use_mw),
				    &r->mr[i]);
		if (ret) {
			rcp_err(&srv->log, "region %s: registering %llu bytes on %s: %s", r->name,
				(unsigned long long)r->size, d->ctx->device->name, strerror(-ret));
			deregister_everywhere(r);
			return ret;
		}
	}
	return 0;
}

/* rcp_region_new -- map, then register with exactly the access its rights need */
int rcp_region_new(struct rcp_server *srv, const struct rcp_region_spec *spec, bool dynamic,
		   struct rcp_region **rp)
{
	struct rcp_region *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", spec->name);
	r->kind = spec->kind;
	r->rights = spec->rights;
	r->dynamic = dynamic;
	r->fd = -1;
	r->size = spec->size;
	r->backing = RCP_BACK_ANON;
	if (spec->kind == RCP_KIND_FILE)
		ret = rcp_region_map_file(srv, spec, r);
	else
		ret = map_anon(srv, r, spec->kind == RCP_KIND_HUGE);
	if (ret)
		goto err_unmap;
	if (!r->instance)
		randombytes_buf(&r->instance, sizeof(r->instance));
	ret = register_everywhere(srv, r);
	if (ret)
		goto err_unmap;
	if (r->kind == RCP_KIND_FILE)
		rcp_info(&srv->log, "region %s: file %s, %llu bytes from %s (%s, %s%s)", r->name,
			 rcp_rights_str(r->rights), (unsigned long long)r->size, spec->path,
			 r->fstype, rcp_backing_str(r->backing),
			 r->backing == RCP_BACK_STAGED ? (r->writeback ? ": FLUSH writes it back"
								       : ", never written back")
						       : "");
	else
		rcp_info(&srv->log, "region %s: %s %s, %llu bytes", r->name, rcp_kind_str(r->kind),
			 rcp_rights_str(r->rights), (unsigned long long)r->size);
	*rp = r;
	return 0;

err_unmap:
	if (r->addr)
		munmap(r->addr, r->map_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r->dirty);
	free(r);
	return ret;
}

/* rcp_region_delete -- make file bytes durable, then undo registration and mapping */
void rcp_region_delete(struct rcp_server *srv, struct rcp_region **rp)
{
	struct rcp_region *r;
	int ret;

	if (!rp || !*rp)
		return;
	r = *rp;
	rcp_region_write_back(srv, r);
	ret = deregister_everywhere(r);
	if (ret) {
		/* unmapping memory the device may still reach would be worse than a leak */
		rcp_err(&srv->log, "region %s: deregistering: %s; memory left mapped", r->name,
			strerror(-ret));
		*rp = NULL;
		return;
	}
	munmap(r->addr, r->map_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r->dirty);
	free(r);
	*rp = NULL;
}

/* rcp_region_find -- linear: a daemon serves a handful of regions */
struct rcp_region *rcp_region_find(struct rcp_server *srv, const char *name)
{
	size_t i;

	for (i = 0; i < srv->nregions; i++)
		if (!strcmp(srv->regions[i]->name, name))
			return srv->regions[i];
	return NULL;
}

/* rcp_region_add -- append, keeping LIST order stable for paging */
int rcp_region_add(struct rcp_server *srv, struct rcp_region *r)
{
	struct rcp_region **v;

	v = realloc(srv->regions, (srv->nregions + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	srv->regions = v;
	srv->regions[srv->nregions++] = r;
	/* the cluster directory follows the list */
	rcp_directory_update(srv);
	return 0;
}

/* rcp_region_remove -- close the gap so the remaining order is kept */
void rcp_region_remove(struct rcp_server *srv, struct rcp_region *r)
{
	size_t i;

	for (i = 0; i < srv->nregions; i++) {
		if (srv->regions[i] != r)
			continue;
		memmove(&srv->regions[i], &srv->regions[i + 1],
			(srv->nregions - i - 1) * sizeof(srv->regions[0]));
		srv->nregions--;
		rcp_directory_update(srv);
		return;
	}
}

/* retire_job -- a retiring region's memory goes on a worker: deregistering and unmapping take
 * time that grows with its size */
struct retire_job {
	struct rcp_job job;
	struct rcp_server *srv;
	struct rcp_region *r;
	char name[RCP_NAME_MAX];
};

static void retire_work(struct rcp_job *job)
{
	struct retire_job *rj = (struct retire_job *)job;

	rcp_region_delete(rj->srv, &rj->r);
}

static void retire_done(struct rcp_job *job)
{
	struct retire_job *rj = (struct retire_job *)job;

	/* a pool that stopped before running it: the loop is done serving, do it here */
	if (!job->ran)
		rcp_region_delete(rj->srv, &rj->r);
	rcp_info(&rj->srv->log, "region %s: removed (its last user is gone)", rj->name);
	free(rj);
}

/* rcp_region_unused -- free a retiring region once nothing uses it */
void rcp_region_unused(struct rcp_server *srv, struct rcp_region *r)
{
	struct retire_job *rj;

	if (!r->retiring || rcp_region_busy(r))
		return;
	LIST_REMOVE(r, retire_link);
	r->retiring = false;
	rj = calloc(1, sizeof(*rj));
	if (rj) {
		rj->srv = srv;
		rj->r = r;
		snprintf(rj->name, sizeof(rj->name), "%s", r->name);
		rcp_job_init(&rj->job, "REMOVE", NULL, retire_work, retire_done);
		if (srv->workers && rcp_workers_submit(srv->workers, &rj->job) == 0)
			return;
		free(rj);
	}
	rcp_region_delete(srv, &r);
}

/* rcp_region_name_taken -- in the list, retiring, or reserved by a running CREATE */
bool rcp_region_name_taken(struct rcp_server *srv, const char *name)
{
	const struct rcp_region *r;

	if (rcp_region_find(srv, name) || rcp_req_name_reserved(srv, name))
		return true;
	LIST_FOREACH(r, &srv->retiring, retire_link)
	if (!strcmp(r->name, name))
		return true;
	return false;
}
