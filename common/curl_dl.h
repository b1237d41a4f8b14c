/* SPDX-License-Identifier: BSD-3-Clause */
/* curl_dl.h -- libcurl, loaded the first time something talks HTTP
 *
 * Only the cluster directory (etcd) speaks HTTP. Linking libcurl would load it and its thirty
 * libraries (TLS stacks, Kerberos, LDAP) into every program that uses librdmacpy, and run their
 * constructors, whether the program ever names a directory or not. So it is opened on first use. */
#ifndef RDMACPY_COMMON_CURL_DL_H
#define RDMACPY_COMMON_CURL_DL_H

#include <curl/curl.h>

/* The part of libcurl's API the etcd client uses, as the loaded library's functions. */
struct rcp_curl_api {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *curl);
	void (*easy_reset)(CURL *curl);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
	void (*slist_free_all)(struct curl_slist *list);
};

/* rcp_curl -- the API, loaded and globally initialised once per process; NULL when libcurl
 * cannot be loaded, with the reason in err */
const struct rcp_curl_api *rcp_curl(char *err, size_t cap);

#endif
