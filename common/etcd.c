/* SPDX-License-Identifier: BSD-3-Clause */
/* etcd.c -- etcd v3 through its JSON gateway: leases, put, delete, prefix reads */
#include "common/etcd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sodium.h>

#include "common/curl_dl.h"

#define MAX_ENDPOINTS 16
#define MAX_REPLY     (64u << 20) /* a range of ten thousand entries is a few MiB */
#define DEFAULT_TMO   5000

struct rcp_etcd {
	const struct rcp_curl_api *cu;
	CURL *curl;
	char *endpoints[MAX_ENDPOINTS]; /* "host:port" */
	unsigned int nendpoints;
	unsigned int current; /* the one that answered last */
	bool tls;
	int timeout_ms;
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *user;
	char *password;
	char token[512]; /* etcd auth token, "" until authenticated */
	struct rcp_etcd_stats stats;
	char err[512];
};

/* A reply being received. */
struct reply {
	char *buf;
	size_t len;
	bool too_big;
};

/* set_err -- the sentence for rcp_etcd_error */
static void set_err(struct rcp_etcd *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct rcp_etcd *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
}

/* dup_opt -- a copy of an optional string; false when out of memory */
static bool dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src || !*src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

/* parse_url -- the scheme and the endpoint list */
static int parse_url(struct rcp_etcd *e, const char *url, char *err, size_t cap)
{
	const char *p;
	char *list;
	char *save = NULL;
	char *tok;

	if (!strncmp(url, "etcd://", 7)) {
		p = url + 7;
	} else if (!strncmp(url, "etcds://", 8)) {
		p = url + 8;
		e->tls = true;
	} else {
		snprintf(err, cap,
			 "'%s': the directory must be etcd://HOST:PORT[,HOST:PORT...] (or "
			 "etcds:// for TLS)",
			 url);
		return -EPROTONOSUPPORT;
	}
	list = strdup(p);
	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *colon = strrchr(tok, ':');
		char *end;
		long port;

		port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (!colon || colon == tok || *end || port <= 0 || port > 65535 ||
		    strpbrk(tok, "/?#@ ") || e->nendpoints == MAX_ENDPOINTS) {
			snprintf(err, cap, "'%s' in %s is not HOST:PORT", tok, url);
			free(list);
			return -EINVAL;
		}
		e->endpoints[e->nendpoints] = strdup(tok);
		if (!e->endpoints[e->nendpoints]) {
			free(list);
			return -ENOMEM;
		}
		e->nendpoints++;
	}
	free(list);
	if (!e->nendpoints) {
		snprintf(err, cap, "%s names no endpoint", url);
		return -EINVAL;
	}
	return 0;
}

/* rcp_etcd_open -- a handle on the cluster the URL names */
int rcp_etcd_open(const struct rcp_etcd_opts *o, struct rcp_etcd **out, char *err, size_t cap)
{
	struct rcp_etcd *e;
	int ret;

	*out = NULL;
	if (!o || !o->url) {
		snprintf(err, cap, "no directory URL");
		return -EINVAL;
	}
	if (sodium_init() < 0)
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cu = rcp_curl(err, cap);
	if (!e->cu) {
		ret = -ELIBACC;
		goto err_close;
	}
	e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TMO;
	ret = parse_url(e, o->url, err, cap);
	if (ret)
		goto err_close;
	if (!dup_opt(&e->ca_file, o->ca_file) || !dup_opt(&e->cert_file, o->cert_file) ||
	    !dup_opt(&e->key_file, o->key_file) || !dup_opt(&e->user, o->user) ||
	    !dup_opt(&e->password, o->password)) {
		ret = -ENOMEM;
		goto err_close;
	}
	e->curl = e->cu->easy_init();
	if (!e->curl) {
		ret = -ENOMEM;
		goto err_close;
	}
	*out = e;
	return 0;

err_close:
	rcp_etcd_close(&e);
	return ret;
}

/* rcp_etcd_close -- free everything */
void rcp_etcd_close(struct rcp_etcd **ep)
{
	struct rcp_etcd *e;
	unsigned int i;

	if (!ep || !*ep)
		return;
	e = *ep;
	if (e->curl)
		e->cu->easy_cleanup(e->curl);
	for (i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->user);
	if (e->password)
		sodium_memzero(e->password, strlen(e->password));
	free(e->password);
	sodium_memzero(e->token, sizeof(e->token));
	free(e);
	*ep = NULL;
}

/* rcp_etcd_error -- the last failure's sentence */
const char *rcp_etcd_error(const struct rcp_etcd *e)
{
	return e ? e->err : "";
}

/* rcp_etcd_endpoint -- the current endpoint */
const char *rcp_etcd_endpoint(const struct rcp_etcd *e)
{
	return e && e->nendpoints ? e->endpoints[e->current] : "";
}

/* on_data -- libcurl hands over reply bytes */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	char *b;

	if (r->len + n > MAX_REPLY) {
		r->too_big = true;
		return 0;
	}
	b = realloc(r->buf, r->len + n + 1);
	if (!b)
		return 0;
	memcpy(b + r->len, ptr, n);
	r->len += n;
	b[r->len] = '\0';
	r->buf = b;
	return n;
}

/* unreachable -- a transport failure that another endpoint may not have */
static bool unreachable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* post_once -- one POST of body to path at the current endpoint; its HTTP status and reply */
static CURLcode post_once(struct rcp_etcd *e, const char *path, const char *body, long *status,
			  struct reply *r)
{
	struct curl_slist *hdrs = NULL;
	char url[512];
	char auth[600];
	CURLcode c;

	snprintf(url, sizeof(url), "%s://%s%s", e->tls ? "https" : "http", e->endpoints[e->current],
		 path);
	hdrs = e->cu->slist_append(hdrs, "Content-Type: application/json");
	if (e->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		hdrs = e->cu->slist_append(hdrs, auth);
	}
	e->cu->easy_reset(e->curl);
	e->cu->easy_setopt(e->curl, CURLOPT_URL, url);
	e->cu->easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdrs);
	e->cu->easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	e->cu->easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_data);
	e->cu->easy_setopt(e->curl, CURLOPT_WRITEDATA, r);
	e->cu->easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	e->cu->easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)e->timeout_ms);
	e->cu->easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	/* the directory is etcd's: nothing but the endpoints given is ever contacted */
	e->cu->easy_setopt(e->curl, CURLOPT_FOLLOWLOCATION, 0L);
	e->cu->easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, e->tls ? "https" : "http");
	/* no proxy from the environment either */
	e->cu->easy_setopt(e->curl, CURLOPT_PROXY, "");
	e->cu->easy_setopt(e->curl, CURLOPT_NOPROXY, "*");
	if (e->tls) {
		if (e->ca_file)
			e->cu->easy_setopt(e->curl, CURLOPT_CAINFO, e->ca_file);
		if (e->cert_file)
			e->cu->easy_setopt(e->curl, CURLOPT_SSLCERT, e->cert_file);
		if (e->key_file)
			e->cu->easy_setopt(e->curl, CURLOPT_SSLKEY, e->key_file);
	}
	c = e->cu->easy_perform(e->curl);
	e->cu->easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, status);
	e->stats.requests++;
	e->stats.bytes_sent += strlen(body);
	e->stats.bytes_received += r->len;
	e->cu->slist_free_all(hdrs);
	return c;
}

/* post -- POST to the first endpoint that answers; the reply parsed, or -errno */
static int post(struct rcp_etcd *e, const char *path, const char *body, json_object **out);

/* authenticate -- trade user and password for a token */
static int authenticate(struct rcp_etcd *e)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	json_object *tok;
	int ret;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "name", json_object_new_string(e->user));
	json_object_object_add(req, "password",
			       json_object_new_string(e->password ? e->password : ""));
	e->token[0] = '\0';
	ret = post(e, "/v3/auth/authenticate", json_object_to_json_string(req), &rep);
	json_object_put(req);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(rep, "token", &tok) ||
	    !json_object_is_type(tok, json_type_string) ||
	    strlen(json_object_get_string(tok)) >= sizeof(e->token)) {
		set_err(e, "etcd answered authentication without a token");
		json_object_put(rep);
		return -EPROTO;
	}
	snprintf(e->token, sizeof(e->token), "%s", json_object_get_string(tok));
	json_object_put(rep);
	return 0;
}

/* error_of -- a gateway error reply's errno: auth failures -EACCES, the rest -EPROTO */
static int error_of(struct rcp_etcd *e, long status, json_object *rep)
{
	json_object *m = NULL;
	const char *msg = "";

	if (rep && (json_object_object_get_ex(rep, "message", &m) ||
		    json_object_object_get_ex(rep, "error", &m)))
		msg = json_object_get_string(m);
	set_err(e, "etcd at %s: HTTP %ld: %s", e->endpoints[e->current], status, msg);
	if (status == 401 || status == 403 || strstr(msg, "auth") || strstr(msg, "permission"))
		return -EACCES;
	if (strstr(msg, "lease not found") || strstr(msg, "requested lease not found"))
		return -ENOENT;
	return -EPROTO;
}

/* transient -- an error a cluster gives while it elects a leader: worth another try */
static bool transient(long status, const char *reply)
{
	return status == 503 ||
	       (reply && (strstr(reply, "leader changed") || strstr(reply, "no leader") ||
			  strstr(reply, "request timed out")));
}

/* mono_ms -- the monotonic clock in milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int post(struct rcp_etcd *e, const char *path, const char *body, json_object **out)
{
	bool reauth = e->user && e->token[0];
	uint64_t deadline = mono_ms() + (uint64_t)e->timeout_ms;
	unsigned int tried;
	unsigned int pause_ms = 50;
	long status = 0;
	int ret = -EHOSTUNREACH;

	*out = NULL;
	for (tried = 0; tried < e->nendpoints; tried++) {
		struct reply r = {0};
		CURLcode c;
		json_object *rep;

		/* a new endpoint (or one that forgot us): log in there first */
		if (e->user && !e->token[0] && strcmp(path, "/v3/auth/authenticate")) {
			ret = authenticate(e);
			if (ret == -EHOSTUNREACH)
				continue;
			if (ret)
				return ret;
		}
		c = post_once(e, path, body, &status, &r);

		if (c != CURLE_OK) {
			set_err(e, "etcd at %s: %s", e->endpoints[e->current],
				r.too_big ? "reply too large" : e->cu->easy_strerror(c));
			free(r.buf);
			if (!unreachable(c))
				return r.too_big ? -EPROTO : -EHOSTUNREACH;
			e->current = (e->current + 1) % e->nendpoints;
			e->token[0] = '\0';
			continue;
		}
		rep = r.buf ? json_tokener_parse(r.buf) : NULL;
		if (status == 200 && rep && json_object_is_type(rep, json_type_object)) {
			free(r.buf);
			*out = rep;
			return 0;
		}
		if (transient(status, r.buf) && mono_ms() + pause_ms < deadline) {
			/* a member losing its leader: elect, then ask again (another member) */
			set_err(e, "etcd at %s: HTTP %ld: %s", e->endpoints[e->current], status,
				r.buf ? r.buf : "");
			free(r.buf);
			json_object_put(rep);
			struct timespec ts = {0, (long)pause_ms * 1000000L};

			nanosleep(&ts, NULL);
			pause_ms *= 2;
			e->current = (e->current + 1) % e->nendpoints;
			/* every endpoint may be tried again after an election */
			tried = (unsigned int)-1;
			continue;
		}
		free(r.buf);
		ret = rep ? error_of(e, status, rep) : -EPROTO;
		if (!rep)
			set_err(e, "etcd at %s: HTTP %ld, not JSON", e->endpoints[e->current],
				status);
		json_object_put(rep);
		/* an expired token: one new one, then the call again */
		if (ret == -EACCES && reauth && strcmp(path, "/v3/auth/authenticate")) {
			reauth = false;
			if (authenticate(e) == 0) {
				tried--;
				continue;
			}
		}
		return ret;
	}
	return ret;
}

/* call -- post after authenticating once, if the handle has credentials */
static int call(struct rcp_etcd *e, const char *path, json_object *req, json_object **rep)
{
	int ret;

	if (!req)
		return -ENOMEM;
	if (e->user && !e->token[0]) {
		ret = authenticate(e);
		if (ret) {
			json_object_put(req);
			return ret;
		}
	}
	ret = post(e, path, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), rep);
	json_object_put(req);
	return ret;
}

/* b64 -- base64 of n bytes as a json string */
static json_object *b64(const void *p, size_t n)
{
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_object *j;

	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	j = json_object_new_string(s);
	free(s);
	return j;
}

/* unb64 -- a json base64 string decoded into a new NUL-terminated buffer, or NULL */
static char *unb64(json_object *j)
{
	const char *s =
		j && json_object_is_type(j, json_type_string) ? json_object_get_string(j) : NULL;
	size_t n = s ? strlen(s) : 0;
	size_t len = 0;
	char *out;

	if (!s)
		return NULL;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	if (sodium_base642bin((unsigned char *)out, n, s, n, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL)) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* id_string -- an int64 the gateway's way: as a string */
static json_object *id_string(int64_t id)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)id);
	return json_object_new_string(s);
}

/* get_i64 -- an int64 field (the gateway sends them as strings), or def */
static int64_t get_i64(json_object *o, const char *key, int64_t def)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return def;
	errno = 0;
	return json_object_get_int64(v);
}

/* rcp_etcd_lease_grant -- a lease of ttl_s seconds */
int rcp_etcd_lease_grant(struct rcp_etcd *e, int ttl_s, int64_t *id)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	int ret;

	if (req)
		json_object_object_add(req, "TTL", json_object_new_int(ttl_s));
	ret = call(e, "/v3/lease/grant", req, &rep);
	if (ret)
		return ret;
	*id = get_i64(rep, "ID", 0);
	json_object_put(rep);
	if (!*id) {
		set_err(e, "etcd granted no lease");
		return -EPROTO;
	}
	return 0;
}

/* rcp_etcd_lease_keepalive -- renew, or -ENOENT */
int rcp_etcd_lease_keepalive(struct rcp_etcd *e, int64_t id)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	json_object *res;
	int64_t ttl = 0;
	int ret;

	if (req)
		json_object_object_add(req, "ID", id_string(id));
	ret = call(e, "/v3/lease/keepalive", req, &rep);
	if (ret)
		return ret;
	/* the gateway streams: one {"result": {...}} per request */
	if (json_object_object_get_ex(rep, "result", &res))
		ttl = get_i64(res, "TTL", 0);
	json_object_put(rep);
	if (ttl <= 0) {
		set_err(e, "etcd: lease %lld expired", (long long)id);
		return -ENOENT;
	}
	return 0;
}

/* rcp_etcd_lease_ttl -- seconds left */
int rcp_etcd_lease_ttl(struct rcp_etcd *e, int64_t id, int64_t *left, int64_t *granted)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	int ret;

	if (req)
		json_object_object_add(req, "ID", id_string(id));
	ret = call(e, "/v3/lease/timetolive", req, &rep);
	if (ret)
		return ret;
	*left = get_i64(rep, "TTL", -1);
	*granted = get_i64(rep, "grantedTTL", 0);
	json_object_put(rep);
	return *left < 0 ? -ENOENT : 0;
}

/* rcp_etcd_lease_revoke -- every key under the lease goes */
int rcp_etcd_lease_revoke(struct rcp_etcd *e, int64_t id)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	int ret;

	if (req)
		json_object_object_add(req, "ID", id_string(id));
	ret = call(e, "/v3/lease/revoke", req, &rep);
	json_object_put(rep);
	return ret;
}

/* rcp_etcd_put -- one key */
int rcp_etcd_put(struct rcp_etcd *e, const char *key, const char *value, int64_t lease)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	int ret;

	if (req) {
		json_object_object_add(req, "key", b64(key, strlen(key)));
		json_object_object_add(req, "value", b64(value, strlen(value)));
		if (lease)
			json_object_object_add(req, "lease", id_string(lease));
	}
	ret = call(e, "/v3/kv/put", req, &rep);
	json_object_put(rep);
	return ret;
}

/* rcp_etcd_delete -- one key */
int rcp_etcd_delete(struct rcp_etcd *e, const char *key)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	int ret;

	if (req)
		json_object_object_add(req, "key", b64(key, strlen(key)));
	ret = call(e, "/v3/kv/deleterange", req, &rep);
	json_object_put(rep);
	return ret;
}

/* range -- the keys of [key, end) (end NULL: key alone) through fn */
static int range(struct rcp_etcd *e, const char *key, const char *end, rcp_etcd_kv_fn fn, void *ctx)
{
	json_object *req = json_object_new_object();
	json_object *rep = NULL;
	json_object *kvs;
	size_t i;
	int ret;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "key", b64(key, strlen(key)));
	if (end)
		json_object_object_add(req, "range_end", b64(end, strlen(end)));
	ret = call(e, "/v3/kv/range", req, &rep);
	if (ret)
		return ret;
	if (json_object_object_get_ex(rep, "kvs", &kvs) &&
	    json_object_is_type(kvs, json_type_array)) {
		for (i = 0; i < json_object_array_length(kvs); i++) {
			json_object *kv = json_object_array_get_idx(kvs, i);
			json_object *k = NULL;
			json_object *v = NULL;
			char *kk;
			char *vv;

			json_object_object_get_ex(kv, "key", &k);
			json_object_object_get_ex(kv, "value", &v);
			kk = unb64(k);
			vv = unb64(v);
			/* a value that does not decode reaches the caller as NULL: it warns */
			if (kk)
				fn(ctx, kk, vv, get_i64(kv, "lease", 0));
			free(kk);
			free(vv);
		}
	}
	json_object_put(rep);
	return 0;
}

/* rcp_etcd_get_prefix -- a range read of [prefix, prefix with its last byte + 1) */
int rcp_etcd_get_prefix(struct rcp_etcd *e, const char *prefix, rcp_etcd_kv_fn fn, void *ctx)
{
	size_t n = strlen(prefix);
	char *end;
	int ret;

	if (!n)
		return -EINVAL;
	end = strdup(prefix);
	if (!end)
		return -ENOMEM;
	end[n - 1]++;
	ret = range(e, prefix, end, fn, ctx);
	free(end);
	return ret;
}

/* rcp_etcd_get -- one key */
int rcp_etcd_get(struct rcp_etcd *e, const char *key, rcp_etcd_kv_fn fn, void *ctx)
{
	return *key ? range(e, key, NULL, fn, ctx) : -EINVAL;
}

/* rcp_etcd_stats -- the counters */
void rcp_etcd_stats(const struct rcp_etcd *e, struct rcp_etcd_stats *out)
{
	*out = e->stats;
}
