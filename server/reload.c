/* SPDX-License-Identifier: BSD-3-Clause */
/* reload.c -- SIGHUP (systemctl reload): the command line and its config files read again and
 * applied while everyone stays connected, or refused as a whole */
#include "server/reload.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/check.h"
#include "server/keepalive.h"
#include "server/notify.h"
#include "server/options.h"
#include "server/region.h"
#include "server/worker.h"

/*
 * What a reload may change, and how:
 * - limits (clients, grants, long requests, pending connections, per-source caps, the
 *   authentication deadline, keepalive, dynamic memory, allow-create, the log level) apply to
 *   what arrives after it; nothing admitted before is taken back;
 * - the key file is read again (key rotation): new connections need the new key, clients
 *   already authenticated stay;
 * - a new region is mapped and registered on a worker and appears in LIST when that is done;
 * - a removed region leaves LIST at once and takes no new grant or request; its grants,
 *   copies and long requests go on, and it is freed when the last of them ends;
 * - a region's rights may change (for new grants).
 * What needs a restart (the address, port, workers, grant mode, metrics address, a region's
 * kind, size or file) makes the reload fail, as does any error: the whole new configuration
 * is checked before anything of it is applied, so a refused reload changes nothing.
 */

/* Added regions, mapped on a worker. */
struct add_job {
	struct rcp_job job;
	struct rcp_server *srv;
	struct rcp_region_spec spec;
	struct rcp_region *r;
	int result;
};

/* same_spec -- what of a region a reload cannot change is unchanged */
static bool same_spec(const struct rcp_region_spec *a, const struct rcp_region *r)
{
	if (a->kind != r->kind)
		return false;
	if (a->kind == RCP_KIND_FILE)
		return !strcmp(a->path, r->path) && (!a->size || a->size == r->size);
	return a->size == r->size;
}

/* spec_of -- the new config's spec of a region name, or NULL */
static const struct rcp_region_spec *spec_of(const struct rcp_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nregions; i++)
		if (!strcmp(c->regions[i].name, name))
			return &c->regions[i];
	return NULL;
}

/* check -- everything a reload cannot apply; "" if the new config can be applied */
static int check(const struct rcp_server *srv, const struct rcp_config *nc, char *why, size_t cap)
{
	const struct rcp_config *oc = &srv->cfg;
	size_t i;

#define SAME_STR(f, what)                                                                       \
	if (strcmp(oc->f, nc->f)) {                                                             \
		snprintf(why, cap, "%s cannot change without a restart ('%.150s' -> '%.150s')", \
			 what, oc->f, nc->f);                                                   \
		return -EINVAL;                                                                 \
	}
#define SAME_VAL(f, what)                                                       \
	if (oc->f != nc->f) {                                                   \
		snprintf(why, cap, "%s cannot change without a restart", what); \
		return -EINVAL;                                                 \
	}
	if (oc->nlisten != nc->nlisten) {
		snprintf(why, cap, "listen addresses cannot change without a restart");
		return -EINVAL;
	}
	for (i = 0; i < oc->nlisten; i++)
		SAME_STR(listen[i], "listen");
	SAME_VAL(port, "port");
	SAME_VAL(no_auth, "no-auth");
	SAME_VAL(workers, "workers");
	SAME_VAL(grant_mode, "grant-mode");
	SAME_STR(metrics, "metrics");
	SAME_STR(cluster_key_file, "cluster-key-file");
	SAME_STR(pid_file, "pid-file");
	SAME_VAL(syslog, "syslog");
#undef SAME_STR
#undef SAME_VAL
	for (i = 0; i < srv->nregions; i++) {
		const struct rcp_region *r = srv->regions[i];
		const struct rcp_region_spec *sp = spec_of(nc, r->name);

		if (!sp)
			continue;
		if (r->dynamic) {
			snprintf(why, cap,
				 "region %s: a client created that name; it cannot also "
				 "be configured",
				 r->name);
			return -EEXIST;
		}
		if (!same_spec(sp, r)) {
			snprintf(why, cap,
				 "region %s: its kind, size or file changed; remove it in one "
				 "reload "
				 "and add it back in the next",
				 r->name);
			return -EINVAL;
		}
	}
	for (i = 0; i < nc->nregions; i++) {
		const struct rcp_region *r;

		if (rcp_region_find((struct rcp_server *)srv, nc->regions[i].name))
			continue;
		LIST_FOREACH(r, &srv->retiring, retire_link)
		{
			if (!strcmp(r->name, nc->regions[i].name)) {
				snprintf(
					why, cap,
					"region %s: still being removed (it has %u grants); add it "
					"again once it is gone",
					r->name, r->ngrants);
				return -EBUSY;
			}
		}
	}
	return 0;
}

/* add_work -- map and register on a worker: the pinning takes time that grows with size */
static void add_work(struct rcp_job *job)
{
	struct add_job *a = (struct add_job *)job;

	a->result = rcp_region_new(a->srv, &a->spec, false, &a->r);
}

/* add_done -- in the loop: the region joins the list, or the failure is logged */
static void add_done(struct rcp_job *job)
{
	struct add_job *a = (struct add_job *)job;
	struct rcp_server *srv = a->srv;

	srv->nadding--;
	if (!job->ran && !a->r)
		a->result = -ECANCELED;
	if (!a->result && a->r && srv->shutting_down)
		a->result = -ESHUTDOWN;
	if (!a->result && a->r && rcp_region_add(srv, a->r) == 0) {
		rcp_info(&srv->log, "reload: region %s added (%llu bytes)", a->spec.name,
			 (unsigned long long)a->r->size);
	} else {
		rcp_err(&srv->log, "reload: region %s could not be added: %s", a->spec.name,
			strerror(a->result ? -a->result : ENOMEM));
		rcp_region_delete(srv, &a->r);
	}
	free(a);
}

/* retire -- a region the new config lacks: out of the list, freed when unused */
static void retire(struct rcp_server *srv, struct rcp_region *r)
{
	rcp_region_remove(srv, r);
	r->retiring = true;
	LIST_INSERT_HEAD(&srv->retiring, r, retire_link);
	if (rcp_region_busy(r))
		rcp_info(&srv->log,
			 "reload: region %s removed from the list; it goes once its %u grant%s, "
			 "%u cop%s and %u request%s end",
			 r->name, r->ngrants, r->ngrants == 1 ? "" : "s", r->ncopies,
			 r->ncopies == 1 ? "y" : "ies", r->njobs, r->njobs == 1 ? "" : "s");
	rcp_region_unused(srv, r);
}

/* apply_limits -- the settings that apply to what comes next */
static void apply_limits(struct rcp_server *srv, const struct rcp_config *nc)
{
	struct rcp_config *oc = &srv->cfg;
	bool keepalive_changed = oc->keepalive_ms != nc->keepalive_ms;

	oc->max_clients = nc->max_clients;
	oc->max_grants_per_client = nc->max_grants_per_client;
	oc->max_jobs_per_client = nc->max_jobs_per_client;
	oc->auth_timeout_ms = nc->auth_timeout_ms;
	oc->max_pending = nc->max_pending;
	oc->max_pending_per_source = nc->max_pending_per_source;
	oc->max_per_source = nc->max_per_source;
	oc->max_dynamic = nc->max_dynamic;
	oc->allow_create = nc->allow_create;
	oc->log_level = nc->log_level;
	oc->keepalive_ms = nc->keepalive_ms;
	srv->log.min_level = nc->log_level;
	if (keepalive_changed) {
		rcp_keepalive_stop(srv);
		if (rcp_keepalive_start(srv))
			rcp_err(&srv->log, "reload: the keepalive timer could not be restarted");
	}
}

/* apply_regions -- removed ones retire, new ones are mapped on workers, rights follow */
static void apply_regions(struct rcp_server *srv, const struct rcp_config *nc, unsigned *added,
			  unsigned *removed)
{
	size_t i;

	*added = 0;
	*removed = 0;
	for (i = srv->nregions; i-- > 0;) {
		struct rcp_region *r = srv->regions[i];
		const struct rcp_region_spec *sp;

		if (r->dynamic)
			continue;
		sp = spec_of(nc, r->name);
		if (!sp) {
			retire(srv, r);
			(*removed)++;
		} else if (sp->rights != r->rights) {
			rcp_info(&srv->log, "reload: region %s: new grants may be %s", r->name,
				 rcp_rights_str(sp->rights));
			r->rights = sp->rights;
		}
	}
	for (i = 0; i < nc->nregions; i++) {
		struct add_job *a;

		if (rcp_region_find(srv, nc->regions[i].name))
			continue;
		a = calloc(1, sizeof(*a));
		if (!a) {
			rcp_err(&srv->log, "reload: region %s: out of memory", nc->regions[i].name);
			continue;
		}
		a->srv = srv;
		a->spec = nc->regions[i];
		rcp_job_init(&a->job, "ADD", NULL, add_work, add_done);
		if (rcp_workers_submit(srv->workers, &a->job)) {
			rcp_err(&srv->log, "reload: region %s: the workers are stopping",
				a->spec.name);
			free(a);
			continue;
		}
		srv->nadding++;
		(*added)++;
	}
}

/* swap_regions -- the daemon's config keeps the region list it now serves */
static void swap_regions(struct rcp_config *oc, struct rcp_config *nc)
{
	struct rcp_region_spec *r = oc->regions;
	size_t n = oc->nregions;

	oc->regions = nc->regions;
	oc->nregions = nc->nregions;
	nc->regions = r;
	nc->nregions = n;
}

/* rcp_reload -- read, check, apply */
int rcp_reload(struct rcp_server *srv)
{
	struct rcp_auth_key key;
	struct rcp_config nc;
	unsigned int added = 0;
	unsigned int removed = 0;
	char why[512] = "";
	char status[1024];
	int ret;

	if (srv->shutting_down)
		return -ESHUTDOWN;
	rcp_notify_reloading(srv);
	rcp_info(&srv->log, "reload: reading the configuration again");
	rcp_config_init(&nc);
	/* getopt starts over from the first argument */
	optind = 0;
	ret = rcp_options_parse(&nc, srv->argc, srv->argv);
	if (ret) {
		snprintf(why, sizeof(why), "the configuration does not parse (see above)");
		goto refuse;
	}
	ret = check(srv, &nc, why, sizeof(why));
	if (ret)
		goto refuse;
	memset(&key, 0, sizeof(key));
	if (!nc.no_auth) {
		ret = rcp_auth_key_load(nc.key_file, &key);
		if (ret) {
			snprintf(why, sizeof(why), "key file %.300s: %s", nc.key_file,
				 strerror(-ret));
			goto refuse;
		}
	}
	/* from here on, nothing fails */
	if (!nc.no_auth) {
		bool cluster_is_key = !srv->cfg.cluster_key_file[0];

		rcp_auth_key_wipe(&srv->key);
		srv->key = key;
		if (cluster_is_key) {
			rcp_auth_key_wipe(&srv->cluster_key);
			srv->cluster_key = key;
		}
		snprintf(srv->cfg.key_file, sizeof(srv->cfg.key_file), "%s", nc.key_file);
	}
	apply_limits(srv, &nc);
	apply_regions(srv, &nc, &added, &removed);
	swap_regions(&srv->cfg, &nc);
	rcp_config_fini(&nc);
	snprintf(status, sizeof(status),
		 "serving %zu region%s on %s (reloaded: %u added, %u removed)", srv->nregions,
		 srv->nregions == 1 ? "" : "s", srv->listen_str, added, removed);
	rcp_info(&srv->log,
		 "reload: applied: %u region%s being added, %u removed, limits and key "
		 "from the new configuration",
		 added, added == 1 ? "" : "s", removed);
	rcp_notify_reloaded(srv, status);
	return 0;

refuse:
	rcp_config_fini(&nc);
	rcp_err(&srv->log, "reload: refused, nothing changed: %s", why);
	snprintf(status, sizeof(status), "serving %zu region%s on %s (last reload refused: %s)",
		 srv->nregions, srv->nregions == 1 ? "" : "s", srv->listen_str, why);
	rcp_notify_reloaded(srv, status);
	return ret ? ret : -EINVAL;
}
