/* SPDX-License-Identifier: BSD-3-Clause */
/* exitcode.h -- the rdmacpy command's documented exit codes (see rdmacpy(1)) */
#ifndef RDMACPY_CLI_EXITCODE_H
#define RDMACPY_CLI_EXITCODE_H

enum cli_exit {
	CLI_EXIT_OK = 0,       /* everything done */
	CLI_EXIT_FAILURE = 1,  /* anything not listed below */
	CLI_EXIT_USAGE = 2,    /* bad command line */
	CLI_EXIT_CONNECT = 3,  /* host unknown or unreachable, no daemon, protocol mismatch */
	CLI_EXIT_AUTH = 4,     /* key refused, key file unusable */
	CLI_EXIT_REMOTE = 5,   /* daemon refused: no such region, read-only, out of range, limit */
	CLI_EXIT_VERIFY = 6,   /* --verify found different bytes */
	CLI_EXIT_LOCAL_IO = 7, /* a local file could not be read or written */
	CLI_EXIT_TRANSFER = 8, /* the transfer failed on the wire: timeout, retries, broken link */
	CLI_EXIT_STALE = 9,    /* --reconnect: the daemon came back with the region recreated */
};

#endif
