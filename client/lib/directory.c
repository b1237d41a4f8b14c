/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.c -- the cluster directory for applications: find a region's node by name, list the
 * cluster (etcd through common/etcd.c, the layout of common/directory.c) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/include/rdmacpy.h"
#include "common/directory.h"
#include "client/lib/error.h"
#include "common/etcd.h"

struct rdmacpy_dir {
	struct rcp_etcd *etcd;
	char cluster[RCP_DIR_NAME_MAX];
	rdmacpy_log_fn log_fn;
	void *log_ctx;
	char err[512];
};

/* What a scan of the directory collects. */
struct scan {
	struct rdmacpy_dir *d;
	struct rcp_dir_node *nodes;
	size_t nnodes;
	size_t cap_nodes;
	struct rcp_dir_region *regions;
	size_t nregions;
	size_t cap_regions;
	bool oom;
};

/* dir_err -- remember a sentence for rdmacpy_dir_last_error */
static void dir_err(struct rdmacpy_dir *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void dir_err(struct rdmacpy_dir *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
}

/* warn -- a malformed entry, through the application's log */
static void warn(struct rdmacpy_dir *d, const char *key, const char *why)
{
	char msg[600];

	if (!d->log_fn)
		return;
	snprintf(msg, sizeof(msg), "directory: skipping %s: %s", key, why);
	d->log_fn(d->log_ctx, RDMACPY_LOG_WARN, msg);
}

/* public -- an etcd errno as a public code (error.c decides, as for everything else) */
static int public(int err)
{
	return rcp_err_public(err, RCP_CTX_DIRECTORY);
}

/* rdmacpy_dir_opts_init -- defaults */
void rdmacpy_dir_opts_init(struct rdmacpy_dir_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->cluster = RCP_DIR_DEFAULT_NAME;
	o->timeout_ms = 5000;
}

/* rdmacpy_dir_open -- a handle; nothing is sent yet */
int rdmacpy_dir_open(const char *url, const struct rdmacpy_dir_opts *opts, struct rdmacpy_dir **out)
{
	struct rdmacpy_dir_opts o;
	struct rcp_etcd_opts eo = {0};
	struct rdmacpy_dir *d;
	char err[512] = "";
	int ret;

	if (!out)
		return RDMACPY_E_INVAL;
	*out = NULL;
	rdmacpy_dir_opts_init(&o);
	if (opts) {
		if (opts->size < offsetof(struct rdmacpy_dir_opts, cluster))
			return RDMACPY_E_INVAL;
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	if (!url || !o.cluster || !rcp_dir_name_ok(o.cluster))
		return RDMACPY_E_INVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return RDMACPY_E_NOMEM;
	snprintf(d->cluster, sizeof(d->cluster), "%s", o.cluster);
	d->log_fn = o.log_fn;
	d->log_ctx = o.log_ctx;
	eo.url = url;
	eo.timeout_ms = o.timeout_ms;
	eo.ca_file = o.ca_file;
	eo.cert_file = o.cert_file;
	eo.key_file = o.key_file;
	eo.user = o.user;
	eo.password = o.password;
	ret = rcp_etcd_open(&eo, &d->etcd, err, sizeof(err));
	if (ret) {
		/* no handle to keep the sentence in: the application's log gets it */
		if (o.log_fn)
			o.log_fn(o.log_ctx, RDMACPY_LOG_ERR, err);
		free(d);
		return public(ret);
	}
	*out = d;
	return 0;
}

/* rdmacpy_dir_close -- free */
void rdmacpy_dir_close(struct rdmacpy_dir **dp)
{
	if (!dp || !*dp)
		return;
	rcp_etcd_close(&(*dp)->etcd);
	free(*dp);
	*dp = NULL;
}

/* rdmacpy_dir_last_error -- the last failure's sentence */
const char *rdmacpy_dir_last_error(const struct rdmacpy_dir *d)
{
	return d ? d->err : "";
}

/* grow -- room for one more element in a scan's array */
static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
	void *nv;

	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	nv = realloc(v, *cap * elem);
	if (!nv)
		free(v);
	return nv;
}

/* on_node -- one node entry */
static void on_node(void *ctx, const char *key, const char *value, int64_t lease)
{
	struct scan *s = ctx;
	struct rcp_dir_node n;
	char why[256];

	if (!value) {
		warn(s->d, key, "the value is not base64");
		return;
	}
	if (rcp_dir_node_parse(s->d->cluster, key, value, &n, why, sizeof(why))) {
		warn(s->d, key, why);
		return;
	}
	n.lease = lease;
	s->nodes = grow(s->nodes, &s->cap_nodes, s->nnodes, sizeof(n));
	if (!s->nodes) {
		s->oom = true;
		s->nnodes = 0;
		return;
	}
	s->nodes[s->nnodes++] = n;
}

/* on_region -- one region entry */
static void on_region(void *ctx, const char *key, const char *value, int64_t lease)
{
	struct scan *s = ctx;
	struct rcp_dir_region r;
	char why[256];

	(void)lease;
	if (!value) {
		warn(s->d, key, "the value is not base64");
		return;
	}
	if (rcp_dir_region_parse(s->d->cluster, key, value, &r, why, sizeof(why))) {
		warn(s->d, key, why);
		return;
	}
	s->regions = grow(s->regions, &s->cap_regions, s->nregions, sizeof(r));
	if (!s->regions) {
		s->oom = true;
		s->nregions = 0;
		return;
	}
	s->regions[s->nregions++] = r;
}

/* scan -- the regions under region_prefix, then the nodes: every node (all_nodes) or only
 * those the regions name, each read by its own key (a resolve on a large cluster reads a few
 * entries, not the whole node list); public code */
static int scan(struct rdmacpy_dir *d, const char *region_prefix, bool all_nodes, struct scan *s)
{
	char prefix[RCP_DIR_KEY_MAX];
	size_t i;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->d = d;
	if (region_prefix)
		ret = rcp_etcd_get_prefix(d->etcd, region_prefix, on_region, s);
	if (!ret && all_nodes) {
		rcp_dir_nodes_prefix(prefix, sizeof(prefix), d->cluster);
		ret = rcp_etcd_get_prefix(d->etcd, prefix, on_node, s);
	}
	for (i = 0; !ret && !all_nodes && i < s->nregions; i++) {
		size_t j;
		bool seen = false;

		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(s->regions[j].node, s->regions[i].node);
		if (seen)
			continue;
		rcp_dir_node_key(prefix, sizeof(prefix), d->cluster, s->regions[i].node);
		ret = rcp_etcd_get(d->etcd, prefix, on_node, s);
	}
	if (ret) {
		dir_err(d, "%s", rcp_etcd_error(d->etcd));
		return public(ret);
	}
	if (s->oom) {
		dir_err(d, "out of memory reading the directory");
		return RDMACPY_E_NOMEM;
	}
	return 0;
}

/* scan_free -- what a scan collected */
static void scan_free(struct scan *s)
{
	free(s->nodes);
	free(s->regions);
}

/* node_of -- a node entry by name, or NULL (a region whose node entry is missing or
 * malformed cannot be reached) */
static const struct rcp_dir_node *node_of(const struct scan *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nnodes; i++)
		if (!strcmp(s->nodes[i].node, name))
			return &s->nodes[i];
	return NULL;
}

/* fill_entry -- the public entry of a region on its node, as much as the caller's struct holds */
static void fill_entry(const struct rcp_dir_region *r, const struct rcp_dir_node *n,
		       struct rdmacpy_dir_entry *out, size_t size)
{
	struct rdmacpy_dir_entry e;

	memset(&e, 0, sizeof(e));
	e.size = size;
	snprintf(e.node, sizeof(e.node), "%s", r->node);
	snprintf(e.region, sizeof(e.region), "%s", r->region);
	snprintf(e.address, sizeof(e.address), "%s", n->addrs[0]);
	e.port = n->port;
	e.region_size = r->size;
	e.rights = (enum rdmacpy_rights)r->rights;
	e.kind = (enum rdmacpy_region_kind)r->kind;
	memcpy(out, &e, size < sizeof(e) ? size : sizeof(e));
}

/* rdmacpy_dir_resolve -- where a region lives */
int rdmacpy_dir_resolve(struct rdmacpy_dir *d, const char *region, const char *node,
			struct rdmacpy_dir_entry *out)
{
	char prefix[RCP_DIR_KEY_MAX];
	const struct rcp_dir_region *hit = NULL;
	const struct rcp_dir_node *hit_node = NULL;
	char nodes[400] = "";
	size_t size;
	size_t i;
	unsigned int n = 0;
	struct scan s;
	int ret;

	if (!d || !region || !out || out->size < offsetof(struct rdmacpy_dir_entry, node) ||
	    !rcp_dir_region_name_ok(region) || (node && !rcp_dir_name_ok(node)))
		return RDMACPY_E_INVAL;
	size = out->size;
	rcp_dir_region_prefix(prefix, sizeof(prefix), d->cluster, region);
	ret = scan(d, prefix, false, &s);
	if (ret)
		return ret;
	for (i = 0; i < s.nregions; i++) {
		const struct rcp_dir_region *r = &s.regions[i];
		const struct rcp_dir_node *nn = node_of(&s, r->node);

		if (strcmp(r->region, region) || (node && strcmp(r->node, node)) || !nn)
			continue;
		n++;
		hit = r;
		hit_node = nn;
		snprintf(nodes + strlen(nodes), sizeof(nodes) - strlen(nodes), "%s%s",
			 n > 1 ? ", " : "", r->node);
	}
	if (!n) {
		dir_err(d, "no node of cluster %s serves region %s%s%s", d->cluster, region,
			node ? " on " : "", node ? node : "");
		ret = RDMACPY_E_NOENT;
	} else if (n > 1) {
		dir_err(d, "region %s is served by %u nodes: %s; name one (NODE/%s)", region, n,
			nodes, region);
		ret = RDMACPY_E_AMBIGUOUS;
	} else {
		fill_entry(hit, hit_node, out, size);
	}
	scan_free(&s);
	return ret;
}

/* rdmacpy_dir_list_nodes -- the cluster's nodes, with their leases' time left */
int rdmacpy_dir_list_nodes(struct rdmacpy_dir *d, struct rdmacpy_dir_node *out, size_t elem_size,
			   size_t cap, size_t *total)
{
	char prefix[RCP_DIR_KEY_MAX];
	size_t filled = 0;
	size_t i;
	size_t j;
	struct scan s;
	int ret;

	if (!d || (cap && !out) || (cap && elem_size < offsetof(struct rdmacpy_dir_node, node)))
		return RDMACPY_E_INVAL;
	rcp_dir_regions_prefix(prefix, sizeof(prefix), d->cluster);
	ret = scan(d, prefix, true, &s);
	if (ret)
		return ret;
	for (i = 0; i < s.nnodes && filled < cap; i++) {
		const struct rcp_dir_node *n = &s.nodes[i];
		struct rdmacpy_dir_node e;
		int64_t left = -1;
		int64_t granted = 0;

		memset(&e, 0, sizeof(e));
		e.size = elem_size;
		snprintf(e.node, sizeof(e.node), "%s", n->node);
		for (j = 0; j < n->naddrs && j < 8; j++)
			snprintf(e.addresses[j], sizeof(e.addresses[j]), "%s", n->addrs[j]);
		e.naddresses = (unsigned int)j;
		e.port = n->port;
		e.protocol = n->protocol;
		snprintf(e.started, sizeof(e.started), "%s", n->started);
		if (n->lease && rcp_etcd_lease_ttl(d->etcd, n->lease, &left, &granted))
			left = -1;
		e.lease_left_s = left;
		e.lease_ttl_s = granted;
		for (j = 0; j < s.nregions; j++)
			e.nregions += !strcmp(s.regions[j].node, n->node);
		memcpy((char *)out + filled * elem_size, &e,
		       elem_size < sizeof(e) ? elem_size : sizeof(e));
		filled++;
	}
	if (total)
		*total = s.nnodes;
	scan_free(&s);
	return (int)filled;
}

/* rdmacpy_dir_list_regions -- regions of one node or all, each with where to connect */
int rdmacpy_dir_list_regions(struct rdmacpy_dir *d, const char *node, struct rdmacpy_dir_entry *out,
			     size_t elem_size, size_t cap, size_t *total)
{
	char prefix[RCP_DIR_KEY_MAX];
	size_t filled = 0;
	size_t count = 0;
	size_t i;
	struct scan s;
	int ret;

	if (!d || (cap && !out) || (cap && elem_size < offsetof(struct rdmacpy_dir_entry, node)) ||
	    (node && !rcp_dir_name_ok(node)))
		return RDMACPY_E_INVAL;
	rcp_dir_regions_prefix(prefix, sizeof(prefix), d->cluster);
	ret = scan(d, prefix, true, &s);
	if (ret)
		return ret;
	for (i = 0; i < s.nregions; i++) {
		const struct rcp_dir_region *r = &s.regions[i];
		const struct rcp_dir_node *n = node_of(&s, r->node);

		if ((node && strcmp(r->node, node)) || !n)
			continue;
		count++;
		if (filled < cap) {
			fill_entry(r, n,
				   (struct rdmacpy_dir_entry *)((char *)out + filled * elem_size),
				   elem_size);
			filled++;
		}
	}
	if (total)
		*total = count;
	scan_free(&s);
	return (int)filled;
}
