/* SPDX-License-Identifier: BSD-3-Clause */
/* exposition.c -- /metrics: STAT counters, regions, requests, refusals and the RDMA port's own
 * counters in Prometheus text format */
#include "server/exposition.h"


#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/devices.h"
#include "server/grant.h"
#include "server/region.h"
#include "server/session.h"
#include "server/stats.h"

/*
 * Names follow Prometheus conventions: the rdmacpyd_ prefix, base units (bytes, seconds),
 * counters end in _total. Every STAT counter is here, by an explicit table: a STAT counter
 * added without a line below fails to build (the assertion after the table).
 */

enum kind { GAUGE, COUNTER };

struct stat_metric {
	unsigned int index; /* RCP_STAT_I_* */
	const char *name;
	enum kind kind;
	double scale; /* STAT's unit to the metric's base unit */
	const char *help;
};

static const struct stat_metric stat_metrics[] = {
	{RCP_STAT_I_clients_connected, "clients_connected", GAUGE, 1,
	 "Authenticated client connections now."},
	{RCP_STAT_I_clients_total, "clients_total", COUNTER, 1,
	 "Client connections accepted since start."},
	{RCP_STAT_I_grants_active, "grants_active", GAUGE, 1, "Grants open now."},
	{RCP_STAT_I_grants_total, "grants_total", COUNTER, 1, "Grants opened since start."},
	{RCP_STAT_I_mw_active, "memory_windows_active", GAUGE, 1, "Memory windows bound now."},
	{RCP_STAT_I_regions, "regions", GAUGE, 1, "Regions served."},
	{RCP_STAT_I_bytes_registered, "registered_bytes", GAUGE, 1,
	 "Bytes under a memory registration, all regions."},
	{RCP_STAT_I_bytes_dynamic, "dynamic_bytes", GAUGE, 1,
	 "Bytes of regions created at run time."},
	{RCP_STAT_I_refusals, "refusals_total", COUNTER, 1,
	 "Connection requests refused (by reason: rdmacpyd_connections_refused_total)."},
	{RCP_STAT_I_requests, "requests_total", COUNTER, 1,
	 "Control requests received from authenticated clients."},
	{RCP_STAT_I_auth_failures, "auth_failures_total", COUNTER, 1,
	 "Authentications that failed on a wrong key."},
	{RCP_STAT_I_copies_active, "copies_active", GAUGE, 1, "Third-party copies running now."},
	{RCP_STAT_I_copies_total, "copies_total", COUNTER, 1,
	 "Third-party copies started since start."},
	{RCP_STAT_I_bytes_copied, "copied_bytes_total", COUNTER, 1,
	 "Bytes third-party copies wrote to other daemons."},
	{RCP_STAT_I_mw_fallback, "mw_fallback", GAUGE, 1,
	 "1 when grants use region keys instead of memory windows."},
	{RCP_STAT_I_uptime_ms, "uptime_seconds", GAUGE, 0.001, "Seconds since the daemon started."},
	{RCP_STAT_I_clients_pending, "clients_pending", GAUGE, 1,
	 "Connections that have not authenticated yet."},
	{RCP_STAT_I_auth_timeouts, "auth_timeouts_total", COUNTER, 1,
	 "Connections closed for not authenticating in time."},
	{RCP_STAT_I_pending_evicted, "pending_evicted_total", COUNTER, 1,
	 "Unauthenticated connections closed to make room for newer ones."},
	{RCP_STAT_I_jobs_queued, "jobs_queued", GAUGE, 1,
	 "Long requests waiting for a worker thread (the worker queue's depth)."},
	{RCP_STAT_I_jobs_running, "jobs_running", GAUGE, 1, "Long requests a worker runs now."},
	{RCP_STAT_I_jobs_total, "jobs_total", COUNTER, 1, "Long requests started since start."},
	{RCP_STAT_I_jobs_refused, "jobs_refused_total", COUNTER, 1,
	 "Long requests refused over a client's bound."},
	{RCP_STAT_I_jobs_cancelled, "jobs_cancelled_total", COUNTER, 1,
	 "Long requests cancelled because their client went away."},
	{RCP_STAT_I_grant_mr_per_grant, "grant_mr_per_grant", GAUGE, 1,
	 "1 when each grant registers its own range (the device does not bound windows)."},
	{RCP_STAT_I_flushes, "flushes_total", COUNTER, 1, "FLUSH requests answered."},
	{RCP_STAT_I_bytes_flushed, "flushed_bytes_total", COUNTER, 1,
	 "Bytes FLUSH wrote to region files."},
};
_Static_assert(sizeof(stat_metrics) / sizeof(stat_metrics[0]) == RCP_STAT_COUNT,
	       "every STAT counter has a metric");

/* rcp_exposition_label -- escape a label value */
void rcp_exposition_label(const char *value, char *out, size_t cap)
{
	size_t o = 0;

	for (; *value && o + 3 < cap; value++) {
		if (*value == '\\' || *value == '"') {
			out[o++] = '\\';
			out[o++] = *value;
		} else if (*value == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *value;
		}
	}
	out[o] = '\0';
}

/* family -- the HELP and TYPE lines of a metric family */
static int family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	return evbuffer_add_printf(b, "# HELP rdmacpyd_%s %s\n# TYPE rdmacpyd_%s %s\n", name, help,
				   name, type) < 0;
}

/* stat_counters -- the STAT counters */
static int stat_counters(const struct rcp_server *srv, struct evbuffer *b)
{
	struct rcp_msg_stat_reply st;
	uint64_t v[RCP_STAT_COUNT];
	size_t i;
	int bad = 0;

	rcp_stats_fill(srv, &st);
#define STAT_VALUE(name) v[RCP_STAT_I_##name] = st.name;
	RCP_STAT_FIELDS(STAT_VALUE)
#undef STAT_VALUE
	for (i = 0; i < sizeof(stat_metrics) / sizeof(stat_metrics[0]); i++) {
		const struct stat_metric *m = &stat_metrics[i];

		bad |= family(b, m->name, m->kind == COUNTER ? "counter" : "gauge", m->help);
		if (m->scale == 1)
			bad |= evbuffer_add_printf(b, "rdmacpyd_%s %llu\n", m->name,
						   (unsigned long long)v[m->index]) < 0;
		else
			bad |= evbuffer_add_printf(b, "rdmacpyd_%s %.3f\n", m->name,
						   (double)v[m->index] * m->scale) < 0;
	}
	return bad;
}

/* region_clients -- sessions holding a grant on r */
static unsigned int region_clients(const struct rcp_server *srv, const struct rcp_region *r)
{
	const struct rcp_session *s;
	const struct rcp_grant *g;
	unsigned int n = 0;

	if (!r->ngrants)
		return 0;
	LIST_FOREACH(s, &srv->sessions, link)
	{
		TAILQ_FOREACH(g, &s->grants, link)
		{
			if (g->region == r) {
				n++;
				break;
			}
		}
	}
	return n;
}

/* regions -- per region: size, grants, the clients holding them */
static int regions(const struct rcp_server *srv, struct evbuffer *b)
{
	static const char *const kinds[] = {"?", "anon", "huge", "file"};
	char name[2 * RCP_NAME_MAX];
	size_t i;
	int bad = 0;

	bad |= family(b, "region_size_bytes", "gauge", "Bytes a region serves.");
	for (i = 0; i < srv->nregions; i++) {
		const struct rcp_region *r = srv->regions[i];

		rcp_exposition_label(r->name, name, sizeof(name));
		bad |= evbuffer_add_printf(b,
					   "rdmacpyd_region_size_bytes{region=\"%s\",kind=\"%s\"} "
					   "%llu\n",
					   name, kinds[r->kind <= 3 ? r->kind : 0],
					   (unsigned long long)r->size) < 0;
	}
	bad |= family(b, "region_grants", "gauge", "Grants open on a region.");
	for (i = 0; i < srv->nregions; i++) {
		rcp_exposition_label(srv->regions[i]->name, name, sizeof(name));
		bad |= evbuffer_add_printf(b, "rdmacpyd_region_grants{region=\"%s\"} %u\n", name,
					   srv->regions[i]->ngrants) < 0;
	}
	bad |= family(b, "region_clients", "gauge", "Clients holding a grant on a region.");
	for (i = 0; i < srv->nregions; i++) {
		rcp_exposition_label(srv->regions[i]->name, name, sizeof(name));
		bad |= evbuffer_add_printf(b, "rdmacpyd_region_clients{region=\"%s\"} %u\n", name,
					   region_clients(srv, srv->regions[i])) < 0;
	}
	return bad;
}

/* type_label -- a request type as a label value: "open", "checksum" */
static void type_label(enum rcp_msg_type t, char *out, size_t cap)
{
	const char *n = rcp_msg_type_name(t);
	size_t i;

	for (i = 0; n[i] && i + 1 < cap; i++)
		out[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
	out[i] = '\0';
}

/* is_request -- the types a client sends after authenticating */
static bool is_request(enum rcp_msg_type t)
{
	switch (t) {
	case RCP_MSG_LIST:
	case RCP_MSG_OPEN:
	case RCP_MSG_CLOSE:
	case RCP_MSG_FLUSH:
	case RCP_MSG_CHECKSUM:
	case RCP_MSG_STAT:
	case RCP_MSG_INFO:
	case RCP_MSG_CREATE:
	case RCP_MSG_DESTROY:
	case RCP_MSG_COPY:
		return true;
	default:
		return false;
	}
}

/* requests -- per request type: a latency histogram and the errors */
static int requests(const struct rcp_server *srv, struct evbuffer *b)
{
	char t[32];
	unsigned int type;
	unsigned int i;
	int bad = 0;

	bad |= family(b, "request_duration_seconds", "histogram",
		      "Time from a control request's arrival to its answer, by type.");
	for (type = 1; type <= RCP_MSG_TYPE_MAX; type++) {
		const struct rcp_req_hist *h = &srv->reqstats.type[type];
		uint64_t cum = 0;

		if (!is_request(type))
			continue;
		type_label(type, t, sizeof(t));
		for (i = 0; i < RCP_LAT_NBUCKETS; i++) {
			cum += h->bucket[i];
			bad |= evbuffer_add_printf(b,
						   "rdmacpyd_request_duration_seconds_bucket"
						   "{type=\"%s\",le=\"%g\"} %llu\n",
						   t, rcp_lat_bounds[i],
						   (unsigned long long)cum) < 0;
		}
		bad |= evbuffer_add_printf(
			       b,
			       "rdmacpyd_request_duration_seconds_bucket{type=\"%s\","
			       "le=\"+Inf\"} %llu\n"
			       "rdmacpyd_request_duration_seconds_sum{type=\"%s\"} %.6f\n"
			       "rdmacpyd_request_duration_seconds_count{type=\"%s\"} "
			       "%llu\n",
			       t, (unsigned long long)h->count, t, h->sum_s, t,
			       (unsigned long long)h->count) < 0;
	}
	bad |= family(b, "request_errors_total", "counter",
		      "Control requests answered with an ERROR, by type.");
	for (type = 1; type <= RCP_MSG_TYPE_MAX; type++) {
		if (!is_request(type))
			continue;
		type_label(type, t, sizeof(t));
		bad |= evbuffer_add_printf(b, "rdmacpyd_request_errors_total{type=\"%s\"} %llu\n",
					   t,
					   (unsigned long long)srv->reqstats.type[type].errors) < 0;
	}
	return bad;
}

/* refusals -- connections refused and authentications failed, by reason */
static int refusals(const struct rcp_server *srv, struct evbuffer *b)
{
	char reason[32];
	unsigned int r;
	int bad = 0;

	bad |= family(b, "connections_refused_total", "counter",
		      "Connection requests refused, by the reason sent to the client.");
	for (r = 1; r <= RCP_REJECT_MAX; r++) {
		snprintf(reason, sizeof(reason), "%s", rcp_reject_name((enum rcp_reject_reason)r));
		for (char *p = reason; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		bad |= evbuffer_add_printf(b,
					   "rdmacpyd_connections_refused_total{reason=\"%s\"} "
					   "%llu\n",
					   reason,
					   (unsigned long long)srv->reqstats.refused[r]) < 0;
	}
	bad |= family(b, "authentication_failures_total", "counter",
		      "Connections that did not authenticate, by cause.");
	for (r = 0; r < RCP_AUTH_FAIL_COUNT; r++)
		bad |= evbuffer_add_printf(b,
					   "rdmacpyd_authentication_failures_total{reason=\"%s\"} "
					   "%llu\n",
					   rcp_auth_fail_name((enum rcp_auth_fail)r),
					   (unsigned long long)srv->reqstats.auth_failed[r]) < 0;
	return bad;
}

/* port_dir -- the RDMA port's counters from one sysfs folder (counters or hw_counters) */
static int port_dir(struct evbuffer *b, const char *dir, const char *dev, unsigned int port,
		    const char *group)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int bad = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		char val[64];
		char name[128];
		FILE *f;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= 64)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(val, sizeof(val), f) && strtoull(val, NULL, 10) != ULLONG_MAX) {
			rcp_exposition_label(e->d_name, name, sizeof(name));
			bad |= evbuffer_add_printf(
				       b,
				       "rdmacpyd_rdma_port_stat{device=\"%s\","
				       "port=\"%u\",group=\"%s\",counter=\"%s\"} %llu\n",
				       dev, port, group, name, strtoull(val, NULL, 10)) < 0;
		}
		fclose(f);
	}
	closedir(d);
	return bad;
}

/* port_counters -- what the NICs saw: one-sided traffic never passes the daemon's CPU */
static int port_counters(const struct rcp_server *srv, const char *root, struct evbuffer *b)
{
	char dev[2 * 64];
	char dir[PATH_MAX];
	unsigned int i;
	int bad = 0;

	if (!srv->ndevs)
		return 0;
	bad |= family(b, "rdma_port_active", "gauge",
		      "1 while the RDMA port is active, for every port served.");
	for (i = 0; i < srv->ndevs; i++) {
		const struct rcp_dev *d = &srv->devs[i];
		bool up = rcp_dev_port_active(d);

		rcp_exposition_label(d->ctx->device->name, dev, sizeof(dev));
		bad |= evbuffer_add_printf(
			       b, "rdmacpyd_rdma_port_active{device=\"%s\",port=\"%u\"} %d\n", dev,
			       d->port, up) < 0;
	}
	bad |= family(b, "rdma_port_stat", "untyped",
		      "The RDMA port's own counters (sysfs counters and hw_counters), as the "
		      "device reports them.");
	for (i = 0; i < srv->ndevs; i++) {
		const struct rcp_dev *d = &srv->devs[i];

		rcp_exposition_label(d->ctx->device->name, dev, sizeof(dev));
		snprintf(dir, sizeof(dir), "%s/%s/ports/%u/counters", root, d->ctx->device->name,
			 d->port);
		bad |= port_dir(b, dir, dev, d->port, "counters");
		snprintf(dir, sizeof(dir), "%s/%s/ports/%u/hw_counters", root, d->ctx->device->name,
			 d->port);
		bad |= port_dir(b, dir, dev, d->port, "hw_counters");
	}
	return bad;
}

/* rcp_exposition_write -- everything, in families */
int rcp_exposition_write(const struct rcp_server *srv, const char *sysfs_root, struct evbuffer *out)
{
	int bad = 0;

	bad |= stat_counters(srv, out);
	bad |= regions(srv, out);
	bad |= requests(srv, out);
	bad |= refusals(srv, out);
	bad |= family(out, "draining", "gauge", "1 while the daemon shuts down.");
	bad |= evbuffer_add_printf(out, "rdmacpyd_draining %d\n", srv->shutting_down) < 0;
	bad |= port_counters(srv, sysfs_root, out);
	return bad ? -ENOMEM : 0;
}
