/* SPDX-License-Identifier: BSD-3-Clause */
/* etcd.h -- the few etcd v3 calls the cluster directory needs, through etcd's JSON gateway
 * (libcurl for HTTP, json-c for JSON, libsodium for base64) */
#ifndef RDMACPY_COMMON_ETCD_H
#define RDMACPY_COMMON_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An rcp_etcd is a handle on one etcd cluster given as a URL: etcd://HOST:PORT[,HOST:PORT...]
 * for plain HTTP, etcds://... for HTTPS. Every call goes to the endpoint that answered last and
 * moves on to the next one when it cannot be reached, so a cluster with a member down still
 * answers. Each call is bounded by the handle's timeout. Calls are blocking and not
 * thread-safe: one thread at a time per handle.
 *
 * Every function returns 0 or a negative errno:
 *   -EINVAL     bad arguments, a malformed URL (the error text says which part)
 *   -EPROTONOSUPPORT  a URL scheme other than etcd:// and etcds://
 *   -EHOSTUNREACH     no endpoint answered within the timeout
 *   -EACCES     etcd refused the credentials or the request (authentication)
 *   -ENOENT     (leases) the lease does not exist any more
 *   -EPROTO     etcd answered something that is not what the gateway sends
 *   -ENOMEM
 */

struct rcp_etcd;

struct rcp_etcd_opts {
	const char *url;       /* etcd://h:p[,h:p...] or etcds://... */
	int timeout_ms;	       /* each call, connection included (0: 5000) */
	const char *ca_file;   /* etcds: the CA that signed the members' certificates */
	const char *cert_file; /* etcds: a client certificate, if the cluster asks for one */
	const char *key_file;  /*        and its key */
	const char *user;      /* etcd's own authentication, if enabled */
	const char *password;
};

/* rcp_etcd_open -- parse the URL and set up the handle (nothing is sent yet). 0 or -errno,
 * with a sentence in err */
int rcp_etcd_open(const struct rcp_etcd_opts *o, struct rcp_etcd **out, char *err, size_t cap);

/* rcp_etcd_close -- NULL fine; clears *e */
void rcp_etcd_close(struct rcp_etcd **e);

/* rcp_etcd_error -- a sentence about the last failure ("" if none) */
const char *rcp_etcd_error(const struct rcp_etcd *e);

/* rcp_etcd_endpoint -- "HOST:PORT" of the endpoint calls go to now */
const char *rcp_etcd_endpoint(const struct rcp_etcd *e);

/* rcp_etcd_lease_grant -- a lease of ttl_s seconds */
int rcp_etcd_lease_grant(struct rcp_etcd *e, int ttl_s, int64_t *id);

/* rcp_etcd_lease_keepalive -- renew; -ENOENT when the lease expired or was revoked */
int rcp_etcd_lease_keepalive(struct rcp_etcd *e, int64_t id);

/* rcp_etcd_lease_ttl -- seconds left and granted; -ENOENT for a lease that is gone */
int rcp_etcd_lease_ttl(struct rcp_etcd *e, int64_t id, int64_t *left, int64_t *granted);

/* rcp_etcd_lease_revoke -- end a lease: every key under it goes at once */
int rcp_etcd_lease_revoke(struct rcp_etcd *e, int64_t id);

/* rcp_etcd_put -- key = value (a NUL-terminated string), under lease (0: none) */
int rcp_etcd_put(struct rcp_etcd *e, const char *key, const char *value, int64_t lease);

/* rcp_etcd_delete -- remove one key (absent is fine) */
int rcp_etcd_delete(struct rcp_etcd *e, const char *key);

/* rcp_etcd_kv_fn -- one key of a range: key and value are NUL-terminated copies that live for
 * the call (value NULL: it is not valid base64); lease 0 when none */
typedef void (*rcp_etcd_kv_fn)(void *ctx, const char *key, const char *value, int64_t lease);

/* rcp_etcd_get_prefix -- every key starting with prefix, in key order, through fn */
int rcp_etcd_get_prefix(struct rcp_etcd *e, const char *prefix, rcp_etcd_kv_fn fn, void *ctx);

/* rcp_etcd_get -- one key through fn (not called if it is absent) */
int rcp_etcd_get(struct rcp_etcd *e, const char *key, rcp_etcd_kv_fn fn, void *ctx);

/* What a handle has sent and received, for the directory's benchmark. */
struct rcp_etcd_stats {
	uint64_t requests;
	uint64_t bytes_sent;	 /* request bodies */
	uint64_t bytes_received; /* reply bodies */
};

/* rcp_etcd_stats -- the handle's counters so far */
void rcp_etcd_stats(const struct rcp_etcd *e, struct rcp_etcd_stats *out);

#endif /* RDMACPY_COMMON_ETCD_H */
