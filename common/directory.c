/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.c -- the cluster directory's keys and entries (JSON through json-c), and the checks
 * an entry read from etcd must pass before anyone uses it */
#include "common/directory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* rcp_dir_name_ok -- what may stand between two slashes of a key */
bool rcp_dir_name_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s || *s == '.')
		return false;
	for (; s[n]; n++) {
		char ch = s[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return n < RCP_DIR_NAME_MAX;
}

/* rcp_dir_region_name_ok -- a region name the layout can carry: the protocol's printable
 * characters, without the ':' of HOST:REGION and the '/' that separates the key's parts */
bool rcp_dir_region_name_ok(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (s[n] < 0x21 || s[n] > 0x7e || s[n] == ':' || s[n] == '/')
			return false;
	return n < RCP_NAME_MAX;
}

/* rcp_dir_nodes_prefix -- every node of a cluster */
void rcp_dir_nodes_prefix(char *out, size_t cap, const char *cluster)
{
	snprintf(out, cap, RCP_DIR_ROOT "%s/nodes/", cluster);
}

/* rcp_dir_regions_prefix -- every region of a cluster */
void rcp_dir_regions_prefix(char *out, size_t cap, const char *cluster)
{
	snprintf(out, cap, RCP_DIR_ROOT "%s/regions/", cluster);
}

/* rcp_dir_region_prefix -- every node serving one region */
void rcp_dir_region_prefix(char *out, size_t cap, const char *cluster, const char *region)
{
	snprintf(out, cap, RCP_DIR_ROOT "%s/regions/%s/", cluster, region);
}

/* rcp_dir_node_key -- a node's entry */
void rcp_dir_node_key(char *out, size_t cap, const char *cluster, const char *node)
{
	snprintf(out, cap, RCP_DIR_ROOT "%s/nodes/%s", cluster, node);
}

/* rcp_dir_region_key -- a region's entry on one node */
void rcp_dir_region_key(char *out, size_t cap, const char *cluster, const char *region,
			const char *node)
{
	snprintf(out, cap, RCP_DIR_ROOT "%s/regions/%s/%s", cluster, region, node);
}

/* to_string -- an object's JSON as a malloc'd string, the object released */
static char *to_string(json_object *o)
{
	char *s = NULL;

	if (o)
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* rcp_dir_node_json -- a node's value */
char *rcp_dir_node_json(const struct rcp_dir_node *n)
{
	json_object *o = json_object_new_object();
	json_object *a = json_object_new_array();
	unsigned int i;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	for (i = 0; i < n->naddrs; i++)
		json_object_array_add(a, json_object_new_string(n->addrs[i]));
	json_object_object_add(o, "node", json_object_new_string(n->node));
	json_object_object_add(o, "addresses", a);
	json_object_object_add(o, "port", json_object_new_int(n->port));
	json_object_object_add(o, "protocol", json_object_new_int((int)n->protocol));
	json_object_object_add(o, "started", json_object_new_string(n->started));
	return to_string(o);
}

/* rcp_dir_region_json -- a region's value */
char *rcp_dir_region_json(const struct rcp_dir_region *r)
{
	static const char *const kinds[] = {"?", "anon", "huge", "file"};
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "region", json_object_new_string(r->region));
	json_object_object_add(o, "node", json_object_new_string(r->node));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->size));
	json_object_object_add(o, "rights",
			       json_object_new_string(r->rights == RCP_RIGHTS_RW ? "rw" : "ro"));
	json_object_object_add(o, "kind",
			       json_object_new_string(kinds[r->kind <= 3 ? r->kind : 0]));
	json_object_object_add(o, "dynamic", json_object_new_boolean(r->dynamic));
	return to_string(o);
}

/* field -- a member of a given type, or NULL */
static json_object *field(json_object *o, const char *name, enum json_type t)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

/* copy_str -- a string member into a fixed buffer; false if absent, empty or too long */
static bool copy_str(json_object *o, const char *name, char *dst, size_t cap)
{
	json_object *v = field(o, name, json_type_string);
	const char *s = v ? json_object_get_string(v) : NULL;

	if (!s || !*s || strlen(s) >= cap)
		return false;
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

/* addr_ok -- an IPv4 or IPv6 address in text */
static bool addr_ok(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* parse -- the JSON of an entry, or NULL with why */
static json_object *parse(const char *json, char *why, size_t cap)
{
	json_object *o = json_tokener_parse(json);

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(why, cap, "not a JSON object");
		return NULL;
	}
	return o;
}

/* rcp_dir_node_parse -- a node entry, checked */
int rcp_dir_node_parse(const char *cluster, const char *key, const char *json,
		       struct rcp_dir_node *out, char *why, size_t cap)
{
	char expect[RCP_DIR_KEY_MAX];
	json_object *o = parse(json, why, cap);
	json_object *a;
	json_object *v;
	size_t i;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!copy_str(o, "node", out->node, sizeof(out->node)) || !rcp_dir_name_ok(out->node)) {
		snprintf(why, cap, "no valid \"node\"");
		goto bad;
	}
	rcp_dir_node_key(expect, sizeof(expect), cluster, out->node);
	if (strcmp(expect, key)) {
		snprintf(why, cap, "\"node\" is %s but the key is %s", out->node, key);
		goto bad;
	}
	a = field(o, "addresses", json_type_array);
	for (i = 0; a && i < json_object_array_length(a) && out->naddrs < RCP_DIR_MAX_ADDRS; i++) {
		json_object *s = json_object_array_get_idx(a, i);
		const char *t =
			json_object_is_type(s, json_type_string) ? json_object_get_string(s) : "";

		if (strlen(t) >= RCP_DIR_ADDR_MAX || !addr_ok(t)) {
			snprintf(why, cap, "address %zu is not an IP address", i);
			goto bad;
		}
		snprintf(out->addrs[out->naddrs++], RCP_DIR_ADDR_MAX, "%s", t);
	}
	if (!out->naddrs) {
		snprintf(why, cap, "no \"addresses\"");
		goto bad;
	}
	v = field(o, "port", json_type_int);
	if (!v || json_object_get_int64(v) < 1 || json_object_get_int64(v) > 65535) {
		snprintf(why, cap, "no valid \"port\"");
		goto bad;
	}
	out->port = (uint16_t)json_object_get_int64(v);
	v = field(o, "protocol", json_type_int);
	out->protocol = v && json_object_get_int64(v) > 0 && json_object_get_int64(v) < 65536
				? (unsigned int)json_object_get_int64(v)
				: 0;
	copy_str(o, "started", out->started, sizeof(out->started));
	json_object_put(o);
	return 0;
bad:
	json_object_put(o);
	return -EINVAL;
}

/* rcp_dir_region_parse -- a region entry, checked */
int rcp_dir_region_parse(const char *cluster, const char *key, const char *json,
			 struct rcp_dir_region *out, char *why, size_t cap)
{
	char expect[RCP_DIR_KEY_MAX];
	char rights[4];
	char kind[8];
	json_object *o = parse(json, why, cap);
	json_object *v;

	if (!o)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!copy_str(o, "region", out->region, sizeof(out->region)) ||
	    !rcp_dir_region_name_ok(out->region) ||
	    !copy_str(o, "node", out->node, sizeof(out->node)) || !rcp_dir_name_ok(out->node)) {
		snprintf(why, cap, "no valid \"region\" and \"node\"");
		goto bad;
	}
	rcp_dir_region_key(expect, sizeof(expect), cluster, out->region, out->node);
	if (strcmp(expect, key)) {
		snprintf(why, cap, "the entry is %s on %s but its key is %s", out->region,
			 out->node, key);
		goto bad;
	}
	v = field(o, "size", json_type_int);
	if (!v || json_object_get_int64(v) <= 0) {
		snprintf(why, cap, "no valid \"size\"");
		goto bad;
	}
	out->size = (uint64_t)json_object_get_int64(v);
	if (!copy_str(o, "rights", rights, sizeof(rights)) ||
	    (strcmp(rights, "ro") && strcmp(rights, "rw"))) {
		snprintf(why, cap, "no valid \"rights\"");
		goto bad;
	}
	out->rights = rights[1] == 'w' ? RCP_RIGHTS_RW : RCP_RIGHTS_RO;
	if (!copy_str(o, "kind", kind, sizeof(kind)))
		kind[0] = '\0';
	if (!strcmp(kind, "anon")) {
		out->kind = RCP_KIND_ANON;
	} else if (!strcmp(kind, "huge")) {
		out->kind = RCP_KIND_HUGE;
	} else if (!strcmp(kind, "file")) {
		out->kind = RCP_KIND_FILE;
	} else {
		snprintf(why, cap, "no valid \"kind\"");
		goto bad;
	}
	v = field(o, "dynamic", json_type_boolean);
	out->dynamic = v && json_object_get_boolean(v);
	json_object_put(o);
	return 0;
bad:
	json_object_put(o);
	return -EINVAL;
}
