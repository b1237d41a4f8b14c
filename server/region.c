/* SPDX-License-Identifier: BSD-3-Clause */
/* region.c -- regions: map (anonymous, huge pages, or a file MAP_SHARED) and register once */
#include "server/region.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/check.h"

#define DEFAULT_HUGE_PAGE (2ull << 20)

/* round_up -- x rounded up to a multiple of the power of two a; 0 if that overflows */
static uint64_t round_up(uint64_t x, uint64_t a)
{
	if (x > UINT64_MAX - (a - 1))
		return 0;
	return (x + a - 1) & ~(a - 1);
}

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

	r->map_size = round_up(r->size, align);
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

/* open_file -- open (creating when a size is given) a region's file; ro regions on files we
 * may not write fall back to a read-only descriptor */
static int open_file(struct rcp_server *srv, const struct rcp_region_spec *spec, bool *writable)
{
	int flags = O_RDWR | O_CLOEXEC | (spec->size ? O_CREAT : 0);
	int fd;

	*writable = true;
	fd = open(spec->path, flags, 0600);
	if (fd >= 0)
		return fd;
	if (spec->rights == RCP_RIGHTS_RO && !spec->size && (errno == EACCES || errno == EROFS)) {
		fd = open(spec->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			/* registration pins pages for writing (MW_BIND), which a read-only
			 * shared mapping cannot give: serve a private copy instead */
			rcp_info(&srv->log,
				 "region %s: %s is not writable by the daemon: serving a private "
				 "copy (FLUSH has nothing to do)",
				 spec->name, spec->path);
			*writable = false;
			return fd;
		}
	}
	rcp_err(&srv->log, "region %s: open %s: %s", spec->name, spec->path, strerror(errno));
	return -errno;
}

/* map_file -- map a file MAP_SHARED, creating or extending it to the asked size */
static int map_file(struct rcp_server *srv, const struct rcp_region_spec *spec,
		    struct rcp_region *r)
{
	struct stat st;
	bool writable;
	void *p;
	int ret;

	ret = open_file(srv, spec, &writable);
	if (ret < 0)
		return ret;
	r->fd = ret;
	if (fstat(r->fd, &st) < 0) {
		ret = -errno;
		rcp_err(&srv->log, "region %s: stat %s: %s", r->name, spec->path, strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		rcp_err(&srv->log, "region %s: %s is not a regular file", r->name, spec->path);
		return -EINVAL;
	}
	r->size = spec->size ? spec->size : (uint64_t)st.st_size;
	if (r->size == 0) {
		rcp_err(&srv->log, "region %s: %s is empty: give a size to extend it", r->name,
			spec->path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < r->size) {
		if (ftruncate(r->fd, (off_t)r->size) < 0) {
			ret = -errno;
			rcp_err(&srv->log, "region %s: extend %s to %llu bytes: %s", r->name,
				spec->path, (unsigned long long)r->size, strerror(errno));
			return ret;
		}
		rcp_info(&srv->log, "region %s: %s extended from %lld to %llu bytes", r->name,
			 spec->path, (long long)st.st_size, (unsigned long long)r->size);
	}
	r->map_size = round_up(r->size, (uint64_t)sysconf(_SC_PAGESIZE));
	if (!r->map_size || r->map_size > SIZE_MAX)
		return -EOVERFLOW;
	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, writable ? MAP_SHARED : MAP_PRIVATE,
		 r->fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		rcp_err(&srv->log, "region %s: mmap %s: %s", r->name, spec->path, strerror(errno));
		return ret;
	}
	r->addr = p;
	r->shared_file = writable;
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
	if (spec->kind == RCP_KIND_FILE)
		ret = map_file(srv, spec, r);
	else
		ret = map_anon(srv, r, spec->kind == RCP_KIND_HUGE);
	if (ret)
		goto err_unmap;
	ret = rcp_vb_reg_mr(srv->pd, r->addr, r->size, rcp_mr_access(r->rights, srv->use_mw),
			    &r->mr);
	if (ret) {
		rcp_err(&srv->log, "region %s: registering %llu bytes: %s", r->name,
			(unsigned long long)r->size, strerror(-ret));
		goto err_unmap;
	}
	rcp_info(&srv->log, "region %s: %s %s, %llu bytes%s%s", r->name, rcp_kind_str(r->kind),
		 rcp_rights_str(r->rights), (unsigned long long)r->size,
		 r->kind == RCP_KIND_FILE ? " from " : "",
		 r->kind == RCP_KIND_FILE ? spec->path : "");
	*rp = r;
	return 0;

err_unmap:
	if (r->addr)
		munmap(r->addr, r->map_size);
	if (r->fd >= 0)
		close(r->fd);
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
	if (r->shared_file && msync(r->addr, r->map_size, MS_SYNC) < 0)
		rcp_err(&srv->log, "region %s: msync: %s", r->name, strerror(errno));
	ret = rcp_vb_dereg_mr(&r->mr);
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
		return;
	}
}

/* rcp_region_flush -- msync the whole pages holding the range */
int rcp_region_flush(struct rcp_region *r, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = off & ~(page - 1);
	uint64_t end = round_up(off + len, page);

	if (!r->shared_file)
		return 0;
	if (end > r->map_size)
		end = r->map_size;
	if (msync(r->addr + start, end - start, MS_SYNC) < 0)
		return -errno;
	return 0;
}
