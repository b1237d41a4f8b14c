/* SPDX-License-Identifier: BSD-3-Clause */
/* curl_dl.c -- libcurl, opened with dlopen on first use (why: curl_dl.h) */
#include "common/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* The soname of the libcurl this was built against; its ABI has been 4 since 2006. */
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct rcp_curl_api api;
static const struct rcp_curl_api *loaded;
static char load_err[256];

/* sym -- one function of the library; false (and the reason kept) when it is missing */
static bool sym(void *lib, const char *name, void *slot)
{
	void *f = dlsym(lib, name);

	if (!f) {
		snprintf(load_err, sizeof(load_err), "%s has no %s", CURL_SONAME, name);
		return false;
	}
	/* POSIX guarantees a function pointer survives the trip through void * */
	*(void **)slot = f;
	return true;
}

/* load -- open the library, find every function, run its global setup */
static void load(void)
{
	CURLcode (*global_init)(long flags);
	void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(load_err, sizeof(load_err), "cannot load %s: %s", CURL_SONAME, dlerror());
		return;
	}
	if (!sym(lib, "curl_global_init", &global_init) ||
	    !sym(lib, "curl_easy_init", &api.easy_init) ||
	    !sym(lib, "curl_easy_cleanup", &api.easy_cleanup) ||
	    !sym(lib, "curl_easy_reset", &api.easy_reset) ||
	    !sym(lib, "curl_easy_setopt", &api.easy_setopt) ||
	    !sym(lib, "curl_easy_perform", &api.easy_perform) ||
	    !sym(lib, "curl_easy_getinfo", &api.easy_getinfo) ||
	    !sym(lib, "curl_easy_strerror", &api.easy_strerror) ||
	    !sym(lib, "curl_slist_append", &api.slist_append) ||
	    !sym(lib, "curl_slist_free_all", &api.slist_free_all)) {
		dlclose(lib);
		return;
	}
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_err, sizeof(load_err), "%s: global setup failed", CURL_SONAME);
		return; /* kept open: a half-initialised library is not unloaded under its users */
	}
	/* never closed: libcurl's global state lives as long as the process */
	loaded = &api;
}

const struct rcp_curl_api *rcp_curl(char *err, size_t cap)
{
	pthread_once(&load_once, load);
	if (!loaded && err && cap)
		snprintf(err, cap, "%s", load_err);
	return loaded;
}
