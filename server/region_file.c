/* SPDX-License-Identifier: BSD-3-Clause */
/* region_file.c -- file regions: a shared mapping where the filesystem has no writeback,
 * otherwise memory staged from the file and written back by FLUSH and at exit */
#include "server/region.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sodium.h>

#include "server/check.h"

/* Bytes per pread/pwrite: large enough for the disk, small enough to look at a cancel flag
 * often. */
#define IO_CHUNK (8ull << 20)

/* fs_name -- a filesystem's name for the log, from statfs's magic number */
static void fs_name(long type, char *buf, size_t cap)
{
	static const struct {
		long magic;
		const char *name;
	} known[] = {
		{TMPFS_MAGIC, "tmpfs"},	  {HUGETLBFS_MAGIC, "hugetlbfs"},
		{RAMFS_MAGIC, "ramfs"},	  {EXT4_SUPER_MAGIC, "ext4"},
		{XFS_SUPER_MAGIC, "xfs"}, {BTRFS_SUPER_MAGIC, "btrfs"},
		{V9FS_MAGIC, "9p"},	  {NFS_SUPER_MAGIC, "nfs"},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].magic == type) {
			snprintf(buf, cap, "%s", known[i].name);
			return;
		}
	}
	snprintf(buf, cap, "fs 0x%lx", (unsigned long)type);
}

/* fs_has_no_writeback -- filesystems whose page cache is the file: nothing is ever written
 * back, so pages the NIC writes into cannot be cleaned behind its back */
static bool fs_has_no_writeback(long type)
{
	return type == TMPFS_MAGIC || type == HUGETLBFS_MAGIC || type == RAMFS_MAGIC;
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
			rcp_info(&srv->log,
				 "region %s: %s is not writable by the daemon: serving a copy "
				 "(FLUSH has nothing to do)",
				 spec->name, spec->path);
			*writable = false;
			return fd;
		}
	}
	rcp_err(&srv->log, "region %s: open %s: %s", spec->name, spec->path, strerror(errno));
	return -errno;
}

/* size_file -- the region's size: the asked one (extending the file, durably) or the file's */
static int size_file(struct rcp_server *srv, const struct rcp_region_spec *spec,
		     struct rcp_region *r, const struct stat *st)
{
	r->size = spec->size ? spec->size : (uint64_t)st->st_size;
	if (r->size == 0) {
		rcp_err(&srv->log, "region %s: %s is empty: give a size to extend it", r->name,
			spec->path);
		return -EINVAL;
	}
	if ((uint64_t)st->st_size >= r->size)
		return 0;
	if (ftruncate(r->fd, (off_t)r->size) < 0 || fsync(r->fd) < 0) {
		rcp_err(&srv->log, "region %s: extend %s to %llu bytes: %s", r->name, spec->path,
			(unsigned long long)r->size, strerror(errno));
		return -errno;
	}
	rcp_info(&srv->log, "region %s: %s extended from %lld to %llu bytes", r->name, spec->path,
		 (long long)st->st_size, (unsigned long long)r->size);
	return 0;
}

/* stage -- anonymous memory holding the file's bytes (zeros past its end) */
static int stage(struct rcp_server *srv, struct rcp_region *r)
{
	uint64_t off = 0;
	ssize_t n;
	void *p;

	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		rcp_err(&srv->log, "region %s: %llu bytes of memory to stage %s in: %s", r->name,
			(unsigned long long)r->map_size, r->path, strerror(errno));
		return -errno;
	}
	r->addr = p;
	while (off < r->size) {
		size_t want = r->size - off < IO_CHUNK ? (size_t)(r->size - off) : IO_CHUNK;

		n = pread(r->fd, r->addr + off, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rcp_err(&srv->log, "region %s: reading %s at %llu: %s", r->name, r->path,
				(unsigned long long)off, strerror(errno));
			return -errno;
		}
		if (n == 0)
			break; /* the file ends early: the rest stays zero, as a hole would read */
		off += (uint64_t)n;
	}
	/* the copy is loaded: its page cache is not needed any more */
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (r->writeback) {
		r->dirty = calloc((r->size / RCP_REGION_DIRTY_CHUNK + 8) / 8, 1);
		if (!r->dirty)
			return -ENOMEM;
	}
	return 0;
}

#define INSTANCE_XATTR "user.rdmacpy.instance"

/* identity_instance -- an instance id from the file's identity: its device, inode and birth
 * time, which a file keeps across daemon restarts and a replacement file does not share */
static uint64_t identity_instance(int fd, const struct stat *st)
{
	struct {
		uint64_t dev, ino;
		int64_t btime_s;
		uint32_t btime_ns;
		uint32_t zero;
	} who = {.dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino};
	struct statx stx;
	uint64_t id;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME)) {
		who.btime_s = stx.stx_btime.tv_sec;
		who.btime_ns = stx.stx_btime.tv_nsec;
	}
	crypto_generichash((unsigned char *)&id, sizeof(id), (const unsigned char *)&who,
			   sizeof(who), NULL, 0);
	return id ? id : 1;
}

/*
 * file_instance -- the region's instance id, kept with the file so that a daemon restarted on
 * the same file tells a reconnecting client it is the same region: an extended attribute of
 * the file, made random the first time. Where the filesystem keeps no user attributes (tmpfs
 * before Linux 6.6) or the file is not writable, the file's identity stands for it.
 */
static void file_instance(struct rcp_server *srv, struct rcp_region *r, bool writable,
			  const struct stat *st)
{
	uint64_t le = 0;
	uint64_t id;

	if (fgetxattr(r->fd, INSTANCE_XATTR, &le, sizeof(le)) == (ssize_t)sizeof(le) && le) {
		r->instance = le64toh(le);
		return;
	}
	randombytes_buf(&id, sizeof(id));
	id |= 1;
	le = htole64(id);
	if (writable && fsetxattr(r->fd, INSTANCE_XATTR, &le, sizeof(le), 0) == 0) {
		/* a lost attribute only makes the next start look like a new region: safe */
		(void)fsync(r->fd);
		r->instance = id;
		return;
	}
	r->instance = identity_instance(r->fd, st);
	rcp_dbg(&srv->log,
		"region %s: no %s on %s (%s): its instance id follows the file's identity", r->name,
		INSTANCE_XATTR, r->path, strerror(errno));
}

/* rcp_region_map_file -- shared mapping or staging, by what the filesystem does */
int rcp_region_map_file(struct rcp_server *srv, const struct rcp_region_spec *spec,
			struct rcp_region *r)
{
	struct statfs sfs;
	struct stat st;
	bool writable;
	void *p;
	int ret;

	snprintf(r->path, sizeof(r->path), "%s", spec->path);
	ret = open_file(srv, spec, &writable);
	if (ret < 0)
		return ret;
	r->fd = ret;
	if (fstat(r->fd, &st) < 0 || fstatfs(r->fd, &sfs) < 0) {
		ret = -errno;
		rcp_err(&srv->log, "region %s: stat %s: %s", r->name, spec->path, strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		rcp_err(&srv->log, "region %s: %s is not a regular file", r->name, spec->path);
		return -EINVAL;
	}
	fs_name((long)sfs.f_type, r->fstype, sizeof(r->fstype));
	file_instance(srv, r, writable, &st);
	ret = size_file(srv, spec, r, &st);
	if (ret)
		return ret;
	r->map_size = rcp_round_up(r->size, (uint64_t)sysconf(_SC_PAGESIZE));
	if (!r->map_size || r->map_size > SIZE_MAX)
		return -EOVERFLOW;
	if (!writable || !fs_has_no_writeback((long)sfs.f_type)) {
		r->backing = RCP_BACK_STAGED;
		r->writeback = writable && r->rights == RCP_RIGHTS_RW;
		return stage(srv, r);
	}
	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		rcp_err(&srv->log, "region %s: mmap %s: %s", r->name, spec->path, strerror(errno));
		return ret;
	}
	r->addr = p;
	r->backing = RCP_BACK_SHARED;
	return 0;
}

/* rcp_region_mark_dirty -- remember which chunks an rw grant may write */
void rcp_region_mark_dirty(struct rcp_region *r, uint64_t off, uint64_t len)
{
	uint64_t c;

	if (!r->dirty || !len)
		return;
	for (c = off / RCP_REGION_DIRTY_CHUNK; c <= (off + len - 1) / RCP_REGION_DIRTY_CHUNK; c++)
		r->dirty[c / 8] |= (uint8_t)(1u << (c % 8));
}

/* write_range -- pwrite the staged bytes of [off, off+len) into the file */
static int write_range(struct rcp_region *r, uint64_t off, uint64_t len, atomic_bool *cancel,
		       uint64_t *written)
{
	uint64_t end = off + len;
	ssize_t n;

	while (off < end) {
		size_t want = end - off < IO_CHUNK ? (size_t)(end - off) : IO_CHUNK;

		if (cancel && atomic_load(cancel))
			return -ECANCELED;
		n = pwrite(r->fd, r->addr + off, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		*written += (uint64_t)n;
	}
	return 0;
}

/* sync_and_drop -- make what was written durable, then let its page cache go: the staged copy
 * is the one served, and keeping both would double the memory a region costs */
static int sync_and_drop(struct rcp_region *r, uint64_t off, uint64_t len)
{
	if (fdatasync(r->fd) < 0)
		return -errno;
	posix_fadvise(r->fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	return 0;
}

/* rcp_region_flush -- durable before it returns */
int rcp_region_flush(struct rcp_region *r, uint64_t off, uint64_t len, atomic_bool *cancel,
		     uint64_t *written)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t nw = 0;
	uint64_t start;
	uint64_t end;
	int ret = 0;

	if (r->backing == RCP_BACK_SHARED) {
		start = off & ~(page - 1);
		end = rcp_round_up(off + len, page);
		if (end > r->map_size)
			end = r->map_size;
		if (msync(r->addr + start, end - start, MS_SYNC) < 0)
			ret = -errno;
	} else if (r->backing == RCP_BACK_STAGED && r->writeback) {
		ret = write_range(r, off, len, cancel, &nw);
		if (!ret)
			ret = sync_and_drop(r, off, len);
	}
	if (written)
		*written = nw;
	return ret;
}

/* rcp_region_write_back -- every chunk a grant could have written, then one fdatasync */
int rcp_region_write_back(struct rcp_server *srv, struct rcp_region *r)
{
	uint64_t start = rcp_now_ms();
	uint64_t nchunks;
	uint64_t written = 0;
	uint64_t c;
	int ret = 0;

	if (r->backing == RCP_BACK_SHARED) {
		if (msync(r->addr, r->map_size, MS_SYNC) < 0) {
			ret = -errno;
			rcp_err(&srv->log, "region %s: msync: %s", r->name, strerror(errno));
		}
		return ret;
	}
	if (r->backing != RCP_BACK_STAGED || !r->writeback || !r->dirty)
		return 0;
	nchunks = (r->size + RCP_REGION_DIRTY_CHUNK - 1) / RCP_REGION_DIRTY_CHUNK;
	for (c = 0; c < nchunks && !ret; c++) {
		uint64_t off = c * RCP_REGION_DIRTY_CHUNK;
		uint64_t len = r->size - off < RCP_REGION_DIRTY_CHUNK ? r->size - off
								      : RCP_REGION_DIRTY_CHUNK;

		if (r->dirty[c / 8] & (1u << (c % 8)))
			ret = write_range(r, off, len, NULL, &written);
	}
	if (!ret && written)
		ret = sync_and_drop(r, 0, 0);
	if (ret)
		rcp_err(&srv->log, "region %s: writing %s back: %s; %llu bytes written", r->name,
			r->path, strerror(-ret), (unsigned long long)written);
	else if (written)
		rcp_info(&srv->log, "region %s: wrote %llu bytes back to %s in %llu ms", r->name,
			 (unsigned long long)written, r->path,
			 (unsigned long long)(rcp_now_ms() - start));
	return ret;
}

/* rcp_backing_str -- for logs */
const char *rcp_backing_str(enum rcp_backing b)
{
	switch (b) {
	case RCP_BACK_ANON:
		return "anonymous";
	case RCP_BACK_SHARED:
		return "shared mapping, no writeback";
	case RCP_BACK_STAGED:
		return "staged in memory";
	}
	return "?";
}
