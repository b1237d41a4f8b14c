/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.c -- publishing this daemon and its regions in the cluster directory (etcd), under a
 * lease kept alive by a thread of its own, so that nothing etcd does ever holds up the loop */
#include "server/directory.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/directory.h"
#include "common/etcd.h"
#include "server/listener.h"
#include "server/region.h"

/*
 * The loop owns the daemon's state; the publisher thread owns the etcd handle. They share only
 * a snapshot of what should be published (the node entry and one entry per region, as keys
 * and JSON values) under a mutex: the loop replaces it whenever regions change, the thread
 * makes etcd match it. The thread's cycle:
 *   no lease: grant one, put everything under it (a failure: log once, back off 0.5 s, 1 s,
 *             2 s ... 8 s, try again; the daemon serves all along);
 *   a lease:  put what changed, delete what went, keep the lease alive every TTL/3; a lease
 *             etcd no longer knows (it was away longer than the TTL) starts over with a new
 *             one, so the node comes back by itself.
 * At shutdown the lease is revoked, so every entry of the node goes at once; after a crash
 * (SIGKILL) they go when the lease runs out.
 */

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 8000

struct entry {
	char key[RCP_DIR_KEY_MAX];
	char *value;
};

struct rcp_directory {
	struct rcp_server *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* the snapshot, under lock */
	struct entry *want;
	size_t nwant;
	bool changed;
	bool stop;
	/* the thread's */
	struct rcp_etcd *etcd;
	int64_t lease;
	struct entry *have; /* what is in etcd now */
	size_t nhave;
	bool reachable; /* last state logged */
	bool pending;	/* the snapshot changed and etcd does not have it yet */
	unsigned int backoff_ms;
	char cluster[RCP_DIR_NAME_MAX];
	char node[RCP_DIR_NAME_MAX];
	int ttl;
};

/* entries_free -- a list of entries */
static void entries_free(struct entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].value);
	free(v);
}

/* snapshot -- what should be in etcd now, from the loop's state */
static int snapshot(struct rcp_directory *d, struct entry **out, size_t *n)
{
	struct rcp_server *srv = d->srv;
	struct rcp_dir_node node = {0};
	struct entry *v = calloc(srv->nregions + 1, sizeof(*v));
	size_t i;
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	snprintf(node.node, sizeof(node.node), "%s", d->node);
	/* every address served (the rails), numeric, as clients connect to them */
	for (i = 0; i < srv->nlistens && i < RCP_DIR_MAX_ADDRS; i++)
		snprintf(node.addrs[i], sizeof(node.addrs[i]), "%s", srv->listens[i].addr);
	node.naddrs = (unsigned int)i;
	node.port = rcp_listener_port(srv);
	node.protocol = RCP_PROTO_VERSION;
	snprintf(node.started, sizeof(node.started), "%s", srv->started_iso);
	rcp_dir_node_key(v[k].key, sizeof(v[k].key), d->cluster, d->node);
	v[k].value = rcp_dir_node_json(&node);
	if (!v[k++].value)
		goto err;
	for (i = 0; i < srv->nregions; i++) {
		const struct rcp_region *r = srv->regions[i];
		struct rcp_dir_region e = {0};

		if (!rcp_dir_region_name_ok(r->name)) {
			rcp_warn(&srv->log,
				 "directory: region %s not published: its name holds a "
				 "'/'",
				 r->name);
			continue;
		}
		snprintf(e.region, sizeof(e.region), "%s", r->name);
		snprintf(e.node, sizeof(e.node), "%s", d->node);
		e.size = r->size;
		e.rights = r->rights;
		e.kind = r->kind;
		e.dynamic = r->dynamic;
		rcp_dir_region_key(v[k].key, sizeof(v[k].key), d->cluster, r->name, d->node);
		v[k].value = rcp_dir_region_json(&e);
		if (!v[k++].value)
			goto err;
	}
	*out = v;
	*n = k;
	return 0;
err:
	entries_free(v, k);
	return -ENOMEM;
}

/* rcp_directory_update -- the loop: regions changed, publish the new set */
void rcp_directory_update(struct rcp_server *srv)
{
	struct rcp_directory *d = srv->directory;
	struct entry *v;
	size_t n;

	if (!d || snapshot(d, &v, &n))
		return;
	pthread_mutex_lock(&d->lock);
	entries_free(d->want, d->nwant);
	d->want = v;
	d->nwant = n;
	d->changed = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* state -- log a change between reachable and not, once per change */
static void state(struct rcp_directory *d, bool ok, const char *what)
{
	struct rcp_server *srv = d->srv;

	if (ok == d->reachable)
		return;
	d->reachable = ok;
	if (ok)
		rcp_info(&srv->log, "directory: %s", what);
	else
		rcp_warn(&srv->log, "directory: %s: %s; still serving, trying again", what,
			 rcp_etcd_error(d->etcd));
}

/* find -- an entry by key */
static const struct entry *find(const struct entry *v, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].key, key))
			return &v[i];
	return NULL;
}

/* sync -- make etcd hold want under the lease: put new and changed, delete what went */
static int sync_entries(struct rcp_directory *d, const struct entry *want, size_t nwant)
{
	struct entry *have;
	size_t i;
	int ret;

	for (i = 0; i < nwant; i++) {
		const struct entry *h = find(d->have, d->nhave, want[i].key);

		if (h && !strcmp(h->value, want[i].value))
			continue;
		ret = rcp_etcd_put(d->etcd, want[i].key, want[i].value, d->lease);
		if (ret)
			return ret;
	}
	for (i = 0; i < d->nhave; i++) {
		if (find(want, nwant, d->have[i].key))
			continue;
		ret = rcp_etcd_delete(d->etcd, d->have[i].key);
		if (ret)
			return ret;
	}
	have = calloc(nwant ? nwant : 1, sizeof(*have));
	if (!have)
		return -ENOMEM;
	for (i = 0; i < nwant; i++) {
		memcpy(have[i].key, want[i].key, sizeof(have[i].key));
		have[i].value = strdup(want[i].value);
		if (!have[i].value) {
			entries_free(have, i);
			return -ENOMEM;
		}
	}
	entries_free(d->have, d->nhave);
	d->have = have;
	d->nhave = nwant;
	return 0;
}

/* publish -- a new lease and everything under it */
static int publish(struct rcp_directory *d, const struct entry *want, size_t nwant)
{
	int ret = rcp_etcd_lease_grant(d->etcd, d->ttl, &d->lease);

	if (ret)
		return ret;
	entries_free(d->have, d->nhave);
	d->have = NULL;
	d->nhave = 0;
	ret = sync_entries(d, want, nwant);
	if (ret)
		return ret;
	rcp_info(&d->srv->log,
		 "directory: published node %s and %zu region%s in cluster %s under lease %llx "
		 "(TTL %d s, etcd at %s)",
		 d->node, nwant - 1, nwant == 2 ? "" : "s", d->cluster,
		 (unsigned long long)d->lease, d->ttl, rcp_etcd_endpoint(d->etcd));
	d->reachable = true;
	return 0;
}

/* copy_want -- the snapshot, taken under the lock */
static int copy_want(struct rcp_directory *d, struct entry **out, size_t *n)
{
	struct entry *v = calloc(d->nwant ? d->nwant : 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < d->nwant; i++) {
		memcpy(v[i].key, d->want[i].key, sizeof(v[i].key));
		v[i].value = strdup(d->want[i].value);
		if (!v[i].value) {
			entries_free(v, i);
			return -ENOMEM;
		}
	}
	*out = v;
	*n = d->nwant;
	d->changed = false;
	return 0;
}

/* cycle -- one pass of the thread's work; the milliseconds until the next */
static unsigned int cycle(struct rcp_directory *d, bool changed)
{
	unsigned int beat = (unsigned int)d->ttl * 1000u / 3;
	struct entry *want = NULL;
	size_t nwant = 0;
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = copy_want(d, &want, &nwant);
	pthread_mutex_unlock(&d->lock);
	if (ret)
		return BACKOFF_MIN_MS;
	d->pending = d->pending || changed;
	if (d->lease) {
		ret = rcp_etcd_lease_keepalive(d->etcd, d->lease);
		if (ret == -ENOENT) {
			rcp_warn(&d->srv->log,
				 "directory: lease %llx expired (etcd was away longer "
				 "than %d s); publishing again",
				 (unsigned long long)d->lease, d->ttl);
			d->lease = 0;
			ret = 0;
		} else if (!ret && d->pending) {
			ret = sync_entries(d, want, nwant);
		}
	}
	if (!ret && !d->lease)
		ret = publish(d, want, nwant);
	if (!ret)
		d->pending = false;
	entries_free(want, nwant);
	if (ret) {
		state(d, false, "etcd unreachable");
		d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (d->backoff_ms > BACKOFF_MAX_MS)
			d->backoff_ms = BACKOFF_MAX_MS;
		return d->backoff_ms < beat ? d->backoff_ms : beat;
	}
	state(d, true, "etcd reachable again");
	d->backoff_ms = 0;
	return beat;
}

/* publisher -- the thread */
static void *publisher(void *arg)
{
	struct rcp_directory *d = arg;
	unsigned int wait_ms = 0;
	bool changed = true;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!d->stop && !d->changed &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
			;
		changed = changed || d->changed;
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		pthread_mutex_unlock(&d->lock);
		wait_ms = cycle(d, changed);
		changed = false;
	}
	if (d->lease) {
		int ret = rcp_etcd_lease_revoke(d->etcd, d->lease);

		if (ret)
			rcp_warn(&d->srv->log,
				 "directory: revoking lease %llx: %s; its entries go "
				 "in %d s",
				 (unsigned long long)d->lease, rcp_etcd_error(d->etcd), d->ttl);
		else
			rcp_info(&d->srv->log,
				 "directory: lease %llx revoked: node %s left the "
				 "directory",
				 (unsigned long long)d->lease, d->node);
		d->lease = 0;
	}
	return NULL;
}

/* read_secret -- the first line of a file (the etcd password) */
static int read_secret(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(out, (int)cap, f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return 0;
}

/* rcp_directory_start -- the etcd handle and the publisher thread */
int rcp_directory_start(struct rcp_server *srv)
{
	const struct rcp_config *cfg = &srv->cfg;
	struct rcp_etcd_opts eo = {0};
	struct rcp_directory *d;
	pthread_condattr_t ca;
	sigset_t all;
	sigset_t old;
	char password[256] = "";
	char err[512] = "";
	int ret;

	if (!cfg->directory[0])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->srv = srv;
	d->ttl = (int)cfg->directory_ttl_s;
	snprintf(d->cluster, sizeof(d->cluster), "%s", cfg->cluster);
	if (cfg->node[0]) {
		snprintf(d->node, sizeof(d->node), "%s", cfg->node);
	} else {
		char host[256];

		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "node");
		host[strcspn(host, ".")] = '\0';
		host[RCP_DIR_NAME_MAX - 1] = '\0';
		snprintf(d->node, sizeof(d->node), "%.63s", host);
		if (!rcp_dir_name_ok(d->node)) {
			rcp_err(&srv->log,
				"directory: the host name '%s' is not a node name; give "
				"--node NAME",
				host);
			free(d);
			return -EINVAL;
		}
	}
	if (cfg->directory_password_file[0]) {
		ret = read_secret(cfg->directory_password_file, password, sizeof(password));
		if (ret) {
			rcp_err(&srv->log, "directory: password file %s: %s",
				cfg->directory_password_file, strerror(-ret));
			free(d);
			return ret;
		}
	}
	eo.url = cfg->directory;
	eo.timeout_ms = 3000;
	eo.ca_file = cfg->directory_ca;
	eo.cert_file = cfg->directory_cert;
	eo.key_file = cfg->directory_key;
	eo.user = cfg->directory_user[0] ? cfg->directory_user : NULL;
	eo.password = password;
	ret = rcp_etcd_open(&eo, &d->etcd, err, sizeof(err));
	memset(password, 0, sizeof(password));
	if (ret) {
		rcp_err(&srv->log, "directory: %s", err);
		free(d);
		return ret;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* unknown until tried: the first failure is news, the first success too */
	d->reachable = true;
	srv->directory = d;
	rcp_directory_update(srv);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&d->thread, NULL, publisher, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		srv->directory = NULL;
		rcp_etcd_close(&d->etcd);
		entries_free(d->want, d->nwant);
		free(d);
		return ret;
	}
	rcp_info(&srv->log, "directory: node %s of cluster %s in %s (TTL %d s)", d->node,
		 d->cluster, cfg->directory, d->ttl);
	return 0;
}

/* rcp_directory_leave -- shutdown: the thread revokes the lease and ends (joined at stop) */
void rcp_directory_leave(struct rcp_server *srv)
{
	struct rcp_directory *d = srv->directory;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* rcp_directory_stop -- join the thread (bounded by etcd's timeout) and free */
void rcp_directory_stop(struct rcp_server *srv)
{
	struct rcp_directory *d = srv->directory;

	if (!d)
		return;
	rcp_directory_leave(srv);
	pthread_join(d->thread, NULL);
	rcp_etcd_close(&d->etcd);
	entries_free(d->want, d->nwant);
	entries_free(d->have, d->nhave);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
	srv->directory = NULL;
}
